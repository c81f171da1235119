//! Drawing the console: one function per part, each reading [`ConsoleState`] only.

mod backups;
mod dialog;
mod drp;
mod drp_run;
mod footer;
mod help;
mod host;
mod incident;
mod journal;
mod overview;
mod placeholder;
mod tabs;
mod top_bar;

pub(crate) use drp::{plan_for, production_answer};

use super::state::{ConsoleState, Screen};
use super::theme::{Role, Theme};
use crate::checks::State;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::Style;
use ratatui::widgets::Block;

/// Draw the whole screen.
pub fn draw(frame: &mut Frame, state: &ConsoleState, theme: &Theme) {
    let area = frame.area();
    frame.render_widget(Block::default().style(theme.style(Role::Background)), area);
    let [top, banner, nav, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(incident::height(state)),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    top_bar::render(frame, top, state, theme);
    incident::render(frame, banner, state, theme);
    tabs::render(frame, nav, state, theme);
    match state.screen {
        Screen::Overview => overview::render(frame, body, state, theme),
        Screen::Host => host::render(frame, body, state, theme),
        Screen::Backups => backups::render(frame, body, state, theme),
        Screen::Drp if state.drp.run.is_some() => drp_run::render(frame, body, state, theme),
        Screen::Drp => drp::render(frame, body, state, theme),
        Screen::Journal => journal::render(frame, body, state, theme),
    }
    footer::render(frame, foot, state, theme);
    if state.help {
        help::render(frame, area, state, theme);
    }
    if let Some(d) = &state.dialog {
        match &d.on_confirm {
            super::state::DialogAction::StartRun(_)
            | super::state::DialogAction::Ack { .. }
            | super::state::DialogAction::Resume { .. } => {
                drp_run::render_form(frame, area, d, theme)
            }
            _ => dialog::render(frame, area, d, theme),
        }
    }
}

/// How far the help may scroll (its last line in view at 80×24).
pub(crate) fn help_scroll_limit(state: &ConsoleState) -> usize {
    help::scroll_limit(state)
}

/// How far PgDn may scroll the DRP plan or the journal's steps: their last line.
pub(crate) fn scroll_limit(state: &ConsoleState) -> usize {
    match state.screen {
        Screen::Drp if state.drp.run.is_some() => drp_run::line_count(state).saturating_sub(1),
        Screen::Drp => drp::line_count(state).saturating_sub(1),
        Screen::Journal => journal::line_count(state).saturating_sub(1),
        _ => 0,
    }
}

/// The style of a state word.
pub(super) fn state_style(theme: &Theme, state: State) -> Style {
    theme.style(match state {
        State::Ok => Role::Ok,
        State::Warn => Role::Warn,
        State::Crit => Role::Crit,
        State::Unknown => Role::Unknown,
    })
}

/// The state as a fixed-width word: states are always words, never colour alone.
pub(super) fn state_word(state: State) -> &'static str {
    match state {
        State::Ok => "OK  ",
        State::Warn => "WARN",
        State::Crit => "CRIT",
        State::Unknown => "UNK ",
    }
}

/// Cut `s` to `width` columns, with an ellipsis when cut.
pub(super) fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// "2s", "3m", "4h", "5d" — an age at a glance.
pub(super) fn short_age(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

#[cfg(test)]
mod tests;

/// The example site the DRP, Journal, banner and dialog tests share.
#[cfg(test)]
pub(crate) use drp::tests as fixtures;
