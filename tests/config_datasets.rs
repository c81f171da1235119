//! `[[datasets]]` in the configuration (SPEC §5), over the fixtures in tests/fixtures/config/:
//! a good file resolves with its defaults; every mistake is refused at the exact line and column
//! of the offending value, with a message saying what was expected.

use std::path::Path;
use std::time::Duration;
mod common;

use common::config::{assert_problems, fixture, load_err};
use vigie::backup::model::{BackupFormat, Copy, Dataset, Days, Restore};
use vigie::config;

const MIN: Duration = Duration::from_secs(60);
const H: Duration = Duration::from_secs(3600);

// ---------------------------------------------------------------------------------------------
// A good file

#[test]
fn datasets_resolve_with_their_defaults() {
    let c = config::load(&fixture("datasets_good.toml")).unwrap_or_else(|e| panic!("{e}"));
    let copy = |host: &str, path: &str, every, days, format, grace| Copy {
        host: host.into(),
        path: path.into(),
        every,
        days,
        format,
        grace,
    };
    let tarballs = || BackupFormat::Files {
        pattern: "files-*.tar.gz".into(),
    };
    assert_eq!(
        c.datasets,
        vec![
            Dataset {
                name: "userdb".into(),
                max_loss: 2 * H,
                restore: Some(Restore::Postgresql {
                    database: "app".into(),
                    port: None,
                }),
                copies: vec![
                    // Default days (all), format (files), grace (a quarter of 2 h).
                    copy(
                        "backup-a",
                        "/var/backups/userdb",
                        2 * H,
                        Days::All,
                        BackupFormat::Files {
                            pattern: "*.dump".into()
                        },
                        30 * MIN,
                    ),
                    copy(
                        "backup-b",
                        "/srv/restic/userdb",
                        6 * H,
                        Days::All,
                        BackupFormat::Restic {
                            password_file: Some("/etc/vigie/restic.pass".into())
                        },
                        2 * H,
                    ),
                ],
            },
            Dataset {
                name: "files".into(),
                max_loss: 24 * H,
                restore: Some(Restore::Files),
                copies: vec![
                    // The trailing slash is dropped; a quarter of a day is capped at 6 h.
                    copy(
                        "backup-a",
                        "/var/backups/files",
                        24 * H,
                        Days::Even,
                        tarballs(),
                        6 * H,
                    ),
                    copy(
                        "backup-b",
                        "/var/backups/files",
                        24 * H,
                        Days::Odd,
                        tarballs(),
                        6 * H,
                    ),
                ],
            },
        ]
    );
    assert_eq!(c.dataset("files").unwrap().copies[1].days.word(), "odd");
    assert!(c.dataset("nope").is_none());
}

#[test]
fn a_file_without_datasets_has_none() {
    let c = config::load(&fixture("minimal.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert!(c.datasets.is_empty());
}

#[test]
fn the_example_has_the_datasets_of_the_spec() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let c = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    /// (host, every, days, format) of a copy.
    type CopyLine<'a> = (&'a str, Duration, Days, &'a str);
    let summary: Vec<(&str, Duration, Vec<CopyLine>)> = c
        .datasets
        .iter()
        .map(|d| {
            let copies = d
                .copies
                .iter()
                .map(|c| (c.host.as_str(), c.every, c.days, c.format.word()))
                .collect();
            (d.name.as_str(), d.max_loss, copies)
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "userdb",
                2 * H,
                vec![("backup-a", 2 * H, Days::All, "files")]
            ),
            (
                "files",
                24 * H,
                vec![
                    ("backup-a", 24 * H, Days::Even, "files"),
                    ("backup-b", 24 * H, Days::Odd, "files"),
                ]
            ),
        ]
    );
    assert_eq!(
        c.dataset("userdb").unwrap().restore,
        Some(Restore::Postgresql {
            database: "app".into(),
            port: None,
        })
    );
}

// ---------------------------------------------------------------------------------------------
// Datasets

#[test]
fn dataset_names() {
    assert_problems(
        "dataset_names.toml",
        &[
            (
                36,
                8,
                "duplicate dataset name `userdb`: already used on line 27; dataset names must be \
                 unique",
            ),
            (45, 8, "dataset name \"user db\" contains blanks"),
            (
                54,
                8,
                "invalid dataset name \"user.db\": expected letters, digits, `_` and `-`",
            ),
            (
                62,
                1,
                "missing field `name` in [[datasets]]: expected the dataset's name",
            ),
        ],
    );
}

#[test]
fn dataset_max_loss() {
    assert_problems(
        "dataset_max_loss.toml",
        &[
            (
                26,
                1,
                "missing field `max_loss` in [[datasets]] `a`: expected the site's limit on data \
                 loss, e.g. max_loss = \"2h\"",
            ),
            (
                36,
                12,
                "`max_loss` must be longer than zero; expected a duration of at most 30d",
            ),
            (
                45,
                12,
                "`max_loss` = \"31d\" is out of range: expected a duration of at most 30d",
            ),
            (
                54,
                12,
                "`max_loss`: expected a duration such as \"5s\", \"2h30m\" or \"250ms\", found \
                 integer 7200 (write \"7200s\" for seconds)",
            ),
        ],
    );
}

