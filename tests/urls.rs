//! URL tests (`app.url.NAME`) against real servers started here, on 127.0.0.1: an HTTP/1.1
//! server and three HTTPS servers whose certificates (made with rcgen, signed by a test CA
//! trusted through `ca_file`) are valid for 30 more days, 2 more days, and expired 3 days ago.
//! Each test is configured from TOML as an operator writes it, and checks what the operator
//! reads: the state and the summary.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use vigie::checks::{Check, State};
use vigie::config::{self, Config};

// ---------------------------------------------------------------------------------------------
// The servers

/// Answers one request on `stream` by its path.
async fn respond<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return;
        }
    }
    let text = String::from_utf8_lossy(&head);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    let welcome = "<html><body><h1>Welcome</h1></body></html>";
    let (status, location, body): (&str, Option<&str>, String) = match path.as_str() {
        "/" => ("200 OK", None, welcome.into()),
        "/error" => ("500 Internal Server Error", None, "<h1>Oops</h1>".into()),
        "/missing" => ("404 Not Found", None, "<h1>Not here</h1>".into()),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(700)).await;
            ("200 OK", None, welcome.into())
        }
        "/moved" => ("301 Moved Permanently", Some("/"), String::new()),
        "/loop" => ("302 Found", Some("/loop"), String::new()),
        "/big" => ("200 OK", None, format!("{}Welcome", "x".repeat(2 << 20))),
        _ => ("404 Not Found", None, String::new()),
    };
    let mut reply = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    if let Some(to) = location {
        reply.push_str(&format!("location: {to}\r\n"));
    }
    reply.push_str("\r\n");
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

async fn http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(respond(s));
        }
    });
    addr
}

async fn https_server(cert_pem: String, key_pem: String) -> SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = vec![CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(s).await {
                    respond(tls).await;
                }
            });
        }
    });
    addr
}

/// A test CA and a server certificate for "localhost" it signed, valid until `not_after`.
struct Pki {
    ca_pem: String,
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
}

