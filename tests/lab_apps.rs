//! Applications, replication, network, URL tests and blocklists on the lab's real servers
//! (SPEC §4): nginx, vsftpd, Postfix, MariaDB and PostgreSQL on prod, a MariaDB replica and a
//! PostgreSQL streaming standby on drp, Knot on dns serving a blocklist zone. Each test breaks
//! the thing for real (lab.sh) and asserts the state `vigie check --json` reports.

mod common;

use common::lab::Lab;
use common::site::check_json;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Undoes lab faults when dropped, even when an assertion fails.
struct Undo<'a> {
    lab: &'a Lab,
    steps: Vec<Vec<&'static str>>,
}

impl Drop for Undo<'_> {
    fn drop(&mut self) {
        for args in self.steps.iter().rev() {
            let _ = std::process::Command::new("bash")
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lab/lab.sh"))
                .args(args)
                .env("LAB_DIR", self.lab.dir())
                .output();
        }
    }
}

fn undo<'a>(lab: &'a Lab, args: &[&'static str]) -> Undo<'a> {
    Undo {
        lab,
        steps: vec![args.to_vec()],
    }
}

/// The lab config with `extra` lines added to the [[hosts]] entries named, and `tail` at the
/// end.
fn config(lab: &Lab, dir: &Path, extra: &[(&str, &str)], tail: &str) -> PathBuf {
    let mut text = std::fs::read_to_string(lab.config_path()).unwrap();
    for (host, lines) in extra {
        let at = text
            .find(&format!("name = \"{host}\"\n"))
            .unwrap_or_else(|| panic!("no host {host} in the lab config"));
        let end = text[at..].find("\n\n").map_or(text.len(), |e| at + e);
        text.insert_str(end, &format!("\n{lines}"));
    }
    text.push('\n');
    text.push_str(tail);
    let path = dir.join("vigie.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// The check `id` of `host` (or of the site when `host` is None).
fn find<'a>(doc: &'a Value, host: Option<&str>, id: &str) -> &'a Value {
    let checks = match host {
        Some(h) => &doc["hosts"]
            .as_array()
            .and_then(|hs| hs.iter().find(|x| x["name"] == h))
            .unwrap_or_else(|| panic!("no host {h}"))["checks"],
        None => &doc["checks"],
    };
    checks
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} on {host:?} in {checks:#}"))
}

fn state<'a>(doc: &'a Value, host: Option<&str>, id: &str) -> &'a str {
    find(doc, host, id)["state"].as_str().unwrap_or("")
}

const SERVICES: &str = r#"services = ["nginx", "ftp", "postfix", "mysql", "postgresql"]"#;

#[test]
fn applications_answer_and_each_stopped_one_is_crit() {
    let lab = Lab::require();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&lab, dir.path(), &[("prod", SERVICES)], "");
    let (_, doc) = check_json(&cfg, None);
    for s in ["nginx", "ftp", "postfix", "mysql", "postgresql"] {
        let c = find(&doc, Some("prod"), &format!("app.service.{s}"));
        assert_eq!(c["state"], "OK", "{c:#}");
    }
    assert!(
        find(&doc, Some("prod"), "app.service.ftp")["summary"]
            .as_str()
            .unwrap()
            .contains("220"),
        "the FTP banner is quoted"
    );
    for (svc, lab_name) in [
        ("nginx", "nginx"),
        ("ftp", "vsftpd"),
        ("postfix", "postfix"),
        ("mysql", "mariadb"),
        ("postgresql", "postgresql"),
    ] {
        let _back = undo(&lab, &["svc-start", "prod", lab_name]);
        lab.lab_sh(&["svc-stop", "prod", lab_name]);
        let (_, doc) = check_json(&cfg, None);
        let c = find(&doc, Some("prod"), &format!("app.service.{svc}"));
        assert_eq!(c["state"], "CRIT", "{svc} stopped: {c:#}");
        // The others are untouched (the replica on drp follows MariaDB's fate, not here).
        for other in ["nginx", "ftp", "postfix"].iter().filter(|o| **o != svc) {
            assert_eq!(
                state(&doc, Some("prod"), &format!("app.service.{other}")),
                "OK",
                "{other} while {svc} is stopped"
            );
        }
    }
}

