//! The site, the ticket receiver and the lab readings of tests/drp_resume.rs.

use crate::common::drp::{KNOT, plant_files_backups};
pub use crate::common::drp::{ip, text, www};
use crate::common::http::{Log, Received};
use crate::common::lab::Lab;
use crate::common::site::{DRP_HOSTS, files_dataset};
use serde_json::Value;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const PROD_PUBLIC: &str = "203.0.113.11";
pub const DRP_PUBLIC: &str = "203.0.113.22";
pub const LOCK_DIR: &str = "/var/lib/vigie";
pub const JOBS: &str = "/root/.local/state/vigie/jobs";
/// Where the steps count what they did, on prod and drp (each host its own /srv): outside
/// anything a run removes.
pub const COUNT: &str = "/srv/vigie-count";
/// The copy's target on drp.
pub const TARGET: &str = "/var/tmp/vigie-resume-test/www";
/// The process the `wait` step waits for on drp (a copy of sleep under this name).
pub const WAITED: &str = "vigiewait";
/// How long the receiver takes to answer a new ticket.
pub const TICKET_DELAY: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------
// The ticket receiver: slow, and honouring the Idempotency-Key (a POST with a key already seen
// gets the same ticket id back), as the protocol of src/drp/ticket.rs expects of a receiver.

/// What the ticket system holds: its tickets' ids by Idempotency-Key.
pub type Tickets = Arc<Mutex<HashMap<String, String>>>;

