//! Every sentence the console shows, in one place.

pub const PRODUCT: &str = "VIGIE";
pub const READ_ONLY: &str = "⟨RO⟩";
pub const PAUSED: &str = "PAUSED";
pub const LOSS_PREFIX: &str = "if production fails now:";
pub const LOSS_UNCONFIGURED: &str = "data loss unknown: no [[datasets]] configured";
pub const LOSS_UNCONFIGURED_SHORT: &str = "loss: no datasets";
pub const ACTIVE: &str = "active:";
pub const NO_HOSTS_MATCH: &str = "No host or check matches the filter. Esc clears it.";
pub const WAITING: &str = "waiting for the first reading…";
pub const NEVER: &str = "never";
pub const FILTER_PROMPT: &str = "/ filter: ";
pub const FILTER_HINT: &str = "Enter keep · Esc clear";
pub const HINTS_OVERVIEW: &str = "Enter host · / filter · r refresh · p pause · ? help · q quit";
pub const HINTS_HOST: &str = "Tab pane · ↑↓ scroll · Esc back · ? help · q quit";
pub const HINTS_OTHER: &str = "1 Overview · ? help · q quit";
pub const HELP_TITLE: &str = " Keys ";
pub const HELP_FOOTER: &str = "No key changes a server. Any key closes this help.";
pub const JUMP_HOST: &str = "jump host";
pub const NO_HOST_SELECTED: &str =
    "No host selected: pick one on the Overview (1) and press Enter.";
pub const PANE_HARDWARE: &str = "Hardware";
pub const PANE_SYSTEM: &str = "System";
pub const PANE_APPLICATIONS: &str = "Applications";
pub const PANE_REPLICATION: &str = "Replication";
pub const PANE_NETWORK: &str = "Network";
pub const NOTHING_HERE: &str = "no check";
pub const UNREACHABLE_SINCE: &str = "unreachable; readings below are from";
pub const HOST_KEY_ALERT: &str =
    "HOST KEY ALERT: nothing is executed on this host until known_hosts is fixed";

/// A demo fault in the few letters the footer has room for.
pub fn demo_fault(fault: crate::demo::Fault) -> &'static str {
    match fault {
        crate::demo::Fault::ProductionDark => "prod dark",
        crate::demo::Fault::DiskFills => "disk full",
        crate::demo::Fault::ServiceStops => "service down",
    }
}

pub const SCREEN_TITLES: [&str; 5] = ["Overview", "Host", "Backups", "DRP", "Journal"];

/// What a screen that has nothing to show yet says, honestly.
pub const BACKUPS_UNCONFIGURED: &[&str] = &[
    "Backups are not supervised yet on this site.",
    "",
    "Backup freshness on the backup servers, the even/odd alternation, the data-loss window",
    "and the restore-time estimate arrive with [[datasets]] in the configuration (a later",
    "version of Vigie). Until then the top bar cannot say what a production failure would lose.",
];
pub const DRP_UNCONFIGURED: &[&str] = &[
    "No DRP runbook is configured.",
    "",
    "The activation and return-to-production runbooks ([drp], [runbooks]) arrive with a later",
    "version of Vigie. This console offers no action on any server.",
];
pub const JOURNAL_EMPTY: &[&str] = &[
    "The journal is empty.",
    "",
    "Every DRP run will be journaled here (and by `vigie journal`) once runbooks exist.",
];

// The throughput measurement (Backups screen, `T`).
pub const MEASURING: &str = "measuring the throughput to the DRP server";
pub const NO_DRP_SECTION: &str =
    "T needs a [drp] section (production, drp, transfer_ssh) and [[datasets]] in the configuration";
pub const MEASURE_HINT: &str = "measure the throughput to the DRP server";
pub const SITE_CHECKS: &str = "site: URL tests and blocklists";
