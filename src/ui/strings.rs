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
/// Shorter forms of the hints, for a narrow footer.
pub const HINTS_OVERVIEW_SHORT: &str = "Enter host · / filter · ? help · q quit";
pub const HINTS_HOST_SHORT: &str = "Tab pane · Esc back · ? help · q quit";
pub const HINTS_SHORT: &str = "? help · q quit";
pub const HELP_TITLE: &str = " Keys ";
pub const HELP_FOOTER: &str =
    "No key changes a server without a typed confirmation. Any other key closes.";

/// The help's bottom border when it scrolls: " ↑↓ PgUp PgDn: lines 1–22 of 36 ".
pub fn help_more(first: usize, last: usize, total: usize) -> String {
    format!(" ↑↓ PgUp PgDn: lines {first}–{last} of {total} ")
}
pub const JUMP_HOST: &str = "jump host";
pub const JUMP_HOST_SHORT: &str = "jump";
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
        crate::demo::Fault::ReplicationBreaks => "repl. broken",
    }
}

/// A demo fault in a word, for an 80-column footer.
pub fn demo_fault_short(fault: crate::demo::Fault) -> &'static str {
    match fault {
        crate::demo::Fault::ProductionDark => "dark",
        crate::demo::Fault::DiskFills => "disk",
        crate::demo::Fault::ServiceStops => "nginx",
        crate::demo::Fault::ReplicationBreaks => "repl",
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
    "Runbooks are [drp] and [runbooks.NAME] in the configuration: the policy's",
    "activation and return are in config.example.toml; `vigie config check`",
    "checks them. This console offers no action on any server.",
];
pub const JOURNAL_EMPTY: &[&str] = &[
    "The journal is empty: no DRP run yet (drills included).",
    "",
    "Every `vigie drp run` (drills included) is journaled here, step by step.",
];
pub const JOURNAL_NO_PATH: &str =
    "No journal: no state directory (neither XDG_STATE_HOME nor HOME is set).";
pub const JOURNAL_READING: &str = "reading the journal…";
pub const JOURNAL_EXPORT_HINT: &str = "report for the customer: vigie journal --export csv";
pub const JOURNAL_KEYS_HINT: &str = "↑↓ run · PgUp PgDn steps";
pub const RUN_NOT_ENDED: &str =
    "no end recorded: running now, or interrupted (vigie drp status tells which)";
pub const RUN_INTERRUPTED: &str = "no end recorded: interrupted, a later run followed";

/// The journal's word on a run stopped between two steps by an operator.
pub fn run_stopped(who: &str) -> String {
    format!(
        "not ended: stopped by {who} between two steps; c on the DRP screen (4) or vigie drp resume goes on"
    )
}

// The DRP screen (4), before a run.
pub const DRP_KEYS_HINT: &str = "↑↓ runbook · m mode · PgUp PgDn scroll";
pub const DRP_NO_DATA_LOSS: &str = "no data comes from a backup";
pub const DRP_LOSS_UNKNOWN: &str = "unknown: a backup is not resolved";
pub const LOCK_NOT_READ: &str = "not read yet";

/// What a mode does, in one line.
pub fn mode_text(mode: crate::drp::model::Mode, production: &str, drp: &str) -> String {
    use crate::drp::model::Mode;
    match mode {
        Mode::Drill => format!(
            "drill: copies and imports go to scratch places on {drp}; production and the DNS are not touched"
        ),
        Mode::Planned => format!("planned: {production} answers and is fenced (maintenance) first"),
        Mode::Emergency => format!(
            "emergency: {production} is down; if it still answers, starting needs a typed reason and fencing"
        ),
    }
}

/// The headless command that starts the plan shown, until the console starts runs itself.
pub fn drp_start_hint(runbook: &str, mode: crate::drp::model::Mode, drp: &str) -> String {
    format!("start: vigie drp run {runbook} --mode {mode} --order REF --confirm {drp}{HEADLESS}")
}
pub const HEADLESS: &str = " (headless)";

// The incident banner and the alert ticket.
pub const INCIDENT: &str = "INCIDENT";
pub const SITE_CUT: &str = "the jump host is cut off from the site, or the site lost its network";
pub const LOSS_IF_ACTIVATED: &str = "data loss if activated now:";
pub const LOSS_SHORT: &str = "loss now:";
pub const ALERT_HINT: &str = "A: prepare the alert";
pub const ALERT_RETRY: &str = "A: retry";
pub const ALERT_SENDING: &str = "sending the alert ticket…";
pub const ALERT_NOT_SENT: &str = "alert NOT sent";
pub const NOT_READ_YET: &str = "not read yet";
pub const ALERT_NO_INCIDENT_TITLE: &str = "Situation report from the supervision console";
pub const ALERT_NO_INCIDENT: &str =
    "the console detects no incident; the operator reports the situation";
