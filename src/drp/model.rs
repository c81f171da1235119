//! The DRP runbooks as configured (SPEC §6) and as resolved into a [`Plan`] for one mode at one
//! time. Configuration (`[runbooks.NAME]`, read by `crate::config`) gives [`Runbooks`];
//! [`super::plan::resolve`] turns one of them into a [`Plan`]: every step with its exact
//! hosts, commands, sources and targets, which is what `vigie drp plan` prints, what the
//! engine runs and what the journal records (its hash refuses a changed plan on resume).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The runbooks of the site, in file order (names unique).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Runbooks {
    pub list: Vec<Runbook>,
}

impl Runbooks {
    pub fn get(&self, name: &str) -> Option<&Runbook> {
        self.list.iter().find(|r| r.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|r| r.name.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// One `[runbooks.NAME]`: `activate` and `return` are the policy's two; a site may add others
/// (they never move the active-site marker).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runbook {
    /// Letters, digits, `_` and `-`.
    pub name: String,
    /// At least one, in file order; numbered from 1 in plans, the journal and `--ack N`.
    pub steps: Vec<Step>,
}

/// One `[[runbooks.NAME.steps]]` entry, validated, its defaults filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Shown everywhere the step is; for a ticket step, also the ticket's title (it may hold
    /// {{placeholders}}). Titles need not be unique: steps are known by their number.
    pub title: String,
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// A manual item (order received, call held): the operator types `ask`, it is journaled.
    Confirm { ask: String },
    /// `command` run by the login shell of `host`, detached; `verify` run after it (exit 0 =
    /// verified). The step fails after `timeout`.
    Exec {
        host: String,
        command: String,
        verify: Option<String>,
        timeout: Duration,
    },
    /// rsync from `from` to `to`; in drill mode to `drill_to` instead.
    Copy {
        from: Source,
        to: HostPath,
        estimate: Option<Duration>,
        drill_to: HostPath,
    },
    /// A dump restored into a new database on `to`, then switched to; `verify` is SQL. In
    /// drill mode, restored on the DRP host as `drill_database`.
    DbImport {
        from: Source,
        to: String,
        restore: DbRestore,
        verify: String,
        drill_database: String,
    },
    /// POST of the ticket webhook: the step's title and `body` (with {{placeholders}}).
    Ticket { body: String },
    /// The DNS record switched to `target`'s public address (RFC 2136), only if it still
    /// holds the other site's.
    Dns { target: String },
    /// Wait until check `check` is OK (on `host`, for a host's check), at most `timeout`.
    Wait {
        check: String,
        host: Option<String>,
        timeout: Duration,
    },
}

impl StepKind {
    pub fn word(&self) -> &'static str {
        match self {
            StepKind::Confirm { .. } => "confirm",
            StepKind::Exec { .. } => "exec",
            StepKind::Copy { .. } => "copy",
            StepKind::DbImport { .. } => "db_import",
            StepKind::Ticket { .. } => "ticket",
            StepKind::Dns { .. } => "dns",
            StepKind::Wait { .. } => "wait",
        }
    }
}

/// The step kinds, as the configuration writes them.
pub const KINDS: [&str; 7] = [
    "confirm",
    "exec",
    "copy",
    "db_import",
    "ticket",
    "dns",
    "wait",
];

/// The {{placeholders}} a ticket step's title and body may hold (the `[ticket]` template has
/// its own, `crate::config::TICKET_PLACEHOLDERS`, which receive the filled title and body).
/// `site`, `runbook`, `mode`, `production`, `drp`, `captured_at` and `loss_window` are known
/// when the plan is resolved ([`Plan::placeholders`], filled by [`super::plan::fill`]); the
/// engine adds `now`, `order`, `operator` and `run_id` (and replaces `captured_at` by the real
/// capture time journaled by the database import).
pub const BODY_PLACEHOLDERS: [&str; 11] = [
    "site",
    "runbook",
    "mode",
    "production",
    "drp",
    "captured_at",
    "loss_window",
    "now",
    "order",
    "operator",
    "run_id",
];

/// Where a copy or an import takes its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The copy of the dataset holding its newest good backup, resolved when planning.
    Newest { dataset: String },
    /// A fixed place.
    Path(HostPath),
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Newest { dataset } => write!(f, "newest:{dataset}"),
            Source::Path(p) => p.fmt(f),
        }
    }
}

