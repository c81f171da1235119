//! A DRP drill started from the real console in a real terminal (tmux) on the lab: the DRP
//! screen's start form (order reference, target host typed in full), the confirm step's
//! question, the live view reaching DONE, and the journal holding the run. A drill: production
//! and the DNS are not touched; the test's backups and the drill's scratch copy are removed
//! at the end.

mod common;

use common::lab::Lab;
use common::site::{activate_order_and_copy, write_config};
use common::tty::Tty;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where this test plants its backups on backup-a and backup-b (its own, never /var/backups).
const BACKUPS: &str = "/var/tmp/vigie-console-drp";
const ORDER: &str = "DRILL42";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `files` on backup-a (30 h old, even days) and backup-b (6 h old, odd days).
fn plant(lab: &Lab) {
    for (host, name, age) in [("backup-a", "files-a", 30), ("backup-b", "files-b", 6)] {
        let at = now() - age * 3600;
        lab.sh(
            host,
            &format!(
                "rm -rf {BACKUPS} && mkdir -p {BACKUPS}/files/{name} && \
                 echo 'page from {host}' > {BACKUPS}/files/{name}/index.html && \
                 find {BACKUPS}/files/{name} -exec touch -d @{at} {{}} +"
            ),
        );
    }
}

fn clean(lab: &Lab) {
    for h in ["backup-a", "backup-b"] {
        let _ = lab.try_sh(h, &format!("rm -rf {BACKUPS}"));
    }
    // The drill's scratch copy, its job records and its lock (a run stopped at its confirm
    // step keeps the lock: a failed test would leave it). Lab tests run one at a time (the
    // lab's lock), so no other run holds it now.
    let _ = lab.try_sh(
        "drp",
        "rm -rf /var/tmp/vigie-drill /var/lib/vigie/lock /root/.local/state/vigie/jobs/drp/2*",
    );
}

/// The lab's site with a dataset and a short `activate`: the order's confirmation, a copy.
fn config(lab: &Lab, dir: &Path) -> std::path::PathBuf {
    let extra = format!(
        r#"
[[datasets]]
name = "files"
max_loss = "48h"
[[datasets.copies]]
host = "backup-a"
path = "{BACKUPS}/files"
every = "24h"
days = "even"
pattern = "files-*"
[[datasets.copies]]
host = "backup-b"
path = "{BACKUPS}/files"
every = "24h"
days = "odd"
pattern = "files-*"

[drp]
production = "prod"
drp = "drp"
transfer_ssh = "ssh -F {lab}/transfer_ssh_config"


{activate}"#,
        lab = lab.dir().display(),
        activate = activate_order_and_copy("drp:/srv/www/"),
    );
    write_config(lab, dir, &extra)
}

/// Types `text` one key at a time (tmux would read some words as key names).
fn type_text(tty: &Tty, text: &str) {
    for c in text.chars() {
        tty.keys(&[&c.to_string()]);
    }
}

