//! apps.sh run by a real /bin/sh, its tools replaced by shims that print what the real tools
//! printed when the fixtures were captured: every fixture must come back byte for byte, which
//! proves the shell writes what the parser reads (and makes the same choices: the home page
//! only when there is no status page, HTTPS only when plain HTTP got no answer…).

use super::{Probe, SvcSection, parse};
use std::fmt::Write as _;
use std::path::Path;

/// probe.sh's helpers (have, t, cs, sec…) without its sections, then apps.sh. The login PATH
/// is kept as given: the shims' directory only, so that a tool can be missing.
fn script(service: &str) -> String {
    let head = crate::probe::SCRIPT
        .split("\ns_host() {")
        .next()
        .expect("probe.sh");
    let head: String = head
        .lines()
        .filter(|l| !l.starts_with("PATH=${PATH:+"))
        .map(|l| format!("{l}\n"))
        .collect();
    let apps = include_str!("../../apps.sh");
    format!("N=f00d\nSVC='{service}'\n{head}{apps}")
}

/// The tool a probe ran, as apps.sh calls it.
fn tool(p: &Probe) -> &str {
    match p.kind.as_str() {
        "http" => p.args.first().map_or("curl", String::as_str),
        "ftp-banner" => "bash",
        "ftp-curl" => "curl",
        "postfix-status" => "postfix",
        other => other,
    }
}

/// A `ps -A -o pid=,stat=,comm=,args=` that shows the fixture's processes.
fn ps_table(s: &SvcSection) -> String {
    let mut out = String::new();
    if s.pid1_visible != Some(false) {
        out.push_str("    1 Ss   init            /sbin/init\n");
    }
    let mut pid = 100;
    for (name, n) in &s.procs {
        for _ in 0..*n {
            pid += 1;
            let line = if let Some(class) = name.strip_prefix("args:") {
                format!("java /usr/bin/java -Xms1g {class} start")
            } else if let Some((comm, word)) = name.split_once('+') {
                format!("{comm} /usr/lib/{word}/sbin/{comm} -w")
            } else {
                format!("{name} {name}: worker")
            };
            let _ = writeln!(out, "{pid:5} S    {line}");
        }
    }
    out
}

fn write_exe(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("shim");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// The recorded runs of a fixture, by tool, in order: output as it was (carriage returns
/// kept) and status.
fn recorded_runs(fixture: &str) -> Vec<(String, String, i32)> {
    let mut runs: Vec<(String, String, i32)> = Vec::new();
    let mut current: Option<(String, String)> = None;
    // Split on \n only: str::lines would drop the servers' carriage returns.
    for line in fixture.split('\n') {
        if let Some(text) = line.strip_prefix('|') {
            if let Some((_, out)) = current.as_mut() {
                out.push_str(text);
                out.push('\n');
            }
        } else if let Some(v) = line.strip_prefix("@@probe ") {
            let words: Vec<String> = v.split_whitespace().map(String::from).collect();
            let probe = Probe {
                kind: words.first().cloned().unwrap_or_default(),
                args: words.get(1..).unwrap_or_default().to_vec(),
                lines: Vec::new(),
                rc: None,
            };
            current = Some((tool(&probe).to_string(), String::new()));
        } else if let Some(v) = line.strip_prefix("@@rc ")
            && let Some((t, out)) = current.take()
        {
            runs.push((t, out, v.parse().expect("rc")));
        }
    }
    runs
}

/// Runs apps.sh through /bin/sh for the words of `svc`, with shims replaying `fixture`, as
/// user `uid`; returns the sections.
fn run(svc: &str, fixture: &str, uid: u32) -> crate::probe::sections::Sections {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&bin).expect("bin");
    std::fs::create_dir_all(&out).expect("out");
    // The real tools apps.sh needs around the applications' own.
    for real in ["awk", "head", "sed", "tail", "timeout", "cat"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(real))
            .find(|p| p.exists())
            .expect(real);
        std::os::unix::fs::symlink(found, bin.join(real)).expect("symlink");
    }
    let s = parse(fixture).expect("fixture");
    std::fs::write(out.join("ps"), ps_table(&s)).expect("ps");
    write_exe(
        &bin.join("ps"),
        &format!("#!/bin/sh\ncat '{}/ps'\n", out.display()),
    );
    write_exe(&bin.join("id"), &format!("#!/bin/sh\necho {uid}\n"));
    // Each call of a tool prints its next recorded run: output, then status.
    let mut calls: std::collections::BTreeMap<String, usize> = Default::default();
    for (t, text, rc) in recorded_runs(fixture) {
        let n = calls.entry(t.clone()).or_default();
        *n += 1;
        std::fs::write(out.join(format!("{t}.{n}")), text).expect("out");
        std::fs::write(out.join(format!("{t}.{n}.rc")), rc.to_string()).expect("rc");
    }
    for t in calls.keys() {
        let o = out.display();
        write_exe(
            &bin.join(t),
            &format!(
                "#!/bin/sh\nn=$(($(cat '{o}/{t}.n' 2>/dev/null || echo 0) + 1))\n\
                 echo $n > '{o}/{t}.n'\ncat '{o}/{t}.'$n\nexit $(cat '{o}/{t}.'$n.rc)\n"
            ),
        );
    }
    // Installed but only root may run it: here, and never called.
    if fixture.contains("@@none postfix status needs root") {
        write_exe(&bin.join("postfix"), "#!/bin/sh\necho called; exit 99\n");
    }
    let output = std::process::Command::new("/bin/sh")
        .arg("-s")
        .env_clear()
        .env("PATH", &bin)
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            let mut input = child.stdin.take().expect("stdin");
            input.write_all(script(svc).as_bytes())?;
            drop(input);
            child.wait_with_output()
        })
        .expect("/bin/sh");
    crate::probe::sections::split(&output.stdout, "f00d")
}

