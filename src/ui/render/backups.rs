//! Screen 3: every dataset × its servers — ages and states, the data-loss window as a bar
//! against its limit, what losing one server would cost, and a timeline of the last days
//! where each backup is a mark on its server's row (the even/odd alternation at a glance).

use super::{fit, state_style, state_word};
use crate::backup::evaluate::{DatasetReport, human, when};
use crate::backup::model::CopyReading;
use crate::backup::schedule::{epoch_day, parity};
use crate::checks::State;
use crate::ui::state::ConsoleState;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// Days on the timeline.
const DAYS: i64 = 7;

pub fn render(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    if state.config.datasets.is_empty() {
        super::placeholder::render(
            frame,
            area,
            "Backups",
            crate::ui::strings::BACKUPS_UNCONFIGURED,
            theme,
        );
        return;
    }
    // Per dataset: its line, its copies (and the reason of each that is not OK), its policy,
    // a blank line.
    let rows: usize = state
        .datasets
        .iter()
        .map(|d| {
            let reasons = d
                .checks
                .iter()
                .take(d.copies.len())
                .filter(|c| c.state != State::Ok)
                .count();
            d.copies.len() + reasons + 4
        })
        .sum();
    let copies: usize = state.config.datasets.iter().map(|d| d.copies.len()).sum();
    let [top, bottom] = Layout::vertical([
        Constraint::Length((rows as u16 + 2).min(area.height.saturating_sub(5))),
        Constraint::Min((copies as u16 + 4).min(12)),
    ])
    .areas(area);
    datasets(frame, top, state, theme);
    timeline(frame, bottom, state, theme);
}

