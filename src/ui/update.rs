//! Keys → state changes, and the effects the event loop must carry out. Pure: testable
//! without a terminal.

use super::keys::{Action, action_for};
use super::state::{ConsoleState, Screen};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the event loop must do after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    None,
    Quit,
    RefreshNow,
    ToggleFault(crate::demo::Fault),
    MeasureThroughput,
}

const PAGE: usize = 10;

/// Apply one key press.
pub fn on_key(state: &mut ConsoleState, key: &KeyEvent) -> Effect {
    if state.filter.editing {
        edit_filter(state, key);
        return Effect::None;
    }
    if state.help {
        // Any key closes the help; the quit keys still quit.
        state.help = false;
        return match action_for(key, state.demo_keys(), state.read_only) {
            Some(Action::Quit) => Effect::Quit,
            _ => Effect::None,
        };
    }
    let Some(action) = action_for(key, state.demo_keys(), state.read_only) else {
        return Effect::None;
    };
    apply(state, action)
}

pub fn apply(state: &mut ConsoleState, action: Action) -> Effect {
    match action {
        Action::Quit => return Effect::Quit,
        Action::Show(screen) => {
            state.screen = screen;
            state.scroll = 0;
        }
        Action::NextPane => {
            if state.screen == Screen::Host {
                state.next_pane();
                state.scroll = 0;
            }
        }
        Action::Up => move_by(state, -1),
        Action::Down => move_by(state, 1),
        Action::PageUp => move_by(state, -(PAGE as isize)),
        Action::PageDown => move_by(state, PAGE as isize),
        Action::Open => {
            if state.screen == Screen::Overview && state.selected_host().is_some() {
                state.screen = Screen::Host;
                state.scroll = 0;
            }
        }
        Action::Back => {
            if !state.filter.text.is_empty() && state.screen == Screen::Overview {
                state.filter.text.clear();
            }
            state.screen = Screen::Overview;
            state.scroll = 0;
        }
        Action::Filter => {
            state.filter.editing = true;
        }
        Action::Help => state.help = true,
        Action::RefreshNow => return Effect::RefreshNow,
        Action::Pause => state.set_paused(!state.paused),
        Action::DemoFault(f) => return Effect::ToggleFault(f),
        Action::MeasureThroughput => {
            state.screen = Screen::Backups;
            if state.read_only {
                // Unreachable through the key table; kept as a second lock.
                return Effect::None;
            }
            if !state.can_measure() {
                state.measuring = Some(crate::ui::strings::NO_DRP_SECTION.into());
                return Effect::None;
            }
            if state.measuring.as_deref().is_some_and(|m| m.starts_with(crate::ui::strings::MEASURING)) {
                return Effect::None;
            }
            state.measuring = Some(format!("{}…", crate::ui::strings::MEASURING));
            return Effect::MeasureThroughput;
        }
    }
    state.clamp_selection();
    Effect::None
}

fn move_by(state: &mut ConsoleState, delta: isize) {
    match state.screen {
        Screen::Host => state.scroll = state.scroll.saturating_add_signed(delta),
        _ => {
            let n = state.visible_hosts().len();
            state.selected = state
                .selected
                .saturating_add_signed(delta)
                .min(n.saturating_sub(1));
        }
    }
}

fn edit_filter(state: &mut ConsoleState, key: &KeyEvent) {
    match key.code {
        KeyCode::Enter => state.filter.editing = false,
        KeyCode::Esc => {
            state.filter.editing = false;
            state.filter.text.clear();
        }
        KeyCode::Backspace => {
            state.filter.text.pop();
        }
        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            state.filter.editing = false;
            state.filter.text.clear();
        }
        KeyCode::Char(c) if !c.is_control() && state.filter.text.chars().count() < 64 => {
            state.filter.text.push(c);
        }
        _ => {}
    }
    state.selected = 0;
    state.clamp_selection();
}
