//! `[[datasets]]` (SPEC §5): what each dataset may lose, how it is restored, and its copies —
//! which server holds them, where, how often and in what form — checked against the
//! `[[hosts]]` of the file.
//!
//! Each dataset, its `restore` and each of its copies are read on their own, so that a mistake
//! in one does not hide the mistakes in the others.

use super::error::Problems;
use super::fields::{
    UniqueNames, choice, duration_value, host_ref, id_word, integer, table_in, word,
};
use super::raw::{RawCopy, RawDataset, RawRestore};
use super::values::Loose;
use crate::backup::model::{BackupFormat, Copy, Dataset, Days, Restore};
use serde_spanned::Spanned;
use std::collections::{HashMap, HashSet};
use std::ops::Range as Span;
use std::time::Duration;
use toml::de::DeValue;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);
/// The longest `max_loss`: beyond it, a typo ("2d" for "2h" is still within).
const MAX_LOSS: Duration = Duration::from_secs(30 * 86_400);
/// The longest `every` and `grace`.
const MAX_EVERY: Duration = Duration::from_secs(7 * 86_400);

const DAYS: [&str; 3] = ["all", "even", "odd"];
const FORMATS: [&str; 4] = ["files", "restic", "borg", "command"];
const RESTORE_KINDS: [&str; 3] = ["postgresql", "mysql", "files"];

/// The grace of a copy made every `every` when the file does not say: a quarter of the
/// interval, at least 15 minutes, at most 6 hours.
pub fn default_grace(every: Duration) -> Duration {
    (every / 4).clamp(15 * MINUTE, 6 * HOUR)
}

/// The `[[hosts]]` entries a copy may name.
pub(super) struct KnownHosts<'a> {
    /// The readable entries, in file order.
    pub(super) names: Vec<&'a str>,
    /// Entries too broken to read (already reported): copies on them are not reported again.
    pub(super) unreadable: &'a HashSet<String>,
}

