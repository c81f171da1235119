//! `cargo bench --bench lab`: Vigie against what operators do without it, side by side, on
//! the lab's five hosts behind its bastion (`tests/lab/lab.sh up` first; as root).
//!
//! The same checks on the same hosts in the same run, four ways:
//! (a) Vigie: the collect code of the console (`collect::refresh_host`, one exec of the
//!     probe per host per refresh over persistent connections through the bastion), in this
//!     process: CPU from getrusage(RUSAGE_SELF) per full refresh (every host), wall time per
//!     full refresh;
//! (b) one OpenSSH `ssh host command` per check, as Nagios' check_by_ssh does, through the
//!     bastion as OpenSSH does it (ProxyJump: a second ssh per connection);
//! (c) one OpenSSH `ssh host 'all the commands'` per host;
//! (d) (informative) (b) over OpenSSH ControlMaster connections opened beforehand.
//! For (b)-(d) the CPU is that of the ssh processes (getrusage(RUSAGE_CHILDREN); this process
//! is their subreaper, so the ProxyJump ssh each leaves behind is counted too; the long-lived
//! masters of (d) through /proc). Bytes on the wire: the root namespace's veth into the lab
//! (`vl-root`: everything to the bastion, and through it to the hosts, crosses it), divided
//! by hosts and refreshes. Hosts run their commands in parallel, each host's checks one after
//! the other (as a per-host script would).
//!
//! Options (after `--`): `--refreshes N` (Vigie, default 20), `--openssh-refreshes N`
//! (default 5), `--capture` (record the probe outputs of `benches/fixtures/` from prod).

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use util::{kib, ms, table, verdict};
use vigie::collect::{self, HostTracker, RefreshSettings};
use vigie::ssh::Pool;

/// The lab's interface in the root namespace: all lab traffic crosses it.
const LINK: &str = "vl-root";

/// The checks of a fast refresh (SPEC §4), as an operator's script would run them: one
/// command per check (`system.process.<name>` adds one `pgrep` per configured process).
/// SMART and quotas (every 12th refresh) are left out of both sides; availability is the
/// connection itself.
const CHECKS: &[(&str, &str)] = &[
    ("system.cpu", "grep '^cpu ' /proc/stat"),
    ("system.load", "cat /proc/loadavg; nproc"),
    ("system.memory", "free -b"),
    ("system.swap", "grep '^Swap' /proc/meminfo"),
    ("system.partition.*", "df -P -k"),
    ("system.inodes.*", "df -P -i"),
    ("hardware.raid.*", "cat /proc/mdstat"),
    ("system.time_drift", "date -u +%s.%N"),
    (
        "system.time_drift (sync)",
        "timedatectl show -p NTPSynchronized --value",
    ),
    (
        "system.uptime",
        "cat /proc/uptime /proc/sys/kernel/random/boot_id",
    ),
    ("network.interface.*", "ip -j -d addr show"),
    ("network.route.default", "ip -j route show"),
    (
        "host facts (name, kernel, OS)",
        "uname -nsr; cat /etc/os-release",
    ),
];

