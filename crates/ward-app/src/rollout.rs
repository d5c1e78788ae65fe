//! Progressive delivery on the local runtime: rollouts (canary, blue-green, tenant rings) with
//! analysis and automated rollback, rollback drills, and the local runtime as a deployment
//! target.
//!
//! A rollout's state lives in the log: `rollout.started` (with its plan), `rollout.step`,
//! `rollout.analysis`, `rollout.paused` / `rollout.resumed`, `rollout.halted` (a ring went back
//! to stable, the rings before it keep the new version), then `rollout.completed` or
//! `rollout.rolled_back`. The [`RolloutProjector`] keeps them per rollout; [`Rollout`] is their
//! fold. When `ward serve` starts, [`Engine::start`] binds each local environment's router,
//! starts its stable version from the deployment records, and resumes every rollout that had
//! not finished (a Ward killed mid-rollout resumes at the recorded step).
//!
//! ```toml
//! [[environments]]
//! name = "prod"
//! runtime = { listen = "127.0.0.1:8088", admin = "127.0.0.1:9464", artifacts = "dist" }
//! strategy = { kind = "canary", steps = [10, 50, 100], pause_ms = 5000,
//!              analysis = { max_error_rate = 0.02, min_requests = 50, max_p95_ratio = 2.0 } }
//! ```

use crate::environment::{self, Environment, Strategy, StrategyKind};
use crate::error::AppError;
use crate::error::Kind;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use ward_core::Identity;
use ward_core::canary::Thresholds;
use ward_ledger::{EventEnvelope, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

const ROLLOUTS: &str = "rollouts";

/// One step of a rollout plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    /// What it is (`10%`, `switch`, a ring name).
    pub label: String,
    /// Canary share of unpinned traffic.
    pub percent: u8,
    /// Tenants pinned to the new version from this step on (rings).
    #[serde(default)]
    pub tenants: Vec<String>,
    /// The canary share goes by request, not sticky per tenant: none of the environment's
    /// tenants hashes into the step's share, so sticky assignment would send the canary nothing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_request: bool,
}

/// The plan of a strategy in an environment.
pub fn plan(strategy: &Strategy, env: &Environment) -> Result<Vec<Step>, String> {
    match strategy.kind {
        StrategyKind::Canary => {
            if strategy.steps.is_empty() || strategy.steps.iter().any(|p| *p == 0 || *p > 100) {
                return Err("canary steps are percentages from 1 to 100".into());
            }
            if strategy.steps.windows(2).any(|w| w[0] >= w[1]) || strategy.steps.last() != Some(&100) {
                return Err("canary steps must rise and end at 100".into());
            }
            // With the environment's few tenants, sticky assignment may put none of them in a
            // step's share: that step goes by request, so the canary still gets traffic to judge.
            let tenants = env.all_tenants();
            let none_sticky = |p: u8| {
                p < 100
                    && !tenants.is_empty()
                    && tenants.iter().all(|t| ward_core::canary::bucket_of(t) >= u64::from(p))
            };
            Ok(strategy
                .steps
                .iter()
                .map(|p| Step {
                    label: if none_sticky(*p) {
                        format!("{p}% by request")
                    } else {
                        format!("{p}%")
                    },
                    percent: *p,
                    tenants: vec![],
                    by_request: none_sticky(*p),
                })
                .collect())
        }
        StrategyKind::BlueGreen => Ok(vec![Step {
            label: "switch".into(),
            percent: 100,
            tenants: vec![],
            by_request: false,
        }]),
        StrategyKind::Rings => {
            if env.rings.is_empty() {
                return Err(format!("{} declares no rings", env.name));
            }
            let mut pinned = Vec::new();
            let mut steps: Vec<Step> = env
                .rings
                .iter()
                .map(|r| {
                    pinned.extend(r.tenants.iter().cloned());
                    Step {
                        label: r.name.clone(),
                        percent: 0,
                        tenants: pinned.clone(),
                        by_request: false,
                    }
                })
                .collect();
            // Everyone else (requests without a known tenant) last.
            steps.push(Step {
                label: "everyone".into(),
                percent: 100,
                tenants: pinned,
                by_request: false,
            });
            Ok(steps)
        }
    }
}

