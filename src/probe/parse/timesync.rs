//! `timesync`: the host's own view of its clock synchronisation, from the first tool that
//! answered: `timedatectl NTPSynchronized=yes|no`, `chronyc` + `chronyc -n tracking`, or
//! `ntpstat rc=N`. (`VIGIE_UNAVAILABLE` is handled before this parser.)

use super::{ParseError, clean, finite, key_value};

#[derive(Debug, Clone, PartialEq)]
pub struct TimeSync {
    /// `None`: the tool could not tell (ntpstat status 2).
    pub synchronised: Option<bool>,
    /// Which tool answered and, for chrony, the reference, e.g. "chrony, 10.77.0.1, stratum 3".
    pub source: String,
    /// chrony's own estimate of the offset from NTP time, seconds (positive = fast).
    pub offset_s: Option<f64>,
}

fn chrony(body: &str) -> Result<TimeSync, ParseError> {
    let get = |key: &str| body.lines().find_map(|l| key_value(l, key));
    let leap =
        get("Leap status").ok_or_else(|| ParseError::new("chronyc tracking: no Leap status"))?;
    let synchronised = leap != "Not synchronised";
    let reference = get("Reference ID").map(|r| {
        // "C0A80101 (192.168.1.1)"; chrony 2 prints "192.168.1.1 (ntp.example)".
        match r.split_once('(') {
            Some((id, name)) => {
                let name = name.trim_end_matches(')').trim();
                if name.is_empty() { id.trim() } else { name }
            }
            None => r,
        }
    });
    let stratum = get("Stratum").and_then(|s| s.parse::<u32>().ok());
    // "System time     : 0.000012345 seconds fast of NTP time"
    let offset_s = get("System time").and_then(|s| {
        let mut w = s.split_whitespace();
        let v = finite(w.next()?)?;
        let dir = w.nth(1)?;
        match dir {
            "fast" => Some(v),
            "slow" => Some(-v),
            _ => None,
        }
    });
    let mut source = String::from("chrony");
    if synchronised {
        match (reference, stratum) {
            (Some(r), Some(s)) => source = format!("chrony, {}, stratum {s}", clean(r, 60)),
            (Some(r), None) => source = format!("chrony, {}", clean(r, 60)),
            _ => {}
        }
    }
    Ok(TimeSync {
        synchronised: Some(synchronised),
        source,
        offset_s,
    })
}

pub fn parse(body: &str) -> Result<TimeSync, ParseError> {
    let mut lines = body.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .ok_or_else(|| ParseError::new("timesync: empty"))?;
    if let Some(v) = first.strip_prefix("timedatectl NTPSynchronized=") {
        let synchronised = match v {
            "yes" => Some(true),
            "no" => Some(false),
            _ => {
                return Err(ParseError::new(format!(
                    "timedatectl: unexpected value {:?}",
                    clean(v, 20)
                )));
            }
        };
        return Ok(TimeSync {
            synchronised,
            source: "timedatectl".to_string(),
            offset_s: None,
        });
    }
    if first == "chronyc" {
        return chrony(body);
    }
    if let Some(rc) = first.strip_prefix("ntpstat rc=") {
        let synchronised = match rc {
            "0" => Some(true),
            "1" => Some(false),
            _ => None,
        };
        return Ok(TimeSync {
            synchronised,
            source: "ntpstat".to_string(),
            offset_s: None,
        });
    }
    Err(ParseError::new(format!(
        "timesync: unexpected {:?}",
        clean(first, 60)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timedatectl() {
        // systemd 252 (Debian 12) and 252 (RHEL 9) print the same property.
        let t = parse("timedatectl NTPSynchronized=yes\n").unwrap();
        assert_eq!(t.synchronised, Some(true));
        assert_eq!(
            parse("timedatectl NTPSynchronized=no\n")
                .unwrap()
                .synchronised,
            Some(false)
        );
        assert!(parse("timedatectl NTPSynchronized=maybe\n").is_err());
    }

    #[test]
    fn chrony_debian12_synchronised() {
        // chrony 4.3 (Debian 12), `chronyc -n tracking`.
        let body = format!(
            "chronyc\n{}",
            include_str!("../../../tests/fixtures/probe/chronyc_debian12.txt")
        );
        let t = parse(&body).unwrap();
        assert_eq!(t.synchronised, Some(true));
        assert_eq!(t.source, "chrony, 10.77.0.1, stratum 3");
        assert!((t.offset_s.unwrap() - 0.000_012_345).abs() < 1e-12);
    }

    #[test]
    fn chrony_rhel9_not_synchronised() {
        // chrony 4.5 (RHEL 9.4), no source reachable since boot.
        let body = format!(
            "chronyc\n{}",
            include_str!("../../../tests/fixtures/probe/chronyc_rhel9_unsync.txt")
        );
        let t = parse(&body).unwrap();
        assert_eq!(t.synchronised, Some(false));
        assert_eq!(t.source, "chrony");
    }

    #[test]
    fn chrony_rhel7_slow() {
        // chrony 3.4 (RHEL 7.9).
        let body = format!(
            "chronyc\n{}",
            include_str!("../../../tests/fixtures/probe/chronyc_rhel7.txt")
        );
        let t = parse(&body).unwrap();
        assert_eq!(t.synchronised, Some(true));
        assert!(t.offset_s.unwrap() < 0.0);
    }

    #[test]
    fn ntpstat() {
        assert_eq!(parse("ntpstat rc=0\n").unwrap().synchronised, Some(true));
        assert_eq!(parse("ntpstat rc=1\n").unwrap().synchronised, Some(false));
        assert_eq!(parse("ntpstat rc=2\n").unwrap().synchronised, None);
        assert!(parse("").is_err());
        assert!(parse("what\n").is_err());
        assert!(parse("chronyc\n506 Cannot talk to daemon\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>()) {
            let _ = parse(&s);
            let _ = parse(&format!("chronyc\n{s}"));
        }
    }
}
