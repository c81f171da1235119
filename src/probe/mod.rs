//! The agentless probe: one POSIX sh script, one exec per host per refresh.

pub mod parse;
pub mod report;
pub mod sections;

use crate::backup::model::BackupFormat;
use std::fmt::Write as _;

/// The probe script, sent on the exec channel's stdin.
pub const SCRIPT: &str = concat!(
    include_str!("probe.sh"),
    // The network first: quick, and then never cut short by a hung application probe.
    include_str!("net.sh"),
    include_str!("apps.sh"),
    include_str!("repl.sh"),
    include_str!("end.sh"),
);

/// The remote command line: the same for every exec, every word fixed. `env` rather than
/// `VAR=x cmd` so that it works whatever the login shell (csh, fish).
pub const COMMAND: &str = "env LC_ALL=C LANG=C /bin/sh -s";

/// What one exec of the probe should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    /// Random hex, new for every exec: frames the sections.
    pub nonce: String,
    /// Run the slow sections (SMART, quotas) this time.
    pub slow: bool,
    /// No earlier CPU sample exists: take two inside this exec.
    pub cpu_second_sample: bool,
    /// Run root-only tools through `sudo -n` when the user is not root.
    pub sudo: bool,
    /// Backups to read on this host in the same exec, one section `backup.<id>` each
    /// (empty on hosts that are no backup server). Each takes up to 20 s.
    pub backups: Vec<BackupProbe>,
    /// Applications to probe, one section `svc.<name>` each (names from
    /// [`crate::config::SERVICES`]).
    pub services: Vec<String>,
    /// Replication kinds to read, one section `repl.<kind>` each (from
    /// [`crate::config::REPLICATION_KINDS`]).
    pub replication: Vec<String>,
}

/// One backup copy to read on the host (SPEC §5): its section is `backup.<id>`, read back
/// with [`report::ProbeReport::backup`] and the same format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupProbe {
    /// The caller's own id, unique within one request (a repeated id keeps the first
    /// section).
    pub id: usize,
    pub path: String,
    pub format: BackupFormat,
}

/// The name of a backup's section.
pub fn backup_section(id: usize) -> String {
    format!("backup.{id}")
}

/// `s` as one single-quoted shell word that any POSIX shell reads back byte for byte:
/// nothing inside single quotes is special but the quote itself, written `'\''`. `None` for a
/// NUL byte, which no shell variable can hold.
pub fn sh_quote(s: &str) -> Option<String> {
    if s.contains('\0') {
        return None;
    }
    Some(format!("'{}'", s.replace('\'', r"'\''")))
}

/// The `VB_*` assignments of the backups (see probe.sh). Every value is quoted, whatever it
/// holds; a backup with a NUL byte in a string is sent as the format `nul` with empty values,
/// and its section says so.
fn backup_assignments(backups: &[BackupProbe]) -> String {
    let mut out = format!("VB_COUNT={}\n", backups.len());
    for (i, b) in backups.iter().enumerate() {
        let n = i + 1;
        let (pattern, command, passfile) = match &b.format {
            BackupFormat::Files { pattern } => (pattern.as_str(), "", ""),
            BackupFormat::Restic { password_file } | BackupFormat::Borg { password_file } => {
                ("", "", password_file.as_deref().unwrap_or(""))
            }
            BackupFormat::Command { command } => ("", command.as_str(), ""),
        };
        let values = [
            ("PATH", b.path.as_str()),
            ("PATTERN", pattern),
            ("COMMAND", command),
            ("PASSFILE", passfile),
        ];
        let quoted: Option<Vec<String>> = values.iter().map(|(_, v)| sh_quote(v)).collect();
        let (format, quoted) = match quoted {
            Some(q) => (b.format.word(), q),
            None => ("nul", vec!["''".to_string(); values.len()]),
        };
        let _ = writeln!(out, "VB_{n}_ID='{}'", b.id);
        let _ = writeln!(out, "VB_{n}_FORMAT='{format}'");
        for ((key, _), value) in values.iter().zip(&quoted) {
            let _ = writeln!(out, "VB_{n}_{key}={value}");
        }
    }
    out
}

