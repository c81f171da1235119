//! Tests of the backup sections: real probe runs (tests/fixtures/probe/backup/README.md),
//! then hand-made bodies for what a test machine cannot produce (unknown birth times, other
//! zones, restic exit 3).

use super::*;
use crate::backup::model::Backup;

/// The fixtures and bodies below write the probe's part markers as `@@out`, `@@open` and
/// `@@err` lines, as the probe printed them before they carried the nonce: here they become
/// the markers `sections::split` makes of `@@VIGIE <nonce> PART <name>`.
fn read(format: &BackupFormat, body: &str, rc: Option<i32>) -> BackupParse {
    let body: String = body
        .split_inclusive('\n')
        .map(|l| match l.trim_end_matches('\n') {
            "@@out" | "@@open" | "@@err" | "@@noopen" | "@@noopen-dirs" => {
                format!("{}\n", marker(&l.trim_end()[2..]))
            }
            _ => l.to_string(),
        })
        .collect();
    super::read(format, &body, rc)
}

fn parse(format: &BackupFormat, body: &str, rc: Option<i32>) -> CopyReading {
    read(format, body, rc).reading
}
use jiff::civil::Date;
use proptest::prelude::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/probe/backup/", $name))
    };
}

fn files() -> BackupFormat {
    BackupFormat::Files {
        pattern: "*".into(),
    }
}
fn restic_f() -> BackupFormat {
    BackupFormat::Restic {
        password_file: None,
    }
}
fn borg_f() -> BackupFormat {
    BackupFormat::Borg {
        password_file: None,
    }
}
fn command_f() -> BackupFormat {
    BackupFormat::Command {
        command: "x".into(),
    }
}

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

fn found(r: &CopyReading) -> &[Backup] {
    match r {
        CopyReading::Found(v) => v,
        CopyReading::Unreadable(why) => panic!("unreadable: {why}"),
    }
}

fn unreadable(r: &CopyReading) -> &str {
    match r {
        CopyReading::Unreadable(why) => why,
        CopyReading::Found(v) => panic!("found {v:?}"),
    }
}

fn names(v: &[Backup]) -> Vec<&str> {
    v.iter().map(|b| b.name.as_str()).collect()
}

#[test]
fn files_dumps_on_coreutils_9() {
    // Europe/Paris, 2026-11-29 01:53:38 +01:00. The 02:00 dump is still being written, the
    // 00:00 one is empty; every file was copied there (born now, mtime kept).
    let r = read(&files(), fixture!("files_coreutils9.1_userdb.txt"), Some(0));
    let v = found(&r.reading);
    assert_eq!(
        names(v),
        [
            "userdb-2026-11-28T2200.dump",
            "userdb-2026-11-28T2000.dump",
            "userdb-2026-11-28T1800.dump"
        ]
    );
    // The name's local time (22:00 in Paris), earlier than the birth (the copy) and the
    // mtime (the end of the dump).
    assert_eq!(v[0].captured_at, ts(1_795_899_600));
    assert_eq!(v[0].finished_at, Some(ts(1_795_900_375)));
    assert_eq!(v[0].bytes, Some(48_231_540));
    assert_eq!(v[1].captured_at, ts(1_795_892_400));
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("open for writing") && n.contains("T0200"))
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("empty") && n.contains("T0000"))
    );
}

#[test]
fn files_archives_and_directories() {
    let r = read(&files(), fixture!("files_coreutils9.1_dirs.txt"), Some(0));
    let v = found(&r.reading);
    assert_eq!(
        names(v),
        [
            "files-20261128-2200.tar.zst",
            "snap_2026-11-28_22-00-00/",
            "snap_2026-11-27_22-00-00/",
            "files-20261126-2200.tar.zst"
        ]
    );
    assert_eq!(v[0].captured_at, ts(1_795_899_600));
    assert_eq!(v[1].captured_at, ts(1_795_899_600));
    // A directory: the newest mtime and the blocks of its tree.
    assert_eq!(v[1].finished_at, Some(ts(1_795_899_901)));
    assert_eq!(v[1].bytes, Some(3_014_656));
    assert_eq!(v[2].captured_at, ts(1_795_813_200));
    assert_eq!(v[3].captured_at, ts(1_795_726_800));
    assert!(r.notes.is_empty(), "{:?}", r.notes);
}

