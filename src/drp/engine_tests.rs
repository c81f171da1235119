//! Unit tests of the engine's pure parts: the guards, on the policy's runbooks of
//! config.example.toml (production `prod` in dc1, DRP `drp` in dc2).

use super::guards::*;
use super::resume::plan_diff;
use crate::drp::model::{ActiveSite, Mode};
use crate::drp::plan::tests::{example_config, plan};
use proptest::prelude::*;

#[test]
fn the_typed_name_is_the_host_the_run_makes_serving() {
    let c = example_config();
    let activate = plan(&c, "activate", Mode::Emergency);
    let back = plan(&c, "return", Mode::Planned);
    assert_eq!(confirm_target(&activate), "drp");
    assert_eq!(confirm_target(&back), "prod");
    assert_eq!(check_confirm(&activate, "drp"), Ok(()));
    // No default, no prefix, no case folding, no trimming.
    for wrong in ["", "dr", "DRP", " drp", "drp ", "prod"] {
        let e = check_confirm(&activate, wrong).unwrap_err();
        assert!(e.contains("--confirm drp"), "{wrong:?}: {e}");
    }
    assert!(
        check_confirm(&back, "drp")
            .unwrap_err()
            .contains("is not \"prod\"")
    );
}

#[test]
fn an_order_reference_is_required() {
    assert!(check_order("").unwrap_err().contains("--order REF"));
    assert!(check_order("   ").is_err());
    assert!(check_order("ORD\u{1b}[2J").is_err());
    assert_eq!(check_order("  ORD-2026-118 ").unwrap(), "ORD-2026-118");
}

#[test]
fn planned_mode_needs_production_and_a_fence() {
    let fence = Some("touch /srv/www/MAINTENANCE");
    let ok = fence_decision(
        Mode::Planned,
        "prod",
        &ProductionAnswer::Answers,
        None,
        fence,
    );
    assert!(ok.unwrap().fence);
    let e = fence_decision(
        Mode::Planned,
        "prod",
        &ProductionAnswer::Answers,
        None,
        None,
    )
    .unwrap_err();
    assert!(e.contains("[drp] fence is not configured"), "{e}");
    let e = fence_decision(
        Mode::Planned,
        "prod",
        &ProductionAnswer::Silent("no answer from 10.77.1.11:22 within 3s".into()),
        None,
        fence,
    )
    .unwrap_err();
    assert!(
        e.contains("does not answer") && e.contains("--mode emergency"),
        "{e}"
    );
}

#[test]
fn emergency_while_production_answers_needs_a_reason_and_a_fence() {
    let fence = Some("touch /srv/www/MAINTENANCE");
    let answers = ProductionAnswer::Answers;
    let e = fence_decision(Mode::Emergency, "prod", &answers, None, fence).unwrap_err();
    assert!(e.contains("--reason TEXT"), "{e}");
    let e = fence_decision(Mode::Emergency, "prod", &answers, Some("  "), fence).unwrap_err();
    assert!(e.contains("--reason TEXT"), "{e}");
    let e = fence_decision(
        Mode::Emergency,
        "prod",
        &answers,
        Some("disk array lost"),
        None,
    )
    .unwrap_err();
    assert!(e.contains("[drp] fence"), "{e}");
    let d = fence_decision(
        Mode::Emergency,
        "prod",
        &answers,
        Some("disk array lost"),
        fence,
    )
    .unwrap();
    assert!(d.fence && d.note.contains("disk array lost"), "{d:?}");
    // Production down: on, unfenced, and said.
    let silent = ProductionAnswer::Silent("connection timed out".into());
    let d = fence_decision(Mode::Emergency, "prod", &silent, None, None).unwrap();
    assert!(!d.fence && d.note.contains("did not answer (connection timed out)"));
    // A drill touches neither.
    let d = fence_decision(Mode::Drill, "prod", &ProductionAnswer::NotAsked, None, None);
    assert!(!d.unwrap().fence);
}

#[test]
fn one_rule_puts_the_fence_in_every_plan_and_the_guard_requires_it() {
    use super::{add_fence, fences};
    let fence = Some("touch /srv/www/MAINTENANCE");
    let answers = [
        ProductionAnswer::Answers,
        ProductionAnswer::Silent("no answer within 3s".into()),
        ProductionAnswer::NotAsked,
    ];
    for mode in Mode::ALL {
        for answer in &answers {
            let wanted = fences(mode, answer);
            // Whenever the guard lets a run start, its decision is the rule's.
            if let Ok(d) = fence_decision(mode, "prod", answer, Some("disks lost"), fence) {
                assert_eq!(d.fence, wanted, "{mode:?} {answer:?}");
            }
            // And a fence the rule wants but the configuration lacks refuses the start.
            if wanted {
                assert!(
                    fence_decision(mode, "prod", answer, Some("disks lost"), None).is_err(),
                    "{mode:?} {answer:?}"
                );
            }
        }
    }
    // An emergency while production answers is shown and run fenced; silent, unfenced.
    assert!(fences(Mode::Emergency, &ProductionAnswer::Answers));
    assert!(!fences(Mode::Emergency, &answers[1]));
    assert!(fences(Mode::Planned, &ProductionAnswer::NotAsked));
    assert!(!fences(Mode::Drill, &ProductionAnswer::Answers));

    // config.example.toml configures `[drp] fence`.
    let c = example_config();
    let mut p = plan(&c, "activate", Mode::Emergency);
    let n = p.steps.len();
    assert!(add_fence(&c, &mut p, &ProductionAnswer::Answers));
    assert_eq!(p.steps.len(), n + 1);
    assert_eq!(p.steps[0].number, 0);
    let mut p = plan(&c, "activate", Mode::Emergency);
    assert!(!add_fence(&c, &mut p, &answers[1]));
    assert_eq!(p.steps.len(), n);
}

