use super::*;
use crate::checks::host::tests::host;
use crate::probe::sections::{Section, Sections};

/// A section captured by running apps.sh (see tests/fixtures/apps/README.md).
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/apps/", $name))
    };
}

fn report_of(sections: &[(&str, &str, Option<i32>)]) -> ProbeReport {
    let mut s = Sections::new();
    for (name, body, rc) in sections {
        let name = format!("svc.{name}");
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

/// The check of `name` from one section body.
fn check(name: &str, body: &str) -> Check {
    service(name, &report_of(&[(name, body, Some(0))]))
}

#[track_caller]
fn is(c: &Check, state: State, summary: &str) {
    assert_eq!((c.state, c.summary.as_str()), (state, summary), "{c:?}");
}

#[test]
fn one_check_per_configured_service() {
    let mut h = host(&[]);
    h.services = vec!["nginx".into(), "postgresql".into(), "ftp".into()];
    let report = report_of(&[
        ("nginx", fixture!("lab_prod_nginx.txt"), Some(0)),
        ("postgresql", fixture!("lab_prod_postgresql.txt"), Some(0)),
        // An application not asked for is not checked.
        ("mysql", fixture!("mysql_down.txt"), Some(0)),
    ]);
    let checks = evaluate(&h, &report);
    let ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "app.service.nginx",
            "app.service.postgresql",
            "app.service.ftp"
        ]
    );
    is(&checks[0], State::Ok, "nginx answers, 1 active connection");
    assert_eq!(checks[0].value, Some(1.0));
    is(&checks[1], State::Ok, "accepting connections");
    // Its section never came (the probe was cut short).
    is(
        &checks[2],
        State::Unknown,
        "ftp: no output (probe cut short)",
    );
}

#[test]
fn section_issues_are_unknown() {
    let r = report_of(&[("nginx", "", Some(124))]);
    is(&service("nginx", &r), State::Unknown, "nginx: timed out");
    let r = report_of(&[("nginx", "@@systemd 0\n", None)]);
    is(
        &service("nginx", &r),
        State::Unknown,
        "nginx: no output (probe cut short)",
    );
    let c = check("nginx", "garbage\n");
    assert_eq!(c.state, State::Unknown);
    assert!(c.summary.starts_with("nginx: unexpected output"), "{c:?}");
}

#[test]
fn nginx() {
    for f in [
        fixture!("nginx_status_curl.txt"),
        fixture!("nginx_status_wget.txt"),
        fixture!("nginx_status_bash.txt"),
    ] {
        is(
            &check("nginx", f),
            State::Ok,
            "nginx answers, 1 active connection",
        );
    }
    // No stub_status: the home page proves it answers.
    for f in [
        fixture!("nginx_nostatus_curl.txt"),
        fixture!("nginx_nostatus_wget.txt"),
        fixture!("nginx_nostatus_bash.txt"),
    ] {
        is(
            &check("nginx", f),
            State::Ok,
            "nginx answers (HTTP 200 on /)",
        );
    }
    for f in [
        fixture!("nginx_502_curl.txt"),
        fixture!("nginx_502_wget.txt"),
        fixture!("nginx_502_bash.txt"),
    ] {
        is(
            &check("nginx", f),
            State::Crit,
            "nginx answers HTTP 502 on /",
        );
    }
    for f in [
        fixture!("nginx_down_curl.txt"),
        fixture!("nginx_down_wget.txt"),
        fixture!("nginx_down_bash.txt"),
    ] {
        is(
            &check("nginx", f),
            State::Crit,
            "not running (no nginx process)",
        );
    }
    // A listener on port 80 that never answers (a stand-in, not nginx: as if it were a hung
    // nginx, its process count is set).
    for f in [
        fixture!("nginx_hang_curl.txt"),
        fixture!("nginx_hang_wget.txt"),
        fixture!("nginx_hang_bash.txt"),
    ] {
        is(
            &check("nginx", f),
            State::Crit,
            "not running (no nginx process)",
        );
        is(
            &check("nginx", &f.replace("@@proc nginx 0", "@@proc nginx 2")),
            State::Crit,
            "running but not answering: no answer within 5 s",
        );
    }
}

#[test]
fn a_missing_client_is_unknown_unless_the_process_is_gone() {
    let body = fixture!("nginx_no_client.txt");
    is(
        &check("nginx", body),
        State::Crit,
        "not running (no nginx process)",
    );
    let running = body.replace("@@proc nginx 0", "@@proc nginx 2");
    is(
        &check("nginx", &running),
        State::Unknown,
        "running; no HTTP client (curl, wget, bash)",
    );
}

