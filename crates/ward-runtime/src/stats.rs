//! Router measurements: per version, and per version and tenant, the number of requests, of
//! errors (5xx or no answer) and a latency histogram. Counters only grow; a [`Snapshot`] taken
//! now minus one taken earlier is the window an analysis judges.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
pub use ward_core::canary::{BUCKETS_MS, Window};

/// Distinct tenants tracked per version; further ones are counted as `_other`.
pub const MAX_TENANTS: usize = 1000;
/// The tenant label of requests without a tenant header.
pub const NO_TENANT: &str = "_none";

#[derive(Default)]
struct Counters {
    /// Requests sent to the instance (counted when sent; `requests` when measured at their end).
    started: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
    buckets: [AtomicU64; BUCKETS_MS.len() + 1],
    sum_micros: AtomicU64,
}

impl Counters {
    fn observe(&self, latency: Duration, error: bool) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if error {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let ms = latency.as_secs_f64() * 1000.0;
        let i = BUCKETS_MS.iter().position(|b| ms <= *b).unwrap_or(BUCKETS_MS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    fn read(&self) -> Window {
        // `requests` first: a request measured between the two loads is still counted as
        // started, never as finished but not started.
        let requests = self.requests.load(Ordering::Relaxed);
        let started = self.started.load(Ordering::Relaxed);
        Window {
            in_flight: started.saturating_sub(requests),
            requests,
            errors: self.errors.load(Ordering::Relaxed),
            buckets: self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect(),
            sum_micros: self.sum_micros.load(Ordering::Relaxed),
        }
    }
}

/// Key of a series.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeriesKey {
    /// Version label (the artifact digest or a name).
    pub version: String,
    /// Tenant, or `None` for the version as a whole.
    pub tenant: Option<String>,
}

/// All counters at one instant.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot(pub BTreeMap<SeriesKey, Window>);

impl Snapshot {
    /// The window of one series since `earlier`.
    pub fn window(&self, earlier: &Snapshot, version: &str, tenant: Option<&str>) -> Window {
        let key = SeriesKey {
            version: version.into(),
            tenant: tenant.map(str::to_string),
        };
        let now = self.0.get(&key).cloned().unwrap_or_default();
        match earlier.0.get(&key) {
            Some(e) => now.since(e),
            None => now,
        }
    }

