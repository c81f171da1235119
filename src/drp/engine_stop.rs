//! "Stop after this step": the operator asks a live run to stop once the step running now
//! has finished. The step itself is never interrupted (a detached job goes on to its end on
//! its host); the engine checks the request between steps only, journals who stopped the run
//! and where, and leaves the run unfinished and resumable (`c` in the console, `vigie drp
//! resume`). The request crosses from the console's key handler to the engine's task through
//! an atomic flag: no lock in the drawing path, nothing to wait on.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A request to stop a run between two steps, shared by whoever asks (the console) and the
/// engine running the steps. A fresh one per run or resume.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    pub fn new() -> StopSignal {
        StopSignal::default()
    }

    /// Ask the run to stop once its current step has finished. Asking twice is asking once.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Two handles are equal when they are the same signal.
impl PartialEq for StopSignal {
    fn eq(&self, other: &StopSignal) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StopSignal {}

/// The check made before step `next` (any step not already done or skipped): `None` goes
/// on; `Some(why)` stops there, `why` being what the journal records — "stopped by
/// alice@jump1 after step 2", or "before step N" when no step has finished yet. `last_done`
/// is the last step done or skipped before `next` (in this run or before a resume). Pure.
pub fn stop_before(
    requested: bool,
    by: &str,
    next: usize,
    last_done: Option<usize>,
) -> Option<String> {
    if !requested {
        return None;
    }
    Some(match last_done {
        Some(n) => format!("stopped by {by} after step {n}"),
        None => format!("stopped by {by} before step {next}"),
    })
}

/// What the operator reads when the run stopped as asked (the live view, `vigie drp run`'s
/// last line).
pub fn stopped_summary(why: &str, next: usize) -> String {
    format!(
        "{why}, as asked: step {next} was not started. The run is not ended and keeps its \
         lock: c (or `vigie drp resume`) goes on at step {next}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_stops_until_asked() {
        let s = StopSignal::new();
        assert_eq!(
            stop_before(s.is_requested(), "alice@jump1", 3, Some(2)),
            None
        );
        let seen_by_engine = s.clone();
        s.request();
        s.request();
        assert!(seen_by_engine.is_requested(), "one signal, two handles");
        assert_eq!(
            stop_before(seen_by_engine.is_requested(), "alice@jump1", 3, Some(2)).as_deref(),
            Some("stopped by alice@jump1 after step 2")
        );
        assert_ne!(s, StopSignal::new(), "each run has its own signal");
    }

    #[test]
    fn a_stop_asked_before_any_step_finished_says_so() {
        assert_eq!(
            stop_before(true, "bob@jump2", 1, None).as_deref(),
            Some("stopped by bob@jump2 before step 1")
        );
        // After a resume, the last step done before the resume counts.
        assert_eq!(
            stop_before(true, "bob@jump2", 5, Some(4)).as_deref(),
            Some("stopped by bob@jump2 after step 4")
        );
    }

    /// The real step loop on the example site's `activate`, without touching any host: a
    /// stop asked before the loop reaches a step that acts stops it there, journaled.
    #[tokio::test]
    async fn the_step_loop_stops_between_steps_and_journals_who_and_where() {
        use crate::drp::engine::{Engine, Outcome, RunUpdate, steps::Runner};
        use crate::drp::journal::{self, Journal, Operator, StepState};
        use crate::drp::model::Mode;
        use std::collections::BTreeMap;
        let config = crate::drp::plan::tests::example_config();
        let plan = crate::drp::plan::tests::plan(&config, "activate", Mode::Drill);
        let first = plan.steps[0].number;
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::at(dir.path().join("journal.jsonl"));
        let pool = crate::ssh::Pool::new(
            crate::collect::routes(&config),
            crate::collect::transport_options(&config, false),
        );
        let stop = StopSignal::new();
        let engine = Engine::new(Arc::new(config), Arc::new(pool), journal.clone())
            .stop_signal(stop.clone());
        let operator = engine.operator.describe();
        let run = journal::Run::new(&plan, "r1".into(), Operator::default(), None);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();

        // Step 1 done before (a resume), the stop asked: step 2 is not begun.
        stop.request();
        let mut prior = BTreeMap::new();
        prior.insert(first, (StepState::Done, None));
        let mut runner = Runner::new(&engine, plan.clone(), run, "n".into(), BTreeMap::new(), &tx);
        let out = runner.run_steps(prior).await;
        let why = format!("stopped by {operator} after step {first}");
        assert_eq!(
            out,
            Outcome::Failed {
                step: None,
                why: why.clone()
            }
        );
        // One event, no `run_ended`: the run is not ended, `resume` takes it up.
        let events = journal.read().unwrap().events;
        assert_eq!(events.len(), 1, "{events:?}");
        let e = &events[0];
        assert_eq!(e.step, Some(plan.steps[1].number));
        assert_eq!(e.state, StepState::Pending);
        assert_eq!(
            e.verification.as_deref(),
            Some(format!("not started: {why}").as_str())
        );
        assert!(e.extra.contains_key("stopped_by"));
        let mut last = None;
        while let Ok(u) = rx.try_recv() {
            assert!(
                !matches!(u, RunUpdate::StepStarted { .. }),
                "no step started: {u:?}"
            );
            last = Some(u);
        }
        match last {
            Some(RunUpdate::Ended { state, summary }) => {
                assert_eq!(state, StepState::Pending);
                assert!(summary.contains("c (or `vigie drp resume`) goes on at step 2"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_summary_says_how_to_go_on() {
        let s = stopped_summary("stopped by alice@jump1 after step 2", 3);
        assert!(s.contains("step 3 was not started"), "{s}");
        assert!(s.contains("vigie drp resume"), "{s}");
        assert!(s.contains("keeps its lock"), "{s}");
    }
}