#[test]
fn hidden_processes_leave_the_answer_to_decide() {
    // /proc mounted hidepid=2 and the probe not root: no process is visible, not even PID 1.
    let body = fixture!("hidepid_nginx.txt");
    is(
        &check("nginx", body),
        State::Ok,
        "nginx answers, 1 active connection",
    );
    let refused = fixture!("nginx_down_curl.txt").replace("@@pid1 1", "@@pid1 0");
    is(
        &check("nginx", &refused),
        State::Crit,
        "not answering: connection refused",
    );
}

#[test]
fn another_server_on_the_port_is_not_the_service() {
    // The lab's prod: nginx answers on port 80, no Apache runs.
    let body = "@@systemd 0\n@@pid1 1\n@@proc apache2 0\n@@proc httpd 0\n\
                @@probe http curl http://127.0.0.1/server-status?auto\n|@@code 404\n@@rc 0\n\
                @@probe http curl http://127.0.0.1/\n|\n|@@code 200\n@@rc 0\n";
    is(
        &check("apache", body),
        State::Crit,
        "not running (no apache2 or httpd process)",
    );
}

#[test]
fn systemd_units() {
    // Debian 12: the umbrella postgresql.service is "active exited" whatever the clusters do.
    is(
        &check("postgresql", fixture!("systemd_postgresql_debian12.txt")),
        State::Ok,
        "accepting connections",
    );
    is(
        &check("nginx", fixture!("systemd_nginx_failed.txt")),
        State::Crit,
        "not running (nginx.service failed)",
    );
    let body = "@@systemd 1\n@@unit postgresql.service loaded active exited PostgreSQL RDBMS\n\
                @@pid1 1\n@@proc postgres 0\n@@proc postmaster 0\n@@probe pg_isready\n\
                |/var/run/postgresql:5432 - no response\n@@rc 2\n";
    is(
        &check("postgresql", body),
        State::Crit,
        "not running (no postgres process)",
    );
    // Running under systemd, but not answering.
    let hung = fixture!("systemd_postfix_debian12.txt");
    is(&check("postfix", hung), State::Ok, "queue 1 message");
}

#[test]
fn apache_and_tomcat() {
    for f in [
        fixture!("apache_status_curl.txt"),
        fixture!("apache_status_wget.txt"),
        fixture!("apache_status_bash.txt"),
    ] {
        let c = check("apache", f);
        is(&c, State::Ok, "apache answers, 1 busy / 74 idle workers");
        assert_eq!(c.value, Some(1.0));
    }
    is(
        &check("apache", fixture!("apache_nostatus_curl.txt")),
        State::Ok,
        "apache answers (HTTP 200 on /)",
    );
    is(
        &check("apache", fixture!("apache_down_curl.txt")),
        State::Crit,
        "not running (no apache2 or httpd process)",
    );
    for f in [
        fixture!("tomcat_root_curl.txt"),
        fixture!("tomcat_root_wget.txt"),
        fixture!("tomcat_root_bash.txt"),
    ] {
        is(
            &check("tomcat", f),
            State::Ok,
            "tomcat answers (HTTP 200 on /)",
        );
    }
    // No ROOT application: Tomcat still answers.
    is(
        &check("tomcat", fixture!("tomcat_noroot_bash.txt")),
        State::Ok,
        "tomcat answers (HTTP 404 on /)",
    );
    is(
        &check("tomcat", fixture!("tomcat_down.txt")),
        State::Crit,
        "not running (no Tomcat (java) process)",
    );
}

#[test]
fn elasticsearch() {
    let c = check("elasticsearch", fixture!("es_green_curl.txt"));
    is(&c, State::Ok, "cluster testcluster green, 2 nodes");
    assert_eq!(c.value, Some(0.0));
    for f in [
        fixture!("es_yellow_curl.txt"),
        fixture!("es_yellow_wget.txt"),
        fixture!("es_yellow_bash.txt"),
    ] {
        is(
            &check("elasticsearch", f),
            State::Warn,
            "cluster testcluster yellow: 1 unassigned shard",
        );
    }
    is(
        &check("elasticsearch", fixture!("es_red_wget.txt")),
        State::Crit,
        "cluster xxx red: 1 unassigned shard",
    );
    for f in [
        fixture!("es_no_master_curl.txt"),
        fixture!("es_no_master_wget.txt"),
    ] {
        is(
            &check("elasticsearch", f),
            State::Crit,
            "HTTP 503: master_not_discovered_exception",
        );
    }
    // Security enabled (Elasticsearch 8's default, behind TLS): it answers, health unknown.
    for f in [
        fixture!("es_unauthorized_curl.txt"),
        fixture!("es_unauthorized_wget.txt"),
        fixture!("es_tls_only_curl.txt"),
    ] {
        is(
            &check("elasticsearch", f),
            State::Unknown,
            "running; answers, but its cluster health needs credentials (HTTP 401)",
        );
    }
    is(
        &check("elasticsearch", fixture!("es_down.txt")),
        State::Crit,
        "not running (no Elasticsearch (java) process)",
    );
}

