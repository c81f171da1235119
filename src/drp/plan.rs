//! A runbook resolved into a [`Plan`] for one mode at one time: `newest:<dataset>` sources
//! resolved from fresh backup readings, hosts with their datacenters, drill mode's scratch
//! targets, the data-loss window the run implies; the plan's hash (a changed plan refuses to
//! resume) and its text (`vigie drp plan`). Pure: the caller supplies the readings and the time.

use super::model::{
    Action, BackupPick, DbRestore, Endpoint, HostRef, Mode, Plan, PlanStep, Resolved, SiteHost,
    Source, StepKind,
};
use crate::backup::evaluate::DatasetReport;
use crate::config::Config;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Why a runbook cannot be resolved at all (a step that cannot be resolved makes the plan
/// [`Action::Blocked`] instead, so that the rest is still shown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("no runbook named `{name}`: the configuration has {known}")]
    UnknownRunbook { name: String, known: String },
    #[error("the configuration has no [drp] section: runbooks need `production` and `drp`")]
    NoDrp,
    #[error("host `{0}` is not in the configuration")]
    UnknownHost(String),
}

/// Resolves runbook `name` for `mode` at `now`; each `newest:<dataset>` source becomes the
/// backup server holding the dataset's newest good backup in `readings` (fresh ones: the
/// caller reads the backup servers right before).
pub fn resolve(
    config: &Config,
    name: &str,
    mode: Mode,
    now: jiff::Timestamp,
    readings: &[DatasetReport],
) -> Result<Plan, PlanError> {
    build(config, name, mode, now, &|dataset| {
        pick_from_readings(config, readings, dataset)
    })
}

/// Resolves runbook `name` with the `newest:` sources pinned to `backups` (the journaled
/// plan's [`Plan::backups`]), to compare hashes on resume: a backup made since the run began
/// does not change the plan, a changed runbook does.
pub fn resolve_pinned(
    config: &Config,
    name: &str,
    mode: Mode,
    now: jiff::Timestamp,
    backups: &[BackupPick],
) -> Result<Plan, PlanError> {
    build(config, name, mode, now, &|dataset| {
        backups
            .iter()
            .find(|b| b.dataset == dataset)
            .cloned()
            .ok_or_else(|| format!("the journaled plan holds no backup of `{dataset}`"))
    })
}

type Picker<'a> = dyn Fn(&str) -> Result<BackupPick, String> + 'a;

fn build(
    config: &Config,
    name: &str,
    mode: Mode,
    now: jiff::Timestamp,
    pick: &Picker,
) -> Result<Plan, PlanError> {
    let runbook = config
        .runbooks
        .get(name)
        .ok_or_else(|| PlanError::UnknownRunbook {
            name: name.to_string(),
            known: match config.runbooks.is_empty() {
                true => "none".into(),
                false => config
                    .runbooks
                    .names()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            },
        })?;
    let drp = config.drp.as_ref().ok_or(PlanError::NoDrp)?;
    let site_host = |n: &str| -> Result<SiteHost, PlanError> {
        let h = config
            .host(n)
            .ok_or_else(|| PlanError::UnknownHost(n.into()))?;
        Ok(SiteHost {
            name: h.name.clone(),
            datacenter: h.datacenter.clone(),
            public_address: h.public_address.clone(),
        })
    };
    let cx = Cx {
        config,
        runbook: &runbook.name,
        mode,
        production: site_host(&drp.production)?,
        drp: site_host(&drp.drp)?,
        pick,
    };
    let mut steps = Vec::new();
    let mut backups: Vec<BackupPick> = Vec::new();
    for (i, step) in runbook.steps.iter().enumerate() {
        let s = cx.step(i + 1, &step.title, &step.kind)?;
        for e in endpoints(&s.step) {
            if let Some(b) = &e.backup
                && !backups.iter().any(|o| o.dataset == b.dataset)
            {
                backups.push(b.clone());
            }
        }
        steps.push(s);
    }
    let mut plan = Plan {
        site: config.site.name.clone(),
        timezone: config.site.timezone.clone(),
        runbook: runbook.name.clone(),
        mode,
        resolved_at: now,
        production: cx.production,
        drp: cx.drp,
        from: Vec::new(),
        to: Vec::new(),
        backups,
        loss_window_s: None,
        steps,
    };
    plan.refresh_summary();
    Ok(plan)
}

