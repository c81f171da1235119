//! Tests of `[[urls]]` and `[dnsbl]`: values resolved, defaults, located errors.

use super::*;
use crate::config::load::tests::{FakeSsh, SITE, errors, host, ok};

/// Two hosts (prod with a public address, bastion), then `rest`.
fn site(rest: &str) -> String {
    format!(
        "{SITE}{}{}{rest}",
        host(
            "prod",
            "address = \"10.77.1.11\"\npublic_address = \"203.0.113.11\""
        ),
        host("bastion", "address = \"10.77.0.10\"")
    )
}

fn url(extra: &str) -> String {
    format!("[[urls]]\nname = \"site\"\nurl = \"https://www.example.test/\"\n{extra}\n")
}

const S: fn(u64) -> Duration = Duration::from_secs;

#[test]
fn a_url_test_with_defaults() {
    let c = ok(&site(&url("")), &FakeSsh::default());
    assert_eq!(c.urls.len(), 1);
    let t = &c.urls[0];
    assert_eq!(t.check_id(), "app.url.site");
    assert_eq!(t.url.as_str(), "https://www.example.test/");
    assert!(t.expect.is_empty(), "default: any 2xx");
    assert_eq!(t.content, None);
    assert_eq!((t.warn, t.crit, t.timeout), (S(1), S(3), S(5)));
    assert_eq!(t.via, None);
    assert_eq!(t.ca_file, None);
    assert!(t.follow_redirects);
    assert_eq!(c.dnsbl, None);
}

#[test]
fn every_field_as_the_spec_writes_it() {
    let c = ok(
        &site(&url(
            "expect = [200, 301]\ncontains = \"Welcome\"\nwarn = \"500ms\"\ncrit = \"2s\"\n\
             via = \"bastion\"\nfollow_redirects = false\ntimeout = \"10s\"",
        )),
        &FakeSsh::default(),
    );
    let t = &c.urls[0];
    assert_eq!(t.expect, [200, 301]);
    assert_eq!(t.content, Some(ContentMatch::Contains("Welcome".into())));
    assert_eq!(
        (t.warn, t.crit, t.timeout),
        (Duration::from_millis(500), S(2), S(10))
    );
    assert_eq!(t.via.as_deref(), Some("bastion"));
    assert!(!t.follow_redirects);

    let c = ok(&site(&url("regex = 'Welc(o|0)me'")), &FakeSsh::default());
    let m = c.urls[0].content.as_ref().unwrap();
    assert!(m.is_found_in("<h1>Welc0me</h1>") && !m.is_found_in("welcome"));
    assert_eq!(m.describe(), "/Welc(o|0)me/");
}

#[test]
fn delay_defaults_follow_the_one_given() {
    let t = |extra: &str| {
        let c = ok(&site(&url(extra)), &FakeSsh::default());
        let t = &c.urls[0];
        (t.warn, t.crit, t.timeout)
    };
    // Only warn, above the default crit: crit follows it.
    assert_eq!(t("warn = \"5s\""), (S(5), S(5), S(7)));
    // Only crit, below the default warn: warn follows it.
    let half = Duration::from_millis(500);
    assert_eq!(t("crit = \"500ms\""), (half, half, half + S(2)));
}

