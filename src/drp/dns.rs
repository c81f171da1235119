//! The DRP's DNS switch (SPEC §6, step kind `dns`): an RFC 2136 UPDATE signed with TSIG,
//! sent to the zone's primary only if the record still holds the expected old address, then
//! verified on every authoritative server.
//!
//! Safety comes from the server, not from a read before writing: the update carries the
//! prerequisite "RRset exists (value dependent)" (RFC 2136 §2.4.2), so a record changed by
//! someone else, or by an earlier attempt, is refused by the primary atomically (NXRRSET)
//! and nothing changes. The read before sending only recognises a retry whose update already
//! went through ([`SwitchOutcome::AlreadyDone`]) and keeps the record's TTL.
//!
//! Only [`switch`] sends an update. Drills call [`drill`], which reads and never writes.
//!
//! hickory builds, signs and decodes the messages; they travel over TCP (RFC 7766: every
//! authoritative server serves it), written here in a few lines rather than through hickory's
//! client, which replaces a server's unsigned answer (the NOTAUTH of a rejected key, with its
//! BADSIG or BADKEY) by a bare TSIG validation error, losing what the server said.

#[path = "dns_key.rs"]
mod key;
#[path = "dns_read.rs"]
mod read;
#[path = "dns_verify.rs"]
mod verification;
pub use key::{Algorithm, KeyError, TsigKey, parse_key};
pub use read::{EXCHANGE_TIMEOUT, RecordAnswer, RrSet, ServerAnswer, code_name, current};
pub use verification::{DrillReport, Verification, drill, preview, verify};

use crate::config::DnsSettings;
use hickory_proto::op::{ResponseCode, update_message};
use hickory_proto::rr::{RecordSet, RecordType};
use read::{decode, exchange, fqdn, kind_word, query, rdata, tsig_error_name, unix_now};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// The TTL given to the new record when the old one could not be read (the update is then
/// refused anyway: its prerequisite needs the old record).
const FALLBACK_TTL: u32 = 300;

/// Why the DNS step could not do or check its work. Never holds the key's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsError {
    /// The key file is missing, unreadable or garbled (`line` 0: the file as a whole).
    Key {
        file: PathBuf,
        line: usize,
        reason: String,
    },
    /// No answer: connection refused, timeout, connection closed.
    Network { server: SocketAddr, reason: String },
    /// An answer that cannot be used: unreadable, another query's, an error code, unsigned.
    Answer { server: SocketAddr, reason: String },
    /// The request itself: a name that is not a DNS name, addresses of two families.
    Request(String),
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::Key {
                file,
                line: 0,
                reason,
            } => {
                write!(f, "TSIG key file {}: {reason}", file.display())
            }
            DnsError::Key { file, line, reason } => {
                write!(f, "TSIG key file {}:{line}: {reason}", file.display())
            }
            DnsError::Network { server, reason } => write!(f, "DNS server {server}: {reason}"),
            DnsError::Answer { server, reason } => write!(f, "DNS server {server}: {reason}"),
            DnsError::Request(reason) => f.write_str(reason),
        }
    }
}

impl std::error::Error for DnsError {}

/// Reads the TSIG key file (BIND format, or Knot's `keymgr -t` output).
pub fn read_key(path: &Path) -> Result<TsigKey, DnsError> {
    let err = |line, reason: String| DnsError::Key {
        file: path.to_path_buf(),
        line,
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| {
        err(
            0,
            format!("cannot read: {}", crate::web::tls::io_reason(&e)),
        )
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|_| err(0, "not a text file: expected a BIND key file".into()))?;
    parse_key(&text).map_err(|e| err(e.line, e.reason))
}

// ---------------------------------------------------------------------------------------------
// The switch

/// The server's refusal of an update: nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub server: SocketAddr,
    /// The DNS response code (RFC 2136 §2.2), e.g. 8.
    pub rcode: u16,
    /// Its mnemonic, e.g. "NXRRSET".
    pub code: &'static str,
    /// The TSIG error the server gave (RFC 8945), e.g. "BADSIG".
    pub tsig_error: Option<String>,
    /// What it means for the operator.
    pub meaning: String,
}

