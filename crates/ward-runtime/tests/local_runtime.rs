//! The local runtime with real processes (the sample service) and real HTTP over loopback:
//! install by digest, readiness, crash restarts, weighted and tenant routing through the router,
//! per-version and per-tenant metrics, a failing canary judged and switched back to stable.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use ward_runtime::analysis::{Thresholds, Verdict, judge};
use ward_runtime::artifact;
use ward_runtime::router::{RouteTable, Router, Side, TENANT_HEADER, Upstream};
use ward_runtime::supervisor::{Instance, InstanceSpec};

const SAMPLE: &str = env!("CARGO_BIN_EXE_ward-sample-service");

fn spec(root: &Path, name: &str, version: &str, env: &[(&str, &str)]) -> InstanceSpec {
    let digest = artifact::file_digest(Path::new(SAMPLE)).unwrap();
    let installed = artifact::install(root, Path::new(SAMPLE), &digest).unwrap();
    let mut vars = vec![("SAMPLE_VERSION".to_string(), version.to_string())];
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    InstanceSpec {
        name: name.into(),
        version: version.into(),
        program: installed.program,
        dir: installed.dir,
        env: vars,
        health_path: "/healthz".into(),
    }
}

struct Http(Client<HttpConnector, Empty<Bytes>>);

impl Http {
    fn new() -> Http {
        Http(Client::builder(TokioExecutor::new()).build_http())
    }

    /// (status, X-Sample-Version) of GET /api/reminders through `addr`.
    async fn get(&self, addr: std::net::SocketAddr, tenant: Option<&str>) -> (u16, String) {
        let mut req = hyper::Request::get(format!("http://{addr}/api/reminders"));
        if let Some(t) = tenant {
            req = req.header(TENANT_HEADER, t);
        }
        let resp = self.0.request(req.body(Empty::new()).unwrap()).await.unwrap();
        let version = resp
            .headers()
            .get("x-sample-version")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let status = resp.status().as_u16();
        let _ = resp.into_body().collect().await;
        (status, version)
    }

    async fn text(&self, url: String) -> String {
        let resp = self.0.get(url.parse().unwrap()).await.unwrap();
        String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
    }
}

