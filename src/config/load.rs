//! TOML text → validated [`Config`]: syntax, then each section on its own (so that a mistake in
//! one does not hide mistakes in the others), then values, then OpenSSH resolution and jumps.
//!
//! The value checks live in [`fields`](super::fields), thresholds in
//! [`thresholds`](super::thresholds), and jump resolution in [`jumps`].

use super::datasets::{KnownHosts, check_datasets};
use super::error::{ConfigError, Problems};
use super::fields::{
    MAX_DURATION, ROLES, duration, host_name_ok, integer, list, path, paths, table, word,
    word_or_empty,
};
use super::jumps;
use super::openssh::{NoLookup, OpenSsh, SshLookup};
use super::raw::{RawHost, RawSite, RawSsh, RawThresholds, RawUi};
use super::thresholds::{PartialThresholds, check_thresholds, merge_thresholds};
use super::values;
use super::{Config, Role, Site, SshSettings, Thresholds, UiSettings};
use serde_spanned::Spanned;
use std::collections::{HashMap, HashSet};
use std::ops::Range as Span;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::{DeTable, DeValue};

/// The top-level tables this version understands.
const SECTIONS: &[&str] = &[
    "site",
    "ssh",
    "ui",
    "thresholds",
    "hosts",
    "datasets",
    "urls",
    "dnsbl",
    "drp",
    "dns",
    "ticket",
    "runbooks",
];
/// Tables the specification describes that later versions will read.
const LATER_SECTIONS: &[&str] = &[];

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
            "ui" => sections.ui = Some(value),
            "hosts" => sections.hosts = Some(value),
            "datasets" => sections.datasets = Some(value),
            "urls" => sections.urls = Some(value),
            "dnsbl" => sections.dnsbl = Some(value),
            "drp" => sections.drp = Some(value),
            "dns" => sections.dns = Some(value),
            "ticket" => sections.ticket = Some(value),
            "runbooks" => sections.runbooks = Some((key.span(), value)),
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

    // [ui]
    let ui = match sections.ui {
        None => UiSettings::default(),
        Some(v) => {
            let raw = table::<RawUi>(v, "[ui]", &mut p).unwrap_or_default();
            if let Some(t) = &raw.theme {
                word(t, "theme", &mut p);
            }
            UiSettings {
                theme: raw.theme.map(Spanned::into_inner),
            }
        }
    };

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

    // [[datasets]]: their copies name [[hosts]] entries.
    let datasets = match sections.datasets {
        Some(v) => {
            let known = KnownHosts {
                names: drafts.iter().map(|d| d.name.as_str()).collect(),
                unreadable: &unreadable,
            };
            check_datasets(v, &known, &mut p)
        }
        None => Vec::new(),
    };

    // [[urls]] (their `via` names [[hosts]] entries) and [dnsbl].
    let urls = match sections.urls {
        Some(v) => {
            let known = KnownHosts {
                names: drafts.iter().map(|d| d.name.as_str()).collect(),
                unreadable: &unreadable,
            };
            super::urls::check_urls(v, &known, env, &base, &mut p)
        }
        None => Vec::new(),
    };
    let dnsbl = sections
        .dnsbl
        .and_then(|v| super::urls::check_dnsbl(v, &mut p));

    // [drp] names the production and DRP [[hosts]] entries.
    let (drp_given, dns_given, ticket_given) = (
        sections.drp.is_some(),
        sections.dns.is_some(),
        sections.ticket.is_some(),
    );
    let drp = sections
        .drp
        .and_then(|v| super::drp::check_drp(v, &drafts, &mut p));
    // [dns] and [ticket]: the DRP's DNS switch and ticket webhook (their secrets are read at use).
    let dns = sections
        .dns
        .and_then(|v| super::dns::check_dns(v, env, &base, &mut p));
    let ticket = sections
        .ticket
        .and_then(|v| super::ticket::check_ticket(v, env, &base, &mut p));

    // [runbooks] refer to hosts, datasets, URL tests, [drp], [dns] and [ticket].
    let runbooks = match sections.runbooks {
        Some((key, v)) => {
            let cx = super::runbooks::Context {
                hosts: &drafts,
                unreadable: &unreadable,
                datasets: &datasets,
                urls: &urls,
                drp: drp.as_ref(),
                drp_given,
                dns_given,
                ticket_given,
            };
            super::runbooks::check_runbooks(key, v, &cx, &mut p)
        }
        None => Default::default(),
    };

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
            jumps::resolve(
                drafts,
                unreadable,
                lookup,
                ssh,
                env,
                &global_thresholds,
                &mut p,
            )
        }
        None => Vec::new(),
    };

    let dnsbl = dnsbl.map(|d| super::urls::finish_dnsbl(d, &hosts));
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
                sudo: ssh.sudo,
            },
            ui,
            hosts,
            datasets,
            urls,
            dnsbl,
            drp,
            dns,
            ticket,
            runbooks,
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
    ui: Option<Spanned<DeValue<'i>>>,
    hosts: Option<Spanned<DeValue<'i>>>,
    datasets: Option<Spanned<DeValue<'i>>>,
    urls: Option<Spanned<DeValue<'i>>>,
    dnsbl: Option<Spanned<DeValue<'i>>>,
    drp: Option<Spanned<DeValue<'i>>>,
    dns: Option<Spanned<DeValue<'i>>>,
    ticket: Option<Spanned<DeValue<'i>>>,
    runbooks: Option<(Span<usize>, Spanned<DeValue<'i>>)>,
}

