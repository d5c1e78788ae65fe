//! The rollout driver: one task per rollout, stepping through its plan.
//!
//! Each step sets the router's table, then analyses the canary every `tick_ms` over the window
//! since the step began (overall, against stable, and per tenant). A failure puts all traffic
//! back on stable at once, stops the canary and records the breaching measurement with the time
//! it took. At the end of a step the HTTP checks run; an inconclusive analysis pauses instead of
//! promoting. After the last step the new version becomes stable and a deployment is recorded.

use crate::local::{LocalEnv, Running};
use crate::{Command, Engine, Order, Rollout, Step, engine_identity, restore_of};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedReceiver;
use ward_app::deployments;
use ward_app::environment::{self, StrategyKind};
use ward_app::error::AppError;
use ward_app::promotion;
use ward_runtime::analysis::{Verdict, http_status, judge};
use ward_runtime::router::{RouteTable, Side};
use ward_runtime::stats::Snapshot;

/// Sends `n` requests for the health path through the environment's router; the versions that
/// answered.
pub(crate) async fn probe_versions(local: &LocalEnv, n: usize) -> Vec<String> {
    ward_runtime::router::probe_versions(local.config.listen, &local.config.health, n).await
}

fn routes(slots: &crate::local::Slots, step: &Step) -> RouteTable {
    RouteTable {
        stable: slots.stable.as_ref().map(Running::upstream),
        canary: slots.canary.as_ref().map(Running::upstream),
        canary_percent: step.percent,
        tenants: step.tenants.iter().map(|t| (t.clone(), Side::Canary)).collect(),
        by_request: step.by_request,
    }
}

/// The verdict of a step's window: the first failing tenant (the most specific reason), else
/// the canary as a whole against stable.
fn analyse(r: &Rollout, stable: Option<&str>, base: &Snapshot, now: &Snapshot) -> Verdict {
    let th = &r.strategy.analysis;
    for t in now.tenants(&r.digest) {
        let w = now.window(base, &r.digest, Some(&t));
        let v = judge(&format!("canary tenant {t}"), &w, None, th);
        if v.failed() {
            return v;
        }
    }
    let canary = now.window(base, &r.digest, None);
    let stable_w = stable.map(|s| now.window(base, s, None));
    judge("canary", &canary, stable_w.as_ref(), th)
}

async fn record(engine: &Engine, r: &Rollout, kind: &str, payload: Value) -> Result<u64, AppError> {
    engine
        .record(&engine_identity(), kind, &r.id, &r.environment, payload)
        .await
}

/// An operator's command, recorded with the person who issued it as the actor (and `by` in the
/// payload, with their reason when given).
async fn record_order(
    engine: &Engine,
    r: &Rollout,
    o: &Order,
    kind: &str,
    mut payload: Value,
) -> Result<u64, AppError> {
    // The operator's reason is people's text: it lives beside the log.
    let mut texts = ward_app::documents::Texts::new();
    if let Some(reason) = &o.reason {
        payload["operator_reason"] = json!(texts.put(reason)?);
    }
    engine
        .record_texts(&o.by, kind, &r.id, &r.environment, payload, texts)
        .await
}

/// An operator's promote at step `i`: steps `i..` are recorded as skipped by that person (one
/// event, so a restart finds them all), never as analysed or passed.
async fn skip_rest(engine: &Engine, r: &Rollout, i: usize, o: &Order) -> Result<(), AppError> {
    let steps: Vec<Value> = (i..r.plan.len())
        .map(|k| json!({"step": k, "label": r.plan[k].label}))
        .collect();
    let mut payload = json!({"step": i, "steps": steps, "promoted": true});
    let mut texts = ward_app::documents::Texts::new();
    if let Some(reason) = &o.reason {
        payload["reason"] = json!(texts.put(reason)?);
    }
    engine
        .record_texts(&o.by, "rollout.step_skipped", &r.id, &r.environment, payload, texts)
        .await?;
    Ok(())
}

/// How a step ended.
enum StepEnd {
    /// Analysed and healthy.
    Passed,
    /// An operator promoted: the new version takes all traffic now.
    Promote,
    /// An operator aborted.
    Aborted(Order),
    /// Unhealthy: the reason, the breaching verdict and when it was measured.
    Failed(String, Option<Verdict>, Instant),
}

