//! One authenticated SSH connection to one host, direct or through a jump connection.

use super::SshError;
use super::known_hosts::{self, Verdict};
use russh::keys::PublicKeyOrCertificate;
use russh::{ChannelMsg, client};
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where and as whom to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host's name in the config, for messages.
    pub name: String,
    pub address: String,
    pub port: u16,
    pub user: String,
    pub identities: Vec<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct TransportOptions {
    pub known_hosts: PathBuf,
    /// Record unknown host keys (OpenSSH's StrictHostKeyChecking=accept-new).
    pub accept_new: bool,
    pub connect_timeout: Duration,
    pub keepalive: Duration,
}

/// The result of one exec.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_status: Option<u32>,
    /// Console clock when the exec request was sent and when its first output arrived.
    pub sent: jiff::Timestamp,
    pub first_byte: jiff::Timestamp,
    /// When the first chunks of stdout arrived: (offset just past the chunk, time). Lets the
    /// caller date one particular line of output, such as the remote clock.
    pub arrivals: Vec<(usize, jiff::Timestamp)>,
    /// Network round trip, measured on opening the channel.
    pub round_trip: Duration,
    /// True when output beyond the cap was discarded.
    pub truncated: bool,
    /// The command was still running at the deadline: the output is what arrived until then.
    pub timed_out: bool,
}

/// The russh client handler: strict host-key checking.
struct Client {
    target: Target,
    known_hosts: PathBuf,
    accept_new: bool,
    /// Why the server's key was refused, read back after the handshake fails.
    refusal: Arc<Mutex<Option<SshError>>>,
}

impl Client {
    fn refuse(&self, err: SshError) -> Result<bool, russh::Error> {
        if let Ok(mut slot) = self.refusal.lock() {
            *slot = Some(err);
        }
        Ok(false)
    }
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return self.refuse(SshError::Protocol(format!(
                "{} presented a host certificate; only plain host keys in known_hosts are accepted",
                self.target.name
            )));
        };
        let path = self.known_hosts.display().to_string();
        let text = match known_hosts::read(&self.known_hosts) {
            Ok(t) => t,
            Err(e) => {
                return self.refuse(SshError::Protocol(format!(
                    "cannot read known_hosts {path}: {e}"
                )));
            }
        };
        let host = self.target.name.clone();
        let presented = known_hosts::fingerprint(key);
        match known_hosts::verdict(&text, &self.target.address, self.target.port, key) {
            Verdict::Trusted => Ok(true),
            Verdict::Unknown if self.accept_new => {
                match known_hosts::record(
                    &self.known_hosts,
                    &self.target.address,
                    self.target.port,
                    key,
                ) {
                    Ok(()) => {
                        tracing::info!(
                            host,
                            fingerprint = presented,
                            "recorded new host key (--accept-new)"
                        );
                        Ok(true)
                    }
                    Err(e) => self.refuse(SshError::Protocol(e)),
                }
            }
            Verdict::Unknown => self.refuse(SshError::HostKeyUnknown {
                host,
                presented,
                path,
            }),
            Verdict::Changed { line, recorded } => {
                tracing::error!(host, presented, recorded, line, "host key changed");
                self.refuse(SshError::HostKeyChanged {
                    host,
                    presented,
                    recorded,
                    path,
                    line,
                })
            }
            Verdict::Revoked { line } => self.refuse(SshError::HostKeyRevoked { host, path, line }),
            Verdict::OtherTypeKnown { line, recorded } => self.refuse(SshError::HostKeyOtherType {
                host,
                presented,
                recorded,
                path,
                line,
            }),
            Verdict::CertAuthorityOnly { line } => {
                self.refuse(SshError::HostKeyCertAuthority { host, path, line })
            }
        }
    }
}

/// An authenticated connection. Cheap to share: channels are opened through `&self`.
pub struct Connection {
    handle: client::Handle<Client>,
    pub target: Target,
    /// Time to connect, exchange keys and authenticate.
    pub setup: Duration,
    /// Smallest round trip seen on this connection, in nanoseconds: delayed ACKs on a relay
    /// (a bastion's sshd does not disable Nagle for non-interactive sessions) inflate single
    /// measurements by tens of milliseconds, the minimum converges on the real network delay.
    min_round_trip_ns: AtomicU64,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("target", &self.target)
            .finish()
    }
}

const MAX_OUTPUT: usize = 8 << 20;
const MAX_ARRIVALS: usize = 64;

impl ExecOutput {
    /// When the byte at `offset` of stdout arrived (the first byte's time if unknown).
    pub fn arrival_of(&self, offset: usize) -> jiff::Timestamp {
        self.arrivals
            .iter()
            .find(|(end, _)| *end > offset)
            .map(|(_, t)| *t)
            .unwrap_or(self.first_byte)
    }
}

