//! Reading the switched record from each authoritative server, and the wire: messages built
//! and decoded by hickory, carried over TCP (see the parent module for why by hand).

use super::DnsError;
use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::rdata::tsig::TsigError;
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{Name, RData, RecordType};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest wait for one answer (connection included).
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(5);

/// The addresses of one type at the record, as one server answers them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RrSet {
    pub addresses: Vec<IpAddr>,
    /// The smallest TTL of the set; `None` when it is empty.
    pub ttl: Option<u32>,
}

impl RrSet {
    /// Holds `ip` and nothing else.
    pub fn is_exactly(&self, ip: IpAddr) -> bool {
        self.addresses == [ip]
    }

    pub(super) fn words(&self, kind: &str) -> String {
        if self.addresses.is_empty() {
            return format!("no {kind} record");
        }
        let list: Vec<String> = self.addresses.iter().map(ToString::to_string).collect();
        match self.ttl {
            Some(ttl) => format!("{} (TTL {ttl} s)", list.join(", ")),
            None => list.join(", "),
        }
    }
}

/// What one server answers for the record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordAnswer {
    pub a: RrSet,
    pub aaaa: RrSet,
    /// The server answered with authority (AA): it serves the zone.
    pub authoritative: bool,
}

impl RecordAnswer {
    /// The set of `ip`'s family.
    pub fn family(&self, ip: IpAddr) -> &RrSet {
        if ip.is_ipv4() { &self.a } else { &self.aaaa }
    }
}

/// One server's answer, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAnswer {
    pub server: SocketAddr,
    pub answer: Result<RecordAnswer, DnsError>,
}

impl ServerAnswer {
    /// The server answers `ip`, and only it, for its family, with authority.
    pub fn holds_exactly(&self, ip: IpAddr) -> bool {
        self.answer
            .as_ref()
            .is_ok_and(|a| a.authoritative && a.family(ip).is_exactly(ip))
    }

    /// "10.77.1.53:53 answers 203.0.113.21 (TTL 60 s)", for the family of `ip`.
    pub fn describe(&self, ip: IpAddr) -> String {
        let kind = kind_word(ip);
        match &self.answer {
            Ok(a) if !a.authoritative => format!(
                "{} answers without authority (it does not serve the zone): {}",
                self.server,
                a.family(ip).words(kind)
            ),
            Ok(a) => format!("{} answers {}", self.server, a.family(ip).words(kind)),
            Err(e) => e.to_string(),
        }
    }
}

/// The record's A and AAAA sets on each server (plain queries, no recursion), in order.
pub async fn current(servers: &[SocketAddr], record: &str) -> Vec<ServerAnswer> {
    let name = match fqdn(record) {
        Ok(n) => n,
        Err(e) => {
            return servers
                .iter()
                .map(|s| ServerAnswer {
                    server: *s,
                    answer: Err(e.clone()),
                })
                .collect();
        }
    };
    futures::future::join_all(servers.iter().map(|&server| {
        let name = name.clone();
        async move {
            let answer = async {
                let (a, aa) = query(server, &name, RecordType::A).await?;
                let (aaaa, _) = query(server, &name, RecordType::AAAA).await?;
                Ok(RecordAnswer {
                    a,
                    aaaa,
                    authoritative: aa,
                })
            }
            .await;
            ServerAnswer { server, answer }
        }
    }))
    .await
}

