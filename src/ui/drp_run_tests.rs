//! The start form and the live run at the level of keys and updates: what each key does,
//! what reaches the engine (nothing before the host name is typed in full), what the run's
//! updates leave on the state. The example site of `render::fixtures` (config.example.toml).

use super::*;
use crate::drp::engine::RunUpdate;
use crate::ui::render::fixtures::{press, site};
use crate::ui::state::Screen;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn on_drp(mode: Mode) -> ConsoleState {
    let mut st = site();
    st.screen = Screen::Drp;
    st.drp.mode = mode;
    st
}

fn typed(st: &mut ConsoleState, text: &str) {
    for c in text.chars() {
        assert_eq!(press(st, KeyCode::Char(c)), Effect::None);
    }
}

fn form(st: &ConsoleState) -> StartForm {
    match st.dialog.as_ref().map(|d| &d.on_confirm) {
        Some(DialogAction::StartRun(f)) => (**f).clone(),
        other => panic!("no start form: {other:?}"),
    }
}

#[test]
fn a_drill_starts_only_after_the_order_and_the_host_typed_in_full() {
    let mut st = on_drp(Mode::Drill);
    assert_eq!(press(&mut st, KeyCode::Char('s')), Effect::None);
    let f = form(&st);
    assert_eq!(f.stage, Stage::Order);
    assert_eq!(f.target, "drp");
    assert!(!f.needs_reason, "a drill never asks a reason");
    let body = st.dialog.as_ref().unwrap().body.join("\n");
    assert!(
        body.contains("FROM backup-b (dc2), backup-a (dc1) → TO drp (dc2)"),
        "{body}"
    );
    assert!(body.contains("data-loss window: 52 min"), "{body}");

    // Enter on nothing typed does nothing (no default), nor on blanks.
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::None);
    typed(&mut st, "  ");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::None);
    assert_eq!(form(&st).stage, Stage::Order);
    press(&mut st, KeyCode::Backspace);
    press(&mut st, KeyCode::Backspace);

    typed(&mut st, "REF-3");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::None);
    let f = form(&st);
    assert_eq!((f.stage, f.order.as_str()), (Stage::Host, "REF-3"));
    assert_eq!(
        st.dialog.as_ref().unwrap().input,
        "",
        "each field starts empty"
    );

    // Not the host in full: refused by the form, nothing reaches the engine.
    for wrong in ["dr", "DRP", "drp ", "prod"] {
        typed(&mut st, wrong);
        assert_eq!(press(&mut st, KeyCode::Enter), Effect::None, "{wrong:?}");
        let d = st.dialog.as_ref().expect("the form stays open");
        assert!(
            d.error
                .as_deref()
                .unwrap_or("")
                .contains("type drp in full"),
            "{d:?}"
        );
        assert_eq!(d.input, "", "a wrong name is cleared");
    }
    assert!(st.drp.run.is_none());

    typed(&mut st, "drp");
    let effect = press(&mut st, KeyCode::Enter);
    let Effect::StartRun(req) = effect else {
        panic!("{effect:?}");
    };
    assert_eq!(req.runbook, "activate");
    assert_eq!(req.mode, Mode::Drill);
    assert_eq!(req.order, "REF-3");
    assert_eq!(req.confirm, "drp");
    assert_eq!(req.reason, None);
    assert!(st.dialog.is_none());
    assert!(st.drp.run.as_ref().is_some_and(LiveRun::running));
    // One run at a time: `s` again says so, and starts nothing.
    assert_eq!(press(&mut st, KeyCode::Char('s')), Effect::None);
    assert!(st.dialog.as_ref().unwrap().confirm_word.is_none());
}

#[test]
fn esc_cancels_the_form_at_any_stage() {
    let mut st = on_drp(Mode::Drill);
    press(&mut st, KeyCode::Char('s'));
    typed(&mut st, "REF-3");
    press(&mut st, KeyCode::Enter);
    typed(&mut st, "dr");
    assert_eq!(press(&mut st, KeyCode::Esc), Effect::None);
    assert!(st.dialog.is_none());
    assert!(st.drp.run.is_none());
    assert_eq!(st.screen, Screen::Drp, "Esc closes the form only");
    // Typing in the form never reaches the screen's keys (q, m, 1…).
    press(&mut st, KeyCode::Char('s'));
    typed(&mut st, "q1m");
    assert!(st.dialog.is_some());
    assert_eq!(st.drp.mode, Mode::Drill);
}

