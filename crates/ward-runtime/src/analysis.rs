//! Analysis: is the canary healthy enough to go on?
//!
//! [`judge`] compares a canary window with its thresholds and, when given, with the stable
//! version over the same window. Too few requests is *inconclusive* — the rollout pauses rather
//! than promoting on no evidence. A failure carries the measurement that breached, so the
//! rollback event can record it.

use crate::stats::Window;
use serde::{Deserialize, Serialize};

/// Limits a canary must stay within.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Highest error rate (0–1).
    #[serde(default = "default_error_rate")]
    pub max_error_rate: f64,
    /// Highest p99 latency in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_p99_ms: Option<f64>,
    /// Highest p95 latency relative to stable's (e.g. 1.5 = 50% slower), when stable has data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_p95_ratio: Option<f64>,
    /// Fewest requests for a verdict.
    #[serde(default = "default_min_requests")]
    pub min_requests: u64,
}

fn default_error_rate() -> f64 {
    0.02
}

fn default_min_requests() -> u64 {
    50
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_error_rate: default_error_rate(),
            max_p99_ms: None,
            max_p95_ratio: Some(2.0),
            min_requests: default_min_requests(),
        }
    }
}

/// A verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "lowercase")]
pub enum Verdict {
    /// Within every threshold.
    Pass {
        /// What was measured.
        measurement: Measurement,
    },
    /// A threshold was breached.
    Fail {
        /// Which one, in words.
        reason: String,
        /// What was measured.
        measurement: Measurement,
    },
    /// Not enough data to say.
    Inconclusive {
        /// Why.
        reason: String,
        /// What was measured.
        measurement: Measurement,
    },
}

impl Verdict {
    /// Whether it is a failure.
    pub fn failed(&self) -> bool {
        matches!(self, Verdict::Fail { .. })
    }
}

/// The numbers a verdict rests on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// What was measured (e.g. `canary`, `canary tenant clinic-a`).
    pub subject: String,
    /// Requests in the window.
    pub requests: u64,
    /// Errors in the window.
    pub errors: u64,
    /// Error rate.
    pub error_rate: f64,
    /// p95 latency (ms, bucket bound).
    pub p95_ms: Option<f64>,
    /// p99 latency (ms, bucket bound).
    pub p99_ms: Option<f64>,
    /// Stable's p95 over the same window.
    pub stable_p95_ms: Option<f64>,
}

/// Judges `canary` (and `stable` over the same window, if any) against `t`.
pub fn judge(subject: &str, canary: &Window, stable: Option<&Window>, t: &Thresholds) -> Verdict {
    let m = Measurement {
        subject: subject.into(),
        requests: canary.requests,
        errors: canary.errors,
        error_rate: canary.error_rate(),
        p95_ms: canary.quantile_ms(0.95),
        p99_ms: canary.quantile_ms(0.99),
        stable_p95_ms: stable.and_then(|s| s.quantile_ms(0.95)),
    };
    // Errors are judged as soon as they are certain: enough failures to breach even if every
    // remaining request of the minimum succeeded.
    let certain_errors = canary.errors as f64 > t.max_error_rate * canary.requests.max(t.min_requests) as f64;
    if certain_errors {
        return Verdict::Fail {
            reason: format!(
                "{subject}: error rate {:.1}% over {} requests exceeds {:.1}%",
                m.error_rate * 100.0,
                m.requests,
                t.max_error_rate * 100.0
            ),
            measurement: m,
        };
    }
    if canary.requests < t.min_requests {
        return Verdict::Inconclusive {
            reason: format!("{subject}: {} requests, fewer than {}", canary.requests, t.min_requests),
            measurement: m,
        };
    }
    if let (Some(max), Some(p99)) = (t.max_p99_ms, m.p99_ms)
        && p99 > max
    {
        return Verdict::Fail {
            reason: format!("{subject}: p99 {p99} ms exceeds {max} ms"),
            measurement: m,
        };
    }
    if let (Some(ratio), Some(p95), Some(base)) = (t.max_p95_ratio, m.p95_ms, m.stable_p95_ms)
        && stable.is_some_and(|s| s.requests >= t.min_requests)
        && p95 > base * ratio
    {
        return Verdict::Fail {
            reason: format!("{subject}: p95 {p95} ms is more than {ratio}× stable's {base} ms"),
            measurement: m,
        };
    }
    Verdict::Pass { measurement: m }
}

/// One synthetic call: GET `path` on `addr` (with a tenant header when given); the status.
pub async fn http_status(
    addr: std::net::SocketAddr,
    path: &str,
    tenant: Option<(&str, &str)>,
    timeout: std::time::Duration,
) -> Result<u16, String> {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let client: Client<_, http_body_util::Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = hyper::Request::get(format!("http://{addr}{path}"));
    if let Some((h, t)) = tenant {
        req = req.header(h, t);
    }
    let req = req
        .body(http_body_util::Empty::new())
        .map_err(|e| format!("bad check {path}: {e}"))?;
    match tokio::time::timeout(timeout, client.request(req)).await {
        Ok(Ok(r)) => Ok(r.status().as_u16()),
        Ok(Err(e)) => Err(format!("GET {path}: {e}")),
        Err(_) => Err(format!("GET {path}: no answer within {timeout:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Stats;
    use std::time::Duration;

    fn window(n: u64, errors: u64, ms: u64) -> Window {
        let s = Stats::default();
        for i in 0..n {
            s.observe("v", None, Duration::from_millis(ms), i < errors);
        }
        s.snapshot().window(&Default::default(), "v", None)
    }

    #[test]
    fn verdicts() {
        let t = Thresholds::default();
        assert!(matches!(
            judge("canary", &window(100, 1, 3), None, &t),
            Verdict::Pass { .. }
        ));
        let v = judge("canary", &window(100, 20, 3), None, &t);
        assert!(v.failed(), "{v:?}");
        // Few requests: inconclusive, unless the errors already decide it.
        assert!(matches!(
            judge("canary", &window(10, 0, 3), None, &t),
            Verdict::Inconclusive { .. }
        ));
        assert!(judge("canary", &window(10, 5, 3), None, &t).failed());
        // Latency against stable, and absolute.
        let slow = window(100, 0, 300);
        let fast = window(100, 0, 3);
        assert!(judge("canary", &slow, Some(&fast), &t).failed());
        assert!(matches!(judge("canary", &slow, None, &t), Verdict::Pass { .. }));
        let strict = Thresholds {
            max_p99_ms: Some(100.0),
            ..t
        };
        let Verdict::Fail { reason, measurement } = judge("canary", &slow, None, &strict) else {
            panic!("p99 over the limit must fail");
        };
        assert!(reason.contains("p99 300 ms"), "{reason}");
        assert_eq!(measurement.requests, 100);
    }
}
