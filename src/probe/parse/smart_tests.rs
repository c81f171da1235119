//! Tests of the `smart` section parser; the fixtures and `body` are shared with the hardware
//! check tests.

use super::*;

pub(crate) const SATA_SSD: &str = include_str!("../../../tests/fixtures/probe/smart_sata_ssd.json");
pub(crate) const HDD_FAILING: &str =
    include_str!("../../../tests/fixtures/probe/smart_hdd_failing.json");
pub(crate) const NVME_WARNING: &str =
    include_str!("../../../tests/fixtures/probe/smart_nvme_warning.json");
pub(crate) const SAS: &str = include_str!("../../../tests/fixtures/probe/smart_sas.json");
pub(crate) const V6_TEXT: &str = include_str!("../../../tests/fixtures/probe/smart_v6_text.txt");

/// A smart section body as the probe frames it.
pub(crate) fn body(devs: &[(&str, &str, &str, i32)]) -> String {
    devs.iter()
        .map(|(d, t, out, rc)| format!("@@dev {d} {t}\n{out}@@rc {rc}\n"))
        .collect()
}

fn one(dev: &str, t: &str, out: &str, rc: i32) -> SmartDevice {
    let mut v = parse(&body(&[(dev, t, out, rc)])).unwrap().devices;
    assert_eq!(v.len(), 1);
    v.remove(0)
}

#[test]
fn healthy_sata_ssd() {
    // smartctl 7.3, Samsung SSD 860 EVO on Debian 12.
    let d = one("/dev/sda", "sat", SATA_SSD, 0);
    assert_eq!(d.id(), "sda");
    assert_eq!(d.protocol, Some(Protocol::Ata));
    assert_eq!(d.model.as_deref(), Some("Samsung SSD 860 EVO 500GB"));
    assert_eq!(d.serial.as_deref(), Some("S3Z2NB0K812345X"));
    assert_eq!(d.passed, Some(true));
    assert_eq!(d.counter(Counter::Reallocated), Some(0));
    assert_eq!(d.counter(Counter::UdmaCrc), Some(0));
    assert_eq!(
        d.counter(Counter::Pending),
        None,
        "the 860 EVO has no attribute 197"
    );
    assert!(!d.failing() && !d.command_failed());
}

#[test]
fn failing_hdd() {
    // smartctl 7.2, Seagate ST3000DM001 on RHEL 8.
    let d = one("/dev/sdb", "sat", HDD_FAILING, 24);
    assert_eq!(d.passed, Some(false));
    assert!(d.failing());
    assert_eq!(d.counter(Counter::Reallocated), Some(3960));
    assert_eq!(d.counter(Counter::Pending), Some(48));
    assert_eq!(d.counter(Counter::OfflineUncorrectable), Some(48));
    assert_eq!(d.failing_attributes, ["Reallocated_Sector_Ct"]);
}

#[test]
fn nvme_with_critical_warning() {
    // smartctl 7.4, Samsung 970 EVO Plus on Debian 13.
    let d = one("/dev/nvme0", "nvme", NVME_WARNING, 8);
    assert_eq!(d.id(), "nvme0");
    assert_eq!(d.protocol, Some(Protocol::Nvme));
    assert_eq!(d.nvme_critical_warning, Some(4));
    assert_eq!(nvme_warnings(4), ["reliability degraded"]);
    assert_eq!(d.counter(Counter::MediaErrors), Some(12));
    assert!(d.failing());
}

#[test]
fn sas_disk() {
    // smartctl 7.3, Seagate ST600MM0006 SAS on Debian 12.
    let d = one("/dev/sdc", "scsi", SAS, 0);
    assert_eq!(d.protocol, Some(Protocol::Scsi));
    assert_eq!(d.model.as_deref(), Some("SEAGATE ST600MM0006"));
    assert_eq!(d.counter(Counter::GrownDefects), Some(7));
    assert_eq!(d.passed, Some(true));
    assert!(!d.failing());
}

#[test]
fn smartctl6_text() {
    // smartctl 6.6, WD Red on Debian 10 (no -j: text output).
    let d = one("/dev/sdd", "sat", V6_TEXT, 0);
    assert_eq!(d.model.as_deref(), Some("WDC WD20EFRX-68EUZN0"));
    assert_eq!(d.serial.as_deref(), Some("WD-WCC4M1KXY7Z2"));
    assert_eq!(d.passed, Some(true));
    assert_eq!(d.counter(Counter::Pending), Some(2));
    assert_eq!(d.counter(Counter::Reallocated), Some(0));
    assert_eq!(d.counter(Counter::UdmaCrc), Some(0));
    assert!(!d.failing());
}

