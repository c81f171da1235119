//! Pure readers of rsync's output (fixtures: tests/fixtures/rsync/, real output of rsync 3.2.7
//! and 3.5.0): the itemized dry run and its `--stats` block, `--info=progress2` records, and
//! rsync's messages. Remote text: nothing here panics, whatever the input, and every name or
//! message kept is sanitised ([`clean`]).
//!
//! Versions: `--stats` has had its current shape since rsync 3.1.0 (NEWS 3.1.0: numbers in
//! 3-digit groups, "Number of created files", "Number of deleted files" with `--delete`, the
//! per-type breakdown, "regular" added to "Number of regular files transferred"). Older ones
//! (3.0, 2.6) print plain numbers and "Number of files transferred", also read here.

use super::{MARKER, ParseError, clean};
use std::time::Duration;

/// How many names a dry run keeps as examples.
const SAMPLES: usize = 5;
const MESSAGES: usize = 8;

/// An itemized dry run (`-n -i --stats`), read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DryRun {
    /// Entries in the source ("Number of files").
    pub files_total: Option<u64>,
    /// Regular files that would be transferred (new or changed).
    pub to_transfer: u64,
    /// Their bytes ("Total transferred file size").
    pub bytes: Option<u64>,
    /// All the source's bytes ("Total file size").
    pub total_size: Option<u64>,
    /// Entries that would be created (files, directories, links), directories among them.
    pub created: u64,
    pub created_dirs: u64,
    /// Entries that would be deleted from the target.
    pub deletions: u64,
    /// Entries whose attributes only would change (times, permissions, owner).
    pub changed: u64,
    /// The first names of each kind, sanitised.
    pub sample_transfers: Vec<String>,
    pub sample_deletions: Vec<String>,
    /// rsync's and ssh's own lines (errors, warnings), sanitised, first ones first.
    pub messages: Vec<String>,
    /// The `--stats` block was read: the counts are rsync's totals, not only what was seen.
    pub complete: bool,
}

impl DryRun {
    /// Nothing at all would change.
    pub fn is_no_change(&self) -> bool {
        self.to_transfer == 0 && self.deletions == 0 && self.created == 0 && self.changed == 0
    }

    /// ": <first message>" when rsync said something, else "".
    pub fn first_error(&self) -> String {
        self.messages
            .first()
            .map(|m| format!(": {m}"))
            .unwrap_or_default()
    }

    /// One line for the operator: "2 files to copy (94.7 KiB), 1 new directory, 3 to delete
    /// (conf/app.conf, conf/, www/page6.html)", or "no change".
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if self.to_transfer > 0 {
            let bytes = self
                .bytes
                .map(|b| format!(" ({})", size(b)))
                .unwrap_or_default();
            parts.push(format!(
                "{} to copy{bytes}",
                plural(self.to_transfer, "file", "files")
            ));
        }
        if self.created_dirs > 0 {
            parts.push(plural(
                self.created_dirs,
                "new directory",
                "new directories",
            ));
        }
        if self.deletions > 0 {
            let more = if self.deletions as usize > self.sample_deletions.len() {
                ", …"
            } else {
                ""
            };
            let names = if self.sample_deletions.is_empty() {
                String::new()
            } else {
                format!(" ({}{more})", self.sample_deletions.join(", "))
            };
            parts.push(format!("{} to delete{names}", self.deletions));
        }
        if self.changed > 0 {
            parts.push(plural(
                self.changed,
                "attribute change",
                "attribute changes",
            ));
        }
        if parts.is_empty() {
            "no change".into()
        } else {
            parts.join(", ")
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// "512 B", "94.7 KiB", "3.0 GiB".
pub(crate) fn size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        crate::checks::host::binary_units(bytes as f64, &["B", "KiB", "MiB", "GiB", "TiB"], false)
    }
}

