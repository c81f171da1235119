//! `repl.drbd`: DRBD 8 from /proc/drbd (one line per minor), DRBD 9 from `drbdadm status`
//! (a block per resource), and drbdadm's configuration (`name minor…` a line) to name 8.x
//! minors and to find configured resources that are not up.

use super::{Part, ReplError, failure, last, name, parts};
use crate::probe::parse::{ParseError, finite};

/// One peer of a resource, as this node sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Peer {
    /// The peer's node name (DRBD 9), "peer" (DRBD 8).
    pub name: String,
    /// Connected, StandAlone, Connecting, WFConnection (8.x), NetworkFailure…
    pub connection: String,
    pub role: Option<String>,
    /// Per volume: Established, SyncSource, SyncTarget, PausedSyncS, VerifyS, Ahead…
    pub replication: Vec<String>,
    /// Per volume: UpToDate, Inconsistent, Outdated, Diskless, DUnknown…
    pub disks: Vec<String>,
    /// Resync or verify progress, percent.
    pub done: Option<f64>,
}

impl Peer {
    pub fn connected(&self) -> bool {
        self.connection == "Connected"
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resource {
    /// The resource name; "minor<N>" for a DRBD 8 minor drbdadm does not name.
    pub name: String,
    pub role: Option<String>,
    /// Per volume: UpToDate, Inconsistent, Outdated, Diskless, Failed…
    pub disks: Vec<String>,
    pub peers: Vec<Peer>,
    /// I/O suspended: "user", "no-data", "fencing", "quorum".
    pub suspended: Option<String>,
    /// `quorum:no` on a volume.
    pub quorum_lost: bool,
    /// DRBD 8 "cs:Unconfigured": the minor exists but the resource is down.
    pub unconfigured: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct DrbdStatus {
    /// "8.4.11", "9.2.5".
    pub version: Option<String>,
    pub resources: Vec<Resource>,
    /// Resources drbdadm has in its configuration that are not up.
    pub down: Vec<String>,
}

impl DrbdStatus {
    pub fn major(&self) -> Option<u32> {
        self.version.as_deref()?.split('.').next()?.parse().ok()
    }
}

/// `key:value` words of a line.
fn fields(line: &str) -> impl Iterator<Item = (&str, &str)> {
    line.split_whitespace().filter_map(|w| w.split_once(':'))
}

/// DRBD 8 connection states that mean connected (the replication state of DRBD 9).
const CONNECTED_8: [&str; 17] = [
    "Connected",
    "StartingSyncS",
    "StartingSyncT",
    "WFBitMapS",
    "WFBitMapT",
    "WFSyncUUID",
    "SyncSource",
    "SyncTarget",
    "PausedSyncS",
    "PausedSyncT",
    "VerifyS",
    "VerifyT",
    "Ahead",
    "Behind",
    "WFReportParams",
    "Established",
    "Off",
];

/// /proc/drbd of DRBD 8: " 0: cs:Connected ro:Primary/Secondary ds:UpToDate/UpToDate C r-----",
/// then counters, then a progress line while syncing ("sync'ed: 19.5% (…)").
fn proc_8(text: &str, names: &[(String, Vec<u32>)]) -> Vec<Resource> {
    let mut out: Vec<Resource> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some((minor, rest)) = t.split_once(": cs:")
            && let Ok(minor) = minor.trim().parse::<u32>()
        {
            let rest = format!("cs:{rest}");
            let mut r = Resource {
                name: names
                    .iter()
                    .find(|(_, m)| m.contains(&minor))
                    .map(|(n, _)| n.clone())
                    .unwrap_or_else(|| format!("minor{minor}")),
                ..Resource::default()
            };
            let mut peer = Peer {
                name: "peer".into(),
                ..Peer::default()
            };
            for (k, v) in fields(&rest) {
                let (local, remote) = v.split_once('/').unwrap_or((v, ""));
                match k {
                    "cs" if v == "Unconfigured" => r.unconfigured = true,
                    "cs" if CONNECTED_8.contains(&v) => {
                        peer.connection = "Connected".into();
                        let rep = if v == "Connected" { "Established" } else { v };
                        peer.replication.push(rep.into());
                    }
                    "cs" => peer.connection = name(v),
                    // 8.3 and older say st: for the roles.
                    "ro" | "st" => {
                        r.role = Some(name(local));
                        peer.role = (!remote.is_empty()).then(|| name(remote));
                    }
                    "ds" => {
                        r.disks.push(name(local));
                        if !remote.is_empty() {
                            peer.disks.push(name(remote));
                        }
                    }
                    _ => {}
                }
            }
            if !r.unconfigured {
                r.peers.push(peer);
            }
            // Several volumes of one resource are several minors: one resource.
            match out.iter_mut().find(|x| x.name == r.name) {
                Some(x) => {
                    x.disks.extend(r.disks);
                    if let (Some(p), Some(q)) = (x.peers.first_mut(), r.peers.into_iter().next()) {
                        if !q.connected() {
                            p.connection.clone_from(&q.connection);
                        }
                        p.replication.extend(q.replication);
                        p.disks.extend(q.disks);
                    }
                }
                None => out.push(r),
            }
        } else if let Some((_, pct)) = t
            .split_once("sync'ed:")
            .or_else(|| t.split_once("verified:"))
            && let Some(p) = pct.split('%').next().and_then(finite)
            && let Some(peer) = out.last_mut().and_then(|r| r.peers.first_mut())
        {
            peer.done = Some(p.clamp(0.0, 100.0));
        }
    }
    out
}

/// `drbdadm status` of DRBD 9: a resource line, then (indented 2) its volumes and its
/// connections, then (indented 4) each connection's peer devices.
fn status_9(text: &str) -> (Vec<Resource>, Vec<String>) {
    let mut out: Vec<Resource> = Vec::new();
    let mut missing = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if indent == 0 {
            if let Some(res) = t.strip_suffix(": No such resource") {
                missing.push(name(res));
                continue;
            }
            let first = t.split_whitespace().next().unwrap_or("");
            if first.contains(':') {
                continue;
            }
            let mut r = Resource {
                name: name(first),
                ..Resource::default()
            };
            local_fields(&mut r, t);
            out.push(r);
            continue;
        }
        let Some(r) = out.last_mut() else { continue };
        let first = t.split_whitespace().next().unwrap_or("");
        if indent <= 2 && first.contains(':') {
            local_fields(r, t);
        } else if indent <= 2 {
            let mut p = Peer {
                name: name(first),
                connection: "Connected".into(),
                ..Peer::default()
            };
            for (k, v) in fields(t) {
                match k {
                    "connection" => p.connection = name(v),
                    "role" => p.role = Some(name(v)),
                    _ => {}
                }
            }
            r.peers.push(p);
        } else if let Some(p) = r.peers.last_mut() {
            let mut replication = None;
            for (k, v) in fields(t) {
                match k {
                    "replication" => replication = Some(name(v)),
                    "peer-disk" => p.disks.push(name(v)),
                    "done" => p.done = finite(v).map(|d| d.clamp(0.0, 100.0)),
                    _ => {}
                }
            }
            // drbdsetup prints the replication state only when it is not Established.
            p.replication
                .push(replication.unwrap_or_else(|| "Established".into()));
        }
    }
    (out, missing)
}

fn local_fields(r: &mut Resource, line: &str) {
    for (k, v) in fields(line) {
        match k {
            "role" => r.role = Some(name(v)),
            "disk" => r.disks.push(name(v)),
            "suspended" if v != "no" => r.suspended = Some(name(v)),
            "quorum" if v == "no" => r.quorum_lost = true,
            _ => {}
        }
    }
}

/// The configuration part: `name minor…` a line.
fn config(part: &Part<'_>) -> Vec<(String, Vec<u32>)> {
    part.text
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let n = w.next()?;
            Some((name(n), w.filter_map(|m| m.parse().ok()).collect()))
        })
        .collect()
}

