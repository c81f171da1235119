use super::*;
use crate::checks::host::tests::{find, host};
use crate::probe::parse::repl::section;
use crate::probe::sections::{Section, Sections};

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/repl/", $name))
    };
}

/// A report with one `repl.<kind>` section per entry (body, exit status).
pub(crate) fn report(sections: &[(&str, &str, Option<i32>)]) -> ProbeReport {
    let mut s = Sections::new();
    for (kind, body, rc) in sections {
        let name = format!("repl.{kind}");
        s.insert(
            name.clone(),
            Section {
                name,
                body: body.to_string(),
                rc: *rc,
                elapsed_ms: Some(3),
            },
        );
    }
    ProbeReport::from_sections(&s)
}

pub(crate) fn checks(kind: &str, body: &str) -> Vec<Check> {
    let mut h = host(&[]);
    h.apps.replication = vec![kind.to_string()];
    evaluate(&h, &report(&[(kind, body, Some(0))]))
}

pub(crate) fn one(kind: &str, body: &str) -> Check {
    let c = checks(kind, body);
    assert_eq!(c.len(), 1, "{c:#?}");
    c.into_iter().next().unwrap()
}

#[test]
fn only_configured_kinds_and_section_issues() {
    let r = report(&[
        ("drbd", "VIGIE_NOT_INSTALLED drbdadm\n", Some(127)),
        ("ceph", "", Some(124)),
        ("mysql", "VIGIE_ABSENT\n", Some(0)),
    ]);
    let mut h = host(&[]);
    assert!(evaluate(&h, &r).is_empty(), "nothing configured: no check");
    h.apps.replication = ["drbd", "ceph", "mysql", "postgresql"]
        .map(String::from)
        .to_vec();
    let c = evaluate(&h, &r);
    let drbd = find(&c, "app.replication.drbd");
    assert_eq!(
        (drbd.state, drbd.summary.as_str()),
        (State::Unknown, "drbdadm not installed")
    );
    let ceph = find(&c, "app.replication.ceph");
    assert_eq!(
        (ceph.state, ceph.summary.as_str()),
        (State::Unknown, "Ceph: timed out")
    );
    // Configured means expected: absent is broken, not "not applicable".
    assert_eq!(find(&c, "app.replication.mysql").state, State::Crit);
    let pg = find(&c, "app.replication.postgresql");
    assert_eq!(pg.state, State::Unknown);
    assert_eq!(pg.summary, "PostgreSQL: no output (probe cut short)");
}

#[test]
fn pacemaker() {
    let body = section(&[
        ("name", "webcluster", 0),
        ("xml", fixture!("crm_mon_2.1.5_xml_failure.xml"), 0),
    ]);
    let c = one("pacemaker", &body);
    assert_eq!(c.id, "app.replication.pacemaker.webcluster");
    assert_eq!(c.state, State::Warn, "a failure recorded in the history");
    assert_eq!(
        c.summary,
        "1 failed action (cloudcenter_res_stop_0 on 100.100.1.1: error)"
    );

    let c = one(
        "pacemaker",
        &section(&[("xml", fixture!("crm_mon_1.1.20_as-xml_offline.xml"), 0)]),
    );
    assert_eq!(c.id, "app.replication.pacemaker.cluster");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Crit, "smc8-m11 offline")
    );

    let c = one(
        "pacemaker",
        &section(&[("text", fixture!("crm_mon_2.0.5_text_ok.txt"), 0)]),
    );
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Ok, "2 nodes online, 1 resource active, DC pcmk-2")
    );

    let c = one(
        "pacemaker",
        &section(&[("xml", fixture!("crm_mon_2_xml_not_connected.xml"), 102)]),
    );
    assert_eq!(c.id, "app.replication.pacemaker");
    assert_eq!(c.state, State::Crit);
    assert!(
        c.summary
            .starts_with("Pacemaker: cluster stack not running on this node"),
        "{}",
        c.summary
    );
}

#[test]
fn heartbeat() {
    let body = section(&[
        (
            "hbstatus",
            fixture!("cl_status_3.0.6_hbstatus_running.txt"),
            0,
        ),
        ("nodes", "alpha\nbeta", 0),
        ("node alpha", "active", 0),
        ("node beta", "active", 0),
        ("resources", "all", 0),
    ]);
    let c = one("heartbeat", &body);
    assert_eq!(c.id, "app.replication.heartbeat.cluster");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Ok, "2 nodes active, this node holds all resources")
    );
    let body = body.replace("@@node beta\nactive\n@@rc 0", "@@node beta\ndead\n@@rc 1");
    assert_eq!(one("heartbeat", &body).summary, "beta offline");
    let stopped = section(&[(
        "hbstatus",
        fixture!("cl_status_3.0.6_hbstatus_stopped.txt"),
        1,
    )]);
    let c = one("heartbeat", &stopped);
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Crit, "Heartbeat: heartbeat is stopped on this node")
    );
}

