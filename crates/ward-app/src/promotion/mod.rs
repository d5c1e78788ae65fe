//! Promotion of a change's immutable artifacts into an environment, through its gate, by a
//! deployment target; every promotion leaves a deployment record ([`crate::deployments`]).
//! Environments are [`crate::environment`]; runtimes Ward runs itself are reached through the
//! [`Runtimes`] port, never by name.
//!
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
pub mod notes;
pub mod target;

pub use drift::{Drift, Observation, observe, observe_runtime};
pub use notes::{ReleaseEntry, release_notes, release_notes_markdown};
pub use target::{DeploymentTarget, Running, Runtimes, target_for};

use crate::changes::{self, Change};
use crate::deployments::{
    Deployment, Interruption, LEASE_LAPSES, LEASE_RENEWAL, Release, Requested, Restore, Started, TargetRun,
    append_interrupted, append_record_of, append_started, deployment, deployment_lease, deployments, history,
    in_flight, known_good, plan_rollback, ran_while_waiting, reverted, unanswered_once_none_runs,
};
use crate::environment::{Environment, find};
use crate::error::AppError;
use crate::error::Kind;
use crate::gate::{self, CheckRequest, GatePolicy};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use ward_core::Identity;
use ward_core::approval::ApprovalRules;
use ward_core::risk::RiskRules;
use ward_store::Ledger;

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
        let store = ledger.store().lock(&crate::documents::environment_lock(env)).await?;
        Ok(EnvLock {
            _store: store,
            _local: local,
        })
    }
}

/// What became of an announced deployment the next one found unanswered.
const DIED_UNRECORDED: &str =
    "the process running it stopped (killed, crashed or cut off) before its targets finished and its record was made";

/// Takes `env`'s lock for a deployment like `requested` (by `by`), refusing it once it holds the
/// lock when:
/// - a deployment announced there is still unrecorded: nobody else holds the lock, so the
///   process running it stopped; it is recorded as interrupted (`deployment_interrupted`), and
///   what runs there is unknown until someone looks;
/// - one like it has been recorded since this was asked (`deployment_ran_while_waiting`): it
///   was running then, or asked at the same moment and served first; a client that gave up
///   waiting and asked again, or a double submit, would otherwise run it twice (a rollback
///   twice goes back two releases: attack on `ca6fcdb`).
async fn take_for_deployment(
    ledger: &Ledger,
    by: &Identity,
    locks: &Locks,
    environment: &Environment,
    requested: &Requested,
) -> Result<Serialised, AppError> {
    let env = environment.name.as_str();
    let arrived = ledger.head().await?.size();
    let lock = locks.take(ledger, env).await?;
    let now = unanswered_once_none_runs(ledger, env).await?;
    if let Some(first) = now.first() {
        let mut entries = Vec::new();
        for s in &now {
            entries.push(
                append_interrupted(ledger, by, s, Interruption::ProcessStopped)
                    .await?
                    .to_string(),
            );
        }
        return Err(refused(
            "deployment_interrupted",
            format!(
                "the deployment of {} into {env} announced at entry {} (by {}) never recorded its outcome: {DIED_UNRECORDED}; \
                 what its targets left running is unknown, and this request was not run (recorded as interrupted: entry {})",
                first.change,
                first.seq,
                first.executed_by,
                entries.join(", ")
            ),
            &interrupted_hint(environment),
        ));
    }
    // Found interrupted while this one waited (by another request that was refused for it):
    // what runs there is as unknown to this one (attack on `e7ad2ee`: a third request queued
    // behind the one that found it ran beside the killed process's target).
    // A withdrawn announcement ran no target: it refuses nobody (attack on `0d02fbc`).
    if let Some(i) = crate::deployments::interruptions(ledger, env)
        .await?
        .into_iter()
        .rev()
        .take_while(|i| i.seq >= arrived)
        .find(|i| i.why != Some(Interruption::Withdrawn))
    {
        return Err(refused(
            "deployment_interrupted",
            format!(
                "the deployment into {env} announced at entry {} was recorded as interrupted (entry {}) while this request waited: \
                 it never recorded its outcome, what its targets left running is unknown, and this request was not run",
                i.started, i.seq
            ),
            &interrupted_hint(environment),
        ));
    }
    let records = deployments(ledger, env).await?;
    if let Some(d) = ran_while_waiting(&records, arrived, requested) {
        return Err(refused(
            "deployment_ran_while_waiting",
            format!(
                "a {} like this one into {env} ran while this one waited, by {}: recorded as deployment {} ({}); \
                 this request was not run, as it would have run the same deployment a second time",
                requested.action, d.executed_by, d.seq, d.status
            ),
            &format!(
                "see its record, deployment {}; to run it again on purpose, run this again",
                d.seq
            ),
        ));
    }
    let checked = ledger.head().await?.size();
    Ok(Serialised {
        _lock: lock,
        records,
        checked,
    })
}

