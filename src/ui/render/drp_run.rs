//! Screen 4 during a run started or resumed here (the mockup's "4 DRP — a run in progress"):
//! who runs what by whose order and who holds the lock, the direction and the data-loss
//! window, each step with its mark and state word (never colour alone), its summary, progress,
//! rate, ETA and elapsed time, a log tail, the outcome and what to do next. Also the start
//! form and the confirm step's question, drawn in the dialog's popup.

use super::dialog::wrap;
use super::drp::{Row, styled};
use super::fit;
use crate::drp::journal::StepState;
use crate::drp::model::Plan;
use crate::drp::plan::PlanError;
use crate::text::sanitize;
use crate::ui::drp_run::{LiveRun, LiveStep, Stage};
use crate::ui::state::{ConsoleState, Dialog, DialogAction};
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use std::time::Duration;

/// Width of the progress bar, in cells.
const BAR: usize = 20;
/// The log's share of the screen: at least this many lines when the steps fit.
const LOG_MIN: u16 = 3;

pub fn render(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let Some(run) = &state.drp.run else {
        return;
    };
    let width = usize::from(area.width);
    let mut head = vec![header(state, run), direction(run)];
    if let Some(l) = &run.loss {
        head.push(vec![(Role::Text, format!(" {l}"))]);
    }
    let rows = step_rows(state, run);
    let end = ended_rows(run);
    let fixed = head.len() + end.len() + 1;
    let room = usize::from(area.height).saturating_sub(fixed);
    // The steps first; the log gets what is left (at least a few lines when there is room).
    let reserve = usize::from(LOG_MIN) + 1;
    let steps_h = rows.len().min(room.saturating_sub(reserve).max(room / 2));
    let [top, body, log, end_area, foot] = Layout::vertical([
        Constraint::Length(head.len() as u16),
        Constraint::Length(steps_h as u16),
        Constraint::Min(0),
        Constraint::Length(end.len() as u16),
        Constraint::Length(1),
    ])
    .areas(area);
    let draw = |frame: &mut Frame, rows: &[Row], at: Rect| {
        let lines: Vec<Line> = rows.iter().map(|r| styled(r, width, theme)).collect();
        frame.render_widget(Paragraph::new(lines), at);
    };
    draw(frame, &head, top);
    let first = state.scroll.min(rows.len().saturating_sub(steps_h));
    let shown: Vec<Row> = rows.iter().skip(first).take(steps_h).cloned().collect();
    draw(frame, &shown, body);
    if log.height > 0 {
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.style(Role::Border))
            .title(Line::styled(s::RUN_LOG, theme.style(Role::Title)));
        let inner = block.inner(log);
        frame.render_widget(block, log);
        let n = usize::from(inner.height);
        let tail: Vec<Row> = run
            .log
            .iter()
            .skip(run.log.len().saturating_sub(n))
            .map(|l| vec![(Role::Muted, format!(" {}", sanitize(l)))])
            .collect();
        draw(frame, &tail, inner);
    }
    draw(frame, &end, end_area);
    draw(frame, &[footer(state, run, width)], foot);
}

/// The view's last line: while the run is live, its keys (x stop after this step, q quit
/// — it asks) and that the run goes on if this console is lost, shortened to `width`; once
/// it ended, how to close the view.
fn footer(state: &ConsoleState, run: &LiveRun, width: usize) -> Row {
    if !run.running() {
        return vec![(Role::Key, format!(" {}", s::RUN_CLOSE))];
    }
    let one = |role: Role, text: &str| vec![(role, text.to_string())];
    let stop = match (run.stop_asked, state.read_only) {
        (true, _) => vec![
            vec![
                (Role::Warn, s::RUN_STOP_ASKED.to_string()),
                (Role::Text, format!(": {}", s::RUN_STOPPING)),
            ],
            one(Role::Warn, s::RUN_STOP_ASKED),
        ],
        (false, false) => vec![one(Role::Key, s::RUN_KEY_STOP)],
        // `--read-only` starts no run; nothing that acts is offered anyway.
        (false, true) => vec![Vec::new()],
    };
    let parts = [
        stop,
        vec![one(Role::Key, s::RUN_KEY_QUIT)],
        vec![
            one(Role::Muted, s::RUN_FOOTER),
            one(Role::Muted, s::RUN_FOOTER_SHORT),
            one(Role::Muted, s::RUN_FOOTER_SHORTER),
            Vec::new(),
        ],
    ];
    let pick = super::footer::choose(&parts, &[2, 2, 0, 2], width.saturating_sub(1), 3);
    let mut row: Row = vec![(Role::Muted, " ".into())];
    for (forms, i) in parts.iter().zip(pick) {
        let Some(form) = forms.get(i).filter(|f| !f.is_empty()) else {
            continue;
        };
        if row.len() > 1 {
            row.push((Role::Muted, " · ".into()));
        }
        row.extend(form.iter().cloned());
    }
    row
}

