//! DNS blocklists (`network.dnsbl.IP`) against a real DNS server: Knot (`knotd`, installed by
//! tests/lab/install-deps.sh) started here on 127.0.0.1, serving its own copy of the
//! zen.spamhaus.org zone with the answers Spamhaus documents (listing codes 127.0.0.2–11 with
//! a TXT reason, and the 127.255.255.x refusals). The checks are configured from TOML as an
//! operator writes them.

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vigie::checks::{Check, State};
use vigie::config::{self, Config};

/// The zone as Spamhaus would answer for these test addresses (RFC 5737 documentation
/// ranges; IPv6 in the RFC 5782 nibble format).
const ZONE: &str = r#"$ORIGIN zen.spamhaus.org.
$TTL 60
@ SOA ns hostmaster 1 3600 600 86400 60
@ NS ns
ns A 127.0.0.1
; 203.0.113.11: an exploited host (XBL), with the reason in TXT
11.113.0.203 A 127.0.0.4
11.113.0.203 TXT "https://check.spamhaus.org/query/ip/203.0.113.11"
; 203.0.113.12: also on the PBL (two codes)
12.113.0.203 A 127.0.0.2
12.113.0.203 A 127.0.0.10
; 203.0.113.13: the answer Spamhaus gives to queries from public resolvers
13.113.0.203 A 127.255.255.254
; 2001:db8::5: an IPv6 spam source (SBL)
5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2 A 127.0.0.2
"#;

/// A knotd serving [`ZONE`] on 127.0.0.1; killed on drop.
struct Knot {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for UDP and TCP on 127.0.0.1 right now.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn knotd() -> PathBuf {
    let path = ["/usr/sbin/knotd", "/usr/bin/knotd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    path.expect("knotd is not installed: run tests/lab/install-deps.sh (package knot)")
}

fn start_knot() -> Knot {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let port = free_port();
    std::fs::write(dir.path().join("zen.spamhaus.org.zone"), ZONE).unwrap();
    let conf = format!(
        "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n\
         database:\n    storage: {d}\n\
         template:\n  - id: default\n    storage: {d}\n    file: \"%s.zone\"\n\
         zone:\n  - domain: zen.spamhaus.org\n\
         log:\n  - target: stderr\n    any: warning\n\
         control:\n    listen: {d}/knot.sock\n"
    );
    let conf_path = dir.path().join("knot.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(knotd())
        .arg("-c")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start knotd");
    let knot = Knot {
        child,
        port,
        _dir: dir,
    };
    // Knot starts in ~0.1 s: wait until it answers over TCP.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "knotd did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    knot
}

fn config(resolver_port: u16, addresses: &[&str]) -> Config {
    let list: Vec<String> = addresses.iter().map(|a| format!("\"{a}\"")).collect();
    let text = format!(
        "[site]\nname = \"t\"\n[ssh]\nuse_ssh_config = false\n\
         [dnsbl]\nresolver = \"127.0.0.1:{resolver_port}\"\nzones = [\"zen.spamhaus.org\"]\n\
         addresses = [{}]\n",
        list.join(", ")
    );
    config::parse(&text, Path::new("/etc/vigie/config.toml")).unwrap_or_else(|e| panic!("{e}"))
}

async fn checks(resolver_port: u16, addresses: &[&str]) -> Vec<Check> {
    let c = config(resolver_port, addresses);
    vigie::dnsbl::check_all(c.dnsbl.as_ref().unwrap()).await
}

#[tokio::test]
async fn a_listed_address_is_crit_with_the_meaning_and_the_reason() {
    let knot = start_knot();
    let c = checks(knot.port, &["203.0.113.11", "203.0.113.12", "2001:db8::5"]).await;
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].id, "network.dnsbl.203.0.113.11");
    assert_eq!(c[0].state, State::Crit);
    assert_eq!(
        c[0].summary,
        "listed on zen.spamhaus.org (XBL: exploited or infected host): \
         \"https://check.spamhaus.org/query/ip/203.0.113.11\""
    );
    assert_eq!(c[1].state, State::Crit);
    assert_eq!(
        c[1].summary,
        "listed on zen.spamhaus.org (SBL: spam source, PBL: dynamic range, ISP policy)"
    );
    assert_eq!(c[2].id, "network.dnsbl.2001:db8::5");
    assert_eq!(c[2].state, State::Crit);
    assert_eq!(
        c[2].summary,
        "listed on zen.spamhaus.org (SBL: spam source)"
    );
}

#[tokio::test]
async fn a_refusal_is_unknown_never_a_listing() {
    let knot = start_knot();
    let c = checks(knot.port, &["203.0.113.13"]).await;
    assert_eq!(c[0].state, State::Unknown);
    assert_eq!(
        c[0].summary,
        "zen.spamhaus.org: query refused by zone: query through a public resolver \
         (127.255.255.254)"
    );
}

#[tokio::test]
async fn an_unlisted_address_is_ok() {
    let knot = start_knot();
    let c = checks(knot.port, &["203.0.113.10"]).await;
    assert_eq!(c[0].id, "network.dnsbl.203.0.113.10");
    assert_eq!(c[0].state, State::Ok);
    assert_eq!(c[0].summary, "not listed (1 zone: zen.spamhaus.org)");
}

#[tokio::test]
async fn a_resolver_down_is_unknown() {
    let port = free_port();
    let started = Instant::now();
    let c = checks(port, &["203.0.113.11"]).await;
    assert_eq!(c[0].state, State::Unknown, "{}", c[0].summary);
    assert!(
        c[0].summary
            .starts_with("zen.spamhaus.org: resolver 127.0.0.1:"),
        "{}",
        c[0].summary
    );
    assert!(!c[0].summary.contains("listed on zen"), "{}", c[0].summary);
    // Bounded, whatever hickory's retries.
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_site_collector_looks_up_only_when_due() {
    let knot = start_knot();
    let c = config(knot.port, &["203.0.113.11"]);
    let pool = vigie::ssh::Pool::new(
        Vec::new(),
        vigie::ssh::TransportOptions {
            known_hosts: "/nonexistent".into(),
            accept_new: false,
            connect_timeout: Duration::from_secs(1),
            keepalive: Duration::from_secs(15),
        },
    );
    assert!(
        vigie::collect::site::site_checks(&c, &pool, false)
            .await
            .is_empty()
    );
    let mut site = vigie::collect::site::SiteChecks::default();
    assert_eq!(site.dnsbl_due_in(&c), Some(Duration::ZERO));
    let first = site.refresh(&c, &pool).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].state, State::Crit);
    // Not due again for `every` (5 min): the last answer is kept, even with knot gone.
    drop(knot);
    assert!(site.dnsbl_due_in(&c).unwrap() > Duration::from_secs(200));
    let second = site.refresh(&c, &pool).await;
    assert_eq!(second, first);
}
