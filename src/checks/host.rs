//! Evaluation of one host's probe report: the entry point the collector calls every refresh,
//! the timing it passes in, and the memory it keeps for the host between refreshes.

use super::{Check, State, hardware, system};
use crate::config::{HostConfig, Levels};
use crate::probe::parse::cpu::CpuTimes;
use crate::probe::parse::smart::Counter;
use crate::probe::parse::uptime::Uptime;
use crate::probe::report::{ProbeReport, SectionIssue};
use std::collections::BTreeMap;

/// When, by the console's clock, the probe exec was sent and its first output arrived, and
/// the network round trip to the host (measured on the channel open, which costs the server
/// nothing, unlike starting a shell).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecTiming {
    pub sent: jiff::Timestamp,
    pub first_byte: jiff::Timestamp,
    pub round_trip: std::time::Duration,
}

pub(crate) fn seconds(t: jiff::Timestamp) -> f64 {
    t.as_nanosecond() as f64 / 1e9
}

impl ExecTiming {
    /// The console's best estimate of the moment the remote clock was read (the clock is the
    /// probe's first section): half a round trip before its output arrived. Not halfway
    /// between sending and receiving, which would count the remote shell's start-up as
    /// network delay and show a drift of tens of milliseconds on a loaded host.
    pub fn midpoint_s(&self) -> f64 {
        let first = seconds(self.first_byte);
        let sent = seconds(self.sent);
        let half_rtt = (self.round_trip.as_secs_f64() / 2.0).min((first - sent).max(0.0));
        first - half_rtt
    }

    /// Console time of the reading, seconds since the epoch.
    pub fn now_s(&self) -> f64 {
        seconds(self.first_byte)
    }
}

/// How long a rise of SMART error counters stays CRIT.
pub const RISE_HOLD: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A rise of a disk's error counters: when it was seen, and what rose.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rise {
    pub at: jiff::Timestamp,
    pub what: String,
}

/// What must outlive the process to judge SMART across runs (`vigie check` from cron sees a
/// rise only against the previous run's counters): saved by the collector in the state dir.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SmartState {
    pub counters: BTreeMap<String, BTreeMap<Counter, u64>>,
    pub rises: BTreeMap<String, Rise>,
}

impl HostMemory {
    pub fn smart_state(&self) -> SmartState {
        SmartState {
            counters: self.smart_counters.clone(),
            rises: self.smart_rises.clone(),
        }
    }

    pub fn restore_smart_state(&mut self, state: SmartState) {
        self.smart_counters = state.counters;
        self.smart_rises = state.rises;
    }
}

/// Checks produced by a slow section (SMART, quotas), reported again on the refreshes that do
/// not run it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Remembered {
    /// Console time of the reading (`ExecTiming::first_byte`).
    pub at: jiff::Timestamp,
    pub checks: Vec<Check>,
}

/// The last time one disk's SMART data was actually read: what a later refresh that cannot
/// read it (disk asleep, time budget spent) reports instead.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DiskReading {
    /// Console time of the reading (`ExecTiming::first_byte`).
    pub at: jiff::Timestamp,
    pub state: State,
    /// The model (else the device path).
    pub name: String,
    /// What the check said after the name: "healthy; reallocated 0, CRC errors 0".
    pub detail: String,
}

/// What evaluating a host needs from its earlier refreshes. One per host, owned by its
/// collector; starts empty (`Default`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostMemory {
    /// The last CPU sample (the end of the previous probe run).
    pub(crate) cpu: Option<CpuTimes>,
    pub(crate) uptime: Option<Uptime>,
    /// SMART error counters at the last reading, by disk serial number (device name when the
    /// disk has none), so a disk moved to another slot keeps its history.
    pub(crate) smart_counters: BTreeMap<String, BTreeMap<Counter, u64>>,
    /// The last rise of a disk's error counters, by the same key: a rise stays CRIT for
    /// [`RISE_HOLD`], so a check run from cron (or an operator who looked away) still sees it.
    pub(crate) smart_rises: BTreeMap<String, Rise>,
    pub(crate) last_smart: Option<Remembered>,
    /// The last real reading of each disk, by check id.
    pub(crate) smart_readings: BTreeMap<String, DiskReading>,
    pub(crate) last_quota: Option<Remembered>,
    /// The names each replication kind's checks had when last read, so that a kind that
    /// cannot be read (cluster down, tool failing) reports under the same ids
    /// (`app.replication.<kind>.<name>`): a check must not vanish when it breaks.
    pub(crate) replication_names: BTreeMap<String, Vec<String>>,
}

