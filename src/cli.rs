//! Command line (SPEC §3): parsing and dispatch.

use crate::collect::{self, HostSnapshot, engine::Engine};
use crate::config::{self, Config};
use crate::console_host::ConsoleHost;
use crate::report::{self, SiteReport};
use crate::ssh::Pool;
use clap::{Parser, Subcommand};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Parser)]
#[command(
    name = "vigie",
    version,
    about = "The lookout post: live supervision, backups and DRP of a production site over SSH"
)]
pub struct Cli {
    /// Configuration file [default: $XDG_CONFIG_HOME/vigie/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Offer no action at all: supervision only
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Trust and record unknown host keys (like StrictHostKeyChecking=accept-new); a changed
    /// key is still refused
    #[arg(long, global = true)]
    pub accept_new: bool,
    /// Colour theme of the console (a file name in themes/)
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The console on an embedded demo site: no servers, no root, nothing to configure
    Demo,
    /// One refresh of every host, printed; exit 0/1/2/3 = worst state (Nagios)
    Check {
        /// Print the JSON document of SPEC §4 instead of a table
        #[arg(long)]
        json: bool,
        /// Refresh this many times, one report per refresh interval (JSON: one object a line)
        #[arg(long, default_value_t = 1, value_name = "N")]
        count: u32,
    },
    /// Configuration commands
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// DRP runbooks: plan, run, status, resume, unlock
    Drp {
        #[command(subcommand)]
        command: drp_cli::DrpCommand,
    },
    /// The audit journal of DRP runs
    Journal {
        /// The report for the customer
        #[arg(long, value_name = "FORMAT")]
        export: Option<drp_cli::ExportFormat>,
    },
}

#[path = "drp_cli.rs"]
mod drp_cli;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the configuration without connecting to anything
    Check,
}

/// Exit code for usage and configuration errors: UNKNOWN, as Nagios plugins do.
const EXIT_UNKNOWN: i32 = 3;

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_UNKNOWN } else { 0 };
        }
    };
    init_logging();
    let path = cli.config.clone().unwrap_or_else(config::default_path);
    match &cli.command {
        Some(Command::Config {
            command: ConfigCommand::Check,
        }) => config_check(&path),
        Some(Command::Check { json, count }) => match load(&path) {
            Ok(cfg) => run_async(check(cfg, cli.accept_new, *json, (*count).max(1))),
            Err(code) => code,
        },
        None => match load(&path) {
            Ok(cfg) => console(cfg, &cli, None),
            Err(code) => code,
        },
        Some(Command::Demo) => demo(&cli),
        Some(Command::Drp { command }) => match load(&path) {
            Ok(cfg) => drp_cli::main(cfg, command, cli.read_only, cli.accept_new),
            Err(code) => code,
        },
        Some(Command::Journal { export }) => match load(&path) {
            Ok(cfg) => drp_cli::journal_main(&cfg, *export),
            Err(code) => code,
        },
    }
}

/// The theme: `--theme`, else `[ui] theme`, else dark; adapted to NO_COLOR and the
/// terminal's colours.
fn theme(cli: &Cli, config: Option<&Config>) -> Result<crate::ui::theme::Theme, i32> {
    let name = cli
        .theme
        .clone()
        .or_else(|| config.and_then(|c| c.ui.theme.clone()))
        .unwrap_or_else(|| "dark".into());
    let theme = crate::ui::theme::Theme::load(&name).map_err(|e| {
        eprintln!("vigie: {e}");
        EXIT_UNKNOWN
    })?;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    Ok(crate::ui::theme::for_terminal(
        theme,
        no_color,
        terminal_colours(),
    ))
}

/// How many colours the terminal shows, from the environment as terminfo-less tools read it.
fn terminal_colours() -> u16 {
    let colorterm = std::env::var("COLORTERM").unwrap_or_default();
    let term = std::env::var("TERM").unwrap_or_default();
    if colorterm.contains("truecolor") || colorterm.contains("24bit") {
        u16::MAX
    } else if term.contains("256") {
        256
    } else if term == "dumb" {
        2
    } else {
        16
    }
}

fn console(cfg: Config, cli: &Cli, demo: Option<crate::demo::Faults>) -> i32 {
    let theme = match theme(cli, Some(&cfg)) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let opts = crate::ui::ConsoleOptions {
        config: cfg,
        accept_new: cli.accept_new,
        read_only: cli.read_only,
        theme,
        demo,
        drp_journal: None,
        drp_lock_dir: None,
    };
    run_async(async move {
        match crate::ui::run(opts).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("vigie: {e}");
                EXIT_UNKNOWN
            }
        }
    })
}

/// `vigie demo`: start the embedded site, then the very same console on it.
fn demo(cli: &Cli) -> i32 {
    let theme = match theme(cli, None) {
        Ok(t) => t,
        Err(code) => return code,
    };
    run_async(async move {
        let site = match crate::demo::DemoSite::start().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("vigie demo: cannot start the demo site: {e:#}");
                return EXIT_UNKNOWN;
            }
        };
        let opts = crate::ui::ConsoleOptions {
            config: site.config().clone(),
            accept_new: false,
            read_only: cli.read_only,
            theme,
            demo: Some(site.faults()),
            drp_journal: Some(site.journal()),
            drp_lock_dir: Some(site.lock_dir()),
        };
        let code = match crate::ui::run(opts).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("vigie: {e}");
                EXIT_UNKNOWN
            }
        };
        drop(site);
        code
    })
}