/// A rollout to start.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RolloutRequest {
    /// Change.
    pub change: String,
    /// Environment (on the local runtime).
    pub environment: String,
    /// Overrides the environment's strategy for this change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    /// Adjusts the environment's strategy for this change: another kind. The analysis, the
    /// checks and the failure limit stay the environment's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<StrategyKind>,
    /// Adjusts the environment's strategy: these canary steps (percent), nothing else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<u8>>,
    /// Adjusts the environment's strategy: this step window, ms (keep-warm stays the
    /// environment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause_ms: Option<u64>,
}

impl RolloutRequest {
    /// Refuses adjustments that would mean nothing for the kind that runs, rather than ignore
    /// them: blue-green has one switch (no `steps`) and is watched for the environment's
    /// `keep_warm_ms`, not a step pause (`--pause-ms` would have looked like a short window
    /// while the switched release kept all traffic for the whole keep-warm window); rings
    /// follow the environment's rings (no `steps`).
    pub fn check_adjustments(&self, env: Option<&Strategy>) -> Result<(), String> {
        if self.strategy.is_some() {
            return Ok(());
        }
        let kind = self.kind.or(env.map(|s| s.kind)).unwrap_or(StrategyKind::Canary);
        let kind_name = match kind {
            StrategyKind::Canary => return Ok(()),
            StrategyKind::BlueGreen => "blue-green",
            StrategyKind::Rings => "rings",
        };
        if self.steps.is_some() {
            return Err(format!(
                "traffic steps apply to canary rollouts; a {kind_name} rollout has none"
            ));
        }
        if kind == StrategyKind::BlueGreen && self.pause_ms.is_some() {
            return Err(
                "a pause between steps applies to canary and ring steps; a blue-green rollout is watched for the environment's keep_warm_ms"
                    .into(),
            );
        }
        Ok(())
    }

    /// The strategy this rollout runs: a whole strategy given with the request; else the
    /// environment's (or the default canary) with only what the request adjusts — another
    /// kind keeps the environment's analysis, checks and failure limit, so choosing a kind or
    /// steps on the command line never loosens the analysis the environment requires.
    pub fn effective_strategy(&self, env: Option<&Strategy>) -> Strategy {
        let base = env.cloned().unwrap_or_else(|| Strategy::of(StrategyKind::Canary));
        if let (Some(s), None) = (&self.strategy, env) {
            // No environment strategy to hold it to.
            return s.clone();
        }
        if let Some(s) = &self.strategy {
            // A whole strategy may be stricter than the environment's, never looser: its
            // analysis is held to the environment's limits and the environment's checks run too.
            let mut s = s.clone();
            s.analysis = stricter(&s.analysis, &base.analysis);
            for c in &base.http_checks {
                if !s.http_checks.contains(c) {
                    s.http_checks.push(c.clone());
                }
            }
            for c in &base.prometheus {
                if !s.prometheus.contains(c) {
                    s.prometheus.push(c.clone());
                }
            }
            s.failure_limit = s.failure_limit.min(base.failure_limit);
            return s;
        }
        let mut s = match self.kind {
            // Another kind keeps the environment's analysis, checks, limits and timings.
            Some(kind) if kind != base.kind => Strategy {
                kind,
                steps: Strategy::of(kind).steps,
                ..base
            },
            _ => base,
        };
        if let Some(steps) = &self.steps {
            s.steps = steps.clone();
        }
        // The step window only: how long the old version stays warm after a switch (the instant
        // rollback) is the environment's.
        if let Some(p) = self.pause_ms {
            s.pause_ms = p;
        }
        s
    }
}

/// The stricter of two sets of analysis limits, limit by limit.
fn stricter(asked: &Thresholds, env: &Thresholds) -> Thresholds {
    let min_opt = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Thresholds {
        max_error_rate: asked.max_error_rate.min(env.max_error_rate),
        max_p99_ms: min_opt(asked.max_p99_ms, env.max_p99_ms),
        max_p95_ratio: min_opt(asked.max_p95_ratio, env.max_p95_ratio),
        min_requests: asked.min_requests.max(env.min_requests),
    }
}

/// An operator's command to a running rollout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Command {
    /// Hold at the current step.
    Pause,
    /// Go on.
    Resume,
    /// Skip the remaining steps: the new version takes all traffic now.
    Promote,
    /// Roll back now.
    Abort,
}

