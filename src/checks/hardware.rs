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
mod tests {
    use super::*;
    use crate::checks::host::tests::{find, host, timing_at};
    use crate::probe::parse::smart::tests::{
        HDD_FAILING, NVME_WARNING, SAS, SATA_SSD, V6_TEXT, body,
    };
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
        // Stable at 9 on the next reading: back to OK.
        let c = find(
            &run(&[("smart", &second, 0)], &mut memory),
            "hardware.disk.sdf",
        )
        .clone();
        assert_eq!(c.state, State::Ok);
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

        let c = raid_checks(mdstat!("mdstat_recovery.txt"));
        let r = find(&c, "hardware.raid.md127");
        assert_eq!(r.state, State::Warn, "recovery of a degraded array is WARN");
        assert_eq!(
            r.summary,
            "raid5 recovery 12.6 %, 2 h 45 min left [UUU_], 3/4 devices up"
        );

        let c = raid_checks(mdstat!("mdstat_check.txt"));
        let r = find(&c, "hardware.raid.md0");
        assert_eq!(
            (r.state, r.summary.as_str()),
            (State::Ok, "raid1 [UU], 2/2 devices up, check 43.5 %")
        );
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

        let inactive = "Personalities : [raid1]\nmd9 : inactive sdx1[0](S)\n      976630464 blocks super 1.2\n";
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
}
