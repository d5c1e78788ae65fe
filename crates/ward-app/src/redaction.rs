//! The installation's redaction fingerprint key, kept in the store's `ward_meta` table — outside
//! the log, never in an event, a projection or an export (like local users' password hashes).
//!
//! Created on first use from the operating system's randomness, under a store-wide lock so that
//! concurrent first uses (several processes or replicas) agree on one key. A stored key that
//! cannot be read is an error, never silently replaced: a new key would stop fingerprints from
//! correlating with earlier ones without anyone noticing.

use crate::error::AppError;
use crate::error::Kind;
use ward_evidence::redact::FingerprintKey;
use ward_store::Store;

/// The `ward_meta` key holding it.
pub const META_KEY: &str = "redaction-fingerprint-key";

fn malformed() -> AppError {
    AppError::new(
        Kind::Internal,
        "redaction_key",
        "the installation's redaction fingerprint key is unreadable; nothing was stored",
        format!(
            "restore ward_meta {META_KEY:?} from a backup of this store (deleting it starts a new key, and later \
             fingerprints no longer match earlier ones)"
        ),
    )
}

fn read(stored: Option<String>) -> Result<Option<FingerprintKey>, AppError> {
    stored
        .map(|s| FingerprintKey::decode(&s).map_err(|_| malformed()))
        .transpose()
}

/// This installation's key when it has one (a read never creates it: without a key, no
/// fingerprint made under one exists).
pub async fn existing_key(store: &dyn Store) -> Result<Option<FingerprintKey>, AppError> {
    read(store.get_meta(META_KEY).await?)
}

/// This installation's key: read from `ward_meta`, or created there on first use.
pub async fn installation_key(store: &dyn Store) -> Result<FingerprintKey, AppError> {
    if let Some(k) = read(store.get_meta(META_KEY).await?)? {
        return Ok(k);
    }
    let _held = store.lock("ward.redaction-key").await?;
    if let Some(k) = read(store.get_meta(META_KEY).await?)? {
        return Ok(k);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(AppError::internal)?;
    let key = FingerprintKey::from_random(bytes);
    store.set_meta(META_KEY, &key.encode()).await?;
    Ok(key)
}
