//! The console killed with SIGKILL at each step of a DRP run, then resumed (SPEC §6, "after a
//! crash, `resume` never re-runs a RUNNING or UNKNOWN step blindly"): the end is the same as an
//! uninterrupted run's, and nothing was executed twice.
//!
//! The runbook (planned `activate` on the lab, tests/drp_resume/support.rs): 0 the fence on
//! prod, 1 confirm, 2 exec on drp (2 s), 3 copy of the newest `files` backup, 4 ticket (the
//! receiver answers after 1 s), 5 DNS on the lab's Knot through a relay in this process, 6 wait
//! for a process on drp that starts 2 s after the DNS switch (a watcher the exec step leaves).
//! What each remote action did is counted where the run cannot reach it: the fence and the
//! exec append to counter files in /srv/vigie-count, rsync's start marker is counted in the
//! copy job's output (and the copy jobs by their directories), the receiver counts POSTs, the
//! relay counts the UPDATE messages sent, Knot's zone serial and its log count the updates
//! applied.
//!
//! Where each kill lands: the fence as soon as it is journaled RUNNING; the confirm step is
//! instant, so that kill lands after it (in practice as step 2 begins, before its job); the
//! exec 1 s into its command; the copy once its job exists on drp (in practice still running:
//! the resumed run re-attaches to it); the ticket once the receiver holds the POST (its answer
//! comes 1 s later); the DNS once Knot has applied the update and the relay keeps the answer
//! from the console; the wait 0.5 s into it. A ticket in doubt is answered as the protocol says
//! (src/drp/ticket.rs): resume asks, the operator finds the ticket under the Idempotency-Key it
//! names and gives its id: one POST, never two (the receiver would also dedupe a second POST
//! with the same key, but none is sent). The journal itself: every line readable by the
//! engine's own reader (what `resume` goes by), and no step done before the kill journaled
//! again after it.
//!
//! The copy killed mid-transfer (150 MB) is tests/drp_engine.rs's
//! `a_run_killed_during_its_copy_is_resumed_without_running_anything_twice`; here the copy is
//! small (300 kB).

mod common;
#[path = "drp_resume/support.rs"]
mod support;

use common::http::Log;
use common::lab::Lab;
use serde_json::Value;
use std::net::IpAddr;
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use support::{
    COUNT, DRP_PUBLIC, DnsRelay, JOBS, LOCK_DIR, Site, TARGET, Tickets, clean, count, dns_relay,
    ip, plant_backups, serial, slow_receiver, text, updates_applied, www, www_back_to_prod,
};

const ORDER: &str = "ORD-RESUME-1";
/// The run, its confirm step answered.
const RUN: [&str; 11] = [
    "drp",
    "run",
    "activate",
    "--mode",
    "planned",
    "--order",
    ORDER,
    "--confirm",
    "drp",
    "--ack",
    "1=ORD-RESUME-1",
];

/// When the console is killed.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// Once the step is journaled RUNNING, after `ms`.
    Running { step: u64, ms: u64 },
    /// The copy's job is there on drp (started after its preview was journaled).
    CopyStarted,
    /// The receiver has the POST, whose answer takes 1 s.
    TicketPosted,
    /// Knot has applied the update; the relay keeps its answer from the console.
    DnsAnswerLost,
}

impl KillAt {
    fn step(self) -> u64 {
        match self {
            KillAt::Running { step, .. } => step,
            KillAt::CopyStarted => 3,
            KillAt::TicketPosted => 4,
            KillAt::DnsAnswerLost => 5,
        }
    }
}

/// What an operator checks after a run, and what each remote action counted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Final {
    /// Lines of the journal the engine's own reader cannot read (a resume would not see them).
    unreadable: Vec<String>,
    /// `md5sum` of every file copied to drp.
    files: String,
    www: Vec<IpAddr>,
    /// The run's end: state and active-site marker.
    ended: (String, String),
    /// The steps whose last event is DONE.
    done: Vec<u64>,
    /// Step 4's end journals the id of the ticket the receiver holds under its
    /// Idempotency-Key.
    ticket_id_journaled: bool,
    /// The lock on drp is released.
    lock_free: bool,
    production_fenced: bool,
    waited_process_running: bool,
    fence_runs: usize,
    exec_runs: usize,
    copy_jobs: usize,
    rsync_starts: usize,
    copy_rc: String,
    posts: usize,
    dns_updates_sent: usize,
    dns_updates_applied: usize,
    serial_increase: u64,
}