#[test]
fn smartctl6_given_j() {
    let out = "smartctl: invalid option -- 'j'\n=======> UNRECOGNIZED OPTION: j\n\nUse smartctl -h to get a usage summary\n\n";
    let d = one("/dev/sda", "sat", out, 1);
    assert!(d.unreadable() && d.command_failed());
    assert!(d.messages[0].contains("older than 7.0"));
}

#[test]
fn text_scsi_and_nvme() {
    let scsi = "=== START OF INFORMATION SECTION ===\nVendor:               HGST\nProduct:              HUC101860CSS200\n\
                Serial number:        0BGK1234\n=== START OF READ SMART DATA SECTION ===\n\
                SMART Health Status: FAILURE PREDICTION THRESHOLD EXCEEDED [asc=5d, ascq=10]\n\n\
                Elements in grown defect list: 1024\n";
    let d = one("/dev/sde", "scsi", scsi, 8);
    assert_eq!(d.model.as_deref(), Some("HGST HUC101860CSS200"));
    assert_eq!(d.passed, Some(false));
    assert_eq!(d.counter(Counter::GrownDefects), Some(1024));
    let nvme = "Model Number:                       INTEL SSDPE2KX010T8\nSerial Number:                      PHLJ0000\n\
                SMART overall-health self-assessment test result: PASSED\n\
                Critical Warning:                   0x00\nMedia and Data Integrity Errors:    1,234\n";
    let d = one("/dev/nvme1", "nvme", nvme, 0);
    assert_eq!(d.nvme_critical_warning, Some(0));
    assert_eq!(d.counter(Counter::MediaErrors), Some(1234));
}

#[test]
fn megaraid_ids_and_timeouts() {
    let v = parse(&body(&[
        ("/dev/bus/0", "megaraid,0", SATA_SSD, 0),
        (
            "/dev/bus/0",
            "megaraid,1",
            "{\n  \"json_format_version\": [",
            124,
        ),
    ]))
    .unwrap()
    .devices;
    assert_eq!(v[0].id(), "bus/0:megaraid,0");
    assert_eq!(v[1].id(), "bus/0:megaraid,1");
    assert!(v[1].unreadable());
    assert_eq!(v[1].exit_status, Some(124));
    assert!(v[1].timed_out);
    assert!(
        !v[1].command_failed(),
        "124 is timeout's status, not smartctl's bits"
    );
    // The same 124 as smartctl's own bitmask, with complete JSON, is not a timeout.
    let json = r#"{"smartctl":{"exit_status":124},"smart_status":{"passed":false}}"#;
    let d = one("/dev/sda", "sat", &format!("{json}\n"), 124);
    assert!(!d.timed_out && d.failing() && d.command_failed());
}

#[test]
fn noise_around_the_json() {
    let out =
        format!("sudo: unable to resolve host prod: Name or service not known\n{SAS}trailing\n");
    let d = one("/dev/sdc", "scsi", &out, 0);
    assert_eq!(d.counter(Counter::GrownDefects), Some(7));
    assert_eq!(d.passed, Some(true));
}

#[test]
fn device_without_smart() {
    let out = r#"{"device":{"name":"/dev/sda","type":"scsi","protocol":"SCSI"},"scsi_model_name":"QEMU QEMU HARDDISK","smart_support":{"available":false,"enabled":false},"smartctl":{"exit_status":4}}"#;
    let d = one("/dev/sda", "scsi", &format!("{out}\n"), 4);
    assert_eq!(d.smart_available, Some(false));
    assert_eq!(d.model.as_deref(), Some("QEMU QEMU HARDDISK"));
}

#[test]
fn empty_and_broken_bodies() {
    assert_eq!(parse("").unwrap(), SmartReport::default());
    assert!(parse("smartctl: permission denied\n").is_err());
    // Cut short: no @@rc.
    let v = parse("@@dev /dev/sda sat\n{\"smart_status\":")
        .unwrap()
        .devices;
    assert_eq!(v[0].exit_status, None);
    assert!(v[0].unreadable());
}

pub(crate) const STANDBY: &str = include_str!("../../../tests/fixtures/probe/smart_standby.json");
pub(crate) const STANDBY_V6: &str =
    include_str!("../../../tests/fixtures/probe/smart_standby_v6.txt");

