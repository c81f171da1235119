//! repl.sh run by /bin/sh (dash on Debian) with shims in front of the real tools: small
//! scripts printing the fixtures, so the test proves that what the shell prints is what the
//! parsers read, through the section framing, to the checks.

use crate::checks::{Check, State, replication};
use crate::probe::report::ProbeReport;
use crate::probe::sections::split;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

const PROBE: &str = include_str!("../../probe.sh");
const REPL: &str = include_str!("../../repl.sh");
const NONCE: &str = "5f0c9a3e71d24b8e9a6c1f3b2d7e8a90";
const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/repl");

/// probe.sh's definitions (everything before its first section), then repl.sh, then a line
/// proving the shell still had the rest of its script (no tool read standard input).
fn script(kinds: &str) -> String {
    let cut = PROBE
        .find("\nsec stat s_stat")
        .expect("probe.sh defines its helpers before `sec stat s_stat`");
    let helpers = PROBE.get(..cut).unwrap_or("");
    format!("N={NONCE}\nSUDO=0\nREPL='{kinds}'\n{helpers}\n{REPL}\necho VIGIE_AFTER\n")
}

/// Runs the script with `shims` (name, shell code) first in PATH; returns standard output
/// and the shims' call log.
fn run(kinds: &str, shims: &[(&str, &str)]) -> (String, String) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for (name, code) in shims {
        let path = bin.join(name);
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho \"{name} $*\" >>\"$HOME/calls\"\n{code}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut child = Command::new("/bin/sh")
        .arg("-s")
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", dir.path())
        .env("FIX", FIX)
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("/bin/sh");
    let mut input = child.stdin.take().unwrap();
    let text = script(kinds);
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap_or_default();
    (String::from_utf8_lossy(&out.stdout).into_owned(), calls)
}

fn evaluate(kinds: &[&str], out: &str) -> (ProbeReport, Vec<Check>) {
    let report = ProbeReport::from_sections(&split(out.as_bytes(), NONCE));
    let mut host = crate::checks::host::tests::host(&[]);
    host.apps.replication = kinds.iter().map(|k| k.to_string()).collect();
    let checks = replication::evaluate(&host, &report);
    (report, checks)
}

fn find<'a>(checks: &'a [Check], id: &str) -> &'a Check {
    crate::checks::host::tests::find(checks, id)
}

/// `id -u` says root, `runuser` runs its command as is: the root path of the probe.
const ROOT: [(&str, &str); 2] = [
    (
        "id",
        "[ \"$1\" = -u ] && { echo 0; exit 0; }; exec /usr/bin/id \"$@\"",
    ),
    (
        "runuser",
        "[ \"$1\" = -u ] && shift 2; [ \"$1\" = -- ] && shift; exec \"$@\"",
    ),
];

