//! `stat` / `stat2`: the aggregate `cpu` line of /proc/stat; `cpus`: the number of online CPUs.

use super::ParseError;

/// Cumulative CPU times of all CPUs, in USER_HZ ticks, from the `cpu` line of /proc/stat.
/// Fields a kernel does not print (steal before 2.6.11, guest before 2.6.24…) are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
    /// Already counted in `user` / `nice`: kept for information, never added to the total.
    pub guest: u64,
    pub guest_nice: u64,
}

impl CpuTimes {
    /// All ticks (guest time is inside user time, so it is not added again).
    pub fn total(&self) -> u64 {
        self.user
            .saturating_add(self.nice)
            .saturating_add(self.system)
            .saturating_add(self.idle)
            .saturating_add(self.iowait)
            .saturating_add(self.irq)
            .saturating_add(self.softirq)
            .saturating_add(self.steal)
    }
}

/// CPU utilisation between two samples, in % of all CPU time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuUsage {
    /// Everything but idle and iowait.
    pub busy: f64,
    pub iowait: f64,
    pub steal: f64,
}

pub fn parse_stat(body: &str) -> Result<CpuTimes, ParseError> {
    let line = body
        .lines()
        .find(|l| l.starts_with("cpu ") || l.starts_with("cpu\t"))
        .ok_or_else(|| ParseError::new("stat: no aggregate cpu line"))?;
    let mut v = [0u64; 10];
    let mut n = 0;
    for (slot, word) in v.iter_mut().zip(line.split_whitespace().skip(1)) {
        *slot = word
            .parse()
            .map_err(|_| ParseError::new("stat: cpu times are not numbers"))?;
        n += 1;
    }
    if n < 4 {
        return Err(ParseError::new("stat: fewer than four cpu times"));
    }
    let [
        user,
        nice,
        system,
        idle,
        iowait,
        irq,
        softirq,
        steal,
        guest,
        guest_nice,
    ] = v;
    Ok(CpuTimes {
        user,
        nice,
        system,
        idle,
        iowait,
        irq,
        softirq,
        steal,
        guest,
        guest_nice,
    })
}

/// `getconf _NPROCESSORS_ONLN` (or nproc, or a count of /proc/cpuinfo processors).
pub fn parse_cpus(body: &str) -> Result<u32, ParseError> {
    body.split_whitespace()
        .next()
        .and_then(|w| w.parse::<u32>().ok())
        .filter(|n| *n >= 1)
        .ok_or_else(|| ParseError::new("cpus: expected a number of CPUs"))
}

/// Utilisation between `prev` and `now`. `None` when it cannot be known: no time passed
/// between the samples, or the counters went backwards (a reboot, or a counter that wrapped).
/// A single counter slightly behind (iowait is known to step back on some kernels) counts
/// as zero rather than spoiling the sample.
pub fn usage(prev: &CpuTimes, now: &CpuTimes) -> Option<CpuUsage> {
    if now.total() < prev.total() {
        return None;
    }
    let d = |a: u64, b: u64| b.saturating_sub(a) as f64;
    let idle = d(prev.idle, now.idle);
    let iowait = d(prev.iowait, now.iowait);
    let steal = d(prev.steal, now.steal);
    let total = d(prev.user, now.user)
        + d(prev.nice, now.nice)
        + d(prev.system, now.system)
        + idle
        + iowait
        + d(prev.irq, now.irq)
        + d(prev.softirq, now.softirq)
        + steal;
    if total <= 0.0 {
        return None;
    }
    let pct = |x: f64| (x / total * 100.0).clamp(0.0, 100.0);
    Some(CpuUsage {
        busy: pct(total - idle - iowait),
        iowait: pct(iowait),
        steal: pct(steal),
    })
}

