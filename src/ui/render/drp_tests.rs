//! The DRP screen before a run, on the policy's runbooks (config.example.toml) resolved from
//! backup readings as the console gets them; and the fixtures the Journal, banner and dialog
//! tests share: the example site at 23:14 in Paris, every host answering.

use crate::checks::{Check, State};
use crate::collect::{ExecStats, HostFacts, HostSnapshot};
use crate::drp::model::Mode;
use crate::ssh::SshError;
use crate::ui::state::{ConsoleState, Screen};
use crate::ui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub(crate) const NOW: &str = "2026-11-28T22:14:05Z";

pub(crate) fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

pub(crate) fn now() -> jiff::Timestamp {
    at(NOW)
}

pub(crate) fn ago(secs: i64) -> jiff::Timestamp {
    now() - jiff::SignedDuration::from_secs(secs)
}

/// The backups each server holds (copy ids of config.example.toml: userdb on backup-a is 0,
/// files on backup-a 1, files on backup-b 2): userdb every 2 h, the newest 52 min old; files
/// on alternate days, backup-b's (odd days) the newest, 21 h old.
fn backups(
    host: &str,
    files: bool,
) -> std::collections::BTreeMap<usize, crate::backup::model::CopyReading> {
    use crate::backup::model::{Backup, CopyReading};
    let b = |age: i64, name: String, bytes: u64| Backup {
        captured_at: ago(age),
        finished_at: Some(ago(age - 300)),
        bytes: Some(bytes),
        name,
    };
    let files_on = |first: i64, day: u32| -> CopyReading {
        if !files {
            return CopyReading::Found(Vec::new());
        }
        CopyReading::Found(
            (0..3)
                .map(|k| {
                    let age = first + k * 2 * 86_400;
                    b(
                        age,
                        format!("files-202611{:02}.tar.gz", day - 2 * k as u32),
                        180 << 30,
                    )
                })
                .collect(),
        )
    };
    let mut out = std::collections::BTreeMap::new();
    match host {
        "backup-a" => {
            let dumps = (0..6)
                .map(|k| {
                    b(
                        52 * 60 + k * 7200,
                        format!("app-20261128-{:02}22.dump", 22 - 2 * k),
                        3_300_000_000,
                    )
                })
                .collect();
            out.insert(0, CopyReading::Found(dumps));
            out.insert(1, files_on(21 * 3600 + 86_400, 27));
        }
        "backup-b" => {
            out.insert(2, files_on(21 * 3600, 28));
        }
        _ => {}
    }
    out
}

/// A reading of `name` taken `age` seconds ago, every check OK.
pub(crate) fn good(name: &str, age: i64, files: bool) -> HostSnapshot {
    let checks = vec![
        Check::new(
            "system.availability",
            State::Ok,
            "ssh up, answered in 12 ms",
        )
        .with_value(12.0, "ms"),
        Check::new("system.load", State::Ok, "load 0.20 per CPU").with_value(0.2, "load/CPU"),
        Check::new("system.memory", State::Ok, "31.0 % used").with_value(31.0, "%"),
    ];
    HostSnapshot {
        name: name.into(),
        refreshed_at: ago(age),
        reading_at: Some(ago(age)),
        state: State::Ok,
        checks,
        error: None,
        host_key_alert: false,
        backups: backups(name, files),
        backup_notes: Default::default(),
        facts: HostFacts::default(),
        stats: ExecStats::default(),
    }
}

/// A failed refresh of `name`, now.
pub(crate) fn silent(name: &str) -> HostSnapshot {
    let e = SshError::Jump {
        jump: "bastion".into(),
        reason: format!("no answer from {name}:22 within 3s"),
    };
    HostSnapshot {
        name: name.into(),
        refreshed_at: now(),
        reading_at: None,
        state: State::Crit,
        checks: vec![Check::new(
            "system.availability",
            State::Crit,
            e.to_string(),
        )],
        error: Some(e),
        host_key_alert: false,
        facts: HostFacts::default(),
        stats: ExecStats::default(),
        backups: Default::default(),
        backup_notes: Default::default(),
    }
}

pub(crate) const HOSTS: [&str; 5] = ["bastion", "prod", "backup-a", "backup-b", "drp"];

/// The example site at NOW: every host read 2 s ago, an empty journal read, not read-only.
pub(crate) fn site() -> ConsoleState {
    site_with(true)
}

