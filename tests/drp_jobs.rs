//! Detached remote jobs and the rsync copy step against the lab's real sshd, through Vigie's
//! own SSH pool (the bastion as jump): a job outlives the connection that started it, is never
//! started twice, reports a kill, a failure and a cancel, and its output is tailed from an
//! offset; a real copy from backup-a to drp over the lab's host-to-host transfer path
//! (`$LAB_DIR/transfer_ssh_config`) is previewed, run with progress and verified.

mod common;

use common::lab::Lab;
use std::time::{Duration, Instant};
use vigie::drp::copy::{self, CopySpec, Phase, Progress};
use vigie::drp::job::{self, JobId, JobState, JobStatus, Launch};
use vigie::drp::model::HostPath;
use vigie::ssh::Pool;

fn pool(lab: &Lab) -> Pool {
    let cfg = vigie::config::load(&lab.config_path()).expect("the lab configuration");
    Pool::new(
        vigie::collect::routes(&cfg),
        vigie::collect::transport_options(&cfg, false),
    )
}

/// A run id no other test (nor an earlier run of this one) uses.
fn run_id(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("test-{tag}-{}-{nanos}", std::process::id())
}

/// Removes, even when the test fails, what a test left on lab hosts: its jobs (under the
/// shared /root) and its files.
struct Cleanup<'a> {
    lab: &'a Lab,
    run: String,
    paths: Vec<(&'static str, String)>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        // Neither command line holds the run id itself, so pkill spares the shell running it;
        // the jobs root is removed only if nothing else is left in it.
        let run = not_itself(&self.run);
        let jobs = "/root/.local/state/vigie/jobs";
        let _ = self.lab.try_sh(
            "drp",
            &format!(
                "pkill -KILL -f -- '{run}'; rm -rf {jobs}/*/{run}; rmdir {jobs}/* {jobs} 2>/dev/null; true"
            ),
        );
        for (host, path) in &self.paths {
            let _ = self.lab.try_sh(host, &format!("rm -rf '{path}'"));
        }
    }
}

/// A `pgrep -f` pattern for `run` that the shell running pgrep does not match itself
/// ("[t]est-…" matches "test-…", not "[t]est-…").
fn not_itself(run: &str) -> String {
    format!("[{}]{}", &run[..1], &run[1..])
}

