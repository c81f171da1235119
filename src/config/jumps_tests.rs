//! Tests of OpenSSH resolution and jumps: ProxyJump, chains, synthesised and copied jump
//! hosts, unknown names, cycles.

use super::*;
use crate::config::load::tests::{FakeSsh, SITE, errors, host, ok};

/// OpenSSH facts with only a ProxyJump.
fn jump(spec: &str) -> SshFacts {
    SshFacts {
        proxyjump: Some(spec.into()),
        ..SshFacts::default()
    }
}

#[test]
fn openssh_proxyjump_to_a_file_host() {
    let ssh = FakeSsh::default().with("prod", jump("bastion"));
    let text = format!("{SITE}{}{}", host("bastion", ""), host("prod", ""));
    let c = ok(&text, &ssh);
    assert_eq!(c.host("prod").unwrap().jump.as_deref(), Some("bastion"));
    assert_eq!(c.hosts.len(), 2);
}

#[test]
fn file_jump_none_overrides_openssh() {
    let ssh = FakeSsh::default().with("prod", jump("bastion"));
    let text = format!(
        "{SITE}{}{}",
        host("bastion", ""),
        host("prod", "jump = \"none\"")
    );
    assert_eq!(ok(&text, &ssh).host("prod").unwrap().jump, None);
}

#[test]
fn openssh_proxyjump_to_an_unlisted_host_is_synthesised() {
    let ssh = FakeSsh::default().with("prod", jump("gw")).with(
        "gw",
        SshFacts {
            hostname: Some("198.51.100.1".into()),
            user: Some("jump".into()),
            port: Some(2200),
            ..SshFacts::default()
        },
    );
    let text = format!(
        "{SITE}{}{}",
        host("prod", ""),
        host("backup", "jump = \"gw\"")
    );
    let c = ok(&text, &ssh);
    assert_eq!(c.hosts.len(), 3);
    assert_eq!(c.host("prod").unwrap().jump.as_deref(), Some("gw"));
    assert_eq!(c.host("backup").unwrap().jump.as_deref(), Some("gw"));
    let gw = &c.hosts[2];
    assert_eq!(gw.name, "gw");
    assert_eq!(
        (gw.address.as_str(), gw.port, gw.user.as_str()),
        ("198.51.100.1", 2200, "jump")
    );
    assert_eq!((gw.role, gw.datacenter.as_str()), (Role::Bastion, "-"));
    assert!(!gw.supervised);
    assert_eq!(c.supervised().count(), 2);
}

#[test]
fn chains_connect_hop_by_hop() {
    // prod: ProxyJump a,ops@b:2200 — connect to a, through it to b, through b to prod.
    let ssh = FakeSsh::default()
        .with("prod", jump("a,ops@b:2200"))
        .with("a", jump("outer"));
    let c = ok(&format!("{SITE}{}", host("prod", "")), &ssh);
    let names: Vec<(&str, Option<&str>)> = c
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), h.jump.as_deref()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("prod", Some("a,ops@b:2200")),
            ("a", Some("outer")),
            ("outer", None),
            ("a,ops@b:2200", Some("a")),
        ]
    );
    let b = c.host("a,ops@b:2200").unwrap();
    assert_eq!(
        (b.address.as_str(), b.user.as_str(), b.port),
        ("b", "ops", 2200)
    );
}

#[test]
fn chains_reuse_file_hosts_when_the_route_matches() {
    let ssh = FakeSsh::default();
    let text = format!(
        "{SITE}{}{}{}{}",
        host("bastion", ""),
        host("inner", "jump = \"bastion\""),
        host("lone", ""),
        host("prod", "jump = \"bastion,inner\"")
    );
    let c = ok(&text, &ssh);
    assert_eq!(c.hosts.len(), 4);
    assert_eq!(c.host("prod").unwrap().jump.as_deref(), Some("inner"));

    // `lone` is normally reached directly: through bastion it is another route, a copy.
    let text = format!(
        "{SITE}{}{}{}",
        host("bastion", ""),
        host("lone", "address = \"10.1.1.1\""),
        host("prod", "jump = \"bastion,lone\"")
    );
    let c = ok(&text, &ssh);
    assert_eq!(
        c.host("prod").unwrap().jump.as_deref(),
        Some("bastion,lone")
    );
    let copy = c.host("bastion,lone").unwrap();
    assert_eq!(copy.address, "10.1.1.1");
    assert_eq!(copy.jump.as_deref(), Some("bastion"));
    assert!(!copy.supervised && c.host("lone").unwrap().jump.is_none());
}

#[test]
fn a_hop_with_its_own_user_is_a_copy_of_the_file_host() {
    let ssh = FakeSsh::default();
    let text = format!(
        "{SITE}{}{}",
        host("bastion", "address = \"10.0.0.10\""),
        host("prod", "jump = \"admin@bastion:2022\"")
    );
    let c = ok(&text, &ssh);
    let j = c.host("admin@bastion:2022").unwrap();
    assert_eq!(
        (j.address.as_str(), j.user.as_str(), j.port, j.supervised),
        ("10.0.0.10", "admin", 2022, false)
    );
    // The same user and port as the entry: the entry itself.
    let text = format!(
        "{SITE}{}{}",
        host("bastion", "user = \"op\""),
        host("prod", "jump = \"op@bastion:22\"")
    );
    let c = ok(&text, &ssh);
    assert_eq!(c.host("prod").unwrap().jump.as_deref(), Some("bastion"));
    assert_eq!(c.hosts.len(), 2);
}

