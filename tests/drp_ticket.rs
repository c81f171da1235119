//! The DRP's ticket webhook against a real HTTP/1.1 receiver started by each test on
//! 127.0.0.1:0 (a few lines of tokio below: it records each request and answers what the test
//! says).

mod common;

use common::http::{self, Log, Received};
use std::net::SocketAddr;
use std::path::PathBuf;
use vigie::config::{Template, TicketSettings};
use vigie::drp::ticket::{self, TicketError, TicketId, TicketVars};

const TOKEN: &str = "tok-7f3a9c1e5b";

/// A receiver answering every request with `status` and `body`; `echo_auth` appends the
/// request's Authorization header to the body (a careless receiver).
async fn receiver(status: u16, body: &'static str, echo_auth: bool) -> (SocketAddr, Log) {
    http::receiver(move |r: &Received, _| {
        let out = if echo_auth {
            let auth = r.header("authorization").unwrap_or_default();
            format!("{body} (you sent: {auth})")
        } else {
            body.to_string()
        };
        (status, out)
    })
    .await
}

fn token_file(dir: &std::path::Path) -> PathBuf {
    let f = dir.join("ticket.token");
    // As an operator writes it: a trailing newline.
    std::fs::write(&f, format!("{TOKEN}\n")).unwrap();
    f
}

fn settings(
    addr: SocketAddr,
    token_file: PathBuf,
    template: &str,
    pointer: &str,
) -> TicketSettings {
    TicketSettings {
        url: format!("http://{addr}/api/tickets").parse().unwrap(),
        token_file,
        template: Template::parse(template).unwrap(),
        id_pointer: pointer.to_string(),
        ca_file: None,
    }
}

fn vars() -> TicketVars {
    TicketVars {
        site: "1stKYC".into(),
        runbook: "activate".into(),
        mode: "emergency".into(),
        order: "ORD-2026-118".into(),
        run_id: "20261128T230000Z-4f2a".into(),
        step: 4,
        operator: "alice (via sudo from bob, 10.0.0.5)".into(),
        now: "2026-11-28 23:41:07 CET".into(),
    }
}

const NESTED: &str = r#"{"ticket": {"title": "[{{site}}] {{title}}", "text": "{{body}}",
  "order": "{{order}}", "by": "{{operator}}"}, "queue": "drp"}"#;

#[tokio::test]
async fn a_ticket_is_posted_and_its_nested_id_returned() {
    let (addr, log) = receiver(
        201,
        r#"{"data": {"ticket": {"id": 4711, "state": "new"}}}"#,
        false,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let s = settings(addr, token_file(dir.path()), NESTED, "/data/ticket/id");
    let title = "DRP \"finalised\"";
    let body = "The DRP of 1stKYC is active on drp.\nData captured at 22:08 \\ 2 h loss max.\u{7}";
    let id = ticket::post(&s, title, body, &vars()).await.unwrap();
    assert_eq!(id, TicketId("4711".into()));

    let got = log.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", "/api/tickets")
    );
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.header("idempotency-key"),
        Some("vigie-20261128T230000Z-4f2a-step-4")
    );
    // The values arrive whole: quotes, backslashes, newlines and control characters escaped.
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["ticket"]["title"], "[1stKYC] DRP \"finalised\"");
    assert_eq!(v["ticket"]["text"], body);
    assert_eq!(v["ticket"]["order"], "ORD-2026-118");
    assert_eq!(v["ticket"]["by"], "alice (via sudo from bob, 10.0.0.5)");
    assert_eq!(v["queue"], "drp");
}