/// The body of the service's section, replayed.
fn replay(service: &str, fixture: &str, uid: u32) -> String {
    let sections = run(service, fixture, uid);
    let section = sections
        .get(&format!("svc.{service}"))
        .unwrap_or_else(|| panic!("no section svc.{service} in {sections:?}"));
    assert_eq!(section.rc, Some(0), "apps.sh's functions return 0");
    section.body.clone()
}

/// The service a fixture belongs to, by its name.
fn service_of(file: &str) -> Option<&'static str> {
    let name = file.strip_prefix("lab_prod_").unwrap_or(file);
    [
        ("nginx", "nginx"),
        ("apache", "apache"),
        ("tomcat", "tomcat"),
        ("es_", "elasticsearch"),
        ("varnish", "varnish"),
        ("mysql", "mysql"),
        ("pg_", "postgresql"),
        ("postgresql", "postgresql"),
        ("ftp", "ftp"),
        ("postfix", "postfix"),
        ("qmail", "qmail"),
    ]
    .iter()
    .find(|(prefix, _)| name.starts_with(prefix))
    .map(|(_, service)| *service)
}

#[test]
fn every_captured_section_comes_back_from_sh() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/apps");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or("");
        // The systemd ones are composed (no systemd here), as is the hidepid one.
        if !file.ends_with(".txt") || file.starts_with("systemd_") || file.starts_with("hidepid_") {
            continue;
        }
        let Some(service) = service_of(file) else {
            panic!("{file}: which service?");
        };
        let fixture = std::fs::read_to_string(&path).expect("read");
        // `postfix status` is only run as root.
        let uid = if file.contains("nonroot") { 1000 } else { 0 };
        let got = replay(service, &fixture, uid);
        assert_eq!(got, fixture, "{file}");
        checked += 1;
    }
    assert!(checked >= 70, "only {checked} fixtures");
}

#[test]
fn only_known_services_run() {
    let fixture = include_str!("../../../../tests/fixtures/apps/lab_prod_nginx.txt");
    let sections = run("bogus nginx $(touch x) *", fixture, 0);
    let names: Vec<&str> = sections.keys().map(String::as_str).collect();
    assert_eq!(names, ["clock", "svc.nginx"]);
    assert_eq!(sections["svc.nginx"].body, fixture);
}
