//! The SSH transport against the lab's real sshd: trust on first use only when asked,
//! ssh-agent authentication, reconnection after a host comes back.

mod common;

use common::lab::{HOSTS, Lab};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The lab config with some lines rewritten, written into `dir`.
fn config_variant(
    lab: &Lab,
    dir: &Path,
    edit: impl Fn(&str) -> Option<String>,
) -> std::path::PathBuf {
    let text = std::fs::read_to_string(lab.config_path()).unwrap();
    let edited: Vec<String> = text
        .lines()
        .filter_map(|l| match edit(l) {
            Some(new) => (!new.is_empty()).then_some(new),
            None => Some(l.to_string()),
        })
        .collect();
    let path = dir.join("vigie.toml");
    std::fs::write(&path, edited.join("\n")).unwrap();
    path
}

fn run(config: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigie"));
    cmd.arg("--config").arg(config).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let doc = serde_json::from_str(stdout.lines().last().unwrap_or("null"))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    (
        out.status.code().unwrap_or(-1),
        doc,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

fn host<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .unwrap()
}

#[test]
fn unknown_hosts_are_refused_until_accept_new_records_them() {
    let lab = Lab::require();
    let dir = tempfile::tempdir().unwrap();
    let kh = dir.path().join("known_hosts");
    let kh_line = format!("known_hosts = \"{}\"", kh.display());
    let config = config_variant(&lab, dir.path(), |l| {
        l.starts_with("known_hosts").then(|| kh_line.clone())
    });
    let before = lab.sshd_log("bastion");

    let (code, doc, _) = run(&config, &["check", "--json"], &[]);
    assert_eq!(code, 2);
    let bastion = host(&doc, "bastion");
    assert_eq!(bastion["host_key_alert"], true, "{bastion:#}");
    assert!(
        bastion["error"]
            .as_str()
            .unwrap()
            .contains("unknown host key"),
        "{bastion:#}"
    );
    let prod = host(&doc, "prod");
    assert_eq!(prod["state"], "CRIT");
    assert!(
        prod["error"].as_str().unwrap().contains("via bastion"),
        "{prod:#}"
    );
    let after = lab.sshd_log("bastion");
    assert!(
        !after[before.len()..].contains("Accepted publickey"),
        "authenticated to an unknown host"
    );
    assert!(
        !kh.exists() || std::fs::read_to_string(&kh).unwrap().is_empty(),
        "recorded without --accept-new"
    );

    let (code, doc, _) = run(&config, &["--accept-new", "check", "--json"], &[]);
    assert_eq!(code, 0, "{doc:#}");
    let recorded = std::fs::read_to_string(&kh).unwrap();
    for name in HOSTS {
        assert!(
            recorded.contains(lab.address(name)),
            "{name} not recorded:\n{recorded}"
        );
    }
    // The lab's own known_hosts holds the same keys: what was recorded is the truth.
    let truth = std::fs::read_to_string(lab.known_hosts()).unwrap();
    for line in recorded.lines().filter(|l| !l.is_empty()) {
        let key = line.split_whitespace().nth(2).unwrap();
        assert!(
            truth.contains(key),
            "recorded a key the host does not have: {line}"
        );
    }

    // Recorded once, trusted from then on, without the flag.
    let (code, _, _) = run(&config, &["check", "--json"], &[]);
    assert_eq!(code, 0);
    assert_eq!(
        std::fs::read_to_string(&kh).unwrap(),
        recorded,
        "recorded twice"
    );
}

#[test]
fn ssh_agent_keys_authenticate() {
    let lab = Lab::require();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("agent.sock");
    let mut agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::null())
        .spawn()
        .expect("ssh-agent (openssh-client) is part of the test environment");
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let added = Command::new("ssh-add")
        .arg(lab.identity())
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    // No identity file anywhere: the config names none and HOME has no ~/.ssh.
    let config = config_variant(&lab, dir.path(), |l| {
        l.starts_with("identity").then(String::new)
    });
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let sock_s = sock.display().to_string();
    let home_s = home.display().to_string();
    let env = [
        ("SSH_AUTH_SOCK", sock_s.as_str()),
        ("HOME", home_s.as_str()),
    ];
    let (code, doc, stderr) = run(&config, &["check", "--json"], &env);
    let _ = agent.kill();
    let _ = agent.wait();
    assert_eq!(code, 0, "{doc:#}\n{stderr}");

    // Without the agent, the refusal says what was tried.
    let (code, doc, _) = run(
        &config,
        &["check", "--json"],
        &[("SSH_AUTH_SOCK", ""), ("HOME", home_s.as_str())],
    );
    assert_eq!(code, 2);
    let err = host(&doc, "bastion")["error"].as_str().unwrap().to_string();
    assert!(err.contains("authentication as root refused"), "{err}");
}

#[test]
fn a_host_that_comes_back_is_reconnected() {
    let lab = Lab::require();
    let frozen = lab.freeze("prod");
    let child = lab
        .vigie_cmd(&["check", "--json", "--count", "6"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    drop(frozen);
    let out = child.wait_with_output().unwrap();
    let docs: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 6);
    assert_eq!(host(&docs[0], "prod")["state"], "CRIT");
    let last = &docs[5];
    assert_eq!(
        host(last, "prod")["state"],
        "OK",
        "not reconnected: {last:#}"
    );
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn hosts_described_only_in_the_openssh_config_are_reached_as_openssh_would() {
    let lab = Lab::require();
    let dir = tempfile::tempdir().unwrap();
    // The operator's ~/.ssh/config knows HostName, User, IdentityFile and ProxyJump; the
    // Vigie config names the hosts and their roles only.
    let mut toml = format!(
        "[site]\nname = \"lab\"\nrefresh = \"2s\"\n\n[ssh]\nconfig = \"{}\"\nknown_hosts = \"{}\"\n",
        lab.ssh_config().display(),
        lab.known_hosts().display()
    );
    for (name, role, dc) in [
        ("bastion", "bastion", "dmz"),
        ("prod", "production", "dc1"),
        ("backup-b", "backup", "dc2"),
    ] {
        toml.push_str(&format!(
            "\n[[hosts]]\nname = \"{name}\"\nrole = \"{role}\"\ndatacenter = \"{dc}\"\n"
        ));
    }
    let config = dir.path().join("vigie.toml");
    std::fs::write(&config, toml).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("--config")
        .arg(&config)
        .args(["config", "check"])
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{listing}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        listing.contains("root@10.77.1.11:22 via bastion"),
        "{listing}"
    );

    let before = lab.sshd_log_count("bastion", "Accepted publickey");
    let (code, doc, stderr) = run(&config, &["check", "--json"], &[]);
    assert_eq!(code, 0, "{doc:#}\n{stderr}");
    assert_eq!(host(&doc, "prod")["address"], "10.77.1.11");
    // The bastion named by ProxyJump is the supervised bastion: one connection serves both.
    let after = lab.sshd_log_count("bastion", "Accepted publickey");
    assert_eq!(after - before, 1);
}
