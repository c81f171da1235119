//! `app.replication.<kind>.<name>` (SPEC §4), from the `repl.<kind>` sections of the probe
//! (src/probe/repl.sh).

use super::Check;
use crate::config::HostConfig;
use crate::probe::report::ProbeReport;

/// The checks of one host's probe report.
pub fn evaluate(_host: &HostConfig, _report: &ProbeReport) -> Vec<Check> {
    Vec::new()
}
