//! One demo host's sandbox directory: its HOME and working directory, the shims in `bin/` that
//! stand for its simulated hardware (disks, SMART, its name), network (ip) and applications
//! (ps, curl, pg_isready, psql, runuser, systemctl: see apps.rs), its data volume in `srv/`,
//! the pid files of its services in `run/`, and the copies of cat(1) that are its service
//! processes in `libexec/`.
//!
//! The probe puts the login PATH first, so `<sandbox>/bin` wins over the machine's tools;
//! everything the shims do not answer (/proc, any other command) is this machine's.

use super::apps::{self, ShimEnv};
use super::hosts::HostSpec;
use super::smart::smartctl_shim;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Size of every demo volume (/srv, /var/backups): 2 GiB.
pub(crate) const VOLUME_BYTES: u64 = 2 << 30;
/// Inodes of a demo volume (one per 16 KiB, as mke2fs gives a 2 GiB ext4).
const VOLUME_INODES: u64 = 131_072;
const MIB: u64 = 1 << 20;

/// The probe's df command line, the one question the df shim answers itself.
const PROBE_DF_OUTPUT: &str = "--output=source,fstype,size,used,avail,itotal,iused,iavail,target";

/// What a host keeps on its data volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Contents {
    /// The production site: web root, database files, logs.
    Production,
    /// The DRP server: a standby copy of the site.
    Standby,
    /// A backup server: database dumps every 2 h (when `dumps`), file archives on even or odd
    /// days.
    Backups { dumps: bool, even_days: bool },
}

/// A data volume: where the host mounts it, its device, what is on it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Volume {
    pub mount: &'static str,
    pub device: &'static str,
    pub contents: Contents,
}

/// The machine's own tools the shims hand over to (and copy, for the service processes).
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub cat: PathBuf,
    pub df: PathBuf,
    pub uname: PathBuf,
    pub ps: PathBuf,
    pub mkdir: PathBuf,
    /// OpenSSH's client, for the DRP's host-to-host transfers (`[drp] transfer_ssh`).
    pub ssh: Option<PathBuf>,
    /// Optional: only what the shims do not answer goes to them.
    pub curl: Option<PathBuf>,
    pub ip: Option<PathBuf>,
    pub runuser: Option<PathBuf>,
    pub systemctl: Option<PathBuf>,
}

impl Tools {
    pub(crate) fn find() -> io::Result<Tools> {
        let find = |name: &str| {
            ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
                .iter()
                .map(|d| Path::new(d).join(name))
                .find(|p| p.is_file())
        };
        let need = |name: &str| {
            find(name).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("the demo site needs {name} in /usr/bin or /bin"),
                )
            })
        };
        Ok(Tools {
            cat: need("cat")?,
            df: need("df")?,
            uname: need("uname")?,
            ps: need("ps")?,
            mkdir: need("mkdir")?,
            ssh: find("ssh"),
            curl: find("curl"),
            ip: find("ip"),
            runuser: find("runuser"),
            systemctl: find("systemctl"),
        })
    }
}

/// The file whose presence means the replication link between prod and drp is cut (demo
/// fault R); it holds the time of the cut. Site-wide: both ends read it.
pub(crate) fn cut_flag(root: &Path) -> PathBuf {
    root.join("world").join("replication-cut")
}

/// One service of a sandbox: its name (its pid file is `run/<name>.pid`) and its processes,
/// each an executable (named as the process) and the command line ps shows.
#[derive(Debug, Clone)]
pub(crate) struct Service {
    pub name: &'static str,
    pub procs: Vec<(PathBuf, &'static str)>,
}

/// A built sandbox.
#[derive(Debug, Clone)]
pub(crate) struct Sandbox {
    pub dir: PathBuf,
    pub bin: PathBuf,
    /// The data volume's contents (the df shim reports their apparent size).
    pub srv: PathBuf,
    /// The services' pid files.
    pub run: PathBuf,
    /// The host's services, its internal process first.
    pub services: Vec<Service>,
}

/// Single-quote for sh.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub(crate) fn path_str(p: &Path) -> io::Result<&str> {
    p.to_str().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not UTF-8", p.display()),
        )
    })
}

fn write_file(path: &Path, text: &str, mode: u32) -> io::Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)?;
    f.write_all(text.as_bytes())
}

/// A file of `bytes` apparent size that uses no disk (a hole), modified at `mtime`.
pub(crate) fn sparse(path: &Path, bytes: u64, mtime: SystemTime) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let f = File::create(path)?;
    f.set_len(bytes)?;
    f.set_times(fs::FileTimes::new().set_modified(mtime))
}

fn small(path: &Path, text: &str, mtime: SystemTime) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, text)?;
    File::options()
        .write(true)
        .open(path)?
        .set_times(fs::FileTimes::new().set_modified(mtime))
}

