//! Fixtures: tests/fixtures/net (README.md there says where each one comes from).

use super::*;
use crate::checks::host::tests::host as base_host;
use crate::probe::sections::{Section, Sections, part, split};

const NONCE: &str = "0123456789abcdef";

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/net/", $name))
    };
}

fn host(interfaces: &[&str], routes: &[&str]) -> HostConfig {
    let mut h = base_host(&[]);
    h.apps.interfaces = interfaces.iter().map(|s| s.to_string()).collect();
    h.apps.routes = routes.iter().map(|s| s.to_string()).collect();
    h
}

/// A captured probe run (only its `net` section matters here).
fn run(raw: &str) -> ProbeReport {
    ProbeReport::from_sections(&split(raw.as_bytes(), NONCE))
}

/// A report whose `net` section is `body`, ended with status `rc`.
fn with_body(body: &str, rc: i32) -> ProbeReport {
    let mut s = Sections::new();
    s.insert(
        "net".into(),
        Section {
            name: "net".into(),
            body: body.into(),
            rc: Some(rc),
            elapsed_ms: Some(10),
        },
    );
    ProbeReport::from_sections(&s)
}

/// "id STATE summary", sorted: what an operator reads in the host's screen.
fn lines(checks: &[Check]) -> Vec<String> {
    checks
        .iter()
        .map(|c| format!("{} {} {}", c.id, c.state, c.summary))
        .collect()
}

fn get<'a>(checks: &'a [Check], id: &str) -> &'a Check {
    checks
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no {id} in {:#?}", lines(checks)))
}

#[test]
fn this_vm_nothing_configured() {
    let checks = evaluate(&host(&[], &[]), &run(fixture!("section_debian12_vm.txt")));
    assert_eq!(
        lines(&checks),
        [
            "network.interface.eth0 OK up, 192.0.2.2/24, fd00::2/64",
            "network.interface.vl-root OK up, 10.77.255.1/30",
            "network.route.default OK via 192.0.2.1 dev eth0",
        ],
        "lo and the administratively down ifb0/ifb1 are not reported"
    );
}

#[test]
fn every_state_nothing_configured() {
    let checks = evaluate(&host(&[], &[]), &run(fixture!("section_ns_mixed.txt")));
    assert_eq!(
        lines(&checks),
        [
            "network.interface.eth0p OK up, no address",
            "network.interface.eth0 OK up, 10.77.1.11/24, 10.77.1.50/24 +1",
            "network.interface.br0 OK up, 192.168.50.1/24",
            "network.interface.vp1 OK up, no address",
            "network.interface.vp0 OK up, port of br0",
            "network.interface.docker0 OK up, 172.17.0.1/16",
            "network.interface.vd0 CRIT no carrier, 10.66.0.1/24",
            "network.interface.tun0 CRIT no carrier, no address",
            "network.interface.tun1 OK up, 10.8.0.1/32",
            "network.route.default OK via 10.77.1.1 dev eth0",
        ]
    );
}

#[test]
fn configured_interfaces_only() {
    let h = host(&["eth0", "va0", "vd0", "vp0", "eth0p", "lo", "wg0"], &[]);
    let checks = evaluate(&h, &run(fixture!("section_ns_mixed.txt")));
    assert_eq!(
        lines(&checks),
        [
            "network.interface.eth0 OK up, 10.77.1.11/24, 10.77.1.50/24 +1",
            "network.interface.va0 CRIT administratively down, no address",
            "network.interface.vd0 CRIT no carrier, 10.66.0.1/24",
            "network.interface.vp0 OK up, port of br0",
            "network.interface.eth0p WARN up, no address",
            "network.interface.lo OK up, 127.0.0.1/8, ::1/128",
            "network.interface.wg0 CRIT absent",
            "network.route.default OK via 10.77.1.1 dev eth0",
        ]
    );
}

