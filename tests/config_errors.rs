//! `vigie::config::load` over the fixtures in tests/fixtures/config/: every bad file is refused
//! with the exact line and column of the mistake and a message saying what was expected; good
//! files resolve as documented (SPEC §2).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
mod common;

use common::config::{assert_problems, fixture, load_err};
use vigie::checks::range::Range;
use vigie::config::{self, Levels, Role, Thresholds};

fn r(text: &str) -> Option<Range> {
    Some(Range::parse(text).unwrap())
}

/// The OpenSSH client is part of the test environment (tests/lab/install-deps.sh): a missing
/// one fails these tests rather than skipping them.
fn have_ssh() -> bool {
    let found = Command::new("ssh").arg("-V").output().is_ok();
    assert!(
        found,
        "the OpenSSH client is not installed: run tests/lab/install-deps.sh"
    );
    found
}

// ---------------------------------------------------------------------------------------------
// Bad files

#[test]
fn missing_field() {
    assert_problems(
        "missing_field.toml",
        &[(
            7,
            1,
            "missing field `role` in [[hosts]] `prod`: expected one of `production`, `backup`, \
             `drp`, `bastion`",
        )],
    );
}

#[test]
fn wrong_type() {
    assert_problems(
        "wrong_type.toml",
        &[(11, 13, "invalid type: string \"sshd\", expected an array")],
    );
}

#[test]
fn unknown_field() {
    assert_problems(
        "unknown_field.toml",
        &[(
            9,
            1,
            "unknown field `adress`, expected one of `name`, `address`, `port`, `user`, \
             `identity`, `role`, `datacenter`, `jump`, `public_address`, `processes`, \
             `services`, `replication`, `interfaces`, `routes`, `thresholds`",
        )],
    );
}

#[test]
fn unknown_role() {
    assert_problems(
        "unknown_role.toml",
        &[(
            9,
            8,
            "unknown role `primary`, expected one of `production`, `backup`, `drp`, `bastion`",
        )],
    );
}

#[test]
fn jump_to_no_host() {
    assert_problems(
        "jump_unknown.toml",
        &[(
            16,
            8,
            "jump `bastoin` names no host: expected one of the [[hosts]] names (`bastion`, \
             `prod`)",
        )],
    );
    assert!(
        load_err("jump_unknown.toml")
            .to_string()
            .ends_with("did you mean `bastion`?")
    );
}

#[test]
fn jump_cycle() {
    assert_problems("jump_cycle.toml", &[(11, 8, "jump cycle: a → b → a")]);
}

#[test]
fn duplicate_host_names() {
    assert_problems(
        "duplicate_host.toml",
        &[(
            13,
            8,
            "duplicate host name `backup`: already used on line 8",
        )],
    );
}

#[test]
fn bad_durations() {
    assert_problems(
        "bad_duration.toml",
        &[
            (
                3,
                11,
                "`refresh`: invalid duration \"5 parsecs\": not understood; expected a duration \
                 such as \"5s\", \"2h30m\" or \"250ms\"",
            ),
            (
                7,
                19,
                "`connect_timeout`: expected a duration such as \"5s\", \"2h30m\" or \"250ms\", \
                 found integer 3 (write \"3s\" for seconds)",
            ),
        ],
    );
}

#[test]
fn durations_out_of_range() {
    assert_problems(
        "duration_range.toml",
        &[
            (
                4,
                11,
                "`refresh` = \"500ms\" is out of range: expected a duration from 1s to 1h",
            ),
            (
                8,
                19,
                "`connect_timeout` = \"5000000000000000000s\" is out of range: expected a \
                 duration of at most 1h",
            ),
            (
                9,
                19,
                "`command_timeout` = \"2h\" is out of range: expected a duration of at most 1h",
            ),
            (
                10,
                13,
                "`keepalive` = \"1d\" is out of range: expected a duration of at most 1h",
            ),
        ],
    );
}