/// An operator's command as the driver receives it: what, by whom, and why.
#[derive(Clone, Debug)]
pub struct Order {
    /// The command.
    pub command: Command,
    /// The person (or automation) who issued it: the actor of the events it causes.
    pub by: Identity,
    /// Why, when given (required to promote a high-tier change).
    pub reason: Option<String>,
}

/// The body of an operator's command (optional).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CommandRequest {
    /// Why (recorded; 10 to 4000 characters). Promoting a high-tier change past its analysis
    /// requires one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Shortest reason an operator may give.
pub const MIN_REASON_CHARS: usize = 10;

/// Checks an operator's command against the change's tier (pure): promoting skips the analysis
/// of the remaining steps, so on a high-tier change it needs a reason of at least
/// [`MIN_REASON_CHARS`] characters. A reason, when given, must be 10 to 4000 characters.
pub fn check_command(cmd: Command, tier: ward_core::risk::Tier, reason: Option<&str>) -> Result<(), AppError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    if let Some(r) = reason
        && (r.chars().count() < MIN_REASON_CHARS || r.len() > 4000 || r.chars().any(char::is_control))
    {
        return Err(AppError::new(
            Kind::Unprocessable,
            "bad_reason",
            format!("a reason must be {MIN_REASON_CHARS} to 4000 characters on one line"),
            "give a reason, e.g. \"hotfix for the failing lab-results feed\"",
        ));
    }
    // People's text passes the PHI/secret guard, as every other reason does.
    if let Some(r) = reason {
        crate::freetext::check("reason", r)?;
    }
    if cmd == Command::Promote && tier == ward_core::risk::Tier::High && reason.is_none() {
        return Err(AppError::new(
            Kind::Unprocessable,
            "promote_reason_required",
            "promoting a high-tier change skips the analysis of its remaining steps and needs a recorded reason",
            format!("give a reason of at least {MIN_REASON_CHARS} characters"),
        ));
    }
    Ok(())
}

/// A step an operator's promote skipped: never analysed, never passed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedStep {
    /// Index in the plan.
    pub step: usize,
    /// Its label.
    pub label: String,
    /// Who skipped it.
    pub by: String,
    /// Why, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One recorded event of a rollout.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolloutEvent {
    /// Event kind.
    pub kind: String,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
    /// Payload.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Value,
}

/// A rollout: its plan and where it stands, folded from its events.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Rollout {
    /// `RO-<8 hex>`.
    pub id: String,
    /// Change.
    pub change: String,
    /// Environment.
    pub environment: String,
    /// The new version's digest.
    pub digest: String,
    /// The version it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_digest: Option<String>,
    /// Effective configuration of the new version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
    /// Per tenant: the effective configuration it receives (tenant → digest).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tenant_configs: BTreeMap<String, String>,
    /// Strategy.
    pub strategy: Strategy,
    /// Plan.
    pub plan: Vec<Step>,
    /// `running`, `paused`, `halted` (rings: a ring failed and went back to stable, the rings
    /// before it keep the new version until an operator resumes, promotes or aborts),
    /// `completed`, `failed` or `aborted`.
    pub status: String,
    /// Index of the current step (`plan.len()` once completed).
    pub step: usize,
    /// An operator promoted it: the new version takes all traffic (only completion is left).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub promoted: bool,
    /// Steps an operator's promote skipped (shown as skipped, never as passed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedStep>,
    /// Why it paused, failed or was aborted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The last analysis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub last_analysis: Option<Value>,
    /// For a rollback: milliseconds from the breaching measurement to all traffic on stable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_stable_ms: Option<f64>,
    /// The gate decision it relied on.
    pub gate_decision: u64,
    /// Approvers it relied on.
    pub approvals: Vec<String>,
    /// Waivers and break-glass (ids) that excused reasons in that gate decision.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excused_by: Vec<String>,
    /// The change's risk tier when it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub tier: Option<ward_core::risk::Tier>,
    /// Who started it.
    pub started_by: String,
    /// Every event, in order.
    pub events: Vec<RolloutEvent>,
}

