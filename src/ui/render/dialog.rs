//! The confirmation popup, one component for every action the console offers: its title,
//! what confirming does, the exact ticket it sends (or the text to copy when nothing can be
//! sent), and the word to type. Long text scrolls (↑↓ PgUp PgDn) and wraps at word
//! boundaries inside the popup; the prompt stays in view at the bottom.

use crate::text::sanitize;
use crate::ui::state::Dialog;
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// The widest the popup gets: a ticket reads better in a column than across a wide screen.
const MAX_WIDTH: u16 = 100;

pub fn render(frame: &mut Frame, area: Rect, dialog: &Dialog, theme: &Theme) {
    let w = area
        .width
        .saturating_sub(4)
        .clamp(area.width.min(20), MAX_WIDTH);
    let inner_w = usize::from(w.saturating_sub(4));
    let text = text_rows(dialog, inner_w);
    let prompt = prompt_rows(dialog, inner_w);
    let h = (text.len() + prompt.len() + 3) as u16;
    let h = h.min(area.height.saturating_sub(2)).max(area.height.min(5));
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, popup);
    let view = usize::from(h.saturating_sub(3)).saturating_sub(prompt.len());
    let first = dialog.scroll.min(text.len().saturating_sub(view));
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Accent))
        .title(Line::styled(
            sanitize(&dialog.title),
            theme.style(Role::Title),
        ))
        .style(theme.style(Role::Background));
    if text.len() > view {
        block = block.title_bottom(Line::styled(
            format!(
                " ↑↓ lines {}–{} of {} ",
                first + 1,
                (first + view).min(text.len()),
                text.len()
            ),
            theme.style(Role::Muted),
        ));
    }
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let pad = |r: Rect| Rect {
        x: r.x + 1,
        width: r.width.saturating_sub(2),
        ..r
    };
    let style =
        |(role, t): &(Role, String)| Line::from(Span::styled(t.clone(), theme.style(*role)));
    let lines: Vec<Line> = text.iter().skip(first).take(view).map(style).collect();
    frame.render_widget(Paragraph::new(lines), pad(inner));
    let bottom = Rect {
        y: inner.y + inner.height.saturating_sub(prompt.len() as u16),
        height: (prompt.len() as u16).min(inner.height),
        ..inner
    };
    let lines: Vec<Line> = prompt.iter().map(style).collect();
    frame.render_widget(Paragraph::new(lines), pad(bottom));
}

/// What the dialog says, wrapped to `width`: what confirming does, the note, the ticket.
fn text_rows(d: &Dialog, width: usize) -> Vec<(Role, String)> {
    let mut out = Vec::new();
    for l in &d.body {
        for w in wrap(&sanitize(l), width, "") {
            out.push((Role::Text, w));
        }
    }
    if let Some(n) = &d.note {
        for w in wrap(&sanitize(n), width, "") {
            out.push((Role::Warn, w));
        }
    }
    if let Some(t) = &d.ticket {
        out.push((Role::Text, String::new()));
        let title = format!("{} {}", s::DIALOG_TICKET_TITLE, sanitize(&t.title));
        for w in wrap(&title, width, "  ") {
            out.push((Role::Accent, w));
        }
        out.push((Role::Header, s::DIALOG_TICKET_BODY.to_string()));
        for line in t.body.split('\n') {
            // A list item's continuation lines are indented under its text.
            let indent = if line.starts_with("- ") { "    " } else { "  " };
            for w in wrap(&format!("  {}", sanitize(line)), width, indent) {
                out.push((Role::Text, w));
            }
        }
    }
    out
}

/// The bottom: the word to type and what was typed, or how to close; the last error.
fn prompt_rows(d: &Dialog, width: usize) -> Vec<(Role, String)> {
    let mut out = Vec::new();
    match &d.confirm_word {
        Some(word) => {
            let field = format!("> {}▏", sanitize(&d.input));
            let hint = s::dialog_prompt(word, d.on_confirm.verb());
            let line = format!("{field}   {hint}");
            if line.chars().count() <= width {
                out.push((Role::Key, line));
            } else {
                // Narrow: the field, then what to type under it (never cut).
                out.push((Role::Key, super::fit(&field, width)));
                for w in wrap(&hint, width, "") {
                    out.push((Role::Key, w));
                }
            }
        }
        None => out.push((Role::Key, super::fit(s::DIALOG_CLOSE, width))),
    }
    if let Some(e) = &d.error {
        out.push((Role::Crit, super::fit(&sanitize(e), width)));
    }
    out
}

/// `text` cut into lines of at most `width` columns at spaces (a word longer than a line is
/// cut), the lines after the first starting with `indent`.
pub(super) fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let len = |s: &str| s.chars().count();
    let width = width.max(len(indent) + 8);
    let body = text.trim_start_matches(' ');
    let lead = (text.len() - body.len()).min(width / 2);
    let mut out = Vec::new();
    let mut line = " ".repeat(lead);
    let mut empty = true;
    for word in body.split(' ').filter(|w| !w.is_empty()) {
        if !empty && len(&line) + 1 + len(word) > width {
            out.push(std::mem::replace(&mut line, indent.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        let mut rest = word;
        while len(&line) + len(rest) > width {
            let room = width.saturating_sub(len(&line)).max(1);
            let cut = rest.char_indices().nth(room).map_or(rest.len(), |(i, _)| i);
            line.push_str(&rest[..cut]);
            rest = &rest[cut..];
            out.push(std::mem::replace(&mut line, indent.to_string()));
        }
        line.push_str(rest);
        empty = false;
    }
    if !empty || out.is_empty() {
        out.push(line);
    }
    out
}

#[cfg(test)]
#[path = "dialog_tests.rs"]
mod tests;
