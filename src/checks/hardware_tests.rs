//! Tests of the hardware checks: SMART and software RAID.

use super::*;
use crate::checks::host::tests::{find, host, timing_at};
use crate::probe::parse::smart::tests::{HDD_FAILING, NVME_WARNING, SAS, SATA_SSD, V6_TEXT, body};
use crate::probe::sections::{Section, Sections};

const CLOCK: f64 = 1_795_908_868.3;

fn report(bodies: &[(&str, &str, i32)]) -> ProbeReport {
    let mut s = Sections::new();
    for (name, body, rc) in bodies {
        s.insert(
            name.to_string(),
            Section {
                name: name.to_string(),
                body: body.to_string(),
                rc: Some(*rc),
                elapsed_ms: Some(1),
            },
        );
    }
    ProbeReport::from_sections(&s)
}

fn run(bodies: &[(&str, &str, i32)], memory: &mut HostMemory) -> Vec<Check> {
    run_at(bodies, memory, CLOCK)
}

/// The disk checks (the other sections of these reports are missing on purpose).
fn run_at(bodies: &[(&str, &str, i32)], memory: &mut HostMemory, at: f64) -> Vec<Check> {
    let mut checks = evaluate(&host(&[]), &report(bodies), &timing_at(at), memory);
    checks.retain(|c| c.id.starts_with("hardware.disk"));
    checks
}

#[test]
fn healthy_and_failing_disks() {
    let smart = body(&[
        ("/dev/sda", "sat", SATA_SSD, 0),
        ("/dev/sdb", "sat", HDD_FAILING, 24),
        ("/dev/nvme0", "nvme", NVME_WARNING, 8),
        ("/dev/sdc", "scsi", SAS, 0),
        ("/dev/sdd", "sat", V6_TEXT, 0),
    ]);
    let checks = run(&[("smart", &smart, 0)], &mut HostMemory::default());
    assert_eq!(checks.len(), 5);
    let sda = find(&checks, "hardware.disk.sda");
    assert_eq!(sda.state, State::Ok);
    assert_eq!(
        sda.summary,
        "Samsung SSD 860 EVO 500GB: healthy; reallocated 0, CRC errors 0"
    );
    let sdb = find(&checks, "hardware.disk.sdb");
    assert_eq!(sdb.state, State::Crit);
    assert_eq!(
        sdb.summary,
        "ST3000DM001-1ER166: FAILING (SMART health check failed), at threshold now: Reallocated_Sector_Ct; \
         reallocated 3960, pending 48, uncorrectable 48, CRC errors 0"
    );
    let nvme = find(&checks, "hardware.disk.nvme0");
    assert_eq!(nvme.state, State::Crit);
    assert_eq!(
        nvme.summary,
        "Samsung SSD 970 EVO Plus 1TB: FAILING (SMART health check failed), critical warning: reliability degraded; media errors 12"
    );
    let sas = find(&checks, "hardware.disk.sdc");
    assert_eq!(sas.state, State::Ok);
    assert_eq!(sas.summary, "SEAGATE ST600MM0006: healthy; grown defects 7");
    let wd = find(&checks, "hardware.disk.sdd");
    assert_eq!(wd.state, State::Warn);
    assert_eq!(
        wd.summary,
        "WDC WD20EFRX-68EUZN0: unreadable sectors; reallocated 0, pending 2, uncorrectable 0, CRC errors 0"
    );
}

