//! Every key of the console, in one table: the key handler and the `?` help are both made
//! from it, so they cannot drift apart. No key starts anything that changes a server.

use super::state::Screen;
use crate::demo::Fault;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Show(Screen),
    NextPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Open,
    Back,
    Filter,
    Help,
    RefreshNow,
    Pause,
    /// Demo only: switch a simulated fault on or off.
    DemoFault(Fault),
    /// Time a transfer from each backup server to the DRP server (restore-time estimate).
    MeasureThroughput,
    /// DRP screen: show the plan for the next mode (drill → planned → emergency).
    NextMode,
    /// Open the alert ticket's confirmation dialog (it sends nothing by itself).
    PrepareAlert,
    /// DRP screen: open the start form of the plan shown (it starts nothing by itself).
    StartRun,
    /// DRP screen: take up the journal's unfinished run.
    ResumeRun,
    /// DRP screen: ask the live run to stop once its current step has finished (asks first).
    StopAfterStep,
}

/// A key as the table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Code(KeyCode),
    Ctrl(char),
}

pub struct Binding {
    pub keys: &'static [Key],
    /// How the help shows the keys.
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
    pub demo_only: bool,
    /// It acts on the site (loads a server or the network): never offered under
    /// `--read-only`.
    pub acts: bool,
}

const fn bind(
    keys: &'static [Key],
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        help,
        demo_only: false,
        acts: false,
    }
}

/// A key that acts on the site: hidden and inert under `--read-only`.
const fn act(
    keys: &'static [Key],
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        keys,
        label,
        action,
        help,
        demo_only: false,
        acts: true,
    }
}

const fn demo(
    keys: &'static [Key],
    label: &'static str,
    fault: Fault,
    help: &'static str,
) -> Binding {
    Binding {
        keys,
        label,
        action: Action::DemoFault(fault),
        help,
        demo_only: true,
        acts: false,
    }
}

use Key::{Char, Code, Ctrl};

pub const BINDINGS: &[Binding] = &[
    bind(
        &[Char('1')],
        "1",
        Action::Show(Screen::Overview),
        "Overview: every host by datacenter, worst first",
    ),
    bind(
        &[Char('2')],
        "2",
        Action::Show(Screen::Host),
        "Host: the selected host's panes and history",
    ),
    bind(
        &[Char('3')],
        "3",
        Action::Show(Screen::Backups),
        "Backups: freshness and the data-loss window",
    ),
    bind(
        &[Char('4')],
        "4",
        Action::Show(Screen::Drp),
        "DRP: runbooks, plan and live steps",
    ),
    bind(
        &[Char('5')],
        "5",
        Action::Show(Screen::Journal),
        "Journal: the audit trail",
    ),
    bind(
        &[Code(KeyCode::Up), Char('k')],
        "↑ k",
        Action::Up,
        "select the previous host, runbook or run / scroll up",
    ),
    bind(
        &[Code(KeyCode::Down), Char('j')],
        "↓ j",
        Action::Down,
        "select the next host, runbook or run / scroll down",
    ),
    bind(
        &[Code(KeyCode::PageUp)],
        "PgUp",
        Action::PageUp,
        "one page up",
    ),
    bind(
        &[Code(KeyCode::PageDown)],
        "PgDn",
        Action::PageDown,
        "one page down",
    ),
    bind(
        &[Code(KeyCode::Enter), Code(KeyCode::Right), Char('l')],
        "Enter → l",
        Action::Open,
        "open the selected host",
    ),
    bind(
        &[Code(KeyCode::Esc), Code(KeyCode::Left), Char('h')],
        "Esc ← h",
        Action::Back,
        "back to the Overview / close",
    ),
    bind(&[Code(KeyCode::Tab)], "Tab", Action::NextPane, "next pane"),
    bind(
        &[Char('/')],
        "/",
        Action::Filter,
        "filter hosts and checks (Enter keeps, Esc clears)",
    ),
    bind(
        &[Char('r')],
        "r",
        Action::RefreshNow,
        "refresh every host now",
    ),
    bind(
        &[Char('p')],
        "p",
        Action::Pause,
        "pause the display (collection goes on) / resume",
    ),
    act(
        &[Char('T')],
        "T",
        Action::MeasureThroughput,
        "Backups: time a transfer from each backup server to the DRP server (RTO)",
    ),
    bind(
        &[Char('m')],
        "m",
        Action::NextMode,
        "DRP: the plan in the next mode (drill, planned, emergency)",
    ),
    act(
        &[Char('A')],
        "A",
        Action::PrepareAlert,
        "prepare the alert ticket (shown in full; sent only if you type YES)",
    ),
    act(
        &[Char('s')],
        "s",
        Action::StartRun,
        "DRP: start the plan shown (asks the order and the host name, typed in full)",
    ),
    act(
        &[Char('c')],
        "c",
        Action::ResumeRun,
        "DRP: continue (resume) the journal's unfinished run",
    ),
    act(
        &[Char('x')],
        "x",
        Action::StopAfterStep,
        "DRP: stop the live run once its current step has finished (asks; c resumes)",
    ),
    bind(&[Char('?')], "?", Action::Help, "this help"),
    bind(
        &[Char('q'), Ctrl('c')],
        "q",
        Action::Quit,
        "quit (asks first while a DRP run is live here)",
    ),
    demo(
        &[Char('X')],
        "X",
        Fault::ProductionDark,
        "demo: production goes dark / comes back",
    ),
    demo(
        &[Char('D')],
        "D",
        Fault::DiskFills,
        "demo: production's /srv fills / is cleaned",
    ),
    demo(
        &[Char('S')],
        "S",
        Fault::ServiceStops,
        "demo: production's web tier (nginx) stops / restarts",
    ),
    demo(
        &[Char('R')],
        "R",
        Fault::ReplicationBreaks,
        "demo: the replication link to the DRP breaks / is repaired",
    ),
];

