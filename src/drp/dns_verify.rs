//! Checking the switch: every authoritative server must answer the new address (secondaries
//! follow by NOTIFY and IXFR); and a drill's DNS step, which only reads.

use super::read::{RecordAnswer, ServerAnswer, current, kind_word};
use super::{Algorithm, DnsError, read_key};
use crate::config::DnsSettings;
use std::net::IpAddr;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Between two rounds of [`verify`].
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Whether every authoritative server answers the expected address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub record: String,
    pub expected: IpAddr,
    /// The last round of answers, one per server, in order.
    pub servers: Vec<ServerAnswer>,
    /// Every server answers exactly `expected`, with authority.
    pub ok: bool,
    /// The TTL resolvers may have cached the old answer for.
    pub ttl: Option<u32>,
    /// Verified at + `ttl`: when every resolver follows (when `ok`).
    pub follow_by: Option<jiff::Timestamp>,
    /// How long the servers took to agree (or the wait, when they did not).
    pub waited: Duration,
}

impl Verification {
    /// One line: "2 of 2 servers answer 203.0.113.21 (TTL 60 s); resolvers will follow by
    /// 14:03:07", times in `tz`.
    pub fn summary(&self, tz: &jiff::tz::TimeZone) -> String {
        let n = self.servers.len();
        let good = self
            .servers
            .iter()
            .filter(|s| s.holds_exactly(self.expected))
            .count();
        if self.ok {
            let ttl = self.ttl.map_or(String::new(), |t| format!(" (TTL {t} s)"));
            let follow = self.follow_by.map_or(String::new(), |t| {
                format!(
                    "; resolvers will follow by {}",
                    t.to_zoned_datetime(tz.clone()).strftime("%H:%M:%S")
                )
            });
            return format!(
                "{good} of {n} servers answer {}{ttl}{follow}",
                self.expected
            );
        }
        let first_bad = self
            .servers
            .iter()
            .find(|s| !s.holds_exactly(self.expected))
            .map_or(String::new(), |s| {
                format!(": {}", s.describe(self.expected))
            });
        format!(
            "{good} of {n} servers answer {} after {} s{first_bad}",
            self.expected,
            self.waited.as_secs()
        )
    }

    /// One line per server, then notes (an AAAA record left pointing elsewhere).
    pub fn lines(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .servers
            .iter()
            .map(|s| {
                let mark = if s.holds_exactly(self.expected) {
                    "OK  "
                } else {
                    "NOT "
                };
                format!("{mark}{}", s.describe(self.expected))
            })
            .collect();
        let other_family = |a: &RecordAnswer| {
            if self.expected.is_ipv4() {
                a.aaaa.clone()
            } else {
                a.a.clone()
            }
        };
        if let Some(other) = self
            .servers
            .iter()
            .filter_map(|s| s.answer.as_ref().ok().map(other_family))
            .find(|set| !set.addresses.is_empty())
        {
            let kind = if self.expected.is_ipv4() { "AAAA" } else { "A" };
            out.push(format!(
                "note: {} also has {kind} {}, which this switch does not change",
                self.record,
                other.words(kind)
            ));
        }
        out
    }
}

/// Polls every server until each answers exactly `expected` with authority, or `within` has
/// passed (secondaries follow the primary by NOTIFY and IXFR). `old_ttl`: the TTL before the
/// switch, when known (else the largest TTL the servers answer, which is the same since the
/// switch keeps it).
pub async fn verify(
    servers: &[SocketAddr],
    record: &str,
    expected: IpAddr,
    within: Duration,
    old_ttl: Option<u32>,
) -> Verification {
    let start = Instant::now();
    loop {
        let answers = current(servers, record).await;
        let ok = !answers.is_empty() && answers.iter().all(|s| s.holds_exactly(expected));
        let waited = start.elapsed();
        if ok || waited >= within {
            let seen = answers
                .iter()
                .filter_map(|s| s.answer.as_ref().ok().and_then(|a| a.family(expected).ttl))
                .max();
            let ttl = old_ttl.or(seen);
            let follow_by = ok
                .then(|| {
                    ttl.map(|t| {
                        jiff::Timestamp::now() + jiff::SignedDuration::from_secs(i64::from(t))
                    })
                })
                .flatten();
            return Verification {
                record: record.to_string(),
                expected,
                servers: answers,
                ok,
                ttl,
                follow_by,
                waited,
            };
        }
        tokio::time::sleep(POLL_EVERY.min(within.saturating_sub(waited))).await;
    }
}

/// A drill's DNS step: reads, never writes. Every server must answer `holds` (the address the
/// record has now: production's); the key file must be readable; what an activation would
/// send is described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrillReport {
    pub verification: Verification,
    /// The key's name and algorithm, or why it cannot be used.
    pub key: Result<(String, Algorithm), DnsError>,
}

impl DrillReport {
    pub fn ok(&self) -> bool {
        self.verification.ok && self.key.is_ok()
    }

    pub fn summary(&self, tz: &jiff::tz::TimeZone) -> String {
        let key = match &self.key {
            Ok((name, alg)) => format!("key {name} ({}) readable", alg.name()),
            Err(e) => e.to_string(),
        };
        format!(
            "drill, DNS not changed: {}; {key}",
            self.verification.summary(tz)
        )
    }
}

/// The DNS step of a drill (see [`DrillReport`]): one round of queries, no update.
pub async fn drill(settings: &DnsSettings, holds: IpAddr) -> DrillReport {
    let verification = verify(
        &settings.servers,
        &settings.record,
        holds,
        Duration::ZERO,
        None,
    )
    .await;
    let key = read_key(&settings.tsig_key_file).map(|k| (k.name, k.algorithm));
    DrillReport { verification, key }
}

/// What [`switch`] will send, as the equivalent `nsupdate` script, and what is verified after.
pub fn preview(settings: &DnsSettings, from: IpAddr, to: IpAddr) -> Vec<String> {
    let kind = kind_word(to);
    let record = &settings.record;
    let mut out = Vec::new();
    match settings.servers.first() {
        Some(s) => out.push(format!(
            "update sent to {s} over TCP, signed with the TSIG key in {} (nsupdate equivalent):",
            settings.tsig_key_file.display()
        )),
        None => out.push("no DNS server configured".to_string()),
    }
    if let Some(s) = settings.servers.first() {
        out.push(format!("  server {} {}", s.ip(), s.port()));
    }
    out.push(format!("  zone {}.", settings.zone));
    out.push(format!("  prereq yxrrset {record}. IN {kind} {from}"));
    out.push(format!("  update delete {record}. IN {kind} {from}"));
    out.push(format!(
        "  update add {record}. TTL IN {kind} {to}    (TTL: the record's current one)"
    ));
    out.push("  send".to_string());
    out.push(format!(
        "refused by the server (nothing changed) unless {record} holds exactly {from}; \
         skipped if it already holds {to}"
    ));
    let all: Vec<String> = settings.servers.iter().map(ToString::to_string).collect();
    out.push(format!(
        "then every server ({}) must answer {to} within {} s",
        all.join(", "),
        settings.verify_timeout.as_secs()
    ));
    out
}
