//! `network.interface.<if>` and `network.route.default` (SPEC §4), from the `net` section of
//! the probe (src/probe/net.sh). As an extension of the SPEC, each route listed in the host's
//! `routes` gets its own `network.route.<destination>` check: the SPEC names only the default
//! route, and folding the others into it would hide which one is missing.

use super::host::issue_check;
use super::{Check, State};
use crate::config::HostConfig;
use crate::probe::parse::net::{self, Address, Interface, NetReport, OperState, Route, RouteType};
use crate::probe::report::{ProbeReport, SectionIssue};
use std::net::IpAddr;

const DEFAULT_ID: &str = "network.route.default";
/// The check standing for every interface when none is configured and none could be read.
const ANY_INTERFACE_ID: &str = "network.interface";

fn interface_id(name: &str) -> String {
    format!("network.interface.{name}")
}

/// The destination of a configured route (`"10.0.0.0/8 via 10.77.1.1"`), its check id's end.
fn route_dest(spec: &str) -> &str {
    spec.split_whitespace().next().unwrap_or(spec)
}

fn route_id(spec: &str) -> String {
    format!("network.route.{}", route_dest(spec))
}

/// The checks of one host's probe report.
pub fn evaluate(host: &HostConfig, report: &ProbeReport) -> Vec<Check> {
    let parsed = report
        .section("net")
        .and_then(|s| net::parse(&s.body).map_err(SectionIssue::from));
    let net = match parsed {
        Ok(n) => n,
        Err(issue) => return unknown_all(host, &issue),
    };
    let mut out = interfaces(host, &net);
    out.push(default_route(&net));
    for spec in &host.apps.routes {
        let c = configured_route(spec, &net);
        // Two entries for one destination (with and without a gateway) share an id: the
        // first one counts.
        if !out.iter().any(|o| o.id == c.id) {
            out.push(c);
        }
    }
    out
}

/// Every check the section would have fed, UNKNOWN with the section's issue.
fn unknown_all(host: &HostConfig, issue: &SectionIssue) -> Vec<Check> {
    let mut ids: Vec<String> = if host.apps.interfaces.is_empty() {
        vec![ANY_INTERFACE_ID.to_string()]
    } else {
        host.apps
            .interfaces
            .iter()
            .map(|i| interface_id(i))
            .collect()
    };
    ids.push(DEFAULT_ID.to_string());
    for r in &host.apps.routes {
        let id = route_id(r);
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids.iter()
        .filter_map(|id| issue_check(id, "network", issue))
        .collect()
}

fn interfaces(host: &HostConfig, net: &NetReport) -> Vec<Check> {
    let configured = &host.apps.interfaces;
    let list = match &net.interfaces {
        Ok(l) => l,
        Err(why) if configured.is_empty() => return vec![Check::unknown(ANY_INTERFACE_ID, why)],
        Err(why) => {
            return configured
                .iter()
                .map(|n| Check::unknown(interface_id(n), why))
                .collect();
        }
    };
    if configured.is_empty() {
        // Interfaces come and go (a VPN's tun, a container's veth): those administratively
        // down are nobody's concern until the configuration names them.
        return list
            .iter()
            .filter(|i| i.admin_up && !i.loopback)
            .map(|i| interface(i, false))
            .collect();
    }
    configured
        .iter()
        .map(|n| match list.iter().find(|i| &i.name == n) {
            Some(i) => interface(i, true),
            None => Check::new(interface_id(n), State::Crit, "absent"),
        })
        .collect()
}

/// The addresses worth showing: not link-local (every IPv6 interface has one).
fn shown(i: &Interface) -> Option<Vec<&Address>> {
    i.addresses
        .as_ref()
        .map(|a| a.iter().filter(|a| !a.link_local()).collect())
}

/// "10.77.1.11/24", "10.77.1.11/24, fd00::11/64 +2": the first two, and how many more.
fn addresses(a: &[&Address]) -> String {
    let mut s = a
        .iter()
        .take(2)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if a.len() > 2 {
        s.push_str(&format!(" +{}", a.len() - 2));
    }
    s
}

/// Why a link that is administratively up carries no traffic, if it does not.
fn down_reason(i: &Interface) -> Option<&'static str> {
    if i.carrier == Some(false) {
        return Some("no carrier");
    }
    // UNKNOWN (loopback, tun, many virtual drivers): the carrier flag alone says.
    match i.operstate? {
        OperState::Down => Some("down"),
        OperState::LowerLayerDown => Some("lower layer down"),
        OperState::NotPresent => Some("not present"),
        OperState::Dormant => Some("dormant"),
        OperState::Up | OperState::Unknown | OperState::Testing => None,
    }
}

