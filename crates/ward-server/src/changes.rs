//! Change requests: what is about to change, classified by risk when it is opened.
//!
//! `change.opened` (subject `change:<id>`) records the change, its opener and its
//! [`Classification`] under the `[risk]` rules in force; `change.reclassified` records an
//! override of the tier, which needs an approver (never the opener) and a reason.

use crate::error::ApiError;
use crate::evidence;
use crate::identities::check_name;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use ward_core::Identity;
use ward_core::risk::{ChangeFacts, Classification, RiskRules, Tier};
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

const CHANGES: &str = "changes";
const OVERRIDES: &str = "change_overrides";
/// Attributes a change may carry.
pub const ATTRIBUTES: [&str; 5] = [
    "phi",
    "clinical_workflow",
    "schema_migration",
    "infrastructure",
    "internet_facing",
];
const KINDS: [&str; 3] = ["normal", "standard", "emergency"];
const MAX_ITEMS: usize = 10_000;

/// A commit in the change's range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    /// Commit id.
    pub sha: String,
    /// Author e-mail (or name) as git records it.
    pub author: String,
}

/// A change to open.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    /// One-line title.
    pub title: String,
    /// What and why.
    #[serde(default)]
    pub description: String,
    /// Ticket URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_url: Option<String>,
    /// `normal`, `standard` or `emergency`.
    #[serde(default = "normal")]
    pub kind: String,
    /// Registered artifact digests the change ships.
    #[serde(default)]
    pub artifacts: Vec<String>,
    /// Configuration versions (bundle digests or names) the change ships.
    #[serde(default)]
    pub config_versions: Vec<String>,
    /// Git range, e.g. `a1b2c3..d4e5f6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_range: Option<String>,
    /// Commits in the range, with their authors.
    #[serde(default)]
    pub commits: Vec<Commit>,
    /// Paths touched.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Attributes: any of phi, clinical_workflow, schema_migration, infrastructure,
    /// internet_facing.
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Integrations touched: ehr, fhir, hl7, billing, …
    #[serde(default)]
    pub integrations: Vec<String>,
    /// Target environments.
    #[serde(default)]
    pub environments: Vec<String>,
}

fn normal() -> String {
    "normal".into()
}

/// A tier override.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TierOverride {
    /// The tier set.
    pub tier: Tier,
    /// Why.
    pub reason: String,
    /// The approver who set it.
    pub by: String,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// An opened change.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Change {
    /// `CHG-<8 hex>`.
    pub id: String,
    /// What was asked.
    #[serde(flatten)]
    pub request: ChangeRequest,
    /// Who opened it.
    pub opener: String,
    /// The classification when opened.
    pub classification: Classification,
    /// The tier in force: the override's, else the classification's.
    #[serde(default = "low")]
    pub tier: Tier,
    /// The override, when an approver changed the tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_override: Option<TierOverride>,
    /// Log entry that opened it.
    pub seq: u64,
    /// When.
    pub time: String,
}

fn low() -> Tier {
    Tier::Low
}

/// A tier override request.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReclassifyRequest {
    /// The tier to set.
    pub tier: Tier,
    /// Why (recorded).
    pub reason: String,
}

/// Projects `change.opened` and `change.reclassified`.
pub struct ChangeProjector;

impl Projector for ChangeProjector {
    fn name(&self) -> &'static str {
        "changes"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        let Some(id) = p.get("id").and_then(Value::as_str) else {
            return vec![];
        };
        let mut doc = p.clone();
        if let Some(o) = doc.as_object_mut() {
            // An update carries the opening entry's seq and time; it keeps them.
            if !o.contains_key("seq") {
                o.insert("seq".into(), json!(e.seq));
                o.insert("time".into(), json!(e.time));
            }
        }
        match e.kind.as_str() {
            "change.opened" => vec![ProjectionOp::Put {
                collection: CHANGES.into(),
                key: id.into(),
                doc,
            }],
            // New content is classified afresh; an override of the old content no longer holds.
            "change.updated" => vec![
                ProjectionOp::Put {
                    collection: CHANGES.into(),
                    key: id.into(),
                    doc,
                },
                ProjectionOp::Delete {
                    collection: OVERRIDES.into(),
                    key: id.into(),
                },
            ],
            "change.reclassified" => vec![ProjectionOp::Put {
                collection: OVERRIDES.into(),
                key: id.into(),
                doc,
            }],
            _ => vec![],
        }
    }
}

fn text(name: &str, v: &str, max: usize) -> Result<(), ApiError> {
    if v.len() > max || v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(ApiError::invalid(
            format!("{name} must be at most {max} characters without control characters"),
            format!("shorten --{}", name.replace('_', "-")),
        ));
    }
    Ok(())
}

