//! Promotion of a change's immutable artifacts into an environment, through its gate, by a
//! deployment target; every promotion leaves a deployment record.
//!
//! - [`environment`]: `[[environments]]` — chains (`after`), tenants and rings.
//! - [`config`]: configuration bundles per environment and tenant, secrets as references.
//! - [`target`]: the [`DeploymentTarget`] trait and the `command` target.
//! - [`drift`]: observations of what runs, compared with what Ward deployed.
//! - [`notes`]: release notes from the records.
//!
//! Chain and ring order are gate rules (`promotion.previous_environment`,
//! `promotion.ring_order`), so policy decides the exceptions: a tier's controls may allow
//! skipping (`may_skip_environments`), a waiver or break-glass may excuse them. Promotions into
//! one environment are serialised across processes by a store lock.

pub mod config;
pub mod drift;
pub mod environment;
pub mod notes;
pub mod target;

pub use drift::{Drift, Observation, observe, observe_runtime};
pub use environment::{Environment, Ring, validate};
pub use notes::{ReleaseEntry, release_notes, release_notes_markdown};
pub use target::{DeploymentTarget, Running, target_for};

use crate::changes::{self, Change};
use crate::error::AppError;
use crate::error::Kind;
use crate::gate::{self, CheckRequest, GatePolicy};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use ward_core::Identity;
use ward_core::approval::ApprovalRules;
use ward_core::risk::RiskRules;
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

const DEPLOYMENTS: &str = "deployments";

/// A promotion to run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PromoteRequest {
    /// Change.
    pub change: String,
    /// Target environment.
    pub environment: String,
    /// Only these tenants (in ring order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// Only this ring's tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring: Option<String>,
}

/// What a tenant (or the environment) ran before: the rollback plan of one target run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Restore {
    /// The deployment record it came from.
    pub deployment: u64,
    /// Its change.
    pub change: String,
    /// Its digests.
    pub digests: Vec<String>,
    /// Its effective configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
}

impl Restore {
    /// The one digest of a single-service release (what the local runtime runs).
    pub fn single(&self) -> Option<&str> {
        match self.digests.as_slice() {
            [d] => Some(d),
            _ => None,
        }
    }
}

/// One run of the deployment target within a deployment: one tenant, or the environment.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetRun {
    /// Tenant; none for an environment without tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// `sha256:` of the effective configuration deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
    /// `succeeded`, `failed`, or `skipped` (after an earlier tenant failed).
    pub status: String,
    /// The target's exit code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// `sha256:` of the captured output (stored beside the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_digest: Option<String>,
    /// The rollback plan: the previous known-good release of this tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_to: Option<Restore>,
}

/// A deployment record.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deployment {
    /// Change.
    pub change: String,
    /// Environment.
    pub environment: String,
    /// The artifact digests deployed.
    pub digests: Vec<String>,
    /// The ring promoted, when one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring: Option<String>,
    /// The tenants reached (empty for an environment without tenants).
    #[serde(default)]
    pub tenants: Vec<String>,
    /// Per tenant: configuration, outcome, output and rollback plan.
    #[serde(default)]
    pub targets: Vec<TargetRun>,
    /// The deployment target's kind.
    #[serde(default)]
    pub target: String,
    /// `succeeded` when every target run succeeded, else `failed`.
    pub status: String,
    /// The gate decision it relied on (log entry).
    pub gate_decision: u64,
    /// Signers of the current approvals it relied on.
    pub approvals: Vec<String>,
    /// Waivers and break-glass (ids) that excused reasons in that gate decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excused_by: Vec<String>,
    /// Identity that executed it.
    pub executed_by: String,
    /// For a rollback: the deployment it reverts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<u64>,
    /// For a rollback by hand: when it was asked for (RFC 3339), before the target ran; its
    /// recovery time runs from here (docs/METRICS.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<String>,
    /// A rollback drill's record: a rehearsal, never an intervention.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drill: bool,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// Projects `deployment.recorded` (key `<environment>/<seq>`).
pub struct DeploymentProjector;