impl ProbeRequest {
    pub fn new(slow: bool, cpu_second_sample: bool, sudo: bool) -> Self {
        ProbeRequest {
            nonce: format!("{:032x}", rand::random::<u128>()),
            slow,
            cpu_second_sample,
            sudo,
            backups: Vec::new(),
            services: Vec::new(),
            replication: Vec::new(),
        }
    }

    /// The same request, also probing these applications and replication kinds.
    pub fn with_apps(mut self, services: Vec<String>, replication: Vec<String>) -> Self {
        self.services = services;
        self.replication = replication;
        self
    }

    /// The same request, also reading these backups.
    pub fn with_backups(mut self, backups: Vec<BackupProbe>) -> Self {
        self.backups = backups;
        self
    }

    /// What the shell reads: the parameters as assignments (hex and digits, then the backups'
    /// single-quoted strings), then the script. The nonce travels here rather than on the command line, where
    /// any local user could read it from /proc and forge sections.
    pub fn stdin(&self) -> Vec<u8> {
        let flag = |b: bool| if b { '1' } else { '0' };
        let mut text = format!(
            "N={}\nSLOW={}\nCPU2={}\nSUDO={}\n",
            self.nonce,
            flag(self.slow),
            flag(self.cpu_second_sample),
            flag(self.sudo)
        );
        text.push_str(&backup_assignments(&self.backups));
        // Only known words reach here (the configuration checks them); quoted all the same.
        for (var, words) in [("SVC", &self.services), ("REPL", &self.replication)] {
            let words: Vec<&str> = words
                .iter()
                .map(String::as_str)
                .filter(|w| w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
                .collect();
            let _ = writeln!(text, "{var}='{}'", words.join(" "));
        }
        text.push_str(SCRIPT);
        text.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nonce_is_never_on_the_command_line() {
        let r = ProbeRequest::new(true, false, false);
        assert!(!COMMAND.contains(&r.nonce));
        let stdin = String::from_utf8(r.stdin()).unwrap();
        assert!(stdin.starts_with(&format!("N={}\nSLOW=1\nCPU2=0\nSUDO=0\n", r.nonce)));
        assert_eq!(r.nonce.len(), 32);
        assert!(r.nonce.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(stdin.contains("\nVB_COUNT=0\n"), "no backup: none read");
    }

    /// Runs `/bin/sh -s` on `stdin` (with LC_ALL=C, as the console does) and returns its
    /// standard output.
    fn sh(stdin: &[u8], dir: &std::path::Path) -> Vec<u8> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new("/bin/sh")
            .arg("-s")
            .current_dir(dir)
            .env("LC_ALL", "C")
            .env("LANG", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("/bin/sh");
        // Written from a thread: the shell prints while it still reads.
        let mut input = child.stdin.take().expect("stdin");
        let stdin = stdin.to_vec();
        let writer = std::thread::spawn(move || input.write_all(&stdin));
        let out = child.wait_with_output().expect("sh").stdout;
        writer.join().expect("writer").expect("write");
        out
    }

    const HOSTILE: &[&str] = &[
        "it's",
        "'",
        "''\\''",
        "$(touch pwned)",
        "`touch pwned`",
        "${HOME}$HOME\\$x",
        "a\nb\n",
        "\n",
        "; touch pwned; '",
        "\"; touch pwned; \"",
        "-n",
        "*",
        "~root",
        "\\",
        "\r\t\x07\x1b[31m",
        "été \u{202e} 東京",
        "",
        " leading and trailing ",
    ];

    #[test]
    fn hostile_backup_strings_come_back_byte_for_byte_from_sh() {
        let dir = tempfile::tempdir().unwrap();
        let mut backups = Vec::new();
        for (i, h) in HOSTILE.iter().enumerate() {
            let format = match i % 4 {
                0 => BackupFormat::Files {
                    pattern: format!("p{h}"),
                },
                1 => BackupFormat::Restic {
                    password_file: Some(format!("f{h}")),
                },
                2 => BackupFormat::Borg {
                    password_file: Some(format!("g{h}")),
                },
                _ => BackupFormat::Command {
                    command: format!("c{h}"),
                },
            };
            backups.push(BackupProbe {
                id: 1000 + i,
                path: h.to_string(),
                format,
            });
        }
        // The assignments, then a script that prints every value NUL-terminated.
        let mut script = backup_assignments(&backups);
        script.push_str(
            "printf '%s\\0' \"$VB_COUNT\"\n\
             i=1\n\
             while [ $i -le $VB_COUNT ]; do\n\
                 for k in ID FORMAT PATH PATTERN COMMAND PASSFILE; do\n\
                     eval \"printf '%s\\\\0' \\\"\\${VB_${i}_$k}\\\"\"\n\
                 done\n\
                 i=$((i + 1))\n\
             done\n",
        );
        let out = sh(script.as_bytes(), dir.path());
        let mut want = vec![HOSTILE.len().to_string()];
        for b in &backups {
            let (pattern, command, passfile) = match &b.format {
                BackupFormat::Files { pattern } => (pattern.clone(), "", String::new()),
                BackupFormat::Restic { password_file } | BackupFormat::Borg { password_file } => {
                    (String::new(), "", password_file.clone().unwrap_or_default())
                }
                BackupFormat::Command { command } => {
                    (String::new(), command.as_str(), String::new())
                }
            };
            want.extend([
                b.id.to_string(),
                b.format.word().to_string(),
                b.path.clone(),
                pattern,
                command.to_string(),
                passfile,
            ]);
        }
        let got: Vec<String> = out
            .split(|&b| b == 0)
            .map(|v| String::from_utf8(v.to_vec()).unwrap())
            .collect();
        assert_eq!(got.last().map(String::as_str), Some(""), "NUL-terminated");
        assert_eq!(got[..got.len() - 1], want[..]);
        assert!(!dir.path().join("pwned").exists(), "nothing ran");
    }

    #[test]
    fn a_nul_byte_is_never_sent() {
        let r = ProbeRequest::new(false, false, false).with_backups(vec![BackupProbe {
            id: 4,
            path: "/var/backups\0/etc".into(),
            format: BackupFormat::Files {
                pattern: "*".into(),
            },
        }]);
        let stdin = r.stdin();
        assert!(!stdin.contains(&0));
        let text = String::from_utf8(stdin).unwrap();
        assert!(text.contains("VB_1_ID='4'\nVB_1_FORMAT='nul'\nVB_1_PATH=''\n"));
        assert_eq!(sh_quote("a\0b"), None);
        assert_eq!(sh_quote("it's").as_deref(), Some("'it'\\''s'"));
    }

    /// The whole probe, run here by /bin/sh, reading a directory of dumps.
    #[test]
    fn the_probe_reads_a_files_backup() {
        use crate::backup::model::CopyReading;
        use std::time::{Duration, SystemTime};
        let dir = tempfile::tempdir().unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        for (name, bytes) in [
            ("userdb-2020-01-01T0000.dump", 10),
            ("userdb 'quoted' $(x).dump", 20),
            ("other.txt", 5),
        ] {
            let f = std::fs::File::create(dir.path().join(name)).unwrap();
            f.set_len(bytes).unwrap();
            f.set_modified(hour_ago).unwrap();
        }
        // Being written (modified just now).
        std::fs::write(dir.path().join("userdb-new.dump"), "x").unwrap();
        let files = BackupFormat::Files {
            pattern: "userdb*.dump".into(),
        };
        let r = ProbeRequest::new(false, false, false).with_backups(vec![
            BackupProbe {
                id: 7,
                path: dir.path().to_string_lossy().into_owned(),
                format: files.clone(),
            },
            BackupProbe {
                id: 8,
                path: dir.path().join("absent").to_string_lossy().into_owned(),
                format: files.clone(),
            },
            BackupProbe {
                id: 10,
                path: "/var/backups\0".into(),
                format: files.clone(),
            },
        ]);
        let out = sh(&r.stdin(), dir.path());
        let report = report::ProbeReport::from_sections(&sections::split(&out, &r.nonce));
        assert!(report.stat2.is_ok(), "the probe ran to its end");
        let read = report.backup_notes(7, &files);
        let CopyReading::Found(v) = &read.reading else {
            panic!("{:?}", read.reading);
        };
        let names: Vec<&str> = v.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.contains(&"userdb 'quoted' $(x).dump"));
        // The name's date is older than the file: it is the capture time.
        let old = v
            .iter()
            .find(|b| b.name.starts_with("userdb-2020"))
            .unwrap();
        let around: [jiff::Timestamp; 2] =
            ["2019-12-31T00:00:00Z", "2020-01-02T00:00:00Z"].map(|t| t.parse().unwrap());
        assert!(around[0] < old.captured_at && old.captured_at < around[1]);
        assert_eq!(old.bytes, Some(10));
        assert!(read.notes.iter().any(|n| n.contains("userdb-new.dump")));
        assert_eq!(
            report.backup(8, &files),
            CopyReading::Unreadable("path not found".into())
        );
        assert_eq!(
            report.backup(10, &files),
            CopyReading::Unreadable("a NUL byte in the configured path, pattern or command".into())
        );
        assert_eq!(
            report.backup(9, &files),
            CopyReading::Unreadable("not read by this probe".into())
        );
    }

    /// A dump some process still holds open for writing, old as it may be, is no backup;
    /// nor is a directory tree with a file being written anywhere inside it (lsof +D).
    #[test]
    fn entries_open_for_writing_are_not_backups() {
        use crate::backup::model::CopyReading;
        use std::time::{Duration, SystemTime};
        if !std::path::Path::new("/usr/bin/lsof").exists() {
            panic!("lsof is needed by this test (tests/lab/install-deps.sh installs it)");
        }
        let dir = tempfile::tempdir().unwrap();
        let hour_ago = SystemTime::now() - Duration::from_secs(3600);
        let tree = dir.path().join("snap-2020-01-02");
        std::fs::create_dir_all(tree.join("etc")).unwrap();
        for path in [
            dir.path().join("userdb-2020-01-01.dump"),
            dir.path().join("userdb-2020-01-03.dump"),
            tree.join("etc/passwd"),
        ] {
            let f = std::fs::File::create(&path).unwrap();
            f.set_len(10).unwrap();
            f.set_modified(hour_ago).unwrap();
        }
        // Paused writers: each holds its file open for appending, and changes nothing.
        let writers: Vec<std::process::Child> = [
            dir.path().join("userdb-2020-01-03.dump"),
            tree.join("etc/passwd"),
        ]
        .iter()
        .map(|p| {
            std::process::Command::new("/bin/sh")
                .args(["-c", "exec 3>>\"$1\"; exec sleep 30", "sh"])
                .arg(p)
                .spawn()
                .unwrap()
        })
        .collect();
        std::thread::sleep(Duration::from_millis(300));
        let files = BackupFormat::Files {
            pattern: "*".into(),
        };
        let r = ProbeRequest::new(false, false, false).with_backups(vec![BackupProbe {
            id: 1,
            path: format!("{}/", dir.path().display()),
            format: files.clone(),
        }]);
        let out = sh(&r.stdin(), dir.path());
        for mut w in writers {
            let _ = w.kill();
            let _ = w.wait();
        }
        let report = report::ProbeReport::from_sections(&sections::split(&out, &r.nonce));
        let read = report.backup_notes(1, &files);
        let CopyReading::Found(v) = &read.reading else {
            panic!("{:?}", read.reading);
        };
        let names: Vec<&str> = v.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["userdb-2020-01-01.dump"], "{:?}", read.notes);
        let note = read.notes.join("; ");
        assert!(note.contains("still open for writing"), "{note}");
        assert!(
            note.contains("userdb-2020-01-03.dump") && note.contains("snap-2020-01-02"),
            "{note}"
        );
    }
}
