//! The demo's DRP, run headless by the crate's own engine (`vigie::drp::engine`) on the demo
//! site: the policy's runbooks resolve, a drill copies the newest backup with real rsync from
//! a backup server's sandbox into a scratch place of the DRP server's, a planned activation and
//! its return go all the way (DNS switched on the demo's server, tickets on its ticket system),
//! and nothing leaves the demo's directory: journal, lock, jobs, copies, maintenance flags.

use super::SERIAL;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use vigie::collect;
use vigie::demo::DemoSite;
use vigie::drp::engine::{Engine, Outcome, RunRequest, RunUpdate};
use vigie::drp::journal::{EventKind, StepState};
use vigie::drp::model::{Action, ActiveSite, Mode, Resolved};
use vigie::ssh::Pool;

const PROD_PUBLIC: &str = "203.0.113.11";
const DRP_PUBLIC: &str = "203.0.113.12";

fn engine(site: &DemoSite) -> Engine {
    let cfg = Arc::new(site.config().clone());
    let pool = Arc::new(Pool::new(
        collect::routes(&cfg),
        collect::transport_options(&cfg, false),
    ));
    Engine::new(cfg, pool, site.journal()).lock_dir(Some(site.lock_dir()))
}

/// Runs `runbook` in `mode`, answering its confirm step 1 with the order; the outcome and
/// every update.
async fn run(site: &DemoSite, runbook: &str, mode: Mode, order: &str) -> (Outcome, Vec<RunUpdate>) {
    let confirm = if runbook == "return" { "prod" } else { "drp" };
    let req = RunRequest {
        runbook: runbook.into(),
        mode,
        order: order.into(),
        confirm: confirm.into(),
        acks: BTreeMap::from([(1, order.to_string())]),
        reason: None,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let outcome = engine(site).run(req, tx).await;
    let mut updates = Vec::new();
    while let Ok(u) = rx.try_recv() {
        updates.push(u);
    }
    (outcome, updates)
}

/// How each step ended, by number.
fn ends(updates: &[RunUpdate]) -> BTreeMap<usize, (StepState, String)> {
    updates
        .iter()
        .filter_map(|u| match u {
            RunUpdate::StepEnded { n, state, summary } => Some((*n, (*state, summary.clone()))),
            _ => None,
        })
        .collect()
}

/// The newest file archive of the demo's backups: the one a drill must copy.
fn newest_files_backup(site: &DemoSite) -> (String, u64) {
    let mut all = Vec::new();
    for host in ["backup-a", "backup-b"] {
        let dir = site.sandbox(host).unwrap().join("srv/files");
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let m = e.metadata().unwrap();
            all.push((
                m.modified().unwrap(),
                e.file_name().to_string_lossy().into_owned(),
                m.len(),
            ));
        }
    }
    let (_, name, len) = all.into_iter().max().expect("seeded file archives");
    (name, len)
}