/// The number of step lines, for PgDn not to scroll past the end.
pub(super) fn line_count(state: &ConsoleState) -> usize {
    state
        .drp
        .run
        .as_ref()
        .map_or(0, |r| step_rows(state, r).len())
}

/// "ACTIVATE · EMERGENCY · order REF-3 · alice@jump1 · lock held on drp (nonce 7f3a)".
fn header(state: &ConsoleState, run: &LiveRun) -> Row {
    let mut row: Row = vec![
        (
            Role::Title,
            format!(" {}", sanitize(&run.runbook).to_uppercase()),
        ),
        (Role::Muted, " · ".into()),
        (
            match run.mode {
                crate::drp::model::Mode::Emergency => Role::Warn,
                _ => Role::Text,
            },
            run.mode.word().to_uppercase(),
        ),
    ];
    if let Some(o) = &run.order {
        row.push((Role::Muted, " · order ".into()));
        row.push((Role::Text, sanitize(o)));
    }
    row.push((Role::Muted, " · ".into()));
    row.push((Role::Text, sanitize(&run.operator)));
    if run.resumed {
        row.push((Role::Muted, " · resumed".into()));
    }
    if run.stop_asked && run.running() {
        row.push((Role::Muted, " · ".into()));
        row.push((Role::Warn, s::RUN_STOP_ASKED.into()));
    }
    let drp = state.config.drp.as_ref().map_or("", |d| d.drp.as_str());
    let lock = match run.lock.as_deref() {
        Some(t) if t.contains("released") => Some("lock released".to_string()),
        Some(t) => Some(match t.split("nonce ").nth(1) {
            Some(n) => format!(
                "lock held on {} (nonce {})",
                sanitize(drp),
                fit(n.split_whitespace().next().unwrap_or(""), 9)
            ),
            None => sanitize(t),
        }),
        None => None,
    };
    if let Some(l) = lock {
        row.push((Role::Muted, " · ".into()));
        row.push((Role::Text, l));
    }
    row
}

fn direction(run: &LiveRun) -> Row {
    match &run.direction {
        Some(d) => vec![(Role::Text, format!(" {}", d.replace(" → ", " ──▶ ")))],
        None if run.running() => vec![(Role::Muted, format!(" {}", s::RUN_WAITING))],
        None => vec![(Role::Muted, String::new())],
    }
}

/// Each step: mark, number, kind, title, state word, summary, elapsed; under a running
/// step with a known fraction, its progress bar, rate and ETA.
fn step_rows(state: &ConsoleState, run: &LiveRun) -> Vec<Row> {
    let mut out = Vec::new();
    for st in &run.steps {
        let (mark, role) = mark(st.state);
        let mut row: Row = vec![
            (role, format!(" {mark} ")),
            (
                Role::Text,
                format!("{:>2} {:<9} ", st.n, fit(&sanitize(&st.kind), 9)),
            ),
            (
                Role::Text,
                format!("{:<34} ", fit(&sanitize(&st.title), 34)),
            ),
            (role, format!("{:<8}", st.state.word())),
            (Role::Muted, format!("{:>9} ", elapsed(state, st))),
            (Role::Text, sanitize(&st.summary)),
        ];
        if st.state == StepState::Pending {
            row.truncate(4);
        }
        out.push(row);
        if st.state == StepState::Running
            && let Some(f) = st.fraction
        {
            out.push(progress(st, f));
        }
    }
    out
}

