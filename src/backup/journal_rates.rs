//! What past DRP runs measured for the restore-time estimate (SPEC §5: "the measured
//! throughput"): a real copy from a backup server to the DRP server is the best measurement
//! there is — the same data, the same path, the same rsync — and a real database import
//! says how long the next one takes. Both are read from the journal. Pure.
//!
//! Only what reflects a restore counts: a copy step that ended DONE without being resumed
//! (a resumed step's times span the gap), going to the DRP server, whose preview moved at
//! least [`MIN_COPY_BYTES`] (a small copy is all set-up and dry runs, and would make the
//! estimate absurdly long) in new files only (an update travels as a delta); an import that
//! ended DONE without being resumed.

use super::throughput::{Measurement, Measurements};
use crate::config::Config;
use crate::drp::journal::{Event, EventKind, StepState};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Below this, a copy says more about rsync's start-up than about the link.
pub const MIN_COPY_BYTES: u64 = 64 * 1024 * 1024;

/// How long a dataset's last real import took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportTime {
    pub seconds: f64,
    /// When it ended, and in which run.
    pub at: Timestamp,
    pub run: String,
}

/// `host:/path` → (host, path); `None` for anything else.
fn host_path(s: &str) -> Option<(&str, &str)> {
    let (h, p) = s.split_once(':')?;
    (!h.is_empty() && p.starts_with('/')).then_some((h, p))
}

/// The dataset a source path belongs to: the copy on that host whose directory holds it.
fn dataset_of<'a>(config: &'a Config, host: &str, path: &str) -> Option<&'a str> {
    config.datasets.iter().find_map(|ds| {
        ds.copies
            .iter()
            .any(|c| {
                let dir = c.path.trim_end_matches('/');
                c.host == host
                    && path
                        .strip_prefix(dir)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
            .then_some(ds.name.as_str())
    })
}

/// The step's duration from its DONE event, when whole (ended after it started).
fn duration(e: &Event) -> Option<f64> {
    let (a, b) = (e.started_at?, e.ended_at.unwrap_or(e.at));
    let s = b.duration_since(a).as_secs_f64();
    (s.is_finite() && s > 0.0).then_some(s)
}

/// The bytes a copy sent whole: only a copy whose every transferred file was new on the
/// target counts (rsync sends an updated file as a delta, much smaller than its size, which
/// would make the path look faster than a restore onto an empty server is).
fn preview_bytes(e: &Event) -> Option<u64> {
    let p = e.extra.get("preview")?;
    let field = |k: &str| p.get(k).and_then(serde_json::Value::as_u64);
    let new_files = field("created")?.checked_sub(field("created_dirs")?)?;
    (new_files >= field("files")?).then(|| field("bytes"))?
}

/// What the journal's runs measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalRates {
    /// Real copies from a backup server to the DRP server, oldest first.
    pub copies: Vec<Measurement>,
    /// The last real import of each dataset.
    pub imports: BTreeMap<String, ImportTime>,
}

/// The copies to the DRP server and the imports, read from `events` (oldest first).
pub fn read(config: &Config, events: &[Event]) -> JournalRates {
    let Some(drp) = config.drp.as_ref().map(|d| d.drp.as_str()) else {
        return JournalRates::default();
    };
    // Steps that were resumed at some point: their DONE times span the interruption.
    let resumed: BTreeSet<(&str, usize)> = events
        .iter()
        .filter(|e| e.extra.get("resumed").and_then(|v| v.as_bool()) == Some(true))
        .filter_map(|e| Some((e.run.as_str(), e.step?)))
        .collect();
    let mut copies = Vec::new();
    let mut imports = BTreeMap::new();
    for e in events {
        let Some(n) = e.step else { continue };
        if e.event != EventKind::Step
            || e.state != StepState::Done
            || resumed.contains(&(e.run.as_str(), n))
        {
            continue;
        }
        let Some((from, path)) = e.source.as_deref().and_then(host_path) else {
            continue;
        };
        let to = e
            .target
            .as_deref()
            .map(|t| t.split(':').next().unwrap_or(t));
        let Some(seconds) = duration(e) else { continue };
        let at = e.ended_at.unwrap_or(e.at);
        match e.kind.as_deref() {
            Some("copy") if to == Some(drp) => {
                let Some(bytes) = preview_bytes(e).filter(|b| *b >= MIN_COPY_BYTES) else {
                    continue;
                };
                copies.push(Measurement {
                    from: from.to_string(),
                    to: drp.to_string(),
                    bytes,
                    seconds,
                    at,
                    run: Some(e.run.clone()),
                });
            }
            Some("db_import") => {
                if let Some(ds) = dataset_of(config, from, path) {
                    imports.insert(
                        ds.to_string(),
                        ImportTime {
                            seconds,
                            at,
                            run: e.run.clone(),
                        },
                    );
                }
            }
            _ => {}
        }
    }
    JournalRates { copies, imports }
}

impl Measurements {
    /// These measurements with what the journal adds: for each backup server, the newer of
    /// the timed transfer and the last real copy; for each dataset, its last import.
    pub fn with_journal(&self, rates: &JournalRates) -> Measurements {
        let mut out = self.clone();
        for m in rates.copies.iter().cloned() {
            match out.by_host.get(&m.from) {
                Some(kept) if kept.at >= m.at => {}
                _ => {
                    out.by_host.insert(m.from.clone(), m);
                }
            }
        }
        for (ds, i) in &rates.imports {
            match out.imports.get(ds) {
                Some(kept) if kept.at >= i.at => {}
                _ => {
                    out.imports.insert(ds.clone(), i.clone());
                }
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "journal_rates_tests.rs"]
mod tests;
