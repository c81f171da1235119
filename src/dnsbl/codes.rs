//! What blocklist answers mean, and the check of one address over every zone. Pure.
//!
//! A DNS blocklist (RFC 5782) is asked about address a.b.c.d with an A query for
//! `d.c.b.a.ZONE` (IPv6: the 32 nibbles reversed). NXDOMAIN: not listed. An answer in
//! 127.0.0.2–127.0.0.11: listed, the code saying why (Spamhaus ZEN's codes below). An answer
//! in 127.255.255.0/24 is Spamhaus's way of refusing the query — it is not a listing. Any other
//! answer is not a blocklist code at all (a resolver rewriting NXDOMAIN to an ad server): the
//! result is unknown.

use crate::checks::{Check, State};
use crate::probe::parse::clean;
use std::net::{IpAddr, Ipv4Addr};

/// What one zone said about one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneAnswer {
    NotListed,
    /// Listing codes (127.0.0.2–127.0.0.11) and the zone's TXT explanation, if it gave one.
    Listed {
        codes: Vec<Ipv4Addr>,
        reason: Option<String>,
    },
    /// 127.255.255.x: the zone refused to answer this query.
    Refused(Ipv4Addr),
    /// Answers that are no blocklist code.
    Odd(Vec<IpAddr>),
    /// No usable answer: timeout, SERVFAIL, resolver down.
    Failed(String),
}

/// The A records of a positive answer, classified.
pub fn classify(answers: &[IpAddr]) -> ZoneAnswer {
    if answers.is_empty() {
        return ZoneAnswer::NotListed;
    }
    let v4: Vec<Ipv4Addr> = answers
        .iter()
        .filter_map(|a| match a {
            IpAddr::V4(v4) => Some(*v4),
            IpAddr::V6(_) => None,
        })
        .collect();
    let codes: Vec<Ipv4Addr> = v4.iter().copied().filter(|a| is_listing(*a)).collect();
    if let Some(refused) = v4.iter().find(|a| is_refusal(**a)) {
        // A refusal says nothing about the address, even next to other codes.
        return ZoneAnswer::Refused(*refused);
    }
    if codes.is_empty() {
        return ZoneAnswer::Odd(answers.to_vec());
    }
    ZoneAnswer::Listed {
        codes,
        reason: None,
    }
}

/// Any 127.0.0.0/8 answer but 127.0.0.1 (a test entry) and 127.255.255.x (errors of the
/// query): zones use codes beyond Spamhaus's .2–.11 (127.0.0.12–14, 127.0.1.x), all listings.
fn is_listing(a: Ipv4Addr) -> bool {
    let [x, y, z, w] = a.octets();
    x == 127 && (y, z, w) != (0, 0, 1) && !is_refusal(a)
}

fn is_refusal(a: Ipv4Addr) -> bool {
    let [x, y, z, _] = a.octets();
    (x, y, z) == (127, 255, 255)
}

/// The query name for `ip` under `zone`, fully qualified (trailing dot).
pub fn query_name(ip: IpAddr, zone: &str) -> String {
    let zone = zone.trim_end_matches('.');
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.{zone}.")
        }
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(64 + zone.len() + 1);
            for byte in v6.octets().iter().rev() {
                out.push_str(&format!("{:x}.{:x}.", byte & 0x0f, byte >> 4));
            }
            out.push_str(zone);
            out.push('.');
            out
        }
    }
}

fn is_spamhaus(zone: &str) -> bool {
    let z = zone.trim_end_matches('.').to_ascii_lowercase();
    ["spamhaus.org", "spamhaus.net"]
        .iter()
        .any(|d| z == *d || z.ends_with(&format!(".{d}")))
}

/// What a listing code means, where the zone documents it. Spamhaus's return codes
/// (docs.spamhaus.com, "DNSBL return codes"), for zen/sbl/xbl/pbl and the DQS mirrors.
pub fn meaning(zone: &str, code: Ipv4Addr) -> Option<&'static str> {
    if !is_spamhaus(zone) {
        return None;
    }
    Some(match code.octets()[3] {
        2 => "SBL: spam source",
        3 => "SBL CSS: snowshoe spam",
        4..=7 => "XBL: exploited or infected host",
        9 => "DROP: hijacked network",
        10 => "PBL: dynamic range, ISP policy",
        11 => "PBL: dynamic range, Spamhaus policy",
        _ => return None,
    })
}

