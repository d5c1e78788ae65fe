//! `ward bench append`: durable appends through group commit under concurrency.

use crate::cli::{BenchAppendArgs, Global};
use crate::output::{emit, progress};
use anyhow::Result;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use ward_ledger::{Actor, ActorKind, NewEvent};
use ward_store::Ledger;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// p50, p99 and max of sorted latencies, in milliseconds.
struct Latency {
    p50: f64,
    p99: f64,
    max: f64,
}

impl Latency {
    fn of(sorted: &[Duration]) -> Latency {
        Latency {
            p50: percentile(sorted, 0.5),
            p99: percentile(sorted, 0.99),
            max: percentile(sorted, 1.0),
        }
    }

    fn json(&self) -> serde_json::Value {
        json!({ "p50": self.p50, "p99": self.p99, "max": self.max })
    }

    fn text(&self) -> String {
        format!(
            "latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            self.p50, self.p99, self.max
        )
    }
}

/// A bench's scratch directory, removed when the bench ends, however it ends.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(label: &str) -> Scratch {
        Scratch(std::env::temp_dir().join(format!("{label}{}", std::process::id())))
    }
}

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The store a bench runs on: `--database-url`, or a fresh SQLite file in a scratch directory.
fn bench_store(g: &Global, label: &str) -> Result<(Scratch, String)> {
    let tmp = Scratch::new(label);
    let url = match &g.database_url {
        Some(u) => u.clone(),
        None => {
            std::fs::create_dir_all(&*tmp)?;
            format!("sqlite://{}", tmp.join("bench.db").display())
        }
    };
    Ok((tmp, url))
}

