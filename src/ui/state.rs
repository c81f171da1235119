//! Everything the console shows, owned and updated from events: snapshots in, keys in.
//! Rendering reads it and never waits on anything.

use crate::checks::{Check, State};
use crate::collect::HostSnapshot;
use crate::config::{Config, Role};
use crate::console_host::ConsoleSnapshot;
use std::collections::{BTreeMap, VecDeque};

/// How many readings the sparklines keep (at 5 s, ten minutes).
pub const HISTORY: usize = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Overview,
    Host,
    Backups,
    Drp,
    Journal,
}

impl Screen {
    pub const ALL: [Screen; 5] = [
        Screen::Overview,
        Screen::Host,
        Screen::Backups,
        Screen::Drp,
        Screen::Journal,
    ];

    pub fn number(self) -> usize {
        match self {
            Screen::Overview => 1,
            Screen::Host => 2,
            Screen::Backups => 3,
            Screen::Drp => 4,
            Screen::Journal => 5,
        }
    }
}

/// The panes of the Host screen, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Hardware,
    System,
    Applications,
    Replication,
    Network,
}

impl Pane {
    pub fn next(self) -> Pane {
        match self {
            Pane::Hardware => Pane::System,
            Pane::System => Pane::Applications,
            Pane::Applications => Pane::Replication,
            Pane::Replication => Pane::Network,
            Pane::Network => Pane::Hardware,
        }
    }

    /// The pane a check of this id is shown in: URL tests go with the applications; what is
    /// not hardware, application or network is the system's.
    pub fn of(id: &str) -> Pane {
        if id.starts_with("hardware.") {
            Pane::Hardware
        } else if id.starts_with("app.replication.") {
            Pane::Replication
        } else if id.starts_with("app.") {
            Pane::Applications
        } else if id.starts_with("network.") {
            Pane::Network
        } else {
            Pane::System
        }
    }

    /// Whether a check of this id is shown in this pane.
    pub fn holds(self, id: &str) -> bool {
        Pane::of(id) == self
    }

    /// Hardware and System are always shown (a host always has system checks; "no check"
    /// under Hardware says there is nothing to watch); the others only when the host has some.
    pub fn always_shown(self) -> bool {
        matches!(self, Pane::Hardware | Pane::System)
    }
}

/// A supervised host as the console knows it.
#[derive(Debug, Clone)]
pub struct HostView {
    pub name: String,
    pub role: Role,
    pub datacenter: String,
    pub address: String,
    /// The newest refresh, good or failed.
    pub latest: Option<HostSnapshot>,
    /// The newest refresh that reached the host: its readings stay on screen, with their age,
    /// while the host does not answer.
    pub last_good: Option<HostSnapshot>,
    pub load: VecDeque<f64>,
    pub cpu: VecDeque<f64>,
    pub memory: VecDeque<f64>,
    /// The first failed refresh of the current run of failures (`None` while it answers):
    /// how long a host never read successfully has been silent (see `incident::reach`).
    pub failing_since: Option<jiff::Timestamp>,
}

impl HostView {
    pub fn state(&self) -> State {
        self.latest.as_ref().map_or(State::Unknown, |s| s.state)
    }

    pub fn reachable(&self) -> bool {
        self.latest.as_ref().is_some_and(|s| s.error.is_none())
    }

