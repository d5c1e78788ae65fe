//! `ward bench router`: the router's added latency over a direct connection at a fixed request
//! rate, and its maximum throughput, side by side with nginx configured for the same weighted
//! split — in one run, on the same instances of the sample service.
//!
//! The router runs on its own tokio runtime (2 worker threads) in this process; the load
//! generator on another. Latency is measured open-loop from each request's *scheduled* send
//! time, so a stall shows up as latency instead of silently lowering the rate (no coordinated
//! omission).

use crate::cli::{BenchRouterArgs, Global};
use crate::failure::Failure;
use crate::output::emit;
use anyhow::Result;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use ward_runtime::router::{RouteTable, Router, TENANT_HEADER, Upstream};
use ward_runtime::supervisor::{Instance, InstanceSpec};

pub(crate) type Http = Client<HttpConnector, Empty<Bytes>>;

/// An HTTP/1.1 client with keep-alive and no Nagle delay.
pub(crate) fn client() -> Http {
    let mut c = HttpConnector::new();
    c.set_nodelay(true);
    Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(512)
        .build(c)
}

/// The sample service to run: `--sample`, else `ward-sample-service` beside `ward`, else this
/// very binary as `ward sample-service` (the same code) through a wrapper script in `dir`.
fn sample_binary(explicit: Option<&Path>, dir: &Path) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if !p.exists() {
            return Err(Failure::new(
                "sample_service_missing",
                format!("{} does not exist", p.display()),
                "pass the sample service binary: --sample PATH (or leave --sample out to use `ward sample-service`)",
            )
            .into());
        }
        return Ok(p.to_path_buf());
    }
    let exe = std::env::current_exe()?;
    let beside = exe.with_file_name("ward-sample-service");
    if beside.exists() {
        return Ok(beside);
    }
    eprintln!(
        "{} not found; running the sample service as `ward sample-service`",
        beside.display()
    );
    let script = dir.join("sample-service");
    let quoted = exe.display().to_string().replace('\'', r"'\''");
    std::fs::write(&script, format!("#!/bin/sh\nexec '{quoted}' sample-service\n"))?;
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    Ok(script)
}

fn free_addr() -> Result<SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}

/// nginx with the same split: 10% to the canary by `split_clients`, keep-alive upstreams.
struct Nginx {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_nginx(bin: &Path, dir: &Path, stable: SocketAddr, canary: SocketAddr, percent: u8) -> Result<Nginx> {
    let addr = free_addr()?;
    std::fs::create_dir_all(dir.join("logs"))?;
    let conf = dir.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes 2;\nerror_log {d}/logs/error.log warn;\npid {d}/nginx.pid;\n\
events {{ worker_connections 4096; }}\n\
http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
  upstream stable {{ server {stable}; keepalive 256; }}\n  upstream canary {{ server {canary}; keepalive 256; }}\n\
  split_clients \"${{request_id}}\" $backend {{ {percent}% canary; * stable; }}\n\
  server {{\n    listen {addr};\n    location / {{ proxy_pass http://$backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; }}\n  }}\n}}\n",
            d = dir.display()
        ),
    )?;
    let child = std::process::Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .arg("-p")
        .arg(dir)
        .args(["-g", "daemon off;"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", bin.display()))?;
    Ok(Nginx { child, addr })
}

async fn wait_up(http: &Http, addr: SocketAddr) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = http.get(format!("http://{addr}/healthz").parse()?).await {
            let _ = r.into_body().collect().await;
            return Ok(());
        }
        if Instant::now() > deadline {
            anyhow::bail!("{addr} did not come up");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

/// Open-loop load at `rate` per second for `secs`: latency (µs) from each scheduled send.
async fn fixed_rate(http: &Http, addr: SocketAddr, rate: u64, secs: u64) -> (Vec<u64>, u64) {
    let uri: hyper::Uri = format!("http://{addr}/api/reminders").parse().expect("uri");
    let total = rate * secs;
    let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let start = Instant::now();
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let scheduled = start + interval * u32::try_from(i).unwrap_or(u32::MAX);
        tokio::time::sleep_until(scheduled.into()).await;
        let http = http.clone();
        let uri = uri.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            let req = hyper::Request::get(uri)
                .header(TENANT_HEADER, format!("t{}", i % 500))
                .body(Empty::new())
                .expect("request");
            match http.request(req).await {
                Ok(r) => {
                    let ok = r.status().is_success();
                    let _ = r.into_body().collect().await;
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(_) => {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX)
        }));
    }
    let mut lat = Vec::with_capacity(tasks.len());
    for t in tasks {
        if let Ok(us) = t.await {
            lat.push(us);
        }
    }
    lat.sort_unstable();
    (lat, errors.load(Ordering::Relaxed))
}

