//! Delivery metrics read off the log: the reader behind `ward metrics dora`, its API route and
//! the `/metrics` gauges.
//!
//! [`read`] gathers one environment's records — deployment records (`deployment.recorded`,
//! manual rollbacks and drills among them), rollouts (`rollout.rolled_back`, `rollout.halted`),
//! changes (`change.opened`/`change.updated`: kind, incident ticket, commit times) and artifacts
//! (their service) — from the projections, in a fixed number of reads. [`facts`] turns them into
//! `ward_core::dora::Facts`, each fact keeping the `seq` of its entry; it is a pure mapping with
//! no rule in it: which deployment failed and how long recovery took is decided by
//! `ward_core::dora::compute`. [`dora`] puts the two together for a period and, asked to
//! explain, names each entry a figure rests on (seq, kind, time). Definitions: docs/METRICS.md.

use crate::changes::{self, Change};
use crate::deployments::{self, Deployment as Record, TargetRun};
use crate::environment::{self, Environment};
use crate::error::AppError;
use crate::rollout::{self, Rollout};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use ward_core::dora::{self, Band, Facts, Figure, Outcome};
use ward_ledger::{EventEnvelope, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// `[metrics]` of `ward.toml`.
///
/// ```toml
/// [metrics]
/// emergency_window_hours = 24   # an emergency change this soon after a deployment fails it
/// gauge_window_days = 30        # the trailing window of the /metrics gauges
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsRules {
    /// An emergency change of a service opened within this many hours after a deployment of
    /// the service makes the deployment failed (1–720).
    #[serde(default = "default_emergency_hours")]
    pub emergency_window_hours: u32,
    /// The trailing window, in days, of the DORA gauges on `/metrics` (1–366).
    #[serde(default = "default_gauge_days")]
    pub gauge_window_days: u32,
}

fn default_emergency_hours() -> u32 {
    24
}

fn default_gauge_days() -> u32 {
    30
}

impl Default for MetricsRules {
    fn default() -> Self {
        MetricsRules {
            emergency_window_hours: default_emergency_hours(),
            gauge_window_days: default_gauge_days(),
        }
    }
}

impl MetricsRules {
    /// Refuses windows outside their bounds.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=720).contains(&self.emergency_window_hours) {
            return Err("[metrics] emergency_window_hours must be 1 to 720".into());
        }
        if !(1..=366).contains(&self.gauge_window_days) {
            return Err("[metrics] gauge_window_days must be 1 to 366".into());
        }
        Ok(())
    }

    /// The DORA computation's settings.
    pub fn dora(&self) -> dora::Config {
        dora::Config {
            emergency_window_secs: i64::from(self.emergency_window_hours) * 3_600,
        }
    }
}

/// What to measure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoraRequest {
    /// Environment (declared in `[[environments]]`).
    pub environment: String,
    /// Only this service.
    pub service: Option<String>,
    /// Period start, Unix seconds (inclusive).
    pub from: i64,
    /// Period end, Unix seconds (exclusive).
    pub to: i64,
    /// Name the entries behind each figure.
    pub explain: bool,
}

/// A log entry a figure rests on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryRef {
    /// Log entry.
    pub seq: u64,
    /// Its event kind.
    pub kind: String,
    /// When it was recorded (RFC 3339).
    pub time: String,
    /// What it is, in a few words (change, outcome, service, tenant).
    pub what: String,
}

/// One metric over the period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Metric {
    /// `deployment_frequency`, `change_lead_time`, `change_fail_rate`,
    /// `failed_deployment_recovery_time` or `deployment_rework_rate`.
    pub name: String,
    /// The value; none without a sample (never reported as zero).
    pub value: Option<f64>,
    /// `per_day`, `seconds` or `ratio`.
    pub unit: String,
    /// How many items it was computed from.
    pub samples: u64,
    /// The DORA 2024 performance band, where one is published and there is a value.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub band: Option<Band>,
    /// With `explain`: the entries it was computed from, by seq.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<EntryRef>>,
}

/// DORA's five metrics for one environment (and service) over a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DoraReport {
    /// Environment.
    pub environment: String,
    /// The service, when one was asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Period start (RFC 3339, inclusive).
    pub from: String,
    /// Period end (RFC 3339, exclusive).
    pub to: String,
    /// An emergency change of a service within this many seconds after its deployment makes the
    /// deployment failed.
    pub emergency_window_secs: i64,
    /// The five metrics, in DORA's order.
    pub metrics: Vec<Metric>,
}

/// A time as RFC 3339 UTC (seconds).
pub fn rfc3339(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|_| secs.to_string())
}

/// Parses a period bound (`what`: "start" or "end"): an RFC 3339 time, or a date (`2026-12-01`,
/// midnight UTC).
pub fn parse_time(what: &str, s: &str) -> Result<i64, AppError> {
    let s = s.trim();
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(t.as_second());
    }
    if let Ok(d) = s.parse::<jiff::civil::Date>()
        && let Ok(z) = d.to_zoned(jiff::tz::TimeZone::UTC)
    {
        return Ok(z.timestamp().as_second());
    }
    Err(AppError::invalid(
        format!("the period's {what} is neither an RFC 3339 time nor a date"),
        "write it as 2026-12-01 (midnight UTC) or 2026-12-01T08:00:00Z",
    ))
}

