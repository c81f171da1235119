use super::*;
use crate::backup::rto::Import;
use crate::drp::journal::parse;

const CONFIG: &str = r#"
[site]
name = "t"
[ssh]
use_ssh_config = false
user = "root"
[[hosts]]
name = "prod"
role = "production"
datacenter = "dc1"
[[hosts]]
name = "backup-a"
role = "backup"
datacenter = "dc1"
[[hosts]]
name = "drp"
role = "drp"
datacenter = "dc2"
[drp]
production = "prod"
drp = "drp"
[[datasets]]
name = "userdb"
max_loss = "2h"
restore = { kind = "postgresql", database = "app" }
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/userdb"
every = "2h"
pattern = "*.dump"
[[datasets]]
name = "files"
max_loss = "24h"
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/files"
every = "24h"
pattern = "files-*"
"#;

fn config() -> Config {
    crate::config::parse(CONFIG, std::path::Path::new("/etc/vigie/config.toml")).unwrap()
}

/// A journal line of a step's end, as the engine writes it.
fn line(
    run: &str,
    step: usize,
    kind: &str,
    src: &str,
    dst: &str,
    times: (&str, &str),
    extra: &str,
) -> String {
    format!(
        r#"{{"v":1,"at":"{end}","event":"step","run":"{run}","runbook":"activate","plan_hash":"h","mode":"emergency","operator":{{}},"step":{step},"kind":"{kind}","source":"{src}","target":"{dst}","state":"{state}","started_at":"{start}","ended_at":"{end}"{extra}}}"#,
        start = times.0,
        end = times.1,
        state = if extra.contains("\"failed\"") {
            "FAILED"
        } else {
            "DONE"
        },
    )
}

const GIB: u64 = 1024 * 1024 * 1024;

fn copy(run: &str, bytes: u64, times: (&str, &str)) -> String {
    line(
        run,
        2,
        "copy",
        "backup-a:/var/backups/files/files-2026-11-28",
        "drp:/srv/www/",
        times,
        &format!(
            r#","preview":{{"bytes":{bytes},"files":3000,"created":3100,"created_dirs":100}},"bytes_copied":{bytes}"#
        ),
    )
}

fn import(run: &str, times: (&str, &str)) -> String {
    line(
        run,
        3,
        "db_import",
        "backup-a:/var/backups/userdb/userdb-2026-11-28.dump",
        "drp:postgresql database app",
        times,
        "",
    )
}

#[test]
fn a_real_copy_to_the_drp_server_is_a_measurement_of_the_path() {
    let text = copy(
        "r1",
        2 * GIB,
        ("2026-11-28T10:00:00Z", "2026-11-28T10:17:04Z"),
    ) + "\n";
    let reading = parse(&text);
    assert!(reading.warnings.is_empty(), "{:?}", reading.warnings);
    let JournalRates { copies, imports } = read(&config(), &reading.events);
    assert!(imports.is_empty());
    assert_eq!(copies.len(), 1);
    let m = &copies[0];
    assert_eq!((m.from.as_str(), m.to.as_str()), ("backup-a", "drp"));
    assert_eq!(m.bytes, 2 * GIB);
    assert!((m.seconds - 1024.0).abs() < 1e-6, "{}", m.seconds);
    assert_eq!(m.run.as_deref(), Some("r1"));
    // 2 MiB/s over the path
    assert!((m.bytes_per_second() - 2.0 * 1024.0 * 1024.0).abs() < 1.0);
}

#[test]
fn small_resumed_failed_or_elsewhere_copies_say_nothing_of_the_path() {
    let resumed_running = r#"{"v":1,"at":"2026-11-28T11:00:00Z","event":"step","run":"r2","runbook":"activate","plan_hash":"h","mode":"emergency","operator":{},"step":2,"kind":"copy","state":"RUNNING","started_at":"2026-11-28T11:00:00Z","resumed":true}"#;
    let lines = [
        // all set-up and dry runs
        copy(
            "r1",
            1024 * 1024,
            ("2026-11-28T10:00:00Z", "2026-11-28T10:00:09Z"),
        ),
        // its times span the console's death
        resumed_running.to_string(),
        copy(
            "r2",
            2 * GIB,
            ("2026-11-28T09:00:00Z", "2026-11-28T12:00:00Z"),
        ),
        // failed
        line(
            "r3",
            2,
            "copy",
            "backup-a:/var/backups/files/x",
            "drp:/srv/www/",
            ("2026-11-28T10:00:00Z", "2026-11-28T10:01:00Z"),
            r#","preview":{"bytes":9999999999},"x":"failed""#,
        ),
        // the way back (return): not a restore from the backup farm
        line(
            "r4",
            2,
            "copy",
            "drp:/srv/www/",
            "prod:/srv/www/",
            ("2026-11-28T10:00:00Z", "2026-11-28T10:01:00Z"),
            r#","preview":{"bytes":9999999999}"#,
        ),
        // updated files travel as deltas: says nothing of a restore onto an empty server
        line(
            "r6",
            2,
            "copy",
            "backup-a:/var/backups/files/x",
            "drp:/srv/www/",
            ("2026-11-28T10:00:00Z", "2026-11-28T10:01:00Z"),
            r#","preview":{"bytes":9999999999,"files":3000,"created":10,"created_dirs":10}"#,
        ),
        // an older journal without the count of new files
        line(
            "r7",
            2,
            "copy",
            "backup-a:/var/backups/files/x",
            "drp:/srv/www/",
            ("2026-11-28T10:00:00Z", "2026-11-28T10:01:00Z"),
            r#","preview":{"bytes":9999999999,"files":3000}"#,
        ),
        // ended before it started: a clock jump
        copy(
            "r5",
            2 * GIB,
            ("2026-11-28T10:00:00Z", "2026-11-28T09:00:00Z"),
        ),
    ];
    let reading = parse(&(lines.join("\n") + "\n"));
    assert!(reading.warnings.is_empty(), "{:?}", reading.warnings);
    let copies = read(&config(), &reading.events).copies;
    assert!(copies.is_empty(), "{copies:?}");
}

