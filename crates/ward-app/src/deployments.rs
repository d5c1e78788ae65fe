//! Deployment history: the records every promotion, rollback and rollout leaves
//! (`deployment.recorded`), and the rules read off them — what a tenant runs release by release
//! ([`history`]), which releases a rollback reverted ([`reverted`]), the previous known-good
//! release ([`known_good`]), where a change stands on its way into an environment
//! ([`placement_of`]) and what a rollback goes back to ([`plan_rollback`]).
//!
//! The rules are pure functions over the records; the functions that read the ledger only load
//! them. The gate, promotion and rollouts depend on this module; it imports none of them.

use crate::environment::Environment;
use crate::error::{AppError, Kind};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashSet;
use ward_core::Identity;
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

const DEPLOYMENTS: &str = "deployments";

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
    /// The `deployment.started` entry announcing it before its targets ran (none for records
    /// made before Ward announced deployments, and for rollouts', which announce themselves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<u64>,
    /// The request it ran (with its announcement).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<Requested>,
    /// Its announcement had been recorded as interrupted (this entry) before this record: its
    /// process was cut off past its lease (frozen, or the database out of its reach) and ran
    /// on; another deployment may have run meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after_interruption: Option<u64>,
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
        let mut ops = match (e.kind.as_str(), p.get("environment").and_then(Value::as_str)) {
            ("deployment.recorded", Some(env)) => vec![ProjectionOp::put_stamped(
                DEPLOYMENTS,
                format!("{env}/{:020}", e.seq),
                e,
                p,
            )],
            ("drill.recorded", Some(env)) => {
                vec![ProjectionOp::put_stamped(DRILLS, format!("{env}/{:020}", e.seq), e, p)]
            }
            ("deployment.started", Some(env)) => {
                vec![ProjectionOp::put_stamped(
                    IN_FLIGHT,
                    format!("{env}/{:020}", e.seq),
                    e,
                    p,
                )]
            }
            ("deployment.interrupted", Some(env)) => vec![ProjectionOp::put_stamped(
                INTERRUPTED,
                format!("{env}/{:020}", e.seq),
                e,
                p,
            )],
            _ => vec![],
        };
        // A record or an interruption ends the announcement it names.
        let ended = match (e.kind.as_str(), p.get("environment").and_then(Value::as_str)) {
            ("deployment.recorded" | "deployment.interrupted", Some(env)) => {
                p.get("started").and_then(Value::as_u64).map(|s| ProjectionOp::Delete {
                    collection: IN_FLIGHT.into(),
                    key: format!("{env}/{s:020}"),
                })
            }
            _ => None,
        };
        ops.extend(ended);
        ops
    }
}

/// Projection of `drill.recorded` (key `<environment>/<seq>`), kept by [`DeploymentProjector`].
pub const DRILLS: &str = "drills";

/// A rollback drill as recorded (`drill.recorded`): the fields the metrics read.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DrillRecord {
    /// Environment.
    pub environment: String,
    /// The deployment record of the drill's rollback.
    pub deployment: u64,
    /// Milliseconds from the drill's start to every probe answered by the previous release
    /// (none when it was not measured).
    #[serde(default)]
    pub time_to_restore_ms: Option<f64>,
    /// Every probe was answered by the previous release.
    #[serde(default)]
    pub all_restored: bool,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// Rollback drills in `environment`, oldest first. A log recorded before this projection
/// existed shows its drills after `ward log rebuild-projections`.
pub async fn drills(ledger: &Ledger, environment: &str) -> Result<Vec<DrillRecord>, AppError> {
    per_environment(ledger, DRILLS, environment).await
}

/// Every row of a projection keyed `<environment>/<seq>` for `environment`, oldest first.
async fn per_environment<T: serde::de::DeserializeOwned>(
    ledger: &Ledger,
    collection: &str,
    environment: &str,
) -> Result<Vec<T>, AppError> {
    by_prefix(ledger, collection, &format!("{environment}/")).await
}

/// The documents of `collection` whose keys start with `prefix` (`""`: every environment's).
async fn by_prefix<T: serde::de::DeserializeOwned>(
    ledger: &Ledger,
    collection: &str,
    prefix: &str,
) -> Result<Vec<T>, AppError> {
    ledger
        .store()
        .projection_prefix_text(collection, prefix)
        .await?
        .into_iter()
        .map(|(_, doc)| serde_json::from_str(&doc).map_err(AppError::internal))
        .collect()
}

/// Deployments into `environment`, oldest first.
pub async fn deployments(ledger: &Ledger, environment: &str) -> Result<Vec<Deployment>, AppError> {
    per_environment(ledger, DEPLOYMENTS, environment).await
}

