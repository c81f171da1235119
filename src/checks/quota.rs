//! Quota checks (SPEC §4): one per user with a limit, per filesystem, from `repquota`; kept
//! from the last time the slow sections ran.

use super::host::{
    ExecTiming, HostMemory, Remembered, duration, issue_check, recall, round1, size_kib,
};
use super::{Check, State};
use crate::probe::parse::quota::{Grace, Limits, QuotaReport};
use crate::probe::report::{ProbeReport, SectionIssue};

pub(super) fn quotas(
    report: &ProbeReport,
    timing: &ExecTiming,
    memory: &mut HostMemory,
) -> Vec<Check> {
    let checks = match &report.quota {
        Err(SectionIssue::NotRun) => return recall(&memory.last_quota, timing),
        Err(issue) => issue_check("system.quota", "repquota", issue)
            .into_iter()
            .collect(),
        Ok(reports) => {
            // Grace ends are remote times: compare them with the remote clock.
            let now = report
                .clock
                .as_ref()
                .map(|c| c.epoch_s)
                .unwrap_or_else(|_| timing.now_s());
            quota_checks(reports, report, now)
        }
    };
    memory.last_quota = Some(Remembered {
        at: timing.first_byte,
        checks: checks.clone(),
    });
    checks
}

/// The mount point of a quota device, from df; the device itself when df does not list it.
fn mount_of<'a>(device: &'a str, report: &'a ProbeReport) -> &'a str {
    report
        .df
        .as_ref()
        .ok()
        .and_then(|l| l.iter().find(|f| f.source == device))
        .map(|f| f.mount.as_str())
        .unwrap_or(device)
}

fn quota_checks(reports: &[QuotaReport], report: &ProbeReport, now: f64) -> Vec<Check> {
    let mut out = Vec::new();
    for r in reports {
        let fs = mount_of(&r.device, report);
        for u in &r.users {
            if !u.blocks.limited() && !u.files.limited() {
                continue;
            }
            let mut state = State::Ok;
            let mut parts = Vec::new();
            for (limits, what, blocks) in [(&u.blocks, "space", true), (&u.files, "files", false)] {
                if !limits.limited() {
                    continue;
                }
                let (s, text) = resource(limits, what, blocks, now);
                state = state.worst(s);
                parts.push(text);
            }
            let base = if u.blocks.limited() {
                &u.blocks
            } else {
                &u.files
            };
            let limit = if base.soft > 0 { base.soft } else { base.hard };
            let pct = round1(base.used as f64 / limit.max(1) as f64 * 100.0);
            out.push(
                Check::new(
                    format!("system.quota.{fs}.{}", u.user),
                    state,
                    parts.join("; "),
                )
                .with_value(pct, "%"),
            );
        }
    }
    out
}

fn resource(l: &Limits, what: &str, blocks: bool, now: f64) -> (State, String) {
    // File counts exactly: "10234 (soft 10000)" says more than "10 k (soft 10 k)".
    let amount = |n: u64| if blocks { size_kib(n) } else { n.to_string() };
    let limits = match (l.soft, l.hard) {
        (0, h) => format!("hard {}", amount(h)),
        (s, 0) => format!("soft {}", amount(s)),
        (s, h) => format!("soft {}, hard {}", amount(s), amount(h)),
    };
    let used = amount(l.used);
    if l.at_hard() {
        return (
            State::Crit,
            format!("{what} at hard limit: {used} ({limits})"),
        );
    }
    if l.grace_expired(Some(now)) {
        return (
            State::Crit,
            format!("{what} over soft limit, grace expired: {used} ({limits})"),
        );
    }
    if l.over_soft() {
        let grace = match &l.grace {
            Grace::Until(t) => format!(", grace ends in {}", duration(*t as f64 - now)),
            Grace::Text(g) => format!(", grace {g}"),
            Grace::None => String::new(),
        };
        let by = l.used.saturating_sub(l.soft);
        let by = if blocks { size_kib(by) } else { by.to_string() };
        return (
            State::Warn,
            format!("{what} over soft limit by {by}: {used} ({limits}){grace}"),
        );
    }
    (State::Ok, format!("{what} {used} ({limits})"))
}

#[cfg(test)]
#[path = "quota_tests.rs"]
mod tests;
