use super::*;

// Real archives made here under faketime (tests/fixtures/pg_dump_clock/README.md): their
// first 128 bytes as the scripts send them, and what `TZ=UTC0 pg_restore -l` printed.
const PARIS_2300: &str =
    include_str!("../../tests/fixtures/pg_dump_clock/paris_2026-11-28_2300.header");
const PARIS_2300_LIST: &str =
    include_str!("../../tests/fixtures/pg_dump_clock/paris_2026-11-28_2300.list");
const UTC_2300: &str =
    include_str!("../../tests/fixtures/pg_dump_clock/utc_2026-11-28_2300.header");
const UTC_2300_LIST: &str =
    include_str!("../../tests/fixtures/pg_dump_clock/utc_2026-11-28_2300.list");
const PARIS_SUMMER: &str =
    include_str!("../../tests/fixtures/pg_dump_clock/paris_2026-07-14_1200.header");
const PARIS_SUMMER_LIST: &str =
    include_str!("../../tests/fixtures/pg_dump_clock/paris_2026-07-14_1200.list");
const FOLD_CEST: &str = include_str!("../../tests/fixtures/pg_dump_clock/paris_fold_cest.header");
const FOLD_CEST_LIST: &str =
    include_str!("../../tests/fixtures/pg_dump_clock/paris_fold_cest.list");
const FOLD_CET: &str = include_str!("../../tests/fixtures/pg_dump_clock/paris_fold_cet.header");
const FOLD_CET_LIST: &str = include_str!("../../tests/fixtures/pg_dump_clock/paris_fold_cet.list");

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn wall(s: &str) -> DateTime {
    parse_wall(s).unwrap()
}

/// "Archive created at" of a `pg_restore -l` listing, as the scripts' sed reads it.
fn printed(list: &str) -> DateTime {
    let line = list
        .lines()
        .find_map(|l| l.strip_prefix("; Archive created at "))
        .unwrap();
    wall(line.strip_suffix(" UTC").unwrap())
}

/// The facts the import script sends for an archive (its `capture` line).
fn facts(header: &str, list: &str, mtime: &str, zones: &[&str]) -> ArchiveFacts {
    ArchiveFacts {
        clock: Some(printed(list)),
        header: Some(header.trim().to_string()),
        mtime: Some(ts(mtime)),
        zones: zones.iter().map(|z| z.to_string()).collect(),
    }
}

#[test]
fn the_header_holds_the_wall_clock_and_its_summer_time_flag_but_no_zone() {
    let paris = parse_header(PARIS_2300).unwrap();
    assert_eq!(
        paris,
        ArchiveTime {
            wall: wall("2026-11-28T23:00:00"),
            dst: Some(false)
        }
    );
    // Made in UTC at 23:00Z, one hour after the Paris one: the same header.
    assert_eq!(parse_header(UTC_2300), Some(paris));
    assert_eq!(
        parse_header(PARIS_SUMMER),
        Some(ArchiveTime {
            wall: wall("2026-07-14T12:00:00"),
            dst: Some(true)
        })
    );
    assert_eq!(
        parse_header(FOLD_CEST).map(|t| (t.wall, t.dst)),
        Some((wall("2026-10-25T02:30:00"), Some(true)))
    );
    assert_eq!(
        parse_header(FOLD_CET).map(|t| (t.wall, t.dst)),
        Some((wall("2026-10-25T02:30:00"), Some(false)))
    );
    // pg_restore under TZ=UTC0 prints the wall clock, one hour earlier when it was summer time.
    assert_eq!(printed(PARIS_2300_LIST), wall("2026-11-28T23:00:00"));
    assert_eq!(printed(UTC_2300_LIST), wall("2026-11-28T23:00:00"));
    assert_eq!(printed(PARIS_SUMMER_LIST), wall("2026-07-14T11:00:00"));
    assert_eq!(printed(FOLD_CEST_LIST), wall("2026-10-25T01:30:00"));
    assert_eq!(printed(FOLD_CET_LIST), wall("2026-10-25T02:30:00"));
}

