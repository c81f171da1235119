//! The shims run by a real /bin/sh, their output read by the probe's own parsers.

use super::super::hosts::HOSTS;
use super::*;
use crate::probe::parse::repl::postgres::{self, PgStatus};
use std::process::{Command, Output};

fn host(name: &str) -> &'static HostSpec {
    HOSTS.iter().find(|h| h.name == name).unwrap()
}

struct Rig {
    dir: tempfile::TempDir,
    spec: &'static HostSpec,
}

impl Rig {
    fn new(name: &str) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        for d in ["run", "www"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        std::fs::write(
            dir.path().join("www/index.html"),
            "<h1>Welcome to the demo shop</h1>\n",
        )
        .unwrap();
        Rig {
            dir,
            spec: host(name),
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn env(&self) -> (PathBuf, PathBuf, PathBuf) {
        (self.path("run"), self.path("www"), self.path("cut"))
    }

    /// The service's first process is this test (alive), or a process that has ended.
    fn service(&self, name: &str, alive: bool) {
        let pid = if alive {
            std::process::id()
        } else {
            let mut c = Command::new("true").spawn().unwrap();
            let pid = c.id();
            c.wait().unwrap();
            pid
        };
        std::fs::write(self.path(&format!("run/{name}.pid")), format!("{pid}\n")).unwrap();
    }

    fn cut(&self, at: Option<u64>) {
        match at {
            Some(t) => std::fs::write(self.path("cut"), format!("{t}\n")).unwrap(),
            None => {
                let _ = std::fs::remove_file(self.path("cut"));
            }
        }
    }

    fn run(&self, shim: impl Fn(&ShimEnv<'_>) -> io::Result<String>, args: &[&str]) -> Output {
        let (run, www, cut) = self.env();
        let env = ShimEnv {
            spec: self.spec,
            run: &run,
            www: &www,
            cut_flag: &cut,
            t0: 1_700_000_000,
        };
        let script = self.path("shim");
        std::fs::write(&script, shim(&env).unwrap()).unwrap();
        Command::new("/bin/sh")
            .arg(&script)
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const W: &str = r"\n@@code %{http_code}\n";

#[test]
fn curl_reads_nginx_stub_status_while_nginx_runs() {
    let rig = Rig::new("prod");
    rig.service(NGINX, true);
    let status = |n: u32| {
        let out = rig.run(
            |e| curl_shim(e, None),
            &[
                "-sS",
                "-k",
                "-m",
                "4",
                "-w",
                W,
                "http://127.0.0.1/nginx_status",
            ],
        );
        assert_eq!(out.status.code(), Some(0));
        assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
        let body = text(&out.stdout);
        assert!(body.ends_with("\n\n@@code 200\n"), "{body:?}");
        let lines: Vec<String> = body.lines().map(str::to_string).collect();
        let st = crate::probe::parse::apps::http::stub_status(&lines)
            .unwrap_or_else(|| panic!("not a stub_status: {body:?}"));
        assert!((1..=3).contains(&st.active), "{n}: {body}");
        body
    };
    // The counters grow from one request to the next, as nginx's do.
    assert_ne!(status(1), status(2));

    // The home page, status only (-o /dev/null), as apps.sh's second request.
    let out = rig.run(
        |e| curl_shim(e, None),
        &["-sS", "-o", "/dev/null", "-w", W, "http://127.0.0.1/"],
    );
    assert_eq!(text(&out.stdout), "\n@@code 200\n");
    let out = rig.run(
        |e| curl_shim(e, None),
        &["-sS", "-w", W, "http://127.0.0.1/"],
    );
    assert!(text(&out.stdout).starts_with("<h1>Welcome to the demo shop</h1>"));
    let out = rig.run(
        |e| curl_shim(e, None),
        &["-sS", "-w", W, "http://127.0.0.1/x"],
    );
    assert!(text(&out.stdout).ends_with("</html>\r\n\n@@code 404\n"));
}

#[test]
fn curl_is_refused_once_nginx_is_killed() {
    let rig = Rig::new("prod");
    rig.service(NGINX, false);
    let out = rig.run(
        |e| curl_shim(e, None),
        &[
            "-sS",
            "-k",
            "-m",
            "4",
            "-w",
            W,
            "http://127.0.0.1/nginx_status",
        ],
    );
    // Exactly curl 7.88's words (tests/fixtures/apps/nginx_down_curl.txt).
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(
        text(&out.stderr),
        "curl: (7) Failed to connect to 127.0.0.1 port 80 after 0 ms: Couldn't connect to server\n"
    );
    assert_eq!(text(&out.stdout), "\n@@code 000\n");
    // Another URL is not the demo's to answer (and no curl is given here).
    let out = rig.run(|e| curl_shim(e, None), &["-sS", "https://example.org/"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn pg_isready_follows_the_postmaster() {
    let rig = Rig::new("drp");
    rig.service(POSTGRESQL, true);
    let out = rig.run(pg_isready_shim, &["-t", "3"]);
    assert_eq!(
        text(&out.stdout),
        "/var/run/postgresql:5432 - accepting connections\n"
    );
    assert_eq!(out.status.code(), Some(0));
    rig.service(POSTGRESQL, false);
    let out = rig.run(pg_isready_shim, &["-t", "3"]);
    assert_eq!(
        text(&out.stdout),
        "/var/run/postgresql:5432 - no response\n"
    );
    assert_eq!(out.status.code(), Some(2));
}

const PSQL: [&str; 10] = [
    "-X",
    "-A",
    "-t",
    "-F|",
    "-v",
    "ON_ERROR_STOP=1",
    "-d",
    "postgres",
    "-c",
    "",
];

/// The `repl.postgresql` section repl.sh would print from the shim's answers.
fn section(rig: &Rig) -> String {
    let q = |sql: &str| {
        let mut args = PSQL;
        args[9] = sql;
        let out = rig.run(psql_shim, &args);
        format!(
            "{}{}@@rc {}\n",
            text(&out.stdout),
            text(&out.stderr),
            out.status.code().unwrap()
        )
    };
    let role = q("SELECT pg_is_in_recovery(), current_setting($$server_version_num$$)");
    let mut s = format!("@@role\n{role}");
    if role.starts_with("f|") {
        s.push_str("@@primary\n");
        s.push_str(&q(
            "SELECT application_name, client_addr, state, sync_state, \
             sent_lsn, write_lsn, flush_lsn, replay_lsn, extract(epoch from write_lag), \
             extract(epoch from flush_lag), extract(epoch from replay_lag), \
             pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication",
        ));
    } else if role.starts_with("t|") {
        s.push_str("@@standby\n");
        s.push_str(&q(
            "SELECT pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn(), \
             extract(epoch from now() - pg_last_xact_replay_timestamp()), \
             pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), \
             (SELECT status FROM pg_stat_wal_receiver), \
             (SELECT extract(epoch from now() - last_msg_receipt_time) FROM pg_stat_wal_receiver)",
        ));
    }
    s
}

#[test]
fn psql_answers_as_a_primary_streaming_to_its_standby() {
    let rig = Rig::new("prod");
    rig.service(POSTGRESQL, true);
    let s = section(&rig);
    let Ok(PgStatus::Primary { version, senders }) = postgres::parse(&s) else {
        panic!("{s}");
    };
    assert_eq!(version, 150_018);
    assert_eq!(senders.len(), 1, "{s}");
    let drp = &senders[0];
    assert_eq!(drp.name, "drp");
    assert_eq!(drp.client.as_deref(), Some("10.77.9.12"));
    assert_eq!(drp.state, "streaming");
    assert_eq!(drp.lag_bytes, Some(0.0));
    assert!(drp.replay_lag.is_some_and(|l| l > 0.0 && l < 0.02), "{s}");

    // The link is cut: no WAL sender any more.
    rig.cut(Some(1_700_000_100));
    let s = section(&rig);
    let Ok(PgStatus::Primary { senders, .. }) = postgres::parse(&s) else {
        panic!("{s}");
    };
    assert!(senders.is_empty(), "{s}");
}

#[test]
fn psql_answers_as_a_standby_whose_receiver_stops_when_the_link_is_cut() {
    let rig = Rig::new("drp");
    rig.service(POSTGRESQL, true);
    let s = section(&rig);
    let Ok(PgStatus::Standby { receiver, .. }) = postgres::parse(&s) else {
        panic!("{s}");
    };
    assert_eq!(receiver.status.as_deref(), Some("streaming"));
    assert_eq!(receiver.lag_bytes, Some(0.0));
    assert!(
        receiver
            .receive_lsn
            .as_deref()
            .is_some_and(|l| l.contains('/'))
    );

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    rig.cut(Some(now - 30));
    let s = section(&rig);
    let Ok(PgStatus::Standby { receiver, .. }) = postgres::parse(&s) else {
        panic!("{s}");
    };
    assert_eq!(receiver.status, None, "{s}");
    // Frozen where the link was cut: 30 s of WAL (at WAL_RATE) behind the primary now.
    let age = receiver.replay_age.unwrap();
    assert!((30.0..32.0).contains(&age), "{s}");

    // The postmaster gone: psql cannot connect, as PostgreSQL 15's psql says.
    rig.service(POSTGRESQL, false);
    let s = section(&rig);
    assert!(s.contains("Is the server running locally"), "{s}");
    assert!(postgres::parse(&s).is_err());
}

#[test]
fn psql_refuses_other_queries() {
    let rig = Rig::new("prod");
    rig.service(POSTGRESQL, true);
    let mut args = PSQL;
    args[9] = "DROP TABLE users";
    let out = rig.run(psql_shim, &args);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn runuser_runs_the_command_as_the_demos_user() {
    let rig = Rig::new("prod");
    let out = rig.run(
        |e| runuser_shim(e, None),
        &["-u", "postgres", "--", "echo", "as me"],
    );
    assert_eq!(text(&out.stdout), "as me\n");
    let out = rig.run(|e| runuser_shim(e, None), &["-u", "root", "--", "id"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn systemctl_lists_the_units_the_patterns_name() {
    let rig = Rig::new("prod");
    rig.service(NGINX, true);
    rig.service(POSTGRESQL, true);
    let list = |pats: &[&str]| {
        let mut args = vec![
            "list-units",
            "--all",
            "--type=service",
            "--plain",
            "--no-legend",
            "--no-pager",
        ];
        args.extend_from_slice(pats);
        text(&rig.run(|e| systemctl_shim(e, None), &args).stdout)
    };
    assert_eq!(
        list(&["nginx.service"]),
        "nginx.service loaded active running A high performance web server and a reverse proxy server\n"
    );
    // apps.sh's patterns for PostgreSQL; a file matching one in the working directory must
    // not change them.
    std::fs::write(rig.path("postgresql@x.service"), "").unwrap();
    assert_eq!(
        list(&[
            "postgresql.service",
            "postgresql@*.service",
            "postgresql-*.service"
        ]),
        "postgresql.service loaded active exited PostgreSQL RDBMS\n\
         postgresql@15-main.service loaded active running PostgreSQL Cluster 15-main\n"
    );
    rig.service(NGINX, false);
    assert!(list(&["nginx.service"]).starts_with("nginx.service loaded failed failed "));
    // Units are parsed as apps.sh prints them.
    let body = format!(
        "@@systemd 1\n{}",
        list(&["nginx.service"])
            .lines()
            .map(|l| format!("@@unit {l}\n"))
            .collect::<String>()
    );
    let s = crate::probe::parse::apps::parse(&body).unwrap();
    assert_eq!(s.units[0].active, "failed");
}

#[test]
fn ps_shows_pid_1_and_the_hosts_services_only() {
    let rig = Rig::new("prod");
    rig.service("demo-web", true);
    let ps = ["/usr/bin/ps", "/bin/ps"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("ps");
    let out = rig.run(|e| ps_shim(e, &ps), &["-A", "-o", "pid="]);
    let pids: Vec<u32> = text(&out.stdout)
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids, [1, std::process::id()]);
}

#[test]
fn every_service_has_a_first_process_and_short_command_names() {
    for spec in &HOSTS {
        let s = services(spec);
        assert_eq!(s[0].0, spec.process);
        for (name, procs) in &s {
            assert!(!procs.is_empty(), "{name}");
            assert!(procs.iter().all(|p| p.comm.len() <= 15));
        }
    }
    let prod: Vec<&str> = services(host("prod")).iter().map(|s| s.0).collect();
    assert_eq!(prod, ["demo-web", NGINX, POSTGRESQL, WAL_SENDER]);
    let drp: Vec<&str> = services(host("drp")).iter().map(|s| s.0).collect();
    assert_eq!(drp, ["demo-standby", POSTGRESQL, WAL_RECEIVER]);
}
