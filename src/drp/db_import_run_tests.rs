//! The job's output and the check's answer, read: real outputs of the lab, and any input.

use super::tests::{exited, hp, my_spec, pg_spec, ts};
use super::*;
use crate::drp::job::JobState;
use std::time::Duration;

// Real outputs of db_import.sh, captured on the Vigie lab (Debian 12, PostgreSQL 15.18,
// MariaDB 10.11.19) on 2026-11-29 by running the script as the job does (`sh`, on drp for
// PostgreSQL into a writable cluster on port 5433, on prod for MariaDB into a scratch schema),
// from a dump planted on backup-a: `pg_dump -Fc app` of prod, and `mysqldump app | gzip`.

/// A first PostgreSQL import that switched (run 20261129T031500Z-fx01).
const PG_IMPORT: &str = "\
VIGIE_IMPORT phase fetching
VIGIE_IMPORT fetch backup-a:/var/backups/vigie-h10-exp/app.dump 7634
VIGIE_IMPORT fetched 24285ad0b4fd6c81416059f2341e8cac9a8f65b376dc73b65cde81c271541fb8 7634
VIGIE_IMPORT format custom
VIGIE_IMPORT archive Archive created at 2026-11-29 03:12:13 UTC
VIGIE_IMPORT archive dbname: app
VIGIE_IMPORT archive Dumped from database version: 15.18 (Debian 15.18-0+deb12u1)
VIGIE_IMPORT archive Dumped by pg_dump version: 15.18 (Debian 15.18-0+deb12u1)
VIGIE_IMPORT captured_at 2026-11-29T03:12:13Z archive
VIGIE_IMPORT phase restoring
VIGIE_IMPORT restored app_vigie_20261129t031500z_fx01
VIGIE_IMPORT phase verifying
VIGIE_IMPORT verify 1000
VIGIE_IMPORT phase switching
VIGIE_IMPORT phase done
VIGIE_IMPORT database app
VIGIE_IMPORT previous app_before_20261129t031500z_fx01
VIGIE_IMPORT mark 76696769652d696d706f72742072756e3d3230323631313239543033313530305a2d667830312073746174653d76657269666965642063617074757265645f61743d323032362d31312d32395430333a31323a31335a2063617074757265645f62793d61726368697665207368613235363d32343238356164306234666436633831343136303539663233343165386361633961386636356233373664633733623635636465383163323731353431666238200a7665726966793a2031303030
";

/// The verify query names a table the dump lacks (run …-fx02): the job ends with exit 1.
const PG_VERIFY_FAILS: &str = "\
VIGIE_IMPORT phase fetching
VIGIE_IMPORT fetch backup-a:/var/backups/vigie-h10-exp/app.dump 7634
VIGIE_IMPORT fetched 24285ad0b4fd6c81416059f2341e8cac9a8f65b376dc73b65cde81c271541fb8 7634
VIGIE_IMPORT format custom
VIGIE_IMPORT archive Archive created at 2026-11-29 03:12:13 UTC
VIGIE_IMPORT archive dbname: app
VIGIE_IMPORT archive Dumped from database version: 15.18 (Debian 15.18-0+deb12u1)
VIGIE_IMPORT archive Dumped by pg_dump version: 15.18 (Debian 15.18-0+deb12u1)
VIGIE_IMPORT captured_at 2026-11-29T03:12:13Z archive
VIGIE_IMPORT phase restoring
VIGIE_IMPORT restored app_vigie_20261129t031500z_fx02
VIGIE_IMPORT phase verifying
VIGIE_IMPORT verify ERROR:  relation \"nope\" does not exist
VIGIE_IMPORT verify LINE 1: select count(*) from nope
VIGIE_IMPORT verify                              ^
VIGIE_IMPORT error the verify query failed on app_vigie_20261129t031500z_fx02 (psql exit 1)
";