impl Projector for DeploymentProjector {
    fn name(&self) -> &'static str {
        "deployments"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        match (e.kind.as_str(), p.get("environment").and_then(Value::as_str)) {
            ("deployment.recorded", Some(env)) => vec![ProjectionOp::put_stamped(
                DEPLOYMENTS,
                format!("{env}/{:020}", e.seq),
                e,
                p,
            )],
            _ => vec![],
        }
    }
}

/// Deployments into `environment`, oldest first.
pub async fn deployments(ledger: &Ledger, environment: &str) -> Result<Vec<Deployment>, AppError> {
    ledger
        .store()
        .projection_prefix(DEPLOYMENTS, &format!("{environment}/"))
        .await?
        .into_iter()
        .map(|(_, doc)| serde_json::from_value(doc).map_err(AppError::internal))
        .collect()
}

/// What a tenant (or the environment) runs, release by release: its successful target runs,
/// oldest first.
pub fn history(list: &[Deployment], tenant: Option<&str>) -> Vec<Restore> {
    list.iter()
        .flat_map(|d| {
            d.targets
                .iter()
                .filter(move |r| r.status == "succeeded" && r.tenant.as_deref() == tenant)
                .map(move |r| Restore {
                    deployment: d.seq,
                    change: d.change.clone(),
                    digests: d.digests.clone(),
                    config_digest: r.config_digest.clone(),
                })
        })
        .collect()
}

/// The deployments a later successful rollback reverted: never a known-good release again.
pub fn reverted(list: &[Deployment]) -> std::collections::HashSet<u64> {
    list.iter()
        .filter(|d| d.targets.iter().any(|r| r.status == "succeeded"))
        .filter_map(|d| d.rollback_of)
        .collect()
}

/// The latest release in `history` that differs (digests or configuration) from `current`
/// and was not reverted by a rollback.
pub fn known_good(
    history: &[Restore],
    reverted: &std::collections::HashSet<u64>,
    digests: &[String],
    config: Option<&str>,
) -> Option<Restore> {
    history
        .iter()
        .rev()
        .filter(|r| !reverted.contains(&r.deployment))
        .find(|r| r.digests.as_slice() != digests || r.config_digest.as_deref() != config)
        .cloned()
}

/// Serialises promotions into one environment: in this process (a mutex per environment) and
/// across processes sharing the store (a store lock).
#[derive(Clone, Default)]
pub struct Locks(Arc<std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>>);

/// A held environment lock.
pub struct EnvLock {
    _store: ward_store::StoreLock,
    _local: tokio::sync::OwnedMutexGuard<()>,
}

impl Locks {
    /// Takes the lock of `env`, waiting for it.
    pub async fn take(&self, ledger: &Ledger, env: &str) -> Result<EnvLock, AppError> {
        let local = {
            let mut map = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry(env.to_string()).or_default().clone()
        };
        let local = local.lock_owned().await;
        let store = ledger.store().lock(&format!("ward.promote:{env}")).await?;
        Ok(EnvLock {
            _store: store,
            _local: local,
        })
    }
}

/// What a promotion needs besides the ledger.
pub struct PromotionContext<'a> {
    /// Gate policy (which also holds the declared environments).
    pub policy: &'a GatePolicy,
    /// Risk rules.
    pub risk: &'a RiskRules,
    /// Approval rules.
    pub approvals: &'a ApprovalRules,
    /// Per-environment locks.
    pub locks: &'a Locks,
    /// The local runtime, inside `ward serve` (none in the CLI's local mode).
    pub runtime: Option<&'a Arc<crate::rollout::Engine>>,
}

fn refused(code: &str, message: String, hint: &str) -> AppError {
    AppError::new(Kind::Conflict, code, message, hint)
}

/// A declared environment by name.
pub fn find<'a>(envs: &'a [Environment], name: &str) -> Result<&'a Environment, AppError> {
    envs.iter()
        .find(|e| e.name == name)
        .ok_or_else(|| environment::undeclared(envs, name))
}

/// One deployment record, by its log entry.
pub async fn deployment(ledger: &Ledger, seq: u64) -> Result<Deployment, AppError> {
    for (_, doc) in ledger.store().projection_list(DEPLOYMENTS).await? {
        if doc.get("seq").and_then(Value::as_u64) == Some(seq) {
            return serde_json::from_value(doc).map_err(AppError::internal);
        }
    }
    Err(AppError::not_found(
        format!("no deployment {seq}"),
        "deployment ids are the `seq` of `ward deployments --env ENV`",
    ))
}

