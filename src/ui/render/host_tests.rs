//! The Host screen's panes: which checks go where, and what gives way on a small terminal.
//! The checks are built here as plain `Check`s, as their modules would report them.

use super::*;
use crate::collect::{ExecStats, HostFacts, HostSnapshot};
use crate::ui::state::Screen;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const CONFIG: &str = r#"
[site]
name = "1stKYC"
refresh = "5s"
timezone = "Europe/Paris"

[ssh]
use_ssh_config = false
user = "root"

[[hosts]]
name = "prod"
address = "10.77.1.11"
role = "production"
datacenter = "dc1"
"#;

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

fn c(id: &str, state: State, summary: &str) -> Check {
    Check::new(id, state, summary)
}

/// A production host with its system and hardware checks, plus applications, replication
/// and network; `faulty` puts a fault in each of the new panes.
fn prod_checks(faulty: bool) -> Vec<Check> {
    let (ok, warn, crit) = (State::Ok, State::Warn, State::Crit);
    let bad = |s: State| if faulty { s } else { ok };
    vec![
        c("system.availability", ok, "ssh up, answered in 12 ms"),
        c("system.uptime", ok, "up 41 d"),
        c("system.time_drift", ok, "+3 ms, synchronised (chronyc)"),
        c("system.load", ok, "load 0.80 0.70 0.60 on 4 CPUs"),
        c("system.cpu", ok, "12.0 % busy"),
        c("system.memory", ok, "61.0 % used"),
        c("system.swap", ok, "no swap"),
        c("system.partition./", ok, "35.0 % used (12.1 GiB free)"),
        c("system.partition./srv", ok, "41.0 % used (37.8 GiB free)"),
        c("system.inodes./srv", ok, "97.0 % free"),
        c("system.process.sshd", ok, "1 running"),
        c(
            "hardware.disk.nvme0",
            ok,
            "Samsung PM9A3: passed, 0 media errors",
        ),
        c("hardware.raid.md0", ok, "raid1 [UU] clean"),
        c(
            "app.service.nginx",
            ok,
            "running, /nginx_status answered in 3 ms",
        ),
        c(
            "app.service.postgresql",
            bad(crit),
            if faulty {
                "running, not answering: connection refused on 5432"
            } else {
                "running, answered in 4 ms"
            },
        ),
        c("app.service.postfix", ok, "running, queue 0"),
        c(
            "app.replication.postgresql.main",
            bad(warn),
            if faulty {
                "replica 12 s behind"
            } else {
                "streaming to drp, 0 s behind"
            },
        ),
        c(
            "app.replication.drbd.r0",
            ok,
            "connected, UpToDate/UpToDate",
        ),
        c("network.interface.eth0", ok, "up, 10.77.1.11/24"),
        c(
            "network.interface.eth1",
            bad(crit),
            if faulty {
                "no carrier, 192.168.10.11/24"
            } else {
                "up, 192.168.10.11/24"
            },
        ),
        c("network.route.default", ok, "via 10.77.1.1 dev eth0"),
        c("network.route.10.0.0.0/8", ok, "via 10.77.1.254 dev eth0"),
    ]
}

fn console(checks: Vec<Check>) -> ConsoleState {
    let config =
        crate::config::parse(CONFIG, std::path::Path::new("/etc/vigie/config.toml")).unwrap();
    let mut st = ConsoleState::new(&config, true, "alice".into());
    st.now = at("2026-11-28T22:14:05Z");
    st.apply(HostSnapshot {
        name: "prod".into(),
        refreshed_at: at("2026-11-28T22:14:03Z"),
        reading_at: Some(at("2026-11-28T22:14:03Z")),
        state: crate::checks::worst(checks.iter().map(|c| c.state)),
        checks,
        error: None,
        host_key_alert: false,
        facts: HostFacts {
            hostname: Some("prod".into()),
            kernel: Some("Linux 6.1.0-28-amd64".into()),
            os: Some("Debian GNU/Linux 12 (bookworm)".into()),
        },
        stats: ExecStats::default(),
        backups: Default::default(),
        backup_notes: Default::default(),
    });
    st.screen = Screen::Host;
    st
}

fn screen(st: &ConsoleState, width: u16, height: u16) -> String {
    let theme = Theme::builtin("dark").unwrap();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|f| super::super::draw(f, st, &theme))
        .unwrap();
    terminal.backend().to_string()
}

#[test]
fn faulty_80x24() {
    let text = screen(&console(prod_checks(true)), 80, 24);
    // Every fault is on screen, whatever had to give way.
    for fault in ["service.postgresql", "postgresql.main", "interface.eth1"] {
        assert_eq!(
            text.lines().filter(|l| l.contains(fault)).count(),
            1,
            "{fault}:\n{text}"
        );
    }
    insta::assert_snapshot!(text);
}

#[test]
fn faulty_120x30() {
    insta::assert_snapshot!(screen(&console(prod_checks(true)), 120, 30));
}

#[test]
fn healthy_80x24() {
    insta::assert_snapshot!(screen(&console(prod_checks(false)), 80, 24));
}

#[test]
fn scrolling_the_system_pane_keeps_the_others() {
    let mut st = console(prod_checks(true));
    st.scroll = 4;
    let text = screen(&st, 80, 24);
    assert!(!text.contains(" availability "), "scrolled off:\n{text}");
    assert!(text.contains("interface.eth1"), "{text}");
}

#[test]
fn a_host_without_applications_has_no_such_pane() {
    let checks: Vec<Check> = prod_checks(false)
        .into_iter()
        .filter(|c| !c.id.starts_with("app.") && !c.id.starts_with("network."))
        .collect();
    let text = screen(&console(checks), 120, 30);
    for absent in [s::PANE_APPLICATIONS, s::PANE_REPLICATION, s::PANE_NETWORK] {
        assert!(!text.contains(absent), "{absent}:\n{text}");
    }
    assert!(text.contains(" Hardware OK "), "{text}");
}

#[test]
fn groups_by_prefix() {
    assert_eq!(Group::of("hardware.disk.sda"), Group::Hardware);
    assert_eq!(Group::of("system.partition./"), Group::System);
    assert_eq!(Group::of("app.service.nginx"), Group::Applications);
    assert_eq!(Group::of("app.url.site"), Group::Applications);
    assert_eq!(Group::of("app.replication.mysql.main"), Group::Replication);
    assert_eq!(Group::of("network.route.default"), Group::Network);
    assert_eq!(Group::of("network.dnsbl.203.0.113.11"), Group::Network);
    assert_eq!(Group::of("backup.userdb.backup-a"), Group::System);
}

#[test]
fn allocation_gives_way_by_priority() {
    use State::{Crit, Ok as Fine, Warn};
    let ok = |n: usize| vec![Fine; n];
    // Everything fits: each pane its lines (sharing borders), the rest to the last.
    assert_eq!(allocate(20, &[(ok(2), false), (ok(3), true)]), [4, 17]);
    // Short: faults first, then first lines before second ones, the worst pane's first.
    let three = [
        (ok(6), false),
        (vec![Crit, Fine], false),
        (vec![Warn], false),
    ];
    assert_eq!(allocate(8, &three), [3, 4, 3]);
    // Shorter still: the OK pane keeps its title only.
    assert_eq!(allocate(6, &three), [2, 3, 3]);
    // Fewer rows than panes: the worst keep their titles.
    assert_eq!(
        allocate(3, &[(ok(1), false), (vec![Crit], false), (ok(1), true)]),
        [0, 2, 2]
    );
    assert_eq!(allocate(1, &[(ok(1), false)]), [0]);
    assert!(allocate(5, &[]).is_empty());
}
