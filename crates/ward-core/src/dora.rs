//! DORA's five delivery metrics, computed exactly from what Ward recorded.
//!
//! Pure: the caller reads the log into [`Facts`] (each fact keeps the `seq` of the entry it came
//! from) and passes the period; [`compute`] returns every figure with its sample size, its DORA
//! performance band where DORA publishes one, and the entries it was computed from, so every
//! number can be traced back to the log (`--explain`). Definitions (docs/METRICS.md):
//!
//! - **Deployment frequency**: successful production deployments in the period, per day.
//! - **Change lead time**: from a change's first commit (recorded when it was opened from git) to
//!   its first successful production deployment, for changes first deployed in the period
//!   (median; changes without a commit time are not sampled).
//! - **Change fail rate**: of the deployments that reached production in the period (succeeded,
//!   rolled back or failed), those that needed immediate intervention: rolled back
//!   automatically, failed in the target, rolled back later by hand, or followed by an
//!   emergency change of the same service within [`Config::emergency_window_secs`].
//! - **Failed deployment recovery time**: from the failure (the breaching measurement, the
//!   failed target run, the rollback request, or the emergency change's opening) to the
//!   restoring deployment (median).
//! - **Deployment rework rate**: successful production deployments that were unplanned
//!   (emergency changes, or changes linked to an incident), over all successful ones.
//!
//! Bands follow the performance levels of DORA's *Accelerate State of DevOps Report 2024*
//! ([`Band`]); DORA publishes no levels for rework, so it has none.

use serde::{Deserialize, Serialize};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// How a production deployment ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It went live and stayed (until something later says otherwise).
    Succeeded,
    /// Ward rolled it back during its rollout (a breaching measurement).
    RolledBack,
    /// The deployment target failed.
    Failed,
}

/// A production deployment record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    /// Log entry.
    pub seq: u64,
    /// When it was recorded (Unix seconds).
    pub time: i64,
    /// The change it deployed.
    pub change: String,
    /// Service.
    pub service: String,
    /// Tenant, where the environment has tenants.
    pub tenant: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
    /// An emergency change, or one linked to an incident ticket.
    pub unplanned: bool,
    /// The change's first commit time, where recorded.
    pub first_commit_time: Option<i64>,
    /// For a rolled-back or failed deployment: when the failure was seen (the breaching
    /// measurement, the failed target run).
    pub failed_at: Option<i64>,
    /// For a rolled-back or failed deployment: when the previous release served again.
    pub restored_at: Option<i64>,
}

/// A rollback of a succeeded deployment, later, by hand (or a drill's restore).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rollback {
    /// Log entry.
    pub seq: u64,
    /// When it was asked for.
    pub requested_at: i64,
    /// When the previous release served again.
    pub restored_at: i64,
    /// Service.
    pub service: String,
    /// Tenant, where the environment has tenants.
    pub tenant: Option<String>,
    /// The change whose deployment it undid.
    pub of_change: String,
    /// A rehearsal (a drill), not an intervention: never makes a deployment failed.
    pub drill: bool,
}

/// An emergency change, by the time it was opened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Emergency {
    /// Log entry.
    pub seq: u64,
    /// When it was opened.
    pub opened_at: i64,
    /// Service.
    pub service: String,
    /// The emergency change.
    pub change: String,
}

/// What the metrics are computed from: one environment's records (the caller filters by
/// environment and, if asked, service).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Production deployment records, any order.
    pub deployments: Vec<Deployment>,
    /// Later rollbacks.
    pub rollbacks: Vec<Rollback>,
    /// Emergency changes.
    pub emergencies: Vec<Emergency>,
}

/// Definitions that are a team's choice.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// An emergency change of a service opened within this many seconds after a deployment of
    /// that service makes the deployment failed.
    pub emergency_window_secs: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            emergency_window_secs: DAY,
        }
    }
}

