//! Local HTTP requests of apps.sh (`@@probe http CLIENT URL`), whichever client made them
//! (curl, wget or bash's /dev/tcp), and the two status pages read through them: nginx's
//! stub_status and Apache's mod_status (`?auto`).

use super::super::{clean, leading_u64};
use super::Probe;

/// What a server said to one request, or why nothing was said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The HTTP status, when a server answered.
    pub code: Option<u16>,
    /// The body's lines, when the client printed it (wget's own messages may be among them).
    pub body: Vec<String>,
    /// Why there is no answer ("connection refused"), when there is none.
    pub error: Option<String>,
}

impl HttpAnswer {
    /// The body holds a line starting with `prefix`.
    pub fn has_line(&self, prefix: &str) -> bool {
        self.body.iter().any(|l| l.trim_start().starts_with(prefix))
    }
}

/// The status of a status line ("HTTP/1.1 200 OK", Tomcat's "HTTP/1.1 200 ").
fn status_line(line: &str) -> Option<u16> {
    let mut words = line.split_whitespace();
    if !words.next()?.starts_with("HTTP/") {
        return None;
    }
    let code = words.next()?;
    (code.len() == 3)
        .then(|| code.parse().ok())
        .flatten()
        .filter(|c| (100..600).contains(c))
}

/// A client's error message said the way an operator reads it.
fn error_text(raw: &str, timed_out: bool) -> String {
    let lower = raw.to_ascii_lowercase();
    if timed_out || lower.contains("timed out") {
        "no answer within 5 s".into()
    } else if lower.contains("connection refused") || lower.contains("couldn't connect") {
        "connection refused".into()
    } else if lower.contains("connection reset") {
        "connection reset".into()
    } else if raw.trim().is_empty() {
        "no answer".into()
    } else {
        clean(raw, 100)
    }
}

/// The answer one `http` probe got.
pub fn answer(p: &Probe) -> HttpAnswer {
    let client = p.args.first().map(String::as_str).unwrap_or("");
    let mut code = None;
    let mut body = Vec::new();
    let mut error = String::new();
    match client {
        "curl" => {
            // `-w '\n@@code %{http_code}\n'` comes last: the last such line is curl's own.
            let at = p.lines.iter().rposition(|l| l.starts_with("@@code "));
            if let Some(i) = at {
                code = p
                    .lines
                    .get(i)
                    .and_then(|l| l.get(7..))
                    .and_then(|c| c.trim().parse().ok())
                    .filter(|c| (100..600).contains(c));
            }
            for l in p
                .lines
                .get(..at.unwrap_or(p.lines.len()))
                .unwrap_or_default()
            {
                match l.strip_prefix("curl: (") {
                    Some(e) if error.is_empty() => {
                        error = e.split_once(") ").map_or(e, |(_, m)| m).to_string();
                    }
                    _ => body.push(l.clone()),
                }
            }
            while body.last().is_some_and(|l| l.trim().is_empty()) {
                body.pop();
            }
        }
        "wget" => {
            // -S puts the server's headers, indented by two spaces, on standard error, before
            // the body (whose own lines may be indented too).
            let mut in_headers = true;
            for l in &p.lines {
                let header = l.strip_prefix("  ").filter(|_| in_headers);
                if let Some(h) = header {
                    if let Some(c) = status_line(h) {
                        code = Some(c);
                    }
                } else {
                    in_headers = false;
                    if error.is_empty() && !l.trim().is_empty() {
                        error = l.clone();
                    }
                    body.push(l.clone());
                }
            }
        }
        _ => {
            // bash: the raw answer, status line first, body after the first blank line.
            let mut in_body = false;
            for (i, l) in p.lines.iter().enumerate() {
                if i == 0 {
                    code = status_line(l);
                    if code.is_none() {
                        error = l.strip_prefix("vigie: ").unwrap_or(l).to_string();
                    }
                } else if in_body {
                    body.push(l.clone());
                } else if l.trim().is_empty() {
                    in_body = true;
                }
            }
        }
    }
    let error = if code.is_some() {
        None
    } else {
        Some(error_text(&error, p.timed_out()))
    };
    HttpAnswer { code, body, error }
}

/// nginx's stub_status page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StubStatus {
    pub active: u64,
    pub accepts: Option<u64>,
    pub handled: Option<u64>,
    pub requests: Option<u64>,
    pub reading: Option<u64>,
    pub writing: Option<u64>,
    pub waiting: Option<u64>,
}

/// Reads a stub_status body: "Active connections: 1", then "server accepts handled requests"
/// and its three counters, then "Reading: 0 Writing: 1 Waiting: 0".
pub fn stub_status(body: &[String]) -> Option<StubStatus> {
    let mut lines = body.iter().map(|l| l.trim());
    let active = lines
        .by_ref()
        .find_map(|l| l.strip_prefix("Active connections:"))
        .and_then(leading_u64)?;
    let mut s = StubStatus {
        active,
        accepts: None,
        handled: None,
        requests: None,
        reading: None,
        writing: None,
        waiting: None,
    };
    let rest: Vec<&str> = lines.collect();
    if let Some(i) = rest.iter().position(|l| l.starts_with("server accepts")) {
        let n: Vec<Option<u64>> = rest
            .get(i + 1)
            .map(|l| l.split_whitespace().map(|w| w.parse().ok()).collect())
            .unwrap_or_default();
        s.accepts = n.first().copied().flatten();
        s.handled = n.get(1).copied().flatten();
        s.requests = n.get(2).copied().flatten();
    }
    for l in &rest {
        let words: Vec<&str> = l.split_whitespace().collect();
        for pair in words.chunks(2) {
            let value = pair.get(1).and_then(|v| v.parse().ok());
            match pair.first().copied() {
                Some("Reading:") => s.reading = value,
                Some("Writing:") => s.writing = value,
                Some("Waiting:") => s.waiting = value,
                _ => {}
            }
        }
    }
    Some(s)
}

/// Apache's `server-status?auto`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    pub busy: Option<u64>,
    pub idle: Option<u64>,
    pub version: Option<String>,
}

/// Reads a mod_status `?auto` body; `None` unless it has BusyWorkers or a Scoreboard (the
/// page Apache 2.2 and 2.4 both print). Worker counts missing from the page come from the
/// scoreboard: "_" waits for a connection, "." is an empty slot, any other letter is busy.
pub fn server_status(body: &[String]) -> Option<ServerStatus> {
    let mut busy = None;
    let mut idle = None;
    let mut version = None;
    let mut board: Option<&str> = None;
    for l in body {
        let Some((key, value)) = l.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "BusyWorkers" => busy = leading_u64(value),
            "IdleWorkers" => idle = leading_u64(value),
            "ServerVersion" => version = Some(clean(value, 60)),
            "Scoreboard" => board = Some(value),
            _ => {}
        }
    }
    if busy.is_none() && board.is_none() {
        return None;
    }
    if let Some(b) = board {
        let count = |f: fn(&char) -> bool| b.chars().filter(f).count() as u64;
        busy = busy.or(Some(count(|c| *c != '_' && *c != '.')));
        idle = idle.or(Some(count(|c| *c == '_')));
    }
    Some(ServerStatus {
        busy,
        idle,
        version,
    })
}

#[cfg(test)]
#[path = "http_tests.rs"]
mod tests;
