use std::time::Duration;

use super::*;
use crate::backup::model::{BackupFormat, Copy};

fn paris() -> TimeZone {
    TimeZone::get("Europe/Paris").expect("tzdata")
}

fn utc(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn local(s: &str) -> Timestamp {
    let dt: jiff::civil::DateTime = s.parse().unwrap();
    dt.to_zoned_datetime(paris()).unwrap().timestamp()
}

fn hosts() -> HostsInfo {
    HostsInfo {
        datacenters: [("prod", "dc1"), ("backup-a", "dc1"), ("backup-b", "dc2")]
            .into_iter()
            .map(|(h, d)| (h.to_string(), d.to_string()))
            .collect(),
        production_datacenter: Some("dc1".into()),
    }
}

fn copy(host: &str, days: Days, every_h: u64, grace_min: u64) -> Copy {
    Copy {
        host: host.into(),
        path: format!("/var/backups/{host}"),
        every: Duration::from_secs(every_h * 3600),
        days,
        format: BackupFormat::Files {
            pattern: "*.dump".into(),
        },
        grace: Duration::from_secs(grace_min * 60),
    }
}

fn dataset(name: &str, max_loss_h: u64, copies: Vec<Copy>) -> Dataset {
    Dataset {
        name: name.into(),
        max_loss: Duration::from_secs(max_loss_h * 3600),
        restore: None,
        copies,
    }
}

fn userdb() -> Dataset {
    dataset(
        "userdb",
        2,
        vec![
            copy("backup-a", Days::All, 2, 15),
            copy("backup-b", Days::All, 2, 15),
        ],
    )
}

fn files() -> Dataset {
    dataset(
        "files",
        24,
        vec![
            copy("backup-a", Days::Even, 24, 60),
            copy("backup-b", Days::Odd, 24, 60),
        ],
    )
}

fn backup(captured: Timestamp) -> Backup {
    Backup {
        captured_at: captured,
        finished_at: None,
        bytes: Some(123_456),
        name: "userdb.dump".into(),
    }
}

fn found(captures: &[Timestamp]) -> CopyReading {
    CopyReading::Found(captures.iter().map(|&t| backup(t)).collect())
}

fn check<'a>(r: &'a DatasetReport, suffix: &str) -> &'a Check {
    let id = format!("backup.{}.{suffix}", r.name);
    r.checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no {id} in {:#?}", r.checks))
}

fn eval(ds: &Dataset, readings: &[CopyReading], now: Timestamp) -> DatasetReport {
    let r: Vec<_> = readings
        .iter()
        .enumerate()
        .map(|(i, r)| (i, Some(r)))
        .collect();
    evaluate(ds, &r, &hosts(), &paris(), now)
}

#[test]
fn fresh_two_hourly_dump_is_ok() {
    let now = utc("2026-11-28T23:00:00Z");
    let ds = userdb();
    let a = found(&[utc("2026-11-28T22:08:00Z"), utc("2026-11-28T20:08:00Z")]);
    let b = found(&[utc("2026-11-28T22:00:00Z")]);
    let r = eval(&ds, &[a, b], now);
    assert_eq!(r.state, State::Ok, "{:#?}", r.checks);
    assert_eq!(r.loss_window_s, Some(3120));
    let lw = check(&r, "loss_window");
    assert_eq!(lw.summary, "52 min of 2 h");
    assert_eq!(lw.value, Some(3120.0));
    let ca = check(&r, "backup-a");
    // 23:00 UTC is already midnight in Paris: due at 01:08 local, the same day.
    assert_eq!(ca.summary, "52 min old, next due 01:08");
    assert_eq!((ca.value, ca.unit), (Some(3120.0), Some("s")));
    assert_eq!(
        check(&r, "policy").summary,
        "2 servers, dc2 outside production's dc1, every 2 h on each"
    );
    assert_eq!(r.worst_next_s, Some(7200));
    let lost: Vec<String> = r.if_lost.iter().map(IfLost::describe).collect();
    assert_eq!(lost, ["backup-a lost → 1 h", "backup-b lost → 52 min"]);
    assert!(r.if_lost.iter().all(|l| l.others_read));
    // "next due 23:00" when the slot is later the same day.
    let r = eval(
        &ds,
        &[found(&[local("2026-11-28T21:00")])],
        local("2026-11-28T21:52"),
    );
    assert_eq!(check(&r, "backup-a").summary, "52 min old, next due 23:00");
}