/// A DORA performance level (State of DevOps 2024).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Elite.
    Elite,
    /// High.
    High,
    /// Medium.
    Medium,
    /// Low.
    Low,
}

/// One figure with what it rests on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    /// The value (per day, seconds, or a ratio 0–1), `None` with no sample.
    pub value: Option<f64>,
    /// How many items it was computed from.
    pub samples: u64,
    /// The DORA band, where one is published and there is a value.
    pub band: Option<Band>,
    /// Log entries it was computed from (sorted).
    pub entries: Vec<u64>,
}

/// The five metrics over one period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Period start (Unix seconds, inclusive).
    pub from: i64,
    /// Period end (exclusive).
    pub to: i64,
    /// Successful production deployments per day.
    pub deployment_frequency: Figure,
    /// Median seconds from first commit to first production deployment.
    pub change_lead_time: Figure,
    /// Failed deployments over deployments that reached production.
    pub change_fail_rate: Figure,
    /// Median seconds from failure to restoration.
    pub failed_deployment_recovery_time: Figure,
    /// Unplanned deployments over successful deployments.
    pub deployment_rework_rate: Figure,
}

/// The median of `xs` (none when empty); also the governance metrics'.
pub(crate) fn median(mut xs: Vec<i64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_unstable();
    let n = xs.len();
    Some(if n % 2 == 1 {
        xs[n / 2] as f64
    } else {
        (xs[n / 2 - 1] as f64 + xs[n / 2] as f64) / 2.0
    })
}

fn sorted(mut v: Vec<u64>) -> Vec<u64> {
    v.sort_unstable();
    v.dedup();
    v
}

/// Band of a deployment frequency (per day): elite on demand (at least daily), high at least
/// weekly, medium at least monthly, low below.
pub fn frequency_band(per_day: f64) -> Band {
    if per_day >= 1.0 {
        Band::Elite
    } else if per_day >= 1.0 / 7.0 {
        Band::High
    } else if per_day >= 1.0 / 30.0 {
        Band::Medium
    } else {
        Band::Low
    }
}

/// Band of a change lead time (seconds): elite under a day, high under a week, medium under a
/// month, low beyond.
pub fn lead_time_band(secs: f64) -> Band {
    if secs < DAY as f64 {
        Band::Elite
    } else if secs < 7.0 * DAY as f64 {
        Band::High
    } else if secs < 30.0 * DAY as f64 {
        Band::Medium
    } else {
        Band::Low
    }
}

/// Band of a change fail rate (0–1). The 2024 levels are not ordered on this metric (elite 5%,
/// medium 10%, high 20%, low 40%): the band is the level whose published rate is the nearest at
/// or above the measured one; above 40% is low.
pub fn fail_rate_band(rate: f64) -> Band {
    if rate <= 0.05 {
        Band::Elite
    } else if rate <= 0.10 {
        Band::Medium
    } else if rate <= 0.20 {
        Band::High
    } else {
        Band::Low
    }
}

/// Band of a failed deployment recovery time (seconds): elite under an hour, high (and
/// medium, which share the level) under a day, medium under a week, low beyond.
pub fn recovery_band(secs: f64) -> Band {
    if secs < 3_600.0 {
        Band::Elite
    } else if secs < DAY as f64 {
        Band::High
    } else if secs < 7.0 * DAY as f64 {
        Band::Medium
    } else {
        Band::Low
    }
}

fn same_place(a_service: &str, a_tenant: &Option<String>, b_service: &str, b_tenant: &Option<String>) -> bool {
    a_service == b_service && (a_tenant.is_none() || b_tenant.is_none() || a_tenant == b_tenant)
}

