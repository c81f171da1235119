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

/// Every dataset, from the hosts' latest snapshots (the console and `vigie check` alike).
pub fn evaluate_snapshots<'a>(
    config: &Config,
    snapshots: impl Iterator<Item = &'a crate::collect::HostSnapshot> + Clone,
    now: jiff::Timestamp,
) -> Vec<DatasetReport> {
    let readings = snapshots
        .clone()
        .flat_map(|s| s.backups.iter().map(|(id, r)| (*id, r.clone())))
        .collect();
    let notes = snapshots
        .flat_map(|s| s.backup_notes.iter().map(|(id, n)| (*id, n.clone())))
        .collect();
    evaluate_all(config, &readings, &notes, now)
}

/// Adds the restore-time estimate to each dataset: the newest backup's bytes over the
/// throughput from the server holding it to the DRP server (measured from that server, else
/// measured from another backup server, else `[drp] throughput`), plus the import.
pub fn attach_rto(
    config: &Config,
    reports: &mut [DatasetReport],
    measured: &super::throughput::Measurements,
    now: jiff::Timestamp,
) {
    use super::rto::Import;
    let configured = config.drp.as_ref().and_then(|d| d.throughput);
    for report in reports.iter_mut() {
        let Some(ds) = config.dataset(&report.name) else {
            continue;
        };
        let from = report.newest.as_ref().map(|n| n.host.as_str());
        // Only measurements to today's DRP server count (the site may have moved it).
        let drp = config.drp.as_ref().map(|d| d.drp.as_str());
        let to_drp = |m: &&super::throughput::Measurement| Some(m.to.as_str()) == drp;
        let m = from
            .and_then(|h| measured.by_host.get(h))
            .filter(to_drp)
            .or_else(|| {
                measured
                    .by_host
                    .values()
                    .filter(to_drp)
                    .max_by_key(|m| m.at)
            });
        let (rate, source) = match (m, configured) {
            (Some(m), _) => (
                m.bytes_per_second(),
                format!(
                    "{} {} ago from {}",
                    if m.run.is_some() {
                        "the last DRP copy,"
                    } else {
                        "measured"
                    },
                    super::evaluate::human(now.duration_since(m.at).as_secs().max(0) as u64),
                    m.from
                ),
            ),
            (None, Some(c)) => (c, "configured".to_string()),
            (None, None) => {
                report.rto = Some(super::rto::RtoEstimate {
                    bytes: report.newest.as_ref().and_then(|n| n.bytes),
                    copy_s: None,
                    import_s: None,
                    total_s: None,
                    state: crate::checks::State::Unknown,
                    summary: "throughput to the DRP server not measured yet".into(),
                });
                continue;
            }
        };
        // A database takes as long to import as it did the last time (journal).
        let import = match ds.restore {
            Some(
                super::model::Restore::Postgresql { .. } | super::model::Restore::Mysql { .. },
            ) => measured
                .imports
                .get(&ds.name)
                .map_or(Import::Unknown, |i| Import::Seconds(i.seconds)),
            _ => Import::None,
        };
        let mut e = super::rto::estimate_dataset(report, rate, import);
        e.summary = format!("{} ({source})", e.summary);
        report.rto = Some(e);
    }
}