#[test]
fn an_emergency_while_production_answers_asks_a_reason() {
    let mut st = on_drp(Mode::Emergency);
    press(&mut st, KeyCode::Char('s'));
    assert!(form(&st).needs_reason);
    typed(&mut st, "REF-4");
    press(&mut st, KeyCode::Enter);
    assert_eq!(form(&st).stage, Stage::Reason);
    assert_eq!(
        press(&mut st, KeyCode::Enter),
        Effect::None,
        "no empty reason"
    );
    typed(&mut st, "prod answers but its disks fail");
    press(&mut st, KeyCode::Enter);
    assert_eq!(form(&st).stage, Stage::Host);
    typed(&mut st, "drp");
    let Effect::StartRun(req) = press(&mut st, KeyCode::Enter) else {
        panic!("no run");
    };
    assert_eq!(
        req.reason.as_deref(),
        Some("prod answers but its disks fail")
    );
}

#[test]
fn read_only_offers_no_start_nor_resume() {
    let mut st = on_drp(Mode::Drill);
    st.read_only = true;
    assert_eq!(press(&mut st, KeyCode::Char('s')), Effect::None);
    assert_eq!(press(&mut st, KeyCode::Char('c')), Effect::None);
    assert!(st.dialog.is_none());
    // Even through the actions themselves (the key table is the first lock).
    assert_eq!(
        crate::ui::update::apply(&mut st, crate::ui::keys::Action::StartRun),
        Effect::None
    );
    assert!(st.dialog.is_none());
    assert_eq!(
        crate::ui::update::apply(&mut st, crate::ui::keys::Action::ResumeRun),
        Effect::None
    );
    assert!(st.drp.run.is_none());
}

fn live(st: &mut ConsoleState) {
    st.drp.run = Some(LiveRun::new(
        "activate",
        Mode::Drill,
        Some("REF-3".into()),
        "alice@jump1",
    ));
}

#[test]
fn updates_fill_the_live_run_and_a_confirm_step_asks_its_answer() {
    let mut st = on_drp(Mode::Drill);
    live(&mut st);
    st.on_run_update(RunUpdate::StepStarted {
        n: 2,
        kind: "copy".into(),
        title: "Files".into(),
    });
    let progress = |f: f64| RunUpdate::Progress {
        n: 2,
        fraction: Some(f),
        rate: Some(1e6),
        eta: None,
        summary: "1 000 files".into(),
    };
    st.on_run_update(progress(0.5));
    st.on_run_update(progress(0.3));
    let step = &st.drp.run.as_ref().unwrap().steps[0];
    assert_eq!(step.fraction, Some(0.5), "progress never goes backwards");
    st.on_run_update(RunUpdate::Log {
        n: 2,
        lines: vec!["\x1b[31mred\x1b[0m line".into()],
    });
    let log = &st.drp.run.as_ref().unwrap().log;
    assert!(!log.back().unwrap().contains('\x1b'), "{log:?}");
    for i in 0..LOG_LINES + 10 {
        st.on_run_update(RunUpdate::Log {
            n: 2,
            lines: vec![format!("l{i}")],
        });
    }
    assert_eq!(
        st.drp.run.as_ref().unwrap().log.len(),
        LOG_LINES,
        "the log tail is bounded"
    );

    st.on_run_update(RunUpdate::NeedsAck {
        n: 4,
        ask: "Order of the customer received?".into(),
    });
    st.on_run_update(RunUpdate::Ended {
        state: StepState::Pending,
        summary: "stopped at step 4".into(),
    });
    assert!(matches!(
        st.dialog.as_ref().map(|d| &d.on_confirm),
        Some(DialogAction::Ack { n: 4 })
    ));
    assert_eq!(
        press(&mut st, KeyCode::Enter),
        Effect::None,
        "no empty answer"
    );
    typed(&mut st, "received by phone");
    let Effect::ResumeRun(acks) = press(&mut st, KeyCode::Enter) else {
        panic!("no resume");
    };
    assert_eq!(acks.get(&4).map(String::as_str), Some("received by phone"));
    assert!(st.drp.run.as_ref().is_some_and(LiveRun::running));
}