/// Apparent size of everything under `dir`, as `du -s --apparent-size` counts it.
pub(crate) fn apparent_size(dir: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return 0;
    };
    let mut total = meta.len();
    if meta.is_dir()
        && let Ok(entries) = fs::read_dir(dir)
    {
        for e in entries.flatten() {
            total += apparent_size(&e.path());
        }
    }
    total
}

/// Build the sandbox of `spec` under `root/hosts/<name>`; `t0` is when the site started.
pub(crate) fn build(root: &Path, spec: &HostSpec, tools: &Tools, t0: u64) -> io::Result<Sandbox> {
    let dir = root.join("hosts").join(spec.name);
    let bin = dir.join("bin");
    let srv = dir.join("srv");
    let run = dir.join("run");
    let libexec = dir.join("libexec");
    let share = dir.join("share");
    for d in [&bin, &run, &libexec, &share] {
        fs::create_dir_all(d)?;
    }
    let mut services = Vec::new();
    for (name, procs) in apps::services(spec) {
        let mut list = Vec::new();
        for p in procs {
            // A copy named as the process: the kernel takes the command name (ps's comm)
            // from the executable's name.
            let exe = libexec.join(p.comm);
            if !exe.exists() {
                fs::copy(&tools.cat, &exe)?;
            }
            list.push((exe, p.args));
        }
        services.push(Service { name, procs: list });
    }
    let sandbox = Sandbox {
        dir,
        bin,
        srv,
        run,
        services,
    };
    let shim = |name: &str, text: String| write_file(&sandbox.bin.join(name), &text, 0o755);
    shim("df", df_shim(spec, &sandbox, tools)?)?;
    shim("mkdir", mkdir_shim(spec, root, tools)?)?;
    shim("uname", uname_shim(spec, tools)?)?;
    shim("smartctl", smartctl_shim(&spec.disk))?;
    let flag = cut_flag(root);
    shim(
        "ip",
        super::net::write_ip(spec, &share, &flag, tools.ip.as_ref())?,
    )?;
    let www = sandbox.srv.join("www");
    let env = ShimEnv {
        spec,
        run: &sandbox.run,
        www: &www,
        cut_flag: &flag,
        t0,
    };
    shim("ps", apps::ps_shim(&env, &tools.ps)?)?;
    if spec.nginx {
        shim("curl", apps::curl_shim(&env, tools.curl.as_ref())?)?;
    }
    if spec.postgres.is_some() {
        shim("pg_isready", apps::pg_isready_shim(&env)?)?;
        shim("psql", apps::psql_shim(&env)?)?;
        shim("runuser", apps::runuser_shim(&env, tools.runuser.as_ref())?)?;
    }
    if !spec.services().is_empty() {
        shim(
            "systemctl",
            apps::systemctl_shim(&env, tools.systemctl.as_ref())?,
        )?;
    }
    if let Some(v) = spec.volume {
        fs::create_dir_all(&sandbox.srv)?;
        seed(&sandbox.srv, v.contents)?;
    }
    Ok(sandbox)
}

fn df_shim(spec: &HostSpec, sb: &Sandbox, tools: &Tools) -> io::Result<String> {
    let df = sh_quote(path_str(&tools.df)?);
    let mut s = format!(
        "#!/bin/sh\n\
         # vigie demo: the disks of demo host {name}. Written by vigie, removed with the demo.\n\
         # The probe's question gets this machine's real root filesystem and the host's demo\n\
         # volume; any other df command is this machine's df.\n\
         case \" $* \" in\n\
         *\" {PROBE_DF_OUTPUT} \"*) ;;\n\
         *) exec {df} \"$@\" ;;\n\
         esac\n\
         {df} -k {PROBE_DF_OUTPUT} / || exit\n",
        name = spec.name,
    );
    if let Some(v) = spec.volume {
        let srv = sh_quote(path_str(&sb.srv)?);
        s.push_str(&format!(
            "_used=$(du -sk --apparent-size {srv} 2>/dev/null)\n\
             _used=${{_used%%[!0-9]*}}\n\
             : \"${{_used:=0}}\"\n\
             _files=$(find {srv} 2>/dev/null | wc -l)\n\
             _size={size}\n\
             _avail=$((_size - _used))\n\
             [ \"$_avail\" -lt 0 ] && _avail=0\n\
             _itotal={inodes}\n\
             _iused=$((_files + 10))\n\
             printf '%s %s %s %s %s %s %s %s %s\\n' {device} ext4 \"$_size\" \"$_used\" \"$_avail\" \
             \"$_itotal\" \"$_iused\" \"$((_itotal - _iused))\" {mount}\n",
            size = VOLUME_BYTES / 1024,
            inodes = VOLUME_INODES,
            device = v.device,
            mount = v.mount,
        ));
    }
    Ok(s)
}

