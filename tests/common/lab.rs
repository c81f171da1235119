#![allow(dead_code)]
//! The Vigie test lab, seen from an integration test.
//!
//! The lab (`tests/lab/lab.sh up`, see `tests/lab/README.md`) runs real OpenSSH servers in
//! network namespaces: bastion 10.77.0.10 (the only host reachable from here), prod 10.77.1.11,
//! backup-a 10.77.1.12, backup-b 10.77.2.21, drp 10.77.2.22, and a real PostgreSQL on prod
//! (database `app`, table `users`, 1000 rows): see [`Lab::pg_dump_to`] and [`Lab::pg_sql`].
//!
//! ```ignore
//! mod common;
//! use common::lab::Lab;
//!
//! #[test]
//! fn a_cut_host_is_critical() {
//!     let lab = Lab::require();          // panics when the lab is not up; holds the lab lock
//!     let _cut = lab.cut("backup-b");    // undone when `_cut` is dropped, even on panic
//!     let out = lab.vigie(&["check", "--json"]);
//!     assert_eq!(out.status.code(), Some(2));
//! }
//! ```
//!
//! `Lab::require()` takes a cross-process lock (`$LAB_DIR/lock.d`), so that lab scenarios of
//! different tests (threads of one binary, or several binaries) never run at the same time, and
//! undoes any fault left over by a test that died (`lab.sh reset`). Faults return a [`Guard`]
//! that undoes them on drop.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

/// The lab's hosts, in the order of the configuration.
pub const HOSTS: [&str; 6] = ["bastion", "prod", "backup-a", "backup-b", "drp", "dns"];

/// Default `$LAB_DIR`.
pub const DEFAULT_LAB_DIR: &str = "/tmp/vigie-lab";

const NOT_UP: &str = "the lab is not up: run `tests/lab/lab.sh up` or the README's test command";

/// How long `require()` waits for another test to release the lab.
const LOCK_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// A lock directory without an owner file for this long is stale (its creator died in between).
const OWNERLESS_GRACE: Duration = Duration::from_secs(10);

/// The running lab, held exclusively by this test until dropped.
pub struct Lab {
    dir: PathBuf,
    script: PathBuf,
    lock: LabLock,
}

