//! The DRP's DNS switch against a real Knot DNS server (`knotd`, installed by
//! tests/lab/install-deps.sh), started by each test on 127.0.0.1 on a free port with its own
//! configuration in a temporary directory, and killed when the test ends (or panics).
//!
//! The zone is example.test with www A 203.0.113.11, TTL 60; Knot accepts updates signed
//! with the key `vigie-key`. Answers are read with vigie's own queries and with `kdig`.

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use vigie::config::DnsSettings;
use vigie::drp::dns::{self, DnsError, SwitchOutcome};

/// A 32-byte secret, as `keymgr -t vigie-key hmac-sha256` prints one.
const SECRET: &str = "qGygK+VlVaR9tYCAUBABGMGLv+pvK6nOXvZJ8KNLals=";
/// Another secret: the "rotated" key the server no longer has.
const WRONG_SECRET: &str = "Vt6hQ5JzbXy7PV0T5d3bTn2s2f9wWvG3m0Yk3mVbE1E=";
const SHA1_SECRET: &str = "UyIS5ue9B+wMstRJ/WppuPXv3ww=";

const OLD: &str = "203.0.113.11";
const NEW: &str = "203.0.113.21";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One knotd, killed on drop.
struct Knot {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Drop for Knot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Knot {
    /// A primary for example.test accepting updates signed with `vigie-key` (hmac-sha256) or
    /// `old-key` (hmac-sha1), notifying `secondary` if given.
    fn primary(www: &str, secondary: Option<SocketAddr>) -> Knot {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("example.test.zone"),
            format!(
                "$ORIGIN example.test.\n$TTL 3600\n\
                 @\tSOA\tns.example.test. hostmaster.example.test. 1 3600 900 604800 60\n\
                 @\tNS\tns\nns\tA\t127.0.0.1\nwww\t60\tA\t{www}\n"
            ),
        )
        .unwrap();
        let (remote, notify) = match secondary {
            Some(s) => (
                format!(
                    "remote:\n  - id: secondary\n    address: {}@{}\n",
                    s.ip(),
                    s.port()
                ),
                "    notify: secondary\n",
            ),
            None => (String::new(), ""),
        };
        let conf = format!(
            "key:\n  - id: vigie-key\n    algorithm: hmac-sha256\n    secret: {SECRET}\n\
             \x20 - id: old-key\n    algorithm: hmac-sha1\n    secret: {SHA1_SECRET}\n\
             {remote}\
             acl:\n  - id: update\n    key: [vigie-key, old-key]\n    action: update\n\
             \x20 - id: transfer\n    address: 127.0.0.1\n    action: transfer\n\
             zone:\n  - domain: example.test\n    file: example.test.zone\n    acl: [update, transfer]\n{notify}"
        );
        Knot::start(dir, &conf)
    }