fn validate(req: &ChangeRequest) -> Result<(), ApiError> {
    if req.title.trim().is_empty() || req.title.contains('\n') {
        return Err(ApiError::invalid("a change needs a one-line title", "pass --title"));
    }
    text("title", &req.title, 200)?;
    text("description", &req.description, 20_000)?;
    if let Some(u) = &req.ticket_url {
        text("ticket", u, 2048)?;
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            return Err(ApiError::invalid(
                format!("ticket {u:?} is not a URL"),
                "pass the ticket's http(s) URL",
            ));
        }
    }
    if !KINDS.contains(&req.kind.as_str()) {
        return Err(ApiError::invalid(
            format!("unknown change kind {:?}", req.kind),
            "use normal, standard or emergency",
        ));
    }
    for a in &req.attributes {
        if !ATTRIBUTES.contains(&a.as_str()) {
            return Err(ApiError::invalid(
                format!("unknown attribute {a:?}"),
                format!("use any of: {}", ATTRIBUTES.join(", ")),
            ));
        }
    }
    for (what, list) in [
        ("artifacts", &req.artifacts),
        ("config_versions", &req.config_versions),
        ("paths", &req.paths),
        ("integrations", &req.integrations),
        ("environments", &req.environments),
    ] {
        if list.len() > MAX_ITEMS {
            return Err(ApiError::invalid(
                format!("more than {MAX_ITEMS} {what}"),
                "split the change",
            ));
        }
        for v in list {
            if v.is_empty() {
                return Err(ApiError::invalid(format!("an empty entry in {what}"), "remove it"));
            }
            text(what, v, 1024)?;
        }
    }
    for i in &req.integrations {
        check_name("integration", i)?;
    }
    for e in &req.environments {
        check_name("environment", e)?;
    }
    if req.commits.len() > MAX_ITEMS {
        return Err(ApiError::invalid(
            format!("more than {MAX_ITEMS} commits"),
            "split the change",
        ));
    }
    for c in &req.commits {
        text("commit", &c.sha, 64)?;
        text("author", &c.author, 320)?;
    }
    Ok(())
}

fn new_id() -> Result<String, ApiError> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(ApiError::internal)?;
    Ok(format!("CHG-{}", hex::encode(b)))
}

/// Validates a change's content, checks its artifacts are registered, classifies it, and builds
/// the event payload (`change.opened` and `change.updated` share it).
async fn checked_payload(
    ledger: &Ledger,
    rules: &RiskRules,
    req: &ChangeRequest,
    id: &str,
    opener: &str,
) -> Result<(Classification, Value), ApiError> {
    validate(req)?;
    for a in &req.artifacts {
        if evidence::artifact(ledger, a).await?.is_none() {
            return Err(ApiError::invalid(
                format!("artifact {a} is not registered"),
                "register it first with `ward artifact register`",
            ));
        }
    }
    let classification = rules.classify(&ChangeFacts {
        kind: &req.kind,
        attributes: &req.attributes,
        integrations: &req.integrations,
        paths: &req.paths,
    });
    let mut payload = serde_json::to_value(req).map_err(ApiError::internal)?;
    payload["id"] = json!(id);
    payload["opener"] = json!(opener);
    payload["classification"] = serde_json::to_value(&classification).map_err(ApiError::internal)?;
    payload["tier"] = json!(classification.tier);
    Ok((classification, payload))
}

/// Opens a change: validates it, checks its artifacts are registered, classifies it.
pub async fn open(ledger: &Ledger, by: &Identity, rules: &RiskRules, req: &ChangeRequest) -> Result<Change, ApiError> {
    let id = new_id()?;
    let (classification, payload) = checked_payload(ledger, rules, req, &id, &by.id).await?;
    let receipt = ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "change.opened".into(),
            subject: format!("change:{id}"),
            payload,
        })
        .await?;
    Ok(Change {
        id,
        request: req.clone(),
        opener: by.id.clone(),
        tier: classification.tier,
        classification,
        tier_override: None,
        seq: receipt.seq,
        time: receipt.time,
    })
}

/// New content for an open change (fields left out stay as they were).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeUpdate {
    /// The artifacts it now ships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<String>>,
    /// A new git range, with its commits and paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_range: Option<String>,
    /// Commits of the new range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits: Option<Vec<Commit>>,
    /// Paths touched now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
}

