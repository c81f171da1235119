//! Taking up an interrupted run (`vigie drp resume`), its status (`vigie drp status`) and
//! forcing a stale lock (`vigie drp unlock --nonce N`).
//!
//! Resume re-resolves the runbook with its `newest:` sources pinned to the journaled backups:
//! a different hash (the runbook, the hosts or `[drp]` changed) refuses. Steps DONE or SKIPPED
//! are not run again; a step RUNNING or UNKNOWN is taken up by the same code that runs it,
//! which never acts twice: detached jobs are started under the same id (an existing one is
//! only re-attached to), the DNS update carries its prerequisite and is skipped when already
//! applied, and a ticket without a journaled id waits for the operator's answer.

use super::{Engine, Outcome, RunUpdate, Updates, extra_str, guard, send, started_event};
use crate::drp::journal::{self, Event, RunState, StepState};
use crate::drp::lock::{LockOwner, LockStatus};
use crate::drp::model::{ActiveSite, Plan};
use crate::text::sanitize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

/// What `vigie drp status` shows.
#[derive(Debug, Clone)]
pub struct StatusReport {
    /// The journal's last run, and whether it is still current (not ended).
    pub last: Option<RunState>,
    pub current: bool,
    pub active_site: ActiveSite,
    /// The lock on the DRP host, or why it could not be read.
    pub lock: Result<LockStatus, String>,
    pub journal: PathBuf,
    /// Lines of the journal that could not be read.
    pub warnings: Vec<String>,
}

impl StatusReport {
    /// Lines for the terminal (every text from the journal or a host sanitised).
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "Active site: {} (journal {})",
            self.active_site.word().to_uppercase(),
            self.journal.display()
        );
        match &self.last {
            None => {
                let _ = writeln!(o, "No DRP run in the journal.");
            }
            Some(r) => {
                let state = match r.ended {
                    Some((s, at)) => format!(
                        "ended {} at {}",
                        s.word(),
                        at.strftime("%Y-%m-%d %H:%M:%S UTC")
                    ),
                    None => "NOT FINISHED: `vigie drp resume` takes it up".into(),
                };
                let _ = writeln!(
                    o,
                    "{} run {}: {} {}, order {}, started {} by {}: {state}",
                    if self.current { "Current" } else { "Last" },
                    r.run,
                    sanitize(&r.runbook),
                    r.mode.word(),
                    sanitize(r.order.as_deref().unwrap_or("-")),
                    r.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
                    r.operator.describe()
                );
                for s in &r.steps {
                    let detail = s
                        .last
                        .as_ref()
                        .and_then(|e| e.verification.clone().or_else(|| extra_str(e, "acks")))
                        .map(|v| format!(" — {}", crate::probe::parse::clean(&v, 160)))
                        .unwrap_or_default();
                    let when = s
                        .last
                        .as_ref()
                        .map(|e| format!(" {}", e.at.strftime("%H:%M:%S")))
                        .unwrap_or_default();
                    let _ = writeln!(
                        o,
                        "  {:>2}. {:<8} {:<10} {}{when}{detail}",
                        s.number,
                        s.state.word(),
                        sanitize(&s.kind),
                        sanitize(&s.title)
                    );
                }
            }
        }
        match &self.lock {
            Ok(LockStatus::Free { path }) => {
                let _ = writeln!(o, "Lock: free ({})", sanitize(path));
            }
            Ok(LockStatus::Held { path, owner }) => {
                let _ = writeln!(
                    o,
                    "Lock: held ({}) by {}",
                    sanitize(path),
                    sanitize(&owner.describe())
                );
            }
            Ok(LockStatus::Ownerless { path }) => {
                let _ = writeln!(
                    o,
                    "Lock: {} exists without an owner file: not Vigie's",
                    sanitize(path)
                );
            }
            Err(e) => {
                let _ = writeln!(o, "Lock: not read: {}", sanitize(e));
            }
        }
        for w in &self.warnings {
            let _ = writeln!(o, "warning: {}", sanitize(w));
        }
        o
    }
}