/// An environment's lock, held for a deployment, and the environment's deployment records as
/// read under it (nobody else records one there while it is held).
struct Serialised {
    _lock: EnvLock,
    records: Vec<Deployment>,
    /// The log's size once the checks were made: a deployment announced or recorded there
    /// since, before this one's announcement, got in beside it (a lost lock session).
    checked: u64,
}

/// A deployment's lease on its environment, taken before its announcement and renewed while it
/// runs (nothing where locks end with their process); knows when it was lost.
struct Renewing {
    task: Option<tokio::task::JoinHandle<()>>,
    lost: Arc<std::sync::atomic::AtomicBool>,
    /// `(lease name, holder token)`.
    held: Option<(String, String)>,
}

impl Renewing {
    /// Whether another deployment took the lease over: this one's process was cut off past
    /// [`LEASE_LAPSES`] (frozen, or the database out of its reach) and may have been found
    /// interrupted; it runs no further target.
    fn lost(&self) -> bool {
        self.lost.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The token the announcement names (`Started::lease`).
    fn token(&self) -> Option<&str> {
        self.held.as_ref().map(|(_, t)| t.as_str())
    }

    /// Ends the lease once the deployment is answered (recorded, or withdrawn): the next one
    /// takes it at once. A process that stops first leaves it to lapse.
    async fn release(mut self, ledger: &Ledger) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some((name, token)) = &self.held
            && let Err(e) = ledger.store().end_lease(name, token).await
        {
            tracing::warn!(lease = %name, error = %e, "cannot end a deployment's lease: it lapses");
        }
    }
}