#[test]
fn rising_counters_are_critical() {
    let mut memory = HostMemory::default();
    let first = body(&[("/dev/sdc", "scsi", SAS, 0)]);
    assert_eq!(
        find(
            &run(&[("smart", &first, 0)], &mut memory),
            "hardware.disk.sdc"
        )
        .state,
        State::Ok
    );
    // Same disk (same serial), now in another slot, with two more grown defects.
    let grown = SAS.replace(
        "\"scsi_grown_defect_list\": 7",
        "\"scsi_grown_defect_list\": 9",
    );
    let second = body(&[("/dev/sdf", "scsi", &grown, 0)]);
    let c = find(
        &run(&[("smart", &second, 0)], &mut memory),
        "hardware.disk.sdf",
    )
    .clone();
    assert_eq!(c.state, State::Crit);
    assert_eq!(
        c.summary,
        "SEAGATE ST600MM0006: grown defects rising 7 → 9; grown defects 9"
    );
    // Stable at 9 on the next reading: still CRIT, the rise is held for a day (a check run
    // from cron, or an operator who looked away, must still see it).
    let c = find(
        &run(&[("smart", &second, 0)], &mut memory),
        "hardware.disk.sdf",
    )
    .clone();
    assert_eq!(c.state, State::Crit);
    assert!(
        c.summary.contains("grown defects rising 7 → 9 (seen"),
        "{}",
        c.summary
    );
    // A day later, stable: back to OK. (The baseline goes through its file format.)
    let json = serde_json::to_string(&memory.smart_state()).unwrap();
    let saved: crate::checks::host::SmartState = serde_json::from_str(&json).unwrap();
    assert_eq!(saved, memory.smart_state());
    let mut later = HostMemory::default();
    later.restore_smart_state(saved);
    for rise in later.smart_rises.values_mut() {
        rise.at -= jiff::SignedDuration::from_hours(25);
    }
    let c = find(
        &run(&[("smart", &second, 0)], &mut later),
        "hardware.disk.sdf",
    )
    .clone();
    assert_eq!(c.state, State::Ok, "{}", c.summary);
    memory = later;
    // A CRC error count rising on the healthy SSD.
    run(
        &[("smart", &body(&[("/dev/sda", "sat", SATA_SSD, 0)]), 0)],
        &mut memory,
    );
    let mut v: serde_json::Value = serde_json::from_str(SATA_SSD).unwrap();
    let table = v
        .pointer_mut("/ata_smart_attributes/table")
        .unwrap()
        .as_array_mut()
        .unwrap();
    for a in table.iter_mut() {
        if a["id"] == 199 {
            a["raw"]["value"] = 3.into();
        }
    }
    let crc = format!("{}\n", serde_json::to_string_pretty(&v).unwrap());
    let c = find(
        &run(
            &[("smart", &body(&[("/dev/sda", "sat", &crc, 0)]), 0)],
            &mut memory,
        ),
        "hardware.disk.sda",
    )
    .clone();
    assert_eq!(c.state, State::Crit);
    assert!(
        c.summary.contains("CRC errors rising 0 → 3"),
        "{}",
        c.summary
    );
}

#[test]
fn smart_not_run_keeps_the_last_result() {
    let mut memory = HostMemory::default();
    let smart = body(&[("/dev/sdb", "sat", HDD_FAILING, 24)]);
    let first = run(&[("smart", &smart, 0)], &mut memory);
    let later = run_at(
        &[("stat2", "cpu  1 1 1 1\n", 0)],
        &mut memory,
        CLOCK + 3600.0,
    );
    let c = find(&later, "hardware.disk.sdb");
    assert_eq!(c.state, State::Crit);
    assert_eq!(
        c.summary,
        format!(
            "{} (read 60 min ago)",
            find(&first, "hardware.disk.sdb").summary
        )
    );
}

#[test]
fn smart_issues() {
    let mut memory = HostMemory::default();
    let c = run(
        &[("smart", "VIGIE_NOT_INSTALLED smartctl\n", 127)],
        &mut memory,
    );
    assert_eq!(
        c,
        vec![Check::unknown("hardware.disk", "smartctl not installed")]
    );
    let c = run(
        &[("smart", "sudo: a password is required\n", 1)],
        &mut memory,
    );
    assert_eq!(
        c,
        vec![Check::unknown(
            "hardware.disk",
            "smartctl: exit 1: sudo: a password is required"
        )]
    );
    let c = run(&[("smart", "", 0)], &mut memory);
    assert!(
        c.is_empty(),
        "no disk found by smartctl --scan-open: no check"
    );
    // The issue is what is remembered, too.
    let c = run(&[("smart", "", 124)], &mut memory);
    assert_eq!(c[0].summary, "smartctl: timed out");
    let c = run(&[("stat2", "cpu  1 1 1 1\n", 0)], &mut memory);
    assert_eq!(c[0].summary, "smartctl: timed out");
}