#[test]
fn a_drill_started_from_the_drp_screen_reaches_done_and_is_journaled() {
    let lab = Lab::require();
    clean(&lab);
    plant(&lab);
    let dir = tempfile::tempdir().unwrap();
    let config = config(&lab, dir.path());
    let state = dir.path().join("state");
    let command = format!(
        "XDG_STATE_HOME={} LAB_DIR={} {} --config {}",
        state.display(),
        lab.dir().display(),
        env!("CARGO_BIN_EXE_vigie"),
        config.display()
    );
    let tty = Tty::start("drp", 120, 32, &command);
    tty.wait_for("the overview", Duration::from_secs(20), |s| {
        s.contains("1 Overview")
    });
    tty.keys(&["4"]);
    // The plan can start once the console has read the backups (`newest:files`).
    tty.wait_for("the drill's start offered", Duration::from_secs(20), |s| {
        s.contains("s starts it here")
    });
    tty.keys(&["s"]);
    tty.wait_for("the start form", Duration::from_secs(5), |s| {
        s.contains("order reference of the customer:") && s.contains("TO drp (dc2)")
    });
    // Enter on nothing typed does nothing.
    tty.keys(&["Enter"]);
    type_text(&tty, ORDER);
    tty.keys(&["Enter"]);
    tty.wait_for("the host-name stage", Duration::from_secs(5), |s| {
        s.contains("type drp (the host this run makes the serving site)")
    });
    type_text(&tty, "prod");
    tty.keys(&["Enter"]);
    tty.wait_for("a wrong host refused", Duration::from_secs(5), |s| {
        s.contains("\"prod\" is not drp")
    });
    type_text(&tty, "drp");
    tty.keys(&["Enter"]);
    // The confirm step asks its question; the answer is journaled as its ack.
    tty.wait_for(
        "the confirm step's question",
        Duration::from_secs(30),
        |s| s.contains("A step needs an answer") && s.contains("order reference"),
    );
    type_text(&tty, ORDER);
    tty.keys(&["Enter"]);
    // (Stopped at the confirm step the view ends PENDING: wait for the run's real end.)
    let screen = tty.wait_for("the run ended", Duration::from_secs(40), |s| {
        s.lines()
            .any(|l| l.starts_with(" DONE ") || l.starts_with(" FAILED "))
    });
    assert!(
        screen.contains("ACTIVATE · DRILL · order DRILL42"),
        "{screen}"
    );
    assert!(
        screen.lines().any(|l| l.starts_with(" DONE ")),
        "the run ends DONE:\n{screen}"
    );
    assert!(screen.contains("✔  2 copy"), "{screen}");
    tty.keys(&["q"]);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("--config")
        .arg(&config)
        .args(["journal", "--export", "json"])
        .env("XDG_STATE_HOME", &state)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    let events: Vec<Value> = serde_json::from_str(&text).unwrap();
    let started = events
        .iter()
        .find(|e| e["event"] == "run_started")
        .expect(&text);
    assert_eq!(started["order"], ORDER, "{text}");
    assert_eq!(started["mode"], "drill", "{text}");
    assert_eq!(started["confirm"], "drp", "{text}");
    let ended = events
        .iter()
        .rfind(|e| e["event"] == "run_ended")
        .expect(&text);
    assert_eq!(ended["state"], "DONE", "{text}");
    assert!(text.contains(ORDER), "{text}");
    // A drill copies to a scratch place on drp, never to /srv/www.
    assert_eq!(
        lab.try_sh("drp", "test -e /srv/www/index.html")
            .status
            .code(),
        Some(1)
    );
    clean(&lab);
}

/// Where the stop test's steps leave their marks on drp (never under /srv).
const MARKS: &str = "/var/tmp/vigie-console-stop";

/// The lab's site with an `activate` of three steps: the order, a slow command on drp (long
/// enough to press keys while it runs), and a command that must not start once a stop is
/// asked. Both commands leave a mark, to count what really ran.
fn stop_config(lab: &Lab, dir: &Path) -> std::path::PathBuf {
    let extra = format!(
        r#"
[drp]
production = "prod"
drp = "drp"

[[runbooks.activate.steps]]
kind = "confirm"
title = "Order of the customer received"
ask = "order reference"

[[runbooks.activate.steps]]
kind = "exec"
title = "Slow step on the DRP server"
host = "drp"
command = "mkdir -p {MARKS} && sleep 12 && echo two >> {MARKS}/steps"

[[runbooks.activate.steps]]
kind = "exec"
title = "The step after the stop"
host = "drp"
command = "echo three >> {MARKS}/steps"
"#
    );
    write_config(lab, dir, &extra)
}

fn clean_stop(lab: &Lab) {
    // Its marks, its job records and its lock (a stopped run keeps it: a failed test would
    // leave it). Lab tests run one at a time (the lab's lock): no other run holds it now.
    let _ = lab.try_sh(
        "drp",
        &format!("rm -rf {MARKS} /var/lib/vigie/lock /root/.local/state/vigie/jobs/drp/2*"),
    );
}

fn marks(lab: &Lab) -> String {
    lab.sh("drp", &format!("cat {MARKS}/steps 2>/dev/null; true"))
}

fn journal(config: &Path, state: &Path) -> Vec<Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
        .arg("--config")
        .arg(config)
        .args(["journal", "--export", "json"])
        .env("XDG_STATE_HOME", state)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The last event of step `n`.