#[test]
fn a_postfix_queue_over_100_warns() {
    let lab = Lab::require();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&lab, dir.path(), &[("prod", SERVICES)], "");
    let _clean = undo(&lab, &["mail-queue", "prod", "0"]);
    lab.lab_sh(&["mail-queue", "prod", "120"]);
    let (_, doc) = check_json(&cfg, None);
    let c = find(&doc, Some("prod"), "app.service.postfix");
    assert_eq!(c["state"], "WARN", "{c:#}");
    assert!(c["summary"].as_str().unwrap().contains("120"), "{c:#}");
}

const REPLICAS: &str = r#"replication = ["mysql", "postgresql"]"#;

#[test]
fn replicas_stream_and_a_broken_or_late_one_is_said_so() {
    let lab = Lab::require();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &lab,
        dir.path(),
        &[
            ("prod", r#"replication = ["postgresql"]"#),
            ("drp", REPLICAS),
        ],
        "",
    );
    let (_, doc) = check_json(&cfg, None);
    assert_eq!(
        state(&doc, Some("drp"), "app.replication.mysql.replica"),
        "OK"
    );
    assert_eq!(
        state(&doc, Some("drp"), "app.replication.postgresql.standby"),
        "OK"
    );
    // On the primary, one check per standby, named after its application_name.
    assert_eq!(
        state(&doc, Some("prod"), "app.replication.postgresql.drp"),
        "OK"
    );

    {
        let _heal = undo(&lab, &["repl-heal", "drp", "mysql"]);
        lab.lab_sh(&["repl-break", "drp", "mysql", "error"]);
        let (_, doc) = check_json(&cfg, None);
        let c = find(&doc, Some("drp"), "app.replication.mysql.replica");
        assert_eq!(c["state"], "CRIT", "{c:#}");
        assert!(c["summary"].as_str().unwrap().contains("1062"), "{c:#}");
    }
    {
        let _heal = undo(&lab, &["repl-heal", "drp", "mysql"]);
        // The lab makes lag with MASTER_DELAY (a replica cannot be slowed otherwise here): a
        // delayed replica is behind by design, its lag reported and not alarmed (real lag
        // beyond thresholds is covered by captured fixtures, src/checks/replication_db_tests.rs).
        lab.lab_sh(&["repl-lag", "drp", "mysql", "120"]);
        let (_, doc) = check_json(&cfg, None);
        let c = find(&doc, Some("drp"), "app.replication.mysql.replica");
        assert_eq!(c["state"], "OK", "{c:#}");
        let behind = c["value"].as_f64().unwrap();
        assert!((119.0..200.0).contains(&behind), "{c:#}");
        assert!(
            c["summary"].as_str().unwrap().contains("by design"),
            "{c:#}"
        );
    }
    {
        let _heal = undo(&lab, &["repl-heal", "drp", "postgresql"]);
        lab.lab_sh(&["repl-break", "drp", "postgresql"]);
        let (_, doc) = check_json(&cfg, None);
        let c = find(&doc, Some("drp"), "app.replication.postgresql.standby");
        assert_eq!(c["state"], "CRIT", "{c:#}");
        // The primary sees no standby any more.
        let c = find(&doc, Some("prod"), "app.replication.postgresql.primary");
        assert_eq!(c["state"], "CRIT", "{c:#}");
    }
    let (_, doc) = check_json(&cfg, None);
    assert_eq!(
        state(&doc, Some("drp"), "app.replication.postgresql.standby"),
        "OK",
        "healed"
    );
}

