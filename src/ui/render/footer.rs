//! The bottom line: the jump host's own health on the left, the demo's fault switches, the
//! filter, and the main keys on the right; or the filter being typed. Never wider than the
//! terminal: each part has shorter forms, taken in a fixed order of what matters least
//! (at 80 columns the demo's switches keep their keys and marks, the hints keep `? help`).

use super::drp::Row;
use super::state_word;
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
    let (left, right) = lines(state, usize::from(area.width));
    let spans = |row: Row| -> Line<'static> {
        Line::from(
            row.into_iter()
                .map(|(role, text)| Span::styled(text, theme.style(role)))
                .collect::<Vec<_>>(),
        )
    };
    frame.render_widget(Paragraph::new(spans(left)), area);
    if !right.is_empty() {
        frame.render_widget(
            Paragraph::new(spans(right)).alignment(Alignment::Right),
            area,
        );
    }
}

/// The left part and the right part (the hints) of the footer at `width` columns: together
/// never wider than `width` (a space at least between them).
pub(super) fn lines(state: &ConsoleState, width: usize) -> (Row, Row) {
    // Parts, each with its forms from the longest to the shortest.
    const JUMP: usize = 0;
    const DEMO: usize = 1;
    const FILTER: usize = 2;
    const HINTS: usize = 3;
    let parts = [jump_host(state), demo(state), filter(state), hints(state)];
    // What gives way first: the longer hints, the jump host's figures (in the demo, the
    // jump host is this machine: its switches matter more), the demo's switch names, the
    // hints; the filter text last. A jump host not OK keeps its state word.
    let order = [
        HINTS, JUMP, HINTS, JUMP, JUMP, DEMO, DEMO, HINTS, FILTER, FILTER,
    ];
    let pick = choose(&parts, &order, width.saturating_sub(1), 0);
    let form = |i: usize| parts[i].get(pick[i]).cloned().unwrap_or_default();
    let mut left = form(JUMP);
    left.extend(form(DEMO));
    left.extend(form(FILTER));
    (left, form(HINTS))
}

fn jump_host(state: &ConsoleState) -> Vec<Row> {
    let Some(console) = &state.console else {
        return vec![Vec::new()];
    };
    let figure = |id: &str| {
        console
            .checks
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.value)
    };
    let cpu = figure("system.cpu").map(|v| format!(" cpu {v:.0}%"));
    let mem = figure("system.memory").map(|v| format!(" mem {v:.0}%"));
    let load = figure("system.load").map(|v| format!(" load {v:.1}/cpu"));
    // The state word in its state's colour (the roles `state_style` uses).
    let word: Row = match console.state {
        crate::checks::State::Ok => Vec::new(),
        st => vec![(
            match st {
                crate::checks::State::Crit => Role::Crit,
                crate::checks::State::Warn => Role::Warn,
                _ => Role::Unknown,
            },
            format!(" {}", state_word(st).trim_end()),
        )],
    };
    let with = |text: String| -> Row {
        let mut row = vec![(Role::Muted, text)];
        row.extend(word.clone());
        row
    };
    let all: String = [&cpu, &mem, &load].into_iter().flatten().cloned().collect();
    let some: String = [&cpu, &mem].into_iter().flatten().cloned().collect();
    let mut forms = vec![
        with(format!(" {}{all}", s::JUMP_HOST)),
        with(format!(" {}{some}", s::JUMP_HOST_SHORT)),
        with(format!(" {}", s::JUMP_HOST)),
    ];
    // A jump host in trouble keeps its state word to the end.
    forms.push(match word.is_empty() {
        true => Vec::new(),
        false => with(format!(" {}", s::JUMP_HOST_SHORT)),
    });
    forms
}

