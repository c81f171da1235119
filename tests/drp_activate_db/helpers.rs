//! The helpers of tests/drp_activate_db.rs: a site configuration with its own state, the lab's
//! dumps and backups planted on the hosts, the journal and the guard's raw answers.

use super::common;
use super::support::ScratchPg;
pub(crate) use common::drp::text;
use common::lab::Lab;
use common::site::{DRP_HOSTS, HOUR, now};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::Instant;
use vigie::drp::db_import;

pub(crate) const JOBS: &str = "/root/.local/state/vigie/jobs";
/// Where the tests keep their files on the hosts (the DRP's return dump).
pub(crate) const WORK: &str = "/var/tmp/vigie-activate-db";
pub(crate) const RETURN_DUMP: &str = "/var/tmp/vigie-activate-db/app-return.dump";

/// A site configuration of one test (the lab's, then `sections`) and its own state directory.
pub(crate) struct Site {
    dir: tempfile::TempDir,
    config: PathBuf,
    lab_dir: PathBuf,
}

impl Site {
    pub(crate) fn new(lab: &Lab, sections: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let config = common::site::write_config(lab, dir.path(), sections);
        Site {
            config,
            lab_dir: lab.dir().to_path_buf(),
            dir,
        }
    }

    pub(crate) fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub(crate) async fn vigie(&self, args: &[&str]) -> Output {
        let t = Instant::now();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("XDG_STATE_HOME", self.state())
            .env("LAB_DIR", &self.lab_dir)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .unwrap();
        eprintln!(
            "vigie {} … → {:?} in {:.1} s",
            args.iter().take(3).cloned().collect::<Vec<_>>().join(" "),
            out.status.code(),
            t.elapsed().as_secs_f64()
        );
        out
    }

    /// `vigie drp run RUNBOOK --mode MODE --order ORDER --confirm HOST --ack 1=ORDER`.
    pub(crate) async fn run(
        &self,
        runbook: &str,
        mode: &str,
        order: &str,
        confirm: &str,
    ) -> Output {
        let ack = format!("1={order}");
        self.vigie(&[
            "drp",
            "run",
            runbook,
            "--mode",
            mode,
            "--order",
            order,
            "--confirm",
            confirm,
            "--ack",
            &ack,
        ])
        .await
    }

    pub(crate) fn journal(&self) -> Vec<Value> {
        common::drp::journal(&self.state())
    }
}

/// Seconds since the epoch of an RFC 3339 time in the journal.
pub(crate) fn secs(v: &Value) -> i64 {
    v.as_str()
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .parse::<jiff::Timestamp>()
        .unwrap()
        .as_second()
}

/// Removes what the tests leave on the hosts (also when one fails: called first and last).
pub(crate) fn clean(lab: &Lab) {
    for h in ["prod", "drp"] {
        let _ = lab.try_sh(
            h,
            &format!(
                "rm -rf /srv/www /srv/maintenance /var/lib/vigie/lock {JOBS}/{h}/2* {WORK} \
                 /var/tmp/vigie-import"
            ),
        );
    }
    for h in ["backup-a", "backup-b"] {
        let _ = lab.try_sh(h, "rm -rf /var/backups/files /var/backups/userdb");
    }
}

/// `[drp]` (with the lab's transfer path and a fence) and the `userdb` dataset: restored into
/// PostgreSQL's `app` on port 5433, its dumps on both backup servers.
pub(crate) fn drp_and_userdb(lab: &Lab) -> String {
    format!(
        r#"{DRP_HOSTS}transfer_ssh = "ssh -F {lab}/transfer_ssh_config"
fence = "touch /srv/maintenance"
fence_verify = "test -e /srv/maintenance"

[[datasets]]
name = "userdb"
max_loss = "24h"
restore = {{ kind = "postgresql", database = "app", port = 5433 }}
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/userdb"
every = "24h"
pattern = "*.dump"
[[datasets.copies]]
host = "backup-b"
path = "/var/backups/userdb"
every = "24h"
pattern = "*.dump"
"#,
        lab = lab.dir().display()
    )
}

