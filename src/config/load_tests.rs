//! Tests of loading: defaults, precedence, sections and values; also the fixtures the other
//! configuration tests share (a fake OpenSSH, a config text per host, error listings).

use super::*;
use crate::config::openssh::SshFacts;
use std::sync::Mutex;

/// OpenSSH as the tests want it: names → facts (unknown names: nothing configured).
#[derive(Default)]
pub(crate) struct FakeSsh {
    facts: HashMap<String, SshFacts>,
    pub(crate) errors: HashMap<String, String>,
    asked: Mutex<Vec<String>>,
}

impl FakeSsh {
    pub(crate) fn with(mut self, name: &str, facts: SshFacts) -> Self {
        self.facts.insert(name.into(), facts);
        self
    }
}

impl SshLookup for FakeSsh {
    fn lookup(&self, name: &str) -> Result<Option<SshFacts>, String> {
        self.asked.lock().unwrap().push(name.to_string());
        if let Some(e) = self.errors.get(name) {
            return Err(e.clone());
        }
        Ok(Some(self.facts.get(name).cloned().unwrap_or(SshFacts {
            default_user: Some("localop".into()),
            ..SshFacts::default()
        })))
    }
}

pub(crate) fn env(lookup: &dyn SshLookup) -> Env<'_> {
    Env {
        home: Some(PathBuf::from("/home/op")),
        user: Some("op".into()),
        system_tz: Some("Europe/Paris".into()),
        lookup: Some(lookup),
    }
}

pub(crate) const SITE: &str = "[site]\nname = \"t\"\n";

fn parse_fake(text: &str, ssh: &FakeSsh) -> Result<Config, ConfigError> {
    parse_with(text, Path::new("/etc/vigie/config.toml"), &env(ssh))
}

pub(crate) fn ok(text: &str, ssh: &FakeSsh) -> Config {
    parse_fake(text, ssh).unwrap_or_else(|e| panic!("{e}"))
}

/// The problems as "LINE:COL: message".
pub(crate) fn errors(text: &str, ssh: &FakeSsh) -> Vec<String> {
    let e = parse_fake(text, ssh).expect_err("expected errors");
    e.problems
        .iter()
        .map(|p| match p.location {
            Some(l) => format!("{l}: {}", p.message),
            None => p.message.clone(),
        })
        .collect()
}

pub(crate) fn host(name: &str, extra: &str) -> String {
    format!("[[hosts]]\nname = \"{name}\"\nrole = \"backup\"\ndatacenter = \"dc1\"\n{extra}\n")
}

#[test]
fn defaults() {
    let ssh = FakeSsh::default();
    let c = ok(&format!("{SITE}{}", host("b", "")), &ssh);
    assert_eq!(c.site.name, "t");
    assert_eq!(c.site.refresh, Duration::from_secs(5));
    assert_eq!(c.site.timezone, "Europe/Paris");
    assert_eq!(
        c.ssh,
        SshSettings {
            known_hosts: PathBuf::from("/home/op/.ssh/known_hosts"),
            connect_timeout: Duration::from_secs(3),
            command_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(15),
            slow_every: 12,
            sudo: false,
        }
    );
    let h = c.host("b").unwrap();
    assert_eq!(h.address, "b");
    assert_eq!(h.public_address, "b");
    assert_eq!(h.port, 22);
    assert_eq!(h.user, "op");
    assert_eq!(h.jump, None);
    assert!(h.supervised);
    assert_eq!(h.thresholds, Thresholds::default());
    let mut asked = ssh.asked.lock().unwrap().clone();
    asked.dedup();
    assert_eq!(asked, vec!["b".to_string()]);
}

#[test]
fn a_fully_spelled_host_does_not_ask_openssh() {
    let ssh = FakeSsh::default();
    ok(
        &format!(
            "{SITE}{}",
            host(
                "b",
                "address = \"x\"\nport = 2\nuser = \"u\"\nidentity = \"k\"\njump = \"none\""
            )
        ),
        &ssh,
    );
    assert!(ssh.asked.lock().unwrap().is_empty());
}

