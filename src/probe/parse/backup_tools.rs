//! The `restic`, `borg` and `command` formats.

use super::{Body, clean};
use crate::backup::model::{Backup, CopyReading};
use crate::probe::parse::tokens;
use jiff::Timestamp;
use jiff::civil::DateTime;
use serde::Deserialize;

/// At most this many backups from a command's output (the newest).
const MAX_LINES: usize = 500;

/// The first JSON value of type `T` in the tool's output, from the first line that starts
/// with `opening` (`[` or `{`): tools print notices around it ("reading repository password
/// from stdin").
fn json_in<T: for<'de> Deserialize<'de>>(out: &[&str], opening: char) -> Option<T> {
    let at = out
        .iter()
        .position(|l| l.trim_start().starts_with(opening))?;
    let text = out.get(at..)?.join("\n");
    serde_json::Deserializer::from_str(&text)
        .into_iter::<T>()
        .next()?
        .ok()
}

fn newest_first(v: &mut [Backup]) {
    v.sort_by(|a, b| {
        b.captured_at
            .cmp(&a.captured_at)
            .then_with(|| a.name.cmp(&b.name))
    });
}

#[derive(Deserialize)]
struct ResticSnapshot {
    time: Option<String>,
    id: Option<String>,
    short_id: Option<String>,
    paths: Option<Vec<String>>,
    /// restic 0.17 and later.
    summary: Option<ResticSummary>,
}

#[derive(Deserialize)]
struct ResticSummary {
    backup_end: Option<String>,
    total_bytes_processed: Option<u64>,
}

/// `restic snapshots --json`: the snapshot time (RFC 3339, with its offset) is the capture
/// time. `snapshots` lists saved snapshots only, so each is complete; exit 3 (some data
/// could not be read) keeps them, with a note.
pub(super) fn restic(body: &Body<'_>, rc: i32, notes: &mut Vec<String>) -> CopyReading {
    if rc != 0 && rc != 3 {
        let why = match rc {
            10 => "repository not found",
            11 => "repository locked",
            12 => "wrong password",
            _ => "",
        };
        let text = body.excerpt();
        return CopyReading::Unreadable(match (why, text.is_empty()) {
            ("", true) => format!("restic exit {rc}"),
            ("", false) => format!("restic exit {rc}: {text}"),
            (why, _) => format!("restic exit {rc} ({why}): {text}"),
        });
    }
    let Some(list) = json_in::<Vec<ResticSnapshot>>(&body.out, '[') else {
        return CopyReading::Unreadable(format!(
            "restic printed no snapshot list: {}",
            body.excerpt()
        ));
    };
    if rc == 3 {
        notes
            .push("restic exit 3: incomplete snapshots present (the listed ones are saved)".into());
    }
    let mut skipped = 0;
    let mut found = Vec::new();
    for s in list {
        let Some(captured_at) = s.time.as_deref().and_then(|t| t.parse::<Timestamp>().ok()) else {
            skipped += 1;
            continue;
        };
        let summary = s.summary.as_ref();
        let id = s
            .short_id
            .as_deref()
            .or(s.id.as_deref().and_then(|i| i.get(..8)))
            .unwrap_or("?");
        let paths = s.paths.unwrap_or_default().join(" ");
        found.push(Backup {
            captured_at,
            finished_at: summary
                .and_then(|m| m.backup_end.as_deref())
                .and_then(|t| t.parse::<Timestamp>().ok()),
            bytes: summary.and_then(|m| m.total_bytes_processed),
            name: clean(&format!("{id} {paths}"), 120),
        });
    }
    if skipped > 0 {
        notes.push(format!("{skipped} snapshot(s) without a readable time"));
    }
    newest_first(&mut found);
    CopyReading::Found(found)
}

#[derive(Deserialize)]
struct BorgList {
    archives: Vec<BorgArchive>,
}

#[derive(Deserialize)]
struct BorgArchive {
    name: Option<String>,
    archive: Option<String>,
    start: Option<String>,
    time: Option<String>,
    end: Option<String>,
}

/// A borg time: local to the host without an offset (borg 1.x), or with one (borg 2).
fn borg_time(body: &Body<'_>, s: &str) -> Option<Timestamp> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Some(t);
    }
    body.local(s.parse::<DateTime>().ok()?)
}