#[test]
fn headers_that_are_not_pg_dumps_or_cut_short_give_nothing() {
    let paris = PARIS_2300.trim();
    for bad in [
        "",
        "zz",
        "504",
        // A gzip'd SQL dump, a plain one.
        "1f8b0800000000000003",
        "2d2d20706c61696e",
        // Cut inside the time fields.
        &paris[..40],
        // Version 1.3: no time in the header.
        "5047444d5001030004080101",
        // An integer size of 0, then of 9.
        "5047444d50010e0000080101",
        "5047444d50010e0009080101",
    ] {
        assert_eq!(parse_header(bad), None, "{bad:?}");
    }
    // Longer than the scripts send.
    assert_eq!(parse_header(&paris.repeat(3)), None);
    // Upper-case hex is hex.
    assert_eq!(parse_header(&paris.to_uppercase()), parse_header(paris));
}

#[test]
fn a_version_1_15_header_has_a_one_byte_compression() {
    // Written after pg_dump 16's WriteHead (src/bin/pg_dump/pg_backup_archiver.c: K_VERS_1_15
    // stores the compression algorithm as one byte): 1.15.0, int 4, off 8, custom, gzip, then
    // 2026-11-28 23:00:00 with tm_isdst 0.
    let int = |v: u32| format!("00{:08x}", v.swap_bytes());
    let hex = format!(
        "5047444d50010f00040801{:02x}{}{}{}{}{}{}{}",
        1,
        int(0),
        int(0),
        int(23),
        int(28),
        int(10),
        int(126),
        int(0)
    );
    assert_eq!(
        parse_header(&hex),
        Some(ArchiveTime {
            wall: wall("2026-11-28T23:00:00"),
            dst: Some(false)
        })
    );
}

#[test]
fn the_printed_clock_checks_the_header_and_stands_in_for_it() {
    let p = |l| Some(printed(l));
    assert_eq!(
        archive_time(Some(PARIS_2300), p(PARIS_2300_LIST)),
        parse_header(PARIS_2300)
    );
    // Summer time: printed one hour early, still the header's.
    assert_eq!(
        archive_time(Some(PARIS_SUMMER), p(PARIS_SUMMER_LIST)),
        parse_header(PARIS_SUMMER)
    );
    // A header this reader misreads (another layout): the printed time, its flag unknown.
    assert_eq!(
        archive_time(Some(PARIS_2300), p(FOLD_CET_LIST)),
        Some(ArchiveTime {
            wall: wall("2026-10-25T02:30:00"),
            dst: None
        })
    );
    assert_eq!(
        archive_time(None, p(PARIS_2300_LIST)),
        Some(ArchiveTime {
            wall: wall("2026-11-28T23:00:00"),
            dst: None
        })
    );
    assert_eq!(archive_time(Some("00"), None), None);
}

#[test]
fn a_paris_dump_whose_file_was_written_after_it_started_is_read_in_paris() {
    // Taken at 23:00 in Paris (22:00Z), the file written 5 min later; the hosts are in UTC.
    let f = facts(
        PARIS_2300,
        PARIS_2300_LIST,
        "2026-11-28T22:05:00Z",
        &["Etc/UTC"],
    );
    let c = f.capture(Some("Europe/Paris"), Some(ts("2026-11-28T22:05:00Z")));
    assert_eq!(c.at, Some(ts("2026-11-28T22:00:00Z")));
    assert_eq!(c.by, CaptureSource::Archive);
    assert_eq!(
        c.note,
        "the archive's wall clock 2026-11-28 23:00:00 read in Europe/Paris (standard time, as \
         its header says); in Etc/UTC it would be after the dump file was written (2026-11-28 \
         22:05:00 UTC)"
    );
    // The same, the site's zone not given but a host in Paris.
    let f = facts(
        PARIS_2300,
        PARIS_2300_LIST,
        "2026-11-28T22:05:00Z",
        &["Europe/Paris"],
    );
    assert_eq!(f.capture(None, None).at, Some(ts("2026-11-28T22:00:00Z")));
    // Neither: UTC alone would be after the file, so the plan's time is used, and said.
    let f = facts(PARIS_2300, PARIS_2300_LIST, "2026-11-28T22:05:00Z", &[]);
    let c = f.capture(None, Some(ts("2026-11-28T22:05:00Z")));
    assert_eq!(c.at, Some(ts("2026-11-28T22:05:00Z")));
    assert_eq!(c.by, CaptureSource::Backup);
}

