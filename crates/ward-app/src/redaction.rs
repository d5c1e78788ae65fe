//! The installation's redaction fingerprint key, kept in the store's `ward_meta` table — outside
//! the log, never in an event, a projection or an export (like local users' password hashes).
//!
//! Created on first use from the operating system's randomness, under a store-wide lock so that
//! concurrent first uses (several processes or replicas) agree on one key. A stored key that
//! cannot be read is an error, never silently replaced: a new key would stop fingerprints from
//! correlating with earlier ones without anyone noticing.
//!
//! The log records which key there is (since 2026-12-07's eleventh session): every entry that
//! holds a fingerprint under the key holds the key's *check* beside it, `key_check` (the key's
//! fingerprint of a fixed text, which tells one key from another and nothing else; an author's
//! `key_check` is the same text's), and the projection `installation_keys` keeps each. A store
//! whose `ward_meta` row was lost (a restore that left it out, a deleted row) while its log
//! recorded a check refuses to make a new key, and a key that does not make the recorded check
//! is refused: fingerprints recorded under the old key (authors, the one-release index,
//! redactions, callers' event kinds) would otherwise silently stop matching, and a rule that
//! compares them would pass what it should refuse. A refused operation records nothing, the
//! check included. A key older than the record is recorded by its next entry.

use crate::error::AppError;
use crate::error::Kind;
use serde_json::{Value, json};
use ward_evidence::redact::FingerprintKey;
use ward_ledger::{EventEnvelope, Payload};
use ward_store::{ProjectionOp, Projector, Store};

/// The `ward_meta` key holding it.
pub const META_KEY: &str = "redaction-fingerprint-key";
/// The member of an entry's payload holding the check of the key its fingerprints were made
/// under (an author's too: `authors[].key_check`).
pub const KEY_CHECK_MEMBER: &str = "key_check";
/// The projection holding each key check the log records, keyed by the check (one row in an
/// installation that never lost its key): a write under a remade key beside a deleted row
/// leaves the old check's row for fsck to find missing, not overwritten.
const RECORDED: &str = "installation_keys";

/// A key's check: its fingerprint of a fixed text (tells keys apart, reveals nothing of one) —
/// the text an author's `key_check` is the fingerprint of.
pub fn key_check(key: &FingerprintKey) -> String {
    key.fingerprint(&format!("author-identity\0{}", ward_core::approval::KEY_CHECK))
}

fn malformed() -> AppError {
    AppError::new(
        Kind::Internal,
        "redaction_key",
        "the installation's redaction fingerprint key is unreadable; nothing was stored",
        format!(
            "restore ward_meta {META_KEY:?} from a backup of this store: fingerprints in the log match under \
             that key only, and deleting the row makes no new key once the log recorded one"
        ),
    )
}

fn read(stored: Option<String>) -> Result<Option<FingerprintKey>, AppError> {
    stored
        .map(|s| FingerprintKey::decode(&s).map_err(|_| malformed()))
        .transpose()
}

/// The checks the log records for this installation's key, each with the latest entry
/// holding it.
async fn recorded_checks(store: &dyn Store) -> Result<Vec<(String, u64)>, AppError> {
    Ok(store
        .projection_list(RECORDED)
        .await?
        .into_iter()
        .map(|(check, doc)| (check, doc.get("seq").and_then(Value::as_u64).unwrap_or_default()))
        .collect())
}

fn lost(seq: u64) -> AppError {
    AppError::new(
        Kind::Internal,
        "installation_key_lost",
        format!(
            "this store has no installation fingerprint key, but its log recorded one (entry {seq}); \
             nothing was stored and no new key was made"
        ),
        format!(
            "restore ward_meta {META_KEY:?} from a backup of this store: fingerprints recorded under \
             that key (authors, the one-release index, redactions) match under it only"
        ),
    )
}

fn mismatched(seq: u64) -> AppError {
    AppError::new(
        Kind::Internal,
        "installation_key_mismatch",
        format!(
            "this store's installation fingerprint key is not the one its log recorded (entry {seq}); \
             nothing was stored"
        ),
        format!(
            "restore ward_meta {META_KEY:?} from a backup of this store: fingerprints recorded under \
             the recorded key match under it only"
        ),
    )
}

/// Holds `stored` (this store's key, if any) against the checks the log recorded.
fn held_against(
    stored: Option<FingerprintKey>,
    recorded: &[(String, u64)],
) -> Result<Option<FingerprintKey>, AppError> {
    let latest = recorded.iter().map(|(_, seq)| *seq).max();
    match (stored, latest) {
        (Some(k), Some(seq)) if !recorded.iter().any(|(check, _)| *check == key_check(&k)) => Err(mismatched(seq)),
        (None, Some(seq)) => Err(lost(seq)),
        (k, _) => Ok(k),
    }
}