pub fn parse(body: &str) -> Result<DrbdStatus, ReplError> {
    let parts = parts(body);
    let proc = last(&parts, "proc");
    let configured = last(&parts, "config")
        .filter(|p| p.ok())
        .map(config)
        .unwrap_or_default();
    let Some(proc) = proc.filter(|p| p.ok()) else {
        return Err(ReplError::Down(if last(&parts, "config").is_some() {
            "DRBD kernel module not loaded (no /proc/drbd)".into()
        } else {
            "DRBD not present (no /proc/drbd, no drbdadm)".into()
        }));
    };
    let version = proc
        .text
        .lines()
        .find_map(|l| l.strip_prefix("version:"))
        .and_then(|v| v.split_whitespace().next())
        .map(name);
    let mut st = DrbdStatus {
        version,
        ..DrbdStatus::default()
    };
    match st.major() {
        Some(8) => st.resources = proc_8(&proc.text, &configured),
        Some(_) => {
            let Some(status) = last(&parts, "status") else {
                return Err(ReplError::Blind(
                    "drbdadm not installed: DRBD 9 tells its state through it".into(),
                ));
            };
            let (resources, missing) = status_9(&status.text);
            if resources.is_empty() && missing.is_empty() && !status.ok() {
                return Err(failure("drbdadm status", status));
            }
            st.resources = resources;
            st.down = missing;
        }
        None => return Err(ParseError::new("/proc/drbd without a version line").into()),
    }
    for (n, _) in &configured {
        if !st.resources.iter().any(|r| &r.name == n) && !st.down.contains(n) {
            st.down.push(n.clone());
        }
    }
    Ok(st)
}

#[cfg(test)]
#[path = "drbd_tests.rs"]
mod tests;
