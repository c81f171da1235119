//! Collectors: SSH + probe → owned [`HostSnapshot`]s sent to whoever displays them.
//!
//! One task per host, so a host that is down, black-holed or frozen never delays another
//! host's refresh; each task owns its host's evaluation memory (CPU samples, SMART counters).

pub mod engine;
pub mod measure;
pub mod site;

use crate::backup::model::CopyReading;
use crate::checks::{self, Check, ExecTiming, HostMemory, State};
use crate::config::{Config, HostConfig};
use crate::probe::{BackupProbe, COMMAND, ProbeRequest, report::ProbeReport, sections};
use crate::ssh::pool::{Freshness, Pool, Route};
use crate::ssh::{ExecOutput, SshError, Target, TransportOptions};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// One refresh of one host, owned, ready to render or print.
#[derive(Debug, Clone)]
pub struct HostSnapshot {
    pub name: String,
    /// Console clock when this refresh finished.
    pub refreshed_at: jiff::Timestamp,
    /// When the newest successful reading was taken (older than `refreshed_at` when this
    /// refresh failed and earlier readings exist).
    pub reading_at: Option<jiff::Timestamp>,
    pub state: State,
    pub checks: Vec<Check>,
    /// Why this refresh failed, if it did.
    pub error: Option<SshError>,
    pub host_key_alert: bool,
    pub facts: HostFacts,
    pub stats: ExecStats,
    /// The backup copies this host holds, by copy id (see `backup::site`), as last read: they
    /// are read on slow refreshes only, and stay valid in between. Empty when this refresh
    /// failed: an unreachable server's backups cannot be vouched for.
    pub backups: BTreeMap<usize, CopyReading>,
    /// What the parser noticed while reading each copy (entries left out, a capture time
    /// guessed from the end of the backup…), for the copy's check.
    pub backup_notes: BTreeMap<usize, Vec<String>>,
}

/// What the probe says the host is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostFacts {
    pub hostname: Option<String>,
    pub kernel: Option<String>,
    pub os: Option<String>,
}

/// Cost of one refresh, for the status line and the benchmarks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecStats {
    /// Whether a new connection had to be made.
    pub new_connection: bool,
    /// Connect + key exchange + authentication, when a new connection was made.
    pub connect: Option<Duration>,
    /// Exec request → first byte of output.
    pub first_byte: Option<Duration>,
    /// Whole exec.
    pub exec: Option<Duration>,
    pub bytes_in: usize,
    pub slow_sections: bool,
    /// When this refresh was due (its tick of the host's schedule, or the moment `r` asked
    /// for it): the refresh latency is measured from here (`benches/scale.rs`).
    pub due: Option<std::time::Instant>,
}

/// How every refresh of a host is made.
#[derive(Debug, Clone, Copy)]
pub struct RefreshSettings {
    /// For the first byte of the probe's output: a host that cannot say its clock within the
    /// connect timeout is not answering.
    pub first_byte: Duration,
    /// For the whole exec; tripled on refreshes that run the slow sections.
    pub total: Duration,
    /// The slow sections run every Nth refresh.
    pub slow_every: u32,
    pub sudo: bool,
    /// The most backup copies one host holds (each may take its own budget).
    pub max_copies_per_host: u32,
    /// The largest allowance a host's applications and replication add (see [`app_allowance`]).
    pub max_app_allowance: Duration,
}

/// What each supervised application and each replication kind may add to a refresh's
/// deadline: their probes run one after the other under their own timeouts (a frozen mysqld
/// costs its 5 s), so a hung service is reported by its section, not the whole host cut short.
pub const PER_SERVICE_DEADLINE: Duration = Duration::from_secs(6);
pub const PER_REPLICATION_DEADLINE: Duration = Duration::from_secs(12);

/// The deadline allowance of a host's `services` and `replication`.
pub fn app_allowance(host: &crate::config::HostConfig) -> Duration {
    let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    PER_SERVICE_DEADLINE
        .saturating_mul(n(host.services.len()))
        .saturating_add(PER_REPLICATION_DEADLINE.saturating_mul(n(host.apps.replication.len())))
}

