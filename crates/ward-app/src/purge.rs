//! The two-person purge of what should never have been recorded, and the search a privacy
//! officer makes before it (`ward purge`): the workflow over [`crate::documents`], which keeps
//! the texts beside the log. Apart from it so that reading and writing texts depends on no
//! re-authentication (the printed name a signature records is one of those texts).

use crate::documents::{
    PURGE_REQUESTS, PURGED, Texts, append, attested_file_only, environment_lock, environment_of_configuration,
};
use crate::error::AppError;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use ward_ledger::documents::{PURGE_REQUESTED_KIND, PURGED_KIND};
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{DocumentChanges, Ledger};

/// `ward purge DIGEST --reason TEXT` / `POST /api/v1/documents/{digest}/purge`.
#[derive(Clone, Debug, Default, serde::Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PurgeRequest {
    /// Why the document must go (stored as a document itself, guarded like any text).
    pub reason: String,
    /// A local user's password (re-authentication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A fresh OIDC token (re-authentication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauth_token: Option<String>,
}

/// What a purge step recorded.
#[derive(Clone, Debug, serde::Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PurgeOutcome {
    /// `sha256:<hex>` of the document.
    pub digest: String,
    /// `requested` (first person) or `purged` (second person: the document is gone).
    pub status: String,
    /// The entry this step appended.
    pub seq: u64,
    /// The `document.purge_requested` entry.
    pub request_seq: u64,
    /// Who requested the purge.
    pub requested_by: String,
    /// Who completed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purged_by: Option<String>,
    /// Whether the digest names raw evidence (a tool's file, a gate input, a configuration
    /// bundle) rather than a text document.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub raw_evidence: bool,
}

fn refusal(code: &'static str, reason: String, hint: &str) -> crate::reauth::Refused {
    crate::reauth::Refused {
        kind: crate::error::Kind::Forbidden,
        code,
        reason,
        hint: hint.into(),
    }
}

/// One step of a two-person purge of the document `digest` by `by`.
///
/// The first privacy officer's call records `document.purge_requested`; a second, different
/// person (privacy officer or admin; never the requester, never automation) completes it: the
/// document is deleted and `document.purged` (naming the request, both people) is appended in
/// one transaction, then the deleted bytes are scrubbed from the database files. Both steps
/// re-authenticate like a signature; refusals are recorded (`document.purge_refused`).
pub async fn purge(
    ledger: &Ledger,
    by: &ward_core::Identity,
    digest: &str,
    req: &PurgeRequest,
    cx: &crate::reauth::Context<'_>,
) -> Result<PurgeOutcome, AppError> {
    if !ward_ledger::documents::is_digest(digest) {
        return Err(AppError::invalid(
            "the document digest is malformed",
            "pass the digest after doc: in a reference, sha256:<64 lowercase hex>",
        ));
    }
    let reason = req.reason.trim();
    if reason.len() < 10 || req.reason.len() > 2000 || req.reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(AppError::invalid(
            "a purge needs a reason of 10 to 2000 characters without control characters",
            "give a reason saying why the text must go (without repeating it)",
        ));
    }
    crate::freetext::check("reason", &req.reason)?;
    // Bytes an environment's deployments could record as their configuration are deleted under
    // that environment's deployment lock, held until the deletion is appended, so no deployment
    // running meanwhile records them (it checked them before its target ran). Taken before the
    // purges' own lock — a deployment running there holds up this purge only (attack on the
    // first version, where it held up every purge) — and only for a completion by someone who
    // may complete it: the first pass stops there, and the step runs again holding it (the
    // review of `607dc68`: a request, or a caller with no purge role, took it too).
    match purge_step(ledger, by, digest, req, cx, None).await? {
        Step::Done(outcome) => Ok(outcome),
        Step::NeedsEnvironmentLock(env) => {
            let held = ledger.store().lock(&environment_lock(&env)).await?;
            // A deployment whose process lost its hold on the lock (a PostgreSQL session cut)
            // still runs: wait for it as for the lock.
            crate::deployments::unanswered_once_none_runs(ledger, &env).await?;
            match purge_step(ledger, by, digest, req, cx, Some(held)).await? {
                Step::Done(outcome) => Ok(outcome),
                Step::NeedsEnvironmentLock(_) => Err(AppError::internal("the purge's environment lock was not kept")),
            }
        }
    }
}

