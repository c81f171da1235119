//! DRP runbooks on the lab's real servers (SPEC §6): a plan resolved from backups read over
//! SSH on the real backup servers (`newest:` takes the server holding the newest good backup),
//! and the lock on the real DRP host — taken, refused to a second run naming the holder,
//! refused to a wrong nonce, released by the right one.

mod common;

use common::lab::Lab;
use common::site::{DRP_HOSTS, HOUR, activate_order_and_copy, files_dataset, now, write_config};
use std::collections::HashMap;
use std::path::Path;
use vigie::collect::{self, HostTracker, RefreshSettings, refresh_host};
use vigie::config::Config;
use vigie::drp::lock::{DrpLock, LockError, LockOwner, LockStatus};
use vigie::drp::model::{Action, Mode};
use vigie::ssh::Pool;

/// The lab's datasets, [drp] and an activation runbook (DNS and ticket steps have their own
/// lab tests; they need [dns] and [ticket]).
fn drp_sections() -> String {
    format!(
        r#"
[[datasets]]
name = "userdb"
max_loss = "2h"
restore = {{ kind = "postgresql", database = "app" }}
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/userdb"
every = "2h"
pattern = "*.dump"

{files}
{DRP_HOSTS}
{activate}
[[runbooks.activate.steps]]
kind = "db_import"
title = "Import the user database"
from = "newest:userdb"
to = "drp"
verify = "select count(*) from users"

[[runbooks.activate.steps]]
kind = "exec"
title = "Stop the application on production"
host = "prod"
command = "touch /srv/maintenance"
"#,
        files = files_dataset("48h"),
        activate = activate_order_and_copy("drp:/srv/www/"),
    )
}

