//! An FTP server's greeting on 127.0.0.1:21 (RFC 959: "220 …" when ready, "421 …" when it
//! turns the client away), read by bash (`ftp-banner`) or from curl's trace (`ftp-curl`).

use super::super::clean;
use super::Probe;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    pub code: u16,
    /// The greeting's text, without its code, dashes and parentheses: "vsFTPd 3.0.3".
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FtpReply {
    Greeting(Greeting),
    /// No greeting: why ("connection refused", "no answer within 5 s").
    Failed(String),
}

/// `NNN text` or `NNN-text` (a line of a multi-line reply).
fn reply_line(line: &str) -> Option<(u16, bool, &str)> {
    let code = line.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = line.get(3..)?;
    let (more, text) = match rest.chars().next() {
        None => (false, ""),
        Some(' ') => (false, rest.get(1..)?),
        Some('-') => (true, rest.get(1..)?),
        Some(_) => return None,
    };
    Some((code.parse().ok()?, more, text))
}

/// The text an operator reads: "(vsFTPd 3.0.3)" → "vsFTPd 3.0.3", "---- Welcome ----" →
/// "Welcome".
fn tidy(text: &str) -> String {
    let t = text.trim().trim_matches('-').trim();
    let t = t
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(t);
    clean(t, 120)
}

pub fn greeting(p: &Probe) -> FtpReply {
    // curl's trace shows the server's lines as "< 220 …".
    let curl = p.kind == "ftp-curl";
    let mut first: Option<(u16, String)> = None;
    for l in p.text_lines() {
        let l = if curl {
            match l.strip_prefix("< ") {
                Some(l) => l,
                None => continue,
            }
        } else {
            l
        };
        let Some((code, more, text)) = reply_line(l) else {
            continue;
        };
        let f = first.get_or_insert_with(|| (code, tidy(text)));
        if f.1.is_empty() {
            f.1 = tidy(text);
        }
        if !more {
            // The code of a multi-line reply is that of its last line.
            return FtpReply::Greeting(Greeting {
                code,
                text: f.1.clone(),
            });
        }
    }
    if let Some((code, text)) = first {
        return FtpReply::Greeting(Greeting { code, text });
    }
    if p.timed_out() {
        return FtpReply::Failed("no answer within 5 s".into());
    }
    let error = p
        .text_lines()
        .find_map(|l| {
            l.strip_prefix("curl: (")
                .map(|e| e.split_once(") ").map_or(e, |x| x.1))
        })
        .or_else(|| p.text_lines().next())
        .map(|e| e.strip_prefix("vigie: ").unwrap_or(e).to_string())
        .unwrap_or_default();
    let lower = error.to_ascii_lowercase();
    FtpReply::Failed(
        if lower.contains("refused") || lower.contains("couldn't connect") {
            "connection refused".into()
        } else if error.is_empty() {
            "no greeting".into()
        } else {
            clean(&error, 100)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(s: super::super::SvcSection) -> FtpReply {
        greeting(s.probes.first().expect("a probe"))
    }

    fn ok(code: u16, text: &str) -> FtpReply {
        FtpReply::Greeting(Greeting {
            code,
            text: text.into(),
        })
    }

    #[test]
    fn greetings() {
        // vsftpd 3.0.3 (Debian 12), read by bash and by curl 7.88.
        assert_eq!(
            reply(svc_fixture!("ftp_banner.txt")),
            ok(220, "vsFTPd 3.0.3")
        );
        assert_eq!(
            reply(svc_fixture!("ftp_banner_curl.txt")),
            ok(220, "vsFTPd 3.0.3")
        );
        assert_eq!(
            reply(svc_fixture!("lab_prod_ftp.txt")),
            ok(220, "vsFTPd 3.0.3")
        );
        // Pure-FTPd 1.0.50: a multi-line greeting.
        assert_eq!(
            reply(svc_fixture!("ftp_pureftpd.txt")),
            ok(220, "Welcome to Pure-FTPd [privsep] [TLS]")
        );
    }

    #[test]
    fn refusals() {
        // vsftpd with max_clients=1, one client connected.
        assert_eq!(
            reply(svc_fixture!("ftp_421.txt")),
            ok(421, "There are too many connected users, please try later.")
        );
        // vsftpd whose secure_chroot_dir is missing.
        let oops = ok(
            500,
            "OOPS: vsftpd: not found: directory given in 'secure_chroot_dir':/usr/share/empty",
        );
        assert_eq!(reply(svc_fixture!("ftp_500_oops.txt")), oops);
        assert_eq!(reply(svc_fixture!("ftp_500_oops_curl.txt")), oops);
        assert_eq!(
            reply(svc_fixture!("ftp_down.txt")),
            FtpReply::Failed("connection refused".into())
        );
        let silent = Probe {
            kind: "ftp-banner".into(),
            args: vec![],
            lines: vec![],
            rc: Some(124),
        };
        assert_eq!(
            greeting(&silent),
            FtpReply::Failed("no answer within 5 s".into())
        );
    }

    proptest::proptest! {
        #[test]
        fn never_panics(lines in proptest::collection::vec(".{0,40}", 0..6), curl in proptest::bool::ANY, rc in proptest::option::of(-1i32..300)) {
            let kind = if curl { "ftp-curl" } else { "ftp-banner" };
            let p = Probe { kind: kind.into(), args: vec![], lines, rc };
            let _ = greeting(&p);
        }
    }
}