#[test]
fn unreadable_devices() {
    let old = "smartctl: invalid option -- 'j'\n=======> UNRECOGNIZED OPTION: j\n";
    let virt = r#"{"device":{"name":"/dev/sda","type":"scsi","protocol":"SCSI"},"scsi_model_name":"QEMU QEMU HARDDISK","smart_support":{"available":false}}"#;
    let smart = body(&[
        ("/dev/sda", "sat", old, 1),
        ("/dev/sdb", "scsi", &format!("{virt}\n"), 4),
        ("/dev/sdc", "sat", "{\"json_format_version\": [1,", 124),
    ]);
    let checks = run(&[("smart", &smart, 0)], &mut HostMemory::default());
    let a = find(&checks, "hardware.disk.sda");
    assert_eq!(a.state, State::Unknown);
    assert_eq!(
        a.summary,
        "/dev/sda: cannot read SMART: smartctl is older than 7.0 and has no JSON output (-j)"
    );
    let b = find(&checks, "hardware.disk.sdb");
    assert_eq!(
        (b.state, b.summary.as_str()),
        (State::Ok, "QEMU QEMU HARDDISK: no SMART on this device")
    );
    let c = find(&checks, "hardware.disk.sdc");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Unknown, "/dev/sdc: smartctl timed out")
    );
}

macro_rules! mdstat {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/probe/", $name))
    };
}

fn raid_checks(body: &str) -> Vec<Check> {
    let mut checks = evaluate(
        &host(&[]),
        &report(&[("mdstat", body, 0)]),
        &timing_at(CLOCK),
        &mut HostMemory::default(),
    );
    checks.retain(|c| c.id.starts_with("hardware.raid"));
    checks
}

#[test]
fn raid_clean_and_degraded() {
    let c = raid_checks(mdstat!("mdstat_raid1_clean.txt"));
    let md0 = find(&c, "hardware.raid.md0");
    assert_eq!(
        (md0.state, md0.summary.as_str()),
        (State::Ok, "raid1 [UU], 2/2 devices up")
    );
    let c = raid_checks(mdstat!("mdstat_raid1_degraded.txt"));
    let md0 = find(&c, "hardware.raid.md0");
    assert_eq!(md0.state, State::Crit);
    assert_eq!(
        md0.summary,
        "raid1 degraded [U_], 1/2 devices up, failed: sdb1"
    );
    assert_eq!(find(&c, "hardware.raid.md1").state, State::Crit);
}

#[test]
fn raid_resync_recovery_check() {
    let c = raid_checks(mdstat!("mdstat_resync.txt"));
    let md0 = find(&c, "hardware.raid.md0");
    assert_eq!(md0.state, State::Warn);
    assert_eq!(
        md0.summary,
        "raid1 resync 22.1 %, 63 min left [UU], 2/2 devices up"
    );
    assert_eq!(md0.value, Some(22.1));
    let md1 = find(&c, "hardware.raid.md1");
    assert_eq!(md1.state, State::Warn);
    assert!(
        md1.summary.starts_with("raid1 resync delayed"),
        "{}",
        md1.summary
    );
    assert_eq!(find(&c, "hardware.raid.md2").state, State::Warn);

    // Degraded is CRIT (SPEC §4) even while it recovers: one more failure loses the array.
    let c = raid_checks(mdstat!("mdstat_recovery.txt"));
    let r = find(&c, "hardware.raid.md127");
    assert_eq!(r.state, State::Crit, "{}", r.summary);
    assert_eq!(
        r.summary,
        "raid5 degraded [UUU_], recovery 12.6 %, 2 h 45 min left, 3/4 devices up"
    );
    assert_eq!(r.value, Some(12.6));

    let c = raid_checks(mdstat!("mdstat_check.txt"));
    let r = find(&c, "hardware.raid.md0");
    assert_eq!(
        (r.state, r.summary.as_str()),
        (State::Ok, "raid1 [UU], 2/2 devices up, check 43.5 %")
    );
}

