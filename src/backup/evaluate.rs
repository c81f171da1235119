//! A dataset's backup checks from what was read on its servers (SPEC §4–5): the freshness of
//! each copy, the data-loss window, what losing one server would do, and the site's policy
//! (two servers, one outside production's datacenter, even/odd alternation). Pure.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Serialize;

use super::model::{Backup, CopyReading, Dataset, Days};
use super::schedule::{self, DAY, secs};
use crate::checks::{Check, State, worst};

/// What the evaluation needs to know about the configured hosts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostsInfo {
    /// Host name → its datacenter.
    pub datacenters: BTreeMap<String, String>,
    /// The production host's datacenter (`None`: no production host configured).
    pub production_datacenter: Option<String>,
}

/// The newest good backup of a dataset, across the copies that were read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewestBackup {
    pub host: String,
    pub captured_at: Timestamp,
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// File name, snapshot id or archive name.
    #[serde(skip)]
    pub name: String,
}

/// One copy as evaluated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyReport {
    pub host: String,
    /// `None` when the host has no datacenter in [`HostsInfo`].
    pub datacenter: Option<String>,
    /// "all", "even" or "odd".
    pub days: &'static str,
    /// The newest good backup's capture time; `None` when not read or none found.
    pub captured_at: Option<Timestamp>,
    pub age_s: Option<u64>,
    pub state: State,
    /// When its next backup should be captured (grace not included), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_due: Option<Timestamp>,
    /// Index of the copy in [`Dataset::copies`].
    #[serde(skip)]
    pub index: usize,
}

/// A dataset's backups as evaluated; serialises to the `datasets` entries of
/// `vigie check --json` (SPEC §4).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetReport {
    pub name: String,
    pub max_loss_s: u64,
    /// now − the newest capture across the copies read; `None` when none could be read or
    /// none holds a backup.
    pub loss_window_s: Option<u64>,
    /// The worst of `checks`.
    pub state: State,
    pub newest: Option<NewestBackup>,
    pub copies: Vec<CopyReport>,
    pub checks: Vec<Check>,
    /// The worst case at the next failure: the dataset's interval plus the newest backup's
    /// own duration (when known). `None` without copies.
    pub worst_next_s: Option<u64>,
    /// For each backup server: what the loss window would become if it were lost.
    pub if_lost: Vec<IfLost>,
    /// The restore-time estimate (SPEC §5), once a throughput is known (see
    /// [`super::site::attach_rto`]).
    pub rto: Option<super::rto::RtoEstimate>,
}

/// The loss window if one backup server were lost (SPEC §4 "if one backup server is lost").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IfLost {
    pub host: String,
    /// now − the newest capture on the other servers; `None` when they hold none (or were
    /// not read: see `others_read`).
    pub loss_window_s: Option<u64>,
    /// Whether every other server was read: when not, a window is an upper bound and `None`
    /// means unknown rather than "no backup left".
    pub others_read: bool,
}

impl IfLost {
    /// "backup-a lost → 21 h", "≤ 21 h" when a server was not read, "no backup", "unknown".
    pub fn describe(&self) -> String {
        let what = match (self.loss_window_s, self.others_read) {
            (Some(w), true) => human(w),
            (Some(w), false) => format!("≤ {}", human(w)),
            (None, true) => "no backup".into(),
            (None, false) => "unknown (not read)".into(),
        };
        format!("{} lost → {what}", self.host)
    }
}

/// A capture up to this many seconds in the future is clock noise; beyond, it is not trusted.
const FUTURE_TOLERANCE_S: i64 = 300;

