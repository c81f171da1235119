use super::*;
use crate::probe::parse::repl::section;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/repl/", $name))
    };
}

fn online(st: &ClusterStatus) -> Vec<&str> {
    st.nodes
        .iter()
        .filter(|n| n.online)
        .map(|n| n.name.as_str())
        .collect()
}

fn offline(st: &ClusterStatus) -> Vec<&str> {
    st.nodes
        .iter()
        .filter(|n| !n.online)
        .map(|n| n.name.as_str())
        .collect()
}

#[test]
fn pacemaker_2_1_xml_healthy_nodes_and_a_recorded_failure() {
    let body = section(&[
        ("name", "webcluster", 0),
        ("xml", fixture!("crm_mon_2.1.5_xml_failure.xml"), 0),
    ]);
    let st = parse(&body).unwrap();
    assert_eq!(st.name.as_deref(), Some("webcluster"));
    assert_eq!(online(&st), ["100.100.1.1", "100.100.1.2", "100.100.1.3"]);
    assert_eq!(st.dc.as_deref(), Some("100.100.1.2"));
    assert_eq!(st.quorum, Some(true));
    assert_eq!(st.active, 1);
    assert!(st.failed.is_empty() && st.unmanaged.is_empty() && !st.maintenance);
    assert_eq!(
        st.failed_actions,
        ["cloudcenter_res_stop_0 on 100.100.1.1: error"]
    );
}

#[test]
fn pacemaker_1_1_xml_with_a_node_offline() {
    let body = section(&[("xml", fixture!("crm_mon_1.1.20_as-xml_offline.xml"), 0)]);
    let st = parse(&body).unwrap();
    assert_eq!(st.name, None);
    assert_eq!(online(&st), ["smc7-m11"]);
    assert_eq!(offline(&st), ["smc8-m11"]);
    assert!(st.nodes.iter().all(|n| n.kind == NodeKind::Member));
    // Resources are counted under <resources> only, not again in <node_history>.
    assert_eq!(st.active, 6);
    assert!(st.failed_actions.is_empty());
}

#[test]
fn pacemaker_2_0_legacy_xml_with_failed_actions() {
    let body = section(&[("xml", fixture!("crm_mon_2.0.0_as-xml_failures.xml"), 0)]);
    let st = parse(&body).unwrap();
    assert_eq!(online(&st), ["Hawk3-1", "Hawk3-2"]);
    assert_eq!(st.active, 2);
    assert_eq!(
        st.failed_actions,
        [
            "ddd_start_0 on Hawk3-2: not installed",
            "ddd_start_0 on Hawk3-1: not installed"
        ]
    );
}

#[test]
fn a_stopped_cluster_is_down() {
    // 2.x through XML: the error is inside the XML (exit 102).
    let body = section(&[("xml", fixture!("crm_mon_2_xml_not_connected.xml"), 102)]);
    let Err(ReplError::Down(why)) = parse(&body) else {
        panic!("{:?}", parse(&body));
    };
    assert!(why.contains("cluster is not available"), "{why}");
    // 1.1 tried both XML options, then text: the last answer counts.
    let body = section(&[
        ("xml", "crm_mon: unrecognized option '--output-as=xml'", 64),
        ("xml", fixture!("crm_mon_2.0.5_not_running.txt"), 102),
    ]);
    assert!(matches!(parse(&body), Err(ReplError::Down(_))));
    let body = section(&[("text", "sudo: a password is required", 1)]);
    assert!(matches!(parse(&body), Err(ReplError::Blind(w)) if w.contains("sudo")));
    assert!(matches!(parse(""), Err(ReplError::Parse(_))));
}

#[test]
fn pacemaker_2_text_offline_and_failed_actions() {
    let st = parse(&section(&[(
        "text",
        fixture!("crm_mon_2.0.5_text_ok.txt"),
        0,
    )]))
    .unwrap();
    assert_eq!(online(&st), ["pcmk-1", "pcmk-2"]);
    assert_eq!(
        (st.dc.as_deref(), st.quorum, st.active),
        (Some("pcmk-2"), Some(true), 1)
    );

    let st = parse(&section(&[(
        "text",
        fixture!("crm_mon_2.0.5_text_offline.txt"),
        0,
    )]))
    .unwrap();
    assert_eq!(online(&st), ["pcmk-2"]);
    assert_eq!(offline(&st), ["pcmk-1"]);

    let st = parse(&section(&[(
        "text",
        fixture!("crm_mon_2.0.5_text_failed.txt"),
        0,
    )]))
    .unwrap();
    assert_eq!(st.nodes.len(), 2);
    assert_eq!(
        st.failed_actions,
        ["centreontrapd_start_0 on @CENTRAL_MASTER_NAME@: not running"]
    );
    // 6 group members started, 2+2+2 clone instances; the two stopped members are not failed.
    assert_eq!(st.active, 12);
    assert!(st.failed.is_empty());
}

