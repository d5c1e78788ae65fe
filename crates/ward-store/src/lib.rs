//! `ward-store`: persistence of the ledger and its projections.
//!
//! One [`Store`] trait, two implementations: [`sqlite::SqliteStore`] (the default, a file in the
//! data dir, WAL, `synchronous=FULL`) and [`postgres::PgStore`] (for several replicas). Both
//! sequence appends with one writer at a time inside the database (SQLite `BEGIN IMMEDIATE`,
//! PostgreSQL a row lock on the head), so several processes writing at once never fork or
//! reorder the log. [`Ledger`] adds group commit, proofs, checkpoints, export and checks on top.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod batch;
pub mod ledger;
mod migrate;
pub mod postgres;
pub mod projection;
pub mod sqlite;
pub mod testing;

use async_trait::async_trait;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use thiserror::Error;
use ward_ledger::{Frontier, Hash, NewEvent, NodeId};

pub use batch::Receipt;
pub use ledger::{ExportSource, Ledger, write_export};
pub use projection::{DiffKind, ProjectionOp, Projector, StateDiff, StateReport};
pub use ward_ledger::documents;

/// Errors from a store.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database failed or could not be reached.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// An event was refused before anything was written.
    #[error(transparent)]
    Event(#[from] ward_ledger::envelope::EnvelopeError),
    /// Stored data is not what the log's invariants require.
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    /// A request that cannot be satisfied (e.g. a proof beyond the tree size).
    #[error("{0}")]
    Invalid(String),
    /// A group-commit batch failed; every event in it was refused.
    #[error("append failed: {0}")]
    Append(String),
    /// A conflicting write (e.g. a different checkpoint at the same size).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A projector refused the event's content ([`Projector::admit`]); nothing was written.
    #[error("{0}")]
    Refused(String),
}

/// A stored log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEntry {
    /// Leaf index.
    pub seq: u64,
    /// Canonical envelope bytes.
    pub leaf: Vec<u8>,
    /// Stored leaf hash.
    pub leaf_hash: Hash,
}

/// A stored signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The full signed note.
    pub note: String,
    /// When it was made (RFC 3339 UTC).
    pub created_at: String,
}