/// A request from its text parameters: `to` defaults to `now`, `from` to 30 days before `to`.
pub fn request(
    environment: &str,
    service: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
    explain: bool,
    now: i64,
) -> Result<DoraRequest, AppError> {
    let to = match to {
        Some(t) => parse_time("end", t)?,
        // Up to and including the current second (the end is exclusive).
        None => now + 1,
    };
    let from = match from {
        Some(f) => parse_time("start", f)?,
        None => to - 30 * DAY,
    };
    check_period(from, to)?;
    // The report repeats the service it was asked for (text and JSON): a name, judged as one.
    if let Some(s) = service {
        crate::identifier::judge("service", s)?;
        crate::identifier::check_number("service", s)?;
    }
    Ok(DoraRequest {
        environment: environment.to_string(),
        service: service.map(str::to_string),
        from,
        to,
        explain,
    })
}

/// Checks a period: `from` before `to`.
pub fn check_period(from: i64, to: i64) -> Result<(), AppError> {
    if from >= to {
        return Err(AppError::invalid(
            format!(
                "the period is empty: from {} is not before to {}",
                rfc3339(from),
                rfc3339(to)
            ),
            "give a start earlier than the end",
        ));
    }
    Ok(())
}

/// Projection of what the DORA metrics need of each deployment record, key
/// `<environment>/<seq>` (as `deployments`): a [`DoraRecord`], a fraction of the record, so
/// that [`read`] is one narrow range read ([`ward_store::Store::projection_prefix_array`]) and
/// parses no more than the figures use.
pub const DORA_DEPLOYMENTS: &str = "dora_deployments";

/// One unit of a deployment record as DORA counts it: the environment as a whole (no tenant)
/// or a tenant, with its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Tenant; none for the environment as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// `succeeded` or `failed`.
    pub status: String,
}

/// What the DORA metrics read of a deployment record ([`DORA_DEPLOYMENTS`]): its entry, change,
/// digests, ring, whether the local runtime ran it, outcome, what it rolled back, and its
/// units ([`units`], decided when the record is projected).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoraRecord {
    /// Log entry.
    pub seq: u64,
    /// When it was recorded (RFC 3339).
    pub time: String,
    /// Change.
    pub change: String,
    /// The artifact digests deployed.
    pub digests: Vec<String>,
    /// The ring promoted, when one was named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring: Option<String>,
    /// The local runtime ran it (deployment target `local`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub local: bool,
    /// `succeeded` or `failed`.
    pub status: String,
    /// For a rollback: the deployment it reverts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<u64>,
    /// For a rollback by hand: when it was asked for (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<String>,
    /// A rollback drill's record.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub drill: bool,
    /// Its units, in the record's order.
    pub units: Vec<Unit>,
}

impl DoraRecord {
    /// What DORA reads of `d`. Pure.
    pub fn of(d: &Record) -> DoraRecord {
        DoraRecord {
            seq: d.seq,
            time: d.time.clone(),
            change: d.change.clone(),
            digests: d.digests.clone(),
            ring: d.ring.clone(),
            local: d.target == "local",
            status: d.status.clone(),
            rollback_of: d.rollback_of,
            requested_at: d.requested_at.clone(),
            drill: d.drill,
            units: units(d)
                .into_iter()
                .map(|u| Unit {
                    tenant: u.tenant,
                    status: u.status,
                })
                .collect(),
        }
    }
}

/// Projects `deployment.recorded` into [`DORA_DEPLOYMENTS`] (a payload that is not a deployment
/// record projects nothing, as it reads as none).
pub struct DoraProjector;

impl Projector for DoraProjector {
    fn name(&self) -> &'static str {
        "dora"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        let (Some(env), true) = (
            p.get("environment").and_then(Value::as_str),
            e.kind == "deployment.recorded",
        ) else {
            return vec![];
        };
        let ProjectionOp::Put { doc, .. } = ProjectionOp::put_stamped(DORA_DEPLOYMENTS, String::new(), e, p) else {
            return vec![];
        };
        let Ok(record) = serde_json::from_value::<Record>(doc) else {
            return vec![];
        };
        let Ok(doc) = serde_json::to_value(DoraRecord::of(&record)) else {
            return vec![];
        };
        vec![ProjectionOp::Put {
            collection: DORA_DEPLOYMENTS.into(),
            key: format!("{env}/{:020}", e.seq),
            doc,
        }]
    }
}

/// What the metrics are read from: one environment's records.
pub struct LogView {
    /// What DORA reads of the environment's deployment records, oldest first.
    pub deployments: Vec<DoraRecord>,
    /// Rollouts of the environment.
    pub rollouts: Vec<Rollout>,
    /// Every change.
    pub changes: Vec<Change>,
    /// Service of each registered artifact, by digest.
    pub services: HashMap<String, String>,
}

/// Reads what the metrics of `environment` need (a fixed number of projection reads).
pub async fn read(ledger: &Ledger, environment: &str) -> Result<LogView, AppError> {
    let text = ledger
        .store()
        .projection_prefix_array(DORA_DEPLOYMENTS, &format!("{environment}/"))
        .await?;
    let mut deployments: Vec<DoraRecord> = serde_json::from_str(&text).map_err(AppError::internal)?;
    deployments.sort_by_key(|d| d.seq);
    Ok(LogView {
        deployments,
        rollouts: rollout::list(ledger, Some(environment)).await?,
        changes: changes::list_as_recorded(ledger).await?,
        services: crate::evidence::services(ledger).await?,
    })
}

