//! `repl.<kind>`: the replication sections (src/probe/repl.sh), one parser per kind.
//!
//! A section is a series of parts, one per command the probe ran:
//!
//! ```text
//! @@<part> [argument]
//! what the command printed (standard output and error)
//! @@rc <exit status>
//! ```
//!
//! The probe escapes output lines starting with `@@`, so a part header is always the probe's.
//! Every parser returns what it read or a [`ReplError`] saying whether the replication system
//! is down (CRIT for the checks) or could not be looked at (UNKNOWN).

pub mod ceph;
pub mod cluster;
pub mod drbd;
pub mod gluster;
pub mod mysql;
pub mod postgres;
mod xml;

use super::{ParseError, clean};
use std::fmt;

/// Why a replication section gave no reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplError {
    /// The system is absent or not running on a host configured for it (no /proc/drbd,
    /// glusterd or the cluster stack stopped, the database server down).
    Down(String),
    /// Vigie could not look: a permission refused, a client tool missing, a time-out.
    Blind(String),
    /// The output had an unexpected shape.
    Parse(ParseError),
}

impl fmt::Display for ReplError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplError::Down(why) | ReplError::Blind(why) => f.write_str(why),
            ReplError::Parse(e) => write!(f, "unexpected output: {e}"),
        }
    }
}

impl From<ParseError> for ReplError {
    fn from(e: ParseError) -> Self {
        ReplError::Parse(e)
    }
}

/// One command of a section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// The first word of the header ("heal").
    pub name: &'a str,
    /// The rest of the header ("gv0"), trimmed.
    pub arg: &'a str,
    /// The output, lines joined with `\n`.
    pub text: String,
    /// The exit status; `None` when the part was cut short.
    pub rc: Option<i32>,
}

impl Part<'_> {
    pub fn ok(&self) -> bool {
        self.rc == Some(0)
    }

    /// The first lines of the output, cleaned and cut: enough to say why it failed.
    pub fn excerpt(&self) -> String {
        let lines: Vec<&str> = self
            .text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(2)
            .collect();
        clean(&lines.join(" / "), 120)
    }
}

/// The parts of a section body, in order. Text before the first header is ignored.
pub fn parts(body: &str) -> Vec<Part<'_>> {
    let mut out: Vec<Part<'_>> = Vec::new();
    let mut open = false;
    for line in body.lines() {
        if let Some(rc) = line.strip_prefix("@@rc ") {
            if open && let Some(p) = out.last_mut() {
                p.rc = Some(rc.trim().parse().unwrap_or(-1));
            }
            open = false;
        } else if let Some(header) = line.strip_prefix("@@") {
            let header = header.trim();
            let (name, arg) = header.split_once(' ').unwrap_or((header, ""));
            out.push(Part {
                name,
                arg: arg.trim(),
                text: String::new(),
                rc: None,
            });
            open = true;
        } else if open && let Some(p) = out.last_mut() {
            if !p.text.is_empty() {
                p.text.push('\n');
            }
            p.text.push_str(line);
        }
    }
    out
}

/// The last part called `name`.
pub(crate) fn last<'p, 'a>(parts: &'p [Part<'a>], name: &str) -> Option<&'p Part<'a>> {
    parts.iter().rev().find(|p| p.name == name)
}

/// What a failed command says when the cause is on Vigie's side (time-out, permission,
/// missing command), else a generic failure; `tool` names the command.
pub(crate) fn failure(tool: &str, part: &Part<'_>) -> ReplError {
    let text = &part.text;
    let lower = text.to_ascii_lowercase();
    match part.rc {
        None => ReplError::Blind(format!("{tool}: output cut short")),
        Some(124 | 137) => ReplError::Blind(format!("{tool} timed out")),
        Some(127) => ReplError::Blind(format!("{tool}: command not found")),
        _ if lower.contains("a password is required") || lower.contains("sudo:") => {
            ReplError::Blind(format!("{tool}: sudo refused ({})", part.excerpt()))
        }
        _ if lower.contains("permission denied")
            || lower.contains("access denied")
            || lower.contains("not permitted")
            || lower.contains("must be root") =>
        {
            ReplError::Blind(format!("{tool}: permission denied ({})", part.excerpt()))
        }
        Some(rc) if part.excerpt().is_empty() => {
            ReplError::Blind(format!("{tool} failed (exit {rc})"))
        }
        Some(rc) => ReplError::Blind(format!("{tool} failed (exit {rc}): {}", part.excerpt())),
    }
}

/// A name from remote output, safe for a check id and a summary: cleaned, at most 64
/// characters, no blanks.
pub(crate) fn name(s: &str) -> String {
    clean(s, 64).replace(char::is_whitespace, "_")
}

/// A section as repl.sh prints it: for each part `@@<name>`, the output, `@@rc <status>`.
#[cfg(test)]
pub(crate) fn section(parts: &[(&str, &str, i32)]) -> String {
    parts
        .iter()
        .map(|(name, text, rc)| format!("@@{name}\n{text}\n@@rc {rc}\n"))
        .collect()
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod shell_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_split_headers_args_and_status() {
        let body = "junk\n@@peers\nNumber of Peers: 0\n@@rc 0\n@@heal gv0\nBrick a:/b\n\
                    Status: Connected\n@@rc 1\n@@status\ncut";
        let p = parts(body);
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].name, p[0].arg, p[0].rc), ("peers", "", Some(0)));
        assert_eq!(p[0].text, "Number of Peers: 0");
        assert_eq!((p[1].name, p[1].arg, p[1].rc), ("heal", "gv0", Some(1)));
        assert_eq!(p[1].text, "Brick a:/b\nStatus: Connected");
        assert_eq!(p[2].rc, None, "cut short");
        assert_eq!(last(&p, "heal").map(|x| x.arg), Some("gv0"));
    }

    #[test]
    fn failures_say_why() {
        let part = |text: &str, rc| Part {
            name: "x",
            arg: "",
            text: text.into(),
            rc,
        };
        assert_eq!(
            failure("ceph", &part("", Some(124))),
            ReplError::Blind("ceph timed out".into())
        );
        assert_eq!(
            failure("ceph", &part("sudo: a password is required", Some(1))).to_string(),
            "ceph: sudo refused (sudo: a password is required)"
        );
        assert!(matches!(
            failure("x", &part("[errno 13] RADOS permission denied", Some(13))),
            ReplError::Blind(w) if w.starts_with("x: permission denied")
        ));
        assert_eq!(
            failure("x", &part("", Some(2))).to_string(),
            "x failed (exit 2)"
        );
        assert_eq!(name("a b\x1b"), "a_b\u{FFFD}");
    }

    proptest::proptest! {
        #[test]
        fn parts_never_panic(s in proptest::prelude::any::<String>()) {
            for p in parts(&s) {
                let _ = p.excerpt();
                let _ = failure("t", &p);
            }
            let _ = parts(&format!("@@a b\n{s}\n@@rc {s}"));
        }
    }
}
