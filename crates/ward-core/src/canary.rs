//! Canary analysis, pure: the thresholds a canary must stay within, the verdict over a window
//! of router counts, the Prometheus check's declaration, and the router's tenant bucketing —
//! the rules the local runtime (`ward-runtime`) measures for and the rollout engine applies.
//! No I/O: the runtime counts, the engine asks, this judges.
//!
//! **Is the canary healthy enough to go on?**
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

/// Upper bounds of the latency buckets, in milliseconds (the last bucket is unbounded).
pub const BUCKETS_MS: [f64; 14] = [
    1.0, 2.5, 5.0, 10.0, 25.0, 50.0, 100.0, 200.0, 300.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0,
];
/// Counts of one version (or one version and tenant) over some time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Requests.
    pub requests: u64,
    /// Errors: 5xx answers and requests the instance did not answer.
    pub errors: u64,
    /// Requests per latency bucket ([`BUCKETS_MS`], then the unbounded one).
    pub buckets: Vec<u64>,
    /// Total latency in microseconds.
    pub sum_micros: u64,
    /// Requests sent and not yet answered whole when the later snapshot was taken (a gauge, not
    /// a count over the window): a hung instance's requests pile up here until they time out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub in_flight: u64,
}

impl Window {
    /// `self - earlier` (a window between two snapshots).
    pub fn since(&self, earlier: &Window) -> Window {
        Window {
            requests: self.requests.saturating_sub(earlier.requests),
            errors: self.errors.saturating_sub(earlier.errors),
            buckets: self
                .buckets
                .iter()
                .enumerate()
                .map(|(i, b)| b.saturating_sub(earlier.buckets.get(i).copied().unwrap_or(0)))
                .collect(),
            sum_micros: self.sum_micros.saturating_sub(earlier.sum_micros),
            in_flight: self.in_flight,
        }
    }

    /// Errors per request (0 without requests).
    pub fn error_rate(&self) -> f64 {
        if self.requests == 0 {
            0.0
        } else {
            self.errors as f64 / self.requests as f64
        }
    }

    /// The latency quantile `q` (0–1) in milliseconds: the upper bound of the bucket holding it
    /// (`None` without requests; the last finite bound for the unbounded bucket).
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.requests == 0 {
            return None;
        }
        let want = (q * self.requests as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= want {
                return Some(*BUCKETS_MS.get(i).unwrap_or(&BUCKETS_MS[BUCKETS_MS.len() - 1]));
            }
        }
        BUCKETS_MS.last().copied()
    }
}

/// A Prometheus check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromCheck {
    /// Name for reasons and records.
    pub name: String,
    /// Base URL of the Prometheus server (`http://127.0.0.1:9090`).
    pub url: String,
    /// PromQL; `{{version}}` and `{{tenant}}` are replaced.
    pub query: String,
    /// Fail above this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Fail below this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
}

/// The query with `{{version}}` and `{{tenant}}` filled in (quotes and backslashes escaped, so
/// values cannot break out of a label matcher).
pub fn render(template: &str, version: &str, tenant: &str) -> String {
    let esc = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"");
    template
        .replace("{{version}}", &esc(version))
        .replace("{{tenant}}", &esc(tenant))
}

/// Default upstream timeout: the longest an instance may take to send its response headers,
/// and the longest its body may stay idle afterwards.
pub const UPSTREAM_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Default tenant header.
pub const TENANT_HEADER: &str = "x-tenant-id";

/// FNV-1a: a tenant's stable bucket (0–99): at a canary share of `p`%, the tenants whose bucket
/// is below `p` are sent to the canary.
pub fn bucket_of(tenant: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in tenant.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % 100
}