/// What an operator decided for a halted ring rollout.
enum Decision {
    Retry(Order),
    Promote(Order),
    Abort(Order),
}

/// Drives a rollout to completion, failure, abort, or (rings) a halt that waits for an operator.
pub(super) async fn drive(
    engine: &Arc<Engine>,
    r: Rollout,
    mut rx: UnboundedReceiver<Order>,
    resumed: bool,
) -> Result<(), AppError> {
    let local = engine.local_or_err(&r.environment)?;
    let deployments = deployments::deployments(&engine.ledger, &r.environment).await?;
    // Killed after the deployment was recorded but before the rollout was: only that is left.
    if resumed
        && let Some(d) = since_start(&r, &deployments).rev().find(|d| d.ring.is_none())
        && d.status == "succeeded"
        && d.digests == [r.digest.clone()]
    {
        record(
            engine,
            &r,
            "rollout.completed",
            json!({"deployment": d.seq, "resumed": true}),
        )
        .await?;
        return Ok(());
    }
    // Killed while rolling back, after its failed deployment was recorded: finish that.
    if resumed
        && since_start(&r, &deployments)
            .any(|d| d.ring.is_none() && d.status == "failed" && d.digests == [r.digest.clone()])
    {
        let ring_records: Vec<u64> = since_start(&r, &deployments)
            .filter(|d| d.ring.is_some() && d.digests == [r.digest.clone()])
            .map(|d| d.seq)
            .collect();
        let restored = since_start(&r, &deployments).any(|d| d.rollback_of.is_some_and(|x| ring_records.contains(&x)));
        if !restored {
            restore_rings(engine, &r, r.step).await?;
        }
        record(
            engine,
            &r,
            "rollout.rolled_back",
            json!({"step": r.step, "reason": "rolled back before Ward restarted", "resumed": true,
                "aborted": false, "stable_digest": r.stable_digest}),
        )
        .await?;
        return Ok(());
    }
    let config = promotion::config::load_effective(&engine.ledger, r.config_digest.as_deref()).await?;
    let tenants = crate::load_tenant_configs(&engine.ledger, &r.tenant_configs).await?;
    let canary = match local
        .start(&engine.data_dir, "canary", &r.digest, config.as_ref(), &tenants)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            return roll_back(
                engine,
                &local,
                &r,
                r.step,
                format!("the new version did not start: {}", e.message),
                None,
                Instant::now(),
                None,
            )
            .await;
        }
    };
    local.slots.lock().await.canary = Some(canary);
    let mut paused = r.status == "paused";
    let mut halted = r.status == "halted";
    let mut i = r.step.min(r.plan.len());
    // An operator promoted it before Ward restarted: only the completion is left.
    if r.promoted {
        i = r.plan.len();
    }
    while i < r.plan.len() {
        if halted {
            // The rings before the failed one keep the new version while an operator decides.
            if let Some(kept) = i.checked_sub(1).map(|k| &r.plan[k]) {
                let slots = local.slots.lock().await;
                local.router.set_routes(routes(&slots, kept));
            }
            match wait_decision(&mut rx).await {
                None => return Ok(()),
                Some(Decision::Abort(o)) => return abort(engine, &local, &r, i, &o).await,
                Some(Decision::Promote(o)) => {
                    skip_rest(engine, &r, i, &o).await?;
                    break;
                }
                Some(Decision::Retry(o)) => {
                    record_order(engine, &r, &o, "rollout.resumed", json!({"step": i, "retry": true})).await?;
                    halted = false;
                }
            }
        }
        match run_step(engine, &local, &r, i, &mut rx, &mut paused, resumed && i == r.step).await? {
            StepEnd::Passed => {
                if r.strategy.kind == StrategyKind::Rings {
                    record_ring(engine, &r, i, true).await?;
                }
                i += 1;
            }
            StepEnd::Promote => break,
            StepEnd::Aborted(o) => return abort(engine, &local, &r, i, &o).await,
            StepEnd::Failed(reason, verdict, at) if r.strategy.kind == StrategyKind::Rings && i > 0 => {
                // Commands sent before the halt is recorded were meant for the running ring.
                while rx.try_recv().is_ok() {}
                halt(engine, &local, &r, i, reason, verdict, at).await?;
                halted = true;
            }
            StepEnd::Failed(reason, verdict, at) => {
                return roll_back(engine, &local, &r, i, reason, verdict, at, None).await;
            }
        }
    }
    complete(engine, &local, &r).await
}

