//! Log operations as plain functions returning the API's shapes. The HTTP handlers and the
//! CLI's local mode both call these, so both modes produce the same documents.

use crate::error::AppError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ward_ledger::proof::{verify_consistency, verify_inclusion};
use ward_ledger::{Hash, NewEvent, NoteSigner};
use ward_store::{Ledger, Receipt};

/// Most entries one listing returns.
pub const MAX_LIST: u64 = 1000;

/// `GET /api/v1/log`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogStatus {
    /// Log origin (the checkpoint key name).
    pub origin: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Number of entries.
    pub size: u64,
    /// Current root hash, hex.
    pub root: String,
    /// Latest signed checkpoint.
    pub latest_checkpoint: Option<CheckpointSummary>,
}

/// A checkpoint without its note.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckpointSummary {
    /// Tree size.
    pub size: u64,
    /// Root hash, hex.
    pub root: String,
    /// When it was signed.
    pub created_at: String,
}

/// A signed checkpoint.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignedCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash, hex.
    pub root: String,
    /// The C2SP signed note.
    pub note: String,
}

/// An inclusion proof, self-verified before it is returned.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InclusionProof {
    /// Leaf index.
    pub index: u64,
    /// Tree size.
    pub size: u64,
    /// Leaf hash, hex.
    pub leaf_hash: String,
    /// Root of the tree of `size`, hex.
    pub root: String,
    /// Proof hashes, hex.
    pub proof: Vec<String>,
    /// The signed checkpoint at `size`, when there is one.
    pub checkpoint: Option<String>,
}

/// A consistency proof, self-verified before it is returned.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsistencyProof {
    /// Older size.
    pub from: u64,
    /// Newer size.
    pub to: u64,
    /// Root at `from`, hex.
    pub root1: String,
    /// Root at `to`, hex.
    pub root2: String,
    /// Proof hashes, hex.
    pub proof: Vec<String>,
}

/// One log entry as listed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entry {
    /// Leaf index.
    pub seq: u64,
    /// Leaf hash, hex.
    pub leaf_hash: String,
    /// The event envelope.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub event: Value,
}

/// Entries from a position.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entries {
    /// The entries, in order.
    pub entries: Vec<Entry>,
}

/// `GET /api/v1/log/key`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerifierKey {
    /// The C2SP verifier key.
    pub verifier_key: String,
}

/// Every signed checkpoint, ascending.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Checkpoints {
    /// The checkpoints.
    pub checkpoints: Vec<SignedCheckpoint>,
}

/// Raw leaves for an export.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawEntries {
    /// The entries, in order.
    pub entries: Vec<RawEntry>,
}

/// One raw leaf.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RawEntry {
    /// Leaf index.
    pub seq: u64,
    /// The canonical envelope bytes, base64.
    pub leaf: String,
    /// The stored leaf hash, hex.
    pub leaf_hash: String,
}

/// An out-of-line payload.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Blob {
    /// `sha256:<hex>`.
    pub digest: String,
    /// The bytes, base64.
    pub data: String,
}

/// Most raw entries one export page returns.
pub const MAX_RAW: u64 = 5000;

/// Every signed checkpoint with its note.
pub async fn checkpoints(ledger: &Ledger) -> Result<Checkpoints, AppError> {
    Ok(Checkpoints {
        checkpoints: ledger
            .store()
            .checkpoints()
            .await?
            .into_iter()
            .map(|c| SignedCheckpoint {
                size: c.size,
                root: c.root.to_hex(),
                note: c.note,
            })
            .collect(),
    })
}

/// Raw leaves from `from` (≤ [`MAX_RAW`]).
pub async fn raw_entries(ledger: &Ledger, from: u64, limit: u64) -> Result<RawEntries, AppError> {
    use base64::Engine;
    let stored = ledger.store().entries(from, limit.min(MAX_RAW)).await?;
    Ok(RawEntries {
        entries: stored
            .into_iter()
            .map(|e| RawEntry {
                seq: e.seq,
                leaf: base64::engine::general_purpose::STANDARD.encode(&e.leaf),
                leaf_hash: e.leaf_hash.to_hex(),
            })
            .collect(),
    })
}

