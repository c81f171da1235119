//! A DRP run live in this console: "stop after this step" (`x`) and the quit prompt (`q`,
//! Ctrl-C), both in the one confirmation popup, each saying what it means for the run before
//! the operator types the word. Pure: the event loop raises the run's stop signal or quits.

use crate::drp::journal::StepState;
use crate::probe::parse::clean;
use crate::ui::drp_run::LiveRun;
use crate::ui::state::{ConsoleState, Dialog, DialogAction};
use crate::ui::strings as s;

impl LiveRun {
    /// "step 2 (copy: Copy files & configurations…) is RUNNING", or where the run is when
    /// no step runs.
    fn where_now(&self) -> String {
        match self.current() {
            Some(st) => format!(
                "step {} ({}: {}) is RUNNING",
                st.n,
                clean(&st.kind, 20),
                clean(&st.title, 60)
            ),
            None if self.steps.iter().all(|s| s.state == StepState::Pending) => {
                s::RUN_AT_GUARDS.to_string()
            }
            None => s::RUN_BETWEEN_STEPS.to_string(),
        }
    }
}

/// The run started or resumed here, while it is live (the engine works on it in this
/// process).
pub fn live_run(state: &ConsoleState) -> Option<&LiveRun> {
    state.drp.run.as_ref().filter(|r| r.running())
}

/// `x` on the DRP screen: what stopping after the current step means, confirmed by typing
/// STOP; or why there is nothing to stop.
pub fn stop_dialog(state: &ConsoleState) -> Dialog {
    let info = |why: &str| Dialog {
        title: s::STOP_TITLE.into(),
        body: vec![why.to_string()],
        ticket: None,
        confirm_word: None,
        note: None,
        input: String::new(),
        error: None,
        scroll: 0,
        on_confirm: DialogAction::Info,
    };
    let Some(run) = live_run(state) else {
        return info(s::STOP_NOTHING_LIVE);
    };
    if run.stop_asked {
        return info(s::STOP_ALREADY);
    }
    let order = run
        .order
        .as_deref()
        .map(|o| format!(" (order {})", clean(o, 40)))
        .unwrap_or_default();
    let at = match run.current() {
        Some(st) => format!(
            "once step {} ({}: {}), RUNNING now, has finished",
            st.n,
            clean(&st.kind, 20),
            clean(&st.title, 60)
        ),
        None => "before its next step".into(),
    };
    Dialog {
        title: s::STOP_TITLE.into(),
        body: vec![
            format!(
                "The {} run in {} mode{order} stops {at}.",
                clean(&run.runbook, 40),
                run.mode.word().to_uppercase()
            ),
            s::STOP_NOT_INTERRUPTED.into(),
            s::STOP_JOURNAL.into(),
            s::STOP_RESUME.into(),
        ],
        ticket: None,
        confirm_word: Some(s::STOP_WORD.into()),
        note: None,
        input: String::new(),
        error: None,
        scroll: 0,
        on_confirm: DialogAction::StopAfterStep,
    }
}

/// `q` (or Ctrl-C) while a run is live here: what quitting means for the run, confirmed by
/// typing QUIT; Esc keeps the console. `None` without a live run (`q` quits at once).
pub fn quit_dialog(state: &ConsoleState) -> Option<Dialog> {
    let run = live_run(state)?;
    Some(Dialog {
        title: s::QUIT_TITLE.into(),
        body: vec![
            format!("A DRP run is live in this console: {}.", run.where_now()),
            s::QUIT_MEANS.into(),
            s::QUIT_RESUME.into(),
            s::QUIT_INSTEAD.into(),
        ],
        ticket: None,
        confirm_word: Some(s::QUIT_WORD.into()),
        note: Some(s::QUIT_KEEP.into()),
        input: String::new(),
        error: None,
        scroll: 0,
        on_confirm: DialogAction::Quit,
    })
}
