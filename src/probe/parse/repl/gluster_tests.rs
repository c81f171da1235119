use super::*;
use crate::probe::parse::repl::section;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/repl/", $name))
    };
}

#[test]
fn healthy_single_brick_volume() {
    let st = parse(&section(&[
        ("peers", fixture!("gluster_peer_status_connected.txt"), 0),
        ("info", fixture!("gluster_volume_info_sample.txt"), 0),
        ("status", fixture!("gluster_volume_status_sample.txt"), 0),
    ]))
    .unwrap();
    assert_eq!(st.peers.len(), 1);
    assert!(st.peers[0].connected() && st.peers[0].in_cluster());
    let v = &st.volumes[0];
    assert_eq!((v.name.as_str(), v.kind.as_str()), ("sample", "Distribute"));
    assert!(v.started() && !v.redundant() && v.status_read);
    assert_eq!(
        v.bricks,
        [Brick {
            name: "labguest1.local:/brick".into(),
            online: Some(true)
        }]
    );
}

#[test]
fn a_brick_whose_server_is_down_is_missing_from_the_status() {
    let st = parse(&section(&[
        ("peers", fixture!("gluster_peer_status_disconnected.txt"), 0),
        ("info", fixture!("gluster_volume_info_replica4.txt"), 0),
        (
            "status",
            fixture!("gluster_volume_status_replica4_brick_missing.txt"),
            0,
        ),
    ]))
    .unwrap();
    assert_eq!(
        st.peers.iter().map(Peer::connected).collect::<Vec<_>>(),
        [false, true]
    );
    let v = &st.volumes[0];
    assert!(v.redundant());
    let online: Vec<Option<bool>> = v.bricks.iter().map(|b| b.online).collect();
    assert_eq!(online, [Some(true), Some(true), Some(true), None]);
    assert!(v.daemons_down.is_empty());
}

#[test]
fn wrapped_rows_and_offline_processes() {
    let mut vols = vec![Volume {
        name: "regional-volume".into(),
        kind: "Replicate".into(),
        status: "Started".into(),
        bricks: vec![
            Brick {
                name: "gluster01:/bricks/brick1/vol0".into(),
                online: None,
            },
            Brick {
                name: "gluster02:/bricks/brick1/vol0".into(),
                online: None,
            },
        ],
        ..Volume::default()
    }];
    status(fixture!("gluster_volume_status_wrapped.txt"), &mut vols);
    assert!(vols[0].bricks.iter().all(|b| b.online == Some(true)));
    assert!(
        vols[0].daemons_down.is_empty(),
        "the wrapped row is read whole"
    );

    // Gluster before 3.7 had one port column; an offline brick has N and N/A.
    let text = "Status of volume: regional-volume\nGluster process\t\t\t\t\t\tPort\tOnline\tPid\n\
                Brick gluster01:/bricks/brick1/vol0\t\t\tN/A\tN\tN/A\n\
                Self-heal Daemon on gluster02\t\t\tN/A\tN\tN/A\n";
    status(text, &mut vols);
    assert_eq!(vols[0].bricks[0].online, Some(false));
    assert_eq!(vols[0].daemons_down, ["gluster02"]);
}