/// The example site; `files`: whether the backup servers hold backups of `files`.
pub(crate) fn site_with(files: bool) -> ConsoleState {
    let config = crate::drp::plan::tests::example_config();
    let mut st = ConsoleState::new(&config, false, "alice".into());
    st.now = now();
    for h in HOSTS {
        st.apply(good(h, 2, files));
    }
    st.console = Some(crate::console_host::ConsoleSnapshot {
        name: "jump1".into(),
        state: State::Ok,
        checks: Vec::new(),
    });
    st.journal.path = Some("/home/alice/.local/state/vigie/1stKYC/journal.jsonl".into());
    st.on_journal(Ok(Default::default()));
    st
}

/// `hosts` last answered `secs` seconds ago, and do not answer now.
pub(crate) fn lose(st: &mut ConsoleState, hosts: &[&str], secs: i64) {
    for h in hosts {
        st.apply(good(h, secs, true));
        st.apply(silent(h));
    }
}

pub(crate) fn screen(st: &ConsoleState, width: u16, height: u16) -> String {
    let theme = Theme::builtin("dark").unwrap();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| super::super::draw(f, st, &theme))
        .unwrap();
    terminal.backend().to_string()
}

pub(crate) fn press(st: &mut ConsoleState, code: KeyCode) -> crate::ui::update::Effect {
    crate::ui::update::on_key(st, &KeyEvent::new(code, KeyModifiers::NONE))
}

fn drp(mode: Mode) -> ConsoleState {
    let mut st = site();
    st.screen = Screen::Drp;
    st.drp.mode = mode;
    st
}

#[test]
fn drill_120x30_and_80x24() {
    let st = drp(Mode::Drill);
    let text = screen(&st, 120, 30);
    insta::assert_snapshot!("drp_drill_120x30", text);
    // What an operator checks before a drill: scratch targets, production untouched, the
    // backup picked and its age, how to start it.
    assert!(
        text.contains("FROM backup-b (dc2), backup-a (dc1) ──▶ TO drp (dc2)"),
        "{text}"
    );
    assert!(
        text.contains("newest:files: files-20261128.tar.gz on backup-b, captured 02:14, 21 h old"),
        "{text}"
    );
    assert!(
        text.contains("drill: production is neither asked nor fenced"),
        "{text}"
    );
    assert!(!text.contains("Fence production"), "{text}");
    assert!(
        text.contains("start: vigie drp run activate --mode drill"),
        "{text}"
    );
    insta::assert_snapshot!("drp_drill_80x24", screen(&st, 80, 24));
}

#[test]
fn emergency_with_production_lost_120x30_and_80x24() {
    let mut st = drp(Mode::Emergency);
    lose(&mut st, &["prod"], 6 * 60);
    let text = screen(&st, 120, 30);
    insta::assert_snapshot!("drp_emergency_120x30", text);
    // Production does not answer: no fencing, the run goes to the real targets.
    assert!(!text.contains("Fence production"), "{text}");
    assert!(text.contains("drp (dc2) /srv/www/"), "{text}");
    assert!(
        text.contains("data loss if run now: userdb 52 min"),
        "{text}"
    );
    insta::assert_snapshot!("drp_emergency_80x24", screen(&st, 80, 24));
}

#[test]
fn planned_fences_production_first() {
    let st = drp(Mode::Planned);
    let text = screen(&st, 120, 40);
    assert!(
        text.contains(" 0 exec      RUN     Fence production: put prod into maintenance"),
        "{text}"
    );
    assert!(
        text.contains("production prod answers: it is fenced first (step 0)"),
        "{text}"
    );
}

#[test]
fn a_step_without_a_backup_blocks_the_start() {
    let mut st = site_with(false);
    st.screen = Screen::Drp;
    st.drp.mode = Mode::Planned;
    let text = screen(&st, 80, 24);
    insta::assert_snapshot!("drp_blocked_80x24", text);
    assert!(
        text.contains("BLOCKED step 2: newest:files: no good backup of `files`"),
        "{text}"
    );
    assert!(
        !text.contains("start: vigie drp run"),
        "a blocked plan offers no start: {text}"
    );
}

#[test]
fn return_says_the_journal_would_refuse_it() {
    let mut st = drp(Mode::Planned);
    press(&mut st, KeyCode::Down);
    assert_eq!(st.drp.runbook, 1);
    let text = screen(&st, 160, 30);
    assert!(text.contains("▸return"), "{text}");
    assert!(
        text.contains("START REFUSED NOW the journal's active-site marker says production"),
        "{text}"
    );
    assert!(
        text.contains("data loss if run now: no data comes from a backup"),
        "{text}"
    );
}

