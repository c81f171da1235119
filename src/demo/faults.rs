//! Faults the demo can inject into its production host, so a newcomer can watch the console
//! react (and recover).

use super::gate::{Gate, Mode};
use super::procs::Services;
use super::sandbox::{VOLUME_BYTES, apparent_size};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

/// A fault of the demo site, injected on production (`prod`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// prod stops answering, like a frozen host: existing connections get no reply, new ones
    /// hang before the SSH banner (the TCP connection itself is accepted, not refused).
    ProductionDark,
    /// A runaway log brings prod's /srv to 95 % used.
    DiskFills,
    /// prod's service process `demo-web` is killed.
    ServiceStops,
}

impl Fault {
    pub const ALL: [Fault; 3] = [Fault::ProductionDark, Fault::DiskFills, Fault::ServiceStops];

    /// A short name, for a key legend.
    pub fn label(self) -> &'static str {
        match self {
            Fault::ProductionDark => "production goes dark",
            Fault::DiskFills => "a disk fills",
            Fault::ServiceStops => "a service stops",
        }
    }

    /// One sentence: what happens, and what the console should show.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::ProductionDark => {
                "prod freezes: its SSH server stops answering (no reply, no banner), so prod \
                 turns CRIT unreachable within the connect timeout"
            }
            Fault::DiskFills => {
                "a runaway log fills prod's /srv to 95 %: system.partition./srv turns CRIT"
            }
            Fault::ServiceStops => {
                "prod's web service demo-web is killed: system.process.demo-web turns CRIT"
            }
        }
    }

    fn index(self) -> usize {
        match self {
            Fault::ProductionDark => 0,
            Fault::DiskFills => 1,
            Fault::ServiceStops => 2,
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Default)]
struct State {
    active: [bool; 3],
    /// The site has stopped: nothing can be toggled any more.
    stopped: bool,
}

/// What the faults act on.
pub(crate) struct Targets {
    /// prod's server gate.
    pub gate: Arc<Gate>,
    /// prod's /srv contents, and the runaway log that fills it.
    pub srv: PathBuf,
    pub fill: PathBuf,
    pub services: Arc<Services>,
    /// The host whose service stops ("prod").
    pub host: String,
}

struct Shared {
    state: Mutex<State>,
    targets: Targets,
}

/// Handle on the demo site's faults: cheap to clone, usable from any thread, never blocks
/// for longer than a kill or a file creation. Once the site is dropped, toggling does nothing.
#[derive(Clone)]
pub struct Faults {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Faults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Faults")
            .field("active", &self.active())
            .finish()
    }
}

impl Faults {
    pub(crate) fn new(targets: Targets) -> Faults {
        Faults {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                targets,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Inject the fault, or repair it if it is active. Returns whether it is active now.
    pub fn toggle(&self, f: Fault) -> bool {
        let mut state = self.state();
        let i = f.index();
        if state.stopped {
            return state.active[i];
        }
        let on = !state.active[i];
        match self.apply(f, on) {
            Ok(()) => state.active[i] = on,
            Err(e) => tracing::warn!(fault = ?f, on, error = %e, "demo fault not applied"),
        }
        state.active[i]
    }

    pub fn is_active(&self, f: Fault) -> bool {
        self.state().active[f.index()]
    }

    /// The active faults, in [`Fault::ALL`] order.
    pub fn active(&self) -> Vec<Fault> {
        let state = self.state();
        Fault::ALL
            .into_iter()
            .filter(|f| state.active[f.index()])
            .collect()
    }

    /// The site stops: no more toggling (a clone kept by the console must not restart a
    /// service after the site is gone).
    pub(crate) fn stop(&self) {
        self.state().stopped = true;
    }

    fn apply(&self, f: Fault, on: bool) -> std::io::Result<()> {
        let t = &self.shared.targets;
        match (f, on) {
            (Fault::ProductionDark, true) => t.gate.set(Mode::Frozen),
            (Fault::ProductionDark, false) => t.gate.set(Mode::Open),
            (Fault::DiskFills, true) => {
                let _ = std::fs::remove_file(&t.fill);
                let target = VOLUME_BYTES / 100 * 95;
                let used = apparent_size(&t.srv);
                // A hole: the volume looks full, the machine's disk is untouched.
                super::sandbox::sparse(
                    &t.fill,
                    target.saturating_sub(used).max(1),
                    std::time::SystemTime::now(),
                )?;
            }
            (Fault::DiskFills, false) => match std::fs::remove_file(&t.fill) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            },
            (Fault::ServiceStops, true) => t.services.stop(&t.host),
            (Fault::ServiceStops, false) => t.services.start(&t.host)?,
        }
        Ok(())
    }
}