#[tokio::test]
async fn a_string_id_at_the_spec_pointer() {
    let (addr, _) = receiver(200, r#"{"id": "INC-0042"}"#, false).await;
    let dir = tempfile::tempdir().unwrap();
    let spec = r#"{"title": "{{title}}", "body": "{{body}}"}"#;
    let s = settings(addr, token_file(dir.path()), spec, "/id");
    let id = ticket::post(&s, "DRP finalised", "…", &vars())
        .await
        .unwrap();
    assert_eq!(id.to_string(), "INC-0042");
}

#[tokio::test]
async fn a_server_error_is_reported_with_its_status_and_first_line() {
    let (addr, _) = receiver(500, "database down\n<pre>trace…</pre>", false).await;
    let dir = tempfile::tempdir().unwrap();
    let s = settings(addr, token_file(dir.path()), NESTED, "/data/ticket/id");
    let e = ticket::post(&s, "t", "b", &vars()).await.unwrap_err();
    assert!(
        matches!(e, TicketError::Status { status: 500, .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("ticket webhook http://{addr}/api/tickets answered 500: database down")
    );
}

#[tokio::test]
async fn an_answer_without_the_id_is_a_clear_error() {
    let (addr, _) = receiver(201, r#"{"ok": true}"#, false).await;
    let dir = tempfile::tempdir().unwrap();
    let s = settings(addr, token_file(dir.path()), NESTED, "/data/ticket/id");
    let e = ticket::post(&s, "t", "b", &vars()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "ticket webhook http://{addr}/api/tickets answered 201 but without a ticket id at \
             \"/data/ticket/id\" (id_pointer): {{\"ok\": true}}"
        )
    );
    let (addr, _) = receiver(201, "<html>Created</html>", false).await;
    let s = settings(addr, token_file(dir.path()), NESTED, "/id");
    let e = ticket::post(&s, "t", "b", &vars()).await.unwrap_err();
    assert!(
        e.to_string()
            .ends_with("answered 201 but its body is not JSON: <html>Created</html>"),
        "{e}"
    );
    let (addr, _) = receiver(201, r#"{"id": {"n": 1}}"#, false).await;
    let s = settings(addr, token_file(dir.path()), NESTED, "/id");
    let e = ticket::post(&s, "t", "b", &vars()).await.unwrap_err();
    assert!(
        e.to_string().ends_with(
            "the value at \"/id\" is an object, expected the ticket id (a string or a number)"
        ),
        "{e}"
    );
}

#[tokio::test]
async fn a_missing_token_file_is_named_and_nothing_is_sent() {
    let (addr, log) = receiver(201, r#"{"id": 1}"#, false).await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.token");
    let s = settings(addr, missing.clone(), NESTED, "/id");
    let e = ticket::post(&s, "t", "b", &vars()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "ticket token file {}: cannot read: no such file or directory",
            missing.display()
        )
    );
    std::fs::write(&missing, "  \n").unwrap();
    let e = ticket::post(&s, "t", "b", &vars()).await.unwrap_err();
    assert!(
        e.to_string()
            .ends_with("nope.token: is empty: expected the webhook's bearer token"),
        "{e}"
    );
    assert!(log.lock().unwrap().is_empty());
}

#[tokio::test]
async fn the_token_never_appears_in_errors_or_debug_output() {
    let dir = tempfile::tempdir().unwrap();
    // A receiver that echoes the Authorization header back in its error.
    let (addr, _) = receiver(401, "unauthorized", true).await;
    let s = settings(addr, token_file(dir.path()), NESTED, "/id");
    let e = ticket::post(&s, "t", "b", &vars()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "ticket webhook http://{addr}/api/tickets answered 401: unauthorized (you sent: Bearer ***)"
        )
    );
    // Nothing listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead: SocketAddr = ([127, 0, 0, 1], port).into();
    let s2 = settings(dead, token_file(dir.path()), NESTED, "/id");
    let e2 = ticket::post(&s2, "t", "b", &vars()).await.unwrap_err();
    assert_eq!(
        e2.to_string(),
        format!("ticket webhook http://{dead}/api/tickets: cannot connect: connection refused")
    );
    // A token with a blank inside cannot be sent; the error says so without showing it.
    std::fs::write(dir.path().join("ticket.token"), format!("{TOKEN} extra")).unwrap();
    let e3 = ticket::post(&s, "t", "b", &vars()).await.unwrap_err();
    assert!(e3.to_string().contains("its content is not shown"), "{e3}");
    for text in [
        e.to_string(),
        format!("{e:?}"),
        e2.to_string(),
        format!("{e2:?}"),
        e3.to_string(),
        format!("{e3:?}"),
        format!("{s:?}"),
    ] {
        assert!(!text.contains(TOKEN), "{text}");
    }
}
