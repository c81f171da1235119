//! `vigie drp plan|run|status|resume|unlock` and `vigie journal` (SPEC §3): the DRP engine
//! headless, its updates printed as lines (for a terminal in tmux, or a script). Exit codes:
//! 0 done, 1 a step failed, 2 refused by a guard, 3 usage or configuration error, 4 stopped at
//! a confirm step needing `--ack N=TEXT`.

use crate::config::Config;
use crate::drp::engine::{Engine, Outcome, RunRequest, RunUpdate, guards};
use crate::drp::journal::{self, Journal};
use crate::drp::model::Mode;
use crate::text::sanitize;
use clap::Subcommand;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

const EXIT_REFUSED: i32 = 2;
const EXIT_USAGE: i32 = 3;

#[derive(Debug, Subcommand)]
pub enum DrpCommand {
    /// Print every step with the exact command, host and resolved source/target; touches
    /// nothing (reads the backup servers only)
    Plan {
        /// A runbook name: activate, return, or one of the configuration's
        runbook: String,
        #[arg(long, value_parser = parse_mode, default_value = "planned", value_name = "drill|planned|emergency")]
        mode: Mode,
        /// The plan as JSON (the journal's form)
        #[arg(long)]
        json: bool,
    },
    /// Run a runbook headless (same guards, same journal)
    Run {
        runbook: String,
        #[arg(long, value_parser = parse_mode, value_name = "drill|planned|emergency")]
        mode: Mode,
        /// The customer's order reference
        #[arg(long, value_name = "REF")]
        order: String,
        /// The name of the host this run makes the serving site, typed in full
        #[arg(long, value_name = "HOSTNAME")]
        confirm: String,
        /// Answer confirm step N (repeatable)
        #[arg(long = "ack", value_name = "N=TEXT")]
        acks: Vec<String>,
        /// Why an emergency run goes on while production still answers
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// State of the current run and of the lock
    Status,
    /// Resume the current (interrupted) run
    Resume {
        #[arg(long = "ack", value_name = "N=TEXT")]
        acks: Vec<String>,
    },
    /// Force a stale lock (and abandon its run) with the nonce `vigie drp status` shows
    Unlock {
        #[arg(long, value_name = "N")]
        nonce: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Json,
    Csv,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    Mode::parse(s).ok_or_else(|| format!("{s:?}: expected drill, planned or emergency"))
}

fn parse_acks(args: &[String]) -> Result<BTreeMap<u32, String>, String> {
    let mut out = BTreeMap::new();
    for a in args {
        let (n, text) = guards::parse_ack(a)?;
        if out.insert(n, text).is_some() {
            return Err(format!("--ack {n}=… is given twice"));
        }
    }
    Ok(out)
}

fn journal_of(cfg: &Config) -> Result<Journal, i32> {
    Journal::for_site(&cfg.site.name).ok_or_else(|| {
        eprintln!("vigie: no state directory (neither XDG_STATE_HOME nor HOME is set): no journal");
        EXIT_USAGE
    })
}

/// `vigie drp …`.
pub fn main(cfg: Config, command: &DrpCommand, read_only: bool, accept_new: bool) -> i32 {
    let acks = match command {
        DrpCommand::Run { acks, .. } | DrpCommand::Resume { acks } => match parse_acks(acks) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("vigie: {e}");
                return EXIT_USAGE;
            }
        },
        _ => BTreeMap::new(),
    };
    let acting = matches!(
        command,
        DrpCommand::Run { .. } | DrpCommand::Resume { .. } | DrpCommand::Unlock { .. }
    );
    if acting && read_only {
        eprintln!("vigie: refused: --read-only: no DRP action can be taken in read-only mode");
        return EXIT_REFUSED;
    }
    let journal = match journal_of(&cfg) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let cfg = Arc::new(cfg);
    super::run_async(async move {
        let pool = Arc::new(crate::ssh::Pool::new(
            crate::collect::routes(&cfg),
            crate::collect::transport_options(&cfg, accept_new),
        ));
        let engine = Engine::new(cfg.clone(), pool, journal).read_only(read_only);
        match command {
            DrpCommand::Plan {
                runbook,
                mode,
                json,
            } => match engine.plan(runbook, *mode, None).await {
                Ok(plan) => {
                    if *json {
                        println!(
                            "{}",
                            serde_json::to_string_pretty(&plan).unwrap_or_default()
                        );
                    } else {
                        print!("{}", plan.render_text());
                    }
                    if plan.blockers().is_empty() {
                        0
                    } else {
                        EXIT_REFUSED
                    }
                }
                Err(o) => report(&o),
            },
            DrpCommand::Run {
                runbook,
                mode,
                order,
                confirm,
                reason,
                ..
            } => {
                let req = RunRequest {
                    runbook: runbook.clone(),
                    mode: *mode,
                    order: order.clone(),
                    confirm: confirm.clone(),
                    acks,
                    reason: reason.clone(),
                };
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                let printer = tokio::spawn(print_updates(rx));
                let outcome = engine.run(req, tx).await;
                let _ = printer.await;
                report(&outcome)
            }
            DrpCommand::Resume { .. } => {
                let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                let printer = tokio::spawn(print_updates(rx));
                let outcome = engine.resume(acks, tx).await;
                let _ = printer.await;
                report(&outcome)
            }
            DrpCommand::Status => match engine.status().await {
                Ok(s) => {
                    print!("{}", s.render());
                    0
                }
                Err(e) => {
                    eprintln!("vigie: {e}");
                    EXIT_USAGE
                }
            },
            DrpCommand::Unlock { nonce } => match engine.unlock(nonce).await {
                Ok(said) => {
                    println!("{said}");
                    0
                }
                Err(o) => report(&o),
            },
        }
    })
}

