//! The steps whose work runs detached on a host (`exec`, `copy`): started under the step's
//! job id, followed to their end, re-attached to on resume (the same id never starts twice).

use super::remote;
use super::{DRY_RUN_WITHIN, LOST_AFTER, POLL, Runner, StepOut, VERIFY_WITHIN};
use crate::drp::copy::{self, Phase, Progress};
use crate::drp::engine::{RunUpdate, send};
use crate::drp::job::{self, JobId, JobState, Launch};
use crate::drp::journal::StepState;
use crate::drp::model::{Endpoint, PlanStep};
use crate::text::sanitize;
use jiff::Timestamp;
use serde_json::json;
use std::time::{Duration, Instant};

impl Runner<'_> {
    // -----------------------------------------------------------------------------------------
    // exec

    pub(super) async fn exec(
        &mut self,
        n: usize,
        host: &str,
        command: &str,
        verify: Option<&str>,
        timeout_s: u64,
    ) -> StepOut {
        let id = match JobId::new(&self.run.id, n as u32, 1) {
            Ok(id) => id,
            Err(e) => return StepOut::failed(e.to_string()),
        };
        let rc = match self
            .job(
                n,
                host,
                &id,
                &remote::login_shell(command),
                Duration::from_secs(timeout_s),
            )
            .await
        {
            Ok(rc) => rc,
            Err(out) => return out,
        };
        if rc != 0 {
            return StepOut::failed(format!("{host}: the command ended with exit {rc}"))
                .code(rc.into());
        }
        let Some(verify) = verify else {
            return StepOut::done(format!("{host}: exit 0")).code(0);
        };
        let vid = match id.with_phase("verify") {
            Ok(v) => v,
            Err(e) => return StepOut::failed(e.to_string()),
        };
        match self
            .job(n, host, &vid, &remote::login_shell(verify), VERIFY_WITHIN)
            .await
        {
            Ok(0) => StepOut::done(format!("{host}: exit 0, verified"))
                .code(0)
                .verified("verify command: exit 0"),
            Ok(v) => StepOut::failed(format!(
                "{host}: the command ended with exit 0 but its verification with exit {v}"
            ))
            .code(0)
            .verified(format!("verify command: exit {v}")),
            Err(out) => out.code(0),
        }
    }

    /// Starts (or re-attaches to) a detached job and follows it to its end: its exit status,
    /// or the step's end (timeout: FAILED after cancelling; host lost: UNKNOWN).
    async fn job(
        &mut self,
        n: usize,
        host: &str,
        id: &JobId,
        script: &str,
        timeout: Duration,
    ) -> Result<i32, StepOut> {
        let pool = &self.e.pool;
        let (launch, mut st) = job::start(pool, host, id, script).await.map_err(|e| {
            StepOut::unknown(format!(
                "the job could not be started or confirmed on {host}: {e}; resume checks it"
            ))
        })?;
        match launch {
            Launch::Started => self.say(n, format!("started, detached on {host} ({})", st.dir)),
            Launch::AlreadyThere => self.say(
                n,
                format!("re-attached to the job on {host}: {}", st.state.summary()),
            ),
        }
        let mut offset = 0;
        let mut lost_since: Option<Instant> = None;
        loop {
            let (lines, next) = st.output.lines();
            if !lines.is_empty() {
                send(Some(self.tx), RunUpdate::Log { n, lines });
            }
            offset = next.max(offset);
            match &st.state {
                JobState::Exited { rc } => return Ok(*rc),
                JobState::Vanished { why } => {
                    return Err(StepOut::unknown(format!(
                        "the job on {host} vanished ({why}): whether it did its work is unknown"
                    )));
                }
                JobState::NotStarted => {
                    return Err(StepOut::unknown(format!("the job on {host} is not there")));
                }
                JobState::Running { elapsed, .. } => {
                    if *elapsed > timeout {
                        let _ = job::cancel(pool, host, id).await;
                        return Err(StepOut::failed(format!(
                            "{host}: did not end within {}: cancelled",
                            job::span(timeout)
                        )));
                    }
                    send(
                        Some(self.tx),
                        RunUpdate::Progress {
                            n,
                            fraction: None,
                            rate: None,
                            eta: None,
                            summary: st.state.summary(),
                        },
                    );
                }
            }
            tokio::time::sleep(POLL).await;
            match job::status(pool, host, id, offset).await {
                Ok(s) => {
                    lost_since = None;
                    st = s;
                }
                Err(e) => {
                    let since = *lost_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > LOST_AFTER {
                        return Err(StepOut::unknown(format!(
                            "lost sight of the job on {host} ({e}); it may still be running: \
                             resume re-attaches to it"
                        )));
                    }
                }
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // copy

    pub(super) async fn copy(&mut self, step: &PlanStep, from: &Endpoint) -> StepOut {
        let n = step.number;
        let pool = self.e.pool.clone();
        let spec = match remote::copy_spec(&self.e.config, &step.step) {
            Ok(s) => s,
            Err(e) => return StepOut::failed(e),
        };
        let id = match JobId::new(&self.run.id, n as u32, 1) {
            Ok(id) => id,
            Err(e) => return StepOut::failed(e.to_string()),
        };
        // The backup copied, journaled as `backup`: the journal's own `source` field is the
        // source as `host:/path` text, and an object under that name made the whole line
        // unreadable to the engine, so that a resume took a done copy for a running one.
        let mut backup = None;
        if let Some(b) = &from.backup {
            let age = Timestamp::now().as_second() - b.captured_at.as_second();
            backup = Some(json!({
                "dataset": b.dataset, "host": b.host.name, "path": b.path,
                "captured_at": b.captured_at.to_string(), "age_s": age.max(0),
            }));
            self.say(
                n,
                format!(
                    "source: the newest good backup of {} on {}, captured {} ({} old)",
                    sanitize(&b.dataset),
                    b.host,
                    super::super::guards::in_zone(b.captured_at, &self.plan.timezone),
                    crate::backup::evaluate::human(age.max(0) as u64)
                ),
            );
        }
        self.say(n, format!("preview: {}", spec.command_line(Phase::Preview)));
        let pre = match copy::dry_run(&pool, &spec, &id, Phase::Preview, DRY_RUN_WITHIN).await {
            Ok(p) => p,
            Err(e) => return StepOut::failed(format!("preview: {e}")).with_backup(backup),
        };
        let report = match (&pre.report, pre.rc) {
            (Ok(r), 0) => r.clone(),
            (Ok(r), rc) => {
                return StepOut::failed(format!(
                    "preview: rsync {}{}",
                    copy::exit_meaning(rc),
                    r.first_error()
                ))
                .code(rc.into())
                .with_backup(backup);
            }
            (Err(e), rc) => {
                return StepOut::failed(format!("preview: rsync {}: {e}", copy::exit_meaning(rc)))
                    .code(rc.into())
                    .with_backup(backup);
            }
        };
        let preview = json!({
            "summary": report.summary(), "files": report.to_transfer, "bytes": report.bytes,
            "deletions": report.deletions, "created": report.created,
            "created_dirs": report.created_dirs,
            "sample_deletions": report.sample_deletions,
        });
        self.say(n, format!("preview: {}", report.summary()));
        // The preview is journaled before the copy starts.
        let mut ev = self
            .run
            .step(step, StepState::Running, Timestamp::now())
            .with("preview", preview.clone());
        if let Some(b) = &backup {
            ev = ev.with("backup", b.clone());
        }
        if let Err(why) = self.e.append(&ev) {
            return StepOut::unknown(why);
        }
        match copy::start(&pool, &spec, &id, Phase::Copy).await {
            Ok((Launch::Started, st)) => self.say(
                n,
                format!("copy started on {} ({})", spec.runs_on(), st.dir),
            ),
            Ok((Launch::AlreadyThere, st)) => self.say(
                n,
                format!(
                    "re-attached to the copy on {}: {}",
                    spec.runs_on(),
                    st.state.summary()
                ),
            ),
            Err(e) => {
                return StepOut::unknown(format!(
                    "the copy could not be started or confirmed: {e}; resume checks it"
                ))
                .with("preview", preview)
                .with_backup(backup);
            }
        }
        let mut progress = Progress::from_preview(&report);
        let mut best = 0.0f64;
        let mut lost_since: Option<Instant> = None;
        let rc = loop {
            match copy::poll_progress(&pool, &spec, &id, &mut progress).await {
                Ok(st) => {
                    lost_since = None;
                    let f = progress.fraction().map(|f| {
                        best = best.max(f);
                        best
                    });
                    send(
                        Some(self.tx),
                        RunUpdate::Progress {
                            n,
                            fraction: f,
                            rate: progress.rate(),
                            eta: progress.eta(),
                            summary: progress.summary(),
                        },
                    );
                    match st.state {
                        JobState::Exited { rc } => break rc,
                        JobState::Running { .. } => {}
                        other => {
                            return StepOut::unknown(format!(
                                "the copy job on {}: {}",
                                spec.runs_on(),
                                other.summary()
                            ))
                            .with("preview", preview)
                            .with_backup(backup);
                        }
                    }
                }
                Err(e) => {
                    let since = *lost_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > LOST_AFTER {
                        return StepOut::unknown(format!(
                            "lost sight of the copy ({e}); it may still be running: resume \
                             re-attaches to it"
                        ))
                        .with("preview", preview)
                        .with_backup(backup);
                    }
                }
            }
            tokio::time::sleep(POLL).await;
        };
        if rc != 0 {
            let tail = match job::status_tail(
                &pool,
                spec.runs_on(),
                &id.with_phase("copy").unwrap_or(id.clone()),
                4096,
            )
            .await
            {
                Ok(st) => copy::errors(&String::from_utf8_lossy(&st.output.data))
                    .first()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default(),
                Err(_) => String::new(),
            };
            return StepOut::failed(format!("copy: rsync {}{tail}", copy::exit_meaning(rc)))
                .code(rc.into())
                .with("preview", preview)
                .with_backup(backup);
        }
        let copied = progress.summary();
        self.say(n, format!("copied: {copied}; verifying (second dry run)"));
        let out = match copy::dry_run(&pool, &spec, &id, Phase::Verify, DRY_RUN_WITHIN).await {
            Ok(v) => match v.verified() {
                Ok(()) => StepOut::done(format!("{copied}; second dry run: no change"))
                    .verified("second dry run: no change"),
                Err(why) => StepOut::failed(format!("verification: {why}"))
                    .verified(format!("second dry run: {why}")),
            },
            Err(e) => StepOut::failed(format!("verification: {e}")),
        };
        out.code(0)
            .with("preview", preview)
            .with_backup(backup)
            .with("bytes_copied", progress.bytes_done())
    }
}

impl StepOut {
    /// With the copied backup, when the source is one.
    fn with_backup(self, backup: Option<serde_json::Value>) -> StepOut {
        match backup {
            Some(b) => self.with("backup", b),
            None => self,
        }
    }
}

impl Runner<'_> {
    /// A database import (db_import.rs): the same job id on resume (never started twice);
    /// its mark on the target says whether it is done; the real capture time is journaled.
    pub(super) async fn db_import(&mut self, step: &PlanStep, resumed: bool) -> StepOut {
        use crate::drp::db_import::{self, ImportSpec};
        let n = step.number;
        let pool = self.e.pool.clone();
        let transfer = self
            .e
            .config
            .drp
            .as_ref()
            .map_or("ssh", |d| d.transfer_ssh.as_str());
        let spec = match ImportSpec::from_plan(step, self.plan.mode, transfer) {
            // The archive's wall clock is read in the site's zone among others (db_import_clock).
            Ok(s) => s.with_site_zone(&self.plan.timezone),
            Err(e) => return StepOut::failed(e.to_string()),
        };
        let id = match JobId::new(&self.run.id, n as u32, 1) {
            Ok(id) => id,
            Err(e) => return StepOut::failed(e.to_string()),
        };
        // Resumed: done already (its mark says so)? Then nothing is run again.
        if resumed && let Ok(Some(r)) = db_import::postcondition(&pool, &spec, &self.run.id).await {
            self.say(
                n,
                "the import was already done and verified (its mark says so)",
            );
            return self.imported(r);
        }
        match db_import::start(&pool, &spec, &id).await {
            Ok((Launch::Started, st)) => {
                self.say(n, format!("import started on {} ({})", spec.to(), st.dir))
            }
            Ok((Launch::AlreadyThere, st)) => self.say(
                n,
                format!(
                    "re-attached to the import on {}: {}",
                    spec.to(),
                    st.state.summary()
                ),
            ),
            Err(e) => {
                return StepOut::unknown(format!(
                    "the import could not be started or confirmed: {e}; resume checks it"
                ));
            }
        }
        let mut offset = 0;
        let mut lost_since: Option<Instant> = None;
        loop {
            match db_import::poll(&pool, &spec, &id, offset).await {
                Ok(p) => {
                    lost_since = None;
                    offset = p.next_offset.max(offset);
                    if !p.lines.is_empty() {
                        send(
                            Some(self.tx),
                            RunUpdate::Log {
                                n,
                                lines: p.lines.clone(),
                            },
                        );
                    }
                    send(
                        Some(self.tx),
                        RunUpdate::Progress {
                            n,
                            fraction: None,
                            rate: None,
                            eta: None,
                            summary: p.summary(),
                        },
                    );
                    if let Some(r) = p.result {
                        return self.imported(r);
                    }
                    match (&p.state, p.error) {
                        (JobState::Vanished { why }, _) => {
                            return StepOut::unknown(format!(
                                "the import job on {} vanished ({why}): resume checks the database",
                                spec.to()
                            ));
                        }
                        (JobState::Exited { rc }, e) => {
                            return StepOut::failed(format!(
                                "{}: {}",
                                spec.to(),
                                e.unwrap_or_else(|| format!("the import ended with exit {rc}"))
                            ))
                            .code((*rc).into());
                        }
                        _ => {}
                    }
                }
                Err(e) => {
                    let since = *lost_since.get_or_insert_with(Instant::now);
                    if since.elapsed() > LOST_AFTER {
                        return StepOut::unknown(format!(
                            "lost sight of the import ({e}); it may still be running: resume \
                             re-attaches to it"
                        ));
                    }
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// A verified import: journaled with the real capture time of its data.
    fn imported(&mut self, r: crate::drp::db_import::ImportResult) -> StepOut {
        let tz = jiff::tz::TimeZone::get(&self.plan.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        let mut summary = match &r.previous {
            Some(p) => format!(
                "{} holds the import (the previous one kept as {p})",
                r.database
            ),
            None => format!("{} holds the import", r.database),
        };
        let mut out = StepOut::new(StepState::Done, String::new())
            .code(0)
            .verified(format!("verify query: {}", r.verify_output))
            .with("database", r.database.clone())
            .with("verify_output", r.verify_output.clone())
            .with("captured_by", r.captured_by.word());
        if let Some(note) = &r.captured_note {
            out = out.with("captured_note", sanitize(note));
        }
        if let Some(p) = &r.previous {
            out = out.with("previous", p.clone());
        }
        if let Some(s) = &r.sha256 {
            out = out.with("sha256", s.clone());
        }
        if let Some(c) = r.captured_at {
            let loss = Timestamp::now().as_second() - c.as_second();
            summary.push_str(&format!(
                "; data captured {} ({} before now)",
                c.to_zoned_datetime(tz.clone())
                    .strftime("%Y-%m-%d %H:%M:%S %Z"),
                crate::backup::evaluate::human(loss.max(0) as u64)
            ));
            self.captured_at = Some(c.to_string());
            out = out
                .with("captured_at", c.to_string())
                .with("data_loss_s", loss.max(0));
        }
        out.summary = sanitize(&summary);
        out
    }
}