/// Facts with the entries they came from.
#[derive(Clone, Debug, Default)]
pub struct Traced {
    /// The facts.
    pub facts: Facts,
    /// Every entry a fact came from, by seq.
    pub entries: BTreeMap<u64, EntryRef>,
}

fn secs(t: &str) -> Option<i64> {
    t.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// The units of a record: the environment as a whole when it has such a run (the local
/// runtime, or an environment without tenants), else each tenant run that was attempted.
fn units(d: &Record) -> Vec<TargetRun> {
    if d.targets.is_empty() {
        return vec![TargetRun {
            tenant: None,
            config_digest: None,
            status: d.status.clone(),
            exit_code: None,
            output_digest: None,
            rollback_to: None,
        }];
    }
    if d.targets.iter().any(|r| r.tenant.is_none()) {
        return d.targets.iter().filter(|r| r.tenant.is_none()).cloned().collect();
    }
    d.targets.iter().filter(|r| r.status != "skipped").cloned().collect()
}

/// Maps the records of one environment to DORA facts (optionally for one service). Pure.
///
/// - A deployment record (not a rollback) is a deployment per service of its digests and per
///   unit ([`units`]); a succeeded ring step of a rollout on the local runtime is a step, not a
///   deployment (its completion record is).
/// - A failed record that a rollout rolled back (`rollout.rolled_back`, `rollout.halted`) is
///   rolled back: failed at the breaching measurement (the event's time less its
///   `time_to_stable_ms`), restored at the event. Any other failed run failed in the target and
///   is restored by the next successful deployment of the service there.
/// - A record with `rollback_of` is a rollback of the change it reverted, asked for at its
///   `requested_at` (or its own time), restored when recorded; a drill's is a rehearsal.
/// - An emergency change is an emergency of each service it ships, at its opening.
///
/// `explain` also names each entry (`Traced::entries`); without it none is built.
pub fn facts(view: &LogView, service: Option<&str>, explain: bool) -> Traced {
    let mut out = Traced::default();
    // Per change, once: unplanned, and its first commit time.
    let by_change: HashMap<&str, (bool, Option<i64>)> = view
        .changes
        .iter()
        .map(|c| (c.id.as_str(), (c.unplanned(), c.first_commit_time())))
        .collect();
    let by_seq: HashMap<u64, &DoraRecord> = view.deployments.iter().map(|d| (d.seq, d)).collect();
    let services_of = |digests: &[String]| -> Vec<String> {
        let mut v: Vec<String> = digests
            .iter()
            .filter_map(|d| view.services.get(d).cloned())
            .filter(|s| service.is_none_or(|want| want == s))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    let deps = &view.deployments;

    // Records a rollout rolled back: seq → (failed at, restored at).
    let mut rolled: HashMap<u64, (i64, i64)> = HashMap::new();
    for r in &view.rollouts {
        let started = r.events.first().map_or(0, |e| e.seq);
        for e in &r.events {
            let Some(at) = secs(&e.time) else { continue };
            let to_stable = e.payload.get("time_to_stable_ms").and_then(Value::as_f64);
            let record = match e.kind.as_str() {
                "rollout.rolled_back" => {
                    let lo = deps.partition_point(|d| d.seq <= started);
                    let hi = deps.partition_point(|d| d.seq < e.seq);
                    deps[lo..hi.max(lo)].iter().rev().find(|d| {
                        d.change == r.change && d.ring.is_none() && d.status == "failed" && d.rollback_of.is_none()
                    })
                }
                "rollout.halted" => {
                    let ring = e.payload.get("ring").and_then(Value::as_str);
                    let lo = deps.partition_point(|d| d.seq <= e.seq);
                    deps[lo..]
                        .iter()
                        .find(|d| d.change == r.change && d.ring.as_deref() == ring && d.status == "failed")
                }
                _ => None,
            };
            if let Some(d) = record {
                let failed_at = match to_stable {
                    Some(ms) => at - (ms / 1000.0).round() as i64,
                    None => secs(&d.time).unwrap_or(at),
                };
                rolled.insert(d.seq, (failed_at.min(at), at));
            }
        }
    }

    let mut pending_failed: Vec<usize> = Vec::new();
    for d in deps {
        let Some(t) = secs(&d.time) else { continue };
        if let Some(of) = d.rollback_of {
            let Some(undone) = by_seq.get(&of) else { continue };
            let restored: Vec<&Unit> = d.units.iter().filter(|u| u.status == "succeeded").collect();
            let svcs = services_of(&undone.digests);
            if restored.is_empty() || svcs.is_empty() {
                continue;
            }
            let requested = d.requested_at.as_deref().and_then(secs).unwrap_or(t).min(t);
            for svc in &svcs {
                for u in &restored {
                    out.facts.rollbacks.push(dora::Rollback {
                        seq: d.seq,
                        requested_at: requested,
                        restored_at: t,
                        service: svc.clone(),
                        tenant: u.tenant.clone(),
                        of_change: undone.change.clone(),
                        drill: d.drill,
                    });
                }
            }
            if explain {
                let what = format!(
                    "{} of {} (entry {of}) back to {} ({})",
                    if d.drill { "drill" } else { "rollback" },
                    undone.change,
                    d.change,
                    svcs.join(", ")
                );
                out.entries
                    .insert(d.seq, entry(d.seq, "deployment.recorded", &d.time, what));
            }
            continue;
        }
        let was_rolled = rolled.get(&d.seq).copied();
        if d.ring.is_some() && d.local && was_rolled.is_none() {
            continue;
        }
        let svcs = services_of(&d.digests);
        if svcs.is_empty() {
            continue;
        }
        let (unplanned, first_commit_time) = by_change.get(d.change.as_str()).copied().unwrap_or_default();
        let mut outcomes = Vec::new();
        let runs = &d.units;
        for svc in &svcs {
            for u in runs {
                let (outcome, failed_at, restored_at) = match (u.status.as_str(), was_rolled) {
                    ("succeeded", _) => (Outcome::Succeeded, None, None),
                    (_, Some((f, r))) => (Outcome::RolledBack, Some(f), Some(r)),
                    _ => (Outcome::Failed, Some(t), None),
                };
                if explain {
                    outcomes.push(match outcome {
                        Outcome::Succeeded => "succeeded",
                        Outcome::RolledBack => "rolled back",
                        Outcome::Failed => "failed",
                    });
                }
                if outcome == Outcome::Failed {
                    pending_failed.push(out.facts.deployments.len());
                }
                out.facts.deployments.push(dora::Deployment {
                    seq: d.seq,
                    time: t,
                    change: d.change.clone(),
                    service: svc.clone(),
                    tenant: u.tenant.clone(),
                    outcome,
                    unplanned,
                    first_commit_time,
                    failed_at,
                    restored_at,
                });
            }
        }
        if !explain {
            continue;
        }
        outcomes.sort_unstable();
        outcomes.dedup();
        let mut what = format!("{} {} ({})", d.change, outcomes.join("/"), svcs.join(", "));
        if unplanned {
            what.push_str(", unplanned");
        }
        if let Some(c) = first_commit_time {
            what.push_str(&format!(", first commit {}", rfc3339(c)));
        }
        out.entries
            .insert(d.seq, entry(d.seq, "deployment.recorded", &d.time, what));
    }

    // A run that failed in the target is restored by the next successful deployment (or
    // rollback) of the service there.
    // (time, seq) orders entries exactly, also within one second.
    type Restorer = (i64, u64, Option<String>);
    let mut restorers: HashMap<&str, Vec<Restorer>> = HashMap::new();
    for x in out.facts.deployments.iter().filter(|x| x.outcome == Outcome::Succeeded) {
        restorers
            .entry(x.service.as_str())
            .or_default()
            .push((x.time, x.seq, x.tenant.clone()));
    }
    for r in out.facts.rollbacks.iter().filter(|r| !r.drill) {
        restorers
            .entry(r.service.as_str())
            .or_default()
            .push((r.restored_at, r.seq, r.tenant.clone()));
    }
    for list in restorers.values_mut() {
        list.sort();
    }
    let mut fixes = Vec::new();
    for &i in &pending_failed {
        let f = &out.facts.deployments[i];
        let Some(list) = restorers.get(f.service.as_str()) else {
            continue;
        };
        let from = list.partition_point(|(t, seq, _)| (*t, *seq) <= (f.time, f.seq));
        if let Some((t, _, _)) = list[from..]
            .iter()
            .find(|(_, _, tenant)| tenant.is_none() || f.tenant.is_none() || *tenant == f.tenant)
        {
            fixes.push((i, *t));
        }
    }
    for (i, t) in fixes {
        out.facts.deployments[i].restored_at = Some(t);
    }

    for c in view.changes.iter().filter(|c| c.request.kind == "emergency") {
        let Some(opened) = secs(&c.time) else { continue };
        let svcs = services_of(&c.request.artifacts);
        for svc in &svcs {
            out.facts.emergencies.push(dora::Emergency {
                seq: c.seq,
                opened_at: opened,
                service: svc.clone(),
                change: c.id.clone(),
            });
        }
        if explain && !svcs.is_empty() {
            let what = format!("emergency change {} opened ({})", c.id, svcs.join(", "));
            out.entries.insert(c.seq, entry(c.seq, "change.opened", &c.time, what));
        }
    }
    out
}

fn entry(seq: u64, kind: &str, time: &str, what: String) -> EntryRef {
    EntryRef {
        seq,
        kind: kind.into(),
        time: time.into(),
        what,
    }
}

fn metric(name: &str, unit: &str, f: &Figure, entries: Option<&BTreeMap<u64, EntryRef>>) -> Metric {
    Metric {
        name: name.into(),
        value: f.value,
        unit: unit.into(),
        samples: f.samples,
        band: f.band,
        entries: entries.map(|all| {
            f.entries
                .iter()
                .map(|s| {
                    all.get(s).cloned().unwrap_or_else(|| EntryRef {
                        seq: *s,
                        kind: "unknown".into(),
                        time: String::new(),
                        what: String::new(),
                    })
                })
                .collect()
        }),
    }
}

/// The report of computed figures over traced facts. Pure.
pub fn report(traced: &Traced, req: &DoraRequest, cfg: &dora::Config) -> DoraReport {
    let r = dora::compute(&traced.facts, req.from, req.to, cfg);
    let entries = req.explain.then_some(&traced.entries);
    DoraReport {
        environment: req.environment.clone(),
        service: req.service.clone(),
        from: rfc3339(req.from),
        to: rfc3339(req.to),
        emergency_window_secs: cfg.emergency_window_secs,
        metrics: vec![
            metric("deployment_frequency", "per_day", &r.deployment_frequency, entries),
            metric("change_lead_time", "seconds", &r.change_lead_time, entries),
            metric("change_fail_rate", "ratio", &r.change_fail_rate, entries),
            metric(
                "failed_deployment_recovery_time",
                "seconds",
                &r.failed_deployment_recovery_time,
                entries,
            ),
            metric("deployment_rework_rate", "ratio", &r.deployment_rework_rate, entries),
        ],
    }
}

/// The environments the gauges measure ([`crate::environment::production`]).
pub use crate::environment::production;

/// The five figures over `[from, to)` for the whole environment (service `None`) and for each
/// of its services, at most `max_services` of them (by name); one mapping of the records,
/// split by service. Pure.
pub fn by_service(
    view: &LogView,
    from: i64,
    to: i64,
    cfg: &dora::Config,
    max_services: usize,
) -> Vec<(Option<String>, dora::Report)> {
    let all = facts(view, None, false).facts;
    let mut split: BTreeMap<&str, Facts> = BTreeMap::new();
    for d in &all.deployments {
        split.entry(d.service.as_str()).or_default().deployments.push(d.clone());
    }
    for r in &all.rollbacks {
        if let Some(f) = split.get_mut(r.service.as_str()) {
            f.rollbacks.push(r.clone());
        }
    }
    for e in &all.emergencies {
        if let Some(f) = split.get_mut(e.service.as_str()) {
            f.emergencies.push(e.clone());
        }
    }
    let mut out = vec![(None, dora::compute(&all, from, to, cfg))];
    for (svc, f) in split.into_iter().take(max_services) {
        out.push((Some(svc.to_string()), dora::compute(&f, from, to, cfg)));
    }
    out
}

/// DORA's five metrics for a declared environment (and service) over a period, read off the
/// log.
pub async fn dora(
    ledger: &Ledger,
    envs: &[Environment],
    req: &DoraRequest,
    cfg: &dora::Config,
) -> Result<DoraReport, AppError> {
    check_period(req.from, req.to)?;
    environment::find(envs, &req.environment)?;
    if let Some(s) = &req.service
        && (s.trim().is_empty() || s.len() > 128 || s.chars().any(char::is_control))
    {
        return Err(AppError::invalid(
            "the service must be 1 to 128 characters without control characters",
            "name the service as its artifacts were registered",
        ));
    }
    let view = read(ledger, &req.environment).await?;
    Ok(report(&facts(&view, req.service.as_deref(), req.explain), req, cfg))
}

/// Governance metrics for one environment over a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GovernanceReport {
    /// Environment.
    pub environment: String,
    /// Period start (RFC 3339, inclusive).
    pub from: String,
    /// Period end (RFC 3339, exclusive).
    pub to: String,
    /// `approval_latency` (seconds), `deployments_under_waiver` and
    /// `deployments_under_breakglass` (ratios), `overdue_reviews` (count),
    /// `evidence_complete_at_deployment` (ratio), `rollback_drill_age`,
    /// `rollback_drill_time_to_restore`, `automated_rollback_time_to_stable` (seconds); never a
    /// band.
    pub metrics: Vec<Metric>,
}

/// What the governance figures are read from, besides the environment's records.
pub struct GovernanceView {
    /// Every change (with its tier in force).
    pub changes: Vec<Change>,
    /// Every signature, by change, judged stale and by a party or not as the approvals view
    /// judges it ([`crate::approvals::signatures_judged`]).
    pub approvals: HashMap<String, Vec<crate::approvals::Approval>>,
    /// The environment's deployment records, oldest first.
    pub deployments: Vec<Record>,
    /// Every break-glass, its review judged at the period's end.
    pub breakglass: Vec<crate::exceptions::Breakglass>,
    /// The environment's rollouts.
    pub rollouts: Vec<Rollout>,
    /// The environment's rollback drills as recorded (`drill.recorded`).
    pub drills: Vec<crate::deployments::DrillRecord>,
    /// The gate decision each deployment relied on, as recorded (`None`: not found).
    pub decisions: HashMap<u64, Option<crate::audit::DecisionSeen>>,
}

/// Maps the records to governance facts. Pure. A change's quorum is its tier's `approvals` in
/// `[controls]`, reached by the signatures the gate counts
/// ([`crate::approvals::Approval::counts_toward_quorum`]: a stale signature, one by a party of
/// the change or a role's sign-off completes no quorum); a deployment relied on a waiver (`WVR-…`) or a break-glass (`BG-…`) when its
/// `excused_by` names one; its evidence was complete as [`crate::audit::evidence_complete`]
/// judges it; a drill is a deployment record marked `drill`, its time to restore the
/// `drill.recorded` entry naming that record.
pub fn governance_facts(
    view: &GovernanceView,
    controls: &crate::gate::Controls,
    rules: &ward_core::approval::ApprovalRules,
) -> Traced2 {
    use ward_core::governance as g;
    let mut facts = g::Facts::default();
    let mut entries = BTreeMap::new();
    for c in &view.changes {
        let Some(opened_at) = secs(&c.time) else { continue };
        let quorum = controls.tiers.get(c.tier.as_str()).map_or(0, |t| t.approvals);
        let signatures: Vec<g::Signature> = view
            .approvals
            .get(&c.id)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                Some(g::Signature {
                    seq: a.seq,
                    time: secs(&a.time)?,
                    // One person however their identity is spelled, as the gate counts.
                    signer: ward_core::approval::person_key(&a.signer),
                    approved: a.counts_toward_quorum(rules),
                })
            })
            .collect();
        for a in view.approvals.get(&c.id).into_iter().flatten() {
            let what = format!("{} {} {} ({})", a.signer, a.decision, c.id, a.meaning);
            entries.insert(a.seq, entry(a.seq, "approval.signed", &a.time, what));
        }
        let what = format!("{} opened ({} tier, quorum {quorum})", c.id, c.tier);
        entries.insert(c.seq, entry(c.seq, "change.opened", &c.time, what));
        facts.changes.push(g::ChangeApprovals {
            seq: c.seq,
            change: c.id.clone(),
            opened_at,
            quorum,
            signatures,
        });
    }
    let restored: HashMap<u64, (&crate::deployments::DrillRecord, f64)> = view
        .drills
        .iter()
        // A drill whose previous release did not answer every probe restored nothing: no time.
        .filter(|r| r.all_restored)
        .filter_map(|r| Some((r.deployment, (r, r.time_to_restore_ms?))))
        .collect();
    let drill_seqs: std::collections::HashSet<u64> =
        view.deployments.iter().filter(|d| d.drill).map(|d| d.seq).collect();
    for d in &view.deployments {
        let Some(time) = secs(&d.time) else { continue };
        if d.drill {
            let record = restored.get(&d.seq);
            facts.drills.push(g::Drill {
                seq: d.seq,
                time,
                restored: record.map(|(r, ms)| (r.seq, *ms)),
            });
            // A drill returns forward to the release it started on, recorded as a drill record
            // reverting the drill's own.
            let what = match d.rollback_of {
                Some(of) if drill_seqs.contains(&of) => format!("after the drill, returned to {}", d.change),
                _ => format!("drill back to {}", d.change),
            };
            entries.insert(d.seq, entry(d.seq, "deployment.recorded", &d.time, what));
            if let Some((r, ms)) = record {
                let what = format!("drill restored {} in {} ms", d.change, ms.round());
                entries.insert(r.seq, entry(r.seq, "drill.recorded", &r.time, what));
            }
            continue;
        }
        if d.rollback_of.is_some() || d.status != "succeeded" {
            continue;
        }
        let waiver = d.excused_by.iter().any(|x| x.starts_with("WVR-"));
        let breakglass = d.excused_by.iter().any(|x| x.starts_with("BG-"));
        // A decision not before the deployment is none it relied on (as the population judges).
        let decision = view
            .decisions
            .get(&d.gate_decision)
            .and_then(Option::as_ref)
            .filter(|_| d.gate_decision < d.seq);
        let evidence_complete = crate::audit::evidence_complete(d, decision);
        facts.deployments.push(g::Deployed {
            seq: d.seq,
            time,
            waiver,
            breakglass,
            evidence_complete,
        });
        let mut what = format!("{} succeeded", d.change);
        if !d.excused_by.is_empty() {
            what.push_str(&format!(", excused by {}", d.excused_by.join(", ")));
        }
        what.push_str(&match decision {
            _ if evidence_complete => "; evidence complete".to_string(),
            None => format!(
                "; evidence not shown complete: gate decision {} not found",
                d.gate_decision
            ),
            Some(x) if x.change != d.change || x.environment != d.environment || !x.allow => format!(
                "; evidence not shown complete: gate decision {} did not allow this change into {}",
                d.gate_decision, d.environment
            ),
            Some(x) => {
                let waived: Vec<&str> = x
                    .waived
                    .iter()
                    .filter(|w| w.rule.starts_with("evidence."))
                    .map(|w| w.rule.as_str())
                    .collect();
                format!("; evidence incomplete: {} excused", waived.join(", "))
            }
        });
        entries.insert(d.seq, entry(d.seq, "deployment.recorded", &d.time, what));
    }
    for b in &view.breakglass {
        let Some(invoked_at) = secs(&b.time) else { continue };
        facts.reviews.push(g::Review {
            seq: b.seq,
            invoked_at,
            due: b.review_due_secs,
            closed: b.review == "closed",
        });
        let what = format!(
            "{} on {} by {}, review due {} ({})",
            b.id,
            b.request.change,
            b.by,
            rfc3339(b.review_due_secs),
            b.review
        );
        entries.insert(b.seq, entry(b.seq, "breakglass.invoked", &b.time, what));
    }
    for r in &view.rollouts {
        for e in &r.events {
            let auto = match e.kind.as_str() {
                "rollout.rolled_back" => e.payload.get("aborted").and_then(Value::as_bool) != Some(true),
                "rollout.halted" => true,
                _ => false,
            };
            let ms = e.payload.get("time_to_stable_ms").and_then(Value::as_f64);
            let (true, Some(time), Some(ms)) = (auto, secs(&e.time), ms) else {
                continue;
            };
            facts.rollbacks.push(g::AutoRollback {
                seq: e.seq,
                time,
                to_stable_ms: ms,
            });
            let what = format!("{} of {} back on stable in {ms:.0} ms", r.id, r.change);
            entries.insert(e.seq, entry(e.seq, &e.kind, &e.time, what));
        }
    }
    Traced2 { facts, entries }
}

