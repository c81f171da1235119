//! One demo host's SSH server (russh's server side) on 127.0.0.1.
//!
//! Public-key authentication with the demo's client key only. `exec` runs `/bin/sh -c` in the
//! host's sandbox with a clean environment; `shell`, `pty-req`, subsystems, X11 and agent
//! forwarding are refused. The bastion also forwards `direct-tcpip` channels, to the other
//! demo servers only.

use super::gate::{Gate, GatedStream, Mode};
use super::procs::{Groups, signal_group};
use russh::keys::PublicKey;
use russh::server::{
    self, Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelId, ChannelMsg, ChannelOpenFailure, ChannelWriteHalf, Sig};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Commands one demo server runs at once; more are refused (as sshd's MaxSessions would).
pub(crate) const MAX_EXECS: usize = 8;

/// Everything one demo server needs, shared by its connections.
pub(crate) struct HostServer {
    pub name: String,
    pub sandbox: PathBuf,
    /// `$USER` of the commands it runs.
    pub user: String,
    pub config: Arc<server::Config>,
    pub client_key: PublicKey,
    pub gate: Arc<Gate>,
    pub execs: Arc<Semaphore>,
    /// Ports on 127.0.0.1 this server forwards `direct-tcpip` channels to (the bastion's list
    /// of the other demo servers; empty elsewhere).
    pub forward_to: Vec<u16>,
    pub groups: Arc<Groups>,
}

/// Accept connections until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, host: Arc<HostServer>) {
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                tracing::debug!(host = host.name, error = %e, "demo accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if host.gate.mode() == Mode::Closed {
            return;
        }
        let _ = tcp.set_nodelay(true);
        let host = host.clone();
        tokio::spawn(async move {
            // A frozen host: the kernel completed the TCP handshake, nobody says a word, not
            // even the banner.
            if !host.gate.until_open().await {
                return;
            }
            let stream = GatedStream::new(tcp, &host.gate);
            let handler = Connection {
                host: host.clone(),
                channels: HashMap::new(),
            };
            match server::run_stream(host.config.clone(), stream, handler).await {
                Ok(session) => {
                    if let Err(e) = session.await {
                        tracing::debug!(host = host.name, error = %e, "demo session ended");
                    }
                }
                Err(e) => tracing::debug!(host = host.name, error = %e, "demo session refused"),
            }
        });
    }
}

/// One client connection.
struct Connection {
    host: Arc<HostServer>,
    /// Session channels opened and not yet running a command.
    channels: HashMap<ChannelId, Channel<Msg>>,
}

impl Connection {
    fn is_client_key(&self, key: &PublicKey) -> bool {
        key.key_data() == self.host.client_key.key_data()
    }
}

impl server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(if self.is_client_key(offer.public_key) {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn auth_publickey(
        &mut self,
        _user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(if self.is_client_key(key.public_key) {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
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

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let port = u16::try_from(port_to_connect).ok();
        let allowed = matches!(host_to_connect, "127.0.0.1" | "localhost")
            && port.is_some_and(|p| self.host.forward_to.contains(&p));
        let Some(port) = port.filter(|_| allowed) else {
            tracing::debug!(
                host = self.host.name,
                to = host_to_connect,
                port = port_to_connect,
                "demo forwarding refused"
            );
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        };
        let gate = self.host.gate.clone();
        tokio::spawn(async move {
            let tcp = tokio::time::timeout(
                Duration::from_secs(5),
                TcpStream::connect(("127.0.0.1", port)),
            )
            .await;
            match tcp {
                Ok(Ok(tcp)) => {
                    let _ = tcp.set_nodelay(true);
                    reply.accept().await;
                    let mut tcp = GatedStream::new(tcp, &gate);
                    let mut stream = channel.into_stream();
                    let _ = tokio::io::copy_bidirectional(&mut stream, &mut tcp).await;
                }
                _ => reply.reject(ChannelOpenFailure::ConnectFailed).await,
            }
        });
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(ch) = self.channels.remove(&channel) else {
            // A second command on the same channel.
            session.channel_failure(channel)?;
            return Ok(());
        };
        let Ok(permit) = self.host.execs.clone().try_acquire_owned() else {
            tracing::warn!(host = self.host.name, "demo server busy: command refused");
            self.channels.insert(channel, ch);
            session.channel_failure(channel)?;
            return Ok(());
        };
        session.channel_success(channel)?;
        let command = String::from_utf8_lossy(data).into_owned();
        tokio::spawn(run_command(ch, command, self.host.clone(), permit));
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _variable_name: &str,
        _variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }
}

fn signal_number(sig: &Sig) -> Option<libc::c_int> {
    Some(match sig {
        Sig::HUP => libc::SIGHUP,
        Sig::INT => libc::SIGINT,
        Sig::QUIT => libc::SIGQUIT,
        Sig::KILL => libc::SIGKILL,
        Sig::TERM => libc::SIGTERM,
        Sig::USR1 => libc::SIGUSR1,
        Sig::ALRM => libc::SIGALRM,
        _ => return None,
    })
}

/// Copy a pipe of the command to the channel (stdout as data, stderr as extended data 1).
async fn pump<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    tx: Arc<ChannelWriteHalf<Msg>>,
    ext: Option<u32>,
) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let n = match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let chunk = buf.get(..n).unwrap_or_default().to_vec();
        let sent = match ext {
            None => tx.data_bytes(chunk).await,
            Some(e) => tx.extended_data_bytes(e, chunk).await,
        };
        if sent.is_err() {
            return;
        }
    }
}

