//! The demo's zone against the crate's own DNS client (`crate::drp::dns`): what a drill reads
//! and what an activation's switch sends, over TCP to the demo's server.

use super::*;
use crate::config::DnsSettings;
use crate::drp::dns::{SwitchOutcome, current, drill, switch};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const PROD: &str = "203.0.113.11";
const DRP: &str = "203.0.113.12";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn key_file(dir: &Path, file: &str, secret: &[u8]) -> std::path::PathBuf {
    let path = dir.join(file);
    std::fs::write(
        &path,
        format!(
            "key \"{KEY_NAME}\" {{\n\talgorithm hmac-sha256;\n\tsecret \"{}\";\n}};\n",
            data_encoding::BASE64.encode(secret)
        ),
    )
    .unwrap();
    path
}

struct Rig {
    zone: Arc<Zone>,
    server: SocketAddr,
    dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Rig {
    async fn start() -> Rig {
        let zone = Arc::new(Zone::new(PROD.parse().unwrap(), vec![42; 32]).unwrap());
        let (port, serving) = super::super::dns::start(zone.clone()).await.unwrap();
        Rig {
            zone,
            server: ([127, 0, 0, 1], port).into(),
            dir: tempfile::tempdir().unwrap(),
            task: tokio::spawn(serving),
        }
    }

    fn settings(&self, secret: &[u8]) -> DnsSettings {
        DnsSettings {
            servers: vec![self.server],
            zone: ZONE.into(),
            record: RECORD.into(),
            tsig_key_file: key_file(self.dir.path(), "tsig.key", secret),
            verify_timeout: Duration::from_secs(2),
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test]
async fn a_drill_reads_the_record_with_authority_and_the_key() {
    let rig = Rig::start().await;
    let report = drill(&rig.settings(&[42; 32]), ip(PROD)).await;
    let tz = jiff::tz::TimeZone::UTC;
    assert!(report.ok(), "{}", report.summary(&tz));
    assert!(
        report
            .summary(&tz)
            .contains("1 of 1 servers answer 203.0.113.11 (TTL 60 s)"),
        "{}",
        report.summary(&tz)
    );
    // Other names of the zone: NXDOMAIN with authority, not REFUSED.
    let other = current(&[rig.server], "shop.demo.test").await;
    let a = other[0].answer.as_ref().unwrap();
    assert!(a.authoritative && a.a.addresses.is_empty(), "{a:?}");
}

#[tokio::test]
async fn a_signed_switch_is_applied_once_and_answered_signed() {
    let rig = Rig::start().await;
    let settings = rig.settings(&[42; 32]);
    let out = switch(&settings, ip(PROD), ip(DRP)).await.unwrap();
    assert!(
        matches!(out, SwitchOutcome::Switched { ttl: 60, .. }),
        "{out:?}"
    );
    assert_eq!(rig.zone.addresses(), vec![DRP.parse::<Ipv4Addr>().unwrap()]);
    let seen = current(&[rig.server], RECORD).await;
    assert!(seen[0].holds_exactly(ip(DRP)), "{seen:?}");
    // A retry sends nothing.
    let again = switch(&settings, ip(PROD), ip(DRP)).await.unwrap();
    assert!(
        matches!(again, SwitchOutcome::AlreadyDone { .. }),
        "{again:?}"
    );
    // And back, as `return` does.
    let back = switch(&settings, ip(DRP), ip(PROD)).await.unwrap();
    assert!(matches!(back, SwitchOutcome::Switched { .. }), "{back:?}");
    assert_eq!(
        rig.zone.addresses(),
        vec![PROD.parse::<Ipv4Addr>().unwrap()]
    );
}

#[tokio::test]
async fn a_record_changed_by_someone_else_is_not_switched() {
    let rig = Rig::start().await;
    let settings = rig.settings(&[42; 32]);
    // Someone pointed www elsewhere: the prerequisite (it holds exactly PROD) fails.
    switch(&settings, ip(PROD), ip("198.51.100.7"))
        .await
        .unwrap();
    let out = switch(&settings, ip(PROD), ip(DRP)).await.unwrap();
    let SwitchOutcome::Refused(r) = out else {
        panic!("{out:?}")
    };
    assert_eq!(r.code, "NXRRSET", "{r:?}");
    assert_eq!(
        rig.zone.addresses(),
        vec!["198.51.100.7".parse::<Ipv4Addr>().unwrap()]
    );
}

#[tokio::test]
async fn a_wrong_key_changes_nothing() {
    let rig = Rig::start().await;
    let out = switch(&rig.settings(&[1; 32]), ip(PROD), ip(DRP))
        .await
        .unwrap();
    let SwitchOutcome::Refused(r) = out else {
        panic!("{out:?}")
    };
    assert_eq!(r.code, "NOTAUTH", "{r:?}");
    assert_eq!(r.tsig_error.as_deref(), Some("BADSIG"), "{r:?}");
    assert_eq!(
        rig.zone.addresses(),
        vec![PROD.parse::<Ipv4Addr>().unwrap()]
    );
}

#[test]
fn unsigned_updates_are_refused() {
    use hickory_proto::op::update_message;
    use hickory_proto::rr::RecordSet;
    let zone = Zone::new(PROD.parse().unwrap(), vec![42; 32]).unwrap();
    let www = name(RECORD).unwrap();
    let mut old = RecordSet::with_ttl(www.clone(), RecordType::A, 0);
    old.add_rdata(RData::A(A(PROD.parse().unwrap())));
    let mut new = RecordSet::with_ttl(www, RecordType::A, 60);
    new.add_rdata(RData::A(A(DRP.parse().unwrap())));
    let msg = update_message::compare_and_swap(old, new, name(ZONE).unwrap(), false);
    let raw = msg.to_vec().unwrap();
    let answer = super::super::dns::answer(&raw, &zone).unwrap();
    let reply = Message::from_vec(&answer).unwrap();
    assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
    assert_eq!(zone.addresses(), vec![PROD.parse::<Ipv4Addr>().unwrap()]);
}
