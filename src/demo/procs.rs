//! The demo site's processes: each host's long-lived service, and the process groups of the
//! commands its server runs.
//!
//! Services are started and stopped by one dedicated thread that lives as long as the site.
//! They carry a parent-death signal tied to that thread, so that even a console killed with
//! SIGKILL leaves no `demo-web infinity` behind.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// One host's service: `<sandbox>/bin/<name> infinity`, cwd the sandbox.
#[derive(Debug, Clone)]
pub(crate) struct ServiceSpec {
    pub host: String,
    pub exe: PathBuf,
    pub sandbox: PathBuf,
}

enum Cmd {
    Start(String, SyncSender<io::Result<()>>),
    Stop(String, SyncSender<()>),
    Running(String, SyncSender<bool>),
    Shutdown,
}

/// Handle on the service thread. Every call blocks only for as long as a fork or a kill.
pub(crate) struct Services {
    tx: Mutex<Option<Sender<Cmd>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}

impl Services {
    pub(crate) fn spawn(specs: Vec<ServiceSpec>) -> io::Result<Arc<Services>> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("vigie-demo-services".into())
            .spawn(move || run(specs, rx))?;
        Ok(Arc::new(Services {
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        }))
    }

    fn ask<T>(&self, make: impl FnOnce(SyncSender<T>) -> Cmd) -> Option<T> {
        let (reply, answer) = mpsc::sync_channel(1);
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|tx| tx.send(make(reply)).is_ok())
            .unwrap_or(false);
        if !sent {
            return None;
        }
        answer.recv().ok()
    }

    pub(crate) fn start(&self, host: &str) -> io::Result<()> {
        self.ask(|r| Cmd::Start(host.to_string(), r))
            .unwrap_or_else(|| Err(io::Error::other("the demo site is stopped")))
    }

    pub(crate) fn stop(&self, host: &str) {
        let _ = self.ask(|r| Cmd::Stop(host.to_string(), r));
    }

    pub(crate) fn is_running(&self, host: &str) -> bool {
        self.ask(|r| Cmd::Running(host.to_string(), r))
            .unwrap_or(false)
    }

    /// Kill every service, wait for them, end the thread. Idempotent.
    pub(crate) fn shutdown(&self) {
        if let Some(tx) = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = tx.send(Cmd::Shutdown);
        }
        if let Some(t) = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = t.join();
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(specs: Vec<ServiceSpec>, rx: mpsc::Receiver<Cmd>) {
    let mut children: HashMap<String, Child> = HashMap::new();
    let spec_of = |host: &str| specs.iter().find(|s| s.host == host);
    loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(Cmd::Start(host, reply)) => {
                let result = match (children.contains_key(&host), spec_of(&host)) {
                    (true, _) => Ok(()),
                    (false, None) => Err(io::Error::other(format!("no demo host {host}"))),
                    (false, Some(spec)) => start(spec).map(|c| {
                        children.insert(host.clone(), c);
                    }),
                };
                let _ = reply.send(result);
            }
            Ok(Cmd::Stop(host, reply)) => {
                if let Some(mut c) = children.remove(&host) {
                    let _ = c.kill();
                    let _ = c.wait();
                }
                let _ = reply.send(());
            }
            Ok(Cmd::Running(host, reply)) => {
                let _ = reply.send(children.contains_key(&host));
            }
            Ok(Cmd::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        // A service killed from outside is reaped (a zombie would still show in ps) and left
        // stopped, as it would be on a host without a supervisor.
        children.retain(|host, c| match c.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) => {
                tracing::warn!(host, %status, "demo service ended");
                false
            }
            Err(_) => false,
        });
    }
    for (_, mut c) in children {
        let _ = c.kill();
        let _ = c.wait();
    }
}

fn start(spec: &ServiceSpec) -> io::Result<Child> {
    let mut cmd = Command::new(&spec.exe);
    cmd.arg("infinity")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &spec.sandbox)
        .current_dir(&spec.sandbox)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    use std::os::unix::process::CommandExt;
    // Its own process group: a Ctrl-C meant for the console is not meant for the site.
    cmd.process_group(0);
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: the closure runs between fork and exec and only makes async-signal-safe
        // calls (prctl, getppid, _exit).
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(
                    libc::PR_SET_PDEATHSIG,
                    libc::SIGKILL as libc::c_ulong,
                    0,
                    0,
                    0,
                ) != 0
                {
                    return Err(io::Error::last_os_error());
                }
                // The console died between fork and prctl: nobody would ever kill us.
                if u32::try_from(libc::getppid()).ok() != Some(parent) {
                    libc::_exit(0);
                }
                Ok(())
            });
        }
    }
    cmd.spawn()
}

/// Process groups of the commands the demo servers are running, killed when the site stops.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    live: Mutex<HashSet<u32>>,
}

/// Keeps a process group registered while its leader runs.
pub(crate) struct Tracked {
    groups: Arc<Groups>,
    pgid: u32,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.groups
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.pgid);
    }
}

impl Groups {
    pub(crate) fn track(self: &Arc<Self>, pgid: u32) -> Tracked {
        self.live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(pgid);
        Tracked {
            groups: self.clone(),
            pgid,
        }
    }

    pub(crate) fn kill_all(&self) {
        let live: Vec<u32> = self
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .copied()
            .collect();
        for pgid in live {
            signal_group(pgid, libc::SIGKILL);
        }
    }
}

/// Send `sig` to a process group.
pub(crate) fn signal_group(pgid: u32, sig: libc::c_int) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid)
        && pgid > 1
    {
        // SAFETY: killpg has no memory effects; a stale group id only yields ESRCH.
        unsafe {
            libc::killpg(pgid, sig);
        }
    }
}

/// Kill every process whose working directory lies under `dir` (the sandboxes): commands
/// that detached themselves from their group (`setsid`, runbook steps made to survive the
/// console) would otherwise outlive the site. Linux only; elsewhere nothing is found.
pub(crate) fn kill_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let me = std::process::id();
    let mut killed = 0;
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cwd) = std::fs::read_link(e.path().join("cwd")) else {
            continue;
        };
        if cwd.starts_with(dir)
            && let Ok(p) = libc::pid_t::try_from(pid)
        {
            // SAFETY: kill has no memory effects.
            unsafe {
                libc::kill(p, libc::SIGKILL);
            }
            killed += 1;
        }
    }
    killed
}
