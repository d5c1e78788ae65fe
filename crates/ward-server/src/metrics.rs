//! Prometheus metrics (exposition format at `/metrics`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// Labels of a request metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// HTTP method.
    pub method: String,
    /// Route template (e.g. `/api/v1/tokens/{id}`), never the raw path.
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// Labels of an authentication failure.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthLabels {
    /// `missing`, `malformed`, `unknown`, `expired`, `revoked`, `rate_limited`.
    pub reason: String,
}

/// Labels of a DORA gauge: the environment, and the service (empty: every service).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DoraLabels {
    /// Environment.
    pub env: String,
    /// Service; empty for the whole environment.
    pub service: String,
}

/// A family of DORA gauges.
pub type DoraFamily = Family<DoraLabels, Gauge<f64, AtomicU64>>;

/// One row of DORA gauges: its labels and the five values (none: no sample, not exported).
pub struct DoraRow {
    /// Labels.
    pub labels: DoraLabels,
    /// Deployment frequency (per day), lead time (s), fail rate, recovery time (s), rework rate.
    pub values: [Option<f64>; 5],
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// Names (after the `ward_` prefix) and help of the five DORA gauges, in [`Metrics::dora`]'s
/// order.
pub const DORA_GAUGES: [(&str, &str); 5] = [
    (
        "dora_deployment_frequency_per_day",
        "DORA deployment frequency: successful production deployments per day over the trailing window",
    ),
    (
        "dora_change_lead_time_seconds",
        "DORA change lead time: median seconds from first commit to first production deployment",
    ),
    (
        "dora_change_fail_rate",
        "DORA change fail rate: failed deployments over deployments that reached production (0-1)",
    ),
    (
        "dora_failed_deployment_recovery_time_seconds",
        "DORA failed deployment recovery time: median seconds from failure to restoration",
    ),
    (
        "dora_deployment_rework_rate",
        "DORA deployment rework rate: unplanned deployments over successful deployments (0-1)",
    ),
];

/// Every metric the server exports.
pub struct Metrics {
    registry: Registry,
    /// Requests by route and status.
    pub requests: Family<RouteLabels, Counter>,
    /// Request latency by route and status.
    pub latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// Entries in the log.
    pub ledger_size: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Append latency (event accepted to durable).
    pub append_latency: Histogram,
    /// Authentication failures by reason.
    pub auth_failures: Family<AuthLabels, Counter<u64, AtomicU64>>,
    /// 1 when stored state (projections, blobs) matched the log at the last check, else 0.
    /// Starts at 0: nothing has been checked yet.
    pub state_consistent: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Unix time of the last state check (0: never).
    pub state_checked_at: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// How long the last state check took.
    pub state_check_seconds: Gauge<f64, AtomicU64>,
    /// DORA's five metrics over the trailing window, per production environment and service:
    /// frequency, lead time, fail rate, recovery time, rework rate.
    pub dora: [DoraFamily; 5],
    /// When the DORA gauges were last computed (a scrape recomputes them when older than a
    /// minute; one scrape at a time does).
    pub dora_refreshed: tokio::sync::Mutex<Option<std::time::Instant>>,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("ward");
        let requests = Family::<RouteLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let ledger_size = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        let append_latency = latency_histogram();
        let auth_failures = Family::<AuthLabels, Counter<u64, AtomicU64>>::default();
        registry.register("http_requests", "HTTP requests by route and status", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route and status",
            latency.clone(),
        );
        registry.register("ledger_size", "Entries in the log", ledger_size.clone());
        registry.register(
            "append_duration_seconds",
            "Time from an append request to its durable commit",
            append_latency.clone(),
        );
        registry.register(
            "auth_failures",
            "Authentication failures by reason",
            auth_failures.clone(),
        );
        let state_consistent = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        let state_checked_at = Gauge::<i64, std::sync::atomic::AtomicI64>::default();
        let state_check_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "state_consistent",
            "1 when stored state (projections, evidence and payload blobs) matched the log at the last check",
            state_consistent.clone(),
        );
        registry.register(
            "state_checked_timestamp_seconds",
            "Unix time of the last check of stored state against the log (0: never)",
            state_checked_at.clone(),
        );
        registry.register(
            "state_check_duration_seconds",
            "Duration of the last check of stored state against the log",
            state_check_seconds.clone(),
        );
        let dora: [DoraFamily; 5] = Default::default();
        for (family, (name, help)) in dora.iter().zip(DORA_GAUGES) {
            registry.register(name, help, family.clone());
        }
        Metrics {
            dora,
            dora_refreshed: tokio::sync::Mutex::new(None),
            registry,
            requests,
            latency,
            ledger_size,
            append_latency,
            auth_failures,
            state_consistent,
            state_checked_at,
            state_check_seconds,
        }
    }

    /// Records the outcome of a state check finished at `at` (Unix seconds).
    pub fn state_checked(&self, consistent: bool, at: i64, seconds: f64) {
        self.state_consistent.set(i64::from(consistent));
        self.state_checked_at.set(at);
        self.state_check_seconds.set(seconds);
    }

    /// Replaces every DORA gauge with `rows` (a figure without a sample is left out).
    pub fn set_dora(&self, rows: &[DoraRow]) {
        for family in &self.dora {
            family.clear();
        }
        for row in rows {
            for (family, v) in self.dora.iter().zip(row.values) {
                if let Some(v) = v {
                    family.get_or_create(&row.labels).set(v);
                }
            }
        }
    }

    /// Counts an authentication failure.
    pub fn auth_failure(&self, reason: &str) {
        self.auth_failures
            .get_or_create(&AuthLabels { reason: reason.into() })
            .inc();
    }

    /// The exposition text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}