fn step_event(events: &[Value], n: u64) -> Value {
    events
        .iter()
        .rfind(|e| e["event"] == "step" && e["step"] == n)
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn a_drill_stopped_after_its_running_step_is_resumed_with_c_to_the_end() {
    let lab = Lab::require();
    clean_stop(&lab);
    let dir = tempfile::tempdir().unwrap();
    let config = stop_config(&lab, dir.path());
    let state = dir.path().join("state");
    let command = format!(
        "XDG_STATE_HOME={} LAB_DIR={} {} --config {}",
        state.display(),
        lab.dir().display(),
        env!("CARGO_BIN_EXE_vigie"),
        config.display()
    );
    let tty = Tty::start("drpstop", 120, 32, &command);
    tty.wait_for("the overview", Duration::from_secs(20), |s| {
        s.contains("1 Overview")
    });
    tty.keys(&["4"]);
    tty.wait_for("the drill's start offered", Duration::from_secs(20), |s| {
        s.contains("s starts it here")
    });
    tty.keys(&["s"]);
    tty.wait_for("the start form", Duration::from_secs(5), |s| {
        s.contains("order reference of the customer:")
    });
    type_text(&tty, ORDER);
    tty.keys(&["Enter"]);
    tty.wait_for("the host-name stage", Duration::from_secs(5), |s| {
        s.contains("type drp (the host this run makes the serving site)")
    });
    type_text(&tty, "drp");
    tty.keys(&["Enter"]);
    tty.wait_for(
        "the confirm step's question",
        Duration::from_secs(30),
        |s| s.contains("A step needs an answer"),
    );
    type_text(&tty, ORDER);
    tty.keys(&["Enter"]);
    let running = |s: &str| {
        s.lines()
            .any(|l| l.contains("Slow step on the DRP server") && l.contains("RUNNING"))
    };
    tty.wait_for("step 2 running", Duration::from_secs(30), running);

    // q while the run is live asks first and says what quitting means; Esc keeps it all.
    tty.keys(&["q"]);
    tty.wait_for("the quit prompt", Duration::from_secs(5), |s| {
        s.contains("Quit while a DRP run is live") && s.contains("the journal shows the step")
    });
    tty.keys(&["Escape"]);
    tty.wait_for("the quit prompt closed", Duration::from_secs(5), |s| {
        !s.contains("Quit while a DRP run is live") && running(s)
    });

    // x: stop once step 2 has finished, confirmed by typing STOP.
    tty.keys(&["x"]);
    tty.wait_for("the stop dialog", Duration::from_secs(5), |s| {
        s.contains("Stop the run after this step") && s.contains("type STOP and Enter")
    });
    type_text(&tty, "STOP");
    tty.keys(&["Enter"]);
    let screen = tty.wait_for("the stop asked", Duration::from_secs(5), |s| {
        s.contains("STOP ASKED")
    });
    assert!(running(&screen), "the step is not interrupted:\n{screen}");
    assert_eq!(marks(&lab), "", "step 2 still runs when the stop is asked");
    let screen = tty.wait_for("the run stopped", Duration::from_secs(40), |s| {
        s.lines().any(|l| l.starts_with(" PENDING stopped by"))
    });
    assert!(
        screen.contains("stopped as asked: c (or vigie drp resume) goes on"),
        "{screen}"
    );
    // Step 2 ran to its end, step 3 never started.
    assert_eq!(marks(&lab).trim(), "two", "only step 2 ran");
    let events = journal(&config, &state);
    let text = serde_json::to_string_pretty(&events).unwrap();
    assert_eq!(step_event(&events, 2)["state"], "DONE", "{text}");
    let stopped = step_event(&events, 3);
    assert_eq!(stopped["state"], "PENDING", "{text}");
    let why = stopped["verification"].as_str().unwrap_or_default();
    assert!(
        why.starts_with("not started: stopped by ") && why.ends_with(" after step 2"),
        "{text}"
    );
    assert!(
        !events.iter().any(|e| e["event"] == "run_ended"),
        "the run is not ended: {text}"
    );
    // It keeps its lock, as at a confirm step.
    assert_eq!(
        lab.try_sh("drp", "test -d /var/lib/vigie/lock")
            .status
            .code(),
        Some(0),
        "the stopped run's lock"
    );

    // c: the resume form, the host typed in full, and the run goes on at step 3 to the end.
    tty.keys(&["c"]);
    tty.wait_for("the resume form", Duration::from_secs(10), |s| {
        s.contains("Resume the unfinished DRP run") && s.contains("It goes on at step 3")
    });
    type_text(&tty, "drp");
    tty.keys(&["Enter"]);
    let screen = tty.wait_for("the resumed run ended", Duration::from_secs(40), |s| {
        s.lines()
            .any(|l| l.starts_with(" DONE ") || l.starts_with(" FAILED "))
    });
    assert!(
        screen.lines().any(|l| l.starts_with(" DONE ")),
        "the resumed run ends DONE:\n{screen}"
    );
    assert_eq!(
        marks(&lab).lines().collect::<Vec<_>>(),
        ["two", "three"],
        "each step ran once"
    );
    let events = journal(&config, &state);
    let text = serde_json::to_string_pretty(&events).unwrap();
    assert_eq!(step_event(&events, 3)["state"], "DONE", "{text}");
    let ended = events
        .iter()
        .rfind(|e| e["event"] == "run_ended")
        .expect(&text);
    assert_eq!(ended["state"], "DONE", "{text}");
    // No run is live any more: q quits at once.
    tty.keys(&["q"]);
    common::tty::terminal_is_sane(&tty);
    clean_stop(&lab);
}