impl Lab {
    /// The running lab (`$LAB_DIR`, default `/tmp/vigie-lab`), locked for this test, with every
    /// fault undone. Panics if the lab is not up: tests fail, never skip, without a lab.
    pub fn require() -> Lab {
        let dir = std::env::var_os("LAB_DIR")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_LAB_DIR));
        let script = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lab/lab.sh"));
        if !dir.join("lab.env").is_file() {
            panic!("{NOT_UP} ({} not found)", dir.join("lab.env").display());
        }
        let lock = LabLock::acquire(&dir);
        let lab = Lab { dir, script, lock };
        let reset = lab.run_script(&["reset"]);
        if !reset.status.success() {
            let status = lab.run_script(&["status"]);
            panic!(
                "{NOT_UP}: `lab.sh reset` failed ({}):\n{}{}\nlab.sh status:\n{}{}",
                reset.status,
                String::from_utf8_lossy(&reset.stdout),
                String::from_utf8_lossy(&reset.stderr),
                String::from_utf8_lossy(&status.stdout),
                String::from_utf8_lossy(&status.stderr),
            );
        }
        lab
    }

    /// `$LAB_DIR`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Vigie configuration of the lab site (`$LAB_DIR/vigie.toml`).
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("vigie.toml")
    }

    /// The known_hosts file the lab configuration uses (`$LAB_DIR/known_hosts`).
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// An OpenSSH client configuration for the lab (`ssh -F <this> prod`).
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }

    /// The client private key (ed25519, no passphrase).
    pub fn identity(&self) -> PathBuf {
        self.dir.join("client/id_ed25519")
    }

    /// The address of a lab host. Panics on an unknown host.
    pub fn address(&self, host: &str) -> &'static str {
        match host {
            "bastion" => "10.77.0.10",
            "prod" => "10.77.1.11",
            "backup-a" => "10.77.1.12",
            "backup-b" => "10.77.2.21",
            "drp" => "10.77.2.22",
            "dns" => "10.77.1.53",
            other => panic!("unknown lab host {other:?} (hosts: {HOSTS:?})"),
        }
    }

    /// Runs `bash -c script` inside `host` (its network, mount, UTS and pid namespaces; not
    /// through SSH, so nothing is logged by sshd) and returns its stdout. Panics, with stderr,
    /// if the script fails.
    pub fn sh(&self, host: &str, script: &str) -> String {
        let out = self.try_sh(host, script);
        if !out.status.success() {
            panic!(
                "lab: script on {host} failed ({}):\n--- script\n{script}\n--- stdout\n{}--- stderr\n{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Like [`Lab::sh`], but returns the raw output whatever the exit status.
    pub fn try_sh(&self, host: &str, script: &str) -> Output {
        self.address(host);
        self.run_script(&["exec", host, "bash", "-c", script])
    }

    /// Runs a command on `host` with OpenSSH (`ssh -F $LAB_DIR/ssh_config host command`),
    /// through the bastion for the other hosts. This one does show up in the sshd logs.
    pub fn ssh(&self, host: &str, command: &str) -> Output {
        self.address(host);
        Command::new("ssh")
            .arg("-F")
            .arg(self.ssh_config())
            .arg(host)
            .arg(command)
            .output()
            .expect("lab: cannot run ssh")
    }

    /// Dumps the database `app` of `from_host`'s PostgreSQL with `pg_dump -Fc`, run
    /// INSIDE `on_host` (so the dump travels over the lab network), to `path` on `on_host`, then
    /// sets the file's mtime to now − `captured_age_s` (as if the dump had been taken then).
    /// Panics if pg_dump fails.
    pub fn pg_dump_to(&self, from_host: &str, on_host: &str, path: &str, captured_age_s: i64) {
        let addr = self.address(from_host);
        let at = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
            - captured_age_s;
        let path = shell_quote(path);
        self.sh(
            on_host,
            &format!("pg_dump -Fc -h {addr} -U postgres app -f {path} && touch -d @{at} {path}"),
        );
    }

    /// Runs `sql` with psql in database `app` of `host`'s PostgreSQL (inside the host, through
    /// its unix socket, as postgres) and returns the unaligned, tuples-only output
    /// (`psql -XAt`). Panics, with stderr, if psql fails.
    pub fn pg_sql(&self, host: &str, sql: &str) -> String {
        self.address(host);
        let args = [
            "exec",
            host,
            "psql",
            "-h",
            "/run/postgresql",
            "-U",
            "postgres",
            "-d",
            "app",
            "-X",
            "-A",
            "-t",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ];
        self.lab_sh(&args)
    }

    /// Cuts the host's link (down on the router side). Restored on drop.
    pub fn cut(&self, host: &str) -> Guard<'_> {
        self.fault(&["cut", host], &["restore", host])
    }

    /// SIGSTOPs every sshd process of the host (listener and per-connection). SIGCONT on drop.
    pub fn freeze(&self, host: &str) -> Guard<'_> {
        self.fault(&["freeze", host], &["thaw", host])
    }

    /// Fills `mount` (`/srv`, 64 MiB, or `/var/backups`, 256 MiB) so that df shows at least
    /// `pct` % used. The filler file is removed on drop.
    pub fn fill(&self, host: &str, mount: &str, pct: u32) -> Guard<'_> {
        let pct = pct.to_string();
        self.fault(&["fill", host, mount, &pct], &["unfill", host, mount])
    }

    /// Kills (SIGKILL) every process of the host whose name (comm) is `name`; restarts it on
    /// drop. On prod, `labwatchd` is such a process.
    pub fn kill_proc(&self, host: &str, name: &str) -> Guard<'_> {
        self.fault(&["proc-kill", host, name], &["proc-start", host, name])
    }

    /// Starts a long-running process named `name` on the host (kept after the test; `lab.sh
    /// reset` does not remove it). Returns its pid in the root pid namespace.
    pub fn start_proc(&self, host: &str, name: &str) -> u32 {
        self.lab_sh(&["proc-start", host, name])
            .trim()
            .parse()
            .expect("lab: proc-start printed no pid")
    }

    /// Stops the host's sshd listener (established sessions stay). Started again on drop.
    pub fn sshd_stop(&self, host: &str) -> Guard<'_> {
        self.fault(&["sshd-stop", host], &["sshd-start", host])
    }

    /// Stops forwarding between dc1 and dc2 (packets are dropped). Restored on drop.
    pub fn forward_off(&self) -> Guard<'_> {
        self.fault(&["forward-off"], &["forward-on"])
    }

    /// Replaces the host's line in the lab known_hosts by a freshly generated, different key.
    /// The right key is restored on drop.
    pub fn wrong_hostkey(&self, host: &str) -> Guard<'_> {
        self.fault(&["wrong-hostkey", host], &["right-hostkey", host])
    }

    /// The host's whole sshd log (LogLevel VERBOSE: "Accepted publickey for root" per
    /// connection, "Starting session: command for root" per exec).
    pub fn sshd_log(&self, host: &str) -> String {
        self.address(host);
        let path = self.dir.join("hosts").join(host).join("sshd.log");
        match fs::read(&path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == ErrorKind::NotFound => String::new(),
            Err(e) => panic!("lab: cannot read {}: {e}", path.display()),
        }
    }

    /// How many lines of the host's sshd log contain `needle`.
    pub fn sshd_log_count(&self, host: &str, needle: &str) -> usize {
        self.sshd_log(host)
            .lines()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Runs the vigie binary under test with `--config <lab config>` before `args`.
    pub fn vigie(&self, args: &[&str]) -> Output {
        self.vigie_cmd(args)
            .output()
            .expect("lab: cannot run the vigie binary")
    }

    /// The command [`Lab::vigie`] runs, to add environment, stdin or to spawn it.
    pub fn vigie_cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigie"));
        cmd.arg("--config").arg(self.config_path()).args(args);
        cmd
    }

    /// Runs `lab.sh ARGS...` and returns its stdout; panics with its stderr on failure.
    pub fn lab_sh(&self, args: &[&str]) -> String {
        let out = self.run_script(args);
        if !out.status.success() {
            panic!(
                "lab: `lab.sh {}` failed ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn run_script(&self, args: &[&str]) -> Output {
        Command::new("bash")
            .arg(&self.script)
            .args(args)
            .env("LAB_DIR", &self.dir)
            .output()
            .unwrap_or_else(|e| panic!("lab: cannot run {}: {e}", self.script.display()))
    }

    fn fault(&self, apply: &[&str], undo: &[&str]) -> Guard<'_> {
        self.lab_sh(apply);
        Guard {
            lab: self,
            undo: undo.iter().map(|s| s.to_string()).collect(),
        }
    }
}