impl Rollout {
    /// Whether it has finished (completed, failed or aborted).
    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed" | "aborted")
    }

    /// Folds a rollout's events (oldest first).
    pub fn fold(events: Vec<RolloutEvent>) -> Option<Rollout> {
        let start = events.first().filter(|e| e.kind == "rollout.started")?.payload.clone();
        let mut r = Rollout {
            id: start.get("id")?.as_str()?.into(),
            change: start.get("change")?.as_str()?.into(),
            environment: start.get("environment")?.as_str()?.into(),
            digest: start.get("digest")?.as_str()?.into(),
            stable_digest: start.get("stable_digest").and_then(Value::as_str).map(str::to_string),
            config_digest: start.get("config_digest").and_then(Value::as_str).map(str::to_string),
            tenant_configs: serde_json::from_value(start.get("tenant_configs").cloned().unwrap_or(json!({})))
                .unwrap_or_default(),
            strategy: serde_json::from_value(start.get("strategy")?.clone()).ok()?,
            plan: serde_json::from_value(start.get("plan")?.clone()).ok()?,
            status: "running".into(),
            step: 0,
            promoted: false,
            skipped: vec![],
            reason: None,
            last_analysis: None,
            time_to_stable_ms: None,
            gate_decision: start.get("gate_decision").and_then(Value::as_u64).unwrap_or(0),
            approvals: serde_json::from_value(start.get("approvals").cloned().unwrap_or(json!([]))).unwrap_or_default(),
            excused_by: serde_json::from_value(start.get("excused_by").cloned().unwrap_or(json!([])))
                .unwrap_or_default(),
            tier: start.get("tier").and_then(|t| serde_json::from_value(t.clone()).ok()),
            started_by: start.get("started_by").and_then(Value::as_str).unwrap_or("").into(),
            events: vec![],
        };
        for e in &events[1..] {
            let p = &e.payload;
            if p.get("promoted").and_then(Value::as_bool) == Some(true) {
                r.promoted = true;
            }
            let step = p.get("step").and_then(Value::as_u64).map(|s| s as usize);
            match e.kind.as_str() {
                "rollout.step" => {
                    r.step = step.unwrap_or(r.step);
                    r.status = "running".into();
                }
                "rollout.analysis" => r.last_analysis = p.get("verdict").cloned(),
                "rollout.step_skipped" => {
                    r.status = "running".into();
                    r.reason = None;
                    let by = p.get("by").and_then(Value::as_str).unwrap_or("").to_string();
                    let reason = p.get("reason").and_then(Value::as_str).map(str::to_string);
                    for s in p.get("steps").and_then(Value::as_array).into_iter().flatten() {
                        let Some(step) = s.get("step").and_then(Value::as_u64) else {
                            continue;
                        };
                        r.skipped.push(SkippedStep {
                            step: step as usize,
                            label: s.get("label").and_then(Value::as_str).unwrap_or("").into(),
                            by: by.clone(),
                            reason: reason.clone(),
                        });
                    }
                }
                "rollout.paused" => {
                    r.status = "paused".into();
                    r.reason = p.get("reason").and_then(Value::as_str).map(str::to_string);
                }
                "rollout.resumed" => {
                    r.status = "running".into();
                    r.reason = None;
                }
                "rollout.completed" => {
                    r.status = "completed".into();
                    r.step = r.plan.len();
                }
                "rollout.halted" => {
                    r.status = "halted".into();
                    r.reason = p.get("reason").and_then(Value::as_str).map(str::to_string);
                    r.time_to_stable_ms = p.get("time_to_stable_ms").and_then(Value::as_f64);
                    if let Some(v) = p.get("verdict") {
                        r.last_analysis = Some(v.clone());
                    }
                }
                "rollout.rolled_back" => {
                    r.status = if p.get("aborted").and_then(Value::as_bool) == Some(true) {
                        "aborted"
                    } else {
                        "failed"
                    }
                    .into();
                    r.reason = p.get("reason").and_then(Value::as_str).map(str::to_string);
                    r.time_to_stable_ms = p.get("time_to_stable_ms").and_then(Value::as_f64);
                    if let Some(v) = p.get("verdict") {
                        r.last_analysis = Some(v.clone());
                    }
                }
                _ => {}
            }
        }
        r.events = events;
        Some(r)
    }
}

