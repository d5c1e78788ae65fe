//! Every adversarial input of `guard::adversarial_inputs` (and a real-shaped SARIF log) through
//! `guard::scan` at 5 MiB, each the best of `REPS` scans (default 2): the whole set in a few
//! minutes, where the criterion bench (`benches/guard.rs`) takes about an hour for it.
//!
//! `cargo run --release -p ward-evidence --example guard_sweep -- [NAME … | ALL]`
//! (size: `WARD_GUARD_BENCH_BYTES`, default 5 MiB). Prints one line per input, slowest first.

use std::time::Instant;
use ward_evidence::guard::{GuardConfig, adversarial_inputs, realistic_sarif, scan};

fn main() {
    let want: Vec<String> = std::env::args().skip(1).collect();
    let all = want.is_empty() || want.iter().any(|w| w == "ALL");
    let bytes = std::env::var("WARD_GUARD_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5 * 1024 * 1024);
    let reps: usize = std::env::var("REPS").ok().and_then(|r| r.parse().ok()).unwrap_or(2);
    let mut inputs = adversarial_inputs(bytes);
    inputs.push(("sarif-5mb-realistic", realistic_sarif(bytes)));
    let cfg = GuardConfig::default();
    let mut times = Vec::new();
    for (name, text) in inputs.iter().filter(|(n, _)| all || want.iter().any(|w| w == n)) {
        let mut best = f64::MAX;
        for _ in 0..reps.max(1) {
            let t = Instant::now();
            std::hint::black_box(scan(text, &cfg).len());
            best = best.min(t.elapsed().as_secs_f64() * 1e3);
        }
        times.push((best, *name));
    }
    times.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (ms, name) in times {
        println!("{name:32} {ms:9.1} ms");
    }
}
