//! When a pg_dump archive's data was taken (SPEC §5: "its capture time is when its data was
//! taken (dump start…)"), read from the archive's own header. Pure; never panics on any input.
//!
//! pg_dump writes the LOCAL civil time of the machine that ran it: a `struct tm` (year to
//! second, and the summer-time flag `tm_isdst`), no zone. `pg_restore -l` `mktime()`s those
//! fields in ITS OWN zone: under `TZ=UTC0` a dump taken at 23:00 in Paris (22:00Z) prints
//! "23:00:00 UTC", one hour too late; and glibc's `mktime` moves a time flagged summer time
//! one more hour back in a zone without summer time (a real archive of 02:30 CEST prints
//! "01:30:00 UTC": tests/fixtures/pg_dump_clock). So:
//!
//! - the fields are read from the header itself (its first bytes, as hex: [`parse_header`]);
//!   the line `pg_restore -l` prints under `TZ=UTC0` is a cross-check, and the fallback when
//!   the header's layout is not one this reader knows ([`archive_time`]);
//! - the zone is decided by [`read_capture`]: the candidates are the site's zone
//!   (`[site] timezone`), the zones of the hosts that hold or read the dump, and UTC; a zone in
//!   which that wall clock never happened (the hour skipped when summer time starts), or whose
//!   summer time disagrees with the header's flag, is left out; the dump file's modification
//!   time bounds the truth (the dump started before its file was last written; give or take
//!   [`MTIME_SLACK_S`] for clocks that differ a little); the LATEST candidate instant within
//!   that bound is taken — a dump is written soon after it starts, and a zone east of UTC read
//!   as UTC would put the start after its own file;
//! - a wall clock that happened twice (summer time ending) without the flag to tell which: the
//!   earlier instant, the larger data loss (the safe side);
//! - no candidate within the bound: the plan's capture time of the backup, and why.
//!
//! What is left to chance, said in the note: when two zones both fit the file's date (a dump
//! that took longer to write than the zones are apart), the later reading is taken.

use super::parse::CaptureSource;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, ToSpan as _};

/// How far after the dump file's modification time a reading may still fall: the clocks of
/// the host that ran pg_dump and of the one that wrote the file may differ a little.
pub const MTIME_SLACK_S: i64 = 120;

/// The most header bytes the scripts send (hex): the time fields end before byte 100 even with
/// 8-byte integers.
pub const HEADER_BYTES: usize = 128;

/// What a pg_dump archive says of when it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveTime {
    /// The civil time as pg_dump wrote it: the dumping machine's wall clock, zone unknown.
    pub wall: DateTime,
    /// Its summer-time flag (`tm_isdst`); `None` when it could not be read.
    pub dst: Option<bool>,
}

/// The capture time decided, and how it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockCapture {
    /// `None`: neither the archive nor the plan tell.
    pub at: Option<Timestamp>,
    pub by: CaptureSource,
    /// For the operator and the journal: "the archive's wall clock 2026-11-28 23:00:00 read
    /// in Europe/Paris; in UTC it would be after the dump file was written …".
    pub note: String,
}

