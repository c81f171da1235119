//! Routes of the `net` section: `ip -j route`, plain `ip route` (every iproute2 since RHEL 5),
//! /proc/net/route and /proc/net/ipv6_route.

use super::{Hop, Part, RawPart, Route, RouteType, clean, name, prefixed, str_of};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(super) fn parse(p: &RawPart, v6: bool) -> Part<Vec<Route>> {
    match p.format {
        "json" => json(&p.lines.join("\n"), v6),
        "text" => Ok(text(&p.lines, v6)),
        "proc" if v6 => Ok(proc6(&p.lines)),
        "proc" => Ok(proc4(&p.lines, p.machine)),
        other => Err(format!("unknown format {:?}", clean(other, 20))),
    }
}

/// The destination of a route: `default`, a prefix, or a bare host address. A default
/// route's family is its gateway's when it has one written without an explicit family
/// (`ip route show table all` mixes both), else the part's.
fn dst(
    word: &str,
    gateway: Option<IpAddr>,
    explicit_family: bool,
    v6: bool,
) -> Option<(IpAddr, u8)> {
    if word == "default" {
        let v6 = match gateway {
            Some(g) if !explicit_family => g.is_ipv6(),
            _ => v6,
        };
        let any = if v6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        return Some((any, 0));
    }
    prefixed(word)
}

fn main_table(t: &str) -> Option<String> {
    (t != "main").then(|| clean(t, 20))
}

/// `ip -j route show`: `{"dst":"default","gateway":"10.77.1.1","dev":"eth0","flags":[]}`,
/// multipath routes with `nexthops`, RFC 5549 gateways as `"via":{"family":…,"host":…}`.
fn json(text: &str, v6: bool) -> Part<Vec<Route>> {
    let v: Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("unexpected JSON: {}", clean(&e.to_string(), 80)))?;
    let list = v.as_array().ok_or("unexpected JSON: not a list")?;
    let mut out = Vec::new();
    for r in list {
        let hops: Vec<(Hop, bool)> = match r.get("nexthops").and_then(Value::as_array) {
            Some(n) => n.iter().map(json_hop).collect(),
            None => vec![json_hop(r)],
        };
        let (gateway, explicit) = hops.first().map_or((None, false), |(h, e)| (h.gateway, *e));
        let Some((dst, prefix)) = str_of(r, "dst").and_then(|d| dst(d, gateway, explicit, v6))
        else {
            continue;
        };
        let kind = match str_of(r, "type") {
            None => RouteType::Unicast,
            Some(t) => RouteType::from_word(t).unwrap_or(RouteType::Other),
        };
        let hops = hops
            .into_iter()
            .map(|(h, _)| h)
            .filter(|h| h.gateway.is_some() || h.dev.is_some())
            .collect();
        out.push(Route {
            dst,
            prefix,
            kind,
            hops,
            metric: r
                .get("metric")
                .and_then(Value::as_u64)
                .and_then(|m| u32::try_from(m).ok()),
            table: str_of(r, "table").and_then(main_table),
        });
    }
    Ok(out)
}

/// A hop of a JSON route (the route itself, or one of its `nexthops`), and whether its
/// gateway came with an explicit family.
fn json_hop(v: &Value) -> (Hop, bool) {
    let via = v.get("via").and_then(|x| str_of(x, "host"));
    let gateway = str_of(v, "gateway")
        .or(via)
        .and_then(|g| g.parse::<IpAddr>().ok());
    let flags = v.get("flags").and_then(Value::as_array);
    let down = flags
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .any(|f| f == "linkdown" || f == "dead");
    let hop = Hop {
        gateway,
        dev: str_of(v, "dev").map(name),
        down,
    };
    (hop, via.is_some())
}

/// Keywords of `ip route` output followed by a value (iproute2 ip/iproute.c), skipped with
/// it so that a value is never taken for a flag.
const VALUED: &[&str] = &[
    "proto",
    "scope",
    "src",
    "mtu",
    "expires",
    "pref",
    "error",
    "hoplimit",
    "realm",
    "realms",
    "weight",
    "nhid",
    "advmss",
    "rtt",
    "rttvar",
    "rto_min",
    "window",
    "cwnd",
    "ssthresh",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "fastopen_no_cookie",
    "tos",
    "dsfield",
    "from",
    "ttl-propagate",
    "reordering",
    "lock",
];