struct Cx<'a> {
    config: &'a Config,
    runbook: &'a str,
    mode: Mode,
    production: SiteHost,
    drp: SiteHost,
    pick: &'a Picker<'a>,
}

impl Cx<'_> {
    fn host(&self, name: &str) -> Result<HostRef, PlanError> {
        let h = self
            .config
            .host(name)
            .ok_or_else(|| PlanError::UnknownHost(name.into()))?;
        Ok(HostRef {
            name: h.name.clone(),
            datacenter: h.datacenter.clone(),
        })
    }

    fn drill(&self) -> bool {
        self.mode == Mode::Drill
    }

    /// The [drp] production host, or any host with the production role: what a drill never
    /// touches.
    fn is_production(&self, name: &str) -> bool {
        name == self.production.name
            || self
                .config
                .host(name)
                .is_some_and(|h| h.role == crate::config::Role::Production)
    }

    /// A source: `Err(why)` when a `newest:` cannot be resolved.
    fn source(&self, from: &Source) -> Result<Result<Endpoint, String>, PlanError> {
        Ok(match from {
            Source::Path(hp) => Ok(Endpoint {
                host: self.host(&hp.host)?,
                path: hp.path.clone(),
                backup: None,
            }),
            Source::Newest { dataset } => (self.pick)(dataset).map(|b| Endpoint {
                host: b.host.clone(),
                path: b.path.clone(),
                backup: Some(b),
            }),
        })
    }

    /// The action for a step reading `from` in drill mode: production is never touched.
    fn source_action(&self, from: &Result<Endpoint, String>, spec: &str) -> Action {
        match from {
            Err(why) => Action::Blocked {
                why: format!("{spec}: {why}"),
            },
            Ok(e) if self.drill() && self.is_production(&e.host.name) => Action::Skip {
                why: format!(
                    "drill: the source is on the production host {}, which a drill never touches",
                    e.host.name
                ),
            },
            Ok(_) => Action::Run,
        }
    }

    fn step(&self, number: usize, title: &str, kind: &StepKind) -> Result<PlanStep, PlanError> {
        let mut notes = Vec::new();
        let mut title = title.to_string();
        let (action, step) = match kind {
            StepKind::Confirm { ask } => (Action::Run, Resolved::Confirm { ask: ask.clone() }),
            StepKind::Exec {
                host,
                command,
                verify,
                timeout,
            } => {
                let action = if self.drill() && self.is_production(host) {
                    Action::Skip {
                        why: format!(
                            "drill: {host} is the production host, which a drill never touches"
                        ),
                    }
                } else {
                    Action::Run
                };
                let step = Resolved::Exec {
                    host: self.host(host)?,
                    command: command.clone(),
                    verify: verify.clone(),
                    timeout_s: timeout.as_secs(),
                };
                (action, step)
            }
            StepKind::Copy {
                from,
                to,
                estimate,
                drill_to,
            } => {
                let from_spec = from.to_string();
                let source = self.source(from)?;
                let action = self.source_action(&source, &from_spec);
                let target = if self.drill() {
                    notes.push(format!("drill: a scratch copy, instead of {to}"));
                    drill_to
                } else {
                    to
                };
                let step = Resolved::Copy {
                    from_spec,
                    from: source.ok(),
                    to: Endpoint {
                        host: self.host(&target.host)?,
                        path: target.path.clone(),
                        backup: None,
                    },
                    estimate_s: estimate.map(|d| d.as_secs()),
                };
                (action, step)
            }
            StepKind::DbImport {
                from,
                to,
                restore,
                verify,
                drill_database,
            } => {
                let from_spec = from.to_string();
                let source = self.source(from)?;
                let action = self.source_action(&source, &from_spec);
                let (host, restore) = if self.drill() {
                    notes.push(format!(
                        "drill: restored as {} on {}, instead of {} on {to}",
                        drill_database, self.drp.name, restore.database
                    ));
                    // The port is that of the server on `to`: on another host, the DRP's
                    // default server takes the drill.
                    let port = restore.port.filter(|_| *to == self.drp.name);
                    if let (Some(p), None) = (restore.port, port) {
                        notes.push(format!(
                            "drill: port {p} is that of {to}'s server; {} takes the drill on its \
                             default port",
                            self.drp.name
                        ));
                    }
                    let r = DbRestore {
                        kind: restore.kind,
                        database: drill_database.clone(),
                        port,
                    };
                    (self.drp.name.as_str(), r)
                } else {
                    // The guard of engine_steps.rs (SPEC §6: never overwrite newer data).
                    if self.runbook == "return" {
                        notes.push(format!(
                            "return: refused, before anything is done, if the live database {} \
                             on {to} changed after the dump was captured",
                            restore.database
                        ));
                    }
                    (to.as_str(), restore.clone())
                };
                let step = Resolved::DbImport {
                    from_spec,
                    from: source.ok(),
                    to: self.host(host)?,
                    restore,
                    verify: verify.clone(),
                };
                (action, step)
            }
            StepKind::Ticket { body } => {
                if self.drill() {
                    title = format!("[DRILL] {title}");
                }
                let step = Resolved::Ticket {
                    title: title.clone(),
                    body: body.clone(),
                };
                (Action::Run, step)
            }
            StepKind::Dns { target } => {
                let (new, old) = if *target == self.drp.name {
                    (&self.drp, &self.production)
                } else {
                    (&self.production, &self.drp)
                };
                let action = if self.drill() {
                    Action::VerifyOnly {
                        why: format!(
                            "drill: the record is only checked (it must still hold {}), never \
                             updated",
                            old.public_address
                        ),
                    }
                } else {
                    Action::Run
                };
                let step = Resolved::Dns {
                    target: self.host(target)?,
                    new_address: new.public_address.clone(),
                    expected_old: old.public_address.clone(),
                };
                (action, step)
            }
            StepKind::Wait {
                check,
                host,
                timeout,
            } => {
                let action = if self.drill() && check.starts_with("app.url.") {
                    Action::Skip {
                        why: format!(
                            "drill: the DNS still points to production, so {check} would say \
                             nothing of the DRP"
                        ),
                    }
                } else {
                    Action::Run
                };
                let step = Resolved::Wait {
                    check: check.clone(),
                    host: host.as_deref().map(|h| self.host(h)).transpose()?,
                    timeout_s: timeout.as_secs(),
                };
                (action, step)
            }
        };
        Ok(PlanStep {
            number,
            title,
            action,
            step,
            notes,
            preview: Vec::new(),
        })
    }
}

