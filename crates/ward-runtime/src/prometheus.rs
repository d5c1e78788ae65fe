//! Analysis through Prometheus: an instant query (HTTP API `GET /api/v1/query`) whose PromQL is
//! templated by version and tenant, compared with limits.
//!
//! An empty result or `NaN` (e.g. a ratio with no requests yet) is *inconclusive*, never a pass.

use crate::analysis::{Measurement, Verdict};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::time::Duration;
pub use ward_core::canary::{PromCheck, render};

/// Largest answer read from Prometheus.
const MAX_ANSWER: usize = 1024 * 1024;

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The first sample of an instant query's answer (`None` for an empty vector or `NaN`).
pub fn parse_answer(body: &[u8]) -> Result<Option<f64>, String> {
    Ok(parse_sample(body)?.filter(|x| !x.is_nan()))
}

/// The error types Prometheus's HTTP API names (a fixed set: repeating one writes nothing the
/// server chose).
const PROMETHEUS_ERROR_TYPES: [&str; 7] = [
    "timeout",
    "canceled",
    "execution",
    "bad_data",
    "internal",
    "unavailable",
    "not_found",
];

/// The first sample of an instant query's answer as Prometheus gave it: `None` for an empty
/// vector, `NaN` kept (a ratio over a window without requests). An error never repeats what the
/// server wrote (its error text, a result type, a sample): the reason is recorded in the log,
/// and whoever answers on the configured URL — a proxy, a server whose error repeats a label
/// value — would write into it (a helper's attack on the thirteenth session's head).
pub fn parse_sample(body: &[u8]) -> Result<Option<f64>, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not a Prometheus answer: {e}"))?;
    if v.get("status").and_then(Value::as_str) != Some("success") {
        return Err(format!(
            "Prometheus refused the query ({}; its message is not recorded: run the query in Prometheus to read it)",
            v.get("errorType")
                .and_then(Value::as_str)
                .filter(|t| PROMETHEUS_ERROR_TYPES.contains(t))
                .unwrap_or("an error")
        ));
    }
    let data = v.get("data").ok_or("no data in the answer")?;
    let sample = match data.get("resultType").and_then(Value::as_str) {
        Some("vector") => {
            let result = data.get("result").and_then(Value::as_array);
            // Several series: which one to judge is not the query's answer (aggregate it).
            if let Some(n) = result.map(Vec::len).filter(|n| *n > 1) {
                return Err(format!(
                    "the query returned {n} series, not one; aggregate it (e.g. sum(...))"
                ));
            }
            result.and_then(|r| r.first()).and_then(|s| s.get("value"))
        }
        Some("scalar") => data.get("result"),
        _ => {
            return Err(
                "an answer that is neither a vector nor a scalar; the query must return one number".to_string(),
            );
        }
    };
    let Some(sample) = sample else { return Ok(None) };
    let text = sample
        .get(1)
        .and_then(Value::as_str)
        .ok_or("a sample is [time, \"value\"]")?;
    let x: f64 = text
        .parse()
        .map_err(|_| "a sample that is not a number (not recorded)".to_string())?;
    Ok(Some(x))
}

/// Runs an instant query (`None`: an empty vector or `NaN`).
pub async fn query(base_url: &str, promql: &str) -> Result<Option<f64>, String> {
    Ok(query_sample(base_url, promql).await?.filter(|x| !x.is_nan()))
}

/// Runs an instant query; the first sample as Prometheus gave it (see [`parse_sample`]).
pub async fn query_sample(base_url: &str, promql: &str) -> Result<Option<f64>, String> {
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let uri: hyper::Uri = format!(
        "{}/api/v1/query?query={}",
        base_url.trim_end_matches('/'),
        percent_encode(promql)
    )
    .parse()
    // The URL is configuration that may hold credentials: never repeated.
    .map_err(|_| "the Prometheus URL is not a valid URL (check the configuration)".to_string())?;
    let ask = async {
        let resp = client
            .get(uri)
            .await
            .map_err(|e| format!("cannot reach Prometheus: {e}"))?;
        Limited::new(resp.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))
            .map(|b| b.to_bytes())
    };
    // One deadline for the answer and its body: a server that trickles cannot hold a gate.
    let body = tokio::time::timeout(Duration::from_secs(5), ask)
        .await
        .map_err(|_| "Prometheus did not answer within 5 s".to_string())??;
    parse_sample(&body)
}

