//! `svc.<name>`: one application's section (src/probe/apps.sh): its systemd units, its
//! processes, and the raw runs of its health probes. The modules below read each probe's
//! output; src/checks/apps.rs turns them into `app.service.<name>`.

// Declared before the parsers' modules, whose tests use it.
#[cfg(test)]
#[macro_use]
mod fixtures {
    /// A section captured by running apps.sh (see tests/fixtures/apps/README.md).
    macro_rules! svc_fixture {
        ($name:literal) => {
            $crate::probe::parse::apps::parse(include_str!(concat!(
                "../../../../tests/fixtures/apps/",
                $name
            )))
            .expect($name)
        };
    }
}

pub mod db;
pub mod elasticsearch;
pub mod ftp;
pub mod http;
pub mod mail;
pub mod varnish;

use super::{ParseError, clean};

/// One systemd unit, from a line of `systemctl list-units --plain --no-legend`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub name: String,
    /// "loaded", "not-found", "masked"…
    pub load: String,
    /// "active", "inactive", "failed", "activating"…
    pub active: String,
    /// "running", "exited", "dead", "failed"…
    pub sub: String,
}

impl Unit {
    /// Active with something running: a oneshot that has exited ("active exited", as Debian's
    /// postgresql.service and postfix.service, which only group the real instances) proves
    /// nothing.
    pub fn running(&self) -> bool {
        self.active == "active" && self.sub != "exited"
    }
}

/// One run of a health probe: what it printed and its exit status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// `http`, or the tool's name (`pg_isready`, `ftp-banner`…).
    pub kind: String,
    /// For `http`: the client (curl, wget, bash) and the URL.
    pub args: Vec<String>,
    /// Its output, standard error included, one entry a line, carriage returns removed.
    pub lines: Vec<String>,
    /// `None` when the section was cut short before the probe ended.
    pub rc: Option<i32>,
}

impl Probe {
    /// The output lines that are not blank, trimmed.
    pub fn text_lines(&self) -> impl Iterator<Item = &str> {
        self.lines
            .iter()
            .map(|l| l.trim())
            .filter(|l| !l.is_empty())
    }

    /// Killed by `timeout` (124, or 137 after its KILL).
    pub fn timed_out(&self) -> bool {
        matches!(self.rc, Some(124 | 137))
    }

    /// The first line of output that is not blank, cleaned and cut short.
    pub fn first_line(&self) -> Option<String> {
        self.text_lines().next().map(|l| clean(l, 100))
    }
}

/// A whole `svc.<name>` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SvcSection {
    /// systemd runs the host (then `units` lists the service's loaded units).
    pub systemd: bool,
    pub units: Vec<Unit>,
    /// Whether `ps` showed PID 1: `Some(false)` when /proc hides other users' processes
    /// (hidepid), and then a missing process proves nothing.
    pub pid1_visible: Option<bool>,
    /// Live processes by the name apps.sh looked for (`nginx`, `args:<java class>`…).
    pub procs: Vec<(String, u64)>,
    pub probes: Vec<Probe>,
    /// Why a probe could not run ("pg_isready not installed").
    pub missing: Vec<String>,
}

impl SvcSection {
    /// Live processes of all the names looked for.
    pub fn process_count(&self) -> u64 {
        self.procs
            .iter()
            .fold(0u64, |a, (_, n)| a.saturating_add(*n))
    }

    /// The probes of one kind, in order.
    pub fn probes_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Probe> + 'a {
        self.probes.iter().filter(move |p| p.kind == kind)
    }
}

/// `NAME LOAD ACTIVE SUB DESCRIPTION…`; systemd before 246 may put a "●" before a failed
/// unit even with --plain.
fn unit(line: &str) -> Option<Unit> {
    let mut words = line
        .split_whitespace()
        .skip_while(|w| !w.contains('.'))
        .map(|w| clean(w, 80));
    let name = words.next()?;
    let load = words.next()?;
    let active = words.next()?;
    let sub = words.next()?;
    Some(Unit {
        name,
        load,
        active,
        sub,
    })
}