/// What [`switch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SwitchOutcome {
    /// The primary accepted the update.
    Switched {
        server: SocketAddr,
        record: String,
        from: IpAddr,
        to: IpAddr,
        /// The record's TTL, kept: resolvers may serve the old address this long.
        ttl: u32,
    },
    /// The record already held `to` (a retry after the update went through): nothing sent.
    AlreadyDone {
        server: SocketAddr,
        record: String,
        to: IpAddr,
        ttl: Option<u32>,
    },
    /// The primary refused the update; the record is as it was.
    Refused(Refusal),
}

impl SwitchOutcome {
    /// One line for the journal and the screen.
    pub fn summary(&self) -> String {
        match self {
            SwitchOutcome::Switched {
                server,
                record,
                from,
                to,
                ttl,
            } => format!("{record} switched from {from} to {to} on {server} (TTL {ttl} s kept)"),
            SwitchOutcome::AlreadyDone {
                server, record, to, ..
            } => {
                format!("{record} already holds {to} on {server}: no update sent")
            }
            SwitchOutcome::Refused(r) => {
                let tsig = r
                    .tsig_error
                    .as_ref()
                    .map_or(String::new(), |e| format!(", TSIG {e}"));
                format!(
                    "DNS update to {} refused: {}{tsig} ({}); nothing was changed",
                    r.server, r.code, r.meaning
                )
            }
        }
    }

    /// The record's TTL, when known.
    pub fn ttl(&self) -> Option<u32> {
        match self {
            SwitchOutcome::Switched { ttl, .. } => Some(*ttl),
            SwitchOutcome::AlreadyDone { ttl, .. } => *ttl,
            SwitchOutcome::Refused(_) => None,
        }
    }
}

/// Points the record from `from` to `to`: one UPDATE, signed with the key of
/// `settings.tsig_key_file` (read now), sent to the first server, applied by it only if the
/// record holds exactly `from`. The TTL is kept. Check before sending: a record that already
/// holds exactly `to` is [`SwitchOutcome::AlreadyDone`] and nothing is sent.
pub async fn switch(
    settings: &DnsSettings,
    from: IpAddr,
    to: IpAddr,
) -> Result<SwitchOutcome, DnsError> {
    if from.is_ipv4() != to.is_ipv4() {
        return Err(DnsError::Request(format!(
            "cannot switch {} from {from} to {to}: the addresses are of two families (A and \
             AAAA are separate records)",
            settings.record
        )));
    }
    if from == to {
        return Err(DnsError::Request(format!(
            "cannot switch {} from {from} to itself",
            settings.record
        )));
    }
    let record = fqdn(&settings.record)?;
    let zone = fqdn(&settings.zone)?;
    if !zone.zone_of(&record) {
        return Err(DnsError::Request(format!(
            "{} is not in zone {}",
            settings.record, settings.zone
        )));
    }
    let Some(&server) = settings.servers.first() else {
        return Err(DnsError::Request(
            "no DNS server configured in [dns] servers".into(),
        ));
    };
    // The secret is read now (not at load), and before anything goes on the network.
    let key = read_key(&settings.tsig_key_file)?;
    let rtype = if to.is_ipv4() {
        RecordType::A
    } else {
        RecordType::AAAA
    };

    let (before, _) = query(server, &record, rtype).await?;
    if before.is_exactly(to) {
        tracing::info!(%server, record = %settings.record, %to, "DNS switch: already done");
        return Ok(SwitchOutcome::AlreadyDone {
            server,
            record: settings.record.clone(),
            to,
            ttl: before.ttl,
        });
    }
    let ttl = before.ttl.unwrap_or(FALLBACK_TTL);

    let mut old = RecordSet::with_ttl(record.clone(), rtype, 0);
    old.add_rdata(rdata(from));
    let mut new = RecordSet::with_ttl(record.clone(), rtype, ttl);
    new.add_rdata(rdata(to));
    // Prerequisite: the RRset is exactly {from}; update: delete from, add to (RFC 2136 §2.4.2,
    // §2.5.4, §2.5.1), in one message the server applies atomically or not at all.
    let mut message = update_message::compare_and_swap(old, new, zone, false);
    let mut check = key::sign(&mut message, &key, unix_now()).map_err(|reason| DnsError::Key {
        file: settings.tsig_key_file.clone(),
        line: 0,
        reason,
    })?;
    let bytes = message
        .to_vec()
        .map_err(|e| DnsError::Request(format!("cannot encode the update: {e}")))?;
    tracing::info!(%server, record = %settings.record, %from, %to, ttl, key = %key.name,
        "DNS switch: sending the update");
    let raw = exchange(server, &bytes, message.metadata.id).await?;
    let answer = decode(server, &raw)?;
    let rcode = answer.metadata.response_code;
    if rcode == ResponseCode::NoError {
        // A success is believed only when signed by the server with the same key.
        check.verify(&raw).map_err(|why| DnsError::Answer {
            server,
            reason: format!(
                "accepted the update, but its answer is not validly signed with key {} ({why}): \
                 check the record's addresses before going on",
                key.name
            ),
        })?;
        tracing::info!(%server, record = %settings.record, %to, "DNS switch: done");
        return Ok(SwitchOutcome::Switched {
            server,
            record: settings.record.clone(),
            from,
            to,
            ttl,
        });
    }
    let tsig_error = answer
        .signature()
        .and_then(|s| s.data.error)
        .map(|e| tsig_error_name(&e));
    let refusal = Refusal {
        server,
        rcode: u16::from(rcode),
        code: code_name(rcode),
        meaning: meaning(
            rcode,
            tsig_error.as_deref(),
            settings,
            &key.name,
            from,
            &before,
        ),
        tsig_error,
    };
    tracing::warn!(%server, record = %settings.record, code = refusal.code,
        "DNS switch refused: {}", refusal.meaning);
    Ok(SwitchOutcome::Refused(refusal))
}