    /// A secondary of `primary`'s example.test, following it by NOTIFY and IXFR/AXFR.
    fn secondary(primary: SocketAddr) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let conf = format!(
            "remote:\n  - id: primary\n    address: {}@{}\n\
             acl:\n  - id: notify\n    address: 127.0.0.1\n    action: notify\n\
             zone:\n  - domain: example.test\n    file: example.test.zone\n    master: primary\n    acl: notify\n",
            primary.ip(),
            primary.port()
        );
        (dir, conf)
    }

    fn start(dir: tempfile::TempDir, body: &str) -> Knot {
        Knot::start_on(dir, body, free_port())
    }

    fn start_on(dir: tempfile::TempDir, body: &str, port: u16) -> Knot {
        let d = dir.path().display();
        let conf = format!(
            "server:\n    listen: 127.0.0.1@{port}\n    rundir: {d}\n\
             database:\n    storage: {d}\n\
             template:\n  - id: default\n    storage: {d}\n\
             log:\n  - target: stderr\n    any: info\n{body}"
        );
        let conf_path = dir.path().join("knot.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let log = std::fs::File::create(dir.path().join("knot.log")).unwrap();
        let child = Command::new("knotd")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("knotd (apt-get install knot knot-dnsutils, or tests/lab/install-deps.sh)");
        Knot {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("knot.log")).unwrap_or_default()
    }

    /// Waits until the server answers for the zone with authority.
    async fn ready(&self) {
        let start = Instant::now();
        loop {
            let a = dns::current(&[self.addr], "www.example.test").await;
            if a[0]
                .answer
                .as_ref()
                .is_ok_and(|a| a.authoritative && !a.a.addresses.is_empty())
            {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "knotd on {} not ready: {:?}\n{}",
                self.addr,
                a[0].answer,
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A primary and, notified by it, a secondary; both ready.
async fn primary_and_secondary() -> (Knot, Knot) {
    let secondary_port = free_port();
    let primary = Knot::primary(
        OLD,
        Some(SocketAddr::from(([127, 0, 0, 1], secondary_port))),
    );
    primary.ready().await;
    let (dir, conf) = Knot::secondary(primary.addr);
    let secondary = Knot::start_on(dir, &conf, secondary_port);
    secondary.ready().await;
    (primary, secondary)
}

fn key_file(dir: &Path, name: &str, algorithm: &str, secret: &str) -> PathBuf {
    let f = dir.join(format!("{name}-{}.key", secret.len()));
    // BIND's key-file format, as tsig-keygen writes it.
    std::fs::write(
        &f,
        format!("key \"{name}\" {{\n\talgorithm {algorithm};\n\tsecret \"{secret}\";\n}};\n"),
    )
    .unwrap();
    f
}

fn settings(servers: &[SocketAddr], key: PathBuf) -> DnsSettings {
    DnsSettings {
        servers: servers.to_vec(),
        zone: "example.test".into(),
        record: "www.example.test".into(),
        tsig_key_file: key,
        verify_timeout: Duration::from_secs(10),
    }
}

/// `kdig +short` of www's A record on `server`.
fn kdig(server: SocketAddr, rtype: &str) -> String {
    let out = Command::new("kdig")
        .arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string(), "+short", "+norecurse"])
        .args(["www.example.test", rtype])
        .stdin(Stdio::null())
        .output()
        .expect("kdig (knot-dnsutils)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn soa_serial(server: SocketAddr) -> String {
    let out = Command::new("kdig")
        .arg(format!("@{}", server.ip()))
        .args(["-p", &server.port().to_string(), "+short", "+norecurse"])
        .args(["example.test", "SOA"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    text.split_whitespace()
        .nth(2)
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_switch_reaches_every_authoritative_server() {
    let (primary, secondary) = primary_and_secondary().await;
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        &[primary.addr, secondary.addr],
        key_file(dir.path(), "vigie-key", "hmac-sha256", SECRET),
    );

    // Before: both servers answer the old address, with its TTL.
    for answer in dns::current(&s.servers, &s.record).await {
        let a = answer.answer.unwrap();
        assert!(a.authoritative);
        assert_eq!(a.a.addresses, [ip(OLD)]);
        assert_eq!(a.a.ttl, Some(60));
        assert!(a.aaaa.addresses.is_empty());
    }

    let outcome = dns::switch(&s, ip(OLD), ip(NEW)).await.unwrap();
    assert_eq!(
        outcome,
        SwitchOutcome::Switched {
            server: primary.addr,
            record: "www.example.test".into(),
            from: ip(OLD),
            to: ip(NEW),
            ttl: 60,
        }
    );
    assert_eq!(
        outcome.summary(),
        format!(
            "www.example.test switched from {OLD} to {NEW} on {} (TTL 60 s kept)",
            primary.addr
        )
    );

    let v = dns::verify(
        &s.servers,
        &s.record,
        ip(NEW),
        s.verify_timeout,
        outcome.ttl(),
    )
    .await;
    assert!(v.ok, "{:?}\n{}\n{}", v, primary.log(), secondary.log());
    assert_eq!(v.ttl, Some(60));
    let follow = v.follow_by.unwrap();
    let in_s = follow.as_second() - jiff::Timestamp::now().as_second();
    assert!((58..=60).contains(&in_s), "{in_s}");
    let summary = v.summary(&jiff::tz::TimeZone::UTC);
    assert!(
        summary.starts_with(&format!(
            "2 of 2 servers answer {NEW} (TTL 60 s); resolvers will follow by "
        )),
        "{summary}"
    );
    assert_eq!(
        v.lines(),
        [
            format!("OK  {} answers {NEW} (TTL 60 s)", primary.addr),
            format!("OK  {} answers {NEW} (TTL 60 s)", secondary.addr),
        ]
    );
    // What any DNS client sees, asked independently.
    assert_eq!(kdig(primary.addr, "A"), NEW);
    assert_eq!(kdig(secondary.addr, "A"), NEW);
    assert!(dns::is_switched(&s, ip(NEW)).await.unwrap());
}

#[tokio::test]
async fn a_record_that_no_longer_holds_the_old_address_is_left_alone() {
    let knot = Knot::primary(OLD, None);
    knot.ready().await;
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        &[knot.addr],
        key_file(dir.path(), "vigie-key", "hmac-sha256", SECRET),
    );
    assert!(matches!(
        dns::switch(&s, ip(OLD), ip(NEW)).await,
        Ok(SwitchOutcome::Switched { .. })
    ));
    let serial = soa_serial(knot.addr);

    // A second switch still expecting the old address, towards a third one: the read before
    // sending sees 203.0.113.21, which is not the target, so the update is sent, and the
    // server's prerequisite refuses it.
    let outcome = dns::switch(&s, ip(OLD), ip("203.0.113.31")).await.unwrap();
    let SwitchOutcome::Refused(r) = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        (r.rcode, r.code, r.tsig_error.as_deref()),
        (8, "NXRRSET", None)
    );
    assert_eq!(
        outcome.summary(),
        format!(
            "DNS update to {} refused: NXRRSET (the record no longer holds exactly {OLD}: it was \
             changed by someone or something else; it held {NEW} (TTL 60 s) just before); \
             nothing was changed",
            knot.addr
        )
    );
    assert_eq!(kdig(knot.addr, "A"), NEW);
    assert_eq!(soa_serial(knot.addr), serial, "the zone changed");
}

#[tokio::test]
async fn a_retry_after_the_switch_is_already_done_and_sends_nothing() {
    let knot = Knot::primary(NEW, None);
    knot.ready().await;
    let serial = soa_serial(knot.addr);
    let dir = tempfile::tempdir().unwrap();
    // hmac-sha1, for existing set-ups: accepted, and used for the same checks.
    let s = settings(
        &[knot.addr],
        key_file(dir.path(), "old-key", "hmac-sha1", SHA1_SECRET),
    );
    let outcome = dns::switch(&s, ip(OLD), ip(NEW)).await.unwrap();
    assert_eq!(
        outcome,
        SwitchOutcome::AlreadyDone {
            server: knot.addr,
            record: "www.example.test".into(),
            to: ip(NEW),
            ttl: Some(60),
        }
    );
    assert_eq!(
        outcome.summary(),
        format!(
            "www.example.test already holds {NEW} on {}: no update sent",
            knot.addr
        )
    );
    assert_eq!(soa_serial(knot.addr), serial);
    assert!(
        !knot.log().contains("DDNS"),
        "an update reached the server:\n{}",
        knot.log()
    );

    // The same key switches back for real (an hmac-sha1 signature Knot accepts, and whose
    // answer vigie verifies).
    let back = dns::switch(&s, ip(NEW), ip(OLD)).await.unwrap();
    assert!(
        matches!(back, SwitchOutcome::Switched { .. }),
        "{back:?}\n{}",
        knot.log()
    );
    assert_eq!(kdig(knot.addr, "A"), OLD);
}

#[tokio::test]
async fn a_rejected_key_is_notauth_and_changes_nothing() {
    let knot = Knot::primary(OLD, None);
    knot.ready().await;
    let serial = soa_serial(knot.addr);
    let dir = tempfile::tempdir().unwrap();

    // The right name, a secret the server does not have.
    let s = settings(
        &[knot.addr],
        key_file(dir.path(), "vigie-key", "hmac-sha256", WRONG_SECRET),
    );
    let outcome = dns::switch(&s, ip(OLD), ip(NEW)).await.unwrap();
    let SwitchOutcome::Refused(r) = &outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(
        (r.code, r.tsig_error.as_deref()),
        ("NOTAUTH", Some("BADSIG"))
    );
    assert_eq!(
        outcome.summary(),
        format!(
            "DNS update to {} refused: NOTAUTH, TSIG BADSIG (TSIG key vigie-key rejected: the \
             secret differs from the server's); nothing was changed",
            knot.addr
        )
    );

    // A name the server does not know.
    let s = settings(
        &[knot.addr],
        key_file(dir.path(), "stranger", "hmac-sha256", SECRET),
    );
    let SwitchOutcome::Refused(r) = dns::switch(&s, ip(OLD), ip(NEW)).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        (r.code, r.tsig_error.as_deref()),
        ("NOTAUTH", Some("BADKEY"))
    );
    assert!(
        r.meaning.contains("does not know a key of this name"),
        "{}",
        r.meaning
    );

    assert_eq!(kdig(knot.addr, "A"), OLD);
    assert_eq!(soa_serial(knot.addr), serial);
    // Nowhere the secret.
    assert!(!format!("{outcome:?} {}", outcome.summary()).contains(&WRONG_SECRET[..8]));
}

#[tokio::test]
async fn a_dead_server_is_a_network_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), "vigie-key", "hmac-sha256", SECRET);

    // Nothing listens.
    let port = free_port();
    let dead = SocketAddr::from(([127, 0, 0, 1], port));
    let e = dns::switch(&settings(&[dead], key.clone()), ip(OLD), ip(NEW))
        .await
        .unwrap_err();
    assert!(
        matches!(e, DnsError::Network { server, .. } if server == dead),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        format!("DNS server {dead}: cannot connect: connection refused")
    );

    // Accepts, never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let start = Instant::now();
    let e = dns::switch(&settings(&[addr], key), ip(OLD), ip(NEW))
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("DNS server {addr}: no answer within 5 s")
    );
    assert!(start.elapsed() < Duration::from_secs(7));

    // Verification names the server that cannot be asked, and does not pass.
    let v = dns::verify(&[dead], "www.example.test", ip(NEW), Duration::ZERO, None).await;
    assert!(!v.ok);
    assert_eq!(
        v.summary(&jiff::tz::TimeZone::UTC),
        format!(
            "0 of 1 servers answer {NEW} after 0 s: DNS server {dead}: cannot connect: connection refused"
        )
    );
}

