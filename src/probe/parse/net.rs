//! `net`: the host's interfaces and routes (src/probe/net.sh), from `ip -j` (JSON), plain `ip`
//! (RHEL 7 and older iproute2 have no `-j`), or /sys/class/net and /proc/net/*route on a host
//! without iproute2. Each of the three parts (addresses, IPv4 routes, IPv6 routes) carries its
//! own status: one that failed leaves the others usable.

use super::{ParseError, clean};
use serde_json::Value;
use std::net::IpAddr;

#[path = "net_routes.rs"]
mod routes;

/// RFC 2863 operational state, as the kernel reports it (`state UP` in `ip`, `operstate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperState {
    Up,
    Down,
    LowerLayerDown,
    Dormant,
    NotPresent,
    Testing,
    /// The driver does not track it: loopback, tun, many virtual devices.
    Unknown,
}

impl OperState {
    fn from_word(w: &str) -> Option<OperState> {
        Some(match w.to_ascii_uppercase().as_str() {
            "UP" => OperState::Up,
            "DOWN" => OperState::Down,
            "LOWERLAYERDOWN" => OperState::LowerLayerDown,
            "DORMANT" => OperState::Dormant,
            "NOTPRESENT" => OperState::NotPresent,
            "TESTING" => OperState::Testing,
            "UNKNOWN" => OperState::Unknown,
            _ => return None,
        })
    }
}

/// An address of an interface, with its prefix length (the peer's, for a point-to-point
/// address such as `inet 10.8.0.1 peer 10.8.0.2/32`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address {
    pub ip: IpAddr,
    pub prefix: u8,
}

impl Address {
    /// fe80::/10 or 169.254.0.0/16: every IPv6 interface has one; it says nothing of the
    /// interface's configuration.
    pub fn link_local(&self) -> bool {
        match self.ip {
            IpAddr::V4(a) => a.is_link_local(),
            IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
        }
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.ip, self.prefix)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// Without the `@link` suffix of plain `ip` (`eth0.10@eth0` is `eth0.10`); cleaned.
    pub name: String,
    /// The `UP` flag: administratively up.
    pub admin_up: bool,
    /// `LOWER_UP` (true) or `NO-CARRIER` (false) among the flags, or /sys/.../carrier; `None`
    /// when nothing says (an old `ip` without LOWER_UP, an interface administratively down).
    pub carrier: Option<bool>,
    /// `None` when not printed (iproute2 before 2.6.24 has no `state`).
    pub operstate: Option<OperState>,
    pub loopback: bool,
    /// The link kind when known (`ip -d`, sysfs DEVTYPE): "veth", "bond", "bridge", "vlan",
    /// "tun", "loopback"…
    pub kind: Option<String>,
    /// The bridge or bond this interface is a port of.
    pub master: Option<String>,
    /// `None` when the addresses could not be read (no iproute2).
    pub addresses: Option<Vec<Address>>,
}

/// The kinds of routes. Only unicast routes carry traffic; `unreachable default` is no route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteType {
    Unicast,
    Unreachable,
    Blackhole,
    Prohibit,
    Throw,
    Local,
    Broadcast,
    Multicast,
    Other,
}

impl RouteType {
    fn from_word(w: &str) -> Option<RouteType> {
        Some(match w {
            "unicast" => RouteType::Unicast,
            "unreachable" => RouteType::Unreachable,
            "blackhole" => RouteType::Blackhole,
            "prohibit" => RouteType::Prohibit,
            "throw" => RouteType::Throw,
            "local" => RouteType::Local,
            "broadcast" => RouteType::Broadcast,
            "multicast" => RouteType::Multicast,
            "anycast" | "nat" => RouteType::Other,
            _ => return None,
        })
    }

    pub fn word(self) -> &'static str {
        match self {
            RouteType::Unicast => "unicast",
            RouteType::Unreachable => "unreachable",
            RouteType::Blackhole => "blackhole",
            RouteType::Prohibit => "prohibit",
            RouteType::Throw => "throw",
            RouteType::Local => "local",
            RouteType::Broadcast => "broadcast",
            RouteType::Multicast => "multicast",
            RouteType::Other => "other",
        }
    }
}

