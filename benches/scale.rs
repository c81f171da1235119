//! `cargo bench --bench scale`: 500 hosts at a 5 s refresh on this machine (as root).
//!
//! The hosts are russh servers (`fleet/`) answering every exec with the probe output
//! recorded on a lab host, one per loopback address 127.1.x.y:2222, in two server processes
//! of their own (this binary again, `--fleet-server`), so that the client's figures are the
//! client's alone. Everything runs in a private network namespace (`unshare -n`): the
//! black-hole rules (nftables, installed with apt when missing) touch nothing else.
//!
//! 1. The console's data path in this process — `Engine::spawn`, `ConsoleState::apply`, and
//!    the render of the Overview (200×60, ratatui's TestBackend) through the console's
//!    presenter, as often as the console renders (each second, and `DATA_FRAME` after the
//!    first snapshot of a burst): CPU (% of one core), RSS, and the latency of every refresh
//!    (its tick → its snapshot in the console state).
//! 2. The same with 50 hosts black-holed (every packet to and from them dropped): the
//!    latency of the other 450.
//! 3. The same with those 50 frozen (their server process SIGSTOPped, like a frozen sshd).
//! 4. The real `vigie` binary in tmux against the same site: CPU and RSS from /proc; then
//!    paused (after a minute, when every age on screen has gone to minutes): CPU and the bytes
//!    it writes to its terminal. Then the same on a small site (`--idle-hosts`, 5 of the same
//!    servers): what an idle console costs beside the collection of 500 hosts.
//!
//! Options (after `--`): `--hosts N` (500), `--black N` (50), `--seconds S` (60, each
//! window), `--warmup S` (15), `--idle-hosts N` (5), `--no-real` (skip 4).

#[path = "fleet/mod.rs"]
mod fleet;
mod site;
mod util;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use util::{kib, ms, table, verdict};
use vigie::collect::{self, HostSnapshot, engine::Engine};
use vigie::ssh::Pool;
use vigie::ui::redraw::{DATA_FRAME, Presenter};
use vigie::ui::state::ConsoleState;

const PORT: u16 = 2222;
const NETNS_ENV: &str = "VIGIE_BENCH_NETNS";

fn addr(i: usize) -> SocketAddr {
    let ip = std::net::Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8);
    SocketAddr::from((ip, PORT))
}