/// An operator's abort at step `i`: everything back on stable.
async fn abort(engine: &Engine, local: &LocalEnv, r: &Rollout, i: usize, o: &Order) -> Result<(), AppError> {
    let reason = format!("aborted by {}", o.by.id);
    roll_back(engine, local, r, i, reason, None, Instant::now(), Some(o)).await
}

/// Waits for an operator's decision on a halted rollout (`None`: the server is going away).
async fn wait_decision(rx: &mut UnboundedReceiver<Order>) -> Option<Decision> {
    loop {
        let o = rx.recv().await?;
        match o.command {
            Command::Resume => return Some(Decision::Retry(o)),
            Command::Promote => return Some(Decision::Promote(o)),
            Command::Abort => return Some(Decision::Abort(o)),
            Command::Pause => {}
        }
    }
}

/// How many more step windows an inconclusive canary or ring step keeps collecting before it
/// pauses (so a step is watched for at most 1 + this many times its `pause_ms`).
pub const INCONCLUSIVE_EXTRA_WINDOWS: u32 = 3;

/// Exposes step `i` and watches it: analysis every tick, operators' commands, then the HTTP and
/// Prometheus checks at the end of its pause.
async fn run_step(
    engine: &Engine,
    local: &LocalEnv,
    r: &Rollout,
    i: usize,
    rx: &mut UnboundedReceiver<Order>,
    paused: &mut bool,
    resumed: bool,
) -> Result<StepEnd, AppError> {
    let step = &r.plan[i];
    let pause = Duration::from_millis(if r.strategy.kind == StrategyKind::BlueGreen {
        r.strategy.keep_warm_ms
    } else {
        r.strategy.pause_ms
    });
    let tick = Duration::from_millis(r.strategy.tick_ms.max(10));
    // Blue-green verifies the new version before any traffic reaches it.
    if r.strategy.kind == StrategyKind::BlueGreen
        && let Err(reason) = http_checks(local, r).await
    {
        return Ok(StepEnd::Failed(reason, None, Instant::now()));
    }
    {
        let slots = local.slots.lock().await;
        local.router.set_routes(routes(&slots, step));
    }
    record(
        engine,
        r,
        "rollout.step",
        json!({"step": i, "label": step.label, "percent": step.percent,
        "tenants": step.tenants, "resumed": resumed}),
    )
    .await?;
    let mut base = local.router.stats().snapshot();
    let mut deadline = Instant::now() + pause;
    let mut failures = 0u32;
    loop {
        tokio::select! {
            order = rx.recv() => match order {
                Some(o) if o.command == Command::Pause && !*paused => {
                    *paused = true;
                    let reason = format!("paused by {}", o.by.id);
                    record_order(engine, r, &o, "rollout.paused", json!({"step": i, "reason": reason})).await?;
                }
                Some(o) if o.command == Command::Resume && *paused => {
                    *paused = false;
                    record_order(engine, r, &o, "rollout.resumed", json!({"step": i})).await?;
                    base = local.router.stats().snapshot();
                    deadline = Instant::now() + pause;
                }
                Some(o) if o.command == Command::Promote => {
                    skip_rest(engine, r, i, &o).await?;
                    return Ok(StepEnd::Promote);
                }
                Some(o) if o.command == Command::Abort => return Ok(StepEnd::Aborted(o)),
                _ => {}
            },
            _ = tokio::time::sleep(tick) => {}
        }
        if *paused {
            continue;
        }
        let measured_at = Instant::now();
        let now = local.router.stats().snapshot();
        let verdict = analyse(r, r.stable_digest.as_deref(), &base, &now);
        if let Verdict::Fail { reason, .. } = &verdict {
            failures += 1;
            if failures >= r.strategy.failure_limit.max(1) {
                let reason = if failures > 1 {
                    format!("{reason} ({failures} failed analyses)")
                } else {
                    reason.clone()
                };
                return Ok(StepEnd::Failed(reason, Some(verdict), measured_at));
            }
            // Tolerated: recorded, and the next window starts afresh.
            record(
                engine,
                r,
                "rollout.analysis",
                json!({"step": i, "verdict": verdict, "tolerated": failures}),
            )
            .await?;
            base = now;
            continue;
        }
        if Instant::now() < deadline {
            continue;
        }
        // Too little traffic for a verdict at the end of the window: keep collecting, for at
        // most INCONCLUSIVE_EXTRA_WINDOWS more windows, before pausing. Blue-green is judged at
        // the end of its keep-warm window and is not extended.
        if matches!(verdict, Verdict::Inconclusive { .. })
            && r.strategy.kind != StrategyKind::BlueGreen
            && Instant::now() < deadline + pause * INCONCLUSIVE_EXTRA_WINDOWS
        {
            continue;
        }
        if let Err(reason) = http_checks(local, r).await {
            return Ok(StepEnd::Failed(reason, None, Instant::now()));
        }
        // Prometheus checks: a failure rolls back, no data pauses like too few requests. A query
        // templated by tenant is also asked for each tenant a ring step exposes.
        let mut verdict = verdict;
        let ring = if r.strategy.kind == StrategyKind::Rings {
            ring_tenants(r, i)
        } else {
            vec![]
        };
        for c in &r.strategy.prometheus {
            let per_tenant = if c.query.contains("{{tenant}}") {
                ring.as_slice()
            } else {
                &[]
            };
            for tenant in std::iter::once("_all").chain(per_tenant.iter().map(String::as_str)) {
                let v = ward_runtime::prometheus::check(c, &r.digest, tenant).await;
                match &v {
                    Verdict::Fail { reason, .. } => {
                        let reason = reason.clone();
                        return Ok(StepEnd::Failed(reason, Some(v), Instant::now()));
                    }
                    Verdict::Inconclusive { .. } => verdict = v,
                    Verdict::Pass { .. } => {}
                }
            }
        }
        if let Verdict::Inconclusive { reason, .. } = &verdict {
            *paused = true;
            record(
                engine,
                r,
                "rollout.paused",
                json!({"step": i, "reason": format!("inconclusive: {reason}"), "verdict": verdict}),
            )
            .await?;
            continue;
        }
        record(engine, r, "rollout.analysis", json!({"step": i, "verdict": verdict})).await?;
        return Ok(StepEnd::Passed);
    }
}

