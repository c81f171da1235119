//! The jump host itself: readings come through it, so a struggling console host is shown
//! (and never mistaken for a struggling site).

use crate::checks::{Check, State};
use serde::Serialize;
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, RefreshKind, System};

pub struct ConsoleHost {
    /// `None` when this platform gives sysinfo nothing to read.
    sys: Option<System>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConsoleSnapshot {
    pub name: String,
    pub state: State,
    pub checks: Vec<Check>,
}

/// Levels for the console host: the site defaults (SPEC §4).
const LOAD_WARN: f64 = 5.0;
const LOAD_CRIT: f64 = 10.0;
const MEM_WARN: f64 = 80.0;
const MEM_CRIT: f64 = 90.0;
const CPU_WARN: f64 = 95.0;

fn level(value: f64, warn: f64, crit: Option<f64>) -> State {
    match crit {
        Some(c) if value > c => State::Crit,
        _ if value > warn => State::Warn,
        _ => State::Ok,
    }
}

impl Default for ConsoleHost {
    fn default() -> Self {
        Self::new()
    }
}

impl ConsoleHost {
    /// Takes the first CPU sample; the CPU figure is meaningful from the next `sample`.
    pub fn new() -> Self {
        let sys = System::new_with_specifics(
            RefreshKind::nothing()
                .with_cpu(CpuRefreshKind::nothing().with_usage())
                .with_memory(MemoryRefreshKind::nothing().with_ram()),
        )
        .ok();
        ConsoleHost { sys }
    }

    pub fn sample(&mut self) -> ConsoleSnapshot {
        let name = System::host_name().unwrap_or_else(|_| "jump host".into());
        let (Some(sys), Ok(load)) = (self.sys.as_mut(), System::load_average()) else {
            return ConsoleSnapshot {
                name,
                state: State::Unknown,
                checks: vec![Check::unknown(
                    "system.load",
                    "this platform gives no readings",
                )],
            };
        };
        sys.refresh_cpu_usage();
        sys.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
        let cpus = sys.cpus().len().max(1) as f64;
        let per_cpu = load.fifteen / cpus;
        let cpu = f64::from(sys.global_cpu_usage());
        let total = sys.total_memory() as f64;
        let mem = if total > 0.0 {
            100.0 * (total - sys.available_memory() as f64) / total
        } else {
            0.0
        };
        let checks = vec![
            Check::new(
                "system.load",
                level(per_cpu, LOAD_WARN, Some(LOAD_CRIT)),
                format!(
                    "load {:.2} {:.2} {:.2} on {} CPU ({per_cpu:.2} per CPU)",
                    load.one, load.five, load.fifteen, cpus as u32
                ),
            )
            .with_value(per_cpu, ""),
            Check::new(
                "system.cpu",
                level(cpu, CPU_WARN, None),
                format!("{cpu:.0} % busy"),
            )
            .with_value(cpu, "%"),
            Check::new(
                "system.memory",
                level(mem, MEM_WARN, Some(MEM_CRIT)),
                format!("{mem:.0} % used"),
            )
            .with_value(mem, "%"),
        ];
        ConsoleSnapshot {
            name,
            state: crate::checks::worst(checks.iter().map(|c| c.state)),
            checks,
        }
    }
}
