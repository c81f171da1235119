//! Helpers of tests/drp_import.rs: the scratch PostgreSQL cluster on drp, client sessions
//! held open on it, the planted dump, the cleanup of what a test leaves on the lab hosts.

use crate::common::lab::Lab;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};
use vigie::drp::db_import::{self, ImportProgress, ImportSpec};
use vigie::drp::job::JobId;
use vigie::drp::model::{DbKind, HostPath};
use vigie::ssh::Pool;

pub(crate) const PORT: u16 = 5433;

pub(crate) fn pool(lab: &Lab) -> Pool {
    let cfg = vigie::config::load(&lab.config_path()).expect("the lab configuration");
    Pool::new(
        vigie::collect::routes(&cfg),
        vigie::collect::transport_options(&cfg, false),
    )
}

/// A run id no other test (nor an earlier run of this one) uses.
pub(crate) fn run_id(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("test-{tag}-{}-{nanos}", std::process::id())
}

pub(crate) fn transfer_ssh(lab: &Lab) -> String {
    format!("ssh -F {}", lab.dir().join("transfer_ssh_config").display())
}

/// Removes, even when the test fails, what a test left: its jobs, its fetched dumps, its
/// planted dump on backup-a.
pub(crate) struct Cleanup<'a> {
    pub(crate) lab: &'a Lab,
    pub(crate) run: String,
    /// (host, path) to remove.
    pub(crate) paths: Vec<(&'static str, String)>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        // "[t]est-…" matches the job's processes, not the shell running pkill.
        let run = format!("[{}]{}", &self.run[..1], &self.run[1..]);
        let jobs = "/root/.local/state/vigie/jobs";
        for host in ["drp", "prod"] {
            let _ = self.lab.try_sh(
                host,
                &format!(
                    "pkill -KILL -f -- '{run}'; rm -rf {jobs}/*/{run} /var/tmp/vigie-import/{run}; \
                     rmdir {jobs}/* {jobs} /var/tmp/vigie-import 2>/dev/null; true"
                ),
            );
        }
        for (host, path) in &self.paths {
            let _ = self.lab.try_sh(host, &format!("rm -rf '{path}'"));
        }
    }
}

/// `lab.sh exec HOST psql …` on database `db` of the scratch cluster (port `port`), as
/// postgres through the host's own socket directory.
fn psql<'s>(host: &'s str, db: &'s str, port: &'s str) -> [&'s str; 11] {
    [
        "exec",
        host,
        "psql",
        "-h",
        "/run/postgresql",
        "-p",
        port,
        "-U",
        "postgres",
        "-d",
        db,
    ]
}

/// A writable PostgreSQL cluster on a lab host (drp by default), port 5433, listening on the
/// host's own unix socket only: stopped and removed on drop.
pub(crate) struct ScratchPg<'a> {
    lab: &'a Lab,
    host: &'static str,
    dir: PathBuf,
    bin: String,
}

impl<'a> ScratchPg<'a> {
    pub(crate) fn start(lab: &'a Lab) -> ScratchPg<'a> {
        ScratchPg::start_on(lab, "drp")
    }

    /// The same on `host` (prod: production's database server of a `return`, beside the
    /// lab's own on 5432).
    pub(crate) fn start_on(lab: &'a Lab, host: &'static str) -> ScratchPg<'a> {
        ScratchPg::start_with(lab, host, "")
    }

