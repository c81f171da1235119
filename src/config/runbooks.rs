//! `[runbooks.NAME]` with `[[runbooks.NAME.steps]]` (SPEC §6): the DRP procedure as steps,
//! checked against the rest of the file — hosts, datasets, URL tests, `[drp]`, `[dns]`,
//! `[ticket]` — so that a runbook that loads can be resolved into a plan without surprises.
//!
//! Each runbook and each step is read on its own, so that a mistake in one does not hide the
//! mistakes in the others. Defaults that depend on the rest of the file (a copy's `drill_to`, an
//! import's `restore` and `drill_database`) are filled in here.

use super::error::Problems;
use super::fields::{choice, duration, duration_value, list, table_in, word};
use super::load::Draft;
use super::raw::RawRestore;
use super::values::{Loose, TableOf};
use super::{DrpSettings, UrlTest};
use crate::backup::model::Dataset;
use crate::drp::model::{HostPath, KINDS, Runbook, Runbooks, Step, StepKind};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_spanned::Spanned;
use std::collections::HashSet;
use std::ops::Range as Span;
use std::time::Duration;
use toml::de::DeValue;

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

/// An exec step fails after this long unless it says otherwise.
const DEFAULT_EXEC_TIMEOUT: Duration = HOUR;
const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// One `[[runbooks.NAME.steps]]` entry as written: every kind's fields, each checked against
/// the step's kind afterwards (so that a field of another kind is named as such).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    kind: Spanned<Loose>,
    title: Spanned<String>,
    ask: Option<Spanned<String>>,
    host: Option<Spanned<String>>,
    command: Option<Spanned<String>>,
    verify: Option<Spanned<String>>,
    timeout: Option<Spanned<Loose>>,
    from: Option<Spanned<String>>,
    to: Option<Spanned<String>>,
    estimate: Option<Spanned<Loose>>,
    drill_to: Option<Spanned<String>>,
    restore: Option<Spanned<TableOf<RawRestore>>>,
    drill_database: Option<Spanned<String>>,
    body: Option<Spanned<String>>,
    target: Option<Spanned<String>>,
    check: Option<Spanned<String>>,
}

/// `[runbooks.NAME]`: only `steps`, taken out before and read on its own.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRunbook {
    #[allow(dead_code)] // always None: taken out before
    steps: Option<IgnoredAny>,
}

/// What the runbooks may refer to in the rest of the file.
pub(super) struct Context<'a> {
    pub(super) hosts: &'a [Draft],
    /// `[[hosts]]` entries too broken to read (already reported): not reported again.
    pub(super) unreadable: &'a HashSet<String>,
    pub(super) datasets: &'a [Dataset],
    pub(super) urls: &'a [UrlTest],
    /// `[drp]`, when it loaded.
    pub(super) drp: Option<&'a DrpSettings>,
    /// Whether the file has `[drp]`, `[dns]` and `[ticket]` at all (a broken one is reported
    /// by its own section).
    pub(super) drp_given: bool,
    pub(super) dns_given: bool,
    pub(super) ticket_given: bool,
}

impl Context<'_> {
    fn names(&self) -> Vec<&str> {
        self.hosts.iter().map(|d| d.name.as_str()).collect()
    }

    fn drp_name(&self) -> &str {
        self.drp.map_or("drp", |d| d.drp.as_str())
    }
}

/// The `runbooks` value of the file (its key at `key`) → the runbooks, in file order.
pub(super) fn check_runbooks(
    key: Span<usize>,
    v: Spanned<DeValue>,
    cx: &Context,
    p: &mut Problems,
) -> Runbooks {
    let span = v.span();
    let DeValue::Table(table) = v.into_inner() else {
        p.at(
            span,
            "`runbooks` must be a table of runbooks: write [[runbooks.activate.steps]] for each \
             step of the runbook `activate`",
        );
        return Runbooks::default();
    };
    if cx.drp.is_none() && !cx.drp_given && !table.is_empty() {
        p.at(
            key,
            "runbooks need a [drp] section: `production` and `drp` name the two sites they \
             move between",
        );
    }
    let mut out = Runbooks::default();
    for (name, value) in table {
        let name_span = name.span();
        let name = name.get_ref().to_string();
        if name_ok(&name, name_span.clone(), p)
            && let Some(runbook) = check_runbook(&name, name_span, value, cx, p)
        {
            out.list.push(runbook);
        }
    }
    out
}

