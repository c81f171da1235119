//! Detached remote jobs: a step's long command (a copy, an import, an `exec` step) runs on its
//! host in its own session, outliving the SSH connection that started it, the console and the
//! operator's dropped session. The engine finds it again by its [`JobId`] and never starts it
//! twice: [`start`] on an existing job only reports it.
//!
//! Every operation is one exec of `job.sh` over Vigie's own SSH connection (`sh -s`, the
//! parameters as single-quoted assignments on stdin, never on the command line). A job lives in
//! `$HOME/.local/state/vigie/jobs/HOST/RUN/STEP-ATTEMPT-PHASE/` on its host (see job.sh for the
//! files and why not `$XDG_STATE_HOME`); `HOST` is the `[[hosts]]` name, so that hosts sharing a
//! home directory (NFS, or the lab's namespaces) never see each other's jobs.
//!
//! Limits: a host whose systemd-logind kills a session's processes when it ends
//! (`KillUserProcesses=yes`, not the default on Debian or RHEL) kills the job too: `setsid`
//! leaves the session, not its cgroup; the job is then reported [`JobState::Vanished`].

use crate::ssh::{ExecOutput, Pool, SshError};
use std::fmt::Write as _;
use std::time::Duration;

/// `s` as one word for a POSIX shell, quoted only when needed: for the command lines shown to
/// the operator (copy, import), never for what runs.
pub(crate) fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,+@%".contains(&b))
    {
        s.to_string()
    } else {
        crate::probe::sh_quote(s).unwrap_or_default()
    }
}

/// The remote side, sent after the assignments.
pub const SCRIPT: &str = include_str!("job.sh");

/// The remote command line, the same as the probe's: every word fixed.
pub const COMMAND: &str = crate::probe::COMMAND;

/// At most this many bytes of a job's output per call: a console tailing a 3-hour copy reads
/// it in steps, never the whole log at once.
pub const CHUNK: u64 = 64 * 1024;

/// Bounds of one operation. A start waits up to ~3 s for the wrapper to write its pid, a
/// cancel up to ~5 s for the job to end; a status is immediate.
const FIRST_BYTE: Duration = Duration::from_secs(10);
const TOTAL: Duration = Duration::from_secs(30);

/// Which job: a step of a run, one attempt of it, one phase of that attempt (a copy has a
/// `preview`, a `copy` and a `verify`; an `exec` step a `run` and a `verify`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobId {
    run_id: String,
    step: u32,
    attempt: u32,
    phase: String,
}

impl JobId {
    /// Phase `run`. `run_id`: letters, digits, `.`, `_`, `-` (it names a directory).
    pub fn new(run_id: &str, step: u32, attempt: u32) -> Result<JobId, JobError> {
        if !is_word(run_id) || run_id.len() > 80 {
            return Err(JobError::BadId(format!(
                "run id {run_id:?}: expected 1 to 80 ASCII letters, digits, `.`, `_` or `-`"
            )));
        }
        Ok(JobId {
            run_id: run_id.to_string(),
            step,
            attempt,
            phase: "run".into(),
        })
    }

    /// The same step and attempt, another phase (lowercase ASCII letters).
    pub fn with_phase(&self, phase: &str) -> Result<JobId, JobError> {
        if phase.is_empty() || phase.len() > 20 || !phase.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(JobError::BadId(format!(
                "phase {phase:?}: expected 1 to 20 lowercase letters"
            )));
        }
        Ok(JobId {
            phase: phase.to_string(),
            ..self.clone()
        })
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }
    pub fn step(&self) -> u32 {
        self.step
    }
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    pub fn phase(&self) -> &str {
        &self.phase
    }

    /// The job's directory under the jobs root of `host`.
    pub fn rel_dir(&self, host: &str) -> Result<String, JobError> {
        if !is_host_word(host) {
            return Err(JobError::BadId(format!(
                "host name {host:?} cannot name a job directory"
            )));
        }
        Ok(format!(
            "{host}/{}/{}-{}-{}",
            self.run_id, self.step, self.attempt, self.phase
        ))
    }
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} step {} attempt {} {}",
            self.run_id, self.step, self.attempt, self.phase
        )
    }
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `[[hosts]]` names: letters (any script), digits, `.`, `_`, `-` (config::fields).
fn is_host_word(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.len() <= 255
        && s.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    BadId(String),
    #[error("{host}: {source}")]
    Ssh { host: String, source: Box<SshError> },
    #[error("{host}: job {job}: {message}")]
    Remote {
        host: String,
        job: String,
        message: String,
    },
    #[error("{host}: job {job}: unexpected answer from the job script: {detail}")]
    Reply {
        host: String,
        job: String,
        detail: String,
    },
}

