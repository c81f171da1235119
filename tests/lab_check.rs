//! `vigie check` against the lab: real OpenSSH servers in network namespaces, reached through
//! the bastion. Run by tests/run-all.sh, which brings the lab up; without a lab these tests
//! fail (they never skip).

mod common;

use common::lab::Lab;
use serde_json::Value;
use std::time::{Duration, Instant};

fn check_json(lab: &Lab, extra: &[&str]) -> (i32, Vec<Value>) {
    let mut args = vec!["check", "--json"];
    args.extend_from_slice(extra);
    let out = lab.vigie(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let docs: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    assert!(
        !docs.is_empty(),
        "no output; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), docs)
}

fn host<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["hosts"]
        .as_array()
        .and_then(|hs| hs.iter().find(|h| h["name"] == name))
        .unwrap_or_else(|| panic!("host {name} missing from {doc}"))
}

fn check<'a>(host: &'a Value, id: &str) -> &'a Value {
    host["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("check {id} missing from {host}"))
}

fn value(host: &Value, id: &str) -> f64 {
    check(host, id)["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("{id} has no value: {}", check(host, id)))
}

const HOSTS: [&str; 5] = ["bastion", "prod", "backup-a", "backup-b", "drp"];

fn not_ok(doc: &Value) -> Vec<String> {
    let mut bad = vec![];
    for h in doc["hosts"].as_array().into_iter().flatten() {
        for c in h["checks"].as_array().into_iter().flatten() {
            if c["state"] != "OK" {
                bad.push(format!(
                    "{} {} {} {}",
                    h["name"], c["id"], c["state"], c["summary"]
                ));
            }
        }
    }
    bad
}

/// `df -k` inside the lab host: (used %, inodes free %) of a mount.
fn df_truth(lab: &Lab, host: &str, mount: &str) -> (f64, f64) {
    let out = lab.sh(
        host,
        &format!("df -k --output=size,used,avail,itotal,iavail {mount} | tail -n 1"),
    );
    let n: Vec<f64> = out.split_whitespace().map(|x| x.parse().unwrap()).collect();
    let used_pct = 100.0 * n[1] / (n[1] + n[2]);
    let inodes_free_pct = 100.0 * n[4] / n[3];
    (used_pct, inodes_free_pct)
}

#[test]
fn every_host_ok_and_readings_equal_the_truth_inside_the_host() {
    let lab = Lab::require();
    let _fill = lab.fill("prod", "/srv", 37);
    let (code, docs) = check_json(&lab, &[]);
    let doc = &docs[0];
    assert_eq!(not_ok(doc), Vec::<String>::new(), "{doc:#}");
    assert_eq!(code, 0);
    assert_eq!(doc["site"], "lab");
    assert_eq!(doc["state"], "OK");
    for name in HOSTS {
        let h = host(doc, name);
        assert_eq!(h["state"], "OK", "{h:#}");
        assert_eq!(h["reachable"], true);
    }
    let prod = host(doc, "prod");
    assert_eq!(prod["role"], "production");
    assert_eq!(prod["datacenter"], "dc1");

    let (used, ifree) = df_truth(&lab, "prod", "/srv");
    let seen = value(prod, "system.partition./srv");
    assert!(
        (seen - used).abs() < 1.0,
        "partition: vigie {seen} vs df {used}"
    );
    assert!(seen > 30.0, "the planted 37 % fill is not seen: {seen}");
    let seen_i = value(prod, "system.inodes./srv");
    assert!(
        (seen_i - ifree).abs() < 1.0,
        "inodes: vigie {seen_i} vs df {ifree}"
    );

    let mem = lab.sh(
        "prod",
        "awk '/MemTotal/{t=$2}/MemAvailable/{a=$2}END{print 100*(t-a)/t}' /proc/meminfo",
    );
    let mem: f64 = mem.trim().parse().unwrap();
    let seen_m = value(prod, "system.memory");
    assert!(
        (seen_m - mem).abs() < 3.0,
        "memory: vigie {seen_m} vs meminfo {mem}"
    );

    let up: f64 = lab
        .sh("prod", "cut -d' ' -f1 /proc/uptime")
        .trim()
        .parse()
        .unwrap();
    let seen_u = value(prod, "system.uptime");
    assert!(
        (seen_u - up).abs() < 30.0,
        "uptime: vigie {seen_u} vs /proc/uptime {up}"
    );

    // The time drift is measured against this very clock: the lab shares it, so it is small.
    let drift = value(prod, "system.time_drift").abs();
    assert!(drift < 200.0, "drift {drift} ms on a shared clock");
    check(prod, "system.process.labwatchd");
    check(prod, "system.load");
    check(prod, "system.cpu");
}

#[test]
fn a_full_partition_is_crit_with_exit_code_2() {
    let lab = Lab::require();
    let _fill = lab.fill("prod", "/srv", 93);
    let (code, docs) = check_json(&lab, &[]);
    let doc = &docs[0];
    let prod = host(doc, "prod");
    let srv = check(prod, "system.partition./srv");
    assert_eq!(srv["state"], "CRIT", "{srv}");
    assert!(srv["summary"].as_str().unwrap().contains("% used"), "{srv}");
    assert_eq!(prod["state"], "CRIT");
    assert_eq!(doc["state"], "CRIT");
    assert_eq!(code, 2);
    for name in ["bastion", "backup-a", "backup-b", "drp"] {
        assert_eq!(host(doc, name)["state"], "OK", "{name}");
    }
}

fn assert_unreachable_alone(doc: &Value, elapsed: Duration) {
    let prod = host(doc, "prod");
    assert_eq!(prod["state"], "CRIT", "{prod:#}");
    assert_eq!(prod["reachable"], false);
    assert_eq!(check(prod, "system.availability")["state"], "CRIT");
    for name in ["bastion", "backup-a", "backup-b", "drp"] {
        assert_eq!(
            host(doc, name)["state"],
            "OK",
            "{name} suffered from prod: {doc:#}"
        );
    }
    // connect_timeout is 3 s in the lab config: the dead host is reported right after it.
    assert!(elapsed < Duration::from_secs(7), "took {elapsed:?}");
}

#[test]
fn a_cut_link_is_crit_within_the_connect_timeout_and_delays_no_other_host() {
    let lab = Lab::require();
    let _cut = lab.cut("prod");
    let t = Instant::now();
    let (code, docs) = check_json(&lab, &[]);
    assert_unreachable_alone(&docs[0], t.elapsed());
    assert_eq!(code, 2);

    // Over several refreshes, the other hosts keep their schedule (refresh 2 s) while prod
    // keeps timing out.
    let (_, docs) = check_json(&lab, &["--count", "3"]);
    assert_eq!(docs.len(), 3);
    for doc in &docs[1..] {
        for name in ["bastion", "backup-a", "backup-b", "drp"] {
            let age = host(doc, name)["reading_age_s"].as_f64().unwrap();
            assert!(
                age <= 2.0 + 1.5,
                "{name}'s reading is {age} s old: delayed by prod"
            );
        }
        assert_eq!(host(doc, "prod")["state"], "CRIT");
    }
}

#[test]
fn a_frozen_sshd_is_crit_without_hanging_and_recovers() {
    let lab = Lab::require();
    {
        let _frozen = lab.freeze("prod");
        let t = Instant::now();
        let (code, docs) = check_json(&lab, &[]);
        assert_unreachable_alone(&docs[0], t.elapsed());
        assert_eq!(code, 2);
    }
    let (code, docs) = check_json(&lab, &[]);
    assert_eq!(host(&docs[0], "prod")["state"], "OK", "{:#}", docs[0]);
    assert_eq!(code, 0);
}

#[test]
fn a_changed_host_key_is_refused_and_nothing_runs() {
    let lab = Lab::require();
    let before = lab.sshd_log("prod");
    let _wrong = lab.wrong_hostkey("prod");
    let (code, docs) = check_json(&lab, &[]);
    let prod = host(&docs[0], "prod");
    assert_eq!(prod["state"], "CRIT");
    assert_eq!(prod["host_key_alert"], true, "{prod:#}");
    let summary = check(prod, "system.availability")["summary"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(summary.contains("HOST KEY CHANGED"), "{summary}");
    assert_eq!(code, 2);
    for name in ["bastion", "backup-a", "backup-b", "drp"] {
        assert_eq!(host(&docs[0], name)["state"], "OK");
    }
    let after = lab.sshd_log("prod");
    let new = &after[before.len().min(after.len())..];
    assert!(
        !new.contains("Accepted publickey"),
        "authenticated anyway:\n{new}"
    );
    assert!(!new.contains("Starting session"), "executed anyway:\n{new}");
}

#[test]
fn a_killed_watched_process_is_crit() {
    let lab = Lab::require();
    let _killed = lab.kill_proc("prod", "labwatchd");
    let (code, docs) = check_json(&lab, &[]);
    let prod = host(&docs[0], "prod");
    assert_eq!(
        check(prod, "system.process.labwatchd")["state"],
        "CRIT",
        "{prod:#}"
    );
    assert_eq!(check(prod, "system.process.sshd")["state"], "OK");
    assert_eq!(code, 2);
}

#[test]
fn one_connection_and_one_exec_per_host_per_refresh() {
    let lab = Lab::require();
    let before: Vec<String> = HOSTS.iter().map(|h| lab.sshd_log(h)).collect();
    let (code, docs) = check_json(&lab, &["--count", "3"]);
    assert_eq!(docs.len(), 3);
    assert_eq!(code, 0, "{:#}", docs[2]);
    for (i, name) in HOSTS.iter().enumerate() {
        let after = lab.sshd_log(name);
        let new = &after[before[i].len().min(after.len())..];
        let connections = new.matches("Accepted publickey").count();
        let execs = new.matches("Starting session: command").count();
        assert_eq!(
            connections, 1,
            "{name}: {connections} connections in 3 refreshes:\n{new}"
        );
        assert_eq!(execs, 3, "{name}: {execs} execs in 3 refreshes:\n{new}");
    }
}

/// Undo a mount made inside a lab host, even when the test fails.
struct Unmount<'a>(&'a Lab, &'static str, &'static str);
impl Drop for Unmount<'_> {
    fn drop(&mut self) {
        let _ = self.0.try_sh(self.1, &format!("umount {}", self.2));
    }
}