fn main() {
    if let Some(dir) = util::arg("fleet-server") {
        server_main(Path::new(&dir));
        return;
    }
    if !util::bench_mode("scale") {
        return;
    }
    // SAFETY: geteuid has no side effect.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("scale: run as root (a private network namespace, nftables rules)");
        std::process::exit(1);
    }
    if Command::new("nft").arg("--version").output().is_err() {
        println!("installing nftables (apt-get) for the black-hole rules…");
        run("apt-get", &["install", "-y", "-q", "nftables"]);
    }
    if std::env::var_os(NETNS_ENV).is_none() {
        // Again, in a network namespace of its own.
        let status = Command::new("unshare")
            .arg("-n")
            .arg("--")
            .arg(std::env::current_exe().expect("this binary"))
            .args(std::env::args().skip(1))
            .env(NETNS_ENV, "1")
            .status()
            .expect("unshare (util-linux) runs");
        std::process::exit(status.code().unwrap_or(1));
    }
    run("ip", &["link", "set", "lo", "up"]);
    let hosts: usize = util::arg_or("hosts", 500);
    let black: usize = util::arg_or::<usize>("black", 50).min(hosts);
    let window = Duration::from_secs(util::arg_or("seconds", 60));
    let warmup = Duration::from_secs(util::arg_or("warmup", 15));
    util::header(&format!(
        "cargo bench --bench scale -- --hosts {hosts} --black {black} --seconds {} --warmup {}",
        window.as_secs(),
        warmup.as_secs()
    ));

    let dir = tempfile::tempdir().expect("a temporary directory");
    let host_key = fleet::ed25519("host@fleet");
    let client = fleet::ed25519("operator@bench");
    let addrs: Vec<SocketAddr> = (0..hosts).map(addr).collect();
    let (identity, known_hosts) =
        fleet::write_client_files(dir.path(), &client, host_key.public_key(), &addrs)
            .expect("the client's files");
    std::fs::write(
        dir.path().join("host_key"),
        host_key
            .to_openssh(russh::keys::ssh_key::LineEnding::LF)
            .expect("the host key")
            .as_bytes(),
    )
    .expect("the host key is written");
    std::fs::write(
        dir.path().join("client.pub"),
        client.public_key().to_openssh().expect("the client key"),
    )
    .expect("the client key is written");
    let text = site::config_text(
        hosts,
        |i| (addr(i).ip().to_string(), PORT),
        &identity,
        &known_hosts,
        "5s",
    );
    let config_path = dir.path().join("bench.toml");
    let config = site::load(&text, dir.path());
    // SMART baselines of 500 hosts go to a scratch state directory.
    let state_dir = dir.path().join("state");
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var("XDG_STATE_HOME", &state_dir) };

    // The hosts: the last `black` in a process of their own, to freeze it.
    let healthy = hosts - black;
    let mut servers = vec![Server::start(dir.path(), 0, healthy)];
    if black > 0 {
        servers.push(Server::start(dir.path(), healthy, black));
    }
    println!(
        "{hosts} hosts on 127.1.x.y:{PORT} in {} server processes; refresh 5 s; windows of {} s \
         after a warm-up of {} s",
        servers.len(),
        window.as_secs(),
        warmup.as_secs()
    );
    println!();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let results = rt.block_on(in_process(
        Arc::new(config),
        healthy,
        black,
        window,
        warmup,
        &servers,
    ));
    drop(rt);
    // The real console on the same site, then on a small one (the same servers' first
    // hosts): idle, a console costs what its collection costs.
    let small = util::arg_or("idle-hosts", 5usize).min(hosts);
    let small_path = dir.path().join("small.toml");
    std::fs::write(
        &small_path,
        site::config_text(
            small,
            |i| (addr(i).ip().to_string(), PORT),
            &identity,
            &known_hosts,
            "5s",
        ),
    )
    .expect("the small site's config");
    let real: Vec<(String, Real)> = if util::flag("no-real") {
        Vec::new()
    } else {
        [(hosts, &config_path), (small, &small_path)]
            .into_iter()
            .filter_map(|(n, path)| {
                real_console(path, &state_dir, window, warmup).map(|r| (format!("{n} hosts"), r))
            })
            .collect()
    };
    drop(servers);

    println!("the console's data path in this process (Engine, ConsoleState, Overview 200×60):");
    let mut rows = vec![vec![
        "phase".to_string(),
        "CPU (1 core)".into(),
        "RSS (peak)".into(),
        "refreshes".into(),
        "latency of the healthy hosts: p50 / p90 / p99 / max".into(),
        "late (> 1 s)".into(),
        "missed".into(),
        "frames written / rendered".into(),
    ]];
    for r in &results {
        rows.push(r.row());
    }
    table(&rows);
    println!();
    let base = &results[0];
    println!(
        "targets: client CPU < 10 % of one core: {:.1} % {}; RSS < 150 MiB: {} {}",
        base.cpu_pct,
        verdict(base.cpu_pct < 10.0),
        kib(base.hwm_kib as f64 * 1024.0),
        verdict(base.hwm_kib < 150 * 1024),
    );
    for r in &results[1..] {
        let p99 = r.latency.map(|l| l[2]).unwrap_or_default();
        let base99 = base.latency.map(|l| l[2]).unwrap_or_default();
        println!(
            "{}: the other {healthy} stay on time: p99 {} (all answering: {}), {} late, {} missed refreshes {}",
            r.name,
            ms(p99),
            ms(base99),
            r.late,
            r.missed,
            verdict(r.missed == 0 && p99 < Duration::from_secs(1)),
        );
    }
    println!();
    if !real.is_empty() {
        println!("the real console (`vigie --config …` in tmux, 200×60):");
        let mut rows = vec![vec![
            "site, phase".to_string(),
            "CPU (1 core)".into(),
            "RSS (peak)".into(),
            "written to the terminal".into(),
            "target".into(),
        ]];
        for (site, r) in &real {
            rows.push(vec![
                format!("{site}, running"),
                format!("{:.2} %", r.cpu_pct),
                format!(
                    "{} ({})",
                    kib(r.rss_kib as f64 * 1024.0),
                    kib(r.hwm_kib as f64 * 1024.0)
                ),
                format!("{}/s", kib(r.bytes as f64 / window.as_secs_f64())),
                format!(
                    "< 10 %, < 150 MiB {}",
                    verdict(r.cpu_pct < 10.0 && r.hwm_kib < 150 * 1024)
                ),
            ]);
            rows.push(vec![
                format!("{site}, paused (ages in minutes)"),
                format!("{:.2} %", r.idle_cpu_pct),
                String::new(),
                format!(
                    "{} in {} s ({} seconds with a write)",
                    kib(r.idle_bytes as f64),
                    window.as_secs(),
                    r.idle_write_seconds
                ),
                format!(
                    "< 0.5 % {}{}",
                    verdict(r.idle_cpu_pct < 0.5),
                    if r.idle_cpu_pct >= 0.5 && r.idle_bytes == 0 {
                        " (nothing drawn: the collection goes on while paused)"
                    } else {
                        ""
                    }
                ),
            ]);
        }
        table(&rows);
    }
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One server process: hosts `first..first+count`.
struct Server {
    child: Child,
}

