//! The guard of an import back to production (SPEC §6: `return` "refuses to overwrite data
//! newer than its source"): before a `db_import` replaces a live database, the dump's capture
//! time is compared with the newest change of that database, both read right before.
//!
//! - The dump's capture time: a pg_dump archive's own header (when the dump started, read on
//!   the host holding it as the import itself reads it: the dumping machine's wall clock, its
//!   zone decided by db_import_clock.rs from the site's zone, that host's and the file's
//!   date), else the plan's ([`super::super::model::BackupPick`]), else the file's date —
//!   when it was written, later than its data, said so in every message.
//! - The live database's newest change. PostgreSQL: `pg_last_committed_xact()` when
//!   `track_commit_timestamp` is on (the newest commit of the whole server: never older than
//!   the database's own); else, after a `CHECKPOINT` (a commit reaches the files only then),
//!   the newest modification time of the database's files (`data_directory/base/OID`, read
//!   through `sudo -n` when `[ssh] sudo` and not root). MySQL: the newest of its tables'
//!   `UPDATE_TIME` (in memory, lost at a restart) and of the files of its directory under
//!   `@@datadir`.
//!
//! Refused when the live database changed after the capture, and when that cannot be told
//! (a file that cannot be read, a refused CHECKPOINT: the reason is said, the operator can
//! fix access); never when there is no live database of that name (nothing to lose).
//! Conservative by design: a vacuum, an analyze or another database's commit after the dump
//! also count as a change.

use super::clock::{ArchiveFacts, HEADER_BYTES, parse_wall};
use super::parse::CaptureSource;
use super::{ImportSpec, MAX_NAME};
use crate::drp::job;
use crate::drp::model::{Mode, PlanStep, Resolved};
use crate::probe::parse::clean;
use crate::ssh::Pool;
use jiff::Timestamp;
use std::time::Duration;

/// The remote side, after the assignments (see its header).
pub const SCRIPT: &str = include_str!("db_import_guard.sh");

/// The first word of every line the script prints itself.
pub const GUARD_MARKER: &str = "VIGIE_GUARD";

/// Bounds of one reading (a CHECKPOINT of a busy server takes a while).
const FIRST_BYTE: Duration = Duration::from_secs(30);
const TOTAL: Duration = Duration::from_secs(180);

/// What the host holding the dump says of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceReading {
    /// Its first bytes, hex (a pg_dump archive starts with PGDMP: 5047444d50).
    pub magic: Option<String>,
    /// The file's modification time: when it was written.
    pub mtime: Option<Timestamp>,
    /// A pg_dump archive's first bytes (hex): its header, with when the dump started.
    pub header: Option<String>,
    /// What `TZ=UTC0 pg_restore -l` printed as "Archive created at": the dumping machine's
    /// wall clock, zone unknown (see db_import_clock.rs).
    pub clock: Option<jiff::civil::DateTime>,
    /// The time zone of the host holding the dump.
    pub zone: Option<String>,
}

/// The capture time the guard compares, and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub at: Timestamp,
    pub by: CaptureBy,
    /// How an archive's time was read, or why it was not used.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureBy {
    /// The archive's own header: when the dump started.
    Archive,
    /// The backup's capture time as the plan read it on its server.
    Backup,
    /// The file's modification time: when the dump was written (its data is older).
    FileDate,
}

impl CaptureBy {
    pub fn words(self) -> &'static str {
        match self {
            CaptureBy::Archive => "when the dump started, by its archive header",
            CaptureBy::Backup => "the backup's capture time",
            CaptureBy::FileDate => {
                "the dump file's date, when it was written: the dump says no capture time"
            }
        }
    }
}

/// One thing the target said of its live database's newest change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// A change at `at`, read as `how` says.
    Newest { at: Timestamp, how: String },
    /// Something that could hide a newer change could not be read.
    Blind { why: String },
}

/// What the host restored on says of the live database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveReading {
    /// No database of that name: nothing to lose.
    Absent,
    Exists(Vec<Evidence>),
}