/// The events of the journal's last run.
fn last_run(j: &[Value]) -> Vec<Value> {
    let Some(run) = j
        .iter()
        .rev()
        .find(|e| e["event"] == "run_started")
        .map(|e| e["run"].clone())
    else {
        return Vec::new();
    };
    j.iter().filter(|e| e["run"] == run).cloned().collect()
}

/// "step N STATE" of the last step event, or the last event's kind.
fn where_(events: &[Value]) -> String {
    match events.last() {
        Some(e) if e["event"] == "step" => {
            format!("step {} {}", e["step"], e["state"].as_str().unwrap_or("?"))
        }
        Some(e) => e["event"].as_str().unwrap_or("?").to_string(),
        None => "nothing journaled".into(),
    }
}

/// Whether the console should be killed now.
fn reached(kill: KillAt, events: &[Value], posts: &Log, dns: &DnsRelay) -> bool {
    let running = |n: u64| {
        events
            .iter()
            .any(|e| e["event"] == "step" && e["step"] == n && e["state"] == "RUNNING")
    };
    match kill {
        KillAt::Running { step, .. } => running(step),
        KillAt::CopyStarted => events
            .iter()
            .any(|e| e["step"] == 3 && e["state"] == "RUNNING" && e.get("preview").is_some()),
        KillAt::TicketPosted => !posts.lock().unwrap().is_empty(),
        KillAt::DnsAnswerLost => dns.withheld.load(Ordering::SeqCst),
    }
}

/// Starts the run, kills it (SIGKILL) at `kill`, and says where the journal stood and which
/// jobs its hosts held; with the run's journaled events at that moment.
async fn killed_run(
    lab: &Lab,
    site: &Site,
    posts: &Log,
    dns: &DnsRelay,
    kill: KillAt,
) -> (String, Vec<Value>) {
    let out = std::fs::File::create(site.out_file("killed-run.out")).unwrap();
    let mut child = site
        .cmd(&RUN)
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .spawn()
        .unwrap();
    let output = || std::fs::read_to_string(site.out_file("killed-run.out")).unwrap_or_default();
    dns.withhold
        .store(matches!(kill, KillAt::DnsAnswerLost), Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let events = last_run(&site.journal());
        if reached(kill, &events, posts, dns) {
            break;
        }
        if let Some(st) = child.try_wait().unwrap() {
            panic!("{kill:?}: the run ended ({st}) first:\n{}", output());
        }
        assert!(
            Instant::now() < deadline,
            "{kill:?} never came:\n{}",
            output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    match kill {
        KillAt::Running { ms, .. } => tokio::time::sleep(Duration::from_millis(ms)).await,
        KillAt::CopyStarted => {
            let run = last_run(&site.journal())[0]["run"].clone();
            let dir = format!("{JOBS}/drp/{}/3-1-copy", run.as_str().unwrap());
            while !lab
                .try_sh("drp", &format!("test -d {dir}"))
                .status
                .success()
            {
                assert!(Instant::now() < deadline, "no copy job:\n{}", output());
            }
        }
        _ => {}
    }
    child.start_kill().unwrap();
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), None, "killed by a signal: {}", output());
    dns.withhold.store(false, Ordering::SeqCst);
    dns.withheld.store(false, Ordering::SeqCst);
    let events = last_run(&site.journal());
    let run = events[0]["run"].as_str().unwrap();
    let jobs = lab.sh(
        "drp",
        &format!(
            "cd {JOBS} && for d in */{run}/*; do [ -d \"$d\" ] || continue; \
             [ -e \"$d/rc\" ] && s=ended || s=running; printf '%s (%s) ' \"$d\" $s; done \
             | sed 's|/{run}/| |g'"
        ),
    );
    (
        format!("{}; jobs: {}", where_(&events), jobs.trim()),
        events,
    )
}

