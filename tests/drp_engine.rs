//! The DRP engine end to end on the lab's real servers (SPEC §6), through the `vigie drp`
//! command line: backups planted on backup-a and backup-b, rsync between the hosts over the
//! lab's transfer path, the site's zone on the lab's Knot (10.77.1.53, TSIG key
//! `$LAB_DIR/tsig.key`), and a ticket receiver in this test process on 127.0.0.1.
//!
//! Each test runs the binary with its own state directory (`XDG_STATE_HOME`: the journal); the
//! lock is where it is on a real DRP host, /var/lib/vigie (each lab host has its own).

mod common;

use common::drp::{self, ip, plant_files_backups, text, www};
use common::http::{self, Log};
use common::lab::Lab;
use common::site::{DRP_HOSTS, HOUR, activate_order_and_copy, files_dataset, now};
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

const PROD_PUBLIC: &str = "203.0.113.11";
const DRP_PUBLIC: &str = "203.0.113.22";
const LOCK_DIR: &str = "/var/lib/vigie";
const JOBS: &str = "/root/.local/state/vigie/jobs";

// ---------------------------------------------------------------------------------------------
// The ticket receiver: records each POST's body, answers {"id": "T-<n>"}.

/// A receiver answering each POST with {"id": "T-<n>"}.
async fn receiver() -> (SocketAddr, Log) {
    http::receiver(|_, n| (201, format!("{{\"id\": \"T-{n}\"}}"))).await
}

/// The bodies the receiver was sent, in order.
fn bodies(posts: &Log) -> Vec<String> {
    posts
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.body.clone())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The site

/// A site configuration for one test: the lab's, public addresses on prod and drp, and the
/// DRP sections; its own state directory.
struct Site {
    dir: tempfile::TempDir,
    config: PathBuf,
    lab_dir: PathBuf,
}

/// The runbooks of the tests: the policy's two, with a copy, a ticket, the DNS switch and an
/// exec step; `copy_to` is where `activate` copies.
fn drp_sections(lab: &Path, dir: &Path, ticket: SocketAddr, fence: bool, copy_to: &str) -> String {
    let fence = if fence {
        "fence = \"touch /srv/maintenance\"\nfence_verify = \"test -e /srv/maintenance\"\n"
    } else {
        ""
    };
    format!(
        r#"
{files}
{DRP_HOSTS}transfer_ssh = "ssh -F {lab}/transfer_ssh_config"
{fence}
[dns]
servers = ["10.77.1.53:53"]
zone = "example.test"
record = "www.example.test"
tsig_key_file = "{lab}/tsig.key"
verify_timeout = "10s"

[ticket]
url = "http://{ticket}/api/tickets"
token_file = "{dir}/ticket.token"
template = '{{"title": "{{{{title}}}}", "body": "{{{{body}}}}"}}'
id_pointer = "/id"

{activate}
[[runbooks.activate.steps]]
kind = "ticket"
title = "DRP finalised"
body = "The DRP of {{{{site}}}} is active on {{{{drp}}}} since {{{{now}}}}; data captured at {{{{captured_at}}}}."

[[runbooks.activate.steps]]
kind = "dns"
title = "Point the site to the DRP"
target = "drp"

[[runbooks.activate.steps]]
kind = "exec"
title = "Note the activation on the DRP"
host = "drp"
command = "date > /srv/drp-active"
verify = "test -s /srv/drp-active"

[[runbooks.activate.steps]]
kind = "wait"
title = "The DRP server is up"
check = "system.availability"
host = "drp"
timeout = "30s"

[[runbooks.return.steps]]
kind = "confirm"
title = "Order to return to production"
ask = "order reference"

[[runbooks.return.steps]]
kind = "copy"
title = "Copy files from the DRP back to production"
from = "drp:/srv/www/"
to = "prod:/srv/www/"

[[runbooks.return.steps]]
kind = "ticket"
title = "Back on production"
body = "{{{{site}}}} is served by {{{{production}}}} again."

[[runbooks.return.steps]]
kind = "dns"
title = "Point the site back to production"
target = "prod"

[[runbooks.return.steps]]
kind = "exec"
title = "Production out of maintenance"
host = "prod"
command = "rm -f /srv/maintenance"
"#,
        files = files_dataset("48h"),
        activate = activate_order_and_copy(copy_to),
        lab = lab.display(),
        dir = dir.display(),
    )
}

