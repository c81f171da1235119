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

/// Types `text` one key at a time (tmux would read some words as key names).
fn type_text(tty: &Tty, text: &str) {
    for c in text.chars() {
        tty.keys(&[&c.to_string()]);
    }
}

/// The demo site's directory, made under `tmp` (the console's TMPDIR).
fn demo_dir(tmp: &std::path::Path) -> std::path::PathBuf {
    let dirs: Vec<_> = std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vigie-demo-"))
        })
        .collect();
    assert_eq!(
        dirs.len(),
        1,
        "one demo directory in {}: {dirs:?}",
        tmp.display()
    );
    dirs[0].clone()
}

#[test]
fn a_drill_started_from_the_demos_drp_screen_runs_in_its_sandboxes() {
    const ORDER: &str = "DEMO42";
    let state_home = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let command = format!(
        "XDG_STATE_HOME={} TMPDIR={} {} demo",
        state_home.path().display(),
        tmp.path().display(),
        env!("CARGO_BIN_EXE_vigie")
    );
    let tty = Tty::start("demo-drill", 120, 40, &command);
    tty.wait_for("the demo's overview", Duration::from_secs(30), |s| {
        host_line(s, "drp").is_some()
    });
    let demo = demo_dir(tmp.path());
    let drp = demo.join("hosts/drp");
    tty.keys(&["4"]);
    // The policy's runbooks, resolved: the drill's copy goes to a scratch place in drp's
    // sandbox, from the backup server holding the newest backup.
    let screen = tty.wait_for("the drill's start offered", Duration::from_secs(30), |s| {
        s.contains("s starts it here")
    });
    assert!(screen.contains("Runbook ▸activate  return"), "{screen}");
    assert!(screen.contains("Mode ▸DRILL"), "{screen}");
    assert!(
        screen.contains(&format!(
            "{}/var/tmp/vigie-drill/activate/2/",
            drp.display()
        )),
        "{screen}"
    );
    tty.keys(&["s"]);
    tty.wait_for("the start form", Duration::from_secs(5), |s| {
        s.contains("order reference of the customer:") && s.contains("TO drp (dc2)")
    });
    type_text(&tty, ORDER);
    tty.keys(&["Enter"]);
    tty.wait_for("the host-name stage", Duration::from_secs(5), |s| {
        s.contains("type drp")
    });
    type_text(&tty, "drp");
    tty.keys(&["Enter"]);
    tty.wait_for(
        "the confirm step's question",
        Duration::from_secs(30),
        |s| s.contains("A step needs an answer") && s.contains("order reference"),
    );
    // Stopped at the confirm step, the run holds the lock: in drp's sandbox.
    let lock = drp.join("var/lib/vigie/lock");
    let owner = std::fs::read_to_string(lock.join("owner"))
        .unwrap_or_else(|e| panic!("no lock in drp's sandbox ({e}):\n{}", tty.screen()));
    assert!(owner.starts_with("vigie-lock 1"), "{owner}");
    type_text(&tty, ORDER);
    tty.keys(&["Enter"]);
    let screen = tty.wait_for("the run ended", Duration::from_secs(60), |s| {
        s.lines()
            .any(|l| l.starts_with(" DONE ") || l.starts_with(" FAILED "))
    });
    assert!(
        screen.lines().any(|l| l.starts_with(" DONE ")),
        "the drill ends DONE:\n{screen}"
    );
    assert!(
        screen.contains("ACTIVATE · DRILL · order DEMO42"),
        "{screen}"
    );
    assert!(screen.contains("✔  2 copy"), "the copy is done:\n{screen}");
    assert!(screen.contains("ticket DEMO-1001 created"), "{screen}");
    // The copy landed in the scratch place, the lock is released, the journal is the demo's.
    let scratch: Vec<_> = std::fs::read_dir(drp.join("var/tmp/vigie-drill/activate/2"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        scratch.len() == 1 && scratch[0].starts_with("files-"),
        "{scratch:?}"
    );
    assert!(!lock.exists(), "the lock is released");
    let journal = std::fs::read_to_string(demo.join("state/journal.jsonl")).unwrap();
    let last = journal.lines().last().unwrap_or_default();
    assert!(
        last.contains("\"run_ended\"") && last.contains("\"DONE\""),
        "{last}"
    );
    tty.keys(&["q"]);
    terminal_is_sane(&tty);
    // Nothing in the operator's state directory, and the demo's directory is gone with it.
    assert!(
        !state_home.path().join("vigie/demo/journal.jsonl").exists(),
        "the demo wrote the operator's journal"
    );
    assert!(!demo.exists(), "{} is left behind", demo.display());
}