/// The steps whose last event was DONE when the console was killed, and how many events each
/// had then.
fn done_at_kill(events: &[Value]) -> Vec<(u64, usize)> {
    let mut out = Vec::new();
    for n in 0..=6u64 {
        let of: Vec<&Value> = events.iter().filter(|e| e["step"] == n).collect();
        if of.last().is_some_and(|e| e["state"] == "DONE") {
            out.push((n, of.len()));
        }
    }
    out
}

/// `vigie drp resume` until the run is done, answering what it asks as an operator would:
/// the order again, and for a ticket in doubt, the ticket the receiver holds under the
/// Idempotency-Key it names (or `post` when there is none).
async fn resume(site: &Site, tickets: &Tickets) -> Vec<String> {
    let mut acks = vec![format!("1={ORDER}")];
    let mut said = Vec::new();
    for _ in 0..3 {
        let mut args = vec!["drp", "resume"];
        for a in &acks {
            args.extend(["--ack", a]);
        }
        let o = site.vigie(&args).await;
        let t = text(&o);
        said.push(t.clone());
        match o.status.code() {
            Some(0) => return said,
            Some(4) if t.contains("Idempotency-Key ") => {
                let key = t
                    .split("Idempotency-Key ")
                    .nth(1)
                    .and_then(|r| r.split([',', ' ', '\n']).next())
                    .unwrap()
                    .to_string();
                let found = tickets.lock().unwrap().get(&key).cloned();
                acks.push(format!("4={}", found.as_deref().unwrap_or("post")));
            }
            _ => panic!("resume:\n{t}"),
        }
    }
    panic!("not done after 3 resumes:\n{}", said.join("\n"));
}

/// Where the counts stood before a run.
struct Before {
    serial: u64,
    applied: usize,
}