impl HostMemory {
    /// True until a CPU sample has been kept: the collector then asks the probe for two
    /// samples in the same exec (flag `cpu2`), so the first refresh already has a CPU %.
    pub fn needs_cpu_second_sample(&self) -> bool {
        self.cpu.is_none()
    }
}

/// Every check of a host from one probe report: system checks, then hardware checks.
/// Updates `memory` for the next refresh.
pub fn evaluate(
    host: &HostConfig,
    report: &ProbeReport,
    timing: &ExecTiming,
    memory: &mut HostMemory,
) -> Vec<Check> {
    let mut checks = system::evaluate(host, report, timing, memory);
    checks.extend(hardware::evaluate(host, report, timing, memory));
    checks.extend(super::apps::evaluate(host, report));
    checks.extend(stable_replication_ids(
        super::replication::evaluate(host, report),
        &mut memory.replication_names,
    ));
    checks.extend(super::network::evaluate(host, report));
    checks
}

/// A kind that could not be read gives one check `app.replication.<kind>`: it is reported
/// under every name the kind had when last read instead, and names read now are remembered.
fn stable_replication_ids(
    checks: Vec<Check>,
    names: &mut BTreeMap<String, Vec<String>>,
) -> Vec<Check> {
    const PREFIX: &str = "app.replication.";
    let mut read_now: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &checks {
        if let Some((kind, name)) = c.id.strip_prefix(PREFIX).and_then(|r| r.split_once('.')) {
            read_now
                .entry(kind.to_string())
                .or_default()
                .push(name.to_string());
        }
    }
    let mut out = Vec::with_capacity(checks.len());
    for c in checks {
        let kind = c.id.strip_prefix(PREFIX).filter(|k| !k.contains('.'));
        match kind
            .and_then(|k| names.get(k))
            .filter(|_| kind.is_some_and(|k| !read_now.contains_key(k)))
        {
            Some(known) => {
                for name in known {
                    let mut each = c.clone();
                    each.id = format!("{}.{name}", c.id);
                    out.push(each);
                }
            }
            None => out.push(c),
        }
    }
    names.extend(read_now);
    out
}

/// CRIT if the critical range alerts, else WARN if the warning range does, else OK.
pub(crate) fn level(levels: &Levels, value: f64) -> State {
    if levels.crit.is_some_and(|r| r.alerts(value)) {
        State::Crit
    } else if levels.warn.is_some_and(|r| r.alerts(value)) {
        State::Warn
    } else {
        State::Ok
    }
}

/// The UNKNOWN check standing for every check a section feeds when the section has no value;
/// `None` when the feature is absent from the host (no check at all). `what` names the
/// source for issues that do not say it themselves ("df: timed out").
pub(crate) fn issue_check(id: &str, what: &str, issue: &SectionIssue) -> Option<Check> {
    let summary = match issue {
        SectionIssue::Absent => return None,
        SectionIssue::NotInstalled(_) | SectionIssue::Unavailable(_) => issue.to_string(),
        _ => format!("{what}: {issue}"),
    };
    Some(Check::unknown(id, summary))
}

/// `issue_check` for sections that are never absent.
pub(crate) fn unknown(id: &str, what: &str, issue: &SectionIssue) -> Check {
    issue_check(id, what, issue).unwrap_or_else(|| Check::unknown(id, format!("{what}: {issue}")))
}

/// The checks of the last run of a slow section, with their age when it is a minute or more.
pub(crate) fn recall(remembered: &Option<Remembered>, timing: &ExecTiming) -> Vec<Check> {
    let Some(r) = remembered else {
        return Vec::new();
    };
    let age = timing.now_s() - seconds(r.at);
    r.checks
        .iter()
        .cloned()
        .map(|mut c| {
            if age >= 60.0 {
                c.summary = format!("{} (read {} ago)", c.summary, duration(age));
            }
            c
        })
        .collect()
}

pub(crate) fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A duration for people: "42 s", "12 min", "5 h", "41 d".
pub(crate) fn duration(secs: f64) -> String {
    let s = secs.max(0.0);
    if s < 120.0 {
        format!("{:.0} s", s)
    } else if s < 2.0 * 3600.0 {
        format!("{:.0} min", (s / 60.0).floor())
    } else if s < 2.0 * 86400.0 {
        format!("{:.0} h", (s / 3600.0).floor())
    } else {
        format!("{:.0} d", (s / 86400.0).floor())
    }
}

