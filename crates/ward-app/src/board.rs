//! Read models for the people who release and approve (the web UI's release board and
//! approvals inbox): composed from the other modules' reads; they decide nothing themselves —
//! separation of duties is [`changes::check_decider`], the quorum is the tier's
//! (`[controls.tiers]`), what runs where is [`deployments::current`] (the last successful run
//! of each unit, as [`deployments::current_runs`] finds it over the records), drift is each
//! unit's latest observation ([`drift::latest`], the `drift_latest` projection).

use crate::approvals;
use crate::changes::{self, Change};
use crate::deployments;
use crate::environment::Environment;
use crate::error::AppError;
use crate::evidence;
use crate::gate::Controls;
use crate::promotion::drift::{self, DriftSeen};
use crate::rollout::{self, Rollout};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use ward_core::Identity;
use ward_core::approval::ApprovalRules;
use ward_core::risk::RiskRules;
use ward_store::Ledger;

/// One release of one service: `service@version` (by digest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// Artifact digest.
    pub digest: String,
    /// Its service (empty when the artifact is not registered).
    pub service: String,
    /// Its version.
    pub version: String,
}

/// What one unit (a tenant, or the environment as a whole) runs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cell {
    /// Tenant; none for an environment without tenants.
    pub tenant: Option<String>,
    /// Ring of the tenant, when the environment has rings.
    pub ring: Option<String>,
    /// The change of the latest successful run (none: nothing deployed yet).
    pub change: Option<String>,
    /// The deployment record of that run.
    pub deployment: Option<u64>,
    /// When (RFC 3339).
    pub since: Option<String>,
    /// What it runs (only the filtered service's releases when the board is filtered).
    pub releases: Vec<Release>,
    /// Its latest drift observation (none: never observed).
    #[serde(default)]
    pub drift: Option<DriftSeen>,
}

/// One environment's row of the board.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EnvironmentRow {
    /// Environment name.
    pub name: String,
    /// The environment it follows in the promotion chain.
    pub after: Option<String>,
    /// One cell per tenant (or one for the environment).
    pub cells: Vec<Cell>,
    /// Rollouts running, paused or halted there.
    pub rollouts: Vec<Rollout>,
    /// Releases the environment before it in the chain runs and this one does not yet
    /// ([`pending_promotions`]).
    #[serde(default)]
    pub pending: Vec<Pending>,
}

/// A promotion waiting: a change whose releases run in the previous environment of the chain
/// but not (all) here.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The change running there.
    pub change: String,
    /// Its releases not running here.
    pub releases: Vec<Release>,
}

/// What `previous` (the environment `this` follows) runs that `this` does not: per change of
/// `previous`'s cells, the releases no cell of `this` runs. In the order of `previous`'s cells.
pub fn pending_promotions(previous: &EnvironmentRow, this: &EnvironmentRow) -> Vec<Pending> {
    let here: BTreeSet<&str> = this
        .cells
        .iter()
        .flat_map(|c| &c.releases)
        .map(|r| r.digest.as_str())
        .collect();
    let mut out: Vec<Pending> = Vec::new();
    for cell in &previous.cells {
        let Some(change) = &cell.change else { continue };
        let missing: Vec<Release> = cell
            .releases
            .iter()
            .filter(|r| !here.contains(r.digest.as_str()))
            .cloned()
            .collect();
        if missing.is_empty() {
            continue;
        }
        match out.iter_mut().find(|p| &p.change == change) {
            Some(p) => {
                for r in missing {
                    if !p.releases.contains(&r) {
                        p.releases.push(r);
                    }
                }
            }
            None => out.push(Pending {
                change: change.clone(),
                releases: missing,
            }),
        }
    }
    out
}

/// The release board: which release of each service runs where, and what is rolling out.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Board {
    /// The declared environments, in declaration order.
    pub environments: Vec<EnvironmentRow>,
    /// Every registered service (for the filter).
    pub services: Vec<String>,
}

/// A rollout that has not finished.
pub fn in_progress(r: &Rollout) -> bool {
    matches!(r.status.as_str(), "running" | "paused" | "halted")
}

