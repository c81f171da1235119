//! The cheap properties the benchmarks rely on (BENCHMARKS.md), checked by structure rather
//! than by time, so that a loaded CI machine cannot make them flaky:
//! - one exec per host per refresh, over one connection per host (counted by the servers);
//! - no redraw without change: the real console, paused on a screen where nothing moves,
//!   writes not one byte to its terminal.

#[path = "../benches/fleet/mod.rs"]
mod fleet;
#[path = "../benches/site/mod.rs"]
mod site;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigie::collect::{self, HostTracker, RefreshSettings};
use vigie::ssh::Pool;

const HOSTS: usize = 3;

/// A fleet of `HOSTS` servers answering the recorded probe output, and the configuration
/// (in `dir`) of a site made of them.
async fn fleet_site(dir: &std::path::Path, refresh: &str) -> (fleet::Fleet, vigie::config::Config) {
    let host_key = fleet::ed25519("host@fleet");
    let client = fleet::ed25519("client@fleet");
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let fleet = fleet::start(&[any; HOSTS], host_key.clone(), client.public_key().clone())
        .await
        .expect("the fleet listens");
    let (identity, known_hosts) =
        fleet::write_client_files(dir, &client, host_key.public_key(), &fleet.addrs).unwrap();
    let addrs = fleet.addrs.clone();
    // Generous deadlines: a loaded machine must not turn a slow exec into a reconnection.
    let text = site::config_text(
        HOSTS,
        |i| (addrs[i].ip().to_string(), addrs[i].port()),
        &identity,
        &known_hosts,
        refresh,
    )
    .replace("connect_timeout = \"3s\"", "connect_timeout = \"30s\"")
    .replace("command_timeout = \"10s\"", "command_timeout = \"60s\"");
    (fleet, site::load(&text, dir))
}

/// The collectors keep SMART baselines in the state directory: a scratch one, set once for
/// this whole test binary (never the tester's own).
fn isolate_state() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("structural-state");
        // SAFETY: only std reads the environment in these tests, under its own lock.
        unsafe { std::env::set_var("XDG_STATE_HOME", dir) };
    });
}

