//! Disaster-recovery readiness: is each service's data recoverable as its tier promises?
//!
//! The inventory is `[[services]]` in `ward.toml`: each service's tier, recovery point objective
//! (RPO: how much data may be lost), recovery time objective (RTO: how long a restore may take)
//! and its stateful stores (a pgBackRest stanza, a Kubernetes namespace backed up by Velero, an
//! AWS resource ARN). The evidence is what backup tools reported ([`Job`]: parsed by
//! `ward_evidence::dr`), restore tests signed by a person ([`RestoreTest`]) and the
//! environment's last rollback drill. [`judge`] decides, per service:
//!
//! 1. **covered**: every declared store has a successful backup;
//! 2. **RPO**: each store's last successful backup finished no longer ago than the RPO;
//! 3. **restore tested**: each store has a signed restore test within the tier's
//!    `restore_test_days` (high: 90, medium: 180, low: 365);
//! 4. **RTO**: the latest restore test of each store took no longer than the RTO;
//! 5. **rollback drill**: before a *high-risk* change, the environment's last rollback drill is
//!    within the tier's `rollback_drill_days` (high: 30, medium: 90, low: not required).
//!
//! Fail closed: a store with no evidence is not ready, a job stamped after `now` is not
//! evidence, a tier section that is absent (or a key in it) inherits the defaults. Everything
//! here is pure: the clock is an argument.

use crate::slo::{same_service, window_seconds};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A service's entry in the inventory: `[[services]]` in `ward.toml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The service (as artifacts are registered).
    pub name: String,
    /// `high`, `medium` or `low`.
    pub tier: String,
    /// Recovery point objective, a duration (`15m`, `24h`, `7d`).
    pub rpo: String,
    /// Recovery time objective, a duration.
    pub rto: String,
    /// Its stateful stores, as the backup tool names them; `[]` declares a stateless service
    /// (the key itself is required, so forgetting it is an error, not "stateless").
    pub stores: Vec<String>,
}

/// What a tier requires beyond RPO and RTO.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierRules {
    /// A signed restore test of each store at most this many days old.
    pub restore_test_days: u32,
    /// Before a high-risk change, a rollback drill at most this many days old (`None`: not
    /// required).
    pub rollback_drill_days: Option<u32>,
}

/// `[dr.tiers.TIER]`: keys not named keep the tier's default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierOverride {
    /// Restore-test freshness in days.
    #[serde(default)]
    pub restore_test_days: Option<u32>,
    /// Rollback-drill freshness in days before a high-risk change; `0` means not required.
    #[serde(default)]
    pub rollback_drill_days: Option<u32>,
}

/// `[dr]` in `ward.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrRules {
    /// Environments whose deployments readiness gates (`["prod"]` when absent).
    #[serde(default = "default_environments")]
    pub environments: Vec<String>,
    /// Per tier (`high`, `medium`, `low`).
    #[serde(default)]
    pub tiers: BTreeMap<String, TierOverride>,
}

fn default_environments() -> Vec<String> {
    vec!["prod".into()]
}

impl Default for DrRules {
    fn default() -> DrRules {
        DrRules {
            environments: default_environments(),
            tiers: BTreeMap::new(),
        }
    }
}

/// The tiers an inventory may name.
pub const TIERS: [&str; 3] = ["high", "medium", "low"];

fn default_rules(tier: &str) -> TierRules {
    match tier {
        "low" => TierRules {
            restore_test_days: 365,
            rollback_drill_days: None,
        },
        "medium" => TierRules {
            restore_test_days: 180,
            rollback_drill_days: Some(90),
        },
        // Anything else is held to the strictest (validation refuses unknown tiers anyway).
        _ => TierRules {
            restore_test_days: 90,
            rollback_drill_days: Some(30),
        },
    }
}

impl DrRules {
    /// The rules of `tier`: its defaults, with the keys `[dr.tiers.TIER]` names.
    pub fn for_tier(&self, tier: &str) -> TierRules {
        let mut r = default_rules(tier);
        if let Some(o) = self.tiers.get(tier) {
            if let Some(d) = o.restore_test_days {
                r.restore_test_days = d;
            }
            if let Some(d) = o.rollback_drill_days {
                r.rollback_drill_days = (d > 0).then_some(d);
            }
        }
        r
    }