#[tokio::test]
async fn a_server_that_does_not_follow_fails_the_verification_by_name() {
    // Two primaries that know nothing of each other: the second never follows the first.
    let a = Knot::primary(OLD, None);
    let b = Knot::primary(OLD, None);
    a.ready().await;
    b.ready().await;
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        &[a.addr, b.addr],
        key_file(dir.path(), "vigie-key", "hmac-sha256", SECRET),
    );
    assert!(matches!(
        dns::switch(&s, ip(OLD), ip(NEW)).await,
        Ok(SwitchOutcome::Switched { .. })
    ));
    let start = Instant::now();
    let v = dns::verify(
        &s.servers,
        &s.record,
        ip(NEW),
        Duration::from_secs(2),
        Some(60),
    )
    .await;
    assert!(start.elapsed() >= Duration::from_secs(2));
    assert!(!v.ok);
    assert_eq!(v.follow_by, None);
    assert_eq!(
        v.summary(&jiff::tz::TimeZone::UTC),
        format!(
            "1 of 2 servers answer {NEW} after 2 s: {} answers {OLD} (TTL 60 s)",
            b.addr
        )
    );
    assert_eq!(
        v.lines()[1],
        format!("NOT {} answers {OLD} (TTL 60 s)", b.addr)
    );
}

