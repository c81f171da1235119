//! The full-screen console (SPEC §7): collectors → snapshots → [`state::ConsoleState`] →
//! [`render`]; keys → [`keys::Action`] → [`update`]. Input and drawing never wait on the
//! network: collectors run in their own tasks and only send owned snapshots.

pub mod drp_run;
pub mod drp_stop;
pub mod incident;
pub mod keys;
pub mod redraw;
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
    /// Where DRP runs are journaled instead of the site's journal in the state directory
    /// (`vigie demo`: the demo's own directory).
    pub drp_journal: Option<crate::drp::journal::Journal>,
    /// The DRP lock's directory on the DRP host instead of its default (`vigie demo`: the DRP
    /// server's sandbox, never this machine's /var/lib/vigie).
    pub drp_lock_dir: Option<String>,
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
    let journal = opts
        .drp_journal
        .clone()
        .or_else(|| crate::drp::journal::Journal::for_site(&config.site.name));
    state.journal.path = journal.as_ref().map(|j| j.path().to_path_buf());
    let run_journal = journal.clone();
    // Poked when a run here stops: the journal is read at once, so that `c` right after a
    // stop offers to go on where the run really is.
    let journal_now = Arc::new(tokio::sync::Notify::new());
    let journal_task = journal.map(|j| spawn_journal_watch(j, journal_tx, journal_now.clone()));
    // The run started or resumed here, and the DRP lock's readings (DRP screen).
    let (run_tx, mut run_rx) = tokio::sync::mpsc::unbounded_channel();
    let (lock_tx, mut lock_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut lock_asked: Option<std::time::Instant> = None;
    let mut drp = DrpTasks {
        config: config.clone(),
        pool: pool.clone(),
        journal: run_journal,
        read_only: opts.read_only,
        stop: None,
        lock_dir: opts.drp_lock_dir.clone(),
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
    // Not sampled while paused; on resume, one sample, not the missed ones in a burst.
    jump_host.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    // Something shown may have changed: render, and write to the terminal only what differs
    // from the screen (a snapshot or a second that changes nothing shown writes nothing).
    let mut dirty = true;
    let mut presenter = redraw::Presenter::new();
    // Snapshots come in bursts (every host on the same tick): their frame waits for the rest
    // of the burst, so that 500 hosts make a few frames rather than hundreds.
    let mut data_frame: Option<tokio::time::Instant> = None;
    let mut shown_second = state.now.as_second();
    // URL and blocklist results that arrived while paused, shown on resume like snapshots.
    let mut held_site_checks = None;
    loop {
        if dirty {
            presenter.present(&mut guard.terminal, |f| render::draw(f, &state, &theme))?;
            dirty = false;
            data_frame = None;
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
                        Effect::StopAfterStep => drp.stop_after_step(),
                        Effect::None => {}
                    }
                    drp.read_lock(&state, &mut lock_asked, &lock_tx);
                    if !state.paused
                        && let Some(checks) = held_site_checks.take()
                    {
                        state.site_checks = checks;
                    }
                    dirty = true;
                }
                Some(Ok(Event::Resize(..))) => {
                    presenter.invalidate();
                    dirty = true;
                }
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
                if !state.paused && data_frame.is_none() {
                    data_frame = Some(tokio::time::Instant::now() + redraw::DATA_FRAME);
                }
            }
            _ = tokio::time::sleep_until(data_frame.unwrap_or_else(tokio::time::Instant::now)),
                if data_frame.is_some() => dirty = true,
            _ = clock.tick() => {
                // Ages (seconds), a live run's progress and the clock's minute move with time:
                // render once a second; the presenter writes only when something shown moved.
                state.now = jiff::Timestamp::now();
                if state.now.as_second() != shown_second {
                    shown_second = state.now.as_second();
                    drp.read_lock(&state, &mut lock_asked, &lock_tx);
                    state.refresh_datasets();
                    dirty = true;
                }
            }
            Some(checks) = site_rx.recv() => {
                if state.paused {
                    held_site_checks = Some(checks);
                } else {
                    state.site_checks = checks;
                    dirty = true;
                }
            }
            Some(update) = run_rx.recv() => {
                state.now = jiff::Timestamp::now();
                let mut ended = matches!(update, crate::drp::engine::RunUpdate::Ended { .. });
                state.on_run_update(update);
                while let Ok(more) = run_rx.try_recv() {
                    ended |= matches!(more, crate::drp::engine::RunUpdate::Ended { .. });
                    state.on_run_update(more);
                }
                if ended {
                    journal_now.notify_one();
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
            // The jump host's own figures are data too: frozen while paused.
            _ = jump_host.tick(), if !state.paused => {
                state.console = Some(console_host.sample());
                dirty = true;
            }
            // Signals quit at once, live run or not: nobody is there to answer a prompt.
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
    /// The stop signal of the last run started or resumed here (a fresh one each time).
    stop: Option<crate::drp::engine::StopSignal>,
    /// `Engine::lock_dir` (the demo's).
    lock_dir: Option<String>,
}

/// How often the lock is read again while the DRP screen is shown.
const LOCK_EVERY: Duration = Duration::from_secs(10);

impl DrpTasks {
    /// An engine for one run or resume, with its own stop signal (kept for `x`).
    fn engine(&mut self, tx: &crate::drp::engine::Updates) -> Option<crate::drp::engine::Engine> {
        let Some(journal) = self.journal.clone() else {
            let _ = tx.send(crate::drp::engine::RunUpdate::Ended {
                state: crate::drp::journal::StepState::Pending,
                summary: format!("nothing was done: {}", strings::JOURNAL_NO_PATH),
            });
            return None;
        };
        let stop = crate::drp::engine::StopSignal::new();
        self.stop = Some(stop.clone());
        Some(
            crate::drp::engine::Engine::new(self.config.clone(), self.pool.clone(), journal)
                .read_only(self.read_only)
                .stop_signal(stop)
                .lock_dir(self.lock_dir.clone()),
        )
    }

    /// "Stop after this step", confirmed: the engine sees it before its next step (a flag,
    /// nothing waits).
    fn stop_after_step(&self) {
        if let Some(stop) = &self.stop {
            stop.request();
        }
    }

    fn start(&mut self, req: crate::drp::engine::RunRequest, tx: crate::drp::engine::Updates) {
        let Some(engine) = self.engine(&tx) else {
            return;
        };
        // The run goes on if the screen goes away: its task is never aborted.
        tokio::spawn(async move {
            engine.run(req, tx).await;
        });
    }

    fn resume(
        &mut self,
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
            crate::drp::engine::Engine::new(self.config.clone(), self.pool.clone(), journal)
                .lock_dir(self.lock_dir.clone());
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
/// file is read again only when they change (and looked at at once when `now` is notified).
/// All of it in this task, off the screen's path: a
/// slow disk (a home directory on NFS) never holds the keys or the drawing. Reading it whole
/// is cheap and it changes only during a run: 200 runs (2 MiB, years of drills) are read and
/// parsed in 18 ms here, and their runs derived in 11 ms by `on_journal` (release build;
/// `measure_journal_reading` in `render::journal`'s tests).
fn spawn_journal_watch(
    journal: crate::drp::journal::Journal,
    tx: tokio::sync::mpsc::UnboundedSender<Result<crate::drp::journal::Reading, String>>,
    now: Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut seen = None;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = now.notified() => {}
            }
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
