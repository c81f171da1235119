//! The DRP engine (SPEC §6): runs a resolved plan step by step behind the guards, journals
//! every step before and after acting, and takes an interrupted run up again without running
//! anything twice. UI-agnostic: `vigie drp run|resume` prints its [`RunUpdate`]s as lines; the
//! console's DRP screen follows the same stream.
//!
//! Order of a run ([`Engine::run`]), each refusal before anything is touched:
//! `--read-only` → order reference → no unfinished run in the journal → fresh backup readings
//! and the plan (no blocker) → production's answer and the fencing decision → `return` needs
//! the DRP marker → the direction and the data-loss window are shown → the typed host name →
//! the lock on the DRP host → `run_started` journaled → the steps.
//!
//! A step that fails ends the run (FAILED, lock released): after the cause is fixed, a new run
//! re-does what is not done (copies and DNS switches are idempotent). A run stopped at a
//! confirm step, or by the operator between two steps ([`StopSignal`]), or by a step whose
//! outcome is unknown, or by a crash, is not ended: it keeps its lock and `resume` goes on.

use super::journal::{self, Event, Journal, Operator, RunState, StepState};
use super::lock::{DrpLock, LockOwner, LockStatus};
use super::model::{Action, Mode, Plan, PlanStep, Source, StepKind};
use crate::config::Config;
use crate::ssh::Pool;
use crate::text::sanitize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

#[path = "engine_guards.rs"]
pub mod guards;
#[path = "engine_remote.rs"]
mod remote;
#[path = "engine_resume.rs"]
mod resume;
#[path = "engine_steps.rs"]
mod steps;
#[path = "engine_stop.rs"]
mod stop;

pub use resume::StatusReport;
pub use stop::StopSignal;

/// What the operator asks for: `vigie drp run RUNBOOK --mode M --order REF --confirm HOST
/// [--ack N=TEXT]… [--reason TEXT]`, or the DRP screen's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRequest {
    pub runbook: String,
    pub mode: Mode,
    /// The customer's order reference (required).
    pub order: String,
    /// The target host's name, typed in full (see [`guards::confirm_target`]).
    pub confirm: String,
    /// Answers to `confirm` steps (and to a ticket step in doubt on resume), by step number.
    pub acks: BTreeMap<u32, String>,
    /// Required for an emergency run while production still answers.
    pub reason: Option<String>,
}

/// What the engine tells whoever follows a run, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum RunUpdate {
    /// The resolved plan, with each step's preview (exact commands).
    Planned(Box<Plan>),
    /// A guard: its name (`read_only`, `order`, `backups`, `plan`, `production`, `marker`,
    /// `direction`, `loss_window`, `confirm`, `lock`, `journal`, `resume`), passed or not, why.
    Guard {
        check: String,
        ok: bool,
        text: String,
    },
    StepStarted {
        n: usize,
        kind: String,
        title: String,
    },
    /// A long step's progress; `fraction` never goes backwards within a step.
    Progress {
        n: usize,
        fraction: Option<f64>,
        /// Bytes per second (copies).
        rate: Option<f64>,
        eta: Option<Duration>,
        summary: String,
    },
    /// Lines of a step's output (sanitised).
    Log { n: usize, lines: Vec<String> },
    StepEnded {
        n: usize,
        state: StepState,
        summary: String,
    },
    /// The run stops here until the step is answered (`--ack N=TEXT`).
    NeedsAck { n: usize, ask: String },
    /// The run stopped: DONE, FAILED, UNKNOWN (stopped, resumable) or PENDING (refused,
    /// nothing done, or stopped at a confirm step).
    Ended { state: StepState, summary: String },
}

