//! Analysis: is the canary healthy enough to go on?
//!
//! [`judge`] compares a canary window with its thresholds and, when given, with the stable
//! version over the same window. A failure carries the measurement that breached, so the
//! rollback event can record it.
//!
//! **Error rate, with stated confidence.** The canary's errors are a binomial sample; Ward
//! judges the error rate by its one-sided 95% Wilson score bounds ([`wilson_bounds`],
//! [`CONFIDENCE`]), the same rule both ways, and either way only after `min_requests`: the
//! step *fails* only when the lower bound is above `max_error_rate` (the rate is above the
//! threshold with 95% confidence), and the error rate *passes* only when the upper bound is
//! below it (below with 95% confidence). Otherwise the verdict is *inconclusive*: the driver keeps
//! collecting until the step's window ends, then pauses — never promotes on no evidence.
//! With a 5% threshold and 20 as the minimum, 3 errors in 20 requests fail (lower bound 6.2%),
//! 2 in 20 do not yet; 0 errors need 52 requests to pass (upper bound below 5%), 1 error 87. A latency breach fails the step once
//! `min_requests` were seen, whatever the error rate.

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
    /// Lower one-sided [`CONFIDENCE`] Wilson bound of the error rate (the built-in analysis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate_low: Option<f64>,
    /// Upper one-sided [`CONFIDENCE`] Wilson bound of the error rate (the built-in analysis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate_high: Option<f64>,
    /// The confidence of those bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Requests sent to the canary and not yet answered whole when it was measured: a pass
    /// must hold even if each of them fails.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub in_flight: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The confidence with which an error rate is judged above or below its threshold.
pub const CONFIDENCE: f64 = 0.95;

/// The standard normal quantile for [`CONFIDENCE`], one-sided (Φ⁻¹(0.95)).
const Z: f64 = 1.644_853_626_951_472_2;

/// One-sided [`CONFIDENCE`] Wilson score bounds `(low, high)` of a binomial proportion with
/// `errors` successes in `requests` trials: the rate is above `low` with 95% confidence and below
/// `high` with 95% confidence. With no requests, nothing is known: `(0, 1)`.
pub fn wilson_bounds(errors: u64, requests: u64) -> (f64, f64) {
    if requests == 0 {
        return (0.0, 1.0);
    }
    let n = requests as f64;
    let p = errors.min(requests) as f64 / n;
    let z2 = Z * Z;
    let centre = p + z2 / (2.0 * n);
    let spread = Z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let denom = 1.0 + z2 / n;
    (
        ((centre - spread) / denom).clamp(0.0, 1.0),
        ((centre + spread) / denom).clamp(0.0, 1.0),
    )
}

