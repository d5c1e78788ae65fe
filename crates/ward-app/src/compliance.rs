//! The compliance report (issue 19, part 6): for a period, each control of HIPAA, 21 CFR
//! Part 11, SOC 2 and NIST 800-53 that Ward holds evidence for, with the figures read off the
//! log, the exceptions, and how to check each figure (the population, bundles, `ward verify`).
//!
//! Worded honestly: Ward provides evidence for these controls; it certifies nothing. The facts
//! are gathered by [`facts`] (one pass over the log, counting entries of the period by kind,
//! and the population of [`crate::audit`]); [`controls`], [`markdown`] and [`html`] are pure.

use crate::audit::{PopulationQuery, PopulationRow};
use crate::error::AppError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use ward_core::Identity;
use ward_ledger::{NewEvent, NoteSigner, Payload};
use ward_store::Ledger;

/// What the report is computed from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Period start (RFC 3339, inclusive).
    pub from: String,
    /// Period end (RFC 3339, exclusive).
    pub to: String,
    /// Production environments covered.
    pub environments: Vec<String>,
    /// Log entries of the period by kind.
    pub kinds: BTreeMap<String, u64>,
    /// Approving and rejecting signatures of the period by re-authentication method.
    pub signatures_by_reauth: BTreeMap<String, u64>,
    /// Signatures of the period recorded with a printed name, a meaning and a manifest digest.
    pub signatures_complete: u64,
    /// Gate decisions of the period that allowed.
    pub gate_allowed: u64,
    /// The population (production deployments of the period).
    pub rows: Vec<PopulationRow>,
    /// The signed checkpoint the report was computed at (size).
    pub checkpoint_size: u64,
    /// The checkpoint's signed note.
    pub checkpoint: String,
}

/// One control and the evidence Ward holds for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlEvidence {
    /// Framework (`HIPAA Security Rule`, `21 CFR Part 11`, `SOC 2`, `NIST SP 800-53`).
    pub framework: String,
    /// The control's reference (`§164.312(b)`, `CC8.1`, `CM-3`).
    pub id: String,
    /// Its name.
    pub title: String,
    /// What Ward records for it, in one or two sentences.
    pub evidence: String,
    /// Figures for the period: label → count.
    pub figures: Vec<(String, u64)>,
    /// Exceptions for the period (one sentence each, naming the log entry).
    pub exceptions: Vec<String>,
    /// How an auditor checks it.
    pub check: String,
}

fn kind(f: &Facts, k: &str) -> u64 {
    f.kinds.get(k).copied().unwrap_or(0)
}

fn prefix(f: &Facts, p: &str) -> u64 {
    f.kinds.iter().filter(|(k, _)| k.starts_with(p)).map(|(_, n)| n).sum()
}

