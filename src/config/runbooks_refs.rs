//! The values of `[[runbooks.NAME.steps]]` that refer to the rest of the file — hosts, paths
//! on them, datasets, check ids — or hold placeholders, checked and located.

use super::super::apps::{REPLICATION_KINDS, SERVICES};
use super::super::datasets::restore_port;
use super::super::error::Problems;
use super::super::fields::{choice, list, word};
use super::super::jumps::closest;
use super::{Context, RawStep};
use crate::backup::model::{BackupFormat, Restore};
use crate::drp::model::{BODY_PLACEHOLDERS, DbKind, DbRestore, HostPath, Source};
use serde_spanned::Spanned;
use std::ops::Range as Span;

/// Whole targets an rsync (with deletions) or a drill must never write: the host itself would
/// be destroyed.
const SYSTEM_DIRS: [&str; 14] = [
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/proc", "/root", "/run",
    "/sbin", "/sys", "/usr",
];
const SYSTEM_VAR: [&str; 3] = ["/var", "/var/lib", "/tmp"];

/// Free text: not blank, no control characters (but line feeds and tabs when `multiline`:
/// commands, SQL and ticket bodies may span lines).
pub(super) fn text(v: &Spanned<String>, field: &str, multiline: bool, p: &mut Problems) -> bool {
    let s = v.get_ref();
    if s.trim().is_empty() {
        p.at(
            v.span(),
            format!("empty `{field}`: expected a non-empty string"),
        );
        return false;
    }
    let bad = s
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\t')));
    if bad {
        p.at(
            v.span(),
            format!("`{field}` contains control characters (other than line feeds and tabs)"),
        );
    }
    !bad
}

/// A `[[hosts]]` name.
pub(super) fn host_ref(v: &Spanned<String>, field: &str, cx: &Context, p: &mut Problems) -> bool {
    let name = v.get_ref();
    if cx.hosts.iter().any(|d| &d.name == name) {
        return true;
    }
    if cx.unreadable.contains(name) {
        return false;
    }
    let names = cx.names();
    let mut msg = format!(
        "`{field}`: no [[hosts]] entry named `{name}`: expected one of {}",
        list(names.iter().copied())
    );
    if let Some(close) = closest(name, &names) {
        msg.push_str(&format!("; did you mean `{close}`?"));
    }
    p.at(v.span(), msg);
    false
}

/// `HOST:/absolute/path`, checked; the path is kept as written (a trailing `/` means "the
/// contents of" for rsync).
pub(super) fn host_path(
    v: &Spanned<String>,
    field: &str,
    cx: &Context,
    p: &mut Problems,
) -> Option<HostPath> {
    let s = v.get_ref();
    let Some((host, path)) = s.split_once(':') else {
        p.at(
            v.span(),
            format!("`{field}` = {s:?}: expected HOST:/absolute/path, e.g. \"drp:/srv/www/\""),
        );
        return None;
    };
    let host_ok = host_ref(&Spanned::new(v.span(), host.to_string()), field, cx, p);
    let why = if !path.starts_with('/') {
        Some("the path must be absolute (`~` is not expanded)")
    } else if path.chars().any(char::is_control) {
        Some("the path contains control characters")
    } else if path.split('/').any(|c| c == "." || c == "..") {
        Some("the path must not hold `.` or `..` components")
    } else {
        None
    };
    if let Some(why) = why {
        p.at(v.span(), format!("`{field}` = {s:?}: {why}"));
        return None;
    }
    host_ok.then(|| HostPath {
        host: host.to_string(),
        path: path.to_string(),
    })
}

/// A copy's or import's target: not a system directory, which an rsync with deletions would
/// wipe.
pub(super) fn target(
    v: &Spanned<String>,
    field: &str,
    cx: &Context,
    p: &mut Problems,
) -> Option<HostPath> {
    let hp = host_path(v, field, cx, p)?;
    let bare = match hp.path.trim_end_matches('/') {
        "" => "/",
        b => b,
    };
    if SYSTEM_DIRS.contains(&bare) || SYSTEM_VAR.contains(&bare) {
        p.at(
            v.span(),
            format!(
                "`{field}` = {:?}: {bare} is a system directory; copying onto it (with \
                 deletions) would destroy the host: name the application's own directory",
                v.get_ref()
            ),
        );
        return None;
    }
    Some(hp)
}

/// A drill target: on the DRP host, never the real target.
pub(super) fn drill_target_ok(
    d: &HostPath,
    at: Span<usize>,
    to: Option<&HostPath>,
    cx: &Context,
    p: &mut Problems,
) -> bool {
    let drp = cx.drp_name();
    if d.host != drp {
        p.at(
            at,
            format!(
                "`drill_to` must be on the DRP host `{drp}`: a drill never writes anywhere else"
            ),
        );
        return false;
    }
    if let Some(to) = to
        && to.host == d.host
        && to.path.trim_end_matches('/') == d.path.trim_end_matches('/')
    {
        p.at(
            at,
            format!("`drill_to` is the step's own target {to}: a drill writes to a scratch place"),
        );
        return false;
    }
    true
}

