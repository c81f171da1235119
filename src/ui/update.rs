//! Keys → state changes, and the effects the event loop must carry out. Pure: testable
//! without a terminal.

use super::keys::{Action, action_for};
use super::state::{ConsoleState, Screen};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the event loop must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    None,
    Quit,
    RefreshNow,
    ToggleFault(crate::demo::Fault),
    MeasureThroughput,
    /// Post the alert ticket waiting in `state.outbox` (confirmed by the operator).
    SendAlert,
    /// Run the engine on this request (the start form was filled in; the engine re-checks
    /// every guard), its updates to `state.drp.run`.
    StartRun(Box<crate::drp::engine::RunRequest>),
    /// Take up the journal's unfinished run with these answers to confirm steps.
    ResumeRun(std::collections::BTreeMap<u32, String>),
    /// Ask the live run to stop once its current step has finished (confirmed by the
    /// operator): the event loop raises the run's stop signal.
    StopAfterStep,
}

const PAGE: usize = 10;

/// Apply one key press.
pub fn on_key(state: &mut ConsoleState, key: &KeyEvent) -> Effect {
    if state.dialog.is_some() {
        // An open dialog takes every key: nothing typed there can reach another action.
        if let Some(effect) = crate::ui::drp_run::form_key(state, key) {
            return effect;
        }
        return dialog_key(state, key);
    }
    if state.filter.editing {
        edit_filter(state, key);
        return Effect::None;
    }
    if state.help {
        // The scroll keys scroll it; any other key closes it; the quit keys still quit (and
        // still ask first while a run is live).
        let action = action_for(key, state.demo_keys(), state.read_only);
        let limit = crate::ui::render::help_scroll_limit(state);
        let scroll = |by: isize| step(state.help_scroll, by, limit + 1);
        match action {
            Some(Action::Up) => state.help_scroll = scroll(-1),
            Some(Action::Down) => state.help_scroll = scroll(1),
            Some(Action::PageUp) => state.help_scroll = scroll(-(PAGE as isize)),
            Some(Action::PageDown) => state.help_scroll = scroll(PAGE as isize),
            Some(Action::Quit) => {
                state.help = false;
                return apply(state, Action::Quit);
            }
            _ => state.help = false,
        }
        return Effect::None;
    }
    let Some(action) = action_for(key, state.demo_keys(), state.read_only) else {
        return Effect::None;
    };
    apply(state, action)
}

pub fn apply(state: &mut ConsoleState, action: Action) -> Effect {
    match action {
        Action::Quit => {
            // A run live here goes on on its hosts, but no further step would start: say so
            // first. Without one, quit at once.
            match crate::ui::drp_stop::quit_dialog(state) {
                Some(d) => state.dialog = Some(d),
                None => return Effect::Quit,
            }
        }
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
        Action::PageUp => page_by(state, -(PAGE as isize)),
        Action::PageDown => page_by(state, PAGE as isize),
        Action::Open => {
            if state.screen == Screen::Overview && state.selected_host().is_some() {
                state.screen = Screen::Host;
                state.scroll = 0;
            }
        }
        Action::Back
            if state.screen == Screen::Drp
                && state.drp.run.as_ref().is_some_and(|r| !r.running()) =>
        {
            // Esc on an ended run's view goes back to the plan.
            state.drp.run = None;
            state.scroll = 0;
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
        Action::Help => {
            state.help = true;
            state.help_scroll = 0;
        }
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
            if state
                .measuring
                .as_deref()
                .is_some_and(|m| m.starts_with(crate::ui::strings::MEASURING))
            {
                return Effect::None;
            }
            state.measuring = Some(format!("{}…", crate::ui::strings::MEASURING));
            return Effect::MeasureThroughput;
        }
        Action::NextMode => {
            if state.screen == Screen::Drp {
                let all = crate::drp::model::Mode::ALL;
                let i = all.iter().position(|m| *m == state.drp.mode).unwrap_or(0);
                state.drp.mode = all[(i + 1) % all.len()];
                state.scroll = 0;
            }
        }
        Action::PrepareAlert => {
            if state.read_only {
                // Unreachable through the key table; kept as a second lock.
                return Effect::None;
            }
            state.dialog = Some(crate::ui::incident::alert_dialog(state));
        }
        Action::StartRun => {
            if state.read_only || state.screen != Screen::Drp {
                // `--read-only` is also refused by the key table and by the engine.
                return Effect::None;
            }
            if let Some((n, ask)) = state.drp.run.as_ref().and_then(|r| r.needs_ack.clone()) {
                state.dialog = Some(crate::ui::drp_run::ack_dialog(n, &ask));
                return Effect::None;
            }
            if state.config.runbooks.list.is_empty() {
                return Effect::None;
            }
            let plan = crate::ui::render::plan_for(state).map_err(|e| e.to_string());
            let answers = crate::ui::render::production_answer(state)
                == crate::drp::engine::guards::ProductionAnswer::Answers;
            state.dialog = Some(crate::ui::drp_run::start_dialog(state, plan, answers));
        }
        Action::StopAfterStep => {
            if state.read_only || state.screen != Screen::Drp {
                // `--read-only` is also refused by the key table (and starts no run).
                return Effect::None;
            }
            state.dialog = Some(crate::ui::drp_stop::stop_dialog(state));
        }
        Action::ResumeRun => {
            if state.screen != Screen::Drp {
                return Effect::None;
            }
            if let Some((n, ask)) = state.drp.run.as_ref().and_then(|r| r.needs_ack.clone()) {
                // A run stopped at a confirm step goes on with its answer.
                if !state.read_only {
                    state.dialog = Some(crate::ui::drp_run::ack_dialog(n, &ask));
                }
                return Effect::None;
            }
            if !state.read_only
                && let Some(d) = crate::ui::drp_run::resume_dialog(state)
            {
                state.dialog = Some(d);
            }
        }
    }
    state.clamp_selection();
    Effect::None
}

