//! Reading what db_import.sh prints (its job's output, and the answer of its `check`): the
//! phase it reached, the dump it fetched, the capture time, the verify answer and the mark it
//! left in the database. Pure; never panics on any input.
//!
//! Only lines that start with [`MARKER`] are the script's own; the tools' output is indented
//! by the script, so a dump or a database value can never pass for one of them. What the
//! final result says comes from the mark, read back from the database at the end.

use super::clock::{ArchiveFacts, ClockCapture};
use crate::probe::parse::clean;
use serde::{Deserialize, Serialize};

/// The first word of every line the script prints itself.
pub const MARKER: &str = "VIGIE_IMPORT";

/// Where an import stands (in the order it goes through them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportPhase {
    Fetching,
    Restoring,
    Verifying,
    Switching,
    Done,
}

impl ImportPhase {
    pub fn word(self) -> &'static str {
        match self {
            ImportPhase::Fetching => "fetching",
            ImportPhase::Restoring => "restoring",
            ImportPhase::Verifying => "verifying",
            ImportPhase::Switching => "switching",
            ImportPhase::Done => "done",
        }
    }

    fn parse(s: &str) -> Option<ImportPhase> {
        [
            ImportPhase::Fetching,
            ImportPhase::Restoring,
            ImportPhase::Verifying,
            ImportPhase::Switching,
            ImportPhase::Done,
        ]
        .into_iter()
        .find(|p| p.word() == s)
    }
}

/// Where the capture time of the imported data comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptureSource {
    /// The pg_dump archive's own header (when the dump started: its wall clock, read in the
    /// zone db_import_clock.rs decides).
    Archive,
    /// The backup as the plan read it on its server (the dataset's capture time).
    Backup,
    /// Neither: the data's age is not known.
    Unknown,
}

impl CaptureSource {
    pub fn word(self) -> &'static str {
        match self {
            CaptureSource::Archive => "archive",
            CaptureSource::Backup => "backup",
            CaptureSource::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> CaptureSource {
        match s {
            "archive" => CaptureSource::Archive,
            "backup" => CaptureSource::Backup,
            _ => CaptureSource::Unknown,
        }
    }
}

/// The mark an import leaves on the database it restored (PostgreSQL: its comment; MySQL:
/// its table `vigie_import`): "vigie-import run=R state=S captured_at=T captured_by=B
/// sha256=H", for a pg_dump archive followed by what its header said ("clock=… header=…
/// mtime=… zones=…", see [`ArchiveFacts`]: then `captured_at` is only the plan's, the
/// fallback), then, once verified, a line "verify: " and the verify query's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub run: String,
    /// `restored`, then `verified`.
    pub state: String,
    pub captured_at: Option<jiff::Timestamp>,
    pub captured_by: CaptureSource,
    pub sha256: Option<String>,
    /// The verify query's answer (sanitised, at most 2000 bytes as stored).
    pub verify: Option<String>,
    /// What a pg_dump archive's header said (its capture time is decided from it).
    pub archive: Option<ArchiveFacts>,
}

impl Mark {
    pub fn is_verified(&self) -> bool {
        self.state == "verified"
    }
}

/// Reads a mark; `None` when the text is not one.
pub fn parse_mark(text: &str) -> Option<Mark> {
    let (head, rest) = match text.split_once('\n') {
        Some((h, r)) => (h, Some(r)),
        None => (text, None),
    };
    let fields = head.strip_prefix("vigie-import ")?;
    let get = |k: &str| {
        fields
            .split(' ')
            .find_map(|kv| kv.strip_prefix(k)?.strip_prefix('='))
            .filter(|v| !v.is_empty() && *v != "-")
    };
    let run = get("run")?;
    let state = get("state")?;
    let verify = rest
        .and_then(|r| {
            r.strip_prefix("verify: ")
                .or_else(|| r.strip_prefix("verify:"))
        })
        // MySQL's batch mode writes the answer's line ends as "\n".
        .map(|v| clean(&v.replace("\\n", "\n").replace("\\t", " "), 2000));
    Some(Mark {
        run: clean(run, 100),
        state: clean(state, 20),
        captured_at: get("captured_at").and_then(|t| t.parse().ok()),
        captured_by: get("captured_by").map_or(CaptureSource::Unknown, CaptureSource::parse),
        sha256: get("sha256")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase),
        verify,
        archive: ArchiveFacts::parse(fields),
    })
}

/// Hex (either case) to text; `None` when it is not hex.
pub fn unhex(s: &str) -> Option<String> {
    let s = s.trim();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = s
        .as_bytes()
        .chunks(2)
        .map(|p| {
            let hi = (*p.first()? as char).to_digit(16)?;
            let lo = (*p.get(1)? as char).to_digit(16)?;
            u8::try_from(hi * 16 + lo).ok()
        })
        .collect();
    Some(String::from_utf8_lossy(&bytes?).into_owned())
}

