//! The `?` overlay, generated from the key table the handler uses.

use crate::ui::keys::BINDINGS;
use crate::ui::state::ConsoleState;
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub fn render(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let bindings: Vec<_> = BINDINGS
        .iter()
        .filter(|b| state.demo_keys() || !b.demo_only)
        .filter(|b| !(state.read_only && b.acts))
        .collect();
    let label_w = bindings
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(1);
    let mut lines: Vec<Line> = bindings
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!(" {:<label_w$}  ", b.label), theme.style(Role::Key)),
                Span::styled(b.help, theme.style(Role::Text)),
            ])
        })
        .collect();
    lines.push(Line::default());
    lines.push(Line::styled(
        format!(" {}", s::HELP_FOOTER),
        theme.style(Role::Muted),
    ));
    let text_w = lines.iter().map(Line::width).max().unwrap_or(20) + 2;
    let w = (text_w as u16).min(area.width);
    let h = (lines.len() as u16 + 2).min(area.height);
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Accent))
        .title(Line::styled(s::HELP_TITLE, theme.style(Role::Title)))
        .style(theme.style(Role::Background));
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