/// Why a zone refused a query (Spamhaus's 127.255.255.x codes).
pub fn refusal_reason(code: Ipv4Addr) -> String {
    let why = match code.octets()[3] {
        252 => "typo in the zone name",
        254 => "query through a public resolver",
        255 => "too many queries",
        _ => "refused",
    };
    format!("{why} ({code})")
}

/// The check `network.dnsbl.IP` from every zone's answer (in configuration order).
pub fn evaluate(ip: IpAddr, answers: &[(String, ZoneAnswer)]) -> Check {
    let id = format!("network.dnsbl.{ip}");
    let mut listed = Vec::new();
    let mut unknown = Vec::new();
    for (zone, answer) in answers {
        let zone_shown = clean(zone, 60);
        match answer {
            ZoneAnswer::NotListed => {}
            ZoneAnswer::Listed { codes, reason } => {
                let mut why: Vec<String> = codes
                    .iter()
                    .map(|c| match meaning(zone, *c) {
                        Some(m) => m.to_string(),
                        None => c.to_string(),
                    })
                    .collect();
                why.dedup();
                let mut text = format!("{zone_shown} ({})", why.join(", "));
                if let Some(r) = reason.as_deref().map(|r| clean(r, 100))
                    && !r.is_empty()
                {
                    text.push_str(&format!(": \"{r}\""));
                }
                listed.push(text);
            }
            ZoneAnswer::Refused(code) => unknown.push(format!(
                "{zone_shown}: query refused by zone: {}",
                refusal_reason(*code)
            )),
            ZoneAnswer::Odd(addrs) => {
                let shown: Vec<String> = addrs.iter().take(3).map(IpAddr::to_string).collect();
                unknown.push(format!(
                    "{zone_shown}: unexpected answer {} (not a blocklist code: does the \
                     resolver rewrite NXDOMAIN?)",
                    shown.join(", ")
                ));
            }
            ZoneAnswer::Failed(why) => unknown.push(format!("{zone_shown}: {}", clean(why, 100))),
        }
    }
    let zones = answers.len();
    let (state, mut summary) = if !listed.is_empty() {
        (State::Crit, format!("listed on {}", listed.join("; ")))
    } else if !unknown.is_empty() {
        let answered = zones - unknown.len();
        let part = if answered == 0 {
            String::new()
        } else {
            format!("not listed on {answered} of {zones} zones")
        };
        (State::Unknown, part)
    } else {
        let names: Vec<String> = answers.iter().map(|(z, _)| clean(z, 60)).collect();
        let plural = if zones == 1 { "" } else { "s" };
        (
            State::Ok,
            format!("not listed ({zones} zone{plural}: {})", names.join(", ")),
        )
    };
    if !unknown.is_empty() {
        if !summary.is_empty() {
            summary.push_str("; ");
        }
        summary.push_str(&unknown.join("; "));
    }
    Check::new(id, state, summary)
}