/// Reads a dry run's output (the whole of it, or its head and tail joined). An error only
/// when nothing in it is rsync's.
pub fn parse_dry_run(text: &str) -> Result<DryRun, ParseError> {
    let mut d = DryRun::default();
    let mut seen = 0usize;
    let (mut transfers, mut created, mut dirs, mut deletions) = (0u64, 0u64, 0u64, 0u64);
    let mut stats = Stats::default();
    for line in text.split(['\n', '\r']) {
        let line = line.trim_end();
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("*deleting") {
            seen += 1;
            deletions += 1;
            push_sample(&mut d.sample_deletions, rest.trim_start());
        } else if let Some((item, name)) = itemized(line) {
            seen += 1;
            match item {
                Item::Transfer { new } => {
                    transfers += 1;
                    created += u64::from(new);
                    push_sample(&mut d.sample_transfers, name);
                }
                Item::Created { dir } => {
                    created += 1;
                    dirs += u64::from(dir);
                }
                Item::Changed => d.changed += 1,
                Item::Same => {}
            }
        } else if stats.read(line) || benign(line) {
            seen += 1;
        } else if line.starts_with(MARKER) {
            seen += 1;
            if line == format!("{MARKER} missing") {
                push_message(&mut d.messages, "rsync is not installed on the target host");
            }
        } else {
            push_message(&mut d.messages, line);
        }
    }
    if seen == 0 && d.messages.is_empty() {
        return Err(ParseError::new("no rsync output"));
    }
    d.complete = stats.transferred.is_some();
    d.files_total = stats.files;
    d.to_transfer = stats.transferred.unwrap_or(transfers);
    d.bytes = stats.transferred_size;
    d.total_size = stats.total_size;
    d.created = stats.created.map(|(n, _)| n).unwrap_or(created);
    d.created_dirs = stats.created.map(|(_, dirs)| dirs).unwrap_or(dirs);
    d.deletions = stats.deleted.unwrap_or(deletions);
    Ok(d)
}

fn push_sample(v: &mut Vec<String>, name: &str) {
    if v.len() < SAMPLES {
        v.push(clean(name, 120));
    }
}

fn push_message(v: &mut Vec<String>, line: &str) {
    let m = clean(line, 240);
    if v.len() < MESSAGES && !m.is_empty() && !v.contains(&m) {
        v.push(m);
    }
}

/// rsync's closing lines and the stats lines not kept.
fn benign(line: &str) -> bool {
    const PREFIXES: [&str; 11] = [
        "Literal data:",
        "Matched data:",
        "File list size:",
        "File list generation time:",
        "File list transfer time:",
        "Total bytes sent:",
        "Total bytes received:",
        "Total bytes written:",
        "Total bytes read:",
        "total size is ",
        "created directory ",
    ];
    PREFIXES.iter().any(|p| line.starts_with(p))
        || (line.starts_with("sent ") && line.contains(" bytes/sec"))
        || (line.starts_with("wrote ") && line.contains(" bytes/sec"))
        || parse_record(line).is_some_and(|(_, rest)| rest.is_empty())
}

/// The `--stats` lines that count.
#[derive(Debug, Default)]
struct Stats {
    files: Option<u64>,
    created: Option<(u64, u64)>,
    deleted: Option<u64>,
    transferred: Option<u64>,
    transferred_size: Option<u64>,
    total_size: Option<u64>,
}

impl Stats {
    fn read(&mut self, line: &str) -> bool {
        let kv = |key: &str| crate::probe::parse::key_value(line, key);
        if let Some(v) = kv("Number of files") {
            self.files = number(v);
        } else if let Some(v) = kv("Number of created files") {
            self.created = number(v).map(|n| (n, breakdown(v, "dir")));
        } else if let Some(v) = kv("Number of deleted files") {
            self.deleted = number(v);
        } else if let Some(v) =
            kv("Number of regular files transferred").or_else(|| kv("Number of files transferred"))
        {
            self.transferred = number(v);
        } else if let Some(v) = kv("Total transferred file size") {
            self.transferred_size = number(v);
        } else if let Some(v) = kv("Total file size") {
            self.total_size = number(v);
        } else {
            return false;
        }
        true
    }
}

/// The leading number of "12,431 (reg: …)" or "3154112 bytes": digit groups (`,`, or `.`
/// under a locale with a decimal comma) are dropped.
fn number(v: &str) -> Option<u64> {
    let tok = v.split_whitespace().next()?;
    if !tok.bytes().any(|b| b.is_ascii_digit())
        || !tok
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b',' || b == b'.')
    {
        return None;
    }
    tok.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