fn matches(key: Key, event: &KeyEvent) -> bool {
    match key {
        Ctrl(c) => {
            event.modifiers.contains(KeyModifiers::CONTROL) && event.code == KeyCode::Char(c)
        }
        Char(c) => {
            !event.modifiers.contains(KeyModifiers::CONTROL) && event.code == KeyCode::Char(c)
        }
        Code(code) => event.code == code,
    }
}

/// The action of a key press, from the table. Demo keys only act in the demo; keys that act
/// on the site never under `--read-only`.
pub fn action_for(event: &KeyEvent, demo_mode: bool, read_only: bool) -> Option<Action> {
    BINDINGS
        .iter()
        .filter(|b| demo_mode || !b.demo_only)
        .filter(|b| !(read_only && b.acts))
        .find(|b| b.keys.iter().any(|k| matches(*k, event)))
        .map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn every_key_maps_to_one_action() {
        let mut seen = Vec::new();
        for b in BINDINGS {
            for k in b.keys {
                assert!(!seen.contains(k), "{k:?} bound twice");
                seen.push(*k);
            }
        }
    }

    #[test]
    fn demo_keys_do_nothing_outside_the_demo() {
        assert_eq!(action_for(&key(KeyCode::Char('X')), false, false), None);
        assert_eq!(
            action_for(&key(KeyCode::Char('X')), true, false),
            Some(Action::DemoFault(Fault::ProductionDark))
        );
    }

    #[test]
    fn read_only_offers_no_action() {
        let t = key(KeyCode::Char('T'));
        assert_eq!(
            action_for(&t, false, false),
            Some(Action::MeasureThroughput)
        );
        assert_eq!(action_for(&t, false, true), None);
        let a = key(KeyCode::Char('A'));
        assert_eq!(action_for(&a, false, false), Some(Action::PrepareAlert));
        assert_eq!(action_for(&a, false, true), None);
        for (c, action) in [
            ('s', Action::StartRun),
            ('c', Action::ResumeRun),
            ('x', Action::StopAfterStep),
        ] {
            let k = key(KeyCode::Char(c));
            assert_eq!(action_for(&k, false, false), Some(action));
            assert_eq!(action_for(&k, true, true), None, "{c} under --read-only");
        }
        for b in BINDINGS.iter().filter(|b| !b.acts) {
            assert!(
                !matches!(
                    b.action,
                    Action::MeasureThroughput
                        | Action::PrepareAlert
                        | Action::StartRun
                        | Action::ResumeRun
                        | Action::StopAfterStep
                ),
                "an action key must be marked `acts`"
            );
        }
    }

    #[test]
    fn spec_keys_are_all_there() {
        for (code, action) in [
            (KeyCode::Char('1'), Action::Show(Screen::Overview)),
            (KeyCode::Char('5'), Action::Show(Screen::Journal)),
            (KeyCode::Tab, Action::NextPane),
            (KeyCode::Char('j'), Action::Down),
            (KeyCode::Char('k'), Action::Up),
            (KeyCode::Enter, Action::Open),
            (KeyCode::Esc, Action::Back),
            (KeyCode::Char('/'), Action::Filter),
            (KeyCode::Char('?'), Action::Help),
            (KeyCode::Char('r'), Action::RefreshNow),
            (KeyCode::Char('p'), Action::Pause),
            (KeyCode::Char('q'), Action::Quit),
        ] {
            assert_eq!(
                action_for(&key(code), false, false),
                Some(action),
                "{code:?}"
            );
        }
    }
}
