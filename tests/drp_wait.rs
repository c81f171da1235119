//! The `wait` step on the site's URL test (SPEC §6: "wait until a check id is OK (e.g. the
//! site's URL on the DRP)"), end to end on the lab: the DNS switch moves www.example.test to
//! the DRP server on the lab's Knot, and the URL test — through the bastion's tunnel, whose sshd
//! resolves the name with the lab's name server — reaches the DRP's nginx ("served by drp").
//! A site that does not answer in time fails the step, and the run stops there.

mod common;

use common::drp::{journal, plant_files_backups, text};
use common::lab::Lab;
use common::site::{DRP_HOSTS, files_dataset, write_config};
use std::path::{Path, PathBuf};
use std::process::Output;

const PROD_PUBLIC: &str = "203.0.113.11";

/// The lab's site with prod's public address (the zone's www today), the DNS switch and the
/// wait on `app.url.site` with `timeout`.
fn site(lab: &Lab, dir: &Path, timeout: &str) -> PathBuf {
    let lab_dir = lab.dir().display();
    let extra = format!(
        r#"
{files}
{DRP_HOSTS}transfer_ssh = "ssh -F {lab_dir}/transfer_ssh_config"

[dns]
servers = ["10.77.1.53:53"]
zone = "example.test"
record = "www.example.test"
tsig_key_file = "{lab_dir}/tsig.key"
verify_timeout = "10s"

[[urls]]
name = "site"
url = "http://www.example.test/"
contains = "served by drp"
via = "bastion"
timeout = "3s"

[[runbooks.activate.steps]]
kind = "dns"
title = "Point the site to the DRP"
target = "drp"

[[runbooks.activate.steps]]
kind = "wait"
title = "The site answers from the DRP"
check = "app.url.site"
timeout = "{timeout}"
"#,
        files = files_dataset("48h"),
    );
    let path = write_config(lab, dir, &extra);
    // prod's public address is the one the zone holds; drp's is its lab address (the default),
    // which the bastion reaches.
    let text = std::fs::read_to_string(&path).unwrap().replacen(
        "name = \"prod\"\naddress = \"10.77.1.11\"\n",
        &format!("name = \"prod\"\naddress = \"10.77.1.11\"\npublic_address = \"{PROD_PUBLIC}\"\n"),
        1,
    );
    assert!(text.contains(PROD_PUBLIC), "{text}");
    std::fs::write(&path, text).unwrap();
    path
}

fn activate(config: &Path, state: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("--config")
        .arg(config)
        .args(["drp", "run", "activate", "--mode", "emergency"])
        .args(["--order", "ORD-WAIT", "--confirm", "drp"])
        .env("XDG_STATE_HOME", state)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn clean(lab: &Lab) {
    let _ = lab.try_sh("drp", "rm -rf /var/lib/vigie/lock");
}

#[test]
fn the_wait_step_sees_the_site_answer_from_the_drp_after_the_dns_switch() {
    let lab = Lab::require();
    clean(&lab);
    plant_files_backups(&lab, "");
    let dir = tempfile::tempdir().unwrap();
    let config = site(&lab, dir.path(), "30s");
    let state = dir.path().join("state");

    // Before the switch the name leads to prod's public address, which nothing reaches.
    let seen = lab.sh("bastion", "getent hosts www.example.test");
    assert!(seen.starts_with(PROD_PUBLIC), "{seen}");

    let cut = lab.cut("prod");
    let out = activate(&config, &state);
    drop(cut);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let j = journal(&state);
    let wait = j
        .iter()
        .rfind(|e| e["step"] == 2)
        .unwrap_or_else(|| panic!("{t}"));
    assert_eq!(wait["state"], "DONE", "{wait}");
    let verified = wait["verification"].as_str().unwrap();
    assert!(
        verified.starts_with("app.url.site OK: 200"),
        "the URL test answered through the tunnel from the DRP: {verified}"
    );
    assert_eq!(
        lab.sh("bastion", "getent hosts www.example.test")
            .split_whitespace()
            .next(),
        Some(lab.address("drp"))
    );
    let ended = j.last().unwrap();
    assert_eq!(ended["event"], "run_ended", "{ended}");
    assert_eq!(ended["active_site"], "drp", "{ended}");
}

#[test]
fn a_site_that_does_not_answer_in_time_fails_the_wait_and_the_run_stops() {
    let lab = Lab::require();
    clean(&lab);
    plant_files_backups(&lab, "");
    let dir = tempfile::tempdir().unwrap();
    let config = site(&lab, dir.path(), "5s");
    let state = dir.path().join("state");
    // The DRP's web server is down: the switch happens, the site does not answer.
    lab.lab_sh(&["svc-stop", "drp", "nginx"]);

    let cut = lab.cut("prod");
    let out = activate(&config, &state);
    drop(cut);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let j = journal(&state);
    let wait = j
        .iter()
        .rfind(|e| e["step"] == 2)
        .unwrap_or_else(|| panic!("{t}"));
    assert_eq!(wait["state"], "FAILED", "{wait}");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("still not OK after 5 s: app.url.site CRIT"),
        "{t}"
    );
    // A failed activation does not move the active-site marker.
    let ended = j.last().unwrap();
    assert_eq!(ended["event"], "run_ended", "{ended}");
    assert!(ended["active_site"].is_null(), "{ended}");
    lab.lab_sh(&["svc-start", "drp", "nginx"]);
}
