use super::*;

fn first_http(s: &super::super::SvcSection) -> HttpAnswer {
    answer(s.probes_of("http").next().expect("an http probe"))
}

fn all_http(s: &super::super::SvcSection) -> Vec<HttpAnswer> {
    s.probes_of("http").map(answer).collect()
}

#[test]
fn nginx_stub_status_through_every_client() {
    // nginx 1.22.1 (Debian 12) with `stub_status` at /nginx_status.
    for (file, requests) in [
        (svc_fixture!("nginx_status_curl.txt"), 1),
        (svc_fixture!("nginx_status_wget.txt"), 2),
        (svc_fixture!("nginx_status_bash.txt"), 3),
    ] {
        let a = first_http(&file);
        assert_eq!(a.code, Some(200));
        assert_eq!(a.error, None);
        let s = stub_status(&a.body).expect("a stub_status page");
        assert_eq!(s.active, 1);
        assert_eq!(s.requests, Some(requests));
        assert_eq!(
            (s.reading, s.writing, s.waiting),
            (Some(0), Some(1), Some(0))
        );
    }
}

#[test]
fn no_status_page_then_the_home_page() {
    for file in [
        svc_fixture!("nginx_nostatus_curl.txt"),
        svc_fixture!("nginx_nostatus_wget.txt"),
        svc_fixture!("nginx_nostatus_bash.txt"),
    ] {
        let a = all_http(&file);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].code, Some(404));
        assert!(stub_status(&a[0].body).is_none());
        assert_eq!(a[1].code, Some(200));
    }
}

#[test]
fn bad_gateway() {
    for file in [
        svc_fixture!("nginx_502_curl.txt"),
        svc_fixture!("nginx_502_wget.txt"),
        svc_fixture!("nginx_502_bash.txt"),
    ] {
        let a = all_http(&file);
        assert_eq!(a.len(), 2);
        assert!(a.iter().all(|a| a.code == Some(502)));
    }
}

#[test]
fn refused_and_timed_out() {
    for file in [
        svc_fixture!("nginx_down_curl.txt"),
        svc_fixture!("nginx_down_wget.txt"),
        svc_fixture!("nginx_down_bash.txt"),
    ] {
        let a = first_http(&file);
        assert_eq!(a.code, None);
        assert_eq!(a.error.as_deref(), Some("connection refused"));
    }
    // A server that accepts and never answers: curl's -m 4, wget's -T 4, timeout's kill.
    for file in [
        svc_fixture!("nginx_hang_curl.txt"),
        svc_fixture!("nginx_hang_wget.txt"),
        svc_fixture!("nginx_hang_bash.txt"),
    ] {
        let a = all_http(&file);
        assert_eq!(a.len(), 1, "no second request after a time-out");
        assert_eq!(a[0].error.as_deref(), Some("no answer within 5 s"));
    }
}

#[test]
fn apache_mod_status() {
    // Apache 2.4.71 (Debian 12), mpm_event, `Require local` on /server-status.
    for file in [
        svc_fixture!("apache_status_curl.txt"),
        svc_fixture!("apache_status_wget.txt"),
        svc_fixture!("apache_status_bash.txt"),
    ] {
        let a = first_http(&file);
        let s = server_status(&a.body).expect("a server-status page");
        assert_eq!((s.busy, s.idle), (Some(1), Some(74)));
        assert_eq!(s.version.as_deref(), Some("Apache/2.4.71 (Debian)"));
    }
    let a = all_http(&svc_fixture!("apache_nostatus_curl.txt"));
    assert!(server_status(&a[0].body).is_none());
    assert_eq!((a[0].code, a[1].code), (Some(404), Some(200)));
    // Apache 2.2 (documented mod_status output): the scoreboard alone still counts.
    let s = server_status(&["Scoreboard: _W_K..".to_string()]).unwrap();
    assert_eq!((s.busy, s.idle), (Some(2), Some(2)));
}

#[test]
fn tomcat_status_lines_without_reason() {
    // Tomcat 10.1 answers "HTTP/1.1 200 " (no reason phrase).
    assert_eq!(
        first_http(&svc_fixture!("tomcat_root_bash.txt")).code,
        Some(200)
    );
    assert_eq!(
        first_http(&svc_fixture!("tomcat_root_wget.txt")).code,
        Some(200)
    );
    assert_eq!(
        first_http(&svc_fixture!("tomcat_noroot_curl.txt")).code,
        Some(404)
    );
    assert_eq!(
        first_http(&svc_fixture!("tomcat_noroot_bash.txt")).code,
        Some(404)
    );
}

proptest::proptest! {
    #[test]
    fn never_panics(lines in proptest::collection::vec(".{0,40}", 0..12), client in "(curl|wget|bash|x)", rc in proptest::option::of(-1i32..300)) {
        let p = Probe { kind: "http".into(), args: vec![client, "u".into()], lines, rc };
        let a = answer(&p);
        let _ = stub_status(&a.body);
        let _ = server_status(&a.body);
        let _ = stub_status(&p.lines);
        let _ = server_status(&p.lines);
    }
}
