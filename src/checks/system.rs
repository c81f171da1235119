//! System checks (SPEC §4): partitions, inodes, quotas, load, CPU, memory, swap, time drift,
//! uptime and configured processes. Quotas are evaluated in `checks::quota`.

use super::host::{
    ExecTiming, HostMemory, count, duration, issue_check, level, round1, size_kib, unknown,
};
use super::quota::quotas;
use super::{Check, State};
use crate::config::{HostConfig, Levels, Thresholds};
use crate::probe::parse::cpu;
use crate::probe::parse::procs;
use crate::probe::parse::timesync::TimeSync;
use crate::probe::report::ProbeReport;

pub fn evaluate(
    host: &HostConfig,
    report: &ProbeReport,
    timing: &ExecTiming,
    memory: &mut HostMemory,
) -> Vec<Check> {
    let t = &host.thresholds;
    let mut out = vec![
        uptime(report, memory),
        time_drift(&t.time_drift, report, timing),
        load(&t.load, report),
        cpu(&t.cpu, report, memory),
    ];
    out.extend(memory_and_swap(t, report));
    out.extend(partitions(t, report));
    out.extend(quotas(report, timing, memory));
    out.extend(processes(host, report));
    out
}

fn uptime(report: &ProbeReport, memory: &mut HostMemory) -> Check {
    const ID: &str = "system.uptime";
    let u = match &report.uptime {
        Ok(u) => u,
        Err(issue) => return unknown(ID, "uptime", issue),
    };
    let rebooted = memory.uptime.as_ref().is_some_and(|prev| {
        let new_boot = matches!((&prev.boot_id, &u.boot_id), (Some(a), Some(b)) if a != b);
        new_boot || u.seconds + 1.0 < prev.seconds
    });
    memory.uptime = Some(u.clone());
    let up = format!("up {}", duration(u.seconds));
    let check = if rebooted {
        Check::new(
            ID,
            State::Warn,
            format!("rebooted since last refresh ({up})"),
        )
    } else {
        Check::new(ID, State::Ok, up)
    };
    check.with_value(u.seconds.round(), "s")
}

fn time_drift(levels: &Levels, report: &ProbeReport, timing: &ExecTiming) -> Check {
    const ID: &str = "system.time_drift";
    let clock = match &report.clock {
        Ok(c) => c,
        Err(issue) => return unknown(ID, "clock", issue),
    };
    let mut drift_ms = (clock.epoch_s - timing.midpoint_s()) * 1000.0;
    // A clock read to the second only is, on average, half a second behind: the estimate
    // shown is corrected by that half.
    let slack_ms = if clock.subsecond { 0.0 } else { 500.0 };
    drift_ms += slack_ms;
    // `+ 0.0` turns a rounded -0 into 0, so a perfect clock does not read "-0 ms".
    let drift_ms = drift_ms.round() + 0.0;
    // The remote clock was read somewhere in a window before its line arrived (and, without
    // %N, anywhere in the second it names): alert only on the offset that is certain
    // whatever the moment was, so a slow link makes the reading vaguer, never a false alarm.
    // The clock line is printed as soon as `date` returns, so it was read at most one round
    // trip (plus a little scheduling slack) before it arrived — never before the exec was
    // sent. A slow shell start-up therefore does not widen the window.
    const SLACK_S: f64 = 0.1;
    let sent_s = (timing.sent.as_nanosecond() as f64 / 1e9)
        .max(timing.now_s() - timing.round_trip.as_secs_f64() - SLACK_S);
    let span_s = if clock.subsecond { 0.0 } else { 1.0 };
    let lo_ms = (clock.epoch_s - timing.now_s()) * 1000.0;
    let hi_ms = (clock.epoch_s + span_s - sent_s) * 1000.0;
    let certain_ms = if lo_ms <= 0.0 && hi_ms >= 0.0 {
        0.0
    } else {
        lo_ms.abs().min(hi_ms.abs())
    };
    let mut state = level(levels, certain_ms);
    let sync = match &report.timesync {
        Ok(TimeSync {
            synchronised: Some(true),
            source,
            ..
        }) => format!("synchronised ({source})"),
        Ok(TimeSync {
            synchronised: Some(false),
            source,
            ..
        }) => {
            state = state.worst(State::Warn);
            format!("not synchronised ({source})")
        }
        Ok(TimeSync {
            synchronised: None,
            source,
            ..
        }) => format!("sync status unknown ({source})"),
        Err(issue) => format!("sync status unknown: {issue}"),
    };
    let precision = if clock.subsecond {
        ""
    } else {
        " ±500 ms (no sub-second clock on the host)"
    };
    Check::new(ID, state, format!("{drift_ms:+.0} ms{precision}, {sync}"))
        .with_value(drift_ms, "ms")
}

fn load(levels: &Levels, report: &ProbeReport) -> Check {
    const ID: &str = "system.load";
    let l = match &report.loadavg {
        Ok(l) => l,
        Err(issue) => return unknown(ID, "loadavg", issue),
    };
    let cpus = match &report.cpus {
        Ok(n) => *n,
        Err(issue) => return unknown(ID, "CPU count", issue),
    };
    // Compared raw: rounded, 5.004 would pass under a "5" threshold it is above. Shown and
    // given with 2 decimals (a load per CPU is often below 0.1).
    let per_cpu = l.fifteen / f64::from(cpus);
    let shown = (per_cpu * 100.0).round() / 100.0;
    let plural = if cpus == 1 { "" } else { "s" };
    Check::new(
        ID,
        level(levels, per_cpu),
        format!(
            "load {:.2} {:.2} {:.2} on {cpus} CPU{plural}: {shown:.2} per CPU (15 min)",
            l.one, l.five, l.fifteen
        ),
    )
    .with_value(shown, "load/CPU")
}