fn main() {
    if !util::bench_mode("lab") {
        return;
    }
    let lab_dir = PathBuf::from(
        std::env::var("LAB_DIR")
            .ok()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "/tmp/vigie-lab".into()),
    );
    if !lab_dir.join("lab.env").is_file() {
        eprintln!(
            "lab: the lab is not up ({} missing): run `tests/lab/lab.sh up` as root first",
            lab_dir.join("lab.env").display()
        );
        std::process::exit(1);
    }
    // SMART baselines and the like go to a scratch state directory, not the operator's.
    let state = tempfile::tempdir().expect("a temporary directory");
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var("XDG_STATE_HOME", state.path()) };
    if util::flag("capture") {
        capture(&lab_dir);
        return;
    }
    let refreshes: u32 = util::arg_or("refreshes", 20);
    let openssh_refreshes: u32 = util::arg_or("openssh-refreshes", 5);
    let _lock = LabLock::acquire(&lab_dir);
    // SAFETY: prctl on this process only. Orphaned ssh (the ProxyJump helper each ssh leaves
    // behind) come back to us, so that their CPU time is counted.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };

    util::header(&format!(
        "cargo bench --bench lab -- --refreshes {refreshes} --openssh-refreshes {openssh_refreshes}"
    ));
    let mut config =
        vigie::config::load(&lab_dir.join("vigie.toml")).expect("the lab's vigie.toml loads");
    // The bastion is the way in, not one of the hosts compared.
    for h in &mut config.hosts {
        if h.name == "bastion" {
            h.supervised = false;
        }
    }
    // The slow sections run on the warm-up refresh only: both sides do the fast checks.
    config.ssh.slow_every = u32::MAX;
    let hosts: Vec<(String, Vec<String>)> = config
        .supervised()
        .map(|h| (h.name.clone(), h.processes.clone()))
        .collect();
    let n_hosts = hosts.len();
    let checks_per_host: Vec<usize> = hosts.iter().map(|(_, p)| CHECKS.len() + p.len()).collect();
    println!(
        "hosts: {} (through the bastion); checks per host: {} commands",
        hosts
            .iter()
            .map(|(h, _)| h.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        checks_per_host
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("/")
    );
    println!("the checks, as an operator's script runs them:");
    for (id, cmd) in CHECKS {
        println!("    {id:<30} {cmd}");
    }
    println!(
        "    {:<30} pgrep -x NAME (one per configured process)",
        "system.process.<name>"
    );
    println!();

    let vigie = run_vigie(&config, refreshes);
    let ssh_config = lab_dir.join("ssh_config");
    let per_check = run_openssh(&ssh_config, &hosts, Mode::PerCheck, openssh_refreshes);
    let per_host = run_openssh(&ssh_config, &hosts, Mode::PerHost, openssh_refreshes);
    let mux = run_mux(&ssh_config, &hosts, openssh_refreshes);

    let per_refresh = |r: &Run| r.cpu / r.refreshes;
    let rows = vec![
        vec![
            "way".to_string(),
            "processes".into(),
            "CPU / refresh".into(),
            "wall / refresh".into(),
            "bytes / host / refresh".into(),
        ],
        row("(a) Vigie, one exec per host", &vigie, n_hosts),
        row("(b) ssh per check (check_by_ssh)", &per_check, n_hosts),
        row("(c) ssh per host, all commands", &per_host, n_hosts),
        row("(d) ssh per check, ControlMaster", &mux, n_hosts),
    ];
    println!("per full refresh of the {n_hosts} hosts:");
    table(&rows);
    let ratio = |r: &Run| per_refresh(r).as_secs_f64() / per_refresh(&vigie).as_secs_f64();
    println!();
    println!("client CPU, OpenSSH way / Vigie:");
    table(&[
        vec!["vs".into(), "ratio".into(), "target".into(), "".into()],
        vec![
            "(b) ssh per check".into(),
            format!("{:.0}×", ratio(&per_check)),
            "≥ 20×".into(),
            verdict(ratio(&per_check) >= 20.0).into(),
        ],
        vec![
            "(c) ssh per host".into(),
            format!("{:.1}×", ratio(&per_host)),
            "≥ 3×".into(),
            verdict(ratio(&per_host) >= 3.0).into(),
        ],
        vec![
            "(d) ControlMaster".into(),
            format!("{:.1}×", ratio(&mux)),
            "(informative)".into(),
            String::new(),
        ],
    ]);
    println!();
    println!(
        "Vigie's own counts: probe sent {} per host per refresh, output {} (application bytes, \
         before SSH framing and encryption)",
        kib(vigie.stdin_bytes),
        kib(vigie.stdout_bytes),
    );
}

fn row(name: &str, r: &Run, hosts: usize) -> Vec<String> {
    let n = f64::from(r.refreshes);
    vec![
        name.to_string(),
        if r.processes == 0 {
            "—".into()
        } else {
            format!("{:.0}", r.processes as f64 / n)
        },
        ms(r.cpu / r.refreshes),
        format!("{} (max {})", ms(r.wall / r.refreshes), ms(r.wall_max)),
        r.bytes
            .map_or_else(|| "—".into(), |b| kib(b as f64 / n / hosts as f64)),
    ]
}