    /// The same with more server options (`-c name=value …`).
    pub(crate) fn start_with(lab: &'a Lab, host: &'static str, options: &str) -> ScratchPg<'a> {
        let out = Command::new("sh")
            .arg("-c")
            .arg("ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1")
            .output()
            .expect("sh");
        let bin = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(!bin.is_empty(), "PostgreSQL is not installed");
        let pg = ScratchPg {
            lab,
            host,
            dir: lab.dir().join(format!("hosts/{host}/pg-import-test")),
            bin,
        };
        pg.stop(); // a cluster left by a test that was killed
        let data = pg.dir.join("data");
        let ok = |c: &mut Command| {
            let out = c.current_dir("/").output().expect("command");
            assert!(
                out.status.success(),
                "{c:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        ok(Command::new("install")
            .args(["-d", "-o", "postgres", "-g", "postgres", "-m", "0700"])
            .arg(&pg.dir));
        ok(Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(format!("{}/initdb", pg.bin))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ]));
        let pg_ctl = format!("{}/pg_ctl", pg.bin);
        let log = pg.dir.join("postgres.log");
        lab.lab_sh(&[
            "exec",
            host,
            "runuser",
            "-u",
            "postgres",
            "--",
            &pg_ctl,
            "-D",
            &data.to_string_lossy(),
            "-l",
            &log.to_string_lossy(),
            "-w",
            "-t",
            "20",
            "-o",
            &format!(
                "-p {PORT} -c listen_addresses= -k /run/postgresql -c fsync=off -c max_connections=20 \
                 -c shared_buffers=8MB -c dynamic_shared_memory_type=mmap {options}"
            ),
            "start",
        ]);
        pg
    }

    pub(crate) fn stop(&self) {
        let data = self.dir.join("data");
        if data.join("postmaster.pid").exists() {
            let _ = self.lab.try_sh(
                self.host,
                &format!(
                    "runuser -u postgres -- {}/pg_ctl -D '{}' -m immediate -w -t 20 stop",
                    self.bin,
                    data.display()
                ),
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// psql -XAt on database `db` of the scratch cluster.
    pub(crate) fn sql(&self, db: &str, sql: &str) -> String {
        let port = PORT.to_string();
        let mut args = psql(self.host, db, &port).to_vec();
        args.extend(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql]);
        self.lab.lab_sh(&args).trim().to_string()
    }

    /// The live database `app` of the DRP before the import: 3 users.
    pub(crate) fn seed_live(&self) {
        self.sql("postgres", "create database app");
        self.sql(
            "app",
            "create table users(id serial primary key, name text); \
             insert into users(name) select 'old-' || i from generate_series(1, 3) as i",
        );
    }

    /// The databases of the cluster (templates aside), sorted.
    pub(crate) fn databases(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .sql(
                "postgres",
                "select datname from pg_database where not datistemplate",
            )
            .lines()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    }

    pub(crate) fn assert_databases(&self, want: &[&str]) {
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        want.sort();
        assert_eq!(self.databases(), want);
    }
}

/// A client session open on a database of the scratch cluster (an application still
/// connected), killed on drop if it is still there.
pub(crate) struct Session(pub(crate) std::process::Child);

impl Session {
    /// Whether the server ended it, within a few seconds.
    pub(crate) fn ended(&mut self) -> bool {
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.0.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl ScratchPg<'_> {
    pub(crate) fn hold(&self, db: &str) -> Session {
        let port = PORT.to_string();
        let child = Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/lab.sh"))
            .args(psql(self.host, db, &port))
            .args(["-X", "-q", "-c", "select pg_sleep(120)"])
            .env("LAB_DIR", self.lab.dir())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("psql");
        let t = Instant::now();
        let count = format!("select count(*) from pg_stat_activity where datname = '{db}'");
        while self.sql("postgres", &count) == "0" {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "the session on {db} did not open"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Session(child)
    }
}

impl Drop for ScratchPg<'_> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls the import until its job ends.
pub(crate) async fn wait_done(
    pool: &Pool,
    spec: &ImportSpec,
    id: &JobId,
    within: Duration,
) -> ImportProgress {
    let t = Instant::now();
    loop {
        let p = db_import::poll(pool, spec, id, 0).await.expect("poll");
        if p.state.is_finished() {
            return p;
        }
        assert!(
            t.elapsed() < within,
            "{id} still {:?} after {within:?}: {:#?}",
            p.state,
            p.lines
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub(crate) fn now() -> jiff::Timestamp {
    jiff::Timestamp::now()
}

/// Plants a real `pg_dump -Fc` of prod's `app` on backup-a; returns its path, the time the
/// dump started (by this machine's clock, which the lab hosts share) and the cleanup of the
/// run (its jobs, and the dump).
pub(crate) fn plant_pg_dump<'a>(lab: &'a Lab, run: &str) -> (String, jiff::Timestamp, Cleanup<'a>) {
    let dir = format!("/var/backups/vigie-import-{run}");
    lab.sh("backup-a", &format!("mkdir -p '{dir}'"));
    let path = format!("{dir}/app.dump");
    let started = now();
    // Dated when it was written (the dump started before that: the archive's header is read
    // within that bound); the plan's capture time (`pg_spec`) says 10 min ago: the header must
    // win.
    lab.pg_dump_to("prod", "backup-a", &path, 0);
    let clean = Cleanup {
        lab,
        run: run.to_string(),
        paths: vec![("backup-a", dir)],
    };
    (path, started, clean)
}

pub(crate) fn pg_spec(lab: &Lab, dump: &str, database: &str, drill: bool) -> ImportSpec {
    ImportSpec::new(
        HostPath {
            host: "backup-a".into(),
            path: dump.into(),
        },
        "drp",
        DbKind::Postgresql,
        database,
        "select count(*) from users",
        &transfer_ssh(lab),
        drill,
        Some(now() - jiff::SignedDuration::from_secs(600)),
    )
    .expect("spec")
    .with_port(PORT)
}

pub(crate) fn assert_near(at: Option<jiff::Timestamp>, want: jiff::Timestamp) {
    let at = at.expect("a capture time");
    let d = (at.as_second() - want.as_second()).abs();
    assert!(d <= 2, "captured at {at}, the dump started at {want}");
}