    /// The checks to show: the latest refresh's, or when it failed, its failure followed by
    /// the last good readings.
    pub fn checks(&self) -> Vec<&Check> {
        match (&self.latest, &self.last_good) {
            (Some(l), Some(g)) if l.error.is_some() => l
                .checks
                .iter()
                .chain(g.checks.iter().filter(|c| c.id != "system.availability"))
                .collect(),
            (Some(l), _) => l.checks.iter().collect(),
            (None, _) => Vec::new(),
        }
    }

    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks().into_iter().find(|c| c.id == id)
    }

    /// The value of a check in the last good reading.
    pub fn value(&self, id: &str) -> Option<f64> {
        self.last_good
            .as_ref()?
            .checks
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.value)
    }

    /// Non-OK checks, worst first.
    pub fn problems(&self) -> Vec<&Check> {
        let mut bad: Vec<&Check> = match &self.latest {
            Some(l) => l.checks.iter().filter(|c| c.state != State::Ok).collect(),
            None => Vec::new(),
        };
        bad.sort_by_key(|c| std::cmp::Reverse(c.state.severity()));
        bad
    }

    fn record(&mut self, snap: HostSnapshot) {
        if snap.error.is_none() {
            let find = |id: &str| {
                snap.checks
                    .iter()
                    .find(|c| c.id == id)
                    .and_then(|c| c.value)
            };
            push(&mut self.load, find("system.load"));
            push(&mut self.cpu, find("system.cpu"));
            push(&mut self.memory, find("system.memory"));
            self.last_good = Some(snap.clone());
            self.failing_since = None;
        } else if self.failing_since.is_none() {
            self.failing_since = Some(snap.refreshed_at);
        }
        self.latest = Some(snap);
    }
}

fn push(series: &mut VecDeque<f64>, value: Option<f64>) {
    if let Some(v) = value {
        if series.len() == HISTORY {
            series.pop_front();
        }
        series.push_back(v);
    }
}

/// The text-entry state of `/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub text: String,
    /// Keys go to the filter until Enter or Esc.
    pub editing: bool,
}

impl Filter {
    /// Case-insensitive match of any of the fields.
    pub fn matches(&self, fields: &[&str]) -> bool {
        if self.text.is_empty() {
            return true;
        }
        let needle = self.text.to_lowercase();
        fields.iter().any(|f| f.to_lowercase().contains(&needle))
    }
}

/// The DRP screen: which runbook and mode the plan is shown for, and the run followed.
#[derive(Debug, Clone, PartialEq)]
pub struct DrpView {
    /// Index into the configuration's runbooks.
    pub runbook: usize,
    pub mode: crate::drp::model::Mode,
    /// The lock on the DRP host as last read, for the screen to say who holds it. Filled by
    /// the engine side (the console does not read it by itself); `None`: not read.
    pub lock: Option<LockReading>,
    /// The run started or resumed from this console (shown instead of the plan).
    pub run: Option<crate::ui::drp_run::LiveRun>,
}

/// The DRP lock as read at `at`: its status, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockReading {
    pub at: jiff::Timestamp,
    pub status: Result<crate::drp::lock::LockStatus, String>,
}

/// The journal as last read (a task watches the file and reads it when it changes).
#[derive(Debug, Clone, Default)]
pub struct JournalView {
    /// Where it is; `None` without a state directory (no home directory).
    pub path: Option<std::path::PathBuf>,
    /// `None` until the first reading; `Err`: why the file could not be read.
    pub reading: Option<Result<crate::drp::journal::Reading, String>>,
    /// The runs, newest first.
    pub runs: Vec<crate::drp::journal::RunState>,
    pub active: crate::drp::model::ActiveSite,
    /// Index into `runs` of the run whose steps are shown.
    pub selected: usize,
}

/// A confirmation popup: what confirming does, shown in full, confirmed only by typing a
/// word (no default on Enter, Esc cancels). Reusable for any action the console offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub title: String,
    /// What the situation is and what confirming does.
    pub body: Vec<String>,
    /// The exact ticket that confirming sends (or that the operator copies), shown as is.
    pub ticket: Option<crate::ui::incident::TicketText>,
    /// The word to type ("YES", a host name). `None`: nothing can be confirmed (the dialog
    /// only shows text, and `note` says why).
    pub confirm_word: Option<String>,
    pub note: Option<String>,
    /// What was typed so far, and what was wrong with the last Enter.
    pub input: String,
    pub error: Option<String>,
    /// Lines scrolled off the top of the text.
    pub scroll: usize,
    pub on_confirm: DialogAction,
}

/// What confirming a [`Dialog`] does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogAction {
    /// Post this alert ticket (exactly the one shown), under `key` (`incident::alert_key`).
    SendAlert {
        key: String,
        ticket: crate::ui::incident::TicketText,
    },
    /// The DRP start form (its answers so far): the last stage starts the run.
    StartRun(Box<crate::ui::drp_run::StartForm>),
    /// The answer to confirm step `n`, journaled as its ack; the run then goes on.
    Ack { n: usize },
    /// Take up the journal's unfinished run, once `target` (the host it makes the serving
    /// site) is typed in full.
    Resume { target: String },
    /// Ask the live run to stop once its current step has finished.
    StopAfterStep,
    /// Leave the console while a run is live here (what that means is the dialog's text).
    Quit,
    /// Nothing to confirm: the dialog only says why (its `note`).
    Info,
}