#[test]
fn precedence_host_then_openssh_then_ssh_section() {
    let ssh = FakeSsh::default().with(
        "b",
        SshFacts {
            hostname: Some("10.0.0.2".into()),
            port: Some(2222),
            user: Some("sshcfg".into()),
            identities: vec!["~/.ssh/from_cfg".into()],
            proxyjump: None,
            proxycommand: None,
            default_user: Some("localop".into()),
        },
    );
    let text = format!(
        "{SITE}[ssh]\nuser = \"section\"\nidentity = \"keys/section\"\n{}{}",
        host("b", ""),
        host(
            "c",
            "address = \"10.0.0.3\"\nport = 23\nuser = \"own\"\nidentity = [\"~/own1\", \"/k/own2\"]"
        )
    );
    let c = ok(&text, &ssh);
    let b = c.host("b").unwrap();
    assert_eq!(
        (b.address.as_str(), b.port, b.user.as_str()),
        ("10.0.0.2", 2222, "sshcfg")
    );
    assert_eq!(
        b.identities,
        vec![
            PathBuf::from("/home/op/.ssh/from_cfg"),
            PathBuf::from("/etc/vigie/keys/section")
        ]
    );
    let c_ = c.host("c").unwrap();
    assert_eq!(
        (c_.address.as_str(), c_.port, c_.user.as_str()),
        ("10.0.0.3", 23, "own")
    );
    assert_eq!(
        c_.identities,
        vec![
            PathBuf::from("/home/op/own1"),
            PathBuf::from("/k/own2"),
            PathBuf::from("/etc/vigie/keys/section")
        ]
    );
}

#[test]
fn user_falls_back_to_the_local_account() {
    let ssh = FakeSsh::default();
    let mut e = env(&ssh);
    e.user = None;
    let text = format!("{SITE}{}", host("b", ""));
    let c = parse_with(&text, Path::new("/c.toml"), &e).unwrap();
    // OpenSSH's own idea of the local user.
    assert_eq!(c.hosts[0].user, "localop");
    let off = format!("{SITE}[ssh]\nuse_ssh_config = false\n{}", host("b", ""));
    let err = parse_with(&off, Path::new("/c.toml"), &e).unwrap_err();
    assert!(err.to_string().contains("no SSH user for `b`"), "{err}");
}

#[test]
fn values_are_checked() {
    let ssh = FakeSsh::default();
    let text = format!(
        "{SITE}{}{}{}{}",
        host("", "port = 0"),
        host("a b", "port = \"22\""),
        "[[hosts]]\nname = \"x\"\nrole = \"backup\"\ndatacenter = \" \"\n",
        host("-x", "public_address = \"\"\nprocesses = [\"\"]")
    );
    assert_eq!(
        errors(&text, &ssh),
        vec![
            "4:8: empty host name: expected a non-empty string",
            "7:8: `port` = 0 is out of range: expected a port number from 1 to 65535",
            "9:8: host name \"a b\" contains blanks or control characters",
            "12:8: `port`: expected a port number from 1 to 65535, found string \"22\"",
            "16:14: empty datacenter: expected a non-empty string",
            "18:8: invalid host name \"-x\": expected letters, digits, `.`, `_` and `-`, \
             not starting with `-`",
            "21:18: empty public_address: expected a non-empty string",
            "22:14: empty process name: expected a non-empty string",
        ]
    );
}

#[test]
fn structure_errors() {
    let ssh = FakeSsh::default();
    assert_eq!(
        errors("[ssh]\nuser = \"u\"\n", &ssh),
        vec!["1:1: missing table [site]: expected at least `name = \"…\"`"]
    );
    assert_eq!(
        errors("[[site]]\nname = \"x\"\n", &ssh),
        vec!["1:1: expected a table [site], found array"]
    );
    assert_eq!(
        errors(&format!("{SITE}[hosts]\nname = \"x\"\n"), &ssh),
        vec!["3:1: `hosts` must be an array of tables, found table: write each host as [[hosts]]"]
    );
    assert_eq!(
        errors(
            &format!("{SITE}[thresholds]\npartition = [\"80\", \"90\"]\n"),
            &ssh
        ),
        vec!["4:13: invalid type: array, expected a table"]
    );
    assert_eq!(
        errors(
            &format!("{SITE}[thresholds]\npartition = {{ warn = true }}\n"),
            &ssh
        ),
        vec![
            "4:22: `partition.warn`: expected a Nagios range such as \"80\", \"10:\", \"~:5\", \
             \"10:20\", \"@10:20\", or \"none\", found boolean true"
        ]
    );
    assert_eq!(
        errors(&format!("{SITE}[ssh]\nuse_ssh_config = \"yes\"\n"), &ssh),
        vec!["4:18: invalid type: string \"yes\", expected a boolean"]
    );
}

