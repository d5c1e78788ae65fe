//! The whole picture of one change, for the people who approve and audit it: what it is, the
//! evidence on each artifact, its signatures (current and stale), the latest gate decision per
//! environment, waivers, break-glass with its review, and where it was deployed.
//!
//! A read model composed from the other modules' reads; it decides nothing.

use crate::approvals::{self, ApprovalsView};
use crate::changes::{self, Change};
use crate::deployments::{self, Deployment};
use crate::environment::Environment;
use crate::error::AppError;
use crate::evidence::{self, Attestation};
use crate::exceptions::{self, Breakglass, Waiver};
use crate::gate::{self, GateDecision};
use serde::{Deserialize, Serialize};
use ward_core::approval::ApprovalRules;
use ward_core::risk::RiskRules;
use ward_store::Ledger;

/// `ward change show`: a change and everything recorded about it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeOverview {
    /// The change (its fields at the top level, as `GET /api/v1/changes/{id}`).
    #[serde(flatten)]
    pub change: Change,
    /// Evidence on each artifact it ships and on the change itself, oldest first (empty and
    /// `evidence_withheld` for a caller who may not read evidence).
    pub evidence: Vec<Attestation>,
    /// The caller may not read evidence (a privacy officer): `evidence` is left empty.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub evidence_withheld: bool,
    /// Signatures, current and stale, and the manifest a new one would cover.
    pub approvals: ApprovalsView,
    /// The latest gate decision per environment, by environment name.
    pub decisions: Vec<GateDecision>,
    /// Waivers of the change and of its artifacts, active and expired.
    pub waivers: Vec<Waiver>,
    /// Break-glass on the change, with its retrospective review.
    pub breakglass: Vec<Breakglass>,
    /// Its deployment records in every declared environment, oldest first.
    pub deployments: Vec<Deployment>,
}

/// The overview of change `id` at `now` (Unix seconds, for what is active or overdue).
pub async fn change(
    ledger: &Ledger,
    id: &str,
    now: i64,
    risk: &RiskRules,
    rules: &ApprovalRules,
    envs: &[Environment],
) -> Result<ChangeOverview, AppError> {
    let change = changes::get(ledger, id).await?.ok_or_else(|| {
        AppError::not_found(
            format!("no change {}", crate::identifier::shown(id)),
            "list the changes",
        )
    })?;
    let mut subjects: Vec<String> = change.request.artifacts.clone();
    subjects.push(change.id.clone());
    let mut evidence = Vec::new();
    for s in &subjects {
        evidence.extend(evidence::attestations(ledger, s).await?);
    }
    let waivers = exceptions::waivers_of(ledger, &change, now).await?;
    evidence.sort_by_key(|a| a.seq);
    let mut deployments = Vec::new();
    for e in envs {
        deployments.extend(
            deployments::deployments(ledger, &e.name)
                .await?
                .into_iter()
                .filter(|d| d.change == change.id),
        );
    }
    deployments.sort_by_key(|d| d.seq);
    Ok(ChangeOverview {
        evidence,
        evidence_withheld: false,
        approvals: approvals::view(ledger, id, risk, rules).await?,
        decisions: gate::latest_decisions(ledger, &change).await?,
        waivers,
        breakglass: exceptions::breakglass(ledger, Some(id), now, risk, rules).await?,
        deployments,
        change,
    })
}

impl ChangeOverview {
    /// The overview as `reader` may see it: evidence only for those who may read evidence.
    pub fn for_reader(mut self, reader: &ward_core::Identity) -> ChangeOverview {
        if !reader.may(ward_core::Action::EvidenceRead) {
            self.evidence.clear();
            self.evidence_withheld = true;
        }
        self
    }
}

/// Records that `reader` was shown change `id`'s overview (`access.read`, subject
/// `change:<id>`): whether its evidence was shown, and through which surface (`via`, e.g. `ui`).
pub async fn record_read(
    ledger: &Ledger,
    reader: &ward_core::Identity,
    overview: &ChangeOverview,
    via: &str,
) -> Result<(), AppError> {
    ledger
        .append(ward_ledger::NewEvent {
            actor: reader.actor(),
            kind: "access.read".into(),
            subject: format!("change:{}", overview.change.id),
            payload: serde_json::json!({
                "change": overview.change.id,
                "evidence": !overview.evidence_withheld,
                "approvals": overview.approvals.approvals.len(),
                "via": via,
            }),
        })
        .await?;
    Ok(())
}