impl Site {
    fn new(lab: &Lab, ticket: SocketAddr, fence: bool, copy_to: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ticket.token"), "tok-engine-test\n").unwrap();
        let base = std::fs::read_to_string(lab.config_path())
            .unwrap()
            .replace(
                "name = \"prod\"\naddress = \"10.77.1.11\"\n",
                &format!("name = \"prod\"\naddress = \"10.77.1.11\"\npublic_address = \"{PROD_PUBLIC}\"\n"),
            )
            .replace(
                "name = \"drp\"\naddress = \"10.77.2.22\"\n",
                &format!("name = \"drp\"\naddress = \"10.77.2.22\"\npublic_address = \"{DRP_PUBLIC}\"\n"),
            );
        assert!(
            base.contains(DRP_PUBLIC) && base.contains(PROD_PUBLIC),
            "{base}"
        );
        let config = dir.path().join("vigie.toml");
        std::fs::write(
            &config,
            format!(
                "{base}\n{}",
                drp_sections(lab.dir(), dir.path(), ticket, fence, copy_to)
            ),
        )
        .unwrap();
        Site {
            config,
            lab_dir: lab.dir().to_path_buf(),
            dir,
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn cmd(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_vigie"));
        c.arg("--config")
            .arg(&self.config)
            .args(args)
            .env("XDG_STATE_HOME", self.state())
            .env("LAB_DIR", &self.lab_dir)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    async fn vigie(&self, args: &[&str]) -> Output {
        let t = Instant::now();
        let out = self.cmd(args).output().await.unwrap();
        eprintln!(
            "vigie {} … → {:?} in {:.1} s",
            args.iter().take(3).cloned().collect::<Vec<_>>().join(" "),
            out.status.code(),
            t.elapsed().as_secs_f64()
        );
        out
    }

    /// `vigie drp run RUNBOOK --mode MODE --order ORDER --confirm HOST`, and with `ack` the
    /// confirmation of step 1 answered with the order.
    async fn run(
        &self,
        runbook: &str,
        mode: &str,
        order: &str,
        confirm: &str,
        ack: bool,
    ) -> Output {
        let ack_arg = format!("1={order}");
        let mut args = vec![
            "drp",
            "run",
            runbook,
            "--mode",
            mode,
            "--order",
            order,
            "--confirm",
            confirm,
        ];
        if ack {
            args.extend(["--ack", &ack_arg]);
        }
        self.vigie(&args).await
    }

    fn journal(&self) -> Vec<Value> {
        drp::journal(&self.state())
    }
}

/// The step events of `run` in the journal: (step, state).
fn steps(journal: &[Value], run: &str) -> Vec<(u64, String)> {
    journal
        .iter()
        .filter(|e| e["run"] == run && e["event"] == "step")
        .map(|e| {
            (
                e["step"].as_u64().unwrap(),
                e["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn last_run(journal: &[Value]) -> String {
    journal
        .iter()
        .rev()
        .find(|e| e["event"] == "run_started")
        .map(|e| e["run"].as_str().unwrap().to_string())
        .unwrap()
}

fn argv(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Removes the runs' jobs and the test's files on the hosts.
fn clean(lab: &Lab) {
    for h in ["prod", "drp"] {
        let _ = lab.try_sh(
            h,
            &format!(
                "rm -rf /srv/www /srv/maintenance /srv/drp-active {LOCK_DIR}/lock {JOBS}/{h}/2*"
            ),
        );
    }
    let _ = lab.try_sh(
        "drp",
        "rm -rf /var/tmp/vigie-drill /var/tmp/vigie-engine-test",
    );
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn activate_in_an_emergency_then_return_planned() {
    let lab = Lab::require();
    let began = Instant::now();
    clean(&lab);
    plant_files_backups(&lab, "");
    // Production's own data, older than anything the DRP will hold.
    lab.sh(
        "prod",
        &format!(
            "mkdir -p /srv/www && echo old > /srv/www/old.html && touch -d @{} /srv/www/old.html",
            now() - 72 * HOUR
        ),
    );
    let (addr, posts) = receiver().await;
    let site = Site::new(&lab, addr, true, "drp:/srv/www/");
    assert_eq!(www().await, vec![ip(PROD_PUBLIC)]);

    // Production is down: the activation goes on without fencing, and says so.
    let cut = lab.cut("prod");
    let out = site
        .run("activate", "emergency", "ORD-118", "drp", true)
        .await;
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    drop(cut);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let direction = stdout
        .find("[ok] direction: FROM backup-b (dc2) → TO drp (dc2)")
        .expect(&t);
    let window = stdout
        .find("[ok] loss_window: data-loss window: 6 h")
        .expect(&t);
    let confirm = stdout.find("[ok] confirm: drp typed in full").expect(&t);
    assert!(direction < confirm && window < confirm, "{t}");
    assert!(stdout.contains("prod did not answer"), "{t}");
    assert!(
        stdout.contains("RUN DONE: every step done; active site: DRP"),
        "{t}"
    );

    // The newest backup's files are on the DRP, the ticket arrived, DNS answers the DRP.
    let page = lab.sh("drp", "cat /srv/www/index.html");
    assert_eq!(page, "page from backup-b\n");
    assert!(lab.sh("drp", "cat /srv/drp-active").len() > 5);
    let sent = bodies(&posts);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let body: Value = serde_json::from_str(&sent[0]).unwrap();
    assert_eq!(body["title"], "DRP finalised");
    assert!(
        body["body"]
            .as_str()
            .unwrap()
            .starts_with("The DRP of lab is active on drp since ")
    );
    assert_eq!(www().await, vec![ip(DRP_PUBLIC)]);

    // The journal: every step RUNNING then DONE, with its times; the ticket id; the marker.
    let j = site.journal();
    let run = last_run(&j);
    let started = j.iter().find(|e| e["event"] == "run_started").unwrap();
    assert_eq!(started["production_answered"], false);
    assert_eq!(started["order"], "ORD-118");
    assert!(started["lock_nonce"].as_str().unwrap().len() == 16);
    for n in 1..=6u64 {
        let ev: Vec<&Value> = j.iter().filter(|e| e["step"] == n).collect();
        assert_eq!(ev.first().unwrap()["state"], "RUNNING", "step {n}: {ev:?}");
        let end = ev.last().unwrap();
        assert_eq!(end["state"], "DONE", "step {n}: {end}");
        assert!(
            end["started_at"].is_string() && end["ended_at"].is_string(),
            "{end}"
        );
    }
    let copy = j.iter().rfind(|e| e["step"] == 2).unwrap();
    assert_eq!(copy["verification"], "second dry run: no change");
    assert_eq!(copy["backup"]["host"], "backup-b");
    assert!(
        j.iter()
            .any(|e| e["step"] == 2 && e["preview"]["files"].as_u64() == Some(2)),
        "{j:?}"
    );
    assert_eq!(
        j.iter().rfind(|e| e["step"] == 3).unwrap()["ticket_id"],
        "T-1"
    );
    assert!(j.iter().rfind(|e| e["step"] == 4).unwrap()["dns_ttl"] == 60);
    let ended = j.last().unwrap();
    assert_eq!(
        (ended["event"].as_str(), ended["active_site"].as_str()),
        (Some("run_ended"), Some("drp"))
    );
    assert_eq!(
        steps(&j, &run).iter().filter(|(_, s)| s == "DONE").count(),
        6
    );

    // Return: refused on a journal without the DRP marker.
    let fresh = Site::new(&lab, addr, true, "drp:/srv/www/");
    let out = fresh
        .run("return", "planned", "ORD-119", "prod", true)
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("active-site marker says production"),
        "{}",
        text(&out)
    );

    // The DRP period: a file written on the DRP must come back; production holding newer
    // data than the DRP is refused (after fencing, before copying).
    lab.sh("drp", "echo order-42 > /srv/www/new-order.html");
    lab.sh(
        "prod",
        &format!(
            "echo x > /srv/www/newer.html && touch -d @{} /srv/www/newer.html",
            now() + HOUR
        ),
    );
    let out = site.run("return", "planned", "ORD-119", "prod", true).await;
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("prod:/srv/www/ holds newer data than its source"),
        "{t}"
    );
    assert_eq!(lab.sh("prod", "cat /srv/www/newer.html"), "x\n");
    assert_eq!(
        www().await,
        vec![ip(DRP_PUBLIC)],
        "nothing after the refusal ran"
    );

    lab.sh("prod", "rm -f /srv/www/newer.html /srv/maintenance");
    let out = site.run("return", "planned", "ORD-119", "prod", true).await;
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    let j = site.journal();
    let run = last_run(&j);
    let order: Vec<u64> = steps(&j, &run)
        .iter()
        .filter(|(_, s)| s == "DONE")
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(
        order,
        vec![0, 1, 2, 3, 4, 5],
        "the fence (step 0) first: {t}"
    );
    // The newer-data guard's verdict is journaled before the copy back starts: a resume
    // skips it only then.
    assert!(
        j.iter().any(|e| e["run"] == run.as_str()
            && e["step"] == 2
            && e["newer_data_guard"] == "the target holds no data newer than its source"),
        "{j:?}"
    );
    assert_eq!(lab.sh("prod", "cat /srv/www/new-order.html"), "order-42\n");
    assert_eq!(
        lab.try_sh("prod", "test -e /srv/maintenance").status.code(),
        Some(1),
        "out of maintenance at the end"
    );
    assert_eq!(www().await, vec![ip(PROD_PUBLIC)]);
    assert_eq!(posts.lock().unwrap().len(), 2);
    assert_eq!(j.last().unwrap()["active_site"], "production");
    clean(&lab);
    assert!(
        began.elapsed() < Duration::from_secs(90),
        "{:?}",
        began.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drill_touches_neither_production_nor_the_dns() {
    let lab = Lab::require();
    clean(&lab);
    plant_files_backups(&lab, "");
    lab.sh(
        "prod",
        "mkdir -p /srv/www && echo prod > /srv/www/index.html",
    );
    let (addr, posts) = receiver().await;
    let site = Site::new(&lab, addr, true, "drp:/srv/www/");
    let prod_sessions = lab.sshd_log_count("prod", "Accepted publickey");
    // The plan: every exact command, and nothing touched (no journal).
    let plan = site
        .vigie(&["drp", "plan", "activate", "--mode", "drill"])
        .await;
    let t = text(&plan);
    assert_eq!(plan.status.code(), Some(0), "{t}");
    assert!(t.contains("DRP plan: runbook activate, mode DRILL"), "{t}");
    assert!(
        t.contains("$ rsync -a -H --numeric-ids --delete -s --no-inc-recursive"),
        "{t}"
    );
    assert!(
        t.contains("to    drp (dc2)  /var/tmp/vigie-drill/activate/2/"),
        "{t}"
    );
    assert!(t.contains("VERIFY ONLY"), "{t}");
    assert!(site.journal().is_empty());

    let out = site.run("activate", "drill", "DRILL-7", "drp", true).await;
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    // The scratch target is filled and verified; production and the DNS are as they were.
    assert_eq!(
        lab.sh("drp", "cat /var/tmp/vigie-drill/activate/2/index.html"),
        "page from backup-b\n"
    );
    assert_eq!(lab.try_sh("drp", "test -e /srv/www").status.code(), Some(1));
    assert_eq!(
        lab.sshd_log_count("prod", "Accepted publickey"),
        prod_sessions,
        "{t}"
    );
    assert_eq!(lab.sh("prod", "cat /srv/www/index.html"), "prod\n");
    assert_eq!(www().await, vec![ip(PROD_PUBLIC)]);
    let j = site.journal();
    let dns = j.iter().rfind(|e| e["step"] == 4).unwrap();
    assert_eq!(dns["state"], "DONE");
    assert!(
        dns["verification"]
            .as_str()
            .unwrap()
            .starts_with("drill, DNS not changed"),
        "{dns}"
    );
    assert_eq!(
        j.iter().rfind(|e| e["step"] == 2).unwrap()["verification"],
        "second dry run: no change"
    );
    let sent = bodies(&posts);
    assert!(
        sent.len() == 1 && sent[0].contains("[DRILL] DRP finalised"),
        "{sent:?}"
    );
    // A drill never moves the marker.
    assert!(j.last().unwrap().get("active_site").is_none());
    // The customer's report.
    let csv = site.vigie(&["journal", "--export", "csv"]).await;
    let t = String::from_utf8_lossy(&csv.stdout).to_string();
    assert_eq!(csv.status.code(), Some(0));
    assert!(t.starts_with("at,run,event,runbook,plan_hash,mode,"), "{t}");
    assert!(t.contains(",T-1,"), "{t}");
    let human = site.vigie(&["journal"]).await;
    let t = String::from_utf8_lossy(&human.stdout).to_string();
    assert!(t.contains("STARTED: activate drill, order DRILL-7"), "{t}");
    assert!(t.contains("ENDED DONE"), "{t}");
    clean(&lab);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guards_refuse_before_anything_is_done() {
    let lab = Lab::require();
    clean(&lab);
    plant_files_backups(&lab, "");
    let (addr, posts) = receiver().await;
    let site = Site::new(&lab, addr, true, "drp:/srv/www/");
    let run = |extra: &[&str]| {
        let mut args = vec!["drp", "run", "activate", "--ack", "1=ORD-1"];
        args.extend_from_slice(extra);
        args.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let refused = |o: &Output, want: &str| {
        let t = text(o);
        assert_eq!(o.status.code(), Some(2), "{want}: {t}");
        assert!(t.contains(want), "{want}: {t}");
    };

    // --read-only: refused before connecting anywhere.
    let sessions = lab.sshd_log_count("bastion", "Accepted publickey");
    let a = run(&[
        "--mode",
        "emergency",
        "--order",
        "ORD-1",
        "--confirm",
        "drp",
    ]);
    let mut v = vec!["--read-only"];
    v.extend(argv(&a));
    refused(&site.vigie(&v).await, "read-only");
    assert_eq!(
        lab.sshd_log_count("bastion", "Accepted publickey"),
        sessions
    );
    // An empty order reference.
    refused(
        &site
            .vigie(&argv(&run(&[
                "--mode",
                "emergency",
                "--order",
                "",
                "--confirm",
                "drp",
            ])))
            .await,
        "no order reference",
    );
    // Production answers: an emergency run needs a reason…
    refused(
        &site
            .vigie(&argv(&run(&[
                "--mode",
                "emergency",
                "--order",
                "ORD-1",
                "--confirm",
                "drp",
            ])))
            .await,
        "--reason TEXT",
    );
    // …and a fence.
    let unfenced = Site::new(&lab, addr, false, "drp:/srv/www/");
    refused(
        &unfenced
            .vigie(&argv(&run(&[
                "--mode",
                "emergency",
                "--order",
                "ORD-1",
                "--confirm",
                "drp",
                "--reason",
                "disk array lost",
            ])))
            .await,
        "[drp] fence is not configured",
    );
    // The wrong host typed, after the direction and the loss window were shown.
    let o = site
        .vigie(&argv(&run(&[
            "--mode",
            "planned",
            "--order",
            "ORD-1",
            "--confirm",
            "prod",
        ])))
        .await;
    refused(&o, "the typed host name \"prod\" is not \"drp\"");
    assert!(
        text(&o).contains("[ok] direction: FROM backup-b (dc2) → TO drp (dc2)"),
        "{}",
        text(&o)
    );
    // A second run while another holds the lock on the DRP host.
    let cfg = vigie::config::load(&site.config).unwrap();
    let pool = vigie::ssh::Pool::new(
        vigie::collect::routes(&cfg),
        vigie::collect::transport_options(&cfg, false),
    );
    let lock = vigie::drp::lock::DrpLock::new(&pool, "drp").in_dir(LOCK_DIR);
    let other = vigie::drp::lock::LockOwner::new("20261129T030000Z-beef", jiff::Timestamp::now());
    lock.acquire(&other).await.unwrap();
    let o = site
        .vigie(&argv(&run(&[
            "--mode",
            "planned",
            "--order",
            "ORD-1",
            "--confirm",
            "drp",
        ])))
        .await;
    refused(&o, "another DRP run holds the lock on drp");
    assert!(text(&o).contains(&other.nonce), "{}", text(&o));
    // Forcing it needs its nonce, and is no action for --read-only.
    refused(
        &site
            .vigie(&["drp", "unlock", "--nonce", "0123456789abcdef"])
            .await,
        "not with nonce 0123456789abcdef",
    );
    refused(
        &site
            .vigie(&["--read-only", "drp", "unlock", "--nonce", &other.nonce])
            .await,
        "read-only",
    );
    let o = site
        .vigie(&["drp", "unlock", "--nonce", &other.nonce])
        .await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("lock released: it was"), "{}", text(&o));
    assert!(matches!(
        lock.status().await.unwrap(),
        vigie::drp::lock::LockStatus::Free { .. }
    ));

    // Nothing was done: no journal, no ticket, no copy, the DNS unchanged.
    assert!(site.journal().is_empty());
    assert!(posts.lock().unwrap().is_empty());
    assert_eq!(lab.try_sh("drp", "test -e /srv/www").status.code(), Some(1));
    assert_eq!(www().await, vec![ip(PROD_PUBLIC)]);
    clean(&lab);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_during_its_copy_is_resumed_without_running_anything_twice() {
    let lab = Lab::require();
    clean(&lab);
    plant_files_backups(&lab, "");
    // Enough real bytes (and files) for the copy to take a moment.
    lab.sh(
        "backup-b",
        &format!(
            "cd /var/backups/files/files-b && head -c 150000000 /dev/urandom > big.bin && \
             mkdir many && for i in $(seq 1 3000); do echo $i > many/f$i; done && \
             find . -exec touch -d @{} {{}} +",
            now() - 6 * HOUR
        ),
    );
    let (addr, posts) = receiver().await;
    let site = Site::new(&lab, addr, true, "drp:/var/tmp/vigie-engine-test/www/");
    let cut = lab.cut("prod");
    // Without the answer to step 1, the run stops there, asking for it (exit 4).
    let o = site
        .run("activate", "emergency", "ORD-7", "drp", false)
        .await;
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        text(&o).contains("step 1 needs --ack 1=TEXT: order reference"),
        "{}",
        text(&o)
    );
    let mut child = site
        .cmd(&["drp", "resume", "--ack", "1=ORD-7"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let line = tokio::time::timeout_at(deadline.into(), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no copy started:\n{seen}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the run ended first:\n{seen}"));
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("copy started on drp") {
            break;
        }
    }
    child.start_kill().unwrap();
    let _ = child.wait().await;
    let j = site.journal();
    let run = last_run(&j);
    assert_eq!(
        steps(&j, &run).last().unwrap(),
        &(2, "RUNNING".to_string()),
        "{seen}"
    );
    let copy_dir = format!("{JOBS}/drp/{run}/2-1-copy");
    let running = lab
        .try_sh("drp", &format!("test ! -e {copy_dir}/rc"))
        .status
        .success();
    eprintln!("copy still running when the console was killed: {running}");

    // The run is not finished: status says so, a new run is refused, resume goes on.
    let st = site.vigie(&["drp", "status"]).await;
    assert!(
        text(&st).contains("NOT FINISHED") && text(&st).contains("Lock: held"),
        "{}",
        text(&st)
    );
    let o = site
        .run("activate", "emergency", "ORD-7", "drp", true)
        .await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is not finished"), "{}", text(&o));
    let o = site.vigie(&["drp", "resume"]).await;
    let t = text(&o);
    assert_eq!(o.status.code(), Some(0), "{seen}\n{t}");
    drop(cut);
    assert!(t.contains("re-attached to the copy on drp"), "{t}");

    // Same final state as an uninterrupted run; the copy ran once, the ticket was posted once.
    let size = lab.sh("drp", "stat -c %s /var/tmp/vigie-engine-test/www/big.bin");
    assert_eq!(size.trim(), "150000000");
    let jobs = lab.sh("drp", &format!("ls -d {JOBS}/drp/{run}/2-*-copy | wc -l"));
    assert_eq!(jobs.trim(), "1");
    let started = lab.sh("drp", &format!("grep -c '^VIGIE_RSYNC' {copy_dir}/out"));
    assert_eq!(started.trim(), "1", "rsync started once");
    assert_eq!(posts.lock().unwrap().len(), 1);
    let j = site.journal();
    let done: Vec<u64> = steps(&j, &run)
        .iter()
        .filter(|(_, s)| s == "DONE")
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(done, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(j.last().unwrap()["active_site"], "drp");
    assert_eq!(www().await, vec![ip(DRP_PUBLIC)]);
    clean(&lab);
}
