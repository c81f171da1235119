//! Site-level checks, which belong to no host: URL tests (`app.url.NAME`) and DNS blocklists
//! (`network.dnsbl.IP`). The console and `vigie check` both use [`site_checks`]; the console
//! keeps a [`SiteChecks`] to look up blocklists every `[dnsbl] every` only, and show the last
//! answers in between.

use crate::checks::Check;
use crate::config::Config;
use crate::ssh::{Connection, Pool};
use crate::web::trace::{Phase, SharedTrace, lock};
use crate::web::{DialError, DialFuture, Dialed, Dialer, Direct, Stream};
use futures::future::join_all;
use std::time::{Duration, Instant};

/// Every URL test, run concurrently, then the blocklists when `dnsbl_due` (and configured).
/// One check per `[[urls]]` entry, in file order, then one per blocklisted address.
pub async fn site_checks(config: &Config, pool: &Pool, dnsbl_due: bool) -> Vec<Check> {
    let urls = join_all(config.urls.iter().map(|test| async move {
        match &test.via {
            None => crate::web::test_url(test, &Direct).await,
            Some(via) => {
                // The SSH connection to `via` first, outside the URL's clock: its set-up (a
                // key exchange, perhaps through a jump) is no part of the site's delay. Without
                // it the URL cannot be tested: UNKNOWN (via's own checks say why), not CRIT.
                if let Err(e) = pool.get(via).await {
                    return Check::unknown(
                        test.check_id(),
                        format!("cannot test through {via}: {e}"),
                    );
                }
                let only_host = test
                    .url
                    .host_str()
                    .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_string());
                crate::web::test_url(
                    test,
                    &Tunnel {
                        pool,
                        via,
                        only_host,
                    },
                )
                .await
            }
        }
    }));
    let blocklists = async {
        match &config.dnsbl {
            Some(settings) if dnsbl_due => crate::dnsbl::check_all(settings).await,
            _ => Vec::new(),
        }
    };
    let (mut checks, blocklists) = futures::join!(urls, blocklists);
    checks.extend(blocklists);
    checks
}

/// Site checks across refreshes: blocklists are looked up every `[dnsbl] every` only (they
/// rate-limit), their last answers kept in between.
#[derive(Debug, Default)]
pub struct SiteChecks {
    dnsbl_at: Option<Instant>,
    dnsbl: Vec<Check>,
}

impl SiteChecks {
    /// One refresh: every URL test now, blocklists when due; the blocklist checks returned
    /// between two lookups are the last ones.
    pub async fn refresh(&mut self, config: &Config, pool: &Pool) -> Vec<Check> {
        let due = match (&config.dnsbl, self.dnsbl_at) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(d), Some(at)) => at.elapsed() >= d.every,
        };
        let mut checks = site_checks(config, pool, due).await;
        let urls = config.urls.len().min(checks.len());
        if due {
            self.dnsbl = checks.split_off(urls);
            self.dnsbl_at = Some(Instant::now());
        }
        checks.extend(self.dnsbl.iter().cloned());
        checks
    }

    /// When the blocklists are next due, if configured.
    pub fn dnsbl_due_in(&self, config: &Config) -> Option<Duration> {
        let every = config.dnsbl.as_ref()?.every;
        Some(match self.dnsbl_at {
            None => Duration::ZERO,
            Some(at) => every.saturating_sub(at.elapsed()),
        })
    }
}

/// Opens each connection of a URL test as an SSH `direct-tcpip` channel from `via`'s
/// persistent connection: the far end resolves the name and connects, so the DNS phase is
/// theirs (reported as "via HOST") and "connect" is the channel's opening.
pub struct Tunnel<'a> {
    pub pool: &'a Pool,
    pub via: &'a str,
    /// The only host the tunnel opens channels to (the URL's own): a redirect elsewhere is not
    /// followed from inside the site, so a hostile site cannot make `via` connect to internal
    /// addresses and read their answers back.
    pub only_host: Option<String>,
}

impl Dialer for Tunnel<'_> {
    fn dial<'a>(&'a self, host: &'a str, port: u16, trace: &'a SharedTrace) -> DialFuture<'a> {
        Box::pin(async move {
            lock(trace).phase = Phase::Connect;
            if let Some(only) = &self.only_host
                && !only.eq_ignore_ascii_case(host.trim_start_matches('[').trim_end_matches(']'))
            {
                return Err(DialError::connect(format!(
                    "redirect to {} not followed through the tunnel from {} (only {only})",
                    crate::probe::parse::clean(host, 80),
                    self.via
                )));
            }
            let (conn, _) = self
                .pool
                .get(self.via)
                .await
                .map_err(|e| DialError::connect(format!("SSH to {}: {e}", self.via)))?;
            // The SSH connection is the console's, made before the test (see site_checks):
            // only the channel's opening is this URL's connect time.
            let started = Instant::now();
            let io = open_channel(&conn, host, port).await.map_err(|why| {
                DialError::connect(format!("{host}:{port}: {}", channel_refusal_words(&why)))
            })?;
            Ok(Dialed {
                io,
                dns: None,
                connect: started.elapsed(),
            })
        })
    }
}

/// Why the far sshd refused a channel, in words (russh names the RFC 4254 reason codes).
fn channel_refusal_words(why: &str) -> String {
    if why.contains("ConnectFailed") {
        "refused or unreachable from there".into()
    } else if why.contains("AdministrativelyProhibited") {
        "forwarding refused by its sshd (AllowTcpForwarding)".into()
    } else if why.contains("UnknownChannelType") {
        "its sshd does not forward connections".into()
    } else {
        crate::probe::parse::clean(why, 100)
    }
}

/// A `direct-tcpip` channel to host:port from `conn`, as a byte stream.
async fn open_channel(conn: &Connection, host: &str, port: u16) -> Result<Box<dyn Stream>, String> {
    conn.direct_tcpip(host, port)
        .await
        .map(|s| Box::new(s) as Box<dyn Stream>)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_refusals_in_words() {
        // What russh says when the far sshd refuses (seen on the lab's bastion).
        assert_eq!(
            channel_refusal_words("Failed to open channel (ConnectFailed)"),
            "refused or unreachable from there"
        );
        assert_eq!(
            channel_refusal_words("Failed to open channel (AdministrativelyProhibited)"),
            "forwarding refused by its sshd (AllowTcpForwarding)"
        );
        assert_eq!(channel_refusal_words("reset\u{1b}[0m"), "reset\u{fffd}[0m");
    }
}
