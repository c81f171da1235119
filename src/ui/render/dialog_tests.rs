//! The confirmation popup, on the alert ticket: what it shows at 120×30 and 80×24, that only
//! the word typed in full confirms (Enter alone never does), Esc cancels, and that without a
//! webhook it shows the text to copy and confirms nothing.

use super::super::fixtures::{lose, press, screen, site};
use super::wrap;
use crate::ui::state::ConsoleState;
use crate::ui::update::Effect;
use crossterm::event::KeyCode;

fn with_alert_dialog() -> ConsoleState {
    let mut st = site();
    lose(&mut st, &["prod"], 6 * 60);
    assert_eq!(press(&mut st, KeyCode::Char('A')), Effect::None);
    assert!(st.dialog.is_some(), "A opens the dialog");
    st
}

fn typing(st: &mut ConsoleState, text: &str) {
    for c in text.chars() {
        assert_eq!(press(st, KeyCode::Char(c)), Effect::None);
    }
}

#[test]
fn the_alert_dialog_120x30_and_80x24() {
    let mut st = with_alert_dialog();
    let text = screen(&st, 120, 30);
    insta::assert_snapshot!("alert_dialog_120x30", text);
    assert!(
        text.contains("Confirming posts the ticket below to the ticket webhook"),
        "{text}"
    );
    assert!(
        text.contains("https://tickets.example.test/api/tickets."),
        "{text}"
    );
    assert!(
        text.contains(
            "Title: [1stKYC] INCIDENT: production prod unreachable for 6 min (since 23:08)"
        ),
        "{text}"
    );
    assert!(
        text.contains("type YES and Enter to send · Esc cancels"),
        "{text}"
    );
    insta::assert_snapshot!("alert_dialog_80x24", screen(&st, 80, 24));
    // The rest of the ticket scrolls into view; the prompt stays.
    for _ in 0..30 {
        press(&mut st, KeyCode::Down);
    }
    let text = screen(&st, 80, 24);
    assert!(text.contains("The DRP is NOT activated"), "{text}");
    assert!(text.contains("type YES and Enter to send"), "{text}");
}

#[test]
fn only_yes_typed_in_full_sends_it() {
    let mut st = with_alert_dialog();
    // Enter on nothing typed: no default.
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::None);
    assert!(st.dialog.is_some() && st.outbox.is_none());
    let text = screen(&st, 120, 30);
    assert!(
        text.contains("type YES exactly (nothing else confirms), or Esc to cancel"),
        "{text}"
    );
    // Keys that are actions elsewhere are only letters here.
    typing(&mut st, "yes");
    assert_eq!(st.screen, crate::ui::state::Screen::Overview);
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::None);
    assert!(st.outbox.is_none());
    typing(&mut st, "YESS");
    press(&mut st, KeyCode::Backspace);
    let shown = st.dialog.as_ref().map(|d| d.ticket.clone()).unwrap();
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::SendAlert);
    assert!(st.dialog.is_none());
    // Exactly the ticket shown, under the incident's key; the banner says it is on its way.
    let out = st.outbox.clone().unwrap();
    assert_eq!(Some(out.ticket), shown);
    assert_eq!(out.key, crate::ui::incident::current(&st)[0].key());
    assert!(screen(&st, 120, 30).contains("sending the alert ticket…"));
    // The event loop's answer.
    st.outbox = None;
    st.on_alert(out.key, Ok("T-4711".into()));
    assert!(screen(&st, 120, 30).contains("alert ticket T-4711 sent at 23:14"));
}

#[test]
fn esc_cancels_and_sends_nothing() {
    let mut st = with_alert_dialog();
    typing(&mut st, "YES");
    assert_eq!(press(&mut st, KeyCode::Esc), Effect::None);
    assert!(st.dialog.is_none() && st.outbox.is_none() && st.alert.is_none());
    // `q` typed in the dialog is a letter, not quit.
    press(&mut st, KeyCode::Char('A'));
    assert_eq!(press(&mut st, KeyCode::Char('q')), Effect::None);
    assert_eq!(st.dialog.as_ref().unwrap().input, "q");
}