#[test]
fn duplicate_processes_and_services() {
    assert_problems(
        "duplicate_process.toml",
        &[
            (
                12,
                30,
                "duplicate process `sshd` in `processes` of host `prod`: each is listed once",
            ),
            (
                13,
                36,
                "duplicate service `nginx` in `services` of host `prod`: each is listed once",
            ),
        ],
    );
}

#[test]
fn bad_ranges() {
    assert_problems(
        "bad_range.toml",
        &[
            (
                8,
                35,
                "`partition.crit`: invalid Nagios range \"eighty\": not a number (expected e.g. \
                 \"80\"",
            ),
            (
                16,
                19,
                "`memory.warn`: invalid Nagios range \"20:10\": start is greater than end",
            ),
        ],
    );
}

#[test]
fn bad_timezone() {
    assert_problems(
        "bad_timezone.toml",
        &[(
            3,
            12,
            "unknown time zone \"Europe/Rennes\": expected an IANA zone name such as \
             \"Europe/Paris\"",
        )],
    );
}

#[test]
fn all_errors_are_reported_in_file_order() {
    assert_problems(
        "many_errors.toml",
        &[
            (3, 8, "empty site name"),
            (4, 11, "`refresh` must be longer than zero"),
            (
                8,
                14,
                "`slow_every` = 0 is out of range: expected an integer of at least 1",
            ),
            (
                12,
                8,
                "unknown role `Production`, expected one of `production`, `backup`, `drp`, \
                 `bastion` (roles are written in lowercase)",
            ),
            (
                14,
                8,
                "`port` = 0 is out of range: expected a port number from 1 to 65535",
            ),
            (15, 8, "host `prod` jumps through itself"),
            (
                21,
                1,
                "unknown field `colour`, expected one of `name`, `address`",
            ),
            (
                23,
                2,
                "unknown field `tickets`, expected one of `site`, `ssh`, `ui`, `thresholds`, \
                 `hosts`, `datasets`",
            ),
        ],
    );
}

#[test]
fn missing_file_names_the_path() {
    let path = fixture("no-such-file.toml");
    let e = config::load(&path).unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.problems.len(), 1);
    assert_eq!(e.problems[0].location, None);
    let text = e.to_string();
    assert!(
        text.starts_with(&format!("{}: no such configuration file", path.display())),
        "{text}"
    );
}

#[test]
fn syntax_errors_are_located() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[site]\nname = \"x\nrefresh = \"5s\"\n").unwrap();
    let e = config::load(&path).unwrap_err();
    let loc = e.problems[0].location.unwrap();
    assert_eq!(loc.line, 2, "{e}");
    assert!(e.to_string().starts_with(&format!("{}:2:", path.display())));
}

#[test]
fn not_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, b"[site]\nname = \"caf\xe9\"\n").unwrap();
    let e = config::load(&path).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2:12: invalid UTF-8: expected a UTF-8 text file",
            path.display()
        )
    );
}

// ---------------------------------------------------------------------------------------------
// Good files