/// Evaluates a dataset. `readings` maps copy indices to what was read (`None`: the host was
/// not read, e.g. unreachable); a copy missing from it counts as not read; the first
/// reading of an index wins and out-of-range indices are ignored.
pub fn evaluate(
    ds: &Dataset,
    readings: &[(usize, Option<&CopyReading>)],
    hosts: &HostsInfo,
    tz: &TimeZone,
    now: Timestamp,
) -> DatasetReport {
    let mut by_copy: Vec<Option<Option<&CopyReading>>> = vec![None; ds.copies.len()];
    for &(i, reading) in readings {
        if let Some(slot @ None) = by_copy.get_mut(i) {
            *slot = Some(reading);
        }
    }
    let newest_of: Vec<Option<&Backup>> = by_copy
        .iter()
        .map(|r| match r {
            Some(Some(CopyReading::Found(list))) => list.iter().max_by_key(|b| b.captured_at),
            _ => None,
        })
        .collect();

    // What the loss window may count on: a backup dated in the future (a server clock ahead,
    // a garbled date) would hide the window at 0; its copy's own check flags it.
    let credible: Vec<Option<&Backup>> = by_copy
        .iter()
        .map(|r| match r {
            Some(Some(CopyReading::Found(list))) => list
                .iter()
                .filter(|b| {
                    b.captured_at.as_second() <= now.as_second().saturating_add(FUTURE_TOLERANCE_S)
                })
                .max_by_key(|b| b.captured_at),
            _ => None,
        })
        .collect();

    let mut checks = Vec::new();
    let mut ids = BTreeSet::new();
    let mut copies = Vec::new();
    for (i, copy) in ds.copies.iter().enumerate() {
        let mut id = format!("backup.{}.{}", ds.name, copy.host);
        let mut n = 1;
        while ids.contains(&id) {
            n += 1;
            id = format!("backup.{}.{}#{n}", ds.name, copy.host);
        }
        ids.insert(id.clone());
        let (check, report) = copy_check(id, ds, i, by_copy[i], newest_of[i], hosts, tz, now);
        checks.push(check);
        copies.push(report);
    }

    let newest = credible
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.map(|b| (i, b)))
        .max_by_key(|(_, b)| b.captured_at)
        .map(|(i, b)| NewestBackup {
            host: ds.copies[i].host.clone(),
            captured_at: b.captured_at,
            bytes: b.bytes,
            finished_at: b.finished_at,
            name: b.name.clone(),
        });
    let age = |t: Timestamp| now.as_second().saturating_sub(t.as_second()).max(0) as u64;
    let loss_window_s = newest.as_ref().map(|b| age(b.captured_at));

    let servers = servers(ds);
    let if_lost: Vec<IfLost> = servers
        .iter()
        .map(|&h| {
            let others = || {
                credible
                    .iter()
                    .zip(&by_copy)
                    .zip(&ds.copies)
                    .filter(move |(_, c)| c.host != h)
            };
            let rest = others()
                .filter_map(|((b, _), _)| b.map(|b| b.captured_at))
                .max();
            IfLost {
                host: h.to_string(),
                loss_window_s: rest.map(age),
                others_read: others().all(|((_, r), _)| matches!(r, Some(Some(_)))),
            }
        })
        .collect();

    let duration_s = newest.as_ref().and_then(|b| {
        b.finished_at.map(|f| {
            f.as_second()
                .saturating_sub(b.captured_at.as_second())
                .max(0)
        })
    });
    let worst_next_s = schedule::combined_interval(&ds.copies)
        .map(|i| i.saturating_add(duration_s.unwrap_or(0)).max(0) as u64);

    checks.push(loss_window_check(ds, &by_copy, loss_window_s, &if_lost));
    checks.push(policy_check(ds, hosts));

    DatasetReport {
        name: ds.name.clone(),
        max_loss_s: ds.max_loss.as_secs(),
        loss_window_s,
        state: worst(checks.iter().map(|c| c.state)),
        newest,
        copies,
        checks,
        worst_next_s,
        if_lost,
        rto: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn copy_check(
    id: String,
    ds: &Dataset,
    i: usize,
    reading: Option<Option<&CopyReading>>,
    newest: Option<&Backup>,
    hosts: &HostsInfo,
    tz: &TimeZone,
    now: Timestamp,
) -> (Check, CopyReport) {
    let copy = &ds.copies[i];
    let mut report = CopyReport {
        host: copy.host.clone(),
        datacenter: hosts.datacenters.get(&copy.host).cloned(),
        days: copy.days.word(),
        captured_at: None,
        age_s: None,
        state: State::Unknown,
        next_due: None,
        index: i,
    };
    let check = match (reading, newest) {
        (None, _) => Check::unknown(id, format!("{} not read", copy.host)),
        (Some(None), _) => Check::unknown(
            id,
            format!("not read: {} unreachable or not probed yet", copy.host),
        ),
        (Some(Some(CopyReading::Unreadable(why))), _) => {
            Check::unknown(id, format!("cannot read {}: {why}", copy.path))
        }
        (Some(Some(CopyReading::Found(_))), None) => Check::new(
            id,
            State::Crit,
            format!("missed slot: no good backup in {}", copy.path),
        ),
        (Some(Some(CopyReading::Found(_))), Some(b)) => {
            let age_s = now.as_second().saturating_sub(b.captured_at.as_second());
            let a = schedule::assess(copy, b.captured_at, tz, now);
            report.captured_at = Some(b.captured_at);
            report.age_s = Some(age_s.max(0) as u64);
            report.next_due = Some(a.due);
            let old = human(age_s.max(0) as u64);
            let due = when(a.due, now, tz);
            let (state, summary) = if a.late {
                let grace = match secs(copy.grace) {
                    0 => String::new(),
                    g => format!(" + {} grace", human(g as u64)),
                };
                let day = match copy.days {
                    Days::All => String::new(),
                    d => format!(", {} day", d.word()),
                };
                (
                    State::Crit,
                    format!("missed slot due {due}{grace}{day}: newest {old} old"),
                )
            } else if age_s < -FUTURE_TOLERANCE_S {
                (
                    State::Warn,
                    format!(
                        "newest dated {} in the future: check {}'s clock",
                        human(age_s.unsigned_abs()),
                        copy.host
                    ),
                )
            } else if a.wrong_parity {
                let day = schedule::parity(schedule::epoch_day(b.captured_at, tz));
                (
                    State::Warn,
                    format!(
                        "{old} old, taken on an {} day: this copy runs on {} days; next due {due}",
                        day.word(),
                        copy.days.word()
                    ),
                )
            } else {
                (State::Ok, format!("{old} old, next due {due}"))
            };
            Check::new(id, state, summary).with_value(age_s.max(0) as f64, "s")
        }
    };
    report.state = check.state;
    (check, report)
}

fn loss_window_check(
    ds: &Dataset,
    by_copy: &[Option<Option<&CopyReading>>],
    window: Option<u64>,
    if_lost: &[IfLost],
) -> Check {
    let id = format!("backup.{}.loss_window", ds.name);
    let max = ds.max_loss.as_secs();
    let unread: Vec<&str> = by_copy
        .iter()
        .zip(&ds.copies)
        .filter(|(r, _)| !matches!(r, Some(Some(CopyReading::Found(_)))))
        .map(|(_, c)| c.host.as_str())
        .collect();
    let read_any = unread.len() < ds.copies.len();
    let Some(window) = window else {
        return if ds.copies.is_empty() {
            Check::unknown(id, "no copy configured")
        } else if read_any {
            let also = if unread.is_empty() {
                String::new()
            } else {
                format!(" ({} not read)", list(&unread))
            };
            Check::new(id, State::Crit, format!("no backup on any server{also}"))
        } else {
            Check::unknown(id, format!("no copy could be read ({})", list(&unread)))
        };
    };
    let (w, m) = (u128::from(window), u128::from(max));
    let mut state = if w > m {
        State::Crit
    } else if w * 4 > m * 3 {
        State::Warn
    } else {
        State::Ok
    };
    let mut summary = format!("{} of {}", human(window), human(max));
    // SPEC §5: all servers together are late past their combined interval plus grace.
    let grace = ds.copies.iter().map(|c| secs(c.grace)).max().unwrap_or(0);
    if let Some(interval) = schedule::combined_interval(&ds.copies)
        && unread.is_empty()
        && i128::from(window) > i128::from(interval) + i128::from(grace)
        && state != State::Crit
    {
        state = State::Crit;
        summary.push_str(&format!(
            "; missed slot: no server backed up within {} + grace",
            human(interval.max(0) as u64)
        ));
    }
    if !unread.is_empty() {
        summary.push_str(&format!(" ({} not read)", list(&unread)));
    }
    for lost in if_lost {
        let host = &lost.host;
        match (lost.loss_window_s, lost.others_read) {
            (None, true) => summary.push_str(&format!("; losing {host} would leave no backup")),
            (Some(l), true) if l > max && l > window => {
                summary.push_str(&format!("; losing {host} would make it {}", human(l)))
            }
            // With a server not read, the figure is not known: the "not read" above says so.
            _ => {}
        }
    }
    Check::new(id, state, summary).with_value(window as f64, "s")
}

fn policy_check(ds: &Dataset, hosts: &HostsInfo) -> Check {
    let id = format!("backup.{}.policy", ds.name);
    let mut reasons = Vec::new();
    let servers = servers(ds);
    match servers.len() {
        0 => reasons.push("no backup server".to_string()),
        1 => reasons.push(format!("only one backup server ({})", servers[0])),
        _ => {}
    }

    let dc_of = |h: &str| hosts.datacenters.get(h).map(String::as_str);
    let mut outside: Vec<&str> = Vec::new();
    match hosts.production_datacenter.as_deref() {
        None => reasons.push("production's datacenter is not known".to_string()),
        Some(prod) => {
            for &h in &servers {
                if let Some(dc) = dc_of(h)
                    && dc != prod
                    && !outside.contains(&dc)
                {
                    outside.push(dc);
                }
            }
            if outside.is_empty() && !servers.is_empty() {
                reasons.push(format!("no server outside production's datacenter {prod}"));
            }
        }
    }

    // Alternation: some copy covers even days and another server odd days, both at least
    // daily.
    let daily = |c: &&super::model::Copy| secs(c.every) <= DAY;
    let covering = |d: Days| -> Vec<&str> {
        ds.copies
            .iter()
            .filter(daily)
            .filter(|c| c.days == Days::All || c.days == d)
            .map(|c| c.host.as_str())
            .collect()
    };
    let (even, odd) = (covering(Days::Even), covering(Days::Odd));
    let alternates = even.iter().any(|e| odd.iter().any(|o| o != e));
    if !ds.copies.is_empty() && !alternates {
        if even.is_empty() && odd.is_empty() {
            reasons.push("not backed up daily".to_string());
        } else if even.is_empty() {
            reasons.push("no daily copy on even days".to_string());
        } else if odd.is_empty() {
            reasons.push("no daily copy on odd days".to_string());
        } else if servers.len() > 1 {
            reasons.push(format!(
                "even and odd days on the same server ({})",
                even[0]
            ));
        }
    }

    if !reasons.is_empty() {
        return Check::new(id, State::Warn, format!("policy: {}", reasons.join("; ")));
    }
    let prod = hosts.production_datacenter.as_deref().unwrap_or("?");
    let rhythm = if ds.copies.iter().any(|c| c.days != Days::All) {
        "even/odd".to_string()
    } else {
        let every = ds.copies.iter().map(|c| secs(c.every)).min().unwrap_or(0);
        format!("every {} on each", human(every.max(0) as u64))
    };
    Check::new(
        id,
        State::Ok,
        format!(
            "{} servers, {} outside production's {prod}, {rhythm}",
            servers.len(),
            outside.join(", ")
        ),
    )
}

/// The backup servers of a dataset, each once, in the order of its copies.
fn servers(ds: &Dataset) -> Vec<&str> {
    let hosts: Vec<&str> = ds.copies.iter().map(|c| c.host.as_str()).collect();
    dedup(&hosts)
}

fn dedup<'a>(hosts: &[&'a str]) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for &h in hosts {
        if !seen.contains(&h) {
            seen.push(h);
        }
    }
    seen
}

