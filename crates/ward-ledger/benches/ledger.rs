//! Micro-benchmarks of the pure ledger core (criterion): leaf hashing, frontier appends,
//! in-memory proof generation and proof verification at 1M leaves.
//!
//! `cargo bench -p ward-ledger --bench ledger`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use ward_ledger::envelope::{EventEnvelope, LeafHeader};
use ward_ledger::proof::{verify_consistency, verify_inclusion};
use ward_ledger::{Frontier, MemoryTree, leaf_hash};

fn leaf(i: u64) -> Vec<u8> {
    format!(
        r#"{{"actor":{{"id":"ci:bench","kind":"automation"}},"kind":"bench.event","payload":{{"inline":{{"i":{i}}}}},"seq":{i},"subject":"change:{}","time":"2026-11-23T10:00:00.000000Z","v":1}}"#,
        i % 1000
    )
    .into_bytes()
}

fn hashing(c: &mut Criterion) {
    let data = leaf(123_456);
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Elements(1));
    g.bench_function("leaf_hash_200B", |b| b.iter(|| leaf_hash(black_box(&data))));
    g.bench_function("frontier_push", |b| {
        let mut f = Frontier::new();
        let h = leaf_hash(&data);
        b.iter(|| f.push(black_box(h)))
    });
    g.bench_function("envelope_check_200B", |b| {
        b.iter(|| EventEnvelope::from_leaf(black_box(&data)).is_ok())
    });
    g.bench_function("jcs_check_200B", |b| {
        b.iter(|| ward_ledger::jcs_check::check(black_box(&data)))
    });
    g.bench_function("leaf_header_check_200B", |b| {
        b.iter(|| LeafHeader::from_leaf(black_box(&data)).is_ok())
    });
    g.finish();
}

fn proofs(c: &mut Criterion) {
    let n = 1_000_000u64;
    let mut tree = MemoryTree::new();
    for i in 0..n {
        tree.push(leaf_hash(&leaf(i)));
    }
    let root = tree.root();
    let mut g = c.benchmark_group("proof_1M");
    let idx = 777_777u64;
    g.bench_function(BenchmarkId::new("inclusion_generate", n), |b| {
        b.iter(|| tree.inclusion_proof(black_box(idx), n))
    });
    let p = tree.inclusion_proof(idx, n).unwrap();
    let lh = tree.node(ward_ledger::NodeId::new(0, idx)).unwrap();
    g.bench_function(BenchmarkId::new("inclusion_verify", n), |b| {
        b.iter(|| verify_inclusion(black_box(&lh), idx, n, &p, &root).unwrap())
    });
    let old = 654_321u64;
    let r1 = tree.root_at(old).unwrap();
    let cp = tree.consistency_proof(old, n).unwrap();
    g.bench_function(BenchmarkId::new("consistency_generate", n), |b| {
        b.iter(|| tree.consistency_proof(black_box(old), n))
    });
    g.bench_function(BenchmarkId::new("consistency_verify", n), |b| {
        b.iter(|| verify_consistency(old, n, black_box(&cp), &r1, &root).unwrap())
    });
    g.finish();
}

criterion_group!(benches, hashing, proofs);
criterion_main!(benches);
