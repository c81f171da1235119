//! What one URL test saw while it ran: time spent in each phase, the certificates presented,
//! and where it failed. Filled from three places that reqwest does not connect together — the
//! local SOCKS dialer (DNS, connect), a connector layer (connect + TLS), the TLS verifier
//! (certificates) — and read once the request is over.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// The phases of one request, in order. Timeouts name the one the test was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    #[default]
    Dns,
    Connect,
    Tls,
    /// Request sent, waiting for the status line and headers.
    FirstByte,
    /// Reading the body.
    Body,
}

impl Phase {
    pub fn word(self) -> &'static str {
        match self {
            Phase::Dns => "dns",
            Phase::Connect => "connect",
            Phase::Tls => "TLS",
            Phase::FirstByte => "first byte",
            Phase::Body => "body",
        }
    }
}

/// A server certificate presented during a handshake (verified or not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSeen {
    /// The name the client asked for (SNI).
    pub server: String,
    /// notAfter, in Unix seconds; `None` when the certificate could not be decoded.
    pub not_after: Option<i64>,
}

/// Phase times add up over every connection of the test (one per redirect hop), the way curl
/// adds them with `-L`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trace {
    /// Name resolution by the console; `None` when no connection resolved a name here (an IP
    /// URL, or a tunnel whose far end resolves it).
    pub dns: Option<Duration>,
    /// TCP connect, or opening the SSH channel through a tunnel.
    pub connect: Duration,
    pub tls: Duration,
    /// Connections opened.
    pub connections: u32,
    /// TLS handshakes that reached certificate verification.
    pub handshakes: u32,
    pub certs: Vec<CertSeen>,
    /// The phase in progress (for "no answer within …").
    pub phase: Phase,
    /// Why a connection could not be opened, as the dialer saw it.
    pub failure: Option<(Phase, String)>,
}

pub type SharedTrace = Arc<Mutex<Trace>>;

/// The trace, even if a thread panicked while holding it (the data is plain counters).
pub fn lock(trace: &SharedTrace) -> MutexGuard<'_, Trace> {
    trace.lock().unwrap_or_else(|e| e.into_inner())
}

impl Trace {
    fn setup(&self) -> Duration {
        self.dns.unwrap_or_default() + self.connect
    }
}

/// A reqwest connector layer that times each connection: what is not DNS or connect (which
/// the dialer records) is the TLS handshake, when one happened.
#[derive(Clone)]
pub struct TimingLayer(pub SharedTrace);

impl<S> tower_layer::Layer<S> for TimingLayer {
    type Service = Timed<S>;
    fn layer(&self, inner: S) -> Timed<S> {
        Timed {
            inner,
            trace: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Timed<S> {
    inner: S,
    trace: SharedTrace,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, R> tower_service::Service<R> for Timed<S>
where
    S: tower_service::Service<R>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: R) -> Self::Future {
        let trace = self.trace.clone();
        let (setup_before, handshakes_before) = {
            let mut t = lock(&trace);
            t.connections += 1;
            t.phase = Phase::Dns;
            (t.setup(), t.handshakes)
        };
        let started = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let out = fut.await;
            let elapsed = started.elapsed();
            let mut t = lock(&trace);
            if out.is_ok() {
                if t.handshakes != handshakes_before {
                    // Also holds the local SOCKS exchange, a fraction of a millisecond.
                    let setup = t.setup().saturating_sub(setup_before);
                    t.tls += elapsed.saturating_sub(setup);
                }
                t.phase = Phase::FirstByte;
            }
            out
        })
    }
}
