//! `vigie check`: a readable table, worst hosts first, the reason of every non-OK check.

use super::SiteReport;
use crate::checks::State;
use std::fmt::Write;

pub fn render(report: &SiteReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}  {}  {}",
        report.site,
        report.state,
        report.generated_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    );
    let name_w = report
        .hosts
        .iter()
        .map(|h| h.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let dc_w = report
        .hosts
        .iter()
        .map(|h| h.datacenter.len())
        .max()
        .unwrap_or(2)
        .max(2);
    let mut hosts: Vec<_> = report.hosts.iter().collect();
    hosts.sort_by_key(|h| std::cmp::Reverse(h.state.severity()));
    for h in hosts {
        let ok = h.checks.iter().filter(|c| c.state == State::Ok).count();
        let age = h
            .reading_age_s
            .map(|a| format!("{a:.0}s ago"))
            .unwrap_or_else(|| "never".into());
        let _ = writeln!(
            out,
            "{:<7} {:<name_w$}  {:<10}  {:<dc_w$}  {ok}/{} OK  reading {age}{}",
            h.state.word(),
            h.name,
            h.role,
            h.datacenter,
            h.checks.len(),
            if h.host_key_alert {
                "  HOST KEY ALERT"
            } else {
                ""
            },
        );
        let mut bad: Vec<_> = h.checks.iter().filter(|c| c.state != State::Ok).collect();
        bad.sort_by_key(|c| std::cmp::Reverse(c.state.severity()));
        for c in bad {
            let _ = writeln!(out, "        {:<7} {}  {}", c.state.word(), c.id, c.summary);
        }
    }
    for d in &report.datasets {
        let window = d
            .checks
            .iter()
            .find(|c| c.id.ends_with(".loss_window"))
            .map_or("", |c| c.summary.as_str());
        let _ = writeln!(
            out,
            "{:<7} dataset {}  loss window {window}",
            d.state.word(),
            d.name
        );
        let mut bad: Vec<_> = d.checks.iter().filter(|c| c.state != State::Ok).collect();
        bad.sort_by_key(|c| std::cmp::Reverse(c.state.severity()));
        for c in bad {
            let _ = writeln!(out, "        {:<7} {}  {}", c.state.word(), c.id, c.summary);
        }
    }
    // URL tests and blocklists: every one, worst first (they are few, and an OK URL test's
    // time is worth reading).
    let mut site: Vec<_> = report.checks.iter().collect();
    site.sort_by_key(|c| std::cmp::Reverse(c.state.severity()));
    for c in site {
        let _ = writeln!(out, "{:<7} {}  {}", c.state.word(), c.id, c.summary);
    }
    if let Some(console) = &report.console {
        let figures: Vec<_> = console.checks.iter().map(|c| c.summary.as_str()).collect();
        let _ = writeln!(
            out,
            "jump host {} {}: {}",
            console.name,
            console.state,
            figures.join(", ")
        );
    }
    out
}