async fn wait_for(
    pool: &Pool,
    host: &str,
    id: &JobId,
    within: Duration,
    done: impl Fn(&JobState) -> bool,
) -> JobStatus {
    let t = Instant::now();
    loop {
        let s = job::status(pool, host, id, 0).await.expect("status");
        if done(&s.state) {
            return s;
        }
        assert!(
            t.elapsed() < within,
            "{id} on {host} still {:?} after {within:?}",
            s.state
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_survives_the_connection_that_started_it() {
    let lab = Lab::require();
    let run = run_id("survive");
    let marker = format!("/run/vigie-jobtest-{run}");
    let _clean = Cleanup {
        lab: &lab,
        run: run.clone(),
        paths: vec![("drp", marker.clone())],
    };
    let id = JobId::new(&run, 1, 1).unwrap();
    let sessions = lab.sshd_log_count("drp", "Accepted publickey");
    let first = pool(&lab);
    let (launch, s) = job::start(
        &first,
        "drp",
        &id,
        &format!("sleep 3; echo done >'{marker}'"),
    )
    .await
    .expect("start");
    assert_eq!(launch, Launch::Started);
    let JobState::Running { pid, .. } = s.state else {
        panic!("{s:?}")
    };
    // The session ends: every connection of the pool is closed.
    drop(first);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alive = lab.sh("drp", &format!("ps -o args= -p {pid} || true"));
    assert!(
        alive.contains("/wrapper"),
        "the job's wrapper {pid} died with the session: {alive:?}"
    );
    // A new connection (a new console) finds it running, then ended well.
    let second = pool(&lab);
    let s = job::status(&second, "drp", &id, 0).await.expect("status");
    assert!(
        matches!(s.state, JobState::Running { pid: p, .. } if p == pid),
        "{s:?}"
    );
    assert!(lab.sshd_log_count("drp", "Accepted publickey") >= sessions + 2);
    let s = wait_for(
        &second,
        "drp",
        &id,
        Duration::from_secs(10),
        JobState::is_finished,
    )
    .await;
    assert_eq!(s.state, JobState::Exited { rc: 0 });
    assert_eq!(lab.sh("drp", &format!("cat '{marker}'")), "done\n");
    assert!(
        s.dir.starts_with("/root/.local/state/vigie/jobs/drp/"),
        "{}",
        s.dir
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_consoles_starting_the_same_job_run_it_once() {
    let lab = Lab::require();
    let run = run_id("once");
    let count = format!("/run/vigie-jobtest-{run}");
    let _clean = Cleanup {
        lab: &lab,
        run: run.clone(),
        paths: vec![("drp", count.clone())],
    };
    let id = JobId::new(&run, 2, 1).unwrap();
    let script = format!("echo ran >>'{count}'; sleep 1");
    // Two pools: two connections racing to start the same job.
    let (a, b) = (pool(&lab), pool(&lab));
    let (ra, rb) = tokio::join!(
        job::start(&a, "drp", &id, &script),
        job::start(&b, "drp", &id, &script)
    );
    let mut launches = [ra.expect("a").0, rb.expect("b").0];
    launches.sort_by_key(|l| *l == Launch::Started);
    assert_eq!(launches, [Launch::AlreadyThere, Launch::Started]);
    wait_for(
        &a,
        "drp",
        &id,
        Duration::from_secs(10),
        JobState::is_finished,
    )
    .await;
    // Asked again once ended: still not re-run.
    let (again, s) = job::start(&b, "drp", &id, &script).await.expect("start");
    assert_eq!(
        (again, s.state),
        (Launch::AlreadyThere, JobState::Exited { rc: 0 })
    );
    assert_eq!(lab.sh("drp", &format!("cat '{count}'")), "ran\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_failed_and_cancelled_jobs_say_so() {
    let lab = Lab::require();
    let run = run_id("ends");
    let _clean = Cleanup {
        lab: &lab,
        run: run.clone(),
        paths: vec![],
    };
    let p = pool(&lab);
    // SIGKILL to the job and its wrapper: no exit status can be written.
    let killed = JobId::new(&run, 1, 1).unwrap();
    let (_, s) = job::start(&p, "drp", &killed, "sleep 60")
        .await
        .expect("start");
    let JobState::Running { pid, .. } = s.state else {
        panic!("{s:?}")
    };
    lab.sh("drp", &format!("kill -KILL -- -{pid}"));
    let s = wait_for(&p, "drp", &killed, Duration::from_secs(5), |st| {
        !matches!(st, JobState::Running { .. })
    })
    .await;
    assert!(
        matches!(&s.state, JobState::Vanished { why } if why.contains("without an exit status")),
        "{s:?}"
    );
    // A failing command: its own exit status.
    let failed = JobId::new(&run, 2, 1).unwrap();
    job::start(&p, "drp", &failed, "echo 'cannot do it' >&2; exit 3")
        .await
        .expect("start");
    let s = wait_for(
        &p,
        "drp",
        &failed,
        Duration::from_secs(5),
        JobState::is_finished,
    )
    .await;
    assert_eq!(s.state, JobState::Exited { rc: 3 });
    assert_eq!(s.output.data, b"cannot do it\n");
    // Cancel: SIGTERM to the job's process group, the wrapper records it.
    let cancelled = JobId::new(&run, 3, 1).unwrap();
    job::start(&p, "drp", &cancelled, "sleep 60")
        .await
        .expect("start");
    let s = job::cancel(&p, "drp", &cancelled).await.expect("cancel");
    assert_eq!(s.state, JobState::Exited { rc: 143 });
    assert_eq!(s.state.summary(), "killed by signal 15 (exit 143)");
    let left = lab.sh(
        "drp",
        &format!("pgrep -f -- '{}' || true", not_itself(&run)),
    );
    assert_eq!(left, "", "processes left after the cancel");
    // A job nobody started.
    let none = JobId::new(&run, 9, 1).unwrap();
    assert_eq!(
        job::status(&p, "drp", &none, 0).await.unwrap().state,
        JobState::NotStarted
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_output_is_tailed_from_an_offset() {
    let lab = Lab::require();
    let run = run_id("tail");
    let _clean = Cleanup {
        lab: &lab,
        run: run.clone(),
        paths: vec![],
    };
    let p = pool(&lab);
    let id = JobId::new(&run, 1, 1).unwrap();
    job::start(
        &p,
        "drp",
        &id,
        "printf 'first\\n'; sleep 2; printf 'second \\033[2J\\n'",
    )
    .await
    .expect("start");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let s = job::status(&p, "drp", &id, 0).await.expect("status");
    assert!(matches!(s.state, JobState::Running { .. }), "{s:?}");
    assert_eq!(s.output.data, b"first\n");
    let n = s.output.next_offset();
    let s = wait_for(
        &p,
        "drp",
        &id,
        Duration::from_secs(10),
        JobState::is_finished,
    )
    .await;
    assert_eq!(s.output.len, 18);
    let s = job::status(&p, "drp", &id, n).await.expect("status");
    assert_eq!(
        (s.output.from, s.output.data.as_slice()),
        (6, &b"second \x1b[2J\n"[..])
    );
    // Shown only sanitised: the escape sequence is inert.
    let (lines, next) = s.output.lines();
    assert_eq!((lines, next), (vec!["second \u{FFFD}[2J".to_string()], 18));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_from_backup_a_to_drp_is_previewed_run_and_verified() {
    let lab = Lab::require();
    let transfer = lab.dir().join("transfer_ssh_config");
    assert!(
        transfer.is_file(),
        "{} is missing: the lab has no host-to-host transfer path (tests/lab/svc.sh \
         write_transfer_files; run `tests/lab/lab.sh up`)",
        transfer.display()
    );
    let run = run_id("copy");
    let src = format!("/var/backups/vigie-copytest-{run}");
    let dst = format!("/srv/vigie-copytest-{run}");
    let _clean = Cleanup {
        lab: &lab,
        run: run.clone(),
        paths: vec![("backup-a", src.clone()), ("drp", dst.clone())],
    };
    // A snapshot on backup-a; on drp, an older copy with a file the source no longer has.
    lab.sh(
        "backup-a",
        &format!(
            "set -e; mkdir -p '{src}/snap/www/img' '{src}/snap/conf'
             head -c 3000000 /dev/urandom >'{src}/snap/www/img/photo.jpg'
             head -c 20000 /dev/urandom >'{src}/snap/www/index.html'
             echo 'db=app' >'{src}/snap/conf/app.conf'
             echo 'it'\\''s a name' >'{src}/snap/www/it'\\''s a name.txt'
             ln -s index.html '{src}/snap/www/home.html'"
        ),
    );
    lab.sh(
        "drp",
        &format!("mkdir -p '{dst}/www' && echo old >'{dst}/www/stale.txt'"),
    );
    let spec = CopySpec::new(
        HostPath {
            host: "backup-a".into(),
            path: format!("{src}/snap/"),
        },
        HostPath {
            host: "drp".into(),
            path: format!("{dst}/www/"),
        },
        &format!("ssh -F {}", transfer.display()),
    )
    .expect("spec");
    let p = pool(&lab);
    let step = JobId::new(&run, 2, 1).unwrap();

    let preview = copy::dry_run(&p, &spec, &step, Phase::Preview, Duration::from_secs(60))
        .await
        .expect("preview");
    assert_eq!(preview.rc, 0, "{preview:?}");
    let d = preview.report.clone().expect("preview read");
    assert_eq!(
        (d.to_transfer, d.bytes),
        (4, Some(3_000_000 + 20_000 + 7 + 12)),
        "{d:?}"
    );
    assert_eq!(
        (d.deletions, d.sample_deletions.clone()),
        (1, vec!["stale.txt".to_string()])
    );
    assert_eq!(d.created_dirs, 3, "{d:?}");
    assert!(
        d.summary()
            .starts_with("4 files to copy (2.9 MiB), 3 new directories, 1 to delete (stale.txt)"),
        "{}",
        d.summary()
    );
    assert_eq!(
        lab.sh("drp", &format!("cat '{dst}/www/stale.txt'")),
        "old\n",
        "a preview changes nothing"
    );

    let (launch, _) = copy::start(&p, &spec, &step, Phase::Copy)
        .await
        .expect("copy");
    assert_eq!(launch, Launch::Started);
    let mut progress = Progress::from_preview(&d);
    let mut last = 0.0;
    let t = Instant::now();
    let end = loop {
        let st = copy::poll_progress(&p, &spec, &step, &mut progress)
            .await
            .expect("progress");
        let f = progress.fraction().unwrap_or(0.0);
        assert!(f >= last, "progress went back: {f} < {last}");
        last = f;
        if st.state.is_finished() {
            break st;
        }
        assert!(
            t.elapsed() < Duration::from_secs(60),
            "copy still running: {}",
            progress.summary()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        end.state,
        JobState::Exited { rc: 0 },
        "{}",
        String::from_utf8_lossy(&end.output.data)
    );
    assert_eq!(progress.bytes_done(), 3_020_019);
    assert_eq!(progress.summary(), "2.9 MiB of 2.9 MiB (100 %)");
    // Started again (a resumed console): not copied twice.
    let (again, _) = copy::start(&p, &spec, &step, Phase::Copy)
        .await
        .expect("copy");
    assert_eq!(again, Launch::AlreadyThere);

    let verify = copy::dry_run(&p, &spec, &step, Phase::Verify, Duration::from_secs(60))
        .await
        .expect("verify");
    assert_eq!(verify.verified(), Ok(()), "{verify:?}");
    let sums = |host: &str, dir: &str| {
        lab.sh(host, &format!("cd '{dir}' && find . -type f | sort | xargs -d '\\n' sha256sum; find . -type l -printf '%p -> %l\\n'"))
    };
    assert_eq!(
        sums("drp", &format!("{dst}/www")),
        sums("backup-a", &format!("{src}/snap"))
    );
    assert!(
        lab.try_sh("drp", &format!("test -e '{dst}/www/stale.txt'"))
            .status
            .code()
            == Some(1)
    );
}
