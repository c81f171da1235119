//! The `copy` step: rsync from one host to another, as detached jobs ([`super::job`]).
//!
//! Where it runs: on the TARGET host, pulling (`rsync -e TRANSFER_SSH source_host:path
//! target_path`). The receiving rsync then runs as Vigie's own SSH user on the target, whose
//! rights we know (root keeps owners and groups), and the job lives where the data lands (for
//! `activate`, the DRP host, which also holds the run's lock). Hosts reach each other with
//! `[drp] transfer_ssh`, by their `[[hosts]]` names (an ssh_config names them).
//!
//! Three phases, three jobs of the same step and attempt: `preview` (a dry run: files, bytes,
//! deletions), `copy` (the transfer, with progress) and `verify` (a second dry run that must
//! show no change). A dry run changes nothing, so the two dry runs can be redone at will; the
//! copy is started once (the job's claim), and a resumed console re-attaches to it.
//!
//! Trailing slashes (rsync's own rule, kept as written in the configuration): `host:/a/b/`
//! means the CONTENTS of b, mirrored into the target directory (`/srv/www/` then holds what
//! b holds); `host:/a/b` means b itself, copied INTO the target directory (`/srv/www/b`), or,
//! for a file (a dump), to the target path. With `--delete`, whatever is in the mirrored
//! directory and not in the source is removed: hence the refusal of shallow targets below.

use super::job::{self, JobError, JobId, JobState, JobStatus, Launch};
use super::model::HostPath;
use crate::probe::parse::{ParseError, clean};
use crate::ssh::Pool;
use std::time::Duration;

/// The flags of every phase, chosen for a DRP mirror:
/// - `-a`: recursion, symlinks, permissions, times, owner, group, devices;
/// - `-H`: hard links stay links (snapshot trees made with `cp -al` would double in size);
/// - `--numeric-ids`: owners by number, as production has them; a backup server often lacks
///   the site's users, and name mapping would hand files to whichever user has the name;
/// - `--delete`: the target becomes an exact mirror (no stale file served by the DRP);
/// - `-s` (`--protect-args`, 3.0+): paths travel inside the rsync protocol, never through
///   the source host's shell (spaces, quotes and `$` in names are safe);
/// - `--no-inc-recursive`: the whole file list first, so the totals are known and progress
///   does not go backwards as directories are discovered;
/// - `--partial-dir`: a transfer cut halfway keeps its partial files apart (a retry resumes
///   big files instead of starting over, and no half file sits under its real name);
/// - `--timeout=300`: a link that goes silent ends the job (exit 30) rather than hanging it
///   forever.
///
/// Not `-A`/`-X`: ACLs and extended attributes fail across filesystems and builds (exit 23
/// after a 3-hour copy), and SELinux labels (xattrs) must come from the target's own policy
/// (`restorecon`), not from a backup server. Not `-z`: backups are mostly compressed already.
pub const RSYNC_FLAGS: [&str; 8] = [
    "-a",
    "-H",
    "--numeric-ids",
    "--delete",
    "-s",
    "--no-inc-recursive",
    "--partial-dir=.vigie-partial",
    "--timeout=300",
];

/// A dry run that itemizes every change and ends with the counts.
pub const DRY_RUN_FLAGS: [&str; 3] = ["-n", "-i", "--stats"];

/// The copy with rsync ≥ 3.1: one progress record for the whole transfer.
pub const PROGRESS2_FLAGS: [&str; 2] = ["--info=progress2", "--stats"];

/// The copy with rsync 3.0 (no `--info=progress2`; not on any supported OS: Debian 12 has
/// 3.2.7, RHEL 8 3.1.3, RHEL 9 3.2.3): one itemized line per change, counted against the
/// preview's count ([`Progress::feed_items`]).
pub const ITEMIZE_FLAGS: [&str; 2] = ["-i", "--stats"];

/// The first line of every copy job: how progress is reported (`progress2` or `itemize`)
/// and the target's `rsync --version` line. `missing` when rsync is not installed.
pub const MARKER: &str = "VIGIE_RSYNC";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    Preview,
    Copy,
    Verify,
}

