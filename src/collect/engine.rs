//! The running collector: one task per supervised host, each on its own refresh schedule,
//! sending owned snapshots over a channel. Nothing here is shared with the render path.

use super::{HostSnapshot, HostTracker, RefreshSettings, refresh_host};
use crate::config::Config;
use crate::ssh::Pool;
use std::sync::Arc;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

pub struct Engine {
    pool: Arc<Pool>,
    tasks: Vec<JoinHandle<()>>,
    /// One per task: `notify_one` keeps the wake-up for a task that is mid-refresh, so a
    /// refresh asked for during one is not lost.
    wakes: Vec<Arc<Notify>>,
}

impl Engine {
    /// Start refreshing every supervised host of `config` through `pool`.
    pub fn spawn(
        config: Arc<Config>,
        pool: Arc<Pool>,
        tx: mpsc::UnboundedSender<HostSnapshot>,
    ) -> Engine {
        let settings = RefreshSettings::from_config(&config);
        let mut wakes = Vec::new();
        let engine_pool = pool.clone();
        let tasks = config
            .supervised()
            .map(|host| {
                let host = host.clone();
                let tracker = HostTracker::new(&config, &host.name);
                let pool = pool.clone();
                let tx = tx.clone();
                let wake = Arc::new(Notify::new());
                wakes.push(wake.clone());
                let refresh = config.site.refresh;
                tokio::spawn(async move {
                    let mut tracker = tracker;
                    let mut tick = tokio::time::interval(refresh);
                    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
                    let mut due = tick.tick().await; // the first tick is immediate
                    loop {
                        let mut snap = refresh_host(&pool, &host, &mut tracker, settings).await;
                        snap.stats.due = Some(due.into_std());
                        if tx.send(snap).is_err() {
                            return; // nobody listens any more
                        }
                        due = tokio::select! {
                            due = tick.tick() => due,
                            _ = wake.notified() => {
                                tick.reset();
                                tokio::time::Instant::now()
                            }
                        };
                    }
                })
            })
            .collect();
        Engine {
            pool: engine_pool,
            tasks,
            wakes,
        }
    }

    /// Refresh every host now instead of at its next tick (`r` in the console).
    /// Backoffs are forgotten first, so a host that was down is tried again at once.
    pub fn refresh_now(&self) {
        let pool = self.pool.clone();
        let wakes = self.wakes.clone();
        tokio::spawn(async move {
            pool.retry_now().await;
            for wake in &wakes {
                wake.notify_one();
            }
        });
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