/// The attributes of one route or `nexthop` line.
#[derive(Default)]
struct Attrs {
    hop: Option<Hop>,
    explicit_family: bool,
    metric: Option<u32>,
    table: Option<String>,
}

fn attrs<'a>(words: impl Iterator<Item = &'a str>) -> Attrs {
    let mut a = Attrs::default();
    let mut hop = Hop {
        gateway: None,
        dev: None,
        down: false,
    };
    let mut w = words;
    while let Some(t) = w.next() {
        match t {
            "via" => {
                let mut g = w.next();
                if matches!(g, Some("inet" | "inet6")) {
                    a.explicit_family = true;
                    g = w.next();
                }
                hop.gateway = g.and_then(|g| g.parse().ok());
            }
            "dev" => hop.dev = w.next().map(name),
            "metric" => a.metric = w.next().and_then(|m| m.parse().ok()),
            "table" => a.table = w.next().and_then(main_table),
            "linkdown" | "dead" => hop.down = true,
            k if VALUED.contains(&k) => {
                w.next();
            }
            _ => {}
        }
    }
    if hop.gateway.is_some() || hop.dev.is_some() {
        a.hop = Some(hop);
    }
    a
}

/// Plain `ip route show`: `[TYPE] DEST [via GW] [dev DEV] … [linkdown]`, multipath routes
/// followed by indented `nexthop via … dev …` lines, cached routes by indented `cache …`.
fn text(lines: &[&str], v6: bool) -> Vec<Route> {
    let mut out: Vec<Route> = Vec::new();
    // Whether indented lines belong to the last route (not to a line that was skipped).
    let mut open = false;
    for line in lines {
        if line.starts_with(char::is_whitespace) {
            let mut w = line.split_whitespace();
            if w.next() == Some("nexthop")
                && open
                && let Some(r) = out.last_mut()
                && let Some(h) = attrs(w).hop
            {
                r.hops.push(h);
            }
            continue;
        }
        open = false;
        let mut w = line.split_whitespace();
        let Some(first) = w.next() else {
            continue;
        };
        let (kind, dest) = match RouteType::from_word(first) {
            Some(k) => (k, w.next()),
            None => (RouteType::Unicast, Some(first)),
        };
        let Some(dest) = dest else {
            continue;
        };
        let a = attrs(w);
        let gateway = a.hop.as_ref().and_then(|h| h.gateway);
        let Some((dst, prefix)) = dst(dest, gateway, a.explicit_family, v6) else {
            continue;
        };
        out.push(Route {
            dst,
            prefix,
            kind,
            hops: a.hop.into_iter().collect(),
            metric: a.metric,
            table: a.table,
        });
        open = true;
    }
    out
}

/// Machines whose kernel prints /proc/net/route's words big-endian (`uname -m`). Only a
/// fallback: the netmasks usually tell (see [`proc4`]).
const BIG_ENDIAN: &[&str] = &[
    "s390",
    "s390x",
    "ppc",
    "ppc64",
    "powerpc",
    "sparc",
    "sparc64",
    "m68k",
    "parisc",
    "parisc64",
    "armeb",
    "aarch64_be",
];

fn contiguous(mask: u32) -> bool {
    mask.leading_ones() + mask.trailing_zeros() == 32
}

