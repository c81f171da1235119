//! Tests of the disk checks on what the probe's SMART loop adds around smartctl's output:
//! devices `smartctl --scan-open` could not open, devices skipped when the time budget is
//! spent, and sleeping disks left asleep (`-n standby`).

use super::*;
use crate::checks::host::tests::{find, host, timing_at};
use crate::probe::parse::smart::tests::{HDD_FAILING, SATA_SSD, body};
use crate::probe::sections::{Section, Sections};

const CLOCK: f64 = 1_795_908_868.3;
const NONROOT: &str = include_str!("../../tests/fixtures/probe/smart_scan_open_nonroot.txt");
const STANDBY: &str = include_str!("../../tests/fixtures/probe/smart_standby.json");
const STANDBY_V6: &str = include_str!("../../tests/fixtures/probe/smart_standby_v6.txt");

/// The disk checks of a report whose smart section is `smart` (rc 0), at `CLOCK + later`.
fn disks(smart: &str, memory: &mut HostMemory, later: f64) -> Vec<Check> {
    let mut s = Sections::new();
    s.insert(
        "smart".into(),
        Section {
            name: "smart".into(),
            body: smart.to_string(),
            rc: Some(0),
            elapsed_ms: Some(1),
        },
    );
    let report = ProbeReport::from_sections(&s);
    let mut checks = evaluate(&host(&[]), &report, &timing_at(CLOCK + later), memory);
    checks.retain(|c| c.id.starts_with("hardware.disk"));
    checks
}

#[test]
fn no_device_could_be_opened() {
    let checks = disks(NONROOT, &mut HostMemory::default(), 0.0);
    assert_eq!(
        checks,
        vec![Check::unknown(
            "hardware.disk",
            "3 device(s) could not be opened: Permission denied (run as root or set [ssh] sudo)"
        )]
    );
}

#[test]
fn some_devices_could_not_be_opened() {
    let smart = format!(
        "@@scan # /dev/sdb -d sat # /dev/sdb [SAT], ATA device, open failed: Permission denied\n\
         {}@@scan # /dev/sdc -d scsi # /dev/sdc, SCSI device open failed: No such device\n",
        body(&[("/dev/sda", "sat", SATA_SSD, 0)])
    );
    let checks = disks(&smart, &mut HostMemory::default(), 0.0);
    assert_eq!(checks.len(), 3, "{checks:#?}");
    assert_eq!(find(&checks, "hardware.disk.sda").state, State::Ok);
    let b = find(&checks, "hardware.disk.sdb");
    assert_eq!(
        (b.state, b.summary.as_str()),
        (
            State::Unknown,
            "/dev/sdb: could not be opened: Permission denied (run as root or set [ssh] sudo)"
        )
    );
    let c = find(&checks, "hardware.disk.sdc");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (
            State::Unknown,
            "/dev/sdc: could not be opened: No such device"
        )
    );
}

#[test]
fn skipped_devices_without_and_with_an_earlier_reading() {
    let skipped = "@@skipped /dev/sdb (SMART time budget of 20 s spent)\n";
    let mut memory = HostMemory::default();
    let smart = format!("{}{skipped}", body(&[("/dev/sda", "sat", SATA_SSD, 0)]));
    let checks = disks(&smart, &mut memory, 0.0);
    let b = find(&checks, "hardware.disk.sdb");
    assert_eq!(
        (b.state, b.summary.as_str()),
        (
            State::Unknown,
            "/dev/sdb: not read this time: SMART time budget spent"
        )
    );

    // Read once (failing), then skipped 5 minutes later: the reading is reused, dated.
    let mut memory = HostMemory::default();
    let first = disks(
        &body(&[("/dev/sdb", "sat", HDD_FAILING, 24)]),
        &mut memory,
        0.0,
    );
    let read = find(&first, "hardware.disk.sdb").clone();
    assert_eq!(read.state, State::Crit);
    let checks = disks(skipped, &mut memory, 300.0);
    let b = find(&checks, "hardware.disk.sdb");
    assert_eq!(b.state, State::Crit);
    assert_eq!(
        b.summary,
        format!(
            "{} (read 5 min ago; not read this time: SMART time budget spent)",
            read.summary
        )
    );
    // Skipped again: still dated from the reading itself.
    let checks = disks(skipped, &mut memory, 900.0);
    assert!(
        find(&checks, "hardware.disk.sdb")
            .summary
            .ends_with("(read 15 min ago; not read this time: SMART time budget spent)"),
        "{checks:#?}"
    );
}

#[test]
fn sleeping_disks_are_not_woken_nor_failing() {
    for (out, what) in [(STANDBY, "JSON"), (STANDBY_V6, "text")] {
        let smart = body(&[("/dev/sdb", "sat", out, 2)]);
        let checks = disks(&smart, &mut HostMemory::default(), 0.0);
        let b = find(&checks, "hardware.disk.sdb");
        assert_eq!(
            (b.state, b.summary.as_str()),
            (State::Ok, "/dev/sdb: asleep (standby), not woken"),
            "{what}"
        );
    }
    // With an earlier reading: its health and counters, dated.
    let mut memory = HostMemory::default();
    disks(&body(&[("/dev/sdb", "sat", SATA_SSD, 0)]), &mut memory, 0.0);
    let checks = disks(
        &body(&[("/dev/sdb", "sat", STANDBY, 2)]),
        &mut memory,
        7200.0,
    );
    let b = find(&checks, "hardware.disk.sdb");
    assert_eq!(b.state, State::Ok);
    assert_eq!(
        b.summary,
        "Samsung SSD 860 EVO 500GB: asleep (standby), not woken; last read 2 h ago: healthy; \
         reallocated 0, CRC errors 0"
    );
}