#[test]
fn devices_scan_open_could_not_open() {
    // smartctl 7.3 as a user who may not open the disks: every device is a comment.
    let r = parse(include_str!(
        "../../../tests/fixtures/probe/smart_scan_open_nonroot.txt"
    ))
    .unwrap();
    assert!(r.devices.is_empty() && r.skipped.is_empty());
    let ids: Vec<String> = r.unopenable.iter().map(Unopenable::id).collect();
    assert_eq!(ids, ["sda", "sdb", "nvme0"]);
    let u = &r.unopenable[2];
    assert_eq!(
        (u.device.as_str(), u.dev_type.as_str(), u.reason.as_str()),
        ("/dev/nvme0", "nvme", "Permission denied")
    );
    assert!(u.denied());
    // Among readable devices, with the reason after a comma too; other comments are not
    // devices.
    let body = format!(
        "@@scan # /dev/sdb -d sat # /dev/sdb [SAT], ATA device, open failed: Permission denied\n\
         {}@@scan # /dev/bus/0 -d megaraid,2 # /dev/bus/0 [megaraid_disk_02], SCSI device open failed: No such device\n\
         @@scan # scan_smart_devices: glob(3) aborted matching pattern /dev/discs/disc*\n",
        body(&[("/dev/sda", "sat", SATA_SSD, 0)])
    );
    let r = parse(&body).unwrap();
    assert_eq!(r.devices.len(), 1);
    assert_eq!(r.unopenable.len(), 2);
    assert_eq!(r.unopenable[0].dev_type, "sat");
    assert_eq!(r.unopenable[1].id(), "bus/0:megaraid,2");
    assert_eq!(r.unopenable[1].reason, "No such device");
    assert!(!r.unopenable[1].denied());
}

#[test]
fn devices_skipped_for_time() {
    let body = format!(
        "{}@@skipped /dev/sdb (SMART time budget of 20 s spent)\n@@skipped /dev/bus/0 (SMART time budget of 20 s spent)\n",
        body(&[("/dev/sda", "sat", SATA_SSD, 0)])
    );
    let r = parse(&body).unwrap();
    assert_eq!(r.devices.len(), 1);
    assert_eq!(
        r.skipped[0],
        Skipped {
            device: "/dev/sdb".into(),
            why: "SMART time budget of 20 s spent".into()
        }
    );
    assert_eq!(r.skipped[1].id(), "bus/0");
    // Only skipped devices: not an error.
    assert_eq!(parse("@@skipped /dev/sdc (x)\n").unwrap().skipped.len(), 1);
    // Inside a device's output, marker-like lines are smartctl's text.
    let r = parse("@@dev /dev/sda sat\n@@skipped /dev/sdz (x)\n@@rc 1\n").unwrap();
    assert!(r.skipped.is_empty() && r.devices.len() == 1);
}

#[test]
fn sleeping_disks() {
    // smartctl 7.3 -j -n standby: an information message, exit status 2, no data.
    let d = one("/dev/sdb", "sat", STANDBY, 2);
    assert_eq!(d.standby.as_deref(), Some("standby"));
    assert_eq!(d.exit_status, Some(2));
    assert!(d.messages.is_empty(), "information only: {:?}", d.messages);
    assert!(!d.failing() && d.unreadable());
    // smartctl 6 text.
    let d = one("/dev/sdb", "sat", STANDBY_V6, 2);
    assert_eq!(d.standby.as_deref(), Some("standby"));
    assert!(d.messages.is_empty() && !d.failing());
    assert_eq!(
        standby_mode("Device is in SLEEP mode, exit(2)").as_deref(),
        Some("sleep")
    );
    assert_eq!(
        standby_mode("Device is in STANDBY (OS) mode, exit(2)").as_deref(),
        Some("standby")
    );
    assert_eq!(standby_mode("Device is in ACTIVE or IDLE mode"), None);
    // A disk that is awake is not in standby, whatever its exit status.
    let d = one("/dev/sdb", "sat", HDD_FAILING, 24);
    assert!(d.standby.is_none() && d.failing());
    // Never failing asleep, even with the failing bit set.
    let d = SmartDevice {
        standby: Some("standby".into()),
        exit_status: Some(8),
        ..SmartDevice::default()
    };
    assert!(!d.failing());
}

proptest::proptest! {
    #[test]
    fn never_panics(s in proptest::prelude::any::<String>()) {
        for d in parse(&s).unwrap_or_default().devices {
            let _ = (d.id(), d.failing(), d.unreadable(), d.command_failed());
        }
        let _ = parse(&format!("@@dev /dev/sda sat\n{s}\n@@rc 0\n"));
        let _ = parse(&format!("@@dev /dev/sda sat\n{{{s}\n@@rc 0\n"));
        let _ = parse(&format!("@@scan {s}\n@@skipped {s}\n@@dev /dev/sda sat\nDevice is in {s}\n@@rc 2\n"));
    }

    #[test]
    fn any_bits_never_panic(w in proptest::prelude::any::<u64>(), rc in proptest::prelude::any::<i32>()) {
        let _ = nvme_warnings(w);
        let d = SmartDevice { exit_status: Some(rc), ..SmartDevice::default() };
        let _ = (d.failing(), d.command_failed(), d.failed_in_the_past());
    }
}