/// Projects `rollout.*` and `drill.*` events (key `<id>/<seq>`).
pub struct RolloutProjector;

impl Projector for RolloutProjector {
    fn name(&self) -> &'static str {
        "rollouts"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        if !e.kind.starts_with("rollout.") {
            return vec![];
        }
        let Some(id) = p.get("id").and_then(Value::as_str) else {
            return vec![];
        };
        vec![ProjectionOp::Put {
            collection: ROLLOUTS.into(),
            key: format!("{id}/{:020}", e.seq),
            doc: json!({"kind": e.kind, "seq": e.seq, "time": e.time, "payload": p}),
        }]
    }
}

fn event_of(doc: Value) -> Option<RolloutEvent> {
    serde_json::from_value(doc).ok()
}

/// A rollout by id.
pub async fn get(ledger: &Ledger, id: &str) -> Result<Option<Rollout>, AppError> {
    crate::identities::check_name("rollout", &id.to_ascii_lowercase())?;
    let events: Vec<RolloutEvent> = ledger
        .store()
        .projection_prefix(ROLLOUTS, &format!("{id}/"))
        .await?
        .into_iter()
        .filter_map(|(_, d)| event_of(d))
        .collect();
    Ok(Rollout::fold(events))
}

/// Every rollout (optionally of one environment), oldest first.
pub async fn list(ledger: &Ledger, environment: Option<&str>) -> Result<Vec<Rollout>, AppError> {
    let mut by_id: std::collections::BTreeMap<String, Vec<RolloutEvent>> = Default::default();
    for (key, doc) in ledger.store().projection_list(ROLLOUTS).await? {
        if let (Some((id, _)), Some(e)) = (key.split_once('/'), event_of(doc)) {
            by_id.entry(id.to_string()).or_default().push(e);
        }
    }
    let mut out: Vec<Rollout> = by_id
        .into_values()
        .filter_map(Rollout::fold)
        .filter(|r| environment.is_none_or(|e| r.environment == e))
        .collect();
    out.sort_by_key(|r| r.events.first().map(|e| e.seq));
    Ok(out)
}

/// Rollouts, oldest first, of one environment asked for by name (or of all): as
/// [`crate::deployments::deployment_history`], an undeclared name without records is refused with
/// a "did you mean" hint rather than answered with an empty list.
pub async fn history(
    ledger: &Ledger,
    envs: &[Environment],
    environment: Option<&str>,
) -> Result<Vec<Rollout>, AppError> {
    let out = list(ledger, environment).await?;
    if let Some(name) = environment
        && out.is_empty()
        && !envs.is_empty()
    {
        environment::find(envs, name)?;
    }
    Ok(out)
}

fn conflict(code: &str, message: String, hint: &str) -> AppError {
    AppError::new(Kind::Conflict, code, message, hint)
}

