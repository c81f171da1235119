//! The DRP's ticket (SPEC §6, step kind `ticket`): one POST of the configured JSON template to
//! the ticket webhook, with the bearer token of `token_file`; the created ticket's id, found at
//! `id_pointer` in the answer, is what the journal records.
//!
//! Resume: every POST carries an `Idempotency-Key` header made of the run id and the step
//! number (the IETF httpapi draft "The Idempotency-Key HTTP Header Field", which Stripe and
//! others implement): a receiver that honours it answers a retried POST with the ticket it
//! already created instead of opening a second one. A receiver that ignores it may open two
//! tickets when the console died between sending and journaling: a resume should not re-post
//! such a step blindly (SPEC §6), but say so and let the operator choose.
//!
//! The token is read from its file at each post (a rotated token is picked up without a
//! restart), is marked sensitive in the request, and never appears in an error, a log line or a
//! Debug output: any error text that would hold it (a receiver echoing it back) has it masked.

use crate::config::TicketSettings;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest wait for the receiver's answer, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(30);
/// The most of an answer read: a ticket id is small, an error page is read for its first line.
const MAX_ANSWER: usize = 1 << 20;

/// The run a ticket is about: the template's placeholders besides `title` and `body`
/// (`crate::config::TICKET_PLACEHOLDERS`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TicketVars {
    pub site: String,
    pub runbook: String,
    /// drill, planned or emergency.
    pub mode: String,
    /// The order reference the operator typed.
    pub order: String,
    pub run_id: String,
    /// The step's number in the runbook (1-based).
    pub step: u32,
    pub operator: String,
    /// When the ticket is posted, as the engine writes times.
    pub now: String,
}

impl TicketVars {
    fn get(&self, name: &str) -> Option<String> {
        Some(match name {
            "site" => self.site.clone(),
            "runbook" => self.runbook.clone(),
            "mode" => self.mode.clone(),
            "order" => self.order.clone(),
            "run_id" => self.run_id.clone(),
            "step" => self.step.to_string(),
            "operator" => self.operator.clone(),
            "now" => self.now.clone(),
            _ => return None,
        })
    }

    /// `vigie-RUN-step-N`, only letters, digits, `.`, `_` and `-` (a header value).
    pub fn idempotency_key(&self) -> String {
        let run: String = self
            .run_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .take(100)
            .collect();
        format!("vigie-{run}-step-{}", self.step)
    }
}

/// The created ticket's id, as the receiver gave it (a number is kept in its decimal form).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketId(pub String);

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why no ticket id came back. None of these texts holds the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketError {
    /// The token file is missing, unreadable, empty, or holds what no header can carry.
    Token { file: PathBuf, reason: String },
    /// A placeholder without a value (a defect of the caller).
    Template(String),
    /// No answer: DNS, connection, TLS, timeout.
    Request { url: String, reason: String },
    /// An answer that is not 2xx.
    Status {
        url: String,
        status: u16,
        first_line: String,
    },
    /// A 2xx answer without a usable id.
    Answer {
        url: String,
        status: u16,
        reason: String,
    },
}

impl fmt::Display for TicketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TicketError::Token { file, reason } => {
                write!(f, "ticket token file {}: {reason}", file.display())
            }
            TicketError::Template(why) => write!(f, "ticket template: {why}"),
            TicketError::Request { url, reason } => write!(f, "ticket webhook {url}: {reason}"),
            TicketError::Status {
                url,
                status,
                first_line,
            } if first_line.is_empty() => {
                write!(f, "ticket webhook {url} answered {status} (empty body)")
            }
            TicketError::Status {
                url,
                status,
                first_line,
            } => write!(f, "ticket webhook {url} answered {status}: {first_line}"),
            TicketError::Answer {
                url,
                status,
                reason,
            } => write!(f, "ticket webhook {url} answered {status} but {reason}"),
        }
    }
}

impl std::error::Error for TicketError {}

/// The bearer token: never printed (its Debug is `***`).
struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