/// The state after a run, and what was counted since `before`.
async fn final_state(
    lab: &Lab,
    site: &Site,
    posts: &Log,
    tickets: &Tickets,
    dns: &DnsRelay,
    before: &Before,
) -> Final {
    let j = last_run(&site.journal());
    let run = j[0]["run"].as_str().unwrap().to_string();
    let end = j.last().unwrap();
    let text = std::fs::read_to_string(site.state().join("vigie/lab/journal.jsonl")).unwrap();
    let mut done: Vec<u64> = Vec::new();
    for n in 0..=6u64 {
        if j.iter()
            .rfind(|e| e["event"] == "step" && e["step"] == n)
            .is_some_and(|e| e["state"] == "DONE")
        {
            done.push(n);
        }
    }
    let copy_dir = format!("{JOBS}/drp/{run}/3-1-copy");
    let sh = |host: &str, script: &str| lab.sh(host, script).trim().to_string();
    Final {
        unreadable: vigie::drp::journal::parse(&text).warnings,
        files: sh(
            "drp",
            &format!("cd {TARGET} && find . -type f -exec md5sum {{}} + | sort"),
        ),
        www: www().await,
        ended: (
            format!("{} {}", end["event"], end["state"]),
            end["active_site"].to_string(),
        ),
        done,
        ticket_id_journaled: j.iter().rfind(|e| e["step"] == 4).is_some_and(|e| {
            let key = e["idempotency_key"].as_str().unwrap_or("");
            tickets.lock().unwrap().get(key).map(String::as_str) == e["ticket_id"].as_str()
        }),
        lock_free: !lab
            .try_sh("drp", &format!("test -e {LOCK_DIR}/lock"))
            .status
            .success(),
        production_fenced: lab
            .try_sh("prod", "test -e /srv/maintenance")
            .status
            .success(),
        waited_process_running: sh("drp", "pidof vigiewait | wc -w") == "1",
        fence_runs: count(lab, "prod", "fence"),
        exec_runs: count(lab, "drp", "exec1"),
        copy_jobs: sh("drp", &format!("ls -d {JOBS}/drp/{run}/3-*-copy | wc -l"))
            .parse()
            .unwrap(),
        rsync_starts: sh("drp", &format!("grep -c '^VIGIE_RSYNC' {copy_dir}/out"))
            .parse()
            .unwrap(),
        copy_rc: sh("drp", &format!("cat {copy_dir}/rc")),
        posts: posts.lock().unwrap().len(),
        dns_updates_sent: dns.updates.load(Ordering::SeqCst),
        dns_updates_applied: updates_applied(lab) - before.applied,
        serial_increase: serial(lab) - before.serial,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_at_each_step_and_resumed_ends_as_an_uninterrupted_run_doing_nothing_twice() {
    let lab = Lab::require();
    let began = Instant::now();
    plant_backups(&lab);
    let (addr, posts, tickets) = slow_receiver().await;
    let dns = dns_relay().await;

    // Each case: a clean DRP side, the record on production, a new journal, counts at 0.
    let fresh = async |lab: &Lab| {
        clean(lab);
        let site = Site::new(lab, addr, dns.addr);
        www_back_to_prod(&site).await;
        posts.lock().unwrap().clear();
        dns.updates.store(0, Ordering::SeqCst);
        let before = Before {
            serial: serial(lab),
            applied: updates_applied(lab),
        };
        (site, before)
    };

    // The uninterrupted run: what every resumed one must end as.
    let (site, before) = fresh(&lab).await;
    let o = site.vigie(&RUN).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let want = final_state(&lab, &site, &posts, &tickets, &dns, &before).await;
    eprintln!("uninterrupted: {want:#?}");
    assert_eq!(want.unreadable, Vec::<String>::new());
    let j = last_run(&site.journal());
    // The wait step did wait: its check became OK seconds after it began.
    let at = |e: &Value| {
        e["at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let wait: Vec<&Value> = j.iter().filter(|e| e["step"] == 6).collect();
    let waited = at(wait[1]).as_millisecond() - at(wait[0]).as_millisecond();
    assert!(waited > 1500, "the wait step waited {waited} ms");
    assert_eq!(want.www, vec![ip(DRP_PUBLIC)]);
    assert_eq!(
        want.ended,
        ("\"run_ended\" \"DONE\"".into(), "\"drp\"".into())
    );
    assert_eq!(want.done, vec![0, 1, 2, 3, 4, 5, 6]);
    assert!(want.files.contains("./data.bin"), "{}", want.files);
    assert!(want.ticket_id_journaled && want.lock_free && want.production_fenced);
    assert!(want.waited_process_running);
    assert_eq!(
        (
            want.fence_runs,
            want.exec_runs,
            want.copy_jobs,
            want.rsync_starts,
            want.posts
        ),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(want.copy_rc, "0", "the copy ran to its end");
    assert_eq!(
        (
            want.dns_updates_sent,
            want.dns_updates_applied,
            want.serial_increase
        ),
        (1, 1, 1)
    );

    let kills = [
        KillAt::Running { step: 0, ms: 0 },
        KillAt::Running { step: 1, ms: 0 },
        KillAt::Running { step: 2, ms: 1000 },
        KillAt::CopyStarted,
        KillAt::TicketPosted,
        KillAt::DnsAnswerLost,
        KillAt::Running { step: 6, ms: 500 },
    ];
    for kill in kills {
        let t = Instant::now();
        let (site, before) = fresh(&lab).await;
        let (at, then) = killed_run(&lab, &site, &posts, &dns, kill).await;
        let said = resume(&site, &tickets).await;
        let got = final_state(&lab, &site, &posts, &tickets, &dns, &before).await;
        assert_eq!(got, want, "{kill:?} (killed at {at}):\n{}", said.join("\n"));
        // A step done before the kill is not taken up again; a step killed RUNNING was taken
        // up (journaled `resumed`), not started as new.
        let j = last_run(&site.journal());
        for (n, events) in done_at_kill(&then) {
            let now = j.iter().filter(|e| e["step"] == n).count();
            assert_eq!(
                now, events,
                "{kill:?}: step {n}, done before the kill, ran again"
            );
        }
        let step = kill.step();
        if at.starts_with(&format!("step {step} RUNNING")) {
            assert!(
                j.iter().any(|e| e["step"] == step && e["resumed"] == true),
                "{kill:?}: {j:#?}"
            );
        }
        eprintln!(
            "{kill:?}: killed at {at}; resumed in {} call(s); same end; {:.1} s",
            said.len(),
            t.elapsed().as_secs_f64()
        );
    }
    clean(&lab);
    for host in ["prod", "drp"] {
        lab.sh(host, &format!("rm -rf {COUNT}"));
    }
    www_back_to_prod(&Site::new(&lab, addr, dns.addr)).await;
    eprintln!("total {:.1} s", began.elapsed().as_secs_f64());
}
