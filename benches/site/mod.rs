//! A large site for the benchmarks: its configuration (N hosts over four datacenters) and
//! snapshots made from the recorded probe output by the console's own parsers and checks.
#![allow(dead_code)]

use std::path::Path;
use vigie::checks::{Check, ExecTiming, HostMemory, State};
use vigie::collect::{ExecStats, HostFacts, HostSnapshot};
use vigie::config::{Config, HostConfig};
use vigie::probe::{report::ProbeReport, sections};

/// The name of host `i`.
pub fn name(i: usize) -> String {
    format!("srv-{i:03}")
}

/// The configuration of an `n`-host site; host `i` at `addr(i)`.
pub fn config_text(
    n: usize,
    addr: impl Fn(usize) -> (String, u16),
    identity: &Path,
    known_hosts: &Path,
    refresh: &str,
) -> String {
    let q = |s: &str| toml::Value::String(s.to_string()).to_string();
    let mut s = format!(
        "[site]\nname = \"bench\"\nrefresh = {}\ntimezone = \"Europe/Paris\"\n\n\
         [ssh]\nuser = \"bench\"\nidentity = {}\nknown_hosts = {}\nuse_ssh_config = false\n\
         connect_timeout = \"3s\"\ncommand_timeout = \"10s\"\n",
        q(refresh),
        q(&identity.display().to_string()),
        q(&known_hosts.display().to_string()),
    );
    for i in 0..n {
        let (address, port) = addr(i);
        let role = match i % 50 {
            0 if i == 0 => "production",
            0 => "backup",
            1 => "drp",
            _ => "production",
        };
        s.push_str(&format!(
            "\n[[hosts]]\nname = {}\naddress = {}\nport = {port}\nrole = \"{role}\"\n\
             datacenter = \"dc{}\"\nprocesses = [\"sshd\"]\n",
            q(&name(i)),
            q(&address),
            i % 4 + 1,
        ));
    }
    s
}

pub fn load(text: &str, dir: &Path) -> Config {
    let path = dir.join("bench.toml");
    std::fs::write(&path, text).expect("the config is written");
    vigie::config::load(&path).unwrap_or_else(|e| panic!("the bench config: {e}"))
}

/// A snapshot of `host` as the collector makes it from `output` (a probe output for
/// `nonce`): the same parsers and checks, a synthetic availability check.
pub fn snapshot(
    host: &HostConfig,
    output: &[u8],
    nonce: &str,
    memory: &mut HostMemory,
    now: jiff::Timestamp,
) -> HostSnapshot {
    let report = ProbeReport::from_sections(&sections::split(output, nonce));
    let timing = ExecTiming {
        sent: now,
        first_byte: now,
        round_trip: std::time::Duration::from_millis(1),
    };
    let mut checks = vec![
        Check::new("system.availability", State::Ok, "ssh up, answered in 3 ms")
            .with_value(3.0, "ms"),
    ];
    checks.extend(vigie::checks::evaluate(host, &report, &timing, memory));
    let facts = match &report.host {
        Ok(h) => HostFacts {
            hostname: Some(h.hostname.clone()),
            kernel: Some(h.kernel.clone()),
            os: h.os.clone(),
        },
        Err(_) => HostFacts::default(),
    };
    HostSnapshot {
        name: host.name.clone(),
        refreshed_at: now,
        reading_at: Some(now),
        state: vigie::checks::worst(checks.iter().map(|c| c.state)),
        checks,
        error: None,
        host_key_alert: false,
        facts,
        stats: ExecStats::default(),
        backups: Default::default(),
        backup_notes: Default::default(),
    }
}

/// Make host `i`'s snapshot look like a real site's mix: every 7th host has a filling disk,
/// every 31st a critical one, every 97th does not answer.
pub fn vary(i: usize, snap: &mut HostSnapshot) {
    if i % 97 == 5 {
        snap.checks = vec![Check::new(
            "system.availability",
            State::Crit,
            "no answer from 10.1.2.3:22 within 3s",
        )];
        snap.error = Some(vigie::ssh::SshError::ConnectTimeout {
            address: "10.1.2.3".into(),
            port: 22,
            after: std::time::Duration::from_secs(3),
        });
        snap.reading_at = None;
    } else if i % 31 == 3 {
        snap.checks.push(
            Check::new(
                "system.partition./srv",
                State::Crit,
                "93.1 % used (465 MiB free)",
            )
            .with_value(93.1, "%"),
        );
    } else if i % 7 == 2 {
        snap.checks.push(
            Check::new(
                "system.partition./var",
                State::Warn,
                "84.0 % used (3.2 GiB free)",
            )
            .with_value(84.0, "%"),
        );
    }
    snap.state = vigie::checks::worst(snap.checks.iter().map(|c| c.state));
}

/// The nonce of a recorded probe output (its first line).
pub fn nonce_of(output: &[u8]) -> String {
    String::from_utf8_lossy(output)
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("@@VIGIE "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_default()
        .to_string()
}
