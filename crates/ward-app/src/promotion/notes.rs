//! Release notes and manifests, generated from the records: deployments, changes, approvals,
//! evidence summaries, waivers and commits.

use crate::approvals::Approval;
use crate::changes;
use crate::deployments::Deployment;
use crate::error::AppError;
use crate::exceptions::{Breakglass, Waiver};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use ward_core::approval::ApprovalRules;
use ward_core::gate::Excused;
use ward_core::risk::RiskRules;
use ward_store::Ledger;

/// One release in the notes: a deployment and what it shipped and relied on.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The approvals current at its gate decision: `meaning by printed name (time)`.
    pub approvals: Vec<String>,
    /// Waivers active at its gate decision (and what they excused).
    pub waivers: Vec<String>,
    /// Break-glass in force at its gate decision, with the retrospective review's status.
    #[serde(default)]
    pub breakglass: Vec<String>,
    /// Signatures, waivers and break-glass recorded after its gate decision: not relied on.
    #[serde(default)]
    pub signed_after: Vec<String>,
    /// One line per attestation on its artifacts.
    pub evidence: Vec<String>,
}

/// What a deployment relied on at its gate decision, and what was recorded after it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReliedOn {
    /// Approvals current at the gate decision.
    pub approvals: Vec<String>,
    /// Waivers active at the gate decision.
    pub waivers: Vec<String>,
    /// Break-glass in force at the gate decision, with its review status.
    pub breakglass: Vec<String>,
    /// Recorded after the gate decision (so after the deployment's authority): not relied on.
    pub signed_after: Vec<String>,
}

/// Selects what deployment `d` relied on (pure: everything, including the review status of
/// break-glass, is computed by the caller).
///
/// - `input`: the gate input document stored with `d.gate_decision` (its `approvals`,
///   `waivers` and `breakglass` are the state at that decision); `None` when it cannot be read —
///   then only the signers the deployment record names are listed, marked as such.
/// - `waived`: the decision's excused reasons (waiver / break-glass ids).
/// - `waivers`, `breakglass`, `approvals`: every record of the change (and its artifacts) now;
///   those recorded after the gate decision (`seq > d.gate_decision`) go to `signed_after`,
///   never to what it relied on.
pub fn relied_on(
    d: &Deployment,
    input: Option<&Value>,
    waived: &[Excused],
    waivers: &[Waiver],
    breakglass: &[Breakglass],
    approvals: &[Approval],
) -> ReliedOn {
    let decided = d.gate_decision;
    let mut out = ReliedOn::default();
    let list = |v: Option<&Value>, key: &str| -> Vec<Value> {
        v.and_then(|i| i.get(key))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).unwrap_or("?").to_string();
    match input {
        Some(_) => {
            for a in list(input, "approvals") {
                if a.get("decision").and_then(Value::as_str) == Some("approved")
                    && a.get("stale").and_then(Value::as_bool) != Some(true)
                {
                    out.approvals.push(format!(
                        "{} by {} ({})",
                        text(&a, "meaning"),
                        text(&a, "printed_name"),
                        text(&a, "time")
                    ));
                }
            }
        }
        None => {
            out.approvals = d
                .approvals
                .iter()
                .map(|s| format!("{s} (named by the deployment record; the gate input is unavailable)"))
                .collect()
        }
    }
    // Exceptions in force then: active in the input, or excusing a reason of the decision, or
    // named by the deployment record.
    let active_in = |key: &str| -> BTreeSet<String> {
        list(input, key)
            .iter()
            .filter(|x| x.get("active").and_then(Value::as_bool) == Some(true))
            .filter_map(|x| x.get("id").and_then(Value::as_str).map(str::to_string))
            .collect()
    };
    let mut in_force: BTreeSet<String> = active_in("waivers");
    in_force.extend(active_in("breakglass"));
    in_force.extend(waived.iter().map(|w| w.waiver.clone()));
    in_force.extend(d.excused_by.iter().cloned());
    let excused = |id: &str| {
        let rules: BTreeSet<&str> = waived
            .iter()
            .filter(|w| w.waiver == id)
            .map(|w| w.rule.as_str())
            .collect();
        if rules.is_empty() {
            String::new()
        } else {
            format!("; excused {}", rules.into_iter().collect::<Vec<_>>().join(", "))
        }
    };
    for id in in_force.iter().filter(|i| !i.starts_with("BG-")) {
        out.waivers
            .push(match waivers.iter().find(|w| &w.id == id && w.seq < decided) {
                Some(w) => format!(
                    "{} ({}) granted by {}, expires {}: {}{}",
                    w.id,
                    w.request.rules.join(", "),
                    w.approver,
                    crate::metrics::rfc3339(w.expires_secs),
                    w.request.justification,
                    excused(id)
                ),
                None => format!("{id}{}", excused(id)),
            });
    }
    for id in in_force.iter().filter(|i| i.starts_with("BG-")) {
        out.breakglass
            .push(match breakglass.iter().find(|b| &b.id == id && b.seq < decided) {
                Some(b) => format!(
                    "{} by {} ({}), bypass until {}: {}{} — retrospective review {}, due {}",
                    b.id,
                    b.by,
                    b.request.rules.join(", "),
                    crate::metrics::rfc3339(b.until_secs),
                    b.request.justification,
                    excused(id),
                    if b.review.is_empty() { "open" } else { &b.review },
                    crate::metrics::rfc3339(b.review_due_secs)
                ),
                None => format!("{id}{} — retrospective review unknown", excused(id)),
            });
    }
    // Everything recorded after the decision, oldest first.
    let mut after: Vec<(u64, String)> = Vec::new();
    for a in approvals.iter().filter(|a| a.seq > decided) {
        after.push((
            a.seq,
            format!(
                "{} ({}) by {} at {} (entry {})",
                a.meaning, a.decision, a.printed_name, a.time, a.seq
            ),
        ));
    }
    for w in waivers.iter().filter(|w| w.seq > decided) {
        after.push((
            w.seq,
            format!(
                "waiver {} ({}) granted by {} at {} (entry {}), expires {}",
                w.id,
                w.request.rules.join(", "),
                w.approver,
                w.time,
                w.seq,
                crate::metrics::rfc3339(w.expires_secs)
            ),
        ));
    }
    for b in breakglass.iter().filter(|b| b.seq > decided) {
        after.push((
            b.seq,
            format!("break-glass {} by {} at {} (entry {})", b.id, b.by, b.time, b.seq),
        ));
    }
    after.sort();
    out.signed_after = after.into_iter().map(|(_, s)| s).collect();
    out
}

