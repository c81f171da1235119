//! The smartctl of a demo host: one healthy NVMe disk per host, answered as smartmontools 7.3
//! does (JSON with `-j`, text without), so the probe's SMART section and an operator's own
//! `smartctl -H -i /dev/nvme0` read a plausible disk.

/// The host's one NVMe disk, as smartctl describes it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Disk {
    pub model: &'static str,
    pub serial: &'static str,
    pub firmware: &'static str,
    /// PCI vendor id and IEEE OUI of the maker.
    pub vendor: (u16, u32),
    pub bytes: u64,
    pub temperature: u32,
    pub power_on_hours: u64,
    pub power_cycles: u64,
    pub unsafe_shutdowns: u64,
    pub percentage_used: u32,
}

/// 1 234 567 as smartctl prints it: 1,234,567.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "960 GB", "3.84 TB", as smartctl rounds capacities.
fn capacity(bytes: u64) -> String {
    let gb = bytes as f64 / 1e9;
    if gb >= 1000.0 {
        format!("{:.2} TB", gb / 1000.0)
    } else {
        format!("{gb:.0} GB")
    }
}

/// Counters derived from the disk's age, so each host's disk reads differently.
struct Wear {
    units_read: u64,
    units_written: u64,
    host_reads: u64,
    host_writes: u64,
    busy_minutes: u64,
}

fn wear(d: &Disk) -> Wear {
    let h = d.power_on_hours;
    Wear {
        units_read: h * 3_517,
        units_written: h * 2_843,
        host_reads: h * 61_211,
        host_writes: h * 48_377,
        busy_minutes: h / 3,
    }
}

fn smart_json(d: &Disk) -> String {
    let w = wear(d);
    let blocks = d.bytes / 512;
    let v = serde_json::json!({
        "json_format_version": [1, 0],
        "smartctl": {
            "version": [7, 3],
            "svn_revision": "5338",
            "platform_info": "@@PLAT@@",
            "build_info": "(local build)",
            "argv": ["smartctl", "-j", "-n", "standby", "-H", "-A", "-i", "-d", "nvme", "/dev/nvme0"],
            "exit_status": 0
        },
        "local_time": {"time_t": "@@T@@", "asctime": "@@ASC@@"},
        "device": {"name": "/dev/nvme0", "info_name": "/dev/nvme0", "type": "nvme", "protocol": "NVMe"},
        "model_name": d.model,
        "serial_number": d.serial,
        "firmware_version": d.firmware,
        "nvme_pci_vendor": {"id": d.vendor.0, "subsystem_id": d.vendor.0},
        "nvme_ieee_oui_identifier": d.vendor.1,
        "nvme_total_capacity": d.bytes,
        "nvme_unallocated_capacity": 0,
        "nvme_controller_id": 6,
        "nvme_version": {"string": "1.4", "value": 66560},
        "nvme_number_of_namespaces": 1,
        "nvme_namespaces": [{
            "id": 1,
            "size": {"blocks": blocks, "bytes": d.bytes},
            "capacity": {"blocks": blocks, "bytes": d.bytes},
            "utilization": {"blocks": blocks / 3, "bytes": blocks / 3 * 512},
            "formatted_lba_size": 512,
            "eui64": {"oui": d.vendor.1, "ext_id": d.power_on_hours * 7_919 + 104_729}
        }],
        "user_capacity": {"blocks": blocks, "bytes": d.bytes},
        "logical_block_size": 512,
        "smart_support": {"available": true, "enabled": true},
        "smart_status": {"passed": true, "nvme": {"value": 0}},
        "nvme_smart_health_information_log": {
            "critical_warning": 0,
            "temperature": d.temperature,
            "available_spare": 100,
            "available_spare_threshold": 10,
            "percentage_used": d.percentage_used,
            "data_units_read": w.units_read,
            "data_units_written": w.units_written,
            "host_reads": w.host_reads,
            "host_writes": w.host_writes,
            "controller_busy_time": w.busy_minutes,
            "power_cycles": d.power_cycles,
            "power_on_hours": d.power_on_hours,
            "unsafe_shutdowns": d.unsafe_shutdowns,
            "media_errors": 0,
            "num_err_log_entries": 0,
            "warning_temp_time": 0,
            "critical_comp_time": 0,
            "temperature_sensors": [d.temperature, d.temperature + 8]
        },
        "temperature": {"current": d.temperature},
        "power_cycle_count": d.power_cycles,
        "power_on_time": {"hours": d.power_on_hours}
    });
    let text = serde_json::to_string_pretty(&v).unwrap_or_default();
    text.replace("\"@@T@@\"", "$_t")
        .replace("@@PLAT@@", "$_plat")
        .replace("@@ASC@@", "$_at")
}