#[test]
fn an_unfinished_run_in_the_journal_is_resumed_with_c() {
    use crate::drp::journal::{Event, Journal};
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::at(dir.path().join("journal.jsonl"));
    let plan = crate::ui::render::plan_for(&on_drp(Mode::Drill)).unwrap();
    let run = crate::drp::journal::Run::new(
        &plan,
        "r1".into(),
        crate::drp::journal::Operator {
            user: Some("alice".into()),
            jump_host: Some("jump1".into()),
            ..Default::default()
        },
        Some("REF-9".into()),
    );
    let started: Event = run.started(&plan, crate::ui::render::fixtures::now(), None);
    j.append(&started).unwrap();
    let mut st = on_drp(Mode::Drill);
    st.on_journal(Ok(j.read().unwrap()));
    assert!(st.unfinished_run().is_some());
    // Starting another run is refused while it is not finished.
    press(&mut st, KeyCode::Char('s'));
    let d = st.dialog.take().unwrap();
    assert!(
        d.confirm_word.is_none() && d.body[0].contains("r1 is not finished"),
        "{d:?}"
    );
    // `c` alone sets nothing going: it says what resuming means and asks the host.
    assert_eq!(press(&mut st, KeyCode::Char('c')), Effect::None);
    let d = st.dialog.as_ref().expect("the resume form");
    let body = d.body.join("\n");
    assert!(
        body.contains("Run r1 (activate, DRILL, order REF-9"),
        "{body}"
    );
    assert!(body.contains("It goes on at step 1"), "{body}");
    assert_eq!(
        press(&mut st, KeyCode::Enter),
        Effect::None,
        "nothing typed"
    );
    typed(&mut st, "prod");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::None);
    assert!(st.dialog.as_ref().unwrap().error.is_some());
    assert!(st.drp.run.is_none());
    typed(&mut st, "drp");
    assert_eq!(
        press(&mut st, KeyCode::Enter),
        Effect::ResumeRun(BTreeMap::new())
    );
    assert!(st.dialog.is_none());
    let live = st.drp.run.as_ref().unwrap();
    assert!(live.resumed && live.order.as_deref() == Some("REF-9"));
}

fn ctrl_c(st: &mut ConsoleState) -> Effect {
    crate::ui::update::on_key(
        st,
        &KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
    )
}

fn a_step_running(st: &mut ConsoleState) {
    live(st);
    st.on_run_update(RunUpdate::StepStarted {
        n: 2,
        kind: "copy".into(),
        title: "Files".into(),
    });
}

#[test]
fn x_asks_then_stops_the_live_run_after_its_step() {
    let mut st = on_drp(Mode::Drill);
    // Nothing live: x says so and stops nothing.
    assert_eq!(press(&mut st, KeyCode::Char('x')), Effect::None);
    let d = st.dialog.take().expect("a word on why");
    assert!(
        d.confirm_word.is_none() && d.body[0].contains("nothing to stop"),
        "{d:?}"
    );

    a_step_running(&mut st);
    assert_eq!(press(&mut st, KeyCode::Char('x')), Effect::None);
    let d = st.dialog.as_ref().expect("the stop dialog");
    assert_eq!(d.on_confirm, DialogAction::StopAfterStep);
    assert_eq!(d.confirm_word.as_deref(), Some("STOP"));
    assert!(d.body[0].contains("once step 2 (copy: Files), RUNNING now, has finished"));
    // Enter alone, or another word, stops nothing.
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::None);
    typed(&mut st, "stop");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::None);
    assert!(st.dialog.as_ref().unwrap().error.is_some());
    assert!(!st.drp.run.as_ref().unwrap().stop_asked);
    typed(&mut st, "STOP");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::StopAfterStep);
    assert!(st.dialog.is_none());
    assert!(st.drp.run.as_ref().unwrap().stop_asked);
    assert!(st.drp.run.as_ref().unwrap().running(), "the step goes on");
    // Asked once is asked: x again only says so.
    press(&mut st, KeyCode::Char('x'));
    let d = st.dialog.take().unwrap();
    assert!(
        d.confirm_word.is_none() && d.body[0].contains("already asked"),
        "{d:?}"
    );

    // Esc cancels without asking anything.
    let mut st = on_drp(Mode::Drill);
    a_step_running(&mut st);
    press(&mut st, KeyCode::Char('x'));
    assert_eq!(press(&mut st, KeyCode::Esc), Effect::None);
    assert!(st.dialog.is_none() && !st.drp.run.as_ref().unwrap().stop_asked);
    // The run ended while the dialog was open: confirming stops nothing.
    press(&mut st, KeyCode::Char('x'));
    st.on_run_update(RunUpdate::Ended {
        state: StepState::Done,
        summary: "every step done".into(),
    });
    typed(&mut st, "STOP");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::None);

    // Not on the DRP screen, or read-only: x does nothing.
    let mut st = on_drp(Mode::Drill);
    a_step_running(&mut st);
    st.screen = crate::ui::state::Screen::Overview;
    assert_eq!(press(&mut st, KeyCode::Char('x')), Effect::None);
    assert!(st.dialog.is_none());
    st.screen = crate::ui::state::Screen::Drp;
    st.read_only = true;
    assert_eq!(press(&mut st, KeyCode::Char('x')), Effect::None);
    assert!(st.dialog.is_none());
    assert_eq!(
        crate::ui::update::apply(&mut st, crate::ui::keys::Action::StopAfterStep),
        Effect::None
    );
    assert!(st.dialog.is_none());
}