/// `host:/absolute/path` (`host` a `[[hosts]]` name). The path is kept as written: a
/// trailing `/` means "the contents of", as for rsync.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostPath {
    pub host: String,
    pub path: String,
}

impl std::fmt::Display for HostPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.host, self.path)
    }
}

/// The database engine of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DbKind {
    Postgresql,
    Mysql,
}

impl DbKind {
    pub fn word(self) -> &'static str {
        match self {
            DbKind::Postgresql => "postgresql",
            DbKind::Mysql => "mysql",
        }
    }
}

/// What an import restores into: the database the site uses (a new one is made beside it and
/// switched to).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DbRestore {
    pub kind: DbKind,
    pub database: String,
    /// PostgreSQL's port on the target, when not the default. Left out of the JSON when not
    /// set: a plan without one hashes as before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// How a runbook is run (SPEC §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Never touches production or DNS: copies and imports go to scratch targets on the DRP
    /// host, the DNS step only verifies, exec steps on production are skipped.
    Drill,
    /// Production reachable: fenced (put into maintenance) first.
    Planned,
    /// Production down; if it still answers, starting needs a typed reason and fencing.
    Emergency,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Drill, Mode::Planned, Mode::Emergency];

    pub fn word(self) -> &'static str {
        match self {
            Mode::Drill => "drill",
            Mode::Planned => "planned",
            Mode::Emergency => "emergency",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.word() == s)
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

/// Which site serves users, as the journal's active-site marker says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ActiveSite {
    #[default]
    Production,
    Drp,
}

impl ActiveSite {
    pub fn word(self) -> &'static str {
        match self {
            ActiveSite::Production => "production",
            ActiveSite::Drp => "drp",
        }
    }

    /// The marker a completed run of `runbook` in `mode` leaves: `activate` → DRP, `return`
    /// → production; drills and other runbooks leave it as it was.
    pub fn after(runbook: &str, mode: Mode) -> Option<ActiveSite> {
        match (runbook, mode) {
            (_, Mode::Drill) => None,
            ("activate", _) => Some(ActiveSite::Drp),
            ("return", _) => Some(ActiveSite::Production),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The resolved plan

/// A host as a plan names it: its `[[hosts]]` name and datacenter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostRef {
    pub name: String,
    pub datacenter: String,
}

impl std::fmt::Display for HostRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name, self.datacenter)
    }
}

/// One of the two sites: the `[drp]` production or DRP host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteHost {
    pub name: String,
    pub datacenter: String,
    /// The address the site's DNS points to when this site is active.
    pub public_address: String,
}

/// The backup a `newest:<dataset>` source resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupPick {
    pub dataset: String,
    pub host: HostRef,
    /// The backup's full path on `host` (the copy's directory and the backup's name).
    pub path: String,
    /// Its name (file, directory) as listed on the host.
    pub name: String,
    /// When its data was taken.
    pub captured_at: jiff::Timestamp,
    pub bytes: Option<u64>,
}

/// One end of a copy or an import: a path on a host, and the backup it is when it came from
/// `newest:<dataset>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub host: HostRef,
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupPick>,
}

impl Endpoint {
    /// `host:path`, as rsync and the journal write it.
    pub fn spec(&self) -> String {
        format!("{}:{}", self.host.name, self.path)
    }
}

/// What the engine does with a step of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Run it.
    Run,
    /// Only check it (drill: the DNS record is verified, never updated).
    VerifyOnly { why: String },
    /// Leave it out, journaled with the reason (drill: production is never touched).
    Skip { why: String },
    /// It cannot be resolved (no backup read for `newest:`): the plan cannot start.
    Blocked { why: String },
}

impl Action {
    /// The action without its reason: what the plan's hash covers (rewording a reason in a
    /// later version does not refuse a resume).
    pub fn word(&self) -> &'static str {
        match self {
            Action::Run => "run",
            Action::VerifyOnly { .. } => "verify_only",
            Action::Skip { .. } => "skip",
            Action::Blocked { .. } => "blocked",
        }
    }
}