fn read_token(file: &Path) -> Result<Token, TicketError> {
    let err = |reason: String| TicketError::Token {
        file: file.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(file)
        .map_err(|e| err(format!("cannot read: {}", crate::web::tls::io_reason(&e))))?;
    let text = String::from_utf8(bytes).map_err(|_| err("not a text file".into()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(err("is empty: expected the webhook's bearer token".into()));
    }
    // RFC 6750's b64token, loosely: visible ASCII, no blanks (it is not shown here).
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(err(
            "holds blanks, control or non-ASCII characters, which a bearer token cannot have \
             (its content is not shown)"
                .into(),
        ));
    }
    Ok(Token(token.to_string()))
}

/// Posts one ticket: the template filled with `title`, `body` and `vars`, with the bearer
/// token read now from `settings.token_file`. A 2xx answer with an id (a string or a number) at
/// `settings.id_pointer` is the only success.
pub async fn post(
    settings: &TicketSettings,
    title: &str,
    body: &str,
    vars: &TicketVars,
) -> Result<TicketId, TicketError> {
    let token = read_token(&settings.token_file)?;
    let json = settings
        .template
        .render(|name| match name {
            "title" => Some(title.to_string()),
            "body" => Some(body.to_string()),
            other => vars.get(other),
        })
        .map_err(|name| {
            TicketError::Template(format!("placeholder {{{{{name}}}}} has no value"))
        })?;
    let key = vars.idempotency_key();
    let result = send(settings, &token, json, &key).await;
    if let Err(e) = &result {
        tracing::warn!(url = %settings.url, idempotency_key = %key, "ticket not created: {e}");
    }
    result.map_err(|e| mask(e, &token.0))
}

async fn send(
    settings: &TicketSettings,
    token: &Token,
    json: String,
    key: &str,
) -> Result<TicketId, TicketError> {
    let url = settings.url.to_string();
    let request_err = |reason: String| TicketError::Request {
        url: url.clone(),
        reason,
    };
    let tls = tls_config(settings).map_err(&request_err)?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        // The jump host talks to the ticket system directly, as everything else vigie reaches;
        // a redirect would re-send (or drop) the token somewhere else: both are refused.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent(concat!(
            "vigie/",
            env!("CARGO_PKG_VERSION"),
            " (DRP ticket)"
        ))
        .build()
        .map_err(|e| request_err(format!("HTTP client set-up: {}", chain(&e))))?;
    let mut auth =
        reqwest::header::HeaderValue::from_str(&format!("Bearer {}", token.0)).map_err(|_| {
            TicketError::Token {
                file: settings.token_file.clone(),
                reason: "cannot be sent in a header (its content is not shown)".into(),
            }
        })?;
    auth.set_sensitive(true);
    tracing::info!(%url, idempotency_key = %key, "posting a ticket");
    let mut answer = client
        .post(settings.url.clone())
        .header(reqwest::header::AUTHORIZATION, auth)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::ACCEPT, "application/json")
        .header("Idempotency-Key", key)
        .body(json)
        .send()
        .await
        .map_err(|e| request_err(request_words(&e)))?;
    let status = answer.status().as_u16();
    let location = answer
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| crate::probe::parse::clean(v, 200));
    let mut bytes = Vec::new();
    loop {
        match answer.chunk().await {
            Ok(Some(chunk)) => {
                bytes.extend_from_slice(&chunk);
                if bytes.len() >= MAX_ANSWER {
                    bytes.truncate(MAX_ANSWER);
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                return Err(request_err(format!(
                    "answered {status}, then the answer broke off: {}",
                    request_words(&e)
                )));
            }
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    if !(200..300).contains(&status) {
        let mut first_line = first_line(&text);
        if let (true, Some(to)) = ((300..400).contains(&status), location) {
            first_line =
                format!("a redirect to {to}, not followed: set `url` to the final address");
        }
        return Err(TicketError::Status {
            url,
            status,
            first_line,
        });
    }
    let answer_err = |reason: String| TicketError::Answer {
        url: url.clone(),
        status,
        reason,
    };
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|_| answer_err(format!("its body is not JSON: {}", shown(&text))))?;
    let pointer = &settings.id_pointer;
    match doc.pointer(pointer) {
        Some(serde_json::Value::String(s)) if !s.trim().is_empty() => {
            Ok(TicketId(crate::probe::parse::clean(s, 200)))
        }
        Some(serde_json::Value::Number(n)) => Ok(TicketId(n.to_string())),
        Some(other) => Err(answer_err(format!(
            "the value at {pointer:?} is {}, expected the ticket id (a string or a number)",
            json_kind(other)
        ))),
        None => Err(answer_err(format!(
            "without a ticket id at {pointer:?} (id_pointer): {}",
            shown(&text)
        ))),
    }
}

/// TLS as for URL tests (the system's roots plus `ca_file`); a plain http:// webhook needs no
/// roots, and must not fail on a jump host that has none.
fn tls_config(settings: &TicketSettings) -> Result<rustls::ClientConfig, String> {
    if settings.url.scheme() == "https" {
        return crate::web::tls::client_config(settings.ca_file.as_deref(), Default::default());
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up: {e}"))?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth())
}

/// The first non-blank line of an answer, made safe to show and cut.
fn first_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| crate::probe::parse::clean(l, 200))
        .unwrap_or_default()
}

