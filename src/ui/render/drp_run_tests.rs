//! The start form at each stage and the live run (mid-copy, ended), at 120×30 and 80×24, on
//! the example site of `fixtures` (config.example.toml at 23:14 in Paris).

use crate::drp::engine::RunUpdate;
use crate::drp::journal::StepState;
use crate::drp::model::Mode;
use crate::ui::drp_run::LiveRun;
use crate::ui::render::fixtures::{now, press, screen, site};
use crate::ui::state::{ConsoleState, Screen};
use crossterm::event::KeyCode;
use std::time::Duration;

fn on_drp(mode: Mode) -> ConsoleState {
    let mut st = site();
    st.screen = Screen::Drp;
    st.drp.mode = mode;
    st
}

fn typed(st: &mut ConsoleState, text: &str) {
    for c in text.chars() {
        press(st, KeyCode::Char(c));
    }
}

/// Every screen size the tests draw.
const SIZES: [(u16, u16); 2] = [(120, 30), (80, 24)];

#[test]
fn start_form_each_stage() {
    let mut st = on_drp(Mode::Emergency);
    press(&mut st, KeyCode::Char('s'));
    for (w, h) in SIZES {
        let text = screen(&st, w, h);
        insta::assert_snapshot!(format!("drp_start_order_{w}x{h}"), text);
        // What starting means, before anything is asked.
        assert!(
            text.contains("Start the activate runbook in EMERGENCY mode"),
            "{text}"
        );
        assert!(text.contains("TO drp (dc2)"), "{text}");
        assert!(text.contains("data-loss window: 52 min"), "{text}");
        assert!(text.contains("order reference of the customer:"), "{text}");
    }
    typed(&mut st, "REF-3");
    press(&mut st, KeyCode::Enter);
    let text = screen(&st, 120, 30);
    insta::assert_snapshot!("drp_start_reason_120x30", text);
    assert!(
        text.contains("why an emergency run while production answers"),
        "{text}"
    );
    typed(&mut st, "disks failing on prod");
    press(&mut st, KeyCode::Enter);
    typed(&mut st, "prod");
    press(&mut st, KeyCode::Enter);
    for (w, h) in SIZES {
        let text = screen(&st, w, h);
        insta::assert_snapshot!(format!("drp_start_host_wrong_{w}x{h}"), text);
        assert!(
            text.contains("type drp (the host this run makes the serving"),
            "{text}"
        );
        assert!(text.contains("\"prod\" is not drp"), "{text}");
        assert!(text.contains("order: REF-3"), "{text}");
    }
}

/// A drill of `activate` in the middle of its copy: step 1 done, 2 copying, 3-4 pending.
fn mid_copy() -> ConsoleState {
    let mut st = on_drp(Mode::Drill);
    st.now = now();
    st.drp.run = Some(LiveRun::new(
        "activate",
        Mode::Drill,
        Some("REF-3".into()),
        "alice@jump1",
    ));
    let plan = crate::ui::render::plan_for(&st).unwrap();
    st.on_run_update(RunUpdate::Planned(Box::new(plan.clone())));
    let guard = |check: &str, text: String| RunUpdate::Guard {
        check: check.into(),
        ok: true,
        text,
    };
    st.on_run_update(guard(
        "direction",
        crate::drp::engine::guards::direction_text(&plan),
    ));
    st.on_run_update(guard(
        "loss_window",
        crate::drp::engine::guards::loss_text(&plan),
    ));
    st.on_run_update(guard(
        "lock",
        "lock taken on drp (/var/lib/vigie/drp.lock), nonce 7f3a9c21e0".into(),
    ));
    let first = plan.steps.first().map_or(1, |s| s.number);
    let second = plan.steps.get(1).map_or(2, |s| s.number);
    st.now = now() - jiff::SignedDuration::from_secs(2480);
    st.on_run_update(RunUpdate::StepStarted {
        n: first,
        kind: plan.steps[0].step.word().into(),
        title: plan.steps[0].title.clone(),
    });
    st.now = now() - jiff::SignedDuration::from_secs(2468);
    st.on_run_update(RunUpdate::StepEnded {
        n: first,
        state: StepState::Done,
        summary: "12 431 files, 0 deletions".into(),
    });
    st.on_run_update(RunUpdate::StepStarted {
        n: second,
        kind: plan.steps[1].step.word().into(),
        title: plan.steps[1].title.clone(),
    });
    st.on_run_update(RunUpdate::Progress {
        n: second,
        fraction: Some(0.62),
        rate: Some(82.0 * 1024.0 * 1024.0),
        eta: Some(Duration::from_secs(192)),
        summary: "111.6 GiB of 180 GiB, 3 deletions".into(),
    });
    st.on_run_update(RunUpdate::Log {
        n: second,
        lines: vec![
            "files-20261128.tar.gz: 62% 82MB/s".into(),
            "srv/www/index.php".into(),
        ],
    });
    st.now = now();
    st
}

