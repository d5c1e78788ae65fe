//! Every `ward bench …` subcommand runs as a real process with tiny sizes: it exits 0 and its
//! JSON output carries the figures it promises (counts, errors, verification, the latency
//! fields). Timings are never asserted here; they live in BENCHMARKS.md.
//!
//! `ward bench --help` is the list of subcommands: one that has no smoke run below fails
//! `every_bench_subcommand_has_a_smoke_run`.

mod common;
use common::{ok, run, ward};
use serde_json::Value;
use std::path::Path;

/// The subcommands this file runs, one `#[test]` each (`bench_<name>_…`).
const SMOKED: &[&str] = &["append", "http", "gate", "router", "rollback"];

/// Runs `ward --output json bench <args>` and returns its JSON document.
fn bench(dir: &Path, args: &[&str]) -> Value {
    let mut c = ward(dir, None);
    c.args(["--output", "json", "bench"]).args(args);
    // The benches put their scratch stores in the temporary directory: keep them in this test's.
    c.env("TMPDIR", dir);
    let out = ok(run(c));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("ward bench {args:?}: not JSON ({e}):\n{out}"))
}

fn num(v: &Value, path: &str) -> f64 {
    let mut cur = v;
    for k in path.split('.') {
        cur = &cur[k];
    }
    cur.as_f64().unwrap_or_else(|| panic!("{path} is not a number in {v}"))
}

/// p50 ≤ p99 ≤ max, all present.
fn latency(v: &Value, key: &str) {
    let (p50, p99, max) = (
        num(v, &format!("{key}.p50")),
        num(v, &format!("{key}.p99")),
        num(v, &format!("{key}.max")),
    );
    assert!(
        0.0 <= p50 && p50 <= p99 && p99 <= max,
        "{key}: p50 {p50}, p99 {p99}, max {max}"
    );
}

#[test]
fn every_bench_subcommand_has_a_smoke_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = ward(dir.path(), None);
    c.args(["bench", "--help"]);
    let help = ok(run(c));
    let listed: Vec<String> = help
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|name| name != "help")
        .collect();
    assert!(
        !listed.is_empty(),
        "no subcommands found in `ward bench --help`:\n{help}"
    );
    let missing: Vec<&String> = listed.iter().filter(|n| !SMOKED.contains(&n.as_str())).collect();
    assert!(
        missing.is_empty(),
        "`ward bench` subcommands without a smoke run in tests/bench_smoke.rs: {missing:?}"
    );
    let gone: Vec<&&str> = SMOKED.iter().filter(|n| !listed.iter().any(|l| l == *n)).collect();
    assert!(
        gone.is_empty(),
        "smoke runs for subcommands `ward bench --help` no longer lists: {gone:?}"
    );
}

#[test]
fn bench_append_reports_durable_appends_and_a_verified_log() {
    let dir = tempfile::tempdir().unwrap();
    let r = bench(
        dir.path(),
        &["append", "--count", "200", "--concurrency", "4", "--payload", "50"],
    );
    assert_eq!(r["backend"], "sqlite", "{r}");
    assert_eq!(r["appends"], 200, "{r}");
    assert_eq!(r["concurrency"], 4, "{r}");
    assert_eq!(r["payload_bytes"], 50, "{r}");
    assert_eq!(r["log_verified"], true, "{r}");
    assert!(num(&r, "appends_per_second") > 0.0, "{r}");
    assert!(num(&r, "seconds") > 0.0, "{r}");
    latency(&r, "latency_ms");
}

#[test]
fn bench_http_reports_authenticated_appends_without_errors() {
    let dir = tempfile::tempdir().unwrap();
    let r = bench(
        dir.path(),
        &["http", "--clients", "2", "--duration", "1", "--payload", "50"],
    );
    assert_eq!(r["backend"], "sqlite", "{r}");
    assert_eq!(r["clients"], 2, "{r}");
    assert_eq!(r["errors"], 0, "{r}");
    assert_eq!(r["log_verified"], true, "{r}");
    assert!(num(&r, "appends") > 0.0, "{r}");
    assert!(num(&r, "appends_per_second") > 0.0, "{r}");
    latency(&r, "latency_ms");
}

