//! Whole screens on ratatui's TestBackend, snapshotted with insta: normal, faulty, 80×24.

use crate::checks::{Check, State};
use crate::collect::{ExecStats, HostFacts, HostSnapshot};
use crate::ssh::SshError;
use crate::ui::state::{ConsoleState, Screen};
use crate::ui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::Duration;

const CONFIG: &str = r#"
[site]
name = "1stKYC"
refresh = "5s"
timezone = "Europe/Paris"

[ssh]
use_ssh_config = false
user = "root"

[[hosts]]
name = "bastion"
address = "10.77.0.10"
role = "bastion"
datacenter = "dmz"

[[hosts]]
name = "prod"
address = "10.77.1.11"
role = "production"
datacenter = "dc1"
jump = "bastion"

[[hosts]]
name = "backup-a"
address = "10.77.1.12"
role = "backup"
datacenter = "dc1"
jump = "bastion"

[[hosts]]
name = "backup-b"
address = "10.77.2.21"
role = "backup"
datacenter = "dc2"
jump = "bastion"

[[hosts]]
name = "drp"
address = "10.77.2.22"
role = "drp"
datacenter = "dc2"
jump = "bastion"

[[datasets]]
name = "userdb"
max_loss = "2h"
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/userdb"
every = "2h"
pattern = "*.dump"

[[datasets]]
name = "files"
max_loss = "24h"
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/files"
every = "24h"
days = "even"
pattern = "files-*"
[[datasets.copies]]
host = "backup-b"
path = "/var/backups/files"
every = "24h"
days = "odd"
pattern = "files-*"
"#;

