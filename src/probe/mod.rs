//! The agentless probe: one POSIX sh script, one exec per host per refresh.

pub mod parse;
pub mod report;
pub mod sections;

/// The probe script, sent on the exec channel's stdin.
pub const SCRIPT: &str = include_str!("probe.sh");

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
}

impl ProbeRequest {
    pub fn new(slow: bool, cpu_second_sample: bool, sudo: bool) -> Self {
        ProbeRequest {
            nonce: format!("{:032x}", rand::random::<u128>()),
            slow,
            cpu_second_sample,
            sudo,
        }
    }

    /// What the shell reads: the parameters as assignments (hex and digits only, nothing to
    /// quote), then the script. The nonce travels here rather than on the command line, where
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
    }
}
