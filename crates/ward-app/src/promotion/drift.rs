//! Drift: what actually runs, compared with what Ward deployed.
//!
//! An observation names the digests (and, when known, the configuration digest) running in an
//! environment or one of its tenants. Against the tenant's deployment history it finds *shadow*
//! digests (never promoted there through Ward), *stale* ones (promoted once, not the current
//! release), *missing* ones, and a configuration that differs from the one deployed.

use super::target_for;
use crate::deployments::{deployments, history};
use crate::environment::{Environment, find};
use crate::error::AppError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use ward_core::Identity;
use ward_ledger::NewEvent;
use ward_store::Ledger;

/// What is running in an environment (or one tenant), as observed (e.g. from
/// `kubectl get pods -o json` reduced to image digests, or from a deploy tool's status).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// Environment.
    pub environment: String,
    /// Tenant observed, for an environment with tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Digests seen running.
    pub digests: Vec<String>,
    /// Digest of the effective configuration seen running, when the runtime reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
    /// Where the observation came from (free text, e.g. `kubectl context prod-eu`).
    #[serde(default)]
    pub source: String,
}

/// The drift found by an observation.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Drift {
    /// Environment.
    pub environment: String,
    /// Tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// What Ward's last successful deployment put there.
    pub expected: Vec<String>,
    /// Digests running that were never promoted to this environment through Ward.
    pub shadow: Vec<String>,
    /// Digests running that were promoted here once, but are not the current release.
    pub stale: Vec<String>,
    /// Expected digests that are not running.
    pub missing: Vec<String>,
    /// The configuration Ward deployed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_expected: Option<String>,
    /// `matches`, `differs` (deployed here once, not the current one), `shadow` (never deployed
    /// through Ward) or `unreported`.
    pub config: String,
    /// Anything of the above.
    pub drifted: bool,
    /// Log entry of the observation.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// Records what is running in an environment and compares it with what Ward deployed there.
pub async fn observe(ledger: &Ledger, by: &Identity, obs: &Observation) -> Result<Drift, AppError> {
    crate::identities::check_name("environment", &obs.environment)?;
    if let Some(t) = &obs.tenant {
        crate::identities::check_name("tenant", t)?;
    }
    if obs.digests.len() > 10_000 || obs.source.len() > 1000 {
        return Err(AppError::invalid(
            "too many digests or too long a source",
            "observe one environment at a time",
        ));
    }
    for d in obs.digests.iter().chain(obs.config_digest.iter()) {
        ward_evidence::digest::parse_digest(d)
            .map_err(|e| AppError::invalid(e.to_string(), "list sha256:<hex> digests"))?;
    }
    let list = deployments(ledger, &obs.environment).await?;
    let runs = history(&list, obs.tenant.as_deref());
    let current = runs.last();
    let expected: Vec<String> = current.map(|r| r.digests.clone()).unwrap_or_default();
    let config_expected = current.and_then(|r| r.config_digest.clone());
    let ever: std::collections::HashSet<&String> = runs.iter().flat_map(|r| &r.digests).collect();
    let shadow: Vec<String> = obs.digests.iter().filter(|d| !ever.contains(d)).cloned().collect();
    let stale: Vec<String> = obs
        .digests
        .iter()
        .filter(|d| ever.contains(d) && !expected.contains(d))
        .cloned()
        .collect();
    let missing: Vec<String> = expected.iter().filter(|d| !obs.digests.contains(d)).cloned().collect();
    let config = match &obs.config_digest {
        None => "unreported",
        Some(c) if Some(c) == config_expected.as_ref() => "matches",
        Some(c) if runs.iter().any(|r| r.config_digest.as_ref() == Some(c)) => "differs",
        Some(_) => "shadow",
    };
    let drifted =
        !(shadow.is_empty() && stale.is_empty() && missing.is_empty()) || matches!(config, "differs" | "shadow");
    let payload = json!({
        "environment": obs.environment, "tenant": obs.tenant, "observed": obs.digests,
        "config_observed": obs.config_digest, "source": obs.source,
        "expected": expected, "shadow": shadow, "stale": stale, "missing": missing,
        "config_expected": config_expected, "config": config, "drifted": drifted,
    });
    let receipt = ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "drift.observed".into(),
            subject: format!("env:{}", obs.environment),
            payload,
        })
        .await?;
    Ok(Drift {
        environment: obs.environment.clone(),
        tenant: obs.tenant.clone(),
        expected,
        shadow,
        stale,
        missing,
        config_expected,
        config: config.into(),
        drifted,
        seq: receipt.seq,
        time: receipt.time,
    })
}

/// Asks the environment's deployment target what runs (its `observe_command` for the `command`
/// target) and records one observation per tenant it reports.
pub async fn observe_runtime(
    ledger: &Ledger,
    by: &Identity,
    environment: &str,
    envs: &[Environment],
    runtime: Option<&dyn super::Runtimes>,
) -> Result<Vec<Drift>, AppError> {
    let env = find(envs, environment)?;
    let target = target_for(env, runtime)?;
    let running = target.observe(&env.name).await.map_err(|e| {
        AppError::new(
            crate::error::Kind::Upstream,
            "runtime_unavailable",
            e,
            "check the environment's observe_command, or give what runs as a file",
        )
    })?;
    let mut out = Vec::new();
    for r in running {
        let obs = Observation {
            environment: env.name.clone(),
            tenant: r.tenant,
            digests: r.digests,
            config_digest: r.config_digest,
            source: format!("runtime ({})", target.kind()),
        };
        out.push(observe(ledger, by, &obs).await?);
    }
    Ok(out)
}
