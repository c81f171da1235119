//! TOML text → validated [`Config`]: syntax, then each section on its own (so that a mistake in
//! one does not hide mistakes in the others), then values, then OpenSSH resolution and jumps.

use super::error::{ConfigError, Problems};
use super::openssh::{self, JumpHop, NoLookup, OpenSsh, SshFacts, SshLookup};
use super::raw::{RawHost, RawLevels, RawSite, RawSsh, RawThresholds};
use super::values::{self, DURATION_EXAMPLES, Loose, OneOrMany};
use super::{Config, HostConfig, Levels, Role, Site, SshSettings, Thresholds};
use crate::checks::range::Range;
use serde::de::DeserializeOwned;
use serde_spanned::Spanned;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range as Span;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// The top-level tables this version understands.
const SECTIONS: &[&str] = &["site", "ssh", "thresholds", "hosts"];
/// Tables the specification describes that later versions will read.
const LATER_SECTIONS: &[&str] = &[
    "urls", "dnsbl", "datasets", "drp", "dns", "ticket", "runbooks",
];
const ROLES: &str = "`production`, `backup`, `drp`, `bastion`";

/// What loading needs from the machine it runs on; tests provide their own.
pub(crate) struct Env<'a> {
    pub home: Option<PathBuf>,
    /// The local account (`$USER`), the last fallback for SSH users.
    pub user: Option<String>,
    /// The IANA name of the system time zone, if it has one.
    pub system_tz: Option<String>,
    /// Replaces the `ssh -G` runner (tests).
    pub lookup: Option<&'a dyn SshLookup>,
}

impl Env<'static> {
    pub fn from_process() -> Env<'static> {
        Env {
            home: values::home_dir(),
            user: local_user(),
            system_tz: jiff::tz::TimeZone::system().iana_name().map(str::to_string),
            lookup: None,
        }
    }
}

/// `$USER`, `$LOGNAME`, or the account of this process's uid in /etc/passwd.
fn local_user() -> Option<String> {
    for var in ["USER", "LOGNAME"] {
        if let Ok(u) = std::env::var(var)
            && !u.is_empty()
        {
            return Some(u);
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid).then(|| f[0].to_string())
        })
    }
    #[cfg(not(unix))]
    None
}

pub(crate) fn parse_with(text: &str, path: &Path, env: &Env) -> Result<Config, ConfigError> {
    let mut p = Problems::new(text);
    let (root, syntax) = DeTable::parse_recoverable(text);
    if !syntax.is_empty() {
        for e in syntax {
            let span = e.span().unwrap_or(0..0);
            let mut msg = e.message().to_string();
            if msg == "duplicate key"
                && let Some(key) = text.get(span.clone())
            {
                msg = format!("duplicate key `{key}`");
            }
            p.at(span, msg);
        }
        return Err(ConfigError::new(path, p.list));
    }
    let base = base_dir(path);
    let mut sections = Sections::default();
    for (key, value) in root.into_inner() {
        let name = key.get_ref().as_ref();
        match name {
            "site" => sections.site = Some(value),
            "ssh" => sections.ssh = Some(value),
            "thresholds" => sections.thresholds = Some(value),
            "hosts" => sections.hosts = Some(value),
            _ => {
                let mut msg = format!(
                    "unknown field `{name}`, expected one of {}",
                    list(SECTIONS.iter().copied())
                );
                if LATER_SECTIONS.contains(&name) {
                    msg.push_str(&format!(
                        " ([{name}] is for a later version of vigie, not this one)"
                    ));
                }
                p.at(key.span(), msg);
            }
        }
    }

    // [site]
    let site = match sections.site {
        None => {
            p.at(
                0..0,
                "missing table [site]: expected at least `name = \"…\"`",
            );
            None
        }
        Some(v) => table::<RawSite>(v, "[site]", &mut p),
    };
    let site = site.map(|s| check_site(s, env, &mut p));

    // [ssh]
    let raw_ssh = match sections.ssh {
        None => Some(RawSsh::default()),
        Some(v) => table::<RawSsh>(v, "[ssh]", &mut p),
    };
    let ssh = raw_ssh.map(|s| check_ssh(s, env, &base, &mut p));

    // [thresholds]
    let global = match sections.thresholds {
        None => Some(PartialThresholds::default()),
        Some(v) => {
            table::<RawThresholds>(v, "[thresholds]", &mut p).map(|t| check_thresholds(t, &mut p))
        }
    };
    let global_thresholds = merge_thresholds(
        &PartialThresholds::default(),
        global.as_ref().unwrap_or(&PartialThresholds::default()),
    );

    // [[hosts]]
    let mut drafts = Vec::new();
    // Names of entries too broken to read: jumps to them are not reported as unknown.
    let mut unreadable = HashSet::new();
    if let Some(v) = sections.hosts {
        let span = v.span();
        match v.into_inner() {
            DeValue::Array(items) => {
                for item in items {
                    let item_span = item.span();
                    if !item.get_ref().is_table() {
                        p.at(
                            item_span,
                            format!(
                                "expected a table in `hosts`, found {}: write each host as [[hosts]]",
                                item.get_ref().type_str()
                            ),
                        );
                        continue;
                    }
                    let name = item
                        .get_ref()
                        .get("name")
                        .and_then(|n| n.get_ref().as_str())
                        .map(str::to_string);
                    match table::<RawHost>(item, "[[hosts]]", &mut p) {
                        Some(raw) => {
                            drafts.push(check_host(raw, global.as_ref(), env, &base, &mut p))
                        }
                        None => {
                            unreadable.extend(name);
                        }
                    }
                }
            }
            other => p.at(
                span,
                format!(
                    "`hosts` must be an array of tables, found {}: write each host as [[hosts]]",
                    other.type_str()
                ),
            ),
        }
    }

    // Duplicate names: the first one wins for what follows.
    let mut first_seen: HashMap<String, Span<usize>> = HashMap::new();
    drafts.retain(|d| match first_seen.get(&d.name) {
        Some(first) => {
            let line = p.line_of(first);
            p.at(
                d.name_span.clone(),
                format!(
                    "duplicate host name `{}`: already used on line {line}; host names must be unique",
                    d.name
                ),
            );
            false
        }
        None => {
            first_seen.insert(d.name.clone(), d.name_span.clone());
            true
        }
    });

    // OpenSSH resolution and jumps need valid [ssh] settings.
    let hosts = match &ssh {
        Some(ssh) => {
            let runner;
            let lookup: &dyn SshLookup = if !ssh.use_ssh_config || !ssh.config_ok {
                if !ssh.use_ssh_config {
                    tracing::debug!(
                        "use_ssh_config = false: the OpenSSH configuration is not read"
                    );
                }
                &NoLookup
            } else if let Some(l) = env.lookup {
                l
            } else {
                runner = OpenSsh::new(ssh.config.clone());
                &runner
            };
            let mut graph = Graph {
                hosts: Vec::new(),
                nodes: Vec::new(),
                index: HashMap::new(),
                unreadable,
                lookup,
                ssh,
                env,
                global: &global_thresholds,
                problems: &mut p,
            };
            graph.build(drafts);
            graph.check_cycles();
            graph.hosts
        }
        None => Vec::new(),
    };

    match (site, ssh) {
        (Some(site), Some(ssh)) if p.is_empty() => Ok(Config {
            path: path.to_path_buf(),
            site,
            ssh: SshSettings {
                known_hosts: ssh.known_hosts,
                connect_timeout: ssh.connect_timeout,
                command_timeout: ssh.command_timeout,
                keepalive: ssh.keepalive,
                slow_every: ssh.slow_every,
            },
            hosts,
        }),
        _ => Err(ConfigError::new(path, p.list)),
    }
}