/// One count of a "(reg: 4, dir: 4, link: 1)" breakdown (0 when absent: rsync omits zeros).
fn breakdown(v: &str, kind: &str) -> u64 {
    let Some(inner) = v
        .split_once('(')
        .and_then(|(_, r)| r.split_once(')'))
        .map(|(i, _)| i)
    else {
        return 0;
    };
    inner
        .split(", ")
        .filter_map(|p| p.split_once(": "))
        .find(|(k, _)| k.trim() == kind)
        .and_then(|(_, n)| number(n))
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    /// `>f` (received) or `<f` (sent): a regular file's data; `new` for `+++++++++`.
    Transfer { new: bool },
    /// `cd+++++++++`, `cL+++…`, `hf+++…`: created on the target (a directory, a link, a hard
    /// link).
    Created { dir: bool },
    /// `.f..t......`, `cLc.t……` (a changed symlink), `hf.st……` (a relinked hard link).
    Changed,
    /// `.f         ` (with -ii): nothing.
    Same,
}

/// An itemized line, "YXcstpoguax name" (11 letters since 3.1, 9 in 2.6), and its name.
fn itemized(line: &str) -> Option<(Item, &str)> {
    let (code, name) = line.split_once(' ')?;
    // The attribute letters may be blanks ("cd+++++++++" vs ".d          "): the code is
    // the first 9 to 11 characters, then one space before the name.
    let (code, name) = if code.len() < 9 {
        let end = line.char_indices().nth(11).map(|(i, _)| i)?;
        (line.get(..end)?, line.get(end..)?.strip_prefix(' ')?)
    } else {
        (code, name)
    };
    let b = code.as_bytes();
    if !(9..=12).contains(&b.len())
        || !b"<>ch.".contains(b.first()?)
        || !b"fdLDS".contains(b.get(1)?)
        || !b
            .iter()
            .skip(2)
            .all(|c| c.is_ascii_alphabetic() || b"+.? ".contains(c))
        || name.is_empty()
    {
        return None;
    }
    let attrs = code.get(2..)?;
    let item = match (b.first()?, b.get(1)?) {
        (b'>' | b'<', b'f') => Item::Transfer {
            new: attrs.bytes().all(|c| c == b'+'),
        },
        (b'c' | b'h', kind) if attrs.bytes().all(|c| c == b'+') => {
            Item::Created { dir: *kind == b'd' }
        }
        (b'.', _) if attrs.bytes().all(|c| c == b'.' || c == b' ') => Item::Same,
        _ => Item::Changed,
    };
    Some((item, name))
}

/// Regular files the itemized lines of `text` transfer (the rsync 3.0 copy, counted against
/// the preview's count).
pub fn count_itemized(text: &str) -> u64 {
    text.split(['\n', '\r'])
        .filter(|l| matches!(itemized(l.trim_end()), Some((Item::Transfer { .. }, _))))
        .count() as u64
}

/// rsync's and ssh's messages in a copy's output (errors, warnings; not the progress
/// records nor the counts), sanitised, first ones first.
pub fn errors(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.split(['\n', '\r']) {
        let line = line.trim_end();
        if line.trim().is_empty() || line.starts_with(MARKER) {
            continue;
        }
        if let Some((_, rest)) = parse_record(line) {
            // "… 0:00:00  file has vanished: …": a message written over a record.
            if !rest.is_empty() {
                push_message(&mut out, rest);
            }
            continue;
        }
        let mut s = Stats::default();
        if s.read(line) || benign(line) || itemized(line).is_some() || line.starts_with("*deleting")
        {
            continue;
        }
        push_message(&mut out, line);
    }
    out
}

/// One `--info=progress2` record: "  1,234,567  45%   12.34MB/s    0:01:23" (the time is the
/// estimate left), or, at the end of each file, followed by "(xfr#N, to-chk=R/T)" (the time
/// is then the time spent so far).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Bytes of the transferred files done so far.
    pub bytes: u64,
    /// rsync's own percentage: of ALL the source's bytes, unchanged files included, so it
    /// neither reaches 100 on an update nor stays still while the list grows.
    pub percent: u32,
    /// Bytes per second over rsync's last seconds.
    pub rate: f64,
    pub time: Option<Duration>,
    /// Files transferred so far, and entries still to check out of the total.
    pub transferred: Option<u64>,
    pub to_check: Option<(u64, u64)>,
    /// "ir-chk": the file list is still growing (incremental recursion).
    pub incremental: bool,
}