#[test]
fn configured_routes() {
    let h = host(
        &["eth0"],
        &[
            "10.0.0.0/8 via 10.77.1.1",
            "10.0.0.0/8",
            "10.1.0.0/16 via 10.77.1.1",
            "10.2.0.0/16 via 192.168.50.2",
            "10.3.0.0/16",
            "10.99.0.0/16",
            "172.16.0.0/12",
            "172.16.0.0/12 via 10.77.1.1",
            "203.0.113.7",
            "10.77.1.9/24",
            "fd00::/64",
            "2001:db8::/32 via fd00::1",
        ],
    );
    let checks = evaluate(&h, &run(fixture!("section_ns_mixed.txt")));
    let routes: Vec<String> = lines(&checks)
        .into_iter()
        .filter(|l| l.starts_with("network.route.") && !l.contains(".default"))
        .collect();
    assert_eq!(
        routes,
        [
            "network.route.10.0.0.0/8 CRIT via 10.77.1.254 dev eth0, expected via 10.77.1.1",
            "network.route.10.1.0.0/16 OK via 10.77.1.1 dev eth0",
            "network.route.10.2.0.0/16 OK via 10.77.1.1 dev eth0 (+1 path)",
            "network.route.10.3.0.0/16 CRIT via 10.66.0.254 dev vd0, link down",
            "network.route.10.99.0.0/16 CRIT unreachable route",
            "network.route.172.16.0.0/12 CRIT absent",
            "network.route.203.0.113.7 OK via 10.77.1.1 dev eth0",
            "network.route.10.77.1.9/24 OK dev eth0",
            "network.route.fd00::/64 OK dev eth0",
            "network.route.2001:db8::/32 CRIT absent, expected via fd00::1",
        ]
    );
}

#[test]
fn a_bridge_whose_port_lost_its_link() {
    let checks = evaluate(
        &host(&[], &[]),
        &run(fixture!("section_ns_bridge_down.txt")),
    );
    assert_eq!(
        get(&checks, "network.interface.br1").summary,
        "no port up, 192.168.60.1/24"
    );
    assert_eq!(get(&checks, "network.interface.br1").state, State::Ok);
    let port = get(&checks, "network.interface.vq0");
    assert_eq!(
        (port.state, port.summary.as_str()),
        (State::Crit, "no carrier, port of br1")
    );
    // Named in the configuration, the bridge is down like any interface.
    let checks = evaluate(
        &host(&["br1"], &[]),
        &run(fixture!("section_ns_bridge_down.txt")),
    );
    assert_eq!(get(&checks, "network.interface.br1").state, State::Crit);
}

#[test]
fn without_iproute2() {
    let report = run(fixture!("section_ns_mixed_sys.txt"));
    let checks = evaluate(&host(&[], &[]), &report);
    let eth0 = get(&checks, "network.interface.eth0");
    assert_eq!(eth0.summary, "up, addresses not read (no ip command)");
    assert_eq!(
        get(&checks, "network.interface.vd0").summary,
        "no carrier, addresses not read (no ip command)"
    );
    assert_eq!(get(&checks, DEFAULT_ID).summary, "via 10.77.1.1 dev eth0");
    // No WARN for a missing address that could not be read.
    let checks = evaluate(&host(&["eth0p"], &["10.1.0.0/16 via 10.77.1.1"]), &report);
    assert_eq!(get(&checks, "network.interface.eth0p").state, State::Ok);
    assert_eq!(get(&checks, "network.route.10.1.0.0/16").state, State::Ok);
}

#[test]
fn default_routes() {
    // IPv6 only: its IPv6 default route is the one.
    let checks = evaluate(&host(&[], &[]), &run(fixture!("section_ns_v6only.txt")));
    assert_eq!(
        get(&checks, DEFAULT_ID).summary,
        "via 2001:db8:77::1 dev eth0 (IPv6)"
    );
    // The lab's router has none at all.
    let router = format!(
        "{}\n{}{}\n{}{}\n[]\n",
        part("addr json 0"),
        fixture!("lab_router_addr.json"),
        part("route4 json 0"),
        fixture!("lab_router_route4.json"),
        part("route6 json 0"),
    );
    let checks = evaluate(&host(&[], &[]), &with_body(&router, 0));
    assert_eq!(get(&checks, DEFAULT_ID).summary, "no default route");
    assert_eq!(get(&checks, DEFAULT_ID).state, State::Crit);
    // An IPv4 host with an IPv6 default route only: its IPv4 is cut off.
    let v6 = section_part(fixture!("section_ns_v6only.txt"), "route6 json 0");
    let body = format!(
        "{}\n{}{}\n[]\n{}\n{v6}",
        part("addr json 0"),
        fixture!("lab_router_addr.json"),
        part("route4 json 0"),
        part("route6 json 0"),
    );
    let checks = evaluate(&host(&[], &[]), &with_body(&body, 0));
    assert_eq!(
        get(&checks, DEFAULT_ID).summary,
        "no IPv4 default route (IPv6 via 2001:db8:77::1 dev eth0)"
    );
    // RHEL's table dump: the kernel's `unreachable default … table unspec` is not the host's.
    let body = format!(
        "{}\n{}{}\n{}",
        part("addr text 0"),
        fixture!("insights_rhel_ip_addr.txt"),
        part("route4 text 0"),
        fixture!("insights_rhel_ip_route_table_all.txt"),
    );
    let checks = evaluate(&host(&[], &[]), &with_body(&body, 0));
    assert_eq!(
        get(&checks, DEFAULT_ID).summary,
        "via 192.168.23.250 dev enp0s25"
    );
    // RHEL: a bond port without carrier, a VLAN on its bond, a tunnel with state UNKNOWN.
    assert_eq!(
        get(&checks, "network.interface.eth7").summary,
        "no carrier, port of bond1"
    );
    assert_eq!(get(&checks, "network.interface.ip.tun2").state, State::Ok);
    assert_eq!(
        get(&checks, "network.interface.bond1.57").summary,
        "up, 10.192.4.171/27, 2001::211:3fff:fee2:f59e/64"
    );
}

