//! `repl.postgresql`: psql's unaligned output (`-A -t -F'|'`, NULL as an empty field) of
//! `pg_is_in_recovery()` and the server version, then on a primary one row per WAL sender
//! (`pg_stat_replication`), on a standby one row of receive/replay positions and the WAL
//! receiver's status. The lag times exist from PostgreSQL 10 (NULL before, and when idle).

use super::{Part, ReplError, failure, last, name, parts};
use crate::probe::parse::{ParseError, clean, finite};

/// A standby as its primary sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sender {
    /// application_name (the standby's cluster_name or "walreceiver" by default).
    pub name: String,
    pub client: Option<String>,
    /// streaming, catchup, startup, backup (a pg_basebackup), stopping.
    pub state: String,
    /// async, sync, potential, quorum.
    pub sync_state: Option<String>,
    pub replay_lsn: Option<String>,
    /// Seconds; `None` before PostgreSQL 10, and once the standby has caught up.
    pub replay_lag: Option<f64>,
    /// WAL written on the primary and not yet replayed by the standby, bytes.
    pub lag_bytes: Option<f64>,
}

/// A standby's own view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Receiver {
    pub receive_lsn: Option<String>,
    pub replay_lsn: Option<String>,
    /// Since the last replayed transaction committed on the primary, seconds.
    pub replay_age: Option<f64>,
    /// Received and not yet replayed, bytes.
    pub lag_bytes: Option<f64>,
    /// The WAL receiver's status (streaming, starting, waiting…); `None`: no WAL receiver.
    pub status: Option<String>,
    /// Since the last message from the primary, seconds.
    pub last_message_age: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PgStatus {
    Primary { version: u32, senders: Vec<Sender> },
    Standby { version: u32, receiver: Receiver },
}

fn field(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|v| !v.is_empty())
}

fn senders(text: &str) -> Vec<Sender> {
    let mut out: Vec<Sender> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        // application_name comes first and may hold a '|': the 11 fields after it are read
        // from the right.
        let mut f: Vec<&str> = line.rsplitn(12, '|').collect();
        if f.len() != 12 {
            continue;
        }
        f.reverse();
        let get = |i: usize| f.get(i).copied().and_then(field);
        out.push(Sender {
            name: name(get(0).unwrap_or("")),
            client: get(1).map(|c| clean(c, 60)),
            state: get(2).map(|s| clean(s, 20)).unwrap_or_default(),
            sync_state: get(3).map(|s| clean(s, 20)),
            replay_lsn: get(7).map(|s| clean(s, 30)),
            replay_lag: get(10).and_then(finite),
            lag_bytes: get(11).and_then(finite),
        });
    }
    // Standbys without a name, or sharing one ("walreceiver"), are told apart by address.
    let names: Vec<String> = out.iter().map(|s| s.name.clone()).collect();
    for s in &mut out {
        let shared = names.iter().filter(|n| **n == s.name).count() > 1;
        if s.name.is_empty() || shared {
            let at = s.client.as_deref().unwrap_or("local");
            s.name = if s.name.is_empty() {
                name(at)
            } else {
                name(&format!("{}@{at}", s.name))
            };
        }
    }
    out
}

fn receiver(text: &str) -> Result<Receiver, ReplError> {
    let line = text
        .lines()
        .find(|l| l.contains('|'))
        .ok_or_else(|| ParseError::new("standby query: no row"))?;
    let f: Vec<&str> = line.split('|').collect();
    if f.len() != 6 {
        return Err(ParseError::new("standby query: not 6 fields").into());
    }
    let get = |i: usize| f.get(i).copied().and_then(field);
    Ok(Receiver {
        receive_lsn: get(0).map(|s| clean(s, 30)),
        replay_lsn: get(1).map(|s| clean(s, 30)),
        replay_age: get(2).and_then(finite),
        lag_bytes: get(3).and_then(finite),
        status: get(4).map(|s| clean(s, 20)),
        last_message_age: get(5).and_then(finite),
    })
}

/// psql could not run the query: the server is down, or Vigie may not ask.
fn psql_failure(part: &Part<'_>) -> ReplError {
    let t = part.text.to_ascii_lowercase();
    // "connection to server … failed: FATAL: role "nobody" does not exist": the server
    // answered, and refused.
    if t.contains("authentication failed")
        || t.contains("does not exist") && !t.contains("user postgres does not exist")
        || t.contains("no password supplied")
    {
        ReplError::Blind(format!("psql refused ({})", part.excerpt()))
    } else if t.contains("is the server running")
        || t.contains("could not connect to server")
        || (t.contains("connection to server") && t.contains("failed"))
        || t.contains("the database system is starting up")
        || t.contains("the database system is shutting down")
    {
        ReplError::Down(format!("PostgreSQL not answering ({})", part.excerpt()))
    } else if t.contains("user postgres does not exist") || t.contains("unknown user") {
        ReplError::Down("no postgres user: PostgreSQL server not installed".into())
    } else {
        failure("psql", part)
    }
}

pub fn parse(body: &str) -> Result<PgStatus, ReplError> {
    let parts = parts(body);
    let role = last(&parts, "role").ok_or_else(|| ParseError::new("no role query"))?;
    if !role.ok() {
        return Err(psql_failure(role));
    }
    let line = role
        .text
        .lines()
        .find(|l| l.contains('|'))
        .ok_or_else(|| ParseError::new("role query: no row"))?;
    let (recovery, version) = line.split_once('|').unwrap_or(("", ""));
    let version: u32 = version.trim().parse().unwrap_or(0);
    match recovery.trim() {
        "f" => {
            let p = last(&parts, "primary")
                .ok_or_else(|| ParseError::new("primary: no pg_stat_replication query"))?;
            if !p.ok() {
                return Err(psql_failure(p));
            }
            Ok(PgStatus::Primary {
                version,
                senders: senders(&p.text),
            })
        }
        "t" => {
            let p = last(&parts, "standby")
                .ok_or_else(|| ParseError::new("standby: no position query"))?;
            if !p.ok() {
                return Err(psql_failure(p));
            }
            Ok(PgStatus::Standby {
                version,
                receiver: receiver(&p.text)?,
            })
        }
        _ => Err(ParseError::new("pg_is_in_recovery: neither t nor f").into()),
    }
}

#[cfg(test)]
#[path = "postgres_tests.rs"]
mod tests;