/// Refuses when a rollout of `environment` has not finished (running, paused or halted): a
/// new rollout, a drill, a promotion or a rollback would pull the runtime from under it.
pub async fn ensure_idle(ledger: &Ledger, environment: &str) -> Result<(), AppError> {
    match list(ledger, Some(environment))
        .await?
        .into_iter()
        .find(|r| !r.finished())
    {
        Some(active) => Err(conflict(
            "rollout_in_progress",
            format!(
                "{environment} is already rolling out {} ({}, {})",
                active.change, active.id, active.status
            ),
            &format!("wait for it to finish, or abort rollout {}", active.id),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--strategy canary --steps 5,100` used to replace the environment's whole strategy with
    /// the defaults, minimum requests included; now it changes only the steps, and another kind
    /// keeps the environment's analysis, checks and failure limit.
    #[test]
    fn steps_on_the_command_line_change_only_the_steps() {
        let env = Strategy {
            analysis: Thresholds {
                max_error_rate: 0.01,
                min_requests: 200,
                ..Thresholds::default()
            },
            failure_limit: 3,
            ..Strategy::of(StrategyKind::Canary)
        };
        let req = |kind, steps, pause_ms| RolloutRequest {
            change: "CHG-1".into(),
            environment: "prod".into(),
            strategy: None,
            kind,
            steps,
            pause_ms,
        };
        let s = req(Some(StrategyKind::Canary), Some(vec![5, 100]), None).effective_strategy(Some(&env));
        assert_eq!(s.steps, vec![5, 100]);
        assert_eq!(
            (s.analysis.clone(), s.failure_limit, s.pause_ms),
            (env.analysis.clone(), 3, env.pause_ms)
        );
        let bg = req(Some(StrategyKind::BlueGreen), None, Some(900)).effective_strategy(Some(&env));
        assert_eq!(bg.kind, StrategyKind::BlueGreen);
        assert_eq!((bg.analysis.min_requests, bg.failure_limit, bg.pause_ms), (200, 3, 900));
        assert_eq!(
            bg.keep_warm_ms, env.keep_warm_ms,
            "the instant rollback stays warm as configured"
        );
        let bg = req(Some(StrategyKind::BlueGreen), None, None).effective_strategy(Some(&env));
        assert_eq!(
            bg.pause_ms, env.pause_ms,
            "another kind keeps the environment's timings"
        );
        // Adjustments that mean nothing for the kind are refused, not silently ignored: a
        // blue-green "--pause-ms 1" used to leave the switched release on all traffic for the
        // whole keep-warm window.
        assert!(
            req(Some(StrategyKind::BlueGreen), None, Some(1))
                .check_adjustments(Some(&env))
                .unwrap_err()
                .contains("keep_warm_ms")
        );
        assert!(
            req(Some(StrategyKind::BlueGreen), Some(vec![50, 100]), None)
                .check_adjustments(Some(&env))
                .is_err()
        );
        assert!(
            req(Some(StrategyKind::Rings), Some(vec![50, 100]), None)
                .check_adjustments(Some(&env))
                .is_err()
        );
        let bg_env = Strategy {
            kind: StrategyKind::BlueGreen,
            ..env.clone()
        };
        assert!(
            req(None, None, Some(1)).check_adjustments(Some(&bg_env)).is_err(),
            "the environment's kind counts"
        );
        assert!(
            req(Some(StrategyKind::Canary), Some(vec![5, 100]), Some(10))
                .check_adjustments(Some(&bg_env))
                .is_ok()
        );
        assert!(
            req(Some(StrategyKind::Rings), None, Some(10))
                .check_adjustments(Some(&env))
                .is_ok()
        );
        // A whole strategy may be stricter, never looser: max_error_rate 0.9 / min_requests 0 is
        // held to the environment's 0.01 / 200; its failure limit to the environment's.
        let loose = Strategy {
            analysis: Thresholds {
                max_error_rate: 0.9,
                min_requests: 0,
                max_p95_ratio: None,
                max_p99_ms: None,
            },
            failure_limit: 9,
            ..Strategy::of(StrategyKind::Rings)
        };
        let whole = RolloutRequest {
            strategy: Some(loose),
            ..req(Some(StrategyKind::Canary), Some(vec![1]), None)
        }
        .effective_strategy(Some(&env));
        assert_eq!(whole.kind, StrategyKind::Rings, "a whole strategy keeps its kind");
        assert_eq!(
            (whole.analysis.max_error_rate, whole.analysis.min_requests),
            (0.01, 200)
        );
        assert_eq!(whole.analysis.max_p95_ratio, env.analysis.max_p95_ratio);
        assert_eq!(whole.failure_limit, 3);
        assert_eq!(
            req(None, None, None).effective_strategy(None),
            Strategy::of(StrategyKind::Canary)
        );
    }

    fn event(kind: &str, seq: u64, payload: Value) -> RolloutEvent {
        RolloutEvent {
            kind: kind.into(),
            seq,
            time: "2026-12-01T00:00:00Z".into(),
            payload,
        }
    }

    fn started() -> RolloutEvent {
        let plan = vec![
            Step {
                label: "internal".into(),
                percent: 0,
                tenants: vec!["internal".into()],
                by_request: false,
            },
            Step {
                label: "pilot".into(),
                percent: 0,
                tenants: vec!["internal".into(), "clinic-a".into()],
                by_request: false,
            },
        ];
        event(
            "rollout.started",
            1,
            json!({"id": "RO-1", "change": "CHG-1", "environment": "prod", "digest": "sha256:aa",
                "strategy": Strategy::of(StrategyKind::Rings), "plan": plan,
                "tenant_configs": {"clinic-a": "sha256:cc"}}),
        )
    }

    #[test]
    fn a_halted_rollout_is_unfinished_and_a_promote_survives_a_restart() {
        let halted = Rollout::fold(vec![
            started(),
            event("rollout.step", 2, json!({"step": 0})),
            event("rollout.step", 3, json!({"step": 1})),
            event(
                "rollout.halted",
                4,
                json!({"step": 1, "reason": "canary tenant clinic-a: error rate", "time_to_stable_ms": 0.3,
                    "verdict": {"verdict": "fail"}}),
            ),
        ])
        .unwrap();
        assert_eq!((halted.status.as_str(), halted.step), ("halted", 1));
        assert!(!halted.finished(), "a halted rollout waits for an operator");
        assert_eq!(halted.time_to_stable_ms, Some(0.3));
        assert_eq!(
            halted.tenant_configs.get("clinic-a").map(String::as_str),
            Some("sha256:cc")
        );
        assert!(!halted.promoted);
        // The operator promotes; Ward dies before completing: the fold still says promoted.
        let mut events = halted.events.clone();
        events.push(event("rollout.resumed", 5, json!({"step": 1, "promoted": true})));
        let promoted = Rollout::fold(events).unwrap();
        assert_eq!(promoted.status, "running");
        assert!(promoted.promoted);
        // A retry is not a promotion.
        let mut events = halted.events.clone();
        events.push(event("rollout.resumed", 5, json!({"step": 1, "retry": true})));
        assert!(!Rollout::fold(events).unwrap().promoted);
    }

    #[test]
    fn promote_past_analysis_on_high_change_needs_a_reason() {
        use ward_core::risk::Tier;
        let refused = check_command(Command::Promote, Tier::High, None).unwrap_err();
        assert_eq!(refused.code, "promote_reason_required");
        assert_eq!(refused.kind, Kind::Unprocessable);
        assert!(refused.hint.contains("give a reason"), "{}", refused.hint);
        // Blank or too short is no reason.
        assert_eq!(
            check_command(Command::Promote, Tier::High, Some("   "))
                .unwrap_err()
                .code,
            "promote_reason_required"
        );
        assert_eq!(
            check_command(Command::Promote, Tier::High, Some("because"))
                .unwrap_err()
                .code,
            "bad_reason"
        );
        assert_eq!(
            check_command(Command::Pause, Tier::Low, Some("line\nbreak here"))
                .unwrap_err()
                .code,
            "bad_reason"
        );
        check_command(
            Command::Promote,
            Tier::High,
            Some("lab feed outage, canary verified by hand"),
        )
        .unwrap();
        // Lower tiers and the other commands need none.
        check_command(Command::Promote, Tier::Medium, None).unwrap();
        check_command(Command::Resume, Tier::High, None).unwrap();
        check_command(Command::Abort, Tier::High, None).unwrap();
    }

    #[test]
    fn skipped_steps_are_recorded_as_skipped_by_the_person() {
        let r = Rollout::fold(vec![
            started(),
            event("rollout.step", 2, json!({"step": 0})),
            event(
                "rollout.step_skipped",
                3,
                json!({"step": 1, "steps": [{"step": 1, "label": "pilot"}], "promoted": true,
                    "by": "user:rita", "reason": "clinic-a needs the fix today"}),
            ),
            event("rollout.completed", 4, json!({"deployment": 4})),
        ])
        .unwrap();
        assert!(r.promoted);
        assert_eq!(r.status, "completed");
        assert_eq!(
            r.skipped,
            vec![SkippedStep {
                step: 1,
                label: "pilot".into(),
                by: "user:rita".into(),
                reason: Some("clinic-a needs the fix today".into()),
            }]
        );
        // The tier it started under is kept (a later downgrade does not lower it).
        let mut start = started();
        start.payload["tier"] = json!("high");
        assert_eq!(
            Rollout::fold(vec![start]).unwrap().tier,
            Some(ward_core::risk::Tier::High)
        );
    }

    #[test]
    fn a_fold_needs_its_start() {
        assert!(Rollout::fold(vec![event("rollout.step", 2, json!({"step": 0}))]).is_none());
        assert!(Rollout::fold(vec![]).is_none());
    }
}