impl Connection {
    /// Connect, verify the host key and authenticate, all within `connect_timeout`.
    pub async fn open(
        target: &Target,
        opts: &TransportOptions,
        via: Option<&Connection>,
    ) -> Result<Connection, SshError> {
        let started = Instant::now();
        let timeout = opts.connect_timeout;
        match tokio::time::timeout(timeout, Self::open_inner(target, opts, via)).await {
            Ok(Ok(handle)) => Ok(Connection {
                handle,
                target: target.clone(),
                setup: started.elapsed(),
                min_round_trip_ns: AtomicU64::new(u64::MAX),
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(match via {
                Some(jump) => SshError::Jump {
                    jump: jump.target.name.clone(),
                    reason: format!(
                        "no answer from {}:{} within {}s",
                        target.address,
                        target.port,
                        timeout.as_secs_f64()
                    ),
                },
                None => SshError::ConnectTimeout {
                    address: target.address.clone(),
                    port: target.port,
                    after: timeout,
                },
            }),
        }
    }

    async fn open_inner(
        target: &Target,
        opts: &TransportOptions,
        via: Option<&Connection>,
    ) -> Result<client::Handle<Client>, SshError> {
        let refusal = Arc::new(Mutex::new(None));
        let handler = Client {
            target: target.clone(),
            known_hosts: opts.known_hosts.clone(),
            accept_new: opts.accept_new,
            refusal: refusal.clone(),
        };
        let config = Arc::new(client_config(target, opts));
        let connect_err = |e: russh::Error| -> SshError {
            if let Some(refused) = refusal.lock().ok().and_then(|mut s| s.take()) {
                return refused;
            }
            SshError::Connect {
                address: target.address.clone(),
                port: target.port,
                reason: e.to_string(),
            }
        };
        let mut handle = match via {
            None => {
                let tcp = tokio::net::TcpStream::connect((target.address.as_str(), target.port))
                    .await
                    .map_err(|e| SshError::Connect {
                        address: target.address.clone(),
                        port: target.port,
                        reason: e.to_string(),
                    })?;
                let _ = tcp.set_nodelay(true);
                client::connect_stream(config, tcp, handler)
                    .await
                    .map_err(connect_err)?
            }
            Some(jump) => {
                let channel = jump
                    .handle
                    .channel_open_direct_tcpip(
                        target.address.clone(),
                        u32::from(target.port),
                        "127.0.0.1",
                        0,
                    )
                    .await
                    .map_err(|e| SshError::Jump {
                        jump: jump.target.name.clone(),
                        reason: format!("cannot reach {}:{} ({e})", target.address, target.port),
                    })?;
                client::connect_stream(config, channel.into_stream(), handler)
                    .await
                    .map_err(connect_err)?
            }
        };
        super::auth::authenticate(&mut handle, &target.user, &target.identities)
            .await
            .map_err(|tried| SshError::Auth {
                user: target.user.clone(),
                tried,
            })?;
        Ok(handle)
    }

    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// A TCP stream to `host:port` as seen from this host (an SSH direct-tcpip channel, as
    /// `ssh -W`): URL tests of sites only reachable inside the site. Needs the server's
    /// AllowTcpForwarding.
    pub async fn direct_tcpip(
        &self,
        host: &str,
        port: u16,
    ) -> Result<russh::ChannelStream<client::Msg>, SshError> {
        let channel = self
            .handle
            .channel_open_direct_tcpip(host.to_string(), u32::from(port), "127.0.0.1", 0)
            .await
            .map_err(|e| SshError::Protocol(format!("direct-tcpip to {host}:{port}: {e}")))?;
        Ok(channel.into_stream())
    }

    /// Run `command`, feed it `stdin`, collect its output. `first_byte` bounds the wait for
    /// the first output (a frozen host or sshd), `total` the whole exec.
    pub async fn exec(
        &self,
        command: &str,
        stdin: &[u8],
        first_byte: Duration,
        total: Duration,
    ) -> Result<ExecOutput, SshError> {
        if self.min_round_trip_ns.load(Ordering::Relaxed) == u64::MAX {
            // First exec on this connection: the first channel open is slow (delayed ACKs,
            // session set-up), so measure the round trip once on a channel we close at once.
            let t = Instant::now();
            if let Ok(Ok(warm)) =
                tokio::time::timeout(first_byte, self.handle.channel_open_session()).await
            {
                let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
                self.min_round_trip_ns.fetch_min(ns, Ordering::Relaxed);
                let _ = warm.close().await;
            }
        }
        let started = Instant::now();
        let mut channel = tokio::time::timeout(first_byte, self.handle.channel_open_session())
            .await
            .map_err(|_| SshError::NoAnswer(first_byte))?
            .map_err(|e| SshError::Lost(e.to_string()))?;
        let measured = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let min = self
            .min_round_trip_ns
            .fetch_min(measured, Ordering::Relaxed)
            .min(measured);
        let round_trip = Duration::from_nanos(min);
        let sent = jiff::Timestamp::now();
        let mut out = ExecOutput {
            stdout: Vec::new(),
            stderr: Vec::new(),
            exit_status: None,
            sent,
            first_byte: sent,
            arrivals: Vec::new(),
            round_trip,
            truncated: false,
            timed_out: false,
        };
        let result = Self::run(
            &mut channel,
            command,
            stdin,
            &mut out,
            started,
            first_byte,
            total,
        )
        .await;
        if result.is_err() || out.timed_out {
            // Never leave a session open on the server after a failure: MaxSessions would
            // fill up refresh after refresh. Bounded, as the peer may be the problem.
            let _ = tokio::time::timeout(first_byte, channel.close()).await;
        }
        result.map(|()| out)
    }

    async fn run(
        channel: &mut russh::Channel<client::Msg>,
        command: &str,
        stdin: &[u8],
        out: &mut ExecOutput,
        started: Instant,
        first_byte: Duration,
        total: Duration,
    ) -> Result<(), SshError> {
        let lost = |e: russh::Error| SshError::Lost(e.to_string());
        channel.exec(true, command).await.map_err(lost)?;
        channel.data(stdin).await.map_err(lost)?;
        channel.eof().await.map_err(lost)?;
        let mut got_first = false;
        loop {
            let deadline = if got_first {
                total
            } else {
                first_byte.min(total)
            };
            let remaining = deadline.saturating_sub(started.elapsed());
            let Ok(msg) = tokio::time::timeout(remaining, channel.wait()).await else {
                if got_first {
                    // Keep what arrived: every section already complete is a good reading.
                    out.timed_out = true;
                    return Ok(());
                }
                return Err(SshError::NoAnswer(first_byte));
            };
            match msg {
                Some(ChannelMsg::Data { data }) => {
                    let now = jiff::Timestamp::now();
                    if !got_first {
                        got_first = true;
                        out.first_byte = now;
                    }
                    append_capped(&mut out.stdout, &data, &mut out.truncated);
                    if out.arrivals.len() < MAX_ARRIVALS {
                        out.arrivals.push((out.stdout.len(), now));
                    }
                }
                Some(ChannelMsg::ExtendedData { data, .. }) => {
                    append_capped(&mut out.stderr, &data, &mut out.truncated);
                }
                Some(ChannelMsg::ExitStatus { exit_status }) => out.exit_status = Some(exit_status),
                Some(ChannelMsg::Failure) => {
                    return Err(SshError::Protocol(
                        "the server refused to run the command".into(),
                    ));
                }
                Some(ChannelMsg::Close) | None => return Ok(()),
                Some(_) => {}
            }
        }
    }
}

fn append_capped(buf: &mut Vec<u8>, data: &[u8], truncated: &mut bool) {
    let room = MAX_OUTPUT.saturating_sub(buf.len());
    if data.len() > room {
        *truncated = true;
    }
    buf.extend_from_slice(&data[..data.len().min(room)]);
}

fn client_config(target: &Target, opts: &TransportOptions) -> client::Config {
    let mut config = client::Config {
        keepalive_interval: Some(opts.keepalive),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    };
    // Ask first for the key types known_hosts holds for this host, as OpenSSH does, so a
    // host recorded with its RSA key is not reported as unknown because it also has ed25519.
    if let Ok(text) = known_hosts::read(&opts.known_hosts) {
        let known = known_hosts::recorded_algorithms(&text, &target.address, target.port);
        if !known.is_empty() {
            let mut order: Vec<_> = known
                .iter()
                .flat_map(|a| {
                    if a.clone().is_rsa() {
                        vec![
                            russh::keys::Algorithm::Rsa {
                                hash: Some(russh::keys::HashAlg::Sha512),
                            },
                            russh::keys::Algorithm::Rsa {
                                hash: Some(russh::keys::HashAlg::Sha256),
                            },
                            a.clone(),
                        ]
                    } else {
                        vec![a.clone()]
                    }
                })
                .collect();
            for a in config.preferred.key.iter() {
                if !order.contains(a) {
                    order.push(a.clone());
                }
            }
            config.preferred.key = Cow::Owned(order);
        }
    }
    config
}