/// `value` in the largest of `units` (each 1024 times the previous) that keeps it under 1024:
/// one decimal below 100, none above; the first unit shows a decimal only if `first_decimal`.
pub(crate) fn binary_units(value: f64, units: &[&str], first_decimal: bool) -> String {
    let mut v = value;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    let unit = units.get(i).copied().unwrap_or("");
    if v < 100.0 && (i > 0 || first_decimal) {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.0} {unit}")
    }
}

/// A size given in KiB, in binary units: "512 KiB", "465 MiB", "66.7 GiB", "3.6 TiB".
pub(crate) fn size_kib(kib: u64) -> String {
    binary_units(kib as f64, &["KiB", "MiB", "GiB", "TiB", "PiB"], false)
}

/// A count for people: "8123", "78 k", "3.3 M".
pub(crate) fn count(n: u64) -> String {
    let v = n as f64;
    if n < 10_000 {
        n.to_string()
    } else if n < 1_000_000 {
        format!("{:.0} k", v / 1e3)
    } else if n < 1_000_000_000 {
        format!("{:.1} M", v / 1e6)
    } else {
        format!("{:.1} G", v / 1e9)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::{Role, Thresholds};
    use crate::probe::report::tests::{LOCAL_NONCE, LOCAL_RUN};
    use crate::probe::sections::split;

    pub(crate) fn host(processes: &[&str]) -> HostConfig {
        HostConfig {
            name: "prod".into(),
            address: "10.77.1.11".into(),
            port: 22,
            user: "root".into(),
            role: Role::Production,
            datacenter: "dc1".into(),
            jump: None,
            public_address: "203.0.113.11".into(),
            processes: processes.iter().map(|p| p.to_string()).collect(),
            services: vec![],
            apps: Default::default(),
            identities: vec![],
            thresholds: Thresholds::default(),
            supervised: true,
        }
    }

    /// Timing whose midpoint is `epoch_s` (exec sent 50 ms before, round trip 40 ms, first
    /// byte 20 ms after).
    pub(crate) fn timing_at(epoch_s: f64) -> ExecTiming {
        let ns = (epoch_s * 1e9) as i128;
        let t = |d: i128| jiff::Timestamp::from_nanosecond(ns + d).unwrap();
        ExecTiming {
            sent: t(-50_000_000),
            first_byte: t(20_000_000),
            round_trip: std::time::Duration::from_millis(40),
        }
    }

    pub(crate) fn find<'a>(checks: &'a [Check], id: &str) -> &'a Check {
        checks
            .iter()
            .find(|c| c.id == id)
            .unwrap_or_else(|| panic!("no check {id} in {checks:#?}"))
    }

    #[test]
    fn helpers() {
        assert_eq!(duration(42.4), "42 s");
        assert_eq!(duration(725.0), "12 min");
        assert_eq!(duration(5.5 * 3600.0), "5 h");
        assert_eq!(duration(41.7 * 86400.0), "41 d");
        assert_eq!(size_kib(512), "512 KiB");
        assert_eq!(size_kib(476_160), "465 MiB");
        assert_eq!(size_kib(69_918_748), "66.7 GiB");
        assert_eq!(size_kib(3_905_110_016), "3.6 TiB");
        assert_eq!(count(8123), "8123");
        assert_eq!(count(78_035), "78 k");
        assert_eq!(count(3_276_800), "3.3 M");
        let t = timing_at(1000.0);
        assert!((t.midpoint_s() - 1000.0).abs() < 1e-6);
    }

    #[test]
    fn levels() {
        let th = Thresholds::default();
        assert_eq!(level(&th.partition, 79.9), State::Ok);
        assert_eq!(level(&th.partition, 80.1), State::Warn);
        assert_eq!(level(&th.partition, 93.1), State::Crit);
        assert_eq!(level(&th.inodes, 9.0), State::Warn);
        assert_eq!(level(&th.inodes, 4.0), State::Crit);
        assert_eq!(level(&Levels::default(), 1e9), State::Ok);
    }

    proptest::proptest! {
        /// Any section bodies and statuses, evaluated twice with the same memory: no panic,
        /// every summary one line.
        #[test]
        fn evaluate_never_panics(
            bodies in proptest::collection::vec(
                (0usize..14, proptest::prelude::any::<String>(), proptest::option::of(-1i32..300)),
                0..20,
            ),
            drift in -1e6f64..1e6,
        ) {
            const NAMES: [&str; 14] = ["clock", "host", "uptime", "cpus", "stat", "stat2", "loadavg",
                "meminfo", "df", "mdstat", "timesync", "procs", "smart", "quota"];
            let mut sections = crate::probe::sections::Sections::new();
            for (i, body, rc) in bodies {
                let name = NAMES.get(i).copied().unwrap_or("clock").to_string();
                sections.insert(name.clone(), crate::probe::sections::Section {
                    name, body, rc, elapsed_ms: None,
                });
            }
            let report = ProbeReport::from_sections(&sections);
            let mut memory = HostMemory::default();
            let h = host(&["sshd"]);
            for k in 0..2 {
                let t = timing_at(1_795_908_868.0 + drift + f64::from(k) * 5.0);
                for c in evaluate(&h, &report, &t, &mut memory) {
                    proptest::prop_assert!(!c.summary.contains('\n'), "{:?}", c);
                }
            }
        }
    }

    #[test]
    fn a_broken_replication_keeps_its_ids() {
        let mut names = BTreeMap::new();
        let ok = vec![
            Check::new("app.replication.drbd.r0", State::Ok, "UpToDate"),
            Check::new("app.replication.drbd.r1", State::Ok, "UpToDate"),
        ];
        assert_eq!(stable_replication_ids(ok, &mut names).len(), 2);
        let down = vec![
            Check::new(
                "app.replication.drbd",
                State::Crit,
                "DRBD: module not loaded",
            ),
            Check::new("app.replication.ceph", State::Unknown, "ceph timed out"),
        ];
        let ids: Vec<String> = stable_replication_ids(down, &mut names)
            .into_iter()
            .map(|c| format!("{} {}", c.id, c.state.word()))
            .collect();
        // Never read before: the kind's own id.
        assert_eq!(
            ids,
            [
                "app.replication.drbd.r0 CRIT",
                "app.replication.drbd.r1 CRIT",
                "app.replication.ceph UNKNOWN"
            ]
        );
    }

    #[test]
    fn whole_local_run_through_evaluate() {
        let report = ProbeReport::from_sections(&split(LOCAL_RUN.as_bytes(), LOCAL_NONCE));
        let clock = report.clock.as_ref().unwrap().epoch_s;
        let mut memory = HostMemory::default();
        assert!(memory.needs_cpu_second_sample());
        let checks = evaluate(
            &host(&["bash", "nginx"]),
            &report,
            &timing_at(clock + 0.010),
            &mut memory,
        );
        assert!(!memory.needs_cpu_second_sample());

        let uptime = find(&checks, "system.uptime");
        assert_eq!(uptime.state, State::Ok);
        assert!(uptime.summary.starts_with("up "), "{}", uptime.summary);

        let drift = find(&checks, "system.time_drift");
        assert_eq!(drift.state, State::Ok, "{}", drift.summary);
        assert_eq!(drift.value, Some(-10.0));
        assert!(
            drift.summary.contains("sync status unknown"),
            "{}",
            drift.summary
        );

        assert_eq!(find(&checks, "system.load").state, State::Ok);
        let cpu = find(&checks, "system.cpu");
        assert_eq!(
            cpu.state,
            State::Ok,
            "first refresh uses stat vs stat2: {}",
            cpu.summary
        );
        assert!(cpu.value.is_some());
        assert_eq!(find(&checks, "system.memory").state, State::Ok);
        assert_eq!(find(&checks, "system.swap").summary, "no swap");
        assert_eq!(find(&checks, "system.partition./").state, State::Ok);
        assert_eq!(find(&checks, "system.inodes./").state, State::Ok);
        assert_eq!(find(&checks, "system.process.bash").state, State::Ok);
        assert_eq!(find(&checks, "system.process.nginx").state, State::Crit);
        // No md driver, no quotas, smartctl found no disk: no check at all for them.
        assert!(
            !checks
                .iter()
                .any(|c| c.id.starts_with("hardware.") || c.id.starts_with("system.quota"))
        );
        for c in &checks {
            assert!(!c.summary.is_empty() && !c.summary.contains('\n'), "{c:?}");
        }
    }
}
