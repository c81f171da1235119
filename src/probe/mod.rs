//! The agentless probe: one POSIX sh script, one exec per host per refresh.

pub mod parse;
pub mod report;
pub mod sections;

/// The probe script, sent on the exec channel's stdin.
pub const SCRIPT: &str = include_str!("probe.sh");

/// What one exec of the probe should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    /// Random hex, new for every exec: frames the sections.
    pub nonce: String,
    /// Run the slow sections (SMART, quotas) this time.
    pub slow: bool,
    /// No earlier CPU sample exists: take two inside this exec.
    pub cpu_second_sample: bool,
}

impl ProbeRequest {
    pub fn new(slow: bool, cpu_second_sample: bool) -> Self {
        ProbeRequest {
            nonce: format!("{:032x}", rand::random::<u128>()),
            slow,
            cpu_second_sample,
        }
    }

    /// The remote command line. `env` rather than `VAR=x cmd` so that it works whatever the
    /// login shell (csh, fish); every word is fixed or hex, so nothing needs quoting.
    pub fn command(&self) -> String {
        let mut cmd = format!("env LC_ALL=C LANG=C /bin/sh -s -- {}", self.nonce);
        if self.slow {
            cmd.push_str(" slow");
        }
        if self.cpu_second_sample {
            cmd.push_str(" cpu2");
        }
        cmd
    }
}