/// What one target run of a deployment printed, as stored beside the log.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetOutput {
    /// The deployment (log entry).
    pub deployment: u64,
    /// The tenant whose run it is (none for an environment without tenants).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The run's outcome.
    pub status: String,
    /// Exit code, when the target ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// `sha256:` of the output, as recorded in the log.
    pub output_digest: String,
    /// The output (UTF-8; invalid bytes replaced), with what the guard finds — PHI, secrets,
    /// credentials a script echoed — replaced by `[REDACTED:<detector>]`.
    pub output: String,
    /// The detectors whose findings were redacted (empty: nothing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
}

/// The stored output of deployment `seq`'s run for `tenant` (none: the only run, or the
/// environment's run when it has no tenants), checked against the digest the log records.
pub async fn target_output(
    ledger: &Ledger,
    seq: u64,
    tenant: Option<&str>,
    guard: &ward_evidence::guard::GuardConfig,
) -> Result<TargetOutput, AppError> {
    let d = deployment(ledger, seq).await?;
    let tenants = || {
        d.targets
            .iter()
            .filter_map(|r| r.tenant.clone())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let run = match tenant {
        Some(t) => d
            .targets
            .iter()
            .find(|r| r.tenant.as_deref() == Some(t))
            .ok_or_else(|| {
                AppError::not_found(
                    format!("deployment {seq} has no run for tenant {t}"),
                    format!("its runs: {}", tenants()),
                )
            })?,
        None if d.targets.len() == 1 => &d.targets[0],
        None => {
            return Err(AppError::invalid(
                format!("deployment {seq} ran for {} tenants", d.targets.len()),
                format!("name one with --tenant: {}", tenants()),
            ));
        }
    };
    let Some(digest) = run.output_digest.clone() else {
        return Err(AppError::not_found(
            format!(
                "deployment {seq}'s run {} recorded no output",
                run.tenant.as_deref().unwrap_or("")
            ),
            "a run skipped after an earlier failure has none: see its status",
        ));
    };
    let bytes = crate::documents::checked_bytes(ledger, &digest, "the stored output").await?;
    // Shown through the guard, as people's text is judged (credentials assigned in text too).
    let text = String::from_utf8_lossy(&bytes);
    let cfg = ward_evidence::guard::GuardConfig {
        password_assignments: true,
        ..guard.clone()
    };
    let found = ward_evidence::guard::scan(&text, &cfg);
    let mut redacted: Vec<String> = found.iter().map(|f| f.detector.clone()).collect();
    redacted.sort();
    redacted.dedup();
    Ok(TargetOutput {
        deployment: seq,
        tenant: run.tenant.clone(),
        status: run.status.clone(),
        exit_code: run.exit_code,
        output_digest: digest,
        output: ward_evidence::guard::redact(&text, &found),
        redacted,
    })
}

/// Deployment records of `environment`, oldest first, for a person asking by name: an
/// environment that is not declared and has no records is refused with a "did you mean" hint
/// (a typo must not read as "nothing was deployed"); one removed from ward.toml keeps its
/// history readable.
pub async fn deployment_history(
    ledger: &Ledger,
    envs: &[Environment],
    environment: &str,
) -> Result<Vec<Deployment>, AppError> {
    let list = deployments(ledger, environment).await?;
    if list.is_empty() && !envs.is_empty() {
        find(envs, environment)?;
    }
    Ok(list)
}

/// The `promotion` part of the gate input: the preceding environment and which of the change's
/// digests it has not verified, and tenants of earlier rings that do not run them yet.
pub async fn placement(
    ledger: &Ledger,
    envs: &[Environment],
    change: &Change,
    req: &CheckRequest,
) -> Result<Value, AppError> {
    let Some(env) = envs.iter().find(|e| e.name == req.environment) else {
        return Ok(
            json!({"declared": false, "previous": null, "not_in_previous": [], "ring": null,
            "tenants": [], "earlier_rings_pending": []}),
        );
    };
    let units = env
        .select(&req.tenants, req.ring.as_deref())
        .map_err(|e| AppError::invalid(e, "see the environment's tenants and rings in ward.toml"))?;
    let digests = &change.request.artifacts;
    let mut not_in_previous = Vec::new();
    if let Some(prev) = &env.after {
        let done = deployments(ledger, prev).await?;
        let undone = reverted(&done);
        // Verified: a fully successful deployment there that no rollback has reverted.
        let verified = |d: &String| {
            done.iter()
                .any(|x| x.status == "succeeded" && x.digests.contains(d) && !undone.contains(&x.seq))
        };
        not_in_previous = digests.iter().filter(|d| !verified(d)).cloned().collect();
    }
    let chosen: Vec<&str> = units.iter().flatten().map(String::as_str).collect();
    let mut pending = Vec::new();
    if let Some(last) = chosen.iter().filter_map(|t| env.ring_index(t)).max() {
        let list = deployments(ledger, &env.name).await?;
        for ring in &env.rings[..last] {
            for t in ring.tenants.iter().filter(|t| !chosen.contains(&t.as_str())) {
                let runs = history(&list, Some(t));
                let current = runs.last().map(|r| r.digests.clone()).unwrap_or_default();
                if !digests.iter().all(|d| current.contains(d)) {
                    pending.push(json!({"ring": ring.name, "tenant": t}));
                }
            }
        }
    }
    Ok(json!({
        "declared": true,
        "previous": env.after,
        "not_in_previous": not_in_previous,
        "ring": req.ring,
        "tenants": chosen,
        "earlier_rings_pending": pending,
    }))
}

/// What a release may go out on: the change, the gate decision that allowed it and the current
/// approvals it relies on.
pub struct Authority {
    /// The change.
    pub change: Change,
    /// The allowing gate decision.
    pub gate_decision: u64,
    /// Signers of the current approvals.
    pub approvals: Vec<String>,
    /// Waivers and break-glass (ids) that excused reasons in the decision.
    pub excused_by: Vec<String>,
}

/// Checks a change may enter `env` (for these tenants or ring): it ships artifacts and the
/// environment's gate — chain and ring order included — allows it (the decision is recorded).
pub async fn authorise(
    ledger: &Ledger,
    by: &Identity,
    change_id: &str,
    env: &Environment,
    tenants: &[String],
    ring: Option<&str>,
    cx: &PromotionContext<'_>,
) -> Result<Authority, AppError> {
    let change = changes::get(ledger, change_id).await?.ok_or_else(|| {
        AppError::not_found(
            format!("no change {change_id:?}"),
            "list changes with `ward change list`",
        )
    })?;
    if change.request.artifacts.is_empty() {
        return Err(AppError::invalid(
            format!("{} ships no artifact", change.id),
            "open the change with --artifact DIGEST",
        ));
    }
    let check = CheckRequest {
        environment: env.name.clone(),
        tenants: tenants.to_vec(),
        ring: ring.map(str::to_string),
    };
    let decision = gate::check(ledger, by, &change.id, &check, cx.policy, cx.risk, cx.approvals).await?;
    if !decision.allow {
        // Chain and ring order get their own codes; the fix says which step comes first.
        for (rule, code) in [
            ("promotion.previous_environment", "not_in_previous_environment"),
            ("promotion.ring_order", "ring_order"),
        ] {
            if let Some(r) = decision.reasons.iter().find(|r| r.rule == rule) {
                return Err(refused(
                    code,
                    format!("{} (gate decision {})", r.message, decision.id),
                    &r.fix,
                ));
            }
        }
        let reasons: Vec<String> = decision.reasons.iter().map(|r| r.rule.clone()).collect();
        return Err(AppError::new(
            Kind::Conflict,
            "gate_blocked",
            format!(
                "the {} gate blocks {} (decision {}): {}",
                env.name,
                change.id,
                decision.id,
                reasons.join(", ")
            ),
            format!("see what is missing: ward gate explain {}", decision.id),
        ));
    }
    // The approvals current at the decision: those its stored input lists (the current view
    // only if that document cannot be read).
    let input: Option<Value> = ledger
        .store()
        .evidence(&decision.input_digest)
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok());
    let approvals: Vec<String> = match input
        .as_ref()
        .and_then(|i| i.get("approvals"))
        .and_then(Value::as_array)
    {
        Some(list) => list
            .iter()
            .filter(|a| a.get("decision").and_then(Value::as_str) == Some("approved"))
            .filter(|a| a.get("stale").and_then(Value::as_bool) != Some(true))
            .filter_map(|a| a.get("signer").and_then(Value::as_str).map(str::to_string))
            .collect(),
        None => crate::approvals::view(ledger, &change.id, cx.risk, cx.approvals)
            .await?
            .approvals
            .iter()
            .filter(|a| a.decision == "approved" && !a.stale)
            .map(|a| a.signer.clone())
            .collect(),
    };
    let mut excused_by: Vec<String> = decision.waived.iter().map(|w| w.waiver.clone()).collect();
    excused_by.sort();
    excused_by.dedup();
    Ok(Authority {
        change,
        gate_decision: decision.id,
        approvals,
        excused_by,
    })
}

