//! The shell side of the `net` section (src/probe/net.sh), run by this machine's /bin/sh: the
//! whole probe on this host, then net.sh alone with a fake `ip` standing for older iproute2
//! versions, a hung one, and none at all.

use super::*;
use crate::probe::ProbeRequest;
use crate::probe::report::ProbeReport;
use crate::probe::sections::split;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NONCE: &str = "0123456789abcdef";

/// `/bin/sh -s` reading `stdin` under LC_ALL=C, as the console runs the probe; its output.
fn sh(stdin: Vec<u8>) -> Vec<u8> {
    let mut child = Command::new("/bin/sh")
        .arg("-s")
        .env("LC_ALL", "C")
        .env("LANG", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("/bin/sh");
    let mut input = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || input.write_all(&stdin));
    let out = child.wait_with_output().expect("sh").stdout;
    writer.join().expect("writer").expect("write");
    out
}

#[test]
fn the_whole_probe_reads_this_host() {
    let r = ProbeRequest::new(false, false, false);
    let out = sh(r.stdin());
    let sections = split(&out, &r.nonce);
    let report = ProbeReport::from_sections(&sections);
    let s = report.section("net").expect("a net section");
    assert!(
        s.elapsed_ms.is_some_and(|ms| ms < 3000),
        "{:?}",
        s.elapsed_ms
    );
    let net = parse(&s.body).unwrap();
    let lo = net.interface("lo").expect("every Linux host has lo");
    assert!(lo.loopback && lo.admin_up);
    assert!(net.routes4.is_ok() && net.routes6.is_ok(), "{net:?}");
    let checks = crate::checks::network::evaluate(&crate::checks::host::tests::host(&[]), &report);
    assert!(
        checks
            .iter()
            .all(|c| c.state != crate::checks::State::Unknown),
        "{checks:#?}"
    );
}

fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/net/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The probe's own helpers (everything probe.sh defines before its first section), then
/// `path` as PATH, then net.sh: the `net` section alone, and how long it took.
fn net_sh(path: &str) -> (NetReport, Duration) {
    let probe = include_str!("../probe.sh");
    let helpers = probe.split("\nsec ").next().unwrap_or(probe);
    let script = format!(
        "N={NONCE}\n{helpers}\nPATH='{path}'\n{}",
        include_str!("../net.sh")
    );
    let start = Instant::now();
    let out = sh(script.into_bytes());
    let took = start.elapsed();
    let body = split(&out, NONCE)
        .get("net")
        .map(|s| s.body.clone())
        .unwrap_or_default();
    let r = parse(&body).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
    (r, took)
}

/// A directory holding a fake `ip` (a shell `case` on its arguments, each call logged to
/// `calls`) and links to the few tools net.sh needs besides.
fn fake_ip(dir: &Path, cases: &str) {
    let script = format!(
        "#!/bin/sh\necho \"$*\" >>'{}/calls'\ncase \"$*\" in\n{cases}\n*) exit 1 ;;\nesac\n",
        dir.display()
    );
    let ip = dir.join("ip");
    std::fs::write(&ip, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ip, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn tools(dir: &Path) {
    for tool in ["cat", "uname", "timeout", "sleep"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("no {tool}"));
        std::os::unix::fs::symlink(found, dir.join(tool)).unwrap();
    }
}

fn calls(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("calls"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn an_ip_without_json_is_read_as_text() {
    // RHEL 7 and older: `-j` is an error; plain `ip` answers.
    let dir = tempfile::tempdir().unwrap();
    tools(dir.path());
    fake_ip(
        dir.path(),
        &format!(
            "-j*) echo 'Option \"-j\" is unknown, try \"ip -help\".' >&2; exit 255 ;;\n\
             '-d addr show') cat '{}' ;;\n\
             'route show') cat '{}' ;;\n\
             '-6 route show') ;;",
            fixture_path("insights_rhel_ip_addr.txt"),
            fixture_path("jc_centos77_ip_route.txt"),
        ),
    );
    let (
        NetReport {
            interfaces: ifs,
            routes4: r4,
            routes6: r6,
        },
        _,
    ) = net_sh(&dir.path().display().to_string());
    let ifs = ifs.unwrap();
    assert_eq!(ifs.len(), 6);
    assert_eq!(
        ifs.iter().find(|i| i.name == "eth7").unwrap().carrier,
        Some(false)
    );
    let r4 = r4.unwrap();
    assert_eq!(r4.len(), 4);
    assert!(r4.iter().any(|r| r.is_default() && r.usable_kind()));
    assert_eq!(r6, Ok(vec![]));
}

#[test]
fn json_addresses_and_text_routes() {
    // iproute2 4.13 to 4.16 printed JSON for addresses but still text for routes, `-j` or not.
    let dir = tempfile::tempdir().unwrap();
    tools(dir.path());
    fake_ip(
        dir.path(),
        &format!(
            "'-j -d addr show') cat '{addr}' ;;\n\
             '-j route show'|'route show') cat '{route}' ;;\n\
             '-j -6 route show'|'-6 route show') ;;",
            addr = fixture_path("lab_router_addr.json"),
            route = fixture_path("lab_router_route4.txt"),
        ),
    );
    let (
        NetReport {
            interfaces: ifs,
            routes4: r4,
            routes6: r6,
        },
        _,
    ) = net_sh(&dir.path().display().to_string());
    assert_eq!(ifs.unwrap().len(), 10);
    assert_eq!(r4.unwrap().len(), 4);
    assert_eq!(r6, Ok(vec![]));
    assert_eq!(
        calls(dir.path()),
        [
            "-j -d addr show",
            "-j route show",
            "route show",
            "-j -6 route show",
            "-6 route show"
        ]
    );
}

#[test]
fn a_hung_ip_costs_its_timeout_once() {
    let dir = tempfile::tempdir().unwrap();
    tools(dir.path());
    fake_ip(
        dir.path(),
        "'-j -d addr show') exec sleep 30 ;;\n'-j route show'|'-j -6 route show') echo '[]' ;;",
    );
    let (
        NetReport {
            interfaces: ifs,
            routes4: r4,
            routes6: r6,
        },
        took,
    ) = net_sh(&dir.path().display().to_string());
    assert_eq!(ifs, Err("ip addr: timed out".into()));
    assert_eq!((r4, r6), (Ok(vec![]), Ok(vec![])));
    assert!(took < Duration::from_secs(6), "{took:?}");
    assert_eq!(calls(dir.path())[0], "-j -d addr show");
    assert!(!calls(dir.path()).contains(&"-d addr show".to_string()));
}

#[test]
fn without_ip_sysfs_and_proc() {
    let dir = tempfile::tempdir().unwrap();
    tools(dir.path());
    let (
        NetReport {
            interfaces: ifs,
            routes4: r4,
            routes6: r6,
        },
        _,
    ) = net_sh(&dir.path().display().to_string());
    let ifs = ifs.unwrap();
    let lo = ifs
        .iter()
        .find(|i| i.name == "lo")
        .expect("lo in /sys/class/net");
    assert!(lo.loopback && lo.admin_up);
    assert!(ifs.iter().all(|i| i.addresses.is_none()));
    assert!(r4.is_ok() && r6.is_ok(), "{r4:?} {r6:?}");
}