fn load(path: &std::path::Path) -> Result<Config, i32> {
    config::load(path).map_err(|e| {
        eprintln!("{e}");
        EXIT_UNKNOWN
    })
}

fn config_check(path: &std::path::Path) -> i32 {
    match load(path) {
        Err(code) => code,
        Ok(cfg) => {
            let supervised = cfg.supervised().count();
            let jumps: Vec<_> = cfg.hosts.iter().filter_map(|h| h.jump.as_deref()).collect();
            println!(
                "{}: OK: site {}, {} supervised host{}{}, refresh every {}",
                path.display(),
                cfg.site.name,
                supervised,
                if supervised == 1 { "" } else { "s" },
                if jumps.is_empty() {
                    String::new()
                } else {
                    let mut j = jumps.clone();
                    j.sort();
                    j.dedup();
                    format!(" ({} through {})", jumps.len(), j.join(", "))
                },
                humantime(cfg.site.refresh),
            );
            for h in &cfg.hosts {
                let via = h
                    .jump
                    .as_deref()
                    .map(|j| format!(" via {j}"))
                    .unwrap_or_default();
                println!(
                    "  {:<12} {:<10} {:<6} {}@{}:{}{}{}",
                    h.name,
                    h.role.word(),
                    h.datacenter,
                    h.user,
                    h.address,
                    h.port,
                    via,
                    if h.supervised { "" } else { "  (jump only)" }
                );
            }
            for d in &cfg.datasets {
                println!(
                    "  dataset {:<12} max loss {}",
                    d.name,
                    humantime(d.max_loss)
                );
                for c in &d.copies {
                    println!(
                        "    {:<12} {:<6} every {:<6} {:<7} {}:{}",
                        c.host,
                        c.days.word(),
                        humantime(c.every),
                        c.format.word(),
                        c.host,
                        c.path
                    );
                }
            }
            0
        }
    }
}

fn humantime(d: Duration) -> String {
    jiff::SignedDuration::try_from(d)
        .map(|s| format!("{s:#}"))
        .unwrap_or_else(|_| format!("{d:?}"))
}

fn run_async<F: Future<Output = i32>>(f: F) -> i32 {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("vigie: cannot start the runtime: {e}");
            EXIT_UNKNOWN
        }
    }
}

/// `vigie check`: refresh every host, print, exit with the worst state.
async fn check(cfg: Config, accept_new: bool, json: bool, count: u32) -> i32 {
    let cfg = Arc::new(cfg);
    let mut console = ConsoleHost::new();
    let pool = Arc::new(Pool::new(
        collect::routes(&cfg),
        collect::transport_options(&cfg, accept_new),
    ));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _engine = Engine::spawn(cfg.clone(), pool.clone(), tx);
    let mut site = collect::site::SiteChecks::default();
    let hosts: Vec<String> = cfg.supervised().map(|h| h.name.clone()).collect();
    let mut latest: HashMap<String, HostSnapshot> = HashMap::new();
    let mut delivered: HashMap<String, u32> = HashMap::new();

    // Round k is complete when every host has delivered k snapshots. Every refresh is bounded
    // (connect per hop, then the command deadline), so the deadline only guards against a
    // host whose refresh is slower than that; it is then reported with its last reading.
    let hops = u32::try_from(cfg.hosts.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let bound = collect::RefreshSettings::from_config(&cfg)
        .worst_case(hops)
        .saturating_add(Duration::from_secs(2));
    let mut exit = 0;
    for round in 1..=count {
        let wait = if round == 1 {
            bound
        } else {
            bound.saturating_add(cfg.site.refresh)
        };
        // Instant + a huge duration would panic: an absurd configured timeout waits "forever".
        let until = Instant::now()
            .checked_add(wait)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(86_400 * 365));
        // URL tests and blocklists run while the hosts refresh; each is bounded by its own
        // timeout (URL `timeout`, 4 s per blocklist lookup).
        let site_round = {
            let (cfg, pool) = (cfg.clone(), pool.clone());
            let mut site = std::mem::take(&mut site);
            tokio::spawn(async move {
                let checks = site.refresh(&cfg, &pool).await;
                (site, checks)
            })
        };
        while !hosts
            .iter()
            .all(|h| delivered.get(h).copied().unwrap_or(0) >= round)
        {
            match tokio::time::timeout_at(until.into(), rx.recv()).await {
                Ok(Some(snap)) => {
                    *delivered.entry(snap.name.clone()).or_default() += 1;
                    latest.insert(snap.name.clone(), snap);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let site_checks = match site_round.await {
            Ok((kept, checks)) => {
                site = kept;
                checks
            }
            Err(e) => vec![crate::checks::Check::unknown(
                "site",
                format!("the URL tests and blocklists stopped: {e}"),
            )],
        };
        let snaps: Vec<HostSnapshot> = latest.values().cloned().collect();
        let report = SiteReport::build(
            &cfg,
            &snaps,
            site_checks,
            Some(console.sample()),
            jiff::Timestamp::now(),
        );
        if json {
            println!("{}", report::json::render(&report));
        } else {
            if round > 1 {
                println!();
            }
            print!("{}", report::table::render(&report));
        }
        exit = report.state.exit_code();
    }
    exit
}

fn init_logging() {
    let Some(dir) = crate::paths::state_dir() else {
        return;
    };
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("vigie.log"))
    else {
        return;
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIGIE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,russh=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}