#[test]
fn hostile_server_output_reaches_no_terminal() {
    let lab = Lab::require();
    // A compromised prod whose `df` prints terminal escape sequences (clear screen, retitle
    // the window, a C1 CSI) in a mount point and in garbage lines. The probe finds tools in
    // /usr/local/bin first, so shadow it inside prod's own mount namespace.
    lab.sh(
        "prod",
        r#"mkdir -p /tmp/vigie-hostile-bin && mount -t tmpfs hostile /usr/local/bin &&
cat > /usr/local/bin/df <<'SH'
#!/bin/sh
printf 'Filesystem Type 1K-blocks Used Avail Inodes IUsed IFree Mounted on\n'
printf '/dev/evil ext4 1000 950 50 100 10 90 /srv/\033]0;pwned\007\033[2J\302\23331m\n'
printf '\033[H\033[2Jgarbage \033[6n line\n'
SH
chmod +x /usr/local/bin/df"#,
    );
    let _unmount = Unmount(&lab, "prod", "/usr/local/bin");
    for args in [&["check", "--json"][..], &["check"][..]] {
        let out = lab.vigie(args);
        let stdout = out.stdout.clone();
        assert!(
            !stdout.contains(&0x1b),
            "ESC reached the output: {}",
            String::from_utf8_lossy(&stdout)
        );
        assert!(!stdout.contains(&0x07), "BEL reached the output");
        let text = String::from_utf8_lossy(&stdout);
        assert!(!text.contains('\u{9b}'), "C1 CSI reached the output");
        assert!(
            !text.contains("\\u001b") && !text.contains("\\u0007"),
            "escaped control characters: {text}"
        );
        assert!(
            text.contains("system.partition./srv/\u{FFFD}]0;pwned"),
            "{text}"
        );
        assert_eq!(out.status.code(), Some(2), "95 % used is CRIT: {text}");
    }
}

#[test]
fn a_dead_sshd_listener_is_crit_even_through_vigies_own_session() {
    let lab = Lab::require();
    let child = lab
        .vigie_cmd(&["check", "--json", "--count", "5"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the persistent connection exists, stop the listener only: existing sessions (like
    // Vigie's own, an sshd process too) live on, nobody else can log in.
    std::thread::sleep(Duration::from_secs(3));
    let _stopped = lab.sshd_stop("prod");
    let out = child.wait_with_output().unwrap();
    let docs: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 5);
    assert_eq!(
        check(host(&docs[0], "prod"), "system.process.sshd")["state"],
        "OK"
    );
    let last = host(&docs[4], "prod");
    assert_eq!(
        last["reachable"], true,
        "the persistent connection was lost: {last:#}"
    );
    let sshd = check(last, "system.process.sshd");
    assert_eq!(sshd["state"], "CRIT", "{sshd}");
    assert!(
        sshd["summary"].as_str().unwrap().contains("listener"),
        "{sshd}"
    );
}
