//! Screen 2: one host — what it is, its history, and every check with its reason.

use super::{fit, short_age, state_style, state_word};
use crate::checks::{Check, State};
use crate::ui::state::{ConsoleState, HostView, Pane};
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline};

pub fn render(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let Some(host) = state.selected_host() else {
        frame.render_widget(
            Paragraph::new(Line::styled(
                format!(" {}", s::NO_HOST_SELECTED),
                theme.style(Role::Muted),
            )),
            area,
        );
        return;
    };
    let [head, graphs, panes] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(4),
        Constraint::Min(3),
    ])
    .areas(area);
    header(frame, head, state, host, theme);
    sparklines(frame, graphs, host, theme);

    let checks = host.checks();
    let hardware: Vec<&Check> = checks
        .iter()
        .copied()
        .filter(|c| c.id.starts_with("hardware."))
        .collect();
    let system: Vec<&Check> = checks
        .iter()
        .copied()
        .filter(|c| !c.id.starts_with("hardware."))
        .collect();
    let wide = panes.width >= 110;
    let [hw_area, sys_area] = if wide {
        Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(panes)
    } else {
        let hw_h = (hardware.len().max(1) as u16 + 2)
            .min(panes.height / 3)
            .max(3);
        Layout::vertical([Constraint::Length(hw_h), Constraint::Min(3)]).areas(panes)
    };
    pane(
        frame,
        hw_area,
        s::PANE_HARDWARE,
        &hardware,
        state.pane == Pane::Hardware,
        state,
        theme,
    );
    pane(
        frame,
        sys_area,
        s::PANE_SYSTEM,
        &system,
        state.pane == Pane::System,
        state,
        theme,
    );
}

fn header(frame: &mut Frame, area: Rect, state: &ConsoleState, host: &HostView, theme: &Theme) {
    let facts = host.last_good.as_ref().map(|s| &s.facts);
    let os = facts.and_then(|f| f.os.as_deref()).unwrap_or("");
    let kernel = facts.and_then(|f| f.kernel.as_deref()).unwrap_or("");
    let st = host.state();
    let first = Line::from(vec![
        Span::styled(format!(" {} ", state_word(st)), state_style(theme, st)),
        Span::styled(format!(" {} ", host.name), theme.style(Role::Title)),
        Span::styled(
            crate::text::sanitize(&format!(
                "{} · {} · {} · {os} · {kernel}",
                host.role.word(),
                host.datacenter,
                host.address
            )),
            theme.style(Role::Muted),
        ),
    ]);
    let second = match &host.latest {
        Some(l) if l.host_key_alert => {
            Line::styled(format!(" {}", s::HOST_KEY_ALERT), theme.style(Role::Crit))
        }
        Some(l) if l.error.is_some() => {
            let age = state
                .age_s(host)
                .map_or_else(|| s::NEVER.to_string(), |a| format!("{} ago", short_age(a)));
            let why = l
                .error
                .as_ref()
                .map(|e| crate::text::sanitize(&e.to_string()))
                .unwrap_or_default();
            Line::styled(
                format!(" {why} — {} {age}", s::UNREACHABLE_SINCE),
                theme.style(Role::Crit),
            )
        }
        Some(_) => {
            let age = state.age_s(host).map(short_age).unwrap_or_default();
            Line::styled(format!(" read {age} ago"), theme.style(Role::Muted))
        }
        None => Line::styled(format!(" {}", s::WAITING), theme.style(Role::Muted)),
    };
    frame.render_widget(Paragraph::new(vec![first, second]), area);
}

fn sparklines(frame: &mut Frame, area: Rect, host: &HostView, theme: &Theme) {
    let parts: [Rect; 3] = Layout::horizontal([Constraint::Ratio(1, 3); 3]).areas(area);
    let series = [
        ("load/cpu", &host.load, 100.0, "system.load"),
        ("cpu %", &host.cpu, 1.0, "system.cpu"),
        ("mem %", &host.memory, 1.0, "system.memory"),
    ];
    for (rect, (label, data, scale, id)) in parts.into_iter().zip(series) {
        let now = data.back().map(|v| {
            if scale > 1.0 {
                format!("{v:.2}")
            } else {
                format!("{v:.0}")
            }
        });
        let st = host.check(id).map_or(State::Unknown, |c| c.state);
        let title = format!(" {label} {} ", now.unwrap_or_else(|| "—".into()));
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style(Role::Border))
            .title(Line::styled(title, state_style(theme, st)));
        // Newest on the right: keep as many points as there are columns.
        let width = usize::from(rect.width.saturating_sub(2));
        let points: Vec<u64> = data
            .iter()
            .skip(data.len().saturating_sub(width))
            .map(|v| (v * scale).round().max(0.0) as u64)
            .collect();
        let max = if scale > 1.0 {
            points.iter().copied().max().unwrap_or(1).max(100)
        } else {
            100
        };
        frame.render_widget(
            Sparkline::default()
                .block(block)
                .data(&points)
                .max(max)
                .style(theme.style(Role::Gauge)),
            rect,
        );
    }
}

fn pane(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    checks: &[&Check],
    focused: bool,
    state: &ConsoleState,
    theme: &Theme,
) {
    let worst = crate::checks::worst(checks.iter().map(|c| c.state));
    let border = if focused {
        theme.style(Role::BorderFocus)
    } else {
        theme.style(Role::Border)
    };
    let marker = if focused { "▶ " } else { "" };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Line::from(vec![
            Span::styled(format!(" {marker}{title} "), theme.style(Role::Title)),
            Span::styled(
                format!("{} ", state_word(worst).trim_end()),
                state_style(theme, worst),
            ),
        ]));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut sorted: Vec<&Check> = checks.to_vec();
    sorted.sort_by_key(|c| std::cmp::Reverse(c.state.severity()));
    let width = usize::from(inner.width);
    let id_w = sorted
        .iter()
        .map(|c| c.id.chars().count())
        .max()
        .unwrap_or(10)
        .min(width / 3);
    let mut lines: Vec<Line> = sorted
        .iter()
        .map(|c| {
            let summary_w = width.saturating_sub(id_w + 7);
            Line::from(vec![
                Span::styled(
                    format!(" {} ", state_word(c.state)),
                    state_style(theme, c.state),
                ),
                Span::styled(
                    format!("{:<id_w$} ", fit(&c.id, id_w)),
                    theme.style(Role::Text),
                ),
                Span::styled(fit(&c.summary, summary_w), theme.style(Role::Muted)),
            ])
        })
        .collect();
    if lines.is_empty() {
        lines.push(Line::styled(
            format!(" {}", s::NOTHING_HERE),
            theme.style(Role::Muted),
        ));
    }
    let scroll = if focused {
        state.scroll.min(lines.len().saturating_sub(1))
    } else {
        0
    };
    let visible: Vec<Line> = lines.into_iter().skip(scroll).collect();
    frame.render_widget(Paragraph::new(visible), inner);
}
