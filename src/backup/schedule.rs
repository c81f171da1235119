//! When backups are due: day numbers and their parity in the site's time zone, a copy's next
//! due capture, its last slot and whether it is late (SPEC §5).
//!
//! A copy runs every `every` on the days it is expected on (`all`, or even/odd days). Its
//! schedule is measured in *active time*: the time spent on the days it runs. A copy is late
//! when more than `every` of active time has passed between its newest capture and
//! `now − grace`. For `days = "all"` that is simply "older than every + grace". For an
//! even/odd copy taken every 24 h it is SPEC's "older than 48 h plus grace" when the day in
//! between is 24 h long; across a daylight-saving change it follows the local clock, as cron
//! does (a 23:00 backup two days later is 47 h or 49 h after the last one, and is on time).
//!
//! All arithmetic is in whole seconds and saturates at the ends of [`Timestamp`]'s range:
//! nothing here panics.

use std::time::Duration;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

use super::model::{Copy, Days};

pub const DAY: i64 = 86_400;

const EPOCH: Date = Date::constant(1970, 1, 1);

fn min_s() -> i64 {
    Timestamp::MIN.as_second()
}

fn max_s() -> i64 {
    Timestamp::MAX.as_second()
}

/// A timestamp from seconds, clamped to the representable range.
pub(crate) fn at(second: i64) -> Timestamp {
    let s = second.clamp(min_s(), max_s());
    Timestamp::from_second(s).unwrap_or(if s < 0 {
        Timestamp::MIN
    } else {
        Timestamp::MAX
    })
}

/// Whole seconds of a duration, saturated to the span of representable timestamps.
pub(crate) fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs())
        .unwrap_or(i64::MAX)
        .min(max_s() - min_s())
}

/// The civil date of `t` in `tz` as a day number: days since 1970-01-01 (day 0, even).
pub fn epoch_day(t: Timestamp, tz: &TimeZone) -> i64 {
    let date = t.to_zoned_datetime(tz.clone()).date();
    date.duration_since(EPOCH).as_secs().div_euclid(DAY)
}

/// The parity of a day number: [`Days::Even`] or [`Days::Odd`].
pub fn parity(day: i64) -> Days {
    if day.rem_euclid(2) == 0 {
        Days::Even
    } else {
        Days::Odd
    }
}

/// Whether a copy with these `days` runs on day number `day`.
pub fn runs_on(days: Days, day: i64) -> bool {
    days == Days::All || parity(day) == days
}

/// Whether a backup captured at `captured` sits on a day its copy does not run on.
pub fn wrong_parity(days: Days, captured: Timestamp, tz: &TimeZone) -> bool {
    !runs_on(days, epoch_day(captured, tz))
}

/// The first instant of day number `day` in `tz`, in seconds (local midnight, or the end of
/// the gap when midnight does not exist that day). Saturates outside the supported range.
fn day_start_s(day: i64, tz: &TimeZone) -> i64 {
    let start = Span::new()
        .try_days(day)
        .ok()
        .and_then(|span| EPOCH.checked_add(span).ok())
        .and_then(|date| date.to_zoned_datetime(tz.clone()).ok());
    match start {
        Some(z) => z.timestamp().as_second(),
        None if day < 0 => min_s(),
        None => max_s(),
    }
}

/// The first instant of day number `day` in `tz`.
pub fn day_start(day: i64, tz: &TimeZone) -> Timestamp {
    at(day_start_s(day, tz))
}

/// Bound on the day-by-day walks, after the fast skip of long intervals.
const WALK_LIMIT: usize = 64;