/// A dump whose tables belong to a role the target lacks (run …-fx03): exit 1.
const PG_RESTORE_FAILS: &str = "\
VIGIE_IMPORT phase fetching
VIGIE_IMPORT fetch backup-a:/var/backups/vigie-h10-exp/ownd.dump 1233
VIGIE_IMPORT fetched abf5c29806a51f4d8f16ff9abe4131f35acde729f1e2d1eff3eaac31bcf6b903 1233
VIGIE_IMPORT format custom
VIGIE_IMPORT archive Archive created at 2026-11-29 03:16:51 UTC
VIGIE_IMPORT archive dbname: ownd
VIGIE_IMPORT archive Dumped from database version: 15.18 (Debian 15.18-0+deb12u1)
VIGIE_IMPORT archive Dumped by pg_dump version: 15.18 (Debian 15.18-0+deb12u1)
VIGIE_IMPORT captured_at 2026-11-29T03:16:51Z archive
VIGIE_IMPORT phase restoring
  ERROR:  role \"appowner\" does not exist
VIGIE_IMPORT error the restore into app_vigie_20261129t031500z_fx03 on drp failed (reader exit 0, psql exit 3)
";

/// The check (postcondition) after PG_IMPORT.
const PG_CHECK: &str = "\
VIGIE_IMPORT live ours-verified
VIGIE_IMPORT new absent
VIGIE_IMPORT database app
VIGIE_IMPORT previous app_before_20261129t031500z_fx01
VIGIE_IMPORT mark 76696769652d696d706f72742072756e3d3230323631313239543033313530305a2d667830312073746174653d76657269666965642063617074757265645f61743d323032362d31312d32395430333a31323a31335a2063617074757265645f62793d61726368697665207368613235363d32343238356164306234666436633831343136303539663233343165386361633961386636356233373664633733623635636465383163323731353431666238200a7665726966793a2031303030
";

/// A MariaDB import of a gzip'd mysqldump into the scratch schema vigie_exp_app (run
/// …-fx05): no capture time in the dump, the plan's is used.
const MY_IMPORT: &str = "\
VIGIE_IMPORT phase fetching
VIGIE_IMPORT fetch backup-a:/var/backups/vigie-h10-exp/app.sql.gz 5973
VIGIE_IMPORT fetched d74c63c39a4c6614e0484d3c71ee134e8a71dfc31fd54e49a63848a59d5d3b50 5973
VIGIE_IMPORT format gzip
VIGIE_IMPORT captured_at 2026-11-29T03:12:00Z backup
VIGIE_IMPORT phase restoring
VIGIE_IMPORT restored vigie_exp_app_vigie_20261129t031500z_fx05
VIGIE_IMPORT phase verifying
VIGIE_IMPORT verify 1000
VIGIE_IMPORT phase switching
VIGIE_IMPORT phase done
VIGIE_IMPORT database vigie_exp_app
VIGIE_IMPORT previous vigie_exp_app_before_20261129t031500z_fx05
VIGIE_IMPORT mark 76696769652D696D706F72742072756E3D3230323631313239543033313530305A2D667830352073746174653D76657269666965642063617074757265645F61743D323032362D31312D32395430333A31323A30305A2063617074757265645F62793D6261636B7570207368613235363D64373463363363333961346336363134653034383464336337316565313334653861373164666333316664353465343961363338343861353964356433623530200A7665726966793A20313030300A
";

const RUN1: &str = "20261129T031500Z-fx01";

// ------------------------------------------------------------------------------ parsing

