//! Free text beside the log.
//!
//! A leaf holds structure; people's free text (titles, descriptions, comments, reasons,
//! justifications) is stored as a salted document beside the log ([`ward_ledger::documents`])
//! and the payload holds its reference `doc:sha256:<hex>` in the text's place. [`Texts`] makes
//! the documents of one event and [`append`] writes them in the event's transaction; [`shown`]
//! puts the texts back into what the API and the CLI print (a purged one reads
//! `[purged by entry N]`). Internal readers (the gate input, signature manifests) keep the
//! references, so a purge never changes what a decision or a signature was computed over.
//!
//! Old logs with the text inline keep reading: a plain string is shown as it is.

use crate::error::AppError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;
use ward_ledger::documents::{PURGE_REQUESTED_KIND, PURGED_KIND, parse_reference, reference};
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{DocumentChanges, Ledger, ProjectionOp, Projector, Receipt};

/// Projection: purged documents, `<digest>` → `{seq, request}`.
pub const PURGED: &str = "purged_documents";
/// Projection: pending purge requests, `<digest>` → `{seq, by}`.
pub const PURGE_REQUESTS: &str = "purge_requests";

/// The documents one event references, to be written with it.
#[derive(Debug, Default)]
pub struct Texts {
    pub(crate) put: Vec<(String, Vec<u8>)>,
}

impl Texts {
    /// Nothing yet.
    pub fn new() -> Texts {
        Texts::default()
    }

    /// Stores `text` as a new salted document and returns its reference. An empty text stays
    /// empty (there is nothing to hide). Text that merely looks like a reference is stored like
    /// any other: a caller can never make an event reference a document Ward did not store.
    pub fn put(&mut self, text: &str) -> Result<String, AppError> {
        if text.is_empty() {
            return Ok(String::new());
        }
        // The log guard sees only the reference: the text itself is judged here (handlers check
        // their fields first, naming them; this is the backstop).
        crate::freetext::check("text", text)?;
        self.put_judged(text)
    }

    /// Stores `text` that the evidence guard has already judged under the installation's
    /// policy (a tool's text inside an attestation summary: test names, reasons, commands):
    /// judged once, by the policy that admitted the file, not again by the stricter default.
    pub fn put_judged(&mut self, text: &str) -> Result<String, AppError> {
        if text.is_empty() {
            return Ok(String::new());
        }
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(AppError::internal)?;
        let (digest, bytes) = ward_ledger::documents::make(text, salt);
        // Larger than an export's verifier reads: every later export would fail to verify.
        if bytes.len() > ward_ledger::documents::MAX_DOCUMENT {
            return Err(AppError::invalid(
                format!(
                    "a text of {} bytes is longer than a document beside the log may be ({} bytes)",
                    text.len(),
                    ward_ledger::documents::MAX_DOCUMENT - 256
                ),
                "shorten the text, or split it into several",
            ));
        }
        self.put.push((digest.clone(), bytes));
        Ok(reference(&digest))
    }

    /// A value carried forward from the stored record (a change update): a reference read
    /// from the log stays as it is; inline text of an older entry is stored now.
    pub fn carry(&mut self, stored: &str) -> Result<String, AppError> {
        if is_reference(stored) {
            return Ok(stored.to_string());
        }
        self.put(stored)
    }

    /// An optional text.
    pub fn put_opt(&mut self, text: Option<&str>) -> Result<Option<String>, AppError> {
        text.map(|t| self.put(t)).transpose()
    }

    /// Whether no document was made.
    pub fn is_empty(&self) -> bool {
        self.put.is_empty()
    }
}

/// Whether `s` is a document reference (not text to guard or store again).
pub fn is_reference(s: &str) -> bool {
    parse_reference(s).is_some()
}

/// Appends `event` with the documents it references, in the same transaction; it joins the
/// group commit like any other append.
pub async fn append(ledger: &Ledger, event: NewEvent, texts: Texts) -> Result<Receipt, AppError> {
    Ok(ledger.append_documented(event, texts.put).await?)
}

/// Appends `events` with the documents they reference, in one transaction of their own.
pub async fn append_all(ledger: &Ledger, events: Vec<NewEvent>, texts: Texts) -> Result<Vec<Receipt>, AppError> {
    if texts.is_empty() {
        return Ok(ledger.append_batch(events).await?);
    }
    let changes = DocumentChanges {
        put: texts.put,
        ..Default::default()
    };
    Ok(ledger.append_with_documents(events, &changes).await?)
}

