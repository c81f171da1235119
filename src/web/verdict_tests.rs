//! Tests of the URL test's verdicts: the states and the one-line summaries an operator reads.

use super::*;
use crate::config::ContentMatch;
use crate::web::trace::CertSeen;

const NOW: i64 = 1_800_000_000;
const DAY_S: i64 = 86_400;

fn test() -> UrlTest {
    UrlTest {
        name: "site".into(),
        url: reqwest::Url::parse("https://www.example.test/").unwrap(),
        expect: Vec::new(),
        content: Some(ContentMatch::Contains("Welcome".into())),
        warn: Duration::from_secs(1),
        crit: Duration::from_secs(3),
        timeout: Duration::from_secs(5),
        via: None,
        ca_file: None,
        follow_redirects: true,
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An https answer: dns 1, connect 2, tls 20, certificate valid `days` more.
fn https_trace(days: i64) -> Trace {
    Trace {
        dns: Some(ms(1)),
        connect: ms(2),
        tls: ms(20),
        connections: 1,
        handshakes: 1,
        certs: vec![CertSeen {
            server: "www.example.test".into(),
            not_after: Some(NOW + days * DAY_S),
        }],
        ..Trace::default()
    }
}

fn answer(status: u16, total: u64, content: Content) -> Outcome {
    Outcome {
        answer: Ok(Answer {
            status,
            location: None,
            headers_after: ms(total - 1),
            total: ms(total),
            content,
        }),
        trace: https_trace(90),
        redirects: Vec::new(),
        now: NOW,
    }
}

fn failure(label: &str, reason: &str) -> Outcome {
    Outcome {
        answer: Err(Failure {
            label: label.into(),
            reason: reason.into(),
            tested: true,
        }),
        trace: Trace::default(),
        redirects: Vec::new(),
        now: NOW,
    }
}

#[test]
fn a_good_answer_shows_each_phase() {
    let c = evaluate(&test(), &answer(200, 84, Content::Found));
    assert_eq!(c.id, "app.url.site");
    assert_eq!(c.state, State::Ok);
    assert_eq!(
        c.summary,
        "200 in 84 ms (dns 1, connect 2, tls 20, first byte 60)"
    );
    assert_eq!((c.value, c.unit), (Some(84.0), Some("ms")));
}

#[test]
fn status_codes() {
    let mut t = test();
    t.content = None;
    let state = |t: &UrlTest, status| evaluate(t, &answer(status, 50, Content::NotTested));
    let c = state(&t, 500);
    assert_eq!(c.state, State::Crit);
    assert!(
        c.summary
            .starts_with("500 Internal Server Error in 50 ms ("),
        "{}",
        c.summary
    );
    let c = state(&t, 404);
    assert_eq!(c.state, State::Warn);
    assert!(
        c.summary.starts_with("404 Not Found in 50 ms"),
        "{}",
        c.summary
    );
    assert_eq!(state(&t, 204).state, State::Ok, "any 2xx by default");
    // A redirect left unfollowed is fine only when following is off.
    assert_eq!(state(&t, 301).state, State::Warn);
    t.follow_redirects = false;
    assert_eq!(state(&t, 301).state, State::Ok);
    // An explicit list is the only truth, 5xx included.
    t.expect = vec![200, 503];
    assert_eq!(state(&t, 503).state, State::Ok);
    let c = state(&t, 204);
    assert_eq!(c.state, State::Warn);
    assert!(
        c.summary
            .starts_with("204 No Content (expected 200, 503) in 50 ms"),
        "{}",
        c.summary
    );
}

#[test]
fn unfollowed_redirects_and_followed_ones_are_reported() {
    let mut t = test();
    t.follow_redirects = false;
    t.content = None;
    let mut o = answer(301, 12, Content::NotTested);
    if let Ok(a) = &mut o.answer {
        a.location = Some("https://www.example.test/home".into());
    }
    let c = evaluate(&t, &o);
    assert_eq!(c.state, State::Ok);
    assert!(
        c.summary
            .starts_with("301 Moved Permanently → https://www.example.test/home in 12 ms"),
        "{}",
        c.summary
    );

    let mut o = answer(200, 84, Content::Found);
    o.redirects = vec![
        Redirect {
            status: 301,
            to: "https://www.example.test/".into(),
        },
        Redirect {
            status: 302,
            to: "https://www.example.test/fr/".into(),
        },
    ];
    let c = evaluate(&test(), &o);
    assert_eq!(c.state, State::Ok);
    assert!(
        c.summary.ends_with(
            ") after 301 → https://www.example.test/, 302 → https://www.example.test/fr/"
        ),
        "{}",
        c.summary
    );
}

#[test]
fn content_and_delay() {
    let c = evaluate(
        &test(),
        &answer(200, 84, Content::Missing { truncated: false }),
    );
    assert_eq!(c.state, State::Crit);
    assert_eq!(
        c.summary,
        "content: 'Welcome' not found; 200 in 84 ms (dns 1, connect 2, tls 20, first byte 60)"
    );
    let c = evaluate(
        &test(),
        &answer(200, 84, Content::Missing { truncated: true }),
    );
    assert!(
        c.summary
            .starts_with("content: 'Welcome' not found in its first MiB;")
    );
    // A 500 page never holds the text: the status says it all.
    let c = evaluate(
        &test(),
        &answer(500, 84, Content::Missing { truncated: false }),
    );
    assert!(!c.summary.contains("content"), "{}", c.summary);

    let c = evaluate(&test(), &answer(200, 1400, Content::Found));
    assert_eq!(c.state, State::Warn);
    assert_eq!(
        c.summary,
        "200 in 1.4 s > 1 s (dns 1, connect 2, tls 20, first byte 1376)"
    );
    let c = evaluate(&test(), &answer(200, 3100, Content::Found));
    assert_eq!(c.state, State::Crit);
    assert!(
        c.summary.starts_with("200 in 3.1 s > 3 s ("),
        "{}",
        c.summary
    );
}

#[test]
fn certificate_expiry() {
    let with_days = |days| {
        let mut o = answer(200, 84, Content::Found);
        o.trace = https_trace(days);
        evaluate(&test(), &o)
    };
    assert_eq!(with_days(30).state, State::Ok);
    let c = with_days(10);
    assert_eq!(c.state, State::Warn);
    assert!(
        c.summary
            .starts_with("certificate expires in 10 d (2027-01-"),
        "{}",
        c.summary
    );
    let c = with_days(2);
    assert_eq!(c.state, State::Crit);
    assert!(
        c.summary.starts_with("certificate expires in 2 d ("),
        "{}",
        c.summary
    );
}

#[test]
fn failures_name_their_phase() {
    let c = evaluate(
        &test(),
        &failure("connect", "connection refused (127.0.0.1:9)"),
    );
    assert_eq!(c.state, State::Crit);
    assert_eq!(c.summary, "connect: connection refused (127.0.0.1:9)");
    assert_eq!(c.value, None);

    // An expired certificate gets its date from the certificate the verifier saw.
    let mut o = failure("TLS", "certificate expired");
    o.trace = https_trace(-3);
    let c = evaluate(&test(), &o);
    assert_eq!(c.state, State::Crit);
    assert!(
        c.summary
            .starts_with("TLS: certificate expired 3 d ago (2027-01-12)"),
        "{}",
        c.summary
    );

    let mut t = test();
    t.via = Some("bastion".into());
    let c = evaluate(
        &t,
        &failure("no answer", "nothing within 5 s (during first byte)"),
    );
    assert_eq!(
        c.summary,
        "no answer: nothing within 5 s (during first byte) via bastion"
    );

    let mut o = failure("", "cannot read /etc/vigie/ca.pem");
    if let Err(f) = &mut o.answer {
        f.tested = false;
    }
    let c = evaluate(&test(), &o);
    assert_eq!(c.state, State::Unknown);
    assert_eq!(c.summary, "cannot test: cannot read /etc/vigie/ca.pem");
}

#[test]
fn through_a_tunnel_dns_is_theirs() {
    let mut t = test();
    t.via = Some("bastion".into());
    let mut o = answer(200, 84, Content::Found);
    o.trace.dns = None;
    let c = evaluate(&t, &o);
    assert_eq!(
        c.summary,
        "200 in 84 ms via bastion (connect 2, tls 20, first byte 61)"
    );
}

#[test]
fn remote_text_is_sanitised() {
    let mut t = test();
    t.follow_redirects = false;
    let mut o = answer(302, 12, Content::NotTested);
    if let Ok(a) = &mut o.answer {
        a.location = Some("https://x/\u{1b}[2J\u{7}".into());
    }
    let c = evaluate(&t, &o);
    assert!(!c.summary.chars().any(char::is_control), "{}", c.summary);
    let c = evaluate(&test(), &failure("TLS", "bad\u{1b}]0;title\u{7}"));
    assert!(!c.summary.chars().any(char::is_control), "{}", c.summary);
}

#[test]
fn durations_in_words() {
    assert_eq!(duration_words(ms(84)), "84 ms");
    assert_eq!(duration_words(ms(1000)), "1 s");
    assert_eq!(duration_words(ms(1420)), "1.4 s");
    assert_eq!(duration_words(ms(12_345)), "12 s");
}

proptest::proptest! {
    /// Whatever a server sends back (a Location, an error text, a certificate date), the
    /// verdict never panics and its summary is one line without control characters.
    #[test]
    fn any_remote_text_gives_a_clean_line(
        text in "\\PC{0,200}|[\\x00-\\x1f\\x7f]{0,20}",
        status in 0u16..1000,
        not_after in proptest::option::of(proptest::num::i64::ANY),
        total in 0u64..100_000,
    ) {
        let mut o = answer(302, 1, Content::Missing { truncated: true });
        if let Ok(a) = &mut o.answer {
            a.status = status;
            a.location = Some(text.clone());
            a.total = ms(total);
            a.headers_after = ms(total / 2);
        }
        o.trace.certs[0].not_after = not_after;
        o.redirects = vec![Redirect { status, to: text.clone() }; 4];
        for outcome in [o, failure("TLS", &text)] {
            let c = evaluate(&test(), &outcome);
            proptest::prop_assert!(!c.summary.chars().any(char::is_control), "{:?}", c.summary);
        }
    }
}
