//! The network of a demo host: `ip -j` answers describing its network cards, addresses and
//! routes, as iproute2 6.1 (Debian 12) prints them for a server's onboard NICs, so the probe's
//! `net` section reads a plausible host and not the machine the demo runs on. The fields and
//! their order are those of the captures in tests/fixtures/net/ (section_debian12_vm.txt: a
//! virtio card with `parentbus`/`parentdev`; section_ns_mixed.txt: NO-CARRIER and `linkdown`),
//! with a PCI card's bus address and udev's path-based `altnames`.
//!
//! The host at the far end of the replication link (drp) also has the answers of that link
//! without carrier, given while the replication fault is on: the kernel then drops LOWER_UP,
//! says NO-CARRIER, marks the link's routes `linkdown`, and keeps the addresses.

use super::hosts::{HostSpec, Nic};
use super::sandbox::{path_str, sh_quote};
use serde_json::{Value, json};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// The questions net.sh asks, and the file holding each answer (`<name>.json`, or
/// `<name>-cut.json` while the replication link is cut).
const ANSWERS: [(&str, &str); 3] = [
    ("-j -d addr show", "addr"),
    ("-j route show", "route4"),
    ("-j -6 route show", "route6"),
];

/// iproute2's "forever" lifetime.
const FOREVER: u32 = 4_294_967_295;

/// The link-local address the kernel derives from a MAC (modified EUI-64).
fn link_local(mac: [u8; 6]) -> Ipv6Addr {
    let [a, b, c, d, e, f] = mac;
    let w = |x: u8, y: u8| u16::from_be_bytes([x, y]);
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        w(a ^ 0x02, b),
        w(c, 0xff),
        w(0xfe, d),
        w(e, f),
    )
}

