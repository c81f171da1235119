//! The `files` format: entries under a directory, one a line as the probe prints them,
//! `<birth epoch, 0 or - if unknown> <mtime epoch> <bytes or -> <f|d> <name>`, then after
//! the part `open` the names some process has open for writing.
//!
//! The capture time of an entry is not written anywhere: every clue the host gives is an
//! upper bound of it, and the earliest wins (the longer loss, never a shorter one):
//! - its birth time (a dump written in place is born when it starts; a copy is born later);
//! - a date and time in its name (`userdb-2026-11-28T2200.dump`,
//!   `files-20261128-2200.tar.zst`, `snap_2026-11-28_22-00-00`), in the host's zone unless
//!   the name has an offset; a date alone bounds it by the end of that day. A name time
//!   later than the entry's mtime is no capture time (or not in the host's zone): ignored;
//! - its mtime, when nothing else is known (a worst case for the estimate: the data may
//!   have been taken up to the backup's whole duration earlier; a note says so).
//!
//! The finish time is the mtime (for a directory, the newest in its tree). Not good, left
//! out with a note: an entry still open for writing, one modified in the last 60 s, an
//! empty file.

use super::{Body, OpenCheck, SETTLE, clean};
use crate::backup::model::{Backup, CopyReading};
use crate::probe::parse::tokens;
use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::Offset;

/// Said in a note when a capture time could only be taken from the end of the backup (its
/// mtime): the console makes such a copy WARN, as the real loss may be longer.
pub const CAPTURE_FROM_MTIME: &str = "taken as the last modification";

/// At most this many names in one note.
const NOTE_NAMES: usize = 3;

pub(super) fn parse(body: &Body<'_>, _rc: i32, notes: &mut Vec<String>) -> CopyReading {
    let Some(now) = body.now else {
        return CopyReading::Unreadable("the section has no clock line".into());
    };
    let open: Vec<&str> = body.open.iter().map(|l| l.trim_end()).collect();
    let mut found: Vec<(Backup, Timestamp)> = Vec::new();
    let (mut writing, mut recent, mut empty, mut by_mtime) = (vec![], vec![], vec![], 0usize);
    for line in &body.out {
        let Some(e) = Entry::parse(line) else {
            continue;
        };
        if open.contains(&e.name) {
            writing.push(e.name);
            continue;
        }
        if now.duration_since(e.mtime) < super::SETTLE {
            recent.push(e.name);
            continue;
        }
        if e.kind == 'f' && e.bytes == Some(0) {
            empty.push(e.name);
            continue;
        }
        let from_name = name_time(e.name).and_then(|t| t.bound(body, e.mtime));
        let captured_at = [e.birth, from_name, Some(e.mtime)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(e.mtime);
        if e.birth.is_none() && from_name.is_none() {
            by_mtime += 1;
        }
        found.push((
            Backup {
                captured_at,
                finished_at: Some(e.mtime),
                bytes: e.bytes,
                // A directory (a snapshot tree) is named with a trailing `/`, as `ls -F` does:
                // a DRP copy then mirrors its contents, which is what the site's files are.
                name: if e.kind == 'd' {
                    format!("{}/", clean(e.name, 120))
                } else {
                    clean(e.name, 120)
                },
            },
            e.mtime,
        ));
    }
    let list = |names: &[&str]| {
        let mut s = names
            .iter()
            .take(NOTE_NAMES)
            .map(|n| clean(n, 60))
            .collect::<Vec<_>>()
            .join(", ");
        if names.len() > NOTE_NAMES {
            s.push_str(&format!(" and {} more", names.len() - NOTE_NAMES));
        }
        s
    };
    if !writing.is_empty() {
        notes.push(format!("still open for writing: {}", list(&writing)));
    }
    if !recent.is_empty() {
        notes.push(format!(
            "modified less than {} s ago (in progress): {}",
            SETTLE.as_secs(),
            list(&recent)
        ));
    }
    if !empty.is_empty() {
        notes.push(format!("empty: {}", list(&empty)));
    }
    if by_mtime > 0 {
        notes.push(format!(
            "capture time of {by_mtime} entr{} unknown (no birth time, no date in the name): \
             {CAPTURE_FROM_MTIME}, so the loss may be longer by the backup's duration",
            if by_mtime == 1 { "y" } else { "ies" }
        ));
    }
    // Without lsof, a dump paused for more than a minute would pass for a finished one: say
    // so where it matters (the newest entry; fuser cannot look inside a directory tree).
    let blind = match body.open_check {
        OpenCheck::Full => None,
        OpenCheck::None => Some("neither lsof nor fuser on the host"),
        OpenCheck::FilesOnly => found
            .iter()
            .max_by_key(|(b, _)| b.captured_at)
            .filter(|(b, _)| b.name.ends_with('/'))
            .map(|_| "fuser cannot see inside directory backups (no lsof)"),
    };
    if let Some(why) = blind {
        notes.push(format!(
            "{why}: a backup still being written is recognised only by a change in the last {} s",
            SETTLE.as_secs()
        ));
    }
    // Newest capture first; between equals, the one finished last.
    found.sort_by(|a, b| {
        b.0.captured_at
            .cmp(&a.0.captured_at)
            .then(b.1.cmp(&a.1))
            .then_with(|| a.0.name.cmp(&b.0.name))
    });
    CopyReading::Found(found.into_iter().map(|(b, _)| b).collect())
}

/// One line of the listing.
struct Entry<'a> {
    birth: Option<Timestamp>,
    mtime: Timestamp,
    bytes: Option<u64>,
    kind: char,
    name: &'a str,
}