#[test]
fn varnish() {
    let c = check("varnish", fixture!("varnish_up.txt"));
    is(&c, State::Ok, "PONG, cache hit ratio 78%");
    assert_eq!(c.unit, Some("%"));
    is(
        &check("varnish", fixture!("varnish_down.txt")),
        State::Crit,
        "not running (no varnishd process)",
    );
    // Not root: varnishadm cannot reach the manager it sees running.
    is(
        &check("varnish", fixture!("varnish_nonroot.txt")),
        State::Unknown,
        "running; varnishadm: Could not get hold of varnishd, is it running?",
    );
    is(
        &check("varnish", fixture!("varnish_no_tool.txt")),
        State::Unknown,
        "running; varnishadm not installed",
    );
}

#[test]
fn databases() {
    is(
        &check("mysql", fixture!("mysql_alive.txt")),
        State::Ok,
        "mysqld is alive",
    );
    is(
        &check("mysql", fixture!("mysql_denied.txt")),
        State::Ok,
        "server answers (access denied to the probe's user)",
    );
    is(
        &check("mysql", fixture!("mysql_down.txt")),
        State::Crit,
        "not running (no mysqld or mariadbd process)",
    );
    is(
        &check("mysql", fixture!("mysql_no_tool.txt")),
        State::Crit,
        "not running (no mysqld or mariadbd process)",
    );
    let crashed = fixture!("mysql_down.txt").replace("@@proc mariadbd 0", "@@proc mariadbd 1");
    is(
        &check("mysql", &crashed),
        State::Crit,
        "running but not answering: Can't connect to local server through socket \
         '/run/mysqld/mysqld.sock' (2)",
    );
    is(
        &check("postgresql", fixture!("pg_accepting.txt")),
        State::Ok,
        "accepting connections",
    );
    is(
        &check("postgresql", fixture!("pg_rejecting.txt")),
        State::Crit,
        "rejecting connections (starting, stopping or recovering)",
    );
    is(
        &check("postgresql", fixture!("pg_down.txt")),
        State::Crit,
        "not running (no postgres process)",
    );
    let no_tool = fixture!("pg_no_tool.txt").replace("@@proc postgres 0", "@@proc postgres 6");
    is(
        &check("postgresql", &no_tool),
        State::Unknown,
        "running; pg_isready not installed",
    );
    let no_attempt =
        fixture!("pg_no_attempt.txt").replace("@@proc postgres 0", "@@proc postgres 6");
    is(
        &check("postgresql", &no_attempt),
        State::Unknown,
        "running; pg_isready made no attempt (bad connection parameters)",
    );
}

#[test]
fn ftp() {
    is(
        &check("ftp", fixture!("ftp_banner.txt")),
        State::Ok,
        "220 vsFTPd 3.0.3",
    );
    is(
        &check("ftp", fixture!("ftp_banner_curl.txt")),
        State::Ok,
        "220 vsFTPd 3.0.3",
    );
    is(
        &check("ftp", fixture!("ftp_pureftpd.txt")),
        State::Ok,
        "220 Welcome to Pure-FTPd [privsep] [TLS]",
    );
    is(
        &check("ftp", fixture!("ftp_421.txt")),
        State::Crit,
        "421 There are too many connected users, please try later.",
    );
    let c = check("ftp", fixture!("ftp_500_oops.txt"));
    assert_eq!(c.state, State::Crit);
    assert!(
        c.summary.starts_with("500 OOPS: vsftpd: not found"),
        "{c:?}"
    );
    is(
        &check("ftp", fixture!("ftp_down.txt")),
        State::Crit,
        "not running (no vsftpd, proftpd or pure-ftpd process)",
    );
    let no_client = fixture!("ftp_no_client.txt");
    is(
        &check("ftp", no_client),
        State::Unknown,
        "running; neither bash nor curl to read the greeting",
    );
}

