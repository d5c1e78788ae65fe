//! The bundle's report (pure): what a person reads, built only from what the bundle proves —
//! its entries, their payloads and the documents they reference — so `ward verify bundle` can
//! render it again and compare byte for byte. One model, two renderings: `report.html` (one
//! self-contained page, no script, no external resource, every text escaped) and `report.md`.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use ward_ledger::EventEnvelope;
use ward_ledger::bundle::Purged;
use ward_ledger::documents;

/// This renderer's name, recorded in the manifest (`report_renderer`). Change it whenever the
/// rendered bytes change (the golden test below fails until you do): a verifier re-renders only
/// reports of its own renderer, so an older bundle's report is never called forged.
/// (`/2`, 2026-12-07: a break-glass or a change's waiver recorded without the content it
/// covers, or whose change was edited after it, is called out.)
pub const RENDERER: &str = "ward.report/2";

/// What the report is made of: the verified content of a bundle.
pub struct Facts<'a> {
    /// The query that defined the bundle.
    pub query: &'a Value,
    /// When the bundle was made.
    pub created: &'a str,
    /// Log origin.
    pub origin: &'a str,
    /// Checkpoint size.
    pub size: u64,
    /// Checkpoint root (base64).
    pub root: &'a str,
    /// The entries, ascending.
    pub entries: &'a [EventEnvelope],
    /// Their payloads, by seq.
    pub payloads: &'a BTreeMap<u64, Value>,
    /// Text documents by digest.
    pub documents: &'a BTreeMap<String, Vec<u8>>,
    /// Documents purged by a bundled entry.
    pub purged: &'a [Purged],
}

