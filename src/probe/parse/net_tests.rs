//! Fixtures: tests/fixtures/net (README.md there says where each one comes from).

use super::*;
use crate::probe::sections::{part, split};

const NONCE: &str = "0123456789abcdef";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/net/", $name))
    };
}

/// The body of the `net` section of a captured probe run.
fn section(raw: &str) -> String {
    split(raw.as_bytes(), NONCE)
        .get("net")
        .map(|s| s.body.clone())
        .unwrap_or_default()
}

/// A body as net.sh prints it when `ip` has no `-j`.
fn text_body(addr: &str, route4: &str, route6: &str) -> String {
    format!(
        "{}\n{addr}{}\n{route4}{}\n{route6}",
        part("addr text 0"),
        part("route4 text 0"),
        part("route6 text 0")
    )
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn iface<'a>(r: &'a NetReport, name: &str) -> &'a Interface {
    r.interface(name)
        .unwrap_or_else(|| panic!("no {name} in {:#?}", r.interfaces))
}

fn addrs(i: &Interface) -> Vec<String> {
    i.addresses
        .iter()
        .flatten()
        .map(ToString::to_string)
        .collect()
}

fn find(routes: &[Route], dst: &str, prefix: u8) -> Vec<Route> {
    routes
        .iter()
        .filter(|r| r.dst == ip(dst) && r.prefix == prefix)
        .cloned()
        .collect()
}

fn gateways(r: &Route) -> Vec<String> {
    r.hops
        .iter()
        .filter_map(|h| h.gateway.map(|g| g.to_string()))
        .collect()
}

#[test]
fn this_vm_through_ip_json() {
    // Debian 12, iproute2 6.1: the machine the tests run on.
    let r = parse(&section(fixture!("section_debian12_vm.txt"))).unwrap();
    let lo = iface(&r, "lo");
    assert!(lo.loopback && lo.admin_up && lo.carrier == Some(true));
    assert_eq!(lo.operstate, Some(OperState::Unknown));
    let eth0 = iface(&r, "eth0");
    assert_eq!(eth0.operstate, Some(OperState::Up));
    assert_eq!(
        addrs(eth0),
        ["192.0.2.2/24", "fd00::2/64", "fe80::fc:ff:fe00:1/64"]
    );
    assert!(eth0.kind.is_none(), "a plain NIC has no link kind");
    let ifb = iface(&r, "ifb0");
    assert!(!ifb.admin_up);
    assert_eq!(ifb.kind.as_deref(), Some("ifb"));
    assert_eq!(iface(&r, "vl-root").kind.as_deref(), Some("veth"));
    let routes4 = r.routes4.as_ref().unwrap();
    let d = find(routes4, "0.0.0.0", 0);
    assert_eq!(d.len(), 1);
    assert_eq!(gateways(&d[0]), ["192.0.2.1"]);
    assert_eq!(d[0].hops[0].dev.as_deref(), Some("eth0"));
    assert_eq!(
        find(routes4, "10.77.0.0", 16)[0].kind,
        RouteType::Unreachable
    );
    let d6 = find(r.routes6.as_ref().unwrap(), "::", 0);
    assert_eq!(gateways(&d6[0]), ["fd00::1"]);
    assert_eq!(d6[0].metric, Some(1024));
}

#[test]
fn lab_host_through_ip_json() {
    let r = parse(&section(fixture!("section_lab_prod.txt"))).unwrap();
    let eth0 = iface(&r, "eth0");
    assert_eq!(addrs(eth0), ["10.77.1.11/24"]);
    assert_eq!(eth0.kind.as_deref(), Some("veth"));
    assert_eq!(r.routes6, Ok(vec![]), "no IPv6 in the lab");
    let d = find(r.routes4.as_ref().unwrap(), "0.0.0.0", 0);
    assert_eq!(gateways(&d[0]), ["10.77.1.1"]);
}

