//! A fleet of SSH servers answering the probe with a recorded output, for the scale benchmark
//! (`benches/scale.rs`, 500 hosts in a server process of their own) and the structural test
//! (`tests/structural.rs`, a few hosts in-process).
//!
//! Each host is a russh server on its own address: public-key authentication with one client
//! key, one session per exec. An exec reads its standard input to the end (the probe: the
//! first line is `N=<nonce>`, then `SLOW=0|1`…, then the script), and answers with the probe
//! output recorded on a lab host (`fixtures/`), its nonce replaced by the request's and its
//! clock by this machine's (so the drift check reads a live clock). Nothing runs: the server
//! costs little, so the client's cost is what the benchmark sees. Every connection, session
//! channel and exec is counted per host: the structural test checks "one exec per host per
//! refresh, one connection per host" against these counters.
#![allow(dead_code)]

use russh::keys::{PrivateKey, PublicKey};
use russh::server::VerifiedPublicKey;
use russh::server::{self, Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session};
use russh::{Channel, ChannelId, ChannelMsg};
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The probe's output of a fast refresh (no SMART, no quotas) and of a slow one, recorded on
/// the lab's prod host by `cargo bench --bench lab -- --capture` (the probe's own request
/// and exec code, through OpenSSH's sshd).
pub const FAST: &[u8] = include_bytes!("../fixtures/probe-fast.out");
pub const SLOW: &[u8] = include_bytes!("../fixtures/probe-slow.out");

/// A recorded probe output, cut where the nonce and the clock go.
#[derive(Debug, Clone)]
pub struct Recorded {
    pieces: Vec<Piece>,
    len: usize,
}

#[derive(Debug, Clone)]
enum Piece {
    Text(Vec<u8>),
    Nonce,
    Clock,
}

impl Recorded {
    /// Cut `raw` (a probe output): its nonce is read from its first line.
    pub fn parse(raw: &[u8]) -> Recorded {
        let text = String::from_utf8_lossy(raw);
        let nonce = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("@@VIGIE "))
            .and_then(|l| l.split_whitespace().next())
            .expect("a probe output starts with its clock section")
            .to_string();
        let mut pieces = Vec::new();
        let mut clock_next = false;
        let mut text_piece = Vec::new();
        for line in raw.split_inclusive(|&b| b == b'\n') {
            if clock_next {
                clock_next = false;
                pieces.push(Piece::Text(std::mem::take(&mut text_piece)));
                pieces.push(Piece::Clock);
                text_piece.push(b'\n');
                continue;
            }
            let mut rest = line;
            while let Some(at) = find(rest, nonce.as_bytes()) {
                text_piece.extend_from_slice(&rest[..at]);
                pieces.push(Piece::Text(std::mem::take(&mut text_piece)));
                pieces.push(Piece::Nonce);
                rest = &rest[at + nonce.len()..];
            }
            text_piece.extend_from_slice(rest);
            if line.starts_with(b"@@VIGIE ") && line.ends_with(b" BEGIN clock\n") {
                clock_next = true;
            }
        }
        pieces.push(Piece::Text(text_piece));
        Recorded {
            pieces,
            len: raw.len(),
        }
    }

    /// The output for the request `nonce`, with this machine's clock.
    pub fn render(&self, nonce: &str) -> Vec<u8> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let clock = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
        let mut out = Vec::with_capacity(self.len + 64);
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.extend_from_slice(t),
                Piece::Nonce => out.extend_from_slice(nonce.as_bytes()),
                Piece::Clock => out.extend_from_slice(clock.as_bytes()),
            }
        }
        out
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What each host of the fleet saw, by host index.
#[derive(Debug)]
pub struct Counters {
    pub connections: Vec<AtomicU64>,
    /// Session channels opened (an exec needs one; the client may open one more per
    /// connection to time the round trip).
    pub sessions: Vec<AtomicU64>,
    pub execs: Vec<AtomicU64>,
    pub stdin_bytes: Vec<AtomicU64>,
    pub stdout_bytes: Vec<AtomicU64>,
}

impl Counters {
    fn new(n: usize) -> Self {
        let v = || (0..n).map(|_| AtomicU64::new(0)).collect();
        Counters {
            connections: v(),
            sessions: v(),
            execs: v(),
            stdin_bytes: v(),
            stdout_bytes: v(),
        }
    }

    pub fn get(v: &[AtomicU64], i: usize) -> u64 {
        v[i].load(Ordering::Relaxed)
    }