    /// Checks the section; the message names what to fix.
    pub fn validate(&self) -> Result<(), String> {
        for (tier, o) in &self.tiers {
            if !TIERS.contains(&tier.as_str()) {
                // The key is not repeated (a key refused may hold anything: a reviewer's find).
                return Err("[dr.tiers]: an unknown tier (its key is not repeated); use high, medium or low".into());
            }
            if o.restore_test_days == Some(0) {
                return Err(format!(
                    "[dr.tiers.{tier}]: restore_test_days must be at least 1 (a restore test cannot be optional)"
                ));
            }
        }
        Ok(())
    }
}

impl Service {
    /// Checks the entry; the message names what to fix (`[[services]] NAME: …`).
    pub fn validate(&self) -> Result<(), String> {
        let at = format!("[[services]] {}", self.name);
        if self.name.trim().is_empty() {
            return Err("[[services]]: `name` is empty; name the service as its artifacts are registered".into());
        }
        if !TIERS.contains(&self.tier.as_str()) {
            // The value is not repeated (a value refused may hold anything).
            return Err(format!("{at}: its tier is not high, medium or low"));
        }
        for (key, v) in [("rpo", &self.rpo), ("rto", &self.rto)] {
            if window_seconds(v).is_none() {
                return Err(format!("{at}: {key} is not a duration like \"15m\", \"24h\" or \"7d\""));
            }
        }
        if let Some(s) = self.stores.iter().find(|s| s.trim().is_empty()) {
            return Err(format!(
                "{at}: a store id is empty ({} characters of white space)",
                s.chars().count()
            ));
        }
        Ok(())
    }
}

/// Checks an inventory: each entry, and no service declared twice.
pub fn validate_inventory(services: &[Service]) -> Result<(), String> {
    for (i, s) in services.iter().enumerate() {
        s.validate()?;
        if services[..i].iter().any(|o| same_service(&o.name, &s.name)) {
            return Err(format!("[[services]] {}: declared twice", s.name));
        }
    }
    Ok(())
}

/// A backup or restore job as a tool reported it (from `ward_evidence::dr`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Store as the tool names it.
    pub store: String,
    /// `backup` or `restore`.
    pub kind: String,
    /// The tool says it completed without error.
    pub succeeded: bool,
    /// Started (Unix seconds).
    #[serde(default)]
    pub started: Option<i64>,
    /// Finished (Unix seconds).
    #[serde(default)]
    pub finished: Option<i64>,
    /// `pgbackrest`, `velero`, `aws-backup`.
    pub tool: String,
    /// The tool's id of the job.
    pub id: String,
}

/// A restore test signed by the person who ran it: what was restored, when, how long it took,
/// what was checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RestoreTest {
    /// The store restored.
    pub store: String,
    /// When the restore finished (Unix seconds).
    pub finished: i64,
    /// How long the restore took, seconds.
    pub duration_secs: u64,
    /// Who signed it.
    pub signer: String,
}

/// One store's evidence, as judged.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreState {
    /// The store.
    pub store: String,
    /// When its last successful backup finished.
    pub last_backup: Option<i64>,
    /// Which tool and job that was (`pgbackrest 20261130-010001F`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup_job: Option<String>,
    /// When its last signed restore test finished.
    pub last_restore_test: Option<i64>,
    /// How long that restore took, seconds.
    pub restore_secs: Option<u64>,
}

/// One unmet requirement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gap {
    /// `dr.backup_missing`, `dr.rpo`, `dr.restore_test`, `dr.rto` or `dr.rollback_drill`.
    pub rule: String,
    /// The store it concerns (none for the rollback drill).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// One sentence naming the store and the age.
    pub reason: String,
}

/// A service's readiness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Readiness {
    /// The service.
    pub service: String,
    /// Its tier.
    pub tier: String,
    /// RPO and RTO as declared.
    pub rpo: String,
    /// RTO as declared.
    pub rto: String,
    /// No gap.
    pub ready: bool,
    /// What is missing or too old.
    pub gaps: Vec<Gap>,
    /// Each store's evidence.
    pub stores: Vec<StoreState>,
    /// The environment's last rollback drill (read only when the drill rule applies: before a
    /// high-risk change of a tier that requires one).
    pub last_drill: Option<i64>,
}