#[test]
fn drbd_8() {
    let body = |proc: &str, config: &str| section(&[("proc", proc, 0), ("config", config, 0)]);
    let c = one(
        "drbd",
        &body(fixture!("proc_drbd_8.4.10_connected.txt"), "r0 0"),
    );
    assert_eq!(c.id, "app.replication.drbd.r0");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Ok, "Primary UpToDate, connected to peer Secondary")
    );

    let c = one(
        "drbd",
        &body(fixture!("proc_drbd_8.4.10_syncsource.txt"), "r0 0"),
    );
    assert_eq!(c.state, State::Warn);
    assert_eq!(c.summary, "resync to peer 6.9 % (SyncSource)");
    assert_eq!((c.value, c.unit), (Some(6.9), Some("%")));

    let c = one(
        "drbd",
        &body(fixture!("proc_drbd_8.3.12_synctarget.txt"), "data 1"),
    );
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Warn, "resync from peer 50.0 % (SyncTarget)")
    );

    let c = checks(
        "drbd",
        &body(
            fixture!("proc_drbd_8.4.0_standalone_split_brain.txt"),
            "r0 0\nr1 1",
        ),
    );
    let r0 = find(&c, "app.replication.drbd.r0");
    assert_eq!(r0.state, State::Crit);
    assert_eq!(
        r0.summary,
        "peer StandAlone (split-brain, or disconnected by hand)"
    );
    let r1 = find(&c, "app.replication.drbd.r1");
    assert_eq!(
        (r1.state, r1.summary.as_str()),
        (State::Crit, "down (configured, not running)")
    );

    let c = one(
        "drbd",
        &body(fixture!("proc_drbd_8.4.11_wfconnection.txt"), "r0 0"),
    );
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Crit, "peer WFConnection")
    );
}

#[test]
fn drbd_9() {
    let body = |status: &str| {
        section(&[
            ("proc", fixture!("proc_drbd_9.0.32.txt"), 0),
            ("status", status, 0),
        ])
    };
    let c = one("drbd", &body(fixture!("drbdadm_status_9_ok.txt")));
    assert_eq!(c.id, "app.replication.drbd.wwwdata");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Ok, "Primary UpToDate, connected to pcmk-2 Secondary")
    );
    let c = one("drbd", &body(fixture!("drbdadm_status_9_connecting.txt")));
    assert_eq!(c.state, State::Crit);
    assert_eq!(c.summary, "disk Inconsistent; pcmk-2 Connecting");
    let c = one("drbd", &body(fixture!("drbdadm_status_9_syncsource.txt")));
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Warn, "resync to pcmk-2 (SyncSource)")
    );
    // Diskless peers are DRBD 9 clients: not a problem.
    let c = one("drbd", &body(fixture!("drbdadm_status_9_synctarget.txt")));
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Warn, "resync from m10c17 51.5 % (SyncTarget)")
    );
    let c = one(
        "drbd",
        &body(fixture!("drbdadm_status_9_standalone_outdated.txt")),
    );
    assert_eq!(c.state, State::Crit);
    assert_eq!(
        c.summary,
        "quorum lost; disk Outdated; m10c27 StandAlone (split-brain, or disconnected by hand)"
    );
}

#[test]
fn drbd_absent_is_broken() {
    // No /proc/drbd and no drbdadm: the real output of repl.sh on a host without DRBD.
    let c = one("drbd", "");
    assert_eq!(c.id, "app.replication.drbd");
    assert_eq!(c.state, State::Crit);
    assert_eq!(
        c.summary,
        "DRBD: DRBD not present (no /proc/drbd, no drbdadm)"
    );
}

#[test]
fn glusterfs() {
    let c = checks(
        "glusterfs",
        &section(&[
            ("peers", fixture!("gluster_peer_status_disconnected.txt"), 0),
            ("info", fixture!("gluster_volume_info_replica4.txt"), 0),
            (
                "status",
                fixture!("gluster_volume_status_replica4_brick_missing.txt"),
                0,
            ),
            ("heal test", fixture!("gluster_heal_summary_pending.txt"), 0),
        ]),
    );
    let peers = find(&c, "app.replication.glusterfs.peers");
    assert_eq!(peers.state, State::Crit);
    assert_eq!(
        peers.summary,
        "1 of 2 peers connected; 10.6.80.122 Peer in Cluster (Disconnected)"
    );
    let v = find(&c, "app.replication.glusterfs.test");
    assert_eq!(v.state, State::Crit);
    assert_eq!(
        v.summary,
        "1 of 4 bricks offline: 10.10.1.223:/volume/test_0; 6783 entries to heal"
    );

    let c = checks(
        "glusterfs",
        &section(&[
            ("peers", fixture!("gluster_peer_status_connected.txt"), 0),
            ("info", fixture!("gluster_volume_info_sample.txt"), 0),
            ("status", fixture!("gluster_volume_status_sample.txt"), 0),
        ]),
    );
    assert_eq!(
        find(&c, "app.replication.glusterfs.peers").summary,
        "1 peer connected"
    );
    let v = find(&c, "app.replication.glusterfs.sample");
    assert_eq!(
        (v.state, v.summary.as_str()),
        (State::Ok, "Distribute, 1/1 bricks online")
    );

    let down = section(&[("peers", fixture!("gluster_glusterd_down.txt"), 1)]);
    let c = one("glusterfs", &down);
    assert_eq!(
        (c.id.as_str(), c.state),
        ("app.replication.glusterfs", State::Crit)
    );
}