/// The board over the declared environments, optionally only `service`'s releases.
pub async fn board(ledger: &Ledger, envs: &[Environment], service: Option<&str>) -> Result<Board, AppError> {
    let services_by_digest = evidence::services(ledger).await?;
    let mut releases: HashMap<String, Release> = HashMap::new();
    let mut rows = Vec::new();
    for env in envs {
        let units: Vec<Option<String>> = match env.all_tenants() {
            t if t.is_empty() => vec![None],
            t => t.into_iter().map(Some).collect(),
        };
        // What each unit runs now: one small row a unit (the `current_runs` projection).
        let mut now_running = deployments::current(ledger, &env.name).await?;
        // Its latest drift observation: one small row a unit (the `drift_latest` projection).
        let mut observed = drift::latest(ledger, &env.name).await?;
        let mut cells = Vec::new();
        for unit in units {
            let (current, since) = match now_running.remove(&unit) {
                Some(c) => (Some(c.restore), Some(c.since)),
                None => (None, None),
            };
            let mut shown = Vec::new();
            if let Some(run) = &current {
                for d in &run.digests {
                    let r = match releases.get(d) {
                        Some(r) => r.clone(),
                        None => {
                            let r = release(ledger, d).await?;
                            releases.insert(d.clone(), r.clone());
                            r
                        }
                    };
                    if service.is_none_or(|s| s == r.service) {
                        shown.push(r);
                    }
                }
            }
            let drift = observed.remove(&unit);
            cells.push(Cell {
                ring: unit
                    .as_deref()
                    .and_then(|t| env.ring_index(t))
                    .map(|i| env.rings[i].name.clone()),
                tenant: unit,
                change: current.as_ref().map(|c| c.change.clone()),
                deployment: current.as_ref().map(|c| c.deployment),
                since,
                releases: shown,
                drift,
            });
        }
        let rollouts = rollout::list(ledger, Some(&env.name))
            .await?
            .into_iter()
            .filter(in_progress)
            .filter(|r| service.is_none_or(|s| services_by_digest.get(&r.digest).is_some_and(|x| x == s)))
            .collect();
        rows.push(EnvironmentRow {
            name: env.name.clone(),
            after: env.after.clone(),
            cells,
            rollouts,
            pending: Vec::new(),
        });
    }
    for i in 0..rows.len() {
        let previous = rows[i]
            .after
            .as_ref()
            .and_then(|a| rows.iter().position(|r| &r.name == a));
        if let Some(p) = previous {
            rows[i].pending = pending_promotions(&rows[p], &rows[i]);
        }
    }
    let services: BTreeSet<String> = services_by_digest.into_values().collect();
    Ok(Board {
        environments: rows,
        services: services.into_iter().collect(),
    })
}

/// The release behind `digest` (service and version from its registration).
pub async fn release(ledger: &Ledger, digest: &str) -> Result<Release, AppError> {
    let a = evidence::artifact(ledger, digest).await?;
    Ok(Release {
        digest: digest.to_string(),
        service: a.as_ref().map(|a| a.meta.service.clone()).unwrap_or_default(),
        version: a.map(|a| a.meta.version).unwrap_or_default(),
    })
}

/// A change waiting for the reader's signature.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Waiting {
    /// The change.
    pub change: Change,
    /// Distinct people whose current approval it has.
    pub approved_by: Vec<String>,
    /// The tier's quorum.
    pub quorum: u32,
    /// What it waits for that this reader may give: `an approval toward the quorum` while the
    /// quorum is not met (any meaning that counts), and each unsigned checklist item of the change's tags their roles give (e.g.
    /// `privacy-review` for a privacy officer).
    pub asks: Vec<String>,
}

