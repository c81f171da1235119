//! What the benchmarks measure with: CPU time from getrusage and /proc, memory from
//! /proc/PID/status, network counters from /sys, percentiles, and a plain table.
#![allow(dead_code)]

use std::time::Duration;

/// `cargo bench` runs a benchmark with `--bench`; `cargo test --all-targets` runs it without:
/// then it only says how to run it (benchmarks print figures, they are not tests).
pub fn bench_mode(name: &str) -> bool {
    if std::env::args().any(|a| a == "--bench") {
        return true;
    }
    println!(
        "{name}: a benchmark, not a test: run it with `cargo bench --bench {name}` \
         (see BENCHMARKS.md)"
    );
    false
}

/// The value after `--NAME` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let flag = format!("--{name}");
    let mut args = std::env::args();
    while let Some(a) = args.next() {
        if a == flag {
            return args.next();
        }
        if let Some(v) = a.strip_prefix(&format!("{flag}=")) {
            return Some(v.to_string());
        }
    }
    None
}

pub fn flag(name: &str) -> bool {
    let flag = format!("--{name}");
    std::env::args().any(|a| a == flag)
}

pub fn arg_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn rusage(who: libc::c_int) -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// User + system CPU time of this process (every thread).
pub fn cpu_self() -> Duration {
    rusage(libc::RUSAGE_SELF)
}

/// User + system CPU time of the children (and their descendants) waited for so far.
pub fn cpu_children() -> Duration {
    rusage(libc::RUSAGE_CHILDREN)
}

fn clock_ticks() -> u64 {
    // SAFETY: sysconf has no side effect.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).unwrap_or(100).max(1)
}

/// Fields of /proc/PID/stat after the command name (field 3, the state, is index 0).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// User + system CPU time of a running process, from /proc/PID/stat (clock ticks).
pub fn proc_cpu(pid: u32) -> Option<Duration> {
    let f = stat_fields(pid)?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    let ticks = clock_ticks();
    Some(Duration::from_nanos(
        (utime + stime) * 1_000_000_000 / ticks,
    ))
}

/// The parent of a process.
pub fn proc_ppid(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

/// Every live process whose ancestry includes `root` (not `root` itself).
pub fn descendants(root: u32) -> Vec<u32> {
    let mut all = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) {
                all.push((pid, proc_ppid(pid).unwrap_or(0)));
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (pid, ppid) in &all {
            if *ppid == p && !out.contains(pid) {
                out.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    out
}

/// A memory figure of /proc/PID/status ("VmHWM", "VmRSS"), in KiB.
pub fn proc_mem_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

pub fn self_mem_kib(key: &str) -> Option<u64> {
    proc_mem_kib(std::process::id(), key)
}

/// Bytes received + sent on a network interface of this namespace.
pub fn link_bytes(interface: &str) -> Option<u64> {
    let read = |what: &str| -> Option<u64> {
        std::fs::read_to_string(format!(
            "/sys/class/net/{interface}/statistics/{what}_bytes"
        ))
        .ok()?
        .trim()
        .parse()
        .ok()
    };
    Some(read("rx")? + read("tx")?)
}

/// p50, p90, p99 and max of `v` (sorted here).
pub fn percentiles(v: &mut [Duration]) -> Option<[Duration; 4]> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    let at = |q: f64| {
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v[i.min(v.len() - 1)]
    };
    Some([at(0.50), at(0.90), at(0.99), v[v.len() - 1]])
}

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

pub fn kib(bytes: f64) -> String {
    if bytes >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", bytes / 1024.0 / 1024.0)
    } else {
        format!("{:.1} KiB", bytes / 1024.0)
    }
}

/// PASS when `ok`, else MISS.
pub fn verdict(ok: bool) -> &'static str {
    if ok { "PASS" } else { "MISS" }
}

/// Print rows as columns, the first row a header, each column as wide as its widest cell.
pub fn table(rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (i, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(c, s)| format!("{s:<w$}", w = width[c]))
            .collect();
        println!("  {}", line.join("  ").trim_end());
        if i == 0 {
            let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
            println!("  {}", rule.join("  "));
        }
    }
}

/// The machine, for the record: CPU model, cores, memory, kernel, and whether others run.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("model name")?.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or_else(String::new, |k| format!(", {} GiB", k / 1024 / 1024));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores{mem}, Linux {kernel}, load {load} at start")
}

/// The benchmark's title (its command), the date and the machine.
pub fn header(what: &str) {
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M UTC")
        .to_string();
    println!("== {what}");
    println!("   {now} · {}", machine());
    println!();
}