#[test]
fn live_run_mid_copy() {
    let st = mid_copy();
    for (w, h) in SIZES {
        let text = screen(&st, w, h);
        insta::assert_snapshot!(format!("drp_run_mid_copy_{w}x{h}"), text);
        // What an operator checks: who, by whose order, the lock, the direction, where the
        // run is (states as words), how far the copy is and how long it still takes.
        assert!(
            text.contains("ACTIVATE · DRILL · order REF-3 · alice@jump1"),
            "{text}"
        );
        assert!(text.contains("──▶ TO drp (dc2)"), "{text}");
        assert!(text.contains("DONE"), "{text}");
        assert!(text.contains("RUNNING"), "{text}");
        assert!(text.contains("62 %  82.0 MiB/s  ETA 3m12s"), "{text}");
        assert!(text.contains("00:41:08"), "the copy's elapsed time: {text}");
        // The keys of a live run, and that it does not need this console (shortened to fit).
        assert!(
            text.contains("x stop after this step · q quit (asks)"),
            "{text}"
        );
        assert!(text.contains("if this console is lost"), "{text}");
    }
    let text = screen(&st, 120, 30);
    assert!(
        text.contains("lock held on drp (nonce 7f3a9c21…)"),
        "{text}"
    );
    assert!(text.contains("[2] srv/www/index.php"), "{text}");
}

#[test]
fn live_run_ended() {
    let mut st = mid_copy();
    let steps: Vec<usize> = st
        .drp
        .run
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .map(|s| s.n)
        .collect();
    for n in steps.iter().skip(1) {
        st.on_run_update(RunUpdate::StepEnded {
            n: *n,
            state: StepState::Done,
            summary: "done".into(),
        });
    }
    st.on_run_update(RunUpdate::Ended {
        state: StepState::Done,
        summary: "every step done or skipped".into(),
    });
    for (w, h) in SIZES {
        let text = screen(&st, w, h);
        insta::assert_snapshot!(format!("drp_run_done_{w}x{h}"), text);
        assert!(text.contains("DONE every step done or skipped"), "{text}");
        assert!(text.contains("done: check the service"), "{text}");
        assert!(text.contains("Esc closes this view"), "{text}");
    }
    // Esc on the ended run goes back to the plan.
    press(&mut st, KeyCode::Esc);
    assert!(st.drp.run.is_none());
    assert_eq!(st.screen, Screen::Drp);
}

#[test]
fn read_only_drp_screen_offers_nothing_to_start() {
    let mut st = on_drp(Mode::Drill);
    st.read_only = true;
    for (w, h) in SIZES {
        let text = screen(&st, w, h);
        assert!(!text.contains("s starts"), "{text}");
        assert!(!text.contains("vigie drp run"), "{text}");
    }
    let mut rw = on_drp(Mode::Drill);
    rw.read_only = false;
    assert!(screen(&rw, 80, 24).contains("s starts it here"));
}

#[test]
fn an_unfinished_run_is_offered_for_resume_with_its_host_typed() {
    use crate::drp::journal::{Journal, Operator, Run};
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::at(dir.path().join("journal.jsonl"));
    let mut st = on_drp(Mode::Drill);
    let plan = crate::ui::render::plan_for(&st).unwrap();
    let run = Run::new(
        &plan,
        "r1".into(),
        Operator {
            user: Some("alice".into()),
            jump_host: Some("jump1".into()),
            ..Default::default()
        },
        Some("REF-9".into()),
    );
    j.append(&run.started(&plan, now(), None)).unwrap();
    st.on_journal(Ok(j.read().unwrap()));
    for (w, h) in SIZES {
        let text = screen(&st, w, h);
        assert!(text.contains("run r1 is not finished"), "{text}");
        assert!(text.contains("c resumes it"), "{text}");
        assert!(!text.contains("s starts"), "one run at a time: {text}");
    }
    press(&mut st, KeyCode::Char('c'));
    for (w, h) in SIZES {
        let text = screen(&st, w, h);
        insta::assert_snapshot!(format!("drp_resume_form_{w}x{h}"), text);
        assert!(text.contains("Resume the unfinished DRP run"), "{text}");
        assert!(text.contains("and Enter to resume"), "{text}");
    }
    st.read_only = true;
    st.dialog = None;
    assert!(!screen(&st, 120, 30).contains("c resumes it"));
}

