//! The demo site's DNS server on 127.0.0.1, one port over UDP and TCP, serving two things:
//!
//! - the blocklist zones the demo configures in `[dnsbl]`, as a site's own rbldnsd mirror of
//!   them would (Spamhaus and SpamCop let big users rsync their zones). RFC 5782's rules: a
//!   listed address answers A 127.0.0.x with a TXT reason; any other answers NXDOMAIN with the
//!   zone's SOA. Every zone lists its test entry, 127.0.0.2, and nothing else: the demo's
//!   public addresses are clean;
//! - the site's own zone (`[dns]`, see [`dns_zone`](super::dns_zone)): the shop's record, read
//!   by a drill's DNS step, switched by an activation's signed RFC 2136 update.
//!
//! Names outside these zones are REFUSED, as a server that is nobody's open resolver says.

use super::dns_zone::Zone;
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::io;
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// The zones served, as `[dnsbl] zones` names them.
pub(crate) const ZONES: [&str; 2] = ["zen.spamhaus.org", "bl.spamcop.net"];

/// RFC 5782 §5: the entry every IPv4 blocklist lists, for clients to test against.
const TEST_ENTRY: &str = "2.0.0.127";

/// A TCP client that sends nothing is dropped after this.
const TCP_IDLE: Duration = Duration::from_secs(30);

/// Bind 127.0.0.1 on an ephemeral port, UDP and TCP alike; the returned future answers until
/// it is dropped.
pub(crate) async fn start(
    zone: Arc<Zone>,
) -> io::Result<(u16, impl Future<Output = ()> + Send + 'static)> {
    // The UDP port picked by the kernel may be taken over TCP: try a few.
    let mut last = None;
    for _ in 0..20 {
        let socket = UdpSocket::bind(("127.0.0.1", 0)).await?;
        let port = socket.local_addr()?.port();
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(tcp) => {
                let serving = async move {
                    tokio::join!(serve_udp(socket, zone.clone()), serve_tcp(tcp, zone));
                };
                return Ok((port, serving));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no port free for UDP and TCP alike")))
}

async fn serve_udp(socket: UdpSocket, zone: Arc<Zone>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        if let Some(reply) = answer(buf.get(..n).unwrap_or_default(), &zone) {
            let _ = socket.send_to(&reply, from).await;
        }
    }
}

async fn serve_tcp(listener: TcpListener, zone: Arc<Zone>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        tokio::spawn(serve_stream(tcp, zone.clone()));
    }
}