pub const ALERT_LOSS_HEAD: &str =
    "Data loss if the DRP were activated now (newest good backup of each dataset):";
pub const ALERT_NOT_ACTIVATED: &str = "The DRP is NOT activated: this ticket informs of the \
     situation (the alert process of the quality policy). Activating the DRP needs the \
     customer's order.";
pub const ALERT_DIALOG_TITLE: &str = " Alert ticket ";
pub const ALERT_DIALOG_NOTHING_STARTS: &str =
    "It informs only: nothing starts on any server, the DRP is not activated.";
pub const NO_WEBHOOK: &str = "No ticket webhook is configured ([ticket] in the configuration): \
     copy this text into the ticket system.";
pub const DIALOG_CLOSE: &str = "Esc closes";
pub const DIALOG_TICKET_TITLE: &str = "Title:";
pub const DIALOG_TICKET_BODY: &str = "Body:";

/// "This posts the ticket below to https://…": what confirming does.
pub fn alert_dialog_intro(url: &str) -> String {
    format!("Confirming posts the ticket below to the ticket webhook {url}.")
}

/// "type YES and Enter to send · Esc cancels".
pub fn dialog_prompt(word: &str, verb: &str) -> String {
    format!("type {word} and Enter to {verb} · Esc cancels")
}

/// What a wrong or empty confirmation says.
pub fn dialog_wrong(word: &str) -> String {
    format!("type {word} exactly (nothing else confirms), or Esc to cancel")
}

/// "alert ticket 4711 sent at 03:20".
pub fn alert_sent(id: &str, at: &str) -> String {
    format!("alert ticket {id} sent at {at}")
}

// The throughput measurement (Backups screen, `T`).
pub const MEASURING: &str = "measuring the throughput to the DRP server";
pub const NO_DRP_SECTION: &str =
    "T needs a [drp] section (production, drp, transfer_ssh) and [[datasets]] in the configuration";
pub const MEASURE_HINT: &str = "measure the throughput to the DRP server";
pub const SITE_CHECKS: &str = "site: URL tests and blocklists";

// Starting, following and resuming a DRP run from the console (DRP screen).
pub const START_KEY_HINT: &str = "s starts it here";
pub const RESUME_KEY_HINT: &str = "c resumes it";
pub const START_TITLE: &str = " Start a DRP run ";
pub const START_NOTHING: &str = "Nothing was started. Esc closes.";
pub const START_ENGINE: &str = "The engine checks every guard again (backups, production, the \
     lock on the DRP host) and journals each step; the run goes on on the hosts if this \
     console is lost.";
pub const RUN_IN_PROGRESS: &str =
    "A run started from this console is in progress: one run at a time.";
pub const ASK_ORDER: &str = "order reference of the customer:";
pub const ASK_REASON: &str = "why an emergency run while production answers (journaled):";
pub const FORM_NEXT: &str = "Enter next · Esc cancels";
pub const ACK_TITLE: &str = " A step needs an answer ";
pub const ACK_BODY: &str = "Your answer is journaled as this step's acknowledgement; the run \
     then goes on. Esc leaves the run stopped here (c answers later, or vigie drp resume --ack).";
pub const ACK_PROMPT: &str = "answer:";
pub const ACK_NEXT: &str = "Enter answers · Esc leaves it stopped";
pub const RUN_FOOTER: &str =
    "the run continues on the hosts if this console is lost; vigie drp resume picks it up";
pub const RUN_LOG: &str = " log ";
pub const RUN_WAITING: &str = "checking the guards…";
pub const RUN_CLOSE: &str = "Esc closes this view";
pub const RUN_AT_GUARDS: &str = "it is checking its guards, no step has started";
pub const RUN_BETWEEN_STEPS: &str = "it is between two steps";
/// The live view's keys, longest first (the footer keeps what fits).
pub const RUN_KEY_STOP: &str = "x stop after this step";
pub const RUN_KEY_QUIT: &str = "q quit (asks)";
pub const RUN_FOOTER_SHORT: &str = "the run goes on on the hosts if this console is lost";
pub const RUN_FOOTER_SHORTER: &str = "goes on if this console is lost";
pub const RUN_STOP_ASKED: &str = "STOP ASKED";
pub const RUN_STOPPING: &str = "stops once the running step has finished (not interrupted)";
pub const RUN_STOPPED_NEXT: &str =
    "stopped as asked: c (or vigie drp resume) goes on at the next step";

