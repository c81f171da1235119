use super::*;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[test]
fn epochs_keep_their_fraction_and_refuse_anything_else() {
    assert_eq!(
        epoch("1764388650.275036033"),
        Some(Timestamp::new(1_764_388_650, 275_036_033).unwrap())
    );
    assert_eq!(
        epoch("1764388650.5"),
        Some(Timestamp::new(1_764_388_650, 500_000_000).unwrap())
    );
    assert_eq!(
        epoch("1764388650"),
        Some(Timestamp::from_second(1_764_388_650).unwrap())
    );
    for bad in [
        "",
        ".5",
        "-1",
        "1e9",
        "17643886 50",
        "NULL",
        "1764388650.x",
        "9999999999999",
    ] {
        assert_eq!(epoch(bad), None, "{bad:?}");
    }
}

/// The first bytes of a real pg_dump archive taken at 23:00 in Paris (22:00Z), and what
/// `TZ=UTC0 pg_restore -l` printed of it (tests/fixtures/pg_dump_clock).
const PARIS_2300: &str =
    include_str!("../../tests/fixtures/pg_dump_clock/paris_2026-11-28_2300.header");

fn paris_dump(mtime: &str) -> SourceReading {
    SourceReading {
        magic: Some("5047444d50".into()),
        mtime: Some(ts(mtime)),
        header: Some(PARIS_2300.trim().into()),
        clock: crate::drp::db_import::parse_wall("2026-11-28T23:00:00"),
        zone: Some("Etc/UTC".into()),
    }
}

#[test]
fn the_capture_time_is_the_archives_else_the_backups_else_the_files() {
    let all = paris_dump("2026-11-28T22:00:05Z");
    let hint = Some(ts("2026-11-28T21:59:00Z"));
    // The archive's wall clock, read in the site's zone: the file's date rules UTC out.
    assert_eq!(
        capture(&all, hint, Some("Europe/Paris")),
        Some(Capture {
            at: ts("2026-11-28T22:00:00Z"),
            by: CaptureBy::Archive,
            note: Some(
                "the archive's wall clock 2026-11-28 23:00:00 read in Europe/Paris (standard \
                 time, as its header says); in Etc/UTC it would be after the dump file was \
                 written (2026-11-28 22:00:05 UTC)"
                    .into()
            ),
        })
    );
    // Without the site's zone, no zone fits the file's date: the plan's time, and why.
    let c = capture(&all, hint, None).unwrap();
    assert_eq!(
        (c.at, c.by),
        (ts("2026-11-28T21:59:00Z"), CaptureBy::Backup)
    );
    assert!(
        c.note
            .as_deref()
            .unwrap()
            .ends_with("the backup's capture time is used"),
        "{c:?}"
    );
    // …and without a plan's time, the file's date.
    let c = capture(&all, None, None).unwrap();
    assert_eq!(
        (c.at, c.by),
        (ts("2026-11-28T22:00:05Z"), CaptureBy::FileDate)
    );
    let plain = SourceReading {
        header: None,
        clock: None,
        ..all.clone()
    };
    assert_eq!(
        capture(&plain, hint, None).map(|c| c.by),
        Some(CaptureBy::Backup)
    );
    assert_eq!(
        capture(&plain, None, None),
        Some(Capture {
            at: ts("2026-11-28T22:00:05Z"),
            by: CaptureBy::FileDate,
            note: None,
        })
    );
    assert_eq!(capture(&SourceReading::default(), None, None), None);
}

#[test]
fn a_paris_dump_is_compared_at_its_real_instant() {
    // The live database changed at 22:30Z, after this dump (22:00Z): refused. Read as UTC
    // (23:00Z), the dump would have looked newer than the change.
    let reading = LiveReading::Exists(vec![newest(
        "2026-11-28T22:30:00Z",
        "the newest commit on the server, any database",
    )]);
    let c = capture(
        &paris_dump("2026-11-28T22:40:00Z"),
        None,
        Some("Europe/Paris"),
    );
    let why = decide(DUMP, c, LIVE, &reading).unwrap_err();
    assert!(
        why.contains(
            "was captured at 2026-11-28 22:00:00 UTC (when the dump started, by its archive \
             header: the archive's wall clock 2026-11-28 23:00:00 read in Europe/Paris"
        ),
        "{why}"
    );
}

const DUMP: &str = "drp:/var/backups/app-return.dump";
const LIVE: &str = "postgresql database app on prod";