impl Server {
    fn start(dir: &Path, first: usize, count: usize) -> Server {
        let mut child = Command::new(std::env::current_exe().expect("this binary"))
            .arg("--fleet-server")
            .arg(dir)
            .args(["--first", &first.to_string(), "--count", &count.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server process starts");
        let mut line = String::new();
        let out = child.stdout.take().expect("its stdout");
        std::io::BufReader::new(out)
            .read_line(&mut line)
            .expect("the server says it is ready");
        assert_eq!(line.trim(), "READY", "the server process failed");
        Server { child }
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: a signal to our own child.
        unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.signal(libc::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `--fleet-server DIR --first I --count N`: serve until standard input closes.
fn server_main(dir: &Path) {
    let first: usize = util::arg_or("first", 0);
    let count: usize = util::arg_or("count", 0);
    let key = std::fs::read_to_string(dir.join("host_key")).expect("the host key");
    let host_key = russh::keys::PrivateKey::from_openssh(key).expect("an OpenSSH key");
    let client = std::fs::read_to_string(dir.join("client.pub")).expect("the client key");
    let client = russh::keys::PublicKey::from_openssh(client.trim()).expect("a public key");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let addrs: Vec<SocketAddr> = (first..first + count).map(addr).collect();
        let _fleet = fleet::start(&addrs, host_key, client)
            .await
            .expect("every address is bound");
        println!("READY");
        let _ = std::io::stdout().flush();
        // Until the bench closes our standard input (or dies).
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = String::new();
            let _ = std::io::stdin().read_line(&mut sink);
        })
        .await;
    });
}

/// One window of the in-process console.
struct Phase {
    name: String,
    cpu_pct: f64,
    rss_kib: u64,
    hwm_kib: u64,
    refreshes: u64,
    latency: Option<[Duration; 4]>,
    late: usize,
    /// Healthy hosts with fewer refreshes in the window than its length allows.
    missed: usize,
    written: u64,
    rendered: u64,
}

impl Phase {
    fn row(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            format!("{:.1} %", self.cpu_pct),
            format!(
                "{} ({})",
                kib(self.rss_kib as f64 * 1024.0),
                kib(self.hwm_kib as f64 * 1024.0)
            ),
            self.refreshes.to_string(),
            self.latency.map_or_else(
                || "—".into(),
                |[a, b, c, d]| format!("{} / {} / {} / {}", ms(a), ms(b), ms(c), ms(d)),
            ),
            self.late.to_string(),
            self.missed.to_string(),
            format!("{} / {}", self.written, self.rendered),
        ]
    }
}

