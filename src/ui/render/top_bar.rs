//! The top bar: site, overall state, data-loss window, active site, clock, operator.

use super::{state_style, state_word};
use crate::ui::state::ConsoleState;
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn render(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let bar = theme.style(Role::Bar);
    let site_state = state.state();
    let clock = state
        .now
        .to_zoned_datetime(state.time_zone.clone())
        // Minutes: a clock in seconds would rewrite the terminal every second for nothing
        // (an idle console writes nothing; ages in seconds still show each reading's age).
        .strftime("%H:%M")
        .to_string();
    // The journal's active-site marker: after an activation the site runs on the DRP host.
    let active = match (state.journal.active, state.config.drp.as_ref()) {
        (crate::drp::model::ActiveSite::Drp, Some(d)) if !d.drp.eq_ignore_ascii_case("drp") => {
            format!("{} (DRP)", d.drp.to_uppercase())
        }
        (crate::drp::model::ActiveSite::Drp, _) => "DRP".to_string(),
        (crate::drp::model::ActiveSite::Production, _) => state
            .production
            .as_deref()
            .map_or_else(|| "—".to_string(), str::to_uppercase),
    };
    let width = usize::from(area.width);
    let mut spans = vec![
        Span::styled(format!(" {} ", s::PRODUCT), theme.style(Role::Title)),
        Span::styled(format!(" {} ", state.site), bar),
        Span::styled(
            format!(" ▲ {} ", state_word(site_state).trim_end()),
            state_style(theme, site_state),
        ),
    ];
    // Badges are never dropped: reserve their room first.
    let mut badges = Vec::new();
    if state.read_only {
        badges.push(Span::styled(
            format!(" {}", s::READ_ONLY),
            theme.style(Role::Badge),
        ));
    }
    if state.paused {
        badges.push(Span::styled(
            format!(" {} ", s::PAUSED),
            theme.style(Role::Warn),
        ));
    }
    let room = |spans: &[Span]| {
        spans
            .iter()
            .map(|s| s.content.chars().count())
            .sum::<usize>()
    };
    let budget = width.saturating_sub(room(&badges));
    // By priority: the data-loss window first (SPEC: always shown), then the active site,
    // the clock and the operator; the long wording of the loss only when there is room.
    let (loss_long, loss_short, loss_state) = loss(state);
    let optional = [
        (
            vec![loss_long, loss_short],
            super::state_style(theme, loss_state),
        ),
        (vec![format!("{} {active}", s::ACTIVE)], bar),
        (vec![clock], bar),
        (vec![state.operator.clone()], bar),
    ];
    for (choices, style) in optional {
        let reserve = 3 * 4 + 8; // keep room for the shorter pieces that follow
        for (i, text) in choices.iter().enumerate() {
            let last = i + 1 == choices.len();
            let need = room(&spans) + 3 + text.chars().count() + if last { 0 } else { reserve };
            if need <= budget {
                spans.push(Span::styled(" │ ", bar));
                spans.push(Span::styled(text.clone(), style));
                break;
            }
        }
    }
    spans.extend(badges);
    frame.render_widget(Paragraph::new(Line::from(spans)).style(bar), area);
}

/// "if production fails now: userdb 52 min lost (max 2 h) · files 21 h (max 24 h)", a short
/// form for narrow terminals, and the worst loss-window state.
fn loss(state: &ConsoleState) -> (String, String, crate::checks::State) {
    use crate::backup::evaluate::human;
    use crate::checks::State;
    if state.config.datasets.is_empty() {
        return (
            format!("{} {}", s::LOSS_PREFIX, s::LOSS_UNCONFIGURED),
            s::LOSS_UNCONFIGURED_SHORT.to_string(),
            State::Unknown,
        );
    }
    let mut long = Vec::new();
    let mut short = Vec::new();
    let mut worst = State::Ok;
    for d in &state.datasets {
        let window = d.checks.iter().find(|c| c.id.ends_with(".loss_window"));
        let st = window.map_or(State::Unknown, |c| c.state);
        worst = worst.worst(st);
        // A server not read may hold a newer backup: the window is then at most this.
        let partial = d.copies.iter().any(|c| c.state == State::Unknown);
        let bound = if partial { "≤" } else { "" };
        match d.loss_window_s {
            Some(w) => {
                long.push(format!(
                    "{} {bound}{} lost (max {}){}",
                    d.name,
                    human(w),
                    human(d.max_loss_s),
                    if partial { ", a server not read" } else { "" }
                ));
                short.push(format!("{} {bound}{}", d.name, human(w)));
            }
            None => {
                long.push(format!("{} unknown", d.name));
                short.push(format!("{} ?", d.name));
            }
        }
    }
    if state.datasets.is_empty() {
        worst = State::Unknown;
        long.push(s::WAITING.to_string());
        short.push("loss: …".to_string());
    }
    (
        format!("{} {}", s::LOSS_PREFIX, long.join(" · ")),
        format!("loss {}", short.join(" · ")),
        worst,
    )
}