/// Reads the answer of the `source` operation (pure). `Err`: the script's own error, or an
/// answer that is not the script's (cut short).
pub fn parse_source(text: &str) -> Result<SourceReading, String> {
    let mut out = SourceReading::default();
    let mut end = false;
    for (key, rest) in lines(text) {
        match key {
            "error" => return Err(clean(rest, 300)),
            "end" => end = true,
            "magic" => {
                let hex = rest.trim();
                if !hex.is_empty() && hex.len() <= 10 && hex.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    out.magic = Some(hex.to_ascii_lowercase());
                }
            }
            "mtime" => out.mtime = epoch(rest.trim()),
            "header" => {
                let hex = rest.trim();
                if !hex.is_empty()
                    && hex.len() <= 2 * HEADER_BYTES
                    && hex.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    out.header = Some(hex.to_ascii_lowercase());
                }
            }
            "clock" => out.clock = parse_wall(rest),
            "zone" => {
                let z = rest.trim();
                if !z.is_empty()
                    && z.len() <= 64
                    && z.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'+' | b'-')
                    })
                {
                    out.zone = Some(z.to_string());
                }
            }
            _ => {}
        }
    }
    if !end {
        return Err("the dump's reading was cut short".into());
    }
    Ok(out)
}

/// Reads the answer of the `live` operation (pure); `Err` as [`parse_source`].
pub fn parse_live(text: &str) -> Result<LiveReading, String> {
    let mut state: Option<LiveReading> = None;
    let mut evidence = Vec::new();
    let mut end = false;
    for (key, rest) in lines(text) {
        match key {
            "error" => return Err(clean(rest, 300)),
            "end" => end = true,
            "absent" => state = Some(LiveReading::Absent),
            "exists" => state = Some(LiveReading::Exists(Vec::new())),
            "blind" => evidence.push(Evidence::Blind {
                why: clean(rest, 400),
            }),
            "newest" => evidence.push(newest(rest)),
            _ => {}
        }
    }
    if !end {
        return Err("the database's reading was cut short".into());
    }
    match state {
        Some(LiveReading::Exists(_)) => Ok(LiveReading::Exists(evidence)),
        Some(LiveReading::Absent) => Ok(LiveReading::Absent),
        None => Err("the answer does not say whether the database exists".into()),
    }
}

/// `newest WHAT EPOCH [COUNT DIR]`.
fn newest(rest: &str) -> Evidence {
    let mut w = rest.splitn(4, ' ');
    let what = w.next().unwrap_or_default();
    let Some(at) = w.next().and_then(epoch) else {
        return Evidence::Blind {
            why: format!("an unreadable time of {}", clean(what, 40)),
        };
    };
    let how = match what {
        "commit" => "the newest commit on the server, any database".to_string(),
        "updated" => "the newest UPDATE_TIME of its tables".to_string(),
        "files" => {
            let count = w.next().and_then(|c| c.parse::<u64>().ok()).unwrap_or(0);
            let dir = clean(w.next().unwrap_or_default(), 200);
            format!("the newest of its {count} files under {dir}")
        }
        other => clean(other, 40),
    };
    Evidence::Newest { at, how }
}

/// The script's own lines: (first word, the rest).
fn lines(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines().filter_map(|l| {
        let rest = l.strip_prefix(GUARD_MARKER)?.strip_prefix(' ')?;
        Some(rest.split_once(' ').unwrap_or((rest, "")))
    })
}

/// Seconds since the epoch, with an optional fraction ("1764388650.275036033").
fn epoch(s: &str) -> Option<Timestamp> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty()
        || secs.len() > 12
        || !secs.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let nanos: i32 = digits.parse().ok()?;
    Timestamp::new(secs, nanos).ok()
}