impl Phase {
    /// The job phase (see [`JobId::with_phase`]).
    pub fn word(self) -> &'static str {
        match self {
            Phase::Preview => "preview",
            Phase::Copy => "copy",
            Phase::Verify => "verify",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CopyError {
    #[error("copy {what}: {why}")]
    Refused { what: String, why: String },
    #[error(transparent)]
    Job(#[from] JobError),
    #[error("{host}: the {phase} of the copy {what}")]
    Failed {
        host: String,
        phase: &'static str,
        what: String,
    },
}

/// A copy, checked: what to copy, where, and how the target reaches the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySpec {
    from: HostPath,
    to: HostPath,
    transfer_ssh: String,
}

impl CopySpec {
    /// Refuses what would be ambiguous or dangerous at 3 a.m.: relative paths (relative to
    /// which home?), `.`/`..` components, wildcards in the source (rsync would expand them on
    /// the source host), control characters, and targets less than two directories deep
    /// (`--delete` into `/srv/` would wipe every other site of the host).
    pub fn new(from: HostPath, to: HostPath, transfer_ssh: &str) -> Result<CopySpec, CopyError> {
        let refuse = |why: String| CopyError::Refused {
            what: format!("{from} → {to}"),
            why,
        };
        for host in [&from.host, &to.host] {
            if host.is_empty()
                || host.starts_with('-')
                || !host
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                return Err(refuse(format!("{host:?} is not a host name")));
            }
        }
        for (side, p) in [("source", &from.path), ("target", &to.path)] {
            if !p.starts_with('/') {
                return Err(refuse(format!("the {side} path {p:?} is not absolute")));
            }
            if p.chars().any(char::is_control) {
                return Err(refuse(format!("the {side} path holds a control character")));
            }
            if p.split('/').any(|c| c == "." || c == "..") {
                return Err(refuse(format!("the {side} path {p:?} holds `.` or `..`")));
            }
        }
        if from.path.contains(['*', '?', '[']) {
            return Err(refuse(format!(
                "the source path {:?} holds a wildcard (rsync would expand it on {})",
                from.path, from.host
            )));
        }
        if to.path.split('/').filter(|c| !c.is_empty()).count() < 2 {
            return Err(refuse(format!(
                "the target {:?} is too close to / for a mirror that deletes what the source \
                 lacks: name a directory at least two levels deep",
                to.path
            )));
        }
        let ssh = transfer_ssh.trim();
        if ssh.is_empty() || ssh.chars().any(char::is_control) {
            return Err(refuse(
                "`[drp] transfer_ssh` is empty or holds a control character".into(),
            ));
        }
        Ok(CopySpec {
            from,
            to,
            transfer_ssh: ssh.to_string(),
        })
    }

    pub fn from(&self) -> &HostPath {
        &self.from
    }
    pub fn to(&self) -> &HostPath {
        &self.to
    }

    /// The host the jobs run on: the target (rsync pulls).
    pub fn runs_on(&self) -> &str {
        &self.to.host
    }

    /// rsync's source argument: `host:path`, or the path alone when both ends are one host.
    pub fn source_arg(&self) -> String {
        if self.from.host == self.to.host {
            self.from.path.clone()
        } else {
            format!("{}:{}", self.from.host, self.from.path)
        }
    }

    fn remote(&self) -> bool {
        self.from.host != self.to.host
    }

    /// The rsync command of a phase, as the operator reads it in `vigie drp plan` (on the
    /// copy, the progress flags of rsync ≥ 3.1), every word quoted for a POSIX shell.
    pub fn command_line(&self, phase: Phase) -> String {
        let mut words: Vec<String> = vec!["rsync".into()];
        words.extend(RSYNC_FLAGS.iter().map(|s| s.to_string()));
        let extra: &[&str] = match phase {
            Phase::Copy => &PROGRESS2_FLAGS,
            Phase::Preview | Phase::Verify => &DRY_RUN_FLAGS,
        };
        words.extend(extra.iter().map(|s| s.to_string()));
        if self.remote() {
            words.push("-e".into());
            words.push(self.transfer_ssh.clone());
        }
        words.push("--".into());
        words.push(self.source_arg());
        words.push(self.to.path.clone());
        words
            .iter()
            .map(|w| job::shell_word(w))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The job's script for a phase (run by `/bin/sh` on the target host): the values as
    /// single-quoted assignments, then a fixed body. Nothing from the configuration is ever
    /// part of the shell code itself.
    pub fn script(&self, phase: Phase) -> String {
        let q = |s: &str| crate::probe::sh_quote(s).unwrap_or_else(|| "''".into());
        let ssh = if self.remote() {
            q(&self.transfer_ssh)
        } else {
            "''".into()
        };
        let flags = RSYNC_FLAGS.join(" ");
        let (first, second) = match phase {
            Phase::Copy => (PROGRESS2_FLAGS.join(" "), ITEMIZE_FLAGS.join(" ")),
            Phase::Preview | Phase::Verify => (DRY_RUN_FLAGS.join(" "), DRY_RUN_FLAGS.join(" ")),
        };
        // Only the copy creates the target's parent: rsync makes the last directory itself,
        // and a dry run must not touch the target at all.
        let mkdir = if phase == Phase::Copy {
            "mkdir -p -- \"$(dirname -- \"$VC_DST\")\" || exit 1\n"
        } else {
            ""
        };
        format!(
            "# Vigie copy step, {phase}: {from} -> {to}\n\
             VC_SSH={ssh}\nVC_SRC={src}\nVC_DST={dst}\n\
             PATH=${{PATH:+$PATH:}}/usr/local/bin:/usr/bin:/bin\n\
             export PATH LC_ALL=C LANG=C\n\
             if ! command -v rsync >/dev/null 2>&1; then\n\
             \x20   echo \"{MARKER} missing\"\n\
             \x20   echo \"rsync is not installed on $(uname -n)\"\n\
             \x20   exit 127\n\
             fi\n\
             v=$(rsync --version 2>/dev/null | head -n 1)\n\
             set -f\n\
             set -- $(printf '%s\\n' \"$v\" | sed -n 's/.*version *\\([0-9][0-9]*\\)\\.\\([0-9][0-9]*\\).*/\\1 \\2/p')\n\
             if [ \"${{1:-0}}\" -gt 3 ] || {{ [ \"${{1:-0}}\" -eq 3 ] && [ \"${{2:-0}}\" -ge 1 ]; }}; then\n\
             \x20   mode=progress2 extra='{first}'\n\
             else\n\
             \x20   mode=itemize extra='{second}'\n\
             fi\n\
             echo \"{MARKER} $mode $v\"\n\
             {mkdir}\
             if [ -n \"$VC_SSH\" ]; then\n\
             \x20   exec rsync {flags} $extra -e \"$VC_SSH\" -- \"$VC_SRC\" \"$VC_DST\"\n\
             fi\n\
             exec rsync {flags} $extra -- \"$VC_SRC\" \"$VC_DST\"\n",
            phase = phase.word(),
            from = self.from.to_string().replace('\n', " "),
            to = self.to.to_string().replace('\n', " "),
            src = q(&self.source_arg()),
            dst = q(&self.to.path),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Running the phases

/// Starts a phase's job on the target host (idempotent: an existing job is only reported).
pub async fn start(
    pool: &Pool,
    spec: &CopySpec,
    step: &JobId,
    phase: Phase,
) -> Result<(Launch, JobStatus), CopyError> {
    let id = step.with_phase(phase.word())?;
    Ok(job::start(pool, spec.runs_on(), &id, &spec.script(phase)).await?)
}

/// Runs a dry-run phase (preview or verify) to its end and reads it: its head (the first
/// itemized changes) and its tail (the counts). Waits at most `within` (a dry run over a
/// large tree may take minutes); the job keeps running if the wait ends first.
pub async fn dry_run(
    pool: &Pool,
    spec: &CopySpec,
    step: &JobId,
    phase: Phase,
    within: Duration,
) -> Result<DryRunOutcome, CopyError> {
    let host = spec.runs_on();
    if phase == Phase::Copy {
        return Err(CopyError::Refused {
            what: format!("{} → {}", spec.from, spec.to),
            why: "the copy itself is no dry run".into(),
        });
    }
    let id = step.with_phase(phase.word())?;
    let (_, mut st) = job::start(pool, host, &id, &spec.script(phase)).await?;
    let began = std::time::Instant::now();
    while matches!(st.state, JobState::Running { .. }) {
        if began.elapsed() > within {
            return Err(CopyError::Failed {
                host: host.into(),
                phase: phase.word(),
                what: format!("did not end within {} (still running)", job::span(within)),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        st = job::status(pool, host, &id, 0).await?;
    }
    let rc = match st.state {
        JobState::Exited { rc } => rc,
        JobState::Vanished { why } => {
            return Err(CopyError::Failed {
                host: host.into(),
                phase: phase.word(),
                what: format!("vanished: {why}"),
            });
        }
        _ => {
            return Err(CopyError::Failed {
                host: host.into(),
                phase: phase.word(),
                what: "was not started".into(),
            });
        }
    };
    // The head holds the first itemized changes, the tail the counts: a huge tree's full
    // list is never read (the counts come from --stats).
    let mut text = String::from_utf8_lossy(&st.output.data).into_owned();
    let truncated = st.output.behind();
    if truncated {
        let tail = job::status_tail(pool, host, &id, 16 * 1024).await?;
        text.push('\n');
        text.push_str(&String::from_utf8_lossy(&tail.output.data));
    }
    let report = parse_dry_run(&text);
    Ok(DryRunOutcome {
        rc,
        report,
        truncated,
    })
}

/// The latest progress of the copy job, fed to `progress`. With rsync ≥ 3.1 it reads only the
/// last 4 KiB of the output (the latest records), so a console re-attaching after hours reads
/// no history; with rsync 3.0 it reads the itemized lines on from where it stopped (one chunk
/// per call). The job's first line says which (see [`MARKER`]).
pub async fn poll_progress(
    pool: &Pool,
    spec: &CopySpec,
    step: &JobId,
    progress: &mut Progress,
) -> Result<JobStatus, CopyError> {
    let host = spec.runs_on();
    let id = step.with_phase(Phase::Copy.word())?;
    if progress.mode().is_none() {
        let head = job::status(pool, host, &id, 0).await?;
        progress.read_mode(&String::from_utf8_lossy(&head.output.data));
    }
    let st = if progress.mode() == Some(ProgressMode::Itemize) {
        let st = job::status(pool, host, &id, progress.read_to()).await?;
        let (lines, next) = st.output.lines();
        progress.feed_items(&lines.join("\n"));
        progress.set_read_to(next);
        st
    } else {
        let st = job::status_tail(pool, host, &id, 4096).await?;
        progress.feed(&String::from_utf8_lossy(&st.output.data));
        st
    };
    if let JobState::Exited { rc: 0 } = st.state {
        progress.finished();
    }
    Ok(st)
}

/// A dry run as it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRunOutcome {
    pub rc: i32,
    pub report: Result<DryRun, ParseError>,
    /// The itemized list was longer than what was read: the samples are the first changes,
    /// the counts still come from rsync's totals.
    pub truncated: bool,
}

impl DryRunOutcome {
    /// The verification: rsync ended well and would change nothing at all (no transfer, no
    /// deletion, no new entry, no attribute). Otherwise, why not, in one line.
    pub fn verified(&self) -> Result<(), String> {
        let r = self.report.as_ref().map_err(|e| e.to_string())?;
        if self.rc != 0 {
            return Err(format!(
                "rsync {}{}",
                exit_meaning(self.rc),
                r.first_error()
            ));
        }
        if r.is_no_change() {
            Ok(())
        } else {
            Err(format!("the target still differs: {}", r.summary()))
        }
    }
}

/// What rsync's exit status means (rsync(1), EXIT VALUES).
pub fn exit_meaning(rc: i32) -> String {
    let what = match rc {
        0 => "succeeded",
        1 => "syntax or usage error",
        2 => "protocol incompatibility",
        3 => "errors selecting input/output files, dirs",
        4 => "requested action not supported",
        5 => "error starting client-server protocol",
        6 => "daemon unable to append to log-file",
        10 => "error in socket I/O",
        11 => "error in file I/O",
        12 => "error in rsync protocol data stream",
        13 => "errors with program diagnostics",
        14 => "error in IPC code",
        20 => "received SIGUSR1 or SIGINT",
        21 => "some error returned by waitpid()",
        22 => "error allocating core memory buffers",
        23 => "partial transfer due to error",
        24 => "partial transfer due to vanished source files",
        25 => "the --max-delete limit stopped deletions",
        30 => "timeout in data send/receive",
        35 => "timeout waiting for daemon connection",
        127 => "not found",
        255 => "the transfer connection failed",
        _ => "",
    };
    if what.is_empty() {
        format!("exit {rc}")
    } else {
        format!("exit {rc} ({what})")
    }
}

#[path = "copy_parse.rs"]
mod parse;
pub use parse::{
    DryRun, Progress, ProgressMode, Record, count_itemized, errors, parse_dry_run, parse_records,
    progress_mode,
};

#[cfg(test)]
#[path = "copy_tests.rs"]
mod tests;
