//! Release notes and manifests, generated from the records: deployments, changes, approvals,
//! evidence summaries, waivers and commits.

use super::{Deployment, deployments};
use crate::changes;
use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use ward_core::approval::ApprovalRules;
use ward_core::risk::RiskRules;
use ward_store::Ledger;

/// One release in the notes: a deployment and what it shipped and relied on.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ReleaseEntry {
    /// The deployment record.
    pub deployment: Deployment,
    /// The change's title.
    pub title: String,
    /// Ticket URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// Risk tier in force.
    pub tier: String,
    /// Commits in the change's range.
    pub commits: Vec<String>,
    /// Current approvals: `meaning by printed name`.
    pub approvals: Vec<String>,
    /// Waivers that were active for it.
    pub waivers: Vec<String>,
    /// One line per attestation on its artifacts.
    pub evidence: Vec<String>,
}

/// Release notes of an environment since a time: structured data, from the records.
pub async fn release_notes(
    ledger: &Ledger,
    environment: &str,
    since: Option<&str>,
    risk: &RiskRules,
    rules: &ApprovalRules,
) -> Result<Vec<ReleaseEntry>, ApiError> {
    let since = match since {
        Some(s) => Some(s.parse::<jiff::Timestamp>().map_err(|e| {
            ApiError::invalid(
                format!("--since {s:?}: {e}"),
                "give an RFC 3339 time, e.g. 2026-11-01T00:00:00Z",
            )
        })?),
        None => None,
    };
    let mut out = Vec::new();
    for d in deployments(ledger, environment).await? {
        if d.status != "succeeded" {
            continue;
        }
        if let (Some(s), Ok(t)) = (since, d.time.parse::<jiff::Timestamp>())
            && t < s
        {
            continue;
        }
        let Some(change) = changes::get(ledger, &d.change).await? else {
            continue;
        };
        let view = crate::approvals::view(ledger, &change.id, risk, rules).await?;
        let mut evidence = Vec::new();
        for a in &change.request.artifacts {
            for att in crate::evidence::attestations(ledger, a).await? {
                evidence.push(format!("{} {}", att.r#type, att.file_name));
            }
        }
        let waivers = crate::exceptions::waivers(ledger, &change.id, jiff::Timestamp::now().as_second())
            .await?
            .into_iter()
            .map(|w| format!("{} ({}): {}", w.id, w.request.rules.join(", "), w.request.justification))
            .collect();
        out.push(ReleaseEntry {
            title: change.request.title.clone(),
            ticket: change.request.ticket_url.clone(),
            tier: change.tier.as_str().into(),
            commits: change
                .request
                .commits
                .iter()
                .map(|c| format!("{} {}", &c.sha[..c.sha.len().min(12)], c.author))
                .collect(),
            approvals: view
                .approvals
                .iter()
                .filter(|a| a.decision == "approved" && !a.stale)
                .map(|a| format!("{} by {}", a.meaning, a.printed_name))
                .collect(),
            waivers,
            evidence,
            deployment: d,
        });
    }
    Ok(out)
}

/// Release notes as Markdown.
pub fn release_notes_markdown(environment: &str, entries: &[ReleaseEntry]) -> String {
    let mut s = format!("# Release notes: {environment}\n\n");
    if entries.is_empty() {
        s.push_str("No releases in this period.\n");
    }
    for e in entries {
        let d = &e.deployment;
        s.push_str(&format!(
            "## {} — {}{}\n\n- Deployed {} by {} (entry {}), gate decision {}\n- Risk tier: {}\n- Artifacts: {}\n",
            d.change,
            e.title,
            if d.rollback_of.is_some() { " (rollback)" } else { "" },
            d.time,
            d.executed_by,
            d.seq,
            d.gate_decision,
            e.tier,
            d.digests.join(", ")
        ));
        if let Some(t) = &e.ticket {
            s.push_str(&format!("- Ticket: {t}\n"));
        }
        if let Some(r) = &d.ring {
            s.push_str(&format!("- Ring: {r}\n"));
        }
        if !d.tenants.is_empty() {
            s.push_str(&format!("- Tenants: {}\n", d.tenants.join(", ")));
        }
        let configs: Vec<String> = d
            .targets
            .iter()
            .filter_map(|t| {
                let c = t.config_digest.as_ref()?;
                Some(match &t.tenant {
                    Some(x) => format!("{x}: {c}"),
                    None => c.clone(),
                })
            })
            .collect();
        if !configs.is_empty() {
            s.push_str(&format!("- Configuration: {}\n", configs.join("; ")));
        }
        if let Some(of) = d.rollback_of {
            s.push_str(&format!("- Reverts deployment entry {of}\n"));
        }
        let list = |name: &str, v: &[String]| {
            if v.is_empty() {
                format!("- {name}: none\n")
            } else {
                format!(
                    "- {name}:\n{}",
                    v.iter().map(|x| format!("  - {x}\n")).collect::<String>()
                )
            }
        };
        s.push_str(&list("Approvals", &e.approvals));
        s.push_str(&list("Evidence", &e.evidence));
        s.push_str(&list("Waivers", &e.waivers));
        s.push_str(&list("Commits", &e.commits));
        s.push('\n');
    }
    s
}