/// RFC 7766: messages framed by their 2-byte length, several on one connection.
async fn serve_stream(mut tcp: TcpStream, zone: Arc<Zone>) {
    loop {
        let mut head = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, tcp.read_exact(&mut head)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(head))];
        if tcp.read_exact(&mut body).await.is_err() {
            return;
        }
        let Some(reply) = answer(&body, &zone) else {
            return;
        };
        let Ok(len) = u16::try_from(reply.len()) else {
            return;
        };
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&reply);
        if tcp.write_all(&framed).await.is_err() {
            return;
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn name(s: &str) -> Option<Name> {
    Name::from_str(s).ok()
}

/// The answer to one message; `None` for what is not a request (dropped, as servers do).
pub(crate) fn answer(raw: &[u8], zone: &Zone) -> Option<Vec<u8>> {
    let query = Message::from_vec(raw).ok()?;
    if query.metadata.message_type != MessageType::Query {
        return None;
    }
    if query.metadata.op_code == OpCode::Update {
        return zone.update(raw, &query, unix_now());
    }
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    let Some(q) = query.queries.first().filter(|_| query.queries.len() == 1) else {
        reply.metadata.response_code = ResponseCode::FormErr;
        return reply.to_vec().ok();
    };
    reply.add_query(q.clone());
    if query.metadata.op_code != OpCode::Query {
        reply.metadata.response_code = ResponseCode::NotImp;
        return reply.to_vec().ok();
    }
    if zone.holds(q.name()) {
        reply.metadata.recursion_available = false;
        zone.query(q, &mut reply);
        return reply.to_vec().ok();
    }
    let qname = q.name().to_lowercase();
    let zone = ZONES
        .iter()
        .filter_map(|z| name(&format!("{z}.")))
        .find(|z| z.zone_of(&qname));
    let Some(zone) = zone else {
        reply.metadata.response_code = ResponseCode::Refused;
        return reply.to_vec().ok();
    };
    reply.metadata.authoritative = true;
    let listed = name(&format!("{TEST_ENTRY}.{zone}")).is_some_and(|t| t == qname);
    if listed {
        let text = format!(
            "Test entry of {}: RFC 5782 section 5",
            zone.to_string().trim_end_matches('.')
        );
        match q.query_type() {
            RecordType::A => {
                reply.add_answer(Record::from_rdata(
                    q.name().clone(),
                    60,
                    RData::A(A(Ipv4Addr::new(127, 0, 0, 2))),
                ));
            }
            RecordType::TXT => {
                reply.add_answer(Record::from_rdata(
                    q.name().clone(),
                    60,
                    RData::TXT(TXT::new(vec![text])),
                ));
            }
            // The name exists, without this type: NOERROR, no answer.
            _ => {
                reply.add_authority(soa(&zone)?);
            }
        }
    } else {
        reply.metadata.response_code = ResponseCode::NXDomain;
        reply.add_authority(soa(&zone)?);
    }
    reply.to_vec().ok()
}

/// The zone's SOA, for negative answers (its minimum is the negative TTL: RFC 2308).
fn soa(zone: &Name) -> Option<Record> {
    let mname = name(&format!("ns.{zone}"))?;
    let rname = name(&format!("hostmaster.{zone}"))?;
    Some(Record::from_rdata(
        zone.clone(),
        60,
        RData::SOA(SOA::new(mname, rname, 1, 3600, 600, 86_400, 60)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::State;

    fn zone() -> Arc<Zone> {
        Arc::new(Zone::new(Ipv4Addr::new(203, 0, 113, 11), vec![7; 32]).unwrap())
    }

    #[tokio::test]
    async fn the_crates_own_lookups_find_only_the_test_entry_listed() {
        let (port, serving) = start(zone()).await.unwrap();
        let task = tokio::spawn(serving);
        let server: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        let resolver = crate::dnsbl::resolver(server).unwrap();
        let zones: Vec<String> = ZONES.iter().map(|z| z.to_string()).collect();
        let clean =
            crate::dnsbl::check_address(&resolver, server, "203.0.113.11".parse().unwrap(), &zones)
                .await;
        assert_eq!(clean.state, State::Ok, "{}", clean.summary);
        assert_eq!(
            clean.summary,
            "not listed (2 zones: zen.spamhaus.org, bl.spamcop.net)"
        );
        let test =
            crate::dnsbl::check_address(&resolver, server, "127.0.0.2".parse().unwrap(), &zones)
                .await;
        assert_eq!(test.state, State::Crit, "{}", test.summary);
        assert!(
            test.summary.contains("RFC 5782 section 5"),
            "{}",
            test.summary
        );
        task.abort();
    }

    #[test]
    fn other_names_are_refused_and_garbage_dropped() {
        let mut q = Message::query();
        q.add_query(hickory_proto::op::Query::query(
            Name::from_str("www.example.org.").unwrap(),
            RecordType::A,
        ));
        let zone = zone();
        let r = Message::from_vec(&answer(&q.to_vec().unwrap(), &zone).unwrap()).unwrap();
        assert_eq!(r.metadata.response_code, ResponseCode::Refused);
        assert_eq!(r.metadata.id, q.metadata.id);
        assert!(answer(b"\x00\x01garbage", &zone).is_none());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = answer(&raw, &zone());
        }
    }
}