fn interface(i: &Interface, configured: bool) -> Check {
    let id = interface_id(&i.name);
    let shown = shown(i);
    let detail = match (&i.master, &shown) {
        (Some(m), _) => format!("port of {m}"),
        (None, None) => "addresses not read (no ip command)".to_string(),
        (None, Some(a)) if a.is_empty() => "no address".to_string(),
        (None, Some(a)) => addresses(a),
    };
    if !i.admin_up {
        return Check::new(id, State::Crit, format!("administratively down, {detail}"));
    }
    if let Some(why) = down_reason(i) {
        // A bridge has no carrier when none of its ports has: its ports say which (they
        // are checked too). Unless named in the configuration, that is no fault of its own
        // (docker0 or virbr0 without container or VM).
        if !configured && i.kind.as_deref() == Some("bridge") {
            return Check::new(id, State::Ok, format!("no port up, {detail}"));
        }
        return Check::new(id, State::Crit, format!("{why}, {detail}"));
    }
    if i.operstate == Some(OperState::Testing) {
        return Check::new(id, State::Warn, format!("in test mode, {detail}"));
    }
    // A port of a bridge or bond legitimately has no address of its own; an interface the
    // configuration names and that has none is probably not doing its job.
    if configured && i.master.is_none() && shown.as_ref().is_some_and(Vec::is_empty) {
        return Check::new(id, State::Warn, "up, no address");
    }
    Check::new(id, State::Ok, format!("up, {detail}"))
}

/// "via 10.77.1.1 dev eth0", "dev tun0", "via 10.77.1.1 dev eth0 (+1 path)".
fn describe(r: &Route) -> String {
    let Some(h) = r.hops.first() else {
        return r.kind.word().to_string();
    };
    let mut s = match (&h.gateway, &h.dev) {
        (Some(g), Some(d)) => format!("via {g} dev {d}"),
        (Some(g), None) => format!("via {g}"),
        (None, Some(d)) => format!("dev {d}"),
        (None, None) => "no next hop".to_string(),
    };
    match r.hops.len() {
        1 => {}
        2 => s.push_str(" (+1 path)"),
        n => s.push_str(&format!(" (+{} paths)", n - 1)),
    }
    s
}

/// The default route the kernel uses for a family: unicast, main table, a live link
/// first, then the lowest metric.
fn best_default(routes: &[Route], v6: bool) -> Option<&Route> {
    routes
        .iter()
        .filter(|r| r.is_default() && r.usable_kind() && r.dst.is_ipv6() == v6)
        .min_by_key(|r| (r.down(), r.metric.unwrap_or(0)))
}

/// An address that makes the host reachable in its family: neither loopback nor link-local.
fn has_global(net: &NetReport, v6: bool) -> Option<bool> {
    let list = net.interfaces.as_ref().ok()?;
    let mut any = false;
    for i in list.iter().filter(|i| !i.loopback) {
        let a = i.addresses.as_ref()?;
        any |= a
            .iter()
            .any(|a| a.ip.is_ipv6() == v6 && !a.link_local() && !a.ip.is_loopback());
    }
    Some(any)
}

