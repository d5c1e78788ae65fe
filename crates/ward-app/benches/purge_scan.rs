//! The purge's one pass over the log (`documents::attested_file_only`): before a raw evidence
//! file is purged, every entry is read to find whether Ward keeps the bytes as its own record.
//! It reads every leaf, looks for the digest's bytes (memchr), and parses only the leaves that
//! hold them or whose payload is stored out of line (then it reads that payload's blob).
//!
//! Builds (once, cached under `target/ward-bench/`) a SQLite log of N entries: callers' events
//! of about 300 bytes, one in a hundred with a payload over 8 KiB (stored out of line), the
//! attested file's `attestation.added` at the start and ten callers' events naming it spread
//! through the log. Times the pass for an attested file (the whole log read: the case of every
//! allowed purge) and for bytes nobody attested.
//!
//! `cargo bench -p ward-app --bench purge_scan` (sizes: `WARD_BENCH_SIZES=100000,1000000`).

use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use ward_ledger::{Actor, ActorKind, NewEvent};
use ward_store::Ledger;

const ATTESTED: &str = "sha256:5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
const NOBODYS: &str = "sha256:0b0d1e50b0d1e50b0d1e50b0d1e50b0d1e50b0d1e50b0d1e50b0d1e50b0d1e5";

fn actor() -> Actor {
    Actor {
        id: "ci:bench".into(),
        kind: ActorKind::Automation,
    }
}

async fn fill(ledger: &Ledger, target: u64) {
    let mut size = ledger.head().await.unwrap().size();
    if size == 0 {
        ledger
            .append(NewEvent {
                actor: actor(),
                kind: "attestation.added".into(),
                subject: "artifact:sha256:aa".into(),
                payload: json!({ "id": ATTESTED, "artifact": "sha256:aa", "type": "junit", "size": 1 }),
            })
            .await
            .unwrap();
        size = 1;
    }
    let padding = "ok ".repeat(3000);
    while size < target {
        let n = 10_000.min(target - size);
        let batch: Vec<NewEvent> = (0..n)
            .map(|i| {
                let seq = size + i;
                let mut payload = json!({
                    "build": seq, "pipeline": "patient-api/main", "status": "passed",
                    "artifact": "sha256:0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0",
                    "runner": "linux-x64", "duration_ms": seq % 9000,
                });
                if seq % 100 == 50 {
                    payload["log"] = json!(padding);
                }
                if seq % (target / 10).max(1) == 7 {
                    payload["report"] = json!(ATTESTED);
                }
                NewEvent {
                    actor: actor(),
                    kind: "build.finished".into(),
                    subject: format!("pipeline:{}", seq % 1000),
                    payload,
                }
            })
            .collect();
        ledger.append_batch(batch).await.unwrap();
        size += n;
    }
}

async fn measure(url: &str, size: u64) {
    let store = ward_store::open(url).await.unwrap();
    let ledger = Ledger::new(store, ward_app::projectors());
    fill(&ledger, size).await;
    let size = ledger.head().await.unwrap().size();
    for (what, digest, purgeable) in [
        ("an attested file", ATTESTED, true),
        ("bytes nobody attested", NOBODYS, false),
    ] {
        for run in 1..=3 {
            let (t, cpu) = (Instant::now(), ward_store::testing::cpu_seconds());
            let verdict = ward_app::documents::attested_file_only(&ledger, digest).await;
            let (wall, cpu) = (t.elapsed().as_secs_f64(), ward_store::testing::cpu_seconds() - cpu);
            assert_eq!(verdict.is_ok(), purgeable, "{what}");
            println!(
                "sqlite size={size} {what} run {run}: {:.0} ms wall, {:.0} ms CPU ({:.0} entries/s)",
                wall * 1000.0,
                cpu * 1000.0,
                size as f64 / wall
            );
        }
    }
}

fn main() {
    let sizes: Vec<u64> = std::env::var("WARD_BENCH_SIZES")
        .unwrap_or_else(|_| "100000".into())
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
            let url = format!("sqlite://{}", base.join(format!("purge-scan-{size}.db")).display());
            measure(&url, size).await;
        }
    });
}