impl DialogAction {
    /// What typing the word and Enter does, for the prompt ("type YES and Enter to send").
    pub fn verb(&self) -> &'static str {
        match self {
            DialogAction::SendAlert { .. } => "send",
            DialogAction::StopAfterStep => "stop after this step",
            DialogAction::Quit => "quit",
            DialogAction::StartRun(_) => "start",
            DialogAction::Ack { .. } => "answer",
            DialogAction::Resume { .. } => "resume",
            DialogAction::Info => "close",
        }
    }
}

/// The whole console state.
#[derive(Debug, Clone)]
pub struct ConsoleState {
    pub site: String,
    pub refresh: std::time::Duration,
    pub hosts: Vec<HostView>,
    pub console: Option<ConsoleSnapshot>,
    pub screen: Screen,
    /// Index into `visible_hosts()` order of the selected host.
    pub selected: usize,
    pub pane: Pane,
    /// Scroll offset of the focused Host pane.
    pub scroll: usize,
    pub filter: Filter,
    pub help: bool,
    /// Lines of the help scrolled off its top (a small terminal does not show every key at
    /// once).
    pub help_scroll: usize,
    pub paused: bool,
    /// Snapshots that arrived while paused, applied on resume.
    pub pending: Vec<HostSnapshot>,
    pub read_only: bool,
    pub operator: String,
    pub now: jiff::Timestamp,
    pub time_zone: jiff::tz::TimeZone,
    /// Production's host name, for the top bar's active site.
    pub production: Option<String>,
    /// Demo mode: the fault switches and which are on.
    pub demo: Option<Vec<(crate::demo::Fault, bool)>>,
    /// The site's configuration (datasets span hosts: they are evaluated here, from every
    /// host's latest readings).
    pub config: std::sync::Arc<Config>,
    /// Every dataset as of `now`.
    pub datasets: Vec<crate::backup::evaluate::DatasetReport>,
    /// Throughputs to the DRP server measured so far (kept in the state directory).
    pub throughput: crate::backup::throughput::Measurements,
    /// What the journal's DRP runs measured (real copies and imports), for the RTO.
    pub journal_rates: crate::backup::journal_rates::JournalRates,
    /// A throughput measurement in progress or just ended: what to say about it.
    pub measuring: Option<String>,
    /// Backup servers whose last measurement failed, and why.
    pub measure_errors: Vec<(String, String)>,
    /// Checks of no host: URL tests and blocklists, from the last site refresh.
    pub site_checks: Vec<crate::checks::Check>,
    pub drp: DrpView,
    pub journal: JournalView,
    /// The open confirmation popup: it takes every key until confirmed or cancelled.
    pub dialog: Option<Dialog>,
    /// The alert ticket confirmed, for the event loop to post (it takes it).
    pub outbox: Option<crate::ui::incident::Outgoing>,
    /// What became of the last alert ticket.
    pub alert: Option<crate::ui::incident::AlertStatus>,
}