/// Reads a section. Lines apps.sh did not write are ignored; a section without its
/// `@@systemd` line is not one of apps.sh's.
pub fn parse(body: &str) -> Result<SvcSection, ParseError> {
    let mut s = SvcSection::default();
    let mut seen = false;
    let mut current: Option<Probe> = None;
    for raw in body.lines() {
        if let Some(text) = raw.strip_prefix('|') {
            if let Some(p) = current.as_mut() {
                p.lines.push(text.trim_end_matches('\r').to_string());
            }
            continue;
        }
        let line = raw.trim();
        if let Some(v) = line.strip_prefix("@@systemd") {
            s.systemd = v.trim() == "1";
            seen = true;
        } else if let Some(v) = line.strip_prefix("@@unit ") {
            s.units.extend(unit(v));
        } else if let Some(v) = line.strip_prefix("@@pid1") {
            s.pid1_visible = Some(v.trim() == "1");
        } else if let Some(v) = line.strip_prefix("@@proc ") {
            let mut words = v.split_whitespace();
            if let (Some(name), Some(n)) = (words.next(), words.next().and_then(|n| n.parse().ok()))
            {
                s.procs.push((clean(name, 80), n));
            }
        } else if let Some(v) = line.strip_prefix("@@probe ") {
            s.probes.extend(current.take());
            let mut words = v.split_whitespace().map(|w| clean(w, 200));
            current = Some(Probe {
                kind: words.next().unwrap_or_default(),
                args: words.collect(),
                lines: Vec::new(),
                rc: None,
            });
        } else if let Some(v) = line.strip_prefix("@@rc ") {
            if let Some(mut p) = current.take() {
                p.rc = Some(v.trim().parse().unwrap_or(-1));
                s.probes.push(p);
            }
        } else if let Some(v) = line.strip_prefix("@@none ") {
            // The probe announced just before never ran.
            current = None;
            s.missing.push(clean(v, 100));
        }
    }
    s.probes.extend(current);
    if !seen {
        return Err(ParseError::new(
            "not an application section (no @@systemd line)",
        ));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lab_nginx() {
        // Captured on the lab's prod host (no systemd, nginx started by hand).
        let s = svc_fixture!("lab_prod_nginx.txt");
        assert!(!s.systemd && s.units.is_empty());
        assert_eq!(s.pid1_visible, Some(true));
        assert_eq!(s.procs, vec![("nginx".to_string(), 2)]);
        assert_eq!(s.probes.len(), 1);
        let p = &s.probes[0];
        assert_eq!(p.kind, "http");
        assert_eq!(p.args, ["curl", "http://127.0.0.1/nginx_status"]);
        assert_eq!(p.rc, Some(0));
        assert_eq!(p.first_line().as_deref(), Some("Active connections: 1"));
    }

    #[test]
    fn systemd_units() {
        // Debian 12 with two PostgreSQL clusters, one of them failed.
        let s = svc_fixture!("systemd_postgresql_debian12.txt");
        assert!(s.systemd);
        let names: Vec<&str> = s.units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "postgresql.service",
                "postgresql@15-main.service",
                "postgresql@16-main.service"
            ]
        );
        assert!(
            !s.units[0].running(),
            "the umbrella oneshot is active exited"
        );
        assert!(s.units[1].running());
        assert_eq!(s.units[2].active, "failed");
        // An old systemd's bullet before a failed unit.
        let s = parse("@@systemd 1\n@@unit ● nginx.service loaded failed failed A web server\n")
            .unwrap();
        assert_eq!(s.units[0].name, "nginx.service");
        assert_eq!(s.units[0].sub, "failed");
    }

    #[test]
    fn missing_tools_and_cut_sections() {
        let s = svc_fixture!("pg_no_tool.txt");
        assert!(s.probes.is_empty());
        assert_eq!(s.missing, ["pg_isready not installed"]);
        let s = svc_fixture!("nginx_no_client.txt");
        assert!(s.probes.is_empty());
        assert_eq!(s.missing, ["no HTTP client (curl, wget, bash)"]);
        // Cut short inside a probe: it is kept, without a status.
        let s = parse("@@systemd 0\n@@proc nginx 1\n@@probe http curl http://127.0.0.1/\n|x\n")
            .unwrap();
        assert_eq!(s.probes[0].rc, None);
        assert_eq!(s.process_count(), 1);
        assert!(parse("").is_err());
        assert!(parse("garbage\n").is_err());
    }

    #[test]
    fn output_cannot_forge_our_lines() {
        // Every output line is prefixed with "|": a page printing "@@rc 0" stays output.
        let s =
            parse("@@systemd 0\n@@probe http curl u\n|@@rc 0\n|@@proc nginx 9\n@@rc 7\n").unwrap();
        assert!(s.procs.is_empty());
        assert_eq!(s.probes[0].rc, Some(7));
        assert_eq!(s.probes[0].lines, ["@@rc 0", "@@proc nginx 9"]);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>()) {
            let _ = parse(&s);
            let _ = parse(&format!("@@systemd 1\n{s}"));
        }

        #[test]
        fn shaped_input_never_panics(s in "(@@(systemd|pid1|proc|unit|probe|rc|none)( [a-z0-9.:@●-]{0,12}){0,5}\n(\\|[^\n]{0,30}\n){0,3}){0,8}") {
            let _ = parse(&s);
        }
    }
}

#[cfg(test)]
mod sh_tests;