/// The demo's fault switches: key, mark (● on, ○ off) and name; then the short names; then
/// key and mark only. Nothing outside the demo.
fn demo(state: &ConsoleState) -> Vec<Row> {
    let Some(switches) = state.demo.as_ref().filter(|_| state.demo_keys()) else {
        return vec![Vec::new()];
    };
    let form = |name: &dyn Fn(crate::demo::Fault) -> &'static str| -> Row {
        let mut row = vec![(Role::Accent, "  demo:".to_string())];
        for (fault, on) in switches {
            let key = crate::ui::keys::BINDINGS
                .iter()
                .find(|b| b.action == crate::ui::keys::Action::DemoFault(*fault))
                .map_or("", |b| b.label);
            let (role, mark) = match on {
                true => (Role::Crit, "●"),
                false => (Role::Muted, "○"),
            };
            row.push((role, format!(" {key}{mark}{}", name(*fault))));
        }
        row
    };
    vec![
        form(&s::demo_fault),
        form(&s::demo_fault_short),
        form(&|_| ""),
    ]
}

fn filter(state: &ConsoleState) -> Vec<Row> {
    if state.filter.text.is_empty() {
        return vec![Vec::new()];
    }
    let text = crate::text::sanitize(&state.filter.text);
    vec![
        vec![(Role::Accent, format!("  /{text}"))],
        vec![(Role::Accent, format!("  /{}", super::fit(&text, 12)))],
    ]
}

fn hints(state: &ConsoleState) -> Vec<Row> {
    let forms: &[&str] = match state.screen {
        Screen::Overview => &[s::HINTS_OVERVIEW, s::HINTS_OVERVIEW_SHORT, s::HINTS_SHORT],
        Screen::Host => &[s::HINTS_HOST, s::HINTS_HOST_SHORT, s::HINTS_SHORT],
        // As many forms as the others: the order of `lines` counts them.
        _ => &[s::HINTS_OTHER, s::HINTS_SHORT, s::HINTS_SHORT],
    };
    let mut out: Vec<Row> = forms
        .iter()
        .map(|h| vec![(Role::Muted, format!("{h} "))])
        .collect();
    out.push(Vec::new());
    out
}

fn row_width(row: &Row) -> usize {
    row.iter().map(|(_, t)| t.chars().count()).sum()
}

/// Which form of each part to show so that they fit in `room` columns (`sep` columns between
/// two shown parts): each part starts at its longest form; while too wide, the next part of
/// `order` takes its next shorter form (a part at its shortest stays). Forms run from the
/// longest to the shortest; an empty form hides the part.
pub(super) fn choose(parts: &[Vec<Row>], order: &[usize], room: usize, sep: usize) -> Vec<usize> {
    let mut pick = vec![0; parts.len()];
    let width = |pick: &[usize]| {
        let shown: Vec<usize> = parts
            .iter()
            .zip(pick)
            .filter_map(|(forms, i)| forms.get(*i).map(row_width))
            .filter(|w| *w > 0)
            .collect();
        shown.iter().sum::<usize>() + sep * shown.len().saturating_sub(1)
    };
    for &p in order {
        if width(&pick) <= room {
            break;
        }
        if let Some(forms) = parts.get(p) {
            pick[p] = (pick[p] + 1).min(forms.len().saturating_sub(1));
        }
    }
    pick
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_give_way_in_order_until_they_fit() {
        let part = |forms: &[&str]| -> Vec<Row> {
            forms
                .iter()
                .map(|f| match f.is_empty() {
                    true => Vec::new(),
                    false => vec![(Role::Text, f.to_string())],
                })
                .collect()
        };
        let parts = vec![
            part(&["aaaaaaaaaa", "aaaa", ""]),
            part(&["bbbbbbbbbb", "bb"]),
        ];
        assert_eq!(choose(&parts, &[0, 1, 0], 30, 1), vec![0, 0]);
        assert_eq!(choose(&parts, &[0, 1, 0], 15, 1), vec![1, 0]);
        assert_eq!(choose(&parts, &[0, 1, 0], 7, 1), vec![1, 1]);
        assert_eq!(choose(&parts, &[0, 1, 0], 2, 1), vec![2, 1]);
        // Out of shorter forms: the shortest of each, even if still too wide.
        assert_eq!(choose(&parts, &[0, 1, 0, 1, 0], 0, 1), vec![2, 1]);
    }
}