#[test]
fn every_state_through_ip_json() {
    // A namespace built for the purpose on Debian 12 (README: ns_mixed).
    let r = parse(&section(fixture!("section_ns_mixed.txt"))).unwrap();
    let eth0 = iface(&r, "eth0");
    assert_eq!(
        addrs(eth0)[..3],
        ["10.77.1.11/24", "10.77.1.50/24", "fd00::11/64"]
    );
    let vp0 = iface(&r, "vp0");
    assert_eq!(vp0.master.as_deref(), Some("br0"));
    assert_eq!(iface(&r, "br0").kind.as_deref(), Some("bridge"));
    let vd0 = iface(&r, "vd0");
    assert!(vd0.admin_up);
    assert_eq!(vd0.carrier, Some(false));
    assert_eq!(vd0.operstate, Some(OperState::LowerLayerDown));
    let va0 = iface(&r, "va0");
    assert!(!va0.admin_up && va0.carrier.is_none());
    let tun0 = iface(&r, "tun0");
    assert_eq!(
        (tun0.kind.as_deref(), tun0.carrier),
        (Some("tun"), Some(false))
    );
    let tun1 = iface(&r, "tun1");
    assert_eq!(
        addrs(tun1)[0],
        "10.8.0.1/32",
        "the local end of a peer address"
    );
    let routes = r.routes4.as_ref().unwrap();
    let defaults = find(routes, "0.0.0.0", 0);
    assert_eq!(defaults.len(), 2);
    assert_eq!(defaults[1].metric, Some(200));
    let multi = &find(routes, "10.2.0.0", 16)[0];
    assert_eq!(gateways(multi), ["10.77.1.1", "192.168.50.2"]);
    let down = &find(routes, "10.3.0.0", 16)[0];
    assert!(down.down(), "linkdown: {down:?}");
    assert_eq!(find(routes, "10.98.0.0", 16)[0].kind, RouteType::Blackhole);
    assert_eq!(find(routes, "203.0.113.7", 32).len(), 1, "a host route");
}

/// What the checks use of an interface, to compare formats.
fn essentials(r: &NetReport) -> Vec<String> {
    r.interfaces
        .as_ref()
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{} up={} carrier={:?} oper={:?} lo={} kind={:?} master={:?} {:?}",
                i.name,
                i.admin_up,
                i.carrier,
                i.operstate,
                i.loopback,
                i.kind,
                i.master,
                addrs(i)
            )
        })
        .collect()
}

#[test]
fn plain_ip_reads_like_ip_json() {
    // Same namespace, same moment: `ip -d addr` and `ip route` without -j.
    let json = parse(&section(fixture!("section_ns_mixed.txt"))).unwrap();
    let text = parse(&text_body(
        fixture!("ns_mixed_addr.txt"),
        fixture!("ns_mixed_route4.txt"),
        fixture!("ns_mixed_route6.txt"),
    ))
    .unwrap();
    assert_eq!(essentials(&text), essentials(&json));
    assert_eq!(text.routes4, json.routes4);
    assert_eq!(text.routes6, json.routes6);

    let router_json = format!(
        "{}\n{}{}\n{}{}\n[]\n",
        part("addr json 0"),
        fixture!("lab_router_addr.json"),
        part("route4 json 0"),
        fixture!("lab_router_route4.json"),
        part("route6 json 0"),
    );
    let rj = parse(&router_json).unwrap();
    let rt = parse(&text_body(
        fixture!("lab_router_addr.txt"),
        fixture!("lab_router_route4.txt"),
        "",
    ))
    .unwrap();
    assert_eq!(essentials(&rt), essentials(&rj));
    assert_eq!(rt.routes4, rj.routes4);
    let port = iface(&rt, "r-prod");
    assert_eq!(
        (port.kind.as_deref(), port.master.as_deref()),
        (Some("veth"), Some("br-dc1"))
    );
    assert!(find(rt.routes4.as_ref().unwrap(), "0.0.0.0", 0).is_empty());
}

