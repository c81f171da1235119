//! Tests of the journal: append and read back, a line torn by a crash, lines of a newer
//! version, the current run, the active-site marker, the exports.

use super::*;
use crate::drp::plan::tests::{example_config, plan, ts};

fn operator() -> Operator {
    Operator {
        user: Some("root".into()),
        sudo_user: Some("alice".into()),
        ssh_client: Some("192.0.2.7 51514 22".into()),
        jump_host: Some("jump1".into()),
    }
}

/// A run of `runbook` in `mode`, its plan, and its run.
fn run(runbook: &str, mode: Mode) -> (Plan, Run) {
    let p = plan(&example_config(), runbook, mode);
    let r = Run::new(
        &p,
        "20261128T230000Z-7f3a".into(),
        operator(),
        Some("REF-3".into()),
    );
    (p, r)
}

/// The events of a run that completes its first `done` steps, then ends (`end`) or not.
fn events(runbook: &str, mode: Mode, done: usize, end: Option<StepState>) -> Vec<Event> {
    let (p, r) = run(runbook, mode);
    let mut out = vec![r.started(&p, ts("2026-11-28T23:00:00Z"), None)];
    for s in p.steps.iter().take(done) {
        let t0 = ts("2026-11-28T23:01:00Z");
        out.push(r.step(s, StepState::Running, t0));
        out.push(
            r.step(s, StepState::Done, ts("2026-11-28T23:02:00Z"))
                .started_at(t0)
                .exit_code(0),
        );
    }
    if let Some(state) = end {
        out.push(r.ended(state, ts("2026-11-29T01:00:00Z")));
    }
    out
}

#[test]
fn events_are_appended_as_lines_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::at(dir.path().join("site/journal.jsonl"));
    let written = events("activate", Mode::Planned, 2, None);
    for e in &written {
        j.append(e).unwrap();
    }
    let text = std::fs::read_to_string(j.path()).unwrap();
    assert_eq!(text.lines().count(), written.len());
    assert!(text.ends_with('\n'));
    let back = j.read().unwrap();
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    assert_eq!(back.events, written);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(j.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    // Each line stands on its own: who, which run, which step, where from and to.
    let line: Value = serde_json::from_str(text.lines().nth(4).unwrap()).unwrap();
    assert_eq!(line["run"], "20261128T230000Z-7f3a");
    assert_eq!(line["mode"], "planned");
    assert_eq!(line["order"], "REF-3");
    assert_eq!(line["operator"]["sudo_user"], "alice");
    assert_eq!(line["step"], 2);
    assert_eq!(line["kind"], "copy");
    assert_eq!(line["state"], "DONE");
    assert_eq!(
        line["source"],
        "backup-b:/var/backups/files/files-20261128.tar.gz"
    );
    assert_eq!(line["target"], "drp:/srv/www/");
    assert_eq!(line["started_at"], "2026-11-28T23:01:00Z");
    assert_eq!(line["plan_hash"].as_str().unwrap().len(), 64);
    // A missing journal is an empty one.
    assert_eq!(
        Journal::at(dir.path().join("none.jsonl")).read().unwrap(),
        Reading::default()
    );
}

#[test]
fn a_torn_last_line_is_skipped_and_never_glued_to_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::at(dir.path().join("journal.jsonl"));
    let e = events("activate", Mode::Planned, 1, None);
    j.append(&e[0]).unwrap();
    // A crash in the middle of the second line.
    let line = serde_json::to_string(&e[1]).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(j.path())
        .unwrap();
    f.write_all(&line.as_bytes()[..line.len() / 2]).unwrap();
    drop(f);
    let r = j.read().unwrap();
    assert_eq!(r.events, e[..1]);
    assert_eq!(r.warnings.len(), 1);
    assert!(
        r.warnings[0].contains("line 2: the last line is incomplete"),
        "{:?}",
        r.warnings
    );
    // The next append starts a line of its own: the torn one stays skipped, in the middle now.
    j.append(&e[2]).unwrap();
    let r = j.read().unwrap();
    assert_eq!(r.events, [e[0].clone(), e[2].clone()]);
    assert!(
        r.warnings[0].contains("line 2: not a journal event"),
        "{:?}",
        r.warnings
    );
}

