//! URL tests (`app.url.NAME`, SPEC §4), run from the console with reqwest.
//!
//! One test is one GET, following up to 5 redirects, with its phases timed: DNS and connect by
//! vigie's own dialer (every connection goes through a local SOCKS5 proxy, see [`socks`]), TLS
//! by a connector layer, first byte when the headers arrive, total once the body (at most
//! 1 MiB) is read. Certificates are recorded by the TLS verifier itself, so an expired one is
//! reported with its date. Through `via`, the dialer is an SSH tunnel from a site host and the
//! name is resolved over there.
//!
//! A fresh client per test: no pooled connection or TLS session hides a phase, and nothing of
//! one test (cookies, redirect memory) leaks into the next.

pub mod socks;
pub mod tls;
pub mod trace;
pub mod verdict;

pub use socks::{DialError, DialFuture, Dialed, Dialer, Direct, Stream};
pub use trace::{Phase, SharedTrace};

use crate::checks::Check;
use crate::config::{MAX_REDIRECTS, UrlTest};
use std::error::Error as StdError;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use trace::{TimingLayer, Trace, lock};
use verdict::{Answer, Content, Failure, MAX_BODY, Outcome, Redirect};

/// Runs one URL test, its connections opened by `dialer` ([`Direct`], or a tunnel), and judges
/// it. Never fails: every problem is in the check.
pub async fn test_url(test: &UrlTest, dialer: &dyn Dialer) -> Check {
    let outcome = run(test, dialer).await;
    verdict::evaluate(test, &outcome)
}

/// Runs one URL test and returns what it saw, unjudged.
pub async fn run(test: &UrlTest, dialer: &dyn Dialer) -> Outcome {
    let trace: SharedTrace = Arc::default();
    let redirects: Arc<Mutex<Vec<Redirect>>> = Arc::default();
    let now = jiff::Timestamp::now().as_second();
    let answer = match socks::Proxy::bind().await {
        Err(e) => Err(untested(format!(
            "cannot open a local port for the test: {}",
            tls::io_reason(&e)
        ))),
        Ok(proxy) => match client(test, &proxy, &trace, &redirects) {
            Err(why) => Err(untested(why)),
            Ok(client) => {
                let started = Instant::now();
                tokio::select! {
                    r = tokio::time::timeout(test.timeout, fetch(&client, test, &trace, started)) => {
                        match r {
                            Ok(answer) => answer,
                            Err(_) => Err(timed_out(test, &lock(&trace))),
                        }
                    }
                    () = proxy.serve(dialer, &trace) => Err(untested("the local proxy stopped")),
                }
            }
        },
    };
    let trace = lock(&trace).clone();
    let redirects = redirects.lock().map(|r| r.clone()).unwrap_or_default();
    Outcome {
        answer,
        trace,
        redirects,
        now,
    }
}

fn untested(reason: impl Into<String>) -> Failure {
    Failure {
        label: String::new(),
        reason: reason.into(),
        tested: false,
    }
}

fn failed(label: &str, reason: impl Into<String>) -> Failure {
    Failure {
        label: label.to_string(),
        reason: reason.into(),
        tested: true,
    }
}

fn timed_out(test: &UrlTest, trace: &Trace) -> Failure {
    failed(
        "no answer",
        format!(
            "nothing within {} (during {})",
            verdict::duration_words(test.timeout),
            trace.phase.word()
        ),
    )
}

fn client(
    test: &UrlTest,
    proxy: &socks::Proxy,
    trace: &SharedTrace,
    redirects: &Arc<Mutex<Vec<Redirect>>>,
) -> Result<reqwest::Client, String> {
    let tls = tls::client_config(test.ca_file.as_deref(), trace.clone())?;
    let proxy_url = proxy
        .url()
        .map_err(|e| format!("local proxy: {}", tls::io_reason(&e)))?;
    let proxy = reqwest::Proxy::all(proxy_url).map_err(|e| format!("local proxy: {e}"))?;
    let policy = if test.follow_redirects {
        let log = redirects.clone();
        reqwest::redirect::Policy::custom(move |attempt| {
            if let Ok(mut log) = log.lock() {
                log.push(Redirect {
                    status: attempt.status().as_u16(),
                    to: attempt.url().to_string(),
                });
            }
            // `previous` holds the first URL and each one already followed.
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(format!("more than {MAX_REDIRECTS}"))
            } else {
                attempt.follow()
            }
        })
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .proxy(proxy)
        .connector_layer(TimingLayer(trace.clone()))
        .redirect(policy)
        // A new connection per request, so that each redirect hop is timed whole.
        .pool_max_idle_per_host(0)
        .user_agent(concat!("vigie/", env!("CARGO_PKG_VERSION"), " (URL test)"))
        .build()
        .map_err(|e| format!("HTTP client set-up: {}", chain_text(&e)))
}

async fn fetch(
    client: &reqwest::Client,
    test: &UrlTest,
    trace: &SharedTrace,
    started: Instant,
) -> Result<Answer, Failure> {
    let mut response = match client.get(test.url.clone()).send().await {
        Ok(r) => r,
        Err(e) => return Err(classify(&e, &lock(trace))),
    };
    let headers_after = started.elapsed();
    lock(trace).phase = trace::Phase::Body;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut body = Vec::new();
    let mut truncated = false;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_BODY.saturating_sub(body.len());
                if chunk.len() > room {
                    body.extend_from_slice(chunk.get(..room).unwrap_or_default());
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => return Err(failed("body", last_words(&e))),
        }
    }
    let total = started.elapsed();
    let content = match &test.content {
        None => Content::NotTested,
        Some(m) if m.is_found_in(&String::from_utf8_lossy(&body)) => Content::Found,
        Some(_) => Content::Missing { truncated },
    };
    Ok(Answer {
        status,
        location,
        headers_after,
        total,
        content,
    })
}

/// A reqwest error in the words of the phase it happened in.
fn classify(e: &reqwest::Error, trace: &Trace) -> Failure {
    if let Some((phase, reason)) = &trace.failure {
        return failed(phase.word(), reason.clone());
    }
    if let Some(tls) = find_rustls(e) {
        return failed("TLS", tls::describe_tls_error(tls));
    }
    if e.is_redirect() {
        return failed("redirects", last_words(e));
    }
    if e.is_connect() {
        // Failures after the dialer succeeded: the TLS handshake or the proxy exchange.
        let label = if trace.phase == trace::Phase::Tls {
            "TLS"
        } else {
            "connect"
        };
        return failed(label, last_words(e));
    }
    failed("request", last_words(e))
}

/// The rustls error behind a reqwest error, if any. io::Error hides its payload from
/// `source()` (it returns the payload's own source), so each io::Error is opened too.
fn find_rustls<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&'a (dyn StdError + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(r) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(r);
        }
        cur = err.source();
    }
    None
}

/// The innermost cause of an error, in words ("connection refused").
fn last_words(e: &(dyn StdError + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    match last.downcast_ref::<std::io::Error>() {
        Some(io) => tls::io_reason(io),
        None => tls::lowercase_first(&last.to_string()),
    }
}

/// Every level of an error, "outer: inner: innermost".
fn chain_text(e: &(dyn StdError + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        parts.push(err.to_string());
        cur = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
