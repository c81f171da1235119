use super::*;
use crate::probe::parse::repl::section;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/repl/", $name))
    };
}

#[test]
fn primary() {
    let Ok(PgStatus::Primary { version, senders }) =
        parse(fixture!("section_pg_15_primary_lag.txt"))
    else {
        panic!("not a primary");
    };
    assert_eq!(version, 150018);
    let s = &senders[0];
    assert_eq!(
        (s.name.as_str(), s.client.as_deref(), s.state.as_str()),
        ("drp", Some("127.0.0.1"), "streaming")
    );
    assert_eq!(s.sync_state.as_deref(), Some("async"));
    assert_eq!(s.lag_bytes, Some(38512920.0));
    assert_eq!(s.replay_lsn.as_deref(), Some("0/3015FF0"));

    let Ok(PgStatus::Primary { senders, .. }) = parse(fixture!("section_pg_15_primary_idle.txt"))
    else {
        panic!("not a primary");
    };
    assert_eq!(
        (senders[0].replay_lag, senders[0].lag_bytes),
        (None, Some(0.0))
    );
    let Ok(PgStatus::Primary { senders, .. }) =
        parse(fixture!("section_pg_15_primary_no_standby.txt"))
    else {
        panic!("not a primary");
    };
    assert!(senders.is_empty());
}

#[test]
fn names_with_a_bar_shared_or_empty() {
    let rows = "a|b|10.0.0.1|streaming|async|0/1|0/1|0/1|0/1||||0\n\
                walreceiver|10.0.0.2|streaming|async|0/1|0/1|0/1|0/1||||0\n\
                walreceiver|10.0.0.3|streaming|async|0/1|0/1|0/1|0/1||||0\n\
                |10.0.0.4|streaming|async|0/1|0/1|0/1|0/1||||0\n";
    let names: Vec<String> = senders(rows).into_iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "a|b",
            "walreceiver@10.0.0.2",
            "walreceiver@10.0.0.3",
            "10.0.0.4"
        ]
    );
}

#[test]
fn standby() {
    let Ok(PgStatus::Standby { receiver: r, .. }) =
        parse(fixture!("section_pg_15_standby_lag.txt"))
    else {
        panic!("not a standby");
    };
    assert_eq!(
        (r.receive_lsn.as_deref(), r.replay_lsn.as_deref()),
        (Some("0/54D0908"), Some("0/3015FF0"))
    );
    assert_eq!(
        (r.replay_age, r.lag_bytes),
        (Some(6.894956), Some(38512920.0))
    );
    assert_eq!(r.status.as_deref(), Some("streaming"));

    let Ok(PgStatus::Standby { receiver: r, .. }) =
        parse(fixture!("section_pg_15_standby_primary_down.txt"))
    else {
        panic!("not a standby");
    };
    assert_eq!((r.status, r.last_message_age), (None, None));
}

#[test]
fn down_or_refused() {
    assert!(matches!(
        parse(fixture!("section_pg_15_server_down.txt")),
        Err(ReplError::Down(_))
    ));
    assert!(matches!(
        parse(fixture!("section_pg_15_role_missing.txt")),
        Err(ReplError::Blind(_))
    ));
    let no_user = section(&[("role", "runuser: user postgres does not exist", 1)]);
    assert!(matches!(parse(&no_user), Err(ReplError::Down(w)) if w.contains("not installed")));
    assert!(matches!(
        parse(&section(&[("role", "x|1", 0)])),
        Err(ReplError::Parse(_))
    ));
}

proptest::proptest! {
    #[test]
    fn never_panics(s in proptest::prelude::any::<String>()) {
        let _ = parse(&s);
        for role in ["t|150005", "f|150005", &s] {
            let _ = parse(&section(&[("role", role, 0), ("primary", &s, 0), ("standby", &s, 0)]));
        }
        let _ = senders(&s);
    }
}
