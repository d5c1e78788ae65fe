//! `ward promote` and `ward deployments`, locally or through a server.

use crate::cli::{EnvCommand, Global};
use crate::context::{Context, local_operator};
use crate::failure::api_failure;
use crate::output::emit;
use crate::remote::Remote;
use anyhow::Result;
use serde_json::json;
use ward_server::promotion::{self, Deployment, Drift, Observation, PromoteRequest, PromotionContext};

/// Exit code when an observation finds drift.
pub const EXIT_DRIFT: i32 = 6;
/// Largest observation file read.
const MAX_OBSERVATION: u64 = 4 * 1024 * 1024;

/// Digests from a JSON list of strings, or one per line (blank lines and `#` comments skipped).
pub fn parse_digests(text: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
        return list;
    }
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// `ward env`.
pub async fn env(g: &Global, cmd: &EnvCommand) -> Result<()> {
    let EnvCommand::Observe { env, from, source } = cmd;
    let text = if from.as_os_str() == "-" {
        use std::io::Read;
        let mut s = String::new();
        std::io::stdin().take(MAX_OBSERVATION).read_to_string(&mut s)?;
        s
    } else {
        let meta = std::fs::metadata(from)?;
        if meta.len() > MAX_OBSERVATION {
            anyhow::bail!("{} is larger than {MAX_OBSERVATION} bytes", from.display());
        }
        std::fs::read_to_string(from)?
    };
    let obs = Observation {
        environment: env.clone(),
        digests: parse_digests(&text),
        source: source.clone(),
    };
    let d: Drift = match Remote::from_global(g)? {
        Some(r) => r.post("/api/v1/observations", &obs).await?,
        None => promotion::observe(&Context::open(g).await?.ledger, &local_operator(), &obs)
            .await
            .map_err(api_failure)?,
    };
    emit(g.output, json!(d), || {
        if !d.drifted {
            return format!(
                "{}: running exactly what Ward deployed ({} digests; entry {})",
                d.environment,
                d.expected.len(),
                d.seq
            );
        }
        let mut s = format!("{}: DRIFT (entry {})\n", d.environment, d.seq);
        for x in &d.shadow {
            s.push_str(&format!("  shadow  {x}  (never promoted here through Ward)\n"));
        }
        for x in &d.stale {
            s.push_str(&format!("  stale   {x}  (promoted once, not the current release)\n"));
        }
        for x in &d.missing {
            s.push_str(&format!("  missing {x}  (deployed by Ward, not running)\n"));
        }
        s
    });
    if d.drifted {
        std::process::exit(EXIT_DRIFT);
    }
    Ok(())
}

fn line(d: &Deployment) -> String {
    let plan = match (d.rollback_to, d.rollback_of) {
        (_, Some(of)) => format!(", reverts entry {of}"),
        (Some(to), _) => format!(", rollback to entry {to}"),
        _ => String::new(),
    };
    format!(
        "{} {} → {}: {} (exit {}) by {} at {}, gate decision {}, approvals {}, output {}{plan}",
        d.change,
        d.digests.join(","),
        d.environment,
        d.status,
        d.exit_code.map_or("-".to_string(), |c| c.to_string()),
        d.executed_by,
        d.time,
        d.gate_decision,
        if d.approvals.is_empty() {
            "-".to_string()
        } else {
            d.approvals.join(", ")
        },
        d.output_digest
    )
}

/// `ward promote`.
pub async fn promote(g: &Global, change: &str, to: &str) -> Result<()> {
    let req = PromoteRequest {
        change: change.into(),
        environment: to.into(),
    };
    let d: Deployment = match Remote::from_global(g)? {
        Some(r) => r.post("/api/v1/promotions", &req).await?,
        None => {
            let ctx = Context::open(g).await?;
            let cfg = crate::commands::serve::load_config(g, None)?;
            let policy = crate::commands::serve::gate_policy(&cfg)?;
            let locks = promotion::Locks::default();
            let cx = PromotionContext {
                environments: &cfg.environments,
                policy: &policy,
                risk: &cfg.risk,
                approvals: &cfg.approvals,
                locks: &locks,
            };
            promotion::promote(&ctx.ledger, &local_operator(), &req, &cx)
                .await
                .map_err(api_failure)?
        }
    };
    emit(g.output, json!(d), || line(&d));
    if d.status != "succeeded" {
        return Err(crate::failure::Failure::new(
            "deployment_failed",
            format!(
                "the {} deployment target failed (recorded as entry {})",
                d.environment, d.seq
            ),
            "read its output: the digest is in the record",
        )
        .into());
    }
    Ok(())
}

/// `ward release notes`.
pub async fn release_notes(g: &Global, env: &str, since: Option<&str>) -> Result<()> {
    let entries: Vec<promotion::ReleaseEntry> = match Remote::from_global(g)? {
        Some(r) => {
            let q: Vec<(&str, String)> = since.map(|s| ("since", s.to_string())).into_iter().collect();
            r.get(&format!("/api/v1/environments/{env}/release-notes"), &q).await?
        }
        None => {
            let ctx = Context::open(g).await?;
            let cfg = crate::commands::serve::load_config(g, None)?;
            promotion::release_notes(&ctx.ledger, env, since, &cfg.risk, &cfg.approvals)
                .await
                .map_err(api_failure)?
        }
    };
    emit(g.output, json!({ "environment": env, "releases": entries }), || {
        promotion::release_notes_markdown(env, &entries)
    });
    Ok(())
}

/// `ward rollback`.
pub async fn rollback(g: &Global, env: &str) -> Result<()> {
    let d: Deployment = match Remote::from_global(g)? {
        Some(r) => {
            r.post(&format!("/api/v1/environments/{env}/rollback"), &json!({}))
                .await?
        }
        None => {
            let ctx = Context::open(g).await?;
            let cfg = crate::commands::serve::load_config(g, None)?;
            promotion::rollback(
                &ctx.ledger,
                &local_operator(),
                env,
                &cfg.environments,
                &promotion::Locks::default(),
            )
            .await
            .map_err(api_failure)?
        }
    };
    emit(g.output, json!(d), || format!("rolled back: {}", line(&d)));
    if d.status != "succeeded" {
        return Err(crate::failure::Failure::new(
            "deployment_failed",
            format!(
                "the {} rollback target failed (recorded as entry {})",
                d.environment, d.seq
            ),
            "read its output: the digest is in the record",
        )
        .into());
    }
    Ok(())
}

/// `ward deployments`.
pub async fn deployments(g: &Global, env: &str) -> Result<()> {
    let list: Vec<Deployment> = match Remote::from_global(g)? {
        Some(r) => r.get(&format!("/api/v1/environments/{env}/deployments"), &[]).await?,
        None => promotion::deployments(&Context::open(g).await?.ledger, env)
            .await
            .map_err(api_failure)?,
    };
    emit(g.output, json!({ "deployments": list }), || {
        if list.is_empty() {
            return format!("no deployments to {env}");
        }
        list.iter().map(line).collect::<Vec<_>>().join("\n")
    });
    Ok(())
}
