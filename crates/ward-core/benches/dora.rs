//! DORA's five metrics over 100,000 production deployments (issue 18's target: under 1 s), with
//! a rollback for every 50th and an emergency change for every 200th, so every rule runs.
//!
//! `cargo bench -p ward-core --bench dora`

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use ward_core::dora::{Config, Deployment, Emergency, Facts, Outcome, Rollback, compute};

const T0: i64 = 1_796_000_000;

fn facts(n: u64) -> Facts {
    let services = ["patient-api", "lab-results", "scheduling", "billing"];
    let service = |i: u64| services[(i % 4) as usize].to_string();
    let deployments = (0..n)
        .map(|i| Deployment {
            seq: i * 3,
            time: T0 + i as i64 * 60,
            change: format!("CHG-{i}"),
            service: service(i),
            tenant: None,
            outcome: if i % 97 == 0 {
                Outcome::RolledBack
            } else {
                Outcome::Succeeded
            },
            unplanned: i % 200 == 1,
            first_commit_time: Some(T0 + i as i64 * 60 - 7_200),
            failed_at: (i % 97 == 0).then_some(T0 + i as i64 * 60 + 30),
            restored_at: (i % 97 == 0).then_some(T0 + i as i64 * 60 + 31),
        })
        .collect();
    let rollbacks = (0..n)
        .filter(|i| i % 50 == 3)
        .map(|i| Rollback {
            seq: i * 3 + 1,
            requested_at: T0 + i as i64 * 60 + 10,
            restored_at: T0 + i as i64 * 60 + 70,
            service: service(i),
            tenant: None,
            of_change: format!("CHG-{i}"),
            drill: false,
        })
        .collect();
    let emergencies = (0..n)
        .filter(|i| i % 200 == 1)
        .map(|i| Emergency {
            seq: i * 3 + 2,
            opened_at: T0 + i as i64 * 60 - 30,
            service: service(i),
            change: format!("CHG-{i}"),
        })
        .collect();
    Facts {
        deployments,
        rollbacks,
        emergencies,
    }
}

fn dora(c: &mut Criterion) {
    let f = facts(100_000);
    let to = T0 + 100_000 * 60;
    let mut g = c.benchmark_group("dora");
    g.sample_size(10);
    g.bench_function("compute_100k_deployments", |b| {
        b.iter(|| black_box(compute(black_box(&f), T0, to, &Config::default())))
    });
    g.finish();
}

criterion_group!(benches, dora);
criterion_main!(benches);
