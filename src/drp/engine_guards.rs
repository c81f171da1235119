//! The guards of a DRP run (SPEC §6), as pure functions: what the operator must type, whether
//! production must be fenced, whether `return` may start, whether a copy back would overwrite
//! newer data. The engine gathers the facts (SSH answers, the journal, the plan) and asks
//! these; every refusal says what is wrong and what to do.

use crate::backup::evaluate::human;
use crate::drp::model::{ActiveSite, HostRef, Mode, Plan, Resolved};
use crate::text::sanitize;

/// The host name the operator types to start a run: the host the run makes (or keeps) the
/// serving site. `activate` → the `[drp] drp` host; `return` → the `[drp] production` host;
/// another runbook → the target of its last `dns` step, else the DRP host.
pub fn confirm_target(plan: &Plan) -> &str {
    match plan.runbook.as_str() {
        "activate" => &plan.drp.name,
        "return" => &plan.production.name,
        _ => plan
            .steps
            .iter()
            .rev()
            .find_map(|s| match &s.step {
                Resolved::Dns { target, .. } => Some(target.name.as_str()),
                _ => None,
            })
            .unwrap_or(&plan.drp.name),
    }
}

/// The typed host name must be the target's, in full and exactly: no default, no prefix, no
/// case folding, no trimming (a stray space is a typing mistake worth a second look).
pub fn check_confirm(plan: &Plan, typed: &str) -> Result<(), String> {
    let want = confirm_target(plan);
    if typed.is_empty() {
        return Err(format!(
            "no host name typed: type the name of the host this run makes the serving site, \
             in full: --confirm {want}"
        ));
    }
    if typed != want {
        return Err(format!(
            "the typed host name {:?} is not {want:?}, the host this {} run makes the serving \
             site: read the direction above again, then type --confirm {want}",
            sanitize(typed),
            sanitize(&plan.runbook)
        ));
    }
    Ok(())
}

/// The order reference: required, kept as typed (but for surrounding blanks).
pub fn check_order(order: &str) -> Result<String, String> {
    let o = order.trim();
    if o.is_empty() {
        return Err(
            "no order reference: the DRP is run by order of the customer; give its reference \
             with --order REF (it is journaled and sent in the tickets)"
                .into(),
        );
    }
    if o.chars().any(char::is_control) {
        return Err("the order reference holds control characters: type it again".into());
    }
    Ok(o.to_string())
}

/// Whether production answered its SSH check before the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductionAnswer {
    Answers,
    /// It did not answer; why (the SSH error).
    Silent(String),
    /// Not asked (a drill never touches production).
    NotAsked,
}

/// What the mode and production's answer imply for the fencing step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FenceDecision {
    /// Put the fencing step (`[drp] fence`) in front, as step 0.
    pub fence: bool,
    /// What the journal and the operator are told.
    pub note: String,
}

/// SPEC §6: planned mode needs production answering and fences it; emergency mode goes on
/// when production does not answer, and when it does, only with a typed reason and a fence
/// (no split brain by accident); a drill touches neither.
pub fn fence_decision(
    mode: Mode,
    production: &str,
    answer: &ProductionAnswer,
    reason: Option<&str>,
    fence: Option<&str>,
) -> Result<FenceDecision, String> {
    let p = sanitize(production);
    let no_fence = "[drp] fence is not configured: add `fence = \"…\"` (the command that puts \
                    production into maintenance) and `fence_verify`";
    match (mode, answer) {
        (Mode::Drill, _) => Ok(FenceDecision {
            fence: false,
            note: "drill: production is neither asked nor fenced".into(),
        }),
        (Mode::Planned, ProductionAnswer::Answers) => match fence {
            Some(_) => Ok(FenceDecision {
                fence: true,
                note: format!("production {p} answers: it is fenced first (step 0)"),
            }),
            None => Err(format!(
                "planned mode fences production first, and {no_fence}; or, if {p} is down, \
                 use --mode emergency"
            )),
        },
        (Mode::Planned, ProductionAnswer::Silent(why)) => Err(format!(
            "production {p} does not answer ({}): planned mode needs it, to fence it first; if \
             it is down, use --mode emergency",
            sanitize(why.as_str())
        )),
        (Mode::Planned, ProductionAnswer::NotAsked) => Err(format!(
            "production {p} was not asked: planned mode needs its answer"
        )),
        (Mode::Emergency, ProductionAnswer::Answers) => {
            let reason = reason.map(str::trim).filter(|r| !r.is_empty());
            match (reason, fence) {
                (Some(r), Some(_)) => Ok(FenceDecision {
                    fence: true,
                    note: format!(
                        "production {p} still answers: emergency run with reason {:?}, \
                         production fenced first (step 0)",
                        sanitize(r)
                    ),
                }),
                (None, _) => Err(format!(
                    "production {p} still answers: an emergency run while it answers needs a \
                     typed reason (--reason TEXT) and fencing it first, so that two sites never \
                     serve at once; if it can be put into maintenance normally, use --mode \
                     planned"
                )),
                (Some(_), None) => Err(format!(
                    "production {p} still answers: an emergency run while it answers fences it \
                     first, and {no_fence}"
                )),
            }
        }
        (Mode::Emergency, ProductionAnswer::Silent(why)) => Ok(FenceDecision {
            fence: false,
            note: format!(
                "production {p} did not answer ({}): emergency run without fencing",
                sanitize(why.as_str())
            ),
        }),
        (Mode::Emergency, ProductionAnswer::NotAsked) => Err(format!(
            "production {p} was not asked: an emergency run needs to know whether it answers"
        )),
    }
}

