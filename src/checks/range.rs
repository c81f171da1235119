//! Nagios threshold ranges (<https://nagios-plugins.org/doc/guidelines.html#THRESHOLDFORMAT>).
//!
//! `10` alerts outside 0..10, `10:` below 10, `~:10` above 10, `10:20` outside 10..20,
//! `@10:20` inside 10..20 (inclusive).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub start: f64,
    pub end: f64,
    /// `@` prefix: alert when the value is inside the range instead of outside.
    pub inside: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid Nagios range {text:?}: {why} (expected e.g. \"80\", \"10:\", \"~:5\", \"10:20\", \"@10:20\")"
)]
pub struct RangeError {
    pub text: String,
    pub why: &'static str,
}

impl Range {
    pub fn parse(text: &str) -> Result<Range, RangeError> {
        let err = |why| RangeError {
            text: text.to_string(),
            why,
        };
        let t = text.trim();
        if t.is_empty() {
            return Err(err("empty"));
        }
        let (inside, t) = match t.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let num = |s: &str| -> Result<f64, RangeError> {
            let v: f64 = s.trim().parse().map_err(|_| err("not a number"))?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(err("not a finite number"))
            }
        };
        let (start, end) = match t.split_once(':') {
            None => (0.0, num(t)?),
            Some((a, b)) => {
                let start = if a.trim() == "~" {
                    f64::NEG_INFINITY
                } else if a.trim().is_empty() {
                    0.0
                } else {
                    num(a)?
                };
                let end = if b.trim().is_empty() {
                    f64::INFINITY
                } else {
                    num(b)?
                };
                (start, end)
            }
        };
        if start > end {
            return Err(err("start is greater than end"));
        }
        Ok(Range { start, end, inside })
    }

    /// Whether `value` raises the alert this range describes.
    pub fn alerts(&self, value: f64) -> bool {
        let within = value >= self.start && value <= self.end;
        if self.inside { within } else { !within }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        match (self.start, self.end) {
            (s, e) if s == 0.0 && e.is_finite() => write!(f, "{e}"),
            (s, e) => {
                if s == f64::NEG_INFINITY {
                    f.write_str("~")?;
                } else {
                    write!(f, "{s}")?;
                }
                f.write_str(":")?;
                if e.is_finite() {
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl<'de> Deserialize<'de> for Range {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Accept both "80" and 80: operators write numbers bare in TOML.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Int(i64),
            Float(f64),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Text(s) => s,
            Raw::Int(i) => i.to_string(),
            Raw::Float(x) => x.to_string(),
        };
        Range::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Range {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_number_alerts_above_and_below_zero() {
        let r = Range::parse("10").unwrap();
        assert!(!r.alerts(0.0) && !r.alerts(10.0) && !r.alerts(5.5));
        assert!(r.alerts(10.01) && r.alerts(-1.0));
    }

    #[test]
    fn open_ranges() {
        let below = Range::parse("10:").unwrap();
        assert!(below.alerts(9.9) && !below.alerts(10.0) && !below.alerts(1e9));
        let above = Range::parse("~:10").unwrap();
        assert!(above.alerts(10.1) && !above.alerts(-1e9));
    }

    #[test]
    fn inside_ranges() {
        let r = Range::parse("@10:20").unwrap();
        assert!(r.alerts(10.0) && r.alerts(20.0) && !r.alerts(9.0) && !r.alerts(21.0));
    }

    #[test]
    fn bad_ranges_are_errors() {
        for bad in ["", "abc", "20:10", "@", "1:x", "inf", "NaN"] {
            assert!(Range::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["80", "10:", "~:10", "10:20", "@10:20", "-5:5"] {
            let r = Range::parse(text).unwrap();
            assert_eq!(Range::parse(&r.to_string()).unwrap(), r, "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in ".*") {
            let _ = Range::parse(&s);
        }
    }
}