#[test]
fn dataset_restore() {
    assert_problems(
        "dataset_restore.toml",
        &[
            (29, 20, "restore kind `postgresql` needs a `database`"),
            (
                39,
                40,
                "`database` is only for restore kinds `postgresql` and `mysql`",
            ),
            (
                49,
                20,
                "unknown restore kind `oracle`, expected one of `postgresql`, `mysql`, `files`",
            ),
            (
                59,
                47,
                "unknown field `user`, expected one of `kind`, `database`, `port`",
            ),
        ],
    );
}

#[test]
fn a_dataset_needs_copies() {
    assert_problems(
        "dataset_no_copies.toml",
        &[
            (
                27,
                8,
                "dataset `userdb` has no copies: expected at least one [[datasets.copies]]",
            ),
            (33, 10, "dataset `files` has no copies"),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Copies

#[test]
fn copy_hosts_are_supervised_hosts() {
    assert_problems(
        "copy_host.toml",
        &[
            (
                31,
                8,
                "copy host `backupa` names no host: expected one of the [[hosts]] names (`prod`, \
                 `backup-a`, `backup-b`); did you mean `backup-a`?",
            ),
            (
                37,
                8,
                "copy host `tape-library` names no host: expected one of the [[hosts]] names",
            ),
            (
                42,
                1,
                "missing field `host` in [[datasets.copies]] of dataset `userdb`",
            ),
        ],
    );
    let e = load_err("copy_host.toml").to_string();
    let second = e.lines().nth(1).unwrap();
    assert!(!second.contains("did you mean"), "{second}");
}

#[test]
fn copy_paths() {
    assert_problems(
        "copy_path.toml",
        &[
            (
                32,
                8,
                "`path` \"var/backups/userdb\" must be an absolute path on host `backup-a`",
            ),
            (
                38,
                8,
                "`path` \"~/backups\" must be an absolute path on host `backup-b`",
            ),
            (
                42,
                1,
                "missing field `path` in [[datasets.copies]] of dataset `userdb`",
            ),
            (
                55,
                8,
                "dataset `userdb` already has a copy on `backup-a` at \"/var/backups/userdb\" \
                 (line 49)",
            ),
        ],
    );
}

#[test]
fn copy_intervals_and_grace() {
    assert_problems(
        "copy_every.toml",
        &[
            (
                30,
                1,
                "missing field `every` in [[datasets.copies]] of dataset `userdb`: expected the \
                 interval between two backups",
            ),
            (
                38,
                9,
                "`every` must be longer than zero; expected a duration of at most 7d",
            ),
            (
                44,
                9,
                "`every` = \"8d\" is out of range: expected a duration of at most 7d",
            ),
            (
                50,
                9,
                "`every` = \"2h\" is shorter than a day, but this copy runs on even days only: \
                 parity schedules are daily",
            ),
            (
                57,
                9,
                "`every` = \"12h\" is shorter than a day, but this copy runs on odd days only",
            ),
            (65, 9, "`grace` must be longer than zero"),
            (
                72,
                9,
                "`grace` = \"2w\" is out of range: expected a duration of at most 7d",
            ),
        ],
    );
}

#[test]
fn copy_days() {
    assert_problems(
        "copy_days.toml",
        &[
            (
                34,
                8,
                "unknown days `weekdays`, expected one of `all`, `even`, `odd`",
            ),
            (
                41,
                8,
                "unknown days `Even`, expected one of `all`, `even`, `odd` (written in lowercase)",
            ),
            (
                48,
                8,
                "`days`: expected one of `all`, `even`, `odd`, found integer 2",
            ),
        ],
    );
}

#[test]
fn copy_formats_and_their_fields() {
    assert_problems(
        "copy_format.toml",
        &[
            // No pattern (lines 30 and 39): files takes every entry, "*", as SPEC §5's example.
            (
                45,
                10,
                "unknown format `tape`, expected one of `files`, `restic`, `borg`, `command`",
            ),
            (
                52,
                11,
                "`pattern` is only for format `files`; this copy's format is `restic`",
            ),
            (
                53,
                11,
                "`command` is only for format `command`; this copy's format is `restic`",
            ),
            (
                59,
                10,
                "missing `command`: format command needs a command, run on `backup-a`, that \
                 prints one backup a line",
            ),
            (
                66,
                11,
                "`command` is only for format `command`; this copy's format is `files`",
            ),
            (
                67,
                17,
                "`password_file` is only for formats `restic` and `borg`; this copy's format is \
                 `files`",
            ),
            (
                74,
                17,
                "`password_file` \"borg.pass\" must be an absolute path on host `backup-b`",
            ),
            (
                80,
                11,
                "`pattern` \"dumps/*.dump\" matches names, not paths",
            ),
        ],
    );
}

#[test]
fn the_spec_example_loads_as_written() {
    let c = config::load(&fixture("spec_example.toml")).unwrap_or_else(|e| panic!("{e}"));
    let files = c.dataset("files").unwrap();
    assert_eq!(files.copies.len(), 2);
    assert_eq!(
        files.copies[0].format,
        BackupFormat::Files {
            pattern: "*".into()
        }
    );
    assert_eq!(files.copies[1].days, Days::Odd);
    assert_eq!(c.dataset("userdb").unwrap().max_loss, 2 * H);
}
