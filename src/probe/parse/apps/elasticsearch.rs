//! Elasticsearch's `GET /_cluster/health` body: the cluster's health, or the error Elasticsearch
//! answered instead (security enabled, no elected master).

use super::super::{ParseError, clean};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EsStatus {
    /// Every shard allocated.
    Green,
    /// Every primary allocated, some replica not.
    Yellow,
    /// Some primary not allocated: part of the data is unavailable.
    Red,
    Other(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ClusterHealth {
    pub cluster: Option<String>,
    pub status: EsStatus,
    pub nodes: Option<u64>,
    pub unassigned: Option<u64>,
    /// A `wait_for_*` parameter timed out (never asked by the probe).
    pub timed_out: bool,
    pub active_shards_percent: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EsReply {
    Health(ClusterHealth),
    /// `{"error": {"type": …, "reason": …}, "status": 503}`.
    Error {
        kind: String,
        reason: Option<String>,
        status: Option<u64>,
    },
}

/// The first JSON object of `text`: wget may glue its own messages right after the body.
fn first_object(text: &str) -> Option<Value> {
    let start = text.find('{')?;
    let mut stream = serde_json::Deserializer::from_str(text.get(start..)?).into_iter::<Value>();
    stream.next()?.ok().filter(Value::is_object)
}

/// Reads the body of `_cluster/health` (pretty or not).
pub fn parse(body: &str) -> Result<EsReply, ParseError> {
    let v = first_object(body)
        .ok_or_else(|| ParseError::new("elasticsearch: no JSON object in the answer"))?;
    let text = |v: &Value| v.as_str().map(|s| clean(s, 80));
    if let Some(e) = v.get("error") {
        // Elasticsearch 1.x answered `"error": "<text>"`; later versions an object.
        let (kind, reason) = match e {
            Value::String(s) => (clean(s, 80), None),
            _ => (
                e.get("type")
                    .and_then(text)
                    .unwrap_or_else(|| "error".into()),
                e.get("reason").and_then(text),
            ),
        };
        return Ok(EsReply::Error {
            kind,
            reason,
            status: v.get("status").and_then(Value::as_u64),
        });
    }
    let status = match v.get("status").and_then(Value::as_str) {
        Some("green") => EsStatus::Green,
        Some("yellow") => EsStatus::Yellow,
        Some("red") => EsStatus::Red,
        Some(other) => EsStatus::Other(clean(other, 20)),
        None => return Err(ParseError::new("elasticsearch: no cluster status")),
    };
    Ok(EsReply::Health(ClusterHealth {
        cluster: v.get("cluster_name").and_then(text),
        status,
        nodes: v.get("number_of_nodes").and_then(Value::as_u64),
        unassigned: v.get("unassigned_shards").and_then(Value::as_u64),
        timed_out: v.get("timed_out").and_then(Value::as_bool).unwrap_or(false),
        active_shards_percent: v
            .get("active_shards_percent_as_number")
            .and_then(Value::as_f64)
            .filter(|p| p.is_finite()),
    }))
}

#[cfg(test)]
mod tests {
    use super::super::http::answer;
    use super::*;

    fn reply(s: &super::super::SvcSection) -> (Option<u16>, Result<EsReply, ParseError>) {
        let a = answer(s.probes_of("http").last().expect("an http probe"));
        (a.code, parse(&a.body.join("\n")))
    }

    fn health(s: &super::super::SvcSection) -> ClusterHealth {
        match reply(s) {
            (Some(200), Ok(EsReply::Health(h))) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn green_yellow_red_through_every_client() {
        for (green, yellow, red) in [
            (
                svc_fixture!("es_green_curl.txt"),
                svc_fixture!("es_yellow_curl.txt"),
                svc_fixture!("es_red_curl.txt"),
            ),
            (
                svc_fixture!("es_green_wget.txt"),
                svc_fixture!("es_yellow_wget.txt"),
                svc_fixture!("es_red_wget.txt"),
            ),
            (
                svc_fixture!("es_green_bash.txt"),
                svc_fixture!("es_yellow_bash.txt"),
                svc_fixture!("es_red_bash.txt"),
            ),
        ] {
            let g = health(&green);
            assert_eq!(g.status, EsStatus::Green);
            assert_eq!(g.cluster.as_deref(), Some("testcluster"));
            assert_eq!((g.nodes, g.unassigned), (Some(2), Some(0)));
            let y = health(&yellow);
            assert_eq!(y.status, EsStatus::Yellow);
            assert_eq!(y.unassigned, Some(1));
            assert_eq!(y.active_shards_percent, Some(50.0));
            let r = health(&red);
            assert_eq!(r.status, EsStatus::Red);
            assert_eq!(r.unassigned, Some(1));
            // The documentation's placeholder node count ("x") is no number.
            assert_eq!(r.nodes, None);
        }
    }

    #[test]
    fn errors() {
        // wget prints no body on a 401 ("Username/Password Authentication Failed.").
        let (code, _) = reply(&svc_fixture!("es_unauthorized_wget.txt"));
        assert_eq!(code, Some(401));
        for f in [
            svc_fixture!("es_unauthorized_curl.txt"),
            svc_fixture!("es_unauthorized_bash.txt"),
            svc_fixture!("es_tls_only_curl.txt"),
        ] {
            let (code, r) = reply(&f);
            assert_eq!(code, Some(401));
            let Ok(EsReply::Error { kind, status, .. }) = r else {
                panic!("{r:?}");
            };
            assert_eq!((kind.as_str(), status), ("security_exception", Some(401)));
        }
        for f in [
            svc_fixture!("es_no_master_curl.txt"),
            svc_fixture!("es_no_master_wget.txt"),
            svc_fixture!("es_no_master_bash.txt"),
        ] {
            let (code, r) = reply(&f);
            assert_eq!(code, Some(503));
            assert_eq!(
                r,
                Ok(EsReply::Error {
                    kind: "master_not_discovered_exception".into(),
                    reason: None,
                    status: Some(503)
                })
            );
        }
        assert!(parse("").is_err());
        assert!(parse("<html>").is_err());
        assert!(parse("{\"name\":\"n\"}").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in proptest::prelude::any::<String>()) {
            let _ = parse(&s);
            let _ = parse(&format!("{{\"status\":{s}"));
        }
    }
}
