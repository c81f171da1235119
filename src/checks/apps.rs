//! `app.service.<name>`: each configured application running and answering its own health
//! probe (SPEC §4), from the `svc.<name>` sections of the probe (src/probe/apps.sh).
//!
//! Running means an active systemd unit of the service or a live process of it. Not running
//! is CRIT whatever the health probe said (another server may answer on the same port: nginx
//! on 80 for a stopped Apache), unless the process list is hidden from the probe's user
//! (hidepid), where only the answer can tell. Running but not answering is CRIT; a degraded
//! answer (Elasticsearch yellow, a long mail queue) WARN; a probe that cannot tell (its tool
//! missing, no right to ask) UNKNOWN.

use super::host::unknown;
use super::{Check, State};
use crate::config::HostConfig;
use crate::probe::parse::apps::db::{self, MysqlPing, PgReady};
use crate::probe::parse::apps::elasticsearch::{self as es, EsReply, EsStatus};
use crate::probe::parse::apps::ftp::{self, FtpReply};
use crate::probe::parse::apps::http::{self, HttpAnswer};
use crate::probe::parse::apps::mail::{self, PostfixStatus, Queue};
use crate::probe::parse::apps::varnish::{self, VarnishPing};
use crate::probe::parse::apps::{self as svc, SvcSection, Unit};
use crate::probe::report::ProbeReport;

/// A mail queue (Postfix, qmail) of this many messages or more is WARN: mail is piling up
/// (a destination down, a spam run) but still flows.
pub const QUEUE_WARN: u64 = 100;
/// … and CRIT from this many: at that size, delivery has stopped or the host sends spam.
pub const QUEUE_CRIT: u64 = 1000;

/// The checks of one host's probe report: one per configured service, in configuration order.
pub fn evaluate(host: &HostConfig, report: &ProbeReport) -> Vec<Check> {
    host.services.iter().map(|s| service(s, report)).collect()
}

/// What the health probe found.
#[derive(Debug, Clone, PartialEq)]
enum Health {
    /// It answered: the state the answer deserves, and what to say.
    Answered(State, String),
    /// Nothing answered: why ("connection refused").
    Silent(String),
    /// The probe could not tell: why ("pg_isready not installed").
    Unknown(String),
}

