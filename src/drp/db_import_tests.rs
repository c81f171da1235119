use super::*;
use crate::drp::job::{self, JobState, JobStatus};
use std::io::Write as _;
use std::process::{Command, Stdio};

pub(crate) fn ts(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

pub(crate) fn hp(host: &str, path: &str) -> HostPath {
    HostPath {
        host: host.into(),
        path: path.into(),
    }
}

pub(crate) fn pg_spec(drill: bool) -> ImportSpec {
    ImportSpec::new(
        hp("backup-a", "/var/backups/vigie-h10-exp/app.dump"),
        "drp",
        DbKind::Postgresql,
        if drill { "app_drill" } else { "app" },
        "select count(*) from users",
        "ssh -F /etc/vigie/transfer_ssh_config",
        drill,
        Some(ts("2026-11-29T03:12:00Z")),
    )
    .unwrap()
}

pub(crate) fn my_spec() -> ImportSpec {
    ImportSpec::new(
        hp("backup-a", "/var/backups/vigie-h10-exp/app.sql.gz"),
        "prod",
        DbKind::Mysql,
        "vigie_exp_app",
        "select count(*) from users",
        "ssh",
        false,
        Some(ts("2026-11-29T03:12:00Z")),
    )
    .unwrap()
}

pub(crate) fn exited(rc: i32) -> JobStatus {
    JobStatus {
        state: JobState::Exited { rc },
        dir: "/root/.local/state/vigie/jobs/drp/RUN/3-1-import".into(),
        started: Some(0),
        output: job::Output::default(),
    }
}

// ------------------------------------------------------------------------------ names, spec

#[test]
fn the_new_and_previous_databases_are_named_after_the_run() {
    let s = pg_spec(false);
    assert_eq!(
        s.new_database("20261129T031500Z-ab12").as_deref(),
        Some("app_vigie_20261129t031500z_ab12")
    );
    assert_eq!(
        s.before_database("20261129T031500Z-ab12").as_deref(),
        Some("app_before_20261129t031500z_ab12")
    );
    assert_eq!(
        s.fetched_path("R1"),
        "/var/tmp/vigie-import/R1/app/app.dump"
    );
    // A drill restores into its own database: no other name, no switch.
    let d = pg_spec(true);
    assert_eq!(d.new_database("R1"), None);
    assert_eq!(d.before_database("R1"), None);
}

#[test]
fn long_names_are_cut_with_a_hash_and_stay_distinct() {
    let db = "a_rather_long_application_database_name_x";
    let s = ImportSpec::new(
        hp("b", "/d.dump"),
        "t",
        DbKind::Postgresql,
        db,
        "select 1",
        "ssh",
        false,
        None,
    )
    .unwrap();
    let run = "20261129T031500Z-ab12";
    let new = s.new_database(run).unwrap();
    let before = s.before_database(run).unwrap();
    assert!(new.len() <= 63 && before.len() <= 63, "{new} {before}");
    assert_ne!(new, before);
    assert!(new.starts_with(db) && before.starts_with(db));
    // The same run gives the same names (a retry finds them); another run other names.
    assert_eq!(s.new_database(run).unwrap(), new);
    assert_ne!(s.new_database("20261129T031500Z-ab13").unwrap(), new);
}

#[test]
fn dangerous_or_ambiguous_imports_are_refused() {
    let spec = |from: &str, db: &str, drill: bool, ssh: &str| {
        ImportSpec::new(
            hp("backup-a", from),
            "drp",
            DbKind::Postgresql,
            db,
            "select 1",
            ssh,
            drill,
            None,
        )
    };
    let refused = |r: Result<ImportSpec, ImportError>| match r {
        Err(ImportError::Refused { why, .. }) => why,
        other => panic!("not refused: {other:?}"),
    };
    assert!(refused(spec("dumps/x.dump", "app", false, "ssh")).contains("not an absolute"));
    assert!(refused(spec("/var/backups/", "app", false, "ssh")).contains("not an absolute"));
    assert!(refused(spec("/var/../etc/shadow", "app", false, "ssh")).contains("`..`"));
    assert!(refused(spec("/a\nb", "app", false, "ssh")).contains("control"));
    assert!(refused(spec("/x.dump", "app; drop", false, "ssh")).contains("database name"));
    assert!(refused(spec("/x.dump", "-app", false, "ssh")).contains("database name"));
    assert!(refused(spec("/x.dump", &"a".repeat(64), false, "ssh")).contains("at most 63"));
    // Only a *_drill database is ever dropped.
    assert!(refused(spec("/x.dump", "app", true, "ssh")).contains("must end in `_drill`"));
    assert!(refused(spec("/x.dump", "app", false, " ")).contains("transfer_ssh"));
    let r = ImportSpec::new(
        hp("backup-a", "/x.dump"),
        "-oProxyCommand=x",
        DbKind::Mysql,
        "app",
        "select 1",
        "ssh",
        false,
        None,
    );
    assert!(refused(r).contains("not a host name"));
    let r = ImportSpec::new(
        hp("drp", "/x.dump"),
        "drp",
        DbKind::Mysql,
        "app",
        "  ",
        "",
        false,
        None,
    );
    assert!(refused(r).contains("verify query is empty"));
    // A dump already on the target needs no transfer path.
    assert!(
        ImportSpec::new(
            hp("drp", "/x.dump"),
            "drp",
            DbKind::Mysql,
            "app",
            "select 1",
            "",
            false,
            None
        )
        .is_ok()
    );
}

#[test]
fn a_plan_step_becomes_an_import_with_the_backups_capture_time() {
    use super::super::model::{Action, BackupPick, DbRestore, Endpoint, HostRef};
    let host = |n: &str, dc: &str| HostRef {
        name: n.into(),
        datacenter: dc.into(),
    };
    let pick = BackupPick {
        dataset: "userdb".into(),
        host: host("backup-a", "dc1"),
        path: "/var/backups/userdb/app-2026-11-28T2208.dump".into(),
        name: "app-2026-11-28T2208.dump".into(),
        captured_at: ts("2026-11-28T22:08:00Z"),
        bytes: Some(123456),
    };
    let mut step = PlanStep {
        number: 3,
        title: "Import the user database".into(),
        action: Action::Run,
        step: Resolved::DbImport {
            from_spec: "newest:userdb".into(),
            from: Some(Endpoint {
                host: pick.host.clone(),
                path: pick.path.clone(),
                backup: Some(pick),
            }),
            to: host("drp", "dc2"),
            restore: DbRestore {
                kind: DbKind::Postgresql,
                database: "app_drill".into(),
                port: None,
            },
            verify: "select count(*) from users".into(),
        },
        notes: Vec::new(),
        preview: Vec::new(),
    };
    let s = ImportSpec::from_plan(&step, Mode::Drill, "ssh -F /etc/vigie/t").unwrap();
    assert_eq!(s.to(), "drp");
    assert_eq!(s.database(), "app_drill");
    assert!(s.is_drill());
    assert_eq!(
        s.from().to_string(),
        "backup-a:/var/backups/userdb/app-2026-11-28T2208.dump"
    );
    let text = s.script("import", "R1").unwrap();
    assert!(text.contains("VI_HINT='2026-11-28T22:08:00Z'\n"), "{text}");
    assert!(text.contains("VI_DRILL='1'\n"));
    // An unresolved source cannot make an import.
    if let Resolved::DbImport { from, .. } = &mut step.step {
        *from = None;
    }
    let e = ImportSpec::from_plan(&step, Mode::Planned, "ssh").unwrap_err();
    assert!(
        e.to_string().contains("newest:userdb is not resolved"),
        "{e}"
    );
}

// ------------------------------------------------------------------------------ preview

#[test]
fn the_preview_shows_every_command_and_the_switch() {
    let p = pg_spec(false).preview("20261129T031500Z-ab12");
    let all = p.join("\n");
    assert!(p.iter().all(|l| l.starts_with("drp: ")), "{all}");
    assert!(
        all.contains(
            "rsync -s --partial-dir=.vigie-partial --timeout=300 -e 'ssh -F /etc/vigie/transfer_ssh_config' -- backup-a:/var/backups/vigie-h10-exp/app.dump /var/tmp/vigie-import/20261129T031500Z-ab12/app/app.dump"
        ),
        "{all}"
    );
    assert!(all.contains("sha256sum"));
    assert!(all.contains("CREATE DATABASE \"app_vigie_20261129t031500z_ab12\" TEMPLATE template0"));
    assert!(all.contains("psql --single-transaction"));
    assert!(
        all.contains("psql -d app_vigie_20261129t031500z_ab12 -c 'select count(*) from users'")
    );
    assert!(all.contains(
        "BEGIN; ALTER DATABASE \"app\" RENAME TO \"app_before_20261129t031500z_ab12\"; ALTER DATABASE \"app_vigie_20261129t031500z_ab12\" RENAME TO \"app\"; COMMIT"
    ), "{all}");
    assert!(!all.contains("DROP"), "{all}");

    let d = pg_spec(true).preview("R1").join("\n");
    assert!(
        d.contains("DROP DATABASE app_drill if a previous drill left it"),
        "{d}"
    );
    assert!(d.contains("no switch"), "{d}");
    assert!(!d.contains("RENAME"), "{d}");

    let m = my_spec().preview("R1").join("\n");
    assert!(
        m.contains(
            "mysql vigie_exp_app_vigie_r1 < /var/tmp/vigie-import/R1/vigie_exp_app/app.sql.gz"
        ),
        "{m}"
    );
    assert!(
        m.contains("RENAME TABLE `vigie_exp_app`.`T` TO `vigie_exp_app_before_r1`.`T`"),
        "{m}"
    );
    assert!(
        m.contains("SET SESSION TRANSACTION READ ONLY; select count(*) from users"),
        "{m}"
    );
}

// ------------------------------------------------------------------------------ the script

/// Runs `text` with `shell` (`-s`, LC_ALL=C), as the remote host would; returns stdout and
/// the exit status.
fn run_sh(shell: &str, text: &str) -> (String, i32) {
    let mut child = Command::new(shell)
        .arg("-s")
        .env("LC_ALL", "C")
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
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn shells() -> Vec<&'static str> {
    let found: Vec<&str> = ["dash", "bash"]
        .into_iter()
        .filter(|s| Command::new(s).arg("-c").arg("true").status().is_ok())
        .collect();
    assert!(!found.is_empty(), "neither dash nor bash is installed");
    found
}

/// The assignments of a script, without its body.
fn assignments(text: &str) -> &str {
    text.strip_suffix(SCRIPT)
        .expect("the script ends with db_import.sh")
}

#[test]
fn values_reach_the_shell_as_data_never_as_code() {
    let path = "/var/backups/it's $(touch /tmp/pwned) `id`;\"x\".dump";
    let verify = "select '$(reboot)' as x; -- it's \"quoted\"";
    let s = ImportSpec::new(
        hp("backup-a", path),
        "drp",
        DbKind::Postgresql,
        "app",
        verify,
        "ssh -F /etc/vigie/t",
        false,
        None,
    )
    .unwrap();
    let text = s.script("import", "R-1.x_y").unwrap();
    for sh in shells() {
        // The values as this shell sees them...
        let probe = format!(
            "{}printf '%s\\n' \"$VI_SRC_PATH\" \"$VI_VERIFY\" \"$VI_NEW\" \"$VI_WORK\"\n\
             # ...and the path as the backup server's shell sees VI_SRC_Q.\n\
             eval \"set -- $VI_SRC_Q\"; printf '%s\\n' \"$1\"\n",
            assignments(&text)
        );
        let (out, rc) = run_sh(sh, &probe);
        assert_eq!(rc, 0, "{sh}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines,
            [
                path,
                verify,
                "app_vigie_r_1_x_y",
                "/var/tmp/vigie-import/R-1.x_y/app",
                path
            ],
            "{sh}"
        );
    }
}

#[test]
fn the_script_rechecks_what_it_is_given() {
    let base = pg_spec(false).script("check", "R1").unwrap();
    let body = SCRIPT;
    let with = |k: &str, v: &str| {
        let mut a: String = assignments(&base)
            .lines()
            .filter(|l| !l.starts_with(&format!("{k}=")))
            .map(|l| format!("{l}\n"))
            .collect();
        a.push_str(&format!("{k}={v}\n"));
        a.push_str(body);
        a
    };
    for sh in shells() {
        for (k, v, why) in [
            ("VI_DB", "'app;drop'", "bad database name"),
            ("VI_RUN", "'../x'", "bad run id"),
            ("VI_OP", "'drop'", "unknown operation"),
            ("VI_KIND", "'oracle'", "unknown database kind"),
            ("VI_NEW", "'app vigie'", "bad database names"),
            ("VI_PORT", "'5432;x'", "bad port"),
        ] {
            let (out, rc) = run_sh(sh, &with(k, v));
            assert_eq!(rc, 1, "{sh} {k}: {out}");
            assert_eq!(out, format!("VIGIE_IMPORT error {why}\n"), "{sh} {k}");
        }
        // A drill never drops anything but a *_drill database.
        let drill = with("VI_DRILL", "'1'");
        let (out, rc) = run_sh(sh, &drill);
        assert_eq!(rc, 1, "{sh}");
        assert!(
            out.contains("a drill restores only into a database named *_drill"),
            "{out}"
        );
    }
}

#[test]
fn the_script_body_never_drops_the_live_database() {
    // Every DROP DATABASE goes through pg_drop / my_drop, which accept only this run's new
    // database or a *_drill one.
    let drops: Vec<&str> = SCRIPT
        .lines()
        .filter(|l| l.contains("DROP DATABASE"))
        .map(str::trim)
        .collect();
    assert_eq!(drops.len(), 3, "{drops:#?}");
    assert!(drops.iter().any(|l| l.contains(":\"x\"")), "{drops:#?}");
    assert_eq!(
        SCRIPT
            .matches("case $1 in \"$VI_NEW\" | *_drill) ;; *) fail \"refusing to drop $1\" ;; esac")
            .count(),
        2
    );
    // The one unconditional MySQL drop is of this run's emptied schema after the switch.
    assert!(SCRIPT.contains("[ \"$_n\" = 0 ] && my -e \"DROP DATABASE \\`$VI_NEW\\`\""));
}
