//! `ward log fsck` at scale: the state check (every projection rebuilt in memory from the log
//! and compared with the stored rows, every blob against its digest) and the whole fsck (tree,
//! head, checkpoints, then the state check).
//!
//! Builds (once, cached under `target/ward-bench/`) a SQLite log whose events each write a
//! projection document of their own (the worst case: as many documents as entries) besides the
//! built-in `subjects` (100k keys) and `actors`, plus 1,000 evidence blobs of 8 KiB.
//!
//! `cargo bench -p ward-store --bench fsck` (sizes: `WARD_BENCH_SIZES=1000000`; PostgreSQL as
//! well with `WARD_BENCH_PG=postgres://…/db`, a database that may be reused).

use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use ward_ledger::{Actor, ActorKind, Ed25519Signer, EventEnvelope, NewEvent};
use ward_store::projection::default_projectors;
use ward_store::{Ledger, ProjectionOp, Projector};

const ORIGIN: &str = "bench.ward/log";

/// One document per event (as many documents as entries).
struct PerEvent;

impl Projector for PerEvent {
    fn name(&self) -> &'static str {
        "per_event"
    }
    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        vec![ProjectionOp::put_stamped(
            "items",
            format!("{}/{}", e.subject, e.seq),
            e,
            &json!({ "kind": e.kind, "actor": e.actor.id }),
        )]
    }
}

fn projectors() -> Vec<Arc<dyn Projector>> {
    let mut p = default_projectors();
    p.push(Arc::new(PerEvent));
    p
}

async fn fill(ledger: &Ledger, target: u64) {
    let mut size = ledger.head().await.unwrap().size();
    if size == 0 {
        for i in 0..1000u32 {
            let data: Vec<u8> = (0..8192u32).map(|j| (i.wrapping_mul(31) ^ j) as u8).collect();
            let digest = format!("sha256:{}", ward_ledger::hash::sha256(&data).to_hex());
            ledger.store().put_evidence(&digest, &data).await.unwrap();
        }
    }
    let started = Instant::now();
    let from = size;
    while size < target {
        let n = 10_000.min(target - size);
        let batch: Vec<NewEvent> = (0..n)
            .map(|i| NewEvent {
                actor: Actor { id: format!("ci:bench-{}", i % 16), kind: ActorKind::Automation },
                kind: "bench.event".into(),
                subject: format!("change:{}", (size + i) % 100_000),
                payload: json!({ "i": size + i, "digest": "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0" }),
            })
            .collect();
        ledger.append_batch(batch).await.unwrap();
        size += n;
        if size % 250_000 == 0 {
            eprintln!(
                "  filled {size}/{target} ({:.0}/s)",
                (size - from) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
}

fn peak_rss_mb() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()))
        })
        .map_or_else(|| "?".into(), |kb| format!("{}", kb / 1024))
}

async fn measure(label: &str, url: &str, size: u64) {
    let store = ward_store::open(url).await.unwrap();
    let ledger = Ledger::new(store, projectors());
    fill(&ledger, size).await;
    let signer = Ed25519Signer::from_seed(ORIGIN, [7u8; 32]);
    ledger.checkpoint(&signer, ORIGIN).await.unwrap();
    for run in 1..=2 {
        let (t, cpu) = (Instant::now(), ward_store::testing::cpu_seconds());
        let s = ledger.check_state().await.unwrap();
        let state_s = t.elapsed().as_secs_f64();
        let cpu = ward_store::testing::cpu_seconds() - cpu;
        assert!(s.ok(), "{:?}", s.differences);
        println!(
            "{label} size={size} run {run}: state check {state_s:.1}s wall, {cpu:.1}s CPU ({:.0} entries/s; {} documents, {} blobs); peak RSS {} MB",
            s.entries as f64 / state_s,
            s.documents,
            s.blobs,
            peak_rss_mb()
        );
    }
    let (t, cpu) = (Instant::now(), ward_store::testing::cpu_seconds());
    let r = ledger.fsck(Some(&signer.verifier()), ORIGIN, &|_, _| {}).await.unwrap();
    let fsck_s = t.elapsed().as_secs_f64();
    let cpu = ward_store::testing::cpu_seconds() - cpu;
    assert!(r.ok(), "{:?}", r.problems);
    println!(
        "{label} size={size}: whole fsck (tree + checkpoints + state) {fsck_s:.1}s wall, {cpu:.1}s CPU ({:.0} entries/s)",
        size as f64 / fsck_s
    );
}

fn main() {
    let sizes: Vec<u64> = std::env::var("WARD_BENCH_SIZES")
        .unwrap_or_else(|_| "1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ward-bench");
    std::fs::create_dir_all(&base).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for &size in &sizes {
            let url = format!("sqlite://{}", base.join(format!("fsck-{size}.db")).display());
            measure("sqlite", &url, size).await;
        }
        if let Ok(pg) = std::env::var("WARD_BENCH_PG") {
            for &size in &sizes {
                measure("postgres", &pg, size).await;
            }
        }
    });
}