#[test]
fn without_iproute2_sysfs_and_proc() {
    // The same namespace read through net.sh's fallback (no ip command).
    let sys = parse(&section(fixture!("section_ns_mixed_sys.txt"))).unwrap();
    let json = parse(&section(fixture!("section_ns_mixed.txt"))).unwrap();
    for (s, j) in sys
        .interfaces
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| (s, iface(&json, &s.name)))
    {
        assert_eq!(
            (s.admin_up, s.operstate, s.loopback, &s.master),
            (j.admin_up, j.operstate, j.loopback, &j.master),
            "{}",
            s.name
        );
        assert!(s.carrier.is_none() || s.carrier == j.carrier, "{}", s.name);
        assert_eq!(s.addresses, None, "sysfs has no addresses");
    }
    assert_eq!(iface(&sys, "br0").kind.as_deref(), Some("bridge"));
    assert_eq!(iface(&sys, "tun0").kind.as_deref(), Some("tun"));
    // Every route of the main table, multipath ones by their first hop, no linkdown flag.
    let (p4, j4) = (
        sys.routes4.as_ref().unwrap(),
        json.routes4.as_ref().unwrap(),
    );
    assert_eq!(p4.len(), j4.len());
    for j in j4 {
        let p = &find(p4, &j.dst.to_string(), j.prefix)
            .into_iter()
            .find(|p| p.hops.first().map(|h| &h.dev) == j.hops.first().map(|h| &h.dev))
            .unwrap_or_else(|| panic!("{j:?} not in {p4:#?}"));
        assert_eq!(p.kind, j.kind, "{j:?}");
        assert_eq!(gateways(p).first(), gateways(j).first(), "{j:?}");
    }
    let d6 = find(sys.routes6.as_ref().unwrap(), "::", 0);
    let usable: Vec<&Route> = d6.iter().filter(|r| r.usable_kind()).collect();
    assert_eq!(usable.len(), 1, "the unreachable default of lo is no route");
    assert_eq!(gateways(usable[0]), ["fd00::1"]);
    assert_eq!(usable[0].metric, Some(1024));
}

#[test]
fn proc_route_of_a_big_endian_host() {
    // s390x prints the same words with their bytes the other way round: derived from the
    // captured table by swapping each address word (no s390x capture at hand).
    let body = section(fixture!("section_ns_mixed_sys.txt"));
    let swapped: String = body
        .lines()
        .map(|l| {
            let w: Vec<String> = l
                .split('\t')
                .enumerate()
                .map(|(i, f)| match (i, u32::from_str_radix(f, 16)) {
                    (1 | 2 | 7, Ok(v)) if f.len() == 8 => format!("{:08X}", v.swap_bytes()),
                    _ => f.to_string(),
                })
                .collect();
            w.join("\t") + "\n"
        })
        .collect();
    let le = parse(&body).unwrap().routes4.unwrap();
    let be = parse(&swapped).unwrap().routes4.unwrap();
    assert_eq!(le, be);
    // Without a netmask to tell, the machine name decides.
    let only_default = |machine: &str, word: &str| {
        let body = format!(
            "{}\n{}\nIface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n\
             eth0\t00000000\t{word}\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
            part("addr sys 0"),
            part(&format!("route4 proc 0 {machine}"))
        );
        gateways(&parse(&body).unwrap().routes4.unwrap()[0])
    };
    assert_eq!(only_default("x86_64", "01014D0A"), ["10.77.1.1"]);
    assert_eq!(only_default("s390x", "0A4D0101"), ["10.77.1.1"]);
}

#[test]
fn ipv6_only_host() {
    let r = parse(&section(fixture!("section_ns_v6only.txt"))).unwrap();
    assert_eq!(r.routes4, Ok(vec![]));
    let d6 = find(r.routes6.as_ref().unwrap(), "::", 0);
    assert_eq!(gateways(&d6[0]), ["2001:db8:77::1"]);
    assert_eq!(addrs(iface(&r, "eth0"))[0], "2001:db8:77::11/64");
}

#[test]
fn rhel_ip_addr_without_json() {
    // Red Hat Insights' sample of `ip addr` from RHEL (no `group`, no -d): a bond port without
    // carrier, a VLAN on the bond, tunnels with peer addresses and `state UNKNOWN`.
    let body = text_body(fixture!("insights_rhel_ip_addr.txt"), "", "");
    let r = parse(&body).unwrap();
    assert_eq!(r.interfaces.as_ref().unwrap().len(), 6);
    let lo = iface(&r, "lo");
    assert_eq!(addrs(lo), ["127.0.0.1/8", "::1/128"]);
    assert_eq!(lo.kind.as_deref(), Some("loopback"));
    let eth7 = iface(&r, "eth7");
    assert!(eth7.admin_up);
    assert_eq!(eth7.carrier, Some(false));
    assert_eq!(eth7.operstate, Some(OperState::Down));
    assert_eq!(eth7.master.as_deref(), Some("bond1"));
    assert!(!iface(&r, "tunl0").admin_up);
    assert_eq!(addrs(iface(&r, "tunl1")), ["172.30.0.1/32"]);
    let vlan = iface(&r, "bond1.57");
    assert_eq!(vlan.carrier, Some(true));
    assert_eq!(
        addrs(vlan),
        [
            "10.192.4.171/27",
            "fe80::211:3fff:fee2:f59e/64",
            "2001::211:3fff:fee2:f59e/64"
        ]
    );
    let tun = iface(&r, "ip.tun2");
    assert_eq!(tun.operstate, Some(OperState::Unknown));
    assert_eq!(tun.carrier, Some(true));
    assert_eq!(addrs(tun), ["192.168.112.5/32"]);
}