/// How a run (or resume) ended, and the CLI's exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every step done or skipped. Exit 0.
    Done,
    /// A step failed (the run is ended), or its outcome is unknown, or the operator stopped
    /// the run between two steps ([`StopSignal`]): the run is resumable then. Exit 1.
    Failed { step: Option<usize>, why: String },
    /// A guard refused; nothing was done. Exit 2.
    Refused(String),
    /// Configuration or usage error. Exit 3.
    Error(String),
    /// Stopped at a step that needs `--ack N=TEXT`; resumable. Exit 4.
    NeedsAck { step: usize, ask: String },
}

impl Outcome {
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Done => 0,
            Outcome::Failed { .. } => 1,
            Outcome::Refused(_) => 2,
            Outcome::Error(_) => 3,
            Outcome::NeedsAck { .. } => 4,
        }
    }
}

pub type Updates = UnboundedSender<RunUpdate>;

/// Bounds of the small remote commands of the guards (`echo`, `test -e`, `find`).
const PROBE_FIRST_BYTE: Duration = Duration::from_secs(10);
const PROBE_TOTAL: Duration = Duration::from_secs(20);
const FIND_TOTAL: Duration = Duration::from_secs(120);
/// The fencing step's timeout.
pub const FENCE_TIMEOUT_S: u64 = 600;

/// The engine of one site: its configuration, SSH pool and journal.
pub struct Engine {
    config: Arc<Config>,
    pool: Arc<Pool>,
    journal: Journal,
    read_only: bool,
    lock_dir: Option<String>,
    operator: Operator,
    /// Asked by the console to stop between two steps ("stop after this step").
    stop: StopSignal,
}

impl Engine {
    pub fn new(config: Arc<Config>, pool: Arc<Pool>, journal: Journal) -> Engine {
        Engine {
            config,
            pool,
            journal,
            read_only: false,
            lock_dir: None,
            operator: Operator::from_env(),
            stop: StopSignal::new(),
        }
    }

    /// The signal through which the run (or resume) is asked to stop once its current step
    /// has finished: checked between steps only, a step is never interrupted.
    pub fn stop_signal(mut self, stop: StopSignal) -> Engine {
        self.stop = stop;
        self
    }

    /// `--read-only`: every action is refused before connecting.
    pub fn read_only(mut self, read_only: bool) -> Engine {
        self.read_only = read_only;
        self
    }

    /// The lock's directory on the DRP host instead of its default (`/var/lib/vigie`). Not
    /// settable from the command line or the environment: two consoles must never look at
    /// two different locks.
    pub fn lock_dir(mut self, dir: Option<String>) -> Engine {
        self.lock_dir = dir.filter(|d| !d.is_empty());
        self
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    fn lock(&self) -> Option<DrpLock<'_>> {
        let drp = self.config.drp.as_ref()?;
        let lock = DrpLock::new(&self.pool, &drp.drp);
        Some(match &self.lock_dir {
            Some(d) => lock.in_dir(d),
            None => lock,
        })
    }

    /// The plan of `runbook` in `mode`, from fresh backup readings, with each step's preview
    /// and the fencing step where a run would have it ([`fences`]): in planned mode, and in
    /// emergency mode when production answers now (asked here, as the run asks it). Touches
    /// nothing: reads the backup servers and asks production whether it answers (no lock, no
    /// journal).
    pub async fn plan(
        &self,
        runbook: &str,
        mode: Mode,
        tx: Option<&Updates>,
    ) -> Result<Plan, Outcome> {
        let mut plan = self.resolve(runbook, mode, tx).await?;
        let answer = match (mode, self.config.drp.as_ref()) {
            // Only an emergency's fencing depends on the answer.
            (Mode::Emergency, Some(drp)) => {
                match remote::answers(&self.pool, &drp.production).await {
                    Ok(()) => guards::ProductionAnswer::Answers,
                    Err(why) => guards::ProductionAnswer::Silent(why),
                }
            }
            _ => guards::ProductionAnswer::NotAsked,
        };
        if add_fence(&self.config, &mut plan, &answer)
            && mode == Mode::Emergency
            && let Some(step) = plan.steps.first_mut()
        {
            step.notes.push(
                "production answered just now: an emergency run while it answers fences it \
                 first, and needs a typed reason (--reason)"
                    .into(),
            );
        }
        self.fill_previews(&mut plan, "RUN");
        Ok(plan)
    }