/// The text `s` holds: itself when it is no reference, the document's text when it is stored
/// and readable, `None` when it was purged or is missing (a decision that needs the text, such
/// as a signature's printed name, refuses rather than records a placeholder).
pub async fn read_present(ledger: &Ledger, s: &str) -> Result<Option<String>, AppError> {
    let Some(digest) = parse_reference(s) else {
        return Ok(Some(s.to_string()));
    };
    Ok(stored_text(ledger, &digest).await?.flatten())
}

/// The text of document `digest`: `None` when it is not stored, `Some(None)` when its bytes are
/// no document.
async fn stored_text(ledger: &Ledger, digest: &str) -> Result<Option<Option<String>>, AppError> {
    Ok(ledger
        .store()
        .document(digest)
        .await?
        .map(|bytes| ward_ledger::documents::text_of(&bytes)))
}

/// What a reference reads as: the text, or `[purged by entry N]` (or `[unavailable]` when the
/// document is missing without a purge, which `ward log fsck` reports).
pub async fn read_text(ledger: &Ledger, s: &str) -> Result<String, AppError> {
    let Some(digest) = parse_reference(s) else {
        return Ok(s.to_string());
    };
    if let Some(text) = stored_text(ledger, &digest).await? {
        return Ok(text.unwrap_or_else(|| "[unreadable]".into()));
    }
    Ok(match ledger.store().projection(PURGED, &digest).await? {
        Some(p) => format!(
            "[purged by entry {}]",
            p.get("seq").and_then(Value::as_u64).unwrap_or(0)
        ),
        None => "[unavailable]".into(),
    })
}

/// Replaces every reference among the string values of `v` with what it reads as.
pub async fn resolve_value(ledger: &Ledger, v: &mut Value) -> Result<(), AppError> {
    let mut refs = Vec::new();
    collect(v, &mut refs);
    if refs.is_empty() {
        return Ok(());
    }
    refs.sort_unstable();
    refs.dedup();
    let mut texts = HashMap::new();
    for r in refs {
        let t = read_text(ledger, &r).await?;
        texts.insert(r, t);
    }
    replace(v, &texts);
    Ok(())
}

/// Whether any text `v` references was purged: the raw document it was copied from holds the
/// same text, so whatever carries it is withheld too.
pub async fn any_purged(ledger: &Ledger, v: &Value) -> Result<bool, AppError> {
    let mut refs = Vec::new();
    collect(v, &mut refs);
    for r in refs {
        if let Some(digest) = parse_reference(&r)
            && ledger.store().projection(PURGED, &digest).await?.is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Every reference in `s`, whole or inside a longer display string (e.g. `junit <reference>`).
fn refs_in(s: &str) -> Vec<String> {
    let prefix = ward_ledger::documents::REF_PREFIX;
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find(prefix) {
        let end = (i + prefix.len() + 64).min(rest.len());
        if let Some(candidate) = rest.get(i..end)
            && is_reference(candidate)
        {
            out.push(candidate.to_string());
        }
        rest = &rest[i + prefix.len()..];
    }
    out
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.extend(refs_in(s)),
        Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            // A key may be a reference (an SBOM's license names count under theirs).
            out.extend(refs_in(k));
            collect(x, out)
        }),
        _ => {}
    }
}

fn replace(v: &mut Value, texts: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            for r in refs_in(s) {
                if let Some(t) = texts.get(&r) {
                    *s = s.replace(&r, t);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| replace(x, texts)),
        Value::Object(o) => {
            o.values_mut().for_each(|x| replace(x, texts));
            if o.keys().any(|k| texts.contains_key(k)) {
                // Keys that read alike (two purged names) count together.
                let mut shown = serde_json::Map::new();
                for (k, x) in std::mem::take(o) {
                    let k = texts.get(&k).cloned().unwrap_or(k);
                    match (shown.get_mut(&k), x.as_u64()) {
                        (Some(Value::Number(n)), Some(more)) if n.is_u64() => {
                            *n = (n.as_u64().unwrap_or(0).saturating_add(more)).into();
                        }
                        (Some(_), _) => {}
                        (None, _) => {
                            shown.insert(k, x);
                        }
                    }
                }
                *o = shown;
            }
        }
        _ => {}
    }
}