/// Promotes a change into an environment: its gate (chain and ring order included), then the
/// target for each tenant in ring order, then the deployment record.
pub async fn promote(
    ledger: &Ledger,
    by: &Identity,
    req: &PromoteRequest,
    cx: &PromotionContext<'_>,
) -> Result<Deployment, AppError> {
    let env = find(&cx.policy.environments, &req.environment)?;
    let mut units = env
        .select(&req.tenants, req.ring.as_deref())
        .map_err(|e| AppError::invalid(e, "see the environment's tenants and rings in ward.toml"))?;
    if env.runtime.is_some() {
        local_units(env, &mut units, !req.tenants.is_empty() || req.ring.is_some())?;
    }
    let target = target_for(env, cx.runtime)?;
    let _serialised = cx.locks.take(ledger, &env.name).await?;
    if env.runtime.is_some() {
        crate::rollout::ensure_idle(ledger, &env.name).await?;
    }
    let Authority {
        change,
        gate_decision,
        approvals,
        excused_by,
    } = authorise(ledger, by, &req.change, env, &req.tenants, req.ring.as_deref(), cx).await?;
    let list = deployments(ledger, &env.name).await?;
    let undone = reverted(&list);
    let mut jobs = Vec::new();
    for unit in units {
        let cfg = config::effective(ledger, &env.name, unit.as_deref()).await?;
        let plan = known_good(
            &history(&list, unit.as_deref()),
            &undone,
            &change.request.artifacts,
            cfg.as_ref().map(|c| c.digest.as_str()),
        );
        jobs.push(Job {
            tenant: unit,
            config: cfg,
            rollback_to: plan,
        });
    }
    let release = Release {
        env,
        change: &change.id,
        digests: &change.request.artifacts,
        ring: req.ring.as_deref(),
        gate_decision,
        approvals,
        excused_by,
        rollback_of: None,
        requested_at: None,
        drill: false,
    };
    record(ledger, by, &release, jobs, target.as_ref()).await
}

