//! Tests of `[[datasets]]`: the values resolved, and the checks the fixture tests
//! (tests/config_datasets.rs) do not spell out.

use super::*;
use crate::config::load::tests::{FakeSsh, SITE, errors, host, ok};

const MIN: u64 = 60;
const H: u64 = 3600;

/// Two backup hosts, then `datasets`.
fn site(datasets: &str) -> String {
    format!(
        "{SITE}{}{}{datasets}",
        host("backup-a", "address = \"a\""),
        host("backup-b", "address = \"b\"")
    )
}

fn copy(extra: &str) -> String {
    format!("[[datasets.copies]]\nhost = \"backup-a\"\npath = \"/b\"\nevery = \"24h\"\n{extra}\n")
}

fn dataset(copies: &str) -> String {
    format!("[[datasets]]\nname = \"d\"\nmax_loss = \"1d\"\n{copies}")
}

#[test]
fn default_grace_is_a_quarter_within_bounds() {
    let g = |s| default_grace(Duration::from_secs(s)).as_secs();
    assert_eq!(g(2 * H), 30 * MIN);
    assert_eq!(g(10 * MIN), 15 * MIN);
    assert_eq!(g(H), 15 * MIN);
    assert_eq!(g(4 * H), H);
    assert_eq!(g(24 * H), 6 * H);
    assert_eq!(g(7 * 24 * H), 6 * H);
}

#[test]
fn formats_and_their_fields() {
    let ssh = FakeSsh::default();
    let text = site(&dataset(&format!(
        "{}{}{}{}",
        copy("pattern = \"*.tar\""),
        copy("format = \"restic\"\npassword_file = \"/etc/restic/pw\"\npath = \"/r\"")
            .replace("path = \"/b\"\n", ""),
        copy("format = \"borg\"\npath = \"/g/\"").replace("path = \"/b\"\n", ""),
        copy("format = \"command\"\ncommand = \"list-dumps\"\npath = \"/c\"")
            .replace("path = \"/b\"\n", ""),
    )));
    let c = ok(&text, &ssh);
    let formats: Vec<(&str, &BackupFormat)> = c.datasets[0]
        .copies
        .iter()
        .map(|c| (c.path.as_str(), &c.format))
        .collect();
    assert_eq!(
        formats,
        vec![
            (
                "/b",
                &BackupFormat::Files {
                    pattern: "*.tar".into()
                }
            ),
            (
                "/r",
                &BackupFormat::Restic {
                    password_file: Some("/etc/restic/pw".into())
                }
            ),
            (
                "/g",
                &BackupFormat::Borg {
                    password_file: None
                }
            ),
            (
                "/c",
                &BackupFormat::Command {
                    command: "list-dumps".into()
                }
            ),
        ]
    );
}

