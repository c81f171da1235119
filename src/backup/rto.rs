//! The restore-time estimate (RTO, SPEC §5): the bytes of the newest backup over the
//! throughput between the backup farm and the DRP server, plus the database import, against
//! the site's own estimate of 2 to 3 hours. Pure.

use serde::Serialize;

use super::evaluate::{DatasetReport, human};
use crate::checks::{Check, State};

/// The site's estimate: 2 to 3 hours (quality policy, "Activation method").
pub const SITE_LOW_S: u64 = 2 * 3600;
pub const SITE_HIGH_S: u64 = 3 * 3600;

/// How long the import takes after the copy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Import {
    /// Nothing to import (files and configurations).
    None,
    /// A known or configured import time, in seconds.
    Seconds(f64),
    /// The import's own throughput in bytes per second (of the backup's size).
    Throughput(f64),
    /// A database import whose time is not known yet (no import measured).
    Unknown,
}

/// A restore-time estimate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RtoEstimate {
    pub bytes: Option<u64>,
    /// Copy time, import time and their sum, in whole seconds (rounded up); `None` when the
    /// inputs do not allow an estimate.
    pub copy_s: Option<u64>,
    pub import_s: Option<u64>,
    pub total_s: Option<u64>,
    /// OK within the site's 3 h, WARN beyond, UNKNOWN without an estimate.
    pub state: State,
    pub summary: String,
}

impl RtoEstimate {
    /// As a check with the given id (value: total seconds).
    pub fn check(&self, id: impl Into<String>) -> Check {
        let c = Check::new(id, self.state, self.summary.clone());
        match self.total_s {
            Some(t) => c.with_value(t as f64, "s"),
            None => c,
        }
    }
}

/// Whole seconds, rounded up; an overflowing quotient (+∞) saturates. NaN and negatives
/// are refused.
fn seconds(v: f64) -> Option<u64> {
    (v >= 0.0).then(|| v.ceil() as u64)
}

fn rate(bytes_per_s: f64) -> String {
    crate::checks::host::binary_units(bytes_per_s, &["B/s", "KiB/s", "MiB/s", "GiB/s"], true)
}

fn size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else {
        crate::checks::host::size_kib(bytes / 1024)
    }
}

/// Estimates the restore time of `bytes` copied at `throughput` bytes per second (measured
/// or configured), plus `import`.
pub fn estimate(bytes: Option<u64>, throughput: f64, import: Import) -> RtoEstimate {
    let unknown = |why: String| RtoEstimate {
        bytes,
        copy_s: None,
        import_s: None,
        total_s: None,
        state: State::Unknown,
        summary: why,
    };
    let Some(b) = bytes else {
        return unknown("restore time unknown: size of the newest backup unknown".into());
    };
    if !(throughput.is_finite() && throughput > 0.0) {
        return unknown("restore time unknown: no throughput to the DRP server".into());
    }
    let copy = seconds(b as f64 / throughput);
    if import == Import::Unknown {
        return RtoEstimate {
            bytes,
            copy_s: copy,
            import_s: None,
            total_s: None,
            state: State::Unknown,
            summary: format!(
                "copy {} at {}: {} + database import (not measured yet)",
                size(b),
                rate(throughput),
                copy.map(human).unwrap_or_else(|| "?".into())
            ),
        };
    }
    let import_s = match import {
        Import::Unknown => None,
        Import::None => Some(0),
        Import::Seconds(s) if s.is_finite() => seconds(s),
        Import::Seconds(_) => None,
        Import::Throughput(t) if t.is_finite() && t > 0.0 => seconds(b as f64 / t),
        Import::Throughput(_) => None,
    };
    let (Some(copy_s), Some(import_s)) = (copy, import_s) else {
        return unknown("restore time unknown: no usable import time".into());
    };
    let total = copy_s.saturating_add(import_s);
    let parts = match import {
        Import::None => format!("{} at {}", size(b), rate(throughput)),
        _ => format!(
            "copy {} at {} ({}) + import {}",
            size(b),
            rate(throughput),
            human(copy_s),
            human(import_s)
        ),
    };
    let (state, against) = if total > SITE_HIGH_S {
        (State::Warn, "over the site's 2 to 3 h")
    } else {
        (State::Ok, "site estimate 2 to 3 h")
    };
    RtoEstimate {
        bytes,
        copy_s: Some(copy_s),
        import_s: Some(import_s),
        total_s: Some(total),
        state,
        summary: format!("restore in about {}: {parts}; {against}", human(total)),
    }
}