fn mac_text(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The network a card's address lies in, and its broadcast address.
fn network(nic: &Nic) -> (Ipv4Addr, Ipv4Addr) {
    let ip = u32::from(Ipv4Addr::from(nic.address));
    let mask = u32::MAX
        .checked_shl(32 - u32::from(nic.prefix))
        .unwrap_or(0);
    (Ipv4Addr::from(ip & mask), Ipv4Addr::from(ip | !mask))
}

/// Whether this card is down: the host's end of the cut replication link.
fn is_cut(nic: &Nic, cut: bool) -> bool {
    cut && nic.replication_end
}

fn loopback() -> Value {
    json!({
        "ifindex": 1, "ifname": "lo", "flags": ["LOOPBACK", "UP", "LOWER_UP"], "mtu": 65536,
        "qdisc": "noqueue", "operstate": "UNKNOWN", "group": "default", "txqlen": 1000,
        "link_type": "loopback", "address": "00:00:00:00:00:00",
        "broadcast": "00:00:00:00:00:00", "promiscuity": 0, "allmulti": 0, "min_mtu": 0,
        "max_mtu": 0, "num_tx_queues": 1, "num_rx_queues": 1, "gso_max_size": 65536,
        "gso_max_segs": 65535, "tso_max_size": 524280, "tso_max_segs": 65535,
        "gro_max_size": 65536,
        "addr_info": [
            {"family": "inet", "local": "127.0.0.1", "prefixlen": 8, "scope": "host",
             "label": "lo", "valid_life_time": FOREVER, "preferred_life_time": FOREVER},
            {"family": "inet6", "local": "::1", "prefixlen": 128, "scope": "host",
             "valid_life_time": FOREVER, "preferred_life_time": FOREVER}
        ]
    })
}

fn card(index: usize, nic: &Nic, cut: bool) -> Value {
    let (flags, operstate) = if is_cut(nic, cut) {
        (
            json!(["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]),
            "DOWN",
        )
    } else {
        (json!(["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]), "UP")
    };
    let (_, broadcast) = network(nic);
    json!({
        "ifindex": index + 2, "ifname": nic.name, "flags": flags, "mtu": 1500, "qdisc": "mq",
        "operstate": operstate, "group": "default", "txqlen": 1000, "link_type": "ether",
        "address": mac_text(nic.mac), "broadcast": "ff:ff:ff:ff:ff:ff", "promiscuity": 0,
        "allmulti": 0, "min_mtu": 60, "max_mtu": 9000, "num_tx_queues": 5,
        "num_rx_queues": 4, "gso_max_size": 65536, "gso_max_segs": 65535,
        "tso_max_size": 65536, "tso_max_segs": 65535, "gro_max_size": 65536,
        "parentbus": "pci", "parentdev": nic.pci, "altnames": [nic.altname],
        "addr_info": [
            {"family": "inet", "local": Ipv4Addr::from(nic.address).to_string(),
             "prefixlen": nic.prefix, "broadcast": broadcast.to_string(), "scope": "global",
             "label": nic.name, "valid_life_time": FOREVER, "preferred_life_time": FOREVER},
            {"family": "inet6", "local": link_local(nic.mac).to_string(), "prefixlen": 64,
             "scope": "link", "valid_life_time": FOREVER, "preferred_life_time": FOREVER}
        ]
    })
}

fn flags(nic: &Nic, cut: bool) -> Value {
    if is_cut(nic, cut) {
        json!(["linkdown"])
    } else {
        json!([])
    }
}

/// `ip -j -d addr show`.
pub(crate) fn addr_json(spec: &HostSpec, cut: bool) -> String {
    let mut all = vec![loopback()];
    all.extend(spec.nics.iter().enumerate().map(|(i, n)| card(i, n, cut)));
    Value::Array(all).to_string()
}

/// `ip -j route show`: the default route through the first card, then each card's network.
pub(crate) fn route4_json(spec: &HostSpec, cut: bool) -> String {
    let mut routes = Vec::new();
    if let Some(first) = spec.nics.first() {
        routes.push(json!({
            "dst": "default", "gateway": Ipv4Addr::from(spec.gateway).to_string(),
            "dev": first.name, "flags": flags(first, cut)
        }));
    }
    for nic in spec.nics {
        let (net, _) = network(nic);
        routes.push(json!({
            "dst": format!("{net}/{}", nic.prefix), "dev": nic.name, "protocol": "kernel",
            "scope": "link", "prefsrc": Ipv4Addr::from(nic.address).to_string(),
            "flags": flags(nic, cut)
        }));
    }
    Value::Array(routes).to_string()
}

/// `ip -j -6 route show`: each card's link-local network.
pub(crate) fn route6_json(spec: &HostSpec, cut: bool) -> String {
    let routes = spec
        .nics
        .iter()
        .map(|nic| {
            json!({
                "dst": "fe80::/64", "dev": nic.name, "protocol": "kernel", "metric": 256,
                "flags": flags(nic, cut), "pref": "medium"
            })
        })
        .collect();
    Value::Array(routes).to_string()
}

/// Write the answers under `share` and return the `ip` shim. `cut_flag` is the file whose
/// presence means the replication link is cut; `ip` is this machine's, for every other
/// question.
pub(crate) fn write_ip(
    spec: &HostSpec,
    share: &Path,
    cut_flag: &Path,
    ip: Option<&PathBuf>,
) -> io::Result<String> {
    let has_cut = spec.nics.iter().any(|n| n.replication_end);
    for cut in [false, true] {
        if cut && !has_cut {
            continue;
        }
        let suffix = if cut { "-cut" } else { "" };
        for (body, name) in [
            (addr_json(spec, cut), "addr"),
            (route4_json(spec, cut), "route4"),
            (route6_json(spec, cut), "route6"),
        ] {
            std::fs::write(share.join(format!("{name}{suffix}.json")), body + "\n")?;
        }
    }
    let share = sh_quote(path_str(share)?);
    let mut s = format!(
        "#!/bin/sh\n\
         # vigie demo: the network cards, addresses and routes of demo host {name}, for the\n\
         # probe's questions (ip -j); any other ip command is this machine's. Written by vigie,\n\
         # removed with the demo.\n\
         _v=\n",
        name = spec.name
    );
    if has_cut {
        s.push_str(&format!(
            "# The replication link is cut (demo fault R): this end has lost its carrier.\n\
             [ -e {flag} ] && _v=-cut\n",
            flag = sh_quote(path_str(cut_flag)?)
        ));
    }
    s.push_str("case \"$*\" in\n");
    for (question, file) in ANSWERS {
        s.push_str(&format!(
            "\"{question}\") exec cat {share}/{file}\"$_v\".json ;;\n"
        ));
    }
    s.push_str("esac\n");
    match ip {
        Some(ip) => s.push_str(&format!("exec {} \"$@\"\n", sh_quote(path_str(ip)?))),
        None => s.push_str(
            "echo \"ip: vigie demo: this machine has no ip command for anything else\" >&2\n\
             exit 1\n",
        ),
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::super::hosts::HOSTS;
    use super::*;
    use crate::probe::parse::net;

    fn host(name: &str) -> &'static HostSpec {
        HOSTS.iter().find(|h| h.name == name).unwrap()
    }

    fn section(spec: &HostSpec, cut: bool) -> String {
        format!(
            "@@VIGIE n PART addr json 0\n{}\n@@VIGIE n PART route4 json 0\n{}\n\
             @@VIGIE n PART route6 json 0\n{}\n",
            addr_json(spec, cut),
            route4_json(spec, cut),
            route6_json(spec, cut)
        )
        // Part markers reach the parser as a NUL and the header (probe::sections).
        .replace("@@VIGIE n PART ", "\0")
    }

    #[test]
    fn the_kernel_derives_link_local_addresses_from_macs() {
        // The VM fixture's eth0: 02:fc:00:00:00:01 has fe80::fc:ff:fe00:1.
        assert_eq!(
            link_local([0x02, 0xfc, 0, 0, 0, 1]).to_string(),
            "fe80::fc:ff:fe00:1"
        );
    }

    #[test]
    fn the_answers_read_as_the_hosts_cards_and_routes() {
        let prod = host("prod");
        let report = net::parse(&section(prod, false)).expect("the net parser reads them");
        let cards = report.interfaces.as_ref().expect("interfaces");
        let names: Vec<&str> = cards.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["lo", "eno1", "eno2"]);
        let eno1 = &cards[1];
        assert!(eno1.admin_up && !eno1.loopback);
        assert_ne!(eno1.carrier, Some(false));
        let shown: Vec<String> = eno1
            .addresses
            .as_ref()
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(shown.contains(&"10.77.1.11/24".to_string()), "{shown:?}");
    }

    #[test]
    fn only_the_standbys_end_of_the_link_loses_its_carrier() {
        let drp = host("drp");
        let report = net::parse(&section(drp, true)).unwrap();
        let cards = report.interfaces.unwrap();
        let eno2 = cards.iter().find(|i| i.name == "eno2").unwrap();
        assert_eq!(eno2.carrier, Some(false));
        assert!(eno2.admin_up);
        let eno1 = cards.iter().find(|i| i.name == "eno1").unwrap();
        assert_ne!(eno1.carrier, Some(false));
        // prod's end stays up: the fault is at the far end.
        let prod = net::parse(&section(host("prod"), true)).unwrap();
        assert!(
            prod.interfaces
                .unwrap()
                .iter()
                .all(|i| i.carrier != Some(false))
        );
    }
}
