//! `loadavg`: /proc/loadavg.

use super::{ParseError, finite};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadAvg {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

pub fn parse(body: &str) -> Result<LoadAvg, ParseError> {
    let mut words = body.split_whitespace();
    let mut next = || {
        words
            .next()
            .and_then(finite)
            .filter(|v| *v >= 0.0)
            .ok_or_else(|| ParseError::new("loadavg: expected three load averages"))
    };
    Ok(LoadAvg {
        one: next()?,
        five: next()?,
        fifteen: next()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_loadavg() {
        let l = parse("0.11 0.30 0.15 1/88 7435\n").unwrap();
        assert_eq!((l.one, l.five, l.fifteen), (0.11, 0.30, 0.15));
        assert!(parse("0.1 0.2\n").is_err());
        assert!(parse("").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>()) {
            let _ = parse(&s);
        }
    }
}
