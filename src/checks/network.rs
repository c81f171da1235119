//! `network.interface.<if>` and `network.route.default` (SPEC §4), from the `net` section of
//! the probe (src/probe/net.sh).

use super::Check;
use crate::config::HostConfig;
use crate::probe::report::ProbeReport;

/// The checks of one host's probe report.
pub fn evaluate(_host: &HostConfig, _report: &ProbeReport) -> Vec<Check> {
    Vec::new()
}
