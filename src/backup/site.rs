//! Backups across the site: which copies each host's probe reads, and every dataset
//! evaluated from the readings of all the hosts (a dataset spans several servers).

use super::evaluate::{DatasetReport, HostsInfo, evaluate};
use super::model::CopyReading;
use crate::config::{Config, Role};
use crate::probe::BackupProbe;
use std::collections::BTreeMap;

/// A copy's id in probe requests and snapshots: its position among all copies of all
/// datasets, in file order.
pub fn copy_id(config: &Config, dataset: usize, copy: usize) -> usize {
    config
        .datasets
        .iter()
        .take(dataset)
        .map(|d| d.copies.len())
        .sum::<usize>()
        + copy
}

/// The backup copies `host`'s probe must read.
pub fn probes_for(config: &Config, host: &str) -> Vec<BackupProbe> {
    let mut out = Vec::new();
    for (di, ds) in config.datasets.iter().enumerate() {
        for (ci, copy) in ds.copies.iter().enumerate() {
            if copy.host == host {
                out.push(BackupProbe {
                    id: copy_id(config, di, ci),
                    path: copy.path.clone(),
                    format: copy.format.clone(),
                });
            }
        }
    }
    out
}

/// Which datacenter each host is in, and production's.
pub fn hosts_info(config: &Config) -> HostsInfo {
    HostsInfo {
        datacenters: config
            .supervised()
            .map(|h| (h.name.clone(), h.datacenter.clone()))
            .collect(),
        production_datacenter: config
            .supervised()
            .find(|h| h.role == Role::Production)
            .map(|h| h.datacenter.clone()),
    }
}

/// Every dataset, from the copy readings gathered so far (by copy id; a missing id means its
/// host has not been read).
pub fn evaluate_all(
    config: &Config,
    readings: &BTreeMap<usize, CopyReading>,
    now: jiff::Timestamp,
) -> Vec<DatasetReport> {
    let info = hosts_info(config);
    let tz = jiff::tz::TimeZone::get(&config.site.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
    config
        .datasets
        .iter()
        .enumerate()
        .map(|(di, ds)| {
            let per_copy: Vec<(usize, Option<&CopyReading>)> = (0..ds.copies.len())
                .map(|ci| (ci, readings.get(&copy_id(config, di, ci))))
                .collect();
            evaluate(ds, &per_copy, &info, &tz, now)
        })
        .collect()
}
