//! The applications of a demo host: the processes that stand for nginx and PostgreSQL, and the
//! shims the probe's application and replication sections (src/probe/apps.sh, repl.sh) meet
//! instead of the real tools: `ps`, `curl`, `pg_isready`, `psql`, `runuser`, `systemctl`.
//!
//! The shims read the host's state from its processes, never from a script of answers: a
//! service is up while the first process of its pid file (`run/<service>.pid`, written by
//! procs::Services) is alive, so stopping the process is all a fault has to do. The one
//! exception is the replication link between prod and drp: cutting it is a flag file (its
//! contents the time of the cut), which both ends' psql read.
//!
//! Outputs imitate the real tools byte for byte where the probe reads them: curl 7.88 and
//! nginx 1.22's stub_status (tests/fixtures/apps/nginx_*_curl.txt), pg_isready and psql of
//! PostgreSQL 15 (tests/fixtures/apps/pg_*.txt, tests/fixtures/repl/section_pg_15_*.txt),
//! systemctl 252's `list-units --plain --no-legend` (tests/fixtures/apps/systemd_*.txt).

use super::hosts::{HostSpec, Pg, STANDBY_NAME, STANDBY_REPLICATION_ADDRESS};
use super::sandbox::{path_str, sh_quote};
use std::io;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Service names (and pid file names) the faults act on.
pub(crate) const NGINX: &str = "nginx";
pub(crate) const POSTGRESQL: &str = "postgresql";
/// The WAL sender of the primary, the WAL receiver of the standby: the processes that exist
/// only while the replication streams.
pub(crate) const WAL_SENDER: &str = "walsender";
pub(crate) const WAL_RECEIVER: &str = "walreceiver";

/// PostgreSQL 15.x, as `current_setting('server_version_num')` says.
const PG_VERSION_NUM: &str = "150018";
/// WAL the primary writes per second (a quiet shop: about 250 MiB a day).
const WAL_RATE: u64 = 3_100;
/// Where the WAL position stood when the demo started: a cluster that has lived a while.
const WAL_START: u64 = 0x3_0200_0000;

/// One process of a service: its command name (the executable's, ≤ 15 characters) and the
/// command line `ps` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Proc {
    pub comm: &'static str,
    pub args: &'static str,
}

const fn proc(comm: &'static str, args: &'static str) -> Proc {
    Proc { comm, args }
}

/// The services of a host (its internal process first), each with its processes, the first
/// being the one whose life is the service's (nginx's master, the postmaster). As Debian 12's
/// nginx 1.22 and PostgreSQL 15 name their processes.
pub(crate) fn services(spec: &HostSpec) -> Vec<(&'static str, Vec<Proc>)> {
    let mut out = vec![(spec.process, vec![proc(spec.process, spec.process)])];
    if spec.nginx {
        out.push((
            NGINX,
            vec![
                proc(
                    "nginx",
                    "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;",
                ),
                proc("nginx", "nginx: worker process"),
            ],
        ));
    }
    const POSTMASTER: Proc = proc(
        "postgres",
        "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main -c \
         config_file=/etc/postgresql/15/main/postgresql.conf",
    );
    match spec.postgres {
        Some(Pg::Primary) => {
            out.push((
                POSTGRESQL,
                vec![
                    POSTMASTER,
                    proc("postgres", "postgres: 15/main: checkpointer "),
                    proc("postgres", "postgres: 15/main: background writer "),
                    proc("postgres", "postgres: 15/main: walwriter "),
                    proc("postgres", "postgres: 15/main: autovacuum launcher "),
                    proc(
                        "postgres",
                        "postgres: 15/main: logical replication launcher ",
                    ),
                ],
            ));
            out.push((
                WAL_SENDER,
                vec![proc(
                    "postgres",
                    "postgres: 15/main: walsender replicator 10.77.9.12(48522) streaming",
                )],
            ));
        }
        Some(Pg::Standby) => {
            out.push((
                POSTGRESQL,
                vec![
                    POSTMASTER,
                    proc("postgres", "postgres: 15/main: checkpointer "),
                    proc("postgres", "postgres: 15/main: background writer "),
                    proc("postgres", "postgres: 15/main: startup recovering"),
                ],
            ));
            out.push((
                WAL_RECEIVER,
                vec![proc("postgres", "postgres: 15/main: walreceiver streaming")],
            ));
        }
        None => {}
    }
    out
}

/// What the shims need to know of their host and of this machine.
pub(crate) struct ShimEnv<'a> {
    pub spec: &'a HostSpec,
    /// The pid files of the host's services.
    pub run: &'a Path,
    /// nginx's document root (the shop's pages).
    pub www: &'a Path,
    /// Present while the replication link is cut; holds the time of the cut.
    pub cut_flag: &'a Path,
    /// When the demo started (seconds since the epoch): the WAL position grows from there.
    pub t0: u64,
}