impl<'a> Entry<'a> {
    fn parse(line: &'a str) -> Option<Entry<'a>> {
        let t = tokens(line);
        let [(birth, _), (mtime, _), (bytes, _), (kind, end), ..] = t.as_slice() else {
            return None;
        };
        let kind = match *kind {
            "f" => 'f',
            "d" => 'd',
            _ => return None,
        };
        let name = line.get(*end..)?.trim();
        if name.is_empty() {
            return None;
        }
        let epoch = |s: &str| {
            s.parse::<i64>()
                .ok()
                .and_then(|s| Timestamp::from_second(s).ok())
        };
        let mtime = epoch(mtime)?;
        // 0 (coreutils without statx, a filesystem that keeps none) and - are unknown.
        let birth = epoch(birth).filter(|b| b.as_second() > 0);
        let bytes = match *bytes {
            "-" => None,
            b => Some(b.parse::<u64>().ok()?),
        };
        Some(Entry {
            birth,
            mtime,
            bytes,
            kind,
            name,
        })
    }
}

/// A time found in a backup's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameTime {
    /// A date and a time, with the offset the name gives, if any.
    At(DateTime, Option<Offset>),
    /// An instant as epoch seconds (ten digits).
    Epoch(Timestamp),
    /// A date alone.
    Day(Date),
}

impl NameTime {
    /// The upper bound of the capture time this gives, if plausible for an entry modified at
    /// `mtime`: a name time after the mtime is no capture time (or not in the host's zone).
    fn bound(self, body: &Body<'_>, mtime: Timestamp) -> Option<Timestamp> {
        let slack = super::SETTLE;
        let (start, bound) = match self {
            NameTime::At(dt, Some(off)) => {
                let t = off.to_timestamp(dt).ok()?;
                (t, t)
            }
            NameTime::At(dt, None) => {
                let t = body.local(dt)?;
                (t, t)
            }
            NameTime::Epoch(t) => (t, t),
            NameTime::Day(d) => (
                body.local(d.to_datetime(jiff::civil::Time::midnight()))?,
                body.local(d.at(23, 59, 59, 0))?,
            ),
        };
        (start <= mtime.checked_add(slack).ok()?).then_some(bound)
    }
}

/// The first date (and time) in a backup's name: `YYYY-MM-DD`, `YYYYMMDD`, `YYYY_MM_DD`,
/// `YYYY.MM.DD`, then optionally `T`, `_`, `-`, `.` or a blank and `HHMM`, `HH:MM`,
/// `HH-MM`, `HHhMM`, with seconds the same way, then optionally `Z` or an offset
/// (`+0100`, `+01:00`, `-05:00`). Else ten digits of epoch seconds. Digits may not run on
/// either side (a version number, a longer id). Never panics.
pub fn name_time(name: &str) -> Option<NameTime> {
    let b = name.as_bytes();
    let mut day_only = None;
    for i in 0..b.len() {
        if !digit(b, i) || (i > 0 && digit(b, i - 1)) {
            continue;
        }
        let Some((date, j)) = date_at(b, i) else {
            continue;
        };
        if let Some((dt, k)) = time_at(b, j, date) {
            let (off, k) = offset_at(b, k).map_or((None, k), |(o, k)| (Some(o), k));
            if !digit(b, k) {
                return Some(NameTime::At(dt, off));
            }
        }
        if !digit(b, j) && day_only.is_none() {
            day_only = Some(NameTime::Day(date));
        }
    }
    day_only.or_else(|| epoch_in(b))
}