/// The controls and their evidence for the period (pure).
pub fn controls(f: &Facts) -> Vec<ControlEvidence> {
    let rows = &f.rows;
    let deployments = rows.len() as u64;
    let count = |p: fn(&PopulationRow) -> bool| rows.iter().filter(|r| p(r)).count() as u64;
    let not_first: Vec<String> = rows
        .iter()
        .filter(|r| !r.approval_preceded_deployment)
        .map(|r| {
            format!(
                "deployment {} ({}): approval did not precede it — {}",
                r.deployment,
                r.change,
                r.exceptions.join("; ")
            )
        })
        .collect();
    let sod: Vec<String> = rows
        .iter()
        .filter(|r| !r.separation_of_duties_held)
        .map(|r| {
            format!(
                "deployment {} ({}): separation of duties not shown",
                r.deployment, r.change
            )
        })
        .collect();
    let incomplete: Vec<String> = rows
        .iter()
        .filter(|r| !r.evidence_complete)
        .map(|r| {
            format!(
                "deployment {} ({}): required evidence excused — {}",
                r.deployment,
                r.change,
                r.exceptions.join("; ")
            )
        })
        .collect();
    let with_exceptions: Vec<String> = rows
        .iter()
        .filter(|r| !r.exceptions.is_empty())
        .map(|r| {
            format!(
                "deployment {} ({}): {}",
                r.deployment,
                r.change,
                r.exceptions.join("; ")
            )
        })
        .collect();
    let signatures = kind(f, "approval.signed");
    let accesses = prefix(f, "access.") - kind(f, "access.denied");
    let population =
        "ward audit population --from … --to … --out DIR (docs/AUDIT.md), then ward verify population DIR --key KEY";
    let c = |framework: &str,
             id: &str,
             title: &str,
             evidence: &str,
             figures: Vec<(&str, u64)>,
             exceptions: Vec<String>,
             check: &str| ControlEvidence {
        framework: framework.into(),
        id: id.into(),
        title: title.into(),
        evidence: evidence.into(),
        figures: figures.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        exceptions,
        check: check.into(),
    };
    vec![
        c(
            "HIPAA Security Rule",
            "§164.312(b)",
            "Audit controls",
            "Every action on a change, its evidence and its deployments is an entry of an append-only, hash-chained log with signed checkpoints; reads of evidence, deployment output, bundles and populations are recorded as access events.",
            vec![
                ("log entries in the period", f.kinds.values().sum()),
                ("access events recorded", accesses),
                ("checkpoints published (log.checkpoint)", kind(f, "log.checkpoint")),
            ],
            vec![],
            "ward log export --out DIR, then ward verify DIR --key KEY (the whole log against its signed checkpoint); ward audit search --kind access.read",
        ),
        c(
            "HIPAA Security Rule",
            "§164.312(c)(1)",
            "Integrity",
            "Evidence, gate inputs and policies are stored by SHA-256 digest and bound to log entries; any change to an entry or a stored document fails verification.",
            vec![
                ("evidence attestations", kind(f, "attestation.added")),
                (
                    "gate decisions (input and policy stored by digest)",
                    kind(f, "gate.evaluated"),
                ),
            ],
            vec![],
            "ward verify DIR --key KEY; ward log fsck; ward verify bundle FILE --key KEY (any sampled bundle)",
        ),
        c(
            "HIPAA Security Rule",
            "§164.312(d)",
            "Person or entity authentication",
            "Every request is authenticated (API tokens, sessions of local users, OIDC); failures are counted and recorded; signatures need a fresh re-authentication.",
            vec![
                ("failed authentications recorded", kind(f, "auth.failed")),
                ("sessions started", kind(f, "session.started")),
                ("tokens created", kind(f, "token.created")),
                ("tokens revoked", kind(f, "token.revoked")),
                ("signing lockouts", kind(f, "reauth.locked")),
            ],
            vec![],
            "ward audit search --kind auth.failed",
        ),
        c(
            "21 CFR Part 11",
            "§11.10(e)",
            "Audit trails",
            "Computer-generated, time-stamped entries record who did what to each change, signature and deployment; earlier entries cannot be altered without failing verification.",
            vec![
                ("log entries in the period", f.kinds.values().sum()),
                ("changes opened", kind(f, "change.opened")),
                ("changes edited", kind(f, "change.updated")),
            ],
            vec![],
            "ward verify DIR --key KEY; ward bundle export --change ID --out FILE",
        ),
        c(
            "21 CFR Part 11",
            "§11.50",
            "Signature manifestations",
            "Each signature records the signer's printed name, the time and its meaning, and is shown with them in the change page, bundles and release notes.",
            vec![
                ("signatures in the period", signatures),
                ("with printed name, meaning and manifest", f.signatures_complete),
            ],
            if f.signatures_complete < signatures {
                vec![format!(
                    "{} signature(s) without a printed name, meaning or manifest digest",
                    signatures - f.signatures_complete
                )]
            } else {
                vec![]
            },
            "ward bundle export --change ID --out FILE (its report.html lists each signature)",
        ),
        c(
            "21 CFR Part 11",
            "§11.70",
            "Signature/record linking",
            "A signature binds the digest of the change's manifest (artifacts, evidence, policy); when what it bound changes, it becomes stale and no longer counts.",
            vec![
                ("signatures in the period", signatures),
                (
                    "stale signatures seen at gate decisions",
                    rows.iter()
                        .filter(|r| r.exceptions.iter().any(|e| e.contains("stale signature")))
                        .count() as u64,
                ),
            ],
            vec![],
            "ward verify bundle FILE --key KEY (approval manifests are checked against the entries)",
        ),
        c(
            "21 CFR Part 11",
            "§11.200",
            "Electronic signature components and controls",
            "Every signature re-authenticates the signer (password or a fresh OIDC login), never the request's own token; repeated failures lock signing.",
            f.signatures_by_reauth
                .iter()
                .map(|(k, v)| {
                    (
                        if k == "password" {
                            "signatures re-authenticated by password"
                        } else if k == "oidc" {
                            "signatures re-authenticated by OIDC"
                        } else {
                            "signatures re-authenticated otherwise"
                        },
                        *v,
                    )
                })
                .chain([("signing lockouts", kind(f, "reauth.locked"))])
                .collect(),
            vec![],
            "ward audit search --kind approval.signed (each payload names its reauth)",
        ),
        c(
            "21 CFR Part 11",
            "§11.300",
            "Controls for identification codes/passwords",
            "Local users' passwords are stored as Argon2 hashes beside the log; tokens are stored hashed, expire and are revoked; new users need a second administrator's activation.",
            vec![
                ("users added", kind(f, "user.added")),
                ("users activated", kind(f, "user.activated")),
                ("tokens revoked", kind(f, "token.revoked")),
            ],
            vec![],
            "ward audit search --kind user.added",
        ),
        c(
            "SOC 2",
            "CC8.1",
            "Change management",
            "Each production deployment records the gate decision it relied on; the population lists every one, read from the log, with whether approval preceded it, separation of duties held and the required evidence was complete, and says so where a decision or its input is missing.",
            vec![
                ("production deployments", deployments),
                (
                    "approval preceded deployment",
                    count(|r| r.approval_preceded_deployment),
                ),
                ("separation of duties held", count(|r| r.separation_of_duties_held)),
                ("required evidence complete", count(|r| r.evidence_complete)),
                ("deployments with exceptions", with_exceptions.len() as u64),
                ("waivers granted", kind(f, "waiver.granted")),
                ("break-glass invoked", kind(f, "breakglass.invoked")),
            ],
            with_exceptions.clone(),
            population,
        ),
        c(
            "SOC 2",
            "CC6.1",
            "Logical access",
            "Roles permit actions by one matrix (route × role), checked on every request; refusals are recorded.",
            vec![
                ("access denied (recorded)", kind(f, "access.denied")),
                ("failed authentications", kind(f, "auth.failed")),
            ],
            vec![],
            "ward audit search --kind access.denied; docs/CONTROLS.md (separation-of-duties matrix)",
        ),
        c(
            "NIST SP 800-53",
            "CM-3",
            "Configuration change control",
            "Changes are classified by risk when opened, approved under separation of duties, gated by policy-as-code and recorded with what they relied on.",
            vec![
                ("changes opened", kind(f, "change.opened")),
                ("gate decisions", kind(f, "gate.evaluated")),
                ("gate decisions that allowed", f.gate_allowed),
                ("production deployments", deployments),
            ],
            not_first.into_iter().chain(incomplete).collect(),
            population,
        ),
        c(
            "NIST SP 800-53",
            "CM-5",
            "Access restrictions for change",
            "Deploying needs the release-manager role (the route × role matrix); a party of a change never counts among its approvers; rules about who must sign are never waived, only bypassed by break-glass on an emergency change (listed as exceptions). The population flags deployments by a party of the change.",
            vec![
                ("separation of duties held", count(|r| r.separation_of_duties_held)),
                ("production deployments", deployments),
            ],
            sod,
            population,
        ),
        c(
            "NIST SP 800-53",
            "AU-9",
            "Protection of audit information",
            "The log is append-only and hash-chained under signed checkpoints; free text lives beside it and a purge needs two people and keeps every hash verifying.",
            vec![
                ("checkpoints published (log.checkpoint)", kind(f, "log.checkpoint")),
                ("documents purged", kind(f, "document.purged")),
            ],
            vec![],
            "ward log export --out DIR (tiles any C2SP verifier reads), then ward verify DIR --key KEY",
        ),
        c(
            "NIST SP 800-53",
            "AU-10",
            "Non-repudiation",
            "Signatures are bound to re-authenticated identities and to the manifest they signed; gate decisions replay from their stored input and policy.",
            vec![
                ("signatures in the period", signatures),
                ("gate decisions", kind(f, "gate.evaluated")),
            ],
            vec![],
            "ward gate replay ID; ward verify bundle FILE --key KEY (replays every decision)",
        ),
    ]
}