/// A shell function `up SERVICE`: whether the service's first process is alive.
fn up_function(run: &Path) -> io::Result<String> {
    Ok(format!(
        "up() {{\n\
         \x20   _p=\n\
         \x20   read -r _p _rest 2>/dev/null <{run}/\"$1\".pid\n\
         \x20   [ -n \"$_p\" ] && kill -0 \"$_p\" 2>/dev/null\n\
         }}\n",
        run = sh_quote(path_str(run)?)
    ))
}

/// The end of a shim: anything it does not answer goes to this machine's tool, if it has one.
fn pass_through(tool: &str, real: Option<&PathBuf>) -> io::Result<String> {
    Ok(match real {
        Some(p) => format!("exec {} \"$@\"\n", sh_quote(path_str(p)?)),
        None => format!(
            "echo \"{tool}: vigie demo: only the probe's questions are answered here\" >&2\n\
             exit 1\n"
        ),
    })
}

fn header(tool: &str, host: &str, what: &str) -> String {
    format!(
        "#!/bin/sh\n\
         # vigie demo: {tool} of demo host {host}: {what}\n\
         # Written by vigie, removed with the demo.\n"
    )
}

/// `ps`: every process (`-A`, `-e`) means this machine's PID 1 and the host's own services,
/// not whatever else this machine runs (a real nginx or PostgreSQL here would pass for the
/// demo's). Anything else is this machine's ps.
pub(crate) fn ps_shim(env: &ShimEnv<'_>, ps: &Path) -> io::Result<String> {
    let mut s = header(
        "ps",
        env.spec.name,
        "every process means PID 1 and the host's services.",
    );
    s.push_str(&format!(
        "_pids=1\n\
         for _f in {run}/*.pid; do\n\
         \x20   [ -r \"$_f\" ] || continue\n\
         \x20   read -r _l <\"$_f\" || continue\n\
         \x20   for _i in $_l; do _pids=$_pids,$_i; done\n\
         done\n\
         for _a; do\n\
         \x20   shift\n\
         \x20   case $_a in\n\
         \x20       -A | -e) set -- \"$@\" -p \"$_pids\" ;;\n\
         \x20       *) set -- \"$@\" \"$_a\" ;;\n\
         \x20   esac\n\
         done\n\
         exec {ps} \"$@\"\n",
        run = sh_quote(path_str(env.run)?),
        ps = sh_quote(path_str(ps)?),
    ));
    Ok(s)
}

/// `curl` on the nginx host: http://127.0.0.1/ is the host's nginx, answering while its
/// master process lives (stub_status at /nginx_status, the shop at /, 404 elsewhere) and
/// refusing the connection (curl's error 7) when it does not. Other URLs are this machine's
/// curl. Honours `-o FILE` and `-w FORMAT` (`%{http_code}` only), as the probe uses them.
pub(crate) fn curl_shim(env: &ShimEnv<'_>, curl: Option<&PathBuf>) -> io::Result<String> {
    let mut s = header(
        "curl",
        env.spec.name,
        "http://127.0.0.1/ is its nginx; any other URL is this machine's curl.",
    );
    s.push_str("_local=\n");
    s.push_str(
        "for _a; do\n\
         \x20   case $_a in http://127.0.0.1 | http://127.0.0.1/* | http://localhost/*) _local=1 ;; esac\n\
         done\n",
    );
    s.push_str("if [ -z \"$_local\" ]; then\n");
    s.push_str(&pass_through("curl", curl)?);
    s.push_str("fi\n");
    s.push_str(&up_function(env.run)?);
    s.push_str(&format!(
        "_o= _w= _url=\n\
         while [ $# -gt 0 ]; do\n\
         \x20   case $1 in\n\
         \x20       -o) _o=$2; shift ;;\n\
         \x20       -w) _w=$2; shift ;;\n\
         \x20       -m | --max-time) shift ;;\n\
         \x20       -*) ;;\n\
         \x20       *) _url=$1 ;;\n\
         \x20   esac\n\
         \x20   shift\n\
         done\n\
         # What -w prints once the code is known (curl's %{{http_code}}; 000 without answer).\n\
         code() {{\n\
         \x20   _c='%{{http_code}}'\n\
         \x20   case $_w in *\"$_c\"*) _w=${{_w%%\"$_c\"*}}$1${{_w#*\"$_c\"}} ;; esac\n\
         \x20   printf '%b' \"$_w\"\n\
         }}\n\
         if ! up {nginx}; then\n\
         \x20   echo \"curl: (7) Failed to connect to 127.0.0.1 port 80 after 0 ms: Couldn't connect to server\" >&2\n\
         \x20   code 000\n\
         \x20   exit 7\n\
         fi\n\
         _path=/${{_url#http://*/}}\n\
         case $_url in http://*/*) ;; *) _path=/ ;; esac\n\
         body() {{\n\
         \x20   case $_path in\n\
         \x20       /nginx_status)\n\
         \x20           # Requests since nginx started: this probe's and the ones before.\n\
         \x20           _n=0\n\
         \x20           read -r _n 2>/dev/null <{run}/nginx.requests\n\
         \x20           case $_n in '' | *[!0-9]*) _n=0 ;; esac\n\
         \x20           _n=$((_n + 1))\n\
         \x20           echo \"$_n\" >{run}/nginx.requests\n\
         \x20           _wait=$((_n % 3))\n\
         \x20           printf 'Active connections: %d \\nserver accepts handled requests\\n %d %d %d \\nReading: 0 Writing: 1 Waiting: %d \\n' \\\n\
         \x20               $((_wait + 1)) $((_n * 7 + 1180)) $((_n * 7 + 1180)) $((_n * 19 + 3412)) \"$_wait\"\n\
         \x20           ;;\n\
         \x20       / | /index.html) cat {www}/index.html ;;\n\
         \x20       *)\n\
         \x20           printf '<html>\\r\\n<head><title>404 Not Found</title></head>\\r\\n<body>\\r\\n<center><h1>404 Not Found</h1></center>\\r\\n<hr><center>nginx/1.22.1</center>\\r\\n</body>\\r\\n</html>\\r\\n'\n\
         \x20           return 1\n\
         \x20           ;;\n\
         \x20   esac\n\
         }}\n\
         if [ -n \"$_o\" ]; then body >\"$_o\"; else body; fi\n\
         if [ $? = 0 ]; then code 200; else code 404; fi\n\
         exit 0\n",
        nginx = NGINX,
        run = sh_quote(path_str(env.run)?),
        www = sh_quote(path_str(env.www)?),
    ));
    Ok(s)
}