fn digit(b: &[u8], i: usize) -> bool {
    b.get(i).is_some_and(u8::is_ascii_digit)
}

/// `n` digits at `i` as a number.
fn num(b: &[u8], i: usize, n: usize) -> Option<i32> {
    let s = b.get(i..i.checked_add(n)?)?;
    if !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// A separator among `seps` at `i`, or none.
fn sep(b: &[u8], i: usize, seps: &[u8]) -> Option<u8> {
    b.get(i).copied().filter(|c| seps.contains(c))
}

fn date_at(b: &[u8], i: usize) -> Option<(Date, usize)> {
    let y = num(b, i, 4)?;
    if !(1990..=2200).contains(&y) {
        return None;
    }
    let mut j = i + 4;
    let s1 = sep(b, j, b"-_.");
    j += usize::from(s1.is_some());
    let m = num(b, j, 2)?;
    j += 2;
    let s2 = sep(b, j, b"-_.");
    if s1 != s2 {
        return None;
    }
    j += usize::from(s2.is_some());
    let d = num(b, j, 2)?;
    j += 2;
    let date = Date::new(
        i16::try_from(y).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(d).ok()?,
    );
    Some((date.ok()?, j))
}

fn time_at(b: &[u8], j: usize, date: Date) -> Option<(DateTime, usize)> {
    let mut k = j + usize::from(sep(b, j, b"Tt_-. ").is_some());
    let h = num(b, k, 2)?;
    k += 2;
    let s = sep(b, k, b":-.h");
    k += usize::from(s.is_some());
    let m = num(b, k, 2)?;
    k += 2;
    let mut sec = 0;
    let with_seconds = match s {
        Some(c) => b.get(k) == Some(&c) && num(b, k + 1, 2).is_some(),
        None => num(b, k, 2).is_some(),
    };
    if with_seconds {
        k += usize::from(s.is_some());
        sec = num(b, k, 2)?;
        k += 2;
    }
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let dt = date.at(
        i8::try_from(h).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(sec).ok()?,
        0,
    );
    Some((dt, k))
}

/// `Z` (not followed by a letter), `+HHMM`, `+HH:MM`, or `-HH:MM` (`-HHMM` is too often
/// a sequence number).
fn offset_at(b: &[u8], k: usize) -> Option<(Offset, usize)> {
    match b.get(k)? {
        b'Z' | b'z' if !b.get(k + 1).is_some_and(u8::is_ascii_alphabetic) => {
            Some((Offset::UTC, k + 1))
        }
        c @ (b'+' | b'-') => {
            let sign = if *c == b'+' { 1 } else { -1 };
            let h = num(b, k + 1, 2)?;
            let (m, end) = if b.get(k + 3) == Some(&b':') {
                (num(b, k + 4, 2)?, k + 6)
            } else if *c == b'+' {
                (num(b, k + 3, 2)?, k + 5)
            } else {
                return None;
            };
            if h > 18 || m > 59 {
                return None;
            }
            Some((Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()?, end))
        }
        _ => None,
    }
}

/// Ten digits alone, as epoch seconds between 2001 and 2096.
fn epoch_in(b: &[u8]) -> Option<NameTime> {
    let mut i = 0;
    while i < b.len() {
        if !digit(b, i) {
            i += 1;
            continue;
        }
        let start = i;
        while digit(b, i) {
            i += 1;
        }
        if i - start == 10 {
            let s: i64 = std::str::from_utf8(b.get(start..i)?).ok()?.parse().ok()?;
            if (1_000_000_000..4_000_000_000).contains(&s) {
                return Timestamp::from_second(s).ok().map(NameTime::Epoch);
            }
        }
    }
    None
}