impl Drop for Renewing {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Takes the lease of deployments into `env` under a fresh random token, before the
/// announcement that names it — so that whoever finds the announcement unanswered also finds
/// its lease (attack on `6fd710a`: taken after the announcement, a session cut in between let
/// the next request record a live deployment as stopped, and run beside it) — waiting while
/// another holds it fresh (a deployment let in beside this one by a lost lock session, until it
/// ends; or one that stopped, until its lease lapses). Renewed every [`LEASE_RENEWAL`] while
/// the guard lives; a renewal refused (another took it after it lapsed) marks it lost.
async fn take_lease(ledger: &Ledger, env: &str) -> Result<Renewing, AppError> {
    let store = ledger.store().clone();
    let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if store.locks_end_with_their_process() {
        return Ok(Renewing {
            task: None,
            lost,
            held: None,
        });
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let name = deployment_lease(env);
    while !store.renew_lease(&name, &token, LEASE_LAPSES).await? {
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let (flag, task_store, task_name, task_token) = (lost.clone(), store.clone(), name.clone(), token.clone());
    let task = tokio::spawn(async move {
        loop {
            tokio::time::sleep(LEASE_RENEWAL).await;
            match task_store.renew_lease(&task_name, &task_token, LEASE_LAPSES).await {
                Ok(true) => {}
                Ok(false) => {
                    flag.store(true, std::sync::atomic::Ordering::SeqCst);
                    tracing::warn!(lease = %task_name, "a running deployment's lease was taken over: it runs no further target");
                    return;
                }
                Err(e) => tracing::warn!(lease = %task_name, error = %e, "cannot renew a running deployment's lease"),
            }
        }
    });
    Ok(Renewing {
        task: Some(task),
        lost,
        held: Some((name, token)),
    })
}

/// What got into an environment between a deployment's checks (the log's size `checked`) and
/// its announcement (`started`): nothing can while the environment's lock is held, so whatever
/// did came from a process that lost its hold on it (a PostgreSQL session cut).
enum Intruder {
    /// Announced and still running.
    Running(Started),
    /// Recorded: it ran after this one's gate decision and checks, which no longer hold.
    Recorded(Box<Deployment>),
}

/// The first deployment announced or recorded in `started`'s environment at or after `checked`
/// and before `started` (pure).
fn intruder(unanswered: &[Started], records: &[Deployment], checked: u64, started: u64) -> Option<Intruder> {
    let between = |seq: u64| (checked..started).contains(&seq);
    if let Some(s) = unanswered.iter().find(|s| between(s.seq)) {
        return Some(Intruder::Running(s.clone()));
    }
    records
        .iter()
        .find(|d| between(d.seq))
        .map(|d| Intruder::Recorded(Box::new(d.clone())))
}

/// The refusal of a deployment that withdrew (`withdrawn`: its interruption's entry) for
/// `intruder`, or because its lease was taken over.
fn withdrawal(env: &str, intruder: Option<&Intruder>, withdrawn: u64) -> AppError {
    match intruder {
        Some(Intruder::Running(s)) => refused(
            "deployment_running",
            format!(
                "the deployment of {} into {env} announced at entry {} (by {}) is still running: its process lost its hold on \
                 the environment's lock (a database session cut), which let this request in beside it; this request was \
                 withdrawn before any target ran (entry {withdrawn})",
                s.change, s.seq, s.executed_by
            ),
            "wait until that deployment is recorded, then run this again",
        ),
        Some(Intruder::Recorded(d)) => refused(
            "deployment_ran_while_waiting",
            format!(
                "deployment {} into {env} ({}, by {}) ran after this request's checks and gate decision, let in by a lost hold \
                 on the environment's lock; this request was withdrawn before any target ran (entry {withdrawn})",
                d.seq, d.change, d.executed_by
            ),
            &format!(
                "see its record, deployment {}; to run this one after it, run this again",
                d.seq
            ),
        ),
        None => refused(
            "deployment_running",
            format!(
                "another deployment into {env} holds the environment's lease: this request was withdrawn before any target \
                 ran (entry {withdrawn})"
            ),
            "wait until that deployment is recorded, then run this again",
        ),
    }
}

/// What to do after an interruption: see what runs, then ask again.
fn interrupted_hint(environment: &Environment) -> String {
    let env = &environment.name;
    match environment.runtime.is_some() || !environment.observe_command.is_empty() {
        true => format!("ask {env}'s runtime what runs there, then run this again"),
        false => format!("see what runs in {env} (its deployment target's own status), then run this again"),
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
    /// The runtimes Ward runs itself (the local runtime, inside `ward serve`; none in the CLI's
    /// local mode).
    pub runtime: Option<&'a dyn Runtimes>,
}

fn refused(code: &str, message: String, hint: &str) -> AppError {
    AppError::new(Kind::Conflict, code, message, hint)
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
            .ok_or_else(|| match tenants() {
                none if none.is_empty() => AppError::not_found(
                    format!("deployment {seq} has no run for tenant {t}: it ran for the environment as a whole"),
                    "name no tenant",
                ),
                runs => AppError::not_found(
                    format!("deployment {seq} has no run for tenant {t}"),
                    format!("its runs: {runs}"),
                ),
            })?,
        None if d.targets.len() == 1 => &d.targets[0],
        None => {
            return Err(AppError::invalid(
                format!("deployment {seq} ran for {} tenants", d.targets.len()),
                format!("name one of its tenants: {}", tenants()),
            ));
        }
    };
    let Some(digest) = run.output_digest.clone() else {
        let which = match &run.tenant {
            Some(t) => format!("deployment {seq}'s run for tenant {t}"),
            None => format!("deployment {seq}"),
        };
        let why = match (run.status.as_str(), d.drill) {
            ("skipped", _) => "it was skipped after an earlier failure, so nothing ran",
            (_, true) => "a rollback drill switches the router's traffic and runs no deployment command",
            _ => "the target printed nothing to keep",
        };
        return Err(AppError::not_found(
            format!("{which} recorded no output ({} run)", run.status),
            format!("{why}: see deployment {seq}'s record"),
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
        output: ward_evidence::guard::redact_verified(&text, &found, &cfg, &mut || false)
            .ok()
            .flatten()
            .unwrap_or_else(|| "[output withheld: its redacted copy still held possible PHI or a secret]".into()),
        redacted,
    })
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
            format!("no change {}", crate::identifier::shown(change_id)),
            "list the changes",
        )
    })?;
    if change.request.artifacts.is_empty() {
        return Err(AppError::invalid(
            format!("{} ships no artifact", change.id),
            "open the change naming its artifacts by digest",
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
            format!("see what is missing: the explanation of gate decision {}", decision.id),
        ));
    }
    // The decision's input as stored: what it judged. Missing, nothing is known to have been
    // judged (fail closed; `gate::check` stores it before it records the decision).
    let input: Value = ledger
        .store()
        .evidence(&decision.input_digest)
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            AppError::internal(format!(
                "the input of gate decision {} cannot be read: nothing ships on a decision whose input is unknown",
                decision.id
            ))
        })?;
    // What ships is what the decision judged: the change was read twice (here, and by the
    // gate), and an edit between the reads must not ship artifacts no decision saw (a
    // reviewer's find on the thirteenth session's break-glass binding).
    let judged: Option<Vec<&str>> = input
        .pointer("/change/artifacts")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let shipping: Vec<&str> = change.request.artifacts.iter().map(String::as_str).collect();
    if judged.as_ref() != Some(&shipping) {
        return Err(AppError::new(
            Kind::Conflict,
            "change_moved",
            format!(
                "{} changed while its gate decision {} was made: what would ship is not what was judged",
                change.id, decision.id
            ),
            "promote it again: the gate judges the change as it is now",
        ));
    }
    // The approvals current at the decision: those its stored input lists.
    let approvals: Vec<String> = input
        .get("approvals")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|a| a.get("decision").and_then(Value::as_str) == Some("approved"))
        .filter(|a| a.get("stale").and_then(Value::as_bool) != Some(true))
        .filter_map(|a| a.get("signer").and_then(Value::as_str).map(str::to_string))
        .collect();
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