/// What one backup copy may add to a slow refresh's deadline: its section's own budget
/// (probe.sh) and some slack, so a hung repository is cut by the probe, not the host lost.
pub const PER_COPY_DEADLINE: Duration = Duration::from_secs(25);

/// SMART and quotas can take seconds per disk: a refresh that runs them gets this many times
/// the command deadline.
pub const SLOW_DEADLINE_FACTOR: u32 = 3;

impl RefreshSettings {
    pub fn from_config(config: &Config) -> Self {
        RefreshSettings {
            first_byte: config.ssh.connect_timeout,
            total: config.ssh.command_timeout,
            slow_every: config.ssh.slow_every,
            sudo: config.ssh.sudo,
            max_copies_per_host: config
                .supervised()
                .map(|h| crate::backup::site::probes_for(config, &h.name).len())
                .max()
                .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
            max_app_allowance: config
                .supervised()
                .map(app_allowance)
                .max()
                .unwrap_or_default(),
        }
    }

    /// The longest one refresh can take through `hops` connections.
    pub fn worst_case(&self, hops: u32) -> Duration {
        self.first_byte
            .saturating_mul(hops)
            .saturating_add(self.total.saturating_mul(SLOW_DEADLINE_FACTOR))
            .saturating_add(PER_COPY_DEADLINE.saturating_mul(self.max_copies_per_host))
            .saturating_add(self.max_app_allowance)
    }
}

/// The routes the pool needs: every host, supervised or only a jump.
pub fn routes(config: &Config) -> Vec<Route> {
    config.hosts.iter().map(route).collect()
}

fn route(host: &HostConfig) -> Route {
    let identities = if host.identities.is_empty() {
        crate::ssh::auth::default_identities()
    } else {
        host.identities.clone()
    };
    Route {
        target: Target {
            name: host.name.clone(),
            address: host.address.clone(),
            port: host.port,
            user: host.user.clone(),
            identities,
        },
        jump: host.jump.clone(),
    }
}

pub fn transport_options(config: &Config, accept_new: bool) -> TransportOptions {
    TransportOptions {
        known_hosts: config.ssh.known_hosts.clone(),
        accept_new,
        connect_timeout: config.ssh.connect_timeout,
        keepalive: config.ssh.keepalive,
    }
}

/// Per-host state a collector keeps between refreshes.
#[derive(Debug, Default)]
pub struct HostTracker {
    pub memory: HostMemory,
    pub refreshes: u64,
    pub last_reading: Option<jiff::Timestamp>,
    pub facts: HostFacts,
    /// The backup copies this host's probe reads (`backup::site::probes_for`).
    pub backup_probes: Vec<BackupProbe>,
    pub backups: BTreeMap<usize, CopyReading>,
    pub backup_notes: BTreeMap<usize, Vec<String>>,
    /// Where this host's SMART baseline is kept between runs, and what was last saved.
    smart_file: Option<std::path::PathBuf>,
    smart_saved: Option<crate::checks::host::SmartState>,
}

impl HostTracker {
    /// A tracker for `host`, with its SMART baseline from earlier runs when there is one.
    pub fn new(config: &Config, host: &str) -> Self {
        let smart_file = crate::paths::state_dir().map(|d| {
            d.join("smart").join(format!(
                "{}-{}.json",
                crate::paths::component(&config.site.name),
                crate::paths::component(host)
            ))
        });
        let mut tracker = HostTracker {
            backup_probes: crate::backup::site::probes_for(config, host),
            smart_file,
            ..Default::default()
        };
        if let Some(path) = &tracker.smart_file
            && let Ok(text) = std::fs::read_to_string(path)
        {
            match serde_json::from_str::<crate::checks::host::SmartState>(&text) {
                Ok(state) => {
                    tracker.memory.restore_smart_state(state.clone());
                    tracker.smart_saved = Some(state);
                }
                Err(e) => tracing::warn!(
                    path = %path.display(),
                    error = %e,
                    "SMART baseline unreadable: starting afresh"
                ),
            }
        }
        tracker
    }