/// On the local runtime one process serves every tenant: a deployment is for the whole
/// environment (the unit `None`, first, which the target acts on) and every tenant (recorded
/// with the configuration each receives). Selecting tenants or a ring is refused there.
fn local_units(env: &Environment, units: &mut Vec<Option<String>>, selected: bool) -> Result<(), AppError> {
    local_only_whole(env, selected)?;
    units.clear();
    units.push(None);
    units.extend(env.all_tenants().into_iter().map(Some));
    Ok(())
}

/// Refuses a selection of tenants or a ring on the local runtime.
fn local_only_whole(env: &Environment, selected: bool) -> Result<(), AppError> {
    if selected {
        return Err(AppError::invalid(
            format!(
                "{} runs on the local runtime, where one process serves every tenant",
                env.name
            ),
            "expose it ring by ring with `ward rollout start` (strategy rings), or promote or roll back the whole environment",
        ));
    }
    Ok(())
}

/// One tenant's part of a deployment, prepared.
struct Job {
    tenant: Option<String>,
    config: Option<config::Effective>,
    rollback_to: Option<Restore>,
}

/// What is being released, and on whose authority.
pub struct Release<'a> {
    /// Environment.
    pub env: &'a Environment,
    /// Change.
    pub change: &'a str,
    /// Digests.
    pub digests: &'a [String],
    /// Ring, when one was named.
    pub ring: Option<&'a str>,
    /// The gate decision relied on.
    pub gate_decision: u64,
    /// Current approvers relied on.
    pub approvals: Vec<String>,
    /// Waivers and break-glass (ids) that excused reasons in that gate decision.
    pub excused_by: Vec<String>,
    /// For a rollback: the deployment it reverts.
    pub rollback_of: Option<u64>,
    /// For a rollback by hand: when it was asked for (RFC 3339).
    pub requested_at: Option<String>,
    /// A rollback drill's record.
    pub drill: bool,
}