/// What one way cost over its measured refreshes.
struct Run {
    refreshes: u32,
    cpu: Duration,
    wall: Duration,
    wall_max: Duration,
    bytes: Option<u64>,
    /// ssh processes started (per refresh: divide).
    processes: u64,
    /// Vigie only: application bytes per host per refresh.
    stdin_bytes: f64,
    stdout_bytes: f64,
}

/// (a): the console's collect code, in this process.
fn run_vigie(config: &vigie::config::Config, refreshes: u32) -> Run {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let config = Arc::new(config.clone());
    rt.block_on(async move {
        let pool = Arc::new(Pool::new(
            collect::routes(&config),
            collect::transport_options(&config, false),
        ));
        let settings = RefreshSettings::from_config(&config);
        let hosts: Vec<_> = config.supervised().cloned().collect();
        let mut trackers: Vec<HostTracker> = hosts
            .iter()
            .map(|h| HostTracker::new(&config, &h.name))
            .collect();
        // One refresh of every host, all at once, as the engine's tasks do.
        async fn round(
            pool: &Pool,
            hosts: &[vigie::config::HostConfig],
            trackers: &mut [HostTracker],
            settings: RefreshSettings,
        ) -> Vec<collect::HostSnapshot> {
            let futures = hosts
                .iter()
                .zip(trackers.iter_mut())
                .map(|(h, t)| collect::refresh_host(pool, h, t, settings));
            futures::future::join_all(futures).await
        }
        // Warm-up: connections (bastion, then each host through it), the slow sections, the
        // first CPU sample.
        for _ in 0..2 {
            let snaps = round(&pool, &hosts, &mut trackers, settings).await;
            for s in &snaps {
                if let Some(e) = &s.error {
                    panic!("lab: {} does not answer: {e}", s.name);
                }
            }
        }
        let cpu0 = util::cpu_self();
        let bytes0 = util::link_bytes(LINK);
        let mut wall = Duration::ZERO;
        let mut wall_max = Duration::ZERO;
        let mut out_bytes = 0usize;
        for _ in 0..refreshes {
            let t = Instant::now();
            let snaps = round(&pool, &hosts, &mut trackers, settings).await;
            let took = t.elapsed();
            wall += took;
            wall_max = wall_max.max(took);
            for s in &snaps {
                assert!(s.error.is_none(), "{} failed: {:?}", s.name, s.error);
                assert!(!s.stats.new_connection, "{} reconnected", s.name);
                out_bytes += s.stats.bytes_in;
            }
        }
        let cpu = util::cpu_self() - cpu0;
        let bytes = util::link_bytes(LINK).zip(bytes0).map(|(b, a)| b - a);
        let stdin = vigie::probe::ProbeRequest::new(false, false, false)
            .with_apps(hosts[0].services.clone(), hosts[0].apps.replication.clone())
            .stdin()
            .len();
        let n = f64::from(refreshes) * hosts.len() as f64;
        Run {
            refreshes,
            cpu,
            wall,
            wall_max,
            bytes,
            processes: 0,
            stdin_bytes: stdin as f64,
            stdout_bytes: out_bytes as f64 / n,
        }
    })
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    PerCheck,
    PerHost,
}

/// The commands of one host: the fixed checks, then one pgrep per configured process.
fn commands(processes: &[String]) -> Vec<String> {
    CHECKS
        .iter()
        .map(|(_, c)| c.to_string())
        .chain(processes.iter().map(|p| format!("pgrep -x {p}")))
        .collect()
}