/// An out-of-line payload by digest.
pub async fn blob(ledger: &Ledger, digest: &str) -> Result<Blob, AppError> {
    use base64::Engine;
    let data = ledger.store().blob(digest).await?.ok_or_else(|| {
        AppError::not_found(
            format!("no payload {}", crate::identifier::shown(digest)),
            "digests look like sha256:<64 hex>",
        )
    })?;
    Ok(Blob {
        digest: digest.to_string(),
        data: base64::engine::general_purpose::STANDARD.encode(data),
    })
}

/// A text document for an export (absent once purged).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DocumentBytes {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Base64 of the stored bytes; `null` when no such document is stored (purged).
    pub data: Option<String>,
}

/// A text document's stored bytes, for an export.
pub async fn document_bytes(ledger: &Ledger, digest: &str) -> Result<DocumentBytes, AppError> {
    use base64::Engine;
    if !ward_ledger::documents::is_digest(digest) {
        return Err(AppError::invalid(
            "a document digest is malformed",
            "digests look like sha256:<64 hex>",
        ));
    }
    let data = ledger.store().document(digest).await?;
    Ok(DocumentBytes {
        digest: digest.to_string(),
        data: data.map(|d| base64::engine::general_purpose::STANDARD.encode(d)),
    })
}

/// Receipts of appended events.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Appended {
    /// One receipt per event, in order.
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub appended: Vec<Receipt>,
}

fn hexes(h: &[Hash]) -> Vec<String> {
    h.iter().map(Hash::to_hex).collect()
}

/// Size, root and latest checkpoint.
pub async fn status(ledger: &Ledger, origin: &str) -> Result<LogStatus, AppError> {
    let head = ledger.head().await?;
    let latest = ledger.store().latest_checkpoint().await?;
    Ok(LogStatus {
        origin: origin.to_string(),
        backend: ledger.store().backend().to_string(),
        size: head.size(),
        root: head.root().to_hex(),
        latest_checkpoint: latest.map(|c| CheckpointSummary {
            size: c.size,
            root: c.root.to_hex(),
            created_at: c.created_at,
        }),
    })
}

/// Signs a checkpoint of the head (or returns the latest when the head has not moved). A new
/// checkpoint is preceded by a `log.checkpoint` event naming who asked for it, so the signed
/// tree includes the record of its own signing.
pub async fn checkpoint(
    ledger: &Ledger,
    signer: &dyn NoteSigner,
    origin: &str,
    by: &ward_ledger::Actor,
) -> Result<SignedCheckpoint, AppError> {
    let head = ledger.head().await?.size();
    let latest = ledger.store().latest_checkpoint().await?;
    if latest.as_ref().is_none_or(|c| c.size != head) {
        ledger
            .append(NewEvent {
                actor: by.clone(),
                kind: "log.checkpoint".into(),
                subject: "log".into(),
                payload: serde_json::json!({ "head_before": head }),
            })
            .await?;
    }
    let cp = ledger.checkpoint(signer, origin).await?;
    Ok(SignedCheckpoint {
        size: cp.size,
        root: cp.root.to_hex(),
        note: cp.note,
    })
}

/// The latest signed checkpoint.
pub async fn latest_checkpoint(ledger: &Ledger) -> Result<SignedCheckpoint, AppError> {
    let cp = ledger.store().latest_checkpoint().await?.ok_or_else(no_checkpoint)?;
    Ok(SignedCheckpoint {
        size: cp.size,
        root: cp.root.to_hex(),
        note: cp.note,
    })
}

fn no_checkpoint() -> AppError {
    AppError::not_found("the log has no checkpoint yet", "sign a checkpoint, or give a size")
}

