//! The `?` overlay, generated from the key table the handler uses. Every key is in it at any
//! size: a help text longer than the popup wraps under its column, and when the keys do not
//! all fit in the height (80×24 with the DRP and demo keys), the list scrolls (↑↓ PgUp PgDn)
//! and the bottom border says which lines are shown.

use super::dialog::wrap;
use crate::ui::keys::{BINDINGS, Binding};
use crate::ui::state::ConsoleState;
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

/// The narrowest and shortest terminal the console is made for (SPEC §7): the scroll limit
/// of the key handler is the one of this size.
const MIN_W: u16 = 80;
const MIN_H: u16 = 24;

/// The keys offered here: the demo's only in the demo, none that acts under `--read-only`.
fn bindings(state: &ConsoleState) -> Vec<&'static Binding> {
    BINDINGS
        .iter()
        .filter(|b| state.demo_keys() || !b.demo_only)
        .filter(|b| !(state.read_only && b.acts))
        .collect()
}

/// A line of the help: the key column (empty on a continuation line) and the text.
type HelpLine = (String, String, Role);

/// Every line of the help for a popup of `width` columns (borders included).
fn lines(state: &ConsoleState, width: u16) -> Vec<HelpLine> {
    let list = bindings(state);
    let label_w = list
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(1);
    // Borders, a space each side, and the key column.
    let text_w = usize::from(width).saturating_sub(2 + 2 + label_w + 3);
    let mut out = Vec::new();
    for b in list {
        for (i, part) in wrap(b.help, text_w, "").into_iter().enumerate() {
            let key = if i == 0 {
                format!(" {:<label_w$}  ", b.label)
            } else {
                " ".repeat(label_w + 3)
            };
            out.push((key, part, Role::Text));
        }
    }
    out.push((String::new(), String::new(), Role::Muted));
    for part in wrap(
        &format!(" {}", s::HELP_FOOTER),
        usize::from(width).saturating_sub(3),
        " ",
    ) {
        out.push((String::new(), part, Role::Muted));
    }
    out
}

/// The popup's width in an area `area_w` wide: the longest line unwrapped, or the area.
fn popup_width(state: &ConsoleState, area_w: u16) -> u16 {
    let natural = lines(state, u16::MAX / 2)
        .iter()
        .map(|(k, t, _)| k.chars().count() + t.chars().count())
        .max()
        .unwrap_or(20)
        + 3;
    u16::try_from(natural).unwrap_or(u16::MAX).min(area_w)
}

/// How far the key handler lets the help scroll: what an 80×24 terminal needs to show its
/// last line (a larger one shows more at once; the drawing clamps).
pub(crate) fn scroll_limit(state: &ConsoleState) -> usize {
    let n = lines(state, popup_width(state, MIN_W)).len();
    n.saturating_sub(usize::from(MIN_H - 2))
}

pub fn render(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let w = popup_width(state, area.width);
    let all = lines(state, w);
    let h = (all.len() as u16 + 2).min(area.height);
    let view = usize::from(h.saturating_sub(2));
    let first = state.help_scroll.min(all.len().saturating_sub(view));
    let popup = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, popup);
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Accent))
        .title(Line::styled(s::HELP_TITLE, theme.style(Role::Title)))
        .style(theme.style(Role::Background));
    if all.len() > view {
        block = block.title_bottom(Line::styled(
            s::help_more(first + 1, (first + view).min(all.len()), all.len()),
            theme.style(Role::Muted),
        ));
    }
    let shown: Vec<Line> = all
        .iter()
        .skip(first)
        .take(view)
        .map(|(key, text, role)| {
            Line::from(vec![
                Span::styled(key.clone(), theme.style(Role::Key)),
                Span::styled(text.clone(), theme.style(*role)),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(shown).block(block), popup);
}