fn smart_text(d: &Disk) -> String {
    let w = wear(d);
    let tb = |units: u64| format!("{:.1} TB", units as f64 * 512_000.0 / 1e12);
    let size = format!("{} [{}]", thousands(d.bytes), capacity(d.bytes));
    let rows: Vec<(&str, String)> = vec![
        ("Critical Warning", "0x00".into()),
        ("Temperature", format!("{} Celsius", d.temperature)),
        ("Available Spare", "100%".into()),
        ("Available Spare Threshold", "10%".into()),
        ("Percentage Used", format!("{}%", d.percentage_used)),
        (
            "Data Units Read",
            format!("{} [{}]", thousands(w.units_read), tb(w.units_read)),
        ),
        (
            "Data Units Written",
            format!("{} [{}]", thousands(w.units_written), tb(w.units_written)),
        ),
        ("Host Read Commands", thousands(w.host_reads)),
        ("Host Write Commands", thousands(w.host_writes)),
        ("Controller Busy Time", thousands(w.busy_minutes)),
        ("Power Cycles", thousands(d.power_cycles)),
        ("Power On Hours", thousands(d.power_on_hours)),
        ("Unsafe Shutdowns", thousands(d.unsafe_shutdowns)),
        ("Media and Data Integrity Errors", "0".into()),
        ("Error Information Log Entries", "0".into()),
        ("Warning  Comp. Temperature Time", "0".into()),
        ("Critical Comp. Temperature Time", "0".into()),
        ("Temperature Sensor 1", format!("{} Celsius", d.temperature)),
        (
            "Temperature Sensor 2",
            format!("{} Celsius", d.temperature + 8),
        ),
    ];
    let line = |k: &str, v: &str| format!("{:<36}{v}\n", format!("{k}:"));
    let mut s = String::from("=== START OF INFORMATION SECTION ===\n");
    for (k, v) in [
        ("Model Number", d.model.to_string()),
        ("Serial Number", d.serial.to_string()),
        ("Firmware Version", d.firmware.to_string()),
        ("PCI Vendor/Subsystem ID", format!("0x{:04x}", d.vendor.0)),
        ("IEEE OUI Identifier", format!("0x{:06x}", d.vendor.1)),
        ("Total NVM Capacity", size.clone()),
        ("Unallocated NVM Capacity", "0".into()),
        ("Controller ID", "6".into()),
        ("NVMe Version", "1.4".into()),
        ("Number of Namespaces", "1".into()),
        ("Namespace 1 Size/Capacity", size),
        ("Namespace 1 Formatted LBA Size", "512".into()),
        ("Local Time is", "$_at".into()),
    ] {
        s.push_str(&line(k, &v));
    }
    s.push_str(
        "\n=== START OF SMART DATA SECTION ===\n\
         SMART overall-health self-assessment test result: PASSED\n\n\
         SMART/Health Information (NVMe Log 0x02)\n",
    );
    for (k, v) in rows {
        s.push_str(&line(k, &v));
    }
    s
}

