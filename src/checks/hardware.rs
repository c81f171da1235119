//! Hardware checks (SPEC §4): SMART health of every disk, Linux software RAID.

use super::host::{ExecTiming, HostMemory, Remembered, issue_check, recall, round1};
use super::{Check, State};
use crate::config::HostConfig;
use crate::probe::parse::mdstat::{MdArray, SyncKind, SyncState};
use crate::probe::parse::smart::{Counter, SmartDevice, nvme_warnings};
use crate::probe::report::{ProbeReport, SectionIssue};

pub fn evaluate(
    _host: &HostConfig,
    report: &ProbeReport,
    timing: &ExecTiming,
    memory: &mut HostMemory,
) -> Vec<Check> {
    let mut out = disks(report, timing, memory);
    out.extend(raid(report));
    out
}

fn disks(report: &ProbeReport, timing: &ExecTiming, memory: &mut HostMemory) -> Vec<Check> {
    let checks: Vec<Check> = match &report.smart {
        Err(SectionIssue::NotRun) => return recall(&memory.last_smart, timing),
        Err(issue) => issue_check("hardware.disk", "smartctl", issue)
            .into_iter()
            .collect(),
        Ok(devices) => devices.iter().map(|d| disk(d, memory)).collect(),
    };
    memory.last_smart = Some(Remembered {
        at: timing.first_byte,
        checks: checks.clone(),
    });
    checks
}

fn disk(d: &SmartDevice, memory: &mut HostMemory) -> Check {
    let id = format!("hardware.disk.{}", d.id());
    let name = d.model.clone().unwrap_or_else(|| d.device.clone());
    if d.timed_out {
        return Check::unknown(id, format!("{name}: smartctl timed out"));
    }
    if d.smart_available == Some(false) {
        return Check::new(id, State::Ok, format!("{name}: no SMART on this device"));
    }
    if d.unreadable() {
        let why = d
            .messages
            .first()
            .cloned()
            .unwrap_or_else(|| match d.exit_status {
                Some(rc) => format!("smartctl exit {rc}"),
                None => "no output".to_string(),
            });
        return Check::unknown(id, format!("{name}: cannot read SMART: {why}"));
    }

    // Counters that rose since the last reading of the same disk.
    let key = d.serial.clone().unwrap_or_else(|| d.id());
    let previous = memory.smart_counters.get(&key);
    let rising: Vec<String> = d
        .counters
        .iter()
        .filter_map(|(c, now)| {
            let before = previous.and_then(|p| p.get(c)).copied()?;
            (*now > before).then(|| format!("{} rising {before} → {now}", c.label()))
        })
        .collect();
    memory
        .smart_counters
        .insert(key, d.counters.iter().copied().collect());

    let mut state = State::Ok;
    let mut problems: Vec<String> = Vec::new();
    if d.failing() {
        state = State::Crit;
        if d.passed == Some(false) || d.exit_status.is_some_and(|rc| rc & 0x08 != 0) {
            problems.push("FAILING (SMART health check failed)".into());
        }
        if !d.failing_attributes.is_empty() {
            problems.push(format!(
                "at threshold now: {}",
                d.failing_attributes.join(", ")
            ));
        }
        if let Some(w) = d.nvme_critical_warning.filter(|w| *w != 0) {
            problems.push(format!("critical warning: {}", nvme_warnings(w).join(", ")));
        }
        if problems.is_empty() {
            problems.push("FAILING (prefail attribute at threshold)".into());
        }
    }
    if !rising.is_empty() {
        state = State::Crit;
        problems.extend(rising);
    }
    // Pending or offline-uncorrectable sectors are data that cannot be read now.
    let unreadable_sectors = d.counter(Counter::Pending).unwrap_or(0)
        + d.counter(Counter::OfflineUncorrectable).unwrap_or(0);
    if unreadable_sectors > 0 && state == State::Ok {
        state = State::Warn;
        problems.push("unreadable sectors".into());
    }
    if d.failed_in_the_past() {
        problems.push("an attribute was at its threshold in the past".into());
    }
    let counters: Vec<String> = d
        .counters
        .iter()
        .map(|(c, v)| format!("{} {v}", c.label()))
        .collect();
    let verdict = if problems.is_empty() {
        "healthy".to_string()
    } else {
        problems.join(", ")
    };
    let mut summary = format!("{name}: {verdict}");
    if !counters.is_empty() {
        summary.push_str("; ");
        summary.push_str(&counters.join(", "));
    }
    Check::new(id, state, summary)
}