/// Backups planted on the backup servers, relative to NOW: userdb every 2 h on backup-a (the
/// newest 52 min old), files on alternate days (backup-a even days, backup-b odd days).
fn backups_on(host: &str) -> std::collections::BTreeMap<usize, crate::backup::model::CopyReading> {
    use crate::backup::model::{Backup, CopyReading};
    let now = at(NOW);
    let ago = |s: i64| now - jiff::SignedDuration::from_secs(s);
    let backup = |s: i64, name: &str| Backup {
        captured_at: ago(s),
        finished_at: Some(ago(s - 300)),
        bytes: Some(3_300_000_000),
        name: name.into(),
    };
    let mut out = std::collections::BTreeMap::new();
    let days = |first: i64| -> Vec<Backup> {
        (0..4)
            .map(|k| backup(first + k * 2 * 86_400, "files"))
            .collect()
    };
    match host {
        // NOW is Saturday 23:14 in Paris, an odd day: backup-b (odd) ran at 02:14 today,
        // backup-a (even) at 02:14 yesterday.
        "backup-a" => {
            out.insert(
                0,
                CopyReading::Found(
                    (0..12)
                        .map(|k| backup(52 * 60 + k * 7200, "userdb.dump"))
                        .collect(),
                ),
            );
            out.insert(1, CopyReading::Found(days(21 * 3600 + 86_400)));
        }
        "backup-b" => {
            out.insert(2, CopyReading::Found(days(21 * 3600)));
        }
        _ => {}
    }
    out
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

const NOW: &str = "2026-11-28T22:14:05Z";

fn check(id: &str, state: State, summary: &str, value: Option<f64>, unit: &'static str) -> Check {
    let c = Check::new(id, state, summary);
    match value {
        Some(v) => c.with_value(v, unit),
        None => c,
    }
}

/// A healthy reading of `name`, with `srv` % used on its data partition.
fn healthy(name: &str, srv: f64, load: f64, mem: f64) -> HostSnapshot {
    let part_state = if srv > 90.0 {
        State::Crit
    } else if srv > 80.0 {
        State::Warn
    } else {
        State::Ok
    };
    let checks = vec![
        check(
            "system.availability",
            State::Ok,
            "ssh up, answered in 12 ms",
            Some(12.0),
            "ms",
        ),
        check(
            "system.uptime",
            State::Ok,
            "up 41 d",
            Some(41.0 * 86400.0),
            "s",
        ),
        check(
            "system.time_drift",
            State::Ok,
            "+3 ms, synchronised (chronyc)",
            Some(3.0),
            "ms",
        ),
        check(
            "system.load",
            State::Ok,
            "load 0.80 0.70 0.60 on 4 CPUs",
            Some(load),
            "load/CPU",
        ),
        check("system.cpu", State::Ok, "12.0 % busy", Some(12.0), "%"),
        check(
            "system.memory",
            State::Ok,
            &format!("{mem:.1} % used"),
            Some(mem),
            "%",
        ),
        check("system.swap", State::Ok, "no swap", None, ""),
        check(
            "system.partition./",
            State::Ok,
            "35.0 % used (12.1 GiB free)",
            Some(35.0),
            "%",
        ),
        check(
            "system.partition./srv",
            part_state,
            &format!("{srv:.1} % used (465 MiB free)"),
            Some(srv),
            "%",
        ),
        check(
            "system.inodes./srv",
            State::Ok,
            "97.0 % free",
            Some(97.0),
            "%",
        ),
        check("system.process.sshd", State::Ok, "1 running", Some(1.0), ""),
        check(
            "hardware.disk.nvme0",
            State::Ok,
            "Samsung PM9A3: passed, 0 media errors",
            None,
            "",
        ),
        check("hardware.raid.md0", State::Ok, "raid1 [UU] clean", None, ""),
    ];
    HostSnapshot {
        name: name.into(),
        refreshed_at: at("2026-11-28T22:14:03Z"),
        reading_at: Some(at("2026-11-28T22:14:03Z")),
        state: crate::checks::worst(checks.iter().map(|c| c.state)),
        checks,
        error: None,
        host_key_alert: false,
        backups: backups_on(name),
        backup_notes: Default::default(),
        facts: HostFacts {
            hostname: Some(name.into()),
            kernel: Some("Linux 6.1.0-28-amd64".into()),
            os: Some("Debian GNU/Linux 12 (bookworm)".into()),
        },
        stats: ExecStats::default(),
    }
}

fn unreachable(name: &str) -> HostSnapshot {
    let e = SshError::Jump {
        jump: "bastion".into(),
        reason: "no answer from 10.77.2.22:22 within 3s".into(),
    };
    HostSnapshot {
        name: name.into(),
        refreshed_at: at("2026-11-28T22:14:04Z"),
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

fn state(faulty: bool) -> ConsoleState {
    let config =
        crate::config::parse(CONFIG, std::path::Path::new("/etc/vigie/config.toml")).unwrap();
    let mut st = ConsoleState::new(&config, true, "alice".into());
    st.now = at(NOW);
    for (i, name) in ["bastion", "prod", "backup-a", "backup-b", "drp"]
        .iter()
        .enumerate()
    {
        // A little history for the sparklines.
        for k in 0..30 {
            let wobble = ((k * 7 + i * 3) % 10) as f64;
            st.apply(healthy(
                name,
                40.0 + i as f64,
                0.2 + wobble / 20.0,
                30.0 + wobble,
            ));
        }
    }
    if faulty {
        st.apply(healthy("prod", 93.1, 0.4, 61.0));
        let mut drp_old = healthy("drp", 12.0, 0.0, 18.0);
        drp_old.reading_at = Some(at("2026-11-28T22:12:05Z"));
        st.apply(drp_old);
        st.apply(unreachable("drp"));
    }
    st.console = Some(crate::console_host::ConsoleSnapshot {
        name: "jump1".into(),
        state: State::Ok,
        checks: vec![
            check("system.cpu", State::Ok, "3 % busy", Some(3.0), "%"),
            check("system.memory", State::Ok, "41 % used", Some(41.0), "%"),
            check("system.load", State::Ok, "0.2 per CPU", Some(0.2), ""),
        ],
    });
    st
}

fn screen(st: &ConsoleState, width: u16, height: u16) -> String {
    let theme = Theme::builtin("dark").unwrap();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| super::draw(f, st, &theme)).unwrap();
    terminal.backend().to_string()
}

#[test]
fn overview_normal_120x30() {
    insta::assert_snapshot!(screen(&state(false), 120, 30));
}

#[test]
fn overview_faulty_120x30() {
    insta::assert_snapshot!(screen(&state(true), 120, 30));
}

#[test]
fn overview_faulty_80x24() {
    insta::assert_snapshot!(screen(&state(true), 80, 24));
}

#[test]
fn host_faulty_prod_80x24() {
    let mut st = state(true);
    st.screen = Screen::Host;
    st.selected = st
        .visible_hosts()
        .iter()
        .position(|h| h.name == "prod")
        .unwrap();
    insta::assert_snapshot!(screen(&st, 80, 24));
}

#[test]
fn host_unreachable_drp_120x30() {
    let mut st = state(true);
    st.screen = Screen::Host;
    st.selected = st
        .visible_hosts()
        .iter()
        .position(|h| h.name == "drp")
        .unwrap();
    insta::assert_snapshot!(screen(&st, 120, 30));
}

#[test]
fn backups_120x30_and_80x24() {
    let mut st = state(false);
    st.screen = Screen::Backups;
    insta::assert_snapshot!("backups_120x30", screen(&st, 120, 30));
    insta::assert_snapshot!("backups_80x24", screen(&st, 80, 24));
}

#[test]
fn the_restore_time_follows_the_measured_throughput() {
    let mut st = state(false);
    st.screen = Screen::Backups;
    let at = st.now - jiff::SignedDuration::from_hours(2);
    let m = crate::backup::throughput::parse("sent 83886080 0 1\n", "backup-a", "drp", at).unwrap();
    st.throughput.by_host.insert("backup-a".into(), m);
    std::sync::Arc::make_mut(&mut st.config).drp = Some(crate::config::DrpSettings {
        production: "prod".into(),
        drp: "drp".into(),
        incident_after: std::time::Duration::from_secs(300),
        transfer_ssh: "ssh".into(),
        throughput: None,
        fence: None,
        fence_verify: None,
    });
    st.refresh_datasets();
    let text = screen(&st, 160, 30);
    let rto: Vec<&str> = text.lines().filter(|l| l.contains("RTO")).collect();
    assert_eq!(rto.len(), 2, "{text}");
    // 3.1 GiB at 80 MiB/s, from the server holding the newest backup.
    for l in rto {
        assert!(
            l.contains("OK      RTO restore in about 40 s: 3.1 GiB at 80.0 MiB/s; site estimate 2 to 3 h (measured 2 h ago from backup-a)"),
            "{text}"
        );
    }
}

#[test]
fn the_top_bar_says_what_a_failure_now_would_lose() {
    let st = state(false);
    let text = screen(&st, 160, 30);
    let top = text.lines().next().unwrap_or_default();
    assert!(
        top.contains("if production fails now: userdb 52 min lost (max 2 h)"),
        "{top}"
    );
}

#[test]
fn placeholders_and_help_80x24() {
    let mut st = state(false);
    st.screen = Screen::Drp;
    insta::assert_snapshot!("drp_80x24", screen(&st, 80, 24));
    st.screen = Screen::Overview;
    st.help = true;
    insta::assert_snapshot!("help_80x24", screen(&st, 80, 24));
}

#[test]
fn the_worst_datacenter_and_host_come_first() {
    let st = state(true);
    let order: Vec<&str> = st.visible_hosts().iter().map(|h| h.name.as_str()).collect();
    // dc1 (prod CRIT) and dc2 (drp CRIT) are both CRIT: by name; inside, the worst first.
    assert_eq!(order, ["prod", "backup-a", "drp", "backup-b", "bastion"]);
}

#[test]
fn a_dead_host_keeps_its_last_readings_with_their_age() {
    let st = state(true);
    let drp = st.hosts.iter().find(|h| h.name == "drp").unwrap();
    assert_eq!(drp.state(), State::Crit);
    assert!(
        drp.check("system.memory").is_some(),
        "last readings dropped"
    );
    assert_eq!(st.age_s(drp).map(|a| a.round()), Some(120.0));
    let text = screen(&st, 120, 30);
    assert!(text.contains("2m ago"), "{text}");
}

#[test]
fn hostile_text_is_inert_on_screen() {
    let mut st = state(false);
    let mut evil = healthy("prod", 50.0, 0.1, 10.0);
    evil.checks.push(Check::new(
        "system.process.x",
        State::Crit,
        crate::text::sanitize("\u{1b}]0;pwned\u{7}\u{1b}[2J gone"),
    ));
    evil.state = State::Crit;
    evil.facts.os = Some("\u{1b}[31mRed OS".into());
    st.apply(evil);
    st.screen = Screen::Host;
    st.selected = st
        .visible_hosts()
        .iter()
        .position(|h| h.name == "prod")
        .unwrap();
    let text = screen(&st, 120, 30);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text}"
    );
}