const SMARTCTL_SHIM: &str = r#"#!/bin/sh
# vigie demo: smartctl of a demo host with one healthy NVMe disk (@MODEL@).
# Written by vigie, removed with the demo.
_json=0 _scan=0 _version=0 _dev=
for _a in "$@"; do
	case $_a in
	-j|--json|--json=*) _json=1 ;;
	--scan-open|--scan) _scan=1 ;;
	-V|--version) _version=1 ;;
	/dev/*) _dev=$_a ;;
	esac
done
_t=$(date +%s)
_at=$(date '+%a %b %e %H:%M:%S %Y %Z')
_plat="$(uname -m)-linux-$(uname -r)"
if [ $_scan = 1 ]; then
	echo '/dev/nvme0 -d nvme # /dev/nvme0, NVMe device'
	exit 0
fi
if [ $_version = 1 ]; then
	if [ $_json = 1 ]; then
		cat <<EOF
{
  "json_format_version": [
    1,
    0
  ],
  "smartctl": {
    "version": [
      7,
      3
    ],
    "svn_revision": "5338",
    "platform_info": "$_plat",
    "build_info": "(local build)",
    "argv": [
      "smartctl",
      "-j",
      "-V"
    ],
    "exit_status": 0
  }
}
EOF
	else
		cat <<EOF
@BANNER@
smartmontools release 7.3 dated 2022-02-28 at 16:33:40 UTC
EOF
	fi
	exit 0
fi
case $_dev in
/dev/nvme0|/dev/nvme0n1) ;;
*)
	if [ $_json = 1 ]; then
		cat <<EOF
{
  "json_format_version": [
    1,
    0
  ],
  "smartctl": {
    "version": [
      7,
      3
    ],
    "messages": [
      {
        "string": "Smartctl open device: $_dev failed: No such device",
        "severity": "error"
      }
    ],
    "exit_status": 2
  }
}
EOF
	else
		cat <<EOF
@BANNER@
Smartctl open device: $_dev failed: No such device
EOF
	fi
	exit 2
	;;
esac
if [ $_json = 1 ]; then
	cat <<EOF
@JSON@
EOF
else
	cat <<EOF
@BANNER@
@TEXT@EOF
fi
exit 0
"#;

pub(crate) fn smartctl_shim(d: &Disk) -> String {
    let banner = "smartctl 7.3 2022-02-28 r5338 [$_plat] (local build)\n\
                  Copyright (C) 2002-22, Bruce Allen, Christian Franke, www.smartmontools.org\n";
    SMARTCTL_SHIM
        .replace("@MODEL@", d.model)
        .replace("@BANNER@", banner)
        .replace("@JSON@", &smart_json(d))
        .replace("@TEXT@", &smart_text(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_and_capacities_read_like_smartctl() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(960_197_124_096), "960,197,124,096");
        assert_eq!(capacity(960_197_124_096), "960 GB");
        assert_eq!(capacity(3_840_755_982_336), "3.84 TB");
    }

    #[test]
    fn the_smart_document_is_json_once_the_shell_expands_it() {
        let d = Disk {
            model: "M",
            serial: "S",
            firmware: "F",
            vendor: (0x144d, 0x002538),
            bytes: 960_197_124_096,
            temperature: 30,
            power_on_hours: 100,
            power_cycles: 3,
            unsafe_shutdowns: 1,
            percentage_used: 1,
        };
        let j = smart_json(&d)
            .replace("$_t", "1700000000")
            .replace("$_plat", "x86_64-linux-6.1")
            .replace("$_at", "now");
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["local_time"]["time_t"], 1_700_000_000);
        assert_eq!(v["smart_status"]["passed"], true);
        // Nothing the shell would expand except the three variables.
        let raw = smart_json(&d);
        assert!(!raw.contains('`') && !raw.contains('\\'));
        assert_eq!(raw.matches('$').count(), 3);
    }
}
