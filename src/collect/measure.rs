//! The throughput measurement behind `T` on the Backups screen: a timed transfer from each
//! backup server to the DRP server over `[drp] transfer_ssh` (see
//! [`crate::backup::throughput`]), one server after the other so that they do not share the
//! link, each result kept in the state directory and sent to the console.

use crate::backup::throughput::{self, Measurement, Measurements};
use crate::config::Config;
use crate::ssh::Pool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// A transfer grows to 256 MiB at most: even at 2 MiB/s it ends within this.
const DEADLINE: Duration = Duration::from_secs(180);

#[derive(Debug, Clone)]
pub enum MeasureEvent {
    /// Measuring from this server now.
    From(String),
    /// One server's result.
    Result(String, Result<Measurement, String>),
    Done,
}

/// The backup servers holding copies, in configuration order, once each.
pub fn sources(config: &Config) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for copy in config.datasets.iter().flat_map(|d| &d.copies) {
        if !out.contains(&copy.host) {
            out.push(copy.host.clone());
        }
    }
    out
}

/// Measure from every backup server; results go to `tx` and to the state directory.
pub fn spawn(config: Arc<Config>, pool: Arc<Pool>, tx: UnboundedSender<MeasureEvent>) {
    tokio::spawn(async move {
        let Some(drp) = config.drp.clone() else {
            let _ = tx.send(MeasureEvent::Done);
            return;
        };
        let path = Measurements::path(&config.site.name);
        for host in sources(&config) {
            let _ = tx.send(MeasureEvent::From(host.clone()));
            let result = measure_one(&config, &pool, &host, &drp.drp, &drp.transfer_ssh).await;
            match &result {
                Ok(m) => {
                    tracing::info!(
                        "throughput {host} → {}: {} bytes in {:.2} s",
                        m.to,
                        m.bytes,
                        m.seconds
                    );
                    if let Some(path) = &path {
                        let mut kept = Measurements::load(path);
                        kept.by_host.insert(host.clone(), m.clone());
                        if let Err(e) = kept.save(path) {
                            tracing::warn!(
                                "cannot keep the measurement in {}: {e}",
                                path.display()
                            );
                        }
                    }
                }
                Err(e) => tracing::warn!("throughput {host}: {e}"),
            }
            let _ = tx.send(MeasureEvent::Result(host, result));
        }
        let _ = tx.send(MeasureEvent::Done);
    });
}

async fn measure_one(
    config: &Config,
    pool: &Pool,
    host: &str,
    drp: &str,
    transfer_ssh: &str,
) -> Result<Measurement, String> {
    let stdin = throughput::stdin(transfer_ssh, drp)
        .ok_or_else(|| "a NUL byte in transfer_ssh or the DRP host's name".to_string())?;
    let (conn, _) = pool.get(host).await.map_err(|e| format!("{host}: {e}"))?;
    let out = conn
        .exec(
            crate::probe::COMMAND,
            &stdin,
            // Nothing is printed before the transfer command has connected to the DRP server.
            config.ssh.connect_timeout.max(Duration::from_secs(30)),
            DEADLINE,
        )
        .await
        .map_err(|e| format!("{host}: {e}"))?;
    if out.timed_out {
        return Err(format!(
            "{host}: the timed transfer to {drp} did not end within {} s",
            DEADLINE.as_secs()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    throughput::parse(&text, host, drp, jiff::Timestamp::now())
}