#[test]
fn a_utc_dump_is_read_in_utc_even_for_a_paris_site() {
    let f = facts(
        UTC_2300,
        UTC_2300_LIST,
        "2026-11-28T23:04:10Z",
        &["Etc/UTC"],
    );
    let c = f.capture(Some("Europe/Paris"), None);
    assert_eq!(c.at, Some(ts("2026-11-28T23:00:00Z")));
    assert_eq!(c.by, CaptureSource::Archive);
    // Paris fits the file's date too: the later reading is taken, and the other one said.
    assert_eq!(
        c.note,
        "the archive's wall clock 2026-11-28 23:00:00 read in Etc/UTC; the latest reading not \
         after the dump file's date (2026-11-28 23:04:10 UTC) is taken, also possible: \
         Europe/Paris (1 h earlier)"
    );
    // Within the slack of a clock a little ahead of the file's host.
    let f = facts(UTC_2300, UTC_2300_LIST, "2026-11-28T22:58:30Z", &[]);
    assert_eq!(
        f.capture(Some("Europe/Paris"), None).at,
        Some(ts("2026-11-28T23:00:00Z"))
    );
}

#[test]
fn a_file_older_than_every_reading_falls_back_to_the_plans_time_and_says_why() {
    let f = facts(
        PARIS_2300,
        PARIS_2300_LIST,
        "2026-11-28T20:00:00Z",
        &["Etc/UTC"],
    );
    let c = f.capture(Some("Europe/Paris"), Some(ts("2026-11-28T19:58:00Z")));
    assert_eq!(c.at, Some(ts("2026-11-28T19:58:00Z")));
    assert_eq!(c.by, CaptureSource::Backup);
    assert_eq!(
        c.note,
        "the archive's wall clock 2026-11-28 23:00:00 would be after the dump file was written \
         (2026-11-28 20:00:00 UTC) in every zone tried (Europe/Paris, Etc/UTC): the backup's \
         capture time is used"
    );
    let c = f.capture(Some("Europe/Paris"), None);
    assert_eq!((c.at, c.by), (None, CaptureSource::Unknown));
    assert!(
        c.note
            .ends_with("and the plan has no capture time of the backup"),
        "{}",
        c.note
    );
}

#[test]
fn a_summer_time_dump_is_read_with_its_flag() {
    // 12:00 CEST (10:00Z), printed 11:00 by pg_restore under UTC0; its file 20 min later.
    let f = facts(
        PARIS_SUMMER,
        PARIS_SUMMER_LIST,
        "2026-07-14T10:20:00Z",
        &["Etc/UTC"],
    );
    let c = f.capture(Some("Europe/Paris"), None);
    assert_eq!(c.at, Some(ts("2026-07-14T10:00:00Z")));
    assert_eq!(
        c.note,
        "the archive's wall clock 2026-07-14 12:00:00 read in Europe/Paris (summer time, as its \
         header says); in Etc/UTC it was standard time then, the header says summer time"
    );
}

