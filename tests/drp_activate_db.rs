//! The database import through the DRP engine, end to end on the lab (SPEC §5 and §6), with
//! the real `vigie` binary.
//!
//! - An emergency activation (production cut off) copies the newest files and imports the
//!   newest dump of `userdb` into the DRP's writable PostgreSQL (a scratch cluster on drp,
//!   port 5433: drp's own PostgreSQL is a read-only standby of prod). The dumps are real
//!   `pg_dump -Fc` of prod's `app` (table `users`, 1000 rows), taken under `faketime` so
//!   that their own archive headers say they were taken hours ago (file dates the same): 3 h
//!   on backup-a, 20 h (older) on backup-b. The plan must pick backup-a, the journal must
//!   record the dump's real capture time and the data loss it implies.
//! - A dump taken on a machine in Paris (its header holds Paris's wall clock, no zone), its
//!   file written a few minutes later: the journal records the instant it really started, not
//!   the wall clock read as UTC (an hour later), nor the file's date.
//! - A return refuses to replace production's live database once it changed after the DRP's
//!   dump (production's database: a scratch cluster on prod, port 5433), nothing imported;
//!   with a dump taken after that change, the same return imports.

mod common;
#[allow(dead_code)] // the helpers of tests/drp_import.rs this file does not use
#[path = "drp_import/support.rs"]
mod support;

#[path = "drp_activate_db/helpers.rs"]
mod helpers;

use common::lab::Lab;
use common::site::{HOUR, activate_order_and_copy, files_dataset, now};
use helpers::*;
use serde_json::Value;
use std::time::{Duration, Instant};
use support::ScratchPg;
use vigie::drp::db_import::{self, Evidence, LiveReading};