const DISCLAIMER: &str = "Ward provides evidence for these controls from its tamper-evident log. It does not certify compliance: the auditor judges the controls, with the population, samples and bundles as evidence.";

/// The report as Markdown (pure).
pub fn markdown(f: &Facts) -> String {
    let mut s = format!(
        "# Compliance evidence report\n\nPeriod: {} to {} · environments: {} · computed at checkpoint {}\n\n> {DISCLAIMER}\n\n",
        f.from,
        f.to,
        f.environments.join(", "),
        f.checkpoint_size
    );
    for c in controls(f) {
        s.push_str(&format!(
            "## {} {} — {}\n\n{}\n\n",
            c.framework, c.id, c.title, c.evidence
        ));
        for (k, v) in &c.figures {
            s.push_str(&format!("- {k}: **{v}**\n"));
        }
        if c.exceptions.is_empty() {
            s.push_str("\nExceptions: none.\n");
        } else {
            s.push_str(&format!("\nExceptions ({}):\n\n", c.exceptions.len()));
            for e in &c.exceptions {
                s.push_str(&format!("- {e}\n"));
            }
        }
        s.push_str(&format!("\nCheck: `{}`\n\n", c.check));
    }
    s.push_str(&format!("## Checkpoint\n\n```\n{}```\n", f.checkpoint));
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The report as one self-contained HTML page: no script, no external resource (pure).
pub fn html(f: &Facts) -> String {
    let mut s = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>Compliance evidence report</title><style>\
         body{font:14px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111}\
         h2{margin-top:2rem;border-bottom:1px solid #ccc}table{border-collapse:collapse}\
         td{padding:.15rem .8rem .15rem 0}td.n{text-align:right;font-weight:600}\
         .exc{background:#fff4e5;border-left:4px solid #e67e00;padding:.3rem .8rem}\
         .none{color:#2b7a0b}.note{background:#eef;padding:.5rem 1rem}code,pre{font-size:12px}\
         </style></head><body>\n",
    );
    s.push_str(&format!(
        "<h1>Compliance evidence report</h1>\n<p>Period: {} to {} · environments: {} · computed at checkpoint {}</p>\n<p class=\"note\">{}</p>\n",
        esc(&f.from),
        esc(&f.to),
        esc(&f.environments.join(", ")),
        f.checkpoint_size,
        esc(DISCLAIMER)
    ));
    for c in controls(f) {
        s.push_str(&format!(
            "<h2 id=\"{}\">{} {} — {}</h2>\n<p>{}</p>\n<table>\n",
            esc(&format!("{}-{}", c.framework, c.id).replace([' ', '§', '(', ')', '.'], "")),
            esc(&c.framework),
            esc(&c.id),
            esc(&c.title),
            esc(&c.evidence)
        ));
        for (k, v) in &c.figures {
            s.push_str(&format!("<tr><td>{}</td><td class=\"n\">{v}</td></tr>\n", esc(k)));
        }
        s.push_str("</table>\n");
        if c.exceptions.is_empty() {
            s.push_str("<p class=\"none\">Exceptions: none.</p>\n");
        } else {
            s.push_str(&format!(
                "<div class=\"exc\"><p>Exceptions ({}):</p><ul>\n",
                c.exceptions.len()
            ));
            for e in &c.exceptions {
                s.push_str(&format!("<li>{}</li>\n", esc(e)));
            }
            s.push_str("</ul></div>\n");
        }
        s.push_str(&format!("<p>Check: <code>{}</code></p>\n", esc(&c.check)));
    }
    s.push_str(&format!(
        "<h2>Checkpoint</h2>\n<pre>{}</pre>\n</body></html>\n",
        esc(&f.checkpoint)
    ));
    s
}

/// Gathers the facts of the period: the population (recorded as `access.population`), then one
/// pass over the log below the population's checkpoint counting the period's entries by kind.
/// The report itself is recorded as `access.report` first.
pub async fn facts(
    ledger: &Ledger,
    signer: &dyn NoteSigner,
    origin: &str,
    envs: &[crate::environment::Environment],
    by: &Identity,
    q: &PopulationQuery,
) -> Result<Facts, AppError> {
    let (from, to, _) = crate::audit::checked_query(envs, q)?;
    ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "access.report".into(),
            subject: "log:entries".into(),
            payload: serde_json::json!({ "report": "compliance", "query": crate::audit::recorded_query(q, from, to) }),
        })
        .await?;
    let p = crate::audit::population(ledger, signer, origin, envs, by, q).await?;
    let mut f = Facts {
        from: from.to_string(),
        to: to.to_string(),
        environments: p.manifest.environments.clone(),
        checkpoint_size: p.manifest.checkpoint_size,
        checkpoint: p.manifest.checkpoint.clone(),
        rows: p.rows,
        ..Facts::default()
    };
    let size = f.checkpoint_size;
    crate::bundle::scan(ledger, size, |env, _| {
        if !env.time.parse::<jiff::Timestamp>().is_ok_and(|t| t >= from && t < to) {
            return;
        }
        *f.kinds.entry(env.kind.clone()).or_default() += 1;
        let Payload::Inline(payload) = &env.payload else { return };
        let text = |k: &str| payload.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
        match env.kind.as_str() {
            "approval.signed" => {
                *f.signatures_by_reauth
                    .entry(text("reauth").unwrap_or("unknown").to_string())
                    .or_default() += 1;
                if text("printed_name").is_some() && text("meaning").is_some() && text("manifest_digest").is_some() {
                    f.signatures_complete += 1;
                }
            }
            "gate.evaluated" if payload.get("allow").and_then(Value::as_bool) == Some(true) => f.gate_allowed += 1,
            _ => {}
        }
    })
    .await?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        let row: PopulationRow = serde_json::from_value(serde_json::json!({
            "deployment": 42, "time": "2026-11-02T10:00:00Z", "environment": "prod", "tenants": [],
            "action": "deploy", "status": "succeeded", "change": "CHG-0000002a", "change_kind": "emergency",
            "ticket": null, "tier": "high", "artifacts": [], "executed_by": "user:rita", "gate_decision": 41,
            "approvals": [], "approval_preceded_deployment": false, "separation_of_duties_held": true,
            "evidence_complete": true, "exceptions": ["approvals.quorum excused by break-glass BG-1", "emergency change"]
        }))
        .unwrap();
        Facts {
            from: "2026-11-01T00:00:00Z".into(),
            to: "2026-12-01T00:00:00Z".into(),
            environments: vec!["prod".into()],
            kinds: BTreeMap::from([
                ("approval.signed".into(), 3),
                ("access.read".into(), 2),
                ("access.denied".into(), 1),
            ]),
            signatures_by_reauth: BTreeMap::from([("password".into(), 3)]),
            signatures_complete: 3,
            gate_allowed: 1,
            rows: vec![row],
            checkpoint_size: 50,
            checkpoint: "ward.example/log\n50\nAAAA\n\n— ward.example/log abc\n".into(),
        }
    }

    #[test]
    fn every_named_control_is_reported_with_its_figures_and_exceptions() {
        let cs = controls(&facts());
        let ids: Vec<&str> = cs.iter().map(|c| c.id.as_str()).collect();
        for id in [
            "§164.312(b)",
            "§164.312(c)(1)",
            "§164.312(d)",
            "§11.10(e)",
            "§11.50",
            "§11.70",
            "§11.200",
            "§11.300",
            "CC8.1",
            "CC6.1",
            "CM-3",
            "CM-5",
            "AU-9",
            "AU-10",
        ] {
            assert!(ids.contains(&id), "{id} missing");
        }
        let cc81 = cs.iter().find(|c| c.id == "CC8.1").unwrap();
        assert!(cc81.figures.contains(&("approval preceded deployment".into(), 0)));
        assert_eq!(cc81.exceptions.len(), 1);
        assert!(cc81.exceptions[0].contains("break-glass BG-1"));
        let b = cs.iter().find(|c| c.id == "§164.312(b)").unwrap();
        assert!(
            b.figures.contains(&("access events recorded".into(), 2)),
            "{:?}",
            b.figures
        );
    }

    #[test]
    fn the_html_page_runs_nothing_and_loads_nothing_and_escapes_what_it_shows() {
        let mut f = facts();
        f.rows[0].change = "<script>alert(1)</script>".into();
        let page = html(&f);
        assert!(!page.contains("<script"), "a change id is shown escaped");
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("src=") && !page.contains("href=") && !page.contains("@import"));
        assert!(page.contains("does not certify compliance"));
        let md = markdown(&f);
        assert!(md.contains("## SOC 2 CC8.1 — Change management") && md.contains("does not certify compliance"));
    }
}