/// The approvals inbox of `reader`: changes that separation of duties lets `reader` sign
/// ([`changes::check_decider`], judged with the directory's roles as a signature would be),
/// that `reader` has not signed (over their current content), and that wait for a signature
/// `reader` may give ([`ward_core::approval::check_meaning`]): the tier's quorum of current
/// approvals is not met, or a checklist item of the change's tags (a privacy review) is not
/// signed. Newest first. Empty for a reader whose roles may not approve.
pub async fn inbox(
    ledger: &Ledger,
    reader: &Identity,
    risk: &RiskRules,
    rules: &ApprovalRules,
    controls: &Controls,
) -> Result<Vec<Waiting>, AppError> {
    if !reader.may(ward_core::Action::ChangeApprove) {
        return Ok(Vec::new());
    }
    let judged = crate::reauth::with_directory_roles(ledger, reader).await?;
    let mut out = Vec::new();
    for change in changes::list(ledger).await? {
        if changes::check_decider(&judged, &change, rules).is_err() {
            continue;
        }
        let quorum = controls.tiers.get(change.tier.as_str()).map_or(0, |t| t.approvals);
        let view = approvals::view(ledger, &change.id, risk, rules).await?;
        // A signature by someone who became a party counts no more than a stale one (the gate's
        // rule; a reviewer's find on `dec691e`).
        let current: Vec<&approvals::Approval> = view.approvals.iter().filter(|a| !a.stale && !a.by_party).collect();
        // What this person has signed over the current content: per meaning, not any signature
        // (someone both approver and privacy officer may owe the other sign-off).
        let signed = |meaning: Option<&str>| {
            current.iter().any(|a| {
                a.signer == reader.id
                    && match meaning {
                        Some(m) => a.meaning == m,
                        None => rules.roles_for(&a.meaning).is_none(),
                    }
            })
        };
        // Approvals toward the quorum, as the gate counts them: not sign-offs only some roles
        // give (a privacy review).
        // Counted by person, as the gate counts (one key however an identity is spelled);
        // listed as they signed.
        let counted: Vec<&approvals::Approval> = current
            .iter()
            .copied()
            .filter(|a| a.counts_toward_quorum(rules))
            .collect();
        let people: BTreeSet<String> = counted
            .iter()
            .map(|a| ward_core::approval::person_key(&a.signer))
            .collect();
        let approved_by: BTreeSet<String> = counted.iter().map(|a| a.signer.clone()).collect();
        let asked = controls.checklist_for(&change.classification.tags);
        // Judged with the directory's roles, as a signature would be.
        let quorum_waits = (people.len() as u32) < quorum
            && !signed(None)
            && ward_core::approval::check_meaning(&judged, "approved", &asked, rules).is_ok();
        let waiting_items: Vec<String> = asked
            .iter()
            .filter(|item| {
                ward_core::approval::check_meaning(&judged, item, &asked, rules).is_ok()
                    && !signed(Some(item))
                    && !current.iter().any(|a| &a.meaning == *item && a.decision == "approved")
            })
            .cloned()
            .collect();
        if !quorum_waits && waiting_items.is_empty() {
            continue;
        }
        let asks = quorum_waits
            .then(|| "an approval toward the quorum".to_string())
            .into_iter()
            .chain(waiting_items)
            .collect();
        out.push(Waiting {
            change,
            approved_by: approved_by.into_iter().collect(),
            quorum,
            asks,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{Cell, EnvironmentRow, Pending, Release, pending_promotions};

    fn release(d: &str) -> Release {
        Release {
            digest: d.into(),
            service: "api".into(),
            version: d.into(),
        }
    }

    fn cell(tenant: Option<&str>, change: Option<&str>, digests: &[&str]) -> Cell {
        Cell {
            tenant: tenant.map(str::to_string),
            ring: None,
            change: change.map(str::to_string),
            deployment: None,
            since: None,
            releases: digests.iter().map(|d| release(d)).collect(),
            drift: None,
        }
    }

    fn row(name: &str, cells: Vec<Cell>) -> EnvironmentRow {
        EnvironmentRow {
            name: name.into(),
            after: None,
            cells,
            rollouts: Vec::new(),
            pending: Vec::new(),
        }
    }

    #[test]
    fn a_release_in_the_previous_environment_not_yet_here_is_pending_once() {
        let staging = row("staging", vec![cell(None, Some("CHG-2"), &["sha256:b", "sha256:c"])]);
        let prod = row(
            "prod",
            vec![
                cell(Some("clinic-a"), Some("CHG-1"), &["sha256:b"]),
                cell(Some("clinic-b"), None, &[]),
            ],
        );
        assert_eq!(
            pending_promotions(&staging, &prod),
            vec![Pending {
                change: "CHG-2".into(),
                releases: vec![release("sha256:c")]
            }]
        );
        // Once any tenant runs it, the board shows the rest per tenant, not as pending.
        let prod_done = row(
            "prod",
            vec![cell(Some("clinic-a"), Some("CHG-2"), &["sha256:b", "sha256:c"])],
        );
        assert!(pending_promotions(&staging, &prod_done).is_empty());
        // Two tenants of the previous environment on one change: listed once.
        let staging2 = row(
            "staging",
            vec![
                cell(Some("t1"), Some("CHG-3"), &["sha256:d"]),
                cell(Some("t2"), Some("CHG-3"), &["sha256:d"]),
                cell(Some("t3"), None, &[]),
            ],
        );
        let pending = pending_promotions(&staging2, &row("prod", vec![]));
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].releases, vec![release("sha256:d")]);
    }
}
