use super::*;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Runs job.sh locally as the console runs it remotely (`/bin/sh -s`, LC_ALL=C, the
/// assignments then the script on stdin), with `home` as HOME, and reads its answer.
fn local(home: &Path, id: &JobId, op: &str, extra: &[(&str, String)]) -> Result<Reply, ReplyError> {
    let input = stdin("testhost", id, op, extra).expect("stdin");
    let mut child = Command::new("/bin/sh")
        .arg("-s")
        .env_clear()
        .env("HOME", home)
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C")
        .env("LANG", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("/bin/sh");
    let mut w = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || w.write_all(&input));
    let out = child.wait_with_output().expect("sh");
    writer.join().expect("writer").expect("write");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_reply(&out.stdout)
}

fn start_local(home: &Path, id: &JobId, script: &str) -> (Option<bool>, JobStatus) {
    let quoted = crate::probe::sh_quote(script).expect("no NUL");
    let r = local(
        home,
        id,
        "start",
        &[("J_SCRIPT", quoted), ("J_MAX", CHUNK.to_string())],
    )
    .expect("start");
    (r.new, r.status)
}

fn status_local(home: &Path, id: &JobId, from: u64) -> JobStatus {
    local(
        home,
        id,
        "status",
        &[("J_FROM", from.to_string()), ("J_MAX", CHUNK.to_string())],
    )
    .expect("status")
    .status
}

/// Polls until the job is no longer running (at most `within`).
fn wait_end(home: &Path, id: &JobId, within: Duration) -> JobStatus {
    let t = Instant::now();
    loop {
        let s = status_local(home, id, 0);
        if !matches!(s.state, JobState::Running { .. }) || t.elapsed() > within {
            return s;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn id(run: &str, step: u32) -> JobId {
    JobId::new(run, step, 1).expect("id")
}

#[test]
fn a_job_runs_detached_and_leaves_its_exit_status_and_output() {
    let home = tempfile::tempdir().unwrap();
    let job = id("r1", 3);
    let (new, s) = start_local(
        home.path(),
        &job,
        "echo 'it'\"'\"'s here'; sleep 0.3; echo done; exit 3",
    );
    assert_eq!(new, Some(true));
    assert!(matches!(s.state, JobState::Running { .. }), "{s:?}");
    assert!(
        s.dir
            .ends_with("/.local/state/vigie/jobs/testhost/r1/3-1-run"),
        "{}",
        s.dir
    );
    let s = wait_end(home.path(), &job, Duration::from_secs(5));
    assert_eq!(s.state, JobState::Exited { rc: 3 });
    assert_eq!(s.state.summary(), "exit 3");
    assert_eq!(s.output.data, b"it's here\ndone\n");
    assert_eq!((s.output.from, s.output.len), (0, 15));
    // The exact script is kept beside the job, for the journal and the curious operator.
    let dir = home
        .path()
        .join(".local/state/vigie/jobs/testhost/r1/3-1-run");
    assert_eq!(
        std::fs::read_to_string(dir.join("command")).unwrap(),
        "echo 'it'\"'\"'s here'; sleep 0.3; echo done; exit 3"
    );
}

#[test]
fn starting_the_same_job_twice_runs_it_once() {
    let home = tempfile::tempdir().unwrap();
    let job = id("r2", 1);
    let count = home.path().join("count");
    let script = format!("echo x >>'{}'; sleep 0.3", count.display());
    let (first, _) = start_local(home.path(), &job, &script);
    let (second, s) = start_local(home.path(), &job, &script);
    assert_eq!((first, second), (Some(true), Some(false)));
    assert!(!matches!(s.state, JobState::NotStarted));
    wait_end(home.path(), &job, Duration::from_secs(5));
    let (third, s) = start_local(home.path(), &job, &script);
    assert_eq!(
        third,
        Some(false),
        "an ended job is not started again either"
    );
    assert_eq!(s.state, JobState::Exited { rc: 0 });
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "x\n");
    // Another attempt or phase is another job.
    let other = JobId::new("r2", 1, 2).unwrap();
    assert_eq!(start_local(home.path(), &other, &script).0, Some(true));
    wait_end(home.path(), &other, Duration::from_secs(5));
    assert_eq!(std::fs::read_to_string(&count).unwrap(), "x\nx\n");
}

#[test]
fn an_unknown_job_is_not_started() {
    let home = tempfile::tempdir().unwrap();
    let s = status_local(home.path(), &id("nope", 1), 0);
    assert_eq!(s.state, JobState::NotStarted);
    assert!(s.output.data.is_empty());
}

#[test]
fn a_job_killed_with_its_wrapper_has_vanished() {
    let home = tempfile::tempdir().unwrap();
    let job = id("r3", 1);
    let (_, s) = start_local(home.path(), &job, "sleep 30");
    let JobState::Running { pid, .. } = s.state else {
        panic!("{s:?}")
    };
    // SIGKILL to the whole process group: the wrapper cannot write any status.
    let pgid = i32::try_from(pid).unwrap();
    assert_eq!(unsafe { libc::kill(-pgid, libc::SIGKILL) }, 0);
    let s = wait_end(home.path(), &job, Duration::from_secs(5));
    let JobState::Vanished { why } = &s.state else {
        panic!("{s:?}")
    };
    assert!(why.contains("without an exit status"), "{why}");
    assert!(s.state.is_finished());
}

#[test]
fn a_job_whose_command_is_killed_reports_the_signal() {
    let home = tempfile::tempdir().unwrap();
    let job = id("r4", 1);
    let (_, s) = start_local(home.path(), &job, "sleep 30 & echo $! >sleeper; wait");
    assert!(matches!(s.state, JobState::Running { .. }));
    // Cancel: SIGTERM to the process group; the wrapper survives it and records 128+15.
    let r = local(home.path(), &job, "cancel", &[]).expect("cancel");
    assert_eq!(r.status.state, JobState::Exited { rc: 143 });
    assert_eq!(r.status.state.summary(), "killed by signal 15 (exit 143)");
    // Cancelling an ended job changes nothing.
    let r = local(home.path(), &job, "cancel", &[]).expect("cancel");
    assert_eq!(r.status.state, JobState::Exited { rc: 143 });
}

#[test]
fn a_job_that_traps_the_cancel_keeps_its_own_status() {
    let home = tempfile::tempdir().unwrap();
    let job = id("r5", 1);
    start_local(
        home.path(),
        &job,
        "trap 'echo stopping; exit 9' TERM; sleep 30 & wait",
    );
    std::thread::sleep(Duration::from_millis(200));
    let r = local(home.path(), &job, "cancel", &[("J_MAX", CHUNK.to_string())]).expect("cancel");
    assert_eq!(r.status.state, JobState::Exited { rc: 9 });
    assert_eq!(r.status.output.data, b"stopping\n");
}

#[test]
fn the_tail_returns_what_follows_the_offset_and_nothing_before() {
    let home = tempfile::tempdir().unwrap();
    let job = id("r6", 1);
    start_local(
        home.path(),
        &job,
        "printf 'one\\ntwo\\n'; sleep 0.4; printf 'three\\n'",
    );
    std::thread::sleep(Duration::from_millis(200));
    let first = status_local(home.path(), &job, 0);
    assert_eq!(first.output.data, b"one\ntwo\n");
    let n = first.output.next_offset();
    assert_eq!(n, 8);
    let s = wait_end(home.path(), &job, Duration::from_secs(5));
    assert_eq!(s.output.len, 14);
    let next = status_local(home.path(), &job, n);
    assert_eq!(
        (next.output.from, next.output.data.as_slice()),
        (8, &b"three\n"[..])
    );
    // Past the end: nothing, never an error.
    let past = status_local(home.path(), &job, 1000);
    assert_eq!((past.output.from, past.output.data.len()), (14, 0));
    // The last bytes only (the latest progress record of a long copy).
    let last = local(home.path(), &job, "status", &[("J_LAST", "6".into())]).expect("tail");
    assert_eq!(
        (last.status.output.from, last.status.output.data.as_slice()),
        (8, &b"three\n"[..])
    );
}

#[test]
fn the_output_read_is_bounded() {
    let home = tempfile::tempdir().unwrap();
    let job = id("r7", 1);
    start_local(home.path(), &job, "head -c 200000 /dev/zero | tr '\\0' x");
    let s = wait_end(home.path(), &job, Duration::from_secs(5));
    assert_eq!(s.output.len, 200_000);
    assert_eq!(s.output.data.len() as u64, CHUNK);
    assert!(s.output.behind());
    let next = status_local(home.path(), &job, s.output.next_offset());
    assert_eq!(next.output.from, CHUNK);
}

#[test]
fn ids_name_one_directory_and_nothing_else() {
    for bad in ["", ".", "..", "a/b", "a b", "x\ny", "é", "$(id)", "'"] {
        assert!(JobId::new(bad, 1, 1).is_err(), "{bad:?}");
    }
    let ok = JobId::new("20240612T030102-activate", 4, 2).unwrap();
    assert_eq!(
        ok.rel_dir("drp").unwrap(),
        "drp/20240612T030102-activate/4-2-run"
    );
    assert_eq!(
        ok.with_phase("verify")
            .unwrap()
            .rel_dir("backup-a")
            .unwrap(),
        "backup-a/20240612T030102-activate/4-2-verify"
    );
    for bad in ["", "Run", "a-b", "x/y"] {
        assert!(ok.with_phase(bad).is_err(), "{bad:?}");
    }
    for bad in ["", "..", "a/b", "a b", "x\ny"] {
        assert!(ok.rel_dir(bad).is_err(), "{bad:?}");
    }
    // The script is one quoted word, whatever it holds; a NUL cannot travel.
    let input =
        String::from_utf8(stdin("drp", &ok, "start", &[("J_SCRIPT", "'a'\\''b'".into())]).unwrap())
            .unwrap();
    assert!(
        input.starts_with("J_OP='start'\nJ_REL='drp/20240612T030102-activate/4-2-run'\n"),
        "{input}"
    );
}

#[test]
fn the_output_cannot_forge_the_answer() {
    let reply =
        b"vigie-job 1\ndir /root/.local/state/vigie/jobs/drp/r/1-1-run\nstarted 100\nnow 160\n\
state running\npid 4242\nlen 40\nfrom 0\ndata\nstate exited\nrc 0\nerror boom\n";
    let r = parse_reply(reply).unwrap();
    assert_eq!(
        r.status.state,
        JobState::Running {
            pid: 4242,
            elapsed: Duration::from_secs(60)
        }
    );
    assert_eq!(r.status.state.summary(), "running for 1 min 0 s");
    assert_eq!(r.status.output.data, b"state exited\nrc 0\nerror boom\n");
    assert_eq!(r.status.started, Some(100));
}

#[test]
fn answers_that_are_not_job_sh_are_refused_with_a_reason() {
    assert!(matches!(parse_reply(b""), Err(ReplyError::Shape(_))));
    assert!(matches!(
        parse_reply(b"Welcome!\n"),
        Err(ReplyError::Shape(_))
    ));
    assert_eq!(
        parse_reply(b"vigie-job 1\nerror HOME is not set: nowhere to keep the job\n"),
        Err(ReplyError::Remote(
            "HOME is not set: nowhere to keep the job".into()
        ))
    );
    assert!(matches!(
        parse_reply(b"vigie-job 1\ndir /x\nstate exited\nrc zero\ndata\n"),
        Err(ReplyError::Shape(_))
    ));
    assert!(matches!(
        parse_reply(b"vigie-job 1\ndir /x\nstate running\n"),
        Err(ReplyError::Shape(_))
    ));
    let r = parse_reply(
        b"vigie-job 1\ndir /x\nstate vanished\nwhy \x1b[31mgone\nlen 0\nfrom 0\ndata\n",
    )
    .unwrap();
    assert_eq!(
        r.status.state,
        JobState::Vanished {
            why: "\u{FFFD}[31mgone".into()
        }
    );
}

#[test]
fn lines_are_sanitised_and_a_cut_line_is_read_again() {
    let out = Output {
        from: 100,
        data: b"copied \x1b]0;owned\x07 a\r  1,234  45%\nhalf a li".to_vec(),
        len: 200,
    };
    let (lines, next) = out.lines();
    assert_eq!(lines, ["copied \u{FFFD}]0;owned\u{FFFD} a", "  1,234  45%"]);
    assert_eq!(next, 100 + 33);
    assert!(out.behind());
    let none = Output {
        from: 5,
        data: b"no end".to_vec(),
        len: 11,
    };
    assert_eq!(none.lines(), (Vec::<String>::new(), 5));
}

#[test]
fn spans_read_like_a_clock() {
    assert_eq!(span(Duration::from_secs(42)), "42 s");
    assert_eq!(span(Duration::from_secs(192)), "3 min 12 s");
    assert_eq!(span(Duration::from_secs(7500)), "2 h 05 min");
}

proptest::proptest! {
    #[test]
    fn parse_reply_never_panics(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
        let _ = parse_reply(&b);
        let mut framed = b"vigie-job 1\n".to_vec();
        framed.extend_from_slice(&b);
        let _ = parse_reply(&framed);
    }

    #[test]
    fn shaped_replies_never_panic(s in "vigie-job 1\n((dir|state|rc|pid|len|from|started|now|why|new) [a-z0-9 -]{0,12}\n){0,8}(data\n)?[a-z\n]{0,20}") {
        let _ = parse_reply(s.as_bytes());
    }

    #[test]
    fn output_lines_never_panic(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), from in 0u64..1000) {
        let out = Output { from, len: from + b.len() as u64, data: b };
        let (_, next) = out.lines();
        proptest::prop_assert!(next >= from && next <= out.next_offset());
    }
}
