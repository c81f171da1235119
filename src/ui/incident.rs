//! When the console raises the incident banner (SPEC §6 `[drp] incident_after`; the policy's
//! "Procedure for triggering the DRP": serious failure of production, major failure of a
//! datacenter, complete loss of network), and the alert ticket it proposes (the policy's
//! "Alert process: information of the situation by ticket").
//!
//! Pure: hosts' reachability and readings in, what to say out. Nothing here sends anything:
//! the banner only proposes, the operator confirms in a dialog, the event loop posts.

use crate::backup::evaluate::{DatasetReport, human};
use crate::config::Role;
use crate::ui::state::{ConsoleState, Dialog, DialogAction, HostView};
use crate::ui::strings as s;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::time::Duration;

/// Whether a host answers, as detection sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Not read yet (the console just started): it says nothing either way.
    Unread,
    /// It answered its last refresh, or refused us as only a live host can (host-key alert,
    /// authentication refused): alive, whatever else is wrong with it.
    Answers,
    /// No answer since `since`: its last good reading, else the first failed refresh of this
    /// console (the console cannot know what happened before it started).
    Silent { since: Timestamp },
}

/// A supervised host as detection needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostReach {
    pub name: String,
    pub role: Role,
    pub datacenter: String,
    pub reach: Reach,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncidentKind {
    /// No supervised host answers: from the jump host, a cut of its own network (or of the
    /// bastion) looks exactly like the complete loss of the site's network; both are named.
    SiteUnreachable { hosts: usize },
    /// Every host of one datacenter (two or more hosts) is silent: a major datacenter
    /// failure. `production` / `drp`: the site's hosts that are in it.
    DatacenterLost {
        datacenter: String,
        hosts: Vec<String>,
        production: Option<String>,
        drp: Option<String>,
    },
    /// The production host is silent, its datacenter still answers.
    ProductionLost { host: String },
}

/// An incident and since when it lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub kind: IncidentKind,
    /// The host's last good reading; for a group, the latest of its hosts' (when the last of
    /// them went silent).
    pub since: Timestamp,
}

impl Incident {
    /// Identifies the incident (what an alert was sent for): its kind, subject and start.
    pub fn key(&self) -> String {
        let what = match &self.kind {
            IncidentKind::SiteUnreachable { .. } => "site".to_string(),
            IncidentKind::DatacenterLost { datacenter, .. } => format!("dc-{datacenter}"),
            IncidentKind::ProductionLost { host } => format!("prod-{host}"),
        };
        format!("{what}-{}", self.since.as_second())
    }

    /// "production prod unreachable for 6 min (since 03:12)". Names come from the
    /// configuration, checked when it was loaded.
    pub fn headline(&self, now: Timestamp, tz: &TimeZone) -> String {
        let lasting = format!(
            "{} (since {})",
            human(elapsed(self.since, now)),
            hm(self.since, tz)
        );
        match &self.kind {
            IncidentKind::SiteUnreachable { hosts } => {
                format!(
                    "none of the {hosts} hosts answers for {lasting}: {}",
                    s::SITE_CUT
                )
            }
            IncidentKind::DatacenterLost {
                datacenter,
                hosts,
                production,
                drp,
            } => {
                let named: Vec<String> = hosts
                    .iter()
                    .map(|h| {
                        if Some(h) == production.as_ref() {
                            format!("production {h}")
                        } else if Some(h) == drp.as_ref() {
                            format!("DRP server {h}")
                        } else {
                            h.clone()
                        }
                    })
                    .collect();
                format!(
                    "datacenter {datacenter} lost: {} unreachable for {lasting}",
                    named.join(", ")
                )
            }
            IncidentKind::ProductionLost { host } => {
                format!("production {host} unreachable for {lasting}")
            }
        }
    }

    /// A few words for "(+1 more: datacenter dc2 lost)".
    pub fn short(&self) -> String {
        match &self.kind {
            IncidentKind::SiteUnreachable { .. } => "no host answers".into(),
            IncidentKind::DatacenterLost { datacenter, .. } => {
                format!("datacenter {datacenter} lost")
            }
            IncidentKind::ProductionLost { host } => format!("production {host} unreachable"),
        }
    }
}

fn elapsed(since: Timestamp, now: Timestamp) -> u64 {
    u64::try_from(now.as_second() - since.as_second()).unwrap_or(0)
}

