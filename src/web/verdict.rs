//! What a URL test's outcome means: states and the one-line summary. Pure: the outcome in,
//! the check out.
//!
//! States (SPEC §4, and what it leaves open):
//! - a status in `expect` (default: any 2xx, and any 3xx when redirects are not followed) is
//!   fine; outside it, 5xx is CRIT, 4xx WARN, and any other status (1xx–3xx) WARN too: the
//!   server answers, only not as the test expects (a `contains`/`regex` is what catches a
//!   maintenance page served with a 200);
//! - content not found: CRIT (checked only when the status is accepted: a 500 page never holds
//!   the text, and the status says more);
//! - total delay over `warn`: WARN, over `crit`: CRIT;
//! - a certificate that expires within 14 days: WARN, within 3 days: CRIT;
//! - no answer at all (DNS, connect, TLS, timeout, a cut body): CRIT, naming the phase;
//! - the console could not run the test (its own TLS set-up, its local proxy): UNKNOWN.

use super::trace::Trace;
use crate::checks::{Check, State};
use crate::config::UrlTest;
use crate::probe::parse::clean;
use std::time::Duration;

/// The body is searched for the content in its first MiB (and read no further).
pub const MAX_BODY: usize = 1 << 20;
const CERT_WARN_DAYS: i64 = 14;
const CERT_CRIT_DAYS: i64 = 3;
const DAY: i64 = 86_400;

/// One redirect followed: its status and where it pointed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub status: u16,
    pub to: String,
}

/// What the body said about the content test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    NotTested,
    Found,
    /// Not in the first `searched` bytes; `truncated`: the body was longer.
    Missing {
        truncated: bool,
    },
}

/// The final response.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// Its `Location` header (a redirect that was not followed).
    pub location: Option<String>,
    /// From the start of the test until the final response's headers.
    pub headers_after: Duration,
    /// Until the body was read (up to [`MAX_BODY`]).
    pub total: Duration,
    pub content: Content,
}

/// Why there is no answer to judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// "dns", "connect", "TLS", "redirects", "no answer"…: the summary starts with it.
    pub label: String,
    pub reason: String,
    /// False when the console itself could not run the test: UNKNOWN, not CRIT.
    pub tested: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub answer: Result<Answer, Failure>,
    pub trace: Trace,
    pub redirects: Vec<Redirect>,
    /// Unix seconds when the test ran (certificate expiry is counted from it).
    pub now: i64,
}