/// Run one `exec` request as sshd would: `/bin/sh -c COMMAND` in the sandbox, stdin from the
/// channel, stdout and stderr to it, then the exit status and the close.
async fn run_command(
    channel: Channel<Msg>,
    command: String,
    host: Arc<HostServer>,
    _permit: OwnedSemaphorePermit,
) {
    let (mut rx, tx) = channel.split();
    let tx = Arc::new(tx);
    let bin = host.sandbox.join("bin");
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(&command)
        .env_clear()
        .env("PATH", path)
        .env("HOME", &host.sandbox)
        .env("LC_ALL", "C")
        .env("USER", &host.user)
        .env("LOGNAME", &host.user)
        .env("SHELL", "/bin/sh")
        .current_dir(&host.sandbox)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let msg = format!("vigie demo: cannot run /bin/sh: {e}\n");
            let _ = tx.extended_data_bytes(1, msg.into_bytes()).await;
            let _ = tx.exit_status(127).await;
            let _ = tx.eof().await;
            let _ = tx.close().await;
            return;
        }
    };
    let pgid = child.id();
    let _tracked = pgid.map(|p| host.groups.track(p));
    tracing::debug!(host = host.name, pgid, command, "demo exec");

    // Client → command: stdin until EOF, signals. Ends when the client closes the channel.
    let mut stdin = child.stdin.take();
    let (gone_tx, gone_rx) = tokio::sync::oneshot::channel::<()>();
    let input = tokio::spawn(async move {
        while let Some(msg) = rx.wait().await {
            match msg {
                ChannelMsg::Data { data } => {
                    if let Some(s) = stdin.as_mut()
                        && s.write_all(&data).await.is_err()
                    {
                        stdin = None;
                    }
                }
                ChannelMsg::Eof => stdin = None,
                ChannelMsg::Signal { signal } => {
                    if let (Some(p), Some(sig)) = (pgid, signal_number(&signal)) {
                        signal_group(p, sig);
                    }
                }
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        let _ = gone_tx.send(());
    });

    let out = pump(child.stdout.take(), tx.clone(), None);
    let err = pump(child.stderr.take(), tx.clone(), Some(1));
    let client_stayed = tokio::select! {
        _ = async { tokio::join!(out, err) } => true,
        // The client went away: the pipes close, and the command goes on (it gets SIGPIPE
        // if it writes), as under sshd without a terminal.
        _ = gone_rx => false,
    };
    let status = child.wait().await;
    input.abort();
    if client_stayed {
        use std::os::unix::process::ExitStatusExt;
        let code = match &status {
            Ok(s) => s
                .code()
                .or_else(|| s.signal().map(|n| 128 + n))
                .unwrap_or(255),
            Err(_) => 255,
        };
        let _ = tx.exit_status(u32::try_from(code).unwrap_or(255)).await;
        let _ = tx.eof().await;
        let _ = tx.close().await;
    }
}