/// `newest:DATASET` or `HOST:/path` (a file when `file`).
pub(super) fn source(
    v: &Spanned<String>,
    file: bool,
    cx: &Context,
    p: &mut Problems,
) -> Option<Source> {
    let s = v.get_ref();
    let Some(name) = s.strip_prefix("newest:") else {
        let hp = host_path(v, "from", cx, p)?;
        if file && hp.path.ends_with('/') {
            p.at(
                v.span(),
                format!("`from` = {s:?}: a database import reads a dump file, not a directory"),
            );
            return None;
        }
        return Some(Source::Path(hp));
    };
    let Some(ds) = cx.datasets.iter().find(|d| d.name == name) else {
        let names: Vec<&str> = cx.datasets.iter().map(|d| d.name.as_str()).collect();
        let mut msg = if names.is_empty() {
            format!("`from` = {s:?}: no [[datasets]] entry is declared")
        } else {
            format!(
                "`from` = {s:?}: no dataset named `{name}`: expected one of {}",
                list(names.iter().copied())
            )
        };
        if let Some(close) = closest(name, &names) {
            msg.push_str(&format!("; did you mean `newest:{close}`?"));
        }
        p.at(v.span(), msg);
        return None;
    };
    if ds.copies.is_empty() {
        p.at(
            v.span(),
            format!("`from` = {s:?}: dataset `{name}` has no copies, so no newest backup"),
        );
        return None;
    }
    if let Some(c) = ds
        .copies
        .iter()
        .find(|c| !matches!(c.format, BackupFormat::Files { .. }))
    {
        p.at(
            v.span(),
            format!(
                "`from` = {s:?}: the copy of `{name}` on `{}` is in format `{}`; a DRP step \
                 takes the newest file or directory of a copy, so newest: needs copies in \
                 format `files` (restore the others with an exec step)",
                c.host,
                c.format.word()
            ),
        );
        return None;
    }
    Some(Source::Newest {
        dataset: name.to_string(),
    })
}

/// An import's `restore`: the step's own, else its dataset's.
pub(super) fn db_restore(
    raw: &RawStep,
    from: Option<&Source>,
    cx: &Context,
    p: &mut Problems,
) -> Option<DbRestore> {
    if let Some(r) = &raw.restore {
        let kinds = ["postgresql", "mysql"];
        let kind = choice(&r.get_ref().0.kind, "restore kind", &kinds, p);
        let database = match &r.get_ref().0.database {
            None => {
                p.at(
                    r.span(),
                    "`restore` needs a `database`: the database the import restores into",
                );
                None
            }
            Some(d) => word(d, "database name", p).then(|| d.get_ref().clone()),
        };
        let port = kind.map(|k| restore_port(&r.get_ref().0.port, kinds[k], p));
        let kind = [DbKind::Postgresql, DbKind::Mysql][kind?];
        return Some(DbRestore {
            kind,
            database: database?,
            port: port?.ok()?,
        });
    }
    let at = raw.from.as_ref().map_or(raw.kind.span(), Spanned::span);
    let dataset = match from? {
        Source::Newest { dataset } => cx.datasets.iter().find(|d| &d.name == dataset)?,
        Source::Path(_) => {
            p.at(
                at,
                "a db_import from a file needs `restore = { kind = \"postgresql\", database = \
                 \"app\" }` (or kind \"mysql\")",
            );
            return None;
        }
    };
    match &dataset.restore {
        Some(Restore::Postgresql { database, port }) => Some(DbRestore {
            kind: DbKind::Postgresql,
            database: database.clone(),
            port: *port,
        }),
        Some(Restore::Mysql { database }) => Some(DbRestore {
            kind: DbKind::Mysql,
            database: database.clone(),
            port: None,
        }),
        other => {
            let has = match other {
                Some(_) => "restores files",
                None => "has no `restore`",
            };
            p.at(
                at,
                format!(
                    "dataset `{}` {has}: give the step `restore = {{ kind = \"postgresql\", \
                     database = \"…\" }}`, or the dataset a database restore",
                    dataset.name
                ),
            );
            None
        }
    }
}

