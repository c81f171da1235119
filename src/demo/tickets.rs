//! The demo site's ticket system: a small HTTP/1.1 receiver on 127.0.0.1 for `[ticket]`, as a
//! customer's ticket webhook would be. A POST to `/api/tickets` with the demo's bearer token
//! and a JSON body opens a ticket and answers 201 with its id (`{"id": "DEMO-1001"}`); a POST
//! carrying an `Idempotency-Key` it has seen answers the ticket it already opened (200), so a
//! resumed DRP run never opens a second one. Anything else is refused with the usual status.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Where tickets are posted.
pub(crate) const PATH: &str = "/api/tickets";
/// The longest request head and body read.
const MAX_HEAD: usize = 8 * 1024;
const MAX_BODY: usize = 64 * 1024;
/// A client that stalls is dropped after this.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The first ticket's number.
const FIRST: u32 = 1001;

/// A ticket the demo's ticket system received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoTicket {
    /// The id it answered (`DEMO-1001`, …).
    pub id: String,
    /// The JSON fields of the post (`title`, `body`, `reference`), as sent.
    pub title: String,
    pub body: String,
    pub reference: String,
    pub idempotency_key: Option<String>,
}

/// The receiver: its port, its token, what it received.
#[derive(Debug)]
pub(crate) struct Desk {
    port: u16,
    token: String,
    received: Mutex<Vec<DemoTicket>>,
}

impl Desk {
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// Every ticket opened, oldest first.
    pub(crate) fn tickets(&self) -> Vec<DemoTicket> {
        self.received
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The answer to one request: status, reason and JSON body.
    fn handle(&self, req: &Request) -> (u16, &'static str, String) {
        let err = |code, reason, why: &str| {
            (
                code,
                reason,
                serde_json::json!({ "error": why }).to_string(),
            )
        };
        if req.path != PATH {
            return err(404, "Not Found", "no such resource");
        }
        if req.method != "POST" {
            return err(405, "Method Not Allowed", "tickets are opened by POST");
        }
        let auth = req.header("authorization").unwrap_or("");
        let given = auth
            .strip_prefix("Bearer ")
            .or_else(|| auth.strip_prefix("bearer "));
        if given.map(str::trim) != Some(self.token.as_str()) {
            return err(401, "Unauthorized", "a valid bearer token is required");
        }
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(&req.body) else {
            return err(400, "Bad Request", "the body is not JSON");
        };
        let field = |k: &str| {
            json.get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let key = req.header("idempotency-key").map(str::to_string);
        let mut received = self.received.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(k) = &key
            && let Some(t) = received
                .iter()
                .find(|t| t.idempotency_key.as_ref() == Some(k))
        {
            return (200, "OK", serde_json::json!({ "id": t.id }).to_string());
        }
        let title = field("title");
        if title.is_empty() {
            return err(422, "Unprocessable Entity", "a ticket needs a title");
        }
        let n = FIRST + u32::try_from(received.len()).unwrap_or(u32::MAX - FIRST);
        let ticket = DemoTicket {
            id: format!("DEMO-{n}"),
            title,
            body: field("body"),
            reference: field("reference"),
            idempotency_key: key,
        };
        tracing::info!(id = ticket.id, title = ticket.title, "demo ticket opened");
        let answer = serde_json::json!({ "id": ticket.id, "status": "open" }).to_string();
        received.push(ticket);
        (201, "Created", answer)
    }
}

/// One request as read.
#[derive(Debug, Default)]
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The head of a request (`None`: not HTTP) and the body length it announces.
fn parse_head(head: &[u8]) -> Option<(Request, usize)> {
    let text = std::str::from_utf8(head).ok()?;
    let mut lines = text.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?;
    if !first.next()?.starts_with("HTTP/1.") {
        return None;
    }
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let req = Request {
        method,
        path: target.split(['?', '#']).next().unwrap_or("").to_string(),
        headers,
        body: Vec::new(),
    };
    let length = match req.header("content-length") {
        Some(v) => v.parse().ok()?,
        None => 0,
    };
    Some((req, length))
}

/// Bind 127.0.0.1 on an ephemeral port; the returned future serves until it is dropped.
pub(crate) async fn start(
    token: String,
) -> io::Result<(Arc<Desk>, impl Future<Output = ()> + Send + 'static)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let desk = Arc::new(Desk {
        port: listener.local_addr()?.port(),
        token,
        received: Mutex::new(Vec::new()),
    });
    let serving = {
        let desk = desk.clone();
        async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                tokio::spawn(serve(tcp, desk.clone()));
            }
        }
    };
    Ok((desk, serving))
}