#[tokio::test(flavor = "multi_thread")]
async fn an_emergency_activation_imports_the_newest_dump_and_journals_its_capture_time() {
    let lab = Lab::require();
    let began = Instant::now();
    clean(&lab);
    // Production's data, as the site's users left it.
    assert_eq!(
        lab.pg_sql("prod", "select count(*), max(id) from users")
            .trim(),
        "1000|1000"
    );
    assert_eq!(
        lab.pg_sql("prod", "select name from users where id = 437")
            .trim(),
        "user-437"
    );
    let age = 3 * HOUR;
    let at_a = plant_dump(&lab, "backup-a", "app-a.dump", age);
    plant_dump(&lab, "backup-b", "app-b.dump", 20 * HOUR);
    plant_files(&lab);
    // The DRP's writable server, holding an older `app` (3 users) the import replaces.
    let pg = ScratchPg::start(&lab);
    pg.seed_live();
    let site = Site::new(
        &lab,
        &format!(
            "{}\n{}\n{}\n[[runbooks.activate.steps]]\nkind = \"db_import\"\n\
             title = \"Import the user database\"\nfrom = \"newest:userdb\"\nto = \"drp\"\n\
             verify = \"select count(*) from users\"\n",
            drp_and_userdb(&lab),
            files_dataset("48h"),
            activate_order_and_copy("drp:/srv/www/"),
        ),
    );

    let cut = lab.cut("prod");
    // The plan names backup-a's dump, its age, and the port of the DRP's server.
    let out = site
        .vigie(&["drp", "plan", "activate", "--mode", "emergency", "--json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let planned_at = now();
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let userdb = plan["backups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["dataset"] == "userdb")
        .unwrap_or_else(|| panic!("{plan:#}"));
    assert_eq!(userdb["host"]["name"], "backup-a", "{plan:#}");
    assert_eq!(userdb["name"], "app-a.dump");
    assert_eq!(secs(&userdb["captured_at"]), at_a);
    let window = plan["loss_window_s"].as_i64().unwrap();
    assert!(
        window >= age && window <= planned_at - at_a,
        "loss window {window} s, the dump is {age} s old"
    );
    let step = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"]["kind"] == "db_import")
        .unwrap();
    assert_eq!(step["number"], 3);
    assert_eq!(step["step"]["from"]["host"]["name"], "backup-a");
    assert_eq!(
        step["step"]["from"]["path"],
        "/var/backups/userdb/app-a.dump"
    );
    assert_eq!(step["step"]["restore"]["port"], 5433);
    let preview: Vec<&str> = step["preview"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        preview
            .iter()
            .any(|l| l
                .starts_with("drp: psql -p 5433 -d app_vigie_run -c 'select count(*) from users'")),
        "{preview:#?}"
    );
    let shown = site
        .vigie(&["drp", "plan", "activate", "--mode", "emergency"])
        .await;
    let t = text(&shown);
    assert!(
        t.contains("Data-loss window: 3 h of userdb") && t.contains("on backup-a (dc1)"),
        "{t}"
    );

    // The activation, production down.
    let out = site.run("activate", "emergency", "ORD-DB-1", "drp").await;
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    drop(cut);
    assert!(
        t.contains("RUN DONE: every step done; active site: DRP"),
        "{t}"
    );
    assert!(t.contains("prod did not answer"), "{t}");

    // The rows are on the DRP's server, the previous database kept beside them.
    assert_eq!(pg.sql("app", "select count(*) from users"), "1000");
    assert_eq!(
        pg.sql("app", "select name from users where id = 437"),
        "user-437"
    );
    let dbs = pg.databases();
    let before = dbs
        .iter()
        .find(|d| d.starts_with("app_before_"))
        .unwrap_or_else(|| panic!("{dbs:?}"));
    assert_eq!(pg.sql(before, "select count(*) from users"), "3");
    assert_eq!(
        lab.sh("drp", "cat /srv/www/index.html"),
        "page from backup-b\n"
    );

    // The journal: the verify query's answer, the dump's real capture time, the data loss.
    let j = site.journal();
    let import = j
        .iter()
        .rfind(|e| e["event"] == "step" && e["step"] == 3)
        .unwrap();
    assert_eq!(import["state"], "DONE", "{import:#}");
    assert_eq!(import["kind"], "db_import");
    assert_eq!(import["verification"], "verify query: 1000");
    assert_eq!(import["verify_output"], "1000");
    assert_eq!(import["captured_by"], "archive");
    let captured = secs(&import["captured_at"]);
    assert!(
        (captured - at_a).abs() <= 2,
        "captured_at {} but the dump was planted as of {at_a}",
        import["captured_at"]
    );
    let loss = import["data_loss_s"].as_i64().unwrap();
    let ended = secs(&import["ended_at"]);
    assert!(
        (loss - (ended - at_a)).abs() <= 2,
        "data loss {loss} s, the backup was {} s old when the step ended",
        ended - at_a
    );
    assert!(loss >= age && loss <= age + began.elapsed().as_secs() as i64 + 2);
    assert_eq!(import["source"], "backup-a:/var/backups/userdb/app-a.dump");
    // The customer's report says the same.
    let export = site.vigie(&["journal", "--export", "json"]).await;
    assert_eq!(export.status.code(), Some(0), "{}", text(&export));
    let events: Value = serde_json::from_slice(&export.stdout).unwrap();
    let reported = events
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["event"] == "step" && e["step"] == 3)
        .unwrap();
    assert_eq!(reported["data_loss_s"], import["data_loss_s"]);
    assert_eq!(reported["captured_at"], import["captured_at"]);
    assert_eq!(j.last().unwrap()["active_site"], "drp");
    drop(pg);
    clean(&lab);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_activation_journals_when_a_dump_taken_in_paris_really_started() {
    let lab = Lab::require();
    clean(&lab);
    // Started 5 h ago in Paris, its file written 4 min later; backup-b's is older.
    let age = 5 * HOUR;
    let at = plant_paris_dump(&lab, "backup-a", "app-paris.dump", age, 240);
    plant_dump(&lab, "backup-b", "app-b.dump", 20 * HOUR);
    let pg = ScratchPg::start(&lab);
    pg.seed_live();
    // The lab's site is in Europe/Paris ([site] timezone); its hosts are in UTC.
    let site = Site::new(
        &lab,
        &format!(
            "{}\n[[runbooks.activate.steps]]\nkind = \"confirm\"\n\
             title = \"Order of the customer received\"\nask = \"order reference\"\n\n\
             [[runbooks.activate.steps]]\nkind = \"db_import\"\n\
             title = \"Import the user database\"\nfrom = \"newest:userdb\"\nto = \"drp\"\n\
             verify = \"select count(*) from users\"\n",
            drp_and_userdb(&lab),
        ),
    );
    let out = site.run("activate", "planned", "ORD-TZ-1", "drp").await;
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert_eq!(pg.sql("app", "select count(*) from users"), "1000");

    let j = site.journal();
    let import = j
        .iter()
        .rfind(|e| e["event"] == "step" && e["step"] == 2)
        .unwrap();
    assert_eq!(import["state"], "DONE", "{import:#}");
    assert_eq!(
        import["source"],
        "backup-a:/var/backups/userdb/app-paris.dump"
    );
    // When the dump really started: not an hour later (its wall clock read as UTC), nor
    // 4 min later (its file's date).
    assert_eq!(
        import["captured_by"], "archive",
        "{import:#}\n(captured_by \"backup\" with \"in every zone tried (Etc/UTC)\": the engine \
         did not give the import the site's zone, ImportSpec::with_site_zone)"
    );
    let captured = secs(&import["captured_at"]);
    assert!(
        (captured - at).abs() <= 2,
        "captured_at {} but the dump started at {at} ({} s off)",
        import["captured_at"],
        captured - at
    );
    let loss = import["data_loss_s"].as_i64().unwrap();
    let ended = secs(&import["ended_at"]);
    assert!((loss - (ended - at)).abs() <= 2, "data loss {loss} s");
    // How it was read, journaled and shown.
    let note = import["captured_note"].as_str().unwrap_or_default();
    assert!(
        note.starts_with("the archive's wall clock ")
            && note.contains(" read in Europe/Paris (")
            && note.contains("in Etc/UTC it would be after the dump file was written"),
        "{import:#}"
    );
    let shown = t
        .lines()
        .find(|l| l.contains("| data captured at "))
        .unwrap_or_else(|| panic!("no capture line in {t}"));
    assert!(
        shown.contains(": the archive's wall clock ") && shown.contains(" read in Europe/Paris ("),
        "{shown}"
    );
    drop(pg);
    clean(&lab);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_return_never_replaces_a_production_database_changed_after_the_dump() {
    let lab = Lab::require();
    clean(&lab);
    // The DRP's server keeps commit times (the guard's other way of reading).
    let drp_pg = ScratchPg::start_with(&lab, "drp", "-c track_commit_timestamp=on");
    drp_database(&drp_pg);
    // Production's database server (beside the lab's own on 5432), with its old `app`.
    let prod_pg = ScratchPg::start_on(&lab, "prod");
    prod_pg.seed_live();
    prod_pg.sql("postgres", "checkpoint");
    let site = Site::new(
        &lab,
        &format!(
            r#"{}
[[runbooks.activate.steps]]
kind = "confirm"
title = "Order of the customer received"
ask = "order reference"

[[runbooks.return.steps]]
kind = "confirm"
title = "Order to return to production"
ask = "order reference"

[[runbooks.return.steps]]
kind = "db_import"
title = "Import the database from the DRP server"
from = "drp:{RETURN_DUMP}"
to = "prod"
restore = {{ kind = "postgresql", database = "app", port = 5433 }}
verify = "select count(*) from users"
"#,
            drp_and_userdb(&lab)
        ),
    );
    // The DRP is the active site.
    let out = site.run("activate", "planned", "ORD-R-1", "drp").await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let plan = site
        .vigie(&["drp", "plan", "return", "--mode", "planned"])
        .await;
    let t = text(&plan);
    assert!(
        t.contains(
            "return: refused, before anything is done, if the live database app on prod \
             changed after the dump was captured"
        ),
        "{t}"
    );

    // The DRP's dump, then a write on production's live database after it.
    let dumped = dump_drp(&lab);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    prod_pg.sql(
        "app",
        "insert into users(name) values ('written-after-the-dump')",
    );
    let out = site.run("return", "planned", "ORD-R-2", "prod").await;
    let t = text(&out);
    eprintln!("{t}");
    assert_eq!(out.status.code(), Some(1), "{t}");
    for want in [
        "precondition: the live postgresql database app on prod holds data newer than its \
         source: its newest change is of ",
        &format!(
            "the dump drp:{RETURN_DUMP} was captured at {}",
            dumped.strftime("%Y-%m-%d %H:%M:%S UTC")
        ),
        "(when the dump started, by its archive header: the archive's wall clock ",
        "; importing would overwrite it",
        "nothing was done",
    ] {
        assert!(t.contains(want), "missing {want:?} in {t}");
    }
    // Nothing imported: production's database as it was, no other database made.
    prod_pg.assert_databases(&["app", "postgres"]);
    assert_eq!(prod_pg.sql("app", "select count(*) from users"), "4");
    let j = site.journal();
    let import = j
        .iter()
        .rfind(|e| e["event"] == "step" && e["step"] == 2)
        .unwrap();
    assert_eq!(import["state"], "FAILED", "{import:#}");
    assert!(
        !lab.try_sh("prod", &format!("ls -d {JOBS}/prod/*/2-*-import"))
            .status
            .success(),
        "no import job was started"
    );

    // What the guard read, by its own script: production's files newer than the dump; the
    // DRP's server, which keeps commit times, its newest commit; the dump's header.
    let live = |host: &str, db: &str| {
        let raw = guard(
            &lab,
            host,
            "live",
            &[
                ("VG_KIND", "postgresql"),
                ("VG_DB", db),
                ("VG_PORT", "5433"),
                ("VG_SUDO", "0"),
            ],
        );
        db_import::parse_live(&raw).unwrap_or_else(|e| panic!("{e}: {raw}"))
    };
    let LiveReading::Exists(seen) = live("prod", "app") else {
        panic!("no app on prod")
    };
    assert!(
        matches!(&seen[..], [Evidence::Newest { at, how }]
            if *at > dumped && how.starts_with("the newest of its ")
                && how.contains("files under /") && how.contains("/pg-import-test/data/base/")),
        "{seen:?}"
    );
    let LiveReading::Exists(seen) = live("drp", "app") else {
        panic!("no app on drp")
    };
    assert!(
        matches!(&seen[..], [Evidence::Newest { at, how }]
            if *at < dumped && how == "the newest commit on the server, any database"),
        "{seen:?}"
    );
    assert_eq!(live("prod", "no_such_db"), LiveReading::Absent);
    let raw = guard(&lab, "drp", "source", &[("VG_PATH", RETURN_DUMP)]);
    let source = db_import::parse_source(&raw).unwrap_or_else(|e| panic!("{e}: {raw}"));
    assert_eq!(source.magic.as_deref(), Some("5047444d50"));
    // drp is in UTC: its wall clock is the instant, whatever the site's zone.
    assert_eq!(source.zone.as_deref(), Some("Etc/UTC"));
    let read = db_import::capture(&source, None, Some("Europe/Paris")).unwrap();
    assert_eq!(read.at, dumped, "{read:?}");

    // The operator saves production's change into the DRP's data, and takes a new dump: the
    // return goes on. (Production is quiet meanwhile: a CHECKPOINT writes what reading it
    // left, as a maintenance window would.)
    drp_pg.sql(
        "app",
        "insert into users(name) values ('written-after-the-dump')",
    );
    prod_pg.sql("postgres", "checkpoint");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    dump_drp(&lab);
    let out = site.run("return", "planned", "ORD-R-3", "prod").await;
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(
        t.contains("the live postgresql database app on prod holds nothing newer than the dump"),
        "{t}"
    );
    assert!(t.contains("active site: PRODUCTION"), "{t}");
    assert_eq!(prod_pg.sql("app", "select count(*) from users"), "1002");
    assert_eq!(
        prod_pg.sql("app", "select count(*) from users where name = 'order-42'"),
        "1"
    );
    let kept = prod_pg
        .databases()
        .into_iter()
        .find(|d| d.starts_with("app_before_"))
        .unwrap();
    assert_eq!(prod_pg.sql(&kept, "select count(*) from users"), "4");
    drop(prod_pg);
    drop(drp_pg);
    clean(&lab);
}
