//! DNS blocklists (`network.dnsbl.IP`, SPEC §4): the site's public addresses looked up in the
//! configured zones, through the configured resolver only (hickory; never the system's
//! resolv.conf, never /etc/hosts). A new resolver each round: no answer is cached from one
//! round to the next, so a delisting shows at the next round.
//!
//! Public blocklists refuse queries that come through big public resolvers (Spamhaus answers
//! 127.255.255.254): `resolver` should be the site's own recursive resolver.

pub mod codes;

use crate::checks::Check;
use crate::config::Dnsbl;
use codes::ZoneAnswer;
use futures::future::join_all;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Per query sent. Blocklists answer from nearby mirrors in milliseconds.
const QUERY_TIMEOUT: Duration = Duration::from_secs(2);
/// Per lookup, retries included: hickory's own retries (UDP, then TCP) add up to more than
/// its per-query timeout says.
const LOOKUP_BUDGET: Duration = Duration::from_secs(4);

/// One check per configured address, in configuration order.
pub async fn check_all(settings: &Dnsbl) -> Vec<Check> {
    let resolver = match resolver(settings.resolver) {
        Ok(r) => r,
        Err(why) => {
            return settings
                .addresses
                .iter()
                .map(|ip| {
                    Check::unknown(
                        format!("network.dnsbl.{ip}"),
                        format!("cannot query: {why}"),
                    )
                })
                .collect();
        }
    };
    join_all(
        settings
            .addresses
            .iter()
            .map(|ip| check_address(&resolver, settings.resolver, *ip, &settings.zones)),
    )
    .await
}

/// The check of one address over every zone, asking `resolver` (whose address is `server`).
pub async fn check_address(
    resolver: &TokioResolver,
    server: SocketAddr,
    ip: IpAddr,
    zones: &[String],
) -> Check {
    let answers = join_all(zones.iter().map(|zone| async move {
        let answer = match tokio::time::timeout(LOOKUP_BUDGET, lookup(resolver, ip, zone)).await {
            Ok(ZoneAnswer::Failed(why)) => ZoneAnswer::Failed(format!("resolver {server}: {why}")),
            Ok(answer) => answer,
            Err(_) => ZoneAnswer::Failed(format!(
                "resolver {server}: no answer within {} s",
                LOOKUP_BUDGET.as_secs()
            )),
        };
        (zone.clone(), answer)
    }))
    .await;
    codes::evaluate(ip, &answers)
}

/// A resolver that asks `server` only (UDP, then TCP for truncated answers).
pub fn resolver(server: SocketAddr) -> Result<TokioResolver, String> {
    let mut udp = ConnectionConfig::udp();
    udp.port = server.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = server.port();
    let ns = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
    let config = ResolverConfig::from_parts(None, Vec::new(), vec![ns]);
    let mut opts = ResolverOpts::default();
    opts.timeout = QUERY_TIMEOUT;
    opts.attempts = 1;
    opts.cache_size = 64;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.num_concurrent_reqs = 1;
    opts.preserve_intermediates = false;
    Resolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(opts)
        .build()
        .map_err(|e| e.to_string())
}

/// What `zone` says about `ip`: the A query, then the TXT explanation when listed.
pub async fn lookup(resolver: &TokioResolver, ip: IpAddr, zone: &str) -> ZoneAnswer {
    let name = codes::query_name(ip, zone);
    let answers = match resolver.lookup(name.as_str(), RecordType::A).await {
        Ok(lookup) => lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                _ => None,
            })
            .collect::<Vec<_>>(),
        Err(e) if e.is_no_records_found() => Vec::new(),
        Err(e) => return ZoneAnswer::Failed(failure_words(&e)),
    };
    match codes::classify(&answers) {
        ZoneAnswer::Listed { codes, .. } => ZoneAnswer::Listed {
            codes,
            reason: txt(resolver, &name).await,
        },
        other => other,
    }
}

/// The zone's TXT record for a listing (a URL explaining it, usually); best effort.
async fn txt(resolver: &TokioResolver, name: &str) -> Option<String> {
    let lookup = tokio::time::timeout(QUERY_TIMEOUT, resolver.lookup(name, RecordType::TXT))
        .await
        .ok()?
        .ok()?;
    let text: Vec<String> = lookup
        .answers()
        .iter()
        .filter_map(|r| match &r.data {
            RData::TXT(t) => Some(
                t.txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect::<String>(),
            ),
            _ => None,
        })
        .collect();
    (!text.is_empty()).then(|| text.join(" "))
}

fn failure_words(e: &NetError) -> String {
    use hickory_resolver::net::DnsError;
    match e {
        NetError::Timeout => format!("no answer within {} s", QUERY_TIMEOUT.as_secs()),
        NetError::Dns(DnsError::ResponseCode(code)) => match code {
            ResponseCode::Refused => "refused the query".into(),
            ResponseCode::ServFail => "failed (SERVFAIL)".into(),
            other => format!("answered {other}"),
        },
        NetError::Io(io) => format!("unreachable: {}", crate::web::tls::io_reason(io)),
        NetError::NoConnections => "unreachable".into(),
        other => other.to_string(),
    }
}