/// The console's loop without a terminal: snapshots into the state, a render to a
/// TestBackend through the presenter whenever something changed, the clock each second.
struct Console {
    state: ConsoleState,
    term: Terminal<TestBackend>,
    presenter: Presenter,
    theme: vigie::ui::theme::Theme,
    rx: tokio::sync::mpsc::UnboundedReceiver<HostSnapshot>,
    index: std::collections::HashMap<String, usize>,
}

/// What one window saw: per host, the latencies of its refreshes.
struct Seen {
    latencies: Vec<Vec<Duration>>,
    /// When each host's first failed refresh arrived.
    first_error: Vec<Option<Instant>>,
}

impl Console {
    async fn run_for(&mut self, d: Duration) -> Seen {
        let mut seen = Seen {
            latencies: vec![Vec::new(); self.index.len()],
            first_error: vec![None; self.index.len()],
        };
        let end = tokio::time::Instant::now() + d;
        let mut clock = tokio::time::interval(Duration::from_secs(1));
        clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        // As the console's loop (ui::run): a frame at once for the clock's second, a frame
        // `DATA_FRAME` after the first snapshot of a burst.
        let mut dirty = true;
        let mut data_frame: Option<tokio::time::Instant> = None;
        loop {
            if dirty {
                let (state, theme) = (&self.state, &self.theme);
                self.presenter
                    .present(&mut self.term, |f| vigie::ui::render::draw(f, state, theme))
                    .expect("a test terminal");
                dirty = false;
                data_frame = None;
            }
            tokio::select! {
                Some(snap) = self.rx.recv() => {
                    let now = Instant::now();
                    self.state.now = jiff::Timestamp::now();
                    let mut take = |snap: HostSnapshot, seen: &mut Seen| {
                        if let Some(&i) = self.index.get(&snap.name) {
                            if let Some(due) = snap.stats.due {
                                seen.latencies[i].push(now.saturating_duration_since(due));
                            }
                            if snap.error.is_some() && seen.first_error[i].is_none() {
                                seen.first_error[i] = Some(now);
                            }
                        }
                        self.state.apply(snap);
                    };
                    take(snap, &mut seen);
                    while let Ok(more) = self.rx.try_recv() {
                        take(more, &mut seen);
                    }
                    if data_frame.is_none() {
                        data_frame = Some(tokio::time::Instant::now() + DATA_FRAME);
                    }
                }
                _ = tokio::time::sleep_until(data_frame.unwrap_or_else(tokio::time::Instant::now)),
                    if data_frame.is_some() => dirty = true,
                _ = clock.tick() => {
                    self.state.now = jiff::Timestamp::now();
                    dirty = true;
                }
                _ = tokio::time::sleep_until(end) => return seen,
            }
        }
    }
}