#[test]
fn minimal_config() {
    let c = config::load(&fixture("minimal.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.path, fixture("minimal.toml"));
    assert_eq!(c.site.name, "mini");
    assert_eq!(c.site.refresh, Duration::from_secs(5));
    assert!(jiff::tz::TimeZone::get(&c.site.timezone).is_ok());
    assert_eq!(c.ssh.connect_timeout, Duration::from_secs(3));
    assert_eq!(c.ssh.command_timeout, Duration::from_secs(10));
    assert_eq!(c.ssh.keepalive, Duration::from_secs(15));
    assert_eq!(c.ssh.slow_every, 12);
    assert!(c.ssh.known_hosts.ends_with(".ssh/known_hosts"));
    let prod = c.host("prod").unwrap();
    assert_eq!(prod.address, "192.0.2.10");
    assert_eq!(prod.public_address, "192.0.2.10");
    assert_eq!(prod.role, Role::Production);
    assert_eq!(prod.datacenter, "dc1");
    assert!(prod.supervised);
    assert!(!prod.user.is_empty());
    assert_eq!(prod.thresholds, Thresholds::default());
}

#[test]
fn example_config_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml");
    let c = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.site.name, "1stKYC");
    assert_eq!(c.site.timezone, "Europe/Paris");
    let names: Vec<(&str, Role, &str)> = c
        .supervised()
        .map(|h| (h.name.as_str(), h.role, h.datacenter.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("bastion", Role::Bastion, "dmz"),
            ("prod", Role::Production, "dc1"),
            ("backup-a", Role::Backup, "dc1"),
            ("backup-b", Role::Backup, "dc2"),
            ("drp", Role::Drp, "dc2"),
        ]
    );
    let prod = c.host("prod").unwrap();
    assert_eq!(prod.address, "10.77.1.11");
    assert_eq!(prod.public_address, "203.0.113.11");
    assert_eq!(prod.jump.as_deref(), Some("bastion"));
    assert_eq!(prod.services, vec!["nginx", "postgresql"]);
    assert_eq!(
        prod.thresholds.for_mount("/srv"),
        &Levels {
            warn: r("92"),
            crit: r("97")
        }
    );
    assert_eq!(prod.thresholds.partition.warn, r("85"));
    assert_eq!(
        c.host("backup-b")
            .unwrap()
            .thresholds
            .for_mount("/var/backups"),
        &Levels {
            warn: r("90"),
            crit: r("95")
        }
    );
}

#[test]
fn example_config_documents_every_field() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"))
            .unwrap();
    for field in [
        "name:",
        "refresh:",
        "timezone:",
        "user:",
        "identity:",
        "known_hosts:",
        "connect_timeout:",
        "command_timeout:",
        "keepalive:",
        "slow_every:",
        "use_ssh_config:",
        "config:",
        "partition:",
        "inodes:",
        "load:",
        "cpu:",
        "memory:",
        "swap:",
        "time_drift:",
        "mounts:",
        "address:",
        "port:",
        "role:",
        "datacenter:",
        "jump:",
        "public_address:",
        "processes:",
        "services:",
        "replication:",
        "interfaces:",
        "routes:",
        "[hosts.thresholds]:",
        "max_loss:",
        "restore:",
        "[[datasets.copies]]:",
        "host:",
        "path:",
        "every:",
        "days:",
        "format:",
        "pattern:",
        "password_file:",
        "command:",
        "grace:",
        "url:",
        "expect:",
        "contains:",
        "regex:",
        "warn:",
        "crit:",
        "timeout:",
        "via:",
        "ca_file:",
        "follow_redirects:",
        "resolver:",
        "zones:",
        "addresses:",
        "production:",
        "drp:",
        "incident_after:",
        "transfer_ssh:",
        "throughput:",
        "fence:",
        "fence_verify:",
        // [dns] and [ticket]
        "servers:",
        "zone:",
        "record:",
        "tsig_key_file:",
        "verify_timeout:",
        "token_file:",
        "template:",
        "id_pointer:",
        // [runbooks] steps
        "kind:",
        "title:",
        "ask:",
        "verify:",
        "from:",
        "to:",
        "estimate:",
        "drill_to:",
        "drill_database:",
        "body:",
        "target:",
        "check:",
    ] {
        assert!(
            text.contains(&format!("# {field}")) || text.contains(&format!("#   {field}")),
            "config.example.toml does not document {field}"
        );
    }
    for later in ["[dns]", "[ticket]", "[runbooks]"] {
        assert!(text.contains(later), "{later} is not announced");
    }
}

