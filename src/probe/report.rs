//! One probe run, parsed: every section as a [`Reading`], either its value or why there is
//! none. Building a report never fails and never panics, whatever the remote host printed.

use super::parse::{
    self, ParseError, clock::Clock, cpu::CpuTimes, df::Filesystem, host::HostInfo,
    loadavg::LoadAvg, mdstat::MdArray, meminfo::MemInfo, procs::Procs, quota::QuotaReport,
    smart::SmartReport, timesync::TimeSync, uptime::Uptime,
};
use super::sections::{Section, Sections};
use crate::backup::model::{BackupFormat, CopyReading};
use std::collections::BTreeMap;
use std::fmt;

/// Why a section gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionIssue {
    /// A slow section (SMART, quotas) not asked for this time.
    NotRun,
    /// The section is absent or was cut short (the exec ended early).
    Missing,
    /// The tool it needs is not installed (`VIGIE_NOT_INSTALLED <tool>`, rc 127).
    NotInstalled(String),
    /// The feature does not exist on this host (`VIGIE_ABSENT`): no md driver, no quotas.
    Absent,
    /// `VIGIE_UNAVAILABLE <why>`.
    Unavailable(String),
    /// Killed by `timeout` (rc 124, or 137 after the KILL that follows it).
    TimedOut,
    /// A non-zero exit status; `text` is the start of its output, cleaned and cut short.
    Failed { rc: i32, text: String },
    /// The output was not what the parser expected.
    Unparsable(String),
}

impl fmt::Display for SectionIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SectionIssue::NotRun => f.write_str("not read this refresh"),
            SectionIssue::Missing => f.write_str("no output (probe cut short)"),
            SectionIssue::NotInstalled(tool) => write!(f, "{tool} not installed"),
            SectionIssue::Absent => f.write_str("not present on this host"),
            SectionIssue::Unavailable(why) => f.write_str(why),
            SectionIssue::TimedOut => f.write_str("timed out"),
            SectionIssue::Failed { rc, text } if text.is_empty() => write!(f, "exit {rc}"),
            SectionIssue::Failed { rc, text } => write!(f, "exit {rc}: {text}"),
            SectionIssue::Unparsable(why) => write!(f, "unexpected output: {why}"),
        }
    }
}

impl From<ParseError> for SectionIssue {
    fn from(e: ParseError) -> Self {
        SectionIssue::Unparsable(e.0)
    }
}

pub type Reading<T> = Result<T, SectionIssue>;

/// Everything one probe run read from a host.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeReport {
    pub clock: Reading<Clock>,
    pub host: Reading<HostInfo>,
    pub uptime: Reading<Uptime>,
    pub cpus: Reading<u32>,
    /// First CPU sample, at the start of the probe.
    pub stat: Reading<CpuTimes>,
    /// Second CPU sample, at its end (0.3 s after a pause when the `cpu2` flag was given).
    pub stat2: Reading<CpuTimes>,
    pub loadavg: Reading<LoadAvg>,
    pub meminfo: Reading<MemInfo>,
    pub df: Reading<Vec<Filesystem>>,
    pub mdstat: Reading<Vec<MdArray>>,
    pub timesync: Reading<TimeSync>,
    /// Command names (`comm`) of every process, and the command lines of sshd's.
    pub procs: Reading<Procs>,
    /// The disks smartctl read, could not open, or skipped.
    pub smart: Reading<SmartReport>,
    pub quota: Reading<Vec<QuotaReport>>,
    /// The raw `backup.<id>` sections by id: only the caller knows each one's format, so
    /// it reads them with [`ProbeReport::backup`] (or [`parse::backup::read`] for the notes).
    pub backups: BTreeMap<usize, Section>,
    /// The raw application, replication and network sections (`svc.<name>`, `repl.<kind>`,
    /// `net`), by section name: their own modules read them (see [`ProbeReport::section`]).
    pub apps: BTreeMap<String, Section>,
}

/// The first lines of a failing section's output, cleaned and cut: enough to say why.
fn excerpt(body: &str) -> String {
    let lines: Vec<&str> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .take(3)
        .collect();
    parse::clean(&lines.join(" / "), 160)
}