#[test]
fn rhel_ip_d_link_kinds() {
    // `ip -d -s link` (same blocks as `ip -d addr`, with statistics): bond ports, Open
    // vSwitch, VXLAN, GRE `@NONE`, Geneve.
    let r = parse(&text_body(
        fixture!("insights_rhel_ip_d_s_link.txt"),
        "",
        "",
    ))
    .unwrap();
    let kinds: Vec<(String, Option<String>, Option<String>)> = r
        .interfaces
        .unwrap()
        .into_iter()
        .map(|i| (i.name, i.kind, i.master))
        .collect();
    let k = |n: &str| kinds.iter().find(|(x, _, _)| x == n).unwrap().clone();
    assert_eq!(k("lo").1.as_deref(), Some("loopback"));
    assert_eq!(k("eth0_1"), ("eth0_1".into(), None, Some("bond0".into())));
    assert_eq!(k("ovs-system").1.as_deref(), Some("openvswitch"));
    assert_eq!(
        k("vxlan_sys_4789"),
        (
            "vxlan_sys_4789".into(),
            Some("vxlan".into()),
            Some("ovs-system".into())
        )
    );
    assert_eq!(k("gre0").1.as_deref(), Some("gre"));
    assert_eq!(k("geneve1").1.as_deref(), Some("geneve"));
}

#[test]
fn rhel_route_tables() {
    // `ip route show table all` from RHEL (two spaces between attributes): both families,
    // the local table, cached routes, the kernel's `unreachable default … table unspec`.
    let r = parse(&text_body(
        "lo\n",
        fixture!("insights_rhel_ip_route_table_all.txt"),
        "",
    ))
    .unwrap();
    let routes = r.routes4.unwrap();
    // A mixed listing tells a default route's family by its gateway only: the two
    // `unreachable default dev lo` (IPv6's) land among IPv4's, where they are no route either.
    let d4 = find(&routes, "0.0.0.0", 0);
    let usable: Vec<&Route> = d4.iter().filter(|r| r.usable_kind()).collect();
    assert_eq!(usable.len(), 1);
    assert_eq!(gateways(usable[0]), ["192.168.23.250"]);
    assert!(
        d4.iter()
            .any(|r| r.kind == RouteType::Unreachable && r.table.as_deref() == Some("unspec"))
    );
    let d6 = find(&routes, "::", 0);
    assert_eq!(d6.len(), 1);
    assert_eq!(gateways(&d6[0]), ["fe80::a96:d7ff:fe38:d757"]);
    assert_eq!(d6[0].metric, Some(1024));
    let vpn = &find(&routes, "10.0.0.0", 8)[0];
    assert_eq!(
        (gateways(vpn), vpn.metric),
        (vec!["10.64.54.1".into()], Some(50))
    );
    assert_eq!(find(&routes, "127.0.0.1", 32)[0].kind, RouteType::Local);
    assert_eq!(
        find(&routes, "2001:708:40:2001:a822:baff:fec4:2428", 128)[0]
            .hops
            .len(),
        1,
        "its `cache` line adds nothing"
    );

    // Policy routing: the default routes of other tables are not the host's.
    let r = parse(&text_body(
        "",
        fixture!("insights_rhel_ip_route_tables.txt"),
        "",
    ))
    .unwrap();
    let routes = r.routes4.unwrap();
    let d: Vec<Route> = find(&routes, "0.0.0.0", 0);
    assert_eq!(d.len(), 3);
    let main: Vec<&Route> = d.iter().filter(|r| r.usable_kind()).collect();
    assert_eq!(main.len(), 1);
    assert_eq!(main[0].hops[0].dev.as_deref(), Some("bond0.400"));
    assert_eq!(d[0].table.as_deref(), Some("red_mgmt"));
}

#[test]
fn centos7_linkdown_route() {
    let r = parse(&text_body("", fixture!("jc_centos77_ip_route.txt"), "")).unwrap();
    let routes = r.routes4.unwrap();
    assert!(find(&routes, "172.17.0.0", 16)[0].down());
    let d = &find(&routes, "0.0.0.0", 0)[0];
    assert!(!d.down());
    assert_eq!(d.metric, Some(100));
}