/// `value` as people read it: every referenced text put back (see [`read_text`]).
pub async fn shown<T: Serialize + DeserializeOwned>(ledger: &Ledger, value: T) -> Result<T, AppError> {
    let mut v = serde_json::to_value(&value).map_err(AppError::internal)?;
    let mut refs = Vec::new();
    collect(&v, &mut refs);
    if refs.is_empty() {
        return Ok(value);
    }
    resolve_value(ledger, &mut v).await?;
    serde_json::from_value(v).map_err(AppError::internal)
}

/// Projects `document.purge_requested` (a pending request per digest) and `document.purged`
/// (the request closed; the digest purged by that entry).
pub struct DocumentProjector;

impl Projector for DocumentProjector {
    fn name(&self) -> &'static str {
        "documents"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        let Some(digest) = p.get("digest").and_then(Value::as_str) else {
            return vec![];
        };
        match e.kind.as_str() {
            PURGE_REQUESTED_KIND => vec![ProjectionOp::Put {
                collection: PURGE_REQUESTS.into(),
                key: digest.into(),
                doc: json!({ "seq": e.seq, "by": p.get("requested_by").cloned().unwrap_or(Value::Null) }),
            }],
            PURGED_KIND => vec![
                ProjectionOp::Delete {
                    collection: PURGE_REQUESTS.into(),
                    key: digest.into(),
                },
                ProjectionOp::Put {
                    collection: PURGED.into(),
                    key: digest.into(),
                    doc: json!({ "seq": e.seq, "request": p.get("request").cloned().unwrap_or(Value::Null) }),
                },
            ],
            _ => vec![],
        }
    }
}

/// Kinds Ward writes that keep no bytes of their own: naming an attested file there (a gate
/// reason citing it, a registration, a restore test's store, an observation's lists, an access
/// record) leaves it an attested file.
const KEEP_NO_BYTES: &[&str] = &[
    "attestation.",
    "attestation_type.",
    "artifact.",
    "change.",
    "approval.",
    "waiver.",
    "breakglass.",
    "access.",
    "document.",
    "key.",
    "token.",
    "session.",
    "user.",
    "auth.",
    "log.",
    "reauth.",
    "classification.",
    "dr.",
];

/// Whether an entry of `kind` keeps the bytes of `digest` as Ward's own record: a field of
/// [`ward_ledger::bundle::OWN_RECORD_FIELDS`] names them; for a kind Ward writes that neither list classifies (one
/// added later), any value equal to the digest does (failing closed). Text that merely cites the
/// digest (a gate reason: `test report … (sha256:…) has 2 failed tests`) is no record of it,
/// and neither are callers' own events, which store no bytes beside the log.
fn keeps_as_own_record(kind: &str, payload: &Value, digest: &str) -> bool {
    if !crate::kinds::RESERVED_KINDS.iter().any(|k| kind.starts_with(k))
        || KEEP_NO_BYTES.iter().any(|k| kind.starts_with(k))
    {
        return false;
    }
    let fields = ward_ledger::bundle::own_record_fields(kind);
    ward_ledger::bundle::names_digest(payload, digest, fields, false)
}