#[test]
fn a_finished_postgresql_import_gives_its_result() {
    let log = parse_log(PG_IMPORT);
    assert_eq!(log.phase, Some(ImportPhase::Done));
    assert_eq!(log.bytes, Some(7634));
    assert_eq!(
        log.sha256.as_deref(),
        Some("24285ad0b4fd6c81416059f2341e8cac9a8f65b376dc73b65cde81c271541fb8")
    );
    assert_eq!(log.format.as_deref(), Some("custom"));
    assert_eq!(log.captured_at, Some(ts("2026-11-29T03:12:13Z")));
    assert_eq!(log.captured_by, Some(CaptureSource::Archive));
    assert_eq!(log.verify, ["1000"]);
    let p = progress(&pg_spec(false), RUN1, &exited(0), PG_IMPORT.as_bytes(), 0);
    let r = p.result.clone().expect("a result");
    assert_eq!(
        r,
        ImportResult {
            verify_output: "1000".into(),
            captured_at: Some(ts("2026-11-29T03:12:13Z")),
            captured_by: CaptureSource::Archive,
            captured_note: None,
            database: "app".into(),
            previous: Some("app_before_20261129t031500z_fx01".into()),
            sha256: Some("24285ad0b4fd6c81416059f2341e8cac9a8f65b376dc73b65cde81c271541fb8".into()),
        }
    );
    assert_eq!(p.error, None);
    assert_eq!(
        p.summary(),
        "done: app holds the import, the previous one kept as app_before_20261129t031500z_fx01"
    );
    // What the operator reads.
    assert!(p.lines.contains(&"Fetching the dump".to_string()));
    assert!(p.lines.contains(
        &"copying backup-a:/var/backups/vigie-h10-exp/app.dump (7634 bytes)".to_string()
    ));
    assert!(
        p.lines
            .contains(&"data captured at 2026-11-29T03:12:13Z (the dump's own header)".to_string())
    );
    assert!(p.lines.contains(&"verify: 1000".to_string()));
    assert!(
        !p.lines.iter().any(|l| l.contains("76696769")),
        "the mark is not for reading"
    );
    // Another run's report is not this run's result.
    let other = progress(
        &pg_spec(false),
        "20261129T031500Z-zz99",
        &exited(0),
        PG_IMPORT.as_bytes(),
        0,
    );
    assert_eq!(other.result, None);
    assert!(other.error.is_some());
}

#[test]
fn a_mysql_import_takes_the_backups_capture_time() {
    let p = progress(
        &my_spec(),
        "20261129T031500Z-fx05",
        &exited(0),
        MY_IMPORT.as_bytes(),
        0,
    );
    let r = p.result.expect("a result");
    assert_eq!(r.captured_at, Some(ts("2026-11-29T03:12:00Z")));
    assert_eq!(r.captured_by, CaptureSource::Backup);
    // MySQL's batch output ends the answer with a line end: not part of it.
    assert_eq!(r.verify_output, "1000");
    assert_eq!(r.database, "vigie_exp_app");
    assert_eq!(
        r.previous.as_deref(),
        Some("vigie_exp_app_before_20261129t031500z_fx05")
    );
    assert!(p.lines.contains(&"a gzip-compressed SQL dump".to_string()));
    assert!(p.lines.contains(
        &"data captured at 2026-11-29T03:12:00Z (as the backup server lists it)".to_string()
    ));
}