/// Every dataset, from the copy readings gathered so far (by copy id; a missing id means its
/// host has not been read).
pub fn evaluate_all(
    config: &Config,
    readings: &BTreeMap<usize, CopyReading>,
    notes: &BTreeMap<usize, Vec<String>>,
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
            let mut report = evaluate(ds, &per_copy, &info, &tz, now);
            // What the parser noticed goes with the copy's check (the checks come one per copy,
            // in copy order, first); a capture time guessed from the end of the backup makes
            // the window look shorter than it is: not OK without saying so.
            for (ci, check) in report.checks.iter_mut().take(ds.copies.len()).enumerate() {
                let Some(said) = notes.get(&copy_id(config, di, ci)) else {
                    continue;
                };
                check.summary = format!("{}; {}", check.summary, said.join("; "));
                if check.state == crate::checks::State::Ok
                    && said
                        .iter()
                        .any(|n| n.contains(crate::probe::parse::backup::CAPTURE_FROM_MTIME))
                {
                    check.state = crate::checks::State::Warn;
                }
            }
            report.state = crate::checks::worst(report.checks.iter().map(|c| c.state));
            // Reasons may quote a server's own words (a restic error, a file name): inert
            // before they reach any output.
            for c in &mut report.checks {
                crate::text::sanitize_in_place(&mut c.summary);
            }
            report
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::model::Backup;
    use crate::checks::State;

    const CONFIG: &str = r#"
[site]
name = "t"
[ssh]
use_ssh_config = false
user = "root"
[[hosts]]
name = "prod"
role = "production"
datacenter = "dc1"
[[hosts]]
name = "backup-a"
role = "backup"
datacenter = "dc1"
[[hosts]]
name = "backup-b"
role = "backup"
datacenter = "dc2"
[[datasets]]
name = "userdb"
max_loss = "2h"
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/userdb"
every = "2h"
pattern = "*.dump"
[[datasets]]
name = "files"
max_loss = "24h"
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/files"
every = "24h"
days = "even"
pattern = "files-*"
[[datasets.copies]]
host = "backup-b"
path = "/var/backups/files"
every = "24h"
days = "odd"
pattern = "files-*"
"#;

    fn config() -> Config {
        crate::config::parse(CONFIG, std::path::Path::new("/etc/vigie/config.toml")).unwrap()
    }

    #[test]
    fn each_host_reads_its_own_copies_under_stable_ids() {
        let c = config();
        let ids = |h: &str| probes_for(&c, h).iter().map(|p| p.id).collect::<Vec<_>>();
        assert_eq!(ids("backup-a"), [0, 1]);
        assert_eq!(ids("backup-b"), [2]);
        assert!(ids("prod").is_empty());
        assert_eq!(copy_id(&c, 1, 1), 2);
        assert_eq!(probes_for(&c, "backup-b")[0].path, "/var/backups/files");
    }

    #[test]
    fn nothing_read_is_unknown_never_ok() {
        let c = config();
        let reports = evaluate_all(
            &c,
            &BTreeMap::new(),
            &BTreeMap::new(),
            jiff::Timestamp::now(),
        );
        assert_eq!(reports.len(), 2);
        for r in &reports {
            assert_eq!(r.loss_window_s, None);
            let window = r
                .checks
                .iter()
                .find(|c| c.id.ends_with(".loss_window"))
                .unwrap();
            assert_eq!(window.state, State::Unknown, "{window:?}");
        }
        let info = hosts_info(&c);
        assert_eq!(info.production_datacenter.as_deref(), Some("dc1"));
    }

    #[test]
    fn a_capture_time_guessed_from_the_end_is_said_and_not_ok() {
        let c = config();
        let now = jiff::Timestamp::now();
        let fresh = CopyReading::Found(vec![Backup {
            captured_at: now - jiff::SignedDuration::from_mins(20),
            finished_at: None,
            bytes: Some(1),
            name: "userdb.dump".into(),
        }]);
        let readings = BTreeMap::from([(0, fresh)]);
        let note = "capture time of 1 entry unknown (no birth time, no date in the name): taken as \
                    the last modification, so the loss may be longer by the backup's duration";
        let notes = BTreeMap::from([(0, vec![note.to_string()])]);
        let reports = evaluate_all(&c, &readings, &notes, now);
        let copy = &reports[0].checks[0];
        assert_eq!(copy.state, State::Warn, "{copy:?}");
        assert!(
            copy.summary.contains("taken as the last modification"),
            "{copy:?}"
        );
        // Without the note, the same reading is plainly OK.
        let reports = evaluate_all(&c, &readings, &BTreeMap::new(), now);
        assert_eq!(reports[0].checks[0].state, State::Ok);
    }
}
