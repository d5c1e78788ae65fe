//! `ward-rollout`: the rollout engine over the local runtime, and the adapters that implement
//! ward-app's ports with `ward-runtime`.
//!
//! - [`Engine`]: progressive delivery inside `ward serve` — rollouts (canary, blue-green, tenant
//!   rings) with analysis and automated rollback, rollback drills, and the local runtime as a
//!   [`DeploymentTarget`] ([`LocalTarget`]). It implements ward-app's
//!   [`ward_app::promotion::Runtimes`] port; promotion never names it.
//! - [`Prometheus`]: ward-app's [`ward_app::slo::SampleSource`] port over Prometheus's HTTP API.
//!
//! A rollout's state is its events (`ward_app::rollout`: the fold, the projector and the plan
//! live there, so the services and the web UI read rollouts without this crate). When `ward
//! serve` starts, [`Engine::start`] binds each local environment's router, starts its stable
//! version from the deployment records, and resumes every rollout that had not finished (a Ward
//! killed mid-rollout resumes at the recorded step).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod driver;
pub mod local;

pub use local::LocalEnv;

use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use ward_app::deployments::{self, Deployment, Release, Restore, TargetRun};
use ward_app::environment::{self, Environment};
use ward_app::error::{AppError, Kind};
use ward_app::promotion;
use ward_app::promotion::config::Effective;
use ward_app::promotion::target::{DeployJob, DeployOutcome, DeploymentTarget, Running, Runtimes};
use ward_app::rollout::*;
use ward_core::Identity;
use ward_ledger::{ActorKind, NewEvent};
use ward_store::Ledger;

/// ward-app's [`ward_app::slo::SampleSource`] over Prometheus's HTTP API (instant queries,
/// bounded answer, a 5 s deadline: `ward_runtime::prometheus`).
pub struct Prometheus;

#[async_trait::async_trait]
impl ward_app::slo::SampleSource for Prometheus {
    async fn query_sample(&self, base_url: &str, promql: &str) -> Result<Option<f64>, String> {
        ward_runtime::prometheus::query_sample(base_url, promql).await
    }
}

/// The sample source every Ward process wires into its gate policy.
pub fn samples() -> ward_app::slo::Samples {
    ward_app::slo::Samples::from(Arc::new(Prometheus))
}

/// The rollout engine inside `ward serve`: local environments, running rollouts.
pub struct Engine {
    pub(crate) ledger: Ledger,
    /// The gate's policy, risk and approval rules: replaced as a whole by [`Engine::reconfigure`]
    /// (a reloaded `ward.toml`); each operation reads them once, at its start.
    rules: std::sync::RwLock<EngineRules>,
    pub(crate) locks: promotion::Locks,
    pub(crate) data_dir: PathBuf,
    pub(crate) envs: Mutex<HashMap<String, Arc<LocalEnv>>>,
    pub(crate) handles: Mutex<HashMap<String, tokio::sync::mpsc::UnboundedSender<Order>>>,
    drivers: Mutex<Vec<tokio::task::AbortHandle>>,
    /// Itself, for the deployment targets it hands out ([`Runtimes::target`]).
    me: std::sync::Weak<Engine>,
}

/// What the engine decides by, from `ward.toml`.
#[derive(Clone)]
pub(crate) struct EngineRules {
    pub(crate) policy: Arc<ward_app::gate::GatePolicy>,
    pub(crate) risk: Arc<ward_core::risk::RiskRules>,
    pub(crate) approvals: Arc<ward_core::approval::ApprovalRules>,
}

/// The identity the engine records its own steps under.
pub fn engine_identity() -> Identity {
    Identity {
        id: "ward:rollout".into(),
        kind: ActorKind::Automation,
        roles: vec![],
    }
}

fn conflict(code: &str, message: String, hint: &str) -> AppError {
    AppError::new(Kind::Conflict, code, message, hint)
}

impl Engine {
    /// An engine over the ledger and the gate's policy (which holds the environments).
    pub fn new(
        ledger: Ledger,
        policy: Arc<ward_app::gate::GatePolicy>,
        risk: Arc<ward_core::risk::RiskRules>,
        approvals: Arc<ward_core::approval::ApprovalRules>,
        locks: promotion::Locks,
        data_dir: PathBuf,
    ) -> Arc<Engine> {
        Arc::new_cyclic(|me| Engine {
            ledger,
            rules: std::sync::RwLock::new(EngineRules {
                policy,
                risk,
                approvals,
            }),
            locks,
            data_dir,
            envs: Mutex::new(HashMap::new()),
            handles: Mutex::new(HashMap::new()),
            drivers: Mutex::new(Vec::new()),
            me: me.clone(),
        })
    }