/// Directories are made only inside the demo's directory: nothing a demo host runs (a DRP
/// step, the DRP lock, a detached job) creates anything elsewhere on this machine, even when
/// a path would lead there (an absolute path outside, a `..`).
fn mkdir_shim(spec: &HostSpec, root: &Path, tools: &Tools) -> io::Result<String> {
    const BODY: &str = r#"_inside() {
    case /$1/ in */../*) return 1 ;; esac
    case $1 in /*) _p=$1 ;; *) _p=$(pwd)/$1 ;; esac
    case $_p/ in "$_root"/*) return 0 ;; esac
    return 1
}
_opts=1 _skip=
for _a; do
    if [ -n "$_skip" ]; then _skip=; continue; fi
    if [ -n "$_opts" ]; then
        case $_a in
        --) _opts=; continue ;;
        -m | --mode | -Z | --context) _skip=1; continue ;;
        -*) continue ;;
        esac
    fi
    if ! _inside "$_a"; then
        printf 'mkdir: %s: outside the vigie demo'\''s directory (%s): refused\n' "$_a" "$_root" >&2
        exit 1
    fi
done
"#;
    Ok(format!(
        "#!/bin/sh\n\
         # vigie demo: mkdir on demo host {name}, only inside the demo's directory.\n\
         _root={root}\n\
         {BODY}\
         exec {mkdir} \"$@\"\n",
        name = spec.name,
        root = sh_quote(path_str(root)?),
        mkdir = sh_quote(path_str(&tools.mkdir)?),
    ))
}

fn uname_shim(spec: &HostSpec, tools: &Tools) -> io::Result<String> {
    Ok(format!(
        "#!/bin/sh\n\
         # vigie demo: demo host {name} has its own name; the rest is this machine's.\n\
         case $* in\n\
         -n|--nodename) echo {name}; exit 0 ;;\n\
         esac\n\
         exec {uname} \"$@\"\n",
        name = spec.name,
        uname = sh_quote(path_str(&tools.uname)?),
    ))
}

fn seed(srv: &Path, contents: Contents) -> io::Result<()> {
    let now = SystemTime::now();
    let ago = |s: u64| now.checked_sub(Duration::from_secs(s)).unwrap_or(now);
    match contents {
        Contents::Production | Contents::Standby => {
            let page = "<!doctype html>\n<title>Demo shop</title>\n\
                        <h1>Welcome to the demo shop</h1>\n\
                        <p>Served by nginx on the vigie demo site.</p>\n";
            small(&srv.join("www/index.html"), page, ago(86_400 * 12))?;
            small(
                &srv.join("www/static/shop.css"),
                "body { font-family: sans-serif; }\n",
                ago(86_400 * 12),
            )?;
            let db = if contents == Contents::Production {
                780
            } else {
                740
            };
            sparse(&srv.join("db/base.dat"), db * MIB, ago(40))?;
            fs::create_dir_all(srv.join("log"))?;
            if contents == Contents::Production {
                small(
                    &srv.join("log/access.log"),
                    "127.0.0.1 - - \"GET / HTTP/1.1\" 200 96\n",
                    ago(5),
                )?;
            }
        }
        Contents::Backups { dumps, even_days } => {
            let secs = now
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let name_at = |t: u64, fmt: &str| {
                jiff::Timestamp::from_second(i64::try_from(t).unwrap_or(0))
                    .map(|ts| ts.strftime(fmt).to_string())
                    .unwrap_or_else(|_| t.to_string())
            };
            let at = |t: u64| UNIX_EPOCH + Duration::from_secs(t);
            if dumps {
                // A dump every 2 h over the last day, each finished 8 minutes after its start,
                // the newest started 35 minutes ago: the site starts well within its 2 h limit
                // (a schedule on the clock's even hours would start it past 75 % of the limit,
                // or past the limit while the current dump runs, for a quarter of the day).
                let last = secs.saturating_sub(35 * 60) / 60 * 60;
                for i in 0..12u64 {
                    let start = last.saturating_sub(i * 7_200);
                    let name = format!("userdb/userdb-{}.dump", name_at(start, "%Y%m%d-%H%M"));
                    sparse(&srv.join(name), (46 + i % 3) * MIB, at(start + 480))?;
                }
            }
            // File archives on even or odd days (days since the epoch), at 01:30 UTC.
            let today = secs / 86_400;
            let mut day = today;
            let mut made = 0;
            while made < 2 && day + 10 > today {
                if day.is_multiple_of(2) == even_days {
                    let start = day * 86_400 + 5_400;
                    // Finished archives only: one still being written is no backup yet.
                    if start + 2_700 <= secs {
                        let name = format!("files/files-{}.tar.zst", name_at(start, "%Y%m%d"));
                        sparse(&srv.join(name), (178 + made) * MIB, at(start + 2_700))?;
                        made += 1;
                    }
                }
                day = day.saturating_sub(1);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_quotes() {
        assert_eq!(sh_quote("a'b"), r"'a'\''b'");
    }
}
