//! `procs`: `ps -A -o comm=`, one command name per line.

use super::ParseError;

/// The kernel keeps 15 bytes of a command name (TASK_COMM_LEN 16 with the NUL).
pub const COMM_MAX: usize = 15;

pub fn parse(body: &str) -> Result<Vec<String>, ParseError> {
    let names: Vec<String> = body
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        return Err(ParseError::new("ps listed no process"));
    }
    Ok(names)
}

/// How many of `comms` are the configured process `name`. A configured path counts by its
/// last component, and a name longer than the kernel keeps matches on its first 15 bytes.
pub fn count(comms: &[String], name: &str) -> usize {
    let name = name.trim();
    let name = name.rsplit('/').next().unwrap_or(name);
    let bytes = name.as_bytes();
    let want = bytes.get(..COMM_MAX).unwrap_or(bytes);
    if want.is_empty() {
        return 0;
    }
    comms.iter().filter(|c| c.as_bytes() == want).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_truncation() {
        let comms = parse("systemd\nsshd\nsshd\ncron\npostgres\nsystemd-journal\n").unwrap();
        assert_eq!(count(&comms, "sshd"), 2);
        assert_eq!(count(&comms, "/usr/sbin/cron"), 1);
        assert_eq!(count(&comms, "nginx"), 0);
        // "systemd-journald" is 16 bytes: the kernel shows "systemd-journal".
        assert_eq!(count(&comms, "systemd-journald"), 1);
        assert_eq!(count(&comms, ""), 0);
        assert!(parse("\n\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>(), n in proptest::prelude::any::<String>()) {
            if let Ok(c) = parse(&s) {
                let _ = count(&c, &n);
            }
        }
    }
}
