//! Tests of the system checks on edge values: thresholds compared with the raw measure (not
//! its rounded display), filesystems mounted over others, the types POSIX df does not print.

use super::tests::{CLOCK, run};
use super::*;
use crate::checks::host::tests::{find, host, timing_at};

const HEADER: &str = "Filesystem Type 1K-blocks Used Avail Inodes IUsed IFree Mounted on\n";

#[test]
fn partitions_compare_the_raw_value() {
    // 90.04 % used: above the crit "90" although it shows as 90.0; 9.96 % inodes free: below
    // the warn "10:" although it shows as 10.0.
    let body = format!("{HEADER}/dev/sdb1 ext4 10000 9004 996 10000 9004 996 /srv\n");
    let checks = run(&[("df", &body)], &mut HostMemory::default());
    let p = find(&checks, "system.partition./srv");
    assert_eq!(
        (p.state, p.summary.as_str(), p.value),
        (State::Crit, "90.0 % used (996 KiB free)", Some(90.0))
    );
    let i = find(&checks, "system.inodes./srv");
    assert_eq!(
        (i.state, i.summary.as_str(), i.value),
        (
            State::Warn,
            "10.0 % free (996 of 10 k inodes free)",
            Some(10.0)
        )
    );
    // Just under: 89.96 % shows as 90.0 too, but is only WARN.
    let body = format!("{HEADER}/dev/sdb1 ext4 10000 8996 1004 10000 10 9990 /srv\n");
    let p = find(
        &run(&[("df", &body)], &mut HostMemory::default()),
        "system.partition./srv",
    )
    .clone();
    assert_eq!(
        (p.state, p.summary.as_str()),
        (State::Warn, "90.0 % used (1004 KiB free)")
    );
}

#[test]
fn memory_swap_cpu_and_load_compare_the_raw_value() {
    let meminfo = "MemTotal: 100000 kB\nMemFree: 5000 kB\nMemAvailable: 9996 kB\n\
                   SwapTotal: 100000 kB\nSwapFree: 19996 kB\n";
    let checks = run(&[("meminfo", meminfo)], &mut HostMemory::default());
    let m = find(&checks, "system.memory");
    assert_eq!(
        (m.state, m.value),
        (State::Crit, Some(90.0)),
        "{}",
        m.summary
    );
    assert!(m.summary.starts_with("90.0 % used"), "{}", m.summary);
    let s = find(&checks, "system.swap");
    assert_eq!(
        (s.state, s.value),
        (State::Crit, Some(80.0)),
        "{}",
        s.summary
    );

    // 95.04 % busy: above the cpu warn "95".
    let checks = run(
        &[
            ("stat", "cpu  0 0 0 0 0 0 0 0 0 0\n"),
            ("stat2", "cpu  9504 0 0 496 0 0 0 0 0 0\n"),
        ],
        &mut HostMemory::default(),
    );
    let c = find(&checks, "system.cpu");
    assert_eq!(
        (c.state, c.summary.as_str(), c.value),
        (State::Warn, "95.0 % busy", Some(95.0))
    );

    // 5.004 per CPU: above the load warn "5".
    let checks = run(
        &[("loadavg", "5.004 5.004 5.004 1/100 42\n"), ("cpus", "1\n")],
        &mut HostMemory::default(),
    );
    let l = find(&checks, "system.load");
    assert_eq!(
        (l.state, l.value),
        (State::Warn, Some(5.0)),
        "{}",
        l.summary
    );
    assert_eq!(
        l.summary,
        "load 5.00 5.00 5.00 on 1 CPU: 5.00 per CPU (15 min)"
    );
}

#[test]
fn a_mount_point_gives_one_check_the_last_mounted() {
    // /srv mounted over another filesystem: df lists both, the last one is what /srv holds.
    let body = format!(
        "{HEADER}/dev/sdb1 ext4 1000 950 50 100 10 90 /srv\n/dev/sdc1 xfs 1000 100 900 100 10 90 /srv\n"
    );
    let checks = run(&[("df", &body)], &mut HostMemory::default());
    let srv: Vec<&Check> = checks
        .iter()
        .filter(|c| c.id == "system.partition./srv")
        .collect();
    assert_eq!(srv.len(), 1, "{checks:#?}");
    assert_eq!((srv[0].state, srv[0].value), (State::Ok, Some(10.0)));
    assert_eq!(
        checks
            .iter()
            .filter(|c| c.id == "system.inodes./srv")
            .count(),
        1
    );
}

#[test]
fn posix_df_takes_the_types_from_proc_mounts() {
    let body = include_str!("../../tests/fixtures/probe/df_centos6_mounts.txt");
    let checks = run(&[("df", body)], &mut HostMemory::default());
    // A DVD and a squashfs image are full by nature: not partitions to watch.
    assert!(
        !checks
            .iter()
            .any(|c| c.id.contains("/media/") || c.id.contains("/mnt/live")),
        "{checks:#?}"
    );
    let data: Vec<&Check> = checks
        .iter()
        .filter(|c| c.id == "system.partition./data")
        .collect();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0].value, Some(5.0), "the disk mounted last on /data");
    assert_eq!(find(&checks, "system.partition./").state, State::Crit);
    assert!(!checks.iter().any(|c| c.id == "system.partition./dev/shm"));
}

#[test]
fn df_errors_before_the_table() {
    // Real df prints its errors (stderr, unbuffered) before the table (stdout, buffered).
    let body = format!(
        "df: /mnt/nfs: Stale file handle\ndf: /mnt/gone: Transport endpoint is not connected\n{HEADER}\
         /dev/sda1 ext4 1000 500 500 100 10 90 /\n"
    );
    let mut s = crate::probe::sections::Sections::new();
    s.insert(
        "df".into(),
        crate::probe::sections::Section {
            name: "df".into(),
            body,
            rc: Some(1),
            elapsed_ms: Some(3),
        },
    );
    let checks = evaluate(
        &host(&[]),
        &ProbeReport::from_sections(&s),
        &timing_at(CLOCK),
        &mut HostMemory::default(),
    );
    let root = find(&checks, "system.partition./");
    assert_eq!((root.state, root.value), (State::Ok, Some(50.0)));
}
