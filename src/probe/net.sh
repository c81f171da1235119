# Network: interfaces and routes, section `net`.