    /// Reads the backups the runbook's `newest:` sources need, then resolves it.
    async fn resolve(
        &self,
        runbook: &str,
        mode: Mode,
        tx: Option<&Updates>,
    ) -> Result<Plan, Outcome> {
        let config = &self.config;
        let Some(book) = config.runbooks.get(runbook) else {
            return super::plan::resolve(config, runbook, mode, jiff::Timestamp::now(), &[])
                .map_err(|e| Outcome::Error(e.to_string()));
        };
        let datasets: Vec<&str> = book
            .steps
            .iter()
            .filter_map(|s| match &s.kind {
                StepKind::Copy {
                    from: Source::Newest { dataset },
                    ..
                }
                | StepKind::DbImport {
                    from: Source::Newest { dataset },
                    ..
                } => Some(dataset.as_str()),
                _ => None,
            })
            .collect();
        let readings = if datasets.is_empty() {
            Vec::new()
        } else {
            let (readings, text) = remote::read_backups(config, &self.pool, &datasets).await;
            send(
                tx,
                RunUpdate::Guard {
                    check: "backups".into(),
                    ok: true,
                    text,
                },
            );
            readings
        };
        super::plan::resolve(config, runbook, mode, jiff::Timestamp::now(), &readings)
            .map_err(|e| Outcome::Error(e.to_string()))
    }

    /// Fills every step's `preview` with the commands its module will run.
    /// (`run_id`: the run's, or a placeholder for `vigie drp plan`.)
    pub fn fill_previews(&self, plan: &mut Plan, run_id: &str) {
        for i in 0..plan.steps.len() {
            let preview = remote::preview(&self.config, &plan.steps[i], plan.mode, run_id);
            plan.steps[i].preview = preview;
        }
    }

    /// Starts a run (see the module's documentation for the order of the guards).
    pub async fn run(&self, req: RunRequest, tx: Updates) -> Outcome {
        let tx = &tx;
        let outcome = self.start(req, tx).await;
        match &outcome {
            Outcome::Refused(why) | Outcome::Error(why) => send(
                Some(tx),
                RunUpdate::Ended {
                    state: StepState::Pending,
                    summary: format!("nothing was done: {why}"),
                },
            ),
            _ => {}
        }
        outcome
    }

