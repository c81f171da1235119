//! Every connection of a URL test goes through a SOCKS5 proxy that vigie runs itself, for the
//! length of the test, on 127.0.0.1. reqwest hands it the URL's host name and port
//! (`socks5h`), so the Host header and the TLS server name stay the URL's, whatever the dialer
//! does behind:
//! - [`Direct`] resolves the name and connects here, timing each;
//! - a tunnel dialer (see `collect::site`) opens an SSH `direct-tcpip` channel from a site host,
//!   whose far end resolves the name and connects (like `ssh -D`).
//!
//! The proxy answers only the client that knows its random user and password, so another
//! account on the jump host cannot borrow the tunnel while a test runs.

use super::tls::io_reason;
use super::trace::{Phase, SharedTrace, lock};
use fast_socks5::server::Socks5ServerProtocol;
use fast_socks5::util::target_addr::TargetAddr;
use fast_socks5::{ReplyError, Socks5Command};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

/// A byte stream to the URL's server.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// A connection opened by a dialer, and what it cost.
pub struct Dialed {
    pub io: Box<dyn Stream>,
    /// Name resolution done here; `None` when the far end of a tunnel resolved it.
    pub dns: Option<Duration>,
    /// TCP connect, or opening the tunnel's channel (the far end's resolution included).
    pub connect: Duration,
}

/// Why a dialer could not open a connection: in the DNS or in the connect phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialError {
    pub phase: Phase,
    pub reason: String,
}

impl DialError {
    pub fn connect(reason: impl Into<String>) -> DialError {
        DialError {
            phase: Phase::Connect,
            reason: reason.into(),
        }
    }
}

pub type DialFuture<'a> = Pin<Box<dyn Future<Output = Result<Dialed, DialError>> + Send + 'a>>;

/// Opens the connections of a URL test. A dialer marks in `trace` the phase it enters
/// (connect, once a name is resolved), so that a test that times out says where it hung.
pub trait Dialer: Sync {
    fn dial<'a>(&'a self, host: &'a str, port: u16, trace: &'a SharedTrace) -> DialFuture<'a>;
}

/// Resolve with the system's resolver, connect from the console.
pub struct Direct;

impl Dialer for Direct {
    fn dial<'a>(&'a self, host: &'a str, port: u16, trace: &'a SharedTrace) -> DialFuture<'a> {
        Box::pin(async move {
            let started = Instant::now();
            let bare = host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .unwrap_or(host);
            let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, port)],
                Err(_) => tokio::net::lookup_host((bare, port))
                    .await
                    .map_err(|e| DialError {
                        phase: Phase::Dns,
                        reason: format!("{host}: {}", dns_reason(&e)),
                    })?
                    .collect(),
            };
            let dns = started.elapsed();
            if addrs.is_empty() {
                return Err(DialError {
                    phase: Phase::Dns,
                    reason: format!("{host} has no address"),
                });
            }
            lock(trace).phase = Phase::Connect;
            let started = Instant::now();
            let mut last = None;
            for addr in addrs {
                match TcpStream::connect(addr).await {
                    Ok(tcp) => {
                        let _ = tcp.set_nodelay(true);
                        return Ok(Dialed {
                            io: Box::new(tcp),
                            dns: Some(dns),
                            connect: started.elapsed(),
                        });
                    }
                    Err(e) => last = Some((addr, e)),
                }
            }
            Err(match last {
                Some((addr, e)) => DialError::connect(format!("{} ({addr})", io_reason(&e))),
                None => DialError::connect("no address to connect to"),
            })
        })
    }
}

/// getaddrinfo's words, shortened: "failed to lookup address information: Name or service
/// not known" → "name or service not known".
fn dns_reason(e: &std::io::Error) -> String {
    let text = io_reason(e);
    let text = text
        .strip_prefix("failed to lookup address information: ")
        .unwrap_or(&text);
    super::tls::lowercase_first(text)
}

/// The local SOCKS5 proxy of one URL test.
pub struct Proxy {
    listener: TcpListener,
    user: String,
    password: String,
}

impl Proxy {
    pub async fn bind() -> std::io::Result<Proxy> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        let secret = |n: usize| -> String {
            (0..n)
                .map(|_| format!("{:02x}", rand::random::<u8>()))
                .collect()
        };
        Ok(Proxy {
            listener,
            user: secret(8),
            password: secret(16),
        })
    }

    /// The proxy URL for reqwest (`socks5h`: names are resolved by the proxy, i.e. the dialer).
    pub fn url(&self) -> std::io::Result<String> {
        let addr = self.listener.local_addr()?;
        Ok(format!("socks5h://{}:{}@{addr}", self.user, self.password))
    }

    /// Serves connections until dropped: the caller races it against the request.
    pub async fn serve(&self, dialer: &dyn Dialer, trace: &SharedTrace) {
        let mut conns = FuturesUnordered::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) if peer.ip().is_loopback() => {
                        conns.push(self.handle(stream, dialer, trace));
                    }
                    Ok(_) => {}
                    // Out of file descriptors, typically: do not spin on it.
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                },
                Some(()) = conns.next(), if !conns.is_empty() => {}
            }
        }
    }

    async fn handle(&self, stream: TcpStream, dialer: &dyn Dialer, trace: &SharedTrace) {
        let _ = stream.set_nodelay(true);
        let Ok((proto, _)) = Socks5ServerProtocol::accept_password_auth(stream, |u, p| {
            u == self.user && p == self.password
        })
        .await
        else {
            return;
        };
        let Ok((proto, command, target)) = proto.read_command().await else {
            return;
        };
        if !matches!(command, Socks5Command::TCPConnect) {
            let _ = proto.reply_error(&ReplyError::CommandNotSupported).await;
            return;
        }
        let (host, port) = match &target {
            TargetAddr::Ip(sa) => (sa.ip().to_string(), sa.port()),
            TargetAddr::Domain(name, port) => (name.clone(), *port),
        };
        lock(trace).phase = Phase::Dns;
        match dialer.dial(&host, port, trace).await {
            Ok(dialed) => {
                {
                    let mut t = lock(trace);
                    if let Some(d) = dialed.dns {
                        t.dns = Some(t.dns.unwrap_or_default() + d);
                    }
                    t.connect += dialed.connect;
                    t.phase = Phase::Tls;
                }
                let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
                let Ok(mut client) = proto.reply_success(unspecified).await else {
                    return;
                };
                let mut io = dialed.io;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut io).await;
            }
            Err(e) => {
                let reply = if e.phase == Phase::Dns {
                    ReplyError::HostUnreachable
                } else {
                    ReplyError::ConnectionRefused
                };
                {
                    let mut t = lock(trace);
                    t.phase = e.phase;
                    t.failure = Some((e.phase, e.reason));
                }
                let _ = proto.reply_error(&reply).await;
            }
        }
    }
}
