//! Approvals and rejections of a change, as electronic signatures.
//!
//! Signing needs re-authentication in the same request: a local user's password, or a fresh
//! OIDC token (issued at most [`REAUTH_MAX_AGE_SECS`] ago) for the same identity. The record
//! (`approval.signed`, subject `change:<id>`) holds the signer, the printed name frozen at
//! signing, the meaning, the decision, the comment, the UTC time (the log entry's) and the
//! [`Manifest`] it covers. Every refused attempt is recorded as `approval.refused` with its
//! reason, before the refusal is returned. Re-authentication is [`crate::reauth`]'s; separation
//! of duties is [`changes::check_decider`] (opener, authors, editors, classifiers, automation).

use crate::changes::{self, Change};
use crate::error::AppError;
use crate::error::Kind;
use crate::evidence;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ward_core::Identity;
use ward_core::approval::{ApprovalRules, Manifest, digest_json};
use ward_core::risk::RiskRules;
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

const APPROVALS: &str = "approvals";
pub use crate::reauth::REAUTH_MAX_AGE_SECS;

/// A signature to make.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// Meaning (one of `[approvals] meanings`; default authored, reviewed, approved,
    /// qa-approved, release-authority).
    pub meaning: String,
    /// Comment.
    #[serde(default)]
    pub comment: String,
    /// Record a rejection instead of an approval.
    #[serde(default)]
    pub reject: bool,
    /// Re-authentication of a local user: the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Re-authentication through OIDC: a token issued within the last five minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauth_token: Option<String>,
    /// The manifest the signer reviewed (`sha256:`, as the approvals view or the web UI's sign
    /// page showed it): when given, the signature is refused (409 `stale_manifest`) unless the
    /// change's manifest is still exactly this one — evidence added or the change edited
    /// since the signer looked means they have not seen what they would sign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
}

/// A recorded signature.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Approval {
    /// Change id.
    pub change: String,
    /// Signer identity.
    pub signer: String,
    /// The signer's printed name, as it was at signing.
    pub printed_name: String,
    /// Meaning.
    pub meaning: String,
    /// `approved` or `rejected`.
    pub decision: String,
    /// Comment.
    pub comment: String,
    /// How the signer re-authenticated: `password` or `oidc`.
    pub reauth: String,
    /// The signer's roles at signing.
    #[serde(default)]
    pub signer_roles: Vec<String>,
    /// What the signature covers.
    pub manifest: Manifest,
    /// `sha256:` of the manifest.
    pub manifest_digest: String,
    /// The manifest no longer matches the change (something bound changed): shown, not counted.
    #[serde(default)]
    pub stale: bool,
    /// The signer is now a party of the change (an editor, an author, a classifier since the
    /// signature): shown, never counted, and signing again is refused — not a stale signature
    /// to renew (set by [`view`]; the gate judges it on its own).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_party: bool,
    /// Log entry.
    pub seq: u64,
    /// When (UTC).
    pub time: String,
}

impl Approval {
    /// Whether this signature counts toward the change's quorum, as the gate counts it: an
    /// approval over the current content, by someone not a party of the change, whose meaning
    /// is not a sign-off only some roles give (`[approvals.meaning_roles]`, a privacy review).
    /// [`view`] and [`judged`] set `stale` and `by_party`; a signature read otherwise counts
    /// as current.
    pub fn counts_toward_quorum(&self, rules: &ApprovalRules) -> bool {
        self.decision == "approved" && !self.stale && !self.by_party && rules.roles_for(&self.meaning).is_none()
    }
}

/// Projects `approval.signed` (key `<change>/<seq>`, so a change's signatures are one prefix).
pub struct ApprovalProjector;

impl Projector for ApprovalProjector {
    fn name(&self) -> &'static str {
        "approvals"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        match (e.kind.as_str(), p.get("change").and_then(Value::as_str)) {
            ("approval.signed", Some(change)) => {
                let mut doc = p.clone();
                if let Some(o) = doc.as_object_mut() {
                    o.insert("seq".into(), json!(e.seq));
                    o.insert("time".into(), json!(e.time));
                }
                vec![ProjectionOp::Put {
                    collection: APPROVALS.into(),
                    key: format!("{change}/{:020}", e.seq),
                    doc,
                }]
            }
            _ => vec![],
        }
    }
}

