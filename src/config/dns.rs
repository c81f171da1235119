//! `[dns]` (SPEC §6): the authoritative servers of the site's zone, the record the DRP switches,
//! and the TSIG key file that signs the RFC 2136 updates (`crate::drp::dns`).
//!
//! The key file is a secret: it is named here and read only when an update is signed (or by the
//! DRP pre-flight), never when the file is loaded, so that supervising a site does not need read
//! access to the DRP's secrets.

use super::error::Problems;
use super::fields::{duration_value, path, table_in};
use super::load::Env;
use super::values::Loose;
use serde::Deserialize;
use serde_spanned::Spanned;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::de::DeValue;

/// How long [`crate::drp::dns::verify`] waits, by default, for every authoritative server to
/// answer the new address: secondaries follow the primary by NOTIFY and IXFR within seconds,
/// or at their SOA refresh when NOTIFY is lost.
pub const DEFAULT_VERIFY_TIMEOUT: Duration = Duration::from_secs(120);
const VERIFY_TIMEOUT_BOUNDS: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(3600));

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDns {
    servers: Spanned<Vec<Spanned<String>>>,
    zone: Spanned<String>,
    record: Spanned<String>,
    tsig_key_file: Spanned<String>,
    verify_timeout: Option<Spanned<Loose>>,
}

/// `[dns]`, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct DnsSettings {
    /// The zone's authoritative servers, in file order: updates go to the first, every one is
    /// verified. IP addresses (never names: the system resolver is not asked), port default 53.
    pub servers: Vec<SocketAddr>,
    /// The zone, lowercase, without its trailing dot.
    pub zone: String,
    /// The record switched (the zone itself or a name inside it), lowercase, no trailing dot.
    pub record: String,
    /// BIND key-file format (`key "NAME" { algorithm hmac-sha256; secret "…"; };`); read at use.
    pub tsig_key_file: PathBuf,
    /// Extension: how long to wait for every server to answer the new address.
    pub verify_timeout: Duration,
}

pub(super) fn check_dns(
    v: Spanned<DeValue>,
    env: &Env,
    base: &Path,
    p: &mut Problems,
) -> Option<DnsSettings> {
    let raw = table_in::<RawDns>(v, "[dns]", None, p)?;
    let mut servers = Vec::new();
    if raw.servers.get_ref().is_empty() {
        p.at(
            raw.servers.span(),
            "empty `servers`: expected the zone's authoritative servers, the primary first, \
             e.g. servers = [\"10.77.1.53:53\"]",
        );
    }
    for s in raw.servers.get_ref() {
        match server_address(s.get_ref()) {
            Some(sa) if servers.contains(&sa) => {
                p.at(s.span(), format!("duplicate server `{sa}` in `servers`"));
            }
            Some(sa) => servers.push(sa),
            None => p.at(
                s.span(),
                format!(
                    "invalid server {:?} in `servers`: expected an IP address and port, e.g. \
                     \"10.77.1.53:53\" or \"[2001:db8::53]:53\" (the port defaults to 53; names \
                     are refused: the servers are never looked up through the system resolver)",
                    s.get_ref()
                ),
            ),
        }
    }
    let zone = dns_name(raw.zone.get_ref());
    if zone.is_none() {
        p.at(
            raw.zone.span(),
            format!(
                "invalid `zone` {:?}: expected a DNS name such as \"example.test\"",
                raw.zone.get_ref()
            ),
        );
    }
    let record = dns_name(raw.record.get_ref());
    match (&record, &zone) {
        (None, _) => p.at(
            raw.record.span(),
            format!(
                "invalid `record` {:?}: expected a DNS name such as \"www.example.test\"",
                raw.record.get_ref()
            ),
        ),
        (Some(r), Some(z)) if !in_zone(r, z) => p.at(
            raw.record.span(),
            format!(
                "`record` {r} is not in zone {z}: expected the zone itself or a name ending \
                 in .{z}"
            ),
        ),
        _ => {}
    }
    let tsig_key_file = if raw.tsig_key_file.get_ref().trim().is_empty() {
        p.at(
            raw.tsig_key_file.span(),
            "empty `tsig_key_file`: expected the path of a BIND key file, e.g. \
             \"/etc/vigie/tsig.key\"",
        );
        PathBuf::new()
    } else {
        path(&raw.tsig_key_file, "tsig_key_file", env, base, p)
    };
    let verify_timeout = raw
        .verify_timeout
        .as_ref()
        .and_then(|v| duration_value(v, "verify_timeout", VERIFY_TIMEOUT_BOUNDS, p))
        .unwrap_or(DEFAULT_VERIFY_TIMEOUT);
    Some(DnsSettings {
        servers,
        zone: zone?,
        record: record?,
        tsig_key_file,
        verify_timeout,
    })
}

/// "10.77.1.53:53", "10.77.1.53", "[2001:db8::53]:53" or "2001:db8::53"; port 0 refused.
pub(crate) fn server_address(text: &str) -> Option<SocketAddr> {
    let t = text.trim();
    if let Ok(sa) = t.parse::<SocketAddr>() {
        return (sa.port() != 0).then_some(sa);
    }
    let ip = t
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(t);
    ip.parse::<IpAddr>().ok().map(|ip| SocketAddr::new(ip, 53))
}

