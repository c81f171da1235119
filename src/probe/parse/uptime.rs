//! `uptime`: /proc/uptime then /proc/sys/kernel/random/boot_id.

use super::{ParseError, finite};

#[derive(Debug, Clone, PartialEq)]
pub struct Uptime {
    /// Seconds since boot.
    pub seconds: f64,
    /// A random UUID the kernel draws at every boot; `None` on kernels without it.
    pub boot_id: Option<String>,
}

pub fn parse(body: &str) -> Result<Uptime, ParseError> {
    let mut lines = body.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .ok_or_else(|| ParseError::new("uptime: empty"))?;
    let seconds = first
        .split_whitespace()
        .next()
        .and_then(finite)
        .filter(|s| *s >= 0.0)
        .ok_or_else(|| ParseError::new("uptime: expected seconds since boot"))?;
    let boot_id = lines.next().and_then(|l| {
        let ok = l.len() == 36 && l.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        ok.then(|| l.to_ascii_lowercase())
    });
    Ok(Uptime { seconds, boot_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_and_boot_id() {
        let u = parse("277.23 412.92\n6d3e1696-96fa-43ec-8911-c7a46e7d69e3\n").unwrap();
        assert_eq!(u.seconds, 277.23);
        assert_eq!(
            u.boot_id.as_deref(),
            Some("6d3e1696-96fa-43ec-8911-c7a46e7d69e3")
        );
    }

    #[test]
    fn without_boot_id() {
        let u = parse("3542400.10 7000000.00\n").unwrap();
        assert_eq!(u.boot_id, None);
        assert!(parse("").is_err());
        assert!(parse("abc def\n").is_err());
        assert!(parse("-5 1\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>()) {
            let _ = parse(&s);
        }
    }
}
