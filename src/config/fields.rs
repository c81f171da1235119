//! Field validators shared by the sections of the configuration file: tables as serde reads
//! them, durations, integers, Nagios ranges, paths, names and words. Each reports what is wrong
//! (located in the file) and returns what loading can go on with.

use super::datasets::KnownHosts;
use super::error::Problems;
use super::jumps::closest;
use super::load::Env;
use super::values::{self, DURATION_EXAMPLES, Loose, OneOrMany};
use crate::checks::range::Range;
use serde::de::DeserializeOwned;
use serde_spanned::Spanned;
use std::collections::HashMap;
use std::ops::Range as Span;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::{DeValue, ValueDeserializer};

/// The host roles, as messages list them.
pub(super) const ROLES: &str = "`production`, `backup`, `drp`, `bastion`";

pub(super) fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deserialises one table of the file, reporting (and locating) what serde refuses.
pub(super) fn table<T: DeserializeOwned>(
    v: Spanned<DeValue>,
    what: &str,
    p: &mut Problems,
) -> Option<T> {
    table_in(v, what, None, p)
}

/// [`table`], with `place` naming the table in "missing field" messages (default: `what`,
/// with the host's name for `[[hosts]]`).
pub(super) fn table_in<T: DeserializeOwned>(
    v: Spanned<DeValue>,
    what: &str,
    place: Option<&str>,
    p: &mut Problems,
) -> Option<T> {
    let span = v.span();
    if !v.get_ref().is_table() {
        p.at(
            span,
            format!("expected a table {what}, found {}", v.get_ref().type_str()),
        );
        return None;
    }
    let host_name = v
        .get_ref()
        .get("name")
        .and_then(|n| n.get_ref().as_str())
        .map(str::to_string);
    match T::deserialize(ValueDeserializer::from(v)) {
        Ok(t) => Some(t),
        Err(e) => {
            // serde's words for TOML's: sequence → array, map → table.
            let mut msg = e
                .message()
                .replace("a sequence", "an array")
                .replace("type: sequence", "type: array")
                .replace("a map", "a table")
                .replace("type: map", "type: table");
            if let Some(field) = msg
                .strip_prefix("missing field `")
                .and_then(|r| r.strip_suffix('`'))
            {
                let place = match (place, what, host_name) {
                    (Some(place), _, _) => place.to_string(),
                    (None, "[[hosts]]", Some(n)) => format!("[[hosts]] `{n}`"),
                    _ => what.to_string(),
                };
                msg = format!(
                    "missing field `{field}` in {place}{}",
                    field_hint(what, field)
                );
            }
            p.at(e.span().unwrap_or(span), msg);
            None
        }
    }
}

/// What a required field should contain, for "missing field" messages.
fn field_hint(what: &str, field: &str) -> String {
    match (what, field) {
        ("[site]", "name") => ": expected the site's name, e.g. name = \"1stKYC\"".into(),
        ("[[hosts]]", "name") => ": expected the host's name, e.g. name = \"prod\"".into(),
        ("[[hosts]]", "role") => format!(": expected one of {ROLES}"),
        ("[[hosts]]", "datacenter") => {
            ": expected the datacenter it is in, e.g. datacenter = \"dc1\"".into()
        }
        ("[[datasets]]", "name") => ": expected the dataset's name, e.g. name = \"userdb\"".into(),
        ("[[datasets]]", "max_loss") => {
            ": expected the site's limit on data loss, e.g. max_loss = \"2h\"".into()
        }
        ("restore", "kind") => ": expected one of `postgresql`, `mysql`, `files`".into(),
        ("[[datasets.copies]]", "host") => {
            ": expected the [[hosts]] name of the server holding it, e.g. host = \"backup-a\""
                .into()
        }
        ("[[datasets.copies]]", "path") => {
            ": expected the absolute path of the backups on that host, e.g. \
             path = \"/var/backups/userdb\""
                .into()
        }
        ("[[datasets.copies]]", "every") => {
            ": expected the interval between two backups, e.g. every = \"24h\"".into()
        }
        _ => String::new(),
    }
}

/// The longest duration any setting accepts: a timeout or a refresh beyond it is a typo, and
/// huge ones overflow the clock arithmetic later on.
pub(super) const MAX_DURATION: Duration = Duration::from_secs(3600);

/// A bound in words: whole days as days ("7d" rather than "168h").
fn bound(d: Duration) -> String {
    const DAY: u64 = 86_400;
    if d.as_secs() >= DAY && d.as_secs().is_multiple_of(DAY) && d.subsec_nanos() == 0 {
        format!("{}d", d.as_secs() / DAY)
    } else {
        values::format_duration(d)
    }
}

/// The range of a duration setting in words: "a duration from 1s to 1h", or "a duration of at
/// most 1h" when any positive duration up to `max` will do.
fn duration_range((min, max): (Duration, Duration)) -> String {
    if min.is_zero() {
        format!("a duration of at most {}", bound(max))
    } else {
        format!("a duration from {} to {}", bound(min), bound(max))
    }
}

