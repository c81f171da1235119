//! Tests of plan resolution (the policy's runbooks of config.example.toml against backup
//! readings evaluated as the console evaluates them), its hash and its text.

use super::*;
use crate::backup::model::{Backup, CopyReading};
use crate::drp::model::{Action, Mode, Resolved};
use jiff::Timestamp;

/// config.example.toml (the policy's runbooks), without `ssh -G`.
pub(crate) fn example_config() -> Config {
    let text = include_str!("../../config.example.toml")
        .replace("use_ssh_config = true", "use_ssh_config = false");
    crate::config::parse(&text, std::path::Path::new("/etc/vigie/config.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

const NOW: &str = "2026-11-28T23:00:00Z";

fn backup(name: &str, at: &str, bytes: u64) -> Backup {
    Backup {
        captured_at: ts(at),
        finished_at: None,
        bytes: Some(bytes),
        name: name.into(),
    }
}

/// Backup readings as the console evaluates them: (host, dataset) → backups found.
fn readings(c: &Config, found: &[(&str, &str, Vec<Backup>)]) -> Vec<DatasetReport> {
    let mut by_id = BTreeMap::new();
    for (di, ds) in c.datasets.iter().enumerate() {
        for (ci, copy) in ds.copies.iter().enumerate() {
            if let Some((_, _, list)) = found
                .iter()
                .find(|(h, d, _)| *h == copy.host && *d == ds.name)
            {
                let id = crate::backup::site::copy_id(c, di, ci);
                by_id.insert(id, CopyReading::Found(list.clone()));
            }
        }
    }
    crate::backup::site::evaluate_all(c, &by_id, &BTreeMap::new(), ts(NOW))
}

/// userdb dumped at 22:08 on backup-a; files on backup-a (even day, older) and backup-b (odd
/// day, newer).
fn site_readings(c: &Config) -> Vec<DatasetReport> {
    readings(
        c,
        &[
            (
                "backup-a",
                "userdb",
                vec![
                    backup(
                        "app-20261128-2208.dump",
                        "2026-11-28T22:08:00Z",
                        3_300_000_000,
                    ),
                    backup(
                        "app-20261128-2008.dump",
                        "2026-11-28T20:08:00Z",
                        3_200_000_000,
                    ),
                ],
            ),
            (
                "backup-a",
                "files",
                vec![backup(
                    "files-20261127.tar.gz",
                    "2026-11-27T01:00:00Z",
                    190 << 30,
                )],
            ),
            (
                "backup-b",
                "files",
                vec![backup(
                    "files-20261128.tar.gz",
                    "2026-11-28T01:00:00Z",
                    180 << 30,
                )],
            ),
        ],
    )
}

pub(crate) fn plan(c: &Config, name: &str, mode: Mode) -> Plan {
    resolve(c, name, mode, ts(NOW), &site_readings(c)).unwrap_or_else(|e| panic!("{e}"))
}

fn step(p: &Plan, n: usize) -> &PlanStep {
    p.step(n).unwrap_or_else(|| panic!("no step {n}"))
}

#[test]
fn newest_takes_the_copy_holding_the_newest_backup() {
    let c = example_config();
    let p = plan(&c, "activate", Mode::Planned);
    let Resolved::Copy {
        from,
        from_spec,
        to,
        estimate_s,
    } = &step(&p, 2).step
    else {
        panic!("{:?}", step(&p, 2));
    };
    assert_eq!(from_spec, "newest:files");
    let from = from.as_ref().unwrap();
    // backup-b's (odd day) is newer than backup-a's.
    assert_eq!(
        from.spec(),
        "backup-b:/var/backups/files/files-20261128.tar.gz"
    );
    assert_eq!(from.host.datacenter, "dc2");
    assert_eq!(
        from.backup.as_ref().unwrap().captured_at,
        ts("2026-11-28T01:00:00Z")
    );
    assert_eq!(to.spec(), "drp:/srv/www/");
    assert_eq!(*estimate_s, Some(9000));

    // The next day backup-a holds the newest: the plan follows.
    let r = readings(
        &c,
        &[
            (
                "backup-a",
                "files",
                vec![backup("files-20261129.tar.gz", "2026-11-28T22:00:00Z", 1)],
            ),
            (
                "backup-b",
                "files",
                vec![backup("files-20261128.tar.gz", "2026-11-28T01:00:00Z", 1)],
            ),
            (
                "backup-a",
                "userdb",
                vec![backup("a.dump", "2026-11-28T22:08:00Z", 1)],
            ),
        ],
    );
    let p = resolve(&c, "activate", Mode::Planned, ts(NOW), &r).unwrap();
    assert_eq!(
        step(&p, 2).source().unwrap(),
        "backup-a:/var/backups/files/files-20261129.tar.gz"
    );
}

#[test]
fn planned_activation_goes_to_the_drp_and_implies_the_loss_window() {
    let c = example_config();
    let p = plan(&c, "activate", Mode::Planned);
    assert!(p.blockers().is_empty());
    assert!(
        p.steps.iter().all(|s| s.action == Action::Run),
        "{:#?}",
        p.steps
    );
    let names = |l: &[HostRef]| l.iter().map(|h| h.to_string()).collect::<Vec<_>>();
    assert_eq!(names(&p.from), ["backup-b (dc2)", "backup-a (dc1)"]);
    assert_eq!(names(&p.to), ["drp (dc2)"]);
    // now − the userdb dump's capture: 52 minutes.
    assert_eq!(p.loss_window_s, Some(52 * 60));
    assert_eq!(
        step(&p, 3).step,
        Resolved::DbImport {
            from_spec: "newest:userdb".into(),
            from: step(&p, 3).step.clone().db_from(),
            to: HostRef {
                name: "drp".into(),
                datacenter: "dc2".into()
            },
            restore: DbRestore {
                kind: crate::drp::model::DbKind::Postgresql,
                database: "app".into(),
                port: None,
            },
            verify: "select count(*) from users".into(),
        }
    );
    assert_eq!(
        step(&p, 3).source().unwrap(),
        "backup-a:/var/backups/userdb/app-20261128-2208.dump"
    );
    assert_eq!(
        step(&p, 6).step,
        Resolved::Dns {
            target: HostRef {
                name: "drp".into(),
                datacenter: "dc2".into()
            },
            new_address: "203.0.113.12".into(),
            expected_old: "203.0.113.11".into(),
        }
    );
    assert_eq!(p.backups.len(), 2);
    let v = p.placeholders();
    assert_eq!(v["captured_at"], "2026-11-28 23:08 CET");
    assert_eq!(v["loss_window"], "52 min");
    assert_eq!(
        fill(
            "The DRP of {{site}} is on {{drp}} since {{now}}; data of {{captured_at}}",
            &v
        ),
        "The DRP of 1stKYC is on drp since {{now}}; data of 2026-11-28 23:08 CET"
    );
}

impl Resolved {
    fn db_from(self) -> Option<Endpoint> {
        match self {
            Resolved::DbImport { from, .. } => from,
            _ => None,
        }
    }
}

#[test]
fn a_drill_writes_only_to_scratch_places_and_touches_neither_production_nor_dns() {
    let c = example_config();
    let p = plan(&c, "activate", Mode::Drill);
    assert_eq!(
        step(&p, 2).target().unwrap(),
        "drp:/var/tmp/vigie-drill/activate/2/"
    );
    assert_eq!(
        step(&p, 3).target().unwrap(),
        "drp:postgresql database app_drill"
    );
    assert!(matches!(step(&p, 6).action, Action::VerifyOnly { .. }));
    assert!(matches!(step(&p, 7).action, Action::Skip { .. }));
    assert!(
        matches!(&step(&p, 5).step, Resolved::Ticket { title, .. } if title == "[DRILL] DRP finalised")
    );
    assert_eq!(step(&p, 5).title, "[DRILL] DRP finalised");
    // The DNS is not a destination of a drill.
    assert_eq!(
        p.to.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
        ["drp"]
    );

    let r = plan(&c, "return", Mode::Drill);
    for (n, s) in r.steps.iter().map(|s| (s.number, s)) {
        let touches_prod = s.hosts().iter().any(|h| h.name == "prod");
        let runs = matches!(s.action, Action::Run);
        assert!(
            !(touches_prod && runs),
            "step {n} runs on production in a drill: {s:#?}"
        );
    }
    // Production's maintenance is skipped, with the reason.
    assert!(matches!(&step(&r, 2).action, Action::Skip { why } if why.contains("production")));
    // The copy back goes to a scratch place on the DRP, the import back to app_drill there.
    assert_eq!(
        step(&r, 5).target().unwrap(),
        "drp:/var/tmp/vigie-drill/return/5/"
    );
    assert_eq!(
        step(&r, 6).target().unwrap(),
        "drp:postgresql database app_drill"
    );
    assert_eq!(r.loss_window_s, None);
}

#[test]
fn the_hash_covers_the_resolved_steps_not_the_times() {
    let c = example_config();
    let a = plan(&c, "activate", Mode::Planned);
    let later = resolve(
        &c,
        "activate",
        Mode::Planned,
        ts("2026-11-29T02:00:00Z"),
        &site_readings(&c),
    )
    .unwrap();
    assert_ne!(a.resolved_at, later.resolved_at);
    assert_eq!(a.hash(), later.hash());
    assert_eq!(a.hash().len(), 64);
    assert!(a.hash().chars().all(|c| c.is_ascii_hexdigit()));
    // Through the journal (JSON) and back: the same plan.
    let back: Plan = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(back, a);
    assert_eq!(back.hash(), a.hash());
    // Shown commands and notes are not what the hash covers.
    let mut shown = a.clone();
    shown.steps[1].preview.push("rsync -aHAX …".into());
    assert_eq!(shown.hash(), a.hash());

    // Another mode, a changed command, a newer backup: another plan.
    assert_ne!(plan(&c, "activate", Mode::Emergency).hash(), a.hash());
    let mut changed = c.clone();
    let steps = &mut changed.runbooks.list[0].steps;
    if let StepKind::Exec { command, .. } = &mut steps[3].kind {
        command.push_str(" nginx-extra");
    }
    assert_ne!(plan(&changed, "activate", Mode::Planned).hash(), a.hash());
    let newer = readings(
        &c,
        &[
            (
                "backup-a",
                "userdb",
                vec![backup("app-2308.dump", "2026-11-28T22:58:00Z", 1)],
            ),
            (
                "backup-b",
                "files",
                vec![backup(
                    "files-20261128.tar.gz",
                    "2026-11-28T01:00:00Z",
                    180 << 30,
                )],
            ),
        ],
    );
    let renewed = resolve(&c, "activate", Mode::Planned, ts(NOW), &newer).unwrap();
    assert_ne!(renewed.hash(), a.hash());
    // Pinned to the journaled plan's backups, the newer backup does not change it.
    let pinned = resolve_pinned(&c, "activate", Mode::Planned, ts(NOW), &a.backups).unwrap();
    assert_eq!(pinned.hash(), a.hash());
}

#[test]
fn an_unresolved_source_blocks_the_plan_but_the_rest_is_shown() {
    let c = example_config();
    let r = readings(
        &c,
        &[(
            "backup-a",
            "userdb",
            vec![backup("a.dump", "2026-11-28T22:08:00Z", 1)],
        )],
    );
    let p = resolve(&c, "activate", Mode::Planned, ts(NOW), &r).unwrap();
    let blockers = p.blockers();
    assert_eq!(blockers.len(), 1, "{blockers:?}");
    assert_eq!(blockers[0].0, 2);
    assert!(
        blockers[0]
            .1
            .contains("newest:files: no good backup of `files` was read on backup-a, backup-b"),
        "{blockers:?}"
    );
    let text = p.render_text();
    assert!(text.contains("BLOCKED: step 2: newest:files"), "{text}");
    assert!(text.contains("from  newest:files (not resolved)"), "{text}");
    // Not read at all.
    let p = resolve(&c, "activate", Mode::Planned, ts(NOW), &[]).unwrap();
    assert_eq!(p.blockers().len(), 2);
    assert!(p.render_text().contains("Data-loss window: unknown"));
}

#[test]
fn a_backup_name_that_is_no_file_name_blocks() {
    let c = example_config();
    for name in ["../../etc", "a/b", "", "x\u{FFFD}y"] {
        let r = readings(
            &c,
            &[
                (
                    "backup-a",
                    "userdb",
                    vec![backup(name, "2026-11-28T22:08:00Z", 1)],
                ),
                (
                    "backup-b",
                    "files",
                    vec![backup("f.tar.gz", "2026-11-28T01:00:00Z", 1)],
                ),
            ],
        );
        let p = resolve(&c, "activate", Mode::Planned, ts(NOW), &r).unwrap();
        assert_eq!(p.blockers().len(), 1, "{name:?}: {:?}", p.blockers());
    }
}

#[test]
fn unknown_runbooks_are_named() {
    let c = example_config();
    let e = resolve(&c, "activte", Mode::Drill, ts(NOW), &[]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "no runbook named `activte`: the configuration has `activate`, `return`"
    );
}

#[test]
fn fencing_comes_first_and_never_in_a_drill() {
    let c = example_config();
    let mut p = plan(&c, "activate", Mode::Planned);
    let before = p.hash();
    p.add_fence("touch /etc/nginx/maintenance.on", None, 120);
    assert_eq!(p.steps[0].number, 0);
    assert_eq!(p.steps[0].hosts()[0].name, "prod");
    assert_ne!(p.hash(), before);
    let mut d = plan(&c, "activate", Mode::Drill);
    d.add_fence("touch /etc/nginx/maintenance.on", None, 120);
    assert!(matches!(d.steps[0].action, Action::Skip { .. }));
}

#[test]
fn the_text_shows_every_step_with_its_hosts_and_exact_commands() {
    let c = example_config();
    let mut p = plan(&c, "activate", Mode::Planned);
    p.steps[1]
        .preview
        .push("rsync -aH --delete -e 'ssh -F /etc/vigie/transfer_ssh_config' …".into());
    let text = p.render_text();
    for want in [
        "DRP plan: runbook activate, mode PLANNED",
        "FROM backup-b (dc2), backup-a (dc1) → TO drp (dc2)",
        "Data-loss window: 52 min of userdb (captured yesterday 23:08 on backup-a (dc1)); \
         files: 22 h",
        "userdb   backup-a (dc1)  app-20261128-2208.dump  captured yesterday 23:08, 52 min ago, \
         3.1 GiB",
        " 1. confirm    Order of the customer received",
        "       the operator types: order reference",
        " 2. copy       Copy files & configurations to the DRP server",
        "       from  backup-b (dc2)  /var/backups/files/files-20261128.tar.gz  (newest:files)",
        "       to    drp (dc2)  /srv/www/",
        "       estimated 2 h 30 min",
        "       $ rsync -aH --delete -e 'ssh -F /etc/vigie/transfer_ssh_config' …",
        "       into  drp (dc2): a new postgresql database, then switched to as app",
        "       verify SQL> select count(*) from users",
        "       on drp (dc2), detached, fails after 5 min:",
        "       $ systemctl restart nginx",
        "       verify $ curl -fsS -o /dev/null http://127.0.0.1/",
        "       body: The DRP of 1stKYC is active on drp since {{now}}; data captured at \
         2026-11-28 23:08 CET (order {{order}}).",
        "       record → 203.0.113.12 (drp (dc2)), sent only if it still holds 203.0.113.11",
        "       until app.url.site is OK, at most 5 min",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let drill = plan(&c, "activate", Mode::Drill).render_text();
    for want in [
        "mode DRILL",
        "drill: copies and imports go to scratch places on drp",
        "       drill: a scratch copy, instead of drp:/srv/www/",
        "       VERIFY ONLY: drill: the record is only checked (it must still hold 203.0.113.11)",
        "       SKIPPED: drill: the DNS still points to production",
        " 5. ticket     [DRILL] DRP finalised",
    ] {
        assert!(drill.contains(want), "missing {want:?} in:\n{drill}");
    }
    // A multi-line command: each line shown.
    let ret = plan(&c, "return", Mode::Planned).render_text();
    assert!(ret.contains("       $ install -d -o postgres -m 700 /var/backups/return\n         runuser -u postgres -- pg_dump"), "{ret}");
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Backup names are remote text: whatever they hold, resolving and printing the plan
        /// never panics, and nothing they hold reaches the text unsanitised.
        #[test]
        fn any_backup_name(name in "\\PC{0,40}|[\\x00-\\x1f\\x7f/.\u{202e}a]{0,8}") {
            let c = example_config();
            let r = readings(&c, &[
                ("backup-a", "userdb", vec![backup(&name, "2026-11-28T22:08:00Z", 1)]),
                ("backup-b", "files", vec![backup(&name, "2099-01-01T00:00:00Z", u64::MAX)]),
            ]);
            for mode in Mode::ALL {
                let p = resolve(&c, "activate", mode, ts(NOW), &r).unwrap();
                let text = p.render_text();
                prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n'));
                let _ = p.hash();
            }
        }
    }
}