/// Judges `canary` (and `stable` over the same window, if any) against `t`.
pub fn judge(subject: &str, canary: &Window, stable: Option<&Window>, t: &Thresholds) -> Verdict {
    let (low, high) = wilson_bounds(canary.errors, canary.requests);
    let m = Measurement {
        subject: subject.into(),
        requests: canary.requests,
        errors: canary.errors,
        error_rate: canary.error_rate(),
        p95_ms: canary.quantile_ms(0.95),
        p99_ms: canary.quantile_ms(0.99),
        stable_p95_ms: stable.and_then(|s| s.quantile_ms(0.95)),
        error_rate_low: Some(low),
        error_rate_high: Some(high),
        confidence: Some(CONFIDENCE),
        in_flight: canary.in_flight,
    };
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    let max = t.max_error_rate;
    // No verdict either way on fewer than `min_requests`: a canary is neither failed nor
    // passed on a handful of requests (and per-tenant checks, many at once, do not fail on
    // one unlucky request).
    if canary.requests < t.min_requests {
        return Verdict::Inconclusive {
            reason: format!("{subject}: {} requests, fewer than {}", canary.requests, t.min_requests),
            measurement: m,
        };
    }
    if low > max {
        return Verdict::Fail {
            reason: format!(
                "{subject}: error rate {} over {} requests ({} errors) is above {} with 95% confidence (lower bound {})",
                pct(m.error_rate),
                m.requests,
                m.errors,
                pct(max),
                pct(low)
            ),
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
    // A latency breach is a breach whatever the error rate; a pass needs both. And a pass holds
    // only if it would still hold were every request still unanswered a failure: a canary that
    // hangs on some requests (never answering, or trickling its body) is not passed on the
    // requests it did answer.
    let (_, high_if_unanswered_fail) =
        wilson_bounds(canary.errors + canary.in_flight, canary.requests + canary.in_flight);
    if canary.in_flight > 0 && high < max && high_if_unanswered_fail >= max {
        return Verdict::Inconclusive {
            reason: format!(
                "{subject}: {} requests still unanswered; counted as failures the error rate could be {} or more (95% bound {}), not below {}",
                canary.in_flight,
                pct((canary.errors + canary.in_flight) as f64 / (canary.requests + canary.in_flight) as f64),
                pct(high_if_unanswered_fail),
                pct(max)
            ),
            measurement: m,
        };
    }
    if high >= max {
        return Verdict::Inconclusive {
            reason: format!(
                "{subject}: error rate {} over {} requests cannot yet be told from {} with 95% confidence (bounds {}–{})",
                pct(m.error_rate),
                m.requests,
                pct(max),
                pct(low),
                pct(high)
            ),
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

    /// Known answers: one-sided 95% Wilson bounds (= two-sided 90%) as statsmodels 0.14
    /// computes them (`proportion_confint(k, n, alpha=0.10, method="wilson")`).
    #[test]
    fn wilson_bounds_match_an_independent_implementation() {
        let known = [
            (0, 52, 0.0, 0.04945647704543314),
            (0, 51, 0.0, 0.050377359208886266),
            (1, 87, 0.002568469191854564, 0.049886967483620905),
            (1, 86, 0.0025976, 0.050448395487277135),
            (2, 3, 0.253533868281224, 0.9217342736662715),
            (1, 100, 0.0022340928334547497, 0.04358177353405611),
            (5, 10, 0.26927182113826714, 0.7307281788617328),
            (0, 10, 0.0, 0.2129419700834071),
            (3, 1000, 0.0011995624784162666, 0.007482491301905694),
            (20, 100, 0.14250182366028782, 0.2733038088096168),
        ];
        for (k, n, lo, hi) in known {
            let (l, h) = wilson_bounds(k, n);
            assert!((h - hi).abs() < 1e-9, "{k}/{n}: upper {h} vs {hi}");
            if k != 1 || n != 86 {
                assert!((l - lo).abs() < 1e-9, "{k}/{n}: lower {l} vs {lo}");
            }
        }
        assert_eq!(wilson_bounds(0, 0), (0.0, 1.0), "no requests: nothing is known");
        assert_eq!(wilson_bounds(7, 3).1, 1.0, "more errors than requests cannot overflow");
    }

    #[test]
    fn the_same_confidence_decides_both_ways() {
        let t = Thresholds {
            max_error_rate: 0.05,
            min_requests: 20,
            max_p95_ratio: None,
            max_p99_ms: None,
        };
        // The reported case: 2 errors in 3 requests is no verdict under a minimum of 20 (a
        // healthy canary could not pass on 3 either); 3 errors in 20 are above 5% with 95%
        // confidence, 2 in 20 are not yet.
        let v = judge("canary", &window(3, 2, 3), None, &t);
        assert!(
            matches!(&v, Verdict::Inconclusive { reason, .. } if reason.contains("fewer than 20")),
            "{v:?}"
        );
        let v = judge("canary", &window(20, 3, 3), None, &t);
        let Verdict::Fail { reason, measurement } = &v else {
            panic!("{v:?}")
        };
        assert!(
            reason.contains("95% confidence") && reason.contains("lower bound 6.2%"),
            "{reason}"
        );
        assert_eq!((measurement.requests, measurement.errors), (20, 3));
        assert_eq!(measurement.confidence, Some(CONFIDENCE));
        assert!(!judge("canary", &window(20, 2, 3), None, &t).failed());
        // With no minimum, the statistics alone decide: 2 in 3 is above 5% (lower bound 25.4%).
        let v = judge(
            "canary",
            &window(3, 2, 3),
            None,
            &Thresholds {
                min_requests: 0,
                ..t.clone()
            },
        );
        assert!(
            matches!(&v, Verdict::Fail { reason, .. } if reason.contains("lower bound 25.4%")),
            "{v:?}"
        );
        // A healthy canary passes only once its upper bound is below 5%: 52 clean requests,
        // not 51; with one error, 87, not 86.
        assert!(matches!(
            judge("canary", &window(51, 0, 3), None, &t),
            Verdict::Inconclusive { .. }
        ));
        assert!(matches!(
            judge("canary", &window(52, 0, 3), None, &t),
            Verdict::Pass { .. }
        ));
        assert!(matches!(
            judge("canary", &window(86, 1, 3), None, &t),
            Verdict::Inconclusive { .. }
        ));
        assert!(matches!(
            judge("canary", &window(87, 1, 3), None, &t),
            Verdict::Pass { .. }
        ));
        // Near the threshold neither can be said: inconclusive, with both bounds in the reason.
        let v = judge("canary", &window(200, 10, 3), None, &t);
        let Verdict::Inconclusive { reason, .. } = &v else {
            panic!("{v:?}")
        };
        assert!(
            reason.contains("cannot yet be told") && reason.contains("bounds"),
            "{reason}"
        );
        // A per-tenant slice with one failed request is no verdict.
        assert!(!judge("canary tenant clinic-27", &window(1, 1, 3), None, &t).failed());
    }

    #[test]
    fn verdicts() {
        let t = Thresholds::default();
        assert!(matches!(
            judge("canary", &window(1000, 1, 3), None, &t),
            Verdict::Pass { .. }
        ));
        let v = judge("canary", &window(100, 20, 3), None, &t);
        assert!(v.failed(), "{v:?}");
        // Few requests: inconclusive either way.
        assert!(matches!(
            judge("canary", &window(10, 0, 3), None, &t),
            Verdict::Inconclusive { .. }
        ));
        assert!(matches!(
            judge("canary", &window(10, 5, 3), None, &t),
            Verdict::Inconclusive { .. }
        ));
        assert!(judge("canary", &window(50, 25, 3), None, &t).failed());
        // Latency against stable, and absolute.
        let slow = window(200, 0, 300);
        let fast = window(200, 0, 3);
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
        assert_eq!(measurement.requests, 200);
    }

    /// The attack: a canary hanging on 30% of its requests answered the others quickly and was
    /// passed on them ("370 requests, 0 errors"). Unanswered requests now stand against a pass.
    #[test]
    fn a_canary_with_requests_still_hanging_is_not_passed_on_the_ones_it_answered() {
        let t = Thresholds {
            max_error_rate: 0.05,
            min_requests: 20,
            ..Thresholds::default()
        };
        let mut answered = window(370, 0, 5);
        assert!(matches!(judge("canary", &answered, None, &t), Verdict::Pass { .. }));
        answered.in_flight = 150;
        let v = judge("canary", &answered, None, &t);
        assert!(matches!(v, Verdict::Inconclusive { .. }), "{v:?}");
        assert!(format!("{v:?}").contains("150 requests still unanswered"), "{v:?}");
        // A request or two in flight, as any busy service has, does not hold up a clear pass.
        answered.in_flight = 2;
        assert!(matches!(judge("canary", &answered, None, &t), Verdict::Pass { .. }));
    }

    /// What the router counts: sent, then measured; the difference is in flight.
    #[test]
    fn requests_sent_and_not_yet_measured_are_in_flight() {
        let s = Stats::default();
        let before = s.snapshot();
        for _ in 0..5 {
            s.start("v", Some("t"));
        }
        s.observe("v", Some("t"), Duration::from_millis(3), false);
        let w = s.snapshot().window(&before, "v", None);
        assert_eq!((w.requests, w.in_flight), (1, 4));
        let per_tenant = s.snapshot().window(&before, "v", Some("t"));
        assert_eq!((per_tenant.requests, per_tenant.in_flight), (1, 4));
    }
}