/// borg names checkpoint archives (left by an interrupted `create`) `….checkpoint` or
/// `….checkpoint.N`: not a complete backup.
fn checkpoint(name: &str) -> bool {
    match name.rsplit_once(".checkpoint") {
        Some((_, "")) => true,
        Some((_, rest)) => rest
            .strip_prefix('.')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

/// `borg list --json --format '{end}'`: `start` (local time) is the capture time, `end` the
/// finish. Exit 1 is a warning in borg 1.x: the list still holds.
pub(super) fn borg(body: &Body<'_>, rc: i32, notes: &mut Vec<String>) -> CopyReading {
    if rc != 0 && rc != 1 {
        let text = body.excerpt();
        return CopyReading::Unreadable(if text.is_empty() {
            format!("borg exit {rc}")
        } else {
            format!("borg exit {rc}: {text}")
        });
    }
    let Some(list) = json_in::<BorgList>(&body.out, '{') else {
        return CopyReading::Unreadable(format!(
            "borg printed no archive list: {}",
            body.excerpt()
        ));
    };
    let (mut checkpoints, mut skipped) = (0, 0);
    let mut found = Vec::new();
    for a in list.archives {
        let name = a.name.or(a.archive).unwrap_or_default();
        if checkpoint(&name) {
            checkpoints += 1;
            continue;
        }
        let Some(captured_at) = a
            .start
            .as_deref()
            .or(a.time.as_deref())
            .and_then(|t| borg_time(body, t))
        else {
            skipped += 1;
            continue;
        };
        found.push(Backup {
            captured_at,
            finished_at: a.end.as_deref().and_then(|t| borg_time(body, t)),
            bytes: None,
            name: clean(&name, 120),
        });
    }
    if checkpoints > 0 {
        notes.push(format!(
            "{checkpoints} checkpoint archive(s) (interrupted backups) left out"
        ));
    }
    if skipped > 0 {
        notes.push(format!(
            "{skipped} archive(s) without a readable start time"
        ));
    }
    newest_first(&mut found);
    CopyReading::Found(found)
}

/// A command's capture time: RFC 3339 with an offset, or epoch seconds.
fn command_time(s: &str) -> Option<Timestamp> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return Timestamp::from_second(s.parse().ok()?).ok();
    }
    s.parse::<Timestamp>().ok()
}

/// The configured command: one backup a line, `<capture time> <bytes or -> [<name>]`; other
/// lines are ignored, but a command that printed only such lines is unreadable; one that
/// printed nothing lists no backup.
pub(super) fn command(body: &Body<'_>, rc: i32, notes: &mut Vec<String>) -> CopyReading {
    if rc != 0 {
        let text = body.excerpt();
        return CopyReading::Unreadable(if text.is_empty() {
            format!("command exit {rc}")
        } else {
            format!("command exit {rc}: {text}")
        });
    }
    let mut found = Vec::new();
    let mut ignored = 0;
    for line in &body.out {
        let t = tokens(line);
        let parsed = match t.as_slice() {
            [(time, _), (bytes, end), ..] => command_time(time).and_then(|at| {
                let bytes = match *bytes {
                    "-" => None,
                    b => Some(b.parse::<u64>().ok()?),
                };
                let name = line.get(*end..).map(str::trim).unwrap_or("");
                Some(Backup {
                    captured_at: at,
                    finished_at: None,
                    bytes,
                    name: clean(if name.is_empty() { time } else { name }, 120),
                })
            }),
            _ => None,
        };
        match parsed {
            Some(b) => found.push(b),
            None if line.trim().is_empty() => {}
            None => ignored += 1,
        }
    }
    // Nothing at all on a successful run means no backup exists: a missed slot, not a
    // reading problem. Lines that are all garbage are.
    if found.is_empty() && ignored == 0 {
        notes.push("the command listed no backup".into());
        return CopyReading::Found(Vec::new());
    }
    if found.is_empty() {
        return CopyReading::Unreadable(format!(
            "the command printed no backup line (`<capture time> <bytes> [<name>]`){}",
            match body.excerpt() {
                e if e.is_empty() => String::new(),
                e => format!(": {e}"),
            }
        ));
    }
    if ignored > 0 {
        notes.push(format!("{ignored} line(s) of the command's output ignored"));
    }
    newest_first(&mut found);
    found.truncate(MAX_LINES);
    CopyReading::Found(found)
}