#[test]
fn url_mistakes_are_located() {
    let ssh = FakeSsh::default();
    let e = errors(
        &site(
            "[[urls]]\nname = \"a.b\"\nurl = \"ftp://x/\"\n\
             [[urls]]\nname = \"b\"\nurl = \"https://u:p@x/\"\ncontains = \"\"\n\
             [[urls]]\nname = \"c\"\nurl = \"not a url\"\nregex = \"(\"\nwarn = \"5s\"\ncrit = \"1s\"\n\
             [[urls]]\nname = \"d\"\nurl = \"http://x/\"\nvia = \"bastoin\"\nexpect = [200, 99]\ncolour = 1\n",
        ),
        &ssh,
    );
    // The hosts end on line 13; [[urls]] starts on line 14.
    let want = [
        "15:8: invalid URL test name \"a.b\": expected letters, digits, `_` and `-`, not \
         starting with `-` (it is part of the check id app.url.NAME)",
        "16:7: unsupported URL scheme `ftp`: expected an http:// or https:// URL",
        "19:7: credentials in the URL are refused: secrets are never written in the configuration",
        "20:12: empty `contains`: expected the text the page must hold",
    ];
    for w in want {
        assert!(e.contains(&w.to_string()), "missing {w:?} in {e:#?}");
    }
    assert!(
        e.iter()
            .any(|p| p.starts_with("23:7: invalid URL \"not a url\"")),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|p| p.starts_with("24:9: invalid `regex` \"(\": ")),
        "{e:#?}"
    );
    assert!(
        e.iter()
            .any(|p| p.starts_with("25:8: `warn` is longer than `crit`")),
        "{e:#?}"
    );
    // The unknown field hides the rest of its table (serde stops there): listed alone.
    assert!(
        e.iter()
            .any(|p| p.starts_with("32:1: unknown field `colour`, expected one of `name`, `url`")),
        "{e:#?}"
    );
    assert!(e.iter().all(|p| !p.contains('\n')), "{e:#?}");
}

#[test]
fn via_names_a_host_and_names_are_unique() {
    let ssh = FakeSsh::default();
    let e = errors(&site(&url("via = \"bastoin\"")), &ssh);
    assert_eq!(
        e,
        [
            "17:7: `via` host `bastoin` names no host: expected one of the [[hosts]] names \
          (`prod`, `bastion`); did you mean `bastion`?"
        ]
    );
    let e = errors(&site(&format!("{}{}", url(""), url(""))), &ssh);
    assert_eq!(
        e,
        [
            "19:8: duplicate URL test name `site`: already used on line 15; names must be \
          unique (each is the check app.url.NAME)"
        ]
    );
    let e = errors(&site(&url("expect = [200, 99]\nwarn = 5")), &ssh);
    assert_eq!(
        e,
        [
            "17:16: `expect` = 99 is out of range: expected HTTP status codes from 100 to 599",
            "18:8: `warn`: expected a duration such as \"5s\", \"2h30m\" or \"250ms\", found \
             integer 5 (write \"5s\" for seconds)"
        ]
    );
    let e = errors(&site(&url("expect = [301, 302]")), &ssh);
    assert_eq!(
        e,
        [
            "17:10: `expect` lists only redirects, but redirects are followed (the answer judged \
          is the page they lead to): set follow_redirects = false to test the redirect itself"
        ]
    );
    ok(
        &site(&url("expect = [301]\nfollow_redirects = false")),
        &ssh,
    );
    let e = errors(&format!("{SITE}[urls]\nname = \"x\"\n"), &ssh);
    assert_eq!(
        e,
        ["3:1: `urls` must be an array of tables, found table: write each URL test as [[urls]]"]
    );
}

#[test]
fn ca_file_must_hold_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let ssh = FakeSsh::default();
    let e = errors(
        &site(&url(&format!("ca_file = \"{}\"", empty.display()))),
        &ssh,
    );
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(
        e[0].starts_with("17:11: `ca_file`: ") && e[0].contains("holds no certificate"),
        "{e:#?}"
    );
    let e = errors(&site(&url("ca_file = \"/nonexistent/ca.pem\"")), &ssh);
    assert!(
        e[0].contains("cannot read /nonexistent/ca.pem: no such file or directory"),
        "{e:#?}"
    );
}