/// What one pass of [`purge`] came to.
enum Step {
    Done(PurgeOutcome),
    /// A completion of bytes shaped as this environment's effective configuration, by a caller
    /// who may complete it: run again holding the environment's deployment lock.
    NeedsEnvironmentLock(String),
}

/// One pass of [`purge`], under the purges' own lock; `held` is the environment's deployment
/// lock when the first pass asked for it.
async fn purge_step(
    ledger: &Ledger,
    by: &ward_core::Identity,
    digest: &str,
    req: &PurgeRequest,
    cx: &crate::reauth::Context<'_>,
    held: Option<ward_store::StoreLock>,
) -> Result<Step, AppError> {
    use crate::error::Kind;
    // One purge decision at a time, across processes.
    let _lock = ledger.store().lock("documents.purge").await?;
    if let Some(p) = ledger.store().projection(PURGED, digest).await? {
        // Finish a scrub an earlier completion could not (SQLite readers holding the WAL) — for
        // a person who may purge only: the scrub rewrites tables.
        if by.kind == ward_ledger::ActorKind::Human {
            let judged = crate::reauth::with_directory_roles(ledger, by).await?;
            if judged.roles.contains(&ward_core::Role::PrivacyOfficer) || judged.roles.contains(&ward_core::Role::Admin)
            {
                ledger.store().scrub_documents().await?;
            }
        }
        return Err(AppError::new(
            Kind::Conflict,
            "already_purged",
            format!(
                "those bytes were purged by entry {}",
                p.get("seq").and_then(Value::as_u64).unwrap_or(0)
            ),
            "nothing to do",
        ));
    }
    // A text document, or an attested file whose bytes the guard let in (raw evidence), or both
    // (the same bytes stored twice are deleted together).
    let in_documents = ledger.store().document(digest).await?.is_some();
    let evidence = ledger.store().evidence(digest).await?;
    let in_evidence = evidence.is_some();
    if !in_documents && !in_evidence {
        return Err(AppError::not_found(
            "no such document or raw evidence is stored",
            "copy the digest from the reference doc:sha256:<hex> in the event, or the attestation's id",
        ));
    }
    let what = match (in_documents, in_evidence) {
        (true, false) => Purging::Document,
        (false, _) => Purging::Evidence,
        (true, true) => Purging::Both,
    };
    if by.kind != ward_ledger::ActorKind::Human {
        return Err(AppError::new(
            Kind::Forbidden,
            "person_required",
            "a purge is a person's decision; automation identities cannot request or complete one",
            "a privacy officer requests or completes the purge as themselves",
        ));
    }
    let judged = crate::reauth::with_directory_roles(ledger, by).await?;
    let pending = ledger.store().projection(PURGE_REQUESTS, digest).await?;
    let requester = pending
        .as_ref()
        .and_then(|p| p.get("by").and_then(Value::as_str).map(str::to_owned));
    let refuse = |r: crate::reauth::Refused| {
        crate::reauth::record_refusal(
            ledger,
            by,
            "document.purge_refused",
            format!("document:{digest}"),
            json!({ "digest": digest }),
            r,
        )
    };
    match &requester {
        None if !judged.roles.contains(&ward_core::Role::PrivacyOfficer) => {
            return Err(refuse(refusal(
                "privacy_officer_required",
                format!("{} is not a privacy officer; only one may request a purge", by.id),
                "a privacy officer requests it; another privacy officer or an admin completes it",
            ))
            .await);
        }
        Some(r) if *r == by.id => {
            return Err(refuse(refusal(
                "second_person_required",
                format!("{} requested this purge and cannot also complete it", by.id),
                "another privacy officer or an admin completes it",
            ))
            .await);
        }
        Some(_)
            if !judged.roles.contains(&ward_core::Role::PrivacyOfficer)
                && !judged.roles.contains(&ward_core::Role::Admin) =>
        {
            return Err(refuse(refusal(
                "privacy_officer_required",
                format!("{} is neither a privacy officer nor an admin", by.id),
                "another privacy officer or an admin completes it",
            ))
            .await);
        }
        _ => {}
    }
    if pending.is_some()
        && held.is_none()
        && let Some(env) = evidence.as_deref().and_then(environment_of_configuration)
    {
        return Ok(Step::NeedsEnvironmentLock(env));
    }
    drop(evidence);
    if in_evidence {
        // Once the caller may purge (the pass over the log is not run for anyone else), and at
        // the completion too every record counts, made before the request or after it (attack
        // on `1391f59`: a promote recorded a predictable effective configuration while its
        // purge was pending, the completion deleted it, and the rollback to it failed).
        // Configurations are refused while a purge of their bytes is pending
        // (`refuse_pending_purge`), so a request is not blocked that way.
        attested_file_only(ledger, digest).await?;
    }
    let now = jiff::Timestamp::now().as_second();
    let proof = match cx
        .reauthenticate(ledger, by, req.password.as_deref(), req.reauth_token.as_deref(), now)
        .await?
    {
        Ok(p) => p,
        Err(r) => return Err(refuse(r).await),
    };
    let mut texts = Texts::new();
    let reason_ref = texts.put(&req.reason)?;
    match (pending, requester) {
        (Some(p), Some(requested_by)) => {
            let request_seq = p.get("seq").and_then(Value::as_u64).unwrap_or(0);
            let mut payload = json!({
                "digest": digest, "request": request_seq, "requested_by": requested_by,
                "purged_by": by.id, "printed_name": proof.printed_name_in(&mut texts)?, "reauth": proof.method,
                "reason": reason_ref,
            });
            what.record_in(&mut payload);
            proof.record_in(&mut payload);
            let mut changes = DocumentChanges {
                put: texts.put,
                ..Default::default()
            };
            if what != Purging::Evidence {
                changes.delete.push(digest.to_string());
            }
            if what != Purging::Document {
                changes.delete_evidence.push(digest.to_string());
            }
            let event = NewEvent {
                actor: by.actor(),
                kind: PURGED_KIND.into(),
                subject: format!("document:{digest}"),
                payload,
            };
            let receipt = ledger
                .append_with_documents(vec![event], &changes)
                .await?
                .pop()
                .ok_or_else(|| AppError::internal("append returned no receipt"))?;
            Ok(Step::Done(PurgeOutcome {
                digest: digest.into(),
                status: "purged".into(),
                seq: receipt.seq,
                request_seq,
                requested_by,
                purged_by: Some(by.id.clone()),
                raw_evidence: what != Purging::Document,
            }))
        }
        _ => {
            let mut payload = json!({
                "digest": digest, "requested_by": by.id, "printed_name": proof.printed_name_in(&mut texts)?,
                "reauth": proof.method, "reason": reason_ref,
            });
            what.record_in(&mut payload);
            proof.record_in(&mut payload);
            let event = NewEvent {
                actor: by.actor(),
                kind: PURGE_REQUESTED_KIND.into(),
                subject: format!("document:{digest}"),
                payload,
            };
            let receipt = append(ledger, event, texts).await?;
            Ok(Step::Done(PurgeOutcome {
                digest: digest.into(),
                status: "requested".into(),
                seq: receipt.seq,
                request_seq: receipt.seq,
                requested_by: by.id.clone(),
                purged_by: None,
                raw_evidence: what != Purging::Document,
            }))
        }
    }
}