/// The directory relative paths in the file are relative to (absolute when possible).
fn base_dir(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new(""));
    if dir.is_absolute() {
        return dir.to_path_buf();
    }
    match std::env::current_dir() {
        Ok(cwd) => cwd.join(dir),
        Err(_) => dir.to_path_buf(),
    }
}

#[derive(Default)]
struct Sections<'i> {
    site: Option<Spanned<DeValue<'i>>>,
    ssh: Option<Spanned<DeValue<'i>>>,
    thresholds: Option<Spanned<DeValue<'i>>>,
    hosts: Option<Spanned<DeValue<'i>>>,
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deserialises one table of the file, reporting (and locating) what serde refuses.
fn table<T: DeserializeOwned>(v: Spanned<DeValue>, what: &str, p: &mut Problems) -> Option<T> {
    let span = v.span();
    if !v.get_ref().is_table() {
        p.at(
            span,
            format!("expected a table {what}, found {}", v.get_ref().type_str()),
        );
        return None;
    }
    let host_name = v
        .get_ref()
        .get("name")
        .and_then(|n| n.get_ref().as_str())
        .map(str::to_string);
    match T::deserialize(ValueDeserializer::from(v)) {
        Ok(t) => Some(t),
        Err(e) => {
            // serde's words for TOML's: sequence → array, map → table.
            let mut msg = e
                .message()
                .replace("a sequence", "an array")
                .replace("type: sequence", "type: array")
                .replace("a map", "a table")
                .replace("type: map", "type: table");
            if let Some(field) = msg
                .strip_prefix("missing field `")
                .and_then(|r| r.strip_suffix('`'))
            {
                let place = match (what, host_name) {
                    ("[[hosts]]", Some(n)) => format!("[[hosts]] `{n}`"),
                    _ => what.to_string(),
                };
                msg = format!(
                    "missing field `{field}` in {place}{}",
                    field_hint(what, field)
                );
            }
            p.at(e.span().unwrap_or(span), msg);
            None
        }
    }
}