#[test]
fn per_host_thresholds_merge_field_by_field() {
    let c = config::load(&fixture("host_thresholds.toml")).unwrap_or_else(|e| panic!("{e}"));
    let plain = &c.host("plain").unwrap().thresholds;
    let tuned = &c.host("tuned").unwrap().thresholds;
    let d = Thresholds::default();

    // [thresholds] over the defaults.
    assert_eq!(
        plain.partition,
        Levels {
            warn: r("70"),
            crit: r("90")
        }
    );
    assert_eq!(
        plain.load,
        Levels {
            warn: r("3"),
            crit: r("6")
        }
    );
    assert_eq!(plain.cpu, d.cpu);
    assert_eq!(
        plain.for_mount("/var/backups"),
        &Levels {
            warn: r("95"),
            crit: r("90")
        }
    );
    assert_eq!(plain.for_mount("/home"), &plain.partition);

    // [hosts.thresholds] over [thresholds], one field at a time.
    assert_eq!(
        tuned.partition,
        Levels {
            warn: r("70"),
            crit: r("99")
        }
    );
    assert_eq!(
        tuned.load,
        Levels {
            warn: r("4"),
            crit: r("6")
        }
    );
    assert_eq!(
        tuned.cpu,
        Levels {
            warn: r("95"),
            crit: r("99")
        }
    );
    assert_eq!(
        tuned.swap,
        Levels {
            warn: r("50"),
            crit: None
        }
    );
    assert_eq!(tuned.memory, d.memory);
    assert_eq!(tuned.inodes, d.inodes);
    assert_eq!(tuned.time_drift, d.time_drift);
    assert_eq!(
        tuned.for_mount("/srv"),
        &Levels {
            warn: r("70"),
            crit: r("98")
        }
    );
    assert_eq!(
        tuned.for_mount("/var/backups"),
        &Levels {
            warn: r("95"),
            crit: r("99")
        }
    );
    assert_eq!(c.host("tuned").unwrap().user, "vigie");
}

/// Writes `config.toml` and `ssh_config` in a fresh directory; `[ssh] config` names the latter
/// by a relative path (relative to the configuration file).
fn with_ssh_config(toml: &str, ssh_config: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ssh_config"), ssh_config).unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, toml).unwrap();
    (dir, path)
}

const SITE: &str = "[site]\nname = \"t\"\ntimezone = \"UTC\"\n\n[ssh]\nconfig = \"ssh_config\"\n\
                    user = \"fallback\"\n";

#[test]
fn openssh_config_fills_what_the_host_does_not_say() {
    if !have_ssh() {
        return;
    }
    let toml = format!(
        "{SITE}\n[[hosts]]\nname = \"bastion\"\naddress = \"10.0.0.1\"\nrole = \"bastion\"\n\
         datacenter = \"dmz\"\n\n[[hosts]]\nname = \"prod\"\nrole = \"production\"\n\
         datacenter = \"dc1\"\n"
    );
    let (dir, path) = with_ssh_config(
        &toml,
        "Host prod\n HostName 10.9.9.9\n Port 2222\n User ops\n ProxyJump bastion\n",
    );
    let c = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let prod = c.host("prod").unwrap();
    assert_eq!(prod.address, "10.9.9.9");
    assert_eq!(prod.public_address, "10.9.9.9");
    assert_eq!(prod.port, 2222);
    assert_eq!(prod.user, "ops");
    assert_eq!(prod.jump.as_deref(), Some("bastion"));
    let bastion = c.host("bastion").unwrap();
    assert_eq!((bastion.address.as_str(), bastion.port), ("10.0.0.1", 22));
    // Nothing in the OpenSSH configuration for it: [ssh] user.
    assert_eq!(bastion.user, "fallback");
    assert_eq!(c.hosts.len(), 2);
    drop(dir);
}

#[test]
fn the_host_entry_wins_over_openssh() {
    if !have_ssh() {
        return;
    }
    let toml = format!(
        "{SITE}\n[[hosts]]\nname = \"prod\"\naddress = \"10.1.1.1\"\nport = 22\nuser = \"root\"\n\
         jump = \"none\"\nidentity = \"/keys/prod\"\nrole = \"production\"\ndatacenter = \"dc1\"\n"
    );
    let (_dir, path) = with_ssh_config(
        &toml,
        "Host prod\n HostName 10.9.9.9\n Port 2222\n User ops\n ProxyJump bastion\n",
    );
    let c = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let prod = c.host("prod").unwrap();
    assert_eq!(
        (
            prod.address.as_str(),
            prod.port,
            prod.user.as_str(),
            prod.jump.as_deref()
        ),
        ("10.1.1.1", 22, "root", None)
    );
    assert_eq!(prod.identities, vec![PathBuf::from("/keys/prod")]);
}

