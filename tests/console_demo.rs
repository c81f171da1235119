//! `vigie demo` in a real terminal: the embedded site comes up with nothing to configure,
//! its fault keys make the console react, and quitting restores the terminal.

mod common;

use common::tty::{Tty, host_line, terminal_is_sane};
use std::time::Duration;

const HOSTS: [&str; 5] = ["bastion", "prod", "backup-a", "backup-b", "drp"];

#[test]
fn the_demo_runs_reacts_to_its_faults_and_restores_the_terminal() {
    let state_home = tempfile::tempdir().unwrap();
    let command = format!(
        "XDG_STATE_HOME={} {} demo",
        state_home.path().display(),
        env!("CARGO_BIN_EXE_vigie")
    );
    let tty = Tty::start("demo", 120, 32, &command);
    let all_ok = |s: &str| {
        HOSTS
            .iter()
            .all(|h| host_line(s, h).is_some_and(|l| l.contains("OK")))
    };
    tty.wait_for("every demo host OK", Duration::from_secs(30), all_ok);

    // A disk fills.
    tty.keys(&["D"]);
    tty.wait_for("prod CRIT on /srv", Duration::from_secs(15), |s| {
        host_line(s, "prod").is_some_and(|l| l.contains("CRIT") && l.contains("/srv"))
    });
    tty.keys(&["D"]);
    tty.wait_for("prod OK again", Duration::from_secs(15), |s| {
        host_line(s, "prod").is_some_and(|l| l.contains("OK"))
    });

    // The web tier stops: nginx and demo-web on prod, and the shop's URL test with them.
    tty.keys(&["S"]);
    tty.wait_for("nginx down", Duration::from_secs(15), |s| {
        host_line(s, "prod")
            .is_some_and(|l| l.contains("CRIT") && (l.contains("nginx") || l.contains("demo-web")))
    });
    tty.wait_for("the shop refused", Duration::from_secs(15), |s| {
        s.lines()
            .any(|l| l.contains("app.url.shop") && l.contains("refused"))
    });
    tty.keys(&["S"]);
    tty.wait_for("prod OK again", Duration::from_secs(15), |s| {
        host_line(s, "prod").is_some_and(|l| l.contains("OK"))
    });

    // The replication link breaks: the standby (drp) and the primary (prod) both say so.
    tty.keys(&["R"]);
    let screen = tty.wait_for("replication broken", Duration::from_secs(15), |s| {
        host_line(s, "drp").is_some_and(|l| {
            l.contains("CRIT") && (l.contains("replication") || l.contains("eno2"))
        }) && host_line(s, "prod").is_some_and(|l| l.contains("CRIT") && l.contains("replication"))
    });
    assert!(
        screen.contains("R●"),
        "the footer shows the fault on:\n{screen}"
    );
    tty.keys(&["R"]);
    // Not CRIT any more (a machine busy elsewhere may leave a CPU WARN: it is this machine's).
    tty.wait_for("drp and prod repaired", Duration::from_secs(15), |s| {
        ["drp", "prod"]
            .iter()
            .all(|h| host_line(s, h).is_some_and(|l| !l.contains("CRIT")))
    });

    // Production goes dark: CRIT, while the rest of the site stays OK and fresh.
    tty.keys(&["X"]);
    let screen = tty.wait_for("prod unreachable", Duration::from_secs(15), |s| {
        host_line(s, "prod").is_some_and(|l| l.contains("CRIT") && l.contains("no answer"))
    });
    for h in ["bastion", "backup-a", "backup-b", "drp"] {
        assert!(
            host_line(&screen, h).is_some_and(|l| l.contains("OK")),
            "{h}:\n{screen}"
        );
    }
    tty.keys(&["X", "r"]);
    tty.wait_for("prod back", Duration::from_secs(20), |s| {
        host_line(s, "prod").is_some_and(|l| l.contains("OK"))
    });
    tty.keys(&["q"]);
    terminal_is_sane(&tty);
}

#[test]
fn sigterm_and_sighup_give_the_terminal_back() {
    for signal in ["TERM", "HUP"] {
        let state_home = tempfile::tempdir().unwrap();
        let command = format!(
            "XDG_STATE_HOME={} {} demo",
            state_home.path().display(),
            env!("CARGO_BIN_EXE_vigie")
        );
        let tty = Tty::start(&format!("sig{signal}"), 100, 30, &command);
        tty.wait_for("the demo's overview", Duration::from_secs(30), |s| {
            host_line(s, "prod").is_some()
        });
        tty.signal_children(signal);
        terminal_is_sane(&tty);
    }
}
