//! What `vigie drp plan` prints: every step numbered with its kind, title, hosts (with their
//! datacenters), exact commands, resolved source and target; the direction and the data-loss
//! window the run implies. Every text from the configuration or a server is sanitised.

use crate::backup::evaluate::{human, when};
use crate::drp::model::{Action, BackupPick, Endpoint, HostRef, Mode, Plan, Resolved};
use crate::text::sanitize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Indentation of a step's details, under its title.
const IN: &str = "       ";

impl Plan {
    pub fn render_text(&self) -> String {
        let tz = jiff::tz::TimeZone::get(&self.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        let now = self.resolved_at;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "DRP plan: runbook {}, mode {}",
            sanitize(&self.runbook),
            self.mode.word().to_uppercase()
        );
        let _ = writeln!(o, "  {}", mode_line(self));
        let _ = writeln!(
            o,
            "Site {} · resolved {} ({}) · plan {}",
            sanitize(&self.site),
            self.resolved_at
                .to_zoned_datetime(tz.clone())
                .strftime("%Y-%m-%d %H:%M"),
            self.timezone,
            self.hash().get(..16).unwrap_or("")
        );
        let list = |hosts: &[HostRef]| {
            if hosts.is_empty() {
                "nothing".to_string()
            } else {
                hosts
                    .iter()
                    .map(|h| sanitize(&h.to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let _ = writeln!(o, "FROM {} → TO {}", list(&self.from), list(&self.to));
        match (self.loss_window_s, self.user_data()) {
            (Some(w), Some(b)) => {
                // The other datasets lose their own window: said on the same line.
                let others: String = self
                    .backups
                    .iter()
                    .filter(|o| o.dataset != b.dataset)
                    .map(|o| {
                        let age = now.as_second() - o.captured_at.as_second();
                        format!("; {}: {}", sanitize(&o.dataset), human(age.max(0) as u64))
                    })
                    .collect();
                let _ = writeln!(
                    o,
                    "Data-loss window: {} of {} (captured {} on {}){others}",
                    human(w),
                    sanitize(&b.dataset),
                    when(b.captured_at, now, &tz),
                    sanitize(&b.host.to_string())
                );
            }
            _ if self.blockers().is_empty() => {
                let _ = writeln!(o, "Data-loss window: none (no data comes from a backup)");
            }
            _ => {
                let _ = writeln!(o, "Data-loss window: unknown (a backup is not resolved)");
            }
        }
        if !self.backups.is_empty() {
            let _ = writeln!(o, "Backups used (the newest good backup of each dataset):");
            for b in &self.backups {
                let _ = writeln!(o, "  {}", backup_line(b, now, &tz));
            }
        }
        for (n, why) in self.blockers() {
            let _ = writeln!(o, "BLOCKED: step {n}: {}", sanitize(why));
        }
        let _ = writeln!(o);
        let values = self.placeholders();
        for s in &self.steps {
            let _ = writeln!(
                o,
                "{:>2}. {:<10} {}",
                s.number,
                s.step.word(),
                sanitize(&s.title)
            );
            match &s.action {
                Action::Run => {}
                Action::VerifyOnly { why } => {
                    let _ = writeln!(o, "{IN}VERIFY ONLY: {}", sanitize(why));
                }
                Action::Skip { why } => {
                    let _ = writeln!(o, "{IN}SKIPPED: {}", sanitize(why));
                }
                Action::Blocked { why } => {
                    let _ = writeln!(o, "{IN}BLOCKED: {}", sanitize(why));
                }
            }
            details(&mut o, &s.step, &values);
            for n in &s.notes {
                let _ = writeln!(o, "{IN}{}", sanitize(n));
            }
            for line in &s.preview {
                command(&mut o, "$", line);
            }
        }
        o
    }
}

fn mode_line(plan: &Plan) -> String {
    match plan.mode {
        Mode::Drill => format!(
            "drill: copies and imports go to scratch places on {}; production and the DNS are \
             not touched",
            sanitize(&plan.drp.name)
        ),
        Mode::Planned => format!(
            "planned: {} is reachable and is fenced (put into maintenance) first",
            sanitize(&plan.production.name)
        ),
        Mode::Emergency => format!(
            "emergency: {} is down; if it still answers, starting needs a typed reason and \
             fencing",
            sanitize(&plan.production.name)
        ),
    }
}

fn backup_line(b: &BackupPick, now: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    let age = u64::try_from(now.as_second() - b.captured_at.as_second()).unwrap_or(0);
    let size = match b.bytes {
        Some(n) if n < 1024 => format!(", {n} B"),
        Some(n) => format!(", {}", crate::checks::host::size_kib(n / 1024)),
        None => String::new(),
    };
    format!(
        "{:<8} {}  {}  captured {}, {} ago{size}",
        sanitize(&b.dataset),
        sanitize(&b.host.to_string()),
        sanitize(&b.name),
        when(b.captured_at, now, tz),
        human(age)
    )
}

/// "  (newest:files)" after a source resolved from a dataset.
fn resolved_from(e: &Endpoint, spec: &str) -> String {
    match e.backup {
        Some(_) => format!("  ({})", sanitize(spec)),
        None => String::new(),
    }
}

fn endpoint(e: &Endpoint) -> String {
    format!("{}  {}", sanitize(&e.host.to_string()), sanitize(&e.path))
}

/// A command as it will run: each of its lines, the first after `prompt`.
fn command(o: &mut String, prompt: &str, text: &str) {
    for (i, line) in text.lines().enumerate() {
        let lead = if i == 0 { prompt } else { " " };
        let _ = writeln!(o, "{IN}{lead} {}", sanitize(line));
    }
}

fn details(o: &mut String, step: &Resolved, values: &BTreeMap<&str, String>) {
    match step {
        Resolved::Confirm { ask } => {
            let _ = writeln!(o, "{IN}the operator types: {}", sanitize(ask));
        }
        Resolved::Exec {
            host,
            command: cmd,
            verify,
            timeout_s,
        } => {
            let _ = writeln!(
                o,
                "{IN}on {}, detached, fails after {}:",
                sanitize(&host.to_string()),
                human(*timeout_s)
            );
            command(o, "$", cmd);
            if let Some(v) = verify {
                command(o, "verify $", v);
            }
        }
        Resolved::Copy {
            from_spec,
            from,
            to,
            estimate_s,
        } => {
            match from {
                Some(e) => {
                    let _ = writeln!(
                        o,
                        "{IN}from  {}{}",
                        endpoint(e),
                        resolved_from(e, from_spec)
                    );
                }
                None => {
                    let _ = writeln!(o, "{IN}from  {} (not resolved)", sanitize(from_spec));
                }
            }
            let _ = writeln!(o, "{IN}to    {}", endpoint(to));
            if let Some(e) = estimate_s {
                let _ = writeln!(o, "{IN}estimated {}", human(*e));
            }
        }
        Resolved::DbImport {
            from_spec,
            from,
            to,
            restore,
            verify,
        } => {
            match from {
                Some(e) => {
                    let _ = writeln!(
                        o,
                        "{IN}from  {}{}",
                        endpoint(e),
                        resolved_from(e, from_spec)
                    );
                }
                None => {
                    let _ = writeln!(o, "{IN}from  {} (not resolved)", sanitize(from_spec));
                }
            }
            let _ = writeln!(
                o,
                "{IN}into  {}: a new {} database{}, then switched to as {}",
                sanitize(&to.to_string()),
                restore.kind.word(),
                restore
                    .port
                    .map(|p| format!(" on the server of port {p}"))
                    .unwrap_or_default(),
                sanitize(&restore.database)
            );
            command(o, "verify SQL>", verify);
        }
        Resolved::Ticket { title, body } => {
            // As it will be sent, but for what only the run knows ({{now}}, {{order}}…).
            let filled = super::fill(title, values);
            if filled != *title {
                let _ = writeln!(o, "{IN}title: {}", sanitize(&filled));
            }
            command(o, "body:", &super::fill(body, values));
        }
        Resolved::Dns {
            target,
            new_address,
            expected_old,
        } => {
            let _ = writeln!(
                o,
                "{IN}record → {} ({}), sent only if it still holds {}",
                sanitize(new_address),
                sanitize(&target.to_string()),
                sanitize(expected_old)
            );
        }
        Resolved::Wait {
            check,
            host,
            timeout_s,
        } => {
            let on = host
                .as_ref()
                .map(|h| format!(" on {}", sanitize(&h.to_string())))
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "{IN}until {}{on} is OK, at most {}",
                sanitize(check),
                human(*timeout_s)
            );
        }
    }
}