/// A fault in effect; dropping it undoes the fault (also while a test panics).
#[must_use = "the fault is undone as soon as the guard is dropped: bind it, e.g. `let _cut = lab.cut(\"prod\");`"]
pub struct Guard<'a> {
    lab: &'a Lab,
    undo: Vec<String>,
}

impl Guard<'_> {
    /// Undoes the fault now (same as dropping the guard).
    pub fn undo(self) {}
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        let args: Vec<&str> = self.undo.iter().map(String::as_str).collect();
        let out = self.lab.run_script(&args);
        if !out.status.success() {
            let msg = format!(
                "lab: undoing a fault with `lab.sh {}` failed ({}): {}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr),
            );
            if thread::panicking() {
                eprintln!("{msg}");
            } else {
                panic!("{msg}");
            }
        }
    }
}

/// A cross-process (and cross-thread) exclusive lock: the directory `$LAB_DIR/lock.d`, created
/// atomically, with an `owner` file "PID STARTTIME TOKEN". A lock whose owner process is gone is
/// stale and taken over.
struct LabLock {
    dir: PathBuf,
    token: String,
}

static LOCK_SEQ: AtomicU64 = AtomicU64::new(0);

impl LabLock {
    fn acquire(lab_dir: &Path) -> LabLock {
        let dir = lab_dir.join("lock.d");
        let pid = std::process::id();
        let start = proc_start_time(pid).unwrap_or(0);
        let token = format!(
            "{pid} {start} {}-{}",
            LOCK_SEQ.fetch_add(1, Ordering::Relaxed),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        );
        let began = Instant::now();
        let mut told = false;
        loop {
            match fs::create_dir(&dir) {
                Ok(()) => {
                    let tmp = dir.join("owner.tmp");
                    fs::write(&tmp, &token)
                        .and_then(|()| fs::rename(&tmp, dir.join("owner")))
                        .unwrap_or_else(|e| panic!("lab: cannot write {}: {e}", tmp.display()));
                    return LabLock { dir, token };
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    if Self::take_if_stale(&dir) {
                        continue;
                    }
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    panic!("{NOT_UP} ({} does not exist)", lab_dir.display())
                }
                Err(e) => panic!("lab: cannot create {}: {e}", dir.display()),
            }
            if !told && began.elapsed() > Duration::from_secs(2) {
                let owner = fs::read_to_string(dir.join("owner")).unwrap_or_default();
                eprintln!(
                    "lab: waiting for the lab lock {} (owner: {owner})",
                    dir.display()
                );
                told = true;
            }
            if began.elapsed() > LOCK_TIMEOUT {
                let owner = fs::read_to_string(dir.join("owner")).unwrap_or_default();
                panic!(
                    "lab: the lab lock {} is still held after {:?} (owner: {owner})",
                    dir.display(),
                    LOCK_TIMEOUT
                );
            }
            thread::sleep(Duration::from_millis(25));
        }
    }