/// `pg_isready`: accepting while the postmaster lives, no response otherwise.
pub(crate) fn pg_isready_shim(env: &ShimEnv<'_>) -> io::Result<String> {
    let mut s = header(
        "pg_isready",
        env.spec.name,
        "its PostgreSQL accepts connections while the postmaster lives.",
    );
    s.push_str(&up_function(env.run)?);
    s.push_str(&format!(
        "if up {POSTGRESQL}; then\n\
         \x20   echo \"/var/run/postgresql:5432 - accepting connections\"\n\
         \x20   exit 0\n\
         fi\n\
         echo \"/var/run/postgresql:5432 - no response\"\n\
         exit 2\n"
    ));
    Ok(s)
}

/// `runuser -u postgres -- CMD`, as the probe runs psql when it is root: the demo has no
/// postgres user, so CMD runs as the demo's user. Anything else is this machine's runuser.
pub(crate) fn runuser_shim(env: &ShimEnv<'_>, runuser: Option<&PathBuf>) -> io::Result<String> {
    let mut s = header(
        "runuser",
        env.spec.name,
        "`-u postgres -- CMD` runs CMD as the demo's user.",
    );
    s.push_str(
        "if [ \"$1\" = -u ] && [ \"$2\" = postgres ] && [ \"$3\" = -- ]; then\n\
         \x20   shift 3\n\
         \x20   exec \"$@\"\n\
         fi\n",
    );
    s.push_str(&pass_through("runuser", runuser)?);
    Ok(s)
}