fn counts(v: &[std::sync::atomic::AtomicU64]) -> Vec<u64> {
    (0..v.len()).map(|i| fleet::Counters::get(v, i)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_refresh_is_one_exec_per_host_over_one_connection_per_host() {
    let dir = tempfile::tempdir().unwrap();
    isolate_state();
    let (fleet, config) = fleet_site(dir.path(), "5s").await;
    let pool = Pool::new(
        collect::routes(&config),
        collect::transport_options(&config, false),
    );
    let settings = RefreshSettings::from_config(&config);
    let hosts: Vec<_> = config.supervised().cloned().collect();
    let mut trackers: Vec<_> = hosts
        .iter()
        .map(|h| HostTracker::new(&config, &h.name))
        .collect();
    const REFRESHES: u64 = 4;
    for r in 0..REFRESHES {
        for (h, t) in hosts.iter().zip(trackers.iter_mut()) {
            let snap = collect::refresh_host(&pool, h, t, settings).await;
            assert!(snap.error.is_none(), "{}: {:?}", h.name, snap.error);
            // The whole probe was read from that one exec: every section, every check.
            assert!(snap.checks.len() > 10, "{}: only {:?}", h.name, snap.checks);
            assert_eq!(snap.stats.new_connection, r == 0, "{} refresh {r}", h.name);
        }
    }
    let c = &fleet.counters;
    assert_eq!(counts(&c.execs), vec![REFRESHES; HOSTS], "execs per host");
    assert_eq!(
        counts(&c.connections),
        vec![1; HOSTS],
        "connections per host"
    );
    // A channel per exec, and at most one more per connection (its round trip, measured once).
    for (s, e) in counts(&c.sessions).iter().zip(counts(&c.execs)) {
        assert!(*s <= e + 1, "{s} session channels for {e} execs");
    }
    // The probe travels whole in each exec, and nothing else does.
    let script = vigie::probe::ProbeRequest::new(false, false, false)
        .stdin()
        .len() as u64;
    for (i, b) in counts(&c.stdin_bytes).iter().enumerate() {
        assert!(
            *b >= REFRESHES * script && *b < REFRESHES * (script + 4096),
            "host {i}: {b} bytes of standard input for {REFRESHES} probes of {script}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_runs_one_exec_per_host_per_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    isolate_state();
    let (fleet, config) = fleet_site(dir.path(), "1s").await;
    let config = Arc::new(config);
    let pool = Arc::new(Pool::new(
        collect::routes(&config),
        collect::transport_options(&config, false),
    ));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = collect::engine::Engine::spawn(config.clone(), pool, tx);
    let mut snapshots = [0u64; HOSTS];
    // At least three refreshes of every host, however slow the machine.
    let deadline = Instant::now() + Duration::from_secs(120);
    while snapshots.iter().any(|n| *n < 3) && Instant::now() < deadline {
        if let Ok(Some(snap)) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
            assert!(snap.error.is_none(), "{}: {:?}", snap.name, snap.error);
            assert!(
                snap.stats.due.is_some(),
                "the refresh's tick travels with it"
            );
            let i = config
                .supervised()
                .position(|h| h.name == snap.name)
                .unwrap();
            snapshots[i] += 1;
        }
    }
    drop(engine);
    // Whatever was in flight when the engine stopped has reached the servers by now.
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Ok(snap) = rx.try_recv() {
        let i = config
            .supervised()
            .position(|h| h.name == snap.name)
            .unwrap();
        snapshots[i] += 1;
    }
    let c = &fleet.counters;
    let execs = counts(&c.execs);
    for i in 0..HOSTS {
        assert!(snapshots[i] >= 3, "host {i}: {snapshots:?} snapshots");
        // One exec per snapshot; one more at most, cut short when the engine stopped.
        assert!(
            execs[i] == snapshots[i] || execs[i] == snapshots[i] + 1,
            "host {i}: {} execs for {} snapshots",
            execs[i],
            snapshots[i]
        );
    }
    assert_eq!(
        counts(&c.connections),
        vec![1; HOSTS],
        "connections per host"
    );
}

/// A pseudo-terminal: the console's side, and ours (everything it writes, counted).
struct Pty {
    master: std::fs::File,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    fn open(cols: u16, rows: u16) -> (Pty, OwnedFd) {
        let mut master: libc::c_int = -1;
        let mut slave: libc::c_int = -1;
        let size = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty fills the two descriptors it is given.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened and are owned here only.
        let (master, slave) = unsafe {
            (
                std::fs::File::from_raw_fd(master),
                OwnedFd::from_raw_fd(slave),
            )
        };
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        (Pty { master, output }, slave)
    }

    fn len(&self) -> usize {
        self.output.lock().unwrap().len()
    }

    /// Whether `text` was written after byte `from`.
    fn shows_since(&self, from: usize, text: &str) -> bool {
        let out = self.output.lock().unwrap();
        String::from_utf8_lossy(&out[from.min(out.len())..]).contains(text)
    }

    fn wait_for(&self, from: usize, text: &str, timeout: Duration) {
        let start = Instant::now();
        while !self.shows_since(from, text) {
            assert!(
                start.elapsed() < timeout,
                "waited {timeout:?} for {text:?}; the console wrote:\n{}",
                String::from_utf8_lossy(&self.output.lock().unwrap())
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn key(&mut self, k: &str) {
        self.master.write_all(k.as_bytes()).unwrap();
    }
}

#[test]
fn a_paused_console_with_nothing_changing_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Hosts that refuse every connection: their line never changes ("never" read), while
    // refreshes keep failing and arriving every second.
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let key = fleet::ed25519("host");
    let addr: SocketAddr = format!("127.0.0.1:{refused}").parse().unwrap();
    let (identity, known_hosts) = fleet::write_client_files(
        dir.path(),
        &fleet::ed25519("client"),
        key.public_key(),
        &[addr],
    )
    .unwrap();
    let text = site::config_text(
        2,
        |_| ("127.0.0.1".into(), refused),
        &identity,
        &known_hosts,
        "1s",
    );
    let config = dir.path().join("bench.toml");
    std::fs::write(&config, text).unwrap();

    let (mut pty, slave) = Pty::open(100, 30);
    let stdio = || std::process::Stdio::from(slave.try_clone().unwrap());
    let slave_fd = slave.as_raw_fd();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"));
    cmd.arg("--config")
        .arg(&config)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "xterm-256color")
        .env("HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .env("USER", "tester")
        .stdin(stdio())
        .stdout(stdio())
        .stderr(stdio());
    // SAFETY: between fork and exec, only async-signal-safe calls: a session of its own with
    // the pty as its controlling terminal, as a terminal emulator does.
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(slave_fd, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut console = Kill(cmd.spawn().expect("the vigie binary starts"));
    drop(slave);

    // The Overview with both hosts failing.
    pty.wait_for(0, "srv-001", Duration::from_secs(30));
    pty.wait_for(0, "never", Duration::from_secs(30));
    let before = pty.len();
    pty.key("p");
    pty.wait_for(before, "PAUSED", Duration::from_secs(10));

    // A window of 4 s that no minute boundary crosses (the clock shows minutes), after 1.5 s
    // for the keypress's own frame to be out.
    let window = Duration::from_secs(4);
    let settle = Duration::from_millis(1500);
    let second_of_minute = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64()
            % 60.0
    };
    let need = (settle + window).as_secs_f64() + 0.5;
    if second_of_minute() + need >= 60.0 {
        std::thread::sleep(Duration::from_secs_f64(60.0 - second_of_minute() + 0.5));
    }
    std::thread::sleep(settle);
    let start = pty.len();
    std::thread::sleep(window);
    let written = pty.len() - start;
    assert_eq!(
        written,
        0,
        "a paused console with nothing changing wrote {written} bytes in {window:?}: {:?}",
        String::from_utf8_lossy(&pty.output.lock().unwrap()[start..])
    );

    // The measure can see writes: resuming redraws at once.
    let before = pty.len();
    pty.key("p");
    let t = Instant::now();
    while pty.len() == before {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "resuming wrote nothing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    pty.key("q");
    let t = Instant::now();
    while console.0.try_wait().unwrap().is_none() {
        assert!(t.elapsed() < Duration::from_secs(10), "q did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
}