#[test]
fn file_jumps_must_name_a_host() {
    let ssh = FakeSsh::default().with(
        "known",
        SshFacts {
            hostname: Some("10.2.2.2".into()),
            ..SshFacts::default()
        },
    );
    let text = format!(
        "{SITE}{}{}",
        host("bastion", ""),
        host("prod", "jump = \"known\"")
    );
    assert_eq!(
        ok(&text, &ssh).host("prod").unwrap().jump.as_deref(),
        Some("known")
    );
    let text = format!(
        "{SITE}{}{}",
        host("bastion", ""),
        host("prod", "jump = \"bastio\"")
    );
    assert_eq!(
        errors(&text, &ssh),
        vec![
            "12:8: jump `bastio` names no host: expected one of the [[hosts]] names \
             (`bastion`, `prod`) or a host of the OpenSSH configuration; did you mean \
             `bastion`?"
        ]
    );
    // Without OpenSSH, only [[hosts]] names count.
    let off = format!(
        "{SITE}[ssh]\nuse_ssh_config = false\n{}",
        host("prod", "jump = \"known\"")
    );
    let errs = errors(&off, &ssh);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with(
            "9:8: jump `known` names no host: expected one of the [[hosts]] names (`prod`)"
        ),
        "{errs:?}"
    );
}

#[test]
fn jumps_to_unreadable_entries_are_not_reported_twice() {
    let ssh = FakeSsh::default();
    let text = format!(
        "{SITE}{}{}",
        host("bastion", "bogus = 1"),
        host("prod", "jump = \"bastion\"")
    );
    let errs = errors(&text, &ssh);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("7:1: unknown field `bogus`"),
        "{errs:?}"
    );
}

#[test]
fn cycles_are_named() {
    let ssh = FakeSsh::default()
        .with("gw1", jump("gw2"))
        .with("gw2", jump("gw1"))
        .with("prod", jump("gw1"));
    let errs = errors(&format!("{SITE}{}", host("prod", "")), &ssh);
    assert_eq!(
        errs,
        vec![
            "4:8: jump cycle: gw1 → gw2 → gw1 (ProxyJump from the OpenSSH configuration); \
             a chain of jumps must end at a host reached directly"
        ]
    );
    let text = format!(
        "{SITE}{}{}{}",
        host("x", "jump = \"y\""),
        host("y", "jump = \"z\""),
        host("z", "jump = \"x\"")
    );
    let errs = errors(&text, &ssh);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert!(
        errs[0].starts_with("7:8: jump cycle: x → y → z → x"),
        "{errs:?}"
    );
}

#[test]
fn self_jumps() {
    let ssh = FakeSsh::default();
    let errs = errors(&format!("{SITE}{}", host("a", "jump = \"gw,a\"")), &ssh);
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].starts_with("7:8: host `a` jumps through itself"),
        "{errs:?}"
    );
}

#[test]
fn openssh_complaints_are_located_at_the_host() {
    let mut ssh = FakeSsh::default();
    ssh.errors.insert(
        "prod".into(),
        "line 3: Bad configuration option: bogus".into(),
    );
    let errs = errors(
        &format!("{SITE}{}{}", host("bastion", ""), host("prod", "")),
        &ssh,
    );
    assert_eq!(
        errs,
        vec!["9:8: OpenSSH cannot resolve host `prod`: line 3: Bad configuration option: bogus"]
    );
}

#[test]
fn openssh_proxycommand_is_refused() {
    // Vigie cannot run a ProxyCommand: connecting directly instead would be silently wrong.
    let pc = SshFacts {
        proxycommand: Some("nc -X connect -x proxy:3128 %h %p".into()),
        ..SshFacts::default()
    };
    let ssh = FakeSsh::default().with("prod", pc.clone());
    assert_eq!(
        errors(&format!("{SITE}{}", host("prod", "")), &ssh),
        vec![
            "4:8: ProxyCommand from the OpenSSH configuration is not supported: declare the \
             jump host with `jump` (ProxyJump)"
        ]
    );
    // The file's own jump (or "none") overrides it, as it overrides ProxyJump.
    let text = format!(
        "{SITE}{}{}",
        host("bastion", ""),
        host("prod", "jump = \"bastion\"")
    );
    assert_eq!(
        ok(&text, &ssh).host("prod").unwrap().jump.as_deref(),
        Some("bastion")
    );
    let text = format!("{SITE}{}", host("prod", "jump = \"none\""));
    assert_eq!(ok(&text, &ssh).host("prod").unwrap().jump, None);
    // A jump host resolved through OpenSSH with a ProxyCommand: refused at the jump.
    let ssh = FakeSsh::default().with("gw", pc);
    assert_eq!(
        errors(&format!("{SITE}{}", host("prod", "jump = \"gw\"")), &ssh),
        vec![
            "7:8: jump `gw`: ProxyCommand from the OpenSSH configuration is not supported: \
             declare the jump host with `jump` (ProxyJump)"
        ]
    );
}

#[test]
fn levenshtein_distances() {
    assert_eq!(levenshtein("bastoin", "bastion"), 2);
    assert_eq!(levenshtein("", "abc"), 3);
    assert_eq!(closest("prdo", &["prod", "drp"]), Some("prod"));
    assert_eq!(closest("zzz", &["prod", "drp"]), None);
}