/// One way out of a route: a multipath route has several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub gateway: Option<IpAddr>,
    pub dev: Option<String>,
    /// `linkdown` or `dead`: the route is there but its device has no carrier.
    pub down: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The network, host bits as printed; 0.0.0.0/0 or ::/0 for `default`.
    pub dst: IpAddr,
    pub prefix: u8,
    pub kind: RouteType,
    pub hops: Vec<Hop>,
    pub metric: Option<u32>,
    /// `None` for the main table.
    pub table: Option<String>,
}

impl Route {
    pub fn is_default(&self) -> bool {
        self.prefix == 0
    }

    /// A unicast route of the main table: what forwards packets.
    pub fn usable_kind(&self) -> bool {
        self.kind == RouteType::Unicast && self.table.is_none()
    }

    /// Every hop's link is down (a route without hop is not down).
    pub fn down(&self) -> bool {
        !self.hops.is_empty() && self.hops.iter().all(|h| h.down)
    }
}

/// One part of the section: its value, or why there is none.
pub type Part<T> = Result<T, String>;

#[derive(Debug, Clone, PartialEq)]
pub struct NetReport {
    pub interfaces: Part<Vec<Interface>>,
    pub routes4: Part<Vec<Route>>,
    pub routes6: Part<Vec<Route>>,
}

impl NetReport {
    /// The interfaces, when they were read.
    pub fn interface(&self, name: &str) -> Option<&Interface> {
        self.interfaces
            .as_ref()
            .ok()?
            .iter()
            .find(|i| i.name == name)
    }
}

/// What each part is called in the reasons it gives.
fn what(part: &str) -> &'static str {
    match part {
        "addr" => "ip addr",
        "route4" => "ip route",
        _ => "ip -6 route",
    }
}

/// A part's header, `NAME FORMAT STATUS [MACHINE]`, and its lines.
struct RawPart<'a> {
    format: &'a str,
    rc: Option<i32>,
    machine: Option<&'a str>,
    lines: Vec<&'a str>,
}

/// The three parts of a `net` section. Never panics, whatever the body.
pub fn parse(body: &str) -> Result<NetReport, ParseError> {
    let mut parts: Vec<(&str, RawPart)> = Vec::new();
    for line in body.lines() {
        // Part markers carry the probe's nonce (sections::part): a NUL, then the header.
        if let Some(header) = line.strip_prefix('\0') {
            let mut w = header.split_whitespace();
            let name = w.next().unwrap_or("");
            let format = w.next().unwrap_or("");
            let rc = w.next().and_then(|r| r.parse().ok());
            let machine = w.next();
            parts.push((
                name,
                RawPart {
                    format,
                    rc,
                    machine,
                    lines: Vec::new(),
                },
            ));
        } else if let Some((_, p)) = parts.last_mut() {
            p.lines.push(line);
        }
    }
    if parts.is_empty() {
        return Err(ParseError::new("net: no part (not a Vigie probe's output)"));
    }
    // The first part of each name counts.
    let get = |name: &str| parts.iter().find(|(n, _)| *n == name).map(|(_, p)| p);
    Ok(NetReport {
        interfaces: read_part(get("addr"), "addr", interfaces),
        routes4: read_part(get("route4"), "route4", |p| routes::parse(p, false)),
        routes6: read_part(get("route6"), "route6", |p| routes::parse(p, true)),
    })
}

fn read_part<T>(
    part: Option<&RawPart>,
    name: &str,
    parser: impl Fn(&RawPart) -> Part<T>,
) -> Part<T> {
    let what = what(name);
    let Some(p) = part else {
        return Err(format!("{what}: no output (probe cut short)"));
    };
    let text = || clean(&p.lines.join(" / "), 120);
    match p.rc {
        Some(0) => {}
        Some(124 | 137) => return Err(format!("{what}: timed out")),
        // `ip route` on a kernel without IPv6 fails; other statuses say why in the output.
        Some(rc) if p.lines.iter().all(|l| l.trim().is_empty()) => {
            return Err(format!("{what}: exit {rc}"));
        }
        Some(rc) => return Err(format!("{what}: exit {rc}: {}", text())),
        None => return Err(format!("{what}: no status")),
    }
    parser(p).map_err(|e| format!("{what}: {e}"))
}

