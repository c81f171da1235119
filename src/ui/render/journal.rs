//! Screen 5: the audit journal — every run, newest first (state, start, runbook, mode, order,
//! operator, end, the active-site marker it left), and the selected run's steps with their
//! state words, times, exit codes, verification, ticket id and capture time. Lines a crash
//! tore are reported, never hidden. Columns give way by priority on a narrow terminal.

use super::drp::{Row, styled};
use super::fit;
use crate::backup::evaluate::when;
use crate::drp::journal::{Event, Operator, RunState, StepState};
use crate::drp::model::ActiveSite;
use crate::text::sanitize;
use crate::ui::state::ConsoleState;
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};

pub fn render(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let j = &state.journal;
    let Some(path) = &j.path else {
        super::placeholder::render(frame, area, "Journal", &[s::JOURNAL_NO_PATH], theme);
        return;
    };
    let shown_path = sanitize(&path.display().to_string());
    let reading = match &j.reading {
        None => {
            super::placeholder::render(frame, area, "Journal", &[s::JOURNAL_READING], theme);
            return;
        }
        Some(Err(e)) => {
            let text = format!("cannot read the journal {shown_path}: {}", sanitize(e));
            super::placeholder::render(frame, area, "Journal", &[&text], theme);
            return;
        }
        Some(Ok(r)) => r,
    };
    if j.runs.is_empty() && reading.warnings.is_empty() {
        let mut text: Vec<&str> = s::JOURNAL_EMPTY.to_vec();
        let at = format!("Journal file: {shown_path}");
        text.push(&at);
        super::placeholder::render(frame, area, "Journal", &text, theme);
        return;
    }
    let width = usize::from(area.width);
    let warnings: Vec<Row> = reading
        .warnings
        .iter()
        .map(|w| {
            vec![
                (Role::Warn, " WARN ".to_string()),
                (Role::Text, format!("journal {}", sanitize(w))),
            ]
        })
        .collect();
    let runs_h = (j.runs.len() as u16 + 3).min(area.height / 3).max(4);
    let warn_h = (warnings.len() as u16).min(2);
    let [runs_area, steps_area, warn_area, hint_area] = Layout::vertical([
        Constraint::Length(runs_h),
        Constraint::Min(3),
        Constraint::Length(warn_h),
        Constraint::Length(1),
    ])
    .areas(area);
    runs_table(frame, runs_area, state, theme);
    steps_table(frame, steps_area, state, theme);
    let lines: Vec<Line> = warnings.iter().map(|r| styled(r, width, theme)).collect();
    frame.render_widget(Paragraph::new(lines), warn_area);
    let hint: Row = vec![
        (Role::Muted, format!(" {} · ", s::JOURNAL_KEYS_HINT)),
        (Role::Key, s::JOURNAL_EXPORT_HINT.to_string()),
    ];
    frame.render_widget(Paragraph::new(styled(&hint, width, theme)), hint_area);
}

/// A column: its header, its width (the least it needs), how much it may grow, and its
/// priority (0 is never dropped; higher numbers go first on a narrow terminal).
struct Col {
    head: &'static str,
    min: usize,
    max: usize,
    priority: u8,
}

const fn col(head: &'static str, min: usize, max: usize, priority: u8) -> Col {
    Col {
        head,
        min,
        max,
        priority,
    }
}

/// The columns that fit in `width`, each with its width: the least important dropped first,
/// what is left over given to the columns that can grow, in order.
fn fit_columns(cols: &[Col], width: usize) -> Vec<(usize, usize)> {
    let mut keep: Vec<usize> = (0..cols.len()).collect();
    let need = |keep: &[usize]| keep.iter().map(|&i| cols[i].min + 1).sum::<usize>();
    while need(&keep) > width {
        let Some(drop) = keep
            .iter()
            .copied()
            .filter(|&i| cols[i].priority > 0)
            .max_by_key(|&i| (cols[i].priority, i))
        else {
            break;
        };
        keep.retain(|&i| i != drop);
    }
    let mut left = width.saturating_sub(need(&keep));
    keep.iter()
        .map(|&i| {
            let grow = (cols[i].max.saturating_sub(cols[i].min)).min(left);
            left -= grow;
            (i, cols[i].min + grow)
        })
        .collect()
}

/// One table row: the kept cells, each cut or padded to its column.
fn cells(layout: &[(usize, usize)], values: &[(Role, String)]) -> Row {
    layout
        .iter()
        .map(|&(i, w)| {
            let (role, text) = values
                .get(i)
                .cloned()
                .unwrap_or((Role::Text, String::new()));
            (role, format!("{:<w$} ", fit(&text, w)))
        })
        .collect()
}

fn header(layout: &[(usize, usize)], cols: &[Col]) -> Row {
    let values: Vec<(Role, String)> = cols.iter().map(|c| (Role::Header, c.head.into())).collect();
    cells(layout, &values)
}

