//! `app.service.<name>`: each configured application running and answering its own health
//! probe (SPEC §4), from the `svc.<name>` sections of the probe (src/probe/apps.sh).

use super::Check;
use crate::config::HostConfig;
use crate::probe::report::ProbeReport;

/// The checks of one host's probe report.
pub fn evaluate(_host: &HostConfig, _report: &ProbeReport) -> Vec<Check> {
    Vec::new()
}