/// Where a job stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// No such job on the host.
    NotStarted,
    /// Its wrapper is alive (same pid, same start time).
    Running { pid: u32, elapsed: Duration },
    /// It ended: the script's exit status, 128+N when signal N killed it.
    Exited { rc: i32 },
    /// Neither running nor ended with a status: the host rebooted, or the wrapper itself was
    /// killed with SIGKILL. Whether the step's work was done is unknown: the engine re-checks
    /// the step's postcondition, it never re-runs blindly.
    Vanished { why: String },
}

impl JobState {
    /// One short line for the operator: "running for 3 min 12 s", "exit 0", "killed by
    /// signal 15 (exit 143)", "vanished: the host rebooted since the job started".
    pub fn summary(&self) -> String {
        match self {
            JobState::NotStarted => "not started".into(),
            JobState::Running { elapsed, .. } => format!("running for {}", span(*elapsed)),
            JobState::Exited { rc } if (129..=192).contains(rc) => {
                format!("killed by signal {} (exit {rc})", rc - 128)
            }
            JobState::Exited { rc } => format!("exit {rc}"),
            JobState::Vanished { why } => format!("vanished: {why}"),
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self, JobState::Exited { .. } | JobState::Vanished { .. })
    }
}

/// "42 s", "3 min 12 s", "2 h 05 min".
pub fn span(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

/// A piece of a job's output (its stdout and stderr, as one file).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// Offset of `data` in the output.
    pub from: u64,
    /// Raw bytes: untrusted remote text, see [`Output::lines`] before showing any.
    pub data: Vec<u8>,
    /// The output's whole length when read (it may have grown since).
    pub len: u64,
}

impl Output {
    /// Where the next read should start to get what follows, never what came before.
    pub fn next_offset(&self) -> u64 {
        self.from + self.data.len() as u64
    }

    /// More was there than one chunk.
    pub fn behind(&self) -> bool {
        self.next_offset() < self.len
    }

    /// The complete lines of `data`, safe to show (no control character or escape sequence;
    /// rsync's carriage-return-separated progress records count as lines), and the offset
    /// just past the last line end, where the next read should start so that a line cut by
    /// the chunk's end comes back whole. A chunk without any line end (a very long line) is
    /// taken whole.
    pub fn lines(&self) -> (Vec<String>, u64) {
        let end = match self.data.iter().rposition(|&b| b == b'\n' || b == b'\r') {
            Some(i) => i + 1,
            None if self.data.len() as u64 >= CHUNK => self.data.len(),
            None => 0,
        };
        let text = String::from_utf8_lossy(self.data.get(..end).unwrap_or_default());
        let lines = text
            .split(['\n', '\r'])
            .filter(|l| !l.trim().is_empty())
            .map(crate::text::sanitize)
            .collect();
        (lines, self.from + end as u64)
    }
}

/// What a job operation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobStatus {
    pub state: JobState,
    /// The job's directory on the host (for the operator and the journal).
    pub dir: String,
    /// When it started, by the host's clock (epoch seconds).
    pub started: Option<i64>,
    pub output: Output,
}

/// Whether [`start`] launched the job or found it already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    Started,
    AlreadyThere,
}