#[test]
fn keys_pick_the_runbook_and_cycle_the_mode() {
    let mut st = drp(Mode::Drill);
    for expected in [Mode::Planned, Mode::Emergency, Mode::Drill] {
        press(&mut st, KeyCode::Char('m'));
        assert_eq!(st.drp.mode, expected);
    }
    press(&mut st, KeyCode::Down);
    press(&mut st, KeyCode::Down);
    assert_eq!(
        st.drp.runbook, 1,
        "two runbooks: the selection stays on the last"
    );
    press(&mut st, KeyCode::Up);
    assert_eq!(st.drp.runbook, 0);
    // PgDn scrolls the plan, never past its last line.
    for _ in 0..20 {
        press(&mut st, KeyCode::PageDown);
    }
    let last = super::line_count(&st) - 1;
    assert_eq!(st.scroll, last);
    let text = screen(&st, 120, 30);
    assert!(text.contains("The site answers from the DRP"), "{text}");
    // `m` elsewhere changes nothing.
    st.screen = crate::ui::state::Screen::Overview;
    press(&mut st, KeyCode::Char('m'));
    assert_eq!(st.drp.mode, Mode::Drill);
}

#[test]
fn read_only_shows_the_plan_without_any_action() {
    let mut st = drp(Mode::Drill);
    st.read_only = true;
    lose(&mut st, &["prod"], 6 * 60);
    let text = screen(&st, 120, 30);
    assert!(text.contains("Order of the customer received"), "{text}");
    assert!(
        !text.contains("start:"),
        "a start hint under --read-only: {text}"
    );
    assert!(
        !text.contains("A: "),
        "the alert offered under --read-only: {text}"
    );
    assert_eq!(
        press(&mut st, KeyCode::Char('A')),
        crate::ui::update::Effect::None
    );
    assert!(st.dialog.is_none());
    st.help = true;
    let help = screen(&st, 120, 40);
    assert!(!help.contains("prepare the alert"), "{help}");
}

#[test]
fn the_lock_holder_and_the_active_site_are_shown() {
    use crate::drp::lock::{LockOwner, LockStatus};
    let mut st = drp(Mode::Drill);
    st.drp.lock = Some(crate::ui::state::LockReading {
        at: now(),
        status: Ok(LockStatus::Held {
            path: "/var/lib/vigie/lock".into(),
            owner: LockOwner {
                owner: "bob@jump2".into(),
                jump_host: "jump2".into(),
                pid: 4242,
                started: ago(3600),
                run: "20261128T211405Z-7f3a".into(),
                nonce: "0123456789abcdef".into(),
            },
        }),
    });
    let text = screen(&st, 200, 30);
    assert!(
        text.contains("lock on drp: held by bob@jump2 since 22:14 (run 20261128T211405Z-7f3a, nonce 0123456789abcdef)"),
        "{text}"
    );
    assert!(
        text.contains("active site: PRODUCTION (no activation journaled)"),
        "{text}"
    );
}

#[test]
fn without_runbooks_the_screen_says_so() {
    let config = crate::config::parse(
        "[site]\nname = \"x\"\n[ssh]\nuse_ssh_config = false\nuser = \"root\"\n[[hosts]]\nname = \"p\"\naddress = \"10.0.0.1\"\nrole = \"production\"\ndatacenter = \"dc1\"\n",
        std::path::Path::new("/x.toml"),
    )
    .unwrap();
    let mut st = ConsoleState::new(&config, false, "alice".into());
    st.screen = Screen::Drp;
    let text = screen(&st, 100, 24);
    assert!(text.contains("No DRP runbook is configured."), "{text}");
    // Keys do nothing harmful on an empty list.
    press(&mut st, KeyCode::Down);
    press(&mut st, KeyCode::PageDown);
    assert_eq!((st.drp.runbook, st.scroll), (0, 0));
}

#[test]
fn tiny_terminals_never_panic() {
    let mut st = drp(Mode::Planned);
    lose(&mut st, &["prod"], 6 * 60);
    for screen_ in Screen::ALL {
        st.screen = screen_;
        for (w, h) in [(1, 1), (8, 3), (20, 6), (40, 10), (79, 23)] {
            screen(&st, w, h);
        }
    }
    press(&mut st, KeyCode::Char('A'));
    for (w, h) in [(1, 1), (8, 3), (20, 6), (40, 10)] {
        screen(&st, w, h);
    }
}