/// Inclusion proof of `index` in the tree of `size` (default: the latest checkpoint's size).
pub async fn inclusion(ledger: &Ledger, index: u64, size: Option<u64>) -> Result<InclusionProof, AppError> {
    let size = match size {
        Some(s) => s,
        None => {
            ledger
                .store()
                .latest_checkpoint()
                .await?
                .ok_or_else(no_checkpoint)?
                .size
        }
    };
    let proof = ledger.inclusion_proof(index, size).await?;
    let root = ledger.root_at(size).await?;
    let leaf = ledger.store().entries(index, 1).await?.pop().ok_or_else(|| {
        AppError::not_found(
            format!("no {}", crate::identifier::entry_shown(index, size)),
            "check the log's size",
        )
    })?;
    verify_inclusion(&leaf.leaf_hash, index, size, &proof, &root)
        .map_err(|e| AppError::internal(format!("store produced a bad proof: {e}")))?;
    Ok(InclusionProof {
        index,
        size,
        leaf_hash: leaf.leaf_hash.to_hex(),
        root: root.to_hex(),
        proof: hexes(&proof),
        checkpoint: ledger.store().checkpoint_at(size).await?.map(|c| c.note),
    })
}

/// Consistency proof between sizes `from` and `to`.
pub async fn consistency(ledger: &Ledger, from: u64, to: u64) -> Result<ConsistencyProof, AppError> {
    let proof = ledger.consistency_proof(from, to).await?;
    let (r1, r2) = (ledger.root_at(from).await?, ledger.root_at(to).await?);
    verify_consistency(from, to, &proof, &r1, &r2)
        .map_err(|e| AppError::internal(format!("store produced a bad proof: {e}")))?;
    Ok(ConsistencyProof {
        from,
        to,
        root1: r1.to_hex(),
        root2: r2.to_hex(),
        proof: hexes(&proof),
    })
}

/// Entries shown with their texts at most (each reference is a read of the store).
pub const MAX_TEXTS_LIST: u64 = 100;

/// Up to `limit` (≤ [`MAX_LIST`]) entries from `from`. With `texts` (at most
/// [`MAX_TEXTS_LIST`] entries), every document reference in the payload of a caller's event is
/// shown as its text (or `[purged by entry N]`): the event then no longer hashes to its
/// `leaf_hash`, which is what the log holds.
pub async fn entries(ledger: &Ledger, from: u64, limit: u64, texts: bool) -> Result<Entries, AppError> {
    let stored = ledger.store().entries(from, limit.min(MAX_LIST)).await?;
    let mut entries: Vec<Entry> = stored
        .into_iter()
        .map(|e| Entry {
            seq: e.seq,
            leaf_hash: e.leaf_hash.to_hex(),
            event: serde_json::from_slice(&e.leaf).unwrap_or(Value::Null),
        })
        .collect();
    if texts {
        // Only callers' events: Ward's own events show their texts through their own views,
        // to the roles those allow (an auditor's search terms, evidence file names).
        for e in entries.iter_mut().take(MAX_TEXTS_LIST as usize) {
            // A caller's event: since 2026-12-06 its kind is a fingerprint (`submitted.…`, a
            // reserved kind); before, the kind as sent.
            let caller = e
                .event
                .get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.starts_with(KIND_PREFIX) || check_generic_kind(k).is_ok());
            if !caller {
                continue;
            }
            let mut named = Vec::new();
            if let Some(payload) = e.event.get_mut("payload") {
                crate::documents::resolve_value(ledger, payload).await?;
                if let Some(inline) = payload.get_mut("inline") {
                    named = shown_as_sent(inline);
                }
            }
            for (member, v) in named {
                e.event[member] = v;
            }
        }
        entries.truncate(MAX_TEXTS_LIST as usize);
    }
    Ok(Entries { entries })
}