/// Starts `script` (run by `/bin/sh`) as job `id` on `host`, detached, unless that job already
/// exists: then nothing is started and its status is returned. Two consoles racing cannot
/// both start it (the job directory's `mkdir` is the claim). After an error (a connection
/// lost before the answer), the job may or may not have started: call `start` again, which
/// says which.
pub async fn start(
    pool: &Pool,
    host: &str,
    id: &JobId,
    script: &str,
) -> Result<(Launch, JobStatus), JobError> {
    let quoted = crate::probe::sh_quote(script)
        .ok_or_else(|| JobError::BadId(format!("job {id}: the script holds a NUL byte")))?;
    let reply = op(
        pool,
        host,
        id,
        "start",
        &[("J_SCRIPT", quoted), ("J_MAX", CHUNK.to_string())],
    )
    .await?;
    let launch = match reply.new {
        Some(true) => Launch::Started,
        Some(false) => Launch::AlreadyThere,
        None => return Err(reply_error(host, id, "no `new` line after a start")),
    };
    Ok((launch, reply.status))
}

/// The job's state and its output from byte `from_offset` (at most [`CHUNK`] bytes).
pub async fn status(
    pool: &Pool,
    host: &str,
    id: &JobId,
    from_offset: u64,
) -> Result<JobStatus, JobError> {
    let extra = [
        ("J_FROM", from_offset.to_string()),
        ("J_MAX", CHUNK.to_string()),
    ];
    Ok(op(pool, host, id, "status", &extra).await?.status)
}

/// The job's state and the last `last_bytes` of its output (at most [`CHUNK`]): the latest
/// progress record of a long copy, without reading what came before.
pub async fn status_tail(
    pool: &Pool,
    host: &str,
    id: &JobId,
    last_bytes: u64,
) -> Result<JobStatus, JobError> {
    let last = last_bytes.clamp(1, CHUNK);
    let extra = [("J_LAST", last.to_string()), ("J_MAX", CHUNK.to_string())];
    Ok(op(pool, host, id, "status", &extra).await?.status)
}

/// SIGTERM to the job's process group (the job and everything it started: rsync and its
/// ssh), then its status after up to ~5 s. A job that is not running is left alone.
pub async fn cancel(pool: &Pool, host: &str, id: &JobId) -> Result<JobStatus, JobError> {
    let extra = [("J_FROM", "0".to_string()), ("J_MAX", "0".to_string())];
    Ok(op(pool, host, id, "cancel", &extra).await?.status)
}

/// The stdin of one operation: the assignments, then the script. `extra` values must already
/// be shell words (quoted, or digits).
pub fn stdin(
    host: &str,
    id: &JobId,
    op: &str,
    extra: &[(&str, String)],
) -> Result<Vec<u8>, JobError> {
    let rel = id.rel_dir(host)?;
    let rel = crate::probe::sh_quote(&rel)
        .ok_or_else(|| JobError::BadId(format!("job {id}: NUL byte in its directory")))?;
    let mut text = format!("J_OP='{op}'\nJ_REL={rel}\nJ_FROM=0\nJ_LAST=0\n");
    for (k, v) in extra {
        let _ = writeln!(text, "{k}={v}");
    }
    text.push_str(SCRIPT);
    Ok(text.into_bytes())
}

/// One exec of [`COMMAND`] on `host` with `input` on its standard input. `Ok(None)`: no
/// complete answer within `total`. A failed or cut exec drops the pooled connection: its state
/// is unknown, the next call connects again.
pub(crate) async fn exec_once(
    pool: &Pool,
    host: &str,
    input: &[u8],
    first_byte: Duration,
    total: Duration,
) -> Result<Option<ExecOutput>, SshError> {
    let (conn, _) = pool.get(host).await?;
    match conn.exec(COMMAND, input, first_byte, total).await {
        Ok(out) if !out.timed_out => Ok(Some(out)),
        Ok(_) => {
            pool.drop_connection(host).await;
            Ok(None)
        }
        Err(e) => {
            pool.drop_connection(host).await;
            Err(e)
        }
    }
}