#[test]
fn bench_gate_reports_reads_evaluation_and_recorded_checks() {
    let dir = tempfile::tempdir().unwrap();
    let r = bench(
        dir.path(),
        &["gate", "--changes", "30", "--with-evidence", "3", "--checks", "6"],
    );
    assert_eq!(r["backend"], "sqlite", "{r}");
    assert_eq!(r["changes"], 30, "{r}");
    assert_eq!(r["with_evidence"], 3, "{r}");
    assert_eq!(r["checks"], 6, "{r}");
    for key in [
        "input_reads_ms",
        "policy_evaluation_ms",
        "decision_ms",
        "recorded_check_ms",
    ] {
        latency(&r, key);
    }
}

#[test]
fn bench_gate_runs_with_a_dr_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let r = bench(
        dir.path(),
        &[
            "gate",
            "--changes",
            "30",
            "--with-evidence",
            "3",
            "--checks",
            "6",
            "--dr",
        ],
    );
    assert_eq!(r["dr"], true, "{r}");
    assert_eq!(r["checks"], 6, "{r}");
    latency(&r, "decision_ms");
}

#[test]
fn bench_router_reports_each_target_and_the_added_latency() {
    let dir = tempfile::tempdir().unwrap();
    // No --sample: the default (`ward-sample-service` beside `ward`, else `ward sample-service`).
    let r = bench(
        dir.path(),
        &["router", "--rate", "50", "--duration", "1", "--clients", "2"],
    );
    assert_eq!(r["rate"], 50, "{r}");
    assert_eq!(r["duration_secs"], 1, "{r}");
    let results = r["results"].as_array().unwrap_or_else(|| panic!("no results: {r}"));
    let targets: Vec<&str> = results.iter().filter_map(|x| x["target"].as_str()).collect();
    assert_eq!(&targets[..2], ["direct", "ward-router"], "{r}");
    for row in results {
        assert_eq!(row["requests"], 50, "{row}");
        assert_eq!(row["errors"], 0, "{row}");
        assert!(num(row, "max_rps") > 0.0, "{row}");
        let (p50, p99, p999) = (num(row, "p50_ms"), num(row, "p99_ms"), num(row, "p999_ms"));
        assert!(0.0 <= p50 && p50 <= p99 && p99 <= p999, "{row}");
    }
    let added = r["added_latency_ms"].as_array().unwrap_or_else(|| panic!("{r}"));
    assert_eq!(added.len(), results.len() - 1, "{r}");
    for x in added {
        num(x, "p50");
        num(x, "p99");
    }
}

/// Run with the sizes its refusal of sizes out of range prints, as printed (issue 17).
#[test]
fn bench_rollback_reports_the_time_to_roll_a_bad_canary_back() {
    let dir = tempfile::tempdir().unwrap();
    let refused = run({
        let mut c = ward(dir.path(), None);
        c.args(["bench", "rollback", "--runs", "0"]);
        c
    });
    assert!(!refused.status.success());
    let printed = common::hint_commands(&refused.stderr)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no command in the hint: {}", String::from_utf8_lossy(&refused.stderr)));
    assert_eq!(printed[..2], ["bench", "rollback"], "{printed:?}");
    let args: Vec<&str> = printed[1..].iter().map(String::as_str).collect();
    let r = bench(dir.path(), &args);
    let results = r["results"].as_array().unwrap_or_else(|| panic!("no results: {r}"));
    assert_eq!(results.len(), 1, "{r}");
    assert_eq!(results[0]["rate"], 100.0, "{r}");
    let run = &results[0]["runs"][0];
    assert!(num(run, "start_to_rollback_ms") > 0.0, "{run}");
    assert!(num(run, "time_to_stable_ms") >= 0.0, "{run}");
    assert!(num(run, "canary_requests") >= 20.0, "at least min_requests: {run}");
    assert!(num(run, "canary_errors") > 0.0, "{run}");
    num(&results[0], "median_start_to_rollback_ms");
}