#[test]
fn the_newer_of_the_timed_transfer_and_the_last_copy_counts() {
    let c = config();
    let transfer = |at: &str| Measurement {
        from: "backup-a".into(),
        to: "drp".into(),
        bytes: 256 * 1024 * 1024,
        seconds: 2.0,
        at: at.parse().unwrap(),
        run: None,
    };
    let text = copy(
        "r1",
        2 * GIB,
        ("2026-11-28T10:00:00Z", "2026-11-28T10:17:04Z"),
    ) + "\n";
    let events = parse(&text).events;

    let older = Measurements {
        by_host: [("backup-a".to_string(), transfer("2026-11-27T10:00:00Z"))].into(),
        ..Default::default()
    };
    let merged = older.with_journal(&read(&c, &events));
    assert_eq!(merged.by_host["backup-a"].run.as_deref(), Some("r1"));

    let newer = Measurements {
        by_host: [("backup-a".to_string(), transfer("2026-11-29T10:00:00Z"))].into(),
        ..Default::default()
    };
    let merged = newer.with_journal(&read(&c, &events));
    assert_eq!(merged.by_host["backup-a"].run, None);
}

#[test]
fn the_last_import_of_a_dataset_gives_the_estimate_its_import_time() {
    let c = config();
    let text = [
        import("r1", ("2026-11-20T10:00:00Z", "2026-11-20T10:40:00Z")),
        import("r2", ("2026-11-28T10:00:00Z", "2026-11-28T10:25:00Z")),
    ]
    .join("\n")
        + "\n";
    let events = parse(&text).events;
    let m = Measurements::default().with_journal(&read(&c, &events));
    let userdb = &m.imports["userdb"];
    assert_eq!(userdb.run, "r2");
    assert!((userdb.seconds - 1500.0).abs() < 1e-6);

    // The estimate now has a total: copy + the last import's 25 min.
    let mut reports = crate::backup::site::evaluate_all(
        &c,
        &Default::default(),
        &Default::default(),
        jiff::Timestamp::now(),
    );
    for r in &mut reports {
        r.newest = Some(crate::backup::evaluate::NewestBackup {
            host: "backup-a".into(),
            captured_at: jiff::Timestamp::now(),
            bytes: Some(GIB),
            finished_at: None,
            name: "userdb.dump".into(),
        });
    }
    let mut m = m;
    m.by_host.insert(
        "backup-a".into(),
        Measurement {
            from: "backup-a".into(),
            to: "drp".into(),
            bytes: GIB,
            seconds: 512.0,
            at: jiff::Timestamp::now(),
            run: None,
        },
    );
    crate::backup::site::attach_rto(&c, &mut reports, &m, jiff::Timestamp::now());
    let rto = reports[0].rto.as_ref().unwrap();
    assert_eq!(rto.import_s, Some(1500), "{rto:?}");
    assert_eq!(rto.total_s, Some(512 + 1500), "{rto:?}");
    let _ = Import::None;
}

#[test]
fn garbage_in_the_journal_is_ignored_not_a_panic() {
    let text = [
        line(
            "r",
            2,
            "copy",
            "nohost",
            "drp",
            ("2026-11-28T10:00:00Z", "2026-11-28T10:01:00Z"),
            "",
        ),
        line(
            "r",
            2,
            "copy",
            ":/x",
            "drp:/y",
            ("2026-11-28T10:00:00Z", "2026-11-28T10:01:00Z"),
            r#","preview":{"bytes":"many"}"#,
        ),
        line(
            "r",
            3,
            "db_import",
            "elsewhere:/var/backups/userdb/x",
            "drp",
            ("2026-11-28T10:00:00Z", "2026-11-28T10:01:00Z"),
            "",
        ),
        line(
            "r",
            3,
            "db_import",
            "backup-a:/var/backups/userdbX/x",
            "drp",
            ("2026-11-28T10:00:00Z", "2026-11-28T10:01:00Z"),
            "",
        ),
    ]
    .join("\n");
    let events = parse(&text).events;
    let JournalRates { copies, imports } = read(&config(), &events);
    assert!(
        copies.is_empty() && imports.is_empty(),
        "{copies:?} {imports:?}"
    );
}