enum Block {
    Heading(u8, String),
    Para(String),
    Table(Vec<&'static str>, Vec<Vec<String>>),
    List(Vec<String>),
    /// Exceptions: shown apart, never buried.
    Callout(String, Vec<String>),
}

/// The report as (`report.html`, `report.md`).
pub fn render(f: &Facts<'_>) -> (String, String) {
    let blocks = model(f);
    (html(&blocks), markdown(&blocks))
}

fn s(v: &Value, k: &str) -> String {
    match v.get(k) {
        Some(Value::String(x)) => x.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn list(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// A time kept as Unix seconds, as RFC 3339 UTC.
fn secs(v: &Value, k: &str) -> String {
    v.get(k)
        .and_then(Value::as_i64)
        .and_then(|t| jiff::Timestamp::from_second(t).ok())
        .map_or_else(String::new, |t| t.to_string())
}

/// A text as people wrote it: a document reference resolved, or why it cannot be.
fn text(f: &Facts<'_>, stored: &str) -> String {
    match documents::parse_reference(stored) {
        None => stored.to_string(),
        Some(d) => match f.documents.get(&d).and_then(|b| documents::text_of(b)) {
            Some(t) => t,
            None => match f.purged.iter().find(|p| p.digest == d) {
                Some(p) => format!("[purged by entry {}]", p.purged_by),
                None => "[document not in the bundle]".into(),
            },
        },
    }
}

fn summary_line(v: &Value) -> String {
    let Some(o) = v.as_object() else {
        return String::new();
    };
    let mut parts = Vec::new();
    for (k, x) in o {
        match x {
            Value::Number(_) | Value::Bool(_) => parts.push(format!("{k}: {x}")),
            Value::String(t) if t.len() <= 80 && documents::parse_reference(t).is_none() => {
                parts.push(format!("{k}: {t}"))
            }
            Value::Object(m) if m.values().all(Value::is_number) && !m.is_empty() => {
                let inner: Vec<String> = m.iter().map(|(a, b)| format!("{a} {b}")).collect();
                parts.push(format!("{k}: {}", inner.join(", ")));
            }
            _ => {}
        }
    }
    parts.join("; ")
}

fn model(f: &Facts<'_>) -> Vec<Block> {
    let mut b = Vec::new();
    let query: Vec<String> = f
        .query
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k} {}", v.as_str().unwrap_or(&v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    b.push(Block::Heading(1, format!("Evidence bundle: {}", query.join(", "))));
    b.push(Block::Para(format!(
        "Made {} from log {} at its signed checkpoint of {} entries (root {}). This report restates {} log entries; \
         check them, their proofs and every file with `ward verify bundle FILE --key KEY` or `python3 tools/verify_bundle.py FILE --key KEY` (docs/BUNDLE.md).",
        f.created,
        f.origin,
        f.size,
        f.root,
        f.entries.len()
    )));
    let by_kind = |k: &'static str| f.entries.iter().filter(move |e| e.kind == k);
    let p = |e: &EventEnvelope| f.payloads.get(&e.seq).cloned().unwrap_or(Value::Null);

    let changes: BTreeSet<String> = f
        .entries
        .iter()
        .filter_map(|e| e.subject.strip_prefix("change:").map(str::to_string))
        .filter(|c| c.starts_with("CHG-"))
        .collect();
    for change in &changes {
        let mine = |e: &&EventEnvelope| e.subject == format!("change:{change}") || s(&p(e), "change") == *change;
        b.push(Block::Heading(2, format!("Change {change}")));
        // Exceptions first.
        let mut exceptions = Vec::new();
        // What a signature's manifest binds: the change's content, tier and evidence.
        let updates: Vec<u64> = f
            .entries
            .iter()
            .filter(|e| {
                (mine(e) && matches!(e.kind.as_str(), "change.updated" | "change.reclassified"))
                    || e.kind == "attestation.added"
            })
            .map(|e| e.seq)
            .collect();
        let deployments: Vec<&EventEnvelope> = by_kind("deployment.recorded").filter(|e| mine(e)).collect();
        let first_deploy = deployments.first().map(|e| e.seq);
        // What a change's waiver and a break-glass are bound to: the change's content, tier
        // included (not its evidence).
        let edits: Vec<u64> = f
            .entries
            .iter()
            .filter(|e| mine(e) && matches!(e.kind.as_str(), "change.updated" | "change.reclassified"))
            .map(|e| e.seq)
            .collect();
        // The live rule (`Waiver::holds_over`) read from history, as for a break-glass below.
        let waiver_bound = |e: &EventEnvelope, v: &Value| -> String {
            if v.get("change").and_then(Value::as_str) != Some(change.as_str()) {
                return String::new();
            }
            match (v.get("covers"), edits.iter().find(|u| **u > e.seq)) {
                (None, _) => " — VOID: it names no content it was granted on (recorded before a change's waiver was bound to its content), so it excuses nothing".to_string(),
                (Some(_), Some(edit)) => format!(
                    " — the change was edited after it (entry {edit}): from then on it excuses nothing unless the change holds exactly the content it was granted on"
                ),
                _ => String::new(),
            }
        };
        for e in by_kind("waiver.granted") {
            let v = p(e);
            exceptions.push(format!(
                "Waiver {} of {} granted by {} ({}) at {} (entry {}), expires {}: {} — compensating control: {}{}",
                s(&v, "id"),
                list(&v, "rules").join(", "),
                s(&v, "approver"),
                text(f, &s(&v, "printed_name")),
                e.time,
                e.seq,
                secs(&v, "expires_secs"),
                text(f, &s(&v, "justification")),
                text(f, &s(&v, "compensating_control")),
                waiver_bound(e, &v)
            ));
        }
        let opener = f
            .entries
            .iter()
            .find(|e| e.kind == "change.opened" && mine(e))
            .map(|e| s(&p(e), "opener"))
            .unwrap_or_default();
        let with_place = |e: &EventEnvelope, stale: Option<bool>| {
            let mut v = p(e);
            v["seq"] = serde_json::json!(e.seq);
            v["time"] = serde_json::json!(e.time);
            if let Some(st) = stale {
                v["stale"] = serde_json::json!(st);
            }
            v
        };
        // The identities the change's commit authors stood for (recorded with them since
        // 2026-12-07; older entries hold only addresses, which need the installation's rules)
        // and its editors. An unmapped author's identity is kept as a keyed fingerprint (tenth
        // session): read from its address where the bundle holds it (the local part's
        // identity, as recorded), else not known offline.
        let mut authors_unknown = false;
        let mut authors_keyed = false;
        let mut addresses: Vec<String> = Vec::new();
        let authors: Vec<String> = f
            .entries
            .iter()
            .rfind(|e| mine(e) && matches!(e.kind.as_str(), "change.opened" | "change.updated"))
            .map(p)
            .map(|v| {
                let mut identities: Vec<String> = Vec::new();
                for a in v["authors"].as_array().into_iter().flatten() {
                    if let Some(id) = a["identity"].as_str().filter(|i| !i.is_empty()) {
                        identities.push(id.to_string());
                    }
                    let keyed = a["keys"].as_array().is_some_and(|k| !k.is_empty());
                    authors_keyed |= keyed;
                    let stored = a["address"].as_str().unwrap_or_default();
                    let held = documents::parse_reference(stored)
                        .and_then(|d| f.documents.get(&d))
                        .and_then(|b| documents::text_of(b));
                    match held {
                        Some(t) if keyed => {
                            let address = crate::identifier::author_address(&t);
                            identities.push(ward_core::approval::ApprovalRules::default().author_identity(&address));
                            addresses.push(address);
                        }
                        None if keyed => authors_unknown = true,
                        _ => {}
                    }
                }
                identities.into_iter().chain(list(&v, "editors")).collect()
            })
            .unwrap_or_default();
        let no_rules = ward_core::approval::ApprovalRules::default();
        for e in by_kind("breakglass.invoked").filter(|e| mine(e)) {
            let v = p(e);
            let bg: Option<crate::exceptions::Breakglass> = serde_json::from_value(with_place(e, None)).ok();
            // The live rule (`Breakglass::judge`) read from history: a record naming no content
            // bypasses nothing, and one whose change was edited after it covers only what it was
            // broken on (Ward compares the content itself: an edit reverted exactly restores it).
            let bound = match (&bg, edits.iter().find(|u| **u > e.seq)) {
                (Some(b), _) if b.covers.is_none() => {
                    " — VOID: it names no content it was broken on (recorded before a break-glass was bound to its change's content), so it bypasses nothing".to_string()
                }
                (Some(_), Some(edit)) => format!(
                    " — the change was edited after it (entry {edit}): from then on it bypasses nothing unless the change holds exactly the content it was broken on"
                ),
                _ => String::new(),
            };
            // The live rule (`exceptions::review_closes`), over what the bundle holds.
            let review = bg.as_ref().and_then(|bg| {
                by_kind("approval.signed").filter(|a| mine(a)).find(|a| {
                    let stale = updates.iter().any(|u| *u > a.seq);
                    serde_json::from_value::<crate::approvals::Approval>(with_place(a, Some(stale))).is_ok_and(|ap| {
                        crate::exceptions::review_closes(bg, &ap, &opener, &authors)
                            && !addresses
                                .iter()
                                .any(|a| ward_core::approval::is_author(a, &ap.signer, &no_rules))
                    })
                })
            });
            exceptions.push(format!(
                "Break-glass {} on {} by {}{} at {} (entry {}), until {}: {}{bound} — retrospective review: {}",
                s(&v, "id"),
                list(&v, "rules").join(", "),
                s(&v, "by"),
                match s(&v, "printed_name") {
                    n if n.is_empty() => String::new(),
                    n => format!(" ({})", text(f, &n)),
                },
                e.time,
                e.seq,
                secs(&v, "until_secs"),
                text(f, &s(&v, "justification")),
                match (review, &bg) {
                    (Some(r), _) if authors_unknown => format!(
                        "closed by {} at {} (entry {}); an author's address is not in this bundle (purged), so whether the reviewer wrote a commit of the change is not checked offline (Ward checked it when the review was signed)",
                        s(&p(r), "signer"),
                        r.time,
                        r.seq
                    ),
                    (Some(r), _) if authors_keyed => format!(
                        "closed by {} at {} (entry {}); checked offline against the authors' addresses this bundle holds, not against an identity an [approvals] git_authors mapping gave them (Ward checked those when the review was signed)",
                        s(&p(r), "signer"),
                        r.time,
                        r.seq
                    ),
                    (Some(r), _) => format!("closed by {} at {} (entry {})", s(&p(r), "signer"), r.time, r.seq),
                    (None, Some(_)) => format!("NOT CLOSED in this bundle (due {})", secs(&v, "review_due_secs")),
                    (None, None) => "unknown (the entry is not a break-glass Ward can read)".into(),
                }
            ));
        }
        for e in by_kind("approval.signed").filter(|e| mine(e)) {
            if updates.iter().any(|u| *u > e.seq) {
                exceptions.push(format!(
                    "Stale signature: {} signed {} at {} (entry {}) before the change or its evidence changed (entry {})",
                    s(&p(e), "signer"),
                    s(&p(e), "meaning"),
                    e.time,
                    e.seq,
                    updates.iter().find(|u| **u > e.seq).copied().unwrap_or_default()
                ));
            }
            if first_deploy.is_some_and(|d| e.seq > d) && s(&p(e), "meaning") != "retrospective-review" {
                exceptions.push(format!(
                    "Signature after the first deployment: {} signed {} at {} (entry {})",
                    s(&p(e), "signer"),
                    s(&p(e), "meaning"),
                    e.time,
                    e.seq
                ));
            }
        }
        for e in by_kind("change.reclassified").filter(|e| mine(e)) {
            exceptions.push(format!(
                "Tier overridden to {} by {} at {} (entry {}): {}",
                s(&p(e), "tier"),
                e.actor.id,
                e.time,
                e.seq,
                text(f, &s(&p(e), "reason"))
            ));
        }
        for e in &deployments {
            let v = p(e);
            if s(&v, "status") != "succeeded" {
                exceptions.push(format!(
                    "Deployment to {} {} at {} (entry {})",
                    s(&v, "environment"),
                    s(&v, "status"),
                    e.time,
                    e.seq
                ));
            }
        }
        for e in f.entries.iter().filter(|e| e.kind == "deployment.recorded") {
            let v = p(e);
            if let Some(of) = v.get("rollback_of").and_then(Value::as_u64)
                && deployments.iter().any(|d| d.seq == of)
            {
                exceptions.push(format!(
                    "Rolled back: deployment {of} to {} reverted by entry {} at {} by {}",
                    s(&v, "environment"),
                    e.seq,
                    e.time,
                    s(&v, "executed_by")
                ));
            }
        }
        for e in f.entries.iter().filter(|e| e.kind == "rollout.rolled_back") {
            exceptions.push(format!(
                "Rollout {} rolled back automatically or by an operator at {} (entry {})",
                s(&p(e), "id"),
                e.time,
                e.seq
            ));
        }
        for e in f.entries.iter().filter(|e| e.kind.ends_with(".refused") && mine(e)) {
            exceptions.push(format!(
                "Refused: {} by {} at {} (entry {}): {}",
                e.kind,
                e.actor.id,
                e.time,
                e.seq,
                s(&p(e), "code")
            ));
        }
        for pd in f.purged {
            let what = if pd.evidence { "Raw evidence" } else { "Document" };
            exceptions.push(format!("{what} {} purged by entry {}", pd.digest, pd.purged_by));
        }
        if exceptions.is_empty() {
            b.push(Block::Callout("Exceptions".into(), vec!["None recorded.".into()]));
        } else {
            b.push(Block::Callout("Exceptions".into(), exceptions));
        }

        // What shipped, tier and why.
        if let Some(o) = f.entries.iter().find(|e| e.kind == "change.opened" && mine(e)) {
            let v = p(o);
            let latest = f
                .entries
                .iter()
                .rfind(|e| mine(e) && matches!(e.kind.as_str(), "change.opened" | "change.updated"))
                .map(p)
                .unwrap_or(Value::Null);
            let tier = f
                .entries
                .iter()
                .rfind(|e| {
                    mine(e)
                        && matches!(
                            e.kind.as_str(),
                            "change.opened" | "change.updated" | "change.reclassified"
                        )
                })
                .map(|e| s(&p(e), "tier"))
                .unwrap_or_default();
            let class = latest.get("classification").cloned().unwrap_or(Value::Null);
            b.push(Block::Heading(3, "What shipped".into()));
            b.push(Block::Table(
                vec!["Field", "Value"],
                vec![
                    vec!["Title".into(), text(f, &s(&latest, "title"))],
                    vec!["Description".into(), text(f, &s(&latest, "description"))],
                    vec!["Ticket".into(), text(f, &s(&latest, "ticket_url"))],
                    vec!["Kind".into(), s(&latest, "kind")],
                    vec![
                        "Opened".into(),
                        format!("{} by {} (entry {})", o.time, s(&v, "opener"), o.seq),
                    ],
                    vec!["Artifacts".into(), list(&latest, "artifacts").join(", ")],
                    vec![
                        "Commits".into(),
                        latest
                            .get("commits")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len)
                            .to_string(),
                    ],
                    vec![
                        "Paths".into(),
                        list(&latest, "paths")
                            .iter()
                            .map(|p| text(f, p))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ],
                    vec!["Tier".into(), tier],
                    vec!["Tier because".into(), list(&class, "matched").join("; ")],
                    vec!["Tags".into(), list(&class, "tags").join(", ")],
                ],
            ));
        }
        let arts: Vec<Vec<String>> = by_kind("artifact.registered")
            .map(|e| {
                let v = p(e);
                vec![
                    s(&v, "digest"),
                    s(&v, "service"),
                    text(f, &s(&v, "version")),
                    s(&v, "builder"),
                    format!("{} (entry {})", e.time, e.seq),
                ]
            })
            .collect();
        if !arts.is_empty() {
            b.push(Block::Table(
                vec!["Artifact", "Service", "Version", "Builder", "Registered"],
                arts,
            ));
        }
        // Evidence.
        b.push(Block::Heading(3, "Evidence".into()));
        let ev: Vec<Vec<String>> = by_kind("attestation.added")
            .map(|e| {
                let v = p(e);
                vec![
                    s(&v, "type"),
                    text(f, &s(&v, "file_name")),
                    summary_line(v.get("summary").unwrap_or(&Value::Null)),
                    s(&v, "added_by"),
                    format!("{} (entry {})", e.time, e.seq),
                    match f.purged.iter().find(|x| x.evidence && x.digest == s(&v, "id")) {
                        Some(x) => format!("[purged by entry {}]", x.purged_by),
                        None => ward_ledger::bundle::evidence_path(&s(&v, "id")),
                    },
                ]
            })
            .collect();
        if ev.is_empty() {
            b.push(Block::Para("No evidence attached.".into()));
        } else {
            b.push(Block::Table(
                vec!["Type", "File", "Summary", "Added by", "When", "In this bundle"],
                ev,
            ));
        }
        // Signatures.
        b.push(Block::Heading(3, "Signatures".into()));
        let sigs: Vec<Vec<String>> = by_kind("approval.signed")
            .filter(|e| mine(e))
            .map(|e| {
                let v = p(e);
                vec![
                    format!("{} ({})", text(f, &s(&v, "printed_name")), s(&v, "signer")),
                    s(&v, "meaning"),
                    s(&v, "decision"),
                    format!("{} (entry {})", e.time, e.seq),
                    s(&v, "reauth"),
                    s(&v, "manifest_digest"),
                    text(f, &s(&v, "comment")),
                ]
            })
            .collect();
        if sigs.is_empty() {
            b.push(Block::Para("No signatures.".into()));
        } else {
            b.push(Block::Table(
                vec![
                    "Signer",
                    "Meaning",
                    "Decision",
                    "When",
                    "Re-authenticated by",
                    "Signed manifest",
                    "Comment",
                ],
                sigs,
            ));
        }
        // Gate decisions.
        b.push(Block::Heading(3, "Gate decisions".into()));
        let gates: Vec<&EventEnvelope> = by_kind("gate.evaluated").filter(|e| mine(e)).collect();
        if gates.is_empty() {
            b.push(Block::Para("No gate decision.".into()));
        }
        for e in gates {
            let v = p(e);
            let allow = v.get("allow").and_then(Value::as_bool) == Some(true);
            b.push(Block::Para(format!(
                "Entry {} at {}: {} for {}, checked by {}; policy {} and input {} are in this bundle.",
                e.seq,
                e.time,
                if allow { "ALLOWED" } else { "BLOCKED" },
                s(&v, "environment"),
                s(&v, "checked_by"),
                s(&v, "policy_digest"),
                s(&v, "input_digest")
            )));
            let mut items: Vec<String> = v
                .get("reasons")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| {
                    format!(
                        "{}: {} (fix: {})",
                        s(r, "rule"),
                        text(f, &s(r, "message")),
                        text(f, &s(r, "fix"))
                    )
                })
                .collect();
            items.extend(
                v.get("waived")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|r| {
                        format!(
                            "{}: {} — excused by {}",
                            s(r, "rule"),
                            text(f, &s(r, "message")),
                            s(r, "waiver")
                        )
                    }),
            );
            if !items.is_empty() {
                b.push(Block::List(items));
            }
        }
        // Deployments and rollbacks.
        b.push(Block::Heading(3, "Deployments and rollbacks".into()));
        let deps: Vec<Vec<String>> = f
            .entries
            .iter()
            .filter(|e| e.kind == "deployment.recorded")
            .map(|e| {
                let v = p(e);
                let targets: Vec<String> = v
                    .get("targets")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|t| {
                        let tenant = s(t, "tenant");
                        format!(
                            "{} {}",
                            if tenant.is_empty() {
                                "(environment)".into()
                            } else {
                                tenant
                            },
                            s(t, "status")
                        )
                    })
                    .collect();
                vec![
                    format!("{} (entry {})", e.time, e.seq),
                    s(&v, "environment"),
                    s(&v, "change"),
                    targets.join(", "),
                    s(&v, "status"),
                    s(&v, "gate_decision"),
                    list(&v, "approvals").join(", "),
                    list(&v, "excused_by").join(", "),
                    s(&v, "executed_by"),
                    s(&v, "rollback_of"),
                ]
            })
            .collect();
        if deps.is_empty() {
            b.push(Block::Para("Not deployed.".into()));
        } else {
            b.push(Block::Table(
                vec![
                    "When",
                    "Environment",
                    "Change",
                    "Tenants",
                    "Status",
                    "Gate decision",
                    "Approvals relied on",
                    "Excused by",
                    "Executed by",
                    "Rollback of",
                ],
                deps,
            ));
        }
        let rollouts: Vec<String> = f
            .entries
            .iter()
            .filter(|e| e.kind.starts_with("rollout."))
            .map(|e| {
                let v = p(e);
                let mut line = format!("{} {} {} (entry {})", e.time, e.kind, s(&v, "id"), e.seq);
                for k in ["step", "verdict", "reason", "operator_reason"] {
                    let x = s(&v, k);
                    if !x.is_empty() {
                        line.push_str(&format!(", {k}: {}", text(f, &x)));
                    }
                }
                line
            })
            .collect();
        if !rollouts.is_empty() {
            b.push(Block::Heading(3, "Rollout steps".into()));
            b.push(Block::List(rollouts));
        }
    }
    b.push(Block::Heading(2, "Every entry".into()));
    b.push(Block::Table(
        vec!["Entry", "Time", "Kind", "Subject", "Actor"],
        f.entries
            .iter()
            .map(|e| {
                vec![
                    e.seq.to_string(),
                    e.time.clone(),
                    e.kind.clone(),
                    e.subject.clone(),
                    e.actor.id.clone(),
                ]
            })
            .collect(),
    ));
    b.push(Block::Para(
        "Ward provides evidence for change-management controls; it does not certify compliance.".into(),
    ));
    b
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(t: &str) -> String {
    let mut o = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c if c.is_control() && c != '\n' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// Escapes text for Markdown (inline, table cells included): no markup, link or HTML survives.
pub fn escape_md(t: &str) -> String {
    let mut o = String::with_capacity(t.len());
    // A line-start marker (heading, list, quote) only matters first; the rest anywhere.
    if t.starts_with(['#', '-', '+', '='])
        || t.split_once(". ")
            .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    {
        o.push('\\');
    }
    for c in t.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '<' | '>' | '~' | '&' => {
                o.push('\\');
                o.push(c);
            }
            '\n' | '\r' => o.push(' '),
            c if c.is_control() => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:80em;color:#111}\
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #bbb;padding:.25em .5em;\
vertical-align:top;text-align:left;word-break:break-word}th{background:#eee}\
.callout{border:2px solid #b45309;background:#fff7ed;padding:.5em 1em;margin:1em 0}\
.callout h4{margin:.2em 0;color:#b45309}";

fn html(blocks: &[Block]) -> String {
    let title = blocks
        .iter()
        .find_map(|b| match b {
            Block::Heading(1, t) => Some(t.as_str()),
            _ => None,
        })
        .unwrap_or("Evidence bundle");
    let mut o = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape_html(title)
    );
    for b in blocks {
        match b {
            Block::Heading(n, t) => o.push_str(&format!("<h{n}>{}</h{n}>\n", escape_html(t))),
            Block::Para(t) => o.push_str(&format!("<p>{}</p>\n", escape_html(t))),
            Block::List(items) => {
                o.push_str("<ul>\n");
                for i in items {
                    o.push_str(&format!("<li>{}</li>\n", escape_html(i)));
                }
                o.push_str("</ul>\n");
            }
            Block::Callout(t, items) => {
                o.push_str(&format!("<div class=\"callout\">\n<h4>{}</h4>\n<ul>\n", escape_html(t)));
                for i in items {
                    o.push_str(&format!("<li>{}</li>\n", escape_html(i)));
                }
                o.push_str("</ul>\n</div>\n");
            }
            Block::Table(head, rows) => {
                o.push_str("<table>\n<tr>");
                for h in head {
                    o.push_str(&format!("<th>{}</th>", escape_html(h)));
                }
                o.push_str("</tr>\n");
                for r in rows {
                    o.push_str("<tr>");
                    for c in r {
                        o.push_str(&format!("<td>{}</td>", escape_html(c)));
                    }
                    o.push_str("</tr>\n");
                }
                o.push_str("</table>\n");
            }
        }
    }
    o.push_str("</body>\n</html>\n");
    o
}

fn markdown(blocks: &[Block]) -> String {
    let mut o = String::new();
    for b in blocks {
        match b {
            Block::Heading(n, t) => o.push_str(&format!("{} {}\n\n", "#".repeat(usize::from(*n)), escape_md(t))),
            Block::Para(t) => o.push_str(&format!("{}\n\n", escape_md(t))),
            Block::List(items) => {
                for i in items {
                    o.push_str(&format!("- {}\n", escape_md(i)));
                }
                o.push('\n');
            }
            Block::Callout(t, items) => {
                o.push_str(&format!("> **{}**\n>\n", escape_md(t)));
                for i in items {
                    o.push_str(&format!("> - {}\n", escape_md(i)));
                }
                o.push('\n');
            }
            Block::Table(head, rows) => {
                o.push_str(&format!(
                    "| {} |\n|{}\n",
                    head.iter().map(|h| escape_md(h)).collect::<Vec<_>>().join(" | "),
                    " --- |".repeat(head.len())
                ));
                for r in rows {
                    o.push_str(&format!(
                        "| {} |\n",
                        r.iter().map(|c| escape_md(c)).collect::<Vec<_>>().join(" | ")
                    ));
                }
                o.push('\n');
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use ward_ledger::{Actor, ActorKind, Payload};

    fn entry(seq: u64, kind: &str, payload: Value) -> (EventEnvelope, Value) {
        (
            EventEnvelope {
                actor: Actor {
                    id: "user:x".into(),
                    kind: ActorKind::Human,
                },
                kind: kind.into(),
                payload: Payload::Inline(payload.clone()),
                seq,
                subject: "change:CHG-1".into(),
                time: format!("2026-12-03T00:00:0{seq}.000000Z"),
                v: 1,
            },
            payload,
        )
    }

    fn review(seq: u64, signer: &str) -> (EventEnvelope, Value) {
        entry(
            seq,
            "approval.signed",
            json!({"change": "CHG-1", "signer": signer, "printed_name": signer, "meaning": "retrospective-review",
                   "decision": "approved", "comment": "", "reauth": "password",
                   "manifest": ward_core::approval::Manifest::default(), "manifest_digest": "sha256:00"}),
        )
    }

    fn rendered(log: &[(EventEnvelope, Value)]) -> String {
        rendered_both(log).0
    }

    fn rendered_both(log: &[(EventEnvelope, Value)]) -> (String, String) {
        let entries: Vec<EventEnvelope> = log.iter().map(|(e, _)| e.clone()).collect();
        let payloads: BTreeMap<u64, Value> = log.iter().map(|(e, p)| (e.seq, p.clone())).collect();
        let (html, md) = render(&Facts {
            query: &json!({"change": "CHG-1"}),
            created: "2026-12-03T00:00:00Z",
            origin: "log",
            size: 9,
            root: "AAAA",
            entries: &entries,
            payloads: &payloads,
            documents: &BTreeMap::new(),
            purged: &[],
        });
        assert!(!md.is_empty());
        (html, md)
    }

    /// The rendered bytes are pinned: a change to them must come with a new [`RENDERER`], or
    /// verifiers of this version would call older reports forged.
    #[test]
    fn the_renderer_is_pinned_to_its_output() {
        let log = vec![
            entry(
                0,
                "change.opened",
                json!({"id": "CHG-1", "opener": "user:olga", "artifacts": ["sha256:aa"], "tier": "high",
                "title": "Reminders <b>", "classification": {"tier": "high", "tags": ["phi"], "matched": ["phi -> high (phi)"]}}),
            ),
            entry(
                1,
                "attestation.added",
                json!({"id": "sha256:bb", "type": "junit", "file_name": "r.xml", "summary": {"tests": 3, "failed": 0}, "added_by": "ci"}),
            ),
            review(2, "user:sam"),
            entry(
                3,
                "gate.evaluated",
                json!({"change": "CHG-1", "environment": "prod", "allow": false, "checked_by": "user:rita",
                "reasons": [{"rule": "evidence.sbom", "message": "no SBOM", "fix": "attach one"}], "waived": [],
                "policy_digest": "sha256:cc", "input_digest": "sha256:dd"}),
            ),
            entry(
                4,
                "deployment.recorded",
                json!({"change": "CHG-1", "environment": "prod", "status": "failed",
                "targets": [{"tenant": "a", "status": "failed"}], "gate_decision": 3, "approvals": ["user:sam"], "executed_by": "user:rita"}),
            ),
        ];
        let (html, md) = rendered_both(&log);
        assert_eq!(
            ward_ledger::hash::sha256(format!("{html}{md}").as_bytes()).to_hex(),
            "238df9ee9cfd994d6bbe0d071b9bdefdcc4b3bda5f2e7263a2df4be60e3f8e88",
            "the report's bytes changed: give RENDERER a new version and pin the new digest"
        );
    }

    #[test]
    fn break_glass_is_called_out_and_closed_only_by_an_independent_review() {
        let mut log = vec![
            entry(
                0,
                "change.opened",
                json!({"id": "CHG-1", "opener": "user:olga", "artifacts": [], "tier": "high"}),
            ),
            entry(
                1,
                "breakglass.invoked",
                json!({"id": "BG-1", "change": "CHG-1", "rules": ["approvals."], "justification": "EHR feed down",
                       "duration_secs": 3600, "by": "user:rita", "printed_name": "Rita", "until_secs": 10,
                       "review_due_secs": 20, "reauth_credential": "sha256:ab"}),
            ),
            review(2, "user:rita"),
            review(3, "user:olga"),
        ];
        let html = rendered(&log);
        assert!(
            html.contains("Break-glass BG-1 on approvals. by user:rita (Rita)"),
            "{html}"
        );
        assert!(
            html.contains("NOT CLOSED in this bundle"),
            "the invoker and the opener do not close it: {html}"
        );
        log.push(review(4, "user:sam"));
        let html = rendered(&log);
        assert!(html.contains("closed by user:sam"), "{html}");
        // Recorded without the content it covers: it bypasses nothing, and the report says so.
        assert!(html.contains("VOID: it names no content"), "{html}");
    }

    /// A break-glass whose change was edited after it is called out: the deployment it would
    /// have excused covered content nobody broke the glass for (an attacker swapped the artifact
    /// after the glass was broken; the live gate refused it, and an auditor reading the bundle
    /// offline must see why).
    #[test]
    fn a_break_glass_whose_change_was_edited_after_it_is_marked_in_the_report() {
        let mut log = vec![
            entry(
                0,
                "change.opened",
                json!({"id": "CHG-1", "opener": "user:olga", "artifacts": [], "tier": "high"}),
            ),
            entry(
                1,
                "breakglass.invoked",
                json!({"id": "BG-1", "change": "CHG-1", "rules": ["approvals."], "justification": "EHR feed down",
                       "duration_secs": 3600, "by": "user:rita", "printed_name": "Rita", "until_secs": 10,
                       "review_due_secs": 20, "reauth_credential": "sha256:ab", "covers": "sha256:cd"}),
            ),
            entry(
                2,
                "attestation.added",
                json!({"id": "sha256:bb", "type": "junit", "file_name": "r.xml", "summary": {"tests": 3, "failed": 0}, "added_by": "ci"}),
            ),
        ];
        let html = rendered(&log);
        assert!(
            !html.contains("VOID"),
            "bound, and evidence added since does not void it: {html}"
        );
        assert!(!html.contains("edited after it"), "{html}");
        log.push(entry(
            3,
            "change.updated",
            json!({"id": "CHG-1", "artifacts": ["sha256:ee"], "tier": "high"}),
        ));
        let html = rendered(&log);
        assert!(html.contains("the change was edited after it (entry 3)"), "{html}");
    }

    /// A change's waiver is bound to the content it was granted on, as a break-glass is: the
    /// report says when it names none or the change was edited after it; an artifact's waiver
    /// names no content and is not marked.
    #[test]
    fn a_changes_waiver_recorded_without_content_or_edited_after_is_marked_in_the_report() {
        let waiver = |seq: u64, extra: Value| {
            let mut v = json!({"id": format!("WVR-{seq}"), "change": "CHG-1", "rules": ["evidence."], "approver": "user:q",
                "printed_name": "Q", "justification": "lab", "compensating_control": "smoke", "expires_secs": 99,
                "owner": "user:r", "expires_in_secs": 60});
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            entry(seq, "waiver.granted", v)
        };
        let mut log = vec![
            entry(
                0,
                "change.opened",
                json!({"id": "CHG-1", "opener": "user:olga", "artifacts": [], "tier": "high"}),
            ),
            waiver(1, json!({"covers": "sha256:cd"})),
            waiver(2, json!({})),
            waiver(3, json!({"change": null, "artifact": "sha256:aa"})),
        ];
        let html = rendered(&log);
        assert_eq!(
            html.matches("VOID: it names no content it was granted on").count(),
            1,
            "{html}"
        );
        assert!(!html.contains("edited after it"), "{html}");
        log.push(entry(
            4,
            "change.updated",
            json!({"id": "CHG-1", "artifacts": ["sha256:ee"], "tier": "high"}),
        ));
        let html = rendered(&log);
        assert_eq!(
            html.matches("the change was edited after it (entry 4): from then on it excuses nothing")
                .count(),
            1,
            "{html}"
        );
    }

    #[test]
    fn html_escapes_markup_and_quotes() {
        assert_eq!(
            escape_html("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
    }

    #[test]
    fn markdown_escapes_links_tables_and_html() {
        let e = escape_md("[x](http://evil) | <img> *b*\nnext");
        assert!(!e.contains("[x]("), "{e}");
        assert!(!e.contains(" | "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        assert!(e.contains("\\<img\\>"), "{e}");
    }
}