#[test]
fn openssh_jump_hosts_are_synthesised_and_chained() {
    if !have_ssh() {
        return;
    }
    let toml = format!(
        "{SITE}identity = \"/keys/site\"\n\n[[hosts]]\nname = \"prod\"\nrole = \"production\"\n\
         datacenter = \"dc1\"\n\n[[hosts]]\nname = \"drp\"\nrole = \"drp\"\ndatacenter = \"dc2\"\n"
    );
    let (_dir, path) = with_ssh_config(
        &toml,
        "Host prod\n ProxyJump gw\n IdentityFile /keys/prod\n\
         Host drp\n ProxyJump gw,jump@inner:2200\n\
         Host gw\n HostName 198.51.100.7\n User jumper\n\
         Host inner\n HostName 10.50.0.1\n",
    );
    let c = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    // name user@address:port → jump (supervised?)
    let summary: Vec<String> = c
        .hosts
        .iter()
        .map(|h| {
            format!(
                "{} {}@{}:{} → {} ({})",
                h.name,
                h.user,
                h.address,
                h.port,
                h.jump.as_deref().unwrap_or("-"),
                if h.supervised {
                    "supervised"
                } else {
                    "jump only"
                }
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            "prod fallback@prod:22 → gw (supervised)",
            "drp fallback@drp:22 → gw,jump@inner:2200 (supervised)",
            "gw jumper@198.51.100.7:22 → - (jump only)",
            "gw,jump@inner:2200 jump@10.50.0.1:2200 → gw (jump only)",
        ]
    );
    let gw = c.host("gw").unwrap();
    assert_eq!((gw.role, gw.datacenter.as_str()), (Role::Bastion, "-"));
    // The host's IdentityFile from OpenSSH first, then [ssh] identity.
    assert_eq!(
        c.host("prod").unwrap().identities,
        vec![PathBuf::from("/keys/prod"), PathBuf::from("/keys/site")]
    );
    assert_eq!(c.supervised().count(), 2);
}

#[test]
fn openssh_configuration_can_be_ignored() {
    if !have_ssh() {
        return;
    }
    let toml = format!(
        "{SITE}use_ssh_config = false\n\n[[hosts]]\nname = \"prod\"\nrole = \"production\"\n\
         datacenter = \"dc1\"\n"
    );
    let (_dir, path) = with_ssh_config(&toml, "Host prod\n HostName 10.9.9.9\n ProxyJump gw\n");
    let c = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let prod = c.host("prod").unwrap();
    assert_eq!(
        (prod.address.as_str(), prod.jump.as_deref()),
        ("prod", None)
    );
}

#[test]
fn openssh_complaints_are_reported() {
    if !have_ssh() {
        return;
    }
    let toml = format!(
        "{SITE}\n[[hosts]]\nname = \"prod\"\nrole = \"production\"\ndatacenter = \"dc1\"\n"
    );
    let (_dir, path) = with_ssh_config(&toml, "Host prod\n Bogus yes\n");
    let e = config::load(&path).unwrap_err();
    let text = e.to_string();
    assert!(
        text.starts_with(&format!(
            "{}:10:8: OpenSSH cannot resolve host `prod`: ",
            path.display()
        )),
        "{text}"
    );
    assert!(text.contains("Bad configuration option: bogus"), "{text}");

    // A file jump that OpenSSH knows of is accepted; one it does not know is refused.
    let toml = format!(
        "{SITE}\n[[hosts]]\nname = \"prod\"\nrole = \"production\"\ndatacenter = \"dc1\"\n\
         jump = \"gw\"\n"
    );
    let (_dir, path) = with_ssh_config(&toml, "Host gw\n HostName 10.0.0.254\n");
    let c = config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.host("gw").unwrap().address, "10.0.0.254");
    let (_dir, path) = with_ssh_config(&toml, "Host other\n HostName 10.0.0.254\n");
    let e = config::load(&path).unwrap_err();
    assert!(
        e.to_string().contains(":13:8: jump `gw` names no host"),
        "{e}"
    );
}