/// The check `app.url.NAME` for `outcome`.
pub fn evaluate(test: &UrlTest, outcome: &Outcome) -> Check {
    let id = test.check_id();
    let via = test
        .via
        .as_deref()
        .map(|h| format!(" via {h}"))
        .unwrap_or_default();
    let hops = redirect_text(&outcome.redirects);
    let answer = match &outcome.answer {
        Ok(a) => a,
        Err(f) => {
            let mut reason = clean(&f.reason, 120);
            if f.label == "TLS"
                && reason.starts_with("certificate expired")
                && let Some((left, date)) = soonest_cert(&outcome.trace, outcome.now)
                && left < 0
            {
                reason = format!("{reason} {} ago ({date})", span_words(-left));
            }
            let state = if f.tested {
                State::Crit
            } else {
                State::Unknown
            };
            let summary = if f.tested {
                format!("{}: {reason}{via}{hops}", f.label)
            } else {
                format!("cannot test: {reason}")
            };
            return Check::new(id, state, summary);
        }
    };

    let mut problems: Vec<(State, String)> = Vec::new();
    let accepted = status_accepted(test, answer.status);
    let status_text = status_words(answer.status, answer.location.as_deref(), accepted);
    let status_part = if accepted {
        status_text
    } else {
        let state = match answer.status {
            500..=599 => State::Crit,
            _ => State::Warn,
        };
        problems.push((state, String::new()));
        let expected = if test.expect.is_empty() {
            String::new()
        } else {
            format!(
                " (expected {})",
                test.expect
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        format!("{status_text}{expected}")
    };
    if accepted && let (Some(m), Content::Missing { truncated }) = (&test.content, &answer.content)
    {
        let within = if *truncated { " in its first MiB" } else { "" };
        problems.push((
            State::Crit,
            format!("content: {} not found{within}", clean(&m.describe(), 60)),
        ));
    }
    let mut delay = format!("in {}", duration_words(answer.total));
    if answer.total > test.crit {
        problems.push((State::Crit, String::new()));
        delay.push_str(&format!(" > {}", duration_words(test.crit)));
    } else if answer.total > test.warn {
        problems.push((State::Warn, String::new()));
        delay.push_str(&format!(" > {}", duration_words(test.warn)));
    }
    if let Some((left, date)) = soonest_cert(&outcome.trace, outcome.now) {
        let state = if left < CERT_CRIT_DAYS * DAY {
            Some(State::Crit)
        } else if left < CERT_WARN_DAYS * DAY {
            Some(State::Warn)
        } else {
            None
        };
        if let Some(state) = state {
            let when = if left < 0 {
                format!("expired {} ago", span_words(-left))
            } else {
                format!("expires in {}", span_words(left))
            };
            problems.push((state, format!("certificate {when} ({date})")));
        }
    }
    let state = problems.iter().fold(State::Ok, |acc, (s, _)| acc.worst(*s));
    // The worst problems first; those already told by the status or delay part are empty.
    problems.sort_by_key(|(s, _)| std::cmp::Reverse(s.severity()));
    let mut notes: Vec<&str> = problems
        .iter()
        .map(|(_, t)| t.as_str())
        .filter(|t| !t.is_empty())
        .collect();
    let detail = format!(
        "{status_part} {delay}{via} ({}){hops}",
        phases(&outcome.trace, answer.headers_after)
    );
    notes.push(&detail);
    Check::new(id, state, notes.join("; ")).with_value(millis(answer.total), "ms")
}

/// Whether `status` is what the test accepts.
pub fn status_accepted(test: &UrlTest, status: u16) -> bool {
    if test.expect.is_empty() {
        (200..300).contains(&status) || (!test.follow_redirects && (300..400).contains(&status))
    } else {
        test.expect.contains(&status)
    }
}

/// "200", "500 Internal Server Error", "301 Moved Permanently → https://…": the reason
/// phrase is left out of an accepted 2xx only.
fn status_words(status: u16, location: Option<&str>, accepted: bool) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason());
    let mut text = match reason {
        Some(r) if !accepted || !(200..300).contains(&status) => format!("{status} {r}"),
        _ => status.to_string(),
    };
    if (300..400).contains(&status)
        && let Some(to) = location
    {
        text.push_str(&format!(" → {}", clean(to, 80)));
    }
    text
}

/// " after 301 → https://…, 302 → https://…" (the first three hops of a longer chain).
fn redirect_text(redirects: &[Redirect]) -> String {
    if redirects.is_empty() {
        return String::new();
    }
    const SHOWN: usize = 3;
    let hops: Vec<String> = redirects
        .iter()
        .take(SHOWN)
        .map(|r| format!("{} → {}", r.status, clean(&r.to, 80)))
        .collect();
    let more = if redirects.len() > SHOWN {
        format!(" … ({} in all)", redirects.len())
    } else {
        String::new()
    };
    format!(" after {}{more}", hops.join(", "))
}

/// "dns 1, connect 2, tls 20, first byte 60" (milliseconds, summed over redirect hops).
fn phases(trace: &Trace, headers_after: Duration) -> String {
    let mut parts = Vec::new();
    if let Some(d) = trace.dns {
        parts.push(format!("dns {}", d.as_millis()));
    }
    parts.push(format!("connect {}", trace.connect.as_millis()));
    if trace.handshakes > 0 {
        parts.push(format!("tls {}", trace.tls.as_millis()));
    }
    let setup = trace.dns.unwrap_or_default() + trace.connect + trace.tls;
    parts.push(format!(
        "first byte {}",
        headers_after.saturating_sub(setup).as_millis()
    ));
    parts.join(", ")
}

/// The certificate that expires first: seconds left (negative: expired) and its date.
fn soonest_cert(trace: &Trace, now: i64) -> Option<(i64, String)> {
    let not_after = trace.certs.iter().filter_map(|c| c.not_after).min()?;
    let date = jiff::Timestamp::from_second(not_after)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "?".into());
    Some((not_after.saturating_sub(now), date))
}

/// "2 d", "5 h", "12 min" (rounded down).
fn span_words(secs: i64) -> String {
    if secs >= DAY {
        format!("{} d", secs / DAY)
    } else if secs >= 3600 {
        format!("{} h", secs / 3600)
    } else {
        format!("{} min", (secs / 60).max(0))
    }
}

/// "84 ms", "1.4 s", "12 s".
pub fn duration_words(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 10_000 && !ms.is_multiple_of(1000) {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        format!("{} s", d.as_secs())
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