/// What a purge deletes, as its entries say (`payload.of`): a text document (no `of`, the
/// shape purges always had), raw evidence (`"evidence"`), or the same bytes stored as both
/// (`"both"`). Verifiers excuse a missing file only by a purge of its kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purging {
    Document,
    Evidence,
    Both,
}

impl Purging {
    fn record_in(self, payload: &mut Value) {
        match self {
            Purging::Document => {}
            Purging::Evidence => payload["of"] = json!(ward_ledger::documents::OF_EVIDENCE),
            Purging::Both => payload["of"] = json!(ward_ledger::documents::OF_BOTH),
        }
    }
}

/// `ward purge --find TEXT` / `POST /api/v1/documents/find`: the text a privacy officer looks
/// for. Sent in a body, never a URL; not recorded (the entry says a search was made, not for
/// what) and never repeated.
#[derive(Clone, Debug, Default, serde::Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct FindRequest {
    /// The text to look for (4 to 1000 characters on one line; compared without case, NFKC, and
    /// also JSON-escaped once and twice).
    pub text: String,
}

/// A stored copy holding the text.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Holding {
    /// `sha256:<hex>`: the digest to purge.
    pub digest: String,
    /// `document` (a text beside the log) or `evidence` (a stored file: an attested tool's file,
    /// or bytes Ward keeps as its own record, which a purge refuses as `not_purgeable`).
    pub of: String,
    /// The entries that reference it (the first 20).
    pub entries: Vec<u64>,
}