fn list(hosts: &[&str]) -> String {
    dedup(hosts).join(", ")
}

/// A duration for people: "42 s", "52 min", "2 h", "2 h 30 min", "26 h", "3 d 4 h".
pub fn human(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs / 3600, secs / 60);
    if secs < 120 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{m} min")
    } else if secs < 2 * 86_400 {
        match m % 60 {
            0 => format!("{h} h"),
            min => format!("{h} h {min} min"),
        }
    } else {
        match h % 24 {
            0 => format!("{d} d"),
            hours => format!("{d} d {hours} h"),
        }
    }
}

/// A local time relative to `now`: "23:00", "tomorrow 01:00", "yesterday 23:00",
/// "Sun 30 Nov 23:00", or the full date further out.
pub fn when(t: Timestamp, now: Timestamp, tz: &TimeZone) -> String {
    if t.as_second() >= Timestamp::MAX.as_second() || t.as_second() <= Timestamp::MIN.as_second() {
        return "never".to_string();
    }
    let z = t.to_zoned_datetime(tz.clone());
    let hm = z.strftime("%H:%M").to_string();
    match schedule::epoch_day(t, tz) - schedule::epoch_day(now, tz) {
        0 => hm,
        1 => format!("tomorrow {hm}"),
        -1 => format!("yesterday {hm}"),
        -6..=6 => z.strftime("%a %-d %b %H:%M").to_string(),
        _ => z.strftime("%Y-%m-%d %H:%M").to_string(),
    }
}

#[cfg(test)]
#[path = "evaluate_tests.rs"]
mod tests;
