//! The incident banner on every screen: production lost, datacenter dc2 lost, the jump host
//! cut off; at 120×30 and 80×24; the alert's outcome in it; nothing offered under
//! `--read-only`.

use super::super::fixtures::{HOSTS, lose, screen, site};
use crate::ui::incident::{AlertOutcome, AlertStatus, alert_key, current};
use crate::ui::state::{ConsoleState, Screen};

fn banner(st: &ConsoleState, width: u16) -> String {
    screen(st, width, 24)
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

#[test]
fn production_lost_120x30_and_80x24() {
    let mut st = site();
    lose(&mut st, &["prod"], 6 * 60);
    let text = screen(&st, 120, 30);
    insta::assert_snapshot!("banner_production_lost_120x30", text);
    assert!(
        text.contains(
            " INCIDENT · production prod down 6 min (since 23:08) · loss now: userdb 52 min · \
             files 21 h · A: prepare the alert"
        ),
        "{text}"
    );
    // With room, every word of it.
    assert_eq!(
        banner(&st, 160).trim_end_matches([' ', '"']),
        "\" INCIDENT · production prod unreachable for 6 min (since 23:08) · data loss if \
         activated now: userdb 52 min · files 21 h · A: prepare the alert"
    );
    insta::assert_snapshot!("banner_production_lost_80x24", screen(&st, 80, 24));
    let narrow = banner(&st, 80);
    assert!(
        narrow.contains("production prod down 6 min (since 23:08) · A: prepare the alert"),
        "{narrow}"
    );
}

#[test]
fn datacenter_dc2_lost_120x30_and_80x24() {
    let mut st = site();
    lose(&mut st, &["backup-b", "drp"], 7 * 60);
    st.screen = Screen::Backups;
    insta::assert_snapshot!("banner_dc2_lost_120x30", screen(&st, 120, 30));
    insta::assert_snapshot!("banner_dc2_lost_80x24", screen(&st, 80, 24));
    let line = banner(&st, 200);
    assert!(
        line.contains("datacenter dc2 lost: backup-b, DRP server drp unreachable for 7 min"),
        "{line}"
    );
}

#[test]
fn jump_host_cut_off_120x30_and_80x24() {
    let mut st = site();
    lose(&mut st, &HOSTS, 8 * 60);
    st.screen = Screen::Journal;
    insta::assert_snapshot!("banner_site_cut_120x30", screen(&st, 120, 30));
    insta::assert_snapshot!("banner_site_cut_80x24", screen(&st, 80, 24));
    let line = banner(&st, 160);
    assert!(
        line.contains(
            "none of the 5 hosts answers for 8 min (since 23:06): the jump host is cut off"
        ),
        "{line}"
    );
}

#[test]
fn no_banner_without_an_incident() {
    let mut st = site();
    assert!(!screen(&st, 120, 30).contains("INCIDENT"));
    lose(&mut st, &["prod"], 60);
    assert!(
        !screen(&st, 120, 30).contains("INCIDENT"),
        "one minute is not an incident yet"
    );
}

#[test]
fn the_banner_tells_what_became_of_the_alert() {
    let mut st = site();
    lose(&mut st, &["prod"], 6 * 60);
    let key = alert_key(&current(&st), st.now);
    let status = |outcome| AlertStatus {
        key: key.clone(),
        at: st.now,
        outcome,
    };
    st.alert = Some(status(AlertOutcome::Sending));
    assert!(banner(&st, 120).contains("sending the alert ticket…"));
    st.alert = Some(status(AlertOutcome::Sent {
        id: "T-4711".into(),
    }));
    let line = banner(&st, 120);
    assert!(line.contains("alert ticket T-4711 sent at 23:14"), "{line}");
    assert!(!line.contains("A: "), "{line}");
    st.alert = Some(status(AlertOutcome::Failed {
        error: "ticket webhook https://tickets.example.test/api/tickets answered 503: down".into(),
    }));
    let line = banner(&st, 200);
    assert!(line.contains("alert NOT sent (23:14): ticket webhook https://tickets.example.test/api/tickets answered 503: down · A: retry"), "{line}");
    // At 80 columns the incident stays whole; the error is cut.
    let line = banner(&st, 80);
    assert!(line.contains("prod down 6 min (since 23:08)"), "{line}");
    assert!(line.contains("alert NOT sent"), "{line}");
    // An alert about another incident is not this one's.
    st.alert = Some(AlertStatus {
        key: "dc-dc2-1".into(),
        ..status(AlertOutcome::Sent { id: "T-1".into() })
    });
    assert!(banner(&st, 120).contains("A: prepare the alert"));
}

#[test]
fn read_only_offers_no_alert_key_nor_hint() {
    let mut st = site();
    st.read_only = true;
    lose(&mut st, &["prod"], 6 * 60);
    for screen_ in crate::ui::state::Screen::ALL {
        st.screen = screen_;
        let text = screen(&st, 120, 30);
        assert!(text.contains("INCIDENT"), "{text}");
        assert!(!text.contains("A: "), "{text}");
    }
    st.screen = Screen::Overview;
    let effect = super::super::fixtures::press(&mut st, crossterm::event::KeyCode::Char('A'));
    assert_eq!(effect, crate::ui::update::Effect::None);
    assert!(st.dialog.is_none() && st.outbox.is_none());
}