/// Every stored copy of a text, below a log size.
#[derive(Clone, Debug, serde::Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Found {
    /// The entries searched: `0..size` (the search's own entry is the last).
    pub size: u64,
    /// Each copy, in the order the log first references it.
    pub holding: Vec<Holding>,
}

/// `s` as the search compares it: NFKC (a composed letter and a letter with a combining mark
/// are one) and lower-cased in every script.
fn folded(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkc().collect::<String>().to_lowercase()
}

/// The forms `needle` may be stored in: as typed, and JSON-escaped once and twice (a search's
/// query or a caller's payload is JSON inside a document; a report is JSON or a document
/// inside one), each folded.
fn sought_forms(needle: &str) -> Vec<String> {
    let escaped = |s: &str| {
        let q = serde_json::to_string(s).unwrap_or_default();
        q.get(1..q.len().saturating_sub(1)).unwrap_or_default().to_string()
    };
    let once = escaped(needle);
    let twice = escaped(&once);
    let mut forms = vec![folded(needle), folded(&once), folded(&twice)];
    forms.dedup();
    forms
}

/// Whether `haystack` (folded) holds any of `forms`.
fn holds(haystack: &[u8], forms: &[String]) -> bool {
    let text = folded(&String::from_utf8_lossy(haystack));
    forms.iter().any(|f| text.contains(f.as_str()))
}

