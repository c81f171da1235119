//! `app.replication.<kind>.<name>` (SPEC §4), from the `repl.<kind>` sections of the probe
//! (src/probe/repl.sh, parsed by src/probe/parse/repl/). Broken = CRIT, lagging or degraded =
//! WARN.
//!
//! The name is what an operator calls the thing:
//! - pacemaker/heartbeat: corosync's cluster_name, else "cluster";
//! - drbd: the resource (a DRBD 8 minor drbdadm does not name: "minor<N>");
//! - glusterfs: the volume, and "peers" for the trusted pool;
//! - ceph: "ceph", Ceph's own default cluster name (/etc/ceph/ceph.conf): a host belongs to
//!   one cluster, and the id must not change when the monitors cannot be reached to tell the
//!   fsid;
//! - mysql: on a replica, the channel (MySQL) or connection (MariaDB), "replica" for the
//!   default one; on a primary, "primary" (the replicas connected);
//! - postgresql: on a standby, "standby"; on a primary, each standby's application_name, or
//!   "primary" when none is connected.
//!
//! A section that cannot be read gives one check `app.replication.<kind>`: UNKNOWN when Vigie
//! could not look (tool missing, permission, time-out), CRIT when the system is absent or down.
//! The kind is configured for the host, so it is expected there: "DRBD not present" is a
//! broken replication, not an unconfigured one.

use super::host::{issue_check, round1};
use super::{Check, State};
use crate::config::HostConfig;
use crate::probe::parse::repl::{
    ReplError, ceph::CephStatus, cluster::ClusterStatus, cluster::NodeKind, drbd::DrbdStatus,
    drbd::Resource, gluster::GlusterStatus, gluster::Volume,
};
use crate::probe::parse::repl::{ceph, cluster, drbd, gluster, mysql, postgres};
use crate::probe::report::{ProbeReport, SectionIssue};
pub use db::limits;
use db::{mysql_checks, pg_checks};

// The databases (MySQL/MariaDB, PostgreSQL): their lag limits and checks.
#[path = "replication_db.rs"]
mod db;

/// The checks of one host's probe report.
pub fn evaluate(host: &HostConfig, report: &ProbeReport) -> Vec<Check> {
    host.apps
        .replication
        .iter()
        .flat_map(|kind| kind_checks(kind, report))
        .collect()
}

fn label(kind: &str) -> &'static str {
    match kind {
        "heartbeat" => "Heartbeat",
        "pacemaker" => "Pacemaker",
        "drbd" => "DRBD",
        "glusterfs" => "GlusterFS",
        "ceph" => "Ceph",
        "mysql" => "MySQL",
        "postgresql" => "PostgreSQL",
        _ => "replication",
    }
}

fn kind_checks(kind: &str, report: &ProbeReport) -> Vec<Check> {
    let base = format!("app.replication.{kind}");
    let what = label(kind);
    let section = match report.section(&format!("repl.{kind}")) {
        Ok(s) => s,
        Err(SectionIssue::Absent) => {
            return vec![Check::new(
                base,
                State::Crit,
                format!("{what} not present on this host"),
            )];
        }
        Err(issue) => return issue_check(&base, what, &issue).into_iter().collect(),
    };
    let body = section.body.as_str();
    let checks = match kind {
        "heartbeat" | "pacemaker" => cluster::parse(body).map(|s| vec![cluster_check(&base, &s)]),
        "drbd" => drbd::parse(body).map(|s| drbd_checks(&base, &s)),
        "glusterfs" => gluster::parse(body).map(|s| gluster_checks(&base, &s)),
        "ceph" => ceph::parse(body).map(|s| vec![ceph_check(&base, &s)]),
        "mysql" => mysql::parse(body).map(|s| mysql_checks(&base, &s)),
        "postgresql" => postgres::parse(body).map(|s| pg_checks(&base, &s)),
        _ => return Vec::new(),
    };
    checks.unwrap_or_else(|e| {
        let state = match e {
            ReplError::Down(_) => State::Crit,
            ReplError::Blind(_) | ReplError::Parse(_) => State::Unknown,
        };
        vec![Check::new(base, state, format!("{what}: {e}"))]
    })
}