#[test]
fn openssh_proxycommand_is_refused() {
    if !have_ssh() {
        return;
    }
    let toml = format!(
        "{SITE}\n[[hosts]]\nname = \"prod\"\nrole = \"production\"\ndatacenter = \"dc1\"\n"
    );
    let (_dir, path) = with_ssh_config(
        &toml,
        "Host prod\n HostName 10.9.9.9\n ProxyCommand nc -X connect -x proxy:3128 %h %p\n",
    );
    let e = config::load(&path).unwrap_err();
    assert_eq!(
        e.to_string().trim_end(),
        format!(
            "{}:10:8: ProxyCommand from the OpenSSH configuration is not supported: declare the \
             jump host with `jump` (ProxyJump)",
            path.display()
        )
    );
    // `ProxyCommand none` is no ProxyCommand.
    let (_dir, path) = with_ssh_config(&toml, "Host prod\n ProxyCommand none\n");
    config::load(&path).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn missing_openssh_config_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, "[site]\nname = \"t\"\n[ssh]\nconfig = \"nope\"\n").unwrap();
    let e = config::load(&path).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}:4:10: OpenSSH config file ", path.display())),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Robustness

mod never_panics {
    use proptest::prelude::*;
    use std::path::Path;

    fn seed() -> String {
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.toml"))
            .unwrap()
            // Keep the cases fast: no `ssh -G` per host.
            .replace("use_ssh_config = true", "use_ssh_config = false")
    }

    fn load_text(text: &str) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        if let Err(e) = vigie::config::load(&path) {
            // Every problem renders, located or not.
            assert!(!e.problems.is_empty());
            let _ = e.to_string();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn on_arbitrary_text(text in ".*") {
            load_text(&text);
        }

        #[test]
        fn on_a_damaged_example(start in 0usize..5000, cut in 0usize..40, insert in ".{0,12}") {
            // Splice: remove `cut` bytes somewhere in the example, insert random text there.
            let seed = seed();
            let start = start % seed.len();
            let start = (0..=start).rev().find(|&i| seed.is_char_boundary(i)).unwrap_or(0);
            let end = (start + cut).min(seed.len());
            let end = (end..=seed.len()).find(|&i| seed.is_char_boundary(i)).unwrap_or(seed.len());
            load_text(&format!("{}{}{}", &seed[..start], insert, &seed[end..]));
        }

        #[test]
        fn on_toml_shaped_text(lines in proptest::collection::vec(
            prop_oneof![
                Just("[site]".to_string()),
                Just("[ssh]".to_string()),
                Just("[thresholds]".to_string()),
                Just("[[hosts]]".to_string()),
                Just("[hosts.thresholds]".to_string()),
                Just("[thresholds.mounts.\"/srv\"]".to_string()),
                Just("use_ssh_config = false".to_string()),
                (prop::sample::select(vec![
                    "name", "refresh", "timezone", "user", "identity", "known_hosts",
                    "connect_timeout", "command_timeout", "keepalive", "slow_every", "config",
                    "address", "port", "role", "datacenter", "jump", "public_address",
                    "processes", "services", "partition", "inodes", "load", "cpu", "memory",
                    "swap", "time_drift", "warn", "crit",
                ]), prop::sample::select(vec![
                    "\"\"", "\"x\"", "\"5s\"", "0", "-1", "70000", "1.5", "true", "[]",
                    "[\"a\"]", "{}", "{ warn = \"80\" }", "\"none\"", "\"a,b\"", "\"@\"",
                    "\"~\"", "\"backup\"", "\"UTC\"", "1979-05-27",
                ])).prop_map(|(k, v)| format!("{k} = {v}")),
            ],
            0..25,
        )) {
            let mut text = lines.join("\n");
            // Never ask the machine's OpenSSH: keep the lookups off.
            text.insert_str(0, "[ssh]\nuse_ssh_config = false\n");
            load_text(&text);
        }
    }
}