/// Refuses a configuration no signature on the change covers (`config_not_in_change`): for each
/// unit (a tenant, or the environment as a whole) and the effective configuration it would
/// receive, every bundle it did not run with, in that place, at its last successful deployment
/// in `list` must be one the change names by digest and that was published in that place before
/// the change was opened ([`config::unsigned_bundles`]). Checked before the gate
/// records a decision. A rollback delivers what ran before and is not checked.
pub async fn check_configuration_named(
    ledger: &Ledger,
    change_id: &str,
    env: &str,
    list: &[Deployment],
    configs: &[(Option<&str>, Option<&config::Effective>)],
) -> Result<(), AppError> {
    // An unknown change is the gate's to refuse, by its own words.
    let Some(change) = changes::get(ledger, change_id).await? else {
        return Ok(());
    };
    for (unit, effective) in configs {
        let Some(effective) = effective else {
            continue;
        };
        let last = history(list, *unit).pop().and_then(|r| r.config_digest);
        if last.as_deref() == Some(effective.digest.as_str()) {
            continue;
        }
        // What ran, unreadable (its stored copy gone), counts as nothing: every bundle is asked
        // (fail closed, and a change naming them is a way forward).
        let delivered = match last {
            Some(d) => config::bundles_of(&config::load(ledger, &d).await.unwrap_or_default()),
            None => Vec::new(),
        };
        // Each bundle in its place — the environment's, then the unit's own — named for it or
        // not. What would be delivered is read back from the effective configuration; a bundle
        // published in between (another place list than the one composed) names nothing, and
        // an unreadable one is asked as a whole (fail closed).
        let mut placed = Vec::new();
        let places = match unit {
            Some(t) => vec![None, Some(*t)],
            None => vec![None],
        };
        for place in places {
            let there = config::history(ledger, env, place).await?;
            if let Some(current) = there.last() {
                placed.push(config::Placed {
                    digest: current.digest.clone(),
                    named: config::named_for_place(
                        &there,
                        &current.digest,
                        &change.request.config_versions,
                        change.seq,
                    ),
                });
            }
        }
        let composed = config::bundles_of(&effective.bytes);
        if composed.is_empty() || !composed.iter().eq(placed.iter().map(|p| &p.digest)) {
            placed = match composed.is_empty() {
                true => vec![effective.digest.clone()],
                false => composed,
            }
            .into_iter()
            .map(|digest| config::Placed { digest, named: false })
            .collect();
        }
        let unsigned = config::unsigned_bundles(&placed, &delivered);
        if let Some(first) = unsigned.first() {
            let whom = match unit {
                Some(t) => format!("{env} (tenant {t})"),
                None => env.to_string(),
            };
            return Err(AppError::new(
                Kind::Conflict,
                "config_not_in_change",
                format!(
                    "{whom} would receive configuration {} that {} does not name for where it is published: a configuration reaches an environment inside an approved change opened after it was published there",
                    unsigned.join(", "),
                    change.id
                ),
                format!("open a change naming configuration version {first} and have it approved"),
            ));
        }
    }
    Ok(())
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
    let mut units = env.select(&req.tenants, req.ring.as_deref()).map_err(|e| {
        let hint = match e.ends_with("declares no tenants or rings") {
            true => "name no tenants and no ring: it is deployed as a whole",
            false => "see the environment's tenants and rings in ward.toml",
        };
        AppError::invalid(e, hint)
    })?;
    if env.runtime.is_some() {
        local_units(env, &mut units, !req.tenants.is_empty() || req.ring.is_some())?;
    }
    let target = target_for(env, cx.runtime)?;
    let requested = Requested::promote(&req.change, &units);
    let serialised = take_for_deployment(ledger, by, cx.locks, env, &requested).await?;
    if env.runtime.is_some()
        && let Some(runtime) = cx.runtime
    {
        runtime.ensure_idle(&env.name).await?;
    }
    // The configurations first, under the environment's lock (which a purge's completion of
    // one takes too): one a purge is about refuses the promote before its gate decision is
    // recorded (attack on `75015ec`).
    let mut configs = Vec::new();
    for unit in &units {
        configs.push(config::effective(ledger, &env.name, unit.as_deref()).await?);
    }
    let delivering: Vec<(Option<&str>, Option<&config::Effective>)> = units
        .iter()
        .map(|u| u.as_deref())
        .zip(configs.iter().map(Option::as_ref))
        .collect();
    check_configuration_named(ledger, &req.change, &env.name, &serialised.records, &delivering).await?;
    let Authority {
        change,
        gate_decision,
        approvals,
        excused_by,
    } = authorise(ledger, by, &req.change, env, &req.tenants, req.ring.as_deref(), cx).await?;
    let list = &serialised.records;
    let undone = reverted(list);
    let mut jobs = Vec::new();
    for (unit, cfg) in units.into_iter().zip(configs) {
        let plan = known_good(
            &history(list, unit.as_deref()),
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
    record(
        ledger,
        by,
        &release,
        &requested,
        jobs,
        target.as_ref(),
        serialised.checked,
    )
    .await
}

/// On the local runtime one process serves every tenant: a deployment is for the whole
/// environment (the unit `None`, first, which the target acts on) and every tenant (recorded
/// with the configuration each receives). Selecting tenants or a ring is refused there.
fn local_units(env: &Environment, units: &mut Vec<Option<String>>, selected: bool) -> Result<(), AppError> {
    local_only_whole(env, selected)?;
    *units = env.local_units();
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
            "expose it ring by ring with a rollout (strategy rings), or promote or roll back the whole environment",
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

/// Announces the deployment (`deployment.started`), runs the target for each job in order (the
/// rest are skipped after a failure) and records the deployment; an error between the two is
/// recorded as its interruption (best effort: if that fails too, the next deployment there
/// finds the announcement unanswered).
async fn record(
    ledger: &Ledger,
    by: &Identity,
    rel: &Release<'_>,
    requested: &Requested,
    jobs: Vec<Job>,
    target: &dyn DeploymentTarget,
    checked: u64,
) -> Result<Deployment, AppError> {
    let renewing = take_lease(ledger, &rel.env.name).await?;
    let outcome = match append_started(ledger, by, rel, requested, renewing.token()).await {
        Ok(started) => run_announced(ledger, by, rel, &started, jobs, target, checked, &renewing).await,
        Err(e) => Err(e),
    };
    renewing.release(ledger).await;
    outcome
}

/// [`record`] after the announcement, holding the lease: withdraws if another deployment got in
/// (recorded as withdrawn), else runs the targets and records the deployment; an error on the
/// way is recorded as the interruption.
#[allow(clippy::too_many_arguments)]
async fn run_announced(
    ledger: &Ledger,
    by: &Identity,
    rel: &Release<'_>,
    started: &Started,
    jobs: Vec<Job>,
    target: &dyn DeploymentTarget,
    checked: u64,
    renewing: &Renewing,
) -> Result<Deployment, AppError> {
    // Two let in together (a lock session cut before one announced, attack on `9a1e896`; or
    // after its checks, before its announcement, attack on `0d02fbc`, which then ran on a gate
    // decision older than the other's record): the one that got in first runs.
    let env = started.environment.as_str();
    let checks = async {
        let recorded = crate::deployments::recorded_between(ledger, env, checked, started.seq).await?;
        let unanswered = in_flight(ledger, env).await?;
        Ok::<_, AppError>((
            intruder(&unanswered, recorded.as_slice(), checked, started.seq),
            unanswered.iter().any(|s| s.seq == started.seq),
        ))
    };
    let (intruder, own_unanswered) = match checks.await {
        Ok(found) => found,
        Err(e) => {
            let _ = append_interrupted(ledger, by, started, Interruption::Error).await;
            return Err(e);
        }
    };
    if !own_unanswered {
        // Found interrupted already (its lease lapsed before its first renewal): answered.
        return Err(refused(
            "deployment_interrupted",
            format!(
                "the deployment into {env} announced at entry {} was recorded as interrupted before its first target ran; \
                 nothing was run",
                started.seq
            ),
            &interrupted_hint(rel.env),
        ));
    }
    if intruder.is_some() || renewing.lost() {
        let withdrawn = append_interrupted(ledger, by, started, Interruption::Withdrawn).await?;
        return Err(withdrawal(env, intruder.as_ref(), withdrawn));
    }
    let recorded = match run_jobs(ledger, rel, jobs, target, renewing).await {
        Ok(mut runs) => {
            // Found interrupted while it ran (its process cut off past its lease): the record
            // says so, and what it ran is unconfirmed — not a plain outcome on top of the
            // interruption (attack on `6fd710a`: it became the current release).
            let interrupted = match crate::deployments::interruptions(ledger, env).await {
                Ok(list) => list
                    .into_iter()
                    .rev()
                    .take_while(|i| i.seq > started.seq)
                    .find(|i| i.started == started.seq)
                    .map(|i| i.seq),
                Err(e) => {
                    let _ = append_interrupted(ledger, by, started, Interruption::Error).await;
                    return Err(e);
                }
            };
            if interrupted.is_some() {
                for r in runs.iter_mut().filter(|r| r.status == "succeeded") {
                    r.status = crate::deployments::UNCONFIRMED.into();
                }
            }
            append_record_of(ledger, by, rel, runs, target.kind(), Some((started, interrupted))).await
        }
        Err(e) => Err(e),
    };
    if recorded.is_err() {
        let _ = append_interrupted(ledger, by, started, Interruption::Error).await;
    }
    recorded
}

/// Runs the target for each job in order; the rest are skipped after a failure.
async fn run_jobs(
    ledger: &Ledger,
    rel: &Release<'_>,
    jobs: Vec<Job>,
    target: &dyn DeploymentTarget,
    renewing: &Renewing,
) -> Result<Vec<TargetRun>, AppError> {
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
        // A deployment whose lease was taken over runs no further target: another may run.
        failed |= renewing.lost();
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
            crate::documents::keep_evidence(ledger, &digest, &outcome.output).await?;
            run.status = if outcome.succeeded { "succeeded" } else { "failed" }.into();
            run.exit_code = outcome.exit_code;
            run.output_digest = Some(digest);
            failed = !outcome.succeeded;
        }
        runs.push(run);
    }
    Ok(runs)
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
    runtime: Option<&dyn Runtimes>,
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
            format!("{} has no tenant {}", env.name, crate::identifier::shown(t)),
            env.unknown_tenant_hint(t),
        ));
    }
    let requested = Requested::rollback(tenant);
    let serialised = take_for_deployment(ledger, by, locks, env, &requested).await?;
    if env.runtime.is_some()
        && let Some(runtime) = runtime
    {
        runtime.ensure_idle(&env.name).await?;
    }
    let plan = plan_rollback(&serialised.records, env, tenant)?;
    let mut jobs = Vec::new();
    for (unit, config_digest) in plan.units {
        jobs.push(Job {
            tenant: unit,
            config: config::load_effective(ledger, config_digest.as_deref()).await?,
            rollback_to: None,
        });
    }
    let release = Release {
        env,
        change: &plan.restore.change,
        digests: &plan.restore.digests,
        ring: None,
        gate_decision: plan.relied_on.gate_decision,
        approvals: plan.relied_on.approvals.clone(),
        excused_by: plan.relied_on.excused_by.clone(),
        rollback_of: Some(plan.reverts),
        requested_at: Some(requested_at),
        drill: false,
    };
    record(
        ledger,
        by,
        &release,
        &requested,
        jobs,
        target.as_ref(),
        serialised.checked,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployments::still_running;
    use std::time::Duration;

    fn started(seq: u64) -> Started {
        Started {
            environment: "dev".into(),
            change: format!("CHG-{seq}"),
            requested: Requested {
                action: crate::deployments::Action::Promote,
                change: Some(format!("CHG-{seq}")),
                tenants: vec![],
            },
            rollback_of: None,
            gate_decision: 1,
            executed_by: "user:rita".into(),
            lease: None,
            seq,
            time: "2026-12-06T08:00:00Z".into(),
        }
    }

    fn lease(holder: &str, secs: u64) -> ward_store::Lease {
        ward_store::Lease {
            holder: holder.into(),
            age: Duration::from_secs(secs),
        }
    }

    /// A deployment whose lock session was cut still runs while its lease is fresh; one whose
    /// process stopped lets its lease lapse; a lease names one announcement only.
    #[test]
    fn a_deployment_runs_on_while_its_own_lease_is_fresh() {
        let mut s = started(7);
        s.lease = Some("t7".into());
        assert!(still_running(Some(&lease("t7", 0)), &s));
        assert!(still_running(Some(&lease("t7", 29)), &s));
        assert!(
            !still_running(Some(&lease("t7", 30)), &s),
            "lapsed: its process stopped"
        );
        assert!(!still_running(Some(&lease("t6", 1)), &s), "another deployment's lease");
        assert!(
            !still_running(None, &s),
            "never renewed (a store whose locks end with their process)"
        );
        assert!(
            !still_running(Some(&lease("t7", 0)), &started(7)),
            "announced without a lease"
        );
    }

    /// Two requests let in together (one's lock session was cut before it announced): the
    /// earlier announcement runs, the later withdraws, whichever looks first; one recorded
    /// after the later one's checks makes it withdraw too (its gate decision is older).
    #[test]
    fn of_two_announcements_let_in_together_the_later_withdraws() {
        let both = [started(7), started(9)];
        let seq = |i: Option<Intruder>| match i {
            Some(Intruder::Running(s)) => Some(s.seq),
            Some(Intruder::Recorded(d)) => Some(d.seq + 1000),
            None => None,
        };
        assert_eq!(seq(intruder(&both, &[], 5, 9)), Some(7));
        assert_eq!(seq(intruder(&both, &[], 5, 7)), None, "the earlier runs");
        assert_eq!(seq(intruder(&[started(9)], &[], 5, 9)), None, "alone");
        assert_eq!(
            seq(intruder(&both, &[], 8, 9)),
            None,
            "before its checks: waited for or found interrupted"
        );
        let record: Deployment = serde_json::from_value(serde_json::json!({
            "change": "CHG-6", "environment": "dev", "digests": [], "targets": [], "target": "command",
            "status": "succeeded", "gate_decision": 1, "approvals": [], "executed_by": "user:rita",
            "seq": 8, "time": "2026-12-06T08:00:00Z"
        }))
        .unwrap();
        assert_eq!(
            seq(intruder(&[started(9)], std::slice::from_ref(&record), 6, 9)),
            Some(1008),
            "recorded after its checks"
        );
        assert!(
            seq(intruder(&[started(9)], &[record], 8, 9)).is_some(),
            "recorded right at its checks' end"
        );
    }
}
