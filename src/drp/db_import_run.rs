//! Running an import (see the parent module): its detached job, the progress read from the
//! job's output, and the postcondition read from the database's mark.

use super::parse::{CaptureSource, ImportLog, ImportPhase, capture_line, parse_log};
use super::{CHECK_FIRST_BYTE, CHECK_TOTAL, ImportError, ImportSpec, JOB_PHASE};
use crate::drp::job::{self, JobId, JobState, JobStatus, Launch};
use crate::ssh::Pool;
use serde::Serialize;

/// What a finished import left: the engine journals every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportResult {
    /// The verify query's answer (sanitised, at most 2000 bytes).
    pub verify_output: String,
    /// When the imported data was captured: the data an activation loses is everything after.
    pub captured_at: Option<jiff::Timestamp>,
    pub captured_by: CaptureSource,
    /// How a pg_dump archive's capture time was read: "the archive's wall clock 2026-11-28
    /// 23:00:00 read in Europe/Paris (standard time, as its header says); in UTC it would be
    /// after the dump file was written (…)", or why the plan's was taken instead. `None`: no
    /// archive header (the plan's capture time, or none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captured_note: Option<String>,
    /// The database now holding the import: the live name (in a drill, the drill database).
    pub database: String,
    /// The previous live database, kept under this name (`None`: there was none, or a drill).
    pub previous: Option<String>,
    /// The dump's sha256, as fetched and checked.
    pub sha256: Option<String>,
}

/// The import's job as last read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProgress {
    pub state: JobState,
    /// The last phase the job reached (`None`: not started, or nothing printed yet).
    pub phase: Option<ImportPhase>,
    /// The operator's log lines from the offset asked for on (sanitised).
    pub lines: Vec<String>,
    /// Where the next poll should start.
    pub next_offset: u64,
    /// The job's own explanation, when it stopped on an error.
    pub error: Option<String>,
    /// When it ended well and reported its result.
    pub result: Option<ImportResult>,
    /// The whole job's directory on the target (for the journal).
    pub dir: String,
}

impl ImportProgress {
    /// One line for the operator: "restoring (running for 3 min 12 s)", "done: app holds the
    /// import, previous kept as app_before_…", "failed: …".
    pub fn summary(&self) -> String {
        if let Some(r) = &self.result {
            return match &r.previous {
                Some(p) => format!(
                    "done: {} holds the import, the previous one kept as {p}",
                    r.database
                ),
                None => format!("done: {} holds the import", r.database),
            };
        }
        let phase = self.phase.map_or("starting", ImportPhase::word);
        match (&self.state, &self.error) {
            (_, Some(e)) => format!("failed while {phase}: {e}"),
            (JobState::Running { .. }, None) => format!("{phase} ({})", self.state.summary()),
            (state, None) => format!("{phase}: {}", state.summary()),
        }
    }
}

/// Starts the import's job on the target host, unless it already exists (then only its
/// status is returned: an import is never started twice by one job id). A retry after a
/// failed or vanished attempt is a new attempt of the step ([`JobId::new`]): it goes on from
/// what the previous one left.
pub async fn start(
    pool: &Pool,
    spec: &ImportSpec,
    id: &JobId,
) -> Result<(Launch, JobStatus), ImportError> {
    let job = id.with_phase(JOB_PHASE)?;
    let script = spec.script("import", id.run_id())?;
    Ok(job::start(pool, spec.to(), &job, &script).await?)
}

/// The job's state, its log lines from `offset`, its phase, and once it ended well, its
/// result. The output is short (the tools' output is cut to tails): it is read whole each
/// time, so that the phase and the result never depend on where the console stopped reading.
pub async fn poll(
    pool: &Pool,
    spec: &ImportSpec,
    id: &JobId,
    offset: u64,
) -> Result<ImportProgress, ImportError> {
    let job = id.with_phase(JOB_PHASE)?;
    let host = spec.to();
    let mut st = job::status(pool, host, &job, 0).await?;
    let mut data = std::mem::take(&mut st.output.data);
    // Up to 1 MiB, for a job whose tools said far more than expected.
    while st.output.from + (data.len() as u64) < st.output.len && data.len() < (1 << 20) {
        let more = job::status(pool, host, &job, data.len() as u64).await?;
        if more.output.data.is_empty() {
            break;
        }
        data.extend_from_slice(&more.output.data);
    }
    Ok(progress(spec, id.run_id(), &st, &data, offset))
}