/// Every record in `text`, in order.
pub fn parse_records(text: &str) -> Vec<Record> {
    text.split(['\n', '\r'])
        .filter_map(|l| parse_record(l).map(|(r, _)| r))
        .collect()
}

/// A record at the start of `seg` and what follows it.
fn parse_record(seg: &str) -> Option<(Record, &str)> {
    let mut rest = seg.trim_start();
    let mut next = || -> Option<&str> {
        let t = rest.split_whitespace().next()?;
        let at = rest.find(t)? + t.len();
        rest = rest.get(at..)?.trim_start();
        Some(t)
    };
    let bytes = number(next()?)?;
    let percent: u32 = next()?.strip_suffix('%')?.parse().ok()?;
    let rate_tok = next()?;
    let time_tok = next()?;
    let (num, unit) = rate_tok.split_at(rate_tok.find(|c: char| c.is_ascii_alphabetic())?);
    let factor = match unit {
        "B/s" => 1.0,
        "kB/s" => 1024.0,
        "MB/s" => 1024.0 * 1024.0,
        "GB/s" => 1024.0 * 1024.0 * 1024.0,
        "TB/s" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let rate = num
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && *r >= 0.0)?
        * factor;
    let time = clock(time_tok);
    if time.is_none() && time_tok != "??:??:??" {
        return None;
    }
    let mut r = Record {
        bytes,
        percent,
        rate,
        time,
        transferred: None,
        to_check: None,
        incremental: false,
    };
    let after = rest;
    if let Some(x) = after.strip_prefix("(xfr#")
        && let Some((n, tail)) = x.split_once(", ")
        && let Some(close) = tail.find(')')
    {
        r.transferred = n.parse().ok();
        let chk = tail.get(..close).unwrap_or_default();
        let (kind, counts) = chk.split_once('=').unwrap_or(("", ""));
        r.incremental = kind == "ir-chk";
        r.to_check = counts
            .split_once('/')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)));
        rest = tail.get(close + 1..).unwrap_or_default().trim_start();
    }
    Some((r, rest))
}

/// "0:01:23", "12:00:05" → a duration.
fn clock(s: &str) -> Option<Duration> {
    let mut it = s.split(':');
    let (h, m, sec) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || m.len() != 2 || sec.len() != 2 {
        return None;
    }
    let (h, m, sec): (u64, u64, u64) = (h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?);
    (m < 60 && sec < 60).then(|| Duration::from_secs(h.saturating_mul(3600) + m * 60 + sec))
}

/// The copy's progress as the operator sees it: it never goes backwards. Bytes are measured
/// against the preview's bytes to transfer (not rsync's percentage, which counts unchanged
/// files and drops when the file list grows): the highest count seen is kept, a total exceeded
/// (files grew since the preview) becomes the count itself, and 100 % only comes with success.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Progress {
    expected_bytes: Option<u64>,
    expected_files: Option<u64>,
    bytes: u64,
    files: u64,
    rate: Option<f64>,
    went_back: bool,
    done: bool,
    mode: Option<ProgressMode>,
    read_to: u64,
}

/// How a copy job reports its progress (the first line of its output, [`MARKER`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// rsync ≥ 3.1: `--info=progress2` records.
    Progress2,
    /// rsync 3.0: one itemized line per change.
    Itemize,
    /// No rsync on the target host.
    Missing,
}

/// The mode announced by the first line of a copy job's output, if it is there yet.
pub fn progress_mode(head: &str) -> Option<ProgressMode> {
    let first = head.split(['\n', '\r']).next()?;
    let mut w = first.strip_prefix(MARKER)?.split_whitespace();
    match w.next()? {
        "progress2" => Some(ProgressMode::Progress2),
        "itemize" => Some(ProgressMode::Itemize),
        "missing" => Some(ProgressMode::Missing),
        _ => None,
    }
}