fn config(lab: &Lab, dir: &Path) -> Config {
    let path = write_config(lab, dir, &drp_sections());
    vigie::config::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// A finished backup file on `host` whose data was taken `age` seconds ago.
fn plant(lab: &Lab, host: &str, path: &str, age: i64) {
    let at = now() - age;
    lab.sh(
        host,
        &format!("head -c 4096 /dev/urandom > {path} && touch -d @{at} {path}"),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn newest_resolves_to_the_backup_server_holding_the_newest_backup() {
    let lab = Lab::require();
    for host in ["backup-a", "backup-b"] {
        lab.sh(
            host,
            "rm -rf /var/backups/* && mkdir -p /var/backups/userdb /var/backups/files",
        );
    }
    plant(
        &lab,
        "backup-a",
        "/var/backups/userdb/app-0300.dump",
        3 * HOUR,
    );
    plant(&lab, "backup-a", "/var/backups/userdb/app-0500.dump", HOUR);
    plant(&lab, "backup-a", "/var/backups/files/files-a", 30 * HOUR);
    plant(&lab, "backup-b", "/var/backups/files/files-b", 6 * HOUR);

    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&lab, dir.path());
    let pool = Pool::new(
        collect::routes(&cfg),
        collect::transport_options(&cfg, false),
    );
    let settings = RefreshSettings::from_config(&cfg);
    let mut snaps = Vec::new();
    let mut trackers: HashMap<&str, HostTracker> = HashMap::new();
    for host in ["backup-a", "backup-b"] {
        let tracker = trackers
            .entry(host)
            .or_insert_with(|| HostTracker::new(&cfg, host));
        // The first refresh is a slow one: it reads the backups.
        snaps.push(refresh_host(&pool, cfg.host(host).unwrap(), tracker, settings).await);
    }
    let at = jiff::Timestamp::now();
    let readings = vigie::backup::site::evaluate_snapshots(&cfg, snaps.iter(), at);

    let plan = vigie::drp::plan::resolve(&cfg, "activate", Mode::Planned, at, &readings).unwrap();
    assert!(plan.blockers().is_empty(), "{:?}", plan.blockers());
    let copy = plan.step(2).unwrap();
    assert_eq!(
        copy.source().unwrap(),
        "backup-b:/var/backups/files/files-b",
        "{copy:#?}"
    );
    assert_eq!(copy.target().unwrap(), "drp:/srv/www/");
    let import = plan.step(3).unwrap();
    assert_eq!(
        import.source().unwrap(),
        "backup-a:/var/backups/userdb/app-0500.dump"
    );
    // The data-loss window is the imported dump's age.
    let window = plan.loss_window_s.unwrap() as i64;
    assert!((window - HOUR).abs() < 120, "window {window} s");
    let text = plan.render_text();
    assert!(
        text.contains("FROM backup-b (dc2), backup-a (dc1) → TO drp (dc2)\n"),
        "{text}"
    );
    assert!(text.contains("Data-loss window: 1 h"), "{text}");
    assert!(
        text.contains("from  backup-b (dc2)  /var/backups/files/files-b  (newest:files)"),
        "{text}"
    );

    // A drill: the copy and the import go to scratch places on the DRP, production is left.
    let drill = vigie::drp::plan::resolve(&cfg, "activate", Mode::Drill, at, &readings).unwrap();
    assert_eq!(
        drill.step(2).unwrap().target().unwrap(),
        "drp:/var/tmp/vigie-drill/activate/2/"
    );
    assert_eq!(
        drill.step(3).unwrap().target().unwrap(),
        "drp:postgresql database app_drill"
    );
    assert!(matches!(drill.step(4).unwrap().action, Action::Skip { .. }));
    assert_ne!(drill.hash(), plan.hash());

    // A newer dump arrives: a new plan differs, the journaled one pinned does not.
    plant(&lab, "backup-a", "/var/backups/userdb/app-0600.dump", 60);
    let mut tracker = HostTracker::new(&cfg, "backup-a");
    let fresh = refresh_host(&pool, cfg.host("backup-a").unwrap(), &mut tracker, settings).await;
    let newer = vigie::backup::site::evaluate_snapshots(&cfg, [&fresh, &snaps[1]].into_iter(), at);
    let renewed = vigie::drp::plan::resolve(&cfg, "activate", Mode::Planned, at, &newer).unwrap();
    assert_eq!(
        renewed.step(3).unwrap().source().unwrap(),
        "backup-a:/var/backups/userdb/app-0600.dump"
    );
    assert_ne!(renewed.hash(), plan.hash());
    let pinned =
        vigie::drp::plan::resolve_pinned(&cfg, "activate", Mode::Planned, at, &plan.backups)
            .unwrap();
    assert_eq!(pinned.hash(), plan.hash());

    for host in ["backup-a", "backup-b"] {
        lab.sh(host, "rm -rf /var/backups/*");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_run_at_a_time_the_lock_on_the_drp_host() {
    let lab = Lab::require();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&lab, dir.path());
    let pool = Pool::new(
        collect::routes(&cfg),
        collect::transport_options(&cfg, false),
    );
    // Under the DRP host's own /srv (a tmpfs of that host): the machine's /var/lib is shared
    // by every lab host.
    let place = "/srv/vigie-lock-test";
    lab.sh("drp", &format!("rm -rf {place}"));
    let lock = DrpLock::new(&pool, "drp").in_dir(place);
    let t0 = jiff::Timestamp::now();
    let first = LockOwner::new("20261129T031500Z-aaaa", t0);
    let second = LockOwner::new("20261129T031600Z-bbbb", t0);

    assert_eq!(
        lock.status().await.unwrap(),
        LockStatus::Free {
            path: format!("{place}/lock")
        }
    );
    assert_eq!(lock.acquire(&first).await.unwrap(), format!("{place}/lock"));
    // On the host: a directory holding the owner file, with our nonce.
    let file = lab.sh("drp", &format!("cat {place}/lock/owner"));
    assert!(file.contains(&format!("nonce={}", first.nonce)), "{file}");
    assert!(
        file.contains(&format!("pid={}", std::process::id())),
        "{file}"
    );

    // A second run is refused, naming the holder.
    match lock.acquire(&second).await {
        Err(LockError::Held { holder, path, host }) => {
            assert_eq!(*holder, first);
            assert_eq!(host, "drp");
            assert_eq!(path, format!("{place}/lock"));
        }
        other => panic!("{other:?}"),
    }
    let msg = lock.acquire(&second).await.unwrap_err().to_string();
    assert!(
        msg.contains("another DRP run holds the lock on drp")
            && msg.contains(&first.owner)
            && msg.contains(&first.nonce),
        "{msg}"
    );
    assert!(
        matches!(lock.status().await.unwrap(), LockStatus::Held { owner, .. } if owner == first)
    );
    // The lock is the DRP host's: another host's same place is free.
    let elsewhere = DrpLock::new(&pool, "backup-b").in_dir(place);
    assert!(matches!(
        elsewhere.status().await.unwrap(),
        LockStatus::Free { .. }
    ));

    // Unlock with a wrong nonce: refused, naming the holder; with a nonce that is no nonce:
    // refused before anything is sent.
    match lock.force_unlock(&second.nonce).await {
        Err(LockError::WrongNonce { holder, .. }) => assert_eq!(*holder, first),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        lock.force_unlock("'; rm -rf / #").await,
        Err(LockError::BadNonce(_))
    ));
    // With the right nonce (`vigie drp unlock --nonce N` after reading the status): released.
    assert_eq!(
        lock.force_unlock(&first.nonce).await.unwrap(),
        Some(first.clone())
    );
    assert!(matches!(
        lock.status().await.unwrap(),
        LockStatus::Free { .. }
    ));
    assert!(matches!(
        lock.release(&first.nonce).await,
        Err(LockError::NotHeld { .. })
    ));

    // Free again: the second run takes it and releases it.
    lock.acquire(&second).await.unwrap();
    lock.release(&second.nonce).await.unwrap();
    assert_eq!(
        lab.sh("drp", &format!("ls -A {place}")),
        "",
        "nothing left behind"
    );
    lab.sh("drp", &format!("rm -rf {place}"));

    // The default place, as root: /var/lib/vigie/lock (only looked at: status creates nothing).
    let default = DrpLock::new(&pool, "drp");
    let path = match default.status().await.unwrap() {
        LockStatus::Free { path }
        | LockStatus::Held { path, .. }
        | LockStatus::Ownerless { path } => path,
    };
    assert_eq!(path, "/var/lib/vigie/lock");
}
