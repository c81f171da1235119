//! Hardware checks (SPEC §4): SMART health of every disk, Linux software RAID.

use super::host::{
    DiskReading, ExecTiming, HostMemory, Remembered, duration, issue_check, recall, round1, seconds,
};
use super::{Check, State};
use crate::config::HostConfig;
use crate::probe::parse::mdstat::{MdArray, SyncKind, SyncState};
use crate::probe::parse::smart::{Counter, Skipped, SmartDevice, SmartReport, nvme_warnings};
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
        Ok(smart) => smart_checks(smart, timing, memory),
    };
    memory.last_smart = Some(Remembered {
        at: timing.first_byte,
        checks: checks.clone(),
    });
    checks
}

/// Said of devices that could not be opened for lack of rights.
const SUDO_HINT: &str = " (run as root or set [ssh] sudo)";

fn smart_checks(smart: &SmartReport, timing: &ExecTiming, memory: &mut HostMemory) -> Vec<Check> {
    let mut out: Vec<Check> = smart
        .devices
        .iter()
        .map(|d| disk(d, timing, memory))
        .collect();
    let push = |out: &mut Vec<Check>, c: Check| {
        if !out.iter().any(|o| o.id == c.id) {
            out.push(c);
        }
    };
    for s in &smart.skipped {
        for c in skipped(s, timing, memory) {
            push(&mut out, c);
        }
    }
    if smart.devices.is_empty() && smart.skipped.is_empty() {
        // Not one device could be opened: the user's rights, most likely. One check says so.
        if !smart.unopenable.is_empty() {
            let mut reasons: Vec<&str> = Vec::new();
            for u in &smart.unopenable {
                if !reasons.contains(&u.reason.as_str()) {
                    reasons.push(&u.reason);
                }
            }
            let hint = if smart.unopenable.iter().any(|u| u.denied()) {
                SUDO_HINT
            } else {
                ""
            };
            out.push(Check::unknown(
                "hardware.disk",
                format!(
                    "{} device(s) could not be opened: {}{hint}",
                    smart.unopenable.len(),
                    reasons.join(", ")
                ),
            ));
        }
        return out;
    }
    for u in &smart.unopenable {
        let hint = if u.denied() { SUDO_HINT } else { "" };
        push(
            &mut out,
            Check::unknown(
                format!("hardware.disk.{}", u.id()),
                format!("{}: could not be opened: {}{hint}", u.device, u.reason),
            ),
        );
    }
    out
}

/// How long ago a reading was, for people.
fn age(at: jiff::Timestamp, timing: &ExecTiming) -> String {
    duration(timing.now_s() - seconds(at))
}

/// A device the probe had no time left for: its last reading, dated, else UNKNOWN.
fn skipped(s: &Skipped, timing: &ExecTiming, memory: &HostMemory) -> Vec<Check> {
    const WHY: &str = "not read this time: SMART time budget spent";
    let id = format!("hardware.disk.{}", s.id());
    // The disks behind a RAID controller share its path: `bus/0` stands for `bus/0:megaraid,N`.
    let behind_controller = format!("{id}:");
    let remembered: Vec<Check> = memory
        .smart_readings
        .iter()
        .filter(|(k, _)| **k == id || k.starts_with(&behind_controller))
        .map(|(k, r)| {
            Check::new(
                k.clone(),
                r.state,
                format!(
                    "{}: {} (read {} ago; {WHY})",
                    r.name,
                    r.detail,
                    age(r.at, timing)
                ),
            )
        })
        .collect();
    if remembered.is_empty() {
        vec![Check::unknown(id, format!("{}: {WHY}", s.device))]
    } else {
        remembered
    }
}