// "Stop after this step" and the quit prompt during a live run.
pub const STOP_TITLE: &str = " Stop the run after this step ";
pub const STOP_WORD: &str = "STOP";
pub const STOP_NOTHING_LIVE: &str = "No DRP run is live in this console: there is nothing to stop.";
pub const STOP_ALREADY: &str =
    "A stop is already asked: the run stops once its current step has finished.";
pub const STOP_NOT_INTERRUPTED: &str = "The step running now is not interrupted: a detached \
     job (a copy, an import, a command) goes on to its end on its host. No further step is \
     started.";
pub const STOP_JOURNAL: &str = "The journal records that you stopped the run and after which \
     step; the run is not ended and keeps its lock on the DRP host.";
pub const STOP_RESUME: &str =
    "c (or vigie drp resume) goes on at the next step, once the host is typed in full.";
pub const QUIT_TITLE: &str = " Quit while a DRP run is live ";
pub const QUIT_WORD: &str = "QUIT";
pub const QUIT_MEANS: &str = "Quitting stops this console and the DRP engine in it: a \
     detached step (a copy, an import, a command) goes on to its end on its host, a step the \
     console carries itself (ticket, DNS, wait) is cut short; the journal shows the step \
     RUNNING, and no further step starts.";
pub const QUIT_RESUME: &str = "Resume later with c on the DRP screen (4) or vigie drp resume: \
     the step is re-attached to or re-checked, never run again blindly.";
pub const QUIT_INSTEAD: &str =
    "To stop cleanly once the running step has finished instead: Esc, then x.";
pub const QUIT_KEEP: &str = "Esc keeps the console and the run.";

/// "Start the activate runbook in DRILL mode on site example?"
pub fn start_what(runbook: &str, mode: crate::drp::model::Mode, site: &str) -> String {
    format!(
        "Start the {runbook} runbook in {} mode on site {site}.",
        mode.word().to_uppercase()
    )
}

/// The host-name stage's prompt.
pub fn ask_host(target: &str) -> String {
    format!(
        "type {target} (the host this run makes the serving site) and Enter to start · Esc cancels"
    )
}

/// A wrong host name in the start form.
pub fn wrong_host(typed: &str, target: &str) -> String {
    format!("\"{typed}\" is not {target}: type {target} in full, exactly, or Esc to cancel")
}

/// The DRP screen's word on an unfinished run in the journal.
pub fn unfinished(run: &str) -> String {
    format!("run {run} is not finished (interrupted, or running from another console)")
}

/// What to do after a run ended, by its state.
pub fn run_next(state: crate::drp::journal::StepState) -> &'static str {
    use crate::drp::journal::StepState;
    match state {
        StepState::Done => {
            "done: check the service, then report to the customer (5 Journal, vigie journal --export csv)"
        }
        StepState::Failed => {
            "fix the cause shown above, then start the run again: done steps are re-checked, not redone"
        }
        StepState::Unknown => {
            "stopped, outcome unknown: c (or vigie drp resume) re-checks and goes on"
        }
        StepState::Pending => "nothing more was done: read the reason above",
        StepState::Running | StepState::Skipped => "",
    }
}
pub const RESUME_TITLE: &str = " Resume the unfinished DRP run ";
pub const RESUME_ENGINE: &str = "Done steps are not run again; a step whose outcome is unknown \
     is re-checked first. The engine re-checks the plan and takes the run's lock.";

/// "Run R (activate, DRILL, order REF-3, started by alice@jump1) is not finished."
pub fn resume_what(
    run: &str,
    runbook: &str,
    mode: crate::drp::model::Mode,
    order: Option<&str>,
    operator: &str,
) -> String {
    let order = order.map_or(String::new(), |o| format!(", order {o}"));
    format!(
        "Run {run} ({runbook}, {}{order}, started by {operator}) is not finished.",
        mode.word().to_uppercase()
    )
}

/// The resume form's prompt.
pub fn ask_host_resume(target: &str) -> String {
    format!(
        "type {target} (the host this run makes the serving site) and Enter to resume · Esc cancels"
    )
}
pub const BACKUP_PROBLEMS: &str = "backups: what is not OK (3 Backups for details)";