fn files_under(dir: &Path) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.metadata().unwrap().len(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Every source and target the journal names is in the demo's directory; returns how many.
fn journal_paths_inside(site: &DemoSite) -> usize {
    let events = site.journal().read().unwrap().events;
    let dir = site.dir().to_str().unwrap();
    let mut seen = 0;
    for e in &events {
        for s in [&e.source, &e.target].into_iter().flatten() {
            if let Some((_, path)) = s.split_once(':') {
                assert!(
                    path.starts_with(dir),
                    "the journal names {s}, outside {dir}"
                );
                seen += 1;
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_policys_runbooks_resolve_on_the_demo() {
    let _serial = SERIAL.lock().await;
    let site = DemoSite::start().await.expect("the demo site starts");
    let cfg = site.config();
    let drp = cfg.drp.as_ref().expect("a [drp] section");
    assert_eq!((drp.production.as_str(), drp.drp.as_str()), ("prod", "drp"));
    assert!(drp.transfer_ssh.starts_with(site.dir().to_str().unwrap()));
    let dns = cfg.dns.as_ref().expect("a [dns] section");
    assert!(dns.servers.iter().all(|s| s.ip().is_loopback()));
    assert!(dns.tsig_key_file.starts_with(site.dir()));
    let ticket = cfg.ticket.as_ref().expect("a [ticket] section");
    assert_eq!(ticket.url.host_str(), Some("127.0.0.1"));
    let names: Vec<&str> = cfg.runbooks.names().collect();
    assert_eq!(names, ["activate", "return"]);
    assert!(site.journal().path().starts_with(site.dir()));
    assert!(Path::new(&site.lock_dir()).starts_with(site.sandbox("drp").unwrap()));

    let e = engine(&site);
    let dir = site.dir().to_str().unwrap().to_string();
    for runbook in ["activate", "return"] {
        for mode in [Mode::Drill, Mode::Planned, Mode::Emergency] {
            let plan = e
                .plan(runbook, mode, None)
                .await
                .unwrap_or_else(|o| panic!("{runbook} {mode:?}: {o:?}"));
            assert!(
                plan.blockers().is_empty(),
                "{runbook} {mode:?}: {:?}",
                plan.blockers()
            );
            for s in &plan.steps {
                if let Resolved::Copy { from, to, .. } = &s.step {
                    let from = from.as_ref().expect("a resolved source");
                    assert!(from.path.starts_with(&dir), "{}", from.path);
                    assert!(to.path.starts_with(&dir), "{}", to.path);
                    if mode == Mode::Drill {
                        assert_eq!(to.host.name, "drp");
                        assert!(to.path.contains("/hosts/drp/var/tmp/vigie-drill/"));
                    }
                }
                // No database import in the demo (its PostgreSQL is a stand-in).
                assert!(!matches!(s.step, Resolved::DbImport { .. }));
                // Exec steps name only paths of their own sandbox (relative ones).
                if let Resolved::Exec {
                    command, verify, ..
                } = &s.step
                {
                    for c in [Some(command), verify.as_ref()].into_iter().flatten() {
                        assert!(
                            c.split_whitespace()
                                .all(|w| !w.starts_with('/') && !w.contains("..")),
                            "{c}"
                        );
                    }
                }
            }
            if mode == Mode::Drill && runbook == "activate" {
                let dns_step = plan
                    .steps
                    .iter()
                    .find(|s| matches!(s.step, Resolved::Dns { .. }))
                    .unwrap();
                assert!(matches!(dns_step.action, Action::VerifyOnly { .. }));
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drill_copies_the_newest_backup_into_the_drp_sandbox_and_ends_done() {
    let _serial = SERIAL.lock().await;
    let site = DemoSite::start().await.expect("the demo site starts");
    let (name, len) = newest_files_backup(&site);

    let (outcome, updates) = run(&site, "activate", Mode::Drill, "DRILL-2026-11").await;
    let ends = ends(&updates);
    assert_eq!(outcome, Outcome::Done, "{ends:#?}\n{updates:#?}");
    let state = |n: usize| ends.get(&n).map(|(s, _)| *s);
    assert_eq!(state(1), Some(StepState::Done), "{ends:#?}");
    assert_eq!(state(2), Some(StepState::Done), "the copy: {ends:#?}");
    assert!(
        ends[&2].1.contains("second dry run: no change"),
        "{:?}",
        ends[&2]
    );
    assert_eq!(state(3), Some(StepState::Done), "{ends:#?}");
    assert_eq!(state(4), Some(StepState::Done), "the ticket: {ends:#?}");
    assert_eq!(state(5), Some(StepState::Done), "the DNS check: {ends:#?}");
    assert!(
        ends[&5].1.contains("drill, DNS not changed"),
        "{:?}",
        ends[&5]
    );
    assert_eq!(state(6), Some(StepState::Skipped), "{ends:#?}");
    // The progress was reported, and never went backwards.
    let fractions: Vec<f64> = updates
        .iter()
        .filter_map(|u| match u {
            RunUpdate::Progress {
                n: 2,
                fraction: Some(f),
                ..
            } => Some(*f),
            _ => None,
        })
        .collect();
    assert!(fractions.windows(2).all(|w| w[0] <= w[1]), "{fractions:?}");

    // The scratch target in drp's sandbox holds the newest backup, whole: rsync copied it.
    let scratch: PathBuf = site
        .sandbox("drp")
        .unwrap()
        .join("var/tmp/vigie-drill/activate/2");
    assert_eq!(files_under(&scratch), [(name.clone(), len)]);
    // Production's and the real target are untouched; the record still says production.
    assert!(!site.sandbox("drp").unwrap().join("srv/restore").exists());
    assert_eq!(
        site.site_addresses(),
        [PROD_PUBLIC.parse::<std::net::Ipv4Addr>().unwrap()]
    );
    let tickets = site.tickets();
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0].title, "[DRILL] DRP finalised");
    assert_eq!(tickets[0].reference, "DRILL-2026-11");

    // The journal is the demo's, and ends DONE; the lock was taken in drp's sandbox and
    // released; the copy's jobs ran there too.
    let reading = site.journal().read().unwrap();
    let last = reading.events.last().expect("a journal");
    assert_eq!(last.event, EventKind::RunEnded);
    assert_eq!(last.state, StepState::Done);
    assert_eq!(last.mode, Mode::Drill);
    assert!(journal_paths_inside(&site) > 0);
    let lock_line = updates
        .iter()
        .find_map(|u| match u {
            RunUpdate::Guard {
                check,
                ok: true,
                text,
            } if check == "lock" => Some(text.clone()),
            _ => None,
        })
        .expect("the lock was taken");
    assert!(lock_line.contains(&site.lock_dir()), "{lock_line}");
    assert!(!Path::new(&site.lock_dir()).join("lock").exists());
    let jobs = site
        .sandbox("drp")
        .unwrap()
        .join(".local/state/vigie/jobs/drp")
        .join(&last.run);
    assert!(jobs.join("2-1-copy/rc").exists(), "{}", jobs.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_planned_activation_and_its_return_stay_in_the_demo() {
    let _serial = SERIAL.lock().await;
    let site = DemoSite::start().await.expect("the demo site starts");
    let (name, len) = newest_files_backup(&site);
    let prod = site.sandbox("prod").unwrap();
    let drp = site.sandbox("drp").unwrap();

    let (outcome, updates) = run(&site, "activate", Mode::Planned, "ORD-ACT-1").await;
    assert_eq!(outcome, Outcome::Done, "{:#?}", ends(&updates));
    // Fenced first (step 0), in prod's sandbox; the backup restored in drp's; DNS switched on
    // the demo's server.
    assert!(prod.join("srv/MAINTENANCE").exists());
    assert_eq!(files_under(&drp.join("srv/restore")), [(name, len)]);
    assert_eq!(
        site.site_addresses(),
        [DRP_PUBLIC.parse::<std::net::Ipv4Addr>().unwrap()]
    );
    let events = site.journal().read().unwrap().events;
    assert_eq!(vigie::drp::journal::active_site(&events), ActiveSite::Drp);

    let (outcome, updates) = run(&site, "return", Mode::Planned, "ORD-RET-1").await;
    assert_eq!(outcome, Outcome::Done, "{:#?}", ends(&updates));
    assert!(!prod.join("srv/MAINTENANCE").exists());
    assert_eq!(
        site.site_addresses(),
        [PROD_PUBLIC.parse::<std::net::Ipv4Addr>().unwrap()]
    );
    let events = site.journal().read().unwrap().events;
    assert_eq!(
        vigie::drp::journal::active_site(&events),
        ActiveSite::Production
    );
    let titles: Vec<String> = site.tickets().into_iter().map(|t| t.title).collect();
    assert_eq!(titles, ["DRP finalised", "Switchover to production"]);
    assert!(journal_paths_inside(&site) > 0);
}

/// An engine not told where the demo's lock goes (a console not wired for the demo) looks
/// for it where a real DRP server keeps it, /var/lib/vigie for root: the demo's hosts make
/// no directory outside the demo's directory, so the run is refused before anything is done
/// (for another user the lock lands in the DRP sandbox's own state directory).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_lock_never_lands_outside_the_demo() {
    let _serial = SERIAL.lock().await;
    let site = DemoSite::start().await.expect("the demo site starts");
    let cfg = Arc::new(site.config().clone());
    let pool = Arc::new(Pool::new(
        collect::routes(&cfg),
        collect::transport_options(&cfg, false),
    ));
    let machine_lock = Path::new("/var/lib/vigie/lock");
    let existed = machine_lock.exists();
    let e = Engine::new(cfg, pool, site.journal());
    let req = RunRequest {
        runbook: "activate".into(),
        mode: Mode::Drill,
        order: "ORD-1".into(),
        confirm: "drp".into(),
        acks: BTreeMap::from([(1, "ORD-1".to_string())]),
        reason: None,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let outcome = e.run(req, tx).await;
    let mut lock_lines = Vec::new();
    while let Ok(u) = rx.try_recv() {
        if let RunUpdate::Guard { check, text, .. } = u
            && check == "lock"
        {
            lock_lines.push(text);
        }
    }
    match &outcome {
        Outcome::Refused(why) => {
            assert!(
                why.contains("cannot create") || why.contains("cannot write in"),
                "{why}"
            );
            assert!(!site.sandbox("drp").unwrap().join("var/tmp").exists());
        }
        Outcome::Done => assert!(
            lock_lines
                .iter()
                .any(|l| l.contains(site.sandbox("drp").unwrap().to_str().unwrap())),
            "{lock_lines:?}"
        ),
        other => panic!("{other:?}: {lock_lines:?}"),
    }
    assert_eq!(machine_lock.exists(), existed, "{lock_lines:?}");
}

/// `T` on the Backups screen times a transfer from each backup server to the DRP server over
/// `[drp] transfer_ssh`: on the demo, OpenSSH's ssh between two demo servers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_throughput_is_measured_over_the_demos_transfer_path() {
    let _serial = SERIAL.lock().await;
    let site = DemoSite::start().await.expect("the demo site starts");
    let cfg = site.config();
    let pool = Pool::new(collect::routes(cfg), collect::transport_options(cfg, false));
    let drp = cfg.drp.as_ref().unwrap();
    let stdin = vigie::backup::throughput::stdin(&drp.transfer_ssh, &drp.drp).unwrap();
    let (conn, _) = pool.get("backup-b").await.unwrap();
    let out = conn
        .exec(
            vigie::probe::COMMAND,
            &stdin,
            std::time::Duration::from_secs(30),
            std::time::Duration::from_secs(180),
        )
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let m = vigie::backup::throughput::parse(&text, "backup-b", "drp", jiff::Timestamp::now())
        .unwrap_or_else(|e| panic!("{e}: {text}"));
    assert!(m.bytes >= 8 << 20, "{m:?}");
    assert!(m.bytes_per_second() > 1e6, "{m:?}");
}

/// Production goes dark (fault X): an emergency activation needs no fencing, switches the
/// record on the demo's DNS server, and the shop answers again, from the DRP server.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_production_dark_an_emergency_activation_brings_the_shop_back() {
    let _serial = SERIAL.lock().await;
    let site = DemoSite::start().await.expect("the demo site starts");
    assert!(site.faults().toggle(vigie::demo::Fault::ProductionDark));
    let (outcome, updates) = run(&site, "activate", Mode::Emergency, "ORD-EMERG-1").await;
    let ends = ends(&updates);
    assert_eq!(outcome, Outcome::Done, "{ends:#?}");
    assert!(
        !ends.contains_key(&0),
        "no fencing of a silent production: {ends:#?}"
    );
    let (state, summary) = &ends[&6];
    assert_eq!(*state, StepState::Done, "{summary}");
    assert!(summary.contains("app.url.shop OK"), "{summary}");
    assert_eq!(
        site.site_addresses(),
        [DRP_PUBLIC.parse::<std::net::Ipv4Addr>().unwrap()]
    );
    // Nothing was written on the dark production.
    assert!(
        !site
            .sandbox("prod")
            .unwrap()
            .join("srv/MAINTENANCE")
            .exists()
    );
    site.faults().toggle(vigie::demo::Fault::ProductionDark);
}