fn newest(at: &str, how: &str) -> Evidence {
    Evidence::Newest {
        at: ts(at),
        how: how.into(),
    }
}

fn archive(at: &str) -> Option<Capture> {
    Some(Capture {
        at: ts(at),
        by: CaptureBy::Archive,
        note: None,
    })
}

#[test]
fn a_live_database_changed_after_the_dump_is_refused_naming_both_times_and_hosts() {
    let reading = LiveReading::Exists(vec![newest(
        "2026-11-29T03:00:01.5Z",
        "the newest of its 312 files under /var/lib/postgresql/15/main/base/16384",
    )]);
    let why = decide(DUMP, archive("2026-11-29T03:00:00Z"), LIVE, &reading).unwrap_err();
    assert_eq!(
        why,
        "the live postgresql database app on prod holds data newer than its source: its newest \
         change is of 2026-11-29 03:00:01 UTC (the newest of its 312 files under \
         /var/lib/postgresql/15/main/base/16384), the dump drp:/var/backups/app-return.dump was \
         captured at 2026-11-29 03:00:00 UTC (when the dump started, by its archive header); \
         importing would overwrite it. Save it first (e.g. rename it), or take a newer dump, \
         then run again"
    );
}

#[test]
fn an_older_live_database_is_replaced_and_a_missing_one_is_nothing_to_lose() {
    let reading = LiveReading::Exists(vec![newest(
        "2026-11-29T02:59:59Z",
        "the newest commit on the server, any database",
    )]);
    let ok = decide(DUMP, archive("2026-11-29T03:00:00Z"), LIVE, &reading).unwrap();
    assert_eq!(
        ok,
        "the live postgresql database app on prod holds nothing newer than the dump: its \
         newest change is of 2026-11-29 02:59:59 UTC (the newest commit on the server, any \
         database), the dump was captured at 2026-11-29 03:00:00 UTC (when the dump started, \
         by its archive header)"
    );
    // The same second is not after.
    let same = LiveReading::Exists(vec![newest("2026-11-29T03:00:00Z", "x")]);
    assert!(decide(DUMP, archive("2026-11-29T03:00:00Z"), LIVE, &same).is_ok());
    // No live database: whatever the dump.
    assert_eq!(
        decide(DUMP, None, LIVE, &LiveReading::Absent).unwrap(),
        "there is no live postgresql database app on prod: the import overwrites nothing"
    );
}

#[test]
fn what_cannot_be_told_is_refused_with_its_reason() {
    let c = archive("2026-11-29T03:00:00Z");
    // A file that cannot be read could hide a newer change.
    let blind = LiveReading::Exists(vec![
        newest(
            "2026-11-29T01:00:00Z",
            "the newest UPDATE_TIME of its tables",
        ),
        Evidence::Blind {
            why: "cannot read the files of /var/lib/mysql/app (files, as vigie): find: \
                  '/var/lib/mysql/app': Permission denied"
                .into(),
        },
    ]);
    let why = decide(DUMP, c.clone(), "mysql database app on prod", &blind).unwrap_err();
    assert!(
        why.starts_with(
            "cannot tell whether the live mysql database app on prod holds data newer than the \
             dump drp:/var/backups/app-return.dump (captured at 2026-11-29 03:00:00 UTC (when \
             the dump started, by its archive header)): cannot read the files of \
             /var/lib/mysql/app (files, as vigie): find: '/var/lib/mysql/app': Permission \
             denied; importing could overwrite newer data, so nothing is done."
        ),
        "{why}"
    );
    // …but a change already known to be newer is said as such.
    let newer = LiveReading::Exists(vec![
        newest(
            "2026-11-29T04:00:00Z",
            "the newest UPDATE_TIME of its tables",
        ),
        Evidence::Blind { why: "x".into() },
    ]);
    assert!(
        decide(DUMP, c.clone(), LIVE, &newer)
            .unwrap_err()
            .contains("holds data newer than its source"),
    );
    // Nothing said at all, or no capture time.
    let silent = LiveReading::Exists(Vec::new());
    assert!(
        decide(DUMP, c, LIVE, &silent)
            .unwrap_err()
            .contains("the server said nothing of its changes")
    );
    let some = LiveReading::Exists(vec![newest("2026-11-29T01:00:00Z", "x")]);
    assert!(
        decide(DUMP, None, LIVE, &some)
            .unwrap_err()
            .contains("the dump's capture time cannot be read")
    );
}