#[test]
fn failures_say_where_and_why() {
    let p = progress(
        &pg_spec(false),
        "20261129T031500Z-fx02",
        &exited(1),
        PG_VERIFY_FAILS.as_bytes(),
        0,
    );
    assert_eq!(p.phase, Some(ImportPhase::Verifying));
    assert_eq!(p.result, None);
    assert_eq!(
        p.error.as_deref(),
        Some("the verify query failed on app_vigie_20261129t031500z_fx02 (psql exit 1)")
    );
    assert!(
        p.lines
            .contains(&"verify: ERROR:  relation \"nope\" does not exist".to_string())
    );
    assert!(
        p.summary()
            .starts_with("failed while verifying: the verify query failed"),
        "{}",
        p.summary()
    );

    let p = progress(
        &pg_spec(false),
        "20261129T031500Z-fx03",
        &exited(1),
        PG_RESTORE_FAILS.as_bytes(),
        0,
    );
    assert_eq!(p.phase, Some(ImportPhase::Restoring));
    assert!(
        p.lines
            .contains(&"  ERROR:  role \"appowner\" does not exist".to_string()),
        "{:#?}",
        p.lines
    );
    assert!(
        p.error
            .as_deref()
            .unwrap()
            .contains("the restore into app_vigie_20261129t031500z_fx03 on drp failed")
    );

    // Killed without a word, or gone with the host.
    let p = progress(
        &pg_spec(false),
        RUN1,
        &exited(137),
        b"VIGIE_IMPORT phase restoring\n",
        0,
    );
    assert_eq!(
        p.error.as_deref(),
        Some("the import job killed by signal 9 (exit 137) without saying why")
    );
    let mut st = exited(0);
    st.state = JobState::Vanished {
        why: "the host rebooted since the job started".into(),
    };
    let p = progress(
        &pg_spec(false),
        RUN1,
        &st,
        b"VIGIE_IMPORT phase switching\n",
        0,
    );
    assert_eq!(p.phase, Some(ImportPhase::Switching));
    assert_eq!(
        p.error.as_deref(),
        Some("the import job vanished: the host rebooted since the job started")
    );
}

#[test]
fn a_running_job_is_read_by_whole_lines_from_the_offset() {
    let mut st = exited(0);
    st.state = JobState::Running {
        pid: 42,
        elapsed: Duration::from_secs(75),
    };
    let text = "VIGIE_IMPORT phase fetching\nVIGIE_IMPORT fetch backup-a:/d.dump 10\nVIGIE_IMPORT phase resto";
    let p = progress(&pg_spec(false), RUN1, &st, text.as_bytes(), 0);
    assert_eq!(p.phase, Some(ImportPhase::Fetching));
    assert_eq!(
        p.lines,
        ["Fetching the dump", "copying backup-a:/d.dump (10 bytes)"]
    );
    let cut = text.rfind('\n').unwrap() as u64 + 1;
    assert_eq!(p.next_offset, cut);
    assert_eq!(p.summary(), "fetching (running for 1 min 15 s)");
    // The next poll: only what is new, the phase from everything.
    let text = format!("{text}ring\n");
    let p = progress(&pg_spec(false), RUN1, &st, text.as_bytes(), cut);
    assert_eq!(p.lines, ["Restoring"]);
    assert_eq!(p.phase, Some(ImportPhase::Restoring));
}

#[test]
fn nothing_from_a_dump_or_a_database_passes_for_the_scripts_own_lines() {
    // The script indents tool output and prefixes every verify line: a value holding a
    // line end and "VIGIE_IMPORT phase done" stays data.
    let text = "VIGIE_IMPORT phase verifying\n\
                VIGIE_IMPORT verify x\n\
                VIGIE_IMPORT verify VIGIE_IMPORT phase done\n\
                \x20 VIGIE_IMPORT error forged\n\
                VIGIE_IMPORT verify \x1b[2Jcleared\n";
    let log = parse_log(text);
    assert_eq!(log.phase, Some(ImportPhase::Verifying));
    assert_eq!(log.error, None);
    assert_eq!(log.verify.len(), 3);
    assert!(
        log.lines.iter().all(|l| !l.contains('\x1b')),
        "{:?}",
        log.lines
    );
}

