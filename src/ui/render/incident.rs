//! The incident banner, under the top bar on every screen: what is lost and since when, what
//! activating the DRP now would lose, and the key that prepares the alert ticket (never under
//! `--read-only`), or what became of the alert. It proposes; it never starts anything.

use super::drp::{Row, styled};
use crate::ui::incident::{AlertOutcome, Incident, IncidentKind, alert_key, current, loss_now};
use crate::ui::state::ConsoleState;
use crate::ui::strings as s;
use crate::ui::theme::{Role, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::Paragraph;

/// The banner's height: one line during an incident, none otherwise.
pub fn height(state: &ConsoleState) -> u16 {
    u16::from(!current(state).is_empty())
}

pub fn render(frame: &mut Frame, area: Rect, state: &ConsoleState, theme: &Theme) {
    let incidents = current(state);
    let Some(first) = incidents.first() else {
        return;
    };
    let width = usize::from(area.width);
    let row = banner(state, &incidents, first, width);
    // Red, and in words: the label reads INCIDENT without colour too.
    let mut line = styled(&row, width, theme);
    for span in &mut line.spans {
        span.style = span.style.add_modifier(Modifier::REVERSED);
    }
    let base = theme.style(Role::Crit).add_modifier(Modifier::REVERSED);
    frame.render_widget(Paragraph::new(line).style(base), area);
}

/// The banner's pieces that fit in `width`, most important kept: the incident (in a shorter
/// wording when needed), then the alert (its key or its outcome), then the other incidents,
/// then the data-loss window.
fn banner(state: &ConsoleState, incidents: &[Incident], first: &Incident, width: usize) -> Row {
    let now = state.now;
    let tz = &state.time_zone;
    let key = alert_key(incidents, now);
    let hm = |t: jiff::Timestamp| {
        t.to_zoned_datetime(tz.clone())
            .strftime("%H:%M")
            .to_string()
    };
    let alert = match state.alert.as_ref().filter(|a| a.key == key) {
        Some(a) => Some(match &a.outcome {
            AlertOutcome::Sending => (Role::Crit, s::ALERT_SENDING.to_string()),
            AlertOutcome::Sent { id } => (Role::Crit, s::alert_sent(id, &hm(a.at))),
            AlertOutcome::Failed { error } => {
                let retry = match state.read_only {
                    true => String::new(),
                    false => format!(" · {}", s::ALERT_RETRY),
                };
                (
                    Role::Crit,
                    format!("{} ({}): {error}{retry}", s::ALERT_NOT_SENT, hm(a.at)),
                )
            }
        }),
        None if state.read_only => None,
        None => Some((Role::Crit, s::ALERT_HINT.to_string())),
    };
    let more = match incidents.len() {
        0 | 1 => None,
        n => Some(format!(
            "+{} more: {}",
            n - 1,
            incidents[1..]
                .iter()
                .map(Incident::short)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    let losses = loss_now(&state.datasets);
    // Nothing to say when no backup could be read (every server silent).
    let losses = match state.datasets.iter().all(|d| d.loss_window_s.is_none()) {
        true => Vec::new(),
        false => losses,
    };
    let loss =
        (!losses.is_empty()).then(|| format!("{} {}", s::LOSS_IF_ACTIVATED, losses.join(" · ")));
    let loss_short =
        (!losses.is_empty()).then(|| format!("{} {}", s::LOSS_SHORT, losses.join(" · ")));
    let [long, compact, tiny] = forms(first, now, tz);
    // From the fullest to the barest; the first that fits is shown. The top bar shows the
    // data-loss window too: it is the first to go.
    let tries: [(&String, [Option<&String>; 2]); 7] = [
        (&long, [loss.as_ref(), more.as_ref()]),
        (&long, [loss.as_ref(), None]),
        (&compact, [loss_short.as_ref(), more.as_ref()]),
        (&compact, [loss_short.as_ref(), None]),
        (&long, [None, None]),
        (&compact, [None, None]),
        (&tiny, [None, None]),
    ];
    let row = |headline: &String, optional: [Option<&String>; 2]| -> Row {
        let mut row = vec![
            (Role::Crit, format!(" {}", s::INCIDENT)),
            (Role::Crit, " · ".to_string()),
            (Role::Crit, headline.clone()),
        ];
        for piece in optional
            .into_iter()
            .flatten()
            .chain(alert.as_ref().map(|a| &a.1))
        {
            row.push((Role::Crit, " · ".to_string()));
            row.push((Role::Crit, piece.clone()));
        }
        row
    };
    let used = |r: &Row| r.iter().map(|(_, t)| t.chars().count()).sum::<usize>();
    if let Some(fits) = tries
        .iter()
        .map(|(h, o)| row(h, *o))
        .find(|r| used(r) <= width)
    {
        return fits;
    }
    // Still too long: an error in the alert is cut first, else the incident's words.
    let mut r = row(&tiny, [None, None]);
    let over = used(&r).saturating_sub(width);
    let at = match &alert {
        Some((_, a)) if a.chars().count() > s::ALERT_HINT.chars().count() => r.len() - 1,
        _ => 2,
    };
    if let Some((_, text)) = r.get_mut(at) {
        let keep = text.chars().count().saturating_sub(over).max(12);
        *text = super::fit(text, keep);
    }
    r
}

/// The incident in three lengths: the full headline, a compact one, a tiny one.
fn forms(i: &Incident, now: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> [String; 3] {
    let since = i
        .since
        .to_zoned_datetime(tz.clone())
        .strftime("%H:%M")
        .to_string();
    let lasting = crate::backup::evaluate::human(
        u64::try_from(now.as_second() - i.since.as_second()).unwrap_or(0),
    );
    let at = format!("{lasting} (since {since})");
    let long = i.headline(now, tz);
    match &i.kind {
        IncidentKind::SiteUnreachable { .. } => [
            long,
            format!("no host answers for {at}: jump host cut off?"),
            format!("cut off: no host answers {at}"),
        ],
        IncidentKind::DatacenterLost {
            datacenter, hosts, ..
        } => [
            long,
            format!("{datacenter} lost: {}, {at}", hosts.join(", ")),
            format!("{datacenter} lost {at}"),
        ],
        IncidentKind::ProductionLost { host } => [
            long,
            format!("production {host} down {at}"),
            format!("{host} down {at}"),
        ],
    }
}

#[cfg(test)]
#[path = "incident_tests.rs"]
mod tests;
