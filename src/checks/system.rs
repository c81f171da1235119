//! System checks (SPEC §4): partitions, inodes, quotas, load, CPU, memory, swap, time drift,
//! uptime and configured processes.

use super::host::{
    ExecTiming, HostMemory, Remembered, count, duration, issue_check, level, recall, round1,
    size_kib, unknown,
};
use super::{Check, State};
use crate::config::{HostConfig, Levels, Thresholds};
use crate::probe::parse::cpu;
use crate::probe::parse::procs;
use crate::probe::parse::quota::{Grace, Limits, QuotaReport};
use crate::probe::parse::timesync::TimeSync;
use crate::probe::report::{ProbeReport, SectionIssue};

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
    // A clock read to the second only is, on average, half a second behind, give or take
    // half a second: only what lies beyond that uncertainty counts.
    let slack_ms = if clock.subsecond { 0.0 } else { 500.0 };
    drift_ms += slack_ms;
    // `+ 0.0` turns a rounded -0 into 0, so a perfect clock does not read "-0 ms".
    let drift_ms = drift_ms.round() + 0.0;
    let mut state = level(levels, (drift_ms.abs() - slack_ms).max(0.0));
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
    let per_cpu = (l.fifteen / f64::from(cpus) * 100.0).round() / 100.0;
    let plural = if cpus == 1 { "" } else { "s" };
    Check::new(
        ID,
        level(levels, per_cpu),
        format!(
            "load {:.2} {:.2} {:.2} on {cpus} CPU{plural}: {per_cpu:.2} per CPU (15 min)",
            l.one, l.five, l.fifteen
        ),
    )
    .with_value(per_cpu, "load/CPU")
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
    let busy = round1(u.busy);
    let mut summary = format!("{busy:.1} % busy");
    if u.iowait >= 1.0 {
        summary.push_str(&format!(", iowait {:.1} %", u.iowait));
    }
    if u.steal >= 1.0 {
        summary.push_str(&format!(", steal {:.1} %", u.steal));
    }
    Check::new(ID, level(levels, busy), summary).with_value(busy, "%")
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
        let p = round1(p);
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
                    "{p:.1} % used ({} available of {}){estimated}",
                    size_kib(m.available_kib),
                    size_kib(m.total_kib)
                ),
            )
            .with_value(p, "%"),
        );
    }
    out.push(match m.swap_used_percent() {
        None => Check::new("system.swap", State::Ok, "no swap"),
        Some(p) => {
            let p = round1(p);
            let used = m.swap_total_kib.saturating_sub(m.swap_free_kib);
            Check::new(
                "system.swap",
                level(&t.swap, p),
                format!(
                    "{p:.1} % used ({} of {})",
                    size_kib(used),
                    size_kib(m.swap_total_kib)
                ),
            )
            .with_value(p, "%")
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
        if let Some(p) = fs.used_percent() {
            let p = round1(p);
            out.push(
                Check::new(
                    format!("system.partition.{}", fs.mount),
                    level(t.for_mount(&fs.mount), p),
                    format!("{p:.1} % used ({} free)", size_kib(fs.avail_kib)),
                )
                .with_value(p, "%"),
            );
        }
        if let Some(i) = fs.inodes {
            let f = round1(i.free_percent());
            out.push(
                Check::new(
                    format!("system.inodes.{}", fs.mount),
                    level(&t.inodes, f),
                    format!(
                        "{f:.1} % free ({} of {} inodes free)",
                        count(i.free),
                        count(i.total)
                    ),
                )
                .with_value(f, "%"),
            );
        }
    }
    out
}

fn quotas(report: &ProbeReport, timing: &ExecTiming, memory: &mut HostMemory) -> Vec<Check> {
    let checks = match &report.quota {
        Err(SectionIssue::NotRun) => return recall(&memory.last_quota, timing),
        Err(issue) => issue_check("system.quota", "repquota", issue)
            .into_iter()
            .collect(),
        Ok(reports) => {
            // Grace ends are remote times: compare them with the remote clock.
            let now = report
                .clock
                .as_ref()
                .map(|c| c.epoch_s)
                .unwrap_or_else(|_| timing.now_s());
            quota_checks(reports, report, now)
        }
    };
    memory.last_quota = Some(Remembered {
        at: timing.first_byte,
        checks: checks.clone(),
    });
    checks
}

/// The mount point of a quota device, from df; the device itself when df does not list it.
fn mount_of<'a>(device: &'a str, report: &'a ProbeReport) -> &'a str {
    report
        .df
        .as_ref()
        .ok()
        .and_then(|l| l.iter().find(|f| f.source == device))
        .map(|f| f.mount.as_str())
        .unwrap_or(device)
}

fn quota_checks(reports: &[QuotaReport], report: &ProbeReport, now: f64) -> Vec<Check> {
    let mut out = Vec::new();
    for r in reports {
        let fs = mount_of(&r.device, report);
        for u in &r.users {
            if !u.blocks.limited() && !u.files.limited() {
                continue;
            }
            let mut state = State::Ok;
            let mut parts = Vec::new();
            for (limits, what, blocks) in [(&u.blocks, "space", true), (&u.files, "files", false)] {
                if !limits.limited() {
                    continue;
                }
                let (s, text) = resource(limits, what, blocks, now);
                state = state.worst(s);
                parts.push(text);
            }
            let base = if u.blocks.limited() {
                &u.blocks
            } else {
                &u.files
            };
            let limit = if base.soft > 0 { base.soft } else { base.hard };
            let pct = round1(base.used as f64 / limit.max(1) as f64 * 100.0);
            out.push(
                Check::new(
                    format!("system.quota.{fs}.{}", u.user),
                    state,
                    parts.join("; "),
                )
                .with_value(pct, "%"),
            );
        }
    }
    out
}

fn resource(l: &Limits, what: &str, blocks: bool, now: f64) -> (State, String) {
    // File counts exactly: "10234 (soft 10000)" says more than "10 k (soft 10 k)".
    let amount = |n: u64| if blocks { size_kib(n) } else { n.to_string() };
    let limits = match (l.soft, l.hard) {
        (0, h) => format!("hard {}", amount(h)),
        (s, 0) => format!("soft {}", amount(s)),
        (s, h) => format!("soft {}, hard {}", amount(s), amount(h)),
    };
    let used = amount(l.used);
    if l.at_hard() {
        return (
            State::Crit,
            format!("{what} at hard limit: {used} ({limits})"),
        );
    }
    if l.grace_expired(Some(now)) {
        return (
            State::Crit,
            format!("{what} over soft limit, grace expired: {used} ({limits})"),
        );
    }
    if l.over_soft() {
        let grace = match &l.grace {
            Grace::Until(t) => format!(", grace ends in {}", duration(*t as f64 - now)),
            Grace::Text(g) => format!(", grace {g}"),
            Grace::None => String::new(),
        };
        let by = l.used.saturating_sub(l.soft);
        let by = if blocks { size_kib(by) } else { by.to_string() };
        return (
            State::Warn,
            format!("{what} over soft limit by {by}: {used} ({limits}){grace}"),
        );
    }
    (State::Ok, format!("{what} {used} ({limits})"))
}

fn processes(host: &HostConfig, report: &ProbeReport) -> Vec<Check> {
    host.processes
        .iter()
        .map(|name| {
            let id = format!("system.process.{name}");
            match &report.procs {
                Err(issue) => unknown(&id, "ps", issue),
                Ok(list) => match procs::count(list, name) {
                    0 => Check::new(id, State::Crit, "not running"),
                    1 => Check::new(id, State::Ok, "running"),
                    n => Check::new(id, State::Ok, format!("running ({n} processes)")),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::host::tests::{find, host, timing_at};
    use crate::checks::range::Range;
    use crate::probe::parse;
    use crate::probe::sections::{Section, Sections};

    const CLOCK: f64 = 1_795_908_868.3;

    /// A report from section bodies (rc 0), the rest missing.
    fn report(bodies: &[(&str, &str)]) -> ProbeReport {
        let mut s = Sections::new();
        for (name, body) in bodies {
            s.insert(
                name.to_string(),
                Section {
                    name: name.to_string(),
                    body: body.to_string(),
                    rc: Some(0),
                    elapsed_ms: Some(1),
                },
            );
        }
        ProbeReport::from_sections(&s)
    }

    fn run(bodies: &[(&str, &str)], memory: &mut HostMemory) -> Vec<Check> {
        evaluate(
            &host(&["sshd", "systemd-journald"]),
            &report(bodies),
            &timing_at(CLOCK),
            memory,
        )
    }

    const DF_DEBIAN: &str = include_str!("../../tests/fixtures/probe/df_debian12.txt");

    #[test]
    fn partitions_and_inodes() {
        let checks = run(&[("df", DF_DEBIAN)], &mut HostMemory::default());
        let srv = find(&checks, "system.partition./srv");
        assert_eq!(srv.state, State::Crit);
        assert_eq!(srv.summary, "92.3 % used (66.7 GiB free)");
        assert_eq!((srv.value, srv.unit), (Some(92.3), Some("%")));
        assert_eq!(find(&checks, "system.partition./").value, Some(78.8));
        assert_eq!(find(&checks, "system.partition./tmp").state, State::Crit);
        assert_eq!(
            find(&checks, "system.partition./srv/Partage commun").state,
            State::Ok
        );
        let inodes = find(&checks, "system.inodes./srv");
        assert_eq!(inodes.state, State::Crit);
        assert_eq!(inodes.summary, "3.7 % free (2.2 M of 61.0 M inodes free)");
        assert!(
            !checks.iter().any(|c| c.id == "system.inodes./boot/efi"),
            "vfat: no inode check"
        );
        assert!(
            !checks
                .iter()
                .any(|c| c.id.ends_with("/run") || c.id.contains("docker"))
        );
    }

    #[test]
    fn per_mount_override() {
        let mut h = host(&[]);
        h.thresholds.mounts.insert(
            "/srv".into(),
            Levels {
                warn: Some(Range::parse("95").unwrap()),
                crit: Some(Range::parse("98").unwrap()),
            },
        );
        let checks = evaluate(
            &h,
            &report(&[("df", DF_DEBIAN)]),
            &timing_at(CLOCK),
            &mut HostMemory::default(),
        );
        assert_eq!(find(&checks, "system.partition./srv").state, State::Ok);
    }

    #[test]
    fn old_df_format() {
        let checks = run(
            &[(
                "df",
                include_str!("../../tests/fixtures/probe/df_centos6.txt"),
            )],
            &mut HostMemory::default(),
        );
        assert_eq!(find(&checks, "system.partition./").state, State::Crit);
        assert_eq!(find(&checks, "system.inodes./").state, State::Crit);
        assert_eq!(
            checks
                .iter()
                .filter(|c| c.id == "system.partition./data")
                .count(),
            1
        );
    }

    #[test]
    fn df_issue_gives_one_unknown() {
        let mut s = Sections::new();
        s.insert(
            "df".into(),
            Section {
                name: "df".into(),
                body: String::new(),
                rc: Some(124),
                elapsed_ms: Some(5000),
            },
        );
        let checks = evaluate(
            &host(&[]),
            &ProbeReport::from_sections(&s),
            &timing_at(CLOCK),
            &mut HostMemory::default(),
        );
        let c = find(&checks, "system.partition");
        assert_eq!(
            (c.state, c.summary.as_str()),
            (State::Unknown, "df: timed out")
        );
        assert!(!checks.iter().any(|c| c.id.starts_with("system.inodes")));
    }

    #[test]
    fn load_per_cpu() {
        let checks = run(
            &[
                ("loadavg", "9.50 11.20 12.40 3/412 9911\n"),
                ("cpus", "2\n"),
            ],
            &mut HostMemory::default(),
        );
        let l = find(&checks, "system.load");
        assert_eq!(l.state, State::Warn);
        assert_eq!(l.value, Some(6.2));
        assert_eq!(
            l.summary,
            "load 9.50 11.20 12.40 on 2 CPUs: 6.20 per CPU (15 min)"
        );
        let checks = run(
            &[("loadavg", "30 30 30.5 3/412 9911\n"), ("cpus", "3\n")],
            &mut HostMemory::default(),
        );
        assert_eq!(find(&checks, "system.load").state, State::Crit);
        let checks = run(
            &[("loadavg", "0.1 0.1 0.1 1/1 1\n")],
            &mut HostMemory::default(),
        );
        assert_eq!(find(&checks, "system.load").state, State::Unknown);
    }

    #[test]
    fn cpu_first_refresh_then_across_refreshes() {
        let mut memory = HostMemory::default();
        let first = run(
            &[
                ("stat", "cpu  1000 0 1000 8000 0 0 0 0 0 0\n"),
                ("stat2", "cpu  1030 0 0030 8040 0 0 0 0 0 0\n"),
            ],
            &mut memory,
        );
        // Between stat and stat2 the system counter went back: not usable, and no previous sample.
        assert_eq!(find(&first, "system.cpu").state, State::Unknown);
        let mut memory = HostMemory::default();
        let first = run(
            &[
                ("stat", "cpu  1000 0 1000 8000 0 0 0 0 0 0\n"),
                ("stat2", "cpu  1030 0 1030 8040 0 0 0 0 0 0\n"),
            ],
            &mut memory,
        );
        let c = find(&first, "system.cpu");
        assert_eq!((c.state, c.value), (State::Ok, Some(60.0)));
        assert!(!memory.needs_cpu_second_sample());
        // Next refresh: from the kept sample (1030/1030/8040) to this run's stat2.
        let second = run(
            &[
                ("stat", "cpu  2000 0 1030 8040 0 0 0 0 0 0\n"),
                ("stat2", "cpu  2030 0 1030 8050 10 0 0 0 0 0\n"),
            ],
            &mut memory,
        );
        let c = find(&second, "system.cpu");
        assert_eq!(c.state, State::Warn, "{}", c.summary);
        assert_eq!(c.value, Some(98.0));
        assert_eq!(c.summary, "98.0 % busy");
    }

    #[test]
    fn cpu_iowait_and_reboot() {
        let mut memory = HostMemory::default();
        run(
            &[("stat2", "cpu  100000 0 100000 800000 0 0 0 0 0 0\n")],
            &mut memory,
        );
        // After a reboot the counters are smaller: fall back on this run's two samples.
        let c = run(
            &[
                ("stat", "cpu  100 0 100 800 0 0 0 0 0 0\n"),
                ("stat2", "cpu  110 0 100 820 20 0 0 0 0 0\n"),
            ],
            &mut memory,
        );
        let c = find(&c, "system.cpu");
        assert_eq!(c.summary, "20.0 % busy, iowait 40.0 %");
    }

    #[test]
    fn memory_and_swap_checks() {
        let rhel8 = include_str!("../../tests/fixtures/probe/meminfo_rhel8.txt");
        let checks = run(&[("meminfo", rhel8)], &mut HostMemory::default());
        let m = find(&checks, "system.memory");
        assert_eq!(m.state, State::Crit);
        assert_eq!(m.summary, "92.5 % used (1.2 GiB available of 15.5 GiB)");
        let s = find(&checks, "system.swap");
        assert_eq!((s.state, s.value), (State::Warn, Some(61.3)));
        assert_eq!(s.summary, "61.3 % used (2.5 GiB of 4.0 GiB)");

        let centos = include_str!("../../tests/fixtures/probe/meminfo_centos6.txt");
        let checks = run(&[("meminfo", centos)], &mut HostMemory::default());
        let m = find(&checks, "system.memory");
        assert_eq!(m.state, State::Ok);
        assert!(
            m.summary
                .ends_with("(estimated: the kernel has no MemAvailable)"),
            "{}",
            m.summary
        );

        let checks = run(
            &[(
                "meminfo",
                "MemTotal: 1000 kB\nMemAvailable: 900 kB\nSwapTotal: 0 kB\n",
            )],
            &mut HostMemory::default(),
        );
        let s = find(&checks, "system.swap");
        assert_eq!(
            (s.state, s.summary.as_str(), s.value),
            (State::Ok, "no swap", None)
        );

        let checks = run(&[], &mut HostMemory::default());
        assert_eq!(find(&checks, "system.memory").state, State::Unknown);
        assert_eq!(find(&checks, "system.swap").state, State::Unknown);
    }

    fn clock_at(offset_s: f64) -> String {
        format!("{:.9}\n", CLOCK + offset_s)
    }

    #[test]
    fn time_drift_levels_and_sign() {
        let sync = "timedatectl NTPSynchronized=yes\n";
        let d = |off: f64| {
            let c = clock_at(off);
            let checks = run(
                &[("clock", &c), ("timesync", sync)],
                &mut HostMemory::default(),
            );
            find(&checks, "system.time_drift").clone()
        };
        let ok = d(0.012);
        assert_eq!((ok.state, ok.value), (State::Ok, Some(12.0)));
        assert_eq!(ok.summary, "+12 ms, synchronised (timedatectl)");
        let warn = d(-0.350);
        assert_eq!((warn.state, warn.value), (State::Warn, Some(-350.0)));
        assert_eq!(d(0.9).state, State::Crit);
        assert_eq!(d(-0.9).state, State::Crit);
    }

    #[test]
    fn time_drift_sync_flag() {
        let c = clock_at(0.003);
        let chrony_unsync = format!(
            "chronyc\n{}",
            include_str!("../../tests/fixtures/probe/chronyc_rhel9_unsync.txt")
        );
        let checks = run(
            &[("clock", &c), ("timesync", &chrony_unsync)],
            &mut HostMemory::default(),
        );
        let t = find(&checks, "system.time_drift");
        assert_eq!(t.state, State::Warn);
        assert_eq!(t.summary, "+3 ms, not synchronised (chrony)");

        let chrony = format!(
            "chronyc\n{}",
            include_str!("../../tests/fixtures/probe/chronyc_debian12.txt")
        );
        let checks = run(
            &[("clock", &c), ("timesync", &chrony)],
            &mut HostMemory::default(),
        );
        let t = find(&checks, "system.time_drift");
        assert_eq!(t.state, State::Ok);
        assert_eq!(
            t.summary,
            "+3 ms, synchronised (chrony, 10.77.0.1, stratum 3)"
        );

        // Sync status unknown: the drift alone decides, and the summary says so.
        let unavailable =
            "VIGIE_UNAVAILABLE no running time service answered (timedatectl, chronyc, ntpstat)\n";
        let checks = run(
            &[("clock", &c), ("timesync", unavailable)],
            &mut HostMemory::default(),
        );
        let t = find(&checks, "system.time_drift");
        assert_eq!(t.state, State::Ok);
        assert_eq!(
            t.summary,
            "+3 ms, sync status unknown: no running time service answered (timedatectl, chronyc, ntpstat)"
        );
        let big = clock_at(0.7);
        let checks = run(
            &[("clock", &big), ("timesync", "ntpstat rc=2\n")],
            &mut HostMemory::default(),
        );
        let t = find(&checks, "system.time_drift");
        assert_eq!(t.state, State::Crit);
        assert!(
            t.summary.contains("sync status unknown (ntpstat)"),
            "{}",
            t.summary
        );
    }

    #[test]
    fn time_drift_whole_second_clock() {
        // `date` without %N: 0.3 s past the second reads as .0; the estimate adds half a second.
        let c = format!("{}\n", CLOCK.floor());
        let checks = run(
            &[("clock", &c), ("timesync", "ntpstat rc=0\n")],
            &mut HostMemory::default(),
        );
        let t = find(&checks, "system.time_drift");
        assert_eq!(t.state, State::Ok, "{}", t.summary);
        assert_eq!(t.value, Some(200.0));
        assert!(t.summary.contains("±500 ms"));
        let c = format!("{}\n", CLOCK.floor() + 2.0);
        let checks = run(
            &[("clock", &c), ("timesync", "ntpstat rc=0\n")],
            &mut HostMemory::default(),
        );
        assert_eq!(find(&checks, "system.time_drift").state, State::Crit);
        let checks = run(&[], &mut HostMemory::default());
        assert_eq!(find(&checks, "system.time_drift").state, State::Unknown);
    }

    #[test]
    fn uptime_and_reboot() {
        let mut memory = HostMemory::default();
        let body = "3542400.10 7000000.00\n6d3e1696-96fa-43ec-8911-c7a46e7d69e3\n";
        let u = find(&run(&[("uptime", body)], &mut memory), "system.uptime").clone();
        assert_eq!(
            (u.state, u.summary.as_str(), u.value),
            (State::Ok, "up 41 d", Some(3_542_400.0))
        );
        let later = "3542405.10 7000010.00\n6d3e1696-96fa-43ec-8911-c7a46e7d69e3\n";
        assert_eq!(
            find(&run(&[("uptime", later)], &mut memory), "system.uptime").state,
            State::Ok
        );
        // New boot id.
        let rebooted = "95.00 180.00\n0b9c7f5e-1111-4c4c-9d9d-0123456789ab\n";
        let u = find(&run(&[("uptime", rebooted)], &mut memory), "system.uptime").clone();
        assert_eq!(u.state, State::Warn);
        assert_eq!(u.summary, "rebooted since last refresh (up 95 s)");
        // Only that refresh.
        let next = "100.00 190.00\n0b9c7f5e-1111-4c4c-9d9d-0123456789ab\n";
        assert_eq!(
            find(&run(&[("uptime", next)], &mut memory), "system.uptime").state,
            State::Ok
        );
        // Without boot_id, uptime going down is a reboot too.
        let mut memory = HostMemory::default();
        run(&[("uptime", "5000.0 1\n")], &mut memory);
        assert_eq!(
            find(
                &run(&[("uptime", "20.0 1\n")], &mut memory),
                "system.uptime"
            )
            .state,
            State::Warn
        );
    }

    #[test]
    fn processes() {
        let ps = "systemd\nsystemd-journal\nsshd\nsshd\ncron\n";
        let checks = run(&[("procs", ps)], &mut HostMemory::default());
        let s = find(&checks, "system.process.sshd");
        assert_eq!(
            (s.state, s.summary.as_str()),
            (State::Ok, "running (2 processes)")
        );
        assert_eq!(
            find(&checks, "system.process.systemd-journald").state,
            State::Ok,
            "comm truncated to 15"
        );
        let checks = run(&[("procs", "systemd\ncron\n")], &mut HostMemory::default());
        let s = find(&checks, "system.process.sshd");
        assert_eq!((s.state, s.summary.as_str()), (State::Crit, "not running"));
        let checks = run(&[], &mut HostMemory::default());
        let s = find(&checks, "system.process.sshd");
        assert_eq!(
            (s.state, s.summary.as_str()),
            (State::Unknown, "ps: no output (probe cut short)")
        );
    }

    const REPQUOTA: &str = include_str!("../../tests/fixtures/probe/repquota.txt");

    #[test]
    fn quotas() {
        let clock = clock_at(0.0);
        let df = "Filesystem Type 1K-blocks Used Avail Inodes IUsed IFree Mounted on\n\
                  /dev/mapper/vg0-home ext4 100000000 5000000 95000000 100 10 90 /home\n";
        let mut memory = HostMemory::default();
        let checks = run(
            &[("clock", &clock), ("df", df), ("quota", REPQUOTA)],
            &mut memory,
        );
        let alice = find(&checks, "system.quota./home.alice");
        assert_eq!(alice.state, State::Warn);
        assert_eq!(
            alice.summary,
            "space over soft limit by 24 KiB: 1.0 GiB (soft 1.0 GiB, hard 1.2 GiB), grace ends in 5 d"
        );
        let bob = find(&checks, "system.quota./home.bob");
        assert_eq!(bob.state, State::Crit);
        assert_eq!(
            bob.summary,
            "space at hard limit: 2.0 GiB (soft 1.5 GiB, hard 2.0 GiB)"
        );
        let carol = find(&checks, "system.quota./home.carol");
        assert_eq!(carol.state, State::Warn);
        assert_eq!(
            carol.summary,
            "space 40.0 MiB (soft 1.0 GiB, hard 2.0 GiB); files over soft limit by 234: 10234 (soft 10000, hard 12000), grace ends in 4 d"
        );
        let dave = find(&checks, "system.quota./home.dave");
        assert_eq!(dave.state, State::Crit);
        assert!(dave.summary.contains("grace expired"));
        assert_eq!(
            find(&checks, "system.quota./home.www-data").state,
            State::Ok
        );
        // No limits, no check; a device df does not list keeps its device name.
        assert!(!checks.iter().any(|c| c.id == "system.quota./home.root"));
        assert_eq!(
            find(&checks, "system.quota./dev/md1.backup").state,
            State::Ok
        );

        // Next refresh without the slow sections: the same checks, remembered.
        let again = run(
            &[("clock", &clock), ("stat2", "cpu  1 1 1 1\n")],
            &mut memory,
        );
        assert_eq!(find(&again, "system.quota./home.bob"), bob);
    }

    #[test]
    fn remembered_quota_checks_show_their_age() {
        let mut memory = HostMemory::default();
        let h = host(&[]);
        let r = report(&[("quota", REPQUOTA), ("clock", &clock_at(0.0))]);
        evaluate(&h, &r, &timing_at(CLOCK), &mut memory);
        let later = report(&[("stat2", "cpu  1 1 1 1\n")]);
        assert_eq!(later.quota, Err(SectionIssue::NotRun));
        let checks = evaluate(&h, &later, &timing_at(CLOCK + 600.0), &mut memory);
        let bob = find(&checks, "system.quota./dev/mapper/vg0-home.bob");
        assert!(
            bob.summary.ends_with(" (read 10 min ago)"),
            "{}",
            bob.summary
        );
    }

    #[test]
    fn quota_issues() {
        let mut memory = HostMemory::default();
        let checks = run(&[("quota", "VIGIE_ABSENT\n")], &mut memory);
        assert!(!checks.iter().any(|c| c.id.starts_with("system.quota")));
        let checks = run(&[("quota", "VIGIE_NOT_INSTALLED repquota\n")], &mut memory);
        let q = find(&checks, "system.quota");
        assert_eq!(
            (q.state, q.summary.as_str()),
            (State::Unknown, "repquota not installed")
        );
        let _ = parse::quota::parse(REPQUOTA);
    }
}