impl Progress {
    pub fn new(expected_bytes: Option<u64>, expected_files: Option<u64>) -> Progress {
        Progress {
            expected_bytes,
            expected_files,
            ..Progress::default()
        }
    }

    /// Against what a preview said would be transferred.
    pub fn from_preview(p: &DryRun) -> Progress {
        Progress::new(p.bytes, Some(p.to_transfer))
    }

    /// Takes the progress records in `text` (any piece of the output, in any order).
    pub fn feed(&mut self, text: &str) {
        for r in parse_records(text) {
            if r.bytes < self.bytes {
                self.went_back = true;
            }
            self.bytes = self.bytes.max(r.bytes);
            if let Some(n) = r.transferred {
                self.files = self.files.max(n);
            }
            self.rate = Some(r.rate);
        }
    }

    /// rsync 3.0 (itemize mode): counts the transfers itemized in `chunk`; each piece of the
    /// output must be fed once, in order.
    pub fn feed_items(&mut self, chunk: &str) {
        self.files += count_itemized(chunk);
    }

    /// How the job reports progress, once its first line was read.
    pub fn mode(&self) -> Option<ProgressMode> {
        self.mode
    }

    /// Reads the mode from the head of the job's output (nothing if not there yet).
    pub fn read_mode(&mut self, head: &str) {
        self.mode = progress_mode(head);
    }

    /// In itemize mode, where the next read of the output starts.
    pub fn read_to(&self) -> u64 {
        self.read_to
    }

    pub fn set_read_to(&mut self, offset: u64) {
        self.read_to = self.read_to.max(offset);
    }

    /// The copy ended with exit 0.
    pub fn finished(&mut self) {
        self.done = true;
    }

    pub fn bytes_done(&self) -> u64 {
        self.bytes
    }

    pub fn files_done(&self) -> u64 {
        self.files
    }

    /// The bytes to transfer: the preview's, or what was done if more.
    pub fn total(&self) -> Option<u64> {
        self.expected_bytes.map(|e| e.max(self.bytes))
    }

    /// Done, from 0 to 1: below 1 until the copy ended well.
    pub fn fraction(&self) -> Option<f64> {
        if self.done {
            return Some(1.0);
        }
        let f = match (self.total(), self.expected_files) {
            (Some(t), _) if t > 0 => self.bytes as f64 / t as f64,
            (_, Some(n)) if n > 0 => self.files as f64 / n as f64,
            (Some(_), _) | (_, Some(_)) => 0.0,
            (None, None) => return None,
        };
        Some(f.clamp(0.0, 0.999))
    }

    /// Bytes per second, as rsync measured it last.
    pub fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// What is left at the current rate.
    pub fn eta(&self) -> Option<Duration> {
        if self.done {
            return Some(Duration::ZERO);
        }
        let left = self.total()?.saturating_sub(self.bytes);
        let rate = self.rate.filter(|r| *r > 0.0)?;
        let secs = left as f64 / rate;
        (secs.is_finite() && secs < 1e9).then(|| Duration::from_secs(secs.ceil() as u64))
    }

    /// rsync reported less than before at some point (the highest is shown).
    pub fn went_back(&self) -> bool {
        self.went_back
    }

    /// "229 KiB of 391 KiB (58 %), 200 KiB/s, about 1 s left".
    pub fn summary(&self) -> String {
        let mut s = match self.total() {
            Some(t) => format!("{} of {}", size(self.bytes), size(t)),
            None => format!("{} copied", size(self.bytes)),
        };
        if let Some(f) = self.fraction() {
            s.push_str(&format!(" ({:.0} %)", (f * 100.0).floor()));
        }
        if self.done {
            return s;
        }
        if let Some(r) = self.rate {
            s.push_str(&format!(
                ", {}",
                crate::checks::host::binary_units(r, &["B/s", "KiB/s", "MiB/s", "GiB/s"], false)
            ));
        }
        match self.eta() {
            Some(e) => s.push_str(&format!(", about {} left", super::job::span(e))),
            None => s.push_str(", time left unknown"),
        }
        if self.went_back {
            s.push_str(" (rsync recounted; the highest count is kept)");
        }
        s
    }
}