/// "a, b, c +2 more".
fn list<S: AsRef<str>>(items: &[S]) -> String {
    let shown: Vec<&str> = items.iter().take(3).map(AsRef::as_ref).collect();
    match items.len().saturating_sub(3) {
        0 => shown.join(", "),
        more => format!("{} +{more} more", shown.join(", ")),
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Problems found, worst first, into one check.
struct Findings {
    state: State,
    crit: Vec<String>,
    warn: Vec<String>,
}

impl Findings {
    fn new() -> Self {
        Findings {
            state: State::Ok,
            crit: Vec::new(),
            warn: Vec::new(),
        }
    }

    fn crit(&mut self, what: String) {
        self.state = self.state.worst(State::Crit);
        self.crit.push(what);
    }

    fn warn(&mut self, what: String) {
        self.state = self.state.worst(State::Warn);
        self.warn.push(what);
    }

    /// The problems, or `ok` when there is none.
    fn check(self, id: String, ok: String) -> Check {
        if self.crit.is_empty() && self.warn.is_empty() {
            return Check::new(id, self.state, ok);
        }
        let all: Vec<String> = self.crit.into_iter().chain(self.warn).collect();
        Check::new(id, self.state, all.join("; "))
    }
}

fn cluster_check(base: &str, st: &ClusterStatus) -> Check {
    let id = format!("{base}.{}", st.name.as_deref().unwrap_or("cluster"));
    let mut f = Findings::new();
    let names = |pred: &dyn Fn(&cluster::Node) -> bool| -> Vec<&str> {
        st.nodes
            .iter()
            .filter(|n| pred(n))
            .map(|n| n.name.as_str())
            .collect()
    };
    let unclean = names(&|n| n.unclean);
    let offline = names(&|n| n.kind == NodeKind::Member && !n.online && !n.unclean);
    if !unclean.is_empty() {
        f.crit(format!("{} UNCLEAN (not fenced)", list(&unclean)));
    }
    if !offline.is_empty() {
        f.crit(format!("{} offline", list(&offline)));
    }
    if st.quorum == Some(false) {
        f.crit("partition WITHOUT quorum".into());
    }
    if !st.failed.is_empty() {
        f.crit(format!("failed: {}", list(&st.failed)));
    }
    let others_off = names(&|n| n.kind != NodeKind::Member && !n.online);
    if !others_off.is_empty() {
        f.warn(format!("{} offline", list(&others_off)));
    }
    let standby = names(&|n| n.online && n.standby);
    if !standby.is_empty() {
        f.warn(format!("{} standby", list(&standby)));
    }
    let maintenance = names(&|n| n.online && n.maintenance);
    if !maintenance.is_empty() {
        f.warn(format!("{} in maintenance", list(&maintenance)));
    }
    let pending = names(&|n| n.online && n.pending);
    if !pending.is_empty() {
        f.warn(format!("{} joining", list(&pending)));
    }
    if st.maintenance {
        f.warn("cluster in maintenance mode".into());
    }
    if !st.heartbeat && st.dc.is_none() && st.quorum.is_some() {
        f.warn("no DC elected".into());
    }
    if !st.unmanaged.is_empty() {
        f.warn(format!("unmanaged: {}", list(&st.unmanaged)));
    }
    if let Some(first) = st.failed_actions.first() {
        f.warn(format!(
            "{} ({first})",
            plural(st.failed_actions.len(), "failed action", "failed actions")
        ));
    }
    if st.resources_held.as_deref() == Some("transition") {
        f.warn("resources in transition".into());
    }
    let members = st.nodes.iter().filter(|n| n.kind != NodeKind::Ping).count();
    let ok = if st.heartbeat {
        let held = st
            .resources_held
            .as_deref()
            .map(|r| format!(", this node holds {r} resources"))
            .unwrap_or_default();
        format!("{} active{held}", plural(members, "node", "nodes"))
    } else {
        let dc = st
            .dc
            .as_deref()
            .map(|d| format!(", DC {d}"))
            .unwrap_or_default();
        format!(
            "{} online, {} active{dc}",
            plural(members, "node", "nodes"),
            plural(st.active, "resource", "resources")
        )
    };
    f.check(id, ok)
}

const RESYNC: [&str; 9] = [
    "SyncSource",
    "SyncTarget",
    "PausedSyncS",
    "PausedSyncT",
    "StartingSyncS",
    "StartingSyncT",
    "WFBitMapS",
    "WFBitMapT",
    "WFSyncUUID",
];

fn drbd_checks(base: &str, st: &DrbdStatus) -> Vec<Check> {
    let v9 = st.major().is_some_and(|m| m >= 9);
    let mut out: Vec<Check> = st
        .resources
        .iter()
        .map(|r| drbd_resource(base, r, v9))
        .collect();
    out.extend(st.down.iter().map(|n| {
        Check::new(
            format!("{base}.{n}"),
            State::Crit,
            "down (configured, not running)",
        )
    }));
    if out.is_empty() {
        out.push(Check::new(
            base,
            State::Crit,
            "no DRBD resource configured or up",
        ));
    }
    out
}

fn drbd_resource(base: &str, r: &Resource, v9: bool) -> Check {
    let id = format!("{base}.{}", r.name);
    if r.unconfigured {
        return Check::new(id, State::Crit, "down (unconfigured)");
    }
    let mut f = Findings::new();
    let mut progress = None;
    if let Some(s) = &r.suspended {
        f.crit(format!("I/O suspended ({s})"));
    }
    if r.quorum_lost {
        f.crit("quorum lost".into());
    }
    let syncing = r
        .peers
        .iter()
        .any(|p| p.replication.iter().any(|x| RESYNC.contains(&x.as_str())));
    for d in &r.disks {
        match d.as_str() {
            "UpToDate" => {}
            "Inconsistent" if syncing => {}
            "Diskless" | "Failed" | "Outdated" | "Inconsistent" => f.crit(format!("disk {d}")),
            other => f.warn(format!("disk {other}")),
        }
    }
    if r.peers.is_empty() {
        f.crit("no peer configured".into());
    }
    for p in &r.peers {
        if !p.connected() {
            let why = if p.connection == "StandAlone" {
                " (split-brain, or disconnected by hand)"
            } else {
                ""
            };
            f.crit(format!("{} {}{why}", p.name, p.connection));
            continue;
        }
        let pct = p.done.map(|d| format!(" {d:.1} %")).unwrap_or_default();
        for rep in &p.replication {
            match rep.as_str() {
                "Established" | "Off" | "VerifyS" | "VerifyT" => {}
                x if RESYNC.contains(&x) => {
                    let dir = if x.ends_with('T') || x == "SyncTarget" {
                        "from"
                    } else {
                        "to"
                    };
                    progress = progress.or(p.done);
                    f.warn(format!("resync {dir} {}{pct} ({x})", p.name));
                }
                other => f.warn(format!("{} {other}", p.name)),
            }
        }
        for d in &p.disks {
            match d.as_str() {
                "UpToDate" => {}
                // DRBD 9 diskless clients are peers by design; a DRBD 8 peer has lost its disk.
                "Diskless" if v9 => {}
                "Inconsistent" if syncing => {}
                "Diskless" | "Failed" | "Outdated" | "Inconsistent" => {
                    f.crit(format!("{} disk {d}", p.name));
                }
                other => f.warn(format!("{} disk {other}", p.name)),
            }
        }
    }
    f.warn.dedup();
    let role = r.role.as_deref().unwrap_or("?");
    let peers: Vec<String> = r
        .peers
        .iter()
        .map(|p| match &p.role {
            Some(role) => format!("{} {role}", p.name),
            None => p.name.clone(),
        })
        .collect();
    let ok = format!(
        "{role} {}, connected to {}",
        r.disks.join("/"),
        list(&peers)
    );
    let check = f.check(id, ok);
    match progress {
        Some(p) => check.with_value(round1(p), "%"),
        None => check,
    }
}

fn gluster_checks(base: &str, st: &GlusterStatus) -> Vec<Check> {
    let mut out = Vec::new();
    let down: Vec<String> = st
        .peers
        .iter()
        .filter(|p| !p.connected() || !p.in_cluster())
        .map(|p| format!("{} {}", p.host, p.state))
        .collect();
    let connected = st.peers.len() - down.len();
    out.push(match (st.peers.len(), down.is_empty()) {
        (0, _) => Check::new(
            format!("{base}.peers"),
            State::Ok,
            "no peer (single server)",
        ),
        (n, true) => Check::new(
            format!("{base}.peers"),
            State::Ok,
            format!("{} connected", plural(n, "peer", "peers")),
        ),
        (n, false) => Check::new(
            format!("{base}.peers"),
            State::Crit,
            format!("{connected} of {n} peers connected; {}", list(&down)),
        ),
    });
    out.extend(st.volumes.iter().map(|v| gluster_volume(base, v)));
    if st.volumes.is_empty() {
        out.push(Check::new(base, State::Warn, "no volume defined"));
    }
    out
}

fn gluster_volume(base: &str, v: &Volume) -> Check {
    let id = format!("{base}.{}", v.name);
    if !v.started() {
        return Check::new(id, State::Crit, format!("volume {}", v.status));
    }
    let mut f = Findings::new();
    // A brick missing from `volume status` belongs to a server that is down.
    let offline: Vec<&str> = v
        .bricks
        .iter()
        .filter(|b| b.online == Some(false) || (b.online.is_none() && v.status_read))
        .map(|b| b.name.as_str())
        .collect();
    let total = v.bricks.len();
    if !offline.is_empty() {
        f.crit(format!(
            "{} of {total} bricks offline: {}",
            offline.len(),
            list(&offline)
        ));
    } else if !v.status_read {
        let unreachable: Vec<&str> = v
            .heal
            .iter()
            .filter(|h| h.status.as_deref().is_some_and(|s| s != "Connected"))
            .map(|h| h.brick.as_str())
            .collect();
        if !unreachable.is_empty() {
            f.crit(format!("bricks not connected: {}", list(&unreachable)));
        }
    }
    // Counts come from the remote host: summed without overflow.
    let split: u64 = v
        .heal
        .iter()
        .filter_map(|h| h.split_brain)
        .fold(0, u64::saturating_add);
    let pending: u64 = v
        .heal
        .iter()
        .filter_map(|h| h.pending)
        .fold(0, u64::saturating_add);
    if split > 0 {
        f.crit(format!("{split} entries in split-brain"));
    }
    if pending > split {
        f.warn(format!("{} entries to heal", pending - split));
    }
    if !v.daemons_down.is_empty() {
        f.warn(format!(
            "self-heal daemon down on {}",
            list(&v.daemons_down)
        ));
    }
    let heal = if v.redundant() && !v.heal.is_empty() {
        ", nothing to heal"
    } else {
        ""
    };
    let mut ok = if v.status_read {
        format!("{}, {total}/{total} bricks online{heal}", v.kind)
    } else {
        format!("{}, brick status not read{heal}", v.kind)
    };
    let mut check_state_floor = State::Ok;
    if let Some(note) = &v.heal_note {
        ok = format!("{ok} ({note})");
        if !note.starts_with("heal not read") {
            check_state_floor = State::Unknown;
        }
    }
    let mut check = f.check(id, ok);
    check.state = check.state.worst(check_state_floor);
    check
}

fn ceph_check(base: &str, st: &CephStatus) -> Check {
    let id = format!("{base}.ceph");
    let state = match st.health.as_str() {
        "HEALTH_OK" => State::Ok,
        "HEALTH_WARN" => State::Warn,
        "HEALTH_ERR" => State::Crit,
        _ => State::Unknown,
    };
    if state == State::Ok || st.checks.is_empty() {
        let mut parts = vec![st.health.clone()];
        if let Some((total, up, _)) = st.osds {
            parts.push(format!("{up}/{total} OSDs up"));
        }
        if let Some((total, clean)) = st.pgs {
            parts.push(format!("{clean}/{total} PGs active+clean"));
        }
        return Check::new(id, state, parts.join(", "));
    }
    let messages: Vec<&str> = st.checks.iter().map(|c| c.message.as_str()).collect();
    let shown = messages
        .iter()
        .take(2)
        .copied()
        .collect::<Vec<_>>()
        .join("; ");
    let more = match messages.len().saturating_sub(2) {
        0 => String::new(),
        n => format!(" (+{n} more)"),
    };
    Check::new(id, state, format!("{}: {shown}{more}", st.health))
}

#[cfg(test)]
#[path = "replication_tests.rs"]
mod tests;