/// Finds every stored copy of `req.text` — each text document and stored file (raw evidence)
/// an entry references — so that a purge takes them all: the same text is stored once per place
/// it was written (a ticket URL in the change and again in an auditor's search query; a test
/// name in the report and in its summary). A privacy officer's or an admin's read, as a person
/// (`person_required`, `privacy_officer_required`); recorded first as `access.documents_found`
/// with nothing of the text. One pass over the log and every referenced copy.
pub async fn find_holding(ledger: &Ledger, by: &ward_core::Identity, req: &FindRequest) -> Result<Found, AppError> {
    use crate::error::Kind;
    if by.kind != ward_ledger::ActorKind::Human {
        return Err(AppError::new(
            Kind::Forbidden,
            "person_required",
            "finding what to purge is a person's read; automation identities cannot make it",
            "a privacy officer or an admin searches as themselves",
        ));
    }
    let judged = crate::reauth::with_directory_roles(ledger, by).await?;
    if !judged.roles.contains(&ward_core::Role::PrivacyOfficer) && !judged.roles.contains(&ward_core::Role::Admin) {
        return Err(AppError::new(
            Kind::Forbidden,
            "privacy_officer_required",
            format!("{} is neither a privacy officer nor an admin", by.id),
            "a privacy officer or an admin searches for what to purge",
        ));
    }
    let needle = req.text.trim();
    let chars = needle.chars().count();
    if !(4..=1000).contains(&chars) || needle.chars().any(|c| c.is_control() && c != '\t') {
        return Err(AppError::invalid(
            "the text to find must be 4 to 1000 characters on one line",
            "give a distinctive part of the text (at least 4 characters)",
        ));
    }
    let forms = sought_forms(needle);
    ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "access.documents_found".into(),
            subject: "log:documents".into(),
            payload: json!({}),
        })
        .await?;
    let size = ledger.head().await?.size();
    // Digest → (of, entries), in the order first referenced.
    let mut order: Vec<String> = Vec::new();
    let mut seen: HashMap<String, Holding> = HashMap::new();
    let mut next = 0u64;
    while next < size {
        let chunk = ledger.store().entries(next, 2000.min(size - next)).await?;
        let Some(last) = chunk.last() else { break };
        next = last.seq + 1;
        for e in &chunk {
            let env = EventEnvelope::from_leaf(&e.leaf).map_err(AppError::internal)?;
            let read;
            let payload = match &env.payload {
                Payload::Inline(p) => p,
                Payload::Digest { sha256, .. } => {
                    let Some(blob) = ledger.store().blob(sha256).await? else {
                        continue;
                    };
                    read = serde_json::from_slice::<Value>(&blob).map_err(AppError::internal)?;
                    &read
                }
            };
            let mut docs = Vec::new();
            ward_ledger::documents::references(payload, &mut docs);
            let files = ward_ledger::bundle::evidence_references(&env.kind, payload);
            for (digest, of) in docs
                .into_iter()
                .map(|d| (d, "document"))
                .chain(files.into_iter().map(|d| (d, "evidence")))
            {
                let h = seen.entry(digest.clone()).or_insert_with(|| {
                    order.push(digest.clone());
                    Holding {
                        digest,
                        of: of.into(),
                        entries: Vec::new(),
                    }
                });
                if h.entries.len() < 20 && h.entries.last() != Some(&env.seq) {
                    h.entries.push(env.seq);
                }
            }
        }
    }
    let mut holding = Vec::new();
    for digest in order {
        let Some(h) = seen.remove(&digest) else { continue };
        let bytes = if h.of == "document" {
            ledger
                .store()
                .document(&digest)
                .await?
                .and_then(|b| ward_ledger::documents::text_of(&b))
                .map(String::into_bytes)
        } else {
            ledger.store().evidence(&digest).await?
        };
        if bytes.is_some_and(|b| holds(&b, &forms)) {
            holding.push(h);
        }
    }
    Ok(Found { size, holding })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a privacy officer types is found however the copy stores it: another case in any
    /// script, a composed or a combining accent, JSON-escaped once (a search's query inside a
    /// document) or twice (that document's bytes); a different text is not.
    #[test]
    fn a_sought_text_is_found_in_any_case_composition_or_json_escaping() {
        let forms = sought_forms("Dr \"Émile\" C:\\x");
        let stored = [
            "dr \"émile\" c:\\x".to_string(),
            "DR \"E\u{301}MILE\" C:\\X".to_string(),
            serde_json::to_string(&json!({ "q": "Dr \"Émile\" C:\\x" })).unwrap(),
            serde_json::to_string(
                &json!({ "text": serde_json::to_string(&json!({ "q": "Dr \"Émile\" C:\\x" })).unwrap() }),
            )
            .unwrap(),
        ];
        for s in &stored {
            assert!(holds(s.as_bytes(), &forms), "{s}");
        }
        for s in ["dr émile c:x", "Dr \"Emile\" C:\\x"] {
            assert!(!holds(s.as_bytes(), &forms), "{s}");
        }
    }
}
