//! The full-screen console (SPEC §7): collectors → snapshots → [`state::ConsoleState`] →
//! [`render`]; keys → [`keys::Action`] → [`update`]. Input and drawing never wait on the
//! network: collectors run in their own tasks and only send owned snapshots.

pub mod drp_run;
pub mod incident;
pub mod keys;
pub mod render;
pub mod state;
pub mod strings;
pub mod terminal;
pub mod theme;
pub mod update;

use crate::collect::{self, HostSnapshot, engine::Engine};
use crate::config::Config;
use crate::console_host::ConsoleHost;
use crate::demo::Faults;
use crate::ssh::Pool;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use state::ConsoleState;
use std::sync::Arc;
use std::time::Duration;
use theme::Theme;
use tokio::signal::unix::{SignalKind, signal};
use update::Effect;

pub struct ConsoleOptions {
    pub config: Config,
    pub accept_new: bool,
    pub read_only: bool,
    pub theme: Theme,
    /// The demo's fault switches, when running `vigie demo`.
    pub demo: Option<Faults>,
}

/// Run the console until the operator quits or the terminal goes away.
pub async fn run(opts: ConsoleOptions) -> anyhow::Result<()> {
    let config = Arc::new(opts.config);
    let pool = Arc::new(Pool::new(
        collect::routes(&config),
        collect::transport_options(&config, opts.accept_new),
    ));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<HostSnapshot>();
    let engine = Engine::spawn(config.clone(), pool.clone(), tx);
    let (measure_tx, mut measure_rx) = tokio::sync::mpsc::unbounded_channel();
    let (site_tx, mut site_rx) = tokio::sync::mpsc::unbounded_channel();
    let site_task = spawn_site_checks(config.clone(), pool.clone(), site_tx);

    let mut state = ConsoleState::new(&config, opts.read_only, terminal::operator());
    if let Some(path) = crate::backup::throughput::Measurements::path(&config.site.name) {
        state.throughput = crate::backup::throughput::Measurements::load(&path);
    }
    if let Some(faults) = &opts.demo {
        state.demo = Some(demo_switches(faults));
    }
    let (journal_tx, mut journal_rx) = tokio::sync::mpsc::unbounded_channel();
    let journal = crate::drp::journal::Journal::for_site(&config.site.name);
    state.journal.path = journal.as_ref().map(|j| j.path().to_path_buf());
    let run_journal = journal.clone();
    let journal_task = journal.map(|j| spawn_journal_watch(j, journal_tx));
    // The run started or resumed here, and the DRP lock's readings (DRP screen).
    let (run_tx, mut run_rx) = tokio::sync::mpsc::unbounded_channel();
    let (lock_tx, mut lock_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut lock_asked: Option<std::time::Instant> = None;
    let drp = DrpTasks {
        config: config.clone(),
        pool: pool.clone(),
        journal: run_journal,
        read_only: opts.read_only,
    };
    let (alert_tx, mut alert_rx) = tokio::sync::mpsc::unbounded_channel();
    let theme = opts.theme;
    let mut console_host = ConsoleHost::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;

    let mut guard = terminal::TerminalGuard::enter()?;
    let mut events = EventStream::new();
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut jump_host = tokio::time::interval(config.site.refresh);
    let mut dirty = true;
    let mut shown_second = state.now.as_second();
    loop {
        if dirty {
            guard.terminal.draw(|f| render::draw(f, &state, &theme))?;
            dirty = false;
        }
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    state.now = jiff::Timestamp::now();
                    match update::on_key(&mut state, &key) {
                        Effect::Quit => break,
                        Effect::RefreshNow => engine.refresh_now(),
                        Effect::ToggleFault(f) => {
                            if let Some(faults) = &opts.demo {
                                faults.toggle(f);
                                state.demo = Some(demo_switches(faults));
                            }
                        }
                        Effect::MeasureThroughput => {
                            collect::measure::spawn(config.clone(), pool.clone(), measure_tx.clone());
                        }
                        Effect::SendAlert => {
                            if let Some(out) = state.outbox.take() {
                                spawn_alert(&config, &state, out, alert_tx.clone());
                            }
                        }
                        Effect::StartRun(req) => drp.start(*req, run_tx.clone()),
                        Effect::ResumeRun(acks) => drp.resume(acks, run_tx.clone()),
                        Effect::None => {}
                    }
                    drp.read_lock(&state, &mut lock_asked, &lock_tx);
                    dirty = true;
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                // The terminal is gone (a dropped SSH session): nothing left to show.
                Some(Err(_)) | None => break,
            },
            Some(snap) = rx.recv() => {
                // Many hosts report at once: take them all, then draw once.
                state.now = jiff::Timestamp::now();
                state.apply(snap);
                while let Ok(more) = rx.try_recv() {
                    state.apply(more);
                }
                state.now = jiff::Timestamp::now();
                dirty = !state.paused;
            }
            _ = clock.tick() => {
                // The clock and the ages move once a second: redraw only then.
                state.now = jiff::Timestamp::now();
                if state.now.as_second() != shown_second {
                    shown_second = state.now.as_second();
                    drp.read_lock(&state, &mut lock_asked, &lock_tx);
                    state.refresh_datasets();
                    dirty = true;
                }
            }
            Some(checks) = site_rx.recv() => {
                state.site_checks = checks;
                dirty = !state.paused;
            }
            Some(update) = run_rx.recv() => {
                state.now = jiff::Timestamp::now();
                state.on_run_update(update);
                while let Ok(more) = run_rx.try_recv() {
                    state.on_run_update(more);
                }
                dirty = true;
            }
            Some(reading) = lock_rx.recv() => {
                state.drp.lock = Some(reading);
                dirty = state.screen == state::Screen::Drp;
            }
            Some(reading) = journal_rx.recv() => {
                state.on_journal(reading);
                dirty = true;
            }
            Some((key, result)) = alert_rx.recv() => {
                state.now = jiff::Timestamp::now();
                state.on_alert(key, result);
                dirty = true;
            }
            Some(event) = measure_rx.recv() => {
                state.on_measure(event);
                state.refresh_datasets();
                dirty = true;
            }
            _ = jump_host.tick() => {
                state.console = Some(console_host.sample());
                dirty = true;
            }
            _ = sigterm.recv() => break,
            _ = sighup.recv() => break,
        }
    }
    drop(guard);
    drop(engine);
    if let Some(t) = site_task {
        t.abort();
    }
    if let Some(t) = journal_task {
        t.abort();
    }
    Ok(())
}