/// The instant at which `amount` seconds of active time have passed since `from`.
fn walk_forward(days: Days, from: i64, amount: i64, tz: &TimeZone) -> i64 {
    let amount = amount.max(0);
    if days == Days::All {
        return from.saturating_add(amount).min(max_s());
    }
    let mut remaining = amount;
    let mut cursor = from;
    let mut day = epoch_day(at(cursor), tz);
    let from_active = runs_on(days, day);
    if remaining > 4 * DAY {
        // Skip whole pairs of days (one of which runs), counting each as 24 h: only long
        // intervals get here, where an hour of daylight saving does not matter.
        let k = remaining / DAY - 2;
        let (first, full) = if runs_on(days, day) {
            ((day_start_s(day + 1, tz) - cursor).max(0), k - 1)
        } else {
            (0, k)
        };
        remaining = (remaining - first - full * DAY).max(0);
        day += 2 * k;
        cursor = day_start_s(day, tz);
    }
    for _ in 0..WALK_LIMIT {
        let end = day_start_s(day + 1, tz);
        if runs_on(days, day) {
            let avail = (end - cursor).max(0);
            // A slot at the very end of a day it runs on is taken at the start of the next
            // day it runs on (cron's 00:00 of the next even day). From a day it does not run
            // on (a backup on the wrong day), the next day it runs on must have one by its
            // end.
            if remaining < avail || (remaining == avail && !from_active) {
                return cursor + remaining;
            }
            remaining -= avail;
        }
        if end >= max_s() {
            break;
        }
        day += 1;
        cursor = end.max(cursor);
    }
    max_s()
}

/// The instant `amount` seconds of active time before `from`.
fn walk_back(days: Days, from: i64, amount: i64, tz: &TimeZone) -> i64 {
    let amount = amount.max(0);
    if days == Days::All {
        return from.saturating_sub(amount).max(min_s());
    }
    let mut remaining = amount;
    let mut cursor = from;
    let mut day = epoch_day(at(cursor), tz);
    if remaining > 4 * DAY {
        let k = remaining / DAY - 2;
        let (first, full) = if runs_on(days, day) {
            ((cursor - day_start_s(day, tz)).max(0), k - 1)
        } else {
            (0, k)
        };
        remaining = (remaining - first - full * DAY).max(0);
        // Now at the end of day − 2k.
        cursor = day_start_s(day - 2 * k + 1, tz);
        day -= 2 * k;
    }
    for _ in 0..WALK_LIMIT {
        let start = day_start_s(day, tz);
        if runs_on(days, day) {
            let avail = (cursor - start).max(0);
            if remaining <= avail {
                return cursor - remaining;
            }
            remaining -= avail;
        }
        if start <= min_s() {
            break;
        }
        day -= 1;
        cursor = start.min(cursor);
    }
    min_s()
}

/// When the copy's next backup should be captured, given its newest capture: `every` of
/// active time later. Grace is not included.
pub fn next_due(copy: &Copy, newest: Timestamp, tz: &TimeZone) -> Timestamp {
    at(walk_forward(
        copy.days,
        newest.as_second(),
        secs(copy.every),
        tz,
    ))
}

/// The last slot that should have produced a backup by `now`: a newest capture before it is
/// late. For `all`: now − every − grace. For even/odd copies: `every` of active time before
/// now − grace (for a daily copy, the same time of day on the last day of its parity whose
/// next slot, plus grace, has passed).
pub fn last_slot(copy: &Copy, tz: &TimeZone, now: Timestamp) -> Timestamp {
    let deadline = now
        .as_second()
        .saturating_sub(secs(copy.grace))
        .max(min_s());
    at(walk_back(copy.days, deadline, secs(copy.every), tz))
}

/// What the schedule says about a copy's newest backup at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assessment {
    /// When the next backup should be captured (grace not included).
    pub due: Timestamp,
    /// `now` is past `due` plus grace: a slot was missed.
    pub late: bool,
    /// The newest backup was captured on a day the copy does not run on.
    pub wrong_parity: bool,
    /// Day number of `due` in the site's time zone (for "missed the even slot of …").
    pub due_day: i64,
}

/// Schedules a copy's newest backup (captured at `newest`) against `now`.
pub fn assess(copy: &Copy, newest: Timestamp, tz: &TimeZone, now: Timestamp) -> Assessment {
    let due = next_due(copy, newest, tz);
    let deadline = due.as_second().saturating_add(secs(copy.grace));
    Assessment {
        due,
        late: now.as_second() > deadline,
        wrong_parity: wrong_parity(copy.days, newest, tz),
        due_day: epoch_day(due, tz),
    }
}