    pub fn total(v: &[AtomicU64]) -> u64 {
        v.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

/// A running fleet: dropping it stops every server.
pub struct Fleet {
    pub addrs: Vec<SocketAddr>,
    pub counters: Arc<Counters>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct Shared {
    index: usize,
    counters: Arc<Counters>,
    client_key: PublicKey,
    fast: Arc<Recorded>,
    slow: Arc<Recorded>,
}

/// Start one server per address of `addrs` (port 0: any free port). Every host accepts
/// `client_key` only and presents `host_key`.
pub async fn start(
    addrs: &[SocketAddr],
    host_key: PrivateKey,
    client_key: PublicKey,
) -> std::io::Result<Fleet> {
    let config = Arc::new(server::Config {
        server_id: russh::SshId::Standard(Cow::Borrowed("SSH-2.0-vigie_fleet")),
        methods: russh::MethodSet::from(&[russh::MethodKind::PublicKey][..]),
        auth_rejection_time: Duration::from_millis(100),
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![host_key],
        nodelay: true,
        ..Default::default()
    });
    let counters = Arc::new(Counters::new(addrs.len()));
    let fast = Arc::new(Recorded::parse(FAST));
    let slow = Arc::new(Recorded::parse(SLOW));
    let mut bound = Vec::new();
    let mut tasks = Vec::new();
    for (index, addr) in addrs.iter().enumerate() {
        let listener = TcpListener::bind(addr).await?;
        bound.push(listener.local_addr()?);
        let shared = Arc::new(Shared {
            index,
            counters: counters.clone(),
            client_key: client_key.clone(),
            fast: fast.clone(),
            slow: slow.clone(),
        });
        tasks.push(tokio::spawn(serve(listener, config.clone(), shared)));
    }
    Ok(Fleet {
        addrs: bound,
        counters,
        tasks,
    })
}

async fn serve(listener: TcpListener, config: Arc<server::Config>, shared: Arc<Shared>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        shared.counters.connections[shared.index].fetch_add(1, Ordering::Relaxed);
        let handler = Conn {
            shared: shared.clone(),
            channels: HashMap::new(),
        };
        let config = config.clone();
        tokio::spawn(async move {
            if let Ok(session) = server::run_stream(config, tcp, handler).await {
                let _ = session.await;
            }
        });
    }
}

struct Conn {
    shared: Arc<Shared>,
    channels: HashMap<ChannelId, Channel<Msg>>,
}

impl Conn {
    fn accepts(&self, key: &PublicKey) -> Auth {
        if key.key_data() == self.shared.client_key.key_data() {
            Auth::Accept
        } else {
            Auth::reject()
        }
    }
}

impl server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(self.accepts(offer.public_key))
    }

    async fn auth_publickey(
        &mut self,
        _user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(self.accepts(key.public_key))
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.shared.counters.sessions[self.shared.index].fetch_add(1, Ordering::Relaxed);
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(ch) = self.channels.remove(&channel) else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        self.shared.counters.execs[self.shared.index].fetch_add(1, Ordering::Relaxed);
        session.channel_success(channel)?;
        tokio::spawn(answer(ch, self.shared.clone()));
        Ok(())
    }
}

/// Read the request to its end, answer with the recorded output.
async fn answer(channel: Channel<Msg>, shared: Arc<Shared>) {
    let (mut rx, tx) = channel.split();
    let mut stdin = Vec::new();
    while let Some(msg) = rx.wait().await {
        match msg {
            ChannelMsg::Data { data } => stdin.extend_from_slice(&data),
            ChannelMsg::Eof | ChannelMsg::Close => break,
            _ => {}
        }
    }
    let i = shared.index;
    let n = u64::try_from(stdin.len()).unwrap_or(u64::MAX);
    shared.counters.stdin_bytes[i].fetch_add(n, Ordering::Relaxed);
    let head = String::from_utf8_lossy(&stdin[..stdin.len().min(256)]).into_owned();
    let nonce = head
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("N="))
        .unwrap_or("")
        .to_string();
    let recorded = if head.lines().any(|l| l == "SLOW=1") {
        &shared.slow
    } else {
        &shared.fast
    };
    let out = recorded.render(&nonce);
    let n = u64::try_from(out.len()).unwrap_or(u64::MAX);
    shared.counters.stdout_bytes[i].fetch_add(n, Ordering::Relaxed);
    let _ = tx.data_bytes(out).await;
    let _ = tx.exit_status(0).await;
    let _ = tx.eof().await;
    let _ = tx.close().await;
}

/// A fresh ed25519 key.
pub fn ed25519(comment: &str) -> PrivateKey {
    use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};
    let seed: [u8; 32] = rand::random();
    let mut key = PrivateKey::new(KeypairData::from(Ed25519Keypair::from_seed(&seed)), comment)
        .expect("an ed25519 key");
    key.set_comment(comment);
    key
}

/// The files a client needs to reach the fleet: its private key and a known_hosts naming
/// every address with `host_key`.
pub fn write_client_files(
    dir: &std::path::Path,
    client: &PrivateKey,
    host_key: &PublicKey,
    addrs: &[SocketAddr],
) -> std::io::Result<(std::path::PathBuf, std::path::PathBuf)> {
    use russh::keys::ssh_key::LineEnding;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let identity = dir.join("id_ed25519");
    let text = client
        .to_openssh(LineEnding::LF)
        .map_err(std::io::Error::other)?;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&identity)?
        .write_all(text.as_bytes())?;
    let line = host_key.to_openssh().map_err(std::io::Error::other)?;
    let mut known = String::new();
    for a in addrs {
        known.push_str(&format!("[{}]:{} {line}\n", a.ip(), a.port()));
    }
    let known_hosts = dir.join("known_hosts");
    std::fs::write(&known_hosts, known)?;
    Ok((identity, known_hosts))
}