#[test]
fn without_a_webhook_the_text_is_shown_to_copy() {
    let mut st = site();
    let mut config = (*st.config).clone();
    config.ticket = None;
    st.config = std::sync::Arc::new(config);
    lose(&mut st, &["backup-b", "drp"], 7 * 60);
    press(&mut st, KeyCode::Char('A'));
    let d = st.dialog.clone().unwrap();
    assert_eq!(d.confirm_word, None);
    let text = screen(&st, 120, 30);
    assert!(
        text.contains(
            "No ticket webhook is configured ([ticket] in the configuration): copy this text"
        ),
        "{text}"
    );
    assert!(text.contains("Esc closes"), "{text}");
    assert!(!text.contains("type YES"), "{text}");
    assert!(text.contains("datacenter dc2 lost"), "{text}");
    typing(&mut st, "YES");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::None);
    assert!(st.outbox.is_none());
    press(&mut st, KeyCode::Esc);
    assert!(st.dialog.is_none());
}

#[test]
fn a_second_send_waits_for_the_first() {
    let mut st = with_alert_dialog();
    typing(&mut st, "YES");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::SendAlert);
    press(&mut st, KeyCode::Char('A'));
    typing(&mut st, "YES");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::None);
}

#[test]
fn wrapping_keeps_words_and_indents() {
    assert_eq!(
        wrap(
            "- prod (production, dc1): CRIT, unreachable since 23:08",
            24,
            "    "
        ),
        [
            "- prod (production,",
            "    dc1): CRIT,",
            "    unreachable since",
            "    23:08"
        ]
    );
    assert_eq!(wrap("", 10, ""), [""]);
    assert_eq!(wrap("  two", 10, ""), ["  two"]);
    assert_eq!(
        wrap("abcdefghijklmnopqrst", 8, ""),
        ["abcdefgh", "ijklmnop", "qrst"]
    );
}

proptest::proptest! {
    #[test]
    fn wrapping_never_panics_nor_overflows(text in "\\PC{0,200}", width in 0usize..60, indent in " {0,6}") {
        let lines = wrap(&text, width, &indent);
        let limit = width.max(indent.chars().count() + 8);
        for l in &lines {
            proptest::prop_assert!(l.chars().count() <= limit, "{l:?} over {limit}");
        }
    }
}

/// A ticket receiver on 127.0.0.1: answers 201 {"id": "T-1"}, hands back the request.
async fn receiver() -> (std::net::SocketAddr, tokio::sync::oneshot::Receiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = stream.read(&mut chunk).await.unwrap_or(0);
            buf.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&buf).to_string();
            let done = text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().to_string())
                    })
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                body.len() >= length
            });
            if n == 0 || done {
                let out = r#"{"id": "T-1"}"#;
                let answer = format!(
                    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
                    out.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
                let _ = tx.send(text);
                return;
            }
        }
    });
    (addr, rx)
}

#[tokio::test]
async fn yes_posts_the_ticket_shown_and_the_banner_gives_its_id() {
    let (addr, request) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("ticket.token");
    std::fs::write(&token, "tok-alert-test\n").unwrap();
    let mut st = with_alert_dialog();
    let mut config = (*st.config).clone();
    config.ticket = Some(crate::config::TicketSettings {
        url: format!("http://{addr}/api/tickets").parse().unwrap(),
        token_file: token,
        template: crate::config::Template::parse(
            r#"{"title": "{{title}}", "body": "{{body}}", "site": "{{site}}"}"#,
        )
        .unwrap(),
        id_pointer: "/id".into(),
        ca_file: None,
    });
    let config = std::sync::Arc::new(config);
    st.config = config.clone();
    typing(&mut st, "YES");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::SendAlert);
    let out = st.outbox.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    crate::ui::spawn_alert(&config, &st, out.clone(), tx);
    let (key, result) = rx.recv().await.unwrap();
    assert_eq!(result, Ok("T-1".to_string()));
    st.on_alert(key, result);
    assert!(screen(&st, 120, 30).contains("alert ticket T-1 sent at 23:14"));
    // What the receiver got: the ticket shown, the token as a bearer, the incident's key.
    let got = request.await.unwrap();
    let (head, body) = got.split_once("\r\n\r\n").unwrap();
    assert!(
        head.contains("authorization: Bearer tok-alert-test"),
        "{head}"
    );
    assert!(
        head.contains(&format!("idempotency-key: vigie-alert-{}-step-0", out.key)),
        "{head}"
    );
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["title"], out.ticket.title);
    assert_eq!(json["body"], out.ticket.body);
    assert_eq!(json["site"], "1stKYC");
}