#[test]
fn every_kind_through_the_shell() {
    let shims = [
        ROOT[0],
        ROOT[1],
        // Pacemaker 1.1: no --output-as, XML with --as-xml.
        (
            "crm_mon",
            "case \"$*\" in *--output-as=xml*) echo \"crm_mon: unrecognized option '--output-as=xml'\" >&2; exit 64;;\n\
             *--as-xml*) cat \"$FIX/crm_mon_1.1.20_as-xml_offline.xml\";; esac",
        ),
        (
            "drbdadm",
            "case \"$1\" in sh-resources) echo 'r0 r1';; sh-minor) [ \"$2\" = r0 ] && echo 0 || echo 1;; esac",
        ),
        // Gluster before 3.13: `info summary` is refused, `info` lists the entries.
        (
            "gluster",
            "case \"$*\" in\n\
             'peer status') cat \"$FIX/gluster_peer_status_disconnected.txt\";;\n\
             'volume info all') cat \"$FIX/gluster_volume_info_replica4.txt\";;\n\
             'volume status all') cat \"$FIX/gluster_volume_status_replica4_brick_missing.txt\";;\n\
             'volume heal test info summary') echo 'Usage:' >&2; exit 1;;\n\
             'volume heal test info') cat \"$FIX/gluster_heal_info_split_brain.txt\";;\n\
             'volume heal test info split-brain') cat \"$FIX/gluster_heal_info_split_brain_list.txt\";;\n\
             esac",
        ),
        // A client too old for --connect-timeout.
        (
            "ceph",
            "case \"$*\" in *--connect-timeout*) echo 'ceph: error: unrecognized arguments: --connect-timeout 4' >&2; exit 2;;\n\
             'status -f json') cat \"$FIX/ceph_status_14_nautilus_ok.json\";; esac",
        ),
        // MySQL 8: no SHOW ALL SLAVES STATUS.
        (
            "mysql",
            "case \"$*\" in *'SHOW ALL SLAVES STATUS'*) echo \"ERROR 1064 (42000) at line 1: You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near 'ALL SLAVES STATUS' at line 1\" >&2; exit 1;;\n\
             *'SHOW REPLICA STATUS'*) cat \"$FIX/mysql_8.0.33_show_replica_status_ok.txt\";; esac",
        ),
        // PostgreSQL 15 standby (the values of a real capture, replay paused).
        (
            "psql",
            "case \"$*\" in *pg_is_in_recovery*) echo 't|150018';;\n\
             *pg_last_wal_receive_lsn*) echo '0/54D0908|0/3015FF0|6.894956|38512920|streaming|3.139451';; esac",
        ),
    ];
    let kinds = [
        "pacemaker",
        "drbd",
        "glusterfs",
        "ceph",
        "mysql",
        "postgresql",
    ];
    let (out, calls) = run(
        "pacemaker drbd glusterfs bogus ceph mysql postgresql",
        &shims,
    );
    assert!(
        out.ends_with("VIGIE_AFTER\n"),
        "the shell read its whole script: {out}"
    );
    let (report, checks) = evaluate(&kinds, &out);
    assert!(
        !report.apps.contains_key("repl.bogus"),
        "unknown words are ignored"
    );

    let body = |kind: &str| {
        report
            .apps
            .get(&format!("repl.{kind}"))
            .map(|s| s.body.clone())
            .unwrap_or_default()
    };
    assert!(body("pacemaker").starts_with("@@xml\ncrm_mon: unrecognized option"));
    let c = find(&checks, "app.replication.pacemaker.cluster");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Crit, "smc8-m11 offline")
    );

    assert!(
        body("drbd").contains("@@config\nr0 0 \nr1 1 \n@@rc 0\n"),
        "{}",
        body("drbd")
    );
    if !Path::new("/proc/drbd").exists() {
        let c = find(&checks, "app.replication.drbd");
        assert_eq!(c.state, State::Crit);
        assert_eq!(
            c.summary,
            "DRBD: DRBD kernel module not loaded (no /proc/drbd)"
        );
    }

    let gl = body("glusterfs");
    assert!(!gl.contains("/stbn"), "heal entries are left out: {gl}");
    assert!(gl.contains("@@heal test\nUsage:\n@@rc 1\n@@heal test\nBrick "));
    assert_eq!(
        find(&checks, "app.replication.glusterfs.peers").state,
        State::Crit
    );
    let v = find(&checks, "app.replication.glusterfs.test");
    assert_eq!(
        v.summary,
        "1 of 4 bricks offline: 10.10.1.223:/volume/test_0; 2 entries in split-brain; \
         8 entries to heal"
    );

    assert!(calls.contains("ceph status -f json"), "{calls}");
    assert_eq!(find(&checks, "app.replication.ceph.ceph").state, State::Ok);

    assert!(body("mysql").starts_with("@@replica SHOW REPLICA STATUS\n*****"));
    let c = find(&checks, "app.replication.mysql.replica");
    assert_eq!((c.state, c.value), (State::Ok, Some(0.0)));

    assert!(
        calls.contains("runuser -u postgres -- psql -X -A -t -F| -v ON_ERROR_STOP=1 -d postgres -c SELECT pg_is_in_recovery()"),
        "{calls}"
    );
    let c = find(&checks, "app.replication.postgresql.standby");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (State::Warn, "streaming, replay 7 s behind (36.7 MiB)")
    );
}

#[test]
fn heartbeat_without_pacemaker() {
    if ["/usr/sbin/crm_mon", "/usr/bin/crm_mon", "/sbin/crm_mon"]
        .iter()
        .any(|p| Path::new(p).exists())
    {
        return; // crm_mon installed here: the probe would rightly prefer it.
    }
    let shims = [(
        "cl_status",
        "case \"$1\" in hbstatus) cat \"$FIX/cl_status_3.0.6_hbstatus_running.txt\";;\n\
         listnodes) printf 'alpha\\nbeta\\n';;\n\
         nodestatus) [ \"$2\" = alpha ] && echo active || { echo dead; exit 1; };;\n\
         rscstatus) echo all;; esac",
    )];
    let (out, _) = run("heartbeat", &shims);
    let (_, checks) = evaluate(&["heartbeat"], &out);
    let c = find(&checks, "app.replication.heartbeat.cluster");
    assert_eq!((c.state, c.summary.as_str()), (State::Crit, "beta offline"));
}

#[test]
fn tools_missing_and_output_that_looks_like_a_part() {
    // The same probe as a user without sudo, no tool installed: UNKNOWN or CRIT, never a
    // failure of the run.
    let shims = [
        (
            "id",
            "[ \"$1\" = -u ] && { echo 1000; exit 0; }; exec /usr/bin/id \"$@\"",
        ),
        ("gluster", "exit 0"),
        // A value quoting a replicated query that holds a part header and a status.
        (
            "mysql",
            "case \"$*\" in *SLAVES*) printf '*************************** 1. row ***************************\\n  Slave_IO_Running: Yes\\n Slave_SQL_Running: No\\n    Last_SQL_Error: Query: INSERT (2,\\047b\\n@@rc 0\\n@@replica x\\n Slave_SQL_Running: Yes\\047)\\n';; esac",
        ),
    ];
    let (out, _) = run("glusterfs mysql", &shims);
    let (report, checks) = evaluate(&["glusterfs", "mysql"], &out);
    let c = find(&checks, "app.replication.glusterfs");
    assert_eq!(
        (c.state, c.summary.as_str()),
        (
            State::Unknown,
            "the gluster command needs root (sudo is off for this host)"
        )
    );
    let body = &report.apps["repl.mysql"].body;
    assert!(body.contains("\n@ @rc 0\n@ @replica x\n"), "{body}");
    let c = find(&checks, "app.replication.mysql.replica");
    assert_eq!(c.state, State::Crit, "{c:?}");
    assert!(
        c.summary.starts_with("SQL thread No: Query: INSERT"),
        "{}",
        c.summary
    );
}
