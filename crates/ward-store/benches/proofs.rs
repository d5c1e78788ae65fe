//! Proof generation and verification at scale, with percentiles.
//!
//! Builds (once, cached under `target/ward-bench/`) SQLite logs of 1M and 10M entries, then
//! measures inclusion and consistency proof generation through the store (p50/p99 over random
//! indices), exports the log and measures offline verification (leaves/s).
//!
//! `cargo bench -p ward-store --bench proofs` (sizes: `WARD_BENCH_SIZES=1000000,10000000`;
//! PostgreSQL as well with `WARD_BENCH_PG=postgres://…/db`, a database that may be reused).

use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use ward_ledger::export::verify_export;
use ward_ledger::proof::{verify_consistency, verify_inclusion};
use ward_ledger::{Actor, ActorKind, Ed25519Signer, NewEvent};
use ward_store::Ledger;

const ORIGIN: &str = "bench.ward/log";

fn pct(sorted: &[Duration], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1e6
}

struct Xs(u64);
impl Xs {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

async fn fill(ledger: &Ledger, target: u64) {
    let mut size = ledger.head().await.unwrap().size();
    let started = Instant::now();
    let from = size;
    while size < target {
        let n = 10_000.min(target - size);
        let batch: Vec<NewEvent> = (0..n)
            .map(|i| NewEvent {
                actor: Actor { id: format!("ci:bench-{}", i % 16), kind: ActorKind::Automation },
                kind: "bench.event".into(),
                subject: format!("change:{}", (size + i) % 1000),
                payload: json!({ "i": size + i, "digest": "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0" }),
            })
            .collect();
        ledger.append_batch(batch).await.unwrap();
        size += n;
        if size % 500_000 == 0 {
            eprintln!(
                "  filled {size}/{target} ({:.0}/s)",
                (size - from) as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
}

async fn measure(label: &str, url: &str, size: u64, export_dir: Option<PathBuf>) {
    let store = ward_store::open(url).await.unwrap();
    let ledger = Ledger::new(store, vec![]);
    fill(&ledger, size).await;
    let root = ledger.root_at(size).await.unwrap();
    let mut rng = Xs(0x9e37_79b9_7f4a_7c15);
    // Warm the caches first (a serving log is warm); the cold figure is printed too.
    let mut cold = Vec::new();
    for _ in 0..3000 {
        let index = rng.below(size);
        let t = Instant::now();
        ledger.inclusion_proof(index, size).await.unwrap();
        cold.push(t.elapsed());
    }
    cold.sort_unstable();
    println!(
        "{label} size={size}: first 3000 inclusion proofs (cold cache) p50={:.0}us p99={:.0}us",
        pct(&cold, 0.5),
        pct(&cold, 0.99)
    );
    let samples = 5000;
    let mut incl = Vec::with_capacity(samples);
    let mut cons = Vec::with_capacity(samples);
    for _ in 0..samples {
        let index = rng.below(size);
        let t = Instant::now();
        let p = ledger.inclusion_proof(index, size).await.unwrap();
        incl.push(t.elapsed());
        let leaf = ledger.store().entries(index, 1).await.unwrap().remove(0).leaf_hash;
        verify_inclusion(&leaf, index, size, &p, &root).unwrap();
        let from = 1 + rng.below(size - 1);
        let t = Instant::now();
        let p = ledger.consistency_proof(from, size).await.unwrap();
        cons.push(t.elapsed());
        if cons.len() <= 50 {
            verify_consistency(from, size, &p, &ledger.root_at(from).await.unwrap(), &root).unwrap();
        }
    }
    incl.sort_unstable();
    cons.sort_unstable();
    println!(
        "{label} size={size}: inclusion proof p50={:.0}us p99={:.0}us; consistency proof p50={:.0}us p99={:.0}us ({samples} samples)",
        pct(&incl, 0.5),
        pct(&incl, 0.99),
        pct(&cons, 0.5),
        pct(&cons, 0.99)
    );
    if let Some(dir) = export_dir {
        let signer = Ed25519Signer::from_seed(ORIGIN, [7u8; 32]);
        let _ = std::fs::remove_dir_all(&dir);
        let t = Instant::now();
        ledger.export(&dir, &signer, ORIGIN, &|_, _| {}).await.unwrap();
        let export_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let r = verify_export(&dir, &signer.verifier()).unwrap();
        let verify_s = t.elapsed().as_secs_f64();
        println!(
            "{label} size={size}: export {:.1}s ({:.0} entries/s); offline verify {:.1}s = {:.0} leaves/s",
            export_s,
            size as f64 / export_s,
            verify_s,
            r.size as f64 / verify_s
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn main() {
    let sizes: Vec<u64> = std::env::var("WARD_BENCH_SIZES")
        .unwrap_or_else(|_| "1000000,10000000".into())
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
            let url = format!("sqlite://{}", base.join(format!("proofs-{size}.db")).display());
            measure("sqlite", &url, size, Some(base.join(format!("export-{size}")))).await;
        }
        if let Ok(pg) = std::env::var("WARD_BENCH_PG") {
            for &size in &sizes {
                measure("postgres", &pg, size, None).await;
            }
        }
    });
}