/// A caller's event's payload, its references resolved, as it was sent; returns the kind and
/// the subject as sent, which the leaf holds as fingerprints (since 2026-12-06, [`SENT`]). A
/// purged one reads `{"sent": "[purged by entry N]"}`, the fingerprints kept; one written
/// before holds its payload alone ([`SUBMITTED`]).
fn shown_as_sent(inline: &mut Value) -> Vec<(&'static str, Value)> {
    let mut named = Vec::new();
    if let Some(sent) = inline.get(SENT).and_then(Value::as_str) {
        *inline = match serde_json::from_str::<Value>(sent) {
            Ok(Value::Object(mut was)) => {
                for member in [KIND, SUBJECT, ACTOR] {
                    if let Some(v) = was.remove(member) {
                        named.push((member, v));
                    }
                }
                was.remove(PAYLOAD).unwrap_or(Value::Null)
            }
            _ => json!({ SENT: sent }),
        };
    } else if let Some(sent) = inline.get(SUBMITTED).and_then(Value::as_str) {
        *inline = serde_json::from_str::<Value>(sent).unwrap_or_else(|_| json!({ SUBMITTED: sent }));
    }
    named
}

pub use crate::kinds::{RESERVED_KINDS, check_generic_kind};

/// Refuses a generic event whose payload holds a document reference (`doc:sha256:…`): only
/// Ward's own operations store documents, and a reference to one that was never stored would
/// make every later export fail to verify.
pub fn check_generic_payload(payload: &Value) -> Result<(), AppError> {
    let mut refs = Vec::new();
    ward_ledger::documents::references(payload, &mut refs);
    if !refs.is_empty() {
        return Err(AppError::new(
            crate::error::Kind::Forbidden,
            "reserved_reference",
            "the payload holds a document reference (doc:sha256:…), which only Ward writes",
            "put the value itself in the payload, or use the command that records it",
        ));
    }
    Ok(())
}

/// Appends events a caller submitted (`POST /api/v1/events`, `ward log append`), all in one
/// transaction: each passes the generic checks ([`check_generic_kind`],
/// [`check_generic_payload`]) and the log guard as submitted (its strings in their context: a
/// table split across items, a label above its value), then its whole payload — keys, strings,
/// numbers — is stored as one salted document beside the log and the leaf holds
/// `{"submitted": "doc:sha256:…"}` in its place. A caller's payload is text Ward cannot tell
/// apart from structure (a name can be a key, a birth date numbers), so none of it is written
/// into the leaf: what slips past the guard can be purged without breaking the chain.
///
/// The subject and the kind, too, are a caller's text (`patient:roe-j-2015-04-12` is a name
/// and a birth date the identifier rules cannot tell from a release's, `patient.jane.roe.admitted`
/// a patient's name in words): each is judged as an identifier
/// ([`crate::identifier::check_caller_token`]), stored beside the log (the payload's `subject`
/// and `kind` members reference them) and the leaf holds its keyed fingerprint
/// ([`subject_in_leaf`], [`kind_in_leaf`]): the same text gives the same fingerprint within one
/// installation, so the `subjects` index still groups a subject's events and a search by kind
/// still finds them, and nobody who holds the log but not the installation's key can read or
/// enumerate it — unless the subject names a change or an artifact by Ward's id
/// ([`names_a_record`]), which stays.
///
/// An actor the caller named rather than the identity that appends (`appender`: the operator
/// appending on the data directory names the automation identity their script runs as) is a
/// caller's text too (`ci:mary-jones-bornon-12-04` reached the leaf: a helper's attack on
/// `dec691e`): since the twelfth session it joins the document (`actor`, as sent) and the
/// leaf's actor holds its keyed fingerprint ([`actor_in_leaf`]), of the kind it claimed. An
/// actor Ward authenticated (`appender` `None`: the server's caller) stays.
pub async fn append_submitted(
    ledger: &Ledger,
    events: Vec<NewEvent>,
    appender: Option<&str>,
) -> Result<Appended, AppError> {
    if events.is_empty() {
        return Err(AppError::invalid("no events", "send one event or a non-empty array"));
    }
    let key = crate::redaction::installation_key(ledger.store().as_ref()).await?;
    let mut texts = crate::documents::Texts::new();
    let mut stored = Vec::with_capacity(events.len());
    for mut e in events {
        check_generic_kind(&e.kind)?;
        check_generic_payload(&e.payload)?;
        crate::identifier::check_caller_token("subject", &e.subject)?;
        crate::identifier::check_token("actor", &e.actor.id)?;
        crate::identifier::check_caller_token("kind", &e.kind)?;
        ledger.admit(&e)?;
        // One document an event, as before its kind and subject joined it: `{kind, subject,
        // payload}` as sent.
        let mut sent = serde_json::Map::new();
        sent.insert(KIND.into(), Value::String(e.kind.clone()));
        sent.insert(SUBJECT.into(), Value::String(e.subject.clone()));
        if !e.payload.is_null() {
            sent.insert(PAYLOAD.into(), e.payload.take());
        }
        let named_actor = appender.is_some_and(|by| e.actor.id != by);
        if named_actor {
            sent.insert(
                ACTOR.into(),
                serde_json::to_value(&e.actor).map_err(AppError::internal)?,
            );
        }
        let text = serde_json::to_string(&Value::Object(sent)).map_err(AppError::internal)?;
        if named_actor {
            e.actor.id = actor_in_leaf(&key, &e.actor.id);
        }
        if !names_a_record(ledger, &e.subject).await? {
            e.subject = subject_in_leaf(&key, &e.subject);
        }
        e.kind = kind_in_leaf(&key, &e.kind);
        e.payload = json!({
            SENT: texts.put_judged(&text)?,
            crate::redaction::KEY_CHECK_MEMBER: crate::redaction::key_check(&key),
        });
        stored.push(e);
    }
    let appended = if stored.len() == 1 {
        let event = stored.pop().ok_or_else(|| AppError::internal("no event"))?;
        vec![crate::documents::append(ledger, event, texts).await?]
    } else {
        crate::documents::append_all(ledger, stored, texts).await?
    };
    Ok(Appended { appended })
}

