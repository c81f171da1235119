//! The `db_import` step (SPEC §6): a dump restored into a NEW database on the target host,
//! verified by the configured query, then switched to under the live name; the real capture
//! time of the imported data is what the engine journals (the data an activation loses).
//!
//! The import is one detached job ([`super::job`], phase `import`) on the target host,
//! running db_import.sh: it
//! 1. fetches the dump from the backup server over `[drp] transfer_ssh` (rsync, else ssh
//!    cat) into `WORK_DIR/RUN/DATABASE/`, and checks its sha256 against the original's;
//! 2. reads when a pg_dump archive's dump started from its own header (the dumping machine's
//!    wall clock, no zone: db_import_clock.rs decides the zone, bounded by the dump file's
//!    date), else takes the plan's capture time ([`super::model::BackupPick`]);
//! 3. restores into `DB_vigie_RUN` (PostgreSQL: `pg_restore -f - | psql --single-transaction`,
//!    or psql for plain / gzip'd SQL; MySQL: `mysql < dump`), and marks it complete;
//! 4. runs the verify query there, read-only, and keeps its answer in the mark;
//! 5. switches: PostgreSQL renames `DB` to `DB_before_RUN` and `DB_vigie_RUN` to `DB` in ONE
//!    transaction (new sessions on `DB` refused and open ones ended first); MySQL moves every
//!    table of `DB` to `DB_before_RUN` and every table of `DB_vigie_RUN` to `DB` in ONE
//!    `RENAME TABLE` statement, and refuses schemas with views, triggers, routines or events,
//!    which that statement cannot move.
//!
//! Safe to retry at any point: the mark (PostgreSQL: `COMMENT ON DATABASE`; MySQL: a table
//! `vigie_import` in the schema) says which database holds this run's complete, verified
//! restore; the live database is never dropped (the previous one is kept as
//! `DB_before_RUN`); an incomplete `DB_vigie_RUN` (made only by this run) is dropped and
//! redone; a live database marked with this run means done. [`postcondition`] reads that
//! mark. A drill restores into its `*_drill` database (dropping a previous drill's), verifies,
//! and never switches.
//!
//! In a `return` run, the engine first compares the dump's capture time with the newest change
//! of the live database on the target ([`not_newer_step`], db_import_guard.rs): it refuses to
//! replace data newer than its source (SPEC §6).
//!
//! The clients: PostgreSQL's run as the `postgres` user when Vigie's SSH user is root (peer
//! authentication, the default on Debian and RHEL), through the default socket (and
//! [`ImportSpec::with_port`], which [`ImportSpec::from_plan`] applies from the restore's
//! `port`); MySQL's as the SSH user (unix_socket or `~/.my.cnf`: no port).
//! Database roles must exist on the target (a dump refers to them; pg_dump does not hold
//! them). A pg_dump archive's database-level settings (ICU locale, `ALTER DATABASE … SET`,
//! grants on the database) are not carried: owner, encoding and locale are taken from the
//! live database.

use super::job::{JobError, shell_word};
use super::model::{DbKind, HostPath, Mode, PlanStep, Resolved};
use crate::ssh::SshError;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// The remote side, after the assignments (see its header).
pub const SCRIPT: &str = include_str!("db_import.sh");

/// The job phase of an import (see [`super::job::JobId::with_phase`]).
pub const JOB_PHASE: &str = "import";

/// Where the target keeps a fetched dump until the switch: large, not in memory (`/tmp` is
/// a tmpfs on many hosts), kept across reboots for a retry.
pub const WORK_DIR: &str = "/var/tmp/vigie-import";

/// The longest database name both engines keep whole (PostgreSQL truncates past 63 bytes).
const MAX_NAME: usize = 63;

