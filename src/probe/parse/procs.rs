//! `procs`: `ps -A -o comm=`, one command name per line; then a line `@@sshd-args` and
//! `ps -C sshd -o args=`, the command lines of the processes named sshd (empty, or the marker
//! alone, where ps has no `-C`: busybox).

use super::ParseError;

/// The kernel keeps 15 bytes of a command name (TASK_COMM_LEN 16 with the NUL).
pub const COMM_MAX: usize = 15;

/// The line between the command names and the sshd command lines.
pub const SSHD_ARGS_MARKER: &str = "@@sshd-args";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Procs {
    /// Command names (`comm`) of every process.
    pub comms: Vec<String>,
    /// Command lines of the sshd processes: `None` when the probe did not list them (an older
    /// probe), empty when ps could not (no `-C`).
    pub sshd_args: Option<Vec<String>>,
}

pub fn parse(body: &str) -> Result<Procs, ParseError> {
    let mut comms = Vec::new();
    let mut sshd_args: Option<Vec<String>> = None;
    for line in body.lines().map(str::trim) {
        if line.is_empty() {
            continue;
        }
        match &mut sshd_args {
            // Everything after the marker is a command line, never a command name.
            Some(args) => args.push(line.to_string()),
            None if line == SSHD_ARGS_MARKER => sshd_args = Some(Vec::new()),
            None => {
                if let Some(comm) = running_comm(line) {
                    comms.push(comm.to_string());
                }
            }
        }
    }
    if comms.is_empty() {
        return Err(ParseError::new("ps listed no process"));
    }
    Ok(Procs { comms, sshd_args })
}

/// The command name of a `ps -o stat=,comm=` line, `None` for a zombie or dead process (its
/// name lingers in the table until its parent reaps it, but it is not running). A line that
/// does not start with a process state is a bare command name (older probe output).
fn running_comm(line: &str) -> Option<&str> {
    let Some((stat, rest)) = line.split_once(char::is_whitespace) else {
        return Some(line);
    };
    let is_stat = stat
        .chars()
        .next()
        .is_some_and(|c| "DIRSTtWXZP".contains(c))
        && stat.chars().skip(1).all(|c| "<NLsl+".contains(c));
    if !is_stat {
        return Some(line);
    }
    if stat.starts_with('Z') || stat.starts_with('X') {
        return None;
    }
    Some(rest.trim())
}

/// A configured process name as the kernel keeps it: a path counts by its last component,
/// and a name longer than the kernel keeps by its first 15 bytes.
fn comm_of(name: &str) -> &[u8] {
    let name = name.trim();
    let name = name.rsplit('/').next().unwrap_or(name);
    let bytes = name.as_bytes();
    bytes.get(..COMM_MAX).unwrap_or(bytes)
}

/// How many of `comms` are the configured process `name`. A configured path counts by its
/// last component, and a name longer than the kernel keeps matches on its first 15 bytes.
pub fn count(comms: &[String], name: &str) -> usize {
    let want = comm_of(name);
    if want.is_empty() {
        return 0;
    }
    comms.iter().filter(|c| c.as_bytes() == want).count()
}

/// Whether the configured process `name` is the SSH daemon.
pub fn is_sshd(name: &str) -> bool {
    comm_of(name) == b"sshd"
}

/// Whether an sshd command line is the daemon that accepts connections, rather than one of
/// the processes of a session (`sshd: USER@notty`, `sshd: USER@pts/N`, `sshd: USER [priv]`,
/// `sshd: USER [net]`, `sshd: [accepted]`, `sshd: unknown [preauth]`). OpenSSH ≥ 8 titles
/// the listener `sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups`; older versions
/// leave its command line (`/usr/sbin/sshd -D`).
pub fn is_sshd_listener(args: &str) -> bool {
    let args = args.trim();
    !args.starts_with("sshd: ") || args.contains("[listener]")
}