/// "Stop after this step" on the copy of `mid_copy`: the popup says what it means and asks
/// STOP typed; once confirmed the view says the stop is asked; the engine's stop ends the
/// view with how to go on.
#[test]
fn stop_after_this_step_asks_then_shows_the_stop() {
    use crate::ui::update::Effect;
    let mut st = mid_copy();
    let text = screen(&st, 80, 24);
    assert!(
        text.contains("x stop after this step · q quit (asks)"),
        "{text}"
    );
    assert_eq!(press(&mut st, KeyCode::Char('x')), Effect::None);
    for (w, h) in SIZES {
        let text = screen(&st, w, h);
        insta::assert_snapshot!(format!("drp_stop_dialog_{w}x{h}"), text);
        assert!(text.contains("Stop the run after this step"), "{text}");
        assert!(
            text.contains("type STOP and Enter to stop after this step"),
            "{text}"
        );
    }
    let body = st.dialog.as_ref().unwrap().body.join(" ");
    assert!(
        body.contains("stops once step 2 (copy: Copy files & configurations to the DRP server), RUNNING now, has finished"),
        "{body}"
    );
    assert!(body.contains("not interrupted"), "{body}");
    typed(&mut st, "STOP");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::StopAfterStep);
    assert!(st.dialog.is_none());
    for (w, h) in SIZES {
        let text = screen(&st, w, h);
        assert!(text.contains("STOP ASKED"), "{text}");
        assert!(!text.contains("x stop after this step"), "{text}");
    }
    insta::assert_snapshot!("drp_run_stop_asked_80x24", screen(&st, 80, 24));

    // The copy ends; the engine does not start step 3 and says why.
    st.on_run_update(RunUpdate::StepEnded {
        n: 2,
        state: StepState::Done,
        summary: "180 GiB, 3 deletions".into(),
    });
    st.on_run_update(RunUpdate::Ended {
        state: StepState::Pending,
        // As the engine says it (`engine_stop::stopped_summary`).
        summary: "stopped by alice@jump1 after step 2, as asked: step 3 was not started. The \
                  run is not ended and keeps its lock: c (or `vigie drp resume`) goes on at \
                  step 3"
            .into(),
    });
    for (w, h) in SIZES {
        let text = screen(&st, w, h);
        insta::assert_snapshot!(format!("drp_run_stopped_{w}x{h}"), text);
        assert!(
            text.contains("PENDING stopped by alice@jump1 after step 2"),
            "{text}"
        );
        assert!(
            text.contains("stopped as asked: c (or vigie drp resume) goes on at the next step"),
            "{text}"
        );
        assert!(text.contains("Esc closes this view"), "{text}");
    }
}

#[test]
fn quitting_during_a_live_run_asks_first() {
    let mut st = mid_copy();
    assert_eq!(
        press(&mut st, KeyCode::Char('q')),
        crate::ui::update::Effect::None
    );
    for (w, h) in SIZES {
        let text = screen(&st, w, h);
        insta::assert_snapshot!(format!("drp_quit_dialog_{w}x{h}"), text);
        assert!(text.contains("Quit while a DRP run is live"), "{text}");
        assert!(text.contains("type QUIT and Enter to quit"), "{text}");
        assert!(
            text.contains("Esc keeps the console and the run."),
            "{text}"
        );
    }
    let body = st.dialog.as_ref().unwrap().body.join(" ");
    for words in [
        "step 2 (copy: Copy files & configurations to the DRP server) is RUNNING",
        "goes on to its end on its host",
        "the journal shows the step RUNNING",
        "vigie drp resume",
        "Esc, then x",
    ] {
        assert!(body.contains(words), "{words}: {body}");
    }
}