/// One query of `rtype` at `name`: the set, and whether the answer had authority.
pub(super) async fn query(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
) -> Result<(RrSet, bool), DnsError> {
    let mut message = Message::query();
    message.metadata.recursion_desired = false;
    message.add_query(Query::query(name.clone(), rtype));
    let bytes = message
        .to_vec()
        .map_err(|e| DnsError::Request(format!("cannot encode the query: {e}")))?;
    let raw = exchange(server, &bytes, message.metadata.id).await?;
    let answer = decode(server, &raw)?;
    let rcode = answer.metadata.response_code;
    if !matches!(rcode, ResponseCode::NoError | ResponseCode::NXDomain) {
        return Err(DnsError::Answer {
            server,
            reason: format!(
                "answered {} to a query for {name} {rtype}",
                code_name(rcode)
            ),
        });
    }
    let records: Vec<_> = answer
        .answers
        .iter()
        .filter(|r| r.name == *name && r.record_type() == rtype)
        .collect();
    let set = RrSet {
        addresses: records.iter().filter_map(|r| r.data.ip_addr()).collect(),
        ttl: records.iter().map(|r| r.ttl).min(),
    };
    Ok((set, answer.metadata.authoritative))
}

// ---------------------------------------------------------------------------------------------
// Wire

/// Sends one message over TCP and reads the answer with the same id.
pub(super) async fn exchange(
    server: SocketAddr,
    request: &[u8],
    id: u16,
) -> Result<Vec<u8>, DnsError> {
    let net = |reason: String| DnsError::Network { server, reason };
    let len = u16::try_from(request.len()).map_err(|_| net("message too long".into()))?;
    let talk = async {
        let mut stream = TcpStream::connect(server).await.map_err(|e| {
            net(format!(
                "cannot connect: {}",
                crate::web::tls::io_reason(&e)
            ))
        })?;
        let mut framed = Vec::with_capacity(request.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(request);
        stream
            .write_all(&framed)
            .await
            .map_err(|e| net(format!("sending: {}", crate::web::tls::io_reason(&e))))?;
        let mut head = [0u8; 2];
        stream
            .read_exact(&mut head)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    net("closed the connection without answering".into())
                }
                _ => net(format!(
                    "reading the answer: {}",
                    crate::web::tls::io_reason(&e)
                )),
            })?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(head))];
        stream.read_exact(&mut body).await.map_err(|e| {
            net(format!(
                "reading the answer: {}",
                crate::web::tls::io_reason(&e)
            ))
        })?;
        Ok(body)
    };
    let body = tokio::time::timeout(EXCHANGE_TIMEOUT, talk)
        .await
        .map_err(|_| net(format!("no answer within {} s", EXCHANGE_TIMEOUT.as_secs())))??;
    let answer_id = body.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    if answer_id != Some(id) {
        return Err(DnsError::Answer {
            server,
            reason: "answered another query (message id mismatch)".into(),
        });
    }
    Ok(body)
}

pub(super) fn decode(server: SocketAddr, raw: &[u8]) -> Result<Message, DnsError> {
    Message::from_vec(raw).map_err(|e| DnsError::Answer {
        server,
        reason: format!("unreadable answer: {e}"),
    })
}

/// `name` as an absolute DNS name.
pub(super) fn fqdn(name: &str) -> Result<Name, DnsError> {
    let t = name.trim().trim_end_matches('.');
    Name::from_ascii(format!("{t}."))
        .map_err(|e| DnsError::Request(format!("{name:?} is not a DNS name: {e}")))
}

pub(super) fn rdata(ip: IpAddr) -> RData {
    match ip {
        IpAddr::V4(v4) => RData::A(A(v4)),
        IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
    }
}

pub(super) fn kind_word(ip: IpAddr) -> &'static str {
    if ip.is_ipv4() { "A" } else { "AAAA" }
}

pub(super) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The mnemonic of a response code (RFC 1035, 2136, 6895).
pub fn code_name(rcode: ResponseCode) -> &'static str {
    match u16::from(rcode) {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        _ => "UNKNOWN",
    }
}

pub(super) fn tsig_error_name(e: &TsigError) -> String {
    match e {
        TsigError::BadSig => "BADSIG".into(),
        TsigError::BadKey => "BADKEY".into(),
        TsigError::BadTime => "BADTIME".into(),
        TsigError::BadTrunc => "BADTRUNC".into(),
        TsigError::Unknown(n) => format!("error {n}"),
    }
}
