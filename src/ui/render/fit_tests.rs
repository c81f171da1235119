//! The console at 80×24 (SPEC §7: "works at 80×24"), on the test site of `render::tests`:
//! the help shows every key (it scrolls when they do not all fit), and the footer keeps to
//! 80 columns — the demo's fault switches included — by giving up its least useful words.

use super::{screen, state};
use crate::demo::Fault;
use crate::ui::keys::{Action, BINDINGS};
use crate::ui::state::{ConsoleState, Screen};
use crate::ui::update::{Effect, on_key};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn press(st: &mut ConsoleState, code: KeyCode) -> Effect {
    on_key(st, &KeyEvent::new(code, KeyModifiers::NONE))
}

/// `vigie demo`: every key offered (not read-only), the fault switches in the footer.
fn demo() -> ConsoleState {
    let mut st = state(false);
    st.read_only = false;
    st.demo = Some(vec![
        (Fault::ProductionDark, false),
        (Fault::DiskFills, true),
        (Fault::ServiceStops, false),
        (Fault::ReplicationBreaks, false),
    ]);
    st
}

fn footer(text: &str) -> &str {
    text.lines().last().unwrap_or_default()
}

#[test]
fn the_help_scrolls_to_every_key_at_80x24() {
    let mut st = demo();
    assert_eq!(press(&mut st, KeyCode::Char('?')), Effect::None);
    let first = screen(&st, 80, 24);
    insta::assert_snapshot!("help_demo_80x24_top", first);
    assert!(first.contains("↑↓ PgUp PgDn: lines 1–22 of"), "{first}");
    // Scroll to the end, one line at a time, keeping every page.
    let mut pages = vec![first];
    for _ in 0..60 {
        assert_eq!(press(&mut st, KeyCode::Down), Effect::None);
        assert!(st.help, "the scroll keys keep the help open");
        pages.push(screen(&st, 80, 24));
    }
    let last = pages.last().cloned().unwrap_or_default();
    insta::assert_snapshot!("help_demo_80x24_end", last);
    assert!(last.contains("No key changes a server"), "{last}");
    let seen = pages.join("\n");
    for b in BINDINGS {
        // The key, then the first words of what it does (a long text wraps under it).
        let head: String = b.help.chars().take(24).collect();
        assert!(
            seen.contains(&format!("│ {:<9}  {head}", b.label)),
            "{} ({}) is not in the help",
            b.label,
            b.help
        );
    }
    // Up goes back; any other key closes.
    press(&mut st, KeyCode::PageUp);
    press(&mut st, KeyCode::PageUp);
    press(&mut st, KeyCode::PageUp);
    assert!(screen(&st, 80, 24).contains("lines 1–22 of"));
    assert_eq!(press(&mut st, KeyCode::Char('z')), Effect::None);
    assert!(!st.help);
    // Read-only: what acts is not offered, and the rest fits without scrolling.
    let mut ro = state(false);
    ro.help = true;
    let text = screen(&ro, 80, 24);
    assert!(!text.contains("PgUp PgDn: lines"), "{text}");
    assert!(!text.contains("stop the live run"), "{text}");
}

#[test]
fn the_help_shows_every_key_at_120x30_too() {
    let mut st = demo();
    st.help = true;
    st.help_scroll = 100;
    let end = screen(&st, 120, 30);
    st.help_scroll = 0;
    let top = screen(&st, 120, 30);
    for b in BINDINGS {
        let head: String = b.help.chars().take(24).collect();
        assert!(
            top.contains(&head) || end.contains(&head),
            "{}:\n{top}\n{end}",
            b.label
        );
    }
}

#[test]
fn the_footer_keeps_to_80_columns_with_the_demo_switches() {
    let mut st = demo();
    let wide = screen(&st, 120, 30);
    let line = footer(&wide);
    assert!(
        line.contains("X○prod dark D●disk full S○service down R○repl. broken"),
        "{line}"
    );
    assert!(line.contains("? help · q quit"), "{line}");
    for screen_ in [Screen::Overview, Screen::Host, Screen::Drp] {
        st.screen = screen_;
        let text = screen(&st, 80, 24);
        let line = footer(&text);
        insta::assert_snapshot!(format!("footer_demo_{screen_:?}_80x24"), line);
        // Each switch keeps its key and its state; the way to the help stays.
        for key in ["X○", "D●", "S○", "R○"] {
            assert!(line.contains(key), "{screen_:?}: {line}");
        }
        assert!(line.contains("? help · q quit"), "{screen_:?}: {line}");
        assert!(line.ends_with("q quit \""), "nothing cut: {line}");
    }
    // A filter applied is said too.
    st.screen = Screen::Overview;
    st.filter.text = "backup".into();
    let text = screen(&st, 80, 24);
    let line = footer(&text);
    assert!(line.contains("/backup"), "{line}");
    assert!(line.contains("R○"), "{line}");
    // The jump host in trouble keeps its state word.
    let mut st = state(false);
    if let Some(c) = st.console.as_mut() {
        c.state = crate::checks::State::Warn;
    }
    let line = footer(&screen(&st, 80, 24)).to_string();
    assert!(line.contains("WARN"), "{line}");
    assert!(line.contains("? help · q quit"), "{line}");
}

#[test]
fn the_stop_key_is_in_the_table_and_acts() {
    let stop = BINDINGS
        .iter()
        .find(|b| b.action == Action::StopAfterStep)
        .expect("x is bound");
    assert!(stop.acts, "hidden and inert under --read-only");
    assert_eq!(stop.label, "x");
}
