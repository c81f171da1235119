//! The navigation line: the five screens, and the refresh status on the right.

use crate::ui::state::{ConsoleState, Screen};
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let mut spans = Vec::new();
    for (screen, title) in Screen::ALL.iter().zip(s::SCREEN_TITLES) {
        let text = format!(" {} {title} ", screen.number());
        let style = if *screen == state.screen {
            theme.style(Role::TabActive)
        } else {
            theme.style(Role::Header)
        };
        spans.push(Span::styled(text, style));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);

    let reached = state.hosts.iter().filter(|h| h.reachable()).count();
    let status = format!(
        "refresh {}s · {reached}/{} hosts ",
        state.refresh.as_secs(),
        state.hosts.len()
    );
    let used: usize = Screen::ALL.len() * 12;
    if usize::from(area.width) > used + status.chars().count() {
        frame.render_widget(
            Paragraph::new(Span::styled(status, theme.style(Role::Muted)))
                .alignment(Alignment::Right),
            area,
        );
    }
}