async fn in_process(
    config: Arc<vigie::config::Config>,
    healthy: usize,
    black: usize,
    window: Duration,
    warmup: Duration,
    servers: &[Server],
) -> Vec<Phase> {
    let pool = Arc::new(Pool::new(
        collect::routes(&config),
        collect::transport_options(&config, false),
    ));
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let engine = Engine::spawn(config.clone(), pool, tx);
    let mut console = Console {
        state: ConsoleState::new(&config, false, "bench".into()),
        term: Terminal::new(TestBackend::new(200, 60)).expect("a test terminal"),
        presenter: Presenter::new(),
        theme: vigie::ui::theme::Theme::builtin("dark").expect("the dark theme"),
        rx,
        index: config
            .supervised()
            .enumerate()
            .map(|(i, h)| (h.name.clone(), i))
            .collect(),
    };
    // Warm-up: 500 connections (key exchanges, authentications) and the slow sections.
    let first = console.run_for(warmup).await;
    let answered = first.latencies.iter().filter(|l| !l.is_empty()).count();
    println!(
        "warm-up: {answered} of {} hosts answered within {} s; CPU so far {} (connections, \
         first refreshes), peak RSS {}",
        healthy + black,
        warmup.as_secs(),
        ms(util::cpu_self()),
        kib(util::self_mem_kib("VmHWM").unwrap_or(0) as f64 * 1024.0),
    );
    let mut phases = Vec::new();
    phases.push(measure(&mut console, "all answering", window, healthy, None).await);

    if black > 0 {
        let (lo, hi) = (addr(healthy).ip(), addr(healthy + black - 1).ip());
        let nft = |args: &str| {
            run("nft", &[args]);
        };
        nft("add table inet vigiebench");
        nft("add chain inet vigiebench in { type filter hook input priority 0 ; }");
        nft(&format!(
            "add rule inet vigiebench in ip daddr {lo}-{hi} drop"
        ));
        nft(&format!(
            "add rule inet vigiebench in ip saddr {lo}-{hi} drop"
        ));
        phases.push(
            measure(
                &mut console,
                &format!("{black} black-holed"),
                window,
                healthy,
                Some(black),
            )
            .await,
        );
        nft("delete table inet vigiebench");
        // Back, as an operator pressing `r` would bring them (backoffs forgotten).
        engine.refresh_now();
        console.run_for(Duration::from_secs(15)).await;

        servers[1].signal(libc::SIGSTOP);
        phases.push(
            measure(
                &mut console,
                &format!("{black} frozen (SIGSTOP)"),
                window,
                healthy,
                Some(black),
            )
            .await,
        );
        servers[1].signal(libc::SIGCONT);
    }
    drop(engine);
    phases
}

async fn measure(
    console: &mut Console,
    name: &str,
    window: Duration,
    healthy: usize,
    broken: Option<usize>,
) -> Phase {
    let cpu0 = util::cpu_self();
    let (w0, r0) = (console.presenter.written, console.presenter.rendered);
    let t0 = Instant::now();
    let seen = console.run_for(window).await;
    let wall = t0.elapsed();
    let cpu = util::cpu_self() - cpu0;
    let mut all: Vec<Duration> = seen.latencies[..healthy]
        .iter()
        .flatten()
        .copied()
        .collect();
    let late = all.iter().filter(|d| **d > Duration::from_secs(1)).count();
    // A 5 s refresh gets ⌊window / 5 s⌋ refreshes, give or take the one at the edge.
    let expected = (window.as_secs() / 5).saturating_sub(1) as usize;
    let missed = seen.latencies[..healthy]
        .iter()
        .filter(|l| l.len() < expected)
        .count();
    let refreshes = seen.latencies.iter().map(|l| l.len() as u64).sum();
    if let Some(b) = broken {
        let shown_down = console
            .state
            .hosts
            .iter()
            .skip(healthy)
            .take(b)
            .filter(|h| !h.reachable())
            .count();
        let mut noticed: Vec<Duration> = seen.first_error[healthy..healthy + b]
            .iter()
            .flatten()
            .map(|t| t.saturating_duration_since(t0))
            .collect();
        let noticed = util::percentiles(&mut noticed).map_or_else(
            || "never".to_string(),
            |[p50, _, _, max]| format!("after {} (median), {} (last)", ms(p50), ms(max)),
        );
        println!(
            "{name}: {shown_down} of the {b} shown unreachable at the end of the window; \
             their first failed refresh arrived {noticed}"
        );
    }
    Phase {
        name: name.to_string(),
        cpu_pct: cpu.as_secs_f64() / wall.as_secs_f64() * 100.0,
        rss_kib: util::self_mem_kib("VmRSS").unwrap_or(0),
        hwm_kib: util::self_mem_kib("VmHWM").unwrap_or(0),
        refreshes,
        latency: util::percentiles(&mut all),
        late,
        missed,
        written: console.presenter.written - w0,
        rendered: console.presenter.rendered - r0,
    }
}