#[test]
fn a_line_cut_just_before_its_newline_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::at(dir.path().join("journal.jsonl"));
    let e = events("activate", Mode::Planned, 1, None);
    std::fs::write(j.path(), serde_json::to_string(&e[0]).unwrap()).unwrap();
    let r = j.read().unwrap();
    assert_eq!((r.events.len(), r.warnings.len()), (1, 0));
    j.append(&e[1]).unwrap();
    assert_eq!(j.read().unwrap().events, e[..2]);
}

#[test]
fn lines_of_a_newer_version_are_kept_with_their_fields() {
    let e = &events("activate", Mode::Planned, 1, None)[1];
    let mut v = serde_json::to_value(e).unwrap();
    v["approval"] = serde_json::json!({"by": "bob", "at": "2026-11-28T23:00:30Z"});
    v["v"] = 2.into();
    let mut other = v.clone();
    other["event"] = "operator_note".into();
    let text = format!("{v}\n{other}\n");
    let r = parse(&text);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.events.len(), 2);
    assert_eq!(r.events[0].extra["approval"]["by"], "bob");
    assert_eq!(r.events[1].event, EventKind::Other);
    // Written back (the export) with them.
    let json: Value = serde_json::from_str(&export_json(&r.events)).unwrap();
    assert_eq!(json[0]["approval"]["by"], "bob");
}

#[test]
fn the_current_run_is_the_last_one_not_ended() {
    let ev = events("activate", Mode::Planned, 2, None);
    let cur = current_run(&ev).expect("a current run");
    assert_eq!(cur.run, "20261128T230000Z-7f3a");
    assert_eq!(cur.order.as_deref(), Some("REF-3"));
    let plan = cur.plan.as_ref().expect("the plan is journaled");
    assert_eq!(plan.hash(), cur.plan_hash);
    let states: Vec<(usize, StepState)> = cur.steps.iter().map(|s| (s.number, s.state)).collect();
    assert_eq!(
        states,
        [
            (1, StepState::Done),
            (2, StepState::Done),
            (3, StepState::Pending),
            (4, StepState::Pending),
            (5, StepState::Pending),
            (6, StepState::Pending),
            (7, StepState::Pending),
        ]
    );
    // A crash while step 3 ran: RUNNING, to re-check, never to re-run blindly.
    let (p, r) = run("activate", Mode::Planned);
    let mut crashed = ev.clone();
    crashed.push(r.step(
        p.step(3).unwrap(),
        StepState::Running,
        ts("2026-11-28T23:05:00Z"),
    ));
    let cur = current_run(&crashed).unwrap();
    assert_eq!(cur.steps[2].state, StepState::Running);
    assert!(cur.steps[2].last.is_some());
    // Ended: no current run; runs() still lists it.
    let ended = events("activate", Mode::Planned, 7, Some(StepState::Done));
    assert!(current_run(&ended).is_none());
    let all = runs(&ended);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].ended.map(|e| e.0), Some(StepState::Done));
}

#[test]
fn the_active_site_follows_completed_activations_and_returns_only() {
    assert_eq!(active_site(&[]), ActiveSite::Production);
    let mut ev = events("activate", Mode::Drill, 7, Some(StepState::Done));
    assert_eq!(
        active_site(&ev),
        ActiveSite::Production,
        "a drill moves nothing"
    );
    ev.extend(events(
        "activate",
        Mode::Emergency,
        3,
        Some(StepState::Failed),
    ));
    assert_eq!(
        active_site(&ev),
        ActiveSite::Production,
        "a failed activation moves nothing"
    );
    ev.extend(events(
        "activate",
        Mode::Emergency,
        7,
        Some(StepState::Done),
    ));
    assert_eq!(active_site(&ev), ActiveSite::Drp);
    ev.extend(events("return", Mode::Drill, 10, Some(StepState::Done)));
    assert_eq!(active_site(&ev), ActiveSite::Drp);
    ev.extend(events("return", Mode::Planned, 10, Some(StepState::Done)));
    assert_eq!(active_site(&ev), ActiveSite::Production);
    let marker: Value = serde_json::to_value(ev.last().unwrap()).unwrap();
    assert_eq!(marker["active_site"], "production");
}