/// How many sshd listeners run, from the sshd command lines; `None` when the probe could
/// not list them (then only the command names can tell).
pub fn sshd_listeners(procs: &Procs) -> Option<usize> {
    let args = procs.sshd_args.as_ref().filter(|a| !a.is_empty())?;
    Some(args.iter().filter(|a| is_sshd_listener(a)).count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_truncation() {
        let p = parse("systemd\nsshd\nsshd\ncron\npostgres\nsystemd-journal\n").unwrap();
        let comms = &p.comms;
        assert_eq!(count(comms, "sshd"), 2);
        assert_eq!(count(comms, "/usr/sbin/cron"), 1);
        assert_eq!(count(comms, "nginx"), 0);
        // "systemd-journald" is 16 bytes: the kernel shows "systemd-journal".
        assert_eq!(count(comms, "systemd-journald"), 1);
        assert_eq!(count(comms, ""), 0);
        assert_eq!(p.sshd_args, None);
        assert_eq!(sshd_listeners(&p), None);
        assert!(parse("\n\n").is_err());
    }

    #[test]
    fn zombies_are_not_running() {
        // `ps -A -o stat=,comm=` on Debian 12 (procps-ng 4.0.2): a killed service whose
        // parent has not reaped it yet stays in the table as Z.
        let p = parse("Ss   systemd\nSs   sshd\nZ    demo-web\nS<   kworker/0:0H\nSl   Web Content\nR+   ps\n").unwrap();
        assert_eq!(count(&p.comms, "demo-web"), 0);
        assert_eq!(count(&p.comms, "sshd"), 1);
        assert_eq!(count(&p.comms, "Web Content"), 1);
    }

    #[test]
    fn sshd_command_lines() {
        let p = parse(
            "systemd\nsshd\nsshd\nsshd\n@@sshd-args\n\
             sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups\n\
             sshd: root@notty\nsshd: root [priv]\n",
        )
        .unwrap();
        assert_eq!(p.comms, ["systemd", "sshd", "sshd", "sshd"]);
        assert_eq!(p.sshd_args.as_ref().map(Vec::len), Some(3));
        assert_eq!(sshd_listeners(&p), Some(1));
        for session in [
            "sshd: root@notty",
            "sshd: ops@pts/0",
            "sshd: ops [priv]",
            "sshd: ops [net]",
            "sshd: [accepted]",
            "sshd: unknown [preauth]",
        ] {
            assert!(!is_sshd_listener(session), "{session}");
        }
        for listener in [
            "/usr/sbin/sshd -D",
            "sshd",
            "/usr/sbin/sshd -D -f /etc/ssh/sshd_config",
            "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
        ] {
            assert!(is_sshd_listener(listener), "{listener}");
        }
        // Only sessions.
        let p = parse("sshd\nsshd\n@@sshd-args\nsshd: root@notty\nsshd: root [priv]\n").unwrap();
        assert_eq!(sshd_listeners(&p), Some(0));
        // busybox: no -C, nothing after the marker.
        let p = parse("init\nsshd\n@@sshd-args\n").unwrap();
        assert_eq!(p.sshd_args, Some(vec![]));
        assert_eq!(sshd_listeners(&p), None);
        // Lines after the marker are never command names.
        let p = parse("init\n@@sshd-args\ncron\n").unwrap();
        assert_eq!(count(&p.comms, "cron"), 0);
        assert!(parse("@@sshd-args\nsshd: root@notty\n").is_err());
        assert!(is_sshd("sshd") && is_sshd("/usr/sbin/sshd") && !is_sshd("sshd-session"));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>(), n in proptest::prelude::any::<String>()) {
            for body in [s.clone(), format!("sshd\n@@sshd-args\n{s}")] {
                if let Ok(p) = parse(&body) {
                    let _ = count(&p.comms, &n);
                    let _ = sshd_listeners(&p);
                    let _ = is_sshd(&n);
                }
            }
        }
    }
}