fn datasets(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Border))
        .title(Line::styled(" Datasets ", theme.style(Role::Title)));
    // The measurement's progress or outcome, else the key that starts it (when offered).
    let block = match (&state.measuring, state.can_measure()) {
        (Some(m), _) => block.title(Line::styled(
            format!(" {} ", fit(m, usize::from(area.width).saturating_sub(14))),
            theme.style(Role::Muted),
        )),
        (None, true) => block.title(Line::styled(
            format!(" T {} ", crate::ui::strings::MEASURE_HINT),
            theme.style(Role::Muted),
        )),
        (None, false) => block,
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let tz = state.time_zone.clone();
    let mut lines: Vec<Line> = Vec::new();
    if state.datasets.is_empty() {
        lines.push(Line::styled(
            format!(" {}", crate::ui::strings::WAITING),
            theme.style(Role::Muted),
        ));
    }
    for d in &state.datasets {
        lines.push(window_line(d, width, theme));
        if let Some(rto) = &d.rto {
            lines.push(Line::from(vec![
                Span::styled(
                    format!(" {} ", state_word(rto.state)),
                    state_style(theme, rto.state),
                ),
                Span::styled(
                    fit(&format!("   RTO {}", rto.summary), width.saturating_sub(6)),
                    theme.style(Role::Text),
                ),
            ]));
        }
        for (i, c) in d.copies.iter().enumerate() {
            let copy = state
                .config
                .datasets
                .iter()
                .find(|ds| ds.name == d.name)
                .and_then(|ds| ds.copies.get(c.index));
            let every = copy.map(|c| human(c.every.as_secs())).unwrap_or_default();
            let age = c
                .age_s
                .map_or_else(|| "—".to_string(), |a| format!("{} old", human(a)));
            let due = c
                .next_due
                .map(|t| format!("next {}", when(t, state.now, &tz)))
                .unwrap_or_default();
            let text = format!(
                "   {:<10} {:<4} {:<5} every {:<7} {:<14} {}",
                c.host,
                c.datacenter.as_deref().unwrap_or("?"),
                c.days,
                every,
                age,
                due
            );
            lines.push(Line::from(vec![
                Span::styled(
                    format!(" {} ", state_word(c.state)),
                    state_style(theme, c.state),
                ),
                Span::styled(fit(&text, width.saturating_sub(6)), theme.style(Role::Text)),
            ]));
            // The reason of a copy that is not OK (its check comes first, in copy order).
            if let Some(check) = d.checks.get(i).filter(|k| k.state != State::Ok) {
                lines.push(Line::styled(
                    fit(&format!("        ↳ {}", check.summary), width),
                    state_style(theme, check.state),
                ));
            }
        }
        for check in d.checks.iter().filter(|c| c.id.ends_with(".policy")) {
            lines.push(Line::from(vec![
                Span::styled(
                    format!(" {} ", state_word(check.state)),
                    state_style(theme, check.state),
                ),
                Span::styled(
                    fit(&format!("   {}", check.summary), width.saturating_sub(6)),
                    theme.style(Role::Muted),
                ),
            ]));
        }
        lines.push(Line::default());
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// "userdb  max 2 h  window 52 min ███░░░ OK  worst next 2 h 14 min  (losing backup-a: 26 h)"
fn window_line(d: &DatasetReport, width: usize, theme: &Theme) -> Line<'static> {
    let window_state = d
        .checks
        .iter()
        .find(|c| c.id.ends_with(".loss_window"))
        .map_or(State::Unknown, |c| c.state);
    let bar_w = 12;
    let (bar, window) = match d.loss_window_s {
        Some(w) => {
            let filled = if d.max_loss_s == 0 {
                bar_w
            } else {
                ((w as f64 / d.max_loss_s as f64) * bar_w as f64)
                    .round()
                    .clamp(0.0, bar_w as f64) as usize
            };
            (
                format!("{}{}", "█".repeat(filled), "░".repeat(bar_w - filled)),
                human(w),
            )
        }
        None => ("?".repeat(bar_w), "unknown".to_string()),
    };
    let worst = d.worst_next_s.map(human).unwrap_or_else(|| "—".into());
    let lost: Vec<String> = d.if_lost.iter().map(|l| l.describe()).collect();
    let rest = format!("  worst at next failure {worst}   if {}", lost.join(", "));
    Line::from(vec![
        Span::styled(format!(" {:<10}", d.name), theme.style(Role::Title)),
        Span::styled(
            format!(" max {:<7} window {:<10} ", human(d.max_loss_s), window),
            theme.style(Role::Text),
        ),
        Span::styled(bar, state_style(theme, window_state)),
        Span::styled(
            format!(" {}", state_word(window_state)),
            state_style(theme, window_state),
        ),
        Span::styled(
            fit(&rest, width.saturating_sub(50)),
            theme.style(Role::Muted),
        ),
    ])
}

fn timeline(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Border))
        .title(Line::styled(
            format!(" Last {DAYS} days "),
            theme.style(Role::Title),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let tz = state.time_zone.clone();
    let today = epoch_day(state.now, &tz);
    let days: Vec<i64> = (0..DAYS).rev().map(|k| today - k).collect();
    let label_w = 22;
    let cell = 5;
    let mut head = format!("{:<label_w$}", "");
    let mut parities = format!("{:<label_w$}", "");
    for d in &days {
        let start = crate::backup::schedule::day_start(*d, &tz);
        let name = start
            .to_zoned_datetime(tz.clone())
            .strftime("%a")
            .to_string();
        head.push_str(&format!("{:<cell$}", fit(&name, cell - 1)));
        let p = if parity(*d) == crate::backup::model::Days::Even {
            "even"
        } else {
            "odd"
        };
        parities.push_str(&format!("{:<cell$}", p));
    }
    let mut lines = vec![
        Line::styled(head, theme.style(Role::Header)),
        Line::styled(parities, theme.style(Role::Muted)),
    ];
    let readings = state.backup_readings();
    for (di, ds) in state.config.datasets.iter().enumerate() {
        for (ci, copy) in ds.copies.iter().enumerate() {
            let id = crate::backup::site::copy_id(&state.config, di, ci);
            let mut spans = vec![Span::styled(
                format!(
                    "{:<label_w$}",
                    fit(
                        &format!(" {} {} ({})", ds.name, copy.host, copy.days.word()),
                        label_w - 1
                    )
                ),
                theme.style(Role::Text),
            )];
            let captured: Vec<i64> = match readings.get(&id) {
                Some(CopyReading::Found(list)) => {
                    list.iter().map(|b| epoch_day(b.captured_at, &tz)).collect()
                }
                _ => Vec::new(),
            };
            for d in &days {
                let n = captured.iter().filter(|c| *c == d).count();
                let mark = match n {
                    0 => "·".to_string(),
                    1 => "▮".to_string(),
                    n => format!("▮{}", n.min(99)),
                };
                let style = if n > 0 {
                    theme.style(Role::Gauge)
                } else {
                    theme.style(Role::Muted)
                };
                spans.push(Span::styled(format!("{:<cell$}", mark), style));
            }
            if !matches!(readings.get(&id), Some(CopyReading::Found(_))) {
                spans.push(Span::styled(" not read", theme.style(Role::Unknown)));
            }
            lines.push(Line::from(spans));
        }
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
