//! `app.replication.mysql.*` and `app.replication.postgresql.*`: replica threads and lag.
//! Part of [`super`] (src/checks/replication.rs), which names the checks.

use super::{Findings, list, plural};
use crate::checks::host::{binary_units, duration, round1};
use crate::checks::{Check, State};
use crate::probe::parse::repl::mysql::{Channel, MysqlStatus};
use crate::probe::parse::repl::postgres::{PgStatus, Receiver, Sender};

/// Replication lag limits. SPEC §4: broken = CRIT, lagging = WARN — however far behind: a
/// replica that lags is still replicating (a stopped thread or a lost connection is CRIT).
pub mod limits {
    /// MySQL/MariaDB Seconds_Behind_Master (Source), beyond a delayed replica's own delay.
    pub const MYSQL_WARN_S: f64 = 60.0;
    /// PostgreSQL replay lag, seconds.
    pub const PG_WARN_S: f64 = 60.0;
    /// PostgreSQL WAL not yet replayed, bytes (16 MiB is one WAL segment).
    pub const PG_WARN_BYTES: f64 = 16.0 * 1024.0 * 1024.0;
}

fn lag_state(v: f64, warn: f64) -> State {
    if v >= warn { State::Warn } else { State::Ok }
}

fn bytes(b: f64) -> String {
    binary_units(b.max(0.0), &["B", "KiB", "MiB", "GiB", "TiB"], false)
}

pub(super) fn mysql_checks(base: &str, st: &MysqlStatus) -> Vec<Check> {
    if !st.channels.is_empty() {
        return st.channels.iter().map(|c| mysql_channel(base, c)).collect();
    }
    let id = format!("{base}.primary");
    vec![match &st.replicas {
        Some(r) if !r.is_empty() => Check::new(
            id,
            State::Ok,
            format!(
                "{} connected: {}",
                plural(r.len(), "replica", "replicas"),
                list(r)
            ),
        ),
        Some(_) => Check::new(
            id,
            State::Crit,
            "no replica connected (and this server replicates from nobody)",
        ),
        None => Check::unknown(id, "not a replica; its replicas could not be listed"),
    }]
}

fn mysql_channel(base: &str, c: &Channel) -> Check {
    let name = if c.name.is_empty() {
        "replica"
    } else {
        &c.name
    };
    let id = format!("{base}.{name}");
    let from = c.source.as_deref().unwrap_or("?");
    let io = c.io_running.as_deref().unwrap_or("?");
    let sql = c.sql_running.as_deref().unwrap_or("?");
    // "error reconnecting to master 'repl@…' - retry-time: 60 maximum-retries: 100000
    // message: Can't connect to server on '127.0.0.1' (111 …)": the message says why.
    let err = |e: &Option<String>| {
        e.as_deref()
            .map(|e| format!(": {}", e.rsplit_once(" message: ").map_or(e, |(_, m)| m)))
            .unwrap_or_default()
    };
    let mut f = Findings::new();
    match io {
        "Yes" => {}
        "Connecting" => f.crit(format!(
            "IO thread connecting to {from}{}",
            err(&c.io_error)
        )),
        _ => f.crit(format!("IO thread {io}{}", err(&c.io_error))),
    }
    if sql != "Yes" {
        f.crit(format!("SQL thread {sql}{}", err(&c.sql_error)));
    }
    if f.state != State::Ok {
        return f.check(id, String::new());
    }
    let Some(behind) = c.behind else {
        return Check::new(
            id,
            State::Warn,
            format!("replicating from {from}, lag unknown"),
        );
    };
    // A delayed replica lags by design: only what exceeds its delay counts.
    let lag = behind.saturating_sub(c.delay) as f64;
    let delay = if c.delay > 0 {
        format!(" (delay of {} by design)", duration(c.delay as f64))
    } else {
        String::new()
    };
    Check::new(
        id,
        lag_state(lag, limits::MYSQL_WARN_S),
        format!(
            "replicating from {from}, {} behind{delay}",
            duration(behind as f64)
        ),
    )
    .with_value(behind as f64, "s")
}

pub(super) fn pg_checks(base: &str, st: &PgStatus) -> Vec<Check> {
    match st {
        PgStatus::Standby { version, receiver } => vec![pg_standby(base, *version, receiver)],
        PgStatus::Primary { version, senders } => {
            let standbys: Vec<&Sender> = senders.iter().filter(|s| s.state != "backup").collect();
            if standbys.is_empty() {
                return vec![Check::new(
                    format!("{base}.primary"),
                    State::Crit,
                    "no standby connected",
                )];
            }
            standbys
                .iter()
                .map(|s| pg_sender(base, *version, s))
                .collect()
        }
    }
}

fn pg_sender(base: &str, version: u32, s: &Sender) -> Check {
    let id = format!("{base}.{}", s.name);
    let to = s.client.as_deref().unwrap_or("local socket");
    let mode = s.sync_state.as_deref().unwrap_or("?");
    // PostgreSQL 10 and later: NULL replay_lag means caught up (it empties when idle).
    let secs = (version >= 100_000).then(|| s.replay_lag.unwrap_or(0.0));
    let mut state = State::Ok;
    let mut lag = Vec::new();
    if let Some(secs) = secs {
        state = state.worst(lag_state(secs, limits::PG_WARN_S));
        lag.push(format!("replay {} behind", duration(secs)));
    }
    if let Some(b) = s.lag_bytes {
        state = state.worst(lag_state(b, limits::PG_WARN_BYTES));
        lag.push(bytes(b));
    }
    if s.state != "streaming" {
        state = state.worst(State::Warn);
    }
    let summary = format!("{} ({mode}) to {to}, {}", s.state, lag.join(", "));
    let check = Check::new(id, state, summary.trim_end_matches(", ").to_string());
    match (secs, s.lag_bytes) {
        (Some(secs), _) => check.with_value(round1(secs), "s"),
        (None, Some(b)) => check.with_value(b, "B"),
        (None, None) => check,
    }
}

fn pg_standby(base: &str, version: u32, r: &Receiver) -> Check {
    let id = format!("{base}.standby");
    if version >= 90_600 {
        match r.status.as_deref() {
            Some("streaming") => {}
            Some(other) => {
                return Check::new(
                    id,
                    State::Crit,
                    format!("WAL receiver {other}, not streaming"),
                );
            }
            None => {
                return Check::new(
                    id,
                    State::Crit,
                    "no WAL receiver: not streaming from the primary",
                );
            }
        }
    }
    // Everything received is replayed: however old the last transaction, no lag (an idle
    // primary writes nothing new).
    let caught_up =
        r.lag_bytes == Some(0.0) || (r.receive_lsn.is_some() && r.receive_lsn == r.replay_lsn);
    if caught_up {
        return Check::new(id, State::Ok, "streaming, replayed everything received")
            .with_value(0.0, "s");
    }
    let secs = r.replay_age.unwrap_or(0.0).max(0.0);
    let b = r.lag_bytes.unwrap_or(0.0);
    let state = lag_state(secs, limits::PG_WARN_S).worst(lag_state(b, limits::PG_WARN_BYTES));
    Check::new(
        id,
        state,
        format!("streaming, replay {} behind ({})", duration(secs), bytes(b)),
    )
    .with_value(round1(secs), "s")
}

#[cfg(test)]
#[path = "replication_db_tests.rs"]
mod tests;