#[test]
fn glusterfs_split_brain_and_pending_heal() {
    let mut v = Volume {
        name: "replica2".into(),
        kind: "Replicate".into(),
        status: "Started".into(),
        status_read: true,
        ..Volume::default()
    };
    let part = |text: &'static str, name| crate::probe::parse::repl::Part {
        name,
        arg: "replica2",
        text: text.into(),
        rc: Some(0),
    };
    let info = part(fixture!("gluster_heal_info_split_brain.txt"), "heal");
    let split = part(
        fixture!("gluster_heal_info_split_brain_list.txt"),
        "split-brain",
    );
    let body = section(&[
        ("peers", "Number of Peers: 0", 0),
        (
            "info",
            "Volume Name: replica2\nType: Replicate\nStatus: Started\n\
             Brick1: glusterfs-node1:/glusterfs/replica/brick1\nBrick2: glusterfs-node2:/glusterfs/replica/brick1",
            0,
        ),
        (
            "status",
            "Status of volume: replica2\n\
             Brick glusterfs-node1:/glusterfs/replica/brick1   49152  0  Y  100\n\
             Brick glusterfs-node2:/glusterfs/replica/brick1   49152  0  Y  101",
            0,
        ),
        ("heal replica2", &info.text, 0),
        ("split-brain replica2", &split.text, 0),
    ]);
    let c = checks("glusterfs", &body);
    let vol = find(&c, "app.replication.glusterfs.replica2");
    assert_eq!(vol.state, State::Crit);
    assert_eq!(vol.summary, "2 entries in split-brain; 8 entries to heal");
    v.heal_note = Some("heal not read: time budget of 10 s spent".into());
    let c = gluster_volume("app.replication.glusterfs", &v);
    assert_eq!(c.state, State::Ok, "skipped for time: said, not judged");
    assert!(
        c.summary
            .ends_with("(heal not read: time budget of 10 s spent)")
    );
}

#[test]
fn ceph() {
    let body = |json: &str, rc| section(&[("status", json, rc)]);
    let c = one(
        "ceph",
        &body(fixture!("ceph_status_14_nautilus_ok.json"), 0),
    );
    assert_eq!(c.id, "app.replication.ceph.ceph");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Ok, "HEALTH_OK, 3/3 OSDs up, 96/96 PGs active+clean")
    );
    let c = one(
        "ceph",
        &body(fixture!("ceph_status_12.1.3_luminous_warn.json"), 0),
    );
    assert_eq!(c.state, State::Warn);
    assert!(
        c.summary.starts_with("HEALTH_WARN: ") && c.summary.ends_with("(+2 more)"),
        "{}",
        c.summary
    );
    let c = one("ceph", &body(fixture!("ceph_status_jewel_warn.json"), 0));
    assert_eq!(
        (c.state, c.summary.as_str()),
        (
            State::Warn,
            "HEALTH_WARN: too many PGs per OSD (2048 > max 300)"
        )
    );
    let err = r#"{"health":{"checks":{"OSD_FULL":{"severity":"HEALTH_ERR","summary":{"message":"1 full osd(s)"}}},"status":"HEALTH_ERR"}}"#;
    assert_eq!(one("ceph", &body(err, 0)).state, State::Crit);
    let c = one("ceph", &body(fixture!("ceph_errno110_timed_out.txt"), 1));
    assert_eq!(
        (c.id.as_str(), c.state),
        ("app.replication.ceph", State::Crit)
    );
    let c = one("ceph", &body(fixture!("ceph_errno13_permission.txt"), 13));
    assert_eq!(c.state, State::Unknown);
}

proptest::proptest! {
    /// Any body and status for any kind: no panic, one-line summaries, ids under the kind.
    #[test]
    fn evaluate_never_panics(body in proptest::prelude::any::<String>(), rc in proptest::option::of(-1i32..200), part in 0usize..12) {
        const PARTS: [&str; 12] = ["xml", "text", "hbstatus", "proc", "status", "peers", "info",
            "replica SHOW SLAVE STATUS", "primary", "role", "standby", "heal v"];
        let name = PARTS.get(part).copied().unwrap_or("xml");
        for kind in crate::config::REPLICATION_KINDS {
            let mut h = host(&[]);
            h.apps.replication = vec![kind.to_string()];
            for b in [body.clone(), section(&[(name, &body, 0)]), section(&[("role", "t|150000", 0), (name, &body, 0)])] {
                let prefix = format!("app.replication.{kind}");
                for c in evaluate(&h, &report(&[(kind, &b, rc)])) {
                    proptest::prop_assert!(!c.summary.contains('\n'), "{:?}", c);
                    proptest::prop_assert!(c.id.starts_with(&prefix), "{:?}", c);
                }
            }
        }
    }
}