/// Runs the target for each job in order (the rest are skipped after a failure) and records the
/// deployment.
async fn record(
    ledger: &Ledger,
    by: &Identity,
    rel: &Release<'_>,
    jobs: Vec<Job>,
    target: &dyn DeploymentTarget,
) -> Result<Deployment, AppError> {
    let mut runs = Vec::new();
    let mut failed = false;
    let tenant_configs: Vec<(String, config::Effective)> = jobs
        .iter()
        .filter_map(|j| Some((j.tenant.clone()?, j.config.clone()?)))
        .collect();
    for job in jobs {
        let mut run = TargetRun {
            tenant: job.tenant.clone(),
            config_digest: job.config.as_ref().map(|c| c.digest.clone()),
            status: "skipped".into(),
            exit_code: None,
            output_digest: None,
            rollback_to: job.rollback_to,
        };
        if !failed {
            let ring = job
                .tenant
                .as_deref()
                .and_then(|t| rel.env.ring_index(t))
                .map(|i| rel.env.rings[i].name.as_str());
            let outcome = target
                .deploy(&target::DeployJob {
                    environment: &rel.env.name,
                    change: rel.change,
                    digests: rel.digests,
                    tenant: job.tenant.as_deref(),
                    ring,
                    config: job.config.as_ref(),
                    tenant_configs: &tenant_configs,
                })
                .await;
            let digest = ward_evidence::digest::of_bytes(&outcome.output);
            ledger.store().put_evidence(&digest, &outcome.output).await?;
            run.status = if outcome.succeeded { "succeeded" } else { "failed" }.into();
            run.exit_code = outcome.exit_code;
            run.output_digest = Some(digest);
            failed = !outcome.succeeded;
        }
        runs.push(run);
    }
    append_record(ledger, by, rel, runs, target.kind()).await
}

/// Records a deployment whose target runs are done (`deployment.recorded`).
pub async fn append_record(
    ledger: &Ledger,
    by: &Identity,
    rel: &Release<'_>,
    runs: Vec<TargetRun>,
    target_kind: &str,
) -> Result<Deployment, AppError> {
    let failed = runs.iter().any(|r| r.status != "succeeded");
    let tenants: Vec<String> = runs.iter().filter_map(|r| r.tenant.clone()).collect();
    let payload = json!({
        "change": rel.change,
        "environment": rel.env.name,
        "digests": rel.digests,
        "ring": rel.ring,
        "tenants": tenants,
        "targets": runs,
        "target": target_kind,
        "status": if failed { "failed" } else { "succeeded" },
        "gate_decision": rel.gate_decision,
        "approvals": rel.approvals,
        "excused_by": rel.excused_by,
        "executed_by": by.id,
        "rollback_of": rel.rollback_of,
    });
    // Only rollbacks and drills carry these (other records keep their shape).
    let mut payload = payload;
    if let Some(t) = &rel.requested_at {
        payload["requested_at"] = json!(t);
    }
    if rel.drill {
        payload["drill"] = json!(true);
    }
    let receipt = ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "deployment.recorded".into(),
            subject: format!("env:{}", rel.env.name),
            payload: payload.clone(),
        })
        .await?;
    let mut doc = payload;
    doc["seq"] = json!(receipt.seq);
    doc["time"] = json!(receipt.time);
    serde_json::from_value(doc).map_err(AppError::internal)
}