/// Governance facts with the entries they came from.
#[derive(Clone, Debug, Default)]
pub struct Traced2 {
    /// The facts.
    pub facts: ward_core::governance::Facts,
    /// Every entry a fact came from, by seq.
    pub entries: BTreeMap<u64, EntryRef>,
}

/// The governance report over traced facts. Pure.
pub fn governance_report(traced: &Traced2, req: &DoraRequest) -> GovernanceReport {
    let r = ward_core::governance::compute(&traced.facts, req.from, req.to);
    let entries = req.explain.then_some(&traced.entries);
    GovernanceReport {
        environment: req.environment.clone(),
        from: rfc3339(req.from),
        to: rfc3339(req.to),
        metrics: vec![
            metric("approval_latency", "seconds", &r.approval_latency, entries),
            metric("deployments_under_waiver", "ratio", &r.under_waiver, entries),
            metric("deployments_under_breakglass", "ratio", &r.under_breakglass, entries),
            metric("overdue_reviews", "count", &r.overdue_reviews, entries),
            metric(
                "evidence_complete_at_deployment",
                "ratio",
                &r.evidence_complete,
                entries,
            ),
            metric("rollback_drill_age", "seconds", &r.drill_age, entries),
            metric(
                "rollback_drill_time_to_restore",
                "seconds",
                &r.drill_time_to_restore,
                entries,
            ),
            metric(
                "automated_rollback_time_to_stable",
                "seconds",
                &r.rollback_to_stable,
                entries,
            ),
        ],
    }
}