    async fn start(&self, req: RunRequest, tx: &Updates) -> Outcome {
        let refuse = |check: &str, why: String| {
            guard(tx, check, false, &why);
            Outcome::Refused(why)
        };
        if self.read_only {
            return refuse(
                "read_only",
                "--read-only: no DRP action can be started in read-only mode".into(),
            );
        }
        let order = match guards::check_order(&req.order) {
            Ok(o) => o,
            Err(why) => return refuse("order", why),
        };
        let Some(drp) = self.config.drp.clone() else {
            return Outcome::Error(
                "the configuration has no [drp] section: runbooks need `production` and `drp`"
                    .into(),
            );
        };
        let events = match self.journal.read() {
            Ok(r) => r.events,
            Err(e) => {
                return Outcome::Error(format!(
                    "cannot read the journal {}: {e}",
                    self.journal.path().display()
                ));
            }
        };
        if let Some(cur) = journal::current_run(&events) {
            return refuse("journal", unfinished(&cur));
        }
        // The marker is the journal's: refused before connecting anywhere.
        if let Err(why) =
            guards::check_marker(&req.runbook, req.mode, journal::active_site(&events))
        {
            return refuse("marker", why);
        }
        let mut plan = match self.resolve(&req.runbook, req.mode, Some(tx)).await {
            Ok(p) => p,
            Err(o) => return o,
        };
        // Production's answer decides the fencing (never asked in a drill).
        let answer = if req.mode == Mode::Drill {
            guards::ProductionAnswer::NotAsked
        } else {
            match remote::answers(&self.pool, &drp.production).await {
                Ok(()) => guards::ProductionAnswer::Answers,
                Err(why) => guards::ProductionAnswer::Silent(why),
            }
        };
        let decision = match guards::fence_decision(
            req.mode,
            &drp.production,
            &answer,
            req.reason.as_deref(),
            drp.fence.as_deref(),
        ) {
            Ok(d) => d,
            Err(why) => return refuse("production", why),
        };
        guard(tx, "production", true, &decision.note);
        // The guard let it through: fencing is configured whenever `fences` wants it.
        add_fence(&self.config, &mut plan, &answer);
        let run_id = journal::new_run_id(jiff::Timestamp::now());
        self.fill_previews(&mut plan, &run_id);
        send(Some(tx), RunUpdate::Planned(Box::new(plan.clone())));
        let blockers = plan.blockers();
        if !blockers.is_empty() {
            let list: Vec<String> = blockers
                .iter()
                .map(|(n, why)| format!("step {n}: {}", sanitize(why)))
                .collect();
            return refuse(
                "plan",
                format!("the plan cannot start: {}", list.join("; ")),
            );
        }
        // What the operator confirms knowing: shown before the typed name is checked.
        guard(tx, "direction", true, &guards::direction_text(&plan));
        guard(tx, "loss_window", true, &guards::loss_text(&plan));
        if let Err(why) = guards::check_confirm(&plan, &req.confirm) {
            return refuse("confirm", why);
        }
        guard(
            tx,
            "confirm",
            true,
            &format!("{} typed in full", sanitize(&req.confirm)),
        );

        let now = jiff::Timestamp::now();
        let owner = LockOwner::new(&run_id, now);
        let Some(lock) = self.lock() else {
            return Outcome::Error("no [drp] section".into());
        };
        match lock.acquire(&owner).await {
            Ok(path) => guard(
                tx,
                "lock",
                true,
                &format!("lock taken on {} ({path}), nonce {}", drp.drp, owner.nonce),
            ),
            Err(e) => return refuse("lock", e.to_string()),
        }
        let run = journal::Run::new(&plan, run_id, self.operator.clone(), Some(order));
        let mut started = run
            .started(&plan, now, req.reason.as_deref())
            .with("lock_nonce", owner.nonce.clone())
            .with("confirm", req.confirm.clone())
            .with("production", decision.note.clone())
            .with("direction", guards::direction_text(&plan));
        if let guards::ProductionAnswer::Silent(why) = &answer {
            started = started
                .with("production_answered", false)
                .with("production_error", crate::probe::parse::clean(why, 300));
        } else if answer == guards::ProductionAnswer::Answers {
            started = started.with("production_answered", true);
        }
        if let Some(w) = plan.loss_window_s {
            started = started.with("loss_window_s", w);
        }
        if let Err(e) = self.journal.append(&started) {
            let _ = lock.release(&owner.nonce).await;
            return Outcome::Error(format!(
                "cannot write the journal {}: {e}; nothing was done, the lock is released",
                self.journal.path().display()
            ));
        }
        guard(
            tx,
            "journal",
            true,
            &format!(
                "run {} started, journal {}",
                run.id,
                self.journal.path().display()
            ),
        );
        let mut runner = steps::Runner::new(self, plan, run, owner.nonce, req.acks, tx);
        runner.run_steps(BTreeMap::new()).await
    }

    /// Takes up the current (interrupted) run: see [`resume`](engine_resume.rs).
    pub async fn resume(&self, acks: BTreeMap<u32, String>, tx: Updates) -> Outcome {
        let outcome = self.resume_run(acks, &tx).await;
        if let Outcome::Refused(why) | Outcome::Error(why) = &outcome {
            send(
                Some(&tx),
                RunUpdate::Ended {
                    state: StepState::Pending,
                    summary: format!("nothing was done: {why}"),
                },
            );
        }
        outcome
    }