impl ConsoleState {
    pub fn new(config: &Config, read_only: bool, operator: String) -> Self {
        let hosts = config
            .supervised()
            .map(|h| HostView {
                name: h.name.clone(),
                role: h.role,
                datacenter: h.datacenter.clone(),
                address: h.address.clone(),
                latest: None,
                last_good: None,
                load: VecDeque::new(),
                cpu: VecDeque::new(),
                memory: VecDeque::new(),
                failing_since: None,
            })
            .collect();
        ConsoleState {
            site: config.site.name.clone(),
            refresh: config.site.refresh,
            hosts,
            console: None,
            screen: Screen::Overview,
            selected: 0,
            pane: Pane::System,
            scroll: 0,
            filter: Filter::default(),
            help: false,
            help_scroll: 0,
            paused: false,
            pending: Vec::new(),
            read_only,
            operator,
            now: jiff::Timestamp::now(),
            time_zone: jiff::tz::TimeZone::get(&config.site.timezone)
                .unwrap_or(jiff::tz::TimeZone::UTC),
            production: config
                .supervised()
                .find(|h| h.role == Role::Production)
                .map(|h| h.name.clone()),
            demo: None,
            config: std::sync::Arc::new(config.clone()),
            datasets: Vec::new(),
            throughput: Default::default(),
            journal_rates: Default::default(),
            measuring: None,
            measure_errors: Vec::new(),
            site_checks: Vec::new(),
            drp: DrpView {
                runbook: 0,
                mode: crate::drp::model::Mode::Drill,
                lock: None,
                run: None,
            },
            journal: JournalView::default(),
            dialog: None,
            outbox: None,
            alert: None,
        }
    }

    /// A new reading of the journal (or why it could not be read).
    pub fn on_journal(&mut self, reading: Result<crate::drp::journal::Reading, String>) {
        use crate::drp::journal;
        let selected = self
            .journal
            .runs
            .get(self.journal.selected)
            .map(|r| r.run.clone());
        match &reading {
            Ok(r) => {
                self.journal.runs = journal::runs(&r.events);
                self.journal.runs.reverse();
                self.journal.active = journal::active_site(&r.events);
                self.journal_rates = crate::backup::journal_rates::read(&self.config, &r.events);
            }
            Err(_) => self.journal.runs.clear(),
        }
        self.journal.reading = Some(reading);
        // The same run stays selected when a new one is added above it.
        self.journal.selected = selected
            .and_then(|id| self.journal.runs.iter().position(|r| r.run == id))
            .unwrap_or(0);
    }

    /// The result of posting the alert ticket `key`.
    pub fn on_alert(&mut self, key: String, result: Result<String, String>) {
        use crate::ui::incident::{AlertOutcome, AlertStatus};
        let outcome = match result {
            Ok(id) => AlertOutcome::Sent {
                id: crate::text::sanitize(&id),
            },
            Err(e) => AlertOutcome::Failed {
                error: crate::text::sanitize(&e),
            },
        };
        self.alert = Some(AlertStatus {
            key,
            at: self.now,
            outcome,
        });
    }

    /// Tab on the Host screen: the next pane the selected host shows.
    pub fn next_pane(&mut self) {
        let ids: Vec<String> = self
            .selected_host()
            .and_then(|h| h.last_good.as_ref().or(h.latest.as_ref()))
            .map(|s| s.checks.iter().map(|c| c.id.clone()).collect())
            .unwrap_or_default();
        let mut pane = self.pane;
        for _ in 0..5 {
            pane = pane.next();
            if pane.always_shown() || ids.iter().any(|id| pane.holds(id)) {
                break;
            }
        }
        self.pane = pane;
    }

    /// A step of the throughput measurement.
    pub fn on_measure(&mut self, event: crate::collect::measure::MeasureEvent) {
        use crate::collect::measure::MeasureEvent;
        use crate::ui::strings::MEASURING;
        match event {
            MeasureEvent::From(host) => {
                self.measuring = Some(format!("{MEASURING}: from {host}…"));
                self.measure_errors.retain(|(h, _)| *h != host);
            }
            MeasureEvent::Result(host, Ok(m)) => {
                self.throughput.by_host.insert(host, m);
            }
            MeasureEvent::Result(host, Err(e)) => {
                self.measure_errors.push((host, crate::text::sanitize(&e)));
            }
            MeasureEvent::Done => {
                self.measuring = if self.measure_errors.is_empty() {
                    Some("throughput measured".into())
                } else {
                    Some(format!(
                        "throughput: {}",
                        self.measure_errors
                            .iter()
                            .map(|(_, e)| e.as_str())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ))
                };
            }
        }
    }

    /// Whether `T` (measure the throughput to the DRP server) is offered: a `[drp]` section
    /// and backups to restore, and not under `--read-only` (it loads the network).
    pub fn can_measure(&self) -> bool {
        !self.read_only && self.config.drp.is_some() && !self.config.datasets.is_empty()
    }