#[test]
fn run_ids_sort_by_time() {
    let a = new_run_id(ts("2026-11-29T03:15:00Z"));
    let b = new_run_id(ts("2026-11-29T03:15:01Z"));
    assert!(a.starts_with("20261129T031500Z-") && a.len() == 21, "{a}");
    assert!(a[17..].chars().all(|c| c.is_ascii_hexdigit()), "{a}");
    assert!(a < b);
}

#[test]
fn the_csv_export_is_rfc_4180_and_spreadsheet_safe() {
    let (p, r) = run("activate", Mode::Planned);
    let evil = r
        .step(
            p.step(4).unwrap(),
            StepState::Failed,
            ts("2026-11-28T23:10:00Z"),
        )
        .exit_code(1)
        .verification("=HYPERLINK(\"http://x\",\"ok\")")
        .with("reason", "line one\nline \"two\", three")
        .with("ticket_id", 4242)
        .with("attempt", 2);
    let started = r.started(&p, ts("2026-11-28T23:00:00Z"), Some("@fire in dc1"));
    let csv = export_csv(&[started, evil]);
    let rows: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(rows.len(), 4, "{csv}");
    assert!(rows[0].starts_with("at,run,event,runbook,plan_hash,mode,user,"));
    assert!(rows[0].ends_with(",ticket_id,captured_at,dns_ttl,reason,acks,extra"));
    assert_eq!(rows[3], "");
    // The reason with a formula's first character is guarded; the plan is not in the CSV.
    assert!(rows[1].contains(",'@fire in dc1,"), "{}", rows[1]);
    assert!(!rows[1].contains("\"steps\""), "{}", rows[1]);
    // Quotes doubled, the cell quoted; a formula shown as text; extra fields as JSON.
    assert!(
        csv.contains(",\"'=HYPERLINK(\"\"http://x\"\",\"\"ok\"\")\","),
        "{csv}"
    );
    assert!(
        csv.contains(",4242,,,\"line one\nline \"\"two\"\", three\",,\"{\"\"attempt\"\":2}\"\r\n"),
        "{csv}"
    );
    assert!(
        csv.contains(",Restart the web server on the DRP server,drp,,,FAILED,,"),
        "{csv}"
    );
    assert_eq!(export::cell("-1"), "'-1");
    assert_eq!(export::cell("+33 1 23"), "'+33 1 23");
    assert_eq!(export::cell("plain"), "plain");
}

#[test]
fn the_json_export_is_an_array_of_the_events() {
    let ev = events("activate", Mode::Drill, 3, Some(StepState::Done));
    let json: Value = serde_json::from_str(&export_json(&ev)).unwrap();
    assert_eq!(json.as_array().unwrap().len(), ev.len());
    assert_eq!(json[0]["event"], "run_started");
    assert_eq!(json[0]["plan"]["runbook"], "activate");
    assert_eq!(export_json(&[]), "[]");
}

#[test]
fn for_site_is_under_the_state_directory() {
    if let Some(j) = Journal::for_site("1st KYC/../x") {
        let p = j.path().to_string_lossy().into_owned();
        assert!(p.ends_with("vigie/1st_KYC_.._x/journal.jsonl"), "{p}");
    }
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_text(text in "\\PC{0,200}") {
            let _ = parse(&text);
        }

        /// A crash can cut the file anywhere: every complete line is still read.
        #[test]
        fn any_truncation(fraction in 0.0f64..=1.0) {
            let ev = events("activate", Mode::Planned, 2, None);
            let full: String = ev
                .iter()
                .map(|e| serde_json::to_string(e).unwrap() + "\n")
                .collect();
            let cut = (full.len() as f64 * fraction) as usize;
            let text = String::from_utf8_lossy(&full.as_bytes()[..cut]);
            let r = parse(&text);
            // Complete: the whole JSON of the line is there (its newline may be missing).
            let complete = full
                .split_inclusive('\n')
                .scan(0, |end, line| {
                    *end += line.len();
                    Some(*end - 1)
                })
                .filter(|&json_end| json_end <= cut)
                .count();
            prop_assert_eq!(r.events.len(), complete);
            prop_assert_eq!(&r.events[..], &ev[..complete]);
        }
    }
}