#[test]
fn return_needs_the_drp_marker() {
    let e = check_marker("return", Mode::Planned, ActiveSite::Production).unwrap_err();
    assert!(e.contains("marker says production"), "{e}");
    assert_eq!(
        check_marker("return", Mode::Planned, ActiveSite::Drp),
        Ok(())
    );
    assert_eq!(
        check_marker("return", Mode::Drill, ActiveSite::Production),
        Ok(())
    );
    assert_eq!(
        check_marker("activate", Mode::Emergency, ActiveSite::Production),
        Ok(())
    );
}

#[test]
fn direction_and_loss_window_are_said_before_confirming() {
    let c = example_config();
    let p = plan(&c, "activate", Mode::Emergency);
    assert_eq!(
        direction_text(&p),
        "FROM backup-b (dc2), backup-a (dc1) → TO drp (dc2)"
    );
    // userdb dumped at 22:08, resolved at 23:00.
    assert_eq!(
        loss_text(&p),
        "data-loss window: 52 min (userdb captured at 2026-11-28 23:08:00 CET on backup-a (dc1))"
    );
}

#[test]
fn a_copy_back_never_overwrites_newer_data() {
    let (src, dst) = ("drp:/srv/www/", "prod:/srv/www/");
    assert_eq!(
        check_not_newer(src, Some(1_764_370_000.5), dst, Some(1_764_360_000.0)),
        Ok(())
    );
    assert_eq!(check_not_newer(src, Some(1.0), dst, None), Ok(()));
    let e = check_not_newer(src, Some(1_764_370_000.0), dst, Some(1_764_370_060.25)).unwrap_err();
    assert!(
        e.contains("prod:/srv/www/ holds newer data")
            && e.contains("2025-11-28 22:47:40 UTC")
            && e.contains("2025-11-28 22:46:40 UTC"),
        "{e}"
    );
    let e = check_not_newer(src, None, dst, Some(1_764_370_000.0)).unwrap_err();
    assert!(e.contains("holds no file"), "{e}");
}

#[test]
fn the_newest_file_script_and_its_answer() {
    let s = String::from_utf8(newest_mtime_script("/srv/it's here/").unwrap()).unwrap();
    assert!(s.starts_with("P='/srv/it'\\''s here/'\n"), "{s}");
    assert!(newest_mtime_script("/a\0b").is_none());
    // As GNU find 4.9 prints %T@ on Debian 12.
    assert_eq!(
        parse_newest_mtime("vigie-mtime 1\nnewest 1764370060.2512345670\n"),
        Ok(Some(1_764_370_060.251_234_5))
    );
    assert_eq!(
        parse_newest_mtime("motd\nvigie-mtime 1\nnewest none\n"),
        Ok(None)
    );
    assert_eq!(parse_newest_mtime("vigie-mtime 1\nmissing\n"), Ok(None));
    assert!(parse_newest_mtime("").is_err());
    assert!(parse_newest_mtime("vigie-mtime 1\n").is_err());
    assert!(parse_newest_mtime("vigie-mtime 1\nnewest NaN\n").is_err());
}

#[test]
fn acks_are_step_number_and_text() {
    assert_eq!(parse_ack("1=ORD-2026-118"), Ok((1, "ORD-2026-118".into())));
    assert_eq!(
        parse_ack("3= call held with J. Doe "),
        Ok((3, "call held with J. Doe".into()))
    );
    assert!(parse_ack("1").unwrap_err().contains("N=TEXT"));
    assert!(parse_ack("x=1").is_err());
    assert!(parse_ack("2=").unwrap_err().contains("empty"));
    assert!(parse_ack("2=a\nb").is_err());
}

#[test]
fn a_changed_runbook_is_named_on_resume() {
    let c = example_config();
    let a = plan(&c, "activate", Mode::Emergency);
    let mut b = a.clone();
    assert_eq!(
        plan_diff(&a, &b),
        "the runbook resolves differently (hosts, datacenters or addresses changed)"
    );
    b.steps[1].title = "Copy everything".into();
    b.steps.pop();
    let d = plan_diff(&a, &b);
    assert!(
        d.starts_with("step 2 (Copy files & configurations to the DRP server) changed"),
        "{d}"
    );
    assert!(d.contains("is gone"), "{d}");
}

proptest! {
    #[test]
    fn the_guards_never_panic(s in any::<String>(), t in any::<String>()) {
        let _ = parse_newest_mtime(&s);
        let _ = parse_ack(&s);
        let _ = check_order(&s);
        let _ = check_not_newer(&s, s.parse().ok(), &t, t.parse().ok());
    }
}

/// A journal line that cannot be read is said before anything is resumed, never hidden: the
/// step it recorded reads as still running and is re-checked.
#[tokio::test]
async fn resume_says_which_journal_lines_it_could_not_read() {
    use crate::drp::engine::{Engine, RunUpdate};
    use crate::drp::journal::Journal;
    use std::sync::Arc;
    let config = example_config();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    std::fs::write(&path, "{\"v\":1,\"source\":\"a\",\"source\":\"b\"}\n").unwrap();
    let pool = crate::ssh::Pool::new(
        crate::collect::routes(&config),
        crate::collect::transport_options(&config, false),
    );
    let engine = Engine::new(Arc::new(config), Arc::new(pool), Journal::at(&path));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _ = engine.resume(Default::default(), tx).await;
    let mut said = Vec::new();
    while let Ok(u) = rx.try_recv() {
        if let RunUpdate::Guard { check, text, .. } = u {
            said.push(format!("{check}: {text}"));
        }
    }
    assert!(
        said.iter()
            .any(|s| s.starts_with("journal: 1 journal line(s) could not be read")),
        "{said:?}"
    );
}