/// One part of a captured section, without its marker.
fn section_part(raw: &str, header: &str) -> String {
    let body = split(raw.as_bytes(), NONCE)
        .get("net")
        .map(|s| s.body.clone())
        .unwrap_or_default();
    let marker = part(header);
    body.split_inclusive('\n')
        .skip_while(|l| l.trim_end() != marker)
        .skip(1)
        .take_while(|l| !l.starts_with('\0'))
        .collect()
}

#[test]
fn a_default_route_on_a_dead_link() {
    // A namespace whose only link's peer is down: the route stays, flagged `linkdown`.
    let checks = evaluate(
        &host(&[], &[]),
        &run(fixture!("section_ns_default_linkdown.txt")),
    );
    assert_eq!(
        lines(&checks),
        [
            "network.interface.eth0 CRIT no carrier, 10.77.1.11/24",
            "network.route.default CRIT via 10.77.1.1 dev eth0, link down",
        ]
    );
}

#[test]
fn section_and_part_issues_are_unknown() {
    let h = host(&["eth0"], &["10.0.0.0/8"]);
    // No section at all: the probe was cut short.
    let checks = evaluate(&h, &ProbeReport::from_sections(&Sections::new()));
    assert_eq!(
        lines(&checks),
        [
            "network.interface.eth0 UNKNOWN network: no output (probe cut short)",
            "network.route.default UNKNOWN network: no output (probe cut short)",
            "network.route.10.0.0.0/8 UNKNOWN network: no output (probe cut short)",
        ]
    );
    let checks = evaluate(
        &host(&[], &[]),
        &with_body("VIGIE_UNAVAILABLE no ip command and no /sys/class/net\n", 1),
    );
    assert_eq!(
        lines(&checks),
        [
            "network.interface UNKNOWN no ip command and no /sys/class/net",
            "network.route.default UNKNOWN no ip command and no /sys/class/net",
        ]
    );
    // One part timed out, the others answered.
    let v4 = section_part(fixture!("section_lab_prod.txt"), "route4 json 0");
    let body = format!(
        "{}\n{}\n{v4}{}\n[]\n",
        part("addr json 124"),
        part("route4 json 0"),
        part("route6 json 0"),
    );
    let checks = evaluate(&h, &with_body(&body, 0));
    assert_eq!(
        lines(&checks),
        [
            "network.interface.eth0 UNKNOWN ip addr: timed out",
            "network.route.default OK via 10.77.1.1 dev eth0",
            "network.route.10.0.0.0/8 CRIT absent",
        ]
    );
    let checks = evaluate(&host(&[], &[]), &with_body(&body, 0));
    assert_eq!(
        lines(&checks)[0],
        "network.interface UNKNOWN ip addr: timed out"
    );
}

proptest::proptest! {
    /// Any body under any status: no panic, every summary one line.
    #[test]
    fn evaluate_never_panics(
        body in proptest::prelude::any::<String>(),
        rc in -1i32..300,
        pick in 0usize..4,
    ) {
        let formats = ["addr json 0", "addr text 0", "route4 text 0", "route6 proc 0"];
        let h = host(&["eth0", "lo"], &["10.0.0.0/8 via 10.0.0.1", "fd00::/64"]);
        for b in [body.clone(), format!("{}\n{body}", part(formats[pick]))] {
            for c in evaluate(&h, &with_body(&b, rc)).into_iter()
                .chain(evaluate(&host(&[], &[]), &with_body(&b, rc)))
            {
                proptest::prop_assert!(!c.summary.contains('\n'), "{:?}", c);
            }
        }
    }
}