/// One request, one answer, then the connection closes.
async fn serve<S>(mut stream: S, desk: Arc<Desk>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let read = tokio::time::timeout(READ_TIMEOUT, async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if buf.len() > MAX_HEAD {
                return None;
            }
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
        };
        let (mut req, length) = parse_head(buf.get(..end).unwrap_or_default())?;
        if length > MAX_BODY {
            return None;
        }
        let mut body = buf.get(end..).unwrap_or_default().to_vec();
        while body.len() < length {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            body.extend_from_slice(chunk.get(..n).unwrap_or_default());
        }
        body.truncate(length);
        req.body = body;
        Some(req)
    })
    .await;
    let (code, reason, body) = match read {
        Ok(Some(req)) => desk.handle(&req),
        Ok(None) => (
            400,
            "Bad Request",
            "{\"error\": \"unreadable request\"}".into(),
        ),
        Err(_) => return,
    };
    let reply = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drp::ticket::{TicketVars, post};

    async fn desk() -> (Arc<Desk>, tokio::task::JoinHandle<()>, tempfile::TempDir) {
        let (desk, serving) = start("s3cret".into()).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
        (desk, tokio::spawn(serving), dir)
    }

    fn settings(port: u16, dir: &std::path::Path, token: &str) -> crate::config::TicketSettings {
        std::fs::write(dir.join(token), format!("{token}\n")).unwrap();
        let text = format!(
            "[site]\nname = \"t\"\n[[hosts]]\nname = \"a\"\naddress = \"127.0.0.1\"\n\
             role = \"production\"\ndatacenter = \"dc1\"\n\
             [ticket]\nurl = \"http://127.0.0.1:{port}{PATH}\"\ntoken_file = {file:?}\n\
             template = '{{\"title\": \"{{{{title}}}}\", \"body\": \"{{{{body}}}}\", \
             \"reference\": \"{{{{order}}}}\"}}'\nid_pointer = \"/id\"\n",
            file = dir.join(token).to_str().unwrap(),
        );
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        crate::config::load(&path).unwrap().ticket.unwrap()
    }

    fn vars(step: u32) -> TicketVars {
        TicketVars {
            site: "demo".into(),
            run_id: "20261128T230000Z-ab12".into(),
            step,
            order: "ORD-7".into(),
            ..TicketVars::default()
        }
    }

    #[tokio::test]
    async fn the_crates_own_post_opens_a_ticket_once() {
        let (desk, task, dir) = desk().await;
        let s = settings(desk.port(), dir.path(), "s3cret");
        let id = post(&s, "[DRILL] DRP finalised", "body", &vars(4))
            .await
            .unwrap();
        assert_eq!(id.0, "DEMO-1001");
        // The same step posted again (a resume): the same ticket, none opened.
        let again = post(&s, "[DRILL] DRP finalised", "body", &vars(4))
            .await
            .unwrap();
        assert_eq!(again.0, "DEMO-1001");
        let other = post(&s, "Switchover", "b", &vars(5)).await.unwrap();
        assert_eq!(other.0, "DEMO-1002");
        let t = desk.tickets();
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[0].title, "[DRILL] DRP finalised");
        assert_eq!(t[0].reference, "ORD-7");
        task.abort();
    }

    #[tokio::test]
    async fn a_wrong_token_is_refused() {
        let (desk, task, dir) = desk().await;
        let s = settings(desk.port(), dir.path(), "wrong");
        let e = post(&s, "t", "b", &vars(1)).await.unwrap_err();
        assert!(e.to_string().contains("401"), "{e}");
        assert!(desk.tickets().is_empty());
        task.abort();
    }

    #[test]
    fn heads_are_read_or_refused() {
        let (r, n) = parse_head(
            b"POST /api/tickets?x=1 HTTP/1.1\r\nContent-Length: 12\r\nIdempotency-Key: k\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.method.as_str(), r.path.as_str(), n), ("POST", PATH, 12));
        assert_eq!(r.header("IDEMPOTENCY-KEY"), Some("k"));
        assert!(parse_head(b"\xff\xfe\r\n\r\n").is_none());
        assert!(parse_head(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n").is_none());
        assert!(parse_head(b"GET /\r\n\r\n").is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse_head(&raw);
        }
    }
}
