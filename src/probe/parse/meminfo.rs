//! `meminfo`: /proc/meminfo.

use super::{ParseError, leading_u64};

/// Memory and swap, in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemInfo {
    pub total_kib: u64,
    /// MemAvailable; on kernels before 3.14 (CentOS 6) an estimate, see `estimated`.
    pub available_kib: u64,
    /// True when MemAvailable was missing and `available_kib` is
    /// MemFree + Buffers + Cached + SReclaimable.
    pub estimated: bool,
    pub swap_total_kib: u64,
    pub swap_free_kib: u64,
}

impl MemInfo {
    pub fn used_percent(&self) -> Option<f64> {
        (self.total_kib > 0).then(|| {
            self.total_kib.saturating_sub(self.available_kib) as f64 / self.total_kib as f64 * 100.0
        })
    }

    /// `None` when there is no swap at all.
    pub fn swap_used_percent(&self) -> Option<f64> {
        (self.swap_total_kib > 0).then(|| {
            self.swap_total_kib.saturating_sub(self.swap_free_kib) as f64
                / self.swap_total_kib as f64
                * 100.0
        })
    }
}

pub fn parse(body: &str) -> Result<MemInfo, ParseError> {
    let get = |key: &str| -> Option<u64> {
        body.lines()
            .find_map(|l| super::key_value(l, key))
            .and_then(leading_u64)
    };
    let total_kib = get("MemTotal")
        .filter(|t| *t > 0)
        .ok_or_else(|| ParseError::new("meminfo: no MemTotal"))?;
    let (available, estimated) = match get("MemAvailable") {
        Some(a) => (a, false),
        None => {
            let free = get("MemFree").ok_or_else(|| ParseError::new("meminfo: no MemFree"))?;
            let sum = [get("Buffers"), get("Cached"), get("SReclaimable")]
                .into_iter()
                .flatten()
                .fold(free, u64::saturating_add);
            (sum, true)
        }
    };
    let swap_total_kib = get("SwapTotal").unwrap_or(0);
    Ok(MemInfo {
        total_kib,
        available_kib: available.min(total_kib),
        estimated,
        swap_total_kib,
        swap_free_kib: get("SwapFree").unwrap_or(0).min(swap_total_kib),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian12() {
        // Debian 12, kernel 6.1.0-28-amd64.
        let m = parse(include_str!(
            "../../../tests/fixtures/probe/meminfo_debian12.txt"
        ))
        .unwrap();
        assert_eq!(m.total_kib, 8_131_260);
        assert_eq!(m.available_kib, 5_127_744);
        assert!(!m.estimated);
        assert_eq!((m.swap_total_kib, m.swap_free_kib), (998_396, 921_340));
        assert!((m.used_percent().unwrap() - 36.936).abs() < 0.01);
    }

    #[test]
    fn rhel8() {
        // RHEL 8.9, kernel 4.18.0-513.el8.x86_64.
        let m = parse(include_str!(
            "../../../tests/fixtures/probe/meminfo_rhel8.txt"
        ))
        .unwrap();
        assert_eq!(m.available_kib, 1_215_232);
        assert!(m.used_percent().unwrap() > 92.0);
        assert!((m.swap_used_percent().unwrap() - 61.33).abs() < 0.01);
    }

    #[test]
    fn centos6_estimates_available() {
        // CentOS 6.5, kernel 2.6.32-431.el6.x86_64: no MemAvailable.
        let m = parse(include_str!(
            "../../../tests/fixtures/probe/meminfo_centos6.txt"
        ))
        .unwrap();
        assert!(m.estimated);
        assert_eq!(m.available_kib, 209_284 + 152_592 + 1_843_220 + 232_404);
    }

    #[test]
    fn no_swap_and_errors() {
        let m = parse("MemTotal: 100 kB\nMemAvailable: 50 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n")
            .unwrap();
        assert_eq!(m.swap_used_percent(), None);
        assert!(parse("").is_err());
        assert!(parse("MemTotal: 100 kB\n").is_err());
        assert!(parse("MemTotal: 0 kB\nMemFree: 0 kB\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>()) {
            if let Ok(m) = parse(&s) {
                let _ = m.used_percent();
                let _ = m.swap_used_percent();
            }
        }
    }
}
