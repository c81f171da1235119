//! The `db_import` step against the lab's real servers, through Vigie's own SSH pool.
//!
//! PostgreSQL: drp's own PostgreSQL is a read-only streaming standby of prod (the lab's
//! replication checks depend on it), so each test starts a separate, writable PostgreSQL 15
//! cluster on drp, port 5433 (its data in `$LAB_DIR/hosts/drp/pg-import-test`, its socket in
//! drp's own /run/postgresql), and stops and removes it when the test ends, before the lab
//! lock is released: no other test ever sees it. That is the DRP host of a real site: a
//! writable server where the imported database becomes the live one. The dump is a real
//! `pg_dump -Fc` of prod's `app` (1000 users), planted on backup-a with the lab helper
//! `pg_dump_to`, fetched by drp over the lab's host-to-host SSH (`transfer_ssh_config`, across
//! the datacenters). The live database `app` of the scratch cluster starts with 3 users, so
//! that which database is live after the switch is plain.
//!
//! MySQL: prod's MariaDB is the primary of drp's replica; the import goes into scratch schemas
//! on it (the live name `vigie_test_app_…`), never `app`, and the replica is checked to still
//! replicate afterwards.

mod common;
#[path = "drp_import/support.rs"]
mod support;

use common::lab::Lab;
use std::time::{Duration, Instant};
use support::{
    Cleanup, PORT, ScratchPg, assert_near, now, pg_spec, plant_pg_dump, pool, run_id, transfer_ssh,
    wait_done,
};
use vigie::drp::db_import::{self, CaptureSource, ImportPhase, ImportSpec};
use vigie::drp::job::{JobId, JobState, Launch};
use vigie::drp::model::{DbKind, HostPath};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_dump_is_imported_verified_and_switched_once() {
    let lab = Lab::require();
    let run = run_id("pgimport");
    let (dump, dumped_at, _clean) = plant_pg_dump(&lab, &run);
    let pg = ScratchPg::start(&lab);
    pg.seed_live();
    // The application is connected to its database: the switch must end its session.
    let mut app_session = pg.hold("app");
    let spec = pg_spec(&lab, &dump, "app", false);
    let pool = pool(&lab);
    let id = JobId::new(&run, 3, 1).unwrap();
    assert_eq!(
        db_import::postcondition(&pool, &spec, &run)
            .await
            .expect("check"),
        None
    );

    let (launch, _) = db_import::start(&pool, &spec, &id).await.expect("start");
    assert_eq!(launch, Launch::Started);
    let p = wait_done(&pool, &spec, &id, Duration::from_secs(60)).await;
    assert_eq!(p.state, JobState::Exited { rc: 0 }, "{:#?}", p.lines);
    assert_eq!(p.phase, Some(ImportPhase::Done));
    let r = p.result.clone().expect("a result");
    let before = spec.before_database(&run).unwrap();
    assert_eq!(r.database, "app");
    assert_eq!(r.previous.as_deref(), Some(before.as_str()));
    assert_eq!(r.verify_output, "1000");
    // The real capture time: when pg_dump started, not the file's date nor the plan's.
    assert_eq!(r.captured_by, CaptureSource::Archive);
    assert_near(r.captured_at, dumped_at);
    let sum = lab.sh("backup-a", &format!("sha256sum '{dump}'"));
    assert_eq!(r.sha256.as_deref(), sum.split_whitespace().next());

    assert!(
        app_session.ended(),
        "the session on the previous app was not ended"
    );
    // The live name holds the import; the previous database is kept whole.
    assert_eq!(pg.sql("app", "select count(*) from users"), "1000");
    assert_eq!(pg.sql(&before, "select count(*) from users"), "3");
    pg.assert_databases(&[before.as_str(), "app", "postgres"]);
    assert_eq!(
        pg.sql(
            "postgres",
            &format!("select datallowconn from pg_database where datname = '{before}'")
        ),
        "t",
        "the previous database accepts sessions again"
    );
    // The fetched copy is gone from the DRP host (the backup server keeps the original).
    let left = lab.try_sh("drp", &format!("ls -A /var/tmp/vigie-import/{run}"));
    assert!(
        !left.status.success(),
        "{}",
        String::from_utf8_lossy(&left.stdout)
    );
    assert!(
        p.summary().starts_with("done: app holds the import"),
        "{}",
        p.summary()
    );

    // The same job again: nothing runs, the report is the same.
    let (launch, st) = db_import::start(&pool, &spec, &id)
        .await
        .expect("start again");
    assert_eq!(launch, Launch::AlreadyThere);
    assert_eq!(st.state, JobState::Exited { rc: 0 });
    let again = db_import::poll(&pool, &spec, &id, 0).await.expect("poll");
    assert_eq!(again.lines, p.lines);
    pg.assert_databases(&[before.as_str(), "app", "postgres"]);

    // The postcondition (resume) reads the same result from the database itself.
    let post = db_import::postcondition(&pool, &spec, &run)
        .await
        .expect("check");
    assert_eq!(post.as_ref(), Some(&r));
    // Another run's postcondition: not its import.
    let other = run_id("other");
    assert_eq!(
        db_import::postcondition(&pool, &spec, &other)
            .await
            .expect("check"),
        None
    );

    // A new attempt of the same run finds it done and changes nothing.
    let id2 = JobId::new(&run, 3, 2).unwrap();
    db_import::start(&pool, &spec, &id2)
        .await
        .expect("start attempt 2");
    let p2 = wait_done(&pool, &spec, &id2, Duration::from_secs(30)).await;
    assert_eq!(p2.result.as_ref(), Some(&r));
    assert!(
        p2.lines
            .iter()
            .any(|l| l.contains("already the database this run imported")),
        "{:#?}",
        p2.lines
    );
    assert_eq!(pg.sql("app", "select count(*) from users"), "1000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_killed_after_the_restore_is_finished_by_a_retry() {
    let lab = Lab::require();
    let run = run_id("pgcrash");
    let (dump, dumped_at, _clean) = plant_pg_dump(&lab, &run);
    let pg = ScratchPg::start(&lab);
    pg.seed_live();
    // A verify query slow enough to kill the job while it runs, after the restore.
    let spec = ImportSpec::new(
        HostPath {
            host: "backup-a".into(),
            path: dump.clone(),
        },
        "drp",
        DbKind::Postgresql,
        "app",
        "select count(*) from users, pg_sleep(3)",
        &transfer_ssh(&lab),
        false,
        None,
    )
    .unwrap()
    .with_port(PORT);
    let pool = pool(&lab);
    let id = JobId::new(&run, 3, 1).unwrap();
    let (_, st) = db_import::start(&pool, &spec, &id).await.expect("start");
    let t = Instant::now();
    loop {
        let p = db_import::poll(&pool, &spec, &id, 0).await.expect("poll");
        if p.phase == Some(ImportPhase::Verifying) {
            break;
        }
        assert!(
            !p.state.is_finished(),
            "ended before verifying: {:#?}",
            p.lines
        );
        assert!(t.elapsed() < Duration::from_secs(30), "{:#?}", p.lines);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The crash: every process of the job killed at once (SIGKILL to its process group).
    let dir = st.dir.clone();
    lab.sh("drp", &format!("kill -KILL -- -$(cat '{dir}/pid')"));
    let p = wait_done(&pool, &spec, &id, Duration::from_secs(10)).await;
    assert!(
        matches!(p.state, JobState::Vanished { .. }),
        "{:?}",
        p.state
    );
    assert!(p.error.is_some());
    assert_eq!(p.result, None);

    // Not done: the live database is still the old one; the restore is complete and marked.
    assert_eq!(
        db_import::postcondition(&pool, &spec, &run)
            .await
            .expect("check"),
        None
    );
    assert_eq!(pg.sql("app", "select count(*) from users"), "3");
    let new = spec.new_database(&run).unwrap();
    let comment = pg.sql(
        "postgres",
        &format!(
            "select shobj_description(oid, 'pg_database') from pg_database where datname = '{new}'"
        ),
    );
    assert!(
        comment.starts_with(&format!("vigie-import run={run} state=restored ")),
        "{comment}"
    );

    // The retry (a new attempt) goes on from there: no new fetch, no new restore.
    let id2 = JobId::new(&run, 3, 2).unwrap();
    let (launch, _) = db_import::start(&pool, &spec, &id2).await.expect("retry");
    assert_eq!(launch, Launch::Started);
    let p = wait_done(&pool, &spec, &id2, Duration::from_secs(60)).await;
    assert_eq!(p.state, JobState::Exited { rc: 0 }, "{:#?}", p.lines);
    assert!(
        p.lines.iter().any(|l| l
            .contains("already holds this run's complete restore: not fetched nor restored again")),
        "{:#?}",
        p.lines
    );
    assert!(!p.lines.iter().any(|l| l == "Restoring"), "{:#?}", p.lines);
    let r = p.result.expect("a result");
    assert_eq!(r.verify_output, "1000");
    assert_near(r.captured_at, dumped_at);
    assert_eq!(pg.sql("app", "select count(*) from users"), "1000");
    let before = spec.before_database(&run).unwrap();
    assert_eq!(pg.sql(&before, "select count(*) from users"), "3");
    pg.assert_databases(&[before.as_str(), "app", "postgres"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drill_replaces_the_previous_drill_and_leaves_the_live_database_alone() {
    let lab = Lab::require();
    let run = run_id("pgdrill");
    let (dump, dumped_at, _clean) = plant_pg_dump(&lab, &run);
    let pg = ScratchPg::start(&lab);
    pg.seed_live();
    // What a previous drill left, with someone still connected to it.
    pg.sql("postgres", "create database app_drill");
    pg.sql("app_drill", "create table old_drill(a int)");
    let mut drill_session = pg.hold("app_drill");
    let mut live_session = pg.hold("app");
    let spec = pg_spec(&lab, &dump, "app_drill", true);
    assert!(spec.preview(&run).iter().any(|l| l.contains("no switch")));
    let pool = pool(&lab);
    let id = JobId::new(&run, 3, 1).unwrap();
    db_import::start(&pool, &spec, &id).await.expect("start");
    let p = wait_done(&pool, &spec, &id, Duration::from_secs(60)).await;
    assert_eq!(p.state, JobState::Exited { rc: 0 }, "{:#?}", p.lines);
    assert!(
        p.lines
            .iter()
            .any(|l| l.contains("dropping app_drill: a previous drill's database")),
        "{:#?}",
        p.lines
    );
    let r = p.result.expect("a result");
    assert_eq!(
        (r.database.as_str(), r.previous.as_deref()),
        ("app_drill", None)
    );
    assert!(
        drill_session.ended(),
        "the session on the previous drill's database stayed"
    );
    assert!(
        matches!(live_session.0.try_wait(), Ok(None)),
        "a drill ended a session on the live database"
    );
    drop(live_session);
    assert_eq!(r.verify_output, "1000");
    assert_near(r.captured_at, dumped_at);
    // The live database is untouched; nothing was switched or kept aside.
    assert_eq!(pg.sql("app", "select count(*) from users"), "3");
    pg.assert_databases(&["app", "app_drill", "postgres"]);
    assert_eq!(pg.sql("app_drill", "select count(*) from users"), "1000");
    assert_eq!(
        pg.sql(
            "app_drill",
            "select count(*) from pg_tables where tablename = 'old_drill'"
        ),
        "0"
    );
    assert_eq!(
        db_import::postcondition(&pool, &spec, &run)
            .await
            .expect("check"),
        Some(r)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mysql_dump_is_imported_into_a_scratch_schema_and_switched_table_by_table() {
    let lab = Lab::require();
    let run = run_id("myimport");
    let n = std::process::id();
    let live = format!("vigie_test_app_{n}");
    let dir = format!("/var/backups/vigie-import-{run}");
    let spec = ImportSpec::new(
        HostPath {
            host: "backup-a".into(),
            path: format!("{dir}/app.sql.gz"),
        },
        "prod",
        DbKind::Mysql,
        &live,
        "select count(*) from users",
        &transfer_ssh(&lab),
        false,
        Some(now() - jiff::SignedDuration::from_secs(60)),
    )
    .unwrap();
    let before = spec.before_database(&run).unwrap();
    let new = spec.new_database(&run).unwrap();
    let _clean = Cleanup {
        lab: &lab,
        run: run.clone(),
        paths: vec![("backup-a", dir.clone())],
    };
    struct DropSchemas<'a>(&'a Lab, Vec<String>);
    impl Drop for DropSchemas<'_> {
        fn drop(&mut self) {
            for s in &self.1 {
                let _ = self
                    .0
                    .try_sh("prod", &format!("mysql -e 'DROP DATABASE IF EXISTS `{s}`'"));
            }
        }
    }
    let _schemas = DropSchemas(&lab, vec![live.clone(), before.clone(), new.clone()]);
    // The live schema of the site (scratch), and a real mysqldump of prod's `app` on backup-a.
    lab.sh("prod", &format!("mysql -e 'CREATE DATABASE `{live}`; CREATE TABLE `{live}`.old (a int); INSERT INTO `{live}`.old VALUES (1)'"));
    lab.sh("backup-a", &format!("mkdir -p '{dir}'"));
    let transfer = lab.dir().join("transfer_ssh_config");
    lab.sh(
        "prod",
        &format!(
            "set -o pipefail; mysqldump --single-transaction app | gzip | ssh -F '{}' backup-a \"cat > '{dir}/app.sql.gz'\"",
            transfer.display()
        ),
    );
    let pool = pool(&lab);
    let id = JobId::new(&run, 3, 1).unwrap();
    db_import::start(&pool, &spec, &id).await.expect("start");
    let p = wait_done(&pool, &spec, &id, Duration::from_secs(60)).await;
    assert_eq!(p.state, JobState::Exited { rc: 0 }, "{:#?}", p.lines);
    let r = p.result.expect("a result");
    assert_eq!(r.database, live);
    assert_eq!(r.previous.as_deref(), Some(before.as_str()));
    assert_eq!(r.verify_output, "1000");
    // mysqldump writes no capture time: the plan's is journaled, and said to be so.
    assert_eq!(r.captured_by, CaptureSource::Backup);

    let q = |sql: &str| {
        lab.lab_sh(&[
            "exec",
            "prod",
            "mysql",
            "--batch",
            "--skip-column-names",
            "-e",
            sql,
        ])
        .trim()
        .to_string()
    };
    assert_eq!(q(&format!("SELECT COUNT(*) FROM `{live}`.users")), "1000");
    assert_eq!(q(&format!("SELECT a FROM `{before}`.old")), "1");
    assert_eq!(
        q(&format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{new}'"
        )),
        "0"
    );
    assert_eq!(
        q("SELECT COUNT(*) FROM app.users"),
        "1000",
        "prod's own app is untouched"
    );
    assert_eq!(
        db_import::postcondition(&pool, &spec, &run)
            .await
            .expect("check"),
        Some(r)
    );

    // Replication from prod to drp still works, and carried the scratch schemas.
    let t = Instant::now();
    loop {
        let status = lab.sh("drp", "mysql -e 'SHOW REPLICA STATUS\\G'");
        let seen = lab.lab_sh(&[
            "exec",
            "drp",
            "mysql",
            "--batch",
            "--skip-column-names",
            "-e",
            &format!(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{live}' \
                 AND TABLE_NAME = 'users'"
            ),
        ]);
        if status.contains("Slave_SQL_Running: Yes")
            && status.contains("Slave_IO_Running: Yes")
            && seen.trim() == "1"
        {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the replica on drp: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