#[test]
fn the_dst_fold_is_told_by_the_headers_flag_else_the_earlier_instant_is_taken() {
    // 2026-10-25 02:30 happened twice in Paris: 00:30Z (CEST) and 01:30Z (CET).
    let zones = ["Etc/UTC"];
    let cest = facts(FOLD_CEST, FOLD_CEST_LIST, "2026-10-25T01:45:00Z", &zones);
    assert_eq!(
        cest.capture(Some("Europe/Paris"), None).at,
        Some(ts("2026-10-25T00:30:00Z"))
    );
    let cet = facts(FOLD_CET, FOLD_CET_LIST, "2026-10-25T01:45:00Z", &zones);
    let c = cet.capture(Some("Europe/Paris"), None);
    assert_eq!(c.at, Some(ts("2026-10-25T01:30:00Z")));
    assert!(!c.note.contains("twice"), "{}", c.note);
    // Without the flag (only what pg_restore printed): the earlier instant, the larger data
    // loss, and said so — even though this one was taken at 01:30Z.
    let t = ArchiveTime {
        wall: printed(FOLD_CET_LIST),
        dst: None,
    };
    let c = read_capture(
        t,
        &["Europe/Paris"],
        true,
        Some(ts("2026-10-25T01:45:00Z")),
        None,
    );
    assert_eq!(c.at, Some(ts("2026-10-25T00:30:00Z")));
    assert_eq!(c.by, CaptureSource::Archive);
    assert!(
        c.note.starts_with(
            "the archive's wall clock 2026-10-25 02:30:00 read in Europe/Paris; 2026-10-25 \
             02:30:00 happened twice in Europe/Paris (the clocks went back): the earlier \
             instant is taken, the larger data loss"
        ),
        "{}",
        c.note
    );
    let f = ArchiveFacts {
        header: None,
        ..cet
    };
    let c = f.capture(Some("Europe/Paris"), None);
    assert_eq!(c.at, Some(ts("2026-10-25T00:30:00Z")));
    assert!(
        c.note
            .ends_with("the header's summer-time flag could not be read: as pg_restore printed it"),
        "{}",
        c.note
    );
}

#[test]
fn a_wall_clock_skipped_by_summer_time_is_not_read_in_that_zone() {
    // 2026-03-29 02:30 never happened in Paris (02:00 → 03:00).
    let t = ArchiveTime {
        wall: wall("2026-03-29T02:30:00"),
        dst: None,
    };
    let c = read_capture(
        t,
        &["Europe/Paris"],
        true,
        Some(ts("2026-03-29T02:40:00Z")),
        None,
    );
    assert_eq!(c.at, Some(ts("2026-03-29T02:30:00Z")));
    assert_eq!(
        c.note,
        "the archive's wall clock 2026-03-29 02:30:00 read in UTC; 2026-03-29 02:30:00 never \
         happened in Europe/Paris"
    );
}

#[test]
fn without_the_files_date_the_earliest_reading_is_taken() {
    let t = parse_header(UTC_2300).unwrap();
    let c = read_capture(t, &["Europe/Paris"], true, None, None);
    assert_eq!(c.at, Some(ts("2026-11-28T22:00:00Z")));
    assert!(
        c.note
            .contains("the dump file's date is not known: the earliest reading is taken"),
        "{}",
        c.note
    );
}

#[test]
fn zones_are_names_this_machine_knows_and_nothing_else() {
    let t = parse_header(PARIS_2300).unwrap();
    let m = Some(ts("2026-11-28T22:05:00Z"));
    for z in ["posix/Europe/Paris", ":Europe/Paris", " Europe/Paris\n"] {
        assert_eq!(
            read_capture(t, &[z], true, m, None).at,
            Some(ts("2026-11-28T22:00:00Z")),
            "{z:?}"
        );
    }
    // Unknown or unsafe names are not tried: only UTC is left, after the file.
    for z in [
        "Mars/Olympus",
        "../../etc/passwd",
        "Europe/Paris; rm -rf /",
        "",
        "CET-1CEST",
    ] {
        let c = read_capture(t, &[z], true, m, None);
        assert_eq!(c.by, CaptureSource::Unknown, "{z:?}: {c:?}");
    }
}