/// The time fields of a pg_dump custom-format archive's header (as pg_restore's `ReadHead`
/// reads it), from the hex of its first bytes: `PGDMP`, version, integer and offset
/// sizes, format, compression, then `tm_sec`, `tm_min`, `tm_hour`, `tm_mday`, `tm_mon`,
/// `tm_year`, `tm_isdst` as pg_dump's integers (a sign byte, then little-endian bytes).
/// `None` when it is not such a header, or a version without the time (before 1.4).
pub fn parse_header(hex: &str) -> Option<ArchiveTime> {
    let hex = hex.trim();
    if hex.len() > 2 * HEADER_BYTES || !hex.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Vec<u8> = hex
        .as_bytes()
        .chunks(2)
        .map(|p| {
            let s = std::str::from_utf8(p).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect::<Option<_>>()?;
    let mut r = Reader { b: &bytes, at: 0 };
    if r.take(5)? != b"PGDMP" {
        return None;
    }
    let (vmaj, vmin) = (r.byte()?, r.byte()?);
    let vrev = if vmaj > 1 || (vmaj == 1 && vmin > 0) {
        r.byte()?
    } else {
        0
    };
    let version = (vmaj, vmin, vrev);
    if version < (1, 4, 0) {
        return None;
    }
    let int_size = usize::from(r.byte()?);
    // pg_restore accepts up to 32; the fields of a struct tm fit in 8.
    if int_size == 0 || int_size > 8 {
        return None;
    }
    if version >= (1, 7, 0) {
        r.byte()?; // the offset size
    }
    r.byte()?; // the format
    if version >= (1, 15, 0) {
        r.byte()?; // the compression algorithm
    } else {
        r.int(int_size)?; // the compression level
    }
    let mut f = [0i64; 7];
    for v in &mut f {
        *v = r.int(int_size)?;
    }
    let [sec, min, hour, mday, mon, year, isdst] = f;
    let small = |v: i64| i8::try_from(v).ok();
    let wall = DateTime::new(
        i16::try_from(year.checked_add(1900)?).ok()?,
        small(mon.checked_add(1)?)?,
        small(mday)?,
        small(hour)?,
        small(min)?,
        // A leap second (60) is read as the last second of its minute.
        small(sec.min(59))?,
        0,
    )
    .ok()?;
    Some(ArchiveTime {
        wall,
        dst: match isdst {
            0 => Some(false),
            d if d > 0 => Some(true),
            _ => None,
        },
    })
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn byte(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    /// pg_dump's `WriteInt`: a sign byte, then `size` bytes, least significant first.
    fn int(&mut self, size: usize) -> Option<i64> {
        let sign = self.byte()?;
        let mut v: u64 = 0;
        for (i, b) in self.take(size)?.iter().enumerate() {
            v |= u64::from(*b) << (8 * i);
        }
        let v = i64::try_from(v).ok()?;
        Some(if sign != 0 { -v } else { v })
    }
}

/// A civil time as the scripts print it: "2026-11-28T23:00:00" (or with a space).
pub fn parse_wall(s: &str) -> Option<DateTime> {
    let s = s.trim();
    if s.len() != 19 || !s.is_ascii() {
        return None;
    }
    s.replacen(' ', "T", 1).parse().ok()
}

/// The archive's time: its header's fields (`header`, hex), checked against what
/// `TZ=UTC0 pg_restore -l` printed (`printed`): equal, or one hour earlier for a time flagged
/// summer time (glibc). When they disagree (a header layout this reader does not know) or the
/// header is missing, the printed time, its summer-time flag unknown.
pub fn archive_time(header: Option<&str>, printed: Option<DateTime>) -> Option<ArchiveTime> {
    let parsed = header.and_then(parse_header);
    match (parsed, printed) {
        (Some(h), None) => Some(h),
        (Some(h), Some(p)) => {
            let early = h.wall.checked_sub(1.hour()).ok();
            if p == h.wall || (h.dst == Some(true) && Some(p) == early) {
                Some(h)
            } else {
                Some(ArchiveTime { wall: p, dst: None })
            }
        }
        (None, Some(p)) => Some(ArchiveTime { wall: p, dst: None }),
        (None, None) => None,
    }
}

/// A zone name as a host or the configuration gives it ("Europe/Paris", "Etc/UTC", a link's
/// "posix/Europe/Paris"), if this machine's zone database knows it.
fn zone(name: &str) -> Option<(String, TimeZone)> {
    let n = name.trim().trim_start_matches(':');
    let n = n.strip_prefix("posix/").unwrap_or(n);
    if n.is_empty()
        || n.len() > 64
        || !n
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'+' | b'-'))
    {
        return None;
    }
    let tz = TimeZone::get(n).ok()?;
    let name = tz.iana_name().unwrap_or(n).to_string();
    Some((name, tz))
}

/// The names of UTC in the zone database (a host's /etc/localtime is often Etc/UTC).
fn is_utc(name: &str) -> bool {
    let n = name.strip_prefix("Etc/").unwrap_or(name);
    [
        "UTC",
        "UCT",
        "Universal",
        "Zulu",
        "GMT",
        "GMT0",
        "GMT+0",
        "GMT-0",
        "Greenwich",
    ]
    .iter()
    .any(|u| u.eq_ignore_ascii_case(n))
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// One zone's reading of the wall clock.
struct Reading {
    zone: String,
    at: Timestamp,
    /// The wall clock happened twice in that zone and the flag did not tell which.
    fold: bool,
}

/// Decides the capture time of an archive (see the module's header). `zones`: the candidate
/// zones, first the site's, then the hosts'; UTC is tried last when `utc_too`; `mtime`: the
/// dump file's modification time; `hint`: the plan's capture time of the backup.
pub fn read_capture(
    t: ArchiveTime,
    zones: &[&str],
    utc_too: bool,
    mtime: Option<Timestamp>,
    hint: Option<Timestamp>,
) -> ClockCapture {
    let wall = t.wall.strftime("%Y-%m-%d %H:%M:%S").to_string();
    let season = |dst: bool| if dst { "summer" } else { "standard" };
    let mut tried: Vec<String> = Vec::new();
    let mut readings: Vec<Reading> = Vec::new();
    // Zones left out whatever the file's date, and why.
    let mut out: Vec<String> = Vec::new();
    for (name, tz) in zones
        .iter()
        .filter_map(|z| zone(z))
        .chain(utc_too.then(|| ("UTC".to_string(), TimeZone::UTC)))
    {
        // UTC is tried once, under the first name a host gave it.
        if tried.contains(&name) || (is_utc(&name) && tried.iter().any(|n| is_utc(n))) {
            continue;
        }
        tried.push(name.clone());
        let amb = tz.to_ambiguous_timestamp(t.wall);
        let offsets = match amb.offset() {
            AmbiguousOffset::Unambiguous { offset } => vec![offset],
            AmbiguousOffset::Fold { before, after } => vec![before, after],
            AmbiguousOffset::Gap { .. } => {
                out.push(format!("{wall} never happened in {name}"));
                continue;
            }
        };
        let all: Vec<Timestamp> = offsets
            .into_iter()
            .filter_map(|o| o.to_timestamp(t.wall).ok())
            .collect();
        let fitting: Vec<Timestamp> = all
            .iter()
            .copied()
            .filter(|ts| {
                t.dst
                    .is_none_or(|d| tz.to_offset_info(*ts).dst().is_dst() == d)
            })
            .collect();
        let Some(first) = fitting.iter().min().copied() else {
            if let Some(d) = t.dst {
                out.push(format!(
                    "in {name} it was {} time then, the header says {} time",
                    season(!d),
                    season(d)
                ));
            }
            continue;
        };
        if readings.iter().any(|r| r.at == first) {
            continue; // the same instant as a zone tried before (the same offset then)
        }
        readings.push(Reading {
            zone: name,
            at: first,
            fold: fitting.len() > 1,
        });
    }

    let bound = mtime.map(|m| {
        m.checked_add(MTIME_SLACK_S.seconds())
            .unwrap_or(Timestamp::MAX)
    });
    let (within, after): (Vec<&Reading>, Vec<&Reading>) = readings
        .iter()
        .partition(|r| bound.is_none_or(|b| r.at <= b));
    // The latest within the file's date (the first zone on a tie); with no file date, the
    // earliest: the larger data loss. UTC is a candidate only when a host runs in UTC or no
    // host's zone could be read (see `read_capture`'s `utc_too`): on a site whose servers all
    // run in Paris, a long dump must not be read as a UTC one, an hour late.
    let chosen = match bound {
        Some(_) => within
            .iter()
            .copied()
            .fold(None::<&Reading>, |best, r| match best {
                Some(b) if b.at >= r.at => Some(b),
                _ => Some(r),
            }),
        None => within
            .iter()
            .copied()
            .fold(None::<&Reading>, |best, r| match best {
                Some(b) if b.at <= r.at => Some(b),
                _ => Some(r),
            }),
    };
    let file = mtime.map(utc);
    let Some(c) = chosen else {
        let why = match (&file, readings.is_empty()) {
            (_, true) => format!(
                "the archive's wall clock {wall} fits none of the zones tried ({}): {}",
                tried.join(", "),
                out.join("; ")
            ),
            (Some(f), false) => format!(
                "the archive's wall clock {wall} would be after the dump file was written ({f}) \
                 in every zone tried ({})",
                tried.join(", ")
            ),
            (None, false) => format!("the archive's wall clock {wall} cannot be read"),
        };
        return match hint {
            Some(h) => ClockCapture {
                at: Some(h),
                by: CaptureSource::Backup,
                note: format!("{why}: the backup's capture time is used"),
            },
            None => ClockCapture {
                at: None,
                by: CaptureSource::Unknown,
                note: format!("{why}, and the plan has no capture time of the backup"),
            },
        };
    };
    let mut note = format!("the archive's wall clock {wall} read in {}", c.zone);
    if let (Some(d), false) = (t.dst, is_utc(&c.zone)) {
        note.push_str(&format!(" ({} time, as its header says)", season(d)));
    }
    if c.fold {
        note.push_str(&format!(
            "; {wall} happened twice in {} (the clocks went back): the earlier instant is \
             taken, the larger data loss",
            c.zone
        ));
    }
    let late: Vec<&str> = after.iter().map(|r| r.zone.as_str()).collect();
    if let (false, Some(f)) = (late.is_empty(), &file) {
        note.push_str(&format!(
            "; in {} it would be after the dump file was written ({f})",
            late.join(", ")
        ));
    }
    let also: Vec<String> = within
        .iter()
        .filter(|r| r.at != c.at)
        .map(|r| {
            let apart = crate::backup::evaluate::human(
                (c.at.as_second() - r.at.as_second()).unsigned_abs(),
            );
            let dir = if r.at < c.at { "earlier" } else { "later" };
            format!("{} ({apart} {dir})", r.zone)
        })
        .collect();
    if !also.is_empty() {
        note.push_str(&match &file {
            Some(f) => format!(
                "; the latest reading not after the dump file's date ({f}) is taken, also \
                 possible: {}",
                also.join(", ")
            ),
            None => format!(
                "; the dump file's date is not known: the earliest reading is taken (the larger \
                 data loss), also possible: {}",
                also.join(", ")
            ),
        });
    }
    if !out.is_empty() {
        note.push_str(&format!("; {}", out.join("; ")));
    }
    ClockCapture {
        at: Some(c.at),
        by: CaptureSource::Archive,
        note,
    }
}

/// What a script said of a pg_dump archive, as `key=value` words (the import's `capture`
/// line and its mark; see db_import.sh): `clock=` (what `TZ=UTC0 pg_restore -l` printed),
/// `header=` (hex of the archive's first bytes), `mtime=` (the dump file's, seconds),
/// `zones=` (the hosts' zones, comma-separated). Unreadable values are left out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ArchiveFacts {
    pub clock: Option<DateTime>,
    pub header: Option<String>,
    pub mtime: Option<Timestamp>,
    pub zones: Vec<String>,
}

impl ArchiveFacts {
    /// Reads the words of a line; `None` when they say nothing of an archive.
    pub fn parse(words: &str) -> Option<ArchiveFacts> {
        let get = |k: &str| {
            words
                .split(' ')
                .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
                .filter(|v| !v.is_empty() && *v != "-")
        };
        let facts = ArchiveFacts {
            clock: get("clock").and_then(parse_wall),
            header: get("header")
                .filter(|h| h.len() <= 2 * HEADER_BYTES && h.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_ascii_lowercase),
            mtime: get("mtime")
                .filter(|m| !m.is_empty() && m.len() <= 12 && m.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|m| m.parse::<i64>().ok())
                .and_then(|s| Timestamp::from_second(s).ok()),
            zones: get("zones")
                .map(|z| {
                    z.split(',')
                        .filter_map(|n| zone(n).map(|(name, _)| name))
                        .take(4)
                        .collect()
                })
                .unwrap_or_default(),
        };
        (facts.clock.is_some() || facts.header.is_some()).then_some(facts)
    }

    /// The capture time these facts give, `site_zone` first among the candidates; `hint`:
    /// the plan's capture time of the backup.
    pub fn capture(&self, site_zone: Option<&str>, hint: Option<Timestamp>) -> ClockCapture {
        let zones: Vec<&str> = site_zone
            .into_iter()
            .chain(self.zones.iter().map(String::as_str))
            .collect();
        match archive_time(self.header.as_deref(), self.clock) {
            Some(t) => {
                // UTC only when a host runs in it or no host's zone is known.
                let utc_too = self.zones.is_empty() || self.zones.iter().any(|z| is_utc(z));
                let mut c = read_capture(t, &zones, utc_too, self.mtime, hint);
                if t.dst.is_none() && c.by == CaptureSource::Archive {
                    c.note.push_str(
                        "; the header's summer-time flag could not be read: as pg_restore \
                         printed it",
                    );
                }
                c
            }
            None => ClockCapture {
                at: hint,
                by: if hint.is_some() {
                    CaptureSource::Backup
                } else {
                    CaptureSource::Unknown
                },
                note: "the archive's time cannot be read".into(),
            },
        }
    }
}

#[cfg(test)]
#[path = "db_import_clock_tests.rs"]
mod tests;