    /// Whether the demo's fault keys are offered: in the demo, and not under `--read-only`,
    /// which offers no action at all, simulated ones included.
    pub fn demo_keys(&self) -> bool {
        self.demo.is_some() && !self.read_only
    }

    /// The backup copies read so far, by copy id, from the hosts' latest refreshes.
    pub fn backup_readings(&self) -> BTreeMap<usize, crate::backup::model::CopyReading> {
        self.hosts
            .iter()
            .filter_map(|h| h.latest.as_ref())
            .flat_map(|s| s.backups.iter().map(|(id, r)| (*id, r.clone())))
            .collect()
    }

    /// Re-evaluate the datasets (after new readings, or as time passes: ages grow).
    pub fn refresh_datasets(&mut self) {
        if self.config.datasets.is_empty() {
            return;
        }
        self.datasets = crate::backup::site::evaluate_snapshots(
            &self.config,
            self.hosts.iter().filter_map(|h| h.latest.as_ref()),
            self.now,
        );
        crate::backup::site::attach_rto(
            &self.config,
            &mut self.datasets,
            &self.throughput.with_journal(&self.journal_rates),
            self.now,
        );
    }

    /// A new snapshot from a collector (held back while paused).
    pub fn apply(&mut self, snap: HostSnapshot) {
        if self.paused {
            self.pending.retain(|p| p.name != snap.name);
            self.pending.push(snap);
            return;
        }
        if let Some(h) = self.hosts.iter_mut().find(|h| h.name == snap.name) {
            h.record(snap);
        }
        self.refresh_datasets();
    }

    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
        if !paused {
            for snap in std::mem::take(&mut self.pending) {
                self.apply(snap);
            }
        }
    }

    /// The site's state: its worst host.
    pub fn state(&self) -> State {
        if self.hosts.iter().all(|h| h.latest.is_none()) {
            return State::Unknown;
        }
        crate::checks::worst(
            self.hosts
                .iter()
                .map(HostView::state)
                .chain(self.datasets.iter().map(|d| d.state))
                .chain(self.site_checks.iter().map(|c| c.state)),
        )
    }

    /// Hosts in Overview order, filtered: datacenters worst first (then by name), and inside
    /// each, hosts worst first, then by role, then by name.
    pub fn visible_hosts(&self) -> Vec<&HostView> {
        let mut dcs: BTreeMap<&str, State> = BTreeMap::new();
        for h in &self.hosts {
            let e = dcs.entry(h.datacenter.as_str()).or_insert(State::Ok);
            *e = e.worst(h.state());
        }
        let hosts: Vec<&HostView> = self
            .hosts
            .iter()
            .filter(|h| {
                self.filter
                    .matches(&[&h.name, h.role.word(), &h.datacenter])
                    || h.checks()
                        .iter()
                        .any(|c| self.filter.matches(&[&c.id, &c.summary]))
            })
            .collect();
        // Each host's key computed once: every frame sorts (500 hosts: benches/render.rs).
        use std::cmp::Reverse;
        let mut keyed: Vec<_> = hosts
            .into_iter()
            .map(|h| {
                let dc = dcs.get(h.datacenter.as_str()).copied().unwrap_or(State::Ok);
                let key = (
                    Reverse(dc.severity()),
                    h.datacenter.as_str(),
                    Reverse(h.state().severity()),
                    h.role,
                    h.name.as_str(),
                );
                (key, h)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        keyed.into_iter().map(|(_, h)| h).collect()
    }

    pub fn selected_host(&self) -> Option<&HostView> {
        let hosts = self.visible_hosts();
        hosts
            .get(self.selected.min(hosts.len().saturating_sub(1)))
            .copied()
    }

    /// Keep the selection inside the visible list after a filter or a reorder.
    pub fn clamp_selection(&mut self) {
        let n = self.visible_hosts().len();
        self.selected = self.selected.min(n.saturating_sub(1));
    }

    /// Age of a host's newest good reading, seconds.
    pub fn age_s(&self, host: &HostView) -> Option<f64> {
        let at = host.last_good.as_ref()?.reading_at?;
        Some((self.now - at).as_secs_f64().max(0.0))
    }
}
