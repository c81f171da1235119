//! Screens whose feature is not configured: say so plainly, never pretend.

use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

pub fn render(frame: &mut Frame, area: Rect, title: &str, text: &[&str], theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Border))
        .title(Line::styled(format!(" {title} "), theme.style(Role::Title)));
    let lines: Vec<Line> = text
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Line::styled(
                *l,
                theme.style(if i == 0 { Role::Text } else { Role::Muted }),
            )
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