/// Everything the script said, read from its output (a job's, or a check's).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportLog {
    /// The last phase it announced.
    pub phase: Option<ImportPhase>,
    pub sha256: Option<String>,
    pub bytes: Option<u64>,
    /// `custom`, `gzip` or `plain`.
    pub format: Option<String>,
    pub captured_at: Option<jiff::Timestamp>,
    pub captured_by: Option<CaptureSource>,
    /// What a pg_dump archive's header said (the `capture` line), and where in `lines` the
    /// capture time decided from it goes ([`capture_line`]).
    pub archive: Option<ArchiveFacts>,
    pub archive_line: Option<usize>,
    /// The verify query's answer, line by line (at most 20 lines).
    pub verify: Vec<String>,
    /// What it restored into, or switched (the live name).
    pub database: Option<String>,
    pub previous: Option<String>,
    /// The mark of `database`, read back at the end.
    pub mark: Option<Mark>,
    /// A check's state of the live (or drill) database: absent, other, ours-restored,
    /// ours-verified.
    pub live: Option<String>,
    /// The script's own error, when it stopped on one.
    pub error: Option<String>,
    /// Every line, for the operator (see [`human_line`]).
    pub lines: Vec<String>,
}

/// Reads the script's output.
pub fn parse_log(text: &str) -> ImportLog {
    let mut log = ImportLog::default();
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(h) = human_line(line) {
            log.lines.push(h);
        }
        let Some(rest) = line.strip_prefix(MARKER).and_then(|r| r.strip_prefix(' ')) else {
            continue;
        };
        let (word, value) = rest.split_once(' ').unwrap_or((rest, ""));
        match word {
            "phase" => {
                if let Some(p) = ImportPhase::parse(value.trim()) {
                    log.phase = Some(p);
                }
            }
            "fetched" => {
                let mut it = value.split_whitespace();
                log.sha256 = it
                    .next()
                    .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .map(str::to_ascii_lowercase);
                log.bytes = it.next().and_then(|n| n.parse().ok());
            }
            "format" => log.format = Some(clean(value, 20)),
            "captured_at" => {
                let mut it = value.split_whitespace();
                log.captured_at = it.next().and_then(|t| t.parse().ok());
                log.captured_by = Some(
                    it.next()
                        .map_or(CaptureSource::Unknown, CaptureSource::parse),
                );
            }
            "capture" => {
                log.archive = ArchiveFacts::parse(value);
                log.archive_line = Some(log.lines.len());
            }
            "verify" if log.verify.len() < 20 => log.verify.push(clean(value, 500)),
            "database" => log.database = Some(clean(value, 100)),
            "previous" => {
                log.previous = Some(value.trim())
                    .filter(|v| !v.is_empty() && *v != "-")
                    .map(|v| clean(v, 100))
            }
            "mark" => log.mark = unhex(value).as_deref().and_then(parse_mark),
            "live" => log.live = Some(clean(value, 40)),
            "error" => log.error = Some(clean(value, 500)),
            _ => {}
        }
    }
    log
}

/// One output line as the operator reads it, or `None` for the script's machine lines
/// (the mark, the final names). Tool output keeps its indentation; all of it is sanitised.
pub fn human_line(line: &str) -> Option<String> {
    let Some(rest) = line.strip_prefix(MARKER).and_then(|r| r.strip_prefix(' ')) else {
        return Some(format!("  {}", clean(line, 300)));
    };
    let (word, value) = rest.split_once(' ').unwrap_or((rest, ""));
    let value = clean(value, 300);
    Some(match word {
        "phase" => match ImportPhase::parse(&value) {
            Some(ImportPhase::Fetching) => "Fetching the dump".into(),
            Some(ImportPhase::Restoring) => "Restoring".into(),
            Some(ImportPhase::Verifying) => "Verifying".into(),
            Some(ImportPhase::Switching) => "Switching to the restored database".into(),
            Some(ImportPhase::Done) => "Done".into(),
            None => format!("phase {value}"),
        },
        "fetch" => match value.rsplit_once(' ') {
            Some((what, n)) => format!("copying {what} ({n} bytes)"),
            None => format!("copying {value}"),
        },
        "fetched" => match value.split_once(' ') {
            Some((sum, n)) => format!(
                "{n} bytes, sha256 {}… equal to the original's",
                sum.get(..12).unwrap_or(sum)
            ),
            None => format!("fetched {value}"),
        },
        "format" => match value.as_str() {
            "custom" => "a pg_dump custom archive".into(),
            "gzip" => "a gzip-compressed SQL dump".into(),
            "plain" => "a plain SQL dump".into(),
            other => format!("format {other}"),
        },
        "archive" => format!("archive: {value}"),
        "captured_at" => {
            let mut it = value.split(' ');
            let at = it.next().unwrap_or("-");
            match it.next() {
                Some("archive") => format!("data captured at {at} (the dump's own header)"),
                Some("backup") => format!("data captured at {at} (as the backup server lists it)"),
                _ => "the capture time of the data is not known".into(),
            }
        }
        "restored" => format!("restored into {value}"),
        "verify" => format!("verify: {value}"),
        "note" => value,
        "error" => format!("error: {value}"),
        // The capture time decided from an archive takes its place (see `archive_line`).
        "database" | "previous" | "mark" | "live" | "new" | "capture" => return None,
        _ => format!("{word} {value}"),
    })
}

/// The operator's line for a capture time decided from an archive's header.
pub fn capture_line(c: &ClockCapture) -> String {
    let at = |t: &jiff::Timestamp| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string();
    clean(
        &match (&c.at, c.by) {
            (Some(t), CaptureSource::Archive) => format!("data captured at {}: {}", at(t), c.note),
            (Some(t), _) => format!(
                "data captured at {} (as the backup server lists it): {}",
                at(t),
                c.note
            ),
            (None, _) => format!("the capture time of the data is not known: {}", c.note),
        },
        600,
    )
}