#[test]
fn without_colour_the_selection_and_states_stay_visible() {
    let st = state(true);
    let theme = crate::ui::theme::for_terminal(Theme::builtin("dark").unwrap(), true, 256);
    let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
    terminal.draw(|f| super::draw(f, &st, &theme)).unwrap();
    let buffer = terminal.backend().buffer();
    let mut reversed = 0;
    for cell in buffer.content() {
        assert_eq!(
            cell.fg,
            ratatui::style::Color::Reset,
            "a colour under NO_COLOR"
        );
        if cell.modifier.contains(ratatui::style::Modifier::REVERSED) {
            reversed += 1;
        }
    }
    assert!(reversed > 20, "the selection is not reverse video");
    let _ = Duration::ZERO;
}

#[test]
fn read_only_offers_not_even_the_demos_simulated_faults() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut st = state(false);
    st.demo = Some(vec![(crate::demo::Fault::DiskFills, false)]);
    let press = |st: &mut ConsoleState| {
        crate::ui::update::on_key(st, &KeyEvent::new(KeyCode::Char('D'), KeyModifiers::NONE))
    };
    st.read_only = true;
    assert_eq!(press(&mut st), crate::ui::update::Effect::None);
    st.help = true;
    assert!(
        !screen(&st, 120, 30).contains("demo:"),
        "the help offers demo keys under --read-only"
    );
    st.help = false;
    st.read_only = false;
    assert_eq!(
        press(&mut st),
        crate::ui::update::Effect::ToggleFault(crate::demo::Fault::DiskFills)
    );
}

#[test]
fn a_window_from_part_of_the_servers_says_it_is_an_upper_bound() {
    let mut st = state(false);
    // backup-b unreachable: the files window comes from backup-a alone.
    st.apply(unreachable("backup-b"));
    let text = screen(&st, 200, 30);
    let top = text.lines().next().unwrap_or_default();
    assert!(top.contains("files ≤"), "{top}");
    assert!(top.contains("a server not read"), "{top}");
    assert!(top.contains("userdb 52 min lost"), "{top}");
}

/// At 80×24: every key in the help, a footer that never overflows.
#[path = "fit_tests.rs"]
mod fit;