/// A DNS name, lowercase and without its trailing dot; `None` when it is not one.
pub(crate) fn dns_name(text: &str) -> Option<String> {
    let t = text.trim();
    let t = t.strip_suffix('.').unwrap_or(t);
    if t.is_empty() || t.len() > 253 {
        return None;
    }
    let ok = t.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    ok.then(|| t.to_ascii_lowercase())
}

/// Whether `name` is `zone` or inside it (both as [`dns_name`] returns them).
pub(crate) fn in_zone(name: &str, zone: &str) -> bool {
    name == zone
        || name
            .strip_suffix(zone)
            .is_some_and(|head| head.ends_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &str = r#"
[site]
name = "t"
[ssh]
use_ssh_config = false
user = "root"
"#;

    fn load(dns: &str) -> Result<crate::config::Config, String> {
        crate::config::parse(&format!("{HOSTS}{dns}"), Path::new("/etc/vigie/vigie.toml"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_full_section_is_read() {
        let c = load(
            "[dns]\nservers = [\"10.77.1.53:53\", \"10.77.2.53\", \"[2001:db8::53]:5353\"]\n\
             zone = \"Example.TEST.\"\nrecord = \"www.example.test\"\n\
             tsig_key_file = \"tsig.key\"\nverify_timeout = \"30s\"\n",
        )
        .unwrap();
        let d = c.dns.unwrap();
        let servers: Vec<String> = d.servers.iter().map(ToString::to_string).collect();
        assert_eq!(
            servers,
            ["10.77.1.53:53", "10.77.2.53:53", "[2001:db8::53]:5353"]
        );
        assert_eq!(d.zone, "example.test");
        assert_eq!(d.record, "www.example.test");
        // Relative to the configuration file's directory.
        assert_eq!(d.tsig_key_file, PathBuf::from("/etc/vigie/tsig.key"));
        assert_eq!(d.verify_timeout, Duration::from_secs(30));
    }

    #[test]
    fn the_apex_is_a_record_of_its_zone_and_the_timeout_has_a_default() {
        let d = load(
            "[dns]\nservers = [\"10.77.1.53\"]\nzone = \"example.test\"\n\
             record = \"example.test\"\ntsig_key_file = \"/k\"\n",
        )
        .unwrap()
        .dns
        .unwrap();
        assert_eq!(d.record, "example.test");
        assert_eq!(d.verify_timeout, DEFAULT_VERIFY_TIMEOUT);
    }

    #[test]
    fn mistakes_are_located_and_explained() {
        let e = load(
            "[dns]\nservers = [\"ns1.example.test\", \"10.77.1.53\", \"10.77.1.53:53\"]\n\
             zone = \"example..test\"\nrecord = \"www.other.test\"\ntsig_key_file = \"\"\n\
             verify_timeout = 5\n",
        )
        .unwrap_err();
        assert!(
            e.contains("vigie.toml:8:12: invalid server \"ns1.example.test\" in `servers`"),
            "{e}"
        );
        assert!(e.contains("names are refused"), "{e}");
        assert!(
            e.contains("duplicate server `10.77.1.53:53` in `servers`"),
            "{e}"
        );
        assert!(
            e.contains("vigie.toml:9:8: invalid `zone` \"example..test\""),
            "{e}"
        );
        assert!(e.contains("empty `tsig_key_file`"), "{e}");
        assert!(e.contains("`verify_timeout`: expected"), "{e}");

        let e = load(
            "[dns]\nservers = []\nzone = \"example.test\"\nrecord = \"www.other.test\"\n\
             tsig_key_file = \"/k\"\n",
        )
        .unwrap_err();
        assert!(e.contains("empty `servers`"), "{e}");
        assert!(
            e.contains("`record` www.other.test is not in zone example.test"),
            "{e}"
        );

        let e = load("[dns]\nservers = [\"10.77.1.53\"]\nzone = \"example.test\"\n").unwrap_err();
        assert!(e.contains("missing field `record` in [dns]"), "{e}");
        let e = load(
            "[dns]\nservers = [\"10.77.1.53\"]\nzone = \"example.test\"\nrecord = \"www.example.test\"\n\
             tsig_key_file = \"/k\"\ntsig_secret = \"abc\"\n",
        )
        .unwrap_err();
        assert!(e.contains("unknown field `tsig_secret`"), "{e}");
    }

    #[test]
    fn names_and_servers() {
        assert_eq!(
            dns_name("WWW.Example.test."),
            Some("www.example.test".into())
        );
        for bad in ["", ".", "a..b", "-a.b", "a b", "a.b-", &"a".repeat(64)] {
            assert_eq!(dns_name(bad), None, "{bad}");
        }
        assert!(in_zone("www.example.test", "example.test"));
        assert!(in_zone("example.test", "example.test"));
        assert!(!in_zone("wwwexample.test", "example.test"));
        assert!(!in_zone("example.test", "www.example.test"));
        assert_eq!(server_address("10.0.0.1:0"), None);
        assert_eq!(
            server_address(" 2001:db8::1 "),
            Some("[2001:db8::1]:53".parse().unwrap())
        );
    }
}