/// Runs the load test against `--database-url`, or a fresh SQLite file in a temporary directory.
pub async fn append(g: &Global, a: &BenchAppendArgs) -> Result<()> {
    let (tmp, url) = bench_store(g, "ward-bench-")?;
    let store = crate::context::open_store(&url).await?;
    let backend = store.backend();
    let start_size = store.head().await?.size();
    let ledger = Ledger::new(store, crate::context::projectors());
    let payload = "x".repeat(a.payload);
    let per_task = a.count / a.concurrency.max(1) as u64;
    let pb = Arc::new(progress(g.output, "append"));
    pb.set_length(per_task * a.concurrency as u64);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..a.concurrency {
        let ledger = ledger.clone();
        let payload = payload.clone();
        let pb = pb.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_task as usize);
            for i in 0..per_task {
                let ev = NewEvent {
                    actor: Actor {
                        id: format!("ci:bench-{w}"),
                        kind: ActorKind::Automation,
                    },
                    kind: "bench.append".into(),
                    subject: format!("bench:{w}"),
                    payload: json!({ "i": i, "data": payload }),
                };
                let t = Instant::now();
                ledger.append(ev).await?;
                lat.push(t.elapsed());
                pb.inc(1);
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    pb.finish_and_clear();
    lat.sort_unstable();
    let n = lat.len() as f64;
    let report = ledger.fsck(None, "", &|_, _| {}).await?;
    drop(tmp);
    let result = json!({
        "backend": backend,
        "appends": lat.len(),
        "concurrency": a.concurrency,
        "payload_bytes": a.payload,
        "seconds": elapsed,
        "appends_per_second": n / elapsed,
        "latency_ms": Latency::of(&lat).json(),
        "log_size_before": start_size,
        "log_verified": report.ok(),
    });
    emit(g.output, result.clone(), || {
        format!(
            "{backend}: {} durable appends in {elapsed:.2}s = {:.0}/s (concurrency {}, payload {} B)\n  {}\n  log verified afterwards: {}",
            lat.len(),
            n / elapsed,
            a.concurrency,
            a.payload,
            Latency::of(&lat).text(),
            report.ok()
        )
    });
    if !report.ok() {
        anyhow::bail!("log failed verification after the load test: {:?}", report.problems);
    }
    Ok(())
}

/// `ward bench http`: authenticated appends over HTTP on loopback by `--clients` concurrent
/// clients for `--duration` seconds. Without `--server` it starts a server in this process on
/// `--database-url` (or a fresh SQLite file), creates a developer token, and checks the whole log
/// afterwards.
pub async fn http(g: &Global, a: &crate::cli::BenchHttpArgs) -> Result<()> {
    let tmp = Scratch::new("ward-bench-http-");
    let (base, token, local) = match (&g.server, &g.token) {
        (Some(server), Some(token)) => (server.trim_end_matches('/').to_string(), token.clone(), None),
        (Some(_), None) => {
            return Err(crate::failure::Failure::new(
                "no_token",
                "--server needs --token (a developer token) for the load test",
                "create one with `ward token create --name bench --role developer`",
            )
            .into());
        }
        (None, _) => {
            std::fs::create_dir_all(&*tmp)?;
            let url = match &g.database_url {
                Some(u) => u.clone(),
                None => format!("sqlite://{}", tmp.join("bench.db").display()),
            };
            let store = crate::context::open_store(&url).await?;
            let ledger = Ledger::new(store, crate::context::projectors());
            let signer = Arc::new(ward_ledger::Ed25519Signer::generate("bench.ward.local/log")?);
            let created = ward_app::identities::create_token(
                &ledger,
                &crate::context::local_operator(),
                &ward_app::identities::TokenRequest {
                    name: "bench".into(),
                    roles: vec![ward_core::Role::Developer],
                    expires_in_secs: Some(3600),
                    user: None,
                    password: None,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
            let state = ward_server::AppState::new(ledger.clone(), signer, "bench.ward.local/log".into());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(ward_server::serve(listener, state, async {
                let _ = stop_rx.await;
            }));
            (format!("http://{addr}"), created.token, Some((ledger, stop_tx, server)))
        }
    };
    let payload = "x".repeat(a.payload);
    let deadline = Instant::now() + Duration::from_secs(a.duration);
    let pb = Arc::new(progress(g.output, "http"));
    pb.set_length(a.duration);
    let started = Instant::now();
    let ticker = {
        let pb = pb.clone();
        tokio::spawn(async move {
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(1)).await;
                pb.set_position(started.elapsed().as_secs());
            }
        })
    };
    let mut tasks = Vec::new();
    for c in 0..a.clients {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()?;
        let url = format!("{base}/api/v1/events");
        let token = token.clone();
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors) = (Vec::new(), 0u64);
            let mut i = 0u64;
            while Instant::now() < deadline {
                let body = json!({ "kind": "bench.http", "subject": format!("bench:{c}"), "payload": { "i": i, "data": payload } });
                let t = Instant::now();
                match client.post(&url).bearer_auth(&token).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        lat.push(t.elapsed());
                    }
                    _ => errors += 1,
                }
                i += 1;
            }
            (lat, errors)
        }));
    }
    let (mut lat, mut errors) = (Vec::new(), 0u64);
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    ticker.abort();
    pb.finish_and_clear();
    lat.sort_unstable();
    let n = lat.len() as f64;
    let (backend, verified) = match local {
        Some((ledger, stop, server)) => {
            let _ = stop.send(());
            let _ = server.await;
            let report = ledger.fsck(None, "", &|_, _| {}).await?;
            (ledger.store().backend().to_string(), Some(report.ok()))
        }
        None => ("remote".to_string(), None),
    };
    drop(tmp);
    let result = json!({
        "backend": backend,
        "clients": a.clients,
        "seconds": elapsed,
        "appends": lat.len(),
        "errors": errors,
        "appends_per_second": n / elapsed,
        "latency_ms": Latency::of(&lat).json(),
        "log_verified": verified,
    });
    emit(g.output, result, || {
        format!(
            "{backend} over HTTP: {} authenticated appends in {elapsed:.1}s = {:.0}/s ({} clients, payload {} B), {errors} errors\n  {}\n  log verified afterwards: {}",
            lat.len(),
            n / elapsed,
            a.clients,
            a.payload,
            Latency::of(&lat).text(),
            verified.map_or("not checked (remote server)".into(), |v| v.to_string())
        )
    });
    if verified == Some(false) || errors > 0 {
        anyhow::bail!("load test failed: {errors} errors, log verified: {verified:?}");
    }
    Ok(())
}