/// What the judge reads besides the inventory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Backup and restore jobs from the tools.
    pub jobs: Vec<Job>,
    /// Signed restore tests.
    pub restore_tests: Vec<RestoreTest>,
    /// The environment's last rollback drill (Unix seconds).
    pub last_drill: Option<i64>,
}

/// A span of seconds the way people say it: `45s`, `17m`, `26h`, `26h30m`, `3d4h`.
pub fn fmt_span(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m) = (s / 86_400, (s % 86_400) / 3_600, (s % 3_600) / 60);
    let parts: Vec<String> = if s < 60 {
        vec![format!("{s}s")]
    } else if s < 3_600 {
        vec![format!("{m}m")]
    } else if s < 72 * 3_600 {
        [(s / 3_600, "h"), (m, "m")]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, u)| format!("{n}{u}"))
            .collect()
    } else {
        [(d, "d"), (h, "h")]
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, u)| format!("{n}{u}"))
            .collect()
    };
    parts.concat()
}

/// Judges `service` at `now`. `high_risk`: the change about to be deployed is high-risk, so
/// the tier's rollback-drill rule applies.
pub fn judge(service: &Service, rules: &DrRules, evidence: &Evidence, high_risk: bool, now: i64) -> Readiness {
    let tier = rules.for_tier(&service.tier);
    // An unparseable objective is held to zero: nothing meets it (validation refuses it first).
    let rpo = window_seconds(&service.rpo).map_or(0, |s| s as i64);
    let rto = window_seconds(&service.rto).unwrap_or(0);
    let mut gaps = Vec::new();
    let mut stores = Vec::new();
    for store in &service.stores {
        let backup = evidence
            .jobs
            .iter()
            .filter(|j| &j.store == store && j.kind == "backup" && j.succeeded)
            .filter_map(|j| j.finished.filter(|f| *f <= now).map(|f| (f, j)))
            .max_by_key(|(f, _)| *f);
        let test = evidence
            .restore_tests
            .iter()
            .filter(|t| &t.store == store && t.finished <= now)
            .max_by_key(|t| t.finished);
        let gap = |rule: &str, reason: String| Gap {
            rule: rule.into(),
            store: Some(store.clone()),
            reason,
        };
        match backup {
            None => {
                let future = evidence.jobs.iter().any(|j| {
                    &j.store == store && j.kind == "backup" && j.succeeded && j.finished.is_some_and(|f| f > now)
                });
                gaps.push(gap(
                    "dr.backup_missing",
                    format!(
                        "store {store}: no successful backup{}",
                        if future {
                            " (a backup stamped in the future is not evidence; check the tool's clock)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            Some((finished, _)) if now - finished > rpo => gaps.push(gap(
                "dr.rpo",
                format!(
                    "store {store}: last successful backup {} ago, RPO {}",
                    fmt_span(now - finished),
                    service.rpo
                ),
            )),
            Some(_) => {}
        }
        let max_test_age = i64::from(tier.restore_test_days) * 86_400;
        match test {
            None => gaps.push(gap(
                "dr.restore_test",
                format!(
                    "store {store}: no signed restore test (the {} tier needs one within {} days)",
                    service.tier, tier.restore_test_days
                ),
            )),
            Some(t) => {
                if now - t.finished > max_test_age {
                    gaps.push(gap(
                        "dr.restore_test",
                        format!(
                            "store {store}: last restore test {} ago, the {} tier needs one within {} days",
                            fmt_span(now - t.finished),
                            service.tier,
                            tier.restore_test_days
                        ),
                    ));
                }
                if t.duration_secs > rto {
                    gaps.push(gap(
                        "dr.rto",
                        format!(
                            "store {store}: the last restore test took {}, RTO {}",
                            fmt_span(i64::try_from(t.duration_secs).unwrap_or(i64::MAX)),
                            service.rto
                        ),
                    ));
                }
            }
        }
        stores.push(StoreState {
            store: store.clone(),
            last_backup: backup.map(|(f, _)| f),
            last_backup_job: backup.map(|(_, j)| format!("{} {}", j.tool, j.id)),
            last_restore_test: test.map(|t| t.finished),
            restore_secs: test.map(|t| t.duration_secs),
        });
    }
    if high_risk && let Some(days) = tier.rollback_drill_days {
        let fresh = evidence
            .last_drill
            .filter(|d| *d <= now)
            .is_some_and(|d| now - d <= i64::from(days) * 86_400);
        if !fresh {
            gaps.push(Gap {
                rule: "dr.rollback_drill".into(),
                store: None,
                reason: match evidence.last_drill.filter(|d| *d <= now) {
                    Some(d) => format!(
                        "last rollback drill {} ago; a high-risk change of a {} tier service needs one within {days} days",
                        fmt_span(now - d),
                        service.tier
                    ),
                    None => format!(
                        "no rollback drill; a high-risk change of a {} tier service needs one within {days} days",
                        service.tier
                    ),
                },
            });
        }
    }
    Readiness {
        service: service.name.clone(),
        tier: service.tier.clone(),
        rpo: service.rpo.clone(),
        rto: service.rto.clone(),
        ready: gaps.is_empty(),
        gaps,
        stores,
        last_drill: evidence.last_drill,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600;
    const D: i64 = 86_400;
    /// 2026-12-03T00:00:00Z.
    const NOW: i64 = 1_796_256_000;

    fn orders() -> Service {
        Service {
            name: "orders".into(),
            tier: "high".into(),
            rpo: "24h".into(),
            rto: "1h".into(),
            stores: vec!["orders-db".into()],
        }
    }

    fn backup(store: &str, finished: i64, succeeded: bool) -> Job {
        Job {
            store: store.into(),
            kind: "backup".into(),
            succeeded,
            started: Some(finished - 60),
            finished: Some(finished),
            tool: "pgbackrest".into(),
            id: format!("b{finished}"),
        }
    }

    fn test(store: &str, finished: i64, duration_secs: u64) -> RestoreTest {
        RestoreTest {
            store: store.into(),
            finished,
            duration_secs,
            signer: "user:dana".into(),
        }
    }

    /// Everything fresh: a backup 2 h ago, a 20-minute restore test 10 days ago, a drill 3 days ago.
    fn fresh() -> Evidence {
        Evidence {
            jobs: vec![backup("orders-db", NOW - 2 * H, true)],
            restore_tests: vec![test("orders-db", NOW - 10 * D, 20 * 60)],
            last_drill: Some(NOW - 3 * D),
        }
    }

    fn rules(r: &Readiness) -> Vec<&str> {
        r.gaps.iter().map(|g| g.rule.as_str()).collect()
    }

    #[test]
    fn fresh_evidence_is_ready_even_before_a_high_risk_change() {
        let r = judge(&orders(), &DrRules::default(), &fresh(), true, NOW);
        assert!(r.ready, "{r:?}");
        assert_eq!(r.stores[0].last_backup, Some(NOW - 2 * H));
        assert_eq!(
            r.stores[0].last_backup_job.as_deref(),
            Some(format!("pgbackrest b{}", NOW - 2 * H).as_str())
        );
    }

    #[test]
    fn a_backup_older_than_the_rpo_names_the_store_and_its_age() {
        let mut e = fresh();
        e.jobs = vec![backup("orders-db", NOW - 26 * H, true)];
        let r = judge(&orders(), &DrRules::default(), &e, false, NOW);
        assert!(!r.ready);
        assert_eq!(r.gaps[0].rule, "dr.rpo");
        assert_eq!(
            r.gaps[0].reason,
            "store orders-db: last successful backup 26h ago, RPO 24h"
        );
    }

    #[test]
    fn a_backup_exactly_at_the_rpo_is_still_within_it() {
        let mut e = fresh();
        e.jobs = vec![backup("orders-db", NOW - 24 * H, true)];
        assert!(judge(&orders(), &DrRules::default(), &e, false, NOW).ready);
        e.jobs = vec![backup("orders-db", NOW - 24 * H - 1, true)];
        assert!(!judge(&orders(), &DrRules::default(), &e, false, NOW).ready);
    }

    #[test]
    fn a_newer_failed_backup_does_not_refresh_the_rpo() {
        let mut e = fresh();
        e.jobs = vec![
            backup("orders-db", NOW - 30 * H, true),
            backup("orders-db", NOW - H, false),
        ];
        let r = judge(&orders(), &DrRules::default(), &e, false, NOW);
        assert_eq!(rules(&r), ["dr.rpo"]);
        assert!(r.gaps[0].reason.contains("30h ago"), "{}", r.gaps[0].reason);
    }

    #[test]
    fn a_declared_store_without_backup_evidence_is_not_ready() {
        let mut s = orders();
        s.stores.push("orders-files".into());
        let mut e = fresh();
        e.restore_tests.push(test("orders-files", NOW - D, 60));
        let r = judge(&s, &DrRules::default(), &e, false, NOW);
        assert_eq!(rules(&r), ["dr.backup_missing"]);
        assert_eq!(r.gaps[0].store.as_deref(), Some("orders-files"));
        assert_eq!(r.gaps[0].reason, "store orders-files: no successful backup");
        // Nothing at all: both rules fail for the store.
        let none = judge(&orders(), &DrRules::default(), &Evidence::default(), false, NOW);
        assert_eq!(rules(&none), ["dr.backup_missing", "dr.restore_test"]);
    }

    #[test]
    fn a_backup_of_another_store_does_not_cover_this_one() {
        let mut e = fresh();
        e.jobs = vec![
            backup("orders-db-replica", NOW - H, true),
            backup("ORDERS-DB", NOW - H, true),
        ];
        assert_eq!(
            rules(&judge(&orders(), &DrRules::default(), &e, false, NOW)),
            ["dr.backup_missing"]
        );
    }

    #[test]
    fn a_restore_job_is_not_a_backup() {
        let mut e = fresh();
        e.jobs[0].kind = "restore".into();
        assert_eq!(
            rules(&judge(&orders(), &DrRules::default(), &e, false, NOW)),
            ["dr.backup_missing"]
        );
    }

    #[test]
    fn a_backup_stamped_in_the_future_is_not_evidence() {
        let mut e = fresh();
        e.jobs = vec![backup("orders-db", NOW + 10 * D, true)];
        let r = judge(&orders(), &DrRules::default(), &e, false, NOW);
        assert_eq!(rules(&r), ["dr.backup_missing"]);
        assert!(r.gaps[0].reason.contains("in the future"), "{}", r.gaps[0].reason);
        // A future restore test or drill is no evidence either.
        let mut e = fresh();
        e.restore_tests = vec![test("orders-db", NOW + D, 60)];
        e.last_drill = Some(NOW + D);
        assert_eq!(
            rules(&judge(&orders(), &DrRules::default(), &e, true, NOW)),
            ["dr.restore_test", "dr.rollback_drill"]
        );
    }

    #[test]
    fn a_restore_test_older_than_the_tier_allows_is_not_ready() {
        let mut e = fresh();
        e.restore_tests = vec![test("orders-db", NOW - 91 * D, 60)];
        let r = judge(&orders(), &DrRules::default(), &e, false, NOW);
        assert_eq!(rules(&r), ["dr.restore_test"]);
        assert_eq!(
            r.gaps[0].reason,
            "store orders-db: last restore test 91d ago, the high tier needs one within 90 days"
        );
        // The medium tier allows 180 days by default.
        let mut medium = orders();
        medium.tier = "medium".into();
        assert!(judge(&medium, &DrRules::default(), &e, false, NOW).ready);
    }

    #[test]
    fn a_restore_slower_than_the_rto_is_not_ready() {
        let mut e = fresh();
        e.restore_tests = vec![test("orders-db", NOW - D, 90 * 60)];
        let r = judge(&orders(), &DrRules::default(), &e, false, NOW);
        assert_eq!(rules(&r), ["dr.rto"]);
        assert_eq!(
            r.gaps[0].reason,
            "store orders-db: the last restore test took 1h30m, RTO 1h"
        );
        // The latest test decides: a faster old one does not excuse a slow recent one.
        e.restore_tests.push(test("orders-db", NOW - 5 * D, 10 * 60));
        assert_eq!(
            rules(&judge(&orders(), &DrRules::default(), &e, false, NOW)),
            ["dr.rto"]
        );
    }

    #[test]
    fn a_stale_rollback_drill_blocks_only_a_high_risk_change() {
        let mut e = fresh();
        e.last_drill = Some(NOW - 31 * D);
        assert!(judge(&orders(), &DrRules::default(), &e, false, NOW).ready);
        let r = judge(&orders(), &DrRules::default(), &e, true, NOW);
        assert_eq!(rules(&r), ["dr.rollback_drill"]);
        assert_eq!(
            r.gaps[0].reason,
            "last rollback drill 31d ago; a high-risk change of a high tier service needs one within 30 days"
        );
        e.last_drill = None;
        let r = judge(&orders(), &DrRules::default(), &e, true, NOW);
        assert!(r.gaps[0].reason.starts_with("no rollback drill"), "{r:?}");
        // The low tier requires no drill by default.
        let mut low = orders();
        low.tier = "low".into();
        assert!(judge(&low, &DrRules::default(), &e, true, NOW).ready);
    }

    #[test]
    fn a_tier_section_overrides_only_the_keys_it_names() {
        let rules_cfg: DrRules = toml::from_str("[tiers.high]\nrestore_test_days = 30\n").unwrap();
        assert_eq!(
            rules_cfg.for_tier("high"),
            TierRules {
                restore_test_days: 30,
                rollback_drill_days: Some(30)
            }
        );
        assert_eq!(rules_cfg.for_tier("medium"), default_rules("medium"));
        let mut e = fresh();
        e.restore_tests = vec![test("orders-db", NOW - 40 * D, 60)];
        assert_eq!(
            rules(&judge(&orders(), &rules_cfg, &e, false, NOW)),
            ["dr.restore_test"]
        );
        // rollback_drill_days = 0 switches the drill rule off for the tier.
        let off: DrRules = toml::from_str("[tiers.high]\nrollback_drill_days = 0\n").unwrap();
        e.restore_tests = vec![test("orders-db", NOW - D, 60)];
        e.last_drill = None;
        assert!(judge(&orders(), &off, &e, true, NOW).ready);
    }

    #[test]
    fn a_stateless_service_needs_no_backup() {
        let mut s = orders();
        s.stores.clear();
        assert!(judge(&s, &DrRules::default(), &Evidence::default(), false, NOW).ready);
    }

    #[test]
    fn a_partial_or_nonsensical_inventory_is_refused_with_the_fix() {
        let bad = |f: &dyn Fn(&mut Service)| {
            let mut s = orders();
            f(&mut s);
            s.validate().unwrap_err()
        };
        assert!(bad(&|s| s.tier = "critical".into()).contains("high, medium or low"));
        assert!(bad(&|s| s.rpo = "1 day".into()).contains("rpo"));
        assert!(bad(&|s| s.rto = "".into()).contains("rto"));
        assert!(bad(&|s| s.stores.push(" ".into())).contains("store id is empty"));
        assert!(bad(&|s| s.name = "".into()).contains("name"));
        assert!(validate_inventory(&[orders(), orders()]).unwrap_err().contains("twice"));
        let missing_stores = toml::from_str::<Service>("name = \"a\"\ntier = \"high\"\nrpo = \"1h\"\nrto = \"1h\"\n");
        assert!(missing_stores.is_err(), "forgetting `stores` must not mean stateless");
        let unknown: DrRules = toml::from_str("[tiers.gold]\nrestore_test_days = 1\n").unwrap();
        assert!(unknown.validate().unwrap_err().contains("unknown tier"));
        let zero: DrRules = toml::from_str("[tiers.low]\nrestore_test_days = 0\n").unwrap();
        assert!(zero.validate().is_err());
    }

    /// A scripted fortnight with its verdicts worked out by hand (day 0 = 2026-11-20T00:00Z):
    /// nightly pgBackRest backups of `orders-db` at 01:00 (day 5's failed), weekly Velero
    /// backups of `documents` at 03:00 on days 0 and 7 finishing at 03:30, restore tests of
    /// `orders-db` on day 2 (40 min) and of `documents` on day 3 (70 min), a rollback drill on
    /// day 1; `orders` is high tier (RPO 24h, RTO 1h), `archive` medium (RPO 7d, RTO 2h).
    #[test]
    fn a_scripted_fortnight_gives_the_verdicts_worked_out_by_hand() {
        let day0 = 1_795_132_800; // 2026-11-20T00:00:00Z
        let at = |day: i64, hour: i64, min: i64| day0 + day * D + hour * H + min * 60;
        let mut jobs = Vec::new();
        for day in 0..14 {
            jobs.push(Job {
                store: "orders-db".into(),
                kind: "backup".into(),
                succeeded: day != 5,
                started: Some(at(day, 1, 0)),
                finished: Some(at(day, 1, 5)),
                tool: "pgbackrest".into(),
                id: format!("day{day}"),
            });
        }
        for day in [0, 7] {
            jobs.push(Job {
                store: "documents".into(),
                kind: "backup".into(),
                succeeded: true,
                started: Some(at(day, 3, 0)),
                finished: Some(at(day, 3, 30)),
                tool: "velero".into(),
                id: format!("weekly{day}"),
            });
        }
        let evidence = Evidence {
            jobs,
            restore_tests: vec![
                test("orders-db", at(2, 10, 0), 40 * 60),
                test("documents", at(3, 10, 0), 70 * 60),
            ],
            last_drill: Some(at(1, 15, 0)),
        };
        let orders = orders();
        let archive = Service {
            name: "archive".into(),
            tier: "medium".into(),
            rpo: "7d".into(),
            rto: "2h".into(),
            stores: vec!["documents".into()],
        };
        let reasons = |s: &Service, rules: &DrRules, now: i64| -> Vec<String> {
            judge(s, rules, &evidence, true, now)
                .gaps
                .into_iter()
                .map(|g| g.reason)
                .collect()
        };
        let defaults = DrRules::default();
        // Day 3, 12:00: every store fresh, the drill two days old.
        assert!(reasons(&orders, &defaults, at(3, 12, 0)).is_empty());
        assert!(reasons(&archive, &defaults, at(3, 12, 0)).is_empty());
        // Day 5, 12:00: day 5's backup failed; the last success is day 4 01:05, 34h55m ago.
        assert_eq!(
            reasons(&orders, &defaults, at(5, 12, 0)),
            ["store orders-db: last successful backup 34h55m ago, RPO 24h"]
        );
        // Day 6, 01:04: still day 4's (47h59m); at 01:05 day 6's backup lands.
        assert_eq!(
            reasons(&orders, &defaults, at(6, 1, 4)),
            ["store orders-db: last successful backup 47h59m ago, RPO 24h"]
        );
        assert!(reasons(&orders, &defaults, at(6, 1, 5)).is_empty());
        // Day 7, 03:29: the weekly backup of day 0 is 6d23h59m old — within 7d; at 03:31 the
        // old one would be past 7d, but day 7's finished at 03:30.
        assert!(reasons(&archive, &defaults, at(7, 3, 29)).is_empty());
        assert!(reasons(&archive, &defaults, at(7, 3, 31)).is_empty());
        // Without day 7's backup, 03:31 is past the RPO (7d1m = "7d" in days and hours).
        let mut late = evidence.clone();
        late.jobs.retain(|j| j.id != "weekly7");
        assert_eq!(
            judge(&archive, &defaults, &late, false, at(7, 3, 31)).gaps[0].reason,
            "store documents: last successful backup 7d ago, RPO 7d"
        );
        // Day 13, 12:00 with a 7-day drill rule for high: the day-1 drill is 11d21h old.
        let strict: DrRules = toml::from_str("[tiers.high]\nrollback_drill_days = 7\n").unwrap();
        assert_eq!(
            reasons(&orders, &strict, at(13, 12, 0)),
            ["last rollback drill 11d21h ago; a high-risk change of a high tier service needs one within 7 days"]
        );
        // The archive's restore test took 70 min: within its 2h RTO, past orders' 1h.
        let mut moved = orders.clone();
        moved.stores = vec!["documents".into()];
        moved.rpo = "7d".into();
        assert_eq!(
            reasons(&moved, &defaults, at(8, 0, 0)),
            ["store documents: the last restore test took 1h10m, RTO 1h"]
        );
        // Day 95 (no evidence after day 13): every rule that ages has aged.
        assert_eq!(
            reasons(&orders, &defaults, at(95, 0, 0)),
            [
                "store orders-db: last successful backup 81d22h ago, RPO 24h",
                "store orders-db: last restore test 92d14h ago, the high tier needs one within 90 days",
                "last rollback drill 93d9h ago; a high-risk change of a high tier service needs one within 30 days",
            ]
        );
    }

    #[test]
    fn spans_read_the_way_people_say_them() {
        assert_eq!(fmt_span(45), "45s");
        assert_eq!(fmt_span(17 * 60 + 5), "17m");
        assert_eq!(fmt_span(26 * H), "26h");
        assert_eq!(fmt_span(26 * H + 30 * 60), "26h30m");
        assert_eq!(fmt_span(3 * D + 4 * H + 59), "3d4h");
        assert_eq!(fmt_span(91 * D), "91d");
        assert_eq!(fmt_span(-5), "0s");
    }
}
