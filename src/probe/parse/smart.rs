//! `smart`: per device, a line `@@dev <path> <type>`, the output of
//! `smartctl -j -n standby -H -A -i [-d type] <path>` (JSON; text from smartctl 6, which has no
//! `-j`), then `@@rc <exit status>`. Between devices, the probe adds a line
//! `@@scan # <path> -d <type> # <info>, <protocol> device open failed: <reason>` for each device
//! `smartctl --scan-open` could not open, and `@@skipped <path> (<why>)` for each device it
//! did not query because the SMART time budget was spent.

use super::{ParseError, clean, key_value, leading_u64};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Ata,
    Nvme,
    Scsi,
}

impl Protocol {
    pub fn word(self) -> &'static str {
        match self {
            Protocol::Ata => "ATA",
            Protocol::Nvme => "NVMe",
            Protocol::Scsi => "SCSI",
        }
    }
}

/// The error counters that must never rise on a healthy disk.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Counter {
    /// ATA 5 Reallocated_Sector_Ct.
    Reallocated,
    /// ATA 197 Current_Pending_Sector: sectors that cannot be read now.
    Pending,
    /// ATA 198 Offline_Uncorrectable.
    OfflineUncorrectable,
    /// ATA 199 UDMA_CRC_Error_Count: cabling/backplane errors.
    UdmaCrc,
    /// NVMe "Media and Data Integrity Errors".
    MediaErrors,
    /// SCSI "Elements in grown defect list".
    GrownDefects,
}

impl Counter {
    pub fn label(self) -> &'static str {
        match self {
            Counter::Reallocated => "reallocated",
            Counter::Pending => "pending",
            Counter::OfflineUncorrectable => "uncorrectable",
            Counter::UdmaCrc => "CRC errors",
            Counter::MediaErrors => "media errors",
            Counter::GrownDefects => "grown defects",
        }
    }

    fn from_ata_id(id: u64) -> Option<Counter> {
        Some(match id {
            5 => Counter::Reallocated,
            197 => Counter::Pending,
            198 => Counter::OfflineUncorrectable,
            199 => Counter::UdmaCrc,
            _ => return None,
        })
    }
}

/// smartctl's exit status bits (man smartctl, "RETURN VALUES").
pub mod exit_bits {
    /// Command line did not parse.
    pub const CMDLINE: i32 = 1 << 0;
    /// Device open failed, or the device did not return an IDENTIFY response
    /// (also: in a low-power mode with `-n`).
    pub const OPEN: i32 = 1 << 1;
    /// Some SMART or other ATA command failed, or a SMART data checksum error.
    pub const COMMAND: i32 = 1 << 2;
    /// SMART status check returned "DISK FAILING".
    pub const FAILING: i32 = 1 << 3;
    /// Prefail attributes at or below threshold now.
    pub const PREFAIL_NOW: i32 = 1 << 4;
    /// Usage or prefail attributes were at or below threshold in the past.
    pub const THRESHOLD_PAST: i32 = 1 << 5;
    /// The error log has errors.
    pub const ERROR_LOG: i32 = 1 << 6;
    /// The self-test log has errors.
    pub const SELFTEST_LOG: i32 = 1 << 7;
}

/// One device as smartctl reported it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmartDevice {
    /// e.g. "/dev/sda", "/dev/nvme0", "/dev/bus/0".
    pub device: String,
    /// The `-d` type from `smartctl --scan-open` ("sat", "nvme", "megaraid,0"…) or "auto".
    pub dev_type: String,
    /// smartctl's exit status: from its JSON when there is one, else the `@@rc` line.
    pub exit_status: Option<i32>,
    /// smartctl was killed by `timeout` (status 124 or 137 and no complete output).
    pub timed_out: bool,
    pub protocol: Option<Protocol>,
    pub model: Option<String>,
    pub serial: Option<String>,
    /// `Some(false)`: the device lacks SMART (virtual disks, some USB bridges).
    pub smart_available: Option<bool>,
    /// The overall health self-assessment.
    pub passed: Option<bool>,
    pub counters: Vec<(Counter, u64)>,
    /// ATA attributes at or below their threshold now (WHEN_FAILED = now).
    pub failing_attributes: Vec<String>,
    /// NVMe critical warning bitmask (0 = none).
    pub nvme_critical_warning: Option<u64>,
    /// smartctl's own error messages, or what was wrong with its output.
    pub messages: Vec<String>,
    /// The disk was asleep and left so (`-n standby`): the power mode smartctl named,
    /// lowercase ("standby", "sleep"). Nothing else was read.
    pub standby: Option<String>,
}