/// A runbook's name is part of paths (drill targets) and of the command line.
fn name_ok(name: &str, at: Span<usize>, p: &mut Problems) -> bool {
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    if !ok {
        p.at(
            at,
            format!(
                "invalid runbook name {name:?}: expected ASCII letters, digits, `_` and `-`, not \
                 starting with `-` (it is typed on the command line: vigie drp run NAME)"
            ),
        );
    }
    ok
}

fn check_runbook(
    name: &str,
    name_span: Span<usize>,
    mut v: Spanned<DeValue>,
    cx: &Context,
    p: &mut Problems,
) -> Option<Runbook> {
    let span = v.span();
    let steps = match v.get_mut() {
        DeValue::Table(t) => t.remove("steps"),
        other => {
            p.at(
                span,
                format!(
                    "runbook `{name}` must be a table, found {}: write each step as \
                     [[runbooks.{name}.steps]]",
                    other.type_str()
                ),
            );
            return None;
        }
    };
    let place = format!("[runbooks.{name}]");
    table_in::<RawRunbook>(v, &place, Some(&place), p)?;
    let no_steps = || {
        format!(
            "runbook `{name}` has no steps: expected at least one [[runbooks.{name}.steps]] \
             entry (kind, title, …)"
        )
    };
    let Some(steps) = steps else {
        p.at(name_span, no_steps());
        return None;
    };
    let steps_span = steps.span();
    let items = match steps.into_inner() {
        DeValue::Array(items) if items.is_empty() => {
            p.at(steps_span, no_steps());
            return None;
        }
        DeValue::Array(items) => items,
        other => {
            p.at(
                steps_span,
                format!(
                    "`steps` of runbook `{name}` must be an array of tables, found {}: write \
                     each step as [[runbooks.{name}.steps]]",
                    other.type_str()
                ),
            );
            return None;
        }
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let number = i + 1;
        let at = item.span();
        let place = format!("step {number} of runbook `{name}`");
        if !item.get_ref().is_table() {
            p.at(
                at,
                format!(
                    "{place}: expected a table, found {}: write each step as \
                     [[runbooks.{name}.steps]]",
                    item.get_ref().type_str()
                ),
            );
            continue;
        }
        let what = format!("[[runbooks.{name}.steps]]");
        let Some(raw) = table_in::<RawStep>(item, &what, Some(&place), p) else {
            continue;
        };
        if let Some(step) = check_step(raw, name, number, &place, cx, p) {
            out.push(step);
        }
    }
    Some(Runbook {
        name: name.to_string(),
        steps: out,
    })
}

/// Which kinds each optional field belongs to.
const FIELD_KINDS: [(&str, &[&str]); 14] = [
    ("ask", &["confirm"]),
    ("host", &["exec", "wait"]),
    ("command", &["exec"]),
    ("verify", &["exec", "db_import"]),
    ("timeout", &["exec", "wait"]),
    ("from", &["copy", "db_import"]),
    ("to", &["copy", "db_import"]),
    ("estimate", &["copy"]),
    ("drill_to", &["copy"]),
    ("restore", &["db_import"]),
    ("drill_database", &["db_import"]),
    ("body", &["ticket"]),
    ("target", &["dns"]),
    ("check", &["wait"]),
];

/// The span of each optional field that is set.
fn given(raw: &RawStep) -> Vec<(&'static str, Span<usize>)> {
    fn s<T>(v: &Option<Spanned<T>>) -> Option<Span<usize>> {
        v.as_ref().map(Spanned::span)
    }
    let spans = [
        s(&raw.ask),
        s(&raw.host),
        s(&raw.command),
        s(&raw.verify),
        s(&raw.timeout),
        s(&raw.from),
        s(&raw.to),
        s(&raw.estimate),
        s(&raw.drill_to),
        s(&raw.restore),
        s(&raw.drill_database),
        s(&raw.body),
        s(&raw.target),
        s(&raw.check),
    ];
    FIELD_KINDS
        .iter()
        .zip(spans)
        .filter_map(|((field, _), span)| span.map(|s| (*field, s)))
        .collect()
}