/// Computes the five metrics over `[from, to)` from `facts`. Pure: the period is the clock.
pub fn compute(facts: &Facts, from: i64, to: i64, cfg: &Config) -> Report {
    let in_period = |t: i64| t >= from && t < to;
    let mut deployments: Vec<&Deployment> = facts.deployments.iter().collect();
    deployments.sort_by_key(|d| (d.time, d.seq));
    let reached: Vec<&Deployment> = deployments.iter().copied().filter(|d| in_period(d.time)).collect();
    let succeeded: Vec<&Deployment> = reached
        .iter()
        .copied()
        .filter(|d| d.outcome == Outcome::Succeeded)
        .collect();

    // Deployment frequency.
    let days = ((to - from).max(1) as f64) / DAY as f64;
    let per_day = succeeded.len() as f64 / days;
    let deployment_frequency = Figure {
        value: Some(per_day),
        samples: succeeded.len() as u64,
        band: (!succeeded.is_empty()).then(|| frequency_band(per_day)),
        entries: sorted(succeeded.iter().map(|d| d.seq).collect()),
    };

    // Change lead time: each change's first successful production deployment, if in the period.
    let mut firsts: std::collections::BTreeMap<&str, &Deployment> = std::collections::BTreeMap::new();
    for d in deployments.iter().filter(|d| d.outcome == Outcome::Succeeded) {
        firsts.entry(d.change.as_str()).or_insert(d);
    }
    let mut leads = Vec::new();
    let mut lead_entries = Vec::new();
    for d in firsts.values().filter(|d| in_period(d.time)) {
        if let Some(c) = d.first_commit_time {
            leads.push((d.time - c).max(0));
            lead_entries.push(d.seq);
        }
    }
    let lead = median(leads.clone());
    let change_lead_time = Figure {
        value: lead,
        samples: leads.len() as u64,
        band: lead.map(lead_time_band),
        entries: sorted(lead_entries),
    };

    // Failed deployments and their recovery. Indexes keep this near-linear: rollbacks by the
    // change they undid; emergencies and successful deployments by service, in time order.
    use std::collections::HashMap;
    let mut rollbacks_of: HashMap<&str, Vec<&Rollback>> = HashMap::new();
    for r in facts.rollbacks.iter().filter(|r| !r.drill) {
        rollbacks_of.entry(r.of_change.as_str()).or_default().push(r);
    }
    let mut emergencies_of: HashMap<&str, Vec<&Emergency>> = HashMap::new();
    for e in &facts.emergencies {
        emergencies_of.entry(e.service.as_str()).or_default().push(e);
    }
    for list in emergencies_of.values_mut() {
        list.sort_by_key(|e| (e.opened_at, e.seq));
    }
    let mut live_of: HashMap<&str, Vec<&Deployment>> = HashMap::new();
    for d in deployments.iter().filter(|d| d.outcome == Outcome::Succeeded) {
        live_of.entry(d.service.as_str()).or_default().push(d);
    }
    let mut failed = Vec::new();
    let mut recoveries = Vec::new();
    let mut recovery_entries = Vec::new();
    for d in &reached {
        match d.outcome {
            Outcome::RolledBack | Outcome::Failed => {
                failed.push(d.seq);
                if let (Some(start), Some(end)) = (d.failed_at.or(Some(d.time)), d.restored_at) {
                    recoveries.push((end - start).max(0));
                    recovery_entries.push(d.seq);
                }
            }
            Outcome::Succeeded => {
                let rollback = rollbacks_of
                    .get(d.change.as_str())
                    .into_iter()
                    .flatten()
                    .filter(|r| r.requested_at >= d.time && same_place(&r.service, &r.tenant, &d.service, &d.tenant))
                    .min_by_key(|r| (r.requested_at, r.seq));
                if let Some(r) = rollback {
                    failed.push(d.seq);
                    recoveries.push((r.restored_at - r.requested_at).max(0));
                    recovery_entries.extend([d.seq, r.seq]);
                    continue;
                }
                let list = emergencies_of
                    .get(d.service.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                // Log order breaks ties of the same second: (time, seq) orders entries exactly.
                let after = list.partition_point(|e| (e.opened_at, e.seq) <= (d.time, d.seq));
                let emergency = list[after..]
                    .iter()
                    .take_while(|e| e.opened_at <= d.time + cfg.emergency_window_secs)
                    .find(|e| e.change != d.change);
                if let Some(e) = emergency {
                    failed.push(d.seq);
                    // Restored by the next successful deployment of the service after the
                    // emergency change was opened.
                    let live = live_of.get(d.service.as_str()).map(Vec::as_slice).unwrap_or_default();
                    let from_here = live.partition_point(|n| (n.time, n.seq) < (e.opened_at, e.seq));
                    let restoring = live[from_here..]
                        .iter()
                        .find(|n| same_place(&n.service, &n.tenant, &d.service, &d.tenant));
                    if let Some(n) = restoring {
                        recoveries.push(n.time - e.opened_at);
                        recovery_entries.extend([d.seq, e.seq, n.seq]);
                    }
                }
            }
        }
    }
    let rate = (!reached.is_empty()).then(|| failed.len() as f64 / reached.len() as f64);
    let change_fail_rate = Figure {
        value: rate,
        samples: reached.len() as u64,
        band: rate.map(fail_rate_band),
        entries: sorted(failed),
    };
    let recovery = median(recoveries.clone());
    let failed_deployment_recovery_time = Figure {
        value: recovery,
        samples: recoveries.len() as u64,
        band: recovery.map(recovery_band),
        entries: sorted(recovery_entries),
    };

    // Rework.
    let unplanned: Vec<u64> = succeeded.iter().filter(|d| d.unplanned).map(|d| d.seq).collect();
    let deployment_rework_rate = Figure {
        value: (!succeeded.is_empty()).then(|| unplanned.len() as f64 / succeeded.len() as f64),
        samples: succeeded.len() as u64,
        band: None,
        entries: sorted(unplanned),
    };

    Report {
        from,
        to,
        deployment_frequency,
        change_lead_time,
        change_fail_rate,
        failed_deployment_recovery_time,
        deployment_rework_rate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600;
    const T0: i64 = 1_796_000_000;

    fn dep(seq: u64, time: i64, change: &str, outcome: Outcome) -> Deployment {
        Deployment {
            seq,
            time,
            change: change.into(),
            service: "patient-api".into(),
            tenant: None,
            outcome,
            unplanned: false,
            first_commit_time: None,
            failed_at: None,
            restored_at: None,
        }
    }

    /// A scripted fortnight whose every figure is worked out by hand below.
    fn history() -> Facts {
        let mut d1 = dep(10, T0 + H, "CHG-1", Outcome::Succeeded);
        d1.first_commit_time = Some(T0 - 5 * H); // lead 6 h
        let mut d2 = dep(20, T0 + 26 * H, "CHG-2", Outcome::RolledBack);
        d2.failed_at = Some(T0 + 26 * H + 120);
        d2.restored_at = Some(T0 + 26 * H + 121); // recovery 1 s
        d2.first_commit_time = Some(T0);
        let mut d3 = dep(30, T0 + 50 * H, "CHG-3", Outcome::Succeeded);
        d3.first_commit_time = Some(T0 + 2 * H); // lead 48 h
        // CHG-3 is rolled back by hand 3 h later, restored 10 min after the request.
        let mut d4 = dep(40, T0 + 100 * H, "CHG-4", Outcome::Succeeded);
        d4.first_commit_time = Some(T0 + 90 * H); // lead 10 h
        // An emergency change of the service 2 h after CHG-4; its deployment restores 1 h later.
        let mut d5 = dep(60, T0 + 103 * H, "CHG-5", Outcome::Succeeded);
        d5.unplanned = true;
        d5.first_commit_time = Some(T0 + 102 * H + 1_800); // lead 30 min
        let d6 = dep(70, T0 + 200 * H, "CHG-6", Outcome::Failed); // no restore recorded
        // A later deployment of CHG-1 (another tenant, say) is not its first.
        let d7 = dep(80, T0 + 300 * H, "CHG-1", Outcome::Succeeded);
        // Outside the period.
        let d8 = dep(90, T0 + 400 * H, "CHG-8", Outcome::RolledBack);
        Facts {
            deployments: vec![d8, d7, d6, d5, d4, d3, d2, d1],
            rollbacks: vec![
                Rollback {
                    seq: 35,
                    requested_at: T0 + 53 * H,
                    restored_at: T0 + 53 * H + 600,
                    service: "patient-api".into(),
                    tenant: None,
                    of_change: "CHG-3".into(),
                    drill: false,
                },
                // A drill of CHG-1 is a rehearsal, not a failure.
                Rollback {
                    seq: 15,
                    requested_at: T0 + 2 * H,
                    restored_at: T0 + 2 * H + 5,
                    service: "patient-api".into(),
                    tenant: None,
                    of_change: "CHG-1".into(),
                    drill: true,
                },
            ],
            emergencies: vec![Emergency {
                seq: 50,
                opened_at: T0 + 102 * H,
                service: "patient-api".into(),
                change: "CHG-5".into(),
            }],
        }
    }

    #[test]
    fn a_scripted_history_gives_the_figures_worked_out_by_hand() {
        let r = compute(&history(), T0, T0 + 14 * 24 * H, &Config::default());
        // Succeeded in the period: 10, 30, 40, 60, 80 → 5 in 14 days.
        assert_eq!(r.deployment_frequency.samples, 5);
        assert!((r.deployment_frequency.value.unwrap() - 5.0 / 14.0).abs() < 1e-12);
        assert_eq!(r.deployment_frequency.band, Some(Band::High));
        assert_eq!(r.deployment_frequency.entries, vec![10, 30, 40, 60, 80]);
        // Leads of first successful deployments with a commit time: 6 h, 48 h, 10 h, 30 min
        // (CHG-2 never succeeded) → median (6 h + 10 h) / 2 = 8 h.
        assert_eq!(r.change_lead_time.samples, 4);
        assert_eq!(r.change_lead_time.value, Some((8 * H) as f64));
        assert_eq!(r.change_lead_time.band, Some(Band::Elite));
        assert_eq!(r.change_lead_time.entries, vec![10, 30, 40, 60]);
        // Reached production: 10, 20, 30, 40, 60, 70, 80 (7); failed: 20 (rolled back), 30
        // (rolled back by hand), 40 (emergency within a day), 70 (target failed) → 4/7.
        assert_eq!(r.change_fail_rate.samples, 7);
        assert!((r.change_fail_rate.value.unwrap() - 4.0 / 7.0).abs() < 1e-12);
        assert_eq!(r.change_fail_rate.entries, vec![20, 30, 40, 70]);
        assert_eq!(r.change_fail_rate.band, Some(Band::Low));
        // Recoveries: 1 s (20), 600 s (30 via 35), 3,600 s (40 via 50 → 60); 70 has none.
        assert_eq!(r.failed_deployment_recovery_time.samples, 3);
        assert_eq!(r.failed_deployment_recovery_time.value, Some(600.0));
        assert_eq!(r.failed_deployment_recovery_time.band, Some(Band::Elite));
        assert_eq!(r.failed_deployment_recovery_time.entries, vec![20, 30, 35, 40, 50, 60]);
        // Rework: 60 of 5 succeeded.
        assert_eq!(r.deployment_rework_rate.value, Some(0.2));
        assert_eq!(r.deployment_rework_rate.entries, vec![60]);
        assert_eq!(r.deployment_rework_rate.band, None);
    }

    #[test]
    fn the_emergency_window_is_the_teams_choice_and_an_empty_period_has_no_figures() {
        let narrow = Config {
            emergency_window_secs: H,
        };
        let r = compute(&history(), T0, T0 + 14 * 24 * H, &narrow);
        assert_eq!(
            r.change_fail_rate.entries,
            vec![20, 30, 70],
            "CHG-5 came 2 h after CHG-4"
        );
        let empty = compute(&history(), T0 - 10 * H, T0, &Config::default());
        assert_eq!(empty.deployment_frequency.value, Some(0.0));
        assert_eq!(empty.deployment_frequency.band, None);
        assert_eq!(empty.change_fail_rate.value, None);
        assert_eq!(empty.change_lead_time.value, None);
        assert_eq!(empty.failed_deployment_recovery_time.value, None);
    }

    #[test]
    fn entries_of_the_same_second_keep_their_log_order() {
        // Deployment 10, then emergency change 11 and its deployment 12, all in one second: the
        // emergency follows 10 (failing it) and 12 restores it, never 10 itself.
        let d = dep(10, T0, "CHG-1", Outcome::Succeeded);
        let mut fix = dep(12, T0, "CHG-2", Outcome::Succeeded);
        fix.unplanned = true;
        let facts = Facts {
            deployments: vec![d, fix],
            rollbacks: vec![],
            emergencies: vec![Emergency {
                seq: 11,
                opened_at: T0,
                service: "patient-api".into(),
                change: "CHG-2".into(),
            }],
        };
        let r = compute(&facts, T0, T0 + H, &Config::default());
        assert_eq!(r.change_fail_rate.entries, vec![10]);
        assert_eq!(r.failed_deployment_recovery_time.entries, vec![10, 11, 12]);
        assert_eq!(r.failed_deployment_recovery_time.value, Some(0.0));
        // An emergency recorded before the deployment, in the same second, does not fail it.
        let mut earlier = facts.clone();
        earlier.emergencies[0].seq = 9;
        let r = compute(&earlier, T0, T0 + H, &Config::default());
        assert!(r.change_fail_rate.entries.is_empty());
    }

    #[test]
    fn bands_follow_the_published_levels() {
        assert_eq!(frequency_band(3.0), Band::Elite);
        assert_eq!(frequency_band(0.5), Band::High);
        assert_eq!(frequency_band(0.05), Band::Medium);
        assert_eq!(frequency_band(0.01), Band::Low);
        assert_eq!(lead_time_band(3_599.0), Band::Elite);
        assert_eq!(lead_time_band(2.0 * DAY as f64), Band::High);
        assert_eq!(lead_time_band(10.0 * DAY as f64), Band::Medium);
        assert_eq!(lead_time_band(60.0 * DAY as f64), Band::Low);
        assert_eq!(fail_rate_band(0.05), Band::Elite);
        assert_eq!(fail_rate_band(0.08), Band::Medium);
        assert_eq!(fail_rate_band(0.2), Band::High);
        assert_eq!(fail_rate_band(0.25), Band::Low);
        assert_eq!(recovery_band(59.0 * 60.0), Band::Elite);
        assert_eq!(recovery_band(5.0 * 3_600.0), Band::High);
        assert_eq!(recovery_band(3.0 * DAY as f64), Band::Medium);
        assert_eq!(recovery_band(8.0 * DAY as f64), Band::Low);
    }

    #[test]
    fn a_hundred_thousand_deployments_are_one_pass_each() {
        // Not a timing assertion: the work is near-linear (sorting plus per-deployment scans of
        // the rollbacks and emergencies, which are few); the figure is in BENCHMARKS.md.
        let facts = Facts {
            deployments: (0..100_000u64)
                .map(|i| dep(i, T0 + i as i64 * 60, &format!("CHG-{i}"), Outcome::Succeeded))
                .collect(),
            ..Facts::default()
        };
        let r = compute(&facts, T0, T0 + 100_000 * 60, &Config::default());
        assert_eq!(r.deployment_frequency.samples, 100_000);
        assert_eq!(r.change_fail_rate.value, Some(0.0));
    }
}
