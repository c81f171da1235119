//! `host`: `uname -n`, `uname -sr` and the PRETTY_NAME of /etc/os-release.

use super::{ParseError, clean};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    pub hostname: String,
    /// `uname -sr`, e.g. "Linux 6.1.0-28-amd64".
    pub kernel: String,
    /// e.g. "Debian GNU/Linux 12 (bookworm)"; `None` without /etc/os-release (CentOS 6).
    pub os: Option<String>,
}

pub fn parse(body: &str) -> Result<HostInfo, ParseError> {
    let mut lines = body.lines().map(str::trim).filter(|l| !l.is_empty());
    let hostname = lines.next().ok_or_else(|| ParseError::new("host: empty"))?;
    let kernel = lines
        .next()
        .ok_or_else(|| ParseError::new("host: no kernel line"))?;
    let os = lines.next().map(|l| clean(l, 80));
    Ok(HostInfo {
        hostname: clean(hostname, 64),
        kernel: clean(kernel, 80),
        os,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian() {
        let h = parse("vm\nLinux 6.18.44-fc-v669\nDebian GNU/Linux 12 (bookworm)\n").unwrap();
        assert_eq!(h.hostname, "vm");
        assert_eq!(h.kernel, "Linux 6.18.44-fc-v669");
        assert_eq!(h.os.as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
    }

    #[test]
    fn centos6_has_no_os_release() {
        let h = parse("old\nLinux 2.6.32-431.el6.x86_64\n").unwrap();
        assert_eq!(h.os, None);
        assert!(parse("only\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>()) {
            let _ = parse(&s);
        }
    }
}
