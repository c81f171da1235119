//! Screen 1: every host, grouped by datacenter, worst first, with its key figures and the
//! reason it is not OK.

use super::{fit, short_age, state_style, state_word};
use crate::checks::State;
use crate::ui::state::{ConsoleState, HostView};
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};

/// One column: its title, width, and priority (lower survives longer on a narrow terminal).
struct Column {
    title: &'static str,
    width: usize,
    priority: u8,
    cell: fn(&HostView, &ConsoleState) -> (String, Option<State>),
}

const COLUMNS: &[Column] = &[
    Column {
        title: "STATE",
        width: 5,
        priority: 0,
        cell: state_cell,
    },
    Column {
        title: "HOST",
        width: 12,
        priority: 0,
        cell: |h, _| (h.name.clone(), None),
    },
    Column {
        title: "ROLE",
        width: 11,
        priority: 5,
        cell: |h, _| (h.role.word().to_string(), None),
    },
    Column {
        title: "LOAD/CPU",
        width: 9,
        priority: 3,
        cell: load_cell,
    },
    Column {
        title: "MEM",
        width: 5,
        priority: 3,
        cell: mem_cell,
    },
    Column {
        title: "DISK",
        width: 15,
        priority: 2,
        cell: disk_cell,
    },
    Column {
        title: "DRIFT",
        width: 8,
        priority: 6,
        cell: drift_cell,
    },
    Column {
        title: "UP",
        width: 6,
        priority: 7,
        cell: up_cell,
    },
    Column {
        title: "READ",
        width: 7,
        priority: 1,
        cell: age_cell,
    },
];

/// Width kept for the reason column before dropping figure columns.
const MIN_REASON: usize = 24;

pub fn render(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Border))
        .title(Line::styled(
            format!(" {} ", state.site),
            theme.style(Role::Title),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let columns = pick_columns(width);

    let mut lines: Vec<Line> = Vec::new();
    lines.push(header(&columns, width, theme));
    let hosts = state.visible_hosts();
    if hosts.is_empty() {
        let text = if state.hosts.is_empty() || state.filter.text.is_empty() {
            s::WAITING
        } else {
            s::NO_HOSTS_MATCH
        };
        lines.push(Line::styled(format!(" {text}"), theme.style(Role::Muted)));
    }
    let selected = state.selected.min(hosts.len().saturating_sub(1));
    // Keep the selection on screen when there are more hosts than lines; only the lines on
    // screen are built (a 500-host site shows some 50 of them; benches/render.rs).
    let height = usize::from(inner.height);
    let mut selected_line = 0;
    if !hosts.is_empty() {
        let mut line = lines.len();
        let mut dc: Option<&str> = None;
        for (i, host) in hosts.iter().enumerate() {
            if dc != Some(host.datacenter.as_str()) {
                dc = Some(host.datacenter.as_str());
                line += 1;
            }
            if i == selected {
                break;
            }
            line += 1;
        }
        selected_line = line;
    }
    let offset = selected_line.saturating_sub(height.saturating_sub(1));
    let shown = offset..offset + height;
    let mut current_dc: Option<&str> = None;
    for (i, host) in hosts.iter().enumerate() {
        if current_dc != Some(host.datacenter.as_str()) {
            current_dc = Some(host.datacenter.as_str());
            if shown.contains(&lines.len()) {
                let title = format!("── {} ", host.datacenter);
                let rule = "─".repeat(width.saturating_sub(title.chars().count()));
                lines.push(Line::styled(
                    format!("{title}{rule}"),
                    theme.style(Role::Header),
                ));
            } else {
                lines.push(Line::default());
            }
        }
        if shown.contains(&lines.len()) {
            lines.push(row(host, state, &columns, width, i == selected, theme));
        } else {
            lines.push(Line::default());
        }
    }
    // A dataset's problems make the site's state too: say which, or the top bar's WARN has
    // no reason on this screen (details on the Backups screen).
    let mut backups: Vec<&crate::checks::Check> = state
        .datasets
        .iter()
        .flat_map(|d| d.checks.iter())
        .filter(|c| c.state != State::Ok)
        .collect();
    backups.sort_by_key(|c| std::cmp::Reverse(c.state.severity()));
    push_check_group(&mut lines, s::BACKUP_PROBLEMS, &backups, width, theme);
    // URL tests and blocklists belong to no host: their own group, worst first, after the
    // hosts (the filter applies to them too).
    let filter = state.filter.text.to_lowercase();
    let mut site: Vec<&crate::checks::Check> = state
        .site_checks
        .iter()
        .filter(|c| {
            filter.is_empty()
                || c.id.to_lowercase().contains(&filter)
                || c.summary.to_lowercase().contains(&filter)
        })
        .collect();
    site.sort_by_key(|c| std::cmp::Reverse(c.state.severity()));
    push_check_group(&mut lines, s::SITE_CHECKS, &site, width, theme);
    // Line by line rather than through a Paragraph: no reflow to work out (a third of a
    // 200-column frame's cost went there).
    let buf = frame.buffer_mut();
    for (y, line) in (inner.y..inner.bottom()).zip(lines.iter().skip(offset)) {
        buf.set_line(inner.x, y, line, inner.width);
    }
}

fn pick_columns(width: usize) -> Vec<&'static Column> {
    let mut kept: Vec<&Column> = COLUMNS.iter().collect();
    let total = |cols: &[&Column]| cols.iter().map(|c| c.width + 1).sum::<usize>();
    while total(&kept) + MIN_REASON > width {
        let Some(drop) = kept
            .iter()
            .enumerate()
            .filter(|(_, c)| c.priority > 0)
            .max_by_key(|(_, c)| c.priority)
            .map(|(i, _)| i)
        else {
            break;
        };
        kept.remove(drop);
    }
    kept
}