/// Closed loop: `clients` concurrent clients for `secs`; completed requests per second.
async fn max_throughput(http: &Http, addr: SocketAddr, clients: usize, secs: u64) -> f64 {
    let uri: hyper::Uri = format!("http://{addr}/api/reminders").parse().expect("uri");
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|k| {
            let (http, uri, done) = (http.clone(), uri.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let req = hyper::Request::get(uri.clone())
                        .header(TENANT_HEADER, format!("t{k}"))
                        .body(Empty::new())
                        .expect("request");
                    if let Ok(r) = http.request(req).await
                        && r.into_body().collect().await.is_ok()
                    {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Each target in turn: warm-up, the fixed-rate latency run, then maximum throughput.
async fn measure(
    targets: &[(&'static str, SocketAddr)],
    rate: u64,
    duration: u64,
    clients: usize,
) -> Result<Vec<Value>> {
    let http = client();
    for (_, addr) in targets {
        wait_up(&http, *addr).await?;
    }
    let mut rows = Vec::new();
    for (name, addr) in targets {
        let _ = fixed_rate(&http, *addr, rate, 1).await;
        let (lat, errors) = fixed_rate(&http, *addr, rate, duration).await;
        let max = max_throughput(&http, *addr, clients, duration.min(5)).await;
        rows.push(json!({
            "target": name, "requests": lat.len(), "errors": errors,
            "p50_ms": pct(&lat, 0.50), "p99_ms": pct(&lat, 0.99), "p999_ms": pct(&lat, 0.999),
            "max_rps": max,
        }));
    }
    Ok(rows)
}

/// `ward bench router`.
pub fn router(g: &Global, a: &BenchRouterArgs) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let sample = sample_binary(a.sample.as_deref(), dir.path())?;
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let pinned = a.pin && cpus >= 2;
    if a.pin && !pinned {
        eprintln!("--pin needs at least 2 CPUs; running unpinned");
    }
    let load_cpu = cpus - 1;
    if pinned {
        // This thread and all it starts from here on (router threads, instances, nginx) stay
        // off the load generator's CPU.
        ward_runtime::pin_current_thread(&(0..load_cpu).collect::<Vec<_>>())?;
    }
    // The router's own runtime: two workers, like nginx's two worker processes.
    let router_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let load_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .on_thread_start(move || {
            if pinned && let Err(e) = ward_runtime::pin_current_thread(&[load_cpu]) {
                eprintln!("cannot pin the load generator: {e}");
            }
        })
        .enable_all()
        .build()?;
    let spec = |name: &str| InstanceSpec {
        name: name.into(),
        version: name.into(),
        program: sample.clone(),
        dir: dir.path().to_path_buf(),
        env: vec![("SAMPLE_VERSION".into(), name.into())],
        health_path: "/healthz".into(),
    };
    let (stable, canary, router_addr) = router_rt.block_on(async {
        let stable = Instance::start(spec("stable"))?;
        let canary = Instance::start(spec("canary"))?;
        stable.wait_ready(Duration::from_secs(10)).await?;
        canary.wait_ready(Duration::from_secs(10)).await?;
        let router = Router::new(TENANT_HEADER);
        router.set_routes(RouteTable {
            stable: Some(Upstream {
                version: "stable".into(),
                addr: stable.addr(),
            }),
            canary: Some(Upstream {
                version: "canary".into(),
                addr: canary.addr(),
            }),
            canary_percent: a.canary_percent,
            tenants: Default::default(),
            by_request: false,
        });
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = l.local_addr()?;
        tokio::spawn(router.serve(l));
        anyhow::Ok((stable, canary, addr))
    })?;
    let nginx_bin = a.nginx.clone().unwrap_or_else(|| PathBuf::from("/usr/sbin/nginx"));
    let nginx = if nginx_bin.exists() {
        Some(start_nginx(
            &nginx_bin,
            &dir.path().join("nginx"),
            stable.addr(),
            canary.addr(),
            a.canary_percent,
        )?)
    } else {
        eprintln!(
            "nginx not found at {} (apt-get install nginx); measuring without it",
            nginx_bin.display()
        );
        None
    };
    let mut targets: Vec<(&'static str, SocketAddr)> = vec![("direct", stable.addr()), ("ward-router", router_addr)];
    if let Some(n) = &nginx {
        targets.push(("nginx", n.addr));
    }
    // Spawned, so that it runs on the load generator's (pinned) workers rather than this thread.
    let rate = a.rate;
    let duration = a.duration;
    let clients = a.clients;
    let measured = targets.clone();
    let results = load_rt.block_on(async move {
        tokio::spawn(async move { measure(&measured, rate, duration, clients).await })
            .await
            .map_err(|e| anyhow::anyhow!("load generator: {e}"))?
    })?;
    drop(nginx);
    router_rt.block_on(async {
        stable.stop().await;
        canary.stop().await;
    });
    let direct = results[0].clone();
    let added = |row: &Value, k: &str| row[k].as_f64().unwrap_or(0.0) - direct[k].as_f64().unwrap_or(0.0);
    let report = json!({
        "rate": a.rate, "duration_secs": a.duration, "canary_percent": a.canary_percent,
        "pinned": pinned.then(|| json!({"load_generator_cpu": load_cpu, "measured_cpus": (0..load_cpu).collect::<Vec<_>>()})),
        "clients_for_max": a.clients, "results": results,
        "added_latency_ms": results.iter().skip(1).map(|r| json!({
            "target": r["target"], "p50": added(r, "p50_ms"), "p99": added(r, "p99_ms"),
        })).collect::<Vec<_>>(),
    });
    emit(g.output, report.clone(), || {
        let mut s = format!(
            "{} req/s for {} s ({}% canary), then max throughput with {} clients\n{:<12} {:>8} {:>7} {:>9} {:>9} {:>9} {:>10}\n",
            a.rate,
            a.duration,
            a.canary_percent,
            a.clients,
            "target",
            "requests",
            "errors",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "max req/s"
        );
        for r in &results {
            s.push_str(&format!(
                "{:<12} {:>8} {:>7} {:>9.3} {:>9.3} {:>9.3} {:>10.0}\n",
                r["target"].as_str().unwrap_or(""),
                r["requests"].as_u64().unwrap_or(0),
                r["errors"].as_u64().unwrap_or(0),
                r["p50_ms"].as_f64().unwrap_or(0.0),
                r["p99_ms"].as_f64().unwrap_or(0.0),
                r["p999_ms"].as_f64().unwrap_or(0.0),
                r["max_rps"].as_f64().unwrap_or(0.0)
            ));
        }
        for x in report["added_latency_ms"].as_array().into_iter().flatten() {
            s.push_str(&format!(
                "added over direct — {}: p50 {:+.3} ms, p99 {:+.3} ms\n",
                x["target"].as_str().unwrap_or(""),
                x["p50"].as_f64().unwrap_or(0.0),
                x["p99"].as_f64().unwrap_or(0.0)
            ));
        }
        s
    });
    Ok(())
}
