//! The audit journal of DRP runs (SPEC §6): append-only JSON lines at
//! `$XDG_STATE_HOME/vigie/<site>/journal.jsonl`, one event a line, each written whole and
//! fsync'd (the engine appends one before and one after each step, so that what was started
//! and what was finished survives a crash). Reading never fails on what a crash or a newer
//! version left: a torn last line is skipped with a warning, unknown fields are kept.
//!
//! From the events: the current run's state (for `vigie drp status` and `resume`), the
//! active-site marker (which site serves users), the list of runs, and the customer's report
//! (`vigie journal --export json|csv`).

use super::model::{ActiveSite, Mode, Plan, PlanStep};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// The format of the lines this version writes (`v`).
pub const FORMAT: u32 = 1;

/// A step's (or a run's) state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum StepState {
    Pending,
    Running,
    Done,
    Failed,
    /// The outcome is not known (the console died, the host did not say): resume re-attaches
    /// or re-checks the postcondition, never re-runs blindly.
    Unknown,
    /// Left out by the plan (drill mode), with the reason in `verification`. An extension of
    /// SPEC §6's list, so that the report does not call "done" what was not done.
    Skipped,
}

impl StepState {
    pub fn word(self) -> &'static str {
        match self {
            StepState::Pending => "PENDING",
            StepState::Running => "RUNNING",
            StepState::Done => "DONE",
            StepState::Failed => "FAILED",
            StepState::Unknown => "UNKNOWN",
            StepState::Skipped => "SKIPPED",
        }
    }

    /// Whether the step is over (nothing of it left to run or to check).
    pub fn is_final(self) -> bool {
        matches!(self, StepState::Done | StepState::Skipped)
    }
}

/// What a line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    RunStarted,
    Step,
    RunEnded,
    /// A kind from a newer version: kept, not interpreted.
    #[serde(other)]
    Other,
}

/// Who ran it: `$USER`, `$SUDO_USER`, `$SSH_CLIENT` and the jump host's name.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Operator {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub sudo_user: Option<String>,
    #[serde(default)]
    pub ssh_client: Option<String>,
    #[serde(default)]
    pub jump_host: Option<String>,
}

impl Operator {
    pub fn from_env() -> Operator {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Operator {
            user: var("USER").or_else(|| var("LOGNAME")),
            sudo_user: var("SUDO_USER"),
            ssh_client: var("SSH_CLIENT"),
            jump_host: sysinfo::System::host_name().ok(),
        }
    }

    /// "alice@jump1", "root@jump1 (sudo by alice)", with where the SSH session came from.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "{}@{}",
            self.user.as_deref().unwrap_or("?"),
            self.jump_host.as_deref().unwrap_or("?")
        );
        if let Some(u) = &self.sudo_user {
            s.push_str(&format!(" (sudo by {u})"));
        }
        if let Some(c) = self.ssh_client.as_deref().and_then(|c| c.split(' ').next()) {
            s.push_str(&format!(" from {c}"));
        }
        crate::text::sanitize(&s)
    }
}

/// One line of the journal. Run-level fields are on every line, so that each line (and each
/// CSV row) stands on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub v: u32,
    pub at: Timestamp,
    pub event: EventKind,
    /// Time-sortable: `20261129T031500Z-7f3a`.
    pub run: String,
    pub runbook: String,
    pub plan_hash: String,
    pub mode: Mode,
    pub operator: Operator,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// The hosts concerned: all the plan's for a run event, the step's for a step event.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub state: StepState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    /// What the verification found ("1000 rows", "second dry-run: no change").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<String>,
    /// The active-site marker, on the end of a completed `activate` or `return`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_site: Option<ActiveSite>,
    /// Everything else: `ticket_id`, `captured_at`, `dns_ttl`, `reason`, `acks`, `plan` (the
    /// resolved plan, on `run_started`), and fields of newer versions, kept as read.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

impl Event {
    /// Sets an extra field (`ticket_id`, `captured_at`, `dns_ttl`, `reason`, `acks`, …).
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Event {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    pub fn exit_code(mut self, code: i64) -> Event {
        self.exit_code = Some(code);
        self
    }

    pub fn verification(mut self, text: impl Into<String>) -> Event {
        self.verification = Some(text.into());
        self
    }

    /// The step's start, on its end event.
    pub fn started_at(mut self, at: Timestamp) -> Event {
        self.started_at = Some(at);
        self
    }

    /// The resolved plan a `run_started` event carries.
    pub fn plan(&self) -> Option<Plan> {
        serde_json::from_value(self.extra.get("plan")?.clone()).ok()
    }
}

/// A new run id: the UTC time, sortable, and 16 random bits against two runs in a second.
pub fn new_run_id(now: Timestamp) -> String {
    format!(
        "{}-{:04x}",
        now.strftime("%Y%m%dT%H%M%SZ"),
        rand::random::<u16>()
    )
}

/// The run-level fields, to make a run's events.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub id: String,
    pub runbook: String,
    pub plan_hash: String,
    pub mode: Mode,
    pub operator: Operator,
    pub order: Option<String>,
    /// Every host of the plan.
    pub hosts: Vec<String>,
}