fn cpu(levels: &Levels, report: &ProbeReport, memory: &mut HostMemory) -> Check {
    const ID: &str = "system.cpu";
    let now = match (&report.stat2, &report.stat) {
        (Ok(s), _) | (Err(_), Ok(s)) => *s,
        (Err(issue), Err(_)) => return unknown(ID, "CPU sample", issue),
    };
    // Since the previous refresh's last sample; else, on the first refresh (or after a
    // reboot), between this run's two samples.
    let since_last = memory.cpu.as_ref().and_then(|prev| cpu::usage(prev, &now));
    let within_run = match (&report.stat, &report.stat2) {
        (Ok(a), Ok(b)) => cpu::usage(a, b),
        _ => None,
    };
    memory.cpu = Some(now);
    let Some(u) = since_last.or(within_run) else {
        return Check::unknown(ID, "waiting for a second CPU sample");
    };
    // Compared raw, shown (and given as the value) rounded, the same way.
    let busy = u.busy;
    let shown = round1(busy);
    let mut summary = format!("{shown:.1} % busy");
    if u.iowait >= 1.0 {
        summary.push_str(&format!(", iowait {:.1} %", u.iowait));
    }
    if u.steal >= 1.0 {
        summary.push_str(&format!(", steal {:.1} %", u.steal));
    }
    Check::new(ID, level(levels, busy), summary).with_value(shown, "%")
}

fn memory_and_swap(t: &Thresholds, report: &ProbeReport) -> Vec<Check> {
    let m = match &report.meminfo {
        Ok(m) => m,
        Err(issue) => {
            return vec![
                unknown("system.memory", "meminfo", issue),
                unknown("system.swap", "meminfo", issue),
            ];
        }
    };
    let mut out = Vec::new();
    if let Some(p) = m.used_percent() {
        let shown = round1(p);
        let estimated = if m.estimated {
            " (estimated: the kernel has no MemAvailable)"
        } else {
            ""
        };
        out.push(
            Check::new(
                "system.memory",
                level(&t.memory, p),
                format!(
                    "{shown:.1} % used ({} available of {}){estimated}",
                    size_kib(m.available_kib),
                    size_kib(m.total_kib)
                ),
            )
            .with_value(shown, "%"),
        );
    }
    out.push(match m.swap_used_percent() {
        None => Check::new("system.swap", State::Ok, "no swap"),
        Some(p) => {
            let shown = round1(p);
            let used = m.swap_total_kib.saturating_sub(m.swap_free_kib);
            Check::new(
                "system.swap",
                level(&t.swap, p),
                format!(
                    "{shown:.1} % used ({} of {})",
                    size_kib(used),
                    size_kib(m.swap_total_kib)
                ),
            )
            .with_value(shown, "%")
        }
    });
    out
}

fn partitions(t: &Thresholds, report: &ProbeReport) -> Vec<Check> {
    let list = match &report.df {
        Ok(l) => l,
        Err(issue) => {
            return issue_check("system.partition", "df", issue)
                .into_iter()
                .collect();
        }
    };
    let mut out = Vec::new();
    for fs in list {
        // Thresholds see the raw value; only the display and the JSON value are rounded.
        if let Some(p) = fs.used_percent() {
            let shown = round1(p);
            out.push(
                Check::new(
                    format!("system.partition.{}", fs.mount),
                    level(t.for_mount(&fs.mount), p),
                    format!("{shown:.1} % used ({} free)", size_kib(fs.avail_kib)),
                )
                .with_value(shown, "%"),
            );
        }
        if let Some(i) = fs.inodes {
            let f = i.free_percent();
            let shown = round1(f);
            out.push(
                Check::new(
                    format!("system.inodes.{}", fs.mount),
                    level(&t.inodes, f),
                    format!(
                        "{shown:.1} % free ({} of {} inodes free)",
                        count(i.free),
                        count(i.total)
                    ),
                )
                .with_value(shown, "%"),
            );
        }
    }
    out
}

fn processes(host: &HostConfig, report: &ProbeReport) -> Vec<Check> {
    host.processes
        .iter()
        .map(|name| {
            let id = format!("system.process.{name}");
            let list = match &report.procs {
                Err(issue) => return unknown(&id, "ps", issue),
                Ok(list) => list,
            };
            // Vigie's own session is an sshd too: only a listener counts.
            let listeners = if procs::is_sshd(name) {
                procs::sshd_listeners(list)
            } else {
                None
            };
            match (listeners, procs::count(&list.comms, name)) {
                (Some(0), 0) | (None, 0) => Check::new(id, State::Crit, "not running"),
                (Some(0), _) => Check::new(
                    id,
                    State::Crit,
                    "sshd listener not running (only SSH sessions remain)",
                ),
                (Some(1), _) | (None, 1) => Check::new(id, State::Ok, "running"),
                (Some(n), _) | (None, n) => {
                    Check::new(id, State::Ok, format!("running ({n} processes)"))
                }
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "system_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "system_values_tests.rs"]
mod values_tests;
