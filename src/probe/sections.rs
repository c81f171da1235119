//! Splitting the probe's output into sections.
//!
//! Every section is framed by two marker lines that carry a per-exec random nonce, so no
//! output of a remote command can forge or close a section:
//!
//! ```text
//! @@VIGIE <nonce> BEGIN <name>
//! …body…
//! @@VIGIE <nonce> END <name> rc=<exit status> ms=<elapsed milliseconds>
//! ```

use std::collections::BTreeMap;

/// One section of probe output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    /// The body, lossily decoded as UTF-8 (the probe runs under LC_ALL=C; bytes that are not
    /// UTF-8 become U+FFFD). Still untrusted text: sanitise before it reaches a terminal.
    pub body: String,
    /// Exit status of the section's commands; `None` when the END marker never came
    /// (the exec was cut short).
    pub rc: Option<i32>,
    pub elapsed_ms: Option<u64>,
}

impl Section {
    pub fn complete(&self) -> bool {
        self.rc.is_some()
    }
}

/// Sections by name. A repeated name keeps the first one: a later copy can only come from a
/// remote command that guessed the nonce, which we do not trust.
pub type Sections = BTreeMap<String, Section>;

const MARK: &str = "@@VIGIE ";

/// How a part marker inside a section (`@@VIGIE <nonce> PART <name>`, printed by the probe's
/// `part` function) appears in [`Section::body`]: a NUL, then the name. Remote output cannot
/// forge it: [`split`] turns every NUL the remote side printed into U+FFFD.
pub fn part(name: &str) -> String {
    format!("\0{name}")
}

/// Split raw probe output into its sections. Never panics; text outside sections is ignored.
pub fn split(output: &[u8], nonce: &str) -> Sections {
    let text = String::from_utf8_lossy(output);
    let begin_prefix = format!("{MARK}{nonce} BEGIN ");
    let end_prefix = format!("{MARK}{nonce} END ");
    let part_prefix = format!("{MARK}{nonce} PART ");
    let mut out = Sections::new();
    let mut current: Option<Section> = None;
    for line in text.split('\n') {
        if let Some(name) = line.strip_prefix(&begin_prefix) {
            // A BEGIN inside an open section means that section was cut short.
            if let Some(open) = current.take() {
                out.entry(open.name.clone()).or_insert(open);
            }
            current = Some(Section {
                name: name.trim().to_string(),
                body: String::new(),
                rc: None,
                elapsed_ms: None,
            });
        } else if let Some(rest) = line.strip_prefix(&end_prefix) {
            let mut words = rest.split_whitespace();
            let name = words.next().unwrap_or_default();
            if let Some(mut open) = current.take() {
                if open.name == name {
                    for w in words {
                        if let Some(v) = w.strip_prefix("rc=") {
                            open.rc = v.parse().ok();
                        } else if let Some(v) = w.strip_prefix("ms=") {
                            open.elapsed_ms = v.parse().ok();
                        }
                    }
                    // A section that ended but whose rc did not parse still ended.
                    if open.rc.is_none() {
                        open.rc = Some(-1);
                    }
                }
                out.entry(open.name.clone()).or_insert(open);
            }
        } else if let Some(open) = current.as_mut() {
            if let Some(name) = line.strip_prefix(&part_prefix) {
                open.body.push_str(&part(name.trim()));
            } else {
                open.body.push_str(&line.replace('\0', "\u{FFFD}"));
            }
            open.body.push('\n');
        }
    }
    if let Some(open) = current.take() {
        out.entry(open.name.clone()).or_insert(open);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: &str = "3f9a0c";

    #[test]
    fn part_markers_need_the_nonce() {
        let raw = format!(
            "@@VIGIE {N} BEGIN backup.1\nnow 1\n@@VIGIE {N} PART out\nx\0y\n\0err\n\
             @@VIGIE 000000 PART err\n@@VIGIE {N} PART err\n@@VIGIE {N} END backup.1 rc=0 ms=1\n"
        );
        let s = split(raw.as_bytes(), N);
        let body = &s["backup.1"].body;
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(
            lines,
            [
                "now 1",
                &part("out"),
                "x\u{FFFD}y",
                "\u{FFFD}err",
                "@@VIGIE 000000 PART err",
                &part("err")
            ]
        );
    }

    #[test]
    fn splits_sections_with_status_and_time() {
        let raw = format!(
            "@@VIGIE {N} BEGIN loadavg\n0.10 0.20 0.30 1/100 42\n@@VIGIE {N} END loadavg rc=0 ms=3\n\
             @@VIGIE {N} BEGIN smart\nVIGIE_NOT_INSTALLED smartctl\n@@VIGIE {N} END smart rc=127 ms=1\n"
        );
        let s = split(raw.as_bytes(), N);
        assert_eq!(s["loadavg"].body, "0.10 0.20 0.30 1/100 42\n");
        assert_eq!(s["loadavg"].rc, Some(0));
        assert_eq!(s["loadavg"].elapsed_ms, Some(3));
        assert_eq!(s["smart"].rc, Some(127));
    }

    #[test]
    fn forged_markers_with_another_nonce_are_body() {
        let raw = format!(
            "@@VIGIE {N} BEGIN procs\n@@VIGIE 000000 END procs rc=0 ms=0\nsshd\n@@VIGIE {N} END procs rc=0 ms=1\n"
        );
        let s = split(raw.as_bytes(), N);
        assert!(s["procs"].body.contains("sshd"));
        assert!(s["procs"].body.contains("000000"));
    }

    #[test]
    fn a_cut_short_section_has_no_rc() {
        let raw = format!("@@VIGIE {N} BEGIN df\n/dev/sda1 ext4\n");
        let s = split(raw.as_bytes(), N);
        assert!(!s["df"].complete());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..2048)) {
            let _ = split(&bytes, N);
        }
    }
}
