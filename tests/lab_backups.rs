//! Backups read on the lab's real backup servers (SPEC §5): files planted on backup-a and
//! backup-b with chosen capture times (real pg_dump files of prod's PostgreSQL, an rsync'd
//! tree of prod's files, or planted bytes), read by the probe over SSH, judged by `vigie check`.

mod common;

use common::lab::Lab;
use common::site::{HOUR, check_json, files_dataset, now, write_config};
use serde_json::Value;

/// Empty both backup servers' /var/backups, then lay out the directories.
fn reset(lab: &Lab) {
    for host in ["backup-a", "backup-b", "prod"] {
        lab.sh(
            host,
            "rm -rf /var/backups/* && mkdir -p /var/backups/userdb /var/backups/files",
        );
    }
}

/// A finished backup file whose data was taken `age` seconds ago.
fn plant(lab: &Lab, host: &str, path: &str, age: i64, bytes: u64) {
    let at = now() - age;
    lab.sh(
        host,
        &format!("head -c {bytes} /dev/zero > {path} && touch -d @{at} {path}"),
    );
}

fn dataset<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["datasets"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["name"] == name))
        .unwrap_or_else(|| panic!("no dataset {name} in {doc:#}"))
}

fn check_of<'a>(ds: &'a Value, id: &str) -> &'a Value {
    ds["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {ds:#}"))
}

const USERDB: &str = r#"
[[datasets]]
name = "userdb"
max_loss = "2h"
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/userdb"
every = "2h"
pattern = "userdb-*.dump"
[[datasets.copies]]
host = "backup-b"
path = "/var/backups/userdb"
every = "2h"
pattern = "userdb-*.dump"
"#;

#[test]
fn a_fresh_dump_is_ok_and_the_window_is_its_age() {
    let lab = Lab::require();
    reset(&lab);
    assert_eq!(
        lab.pg_sql("prod", "select count(*) from users").trim(),
        "1000"
    );
    // Real dumps of prod's database, taken over the lab network by each backup server.
    for (k, host) in [(0, "backup-a"), (1, "backup-b")] {
        for i in 0..4 {
            let age = 30 * 60 + k * 10 * 60 + i * 2 * HOUR;
            lab.pg_dump_to(
                "prod",
                host,
                &format!("/var/backups/userdb/userdb-{i}.dump"),
                age,
            );
        }
    }
    let newest_bytes: u64 = lab
        .sh("backup-a", "stat -c %s /var/backups/userdb/userdb-0.dump")
        .trim()
        .parse()
        .unwrap();
    assert!(
        newest_bytes > 4096,
        "a dump of 1000 rows: {newest_bytes} bytes"
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, doc) = check_json(&write_config(&lab, dir.path(), USERDB), None);
    let ds = dataset(&doc, "userdb");
    assert_eq!(ds["state"], "OK", "{ds:#}");
    let window = ds["loss_window_s"].as_i64().unwrap();
    assert!(
        (window - 30 * 60).abs() < 120,
        "window {window} s for a dump planted 30 min ago"
    );
    assert_eq!(ds["newest"]["host"], "backup-a");
    assert_eq!(ds["newest"]["bytes"], newest_bytes);
    assert_eq!(ds["max_loss_s"], 7200);
    assert_eq!(check_of(ds, "backup.userdb.backup-a")["state"], "OK");
    assert_eq!(
        check_of(ds, "backup.userdb.policy")["state"],
        "OK",
        "{ds:#}"
    );
    assert_eq!(code, 0, "{doc:#}");
}

