//! What the DRP lab tests share: the `files` backups they plant, the site's record on the lab's
//! Knot, a command's output as text, and the journal of a test's own state directory.

use crate::common::lab::Lab;
use crate::common::site::{HOUR, now};
use serde_json::Value;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::Output;

/// The lab's authoritative name server for example.test.
pub const KNOT: &str = "10.77.1.53:53";

/// Backups of `files`, directory trees: backup-a's captured 30 h ago, backup-b's 6 h ago (the
/// newest, which an activation copies). Each has index.html ("page from HOST") and conf/;
/// `extra` is run in each tree (e.g. to add a big file). Everything else under /var/backups
/// goes first.
pub fn plant_files_backups(lab: &Lab, extra: &str) {
    for (host, name, age) in [
        ("backup-a", "files-a", 30 * HOUR),
        ("backup-b", "files-b", 6 * HOUR),
    ] {
        let at = now() - age;
        let dir = format!("/var/backups/files/{name}");
        lab.sh(
            host,
            &format!(
                "rm -rf /var/backups/* && mkdir -p {dir}/conf && cd {dir} && \
                 echo 'page from {host}' > index.html && echo 'listen 80;' > conf/site.conf && \
                 {{ {extra} :; }} && find {dir} -exec touch -d @{at} {{}} +"
            ),
        );
    }
}

/// The A addresses of www.example.test on the lab's Knot.
pub async fn www() -> Vec<IpAddr> {
    let server: SocketAddr = KNOT.parse().unwrap();
    let answers = vigie::drp::dns::current(&[server], "www.example.test").await;
    answers
        .first()
        .and_then(|a| a.answer.as_ref().ok())
        .map(|a| a.a.addresses.clone())
        .unwrap_or_default()
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A command's exit code, stdout and stderr, for an assertion's message.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The journal lines of the lab site in the state directory `state` (`XDG_STATE_HOME`).
pub fn journal(state: &Path) -> Vec<Value> {
    std::fs::read_to_string(state.join("vigie/lab/journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