fn mark(state: StepState) -> (&'static str, Role) {
    match state {
        StepState::Done => ("✔", Role::Ok),
        StepState::Skipped => ("-", Role::Muted),
        StepState::Running => ("▶", Role::Accent),
        StepState::Failed => ("✖", Role::Crit),
        StepState::Unknown => ("?", Role::Warn),
        StepState::Pending => ("·", Role::Muted),
    }
}

/// "[████████░░░░░░░░░░░░]  41 %  82.0 MiB/s  ETA 3m12s".
fn progress(st: &LiveStep, fraction: f64) -> Row {
    let f = fraction.clamp(0.0, 1.0);
    let full = ((f * BAR as f64).round() as usize).min(BAR);
    let mut row: Row = vec![
        (Role::Muted, "          ".into()),
        (
            Role::Accent,
            format!("[{}{}]", "█".repeat(full), "░".repeat(BAR - full)),
        ),
        (Role::Text, format!(" {:>3} %", (f * 100.0).floor() as u64)),
    ];
    if let Some(r) = st.rate {
        row.push((Role::Text, format!("  {}", rate(r))));
    }
    if let Some(e) = st.eta {
        row.push((Role::Text, format!("  ETA {}", duration(e))));
    }
    row
}

fn rate(bytes_per_s: f64) -> String {
    const UNITS: [&str; 5] = ["B/s", "KiB/s", "MiB/s", "GiB/s", "TiB/s"];
    let mut v = bytes_per_s.max(0.0);
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS.get(u).unwrap_or(&"B/s"))
}

/// "3m12s", "1h04m", "12s".
fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s / 60) % 60),
    }
}

/// "00:41:07" since the step started (to its end when it ended); empty before it started.
fn elapsed(state: &ConsoleState, st: &LiveStep) -> String {
    let Some(start) = st.started else {
        return String::new();
    };
    let end = st.ended.unwrap_or(state.now);
    let s = (end - start).as_secs().max(0);
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// The outcome and what to do next, once the run stopped.
fn ended_rows(run: &LiveRun) -> Vec<Row> {
    let Some((state, summary)) = &run.ended else {
        return Vec::new();
    };
    let role = match state {
        StepState::Done => Role::Ok,
        StepState::Failed => Role::Crit,
        _ => Role::Warn,
    };
    let mut out = vec![vec![
        (role, format!(" {} ", state.word())),
        (Role::Text, sanitize(summary)),
    ]];
    if let Some((n, _)) = &run.needs_ack {
        out.push(vec![(
            Role::Key,
            format!(" step {n} needs an answer: c answers it"),
        )]);
    } else if run.stop_asked && *state == StepState::Pending {
        out.push(vec![(Role::Key, format!(" {}", s::RUN_STOPPED_NEXT))]);
    } else {
        let next = s::run_next(*state);
        if !next.is_empty() {
            out.push(vec![(Role::Muted, format!(" {next}"))]);
        }
    }
    out
}

/// The keys of the DRP screen before a run, and how to start the plan shown (`s`, or the
/// headless command), or to resume the journal's unfinished run (`c`); never under
/// `--read-only`.
pub(super) fn hint_line(
    state: &ConsoleState,
    runbook: &str,
    plan: Result<&Plan, &PlanError>,
    width: usize,
    theme: &Theme,
) -> Line<'static> {
    let keys = (Role::Muted, format!(" {}", s::DRP_KEYS_HINT));
    let drp = state
        .config
        .drp
        .as_ref()
        .map_or("DRP-HOST", |d| d.drp.as_str());
    let start = match (plan, state.unfinished_run()) {
        // `--read-only`: no key and no command that acts is offered.
        _ if state.read_only => None,
        (_, Some(r)) => Some((
            Role::Warn,
            format!(" {} · {}", s::RESUME_KEY_HINT, s::unfinished(&r.run)),
        )),
        (Ok(p), None) if p.blockers().is_empty() => {
            let hint = format!(
                "{} · {}",
                s::START_KEY_HINT,
                s::drp_start_hint(runbook, state.drp.mode, drp)
            );
            // On a narrow terminal "(headless)" goes first, then the whole headless command.
            let short = hint.trim_end_matches(s::HEADLESS).to_string();
            let hint = if hint.chars().count() < width {
                hint
            } else if short.chars().count() < width {
                short
            } else {
                s::START_KEY_HINT.to_string()
            };
            Some((Role::Key, format!(" {hint}")))
        }
        _ => None,
    };
    // How to start comes first; the keys when there is room for both.
    let row: Row = match start {
        Some(st) if st.1.chars().count() + keys.1.chars().count() + 2 <= width => {
            vec![st, (Role::Muted, " ·".into()), keys]
        }
        Some(st) => vec![st],
        None => vec![keys],
    };
    styled(&row, width, theme)
}