/// The name used in check ids for a device path and its `-d` type: the path without
/// `/dev/`, and for devices behind a RAID controller (one path, several disks) the type too:
/// `bus/0:megaraid,3`.
pub fn disk_id(device: &str, dev_type: &str) -> String {
    let dev = device.strip_prefix("/dev/").unwrap_or(device);
    if dev_type.contains(',') {
        format!("{dev}:{dev_type}")
    } else {
        dev.to_string()
    }
}

/// A device `smartctl --scan-open` found but could not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unopenable {
    pub device: String,
    /// The `-d` type it would have had ("auto" when the line names none).
    pub dev_type: String,
    /// smartctl's reason, e.g. "Permission denied".
    pub reason: String,
}

impl Unopenable {
    pub fn id(&self) -> String {
        disk_id(&self.device, &self.dev_type)
    }

    /// The reason is the user's rights, not the device.
    pub fn denied(&self) -> bool {
        let r = self.reason.to_ascii_lowercase();
        r.contains("permission denied") || r.contains("operation not permitted")
    }
}

/// A device the probe did not query this time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub device: String,
    /// The probe's words, e.g. "SMART time budget of 20 s spent".
    pub why: String,
}

impl Skipped {
    /// The id of the device's check (the probe does not say its `-d` type: a controller's
    /// disks share it as a prefix, `bus/0` of `bus/0:megaraid,3`).
    pub fn id(&self) -> String {
        disk_id(&self.device, "auto")
    }
}

/// Everything the smart section says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SmartReport {
    /// Devices smartctl was run on, in scan order.
    pub devices: Vec<SmartDevice>,
    pub unopenable: Vec<Unopenable>,
    pub skipped: Vec<Skipped>,
}

impl SmartDevice {
    /// The name used in check ids: the path without `/dev/`, and for devices behind a RAID
    /// controller (one path, several disks) the type too: `bus/0:megaraid,3`.
    pub fn id(&self) -> String {
        disk_id(&self.device, &self.dev_type)
    }

    pub fn counter(&self, c: Counter) -> Option<u64> {
        self.counters.iter().find(|(k, _)| *k == c).map(|(_, v)| *v)
    }

    /// Nothing usable was read from the device.
    pub fn unreadable(&self) -> bool {
        self.passed.is_none() && self.counters.is_empty() && self.nvme_critical_warning.is_none()
    }

    fn bit(&self, b: i32) -> bool {
        !self.timed_out
            && self
                .exit_status
                .is_some_and(|rc| (0..=255).contains(&rc) && rc & b != 0)
    }

    /// smartctl says the disk is failing, or a prefail attribute is at its threshold now.
    /// Never for a disk left asleep: its exit status only says it was not opened.
    pub fn failing(&self) -> bool {
        self.standby.is_none()
            && (self.passed == Some(false)
                || self.bit(exit_bits::FAILING)
                || self.bit(exit_bits::PREFAIL_NOW)
                || !self.failing_attributes.is_empty()
                || self.nvme_critical_warning.is_some_and(|w| w != 0))
    }

    /// An attribute was at or below its threshold in the past (not now).
    pub fn failed_in_the_past(&self) -> bool {
        self.bit(exit_bits::THRESHOLD_PAST)
    }

    /// smartctl could not open or query the device.
    pub fn command_failed(&self) -> bool {
        self.bit(exit_bits::CMDLINE) || self.bit(exit_bits::OPEN) || self.bit(exit_bits::COMMAND)
    }
}

/// The NVMe critical warning bits, in words.
pub fn nvme_warnings(w: u64) -> Vec<&'static str> {
    const BITS: [(u64, &str); 6] = [
        (0x01, "spare below threshold"),
        (0x02, "temperature out of range"),
        (0x04, "reliability degraded"),
        (0x08, "media read-only"),
        (0x10, "volatile memory backup failed"),
        (0x20, "persistent memory unreliable"),
    ];
    let mut out: Vec<&str> = BITS
        .iter()
        .filter(|(b, _)| w & b != 0)
        .map(|(_, s)| *s)
        .collect();
    if w & !0x3f != 0 {
        out.push("unknown warning");
    }
    out
}