/// Governance metrics for a declared environment over a period, read off the log (break-glass
/// reviews judged as of the period's end).
pub async fn governance(
    ledger: &Ledger,
    policy: &crate::gate::GatePolicy,
    risk: &ward_core::risk::RiskRules,
    approval_rules: &ward_core::approval::ApprovalRules,
    req: &DoraRequest,
) -> Result<GovernanceReport, AppError> {
    check_period(req.from, req.to)?;
    environment::find(&policy.environments, &req.environment)?;
    let mut deployments = deployments::deployments(ledger, &req.environment).await?;
    deployments.sort_by_key(|d| d.seq);
    // Only the decisions of deployments in the period are read (one entry each).
    let in_period: Vec<deployments::Deployment> = deployments
        .iter()
        .filter(|d| !d.drill && d.rollback_of.is_none() && d.status == "succeeded")
        .filter(|d| secs(&d.time).is_some_and(|t| t >= req.from && t < req.to))
        .cloned()
        .collect();
    let decisions = crate::audit::decisions_seen(ledger, &in_period).await?;
    // Signatures judged as the gate judges them: against each change's current manifest and
    // its parties (its authors' addresses read).
    // Only changes opened before the period's end can complete a quorum in it.
    let changes: Vec<Change> = changes::list(ledger)
        .await?
        .into_iter()
        .filter(|c| secs(&c.time).is_some_and(|t| t < req.to))
        .collect();
    let mut approvals = HashMap::new();
    for c in &changes {
        let judged = crate::approvals::signatures_judged(ledger, c, risk, approval_rules).await?;
        approvals.insert(c.id.clone(), judged);
    }
    let view = GovernanceView {
        drills: deployments::drills(ledger, &req.environment).await?,
        decisions,
        changes,
        approvals,
        deployments,
        breakglass: crate::exceptions::breakglass(ledger, None, req.to, risk, approval_rules).await?,
        rollouts: rollout::list(ledger, Some(&req.environment)).await?,
    };
    Ok(governance_report(
        &governance_facts(&view, &policy.controls, approval_rules),
        req,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: i64 = 1_796_000_000;

    fn record(seq: u64, time: i64, change: &str, extra: Value) -> Record {
        let mut doc = json!({
            "change": change, "environment": "prod", "digests": ["sha256:aa"], "status": "succeeded",
            "gate_decision": 1, "approvals": [], "executed_by": "user:rita", "target": "command",
            "targets": [{"tenant": null, "status": "succeeded"}], "seq": seq, "time": rfc3339(time),
        });
        for (k, v) in extra.as_object().unwrap() {
            doc[k] = v.clone();
        }
        serde_json::from_value(doc).unwrap()
    }

    fn view(deployments: Vec<Record>, rollouts: Vec<Rollout>) -> LogView {
        LogView {
            // As the metrics read them: through the projection's mapping.
            deployments: deployments.iter().map(DoraRecord::of).collect(),
            rollouts,
            changes: vec![],
            services: [("sha256:aa".to_string(), "patient-api".to_string())].into(),
        }
    }

    fn rollout(events: Vec<(u64, i64, &str, Value)>) -> Rollout {
        let events = events
            .into_iter()
            .map(|(seq, time, kind, payload)| {
                serde_json::from_value(json!({"kind": kind, "seq": seq, "time": rfc3339(time), "payload": payload}))
                    .unwrap()
            })
            .collect();
        Rollout::fold(events).expect("a rollout")
    }

    #[test]
    fn a_halted_ring_is_rolled_back_for_its_tenants_and_passed_ring_steps_are_not_deployments() {
        let started = json!({"id": "RO-1", "change": "CHG-1", "environment": "prod", "digest": "sha256:aa",
            "strategy": {"kind": "rings"}, "plan": []});
        let r = rollout(vec![
            (1, T, "rollout.started", started),
            (
                6,
                T + 100,
                "rollout.halted",
                json!({"ring": "pilot", "time_to_stable_ms": 3_000.0}),
            ),
        ]);
        let passed = record(
            5,
            T + 50,
            "CHG-1",
            json!({"ring": "internal", "target": "local",
            "targets": [{"tenant": "internal", "status": "succeeded"}]}),
        );
        let failed = record(
            7,
            T + 101,
            "CHG-1",
            json!({"ring": "pilot", "target": "local", "status": "failed",
            "targets": [{"tenant": "clinic-a", "status": "failed"}, {"tenant": "clinic-b", "status": "failed"}]}),
        );
        let t = facts(&view(vec![passed, failed], vec![r]), None, true);
        let got: Vec<_> = t
            .facts
            .deployments
            .iter()
            .map(|d| (d.seq, d.tenant.as_deref(), d.outcome, d.failed_at, d.restored_at))
            .collect();
        let rolled = (Outcome::RolledBack, Some(T + 97), Some(T + 100));
        assert_eq!(
            got,
            vec![
                (7, Some("clinic-a"), rolled.0, rolled.1, rolled.2),
                (7, Some("clinic-b"), rolled.0, rolled.1, rolled.2),
            ]
        );
        assert!(t.entries[&7].what.contains("rolled back"), "{:?}", t.entries[&7]);
    }

    #[test]
    fn each_tenant_run_is_a_deployment_skipped_ones_never_reached_production_and_recovery_is_per_tenant() {
        let first = record(
            3,
            T,
            "CHG-1",
            json!({"status": "failed", "targets": [
            {"tenant": "clinic-a", "status": "succeeded"}, {"tenant": "clinic-b", "status": "failed"},
            {"tenant": "clinic-c", "status": "skipped"}]}),
        );
        let a_again = record(
            4,
            T + 10,
            "CHG-2",
            json!({"targets": [{"tenant": "clinic-a", "status": "succeeded"}]}),
        );
        let b_fixed = record(
            5,
            T + 60,
            "CHG-2",
            json!({"targets": [{"tenant": "clinic-b", "status": "succeeded"}]}),
        );
        let t = facts(&view(vec![first, a_again, b_fixed], vec![]), None, false);
        assert!(t.entries.is_empty(), "nothing is named unless explaining");
        let got: Vec<_> = t
            .facts
            .deployments
            .iter()
            .map(|d| (d.seq, d.tenant.as_deref(), d.outcome, d.restored_at))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, Some("clinic-a"), Outcome::Succeeded, None),
                (3, Some("clinic-b"), Outcome::Failed, Some(T + 60)),
                (4, Some("clinic-a"), Outcome::Succeeded, None),
                (5, Some("clinic-b"), Outcome::Succeeded, None),
            ]
        );
        // Another service's figures leave these out.
        assert!(
            facts(&view(vec![], vec![]), Some("billing"), true)
                .facts
                .deployments
                .is_empty()
        );
    }

    #[test]
    fn a_failed_rollback_restores_nothing_a_drill_is_a_rehearsal_and_unknown_artifacts_are_no_service() {
        let live = record(3, T, "CHG-1", json!({}));
        let next = record(4, T + 10, "CHG-2", json!({}));
        let failed_rollback = record(
            5,
            T + 20,
            "CHG-1",
            json!({"rollback_of": 4, "status": "failed",
            "targets": [{"tenant": null, "status": "failed"}]}),
        );
        let drill = record(
            6,
            T + 30,
            "CHG-1",
            json!({"rollback_of": 4, "drill": true,
            "requested_at": rfc3339(T + 25)}),
        );
        let stranger = record(7, T + 40, "CHG-9", json!({"digests": ["sha256:bb"]}));
        let t = facts(
            &view(vec![live, next, failed_rollback, drill, stranger], vec![]),
            None,
            true,
        );
        assert_eq!(
            t.facts.deployments.iter().map(|d| d.seq).collect::<Vec<_>>(),
            vec![3, 4]
        );
        assert_eq!(t.facts.rollbacks.len(), 1);
        let r = &t.facts.rollbacks[0];
        assert_eq!(
            (r.seq, r.drill, r.of_change.as_str(), r.requested_at, r.restored_at),
            (6, true, "CHG-2", T + 25, T + 30)
        );
        assert!(t.entries[&6].what.starts_with("drill of CHG-2"), "{:?}", t.entries[&6]);
    }

    #[test]
    fn periods_are_rfc3339_or_dates_and_never_empty() {
        assert_eq!(parse_time("start", "2026-12-01").unwrap(), 1_796_083_200);
        assert_eq!(parse_time("start", "2026-12-01T01:00:00+01:00").unwrap(), 1_796_083_200);
        let e = parse_time("start", "last week").unwrap_err();
        assert!(e.message.contains("the period's start"), "{e:?}");
        let r = request("prod", None, None, None, false, T).unwrap();
        assert_eq!((r.from, r.to), (T + 1 - 30 * DAY, T + 1));
        assert!(request("prod", None, Some("2026-12-02"), Some("2026-12-01"), false, T).is_err());
    }

    /// The report repeats the service asked for: one holding a name and a birth date is
    /// refused, and the refusal does not repeat it.
    #[test]
    fn a_service_holding_a_name_and_a_birth_date_is_refused_not_repeated() {
        assert!(request("prod", Some("patient-api"), None, None, false, T).is_ok());
        for typed in ["smith-j-1961-04-12", "jsmith19610412", "mrn-00123456", "219451100"] {
            let e = request("prod", Some(typed), None, None, false, T).expect_err(typed);
            assert!(!e.message.contains(typed) && !e.hint.contains(typed), "{e:?}");
        }
    }
}