/// Bounds of a check ([`postcondition`]): a few queries.
const CHECK_FIRST_BYTE: Duration = Duration::from_secs(15);
const CHECK_TOTAL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("import {what}: {why}")]
    Refused { what: String, why: String },
    #[error(transparent)]
    Job(#[from] JobError),
    #[error("{host}: {source}")]
    Ssh { host: String, source: Box<SshError> },
    /// The script stopped on an error it explains.
    #[error("{host}: {message}")]
    Remote { host: String, message: String },
    #[error("{host}: unexpected answer from the import script: {detail}")]
    Reply { host: String, detail: String },
}

/// A database import, checked: which dump, onto which host and database, verified how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSpec {
    from: HostPath,
    to: String,
    kind: DbKind,
    database: String,
    verify: String,
    transfer_ssh: String,
    drill: bool,
    captured_hint: Option<jiff::Timestamp>,
    port: Option<u16>,
    work_dir: String,
    site_zone: Option<String>,
}

impl ImportSpec {
    /// `from`: the dump (a file) on its host; `to`: the host restored on; `database`: the live
    /// name (in a drill, the drill database, which must end in `_drill`: the only kind of
    /// database an import ever drops); `captured_hint`: the capture time the plan read for
    /// the backup, used when the dump does not say its own.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        from: HostPath,
        to: &str,
        kind: DbKind,
        database: &str,
        verify: &str,
        transfer_ssh: &str,
        drill: bool,
        captured_hint: Option<jiff::Timestamp>,
    ) -> Result<ImportSpec, ImportError> {
        let refuse = |why: String| ImportError::Refused {
            what: format!("{from} → {to} {} database {database}", kind.word()),
            why,
        };
        for host in [from.host.as_str(), to] {
            if host.is_empty()
                || host.starts_with('-')
                || !host
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                return Err(refuse(format!("{host:?} is not a host name")));
            }
        }
        let p = &from.path;
        if !p.starts_with('/') || p.ends_with('/') {
            return Err(refuse(format!(
                "the dump {p:?} is not an absolute file path"
            )));
        }
        if p.chars().any(char::is_control) || p.split('/').any(|c| c == "." || c == "..") {
            return Err(refuse(format!(
                "the dump's path {p:?} holds a control character, `.` or `..`"
            )));
        }
        if !is_db_name(database) {
            return Err(refuse(format!(
                "{database:?} cannot be used: a database name of ASCII letters, digits, `_` \
                 and `-` (not first), at most {MAX_NAME} characters"
            )));
        }
        if drill && !database.ends_with("_drill") {
            return Err(refuse(format!(
                "the drill database {database:?} must end in `_drill`: a drill drops the \
                 previous drill's database, and only such a name is ever dropped"
            )));
        }
        if verify.trim().is_empty() || verify.contains('\0') {
            return Err(refuse("the verify query is empty".into()));
        }
        let ssh = transfer_ssh.trim();
        if from.host != to && (ssh.is_empty() || ssh.chars().any(char::is_control)) {
            return Err(refuse(
                "`[drp] transfer_ssh` is empty or holds a control character".into(),
            ));
        }
        Ok(ImportSpec {
            to: to.to_string(),
            kind,
            database: database.to_string(),
            verify: verify.to_string(),
            transfer_ssh: ssh.to_string(),
            drill,
            captured_hint,
            port: None,
            work_dir: WORK_DIR.to_string(),
            site_zone: None,
            from,
        })
    }

    /// The import of a resolved plan step (`Resolved::DbImport`); in drill mode the plan
    /// has already put the drill database on the DRP host in it.
    pub fn from_plan(
        step: &PlanStep,
        mode: Mode,
        transfer_ssh: &str,
    ) -> Result<ImportSpec, ImportError> {
        let Resolved::DbImport {
            from_spec,
            from,
            to,
            restore,
            verify,
        } = &step.step
        else {
            return Err(ImportError::Refused {
                what: format!("step {}", step.number),
                why: format!("it is a {} step, not a db_import", step.step.word()),
            });
        };
        let from = from.as_ref().ok_or_else(|| ImportError::Refused {
            what: format!("step {}", step.number),
            why: format!("its source {from_spec} is not resolved"),
        })?;
        if let (DbKind::Mysql, Some(_)) = (restore.kind, restore.port) {
            // The configuration refuses it: a plan journaled by another version might not.
            return Err(ImportError::Refused {
                what: format!("step {}", step.number),
                why: "a port is for PostgreSQL only: the MySQL import connects through the \
                      server's unix socket"
                    .into(),
            });
        }
        let spec = ImportSpec::new(
            HostPath {
                host: from.host.name.clone(),
                path: from.path.clone(),
            },
            &to.name,
            restore.kind,
            &restore.database,
            verify,
            transfer_ssh,
            mode == Mode::Drill,
            from.backup.as_ref().map(|b| b.captured_at),
        )?;
        Ok(match restore.port {
            Some(p) => spec.with_port(p),
            None => spec,
        })
    }

    /// PostgreSQL's port on the target, when not the default.
    pub fn with_port(mut self, port: u16) -> ImportSpec {
        self.port = Some(port);
        self
    }

    /// The site's time zone (`[site] timezone`, the plan's `timezone`): the first zone a
    /// pg_dump archive's wall clock is read in (see db_import_clock.rs). Without it, only
    /// the hosts' zones and UTC are tried.
    pub fn with_site_zone(mut self, zone: &str) -> ImportSpec {
        let zone = zone.trim();
        self.site_zone = (!zone.is_empty()).then(|| zone.to_string());
        self
    }

    /// The site's time zone, when given ([`ImportSpec::with_site_zone`]).
    pub fn site_zone(&self) -> Option<&str> {
        self.site_zone.as_deref()
    }

    /// Where the dump is fetched to on the target (default [`WORK_DIR`]).
    pub fn with_work_dir(mut self, dir: &str) -> Result<ImportSpec, ImportError> {
        if !dir.starts_with('/')
            || dir.chars().any(char::is_control)
            || dir.split('/').any(|c| c == "." || c == "..")
        {
            return Err(ImportError::Refused {
                what: format!("{} on {}", self.database, self.to),
                why: format!("the work directory {dir:?} is not a plain absolute path"),
            });
        }
        self.work_dir = dir.trim_end_matches('/').to_string();
        Ok(self)
    }

    pub fn from(&self) -> &HostPath {
        &self.from
    }
    /// The host the job runs on and the database is restored on.
    pub fn to(&self) -> &str {
        &self.to
    }
    pub fn kind(&self) -> DbKind {
        self.kind
    }
    /// The live database (in a drill, the drill database).
    pub fn database(&self) -> &str {
        &self.database
    }
    pub fn is_drill(&self) -> bool {
        self.drill
    }

    /// The database this run restores into before the switch (`None` in a drill, which
    /// restores into its drill database).
    pub fn new_database(&self, run_id: &str) -> Option<String> {
        (!self.drill).then(|| fit(&self.database, "vigie", run_id))
    }

    /// The name the previous live database is kept under (`None` in a drill).
    pub fn before_database(&self, run_id: &str) -> Option<String> {
        (!self.drill).then(|| fit(&self.database, "before", run_id))
    }

    /// Where the dump is fetched to on the target.
    pub fn fetched_path(&self, run_id: &str) -> String {
        if self.from.host == self.to {
            return self.from.path.clone();
        }
        let name = self.from.path.rsplit('/').next().unwrap_or_default();
        format!("{}/{name}", self.work_dir(run_id))
    }

    fn work_dir(&self, run_id: &str) -> String {
        format!("{}/{run_id}/{}", self.work_dir, self.database)
    }

    /// What the step will do, command by command, for `vigie drp plan`.
    pub fn preview(&self, run_id: &str) -> Vec<String> {
        let on = &self.to;
        let target = self
            .new_database(run_id)
            .unwrap_or_else(|| self.database.clone());
        let file = self.fetched_path(run_id);
        let mut out = Vec::new();
        if self.from.host == self.to {
            out.push(format!(
                "{on}: read {} in place (sha256sum)",
                self.from.path
            ));
        } else {
            out.push(format!(
                "{on}: rsync -s --partial-dir=.vigie-partial --timeout=300 -e {} -- {}:{} {file}",
                shell_word(&self.transfer_ssh),
                self.from.host,
                shell_word(&self.from.path),
            ));
            out.push(format!(
                "{on}: its sha256sum must equal that of {} on {} (else the copy is refused)",
                self.from.path, self.from.host
            ));
        }
        let pg_port = self.port.map(|p| format!(" -p {p}")).unwrap_or_default();
        if let (DbKind::Postgresql, Some(p)) = (self.kind, self.port) {
            out.push(format!(
                "{on}: the PostgreSQL server on port {p} (through its unix socket: every psql \
                 and the switch run with -p {p})"
            ));
        }
        let (create, restore, verify) = match self.kind {
            DbKind::Postgresql => (
                if self.drill {
                    // The live name is not the drill's business: the server's defaults.
                    format!("CREATE DATABASE \"{target}\" TEMPLATE template0")
                } else {
                    format!(
                        "CREATE DATABASE \"{target}\" TEMPLATE template0, with the owner, \
                         encoding and locale of \"{}\"",
                        self.database
                    )
                },
                format!(
                    "pg_restore -f - {file} | runuser -u postgres -- psql --single-transaction \
                     -v ON_ERROR_STOP=1 -d {target}{pg_port} (plain or gzip'd SQL: psql \
                     alone); the dump's start is read from the archive's header: its wall \
                     clock read in {}the hosts' zones or UTC, the latest the dump file's date \
                     allows",
                    self.site_zone
                        .as_deref()
                        .map(|z| format!("{z}, "))
                        .unwrap_or_default()
                ),
                format!(
                    "psql{pg_port} -d {target} -c {} (read-only; the answer is journaled)",
                    shell_word(&self.verify)
                ),
            ),
            DbKind::Mysql => (
                if self.drill {
                    format!("CREATE DATABASE `{target}`")
                } else {
                    format!(
                        "CREATE DATABASE `{target}`, with the character set of `{}`",
                        self.database
                    )
                },
                format!("mysql {target} < {file} (gzip -dc first for a .gz dump)"),
                format!(
                    "mysql -D {target} -e {} (read-only; the answer is journaled)",
                    shell_word(&format!(
                        "SET SESSION TRANSACTION READ ONLY; {}",
                        self.verify
                    ))
                ),
            ),
        };
        if self.drill {
            out.push(format!(
                "{on}: DROP DATABASE {target} if a previous drill left it (only a *_drill \
                 database is ever dropped)"
            ));
        }
        out.push(format!("{on}: {create}"));
        out.push(format!("{on}: {restore}"));
        out.push(format!("{on}: {verify}"));
        let db = &self.database;
        match (self.drill, self.kind, self.before_database(run_id)) {
            (true, ..) | (_, _, None) => out.push(format!(
                "no switch: a drill leaves {target} as restored and the live database untouched"
            )),
            (false, DbKind::Postgresql, Some(before)) => out.push(format!(
                "{on}: ALTER DATABASE \"{db}\" WITH ALLOW_CONNECTIONS false, its sessions ended; \
                 BEGIN; ALTER DATABASE \"{db}\" RENAME TO \"{before}\"; ALTER DATABASE \
                 \"{target}\" RENAME TO \"{db}\"; COMMIT (the previous database is kept, never \
                 dropped)"
            )),
            (false, DbKind::Mysql, Some(before)) => out.push(format!(
                "{on}: RENAME TABLE `{db}`.`T` TO `{before}`.`T`, …, `{target}`.`T` TO \
                 `{db}`.`T`, … in one statement: every table moves or none (refused if either \
                 schema holds views, triggers, routines or events)"
            )),
        }
        out
    }

    /// The script for `op` (`import` or `check`): the values as single-quoted assignments,
    /// then the fixed body. Nothing from the configuration is ever part of the shell code.
    pub fn script(&self, op: &str, run_id: &str) -> Result<String, ImportError> {
        if !is_run_id(run_id) {
            return Err(ImportError::Refused {
                what: format!("{} on {}", self.database, self.to),
                why: format!("run id {run_id:?}: expected ASCII letters, digits, `.`, `_`, `-`"),
            });
        }
        let q = |s: &str| crate::probe::sh_quote(s).unwrap_or_else(|| "''".into());
        let remote = self.from.host != self.to;
        let values: [(&str, String); 15] = [
            ("VI_OP", op.to_string()),
            ("VI_KIND", self.kind.word().to_string()),
            ("VI_RUN", run_id.to_string()),
            ("VI_DB", self.database.clone()),
            ("VI_NEW", self.new_database(run_id).unwrap_or_default()),
            (
                "VI_BEFORE",
                self.before_database(run_id).unwrap_or_default(),
            ),
            ("VI_DRILL", if self.drill { "1" } else { "0" }.to_string()),
            (
                "VI_SRC_HOST",
                if remote {
                    self.from.host.clone()
                } else {
                    String::new()
                },
            ),
            ("VI_SRC_PATH", self.from.path.clone()),
            // Quoted twice: once for this shell, once for the backup server's.
            ("VI_SRC_Q", q(&self.from.path)),
            ("VI_SSH", self.transfer_ssh.clone()),
            ("VI_WORK", self.work_dir(run_id)),
            ("VI_VERIFY", self.verify.clone()),
            (
                "VI_HINT",
                self.captured_hint
                    .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_default(),
            ),
            (
                "VI_PORT",
                self.port.map(|p| p.to_string()).unwrap_or_default(),
            ),
        ];
        let mut text = format!(
            "# Vigie db_import, {op}: {} -> {}:{} {}\n",
            self.from,
            self.to,
            self.kind.word(),
            self.database
        );
        for (k, v) in values {
            text.push_str(k);
            text.push('=');
            text.push_str(&q(&v));
            text.push('\n');
        }
        text.push_str(SCRIPT);
        Ok(text)
    }
}

