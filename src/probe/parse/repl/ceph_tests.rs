use super::*;
use crate::probe::parse::repl::section;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/repl/", $name))
    };
}

fn status(json: &str, rc: i32) -> Result<CephStatus, ReplError> {
    parse(&section(&[("status", json, rc)]))
}

#[test]
fn nautilus_and_reef_healthy() {
    let st = status(fixture!("ceph_status_14_nautilus_ok.json"), 0).unwrap();
    assert_eq!(st.health, "HEALTH_OK");
    assert!(st.checks.is_empty());
    assert_eq!(st.osds, Some((3, 3, 3)));
    assert_eq!(st.pgs, Some((96, 96)));
    assert_eq!(st.mons, Some((3, Some(3))));
    assert_eq!(
        st.fsid.as_deref(),
        Some("877a47e0-7f6c-435e-891a-76983ab8c509")
    );

    // Octopus and later: the OSD map is not nested; reef counts monitors as num_mons.
    let st = status(fixture!("ceph_status_18_reef_ok_backfilling.json"), 0).unwrap();
    assert_eq!(st.health, "HEALTH_OK");
    assert_eq!(st.osds, Some((5, 5, 5)));
    assert_eq!(st.pgs, Some((185, 175)), "backfilling PGs are not clean");
    assert_eq!(st.mons, Some((1, Some(1))));
}

#[test]
fn luminous_checks_and_jewel_overall_status() {
    let st = status(fixture!("ceph_status_12.1.3_luminous_warn.json"), 0).unwrap();
    assert_eq!(st.health, "HEALTH_WARN");
    let messages: Vec<&str> = st.checks.iter().map(|c| c.message.as_str()).collect();
    assert_eq!(messages.len(), 4);
    assert!(messages.contains(&"1 osds down"));
    assert_eq!(st.osds, Some((2, 1, 2)));
    assert_eq!(st.pgs, Some((200, 99)), "stale PGs are not clean");

    let st = status(fixture!("ceph_status_jewel_warn.json"), 0).unwrap();
    assert_eq!(st.health, "HEALTH_WARN");
    assert_eq!(
        st.checks,
        [HealthCheck {
            severity: "HEALTH_WARN".into(),
            message: "too many PGs per OSD (2048 > max 300)".into()
        }]
    );
    assert_eq!(st.osds, Some((10, 9, 9)));
}

#[test]
fn errors_first_and_the_luminous_notice_dropped() {
    // The layout of Luminous `ceph status -f json`, with an ERR check and the notice Luminous
    // adds to the old list for old monitoring tools.
    let json = r#"{"health":{"checks":{"OSD_NEARFULL":{"severity":"HEALTH_WARN","summary":{"message":"1 nearfull osd(s)"}},"OSD_FULL":{"severity":"HEALTH_ERR","summary":{"message":"1 full osd(s)"}}},"status":"HEALTH_ERR","summary":[{"severity":"HEALTH_WARN","summary":"'ceph health' JSON format has changed in luminous. If you see this your monitoring system is scraping the wrong fields. Disable this with 'mon health preluminous compat warning = false'"}],"overall_status":"HEALTH_WARN"}}"#;
    let st = status(json, 0).unwrap();
    assert_eq!(st.health, "HEALTH_ERR", "status wins over overall_status");
    assert_eq!(st.checks[0].message, "1 full osd(s)");
    assert_eq!(st.checks.len(), 2);
}

#[test]
fn unreachable_unreadable_and_odd() {
    assert!(matches!(
        status(fixture!("ceph_errno110_timed_out.txt"), 1),
        Err(ReplError::Down(w)) if w.starts_with("monitors unreachable")
    ));
    assert!(matches!(
        status(fixture!("ceph_errno2_no_keyring.txt"), 1),
        Err(ReplError::Blind(w)) if w.contains("keyring")
    ));
    assert!(matches!(
        status(fixture!("ceph_errno13_permission.txt"), 1),
        Err(ReplError::Blind(w)) if w.contains("permission denied")
    ));
    assert_eq!(
        status("", 124),
        Err(ReplError::Blind("ceph status timed out".into()))
    );
    // Warnings logged before the JSON do not hide it.
    let text = format!(
        "2024-06-03 -1 auth: something\n{}",
        fixture!("ceph_status_14_nautilus_ok.json")
    );
    assert!(status(&text, 0).is_ok());
    assert!(matches!(status("{\"x\":1}", 0), Err(ReplError::Parse(_))));
    assert!(matches!(parse(""), Err(ReplError::Parse(_))));
}

proptest::proptest! {
    #[test]
    fn never_panics(s in proptest::prelude::any::<String>()) {
        let _ = parse(&s);
        let _ = status(&s, 0);
        let _ = status(&format!("{{\"health\":{{\"status\":{s}}}}}"), 0);
    }

    #[test]
    fn json_shaped_input_never_panics(s in "\\{(\"(health|status|checks|osdmap|pgmap|num_pgs|pgs_by_state|state_name|count|quorum_names)\":[\\[\\]{}0-9\",:a-z+]{0,12},?){0,10}\\}") {
        let _ = status(&s, 0);
    }
}