#[test]
fn the_check_says_whether_this_run_is_live() {
    let r = check_answer(&pg_spec(false), RUN1, PG_CHECK)
        .unwrap()
        .expect("done");
    assert_eq!(r.database, "app");
    assert_eq!(r.verify_output, "1000");
    assert_eq!(r.captured_at, Some(ts("2026-11-29T03:12:13Z")));
    assert_eq!(
        r.previous.as_deref(),
        Some("app_before_20261129t031500z_fx01")
    );
    // Another run asks: not its import.
    assert_eq!(
        check_answer(&pg_spec(false), "20261129T031500Z-zz99", PG_CHECK),
        Ok(None)
    );
    // Nothing imported yet.
    let fresh = "VIGIE_IMPORT live other\nVIGIE_IMPORT new absent\nVIGIE_IMPORT database app\nVIGIE_IMPORT previous -\nVIGIE_IMPORT mark -\n";
    assert_eq!(check_answer(&pg_spec(false), RUN1, fresh), Ok(None));
    // Restored but not verified is not done.
    let restored = PG_CHECK.replace(
        "73746174653d7665726966696564",
        "73746174653d726573746f726564",
    );
    assert_eq!(check_answer(&pg_spec(false), RUN1, &restored), Ok(None));
    assert_eq!(
        check_answer(
            &pg_spec(false),
            RUN1,
            "VIGIE_IMPORT error cannot read the databases of PostgreSQL on drp: psql: error\n"
        ),
        Err(Err(
            "cannot read the databases of PostgreSQL on drp: psql: error".into()
        ))
    );
    assert!(matches!(
        check_answer(&pg_spec(false), RUN1, "Welcome to drp\n"),
        Err(Ok(_))
    ));
}

#[test]
fn marks_are_read_from_both_engines() {
    let pg = unhex("76696769652d696d706f72742072756e3d3230323631313239543033313530305a2d667830312073746174653d76657269666965642063617074757265645f61743d323032362d31312d32395430333a31323a31335a2063617074757265645f62793d61726368697665207368613235363d32343238356164306234666436633831343136303539663233343165386361633961386636356233373664633733623635636465383163323731353431666238200a7665726966793a2031303030").unwrap();
    let m = parse_mark(&pg).unwrap();
    assert_eq!(m.run, RUN1);
    assert!(m.is_verified());
    assert_eq!(m.verify.as_deref(), Some("1000"));
    // A mark before the verify, without a capture time.
    let m = parse_mark(
        "vigie-import run=R1 state=restored captured_at=- captured_by=unknown sha256=abc ",
    )
    .unwrap();
    assert_eq!(
        (m.state.as_str(), m.captured_at, m.captured_by, m.sha256),
        ("restored", None, CaptureSource::Unknown, None)
    );
    assert_eq!(m.verify, None);
    assert_eq!(parse_mark("a comment the DBA wrote"), None);
    assert_eq!(parse_mark("vigie-import state=verified"), None);
    assert_eq!(unhex("zz"), None);
    assert_eq!(unhex("abc"), None);
}

proptest::proptest! {
    #[test]
    fn parsing_never_panics(s in "\\PC{0,300}") {
        let _ = parse_log(&s);
        let _ = parse_mark(&s);
        let _ = unhex(&s);
        let _ = human_line(&s);
    }

    #[test]
    fn shaped_logs_never_panic(s in "(VIGIE_IMPORT (phase|fetch|fetched|format|captured_at|capture|verify|database|previous|mark|live|error|note|archive|restored)( (clock=|header=|mtime=|zones=)?[a-f0-9TZ:./ -]{0,20}){0,4}\n){0,12}") {
        let log = parse_log(&s);
        let spec = pg_spec(false).with_site_zone("Europe/Paris");
        for rc in [0, 1] {
            let p = progress(&spec, RUN1, &exited(rc), s.as_bytes(), 7);
            proptest::prop_assert!(p.next_offset <= s.len() as u64);
        }
        let _ = check_answer(&spec, RUN1, &s);
        proptest::prop_assert!(log.verify.len() <= 20);
    }

    #[test]
    fn derived_names_are_always_usable(db in "[A-Za-z0-9_][A-Za-z0-9_-]{0,62}", run in "[A-Za-z0-9._-]{1,80}") {
        let s = ImportSpec::new(hp("b", "/d.dump"), "t", DbKind::Postgresql, &db, "select 1", "ssh", false, None).unwrap();
        let new = s.new_database(&run).unwrap();
        let before = s.before_database(&run).unwrap();
        for n in [&new, &before] {
            proptest::prop_assert!(is_db_name(n), "{n}");
            proptest::prop_assert!(n != &db);
        }
        proptest::prop_assert_ne!(new, before);
    }
}

