//! The file as written: serde structs mirroring the TOML, with spans on every value that is
//! checked after deserialisation. Every table refuses unknown keys.

use super::values::{Loose, OneOrMany, TableOf};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_spanned::Spanned;
use std::collections::BTreeMap;

/// `[site]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSite {
    pub name: Spanned<String>,
    pub refresh: Option<Spanned<Loose>>,
    pub timezone: Option<Spanned<String>>,
}

/// `[ssh]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSsh {
    pub user: Option<Spanned<String>>,
    pub identity: Option<Spanned<OneOrMany>>,
    pub known_hosts: Option<Spanned<String>>,
    pub connect_timeout: Option<Spanned<Loose>>,
    pub command_timeout: Option<Spanned<Loose>>,
    pub keepalive: Option<Spanned<Loose>>,
    pub slow_every: Option<Spanned<Loose>>,
    pub config: Option<Spanned<String>>,
    pub use_ssh_config: Option<bool>,
    pub sudo: Option<bool>,
}

/// `[ui]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUi {
    pub theme: Option<Spanned<String>>,
}

/// `{ warn = "…", crit = "…" }`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLevels {
    pub warn: Option<Spanned<Loose>>,
    pub crit: Option<Spanned<Loose>>,
}

/// `[thresholds]` and `[hosts.thresholds]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThresholds {
    pub partition: Option<TableOf<RawLevels>>,
    pub inodes: Option<TableOf<RawLevels>>,
    pub load: Option<TableOf<RawLevels>>,
    pub cpu: Option<TableOf<RawLevels>>,
    pub memory: Option<TableOf<RawLevels>>,
    pub swap: Option<TableOf<RawLevels>>,
    pub time_drift: Option<TableOf<RawLevels>>,
    pub mounts: Option<TableOf<BTreeMap<Spanned<String>, TableOf<RawLevels>>>>,
}

/// One `[[hosts]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    pub name: Spanned<String>,
    pub address: Option<Spanned<String>>,
    pub port: Option<Spanned<Loose>>,
    pub user: Option<Spanned<String>>,
    pub identity: Option<Spanned<OneOrMany>>,
    pub role: Spanned<String>,
    pub datacenter: Spanned<String>,
    pub jump: Option<Spanned<String>>,
    pub public_address: Option<Spanned<String>>,
    #[serde(default)]
    pub processes: Vec<Spanned<String>>,
    #[serde(default)]
    pub services: Vec<Spanned<String>>,
    #[serde(default)]
    pub replication: Vec<Spanned<String>>,
    #[serde(default)]
    pub interfaces: Vec<Spanned<String>>,
    #[serde(default)]
    pub routes: Vec<Spanned<String>>,
    pub thresholds: Option<TableOf<RawThresholds>>,
}

/// One `[[datasets]]` entry. Its `restore` and `copies` are taken out before and read on their
/// own, so that a mistake in one does not hide the others; they are named here so that
/// "unknown field" messages list them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDataset {
    pub name: Spanned<String>,
    pub max_loss: Spanned<Loose>,
    #[allow(dead_code)] // always None: taken out before
    pub restore: Option<IgnoredAny>,
    #[allow(dead_code)] // always None: taken out before
    pub copies: Option<IgnoredAny>,
}

/// `restore = { kind = "…", database = "…", port = N }` of a dataset (and of a db_import step).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRestore {
    pub kind: Spanned<Loose>,
    pub database: Option<Spanned<String>>,
    pub port: Option<Spanned<Loose>>,
}

/// One `[[datasets.copies]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCopy {
    pub host: Spanned<String>,
    pub path: Spanned<String>,
    pub every: Spanned<Loose>,
    pub days: Option<Spanned<Loose>>,
    pub format: Option<Spanned<Loose>>,
    pub pattern: Option<Spanned<String>>,
    pub command: Option<Spanned<String>>,
    pub password_file: Option<Spanned<String>>,
    pub grace: Option<Spanned<Loose>>,
}

/// One `[[urls]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUrl {
    pub name: Spanned<String>,
    pub url: Spanned<String>,
    pub expect: Option<Spanned<Vec<Spanned<Loose>>>>,
    pub contains: Option<Spanned<String>>,
    pub regex: Option<Spanned<String>>,
    pub warn: Option<Spanned<Loose>>,
    pub crit: Option<Spanned<Loose>>,
    pub timeout: Option<Spanned<Loose>>,
    pub via: Option<Spanned<String>>,
    pub ca_file: Option<Spanned<String>>,
    pub follow_redirects: Option<bool>,
}

/// `[dnsbl]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDnsbl {
    pub resolver: Spanned<String>,
    pub zones: Spanned<Vec<Spanned<String>>>,
    pub addresses: Option<Vec<Spanned<String>>>,
    pub every: Option<Spanned<Loose>>,
}