    /// Save the SMART baseline when it changed (after a slow refresh).
    fn save_smart(&mut self) {
        let state = self.memory.smart_state();
        if self.smart_saved.as_ref() == Some(&state) {
            return;
        }
        let Some(path) = &self.smart_file else { return };
        match serde_json::to_vec_pretty(&state) {
            Ok(bytes) => match crate::paths::write_atomically(path, &bytes) {
                Ok(()) => self.smart_saved = Some(state),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot save the SMART baseline")
                }
            },
            Err(e) => tracing::warn!(error = %e, "cannot encode the SMART baseline"),
        }
    }
}

/// Refresh one host once: connect if needed, run the probe, evaluate.
pub async fn refresh_host(
    pool: &Pool,
    host: &HostConfig,
    tracker: &mut HostTracker,
    settings: RefreshSettings,
) -> HostSnapshot {
    let slow = tracker
        .refreshes
        .is_multiple_of(u64::from(settings.slow_every.max(1)));
    tracker.refreshes += 1;
    let mut stats = ExecStats {
        slow_sections: slow,
        ..Default::default()
    };
    // A refresh that reads SMART, quotas and backups gets more time: each backup copy adds
    // its own budget, so a hung repository is cut by the probe, not the host lost.
    let total = if slow {
        let copies = u32::try_from(tracker.backup_probes.len()).unwrap_or(u32::MAX);
        settings
            .total
            .saturating_mul(SLOW_DEADLINE_FACTOR)
            .saturating_add(PER_COPY_DEADLINE.saturating_mul(copies))
    } else {
        settings.total
    }
    .saturating_add(app_allowance(host));
    let result = async {
        let (conn, fresh) = pool.get(&host.name).await?;
        if fresh == Freshness::New {
            stats.new_connection = true;
            stats.connect = Some(conn.setup);
        }
        let mut request = ProbeRequest::new(
            slow,
            tracker.memory.needs_cpu_second_sample(),
            settings.sudo,
        )
        .with_apps(host.services.clone(), host.apps.replication.clone());
        // Backups change every hour or so, and reading a repository can take seconds: with
        // the other slow sections.
        if slow {
            request = request.with_backups(tracker.backup_probes.clone());
        }
        let exec_started = Instant::now();
        let out = conn
            .exec(COMMAND, &request.stdin(), settings.first_byte, total)
            .await;
        if let Err(e) = &out {
            // A connection that let an exec time out is not trusted for the next one.
            if matches!(e, SshError::NoAnswer(_) | SshError::Lost(_)) {
                pool.drop_connection(&host.name).await;
            }
        }
        let out = out?;
        stats.exec = Some(exec_started.elapsed());
        Ok::<_, SshError>((request, out))
    }
    .await;

    let now = jiff::Timestamp::now();
    match result {
        Ok((request, out)) => {
            stats.bytes_in = out.stdout.len() + out.stderr.len();
            stats.first_byte = Duration::try_from(out.first_byte - out.sent).ok();
            let sections = sections::split(&out.stdout, &request.nonce);
            let report = ProbeReport::from_sections(&sections);
            // Date the remote clock by the arrival of its own line, not of the first byte: a
            // login script may print before the probe starts.
            let clock_at = clock_offset(&out.stdout, &request.nonce)
                .map(|o| out.arrival_of(o))
                .unwrap_or(out.first_byte);
            tracing::debug!(
                host = host.name,
                round_trip = ?out.round_trip,
                to_first_byte = ?(out.first_byte - out.sent),
                to_clock = ?(clock_at - out.sent),
                "probe timing"
            );
            let timing = ExecTiming {
                sent: out.sent,
                first_byte: clock_at,
                round_trip: out.round_trip,
            };
            let mut list = vec![availability(&stats, &out, &request.nonce, total)];
            // Without even the clock line the probe never ran: nothing else to evaluate.
            if list[0].state != State::Unknown {
                list.extend(checks::evaluate(
                    host,
                    &report,
                    &timing,
                    &mut tracker.memory,
                ));
            }
            // Every id and summary may carry remote text (mount points, device models, process
            // names): make it inert here, once, for every consumer downstream.
            for c in &mut list {
                crate::text::sanitize_in_place(&mut c.id);
                crate::text::sanitize_in_place(&mut c.summary);
            }
            if request.backups.is_empty() {
                // Not read this time: keep the last readings.
            } else {
                tracker.backups.clear();
                tracker.backup_notes.clear();
                for b in &request.backups {
                    let parsed = report.backup_notes(b.id, &b.format);
                    tracker.backups.insert(b.id, parsed.reading);
                    if !parsed.notes.is_empty() {
                        tracker.backup_notes.insert(b.id, parsed.notes);
                    }
                }
            }
            if slow {
                tracker.save_smart();
            }
            tracker.last_reading = Some(now);
            tracker.facts = facts(&report);
            HostSnapshot {
                name: host.name.clone(),
                refreshed_at: now,
                reading_at: Some(now),
                state: checks::worst(list.iter().map(|c| c.state)),
                checks: list,
                error: None,
                host_key_alert: false,
                facts: tracker.facts.clone(),
                stats,
                backups: tracker.backups.clone(),
                backup_notes: tracker.backup_notes.clone(),
            }
        }
        Err(e) => {
            let alert = e.is_host_key_alert();
            let check = Check::new("system.availability", State::Crit, e.to_string());
            HostSnapshot {
                name: host.name.clone(),
                refreshed_at: now,
                reading_at: tracker.last_reading,
                state: State::Crit,
                checks: vec![check],
                error: Some(e),
                host_key_alert: alert,
                facts: tracker.facts.clone(),
                stats,
                backups: BTreeMap::new(),
                backup_notes: BTreeMap::new(),
            }
        }
    }
}