/// Updates a change's content (new commits, paths or artifacts): it is classified again, a
/// tier override lapses, and every signature over the old content becomes stale.
///
/// An update is always classified under the rules in force now, even when it changes no
/// content: when the `[risk]` rules changed since the change was classified (its
/// `rules_digest` differs, or the tier would), `change.updated` is recorded with the new
/// classification and `content_changed: false`. Nothing is recorded when neither the content
/// nor the classification would change.
pub async fn update(
    ledger: &Ledger,
    by: &Identity,
    rules: &RiskRules,
    id: &str,
    upd: &ChangeUpdate,
) -> Result<Change, ApiError> {
    let Some(old) = get(ledger, id).await? else {
        return Err(ApiError::not_found(
            format!("no change {id:?}"),
            "list changes with `ward change list`",
        ));
    };
    let mut req = old.request.clone();
    if let Some(a) = &upd.artifacts {
        req.artifacts = a.clone();
    }
    if upd.commit_range.is_some() {
        req.commit_range = upd.commit_range.clone();
    }
    if let Some(c) = &upd.commits {
        req.commits = c.clone();
    }
    if let Some(p) = &upd.paths {
        req.paths = p.clone();
    }
    let content_changed = req != old.request;
    let (classification, mut payload) = checked_payload(ledger, rules, &req, id, &old.opener).await?;
    if !content_changed
        && classification.tier == old.classification.tier
        && classification.rules_digest == old.classification.rules_digest
    {
        return Ok(old);
    }
    payload["updated_by"] = json!(by.id);
    payload["content_changed"] = json!(content_changed);
    payload["seq"] = json!(old.seq);
    payload["time"] = json!(old.time);
    ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "change.updated".into(),
            subject: format!("change:{id}"),
            payload,
        })
        .await?;
    Ok(Change {
        id: id.into(),
        request: req,
        opener: old.opener,
        tier: classification.tier,
        classification,
        tier_override: None,
        seq: old.seq,
        time: old.time,
    })
}

/// A change by id, with its override applied.
pub async fn get(ledger: &Ledger, id: &str) -> Result<Option<Change>, ApiError> {
    let Some(doc) = ledger.store().projection(CHANGES, id).await? else {
        return Ok(None);
    };
    let mut c: Change = serde_json::from_value(doc).map_err(ApiError::internal)?;
    if let Some(o) = ledger.store().projection(OVERRIDES, id).await? {
        let o: TierOverride = serde_json::from_value(o).map_err(ApiError::internal)?;
        c.tier = o.tier;
        c.tier_override = Some(o);
    }
    Ok(Some(c))
}

/// Every change, newest first.
pub async fn list(ledger: &Ledger) -> Result<Vec<Change>, ApiError> {
    let overrides: std::collections::HashMap<String, TierOverride> = ledger
        .store()
        .projection_list(OVERRIDES)
        .await?
        .into_iter()
        .map(|(k, v)| Ok((k, serde_json::from_value(v).map_err(ApiError::internal)?)))
        .collect::<Result<_, ApiError>>()?;
    let mut out: Vec<Change> = ledger
        .store()
        .projection_list(CHANGES)
        .await?
        .into_iter()
        .map(|(id, doc)| {
            let mut c: Change = serde_json::from_value(doc).map_err(ApiError::internal)?;
            if let Some(o) = overrides.get(&id) {
                c.tier = o.tier;
                c.tier_override = Some(o.clone());
            }
            Ok(c)
        })
        .collect::<Result<_, ApiError>>()?;
    out.sort_by_key(|c| std::cmp::Reverse(c.seq));
    Ok(out)
}

/// Overrides a change's tier: needs a reason, and the opener cannot do it.
pub async fn reclassify(ledger: &Ledger, by: &Identity, id: &str, req: &ReclassifyRequest) -> Result<Change, ApiError> {
    let Some(mut change) = get(ledger, id).await? else {
        return Err(ApiError::not_found(
            format!("no change {id:?}"),
            "list changes with `ward change list`",
        ));
    };
    if req.reason.trim().len() < 10 {
        return Err(ApiError::invalid(
            "an override needs a reason of at least 10 characters",
            "pass --reason explaining why the rules' tier is wrong",
        ));
    }
    text("reason", &req.reason, 2000)?;
    if by.id == change.opener {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "separation_of_duties",
            format!("{} opened {id} and cannot override its tier", by.id),
            "ask another approver",
        ));
    }
    let receipt = ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "change.reclassified".into(),
            subject: format!("change:{id}"),
            payload: json!({ "id": id, "tier": req.tier, "previous": change.tier, "reason": req.reason, "by": by.id }),
        })
        .await?;
    let o = TierOverride {
        tier: req.tier,
        reason: req.reason.clone(),
        by: by.id.clone(),
        seq: receipt.seq,
        time: receipt.time,
    };
    change.tier = o.tier;
    change.tier_override = Some(o);
    Ok(change)
}