/// The latest deployment recorded in `environment` at an entry in `[from, below)`, if any: one
/// indexed seek, whatever the history's length.
pub async fn recorded_between(
    ledger: &Ledger,
    environment: &str,
    from: u64,
    below: u64,
) -> Result<Option<Deployment>, AppError> {
    ledger
        .store()
        .projection_last_before(
            DEPLOYMENTS,
            &format!("{environment}/{from:020}"),
            &format!("{environment}/{below:020}"),
        )
        .await?
        .map(|(_, doc)| serde_json::from_value(doc).map_err(AppError::internal))
        .transpose()
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

/// What each tenant (key `Some`) and the environment as a whole (key `None`) runs now: the last
/// successful run of each in `list` (oldest first) — `history(list, unit).pop()` for every unit
/// at once, in one pass over the records (the release board asks it for every tenant).
pub fn current_runs(list: &[Deployment]) -> std::collections::HashMap<Option<String>, Restore> {
    let mut at: std::collections::HashMap<Option<&str>, (usize, usize)> = std::collections::HashMap::new();
    for (i, d) in list.iter().enumerate() {
        for (j, r) in d.targets.iter().enumerate() {
            if r.status == "succeeded" {
                at.insert(r.tenant.as_deref(), (i, j));
            }
        }
    }
    at.into_iter()
        .map(|(unit, (i, j))| {
            let d = &list[i];
            let restore = Restore {
                deployment: d.seq,
                change: d.change.clone(),
                digests: d.digests.clone(),
                config_digest: d.targets[j].config_digest.clone(),
            };
            (unit.map(str::to_string), restore)
        })
        .collect()
}

/// Projection of what each unit runs now (key `<environment>/-` for the environment as a
/// whole, `<environment>/t:<tenant>` for a tenant): the last successful target run of each, as
/// [`current_runs`] finds it over every record, kept up to date as records are appended — the
/// release board reads one small row a unit instead of the environment's whole history.
pub const CURRENT_RUNS: &str = "current_runs";

/// A unit's key in the per-unit projections ([`CURRENT_RUNS`], [`crate::promotion::drift::DRIFT_LATEST`]).
pub(crate) fn unit_key(environment: &str, tenant: Option<&str>) -> String {
    match tenant {
        None => format!("{environment}/-"),
        Some(t) => format!("{environment}/t:{t}"),
    }
}

/// What a unit runs now ([`CURRENT_RUNS`]): the release and when its record was made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CurrentRun {
    /// Tenant; none for the environment as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The release.
    pub restore: Restore,
    /// When its deployment record was made (RFC 3339).
    pub since: String,
}

/// Projects `deployment.recorded` into [`CURRENT_RUNS`] (a payload that is not a deployment
/// record projects nothing, as it reads as none).
pub struct CurrentRunProjector;

impl Projector for CurrentRunProjector {
    fn name(&self) -> &'static str {
        "current_runs"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        if e.kind != "deployment.recorded" || p.get("environment").and_then(Value::as_str).is_none() {
            return vec![];
        }
        let ProjectionOp::Put { doc, .. } = ProjectionOp::put_stamped(CURRENT_RUNS, String::new(), e, p) else {
            return vec![];
        };
        let Ok(d) = serde_json::from_value::<Deployment>(doc) else {
            return vec![];
        };
        current_runs(std::slice::from_ref(&d))
            .into_iter()
            .filter_map(|(tenant, restore)| {
                let key = unit_key(&d.environment, tenant.as_deref());
                let doc = serde_json::to_value(CurrentRun {
                    tenant,
                    restore,
                    since: d.time.clone(),
                })
                .ok()?;
                Some(ProjectionOp::Put {
                    collection: CURRENT_RUNS.into(),
                    key,
                    doc,
                })
            })
            .collect()
    }
}

/// What each unit of `environment` runs now, by unit (`None`: the environment as a whole) —
/// [`current_runs`] over its records, read from [`CURRENT_RUNS`].
pub async fn current(
    ledger: &Ledger,
    environment: &str,
) -> Result<std::collections::HashMap<Option<String>, CurrentRun>, AppError> {
    let text = ledger
        .store()
        .projection_prefix_array(CURRENT_RUNS, &format!("{environment}/"))
        .await?;
    let runs: Vec<CurrentRun> = serde_json::from_str(&text).map_err(AppError::internal)?;
    Ok(runs.into_iter().map(|r| (r.tenant.clone(), r)).collect())
}

/// The deployments a later successful rollback reverted: never a known-good release again.
pub fn reverted(list: &[Deployment]) -> HashSet<u64> {
    list.iter()
        .filter(|d| d.targets.iter().any(|r| r.status == "succeeded"))
        .filter_map(|d| d.rollback_of)
        .collect()
}

/// The latest release in `history` that differs (digests or configuration) from `current`
/// and was not reverted by a rollback.
pub fn known_good(
    history: &[Restore],
    reverted: &HashSet<u64>,
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

/// What a rollback does, decided over an environment's deployment records.
#[derive(Clone, Debug)]
pub struct RollbackPlan<'a> {
    /// The deployment it reverts: the latest successful one (of the tenant, when one is named).
    pub reverts: u64,
    /// The release it goes back to.
    pub restore: Restore,
    /// The record of that release, whose gate decision and approvals the rollback relies on.
    pub relied_on: &'a Deployment,
    /// What goes back, in order: each tenant (`None`: the environment as a whole) with the
    /// digest of the configuration it ran then.
    pub units: Vec<(Option<String>, Option<String>)>,
}