/// A duration setting, longer than zero and within `bounds` (`min` zero: any positive
/// duration up to `max`).
pub(super) fn duration(
    v: &Option<Spanned<Loose>>,
    field: &str,
    default: Duration,
    bounds: (Duration, Duration),
    p: &mut Problems,
) -> Duration {
    match v {
        Some(v) => duration_value(v, field, bounds, p).unwrap_or(default),
        None => default,
    }
}

/// A duration that is there, checked as [`duration`] does; `None` when it is wrong (reported).
pub(super) fn duration_value(
    v: &Spanned<Loose>,
    field: &str,
    bounds: (Duration, Duration),
    p: &mut Problems,
) -> Option<Duration> {
    let found = match v.get_ref() {
        Loose::Str(s) => match values::parse_duration(s) {
            Ok(d) if d.is_zero() => {
                p.at(
                    v.span(),
                    format!(
                        "`{field}` must be longer than zero; expected {}",
                        duration_range(bounds)
                    ),
                );
                return None;
            }
            Ok(d) if d < bounds.0 || d > bounds.1 => {
                p.at(
                    v.span(),
                    format!(
                        "`{field}` = {s:?} is out of range: expected {}",
                        duration_range(bounds)
                    ),
                );
                return None;
            }
            Ok(d) => return Some(d),
            Err(e) => {
                p.at(v.span(), format!("`{field}`: {e}"));
                return None;
            }
        },
        Loose::Int(i) => format!("integer {i} (write \"{i}s\" for seconds)"),
        other => other.describe(),
    };
    p.at(
        v.span(),
        format!("`{field}`: expected {DURATION_EXAMPLES}, found {found}"),
    );
    None
}

/// One of `options` (lowercase words), written as a string; its index, or `None` when it is
/// not one of them (reported, listing them).
pub(super) fn choice(
    v: &Spanned<Loose>,
    field: &str,
    options: &[&str],
    p: &mut Problems,
) -> Option<usize> {
    let expected = list(options.iter().copied());
    match v.get_ref() {
        Loose::Str(s) => {
            if let Some(i) = options.iter().position(|o| o == s) {
                return Some(i);
            }
            let hint = if options.contains(&s.to_ascii_lowercase().as_str()) {
                " (written in lowercase)"
            } else {
                ""
            };
            p.at(
                v.span(),
                format!("unknown {field} `{s}`, expected one of {expected}{hint}"),
            );
        }
        other => p.at(
            v.span(),
            format!(
                "`{field}`: expected one of {expected}, found {}",
                other.describe()
            ),
        ),
    }
    None
}

/// An integer in `min..=max`; `expected` says so in words ("an integer from 1 to 65535").
pub(super) fn integer(
    v: &Spanned<Loose>,
    field: &str,
    (min, max): (i64, i64),
    expected: &str,
    p: &mut Problems,
) -> Option<i64> {
    match v.get_ref() {
        Loose::Int(i) if (min..=max).contains(i) => Some(*i),
        Loose::Int(i) => {
            p.at(
                v.span(),
                format!("`{field}` = {i} is out of range: expected {expected}"),
            );
            None
        }
        other => {
            p.at(
                v.span(),
                format!("`{field}`: expected {expected}, found {}", other.describe()),
            );
            None
        }
    }
}

/// `Some(None)`: explicitly "none" (never alerts). `None`: not set, or invalid (reported).
pub(super) fn range(
    v: &Option<Spanned<Loose>>,
    field: &str,
    p: &mut Problems,
) -> Option<Option<Range>> {
    let v = v.as_ref()?;
    let text = match v.get_ref() {
        Loose::Str(s) if s.trim().eq_ignore_ascii_case("none") => return Some(None),
        Loose::Str(s) => s.clone(),
        Loose::Int(i) => i.to_string(),
        Loose::Float(x) => x.to_string(),
        other => {
            p.at(
                v.span(),
                format!(
                    "`{field}`: expected a Nagios range such as \"80\", \"10:\", \"~:5\", \
                     \"10:20\", \"@10:20\", or \"none\", found {}",
                    other.describe()
                ),
            );
            return None;
        }
    };
    match Range::parse(&text) {
        Ok(r) => Some(Some(r)),
        Err(e) => {
            p.at(v.span(), format!("`{field}`: {e}"));
            None
        }
    }
}

pub(super) fn path(
    v: &Spanned<String>,
    field: &str,
    env: &Env,
    base: &Path,
    p: &mut Problems,
) -> PathBuf {
    match values::expand_path(v.get_ref(), env.home.as_deref(), base) {
        Ok(path) => path,
        Err(e) => {
            p.at(v.span(), format!("`{field}`: {e}"));
            PathBuf::from(v.get_ref())
        }
    }
}

