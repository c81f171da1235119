//! Tests of the quota checks, through the system checks' [`evaluate`](crate::checks::system::evaluate).

use crate::checks::host::tests::{find, host, timing_at};
use crate::checks::system::evaluate;
use crate::checks::system::tests::{CLOCK, clock_at, report, run};
use crate::checks::{HostMemory, State};
use crate::probe::parse;
use crate::probe::report::SectionIssue;

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