/// `DB_WHAT_TAG` where TAG is the run id in lower case with `_` for anything else; cut, with
/// a hash of the whole name, when longer than both engines keep.
fn fit(database: &str, what: &str, run_id: &str) -> String {
    let tag: String = run_id
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        })
        .collect();
    let full = format!("{database}_{what}_{tag}");
    if full.len() <= MAX_NAME {
        return full;
    }
    let hash: String = Sha256::digest(full.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    // ASCII only (checked names, lowercased tag): any cut is on a character boundary.
    format!("{}_{hash}", full.get(..MAX_NAME - 9).unwrap_or(&full))
}

fn is_db_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && !s.starts_with('-')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn is_run_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 80
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[path = "db_import_run.rs"]
mod run;
pub use run::{ImportProgress, ImportResult, check_answer, poll, postcondition, progress, start};

#[path = "db_import_parse.rs"]
mod parse;
pub use parse::{
    CaptureSource, ImportLog, ImportPhase, MARKER, Mark, capture_line, human_line, parse_log,
    parse_mark, unhex,
};

#[path = "db_import_clock.rs"]
mod clock;
pub use clock::{
    ArchiveFacts, ArchiveTime, ClockCapture, MTIME_SLACK_S, archive_time, parse_header, parse_wall,
    read_capture,
};

#[path = "db_import_guard.rs"]
mod guard;
pub use guard::{
    Capture, CaptureBy, Evidence, LiveReading, SourceReading, capture, decide, not_newer,
    not_newer_step, parse_live, parse_source, script as guard_script,
};

#[cfg(test)]
#[path = "db_import_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "db_import_run_tests.rs"]
mod run_tests;
