//! `repl.ceph`: `ceph status -f json`. The health is `health.status` since Luminous (12.x),
//! `health.overall_status` before; the checks are `health.checks` (Luminous) or the list
//! `health.summary` (before). The OSD map is nested one level deeper before Octopus (15.x).

use super::{ReplError, failure, last, parts};
use crate::probe::parse::{ParseError, clean};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// HEALTH_WARN, HEALTH_ERR.
    pub severity: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CephStatus {
    pub fsid: Option<String>,
    /// HEALTH_OK, HEALTH_WARN, HEALTH_ERR.
    pub health: String,
    /// Worst first.
    pub checks: Vec<HealthCheck>,
    /// OSDs: total, up, in.
    pub osds: Option<(u64, u64, u64)>,
    /// Placement groups: total, active+clean.
    pub pgs: Option<(u64, u64)>,
    /// Monitors in quorum, and known (when the map says).
    pub mons: Option<(u64, Option<u64>)>,
}

fn text(v: &Value, len: usize) -> Option<String> {
    v.as_str().map(|s| clean(s, len))
}

fn rank(severity: &str) -> u8 {
    match severity {
        "HEALTH_ERR" => 2,
        "HEALTH_WARN" => 1,
        _ => 0,
    }
}

/// A placement group with every copy in place: active and clean, maybe scrubbing or trimming
/// snapshots, or clean on other OSDs than planned (remapped). Not stale, degraded, undersized…
fn clean_state(state: &str) -> bool {
    let words: Vec<&str> = state.split('+').collect();
    words.contains(&"active")
        && words.contains(&"clean")
        && words.iter().all(|w| {
            matches!(
                *w,
                "active"
                    | "clean"
                    | "scrubbing"
                    | "deep"
                    | "snaptrim"
                    | "snaptrim_wait"
                    | "remapped"
            )
        })
}

fn from_json(v: &Value) -> Result<CephStatus, ReplError> {
    let health = v
        .get("health")
        .ok_or_else(|| ParseError::new("ceph status without health"))?;
    let status = health
        .get("status")
        .or_else(|| health.get("overall_status"))
        .and_then(|s| text(s, 20))
        .ok_or_else(|| ParseError::new("ceph health without status"))?;
    let mut checks: Vec<HealthCheck> = Vec::new();
    if let Some(map) = health.get("checks").and_then(Value::as_object) {
        for c in map.values() {
            checks.push(HealthCheck {
                severity: c
                    .get("severity")
                    .and_then(|s| text(s, 20))
                    .unwrap_or_default(),
                message: c
                    .pointer("/summary/message")
                    .and_then(|s| text(s, 120))
                    .unwrap_or_default(),
            });
        }
    } else if let Some(list) = health.get("summary").and_then(Value::as_array) {
        for c in list {
            checks.push(HealthCheck {
                severity: c
                    .get("severity")
                    .and_then(|s| text(s, 20))
                    .unwrap_or_default(),
                message: c
                    .get("summary")
                    .and_then(|s| text(s, 120))
                    .unwrap_or_default(),
            });
        }
    }
    // Luminous also fills the old list with a notice for old monitoring: not a problem.
    checks.retain(|c| !c.message.contains("JSON format has changed"));
    checks.sort_by_key(|c| std::cmp::Reverse(rank(&c.severity)));
    let osdmap = v
        .pointer("/osdmap/osdmap")
        .or_else(|| v.get("osdmap"))
        .filter(|m| m.get("num_osds").is_some());
    let num = |m: &Value, k: &str| m.get(k).and_then(Value::as_u64);
    let osds = osdmap.and_then(|m| {
        Some((
            num(m, "num_osds")?,
            num(m, "num_up_osds")?,
            num(m, "num_in_osds")?,
        ))
    });
    let pgs = v.get("pgmap").and_then(|p| {
        let total = num(p, "num_pgs")?;
        let clean: u64 = p
            .get("pgs_by_state")
            .and_then(Value::as_array)
            .map(|states| {
                states
                    .iter()
                    .filter(|s| {
                        s.get("state_name")
                            .and_then(Value::as_str)
                            .is_some_and(clean_state)
                    })
                    .filter_map(|s| s.get("count").and_then(Value::as_u64))
                    .fold(0, u64::saturating_add)
            })
            .unwrap_or(0);
        Some((total, clean))
    });
    let mons = v.get("quorum_names").and_then(Value::as_array).map(|q| {
        let known = v
            .pointer("/monmap/num_mons")
            .and_then(Value::as_u64)
            .or_else(|| {
                v.pointer("/monmap/mons")
                    .and_then(Value::as_array)
                    .map(|m| m.len() as u64)
            });
        (q.len() as u64, known)
    });
    Ok(CephStatus {
        fsid: v.get("fsid").and_then(|s| text(s, 40)),
        health: status,
        checks,
        osds,
        pgs,
        mons,
    })
}

pub fn parse(body: &str) -> Result<CephStatus, ReplError> {
    let parts = parts(body);
    let part = last(&parts, "status").ok_or_else(|| ParseError::new("no ceph status"))?;
    // The client may log lines to standard error before the JSON.
    let json = part
        .text
        .find('{')
        .and_then(|at| part.text.get(at..))
        .and_then(|t| {
            serde_json::Deserializer::from_str(t)
                .into_iter::<Value>()
                .next()?
                .ok()
        });
    match json {
        Some(v) if v.get("health").is_some() => from_json(&v),
        _ => {
            let t = part.text.to_ascii_lowercase();
            if t.contains("errno 110") || t.contains("rados timed out") {
                Err(ReplError::Down(format!(
                    "monitors unreachable ({})",
                    part.excerpt()
                )))
            } else if t.contains("errno 2]") || t.contains("conf_read_file") {
                Err(ReplError::Blind(format!(
                    "no readable ceph.conf or keyring ({})",
                    part.excerpt()
                )))
            } else if part.ok() {
                Err(ParseError::new("ceph status: no JSON with a health").into())
            } else {
                Err(failure("ceph status", part))
            }
        }
    }
}

#[cfg(test)]
#[path = "ceph_tests.rs"]
mod tests;