/// The longest expected gap between two captures of a copy: `every`, plus the day it skips
/// for even/odd copies (48 h for a daily even/odd copy).
pub fn max_gap(copy: &Copy) -> i64 {
    let every = secs(copy.every);
    match copy.days {
        Days::All => every,
        Days::Even | Days::Odd => every.saturating_add(DAY),
    }
}

/// The interval between two captures of the dataset, all its copies together: the shortest
/// `every` of its `all` copies, or, when both parities are covered, the longer of the even
/// and odd intervals; a single parity skips a day. `None` without copies.
pub fn combined_interval(copies: &[Copy]) -> Option<i64> {
    let min_of = |days: Days| {
        copies
            .iter()
            .filter(|c| c.days == days)
            .map(|c| secs(c.every))
            .min()
    };
    let parity = match (min_of(Days::Even), min_of(Days::Odd)) {
        (Some(e), Some(o)) => Some(e.max(o)),
        (Some(one), None) | (None, Some(one)) => Some(one.saturating_add(DAY)),
        (None, None) => None,
    };
    match (min_of(Days::All), parity) {
        (Some(a), Some(p)) => Some(a.min(p)),
        (a, p) => a.or(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::model::BackupFormat;

    fn paris() -> TimeZone {
        TimeZone::get("Europe/Paris").expect("tzdata")
    }

    /// A civil time in Paris (compatible disambiguation: a time in the spring gap moves
    /// forward, the fall-back overlap takes the first, summer-time instance).
    fn local(s: &str) -> Timestamp {
        let dt: jiff::civil::DateTime = s.parse().unwrap();
        dt.to_zoned_datetime(paris()).unwrap().timestamp()
    }

    fn utc(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn copy(days: Days, every_h: u64, grace_min: u64) -> Copy {
        Copy {
            host: "backup-a".into(),
            path: "/var/backups".into(),
            every: Duration::from_secs(every_h * 3600),
            days,
            format: BackupFormat::Files {
                pattern: "*".into(),
            },
            grace: Duration::from_secs(grace_min * 60),
        }
    }

    fn day_of(date: &str, tz: &TimeZone) -> i64 {
        epoch_day(local(&format!("{date}T12:00")), tz)
    }

    #[test]
    fn day_numbers_and_parity() {
        let p = paris();
        assert_eq!(epoch_day(utc("1970-01-01T00:00:00Z"), &TimeZone::UTC), 0);
        assert_eq!(epoch_day(utc("1969-12-31T23:59:59Z"), &TimeZone::UTC), -1);
        assert_eq!(parity(-1), Days::Odd);
        assert_eq!(day_of("2026-11-28", &p), 20785);
        assert_eq!(parity(20785), Days::Odd);
        // UTC days match plain division, for any instant.
        for s in [0i64, 1_790_000_000, -86_401, 4_102_444_799] {
            assert_eq!(epoch_day(at(s), &TimeZone::UTC), s.div_euclid(DAY));
        }
    }

    #[test]
    fn parity_keeps_alternating_across_month_and_year_ends() {
        let p = paris();
        for (a, b) in [
            ("2026-01-31", "2026-02-01"),
            ("2026-03-31", "2026-04-01"),
            ("2026-08-31", "2026-09-01"),
            ("2026-12-31", "2027-01-01"),
        ] {
            let (da, db) = (day_of(a, &p), day_of(b, &p));
            assert_eq!(db, da + 1, "{a} → {b}");
            assert_ne!(parity(da), parity(db), "{a} → {b}");
        }
        // The 31st and the 1st after it are both odd days of the month, not of the epoch.
        assert_eq!(parity(day_of("2026-12-31", &p)), Days::Even);
        assert_eq!(parity(day_of("2027-01-01", &p)), Days::Odd);
    }

    #[test]
    fn leap_day_is_a_day_of_its_own() {
        let p = paris();
        let feb28 = day_of("2028-02-28", &p);
        assert_eq!(day_of("2028-02-29", &p), feb28 + 1);
        assert_eq!(day_of("2028-03-01", &p), feb28 + 2);
        assert_eq!(parity(day_of("2028-02-29", &p)), Days::Odd);
        // An odd copy's leap-day backup is on its day; the next one is due on 2 March.
        let odd = copy(Days::Odd, 24, 30);
        let newest = local("2028-02-29T23:00");
        assert!(!wrong_parity(Days::Odd, newest, &p));
        assert_eq!(next_due(&odd, newest, &p), local("2028-03-02T23:00"));
    }

    #[test]
    fn utc_and_paris_disagree_after_23_00_utc() {
        let p = paris();
        let t = utc("2026-11-28T23:30:00Z");
        assert_eq!(epoch_day(t, &TimeZone::UTC), 20785);
        assert_eq!(epoch_day(t, &p), 20786);
        assert!(wrong_parity(Days::Even, t, &TimeZone::UTC));
        assert!(!wrong_parity(Days::Even, t, &p));
        // Summer: Paris is two hours ahead.
        let t = utc("2026-07-01T22:30:00Z");
        assert_eq!(epoch_day(t, &p), epoch_day(t, &TimeZone::UTC) + 1);
    }

    #[test]
    fn spring_forward_day() {
        let p = paris();
        // 2026-03-29 (odd) has no 02:30: a cron at 02:30 runs at 03:30 CEST.
        let t = local("2026-03-29T02:30");
        assert_eq!(t, utc("2026-03-29T01:30:00Z"));
        assert_eq!(epoch_day(t, &p), 20541);
        assert!(!wrong_parity(Days::Odd, t, &p));
        assert_eq!(day_start(20541, &p), utc("2026-03-28T23:00:00Z"));
        assert_eq!(day_start(20542, &p), utc("2026-03-29T22:00:00Z"));
        // An even copy at 02:30 on the 28th is next due at 02:30 on the 30th: 47 h later,
        // and it is late past that plus grace, not 48 h plus grace.
        let even = copy(Days::Even, 24, 30);
        let newest = local("2026-03-28T02:30");
        let due = next_due(&even, newest, &p);
        assert_eq!(due, local("2026-03-30T02:30"));
        assert_eq!(due.as_second() - newest.as_second(), 47 * 3600);
        assert!(!assess(&even, newest, &p, local("2026-03-30T02:59")).late);
        assert!(assess(&even, newest, &p, local("2026-03-30T03:01")).late);
    }

    #[test]
    fn fall_back_day() {
        let p = paris();
        // 2026-10-25 (odd) has 02:30 twice: both are on that day.
        let first = utc("2026-10-25T00:30:00Z");
        let second = utc("2026-10-25T01:30:00Z");
        for t in [first, second] {
            assert_eq!(epoch_day(t, &p), 20751);
            assert!(!wrong_parity(Days::Odd, t, &p));
            assert!(wrong_parity(Days::Even, t, &p));
        }
        assert_eq!(
            day_start(20752, &p).as_second() - day_start(20751, &p).as_second(),
            25 * 3600
        );
        // An even copy at 23:00 on the 24th: the next one, at 23:00 on the 26th, is 49 h
        // later and on time.
        let even = copy(Days::Even, 24, 30);
        let newest = local("2026-10-24T23:00");
        assert_eq!(next_due(&even, newest, &p), local("2026-10-26T23:00"));
        let a = assess(&even, newest, &p, local("2026-10-26T23:20"));
        assert!(!a.late && !a.wrong_parity);
        assert_eq!(a.due_day, 20752);
        assert!(assess(&even, newest, &p, local("2026-10-26T23:31")).late);
        // The odd copy's 02:30 backup (either one) is next due at 02:30 on the 27th.
        let odd = copy(Days::Odd, 24, 30);
        assert_eq!(next_due(&odd, second, &p), local("2026-10-27T02:30"));
    }

    #[test]
    fn daily_parity_copy_is_late_past_48h_plus_grace() {
        let p = paris();
        let even = copy(Days::Even, 24, 30);
        let newest = local("2026-11-27T23:00"); // even
        let now_ok = local("2026-11-29T23:29");
        let now_late = local("2026-11-29T23:31");
        assert!(!assess(&even, newest, &p, now_ok).late);
        assert!(assess(&even, newest, &p, now_late).late);
        // The last slot agrees: before it means late.
        assert!(newest >= last_slot(&even, &p, now_ok));
        assert!(newest < last_slot(&even, &p, now_late));
        assert_eq!(last_slot(&even, &p, now_late), local("2026-11-27T23:01"));
        // A backup at 01:00 on its day is held to the same 48 h.
        let early = local("2026-11-27T01:00");
        assert_eq!(next_due(&even, early, &p), local("2026-11-29T01:00"));
    }

    #[test]
    fn all_copies_are_late_past_every_plus_grace() {
        let p = paris();
        let c = copy(Days::All, 2, 15);
        let newest = utc("2026-11-28T20:00:00Z");
        assert_eq!(next_due(&c, newest, &p), utc("2026-11-28T22:00:00Z"));
        assert!(!assess(&c, newest, &p, utc("2026-11-28T22:15:00Z")).late);
        assert!(assess(&c, newest, &p, utc("2026-11-28T22:15:01Z")).late);
        let now = utc("2026-11-28T23:00:00Z");
        assert_eq!(last_slot(&c, &p, now), utc("2026-11-28T20:45:00Z"));
    }

    #[test]
    fn sub_daily_parity_copy_waits_over_the_skipped_day() {
        let p = paris();
        let c = copy(Days::Even, 2, 10);
        // Last run of an even day at 22:00; next at 00:00 of the next even day.
        let newest = local("2026-11-27T22:00");
        assert_eq!(next_due(&c, newest, &p), local("2026-11-29T00:00"));
        // Within an even day, a 6 h gap is late.
        let newest = local("2026-11-29T08:00");
        assert!(assess(&c, newest, &p, local("2026-11-29T14:00")).late);
    }

    #[test]
    fn wrong_day_backup_is_flagged_and_counts_from_the_next_right_day() {
        let p = paris();
        let even = copy(Days::Even, 24, 30);
        let newest = local("2026-11-28T23:00"); // odd
        let a = assess(&even, newest, &p, local("2026-11-29T01:00"));
        assert!(a.wrong_parity && !a.late);
        assert_eq!(a.due, local("2026-11-30T00:00"));
    }

    #[test]
    fn long_intervals_and_extremes_do_not_panic() {
        let p = paris();
        let weekly = copy(Days::Odd, 24 * 7, 0);
        let newest = local("2026-11-28T12:00");
        let due = next_due(&weekly, newest, &p);
        let gap = due.as_second() - newest.as_second();
        assert!((13 * DAY..=15 * DAY).contains(&gap), "{gap}");
        let back = last_slot(&weekly, &p, due);
        assert!((back.as_second() - newest.as_second()).abs() <= DAY);
        let huge = Copy {
            every: Duration::from_secs(u64::MAX),
            grace: Duration::from_secs(u64::MAX),
            ..weekly.clone()
        };
        for t in [Timestamp::MIN, Timestamp::MAX, Timestamp::UNIX_EPOCH] {
            let _ = assess(&huge, t, &p, t);
            let _ = assess(&weekly, t, &p, Timestamp::MAX);
            let _ = last_slot(&huge, &p, t);
            let _ = last_slot(&weekly, &p, t);
        }
        assert_eq!(next_due(&huge, newest, &p), at(max_s()));
    }

    #[test]
    fn combined_intervals() {
        let e = copy(Days::Even, 24, 0);
        let o = copy(Days::Odd, 24, 0);
        let a = copy(Days::All, 2, 0);
        assert_eq!(combined_interval(&[e.clone(), o.clone()]), Some(DAY));
        assert_eq!(combined_interval(std::slice::from_ref(&e)), Some(2 * DAY));
        assert_eq!(combined_interval(&[e, o, a]), Some(7200));
        assert_eq!(combined_interval(&[]), None);
        assert_eq!(max_gap(&copy(Days::Odd, 24, 0)), 2 * DAY);
    }
}
