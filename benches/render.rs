//! `cargo bench --bench render`: how long the console takes to draw its screens for a
//! 500-host site (target: the Overview under 2 ms a frame).
//!
//! The site's hosts hold snapshots made from the recorded probe output by the console's own
//! parsers and checks (`benches/fixtures/`), with a realistic mix of WARN, CRIT and silent
//! hosts, in a [`ConsoleState`] as the console keeps it. Each screen is drawn ≥ 1000 times on
//! ratatui's TestBackend through the console's own presenter (`ui::redraw`), two ways:
//! "unchanged" — the same state again (the console's idle second: render, compare, write
//! nothing), and "ages moved" — the clock one second later every frame (render, compare, write
//! the changed cells).
//!
//! Options (after `--`): `--hosts N` (500), `--frames N` (2000).

#[path = "fleet/mod.rs"]
mod fleet;
mod site;
mod util;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::{Duration, Instant};
use util::{ms, table, verdict};
use vigie::ui::redraw::Presenter;
use vigie::ui::render;
use vigie::ui::state::{ConsoleState, Screen};
use vigie::ui::theme::Theme;

fn main() {
    if !util::bench_mode("render") {
        return;
    }
    let hosts: usize = util::arg_or("hosts", 500);
    let frames: u32 = util::arg_or("frames", 2000);
    util::header(&format!(
        "cargo bench --bench render -- --hosts {hosts} --frames {frames}"
    ));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let text = site::config_text(
        hosts,
        |i| (format!("10.1.{}.{}", i / 250, i % 250 + 1), 22),
        &dir.path().join("id"),
        &dir.path().join("known_hosts"),
        "5s",
    );
    let config = site::load(&text, dir.path());
    let theme = Theme::builtin("dark").expect("the dark theme");
    let mut state = ConsoleState::new(&config, false, "bench".into());
    let now = jiff::Timestamp::now();
    let nonce = site::nonce_of(fleet::FAST);
    let mut hosts_seen = 0;
    for (i, h) in config.supervised().enumerate() {
        let mut memory = vigie::checks::HostMemory::default();
        // Two readings: the CPU check needs two samples, the sparklines a history.
        for k in 0..2 {
            let t = now - jiff::SignedDuration::from_secs(5 * (1 - k));
            let mut snap = site::snapshot(h, fleet::FAST, &nonce, &mut memory, t);
            site::vary(i, &mut snap);
            state.apply(snap);
        }
        hosts_seen += 1;
    }
    state.now = now;
    println!(
        "{hosts_seen} hosts, {} checks each (from the recorded probe output), site state {:?}",
        state.hosts[0].latest.as_ref().map_or(0, |s| s.checks.len()),
        state.state()
    );
    println!();

    let mut rows = vec![vec![
        "screen".to_string(),
        "size".into(),
        "frames".into(),
        "mean".into(),
        "p50".into(),
        "p99".into(),
        "max".into(),
        "target".into(),
    ]];
    let cases: [(&str, Screen, bool, (u16, u16)); 6] = [
        ("Overview", Screen::Overview, false, (200, 60)),
        ("Overview", Screen::Overview, false, (80, 24)),
        ("Host", Screen::Host, false, (200, 60)),
        ("Host", Screen::Host, false, (80, 24)),
        ("Backups", Screen::Backups, false, (200, 60)),
        ("Overview + help", Screen::Overview, true, (80, 24)),
    ];
    let mut overview_ok = true;
    // `--only NAME --size WxH`: one screen (for a profiler: valgrind --tool=callgrind …).
    let only = util::arg("only");
    let size = util::arg("size");
    for (name, screen, help, (w, h)) in cases {
        if only.as_ref().is_some_and(|o| !name.eq_ignore_ascii_case(o))
            || size.as_ref().is_some_and(|s| *s != format!("{w}x{h}"))
        {
            continue;
        }
        state.screen = screen;
        state.help = help;
        state.selected = 3;
        for moving in [false, true] {
            let mut times = Vec::with_capacity(frames as usize);
            let mut term = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
            let mut presenter = Presenter::new();
            let start_now = state.now;
            // Warm-up: first frame writes everything.
            presenter
                .present(&mut term, |f| render::draw(f, &state, &theme))
                .expect("draw");
            for k in 0..frames {
                if moving {
                    state.now = start_now + jiff::SignedDuration::from_secs(i64::from(k % 50) + 1);
                }
                let t = Instant::now();
                presenter
                    .present(&mut term, |f| render::draw(f, &state, &theme))
                    .expect("draw");
                times.push(t.elapsed());
            }
            state.now = start_now;
            let mean = times.iter().sum::<Duration>() / frames.max(1);
            let Some([p50, _p90, p99, max]) = util::percentiles(&mut times) else {
                continue;
            };
            let is_overview = screen == Screen::Overview && !help;
            let target = if is_overview {
                overview_ok &= mean < Duration::from_millis(2);
                format!("< 2 ms {}", verdict(mean < Duration::from_millis(2)))
            } else {
                String::new()
            };
            rows.push(vec![
                format!(
                    "{name}, {}",
                    if moving { "ages moved" } else { "unchanged" }
                ),
                format!("{w}×{h}"),
                frames.to_string(),
                ms(mean),
                ms(p50),
                ms(p99),
                ms(max),
                target,
            ]);
            if !moving {
                assert_eq!(
                    presenter.written, 1,
                    "an unchanged {name} was written again"
                );
            }
        }
    }
    table(&rows);
    println!();
    println!(
        "Overview frame time with {hosts} hosts: {}",
        if overview_ok {
            "within the target"
        } else {
            "over the target"
        }
    );
}