#[test]
fn no_dump_for_2h30_is_crit() {
    let lab = Lab::require();
    reset(&lab);
    for host in ["backup-a", "backup-b"] {
        plant(
            &lab,
            host,
            "/var/backups/userdb/userdb-old.dump",
            2 * HOUR + 35 * 60,
            4096,
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let (code, doc) = check_json(&write_config(&lab, dir.path(), USERDB), None);
    let ds = dataset(&doc, "userdb");
    assert_eq!(
        check_of(ds, "backup.userdb.loss_window")["state"],
        "CRIT",
        "{ds:#}"
    );
    assert_eq!(
        check_of(ds, "backup.userdb.backup-a")["state"],
        "CRIT",
        "{ds:#}"
    );
    assert_eq!(ds["state"], "CRIT");
    assert_eq!(doc["state"], "CRIT");
    assert_eq!(code, 2);
}

#[test]
fn a_half_written_dump_is_not_a_backup() {
    let lab = Lab::require();
    reset(&lab);
    for host in ["backup-a", "backup-b"] {
        plant(
            &lab,
            host,
            "/var/backups/userdb/userdb-good.dump",
            50 * 60,
            4096,
        );
    }
    // A dump still being written on backup-a: newer, but not complete.
    lab.sh(
        "backup-a",
        "head -c 100 /dev/zero > /var/backups/userdb/userdb-new.dump; \
         (exec 3>>/var/backups/userdb/userdb-new.dump; exec sleep 30) >/dev/null 2>&1 & \
         echo $! > /run/vigie-test-writer.pid",
    );
    let dir = tempfile::tempdir().unwrap();
    let (_, doc) = check_json(&write_config(&lab, dir.path(), USERDB), None);
    let ds = dataset(&doc, "userdb");
    let window = ds["loss_window_s"].as_i64().unwrap();
    assert!(
        (window - 50 * 60).abs() < 120,
        "the half-written dump counted: window {window} s\n{ds:#}"
    );
    assert_eq!(ds["state"], "OK", "{ds:#}");
    lab.sh(
        "backup-a",
        "kill $(cat /run/vigie-test-writer.pid) 2>/dev/null; rm -f /run/vigie-test-writer.pid",
    );
}

#[test]
fn both_servers_in_productions_datacenter_break_the_policy() {
    let lab = Lab::require();
    reset(&lab);
    for host in ["backup-a", "prod"] {
        plant(
            &lab,
            host,
            "/var/backups/userdb/userdb-0.dump",
            20 * 60,
            4096,
        );
    }
    let datasets = USERDB.replace("host = \"backup-b\"", "host = \"prod\"");
    let dir = tempfile::tempdir().unwrap();
    let (code, doc) = check_json(&write_config(&lab, dir.path(), &datasets), None);
    let ds = dataset(&doc, "userdb");
    let policy = check_of(ds, "backup.userdb.policy");
    assert_eq!(policy["state"], "WARN", "{policy}");
    assert!(
        policy["summary"].as_str().unwrap().contains("dc1"),
        "{policy}"
    );
    assert_eq!(check_of(ds, "backup.userdb.loss_window")["state"], "OK");
    assert_eq!(code, 1, "{doc:#}");
}

#[test]
fn an_even_day_server_that_missed_its_slot_is_crit_while_the_dataset_holds() {
    let lab = Lab::require();
    reset(&lab);
    // Day parity is the day number since the epoch in the site's zone (Europe/Paris).
    let tz = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let today = jiff::Timestamp::now().to_zoned_datetime(tz.clone()).date();
    let day_number = |d: jiff::civil::Date| (d - jiff::civil::date(1970, 1, 1)).get_days() as i64;
    let at_3am = |d: jiff::civil::Date| {
        d.at(3, 0, 0, 0)
            .to_zoned_datetime(tz.clone())
            .unwrap()
            .timestamp()
            .as_second()
    };
    // The latest odd day whose 03:00 has passed, and an even day four slots back.
    let mut odd = today;
    while day_number(odd) % 2 == 0 || at_3am(odd) > now() {
        odd = odd.yesterday().unwrap();
    }
    let mut even = today;
    while day_number(even) % 2 != 0 || at_3am(even) > now() {
        even = even.yesterday().unwrap();
    }
    let even_missed = even.checked_sub(jiff::Span::new().days(4)).unwrap();
    plant(
        &lab,
        "backup-b",
        "/var/backups/files/files-odd.tar",
        now() - at_3am(odd),
        1 << 20,
    );
    plant(
        &lab,
        "backup-a",
        "/var/backups/files/files-even.tar",
        now() - at_3am(even_missed),
        1 << 20,
    );
    let datasets = format!("\n{}", files_dataset("72h"));
    let dir = tempfile::tempdir().unwrap();
    let (_, doc) = check_json(&write_config(&lab, dir.path(), &datasets), None);
    let ds = dataset(&doc, "files");
    assert_eq!(
        check_of(ds, "backup.files.backup-a")["state"],
        "CRIT",
        "{ds:#}"
    );
    assert_eq!(
        check_of(ds, "backup.files.backup-b")["state"],
        "OK",
        "{ds:#}"
    );
    assert_eq!(
        check_of(ds, "backup.files.loss_window")["state"],
        "OK",
        "{ds:#}"
    );
    assert_eq!(check_of(ds, "backup.files.policy")["state"], "OK", "{ds:#}");
    let copies = ds["copies"].as_array().unwrap();
    assert_eq!(copies[0]["days"], "even");
    assert_eq!(copies[1]["datacenter"], "dc2");
}

#[test]
fn an_rsynced_tree_is_a_directory_backup_and_the_window_is_its_age() {
    let lab = Lab::require();
    reset(&lab);
    lab.sh(
        "prod",
        "rm -rf /srv/www && mkdir -p /srv/www/img /srv/www/css && \
         echo '<h1>lab</h1>' > /srv/www/index.html && \
         head -c 20000 /dev/urandom > /srv/www/img/logo.png && \
         echo 'body {}' > /srv/www/css/site.css",
    );
    // backup-b pulls the tree from prod over the lab network (dc2 <- dc1), with ssh.
    let age = 5 * HOUR + 20 * 60;
    let at = now() - age;
    let date = jiff::Timestamp::from_second(at)
        .unwrap()
        .to_zoned_datetime(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .strftime("%Y-%m-%d")
        .to_string();
    let dest = format!("/var/backups/files/files-{date}");
    let lab_dir = lab.dir().display();
    lab.sh(
        "backup-b",
        &format!(
            "rsync -a -e 'ssh -i {lab_dir}/client/id_ed25519 -o UserKnownHostsFile={lab_dir}/known_hosts \
             -o StrictHostKeyChecking=yes -o BatchMode=yes' root@{prod}:/srv/www/ {dest}/ && \
             find {dest} -exec touch -h -d @{at} {{}} +",
            prod = lab.address("prod"),
        ),
    );
    assert_eq!(
        lab.sh("backup-b", &format!("cat {dest}/index.html")),
        "<h1>lab</h1>\n"
    );
    // The probe counts a directory's bytes as du does: the blocks of the whole tree.
    let tree_bytes: u64 = lab
        .sh("backup-b", &format!("du -sk {dest} | cut -f1"))
        .trim()
        .parse::<u64>()
        .unwrap()
        * 1024;
    let datasets = r#"
[[datasets]]
name = "www"
max_loss = "30h"
[[datasets.copies]]
host = "backup-b"
path = "/var/backups/files"
every = "24h"
pattern = "files-*"
"#;
    let dir = tempfile::tempdir().unwrap();
    let (_, doc) = check_json(&write_config(&lab, dir.path(), datasets), None);
    let ds = dataset(&doc, "www");
    assert_eq!(ds["newest"]["host"], "backup-b", "{ds:#}");
    // Read as a directory: the bytes of its whole tree, not the size of the directory entry.
    assert_eq!(ds["newest"]["bytes"], tree_bytes, "{ds:#}");
    let window = ds["loss_window_s"].as_i64().unwrap();
    assert!(
        (window - age).abs() < 120,
        "window {window} s for a tree rsync'd {age} s ago\n{ds:#}"
    );
    assert_eq!(check_of(ds, "backup.www.backup-b")["state"], "OK", "{ds:#}");
    assert_eq!(
        check_of(ds, "backup.www.loss_window")["state"],
        "OK",
        "{ds:#}"
    );
    lab.sh("prod", "rm -rf /srv/www");
}

/// Real restic and borg repositories on the backup servers, with snapshots and archives
/// dated to chosen capture times (`restic backup --time`, `borg create --timestamp`): the
/// window is the newest snapshot's age; a borg checkpoint is no backup.
#[test]
fn restic_and_borg_repositories_are_read_for_real() {
    let lab = Lab::require();
    reset(&lab);
    lab.sh(
        "prod",
        "rm -rf /srv/www && mkdir -p /srv/www && echo '<h1>lab</h1>' > /srv/www/index.html",
    );
    // restic on backup-b: two snapshots, 3 h 10 min and 70 min ago (host local time).
    let restic_ages = [3 * HOUR + 10 * 60, 70 * 60];
    let mut script = String::from(
        "set -e; rm -rf /var/backups/userdb-restic /var/backups/restic.pass; \
         echo lab-secret > /var/backups/restic.pass; \
         export RESTIC_PASSWORD_FILE=/var/backups/restic.pass RESTIC_CACHE_DIR=/var/backups/.cache; \
         restic init -q -r /var/backups/userdb-restic; \
         mkdir -p /tmp/restic-src && echo data > /tmp/restic-src/users.sql; ",
    );
    for age in restic_ages {
        script.push_str(&format!(
            "restic backup -q -r /var/backups/userdb-restic --time \"$(date -d @{} '+%Y-%m-%d %H:%M:%S')\" /tmp/restic-src; ",
            now() - age
        ));
    }
    lab.sh("backup-b", &script);
    // borg on backup-a: an archive 5 h ago and a newer checkpoint (an interrupted backup).
    let utc = |age: i64| {
        jiff::Timestamp::from_second(now() - age)
            .unwrap()
            .strftime("%Y-%m-%dT%H:%M:%S")
            .to_string()
    };
    lab.sh(
        "backup-a",
        &format!(
            "set -e; rm -rf /var/backups/files-borg; export BORG_BASE_DIR=/var/backups/.borg; \
             borg init -e none /var/backups/files-borg; \
             borg create --timestamp {old} /var/backups/files-borg::files-old /etc/hostname; \
             borg create --timestamp {new} /var/backups/files-borg::files-new.checkpoint /etc/hostname",
            old = utc(5 * HOUR),
            new = utc(HOUR),
        ),
    );
    let datasets = r#"
[[datasets]]
name = "userdb"
max_loss = "2h"
[[datasets.copies]]
host = "backup-b"
path = "/var/backups/userdb-restic"
every = "2h"
format = "restic"
password_file = "/var/backups/restic.pass"

[[datasets]]
name = "files"
max_loss = "24h"
[[datasets.copies]]
host = "backup-a"
path = "/var/backups/files-borg"
every = "24h"
format = "borg"
"#;
    let dir = tempfile::tempdir().unwrap();
    let (_, doc) = check_json(&write_config(&lab, dir.path(), datasets), None);
    let userdb = dataset(&doc, "userdb");
    let window = userdb["loss_window_s"].as_i64().unwrap();
    assert!(
        (window - 70 * 60).abs() < 120,
        "restic: window {window} s for a snapshot taken 70 min ago\n{userdb:#}"
    );
    assert_eq!(
        check_of(userdb, "backup.userdb.backup-b")["state"],
        "OK",
        "{userdb:#}"
    );
    let files = dataset(&doc, "files");
    let window = files["loss_window_s"].as_i64().unwrap();
    assert!(
        (window - 5 * HOUR).abs() < 120,
        "borg: window {window} s: the checkpoint of 1 h ago is no backup, the archive of 5 h is\n{files:#}"
    );
    assert_eq!(
        check_of(files, "backup.files.backup-a")["state"],
        "OK",
        "{files:#}"
    );
    // A wrong password is a reason, not a crash.
    lab.sh("backup-b", "echo wrong > /var/backups/restic.pass");
    let (_, doc) = check_json(&write_config(&lab, dir.path(), datasets), None);
    let copy = check_of(dataset(&doc, "userdb"), "backup.userdb.backup-b");
    assert_eq!(copy["state"], "UNKNOWN", "{copy:#}");
    assert!(
        copy["summary"].as_str().unwrap().contains("password"),
        "{copy:#}"
    );
    lab.sh(
        "backup-a",
        "rm -rf /var/backups/files-borg /var/backups/.borg",
    );
    lab.sh("backup-b", "rm -rf /var/backups/userdb-restic /var/backups/restic.pass /var/backups/.cache /tmp/restic-src");
    lab.sh("prod", "rm -rf /srv/www");
}