/// What a required field should contain, for "missing field" messages.
fn field_hint(what: &str, field: &str) -> String {
    match (what, field) {
        ("[site]", "name") => ": expected the site's name, e.g. name = \"1stKYC\"".into(),
        ("[[hosts]]", "name") => ": expected the host's name, e.g. name = \"prod\"".into(),
        ("[[hosts]]", "role") => format!(": expected one of {ROLES}"),
        ("[[hosts]]", "datacenter") => {
            ": expected the datacenter it is in, e.g. datacenter = \"dc1\"".into()
        }
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Values

fn duration(
    v: &Option<Spanned<Loose>>,
    field: &str,
    default: Duration,
    p: &mut Problems,
) -> Duration {
    let Some(v) = v else { return default };
    let found = match v.get_ref() {
        Loose::Str(s) => match values::parse_duration(s) {
            Ok(d) if d.is_zero() => {
                p.at(
                    v.span(),
                    format!("`{field}` must be longer than zero; expected {DURATION_EXAMPLES}"),
                );
                return default;
            }
            Ok(d) => return d,
            Err(e) => {
                p.at(v.span(), format!("`{field}`: {e}"));
                return default;
            }
        },
        Loose::Int(i) => format!("integer {i} (write \"{i}s\" for seconds)"),
        other => other.describe(),
    };
    p.at(
        v.span(),
        format!("`{field}`: expected {DURATION_EXAMPLES}, found {found}"),
    );
    default
}

/// An integer in `min..=max`; `expected` says so in words ("an integer from 1 to 65535").
fn integer(
    v: &Spanned<Loose>,
    field: &str,
    (min, max): (i64, i64),
    expected: &str,
    p: &mut Problems,
) -> Option<i64> {
    match v.get_ref() {
        Loose::Int(i) if (min..=max).contains(i) => Some(*i),
        Loose::Int(i) => {
            p.at(
                v.span(),
                format!("`{field}` = {i} is out of range: expected {expected}"),
            );
            None
        }
        other => {
            p.at(
                v.span(),
                format!("`{field}`: expected {expected}, found {}", other.describe()),
            );
            None
        }
    }
}

/// `Some(None)`: explicitly "none" (never alerts). `None`: not set, or invalid (reported).
fn range(v: &Option<Spanned<Loose>>, field: &str, p: &mut Problems) -> Option<Option<Range>> {
    let v = v.as_ref()?;
    let text = match v.get_ref() {
        Loose::Str(s) if s.trim().eq_ignore_ascii_case("none") => return Some(None),
        Loose::Str(s) => s.clone(),
        Loose::Int(i) => i.to_string(),
        Loose::Float(x) => x.to_string(),
        other => {
            p.at(
                v.span(),
                format!(
                    "`{field}`: expected a Nagios range such as \"80\", \"10:\", \"~:5\", \
                     \"10:20\", \"@10:20\", or \"none\", found {}",
                    other.describe()
                ),
            );
            return None;
        }
    };
    match Range::parse(&text) {
        Ok(r) => Some(Some(r)),
        Err(e) => {
            p.at(v.span(), format!("`{field}`: {e}"));
            None
        }
    }
}

fn path(v: &Spanned<String>, field: &str, env: &Env, base: &Path, p: &mut Problems) -> PathBuf {
    match values::expand_path(v.get_ref(), env.home.as_deref(), base) {
        Ok(path) => path,
        Err(e) => {
            p.at(v.span(), format!("`{field}`: {e}"));
            PathBuf::from(v.get_ref())
        }
    }
}

fn paths(
    v: &Option<Spanned<OneOrMany>>,
    field: &str,
    env: &Env,
    base: &Path,
    p: &mut Problems,
) -> Vec<PathBuf> {
    let Some(v) = v else { return Vec::new() };
    v.get_ref()
        .0
        .iter()
        .map(|s| path(&Spanned::new(v.span(), s.clone()), field, env, base, p))
        .collect()
}

/// A word for names and datacenters: non-empty, no blanks or control characters.
fn word(v: &Spanned<String>, what: &str, p: &mut Problems) -> bool {
    let s = v.get_ref();
    if s.trim().is_empty() {
        p.at(
            v.span(),
            format!("empty {what}: expected a non-empty string"),
        );
        false
    } else if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        p.at(
            v.span(),
            format!("{what} {s:?} contains blanks or control characters"),
        );
        false
    } else {
        true
    }
}

fn host_name_ok(v: &Spanned<String>, p: &mut Problems) {
    if !word(v, "host name", p) {
        return;
    }
    let s = v.get_ref();
    if s.starts_with('-')
        || !s
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        p.at(
            v.span(),
            format!(
                "invalid host name {s:?}: expected letters, digits, `.`, `_` and `-`, \
                 not starting with `-`"
            ),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Sections

fn check_site(raw: RawSite, env: &Env, p: &mut Problems) -> Site {
    word_or_empty(&raw.name, "site name", p);
    let refresh = duration(&raw.refresh, "refresh", Duration::from_secs(5), p);
    let timezone = match &raw.timezone {
        Some(tz) => match jiff::tz::TimeZone::get(tz.get_ref()) {
            Ok(zone) => zone
                .iana_name()
                .map_or_else(|| tz.get_ref().clone(), str::to_string),
            Err(_) => {
                p.at(
                    tz.span(),
                    format!(
                        "unknown time zone {:?}: expected an IANA zone name such as \
                         \"Europe/Paris\" or \"UTC\"",
                        tz.get_ref()
                    ),
                );
                tz.get_ref().clone()
            }
        },
        None => env.system_tz.clone().unwrap_or_else(|| {
            tracing::warn!("the system time zone has no IANA name: using UTC; set [site] timezone");
            "UTC".to_string()
        }),
    };
    Site {
        name: raw.name.into_inner(),
        refresh,
        timezone,
    }
}

/// The site name may contain blanks ("Acme Prod"), it just must not be empty.
fn word_or_empty(v: &Spanned<String>, what: &str, p: &mut Problems) {
    if v.get_ref().trim().is_empty() {
        p.at(
            v.span(),
            format!("empty {what}: expected a non-empty string"),
        );
    } else if v.get_ref().chars().any(char::is_control) {
        p.at(v.span(), format!("{what} contains control characters"));
    }
}

/// `[ssh]`, checked.
struct SshDefaults {
    user: Option<String>,
    identities: Vec<PathBuf>,
    known_hosts: PathBuf,
    connect_timeout: Duration,
    command_timeout: Duration,
    keepalive: Duration,
    slow_every: u32,
    config: Option<PathBuf>,
    /// `config` names an existing file (or is not set).
    config_ok: bool,
    use_ssh_config: bool,
}

fn check_ssh(raw: RawSsh, env: &Env, base: &Path, p: &mut Problems) -> SshDefaults {
    if let Some(u) = &raw.user {
        word(u, "user", p);
    }
    let known_hosts = match &raw.known_hosts {
        Some(v) => path(v, "known_hosts", env, base, p),
        None => env.home.as_deref().map_or_else(
            || PathBuf::from("~/.ssh/known_hosts"),
            |h| h.join(".ssh/known_hosts"),
        ),
    };
    let use_ssh_config = raw.use_ssh_config.unwrap_or(true);
    let mut config_ok = true;
    let config = raw.config.as_ref().map(|v| {
        let file = path(v, "config", env, base, p);
        if use_ssh_config && !file.exists() {
            config_ok = false;
            p.at(
                v.span(),
                format!(
                    "OpenSSH config file {} does not exist (remove `config` to use \
                     OpenSSH's own, or set use_ssh_config = false)",
                    file.display()
                ),
            );
        }
        file
    });
    SshDefaults {
        user: raw.user.map(Spanned::into_inner),
        identities: paths(&raw.identity, "identity", env, base, p),
        known_hosts,
        connect_timeout: duration(
            &raw.connect_timeout,
            "connect_timeout",
            Duration::from_secs(3),
            p,
        ),
        command_timeout: duration(
            &raw.command_timeout,
            "command_timeout",
            Duration::from_secs(10),
            p,
        ),
        keepalive: duration(&raw.keepalive, "keepalive", Duration::from_secs(15), p),
        slow_every: raw
            .slow_every
            .as_ref()
            .and_then(|v| {
                integer(
                    v,
                    "slow_every",
                    (1, i64::from(u32::MAX)),
                    "an integer of at least 1",
                    p,
                )
            })
            .map_or(12, |n| n as u32),
        config,
        config_ok,
        use_ssh_config,
    }
}

/// Levels as written: `None` = not set here (inherit), `Some(None)` = "none".
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct PartialLevels {
    warn: Option<Option<Range>>,
    crit: Option<Option<Range>>,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct PartialThresholds {
    partition: PartialLevels,
    inodes: PartialLevels,
    load: PartialLevels,
    cpu: PartialLevels,
    memory: PartialLevels,
    swap: PartialLevels,
    time_drift: PartialLevels,
    mounts: BTreeMap<String, PartialLevels>,
}

fn check_levels(
    raw: Option<super::values::TableOf<RawLevels>>,
    measure: &str,
    p: &mut Problems,
) -> PartialLevels {
    let Some(raw) = raw else {
        return PartialLevels::default();
    };
    PartialLevels {
        warn: range(&raw.0.warn, &format!("{measure}.warn"), p),
        crit: range(&raw.0.crit, &format!("{measure}.crit"), p),
    }
}

fn check_thresholds(raw: RawThresholds, p: &mut Problems) -> PartialThresholds {
    let mut mounts = BTreeMap::new();
    let mut seen: HashMap<String, Span<usize>> = HashMap::new();
    for (mount, levels) in raw.mounts.map(|m| m.0).unwrap_or_default() {
        let text = mount.get_ref();
        let normal = match text.trim_end_matches('/') {
            "" => "/".to_string(),
            t => t.to_string(),
        };
        if !text.starts_with('/') {
            p.at(
                mount.span(),
                format!("mount point {text:?} must be an absolute path, e.g. \"/var/backups\""),
            );
        } else if let Some(first) = seen.get(&normal) {
            let line = p.line_of(first);
            p.at(
                mount.span(),
                format!("mount point {text:?} is already set on line {line}"),
            );
        }
        seen.insert(normal.clone(), mount.span());
        let measure = format!("mounts.{text:?}");
        mounts.insert(normal, check_levels(Some(levels), &measure, p));
    }
    PartialThresholds {
        partition: check_levels(raw.partition, "partition", p),
        inodes: check_levels(raw.inodes, "inodes", p),
        load: check_levels(raw.load, "load", p),
        cpu: check_levels(raw.cpu, "cpu", p),
        memory: check_levels(raw.memory, "memory", p),
        swap: check_levels(raw.swap, "swap", p),
        time_drift: check_levels(raw.time_drift, "time_drift", p),
        mounts,
    }
}

/// host > global > built-in default, per field (warn and crit separately); a mount's levels
/// fall back to the resolved `partition` levels.
fn merge_thresholds(host: &PartialThresholds, global: &PartialThresholds) -> Thresholds {
    let d = Thresholds::default();
    let pick = |h: &PartialLevels, g: &PartialLevels, d: &Levels| Levels {
        warn: h.warn.or(g.warn).unwrap_or(d.warn),
        crit: h.crit.or(g.crit).unwrap_or(d.crit),
    };
    let partition = pick(&host.partition, &global.partition, &d.partition);
    let mut mounts = BTreeMap::new();
    for m in global.mounts.keys().chain(host.mounts.keys()) {
        let none = PartialLevels::default();
        let h = host.mounts.get(m).unwrap_or(&none);
        let g = global.mounts.get(m).unwrap_or(&none);
        mounts.insert(m.clone(), pick(h, g, &partition));
    }
    Thresholds {
        partition,
        inodes: pick(&host.inodes, &global.inodes, &d.inodes),
        load: pick(&host.load, &global.load, &d.load),
        cpu: pick(&host.cpu, &global.cpu, &d.cpu),
        memory: pick(&host.memory, &global.memory, &d.memory),
        swap: pick(&host.swap, &global.swap, &d.swap),
        time_drift: pick(&host.time_drift, &global.time_drift, &d.time_drift),
        mounts,
    }
}

/// A `[[hosts]]` entry, checked, before OpenSSH resolution.
struct Draft {
    name: String,
    name_span: Span<usize>,
    address: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    identities: Vec<PathBuf>,
    role: Role,
    datacenter: String,
    jump: Option<Spanned<String>>,
    public_address: Option<String>,
    processes: Vec<String>,
    services: Vec<String>,
    thresholds: Thresholds,
}

impl Draft {
    /// Whether something is left for OpenSSH's configuration to say.
    fn needs_lookup(&self) -> bool {
        self.address.is_none()
            || self.port.is_none()
            || self.user.is_none()
            || self.identities.is_empty()
            || self.jump.is_none()
    }
}

fn check_host(
    raw: RawHost,
    global: Option<&PartialThresholds>,
    env: &Env,
    base: &Path,
    p: &mut Problems,
) -> Draft {
    host_name_ok(&raw.name, p);
    let role = match raw.role.get_ref().as_str() {
        "production" => Role::Production,
        "backup" => Role::Backup,
        "drp" => Role::Drp,
        "bastion" => Role::Bastion,
        other => {
            let hint = if ["production", "backup", "drp", "bastion"]
                .contains(&other.to_ascii_lowercase().as_str())
            {
                " (roles are written in lowercase)"
            } else {
                ""
            };
            p.at(
                raw.role.span(),
                format!("unknown role `{other}`, expected one of {ROLES}{hint}"),
            );
            Role::Production
        }
    };
    word(&raw.datacenter, "datacenter", p);
    for (v, what) in [
        (&raw.address, "address"),
        (&raw.public_address, "public_address"),
    ] {
        if let Some(v) = v {
            word(v, what, p);
        }
    }
    if let Some(u) = &raw.user {
        word(u, "user", p);
    }
    if let Some(j) = &raw.jump
        && j.get_ref().trim().is_empty()
    {
        p.at(
            j.span(),
            "empty jump: expected the name of another host, or \"none\"",
        );
    }
    for (list, what) in [
        (&raw.processes, "process name"),
        (&raw.services, "service name"),
    ] {
        for item in list {
            word(item, what, p);
        }
    }
    let host_thresholds = raw
        .thresholds
        .map(|t| check_thresholds(t.0, p))
        .unwrap_or_default();
    let thresholds = merge_thresholds(&host_thresholds, global.unwrap_or(&Default::default()));
    Draft {
        name: raw.name.get_ref().clone(),
        name_span: raw.name.span(),
        address: raw.address.map(Spanned::into_inner),
        port: raw
            .port
            .as_ref()
            .and_then(|v| integer(v, "port", (1, 65535), "a port number from 1 to 65535", p))
            .map(|n| n as u16),
        user: raw.user.map(Spanned::into_inner),
        identities: paths(&raw.identity, "identity", env, base, p),
        role,
        datacenter: raw.datacenter.into_inner(),
        jump: raw.jump,
        public_address: raw.public_address.map(Spanned::into_inner),
        processes: raw.processes.into_iter().map(Spanned::into_inner).collect(),
        services: raw.services.into_iter().map(Spanned::into_inner).collect(),
        thresholds,
    }
}

// ---------------------------------------------------------------------------------------------
// OpenSSH resolution and jumps

/// Where a jump came from, for messages.
#[derive(Clone)]
enum Origin {
    /// `jump = "…"` in the file, at this span.
    File(Span<usize>),
    /// ProxyJump in the OpenSSH configuration, for the host declared at this span.
    OpenSsh { host: String, at: Span<usize> },
}

impl Origin {
    fn span(&self) -> Span<usize> {
        match self {
            Origin::File(s) => s.clone(),
            Origin::OpenSsh { at, .. } => at.clone(),
        }
    }

    fn describe(&self, spec: &str) -> String {
        match self {
            Origin::File(_) => format!("jump `{spec}`"),
            Origin::OpenSsh { host, .. } => {
                format!("ProxyJump `{spec}` (OpenSSH configuration of `{host}`)")
            }
        }
    }
}

/// What the graph knows of a host besides its [`HostConfig`].
struct Node {
    state: JumpState,
    /// Where the host is declared: its `name` (file hosts), or what made it up (jump hosts).
    decl: Span<usize>,
    /// Where its jump comes from.
    jump_origin: Option<Origin>,
}

enum JumpState {
    /// Not resolved yet: the spec and where it comes from.
    Pending(String, Origin),
    Resolving,
    Done,
}

struct Graph<'a, 'p, 't> {
    /// The file's hosts (in order), then synthesised jump hosts.
    hosts: Vec<HostConfig>,
    /// Per host, same order.
    nodes: Vec<Node>,
    index: HashMap<String, usize>,
    unreadable: HashSet<String>,
    lookup: &'a dyn SshLookup,
    ssh: &'a SshDefaults,
    env: &'a Env<'a>,
    global: &'a Thresholds,
    problems: &'p mut Problems<'t>,
}

impl Graph<'_, '_, '_> {
    fn build(&mut self, drafts: Vec<Draft>) {
        prefetch(
            self.lookup,
            drafts
                .iter()
                .filter(|d| d.needs_lookup())
                .map(|d| d.name.as_str()),
        );
        let file_names: Vec<String> = drafts.iter().map(|d| d.name.clone()).collect();
        for d in drafts {
            let facts = if d.needs_lookup() {
                self.facts(&d.name, &d.name_span, None)
            } else {
                None
            };
            let facts = facts.unwrap_or_default();
            let address = d
                .address
                .or_else(|| facts.hostname.clone())
                .unwrap_or_else(|| d.name.clone());
            let user = d
                .user
                .or_else(|| self.default_user(&facts, &d.name, &d.name_span));
            let mut identities = d.identities;
            identities.extend(self.ssh_config_identities(&facts));
            let identities = self.with_default_identities(identities);
            let jump = match d.jump {
                Some(j) => Some((j.get_ref().clone(), Origin::File(j.span()))),
                None => match (&facts.proxyjump, &facts.proxycommand) {
                    (Some(pj), _) => Some((
                        pj.clone(),
                        Origin::OpenSsh {
                            host: d.name.clone(),
                            at: d.name_span.clone(),
                        },
                    )),
                    (None, Some(pc)) => {
                        tracing::warn!(
                            host = %d.name,
                            proxycommand = %pc,
                            "the OpenSSH configuration sets a ProxyCommand, which vigie cannot \
                             use: connecting directly"
                        );
                        None
                    }
                    (None, None) => None,
                },
            };
            let public_address = d.public_address.unwrap_or_else(|| address.clone());
            let host = HostConfig {
                name: d.name.clone(),
                address,
                port: d.port.or(facts.port).unwrap_or(22),
                user: user.unwrap_or_default(),
                role: d.role,
                datacenter: d.datacenter,
                jump: None,
                public_address,
                processes: d.processes,
                services: d.services,
                identities,
                thresholds: d.thresholds,
                supervised: true,
            };
            let (state, jump_origin) = match jump {
                Some((spec, origin)) => (JumpState::Pending(spec, origin.clone()), Some(origin)),
                None => (JumpState::Done, None),
            };
            self.index.insert(host.name.clone(), self.hosts.len());
            self.hosts.push(host);
            self.nodes.push(Node {
                state,
                decl: d.name_span,
                jump_origin,
            });
        }
        for i in 0..file_names.len() {
            self.resolve_jump_of(i);
        }
    }

    /// OpenSSH's word on `name`; problems are reported at `at`.
    fn facts(&mut self, name: &str, at: &Span<usize>, origin: Option<&Origin>) -> Option<SshFacts> {
        match self.lookup.lookup(name) {
            Ok(facts) => facts,
            Err(why) => {
                let about = match origin {
                    Some(o) => format!("{}: ", o.describe(name)),
                    None => String::new(),
                };
                self.problems.at(
                    at.clone(),
                    format!("{about}OpenSSH cannot resolve host `{name}`: {why}"),
                );
                None
            }
        }
    }

    fn default_user(&mut self, facts: &SshFacts, name: &str, at: &Span<usize>) -> Option<String> {
        let user = facts
            .user
            .clone()
            .or_else(|| self.ssh.user.clone())
            .or_else(|| self.env.user.clone())
            .or_else(|| facts.default_user.clone());
        if user.is_none() {
            self.problems.at(
                at.clone(),
                format!(
                    "no SSH user for `{name}`: set `user` on the host or in [ssh] \
                     (the local user name is unknown)"
                ),
            );
        }
        user
    }

    fn ssh_config_identities(&self, facts: &SshFacts) -> Vec<PathBuf> {
        facts
            .identities
            .iter()
            .map(|f| match (f.strip_prefix("~/"), &self.env.home) {
                (Some(rest), Some(home)) => home.join(rest),
                _ => PathBuf::from(f),
            })
            .collect()
    }

    /// Adds `[ssh] identity`; removes repeats. Empty means OpenSSH's default keys (the SSH
    /// layer's `default_identities`).
    fn with_default_identities(&self, mut ids: Vec<PathBuf>) -> Vec<PathBuf> {
        ids.extend(self.ssh.identities.iter().cloned());
        let mut seen = HashSet::new();
        ids.retain(|p| seen.insert(p.clone()));
        ids
    }

    fn is_file_host(&self, i: usize) -> bool {
        self.hosts[i].supervised
    }

    fn resolve_jump_of(&mut self, i: usize) {
        let (spec, origin) = match std::mem::replace(&mut self.nodes[i].state, JumpState::Resolving)
        {
            JumpState::Pending(spec, origin) => (spec, origin),
            other => {
                self.nodes[i].state = other;
                return;
            }
        };
        let name = self.hosts[i].name.clone();
        let hops = match openssh::parse_jump_spec(&spec) {
            Ok(hops) => hops,
            Err(e) => {
                let what = origin.describe(&spec);
                self.problems.at(origin.span(), format!("{what}: {e}"));
                self.nodes[i].state = JumpState::Done;
                return;
            }
        };
        if hops.iter().any(|h| h.host == name) {
            let what = origin.describe(&spec);
            self.problems.at(
                origin.span(),
                format!(
                    "host `{name}` jumps through itself ({what}): expected another host, \
                     or \"none\""
                ),
            );
            self.nodes[i].state = JumpState::Done;
            return;
        }
        let jump = self.resolve_chain(&hops, &origin);
        self.hosts[i].jump = jump;
        self.nodes[i].state = JumpState::Done;
    }

    /// The node to jump through for a chain `a,b,…` (connect to a, through it to b, …).
    fn resolve_chain(&mut self, hops: &[JumpHop], origin: &Origin) -> Option<String> {
        let mut via: Option<String> = None;
        let mut prefix = String::new();
        for (k, hop) in hops.iter().enumerate() {
            if k > 0 {
                prefix.push(',');
            }
            prefix.push_str(&hop.spec);
            via = Some(self.resolve_hop(hop, via.as_deref(), k > 0, &prefix, origin)?);
        }
        via
    }

    /// The node for one hop, reached through `via` (chained), or through its own jump.
    fn resolve_hop(
        &mut self,
        hop: &JumpHop,
        via: Option<&str>,
        chained: bool,
        prefix: &str,
        origin: &Origin,
    ) -> Option<String> {
        let synth_name = if chained { prefix } else { hop.spec.as_str() };
        if let Some(&j) = self.index.get(&hop.host)
            && self.is_file_host(j)
        {
            self.resolve_jump_of(j);
            let base = &self.hosts[j];
            let same_endpoint = hop.user.as_ref().is_none_or(|u| *u == base.user)
                && hop.port.is_none_or(|p| p == base.port);
            let same_route = !chained || base.jump.as_deref() == via;
            if same_endpoint && same_route {
                return Some(base.name.clone());
            }
            // The same machine, reached as another user/port or another way: a copy.
            if self.index.contains_key(synth_name) {
                return Some(synth_name.to_string());
            }
            let mut copy = base.clone();
            copy.name = synth_name.to_string();
            if let Some(u) = &hop.user {
                copy.user = u.clone();
            }
            if let Some(p) = hop.port {
                copy.port = p;
            }
            if chained {
                copy.jump = via.map(str::to_string);
            }
            copy.supervised = false;
            copy.processes.clear();
            copy.services.clear();
            self.push_synth(copy, origin);
            return Some(synth_name.to_string());
        }
        if self.unreadable.contains(&hop.host) {
            // Already reported: that entry could not be read.
            return None;
        }
        if let Some(&j) = self.index.get(synth_name) {
            return Some(self.hosts[j].name.clone());
        }
        let facts = self.facts(&hop.host, &origin.span(), Some(origin));
        let known = facts.as_ref().is_some_and(SshFacts::is_known);
        if matches!(origin, Origin::File(_)) && !known {
            let names: Vec<&str> = self
                .hosts
                .iter()
                .filter(|h| h.supervised)
                .map(|h| h.name.as_str())
                .collect();
            let mut msg = format!(
                "jump `{}` names no host: expected one of the [[hosts]] names ({}){}",
                hop.host,
                list(names.iter().copied()),
                if facts.is_some() {
                    " or a host of the OpenSSH configuration"
                } else {
                    ""
                }
            );
            if let Some(close) = closest(&hop.host, &names) {
                msg.push_str(&format!("; did you mean `{close}`?"));
            }
            self.problems.at(origin.span(), msg);
            return None;
        }
        let facts = facts.unwrap_or_default();
        let user = hop
            .user
            .clone()
            .or_else(|| self.default_user(&facts, &hop.host, &origin.span()));
        let address = facts.hostname.clone().unwrap_or_else(|| hop.host.clone());
        let identities = self.with_default_identities(self.ssh_config_identities(&facts));
        let host = HostConfig {
            name: synth_name.to_string(),
            public_address: address.clone(),
            address,
            port: hop.port.or(facts.port).unwrap_or(22),
            user: user.unwrap_or_default(),
            role: Role::Bastion,
            datacenter: "-".to_string(),
            jump: via.map(str::to_string),
            processes: Vec::new(),
            services: Vec::new(),
            identities,
            thresholds: self.global.clone(),
            supervised: false,
        };
        let i = self.push_synth(host, origin);
        if !chained && let Some(pj) = &facts.proxyjump {
            // Its own ProxyJump, as OpenSSH would follow it.
            let own = Origin::OpenSsh {
                host: synth_name.to_string(),
                at: origin.span(),
            };
            self.nodes[i].state = JumpState::Pending(pj.clone(), own.clone());
            self.nodes[i].jump_origin = Some(own);
            self.resolve_jump_of(i);
        }
        Some(synth_name.to_string())
    }

    fn push_synth(&mut self, host: HostConfig, origin: &Origin) -> usize {
        let i = self.hosts.len();
        self.index.insert(host.name.clone(), i);
        self.hosts.push(host);
        self.nodes.push(Node {
            state: JumpState::Done,
            decl: origin.span(),
            jump_origin: None,
        });
        i
    }

    /// Reports every jump cycle once, at the first place in the file that leads into it.
    fn check_cycles(&mut self) {
        let mut reported: HashSet<Vec<String>> = HashSet::new();
        for start in 0..self.hosts.len() {
            let mut path: Vec<usize> = vec![start];
            let mut cur = start;
            while let Some(next) = self.hosts[cur]
                .jump
                .as_ref()
                .and_then(|j| self.index.get(j).copied())
            {
                if let Some(pos) = path.iter().position(|&n| n == next) {
                    let cycle: Vec<usize> = path[pos..].to_vec();
                    let mut key: Vec<String> =
                        cycle.iter().map(|&n| self.hosts[n].name.clone()).collect();
                    key.sort();
                    if reported.insert(key) {
                        self.report_cycle(&cycle);
                    }
                    break;
                }
                path.push(next);
                cur = next;
            }
        }
    }

    fn report_cycle(&mut self, cycle: &[usize]) {
        // Start the story at the first host of the file that is in the cycle.
        let first = cycle
            .iter()
            .enumerate()
            .min_by_key(|&(_, &n)| n)
            .map_or(0, |(k, _)| k);
        let mut names: Vec<&str> = cycle[first..]
            .iter()
            .chain(&cycle[..first])
            .map(|&n| self.hosts[n].name.as_str())
            .collect();
        names.push(names[0]);
        let story = names.join(" → ");
        // Point at a `jump = …` of the file when one is part of the cycle.
        let file_jump = cycle
            .iter()
            .filter_map(|&n| match &self.nodes[n].jump_origin {
                Some(Origin::File(span)) => Some((n, span.clone())),
                _ => None,
            })
            .min_by_key(|(n, _)| *n);
        let (span, from_openssh) = match file_jump {
            Some((_, span)) => (span, false),
            None => (self.nodes[cycle[first]].decl.clone(), true),
        };
        let note = if from_openssh {
            " (ProxyJump from the OpenSSH configuration)"
        } else {
            ""
        };
        self.problems.at(
            span,
            format!(
                "jump cycle: {story}{note}; a chain of jumps must end at a host reached directly"
            ),
        );
    }
}

/// Runs the lookups of many names side by side (each is two short `ssh -G` processes).
fn prefetch<'n>(lookup: &dyn SshLookup, names: impl Iterator<Item = &'n str>) {
    let names: Vec<&str> = names.collect();
    for chunk in names.chunks(16) {
        std::thread::scope(|s| {
            for name in chunk {
                s.spawn(move || {
                    let _ = lookup.lookup(name);
                });
            }
        });
    }
}

/// The candidate nearest to `word` when it is a likely typo (edit distance ≤ 2).
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (levenshtein(word, c), *c))
        .filter(|&(d, c)| d <= 2 && d < c.chars().count())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// OpenSSH as the tests want it: names → facts (unknown names: nothing configured).
    #[derive(Default)]
    struct FakeSsh {
        facts: HashMap<String, SshFacts>,
        errors: HashMap<String, String>,
        asked: Mutex<Vec<String>>,
    }

    impl FakeSsh {
        fn with(mut self, name: &str, facts: SshFacts) -> Self {
            self.facts.insert(name.into(), facts);
            self
        }
    }

    impl SshLookup for FakeSsh {
        fn lookup(&self, name: &str) -> Result<Option<SshFacts>, String> {
            self.asked.lock().unwrap().push(name.to_string());
            if let Some(e) = self.errors.get(name) {
                return Err(e.clone());
            }
            Ok(Some(self.facts.get(name).cloned().unwrap_or(SshFacts {
                default_user: Some("localop".into()),
                ..SshFacts::default()
            })))
        }
    }

    fn jump(spec: &str) -> SshFacts {
        SshFacts {
            proxyjump: Some(spec.into()),
            ..SshFacts::default()
        }
    }

    fn env(lookup: &dyn SshLookup) -> Env<'_> {
        Env {
            home: Some(PathBuf::from("/home/op")),
            user: Some("op".into()),
            system_tz: Some("Europe/Paris".into()),
            lookup: Some(lookup),
        }
    }

    const SITE: &str = "[site]\nname = \"t\"\n";

    fn parse_fake(text: &str, ssh: &FakeSsh) -> Result<Config, ConfigError> {
        parse_with(text, Path::new("/etc/vigie/config.toml"), &env(ssh))
    }

    fn ok(text: &str, ssh: &FakeSsh) -> Config {
        parse_fake(text, ssh).unwrap_or_else(|e| panic!("{e}"))
    }

    /// The problems as "LINE:COL: message".
    fn errors(text: &str, ssh: &FakeSsh) -> Vec<String> {
        let e = parse_fake(text, ssh).expect_err("expected errors");
        e.problems
            .iter()
            .map(|p| match p.location {
                Some(l) => format!("{l}: {}", p.message),
                None => p.message.clone(),
            })
            .collect()
    }

    fn host(name: &str, extra: &str) -> String {
        format!("[[hosts]]\nname = \"{name}\"\nrole = \"backup\"\ndatacenter = \"dc1\"\n{extra}\n")
    }

    #[test]
    fn defaults() {
        let ssh = FakeSsh::default();
        let c = ok(&format!("{SITE}{}", host("b", "")), &ssh);
        assert_eq!(c.site.name, "t");
        assert_eq!(c.site.refresh, Duration::from_secs(5));
        assert_eq!(c.site.timezone, "Europe/Paris");
        assert_eq!(
            c.ssh,
            SshSettings {
                known_hosts: PathBuf::from("/home/op/.ssh/known_hosts"),
                connect_timeout: Duration::from_secs(3),
                command_timeout: Duration::from_secs(10),
                keepalive: Duration::from_secs(15),
                slow_every: 12,
            }
        );
        let h = c.host("b").unwrap();
        assert_eq!(h.address, "b");
        assert_eq!(h.public_address, "b");
        assert_eq!(h.port, 22);
        assert_eq!(h.user, "op");
        assert_eq!(h.jump, None);
        assert!(h.supervised);
        assert_eq!(h.thresholds, Thresholds::default());
        let mut asked = ssh.asked.lock().unwrap().clone();
        asked.dedup();
        assert_eq!(asked, vec!["b".to_string()]);
    }

    #[test]
    fn a_fully_spelled_host_does_not_ask_openssh() {
        let ssh = FakeSsh::default();
        ok(
            &format!(
                "{SITE}{}",
                host(
                    "b",
                    "address = \"x\"\nport = 2\nuser = \"u\"\nidentity = \"k\"\njump = \"none\""
                )
            ),
            &ssh,
        );
        assert!(ssh.asked.lock().unwrap().is_empty());
    }

    #[test]
    fn precedence_host_then_openssh_then_ssh_section() {
        let ssh = FakeSsh::default().with(
            "b",
            SshFacts {
                hostname: Some("10.0.0.2".into()),
                port: Some(2222),
                user: Some("sshcfg".into()),
                identities: vec!["~/.ssh/from_cfg".into()],
                proxyjump: None,
                proxycommand: None,
                default_user: Some("localop".into()),
            },
        );
        let text = format!(
            "{SITE}[ssh]\nuser = \"section\"\nidentity = \"keys/section\"\n{}{}",
            host("b", ""),
            host(
                "c",
                "address = \"10.0.0.3\"\nport = 23\nuser = \"own\"\nidentity = [\"~/own1\", \"/k/own2\"]"
            )
        );
        let c = ok(&text, &ssh);
        let b = c.host("b").unwrap();
        assert_eq!(
            (b.address.as_str(), b.port, b.user.as_str()),
            ("10.0.0.2", 2222, "sshcfg")
        );
        assert_eq!(
            b.identities,
            vec![
                PathBuf::from("/home/op/.ssh/from_cfg"),
                PathBuf::from("/etc/vigie/keys/section")
            ]
        );
        let c_ = c.host("c").unwrap();
        assert_eq!(
            (c_.address.as_str(), c_.port, c_.user.as_str()),
            ("10.0.0.3", 23, "own")
        );
        assert_eq!(
            c_.identities,
            vec![
                PathBuf::from("/home/op/own1"),
                PathBuf::from("/k/own2"),
                PathBuf::from("/etc/vigie/keys/section")
            ]
        );
    }

    #[test]
    fn user_falls_back_to_the_local_account() {
        let ssh = FakeSsh::default();
        let mut e = env(&ssh);
        e.user = None;
        let text = format!("{SITE}{}", host("b", ""));
        let c = parse_with(&text, Path::new("/c.toml"), &e).unwrap();
        // OpenSSH's own idea of the local user.
        assert_eq!(c.hosts[0].user, "localop");
        let off = format!("{SITE}[ssh]\nuse_ssh_config = false\n{}", host("b", ""));
        let err = parse_with(&off, Path::new("/c.toml"), &e).unwrap_err();
        assert!(err.to_string().contains("no SSH user for `b`"), "{err}");
    }

    #[test]
    fn openssh_proxyjump_to_a_file_host() {
        let ssh = FakeSsh::default().with("prod", jump("bastion"));
        let text = format!("{SITE}{}{}", host("bastion", ""), host("prod", ""));
        let c = ok(&text, &ssh);
        assert_eq!(c.host("prod").unwrap().jump.as_deref(), Some("bastion"));
        assert_eq!(c.hosts.len(), 2);
    }

    #[test]
    fn file_jump_none_overrides_openssh() {
        let ssh = FakeSsh::default().with("prod", jump("bastion"));
        let text = format!(
            "{SITE}{}{}",
            host("bastion", ""),
            host("prod", "jump = \"none\"")
        );
        assert_eq!(ok(&text, &ssh).host("prod").unwrap().jump, None);
    }

    #[test]
    fn openssh_proxyjump_to_an_unlisted_host_is_synthesised() {
        let ssh = FakeSsh::default().with("prod", jump("gw")).with(
            "gw",
            SshFacts {
                hostname: Some("198.51.100.1".into()),
                user: Some("jump".into()),
                port: Some(2200),
                ..SshFacts::default()
            },
        );
        let text = format!(
            "{SITE}{}{}",
            host("prod", ""),
            host("backup", "jump = \"gw\"")
        );
        let c = ok(&text, &ssh);
        assert_eq!(c.hosts.len(), 3);
        assert_eq!(c.host("prod").unwrap().jump.as_deref(), Some("gw"));
        assert_eq!(c.host("backup").unwrap().jump.as_deref(), Some("gw"));
        let gw = &c.hosts[2];
        assert_eq!(gw.name, "gw");
        assert_eq!(
            (gw.address.as_str(), gw.port, gw.user.as_str()),
            ("198.51.100.1", 2200, "jump")
        );
        assert_eq!((gw.role, gw.datacenter.as_str()), (Role::Bastion, "-"));
        assert!(!gw.supervised);
        assert_eq!(c.supervised().count(), 2);
    }

    #[test]
    fn chains_connect_hop_by_hop() {
        // prod: ProxyJump a,ops@b:2200 — connect to a, through it to b, through b to prod.
        let ssh = FakeSsh::default()
            .with("prod", jump("a,ops@b:2200"))
            .with("a", jump("outer"));
        let c = ok(&format!("{SITE}{}", host("prod", "")), &ssh);
        let names: Vec<(&str, Option<&str>)> = c
            .hosts
            .iter()
            .map(|h| (h.name.as_str(), h.jump.as_deref()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("prod", Some("a,ops@b:2200")),
                ("a", Some("outer")),
                ("outer", None),
                ("a,ops@b:2200", Some("a")),
            ]
        );
        let b = c.host("a,ops@b:2200").unwrap();
        assert_eq!(
            (b.address.as_str(), b.user.as_str(), b.port),
            ("b", "ops", 2200)
        );
    }

    #[test]
    fn chains_reuse_file_hosts_when_the_route_matches() {
        let ssh = FakeSsh::default();
        let text = format!(
            "{SITE}{}{}{}{}",
            host("bastion", ""),
            host("inner", "jump = \"bastion\""),
            host("lone", ""),
            host("prod", "jump = \"bastion,inner\"")
        );
        let c = ok(&text, &ssh);
        assert_eq!(c.hosts.len(), 4);
        assert_eq!(c.host("prod").unwrap().jump.as_deref(), Some("inner"));

        // `lone` is normally reached directly: through bastion it is another route, a copy.
        let text = format!(
            "{SITE}{}{}{}",
            host("bastion", ""),
            host("lone", "address = \"10.1.1.1\""),
            host("prod", "jump = \"bastion,lone\"")
        );
        let c = ok(&text, &ssh);
        assert_eq!(
            c.host("prod").unwrap().jump.as_deref(),
            Some("bastion,lone")
        );
        let copy = c.host("bastion,lone").unwrap();
        assert_eq!(copy.address, "10.1.1.1");
        assert_eq!(copy.jump.as_deref(), Some("bastion"));
        assert!(!copy.supervised && c.host("lone").unwrap().jump.is_none());
    }

    #[test]
    fn a_hop_with_its_own_user_is_a_copy_of_the_file_host() {
        let ssh = FakeSsh::default();
        let text = format!(
            "{SITE}{}{}",
            host("bastion", "address = \"10.0.0.10\""),
            host("prod", "jump = \"admin@bastion:2022\"")
        );
        let c = ok(&text, &ssh);
        let j = c.host("admin@bastion:2022").unwrap();
        assert_eq!(
            (j.address.as_str(), j.user.as_str(), j.port, j.supervised),
            ("10.0.0.10", "admin", 2022, false)
        );
        // The same user and port as the entry: the entry itself.
        let text = format!(
            "{SITE}{}{}",
            host("bastion", "user = \"op\""),
            host("prod", "jump = \"op@bastion:22\"")
        );
        let c = ok(&text, &ssh);
        assert_eq!(c.host("prod").unwrap().jump.as_deref(), Some("bastion"));
        assert_eq!(c.hosts.len(), 2);
    }

    #[test]
    fn file_jumps_must_name_a_host() {
        let ssh = FakeSsh::default().with(
            "known",
            SshFacts {
                hostname: Some("10.2.2.2".into()),
                ..SshFacts::default()
            },
        );
        let text = format!(
            "{SITE}{}{}",
            host("bastion", ""),
            host("prod", "jump = \"known\"")
        );
        assert_eq!(
            ok(&text, &ssh).host("prod").unwrap().jump.as_deref(),
            Some("known")
        );
        let text = format!(
            "{SITE}{}{}",
            host("bastion", ""),
            host("prod", "jump = \"bastio\"")
        );
        assert_eq!(
            errors(&text, &ssh),
            vec![
                "12:8: jump `bastio` names no host: expected one of the [[hosts]] names \
                 (`bastion`, `prod`) or a host of the OpenSSH configuration; did you mean \
                 `bastion`?"
            ]
        );
        // Without OpenSSH, only [[hosts]] names count.
        let off = format!(
            "{SITE}[ssh]\nuse_ssh_config = false\n{}",
            host("prod", "jump = \"known\"")
        );
        let errs = errors(&off, &ssh);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with(
                "9:8: jump `known` names no host: expected one of the [[hosts]] names (`prod`)"
            ),
            "{errs:?}"
        );
    }

    #[test]
    fn jumps_to_unreadable_entries_are_not_reported_twice() {
        let ssh = FakeSsh::default();
        let text = format!(
            "{SITE}{}{}",
            host("bastion", "bogus = 1"),
            host("prod", "jump = \"bastion\"")
        );
        let errs = errors(&text, &ssh);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("7:1: unknown field `bogus`"),
            "{errs:?}"
        );
    }

    #[test]
    fn cycles_are_named() {
        let ssh = FakeSsh::default()
            .with("gw1", jump("gw2"))
            .with("gw2", jump("gw1"))
            .with("prod", jump("gw1"));
        let errs = errors(&format!("{SITE}{}", host("prod", "")), &ssh);
        assert_eq!(
            errs,
            vec![
                "4:8: jump cycle: gw1 → gw2 → gw1 (ProxyJump from the OpenSSH configuration); \
                 a chain of jumps must end at a host reached directly"
            ]
        );
        let text = format!(
            "{SITE}{}{}{}",
            host("x", "jump = \"y\""),
            host("y", "jump = \"z\""),
            host("z", "jump = \"x\"")
        );
        let errs = errors(&text, &ssh);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].starts_with("7:8: jump cycle: x → y → z → x"),
            "{errs:?}"
        );
    }

    #[test]
    fn self_jumps() {
        let ssh = FakeSsh::default();
        let errs = errors(&format!("{SITE}{}", host("a", "jump = \"gw,a\"")), &ssh);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("7:8: host `a` jumps through itself"),
            "{errs:?}"
        );
    }

    #[test]
    fn openssh_complaints_are_located_at_the_host() {
        let mut ssh = FakeSsh::default();
        ssh.errors.insert(
            "prod".into(),
            "line 3: Bad configuration option: bogus".into(),
        );
        let errs = errors(
            &format!("{SITE}{}{}", host("bastion", ""), host("prod", "")),
            &ssh,
        );
        assert_eq!(
            errs,
            vec![
                "9:8: OpenSSH cannot resolve host `prod`: line 3: Bad configuration option: bogus"
            ]
        );
    }

    #[test]
    fn proxycommand_is_ignored() {
        let ssh = FakeSsh::default().with(
            "prod",
            SshFacts {
                proxycommand: Some("nc %h %p".into()),
                ..SshFacts::default()
            },
        );
        assert_eq!(
            ok(&format!("{SITE}{}", host("prod", "")), &ssh).hosts[0].jump,
            None
        );
    }

    #[test]
    fn values_are_checked() {
        let ssh = FakeSsh::default();
        let text = format!(
            "{SITE}{}{}{}{}",
            host("", "port = 0"),
            host("a b", "port = \"22\""),
            "[[hosts]]\nname = \"x\"\nrole = \"backup\"\ndatacenter = \" \"\n",
            host("-x", "public_address = \"\"\nprocesses = [\"\"]")
        );
        assert_eq!(
            errors(&text, &ssh),
            vec![
                "4:8: empty host name: expected a non-empty string",
                "7:8: `port` = 0 is out of range: expected a port number from 1 to 65535",
                "9:8: host name \"a b\" contains blanks or control characters",
                "12:8: `port`: expected a port number from 1 to 65535, found string \"22\"",
                "16:14: empty datacenter: expected a non-empty string",
                "18:8: invalid host name \"-x\": expected letters, digits, `.`, `_` and `-`, \
                 not starting with `-`",
                "21:18: empty public_address: expected a non-empty string",
                "22:14: empty process name: expected a non-empty string",
            ]
        );
    }

    #[test]
    fn structure_errors() {
        let ssh = FakeSsh::default();
        assert_eq!(
            errors("[ssh]\nuser = \"u\"\n", &ssh),
            vec!["1:1: missing table [site]: expected at least `name = \"…\"`"]
        );
        assert_eq!(
            errors("[[site]]\nname = \"x\"\n", &ssh),
            vec!["1:1: expected a table [site], found array"]
        );
        assert_eq!(
            errors(&format!("{SITE}[hosts]\nname = \"x\"\n"), &ssh),
            vec![
                "3:1: `hosts` must be an array of tables, found table: write each host as [[hosts]]"
            ]
        );
        assert_eq!(
            errors(
                &format!("{SITE}[thresholds]\npartition = [\"80\", \"90\"]\n"),
                &ssh
            ),
            vec!["4:13: invalid type: array, expected a table"]
        );
        assert_eq!(
            errors(
                &format!("{SITE}[thresholds]\npartition = {{ warn = true }}\n"),
                &ssh
            ),
            vec![
                "4:22: `partition.warn`: expected a Nagios range such as \"80\", \"10:\", \"~:5\", \
                 \"10:20\", \"@10:20\", or \"none\", found boolean true"
            ]
        );
        assert_eq!(
            errors(&format!("{SITE}[ssh]\nuse_ssh_config = \"yes\"\n"), &ssh),
            vec!["4:18: invalid type: string \"yes\", expected a boolean"]
        );
    }

    #[test]
    fn syntax_errors_are_all_reported() {
        let ssh = FakeSsh::default();
        let errs = errors("[site]\nname = \"x\"\nname = \"y\"\n[x\n", &ssh);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].starts_with("3:1: duplicate key `name`"), "{errs:?}");
        assert!(errs[1].starts_with("4:3: "), "{errs:?}");
    }

    #[test]
    fn durations_and_timezones() {
        let ssh = FakeSsh::default();
        let c = ok(
            "[site]\nname = \"t\"\nrefresh = \"2m30s\"\ntimezone = \"america/new_york\"\n\
             [ssh]\nkeepalive = \"1m\"\ncommand_timeout = \"1m\"\nslow_every = 3\n",
            &ssh,
        );
        assert_eq!(c.site.refresh, Duration::from_secs(150));
        assert_eq!(c.site.timezone, "America/New_York");
        assert_eq!(c.ssh.keepalive, Duration::from_secs(60));
        assert_eq!(c.ssh.command_timeout, Duration::from_secs(60));
        assert_eq!(c.ssh.slow_every, 3);
        let errs = errors(
            "[site]\nname = \"t\"\nrefresh = \"-5s\"\n[ssh]\nconnect_timeout = \"0ms\"\n\
             command_timeout = [1]\n",
            &ssh,
        );
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].starts_with("3:11: `refresh`: invalid duration \"-5s\": negative"));
        assert!(errs[1].starts_with("5:19: `connect_timeout` must be longer than zero"));
        assert!(errs[2].starts_with("6:19: `command_timeout`: expected a duration"));
    }

    #[test]
    fn thresholds_merge_per_field() {
        let ssh = FakeSsh::default();
        let text = format!(
            "{SITE}[thresholds]\npartition = {{ warn = 70 }}\ncpu = {{ crit = \"99\" }}\n\
             [thresholds.mounts.\"/var/backups/\"]\nwarn = \"95\"\n{}{}\
             [hosts.thresholds]\npartition = {{ crit = \"99\" }}\nswap = {{ crit = \"none\" }}\n\
             [hosts.thresholds.mounts.\"/srv\"]\ncrit = 98.5\n",
            host("plain", ""),
            host("tuned", "")
        );
        let c = ok(&text, &ssh);
        let r = |t: &str| Some(Range::parse(t).unwrap());
        let plain = &c.host("plain").unwrap().thresholds;
        assert_eq!(
            plain.partition,
            Levels {
                warn: r("70"),
                crit: r("90")
            }
        );
        assert_eq!(
            plain.cpu,
            Levels {
                warn: r("95"),
                crit: r("99")
            }
        );
        assert_eq!(
            plain.for_mount("/var/backups"),
            &Levels {
                warn: r("95"),
                crit: r("90")
            }
        );
        assert_eq!(plain.for_mount("/srv"), &plain.partition);
        let tuned = &c.host("tuned").unwrap().thresholds;
        assert_eq!(
            tuned.partition,
            Levels {
                warn: r("70"),
                crit: r("99")
            }
        );
        assert_eq!(
            tuned.swap,
            Levels {
                warn: r("50"),
                crit: None
            }
        );
        assert_eq!(
            tuned.for_mount("/srv"),
            &Levels {
                warn: r("70"),
                crit: r("98.5")
            }
        );
        assert_eq!(
            tuned.for_mount("/var/backups"),
            &Levels {
                warn: r("95"),
                crit: r("99")
            }
        );
        assert_eq!(tuned.inodes, Thresholds::default().inodes);
    }

    #[test]
    fn mount_points() {
        let ssh = FakeSsh::default();
        let errs = errors(
            &format!(
                "{SITE}[thresholds.mounts.\"srv\"]\nwarn = \"1\"\n\
                 [thresholds.mounts.\"/data\"]\nwarn = \"1\"\n\
                 [thresholds.mounts.\"/data/\"]\nwarn = \"2\"\n"
            ),
            &ssh,
        );
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].starts_with("3:20"), "{errs:?}");
        assert!(errs[0].contains("must be an absolute path"), "{errs:?}");
        assert!(
            errs[1].contains("\"/data/\" is already set on line 5"),
            "{errs:?}"
        );
    }

    #[test]
    fn duplicate_names_point_at_the_second() {
        let ssh = FakeSsh::default();
        let text = format!("{SITE}{}{}", host("a", ""), host("a", ""));
        assert_eq!(
            errors(&text, &ssh),
            vec!["9:8: duplicate host name `a`: already used on line 4; host names must be unique"]
        );
    }

    #[test]
    fn levenshtein_distances() {
        assert_eq!(levenshtein("bastoin", "bastion"), 2);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(closest("prdo", &["prod", "drp"]), Some("prod"));
        assert_eq!(closest("zzz", &["prod", "drp"]), None);
    }
}