#[tokio::test]
async fn a_drill_reads_and_never_updates() {
    let knot = Knot::primary(OLD, None);
    knot.ready().await;
    let serial = soa_serial(knot.addr);
    let dir = tempfile::tempdir().unwrap();
    let s = settings(
        &[knot.addr],
        key_file(dir.path(), "vigie-key", "hmac-sha256", SECRET),
    );
    let report = dns::drill(&s, ip(OLD)).await;
    assert!(report.ok(), "{report:?}");
    assert_eq!(
        report
            .summary(&jiff::tz::TimeZone::UTC)
            .split("; resolvers")
            .next()
            .unwrap(),
        format!("drill, DNS not changed: 1 of 1 servers answer {OLD} (TTL 60 s)")
    );
    assert!(
        report
            .summary(&jiff::tz::TimeZone::UTC)
            .ends_with("; key vigie-key (hmac-sha256) readable")
    );
    assert_eq!(kdig(knot.addr, "A"), OLD);
    assert_eq!(soa_serial(knot.addr), serial);
    assert!(!knot.log().contains("DDNS"), "{}", knot.log());

    // A missing key file fails the drill, named.
    let s = settings(&[knot.addr], dir.path().join("missing.key"));
    let report = dns::drill(&s, ip(OLD)).await;
    assert!(!report.ok());
    assert!(
        report.summary(&jiff::tz::TimeZone::UTC).ends_with(&format!(
            "TSIG key file {}: cannot read: no such file or directory",
            dir.path().join("missing.key").display()
        )),
        "{}",
        report.summary(&jiff::tz::TimeZone::UTC)
    );
}