/// Persistence of the log and projections. Implementations must make [`Store::append`] atomic
/// and serialised across processes.
#[async_trait]
pub trait Store: Send + Sync {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;
    /// Appends events in one transaction, after the current head, applying projections.
    async fn append(
        &self,
        events: Vec<NewEvent>,
        projectors: &[Arc<dyn Projector>],
    ) -> Result<Vec<Receipt>, StoreError> {
        self.append_with_documents(events, &DocumentChanges::default(), projectors)
            .await
    }
    /// Appends events and, in the same transaction, stores and deletes text documents
    /// (`documents` table) and deletes raw evidence (`evidence_blobs`). A deletion removes the
    /// row and scrubs its bytes from the database files once committed (SQLite:
    /// `secure_delete` and a truncating WAL checkpoint; PostgreSQL: `VACUUM FULL` of the
    /// table).
    async fn append_with_documents(
        &self,
        events: Vec<NewEvent>,
        documents: &DocumentChanges,
        projectors: &[Arc<dyn Projector>],
    ) -> Result<Vec<Receipt>, StoreError>;
    /// A text document by digest (`sha256:<hex>`).
    async fn document(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Scrubs the bytes of deleted documents and raw evidence from the database files (done
    /// after every purge; callable again when that scrub could not finish).
    async fn scrub_documents(&self) -> Result<(), StoreError>;
    /// The current head: size and frontier.
    async fn head(&self) -> Result<Frontier, StoreError>;
    /// Up to `limit` entries starting at `start`, in order.
    async fn entries(&self, start: u64, limit: u64) -> Result<Vec<StoredEntry>, StoreError>;
    /// Stored hashes of complete subtrees (level 0 = leaf hashes). Missing ids are absent.
    async fn nodes(&self, ids: &[NodeId]) -> Result<HashMap<NodeId, Hash>, StoreError>;
    /// Stored subtree hashes of one level (≥ 1), `idx` from `start`, up to `limit`.
    async fn level_nodes(&self, level: u8, start: u64, limit: u64) -> Result<Vec<(u64, Hash)>, StoreError>;
    /// Stores a raw evidence document under its digest (no-op when present).
    async fn put_evidence(&self, digest: &str, data: &[u8]) -> Result<(), StoreError>;
    /// A raw evidence document.
    async fn evidence(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// An out-of-line payload.
    async fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Records a signed checkpoint (idempotent for the same note).
    async fn add_checkpoint(&self, cp: &StoredCheckpoint) -> Result<(), StoreError>;
    /// All checkpoints, ascending by size.
    async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError>;
    /// The checkpoint with the largest size.
    async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// The checkpoint at exactly `size`.
    async fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError>;
    /// A metadata value.
    async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Sets a metadata value.
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;
    /// When web UI session `token_id` was last seen (Unix seconds), as recorded by any process
    /// on this store ([`Store::see_ui_session`]); `None` if never. Operational state beside the
    /// log (not an event, not exported, not checked by fsck): the web UI's idle clock.
    async fn ui_session_seen(&self, token_id: &str) -> Result<Option<i64>, StoreError>;
    /// Records that web UI session `token_id` was seen at `at` (Unix seconds). An earlier time
    /// never replaces a later one, so replicas writing at once cannot wind the clock back.
    async fn see_ui_session(&self, token_id: &str, at: i64) -> Result<(), StoreError>;
    /// Deletes the idle clocks last seen before `before` (Unix seconds; sessions past their
    /// lifetime). Returns how many.
    async fn prune_ui_sessions(&self, before: i64) -> Result<u64, StoreError>;
    /// A projection document.
    async fn projection(&self, collection: &str, key: &str) -> Result<Option<Value>, StoreError>;
    /// All documents of a collection, by key.
    async fn projection_list(&self, collection: &str) -> Result<Vec<(String, Value)>, StoreError>;
    /// The documents of a collection whose keys start with `prefix`, by key (byte order).
    async fn projection_prefix(&self, collection: &str, prefix: &str) -> Result<Vec<(String, Value)>, StoreError>;
    /// [`Store::projection_prefix`] with each document as its JSON text, for a reader that
    /// deserialises straight into its own type (no intermediate `Value`: about half the work
    /// on a large collection).
    async fn projection_prefix_text(&self, collection: &str, prefix: &str)
    -> Result<Vec<(String, String)>, StoreError>;
    /// The documents of [`Store::projection_prefix`] as one JSON array (text), in key order and
    /// without their keys: the database concatenates them, so a large collection of small
    /// documents comes back as one row instead of one row each (the DORA read of 100,000
    /// deployment units). Meant for compact documents: the array is bounded by the database's
    /// largest text value (1 GB on either store).
    async fn projection_prefix_array(&self, collection: &str, prefix: &str) -> Result<String, StoreError>;
    /// The document with the greatest key in `[from, below)` (byte order) of a collection, if
    /// any: one indexed seek, for "the latest before" reads over keys that sort by time.
    async fn projection_last_before(
        &self,
        collection: &str,
        from: &str,
        below: &str,
    ) -> Result<Option<(String, Value)>, StoreError>;
    /// Drops all projections and replays the log through `projectors`, in one transaction.
    async fn rebuild_projections(&self, projectors: &[Arc<dyn Projector>]) -> Result<u64, StoreError>;
    /// Checks stored state against the log, in one read-only snapshot (so concurrent appends by
    /// other processes cannot cause false alarms): replays every entry through `projectors` in
    /// memory and compares the result with every stored projection row (extra, missing,
    /// different), checks every `evidence_blobs`, `ledger_blobs` and `documents` row against its
    /// digest, that every out-of-line payload the log references is stored, and that every text
    /// document it references is stored or purged by a `document.purged` entry (and no stored
    /// one is unreferenced or purged). Writes nothing.
    async fn check_state(&self, projectors: &[Arc<dyn Projector>]) -> Result<StateReport, StoreError>;
    /// Takes the named lock, shared by every process using this store (a PostgreSQL advisory
    /// lock; a file lock beside a SQLite database), waiting for it. Held until the guard drops.
    async fn lock(&self, name: &str) -> Result<StoreLock, StoreError>;
    /// Whether a lock from [`Store::lock`] is held for as long as the process that took it
    /// lives (a SQLite file lock: whoever is granted it knows the last holder's process ended),
    /// or can be lost while it lives (a PostgreSQL advisory lock goes with its session:
    /// `idle_session_timeout`, `pg_terminate_backend`, a failover), so that work under it also
    /// renews a lease ([`Store::renew_lease`]) for the next holder to see.
    fn locks_end_with_their_process(&self) -> bool;
    /// Takes or renews lease `name` for `holder` now, by the database's clock, when it is free,
    /// already `holder`'s, or was last renewed `lapse` or longer ago; `false` (nothing written)
    /// when another holder renewed it more recently. One statement, so two processes renewing
    /// at once never both hold it. Operational state beside the log: not an event, not exported.
    async fn renew_lease(&self, name: &str, holder: &str, lapse: std::time::Duration) -> Result<bool, StoreError>;
    /// Ends `holder`'s lease `name` (nothing when another holds it).
    async fn end_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
    /// Lease `name`: its holder and how long ago it was last renewed, by the database's clock
    /// (one clock for every process sharing the store); `None` if never renewed.
    async fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError>;
}

/// A lease's holder and its age ([`Store::lease`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// Who renewed it last.
    pub holder: String,
    /// How long ago (zero if the database's clock went back).
    pub age: std::time::Duration,
}

/// Text documents written or deleted with an append ([`Store::append_with_documents`]).
#[derive(Clone, Debug, Default)]
pub struct DocumentChanges {
    /// `(digest, bytes)` to store (no-op when present).
    pub put: Vec<(String, Vec<u8>)>,
    /// Digests to delete (a purge).
    pub delete: Vec<String>,
    /// Digests of raw evidence (`evidence_blobs`) to delete (a purge of a file the guard
    /// missed); scrubbed like documents.
    pub delete_evidence: Vec<String>,
}

impl DocumentChanges {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.put.is_empty() && self.delete.is_empty() && self.delete_evidence.is_empty()
    }

    /// Every row a purge deletes, documents first: one loop in each store.
    pub(crate) fn deletions(&self) -> impl Iterator<Item = (Deleted, &str)> {
        let documents = self.delete.iter().map(|d| (Deleted::Document, d.as_str()));
        documents.chain(self.delete_evidence.iter().map(|d| (Deleted::Evidence, d.as_str())))
    }
}

/// Which table a purge deletes a row from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Deleted {
    /// `documents`: a text kept beside the log.
    Document,
    /// `evidence_blobs`: an attested file.
    Evidence,
}