/// IPv4-mapped IPv6 addresses are IPv4 addresses (one check id per address).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether an address can be on a blocklist at all: not private, loopback, link-local,
/// shared (CGNAT), multicast or unspecified. Asking a public blocklist about a private address
/// only tells it the site's internal plan.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn public_addresses() {
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["203.0.113.11", "8.8.8.8", "100.128.0.1", "2001:db8::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn query_names_reverse_the_address() {
        assert_eq!(
            query_name(v4("203.0.113.11"), "zen.spamhaus.org"),
            "11.113.0.203.zen.spamhaus.org."
        );
        // RFC 5782 §2.4's own example.
        assert_eq!(
            query_name(
                "2001:db8:1:2:3:4:567:89ab".parse().unwrap(),
                "ugly.example.com."
            ),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com."
        );
    }

    #[test]
    fn answers_are_listings_refusals_or_odd() {
        assert_eq!(classify(&[]), ZoneAnswer::NotListed);
        assert_eq!(
            classify(&[v4("127.0.0.4"), v4("127.0.0.10")]),
            ZoneAnswer::Listed {
                codes: vec!["127.0.0.4".parse().unwrap(), "127.0.0.10".parse().unwrap()],
                reason: None
            }
        );
        assert_eq!(
            classify(&[v4("127.255.255.254")]),
            ZoneAnswer::Refused("127.255.255.254".parse().unwrap())
        );
        // A refusal next to a code is still no listing.
        assert!(matches!(
            classify(&[v4("127.0.0.2"), v4("127.255.255.255")]),
            ZoneAnswer::Refused(_)
        ));
        for odd in ["127.0.0.1", "93.184.216.34"] {
            assert!(matches!(classify(&[v4(odd)]), ZoneAnswer::Odd(_)), "{odd}");
        }
        // Codes beyond Spamhaus's are listings too (SPEC: listed = CRIT).
        for listed in ["127.0.0.12", "127.0.1.2"] {
            assert!(
                matches!(classify(&[v4(listed)]), ZoneAnswer::Listed { .. }),
                "{listed}"
            );
        }
    }

    #[test]
    fn spamhaus_codes_have_their_meaning() {
        let c = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(
            meaning("zen.spamhaus.org", c("127.0.0.4")),
            Some("XBL: exploited or infected host")
        );
        assert_eq!(
            meaning("KEY.zen.dq.spamhaus.net", c("127.0.0.9")),
            Some("DROP: hijacked network")
        );
        assert_eq!(meaning("bl.spamcop.net", c("127.0.0.2")), None);
        assert_eq!(meaning("notspamhaus.org", c("127.0.0.2")), None);
        assert_eq!(
            refusal_reason(c("127.255.255.254")),
            "query through a public resolver (127.255.255.254)"
        );
    }

    #[test]
    fn one_check_per_address_worst_over_zones() {
        let ip = v4("203.0.113.11");
        let ok = evaluate(
            ip,
            &[
                ("zen.spamhaus.org".into(), ZoneAnswer::NotListed),
                ("bl.spamcop.net".into(), ZoneAnswer::NotListed),
            ],
        );
        assert_eq!(ok.id, "network.dnsbl.203.0.113.11");
        assert_eq!(ok.state, State::Ok);
        assert_eq!(
            ok.summary,
            "not listed (2 zones: zen.spamhaus.org, bl.spamcop.net)"
        );

        let listed = evaluate(
            ip,
            &[
                (
                    "zen.spamhaus.org".into(),
                    ZoneAnswer::Listed {
                        codes: vec!["127.0.0.4".parse().unwrap()],
                        reason: Some("https://check.spamhaus.org/query/ip/203.0.113.11".into()),
                    },
                ),
                (
                    "bl.spamcop.net".into(),
                    ZoneAnswer::Refused("127.255.255.255".parse().unwrap()),
                ),
            ],
        );
        assert_eq!(listed.state, State::Crit);
        assert_eq!(
            listed.summary,
            "listed on zen.spamhaus.org (XBL: exploited or infected host): \
             \"https://check.spamhaus.org/query/ip/203.0.113.11\"; bl.spamcop.net: query \
             refused by zone: too many queries (127.255.255.255)"
        );

        let refused = evaluate(
            ip,
            &[(
                "zen.spamhaus.org".into(),
                ZoneAnswer::Refused("127.255.255.254".parse().unwrap()),
            )],
        );
        assert_eq!(refused.state, State::Unknown);
        assert!(
            refused
                .summary
                .contains("query refused by zone: query through a public resolver"),
            "{}",
            refused.summary
        );
        assert!(!refused.summary.contains("listed on"));
    }

    proptest::proptest! {
        /// Whatever a zone answers (any addresses, any TXT), the check never panics and is
        /// one clean line.
        #[test]
        fn any_answer_gives_a_clean_line(
            octets in proptest::collection::vec(proptest::array::uniform4(0u8..), 0..6),
            txt in proptest::option::of("\\PC{0,200}|[\\x00-\\x1f]{0,10}"),
        ) {
            let addrs: Vec<IpAddr> = octets.iter().map(|o| IpAddr::from(*o)).collect();
            let answer = match classify(&addrs) {
                ZoneAnswer::Listed { codes, .. } => ZoneAnswer::Listed { codes, reason: txt },
                other => other,
            };
            let c = evaluate(v4("192.0.2.1"), &[("zen.spamhaus.org".into(), answer)]);
            proptest::prop_assert!(!c.summary.chars().any(char::is_control), "{:?}", c.summary);
        }
    }

    #[test]
    fn remote_text_is_sanitised() {
        let c = evaluate(
            v4("203.0.113.11"),
            &[(
                "bl.example".into(),
                ZoneAnswer::Listed {
                    codes: vec!["127.0.0.2".parse().unwrap()],
                    reason: Some("see \u{1b}[31mhttp://x\u{7}".into()),
                },
            )],
        );
        assert!(!c.summary.chars().any(char::is_control), "{}", c.summary);
    }
}