/// Raw evidence is purged only as an attested file (`attestation.added` names it), and only
/// while no entry keeps the same bytes as Ward's own record ([`keeps_as_own_record`]: a gate
/// decision's input or policy, a configuration bundle or the effective configuration, a
/// target's or a rollout's output, a large drift observation, or a kind added later naming it):
/// decisions, deployments and restores are replayed from those. Entries that only cite the
/// file — a gate reason, a registration, an observation, a restore test, callers' events — do
/// not stop its purge (attack on `e1f21bd`: anyone could otherwise make a file unpurgeable).
/// One pass over the log, parsing only the entries whose bytes hold the digest (or whose
/// payload is stored out of line).
#[doc(hidden)]
pub async fn attested_file_only(ledger: &Ledger, digest: &str) -> Result<(), AppError> {
    let finder = memchr::memmem::Finder::new(digest.as_bytes());
    // A payload stored out of line (over 8 KiB) is read from its blob.
    let out_of_line = memchr::memmem::Finder::new(br#""payload":{"digest""#);
    let size = ledger.head().await?.size();
    let (mut attested, mut own) = (false, None);
    let mut next = 0u64;
    while next < size && own.is_none() {
        let chunk = ledger.store().entries(next, 2000.min(size - next)).await?;
        let Some(last) = chunk.last() else { break };
        next = last.seq + 1;
        for e in &chunk {
            let in_leaf = finder.find(&e.leaf).is_some();
            if !in_leaf && out_of_line.find(&e.leaf).is_none() {
                continue;
            }
            let env = EventEnvelope::from_leaf(&e.leaf).map_err(AppError::internal)?;
            let read;
            let payload = match &env.payload {
                Payload::Inline(p) if in_leaf => p,
                Payload::Inline(_) => continue,
                Payload::Digest { sha256, .. } => {
                    let Some(blob) = ledger.store().blob(sha256).await? else {
                        continue;
                    };
                    if finder.find(&blob).is_none() {
                        continue;
                    }
                    read = serde_json::from_slice::<Value>(&blob).map_err(AppError::internal)?;
                    &read
                }
            };
            if env.kind == "attestation.added" && payload.get("id").and_then(Value::as_str) == Some(digest) {
                attested = true;
            } else if keeps_as_own_record(&env.kind, payload, digest) {
                own = Some(env.seq);
                break;
            }
        }
    }
    if let Some(seq) = own {
        return Err(AppError::new(
            crate::error::Kind::Conflict,
            "not_purgeable",
            format!("these bytes are Ward's own record (entry {seq}), not only an attested file"),
            "a gate input or policy, a configuration or an output stays: decisions and restores are replayed from it; supersede a configuration with a corrected one and rotate what it exposed",
        ));
    }
    if !attested {
        return Err(AppError::new(
            crate::error::Kind::Conflict,
            "not_purgeable",
            "these raw bytes are no attested file",
            "raw evidence is purged as an attestation: take its id from the change's evidence list",
        ));
    }
    Ok(())
}

/// The refusal of bytes a `document.purged` entry deleted, when `digest` names some.
async fn purged_refusal(ledger: &Ledger, digest: &str, what: &str) -> Result<Option<AppError>, AppError> {
    Ok(ledger.store().projection(PURGED, digest).await?.map(|p| {
        AppError::new(
            crate::error::Kind::Conflict,
            "document_purged",
            format!(
                "{what} {digest} was purged by entry {}",
                p.get("seq").and_then(Value::as_u64).unwrap_or(0)
            ),
            "its record stays in the log with the purge marked; the bytes are not served",
        )
    }))
}

/// Stores an attested file beside the log by `digest`, refused when a `document.purged` entry
/// deleted the same bytes: what two people purged is not stored again (ward log fsck reports
/// bytes that come back by another way).
pub async fn store_evidence(ledger: &Ledger, digest: &str, bytes: &[u8], what: &str) -> Result<(), AppError> {
    refuse_purged(ledger, digest, what, RESUBMIT_WITHOUT).await?;
    ledger.store().put_evidence(digest, bytes).await?;
    Ok(())
}

/// Refuses bytes a privacy officer asked to purge (409 `purge_pending`) where they would become
/// Ward's own record — a configuration a person publishes (attack on `b900cd1`: a release
/// manager stopped a requested purge so) or a deployment records ([`keep_configuration`]).
/// Attachments are not refused: an attestation never makes bytes Ward's own, and a request
/// alone must not block anything for good.
pub async fn refuse_pending_purge(ledger: &Ledger, digest: &str, what: &str, hint: &str) -> Result<(), AppError> {
    refuse_listed(
        ledger,
        PURGE_REQUESTS,
        "purge_pending",
        digest,
        what,
        "a purge was requested for in entry",
        hint,
    )
    .await
}

/// Refuses bytes a `document.purged` entry deleted (409 `evidence_purged`): an attachment of
/// them, new or the same again, or a configuration.
pub async fn refuse_purged(ledger: &Ledger, digest: &str, what: &str, hint: &str) -> Result<(), AppError> {
    refuse_listed(
        ledger,
        PURGED,
        "evidence_purged",
        digest,
        what,
        "that were purged by entry",
        hint,
    )
    .await
}

/// What to do about a file whose bytes were purged.
pub const RESUBMIT_WITHOUT: &str = "remove what the purge was about from the file and submit it again";

/// The one shape of both refusals: `digest` listed in `collection` (a purge's request or its
/// completion) is refused with `code`, naming the entry.
async fn refuse_listed(
    ledger: &Ledger,
    collection: &str,
    code: &str,
    digest: &str,
    what: &str,
    listed_as: &str,
    hint: &str,
) -> Result<(), AppError> {
    let Some(p) = ledger.store().projection(collection, digest).await? else {
        return Ok(());
    };
    Err(AppError::new(
        crate::error::Kind::Conflict,
        code,
        format!(
            "{what} {digest} holds the same bytes {listed_as} {}",
            p.get("seq").and_then(Value::as_u64).unwrap_or(0)
        ),
        hint,
    ))
}

/// The store lock every deployment into `env` holds from the check of its configuration until
/// its record is appended (`promotion::Locks`: promotes, rollbacks, rollouts' starts), which a
/// purge's completion of an effective configuration of `env` takes too (attack on `75015ec`:
/// a purge completed while a deployment's target ran deleted the configuration the deployment
/// then recorded, and the rollback to it failed).
pub(crate) fn environment_lock(env: &str) -> String {
    format!("ward.promote:{env}")
}

/// The environment whose deployments could record `bytes` as their effective configuration
/// (canonical JSON naming it: `{"environment": …}`), when they could.
pub(crate) fn environment_of_configuration(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    Some(v.get("environment")?.as_str()?.to_string())
}

/// What the refusals of a configuration call it, and what to do.
const CONFIGURATION: &str = "the effective configuration";
const CORRECTED: &str = "publish a corrected configuration for the environment or tenant, then deploy";

/// Stores a configuration a deployment records as its own (the effective configuration of a
/// promote or a rollout) beside the log, refused while a purge of the same bytes is pending
/// (409 `purge_pending`) or after one deleted them (409 `evidence_purged`): the deployment
/// would name bytes a purge takes away, and its rollback would fail (attack on `1391f59`).
pub async fn keep_configuration(ledger: &Ledger, digest: &str, bytes: &[u8]) -> Result<(), AppError> {
    refuse_pending_purge(ledger, digest, CONFIGURATION, CORRECTED).await?;
    refuse_purged(ledger, digest, CONFIGURATION, CORRECTED).await?;
    ledger.store().put_evidence(digest, bytes).await?;
    Ok(())
}

/// Stores a gate decision's input or policy beside the log, refused when a purge deleted the
/// same bytes (409 `evidence_purged`): the decision would be recorded without what it is
/// replayed from (attack on `75015ec`: a policy predicted from `ward.toml`, attested and purged
/// before its first use, left every later decision unreplayable while fsck said OK). A pending
/// purge is no refusal here: the decision makes the bytes Ward's own and the completion is
/// then refused (`not_purgeable`).
pub async fn keep_gate_record(ledger: &Ledger, digest: &str, bytes: &[u8], what: &str) -> Result<(), AppError> {
    refuse_purged(
        ledger,
        digest,
        what,
        "change what it is made of (the gate's policy: ward.toml's controls; its input: evaluate again later), then evaluate again",
    )
    .await?;
    ledger.store().put_evidence(digest, bytes).await?;
    Ok(())
}

/// Stores bytes Ward keeps as its own record (a gate input or policy, a configuration, an
/// output, an observation) beside the log by `digest` — unless a `document.purged` entry
/// deleted the same bytes (someone attested them and had them purged): then they are not
/// stored again, and readers are told of the purge. Never a refusal: an output is stored after
/// its deployment ran, which must still be recorded.
pub async fn keep_evidence(ledger: &Ledger, digest: &str, bytes: &[u8]) -> Result<(), AppError> {
    if ledger.store().projection(PURGED, digest).await?.is_some() {
        tracing::warn!(%digest, "bytes equal to purged raw evidence are not stored again");
        return Ok(());
    }
    ledger.store().put_evidence(digest, bytes).await?;
    Ok(())
}

/// Bytes stored beside the log by `digest` (evidence, gate inputs and policies, configuration
/// bundles, target output), refused when missing, purged (409 `document_purged`), or when they
/// no longer match their digest. `what` names them in the messages ("stored configuration",
/// "the stored output", …).
pub async fn checked_bytes(ledger: &Ledger, digest: &str, what: &str) -> Result<Vec<u8>, AppError> {
    let Some(bytes) = ledger.store().evidence(digest).await? else {
        if let Some(refusal) = purged_refusal(ledger, digest, what).await? {
            return Err(refusal);
        }
        return Err(AppError::not_found(
            format!("{what} {digest} is missing"),
            "check the store's integrity",
        ));
    };
    if ward_evidence::digest::of_bytes(&bytes) != digest {
        return Err(AppError::new(
            crate::error::Kind::Conflict,
            "tampered",
            format!("{what} {digest} does not match its digest"),
            "the evidence store was altered; restore it from backup",
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which entries make bytes Ward's own record (rule 18): the fields that record stored bytes,
    /// at any depth (a rollout's tenant configurations: the review of this session), and any
    /// value of a kind Ward writes that is classified nowhere; never a citation in text, an
    /// entry that keeps no bytes, or a caller's own event.
    #[test]
    fn only_fields_recording_stored_bytes_make_them_wards_own() {
        let d = format!("sha256:{}", "ab".repeat(32));
        let own = [
            ("gate.evaluated", json!({ "input_digest": d })),
            ("config.published", json!({ "digest": d })),
            (
                "deployment.recorded",
                json!({ "targets": [{ "runs": [{ "output_digest": d }] }] }),
            ),
            ("rollout.started", json!({ "tenant_configs": { "clinic-a": d } })),
            ("drift.observed", json!({ "full_observation": d })),
            ("local.recorded", json!({ "anything": [d] })),
        ];
        for (kind, payload) in own {
            assert!(keeps_as_own_record(kind, &payload, &d), "{kind}");
        }
        let cites = [
            (
                "gate.evaluated",
                json!({ "reasons": [{ "message": format!("report ({d}) has 2 failed tests") }] }),
            ),
            ("gate.evaluated", json!({ "reasons": [{ "id": d }] })),
            ("drift.observed", json!({ "config_digest": d, "observed": [d] })),
            ("artifact.registered", json!({ "digest": d })),
            ("dr.restore_tested", json!({ "store": d })),
            ("attestation.added", json!({ "id": d })),
            ("build.finished", json!({ "output_digest": d })),
            ("config.published", json!({ "digest": format!("{d}x") })),
        ];
        for (kind, payload) in cites {
            assert!(!keeps_as_own_record(kind, &payload, &d), "{kind}: {payload}");
        }
    }

    #[test]
    fn references_are_found_whole_and_inside_display_strings() {
        let r = format!("doc:sha256:{}", "a".repeat(64));
        assert_eq!(refs_in(&r), vec![r.clone()]);
        assert_eq!(refs_in(&format!("junit {r}")), vec![r.clone()]);
        assert!(refs_in("doc:sha256:short").is_empty());
        let mut v = json!({ "a": r, "b": [format!("junit {r}")], "c": "plain" });
        let texts = HashMap::from([(r.clone(), "report.xml".to_string())]);
        replace(&mut v, &texts);
        assert_eq!(v, json!({ "a": "report.xml", "b": ["junit report.xml"], "c": "plain" }));
    }

    /// Readers accept both forms: inline text of older entries is shown as it is, a reference
    /// as its text; a reference-shaped text a caller typed is stored as text, never trusted.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn old_inline_text_and_references_both_read() {
        let db = ward_store::testing::TestDb::sqlite();
        let store = ward_store::open(&db.url).await.expect("store");
        let ledger = Ledger::new(store, crate::projectors());
        let mut texts = Texts::new();
        let title = texts.put("Index appointments by clinic").expect("put");
        let forged = format!("doc:sha256:{}", "0".repeat(64));
        let typed = texts.put(&forged).expect("put");
        assert_ne!(typed, forged, "a typed reference is stored as text");
        let event = NewEvent {
            actor: ward_ledger::Actor {
                id: "user:dana".into(),
                kind: ward_ledger::ActorKind::Human,
            },
            kind: "test.titled".into(),
            subject: "s:1".into(),
            payload: json!({ "title": title, "note": typed }),
        };
        append(&ledger, event, texts).await.expect("append");
        let shown = shown(
            &ledger,
            json!({ "new": title, "old": "Fix reminders (inline, recorded before)", "note": typed }),
        )
        .await
        .expect("shown");
        assert_eq!(
            shown,
            json!({ "new": "Index appointments by clinic", "old": "Fix reminders (inline, recorded before)",
                "note": forged })
        );
        let fsck = ledger.check_state().await.expect("state");
        assert!(fsck.ok(), "{:?}", fsck.differences);
        db.cleanup().await;
    }
}