impl Pki {
    fn new() -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Vigie test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(30);
        params.not_after = now + time::Duration::days(365);
        let key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&key).unwrap();
        Pki {
            ca_pem: ca.pem(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    /// (certificate PEM, key PEM) for localhost, expiring `not_after` from now.
    fn leaf(&self, not_after: time::Duration) -> (String, String) {
        use rcgen::{CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair};
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(20);
        params.not_after = now + not_after;
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration and runs

fn config(urls: &str) -> Config {
    let text = format!("[site]\nname = \"t\"\n[ssh]\nuse_ssh_config = false\n{urls}");
    config::parse(&text, Path::new("/etc/vigie/config.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs the one URL test of `urls`.
async fn run(urls: &str) -> Check {
    let c = config(urls);
    assert_eq!(c.urls.len(), 1);
    vigie::web::test_url(&c.urls[0], &vigie::web::Direct).await
}

fn url(name: &str, url: &str, extra: &str) -> String {
    format!("[[urls]]\nname = \"{name}\"\nurl = \"{url}\"\n{extra}\n")
}

/// The delay phases of a summary are all there, in order.
fn assert_phases(summary: &str, tls: bool) {
    let want: &[&str] = if tls {
        &["(dns ", ", connect ", ", tls ", ", first byte "]
    } else {
        &["(dns ", ", connect ", ", first byte "]
    };
    let mut at = 0;
    for w in want {
        match summary[at..].find(w) {
            Some(i) => at += i + w.len(),
            None => panic!("{w:?} missing or out of order in {summary:?}"),
        }
    }
    assert_eq!(summary.contains(", tls "), tls, "{summary}");
}

// ---------------------------------------------------------------------------------------------
// HTTP

#[tokio::test]
async fn a_page_with_its_content_is_ok() {
    let s = http_server().await;
    let c = run(&url(
        "home",
        &format!("http://{s}/"),
        "contains = \"Welcome\"",
    ))
    .await;
    assert_eq!(c.id, "app.url.home");
    assert_eq!(c.state, State::Ok, "{}", c.summary);
    assert!(c.summary.starts_with("200 in "), "{}", c.summary);
    assert_phases(&c.summary, false);
    assert_eq!(c.unit, Some("ms"));
    assert!(c.value.is_some_and(|v| v > 0.0 && v < 1000.0), "{c:?}");
}

#[tokio::test]
async fn server_errors_are_crit_client_errors_warn() {
    let s = http_server().await;
    let c = run(&url("e", &format!("http://{s}/error"), "")).await;
    assert_eq!(c.state, State::Crit, "{}", c.summary);
    assert!(
        c.summary.starts_with("500 Internal Server Error in "),
        "{}",
        c.summary
    );
    let c = run(&url("m", &format!("http://{s}/missing"), "")).await;
    assert_eq!(c.state, State::Warn, "{}", c.summary);
    assert!(c.summary.starts_with("404 Not Found in "), "{}", c.summary);
    // A status the test expects is fine, whatever it is.
    let c = run(&url("m", &format!("http://{s}/missing"), "expect = [404]")).await;
    assert_eq!(c.state, State::Ok, "{}", c.summary);
}

#[tokio::test]
async fn a_slow_answer_is_warn_then_crit() {
    let s = http_server().await;
    let u = format!("http://{s}/slow");
    let c = run(&url("slow", &u, "warn = \"300ms\"\ncrit = \"3s\"")).await;
    assert_eq!(c.state, State::Warn, "{}", c.summary);
    assert!(c.summary.contains(" > 300 ms ("), "{}", c.summary);
    // The server's 700 ms are in the first-byte phase.
    let first_byte: u64 = c
        .summary
        .rsplit("first byte ")
        .next()
        .and_then(|r| r.trim_end_matches(')').parse().ok())
        .unwrap_or_else(|| panic!("{}", c.summary));
    assert!((650..3000).contains(&first_byte), "{}", c.summary);

    let c = run(&url("slow", &u, "warn = \"200ms\"\ncrit = \"400ms\"")).await;
    assert_eq!(c.state, State::Crit, "{}", c.summary);
    assert!(c.summary.contains(" > 400 ms ("), "{}", c.summary);

    // Past the timeout there is no answer at all, and the phase is named.
    let c = run(&url("slow", &u, "crit = \"200ms\"\ntimeout = \"300ms\"")).await;
    assert_eq!(c.state, State::Crit, "{}", c.summary);
    assert_eq!(
        c.summary,
        "no answer: nothing within 300 ms (during first byte)"
    );
}

#[tokio::test]
async fn missing_content_is_crit() {
    let s = http_server().await;
    let c = run(&url(
        "home",
        &format!("http://{s}/"),
        "contains = \"Bienvenue\"",
    ))
    .await;
    assert_eq!(c.state, State::Crit, "{}", c.summary);
    assert!(
        c.summary
            .starts_with("content: 'Bienvenue' not found; 200 in "),
        "{}",
        c.summary
    );
    let c = run(&url(
        "home",
        &format!("http://{s}/"),
        "regex = '<h1>\\s*Welc(o|0)me'",
    ))
    .await;
    assert_eq!(c.state, State::Ok, "{}", c.summary);
    // Only the first MiB is searched.
    let c = run(&url(
        "big",
        &format!("http://{s}/big"),
        "contains = \"Welcome\"",
    ))
    .await;
    assert_eq!(c.state, State::Crit, "{}", c.summary);
    assert!(
        c.summary
            .starts_with("content: 'Welcome' not found in its first MiB;"),
        "{}",
        c.summary
    );
}

#[tokio::test]
async fn redirects_are_reported() {
    let s = http_server().await;
    let c = run(&url(
        "moved",
        &format!("http://{s}/moved"),
        "contains = \"Welcome\"",
    ))
    .await;
    assert_eq!(c.state, State::Ok, "{}", c.summary);
    assert!(
        c.summary.ends_with(&format!(") after 301 → http://{s}/")),
        "{}",
        c.summary
    );

    let c = run(&url(
        "moved",
        &format!("http://{s}/moved"),
        "follow_redirects = false",
    ))
    .await;
    assert_eq!(c.state, State::Ok, "{}", c.summary);
    assert!(
        c.summary.starts_with("301 Moved Permanently → / in "),
        "{}",
        c.summary
    );

    let c = run(&url("loop", &format!("http://{s}/loop"), "")).await;
    assert_eq!(c.state, State::Crit, "{}", c.summary);
    assert!(
        c.summary.starts_with(&format!(
            "redirects: more than 5 after 302 → http://{s}/loop, 302 → http://{s}/loop, \
             302 → http://{s}/loop … (6 in all)"
        )),
        "{}",
        c.summary
    );
}

#[tokio::test]
async fn connection_refused_names_the_phase() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = run(&url("down", &format!("http://127.0.0.1:{port}/"), "")).await;
    assert_eq!(c.state, State::Crit, "{}", c.summary);
    assert_eq!(
        c.summary,
        format!("connect: connection refused (127.0.0.1:{port})")
    );
}

// ---------------------------------------------------------------------------------------------
// HTTPS

/// Three HTTPS servers (30 days left, 2 days left, expired) and the CA file trusting them.
struct Sites {
    _dir: tempfile::TempDir,
    ca_file: String,
    good: SocketAddr,
    soon: SocketAddr,
    expired: SocketAddr,
}

async fn sites() -> Sites {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    let hour = time::Duration::hours(1);
    let (c, k) = pki.leaf(time::Duration::days(30) + hour);
    let good = https_server(c, k).await;
    let (c, k) = pki.leaf(time::Duration::days(2) + hour);
    let soon = https_server(c, k).await;
    let (c, k) = pki.leaf(-(time::Duration::days(3) + hour));
    let expired = https_server(c, k).await;
    Sites {
        ca_file: ca_file.display().to_string(),
        _dir: dir,
        good,
        soon,
        expired,
    }
}

fn https(name: &str, addr: SocketAddr, ca_file: &str) -> String {
    url(
        name,
        &format!("https://localhost:{}/", addr.port()),
        &format!("contains = \"Welcome\"\nca_file = \"{ca_file}\""),
    )
}

#[tokio::test]
async fn a_certificate_valid_30_more_days_is_ok() {
    let s = sites().await;
    let c = run(&https("tls", s.good, &s.ca_file)).await;
    assert_eq!(c.state, State::Ok, "{}", c.summary);
    assert!(c.summary.starts_with("200 in "), "{}", c.summary);
    assert_phases(&c.summary, true);
}

#[tokio::test]
async fn a_certificate_expiring_in_2_days_is_crit() {
    let s = sites().await;
    let c = run(&https("tls", s.soon, &s.ca_file)).await;
    assert_eq!(c.state, State::Crit, "{}", c.summary);
    assert!(
        c.summary.starts_with("certificate expires in 2 d ("),
        "{}",
        c.summary
    );
    assert!(c.summary.contains("; 200 in "), "{}", c.summary);
}

#[tokio::test]
async fn an_expired_certificate_is_crit_with_its_date() {
    let s = sites().await;
    let c = run(&https("tls", s.expired, &s.ca_file)).await;
    assert_eq!(c.state, State::Crit, "{}", c.summary);
    let date = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(3 * 24 + 1))
        .unwrap()
        .strftime("%Y-%m-%d")
        .to_string();
    assert_eq!(
        c.summary,
        format!("TLS: certificate expired 3 d ago ({date})")
    );
}

#[tokio::test]
async fn an_unknown_ca_is_crit_and_says_what_to_do() {
    let s = sites().await;
    let c = run(&url(
        "tls",
        &format!("https://localhost:{}/", s.good.port()),
        "",
    ))
    .await;
    assert_eq!(c.state, State::Crit, "{}", c.summary);
    assert_eq!(
        c.summary,
        "TLS: certificate issued by an unknown CA (set ca_file for an internal CA)"
    );
}

#[tokio::test]
async fn tests_run_concurrently_through_the_site_collector() {
    let s = http_server().await;
    let text = format!(
        "{}{}",
        url("a", &format!("http://{s}/slow"), ""),
        url("b", &format!("http://{s}/slow"), "")
    );
    let c = config(&text);
    let pool = vigie::ssh::Pool::new(
        Vec::new(),
        vigie::ssh::TransportOptions {
            known_hosts: "/nonexistent".into(),
            accept_new: false,
            connect_timeout: Duration::from_secs(1),
            keepalive: Duration::from_secs(15),
        },
    );
    let started = std::time::Instant::now();
    let checks = vigie::collect::site::site_checks(&c, &pool, true).await;
    let ids: Vec<&str> = checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["app.url.a", "app.url.b"]);
    assert!(checks.iter().all(|c| c.state == State::Ok), "{checks:?}");
    // Two 700 ms answers side by side, not one after the other.
    assert!(
        started.elapsed() < Duration::from_millis(1300),
        "{:?}",
        started.elapsed()
    );
}