#[test]
fn dnsbl_defaults_to_the_public_addresses_of_supervised_hosts() {
    let ssh = FakeSsh::default();
    let text = format!(
        "{}{}{}[dnsbl]\nresolver = \"127.0.0.1:5353\"\nzones = [\"zen.spamhaus.org.\", \"bl.spamcop.net\"]\n",
        site(""),
        host(
            "drp",
            "address = \"drp.example.test\"\npublic_address = \"203.0.113.11\""
        ),
        host("web2", "address = \"web2.example.test\"")
    );
    let c = ok(&text, &ssh);
    let d = c.dnsbl.unwrap();
    assert_eq!(d.resolver, "127.0.0.1:5353".parse().unwrap());
    assert_eq!(d.zones, ["zen.spamhaus.org", "bl.spamcop.net"]);
    // prod and drp share one address (one check); the bastion's is private; web2's is a name.
    assert_eq!(d.addresses, ["203.0.113.11".parse::<IpAddr>().unwrap()]);
    assert_eq!(d.every, S(300));
    assert_eq!(d.skipped.len(), 2, "{:?}", d.skipped);
    assert!(d.skipped[0].starts_with("bastion: 10.77.0.10 is not a public address"));
    assert!(d.skipped[1].starts_with("web2: public address web2.example.test is a name"));
}

#[test]
fn dnsbl_listed_addresses_and_mistakes() {
    let ssh = FakeSsh::default();
    let c = ok(
        &site(
            "[dnsbl]\nresolver = \"::1\"\nzones = [\"zen.spamhaus.org\"]\n\
             addresses = [\"192.0.2.1\", \"2001:db8::1\", \"::ffff:198.51.100.7\"]\nevery = \"10m\"\n",
        ),
        &ssh,
    );
    let d = c.dnsbl.unwrap();
    assert_eq!(d.resolver, "[::1]:53".parse().unwrap());
    let want: Vec<IpAddr> = ["192.0.2.1", "2001:db8::1", "198.51.100.7"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    assert_eq!(d.addresses, want);
    assert_eq!(d.every, S(600));

    let e = errors(
        &site(
            "[dnsbl]\nresolver = \"localhost:53\"\nzones = [\"bad zone\", \"-x.org\", \"a.org\", \"A.org\"]\n\
             addresses = [\"prod\"]\nevery = \"10s\"\n",
        ),
        &ssh,
    );
    assert_eq!(
        e,
        [
            "15:12: invalid `resolver` \"localhost:53\": expected an IP address and port, e.g. \
             \"127.0.0.1:53\" or \"[::1]:53\" (the port defaults to 53)",
            "16:10: invalid zone \"bad zone\": expected a DNS name such as \"zen.spamhaus.org\"",
            "16:22: invalid zone \"-x.org\": expected a DNS name such as \"zen.spamhaus.org\"",
            "16:41: duplicate zone `a.org` in `zones`",
            "17:14: invalid address \"prod\" in `addresses`: expected an IPv4 or IPv6 address \
             (blocklists list addresses, not names)",
            "18:9: `every` = \"10s\" is out of range: expected a duration from 1m to 1d",
        ]
    );
    let e = errors(
        &site("[dnsbl]\nresolver = \"127.0.0.1\"\nzones = []\n"),
        &ssh,
    );
    assert_eq!(
        e,
        [
            "16:9: empty `zones`: expected at least one blocklist zone, e.g. zones = \
          [\"zen.spamhaus.org\"]"
        ]
    );
    let e = errors(&site("[dnsbl]\nzones = [\"a.org\"]\n"), &ssh);
    assert_eq!(e, ["14:1: missing field `resolver` in [dnsbl]"]);
}

proptest::proptest! {
    /// Whatever the text, checking a resolver, a zone or a URL never panics.
    #[test]
    fn value_checks_never_panic(s in ".{0,80}") {
        let _ = parse_resolver(&s);
        let _ = dns_name(&s);
        let mut p = Problems::new("");
        let _ = check_address(&Spanned::new(0..0, s.clone()), &mut p);
        let _ = compile_regex(&Spanned::new(0..0, s), &mut p);
    }
}