fn shown(text: &str) -> String {
    match first_line(text) {
        l if l.is_empty() => "(empty body)".to_string(),
        l => l,
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "an empty string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn request_words(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    // reqwest's own text repeats the URL, already in the message: keep the causes.
    let mut causes = Vec::new();
    let mut cur = std::error::Error::source(e);
    while let Some(err) = cur {
        causes.push(err.to_string());
        cur = err.source();
    }
    let mut last = causes.last().cloned().unwrap_or_else(|| e.to_string());
    if let Some(i) = last.find(" (os error") {
        last.truncate(i);
    }
    let what = if e.is_connect() {
        "cannot connect: "
    } else {
        ""
    };
    format!(
        "{what}{}",
        crate::web::tls::lowercase_first(&crate::probe::parse::clean(&last, 200))
    )
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        parts.push(err.to_string());
        cur = err.source();
    }
    parts.join(": ")
}

/// `e` with every occurrence of the token replaced by `***`.
fn mask(e: TicketError, token: &str) -> TicketError {
    let m = |s: String| {
        if token.is_empty() {
            s
        } else {
            s.replace(token, "***")
        }
    };
    match e {
        TicketError::Token { file, reason } => TicketError::Token {
            file,
            reason: m(reason),
        },
        TicketError::Template(s) => TicketError::Template(m(s)),
        TicketError::Request { url, reason } => TicketError::Request {
            url: m(url),
            reason: m(reason),
        },
        TicketError::Status {
            url,
            status,
            first_line,
        } => TicketError::Status {
            url: m(url),
            status,
            first_line: m(first_line),
        },
        TicketError::Answer {
            url,
            status,
            reason,
        } => TicketError::Answer {
            url: m(url),
            status,
            reason: m(reason),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_header_safe() {
        let v = TicketVars {
            run_id: "2026-11-28T23:00:00Z/ab\u{1b}[31m c".into(),
            step: 4,
            ..Default::default()
        };
        let k = v.idempotency_key();
        assert_eq!(k, "vigie-2026-11-28T23-00-00Z-ab--31m-c-step-4");
        assert!(reqwest::header::HeaderValue::from_str(&k).is_ok());
    }

    #[test]
    fn the_token_is_masked_everywhere() {
        let e = TicketError::Status {
            url: "https://t.example.test/".into(),
            status: 401,
            first_line: "bad token s3cr3t-tok".into(),
        };
        let m = mask(e, "s3cr3t-tok");
        assert_eq!(
            m.to_string(),
            "ticket webhook https://t.example.test/ answered 401: bad token ***"
        );
        assert_eq!(format!("{:?}", Token("s3cr3t-tok".into())), "***");
    }

    #[test]
    fn answers_are_shown_by_their_first_line() {
        assert_eq!(
            first_line("\n\n  <h1>Internal\u{1b}[2J error</h1>\nmore"),
            "<h1>Internal\u{fffd}[2J error</h1>"
        );
        assert_eq!(shown(""), "(empty body)");
        assert_eq!(first_line(&"x".repeat(300)).chars().count(), 201);
    }
}