    /// The rules in force now (one read; an operation keeps what it read to its end).
    pub(crate) fn rules(&self) -> EngineRules {
        self.rules
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The gate's policy in force now.
    pub(crate) fn policy(&self) -> Arc<ward_app::gate::GatePolicy> {
        self.rules().policy
    }

    /// Replaces the policy, risk and approval rules (a reloaded `ward.toml`). Refused when the
    /// environments differ in anything: their routers, tenants and rings were set up at start,
    /// so such a change needs a restart of `ward serve`.
    pub fn reconfigure(
        &self,
        policy: Arc<ward_app::gate::GatePolicy>,
        risk: Arc<ward_core::risk::RiskRules>,
        approvals: Arc<ward_core::approval::ApprovalRules>,
    ) -> Result<(), String> {
        let mut rules = self.rules.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let same = |a: &[ward_app::environment::Environment], b: &[ward_app::environment::Environment]| {
            serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
        };
        if !same(&rules.policy.environments, &policy.environments) {
            return Err(
                "the [[environments]] differ from those the server started with: restart the server to apply them"
                    .into(),
            );
        }
        *rules = EngineRules {
            policy,
            risk,
            approvals,
        };
        Ok(())
    }

    /// Binds every local environment's router, starts its current release from the deployment
    /// records, and resumes unfinished rollouts.
    pub async fn start(self: &Arc<Self>) -> Result<(), String> {
        // Tenant configuration sets a crash left half-written.
        if let Ok(entries) = std::fs::read_dir(self.data_dir.join("runtime").join("tenant-config")) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(".tmp-") {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        for env in &self.policy().environments {
            let Some(cfg) = &env.runtime else { continue };
            let local = Arc::new(LocalEnv::bind(&env.name, cfg).await?);
            self.envs
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(env.name.clone(), local.clone());
            let deployments = deployments::deployments(&self.ledger, &env.name)
                .await
                .map_err(|e| e.message)?;
            let current = deployments::history(&deployments, None).pop();
            if let Some(cur) = current
                && let Some(digest) = cur.single()
            {
                let (config, tenants) = self.recorded_configs(&deployments, &cur).await.map_err(|e| e.message)?;
                match local
                    .start(&self.data_dir, "stable", digest, config.as_ref(), &tenants)
                    .await
                {
                    Ok(r) => {
                        let mut slots = local.slots.lock().await;
                        slots.stable = Some(r);
                        local.route_stable(&slots);
                    }
                    Err(e) => {
                        tracing::error!(environment = %env.name, error = %e.message, "cannot start the current release")
                    }
                }
            }
        }
        for r in list(&self.ledger, None).await.map_err(|e| e.message)? {
            if !r.finished() && self.local(&r.environment).is_some() {
                tracing::warn!(rollout = %r.id, step = r.step, "resuming rollout after restart");
                self.spawn_driver(r, true);
            }
        }
        Ok(())
    }

    /// The configurations a recorded release ran with: the environment's, and each tenant's
    /// (from the per-tenant runs of its deployment record), loaded by digest.
    async fn recorded_configs(
        &self,
        deployments: &[Deployment],
        release: &Restore,
    ) -> Result<(Option<Effective>, Vec<(String, Effective)>), AppError> {
        let config = promotion::config::load_effective(&self.ledger, release.config_digest.as_deref()).await?;
        let tenants: BTreeMap<String, String> = deployments
            .iter()
            .filter(|d| d.seq == release.deployment)
            .flat_map(|d| &d.targets)
            .filter_map(|t| Some((t.tenant.clone()?, t.config_digest.clone()?)))
            .collect();
        Ok((config, load_tenant_configs(&self.ledger, &tenants).await?))
    }

    /// Stops the rollout drivers (an unfinished rollout resumes at the next start), then every
    /// instance of every local environment, and routes nothing.
    pub async fn shutdown(&self) {
        for d in self
            .drivers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
        {
            d.abort();
        }
        let envs: Vec<Arc<LocalEnv>> = self
            .envs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        for env in envs {
            let mut slots = env.slots.lock().await;
            let running = [slots.stable.take(), slots.canary.take(), slots.warm.take()];
            env.route_stable(&slots);
            drop(slots);
            for r in running.into_iter().flatten() {
                r.instance.stop().await;
            }
        }
    }

    /// The local environment `name`, when it runs on the local runtime.
    pub fn local(&self, name: &str) -> Option<Arc<LocalEnv>> {
        self.envs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    fn local_or_err(&self, name: &str) -> Result<Arc<LocalEnv>, AppError> {
        self.local(name).ok_or_else(|| {
            conflict(
                "not_local_runtime",
                format!("{name} does not run on the local runtime"),
                "declare [environments.runtime] for it in ward.toml",
            )
        })
    }

    async fn record(&self, by: &Identity, kind: &str, id: &str, env: &str, payload: Value) -> Result<u64, AppError> {
        self.record_texts(by, kind, id, env, payload, ward_app::documents::Texts::new())
            .await
    }

    /// Records a rollout event with the text documents it references (an operator's reason).
    async fn record_texts(
        &self,
        by: &Identity,
        kind: &str,
        id: &str,
        env: &str,
        mut payload: Value,
        texts: ward_app::documents::Texts,
    ) -> Result<u64, AppError> {
        payload["id"] = json!(id);
        payload["environment"] = json!(env);
        if by.id != engine_identity().id {
            payload["by"] = json!(by.id);
        }
        let r = ward_app::documents::append(
            &self.ledger,
            NewEvent {
                actor: by.actor(),
                kind: kind.into(),
                subject: format!("rollout:{id}"),
                payload,
            },
            texts,
        )
        .await?;
        Ok(r.seq)
    }

    /// Starts a rollout: the environment's gate (as for a promotion), then the driver.
    pub async fn begin(self: &Arc<Self>, by: &Identity, req: &RolloutRequest) -> Result<Rollout, AppError> {
        let rules = self.rules();
        let env = environment::find(&rules.policy.environments, &req.environment)?.clone();
        self.local_or_err(&env.name)?;
        req.check_adjustments(env.strategy.as_ref()).map_err(|e| {
            AppError::invalid(
                e,
                "drop the option, or give the whole strategy with --strategy-file (keep_warm_ms sets blue-green's window)",
            )
        })?;
        let strategy = req.effective_strategy(env.strategy.as_ref());
        // What the rollout's records will hold: no person's number in a check's path or query.
        environment::judge_strategy(&strategy)?;
        let steps = plan(&strategy, &env).map_err(|e| AppError::invalid(e, "fix the strategy"))?;
        let _serialised = self.locks.take(&self.ledger, &env.name).await?;
        ensure_idle(&self.ledger, &env.name).await?;
        let cx = promotion::PromotionContext {
            policy: &rules.policy,
            risk: &rules.risk,
            approvals: &rules.approvals,
            locks: &self.locks,
            runtime: None,
        };
        // The configurations first (as a promote, under the environment's lock): one a purge
        // is about refuses the rollout before its gate decision is recorded.
        let config = promotion::config::effective(&self.ledger, &env.name, None).await?;
        let tenant_configs = current_tenant_configs(&self.ledger, &env).await?;
        let mut delivering: Vec<(Option<&str>, Option<&Effective>)> = vec![(None, config.as_ref())];
        delivering.extend(tenant_configs.iter().map(|(t, c)| (Some(t.as_str()), Some(c))));
        let list = deployments::deployments(&self.ledger, &env.name).await?;
        promotion::check_configuration_named(&self.ledger, &req.change, &env.name, &list, &delivering).await?;
        let tenants: BTreeMap<String, String> = tenant_configs.into_iter().map(|(t, c)| (t, c.digest)).collect();
        let auth = promotion::authorise(&self.ledger, by, &req.change, &env, &[], None, &cx).await?;
        if auth.change.request.artifacts.len() != 1 {
            return Err(AppError::invalid(
                format!(
                    "{} ships {} artifacts; the local runtime runs one service",
                    auth.change.id,
                    auth.change.request.artifacts.len()
                ),
                "open one change per service",
            ));
        }
        let digest = auth.change.request.artifacts[0].clone();
        let stable = deployments::history(&deployments::deployments(&self.ledger, &env.name).await?, None).pop();
        if stable.as_ref().is_some_and(|s| s.digests == [digest.clone()]) {
            return Err(conflict(
                "already_running",
                format!("{} already runs {digest}", env.name),
                "nothing to roll out",
            ));
        }
        let id = ward_app::exceptions::new_id("RO")?;
        self.record(
            by,
            "rollout.started",
            &id,
            &env.name,
            json!({
                "change": auth.change.id, "digest": digest,
                "stable_digest": stable.as_ref().and_then(|s| s.single()),
                "config_digest": config.as_ref().map(|c| c.digest.clone()),
                "tenant_configs": tenants,
                "strategy": strategy, "plan": steps,
                "gate_decision": auth.gate_decision, "approvals": auth.approvals, "started_by": by.id,
                "tier": auth.change.tier, "excused_by": auth.excused_by,
            }),
        )
        .await?;
        let r = get(&self.ledger, &id)
            .await?
            .ok_or_else(|| AppError::internal("rollout vanished"))?;
        self.spawn_driver(r.clone(), false);
        Ok(r)
    }

    /// Sends an operator's command to a running rollout. The events it causes are recorded with
    /// `by` as their actor (and `by` in the payload); promoting a high-tier change needs a
    /// reason ([`check_command`]).
    pub async fn command(
        &self,
        by: &Identity,
        id: &str,
        cmd: Command,
        reason: Option<&str>,
    ) -> Result<Rollout, AppError> {
        operator_is_a_person(by)?;
        let r = get(&self.ledger, id).await?.ok_or_else(|| {
            AppError::not_found(
                format!("no rollout {}", ward_app::identifier::shown(id)),
                "list the rollouts",
            )
        })?;
        if r.finished() {
            return Err(conflict(
                "rollout_finished",
                format!("{id} is {}", r.status),
                "start a new rollout",
            ));
        }
        // The tier in force now, or when the rollout started, whichever is higher (fail closed:
        // a change that cannot be read counts as high).
        let now_tier = ward_app::changes::get(&self.ledger, &r.change)
            .await?
            .map_or(ward_core::risk::Tier::High, |c| c.tier);
        let tier = r.tier.map_or(now_tier, |t| t.max(now_tier));
        check_command(cmd, tier, reason)?;
        let order = Order {
            command: cmd,
            by: by.clone(),
            reason: reason.map(str::trim).filter(|r| !r.is_empty()).map(str::to_string),
        };
        let sent = self
            .handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .is_some_and(|tx| tx.send(order).is_ok());
        if !sent {
            return Err(conflict(
                "rollout_not_driven",
                format!("{id} has no driver in this server"),
                "restart the server to resume it",
            ));
        }
        tracing::info!(rollout = %id, by = %by.id, command = ?cmd, "rollout command");
        // Answer with the rollout as the driver left it after acting on the order (its next
        // recorded event), not as it was before: a `status --watch` right after `resume` must
        // not see the stale `paused`. Bounded: a driver busy in a long step still answers at
        // its next tick; after 5 s the latest recorded state is returned as it is.
        let before = r.events.len();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let now = get(&self.ledger, id).await?.unwrap_or_else(|| r.clone());
            if now.events.len() > before || tokio::time::Instant::now() >= deadline {
                return Ok(now);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    fn spawn_driver(self: &Arc<Self>, r: Rollout, resumed: bool) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        self.handles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(r.id.clone(), tx);
        let engine = self.clone();
        let task = tokio::spawn(async move {
            let id = r.id.clone();
            if let Err(e) = driver::drive(&engine, r, rx, resumed).await {
                tracing::error!(rollout = %id, error = %e.message, "rollout driver failed");
            }
            engine
                .handles
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&id);
        });
        let mut drivers = self.drivers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        drivers.retain(|d| !d.is_finished());
        drivers.push(task.abort_handle());
    }

    /// A rollback drill: deliberately puts the environment back on its previous known-good
    /// release, measures the time until every request is served by it, then — unless `stay` —
    /// returns it to the release it started on, and records it all (`drill.recorded` with
    /// `stay` and `returned`, plus a deployment record for the rollback and one for the return).
    pub async fn drill(self: &Arc<Self>, by: &Identity, environment: &str, stay: bool) -> Result<Value, AppError> {
        operator_is_a_person(by)?;
        let env = environment::find(&self.policy().environments, environment)?.clone();
        let local = self.local_or_err(&env.name)?;
        let _serialised = self.locks.take(&self.ledger, &env.name).await?;
        ensure_idle(&self.ledger, &env.name).await?;
        let deployments = deployments::deployments(&self.ledger, &env.name).await?;
        let runs = deployments::history(&deployments, None);
        let undone = deployments::reverted(&deployments);
        let (Some(current), Some(good)) = (
            runs.last(),
            runs.iter()
                .rev()
                .filter(|r| !undone.contains(&r.deployment))
                .find(|r| Some(&r.digests) != runs.last().map(|c| &c.digests)),
        ) else {
            return Err(conflict(
                "no_known_good",
                format!("{} has no earlier release to drill a rollback to", env.name),
                "promote two releases first",
            ));
        };
        let (Some(good_digest), Some(current_digest)) = (good.single(), current.single()) else {
            return Err(conflict(
                "no_known_good",
                format!("{}'s current or previous release ships several artifacts", env.name),
                "the local runtime runs one service per release",
            ));
        };
        let (good_digest, current_digest) = (good_digest.to_string(), current_digest.to_string());
        // The rollback, proven through the router, recorded as a deployment reverting the current one.
        let back = self
            .switch_to(
                &local,
                &env,
                &deployments,
                good,
                &good_digest,
                Some(current.deployment),
                by,
            )
            .await?;
        // Then, unless the operator asked to stay, forward again to the release it started on,
        // recorded as its own deployment reverting the drill's: a drill in production does not
        // leave production rolled back. Also when the rollback's probes failed: the release it
        // started on is the one known to serve.
        let returned = if stay {
            None
        } else {
            let deployments = deployments::deployments(&self.ledger, &env.name).await?;
            Some(
                self.switch_to(
                    &local,
                    &env,
                    &deployments,
                    current,
                    &current_digest,
                    Some(back.deployment),
                    by,
                )
                .await,
            )
        };
        let mut payload = json!({
            "environment": env.name, "from": current.digests, "to": good.digests, "change": good.change,
            "time_to_restore_ms": back.restore_ms, "ready_ms": back.ready_ms, "switch_ms": back.switch_ms,
            "probes": back.served_by.len(), "all_restored": back.all_restored, "deployment": back.deployment,
            "by": by.id, "stay": stay,
        });
        match &returned {
            Some(Ok(r)) => {
                payload["returned"] = json!({
                    "to": current.digests, "change": current.change, "deployment": r.deployment,
                    "time_ms": r.restore_ms, "probes": r.served_by.len(), "all_returned": r.all_restored,
                });
            }
            // Recorded before the error is reported: the drill happened and did not return.
            Some(Err(e)) => {
                payload["returned"] = json!({
                    "to": current.digests, "change": current.change, "all_returned": false,
                    "error": e.code,
                });
            }
            None => {}
        }
        let receipt = self
            .ledger
            .append(NewEvent {
                actor: by.actor(),
                kind: "drill.recorded".into(),
                subject: format!("env:{}", env.name),
                payload: payload.clone(),
            })
            .await?;
        if let Some(Err(e)) = returned {
            return Err(e);
        }
        let mut out = payload;
        out["seq"] = json!(receipt.seq);
        out["time"] = json!(receipt.time);
        Ok(out)
    }

    /// Starts `release` beside what runs, switches all traffic to it, proves through the router
    /// that it answers, stops the old version, and records the deployment (reverting
    /// `rollback_of`), relying on the gate decision and approvals of the release's own record.
    #[allow(clippy::too_many_arguments)]
    async fn switch_to(
        &self,
        local: &LocalEnv,
        env: &Environment,
        deployments: &[Deployment],
        release: &Restore,
        digest: &str,
        rollback_of: Option<u64>,
        by: &Identity,
    ) -> Result<Switched, AppError> {
        let (config, tenants) = self.recorded_configs(deployments, release).await?;
        let started = std::time::Instant::now();
        let next = local
            .start(&self.data_dir, "drill", digest, config.as_ref(), &tenants)
            .await?;
        let ready_ms = started.elapsed().as_secs_f64() * 1000.0;
        let switch = std::time::Instant::now();
        let mut slots = local.slots.lock().await;
        let old = slots.stable.replace(next);
        local.route_stable(&slots);
        let switch_ms = switch.elapsed().as_secs_f64() * 1000.0;
        drop(slots);
        // Proof: the next requests through the router are answered by the switched-to version.
        let served_by = driver::probe_versions(local, 20).await;
        let restore_ms = started.elapsed().as_secs_f64() * 1000.0;
        if let Some(o) = old {
            o.instance.stop().await;
        }
        let all_restored = !served_by.is_empty() && served_by.iter().all(|v| v == digest);
        let from = deployments.iter().find(|d| d.seq == release.deployment);
        let rel = Release {
            env,
            change: &release.change,
            digests: &release.digests,
            ring: None,
            gate_decision: from.map_or(0, |d| d.gate_decision),
            approvals: from.map(|d| d.approvals.clone()).unwrap_or_default(),
            excused_by: from.map(|d| d.excused_by.clone()).unwrap_or_default(),
            rollback_of,
            requested_at: None,
            // Both legs of a drill are rehearsals: never a failure or a recovery in the metrics.
            drill: true,
        };
        let mut units = vec![(None, release.config_digest.clone())];
        units.extend(env.all_tenants().into_iter().map(|t| {
            let config = tenants.iter().find(|(x, _)| *x == t).map(|(_, c)| c.digest.clone());
            (Some(t), config)
        }));
        let runs = local_runs(units, all_restored, None);
        let dep = deployments::append_record(&self.ledger, by, &rel, runs, "local").await?;
        Ok(Switched {
            deployment: dep.seq,
            served_by,
            all_restored,
            ready_ms,
            switch_ms,
            restore_ms,
        })
    }
}

/// What one switch of a drill did.
struct Switched {
    deployment: u64,
    served_by: Vec<String>,
    all_restored: bool,
    ready_ms: f64,
    switch_ms: f64,
    restore_ms: f64,
}

/// The engine is the local runtime behind promotion's [`Runtimes`] port: promotion, rollback and
/// drift reach it only through the trait.
#[async_trait::async_trait]
impl Runtimes for Engine {
    async fn ensure_idle(&self, environment: &str) -> Result<(), AppError> {
        ensure_idle(&self.ledger, environment).await
    }

    fn target(&self, environment: &str) -> Box<dyn DeploymentTarget> {
        match self.me.upgrade() {
            Some(engine) => Box::new(LocalTarget::new(engine, environment)),
            // Unreachable while a caller holds the engine; a target that refuses, never a panic.
            None => Box::new(ward_app::promotion::target::Unavailable),
        }
    }
}

/// The local runtime as a [`DeploymentTarget`]: a direct cut-over (start, verify
/// ready, switch all traffic, stop the old version). Rollouts expose step by step instead.
pub struct LocalTarget {
    engine: Arc<Engine>,
    env: String,
}

impl LocalTarget {
    /// The target of `env`.
    pub fn new(engine: Arc<Engine>, env: &str) -> LocalTarget {
        LocalTarget {
            engine,
            env: env.into(),
        }
    }
}

#[async_trait::async_trait]
impl DeploymentTarget for LocalTarget {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn deploy(&self, job: &DeployJob<'_>) -> DeployOutcome {
        let fail = |m: String| DeployOutcome {
            succeeded: false,
            exit_code: None,
            output: format!("{m}\n").into_bytes(),
        };
        let Some(local) = self.engine.local(&self.env) else {
            return fail(format!("{} has no local runtime", self.env));
        };
        if job.digests.len() != 1 {
            return fail("the local runtime runs exactly one artifact per change".into());
        }
        let digest = &job.digests[0];
        // One process serves every tenant: the whole-environment job (first) starts it with the
        // environment's configuration and every tenant's; the tenants' jobs find it serving.
        let config = job.config.cloned();
        let tenants = job.tenant_configs.to_vec();
        let wanted: BTreeMap<String, String> = tenants.iter().map(|(t, c)| (t.clone(), c.digest.clone())).collect();
        {
            let slots = local.slots.lock().await;
            if let Some(s) = &slots.stable
                && &s.digest == digest
                && (job.tenant.is_some()
                    || (s.config_digest == config.as_ref().map(|c| c.digest.clone()) && s.tenant_configs == wanted))
            {
                let tenant = job.tenant.unwrap_or("the environment");
                return DeployOutcome {
                    succeeded: true,
                    exit_code: None,
                    output: format!("{digest} serves {tenant} with this configuration\n").into_bytes(),
                };
            }
        }
        match local
            .start(&self.engine.data_dir, "stable", digest, config.as_ref(), &tenants)
            .await
        {
            Ok(new) => {
                let addr = new.instance.addr();
                let mut slots = local.slots.lock().await;
                let old = slots.stable.replace(new);
                local.route_stable(&slots);
                drop(slots);
                if let Some(o) = old {
                    o.instance.stop().await;
                }
                DeployOutcome {
                    succeeded: true,
                    exit_code: None,
                    output: format!("{digest} ready on {addr}; all traffic switched\n").into_bytes(),
                }
            }
            Err(e) => fail(e.message),
        }
    }

    async fn observe(&self, environment: &str) -> Result<Vec<Running>, String> {
        let local = self
            .engine
            .local(environment)
            .ok_or_else(|| format!("{environment} has no local runtime"))?;
        let slots = local.slots.lock().await;
        let mut digests = Vec::new();
        let mut config = None;
        let routes = local.router.routes();
        // The canary serves the environment as a whole only with a traffic share; pinned to
        // some tenants (a ring), it is reported under them.
        let canary = slots.canary.as_ref().filter(|_| routes.canary_percent > 0);
        for r in [slots.stable.as_ref(), canary].into_iter().flatten() {
            digests.push(r.digest.clone());
            config = config.or(r.config_digest.clone());
        }
        let mut out = vec![Running {
            tenant: None,
            digests,
            config_digest: config,
        }];
        // Per tenant: the version its requests are routed to, with the configuration delivered.
        let tenants = environment::find(&self.engine.policy().environments, environment)
            .map(Environment::all_tenants)
            .unwrap_or_default();
        for tenant in tenants {
            // The version the router sends this tenant's requests to (pinned, or its sticky
            // bucket under the canary share).
            let Some(up) = local.router.choose(Some(&tenant)) else {
                continue;
            };
            let serving = [slots.stable.as_ref(), slots.canary.as_ref()]
                .into_iter()
                .flatten()
                .find(|r| r.digest == up.version);
            out.push(Running {
                digests: vec![up.version.clone()],
                config_digest: serving.and_then(|r| r.tenant_configs.get(&tenant).cloned()),
                tenant: Some(tenant),
            });
        }
        Ok(out)
    }
}

/// The runs of a local-runtime deployment record, one per unit: the environment as a whole
/// (tenant `None`) and each tenant, with the configuration it received.
pub(crate) fn local_runs(
    units: Vec<(Option<String>, Option<String>)>,
    succeeded: bool,
    rollback_to: Option<Restore>,
) -> Vec<TargetRun> {
    units
        .into_iter()
        .map(|(tenant, config_digest)| TargetRun {
            tenant,
            config_digest,
            status: if succeeded { "succeeded" } else { "failed" }.into(),
            exit_code: None,
            output_digest: None,
            rollback_to: rollback_to.clone(),
        })
        .collect()
}

/// Every tenant's effective configuration in `env`, as published now (none without tenants or
/// without any configuration).
pub(crate) async fn current_tenant_configs(
    ledger: &Ledger,
    env: &Environment,
) -> Result<Vec<(String, Effective)>, AppError> {
    let mut out = Vec::new();
    for t in env.all_tenants() {
        if let Some(c) = promotion::config::effective(ledger, &env.name, Some(&t)).await? {
            out.push((t, c));
        }
    }
    Ok(out)
}

/// Tenant configurations recorded by digest, loaded back.
pub(crate) async fn load_tenant_configs(
    ledger: &Ledger,
    recorded: &BTreeMap<String, String>,
) -> Result<Vec<(String, Effective)>, AppError> {
    let mut out = Vec::new();
    for (t, d) in recorded {
        if let Some(c) = promotion::config::load_effective(ledger, Some(d)).await? {
            out.push((t.clone(), c));
        }
    }
    Ok(out)
}

/// The rollback plan recorded with a rollout's deployment: what ran before.
pub(crate) fn restore_of(r: &Rollout, deployments: &[Deployment]) -> Option<Restore> {
    let runs = deployments::history(deployments, None);
    runs.into_iter()
        .rev()
        .find(|x| r.stable_digest.as_ref().is_some_and(|s| x.digests == [s.clone()]))
}

/// Operating a rollout (pause, resume, promote, abort) or drilling a rollback is a person's
/// decision, attributed to them: automation never does it (docs/CONTROLS.md).
fn operator_is_a_person(by: &Identity) -> Result<(), AppError> {
    if by.kind != ward_ledger::ActorKind::Human {
        return Err(AppError::new(
            ward_app::error::Kind::Forbidden,
            "automation_cannot_operate",
            format!("{} is an automation identity; only people operate rollouts", by.id),
            "a release manager does this with their own token",
        ));
    }
    Ok(())
}
