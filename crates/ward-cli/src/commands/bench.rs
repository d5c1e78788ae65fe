//! `ward bench append`: durable appends through group commit under concurrency.

use crate::cli::{BenchAppendArgs, Global};
use crate::output::{emit, progress};
use anyhow::Result;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use ward_ledger::{Actor, ActorKind, NewEvent};
use ward_store::Ledger;
use ward_store::projection::default_projectors;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs the load test against `--database-url`, or a fresh SQLite file in a temporary directory.
pub async fn append(g: &Global, a: &BenchAppendArgs) -> Result<()> {
    let tmp = std::env::temp_dir().join(format!("ward-bench-{}", std::process::id()));
    let url = match &g.database_url {
        Some(u) => u.clone(),
        None => {
            std::fs::create_dir_all(&tmp)?;
            format!("sqlite://{}", tmp.join("bench.db").display())
        }
    };
    let store = crate::context::open_store(&url).await?;
    let backend = store.backend();
    let start_size = store.head().await?.size();
    let ledger = Ledger::new(store, default_projectors());
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
    let _ = std::fs::remove_dir_all(&tmp);
    let result = json!({
        "backend": backend,
        "appends": lat.len(),
        "concurrency": a.concurrency,
        "payload_bytes": a.payload,
        "seconds": elapsed,
        "appends_per_second": n / elapsed,
        "latency_ms": { "p50": percentile(&lat, 0.50), "p99": percentile(&lat, 0.99), "max": percentile(&lat, 1.0) },
        "log_size_before": start_size,
        "log_verified": report.ok(),
    });
    emit(g.output, result.clone(), || {
        format!(
            "{backend}: {} durable appends in {elapsed:.2}s = {:.0}/s (concurrency {}, payload {} B)\n  latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n  log verified afterwards: {}",
            lat.len(),
            n / elapsed,
            a.concurrency,
            a.payload,
            percentile(&lat, 0.5),
            percentile(&lat, 0.99),
            percentile(&lat, 1.0),
            report.ok()
        )
    });
    if !report.ok() {
        anyhow::bail!("log failed verification after the load test: {:?}", report.problems);
    }
    Ok(())
}