/// The estimate for a dataset's newest backup.
pub fn estimate_dataset(report: &DatasetReport, throughput: f64, import: Import) -> RtoEstimate {
    estimate(
        report.newest.as_ref().and_then(|n| n.bytes),
        throughput,
        import,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: f64 = 1024.0 * 1024.0;
    const GIB: u64 = 1024 * 1024 * 1024;

    #[test]
    fn within_the_site_estimate() {
        // 100 GiB at 20 MiB/s: 5120 s, plus a 30 min import.
        let e = estimate(Some(100 * GIB), 20.0 * MIB, Import::Seconds(1800.0));
        assert_eq!(e.copy_s, Some(5120));
        assert_eq!(e.import_s, Some(1800));
        assert_eq!(e.total_s, Some(6920));
        assert_eq!(e.state, State::Ok);
        assert_eq!(
            e.summary,
            "restore in about 1 h 55 min: copy 100 GiB at 20.0 MiB/s (1 h 25 min) + import \
             30 min; site estimate 2 to 3 h"
        );
        let c = e.check("backup.files.rto");
        assert_eq!((c.value, c.unit), (Some(6920.0), Some("s")));
    }

    #[test]
    fn over_three_hours_warns() {
        let e = estimate(Some(500 * GIB), 40.0 * MIB, Import::None);
        assert_eq!(e.total_s, Some(12_800));
        assert_eq!(e.state, State::Warn);
        assert_eq!(
            e.summary,
            "restore in about 3 h 33 min: 500 GiB at 40.0 MiB/s; over the site's 2 to 3 h"
        );
        // Exactly 3 h is still within.
        let e = estimate(Some(10_800), 1.0, Import::None);
        assert_eq!(e.state, State::Ok);
    }

    #[test]
    fn an_unmeasured_import_leaves_the_total_unknown() {
        let e = estimate(Some(10 * GIB), 100.0 * MIB, Import::Unknown);
        assert_eq!((e.copy_s, e.import_s, e.total_s), (Some(103), None, None));
        assert_eq!(e.state, State::Unknown);
        assert_eq!(
            e.summary,
            "copy 10.0 GiB at 100 MiB/s: 103 s + database import (not measured yet)"
        );
    }

    #[test]
    fn import_by_throughput() {
        let e = estimate(Some(10 * GIB), 100.0 * MIB, Import::Throughput(10.0 * MIB));
        assert_eq!(e.copy_s, Some(103));
        assert_eq!(e.import_s, Some(1024));
        assert_eq!(e.state, State::Ok);
    }

    #[test]
    fn unusable_inputs_are_unknown() {
        for (bytes, tp, imp) in [
            (None, MIB, Import::None),
            (Some(GIB), 0.0, Import::None),
            (Some(GIB), f64::NAN, Import::None),
            (Some(GIB), -1.0, Import::None),
            (Some(GIB), MIB, Import::Seconds(f64::INFINITY)),
            (Some(GIB), MIB, Import::Seconds(-5.0)),
            (Some(GIB), MIB, Import::Throughput(0.0)),
        ] {
            let e = estimate(bytes, tp, imp);
            assert_eq!(e.state, State::Unknown, "{bytes:?} {tp} {imp:?}");
            assert_eq!(e.total_s, None);
            assert!(e.check("x").value.is_none());
        }
        // Absurd but valid inputs saturate rather than panic.
        let e = estimate(Some(u64::MAX), f64::MIN_POSITIVE, Import::Seconds(f64::MAX));
        assert_eq!(e.total_s, Some(u64::MAX));
        assert_eq!(e.state, State::Warn);
    }
}