/// The manifest a signature on `change` would cover now.
pub async fn manifest(
    ledger: &Ledger,
    change: &Change,
    risk: &RiskRules,
    rules: &ApprovalRules,
) -> Result<Manifest, AppError> {
    let mut attestations = Vec::new();
    for a in change.request.artifacts.iter().chain(std::iter::once(&change.id)) {
        attestations.extend(evidence::attestations(ledger, a).await?.into_iter().map(|x| x.id));
    }
    Ok(manifest_of(change, attestations, risk, rules))
}

/// The manifest of `change` given the ids of the attestations on its artifacts.
pub fn manifest_of(change: &Change, attestations: Vec<String>, risk: &RiskRules, rules: &ApprovalRules) -> Manifest {
    Manifest {
        change: content_digest(change),
        artifacts: change.request.artifacts.clone(),
        attestations,
        policy: digest_json(&json!({ "risk": risk, "approvals": rules })),
    }
}

/// `sha256:` of a change's content — its id, its request (title, kind, artifacts, targets,
/// paths, commits …) and the tier in force: a manifest's `change`, and what a break-glass is
/// bound to (an edit after the glass was broken ends its bypass).
pub fn content_digest(change: &Change) -> String {
    digest_json(&json!({ "id": change.id, "request": change.request, "tier": change.tier }))
}

/// A change's signatures, oldest first, each marked stale or not against `current`.
pub async fn list(ledger: &Ledger, change: &str, current: &str) -> Result<Vec<Approval>, AppError> {
    ledger
        .store()
        .projection_prefix(APPROVALS, &format!("{change}/"))
        .await?
        .into_iter()
        .map(|(_, doc)| {
            let mut a: Approval = serde_json::from_value(doc).map_err(AppError::internal)?;
            a.stale = a.manifest_digest != current;
            Ok(a)
        })
        .collect()
}

/// A change's signatures and the manifest a new one would cover.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApprovalsView {
    /// The manifest a signature would cover now.
    pub manifest: Manifest,
    /// Its digest; signatures over another digest are stale.
    pub manifest_digest: String,
    /// Every signature, oldest first, stale ones marked.
    pub approvals: Vec<Approval>,
}

/// The approvals view of a change.
pub async fn view(
    ledger: &Ledger,
    id: &str,
    risk: &RiskRules,
    rules: &ApprovalRules,
) -> Result<ApprovalsView, AppError> {
    let change = changes::get(ledger, id).await?.ok_or_else(|| {
        AppError::not_found(
            format!("no change {}", crate::identifier::shown(id)),
            "list the changes",
        )
    })?;
    judged(ledger, &change, risk, rules).await
}

/// The approvals view of `change` as read (its authors' addresses read, as [`changes::list`]
/// gives it): each signature judged stale against the manifest a signature would cover now,
/// and by a party or not.
async fn judged(
    ledger: &Ledger,
    change: &Change,
    risk: &RiskRules,
    rules: &ApprovalRules,
) -> Result<ApprovalsView, AppError> {
    let manifest = manifest(ledger, change, risk, rules).await?;
    let manifest_digest = manifest.digest();
    let mut approvals = list(ledger, &change.id, &manifest_digest).await?;
    mark_parties(&mut approvals, change, rules);
    Ok(ApprovalsView {
        manifest,
        manifest_digest,
        approvals,
    })
}

/// [`judged`]'s signatures alone, read once; a change without any is answered without its
/// manifest being read (what delivery metrics ask of every change).
pub async fn signatures_judged(
    ledger: &Ledger,
    change: &Change,
    risk: &RiskRules,
    rules: &ApprovalRules,
) -> Result<Vec<Approval>, AppError> {
    let mut approvals = list(ledger, &change.id, "").await?;
    if approvals.is_empty() {
        return Ok(approvals);
    }
    let current = manifest(ledger, change, risk, rules).await?.digest();
    for a in &mut approvals {
        a.stale = a.manifest_digest != current;
    }
    mark_parties(&mut approvals, change, rules);
    Ok(approvals)
}

