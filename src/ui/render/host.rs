//! Screen 2: one host — what it is, its history, and every check with its reason.

use super::{fit, short_age, state_style, state_word};
use crate::checks::{Check, State};
use crate::ui::state::{ConsoleState, HostView, Pane};
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect, Spacing};
use ratatui::symbols::merge::MergeStrategy;
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
    let [head, graphs, body] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(4),
        Constraint::Min(3),
    ])
    .areas(area);
    header(frame, head, state, host, theme);
    sparklines(frame, graphs, host, theme);

    let checks = host.checks();
    panes(frame, body, &checks, state, theme);
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

/// The panes of the Host screen: a host's checks grouped by id prefix ([`Pane::of`]).
type Group = Pane;

impl Pane {
    /// What every id of the pane starts with: the pane's title says it, the lines do not
    /// repeat it (`network.interface.eth0` reads `interface.eth0` under Network).
    fn prefix(self) -> &'static str {
        match self {
            Group::Hardware => "hardware.",
            Group::System => "system.",
            Group::Applications => "app.",
            Group::Replication => "app.replication.",
            Group::Network => "network.",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Group::Hardware => s::PANE_HARDWARE,
            Group::System => s::PANE_SYSTEM,
            Group::Applications => s::PANE_APPLICATIONS,
            Group::Replication => s::PANE_REPLICATION,
            Group::Network => s::PANE_NETWORK,
        }
    }

    /// The pane Tab focuses (`ConsoleState::pane`).
    fn focused(self, state: &ConsoleState) -> bool {
        state.pane == self
    }
}

/// One pane to draw: its checks worst first (after the focused pane's scroll).
struct PaneData<'a> {
    group: Group,
    checks: Vec<&'a Check>,
    /// Lines scrolled off the top.
    skipped: usize,
    focused: bool,
}

impl PaneData<'_> {
    fn worst(&self) -> State {
        crate::checks::worst(self.checks.iter().map(|c| c.state))
    }

    /// The states of the lines it would show, in order ("no check" counts as one OK line).
    fn line_states(&self) -> Vec<State> {
        if self.checks.is_empty() && self.skipped == 0 {
            return vec![State::Ok];
        }
        self.checks
            .iter()
            .skip(self.skipped)
            .map(|c| c.state)
            .collect()
    }
}

fn panes(frame: &mut Frame, area: Rect, checks: &[&Check], state: &ConsoleState, theme: &Theme) {
    let all = [
        Group::Hardware,
        Group::System,
        Group::Applications,
        Group::Replication,
        Group::Network,
    ];
    let data: Vec<PaneData> = all
        .into_iter()
        .filter_map(|group| {
            let mut mine: Vec<&Check> = checks
                .iter()
                .copied()
                .filter(|c| Group::of(&c.id) == group)
                .collect();
            if mine.is_empty() && !group.always_shown() {
                return None;
            }
            mine.sort_by_key(|c| std::cmp::Reverse(c.state.severity()));
            let focused = group.focused(state);
            let skipped = if focused {
                state.scroll.min(mine.len().saturating_sub(1))
            } else {
                0
            };
            Some(PaneData {
                group,
                checks: mine,
                skipped,
                focused,
            })
        })
        .collect();
    // Wide: the system's many checks on the right, the other panes stacked on the left.
    let columns: Vec<(Rect, Vec<&PaneData>)> = if area.width >= 110 {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                .areas(area);
        vec![
            (
                left,
                data.iter().filter(|p| p.group != Group::System).collect(),
            ),
            (
                right,
                data.iter().filter(|p| p.group == Group::System).collect(),
            ),
        ]
    } else {
        vec![(area, data.iter().collect())]
    };
    for (rect, column) in columns {
        let wants: Vec<(Vec<State>, bool)> = column
            .iter()
            .map(|p| (p.line_states(), p.focused))
            .collect();
        let rows = allocate(rect.height, &wants);
        let shown: Vec<(&PaneData, u16)> = column
            .iter()
            .copied()
            .zip(rows)
            .filter(|(_, r)| *r > 0)
            .collect();
        // Each pane's top border is the previous one's bottom border.
        let areas = Layout::vertical(shown.iter().map(|(_, r)| Constraint::Length(*r)))
            .spacing(Spacing::Overlap(1))
            .split(rect);
        for ((p, _), a) in shown.iter().zip(areas.iter()) {
            pane(frame, *a, p, theme);
        }
    }
}