/// A real import of a dump taken in Paris, on hosts in UTC (tests/fixtures/pg_dump_clock): its
/// header's wall clock 01:55:43, started at 00:55:43Z, its file dated 00:59:43Z (the plan's
/// capture time too).
const PG_IMPORT_PARIS: &str =
    include_str!("../../tests/fixtures/pg_dump_clock/lab_import_paris.out");
const RUN_PARIS: &str = "20261129T055546Z-d913";

fn paris_spec() -> ImportSpec {
    ImportSpec::new(
        hp("backup-a", "/var/backups/userdb/app-paris.dump"),
        "drp",
        DbKind::Postgresql,
        "app",
        "select count(*) from users",
        "ssh -F /etc/vigie/transfer_ssh_config",
        false,
        Some(ts("2026-11-29T00:59:43Z")),
    )
    .unwrap()
    .with_port(5433)
}

#[test]
fn a_dump_taken_in_paris_is_read_in_the_sites_zone() {
    let spec = paris_spec().with_site_zone("Europe/Paris");
    let p = progress(&spec, RUN_PARIS, &exited(0), PG_IMPORT_PARIS.as_bytes(), 0);
    let r = p.result.clone().expect("a result");
    let note = "the archive's wall clock 2026-11-29 01:55:43 read in Europe/Paris (standard \
                time, as its header says); in Etc/UTC it would be after the dump file was \
                written (2026-11-29 00:59:43 UTC)";
    assert_eq!(
        (r.captured_at, r.captured_by, r.captured_note.as_deref()),
        (
            Some(ts("2026-11-29T00:55:43Z")),
            CaptureSource::Archive,
            Some(note)
        )
    );
    // The operator reads it where the script said what it read.
    let at = p
        .lines
        .iter()
        .position(|l| l.starts_with("data captured at "))
        .expect("the capture line");
    assert_eq!(
        p.lines[at],
        format!("data captured at 2026-11-29 00:55:43 UTC: {note}")
    );
    assert_eq!(p.lines[at + 1], "Restoring");
    assert!(!p.lines.iter().any(|l| l.contains("capture clock=")));
    // The postcondition reads the same from the mark alone.
    let mark = PG_IMPORT_PARIS
        .lines()
        .find(|l| l.starts_with("VIGIE_IMPORT mark "))
        .unwrap();
    let check = format!(
        "VIGIE_IMPORT live ours-verified\nVIGIE_IMPORT new absent\nVIGIE_IMPORT database \
         app\nVIGIE_IMPORT previous app_before_20261129t055546z_d913\n{mark}\n"
    );
    assert_eq!(check_answer(&spec, RUN_PARIS, &check), Ok(Some(r.clone())));
    let m = parse_log(&check).mark.unwrap();
    assert_eq!(
        (m.captured_at, m.captured_by),
        (Some(ts("2026-11-29T00:59:43Z")), CaptureSource::Backup),
        "the mark keeps the plan's time as the fallback"
    );

    // Without the site's zone (hosts in UTC only): the wall clock read as UTC would be after
    // the file, so the plan's time is used, and why is said.
    let p = progress(
        &paris_spec(),
        RUN_PARIS,
        &exited(0),
        PG_IMPORT_PARIS.as_bytes(),
        0,
    );
    let r = p.result.expect("a result");
    assert_eq!(
        (r.captured_at, r.captured_by),
        (Some(ts("2026-11-29T00:59:43Z")), CaptureSource::Backup)
    );
    assert_eq!(
        r.captured_note.as_deref(),
        Some(
            "the archive's wall clock 2026-11-29 01:55:43 would be after the dump file was \
             written (2026-11-29 00:59:43 UTC) in every zone tried (Etc/UTC): the backup's \
             capture time is used"
        )
    );
}
