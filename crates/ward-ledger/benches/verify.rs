//! Offline verification rate (leaves/s) of a tlog-tiles export, without any database.
//!
//! Writes (once, cached under `target/ward-bench/`) an export of N sealed events shaped like the
//! store benchmark's (actor, subject, a small payload with a digest), one signed checkpoint every
//! 100,000 entries plus the head, then runs `verify_export` three times and prints the best and
//! median rate.
//!
//! `cargo bench -p ward-ledger --bench verify` (size: `WARD_BENCH_VERIFY_SIZE`, default 1000000)

use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use ward_ledger::export::{ExportWriter, checkpoints_from_tree, verify_export};
use ward_ledger::{Actor, ActorKind, Ed25519Signer, MemoryTree, NewEvent, leaf_hash};

const ORIGIN: &str = "bench.ward/log";

fn build(dir: &Path, n: u64, signer: &Ed25519Signer) {
    let mut tree = MemoryTree::new();
    let mut w = ExportWriter::create(dir).expect("create export");
    for i in 0..n {
        let sealed = NewEvent {
            actor: Actor {
                id: format!("ci:bench-{}", i % 16),
                kind: ActorKind::Automation,
            },
            kind: "bench.event".into(),
            subject: format!("change:{}", i % 1000),
            payload: json!({ "i": i, "digest": "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0" }),
        }
        .seal(i, jiff::Timestamp::UNIX_EPOCH)
        .expect("seal");
        let h = leaf_hash(&sealed.leaf);
        tree.push(h);
        w.push(&sealed.leaf, h).expect("push");
    }
    let mut sizes: Vec<u64> = (1..=n / 100_000).map(|k| k * 100_000).collect();
    if sizes.last() != Some(&n) {
        sizes.push(n);
    }
    let (notes, proofs) = checkpoints_from_tree(&tree, &sizes, signer, ORIGIN).expect("checkpoints");
    w.finish(ORIGIN, &notes, &proofs).expect("finish");
}

fn main() {
    let n: u64 = std::env::var("WARD_BENCH_VERIFY_SIZE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let signer = Ed25519Signer::from_seed(ORIGIN, [7u8; 32]);
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../target/ward-bench/verify-{n}"));
    if !dir.join("checkpoint").exists() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.parent().expect("parent")).expect("mkdir");
        let t = Instant::now();
        build(&dir, n, &signer);
        eprintln!("built export of {n} entries in {:.1}s", t.elapsed().as_secs_f64());
    }
    let mut rates = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = verify_export(&dir, &signer.verifier()).expect("verifies");
        assert_eq!(r.size, n);
        rates.push(n as f64 / t.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "offline verify, {n} leaves: median {:.0} leaves/s, best {:.0} leaves/s ({} threads)",
        rates[1],
        rates[2],
        std::thread::available_parallelism().map_or(1, |p| p.get())
    );
}