/// % of CPU time busy between two samples (see [`usage`]).
pub fn busy_percent(prev: &CpuTimes, now: &CpuTimes) -> Option<f64> {
    usage(prev, now).map(|u| u.busy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modern_line() {
        let t = parse_stat("cpu  10095 0 3386 41292 361 0 48 9 0 0\n").unwrap();
        assert_eq!(t.user, 10095);
        assert_eq!(t.iowait, 361);
        assert_eq!(t.steal, 9);
        assert_eq!(t.total(), 10095 + 3386 + 41292 + 361 + 48 + 9);
    }

    #[test]
    fn old_kernel_with_fewer_fields() {
        // Linux 2.6.9 (RHEL 4) prints seven fields.
        let t = parse_stat("cpu  2255 34 2290 22625563 6290 127 456\n").unwrap();
        assert_eq!(t.softirq, 456);
        assert_eq!(t.steal, 0);
        assert!(parse_stat("cpu 1 2\n").is_err());
        assert!(parse_stat("cpu0 1 2 3 4\n").is_err());
        assert!(parse_stat("cpu  a b c d\n").is_err());
    }

    #[test]
    fn busy_between_samples() {
        let a = parse_stat("cpu  10095 0 3386 41292 361 0 48 9 0 0").unwrap();
        let b = parse_stat("cpu  10098 0 3388 41356 361 0 48 9 0 0").unwrap();
        let u = usage(&a, &b).unwrap();
        assert!((u.busy - 5.0 / 69.0 * 100.0).abs() < 1e-9);
        assert_eq!(u.iowait, 0.0);
    }

    #[test]
    fn iowait_and_steal() {
        let a = CpuTimes::default();
        let b = CpuTimes {
            user: 50,
            idle: 20,
            iowait: 20,
            steal: 10,
            ..CpuTimes::default()
        };
        let u = usage(&a, &b).unwrap();
        assert_eq!((u.busy, u.iowait, u.steal), (60.0, 20.0, 10.0));
    }

    #[test]
    fn zero_delta_and_reboot_give_none() {
        let a = parse_stat("cpu  100 0 100 1000 0 0 0 0 0 0").unwrap();
        assert_eq!(busy_percent(&a, &a), None);
        let after_reboot = parse_stat("cpu  5 0 5 50 0 0 0 0 0 0").unwrap();
        assert_eq!(busy_percent(&a, &after_reboot), None);
        // iowait stepping back by a tick is not a reboot.
        let b = CpuTimes {
            idle: 1100,
            iowait: 0,
            user: 200,
            ..a
        };
        let a2 = CpuTimes { iowait: 1, ..a };
        assert!(busy_percent(&a2, &b).is_some());
    }

    #[test]
    fn huge_counters_do_not_overflow() {
        let a = CpuTimes {
            user: u64::MAX - 1,
            ..CpuTimes::default()
        };
        let b = CpuTimes {
            user: u64::MAX,
            idle: u64::MAX,
            ..CpuTimes::default()
        };
        let _ = usage(&a, &b);
        let _ = usage(&b, &a);
    }

    #[test]
    fn cpus() {
        assert_eq!(parse_cpus("2\n").unwrap(), 2);
        assert!(parse_cpus("0\n").is_err());
        assert!(parse_cpus("getconf: x\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>(), t in "cpu [0-9 ]{0,80}") {
            let _ = parse_stat(&s);
            let _ = parse_cpus(&s);
            if let (Ok(a), Ok(b)) = (parse_stat(&t), parse_stat(&s)) {
                let _ = usage(&a, &b);
                let _ = usage(&b, &a);
            }
        }

        #[test]
        fn busy_is_a_percentage(a in proptest::collection::vec(0u64..1u64 << 62, 10),
                                d in proptest::collection::vec(0u64..1000, 10)) {
            let mk = |v: &[u64]| CpuTimes {
                user: v[0], nice: v[1], system: v[2], idle: v[3], iowait: v[4],
                irq: v[5], softirq: v[6], steal: v[7], guest: v[8], guest_nice: v[9],
            };
            let sum: Vec<u64> = a.iter().zip(&d).map(|(x, y)| x / 16 + y).collect();
            let base: Vec<u64> = a.iter().map(|x| x / 16).collect();
            if let Some(b) = busy_percent(&mk(&base), &mk(&sum)) {
                proptest::prop_assert!((0.0..=100.0).contains(&b));
            }
        }
    }
}