#[test]
fn syntax_errors_are_all_reported() {
    let ssh = FakeSsh::default();
    let errs = errors("[site]\nname = \"x\"\nname = \"y\"\n[x\n", &ssh);
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].starts_with("3:1: duplicate key `name`"), "{errs:?}");
    assert!(errs[1].starts_with("4:3: "), "{errs:?}");
}

#[test]
fn durations_and_timezones() {
    let ssh = FakeSsh::default();
    let c = ok(
        "[site]\nname = \"t\"\nrefresh = \"2m30s\"\ntimezone = \"america/new_york\"\n\
         [ssh]\nkeepalive = \"1m\"\ncommand_timeout = \"1m\"\nslow_every = 3\n",
        &ssh,
    );
    assert_eq!(c.site.refresh, Duration::from_secs(150));
    assert_eq!(c.site.timezone, "America/New_York");
    assert_eq!(c.ssh.keepalive, Duration::from_secs(60));
    assert_eq!(c.ssh.command_timeout, Duration::from_secs(60));
    assert_eq!(c.ssh.slow_every, 3);
    let errs = errors(
        "[site]\nname = \"t\"\nrefresh = \"-5s\"\n[ssh]\nconnect_timeout = \"0ms\"\n\
         command_timeout = [1]\n",
        &ssh,
    );
    assert_eq!(errs.len(), 3, "{errs:?}");
    assert!(errs[0].starts_with("3:11: `refresh`: invalid duration \"-5s\": negative"));
    assert!(errs[1].starts_with("5:19: `connect_timeout` must be longer than zero"));
    assert!(errs[2].starts_with("6:19: `command_timeout`: expected a duration"));
}

#[test]
fn duplicate_names_point_at_the_second() {
    let ssh = FakeSsh::default();
    let text = format!("{SITE}{}{}", host("a", ""), host("a", ""));
    assert_eq!(
        errors(&text, &ssh),
        vec!["9:8: duplicate host name `a`: already used on line 4; host names must be unique"]
    );
}

#[test]
fn durations_are_bounded() {
    let ssh = FakeSsh::default();
    // The bounds themselves are accepted.
    let c = ok(
        "[site]\nname = \"t\"\nrefresh = \"1h\"\n[ssh]\nconnect_timeout = \"1h\"\n\
         command_timeout = \"60m\"\nkeepalive = \"3600s\"\n",
        &ssh,
    );
    assert_eq!(c.site.refresh, Duration::from_secs(3600));
    assert_eq!(c.ssh.connect_timeout, Duration::from_secs(3600));
    assert_eq!(
        ok("[site]\nname = \"t\"\nrefresh = \"1s\"\n", &ssh)
            .site
            .refresh,
        Duration::from_secs(1)
    );
    // A timeout of 158 billion years used to pass, then overflow the clock.
    let errs = errors(
        "[site]\nname = \"t\"\nrefresh = \"500ms\"\n[ssh]\n\
         connect_timeout = \"5000000000000000000s\"\ncommand_timeout = \"2h\"\n\
         keepalive = \"1w\"\n",
        &ssh,
    );
    assert_eq!(
        errs,
        vec![
            "3:11: `refresh` = \"500ms\" is out of range: expected a duration from 1s to 1h",
            "5:19: `connect_timeout` = \"5000000000000000000s\" is out of range: expected a \
             duration of at most 1h",
            "6:19: `command_timeout` = \"2h\" is out of range: expected a duration of at most 1h",
            "7:13: `keepalive` = \"1w\" is out of range: expected a duration of at most 1h",
        ]
    );
    let errs = errors("[site]\nname = \"t\"\nrefresh = \"2h\"\n", &ssh);
    assert_eq!(
        errs,
        vec!["3:11: `refresh` = \"2h\" is out of range: expected a duration from 1s to 1h"]
    );
}

#[test]
fn duplicate_processes_and_services() {
    let ssh = FakeSsh::default();
    let text = format!(
        "{SITE}{}",
        host(
            "b",
            "processes = [\"sshd\", \"cron\", \"sshd\"]\nservices = [\"nginx\", \"postgresql\", \"nginx\"]"
        )
    );
    assert_eq!(
        errors(&text, &ssh),
        vec![
            "7:30: duplicate process `sshd` in `processes` of host `b`: each is listed once",
            "8:36: duplicate service `nginx` in `services` of host `b`: each is listed once",
        ]
    );
}