const HEAD: &str = "now 1795913618\ntz +0100\ntzname Europe/Paris\n@@out\n";

#[test]
fn files_capture_is_the_earliest_clue() {
    let body = format!(
        "{HEAD}\
         1795890000 1795900000 10 f born-before-mtime.dump\n\
         0 1795800000 10 f no-clue.dump\n\
         - 1795700000 10 f also-no-clue.dump\n\
         - 1795600000 10 f late-name-2026-12-25T1000.dump\n\
         - 1795600000 10 f day-2026-11-20.dump\n\
         1795913600 1795913600 10 f fresh.dump\n\
         find: '/x/y': Permission denied\n\
         garbage\n\
         1 2 3 x weird-type\n\
         @@open\n"
    );
    let r = read(&files(), &body, Some(0));
    let v = found(&r.reading);
    let by = |n: &str| v.iter().find(|b| b.name == n).unwrap().captured_at;
    assert_eq!(by("born-before-mtime.dump"), ts(1_795_890_000));
    assert_eq!(by("no-clue.dump"), ts(1_795_800_000));
    assert_eq!(by("also-no-clue.dump"), ts(1_795_700_000));
    // A name time after the mtime is no capture time.
    assert_eq!(by("late-name-2026-12-25T1000.dump"), ts(1_795_600_000));
    // A date alone bounds the capture by the end of that day (Paris).
    let end_of_day = Date::constant(2026, 11, 20).at(23, 59, 59, 0);
    assert_eq!(
        by("day-2026-11-20.dump"),
        TimeZone::get("Europe/Paris")
            .unwrap()
            .to_ambiguous_timestamp(end_of_day)
            .earlier()
            .unwrap()
    );
    assert_eq!(v.len(), 5, "fresh.dump is in progress");
    assert!(r.notes.iter().any(|n| n.contains("fresh.dump")));
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("capture time of 3 entries unknown"))
    );
    // Newest first.
    assert!(v.windows(2).all(|w| w[0].captured_at >= w[1].captured_at));
}

#[test]
fn files_edge_cases() {
    let r = read(&files(), &format!("{HEAD}@@open\n"), Some(0));
    assert_eq!(found(&r.reading), &[] as &[Backup]);
    let r = read(&files(), "tz +0100\n@@out\n0 1 2 f a\n", Some(0));
    assert_eq!(unreadable(&r.reading), "the section has no clock line");
    assert_eq!(
        unreadable(&parse(
            &files(),
            "VIGIE_UNAVAILABLE path not found\n",
            Some(1)
        )),
        "path not found"
    );
    assert_eq!(
        unreadable(&parse(&files(), &format!("{HEAD}0 1 2 f a\n"), Some(124))),
        "timed out (20 s)"
    );
    assert_eq!(
        unreadable(&parse(&files(), &format!("{HEAD}0 1 2 f a\n"), None)),
        "no output (probe cut short)"
    );
}

#[test]
fn names_with_times() {
    let at = |y, mo, d, h, mi, s| NameTime::At(Date::constant(y, mo, d).at(h, mi, s, 0), None);
    assert_eq!(
        name_time("userdb-2026-11-28T2200.dump"),
        Some(at(2026, 11, 28, 22, 0, 0))
    );
    assert_eq!(
        name_time("files-20261128-2200.tar.zst"),
        Some(at(2026, 11, 28, 22, 0, 0))
    );
    assert_eq!(
        name_time("host_2026-11-28_22-00-00_full.tar"),
        Some(at(2026, 11, 28, 22, 0, 0))
    );
    assert_eq!(
        name_time("db.20261128T221507.sql.gz"),
        Some(at(2026, 11, 28, 22, 15, 7))
    );
    assert_eq!(
        name_time("db 2026-11-28 22:15.sql"),
        Some(at(2026, 11, 28, 22, 15, 0))
    );
    assert_eq!(
        name_time("db-2026-11-28T22:15:07Z.sql"),
        Some(NameTime::At(
            Date::constant(2026, 11, 28).at(22, 15, 7, 0),
            Some(Offset::UTC)
        ))
    );
    assert_eq!(
        name_time("db-2026-11-28T22:15:07+05:30.sql"),
        Some(NameTime::At(
            Date::constant(2026, 11, 28).at(22, 15, 7, 0),
            Some(Offset::from_seconds(19_800).unwrap())
        ))
    );
    // A sequence number after the time is no offset.
    assert_eq!(
        name_time("files-20261128-2200-0001.tar"),
        Some(at(2026, 11, 28, 22, 0, 0))
    );
    assert_eq!(
        name_time("userdb-2026-11-28.dump"),
        Some(NameTime::Day(Date::constant(2026, 11, 28)))
    );
    assert_eq!(
        name_time("backup-1795899600.tar"),
        Some(NameTime::Epoch(ts(1_795_899_600)))
    );
    // Digits running on either side, impossible dates, separators that do not match.
    for none in [
        "app-v12026-11-28.tar",
        "2026-13-28.dump",
        "2026-02-30.dump",
        "2026-11_28.dump",
        "userdb.dump",
        "1234",
        "",
    ] {
        assert_eq!(name_time(none), None, "{none}");
    }
    assert_eq!(
        name_time("x-2026-11-28T2599.dump"),
        Some(NameTime::Day(Date::constant(2026, 11, 28))),
        "25:99 is no time"
    );
}