/// Marks the signatures whose signer is now a party of `change` (`by_party`).
fn mark_parties(approvals: &mut [Approval], change: &Change, rules: &ApprovalRules) {
    let parties = change.parties();
    for a in approvals {
        a.by_party = parties.includes(&a.signer, rules);
    }
}

/// The rules a signature is judged by: what the manifest binds (risk, approval rules) and which
/// checklist items the change's tags ask for (`[controls.checklist]`).
#[derive(Clone, Copy)]
pub struct SigningRules<'a> {
    /// `[risk]`.
    pub risk: &'a RiskRules,
    /// `[approvals]`.
    pub approvals: &'a ApprovalRules,
    /// `[controls.checklist]`: tag → the sign-offs it asks for.
    pub checklist: &'a std::collections::BTreeMap<String, Vec<String>>,
}

/// The collection of `breakglass.invoked` (projected by `exceptions`): key `<change>/<id>`.
pub(crate) const BREAKGLASS: &str = "breakglass";

/// Whether `who` broke the glass on change `change` (any of its break-glass invocations): such a
/// person is not independent of its retrospective review (`exceptions::review_closes`), so their
/// `retrospective-review` signature is refused outright rather than recorded to close nothing.
async fn invoked_breakglass(ledger: &Ledger, change: &str, who: &str) -> Result<bool, AppError> {
    let docs = ledger
        .store()
        .projection_prefix(BREAKGLASS, &format!("{change}/"))
        .await?;
    Ok(docs
        .iter()
        .any(|(_, doc)| doc.get("by").and_then(serde_json::Value::as_str) == Some(who)))
}