/// The real console's figures.
struct Real {
    cpu_pct: f64,
    rss_kib: u64,
    hwm_kib: u64,
    bytes: u64,
    idle_cpu_pct: f64,
    idle_bytes: u64,
    idle_write_seconds: usize,
}

struct Tmux {
    socket: String,
}

impl Tmux {
    fn cmd(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .env_remove("TMUX")
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.cmd(&["kill-server"]);
    }
}

fn real_console(
    config: &Path,
    state_dir: &Path,
    window: Duration,
    warmup: Duration,
) -> Option<Real> {
    if Command::new("tmux").arg("-V").output().is_err() {
        println!("tmux is missing: the real console is not measured");
        return None;
    }
    let vigie = PathBuf::from(env!("CARGO_BIN_EXE_vigie"));
    let tmux = Tmux {
        socket: format!("vigie-bench-{}", std::process::id()),
    };
    let command = format!(
        "exec env XDG_STATE_HOME='{}' '{}' --config '{}'",
        state_dir.display(),
        vigie.display(),
        config.display()
    );
    tmux.cmd(&[
        "new-session",
        "-d",
        "-s",
        "b",
        "-x",
        "200",
        "-y",
        "60",
        &command,
    ]);
    let pid: u32 = tmux
        .cmd(&["display-message", "-p", "-t", "b", "#{pane_pid}"])
        .trim()
        .parse()
        .ok()?;
    let written = tempfile::NamedTempFile::new().ok()?;
    let bytes = || std::fs::metadata(written.path()).map_or(0, |m| m.len());
    std::thread::sleep(warmup);
    tmux.cmd(&[
        "pipe-pane",
        "-t",
        "b",
        "-o",
        &format!("cat >> '{}'", written.path().display()),
    ]);
    let cpu0 = util::proc_cpu(pid)?;
    let b0 = bytes();
    std::thread::sleep(window);
    let cpu = util::proc_cpu(pid)? - cpu0;
    let b1 = bytes();
    let rss = util::proc_mem_kib(pid, "VmRSS")?;
    let hwm = util::proc_mem_kib(pid, "VmHWM")?;
    // Paused, and a minute later, when every age shown has gone to minutes.
    tmux.cmd(&["send-keys", "-t", "b", "p"]);
    std::thread::sleep(Duration::from_secs(65));
    let cpu0 = util::proc_cpu(pid)?;
    let i0 = bytes();
    let mut write_seconds = 0;
    let mut last = i0;
    let t0 = Instant::now();
    while t0.elapsed() < window {
        std::thread::sleep(Duration::from_secs(1));
        let now = bytes();
        if now != last {
            write_seconds += 1;
            last = now;
        }
    }
    let idle_cpu = util::proc_cpu(pid)? - cpu0;
    let idle_bytes = bytes() - i0;
    tmux.cmd(&["send-keys", "-t", "b", "q"]);
    std::thread::sleep(Duration::from_millis(500));
    Some(Real {
        cpu_pct: cpu.as_secs_f64() / window.as_secs_f64() * 100.0,
        rss_kib: rss,
        hwm_kib: hwm,
        bytes: b1 - b0,
        idle_cpu_pct: idle_cpu.as_secs_f64() / t0.elapsed().as_secs_f64() * 100.0,
        idle_bytes,
        idle_write_seconds: write_seconds,
    })
}