#[test]
fn restic_0_14_snapshots() {
    let r = read(
        &restic_f(),
        fixture!("restic_0.14.0_snapshots.txt"),
        Some(0),
    );
    let v = found(&r.reading);
    assert_eq!(v.len(), 4);
    assert_eq!(v[0].name, "ceb3c44a /tmp/vbk/src/db");
    assert_eq!(
        v[0].captured_at,
        "2026-11-29T01:51:05.424757338+01:00"
            .parse::<Timestamp>()
            .unwrap()
    );
    assert_eq!(v[3].captured_at, "2026-11-27T19:00:05Z".parse().unwrap());
    assert_eq!(v[0].finished_at, None, "0.14 has no summary");
    assert!(r.notes.is_empty());

    // Exit 3: the listed snapshots are saved ones; the note says some are incomplete.
    let r = read(
        &restic_f(),
        fixture!("restic_0.14.0_snapshots.txt"),
        Some(3),
    );
    assert_eq!(found(&r.reading).len(), 4);
    assert!(r.notes[0].contains("incomplete snapshots present"));
}

#[test]
fn restic_0_17_summary() {
    // restic 0.17 adds `summary` (written from its Snapshot struct).
    let body = format!(
        "{HEAD}[{{\"time\":\"2026-11-28T22:00:04.5+01:00\",\"tree\":\"ab\",\"paths\":[\"/srv\"],\
         \"program_version\":\"restic 0.17.3\",\"summary\":{{\"backup_start\":\"2026-11-28T22:00:04.5+01:00\",\
         \"backup_end\":\"2026-11-28T22:09:10+01:00\",\"total_bytes_processed\":123456}},\
         \"id\":\"0123456789abcdef\"}}]\n@@err\n"
    );
    let v = parse(&restic_f(), &body, Some(0));
    let v = found(&v);
    assert_eq!(v[0].name, "01234567 /srv");
    assert_eq!(v[0].bytes, Some(123_456));
    assert_eq!(
        v[0].finished_at,
        Some("2026-11-28T21:09:10Z".parse().unwrap())
    );
}

#[test]
fn restic_failures() {
    let why = |name: &str, body: &str, rc| {
        let r = parse(&restic_f(), body, Some(rc));
        assert!(matches!(r, CopyReading::Unreadable(_)), "{name}");
        unreadable(&r).to_string()
    };
    assert_eq!(
        why("pw", fixture!("restic_0.14.0_wrong_password.txt"), 1),
        "restic exit 1: Fatal: wrong password or no key found"
    );
    assert!(
        why("repo", fixture!("restic_0.14.0_no_repo.txt"), 1)
            .contains("unable to open config file")
    );
    assert!(
        why("nopw", fixture!("restic_0.14.0_no_password.txt"), 1)
            .contains("an empty password is not a password")
    );
    assert!(
        why("locked", &format!("{HEAD}@@err\nrepo locked\n"), 11).contains("repository locked")
    );
    assert_eq!(
        unreadable(&parse(
            &restic_f(),
            "VIGIE_NOT_INSTALLED restic\n",
            Some(127)
        )),
        "restic not installed"
    );
    assert!(
        why("nojson", &format!("{HEAD}[not json\n@@err\n"), 0).starts_with("restic printed no")
    );
}

