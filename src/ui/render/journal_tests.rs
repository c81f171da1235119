//! The Journal screen on journals written by `drp::journal` itself (in a temporary
//! directory): empty, two runs (a failed drill, a completed emergency activation that moved the
//! active site) with a line torn by a crash; selection, an unfinished run.

use super::super::fixtures::{at, press, screen, site};
use crate::drp::journal::{Event, Journal, Operator, Run, StepState};
use crate::drp::model::{Mode, Plan};
use crate::ui::state::{ConsoleState, Screen};
use crossterm::event::KeyCode;
use std::io::Write as _;

fn operator(user: &str) -> Operator {
    Operator {
        user: Some("root".into()),
        sudo_user: Some(user.into()),
        ssh_client: Some("192.0.2.7 51514 22".into()),
        jump_host: Some("jump1".into()),
    }
}

fn plan(mode: Mode) -> Plan {
    let c = crate::drp::plan::tests::example_config();
    crate::drp::plan::tests::plan(&c, "activate", mode)
}

/// The events of a run of `activate` in `mode` starting at `t0`: each step one minute, the
/// first `done` steps DONE (SKIPPED when the plan skips them), then `last` for the next one.
fn run_events(
    id: &str,
    mode: Mode,
    t0: &str,
    user: &str,
    done: usize,
    last: Option<(StepState, i64, &str)>,
    end: Option<StepState>,
) -> Vec<Event> {
    let p = plan(mode);
    let r = Run::new(&p, id.into(), operator(user), Some("REF-3".into()));
    let start = at(t0);
    let min = |k: i64| start + jiff::SignedDuration::from_mins(k);
    let mut out = vec![r.started(&p, start, None)];
    for (k, s) in p.steps.iter().enumerate() {
        let k = k as i64;
        let running = r.step(s, StepState::Running, min(k));
        let ended = |state| r.step(s, state, min(k + 1)).started_at(min(k));
        if (k as usize) < done {
            out.push(running);
            let e = match (&s.action, s.step.word()) {
                (crate::drp::model::Action::Skip { why }, _) => {
                    ended(StepState::Skipped).verification(why.clone())
                }
                (_, "confirm") => ended(StepState::Done).verification("typed: REF-3"),
                (_, "copy") => ended(StepState::Done)
                    .exit_code(0)
                    .verification("second dry-run: no change"),
                (_, "db_import") => ended(StepState::Done)
                    .exit_code(0)
                    .verification("1000 rows")
                    .with("captured_at", "2026-11-28T21:22:00Z"),
                (_, "ticket") => ended(StepState::Done).with("ticket_id", "T-4711"),
                (_, "dns") => ended(StepState::Done)
                    .verification("3 of 3 servers answer 203.0.113.12")
                    .with("dns_ttl", 60),
                _ => ended(StepState::Done)
                    .exit_code(0)
                    .verification("verify: exit 0"),
            };
            out.push(e);
        } else if let Some((state, code, why)) = last {
            out.push(running);
            out.push(ended(state).exit_code(code).verification(why));
            break;
        } else {
            break;
        }
    }
    if let Some(state) = end {
        out.push(r.ended(state, min(30)));
    }
    out
}