/// The rollback choice for `env` (or one of its tenants) over its records, oldest first: every
/// unit the latest successful deployment reached goes back to its previous known-good release
/// ([`known_good`], never one a rollback reverted), and they must all go back to the same
/// release. On the local runtime the environment goes back as a whole, with every tenant
/// ([`Environment::local_units`]); a tenant no deployment reached there follows the environment.
pub fn plan_rollback<'a>(
    list: &'a [Deployment],
    env: &Environment,
    tenant: Option<&str>,
) -> Result<RollbackPlan<'a>, AppError> {
    let refused = |code: &str, message: String, hint: &str| AppError::new(Kind::Conflict, code, message, hint);
    let local = env.runtime.is_some();
    let latest = if local {
        // The environment's current release (ring and restore records name only some tenants).
        let current = history(list, None).pop();
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
    let units: Vec<Option<String>> = if local {
        env.local_units()
    } else {
        match tenant {
            Some(t) => vec![Some(t.to_string())],
            None => latest
                .targets
                .iter()
                .filter(|r| r.status == "succeeded")
                .map(|r| r.tenant.clone())
                .collect(),
        }
    };
    let undone = reverted(list);
    let mut restore: Option<Restore> = None;
    let mut planned = Vec::new();
    for unit in units {
        let runs = history(list, unit.as_deref());
        let name = unit
            .as_deref()
            .map_or(env.name.clone(), |t| format!("{}/{t}", env.name));
        let Some(current) = runs.last() else {
            if local && unit.is_some() {
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
                "roll back one tenant at a time: name the environment and the tenant",
            ));
        }
        planned.push((unit, good.config_digest.clone()));
        restore = Some(good);
    }
    let Some(restore) = restore else {
        return Err(refused(
            "nothing_to_roll_back",
            format!("{} has nothing to roll back", env.name),
            "promote a release first",
        ));
    };
    let relied_on = list
        .iter()
        .find(|d| d.seq == restore.deployment)
        .ok_or_else(|| AppError::internal(format!("deployment {} is missing", restore.deployment)))?;
    Ok(RollbackPlan {
        reverts: latest.seq,
        restore,
        relied_on,
        units: planned,
    })
}

/// One deployment record, by its log entry.
pub async fn deployment(ledger: &Ledger, seq: u64) -> Result<Deployment, AppError> {
    for (_, doc) in ledger.store().projection_list(DEPLOYMENTS).await? {
        if doc.get("seq").and_then(Value::as_u64) == Some(seq) {
            return serde_json::from_value(doc).map_err(AppError::internal);
        }
    }
    let size = ledger.head().await?.size();
    Err(AppError::not_found(
        format!("no deployment at {}", crate::identifier::entry_shown(seq, size)),
        "deployment ids are the seq of an environment's deployment history",
    ))
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
        crate::environment::find(envs, environment)?;
    }
    Ok(list)
}

/// The deployments announced in a declared environment and not yet recorded, oldest first (a
/// typo is refused as for [`deployment_history`]).
pub async fn in_flight_in(ledger: &Ledger, envs: &[Environment], environment: &str) -> Result<Vec<Started>, AppError> {
    let list = in_flight(ledger, environment).await?;
    if list.is_empty() && !envs.is_empty() && deployments(ledger, environment).await?.is_empty() {
        crate::environment::find(envs, environment)?;
    }
    Ok(list)
}

/// The `promotion` part of the gate input for a change shipping `digests` into `environment`
/// (these tenants, or this ring): the deployment records it needs are read, then
/// [`placement_of`] decides.
pub async fn placement(
    ledger: &Ledger,
    envs: &[Environment],
    digests: &[String],
    environment: &str,
    tenants: &[String],
    ring: Option<&str>,
) -> Result<Value, AppError> {
    let Some(env) = envs.iter().find(|e| e.name == environment) else {
        return Ok(undeclared_placement());
    };
    let units = env
        .select(tenants, ring)
        .map_err(|e| AppError::invalid(e, "see the environment's tenants and rings in ward.toml"))?;
    let previous = match &env.after {
        Some(prev) => deployments(ledger, prev).await?,
        None => Vec::new(),
    };
    // Earlier rings matter only when a chosen tenant is in a ring.
    let ringed = units.iter().flatten().any(|t| env.ring_index(t).is_some());
    let here = match ringed {
        true => deployments(ledger, &env.name).await?,
        false => Vec::new(),
    };
    Ok(placement_of(env, digests, &units, ring, &previous, &here))
}

/// The `promotion` part of the gate input for an environment that is not declared.
pub fn undeclared_placement() -> Value {
    json!({"declared": false, "previous": null, "not_in_previous": [], "ring": null,
    "tenants": [], "earlier_rings_pending": []})
}