/// `return` only when the DRP serves (the journal's marker); the other runbooks and drills
/// always.
pub fn check_marker(runbook: &str, mode: Mode, active: ActiveSite) -> Result<(), String> {
    if runbook == "return" && mode != Mode::Drill && active != ActiveSite::Drp {
        return Err(format!(
            "the journal's active-site marker says {}: `return` brings the site back from the \
             DRP, and no completed activation is journaled (vigie journal shows the runs); \
             nothing to return from",
            active.word()
        ));
    }
    Ok(())
}

/// "FROM backup-b (dc2) → TO drp (dc2)".
pub fn direction_text(plan: &Plan) -> String {
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
    format!("FROM {} → TO {}", list(&plan.from), list(&plan.to))
}

/// The data-loss window the run implies, in one line.
pub fn loss_text(plan: &Plan) -> String {
    match (plan.loss_window_s, plan.user_data()) {
        (Some(w), Some(b)) => format!(
            "data-loss window: {} ({} captured at {} on {})",
            human(w),
            sanitize(&b.dataset),
            in_zone(b.captured_at, &plan.timezone),
            sanitize(&b.host.to_string())
        ),
        _ => "data-loss window: none (no data of this run comes from a backup)".into(),
    }
}

/// "2026-11-28 23:08:00 CET": a time in the site's zone.
pub fn in_zone(t: jiff::Timestamp, zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
    t.to_zoned_datetime(tz)
        .strftime("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Newer data on the target of a copy back

/// The first line of the newest-file script's answer.
const MTIME_MAGIC: &str = "vigie-mtime 1";

/// The script (for `sh -s`) that prints the newest modification time of the regular files
/// under `path` (GNU find's `%T@`, on Debian and RHEL). `None` for a NUL byte.
pub fn newest_mtime_script(path: &str) -> Option<Vec<u8>> {
    let p = crate::probe::sh_quote(path)?;
    Some(
        format!(
            "P={p}\n\
             echo '{MTIME_MAGIC}'\n\
             if [ ! -e \"$P\" ]; then echo missing; exit 0; fi\n\
             n=$(find \"$P\" -type f -printf '%T@\\n' 2>/dev/null </dev/null | sort -n | tail -n 1)\n\
             echo \"newest ${{n:-none}}\"\n"
        )
        .into_bytes(),
    )
}

/// The newest modification time under a path: `None` when it holds no file (or is missing).
/// Pure; never panics.
pub fn parse_newest_mtime(out: &str) -> Result<Option<f64>, String> {
    let mut lines = out.lines().map(str::trim);
    if !lines.any(|l| l == MTIME_MAGIC) {
        return Err("no answer from the newest-file script".into());
    }
    for l in lines {
        if l == "missing" {
            return Ok(None);
        }
        if let Some(v) = l.strip_prefix("newest ") {
            if v == "none" {
                return Ok(None);
            }
            return v
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite())
                .map(Some)
                .ok_or_else(|| format!("unreadable time {:?}", crate::probe::parse::clean(v, 40)));
        }
    }
    Err("the newest-file script was cut short".into())
}

/// A copy back must not overwrite newer data: the target's newest file must not be newer
/// than the source's (both read just before). Times are said in UTC.
pub fn check_not_newer(
    source: &str,
    source_newest: Option<f64>,
    target: &str,
    target_newest: Option<f64>,
) -> Result<(), String> {
    let at = |t: f64| {
        jiff::Timestamp::from_second(t.floor() as i64)
            .map(|ts| ts.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|_| format!("{t}"))
    };
    match (source_newest, target_newest) {
        (_, None) => Ok(()),
        (None, Some(t)) => Err(format!(
            "{} holds no file, and {} holds files (newest {}): the copy would delete them; \
             check the source",
            sanitize(source),
            sanitize(target),
            at(t)
        )),
        (Some(s), Some(t)) if t > s => Err(format!(
            "{} holds newer data than its source: its newest file is of {}, the newest of {} \
             of {}; copying would overwrite it. Save or merge it first, then run again",
            sanitize(target),
            at(t),
            sanitize(source),
            at(s)
        )),
        (Some(_), Some(_)) => Ok(()),
    }
}

/// `--ack N=TEXT` arguments: the step number and the text (non-empty).
pub fn parse_ack(arg: &str) -> Result<(u32, String), String> {
    let (n, text) = arg
        .split_once('=')
        .ok_or_else(|| format!("--ack {arg:?}: expected N=TEXT, e.g. --ack 1=ORD-2026-118"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("--ack {arg:?}: {n:?} is not a step number"))?;
    let text = text.trim();
    if text.is_empty() {
        return Err(format!(
            "--ack {n}=…: the text is empty: type what the step asks"
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(format!("--ack {n}=…: control characters are not allowed"));
    }
    Ok((n, text.to_string()))
}