/// The tenants ring step `i` adds to the ones before it.
fn ring_tenants(r: &Rollout, i: usize) -> Vec<String> {
    let before = i
        .checked_sub(1)
        .map(|k| r.plan[k].tenants.as_slice())
        .unwrap_or_default();
    r.plan[i]
        .tenants
        .iter()
        .filter(|t| !before.contains(t))
        .cloned()
        .collect()
}

/// A failing ring (after earlier rings passed): its tenants go back to stable in one route swap,
/// the earlier rings keep the new version, and the rollout halts until an operator retries the
/// ring (`resume`), promotes, or aborts (everything back on stable).
async fn halt(
    engine: &Engine,
    local: &LocalEnv,
    r: &Rollout,
    i: usize,
    reason: String,
    verdict: Option<Verdict>,
    measured_at: Instant,
) -> Result<(), AppError> {
    let kept = &r.plan[i - 1];
    {
        let slots = local.slots.lock().await;
        local.router.set_routes(routes(&slots, kept));
    }
    let time_to_stable_ms = measured_at.elapsed().as_secs_f64() * 1000.0;
    tracing::warn!(rollout = %r.id, ring = %r.plan[i].label, %reason, time_to_stable_ms, "ring rolled back; rollout halted");
    record(
        engine,
        r,
        "rollout.halted",
        json!({"step": i, "ring": r.plan[i].label, "reason": reason, "verdict": verdict,
            "time_to_stable_ms": time_to_stable_ms, "rolled_back_tenants": ring_tenants(r, i),
            "kept_tenants": kept.tenants, "stable_digest": r.stable_digest}),
    )
    .await?;
    record_ring(engine, r, i, false).await?;
    Ok(())
}