/// The source and target endpoints of a step.
fn endpoints(step: &Resolved) -> impl Iterator<Item = &Endpoint> {
    let (from, to) = match step {
        Resolved::Copy { from, to, .. } => (from.as_ref(), Some(to)),
        Resolved::DbImport { from, .. } => (from.as_ref(), None),
        _ => (None, None),
    };
    from.into_iter().chain(to)
}

/// The newest good backup of `dataset` in `readings`, with its full path on its server.
fn pick_from_readings(
    config: &Config,
    readings: &[DatasetReport],
    dataset: &str,
) -> Result<BackupPick, String> {
    let ds = config
        .dataset(dataset)
        .ok_or_else(|| format!("no dataset `{dataset}` in the configuration"))?;
    let report = readings
        .iter()
        .find(|r| r.name == dataset)
        .ok_or_else(|| format!("the backups of `{dataset}` were not read"))?;
    let Some(newest) = &report.newest else {
        let hosts: Vec<&str> = ds.copies.iter().map(|c| c.host.as_str()).collect();
        return Err(format!(
            "no good backup of `{dataset}` was read on {}",
            hosts.join(", ")
        ));
    };
    let index = report
        .copies
        .iter()
        .find(|c| c.host == newest.host && c.captured_at == Some(newest.captured_at))
        .map(|c| c.index)
        .or_else(|| ds.copies.iter().position(|c| c.host == newest.host));
    let copy = index
        .and_then(|i| ds.copies.get(i))
        .ok_or_else(|| format!("no copy of `{dataset}` on {} is configured", newest.host))?;
    // A directory's name ends with `/` (its contents are copied): the rest is one name.
    let name = &newest.name;
    let bare = name.strip_suffix('/').unwrap_or(name);
    if bare.is_empty()
        || bare == "."
        || bare == ".."
        || bare.contains('/')
        || bare.contains('\u{FFFD}')
        || bare.chars().any(char::is_control)
    {
        return Err(format!(
            "the newest backup on {} has a name that cannot be used as a path ({:?})",
            newest.host,
            crate::text::sanitize(name)
        ));
    }
    let host = config
        .host(&newest.host)
        .ok_or_else(|| format!("host `{}` is not in the configuration", newest.host))?;
    Ok(BackupPick {
        dataset: dataset.to_string(),
        host: HostRef {
            name: host.name.clone(),
            datacenter: host.datacenter.clone(),
        },
        path: format!("{}/{name}", copy.path.trim_end_matches('/')),
        name: name.clone(),
        captured_at: newest.captured_at,
        bytes: newest.bytes,
    })
}