/// The last word on stderr, and the exit code.
fn report(o: &Outcome) -> i32 {
    match o {
        Outcome::Done => {}
        Outcome::Failed { step: Some(n), why } => eprintln!("vigie: step {n}: {}", sanitize(why)),
        Outcome::Failed { step: None, why } => eprintln!("vigie: {}", sanitize(why)),
        Outcome::Refused(why) => eprintln!("vigie: refused: {}", sanitize(why)),
        Outcome::Error(why) => eprintln!("vigie: {}", sanitize(why)),
        Outcome::NeedsAck { step, ask } => {
            eprintln!(
                "vigie: step {step} needs --ack {step}=TEXT: {}",
                sanitize(ask)
            )
        }
    }
    o.exit_code()
}

/// Prints each update as it comes: one line each (progress at most every 5 s per step).
async fn print_updates(mut rx: tokio::sync::mpsc::UnboundedReceiver<RunUpdate>) {
    let mut last_progress: Option<(usize, Instant)> = None;
    while let Some(u) = rx.recv().await {
        let line = match u {
            RunUpdate::Planned(plan) => plan.render_text(),
            RunUpdate::Guard { check, ok, text } => format!(
                "[{}] {check}: {}\n",
                if ok { "ok" } else { "REFUSED" },
                sanitize(&text)
            ),
            RunUpdate::StepStarted { n, kind, title } => {
                format!("==> step {n} {kind}: {}\n", sanitize(&title))
            }
            RunUpdate::Progress { n, summary, .. } => {
                let due = match last_progress {
                    Some((m, at)) => m != n || at.elapsed() >= Duration::from_secs(5),
                    None => true,
                };
                if !due {
                    continue;
                }
                last_progress = Some((n, Instant::now()));
                format!("    {n}| {}\n", sanitize(&summary))
            }
            RunUpdate::Log { n, lines } => lines
                .iter()
                .map(|l| format!("    {n}| {}\n", sanitize(l)))
                .collect(),
            RunUpdate::StepEnded { n, state, summary } => {
                format!("<== step {n} {}: {}\n", state.word(), sanitize(&summary))
            }
            RunUpdate::NeedsAck { n, ask } => {
                format!("step {n} needs --ack {n}=TEXT: {}\n", sanitize(&ask))
            }
            RunUpdate::Ended { state, summary } => {
                format!("RUN {}: {}\n", state.word(), sanitize(&summary))
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }
}

/// `vigie journal [--export json|csv]`: the audit journal (no connection).
pub fn journal_main(cfg: &Config, export: Option<ExportFormat>) -> i32 {
    let journal = match journal_of(cfg) {
        Ok(j) => j,
        Err(code) => return code,
    };
    let reading = match journal.read() {
        Ok(r) => r,
        Err(e) => {
            eprintln!(
                "vigie: cannot read the journal {}: {e}",
                journal.path().display()
            );
            return EXIT_USAGE;
        }
    };
    for w in &reading.warnings {
        eprintln!("vigie: journal {}: {w}", journal.path().display());
    }
    match export {
        Some(ExportFormat::Json) => println!("{}", journal::export_json(&reading.events)),
        Some(ExportFormat::Csv) => print!("{}", journal::export_csv(&reading.events)),
        None => print!("{}", render_journal(&reading.events, &journal)),
    }
    0
}

/// The journal for a terminal: one line per event, the runs' starts and ends standing out.
fn render_journal(events: &[journal::Event], j: &Journal) -> String {
    let mut o = format!(
        "Journal {} — active site: {}\n",
        j.path().display(),
        journal::active_site(events).word().to_uppercase()
    );
    if events.is_empty() {
        o.push_str("(no DRP run yet)\n");
    }
    for e in events {
        let at = e.at.strftime("%Y-%m-%d %H:%M:%S");
        let line = match e.event {
            journal::EventKind::RunStarted => format!(
                "{at} run {} STARTED: {} {}, order {}, by {}{}",
                e.run,
                e.runbook,
                e.mode.word(),
                e.order.as_deref().unwrap_or("-"),
                e.operator.describe(),
                e.extra
                    .get("reason")
                    .and_then(|r| r.as_str())
                    .map(|r| format!(", reason {r:?}"))
                    .unwrap_or_default()
            ),
            journal::EventKind::RunEnded => format!(
                "{at} run {} ENDED {}{}",
                e.run,
                e.state.word(),
                e.active_site
                    .map(|s| format!(": active site {}", s.word().to_uppercase()))
                    .unwrap_or_default()
            ),
            journal::EventKind::Step => {
                let mut s = format!(
                    "{at}   step {} {:<9} {:<8} {}",
                    e.step.map(|n| n.to_string()).unwrap_or_default(),
                    e.kind.as_deref().unwrap_or(""),
                    e.state.word(),
                    e.title.as_deref().unwrap_or("")
                );
                if let Some(c) = e.exit_code {
                    s.push_str(&format!(", exit {c}"));
                }
                if let Some(t) = e.extra.get("ticket_id").and_then(|v| v.as_str()) {
                    s.push_str(&format!(", ticket {t}"));
                }
                if let Some(v) = &e.verification {
                    s.push_str(&format!(" — {v}"));
                }
                s
            }
            journal::EventKind::Other => format!("{at} (an event of a newer version)"),
        };
        o.push_str(&crate::probe::parse::clean(&line, 400));
        o.push('\n');
    }
    o
}