/// The `promotion` part of the gate input, decided over the records: which of `digests` the
/// preceding environment has not verified (`previous`: its deployments) — verified means a fully
/// successful deployment there that no successful rollback has reverted — and which tenants of
/// rings before the chosen ones do not run them yet (`here`: the environment's deployments).
/// `units` are the tenants chosen ([`Environment::select`]), `ring` the ring asked for.
pub fn placement_of(
    env: &Environment,
    digests: &[String],
    units: &[Option<String>],
    ring: Option<&str>,
    previous: &[Deployment],
    here: &[Deployment],
) -> Value {
    let mut not_in_previous = Vec::new();
    if env.after.is_some() {
        let undone = reverted(previous);
        let verified = |d: &String| {
            previous
                .iter()
                .any(|x| x.status == "succeeded" && x.digests.contains(d) && !undone.contains(&x.seq))
        };
        not_in_previous = digests.iter().filter(|d| !verified(d)).cloned().collect();
    }
    let chosen: Vec<&str> = units.iter().flatten().map(String::as_str).collect();
    let mut pending = Vec::new();
    if let Some(last) = chosen.iter().filter_map(|t| env.ring_index(t)).max() {
        for ring in &env.rings[..last] {
            for t in ring.tenants.iter().filter(|t| !chosen.contains(&t.as_str())) {
                let runs = history(here, Some(t));
                let current = runs.last().map(|r| r.digests.clone()).unwrap_or_default();
                if !digests.iter().all(|d| current.contains(d)) {
                    pending.push(json!({"ring": ring.name, "tenant": t}));
                }
            }
        }
    }
    json!({
        "declared": true,
        "previous": env.after,
        "not_in_previous": not_in_previous,
        "ring": ring,
        "tenants": chosen,
        "earlier_rings_pending": pending,
    })
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

/// Records a deployment whose target runs are done (`deployment.recorded`).
pub async fn append_record(
    ledger: &Ledger,
    by: &Identity,
    rel: &Release<'_>,
    runs: Vec<TargetRun>,
    target_kind: &str,
) -> Result<Deployment, AppError> {
    append_record_of(ledger, by, rel, runs, target_kind, None).await
}

/// Records the deployment `started` announced ([`append_started`]), its target runs done.
pub async fn append_record_of(
    ledger: &Ledger,
    by: &Identity,
    rel: &Release<'_>,
    runs: Vec<TargetRun>,
    target_kind: &str,
    started: Option<(&Started, Option<u64>)>,
) -> Result<Deployment, AppError> {
    let failed = runs.iter().any(|r| r.status != "succeeded");
    let unconfirmed = runs.iter().any(|r| r.status == UNCONFIRMED);
    let tenants: Vec<String> = runs.iter().filter_map(|r| r.tenant.clone()).collect();
    let payload = json!({
        "change": rel.change,
        "environment": rel.env.name,
        "digests": rel.digests,
        "ring": rel.ring,
        "tenants": tenants,
        "targets": runs,
        "target": target_kind,
        "status": match (unconfirmed, failed) {
            (true, _) => UNCONFIRMED,
            (false, true) => "failed",
            (false, false) => "succeeded",
        },
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
    if let Some((s, interrupted)) = started {
        payload["started"] = json!(s.seq);
        payload["requested"] = json!(s.requested);
        if let Some(i) = interrupted {
            payload["after_interruption"] = json!(i);
        }
    }
    append_stamped(ledger, by, "deployment.recorded", &rel.env.name, payload).await
}

/// Appends a `deployment.*` event about `environment` with `payload`, and reads it back as `T`:
/// the payload with the entry's `seq` and `time`, as the projections keep it.
async fn append_stamped<T: serde::de::DeserializeOwned>(
    ledger: &Ledger,
    by: &Identity,
    kind: &str,
    environment: &str,
    payload: Value,
) -> Result<T, AppError> {
    let receipt = ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: kind.into(),
            subject: format!("env:{environment}"),
            payload: payload.clone(),
        })
        .await?;
    let mut doc = payload;
    doc["seq"] = json!(receipt.seq);
    doc["time"] = json!(receipt.time);
    serde_json::from_value(doc).map_err(AppError::internal)
}

/// The status of a target run that reported success after its deployment had been found
/// interrupted (`after_interruption`): its process was cut off past its lease and ran on, and
/// another deployment may have run meanwhile. Ward does not vouch for it: not what a unit runs,
/// not a known-good release, not a release to roll back to (attack on `6fd710a`: a late record
/// became the current release over the one recorded after its interruption); observe the
/// environment to learn what runs. The record's status is the same.
pub const UNCONFIRMED: &str = "unconfirmed";

/// Projection of the deployments announced (`deployment.started`) and not yet ended by their
/// record or an interruption (key `<environment>/<seq>`), kept by [`DeploymentProjector`].
pub const IN_FLIGHT: &str = "deployments_in_flight";

/// What a promotion or rollback asked for: which request it is, so a second one like it can be
/// told apart from a different one waiting its turn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Requested {
    /// Which kind of request.
    pub action: Action,
    /// The change promoted (none for a rollback, whose release the records decide).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// The tenants it reaches, sorted, each once: however they were named (a ring, tenants in
    /// any order, one twice), the same tenants are the same request. For a rollback, the tenant
    /// named. Empty: the environment as a whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
}

/// What a deployment request does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Ships a change's release.
    Promote,
    /// Goes back to the previous known-good release.
    Rollback,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Action::Promote => "promote",
            Action::Rollback => "rollback",
        })
    }
}

impl Requested {
    /// Whether a deployment of `other` would be this one run again: a promote of the same change
    /// to the same tenants; for a rollback, a rollback reaching a tenant this one would (the
    /// environment as a whole reaches every tenant: `rollback --env dev` after `--tenant a`
    /// goes back a release further — attack on `e7ad2ee` — while `--tenant b` after `--tenant a`
    /// is another rollback — attack on `9a1e896`).
    pub fn same_as(&self, other: &Requested) -> bool {
        match self.action {
            Action::Rollback => {
                other.action == Action::Rollback
                    && (self.tenants.is_empty()
                        || other.tenants.is_empty()
                        || self.tenants.iter().any(|t| other.tenants.contains(t)))
            }
            Action::Promote => self == other,
        }
    }