const RUN_COLS: [Col; 9] = [
    col("", 1, 1, 0),
    col("state", 11, 11, 0),
    col("started", 16, 16, 1),
    col("runbook", 8, 12, 0),
    col("mode", 9, 9, 0),
    col("order", 8, 16, 2),
    col("operator", 12, 20, 3),
    col("ended", 16, 16, 4),
    col("site after", 10, 10, 2),
];

fn runs_table(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let j = &state.journal;
    let title = format!(
        " Runs, newest first · active site: {} ",
        j.active.word().to_uppercase()
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Border))
        .title(Line::styled(title, theme.style(Role::Title)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let layout = fit_columns(&RUN_COLS[..], width.saturating_sub(1));
    let mut lines = vec![styled(&header(&layout, &RUN_COLS[..]), width, theme)];
    let height = usize::from(inner.height).saturating_sub(1);
    let selected = j.selected.min(j.runs.len().saturating_sub(1));
    let first = (selected + 1).saturating_sub(height);
    for (i, run) in j.runs.iter().enumerate().skip(first).take(height) {
        let (word, role) = run_state(run, i == 0);
        let ended = run.ended.map_or_else(
            || "—".to_string(),
            |(_, t)| when(t, state.now, &state.time_zone),
        );
        let marker = run_marker(run, state);
        let values = vec![
            (
                Role::Accent,
                if i == selected { "▶" } else { " " }.to_string(),
            ),
            (role, word.to_string()),
            (
                Role::Text,
                when(run.started_at, state.now, &state.time_zone),
            ),
            (Role::Text, sanitize(&run.runbook)),
            (Role::Text, run.mode.word().to_uppercase()),
            (
                Role::Text,
                run.order.as_deref().map(sanitize).unwrap_or_default(),
            ),
            (Role::Muted, short_operator(&run.operator)),
            (Role::Muted, ended),
            (Role::Accent, marker),
        ];
        let mut row = cells(&layout, &values);
        if i == selected {
            for cell in row.iter_mut().skip(1) {
                if cell.0 != Role::Crit && cell.0 != Role::Warn {
                    cell.0 = Role::Selection;
                }
            }
        }
        lines.push(styled(&row, width, theme));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A run's state word: how it ended; not ended, the last run is RUNNING (or interrupted: the
/// journal cannot tell, `vigie drp status` can), an earlier one was INTERRUPTED.
fn run_state(run: &RunState, newest: bool) -> (&'static str, Role) {
    match run.ended {
        Some((st, _)) => (st.word(), step_role(st)),
        None if newest && stopped_by(run).is_some() => ("STOPPED", Role::Warn),
        None if newest => ("RUNNING", Role::Accent),
        None => ("INTERRUPTED", Role::Warn),
    }
}

/// Who stopped the run between two steps ("stop after this step"), when that is the last
/// thing it journaled: its newest event is a step left PENDING with `stopped_by`.
fn stopped_by(run: &RunState) -> Option<String> {
    let last = run
        .steps
        .iter()
        .filter_map(|s| s.last.as_ref())
        .max_by_key(|e| e.at)?;
    if last.state != StepState::Pending {
        return None;
    }
    last.extra
        .get("stopped_by")
        .and_then(|v| v.as_str())
        .map(sanitize)
}

fn step_role(st: StepState) -> Role {
    match st {
        StepState::Done => Role::Ok,
        StepState::Failed => Role::Crit,
        StepState::Unknown => Role::Warn,
        StepState::Running => Role::Accent,
        StepState::Pending | StepState::Skipped => Role::Muted,
    }
}

/// "→ DRP" when the run's end moved the active-site marker.
fn run_marker(run: &RunState, state: &ConsoleState) -> String {
    let moved = match &state.journal.reading {
        Some(Ok(r)) => r
            .events
            .iter()
            .filter(|e| e.run == run.run)
            .find_map(|e| e.active_site),
        _ => None,
    };
    match moved {
        Some(ActiveSite::Drp) => "→ DRP".into(),
        Some(ActiveSite::Production) => "→ PROD".into(),
        None => String::new(),
    }
}

/// "alice@jump1": who, as a person (the sudo user before the account used).
fn short_operator(op: &Operator) -> String {
    let who = op
        .sudo_user
        .as_deref()
        .or(op.user.as_deref())
        .unwrap_or("?");
    let at = op.jump_host.as_deref().unwrap_or("?");
    sanitize(&format!("{who}@{at}"))
}

const STEP_COLS: [Col; 7] = [
    col("#", 2, 2, 0),
    col("kind", 9, 9, 3),
    col("state", 8, 8, 0),
    col("start–end", 11, 11, 2),
    col("exit", 4, 4, 1),
    col("title", 20, 32, 0),
    col("result", 24, 200, 0),
];

/// The selected run's steps, as many as fit from the scroll offset.
fn steps_table(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let j = &state.journal;
    let selected = j.selected.min(j.runs.len().saturating_sub(1));
    let Some(run) = j.runs.get(selected) else {
        return;
    };
    let title = format!(
        " Run {} · {} · {} · order {} · {} ",
        sanitize(&run.run),
        sanitize(&run.runbook),
        run.mode.word(),
        run.order
            .as_deref()
            .map(sanitize)
            .unwrap_or_else(|| "—".into()),
        run.operator.describe()
    );
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Border))
        .title(Line::styled(
            fit(&title, usize::from(area.width).saturating_sub(4)),
            theme.style(Role::Title),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let rows = step_rows(state, run, width);
    let height = usize::from(inner.height);
    let first = state.scroll.min(rows.len().saturating_sub(height));
    let lines: Vec<Line> = rows
        .iter()
        .take(1)
        .chain(rows.iter().skip(1 + first))
        .take(height)
        .map(|r| styled(r, width, theme))
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// The header, then a line per step, then what the run's end (or its absence) says.
fn step_rows(state: &ConsoleState, run: &RunState, width: usize) -> Vec<Row> {
    let layout = fit_columns(&STEP_COLS[..], width.saturating_sub(1));
    let mut rows = vec![header(&layout, &STEP_COLS[..])];
    let time = |t: Option<jiff::Timestamp>| {
        t.map(|t| {
            t.to_zoned_datetime(state.time_zone.clone())
                .strftime("%H:%M")
                .to_string()
        })
    };
    for st in &run.steps {
        let e = st.last.as_ref();
        let values = vec![
            (Role::Text, format!("{:>2}", st.number)),
            (Role::Muted, sanitize(&st.kind)),
            (step_role(st.state), st.state.word().to_string()),
            (
                Role::Muted,
                match (
                    time(e.and_then(|e| e.started_at)),
                    time(e.and_then(|e| e.ended_at)),
                ) {
                    (Some(a), Some(b)) => format!("{a}–{b}"),
                    (Some(a), None) => format!("{a}–"),
                    (None, Some(b)) => format!("–{b}"),
                    (None, None) => String::new(),
                },
            ),
            (
                match e.and_then(|e| e.exit_code) {
                    Some(0) | None => Role::Text,
                    Some(_) => Role::Crit,
                },
                e.and_then(|e| e.exit_code)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
            ),
            (Role::Text, sanitize(&st.title)),
            (Role::Text, e.map(|e| result(e, state)).unwrap_or_default()),
        ];
        rows.push(cells(&layout, &values));
    }
    let end = match run.ended {
        Some((st, t)) => vec![
            (Role::Muted, " ended ".to_string()),
            (step_role(st), st.word().to_string()),
            (
                Role::Muted,
                format!(" {}", when(t, state.now, &state.time_zone)),
            ),
        ],
        None => {
            let newest = state.journal.runs.first().is_some_and(|r| r.run == run.run);
            let text = match (newest, stopped_by(run)) {
                (true, Some(who)) => s::run_stopped(&who),
                (true, None) => s::RUN_NOT_ENDED.to_string(),
                (false, _) => s::RUN_INTERRUPTED.to_string(),
            };
            vec![(Role::Warn, format!(" {text}"))]
        }
    };
    rows.push(end);
    rows
}

/// What a step's last event says it found: verification, ticket id, capture time of the
/// imported data, DNS TTL, the emergency's reason.
fn result(e: &Event, state: &ConsoleState) -> String {
    let mut parts = Vec::new();
    if let Some(v) = &e.verification {
        parts.push(sanitize(v));
    }
    let extra = |k: &str| {
        e.extra.get(k).map(|v| match v {
            serde_json::Value::String(s) => sanitize(s),
            other => sanitize(&other.to_string()),
        })
    };
    if let Some(id) = extra("ticket_id") {
        parts.push(format!("ticket {id}"));
    }
    if let Some(at) = extra("captured_at") {
        let shown = at
            .parse::<jiff::Timestamp>()
            .map(|t| when(t, state.now, &state.time_zone))
            .unwrap_or(at);
        parts.push(format!("data captured {shown}"));
    }
    if let Some(ttl) = extra("dns_ttl") {
        parts.push(format!("TTL {ttl} s"));
    }
    if let Some(r) = extra("reason") {
        parts.push(format!("reason: {r}"));
    }
    parts.join(" · ")
}

/// The number of step lines of the selected run, for PgDn not to scroll past the end.
pub(super) fn line_count(state: &ConsoleState) -> usize {
    let j = &state.journal;
    j.runs
        .get(j.selected.min(j.runs.len().saturating_sub(1)))
        .map_or(0, |r| r.steps.len() + 1)
}

#[cfg(test)]
#[path = "journal_tests.rs"]
mod tests;