#[test]
fn pacemaker_1_1_text() {
    let st = parse(&section(&[(
        "text",
        fixture!("crm_mon_1.1.20_text_ok.txt"),
        0,
    )]))
    .unwrap();
    assert_eq!(online(&st), ["ssc-vm-0018"]);
    assert_eq!(st.dc.as_deref(), Some("ssc-vm-0018"));

    let st = parse(&section(&[(
        "text",
        fixture!("crm_mon_1.1_text_failed.txt"),
        0,
    )]))
    .unwrap();
    assert_eq!(online(&st), ["azibmdb01", "azibmdb02"]);
    assert_eq!(st.quorum, None, "this excerpt has no DC line");
    assert_eq!(
        st.failed_actions,
        ["rsc_Db2_db2ptr_PTR_demote_0 on azibmdb01: unknown error"]
    );

    // Node states of 1.1 and 2.x text (pacemaker's own test expectations).
    let text = "Current DC: NONE\nNode cluster01: UNCLEAN (offline)\n  * Node cluster02: standby\n\
                Online: [ cluster02 ]\n  * mysql\t(lsb:mysql):\t FAILED cluster02 (unmanaged)\n";
    let st = parse(&section(&[("text", text, 0)])).unwrap();
    assert_eq!(st.dc, None);
    assert!(st.nodes[0].unclean && !st.nodes[0].online);
    assert!(st.nodes[1].standby && st.nodes[1].online);
    assert_eq!(st.failed, ["mysql"]);
    assert_eq!(st.unmanaged, ["mysql"]);
    assert!(matches!(
        parse(&section(&[("text", "garbage", 0)])),
        Err(ReplError::Parse(_))
    ));
}

#[test]
fn heartbeat_v1() {
    // Strings of heartbeat 3.0.6 tools/cl_status.c.
    let body = section(&[
        (
            "hbstatus",
            fixture!("cl_status_3.0.6_hbstatus_running.txt"),
            0,
        ),
        ("nodes", "node1\nnode2\n10.0.0.254", 0),
        ("node node1", "active", 0),
        ("node node2", "dead", 1),
        ("node 10.0.0.254", "ping", 0),
        ("resources", "all", 0),
    ]);
    let st = parse(&body).unwrap();
    assert!(st.heartbeat);
    assert_eq!(online(&st), ["node1", "10.0.0.254"]);
    assert_eq!(offline(&st), ["node2"]);
    assert_eq!(st.nodes[2].kind, NodeKind::Ping);
    assert_eq!(st.resources_held.as_deref(), Some("all"));

    let body = section(&[(
        "hbstatus",
        fixture!("cl_status_3.0.6_hbstatus_stopped.txt"),
        1,
    )]);
    assert_eq!(
        parse(&body),
        Err(ReplError::Down("heartbeat is stopped on this node".into()))
    );
    let body = section(&[(
        "hbstatus",
        "Heartbeat is apparently running on this machine, but refuses my connection",
        0,
    )]);
    assert!(matches!(parse(&body), Err(ReplError::Blind(_))));
}

proptest::proptest! {
    #[test]
    fn never_panics(s in proptest::prelude::any::<String>()) {
        let _ = parse(&s);
        for name in ["xml", "text", "hbstatus", "nodes", "node x"] {
            let _ = parse(&section(&[(name, &s, 0)]));
            let _ = parse(&section(&[(name, &s, 1)]));
        }
        let _ = parse(&section(&[("xml", &format!("<pacemaker-result><summary/><nodes><node name=\"{s}\"/></nodes>{s}"), 0)]));
    }

    #[test]
    fn text_shaped_input_never_panics(s in "((\\s*\\* )?(Online|OFFLINE|Node [a-z]+|Current DC|Failed Actions|[a-z]+\\t\\([a-z:]+\\)):[ a-zA-Z\\[\\]()'*]{0,30}\n){0,8}") {
        let _ = parse(&section(&[("text", &s, 0)]));
    }
}
