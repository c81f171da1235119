//! A host's applications, replication, interfaces and routes (SPEC §4, issue 5): which
//! `app.service.*`, `app.replication.*` and `network.*` checks the host gets.

use super::error::Problems;
use super::fields::list;
use super::raw::RawHost;
use serde_spanned::Spanned;
use std::collections::HashSet;

/// The applications Vigie knows how to probe (`services`), as the policy names them.
pub const SERVICES: [&str; 10] = [
    "apache",
    "nginx",
    "tomcat",
    "varnish",
    "elasticsearch",
    "mysql",
    "postgresql",
    "ftp",
    "postfix",
    "qmail",
];

/// The replication systems Vigie reads (`replication`). `heartbeat` and `pacemaker` are the
/// same check (`crm_mon`/`cl_status`), kept under the name the operator wrote.
pub const REPLICATION_KINDS: [&str; 7] = [
    "heartbeat",
    "pacemaker",
    "drbd",
    "glusterfs",
    "ceph",
    "mysql",
    "postgresql",
];

/// What beyond the system a host is supervised for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostApps {
    /// Replication kinds, each one of [`REPLICATION_KINDS`], listed once.
    pub replication: Vec<String>,
    /// Interfaces that must exist and be up (`network.interface.<if>`); empty: every
    /// interface the host has that is administratively up, but the loopback.
    pub interfaces: Vec<String>,
    /// Destinations that must be in the routing table besides the default route
    /// ("10.0.0.0/8", or "10.0.0.0/8 via 10.77.1.1" to require the gateway too).
    pub routes: Vec<String>,
}

/// Checks `services`, `replication`, `interfaces` and `routes` of a `[[hosts]]` entry.
pub(super) fn check(raw: &RawHost, p: &mut Problems) -> HostApps {
    let host = raw.name.get_ref();
    for s in &raw.services {
        known(s, "service", &SERVICES, p);
    }
    let mut apps = HostApps::default();
    for (items, what, field, out) in [
        (
            &raw.replication,
            "replication kind",
            "replication",
            &mut apps.replication,
        ),
        (
            &raw.interfaces,
            "interface",
            "interfaces",
            &mut apps.interfaces,
        ),
        (&raw.routes, "route", "routes", &mut apps.routes),
    ] {
        let mut seen = HashSet::new();
        for item in items {
            let v = item.get_ref().trim();
            let ok = match field {
                "replication" => known(item, what, &REPLICATION_KINDS, p),
                "interfaces" => interface_ok(item, p),
                _ => route_ok(item, p),
            };
            if ok && !seen.insert(v.to_string()) {
                p.at(
                    item.span(),
                    format!(
                        "duplicate {what} `{v}` in `{field}` of host `{host}`: each is listed once"
                    ),
                );
            }
            if ok {
                out.push(v.to_string());
            }
        }
    }
    apps
}

fn known(v: &Spanned<String>, what: &str, options: &[&str], p: &mut Problems) -> bool {
    let s = v.get_ref().as_str();
    if options.contains(&s) {
        return true;
    }
    let hint = if options.contains(&s.to_ascii_lowercase().as_str()) {
        " (written in lowercase)"
    } else if what == "service" && s == "mariadb" {
        " (MariaDB is probed as `mysql`)"
    } else {
        ""
    };
    p.at(
        v.span(),
        format!(
            "unknown {what} `{s}`, expected one of {}{hint}",
            list(options.iter().copied())
        ),
    );
    false
}

/// A Linux interface name: 1 to 15 bytes, no '/', blank or control character.
fn interface_ok(v: &Spanned<String>, p: &mut Problems) -> bool {
    let s = v.get_ref();
    let ok = !s.is_empty()
        && s.len() <= 15
        && s != "."
        && s != ".."
        && !s
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control());
    if !ok {
        p.at(
            v.span(),
            format!("interface {s:?}: expected an interface name of 1 to 15 characters without '/', ':' or blanks"),
        );
    }
    ok
}

/// "DEST" or "DEST via GATEWAY", DEST an address or prefix ("default" is always checked).
fn route_ok(v: &Spanned<String>, p: &mut Problems) -> bool {
    let words: Vec<&str> = v.get_ref().split_whitespace().collect();
    let prefix_ok = |d: &str| {
        let (addr, len) = d.split_once('/').unwrap_or((d, ""));
        addr.parse::<std::net::IpAddr>().is_ok_and(|a| {
            let max = if a.is_ipv4() { 32 } else { 128 };
            len.is_empty() || len.parse::<u8>().is_ok_and(|n| n <= max)
        })
    };
    let ok = match words.as_slice() {
        [dest] => prefix_ok(dest),
        [dest, "via", gw] => prefix_ok(dest) && gw.parse::<std::net::IpAddr>().is_ok(),
        _ => false,
    };
    if !ok {
        p.at(
            v.span(),
            format!(
                "route {:?}: expected \"DESTINATION\" or \"DESTINATION via GATEWAY\" with an address or prefix (\"10.0.0.0/8 via 10.77.1.1\")",
                v.get_ref()
            ),
        );
    }
    ok
}