/// Fills the {{placeholders}} of `text` that `values` knows; the others are left as written.
pub fn fill(text: &str, values: &BTreeMap<&str, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        out.push_str(&rest[..start]);
        match values.get(after[..end].trim()) {
            Some(v) => out.push_str(v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

/// What the hash covers: the resolved steps and what they are for, never times or notes.
#[derive(serde::Serialize)]
struct Canonical<'a> {
    format: u32,
    site: &'a str,
    runbook: &'a str,
    mode: Mode,
    steps: Vec<CanonicalStep<'a>>,
}

#[derive(serde::Serialize)]
struct CanonicalStep<'a> {
    number: usize,
    title: &'a str,
    action: &'a str,
    step: &'a Resolved,
}

impl Plan {
    /// A stable hash of the resolved steps (sha256, hex): equal for the same runbook resolved
    /// the same way at any time, different when a step, a host, a source or a target changes.
    pub fn hash(&self) -> String {
        let canonical = Canonical {
            format: 1,
            site: &self.site,
            runbook: &self.runbook,
            mode: self.mode,
            steps: self
                .steps
                .iter()
                .map(|s| CanonicalStep {
                    number: s.number,
                    title: &s.title,
                    action: s.action.word(),
                    step: &s.step,
                })
                .collect(),
        };
        // Serialising plain structs, strings and integers cannot fail.
        let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
        Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Steps that cannot be resolved: the plan cannot start while there is one.
    pub fn blockers(&self) -> Vec<(usize, &str)> {
        self.steps
            .iter()
            .filter_map(|s| match &s.action {
                Action::Blocked { why } => Some((s.number, why.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The step numbered `number`.
    pub fn step(&self, number: usize) -> Option<&PlanStep> {
        self.steps.iter().find(|s| s.number == number)
    }

    /// Puts the fencing of production (maintenance, SPEC §6 planned and emergency modes) in
    /// front, as step 0: `command` run on the production host (skipped in drill mode).
    pub fn add_fence(&mut self, command: &str, verify: Option<&str>, timeout_s: u64) {
        self.steps.retain(|s| s.number != 0);
        let action = match self.mode {
            Mode::Drill => Action::Skip {
                why: "drill: production is never fenced".into(),
            },
            _ => Action::Run,
        };
        self.steps.insert(
            0,
            PlanStep {
                number: 0,
                title: format!(
                    "Fence production: put {} into maintenance",
                    self.production.name
                ),
                action,
                step: Resolved::Exec {
                    host: HostRef {
                        name: self.production.name.clone(),
                        datacenter: self.production.datacenter.clone(),
                    },
                    command: command.to_string(),
                    verify: verify.map(str::to_string),
                    timeout_s,
                },
                notes: Vec::new(),
                preview: Vec::new(),
            },
        );
        self.refresh_summary();
    }

    /// The {{placeholders}} known when the plan is resolved (see
    /// [`super::model::BODY_PLACEHOLDERS`]): `captured_at` is the capture time of the
    /// imported data (of the copied data without an import).
    pub fn placeholders(&self) -> BTreeMap<&'static str, String> {
        let mut v = BTreeMap::new();
        v.insert("site", self.site.clone());
        v.insert("runbook", self.runbook.clone());
        v.insert("mode", self.mode.word().to_string());
        v.insert("production", self.production.name.clone());
        v.insert("drp", self.drp.name.clone());
        if let Some(b) = self.user_data() {
            let tz = jiff::tz::TimeZone::get(&self.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
            let z = b.captured_at.to_zoned_datetime(tz);
            v.insert("captured_at", z.strftime("%Y-%m-%d %H:%M %Z").to_string());
        }
        if let Some(w) = self.loss_window_s {
            v.insert("loss_window", crate::backup::evaluate::human(w));
        }
        v
    }

    /// The backup whose capture time bounds what the run loses: the oldest of the imported
    /// ones, else the oldest copied one.
    pub fn user_data(&self) -> Option<&BackupPick> {
        let oldest = |imports: bool| {
            self.steps
                .iter()
                .filter(|s| !matches!(s.action, Action::Skip { .. }))
                .filter(|s| matches!(s.step, Resolved::DbImport { .. }) == imports)
                .flat_map(|s| endpoints(&s.step))
                .filter_map(|e| e.backup.as_ref())
                .min_by_key(|b| b.captured_at)
        };
        oldest(true).or_else(|| oldest(false))
    }

    /// Recomputes the direction and the data-loss window from the steps.
    fn refresh_summary(&mut self) {
        let mut from: Vec<HostRef> = Vec::new();
        let mut to: Vec<HostRef> = Vec::new();
        let add = |list: &mut Vec<HostRef>, h: &HostRef| {
            if !list.iter().any(|o| o.name == h.name) {
                list.push(h.clone());
            }
        };
        for s in self.steps.iter().filter(|s| s.action == Action::Run) {
            match &s.step {
                Resolved::Copy { from: f, to: t, .. } => {
                    f.iter().for_each(|e| add(&mut from, &e.host));
                    add(&mut to, &t.host);
                }
                Resolved::DbImport { from: f, to: t, .. } => {
                    f.iter().for_each(|e| add(&mut from, &e.host));
                    add(&mut to, t);
                }
                Resolved::Dns { target, .. } => add(&mut to, target),
                _ => {}
            }
        }
        self.from = from;
        self.to = to;
        let now = self.resolved_at;
        self.loss_window_s = self
            .user_data()
            .map(|b| u64::try_from(now.as_second() - b.captured_at.as_second()).unwrap_or(0));
    }
}

#[path = "plan_text.rs"]
mod text;

#[cfg(test)]
#[path = "plan_tests.rs"]
pub(crate) mod tests;

#[cfg(test)]
#[path = "plan_import_tests.rs"]
mod import_tests;