/// The gate decision `seq` and its stored input document, when both can be read and the input
/// matches its digest (anything else: `None`, and the notes say so).
async fn decision_input(ledger: &Ledger, seq: u64) -> Result<Option<(Vec<Excused>, Value)>, AppError> {
    if seq == 0 {
        return Ok(None);
    }
    let Ok(decision) = crate::gate::decision(ledger, seq).await else {
        return Ok(None);
    };
    Ok(crate::gate::stored_input(ledger, seq)
        .await
        .ok()
        .map(|v| (decision.waived, v)))
}

/// Release notes of an environment since a time: structured data, from the records.
/// An undeclared environment without records is refused as in [`super::deployment_history`].
pub async fn release_notes(
    ledger: &Ledger,
    envs: &[crate::environment::Environment],
    environment: &str,
    since: Option<&str>,
    risk: &RiskRules,
    rules: &ApprovalRules,
) -> Result<Vec<ReleaseEntry>, AppError> {
    let since = match since {
        // The parser's own message repeats what was typed: left out.
        Some(s) => Some(s.parse::<jiff::Timestamp>().map_err(|_| {
            AppError::invalid(
                format!(
                    "the start of the notes {} is not an RFC 3339 time: give a time with its offset",
                    crate::identifier::shown(s)
                ),
                "give an RFC 3339 time, e.g. 2026-11-01T00:00:00Z",
            )
        })?),
        None => None,
    };
    let mut out = Vec::new();
    for d in crate::deployments::deployment_history(ledger, envs, environment).await? {
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
        let now = jiff::Timestamp::now().as_second();
        let waivers = crate::exceptions::waivers_of(ledger, &change, now).await?;
        let breakglass = crate::exceptions::breakglass(ledger, Some(&change.id), now, risk, rules).await?;
        let (waived, input) = match decision_input(ledger, d.gate_decision).await? {
            Some((w, i)) => (w, Some(i)),
            None => (vec![], None),
        };
        let relied = relied_on(&d, input.as_ref(), &waived, &waivers, &breakglass, &view.approvals);
        out.push(ReleaseEntry {
            title: change.request.title.clone(),
            ticket: change.request.ticket_url.clone(),
            tier: change.tier.as_str().into(),
            commits: change
                .request
                .commits
                .iter()
                .map(|c| {
                    // A commit's id lives beside the log (a reference, shown below as its text,
                    // whole); an older entry's inline id is shortened.
                    let id = match crate::documents::is_reference(&c.sha) {
                        true => c.sha.as_str(),
                        false => &c.sha[..c.sha.len().min(12)],
                    };
                    format!("{id} {}", c.author)
                })
                .collect(),
            approvals: relied.approvals,
            waivers: relied.waivers,
            breakglass: relied.breakglass,
            signed_after: relied.signed_after,
            evidence,
            deployment: d,
        });
    }
    // People's text (justifications, comments) is shown, read from beside the log.
    crate::documents::shown(ledger, out).await
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
        s.push_str(&list("Approvals at the gate decision", &e.approvals));
        s.push_str(&list("Evidence", &e.evidence));
        s.push_str(&list("Waivers in force", &e.waivers));
        s.push_str(&list("Break-glass", &e.breakglass));
        s.push_str(&list("Commits", &e.commits));
        if !e.signed_after.is_empty() {
            s.push_str(&list("Signed after deployment (not relied on)", &e.signed_after));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(seq: u64, gate_decision: u64) -> Deployment {
        serde_json::from_value(json!({
            "change": "CHG-1", "environment": "prod", "digests": ["sha256:aa"], "status": "succeeded",
            "gate_decision": gate_decision, "approvals": ["user:alice"], "executed_by": "user:rita",
            "excused_by": ["BG-1"], "seq": seq, "time": "2026-12-01T10:00:00Z",
        }))
        .unwrap()
    }

    fn approval(signer: &str, meaning: &str, seq: u64) -> Approval {
        serde_json::from_value(json!({
            "change": "CHG-1", "signer": signer, "printed_name": signer.trim_start_matches("user:"),
            "meaning": meaning, "decision": "approved", "comment": "", "reauth": "password",
            "manifest": ward_core::approval::Manifest::default(), "manifest_digest": "sha256:00",
            "seq": seq, "time": format!("t{seq}"),
        }))
        .unwrap()
    }

    fn waiver(id: &str, seq: u64) -> Waiver {
        serde_json::from_value(json!({
            "id": id, "change": "CHG-1", "rules": ["sla.high"], "justification": "vendor patch due Friday",
            "compensating_control": "WAF rule blocks the path", "owner": "user:dana", "expires_in_secs": 60,
            "approver": "user:vera", "expires_secs": 100, "seq": seq, "time": format!("t{seq}"),
        }))
        .unwrap()
    }

    #[test]
    fn notes_show_breakglass_and_separate_later_signatures() {
        // Decision at entry 10 (alice had approved at 5; the glass was broken at 8), deployed at
        // 12; afterwards a retrospective review (20) and a waiver granted (21, since expired).
        let d = deployment(12, 10);
        let input = json!({
            "approvals": [
                {"signer": "user:alice", "printed_name": "Alice A", "meaning": "approval", "decision": "approved",
                 "stale": false, "time": "t5"},
                {"signer": "user:bob", "printed_name": "Bob B", "meaning": "approval", "decision": "approved",
                 "stale": true, "time": "t3"},
            ],
            "waivers": [],
            "breakglass": [{"id": "BG-1", "rules": ["evidence."], "active": true, "until_secs": 50}],
        });
        let waived = vec![Excused {
            rule: "evidence.sbom".into(),
            message: "no SBOM".into(),
            waiver: "BG-1".into(),
        }];
        let bg: Breakglass = serde_json::from_value(json!({
            "id": "BG-1", "change": "CHG-1", "rules": ["evidence."], "justification": "EHR feed is down for every clinic",
            "duration_secs": 3600, "by": "user:ivan", "until_secs": 50, "review_due_secs": 60, "review": "overdue",
            "seq": 8, "time": "t8",
        }))
        .unwrap();
        let approvals = vec![
            approval("user:alice", "approval", 5),
            approval("user:rhea", "retrospective-review", 20),
        ];
        let waivers = vec![waiver("WVR-late", 21)];
        let r = relied_on(&d, Some(&input), &waived, &waivers, &[bg], &approvals);
        // Relied on: what was current at the decision — not the stale one, not the later review.
        assert_eq!(r.approvals, vec!["approval by Alice A (t5)".to_string()]);
        // The break-glass is shown, with what it excused and its review status.
        assert_eq!(r.breakglass.len(), 1, "{r:?}");
        assert!(
            r.breakglass[0].starts_with("BG-1 by user:ivan")
                && r.breakglass[0].contains("excused evidence.sbom")
                && r.breakglass[0].contains("bypass until 1970-01-01T00:00:50Z")
                && r.breakglass[0].ends_with("retrospective review overdue, due 1970-01-01T00:01:00Z"),
            "{r:?}"
        );
        // A waiver granted after the decision was not relied on.
        assert!(r.waivers.is_empty(), "{r:?}");
        // Later signatures are listed apart, oldest first.
        assert_eq!(r.signed_after.len(), 2, "{r:?}");
        assert!(
            r.signed_after[0].starts_with("retrospective-review (approved) by rhea"),
            "{r:?}"
        );
        assert!(
            r.signed_after[1].starts_with("waiver WVR-late")
                && r.signed_after[1].ends_with("expires 1970-01-01T00:01:40Z"),
            "{r:?}"
        );

        // A waiver active at the decision is listed with what it excused.
        let mut input2 = input.clone();
        input2["waivers"] = json!([{"id": "WVR-1", "rules": ["sla.high"], "active": true}]);
        let r = relied_on(&d, Some(&input2), &[], &[waiver("WVR-1", 7)], &[], &[]);
        assert_eq!(r.waivers.len(), 1, "{r:?}");
        assert!(
            r.waivers[0].starts_with("WVR-1 (sla.high) granted by user:vera, expires 1970-01-01T00:01:40Z"),
            "{r:?}"
        );

        // Without the stored input, only the record's signers, marked as such.
        let r = relied_on(&d, None, &[], &[], &[], &approvals);
        assert_eq!(r.approvals.len(), 1);
        assert!(r.approvals[0].contains("gate input is unavailable"), "{r:?}");
        assert!(r.breakglass[0].starts_with("BG-1"), "{r:?}");
    }
}
