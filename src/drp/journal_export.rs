//! The journal as the customer's report: JSON (an array of the events, as written) and CSV
//! (one row per event, RFC 4180, safe to open in a spreadsheet).

use super::Event;
use serde_json::Value;

/// Every event, as one JSON array (unknown fields of newer versions included).
pub fn export_json(events: &[Event]) -> String {
    serde_json::to_string_pretty(events).unwrap_or_else(|_| "[]".into())
}

/// Extra fields with a column of their own; the others go, as JSON, to `extra` (but the
/// journaled plan, which the JSON export has).
const EXTRA_COLUMNS: [&str; 5] = ["ticket_id", "captured_at", "dns_ttl", "reason", "acks"];

const HEADER: [&str; 28] = [
    "at",
    "run",
    "event",
    "runbook",
    "plan_hash",
    "mode",
    "user",
    "sudo_user",
    "ssh_client",
    "jump_host",
    "order",
    "step",
    "kind",
    "title",
    "hosts",
    "source",
    "target",
    "state",
    "started_at",
    "ended_at",
    "exit_code",
    "verification",
    "active_site",
    "ticket_id",
    "captured_at",
    "dns_ttl",
    "reason",
    "acks",
];

/// One row per event (step events and the runs' start and end), with a header; RFC 4180
/// (CRLF, quoted when needed), and no cell a spreadsheet would take for a formula.
pub fn export_csv(events: &[Event]) -> String {
    let mut out = String::new();
    let header: Vec<String> = HEADER.iter().chain(&["extra"]).map(|h| cell(h)).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for e in events {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        let time = |t: Option<jiff::Timestamp>| t.map(|t| t.to_string()).unwrap_or_default();
        let event = serde_json::to_value(e.event)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let mut row: Vec<String> = vec![
            e.at.to_string(),
            e.run.clone(),
            event,
            e.runbook.clone(),
            e.plan_hash.clone(),
            e.mode.word().to_string(),
            opt(&e.operator.user),
            opt(&e.operator.sudo_user),
            opt(&e.operator.ssh_client),
            opt(&e.operator.jump_host),
            opt(&e.order),
            e.step.map(|n| n.to_string()).unwrap_or_default(),
            opt(&e.kind),
            opt(&e.title),
            e.hosts.join(" "),
            opt(&e.source),
            opt(&e.target),
            e.state.word().to_string(),
            time(e.started_at),
            time(e.ended_at),
            e.exit_code.map(|c| c.to_string()).unwrap_or_default(),
            opt(&e.verification),
            e.active_site
                .map(|a| a.word().to_string())
                .unwrap_or_default(),
        ];
        for key in EXTRA_COLUMNS {
            row.push(e.extra.get(key).map(plain).unwrap_or_default());
        }
        let rest: serde_json::Map<String, Value> = e
            .extra
            .iter()
            .filter(|(k, _)| k.as_str() != "plan" && !EXTRA_COLUMNS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        row.push(if rest.is_empty() {
            String::new()
        } else {
            Value::Object(rest).to_string()
        });
        let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// A value as a cell: strings as they are, anything else as JSON.
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One RFC 4180 cell. A cell starting with `=`, `+`, `-`, `@` (or a tab or carriage return)
/// gets a leading `'`, so that a spreadsheet shows it as text instead of running it as a
/// formula (a title or a remote message could hold one).
pub(super) fn cell(s: &str) -> String {
    let guarded = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}