/// The `datasets` value of the file → the datasets, in file order; problems go to `p`.
pub(super) fn check_datasets(
    v: Spanned<DeValue>,
    hosts: &KnownHosts,
    p: &mut Problems,
) -> Vec<Dataset> {
    let span = v.span();
    let items = match v.into_inner() {
        DeValue::Array(items) => items,
        other => {
            p.at(
                span,
                format!(
                    "`datasets` must be an array of tables, found {}: write each dataset as \
                     [[datasets]]",
                    other.type_str()
                ),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    // Duplicate names: the first one wins.
    let mut names = UniqueNames::default();
    for item in items {
        let Some((dataset, name_span)) = check_dataset(item, hosts, p) else {
            continue;
        };
        let rule = "dataset names must be unique";
        if names.first(&dataset.name, name_span, "dataset name", rule, p) {
            out.push(dataset);
        }
    }
    out
}

/// One `[[datasets]]` entry and the span of its name; `None` when it cannot be read.
fn check_dataset(
    mut item: Spanned<DeValue>,
    hosts: &KnownHosts,
    p: &mut Problems,
) -> Option<(Dataset, Span<usize>)> {
    let span = item.span();
    let (restore, copies) = match item.get_mut() {
        DeValue::Table(t) => (t.remove("restore"), t.remove("copies")),
        other => {
            p.at(
                span,
                format!(
                    "expected a table in `datasets`, found {}: write each dataset as [[datasets]]",
                    other.type_str()
                ),
            );
            return None;
        }
    };
    let name = item
        .get_ref()
        .get("name")
        .and_then(|n| n.get_ref().as_str())
        .map(str::to_string);
    let place = match &name {
        Some(n) => format!("[[datasets]] `{n}`"),
        None => "[[datasets]]".to_string(),
    };
    let shown = name.as_deref().unwrap_or("?");
    let raw = table_in::<RawDataset>(item, "[[datasets]]", Some(&place), p);
    let restore = restore.and_then(|r| check_restore(r, shown, p));
    let copies = copies.map(|c| check_copies(c, shown, hosts, p));

    let raw = raw?;
    // The name is part of check ids (`backup.NAME.loss_window`): no dots.
    let name_ok = id_word(
        &raw.name,
        "dataset name",
        "check ids such as backup.NAME.loss_window",
        p,
    );
    let max_loss = duration_value(&raw.max_loss, "max_loss", (Duration::ZERO, MAX_LOSS), p);
    if copies.is_none() && name_ok {
        p.at(raw.name.span(), no_copies(raw.name.get_ref()));
    }
    Some((
        Dataset {
            name: raw.name.get_ref().clone(),
            max_loss: max_loss.unwrap_or(DAY),
            restore,
            copies: copies.unwrap_or_default(),
        },
        raw.name.span(),
    ))
}

fn no_copies(dataset: &str) -> String {
    format!(
        "dataset `{dataset}` has no copies: expected at least one [[datasets.copies]] entry \
         (host, path, every) after it"
    )
}

/// `restore = { kind = "…", database = "…", port = N }`; `None` when wrong (reported).
fn check_restore(v: Spanned<DeValue>, dataset: &str, p: &mut Problems) -> Option<Restore> {
    if !v.get_ref().is_table() {
        p.at(
            v.span(),
            format!(
                "`restore` of dataset `{dataset}`: expected a table such as \
                 {{ kind = \"postgresql\", database = \"app\" }}, found {}",
                v.get_ref().type_str()
            ),
        );
        return None;
    }
    let place = format!("`restore` of dataset `{dataset}`");
    let raw = table_in::<RawRestore>(v, "restore", Some(&place), p)?;
    let kind = choice(&raw.kind, "restore kind", &RESTORE_KINDS, p)?;
    if let Some(db) = &raw.database
        && !word(db, "database name", p)
    {
        return None;
    }
    // Reported with the other mistakes of the table, not instead of them.
    let port = restore_port(&raw.port, RESTORE_KINDS[kind], p);
    let restore = match (RESTORE_KINDS[kind], raw.database) {
        ("files", None) => Some(Restore::Files),
        ("files", Some(db)) => {
            p.at(
                db.span(),
                "`database` is only for restore kinds `postgresql` and `mysql`: kind `files` \
                 restores files",
            );
            None
        }
        (kind, None) => {
            p.at(
                raw.kind.span(),
                format!(
                    "restore kind `{kind}` needs a `database`: the database the DRP step \
                     imports into, e.g. database = \"app\""
                ),
            );
            None
        }
        ("mysql", Some(db)) => Some(Restore::Mysql {
            database: db.into_inner(),
        }),
        (_, Some(db)) => Some(Restore::Postgresql {
            database: db.into_inner(),
            port: port.unwrap_or_default(),
        }),
    };
    port.ok().and(restore)
}

/// The `port` of a `restore` of kind `kind` (a dataset's or a db_import step's): `Ok(None)`
/// when not given, `Err(())` when wrong (reported where it is written).
pub(super) fn restore_port(
    v: &Option<Spanned<Loose>>,
    kind: &str,
    p: &mut Problems,
) -> Result<Option<u16>, ()> {
    let Some(v) = v else { return Ok(None) };
    match kind {
        "postgresql" => integer(v, "port", (1, 65535), "a port number from 1 to 65535", p)
            .and_then(|n| u16::try_from(n).ok())
            .map(Some)
            .ok_or(()),
        "mysql" => {
            // db_import.sh runs the mysql client on the target through the server's unix
            // socket, where a TCP port means nothing (and TCP would lose unix_socket
            // authentication).
            p.at(
                v.span(),
                "`port` is only for restore kind `postgresql`: the MySQL import connects \
                 through the server's unix socket as the SSH user (unix_socket authentication \
                 or ~/.my.cnf), where a port does not apply; for another server, give its \
                 socket in that user's ~/.my.cnf ([client] socket = …)",
            );
            Err(())
        }
        _ => {
            p.at(
                v.span(),
                format!(
                    "`port` is only for restore kind `postgresql`: kind `{kind}` has no server"
                ),
            );
            Err(())
        }
    }
}

/// The `copies` of a dataset, in file order (those that can be read).
fn check_copies(
    v: Spanned<DeValue>,
    dataset: &str,
    hosts: &KnownHosts,
    p: &mut Problems,
) -> Vec<Copy> {
    let span = v.span();
    let items = match v.into_inner() {
        DeValue::Array(items) if items.is_empty() => {
            p.at(span, no_copies(dataset));
            return Vec::new();
        }
        DeValue::Array(items) => items,
        other => {
            p.at(
                span,
                format!(
                    "`copies` of dataset `{dataset}` must be an array of tables, found {}: \
                     write each copy as [[datasets.copies]]",
                    other.type_str()
                ),
            );
            return Vec::new();
        }
    };
    let place = format!("[[datasets.copies]] of dataset `{dataset}`");
    let mut out = Vec::new();
    // (host, path) → where that path was first given.
    let mut seen: HashMap<(String, String), Span<usize>> = HashMap::new();
    for item in items {
        let at = item.span();
        if !item.get_ref().is_table() {
            p.at(
                at,
                format!(
                    "expected a table in `copies` of dataset `{dataset}`, found {}: write each \
                     copy as [[datasets.copies]]",
                    item.get_ref().type_str()
                ),
            );
            continue;
        }
        let Some(raw) = table_in::<RawCopy>(item, "[[datasets.copies]]", Some(&place), p) else {
            continue;
        };
        let path_span = raw.path.span();
        let copy = check_copy(raw, at, dataset, hosts, p);
        let key = (copy.host.clone(), copy.path.clone());
        if let Some(first) = seen.get(&key) {
            let line = p.line_of(first);
            p.at(
                path_span,
                format!(
                    "dataset `{dataset}` already has a copy on `{}` at {:?} (line {line}): \
                     each copy is another host or another path",
                    copy.host, copy.path
                ),
            );
            continue;
        }
        seen.insert(key, path_span);
        out.push(copy);
    }
    out
}

/// One `[[datasets.copies]]` entry (declared at `at`), checked; what is wrong is reported and
/// replaced by something loading can go on with.
fn check_copy(
    raw: RawCopy,
    at: Span<usize>,
    dataset: &str,
    hosts: &KnownHosts,
    p: &mut Problems,
) -> Copy {
    if word(&raw.host, "copy host", p) {
        host_ref(&raw.host, "copy host", hosts, p);
    }
    let host = raw.host.get_ref().as_str();
    let path = remote_path(&raw.path, "path", host, Some(dataset), p);

    let every = duration_value(&raw.every, "every", (Duration::ZERO, MAX_EVERY), p);
    let days = match &raw.days {
        None => Some(Days::All),
        Some(d) => choice(d, "days", &DAYS, p).map(|i| [Days::All, Days::Even, Days::Odd][i]),
    };
    if let (Some(every), Some(days @ (Days::Even | Days::Odd))) = (every, days)
        && every < DAY
    {
        p.at(
            raw.every.span(),
            format!(
                "`every` = {} is shorter than a day, but this copy runs on {} days only: \
                 parity schedules are daily (every = \"24h\"); for backups every few hours \
                 write days = \"all\"",
                raw_text(&raw.every),
                days.word()
            ),
        );
    }
    let grace = match &raw.grace {
        Some(g) => duration_value(g, "grace", (Duration::ZERO, MAX_EVERY), p),
        None => every.map(default_grace),
    };

    let format = match &raw.format {
        None => Some(0),
        Some(f) => choice(f, "format", &FORMATS, p),
    };
    // Where a missing `pattern` or `command` is reported: the format that needs it.
    let format_at = raw.format.as_ref().map_or(at, Spanned::span);
    let format = match format {
        // Unknown (reported): nothing more can be said of its fields.
        None => BackupFormat::Files {
            pattern: String::new(),
        },
        Some(i) => {
            let word = FORMATS[i];
            refuse(
                &raw.pattern,
                "pattern",
                word != "files",
                "format `files`",
                word,
                p,
            );
            refuse(
                &raw.command,
                "command",
                word != "command",
                "format `command`",
                word,
                p,
            );
            refuse(
                &raw.password_file,
                "password_file",
                !matches!(word, "restic" | "borg"),
                "formats `restic` and `borg`",
                word,
                p,
            );
            match word {
                "files" => BackupFormat::Files {
                    pattern: pattern(&raw.pattern, p),
                },
                "restic" => BackupFormat::Restic {
                    password_file: password_file(&raw.password_file, host, p),
                },
                "borg" => BackupFormat::Borg {
                    password_file: password_file(&raw.password_file, host, p),
                },
                _ => BackupFormat::Command {
                    command: command(&raw.command, format_at, host, p),
                },
            }
        }
    };
    Copy {
        host: raw.host.into_inner(),
        path,
        every: every.unwrap_or(DAY),
        days: days.unwrap_or(Days::All),
        format,
        grace: grace.unwrap_or(HOUR),
    }
}

/// A value as written, for messages: `"2h"` or `7200`.
fn raw_text(v: &Spanned<Loose>) -> String {
    match v.get_ref() {
        Loose::Str(s) => format!("{s:?}"),
        other => other.describe(),
    }
}

/// An absolute path on `host` (never expanded here: it is read there). Trailing slashes are
/// dropped, so that "/a/" and "/a" are one path.
fn remote_path(
    v: &Spanned<String>,
    field: &str,
    host: &str,
    dataset: Option<&str>,
    p: &mut Problems,
) -> String {
    let s = v.get_ref();
    let example = match dataset {
        Some(d) => format!(", e.g. \"/var/backups/{d}\""),
        None => String::new(),
    };
    if s.trim().is_empty() {
        p.at(
            v.span(),
            format!("empty `{field}`: expected an absolute path on host `{host}`{example}"),
        );
    } else if !s.starts_with('/') {
        let tilde = if s.starts_with('~') {
            " (`~` is not expanded)"
        } else {
            ""
        };
        p.at(
            v.span(),
            format!("`{field}` {s:?} must be an absolute path on host `{host}`{example}{tilde}"),
        );
    } else if s.chars().any(char::is_control) {
        p.at(
            v.span(),
            format!("`{field}` {s:?} contains control characters"),
        );
    }
    match s.trim_end_matches('/') {
        "" if s.starts_with('/') => "/".to_string(),
        t => t.to_string(),
    }
}

/// Reports `v` when it is given but `refused` (it belongs to `owner`, not to `format`).
fn refuse(
    v: &Option<Spanned<String>>,
    field: &str,
    refused: bool,
    owner: &str,
    format: &str,
    p: &mut Problems,
) {
    if let Some(v) = v
        && refused
    {
        p.at(
            v.span(),
            format!("`{field}` is only for {owner}; this copy's format is `{format}`"),
        );
    }
}

/// The shell glob of a `files` copy, a name (not a path); "*" (every entry) when not given,
/// as in SPEC §5's own `files` example.
fn pattern(v: &Option<Spanned<String>>, p: &mut Problems) -> String {
    let Some(v) = v else {
        return "*".to_string();
    };
    let s = v.get_ref();
    if s.trim().is_empty() {
        p.at(
            v.span(),
            "empty `pattern`: expected a shell glob of the backups' names, e.g. \"*.dump\"",
        );
    } else if s.contains('/') {
        p.at(
            v.span(),
            format!(
                "`pattern` {s:?} matches names, not paths: put the directory in `path` and \
                 the name in `pattern`"
            ),
        );
    } else if s.chars().any(char::is_control) {
        p.at(
            v.span(),
            format!("`pattern` {s:?} contains control characters"),
        );
    }
    s.clone()
}

/// The command of a `command` copy: required, not blank.
fn command(
    v: &Option<Spanned<String>>,
    format_at: Span<usize>,
    host: &str,
    p: &mut Problems,
) -> String {
    let Some(v) = v else {
        p.at(
            format_at,
            format!(
                "missing `command`: format command needs a command, run on `{host}`, that \
                 prints one backup a line: `<capture time (RFC 3339 or epoch seconds)> \
                 <size in bytes> [<name>]`"
            ),
        );
        return String::new();
    };
    if v.get_ref().trim().is_empty() {
        p.at(
            v.span(),
            "empty `command`: expected a command that prints one backup a line",
        );
    }
    v.get_ref().clone()
}

/// The password file of a restic or borg repository: an absolute path on the host.
fn password_file(v: &Option<Spanned<String>>, host: &str, p: &mut Problems) -> Option<String> {
    let v = v.as_ref()?;
    Some(remote_path(v, "password_file", host, None, p))
}

#[cfg(test)]
#[path = "datasets_tests.rs"]
mod tests;