    /// Tenants seen for `version`.
    pub fn tenants(&self, version: &str) -> Vec<String> {
        self.0
            .keys()
            .filter(|k| k.version == version)
            .filter_map(|k| k.tenant.clone())
            .collect()
    }
}

/// One version's counters: as a whole and per tenant.
#[derive(Default)]
struct VersionSeries {
    all: Counters,
    tenants: std::sync::RwLock<std::collections::HashMap<String, Arc<Counters>>>,
}

/// The router's counters. Recording takes read locks only, without allocating, once a version
/// and tenant have been seen.
#[derive(Clone, Default)]
pub struct Stats {
    series: Arc<std::sync::RwLock<std::collections::HashMap<String, Arc<VersionSeries>>>>,
}

fn read<T>(l: &std::sync::RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn write<T>(l: &std::sync::RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Stats {
    fn version(&self, version: &str) -> Arc<VersionSeries> {
        if let Some(v) = read(&self.series).get(version) {
            return v.clone();
        }
        write(&self.series).entry(version.to_string()).or_default().clone()
    }

    /// Counts one request sent to `version` (for `tenant`): in flight until [`Stats::observe`]
    /// measures it.
    pub fn start(&self, version: &str, tenant: Option<&str>) {
        let v = self.version(version);
        v.all.started.fetch_add(1, Ordering::Relaxed);
        Self::tenant_counters(&v, tenant)
            .started
            .fetch_add(1, Ordering::Relaxed);
    }

    fn tenant_counters(v: &VersionSeries, tenant: Option<&str>) -> Arc<Counters> {
        let tenant = tenant.unwrap_or(NO_TENANT);
        if let Some(c) = read(&v.tenants).get(tenant) {
            return c.clone();
        }
        let mut map = write(&v.tenants);
        let key = if map.len() >= MAX_TENANTS && !map.contains_key(tenant) {
            "_other"
        } else {
            tenant
        };
        map.entry(key.to_string()).or_default().clone()
    }

    /// Records one request.
    pub fn observe(&self, version: &str, tenant: Option<&str>, latency: Duration, error: bool) {
        let v = self.version(version);
        v.all.observe(latency, error);
        Self::tenant_counters(&v, tenant).observe(latency, error);
    }

    /// Every counter now.
    pub fn snapshot(&self) -> Snapshot {
        let mut out = BTreeMap::new();
        for (version, v) in read(&self.series).iter() {
            out.insert(
                SeriesKey {
                    version: version.clone(),
                    tenant: None,
                },
                v.all.read(),
            );
            for (t, c) in read(&v.tenants).iter() {
                out.insert(
                    SeriesKey {
                        version: version.clone(),
                        tenant: Some(t.clone()),
                    },
                    c.read(),
                );
            }
        }
        Snapshot(out)
    }

    /// Prometheus text exposition (version 0.0.4): `ward_router_requests_total`,
    /// `ward_router_errors_total` and `ward_router_request_duration_seconds` by `version` and
    /// `tenant` (`tenant="_all"` for the version as a whole).
    pub fn prometheus_text(&self) -> String {
        let snap = self.snapshot();
        let label = |k: &SeriesKey| {
            format!(
                "version=\"{}\",tenant=\"{}\"",
                escape(&k.version),
                escape(k.tenant.as_deref().unwrap_or("_all"))
            )
        };
        let mut s = String::from(
            "# HELP ward_router_requests_total Requests routed, by version and tenant.\n# TYPE ward_router_requests_total counter\n",
        );
        for (k, w) in &snap.0 {
            s.push_str(&format!("ward_router_requests_total{{{}}} {}\n", label(k), w.requests));
        }
        s.push_str("# HELP ward_router_errors_total 5xx answers and unanswered requests, by version and tenant.\n# TYPE ward_router_errors_total counter\n");
        for (k, w) in &snap.0 {
            s.push_str(&format!("ward_router_errors_total{{{}}} {}\n", label(k), w.errors));
        }
        s.push_str("# HELP ward_router_request_duration_seconds Time to the response head.\n# TYPE ward_router_request_duration_seconds histogram\n");
        for (k, w) in &snap.0 {
            let l = label(k);
            let mut cum = 0;
            for (i, n) in w.buckets.iter().enumerate() {
                cum += n;
                let le = BUCKETS_MS
                    .get(i)
                    .map_or("+Inf".to_string(), |b| format!("{}", b / 1000.0));
                s.push_str(&format!(
                    "ward_router_request_duration_seconds_bucket{{{l},le=\"{le}\"}} {cum}\n"
                ));
            }
            s.push_str(&format!(
                "ward_router_request_duration_seconds_sum{{{l}}} {}\nward_router_request_duration_seconds_count{{{l}}} {}\n",
                w.sum_micros as f64 / 1e6,
                w.requests
            ));
        }
        s
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_rates_and_quantiles() {
        let s = Stats::default();
        for i in 0..100u64 {
            s.observe(
                "v2",
                Some("clinic-a"),
                Duration::from_millis(if i < 90 { 3 } else { 400 }),
                i % 10 == 0,
            );
        }
        let a = s.snapshot();
        let w = a.window(&Snapshot::default(), "v2", None);
        assert_eq!((w.requests, w.errors), (100, 10));
        assert!((w.error_rate() - 0.1).abs() < 1e-9);
        assert_eq!(w.quantile_ms(0.5), Some(5.0));
        assert_eq!(w.quantile_ms(0.95), Some(500.0));
        s.observe("v2", Some("clinic-a"), Duration::from_millis(1), false);
        let b = s.snapshot();
        let since = b.window(&a, "v2", Some("clinic-a"));
        assert_eq!((since.requests, since.errors), (1, 0));
        assert_eq!(b.tenants("v2"), vec!["clinic-a".to_string()]);
        assert_eq!(Window::default().quantile_ms(0.99), None);
        let text = s.prometheus_text();
        assert!(
            text.contains("ward_router_requests_total{version=\"v2\",tenant=\"_all\"} 101"),
            "{text}"
        );
        assert!(text.contains(
            "ward_router_request_duration_seconds_bucket{version=\"v2\",tenant=\"clinic-a\",le=\"+Inf\"} 101"
        ));
    }
}