/// A value for the check (`vigie check --json`), when the answer has one.
type Value = Option<(f64, &'static str)>;

/// The check of one service.
pub fn service(name: &str, report: &ProbeReport) -> Check {
    let id = format!("app.service.{name}");
    let section = match report.section(&format!("svc.{name}")) {
        Ok(s) => s,
        Err(issue) => return unknown(&id, name, &issue),
    };
    let s = match svc::parse(&section.body) {
        Ok(s) => s,
        Err(e) => return Check::unknown(id, format!("{name}: unexpected output: {e}")),
    };
    let (health, value) = match name {
        "apache" => http_page(&s, "apache", |a| {
            let st = http::server_status(&a.body)?;
            let n = |v: Option<u64>| v.map_or("?".into(), |v| v.to_string());
            let summary = format!(
                "apache answers, {} busy / {} idle workers",
                n(st.busy),
                n(st.idle)
            );
            Some((summary, st.busy.map(|b| (b as f64, "workers"))))
        }),
        "nginx" => http_page(&s, "nginx", |a| {
            let st = http::stub_status(&a.body)?;
            let summary = format!(
                "nginx answers, {}",
                plural(st.active, "active connection", "active connections")
            );
            Some((summary, Some((st.active as f64, "connections"))))
        }),
        "tomcat" => http_page(&s, "tomcat", |_| None),
        "elasticsearch" => elasticsearch(&s),
        "varnish" => varnish(&s),
        "mysql" => (mysql(&s), None),
        "postgresql" => (postgresql(&s), None),
        "ftp" => (ftp(&s), None),
        "postfix" => postfix(&s),
        "qmail" => qmail(&s),
        _ => (Health::Unknown(format!("no probe for {name}")), None),
    };
    let (state, summary) = verdict(&s, process_word(name), health);
    let check = Check::new(id, state, summary);
    match value {
        Some((v, unit)) => check.with_value(v, unit),
        None => check,
    }
}

/// The process apps.sh looks for, as an operator would name it.
fn process_word(name: &str) -> &'static str {
    match name {
        "apache" => "apache2 or httpd process",
        "nginx" => "nginx process",
        "tomcat" => "Tomcat (java) process",
        "elasticsearch" => "Elasticsearch (java) process",
        "varnish" => "varnishd process",
        "mysql" => "mysqld or mariadbd process",
        "postgresql" => "postgres process",
        "ftp" => "vsftpd, proftpd or pure-ftpd process",
        "postfix" => "Postfix master process",
        "qmail" => "qmail-send process",
        _ => "process",
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Running, not running, or the process list is hidden: then with what the probe found.
fn verdict(s: &SvcSection, process: &str, health: Health) -> (State, String) {
    let running = s.units.iter().any(Unit::running) || s.process_count() > 0;
    if !running && s.pid1_visible != Some(false) {
        // A failed or stopped unit says more than a missing process.
        let unit = s
            .units
            .iter()
            .find(|u| u.active == "failed")
            .or_else(|| s.units.iter().find(|u| u.active != "active"));
        let why = match unit {
            Some(u) => format!("{} {}", u.name, u.active),
            None => format!("no {process}"),
        };
        return (State::Crit, format!("not running ({why})"));
    }
    match (health, running) {
        (Health::Answered(state, summary), _) => (state, summary),
        (Health::Silent(why), true) => (State::Crit, format!("running but not answering: {why}")),
        (Health::Silent(why), false) => (State::Crit, format!("not answering: {why}")),
        (Health::Unknown(why), true) => (State::Unknown, format!("running; {why}")),
        (Health::Unknown(why), false) => (
            State::Unknown,
            format!("{why}; processes are hidden from the probe's user"),
        ),
    }
}

/// Why no probe ran (apps.sh's `@@none`), else `default`.
fn missing(s: &SvcSection, default: &str) -> Health {
    Health::Unknown(s.missing.first().cloned().unwrap_or_else(|| default.into()))
}

/// The path of a probe's URL, for the summary: "/", "/nginx_status".
fn path(url: Option<&String>) -> String {
    let url = url.map_or("", String::as_str);
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    match rest.find('/') {
        Some(i) => rest.get(i..).unwrap_or("/").to_string(),
        None => "/".into(),
    }
}

/// A status page (`read` gives its summary), else any HTTP answer: 5xx is CRIT, anything
/// else proves the server answers.
fn http_page(
    s: &SvcSection,
    label: &str,
    read: impl Fn(&HttpAnswer) -> Option<(String, Value)>,
) -> (Health, Value) {
    let probes: Vec<_> = s.probes_of("http").collect();
    let answers: Vec<HttpAnswer> = probes.iter().map(|p| http::answer(p)).collect();
    if let Some(first) = answers.first()
        && first.code == Some(200)
        && let Some((summary, value)) = read(first)
    {
        return (Health::Answered(State::Ok, summary), value);
    }
    let (Some(a), Some(p)) = (answers.last(), probes.last()) else {
        return (missing(s, "no HTTP request was made"), None);
    };
    let on = path(p.args.get(1));
    let health = match a.code {
        Some(c) if c >= 500 => {
            Health::Answered(State::Crit, format!("{label} answers HTTP {c} on {on}"))
        }
        Some(c) => Health::Answered(State::Ok, format!("{label} answers (HTTP {c} on {on})")),
        None => Health::Silent(a.error.clone().unwrap_or_else(|| "no answer".into())),
    };
    (health, None)
}

fn elasticsearch(s: &SvcSection) -> (Health, Value) {
    let Some(p) = s.probes_of("http").last() else {
        return (missing(s, "no HTTP request was made"), None);
    };
    let a = http::answer(p);
    let Some(code) = a.code else {
        return (
            Health::Silent(a.error.unwrap_or_else(|| "no answer".into())),
            None,
        );
    };
    if code == 401 || code == 403 {
        return (
            Health::Unknown(format!(
                "answers, but its cluster health needs credentials (HTTP {code})"
            )),
            None,
        );
    }
    match (code, es::parse(&a.body.join("\n"))) {
        (200, Ok(EsReply::Health(h))) => {
            let cluster = h.cluster.as_deref().unwrap_or("?");
            let shards = h
                .unassigned
                .map(|n| plural(n, "unassigned shard", "unassigned shards"))
                .unwrap_or_else(|| "unassigned shards unknown".into());
            let value = h.unassigned.map(|n| (n as f64, "shards"));
            let health = match h.status {
                EsStatus::Green => {
                    let nodes = h.nodes.map(|n| format!(", {}", plural(n, "node", "nodes")));
                    Health::Answered(
                        State::Ok,
                        format!("cluster {cluster} green{}", nodes.unwrap_or_default()),
                    )
                }
                EsStatus::Yellow => {
                    Health::Answered(State::Warn, format!("cluster {cluster} yellow: {shards}"))
                }
                EsStatus::Red => {
                    Health::Answered(State::Crit, format!("cluster {cluster} red: {shards}"))
                }
                EsStatus::Other(other) => Health::Unknown(format!(
                    "cluster {cluster} in an unknown status \"{other}\""
                )),
            };
            (health, value)
        }
        (200, _) => (
            Health::Unknown("HTTP 200, but no cluster health in the answer".into()),
            None,
        ),
        (_, Ok(EsReply::Error { kind, .. })) => (
            Health::Answered(State::Crit, format!("HTTP {code}: {kind}")),
            None,
        ),
        (_, _) => (
            Health::Answered(State::Crit, format!("HTTP {code} on /_cluster/health")),
            None,
        ),
    }
}

fn varnish(s: &SvcSection) -> (Health, Value) {
    let Some(p) = s.probes_of("varnishadm").next() else {
        return (missing(s, "varnishadm did not run"), None);
    };
    match varnish::ping(p) {
        VarnishPing::Pong => {
            let stats = s.probes_of("varnishstat").next().map(varnish::stats);
            match stats.and_then(|st| st.hit_ratio()) {
                Some(r) => (
                    Health::Answered(State::Ok, format!("PONG, cache hit ratio {r:.0}%")),
                    Some((r, "%")),
                ),
                None => (Health::Answered(State::Ok, "PONG".into()), None),
            }
        }
        VarnishPing::Failed(why) if p.timed_out() => (Health::Silent(why), None),
        // varnishadm needs the secret and the work directory (root, or the varnish group):
        // without them it cannot tell a running varnishd from a stopped one.
        VarnishPing::Failed(why) => (Health::Unknown(format!("varnishadm: {why}")), None),
    }
}

fn mysql(s: &SvcSection) -> Health {
    let Some(p) = s.probes_of("mysqladmin").next() else {
        return missing(s, "mysqladmin did not run");
    };
    match db::mysqladmin(p) {
        MysqlPing::Alive => Health::Answered(State::Ok, "mysqld is alive".into()),
        // mysqladmin's own rule: a server that refuses the user is alive.
        MysqlPing::Denied(_) => Health::Answered(
            State::Ok,
            "server answers (access denied to the probe's user)".into(),
        ),
        MysqlPing::Down(why) => Health::Silent(why),
    }
}

fn postgresql(s: &SvcSection) -> Health {
    let Some(p) = s.probes_of("pg_isready").next() else {
        return missing(s, "pg_isready did not run");
    };
    match db::pg_isready(p) {
        PgReady::Accepting => Health::Answered(State::Ok, "accepting connections".into()),
        PgReady::Rejecting => Health::Answered(
            State::Crit,
            "rejecting connections (starting, stopping or recovering)".into(),
        ),
        PgReady::NoResponse => Health::Silent("no response".into()),
        PgReady::NoAttempt => {
            Health::Unknown("pg_isready made no attempt (bad connection parameters)".into())
        }
        PgReady::Other(what) => Health::Unknown(format!("pg_isready: {what}")),
    }
}

fn ftp(s: &SvcSection) -> Health {
    let Some(p) = s.probes.iter().find(|p| p.kind.starts_with("ftp-")) else {
        return missing(s, "no greeting was read");
    };
    match ftp::greeting(p) {
        FtpReply::Greeting(g) => {
            let summary = format!("{} {}", g.code, g.text).trim().to_string();
            // 220 is "ready"; 421 turns clients away, 5xx is broken.
            let state = if g.code == 220 {
                State::Ok
            } else {
                State::Crit
            };
            Health::Answered(state, summary)
        }
        FtpReply::Failed(why) => Health::Silent(why),
    }
}

/// A queue's state and summary: "queue empty", "queue 150 messages (WARN from 100)".
fn queue(q: &Queue, extra: &str) -> Health {
    let n = q.messages;
    let (state, limit) = if n >= QUEUE_CRIT {
        (State::Crit, format!(" (CRIT from {QUEUE_CRIT})"))
    } else if n >= QUEUE_WARN {
        (State::Warn, format!(" (WARN from {QUEUE_WARN})"))
    } else {
        (State::Ok, String::new())
    };
    let size = if n == 0 {
        "queue empty".to_string()
    } else {
        format!("queue {}", plural(n, "message", "messages"))
    };
    Health::Answered(state, format!("{size}{extra}{limit}"))
}

fn postfix(s: &SvcSection) -> (Health, Value) {
    let status = s
        .probes_of("postfix-status")
        .next()
        .map(mail::postfix_status);
    if status == Some(PostfixStatus::NotRunning) {
        return (
            Health::Answered(State::Crit, "postfix status: not running".into()),
            None,
        );
    }
    let Some(p) = s.probes_of("postqueue").next() else {
        return (missing(s, "postqueue did not run"), None);
    };
    match mail::postqueue(p) {
        Ok(q) => (queue(&q, ""), Some((q.messages as f64, "messages"))),
        Err(why) => (Health::Unknown(format!("queue size unknown: {why}")), None),
    }
}

fn qmail(s: &SvcSection) -> (Health, Value) {
    let Some(p) = s.probes_of("qmail-qstat").next() else {
        return (missing(s, "qmail-qstat did not run"), None);
    };
    match mail::qmail_qstat(p) {
        Ok(q) => {
            let todo = match q.unprocessed {
                Some(n) if n > 0 => format!(", {n} not yet preprocessed"),
                _ => String::new(),
            };
            (queue(&q, &todo), Some((q.messages as f64, "messages")))
        }
        Err(why) => (Health::Unknown(why), None),
    }
}

#[cfg(test)]
#[path = "apps_tests.rs"]
mod tests;