/// A real `pg_dump -Fc` of prod's `app`, run on `host` as if `age_s` ago: its archive header
/// says so (faketime), and so does the file's date. Returns the capture time.
pub(crate) fn plant_dump(lab: &Lab, host: &str, name: &str, age_s: i64) -> i64 {
    let at = now() - age_s;
    let path = format!("/var/backups/userdb/{name}");
    lab.sh(
        host,
        &format!(
            "mkdir -p /var/backups/userdb && \
             faketime -f -{age_s} pg_dump -Fc -h 10.77.1.11 -U postgres app -f {path} && \
             touch -d @{at} {path}"
        ),
    );
    // The header says hours ago, not now: the dump's own reading, as the import reads it.
    let said = archive_created(lab, host, &path);
    assert!(
        (said.as_second() - at).abs() <= 1,
        "{path}: archive created at {said}, planted at {at}"
    );
    at
}

/// "Archive created at" of a pg_dump archive on `host`, read as the import reads it (UTC).
pub(crate) fn archive_created(lab: &Lab, host: &str, path: &str) -> jiff::Timestamp {
    let header = lab.sh(
        host,
        &format!("TZ=UTC0 pg_restore -l {path} | sed -n 's/^; *Archive created at //p'"),
    );
    let iso = format!(
        "{}Z",
        header.trim().trim_end_matches(" UTC").replacen(' ', "T", 1)
    );
    iso.parse()
        .unwrap_or_else(|e| panic!("{path} on {host}: {header:?}: {e}"))
}

/// The `files` trees: backup-a's 30 h old, backup-b's 6 h old.
pub(crate) fn plant_files(lab: &Lab) {
    for (host, name, age) in [
        ("backup-a", "files-a", 30 * HOUR),
        ("backup-b", "files-b", 6 * HOUR),
    ] {
        lab.sh(
            host,
            &format!(
                "mkdir -p /var/backups/files/{name} && \
                 echo 'page from {host}' > /var/backups/files/{name}/index.html && \
                 find /var/backups/files/{name} -exec touch -d @{} {{}} +",
                now() - age
            ),
        );
    }
}

/// A dump taken `age_s` ago on a machine in Paris: `pg_dump` under `TZ=Europe/Paris` and
/// faketime, so that its header holds Paris's wall clock of then; its file dated `written_s`
/// after it started (a dump takes a while to write). Returns when it started.
pub(crate) fn plant_paris_dump(
    lab: &Lab,
    host: &str,
    name: &str,
    age_s: i64,
    written_s: i64,
) -> i64 {
    let at = now() - age_s;
    let path = format!("/var/backups/userdb/{name}");
    lab.sh(
        host,
        &format!(
            "mkdir -p /var/backups/userdb && \
             TZ=Europe/Paris faketime -f -{age_s} pg_dump -Fc -h 10.77.1.11 -U postgres app \
             -f {path} && touch -d @{} {path}",
            at + written_s
        ),
    );
    // Read as the scripts read it before (the wall clock taken for UTC): late by Paris's
    // offset of then, the error this test is about.
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let offset = i64::from(
        paris
            .to_offset(jiff::Timestamp::from_second(at).unwrap())
            .seconds(),
    );
    let said = archive_created(lab, host, &path);
    assert!(
        (said.as_second() - at - offset).abs() <= 1,
        "{path}: archive created at {said} (as UTC), taken at {at} in Paris (+{offset} s)"
    );
    at
}

/// The DRP's database at the time of the return: prod's 1000 users and an order taken on
/// the DRP, on drp:5433.
pub(crate) fn drp_database(pg: &ScratchPg) {
    pg.sql("postgres", "create database app");
    pg.sql(
        "app",
        "create table users(id serial primary key, name text); \
         insert into users(name) select 'user-' || i from generate_series(1, 1000) as i; \
         insert into users(name) values ('order-42')",
    );
}

/// The DRP's dump for the return, taken now on drp (as the return runbook's exec step would);
/// its capture time as its header says.
pub(crate) fn dump_drp(lab: &Lab) -> jiff::Timestamp {
    lab.sh(
        "drp",
        &format!(
            "mkdir -p {WORK} && pg_dump -Fc -h /run/postgresql -p 5433 -U postgres app -f {RETURN_DUMP}"
        ),
    );
    archive_created(lab, "drp", RETURN_DUMP)
}

/// The guard's script run on `host` as the engine sends it (its raw answer, printed).
pub(crate) fn guard(lab: &Lab, host: &str, op: &str, values: &[(&str, &str)]) -> String {
    let script = db_import::guard_script(op, values).unwrap();
    let raw = lab.lab_sh(&["exec", host, "dash", "-c", &script]);
    eprintln!("guard {op} on {host}:\n{raw}");
    raw
}
