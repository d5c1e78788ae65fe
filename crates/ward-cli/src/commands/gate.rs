//! `ward gate …` and `ward policy test`, locally or through a server.

use crate::cli::{GateCommand, Global, PolicyCommand};
use crate::context::{Context, local_operator};
use crate::failure::{EXIT_VERIFY_FAILED, Failure, api_failure};
use crate::output::emit;
use crate::remote::Remote;
use anyhow::Result;
use serde_json::json;
use ward_server::gate::{self, CheckRequest, GateDecision, Replay};

/// Exit code when a gate blocks.
pub const EXIT_BLOCKED: i32 = 4;

fn show(d: &GateDecision) -> String {
    let mut s = format!(
        "gate {} for {} → {}: {} (decision {}, {})\n  policy {}\n  input  {}\n",
        if d.allow { "ALLOWS" } else { "BLOCKS" },
        d.change,
        d.environment,
        if d.allow {
            "every control is satisfied".to_string()
        } else {
            format!("{} missing", d.reasons.len())
        },
        d.id,
        d.time,
        d.policy_digest,
        d.input_digest
    );
    for r in &d.reasons {
        s.push_str(&format!("  ✗ {}: {}\n      fix: {}\n", r.rule, r.message, r.fix));
    }
    s
}

/// Dispatches `ward gate`.
pub async fn gate(g: &Global, cmd: &GateCommand) -> Result<()> {
    let remote = Remote::from_global(g)?;
    match cmd {
        GateCommand::Check { change, env } => {
            let d: GateDecision = match &remote {
                Some(r) => {
                    r.post(
                        &format!("/api/v1/changes/{change}/gate"),
                        &CheckRequest {
                            environment: env.clone(),
                        },
                    )
                    .await?
                }
                None => {
                    let ctx = Context::open(g).await?;
                    let cfg = crate::commands::serve::load_config(g, None)?;
                    let policy = crate::commands::serve::gate_policy(&cfg)?;
                    gate::check(
                        &ctx.ledger,
                        &local_operator(),
                        change,
                        env,
                        &policy,
                        &cfg.risk,
                        &cfg.approvals,
                    )
                    .await
                    .map_err(api_failure)?
                }
            };
            emit(g.output, json!(d), || show(&d));
            if !d.allow {
                std::process::exit(EXIT_BLOCKED);
            }
        }
        GateCommand::Explain { id } => {
            let d: GateDecision = match &remote {
                Some(r) => r.get(&format!("/api/v1/gate/decisions/{id}"), &[]).await?,
                None => gate::decision(&Context::open(g).await?.ledger, *id)
                    .await
                    .map_err(api_failure)?,
            };
            emit(g.output, json!(d), || show(&d));
        }
        GateCommand::Replay { id } => {
            let r: Replay = match &remote {
                Some(r) => r.get(&format!("/api/v1/gate/decisions/{id}/replay"), &[]).await?,
                None => gate::replay(&Context::open(g).await?.ledger, *id)
                    .await
                    .map_err(api_failure)?,
            };
            emit(g.output, json!(r), || {
                format!(
                    "replayed decision {} from input {} and policy {}: {} ({} → {})",
                    r.recorded.id,
                    r.recorded.input_digest,
                    r.recorded.policy_digest,
                    if r.identical {
                        "identical verdict and reasons"
                    } else {
                        "DIFFERENT"
                    },
                    if r.recorded.allow { "allow" } else { "block" },
                    if r.replayed.allow { "allow" } else { "block" }
                )
            });
            if !r.identical {
                return Err(Failure {
                    code: EXIT_VERIFY_FAILED,
                    ..Failure::new(
                        "replay_differs",
                        format!("decision {id} did not replay identically"),
                        "the stored input or policy no longer gives the recorded verdict",
                    )
                }
                .into());
            }
        }
    }
    Ok(())
}

/// `ward policy test`.
pub fn policy(g: &Global, cmd: &PolicyCommand) -> Result<()> {
    let PolicyCommand::Test { dir } = cmd;
    let cfg = crate::commands::serve::load_config(g, None)?;
    let dir = dir.clone().or(cfg.gate.policy_dir.clone());
    let policy = gate::GatePolicy::load(dir.as_deref(), cfg.controls.clone())
        .map_err(|e| Failure::new("bad_policy", e, "check the policy directory"))?;
    let results = ward_core::gate::run_tests(&policy.bundle, &policy.data())
        .map_err(|e| Failure::new("bad_policy", e.to_string(), "fix the policy file named"))?;
    let failed = results.iter().filter(|r| !r.passed).count();
    emit(g.output, json!({ "tests": results, "failed": failed }), || {
        let mut s = String::new();
        for r in &results {
            s.push_str(&format!(
                "{} {}{}\n",
                if r.passed { "PASS" } else { "FAIL" },
                r.name,
                r.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default()
            ));
        }
        s.push_str(&format!("{} tests, {} failed", results.len(), failed));
        s
    });
    if failed > 0 {
        return Err(Failure::new(
            "policy_tests_failed",
            format!("{failed} policy tests failed"),
            "see FAIL lines above",
        )
        .into());
    }
    Ok(())
}