fn disk(d: &SmartDevice, timing: &ExecTiming, memory: &mut HostMemory) -> Check {
    let id = format!("hardware.disk.{}", d.id());
    let name = d.model.clone().unwrap_or_else(|| d.device.clone());
    if let Some(mode) = &d.standby {
        // Left asleep on purpose (-n standby): not a failure, and no reason to wake it.
        let asleep = format!("asleep ({mode}), not woken");
        return match memory.smart_readings.get(&id) {
            // The last reading's verdict stands: a disk found failing is still failing asleep.
            Some(r) => Check::new(
                id,
                r.state,
                format!(
                    "{}: {asleep}; last read {} ago: {}",
                    r.name,
                    age(r.at, timing),
                    r.detail
                ),
            ),
            None => Check::new(id, State::Ok, format!("{name}: {asleep}")),
        };
    }
    if d.timed_out {
        return Check::unknown(id, format!("{name}: smartctl timed out"));
    }
    // A real reading: what a refresh that cannot read the disk will report instead.
    let remember = |memory: &mut HostMemory, state: State, detail: &str| {
        memory.smart_readings.insert(
            id.clone(),
            DiskReading {
                at: timing.first_byte,
                state,
                name: name.clone(),
                detail: detail.to_string(),
            },
        );
    };
    if d.smart_available == Some(false) {
        let detail = "no SMART on this device";
        remember(memory, State::Ok, detail);
        return Check::new(id, State::Ok, format!("{name}: {detail}"));
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
        .insert(key.clone(), d.counters.iter().copied().collect());
    if !rising.is_empty() {
        memory.smart_rises.insert(
            key.clone(),
            super::host::Rise {
                at: timing.first_byte,
                what: rising.join(", "),
            },
        );
    }
    // A rise seen in the last RISE_HOLD keeps the disk CRIT, even after a restart.
    let held = memory.smart_rises.get(&key).and_then(|r| {
        let ago = (timing.first_byte - r.at).as_secs();
        let hold = i64::try_from(super::host::RISE_HOLD.as_secs()).unwrap_or(i64::MAX);
        (0..hold).contains(&ago).then(|| {
            if rising.is_empty() {
                let ago = crate::backup::evaluate::human(ago.unsigned_abs());
                format!("{} (seen {ago} ago)", r.what)
            } else {
                r.what.clone()
            }
        })
    });
    if held.is_none() {
        memory.smart_rises.remove(&key);
    }

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
    if let Some(rise) = held {
        state = State::Crit;
        problems.push(rise);
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
    let mut detail = verdict;
    if !counters.is_empty() {
        detail.push_str("; ");
        detail.push_str(&counters.join(", "));
    }
    remember(memory, state, &detail);
    Check::new(id, state, format!("{name}: {detail}"))
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
    // The sync in words, "recovery 12.6 %, 2 h 45 min left", and its progress.
    let (sync_text, progress) = match &a.sync {
        None => (None, None),
        Some(sync) => {
            let kind = sync.kind.word();
            match &sync.state {
                SyncState::Running {
                    percent, finish, ..
                } => {
                    let pct = percent.map(|p| format!(" {p:.1} %")).unwrap_or_default();
                    let eta = finish
                        .as_deref()
                        .map(|f| format!(", {} left", eta(f)))
                        .unwrap_or_default();
                    (Some(format!("{kind}{pct}{eta}")), *percent)
                }
                SyncState::Delayed => (
                    Some(format!("{kind} delayed (waits for another array)")),
                    None,
                ),
                SyncState::Pending => (
                    Some(format!("{kind} pending (until the first write)")),
                    None,
                ),
            }
        }
    };
    let with_progress = |check: Check| match progress {
        Some(p) => check.with_value(round1(p), "%"),
        None => check,
    };
    // Degraded first (SPEC §4: degraded = CRIT): a rebuild running does not make the array
    // redundant again until it ends, and one more failure meanwhile loses it.
    if a.degraded() {
        let sync = sync_text.map(|t| format!(", {t}")).unwrap_or_default();
        return with_progress(Check::new(
            id,
            State::Crit,
            format!("{level} degraded{status}{sync}, {devices}{failed_text}"),
        ));
    }
    let checking = match &a.sync {
        Some(s) if s.kind == SyncKind::Check => match &s.state {
            SyncState::Running {
                percent: Some(p), ..
            } => format!(", check {p:.1} %"),
            SyncState::Running { .. } => ", check running".to_string(),
            _ => format!(", {}", sync_text.unwrap_or_default()),
        },
        Some(_) => {
            // A clean array resyncing (SPEC §4: resync = WARN).
            let sync = sync_text.unwrap_or_default();
            return with_progress(Check::new(
                id,
                State::Warn,
                format!("{level} {sync}{status}, {devices}{failed_text}"),
            ));
        }
        None => String::new(),
    };
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

#[cfg(test)]
#[path = "hardware_smart_tests.rs"]
mod smart_tests;
