//! Screen 4 before a run: the runbooks, the mode, and the selected runbook's plan resolved now
//! from the console's own backup readings — every step with what it will do, where from and
//! where to (with datacenters), the backups `newest:` picked and their age, what is skipped,
//! only verified or blocked and why; the direction and the data loss the run implies; the
//! active site (journal) and the DRP lock. Nothing here starts anything.

use super::fit;
use crate::backup::evaluate::{human, when};
use crate::drp::engine::add_fence;
use crate::drp::engine::guards::{FenceDecision, ProductionAnswer, check_marker, fence_decision};
use crate::drp::lock::LockStatus;
use crate::drp::model::{Action, ActiveSite, Endpoint, HostRef, Mode, Plan, PlanStep, Resolved};
use crate::drp::plan::{PlanError, fill, resolve};
use crate::text::sanitize;
use crate::ui::incident::{Reach, reach};
use crate::ui::state::ConsoleState;
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use std::collections::BTreeMap;

/// A line as pieces of text, each with its role: built without a theme (so that the number
/// of lines is known to the key handler) and styled when drawn.
pub(super) type Row = Vec<(Role, String)>;

/// Indentation of a step's details under its line.
const IN: &str = "        ";

pub fn render(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let Some(runbook) = selected_runbook(state) else {
        super::placeholder::render(frame, area, "DRP", s::DRP_UNCONFIGURED, theme);
        return;
    };
    let plan = plan_for(state);
    let head = header(state, runbook, plan.as_ref());
    let [top, body, hint] = Layout::vertical([
        Constraint::Length(head.len() as u16),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let width = usize::from(area.width);
    let lines: Vec<Line> = head.iter().map(|r| styled(r, width, theme)).collect();
    frame.render_widget(Paragraph::new(lines), top);

    let title = match &plan {
        Ok(p) => format!(
            " Plan · {} · {} · {} steps · plan {} ",
            sanitize(&p.runbook),
            p.mode.word(),
            p.steps.len(),
            p.hash().get(..12).unwrap_or("")
        ),
        Err(_) => " Plan ".to_string(),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(Role::Border))
        .title(Line::styled(
            fit(&title, width.saturating_sub(4)),
            theme.style(Role::Title),
        ));
    let inner = block.inner(body);
    frame.render_widget(block, body);
    let rows = match &plan {
        Ok(p) => steps(state, p),
        Err(e) => vec![vec![(Role::Crit, format!(" {e}"))]],
    };
    let height = usize::from(inner.height);
    let first = state.scroll.min(rows.len().saturating_sub(height));
    let inner_w = usize::from(inner.width);
    let shown: Vec<Line> = rows
        .iter()
        .skip(first)
        .take(height)
        .map(|r| styled(r, inner_w, theme))
        .collect();
    frame.render_widget(Paragraph::new(shown), inner);
    if rows.len() > height {
        let more = format!(
            " lines {}–{} of {} ",
            first + 1,
            (first + height).min(rows.len()),
            rows.len()
        );
        let w = more.chars().count() as u16;
        if body.width > w + 4 && body.height > 2 {
            let at = Rect {
                x: body.x + body.width - w - 2,
                y: body.y + body.height - 1,
                width: w,
                height: 1,
            };
            frame.render_widget(
                Paragraph::new(Span::styled(more, theme.style(Role::Muted))),
                at,
            );
        }
    }
    frame.render_widget(
        Paragraph::new(super::drp_run::hint_line(
            state,
            runbook,
            plan.as_ref(),
            width,
            theme,
        )),
        hint,
    );
}

/// The number of plan lines, for PgDn not to scroll past the end.
pub(super) fn line_count(state: &ConsoleState) -> usize {
    match plan_for(state) {
        Ok(p) => steps(state, &p).len(),
        Err(_) => 1,
    }
}

fn selected_runbook(state: &ConsoleState) -> Option<&str> {
    let list = &state.config.runbooks.list;
    list.get(state.drp.runbook.min(list.len().saturating_sub(1)))
        .map(|r| r.name.as_str())
}

/// The plan of the selected runbook in the selected mode, resolved now from the console's
/// backup readings, with the fencing step in front where the engine puts it (the engine's own
/// rule, [`add_fence`], from production's answer as the console last saw it): in planned
/// mode, and in an emergency while production answers (which also needs a typed reason).
pub(crate) fn plan_for(state: &ConsoleState) -> Result<Plan, PlanError> {
    let name = selected_runbook(state).unwrap_or_default();
    let mut plan = resolve(
        &state.config,
        name,
        state.drp.mode,
        state.now,
        &state.datasets,
    )?;
    add_fence(&state.config, &mut plan, &production_answer(state));
    Ok(plan)
}

/// Production's answer as the console last saw it (a drill never asks).
pub(crate) fn production_answer(state: &ConsoleState) -> ProductionAnswer {
    let production = state.config.drp.as_ref().map(|d| d.production.as_str());
    let host = state
        .hosts
        .iter()
        .find(|h| Some(h.name.as_str()) == production);
    match (state.drp.mode, host.map(reach)) {
        (Mode::Drill, _) | (_, None | Some(Reach::Unread)) => ProductionAnswer::NotAsked,
        (_, Some(Reach::Answers)) => ProductionAnswer::Answers,
        (_, Some(Reach::Silent { .. })) => ProductionAnswer::Silent(
            host.and_then(|h| h.latest.as_ref())
                .and_then(|l| l.error.as_ref())
                .map(|e| e.to_string())
                .unwrap_or_default(),
        ),
    }
}

/// What the engine would decide about production at the start (no reason typed yet).
fn start_decision(state: &ConsoleState) -> Result<FenceDecision, String> {
    let Some(d) = &state.config.drp else {
        return Err(PlanError::NoDrp.to_string());
    };
    fence_decision(
        state.drp.mode,
        &d.production,
        &production_answer(state),
        None,
        d.fence.as_deref(),
    )
}

/// Above the plan: runbooks and modes, what the mode does, the direction, the data loss, the
/// active site and the lock; what blocks the start.
fn header(state: &ConsoleState, runbook: &str, plan: Result<&Plan, &PlanError>) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut pick: Row = vec![(Role::Header, " Runbook ".into())];
    for r in state.config.runbooks.names() {
        pick.push(choice(r == runbook, &sanitize(r)));
    }
    pick.push((Role::Header, "   Mode ".into()));
    for m in Mode::ALL {
        pick.push(choice(m == state.drp.mode, &m.word().to_uppercase()));
    }
    rows.push(pick);
    let Ok(plan) = plan else {
        return rows;
    };
    let mode_role = match plan.mode {
        Mode::Drill => Role::Muted,
        Mode::Planned => Role::Text,
        Mode::Emergency => Role::Warn,
    };
    rows.push(vec![(
        mode_role,
        format!(
            " {}",
            s::mode_text(
                plan.mode,
                &sanitize(&plan.production.name),
                &sanitize(&plan.drp.name)
            )
        ),
    )]);
    let list = |hosts: &[HostRef]| match hosts.is_empty() {
        true => "nothing".to_string(),
        false => hosts.iter().map(host).collect::<Vec<_>>().join(", "),
    };
    rows.push(vec![
        (Role::Header, " FROM ".into()),
        (Role::Text, list(&plan.from)),
        (Role::Accent, " ──▶ ".into()),
        (Role::Header, "TO ".into()),
        (Role::Text, list(&plan.to)),
    ]);
    rows.push(loss_row(state, plan));
    rows.push(site_row(state, plan));
    // What the start's guards would say now: production's answer, the active-site marker.
    let guard = start_decision(state).map(|d| d.note).and_then(|note| {
        check_marker(&plan.runbook, plan.mode, state.journal.active).map(|()| note)
    });
    rows.push(match guard {
        Ok(note) => vec![(Role::Muted, format!(" {}", sanitize(&note)))],
        Err(why) => vec![
            (Role::Warn, " START REFUSED NOW ".into()),
            (Role::Warn, sanitize(&why)),
        ],
    });
    for (n, why) in plan.blockers() {
        rows.push(vec![
            (Role::Crit, " BLOCKED ".into()),
            (Role::Crit, format!("step {n}: {}", sanitize(why))),
        ]);
    }
    rows
}

fn choice(selected: bool, word: &str) -> (Role, String) {
    match selected {
        true => (Role::Selection, format!("▸{word} ")),
        false => (Role::Muted, format!(" {word} ")),
    }
}

fn host(h: &HostRef) -> String {
    sanitize(&h.to_string())
}

/// "data loss if run now: userdb 52 min (captured 22:08 on backup-a (dc1)) · files 22 h".
fn loss_row(state: &ConsoleState, plan: &Plan) -> Row {
    let head = (Role::Header, " data loss if run now: ".to_string());
    let now = plan.resolved_at;
    match (plan.loss_window_s, plan.user_data()) {
        (Some(w), Some(b)) => {
            // The figures first, the detail last: a narrow terminal cuts the detail.
            let mut row = vec![
                head,
                (Role::Text, format!("{} {}", sanitize(&b.dataset), human(w))),
            ];
            for o in plan.backups.iter().filter(|o| o.dataset != b.dataset) {
                let age = u64::try_from(now.as_second() - o.captured_at.as_second()).unwrap_or(0);
                row.push((
                    Role::Text,
                    format!(" · {} {}", sanitize(&o.dataset), human(age)),
                ));
            }
            row.push((
                Role::Muted,
                format!(
                    " ({} captured {} on {})",
                    sanitize(&b.dataset),
                    when(b.captured_at, now, &state.time_zone),
                    host(&b.host)
                ),
            ));
            row
        }
        _ if plan.blockers().is_empty() => vec![head, (Role::Text, s::DRP_NO_DATA_LOSS.into())],
        _ => vec![head, (Role::Warn, s::DRP_LOSS_UNKNOWN.into())],
    }
}

/// "active site: PRODUCTION (journal) · lock on drp: not read yet"; a return that the
/// journal's marker would refuse says so.
fn site_row(state: &ConsoleState, plan: &Plan) -> Row {
    let j = &state.journal;
    let journaled = match &j.reading {
        Some(Ok(r)) => r.events.iter().any(|e| e.active_site.is_some()),
        _ => false,
    };
    let source = match (&j.reading, journaled) {
        (None, _) | (Some(Err(_)), _) => "journal not read",
        (Some(Ok(_)), true) => "journal",
        (Some(Ok(_)), false) => "no activation journaled",
    };
    let mut row = vec![
        (Role::Header, " active site: ".to_string()),
        (
            match j.active {
                ActiveSite::Production => Role::Text,
                ActiveSite::Drp => Role::Warn,
            },
            j.active.word().to_uppercase(),
        ),
        (Role::Muted, format!(" ({source})")),
        (
            Role::Header,
            format!(" · lock on {}: ", sanitize(&plan.drp.name)),
        ),
    ];
    row.push(match &state.drp.lock {
        None => (Role::Muted, s::LOCK_NOT_READ.into()),
        Some(l) => match &l.status {
            Ok(LockStatus::Free { .. }) => (Role::Ok, "free".into()),
            Ok(LockStatus::Held { owner, .. }) => (
                Role::Warn,
                format!(
                    "held by {} since {} (run {}, nonce {})",
                    sanitize(&owner.owner),
                    when(owner.started, state.now, &state.time_zone),
                    sanitize(&owner.run),
                    sanitize(&owner.nonce)
                ),
            ),
            Ok(LockStatus::Ownerless { path }) => (
                Role::Crit,
                format!("{} exists without an owner: not Vigie's", sanitize(path)),
            ),
            Err(e) => (Role::Unknown, format!("not read: {}", sanitize(e))),
        },
    });
    row
}

/// Every step: its number, kind, what will happen to it and its title; then where it acts,
/// from where to where, and why it is skipped, only verified or blocked.
pub(super) fn steps(state: &ConsoleState, plan: &Plan) -> Vec<Row> {
    let values = plan.placeholders();
    let mut rows = Vec::new();
    for st in &plan.steps {
        let (will, role) = match &st.action {
            Action::Run => ("RUN", Role::Ok),
            Action::VerifyOnly { .. } => ("VERIFY", Role::Accent),
            Action::Skip { .. } => ("SKIP", Role::Muted),
            Action::Blocked { .. } => ("BLOCKED", Role::Crit),
        };
        rows.push(vec![
            (Role::Text, format!("{:>2} ", st.number)),
            (Role::Muted, format!("{:<10}", st.step.word())),
            (role, format!("{will:<8}")),
            (Role::Text, sanitize(&st.title)),
        ]);
        for d in details(state, plan, st, &values) {
            rows.push(d);
        }
        match &st.action {
            Action::Run => {}
            Action::VerifyOnly { why } | Action::Skip { why } | Action::Blocked { why } => {
                rows.push(vec![(role, format!("{IN}{}", sanitize(why)))]);
            }
        }
        for n in &st.notes {
            rows.push(vec![(Role::Muted, format!("{IN}{}", sanitize(n)))]);
        }
    }
    rows
}

fn details(
    state: &ConsoleState,
    plan: &Plan,
    st: &PlanStep,
    values: &BTreeMap<&'static str, String>,
) -> Vec<Row> {
    let line = |text: String| vec![(Role::Text, format!("{IN}{text}"))];
    match &st.step {
        Resolved::Confirm { ask } => vec![line(format!("the operator types: {}", sanitize(ask)))],
        Resolved::Exec {
            host: h,
            command,
            verify,
            ..
        } => {
            let mut out = vec![line(format!("on {} $ {}", host(h), first_line(command)))];
            if let Some(v) = verify {
                out.push(vec![(
                    Role::Muted,
                    format!("{IN}verify $ {}", first_line(v)),
                )]);
            }
            out
        }
        Resolved::Copy {
            from_spec,
            from,
            to,
            estimate_s,
        } => {
            let mut out = vec![transfer(
                from.as_ref(),
                from_spec,
                &format!("{} {}", host(&to.host), sanitize(&to.path)),
            )];
            let estimate = estimate_s.map(|e| (Role::Muted, format!("estimate {}", human(e))));
            match (origin(state, plan, from.as_ref()), estimate) {
                (Some(mut source), Some((role, text))) => {
                    source.push((role, format!(" · {text}")));
                    out.push(source);
                }
                (Some(source), None) => out.push(source),
                (None, Some((role, text))) => out.push(vec![(role, format!("{IN}{text}"))]),
                (None, None) => {}
            }
            out
        }
        Resolved::DbImport {
            from_spec,
            from,
            to,
            restore,
            verify,
        } => {
            let into = format!(
                "{} {} {} (a new database, then switched to)",
                host(to),
                restore.kind.word(),
                sanitize(&restore.database)
            );
            let mut out = vec![transfer(from.as_ref(), from_spec, &into)];
            out.extend(origin(state, plan, from.as_ref()));
            out.push(vec![(
                Role::Muted,
                format!("{IN}verify SQL> {}", first_line(verify)),
            )]);
            out
        }
        Resolved::Ticket { title, body } => vec![line(format!(
            "ticket “{}”: {}",
            sanitize(&fill(title, values)),
            first_line(&fill(body, values))
        ))],
        Resolved::Dns {
            target,
            new_address,
            expected_old,
        } => {
            let record = state
                .config
                .dns
                .as_ref()
                .map_or_else(|| "the record".to_string(), |d| sanitize(&d.record));
            vec![line(format!(
                "{record} → {} ({}, {}), only if it still holds {}",
                sanitize(new_address),
                sanitize(&target.name),
                sanitize(&target.datacenter),
                sanitize(expected_old)
            ))]
        }
        Resolved::Wait {
            check,
            host: h,
            timeout_s,
        } => {
            let on = h
                .as_ref()
                .map(|h| format!(" on {}", host(h)))
                .unwrap_or_default();
            vec![line(format!(
                "until {}{on} is OK, at most {}",
                sanitize(check),
                human(*timeout_s)
            ))]
        }
    }
}

/// "backup-b (dc2) ──▶ drp (dc2) /srv/www/".
fn transfer(from: Option<&Endpoint>, spec: &str, to: &str) -> Row {
    let source = match from {
        Some(e) => host(&e.host),
        None => format!("{} (not resolved)", sanitize(spec)),
    };
    vec![
        (Role::Text, format!("{IN}{source}")),
        (Role::Accent, " ──▶ ".into()),
        (Role::Text, to.to_string()),
    ]
}

/// Where the data comes from: the backup `newest:` picked, with its age, or the path
/// (nothing when it is not resolved: the step's BLOCKED reason says why).
fn origin(state: &ConsoleState, plan: &Plan, from: Option<&Endpoint>) -> Option<Row> {
    let e = from?;
    Some(match &e.backup {
        Some(b) => {
            let age = u64::try_from(plan.resolved_at.as_second() - b.captured_at.as_second())
                .unwrap_or(0);
            let size = b
                .bytes
                .map(|n| format!(", {}", crate::checks::host::size_kib(n / 1024)))
                .unwrap_or_default();
            vec![
                (
                    Role::Muted,
                    format!("{IN}newest:{}: ", sanitize(&b.dataset)),
                ),
                (Role::Text, sanitize(&b.name)),
                (
                    Role::Muted,
                    format!(
                        " on {}, captured {}, {} old{size}",
                        sanitize(&b.host.name),
                        when(b.captured_at, state.now, &state.time_zone),
                        human(age)
                    ),
                ),
            ]
        }
        None => vec![(Role::Muted, format!("{IN}from {}", sanitize(&e.spec())))],
    })
}

/// The first line of a command, with how many more there are.
fn first_line(text: &str) -> String {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first = sanitize(lines.next().unwrap_or("").trim());
    match lines.count() {
        0 => first,
        n => format!("{first} (+{n} lines)"),
    }
}

/// A row drawn, cut at `width` columns (never wrapped).
pub(super) fn styled(row: &Row, width: usize, theme: &Theme) -> Line<'static> {
    let mut left = width;
    let mut spans = Vec::new();
    for (role, text) in row {
        if left == 0 {
            break;
        }
        let n = text.chars().count();
        let shown = if n > left {
            fit(text, left)
        } else {
            text.clone()
        };
        left -= shown.chars().count().min(left);
        let mut style = theme.style(*role);
        if *role == Role::Selection {
            style = style.add_modifier(Modifier::BOLD);
        }
        spans.push(Span::styled(shown, style));
    }
    Line::from(spans)
}

#[cfg(test)]
#[path = "drp_tests.rs"]
pub(crate) mod tests;