impl Run {
    pub fn new(plan: &Plan, id: String, operator: Operator, order: Option<String>) -> Run {
        let mut hosts: Vec<String> = Vec::new();
        for h in plan.steps.iter().flat_map(PlanStep::hosts) {
            if !hosts.contains(&h.name) {
                hosts.push(h.name.clone());
            }
        }
        Run {
            id,
            runbook: plan.runbook.clone(),
            plan_hash: plan.hash(),
            mode: plan.mode,
            operator,
            order,
            hosts,
        }
    }

    fn event(&self, event: EventKind, state: StepState, at: Timestamp) -> Event {
        Event {
            v: FORMAT,
            at,
            event,
            run: self.id.clone(),
            runbook: self.runbook.clone(),
            plan_hash: self.plan_hash.clone(),
            mode: self.mode,
            operator: self.operator.clone(),
            order: self.order.clone(),
            hosts: self.hosts.clone(),
            step: None,
            kind: None,
            title: None,
            source: None,
            target: None,
            state,
            started_at: None,
            ended_at: None,
            exit_code: None,
            verification: None,
            active_site: None,
            extra: BTreeMap::new(),
        }
    }

    /// The run begins: the whole resolved plan is journaled with it (what resume pins its
    /// backups to); `reason` is the emergency's typed reason.
    pub fn started(&self, plan: &Plan, at: Timestamp, reason: Option<&str>) -> Event {
        let mut e = self.event(EventKind::RunStarted, StepState::Running, at);
        e.started_at = Some(at);
        if let Ok(p) = serde_json::to_value(plan) {
            e.extra.insert("plan".into(), p);
        }
        if let Some(r) = reason {
            e.extra.insert("reason".into(), r.into());
        }
        e
    }

    /// A step's state: RUNNING is dated as its start; DONE, FAILED, SKIPPED and UNKNOWN as
    /// its end (add the start with [`Event::started_at`]).
    pub fn step(&self, step: &PlanStep, state: StepState, at: Timestamp) -> Event {
        let mut e = self.event(EventKind::Step, state, at);
        e.hosts = step.hosts().into_iter().map(|h| h.name.clone()).collect();
        e.step = Some(step.number);
        e.kind = Some(step.step.word().to_string());
        e.title = Some(step.title.clone());
        e.source = step.source();
        e.target = step.target();
        match state {
            StepState::Running => e.started_at = Some(at),
            StepState::Pending => {}
            _ => e.ended_at = Some(at),
        }
        e
    }

    /// The run ends; a completed (DONE) `activate` or `return` outside a drill moves the
    /// active-site marker.
    pub fn ended(&self, state: StepState, at: Timestamp) -> Event {
        let mut e = self.event(EventKind::RunEnded, state, at);
        e.ended_at = Some(at);
        if state == StepState::Done {
            e.active_site = ActiveSite::after(&self.runbook, self.mode);
        }
        e
    }
}

// ---------------------------------------------------------------------------------------------
// The file

/// The journal file of one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    path: PathBuf,
}

/// What was read: the events in order, and what was skipped and why.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reading {
    pub events: Vec<Event>,
    pub warnings: Vec<String>,
}

impl Journal {
    /// `$XDG_STATE_HOME/vigie/<site>/journal.jsonl` (`None` without a home directory).
    pub fn for_site(site: &str) -> Option<Journal> {
        let dir = crate::paths::state_dir()?.join(crate::paths::component(site));
        Some(Journal::at(dir.join("journal.jsonl")))
    }