/// A failed drill yesterday, a completed emergency activation this evening, and a line torn
/// by a crash at the end; written and read back by `drp::journal`.
fn two_runs(st: &mut ConsoleState) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::at(dir.path().join("journal.jsonl"));
    let drill = run_events(
        "20261127T090000Z-1a2b",
        Mode::Drill,
        "2026-11-27T09:00:00Z",
        "bob",
        3,
        Some((
            StepState::Failed,
            7,
            "verify: exit 7 (curl: connection refused)",
        )),
        Some(StepState::Failed),
    );
    let emergency = run_events(
        "20261128T190000Z-7f3a",
        Mode::Emergency,
        "2026-11-28T19:00:00Z",
        "alice",
        7,
        None,
        Some(StepState::Done),
    );
    for e in drill.iter().chain(&emergency) {
        j.append(e).unwrap();
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(j.path())
        .unwrap();
    f.write_all(br#"{"v":1,"at":"2026-11-28T22:00:00Z","event":"step","run":"2026"#)
        .unwrap();
    drop(f);
    st.journal.path = Some(j.path().to_path_buf());
    st.on_journal(j.read().map_err(|e| e.to_string()));
    dir
}

fn journal_screen() -> ConsoleState {
    let mut st = site();
    st.screen = Screen::Journal;
    st
}

#[test]
fn empty_120x30_and_80x24() {
    let st = journal_screen();
    let text = screen(&st, 120, 30);
    insta::assert_snapshot!("journal_empty_120x30", text);
    assert!(text.contains("The journal is empty"), "{text}");
    insta::assert_snapshot!("journal_empty_80x24", screen(&st, 80, 24));
}

#[test]
fn two_runs_120x30_and_80x24() {
    let mut st = journal_screen();
    let _dir = two_runs(&mut st);
    // The temporary path would change every run: the snapshot shows a fixed one.
    st.journal.path = Some("/home/alice/.local/state/vigie/1stKYC/journal.jsonl".into());
    let text = screen(&st, 120, 30);
    insta::assert_snapshot!("journal_two_runs_120x30", text);
    // Newest first; the emergency moved the active site to the DRP.
    let newest = text.find("20:00").unwrap();
    let older = text.find("yesterday 10:00").unwrap();
    assert!(newest < older, "{text}");
    assert!(text.contains("active site: DRP"), "{text}");
    assert!(text.contains("→ DRP"), "{text}");
    assert!(text.contains("ticket T-4711"), "{text}");
    assert!(text.contains("data captured 22:22"), "{text}");
    assert!(
        text.contains("WARN journal line 27: the last line is incomplete"),
        "{text}"
    );
    assert!(text.contains("vigie journal --export csv"), "{text}");
    insta::assert_snapshot!("journal_two_runs_80x24", screen(&st, 80, 24));
}

#[test]
fn down_selects_the_older_run_and_its_failed_step() {
    let mut st = journal_screen();
    let _dir = two_runs(&mut st);
    press(&mut st, KeyCode::Down);
    assert_eq!(st.journal.selected, 1);
    let text = screen(&st, 120, 30);
    assert!(
        text.contains("Run 20261127T090000Z-1a2b · activate · drill"),
        "{text}"
    );
    assert!(
        text.contains("root@jump1 (sudo by bob) from 192.0.2.7"),
        "{text}"
    );
    let failed = text
        .lines()
        .find(|l| l.contains("FAILED") && l.contains("Restart the web server"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(failed.contains(" 7 "), "exit code: {failed}");
    assert!(failed.contains("curl: connection refused"), "{failed}");
    // A new reading keeps the same run selected.
    let reading = st.journal.reading.clone().unwrap();
    st.on_journal(reading);
    assert_eq!(st.journal.selected, 1);
}

#[test]
fn an_unfinished_run_says_it_may_be_running_or_interrupted() {
    let mut st = journal_screen();
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::at(dir.path().join("journal.jsonl"));
    for e in run_events(
        "20261128T220000Z-beef",
        Mode::Planned,
        "2026-11-28T22:00:00Z",
        "alice",
        2,
        None,
        None,
    ) {
        j.append(&e).unwrap();
    }
    st.on_journal(j.read().map_err(|e| e.to_string()));
    let text = screen(&st, 120, 30);
    assert!(text.contains("RUNNING"), "{text}");
    assert!(
        text.contains("running now, or interrupted (vigie drp status tells which)"),
        "{text}"
    );
    assert!(
        text.contains("PENDING"),
        "the steps not started yet: {text}"
    );
}

#[test]
fn a_run_stopped_between_two_steps_says_who_stopped_it() {
    let mut st = journal_screen();
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::at(dir.path().join("journal.jsonl"));
    let mut events = run_events(
        "20261128T220000Z-beef",
        Mode::Drill,
        "2026-11-28T22:00:00Z",
        "alice",
        2,
        None,
        None,
    );
    // As the engine journals "stop after this step" (`Runner::stopped`): the next step
    // PENDING, with who stopped the run and after which step.
    let p = plan(Mode::Drill);
    let r = Run::new(&p, "20261128T220000Z-beef".into(), operator("alice"), None);
    events.push(
        r.step(&p.steps[2], StepState::Pending, at("2026-11-28T22:03:00Z"))
            .verification("not started: stopped by alice@jump1 after step 2")
            .with("stopped_by", "alice@jump1"),
    );
    for e in &events {
        j.append(e).unwrap();
    }
    st.on_journal(j.read().map_err(|e| e.to_string()));
    let text = screen(&st, 120, 30);
    assert!(text.contains("STOPPED"), "{text}");
    assert!(
        text.contains("not ended: stopped by alice@jump1 between two steps"),
        "{text}"
    );
    // The step's result column (cut at 120 columns).
    assert!(
        text.contains("PENDING                   Import the user database         not started: stopped by alice@jump1"),
        "{text}"
    );
    // Resumed afterwards (a step RUNNING again): no longer said stopped.
    let resumed = r.step(&p.steps[2], StepState::Running, at("2026-11-28T22:10:00Z"));
    j.append(&resumed).unwrap();
    st.on_journal(j.read().map_err(|e| e.to_string()));
    let text = screen(&st, 120, 30);
    assert!(!text.contains("STOPPED"), "{text}");
    assert!(text.contains("RUNNING"), "{text}");
}

#[test]
fn an_unreadable_journal_says_why() {
    let mut st = journal_screen();
    st.on_journal(Err("Permission denied".into()));
    let text = screen(&st, 120, 30);
    assert!(text.contains("cannot read the journal /home/alice/.local/state/vigie/1stKYC/journal.jsonl: Permission denied"), "{text}");
}