#[test]
fn an_answered_confirm_step_goes_on_with_a_new_stop() {
    let mut st = on_drp(Mode::Drill);
    a_step_running(&mut st);
    st.drp.run.as_mut().unwrap().stop_asked = true;
    st.on_run_update(RunUpdate::NeedsAck {
        n: 3,
        ask: "call held?".into(),
    });
    st.on_run_update(RunUpdate::Ended {
        state: StepState::Pending,
        summary: "stopped at step 3".into(),
    });
    typed(&mut st, "yes, 03:10");
    assert!(matches!(
        press(&mut st, KeyCode::Enter),
        Effect::ResumeRun(_)
    ));
    assert!(
        !st.drp.run.as_ref().unwrap().stop_asked,
        "a new engine, a new signal"
    );
}

#[test]
fn q_quits_at_once_without_a_live_run_and_asks_with_one() {
    let mut st = on_drp(Mode::Drill);
    assert_eq!(press(&mut st, KeyCode::Char('q')), Effect::Quit);
    assert_eq!(ctrl_c(&mut st), Effect::Quit);

    a_step_running(&mut st);
    for quit in [
        |st: &mut ConsoleState| press(st, KeyCode::Char('q')),
        ctrl_c,
    ] {
        assert_eq!(quit(&mut st), Effect::None);
        let d = st.dialog.as_ref().expect("the quit prompt");
        assert_eq!(d.on_confirm, DialogAction::Quit);
        assert!(
            d.body[0].contains("step 2 (copy: Files) is RUNNING"),
            "{d:?}"
        );
        // Esc (or Ctrl-C, like in every popup) keeps the console and the run.
        assert_eq!(press(&mut st, KeyCode::Esc), Effect::None);
        assert!(st.dialog.is_none());
        assert!(st.drp.run.as_ref().unwrap().running());
    }
    press(&mut st, KeyCode::Char('q'));
    assert_eq!(ctrl_c(&mut st), Effect::None);
    assert!(st.dialog.is_none());
    // Typing q in the prompt is typing, not quitting.
    press(&mut st, KeyCode::Char('q'));
    typed(&mut st, "q");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::None);
    assert!(st.dialog.is_some());
    typed(&mut st, "QUIT");
    assert_eq!(press(&mut st, KeyCode::Enter), Effect::Quit);

    // From the help too.
    let mut st = on_drp(Mode::Drill);
    a_step_running(&mut st);
    press(&mut st, KeyCode::Char('?'));
    assert!(st.help);
    assert_eq!(press(&mut st, KeyCode::Char('q')), Effect::None);
    assert!(!st.help);
    assert_eq!(
        st.dialog.as_ref().map(|d| &d.on_confirm),
        Some(&DialogAction::Quit)
    );
    // Once the run has ended (at a confirm step, or done), q quits at once again.
    st.dialog = None;
    st.on_run_update(RunUpdate::Ended {
        state: StepState::Done,
        summary: "every step done".into(),
    });
    assert_eq!(press(&mut st, KeyCode::Char('q')), Effect::Quit);
}

proptest::proptest! {
    /// Whatever the engine (or a host through it) sends, the state takes it and the view draws
    /// it: fractions stay in 0..=1 and never go backwards, texts are cleaned.
    #[test]
    fn any_update_is_taken_and_drawn(
        n in 0usize..12,
        f in proptest::num::f64::ANY,
        g in proptest::num::f64::ANY,
        rate in proptest::num::f64::ANY,
        text in ".{0,300}",
    ) {
        let mut st = on_drp(Mode::Drill);
        live(&mut st);
        st.on_run_update(RunUpdate::StepStarted { n, kind: text.clone(), title: text.clone() });
        for fr in [f, g] {
            st.on_run_update(RunUpdate::Progress {
                n,
                fraction: Some(fr),
                rate: Some(rate),
                eta: Some(std::time::Duration::from_secs(n as u64 * 1000)),
                summary: text.clone(),
            });
        }
        st.on_run_update(RunUpdate::Log { n, lines: vec![text.clone()] });
        st.on_run_update(RunUpdate::NeedsAck { n, ask: text.clone() });
        let step = st.drp.run.as_ref().unwrap().steps.iter().find(|s| s.n == n).cloned().unwrap();
        if let Some(x) = step.fraction {
            proptest::prop_assert!((0.0..=1.0).contains(&x));
        }
        proptest::prop_assert!(!step.summary.chars().any(char::is_control));
        crate::ui::render::fixtures::screen(&st, 80, 24);
        st.dialog = None;
        crate::ui::render::fixtures::screen(&st, 120, 30);
    }
}
