//! `[[urls]]` (URL tests, check ids `app.url.NAME`) and `[dnsbl]` (DNS blocklists, check ids
//! `network.dnsbl.IP`), SPEC §4.
//!
//! Everything that can be known without connecting is checked here, located in the file: the
//! URL's scheme, a regex that does not compile, a `via` host that does not exist, a `ca_file`
//! that holds no certificate, a zone that is not a DNS name.

use super::HostConfig;
use super::datasets::KnownHosts;
// The resolver is written like a DNS server of [dns]: one parser for both.
use super::dns::{dns_name, server_address as parse_resolver};
use super::error::Problems;
use super::fields::{
    UniqueNames, UrlFault, duration_value, host_ref, http_url, id_word, integer, path, table_in,
};
use super::load::Env;
use super::raw::{RawDnsbl, RawUrl};
use crate::dnsbl::codes::{canonical, is_public};
use serde_spanned::Spanned;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::DeValue;

/// SPEC §4's delay thresholds.
pub const DEFAULT_URL_WARN: Duration = Duration::from_secs(1);
pub const DEFAULT_URL_CRIT: Duration = Duration::from_secs(3);
/// How much longer than `crit` a test waits by default before giving up: long enough to tell
/// "slow" (CRIT with the measured delay) from "no answer" (CRIT naming the phase it hung in).
const TIMEOUT_MARGIN: Duration = Duration::from_secs(2);
/// The longest delay threshold or timeout: a URL test runs on every refresh.
const MAX_URL_WAIT: Duration = Duration::from_secs(120);
/// At most this many redirects are followed (SPEC extension `follow_redirects`).
pub const MAX_REDIRECTS: usize = 5;

/// Blocklists rate-limit heavy users (Spamhaus answers 127.255.255.255 past its free quota):
/// looking up every few minutes is plenty for listings that last hours or days.
const DEFAULT_DNSBL_EVERY: Duration = Duration::from_secs(300);
const DNSBL_EVERY_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(86_400));

/// What the body of the answer must hold.
#[derive(Debug, Clone)]
pub enum ContentMatch {
    /// This text, as is (case-sensitive).
    Contains(String),
    /// A match of this regex (Rust `regex` syntax), compiled when the file is loaded.
    Regex(regex::Regex),
}

impl ContentMatch {
    /// How the test describes what it looked for: `'Welcome'` or `/Welc(o|0)me/`.
    pub fn describe(&self) -> String {
        match self {
            ContentMatch::Contains(s) => format!("'{s}'"),
            ContentMatch::Regex(r) => format!("/{}/", r.as_str()),
        }
    }

    pub fn is_found_in(&self, body: &str) -> bool {
        match self {
            ContentMatch::Contains(s) => body.contains(s.as_str()),
            ContentMatch::Regex(r) => r.is_match(body),
        }
    }
}

impl PartialEq for ContentMatch {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (ContentMatch::Contains(a), ContentMatch::Contains(b)) => a == b,
            (ContentMatch::Regex(a), ContentMatch::Regex(b)) => a.as_str() == b.as_str(),
            _ => false,
        }
    }
}

/// One `[[urls]]` entry, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlTest {
    /// The check is `app.url.NAME`.
    pub name: String,
    /// http or https, with a host, without credentials.
    pub url: reqwest::Url,
    /// Accepted status codes. Empty: any 2xx, and any 3xx when redirects are not followed.
    pub expect: Vec<u16>,
    pub content: Option<ContentMatch>,
    /// Total delay thresholds.
    pub warn: Duration,
    pub crit: Duration,
    /// Past this the test gives up and says which phase it was in (default `crit` + 2 s).
    pub timeout: Duration,
    /// A `[[hosts]]` name: the URL is reached through an SSH tunnel from that host.
    pub via: Option<String>,
    /// PEM certificates trusted besides the system's roots (an internal CA).
    pub ca_file: Option<PathBuf>,
    /// Follow up to [`MAX_REDIRECTS`] redirects (default true).
    pub follow_redirects: bool,
}