#[test]
fn a_file_date_is_said_to_be_one() {
    let c = Some(Capture {
        at: ts("2026-11-29T03:00:00Z"),
        by: CaptureBy::FileDate,
        note: None,
    });
    let ok = decide(
        DUMP,
        c,
        LIVE,
        &LiveReading::Exists(vec![newest("2026-11-29T01:00:00Z", "x")]),
    )
    .unwrap();
    assert!(
        ok.ends_with(
            "captured at 2026-11-29 03:00:00 UTC (the dump file's date, when it was written: \
             the dump says no capture time)"
        ),
        "{ok}"
    );
}

#[test]
fn answers_are_read_only_from_the_scripts_own_complete_lines() {
    // An indented line is a tool's, never the script's.
    let text = concat!(
        "VIGIE_GUARD exists 16384\n",
        "VIGIE_GUARD newest files 1764388650.275036033 312 /srv/pg/data/base/16384\n",
        "  VIGIE_GUARD newest commit 9999999999\n",
        "VIGIE_GUARD end\n"
    );
    assert_eq!(
        parse_live(text).unwrap(),
        LiveReading::Exists(vec![Evidence::Newest {
            at: Timestamp::new(1_764_388_650, 275_036_033).unwrap(),
            how: "the newest of its 312 files under /srv/pg/data/base/16384".into()
        }])
    );
    assert_eq!(
        parse_live("VIGIE_GUARD absent\nVIGIE_GUARD end\n").unwrap(),
        LiveReading::Absent
    );
    // Cut short, or the script's own error.
    assert!(parse_live("VIGIE_GUARD exists 1\n").is_err());
    assert_eq!(
        parse_live("VIGIE_GUARD error psql is not installed on prod\nVIGIE_GUARD end\n")
            .unwrap_err(),
        "psql is not installed on prod"
    );
    assert!(parse_live("VIGIE_GUARD end\n").is_err());
    // An unreadable time is blindness, not a change of 1970.
    assert_eq!(
        parse_live("VIGIE_GUARD exists\nVIGIE_GUARD newest updated NULL\nVIGIE_GUARD end\n")
            .unwrap(),
        LiveReading::Exists(vec![Evidence::Blind {
            why: "an unreadable time of updated".into()
        }])
    );
    let src = parse_source(
        "VIGIE_GUARD magic 5047444d50\nVIGIE_GUARD mtime 1795913850.0000000000\n\
         VIGIE_GUARD header 5047444D50010e\nVIGIE_GUARD clock 2026-11-29T01:57:30\n\
         VIGIE_GUARD zone Europe/Paris\nVIGIE_GUARD end\n",
    )
    .unwrap();
    assert_eq!(src.magic.as_deref(), Some("5047444d50"));
    assert_eq!(src.header.as_deref(), Some("5047444d50010e"));
    assert_eq!(
        src.clock.map(|c| c.to_string()).as_deref(),
        Some("2026-11-29T01:57:30")
    );
    assert_eq!(src.zone.as_deref(), Some("Europe/Paris"));
    assert_eq!(src.mtime, Some(ts("2026-11-29T00:57:30Z")));
    // Unreadable values are left out.
    assert_eq!(
        parse_source(
            "VIGIE_GUARD clock -\nVIGIE_GUARD header xyz\nVIGIE_GUARD zone a;b\n\
             VIGIE_GUARD end\n"
        )
        .unwrap(),
        SourceReading::default()
    );
    assert!(parse_source("VIGIE_GUARD magic 00\n").is_err());
}

proptest::proptest! {
    #[test]
    fn readers_never_panic(s in proptest::prelude::any::<String>()) {
        let _ = parse_live(&s);
        let _ = parse_source(&s);
        let _ = epoch(&s);
        let prefixed: String = s.lines().map(|l| format!("VIGIE_GUARD {l}\n")).collect();
        let _ = parse_live(&prefixed);
        let _ = parse_source(&prefixed);
    }
}

// Real answers of db_import_guard.sh, captured on the lab (tests/drp_activate_db.rs, which
// prints them; Debian 12, PostgreSQL 15.18, MariaDB 10.11; the hosts in Etc/UTC, the site in
// Europe/Paris) on 2026-11-29: production's scratch cluster on prod:5433 after a write, the
// DRP's with track_commit_timestamp = on, a database that is not there, a pg_dump -Fc archive
// on drp taken just before the write (same run); and prod's MariaDB `app` (an earlier run).
const PG_FILES: &str = "VIGIE_GUARD exists 16384\n\
VIGIE_GUARD newest files 1795931825.1869227250 303 /tmp/vigie-lab/hosts/prod/pg-import-test/data/base/16384\n\
VIGIE_GUARD end\n";
const PG_COMMIT: &str =
    "VIGIE_GUARD exists 16384\nVIGIE_GUARD newest commit 1795931810.501034\nVIGIE_GUARD end\n";
