//! Running the steps of a plan: the loop (journal RUNNING, fsync, act, journal the end), the
//! preconditions re-checked right before each step, and each kind of step through its module.
//! The same code runs a fresh step and takes up an interrupted one: detached jobs are started
//! with the same id (an existing one is only re-attached to), a DNS update carries its
//! prerequisite, and a ticket in doubt is never posted again without the operator's answer.

use super::remote::{self, answers, exists, newest_mtime};
use super::{Engine, Outcome, RunUpdate, Updates, acts, send};
use crate::drp::journal::{self, Event, StepState};
use crate::drp::model::{Action, Mode, Plan, PlanStep, Resolved};
use crate::text::sanitize;
use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

#[path = "engine_jobs.rs"]
mod jobs;
#[path = "engine_site.rs"]
mod site;

/// Between two looks at a running job.
const POLL: Duration = Duration::from_secs(1);
/// How long a step keeps trying to reach its host before its outcome is UNKNOWN.
const LOST_AFTER: Duration = Duration::from_secs(60);
/// At most this long for a dry run (preview, verification) and a verify command.
const DRY_RUN_WITHIN: Duration = Duration::from_secs(30 * 60);
const VERIFY_WITHIN: Duration = Duration::from_secs(10 * 60);

/// How a step ended.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct StepOut {
    pub state: StepState,
    pub summary: String,
    pub exit_code: Option<i64>,
    pub verification: Option<String>,
    pub extra: Vec<(String, Value)>,
}

impl StepOut {
    fn new(state: StepState, summary: impl Into<String>) -> StepOut {
        StepOut {
            state,
            summary: summary.into(),
            exit_code: None,
            verification: None,
            extra: Vec::new(),
        }
    }
    fn done(summary: impl Into<String>) -> StepOut {
        StepOut::new(StepState::Done, summary)
    }
    fn failed(summary: impl Into<String>) -> StepOut {
        StepOut::new(StepState::Failed, summary)
    }
    fn unknown(summary: impl Into<String>) -> StepOut {
        StepOut::new(StepState::Unknown, summary)
    }
    fn with(mut self, key: &str, v: impl Into<Value>) -> StepOut {
        self.extra.push((key.to_string(), v.into()));
        self
    }
    fn verified(mut self, v: impl Into<String>) -> StepOut {
        self.verification = Some(v.into());
        self
    }
    fn code(mut self, rc: i64) -> StepOut {
        self.exit_code = Some(rc);
        self
    }
}

/// A run being carried out.
/// The journal field of a step whose newer-data guard passed (see [`Runner::guard_passed`]).
const GUARD_KEY: &str = "newer_data_guard";

pub(super) struct Runner<'a> {
    e: &'a Engine,
    plan: Plan,
    run: journal::Run,
    nonce: String,
    acks: BTreeMap<u32, String>,
    tx: &'a Updates,
    /// The real capture time of imported data (a db_import's), for the tickets.
    captured_at: Option<String>,
    /// Steps whose newer-data guard (return's copy and import) passed in an earlier attempt,
    /// as journaled: a resume skips the guard only for them (the step's own partial data is
    /// newer by nature), never because the step merely reads as started.
    guarded: std::collections::BTreeSet<usize>,
}