fn header(columns: &[&Column], width: usize, theme: &Theme) -> Line<'static> {
    let mut text = String::from(" ");
    for c in columns {
        text.push_str(&format!("{:<w$} ", c.title, w = c.width));
    }
    text.push_str("REASON");
    Line::styled(fit(&text, width), theme.style(Role::Muted))
}

fn row(
    host: &HostView,
    state: &ConsoleState,
    columns: &[&Column],
    width: usize,
    selected: bool,
    theme: &Theme,
) -> Line<'static> {
    let base = if selected {
        theme.style(Role::Selection)
    } else {
        theme.style(Role::Text)
    };
    let mut spans = vec![Span::styled(if selected { "▶" } else { " " }, base)];
    let mut used = 1;
    for c in columns {
        let (text, st) = (c.cell)(host, state);
        let style = match st {
            Some(st) if !selected => state_style(theme, st),
            Some(st) if st != State::Ok => {
                base.patch(Style::default().add_modifier(ratatui::style::Modifier::BOLD))
            }
            _ => base,
        };
        spans.push(Span::styled(
            format!("{:<w$} ", fit(&text, c.width), w = c.width),
            style,
        ));
        used += c.width + 1;
    }
    let reason = reason(host);
    let room = width.saturating_sub(used);
    let reason_style = if selected {
        base
    } else {
        state_style(theme, host.state())
    };
    spans.push(Span::styled(
        format!("{:<room$}", fit(&reason, room)),
        reason_style,
    ));
    Line::from(spans)
}

fn state_cell(h: &HostView, _: &ConsoleState) -> (String, Option<State>) {
    let st = h.state();
    (state_word(st).to_string(), Some(st))
}

fn load_cell(h: &HostView, _: &ConsoleState) -> (String, Option<State>) {
    figure(h, "system.load", |v| format!("{v:.2}"))
}

fn mem_cell(h: &HostView, _: &ConsoleState) -> (String, Option<State>) {
    figure(h, "system.memory", |v| format!("{v:.0}%"))
}

fn drift_cell(h: &HostView, _: &ConsoleState) -> (String, Option<State>) {
    figure(h, "system.time_drift", |v| format!("{v:+.0}ms"))
}

fn up_cell(h: &HostView, _: &ConsoleState) -> (String, Option<State>) {
    figure(h, "system.uptime", short_age)
}

/// A check's value, coloured by its state when not OK.
fn figure(h: &HostView, id: &str, show: impl Fn(f64) -> String) -> (String, Option<State>) {
    match h.check(id) {
        Some(c) => match c.value {
            Some(v) => (show(v), (c.state != State::Ok).then_some(c.state)),
            None => ("—".into(), None),
        },
        None => ("—".into(), None),
    }
}

/// The fullest partition, "/srv 93%".
fn disk_cell(h: &HostView, _: &ConsoleState) -> (String, Option<State>) {
    let worst = h
        .checks()
        .into_iter()
        .filter(|c| c.id.starts_with("system.partition."))
        .filter_map(|c| c.value.map(|v| (c, v)))
        .max_by(|a, b| a.1.total_cmp(&b.1));
    match worst {
        Some((c, v)) => {
            let mount = c.id.trim_start_matches("system.partition.");
            let text = format!("{} {v:.0}%", fit(mount, 9));
            (text, (c.state != State::Ok).then_some(c.state))
        }
        None => ("—".into(), None),
    }
}

fn age_cell(h: &HostView, state: &ConsoleState) -> (String, Option<State>) {
    match state.age_s(h) {
        Some(a) => {
            let stale = !h.reachable();
            (
                format!("{} ago", short_age(a)),
                stale.then_some(State::Crit),
            )
        }
        None if h.latest.is_some() => (s::NEVER.into(), Some(State::Crit)),
        None => ("…".into(), None),
    }
}

/// Why a host is not OK: its worst check, and how many more.
fn reason(h: &HostView) -> String {
    let problems = h.problems();
    let Some(first) = problems.first() else {
        return String::new();
    };
    let text = if first.id == "system.availability" {
        first.summary.clone()
    } else {
        format!("{}: {}", first.id, first.summary)
    };
    // The count first: a long reason is cut at the right edge, the count must survive.
    match problems.len() {
        1 => text,
        n => format!("(+{}) {text}", n - 1),
    }
}

/// A group of checks that belong to no host row (a dataset's problems, the site's URL tests and
/// blocklists): a titled rule, then one line per check, its state first.
fn push_check_group(
    lines: &mut Vec<Line<'static>>,
    title: &str,
    checks: &[&crate::checks::Check],
    width: usize,
    theme: &Theme,
) {
    if checks.is_empty() {
        return;
    }
    let title = format!("── {title} ");
    let rule = "─".repeat(width.saturating_sub(title.chars().count()));
    lines.push(Line::styled(
        format!("{title}{rule}"),
        theme.style(Role::Header),
    ));
    for c in checks {
        lines.push(Line::from(vec![
            Span::styled(
                format!(" {:<5}", state_word(c.state)),
                state_style(theme, c.state),
            ),
            Span::styled(
                fit(
                    &format!(" {}  {}", c.id, c.summary),
                    width.saturating_sub(6),
                ),
                theme.style(Role::Text),
            ),
        ]));
    }
}
