//! Mail servers: `postfix status`, the size of Postfix's queue (the last line of `postqueue -p`)
//! and qmail's (`qmail-qstat`).

use super::super::clean;
use super::Probe;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostfixStatus {
    /// Status 0: the master process runs.
    Running,
    /// Status 1 (postfix-script: "the Postfix mail system is not running").
    NotRunning,
    /// The command could not tell (sudo refused, timed out): why.
    Unknown(String),
}

/// `postfix status` prints nothing unless on a terminal (its messages go to the mail log):
/// its status is what counts.
pub fn postfix_status(p: &Probe) -> PostfixStatus {
    if p.timed_out() {
        return PostfixStatus::Unknown("postfix status timed out".into());
    }
    if let Some(l) = p
        .text_lines()
        .find(|l| l.starts_with("sudo:") || l.contains("reserved for the superuser"))
    {
        return PostfixStatus::Unknown(clean(l, 100));
    }
    match p.rc {
        Some(0) => PostfixStatus::Running,
        Some(1) => PostfixStatus::NotRunning,
        Some(127) => PostfixStatus::Unknown("postfix not found".into()),
        rc => PostfixStatus::Unknown(match p.first_line() {
            Some(l) => l,
            None => format!("postfix status: exit {}", rc.unwrap_or(-1)),
        }),
    }
}

/// A queue's size, in messages ("requests" for Postfix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queue {
    pub messages: u64,
    /// Postfix: the queue's size in KiB.
    pub kbytes: Option<u64>,
    /// qmail: messages not yet preprocessed (still in queue/todo).
    pub unprocessed: Option<u64>,
}

/// The last line of `postqueue -p`: "Mail queue is empty", or "-- 3 Kbytes in 2 Requests."
/// (showq.c). Else why the queue could not be read.
pub fn postqueue(p: &Probe) -> Result<Queue, String> {
    for l in p.text_lines().collect::<Vec<_>>().iter().rev() {
        if *l == "Mail queue is empty" {
            return Ok(Queue {
                messages: 0,
                kbytes: Some(0),
                unprocessed: None,
            });
        }
        if let Some(rest) = l.strip_prefix("-- ") {
            let w: Vec<&str> = rest.split_whitespace().collect();
            if let [kb, "Kbytes", "in", n, req] = w.as_slice()
                && req.starts_with("Request")
                && let (Ok(kb), Ok(n)) = (kb.parse(), n.parse())
            {
                return Ok(Queue {
                    messages: n,
                    kbytes: Some(kb),
                    unprocessed: None,
                });
            }
        }
    }
    if p.timed_out() {
        return Err("postqueue -p timed out".into());
    }
    Err(match p.text_lines().find(|l| l.contains("fatal")) {
        Some(l) => clean(l, 100),
        None => "postqueue -p: no queue size in its output".into(),
    })
}

/// `qmail-qstat`: "messages in queue: N" and "messages in queue but not yet preprocessed: M".
/// The script counts files with find: without the right to read the queue it prints
/// "Permission denied" and wrong numbers (even -1).
pub fn qmail_qstat(p: &Probe) -> Result<Queue, String> {
    if p.text_lines().any(|l| l.contains("Permission denied")) {
        return Err("qmail-qstat cannot read the queue (permission denied)".into());
    }
    if p.timed_out() {
        return Err("qmail-qstat timed out".into());
    }
    let value = |key: &str| {
        p.text_lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    match (
        value("messages in queue:"),
        value("messages in queue but not yet preprocessed:"),
    ) {
        (Some(messages), unprocessed) => Ok(Queue {
            messages,
            kbytes: None,
            unprocessed,
        }),
        _ => Err(match p.first_line() {
            Some(l) => format!("qmail-qstat: {l}"),
            None => "qmail-qstat printed nothing".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(s: &super::super::SvcSection, kind: &str) -> Probe {
        s.probes_of(kind).next().expect(kind).clone()
    }

    fn q(messages: u64, kbytes: Option<u64>, unprocessed: Option<u64>) -> Result<Queue, String> {
        Ok(Queue {
            messages,
            kbytes,
            unprocessed,
        })
    }

    #[test]
    fn postfix() {
        // Postfix 3.7.11 (Debian 12): a stopped instance with 0, 1, 150 and 1100 messages
        // dropped by sendmail, and the lab's running one.
        let s = svc_fixture!("postfix_stopped_empty.txt");
        assert_eq!(
            postfix_status(&probe(&s, "postfix-status")),
            PostfixStatus::NotRunning
        );
        assert_eq!(postqueue(&probe(&s, "postqueue")), q(0, Some(0), None));
        let s = svc_fixture!("postfix_stopped_1.txt");
        assert_eq!(postqueue(&probe(&s, "postqueue")), q(1, Some(0), None));
        let s = svc_fixture!("postfix_stopped_150.txt");
        assert_eq!(postqueue(&probe(&s, "postqueue")), q(150, Some(16), None));
        let s = svc_fixture!("postfix_stopped_1100.txt");
        assert_eq!(postqueue(&probe(&s, "postqueue")), q(1100, Some(121), None));
        let s = svc_fixture!("lab_prod_postfix.txt");
        assert_eq!(
            postfix_status(&probe(&s, "postfix-status")),
            PostfixStatus::Running
        );
        assert_eq!(postqueue(&probe(&s, "postqueue")), q(0, Some(0), None));
        let refused = Probe {
            kind: "postfix-status".into(),
            args: vec![],
            lines: vec!["sudo: a password is required".into()],
            rc: Some(1),
        };
        assert_eq!(
            postfix_status(&refused),
            PostfixStatus::Unknown("sudo: a password is required".into())
        );
        let fatal = Probe {
            kind: "postqueue".into(),
            args: vec![],
            lines: vec![
                "postqueue: fatal: open /etc/postfix/main.cf: No such file or directory".into(),
            ],
            rc: Some(0),
        };
        assert!(postqueue(&fatal).unwrap_err().contains("main.cf"));
    }

    #[test]
    fn qmail() {
        // netqmail 1.06's qmail-qstat (the script, run on a queue laid out by hand).
        let p = |f| probe(&f, "qmail-qstat");
        assert_eq!(
            qmail_qstat(&p(svc_fixture!("qmail_empty.txt"))),
            q(0, None, Some(0))
        );
        assert_eq!(
            qmail_qstat(&p(svc_fixture!("qmail_3.txt"))),
            q(3, None, Some(1))
        );
        assert_eq!(
            qmail_qstat(&p(svc_fixture!("qmail_143.txt"))),
            q(143, None, Some(1))
        );
        assert_eq!(
            qmail_qstat(&p(svc_fixture!("qmail_1343.txt"))),
            q(1343, None, Some(41))
        );
        // As a user who cannot read the queue: "-1" and find's complaints.
        assert_eq!(
            qmail_qstat(&p(svc_fixture!("qmail_nonroot.txt"))),
            Err("qmail-qstat cannot read the queue (permission denied)".into())
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(lines in proptest::collection::vec(".{0,40}", 0..6), rc in proptest::option::of(-1i32..300)) {
            let p = Probe { kind: "x".into(), args: vec![], lines, rc };
            let _ = postfix_status(&p);
            let _ = postqueue(&p);
            let _ = qmail_qstat(&p);
        }

        #[test]
        fn shaped_queue_lines_never_panic(kb in ".{0,6}", n in ".{0,6}") {
            let p = Probe { kind: "x".into(), args: vec![], lines: vec![format!("-- {kb} Kbytes in {n} Requests.")], rc: Some(0) };
            let _ = postqueue(&p);
        }
    }
}