impl UrlTest {
    pub fn check_id(&self) -> String {
        format!("app.url.{}", self.name)
    }
}

/// `[dnsbl]`, checked, with the default addresses filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Dnsbl {
    /// The only resolver asked (never the system's).
    pub resolver: SocketAddr,
    /// Blocklist zones, lowercase, without a trailing dot.
    pub zones: Vec<String>,
    /// Addresses looked up; one check `network.dnsbl.IP` each.
    pub addresses: Vec<IpAddr>,
    /// How often to look them up.
    pub every: Duration,
    /// Hosts' public addresses left out of the default list, and why (for `vigie config check`
    /// and the logs).
    pub skipped: Vec<String>,
}

/// `[dnsbl]` before the hosts are resolved: `addresses` is `None` when the file does not list
/// them (every supervised host's public address then).
pub(super) struct DnsblDraft {
    resolver: SocketAddr,
    zones: Vec<String>,
    addresses: Option<Vec<IpAddr>>,
    every: Duration,
}

// ---------------------------------------------------------------------------------------------
// [[urls]]

/// The `urls` value of the file → the URL tests, in file order.
pub(super) fn check_urls(
    v: Spanned<DeValue>,
    hosts: &KnownHosts,
    env: &Env,
    base: &Path,
    p: &mut Problems,
) -> Vec<UrlTest> {
    let span = v.span();
    let items = match v.into_inner() {
        DeValue::Array(items) => items,
        other => {
            p.at(
                span,
                format!(
                    "`urls` must be an array of tables, found {}: write each URL test as [[urls]]",
                    other.type_str()
                ),
            );
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    let mut names = UniqueNames::default();
    for item in items {
        if !item.get_ref().is_table() {
            p.at(
                item.span(),
                format!(
                    "expected a table in `urls`, found {}: write each URL test as [[urls]]",
                    item.get_ref().type_str()
                ),
            );
            continue;
        }
        let name = item
            .get_ref()
            .get("name")
            .and_then(|n| n.get_ref().as_str())
            .map(|n| format!("[[urls]] `{n}`"));
        let Some(raw) = table_in::<RawUrl>(item, "[[urls]]", name.as_deref(), p) else {
            continue;
        };
        let name_span = raw.name.span();
        let Some(test) = check_url(raw, hosts, env, base, p) else {
            continue;
        };
        let rule = "names must be unique (each is the check app.url.NAME)";
        if names.first(&test.name, name_span, "URL test name", rule, p) {
            out.push(test);
        }
    }
    out
}

fn check_url(
    raw: RawUrl,
    hosts: &KnownHosts,
    env: &Env,
    base: &Path,
    p: &mut Problems,
) -> Option<UrlTest> {
    // The name is part of the check id `app.url.NAME`: no dots, no blanks.
    let name_ok = id_word(&raw.name, "URL test name", "the check id app.url.NAME", p);
    let url = check_address(&raw.url, p);
    let expect = match &raw.expect {
        None => Vec::new(),
        Some(codes) if codes.get_ref().is_empty() => {
            p.at(
                codes.span(),
                "empty `expect`: list the accepted status codes, e.g. expect = [200, 301], or \
                 leave it out to accept any 2xx",
            );
            Vec::new()
        }
        Some(codes) => codes
            .get_ref()
            .iter()
            .filter_map(|c| {
                integer(
                    c,
                    "expect",
                    (100, 599),
                    "HTTP status codes from 100 to 599",
                    p,
                )
                .map(|n| n as u16)
            })
            .collect(),
    };
    let follow_redirects = raw.follow_redirects.unwrap_or(true);
    if let Some(codes) = &raw.expect
        && follow_redirects
        && !expect.is_empty()
        && expect.iter().all(|c| (300..400).contains(c))
    {
        // Redirects are followed: the answer judged is where they lead, never a 3xx.
        p.at(
            codes.span(),
            "`expect` lists only redirects, but redirects are followed (the answer judged is \
             the page they lead to): set follow_redirects = false to test the redirect itself",
        );
    }
    let content = match (&raw.contains, &raw.regex) {
        (Some(_), Some(r)) => {
            p.at(
                r.span(),
                "`contains` and `regex` are exclusive: keep one (a regex can match a fixed text)",
            );
            None
        }
        (Some(c), None) if c.get_ref().is_empty() => {
            p.at(
                c.span(),
                "empty `contains`: expected the text the page must hold",
            );
            None
        }
        (Some(c), None) => Some(ContentMatch::Contains(c.get_ref().clone())),
        (None, Some(r)) => compile_regex(r, p).map(ContentMatch::Regex),
        (None, None) => None,
    };
    let bounds = (Duration::ZERO, MAX_URL_WAIT);
    let warn = raw
        .warn
        .as_ref()
        .and_then(|v| duration_value(v, "warn", bounds, p));
    let crit = raw
        .crit
        .as_ref()
        .and_then(|v| duration_value(v, "crit", bounds, p));
    let (warn, crit) = match (warn, crit) {
        (Some(w), Some(c)) if w > c => {
            if let Some(v) = &raw.warn {
                p.at(
                    v.span(),
                    "`warn` is longer than `crit`: a delay is WARN past `warn` and CRIT past \
                     `crit`, so `warn` must not be longer",
                );
            }
            (w, c)
        }
        (w, c) => {
            let crit = c.unwrap_or(DEFAULT_URL_CRIT.max(w.unwrap_or_default()));
            (w.unwrap_or(DEFAULT_URL_WARN.min(crit)), crit)
        }
    };
    let timeout = raw
        .timeout
        .as_ref()
        .and_then(|v| duration_value(v, "timeout", bounds, p))
        .unwrap_or(crit + TIMEOUT_MARGIN);
    if let Some(via) = &raw.via {
        host_ref(via, "`via` host", hosts, p);
    }
    let ca_file = raw.ca_file.as_ref().map(|v| {
        let file = path(v, "ca_file", env, base, p);
        if let Err(why) = crate::web::tls::read_ca_file(&file) {
            p.at(v.span(), format!("`ca_file`: {why}"));
        }
        file
    });
    let url = url?;
    if !name_ok {
        return None;
    }
    Some(UrlTest {
        name: raw.name.into_inner(),
        url,
        expect,
        content,
        warn,
        crit,
        timeout,
        via: raw.via.map(Spanned::into_inner),
        ca_file,
        follow_redirects,
    })
}

fn check_address(v: &Spanned<String>, p: &mut Problems) -> Option<reqwest::Url> {
    let text = v.get_ref();
    let why = match http_url(text) {
        Ok(url) => return Some(url),
        Err(UrlFault::Invalid(e)) => {
            format!("invalid URL {text:?}: {e}; expected e.g. \"https://www.example.test/\"")
        }
        Err(UrlFault::Scheme(scheme)) => {
            format!("unsupported URL scheme `{scheme}`: expected an http:// or https:// URL")
        }
        Err(UrlFault::NoHost) => format!("URL {text:?} has no host"),
        Err(UrlFault::Credentials) => {
            "credentials in the URL are refused: secrets are never written in the configuration"
                .to_string()
        }
    };
    p.at(v.span(), why);
    None
}

fn compile_regex(v: &Spanned<String>, p: &mut Problems) -> Option<regex::Regex> {
    if v.get_ref().is_empty() {
        p.at(
            v.span(),
            "empty `regex`: expected the pattern the page must match",
        );
        return None;
    }
    match regex::RegexBuilder::new(v.get_ref())
        .size_limit(1 << 20)
        .build()
    {
        Ok(r) => Some(r),
        Err(e) => {
            // regex's own message spans several lines (pattern, caret, error): keep the
            // error line, one problem per line.
            let text = e.to_string();
            let why = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("error: "))
                .unwrap_or_else(|| text.lines().last().unwrap_or("invalid"))
                .trim()
                .to_string();
            p.at(
                v.span(),
                format!("invalid `regex` {:?}: {why}", v.get_ref()),
            );
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// [dnsbl]

/// The `dnsbl` value of the file, checked; its default addresses are filled in by
/// [`finish_dnsbl`] once the hosts are known.
pub(super) fn check_dnsbl(v: Spanned<DeValue>, p: &mut Problems) -> Option<DnsblDraft> {
    let raw = table_in::<RawDnsbl>(v, "[dnsbl]", None, p)?;
    let resolver = parse_resolver(raw.resolver.get_ref());
    if resolver.is_none() {
        p.at(
            raw.resolver.span(),
            format!(
                "invalid `resolver` {:?}: expected an IP address and port, e.g. \
                 \"127.0.0.1:53\" or \"[::1]:53\" (the port defaults to 53)",
                raw.resolver.get_ref()
            ),
        );
    }
    if raw.zones.get_ref().is_empty() {
        p.at(
            raw.zones.span(),
            "empty `zones`: expected at least one blocklist zone, e.g. zones = [\"zen.spamhaus.org\"]",
        );
    }
    let mut zones = Vec::new();
    for z in raw.zones.get_ref() {
        match dns_name(z.get_ref()) {
            Some(name) if zones.contains(&name) => {
                p.at(z.span(), format!("duplicate zone `{name}` in `zones`"));
            }
            Some(name) => zones.push(name),
            None => p.at(
                z.span(),
                format!(
                    "invalid zone {:?}: expected a DNS name such as \"zen.spamhaus.org\"",
                    z.get_ref()
                ),
            ),
        }
    }
    let addresses = raw.addresses.as_ref().map(|list| {
        let mut out = Vec::new();
        for a in list {
            match a.get_ref().trim().parse::<IpAddr>().map(canonical) {
                Ok(ip) if out.contains(&ip) => {
                    p.at(a.span(), format!("duplicate address `{ip}` in `addresses`"));
                }
                Ok(ip) => out.push(ip),
                Err(_) => p.at(
                    a.span(),
                    format!(
                        "invalid address {:?} in `addresses`: expected an IPv4 or IPv6 address \
                         (blocklists list addresses, not names)",
                        a.get_ref()
                    ),
                ),
            }
        }
        out
    });
    let every = raw
        .every
        .as_ref()
        .and_then(|v| duration_value(v, "every", DNSBL_EVERY_BOUNDS, p))
        .unwrap_or(DEFAULT_DNSBL_EVERY);
    Some(DnsblDraft {
        resolver: resolver?,
        zones,
        addresses,
        every,
    })
}

/// The addresses `[dnsbl]` looks up: the listed ones, else every supervised host's public
/// address that is a public IP (names and private addresses are skipped, with a note).
pub(super) fn finish_dnsbl(draft: DnsblDraft, hosts: &[HostConfig]) -> Dnsbl {
    let mut skipped = Vec::new();
    let addresses = match draft.addresses {
        Some(list) => list,
        None => {
            let mut out: Vec<IpAddr> = Vec::new();
            for h in hosts.iter().filter(|h| h.supervised) {
                let Ok(ip) = h.public_address.parse::<IpAddr>() else {
                    skipped.push(format!(
                        "{}: public address {} is a name, not an IP (list its IP in [dnsbl] \
                         addresses)",
                        h.name, h.public_address
                    ));
                    continue;
                };
                let ip = canonical(ip);
                if !is_public(ip) {
                    skipped.push(format!(
                        "{}: {ip} is not a public address (blocklists list internet-facing \
                         addresses only)",
                        h.name
                    ));
                } else if !out.contains(&ip) {
                    out.push(ip);
                }
            }
            out
        }
    };
    for note in &skipped {
        tracing::info!("[dnsbl] skips {note}");
    }
    Dnsbl {
        resolver: draft.resolver,
        zones: draft.zones,
        addresses,
        every: draft.every,
        skipped,
    }
}

#[cfg(test)]
#[path = "urls_tests.rs"]
mod tests;
