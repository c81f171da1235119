//! Reports of one refresh of the site: the JSON of SPEC §4 and a readable table. Both are
//! built from the same [`SiteReport`], which the console shows too.

pub mod json;
pub mod table;

use crate::checks::{Check, State};
use crate::collect::HostSnapshot;
use crate::config::Config;
use crate::console_host::ConsoleSnapshot;
use serde::Serialize;

/// One host in a report.
#[derive(Debug, Clone, Serialize)]
pub struct HostReport {
    pub name: String,
    pub role: &'static str,
    pub datacenter: String,
    pub address: String,
    pub state: State,
    pub reachable: bool,
    pub host_key_alert: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub refreshed_at: Option<jiff::Timestamp>,
    /// Age of the newest good reading, seconds; absent if the host never answered.
    pub reading_age_s: Option<f64>,
    pub checks: Vec<Check>,
}

/// The whole site at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct SiteReport {
    pub site: String,
    pub state: State,
    pub generated_at: jiff::Timestamp,
    pub hosts: Vec<HostReport>,
    /// Backup datasets: freshness per server, the data-loss window, the policy.
    pub datasets: Vec<crate::backup::evaluate::DatasetReport>,
    /// Checks that belong to no host or dataset (URLs, blocklists).
    pub checks: Vec<Check>,
    pub active_site: Option<String>,
    /// The jump host running Vigie. Not counted in `state`: a busy console host is not a
    /// site problem, but it makes readings late, so it is shown.
    pub console: Option<ConsoleSnapshot>,
}

impl SiteReport {
    /// Assemble a report; `snapshots` may miss hosts that never reported (shown UNKNOWN).
    pub fn build(
        config: &Config,
        snapshots: &[HostSnapshot],
        site_checks: Vec<Check>,
        console: Option<ConsoleSnapshot>,
        now: jiff::Timestamp,
    ) -> SiteReport {
        let hosts: Vec<HostReport> = config
            .supervised()
            .map(|h| {
                let snap = snapshots.iter().find(|s| s.name == h.name);
                match snap {
                    Some(s) => HostReport {
                        name: h.name.clone(),
                        role: h.role.word(),
                        datacenter: h.datacenter.clone(),
                        address: h.address.clone(),
                        state: s.state,
                        reachable: s.error.is_none(),
                        host_key_alert: s.host_key_alert,
                        error: s
                            .error
                            .as_ref()
                            .map(|e| crate::text::sanitize(&e.to_string())),
                        refreshed_at: Some(s.refreshed_at),
                        reading_age_s: s.reading_at.map(|r| age_seconds(now, r)),
                        checks: s.checks.clone(),
                    },
                    None => HostReport {
                        name: h.name.clone(),
                        role: h.role.word(),
                        datacenter: h.datacenter.clone(),
                        address: h.address.clone(),
                        state: State::Unknown,
                        reachable: false,
                        host_key_alert: false,
                        error: Some("no reading yet".into()),
                        refreshed_at: None,
                        reading_age_s: None,
                        checks: vec![Check::unknown("system.availability", "no reading yet")],
                    },
                }
            })
            .collect();
        let mut datasets = crate::backup::site::evaluate_snapshots(config, snapshots.iter(), now);
        let measured = crate::backup::throughput::Measurements::path(&config.site.name)
            .map(|p| crate::backup::throughput::Measurements::load(&p))
            .unwrap_or_default();
        // What the DRP runs measured (a real copy, a real import) counts too.
        let events = crate::drp::journal::Journal::for_site(&config.site.name)
            .and_then(|j| j.read().ok())
            .map(|r| r.events)
            .unwrap_or_default();
        let measured = measured.with_journal(&crate::backup::journal_rates::read(config, &events));
        crate::backup::site::attach_rto(config, &mut datasets, &measured, now);
        let state = crate::checks::worst(
            hosts
                .iter()
                .map(|h| h.state)
                .chain(datasets.iter().map(|d| d.state))
                .chain(site_checks.iter().map(|c| c.state)),
        );
        let active_site = config
            .supervised()
            .find(|h| h.role == crate::config::Role::Production)
            .map(|h| h.name.clone());
        SiteReport {
            site: config.site.name.clone(),
            state,
            generated_at: now,
            hosts,
            datasets,
            checks: site_checks,
            active_site,
            console,
        }
    }
}

fn age_seconds(now: jiff::Timestamp, then: jiff::Timestamp) -> f64 {
    let s = (now - then).as_secs_f64();
    (s.max(0.0) * 10.0).round() / 10.0
}
