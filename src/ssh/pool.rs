//! Persistent connections, one per host, shared as jumps, reconnected with backoff.

use super::SshError;
use super::backoff::Backoff;
use super::session::{Connection, Target, TransportOptions};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How to reach one host: its target and, optionally, the host it jumps through.
#[derive(Debug, Clone)]
pub struct Route {
    pub target: Target,
    pub jump: Option<String>,
}

#[derive(Default)]
struct Slot {
    conn: Option<Arc<Connection>>,
    backoff: Option<Backoff>,
    retry_at: Option<Instant>,
    last_error: Option<SshError>,
}

type GetFuture<'a> = std::pin::Pin<
    Box<dyn Future<Output = Result<(Arc<Connection>, Freshness), SshError>> + Send + 'a>,
>;

/// A connection was reused or freshly made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    Reused,
    New,
}

pub struct Pool {
    routes: HashMap<String, Route>,
    opts: TransportOptions,
    slots: HashMap<String, Mutex<Slot>>,
    /// Backoff bounds; the first retry waits about `base`.
    backoff_base: Duration,
    backoff_max: Duration,
}

impl Pool {
    pub fn new(routes: Vec<Route>, opts: TransportOptions) -> Self {
        let slots = routes
            .iter()
            .map(|r| (r.target.name.clone(), Mutex::new(Slot::default())))
            .collect();
        Pool {
            routes: routes
                .into_iter()
                .map(|r| (r.target.name.clone(), r))
                .collect(),
            opts,
            slots,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
        }
    }

    pub fn options(&self) -> &TransportOptions {
        &self.opts
    }

    /// The connection to `name`, reusing a live one or connecting (through its jumps) now.
    /// While backing off after a failure, the last error is returned without a new attempt.
    pub fn get<'a>(&'a self, name: &'a str) -> GetFuture<'a> {
        Box::pin(async move {
            let (Some(route), Some(slot)) = (self.routes.get(name), self.slots.get(name)) else {
                return Err(SshError::Protocol(format!("no host named {name}")));
            };
            let mut slot = slot.lock().await;
            if let Some(conn) = &slot.conn {
                if !conn.is_closed() {
                    return Ok((conn.clone(), Freshness::Reused));
                }
                slot.conn = None;
            }
            if let (Some(at), Some(err)) = (slot.retry_at, &slot.last_error)
                && Instant::now() < at
            {
                return Err(err.clone());
            }
            let via = match &route.jump {
                None => None,
                Some(jump) => match self.get(jump).await {
                    Ok((c, _)) => Some(c),
                    Err(e) => {
                        let err = SshError::Jump {
                            jump: jump.clone(),
                            reason: e.to_string(),
                        };
                        // Not this host's fault: its jump's own backoff paces the retries.
                        return Err(err);
                    }
                },
            };
            match Connection::open(&route.target, &self.opts, via.as_deref()).await {
                Ok(conn) => {
                    let conn = Arc::new(conn);
                    slot.conn = Some(conn.clone());
                    slot.backoff = None;
                    slot.retry_at = None;
                    slot.last_error = None;
                    Ok((conn, Freshness::New))
                }
                Err(e) => {
                    let backoff = slot
                        .backoff
                        .get_or_insert_with(|| Backoff::new(self.backoff_base, self.backoff_max));
                    let wait = backoff.fail();
                    slot.retry_at = Some(Instant::now() + wait);
                    slot.last_error = Some(e.clone());
                    tracing::warn!(host = name, error = %e, retry_in = ?wait, "connection failed");
                    Err(e)
                }
            }
        })
    }

    /// Forget a connection that misbehaved (an exec that timed out): the next `get` reconnects.
    pub async fn drop_connection(&self, name: &str) {
        if let Some(slot) = self.slots.get(name) {
            slot.lock().await.conn = None;
        }
    }

    /// Forget every backoff: the next `get` of each host tries at once (the operator asked
    /// for a refresh now, or knows a host is back).
    pub async fn retry_now(&self) {
        for slot in self.slots.values() {
            slot.lock().await.retry_at = None;
        }
    }

    /// When the next attempt may be made, if backing off.
    pub async fn retry_at(&self, name: &str) -> Option<Instant> {
        match self.slots.get(name) {
            Some(slot) => slot.lock().await.retry_at,
            None => None,
        }
    }
}