    /// Appends `event`; the error says where.
    fn append(&self, event: &Event) -> Result<(), String> {
        self.journal.append(event).map_err(|e| {
            format!(
                "cannot write the journal {}: {e}",
                self.journal.path().display()
            )
        })
    }

    /// Releases the lock of nonce `nonce`; a failure is only reported (the run's state is in
    /// the journal already).
    async fn release(&self, nonce: &str, tx: &Updates) {
        let Some(lock) = self.lock() else { return };
        match lock.release(nonce).await {
            Ok(()) => guard(tx, "lock", true, "lock released"),
            Err(e) => guard(
                tx,
                "lock",
                false,
                &format!("the lock could not be released: {e}; `vigie drp unlock --nonce {nonce}`"),
            ),
        }
    }

    /// Where the lock is and who holds it.
    pub async fn lock_status(&self) -> Result<LockStatus, String> {
        let lock = self
            .lock()
            .ok_or("the configuration has no [drp] section")?;
        lock.status().await.map_err(|e| e.to_string())
    }
}

/// Whether a run in `mode` fences production first (step 0), given production's answer: the
/// one rule behind the run, `vigie drp plan` and the DRP screen's plan. Planned mode always
/// fences (a silent production refuses the start); an emergency fences only while production
/// still answers (no split brain by accident); a drill never touches production. The guard
/// ([`guards::fence_decision`]) refuses to start when this asks a fence that is not
/// configured.
pub fn fences(mode: Mode, answer: &guards::ProductionAnswer) -> bool {
    match mode {
        Mode::Drill => false,
        Mode::Planned => true,
        Mode::Emergency => *answer == guards::ProductionAnswer::Answers,
    }
}

/// Puts the fencing step (`[drp] fence`) in front of `plan` when [`fences`] wants it and it is
/// configured; whether it did.
pub fn add_fence(config: &Config, plan: &mut Plan, answer: &guards::ProductionAnswer) -> bool {
    let Some(drp) = config.drp.as_ref() else {
        return false;
    };
    match drp.fence.as_deref() {
        Some(fence) if fences(plan.mode, answer) => {
            plan.add_fence(fence, drp.fence_verify.as_deref(), FENCE_TIMEOUT_S);
            true
        }
        _ => false,
    }
}

/// Why a new run cannot start while the journal's last run is not ended.
fn unfinished(cur: &RunState) -> String {
    let at = cur
        .steps
        .iter()
        .filter(|s| s.state != StepState::Pending && !s.state.is_final())
        .map(|s| format!("step {} {}", s.number, s.state.word()))
        .next()
        .unwrap_or_else(|| "between steps".into());
    format!(
        "run {} ({} {}, started {}) is not finished ({at}): `vigie drp resume` takes it up, \
         `vigie drp status` shows it; to abandon it, `vigie drp unlock --nonce N` with the \
         nonce `vigie drp status` shows",
        cur.run,
        sanitize(&cur.runbook),
        cur.mode.word(),
        cur.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    )
}

fn send(tx: Option<&Updates>, u: RunUpdate) {
    if let Some(tx) = tx {
        // A screen that went away does not stop the run: the journal has everything.
        let _ = tx.send(u);
    }
}

fn guard(tx: &Updates, check: &str, ok: bool, text: &str) {
    send(
        Some(tx),
        RunUpdate::Guard {
            check: check.to_string(),
            ok,
            text: text.to_string(),
        },
    );
}

/// The journaled `run_started` of `run`.
fn started_event<'a>(events: &'a [Event], run: &str) -> Option<&'a Event> {
    events
        .iter()
        .find(|e| e.run == run && e.event == journal::EventKind::RunStarted)
}

fn extra_str(e: &Event, key: &str) -> Option<String> {
    e.extra.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Whether the step acts (is run or verified) in its plan.
fn acts(step: &PlanStep) -> bool {
    matches!(step.action, Action::Run | Action::VerifyOnly { .. })
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
