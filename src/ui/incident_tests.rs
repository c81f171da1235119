//! Incident detection on hosts as the console sees them, and the alert ticket's text.

use super::*;
use crate::ui::render::fixtures::{ago, lose, now, site};

fn host(name: &str, role: Role, dc: &str, reach: Reach) -> HostReach {
    HostReach {
        name: name.into(),
        role,
        datacenter: dc.into(),
        reach,
    }
}

/// The lab's site: prod and backup-a in dc1, backup-b and drp in dc2, the bastion in dmz;
/// `silent` lists the hosts silent, with how long ago they last answered (seconds).
fn hosts(silent: &[(&str, i64)]) -> Vec<HostReach> {
    [
        ("bastion", Role::Bastion, "dmz"),
        ("prod", Role::Production, "dc1"),
        ("backup-a", Role::Backup, "dc1"),
        ("backup-b", Role::Backup, "dc2"),
        ("drp", Role::Drp, "dc2"),
    ]
    .iter()
    .map(|(n, r, dc)| {
        let reach = match silent.iter().find(|(s, _)| s == n) {
            Some((_, secs)) => Reach::Silent { since: ago(*secs) },
            None => Reach::Answers,
        };
        host(n, *r, dc, reach)
    })
    .collect()
}

const FIVE_MIN: Duration = Duration::from_secs(300);

fn run(silent: &[(&str, i64)]) -> Vec<Incident> {
    detect(&hosts(silent), Some("prod"), Some("drp"), FIVE_MIN, now())
}

#[test]
fn production_lost_longer_than_incident_after() {
    let found = run(&[("prod", 6 * 60)]);
    assert_eq!(
        found,
        [Incident {
            kind: IncidentKind::ProductionLost {
                host: "prod".into()
            },
            since: ago(360),
        }]
    );
    let tz = TimeZone::get("Europe/Paris").unwrap();
    assert_eq!(
        found[0].headline(now(), &tz),
        "production prod unreachable for 6 min (since 23:08)"
    );
    // Not yet: a blip is not a disaster.
    assert_eq!(run(&[("prod", 4 * 60)]), []);
    // Exactly the threshold counts.
    assert_eq!(run(&[("prod", 300)]).len(), 1);
}

#[test]
fn a_host_never_read_or_refusing_us_is_not_lost() {
    let mut h = hosts(&[]);
    h[1].reach = Reach::Unread;
    assert_eq!(detect(&h, Some("prod"), None, FIVE_MIN, now()), []);
    // reach(): an authentication refused is a live host.
    let mut st = site();
    let mut snap = crate::ui::render::fixtures::silent("prod");
    snap.error = Some(crate::ssh::SshError::Auth {
        user: "root".into(),
        tried: "publickey".into(),
    });
    st.apply(snap);
    let prod = st.hosts.iter().find(|h| h.name == "prod").unwrap();
    assert_eq!(reach(prod), Reach::Answers);
}

#[test]
fn every_host_of_a_datacenter_lost_is_a_datacenter_failure() {
    let found = run(&[("backup-b", 7 * 60), ("drp", 6 * 60)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].kind,
        IncidentKind::DatacenterLost {
            datacenter: "dc2".into(),
            hosts: vec!["backup-b".into(), "drp".into()],
            production: None,
            drp: Some("drp".into()),
        }
    );
    // Since the last of them went silent.
    assert_eq!(found[0].since, ago(360));
    let tz = TimeZone::get("Europe/Paris").unwrap();
    assert_eq!(
        found[0].headline(now(), &tz),
        "datacenter dc2 lost: backup-b, DRP server drp unreachable for 6 min (since 23:08)"
    );
    // One of them still answers: no datacenter failure.
    assert_eq!(run(&[("drp", 6 * 60)]), []);
}

#[test]
fn production_in_a_lost_datacenter_is_said_once() {
    let found = run(&[("prod", 20 * 60), ("backup-a", 6 * 60)]);
    assert_eq!(found.len(), 1, "{found:?}");
    match &found[0].kind {
        IncidentKind::DatacenterLost {
            datacenter,
            production,
            ..
        } => {
            assert_eq!(datacenter, "dc1");
            assert_eq!(production.as_deref(), Some("prod"));
        }
        other => panic!("{other:?}"),
    }
    // Production lost and the DRP's datacenter lost: both, production first.
    let found = run(&[("prod", 20 * 60), ("backup-b", 6 * 60), ("drp", 6 * 60)]);
    let kinds: Vec<String> = found.iter().map(Incident::short).collect();
    assert_eq!(
        kinds,
        ["production prod unreachable", "datacenter dc2 lost"]
    );
}