/// Signs (approves or rejects) a change as `by`, after re-authentication and separation of
/// duties.
pub async fn sign(
    ledger: &Ledger,
    by: &Identity,
    change_id: &str,
    req: &SignRequest,
    policy: &SigningRules<'_>,
    cx: &crate::reauth::Context<'_>,
) -> Result<Approval, AppError> {
    let SigningRules {
        risk,
        approvals: rules,
        checklist,
    } = *policy;
    let Some(change) = changes::get(ledger, change_id).await? else {
        return Err(AppError::not_found(
            format!("no change {}", crate::identifier::shown(change_id)),
            "list the changes",
        ));
    };
    if !rules.meanings.contains(&req.meaning) {
        let near = crate::environment::closest_name(rules.meanings.iter().map(String::as_str), &req.meaning);
        return Err(AppError::invalid(
            format!("unknown meaning {}", crate::identifier::shown(&req.meaning)),
            match near {
                Some(m) => format!("did you mean {m}? (meanings: {})", rules.meanings.join(", ")),
                None => format!("use one of: {}", rules.meanings.join(", ")),
            },
        ));
    }
    if req.comment.len() > 4000 || req.comment.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::invalid(
            "a comment is at most 4000 characters without control characters",
            "shorten the comment",
        ));
    }
    crate::freetext::check("comment", &req.comment)?;
    let refused = |refused: crate::reauth::Refused| {
        crate::reauth::record_refusal(
            ledger,
            by,
            "approval.refused",
            format!("change:{change_id}"),
            json!({ "change": change_id, "meaning": req.meaning }),
            refused,
        )
    };
    let judged = crate::reauth::with_directory_roles(ledger, by).await?;
    // Separation of duties with every role the directory knows of the signer (an admin stays an
    // admin whatever token they present); the meaning with the roles presented (a token narrowed
    // to privacy-officer signs only what a privacy officer may).
    let asked = ward_core::approval::checklist_for(checklist, &change.classification.tags);
    if let Err(r) = changes::check_decider(&judged, &change, rules)
        .and_then(|()| ward_core::approval::check_meaning(by, &req.meaning, &asked, rules))
    {
        return Err(refused(crate::reauth::Refused {
            kind: Kind::Forbidden,
            code: r.code,
            reason: r.reason,
            hint: match r.code {
                "meaning_needs_role" => format!(
                    "a person with the role it needs signs change {} with meaning {}",
                    change.id, req.meaning
                ),
                "meaning_not_asked" => match ward_core::approval::meanings_for(by, &asked, rules).first() {
                    Some(m) => format!("sign change {} with meaning {m} instead", change.id),
                    None => another_person_signs(
                        &change.id,
                        asked
                            .first()
                            .or(rules.meanings.first())
                            .map_or("approved", String::as_str),
                    ),
                },
                _ => another_person_signs(&change.id, &req.meaning),
            },
        })
        .await);
    }
    // The person who broke the glass does not review it (CONTROLS rule 7): refused, not
    // recorded as a signature that would close nothing.
    if req.meaning == "retrospective-review" && invoked_breakglass(ledger, &change.id, &by.id).await? {
        return Err(refused(crate::reauth::Refused {
            kind: Kind::Forbidden,
            code: "invoker_cannot_review",
            reason: format!("{} broke the glass on this change and cannot also review it", by.id),
            hint: another_person_signs(&change.id, &req.meaning),
        })
        .await);
    }
    // Re-authentication: the signer proves, in this request, who they are.
    let now = jiff::Timestamp::now().as_second();
    let proof = match cx
        .reauthenticate(ledger, by, req.password.as_deref(), req.reauth_token.as_deref(), now)
        .await?
    {
        Ok(p) => p,
        Err(r) => return Err(refused(r).await),
    };
    let (reauth, printed_name) = (proof.method, proof.printed_name.clone());
    let manifest = manifest(ledger, &change, risk, rules).await?;
    let manifest_digest = manifest.digest();
    if let Some(reviewed) = req.manifest_digest.as_deref().filter(|m| *m != manifest_digest) {
        return Err(refused(crate::reauth::Refused {
            kind: Kind::Conflict,
            code: "stale_manifest",
            reason: match ward_evidence::digest::parse_digest(reviewed) {
                // Only a well-formed digest is repeated back, never other input.
                Ok(_) => format!(
                    "the change's manifest is now {manifest_digest}, not {reviewed} that was reviewed: evidence was added or the change was edited since"
                ),
                Err(_) => format!("the change's manifest is now {manifest_digest}, not the one reviewed"),
            },
            hint: "review the change again, then sign what it is now".into(),
        })
        .await);
    }
    let decision = if req.reject { "rejected" } else { "approved" };
    // A signature bound to the manifest its signer reviewed (the web UI's form; any caller
    // passing `manifest_digest`) is made once: the same form submitted again is refused rather
    // than recorded twice. Without `manifest_digest` a repeat is recorded and counts once, as
    // it always has.
    let already = req.manifest_digest.is_some()
        && list(ledger, &change.id, &manifest_digest)
            .await?
            .into_iter()
            .any(|a| !a.stale && a.signer == by.id && a.meaning == req.meaning && a.decision == decision);
    if already {
        return Err(AppError::new(
            Kind::Conflict,
            "already_signed",
            format!(
                "{} has already {decision} this change with the meaning {} over its current manifest",
                by.id, req.meaning
            ),
            "nothing to do: the signature is recorded once",
        ));
    }
    let mut texts = crate::documents::Texts::new();
    let comment = texts.put(&req.comment)?;
    let payload = json!({
        "change": change.id,
        "signer": by.id,
        "printed_name": proof.printed_name_in(&mut texts)?,
        "meaning": req.meaning,
        "decision": decision,
        "comment": comment,
        "reauth": reauth,
        "signer_roles": by.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "manifest": manifest,
        "manifest_digest": manifest_digest,
    });
    let mut payload = payload;
    proof.record_in(&mut payload);
    let receipt = crate::documents::append(
        ledger,
        NewEvent {
            actor: by.actor(),
            kind: "approval.signed".into(),
            subject: format!("change:{}", change.id),
            payload,
        },
        texts,
    )
    .await?;
    Ok(Approval {
        change: change.id,
        signer: by.id.clone(),
        printed_name,
        meaning: req.meaning.clone(),
        decision: decision.into(),
        comment: req.comment.clone(),
        reauth: reauth.into(),
        signer_roles: by.roles.iter().map(|r| r.as_str().to_string()).collect(),
        manifest,
        manifest_digest,
        stale: false,
        by_party: false,
        seq: receipt.seq,
        time: receipt.time,
    })
}

/// The hint of a refusal under separation of duties: who signs instead (the CLI names the
/// command, see its hint table).
fn another_person_signs(change: &str, meaning: &str) -> String {
    format!("separation of duties: another person signs change {change} with meaning {meaning}")
}