fn protocol_of_type(t: &str) -> Option<Protocol> {
    let last = t.rsplit('+').next().unwrap_or(t);
    match last.split(',').next().unwrap_or(last) {
        "ata" | "sat" | "usbsunplus" | "usbjmicron" | "usbcypress" | "usbprolific" => {
            Some(Protocol::Ata)
        }
        "nvme" | "sntasmedia" | "sntjmicron" | "sntrealtek" => Some(Protocol::Nvme),
        "scsi" => Some(Protocol::Scsi),
        _ => None,
    }
}

/// The power mode of "Device is in STANDBY mode, exit(2)" (also "SLEEP", "STANDBY (OS)"),
/// lowercase and without the parenthesis: what smartctl says when `-n standby` kept it from
/// waking a disk.
fn standby_mode(line: &str) -> Option<String> {
    let rest = line.split_once("Device is in ")?.1;
    let (mode, _) = rest.split_once(" mode")?;
    let word = mode.split_whitespace().next()?;
    matches!(word, "STANDBY" | "SLEEP" | "IDLE").then(|| word.to_ascii_lowercase())
}

fn text_of(v: &Value, ptr: &str) -> Option<String> {
    v.pointer(ptr)
        .and_then(Value::as_str)
        .map(|s| clean(s, 60))
        .filter(|s| !s.is_empty())
}

fn from_json(dev: &mut SmartDevice, v: &Value) {
    match v.pointer("/device/protocol").and_then(Value::as_str) {
        Some("ATA") => dev.protocol = Some(Protocol::Ata),
        Some("NVMe") => dev.protocol = Some(Protocol::Nvme),
        Some("SCSI") => dev.protocol = Some(Protocol::Scsi),
        _ => {}
    }
    dev.model = text_of(v, "/model_name")
        .or_else(|| text_of(v, "/scsi_model_name"))
        .or_else(
            || match (text_of(v, "/scsi_vendor"), text_of(v, "/scsi_product")) {
                (Some(a), Some(b)) => Some(format!("{a} {b}")),
                (a, b) => a.or(b),
            },
        );
    dev.serial = text_of(v, "/serial_number");
    dev.smart_available = v
        .pointer("/smart_support/available")
        .and_then(Value::as_bool);
    dev.passed = v.pointer("/smart_status/passed").and_then(Value::as_bool);
    if let Some(rc) = v
        .pointer("/smartctl/exit_status")
        .and_then(Value::as_i64)
        .and_then(|x| i32::try_from(x).ok())
    {
        dev.exit_status = Some(rc);
    }
    if let Some(table) = v
        .pointer("/ata_smart_attributes/table")
        .and_then(Value::as_array)
    {
        for a in table {
            let id = a.get("id").and_then(Value::as_u64);
            if let Some(c) = id.and_then(Counter::from_ata_id)
                && let Some(raw) = a.pointer("/raw/value").and_then(Value::as_u64)
            {
                dev.counters.push((c, raw));
            }
            if a.get("when_failed").and_then(Value::as_str) == Some("now") {
                let name = a.get("name").and_then(Value::as_str).unwrap_or("attribute");
                dev.failing_attributes.push(clean(name, 40));
            }
        }
    }
    if let Some(log) = v.get("nvme_smart_health_information_log") {
        dev.nvme_critical_warning = log.get("critical_warning").and_then(Value::as_u64);
        if let Some(m) = log.get("media_errors").and_then(Value::as_u64) {
            dev.counters.push((Counter::MediaErrors, m));
        }
    }
    if dev.nvme_critical_warning.is_none() {
        dev.nvme_critical_warning = v
            .pointer("/smart_status/nvme/value")
            .and_then(Value::as_u64);
    }
    if let Some(g) = v.get("scsi_grown_defect_list").and_then(Value::as_u64) {
        dev.counters.push((Counter::GrownDefects, g));
    }
    if let Some(msgs) = v.pointer("/smartctl/messages").and_then(Value::as_array) {
        for m in msgs {
            let Some(s) = m.get("string").and_then(Value::as_str) else {
                continue;
            };
            // smartctl 7 reports a disk left asleep as information, with exit status 2.
            if dev.standby.is_none() {
                dev.standby = standby_mode(s);
            }
            if m.get("severity").and_then(Value::as_str) != Some("information") {
                dev.messages.push(clean(s, 120));
            }
        }
    }
}