/// A receiver on 127.0.0.1 that records each POST, then answers {"id": "T-<n>"} after
/// [`TICKET_DELAY`] (at once for a key it has seen).
pub async fn slow_receiver() -> (SocketAddr, Log, Tickets) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Log = Arc::default();
    let tickets: Tickets = Arc::default();
    let (seen, ids) = (log.clone(), tickets.clone());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let (seen, ids) = (seen.clone(), ids.clone());
            tokio::spawn(async move {
                let Some(req) = read_request(&mut stream).await else {
                    return;
                };
                let key = req.header("Idempotency-Key").unwrap_or("").to_string();
                let (id, new) = {
                    let mut log = seen.lock().unwrap();
                    log.push(req);
                    let mut ids = ids.lock().unwrap();
                    let n = ids.len() + 1;
                    match ids.get(&key) {
                        Some(id) if !key.is_empty() => (id.clone(), false),
                        _ => {
                            let id = format!("T-{n}");
                            ids.insert(key, id.clone());
                            (id, true)
                        }
                    }
                };
                if new {
                    tokio::time::sleep(TICKET_DELAY).await;
                }
                let body = format!("{{\"id\": \"{id}\"}}");
                let reply = format!(
                    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: \
                     {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (addr, log, tickets)
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let path = first.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(n) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => break,
        }
    }
    Some(Received {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&buf[head_end..]).to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// The site

/// The runbook: confirm, exec (counts, takes 2 s, and leaves a watcher that starts the waited
/// process 2 s after drp's resolver answers drp's address: the application follows the DNS
/// switch, and the wait step waits for it), copy, ticket, dns (through `dns`, the relay),
/// wait; planned mode adds the fence (step 0, counted on prod).
fn drp_sections(lab: &Path, dir: &Path, ticket: SocketAddr, dns: SocketAddr) -> String {
    format!(
        r#"
{files}
{DRP_HOSTS}transfer_ssh = "ssh -F {lab}/transfer_ssh_config"
fence = "echo x >> {COUNT}/fence && touch /srv/maintenance"
fence_verify = "test -e /srv/maintenance"

[dns]
servers = ["{dns}"]
zone = "example.test"
record = "www.example.test"
tsig_key_file = "{lab}/tsig.key"
verify_timeout = "10s"

[ticket]
url = "http://{ticket}/api/tickets"
token_file = "{dir}/ticket.token"
template = '{{"title": "{{{{title}}}}", "body": "{{{{body}}}}"}}'
id_pointer = "/id"

[[runbooks.activate.steps]]
kind = "confirm"
title = "Order of the customer received"
ask = "order reference"

[[runbooks.activate.steps]]
kind = "exec"
title = "Prepare the DRP server"
host = "drp"
command = "sleep 2; echo x >> {COUNT}/exec1; {{ for i in $(seq 240); do getent hosts www.example.test | grep -q {DRP_PUBLIC} && {{ sleep 2; exec {COUNT}/{WAITED} 300; }}; sleep 0.5; done; }} </dev/null >/dev/null 2>&1 & echo $! > {COUNT}/waitpid"
verify = "test -s {COUNT}/exec1"

[[runbooks.activate.steps]]
kind = "copy"
title = "Copy files & configurations to the DRP server"
from = "newest:files"
to = "drp:{TARGET}/"

[[runbooks.activate.steps]]
kind = "ticket"
title = "DRP finalised"
body = "The DRP of {{{{site}}}} is active on {{{{drp}}}} since {{{{now}}}}."

[[runbooks.activate.steps]]
kind = "dns"
title = "Point the site to the DRP"
target = "drp"

[[runbooks.activate.steps]]
kind = "wait"
title = "The application runs on the DRP"
check = "system.process.{WAITED}"
host = "drp"
timeout = "60s"
"#,
        files = files_dataset("48h"),
        lab = lab.display(),
        dir = dir.display(),
    )
}

/// A site configuration with its own state directory (the journal).
pub struct Site {
    dir: tempfile::TempDir,
    pub config: PathBuf,
    lab_dir: PathBuf,
}

impl Site {
    pub fn new(lab: &Lab, ticket: SocketAddr, dns: SocketAddr) -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ticket.token"), "tok-resume-test\n").unwrap();
        let mut base = std::fs::read_to_string(lab.config_path())
            .unwrap()
            .replace(
                "name = \"prod\"\naddress = \"10.77.1.11\"\n",
                &format!(
                    "name = \"prod\"\naddress = \"10.77.1.11\"\npublic_address = \"{PROD_PUBLIC}\"\n"
                ),
            )
            .replace(
                "name = \"drp\"\naddress = \"10.77.2.22\"\n",
                &format!(
                    "name = \"drp\"\naddress = \"10.77.2.22\"\npublic_address = \"{DRP_PUBLIC}\"\n"
                ),
            );
        // drp's processes: the waited one too.
        let at = base.find("name = \"drp\"").unwrap();
        let procs = "processes = [\"sshd\"]\n";
        let p = at + base[at..].find(procs).unwrap();
        base.replace_range(
            p..p + procs.len(),
            &format!("processes = [\"sshd\", \"{WAITED}\"]\n"),
        );
        assert!(base.contains(DRP_PUBLIC) && base.contains(PROD_PUBLIC));
        let config = dir.path().join("vigie.toml");
        std::fs::write(
            &config,
            format!(
                "{base}\n{}",
                drp_sections(lab.dir(), dir.path(), ticket, dns)
            ),
        )
        .unwrap();
        Site {
            config,
            lab_dir: lab.dir().to_path_buf(),
            dir,
        }
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Where a spawned run writes its output.
    pub fn out_file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn cmd(&self, args: &[&str]) -> tokio::process::Command {
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

    pub async fn vigie(&self, args: &[&str]) -> Output {
        let t = Instant::now();
        let out = self.cmd(args).output().await.unwrap();
        eprintln!(
            "  vigie {} → {:?} in {:.1} s",
            args.join(" "),
            out.status.code(),
            t.elapsed().as_secs_f64()
        );
        out
    }

    /// The journal's events (a torn last line, as a kill may leave, is left out).
    pub fn journal(&self) -> Vec<Value> {
        let path = self.state().join("vigie/lab/journal.jsonl");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The lab

/// Backups of `files`: a small tree on backup-a captured 30 h ago, a newer one on backup-b 6 h
/// ago (the one copied), with a 300 kB file.
pub fn plant_backups(lab: &Lab) {
    plant_files_backups(lab, "head -c 300000 /dev/urandom > data.bin;");
}

/// Everything a run leaves on the hosts, but the DNS record: the copy, the counters, the
/// waited process (by its pid), the runs' jobs, a lock left by a failed test, the fence.
pub fn clean(lab: &Lab) {
    let _ = lab.try_sh(
        "drp",
        &format!(
            "test -s {COUNT}/waitpid && kill $(cat {COUNT}/waitpid) 2>/dev/null; \
             rm -rf /var/tmp/vigie-resume-test {COUNT} {LOCK_DIR}/lock {JOBS}/drp/2*; \
             mkdir -p {COUNT} && cp /bin/sleep {COUNT}/{WAITED}"
        ),
    );
    let _ = lab.try_sh(
        "prod",
        &format!(
            "rm -rf /srv/maintenance {COUNT} {LOCK_DIR}/lock {JOBS}/prod/2*; mkdir -p {COUNT}"
        ),
    );
}

/// Lines of a counter file on `host` (0 when absent).
pub fn count(lab: &Lab, host: &str, name: &str) -> usize {
    lab.sh(host, &format!("cat {COUNT}/{name} 2>/dev/null | wc -l"))
        .trim()
        .parse()
        .unwrap()
}

/// www.example.test back on production (a signed update to Knot itself, as the lab's reset
/// does).
pub async fn www_back_to_prod(site: &Site) {
    let cfg = vigie::config::load(&site.config).unwrap();
    let mut dns = cfg.dns.unwrap();
    dns.servers = vec![KNOT.parse().unwrap()];
    if www().await != vec![ip(PROD_PUBLIC)] {
        vigie::drp::dns::switch(&dns, ip(DRP_PUBLIC), ip(PROD_PUBLIC))
            .await
            .unwrap();
    }
    assert_eq!(www().await, vec![ip(PROD_PUBLIC)]);
}

/// The serial of example.test on Knot: each applied update adds one.
pub fn serial(lab: &Lab) -> u64 {
    let soa = lab.sh("dns", "kdig +short +time=2 @10.77.1.53 example.test SOA");
    soa.split_whitespace()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no serial in {soa:?}"))
}

/// How many dynamic updates Knot has applied (its log, kept on the lab side).
pub fn updates_applied(lab: &Lab) -> usize {
    let log = lab.dir().join("hosts/dns/knot/knot.log");
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("[example.test.] DDNS, finished"))
        .count()
}

/// A DNS-over-TCP relay between the console and the lab's Knot (the site's `[dns] servers`):
/// it counts the UPDATE messages it is sent and, while `withhold` is set, keeps Knot's answer
/// to an update from the console, as when the console dies after sending it (`withheld`
/// then says the update has reached Knot and been answered).
#[derive(Clone)]
pub struct DnsRelay {
    pub addr: SocketAddr,
    pub updates: Arc<AtomicUsize>,
    pub withhold: Arc<AtomicBool>,
    pub withheld: Arc<AtomicBool>,
}

pub async fn dns_relay() -> DnsRelay {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay = DnsRelay {
        addr: listener.local_addr().unwrap(),
        updates: Arc::default(),
        withhold: Arc::default(),
        withheld: Arc::default(),
    };
    let r = relay.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(relay_one(client, r.clone()));
        }
    });
    relay
}

/// Relays the messages of one connection (2-byte length, then the message: RFC 1035 4.2.2).
async fn relay_one(mut client: TcpStream, r: DnsRelay) {
    let Ok(mut knot) = TcpStream::connect(KNOT).await else {
        return;
    };
    while let Some(msg) = read_framed(&mut client).await {
        // The header's opcode (RFC 1035 4.1.1): 5 is UPDATE (RFC 2136).
        let update = msg.get(4).is_some_and(|b| (b >> 3) & 0xf == 5);
        if update {
            r.updates.fetch_add(1, Ordering::SeqCst);
        }
        if knot.write_all(&msg).await.is_err() {
            return;
        }
        let Some(answer) = read_framed(&mut knot).await else {
            return;
        };
        if update && r.withhold.load(Ordering::SeqCst) {
            r.withheld.store(true, Ordering::SeqCst);
            // Held until the console is gone.
            let mut rest = Vec::new();
            let _ = client.read_to_end(&mut rest).await;
            return;
        }
        if client.write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// One length-prefixed DNS message, its prefix included.
async fn read_framed(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = [0u8; 2];
    s.read_exact(&mut head).await.ok()?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(head)) + 2];
    msg[..2].copy_from_slice(&head);
    s.read_exact(&mut msg[2..]).await.ok()?;
    Some(msg)
}