impl<'a> Runner<'a> {
    pub(super) fn new(
        e: &'a Engine,
        plan: Plan,
        run: journal::Run,
        nonce: String,
        acks: BTreeMap<u32, String>,
        tx: &'a Updates,
    ) -> Runner<'a> {
        Runner {
            e,
            plan,
            run,
            nonce,
            acks,
            tx,
            captured_at: None,
            guarded: Default::default(),
        }
    }

    fn say(&self, n: usize, line: impl Into<String>) {
        send(
            Some(self.tx),
            RunUpdate::Log {
                n,
                lines: vec![line.into()],
            },
        );
    }

    /// Runs every step not final in `prior` (each step's last journaled state and event, on
    /// resume), in order.
    pub(super) async fn run_steps(
        &mut self,
        prior: BTreeMap<usize, (StepState, Option<Event>)>,
    ) -> Outcome {
        for (_, ev) in prior.values() {
            if let Some(c) = ev.as_ref().and_then(|e| e.extra.get("captured_at")) {
                self.captured_at = c.as_str().map(str::to_string);
            }
        }
        let steps = self.plan.steps.clone();
        // The last step done or skipped, for "stopped … after step N".
        let mut last_done = None;
        for step in &steps {
            let n = step.number;
            let before = prior.get(&n);
            if before.is_some_and(|(s, _)| s.is_final()) {
                last_done = Some(n);
                continue;
            }
            // Between two steps only: the step that ran has finished, the next is not begun.
            // A step a resume finds started (RUNNING, UNKNOWN, FAILED) is first re-attached to
            // or re-checked: journaling it "not started" would make the next resume run it
            // blindly (a second ticket, a guard run against its own half-done target).
            let untouched = before.is_none_or(|(s, _)| *s == StepState::Pending);
            if let Some(why) = super::stop::stop_before(
                self.e.stop.is_requested() && untouched,
                &self.e.operator.describe(),
                n,
                last_done,
            ) {
                return self.stopped(step, why).await;
            }
            let resumed = before.is_some_and(|(s, _)| {
                matches!(
                    s,
                    StepState::Running | StepState::Unknown | StepState::Failed
                )
            });
            let last = before.and_then(|(_, e)| e.as_ref());
            let guard_passed = last.and_then(|e| e.extra.get(GUARD_KEY)).cloned();
            if guard_passed.is_some() {
                self.guarded.insert(n);
            }
            if let Action::Skip { why } = &step.action {
                let ev = self
                    .run
                    .step(step, StepState::Skipped, Timestamp::now())
                    .verification(why.clone());
                if let Err(why) = self.e.append(&ev) {
                    return self.stop(Some(n), why).await;
                }
                send(
                    Some(self.tx),
                    RunUpdate::StepEnded {
                        n,
                        state: StepState::Skipped,
                        summary: sanitize(why),
                    },
                );
                last_done = Some(n);
                continue;
            }
            if let Some(ask) = self.needs_ack(step, resumed, last) {
                send(
                    Some(self.tx),
                    RunUpdate::NeedsAck {
                        n,
                        ask: ask.clone(),
                    },
                );
                send(
                    Some(self.tx),
                    RunUpdate::Ended {
                        state: StepState::Pending,
                        summary: format!(
                            "stopped at step {n}, which needs --ack {n}=TEXT: `vigie drp \
                             resume --ack {n}=TEXT` goes on (the lock is kept)"
                        ),
                    },
                );
                return Outcome::NeedsAck { step: n, ask };
            }
            send(
                Some(self.tx),
                RunUpdate::StepStarted {
                    n,
                    kind: step.step.word().to_string(),
                    title: sanitize(&step.title),
                },
            );
            let started = last
                .filter(|_| resumed)
                .and_then(|e| e.started_at)
                .unwrap_or_else(Timestamp::now);
            // RUNNING is on disk before anything is done (a resumed step says so again).
            let mut running = self.run.step(step, StepState::Running, Timestamp::now());
            running.started_at = Some(started);
            if resumed {
                running = running.with("resumed", true);
            }
            if let Some(g) = guard_passed {
                running = running.with(GUARD_KEY, g);
            }
            if let Err(why) = self.e.append(&running) {
                return self.stop(Some(n), why).await;
            }
            let out = self.step(step, resumed).await;
            let mut ev = self
                .run
                .step(step, out.state, Timestamp::now())
                .started_at(started);
            ev.exit_code = out.exit_code;
            ev.verification = out.verification.clone();
            for (k, v) in &out.extra {
                ev = ev.with(k, v.clone());
            }
            let written = self.e.append(&ev);
            send(
                Some(self.tx),
                RunUpdate::StepEnded {
                    n,
                    state: out.state,
                    summary: out.summary.clone(),
                },
            );
            if let Err(why) = written {
                return self.stop(Some(n), why).await;
            }
            match out.state {
                StepState::Done | StepState::Skipped => last_done = Some(n),
                StepState::Failed => return self.end_failed(n, &out.summary).await,
                _ => return self.stop(Some(n), out.summary).await,
            }
        }
        self.end_done().await
    }

    /// The question a step needs answered before it can run, if any.
    fn needs_ack(&self, step: &PlanStep, resumed: bool, last: Option<&Event>) -> Option<String> {
        let n = u32::try_from(step.number).unwrap_or(u32::MAX);
        match &step.step {
            Resolved::Confirm { ask } if !self.acks.contains_key(&n) => Some(sanitize(ask)),
            Resolved::Ticket { .. }
                if resumed
                    && !last.is_some_and(|e| e.extra.contains_key("ticket_id"))
                    && !self.acks.contains_key(&n) =>
            {
                Some(format!(
                    "the ticket may have been created before the console stopped: look in the \
                     ticket system for Idempotency-Key {}, then --ack {n}=<its ticket id> if it \
                     is there, or --ack {n}=post to post it now",
                    self.vars(step.number).idempotency_key()
                ))
            }
            _ => None,
        }
    }

    /// The run ends well: journaled with its marker, lock released.
    async fn end_done(&mut self) -> Outcome {
        let ev = self.run.ended(StepState::Done, Timestamp::now());
        let marker = ev.active_site;
        if let Err(why) = self.e.append(&ev) {
            return self.stop(None, why).await;
        }
        self.e.release(&self.nonce, self.tx).await;
        let summary = match marker {
            Some(m) => format!("every step done; active site: {}", m.word().to_uppercase()),
            None => "every step done".into(),
        };
        send(
            Some(self.tx),
            RunUpdate::Ended {
                state: StepState::Done,
                summary,
            },
        );
        Outcome::Done
    }

    /// A step failed: the run ends FAILED, the lock is released.
    async fn end_failed(&mut self, n: usize, why: &str) -> Outcome {
        let ev = self.run.ended(StepState::Failed, Timestamp::now());
        if let Err(e) = self.e.append(&ev) {
            return self.stop(Some(n), format!("{why}; {e}")).await;
        }
        self.e.release(&self.nonce, self.tx).await;
        send(
            Some(self.tx),
            RunUpdate::Ended {
                state: StepState::Failed,
                summary: format!(
                    "step {n} failed: {why}. The run is ended; fix the cause, then start a new \
                     run (done copies and DNS switches are not redone)"
                ),
            },
        );
        Outcome::Failed {
            step: Some(n),
            why: why.to_string(),
        }
    }

    /// The operator asked the run to stop after the step that just finished: `step` is not
    /// begun. Journaled on `step` (PENDING, with who stopped the run and where), the run is not
    /// ended and keeps its lock, as when it stops at a confirm step: `resume` goes on there.
    async fn stopped(&mut self, step: &PlanStep, why: String) -> Outcome {
        let n = step.number;
        let ev = self
            .run
            .step(step, StepState::Pending, Timestamp::now())
            .verification(format!("not started: {why}"))
            .with("stopped_by", self.e.operator.describe());
        if let Err(e) = self.e.append(&ev) {
            return self.stop(Some(n), format!("{why}; {e}")).await;
        }
        send(
            Some(self.tx),
            RunUpdate::Ended {
                state: StepState::Pending,
                summary: super::stop::stopped_summary(&why, n),
            },
        );
        Outcome::Failed { step: None, why }
    }

    /// The run stops without ending (outcome unknown, journal unwritable): the lock is kept,
    /// `resume` goes on.
    async fn stop(&mut self, n: Option<usize>, why: String) -> Outcome {
        send(
            Some(self.tx),
            RunUpdate::Ended {
                state: StepState::Unknown,
                summary: format!(
                    "stopped{}: {why}. The run is not ended and keeps its lock: `vigie drp \
                     resume` re-attaches or re-checks, never re-runs blindly",
                    n.map(|n| format!(" at step {n}")).unwrap_or_default()
                ),
            },
        );
        Outcome::Failed { step: n, why }
    }

    /// The preconditions, then the step.
    async fn step(&mut self, step: &PlanStep, resumed: bool) -> StepOut {
        if acts(step)
            && let Err(why) = self.preconditions(step).await
        {
            return StepOut::failed(format!("precondition: {why}; nothing was done"));
        }
        let n = step.number;
        match &step.step {
            Resolved::Confirm { ask } => {
                let text = self
                    .acks
                    .get(&u32::try_from(n).unwrap_or(u32::MAX))
                    .cloned()
                    .unwrap_or_default();
                StepOut::done(format!("{}: {}", sanitize(ask), sanitize(&text)))
                    .verified(format!("answered: {text}"))
                    .with("acks", text)
            }
            Resolved::Exec {
                host,
                command,
                verify,
                timeout_s,
            } => {
                self.exec(n, &host.name, command, verify.as_deref(), *timeout_s)
                    .await
            }
            Resolved::Copy { from, .. } => match from {
                Some(from) => self.copy(step, from).await,
                None => StepOut::failed("the source is not resolved"),
            },
            Resolved::DbImport { .. } => self.db_import(step, resumed).await,
            Resolved::Ticket { title, body } => self.ticket(n, title, body, resumed).await,
            Resolved::Dns {
                new_address,
                expected_old,
                ..
            } => {
                let verify_only = matches!(step.action, Action::VerifyOnly { .. });
                self.dns(new_address, expected_old, verify_only).await
            }
            Resolved::Wait {
                check,
                host,
                timeout_s,
            } => {
                self.wait(n, check, host.as_ref().map(|h| h.name.as_str()), *timeout_s)
                    .await
            }
        }
    }

    /// Re-checked right before the step: its hosts answer; a copy's pinned source still
    /// exists (and a copy back would not overwrite newer data); a DNS record still holds the
    /// expected old address (or already the new one: a retry sends nothing).
    /// Journals that the step's newer-data guard passed, before the step acts: a resume
    /// after this point skips the guard (the step's own data is newer by nature), a resume
    /// before it runs the guard again.
    fn guard_passed(&self, step: &PlanStep, said: &str) -> Result<(), String> {
        let ev = self
            .run
            .step(step, StepState::Running, Timestamp::now())
            .with(GUARD_KEY, said);
        self.e.append(&ev)
    }

    async fn preconditions(&self, step: &PlanStep) -> Result<(), String> {
        let pool = &self.e.pool;
        for h in step.hosts() {
            answers(pool, &h.name)
                .await
                .map_err(|why| format!("{} does not answer ({why})", h.name))?;
        }
        match &step.step {
            Resolved::Copy {
                from: Some(from),
                to,
                ..
            } => {
                match exists(pool, &from.host.name, &from.path).await {
                    Ok(true) => {}
                    Ok(false) => {
                        return Err(format!(
                            "the source {} no longer exists (a backup rotated away since the \
                             plan?)",
                            from.spec()
                        ));
                    }
                    Err(why) => {
                        return Err(format!("cannot test the source {}: {why}", from.spec()));
                    }
                }
                // A copy back (return) must not overwrite newer data. Not re-checked once
                // passed (journaled): the copy's own partial files are newer by nature.
                if self.plan.runbook == "return"
                    && self.plan.mode != Mode::Drill
                    && !self.guarded.contains(&step.number)
                {
                    let src = newest_mtime(pool, &from.host.name, &from.path)
                        .await
                        .map_err(|w| {
                            format!("cannot read the newest file of {}: {w}", from.spec())
                        })?;
                    let dst = newest_mtime(pool, &to.host.name, &to.path)
                        .await
                        .map_err(|w| {
                            format!("cannot read the newest file of {}: {w}", to.spec())
                        })?;
                    super::guards::check_not_newer(&from.spec(), src, &to.spec(), dst)?;
                    let said = "the target holds no data newer than its source";
                    self.say(step.number, said);
                    self.guard_passed(step, said)?;
                }
            }
            // An import back (return) must not replace a live database changed since the
            // dump (db_import_guard.rs). Not re-checked once passed (journaled): the import's
            // own database is newer by nature.
            Resolved::DbImport { .. }
                if self.plan.runbook == "return"
                    && self.plan.mode != Mode::Drill
                    && !self.guarded.contains(&step.number) =>
            {
                let said = crate::drp::db_import::not_newer_step(
                    pool,
                    &self.e.config,
                    step,
                    self.plan.mode,
                )
                .await?;
                self.say(step.number, sanitize(&said));
                self.guard_passed(step, &sanitize(&said))?;
            }
            Resolved::Dns {
                new_address,
                expected_old,
                ..
            } if step.action == Action::Run => {
                let (old, new) = ips(expected_old, new_address)?;
                let settings = self.e.config.dns.as_ref().ok_or("no [dns] section")?;
                let first = settings.servers.first().ok_or("no DNS server configured")?;
                let answers = crate::drp::dns::current(&[*first], &settings.record).await;
                let a = answers.first().ok_or("no answer")?;
                if !a.holds_exactly(old) && !a.holds_exactly(new) {
                    return Err(format!(
                        "{} no longer holds the expected old address {old}: {}; someone changed \
                         it, nothing is sent",
                        settings.record,
                        a.describe(old)
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    // -----------------------------------------------------------------------------------------
    // ticket

    fn vars(&self, n: usize) -> crate::drp::ticket::TicketVars {
        let tz = jiff::tz::TimeZone::get(&self.plan.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        crate::drp::ticket::TicketVars {
            site: self.plan.site.clone(),
            runbook: self.plan.runbook.clone(),
            mode: self.plan.mode.word().to_string(),
            order: self.run.order.clone().unwrap_or_default(),
            run_id: self.run.id.clone(),
            step: u32::try_from(n).unwrap_or(u32::MAX),
            operator: self.run.operator.describe(),
            now: Timestamp::now()
                .to_zoned_datetime(tz)
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string(),
        }
    }

    async fn ticket(&mut self, n: usize, title: &str, body: &str, resumed: bool) -> StepOut {
        let Some(settings) = self.e.config.ticket.clone() else {
            return StepOut::failed("no [ticket] section: the ticket cannot be posted");
        };
        let vars = self.vars(n);
        let key = vars.idempotency_key();
        if resumed
            && let Some(ack) = self.acks.get(&u32::try_from(n).unwrap_or(u32::MAX))
            && !ack.eq_ignore_ascii_case("post")
        {
            return StepOut::done(format!(
                "ticket {} (as the operator found it)",
                sanitize(ack)
            ))
            .verified(format!(
                "not posted again: the operator found ticket {ack} ({key})"
            ))
            .with("ticket_id", ack.clone())
            .with("acks", ack.clone())
            .with("idempotency_key", key);
        }
        let mut values = self.plan.placeholders();
        values.insert("now", vars.now.clone());
        values.insert("order", vars.order.clone());
        values.insert("operator", vars.operator.clone());
        values.insert("run_id", vars.run_id.clone());
        if let Some(c) = self
            .captured_at
            .as_deref()
            .and_then(|c| c.parse::<Timestamp>().ok())
        {
            let tz =
                jiff::tz::TimeZone::get(&self.plan.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
            let z = c.to_zoned_datetime(tz);
            values.insert("captured_at", z.strftime("%Y-%m-%d %H:%M %Z").to_string());
        }
        let title = crate::drp::plan::fill(title, &values);
        let body = crate::drp::plan::fill(body, &values);
        self.say(n, format!("POST {} ({key})", settings.url));
        use crate::drp::ticket::TicketError as E;
        match crate::drp::ticket::post(&settings, &title, &body, &vars).await {
            Ok(id) => StepOut::done(format!("ticket {id} created"))
                .verified(format!("HTTP 2xx, ticket id {id}"))
                .with("ticket_id", id.0)
                .with("idempotency_key", key),
            Err(e @ (E::Token { .. } | E::Template(_) | E::Status { .. })) => {
                StepOut::failed(e.to_string()).with("idempotency_key", key)
            }
            // Sent, perhaps received: a second post could open a second ticket.
            Err(e) => StepOut::unknown(format!(
                "{e}; the ticket may exist: resume asks to check the ticket system"
            ))
            .with("idempotency_key", key),
        }
    }
}

/// The two addresses of a DNS step.
fn ips(old: &str, new: &str) -> Result<(IpAddr, IpAddr), String> {
    let p = |s: &str| {
        s.parse::<IpAddr>().map_err(|_| {
            format!(
                "{:?} is not an IP address: a DNS record needs one (set the hosts' \
                 public_address)",
                sanitize(s)
            )
        })
    };
    Ok((p(old)?, p(new)?))
}