/// Whether the first server holds exactly `to` at the record: the switch's postcondition, for
/// a resume after a crash.
pub async fn is_switched(settings: &DnsSettings, to: IpAddr) -> Result<bool, DnsError> {
    let Some(&server) = settings.servers.first() else {
        return Err(DnsError::Request(
            "no DNS server configured in [dns] servers".into(),
        ));
    };
    let rtype = if to.is_ipv4() {
        RecordType::A
    } else {
        RecordType::AAAA
    };
    let (set, _) = query(server, &fqdn(&settings.record)?, rtype).await?;
    Ok(set.is_exactly(to))
}

/// What a refusal means, in the operator's words.
fn meaning(
    rcode: ResponseCode,
    tsig: Option<&str>,
    settings: &DnsSettings,
    key: &str,
    from: IpAddr,
    before: &RrSet,
) -> String {
    let (record, zone) = (&settings.record, &settings.zone);
    match (rcode, tsig) {
        (ResponseCode::NXRRSet, _) => format!(
            "the record no longer holds exactly {from}: it was changed by someone or something \
             else; it held {} just before",
            before.words(kind_word(from))
        ),
        (ResponseCode::NotAuth, Some("BADKEY")) => {
            format!("TSIG key {key} rejected: the server does not know a key of this name")
        }
        (ResponseCode::NotAuth, Some("BADSIG")) => {
            format!("TSIG key {key} rejected: the secret differs from the server's")
        }
        (ResponseCode::NotAuth, Some("BADTIME")) => format!(
            "TSIG key {key} rejected: this machine's clock and the server's differ by more than \
             5 minutes"
        ),
        (ResponseCode::NotAuth, _) => {
            format!("TSIG key {key} rejected, or the server is not authoritative for {zone}")
        }
        (ResponseCode::Refused, _) => format!(
            "the server's policy refuses this update: its ACL must allow key {key} to update \
             {zone}"
        ),
        (ResponseCode::NotZone, _) => format!("the server says {record} is not in zone {zone}"),
        (ResponseCode::NXDomain, _) => format!("{record} does not exist"),
        (ResponseCode::NotImp, _) => "the server does not accept dynamic updates".to_string(),
        (ResponseCode::FormErr, _) => "the server could not read the update".to_string(),
        (ResponseCode::ServFail, _) => {
            "the server failed while applying the update (its log says why)".to_string()
        }
        (ResponseCode::YXDomain | ResponseCode::YXRRSet, _) => {
            "a prerequisite of the update does not hold".to_string()
        }
        (other, _) => format!("unexpected answer {}", u16::from(other)),
    }
}

#[cfg(test)]
#[path = "dns_tests.rs"]
mod tests;
