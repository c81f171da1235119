//! The real console in a real terminal (tmux) against the lab: it sees every host, follows a
//! fault, and gives the terminal back as it found it.

mod common;

use common::lab::{HOSTS, Lab};
use common::tty::{Tty, host_line, terminal_is_sane};
use std::time::Duration;

#[test]
fn the_console_sees_every_host_follows_a_fault_and_restores_the_terminal() {
    let lab = Lab::require();
    let command = format!(
        "{} --config {}",
        env!("CARGO_BIN_EXE_vigie"),
        lab.config_path().display()
    );
    let tty = Tty::start("lab", 120, 32, &command);
    let all_ok = |s: &str| {
        HOSTS
            .iter()
            .all(|h| host_line(s, h).is_some_and(|l| l.contains("OK")))
    };
    tty.wait_for("every host OK", Duration::from_secs(20), all_ok);

    {
        let _fill = lab.fill("prod", "/srv", 95);
        let screen = tty.wait_for("prod CRIT on /srv", Duration::from_secs(15), |s| {
            host_line(s, "prod").is_some_and(|l| l.contains("CRIT") && l.contains("/srv"))
        });
        // The top bar says the site is CRIT; the others stay OK.
        assert!(
            screen.lines().next().unwrap_or("").contains("CRIT"),
            "{screen}"
        );
        for h in ["bastion", "backup-a", "backup-b", "drp"] {
            assert!(
                host_line(&screen, h).is_some_and(|l| l.contains("OK")),
                "{h}:\n{screen}"
            );
        }
        // Open prod: the reason is on its Host screen.
        let row = screen
            .lines()
            .position(|l| host_line(l, "prod").is_some())
            .unwrap_or(0);
        let selected = screen.lines().position(|l| l.contains('▶')).unwrap_or(0);
        let moves = row as isize - selected as isize;
        for _ in 0..moves.unsigned_abs() {
            tty.keys(&[if moves > 0 { "j" } else { "k" }]);
        }
        tty.keys(&["Enter"]);
        tty.wait_for("prod's Host screen", Duration::from_secs(5), |s| {
            s.contains("partition./srv") && s.contains("production · dc1")
        });
        tty.keys(&["Escape"]);
    }
    // The fault cleared: prod comes back to OK by itself.
    tty.wait_for("prod OK again", Duration::from_secs(15), |s| {
        host_line(s, "prod").is_some_and(|l| l.contains("OK"))
    });
    tty.keys(&["q"]);
    terminal_is_sane(&tty);
}

#[test]
fn a_dead_host_shows_its_reading_growing_old_not_a_frozen_screen() {
    let lab = Lab::require();
    let command = format!(
        "{} --config {}",
        env!("CARGO_BIN_EXE_vigie"),
        lab.config_path().display()
    );
    let tty = Tty::start("lab-dead", 120, 32, &command);
    tty.wait_for("drp OK", Duration::from_secs(20), |s| {
        host_line(s, "drp").is_some_and(|l| l.contains("OK"))
    });
    let _frozen = lab.freeze("drp");
    let first = tty.wait_for("drp CRIT", Duration::from_secs(15), |s| {
        host_line(s, "drp").is_some_and(|l| l.contains("CRIT"))
    });
    let age = |s: &str| -> Option<u64> {
        let line = host_line(s, "drp")?;
        let i = line.find("s ago")?;
        line[..i].rsplit(' ').next()?.parse().ok()
    };
    let a0 = age(&first).unwrap_or(0);
    let later = tty.wait_for("drp's age growing", Duration::from_secs(10), |s| {
        age(s).is_some_and(|a| a >= a0 + 3)
    });
    // The rest of the site keeps refreshing meanwhile.
    for h in ["bastion", "prod", "backup-a", "backup-b"] {
        let line = host_line(&later, h).unwrap_or_default();
        assert!(
            line.contains("OK")
                && (line.contains(" 0s ago")
                    || line.contains(" 1s ago")
                    || line.contains(" 2s ago")),
            "{h}: {line}"
        );
    }
    tty.keys(&["q"]);
    terminal_is_sane(&tty);
}