/// md's estimate ("164.5min") for people: "2 h 44 min".
fn eta(finish: &str) -> String {
    match finish
        .strip_suffix("min")
        .and_then(|m| m.parse::<f64>().ok())
    {
        Some(m) if m.is_finite() && (0.0..1e7).contains(&m) => {
            let m = m.round() as u64;
            if m < 120 {
                format!("{m} min")
            } else {
                format!("{} h {:02} min", m / 60, m % 60)
            }
        }
        _ => finish.to_string(),
    }
}

fn raid(report: &ProbeReport) -> Vec<Check> {
    match &report.mdstat {
        Ok(arrays) => arrays.iter().map(array).collect(),
        Err(issue) => issue_check("hardware.raid", "mdstat", issue)
            .into_iter()
            .collect(),
    }
}

fn array(a: &MdArray) -> Check {
    let id = format!("hardware.raid.{}", a.name);
    let level = a.level.as_deref().unwrap_or("array");
    let status = a
        .status
        .as_deref()
        .map(|s| format!(" [{s}]"))
        .unwrap_or_default();
    let failed = a.failed_members();
    let failed_text = if failed.is_empty() {
        String::new()
    } else {
        format!(", failed: {}", failed.join(" "))
    };
    let devices = match a.disks {
        Some((n, m)) => format!("{m}/{n} devices up"),
        None => format!("{} devices", a.members.iter().filter(|m| !m.spare).count()),
    };
    if a.container {
        return Check::new(
            id,
            State::Ok,
            format!("container of {} devices", a.members.len()),
        );
    }
    if !a.active {
        let members: Vec<&str> = a.members.iter().map(|m| m.name.as_str()).collect();
        return Check::new(id, State::Crit, format!("inactive ({})", members.join(" ")));
    }
    if let Some(sync) = &a.sync {
        let kind = sync.kind.word();
        match (&sync.state, sync.kind) {
            (SyncState::Running { .. }, SyncKind::Check) => {}
            (
                SyncState::Running {
                    percent, finish, ..
                },
                _,
            ) => {
                let pct = percent.map(|p| format!(" {p:.1} %")).unwrap_or_default();
                let eta = finish
                    .as_deref()
                    .map(|f| format!(", {} left", eta(f)))
                    .unwrap_or_default();
                let check = Check::new(
                    id,
                    State::Warn,
                    format!("{level} {kind}{pct}{eta}{status}, {devices}{failed_text}"),
                );
                return match percent {
                    Some(p) => check.with_value(round1(*p), "%"),
                    None => check,
                };
            }
            (SyncState::Delayed, _) => {
                return Check::new(
                    id,
                    State::Warn,
                    format!(
                        "{level} {kind} delayed (waits for another array){status}, {devices}{failed_text}"
                    ),
                );
            }
            (SyncState::Pending, _) => {
                return Check::new(
                    id,
                    State::Warn,
                    format!(
                        "{level} {kind} pending (until the first write){status}, {devices}{failed_text}"
                    ),
                );
            }
        }
    }
    let checking = match &a.sync {
        Some(s) => match &s.state {
            SyncState::Running {
                percent: Some(p), ..
            } => format!(", check {p:.1} %"),
            _ => ", check running".to_string(),
        },
        None => String::new(),
    };
    if a.degraded() {
        return Check::new(
            id,
            State::Crit,
            format!("{level} degraded{status}, {devices}{failed_text}{checking}"),
        );
    }
    if !failed.is_empty() {
        // Every slot is working (a spare took over), but a failed device is still attached;
        // for RAID 0 and linear arrays a failed device is the loss of the array.
        let state = if matches!(level, "raid0" | "linear") {
            State::Crit
        } else {
            State::Warn
        };
        return Check::new(
            id,
            state,
            format!("{level}{status}, {devices}{failed_text}{checking}"),
        );
    }
    let spares = match a.spares() {
        0 => String::new(),
        1 => ", 1 spare".to_string(),
        n => format!(", {n} spares"),
    };
    Check::new(
        id,
        State::Ok,
        format!("{level}{status}, {devices}{spares}{checking}"),
    )
}

#[cfg(test)]
#[path = "hardware_tests.rs"]
mod tests;