/// Runs the HTTP checks against the new version directly.
async fn http_checks(local: &LocalEnv, r: &Rollout) -> Result<(), String> {
    let addr = match &local.slots.lock().await.canary {
        Some(c) => c.instance.addr(),
        None => return Err("the new version is not running".into()),
    };
    for c in &r.strategy.http_checks {
        let tenant = c.tenant.as_deref().map(|t| (local.config.tenant_header.as_str(), t));
        match http_status(addr, &c.path, tenant, Duration::from_secs(5)).await {
            Ok(s) if s == c.expect_status => {}
            Ok(s) => {
                return Err(format!(
                    "HTTP check {} answered {s}, expected {}",
                    c.path, c.expect_status
                ));
            }
            Err(e) => return Err(format!("HTTP check failed: {e}")),
        }
    }
    Ok(())
}

/// All traffic back on stable now; the canary stops; the rollback is recorded with the time from
/// the breaching measurement to stable.
#[allow(clippy::too_many_arguments)]
async fn roll_back(
    engine: &Engine,
    local: &LocalEnv,
    r: &Rollout,
    step: usize,
    reason: String,
    verdict: Option<Verdict>,
    measured_at: Instant,
    aborted_by: Option<&Order>,
) -> Result<(), AppError> {
    let canary = {
        let mut slots = local.slots.lock().await;
        local.route_stable(&slots);
        slots.canary.take()
    };
    let time_to_stable_ms = measured_at.elapsed().as_secs_f64() * 1000.0;
    tracing::warn!(rollout = %r.id, %reason, time_to_stable_ms, "rolled back");
    if let Some(c) = canary {
        c.instance.stop().await;
    }
    // The deployment records first: a Ward killed before the terminal event finds them on
    // restart and only finishes the rollout (see `drive`).
    record_deployment(engine, r, None, false, None).await?;
    restore_rings(engine, r, step).await?;
    let payload = json!({"step": step, "reason": reason, "verdict": verdict, "time_to_stable_ms": time_to_stable_ms,
        "aborted": aborted_by.is_some(), "stable_digest": r.stable_digest});
    match aborted_by {
        Some(o) => record_order(engine, r, o, "rollout.rolled_back", payload).await?,
        None => record(engine, r, "rollout.rolled_back", payload).await?,
    };
    Ok(())
}

/// Deployment records written since the rollout started.
fn since_start<'a>(
    r: &Rollout,
    deployments: &'a [deployments::Deployment],
) -> impl DoubleEndedIterator<Item = &'a deployments::Deployment> {
    let started = r.events.first().map_or(0, |e| e.seq);
    deployments.iter().filter(move |d| d.seq > started)
}

/// After a rings rollout is rolled back or aborted past its first ring, the tenants of the rings
/// that had passed are back on stable: recorded as a deployment of the stable release to them,
/// reverting their ring's record (so drift and history see what they run again).
async fn restore_rings(engine: &Engine, r: &Rollout, step: usize) -> Result<(), AppError> {
    let Some(kept) = step.checked_sub(1).and_then(|k| r.plan.get(k)) else {
        return Ok(());
    };
    if r.strategy.kind != StrategyKind::Rings || kept.tenants.is_empty() {
        return Ok(());
    }
    let deployments = deployments::deployments(&engine.ledger, &r.environment).await?;
    let Some(restore) = restore_of(r, &deployments) else {
        return Ok(());
    };
    let started = r.events.first().map_or(0, |e| e.seq);
    let reverted = deployments
        .iter()
        .rev()
        .find(|d| d.seq > started && d.ring.is_some() && d.status == "succeeded" && d.digests == [r.digest.clone()])
        .map(|d| d.seq);
    let from = deployments.iter().find(|d| d.seq == restore.deployment);
    let policy = engine.policy();
    let env = environment::find(&policy.environments, &r.environment)?;
    let rel = deployments::Release {
        env,
        change: &restore.change,
        digests: &restore.digests,
        ring: None,
        gate_decision: from.map_or(0, |d| d.gate_decision),
        approvals: from.map(|d| d.approvals.clone()).unwrap_or_default(),
        excused_by: from.map(|d| d.excused_by.clone()).unwrap_or_default(),
        rollback_of: reverted,
        requested_at: None,
        drill: false,
    };
    let units = kept
        .tenants
        .iter()
        .map(|t| {
            let config = from
                .and_then(|d| d.targets.iter().find(|x| x.tenant.as_deref() == Some(t)))
                .and_then(|x| x.config_digest.clone());
            (Some(t.clone()), config)
        })
        .collect();
    let runs = crate::local_runs(units, true, None);
    deployments::append_record(&engine.ledger, &engine_identity(), &rel, runs, "local").await?;
    Ok(())
}