#[test]
fn json_has_the_spec_shape() {
    let now = utc("2026-11-28T23:00:00Z");
    let a = found(&[utc("2026-11-28T22:08:00Z")]);
    let ds = dataset("userdb", 2, vec![copy("backup-a", Days::All, 2, 15)]);
    let r = eval(&ds, &[a], now);
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["name"], "userdb");
    assert_eq!(v["max_loss_s"], 7200);
    assert_eq!(v["loss_window_s"], 3120);
    assert_eq!(v["state"], "WARN"); // one server: policy
    assert_eq!(
        v["newest"],
        serde_json::json!({"host":"backup-a","captured_at":"2026-11-28T22:08:00Z","bytes":123456})
    );
    assert_eq!(
        v["copies"],
        serde_json::json!([{"host":"backup-a","datacenter":"dc1","days":"all",
            "captured_at":"2026-11-28T22:08:00Z","age_s":3120,"state":"OK",
            "next_due":"2026-11-29T00:08:00Z"}])
    );
    assert_eq!(
        v["checks"][1],
        serde_json::json!({"id":"backup.userdb.loss_window","state":"OK",
            "summary":"52 min of 2 h; losing backup-a would leave no backup",
            "value":3120.0,"unit":"s"})
    );
    assert_eq!(v["worst_next_s"], 7200);
    assert_eq!(
        v["if_lost"],
        serde_json::json!([{"host":"backup-a","loss_window_s":null,"others_read":true}])
    );
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for k in [
        "name",
        "max_loss_s",
        "loss_window_s",
        "state",
        "newest",
        "copies",
        "checks",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
}

#[test]
fn no_dump_for_two_and_a_half_hours_is_crit() {
    let now = utc("2026-11-28T23:00:00Z");
    let last = utc("2026-11-28T20:30:00Z");
    let r = eval(&userdb(), &[found(&[last]), found(&[last])], now);
    let ca = check(&r, "backup-a");
    assert_eq!(ca.state, State::Crit);
    assert!(
        ca.summary.starts_with("missed slot due yesterday 23:30"),
        "{}",
        ca.summary
    );
    assert!(
        ca.summary
            .ends_with("+ 15 min grace: newest 2 h 30 min old")
    );
    let lw = check(&r, "loss_window");
    assert_eq!(lw.state, State::Crit);
    assert_eq!(lw.summary, "2 h 30 min of 2 h");
    assert_eq!(r.state, State::Crit);
    // Between 75 % and 100 % of max_loss: WARN.
    let r = eval(&userdb(), &[found(&[utc("2026-11-28T21:25:00Z")])], now);
    assert_eq!(check(&r, "loss_window").state, State::Warn);
}

#[test]
fn even_server_missing_its_slot_is_covered_by_the_odd_one() {
    let now = local("2026-11-28T23:50"); // an odd day
    let a = found(&[local("2026-11-25T23:00")]); // even: missed the 27th
    let b = found(&[local("2026-11-28T23:00"), local("2026-11-26T23:00")]);
    let r = eval(&files(), &[a, b], now);
    let ca = check(&r, "backup-a");
    assert_eq!(ca.state, State::Crit);
    assert!(
        ca.summary
            .starts_with("missed slot due yesterday 23:00 + 1 h grace, even day: newest 3 d old"),
        "{}",
        ca.summary
    );
    assert_eq!(check(&r, "backup-b").state, State::Ok);
    let lw = check(&r, "loss_window");
    assert_eq!(lw.state, State::Ok);
    assert_eq!(
        lw.summary,
        "50 min of 24 h; losing backup-b would make it 3 d"
    );
    assert_eq!(r.loss_window_s, Some(50 * 60));
    assert_eq!(r.newest.as_ref().unwrap().host, "backup-b");
    let policy = check(&r, "policy");
    assert_eq!(policy.state, State::Ok);
    assert_eq!(
        policy.summary,
        "2 servers, dc2 outside production's dc1, even/odd"
    );
    assert_eq!(r.state, State::Crit);
}

#[test]
fn both_parity_servers_on_time() {
    let now = local("2026-11-29T10:00"); // even
    let a = found(&[local("2026-11-27T23:00")]);
    let b = found(&[local("2026-11-28T23:00")]);
    let r = eval(&files(), &[a, b], now);
    assert_eq!(r.state, State::Ok, "{:#?}", r.checks);
    assert_eq!(check(&r, "backup-a").summary, "35 h old, next due 23:00");
    assert_eq!(
        check(&r, "backup-b").summary,
        "11 h old, next due tomorrow 23:00"
    );
    assert_eq!(r.worst_next_s, Some(86_400));
}