const PG_ABSENT: &str = "VIGIE_GUARD absent\nVIGIE_GUARD end\n";
const MARIADB: &str = "VIGIE_GUARD exists\n\
VIGIE_GUARD newest updated 1795928174\n\
VIGIE_GUARD newest files 1795928174.9540400410 3 /var/lib/mysql/app\n\
VIGIE_GUARD end\n";
const SOURCE: &str = "VIGIE_GUARD magic 5047444d50\n\
VIGIE_GUARD mtime 1795931816.8309229900\n\
VIGIE_GUARD header 5047444d50010e000408010101000000003800000000380000000005000000001d000000000a000000007e00000000000000000003000000617070001e00000031352e3138202844656269616e2031352e31382d302b6465623132753129001e00000031352e3138202844656269616e2031352e31382d302b64656231327531\n\
VIGIE_GUARD clock 2026-11-29T05:56:56\n\
VIGIE_GUARD zone Etc/UTC\n\
VIGIE_GUARD end\n";

#[test]
fn real_answers_of_the_lab() {
    let src = parse_source(SOURCE).unwrap();
    // Taken in UTC on the lab: read in UTC, though the site is in Paris (the file's date
    // allows both: the later is taken, and the other said).
    let c = capture(&src, None, Some("Europe/Paris")).unwrap();
    assert_eq!(
        (c.at, c.by),
        (ts("2026-11-29T05:56:56Z"), CaptureBy::Archive)
    );
    let dump = "drp:/var/tmp/vigie-activate-db/app-return.dump";
    let live = "postgresql database app on prod";
    let refused = decide(dump, Some(c.clone()), live, &parse_live(PG_FILES).unwrap()).unwrap_err();
    assert_eq!(
        refused,
        "the live postgresql database app on prod holds data newer than its source: its \
         newest change is of 2026-11-29 05:57:05 UTC (the newest of its 303 files under \
         /tmp/vigie-lab/hosts/prod/pg-import-test/data/base/16384), the dump \
         drp:/var/tmp/vigie-activate-db/app-return.dump was captured at 2026-11-29 05:56:56 \
         UTC (when the dump started, by its archive header: the archive's wall clock \
         2026-11-29 05:56:56 read in Etc/UTC; the latest reading not after the dump file's \
         date (2026-11-29 05:56:56 UTC) is taken, also possible: Europe/Paris (1 h earlier)); \
         importing would overwrite it. Save it first (e.g. rename it), or take a newer dump, \
         then run again"
    );
    let commit = parse_live(PG_COMMIT).unwrap();
    assert_eq!(
        commit,
        LiveReading::Exists(vec![Evidence::Newest {
            at: Timestamp::new(1_795_931_810, 501_034_000).unwrap(),
            how: "the newest commit on the server, any database".into()
        }])
    );
    assert!(decide(dump, Some(c.clone()), live, &commit).is_ok());
    assert_eq!(parse_live(PG_ABSENT).unwrap(), LiveReading::Absent);
    let my = parse_live(MARIADB).unwrap();
    let LiveReading::Exists(e) = &my else {
        panic!("{my:?}")
    };
    assert_eq!(e.len(), 2);
    // MariaDB's app was last written before this dump: it may be replaced.
    assert!(decide(dump, Some(c), "mysql database app on prod", &my).is_ok());
}

// ---------------------------------------------------------------------------------------------
// The script itself, run here by dash and bash.

fn run_sh(shell: &str, text: &str) -> String {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new(shell)
        .arg("-s")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{shell}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn shells() -> Vec<&'static str> {
    ["dash", "bash"]
        .into_iter()
        .filter(|s| {
            std::process::Command::new(s)
                .arg("-c")
                .arg("true")
                .status()
                .is_ok()
        })
        .collect()
}

