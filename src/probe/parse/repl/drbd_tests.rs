use super::*;
use crate::probe::parse::repl::section;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/repl/", $name))
    };
}

fn v8(proc: &str, config: &str) -> DrbdStatus {
    parse(&section(&[("proc", proc, 0), ("config", config, 0)])).unwrap()
}

#[test]
fn drbd8_connected_named_from_the_configuration() {
    let st = v8(fixture!("proc_drbd_8.4.10_connected.txt"), "r0 0 \n");
    assert_eq!(
        (st.version.as_deref(), st.major()),
        (Some("8.4.10"), Some(8))
    );
    let r = &st.resources[0];
    assert_eq!(r.name, "r0");
    assert_eq!(
        (r.role.as_deref(), r.disks.as_slice()),
        (Some("Primary"), &["UpToDate".to_string()][..])
    );
    let p = &r.peers[0];
    assert!(p.connected());
    assert_eq!(p.role.as_deref(), Some("Secondary"));
    assert_eq!(
        (p.replication.as_slice(), p.disks.as_slice()),
        (
            &["Established".to_string()][..],
            &["UpToDate".to_string()][..]
        )
    );
    assert!(st.down.is_empty());
}

#[test]
fn drbd8_resync_both_sides() {
    let st = v8(fixture!("proc_drbd_8.4.10_syncsource.txt"), "");
    let p = &st.resources[0].peers[0];
    assert_eq!(
        st.resources[0].name, "minor0",
        "no configuration: the minor"
    );
    assert_eq!(p.replication, ["SyncSource"]);
    assert_eq!(p.disks, ["Inconsistent"]);
    assert_eq!(p.done, Some(6.9));

    let st = v8(fixture!("proc_drbd_8.3.12_synctarget.txt"), "data 1\n");
    let r = &st.resources[0];
    assert_eq!(r.name, "data");
    assert_eq!(r.disks, ["Inconsistent"]);
    assert_eq!(r.peers[0].replication, ["SyncTarget"]);
    assert_eq!(r.peers[0].done, Some(50.0));
}

#[test]
fn drbd8_disconnected_and_split_brain() {
    let st = v8(
        fixture!("proc_drbd_8.4.0_standalone_split_brain.txt"),
        "r0 0\nr1 1\n",
    );
    let p = &st.resources[0].peers[0];
    assert_eq!(p.connection, "StandAlone");
    assert!(!p.connected());
    assert_eq!(p.disks, ["DUnknown"]);
    assert_eq!(st.down, ["r1"], "configured, not up");

    let st = v8(fixture!("proc_drbd_8.4.11_wfconnection.txt"), "r0 0\n");
    assert_eq!(st.resources[0].peers[0].connection, "WFConnection");
    assert_eq!(st.resources[0].role.as_deref(), Some("Secondary"));

    let st = v8(
        "version: 8.4.11 (api:1/proto:86-101)\n 3: cs:Unconfigured\n",
        "r3 3\n",
    );
    assert!(st.resources[0].unconfigured && st.resources[0].peers.is_empty());
}

fn v9(status: &str, rc: i32) -> Result<DrbdStatus, ReplError> {
    parse(&section(&[
        ("proc", fixture!("proc_drbd_9.0.32.txt"), 0),
        ("config", "wwwdata 1\n", 0),
        ("status", status, rc),
    ]))
}

#[test]
fn drbd9_states() {
    let st = v9(fixture!("drbdadm_status_9_ok.txt"), 0).unwrap();
    assert_eq!(st.major(), Some(9));
    let r = &st.resources[0];
    assert_eq!(
        (r.name.as_str(), r.role.as_deref()),
        ("wwwdata", Some("Primary"))
    );
    assert_eq!(r.peers[0].name, "pcmk-2");
    assert!(r.peers[0].connected());
    assert_eq!(r.peers[0].replication, ["Established"]);
    assert!(st.down.is_empty());

    let st = v9(fixture!("drbdadm_status_9_connecting.txt"), 0).unwrap();
    assert_eq!(st.resources[0].peers[0].connection, "Connecting");
    assert_eq!(st.resources[0].disks, ["Inconsistent"]);

    let st = v9(fixture!("drbdadm_status_9_syncsource.txt"), 0).unwrap();
    assert_eq!(st.resources[0].peers[0].replication, ["SyncSource"]);

    let st = v9(fixture!("drbdadm_status_9_synctarget.txt"), 0).unwrap();
    let r = &st.resources[0];
    assert_eq!(r.peers.len(), 2);
    assert_eq!(r.peers[0].done, Some(51.52));
    assert_eq!(r.peers[1].disks, ["Diskless"]);
    assert_eq!(st.down, ["wwwdata"], "configured here, not in the status");

    let st = v9(fixture!("drbdadm_status_9_standalone_outdated.txt"), 0).unwrap();
    let r = &st.resources[0];
    assert!(r.quorum_lost);
    assert_eq!(r.disks, ["Outdated"]);
    assert_eq!(r.peers[0].connection, "StandAlone");
}

#[test]
fn drbd9_volumes_down_resources_and_failures() {
    // Multi-volume layout of drbdsetup status (drbd-utils 9).
    let text = "r0 role:Primary suspended:user\n  volume:0 disk:UpToDate\n  volume:1 disk:UpToDate\n  \
                bob role:Secondary\n    volume:0 peer-disk:UpToDate\n    volume:1 replication:PausedSyncS peer-disk:Inconsistent\n\
                r1: No such resource\n";
    let st = v9(text, 10).unwrap();
    let r = &st.resources[0];
    assert_eq!(r.disks.len(), 2);
    assert_eq!(r.suspended.as_deref(), Some("user"));
    assert_eq!(r.peers[0].replication, ["Established", "PausedSyncS"]);
    assert_eq!(st.down, ["r1", "wwwdata"]);

    assert!(matches!(
        v9("drbdsetup: Operation not permitted", 1),
        Err(ReplError::Blind(w)) if w.contains("permission")
    ));
    let st = v9("# No currently configured DRBD found.", 0).unwrap();
    assert!(st.resources.is_empty());
}

#[test]
fn drbd_missing() {
    assert!(matches!(parse(""), Err(ReplError::Down(w)) if w.contains("not present")));
    assert!(matches!(
        parse(&section(&[("config", "r0 0", 0)])),
        Err(ReplError::Down(w)) if w.contains("module not loaded")
    ));
    assert!(matches!(
        parse(&section(&[("proc", fixture!("proc_drbd_9.0.32.txt"), 0)])),
        Err(ReplError::Blind(w)) if w.contains("drbdadm")
    ));
    assert!(matches!(
        parse(&section(&[("proc", "nonsense", 0)])),
        Err(ReplError::Parse(_))
    ));
}

proptest::proptest! {
    #[test]
    fn never_panics(s in proptest::prelude::any::<String>()) {
        let _ = parse(&s);
        let _ = parse(&section(&[("proc", &format!("version: 8.4.1\n{s}"), 0), ("config", &s, 0)]));
        let _ = v9(&s, 0);
    }

    #[test]
    fn shaped_input_never_panics(s in "( {0,6}([0-9]{1,2}: )?([a-z-]{1,6}:[A-Za-z/0-9.]{0,12} ){0,4}(sync'ed: [0-9.]{0,5}%)?\n){0,8}") {
        let _ = parse(&section(&[("proc", &format!("version: 8.4.1\n{s}"), 0)]));
        let _ = v9(&s, 0);
    }
}