/// `psql`: the probe's replication queries (repl.sh), answered as PostgreSQL 15 answers them
/// on a primary streaming to its standby, or on that standby; the WAL position grows with the
/// time. While the link is cut, the primary has no WAL sender and the standby no WAL
/// receiver, its position frozen at the cut. Without a postmaster, psql cannot connect.
pub(crate) fn psql_shim(env: &ShimEnv<'_>) -> io::Result<String> {
    let primary = env.spec.postgres != Some(Pg::Standby);
    let mut s = header(
        "psql",
        env.spec.name,
        "answers the probe's replication queries.",
    );
    s.push_str(&up_function(env.run)?);
    s.push_str(&format!(
        "if ! up {POSTGRESQL}; then\n\
         \x20   echo 'psql: error: connection to server on socket \"/var/run/postgresql/.s.PGSQL.5432\" failed: No such file or directory' >&2\n\
         \x20   printf '\\tIs the server running locally and accepting connections on that socket?\\n' >&2\n\
         \x20   exit 2\n\
         fi\n\
         _q=\n\
         while [ $# -gt 0 ]; do\n\
         \x20   case $1 in\n\
         \x20       -c) _q=$2; shift ;;\n\
         \x20   esac\n\
         \x20   shift\n\
         done\n\
         _now=$(date +%s)\n\
         _cut=\n\
         [ -r {flag} ] && read -r _cut <{flag}\n\
         case $_cut in '' | *[!0-9]*) _cut= ;; esac\n\
         # The WAL position at a time, as PostgreSQL prints an LSN.\n\
         lsn() {{\n\
         \x20   _b=$(({start} + ($1 - {t0}) * {rate}))\n\
         \x20   printf '%X/%X' $((_b >> 32)) $((_b & 4294967295))\n\
         }}\n\
         # Lag times that differ from one reading to the next, as measured ones do.\n\
         _f=$(((_now * 7919) % 900 + 100))\n\
         case $_q in\n\
         \x20   *pg_is_in_recovery*) echo \"{recovery}|{PG_VERSION_NUM}\" ;;\n",
        flag = sh_quote(path_str(env.cut_flag)?),
        start = WAL_START,
        t0 = env.t0,
        rate = WAL_RATE,
        recovery = if primary { "f" } else { "t" },
    ));
    if primary {
        s.push_str(&format!(
            "    *pg_stat_replication*)\n\
             \x20       [ -n \"$_cut\" ] && exit 0\n\
             \x20       _l=$(lsn \"$_now\")\n\
             \x20       echo \"{STANDBY_NAME}|{standby}|streaming|async|$_l|$_l|$_l|$_l|0.000$_f|0.000$((_f + 37))|0.00$((_f / 100 + 1))$_f|0\"\n\
             \x20       ;;\n\
             \x20   *pg_last_wal_receive_lsn*) echo \"|||||\" ;;\n",
            standby = Ipv4Addr::from(STANDBY_REPLICATION_ADDRESS),
        ));
    } else {
        s.push_str(
            "    *pg_stat_replication*) ;;\n\
             \x20   *pg_last_wal_receive_lsn*)\n\
             \x20       if [ -n \"$_cut\" ]; then\n\
             \x20           _l=$(lsn \"$_cut\")\n\
             \x20           echo \"$_l|$_l|$((_now - _cut)).$_f|0||\"\n\
             \x20       else\n\
             \x20           _l=$(lsn \"$_now\")\n\
             \x20           echo \"$_l|$_l|0.$_f|0|streaming|0.0$_f\"\n\
             \x20       fi\n\
             \x20       ;;\n",
        );
    }
    s.push_str(
        "    *)\n\
         \x20       echo 'ERROR:  vigie demo: this PostgreSQL answers the probe'\\''s queries only' >&2\n\
         \x20       exit 1\n\
         \x20       ;;\n\
         esac\n",
    );
    Ok(s)
}

/// `systemctl list-units`: the host's units (the probe asks only when systemd runs this
/// machine). A killed service's unit is failed, as systemd leaves it. Anything else is this
/// machine's systemctl.
pub(crate) fn systemctl_shim(env: &ShimEnv<'_>, systemctl: Option<&PathBuf>) -> io::Result<String> {
    let mut s = header(
        "systemctl",
        env.spec.name,
        "list-units shows the host's services.",
    );
    s.push_str("if [ \"$1\" != list-units ]; then\n");
    s.push_str(&pass_through("systemctl", systemctl)?);
    s.push_str("fi\n");
    s.push_str(&up_function(env.run)?);
    s.push_str(
        "set -f\n\
         _pats=\n\
         for _a; do\n\
         \x20   case $_a in -* | list-units) ;; *) _pats=\"$_pats $_a\" ;; esac\n\
         done\n\
         : \"${_pats:=*}\"\n\
         # UNIT LOAD ACTIVE SUB DESCRIPTION, when a pattern of the command line matches UNIT.\n\
         show() {\n\
         \x20   for _pat in $_pats; do\n\
         \x20       case $1 in $_pat) printf '%s\\n' \"$*\"; return ;; esac\n\
         \x20   done\n\
         }\n\
         # A service's unit: running while its process lives, failed once killed.\n\
         unit() {\n\
         \x20   _u=$1 _svc=$2\n\
         \x20   shift 2\n\
         \x20   if up \"$_svc\"; then show \"$_u\" loaded active running \"$@\"; else show \"$_u\" loaded failed failed \"$@\"; fi\n\
         }\n",
    );
    if env.spec.nginx {
        s.push_str(&format!(
            "unit nginx.service {NGINX} A high performance web server and a reverse proxy server\n"
        ));
    }
    if env.spec.postgres.is_some() {
        s.push_str(&format!(
            "show postgresql.service loaded active exited PostgreSQL RDBMS\n\
             unit postgresql@15-main.service {POSTGRESQL} PostgreSQL Cluster 15-main\n"
        ));
    }
    s.push_str("exit 0\n");
    Ok(s)
}

#[cfg(test)]
#[path = "apps_tests.rs"]
mod tests;