#[test]
fn raid_degraded_is_critical_whatever_the_sync() {
    let degraded = |sync: &str| {
        let body = format!(
            "Personalities : [raid1] [raid5]\nmd3 : active raid5 sdc1[3] sdb1[1] sda1[0]\n      \
             1953259520 blocks super 1.2 level 5, 512k chunk, algorithm 2 [3/2] [UU_]\n{sync}"
        );
        raid_checks(&body).remove(0)
    };
    let r = degraded(
        "      [==>..................]  recovery = 12.3% (120233472/976629760) finish=78.1min speed=182544K/sec\n",
    );
    assert_eq!(r.state, State::Crit);
    assert_eq!(
        r.summary,
        "raid5 degraded [UU_], recovery 12.3 %, 78 min left, 2/3 devices up"
    );
    let r = degraded(
        "      [=>...................]  resync =  7.9% (77260032/976629760) finish=90.2min speed=166113K/sec\n",
    );
    assert_eq!(r.state, State::Crit, "{}", r.summary);
    assert!(
        r.summary.starts_with("raid5 degraded [UU_], resync 7.9 %"),
        "{}",
        r.summary
    );
    let r = degraded("        resync=DELAYED\n");
    assert_eq!(r.state, State::Crit);
    assert_eq!(
        r.summary,
        "raid5 degraded [UU_], resync delayed (waits for another array), 2/3 devices up"
    );
    let r = degraded("        resync=PENDING\n");
    assert_eq!(r.state, State::Crit);
    assert!(
        r.summary.contains("degraded [UU_], resync pending"),
        "{}",
        r.summary
    );
    let r = degraded("        recovery=DELAYED\n");
    assert_eq!(r.state, State::Crit);
    // A clean array resyncing stays WARN, and a check on a clean array OK.
    let clean = "Personalities : [raid1]\nmd0 : active raid1 sdb1[1] sda1[0]\n      \
                 976630464 blocks super 1.2 [2/2] [UU]\n      \
                 [====>................]  resync = 22.1% (215930752/976630464) finish=63.4min speed=199955K/sec\n";
    assert_eq!(raid_checks(clean)[0].state, State::Warn);
    let checking = clean.replace("resync =", "check =");
    assert_eq!(raid_checks(&checking)[0].state, State::Ok);
}

#[test]
fn raid_levels_and_containers() {
    let c = raid_checks(mdstat!("mdstat_raid10_raid6_raid0.txt"));
    assert_eq!(
        find(&c, "hardware.raid.md0").summary,
        "raid10 [UUUU], 4/4 devices up"
    );
    assert_eq!(find(&c, "hardware.raid.md2").summary, "raid0, 2 devices");
    let md1 = find(&c, "hardware.raid.md1");
    assert_eq!(md1.state, State::Crit);
    assert_eq!(
        md1.summary,
        "raid6 degraded [UUU_UU], 5/6 devices up, failed: sdi1"
    );

    let c = raid_checks(mdstat!("mdstat_imsm.txt"));
    assert_eq!(find(&c, "hardware.raid.md126").state, State::Ok);
    let md127 = find(&c, "hardware.raid.md127");
    assert_eq!(
        (md127.state, md127.summary.as_str()),
        (State::Ok, "container of 2 devices")
    );

    let inactive =
        "Personalities : [raid1]\nmd9 : inactive sdx1[0](S)\n      976630464 blocks super 1.2\n";
    let r = raid_checks(inactive);
    assert_eq!(
        (r[0].state, r[0].summary.as_str()),
        (State::Crit, "inactive (sdx1)")
    );

    let replaced = "Personalities : [raid1]\nmd0 : active raid1 sdc1[2] sdb1[1](F) sda1[0]\n      \
                    976630464 blocks super 1.2 [2/2] [UU]\n";
    let r = raid_checks(replaced);
    assert_eq!(r[0].state, State::Warn);
    assert_eq!(r[0].summary, "raid1 [UU], 2/2 devices up, failed: sdb1");

    assert!(raid_checks(mdstat!("mdstat_none.txt")).is_empty());
    assert!(raid_checks("VIGIE_ABSENT\n").is_empty());
    let r = raid_checks("garbage\n");
    assert_eq!(r[0].id, "hardware.raid");
    assert_eq!(r[0].state, State::Unknown);
}