#[test]
fn no_host_answering_is_the_jump_host_cut_off_and_nothing_else() {
    let all: Vec<(&str, i64)> = ["bastion", "prod", "backup-a", "backup-b", "drp"]
        .iter()
        .map(|h| (*h, 8 * 60))
        .collect();
    let found = run(&all);
    assert_eq!(
        found,
        [Incident {
            kind: IncidentKind::SiteUnreachable { hosts: 5 },
            since: ago(480),
        }]
    );
    let tz = TimeZone::get("Europe/Paris").unwrap();
    assert_eq!(
        found[0].headline(now(), &tz),
        "none of the 5 hosts answers for 8 min (since 23:06): the jump host is cut off from the \
         site, or the site lost its network"
    );
    // The whole site silent for a minute only, production for twenty: production's loss
    // stands; the cut is not one yet.
    let mut recent: Vec<(&str, i64)> = all.iter().map(|(h, _)| (*h, 60)).collect();
    recent[1] = ("prod", 20 * 60);
    let found = run(&recent);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].short(), "production prod unreachable");
}

#[test]
fn the_console_state_gives_the_incident_and_its_since() {
    let mut st = site();
    assert_eq!(current(&st), []);
    lose(&mut st, &["prod"], 6 * 60);
    let found = current(&st);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].since, ago(360));
    // A host silent since the console started: since its first failed refresh.
    let mut st = site();
    let prod = st.hosts.iter_mut().find(|h| h.name == "prod").unwrap();
    prod.latest = None;
    prod.last_good = None;
    st.apply(crate::ui::render::fixtures::silent("prod"));
    let prod = st.hosts.iter().find(|h| h.name == "prod").unwrap();
    assert_eq!(prod.failing_since, Some(now()));
    st.now = now() + jiff::SignedDuration::from_mins(10);
    assert_eq!(current(&st)[0].since, now());
    // It answers again: the run of failures is over.
    st.apply(crate::ui::render::fixtures::good("prod", 0, true));
    let prod = st.hosts.iter().find(|h| h.name == "prod").unwrap();
    assert_eq!(prod.failing_since, None);
}

#[test]
fn loss_now_per_dataset() {
    let mut st = site();
    assert_eq!(loss_now(&st.datasets), ["userdb 52 min", "files 21 h"]);
    // backup-b not read: the files window is an upper bound.
    lose(&mut st, &["backup-b"], 60);
    assert_eq!(loss_now(&st.datasets), ["userdb 52 min", "files ≤45 h"]);
}

#[test]
fn the_alert_ticket_describes_every_host_and_the_loss() {
    let mut st = site();
    lose(&mut st, &["prod"], 6 * 60);
    let t = alert_ticket(&Situation::of(&st));
    assert_eq!(
        t.title,
        "[1stKYC] INCIDENT: production prod unreachable for 6 min (since 23:08)"
    );
    insta::assert_snapshot!("alert_ticket_production_lost", t.body);
    for expected in [
        "Situation of 1stKYC at 2026-11-28 23:14 CET, seen by Vigie from the jump host jump1 (operator alice):",
        "- INCIDENT: production prod unreachable for 6 min (since 23:08)",
        "- prod (production, dc1): CRIT, unreachable since 23:08 (6 min): via bastion: no answer from prod:22 within 3s",
        "- backup-b (backup, dc2): OK",
        "- userdb: 52 min (max 2 h), newest backup captured 22:22 on backup-a",
        "The DRP is NOT activated",
    ] {
        assert!(t.body.contains(expected), "{expected}\n{}", t.body);
    }
    // One key per incident: a retried post is the same ticket for a receiver that honours
    // Idempotency-Key.
    let incidents = current(&st);
    let key = alert_key(&incidents, st.now);
    st.now += jiff::SignedDuration::from_mins(3);
    assert_eq!(alert_key(&current(&st), st.now), key);
    let vars = ticket_vars(&st, &key);
    assert_eq!(vars.idempotency_key(), format!("vigie-alert-{key}-step-0"));
    assert_eq!((vars.runbook.as_str(), vars.order.as_str()), ("alert", ""));
}

#[test]
fn without_an_incident_the_ticket_is_a_situation_report() {
    let st = site();
    let t = alert_ticket(&Situation::of(&st));
    assert_eq!(
        t.title,
        "[1stKYC] Situation report from the supervision console"
    );
    assert!(
        t.body.contains("the console detects no incident"),
        "{}",
        t.body
    );
}

#[test]
fn hostile_text_from_a_host_is_inert_in_the_ticket() {
    let mut st = site();
    let mut snap = crate::ui::render::fixtures::good("backup-b", 1, true);
    snap.checks.push(crate::checks::Check::new(
        "system.process.x\u{1b}[2J",
        crate::checks::State::Crit,
        "gone\u{1b}]0;pwned\u{7}",
    ));
    snap.state = crate::checks::State::Crit;
    st.apply(snap);
    let t = alert_ticket(&Situation::of(&st));
    assert!(
        !t.body.contains('\u{1b}') && !t.body.contains('\u{7}'),
        "{}",
        t.body
    );
    assert!(
        t.body
            .contains("backup-b (backup, dc2): CRIT, system.process.x"),
        "{}",
        t.body
    );
}