fn default_route(net: &NetReport) -> Check {
    let r4 = match &net.routes4 {
        Ok(r) => r,
        Err(why) => return Check::unknown(DEFAULT_ID, why),
    };
    let d4 = best_default(r4, false);
    if let Some(d) = d4.filter(|d| !d.down()) {
        return Check::new(DEFAULT_ID, State::Ok, describe(d));
    }
    let d6 = net
        .routes6
        .as_ref()
        .ok()
        .and_then(|r| best_default(r, true));
    // An IPv6-only host (no IPv4 address but loopback and link-local) needs an IPv6 default
    // route only. Without the addresses (no iproute2), an IPv6 default route is enough.
    let v6_only = has_global(net, false).is_none_or(|v4| !v4);
    if v6_only && let Some(d) = d6.filter(|d| !d.down()) {
        return Check::new(DEFAULT_ID, State::Ok, format!("{} (IPv6)", describe(d)));
    }
    if let Some(d) = d4.or(d6.filter(|_| v6_only)) {
        return Check::new(
            DEFAULT_ID,
            State::Crit,
            format!("{}, link down", describe(d)),
        );
    }
    let blocked = r4
        .iter()
        .find(|r| r.is_default() && r.table.is_none() && r.kind != RouteType::Unicast);
    if let Some(b) = blocked {
        let what = format!("default route is {}", b.kind.word());
        return Check::new(DEFAULT_ID, State::Crit, what);
    }
    let summary = match d6 {
        Some(d) => format!("no IPv4 default route (IPv6 {})", describe(d)),
        None => "no default route".to_string(),
    };
    Check::new(DEFAULT_ID, State::Crit, summary)
}

/// The network of an address: its host bits cleared.
fn network(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    }
}

/// A route of the host's `routes`: present in the main table, unicast, through the given
/// gateway when one is given, on a link that is up.
fn configured_route(spec: &str, net: &NetReport) -> Check {
    let id = route_id(spec);
    let words: Vec<&str> = spec.split_whitespace().collect();
    let gateway: Option<IpAddr> = match words.as_slice() {
        [_, "via", g] => g.parse().ok(),
        _ => None,
    };
    let Some((ip, prefix)) = net::prefixed(route_dest(spec)) else {
        return Check::unknown(id, "not an address or prefix");
    };
    let routes = match if ip.is_ipv6() {
        &net.routes6
    } else {
        &net.routes4
    } {
        Ok(r) => r,
        Err(why) => return Check::unknown(id, why),
    };
    let want = network(ip, prefix);
    let found: Vec<&Route> = routes
        .iter()
        .filter(|r| {
            r.table.is_none()
                && r.prefix == prefix
                && r.dst.is_ipv6() == ip.is_ipv6()
                && network(r.dst, r.prefix) == want
        })
        .collect();
    let expected = gateway
        .map(|g| format!("expected via {g}"))
        .unwrap_or_default();
    let Some(r) = found
        .iter()
        .copied()
        .filter(|r| r.kind == RouteType::Unicast)
        .min_by_key(|r| (r.down(), r.metric.unwrap_or(0)))
    else {
        return match found.first() {
            Some(r) => Check::new(id, State::Crit, format!("{} route", r.kind.word())),
            None if gateway.is_some() => Check::new(id, State::Crit, format!("absent, {expected}")),
            None => Check::new(id, State::Crit, "absent"),
        };
    };
    if let Some(g) = gateway
        && !r.hops.iter().any(|h| h.gateway == Some(g))
    {
        return Check::new(id, State::Crit, format!("{}, {expected}", describe(r)));
    }
    if r.down() {
        return Check::new(id, State::Crit, format!("{}, link down", describe(r)));
    }
    Check::new(id, State::Ok, describe(r))
}

#[cfg(test)]
#[path = "network_tests.rs"]
mod tests;
