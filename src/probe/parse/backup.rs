//! Backups as the probe read them on a backup server: one `backup.<id>` section per copy
//! (probe.sh, `s_backup`), parsed with the copy's configured format.
//!
//! Every section (but a `VIGIE_NOT_INSTALLED` or `VIGIE_UNAVAILABLE` one) has this shape:
//!
//! ```text
//! now 1795913618          the host's clock (epoch seconds)
//! tz +0100                its UTC offset now (`date +%z`)
//! tzname Europe/Paris     its zone, when the host says ($TZ, /etc/localtime, …)
//! @@out
//! …the tool's standard output…
//! @@open                  (files only) names some process has open for writing
//! @@err
//! …the tool's standard error…
//! ```
//!
//! borg and backup file names carry local times without an offset: they are read in the
//! host's zone, by name when the console knows it (daylight saving time included), else at
//! the offset the host has now.

use super::clean;
use crate::backup::model::{BackupFormat, CopyReading};
use crate::probe::sections::part as marker;
use jiff::civil::DateTime;
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp};

#[path = "backup_files.rs"]
mod files;

pub use files::CAPTURE_FROM_MTIME;
#[path = "backup_tools.rs"]
mod tools;

pub use files::{NameTime, name_time};

/// A backup section read: the backups (or why none could be read), and what the operator
/// should know about how they were read (in-progress entries left out, capture times that
/// are only an upper bound, incomplete restic snapshots, skipped borg checkpoints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupParse {
    pub reading: CopyReading,
    /// Short sentences, sanitised.
    pub notes: Vec<String>,
}

/// The good backups of one copy, newest capture first, or why it could not be read.
/// `rc` is the section's exit status (`None` when its end never came).
pub fn parse(format: &BackupFormat, body: &str, rc: Option<i32>) -> CopyReading {
    read(format, body, rc).reading
}

/// [`parse`], with the notes.
pub fn read(format: &BackupFormat, body: &str, rc: Option<i32>) -> BackupParse {
    let mut notes = Vec::new();
    let reading = match status(body, rc) {
        Err(why) => CopyReading::Unreadable(why),
        Ok(rc) => {
            let body = Body::split(body, &mut notes);
            match format {
                BackupFormat::Files { .. } => files::parse(&body, rc, &mut notes),
                BackupFormat::Restic { .. } => tools::restic(&body, rc, &mut notes),
                BackupFormat::Borg { .. } => tools::borg(&body, rc, &mut notes),
                BackupFormat::Command { .. } => tools::command(&body, rc, &mut notes),
            }
        }
    };
    BackupParse { reading, notes }
}

/// The probe's conventions, before the format's own parsing: the exit status when the
/// section can be parsed, else why not.
fn status(body: &str, rc: Option<i32>) -> Result<i32, String> {
    let Some(rc) = rc else {
        return Err("no output (probe cut short)".into());
    };
    let first = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if let Some(tool) = first.strip_prefix("VIGIE_NOT_INSTALLED") {
        let tool = clean(tool, 40);
        return Err(if tool.is_empty() {
            "a tool is not installed".into()
        } else {
            format!("{tool} not installed")
        });
    }
    if let Some(why) = first.strip_prefix("VIGIE_UNAVAILABLE") {
        let why = clean(why, 160);
        return Err(if why.is_empty() {
            "unavailable".into()
        } else {
            why
        });
    }
    match rc {
        124 | 137 => Err("timed out (20 s)".into()),
        _ => Ok(rc),
    }
}

/// What the probe could use to find entries still open for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenCheck {
    /// lsof: files and directory trees.
    Full,
    /// fuser only: files, not the trees of directory backups.
    FilesOnly,
    /// Neither: only a change in the last 60 s shows a backup in progress.
    None,
}

/// A backup section split into its parts.
pub(crate) struct Body<'a> {
    /// The host's clock when the section started.
    pub now: Option<Timestamp>,
    /// The host's zone, for local times.
    pub zone: TimeZone,
    pub out: Vec<&'a str>,
    /// How well the host can tell an entry still being written (lsof, fuser, neither).
    pub open_check: OpenCheck,
    pub open: Vec<&'a str>,
    pub err: Vec<&'a str>,
}

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Head,
    Out,
    Open,
    Err,
}