/// What the DRP screen runs in tasks: the engine (a run or a resume) and the lock's reading.
/// The engine re-checks every guard itself, `--read-only` included.
struct DrpTasks {
    config: Arc<Config>,
    pool: Arc<Pool>,
    journal: Option<crate::drp::journal::Journal>,
    read_only: bool,
}

/// How often the lock is read again while the DRP screen is shown.
const LOCK_EVERY: Duration = Duration::from_secs(10);

impl DrpTasks {
    fn engine(&self, tx: &crate::drp::engine::Updates) -> Option<crate::drp::engine::Engine> {
        let Some(journal) = self.journal.clone() else {
            let _ = tx.send(crate::drp::engine::RunUpdate::Ended {
                state: crate::drp::journal::StepState::Pending,
                summary: format!("nothing was done: {}", strings::JOURNAL_NO_PATH),
            });
            return None;
        };
        Some(
            crate::drp::engine::Engine::new(self.config.clone(), self.pool.clone(), journal)
                .read_only(self.read_only),
        )
    }

    fn start(&self, req: crate::drp::engine::RunRequest, tx: crate::drp::engine::Updates) {
        let Some(engine) = self.engine(&tx) else {
            return;
        };
        // The run goes on if the screen goes away: its task is never aborted.
        tokio::spawn(async move {
            engine.run(req, tx).await;
        });
    }

    fn resume(
        &self,
        acks: std::collections::BTreeMap<u32, String>,
        tx: crate::drp::engine::Updates,
    ) {
        let Some(engine) = self.engine(&tx) else {
            return;
        };
        tokio::spawn(async move {
            engine.resume(acks, tx).await;
        });
    }

