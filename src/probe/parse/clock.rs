//! `clock`: `date -u +%s.%N`, the remote clock in seconds since the epoch.

use super::ParseError;

/// The remote clock when the probe read it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// Seconds since the Unix epoch.
    pub epoch_s: f64,
    /// False when the host's `date` has no `%N` (it printed `%N` or nothing after the dot):
    /// the reading is then truncated to the second.
    pub subsecond: bool,
}

pub fn parse(body: &str) -> Result<Clock, ParseError> {
    let line = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .ok_or_else(|| ParseError::new("no clock reading"))?;
    let (whole, frac) = match line.split_once('.') {
        Some((w, f)) => (w, f),
        None => (line, ""),
    };
    if whole.is_empty() || whole.len() > 15 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::new(format!(
            "clock: expected seconds since the epoch, got {:?}",
            super::clean(line, 40)
        )));
    }
    let seconds: f64 = whole
        .parse::<u64>()
        .map_err(|_| ParseError::new("clock: seconds out of range"))? as f64;
    let subsecond =
        !frac.is_empty() && frac.len() <= 12 && frac.bytes().all(|b| b.is_ascii_digit());
    let fraction = if subsecond {
        format!("0.{frac}").parse::<f64>().unwrap_or(0.0)
    } else {
        0.0
    };
    Ok(Clock {
        epoch_s: seconds + fraction,
        subsecond,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanoseconds() {
        let c = parse("1795908868.300389010\n").unwrap();
        assert!(c.subsecond);
        assert!((c.epoch_s - 1_795_908_868.300_389).abs() < 1e-5);
    }

    #[test]
    fn without_percent_n() {
        // busybox and other non-GNU `date`: %N is printed as is, or not at all.
        for body in [
            "1795908868.%N\n",
            "1795908868.N\n",
            "1795908868\n",
            "1795908868.\n",
        ] {
            let c = parse(body).unwrap();
            assert!(!c.subsecond, "{body}");
            assert_eq!(c.epoch_s, 1_795_908_868.0);
        }
    }

    #[test]
    fn garbage_is_an_error() {
        for body in ["", "\n", "date: invalid option\n", "-1.5", "12a.3"] {
            assert!(parse(body).is_err(), "{body:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>()) {
            let _ = parse(&s);
        }
    }
}
