//! The README's screenshots, made from the real screens of `vigie demo`:
//!
//! ```sh
//! cargo run --example screenshots
//! ```
//!
//! starts the embedded demo site (in-process SSH servers running the real probe), lets the
//! real collectors refresh it, then renders the console's own `render::draw` into a
//! TestBackend buffer per screen and rasterizes each to `screenshots/NAME.png` with the
//! embedded DejaVu Sans Mono. Faults are injected with the demo's own switches. Nothing is
//! drawn by hand.

mod raster;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use vigie::collect::site::SiteChecks;
use vigie::collect::{self, HostSnapshot, engine::Engine};
use vigie::console_host::ConsoleHost;
use vigie::demo::{DemoSite, Fault};
use vigie::ssh::Pool;
use vigie::ui::render;
use vigie::ui::state::{ConsoleState, Pane, Screen};
use vigie::ui::theme::{self, Theme};

const WIDTH: u16 = 120;
const HEIGHT: u16 = 32;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let out = Path::new("screenshots");
    let site = DemoSite::start().await?;
    let config = site.config().clone();
    let faults = site.faults();
    let pool = Arc::new(Pool::new(
        collect::routes(&config),
        collect::transport_options(&config, false),
    ));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<HostSnapshot>();
    let _engine = Engine::spawn(Arc::new(config.clone()), pool.clone(), tx);
    // URL tests and blocklists, as the console's site task runs them.
    let mut site_checks = SiteChecks::default();
    let mut state = ConsoleState::new(&config, false, "alice".into());
    let switches = |state: &mut ConsoleState| {
        state.demo = Some(
            Fault::ALL
                .iter()
                .map(|f| (*f, faults.is_active(*f)))
                .collect(),
        );
    };
    switches(&mut state);
    let mut jump_host = ConsoleHost::new();
    let hosts = state.hosts.len();

    // Enough refreshes for the sparklines to have a history.
    collect_rounds(&mut state, &mut rx, hosts, 8).await;
    state.site_checks = site_checks.refresh(&config, &pool).await;
    state.console = Some(jump_host.sample());
    let dark = Theme::builtin("dark").expect("built-in theme");
    shoot(&state, &dark, &out.join("overview.png"))?;
    for name in ["light", "high-contrast", "mono"] {
        let t = Theme::builtin(name).expect("built-in theme");
        shoot(&state, &t, &out.join(format!("overview-{name}.png")))?;
    }
    let no_colour = theme::for_terminal(dark.clone(), true, 256);
    shoot(&state, &no_colour, &out.join("overview-no-color.png"))?;

    // Production healthy: its applications, replication and network panes.
    select(&mut state, "prod");
    state.screen = Screen::Host;
    state.pane = Pane::Applications;
    shoot(&state, &dark, &out.join("host-prod.png"))?;

    // The replication link breaks: the standby's view.
    faults.toggle(Fault::ReplicationBreaks);
    switches(&mut state);
    collect_rounds(&mut state, &mut rx, hosts, 2).await;
    state.console = Some(jump_host.sample());
    select(&mut state, "drp");
    state.pane = Pane::Replication;
    shoot(&state, &dark, &out.join("host-drp-replication.png"))?;
    faults.toggle(Fault::ReplicationBreaks);
    switches(&mut state);
    collect_rounds(&mut state, &mut rx, hosts, 2).await;

    // A disk fills and a service stops on production.
    faults.toggle(Fault::DiskFills);
    faults.toggle(Fault::ServiceStops);
    switches(&mut state);
    collect_rounds(&mut state, &mut rx, hosts, 2).await;
    state.site_checks = site_checks.refresh(&config, &pool).await;
    state.console = Some(jump_host.sample());
    state.screen = Screen::Overview;
    state.selected = 0;
    shoot(&state, &dark, &out.join("overview-faults.png"))?;
    state.screen = Screen::Host;
    state.pane = Pane::Applications;
    select(&mut state, "prod");
    shoot(&state, &dark, &out.join("host.png"))?;

    // Production goes dark: its last readings stay, growing old.
    faults.toggle(Fault::ProductionDark);
    switches(&mut state);
    collect_rounds(&mut state, &mut rx, hosts, 3).await;
    state.site_checks = site_checks.refresh(&config, &pool).await;
    state.screen = Screen::Overview;
    state.selected = 0;
    shoot(&state, &dark, &out.join("overview-dark-prod.png"))?;

    for (screen, name) in [
        (Screen::Backups, "backups"),
        (Screen::Drp, "drp"),
        (Screen::Journal, "journal"),
    ] {
        state.screen = screen;
        shoot(&state, &dark, &out.join(format!("{name}.png")))?;
    }
    state.screen = Screen::Overview;
    state.help = true;
    shoot(&state, &dark, &out.join("help.png"))?;
    drop(site);
    println!("screenshots written to {}/", out.display());
    Ok(())
}

/// Select a host (for the Host screen).
fn select(state: &mut ConsoleState, name: &str) {
    state.selected = state
        .visible_hosts()
        .iter()
        .position(|h| h.name == name)
        .unwrap_or(0);
}

/// Apply snapshots until every host has delivered `rounds` more, finished from now on: those
/// waiting in the channel since before (the screenshots take a while) are applied but not
/// counted, and with two rounds or more the last one began after whatever was just switched.
async fn collect_rounds(
    state: &mut ConsoleState,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<HostSnapshot>,
    hosts: usize,
    rounds: u32,
) {
    let since = jiff::Timestamp::now();
    let mut seen: HashMap<String, u32> = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(rounds) * 6 + 10);
    while seen.len() < hosts || seen.values().any(|n| *n < rounds) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(snap)) => {
                if snap.refreshed_at > since {
                    *seen.entry(snap.name.clone()).or_default() += 1;
                }
                state.apply(snap);
            }
            _ => break,
        }
    }
    state.now = jiff::Timestamp::now();
}

fn shoot(state: &ConsoleState, theme: &Theme, path: &Path) -> anyhow::Result<()> {
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT))?;
    terminal.draw(|f| render::draw(f, state, theme))?;
    let options = raster::Options::for_theme(theme);
    raster::buffer_to_png_with(terminal.backend().buffer(), path, &options)?;
    println!("{}", path.display());
    Ok(())
}