#[test]
fn interfaces_and_routes() {
    let lab = Lab::require();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &lab,
        dir.path(),
        &[(
            "prod",
            "interfaces = [\"eth0\", \"lab0\"]\nroutes = [\"10.99.0.0/16\"]",
        )],
        "",
    );
    struct DelLink<'a>(&'a Lab);
    impl Drop for DelLink<'_> {
        fn drop(&mut self) {
            let _ = self.0.try_sh("prod", "ip link del lab0 2>/dev/null");
        }
    }
    let _del = DelLink(&lab);
    lab.sh("prod", "ip link del lab0 2>/dev/null; ip link add lab0 type veth peer name lab0p && ip link set lab0p up && ip link set lab0 up && ip addr add 10.99.0.1/16 dev lab0");
    let (_, doc) = check_json(&cfg, None);
    let c = find(&doc, Some("prod"), "network.interface.eth0");
    assert_eq!(c["state"], "OK", "{c:#}");
    assert!(
        c["summary"].as_str().unwrap().contains("10.77.1.11/24"),
        "{c:#}"
    );
    assert_eq!(state(&doc, Some("prod"), "network.interface.lab0"), "OK");
    assert_eq!(state(&doc, Some("prod"), "network.route.default"), "OK");
    assert_eq!(
        state(&doc, Some("prod"), "network.route.10.99.0.0/16"),
        "OK"
    );

    lab.sh("prod", "ip link set lab0 down");
    let (_, doc) = check_json(&cfg, None);
    assert_eq!(state(&doc, Some("prod"), "network.interface.lab0"), "CRIT");
    // Its connected route went with it.
    assert_eq!(
        state(&doc, Some("prod"), "network.route.10.99.0.0/16"),
        "CRIT"
    );
    lab.sh("prod", "ip link del lab0");
    let (_, doc) = check_json(&cfg, None);
    let c = find(&doc, Some("prod"), "network.interface.lab0");
    assert_eq!(c["state"], "CRIT", "absent: {c:#}");
}

#[test]
fn a_url_through_the_bastion_and_the_blocklists() {
    let lab = Lab::require();
    let dir = tempfile::tempdir().unwrap();
    let tail = r#"
[[urls]]
name = "site"
url = "http://10.77.1.11/"
contains = "Welcome to 1stKYC"
via = "bastion"

[dnsbl]
resolver = "10.77.1.53:53"
zones = ["bl.test"]
addresses = ["203.0.113.66", "203.0.113.11", "203.0.113.99"]
"#;
    let cfg = config(&lab, dir.path(), &[], tail);
    let (_, doc) = check_json(&cfg, None);
    let c = find(&doc, None, "app.url.site");
    assert_eq!(c["state"], "OK", "{c:#}");
    assert!(
        c["summary"].as_str().unwrap().contains("via bastion"),
        "{c:#}"
    );
    let listed = find(&doc, None, "network.dnsbl.203.0.113.66");
    assert_eq!(listed["state"], "CRIT", "{listed:#}");
    assert!(
        listed["summary"].as_str().unwrap().contains("bl.test"),
        "{listed:#}"
    );
    assert_eq!(state(&doc, None, "network.dnsbl.203.0.113.11"), "OK");
    // 127.255.255.254 is an error of the query, not a listing.
    assert_eq!(state(&doc, None, "network.dnsbl.203.0.113.99"), "UNKNOWN");
    assert_eq!(doc["state"], "CRIT", "a listed address makes the site CRIT");

    let _back = undo(&lab, &["svc-start", "prod", "nginx"]);
    lab.lab_sh(&["svc-stop", "prod", "nginx"]);
    let (_, doc) = check_json(&cfg, None);
    let c = find(&doc, None, "app.url.site");
    assert_eq!(c["state"], "CRIT", "{c:#}");
    assert!(c["summary"].as_str().unwrap().contains("connect"), "{c:#}");
}
