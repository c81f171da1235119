//! The demo site's own zone on the demo's DNS server: `demo.test`, whose `www` holds the shop's
//! public address (production's until a DRP activation points it at the DRP server's). It is
//! answered with authority, like the site's primary, and changed only by an RFC 2136 UPDATE
//! signed with the demo's TSIG key, as a DRP `dns` step sends it: the prerequisites are
//! checked and the whole update applied, or nothing at all (RFC 2136 §3.2–3.4), and the answer
//! is signed with the same key (RFC 8945 §5.3), so the console believes it.
//!
//! A drill only reads the record; a planned or emergency activation of the demo switches it.

use hickory_proto::op::{Message, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::tsig::{TSIG, TsigAlgorithm, TsigError};
use hickory_proto::rr::rdata::{A, NS, SOA};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigResponseContext, TSigner};
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::sync::{Mutex, PoisonError};

/// The zone, its record, and the TSIG key that may change it (named as in the key file).
pub(crate) const ZONE: &str = "demo.test";
pub(crate) const RECORD: &str = "www.demo.test";
pub(crate) const KEY_NAME: &str = "vigie-demo";
/// The record's TTL: resolvers follow a switch within a minute.
const TTL: u32 = 60;
/// Seconds of clock difference tolerated in a signed request (RFC 8945 recommends 300).
const FUDGE: u16 = 300;

/// The zone and its key.
pub(crate) struct Zone {
    origin: Name,
    signer: TSigner,
    records: Mutex<Records>,
}

struct Records {
    serial: u32,
    /// Every record but the SOA (made from `serial` when asked).
    list: Vec<Record>,
}

impl std::fmt::Debug for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Zone")
            .field("origin", &self.origin)
            .field("addresses", &self.addresses())
            .finish_non_exhaustive()
    }
}

fn name(s: &str) -> Option<Name> {
    Name::from_str(&format!("{}.", s.trim_end_matches('.'))).ok()
}

impl Zone {
    /// `www` pointing at `address`; updates must be signed (hmac-sha256) with `secret`.
    pub(crate) fn new(address: Ipv4Addr, secret: Vec<u8>) -> Option<Zone> {
        let origin = name(ZONE)?;
        let signer =
            TSigner::new(secret, TsigAlgorithm::HmacSha256, name(KEY_NAME)?, FUDGE).ok()?;
        let list = vec![
            Record::from_rdata(origin.clone(), 3600, RData::NS(NS(name("ns.demo.test")?))),
            Record::from_rdata(name(RECORD)?, TTL, RData::A(A(address))),
        ];
        Some(Zone {
            origin,
            signer,
            records: Mutex::new(Records { serial: 1, list }),
        })
    }