#[test]
fn facts_are_read_from_the_capture_line_and_the_mark() {
    let line = format!(
        "clock=2026-11-28T23:00:00 header={} mtime=1795903500 zones=Etc/UTC,Europe/Paris",
        PARIS_2300.trim()
    );
    let f = ArchiveFacts::parse(&line).unwrap();
    assert_eq!(f.clock, Some(wall("2026-11-28T23:00:00")));
    assert_eq!(f.mtime, Some(ts("2026-11-28T22:05:00Z")));
    assert_eq!(f.zones, ["Etc/UTC", "Europe/Paris"]);
    assert_eq!(f.capture(None, None).at, Some(ts("2026-11-28T22:00:00Z")));
    // No archive: nothing.
    assert_eq!(
        ArchiveFacts::parse("clock=- header=- mtime=- zones=-"),
        None
    );
    assert_eq!(
        ArchiveFacts::parse("captured_at=2026-11-28T23:00:00Z"),
        None
    );
    // Unreadable values are left out.
    let f =
        ArchiveFacts::parse("clock=2026-11-28T23:00:00 header=xyz mtime=-5 zones=a;b,Europe/Paris")
            .unwrap();
    assert_eq!(
        (f.header, f.mtime, f.zones),
        (None, None, vec!["Europe/Paris".to_string()])
    );
}

proptest::proptest! {
    #[test]
    fn the_chooser_never_panics(
        secs in -377_705_116_800i64..=253_402_207_200i64,
        dst in proptest::option::of(proptest::bool::ANY),
        zones in proptest::collection::vec("\\PC{0,30}|Europe/Paris|America/New_York|Australia/Lord_Howe|Asia/Kolkata|Etc/GMT-14", 0..4),
        mtime in proptest::option::of(-377_705_116_800i64..=253_402_207_200i64),
        hint in proptest::option::of(-377_705_116_800i64..=253_402_207_200i64),
    ) {
        let at = Timestamp::from_second(secs).unwrap();
        let t = ArchiveTime { wall: TimeZone::UTC.to_datetime(at), dst };
        let z: Vec<&str> = zones.iter().map(String::as_str).collect();
        let m = mtime.and_then(|s| Timestamp::from_second(s).ok());
        let h = hint.and_then(|s| Timestamp::from_second(s).ok());
        let c = read_capture(t, &z, true, m, h);
        // Whatever it takes is within the file's date, or the plan's, or nothing.
        if c.by == CaptureSource::Archive {
            if let (Some(at), Some(m)) = (c.at, m) {
                proptest::prop_assert!(at.as_second() <= m.as_second() + MTIME_SLACK_S);
            }
        } else {
            proptest::prop_assert_eq!(c.at, h);
        }
    }

    #[test]
    fn readers_never_panic(s in "\\PC{0,300}", hex in "[0-9a-f]{0,256}") {
        let _ = parse_header(&s);
        let _ = parse_header(&hex);
        let _ = parse_header(&format!("5047444d50{hex}"));
        let _ = parse_wall(&s);
        if let Some(f) = ArchiveFacts::parse(&s) {
            let _ = f.capture(Some(&s), None);
        }
        let _ = ArchiveFacts::parse(&format!("clock=2026-11-28T23:00:00 header=5047444d50{hex} zones={s}"))
            .map(|f| f.capture(None, None));
    }
}

/// A long dump on a site whose servers all run in Paris: its file is written more than an hour
/// after it started, so a UTC reading would fit the file's date too — and be an hour late (the
/// data loss an hour short). No host runs in UTC: UTC is not a candidate.
#[test]
fn a_long_dump_on_paris_servers_is_never_read_as_utc() {
    let f = facts(
        PARIS_2300,
        PARIS_2300_LIST,
        "2026-11-28T23:10:00Z",
        &["Europe/Paris"],
    );
    let c = f.capture(Some("Europe/Paris"), None);
    assert_eq!(c.at, Some(ts("2026-11-28T22:00:00Z")), "{}", c.note);
    assert_eq!(c.by, CaptureSource::Archive);
    // Where no host's zone could be read, UTC stays a candidate (and, fitting, is taken:
    // the note says the Paris reading was possible).
    let f = facts(PARIS_2300, PARIS_2300_LIST, "2026-11-28T23:10:00Z", &[]);
    let c = f.capture(Some("Europe/Paris"), None);
    assert_eq!(c.at, Some(ts("2026-11-28T23:00:00Z")));
    assert!(c.note.contains("Europe/Paris (1 h earlier)"), "{}", c.note);
}