/// The capture time to compare: the archive's (its wall clock read in `site_zone`, the
/// dump's host's zone or UTC, as db_import_clock.rs decides), else the plan's (`hint`), else
/// the file's date.
pub fn capture(
    source: &SourceReading,
    hint: Option<Timestamp>,
    site_zone: Option<&str>,
) -> Option<Capture> {
    if source.header.is_some() || source.clock.is_some() {
        let facts = ArchiveFacts {
            clock: source.clock,
            header: source.header.clone(),
            mtime: source.mtime,
            zones: source.zone.iter().cloned().collect(),
        };
        let c = facts.capture(site_zone, hint);
        let by = match c.by {
            CaptureSource::Archive => CaptureBy::Archive,
            CaptureSource::Backup => CaptureBy::Backup,
            CaptureSource::Unknown => CaptureBy::FileDate,
        };
        return c.at.or(source.mtime).map(|at| Capture {
            at,
            by,
            note: Some(c.note),
        });
    }
    let pick = |at: Option<Timestamp>, by| at.map(|at| Capture { at, by, note: None });
    pick(hint, CaptureBy::Backup).or_else(|| pick(source.mtime, CaptureBy::FileDate))
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The decision (pure): `Ok(what to tell the operator)` or `Err(why it is refused)`.
/// `dump`: "host:/path"; `live`: "database app on prod".
pub fn decide(
    dump: &str,
    capture: Option<Capture>,
    live: &str,
    reading: &LiveReading,
) -> Result<String, String> {
    let evidence = match reading {
        LiveReading::Absent => {
            return Ok(format!(
                "there is no live {live}: the import overwrites nothing"
            ));
        }
        LiveReading::Exists(e) => e,
    };
    let Some(c) = capture else {
        return Err(format!(
            "cannot tell whether the live {live} holds data newer than the dump {dump}: the \
             dump's capture time cannot be read (no archive header, no backup time, no file \
             date); importing could overwrite newer data, so nothing is done"
        ));
    };
    let captured = match &c.note {
        Some(note) => format!("{} ({}: {note})", utc(c.at), c.by.words()),
        None => format!("{} ({})", utc(c.at), c.by.words()),
    };
    let newest = evidence
        .iter()
        .filter_map(|e| match e {
            Evidence::Newest { at, how } => Some((*at, how)),
            Evidence::Blind { .. } => None,
        })
        .max_by_key(|(at, _)| *at);
    if let Some((at, how)) = newest
        && at > c.at
    {
        return Err(format!(
            "the live {live} holds data newer than its source: its newest change is of {} \
             ({how}), the dump {dump} was captured at {captured}; importing would overwrite \
             it. Save it first (e.g. rename it), or take a newer dump, then run again",
            utc(at)
        ));
    }
    let blind: Vec<&str> = evidence
        .iter()
        .filter_map(|e| match e {
            Evidence::Blind { why } => Some(why.as_str()),
            Evidence::Newest { .. } => None,
        })
        .collect();
    if let Some(why) = blind.first() {
        return Err(format!(
            "cannot tell whether the live {live} holds data newer than the dump {dump} \
             (captured at {captured}): {why}; importing could overwrite newer data, so nothing \
             is done. Give the SSH user access ([ssh] sudo), or set track_commit_timestamp = \
             on (PostgreSQL), then run again"
        ));
    }
    match newest {
        Some((at, how)) => Ok(format!(
            "the live {live} holds nothing newer than the dump: its newest change is of {} \
             ({how}), the dump was captured at {captured}",
            utc(at)
        )),
        None => Err(format!(
            "cannot tell whether the live {live} holds data newer than the dump {dump}: the \
             server said nothing of its changes; importing could overwrite newer data, so \
             nothing is done"
        )),
    }
}

/// The script for `op` with its values (each single-quoted: never shell code).
pub fn script(op: &str, values: &[(&str, &str)]) -> Option<String> {
    let mut text = format!("# Vigie db_import guard, {op}\nVG_OP={}\n", op_word(op)?);
    for (k, v) in values {
        text.push_str(k);
        text.push('=');
        text.push_str(&crate::probe::sh_quote(v)?);
        text.push('\n');
    }
    text.push_str(SCRIPT);
    Some(text)
}

fn op_word(op: &str) -> Option<&'static str> {
    match op {
        "source" => Some("source"),
        "live" => Some("live"),
        _ => None,
    }
}