/// The member of a caller's event whose value references its payload, stored beside the log
/// (from 2026-12-04 to 2026-12-06; since, [`SENT`]).
pub const SUBMITTED: &str = "submitted";

/// The member of a caller's event whose value references what it sent — `{kind, subject,
/// payload}` — stored beside the log as one document.
pub const SENT: &str = "sent";

/// An actor the caller named, in the [`SENT`] document (`{id, kind}` as sent; absent when the
/// actor is the identity that appended).
pub const ACTOR: &str = "actor";

/// A caller's subject in the [`SENT`] document.
pub const SUBJECT: &str = "subject";

/// A caller's payload in the [`SENT`] document (absent when it sent none).
pub const PAYLOAD: &str = "payload";

/// The prefix of a caller's subject in the leaf, before its keyed fingerprint.
pub const SUBJECT_PREFIX: &str = "submitted:";

/// A caller's kind in the [`SENT`] document.
pub const KIND: &str = "kind";

/// The prefix of a caller's kind in the leaf, before its keyed fingerprint (a reserved kind:
/// nobody appends one).
pub const KIND_PREFIX: &str = "submitted.";

/// What the leaf of a caller's event holds for `kind`: `submitted.` and 32 hex digits of its
/// HMAC under the installation's key (the same kind, the same fingerprint; lower-case, a kind's
/// alphabet).
pub fn kind_in_leaf(key: &ward_evidence::redact::FingerprintKey, kind: &str) -> String {
    let mac = key.fingerprint(&format!("event-kind\0{kind}"));
    let hex = mac.rsplit(':').next().unwrap_or_default();
    format!("{KIND_PREFIX}{}", &hex[..hex.len().min(32)])
}

/// What the leaf of a caller's event holds for `subject`: `submitted:hmac-sha256:…`, its
/// fingerprint under the installation's key (the same subject, the same fingerprint).
pub fn subject_in_leaf(key: &ward_evidence::redact::FingerprintKey, subject: &str) -> String {
    format!(
        "{SUBJECT_PREFIX}{}",
        key.fingerprint(&format!("event-subject\0{subject}"))
    )
}