impl<'a> Body<'a> {
    fn split(body: &'a str, notes: &mut Vec<String>) -> Body<'a> {
        let mut now = None;
        let mut offset = None;
        let mut name = None;
        let mut part = Part::Head;
        let (mut out, mut open, mut err) = (Vec::new(), Vec::new(), Vec::new());
        let (m_out, m_open, m_err) = (marker("out"), marker("open"), marker("err"));
        let (m_none, m_files_only) = (marker("noopen"), marker("noopen-dirs"));
        let mut open_check = OpenCheck::Full;
        for line in body.lines() {
            // The markers carry the probe's nonce (see sections::part) and come in this order
            // only: nothing a tool prints can forge one or move its lines back into the header.
            match (part, line) {
                (Part::Head, l) if l == m_out => part = Part::Out,
                (Part::Out, l) if l == m_open => part = Part::Open,
                (Part::Open, l) if l == m_none => open_check = OpenCheck::None,
                (Part::Open, l) if l == m_files_only => open_check = OpenCheck::FilesOnly,
                (Part::Head | Part::Out | Part::Open, l) if l == m_err => part = Part::Err,
                (Part::Head, _) => {
                    if let Some(v) = line.strip_prefix("now ") {
                        now = v
                            .trim()
                            .parse::<i64>()
                            .ok()
                            .and_then(|s| Timestamp::from_second(s).ok());
                    } else if let Some(v) = line.strip_prefix("tz ") {
                        offset = parse_offset(v.trim());
                    } else if let Some(v) = line.strip_prefix("tzname ") {
                        name = Some(v.trim());
                    }
                }
                (Part::Out, _) => out.push(line),
                (Part::Open, _) => open.push(line),
                (Part::Err, _) => err.push(line),
            }
        }
        let zone = host_zone(name, offset, now, notes);
        Body {
            now,
            zone,
            out,
            open_check,
            open,
            err,
        }
    }

    /// The first lines of the tool's error output (else of its output), cleaned and cut:
    /// enough to say why it failed.
    pub fn excerpt(&self) -> String {
        let pick = |lines: &[&str]| -> String {
            let l: Vec<&str> = lines
                .iter()
                .map(|l| l.trim())
                .filter(|l| !l.is_empty())
                .take(3)
                .collect();
            clean(&l.join(" / "), 160)
        };
        let e = pick(&self.err);
        if e.is_empty() { pick(&self.out) } else { e }
    }

    /// A local time on the host as an instant. At a daylight-saving fold the earlier of the
    /// two instants (the longer loss); in a gap, the instant before it.
    pub fn local(&self, dt: DateTime) -> Option<Timestamp> {
        self.zone.to_ambiguous_timestamp(dt).earlier().ok()
    }
}

/// `date +%z`: `+0100`, `-0530`.
fn parse_offset(s: &str) -> Option<Offset> {
    let (sign, digits) = match s.as_bytes().first()? {
        b'+' => (1, s.get(1..)?),
        b'-' => (-1, s.get(1..)?),
        _ => return None,
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = digits.get(..2)?.parse().ok()?;
    let m: i32 = digits.get(2..)?.parse().ok()?;
    if h > 25 || m > 59 {
        return None;
    }
    Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()
}

/// A zone name as the host gave it is only looked up when it looks like one: letters,
/// digits, `/_+-`, no `..`.
fn plausible_zone_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('/')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'+' | b'-'))
}

/// The host's zone: its name when the console's zone database knows it (and it agrees with
/// the offset the host has now: glibc reads a name it does not know as UTC), a POSIX TZ
/// string, else the fixed offset the host has now, else UTC.
fn host_zone(
    name: Option<&str>,
    offset: Option<Offset>,
    now: Option<Timestamp>,
    notes: &mut Vec<String>,
) -> TimeZone {
    let name = name.map(|n| n.strip_prefix("posix/").unwrap_or(n));
    let named = name.and_then(|n| {
        if plausible_zone_name(n)
            && let Ok(tz) = TimeZone::get(n)
        {
            return Some(tz);
        }
        let posix_like = n.len() <= 64 && n.bytes().all(|b| b.is_ascii_graphic());
        if posix_like && n.bytes().any(|b| b.is_ascii_digit()) {
            return TimeZone::posix(n).ok();
        }
        None
    });
    match (named, offset, now) {
        (Some(tz), Some(off), Some(now)) if tz.to_offset(now) != off => {
            notes.push(format!(
                "the host's zone {} disagrees with its offset {off}: local times read at {off}",
                clean(name.unwrap_or(""), 40)
            ));
            TimeZone::fixed(off)
        }
        (Some(tz), _, _) => tz,
        (None, Some(off), _) => TimeZone::fixed(off),
        (None, None, _) => {
            notes.push("the host's time zone is unknown: local times read as UTC".into());
            TimeZone::UTC
        }
    }
}

/// Entries modified less than this long ago are taken as still being written.
pub(crate) const SETTLE: SignedDuration = SignedDuration::from_secs(60);

#[cfg(test)]
#[path = "backup_tests.rs"]
mod tests;