fn from_text(dev: &mut SmartDevice, text: &str) {
    let mut in_attributes = false;
    let mut vendor = None;
    let mut product = None;
    for line in text.lines() {
        if dev.standby.is_none() {
            dev.standby = standby_mode(line);
        }
        if line.contains("UNRECOGNIZED OPTION") {
            dev.messages
                .push("smartctl is older than 7.0 and has no JSON output (-j)".to_string());
        }
        if let Some(v) = key_value(line, "Device Model") {
            dev.model = Some(clean(v, 60));
            dev.protocol = Some(Protocol::Ata);
        } else if let Some(v) = key_value(line, "Model Number") {
            dev.model = Some(clean(v, 60));
            dev.protocol = Some(Protocol::Nvme);
        } else if let Some(v) = key_value(line, "Vendor") {
            vendor = Some(clean(v, 30));
            dev.protocol = Some(Protocol::Scsi);
        } else if let Some(v) = key_value(line, "Product") {
            product = Some(clean(v, 30));
        } else if let Some(v) =
            key_value(line, "Serial Number").or_else(|| key_value(line, "Serial number"))
        {
            dev.serial = Some(clean(v, 60)).filter(|s| !s.is_empty());
        } else if let Some(v) = key_value(line, "SMART support is") {
            if v.starts_with("Unavailable") {
                dev.smart_available = Some(false);
            } else if v.starts_with("Available") {
                dev.smart_available = Some(true);
            }
        } else if let Some(v) = key_value(line, "SMART overall-health self-assessment test result")
        {
            dev.passed = Some(v == "PASSED");
        } else if let Some(v) = key_value(line, "SMART Health Status") {
            dev.passed = Some(v == "OK");
        } else if let Some(v) = key_value(line, "Critical Warning") {
            dev.nvme_critical_warning = v
                .strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok());
        } else if let Some(v) = key_value(line, "Media and Data Integrity Errors") {
            if let Some(n) = leading_u64(&v.replace(',', "")) {
                dev.counters.push((Counter::MediaErrors, n));
            }
        } else if let Some(v) = key_value(line, "Elements in grown defect list") {
            if let Some(n) = leading_u64(v) {
                dev.counters.push((Counter::GrownDefects, n));
            }
        } else if line.starts_with("ID# ATTRIBUTE_NAME") {
            in_attributes = true;
        } else if in_attributes {
            let w: Vec<&str> = line.split_whitespace().collect();
            if w.is_empty() {
                in_attributes = false;
                continue;
            }
            // ID NAME FLAG VALUE WORST THRESH TYPE UPDATED WHEN_FAILED RAW_VALUE…
            let (Some(id), Some(name)) = (w.first().and_then(|x| x.parse::<u64>().ok()), w.get(1))
            else {
                continue;
            };
            if let Some(c) = Counter::from_ata_id(id)
                && let Some(raw) = w.get(9).and_then(|r| leading_u64(r))
            {
                dev.counters.push((c, raw));
            }
            if w.get(8).is_some_and(|f| *f == "FAILING_NOW") {
                dev.failing_attributes.push(clean(name, 40));
            }
        }
    }
    if dev.model.is_none() {
        dev.model = match (vendor, product) {
            (Some(a), Some(b)) => Some(format!("{a} {b}")),
            (a, b) => a.or(b),
        };
    }
}

fn device(header: &str, lines: &[&str], rc: Option<i32>) -> SmartDevice {
    let mut words = header.split_whitespace();
    let mut dev = SmartDevice {
        device: clean(words.next().unwrap_or("?"), 60),
        dev_type: clean(words.next().unwrap_or("auto"), 30),
        ..SmartDevice::default()
    };
    dev.protocol = protocol_of_type(&dev.dev_type);
    let text = lines.join("\n");
    // The JSON document starts on the first line that opens an object (sudo may print a
    // warning before it) and ends where the object closes (anything after is ignored).
    let start = lines.iter().position(|l| l.trim_start().starts_with('{'));
    let json = start.is_some();
    if let Some(start) = start {
        let doc = lines.get(start..).unwrap_or_default().join("\n");
        match serde_json::Deserializer::from_str(&doc)
            .into_iter::<Value>()
            .next()
        {
            Some(Ok(v)) => from_json(&mut dev, &v),
            Some(Err(e)) => dev
                .messages
                .push(format!("smartctl output is not valid JSON ({e})")),
            None => dev.messages.push("smartctl printed no JSON".to_string()),
        }
    } else {
        from_text(&mut dev, &text);
        if dev.unreadable()
            && dev.standby.is_none()
            && dev.messages.is_empty()
            && let Some(first) = lines.iter().map(|l| l.trim()).find(|l| !l.is_empty())
        {
            dev.messages.push(clean(first, 120));
        }
    }
    // 124 is both timeout's status and a possible smartctl bitmask: it is a timeout when
    // smartctl's own JSON did not say so (or, in text mode, when nothing could be read).
    let json_rc = dev.exit_status;
    let killed = matches!(rc, Some(124) | Some(137));
    dev.timed_out = killed
        && if json {
            json_rc != rc
        } else {
            dev.unreadable()
        };
    dev.exit_status = json_rc.or(rc);
    dev
}