#[test]
fn borg_1_2_list_in_the_hosts_zone() {
    let r = read(&borg_f(), fixture!("borg_1.2.4_list.txt"), Some(0));
    let v = found(&r.reading);
    assert_eq!(
        names(v),
        [
            "userdb-2026-11-28T2200",
            "userdb-2026-11-28T00:00:04",
            "userdb-2026-11-27T22:00:02",
            "userdb-2026-11-27T20:00:03",
            "userdb-2026-07-01T2200"
        ]
    );
    assert_eq!(v[0].captured_at, ts(1_795_899_601));
    assert_eq!(v[0].finished_at, Some(ts(1_795_899_601)));
    // A summer archive: 22:00 in Paris is 20:00 UTC (+02:00 then, +01:00 now).
    assert_eq!(v[4].captured_at, "2026-07-01T20:00:00Z".parse().unwrap());
    assert_eq!(v[3].captured_at, "2026-11-27T20:00:03Z".parse().unwrap());
    assert!(r.notes.is_empty(), "{:?}", r.notes);

    // Without the zone's name, only the offset the host has now.
    let no_name = fixture!("borg_1.2.4_list.txt").replace("tzname Europe/Paris\n", "");
    let v = parse(&borg_f(), &no_name, Some(0));
    assert_eq!(
        found(&v)[4].captured_at,
        "2026-07-01T21:00:00Z".parse().unwrap()
    );
}

#[test]
fn borg_checkpoints_are_left_out() {
    // borg 1.2 hides them unless --consider-checkpoints; borg 1.1 always lists them.
    let body = format!(
        "{HEAD}{}@@err\n",
        fixture!("borg_1.2.4_list_consider_checkpoints.json")
    );
    let r = read(&borg_f(), &body, Some(0));
    assert_eq!(
        names(found(&r.reading)),
        ["userdb-2026-11-28T2200", "userdb-2026-11-28T00:00:04"]
    );
    assert!(r.notes[0].starts_with("1 checkpoint archive"));
    assert!(checkpoint_name("a.checkpoint"));
    assert!(checkpoint_name("a.checkpoint.2"));
    assert!(!checkpoint_name("a.checkpoint.x"));
    assert!(!checkpoint_name("a.checkpointed"));
}

fn checkpoint_name(n: &str) -> bool {
    let body = format!(
        "{HEAD}{{\"archives\":[{{\"name\":{},\"start\":\"2026-11-28T22:00:00.000000\"}}]}}\n",
        serde_json::to_string(n).unwrap()
    );
    found(&parse(&borg_f(), &body, Some(0))).is_empty()
}

#[test]
fn borg_failures() {
    assert_eq!(
        unreadable(&parse(
            &borg_f(),
            fixture!("borg_1.2.4_wrong_passphrase.txt"),
            Some(2)
        )),
        "borg exit 2: passphrase supplied in BORG_PASSPHRASE, by BORG_PASSCOMMAND or via \
         BORG_PASSPHRASE_FD is incorrect."
    );
    assert_eq!(
        unreadable(&parse(
            &borg_f(),
            fixture!("borg_1.2.4_no_repo.txt"),
            Some(2)
        )),
        "borg exit 2: Repository /tmp/vbk/nothere does not exist."
    );
    assert_eq!(
        unreadable(&parse(&borg_f(), "VIGIE_NOT_INSTALLED borg\n", Some(127))),
        "borg not installed"
    );
}

#[test]
fn zones() {
    // A POSIX TZ string, at the offset it gives in winter.
    let body = "now 1795913618\ntz -0500\ntzname EST5EDT,M3.2.0,M11.1.0\n@@out\n\
                {\"archives\":[{\"name\":\"a\",\"start\":\"2026-07-01T22:00:00.000000\"}]}\n";
    let r = read(&borg_f(), body, Some(0));
    assert_eq!(
        found(&r.reading)[0].captured_at,
        "2026-07-02T02:00:00Z".parse().unwrap()
    );
    // glibc reads a zone it does not know as UTC: the offset decides.
    let body = "now 1795913618\ntz +0000\ntzname Europe/Paris\n@@out\n\
                {\"archives\":[{\"name\":\"a\",\"start\":\"2026-07-01T22:00:00.000000\"}]}\n";
    let r = read(&borg_f(), body, Some(0));
    assert_eq!(
        found(&r.reading)[0].captured_at,
        "2026-07-01T22:00:00Z".parse().unwrap()
    );
    assert!(r.notes[0].contains("disagrees"));
    // Nothing known: UTC, said.
    let r = read(&borg_f(), "@@out\n{\"archives\":[]}\n", Some(0));
    assert!(r.notes[0].contains("unknown"));
    assert_eq!(parse_offset("+0530"), Offset::from_seconds(19_800).ok());
    assert_eq!(parse_offset("0100"), None);
    assert_eq!(parse_offset("+01"), None);
}

