//! Varnish: `varnishadm ping` (the manager answers "PONG <time> 1.0") and the cache counters of
//! `varnishstat -1` (`MAIN.cache_hit  7  3.50  Cache hits`).

use super::super::clean;
use super::Probe;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VarnishPing {
    Pong,
    /// No PONG: what varnishadm said ("Could not get hold of varnishd, is it running?").
    Failed(String),
}

pub fn ping(p: &Probe) -> VarnishPing {
    if p.text_lines().any(|l| l.starts_with("PONG")) {
        return VarnishPing::Pong;
    }
    if p.timed_out() {
        return VarnishPing::Failed("no answer within 5 s".into());
    }
    // varnishadm prints a dot a second while it waits for varnishd.
    match p.text_lines().find(|l| l.chars().any(|c| c != '.')) {
        Some(l) => VarnishPing::Failed(clean(l, 100)),
        None => VarnishPing::Failed(format!("varnishadm: exit {}", p.rc.unwrap_or(-1))),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VarnishStats {
    pub hits: Option<u64>,
    pub misses: Option<u64>,
    /// Seconds since the child (the cache) started.
    pub uptime: Option<u64>,
}

impl VarnishStats {
    /// Hits out of hits and misses, in percent; `None` before any lookup.
    pub fn hit_ratio(&self) -> Option<f64> {
        let (h, m) = (self.hits?, self.misses?);
        let total = h.checked_add(m).filter(|t| *t > 0)?;
        Some(h as f64 * 100.0 / total as f64)
    }
}

pub fn stats(p: &Probe) -> VarnishStats {
    let mut s = VarnishStats::default();
    for l in p.text_lines() {
        let mut w = l.split_whitespace();
        let (Some(name), Some(value)) = (w.next(), w.next().and_then(|v| v.parse().ok())) else {
            continue;
        };
        match name {
            "MAIN.cache_hit" => s.hits = Some(value),
            "MAIN.cache_miss" => s.misses = Some(value),
            "MAIN.uptime" => s.uptime = Some(value),
            _ => {}
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_and_down() {
        // Varnish 7.1.1 (Debian 12): 7 hits and 2 misses after nine requests.
        let s = svc_fixture!("varnish_up.txt");
        assert_eq!(
            ping(s.probes_of("varnishadm").next().unwrap()),
            VarnishPing::Pong
        );
        let st = stats(s.probes_of("varnishstat").next().unwrap());
        assert_eq!((st.hits, st.misses, st.uptime), (Some(7), Some(2), Some(2)));
        assert_eq!(st.hit_ratio().map(|r| r.round()), Some(78.0));
        // As nobody: varnishadm cannot reach the varnishd it sees.
        let f = svc_fixture!("varnish_nonroot.txt");
        assert_eq!(
            ping(f.probes_of("varnishadm").next().unwrap()),
            VarnishPing::Failed("Could not get hold of varnishd, is it running?".into())
        );
        assert_eq!(
            f.probes_of("varnishstat").count(),
            0,
            "no stats without a PONG"
        );
        // No varnishd: varnishadm is not even asked (it would wait 3 s for one).
        let f = svc_fixture!("varnish_down.txt");
        assert!(f.probes.is_empty());
        assert_eq!(f.missing, ["varnishadm not run: no varnishd process"]);
        assert_eq!(VarnishStats::default().hit_ratio(), None);
        let none = VarnishStats {
            hits: Some(0),
            misses: Some(0),
            uptime: None,
        };
        assert_eq!(none.hit_ratio(), None);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(lines in proptest::collection::vec(".{0,40}", 0..6), rc in proptest::option::of(-1i32..300)) {
            let p = Probe { kind: "x".into(), args: vec![], lines, rc };
            let _ = ping(&p);
            let _ = stats(&p).hit_ratio();
        }
    }
}