/// Runs the guard for `spec` (never a drill: the caller runs it for `return` only): the
/// dump's capture time read on its host (`hint`: the plan's, for a dump without its own),
/// the live database's newest change on the target. `sudo`: `[ssh] sudo`. The archive's wall
/// clock is read in the spec's site zone first ([`ImportSpec::with_site_zone`]).
pub async fn not_newer(
    pool: &Pool,
    spec: &ImportSpec,
    hint: Option<Timestamp>,
    sudo: bool,
) -> Result<String, String> {
    let from = spec.from();
    let dump = format!("{}:{}", from.host, from.path);
    let live = format!(
        "{} database {} on {}",
        spec.kind().word(),
        spec.database(),
        spec.to()
    );
    if spec.database().len() > MAX_NAME {
        return Err(format!("the database name of {live} is too long"));
    }
    let source_script = script("source", &[("VG_PATH", from.path.as_str())])
        .ok_or("a NUL byte in the dump's path")?;
    let port = spec.port.map(|p| p.to_string()).unwrap_or_default();
    let live_script = script(
        "live",
        &[
            ("VG_KIND", spec.kind().word()),
            ("VG_DB", spec.database()),
            ("VG_PORT", &port),
            ("VG_SUDO", if sudo { "1" } else { "0" }),
        ],
    )
    .ok_or("a NUL byte in the database's name")?;
    let source = ask(pool, &from.host, &source_script)
        .await
        .and_then(|t| parse_source(&t))
        .map_err(|e| format!("cannot read the dump {dump}: {e}"))?;
    let reading = ask(pool, spec.to(), &live_script)
        .await
        .and_then(|t| parse_live(&t))
        .map_err(|e| {
            format!(
                "cannot tell whether the live {live} holds data newer than the dump {dump}: \
                 {e}; nothing is done"
            )
        })?;
    decide(
        &dump,
        capture(&source, hint, spec.site_zone()),
        &live,
        &reading,
    )
}

/// [`not_newer`] for a resolved `db_import` step of a plan in `mode`, with the
/// configuration's `[drp] transfer_ssh` and `[ssh] sudo`: what the engine calls.
pub async fn not_newer_step(
    pool: &Pool,
    config: &crate::config::Config,
    step: &PlanStep,
    mode: Mode,
) -> Result<String, String> {
    let transfer = config
        .drp
        .as_ref()
        .map_or("ssh", |d| d.transfer_ssh.as_str());
    let spec = ImportSpec::from_plan(step, mode, transfer)
        .map_err(|e| e.to_string())?
        .with_site_zone(&config.site.timezone);
    let hint = match &step.step {
        Resolved::DbImport { from, .. } => from
            .as_ref()
            .and_then(|e| e.backup.as_ref())
            .map(|b| b.captured_at),
        _ => None,
    };
    not_newer(pool, &spec, hint, config.ssh.sudo).await
}

/// One exec of a guard script on `host`: its stdout (stderr said when the answer is
/// incomplete).
async fn ask(pool: &Pool, host: &str, script: &str) -> Result<String, String> {
    let out = job::exec_once(pool, host, script.as_bytes(), FIRST_BYTE, TOTAL)
        .await
        .map_err(|e| format!("{host}: {e}"))?
        .ok_or_else(|| format!("{host}: no complete answer within {} s", TOTAL.as_secs()))?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !text.lines().any(|l| l == "VIGIE_GUARD end") {
        let stderr = clean(&String::from_utf8_lossy(&out.stderr), 200);
        if !stderr.is_empty() {
            return Err(format!("{host}: {stderr}"));
        }
    }
    Ok(text)
}

#[cfg(test)]
#[path = "db_import_guard_tests.rs"]
mod tests;