#[test]
fn each_part_fails_on_its_own() {
    let body = format!(
        "{}\n{}\n{}\nRTNETLINK answers: Operation not permitted\n",
        part("addr json 124"),
        part("route4 text 0"),
        part("route6 text 2"),
    );
    let r = parse(&body).unwrap();
    assert_eq!(r.interfaces, Err("ip addr: timed out".into()));
    assert_eq!(r.routes4, Ok(vec![]));
    assert_eq!(
        r.routes6,
        Err("ip -6 route: exit 2: RTNETLINK answers: Operation not permitted".into())
    );

    let cut = format!("{}\n[{{\"ifname\":\"lo\"", part("addr json 0"));
    let r = parse(&cut).unwrap();
    assert!(
        r.interfaces
            .as_ref()
            .is_err_and(|e| e.starts_with("ip addr: unexpected JSON")),
        "{r:?}"
    );
    assert_eq!(
        r.routes4,
        Err("ip route: no output (probe cut short)".into())
    );

    let none = format!("{}\nip: can't find device\n", part("addr text 0"));
    assert_eq!(
        parse(&none).unwrap().interfaces,
        Err("ip addr: no interface in the output: ip: can't find device".into())
    );
    assert!(parse("").is_err());
    assert!(
        parse("@@addr json 0\n[]\n").is_err(),
        "markers need the nonce"
    );
}

#[test]
fn remote_text_is_cleaned() {
    let body = text_body(
        "2: ev\x1b[2Jil: <BROADCAST,UP,LOWER_UP> mtu 1500 state UP master br\x070\n",
        "default via 10.0.0.1 dev ev\x1bil\n",
        "",
    );
    let r = parse(&body).unwrap();
    let i = &r.interfaces.as_ref().unwrap()[0];
    assert!(!i.name.contains('\x1b') && !i.master.as_ref().unwrap().contains('\x07'));
    let d = &r.routes4.unwrap()[0];
    assert!(!d.hops[0].dev.as_ref().unwrap().contains('\x1b'));
}

proptest::proptest! {
    #[test]
    fn never_panics(s in proptest::prelude::any::<String>()) {
        let _ = parse(&s);
        for format in ["addr json 0", "addr text 0", "addr sys 0", "route4 json 0",
                       "route4 text 0", "route4 proc 0 s390x", "route6 proc 0", "route6 text 0"] {
            let _ = parse(&format!("{}\n{s}", part(format)));
        }
    }

    #[test]
    fn shaped_input_never_panics(
        addr in "([0-9]{1,3}: [a-z0-9@.]{0,6}: <[A-Z_,-]{0,20}> [a-z0-9 ]{0,20}\n(    (link/[a-z]{0,6}|inet6?|veth|bond|nexthop) [0-9a-f.:/ ]{0,30}\n){0,3}){0,4}",
        route in "((unreachable |local )?(default|[0-9.:/a-f]{1,20})( (via|dev|metric|table|linkdown|proto) [0-9a-z.:]{0,12}){0,4}\n(\tnexthop via [0-9.]{0,9} dev [a-z]{0,3}\n)?){0,5}",
        proc in "([a-z*]{0,4}\t[0-9A-F]{8}\t[0-9A-F]{8}\t[0-9]{4}\t0\t0\t[0-9]{0,3}\t[0-9A-F]{8}\n){0,4}",
        proc6 in "([0-9a-f]{32} [0-9a-f]{2} [0-9a-f]{32} 00 [0-9a-f]{32} [0-9a-f]{8} 0 0 [0-9a-f]{8} [a-z]{0,3}\n){0,3}",
        json in "\\[(\\{\"(ifname|dst|flags|addr_info|nexthops|gateway|prefixlen|local)\":(\"[a-z0-9.:/]{0,8}\"|[0-9]{1,4}|\\[\\]|null|\\{\\}),?\\}){0,3}\\]",
    ) {
        let _ = parse(&text_body(&addr, &route, &route));
        let _ = parse(&format!("{}\n{proc}{}\n{proc6}", part("route4 proc 0 mips"), part("route6 proc 0")));
        let _ = parse(&format!("{}\n{json}\n{}\n{json}\n", part("addr json 0"), part("route4 json 0")));
    }
}