async fn op(
    pool: &Pool,
    host: &str,
    id: &JobId,
    op: &str,
    extra: &[(&str, String)],
) -> Result<Reply, JobError> {
    let input = stdin(host, id, op, extra)?;
    let ssh = |source| JobError::Ssh {
        host: host.to_string(),
        source: Box::new(source),
    };
    let Some(out) = exec_once(pool, host, &input, FIRST_BYTE, TOTAL)
        .await
        .map_err(ssh)?
    else {
        return Err(JobError::Reply {
            host: host.into(),
            job: id.to_string(),
            detail: format!("no complete answer within {} s", TOTAL.as_secs()),
        });
    };
    parse_reply(&out.stdout).map_err(|e| match e {
        ReplyError::Remote(message) => JobError::Remote {
            host: host.into(),
            job: id.to_string(),
            message,
        },
        ReplyError::Shape(detail) => {
            let stderr = crate::probe::parse::clean(&String::from_utf8_lossy(&out.stderr), 200);
            let detail = if stderr.is_empty() {
                detail
            } else {
                format!("{detail} (stderr: {stderr})")
            };
            reply_error(host, id, &detail)
        }
    })
}

fn reply_error(host: &str, id: &JobId, detail: &str) -> JobError {
    JobError::Reply {
        host: host.into(),
        job: id.to_string(),
        detail: detail.into(),
    }
}

/// One answer of job.sh, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// After a start: whether this call launched the job.
    pub new: Option<bool>,
    pub status: JobStatus,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// job.sh said what went wrong (`error ...`), sanitised.
    Remote(String),
    /// Not job.sh's answer, or cut short.
    Shape(String),
}

/// Reads job.sh's answer: header lines up to `data`, then the raw output bytes. Pure; never
/// panics. Fields come only from the header: the output that follows cannot forge one.
pub fn parse_reply(bytes: &[u8]) -> Result<Reply, ReplyError> {
    let shape = |s: &str| ReplyError::Shape(s.to_string());
    let mut rest = bytes;
    let mut first = true;
    let mut fields: Vec<(String, String)> = Vec::new();
    loop {
        let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
            if first {
                return Err(shape("empty or not from job.sh"));
            }
            // An error ends the answer before `data`.
            if let Some((_, m)) = fields.iter().find(|(k, _)| k == "error") {
                return Err(ReplyError::Remote(crate::probe::parse::clean(m, 300)));
            }
            return Err(shape("cut short before the output"));
        };
        let line = String::from_utf8_lossy(rest.get(..nl).unwrap_or_default()).into_owned();
        rest = rest.get(nl + 1..).unwrap_or_default();
        if first {
            if line != "vigie-job 1" {
                return Err(shape("not an answer of job.sh"));
            }
            first = false;
            continue;
        }
        if line == "data" {
            break;
        }
        let (k, v) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        if k == "error" {
            return Err(ReplyError::Remote(crate::probe::parse::clean(v, 300)));
        }
        fields.push((k.to_string(), v.to_string()));
    }
    let get = |k: &str| {
        fields
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let num = |k: &str| get(k).and_then(|v| v.trim().parse::<i64>().ok());
    let state = match get("state") {
        Some("none") => JobState::NotStarted,
        Some("running") => {
            let pid = get("pid")
                .and_then(|p| p.trim().parse::<u32>().ok())
                .ok_or_else(|| shape("a running job without a pid"))?;
            let elapsed = match (num("started"), num("now")) {
                (Some(s), Some(n)) if n >= s => Duration::from_secs((n - s) as u64),
                _ => Duration::ZERO,
            };
            JobState::Running { pid, elapsed }
        }
        Some("exited") => {
            let rc = get("rc")
                .and_then(|r| r.trim().parse::<i32>().ok())
                .ok_or_else(|| shape("an ended job without a readable exit status"))?;
            JobState::Exited { rc }
        }
        Some("vanished") => JobState::Vanished {
            why: crate::probe::parse::clean(get("why").unwrap_or("no exit status"), 200),
        },
        _ => return Err(shape("no state")),
    };
    let len = num("len").and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    let from = num("from").and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    let new = match get("new") {
        Some("1") => Some(true),
        Some("0") => Some(false),
        _ => None,
    };
    Ok(Reply {
        new,
        status: JobStatus {
            state,
            dir: crate::probe::parse::clean(get("dir").unwrap_or(""), 500),
            started: num("started"),
            output: Output {
                from,
                data: rest.to_vec(),
                len,
            },
        },
    })
}

#[cfg(test)]
#[path = "job_tests.rs"]
mod tests;