    /// A promote of `change` reaching `units` (`None`: the environment as a whole).
    pub fn promote(change: &str, units: &[Option<String>]) -> Requested {
        let mut tenants: Vec<String> = units.iter().flatten().cloned().collect();
        tenants.sort();
        tenants.dedup();
        Requested {
            action: Action::Promote,
            change: Some(change.to_string()),
            tenants,
        }
    }

    /// A rollback of the environment, or of `tenant`.
    pub fn rollback(tenant: Option<&str>) -> Requested {
        Requested {
            action: Action::Rollback,
            change: None,
            tenants: tenant.map(str::to_string).into_iter().collect(),
        }
    }
}

/// A deployment announced before its targets ran (`deployment.started`), not yet recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Started {
    /// Environment.
    pub environment: String,
    /// The change released (for a rollback, the one it goes back to).
    pub change: String,
    /// The request it runs.
    pub requested: Requested,
    /// For a rollback: the deployment it reverts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<u64>,
    /// The gate decision relied on.
    pub gate_decision: u64,
    /// Identity executing it.
    pub executed_by: String,
    /// The lease its process took before announcing it and renews while it runs (a random
    /// token; none on a store whose locks end with their process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<String>,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// Announces a deployment before its targets run (`deployment.started`): while it runs, a
/// second request like it is refused rather than run again after it, and if the process running
/// it dies the entry stays unanswered, which the next deployment there records as interrupted.
pub async fn append_started(
    ledger: &Ledger,
    by: &Identity,
    rel: &Release<'_>,
    requested: &Requested,
    lease: Option<&str>,
) -> Result<Started, AppError> {
    let mut payload = json!({
        "environment": rel.env.name,
        "change": rel.change,
        "requested": requested,
        "rollback_of": rel.rollback_of,
        "gate_decision": rel.gate_decision,
        "executed_by": by.id,
    });
    if let Some(l) = lease {
        payload["lease"] = json!(l);
    }
    append_stamped(ledger, by, "deployment.started", &rel.env.name, payload).await
}

/// Why an announced deployment will never record its outcome (`why` of
/// `deployment.interrupted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interruption {
    /// Found unanswered by the next deployment, holding the environment's lock: the process
    /// running it stopped before its record was made.
    ProcessStopped,
    /// An error after its targets began kept its record from being made.
    Error,
    /// Announced while an earlier announcement there was unanswered: its process still ran,
    /// having lost its hold on the environment's lock (a PostgreSQL session cut), so this one
    /// was let in beside it; withdrawn before any of its targets ran.
    Withdrawn,
}

/// Records that announced deployment `started` will never record its outcome
/// (`deployment.interrupted`, by the identity that found it): what its targets left running is
/// unknown.
pub async fn append_interrupted(
    ledger: &Ledger,
    by: &Identity,
    started: &Started,
    why: Interruption,
) -> Result<u64, AppError> {
    let payload = json!({
        "environment": started.environment,
        "change": started.change,
        "started": started.seq,
        "why": why,
        "found_by": by.id,
    });
    let recorded: Interrupted =
        append_stamped(ledger, by, "deployment.interrupted", &started.environment, payload).await?;
    Ok(recorded.seq)
}

/// The deployments announced in `environment` and not yet recorded, oldest first.
pub async fn in_flight(ledger: &Ledger, environment: &str) -> Result<Vec<Started>, AppError> {
    per_environment(ledger, IN_FLIGHT, environment).await
}

/// How often a deployment renews its lease while it runs, on a store whose locks can be lost
/// while their process lives (PostgreSQL).
pub(crate) const LEASE_RENEWAL: std::time::Duration = std::time::Duration::from_secs(5);
/// How long after its lease's last renewal a deployment's process counts as stopped.
pub(crate) const LEASE_LAPSES: std::time::Duration = std::time::Duration::from_secs(30);

/// The lease a deployment into `env` renews while it runs.
pub(crate) fn deployment_lease(env: &str) -> String {
    format!("ward.deployment:{env}")
}

/// Whether announced deployment `started` still runs in a live process: the environment's lease
/// is the one it took before its announcement (`Started::lease`) and was renewed less than
/// [`LEASE_LAPSES`] ago.
pub(crate) fn still_running(lease: Option<&ward_store::Lease>, started: &Started) -> bool {
    lease.is_some_and(|l| started.lease.as_deref() == Some(l.holder.as_str()) && l.age < LEASE_LAPSES)
}

