# Replication (REPL): one section `repl.<kind>` per configured replication kind.
