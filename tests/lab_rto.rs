//! The restore-time estimate on the lab (SPEC §5): `T` on the Backups screen times a real
//! transfer from each backup server to the DRP server over `[drp] transfer_ssh` (real ssh
//! between the lab's hosts), keeps it in the state directory, and `vigie check --json` then
//! carries the estimate.

mod common;

use common::lab::Lab;
use common::site::{DRP_HOSTS, check_json, write_config};
use common::tty::Tty;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lab's configuration with `[drp]` (its transfer path through `ssh_config`) and a
/// `files` dataset on backup-a (`copy_extra`: more keys of its copy).
fn rto_config(lab: &Lab, dir: &Path, ssh_config: &str, copy_extra: &str) -> PathBuf {
    write_config(
        lab,
        dir,
        &format!(
            "{DRP_HOSTS}transfer_ssh = \"ssh -F {ssh_config}\"\n\n\
             [[datasets]]\nname = \"files\"\nmax_loss = \"24h\"\n\
             [[datasets.copies]]\nhost = \"backup-a\"\npath = \"/var/backups/files\"\n\
             every = \"24h\"\n{copy_extra}"
        ),
    )
}

/// The console on `config`, its state in `state`.
fn console(state: &Path, config: &Path) -> String {
    format!(
        "env XDG_STATE_HOME={} {} --config {}",
        state.display(),
        env!("CARGO_BIN_EXE_vigie"),
        config.display()
    )
}

#[test]
fn a_timed_transfer_to_the_drp_server_gives_the_restore_time() {
    let lab = Lab::require();
    lab.sh(
        "backup-a",
        "rm -rf /var/backups/files && mkdir -p /var/backups/files && \
         head -c 3000000 /dev/urandom > /var/backups/files/files-1.tar && \
         touch -d '-3 hours' /var/backups/files/files-1.tar",
    );
    let state = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ssh_config = format!("{}/transfer_ssh_config", lab.dir().display());
    let config = rto_config(&lab, dir.path(), &ssh_config, "pattern = \"files-*\"\n");
    let check = || -> Value { check_json(&config, Some(state.path())).1 };
    // Nothing measured yet: said so.
    let doc = check();
    assert_eq!(
        doc["datasets"][0]["rto"]["summary"], "throughput to the DRP server not measured yet",
        "{doc:#}"
    );
    let command = console(state.path(), &config);
    let tty = Tty::start("rto", 140, 30, &command);
    tty.wait_for("the Backups screen", Duration::from_secs(20), |s| {
        s.contains("backup-a")
    });
    tty.keys(&["3"]);
    tty.wait_for("the key T offered", Duration::from_secs(10), |s| {
        s.contains("T measure the throughput")
    });
    tty.keys(&["T"]);
    let screen = tty.wait_for("the measurement", Duration::from_secs(90), |s| {
        s.contains("throughput measured") || s.contains("throughput: ")
    });
    assert!(screen.contains("throughput measured"), "{screen}");
    assert!(
        screen.contains("RTO restore in about") && screen.contains("from backup-a"),
        "{screen}"
    );
    tty.keys(&["q"]);
    // Kept: the next `vigie check` has the estimate.
    let doc = check();
    let rto = &doc["datasets"][0]["rto"];
    assert_eq!(rto["state"], "OK", "{doc:#}");
    assert!(rto["bytes"].as_u64().unwrap() >= 3_000_000, "{rto:#}");
    assert!(rto["total_s"].as_u64().is_some(), "{rto:#}");
    let summary = rto["summary"].as_str().unwrap();
    assert!(
        summary.contains("measured") && summary.contains("from backup-a"),
        "{summary}"
    );
    // The measurement went over the lab's network, backup-a → drp, through real sshd.
    assert!(
        lab.sshd_log_count("drp", "Accepted publickey") > 0,
        "{}",
        lab.sshd_log("drp")
    );
}

/// A transfer path that does not work is a reason on the screen, not a hang.
#[test]
fn a_broken_transfer_path_is_reported() {
    let lab = Lab::require();
    let state = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = rto_config(&lab, dir.path(), "/nonexistent/transfer_ssh_config", "");
    let command = console(state.path(), &config);
    let tty = Tty::start("rto-broken", 140, 30, &command);
    tty.keys(&["3"]);
    tty.wait_for("the key T offered", Duration::from_secs(20), |s| {
        s.contains("T measure the throughput")
    });
    tty.keys(&["T"]);
    let screen = tty.wait_for("the failure", Duration::from_secs(60), |s| {
        s.contains("throughput: ")
    });
    assert!(screen.contains("backup-a cannot send to drp"), "{screen}");
    tty.keys(&["q"]);
}
