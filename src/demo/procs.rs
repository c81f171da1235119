//! The demo site's processes: each host's long-lived services, and the process groups of the
//! commands its server runs.
//!
//! Services are started and stopped by one dedicated thread that lives as long as the site.
//! Each process is a copy of cat(1) reading a pipe whose other end only the console holds,
//! named as the process it stands for (`nginx`, `postgres`, `demo-web`) and showing its
//! command line as `argv[0]`. When the console ends, however it ends (SIGKILL included), the
//! kernel closes that end and cat exits at the end of its input: none is left behind. A
//! running service has a pid file,
//! `<sandbox>/run/<service>.pid` (its processes, the first one first), which the shims read:
//! the pid file goes when the service stops.

use std::collections::{HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// One service of one host: its processes (executable, command line), cwd the sandbox.
#[derive(Debug, Clone)]
pub(crate) struct ServiceSpec {
    pub host: String,
    pub name: String,
    pub sandbox: PathBuf,
    pub procs: Vec<(PathBuf, String)>,
}

impl ServiceSpec {
    fn pid_file(&self) -> PathBuf {
        self.sandbox.join("run").join(format!("{}.pid", self.name))
    }
}

/// (host, service)
type Key = (String, String);

enum Cmd {
    Launch(Box<ServiceSpec>, SyncSender<io::Result<()>>),
    Start(Key, SyncSender<io::Result<()>>),
    Stop(Key, SyncSender<()>),
    Running(Key, SyncSender<bool>),
    Shutdown,
}

/// Handle on the service thread. Every call blocks only for as long as a few forks or kills.
pub(crate) struct Services {
    tx: Mutex<Option<Sender<Cmd>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services").finish_non_exhaustive()
    }
}

fn key(host: &str, service: &str) -> Key {
    (host.to_string(), service.to_string())
}

/// A service being started: [`Launched::wait`] says how it went.
pub(crate) struct Launched(Option<mpsc::Receiver<io::Result<()>>>);

impl Launched {
    pub(crate) fn wait(self) -> io::Result<()> {
        self.0
            .and_then(|rx| rx.recv().ok())
            .unwrap_or_else(|| Err(io::Error::other("the demo site is stopped")))
    }
}

impl Services {
    pub(crate) fn spawn() -> io::Result<Arc<Services>> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("vigie-demo-services".into())
            .spawn(move || run(rx))?;
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

    /// Start a new service on the thread, and return at once: the site prepares the rest
    /// meanwhile (a service's processes take about a millisecond each to start).
    pub(crate) fn launch(&self, spec: ServiceSpec) -> Launched {
        let (reply, answer) = mpsc::sync_channel(1);
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|tx| tx.send(Cmd::Launch(Box::new(spec), reply)).is_ok());
        Launched(sent.then_some(answer))
    }

    /// Start a launched service again.
    pub(crate) fn start(&self, host: &str, service: &str) -> io::Result<()> {
        self.ask(|r| Cmd::Start(key(host, service), r))
            .unwrap_or_else(|| Err(io::Error::other("the demo site is stopped")))
    }

    pub(crate) fn stop(&self, host: &str, service: &str) {
        let _ = self.ask(|r| Cmd::Stop(key(host, service), r));
    }

    pub(crate) fn is_running(&self, host: &str, service: &str) -> bool {
        self.ask(|r| Cmd::Running(key(host, service), r))
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

/// A running service: its processes, the first one's life being the service's.
struct Running {
    children: Vec<Child>,
    pid_file: PathBuf,
}

impl Running {
    fn stop(mut self) {
        for c in &mut self.children {
            let _ = c.kill();
        }
        for c in &mut self.children {
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.pid_file);
    }
}

fn run(rx: mpsc::Receiver<Cmd>) {
    let mut specs: HashMap<Key, ServiceSpec> = HashMap::new();
    let mut running: HashMap<Key, Running> = HashMap::new();
    loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(Cmd::Launch(spec, reply)) => {
                let k = key(&spec.host, &spec.name);
                let result = if specs.contains_key(&k) {
                    Err(io::Error::other(format!(
                        "service {} of demo host {} launched twice",
                        k.1, k.0
                    )))
                } else {
                    let started = start(&spec);
                    specs.insert(k.clone(), *spec);
                    started.map(|r| {
                        running.insert(k, r);
                    })
                };
                let _ = reply.send(result);
            }
            Ok(Cmd::Start(k, reply)) => {
                let result = match (running.contains_key(&k), specs.get(&k)) {
                    (true, _) => Ok(()),
                    (false, None) => Err(io::Error::other(format!(
                        "no service {} on demo host {}",
                        k.1, k.0
                    ))),
                    (false, Some(spec)) => start(spec).map(|r| {
                        running.insert(k, r);
                    }),
                };
                let _ = reply.send(result);
            }
            Ok(Cmd::Stop(k, reply)) => {
                if let Some(r) = running.remove(&k) {
                    r.stop();
                }
                let _ = reply.send(());
            }
            Ok(Cmd::Running(k, reply)) => {
                let _ = reply.send(running.contains_key(&k));
            }
            Ok(Cmd::Shutdown) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        // A service whose first process was killed from outside is stopped (a zombie would
        // still show in ps) and left stopped, as on a host without a supervisor.
        let ended: Vec<Key> = running
            .iter_mut()
            .filter_map(|(k, r)| {
                let alive = r
                    .children
                    .first_mut()
                    .is_some_and(|c| matches!(c.try_wait(), Ok(None)));
                (!alive).then(|| k.clone())
            })
            .collect();
        for k in ended {
            if let Some(r) = running.remove(&k) {
                tracing::warn!(host = k.0, service = k.1, "demo service ended");
                r.stop();
            }
        }
    }
    for (_, r) in running {
        r.stop();
    }
}

/// Start every process of a service, then write its pid file; on a failure, none is left.
fn start(spec: &ServiceSpec) -> io::Result<Running> {
    let mut r = Running {
        children: Vec::new(),
        pid_file: spec.pid_file(),
    };
    for (exe, args) in &spec.procs {
        match start_one(spec, exe, args) {
            Ok(c) => r.children.push(c),
            Err(e) => {
                r.stop();
                return Err(e);
            }
        }
    }
    let pids: Vec<String> = r.children.iter().map(|c| c.id().to_string()).collect();
    if let Err(e) = std::fs::write(&r.pid_file, format!("{}\n", pids.join(" "))) {
        r.stop();
        return Err(e);
    }
    Ok(r)
}

fn start_one(spec: &ServiceSpec, exe: &Path, args: &str) -> io::Result<Child> {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(exe);
    // cat reading a pipe nobody writes to: alive, idle, and ps shows argv[0] alone.
    cmd.arg0(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &spec.sandbox)
        .current_dir(&spec.sandbox)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Its own process group: a Ctrl-C meant for the console is not meant for the site.
    cmd.process_group(0);
    // No pre_exec (a parent-death signal): the pipe does that job, and without a closure the
    // standard library spawns with posix_spawn, several times faster than a fork of the
    // console (the site starts ~20 processes).
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
