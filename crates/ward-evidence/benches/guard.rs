//! The PHI/secret guard on adversarial input (criterion): every input of
//! `guard::adversarial_inputs` — one 5 MiB line of `dob 1980-01-02 ` (the issue-15 attack),
//! runs of digits, `@`, base64 noise, `key=`, near-miss SSNs, URLs with user info, JWT and PEM
//! prefixes, non-ASCII text, five million newlines, … — through `guard::scan`, plus a real-shaped
//! 5 MB SARIF log for comparison. The target: each under 1 s.
//!
//! `cargo bench -p ward-evidence --bench guard` (size: `WARD_GUARD_BENCH_BYTES`, default 5 MiB)

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use ward_evidence::guard::{GuardConfig, adversarial_inputs, realistic_sarif, scan};

fn bytes() -> usize {
    std::env::var("WARD_GUARD_BENCH_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5 * 1024 * 1024)
}

fn guard(c: &mut Criterion) {
    let n = bytes();
    let cfg = GuardConfig::default();
    let mut g = c.benchmark_group("guard");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut inputs = adversarial_inputs(n);
    inputs.push(("sarif-5mb-realistic", realistic_sarif(n)));
    for (name, text) in &inputs {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_function(*name, |b| b.iter(|| black_box(scan(black_box(text), &cfg)).len()));
    }
    g.finish();
}

criterion_group!(benches, guard);
criterion_main!(benches);