/// Rolls an environment (or one tenant) back to its previous known-good release and
/// configuration, through the same target. Without a tenant, every tenant the latest successful
/// deployment reached goes back. The new record names the deployment it reverts and relies on
/// the gate decision and approvals of the release it restores.
pub async fn rollback(
    ledger: &Ledger,
    by: &Identity,
    environment: &str,
    tenant: Option<&str>,
    envs: &[Environment],
    locks: &Locks,
    runtime: Option<&Arc<crate::rollout::Engine>>,
) -> Result<Deployment, AppError> {
    let requested_at = ward_ledger::envelope::format_time(jiff::Timestamp::now());
    let env = find(envs, environment)?;
    let target = target_for(env, runtime)?;
    if env.runtime.is_some() {
        local_only_whole(env, tenant.is_some())?;
    }
    if let Some(t) = tenant
        && !env.all_tenants().iter().any(|x| x == t)
    {
        return Err(AppError::invalid(
            format!("{} has no tenant {t:?}", env.name),
            "see the environment's tenants in ward.toml",
        ));
    }
    let _serialised = locks.take(ledger, &env.name).await?;
    if env.runtime.is_some() {
        crate::rollout::ensure_idle(ledger, &env.name).await?;
    }
    let list = deployments(ledger, &env.name).await?;
    let latest = if env.runtime.is_some() {
        // The environment's current release (ring and restore records name only some tenants).
        let current = history(&list, None).pop();
        current.and_then(|c| list.iter().find(|d| d.seq == c.deployment))
    } else {
        list.iter().rev().find(|d| {
            d.targets
                .iter()
                .any(|r| r.status == "succeeded" && (tenant.is_none() || r.tenant.as_deref() == tenant))
        })
    };
    let Some(latest) = latest else {
        return Err(refused(
            "nothing_to_roll_back",
            format!(
                "{}{} has no successful deployment",
                env.name,
                tenant.map(|t| format!("/{t}")).unwrap_or_default()
            ),
            "promote a release first",
        ));
    };
    let mut units: Vec<Option<String>> = match tenant {
        Some(t) => vec![Some(t.to_string())],
        None => latest
            .targets
            .iter()
            .filter(|r| r.status == "succeeded")
            .map(|r| r.tenant.clone())
            .collect(),
    };
    if env.runtime.is_some() {
        local_units(env, &mut units, false)?;
    }
    let undone = reverted(&list);
    let mut restore: Option<Restore> = None;
    let mut jobs = Vec::new();
    for unit in units {
        let runs = history(&list, unit.as_deref());
        let name = unit
            .as_deref()
            .map_or(env.name.clone(), |t| format!("{}/{t}", env.name));
        let Some(current) = runs.last() else {
            if env.runtime.is_some() && unit.is_some() {
                // A tenant no deployment recorded yet: it follows the environment.
                continue;
            }
            return Err(refused(
                "nothing_to_roll_back",
                format!("{name} runs nothing deployed by Ward"),
                "promote a release first",
            ));
        };
        let Some(good) = known_good(&runs, &undone, &current.digests, current.config_digest.as_deref()) else {
            return Err(refused(
                "no_known_good",
                format!("{name} has no earlier release to go back to"),
                "there is nothing older than the current release",
            ));
        };
        if let Some(r) = &restore
            && (r.change != good.change || r.digests != good.digests)
        {
            return Err(refused(
                "mixed_rollback",
                format!(
                    "tenants of {} go back to different releases ({} and {})",
                    env.name, r.change, good.change
                ),
                "roll back one tenant at a time: ward rollback --env ENV --tenant T",
            ));
        }
        let config = config::load_effective(ledger, good.config_digest.as_deref()).await?;
        jobs.push(Job {
            tenant: unit,
            config,
            rollback_to: None,
        });
        restore = Some(good);
    }
    let Some(good) = restore else {
        return Err(refused(
            "nothing_to_roll_back",
            format!("{} has nothing to roll back", env.name),
            "promote a release first",
        ));
    };
    let restored = list
        .iter()
        .find(|d| d.seq == good.deployment)
        .ok_or_else(|| AppError::internal(format!("deployment {} is missing", good.deployment)))?;
    let release = Release {
        env,
        change: &good.change,
        digests: &good.digests,
        ring: None,
        gate_decision: restored.gate_decision,
        approvals: restored.approvals.clone(),
        excused_by: restored.excused_by.clone(),
        rollback_of: Some(latest.seq),
        requested_at: Some(requested_at),
        drill: false,
    };
    record(ledger, by, &release, jobs, target.as_ref()).await
}