/// {{placeholders}} of a ticket's title or body: known names, closed braces.
pub(super) fn placeholders(v: &Spanned<String>, field: &str, p: &mut Problems) -> bool {
    let mut rest = v.get_ref().as_str();
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            p.at(
                v.span(),
                format!("`{field}`: `{{{{` is not closed by `}}}}`"),
            );
            return false;
        };
        let name = after[..end].trim();
        if !BODY_PLACEHOLDERS.contains(&name) {
            p.at(
                v.span(),
                format!(
                    "`{field}`: unknown placeholder {{{{{name}}}}}, expected one of {}",
                    list(BODY_PLACEHOLDERS.iter().copied())
                ),
            );
            return false;
        }
        rest = &after[end + 2..];
    }
    true
}

/// A DNS step points the record at one of the two sites of `[drp]`.
pub(super) fn dns_target(v: &Spanned<String>, cx: &Context, p: &mut Problems) -> bool {
    if !host_ref(v, "target", cx, p) {
        return false;
    }
    match cx.drp {
        Some(d) if v.get_ref() != &d.production && v.get_ref() != &d.drp => {
            p.at(
                v.span(),
                format!(
                    "`target` must be one of the two sites of [drp]: `{}` (production) or `{}` \
                     (DRP)",
                    d.production, d.drp
                ),
            );
            false
        }
        _ => true,
    }
}

/// Host checks are read on one host (the step's `host`); URL, blocklist and backup checks
/// are the site's.
pub(super) fn wait_check(
    v: &Spanned<String>,
    host: Option<&Spanned<String>>,
    cx: &Context,
    p: &mut Problems,
) -> bool {
    let id = v.get_ref();
    match check_scope(id, cx) {
        Err(why) => {
            p.at(v.span(), format!("`check` = {id:?}: {why}"));
            false
        }
        Ok(true) if host.is_none() => {
            p.at(
                v.span(),
                format!("`check` = {id:?} is a host's check: say on which host with `host`"),
            );
            false
        }
        Ok(false) if host.is_some() => {
            let at = host.map_or(v.span(), Spanned::span);
            p.at(
                at,
                format!("`host`: check {id:?} is the site's, not a host's: remove `host`"),
            );
            false
        }
        Ok(_) => true,
    }
}

/// Whether a check id is a host's (`Ok(true)`) or the site's (`Ok(false)`), or why it is no
/// check id of SPEC §4.
pub(super) fn check_scope(id: &str, cx: &Context) -> Result<bool, String> {
    const HOST_EXACT: [&str; 8] = [
        "system.availability",
        "system.load",
        "system.cpu",
        "system.memory",
        "system.swap",
        "system.time_drift",
        "system.uptime",
        "network.route.default",
    ];
    const HOST_PREFIX: [&str; 8] = [
        "hardware.disk.",
        "hardware.raid.",
        "system.partition.",
        "system.inodes.",
        "system.quota.",
        "system.process.",
        "network.interface.",
        "network.route.",
    ];
    if HOST_EXACT.contains(&id) {
        return Ok(true);
    }
    if HOST_PREFIX
        .iter()
        .any(|pre| id.strip_prefix(pre).is_some_and(|r| !r.is_empty()))
    {
        return Ok(true);
    }
    if let Some(name) = id.strip_prefix("app.service.") {
        return if SERVICES.contains(&name) {
            Ok(true)
        } else {
            Err(format!(
                "unknown service `{name}`, expected one of {}",
                list(SERVICES.iter().copied())
            ))
        };
    }
    if let Some(rest) = id.strip_prefix("app.replication.") {
        let kind = rest.split('.').next().unwrap_or("");
        return if REPLICATION_KINDS.contains(&kind) && rest.len() > kind.len() + 1 {
            Ok(true)
        } else {
            Err("expected app.replication.KIND.NAME".into())
        };
    }
    if let Some(name) = id.strip_prefix("app.url.") {
        let names: Vec<&str> = cx.urls.iter().map(|u| u.name.as_str()).collect();
        return if names.contains(&name) {
            Ok(false)
        } else {
            Err(format!(
                "no [[urls]] entry named `{name}` (URL tests: {})",
                if names.is_empty() {
                    "none".into()
                } else {
                    list(names.iter().copied())
                }
            ))
        };
    }
    if id
        .strip_prefix("network.dnsbl.")
        .is_some_and(|r| !r.is_empty())
    {
        return Ok(false);
    }
    if let Some(rest) = id.strip_prefix("backup.") {
        let known = cx.datasets.iter().any(|d| {
            rest.strip_prefix(d.name.as_str())
                .is_some_and(|r| r.len() > 1 && r.starts_with('.'))
        });
        return if known {
            Ok(false)
        } else {
            Err(
                "expected backup.DATASET.HOST, backup.DATASET.loss_window or \
                 backup.DATASET.policy of a configured dataset"
                    .into(),
            )
        };
    }
    Err(
        "not a check id of Vigie: expected e.g. app.url.NAME, app.service.NAME, \
         system.process.NAME, backup.DATASET.loss_window"
            .into(),
    )
}