/// The start form or a confirm step's question, in the dialog's popup: what starting means,
/// the answers so far, the field being typed and what Enter does.
pub fn render_form(frame: &mut Frame, area: Rect, d: &Dialog, theme: &Theme) {
    let w = area.width.saturating_sub(4).clamp(area.width.min(20), 100);
    let inner_w = usize::from(w.saturating_sub(4));
    let mut text: Vec<(Role, String)> = Vec::new();
    for l in &d.body {
        for line in wrap(&sanitize(l), inner_w, "") {
            text.push((Role::Text, line));
        }
    }
    let (ask, next) = match &d.on_confirm {
        DialogAction::StartRun(f) => match f.stage {
            Stage::Order => (s::ASK_ORDER.to_string(), s::FORM_NEXT.to_string()),
            Stage::Reason => (s::ASK_REASON.to_string(), s::FORM_NEXT.to_string()),
            Stage::Host => (s::ask_host(&sanitize(&f.target)), String::new()),
        },
        DialogAction::Resume { target } => (s::ask_host_resume(&sanitize(target)), String::new()),
        _ => (s::ACK_PROMPT.to_string(), s::ACK_NEXT.to_string()),
    };
    let mut prompt: Vec<(Role, String)> = wrap(&ask, inner_w, "")
        .into_iter()
        .map(|l| (Role::Header, l))
        .collect();
    let field = format!("> {}▏", sanitize(&d.input));
    prompt.push((Role::Key, fit(&format!("{field}   {next}"), inner_w)));
    if let Some(e) = &d.error {
        for line in wrap(&sanitize(e), inner_w, "") {
            prompt.push((Role::Crit, line));
        }
    }
    let h = (text.len() + prompt.len() + 3) as u16;
    let h = h.min(area.height.saturating_sub(2)).max(area.height.min(5));
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
        .title(Line::styled(sanitize(&d.title), theme.style(Role::Title)))
        .style(theme.style(Role::Background));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let pad = |r: Rect| Rect {
        x: r.x + 1,
        width: r.width.saturating_sub(2),
        ..r
    };
    let view = usize::from(inner.height).saturating_sub(prompt.len() + 1);
    let first = d.scroll.min(text.len().saturating_sub(view));
    let line = |(role, t): &(Role, String)| Line::styled(t.clone(), theme.style(*role));
    let lines: Vec<Line> = text.iter().skip(first).take(view).map(line).collect();
    frame.render_widget(Paragraph::new(lines), pad(inner));
    let n = (prompt.len() as u16).min(inner.height);
    let bottom = Rect {
        y: inner.y + inner.height.saturating_sub(n),
        height: n,
        ..inner
    };
    let lines: Vec<Line> = prompt.iter().map(line).collect();
    frame.render_widget(Paragraph::new(lines), pad(bottom));
}

#[cfg(test)]
#[path = "drp_run_tests.rs"]
mod tests;