/// /proc/net/route, the main table: each address is the kernel's 32-bit word printed as a
/// number in the host's byte order (`0101A8C0` is 192.168.1.1 on x86).
fn proc4(lines: &[&str], machine: Option<&str>) -> Vec<Route> {
    const RTF_GATEWAY: u32 = 0x2;
    const RTF_REJECT: u32 = 0x200;
    let hex = |s: &str| u32::from_str_radix(s, 16).ok();
    let rows: Vec<Vec<&str>> = lines
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| w.len() >= 8 && w.first() != Some(&"Iface"))
        .collect();
    // A netmask other than 0 and /32 is contiguous in one byte order only.
    let by_masks = rows.iter().filter_map(|w| hex(w.get(7)?)).find_map(|m| {
        let le = contiguous(u32::from_be_bytes(m.to_le_bytes()));
        let be = contiguous(m);
        (le != be).then_some(be)
    });
    let big = by_masks.unwrap_or_else(|| machine.is_some_and(|m| BIG_ENDIAN.contains(&m)));
    let word = |v: u32| {
        if big {
            Ipv4Addr::from(v.to_be_bytes())
        } else {
            Ipv4Addr::from(v.to_le_bytes())
        }
    };
    let mut out = Vec::new();
    for w in rows {
        let (Some(iface), Some(d), Some(g), Some(f), Some(m), Some(mask)) = (
            w.first(),
            w.get(1).and_then(|x| hex(x)),
            w.get(2).and_then(|x| hex(x)),
            w.get(3).and_then(|x| hex(x)),
            w.get(6).and_then(|x| x.parse::<u32>().ok()),
            w.get(7).and_then(|x| hex(x)),
        ) else {
            continue;
        };
        let mask = u32::from(word(mask));
        if !contiguous(mask) {
            continue;
        }
        let kind = if f & RTF_REJECT != 0 {
            RouteType::Unreachable
        } else if *iface == "*" {
            RouteType::Blackhole
        } else {
            RouteType::Unicast
        };
        let hop = Hop {
            gateway: (f & RTF_GATEWAY != 0 && g != 0).then(|| IpAddr::V4(word(g))),
            dev: (*iface != "*").then(|| name(iface)),
            down: false,
        };
        out.push(Route {
            dst: IpAddr::V4(word(d)),
            prefix: mask.leading_ones() as u8,
            kind,
            hops: vec![hop].into_iter().filter(|h| h.dev.is_some()).collect(),
            metric: Some(m),
            table: None,
        });
    }
    out
}

fn ipv6_hex(s: &str) -> Option<Ipv6Addr> {
    if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u128::from_str_radix(s, 16).ok().map(Ipv6Addr::from)
}

/// /proc/net/ipv6_route: every table (local routes flagged RTF_LOCAL), addresses in network
/// order: DEST PLEN SRC SPLEN NEXTHOP METRIC REFCNT USE FLAGS DEV.
fn proc6(lines: &[&str]) -> Vec<Route> {
    const RTF_GATEWAY: u32 = 0x2;
    const RTF_REJECT: u32 = 0x200;
    const RTF_CACHE: u32 = 0x0100_0000;
    const RTF_LOCAL: u32 = 0x8000_0000;
    let mut out = Vec::new();
    for line in lines {
        let w: Vec<&str> = line.split_whitespace().collect();
        let [d, plen, _src, _splen, nh, metric, _refcnt, _use, flags, dev] = w.as_slice() else {
            continue;
        };
        let (Some(d), Some(plen), Some(nh), Some(flags)) = (
            ipv6_hex(d),
            u8::from_str_radix(plen, 16).ok().filter(|p| *p <= 128),
            ipv6_hex(nh),
            u32::from_str_radix(flags, 16).ok(),
        ) else {
            continue;
        };
        let kind = if flags & RTF_LOCAL != 0 {
            RouteType::Local
        } else if flags & RTF_REJECT != 0 {
            RouteType::Unreachable
        } else if d.is_multicast() {
            RouteType::Multicast
        } else if flags & RTF_CACHE != 0 {
            RouteType::Other
        } else {
            RouteType::Unicast
        };
        out.push(Route {
            dst: IpAddr::V6(d),
            prefix: plen,
            kind,
            hops: vec![Hop {
                gateway: (flags & RTF_GATEWAY != 0 && !nh.is_unspecified())
                    .then_some(IpAddr::V6(nh)),
                dev: Some(name(dev)),
                down: false,
            }],
            metric: u32::from_str_radix(metric, 16).ok(),
            table: None,
        });
    }
    out
}
