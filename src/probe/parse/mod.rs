//! Pure parsers of probe sections: one module per section, `&str → Result<T, ParseError>`.
//!
//! Every parser takes untrusted text from a remote host: none of them may panic, whatever
//! the input (each module has a proptest feeding it arbitrary strings). Text that ends up in
//! a summary is passed through [`clean`] so that no control character reaches a terminal.

pub mod apps;
pub mod backup;
pub mod clock;
pub mod cpu;
pub mod df;
pub mod host;
pub mod loadavg;
pub mod mdstat;
pub mod meminfo;
pub mod net;
pub mod procs;
pub mod quota;
pub mod repl;
pub mod smart;
pub mod timesync;
pub mod uptime;

/// A section's body did not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub fn new(message: impl Into<String>) -> Self {
        ParseError(message.into())
    }
}

/// Remote text made safe to show: control characters (escape sequences included) become
/// U+FFFD (see [`crate::text::sanitize`]), surrounding whitespace is trimmed and the result is cut to `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    let safe = crate::text::sanitize(text.trim());
    match safe.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &safe[..cut]),
        None => safe,
    }
}

/// A whitespace-separated token and the byte offset just past its end.
pub(crate) fn tokens(line: &str) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in line.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take()
                && let Some(t) = line.get(s..i)
            {
                out.push((t, i));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start
        && let Some(t) = line.get(s..)
    {
        out.push((t, line.len()));
    }
    out
}

/// The value of a `Key: value` line (as in /proc/meminfo, chronyc, smartctl text), if `line`
/// starts with `key` followed by optional spaces and a colon.
pub(crate) fn key_value<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let rest = line.trim_start().strip_prefix(key)?;
    let rest = rest.trim_start().strip_prefix(':')?;
    Some(rest.trim())
}

/// Leading decimal digits of `s` as a number (`"16 (Min/Max 0/65535)"` → 16).
pub(crate) fn leading_u64(s: &str) -> Option<u64> {
    let digits: &str = s.trim_start().split(|c: char| !c.is_ascii_digit()).next()?;
    if digits.is_empty() {
        return None;
    }
    digits.parse().ok()
}

/// A finite, parsed `f64`.
pub(crate) fn finite(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_removes_escapes_and_cuts() {
        assert_eq!(clean("  a\x1b[31mb\n ", 10), "a\u{FFFD}[31mb");
        assert_eq!(clean("abcdef", 3), "abc…");
    }

    #[test]
    fn tokens_give_end_offsets() {
        let t = tokens(" ab  c\td ");
        assert_eq!(t, vec![("ab", 3), ("c", 6), ("d", 8)]);
        assert!(tokens("").is_empty());
    }

    #[test]
    fn key_values() {
        assert_eq!(
            key_value("MemTotal:       24684084 kB", "MemTotal"),
            Some("24684084 kB")
        );
        assert_eq!(
            key_value("Leap status     : Normal", "Leap status"),
            Some("Normal")
        );
        assert_eq!(key_value("MemTotalX: 1", "MemTotal"), None);
        assert_eq!(leading_u64("16 (Min/Max 0/65535)"), Some(16));
        assert_eq!(leading_u64("x"), None);
    }

    proptest::proptest! {
        #[test]
        fn helpers_never_panic(s in proptest::prelude::any::<String>(), k in "(?s).{0,8}") {
            let _ = clean(&s, 5);
            let _ = tokens(&s);
            let _ = key_value(&s, &k);
            let _ = leading_u64(&s);
        }
    }
}
