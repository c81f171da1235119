//! Faults the demo can inject into its site, so a newcomer can watch the console react (and
//! recover).

use super::apps::{NGINX, WAL_RECEIVER, WAL_SENDER};
use super::gate::{Gate, Mode};
use super::procs::Services;
use super::sandbox::{VOLUME_BYTES, apparent_size};
use super::web::Web;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

/// A fault of the demo site: on production (`prod`), or on the replication link between prod
/// and the DRP server (`drp`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    /// prod stops answering, like a frozen host: existing connections get no reply, new ones
    /// hang before the SSH banner (the TCP connection itself is accepted, not refused), and
    /// so do the connections to the shop its nginx serves.
    ProductionDark,
    /// A runaway log brings prod's /srv to 95 % used.
    DiskFills,
    /// prod's web tier is killed: nginx and the shop's `demo-web`.
    ServiceStops,
    /// The replication link between prod and drp is cut at drp's end: PostgreSQL's standby
    /// stops streaming.
    ReplicationBreaks,
}

impl Fault {
    pub const ALL: [Fault; 4] = [
        Fault::ProductionDark,
        Fault::DiskFills,
        Fault::ServiceStops,
        Fault::ReplicationBreaks,
    ];

    /// A short name, for a key legend.
    pub fn label(self) -> &'static str {
        match self {
            Fault::ProductionDark => "production goes dark",
            Fault::DiskFills => "a disk fills",
            Fault::ServiceStops => "a service stops",
            Fault::ReplicationBreaks => "replication breaks",
        }
    }

    /// One sentence: what happens, and what the console should show.
    pub fn describe(self) -> &'static str {
        match self {
            Fault::ProductionDark => {
                "prod freezes: its SSH server stops answering (no reply, no banner), so prod \
                 turns CRIT unreachable within the connect timeout, and the shop's URL test \
                 app.url.shop gets no answer"
            }
            Fault::DiskFills => {
                "a runaway log fills prod's /srv to 95 %: system.partition./srv turns CRIT"
            }
            Fault::ServiceStops => {
                "prod's web tier is killed (nginx and demo-web): app.service.nginx and \
                 system.process.demo-web turn CRIT, and the shop's URL test app.url.shop is \
                 refused"
            }
            Fault::ReplicationBreaks => {
                "the replication link loses its carrier at drp's end (eno2): the standby's WAL \
                 receiver stops, app.replication.postgresql turns CRIT on drp and on prod (no \
                 standby connected), and network.interface.eno2 on drp"
            }
        }
    }

    fn index(self) -> usize {
        match self {
            Fault::ProductionDark => 0,
            Fault::DiskFills => 1,
            Fault::ServiceStops => 2,
            Fault::ReplicationBreaks => 3,
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
    active: [bool; 4],
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
    /// The host whose web tier stops ("prod"), its internal process ("demo-web"), and the web
    /// site its nginx serves.
    pub host: String,
    pub process: String,
    pub web: Arc<Web>,
    /// The two ends of the replication (primary, standby) and the flag that cuts the link.
    pub primary: String,
    pub standby: String,
    pub cut_flag: PathBuf,
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
            (Fault::ServiceStops, true) => {
                t.web.set_listening(false);
                t.services.stop(&t.host, NGINX);
                t.services.stop(&t.host, &t.process);
            }
            (Fault::ServiceStops, false) => {
                t.services.start(&t.host, &t.process)?;
                t.services.start(&t.host, NGINX)?;
                t.web.set_listening(true);
            }
            (Fault::ReplicationBreaks, true) => {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0);
                if let Some(dir) = t.cut_flag.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                // The time of the cut: the standby's position stays where it was then.
                std::fs::write(&t.cut_flag, format!("{now}\n"))?;
                t.services.stop(&t.standby, WAL_RECEIVER);
                t.services.stop(&t.primary, WAL_SENDER);
            }
            (Fault::ReplicationBreaks, false) => {
                match std::fs::remove_file(&t.cut_flag) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
                t.services.start(&t.primary, WAL_SENDER)?;
                t.services.start(&t.standby, WAL_RECEIVER)?;
            }
        }
        Ok(())
    }
}