/// What the probe's conventions say about a section, before parsing its body.
fn status(
    section: Option<&Section>,
    slow: bool,
    probe_ran_to_end: bool,
) -> Result<&Section, SectionIssue> {
    let Some(s) = section else {
        return Err(if slow && probe_ran_to_end {
            SectionIssue::NotRun
        } else {
            SectionIssue::Missing
        });
    };
    let Some(rc) = s.rc else {
        return Err(SectionIssue::Missing);
    };
    let first = s
        .body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if let Some(tool) = first.strip_prefix("VIGIE_NOT_INSTALLED") {
        let tool = parse::clean(tool, 40);
        return Err(SectionIssue::NotInstalled(if tool.is_empty() {
            "a tool".into()
        } else {
            tool
        }));
    }
    if first == "VIGIE_ABSENT" {
        return Err(SectionIssue::Absent);
    }
    if let Some(why) = first.strip_prefix("VIGIE_UNAVAILABLE") {
        let why = parse::clean(why, 160);
        return Err(SectionIssue::Unavailable(if why.is_empty() {
            "unavailable".into()
        } else {
            why
        }));
    }
    match rc {
        124 | 137 => Err(SectionIssue::TimedOut),
        127 => match missing_command(&s.body) {
            Some(tool) => Err(SectionIssue::NotInstalled(tool)),
            None => Err(SectionIssue::Failed {
                rc,
                text: excerpt(&s.body),
            }),
        },
        _ => Ok(s),
    }
}

/// The command a shell could not find: "sh: 1: repquota: not found" and
/// "bash: repquota: command not found" both give "repquota".
fn missing_command(body: &str) -> Option<String> {
    let line = body.lines().find(|l| l.contains("not found"))?;
    let parts: Vec<&str> = line
        .split(':')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let at = parts.iter().position(|p| p.ends_with("not found"))?;
    let tool = parse::clean(parts.get(at.checked_sub(1)?)?, 40);
    (!tool.is_empty()).then_some(tool)
}

fn reading<T>(
    sections: &Sections,
    name: &str,
    slow: bool,
    ran_to_end: bool,
    // Some sections print useful output even when a command in them failed (df with one
    // unreadable mount): for those a non-zero status is only an error when parsing fails.
    tolerate_rc: bool,
    parser: impl Fn(&str) -> Result<T, ParseError>,
) -> Reading<T> {
    let s = status(sections.get(name), slow, ran_to_end)?;
    let rc = s.rc.unwrap_or(-1);
    if rc != 0 && !tolerate_rc {
        return Err(SectionIssue::Failed {
            rc,
            text: excerpt(&s.body),
        });
    }
    match parser(&s.body) {
        Ok(v) => Ok(v),
        Err(_) if rc != 0 => Err(SectionIssue::Failed {
            rc,
            text: excerpt(&s.body),
        }),
        Err(e) => Err(e.into()),
    }
}

impl ProbeReport {
    pub fn from_sections(sections: &Sections) -> ProbeReport {
        // stat2 is the probe's last section: if it is complete, the probe ran to its end, and
        // a slow section that is absent was simply not asked for.
        let ran_to_end = sections.get("stat2").is_some_and(Section::complete);
        macro_rules! read {
            ($name:expr, $parser:expr) => {
                reading(sections, $name, false, ran_to_end, false, $parser)
            };
        }
        ProbeReport {
            clock: read!("clock", parse::clock::parse),
            host: read!("host", parse::host::parse),
            uptime: read!("uptime", parse::uptime::parse),
            cpus: read!("cpus", parse::cpu::parse_cpus),
            stat: read!("stat", parse::cpu::parse_stat),
            stat2: read!("stat2", parse::cpu::parse_stat),
            loadavg: read!("loadavg", parse::loadavg::parse),
            meminfo: read!("meminfo", parse::meminfo::parse),
            df: reading(sections, "df", false, ran_to_end, true, parse::df::parse),
            mdstat: read!("mdstat", parse::mdstat::parse),
            timesync: read!("timesync", parse::timesync::parse),
            procs: read!("procs", parse::procs::parse),
            // The smart section's status is that of its last command; each device carries
            // smartctl's own status.
            smart: reading(
                sections,
                "smart",
                true,
                ran_to_end,
                false,
                parse::smart::parse,
            ),
            quota: reading(
                sections,
                "quota",
                true,
                ran_to_end,
                false,
                parse::quota::parse,
            ),
            backups: sections
                .iter()
                .filter_map(|(name, s)| {
                    let id = name.strip_prefix("backup.")?;
                    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    Some((id.parse().ok()?, s.clone()))
                })
                .collect(),
            apps: sections
                .iter()
                .filter(|(name, _)| {
                    name.starts_with("svc.") || name.starts_with("repl.") || name.as_str() == "net"
                })
                .map(|(name, s)| (name.clone(), s.clone()))
                .collect(),
        }
    }

