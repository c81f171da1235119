//! The steps that act on the site's outside: the DNS switch (and a drill's read-only check)
//! and waiting for a check to be OK.

use super::remote;
use super::{Runner, StepOut, ips};
use crate::drp::engine::{RunUpdate, send};
use crate::drp::job;
use crate::text::sanitize;
use std::time::{Duration, Instant};

impl Runner<'_> {
    // -----------------------------------------------------------------------------------------
    // dns

    pub(super) async fn dns(
        &mut self,
        new_address: &str,
        expected_old: &str,
        verify_only: bool,
    ) -> StepOut {
        let Some(settings) = self.e.config.dns.clone() else {
            return StepOut::failed("no [dns] section: the record cannot be switched");
        };
        let (old, new) = match ips(expected_old, new_address) {
            Ok(p) => p,
            Err(e) => return StepOut::failed(e),
        };
        let tz = jiff::tz::TimeZone::get(&self.plan.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        if verify_only {
            let r = crate::drp::dns::drill(&settings, old).await;
            let s = r.summary(&tz);
            return if r.ok() {
                StepOut::done(s.clone()).verified(s)
            } else {
                StepOut::failed(s)
            };
        }
        use crate::drp::dns::{DnsError, SwitchOutcome};
        let switched = match crate::drp::dns::switch(&settings, old, new).await {
            Ok(SwitchOutcome::Refused(r)) => {
                return StepOut::failed(SwitchOutcome::Refused(r).summary());
            }
            Ok(o) => o,
            Err(e @ (DnsError::Key { .. } | DnsError::Request(_))) => {
                return StepOut::failed(format!("{e}; nothing was sent"));
            }
            Err(e) => {
                return StepOut::unknown(format!(
                    "{e}; whether the update was applied is unknown: resume checks the record"
                ));
            }
        };
        let v = crate::drp::dns::verify(
            &settings.servers,
            &settings.record,
            new,
            settings.verify_timeout,
            switched.ttl(),
        )
        .await;
        let mut out = if v.ok {
            StepOut::done(format!("{}; {}", switched.summary(), v.summary(&tz)))
        } else {
            StepOut::failed(format!(
                "{}, but not every server follows: {}",
                switched.summary(),
                v.summary(&tz)
            ))
        }
        .verified(v.summary(&tz));
        if let Some(t) = v.ttl {
            out = out.with("dns_ttl", t);
        }
        if let Some(f) = v.follow_by {
            out = out.with("follow_by", f.to_string());
        }
        out
    }

    // -----------------------------------------------------------------------------------------
    // wait

    pub(super) async fn wait(
        &mut self,
        n: usize,
        check: &str,
        host: Option<&str>,
        timeout_s: u64,
    ) -> StepOut {
        let began = Instant::now();
        let timeout = Duration::from_secs(timeout_s);
        let every = self
            .e
            .config
            .site
            .refresh
            .clamp(Duration::from_secs(2), Duration::from_secs(30));
        loop {
            let seen = remote::read_check(&self.e.config, &self.e.pool, check, host).await;
            let line = match &seen {
                Ok(c) => format!("{} {}: {}", c.id, c.state.word(), sanitize(&c.summary)),
                Err(e) => format!("{check}: {}", sanitize(e)),
            };
            if let Ok(c) = &seen
                && c.state == crate::checks::State::Ok
            {
                return StepOut::done(line.clone()).verified(line);
            }
            let waited = began.elapsed();
            if waited >= timeout {
                return StepOut::failed(format!(
                    "still not OK after {}: {line}",
                    job::span(timeout)
                ));
            }
            send(
                Some(self.tx),
                RunUpdate::Progress {
                    n,
                    fraction: None,
                    rate: None,
                    eta: Some(timeout.saturating_sub(waited)),
                    summary: line,
                },
            );
            tokio::time::sleep(every.min(timeout.saturating_sub(waited))).await;
        }
    }
}