/// Offset of the end of the clock section in the probe's output.
fn clock_offset(stdout: &[u8], nonce: &str) -> Option<usize> {
    let marker = format!("@@VIGIE {nonce} END clock");
    stdout
        .windows(marker.len())
        .position(|w| w == marker.as_bytes())
}

/// `system.availability` of a host that answered: how fast, and whether the probe ran whole.
fn availability(stats: &ExecStats, out: &ExecOutput, nonce: &str, total: Duration) -> Check {
    const ID: &str = "system.availability";
    let ms = |d: Duration| (d.as_secs_f64() * 10_000.0).round() / 10.0;
    let (speed, value) = match (stats.connect, stats.first_byte) {
        (Some(c), _) => (format!("connected in {:.0} ms", ms(c)), Some(ms(c))),
        (None, Some(f)) => (format!("answered in {:.0} ms", ms(f)), Some(ms(f))),
        (None, None) => (String::new(), None),
    };
    let with_value = |c: Check| match value {
        Some(v) => c.with_value(v, "ms"),
        None => c,
    };
    if clock_offset(&out.stdout, nonce).is_none() {
        // A missing /bin/sh, a ForceCommand, a restricted key: say what the host said.
        let said = String::from_utf8_lossy(&out.stderr);
        let said = crate::probe::parse::clean(said.lines().next().unwrap_or(""), 160);
        let status = out
            .exit_status
            .map_or_else(|| "no exit status".to_string(), |s| format!("exit {s}"));
        let detail = if said.is_empty() {
            status
        } else {
            format!("{status}: {said}")
        };
        return with_value(Check::new(
            ID,
            State::Unknown,
            format!("ssh up, but the probe did not run ({detail})"),
        ));
    }
    if out.timed_out {
        return with_value(Check::new(
            ID,
            State::Warn,
            format!(
                "ssh up, {speed}; probe still running after {} s: cut short, later sections not read",
                total.as_secs()
            ),
        ));
    }
    if out.truncated {
        return with_value(Check::new(
            ID,
            State::Warn,
            format!("ssh up, {speed}; probe output over 8 MiB: cut"),
        ));
    }
    with_value(Check::new(ID, State::Ok, format!("ssh up, {speed}")))
}

fn facts(report: &ProbeReport) -> HostFacts {
    match &report.host {
        Ok(h) => HostFacts {
            hostname: Some(h.hostname.clone()),
            kernel: Some(h.kernel.clone()),
            os: h.os.clone(),
        },
        Err(_) => HostFacts::default(),
    }
}