#[test]
fn backup_on_the_wrong_parity_day_warns() {
    let now = local("2026-11-29T01:00");
    let a = found(&[local("2026-11-28T23:00")]); // odd day, even copy
    let b = found(&[local("2026-11-28T23:00")]);
    let r = eval(&files(), &[a, b], now);
    let ca = check(&r, "backup-a");
    assert_eq!(ca.state, State::Warn);
    assert!(
        ca.summary
            .contains("taken on an odd day: this copy runs on even days")
    );
}

#[test]
fn combined_servers_late_past_their_interval_plus_grace() {
    // A lenient max_loss (3 d): neither server is late on its own 48 h, but nothing at all
    // for more than 24 h + grace is.
    let mut ds = files();
    ds.max_loss = Duration::from_secs(3 * 86_400);
    let now = local("2026-11-28T02:30");
    let a = found(&[local("2026-11-27T01:00")]);
    let b = found(&[local("2026-11-26T03:00")]);
    let r = eval(&ds, &[a, b], now);
    assert_eq!(check(&r, "backup-a").state, State::Ok);
    assert_eq!(check(&r, "backup-b").state, State::Ok);
    let lw = check(&r, "loss_window");
    assert_eq!(lw.state, State::Crit, "{}", lw.summary);
    assert!(
        lw.summary
            .contains("no server backed up within 24 h + grace")
    );
}

#[test]
fn both_servers_in_productions_datacenter_warn() {
    let mut h = hosts();
    h.datacenters.insert("backup-b".into(), "dc1".into());
    let now = utc("2026-11-28T23:00:00Z");
    let fresh = found(&[utc("2026-11-28T22:08:00Z")]);
    let r = evaluate(
        &userdb(),
        &[(0, Some(&fresh)), (1, Some(&fresh))],
        &h,
        &paris(),
        now,
    );
    let p = check(&r, "policy");
    assert_eq!(p.state, State::Warn);
    assert_eq!(
        p.summary,
        "policy: no server outside production's datacenter dc1"
    );
    assert_eq!(r.state, State::Warn);
}

#[test]
fn policy_rules() {
    let policy = |copies: Vec<Copy>| {
        let ds = dataset("d", 24, copies);
        let r = evaluate(&ds, &[], &hosts(), &paris(), utc("2026-11-28T23:00:00Z"));
        let c = check(&r, "policy").clone();
        (c.state, c.summary)
    };
    let (s, why) = policy(vec![copy("backup-b", Days::All, 2, 0)]);
    assert_eq!(s, State::Warn);
    assert_eq!(why, "policy: only one backup server (backup-b)");
    let (_, why) = policy(vec![
        copy("backup-b", Days::Even, 24, 0),
        copy("backup-b", Days::Odd, 24, 0),
    ]);
    assert_eq!(why, "policy: only one backup server (backup-b)");
    let (_, why) = policy(vec![
        copy("backup-a", Days::Even, 24, 0),
        copy("backup-b", Days::Even, 24, 0),
    ]);
    assert_eq!(why, "policy: no daily copy on odd days");
    let (_, why) = policy(vec![
        copy("backup-a", Days::Even, 24, 0),
        copy("backup-a", Days::Odd, 24, 0),
        copy("backup-b", Days::All, 24 * 7, 0),
    ]);
    assert_eq!(
        why,
        "policy: even and odd days on the same server (backup-a)"
    );
    let (_, why) = policy(vec![
        copy("backup-a", Days::All, 24 * 7, 0),
        copy("backup-b", Days::All, 24 * 7, 0),
    ]);
    assert_eq!(why, "policy: not backed up daily");
    // An even copy and an `all` copy on another server alternate.
    let (s, why) = policy(vec![
        copy("backup-a", Days::Even, 24, 0),
        copy("backup-b", Days::All, 24, 0),
    ]);
    assert_eq!(
        (s, why.as_str()),
        (
            State::Ok,
            "2 servers, dc2 outside production's dc1, even/odd"
        )
    );
    let (s, why) = policy(vec![]);
    assert_eq!(s, State::Warn);
    assert_eq!(why, "policy: no backup server");
    // Production's datacenter unknown.
    let ds = userdb();
    let mut h = hosts();
    h.production_datacenter = None;
    let r = evaluate(&ds, &[], &h, &paris(), utc("2026-11-28T23:00:00Z"));
    assert_eq!(
        check(&r, "policy").summary,
        "policy: production's datacenter is not known"
    );
}