/// The DR inventory of `ward bench gate --dr`: services `svc-0`…`svc-19` (high tier, RPO 24h,
/// RTO 1h, store `svc-N-db`), 30 nightly pgBackRest reports covering every store, and a restore
/// test of each store signed by a bench user.
async fn bench_dr(ledger: &Ledger) -> Result<ward_app::dr::DrPolicy> {
    use ward_app::{dr, evidence, identities};
    let now = jiff::Timestamp::now().as_second();
    let admin = ward_core::Identity {
        id: "local:bench".into(),
        kind: ActorKind::Human,
        roles: vec![ward_core::Role::Admin],
    };
    for night in 0..30i64 {
        let stop = now - night * 86_400 - 3_600;
        let stanzas: Vec<serde_json::Value> = (0..20)
            .map(|n| {
                json!({"name": format!("svc-{n}-db"), "status": {"code": 0, "message": "ok"},
                "backup": [{"label": format!("N{night}F"), "type": "full", "error": false,
                "info": {"size": 1_000_000}, "timestamp": {"start": stop - 600, "stop": stop}}]})
            })
            .collect();
        let bytes = serde_json::to_vec(&stanzas)?;
        let req =
            evidence::AttestationRequest::from_bytes(evidence::DR_TARGET, "dr:pgbackrest", "info.json", &bytes, false);
        evidence::attest(ledger, &admin, &req, &Default::default())
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
    }
    let password = "bench-correct-horse-battery";
    identities::add_user(
        ledger,
        &admin,
        &identities::UserRequest {
            name: "dba".into(),
            display_name: "Bench DBA".into(),
            roles: vec![ward_core::Role::ReleaseManager],
            password: password.into(),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!(e.message))?;
    let dba = ward_core::Identity {
        id: "user:dba".into(),
        kind: ActorKind::Human,
        roles: vec![ward_core::Role::ReleaseManager],
    };
    let mut services = Vec::new();
    for n in 0..20 {
        let store = format!("svc-{n}-db");
        let finished = jiff::Timestamp::from_second(now - 86_400)?.to_string();
        let req = dr::RestoreTestRequest {
            store: store.clone(),
            finished,
            duration_secs: 1_200,
            checked: "row counts match".into(),
            password: Some(password.into()),
            reauth_token: None,
        };
        services.push(ward_core::dr::Service {
            name: format!("svc-{n}"),
            tier: "high".into(),
            rpo: "24h".into(),
            rto: "1h".into(),
            stores: vec![store],
        });
        let declared = dr::DrPolicy {
            services: services.clone(),
            rules: ward_core::dr::DrRules::default(),
        };
        dr::record_restore_test(ledger, &declared, &dba, &req, &Default::default(), now)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
    }
    Ok(dr::DrPolicy {
        services,
        rules: ward_core::dr::DrRules::default(),
    })
}

/// `ward bench gate`: fills a fresh store (or `--database-url`) with `--changes` changes, gives
/// `--with-evidence` of them an artifact with three real attestations (pytest, semgrep,
/// cyclonedx-py), then times `--checks` gate checks over those: building the input (reads),
/// evaluating the bundled policy, and the whole recorded check (plus storing the input and
/// policy documents and appending the decision).
pub async fn gate(g: &Global, a: &crate::cli::BenchGateArgs) -> Result<()> {
    use ward_app::{evidence, gate as gate_svc};
    let (tmp, url) = bench_store(g, "ward-bench-gate-")?;
    let store = crate::context::open_store(&url).await?;
    let backend = store.backend();
    let ledger = Ledger::new(store, ward_app::projectors());
    let ci = ward_core::Identity {
        id: "ci:bench".into(),
        kind: ActorKind::Automation,
        roles: vec![ward_core::Role::Developer],
    };
    let risk = ward_core::risk::RiskRules::default();
    let rules = ward_core::approval::ApprovalRules::default();
    let mut policy = gate_svc::GatePolicy::load(None, gate_svc::Controls::default()).map_err(anyhow::Error::msg)?;
    if a.dr {
        policy.dr = bench_dr(&ledger).await?;
    }
    let with_evidence = a.with_evidence.clamp(1, a.changes.max(1));
    // Artifacts with evidence, and the changes that ship them.
    // The demo's real tool output: pytest, semgrep, cyclonedx-py.
    let reports = &crate::commands::demo::FIXTURES[..3];
    let pb = progress(g.output, "setup");
    pb.set_length(a.changes);
    let mut checked = Vec::new();
    for i in 0..with_evidence {
        let digest = format!("sha256:{:064x}", i + 1);
        evidence::register(
            &ledger,
            &ci,
            &evidence::ArtifactRequest {
                digest: digest.clone(),
                service: format!("svc-{}", i % 20),
                version: format!("1.{i}"),
                commit: None,
                branch: None,
                build_id: None,
                build_url: None,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
        for &(name, bytes) in reports {
            let req = evidence::AttestationRequest::from_bytes(&digest, "auto", name, bytes, false);
            evidence::attest(&ledger, &ci, &req, &Default::default())
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
        }
        let c = ward_app::changes::open(
            &ledger,
            &ci,
            &risk,
            &ward_core::approval::ApprovalRules::default(),
            &ward_app::changes::ChangeRequest {
                title: format!("Change {i}"),
                kind: "normal".into(),
                artifacts: vec![digest],
                paths: vec![format!("services/svc-{}/src/lib.rs", i % 20)],
                environments: vec!["prod".into()],
                ..Default::default()
            },
            false,
        )
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
        checked.push(c.id);
        pb.inc(1);
    }
    // The rest: plain changes, appended in batches the way `ward change open` records them.
    let mut next = with_evidence;
    while next < a.changes {
        let end = (next + 2000).min(a.changes);
        let batch: Vec<NewEvent> = (next..end)
            .map(|i| {
                let id = format!("CHG-b{i:07x}");
                NewEvent {
                    actor: Actor {
                        id: "ci:bench".into(),
                        kind: ActorKind::Automation,
                    },
                    kind: "change.opened".into(),
                    subject: format!("change:{id}"),
                    payload: json!({"id": id, "title": format!("Change {i}"), "description": "", "kind": "normal",
                        "artifacts": [], "config_versions": [], "commits": [], "paths": [], "attributes": [],
                        "integrations": [], "environments": ["prod"], "opener": "ci:bench",
                        "classification": {"tier": "low", "tags": ["kind:normal"], "matched": []}, "tier": "low"}),
                }
            })
            .collect();
        ledger.append_batch(batch).await?;
        pb.inc(end - next);
        next = end;
    }
    pb.finish_and_clear();
    let data = policy.data();
    let (mut reads, mut evals, mut decisions, mut checks) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let pb = progress(g.output, "gate");
    pb.set_length(a.checks);
    for i in 0..a.checks {
        let id = &checked[(i as usize) % checked.len()];
        let t = Instant::now();
        let change = ward_app::changes::get(&ledger, id)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?
            .ok_or_else(|| anyhow::anyhow!("change {id} missing"))?;
        // The input exactly as `gate::check` builds it: the placement (promotion order) for the
        // environment, then the server's own input builder.
        let request = gate_svc::CheckRequest::env("prod");
        let placement = ward_app::deployments::placement(
            &ledger,
            &policy.environments,
            &change.request.artifacts,
            &request.environment,
            &request.tenants,
            request.ring.as_deref(),
        )
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
        let accepts_rebound = policy
            .environments
            .iter()
            .any(|e| e.name == request.environment && e.mutable_prerelease);
        let input = gate_svc::input(
            &ledger,
            &change,
            "ci:bench",
            &request.environment,
            &policy.calendar,
            placement,
            &risk,
            &rules,
            accepts_rebound,
        )
        .await
        .map_err(|e| anyhow::anyhow!(e.message))?;
        let mut input = input;
        if a.dr {
            // As `gate::check` adds it: the readiness of the change's services, judged now.
            let mut services = Vec::new();
            for d in &change.request.artifacts {
                if let Some(art) = evidence::artifact(&ledger, d)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?
                {
                    services.push(art.meta.service);
                }
            }
            let now = jiff::Timestamp::now().as_second();
            let high = change.tier == ward_core::risk::Tier::High;
            let dr = ward_app::dr::states(&ledger, &policy.dr, Some(&services), "prod", high, now)
                .await
                .map_err(|e| anyhow::anyhow!(e.message))?;
            input["dr"] = serde_json::to_value(dr)?;
        }
        reads.push(t.elapsed());
        let t2 = Instant::now();
        let d = ward_core::gate::evaluate(policy.bundle_for(&request.environment), &input, &data)?;
        evals.push(t2.elapsed());
        decisions.push(t.elapsed());
        if d.reasons.is_empty() {
            anyhow::bail!("expected the bench changes to be blocked (no approvals)");
        }
        let t = Instant::now();
        gate_svc::check(&ledger, &ci, id, &request, &policy, &risk, &rules)
            .await
            .map_err(|e| anyhow::anyhow!(e.message))?;
        checks.push(t.elapsed());
        pb.inc(1);
    }
    pb.finish_and_clear();
    for v in [&mut reads, &mut evals, &mut decisions, &mut checks] {
        v.sort_unstable();
    }
    drop(tmp);
    let (r, e, dl, c) = (
        Latency::of(&reads),
        Latency::of(&evals),
        Latency::of(&decisions),
        Latency::of(&checks),
    );
    let result = json!({
        "backend": backend,
        "dr": a.dr,
        "changes": a.changes,
        "with_evidence": with_evidence,
        "checks": a.checks,
        "input_reads_ms": r.json(),
        "policy_evaluation_ms": e.json(),
        "decision_ms": dl.json(),
        "recorded_check_ms": c.json(),
    });
    emit(g.output, result, || {
        format!(
            "{backend}: {} changes in the store, {} gate checks over {with_evidence} changes with evidence\n  input reads:       {}\n  policy evaluation: {}\n  decision (both):   {}\n  recorded check:    {}",
            a.changes,
            a.checks,
            r.text(),
            e.text(),
            dl.text(),
            c.text()
        )
    });
    Ok(())
}

/// `ward bench rollback`: per rate, `runs` automated rollbacks of a bad canary, each on a fresh
/// SQLite store and local runtime in a scratch directory.
pub async fn rollback(g: &Global, a: &crate::cli::BenchRollbackArgs) -> Result<()> {
    if a.rates.iter().any(|r| !(r.is_finite() && *r > 0.0 && *r <= 10_000.0)) || a.runs == 0 {
        return Err(crate::failure::Failure::new(
            "invalid_request",
            "each --rates value must be above 0 and at most 10000 requests per second, and --runs at least 1",
            "e.g. ward bench rollback --rates 100 --runs 1",
        )
        .into());
    }
    let median = |v: &mut Vec<f64>| -> Option<f64> {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied()
    };
    let mut results = Vec::new();
    for &rate in &a.rates {
        let mut runs = Vec::new();
        for run in 0..a.runs {
            let tmp = Scratch::new(&format!("ward-bench-rollback-{}-{run}-", results.len()));
            std::fs::create_dir_all(&*tmp)?;
            let url = format!("sqlite://{}", tmp.join("bench.db").display());
            let ledger = Ledger::new(crate::context::open_store(&url).await?, ward_app::projectors());
            runs.push(crate::commands::demo_release::measure_rollback(&ledger, &tmp, rate).await?);
        }
        let field = |k: &str| -> Vec<f64> { runs.iter().filter_map(|r| r[k].as_f64()).collect() };
        let (mut detect, mut stable) = (field("start_to_rollback_ms"), field("time_to_stable_ms"));
        results.push(json!({
            "rate": rate,
            "median_start_to_rollback_ms": median(&mut detect),
            "median_time_to_stable_ms": median(&mut stable),
            "runs": runs,
        }));
    }
    let result = json!({ "backend": "sqlite", "runs_per_rate": a.runs, "results": results });
    emit(g.output, result.clone(), || {
        let mut out = String::from(
            "automated rollback of a bad canary (30% errors; 10% step, analysis every 100 ms, at least 20 requests, at most 5% errors at 95% confidence)",
        );
        for r in result["results"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "\n  {:>6} req/s: canary start → rollback recorded median {:.0} ms; breaching measurement → all traffic on stable median {:.3} ms",
                r["rate"].as_f64().unwrap_or_default(),
                r["median_start_to_rollback_ms"].as_f64().unwrap_or(f64::NAN),
                r["median_time_to_stable_ms"].as_f64().unwrap_or(f64::NAN)
            ));
            for run in r["runs"].as_array().into_iter().flatten() {
                out.push_str(&format!(
                    "\n           {:.0} ms, {:.3} ms, canary sample {} requests ({} errors)",
                    run["start_to_rollback_ms"].as_f64().unwrap_or(f64::NAN),
                    run["time_to_stable_ms"].as_f64().unwrap_or(f64::NAN),
                    run["canary_requests"],
                    run["canary_errors"]
                ));
            }
        }
        out
    });
    Ok(())
}
