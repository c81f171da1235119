//! The databases' own pings: `mysqladmin ping` (MySQL, MariaDB) and `pg_isready`.

use super::super::clean;
use super::Probe;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MysqlPing {
    /// "mysqld is alive".
    Alive,
    /// The server answered but refused the probe's user. mysqladmin counts that as alive (its
    /// status is 0 whenever the server runs, "even in case of an error such as Access
    /// denied", says its manual).
    Denied(String),
    /// Nothing answered: the client's error ("Can't connect to local server through socket …").
    Down(String),
}

/// The text of mysqladmin's `error: '…'` line, else its first line.
fn mysql_error(p: &Probe) -> String {
    let e = p
        .text_lines()
        .find_map(|l| l.strip_prefix("error:"))
        .map(|e| e.trim().trim_matches('\'').to_string());
    match e {
        Some(e) => clean(&e, 100),
        None => p.first_line().unwrap_or_else(|| "no answer".into()),
    }
}

pub fn mysqladmin(p: &Probe) -> MysqlPing {
    if p.timed_out() {
        return MysqlPing::Down("no answer within 5 s".into());
    }
    if p.text_lines().any(|l| l.ends_with("is alive")) {
        return MysqlPing::Alive;
    }
    let e = mysql_error(p);
    if e.contains("Access denied") {
        MysqlPing::Denied(e)
    } else {
        MysqlPing::Down(e)
    }
}

/// pg_isready's verdict; its status says the same (0, 1, 2, 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgReady {
    Accepting,
    /// The server runs but refuses connections: starting up, shutting down, recovering.
    Rejecting,
    /// Nothing answered.
    NoResponse,
    /// pg_isready did not even try (bad parameters).
    NoAttempt,
    /// Anything else: the first line of what was printed.
    Other(String),
}

pub fn pg_isready(p: &Probe) -> PgReady {
    if p.timed_out() {
        return PgReady::NoResponse;
    }
    let says = |s: &str| p.text_lines().any(|l| l.ends_with(s));
    if says("- accepting connections") {
        PgReady::Accepting
    } else if says("- rejecting connections") {
        PgReady::Rejecting
    } else if says("- no response") {
        PgReady::NoResponse
    } else if says("- no attempt") {
        PgReady::NoAttempt
    } else {
        // Translated messages (a non-C locale on the host) still carry the status.
        match p.rc {
            Some(0) => PgReady::Accepting,
            Some(1) => PgReady::Rejecting,
            Some(2) => PgReady::NoResponse,
            Some(3) => PgReady::NoAttempt,
            _ => PgReady::Other(p.first_line().unwrap_or_else(|| "no output".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(s: &super::super::SvcSection, kind: &str) -> Probe {
        s.probes_of(kind).next().expect(kind).clone()
    }

    #[test]
    fn mysqladmin_ping() {
        // MariaDB 10.11 (Debian 12), its mysqladmin.
        let p = |f| probe(&f, "mysqladmin");
        assert_eq!(
            mysqladmin(&p(svc_fixture!("mysql_alive.txt"))),
            MysqlPing::Alive
        );
        let denied = p(svc_fixture!("mysql_denied.txt"));
        assert_eq!(denied.rc, Some(0), "mysqladmin says 0 when denied");
        assert_eq!(
            mysqladmin(&denied),
            MysqlPing::Denied(
                "Access denied for user 'nobody'@'localhost' (using password: NO)".into()
            )
        );
        assert_eq!(
            mysqladmin(&p(svc_fixture!("mysql_down.txt"))),
            MysqlPing::Down(
                "Can't connect to local server through socket '/run/mysqld/mysqld.sock' (2)".into()
            )
        );
    }

    #[test]
    fn pg_isready_states() {
        // PostgreSQL 15 (Debian 12): accepting, rejecting (a smart shutdown waiting for a
        // client), no response (stopped), no attempt (an unknown PGSERVICE).
        let p = |f| probe(&f, "pg_isready");
        assert_eq!(
            pg_isready(&p(svc_fixture!("pg_accepting.txt"))),
            PgReady::Accepting
        );
        assert_eq!(
            pg_isready(&p(svc_fixture!("pg_rejecting.txt"))),
            PgReady::Rejecting
        );
        assert_eq!(
            pg_isready(&p(svc_fixture!("pg_down.txt"))),
            PgReady::NoResponse
        );
        assert_eq!(
            pg_isready(&p(svc_fixture!("pg_no_attempt.txt"))),
            PgReady::NoAttempt
        );
        assert_eq!(
            pg_isready(&p(svc_fixture!("lab_prod_postgresql.txt"))),
            PgReady::Accepting
        );
        let other = Probe {
            kind: "pg_isready".into(),
            args: vec![],
            lines: vec!["sudo: x".into()],
            rc: Some(9),
        };
        assert_eq!(pg_isready(&other), PgReady::Other("sudo: x".into()));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(lines in proptest::collection::vec(".{0,40}", 0..6), rc in proptest::option::of(-1i32..300)) {
            let p = Probe { kind: "x".into(), args: vec![], lines, rc };
            let _ = mysqladmin(&p);
            let _ = pg_isready(&p);
        }
    }
}