fn hm(t: Timestamp, tz: &TimeZone) -> String {
    t.to_zoned_datetime(tz.clone())
        .strftime("%H:%M")
        .to_string()
}

/// The incidents, most serious first. A group lost for less than `after` is not one yet (a
/// single failed refresh is a blip, not a disaster); neither is a host never read.
///
/// When no host has answered for `after`, that is the only incident: from here it cannot be
/// told apart from any loss behind it (each host's own silence is in the alert's text). A datacenter lost with
/// production in it is said once, as the datacenter.
pub fn detect(
    hosts: &[HostReach],
    production: Option<&str>,
    drp: Option<&str>,
    after: Duration,
    now: Timestamp,
) -> Vec<Incident> {
    let silent = |h: &HostReach| match h.reach {
        Reach::Silent { since } => Some(since),
        _ => None,
    };
    let long = |since: Timestamp| elapsed(since, now) >= after.as_secs();
    // All silent: the latest silence is when the group was lost.
    let group = |list: &[&HostReach]| -> Option<Timestamp> {
        list.iter()
            .map(|h| silent(h))
            .collect::<Option<Vec<_>>>()?
            .into_iter()
            .max()
    };
    let all: Vec<&HostReach> = hosts.iter().collect();
    if all.len() >= 2
        && let Some(since) = group(&all).filter(|t| long(*t))
    {
        return vec![Incident {
            kind: IncidentKind::SiteUnreachable { hosts: all.len() },
            since,
        }];
    }
    let mut first = Vec::new();
    let mut last = Vec::new();
    let mut datacenters: Vec<&str> = hosts.iter().map(|h| h.datacenter.as_str()).collect();
    datacenters.sort_unstable();
    datacenters.dedup();
    for dc in datacenters {
        let members: Vec<&HostReach> = hosts.iter().filter(|h| h.datacenter == dc).collect();
        if members.len() < 2 {
            continue;
        }
        let Some(since) = group(&members).filter(|t| long(*t)) else {
            continue;
        };
        let has = |name: Option<&str>| {
            name.filter(|n| members.iter().any(|h| h.name == *n))
                .map(str::to_string)
        };
        let production = has(production);
        let incident = Incident {
            kind: IncidentKind::DatacenterLost {
                datacenter: dc.to_string(),
                hosts: members.iter().map(|h| h.name.clone()).collect(),
                production: production.clone(),
                drp: has(drp),
            },
            since,
        };
        match production {
            Some(_) => first.push(incident),
            None => last.push(incident),
        }
    }
    if first.is_empty()
        && let Some(p) = production.and_then(|p| hosts.iter().find(|h| h.name == p))
        && let Some(since) = silent(p).filter(|t| long(*t))
    {
        first.push(Incident {
            kind: IncidentKind::ProductionLost {
                host: p.name.clone(),
            },
            since,
        });
    }
    first.extend(last);
    first
}

/// How a host answers, from what the console has of it.
pub fn reach(host: &HostView) -> Reach {
    let Some(latest) = &host.latest else {
        return Reach::Unread;
    };
    let alive = match &latest.error {
        None => true,
        // Refusals only a live sshd can give: the host is up, it is not a loss.
        Some(e) => e.is_host_key_alert() || matches!(e, crate::ssh::SshError::Auth { .. }),
    };
    if alive {
        return Reach::Answers;
    }
    let last_good = host.last_good.as_ref().and_then(|g| g.reading_at);
    match (last_good, host.failing_since) {
        (Some(good), _) => Reach::Silent { since: good },
        (None, Some(first_failure)) => Reach::Silent {
            since: first_failure,
        },
        (None, None) => Reach::Silent {
            since: latest.refreshed_at,
        },
    }
}

/// The incidents the console sees now.
pub fn current(state: &ConsoleState) -> Vec<Incident> {
    let hosts: Vec<HostReach> = state
        .hosts
        .iter()
        .map(|h| HostReach {
            name: h.name.clone(),
            role: h.role,
            datacenter: h.datacenter.clone(),
            reach: reach(h),
        })
        .collect();
    let drp = state.config.drp.as_ref();
    let production = drp
        .map(|d| d.production.as_str())
        .or(state.production.as_deref());
    let drp_host = drp.map(|d| d.drp.as_str()).or_else(|| {
        state
            .hosts
            .iter()
            .find(|h| h.role == Role::Drp)
            .map(|h| h.name.as_str())
    });
    let after = drp.map_or(DEFAULT_AFTER, |d| d.incident_after);
    detect(&hosts, production, drp_host, after, state.now)
}

