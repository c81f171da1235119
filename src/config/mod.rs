//! Configuration: TOML file → validated [`Config`] (SPEC §2).
//!
//! Layers: command line > file > defaults. Unknown fields are errors; every error names the
//! file, line and column and says what was expected.

use crate::checks::range::Range;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// A host's role on the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Production,
    Backup,
    Drp,
    Bastion,
}

impl Role {
    pub fn word(self) -> &'static str {
        match self {
            Role::Production => "production",
            Role::Backup => "backup",
            Role::Drp => "drp",
            Role::Bastion => "bastion",
        }
    }
}

/// Warning and critical ranges of one measure (Nagios range syntax). `None` never alerts.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Levels {
    pub warn: Option<Range>,
    pub crit: Option<Range>,
}

/// Thresholds, fully resolved for one host (defaults < `[thresholds]` < `[hosts.thresholds]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// % of space used on a mount.
    pub partition: Levels,
    /// % of inodes *free* on a mount (ranges like "10:" alert below).
    pub inodes: Levels,
    /// 15-minute load average divided by the number of CPUs.
    pub load: Levels,
    /// % CPU busy between two samples.
    pub cpu: Levels,
    /// % memory used (MemTotal − MemAvailable).
    pub memory: Levels,
    /// % swap used.
    pub swap: Levels,
    /// Absolute clock offset in milliseconds.
    pub time_drift: Levels,
    /// Per-mount override of `partition`, keyed by mount point.
    pub mounts: BTreeMap<String, Levels>,
}

/// The resolved settings of one supervised host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostConfig {
    pub name: String,
    /// IP or DNS name to connect to (after ~/.ssh/config resolution when not given).
    pub address: String,
    pub port: u16,
    pub user: String,
    pub role: Role,
    pub datacenter: String,
    /// Name of another `[[hosts]]` entry (or a host synthesised from ~/.ssh/config ProxyJump)
    /// used as ProxyJump.
    pub jump: Option<String>,
    pub public_address: String,
    pub processes: Vec<String>,
    pub services: Vec<String>,
    /// Identity files to try, in order (host's own, then `[ssh] identity`, then ~/.ssh/config's).
    pub identities: Vec<PathBuf>,
    pub thresholds: Thresholds,
    /// False for hosts only reached as a jump (from ~/.ssh/config ProxyJump) and not supervised.
    pub supervised: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SshSettings {
    pub known_hosts: PathBuf,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub keepalive: Duration,
    /// Slow probe sections (SMART, quotas) run every Nth refresh.
    pub slow_every: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    pub name: String,
    pub refresh: Duration,
    /// IANA zone name, validated.
    pub timezone: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file this was read from.
    pub path: PathBuf,
    pub site: Site,
    pub ssh: SshSettings,
    /// Hosts in file order; jump-only hosts resolved from ~/.ssh/config come after.
    pub hosts: Vec<HostConfig>,
}

impl Config {
    pub fn host(&self, name: &str) -> Option<&HostConfig> {
        self.hosts.iter().find(|h| h.name == name)
    }

    pub fn supervised(&self) -> impl Iterator<Item = &HostConfig> {
        self.hosts.iter().filter(|h| h.supervised)
    }
}