/// The progress read from a job's status and its whole output `data` (pure).
pub fn progress(
    spec: &ImportSpec,
    run_id: &str,
    st: &JobStatus,
    data: &[u8],
    offset: u64,
) -> ImportProgress {
    let finished = st.state.is_finished();
    // Complete lines only while it runs: a line cut by the read comes back whole next time.
    let end = if finished {
        data.len()
    } else {
        data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
    };
    let text = String::from_utf8_lossy(data.get(..end).unwrap_or_default()).into_owned();
    let log = parse_log(&text);
    let new_from = usize::try_from(offset).unwrap_or(usize::MAX).min(end);
    let fresh = String::from_utf8_lossy(data.get(new_from..end).unwrap_or_default()).into_owned();
    let fresh = parse_log(&fresh);
    let mut lines = fresh.lines;
    // The capture time an archive's header gives depends on the site's zone: decided here.
    if let (Some(i), Some(facts)) = (fresh.archive_line, &fresh.archive) {
        let c = facts.capture(spec.site_zone(), spec.captured_hint);
        lines.insert(i.min(lines.len()), capture_line(&c));
    }
    let result = match st.state {
        JobState::Exited { rc: 0 } if log.phase == Some(ImportPhase::Done) => {
            result_of(spec, run_id, &log)
        }
        _ => None,
    };
    let error = log.error.clone().or_else(|| match st.state {
        JobState::Exited { rc } if rc != 0 && log.error.is_none() => Some(format!(
            "the import job {} without saying why",
            st.state.summary()
        )),
        JobState::Vanished { ref why } => Some(format!("the import job vanished: {why}")),
        JobState::Exited { rc: 0 } if result.is_none() => {
            Some("the import job ended without its report".into())
        }
        _ => None,
    });
    ImportProgress {
        state: st.state.clone(),
        phase: log.phase,
        lines,
        next_offset: end as u64,
        error,
        result,
        dir: st.dir.clone(),
    }
}

/// The result in a log whose mark says this run's verified import.
fn result_of(spec: &ImportSpec, run_id: &str, log: &ImportLog) -> Option<ImportResult> {
    let mark = log
        .mark
        .as_ref()
        .filter(|m| m.run == run_id && m.is_verified())?;
    let database = log.database.clone()?;
    if database != spec.database {
        return None;
    }
    // With an archive's header, the mark's capture time is only the plan's (the fallback).
    let (captured_at, captured_by, captured_note) = match &mark.archive {
        Some(facts) => {
            let hint = mark
                .captured_at
                .filter(|_| mark.captured_by == CaptureSource::Backup);
            let c = facts.capture(spec.site_zone(), hint);
            (c.at, c.by, Some(c.note))
        }
        None => (mark.captured_at, mark.captured_by, None),
    };
    Some(ImportResult {
        verify_output: mark.verify.clone().unwrap_or_default(),
        captured_at,
        captured_by,
        captured_note,
        database,
        previous: if spec.drill {
            None
        } else {
            log.previous.clone()
        },
        sha256: mark.sha256.clone(),
    })
}

/// Is the step done? `Some`: the live database (in a drill, the drill database) is this
/// run's verified import, with what the engine journals; `None`: it is not (yet). Reads
/// the mark on the target with one short exec (for resume: never re-run blindly).
pub async fn postcondition(
    pool: &Pool,
    spec: &ImportSpec,
    run_id: &str,
) -> Result<Option<ImportResult>, ImportError> {
    let host = spec.to();
    let script = spec.script("check", run_id)?;
    let ssh = |source| ImportError::Ssh {
        host: host.to_string(),
        source: Box::new(source),
    };
    let Some(out) = job::exec_once(pool, host, script.as_bytes(), CHECK_FIRST_BYTE, CHECK_TOTAL)
        .await
        .map_err(ssh)?
    else {
        return Err(ImportError::Reply {
            host: host.into(),
            detail: format!("no complete answer within {} s", CHECK_TOTAL.as_secs()),
        });
    };
    check_answer(spec, run_id, &String::from_utf8_lossy(&out.stdout)).map_err(|e| match e {
        Err(message) => ImportError::Remote {
            host: host.into(),
            message,
        },
        Ok(detail) => {
            let stderr = crate::probe::parse::clean(&String::from_utf8_lossy(&out.stderr), 200);
            ImportError::Reply {
                host: host.into(),
                detail: if stderr.is_empty() {
                    detail
                } else {
                    format!("{detail} (stderr: {stderr})")
                },
            }
        }
    })
}

/// Reads a check's answer (pure): `Err(Err(message))` when the script stopped on an error,
/// `Err(Ok(detail))` when the answer is not the script's.
pub fn check_answer(
    spec: &ImportSpec,
    run_id: &str,
    text: &str,
) -> Result<Option<ImportResult>, Result<String, String>> {
    let log = parse_log(text);
    if let Some(e) = log.error {
        return Err(Err(e));
    }
    if log.live.is_none() || log.database.is_none() {
        return Err(Ok("no state of the database in the answer".into()));
    }
    Ok(result_of(spec, run_id, &log))
}