/// `[drp] incident_after`'s default, for a site without `[drp]`.
pub const DEFAULT_AFTER: Duration = Duration::from_secs(300);

/// "userdb 52 min", "files ≤21 h" (a server not read), "userdb unknown": what activating now
/// would lose, per dataset.
pub fn loss_now(datasets: &[DatasetReport]) -> Vec<String> {
    datasets
        .iter()
        .map(|d| {
            let partial = d
                .copies
                .iter()
                .any(|c| c.state == crate::checks::State::Unknown);
            match d.loss_window_s {
                Some(w) if partial => format!("{} ≤{}", d.name, human(w)),
                Some(w) => format!("{} {}", d.name, human(w)),
                None => format!("{} unknown", d.name),
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The alert ticket

/// A ticket as it would be sent: its title and body, before the webhook's JSON template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketText {
    pub title: String,
    pub body: String,
}

/// Everything the alert describes, taken from the console at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Situation {
    pub site: String,
    pub now: Timestamp,
    pub tz: TimeZone,
    /// The jump host's name and the operator.
    pub seen_from: Option<String>,
    pub operator: String,
    pub incidents: Vec<Incident>,
    /// One line per host: name, role, datacenter, and what it is now.
    pub hosts: Vec<String>,
    pub datasets: Vec<DatasetReport>,
}

impl Situation {
    pub fn of(state: &ConsoleState) -> Situation {
        let tz = state.time_zone.clone();
        let hosts = state
            .hosts
            .iter()
            .map(|h| host_line(h, state.now, &tz))
            .collect();
        Situation {
            site: state.site.clone(),
            now: state.now,
            tz,
            seen_from: state.console.as_ref().map(|c| c.name.clone()),
            operator: state.operator.clone(),
            incidents: current(state),
            hosts,
            datasets: state.datasets.clone(),
        }
    }
}

/// "prod (production, dc1): CRIT, unreachable since 03:12: no answer from …", "backup-b
/// (backup, dc2): WARN, system.partition./var: 83.0 % used", "drp (drp, dc2): OK".
fn host_line(h: &HostView, now: Timestamp, tz: &TimeZone) -> String {
    let who = format!("{} ({}, {})", h.name, h.role.word(), h.datacenter);
    let state = h.state();
    let word = super::render::state_word(state).trim_end();
    let what = match (reach(h), h.latest.as_ref()) {
        (Reach::Unread, _) | (_, None) => s::NOT_READ_YET.to_string(),
        (Reach::Silent { since }, Some(l)) => {
            let why = l
                .error
                .as_ref()
                .map(|e| crate::probe::parse::clean(&e.to_string(), 160))
                .unwrap_or_default();
            format!(
                "{word}, unreachable since {} ({}): {why}",
                hm(since, tz),
                human(elapsed(since, now))
            )
        }
        (Reach::Answers, Some(l)) => match l.error.as_ref() {
            Some(e) => format!(
                "{word}, {}",
                crate::probe::parse::clean(&e.to_string(), 160)
            ),
            None => match h.problems().first() {
                Some(c) => format!(
                    "{word}, {}: {}",
                    crate::text::sanitize(&c.id),
                    crate::probe::parse::clean(&c.summary, 120)
                ),
                None => word.to_string(),
            },
        },
    };
    format!("{who}: {what}")
}

/// The alert ticket: what is happening, every host's state, the data-loss window per dataset,
/// and that nothing has been activated. Pure.
pub fn alert_ticket(s: &Situation) -> TicketText {
    let at = s
        .now
        .to_zoned_datetime(s.tz.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string();
    let title = match s.incidents.split_first() {
        Some((first, rest)) => {
            let more = match rest.len() {
                0 => String::new(),
                n => format!(" (+{n} more)"),
            };
            format!(
                "[{}] INCIDENT: {}{more}",
                s.site,
                first.headline(s.now, &s.tz)
            )
        }
        None => format!("[{}] {}", s.site, s::ALERT_NO_INCIDENT_TITLE),
    };
    let mut b = Vec::new();
    let from = match &s.seen_from {
        Some(j) => format!(" from the jump host {j}"),
        None => String::new(),
    };
    b.push(format!(
        "Situation of {} at {at}, seen by Vigie{from} (operator {}):",
        s.site, s.operator
    ));
    if s.incidents.is_empty() {
        b.push(format!("- {}", s::ALERT_NO_INCIDENT));
    }
    for i in &s.incidents {
        b.push(format!("- INCIDENT: {}", i.headline(s.now, &s.tz)));
    }
    b.push(String::new());
    b.push("Hosts:".into());
    for h in &s.hosts {
        b.push(format!("- {h}"));
    }
    if !s.datasets.is_empty() {
        b.push(String::new());
        b.push(s::ALERT_LOSS_HEAD.into());
        for d in &s.datasets {
            b.push(format!("- {}", dataset_line(d, s.now, &s.tz)));
        }
    }
    b.push(String::new());
    b.push(s::ALERT_NOT_ACTIVATED.into());
    TicketText {
        title,
        body: b.join("\n"),
    }
}

/// "userdb: 52 min (max 2 h), newest backup captured 02:20 on backup-a".
fn dataset_line(d: &DatasetReport, now: Timestamp, tz: &TimeZone) -> String {
    let partial = d
        .copies
        .iter()
        .any(|c| c.state == crate::checks::State::Unknown);
    let window = match (d.loss_window_s, partial) {
        (Some(w), false) => human(w),
        (Some(w), true) => format!("at most {} (a backup server was not read)", human(w)),
        (None, _) => "unknown (no good backup read)".into(),
    };
    let newest = match &d.newest {
        Some(n) => format!(
            ", newest backup captured {} on {}",
            crate::backup::evaluate::when(n.captured_at, now, tz),
            n.host
        ),
        None => String::new(),
    };
    format!("{}: {window} (max {}){newest}", d.name, human(d.max_loss_s))
}

// ---------------------------------------------------------------------------------------------
// Sending it

/// The alert confirmed by the operator, waiting for the event loop to post it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// [`Incident::key`] of the first incident ("situation" without one): the Idempotency-Key
    /// of the POST, so that a receiver honouring it never opens two tickets for one incident.
    pub key: String,
    pub ticket: TicketText,
}

/// What became of the last alert, for the banner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertStatus {
    /// [`Outgoing::key`]: the banner shows it only while that incident lasts.
    pub key: String,
    pub at: Timestamp,
    pub outcome: AlertOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertOutcome {
    Sending,
    Sent { id: String },
    Failed { error: String },
}

/// The key an alert about `incidents` is sent under.
pub fn alert_key(incidents: &[Incident], now: Timestamp) -> String {
    match incidents.first() {
        Some(i) => i.key(),
        None => format!("situation-{}", now.as_second()),
    }
}

/// The webhook's run-level placeholders for an alert, which belongs to no run: no runbook,
/// no mode, no order yet (the order comes after the alert); the run id is the alert's key.
pub fn ticket_vars(state: &ConsoleState, key: &str) -> crate::drp::ticket::TicketVars {
    crate::drp::ticket::TicketVars {
        site: state.site.clone(),
        runbook: "alert".into(),
        mode: String::new(),
        order: String::new(),
        run_id: format!("alert-{key}"),
        step: 0,
        operator: state.operator.clone(),
        now: state
            .now
            .to_zoned_datetime(state.time_zone.clone())
            .strftime("%Y-%m-%d %H:%M %Z")
            .to_string(),
    }
}

/// The alert's confirmation dialog, holding the ticket exactly as it would be sent now.
/// Without `[ticket]`, it shows the text to copy and confirms nothing.
pub fn alert_dialog(state: &ConsoleState) -> Dialog {
    let situation = Situation::of(state);
    let ticket = alert_ticket(&situation);
    let key = alert_key(&situation.incidents, state.now);
    let webhook = state.config.ticket.as_ref();
    let body = match webhook {
        Some(t) => vec![
            s::alert_dialog_intro(t.url.as_str()),
            s::ALERT_DIALOG_NOTHING_STARTS.to_string(),
        ],
        None => vec![s::ALERT_DIALOG_NOTHING_STARTS.to_string()],
    };
    Dialog {
        title: s::ALERT_DIALOG_TITLE.to_string(),
        body,
        ticket: Some(ticket.clone()),
        confirm_word: webhook.map(|_| CONFIRM_WORD.to_string()),
        note: webhook.is_none().then(|| s::NO_WEBHOOK.to_string()),
        input: String::new(),
        error: None,
        scroll: 0,
        on_confirm: DialogAction::SendAlert { key, ticket },
    }
}

/// What the operator types to send the alert.
pub const CONFIRM_WORD: &str = "YES";

#[cfg(test)]
#[path = "incident_tests.rs"]
mod tests;