/// Rows for each pane of a column of `height` rows, given the states of the lines each one
/// would show (worst first) and whether it has the focus. Stacked panes share their borders:
/// a pane costs its title row and one row per line, the column one row more for its bottom
/// border. A pane gets 0 rows (not shown: a tiny terminal only), 2 (its title alone), or
/// k + 2 (k lines). Lines are handed out by priority, not by pane: every WARN or CRIT line of
/// the host before any OK line; then the panes' first lines before their second ones, so
/// that a long pane does not push the others out. Rows left over go to the last pane.
fn allocate(height: u16, panes: &[(Vec<State>, bool)]) -> Vec<u16> {
    let n = panes.len();
    let mut rows = vec![0u16; n];
    if height < 2 || n == 0 {
        return rows;
    }
    let worst = |i: usize| crate::checks::worst(panes[i].0.iter().copied()).severity();
    // Pane priority: worst first, then the focused one, then display order.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(worst(i)), !panes[i].1, i));
    let mut open = vec![false; n];
    let mut left = height - 1;
    for &i in &order {
        if left > 0 {
            open[i] = true;
            left -= 1;
        }
    }
    let rank_of = |i: usize| order.iter().position(|&o| o == i).unwrap_or(i);
    let mut lines: Vec<(std::cmp::Reverse<u8>, usize, usize, usize)> = panes
        .iter()
        .enumerate()
        .flat_map(|(i, (states, _))| {
            states
                .iter()
                .enumerate()
                .map(move |(k, st)| (std::cmp::Reverse(st.severity()), k, i))
        })
        .map(|(sev, k, i)| (sev, k, rank_of(i), i))
        .collect();
    lines.sort();
    let mut shown = vec![0u16; n];
    let mut closed = vec![false; n];
    for (_, k, _, i) in lines {
        // A pane shows a prefix of its lines: once one is refused, the rest are too.
        if !open[i] || closed[i] || usize::from(shown[i]) != k || left == 0 {
            closed[i] = true;
            continue;
        }
        left -= 1;
        shown[i] += 1;
    }
    for i in 0..n {
        if open[i] {
            rows[i] = shown[i] + 2;
        }
    }
    if let Some(last) = (0..n).rev().find(|&i| open[i]) {
        rows[last] += left;
    }
    rows
}

fn pane(frame: &mut Frame, area: Rect, p: &PaneData, theme: &Theme) {
    let worst = p.worst();
    let border = if p.focused {
        theme.style(Role::BorderFocus)
    } else {
        theme.style(Role::Border)
    };
    let marker = if p.focused { "▶ " } else { "" };
    let mut title = vec![
        Span::styled(
            format!(" {marker}{} ", p.group.title()),
            theme.style(Role::Title),
        ),
        Span::styled(
            format!("{} ", state_word(worst).trim_end()),
            state_style(theme, worst),
        ),
    ];
    let capacity = usize::from(area.height.saturating_sub(2));
    if capacity == 0 {
        // No room for a line: the title says how many checks it stands for.
        let what = match p.checks.len() {
            0 => s::NOTHING_HERE.to_string(),
            1 => "1 check".to_string(),
            n => format!("{n} checks"),
        };
        title.push(Span::styled(format!("· {what} "), theme.style(Role::Muted)));
    }
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .merge_borders(MergeStrategy::Exact)
        .title(Line::from(title));
    let hidden = p.checks.len().saturating_sub(p.skipped + capacity);
    if capacity > 0 && hidden > 0 {
        block = block.title(
            Line::styled(format!(" +{hidden} more "), theme.style(Role::Muted)).right_aligned(),
        );
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if capacity == 0 {
        return;
    }
    let width = usize::from(inner.width);
    let prefix = p.group.prefix();
    let id = |c: &Check| c.id.strip_prefix(prefix).unwrap_or(&c.id).to_string();
    let id_w = p
        .checks
        .iter()
        .map(|c| id(c).chars().count())
        .max()
        .unwrap_or(10)
        .min(width / 3);
    let summary_w = width.saturating_sub(id_w + 7);
    let mut lines: Vec<Line> = p
        .checks
        .iter()
        .skip(p.skipped)
        .take(capacity)
        .map(|c| {
            Line::from(vec![
                Span::styled(
                    format!(" {} ", state_word(c.state)),
                    state_style(theme, c.state),
                ),
                Span::styled(
                    format!("{:<id_w$} ", fit(&id(c), id_w)),
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
    frame.render_widget(Paragraph::new(lines), inner);
}

#[cfg(test)]
#[path = "host_tests.rs"]
mod tests;