impl Deleted {
    /// The refusal when the row is not there (the whole transaction is rolled back).
    pub(crate) fn missing(self) -> StoreError {
        StoreError::Invalid(match self {
            Deleted::Document => "no such document".into(),
            Deleted::Evidence => "no such evidence".into(),
        })
    }
}

/// A held [`Store::lock`]; dropping it releases the lock.
pub struct StoreLock {
    _held: Box<dyn Send + Sync>,
}

impl StoreLock {
    /// Wraps whatever keeps the lock held.
    pub fn new(held: impl Send + Sync + 'static) -> StoreLock {
        StoreLock { _held: Box::new(held) }
    }
}

impl std::fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreLock")
    }
}

/// A 64-bit key for a lock name (the first 8 bytes of its SHA-256), stable across processes.
pub fn lock_key(name: &str) -> i64 {
    let h = ward_ledger::hash::sha256(name.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    i64::from_be_bytes(b)
}

/// Opens a store from a database URL: `sqlite://PATH` (or a plain path) or `postgres://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        Ok(Arc::new(sqlite::SqliteStore::open(std::path::Path::new(path)).await?))
    }
}

/// A `ledger_checkpoints` row (`size, root, note, created_at`), from either store.
pub(crate) fn checkpoint_from_row<'r, R>(r: &'r R) -> Result<StoredCheckpoint, StoreError>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    Ok(StoredCheckpoint {
        size: to_u64(r.try_get("size")?, "size")?,
        root: hash_from_db(&r.try_get::<Vec<u8>, _>("root")?, "checkpoint root")?,
        note: r.try_get("note")?,
        created_at: r.try_get("created_at")?,
    })
}

pub(crate) fn hash_from_db(bytes: &[u8], what: &str) -> Result<Hash, StoreError> {
    Hash::from_slice(bytes).ok_or_else(|| StoreError::Corrupt(format!("{what} is not a 32-byte hash")))
}

pub(crate) fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Invalid(format!("{v} is out of range")))
}

pub(crate) fn to_u64(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {what}")))
}

/// The documents of `all` whose keys start with `prefix`, as one JSON array (the fallback of
/// [`Store::projection_prefix_array`] when the prefix has no upper bound).
pub(crate) fn array_of(all: Vec<(String, Value)>, prefix: &str) -> String {
    let docs: Vec<Value> = all
        .into_iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(_, v)| v)
        .collect();
    Value::Array(docs).to_string()
}

/// The least string greater than every string that starts with `prefix` (its last character
/// incremented), or `None` when there is none (an empty prefix, or one ending in U+10FFFF).
pub(crate) fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod prefix_tests {
    use super::prefix_upper_bound;

    #[test]
    fn upper_bounds() {
        assert_eq!(prefix_upper_bound("sha256:ab/").as_deref(), Some("sha256:ab0"));
        assert_eq!(prefix_upper_bound("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper_bound("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(prefix_upper_bound(""), None);
    }
}