async fn listen() -> (tokio::net::TcpListener, std::net::SocketAddr) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_through_the_router_is_measured_judged_and_switched_back() {
    let dir = tempfile::tempdir().unwrap();
    let stable = Instance::start(spec(dir.path(), "prod/stable", "v1", &[])).unwrap();
    // The bad version fails 20% of clinic-b's requests only.
    let canary = Instance::start(spec(
        dir.path(),
        "prod/canary",
        "v2",
        &[("SAMPLE_FAIL_PERCENT", "20"), ("SAMPLE_FAIL_TENANT", "clinic-b")],
    ))
    .unwrap();
    stable.wait_ready(Duration::from_secs(10)).await.unwrap();
    canary.wait_ready(Duration::from_secs(10)).await.unwrap();
    let router = Router::new(TENANT_HEADER);
    let (l, addr) = listen().await;
    let (al, admin) = listen().await;
    let proxy = tokio::spawn(router.clone().serve(l));
    let adm = tokio::spawn(router.clone().serve_admin(al));
    let http = Http::new();
    // Nothing deployed: 503.
    assert_eq!(http.get(addr, None).await.0, 503);
    let up = |v: &str, i: &Instance| Upstream {
        version: v.into(),
        addr: i.addr(),
    };
    router.set_routes(RouteTable {
        stable: Some(up("v1", &stable)),
        canary: Some(up("v2", &canary)),
        canary_percent: 10,
        tenants: BTreeMap::new(),
        by_request: false,
    });
    // 10% of untenanted traffic reaches the canary.
    let mut seen = BTreeMap::<String, u32>::new();
    for _ in 0..100 {
        let (status, v) = http.get(addr, None).await;
        assert_eq!(status, 200);
        *seen.entry(v).or_default() += 1;
    }
    assert_eq!(seen.get("v2"), Some(&10), "{seen:?}");
    // Ring: pin clinic-a and clinic-b to the canary.
    let mut t = (*router.routes()).clone();
    t.tenants = BTreeMap::from([("clinic-a".into(), Side::Canary), ("clinic-b".into(), Side::Canary)]);
    router.set_routes(t);
    let before = router.stats().snapshot();
    for i in 0..200 {
        let tenant = if i % 2 == 0 { "clinic-a" } else { "clinic-b" };
        let (_, v) = http.get(addr, Some(tenant)).await;
        assert_eq!(v, "v2");
    }
    let after = router.stats().snapshot();
    // 100 clean requests show an error rate below 5% with 95% confidence (upper bound 2.6%);
    // 20 errors in 100 show one above it.
    let th = Thresholds {
        max_error_rate: 0.05,
        ..Thresholds::default()
    };
    let a = after.window(&before, "v2", Some("clinic-a"));
    let b = after.window(&before, "v2", Some("clinic-b"));
    assert_eq!((a.requests, a.errors), (100, 0));
    assert_eq!((b.requests, b.errors), (100, 20));
    assert!(matches!(judge("clinic-a", &a, None, &th), Verdict::Pass { .. }));
    let verdict = judge("clinic-b", &b, None, &th);
    assert!(verdict.failed(), "{verdict:?}");
    // Breach → all traffic on stable in one swap; the very next requests prove it.
    let breach = Instant::now();
    router.set_routes(RouteTable::stable_only(up("v1", &stable)));
    let switched = breach.elapsed();
    for tenant in ["clinic-a", "clinic-b", "other"] {
        assert_eq!(http.get(addr, Some(tenant)).await, (200, "v1".to_string()));
    }
    assert!(switched < Duration::from_secs(1), "{switched:?}");
    // Prometheus text on the admin port, per version and tenant.
    let metrics = http.text(format!("http://{admin}/metrics")).await;
    assert!(
        metrics.contains("ward_router_errors_total{version=\"v2\",tenant=\"clinic-b\"} 20"),
        "{metrics}"
    );
    assert!(
        metrics.contains("ward_router_request_duration_seconds_bucket{version=\"v1\",tenant=\"_all\",le=\"+Inf\"}")
    );
    let routes = http.text(format!("http://{admin}/routes")).await;
    assert!(routes.contains("\"canary\":null"), "{routes}");
    // The canary is stopped; its port no longer answers, and the router counts what it could
    // not deliver as errors of that version.
    let canary_addr = canary.addr();
    canary.stop().await;
    router.set_routes(RouteTable::stable_only(Upstream {
        version: "gone".into(),
        addr: canary_addr,
    }));
    assert_eq!(http.get(addr, None).await.0, 502);
    assert_eq!(
        router
            .stats()
            .snapshot()
            .window(&Default::default(), "gone", None)
            .errors,
        1
    );
    proxy.abort();
    adm.abort();
    stable.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashed_instances_restart_and_unready_ones_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let crashy = Instance::start(spec(dir.path(), "dev/crashy", "v3", &[("SAMPLE_CRASH_AFTER", "2")])).unwrap();
    crashy.wait_ready(Duration::from_secs(10)).await.unwrap();
    let http = Http::new();
    let target = crashy.addr();
    // Each run answers two requests, then exits; the supervisor brings it back.
    let mut ok = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while ok < 6 && Instant::now() < deadline {
        let req = hyper::Request::get(format!("http://{target}/api/reminders"))
            .header("connection", "close")
            .body(Empty::<Bytes>::new())
            .unwrap();
        match http.0.request(req).await {
            Ok(r) if r.status() == 200 => ok += 1,
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(ok, 6);
    let status = crashy.status();
    assert!(status.restarts >= 2, "{status:?}");
    assert!(status.last_exit.as_deref().unwrap_or("").contains('3'), "{status:?}");
    crashy.stop().await;

    let never = Instance::start(spec(dir.path(), "dev/never", "v4", &[("SAMPLE_NOT_READY", "1")])).unwrap();
    let e = never
        .wait_ready(Duration::from_millis(500))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("dev/never did not become ready") && e.contains("503"), "{e}");
    never.stop().await;
}