#[test]
fn postfix_queue_levels() {
    is(
        &check("postfix", fixture!("lab_prod_postfix.txt")),
        State::Ok,
        "queue empty",
    );
    // The fixtures' instance was never started (status 1, no master): both are set to read
    // these queues as a running Postfix's.
    let running = |f: &str| {
        f.replace(
            "@@probe postfix-status\n@@rc 1",
            "@@probe postfix-status\n@@rc 0",
        )
        .replace("@@proc master+postfix 0", "@@proc master+postfix 1")
    };
    is(
        &check("postfix", &running(fixture!("postfix_stopped_1.txt"))),
        State::Ok,
        "queue 1 message",
    );
    let c = check("postfix", &running(fixture!("postfix_stopped_150.txt")));
    is(&c, State::Warn, "queue 150 messages (WARN from 100)");
    assert_eq!((c.value, c.unit), (Some(150.0), Some("messages")));
    is(
        &check("postfix", &running(fixture!("postfix_stopped_1100.txt"))),
        State::Crit,
        "queue 1100 messages (CRIT from 1000)",
    );
    is(
        &check("postfix", fixture!("postfix_stopped_empty.txt")),
        State::Crit,
        "not running (no Postfix master process)",
    );
    // A master process that `postfix status` does not recognise (another instance's).
    let other = fixture!("postfix_stopped_empty.txt")
        .replace("@@proc master+postfix 0", "@@proc master+postfix 1");
    is(
        &check("postfix", &other),
        State::Crit,
        "postfix status: not running",
    );
    // Not root: no `postfix status`, the master process and the queue decide.
    is(
        &check("postfix", fixture!("lab_prod_postfix_nonroot.txt")),
        State::Ok,
        "queue empty",
    );
}

#[test]
fn qmail_queue_levels() {
    is(
        &check("qmail", fixture!("qmail_empty.txt")),
        State::Ok,
        "queue empty",
    );
    is(
        &check("qmail", fixture!("qmail_3.txt")),
        State::Ok,
        "queue 3 messages, 1 not yet preprocessed",
    );
    is(
        &check("qmail", fixture!("qmail_143.txt")),
        State::Warn,
        "queue 143 messages, 1 not yet preprocessed (WARN from 100)",
    );
    is(
        &check("qmail", fixture!("qmail_1343.txt")),
        State::Crit,
        "queue 1343 messages, 41 not yet preprocessed (CRIT from 1000)",
    );
    is(
        &check("qmail", fixture!("qmail_nonroot.txt")),
        State::Unknown,
        "running; qmail-qstat cannot read the queue (permission denied)",
    );
    is(
        &check("qmail", fixture!("qmail_no_tool.txt")),
        State::Unknown,
        "running; qmail-qstat not installed",
    );
    // qmail-send stopped: CRIT, whatever the queue.
    is(
        &check("qmail", fixture!("qmail_down.txt")),
        State::Crit,
        "not running (no qmail-send process)",
    );
}

proptest::proptest! {
    /// Any body, any status, any service: no panic, one line.
    #[test]
    fn never_panics(body in proptest::prelude::any::<String>(), rc in proptest::option::of(-1i32..300), i in 0usize..11) {
        let name = crate::config::SERVICES.get(i).copied().unwrap_or("other");
        for b in [body.clone(), format!("@@systemd 0\n@@pid1 1\n@@proc x 1\n@@probe http curl u\n{body}")] {
            let c = service(name, &report_of(&[(name, &b, rc)]));
            proptest::prop_assert!(!c.summary.contains('\n') && !c.summary.is_empty(), "{c:?}");
        }
    }

    #[test]
    fn shaped_bodies_never_panic(lines in proptest::collection::vec("(@@(probe (http (curl|wget|bash) u|pg_isready|mysqladmin|varnishadm|varnishstat|ftp-banner|ftp-curl|postfix-status|postqueue|qmail-qstat)|rc [0-9]{1,3}|none x|proc x [0-9])|\\|.{0,30})", 0..12), i in 0usize..10) {
        let name = crate::config::SERVICES.get(i).copied().unwrap_or("nginx");
        let body = format!("@@systemd 0\n{}\n", lines.join("\n"));
        let c = check(name, &body);
        proptest::prop_assert!(!c.summary.contains('\n'), "{c:?}");
    }
}
