//! Value syntaxes shared by the configuration: durations, paths, and loosely typed scalars that
//! are checked after deserialisation (so that every bad value is reported, not just the first).

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What durations look like, for error messages.
pub const DURATION_EXAMPLES: &str = "a duration such as \"5s\", \"2h30m\" or \"250ms\"";

/// Parses a human duration: `"5s"`, `"2h30m"`, `"250ms"`, `"1.5s"`, `"3 minutes"`, `"1d"`
/// (days and weeks are 24 h and 7 d; months and years are refused), or ISO 8601 (`"PT5S"`).
/// Negative durations are refused.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bad = |why: &str| format!("invalid duration {text:?}: {why}; expected {DURATION_EXAMPLES}");
    if t.is_empty() {
        return Err(bad("empty"));
    }
    if t.parse::<f64>().is_ok() {
        return Err(format!(
            "invalid duration {text:?}: a unit is missing (write \"{t}s\" for seconds); \
             expected {DURATION_EXAMPLES}"
        ));
    }
    let signed = match t.parse::<jiff::SignedDuration>() {
        Ok(d) => d,
        // Days and weeks are not "uniform" units for SignedDuration: go through a Span.
        Err(_) => match t.parse::<jiff::Span>() {
            Ok(span) => span
                .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                .map_err(|_| bad("months and years are not fixed lengths, use days"))?,
            Err(_) => return Err(bad("not understood")),
        },
    };
    if signed.is_negative() {
        return Err(bad("negative"));
    }
    Duration::try_from(signed).map_err(|_| bad("out of range"))
}

/// Renders a duration the way the configuration writes it ("5s", "2h 30m", "250ms").
pub fn format_duration(d: Duration) -> String {
    match jiff::SignedDuration::try_from(d) {
        Ok(s) => format!("{s:#}"),
        Err(_) => format!("{d:?}"),
    }
}

/// Expands a configured path: `~` and `~/…` are under `home`; a relative path is relative to
/// `base` (the directory of the configuration file). `~user` is not supported.
pub fn expand_path(text: &str, home: Option<&Path>, base: &Path) -> Result<PathBuf, String> {
    if text.is_empty() {
        return Err("empty path".to_string());
    }
    let rest = if text == "~" {
        Some("")
    } else {
        text.strip_prefix("~/")
    };
    if let Some(rest) = rest {
        return match home {
            Some(home) => Ok(if rest.is_empty() {
                home.to_path_buf()
            } else {
                home.join(rest)
            }),
            None => Err(format!("cannot expand {text:?}: HOME is not set")),
        };
    }
    if text.starts_with('~') {
        return Err(format!(
            "cannot expand {text:?}: only \"~\" and \"~/…\" (your own home) are supported"
        ));
    }
    let p = Path::new(text);
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    })
}

/// `$HOME`, or the platform's idea of it.
pub fn home_dir() -> Option<PathBuf> {
    match std::env::var_os("HOME") {
        Some(h) if !h.is_empty() => Some(PathBuf::from(h)),
        _ => std::env::home_dir(),
    }
}

/// Any TOML value, kept loosely so that the check (and its message) happens later, with a span.
#[derive(Debug, Clone, PartialEq)]
pub enum Loose {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Arrays, tables and dates: named for messages.
    Other(&'static str),
}

impl Loose {
    /// "string \"x\"", "integer 5": for "found …" in messages.
    pub fn describe(&self) -> String {
        match self {
            Loose::Str(s) => format!("string {s:?}"),
            Loose::Int(i) => format!("integer {i}"),
            Loose::Float(x) => format!("float {x}"),
            Loose::Bool(b) => format!("boolean {b}"),
            Loose::Other(what) => (*what).to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Loose {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Loose;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Loose, E> {
                Ok(Loose::Str(v.to_string()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Loose, E> {
                Ok(Loose::Str(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Loose, E> {
                Ok(Loose::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Loose, E> {
                Ok(i64::try_from(v).map_or(Loose::Other("a huge integer"), Loose::Int))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Loose, E> {
                Ok(Loose::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Loose, E> {
                Ok(Loose::Bool(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Loose, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Loose::Other("an array"))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Loose, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                // toml hands dates over as a one-entry map too.
                Ok(Loose::Other("a table or a date"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A table, and only a table: serde's derived structs would also accept an array (filling the
/// fields in order), which would silently accept `partition = ["80", "90"]`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableOf<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for TableOf<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = TableOf<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TableOf<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(TableOf)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// One path or a list of paths (`identity = "~/.ssh/id_ed25519"` or `identity = ["…", "…"]`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a path or an array of paths")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(OneOrMany(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let ok = [
            ("5s", Duration::from_secs(5)),
            ("2h30m", Duration::from_secs(9000)),
            ("250ms", Duration::from_millis(250)),
            ("1.5s", Duration::from_millis(1500)),
            ("3 minutes", Duration::from_secs(180)),
            ("1d", Duration::from_secs(86400)),
            ("1w 1d", Duration::from_secs(8 * 86400)),
            ("PT5S", Duration::from_secs(5)),
            ("0s", Duration::ZERO),
            (" 5s ", Duration::from_secs(5)),
        ];
        for (text, want) in ok {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for bad in ["", "5", "abc", "-5s", "1y", "2 months", "5 parsecs", "s"] {
            let err = parse_duration(bad).unwrap_err();
            assert!(err.contains("expected a duration such as"), "{bad}: {err}");
        }
        assert!(parse_duration("5").unwrap_err().contains("write \"5s\""));
    }

    #[test]
    fn durations_format_back() {
        for text in ["5s", "2h 30m", "250ms"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }

    #[test]
    fn paths() {
        let home = Path::new("/home/op");
        let base = Path::new("/etc/vigie");
        let ex = |t| expand_path(t, Some(home), base);
        assert_eq!(ex("~").unwrap(), PathBuf::from("/home/op"));
        assert_eq!(ex("~/.ssh/id").unwrap(), PathBuf::from("/home/op/.ssh/id"));
        assert_eq!(ex("/abs/k").unwrap(), PathBuf::from("/abs/k"));
        assert_eq!(ex("keys/k").unwrap(), PathBuf::from("/etc/vigie/keys/k"));
        assert!(ex("~bob/k").is_err());
        assert!(ex("").is_err());
        assert!(expand_path("~/k", None, base).unwrap_err().contains("HOME"));
    }
}