fn check_step(
    raw: RawStep,
    runbook: &str,
    number: usize,
    place: &str,
    cx: &Context,
    p: &mut Problems,
) -> Option<Step> {
    let kind = choice(&raw.kind, "step kind", &KINDS, p).map(|i| KINDS[i]);
    let title_ok = text(&raw.title, "title", false, p);
    if title_ok && raw.title.get_ref().chars().count() > 200 {
        p.at(
            raw.title.span(),
            "`title` is longer than 200 characters: keep it to one line",
        );
    }
    if title_ok && kind == Some("ticket") {
        placeholders(&raw.title, "title", p);
    }
    let kind = kind?;
    for (field, span) in given(&raw) {
        let owners = FIELD_KINDS
            .iter()
            .find(|(f, _)| *f == field)
            .map_or(&[][..], |(_, k)| *k);
        if !owners.contains(&kind) {
            p.at(
                span,
                format!(
                    "`{field}` is not a field of a `{kind}` step ({place}): it belongs to {} \
                     steps",
                    list(owners.iter().copied())
                ),
            );
        }
    }
    let kind_at = raw.kind.span();
    let need = |field: &str, v: &Option<Spanned<String>>, what: &str, p: &mut Problems| {
        if v.is_none() {
            p.at(
                kind_at.clone(),
                format!("missing field `{field}` in {place}: `{kind}` steps need {what}"),
            );
        }
    };
    let kind = match kind {
        "confirm" => {
            need(
                "ask",
                &raw.ask,
                "what the operator types, e.g. ask = \"order reference\"",
                p,
            );
            let ask = raw.ask?;
            text(&ask, "ask", false, p).then_some(())?;
            StepKind::Confirm {
                ask: ask.into_inner(),
            }
        }
        "exec" => {
            need("host", &raw.host, "the [[hosts]] name it runs on", p);
            need(
                "command",
                &raw.command,
                "the command to run, e.g. command = \"…\"",
                p,
            );
            let host = raw.host.as_ref().map(|h| host_ref(h, "host", cx, p));
            let command = raw.command.as_ref().map(|c| text(c, "command", true, p));
            let verify_ok = raw
                .verify
                .as_ref()
                .is_none_or(|v| text(v, "verify", true, p));
            let timeout = duration(
                &raw.timeout,
                "timeout",
                DEFAULT_EXEC_TIMEOUT,
                (Duration::from_secs(1), 2 * DAY),
                p,
            );
            if !(host? && command? && verify_ok) {
                return None;
            }
            StepKind::Exec {
                host: raw.host?.into_inner(),
                command: raw.command?.into_inner(),
                verify: raw.verify.map(Spanned::into_inner),
                timeout,
            }
        }
        "copy" => {
            need(
                "from",
                &raw.from,
                "a source: \"newest:DATASET\" or \"HOST:/path/\"",
                p,
            );
            need("to", &raw.to, "a target: \"HOST:/path/\"", p);
            let from = raw.from.as_ref().and_then(|f| source(f, false, cx, p));
            let to = raw.to.as_ref().and_then(|t| target(t, "to", cx, p));
            let estimate = raw
                .estimate
                .as_ref()
                .and_then(|e| duration_value(e, "estimate", (MINUTE, 7 * DAY), p));
            let drill_to = match &raw.drill_to {
                Some(v) => target(v, "drill_to", cx, p)
                    .filter(|d| drill_target_ok(d, v.span(), to.as_ref(), cx, p)),
                None => Some(HostPath {
                    host: cx.drp_name().to_string(),
                    path: format!("/var/tmp/vigie-drill/{runbook}/{number}/"),
                }),
            };
            StepKind::Copy {
                from: from?,
                to: to?,
                estimate,
                drill_to: drill_to?,
            }
        }
        "db_import" => {
            need(
                "from",
                &raw.from,
                "a dump: \"newest:DATASET\" or \"HOST:/path/file.dump\"",
                p,
            );
            need(
                "to",
                &raw.to,
                "the [[hosts]] name of the host the database is restored on",
                p,
            );
            need(
                "verify",
                &raw.verify,
                "an SQL query run on the restored database",
                p,
            );
            let from = raw.from.as_ref().and_then(|f| source(f, true, cx, p));
            let to_ok = raw.to.as_ref().map(|t| host_ref(t, "to", cx, p));
            let verify_ok = raw.verify.as_ref().map(|v| text(v, "verify", true, p));
            let restore = db_restore(&raw, from.as_ref(), cx, p);
            let drill_database = match (&raw.drill_database, &restore) {
                (Some(d), Some(r)) => {
                    if !word(d, "drill_database", p) {
                        None
                    } else if d.get_ref() == &r.database {
                        p.at(
                            d.span(),
                            format!(
                                "`drill_database` must differ from the database `{}`: a drill \
                                 never touches the real one",
                                r.database
                            ),
                        );
                        None
                    } else if !d.get_ref().ends_with("_drill") {
                        // A drill drops its previous drill database first: only names that say
                        // they are scratch may be dropped (src/drp/db_import.rs refuses others).
                        p.at(
                            d.span(),
                            format!(
                                "`drill_database` {:?} must end in `_drill`: a drill replaces the \
                                 previous drill's database, and only such names are ever dropped",
                                d.get_ref()
                            ),
                        );
                        None
                    } else {
                        Some(d.get_ref().clone())
                    }
                }
                (None, Some(r)) => Some(format!("{}_drill", r.database)),
                (_, None) => None,
            };
            if !(to_ok? && verify_ok?) {
                return None;
            }
            StepKind::DbImport {
                from: from?,
                to: raw.to?.into_inner(),
                restore: restore?,
                verify: raw.verify?.into_inner(),
                drill_database: drill_database?,
            }
        }
        "ticket" => {
            need(
                "body",
                &raw.body,
                "the ticket's text, e.g. body = \"The DRP of {{site}} …\"",
                p,
            );
            if !cx.ticket_given {
                p.at(
                    kind_at.clone(),
                    format!(
                        "{place} is a `ticket` step, but the file has no [ticket] section \
                         (url, token_file, template) to send it with"
                    ),
                );
            }
            let body = raw.body?;
            (text(&body, "body", true, p) && placeholders(&body, "body", p)).then_some(())?;
            StepKind::Ticket {
                body: body.into_inner(),
            }
        }
        "dns" => {
            need(
                "target",
                &raw.target,
                "the host the record will point to, e.g. \"drp\"",
                p,
            );
            if !cx.dns_given {
                p.at(
                    kind_at.clone(),
                    format!(
                        "{place} is a `dns` step, but the file has no [dns] section (servers, \
                         zone, record, tsig_key_file) to send the update with"
                    ),
                );
            }
            let target = raw.target?;
            dns_target(&target, cx, p).then_some(())?;
            StepKind::Dns {
                target: target.into_inner(),
            }
        }
        _ => {
            need(
                "check",
                &raw.check,
                "a check id, e.g. check = \"app.url.site\"",
                p,
            );
            let host_ok = raw.host.as_ref().is_none_or(|h| host_ref(h, "host", cx, p));
            let timeout = duration(
                &raw.timeout,
                "timeout",
                DEFAULT_WAIT_TIMEOUT,
                (Duration::from_secs(1), DAY),
                p,
            );
            let check = raw.check?;
            (wait_check(&check, raw.host.as_ref(), cx, p) && host_ok).then_some(())?;
            StepKind::Wait {
                check: check.into_inner(),
                host: raw.host.map(Spanned::into_inner),
                timeout,
            }
        }
    };
    title_ok.then(|| Step {
        title: raw.title.into_inner(),
        kind,
    })
}

#[path = "runbooks_refs.rs"]
mod refs;
use refs::{
    db_restore, dns_target, drill_target_ok, host_ref, placeholders, source, target, text,
    wait_check,
};

#[cfg(test)]
#[path = "runbooks_tests.rs"]
mod tests;
