//! `[thresholds]` (global and per host): levels as written, checked, then merged into the
//! [`Thresholds`] a host uses (host > global > built-in default, per field).

use super::error::Problems;
use super::fields::range;
use super::raw::{RawLevels, RawThresholds};
use super::{Levels, Thresholds};
use crate::checks::range::Range;
use std::collections::{BTreeMap, HashMap};
use std::ops::Range as Span;

/// Levels as written: `None` = not set here (inherit), `Some(None)` = "none".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(super) struct PartialLevels {
    warn: Option<Option<Range>>,
    crit: Option<Option<Range>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct PartialThresholds {
    partition: PartialLevels,
    inodes: PartialLevels,
    load: PartialLevels,
    cpu: PartialLevels,
    memory: PartialLevels,
    swap: PartialLevels,
    time_drift: PartialLevels,
    mounts: BTreeMap<String, PartialLevels>,
}

fn check_levels(
    raw: Option<super::values::TableOf<RawLevels>>,
    measure: &str,
    p: &mut Problems,
) -> PartialLevels {
    let Some(raw) = raw else {
        return PartialLevels::default();
    };
    PartialLevels {
        warn: range(&raw.0.warn, &format!("{measure}.warn"), p),
        crit: range(&raw.0.crit, &format!("{measure}.crit"), p),
    }
}

pub(super) fn check_thresholds(raw: RawThresholds, p: &mut Problems) -> PartialThresholds {
    let mut mounts = BTreeMap::new();
    let mut seen: HashMap<String, Span<usize>> = HashMap::new();
    for (mount, levels) in raw.mounts.map(|m| m.0).unwrap_or_default() {
        let text = mount.get_ref();
        let normal = match text.trim_end_matches('/') {
            "" => "/".to_string(),
            t => t.to_string(),
        };
        if !text.starts_with('/') {
            p.at(
                mount.span(),
                format!("mount point {text:?} must be an absolute path, e.g. \"/var/backups\""),
            );
        } else if let Some(first) = seen.get(&normal) {
            let line = p.line_of(first);
            p.at(
                mount.span(),
                format!("mount point {text:?} is already set on line {line}"),
            );
        }
        seen.insert(normal.clone(), mount.span());
        let measure = format!("mounts.{text:?}");
        mounts.insert(normal, check_levels(Some(levels), &measure, p));
    }
    PartialThresholds {
        partition: check_levels(raw.partition, "partition", p),
        inodes: check_levels(raw.inodes, "inodes", p),
        load: check_levels(raw.load, "load", p),
        cpu: check_levels(raw.cpu, "cpu", p),
        memory: check_levels(raw.memory, "memory", p),
        swap: check_levels(raw.swap, "swap", p),
        time_drift: check_levels(raw.time_drift, "time_drift", p),
        mounts,
    }
}

/// host > global > built-in default, per field (warn and crit separately); a mount's levels
/// fall back to the resolved `partition` levels.
pub(super) fn merge_thresholds(host: &PartialThresholds, global: &PartialThresholds) -> Thresholds {
    let d = Thresholds::default();
    let pick = |h: &PartialLevels, g: &PartialLevels, d: &Levels| Levels {
        warn: h.warn.or(g.warn).unwrap_or(d.warn),
        crit: h.crit.or(g.crit).unwrap_or(d.crit),
    };
    let partition = pick(&host.partition, &global.partition, &d.partition);
    let mut mounts = BTreeMap::new();
    for m in global.mounts.keys().chain(host.mounts.keys()) {
        let none = PartialLevels::default();
        let h = host.mounts.get(m).unwrap_or(&none);
        let g = global.mounts.get(m).unwrap_or(&none);
        mounts.insert(m.clone(), pick(h, g, &partition));
    }
    Thresholds {
        partition,
        inodes: pick(&host.inodes, &global.inodes, &d.inodes),
        load: pick(&host.load, &global.load, &d.load),
        cpu: pick(&host.cpu, &global.cpu, &d.cpu),
        memory: pick(&host.memory, &global.memory, &d.memory),
        swap: pick(&host.swap, &global.swap, &d.swap),
        time_drift: pick(&host.time_drift, &global.time_drift, &d.time_drift),
        mounts,
    }
}

#[cfg(test)]
#[path = "thresholds_tests.rs"]
mod tests;