/// The steps whose resolution differs between two plans, for the refusal of a resume.
pub fn plan_diff(journaled: &Plan, now: &Plan) -> String {
    let strip = |p: &Plan| -> Vec<(usize, String, String)> {
        p.steps
            .iter()
            .map(|s| {
                let mut s = s.clone();
                s.preview.clear();
                s.notes.clear();
                let text = serde_json::to_string(&(&s.action.word(), &s.step)).unwrap_or_default();
                (s.number, s.title, text)
            })
            .collect()
    };
    let (a, b) = (strip(journaled), strip(now));
    let mut diffs = Vec::new();
    for (n, title, text) in &a {
        match b.iter().find(|(m, _, _)| m == n) {
            None => diffs.push(format!("step {n} ({}) is gone", sanitize(title))),
            Some((_, t2, text2)) if text2 != text || t2 != title => {
                diffs.push(format!("step {n} ({}) changed", sanitize(title)))
            }
            Some(_) => {}
        }
    }
    for (n, title, _) in &b {
        if !a.iter().any(|(m, _, _)| m == n) {
            diffs.push(format!("step {n} ({}) is new", sanitize(title)));
        }
    }
    if diffs.is_empty() {
        "the runbook resolves differently (hosts, datacenters or addresses changed)".into()
    } else {
        diffs.join("; ")
    }
}

impl Engine {
    pub(super) async fn resume_run(&self, acks: BTreeMap<u32, String>, tx: &Updates) -> Outcome {
        let refuse = |check: &str, why: String| {
            guard(tx, check, false, &why);
            Outcome::Refused(why)
        };
        if self.read_only {
            return refuse(
                "read_only",
                "--read-only: no DRP action can be resumed in read-only mode".into(),
            );
        }
        let events = match self.journal.read() {
            Ok(r) => {
                // Said, not hidden: a step whose end is on an unreadable line reads as still
                // running, and is re-attached to or re-checked (never re-run blindly).
                if let Some(first) = r.warnings.first() {
                    guard(
                        tx,
                        "journal",
                        true,
                        &format!(
                            "{} journal line(s) could not be read and were skipped (first: {}); \
                             a step they recorded is re-checked, never re-run blindly",
                            r.warnings.len(),
                            sanitize(first)
                        ),
                    );
                }
                r.events
            }
            Err(e) => {
                return Outcome::Error(format!(
                    "cannot read the journal {}: {e}",
                    self.journal.path().display()
                ));
            }
        };
        let Some(cur) = journal::current_run(&events) else {
            return Outcome::Error(format!(
                "no unfinished run in the journal {}: nothing to resume (`vigie drp status`)",
                self.journal.path().display()
            ));
        };
        let (Some(started), Some(plan)) = (started_event(&events, &cur.run), cur.plan.clone())
        else {
            return Outcome::Error(format!(
                "the journal holds no start (with its plan) of run {}: it cannot be resumed",
                cur.run
            ));
        };
        let Some(nonce) = extra_str(started, "lock_nonce") else {
            return Outcome::Error(format!("run {} journaled no lock nonce", cur.run));
        };
        // The plan again, pinned to the journaled backups: only a changed runbook, host or
        // [drp] changes the hash.
        let now = jiff::Timestamp::now();
        let mut again = match crate::drp::plan::resolve_pinned(
            &self.config,
            &plan.runbook,
            plan.mode,
            now,
            &plan.backups,
        ) {
            Ok(p) => p,
            Err(e) => {
                return refuse(
                    "resume",
                    format!("the plan changed since the run started: {e}"),
                );
            }
        };
        if plan.step(0).is_some() {
            let drp = self.config.drp.as_ref();
            match drp.and_then(|d| d.fence.as_deref()) {
                Some(f) => again.add_fence(
                    f,
                    drp.and_then(|d| d.fence_verify.as_deref()),
                    super::FENCE_TIMEOUT_S,
                ),
                None => {
                    return refuse(
                        "resume",
                        "the plan changed since the run started: [drp] fence is no longer \
                         configured"
                            .into(),
                    );
                }
            }
        }
        if again.hash() != cur.plan_hash {
            return refuse(
                "resume",
                format!(
                    "the plan changed since the run started: {}; the run cannot be resumed. \
                     Restore the configuration it started with, or abandon it (`vigie drp \
                     unlock --nonce {nonce}`) and start a new run",
                    plan_diff(&plan, &again)
                ),
            );
        }
        guard(
            tx,
            "resume",
            true,
            &format!(
                "run {} ({} {}): plan unchanged ({})",
                cur.run,
                sanitize(&cur.runbook),
                cur.mode.word(),
                cur.plan_hash.get(..16).unwrap_or("")
            ),
        );
        let Some(lock) = self.lock() else {
            return Outcome::Error("no [drp] section".into());
        };
        match lock.status().await {
            Ok(LockStatus::Held { owner, path }) if owner.nonce == nonce => {
                guard(
                    tx,
                    "lock",
                    true,
                    &format!("the run's lock is held ({path})"),
                );
            }
            Ok(LockStatus::Free { .. }) => {
                let mut owner = LockOwner::new(&cur.run, now);
                owner.nonce = nonce.clone();
                if let Err(e) = lock.acquire(&owner).await {
                    return refuse("lock", e.to_string());
                }
                guard(
                    tx,
                    "lock",
                    true,
                    "the run's lock was free: taken again with its nonce",
                );
            }
            Ok(LockStatus::Held { owner, path }) => {
                return refuse(
                    "lock",
                    format!(
                        "another DRP run holds the lock ({}): {}",
                        sanitize(&path),
                        sanitize(&owner.describe())
                    ),
                );
            }
            Ok(LockStatus::Ownerless { path }) => {
                return refuse(
                    "lock",
                    format!(
                        "{} exists without an owner file: look at it, remove it by hand",
                        sanitize(&path)
                    ),
                );
            }
            Err(e) => return refuse("lock", e.to_string()),
        }
        let mut plan = plan;
        self.fill_previews(&mut plan, &cur.run);
        send(Some(tx), RunUpdate::Planned(Box::new(plan.clone())));
        let mut run = journal::Run::new(
            &plan,
            cur.run.clone(),
            self.operator.clone(),
            cur.order.clone(),
        );
        run.plan_hash = cur.plan_hash.clone();
        let prior = cur
            .steps
            .iter()
            .filter(|s| s.state != StepState::Pending)
            .map(|s| (s.number, (s.state, s.last.clone())))
            .collect();
        let mut runner = super::steps::Runner::new(self, plan, run, nonce, acks, tx);
        runner.run_steps(prior).await
    }