/// The deployments announced in `env` and unanswered, once none of them still runs, for the
/// holder of `env`'s lock. Where a lock ends with its process (SQLite), that is at once: nobody
/// else holds the lock, so their processes stopped. Where it can be lost while its process
/// lives (a PostgreSQL session cut by `idle_session_timeout`, `pg_terminate_backend` or a
/// failover: the attack on `9a1e896`, where the next deployment ran beside the first), one
/// whose lease is fresh still runs: this waits, as for the lock, until it is recorded or its
/// lease lapses (its process stopped).
pub(crate) async fn unanswered_once_none_runs(ledger: &Ledger, env: &str) -> Result<Vec<Started>, AppError> {
    loop {
        let now = in_flight(ledger, env).await?;
        if now.is_empty() || ledger.store().locks_end_with_their_process() {
            return Ok(now);
        }
        let lease = ledger.store().lease(&deployment_lease(env)).await?;
        if !now.iter().any(|s| still_running(lease.as_ref(), s)) {
            return Ok(now);
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// Of an environment's deployment records (`records`, oldest first), one of a request like
/// `requested` recorded since this request arrived (`arrived`: the log's size then): it ran
/// while this one waited for the environment's lock — in flight when it arrived, or sent at the
/// same moment and served first — and running this one would run it a second time, what a
/// client that gave up waiting and asked again, or a double submit, would otherwise get.
pub fn ran_while_waiting<'a>(records: &'a [Deployment], arrived: u64, requested: &Requested) -> Option<&'a Deployment> {
    records
        .iter()
        .rev()
        .take_while(|d| d.seq >= arrived)
        .find(|d| d.requested.as_ref().is_some_and(|r| requested.same_as(r)))
}

/// Projection of `deployment.interrupted` (key `<environment>/<seq>`), kept by
/// [`DeploymentProjector`].
pub const INTERRUPTED: &str = "deployments_interrupted";

/// A `deployment.interrupted` entry: the announcement it answers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Interrupted {
    /// Environment.
    pub environment: String,
    /// The announcement (`deployment.started`) it answers.
    pub started: u64,
    /// Why.
    #[serde(default)]
    pub why: Option<Interruption>,
    /// Log entry.
    pub seq: u64,
}

/// The interruptions recorded in `environment`, oldest first.
pub async fn interruptions(ledger: &Ledger, environment: &str) -> Result<Vec<Interrupted>, AppError> {
    per_environment(ledger, INTERRUPTED, environment).await
}

/// An announcement (`deployment.started`) the log answers more than once: the mark of two
/// processes that each took themselves for the one running it (a lock that did not hold).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnsweredTwice {
    /// Environment.
    pub environment: String,
    /// The announcement.
    pub started: u64,
    /// The entries answering it (records and interruptions), in log order.
    pub answers: Vec<u64>,
}

/// Every announcement answered more than once among `records` and `interruptions` (of any
/// environments). One answer each is the rule; the one exception is a process revived after
/// its lease lapsed: its announcement was recorded as interrupted, then its own record came,
/// naming that interruption (`after_interruption`). A record naming an interruption of
/// another announcement is counted as answering twice too. Pure.
pub fn answered_twice(records: &[Deployment], interruptions: &[Interrupted]) -> Vec<AnsweredTwice> {
    use std::collections::BTreeMap;
    /// An announcement's answers: records, interruptions.
    type Answers<'a> = (Vec<&'a Deployment>, Vec<&'a Interrupted>);
    let mut answers: BTreeMap<(&str, u64), Answers> = BTreeMap::new();
    for r in records {
        if let Some(started) = r.started {
            answers.entry((&r.environment, started)).or_default().0.push(r);
        }
    }
    for i in interruptions {
        answers.entry((&i.environment, i.started)).or_default().1.push(i);
    }
    answers
        .into_iter()
        .filter(
            |(_, (records, interruptions))| match (&records[..], &interruptions[..]) {
                ([record], []) => record.after_interruption.is_some(),
                ([], [_]) => false,
                ([record], [interruption]) => {
                    record.after_interruption != Some(interruption.seq) || record.seq < interruption.seq
                }
                _ => true,
            },
        )
        .map(|((environment, started), (records, interruptions))| {
            let mut seqs: Vec<u64> = records
                .iter()
                .map(|r| r.seq)
                .chain(interruptions.iter().map(|i| i.seq))
                .collect();
            seqs.sort_unstable();
            AnsweredTwice {
                environment: environment.to_string(),
                started,
                answers: seqs,
            }
        })
        .collect()
}

