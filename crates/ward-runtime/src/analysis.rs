//! Analysis: the canary's verdict ([`judge`], pure, in `ward_core::canary`, re-exported here)
//! and the HTTP status probe of an instance.

#[cfg(test)]
use crate::stats::Window;
pub use ward_core::canary::{CONFIDENCE, Measurement, Thresholds, Verdict, judge, wilson_bounds};

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