fn ssh(ssh_config: &Path, extra: &[&str], host: &str, command: &str) -> Command {
    let mut c = Command::new("ssh");
    c.arg("-F")
        .arg(ssh_config)
        .args(["-J", "bastion"])
        .args(extra)
        .arg(host)
        .arg(command)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// Run every host's commands (in parallel across hosts), `extra` ssh options; returns how
/// many ssh processes ran.
fn refresh_openssh(
    ssh_config: &Path,
    hosts: &[(String, Vec<String>)],
    mode: Mode,
    extra: &[&str],
) -> u64 {
    std::thread::scope(|s| {
        let handles: Vec<_> = hosts
            .iter()
            .map(|(host, procs)| {
                s.spawn(move || {
                    let cmds = commands(procs);
                    let batches: Vec<String> = match mode {
                        Mode::PerCheck => cmds,
                        Mode::PerHost => vec![cmds.join("; echo @@; ")],
                    };
                    let mut n = 0u64;
                    for c in &batches {
                        let out = ssh(ssh_config, extra, host, c).output().expect("ssh runs");
                        n += 1;
                        // pgrep and timedatectl may fail on a host; ssh itself must not.
                        if out.status.code() == Some(255) {
                            panic!("ssh {host} {c}: {}", String::from_utf8_lossy(&out.stderr));
                        }
                    }
                    n
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a host thread"))
            .sum()
    })
}

/// Wait for every orphan that came back to us (the ProxyJump ssh of finished ssh): their
/// CPU time then counts in RUSAGE_CHILDREN. Long-lived descendants (ControlMaster) are left.
fn reap_orphans(keep: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left: Vec<u32> = util::descendants(std::process::id())
            .into_iter()
            .filter(|p| !keep.contains(p) && util::proc_ppid(*p) == Some(std::process::id()))
            .collect();
        // SAFETY: waitpid on our own children.
        for pid in &left {
            let mut status = 0;
            unsafe {
                libc::waitpid(
                    i32::try_from(*pid).unwrap_or(-1),
                    &mut status,
                    libc::WNOHANG,
                )
            };
        }
        if left.is_empty() || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn run_openssh(
    ssh_config: &Path,
    hosts: &[(String, Vec<String>)],
    mode: Mode,
    refreshes: u32,
) -> Run {
    // One untimed round: the bastion's and hosts' page caches, as for Vigie's warm-up.
    refresh_openssh(ssh_config, hosts, mode, &[]);
    reap_orphans(&[]);
    let cpu0 = util::cpu_children();
    let bytes0 = util::link_bytes(LINK);
    let mut wall = Duration::ZERO;
    let mut wall_max = Duration::ZERO;
    let mut processes = 0;
    for _ in 0..refreshes {
        let t = Instant::now();
        processes += refresh_openssh(ssh_config, hosts, mode, &[]);
        let took = t.elapsed();
        wall += took;
        wall_max = wall_max.max(took);
        reap_orphans(&[]);
    }
    // Each ssh left a ProxyJump ssh: count them as processes too.
    Run {
        refreshes,
        cpu: util::cpu_children() - cpu0,
        wall,
        wall_max,
        bytes: util::link_bytes(LINK).zip(bytes0).map(|(b, a)| b - a),
        processes: processes * 2,
        stdin_bytes: 0.0,
        stdout_bytes: 0.0,
    }
}

/// (d): masters opened first (not measured: Vigie's connections are not either), then one
/// mux client per check; the masters' own CPU (and their ProxyJump ssh) from /proc.
fn run_mux(ssh_config: &Path, hosts: &[(String, Vec<String>)], refreshes: u32) -> Run {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = format!("ControlPath={}/%n", dir.path().display());
    let master = [
        "-o",
        "ControlMaster=yes",
        "-o",
        &path,
        "-o",
        "ControlPersist=yes",
    ];
    for (host, _) in hosts {
        let out = ssh(ssh_config, &master, host, "true")
            .output()
            .expect("ssh runs");
        assert!(
            out.status.success(),
            "ssh master {host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let client = ["-o", "ControlMaster=no", "-o", &path];
    let masters = util::descendants(std::process::id());
    let masters_cpu = || -> Duration {
        util::descendants(std::process::id())
            .into_iter()
            .filter_map(util::proc_cpu)
            .sum()
    };
    refresh_openssh(ssh_config, hosts, Mode::PerCheck, &client);
    reap_orphans(&masters);
    let cpu0 = util::cpu_children() + masters_cpu();
    let bytes0 = util::link_bytes(LINK);
    let mut wall = Duration::ZERO;
    let mut wall_max = Duration::ZERO;
    let mut processes = 0;
    for _ in 0..refreshes {
        let t = Instant::now();
        processes += refresh_openssh(ssh_config, hosts, Mode::PerCheck, &client);
        let took = t.elapsed();
        wall += took;
        wall_max = wall_max.max(took);
        reap_orphans(&masters);
    }
    let cpu = util::cpu_children() + masters_cpu() - cpu0;
    let bytes = util::link_bytes(LINK).zip(bytes0).map(|(b, a)| b - a);
    for (host, _) in hosts {
        let _ = Command::new("ssh")
            .arg("-F")
            .arg(ssh_config)
            .args(["-o", &path, "-O", "exit"])
            .arg(host)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    reap_orphans(&[]);
    Run {
        refreshes,
        cpu,
        wall,
        wall_max,
        bytes,
        processes,
        stdin_bytes: 0.0,
        stdout_bytes: 0.0,
    }
}

/// `--capture`: the probe's outputs of `benches/fixtures/`, from prod, by the probe's own
/// request and exec code.
fn capture(lab_dir: &Path) {
    let _lock = LabLock::acquire(lab_dir);
    let config = vigie::config::load(&lab_dir.join("vigie.toml")).expect("the lab config");
    let rt = tokio::runtime::Runtime::new().expect("a runtime");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/fixtures");
    rt.block_on(async {
        let pool = Pool::new(
            collect::routes(&config),
            collect::transport_options(&config, false),
        );
        let (conn, _) = pool.get("prod").await.expect("prod answers");
        let budget = Duration::from_secs(60);
        for (slow, name) in [(false, "probe-fast.out"), (true, "probe-slow.out")] {
            let request = vigie::probe::ProbeRequest::new(slow, false, false);
            let out = conn
                .exec(
                    vigie::probe::COMMAND,
                    &request.stdin(),
                    Duration::from_secs(5),
                    budget,
                )
                .await
                .expect("the probe runs");
            assert!(out.stdout.starts_with(b"@@VIGIE "), "a probe output");
            std::fs::write(dir.join(name), &out.stdout).expect("the fixture is written");
            println!("{name}: {} bytes", out.stdout.len());
        }
    });
}

/// The lab's cross-process lock (`$LAB_DIR/lock.d` with an `owner` file "PID STARTTIME
/// TOKEN", as `tests/common/lab.rs` takes it): a benchmark never runs beside a lab test.
struct LabLock {
    dir: PathBuf,
    token: String,
}

impl LabLock {
    fn acquire(lab_dir: &Path) -> LabLock {
        let dir = lab_dir.join("lock.d");
        let pid = std::process::id();
        let start = start_time(pid).unwrap_or(0);
        let token = format!(
            "{pid} {start} bench-{}",
            jiff::Timestamp::now().as_nanosecond()
        );
        let mut told = false;
        loop {
            match std::fs::create_dir(&dir) {
                Ok(()) => {
                    let tmp = dir.join("owner.tmp");
                    std::fs::write(&tmp, &token).expect("the lock's owner file");
                    std::fs::rename(&tmp, dir.join("owner")).expect("the lock's owner file");
                    return LabLock { dir, token };
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(dir.join("owner")).unwrap_or_default();
                    let mut it = owner.split_whitespace();
                    let alive = match (
                        it.next().and_then(|p| p.parse::<u32>().ok()),
                        it.next().and_then(|s| s.parse::<u64>().ok()),
                    ) {
                        (Some(p), Some(s)) => start_time(p).is_some_and(|t| s == 0 || t == s),
                        // Being created; stale if it stays ownerless (its creator died).
                        _ => std::fs::metadata(&dir)
                            .and_then(|m| m.modified())
                            .map_or(true, |t| {
                                t.elapsed().unwrap_or_default() < Duration::from_secs(10)
                            }),
                    };
                    if !alive {
                        let _ = std::fs::remove_dir_all(&dir);
                        continue;
                    }
                    if !told {
                        eprintln!("lab: waiting for the lab lock (held by {owner})");
                        told = true;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("lab: cannot create {}: {e}", dir.display()),
            }
        }
    }
}

impl Drop for LabLock {
    fn drop(&mut self) {
        if std::fs::read_to_string(self.dir.join("owner"))
            .ok()
            .as_deref()
            == Some(&self.token)
        {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}