#[test]
fn the_script_reads_a_dumps_date_and_refuses_what_it_is_not_given_right() {
    let dir = tempfile::tempdir().unwrap();
    // A plain SQL dump whose name would be shell code if it were pasted into the script.
    let path = dir.path().join("a'b $(touch pwned) c.sql");
    std::fs::write(&path, "-- plain SQL\n").unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_913_850))
        .unwrap();
    drop(file);
    let p = path.to_str().unwrap();
    for sh in shells() {
        let out = run_sh(sh, &script("source", &[("VG_PATH", p)]).unwrap());
        let src = parse_source(&out).unwrap_or_else(|e| panic!("{sh}: {e}: {out}"));
        assert_eq!(src.magic.as_deref(), Some("2d2d20706c"), "{sh}: {out}");
        assert_eq!(src.mtime, Some(ts("2026-11-29T00:57:30Z")), "{sh}: {out}");
        assert_eq!((&src.header, src.clock), (&None, None));
        assert!(!dir.path().join("pwned").exists());
        // No archive header, no plan: the file's date, said to be one.
        assert_eq!(
            capture(&src, None, Some("Europe/Paris")).map(|c| c.by),
            Some(CaptureBy::FileDate)
        );

        let missing = run_sh(
            sh,
            &script("source", &[("VG_PATH", "/nonexistent/x.dump")]).unwrap(),
        );
        let e = parse_source(&missing).unwrap_err();
        assert!(
            e.starts_with("/nonexistent/x.dump is not a file on "),
            "{sh}: {e}"
        );
        for (values, want) in [
            (
                vec![("VG_KIND", "postgresql"), ("VG_DB", "app; drop")],
                "bad database name",
            ),
            (
                vec![
                    ("VG_KIND", "postgresql"),
                    ("VG_DB", "app"),
                    ("VG_PORT", "54x"),
                ],
                "bad port",
            ),
            (
                vec![("VG_KIND", "oracle"), ("VG_DB", "app")],
                "unknown database kind",
            ),
        ] {
            let out = run_sh(sh, &script("live", &values).unwrap());
            assert_eq!(parse_live(&out).unwrap_err(), want, "{sh}: {out}");
        }
        // No server on port 1 (or no psql at all): said, never taken for "no database".
        let out = run_sh(
            sh,
            &script(
                "live",
                &[
                    ("VG_KIND", "postgresql"),
                    ("VG_DB", "app"),
                    ("VG_PORT", "1"),
                ],
            )
            .unwrap(),
        );
        let e = parse_live(&out).unwrap_err();
        assert!(
            e.starts_with("cannot read the databases of PostgreSQL on ")
                || e.starts_with("psql is not installed on "),
            "{sh}: {e}"
        );
    }
    assert_eq!(script("rm -rf /", &[]), None);
    assert_eq!(script("live", &[("VG_DB", "a\0b")]), None);
}

#[test]
fn the_script_reads_a_real_archives_header_and_the_console_its_zone() {
    // Real archives (tests/fixtures/pg_dump_clock): 23:00 in Paris in November (22:00Z), and
    // 12:00 in Paris in July (10:00Z, summer time), their files written 5 min later.
    let fixtures =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pg_dump_clock");
    let dir = tempfile::tempdir().unwrap();
    let has_pg_restore = std::process::Command::new("pg_restore")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    for (name, written, real) in [
        (
            "paris_2026-11-28_2300.dump",
            1_795_903_500,
            "2026-11-28T22:00:00Z",
        ),
        (
            "paris_2026-07-14_1200.dump",
            1_784_023_500,
            "2026-07-14T10:00:00Z",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::copy(fixtures.join(name), &path).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(written))
            .unwrap();
        drop(file);
        for sh in shells() {
            let out = run_sh(
                sh,
                &script("source", &[("VG_PATH", path.to_str().unwrap())]).unwrap(),
            );
            let src = parse_source(&out).unwrap_or_else(|e| panic!("{sh}: {e}: {out}"));
            assert_eq!(src.magic.as_deref(), Some("5047444d50"), "{sh}: {out}");
            assert!(
                src.header.as_deref().is_some_and(|h| h.len() == 256),
                "{sh}: {out}"
            );
            // pg_restore's reading is a cross-check only: the header alone is enough.
            assert_eq!(src.clock.is_some(), has_pg_restore, "{sh}: {out}");
            let c = capture(&src, None, Some("Europe/Paris")).unwrap();
            assert_eq!((c.at, c.by), (ts(real), CaptureBy::Archive), "{sh}: {c:?}");
            assert!(
                c.note
                    .as_deref()
                    .is_some_and(|n| n.contains("read in Europe/Paris")),
                "{sh}: {c:?}"
            );
        }
    }
}