/// `@@scan # /dev/sdb -d sat # /dev/sdb [SAT], ATA device open failed: Permission denied`
/// (after `@@scan`); `None` for the other comments of `--scan-open`.
fn unopenable(rest: &str) -> Option<Unopenable> {
    let rest = rest.trim().strip_prefix('#')?.trim_start();
    let (_, reason) = rest.split_once("open failed:")?;
    let mut words = rest.split_whitespace();
    let device = words.next()?;
    if !device.starts_with('/') {
        return None;
    }
    let dev_type = match (words.next(), words.next()) {
        (Some("-d"), Some(t)) if t != "#" => t,
        _ => "auto",
    };
    let reason = clean(reason, 120);
    Some(Unopenable {
        device: clean(device, 60),
        dev_type: clean(dev_type, 30),
        reason: if reason.is_empty() {
            "no reason given".to_string()
        } else {
            reason
        },
    })
}

/// `@@skipped /dev/sdb (SMART time budget of 20 s spent)` (after `@@skipped`).
fn skipped(rest: &str) -> Option<Skipped> {
    let rest = rest.trim();
    let (device, why) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    if device.is_empty() {
        return None;
    }
    let why = why.trim();
    let why = why
        .strip_prefix('(')
        .and_then(|w| w.strip_suffix(')'))
        .unwrap_or(why);
    Some(Skipped {
        device: clean(device, 60),
        why: clean(why, 120),
    })
}

pub fn parse(body: &str) -> Result<SmartReport, ParseError> {
    let mut report = SmartReport::default();
    let devices = &mut report.devices;
    let mut preamble = Vec::new();
    let mut current: Option<(&str, Vec<&str>)> = None;
    for line in body.lines() {
        // smartctl killed mid-line leaves `@@rc N` at the end of its last, unfinished line.
        let (line, rc_line) = match line.rfind("@@rc ") {
            Some(i) if i > 0 => (line.get(..i).unwrap_or(""), line.get(i..)),
            _ => (line, None),
        };
        if let (Some(rc), Some((_, lines))) = (rc_line, current.as_mut()) {
            lines.push(line);
            let rc = rc.strip_prefix("@@rc ").and_then(|r| r.trim().parse().ok());
            if let Some((header, lines)) = current.take() {
                devices.push(device(header, &lines, rc));
            }
            continue;
        }
        if let Some(h) = line.strip_prefix("@@dev ") {
            if let Some((header, lines)) = current.take() {
                devices.push(device(header, &lines, None));
            }
            current = Some((h, Vec::new()));
        } else if let Some(rc) = line.strip_prefix("@@rc ") {
            if let Some((header, lines)) = current.take() {
                devices.push(device(header, &lines, rc.trim().parse().ok()));
            }
        } else if let Some((_, lines)) = current.as_mut() {
            // Inside a device, every line is smartctl's, whatever it looks like.
            lines.push(line);
        } else if let Some(rest) = line.strip_prefix("@@scan ") {
            report.unopenable.extend(unopenable(rest));
        } else if let Some(rest) = line.strip_prefix("@@skipped ") {
            report.skipped.extend(skipped(rest));
        } else if !line.trim().is_empty() {
            preamble.push(line);
        }
    }
    if let Some((header, lines)) = current.take() {
        report.devices.push(device(header, &lines, None));
    }
    if report.devices.is_empty()
        && report.unopenable.is_empty()
        && report.skipped.is_empty()
        && let Some(first) = preamble.first()
    {
        return Err(ParseError::new(format!("smartctl: {}", clean(first, 100))));
    }
    Ok(report)
}

#[cfg(test)]
#[path = "smart_tests.rs"]
pub(crate) mod tests;
