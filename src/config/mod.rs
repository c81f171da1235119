//! Configuration: TOML file → validated [`Config`] (SPEC §2).
//!
//! Layers: command line > file > defaults. Unknown fields are errors; every error names the
//! file, line and column and says what was expected. `config.example.toml` at the top of the
//! repository documents every field.
//!
//! A host's connection settings come, field by field, from its `[[hosts]]` entry, else from
//! OpenSSH's own configuration (`ssh -G NAME`, see [`openssh`]), else from `[ssh]`, else from
//! built-in defaults.

mod apps;
mod datasets;
mod dns;
mod drp;
mod error;
mod fields;
mod jumps;
mod load;
pub mod openssh;
mod raw;
mod runbooks;
mod thresholds;
mod ticket;
mod urls;
mod values;

pub use apps::{HostApps, REPLICATION_KINDS, SERVICES};
pub use datasets::default_grace;
pub use dns::DnsSettings;
pub use drp::{DrpSettings, rate};
pub use error::{ConfigError, Location, Problem};
pub use ticket::{TICKET_PLACEHOLDERS, Template, TicketSettings};
pub use urls::{ContentMatch, Dnsbl, MAX_REDIRECTS, UrlTest};
pub use values::{expand_path, format_duration, parse_duration};

use crate::backup::model::Dataset;
use crate::checks::range::Range;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Reads and validates the configuration file at `path`.
///
/// Every problem found is reported (not only the first), each located at `PATH:LINE:COL`.
/// Hosts are resolved through OpenSSH's client configuration unless `[ssh] use_ssh_config`
/// is false (this runs `ssh -G`, which reads files but never connects).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigError::io(path, &e))?;
    match String::from_utf8(bytes) {
        Ok(text) => parse(&text, path),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let text = String::from_utf8_lossy(valid);
            Err(ConfigError::new(
                path,
                vec![Problem {
                    location: Some(Location::of_offset(&text, text.len())),
                    message: "invalid UTF-8: expected a UTF-8 text file".into(),
                }],
            ))
        }
    }
}

/// Validates configuration `text` as if read from `path` (used for messages, and as the base
/// of relative paths in the file).
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    load::parse_with(text, path, &load::Env::from_process())
}

/// `$XDG_CONFIG_HOME/vigie/config.toml`, or `~/.config/vigie/config.toml`.
pub fn default_path() -> PathBuf {
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let dir = xdg.unwrap_or_else(|| {
        values::home_dir()
            .unwrap_or_else(|| PathBuf::from("~"))
            .join(".config")
    });
    dir.join("vigie").join("config.toml")
}

/// A host's role on the site.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize, serde::Serialize,
)]
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
    /// Per-mount override of `partition`, keyed by mount point (no trailing `/`), already
    /// merged with `partition`: use [`Thresholds::for_mount`].
    pub mounts: BTreeMap<String, Levels>,
}

impl Thresholds {
    /// The levels of a mount's space: its own override, else `partition`.
    pub fn for_mount(&self, mount: &str) -> &Levels {
        self.mounts.get(mount).unwrap_or(&self.partition)
    }
}

impl Default for Thresholds {
    /// SPEC §4's defaults.
    fn default() -> Thresholds {
        let r = |text: &str| Some(Range::parse(text).expect("built-in range"));
        Thresholds {
            partition: Levels {
                warn: r("80"),
                crit: r("90"),
            },
            inodes: Levels {
                warn: r("10:"),
                crit: r("5:"),
            },
            load: Levels {
                warn: r("5"),
                crit: r("10"),
            },
            cpu: Levels {
                warn: r("95"),
                crit: None,
            },
            memory: Levels {
                warn: r("80"),
                crit: r("90"),
            },
            swap: Levels {
                warn: r("50"),
                crit: r("80"),
            },
            time_drift: Levels {
                warn: r("200"),
                crit: r("500"),
            },
            mounts: BTreeMap::new(),
        }
    }
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
    /// Replication, interfaces and routes to supervise (issue 5).
    pub apps: HostApps,
    /// Identity files to try, in order: the host's own `identity`, then the OpenSSH
    /// configuration's IdentityFile, then `[ssh] identity`. Empty when none names any: use
    /// OpenSSH's default keys. Files are not checked for existence.
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
    /// Interval of SSH keepalives (never zero).
    pub keepalive: Duration,
    /// Slow probe sections (SMART, quotas) run every Nth refresh.
    pub slow_every: u32,
    /// Root-only tools (smartctl, repquota) go through `sudo -n` when the user is not root.
    pub sudo: bool,
}

/// `[ui]`: how the console looks.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UiSettings {
    /// A theme name (a file in `themes/` or `$XDG_CONFIG_HOME/vigie/themes/`) or a path;
    /// `--theme` wins; default "dark".
    pub theme: Option<String>,
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
    pub ui: UiSettings,
    /// Hosts in file order; jump-only hosts resolved from ~/.ssh/config come after.
    pub hosts: Vec<HostConfig>,
    /// `[[datasets]]` in file order (SPEC §5): names unique, at least one copy each, every
    /// copy on a supervised host.
    pub datasets: Vec<Dataset>,
    /// `[[urls]]` in file order (SPEC §4): names unique, `via` hosts known.
    pub urls: Vec<UrlTest>,
    /// `[dnsbl]`, if the file has one.
    pub dnsbl: Option<Dnsbl>,
    /// `[drp]`, if the file has one (SPEC §6).
    pub drp: Option<DrpSettings>,
    /// `[dns]`, if the file has one (SPEC §6): the DRP's DNS switch.
    pub dns: Option<DnsSettings>,
    /// `[ticket]`, if the file has one (SPEC §6): the DRP's ticket webhook.
    pub ticket: Option<TicketSettings>,
    /// `[runbooks.NAME]` in file order (SPEC §6), checked against the hosts, datasets, URL
    /// tests, [drp], [dns] and [ticket] of the file.
    pub runbooks: crate::drp::model::Runbooks,
}

impl Config {
    pub fn host(&self, name: &str) -> Option<&HostConfig> {
        self.hosts.iter().find(|h| h.name == name)
    }

    pub fn supervised(&self) -> impl Iterator<Item = &HostConfig> {
        self.hosts.iter().filter(|h| h.supervised)
    }

    pub fn dataset(&self, name: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_is_under_the_config_home() {
        let p = default_path();
        assert!(p.ends_with("vigie/config.toml"), "{}", p.display());
        assert!(p.is_absolute() || p.starts_with("~"), "{}", p.display());
    }

    #[test]
    fn default_thresholds_follow_the_spec() {
        let t = Thresholds::default();
        assert!(t.partition.warn.unwrap().alerts(80.1) && !t.partition.warn.unwrap().alerts(80.0));
        assert!(t.partition.crit.unwrap().alerts(90.5));
        // inodes are % free: alert below.
        assert!(t.inodes.warn.unwrap().alerts(9.9) && !t.inodes.warn.unwrap().alerts(50.0));
        assert!(t.inodes.crit.unwrap().alerts(4.0));
        assert!(t.cpu.crit.is_none());
        assert_eq!(t.for_mount("/srv"), &t.partition);
    }
}