/// Evaluates a check for `version` (and `tenant`, `_all` for the version as a whole).
pub async fn check(c: &PromCheck, version: &str, tenant: &str) -> Verdict {
    let promql = render(&c.query, version, tenant);
    let name = if tenant == "_all" {
        c.name.clone()
    } else {
        format!("{} (tenant {tenant})", c.name)
    };
    let m = |_: Option<f64>| Measurement {
        subject: format!("prometheus {name}"),
        ..Measurement::default()
    };
    match query(&c.url, &promql).await {
        Err(e) => Verdict::Inconclusive {
            reason: format!("{name}: {e}"),
            measurement: m(None),
        },
        Ok(None) => Verdict::Inconclusive {
            reason: format!("{name}: no data for {promql}"),
            measurement: m(None),
        },
        Ok(Some(x)) => {
            let mut measurement = m(Some(x));
            measurement.error_rate = x;
            let breach = c.max.is_some_and(|max| x > max) || c.min.is_some_and(|min| x < min);
            if breach {
                Verdict::Fail {
                    reason: format!(
                        "{name}: {x} outside [{}, {}]",
                        c.min.map_or("-∞".into(), |v| v.to_string()),
                        c.max.map_or("+∞".into(), |v| v.to_string())
                    ),
                    measurement,
                }
            } else {
                Verdict::Pass { measurement }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whoever answers on the configured URL writes nothing into a reason: the reason is
    /// recorded in a gate decision's or a rollout's leaf.
    #[test]
    fn an_answer_never_repeats_what_the_server_wrote() {
        let planted = "jane.doe%40gmail.com two one nine four five one one zero zero";
        for body in [
            format!(r#"{{"status":"error","errorType":"bad_data","error":"{planted}"}}"#),
            format!(r#"{{"status":"error","errorType":"{planted}","error":"x"}}"#),
            format!(
                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1,"{planted}"]}}]}}}}"#
            ),
            format!(r#"{{"status":"success","data":{{"resultType":"{planted}","result":[]}}}}"#),
        ] {
            let e = parse_sample(body.as_bytes()).unwrap_err();
            assert!(!e.contains("jane") && !e.contains("nine"), "{e}");
        }
        let e = parse_sample(br#"{"status":"error","errorType":"timeout","error":"query timed out"}"#).unwrap_err();
        assert!(e.contains("timeout"), "{e}");
    }

    #[test]
    fn answers_and_templates() {
        let v = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.1,"0.25"]}]}}"#;
        assert_eq!(parse_answer(v).unwrap(), Some(0.25));
        let empty = br#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
        assert_eq!(parse_answer(empty).unwrap(), None);
        let nan = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}"#;
        assert_eq!(parse_answer(nan).unwrap(), None);
        let scalar = br#"{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}"#;
        assert_eq!(parse_answer(scalar).unwrap(), Some(3.0));
        let bad = br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        let refused = parse_answer(bad).unwrap_err();
        assert!(
            refused.contains("bad_data") && !refused.contains("parse error"),
            "{refused}"
        );
        assert!(parse_answer(b"<html>").is_err());
        let two = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"i":"a"},"value":[1,"0.9"]},{"metric":{"i":"b"},"value":[1,"0"]}]}}"#;
        assert!(parse_answer(two).unwrap_err().contains("2 series"));
        assert_eq!(
            render(r#"x{version="{{version}}",tenant="{{tenant}}"}"#, "sha256:ab", "a\"b"),
            r#"x{version="sha256:ab",tenant="a\"b"}"#
        );
        assert_eq!(percent_encode("a b{\"}"), "a%20b%7B%22%7D");
    }
}