    /// The journal's last run, the active site, and the lock (read on the DRP host).
    pub async fn status(&self) -> Result<StatusReport, String> {
        let reading = self.journal.read().map_err(|e| {
            format!(
                "cannot read the journal {}: {e}",
                self.journal.path().display()
            )
        })?;
        let mut runs = journal::runs(&reading.events);
        let last = runs.pop();
        Ok(StatusReport {
            current: last.as_ref().is_some_and(|r| r.ended.is_none()),
            last,
            active_site: journal::active_site(&reading.events),
            lock: self.lock_status().await,
            journal: self.journal.path().to_path_buf(),
            warnings: reading.warnings,
        })
    }

    /// Forces the lock of nonce `nonce` (a stale one: its console died); when it is the
    /// journal's current run's, that run is ended as abandoned (UNKNOWN) in the journal.
    pub async fn unlock(&self, nonce: &str) -> Result<String, Outcome> {
        if self.read_only {
            return Err(Outcome::Refused(
                "--read-only: the DRP lock cannot be forced in read-only mode".into(),
            ));
        }
        let lock = self
            .lock()
            .ok_or_else(|| Outcome::Error("the configuration has no [drp] section".into()))?;
        let owner = lock
            .force_unlock(nonce)
            .await
            .map_err(|e| Outcome::Refused(e.to_string()))?;
        let mut said = match &owner {
            Some(o) => format!("lock released: it was {}", sanitize(&o.describe())),
            None => "lock released".to_string(),
        };
        let events = self
            .journal
            .read()
            .map_err(|e| Outcome::Error(format!("cannot read the journal: {e}")))?
            .events;
        if let Some(cur) = journal::current_run(&events)
            && started_event(&events, &cur.run)
                .and_then(|e| extra_str(e, "lock_nonce"))
                .as_deref()
                == Some(nonce)
            && let Some(plan) = &cur.plan
        {
            let mut run = journal::Run::new(
                plan,
                cur.run.clone(),
                self.operator.clone(),
                cur.order.clone(),
            );
            run.plan_hash = cur.plan_hash.clone();
            let ev: Event = run.ended(StepState::Unknown, jiff::Timestamp::now()).with(
                "abandoned",
                format!("lock forced by {}", self.operator.describe()),
            );
            self.append(&ev).map_err(Outcome::Error)?;
            let _ = write!(
                said,
                "; run {} is ended in the journal as abandoned (UNKNOWN)",
                cur.run
            );
        }
        Ok(said)
    }
}