/// [`answered_twice`] over the whole log's deployment records and interruptions (for
/// `ward log fsck` and the server's periodic state check).
pub async fn check_answers(ledger: &Ledger) -> Result<Vec<AnsweredTwice>, AppError> {
    let records: Vec<Deployment> = by_prefix(ledger, DEPLOYMENTS, "").await?;
    let interruptions: Vec<Interrupted> = by_prefix(ledger, INTERRUPTED, "").await?;
    Ok(answered_twice(&records, &interruptions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_ledger::{Actor, ActorKind};

    fn record(env: &str, change: &str, digest: &str, targets: Value) -> NewEvent {
        NewEvent {
            actor: Actor {
                id: "user:rita".into(),
                kind: ActorKind::Human,
            },
            kind: "deployment.recorded".into(),
            subject: format!("env:{env}"),
            payload: json!({"change": change, "environment": env, "digests": [digest], "targets": targets,
                "target": "command", "status": "succeeded", "gate_decision": 1, "approvals": [],
                "executed_by": "user:rita"}),
        }
    }

    /// The projection the board reads names, for every unit, the same last successful run as
    /// going through every record: a failed or skipped run changes nothing, a later success
    /// replaces, the environment as a whole and each tenant apart, one environment's records
    /// never another's (`prod` and `prod-eu`) — and it is derived from the log like every other.
    #[tokio::test]
    async fn what_each_unit_runs_now_is_the_last_successful_run_of_its_records() {
        let db = ward_store::testing::TestDb::sqlite();
        let ledger = Ledger::new(ward_store::open(&db.url).await.unwrap(), crate::projectors());
        let run = |tenant: Option<&str>, status: &str| json!({"tenant": tenant, "status": status, "config_digest": format!("sha256:{status}")});
        ledger
            .append_batch(vec![
                record(
                    "prod",
                    "CHG-1",
                    "sha256:a1",
                    json!([run(Some("acme"), "succeeded"), run(Some("beta"), "succeeded")]),
                ),
                record(
                    "prod",
                    "CHG-2",
                    "sha256:a2",
                    json!([run(Some("acme"), "succeeded"), run(Some("beta"), "failed")]),
                ),
                record("prod-eu", "CHG-3", "sha256:a3", json!([run(Some("acme"), "succeeded")])),
                record(
                    "prod",
                    "CHG-4",
                    "sha256:a4",
                    json!([run(Some("beta"), "skipped"), run(None, "succeeded")]),
                ),
                record("stage", "CHG-5", "sha256:a5", json!([])),
            ])
            .await
            .unwrap();
        for env in ["prod", "prod-eu", "stage", "none"] {
            let list = deployments(&ledger, env).await.unwrap();
            let times: std::collections::HashMap<u64, String> = list.iter().map(|d| (d.seq, d.time.clone())).collect();
            let mut expected: Vec<(Option<String>, Restore, String)> = current_runs(&list)
                .into_iter()
                .map(|(unit, r)| (unit, r.clone(), times[&r.deployment].clone()))
                .collect();
            let mut got: Vec<(Option<String>, Restore, String)> = current(&ledger, env)
                .await
                .unwrap()
                .into_iter()
                .map(|(unit, c)| (unit, c.restore, c.since))
                .collect();
            expected.sort_by(|a, b| a.0.cmp(&b.0));
            got.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(got, expected, "{env}");
        }
        let prod = current(&ledger, "prod").await.unwrap();
        assert_eq!(prod[&Some("acme".to_string())].restore.change, "CHG-2");
        assert_eq!(prod[&Some("beta".to_string())].restore.change, "CHG-1");
        assert_eq!(prod[&None].restore.change, "CHG-4");
        assert!(ledger.check_state().await.unwrap().ok());
        db.cleanup().await;
    }

    fn event(kind: &str, env: &str, payload: Value) -> NewEvent {
        NewEvent {
            actor: Actor {
                id: "user:rita".into(),
                kind: ActorKind::Human,
            },
            kind: kind.into(),
            subject: format!("env:{env}"),
            payload,
        }
    }

    /// An announced deployment is in flight until the record or the interruption naming it —
    /// never one naming another announcement, nor one of another environment — and the state
    /// is derived from the log like every other.
    #[tokio::test]
    async fn a_deployment_is_in_flight_from_its_announcement_to_its_record_or_interruption() {
        let db = ward_store::testing::TestDb::sqlite();
        let ledger = Ledger::new(ward_store::open(&db.url).await.unwrap(), crate::projectors());
        let started = |env: &str, change: &str| {
            event(
                "deployment.started",
                env,
                json!({"environment": env, "change": change, "gate_decision": 1, "executed_by": "user:rita",
                    "requested": {"action": "promote", "change": change}}),
            )
        };
        // Entries 0, 1, 2: three announcements.
        ledger
            .append_batch(vec![
                started("prod", "CHG-1"),
                started("prod", "CHG-2"),
                started("prod-eu", "CHG-3"),
            ])
            .await
            .unwrap();
        let changes = |list: Vec<Started>| list.into_iter().map(|s| s.change).collect::<Vec<_>>();
        assert_eq!(changes(in_flight(&ledger, "prod").await.unwrap()), ["CHG-1", "CHG-2"]);
        let mut recorded = record("prod", "CHG-1", "sha256:a1", json!([]));
        recorded.payload["started"] = json!(0);
        let elsewhere = event(
            "deployment.interrupted",
            "prod",
            json!({"environment": "prod", "change": "CHG-3", "started": 2}),
        );
        ledger.append_batch(vec![recorded, elsewhere]).await.unwrap();
        assert_eq!(changes(in_flight(&ledger, "prod").await.unwrap()), ["CHG-2"]);
        assert_eq!(
            changes(in_flight(&ledger, "prod-eu").await.unwrap()),
            ["CHG-3"],
            "another environment's entry 2 stays"
        );
        ledger
            .append(event(
                "deployment.interrupted",
                "prod",
                json!({"environment": "prod", "change": "CHG-2", "started": 1}),
            ))
            .await
            .unwrap();
        assert!(in_flight(&ledger, "prod").await.unwrap().is_empty());
        assert_eq!(deployments(&ledger, "prod").await.unwrap()[0].started, Some(0));
        assert!(ledger.check_state().await.unwrap().ok());
        // `ward log fsck` reads every environment's answers: one each so far; a second record
        // of the first announcement (entry 6) is flagged.
        assert!(check_answers(&ledger).await.unwrap().is_empty());
        let mut again = record("prod", "CHG-1", "sha256:a1", json!([]));
        again.payload["started"] = json!(0);
        ledger.append(again).await.unwrap();
        let flagged = check_answers(&ledger).await.unwrap();
        assert_eq!(
            flagged,
            vec![AnsweredTwice {
                environment: "prod".into(),
                started: 0,
                answers: vec![3, 6]
            }]
        );
        db.cleanup().await;
    }

    /// Only a record of the same request made since this one arrived is the one it would run
    /// again: not a different change, tenants or action, not one recorded before it arrived
    /// (asked again on purpose); and the same tenants however they were named.
    #[test]
    fn only_the_same_request_recorded_while_waiting_would_run_twice() {
        let units = |names: &[&str]| names.iter().map(|t| Some(t.to_string())).collect::<Vec<_>>();
        let record = |seq: u64, requested: Option<Requested>| -> Deployment {
            serde_json::from_value(
                json!({"change": "CHG-1", "environment": "prod", "digests": [], "status": "succeeded",
                "gate_decision": 1, "approvals": [], "executed_by": "user:rita", "seq": seq, "time": "",
                "requested": requested}),
            )
            .unwrap()
        };
        let records = vec![
            record(2, Some(Requested::promote("CHG-1", &units(&["acme"])))),
            record(3, None),
            record(7, Some(Requested::promote("CHG-1", &units(&["beta", "acme"])))),
            record(9, Some(Requested::rollback(None))),
        ];
        let ask = |arrived: u64, r: Requested| ran_while_waiting(&records, arrived, &r).map(|d| d.seq);
        assert_eq!(
            ask(5, Requested::promote("CHG-1", &units(&["acme", "beta", "acme"]))),
            Some(7),
            "spelled otherwise"
        );
        assert_eq!(
            ask(5, Requested::rollback(None)),
            Some(9),
            "a rollback twice goes back two releases"
        );
        assert_eq!(
            ask(8, Requested::promote("CHG-1", &units(&["acme", "beta"]))),
            None,
            "recorded before it arrived"
        );
        assert_eq!(ask(0, Requested::promote("CHG-1", &units(&["acme"]))), Some(2));
        assert_eq!(ask(3, Requested::promote("CHG-1", &units(&["acme"]))), None);
        assert_eq!(ask(0, Requested::promote("CHG-2", &units(&["acme"]))), None);
        assert_eq!(
            ask(0, Requested::rollback(Some("acme"))),
            Some(9),
            "a rollback however its tenants are named"
        );
        assert!(Requested::rollback(Some("acme")).same_as(&Requested::rollback(Some("acme"))));
        assert!(
            !Requested::rollback(Some("acme")).same_as(&Requested::rollback(Some("beta"))),
            "another tenant's"
        );
        assert!(Requested::rollback(None).same_as(&Requested::rollback(Some("beta"))));
        assert!(!Requested::rollback(None).same_as(&Requested::promote("CHG-1", &[None])));
        assert_eq!(Requested::promote("CHG-1", &[None]).tenants, Vec::<String>::new());
    }

    /// Two processes that each took themselves for the one running an announcement leave two
    /// answers to it: flagged, whatever they were; a revived process's record naming the
    /// interruption that answered it first is the one exception.
    #[test]
    fn an_announcement_answered_twice_is_flagged_unless_the_late_record_names_its_interruption() {
        let record = |env: &str, seq: u64, started: u64, after: Option<u64>| -> Deployment {
            serde_json::from_value(json!({"change": "CHG-1", "environment": env, "digests": [],
                "status": "succeeded", "gate_decision": 1, "approvals": [], "executed_by": "user:rita",
                "seq": seq, "time": "", "started": started, "after_interruption": after}))
            .unwrap()
        };
        let interrupted = |env: &str, seq: u64, started: u64| Interrupted {
            environment: env.into(),
            started,
            why: None,
            seq,
        };
        let flagged = |records: &[Deployment], interruptions: &[Interrupted]| {
            answered_twice(records, interruptions)
                .into_iter()
                .map(|a| (a.environment, a.started, a.answers))
                .collect::<Vec<_>>()
        };
        // One answer each, and a revived process's record after its interruption: fine.
        assert!(
            flagged(
                &[record("prod", 3, 2, None), record("prod", 9, 5, Some(7))],
                &[interrupted("prod", 7, 5), interrupted("prod", 12, 11)],
            )
            .is_empty()
        );
        // The same announcement number in two environments is two announcements.
        assert!(flagged(&[record("prod", 3, 2, None), record("staging", 4, 2, None)], &[]).is_empty());
        // Two records; two interruptions; a record and an interruption it does not name; a
        // record that names an interruption of another announcement; a record before the
        // interruption it claims to follow.
        assert_eq!(
            flagged(&[record("prod", 3, 2, None), record("prod", 4, 2, None)], &[]),
            vec![("prod".to_string(), 2, vec![3, 4])]
        );
        assert_eq!(
            flagged(&[], &[interrupted("prod", 3, 2), interrupted("prod", 4, 2)]),
            vec![("prod".to_string(), 2, vec![3, 4])]
        );
        assert_eq!(
            flagged(&[record("prod", 9, 5, None)], &[interrupted("prod", 7, 5)]),
            vec![("prod".to_string(), 5, vec![7, 9])]
        );
        assert_eq!(
            flagged(&[record("prod", 9, 5, Some(4))], &[interrupted("prod", 4, 3)]),
            vec![("prod".to_string(), 5, vec![9])]
        );
        assert_eq!(
            flagged(&[record("prod", 6, 5, Some(7))], &[interrupted("prod", 7, 5)]),
            vec![("prod".to_string(), 5, vec![6, 7])]
        );
    }
}