#[test]
fn unreachable_servers_are_unknown_not_ok() {
    let now = utc("2026-11-28T23:00:00Z");
    let r = evaluate(&userdb(), &[(0, None), (1, None)], &hosts(), &paris(), now);
    assert_eq!(check(&r, "backup-a").state, State::Unknown);
    assert_eq!(
        check(&r, "backup-a").summary,
        "not read: backup-a unreachable or not probed yet"
    );
    let lw = check(&r, "loss_window");
    assert_eq!(lw.state, State::Unknown);
    assert_eq!(lw.summary, "no copy could be read (backup-a, backup-b)");
    assert_eq!(r.loss_window_s, None);
    assert_eq!(r.newest, None);
    assert_eq!(r.state, State::Unknown);
    assert!(
        r.copies
            .iter()
            .all(|c| c.state == State::Unknown && c.age_s.is_none())
    );
    // Not read at all, or unreadable: UNKNOWN too, saying which.
    let locked = CopyReading::Unreadable("restic: repository is locked".into());
    let r = evaluate(&userdb(), &[(1, Some(&locked))], &hosts(), &paris(), now);
    assert_eq!(check(&r, "backup-a").summary, "backup-a not read");
    assert_eq!(
        check(&r, "backup-b").summary,
        "cannot read /var/backups/backup-b: restic: repository is locked"
    );
    assert_eq!(r.state, State::Unknown);
}

#[test]
fn one_server_unreachable_still_gives_a_window() {
    let now = utc("2026-11-28T23:00:00Z");
    let fresh = found(&[utc("2026-11-28T22:08:00Z")]);
    let r = evaluate(
        &userdb(),
        &[(0, Some(&fresh)), (1, None)],
        &hosts(),
        &paris(),
        now,
    );
    let lw = check(&r, "loss_window");
    assert_eq!(lw.state, State::Ok);
    // Whether backup-b holds anything is not known: losing backup-a is not "no backup".
    assert_eq!(lw.summary, "52 min of 2 h (backup-b not read)");
    let lost: Vec<String> = r.if_lost.iter().map(IfLost::describe).collect();
    assert_eq!(
        lost,
        [
            "backup-a lost → unknown (not read)",
            "backup-b lost → 52 min"
        ]
    );
    assert_eq!(r.state, State::Unknown);
}

#[test]
fn no_backup_at_all_is_crit() {
    let now = utc("2026-11-28T23:00:00Z");
    let r = eval(&userdb(), &[found(&[]), found(&[])], now);
    assert_eq!(check(&r, "backup-a").state, State::Crit);
    assert_eq!(
        check(&r, "backup-a").summary,
        "missed slot: no good backup in /var/backups/backup-a"
    );
    assert_eq!(check(&r, "loss_window").summary, "no backup on any server");
    assert_eq!(check(&r, "loss_window").state, State::Crit);
}

#[test]
fn worst_case_adds_the_backup_duration() {
    let now = utc("2026-11-28T23:00:00Z");
    let mut b = backup(utc("2026-11-28T22:08:00Z"));
    b.finished_at = Some(utc("2026-11-28T22:13:30Z"));
    let r = eval(&userdb(), &[CopyReading::Found(vec![b])], now);
    assert_eq!(r.worst_next_s, Some(7200 + 330));
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(v["newest"]["finished_at"], "2026-11-28T22:13:30Z");
}

#[test]
fn newest_is_found_whatever_the_order_and_future_dates_warn() {
    let now = utc("2026-11-28T23:00:00Z");
    let r = eval(
        &userdb(),
        &[found(&[
            utc("2026-11-28T20:00:00Z"),
            utc("2026-11-28T22:00:00Z"),
        ])],
        now,
    );
    assert_eq!(r.copies[0].age_s, Some(3600));
    let r = eval(&userdb(), &[found(&[utc("2026-11-29T01:00:00Z")])], now);
    let ca = check(&r, "backup-a");
    assert_eq!(ca.state, State::Warn);
    assert_eq!(
        ca.summary,
        "newest dated 2 h in the future: check backup-a's clock"
    );
    // A backup dated in the future cannot vouch for the loss window (it would read 0).
    assert_eq!(r.loss_window_s, None);
    assert_ne!(check(&r, "loss_window").state, State::Ok);
    let r = eval(
        &userdb(),
        &[found(&[
            utc("2026-11-29T01:00:00Z"),
            utc("2026-11-28T20:00:00Z"),
        ])],
        now,
    );
    assert_eq!(r.loss_window_s, Some(3 * 3600));
    assert_eq!(check(&r, "loss_window").state, State::Crit);
}

