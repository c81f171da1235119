//! Tests of the URL test's plumbing on real sockets: the local SOCKS proxy, its dialers and
//! its lock. Whole tests against real HTTP and HTTPS servers are in tests/urls.rs.

use super::*;
use crate::checks::State;
use crate::config::UrlTest;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A one-page HTTP/1.1 server on 127.0.0.1 that sends back, as the body, the Host header it
/// received. Runs until the test's runtime ends.
async fn echo_host_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&head);
                let host = text
                    .lines()
                    .find_map(|l| l.strip_prefix("host: ").or(l.strip_prefix("Host: ")))
                    .unwrap_or("")
                    .to_string();
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{host}",
                    host.len()
                );
                let _ = s.write_all(reply.as_bytes()).await;
            });
        }
    });
    addr
}

fn url_test(url: &str) -> UrlTest {
    UrlTest {
        name: "t".into(),
        url: reqwest::Url::parse(url).unwrap(),
        expect: Vec::new(),
        content: None,
        warn: Duration::from_secs(1),
        crit: Duration::from_secs(3),
        timeout: Duration::from_secs(5),
        via: None,
        ca_file: None,
        follow_redirects: true,
    }
}

/// Stands for the far end of an SSH tunnel: whatever name it is asked for, it reaches one
/// address, without any name resolution on this side.
struct FarSide(SocketAddr);

impl Dialer for FarSide {
    fn dial<'a>(&'a self, _host: &'a str, _port: u16, _trace: &'a SharedTrace) -> DialFuture<'a> {
        Box::pin(async move {
            let started = std::time::Instant::now();
            let tcp = TcpStream::connect(self.0)
                .await
                .map_err(|e| DialError::connect(tls::io_reason(&e)))?;
            Ok(Dialed {
                io: Box::new(tcp),
                dns: None,
                connect: started.elapsed(),
            })
        })
    }
}

#[tokio::test]
async fn direct_connections_are_timed_and_keep_the_host_header() {
    let server = echo_host_server().await;
    let mut test = url_test(&format!("http://localhost:{}/", server.port()));
    test.content = Some(crate::config::ContentMatch::Contains(format!(
        "localhost:{}",
        server.port()
    )));
    let outcome = run(&test, &Direct).await;
    let answer = outcome.answer.as_ref().expect("an answer");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content, verdict::Content::Found, "Host header kept");
    assert!(outcome.trace.dns.is_some(), "localhost was resolved here");
    assert_eq!(outcome.trace.connections, 1);
    assert_eq!(outcome.trace.handshakes, 0, "plain http");
    let check = verdict::evaluate(&test, &outcome);
    assert_eq!(check.state, State::Ok, "{}", check.summary);
    assert!(check.summary.starts_with("200 in "), "{}", check.summary);
    assert!(check.summary.contains("(dns "), "{}", check.summary);
}

#[tokio::test]
async fn a_tunnel_reaches_names_only_the_far_side_knows() {
    let server = echo_host_server().await;
    let mut test = url_test("http://intranet.site.invalid:8080/status");
    test.via = Some("bastion".into());
    test.content = Some(crate::config::ContentMatch::Contains(
        "intranet.site.invalid:8080".into(),
    ));
    let check = test_url(&test, &FarSide(server)).await;
    assert_eq!(check.state, State::Ok, "{}", check.summary);
    assert!(
        check.summary.contains(" via bastion (connect "),
        "no local DNS phase through a tunnel: {}",
        check.summary
    );
}

#[tokio::test]
async fn dial_failures_name_their_phase() {
    // A port nobody listens on: bind one, then free it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let test = url_test(&format!("http://127.0.0.1:{port}/"));
    let check = test_url(&test, &Direct).await;
    assert_eq!(check.state, State::Crit);
    assert_eq!(
        check.summary,
        format!("connect: connection refused (127.0.0.1:{port})")
    );

    let test = url_test("http://no-such-host.invalid/");
    let check = test_url(&test, &Direct).await;
    assert_eq!(check.state, State::Crit);
    assert!(
        check.summary.starts_with("dns: no-such-host.invalid: "),
        "{}",
        check.summary
    );
}

#[tokio::test]
async fn the_proxy_serves_only_its_own_client() {
    let proxy = socks::Proxy::bind().await.unwrap();
    let url = proxy.url().unwrap();
    let addr = url.rsplit('@').next().unwrap().to_string();
    let trace = SharedTrace::default();
    let server = echo_host_server().await;
    let dialer = FarSide(server);
    let intruder = async {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        // Greeting offering "no authentication" only: refused (0xff, no acceptable method).
        s.write_all(&[5, 1, 0]).await.unwrap();
        let mut reply = [0u8; 2];
        s.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply, [5, 0xff]);

        // Username/password with a wrong password: refused.
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(&[5, 1, 2]).await.unwrap();
        s.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply, [5, 2]);
        let mut auth = vec![1, 4];
        auth.extend_from_slice(b"user");
        auth.push(5);
        auth.extend_from_slice(b"guess");
        s.write_all(&auth).await.unwrap();
        s.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply[0], 1);
        assert_ne!(reply[1], 0, "a wrong password is refused");
    };
    tokio::select! {
        () = intruder => {}
        () = proxy.serve(&dialer, &trace) => unreachable!(),
        () = tokio::time::sleep(Duration::from_secs(5)) => panic!("the proxy did not answer"),
    }
    assert_eq!(super::trace::lock(&trace).connections, 0);
    assert_eq!(
        super::trace::lock(&trace).failure,
        None,
        "nothing was dialled"
    );
}

#[tokio::test]
async fn a_silent_server_is_no_answer_naming_the_phase() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Accepts, reads, never answers.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let mut test = url_test(&format!("http://{addr}/"));
    test.timeout = Duration::from_millis(300);
    let check = test_url(&test, &Direct).await;
    assert_eq!(check.state, State::Crit);
    assert_eq!(
        check.summary,
        "no answer: nothing within 300 ms (during first byte)"
    );
}