#[test]
fn command_lines() {
    let r = read(&command_f(), fixture!("command_lines.txt"), Some(0));
    let v = found(&r.reading);
    assert_eq!(names(v), ["userdb inc 0000", "userdb-full"]);
    assert_eq!(v[0].captured_at, ts(1_795_906_803));
    assert_eq!(v[1].captured_at, "2026-11-28T21:00:03Z".parse().unwrap());
    assert_eq!(v[1].bytes, Some(48_231_540));
    assert!(r.notes[0].starts_with("2 line(s)"));

    assert_eq!(
        unreadable(&parse(
            &command_f(),
            fixture!("command_failed.txt"),
            Some(28)
        )),
        "command exit 28: pgbackrest: stanza not found"
    );
    assert!(
        unreadable(&parse(&command_f(), &format!("{HEAD}junk\n"), Some(0)))
            .starts_with("the command printed no backup line")
    );
    let v = parse(&command_f(), &format!("{HEAD}1795906803 -\n"), Some(0));
    assert_eq!(found(&v)[0].bytes, None);
    assert_eq!(found(&v)[0].name, "1795906803");
}

proptest! {
    #[test]
    fn never_panics(body in any::<String>(), rc in proptest::option::of(any::<i32>())) {
        for f in [files(), restic_f(), borg_f(), command_f()] {
            let _ = read(&f, &body, rc);
            let _ = read(&f, &format!("{HEAD}{body}"), rc);
        }
        let _ = name_time(&body);
    }

    #[test]
    fn listing_lines_never_panic(
        lines in proptest::collection::vec(
            "(-|0|[0-9]{1,12}) -?[0-9]{1,12} (-|[0-9]{1,20}) (f|d|x) [ -~]{0,30}", 0..20),
        open in proptest::collection::vec("[ -~]{0,30}", 0..4),
    ) {
        let body = format!("{HEAD}{}\n@@open\n{}\n", lines.join("\n"), open.join("\n"));
        let _ = read(&files(), &body, Some(0));
    }

    #[test]
    fn name_times_never_panic(name in "[0-9TZ:+._ -]{0,40}") {
        let _ = name_time(&name);
    }
}

#[test]
fn without_lsof_a_paused_backup_is_said_to_be_unprovable() {
    let body = format!("{HEAD}1795900000 1795900100 10 f userdb.dump\n@@open\n@@noopen\n");
    let r = read(&files(), &body, Some(0));
    assert!(matches!(r.reading, CopyReading::Found(ref b) if b.len() == 1));
    assert!(
        r.notes
            .iter()
            .any(|n| n.starts_with("neither lsof nor fuser")),
        "{:?}",
        r.notes
    );
    // fuser sees files: nothing to say about a file backup…
    let body = format!("{HEAD}1795900000 1795900100 10 f userdb.dump\n@@open\n@@noopen-dirs\n");
    assert!(read(&files(), &body, Some(0)).notes.is_empty());
    // …but the newest backup being a directory tree, it cannot tell.
    let body = format!("{HEAD}1795900000 1795900100 4096 d snap-1\n@@open\n@@noopen-dirs\n");
    let r = read(&files(), &body, Some(0));
    assert!(
        r.notes.iter().any(|n| n.starts_with("fuser cannot see")),
        "{:?}",
        r.notes
    );
    // A tool printing the old plain marker cannot switch parts.
    let body = format!("{HEAD}1795900000 1795900100 10 f a.dump\n@@noopen\n");
    assert!(
        read(
            &files(),
            &body.replace("@@noopen", "@@VIGIE x PART noopen"),
            Some(0)
        )
        .notes
        .is_empty()
    );
}