/// This installation's key when it has one (a read never creates it: without a key, no
/// fingerprint made under one exists). A key the log recorded but this store lost, or one that
/// is not the recorded key, is an error. Where the state tables hold several checks — a key
/// remade after its row and theirs were deleted behind Ward's back, and the tables rebuilt: a
/// helper's attack on the eleventh session, which then registered a second digest for one
/// release — the installation's key is the one the log recorded first, read from the log.
pub async fn existing_key(store: &dyn Store) -> Result<Option<FingerprintKey>, AppError> {
    // The record first, then the key: a process making the key writes the key before its first
    // entry, so a reader racing it never sees a record without its key (a reviewer's find).
    let mut recorded = recorded_checks(store).await?;
    let stored = read(store.get_meta(META_KEY).await?)?;
    if recorded.len() > 1 {
        recorded = first_check(store, &recorded).await?.into_iter().collect();
    } else if recorded.is_empty() && stored.is_none() {
        // No key and no recorded check: the log itself is asked, as the state tables of a
        // store written before the record existed hold none until they are derived again (a
        // reviewer's find: such a store, its key lost, made a new one). Only a store without
        // a key reads it, once: the key it then makes ends it.
        recorded = first_recorded_check(store).await?.into_iter().collect();
    }
    held_against(stored, &recorded)
}

/// The `ward_meta` key remembering which of several recorded checks the log holds first
/// (derived from the log; read again when it names none of them).
const FIRST_CHECK: &str = "installation-key-first-check";

/// The first of several `recorded` checks in the log: remembered once read, as reading it
/// takes the whole log.
async fn first_check(store: &dyn Store, recorded: &[(String, u64)]) -> Result<Option<(String, u64)>, AppError> {
    if let Some(first) = store.get_meta(FIRST_CHECK).await?
        && let Some((check, seq)) = first.rsplit_once('@')
        && recorded.iter().any(|(c, _)| c == check)
        && let Ok(seq) = seq.parse::<u64>()
    {
        return Ok(Some((check.to_string(), seq)));
    }
    let first = first_recorded_check(store).await?;
    if let Some((check, seq)) = &first {
        store.set_meta(FIRST_CHECK, &format!("{check}@{seq}")).await?;
    }
    Ok(first)
}

/// The first key check the log holds, with its entry: read from the log itself (every entry,
/// payloads kept out of line too), which only several recorded checks call for.
async fn first_recorded_check(store: &dyn Store) -> Result<Option<(String, u64)>, AppError> {
    let size = store.head().await?.size();
    let mut next = 0;
    while next < size {
        let chunk = store.entries(next, 1000).await?;
        let Some(last) = chunk.last() else { break };
        next = last.seq + 1;
        for e in chunk {
            let Ok(env) = EventEnvelope::from_leaf(&e.leaf) else {
                continue;
            };
            let stored = match &env.payload {
                Payload::Digest { sha256, .. } => store.blob(sha256).await?,
                Payload::Inline(_) => None,
            };
            if let Payload::Inline(p) = &env.with_payload(stored.as_deref()).payload
                && let Some(check) = check_in(p)
            {
                return Ok(Some((check.to_string(), e.seq)));
            }
        }
    }
    Ok(None)
}

/// This installation's key: read from `ward_meta`, or created there on first use. Refused when
/// the log recorded a key this store no longer holds, or another. Whoever writes a fingerprint
/// under it writes [`key_check`] beside it ([`KEY_CHECK_MEMBER`]).
pub async fn installation_key(store: &dyn Store) -> Result<FingerprintKey, AppError> {
    if let Some(k) = existing_key(store).await? {
        return Ok(k);
    }
    let _held = store.lock("ward.redaction-key").await?;
    if let Some(k) = existing_key(store).await? {
        return Ok(k);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    let key = FingerprintKey::from_random(bytes);
    store.set_meta(META_KEY, &key.encode()).await?;
    Ok(key)
}

/// The key check an entry's inline payload holds: its own [`KEY_CHECK_MEMBER`], or an author's.
fn check_in(payload: &Value) -> Option<&str> {
    let own = payload.get(KEY_CHECK_MEMBER).and_then(Value::as_str);
    let author = || {
        payload
            .get("authors")?
            .as_array()?
            .iter()
            .find_map(|a| a.get(KEY_CHECK_MEMBER).and_then(Value::as_str))
    };
    own.or_else(author)
        .filter(|c| c.starts_with(ward_evidence::redact::SCHEME))
}

/// Projects each key check the log records (every entry's is the same key's: a key that does not
/// make a recorded check is refused before anything is written).
pub struct InstallationKeyProjector;

impl Projector for InstallationKeyProjector {
    fn name(&self) -> &'static str {
        "installation_key"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        match check_in(p) {
            Some(check) => vec![ProjectionOp::put_stamped(
                RECORDED,
                check.to_string(),
                e,
                &json!({ KEY_CHECK_MEMBER: check }),
            )],
            None => vec![],
        }
    }
}
