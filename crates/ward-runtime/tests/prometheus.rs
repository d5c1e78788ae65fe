//! The Prometheus analysis provider against a real Prometheus server (Debian package
//! `prometheus`, started here on loopback) scraping the router's `/metrics`.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::path::Path;
use std::time::{Duration, Instant};
use ward_runtime::analysis::Verdict;
use ward_runtime::artifact;
use ward_runtime::prometheus::{PromCheck, check, query};
use ward_runtime::router::{RouteTable, Router, TENANT_HEADER, Upstream};
use ward_runtime::supervisor::{Instance, InstanceSpec};

const SAMPLE: &str = env!("CARGO_BIN_EXE_ward-sample-service");

#[path = "support/prometheus.rs"]
mod support;
use support::prometheus_binary;

fn spec(root: &Path, version: &str, env: &[(&str, &str)]) -> InstanceSpec {
    let digest = artifact::file_digest(Path::new(SAMPLE)).unwrap();
    let installed = artifact::install(root, Path::new(SAMPLE), &digest).unwrap();
    let mut vars = vec![("SAMPLE_VERSION".to_string(), version.to_string())];
    vars.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    InstanceSpec {
        name: version.into(),
        version: version.into(),
        program: installed.program,
        dir: installed.dir,
        env: vars,
        health_path: "/healthz".into(),
    }
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promql_verdicts_from_a_real_prometheus_scraping_the_router() {
    let Some(bin) = prometheus_binary() else { return };
    let dir = tempfile::tempdir().unwrap();
    let stable = Instance::start(spec(dir.path(), "v1", &[])).unwrap();
    let canary = Instance::start(spec(dir.path(), "v2", &[("SAMPLE_FAIL_PERCENT", "50")])).unwrap();
    stable.wait_ready(Duration::from_secs(10)).await.unwrap();
    canary.wait_ready(Duration::from_secs(10)).await.unwrap();
    let router = Router::new(TENANT_HEADER);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let al = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = al.local_addr().unwrap();
    let t1 = tokio::spawn(router.clone().serve(l));
    let t2 = tokio::spawn(router.clone().serve_admin(al));
    router.set_routes(RouteTable {
        stable: Some(Upstream {
            version: "v1".into(),
            addr: stable.addr(),
        }),
        canary: Some(Upstream {
            version: "v2".into(),
            addr: canary.addr(),
        }),
        canary_percent: 50,
        tenants: Default::default(),
        by_request: false,
    });
    // Prometheus scraping the admin port every second.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = dir.path().join("prometheus.yml");
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: ward-router\n    static_configs:\n      - targets: ['{admin}']\n"
        ),
    )
    .unwrap();
    let _prom = Killed(
        std::process::Command::new(bin)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let url = format!("http://127.0.0.1:{port}");
    // Traffic through the router while Prometheus scrapes.
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let ratio = r#"sum(ward_router_errors_total{version="{{version}}",tenant="{{tenant}}"}) / sum(ward_router_requests_total{version="{{version}}",tenant="{{tenant}}"})"#;
    let error_rate = PromCheck {
        name: "error-rate".into(),
        url: url.clone(),
        query: ratio.into(),
        max: Some(0.1),
        min: None,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for _ in 0..50 {
            let r = client
                .get(format!("http://{addr}/api/reminders").parse().unwrap())
                .await
                .unwrap();
            let _ = r.into_body().collect().await;
        }
        let seen = query(&url, &ward_runtime::prometheus::render(ratio, "v2", "_all")).await;
        if matches!(seen, Ok(Some(_))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never had the canary's series: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let bad = check(&error_rate, "v2", "_all").await;
    assert!(bad.failed(), "{bad:?}");
    let Verdict::Fail { reason, .. } = &bad else {
        unreachable!()
    };
    assert!(reason.contains("error-rate") && reason.contains("outside"), "{reason}");
    assert!(matches!(check(&error_rate, "v1", "_all").await, Verdict::Pass { .. }));
    // A version Prometheus has never seen: no data is inconclusive, not a pass.
    assert!(matches!(
        check(&error_rate, "v9", "_all").await,
        Verdict::Inconclusive { .. }
    ));
    // A query Prometheus refuses is reported, and inconclusive.
    let broken = PromCheck {
        query: "sum(".into(),
        ..error_rate
    };
    let Verdict::Inconclusive { reason, .. } = check(&broken, "v2", "_all").await else {
        panic!("a refused query must be inconclusive");
    };
    assert!(reason.contains("refused"), "{reason}");
    t1.abort();
    t2.abort();
    stable.stop().await;
    canary.stop().await;
}