pub(super) fn paths(
    v: &Option<Spanned<OneOrMany>>,
    field: &str,
    env: &Env,
    base: &Path,
    p: &mut Problems,
) -> Vec<PathBuf> {
    let Some(v) = v else { return Vec::new() };
    v.get_ref()
        .0
        .iter()
        .map(|s| path(&Spanned::new(v.span(), s.clone()), field, env, base, p))
        .collect()
}

/// A word for names and datacenters: non-empty, no blanks or control characters.
pub(super) fn word(v: &Spanned<String>, what: &str, p: &mut Problems) -> bool {
    let s = v.get_ref();
    if s.trim().is_empty() {
        p.at(
            v.span(),
            format!("empty {what}: expected a non-empty string"),
        );
        false
    } else if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        p.at(
            v.span(),
            format!("{what} {s:?} contains blanks or control characters"),
        );
        false
    } else {
        true
    }
}

/// A name that becomes part of check ids (`ids`, for the message): a [`word`] of letters,
/// digits, `_` and `-`, not starting with `-`.
pub(super) fn id_word(v: &Spanned<String>, what: &str, ids: &str, p: &mut Problems) -> bool {
    if !word(v, what, p) {
        return false;
    }
    let s = v.get_ref();
    if s.starts_with('-')
        || !s
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-'))
    {
        p.at(
            v.span(),
            format!(
                "invalid {what} {s:?}: expected letters, digits, `_` and `-`, not starting with \
                 `-` (it is part of {ids})"
            ),
        );
        return false;
    }
    true
}

pub(super) fn host_name_ok(v: &Spanned<String>, p: &mut Problems) {
    if !word(v, "host name", p) {
        return;
    }
    let s = v.get_ref();
    if s.starts_with('-')
        || !s
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        p.at(
            v.span(),
            format!(
                "invalid host name {s:?}: expected letters, digits, `.`, `_` and `-`, \
                 not starting with `-`"
            ),
        );
    }
}

/// Why a URL of the configuration is refused (each caller words it for its own field).
pub(super) enum UrlFault {
    /// Not a URL: the parser's reason.
    Invalid(String),
    /// Neither http nor https: the scheme written.
    Scheme(String),
    NoHost,
    /// A user or password in it: secrets are read from files named in the config, never
    /// written in it (SPEC §2).
    Credentials,
}

/// An http(s) URL with a host and no credentials.
pub(super) fn http_url(text: &str) -> Result<reqwest::Url, UrlFault> {
    let url = reqwest::Url::parse(text.trim()).map_err(|e| UrlFault::Invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlFault::Scheme(url.scheme().to_string()));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlFault::NoHost);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlFault::Credentials);
    }
    Ok(url)
}

/// The names of a list where each must be unique: the first one wins.
#[derive(Default)]
pub(super) struct UniqueNames(HashMap<String, Span<usize>>);

impl UniqueNames {
    /// Whether `name` (written at `span`) is new; a duplicate is reported where it is written,
    /// naming the line of the first (`what`: "dataset name"; `rule`: the end of the message).
    pub(super) fn first(
        &mut self,
        name: &str,
        span: Span<usize>,
        what: &str,
        rule: &str,
        p: &mut Problems,
    ) -> bool {
        if let Some(first) = self.0.get(name) {
            let line = p.line_of(first);
            p.at(
                span,
                format!("duplicate {what} `{name}`: already used on line {line}; {rule}"),
            );
            return false;
        }
        self.0.insert(name.to_string(), span);
        true
    }
}

/// A reference to a `[[hosts]]` entry (`what`: "`via` host", "copy host", for messages).
/// A name of an unreadable entry (already reported) is accepted silently.
pub(super) fn host_ref(v: &Spanned<String>, what: &str, hosts: &KnownHosts, p: &mut Problems) {
    let name = v.get_ref();
    if hosts.names.contains(&name.as_str()) || hosts.unreadable.contains(name) {
        return;
    }
    let mut msg = if hosts.names.is_empty() {
        format!("{what} `{name}` names no host: no [[hosts]] entry is declared")
    } else {
        format!(
            "{what} `{name}` names no host: expected one of the [[hosts]] names ({})",
            list(hosts.names.iter().copied())
        )
    };
    if let Some(close) = closest(name, &hosts.names) {
        msg.push_str(&format!("; did you mean `{close}`?"));
    }
    p.at(v.span(), msg);
}

/// The site name may contain blanks ("Acme Prod"), it just must not be empty.
pub(super) fn word_or_empty(v: &Spanned<String>, what: &str, p: &mut Problems) {
    if v.get_ref().trim().is_empty() {
        p.at(
            v.span(),
            format!("empty {what}: expected a non-empty string"),
        );
    } else if v.get_ref().chars().any(char::is_control) {
        p.at(v.span(), format!("{what} contains control characters"));
    }
}
