//! Tests of the system checks, through [`evaluate`]; the helpers are shared with the quota
//! tests.

use super::*;
use crate::checks::host::tests::{find, host, timing_at};
use crate::checks::range::Range;
use crate::probe::sections::{Section, Sections};

pub(crate) const CLOCK: f64 = 1_795_908_868.3;

/// A report from section bodies (rc 0), the rest missing.
pub(crate) fn report(bodies: &[(&str, &str)]) -> ProbeReport {
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

pub(crate) fn run(bodies: &[(&str, &str)], memory: &mut HostMemory) -> Vec<Check> {
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

pub(crate) fn clock_at(offset_s: f64) -> String {
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

#[test]
fn time_drift_alerts_only_on_what_the_exchange_leaves_certain() {
    let arrived = CLOCK;
    let ts = |s: f64| jiff::Timestamp::from_nanosecond((s * 1e9) as i128).unwrap();
    let drift = |remote: f64, round_trip_ms: u64| {
        // The exec took a whole second to answer (a slow shell start-up on a loaded host).
        let timing = ExecTiming {
            sent: ts(arrived - 1.0),
            first_byte: ts(arrived),
            round_trip: std::time::Duration::from_millis(round_trip_ms),
        };
        let c = format!("{remote:.9}\n");
        let checks = evaluate(
            &host(&[]),
            &report(&[
                ("clock", &c),
                ("timesync", "timedatectl NTPSynchronized=yes\n"),
            ]),
            &timing,
            &mut HostMemory::default(),
        );
        find(&checks, "system.time_drift").clone()
    };
    // A slow link (300 ms round trip): read 250 ms before arrival by an exact clock, the
    // estimate says -100 ms and nothing proves more.
    assert_eq!(drift(arrived - 0.25, 300).state, State::Ok);
    // A slow start-up does not hide a real drift: 700 ms behind on a fast link is CRIT even
    // though the exec took a second.
    let behind = drift(arrived - 0.7, 2);
    assert_eq!(behind.state, State::Crit, "{behind:?}");
    // Ahead of the arrival itself by 700 ms: certainly drifting whatever the moment.
    assert_eq!(drift(arrived + 0.7, 2).state, State::Crit);
    // 350 ms behind on a 2 ms link: at least 248 ms for certain, WARN.
    assert_eq!(drift(arrived - 0.35, 2).state, State::Warn);
}