    /// If the lock's owner is dead, moves the lock aside and returns true.
    fn take_if_stale(dir: &Path) -> bool {
        let owner_path = dir.join("owner");
        let stale = match fs::read_to_string(&owner_path) {
            Ok(owner) => {
                let mut it = owner.split_whitespace();
                let pid = it.next().and_then(|p| p.parse::<u32>().ok());
                let start = it.next().and_then(|s| s.parse::<u64>().ok());
                match (pid, start) {
                    (Some(pid), Some(start)) => !process_alive(pid, start),
                    _ => true,
                }
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                // Created but not yet owned: stale only if it stays so for a while.
                match fs::metadata(dir).and_then(|m| m.modified()) {
                    Ok(t) => t.elapsed().map(|d| d > OWNERLESS_GRACE).unwrap_or(false),
                    Err(_) => false, // just released
                }
            }
            Err(_) => false,
        };
        if !stale {
            return false;
        }
        // Narrow the race with another waiter that took the stale lock over meanwhile.
        let before = fs::read_to_string(&owner_path).ok();
        thread::sleep(Duration::from_millis(5));
        if fs::read_to_string(&owner_path).ok() != before {
            return false;
        }
        let aside = dir.with_file_name(format!(
            "lock.d.stale.{}.{}",
            std::process::id(),
            LOCK_SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        if fs::rename(dir, &aside).is_ok() {
            eprintln!("lab: took over a stale lab lock");
            let _ = fs::remove_dir_all(&aside);
        }
        true
    }
}

impl Drop for LabLock {
    fn drop(&mut self) {
        // Only remove the lock if it is still ours (it is, unless someone broke it by hand).
        if fs::read_to_string(self.dir.join("owner")).ok().as_deref() == Some(self.token.as_str()) {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// `s` single-quoted for bash.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Field 22 of /proc/PID/stat: the start time, to tell a live owner from a reused pid.
fn proc_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); field 22 is at index 19
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

fn process_alive(pid: u32, start: u64) -> bool {
    match proc_start_time(pid) {
        Some(s) => start == 0 || s == start,
        None => false,
    }
}