    /// One of the raw [`ProbeReport::apps`] sections, with the probe's conventions applied
    /// (missing, cut short, not installed, absent, unavailable, timed out, failed).
    pub fn section(&self, name: &str) -> Reading<&Section> {
        status(self.apps.get(name), false, true)
    }

    /// The backups of the copy asked for as `id` in the request, read with its format.
    pub fn backup(&self, id: usize, format: &BackupFormat) -> CopyReading {
        self.backup_notes(id, format).reading
    }

    /// [`ProbeReport::backup`], with the parser's notes (entries left out, bounds).
    pub fn backup_notes(&self, id: usize, format: &BackupFormat) -> parse::backup::BackupParse {
        match self.backups.get(&id) {
            Some(s) => parse::backup::read(format, &s.body, s.rc),
            None => parse::backup::BackupParse {
                // stat2 comes after every backup section: if it came, this one was not asked.
                reading: CopyReading::Unreadable(
                    if matches!(self.stat2, Err(SectionIssue::Missing)) {
                        "no output (probe cut short)"
                    } else {
                        "not read by this probe"
                    }
                    .into(),
                ),
                notes: Vec::new(),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::probe::sections::split;

    /// A real run of probe.sh (`env LC_ALL=C sh -s -- <nonce> slow cpu2`) on a Debian 12
    /// virtual machine, as root, without md, quotas or time service.
    pub(crate) const LOCAL_RUN: &str =
        include_str!("../../tests/fixtures/probe/probe_run_debian12.txt");
    pub(crate) const LOCAL_NONCE: &str = "5f0c9a3e71d24b8e9a6c1f3b2d7e8a90";

    fn section(name: &str, body: &str, rc: Option<i32>) -> Sections {
        let mut s = Sections::new();
        s.insert(
            name.to_string(),
            Section {
                name: name.to_string(),
                body: body.to_string(),
                rc,
                elapsed_ms: Some(1),
            },
        );
        s
    }

    #[test]
    fn whole_local_run() {
        let r = ProbeReport::from_sections(&split(LOCAL_RUN.as_bytes(), LOCAL_NONCE));
        assert!(r.clock.as_ref().is_ok_and(|c| c.subsecond));
        assert_eq!(
            r.host.as_ref().unwrap().os.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        assert!(r.uptime.as_ref().unwrap().boot_id.is_some());
        assert_eq!(r.cpus, Ok(2));
        assert!(r.stat.is_ok() && r.stat2.is_ok() && r.loadavg.is_ok() && r.meminfo.is_ok());
        let df = r.df.as_ref().unwrap();
        assert!(df.iter().any(|f| f.mount == "/"));
        assert!(
            df.iter()
                .all(|f| f.mount != "/dev" && f.mount != "/sys/fs/cgroup")
        );
        assert_eq!(r.mdstat, Err(SectionIssue::Absent));
        assert!(matches!(r.timesync, Err(SectionIssue::Unavailable(_))));
        assert!(
            r.procs
                .as_ref()
                .unwrap()
                .comms
                .iter()
                .any(|p| p == "kthreadd")
        );
        assert_eq!(r.smart, Ok(SmartReport::default()));
        assert_eq!(r.quota, Err(SectionIssue::Absent));
    }

    #[test]
    fn slow_sections_not_asked_for_are_not_run() {
        let text = LOCAL_RUN
            .split_inclusive('\n')
            .filter(|l| !l.contains(" smart") && !l.contains(" quota") && *l != "VIGIE_ABSENT\n")
            .collect::<String>();
        let r = ProbeReport::from_sections(&split(text.as_bytes(), LOCAL_NONCE));
        assert_eq!(r.smart, Err(SectionIssue::NotRun));
        assert_eq!(r.quota, Err(SectionIssue::NotRun));
    }

    #[test]
    fn a_cut_short_probe_is_missing_everything_after() {
        let cut = LOCAL_RUN.split("BEGIN timesync").next().unwrap();
        let r = ProbeReport::from_sections(&split(cut.as_bytes(), LOCAL_NONCE));
        assert!(r.meminfo.is_ok());
        assert_eq!(r.timesync, Err(SectionIssue::Missing));
        assert_eq!(r.smart, Err(SectionIssue::Missing));
        assert_eq!(r.stat2, Err(SectionIssue::Missing));
        // A section whose END never came is missing too.
        let s = section(
            "df",
            "Filesystem Type …\n/dev/sda1 ext4 10 5 5 10 1 9 /\n",
            None,
        );
        assert_eq!(
            ProbeReport::from_sections(&s).df,
            Err(SectionIssue::Missing)
        );
    }

    #[test]
    fn conventions() {
        let r = ProbeReport::from_sections(&section(
            "smart",
            "VIGIE_NOT_INSTALLED smartctl\n",
            Some(127),
        ));
        assert_eq!(r.smart, Err(SectionIssue::NotInstalled("smartctl".into())));
        assert_eq!(r.smart.unwrap_err().to_string(), "smartctl not installed");

        let r = ProbeReport::from_sections(&section("quota", "VIGIE_ABSENT\n", Some(0)));
        assert_eq!(r.quota, Err(SectionIssue::Absent));

        let r = ProbeReport::from_sections(&section("df", "", Some(124)));
        assert_eq!(r.df, Err(SectionIssue::TimedOut));
        assert_eq!(r.df.unwrap_err().to_string(), "timed out");

        let r = ProbeReport::from_sections(&section(
            "smart",
            "sudo: a password is required\n",
            Some(1),
        ));
        let e = r.smart.unwrap_err();
        assert_eq!(
            e,
            SectionIssue::Failed {
                rc: 1,
                text: "sudo: a password is required".into()
            }
        );
        assert_eq!(e.to_string(), "exit 1: sudo: a password is required");

        let r =
            ProbeReport::from_sections(&section("cpus", "sh: 1: getconf: not found\n", Some(127)));
        assert_eq!(r.cpus, Err(SectionIssue::NotInstalled("getconf".into())));
        let r = ProbeReport::from_sections(&section(
            "procs",
            "bash: ps: command not found\n",
            Some(127),
        ));
        assert_eq!(r.procs.unwrap_err().to_string(), "ps not installed");
        let r = ProbeReport::from_sections(&section("procs", "odd\n", Some(127)));
        assert!(matches!(r.procs, Err(SectionIssue::Failed { rc: 127, .. })));

        let r = ProbeReport::from_sections(&section("loadavg", "garbage\n", Some(0)));
        assert!(matches!(r.loadavg, Err(SectionIssue::Unparsable(_))));

        let r = ProbeReport::from_sections(&section(
            "timesync",
            "VIGIE_UNAVAILABLE no running time service answered (timedatectl, chronyc, ntpstat)\n",
            Some(0),
        ));
        assert_eq!(
            r.timesync.unwrap_err().to_string(),
            "no running time service answered (timedatectl, chronyc, ntpstat)"
        );
    }

    #[test]
    fn df_keeps_its_output_when_one_mount_fails() {
        // df writes its errors (stderr, unbuffered) before its table (stdout, buffered).
        let body = "df: /mnt/nfs: Stale file handle\n\
                    Filesystem Type 1K-blocks Used Avail Inodes IUsed IFree Mounted on\n\
                    /dev/sda1 ext4 1000 500 500 100 10 90 /\n";
        let r = ProbeReport::from_sections(&section("df", body, Some(1)));
        assert_eq!(r.df.unwrap().len(), 1);
        let r = ProbeReport::from_sections(&section(
            "df",
            "df: cannot read table of mounted file systems\n",
            Some(1),
        ));
        assert!(matches!(r.df, Err(SectionIssue::Failed { rc: 1, .. })));
    }

    #[test]
    fn failure_text_is_cleaned_and_short() {
        let body = format!("\x1b[2Jbad\n{}\n", "x".repeat(500));
        let r = ProbeReport::from_sections(&section("clock", &body, Some(2)));
        let SectionIssue::Failed { text, .. } = r.clock.unwrap_err() else {
            panic!("not Failed");
        };
        assert!(!text.contains('\x1b'));
        assert!(text.chars().count() <= 161);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..4096)) {
            let _ = ProbeReport::from_sections(&split(&bytes, LOCAL_NONCE));
        }

        #[test]
        fn any_body_any_rc_never_panics(body in proptest::prelude::any::<String>(), rc in proptest::option::of(proptest::prelude::any::<i32>())) {
            for name in ["clock", "host", "uptime", "cpus", "stat", "stat2", "loadavg", "meminfo", "df",
                         "mdstat", "timesync", "procs", "smart", "quota"] {
                let _ = ProbeReport::from_sections(&section(name, &body, rc));
            }
        }
    }
}
