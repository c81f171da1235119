use super::super::tests::one;
use crate::checks::State;
use crate::probe::parse::repl::section;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/repl/", $name))
    };
}

#[test]
fn mysql_replica() {
    // MariaDB 10.11 captured through repl.sh (SHOW ALL SLAVES STATUS), default connection.
    let c = one(
        "mysql",
        fixture!("section_mysql_mariadb-10.11_replica_ok.txt"),
    );
    assert_eq!(c.id, "app.replication.mysql.replica");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Ok, "replicating from 127.0.0.1:13306, 0 s behind")
    );
    assert_eq!((c.value, c.unit), (Some(0.0), Some("s")));
    let c = one(
        "mysql",
        fixture!("section_mysql_mariadb-10.11_replica_lag70.txt"),
    );
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Warn, "replicating from 127.0.0.1:13306, 70 s behind")
    );
    let c = one(
        "mysql",
        fixture!("section_mysql_mariadb-10.11_replica_lag310.txt"),
    );
    // Lagging, however far, is WARN (SPEC §4); broken is CRIT.
    assert_eq!(
        (c.state, c.summary.as_str(), c.value),
        (
            State::Warn,
            "replicating from 127.0.0.1:13306, 5 min behind",
            Some(310.0)
        )
    );
    // MASTER_DELAY=3600: a delayed replica 70 s behind is on time.
    let c = one(
        "mysql",
        fixture!("section_mysql_mariadb-10.11_replica_delayed.txt"),
    );
    assert_eq!(
        (c.state, c.summary.as_str(), c.value),
        (
            State::Ok,
            "replicating from 127.0.0.1:13306, 70 s behind (delay of 60 min by design)",
            Some(70.0)
        )
    );
    // MySQL 8.0.33 column names (SHOW REPLICA STATUS).
    let body = section(&[(
        "replica SHOW REPLICA STATUS",
        fixture!("mysql_8.0.33_show_replica_status_ok.txt"),
        0,
    )]);
    let c = one("mysql", &body);
    assert_eq!(
        (c.state, c.summary.as_str()),
        (
            State::Ok,
            "replicating from 192.168.124.13:3306, 0 s behind"
        )
    );
}

#[test]
fn mysql_replica_broken() {
    // A replicated INSERT that failed on the replica; its value, quoted in the error, held
    // part headers and a fake "Slave_SQL_Running: Yes" aligned like a field.
    let body = fixture!("section_mysql_mariadb-10.11_replica_sql_error.txt");
    assert!(
        body.contains("\n@ @rc 0\n@ @replica x\n"),
        "repl.sh escaped them"
    );
    let c = one("mysql", body);
    assert_eq!(c.state, State::Crit);
    assert!(
        c.summary
            .starts_with("SQL thread No: Error 'Duplicate entry '2' for key 'PRIMARY''"),
        "{}",
        c.summary
    );
    assert_eq!(c.value, None);
    // The primary stopped: the IO thread retries.
    let c = one(
        "mysql",
        fixture!("section_mysql_mariadb-10.11_replica_io_connecting.txt"),
    );
    assert_eq!(c.state, State::Crit);
    assert!(
        c.summary.starts_with(
            "IO thread connecting to 127.0.0.1:13306: Can't connect to server on '127.0.0.1' (111"
        ),
        "{}",
        c.summary
    );
}

#[test]
fn mysql_primary_and_failures() {
    let c = one("mysql", fixture!("section_mysql_mariadb-10.11_primary.txt"));
    assert_eq!(c.id, "app.replication.mysql.primary");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Ok, "1 replica connected: 127.0.0.1")
    );
    let none = section(&[
        ("replica SHOW ALL SLAVES STATUS", "", 0),
        ("primary", "", 0),
    ]);
    assert_eq!(one("mysql", &none).state, State::Crit);
    let c = one(
        "mysql",
        fixture!("section_mysql_mariadb-10.11_server_down.txt"),
    );
    assert_eq!(
        (c.id.as_str(), c.state),
        ("app.replication.mysql", State::Crit)
    );
    assert!(
        c.summary
            .starts_with("MySQL: MySQL server not answering (ERROR 2002"),
        "{}",
        c.summary
    );
    let c = one(
        "mysql",
        fixture!("section_mysql_mariadb-10.11_access_denied.txt"),
    );
    assert_eq!(c.state, State::Unknown);
    assert!(c.summary.contains("Access denied"), "{}", c.summary);
}

#[test]
fn postgresql_primary() {
    let c = one("postgresql", fixture!("section_pg_15_primary_ok.txt"));
    assert_eq!(c.id, "app.replication.postgresql.drp");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (
            State::Ok,
            "streaming (async) to 127.0.0.1, replay 0 s behind, 0 B"
        )
    );
    let c = one("postgresql", fixture!("section_pg_15_primary_lag.txt"));
    assert_eq!(c.state, State::Warn, "36.7 MiB not replayed");
    assert_eq!(
        c.summary,
        "streaming (async) to 127.0.0.1, replay 0 s behind, 36.7 MiB"
    );
    let c = one("postgresql", fixture!("section_pg_15_primary_idle.txt"));
    assert_eq!(c.state, State::Ok, "NULL lag times: caught up");
    let c = one(
        "postgresql",
        fixture!("section_pg_15_primary_no_standby.txt"),
    );
    assert_eq!(
        (c.id.as_str(), c.state, c.summary.as_str()),
        (
            "app.replication.postgresql.primary",
            State::Crit,
            "no standby connected"
        )
    );
    // PostgreSQL 9.6: no lag times, bytes only (same query shape, NULL times).
    let body = section(&[
        ("role", "f|90624", 0),
        (
            "primary",
            "walreceiver|10.77.2.22|streaming|async|0/5000060|0/5000060|0/5000060|0/4000000||||16777312",
            0,
        ),
    ]);
    let c = one("postgresql", &body);
    assert_eq!(c.id, "app.replication.postgresql.walreceiver");
    assert_eq!(
        (c.state, c.value, c.unit),
        (State::Warn, Some(16777312.0), Some("B"))
    );
}

#[test]
fn postgresql_standby() {
    let c = one("postgresql", fixture!("section_pg_15_standby_ok.txt"));
    assert_eq!(c.id, "app.replication.postgresql.standby");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Ok, "streaming, replayed everything received")
    );
    let c = one("postgresql", fixture!("section_pg_15_standby_lag.txt"));
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Warn, "streaming, replay 7 s behind (36.7 MiB)")
    );
    // The last replayed transaction is 101 s old, but everything received is replayed: an idle
    // primary, not a lag.
    let c = one("postgresql", fixture!("section_pg_15_standby_idle.txt"));
    assert_eq!((c.state, c.value), (State::Ok, Some(0.0)));
    let c = one(
        "postgresql",
        fixture!("section_pg_15_standby_primary_down.txt"),
    );
    assert_eq!(
        (c.state, c.summary.as_str()),
        (
            State::Crit,
            "no WAL receiver: not streaming from the primary"
        )
    );
    let c = one("postgresql", fixture!("section_pg_15_server_down.txt"));
    assert_eq!(
        (c.id.as_str(), c.state),
        ("app.replication.postgresql", State::Crit)
    );
    let c = one("postgresql", fixture!("section_pg_15_role_missing.txt"));
    assert_eq!(c.state, State::Unknown, "{}", c.summary);
    assert!(
        c.summary.contains("role \"nobody\" does not exist"),
        "{}",
        c.summary
    );
}