// ---------------------------------------------------------------------------------------------
// Sections

fn check_site(raw: RawSite, env: &Env, p: &mut Problems) -> Site {
    word_or_empty(&raw.name, "site name", p);
    let refresh = duration(
        &raw.refresh,
        "refresh",
        Duration::from_secs(5),
        (Duration::from_secs(1), MAX_DURATION),
        p,
    );
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

/// `[ssh]`, checked.
pub(super) struct SshDefaults {
    pub(super) user: Option<String>,
    pub(super) identities: Vec<PathBuf>,
    known_hosts: PathBuf,
    connect_timeout: Duration,
    command_timeout: Duration,
    keepalive: Duration,
    slow_every: u32,
    sudo: bool,
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
            (Duration::ZERO, MAX_DURATION),
            p,
        ),
        command_timeout: duration(
            &raw.command_timeout,
            "command_timeout",
            Duration::from_secs(10),
            (Duration::ZERO, MAX_DURATION),
            p,
        ),
        keepalive: duration(
            &raw.keepalive,
            "keepalive",
            Duration::from_secs(15),
            (Duration::ZERO, MAX_DURATION),
            p,
        ),
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
        sudo: raw.sudo.unwrap_or(false),
        config,
        config_ok,
        use_ssh_config,
    }
}

/// A `[[hosts]]` entry, checked, before OpenSSH resolution.
pub(super) struct Draft {
    pub(super) name: String,
    pub(super) name_span: Span<usize>,
    pub(super) address: Option<String>,
    pub(super) port: Option<u16>,
    pub(super) user: Option<String>,
    pub(super) identities: Vec<PathBuf>,
    pub(super) role: Role,
    pub(super) datacenter: String,
    pub(super) jump: Option<Spanned<String>>,
    pub(super) public_address: Option<String>,
    pub(super) processes: Vec<String>,
    pub(super) services: Vec<String>,
    pub(super) apps: super::HostApps,
    pub(super) thresholds: Thresholds,
}

impl Draft {
    /// Whether something is left for OpenSSH's configuration to say.
    pub(super) fn needs_lookup(&self) -> bool {
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
    for (list, what, field) in [
        (&raw.processes, "process", "processes"),
        (&raw.services, "service", "services"),
    ] {
        // Each name is one check (system.process.NAME, app.service.NAME): listed once.
        let mut seen = HashSet::new();
        for item in list {
            word(item, &format!("{what} name"), p);
            if !seen.insert(item.get_ref().as_str()) {
                p.at(
                    item.span(),
                    format!(
                        "duplicate {what} `{}` in `{field}` of host `{}`: each is listed once",
                        item.get_ref(),
                        raw.name.get_ref()
                    ),
                );
            }
        }
    }
    let apps = super::apps::check(&raw, p);
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
        apps,
        thresholds,
    }
}

#[cfg(test)]
#[path = "load_tests.rs"]
pub(super) mod tests;