    /// Reads the lock in a task when the DRP screen is shown and the last reading is older
    /// than [`LOCK_EVERY`] (one reading at a time: `asked` is when the last one was asked).
    fn read_lock(
        &self,
        state: &ConsoleState,
        asked: &mut Option<std::time::Instant>,
        tx: &tokio::sync::mpsc::UnboundedSender<state::LockReading>,
    ) {
        if state.screen != state::Screen::Drp || self.config.drp.is_none() {
            return;
        }
        if asked.is_some_and(|t| t.elapsed() < LOCK_EVERY) {
            return;
        }
        *asked = Some(std::time::Instant::now());
        let Some(journal) = self.journal.clone() else {
            return;
        };
        let engine =
            crate::drp::engine::Engine::new(self.config.clone(), self.pool.clone(), journal);
        let tx = tx.clone();
        tokio::spawn(async move {
            let status = engine.lock_status().await;
            let _ = tx.send(state::LockReading {
                at: jiff::Timestamp::now(),
                status,
            });
        });
    }
}

/// Watches the journal: its length and modification time are checked every second, and the
/// file is read again only when they change. All of it in this task, off the screen's path: a
/// slow disk (a home directory on NFS) never holds the keys or the drawing. Reading it whole
/// is cheap and it changes only during a run: 200 runs (2 MiB, years of drills) are read and
/// parsed in 18 ms here, and their runs derived in 11 ms by `on_journal` (release build;
/// `measure_journal_reading` in `render::journal`'s tests).
fn spawn_journal_watch(
    journal: crate::drp::journal::Journal,
    tx: tokio::sync::mpsc::UnboundedSender<Result<crate::drp::journal::Reading, String>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut seen = None;
        loop {
            tick.tick().await;
            let stamp = match tokio::fs::metadata(journal.path()).await {
                Ok(m) => Some((m.len(), m.modified().ok())),
                Err(_) => None,
            };
            if seen == Some(stamp) {
                continue;
            }
            seen = Some(stamp);
            let j = journal.clone();
            let reading = match tokio::task::spawn_blocking(move || j.read()).await {
                Ok(Ok(r)) => Ok(r),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("the reading task failed: {e}")),
            };
            if tx.send(reading).is_err() {
                return;
            }
        }
    })
}

/// Posts the alert ticket the operator confirmed, in its own task; the ticket id (or why
/// there is none) comes back to the banner. Nothing to post without `[ticket]` (the dialog
/// offered no confirmation then).
pub(crate) fn spawn_alert(
    config: &Config,
    state: &ConsoleState,
    out: incident::Outgoing,
    tx: tokio::sync::mpsc::UnboundedSender<(String, Result<String, String>)>,
) {
    let Some(settings) = config.ticket.clone() else {
        return;
    };
    let vars = incident::ticket_vars(state, &out.key);
    tokio::spawn(async move {
        let result =
            crate::drp::ticket::post(&settings, &out.ticket.title, &out.ticket.body, &vars).await;
        let _ = tx.send((out.key, result.map(|id| id.0).map_err(|e| e.to_string())));
    });
}

/// URL tests and blocklists, every refresh, in their own task (a slow URL never holds the
/// hosts' refreshes or the screen); `None` when the site has none.
fn spawn_site_checks(
    config: Arc<Config>,
    pool: Arc<Pool>,
    tx: tokio::sync::mpsc::UnboundedSender<Vec<crate::checks::Check>>,
) -> Option<tokio::task::JoinHandle<()>> {
    if config.urls.is_empty() && config.dnsbl.is_none() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut site = collect::site::SiteChecks::default();
        let mut tick = tokio::time::interval(config.site.refresh);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let checks = site.refresh(&config, &pool).await;
            if tx.send(checks).is_err() {
                return;
            }
        }
    }))
}

fn demo_switches(faults: &Faults) -> Vec<(crate::demo::Fault, bool)> {
    crate::demo::Fault::ALL
        .iter()
        .map(|f| (*f, faults.is_active(*f)))
        .collect()
}