#[test]
fn heal_summary_info_and_split_brain() {
    let mut v = Volume {
        name: "vol01".into(),
        ..Volume::default()
    };
    let part = |text: &str| Part {
        name: "heal",
        arg: "vol01",
        text: text.into(),
        rc: Some(0),
    };
    heal(
        &part(fixture!("gluster_heal_summary_pending.txt")),
        &mut v,
        false,
    );
    assert_eq!(v.heal.len(), 2);
    assert_eq!(v.heal[1].pending, Some(6783));
    assert_eq!(v.heal[1].split_brain, Some(0));

    let mut v = Volume::default();
    heal(
        &part(fixture!("gluster_heal_summary_disconnected.txt")),
        &mut v,
        false,
    );
    assert_eq!(
        v.heal[0].status.as_deref(),
        Some("Transport endpoint is not connected")
    );
    assert_eq!(v.heal[0].pending, None, "'-' is no count");
    assert_eq!(v.heal[1].pending, Some(0));

    // Before 3.13: `info` (entries counted) then `info split-brain`.
    let mut v = Volume::default();
    heal(
        &part(fixture!("gluster_heal_info_split_brain.txt")),
        &mut v,
        false,
    );
    heal(
        &part(fixture!("gluster_heal_info_split_brain_list.txt")),
        &mut v,
        true,
    );
    assert_eq!(v.heal.len(), 2);
    assert!(
        v.heal
            .iter()
            .all(|h| h.pending == Some(5) && h.split_brain == Some(1))
    );

    let mut v = Volume::default();
    heal(
        &part("VIGIE_SKIPPED time budget of 10 s spent"),
        &mut v,
        false,
    );
    assert_eq!(
        v.heal_note.as_deref(),
        Some("heal not read: time budget of 10 s spent")
    );
    heal(
        &Part {
            rc: Some(1),
            ..part("Volume heal failed.")
        },
        &mut v,
        false,
    );
    assert_eq!(
        v.heal_note.as_deref(),
        Some("heal info failed (exit 1): Volume heal failed.")
    );
}

#[test]
fn the_last_heal_answer_counts() {
    let body = section(&[
        ("peers", "Number of Peers: 0", 0),
        ("info", fixture!("gluster_volume_info_sample.txt"), 0),
        (
            "heal sample",
            "Usage:\nvolume heal <VOLNAME> [enable | disable | full |…]",
            1,
        ),
        (
            "heal sample",
            fixture!("gluster_heal_summary_pending.txt"),
            0,
        ),
    ]);
    let st = parse(&body).unwrap();
    assert!(st.peers.is_empty());
    assert_eq!(st.volumes[0].heal_note, None);
    assert_eq!(st.volumes[0].heal.len(), 2);
}

#[test]
fn glusterd_down_or_unreadable() {
    let body = section(&[("peers", fixture!("gluster_glusterd_down.txt"), 1)]);
    assert!(matches!(parse(&body), Err(ReplError::Down(w)) if w.contains("glusterd")));
    let body = section(&[("peers", "", 124)]);
    assert_eq!(
        parse(&body),
        Err(ReplError::Blind("gluster peer status timed out".into()))
    );
    let body = section(&[
        ("peers", "Number of Peers: 0", 0),
        ("info", "No volumes present", 0),
    ]);
    assert!(parse(&body).unwrap().volumes.is_empty());
    assert!(matches!(parse("nothing"), Err(ReplError::Parse(_))));
}

proptest::proptest! {
    #[test]
    fn never_panics(s in proptest::prelude::any::<String>()) {
        let _ = parse(&s);
        let _ = parse(&section(&[("peers", &s, 0), ("info", &s, 0), ("status", &s, 0), ("heal x", &s, 0)]));
        let _ = parse(&section(&[
            ("peers", "", 0),
            ("info", "Volume Name: x\nBrick1: a:/b\n", 0),
            ("status", &format!("Status of volume: x\n{s}"), 0),
            ("heal x", &s, 1),
        ]));
    }

    #[test]
    fn shaped_status_never_panics(s in "((Brick [a-z]:/[a-z]{0,3}|Self-heal Daemon on [a-z]{0,3})?[ \\t]{0,3}([0-9]{1,5}|N/A)?[ \\t]{0,3}[YN]?[ \\t]{0,3}([0-9]{1,5}|N/A)?\n){0,8}") {
        let mut vols = vec![Volume { name: "x".into(), bricks: vec![Brick { name: "a:/b".into(), online: None }], ..Volume::default() }];
        status(&format!("Status of volume: x\n{s}"), &mut vols);
    }
}