fn move_by(state: &mut ConsoleState, delta: isize) {
    match state.screen {
        Screen::Host => state.scroll = state.scroll.saturating_add_signed(delta),
        Screen::Drp => {
            let n = state.config.runbooks.list.len();
            state.drp.runbook = step(state.drp.runbook, delta, n);
            state.scroll = 0;
        }
        Screen::Journal => {
            let n = state.journal.runs.len();
            state.journal.selected = step(state.journal.selected, delta, n);
            state.scroll = 0;
        }
        _ => {
            let n = state.visible_hosts().len();
            state.selected = state
                .selected
                .saturating_add_signed(delta)
                .min(n.saturating_sub(1));
        }
    }
}

/// `i` moved by `delta`, inside `0..n`.
fn step(i: usize, delta: isize, n: usize) -> usize {
    i.saturating_add_signed(delta).min(n.saturating_sub(1))
}

/// PgUp / PgDn: the DRP plan and the journal's steps scroll (the lists move by line).
fn page_by(state: &mut ConsoleState, delta: isize) {
    match state.screen {
        Screen::Drp | Screen::Journal => {
            let max = crate::ui::render::scroll_limit(state);
            state.scroll = step(state.scroll, delta, max + 1);
        }
        _ => move_by(state, delta),
    }
}

/// A key while a dialog is open: typing, Backspace, scrolling, Esc (or Ctrl-C) cancels,
/// Enter confirms only when the word typed is exactly the one asked (empty never confirms).
fn dialog_key(state: &mut ConsoleState, key: &KeyEvent) -> Effect {
    let Some(d) = state.dialog.as_mut() else {
        return Effect::None;
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        KeyCode::Esc => state.dialog = None,
        KeyCode::Char('c') if ctrl => state.dialog = None,
        KeyCode::Enter => match d.confirm_word.clone() {
            None => {}
            Some(word) if !d.input.is_empty() && d.input == word => {
                let action = d.on_confirm.clone();
                state.dialog = None;
                return confirm(state, action);
            }
            Some(word) => {
                d.error = Some(crate::ui::strings::dialog_wrong(&word));
                d.input.clear();
            }
        },
        KeyCode::Backspace => {
            d.input.pop();
            d.error = None;
        }
        KeyCode::Up => d.scroll = d.scroll.saturating_sub(1),
        KeyCode::Down => d.scroll = d.scroll.saturating_add(1),
        KeyCode::PageUp => d.scroll = d.scroll.saturating_sub(PAGE),
        KeyCode::PageDown => d.scroll = d.scroll.saturating_add(PAGE),
        KeyCode::Char(c) if !ctrl && !c.is_control() && d.confirm_word.is_some() => {
            if d.input.chars().count() < 64 {
                d.input.push(c);
            }
            d.error = None;
        }
        _ => {}
    }
    Effect::None
}

/// What a confirmed dialog does.
fn confirm(state: &mut ConsoleState, action: crate::ui::state::DialogAction) -> Effect {
    use crate::ui::incident::{AlertOutcome, AlertStatus, Outgoing};
    if action == crate::ui::state::DialogAction::Quit {
        return Effect::Quit;
    }
    if state.read_only {
        return Effect::None;
    }
    match action {
        crate::ui::state::DialogAction::StopAfterStep => {
            // The run may have ended while the dialog was open: nothing to stop then.
            match state.drp.run.as_mut().filter(|r| r.running()) {
                Some(run) => {
                    run.stop_asked = true;
                    Effect::StopAfterStep
                }
                None => Effect::None,
            }
        }
        crate::ui::state::DialogAction::SendAlert { key, ticket } => {
            let sending = state
                .alert
                .as_ref()
                .is_some_and(|a| a.outcome == AlertOutcome::Sending);
            if state.config.ticket.is_none() || sending {
                return Effect::None;
            }
            state.alert = Some(AlertStatus {
                key: key.clone(),
                at: state.now,
                outcome: AlertOutcome::Sending,
            });
            state.outbox = Some(Outgoing { key, ticket });
            Effect::SendAlert
        }
        // Forms are answered by `drp_run::form_key`; an information dialog confirms nothing.
        crate::ui::state::DialogAction::StartRun(_)
        | crate::ui::state::DialogAction::Ack { .. }
        | crate::ui::state::DialogAction::Resume { .. }
        | crate::ui::state::DialogAction::Quit
        | crate::ui::state::DialogAction::Info => Effect::None,
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