#[test]
fn restore_kinds() {
    let ssh = FakeSsh::default();
    let with = |restore: &str| {
        site(&format!(
            "[[datasets]]\nname = \"d\"\nmax_loss = \"2h\"\nrestore = {restore}\n{}",
            copy("pattern = \"*\"")
        ))
    };
    let restore = |r| ok(&with(r), &ssh).datasets[0].restore.clone();
    assert_eq!(
        restore("{ kind = \"mysql\", database = \"app\" }"),
        Some(Restore::Mysql {
            database: "app".into()
        })
    );
    assert_eq!(restore("{ kind = \"files\" }"), Some(Restore::Files));
    assert_eq!(
        restore("{ kind = \"postgresql\", database = \"app\", port = 5433 }"),
        Some(Restore::Postgresql {
            database: "app".into(),
            port: Some(5433),
        })
    );
    assert_eq!(
        restore("{ kind = \"postgresql\", database = \"app\" }"),
        Some(Restore::Postgresql {
            database: "app".into(),
            port: None,
        })
    );
    for (r, want) in [
        (
            "{ kind = \"postgresql\", database = \"app\", port = 70000 }",
            "16:59: `port` = 70000 is out of range: expected a port number from 1 to 65535",
        ),
        (
            "{ kind = \"postgresql\", database = \"app\", port = -1 }",
            "16:59: `port` = -1 is out of range: expected a port number from 1 to 65535",
        ),
        (
            "{ kind = \"postgresql\", database = \"app\", port = 54.5 }",
            "16:59: `port`: expected a port number from 1 to 65535, found float 54.5",
        ),
        (
            "{ kind = \"mysql\", database = \"app\", port = 3307 }",
            "16:54: `port` is only for restore kind `postgresql`: the MySQL import connects \
             through the server's unix socket as the SSH user (unix_socket authentication or \
             ~/.my.cnf), where a port does not apply; for another server, give its socket in \
             that user's ~/.my.cnf ([client] socket = …)",
        ),
        (
            "{ kind = \"files\", port = 1 }",
            "16:36: `port` is only for restore kind `postgresql`: kind `files` has no server",
        ),
    ] {
        assert_eq!(errors(&with(r), &ssh), vec![want], "{r}");
    }
    // Still a closed table: an unknown key is named.
    let e = errors(
        &with("{ kind = \"postgresql\", database = \"app\", socket = \"/run\" }"),
        &ssh,
    );
    assert!(
        e.len() == 1 && e[0].contains("unknown field `socket`"),
        "{e:?}"
    );
    assert_eq!(
        errors(&with("{ database = \"app\" }"), &ssh),
        vec![
            "16:11: missing field `kind` in `restore` of dataset `d`: expected one of \
             `postgresql`, `mysql`, `files`"
        ]
    );
    assert_eq!(
        errors(&with("{ kind = \"oracle\", database = \"app\" }"), &ssh),
        vec![
            "16:20: unknown restore kind `oracle`, expected one of `postgresql`, `mysql`, \
             `files`"
        ]
    );
    assert_eq!(
        errors(&with("\"postgresql\""), &ssh),
        vec![
            "16:11: `restore` of dataset `d`: expected a table such as { kind = \"postgresql\", \
             database = \"app\" }, found string"
        ]
    );
}

#[test]
fn shapes_are_explained() {
    let ssh = FakeSsh::default();
    assert_eq!(
        errors(&site("[datasets]\nname = \"d\"\n"), &ssh),
        vec![
            "13:1: `datasets` must be an array of tables, found table: write each dataset as \
             [[datasets]]"
        ]
    );
    assert_eq!(
        errors(
            &site(
                "[[datasets]]\nname = \"d\"\nmax_loss = \"1d\"\n[datasets.copies]\nhost = \"backup-a\"\n"
            ),
            &ssh
        ),
        vec![
            "16:1: `copies` of dataset `d` must be an array of tables, found table: write each \
             copy as [[datasets.copies]]"
        ]
    );
    // A mistake in one copy does not hide those of the dataset or of the other copies.
    let text = site(&format!(
        "[[datasets]]\nname = \"a.b\"\nmax_loss = \"0s\"\n{}{}",
        copy("colour = \"red\""),
        copy("format = \"tape\"")
    ));
    assert_eq!(
        errors(&text, &ssh),
        vec![
            "14:8: invalid dataset name \"a.b\": expected letters, digits, `_` and `-`, not \
             starting with `-` (it is part of check ids such as backup.NAME.loss_window)",
            "15:12: `max_loss` must be longer than zero; expected a duration of at most 30d",
            "20:1: unknown field `colour`, expected one of `host`, `path`, `every`, `days`, \
             `format`, `pattern`, `command`, `password_file`, `grace`",
            "25:10: unknown format `tape`, expected one of `files`, `restic`, `borg`, `command`",
        ]
    );
}

#[test]
fn copies_on_broken_hosts_are_not_reported_again() {
    let ssh = FakeSsh::default();
    let text = format!(
        "{SITE}[[hosts]]\nname = \"backup-a\"\nrole = \"backup\"\n{}",
        dataset(&copy("pattern = \"*\""))
    );
    assert_eq!(
        errors(&text, &ssh),
        vec![
            "3:1: missing field `datacenter` in [[hosts]] `backup-a`: expected the datacenter \
             it is in, e.g. datacenter = \"dc1\""
        ]
    );
}

#[test]
fn paths_are_normalised_for_duplicates() {
    let ssh = FakeSsh::default();
    let text = site(&dataset(&format!(
        "{}{}{}",
        copy("pattern = \"*\""),
        copy("pattern = \"*\"").replace("backup-a", "backup-b"),
        copy("pattern = \"*.gz\"").replace("\"/b\"", "\"/b/\""),
    )));
    assert_eq!(
        errors(&text, &ssh),
        vec![
            "28:8: dataset `d` already has a copy on `backup-a` at \"/b\" (line 18): each copy \
             is another host or another path"
        ]
    );
}
