//! The bottom line: the jump host's own health on the left, the filter being typed or the
//! main keys on the right.

use super::{state_style, state_word};
use crate::ui::state::{ConsoleState, Screen};
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    if state.filter.editing {
        let line = Line::from(vec![
            Span::styled(s::FILTER_PROMPT, theme.style(Role::Accent)),
            Span::styled(format!("{}▏", state.filter.text), theme.style(Role::Text)),
            Span::styled(format!("   {}", s::FILTER_HINT), theme.style(Role::Muted)),
        ]);
        frame.render_widget(Paragraph::new(line), area);
        return;
    }
    let mut left = Vec::new();
    if let Some(console) = &state.console {
        let figure = |id: &str| {
            console
                .checks
                .iter()
                .find(|c| c.id == id)
                .and_then(|c| c.value)
        };
        let mut text = format!(" {}", s::JUMP_HOST);
        if let Some(v) = figure("system.cpu") {
            text.push_str(&format!(" cpu {v:.0}%"));
        }
        if let Some(v) = figure("system.memory") {
            text.push_str(&format!(" mem {v:.0}%"));
        }
        if let Some(v) = figure("system.load") {
            text.push_str(&format!(" load {v:.1}/cpu"));
        }
        left.push(Span::styled(text, theme.style(Role::Muted)));
        if console.state != crate::checks::State::Ok {
            left.push(Span::styled(
                format!(" {}", state_word(console.state).trim_end()),
                state_style(theme, console.state),
            ));
        }
    }
    if let Some(switches) = state.demo.as_ref().filter(|_| state.demo_keys()) {
        left.push(Span::styled("  demo:", theme.style(Role::Accent)));
        for (fault, on) in switches {
            let key = crate::ui::keys::BINDINGS
                .iter()
                .find(|b| b.action == crate::ui::keys::Action::DemoFault(*fault))
                .map_or("", |b| b.label);
            let style = if *on {
                theme.style(Role::Crit)
            } else {
                theme.style(Role::Muted)
            };
            let mark = if *on { "●" } else { "○" };
            left.push(Span::styled(
                format!(" {key}{mark}{}", s::demo_fault(*fault)),
                style,
            ));
        }
    }
    if !state.filter.text.is_empty() {
        left.push(Span::styled(
            format!("  /{}", state.filter.text),
            theme.style(Role::Accent),
        ));
    }
    let left_w: usize = left.iter().map(|s| s.content.chars().count()).sum();
    frame.render_widget(Paragraph::new(Line::from(left)), area);
    let hints = match state.screen {
        Screen::Overview => s::HINTS_OVERVIEW,
        Screen::Host => s::HINTS_HOST,
        _ => s::HINTS_OTHER,
    };
    if usize::from(area.width) > left_w + hints.chars().count() + 2 {
        frame.render_widget(
            Paragraph::new(Span::styled(format!("{hints} "), theme.style(Role::Muted)))
                .alignment(Alignment::Right),
            area,
        );
    }
}