    pub fn at(path: impl Into<PathBuf>) -> Journal {
        Journal { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `event` as one line and waits until it is on disk (the file, and the directory
    /// entry when the file is new). A line torn by an earlier crash is closed first, so that
    /// this one is never glued to it.
    pub fn append(&self, event: &Event) -> io::Result<()> {
        use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
        let dir = self.path.parent().unwrap_or(Path::new("."));
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
            if let Some(parent) = dir.parent() {
                sync_dir(parent)?;
            }
        }
        let existed = self.path.exists();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.path)?;
        let len = file.metadata()?.len();
        let mut line = String::new();
        if len > 0 {
            let mut last = [0u8; 1];
            file.read_at(&mut last, len - 1)?;
            if last[0] != b'\n' {
                line.push('\n');
            }
        }
        line.push_str(&serde_json::to_string(event).map_err(io::Error::other)?);
        line.push('\n');
        (&file).write_all(line.as_bytes())?;
        file.sync_all()?;
        if !existed {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// Every event; a missing file is an empty journal. Skipped lines are logged as well.
    pub fn read(&self) -> io::Result<Reading> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Reading::default()),
            Err(e) => return Err(e),
        };
        let reading = parse(&String::from_utf8_lossy(&bytes));
        for w in &reading.warnings {
            tracing::warn!(journal = %self.path.display(), "{w}");
        }
        Ok(reading)
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::File::open(dir)?.sync_all()
}

/// The events of a journal's text. Pure; never panics.
pub fn parse(text: &str) -> Reading {
    let mut out = Reading::default();
    let lines: Vec<&str> = text.split('\n').collect();
    let torn_at = (!text.is_empty() && !text.ends_with('\n')).then_some(lines.len());
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Event>(line) {
            Ok(e) => out.events.push(e),
            Err(_) if torn_at == Some(n) => out.warnings.push(format!(
                "line {n}: the last line is incomplete (a crash while writing it?): skipped"
            )),
            Err(e) => out.warnings.push(format!(
                "line {n}: not a journal event ({}): skipped",
                crate::probe::parse::clean(&e.to_string(), 120)
            )),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// What the events say

/// A run as its events tell it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    pub run: String,
    pub runbook: String,
    pub plan_hash: String,
    pub mode: Mode,
    pub operator: Operator,
    pub order: Option<String>,
    pub started_at: Timestamp,
    /// The plan journaled when it started.
    pub plan: Option<Plan>,
    /// Each step's last state, by number: every step of the plan (PENDING until an event
    /// says otherwise), and any other step an event names.
    pub steps: Vec<StepStatus>,
    /// How and when it ended; `None` while it is not over (running, or interrupted).
    pub ended: Option<(StepState, Timestamp)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepStatus {
    pub number: usize,
    pub kind: String,
    pub title: String,
    pub state: StepState,
    /// The step's last event (`None` while PENDING from the plan only).
    pub last: Option<Event>,
}

/// Every run, in the order they started.
pub fn runs(events: &[Event]) -> Vec<RunState> {
    let mut out: Vec<RunState> = Vec::new();
    for e in events {
        let i = match out.iter().position(|r| r.run == e.run) {
            Some(i) => i,
            None => {
                let plan = (e.event == EventKind::RunStarted)
                    .then(|| e.plan())
                    .flatten();
                let steps = plan
                    .iter()
                    .flat_map(|p| &p.steps)
                    .map(|s| StepStatus {
                        number: s.number,
                        kind: s.step.word().to_string(),
                        title: s.title.clone(),
                        state: StepState::Pending,
                        last: None,
                    })
                    .collect();
                out.push(RunState {
                    run: e.run.clone(),
                    runbook: e.runbook.clone(),
                    plan_hash: e.plan_hash.clone(),
                    mode: e.mode,
                    operator: e.operator.clone(),
                    order: e.order.clone(),
                    started_at: e.started_at.unwrap_or(e.at),
                    plan,
                    steps,
                    ended: None,
                });
                out.len() - 1
            }
        };
        let run = &mut out[i];
        match e.event {
            EventKind::RunEnded => run.ended = Some((e.state, e.at)),
            EventKind::Step => {
                let Some(number) = e.step else { continue };
                let status = StepStatus {
                    number,
                    kind: e.kind.clone().unwrap_or_default(),
                    title: e.title.clone().unwrap_or_default(),
                    state: e.state,
                    last: Some(e.clone()),
                };
                match run.steps.iter_mut().find(|s| s.number == number) {
                    Some(s) => *s = status,
                    None => {
                        run.steps.push(status);
                        run.steps.sort_by_key(|s| s.number);
                    }
                }
            }
            EventKind::RunStarted | EventKind::Other => {}
        }
    }
    out
}

/// The current run: the journal's last run, if it has not ended (running, or interrupted by
/// a crash: `resume` takes it up).
pub fn current_run(events: &[Event]) -> Option<RunState> {
    runs(events).pop().filter(|r| r.ended.is_none())
}

/// Which site serves users: the last marker (a completed `activate` → DRP, a completed
/// `return` → production); production when none was ever written.
pub fn active_site(events: &[Event]) -> ActiveSite {
    events
        .iter()
        .rev()
        .find_map(|e| e.active_site)
        .unwrap_or_default()
}

#[path = "journal_export.rs"]
mod export;
pub use export::{export_csv, export_json};

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
