use super::*;
use crate::probe::parse::repl::section;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../../tests/fixtures/repl/", $name))
    };
}

#[test]
fn mariadb_all_slaves_status() {
    let st = parse(fixture!("section_mysql_mariadb-10.11_replica_ok.txt")).unwrap();
    let c = &st.channels[0];
    assert_eq!(c.name, "", "the default connection");
    assert_eq!(c.source.as_deref(), Some("127.0.0.1:13306"));
    assert_eq!(
        (c.io_running.as_deref(), c.sql_running.as_deref()),
        (Some("Yes"), Some("Yes"))
    );
    assert_eq!(
        (c.behind, c.delay, &c.io_error, &c.sql_error),
        (Some(0), 0, &None, &None)
    );
    assert_eq!(
        st.replicas,
        Some(vec![]),
        "nobody replicates from this replica"
    );

    let st = parse(fixture!("section_mysql_mariadb-10.11_replica_lag310.txt")).unwrap();
    assert_eq!(st.channels[0].behind, Some(310));

    let st = parse(fixture!(
        "section_mysql_mariadb-10.11_replica_io_connecting.txt"
    ))
    .unwrap();
    let c = &st.channels[0];
    assert_eq!(
        (c.io_running.as_deref(), c.behind),
        (Some("Connecting"), None)
    );
    assert!(
        c.io_error
            .as_deref()
            .unwrap()
            .contains("Connection refused")
    );
}

#[test]
fn text_inside_a_value_is_no_field() {
    let st = parse(fixture!(
        "section_mysql_mariadb-10.11_replica_sql_error.txt"
    ))
    .unwrap();
    assert_eq!(st.channels.len(), 1);
    let c = &st.channels[0];
    assert_eq!(
        c.sql_running.as_deref(),
        Some("No"),
        "the first, real, field wins"
    );
    let err = c.sql_error.as_deref().unwrap();
    assert!(
        err.starts_with("Error 'Duplicate entry '2' for key 'PRIMARY''"),
        "{err}"
    );
    assert!(!err.contains('\n'), "cleaned");
}

#[test]
fn mysql_8_names_and_primary() {
    let body = section(&[(
        "replica SHOW REPLICA STATUS",
        fixture!("mysql_8.0.33_show_replica_status_ok.txt"),
        0,
    )]);
    let st = parse(&body).unwrap();
    assert_eq!(
        st.channels[0].source.as_deref(),
        Some("192.168.124.13:3306")
    );
    assert_eq!(st.channels[0].behind, Some(0));
    assert_eq!(st.replicas, None, "not asked");

    let st = parse(fixture!("section_mysql_mariadb-10.11_primary.txt")).unwrap();
    assert!(st.channels.is_empty());
    assert_eq!(st.replicas, Some(vec!["127.0.0.1".to_string()]));
}

#[test]
fn server_down_or_refused() {
    assert!(matches!(
        parse(fixture!("section_mysql_mariadb-10.11_server_down.txt")),
        Err(ReplError::Down(_))
    ));
    assert!(matches!(
        parse(fixture!("section_mysql_mariadb-10.11_access_denied.txt")),
        Err(ReplError::Blind(_))
    ));
}

proptest::proptest! {
    #[test]
    fn never_panics(s in proptest::prelude::any::<String>()) {
        let _ = parse(&s);
        let _ = parse(&section(&[("replica SHOW SLAVE STATUS", &s, 0), ("primary", &s, 0)]));
        let _ = parse(&section(&[("replica SHOW SLAVE STATUS", &format!("*** 1. row ***\n{s}"), 0)]));
    }
}