/// A step resolved for one mode: exact hosts, commands, sources and targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resolved {
    Confirm {
        ask: String,
    },
    Exec {
        host: HostRef,
        /// Run as is by the host's login shell.
        command: String,
        verify: Option<String>,
        timeout_s: u64,
    },
    Copy {
        /// As configured: `newest:files` or `host:/path/`.
        from_spec: String,
        /// `None` only when the step is [`Action::Blocked`].
        from: Option<Endpoint>,
        to: Endpoint,
        estimate_s: Option<u64>,
    },
    DbImport {
        from_spec: String,
        from: Option<Endpoint>,
        /// The host the database is restored on.
        to: HostRef,
        restore: DbRestore,
        /// SQL run on the restored database; its answer is journaled.
        verify: String,
    },
    Ticket {
        /// With "[DRILL] " in front in drill mode; placeholders not filled.
        title: String,
        body: String,
    },
    Dns {
        /// The host the record will point to, and the address it gets.
        target: HostRef,
        new_address: String,
        /// The address the record must still hold for the update to be sent (the other
        /// site's): no split brain by a stale or repeated update.
        expected_old: String,
    },
    Wait {
        check: String,
        host: Option<HostRef>,
        timeout_s: u64,
    },
}

impl Resolved {
    pub fn word(&self) -> &'static str {
        match self {
            Resolved::Confirm { .. } => "confirm",
            Resolved::Exec { .. } => "exec",
            Resolved::Copy { .. } => "copy",
            Resolved::DbImport { .. } => "db_import",
            Resolved::Ticket { .. } => "ticket",
            Resolved::Dns { .. } => "dns",
            Resolved::Wait { .. } => "wait",
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanStep {
    /// 1-based, in runbook order; 0 for the fencing step put in front (see
    /// [`Plan::add_fence`]).
    pub number: usize,
    pub title: String,
    #[serde(flatten)]
    pub action: Action,
    pub step: Resolved,
    /// What the operator should know: drill redirections, the backup's age.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The exact commands the step implementation will run, from its `preview()` (filled by
    /// the caller; not part of the hash, which covers what they are made from).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preview: Vec<String>,
}

impl PlanStep {
    /// The hosts the step acts on or reads, in order, once each.
    pub fn hosts(&self) -> Vec<&HostRef> {
        let mut out: Vec<&HostRef> = Vec::new();
        let list: Vec<&HostRef> = match &self.step {
            Resolved::Confirm { .. } | Resolved::Ticket { .. } => Vec::new(),
            Resolved::Exec { host, .. } => vec![host],
            Resolved::Copy { from, to, .. } => {
                from.iter().map(|e| &e.host).chain([&to.host]).collect()
            }
            Resolved::DbImport { from, to, .. } => {
                from.iter().map(|e| &e.host).chain([to]).collect()
            }
            Resolved::Dns { target, .. } => vec![target],
            Resolved::Wait { host, .. } => host.iter().collect(),
        };
        for h in list {
            if !out.iter().any(|o| o.name == h.name) {
                out.push(h);
            }
        }
        out
    }

    /// `host:path` of the step's source and target, for the journal.
    pub fn source(&self) -> Option<String> {
        match &self.step {
            Resolved::Copy {
                from, from_spec, ..
            }
            | Resolved::DbImport {
                from, from_spec, ..
            } => Some(
                from.as_ref()
                    .map_or_else(|| from_spec.clone(), Endpoint::spec),
            ),
            _ => None,
        }
    }

    pub fn target(&self) -> Option<String> {
        match &self.step {
            Resolved::Copy { to, .. } => Some(to.spec()),
            Resolved::DbImport { to, restore, .. } => Some(format!(
                "{}:{} database {}",
                to.name,
                restore.kind.word(),
                restore.database
            )),
            Resolved::Dns {
                target,
                new_address,
                ..
            } => Some(format!("{new_address} ({})", target.name)),
            _ => None,
        }
    }
}

/// A runbook resolved for a mode at a time. Serialises to JSON (`vigie drp plan --json`, the
/// journal); [`Plan::hash`] covers the resolved steps only, never the times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub site: String,
    /// The site's time zone (IANA), for showing times.
    pub timezone: String,
    pub runbook: String,
    pub mode: Mode,
    /// When it was resolved (ages and the data-loss window are as of then).
    pub resolved_at: jiff::Timestamp,
    pub production: SiteHost,
    pub drp: SiteHost,
    /// The direction: the hosts data is read from and the hosts it goes to (DNS included).
    pub from: Vec<HostRef>,
    pub to: Vec<HostRef>,
    /// The backups `newest:` sources resolved to, one per dataset.
    pub backups: Vec<BackupPick>,
    /// What the run implies losing: `resolved_at` − the capture time of the data imported (the
    /// database imports' backups; without any, the copies'). `None`: nothing comes from a
    /// backup (a return), or a backup is not resolved.
    pub loss_window_s: Option<u64>,
    pub steps: Vec<PlanStep>,
}