/// The deployment record of a rollout's outcome: for the whole environment (the local runtime
/// serves every tenant), or for one ring's tenants.
async fn record_deployment(
    engine: &Engine,
    r: &Rollout,
    ring: Option<(&str, Vec<String>)>,
    succeeded: bool,
    rollback_to: Option<deployments::Restore>,
) -> Result<deployments::Deployment, AppError> {
    let policy = engine.policy();
    let env = environment::find(&policy.environments, &r.environment)?;
    // A ring's tenants, or the environment as a whole and every tenant.
    let tenant_config = |t: String| {
        let c = r.tenant_configs.get(&t).cloned();
        (Some(t), c)
    };
    let (ring, units) = match ring {
        Some((name, tenants)) => (Some(name), tenants.into_iter().map(tenant_config).collect()),
        None => {
            let mut units = vec![(None, r.config_digest.clone())];
            units.extend(env.all_tenants().into_iter().map(tenant_config));
            (None, units)
        }
    };
    let rel = deployments::Release {
        env,
        change: &r.change,
        digests: std::slice::from_ref(&r.digest),
        ring,
        gate_decision: r.gate_decision,
        approvals: r.approvals.clone(),
        excused_by: r.excused_by.clone(),
        rollback_of: None,
        requested_at: None,
        drill: false,
    };
    // The target's output: which rollout, with which strategy and plan, ended how — so the
    // deployment record leads to the rollout's events.
    let output = serde_json::to_vec(&json!({
        "rollout": r.id, "strategy": r.strategy, "plan": r.plan, "ring": ring,
        "succeeded": succeeded, "stable_digest": r.stable_digest,
    }))
    .map_err(AppError::internal)?;
    let output_digest = ward_evidence::digest::of_bytes(&output);
    ward_app::documents::keep_evidence(&engine.ledger, &output_digest, &output).await?;
    let mut runs = crate::local_runs(units, succeeded, rollback_to);
    for run in &mut runs {
        run.output_digest = Some(output_digest.clone());
    }
    deployments::append_record(&engine.ledger, &engine_identity(), &rel, runs, "local").await
}

/// The deployment record of ring step `i`: its tenants now run the new version (or, failed,
/// went back to stable). The last step, everyone else, is recorded when the rollout completes.
async fn record_ring(engine: &Engine, r: &Rollout, i: usize, succeeded: bool) -> Result<(), AppError> {
    let tenants = ring_tenants(r, i);
    if tenants.is_empty() {
        return Ok(());
    }
    let deployments = deployments::deployments(&engine.ledger, &r.environment).await?;
    let restore = restore_of(r, &deployments);
    record_deployment(engine, r, Some((&r.plan[i].label, tenants)), succeeded, restore).await?;
    Ok(())
}

/// The new version becomes stable: deployment recorded, old version stopped.
async fn complete(engine: &Engine, local: &LocalEnv, r: &Rollout) -> Result<(), AppError> {
    let old = {
        let mut slots = local.slots.lock().await;
        let new = slots.canary.take();
        let old = std::mem::replace(&mut slots.stable, new);
        local.route_stable(&slots);
        old
    };
    let deployments = deployments::deployments(&engine.ledger, &r.environment).await?;
    let d = record_deployment(engine, r, None, true, restore_of(r, &deployments)).await?;
    record(engine, r, "rollout.completed", json!({"deployment": d.seq})).await?;
    if let Some(o) = old {
        o.instance.stop().await;
    }
    Ok(())
}