    /// The addresses `www` holds now.
    pub(crate) fn addresses(&self) -> Vec<Ipv4Addr> {
        let want = name(RECORD);
        self.lock()
            .list
            .iter()
            .filter(|r| Some(&r.name) == want.as_ref())
            .filter_map(|r| match &r.data {
                RData::A(a) => Some(a.0),
                _ => None,
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `name` is in the zone (its questions are answered here).
    pub(crate) fn holds(&self, name: &Name) -> bool {
        self.origin.zone_of(name)
    }

    fn soa(&self, serial: u32) -> Option<Record> {
        Some(Record::from_rdata(
            self.origin.clone(),
            3600,
            RData::SOA(SOA::new(
                name("ns.demo.test")?,
                name("hostmaster.demo.test")?,
                serial,
                3600,
                600,
                86_400,
                TTL,
            )),
        ))
    }

    /// The RRset of `name` and `rtype` (`ANY`: every record of the name), SOA included.
    fn rrset(&self, records: &Records, name: &Name, rtype: RecordType) -> Vec<Record> {
        let mut out: Vec<Record> = records
            .list
            .iter()
            .filter(|r| r.name == *name && (rtype == RecordType::ANY || r.record_type() == rtype))
            .cloned()
            .collect();
        if *name == self.origin
            && matches!(rtype, RecordType::SOA | RecordType::ANY)
            && let Some(soa) = self.soa(records.serial)
        {
            out.push(soa);
        }
        out
    }

    /// Answers a question about the zone into `reply` (authoritative).
    pub(crate) fn query(&self, q: &Query, reply: &mut Message) {
        reply.metadata.authoritative = true;
        let records = self.lock();
        let qname = q.name();
        let exists = !self.rrset(&records, qname, RecordType::ANY).is_empty();
        let found = self.rrset(&records, qname, q.query_type());
        if found.is_empty() {
            if !exists {
                reply.metadata.response_code = ResponseCode::NXDomain;
            }
            if let Some(soa) = self.soa(records.serial) {
                reply.add_authority(soa);
            }
            return;
        }
        for mut r in found {
            // The name as it was asked (DNS names are case-insensitive, answers echo them).
            r.name = qname.clone();
            reply.add_answer(r);
        }
    }

    /// Applies a signed UPDATE (`raw`, decoded as `msg`); returns the encoded answer.
    pub(crate) fn update(&self, raw: &[u8], msg: &Message, now: u64) -> Option<Vec<u8>> {
        let id = msg.metadata.id;
        let mut reply = Message::response(id, OpCode::Update);
        for q in &msg.queries {
            reply.add_query(q.clone());
        }
        let Some(sig) = msg.signature() else {
            // An unsigned update, as a primary with `allow-update { key …; }` answers it.
            reply.metadata.response_code = ResponseCode::Refused;
            return reply.to_vec().ok();
        };
        let check = self.check_signature(raw, sig, now);
        reply.metadata.response_code = match check {
            Ok(_) => self.apply(msg),
            Err(_) => ResponseCode::NotAuth,
        };
        let context = match check {
            Ok(mac) => TSigResponseContext::new(id, now, self.signer.clone(), mac, None),
            Err(Bad::Key) => TSigResponseContext::unknown_key(id, now, sig.name.clone()),
            Err(Bad::Sig) => TSigResponseContext::bad_signature(id, now, self.signer.clone()),
            Err(Bad::Time(mac)) => TSigResponseContext::new(
                id,
                now,
                self.signer.clone(),
                mac,
                Some(TsigError::BadTime),
            ),
        };
        let bytes = reply.to_vec().ok()?;
        let tsig = context.sign(&bytes).ok()?;
        reply.set_signature(tsig);
        reply.to_vec().ok()
    }

    /// The request's MAC when its signature is ours and fresh.
    fn check_signature(&self, raw: &[u8], sig: &Record<TSIG>, now: u64) -> Result<Vec<u8>, Bad> {
        if sig.name != *self.signer.signer_name() || sig.data.algorithm != TsigAlgorithm::HmacSha256
        {
            return Err(Bad::Key);
        }
        let (mac, _, window) = self
            .signer
            .verify_message_byte(raw, None, true)
            .map_err(|_| Bad::Sig)?;
        if !window.contains(&now) {
            return Err(Bad::Time(mac));
        }
        Ok(mac)
    }

    /// RFC 2136 §3: the zone section, the prerequisites, then the updates, all or nothing.
    fn apply(&self, msg: &Message) -> ResponseCode {
        let [zone] = msg.queries.as_slice() else {
            return ResponseCode::FormErr;
        };
        if zone.query_type() != RecordType::SOA {
            return ResponseCode::FormErr;
        }
        if *zone.name() != self.origin {
            return ResponseCode::NotAuth;
        }
        let mut records = self.lock();
        if let Err(code) = self.prerequisites(&records, &msg.answers) {
            return code;
        }
        let mut list = records.list.clone();
        for u in &msg.authorities {
            if !self.origin.zone_of(&u.name) {
                return ResponseCode::NotZone;
            }
            // The apex (SOA, NS) is the zone's own: not changed by the demo's updates.
            if u.name == self.origin {
                return ResponseCode::Refused;
            }
            let rtype = u.record_type();
            match u.dns_class {
                DNSClass::IN => {
                    if !list.iter().any(|r| r.name == u.name && r.data == u.data) {
                        let mut r = u.clone();
                        if r.ttl == 0 {
                            r.ttl = TTL;
                        }
                        list.push(r);
                    }
                }
                DNSClass::ANY => list.retain(|r| {
                    !(r.name == u.name && (rtype == RecordType::ANY || r.record_type() == rtype))
                }),
                DNSClass::NONE => list.retain(|r| !(r.name == u.name && r.data == u.data)),
                _ => return ResponseCode::FormErr,
            }
        }
        if list != records.list {
            records.list = list;
            records.serial = records.serial.wrapping_add(1);
        }
        ResponseCode::NoError
    }

    /// RFC 2136 §3.2.
    fn prerequisites(&self, records: &Records, prereqs: &[Record]) -> Result<(), ResponseCode> {
        // Value-dependent ones (class IN) are compared set by set.
        let mut sets: Vec<(Name, RecordType, Vec<RData>)> = Vec::new();
        for p in prereqs {
            if !self.origin.zone_of(&p.name) {
                return Err(ResponseCode::NotZone);
            }
            let rtype = p.record_type();
            let here = self.rrset(records, &p.name, rtype);
            match p.dns_class {
                DNSClass::ANY if rtype == RecordType::ANY && here.is_empty() => {
                    return Err(ResponseCode::NXDomain);
                }
                DNSClass::ANY if here.is_empty() => return Err(ResponseCode::NXRRSet),
                DNSClass::NONE if rtype == RecordType::ANY && !here.is_empty() => {
                    return Err(ResponseCode::YXDomain);
                }
                DNSClass::NONE if !here.is_empty() => return Err(ResponseCode::YXRRSet),
                DNSClass::ANY | DNSClass::NONE => {}
                DNSClass::IN => match sets
                    .iter_mut()
                    .find(|(n, t, _)| *n == p.name && *t == rtype)
                {
                    Some((_, _, v)) => v.push(p.data.clone()),
                    None => sets.push((p.name.clone(), rtype, vec![p.data.clone()])),
                },
                _ => return Err(ResponseCode::FormErr),
            }
        }
        for (n, t, want) in sets {
            let have: Vec<RData> = self
                .rrset(records, &n, t)
                .into_iter()
                .map(|r| r.data)
                .collect();
            let same = want.len() == have.len()
                && want.iter().all(|w| have.contains(w))
                && have.iter().all(|h| want.contains(h));
            if !same {
                return Err(ResponseCode::NXRRSet);
            }
        }
        Ok(())
    }
}

/// Why a signature is not accepted.
enum Bad {
    /// Not our key's name or algorithm.
    Key,
    Sig,
    /// Valid, but signed outside the fudge window: the request's MAC, for the signed answer.
    Time(Vec<u8>),
}

#[cfg(test)]
#[path = "dns_zone_tests.rs"]
mod tests;