#[test]
fn duplicate_copies_on_one_host_get_distinct_ids() {
    let ds = dataset(
        "d",
        2,
        vec![
            copy("backup-a", Days::All, 2, 0),
            copy("backup-a", Days::All, 2, 0),
        ],
    );
    let r = evaluate(
        &ds,
        &[(0, None), (0, None), (9, None)],
        &hosts(),
        &paris(),
        Timestamp::UNIX_EPOCH,
    );
    let ids: Vec<&str> = r.checks.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids[..2], ["backup.d.backup-a", "backup.d.backup-a#2"]);
    assert_eq!(check(&r, "backup-a#2").summary, "backup-a not read");
}

#[test]
fn local_times_relative_to_now() {
    let tz = paris();
    let now = local("2026-11-28T10:00");
    let cases = [
        ("2026-11-28T23:00", "23:00"),
        ("2026-11-29T01:00", "tomorrow 01:00"),
        ("2026-11-27T23:00", "yesterday 23:00"),
        ("2026-11-30T23:00", "Mon 30 Nov 23:00"),
        ("2026-11-25T08:05", "Wed 25 Nov 08:05"),
        ("2026-12-25T10:00", "2026-12-25 10:00"),
    ];
    for (t, want) in cases {
        assert_eq!(when(local(t), now, &tz), want);
    }
    assert_eq!(when(Timestamp::MAX, now, &tz), "never");
    let c = copy("backup-a", Days::Odd, u64::MAX / 7200, 0);
    let due = crate::backup::schedule::next_due(&c, now, &tz);
    assert_eq!(when(due, now, &tz), "never");
}

#[test]
fn human_durations() {
    let cases = [
        (0, "0 s"),
        (119, "119 s"),
        (3120, "52 min"),
        (7200, "2 h"),
        (9000, "2 h 30 min"),
        (93_600, "26 h"),
        (2 * 86_400 + 3000, "2 d"),
        (3 * 86_400 + 3 * 3600, "3 d 3 h"),
    ];
    for (s, want) in cases {
        assert_eq!(human(s), want);
    }
}

/// Seconds: anywhere in (and beyond) the timestamp range, or near now.
fn any_second() -> impl proptest::strategy::Strategy<Value = i64> {
    use proptest::prelude::*;
    prop_oneof![
        any::<i64>(),
        -400_000_000_000i64..300_000_000_000,
        1_700_000_000i64..1_900_000_000,
    ]
}

/// Durations: anything, or within a few weeks.
fn any_duration() -> impl proptest::strategy::Strategy<Value = u64> {
    use proptest::prelude::*;
    prop_oneof![any::<u64>(), 0u64..3_000_000]
}

proptest::proptest! {
    #[test]
    fn never_panics(
        now in any_second(),
        caps in proptest::collection::vec((any_second(), proptest::option::of(any_second())), 0..4),
        copies in proptest::collection::vec((0u8..3, any_duration(), any_duration(), 0u8..4), 0..4),
        max_loss in any_duration(),
        zone in 0u8..3,
    ) {
        use crate::backup::schedule::at;
        let tz = match zone {
            0 => TimeZone::UTC,
            1 => paris(),
            _ => TimeZone::fixed(jiff::tz::offset(-11)),
        };
        let hosts_list = ["backup-a", "backup-b", "prod", "elsewhere"];
        let ds = Dataset {
            name: "p".into(),
            max_loss: Duration::from_secs(max_loss),
            restore: None,
            copies: copies
                .iter()
                .map(|&(d, every, grace, h)| Copy {
                    every: Duration::from_secs(every),
                    grace: Duration::from_secs(grace),
                    ..copy(hosts_list[usize::from(h)], [Days::All, Days::Even, Days::Odd][usize::from(d)], 0, 0)
                })
                .collect(),
        };
        let reading = CopyReading::Found(
            caps.iter()
                .map(|&(c, f)| Backup {
                    captured_at: at(c),
                    finished_at: f.map(at),
                    bytes: None,
                    name: String::new(),
                })
                .collect(),
        );
        let unreadable = CopyReading::Unreadable("x".into());
        let readings: Vec<_> = (0..ds.copies.len())
            .map(|i| (i, match i % 3 { 0 => Some(&reading), 1 => None, _ => Some(&unreadable) }))
            .collect();
        let r = evaluate(&ds, &readings, &hosts(), &tz, at(now));
        serde_json::to_string(&r).unwrap();
        let r = evaluate(&ds, &[(0, Some(&reading)), (1, Some(&reading))], &hosts(), &tz, at(now));
        serde_json::to_string(&r).unwrap();
        for c in &ds.copies {
            let slot = crate::backup::schedule::last_slot(c, &tz, at(now));
            let _ = when(slot, at(now), &tz);
        }
    }
}