/// What the leaf of a caller's event holds for an actor the caller named: `submitted:hmac-sha256:…`,
/// its fingerprint under the installation's key (the same actor, the same fingerprint).
pub fn actor_in_leaf(key: &ward_evidence::redact::FingerprintKey, actor: &str) -> String {
    format!("{SUBJECT_PREFIX}{}", key.fingerprint(&format!("event-actor\0{actor}")))
}

/// Whether a caller's subject names one of Ward's records by the id Ward gave it — `change:ID`
/// of a change opened here, `artifact:sha256:…` of a registered artifact — and so holds no
/// caller's text: it then stays in the leaf too, where a bundle and a search by change or
/// artifact find the event (its text is still stored beside the log, like any subject's).
async fn names_a_record(ledger: &Ledger, subject: &str) -> Result<bool, AppError> {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if let Some(id) = subject.strip_prefix("change:")
        && id.strip_prefix("CHG-").is_some_and(|h| hex(h, 8))
    {
        return crate::changes::exists(ledger, id).await;
    }
    if let Some(digest) = subject.strip_prefix("artifact:")
        && digest.strip_prefix("sha256:").is_some_and(|h| hex(h, 64))
    {
        return Ok(crate::evidence::artifact(ledger, digest).await?.is_some());
    }
    Ok(false)
}

/// An automation identity named by a locally appended event (not issued by Ward, unlike a
/// server's caller): one token of printable ASCII without a number a person could be found by
/// ([`crate::identifier::check_leaf`]) and no name beside a date of this century
/// ([`crate::identifier::check_new_name_dates`]).
pub fn check_named_actor(id: &str) -> Result<(), AppError> {
    // A document reference as the actor would make every later export fail to verify, as one
    // in a payload would (a helper's attack on `d683bca`).
    check_generic_payload(&Value::String(id.to_string()))?;
    crate::identifier::check_leaf("actor", id)?;
    crate::identifier::check_number_unmasked("actor", id)?;
    crate::identifier::check_new_name_dates("actor", id)
}

/// The `ward.toml` a server runs (`config.loaded`): what `ward config check --server` compares
/// with the file on disk.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoadedConfig {
    /// `sha256:` of the file's bytes, or `defaults` when there was no file (the built-in
    /// defaults apply).
    pub digest: String,
    /// The file it was read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The `config.loaded` entry.
    pub seq: u64,
    /// When it was loaded.
    pub time: String,
}

/// The digest [`LoadedConfig::digest`] names for a configuration file's bytes (`None`: no file).
pub fn config_digest(bytes: Option<&[u8]>) -> String {
    bytes.map_or_else(|| "defaults".to_string(), ward_evidence::digest::of_bytes)
}

/// Records that a server started with this configuration (`config.loaded`).
pub async fn record_config_loaded(
    ledger: &Ledger,
    by: &ward_core::Identity,
    digest: &str,
    path: Option<&str>,
) -> Result<LoadedConfig, AppError> {
    // The file's path is an operator's text: stored beside the log (a helper's attack on the
    // tenth session's head kept `/tmp/mary-jones-12-iv-1961 219a45b1100/ward.toml` in the leaf).
    let mut texts = crate::documents::Texts::new();
    let stored = texts.put_opt(path)?;
    let receipt = crate::documents::append(
        ledger,
        NewEvent {
            actor: by.actor(),
            kind: "config.loaded".into(),
            subject: "server:config".into(),
            payload: serde_json::json!({ "digest": digest, "path": stored }),
        },
        texts,
    )
    .await?;
    Ok(LoadedConfig {
        digest: digest.into(),
        path: path.map(str::to_string),
        seq: receipt.seq,
        time: receipt.time,
    })
}

/// An event as a client submits it (`POST /api/v1/events`, `ward log append`); the actor is the
/// caller.
#[derive(Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// Event kind, dotted lower case.
    pub kind: String,
    /// What it is about.
    pub subject: String,
    /// Event data.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub payload: Value,
    /// Optional; if present it must equal the caller's identity.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub actor: Option<ward_ledger::Actor>,
}