fn interfaces(p: &RawPart) -> Part<Vec<Interface>> {
    let v = match p.format {
        "json" => addr_json(&p.lines.join("\n"))?,
        "text" => addr_text(&p.lines),
        "sys" => addr_sys(&p.lines),
        other => return Err(format!("unknown format {:?}", clean(other, 20))),
    };
    // Every Linux host has at least its loopback: nothing at all is no answer.
    if v.is_empty() {
        return Err(format!(
            "no interface in the output{}",
            match p.lines.iter().find(|l| !l.trim().is_empty()) {
                Some(l) => format!(": {}", clean(l, 80)),
                None => String::new(),
            }
        ));
    }
    Ok(v)
}

/// An interface name from remote output, safe to show and to put in a check id.
fn name(s: &str) -> String {
    clean(s, 40)
}

fn flag_state(iface: &mut Interface, flags: &[&str]) {
    for f in flags {
        match *f {
            "UP" => iface.admin_up = true,
            "LOWER_UP" => iface.carrier = Some(true),
            "NO-CARRIER" => iface.carrier = Some(false),
            "LOOPBACK" => iface.loopback = true,
            _ => {}
        }
    }
}

fn empty(name_: &str) -> Interface {
    Interface {
        name: name(name_),
        admin_up: false,
        carrier: None,
        operstate: None,
        loopback: false,
        kind: None,
        master: None,
        addresses: Some(Vec::new()),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// `ip -j -d addr show`. Read as untyped JSON: iproute2 versions differ in fields and types,
/// and some printed the same key twice.
fn addr_json(text: &str) -> Part<Vec<Interface>> {
    let v: Value = serde_json::from_str(text.trim())
        .map_err(|e| format!("unexpected JSON: {}", clean(&e.to_string(), 80)))?;
    let list = v.as_array().ok_or("unexpected JSON: not a list")?;
    let mut out = Vec::new();
    for i in list {
        let Some(n) = str_of(i, "ifname") else {
            continue;
        };
        let mut iface = empty(n);
        let flags: Vec<&str> = i
            .get("flags")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        flag_state(&mut iface, &flags);
        iface.operstate = str_of(i, "operstate").and_then(OperState::from_word);
        iface.loopback |= str_of(i, "link_type") == Some("loopback");
        iface.master = str_of(i, "master").map(name);
        iface.kind = i
            .get("linkinfo")
            .and_then(|l| str_of(l, "info_kind"))
            .map(|k| clean(k, 20))
            .or_else(|| iface.loopback.then(|| "loopback".to_string()));
        let mut addrs = Vec::new();
        for a in i
            .get("addr_info")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let ip = str_of(a, "local").and_then(|s| s.parse::<IpAddr>().ok());
            let prefix = a.get("prefixlen").and_then(Value::as_u64);
            if let (Some(ip), Some(prefix)) = (ip, prefix)
                && let Some(prefix) = valid_prefix(ip, prefix)
            {
                addrs.push(Address { ip, prefix });
            }
        }
        iface.addresses = Some(addrs);
        out.push(iface);
    }
    Ok(out)
}

fn valid_prefix(ip: IpAddr, prefix: u64) -> Option<u8> {
    let max = if ip.is_ipv4() { 32 } else { 128 };
    u8::try_from(prefix).ok().filter(|p| *p <= max)
}

/// `ADDR/LEN`, or a bare address (a host route, a point-to-point local address).
pub(crate) fn prefixed(s: &str) -> Option<(IpAddr, u8)> {
    let (a, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (s, None),
    };
    let ip: IpAddr = a.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match len {
        Some(l) => valid_prefix(ip, l.parse().ok()?)?,
        None => max,
    };
    Some((ip, prefix))
}

/// Lines inside an interface block that are not its link kind (`ip -d` prints the kind
/// alone at the start of a line: `veth`, `bond mode 802.3ad …`, `vlan protocol 802.1Q id 10`).
const NOT_KIND: &[&str] = &[
    "valid_lft",
    "altname",
    "alias",
    "RX:",
    "TX:",
    "vf",
    "prop",
    "cache",
    "inet",
    "inet6",
];

/// Plain `ip -d addr show` (and `ip -d link`, which has the same blocks).
fn addr_text(lines: &[&str]) -> Vec<Interface> {
    let mut out: Vec<Interface> = Vec::new();
    // Inside a block, before its first address: where `ip -d` prints the kind.
    let mut in_block = false;
    let mut kind_allowed = false;
    for line in lines {
        if !line.starts_with(char::is_whitespace) {
            in_block = false;
            let w: Vec<&str> = line.split_whitespace().collect();
            let (Some(idx), Some(n)) = (w.first(), w.get(1)) else {
                continue;
            };
            let Some(idx) = idx.strip_suffix(':') else {
                continue;
            };
            if idx.is_empty() || !idx.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let n = n.strip_suffix(':').unwrap_or(n);
            let n = n.split_once('@').map_or(n, |(a, _)| a);
            if n.is_empty() {
                continue;
            }
            let mut iface = empty(n);
            if let Some(f) = w.get(2).and_then(|f| f.strip_prefix('<')) {
                let f = f.strip_suffix('>').unwrap_or(f);
                flag_state(&mut iface, &f.split(',').collect::<Vec<_>>());
            }
            for (k, v) in w.iter().zip(w.iter().skip(1)) {
                match *k {
                    "state" => iface.operstate = OperState::from_word(v),
                    "master" => iface.master = Some(name(v)),
                    _ => {}
                }
            }
            out.push(iface);
            in_block = true;
            kind_allowed = false;
            continue;
        }
        let (true, Some(iface)) = (in_block, out.last_mut()) else {
            continue;
        };
        let t = line.trim();
        let first = t.split_whitespace().next().unwrap_or("");
        if let Some(link) = first.strip_prefix("link/") {
            if link == "loopback" {
                iface.loopback = true;
                iface.kind.get_or_insert_with(|| "loopback".into());
            }
            kind_allowed = true;
        } else if first == "inet" || first == "inet6" {
            kind_allowed = false;
            if let Some(a) = inet(t)
                && let Some(addrs) = iface.addresses.as_mut()
            {
                addrs.push(a);
            }
        } else if kind_allowed
            && !NOT_KIND.contains(&first)
            && first.starts_with(|c: char| c.is_ascii_lowercase())
            && first
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !first.ends_with("_slave")
            && iface.kind.is_none()
        {
            iface.kind = Some(clean(first, 20));
        }
    }
    out
}

/// `inet 10.0.0.5/24 brd … scope global eth0`, `inet 10.8.0.1 peer 10.8.0.2/32 …`.
fn inet(t: &str) -> Option<Address> {
    let w: Vec<&str> = t.split_whitespace().collect();
    let local = w.get(1)?;
    let (ip, mut prefix) = prefixed(local)?;
    if !local.contains('/')
        && let Some(at) = w.iter().position(|x| *x == "peer")
        && let Some((_, p)) = w.get(at + 1).and_then(|p| prefixed(p))
    {
        prefix = p;
    }
    Some(Address { ip, prefix })
}

/// The sysfs lines of net.sh: NAME OPERSTATE CARRIER FLAGS TYPE DEVTYPE MASTER.
fn addr_sys(lines: &[&str]) -> Vec<Interface> {
    const IFF_UP: u32 = 0x1;
    const IFF_LOOPBACK: u32 = 0x8;
    const ARPHRD_LOOPBACK: &str = "772";
    const ARPHRD_NONE: &str = "65534";
    let known = |s: &str| s != "-";
    let mut out = Vec::new();
    for line in lines {
        let w: Vec<&str> = line.split_whitespace().collect();
        let [n, oper, carrier, flags, ty, devtype, master] = w.as_slice() else {
            continue;
        };
        let Some(flags) = flags
            .strip_prefix("0x")
            .and_then(|f| u32::from_str_radix(f, 16).ok())
        else {
            continue;
        };
        let mut iface = empty(n);
        iface.admin_up = flags & IFF_UP != 0;
        iface.loopback = flags & IFF_LOOPBACK != 0 || *ty == ARPHRD_LOOPBACK;
        iface.operstate = OperState::from_word(oper);
        iface.carrier = match *carrier {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        };
        iface.kind = known(devtype)
            .then(|| clean(devtype, 20))
            .or_else(|| iface.loopback.then(|| "loopback".into()))
            .or_else(|| (*ty == ARPHRD_NONE).then(|| "tun".into()));
        iface.master = known(master).then(|| name(master));
        iface.addresses = None;
        out.push(iface);
    }
    out
}

#[cfg(test)]
#[path = "net_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "net_sh_tests.rs"]
mod sh_tests;
