//! Projections: state tables derived from the log.
//!
//! A [`Projector`] is a pure function from one sealed event to a list of [`ProjectionOp`]s.
//! The store applies those operations in the same transaction as the event's append, so there is
//! no state without its event and no event without its state; `rebuild` replays the whole log
//! through the projectors and must produce the same tables.

use serde_json::{Value, json};
use ward_ledger::EventEnvelope;

/// One change to a projection document.
#[derive(Clone, Debug, PartialEq)]
pub enum ProjectionOp {
    /// Insert or replace the document `key` of `collection`.
    Put {
        /// Collection (state table) name.
        collection: String,
        /// Document key.
        key: String,
        /// Document.
        doc: Value,
    },
    /// Remove the document `key` of `collection`.
    Delete {
        /// Collection name.
        collection: String,
        /// Document key.
        key: String,
    },
}

impl ProjectionOp {
    /// Puts `payload` (an event's inline payload) as the document `key` of `collection`,
    /// stamped with the event's `seq` and `time`.
    pub fn put_stamped(collection: &str, key: String, e: &EventEnvelope, payload: &Value) -> ProjectionOp {
        let mut doc = payload.clone();
        doc["seq"] = json!(e.seq);
        doc["time"] = json!(e.time);
        ProjectionOp::Put {
            collection: collection.into(),
            key,
            doc,
        }
    }
}

/// A pure mapping from events to projection changes.
pub trait Projector: Send + Sync {
    /// The projector's name (for diagnostics).
    fn name(&self) -> &'static str;
    /// The changes one event causes.
    fn project(&self, event: &EventEnvelope) -> Vec<ProjectionOp>;
    /// Whether a new event may be appended at all: a projector may refuse what must never
    /// reach the log (e.g. PHI or a secret). Asked before anything is written; the reason must
    /// not repeat the refused content. Never asked when replaying the log.
    fn admit(&self, _event: &ward_ledger::NewEvent) -> Result<(), String> {
        Ok(())
    }
}

/// Built-in projection `subjects`: for each subject, its latest event.
pub struct SubjectIndex;

impl Projector for SubjectIndex {
    fn name(&self) -> &'static str {
        "subjects"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        vec![ProjectionOp::Put {
            collection: "subjects".into(),
            key: e.subject.clone(),
            doc: json!({
                "last_seq": e.seq,
                "last_kind": e.kind,
                "last_time": e.time,
                "last_actor": e.actor.id,
            }),
        }]
    }
}

/// Built-in projection `actors`: every identity seen, with its kind and latest event.
pub struct ActorIndex;

impl Projector for ActorIndex {
    fn name(&self) -> &'static str {
        "actors"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        vec![ProjectionOp::Put {
            collection: "actors".into(),
            key: e.actor.id.clone(),
            doc: json!({ "kind": e.actor.kind, "last_seq": e.seq, "last_time": e.time }),
        }]
    }
}

/// The projectors every store runs by default.
pub fn default_projectors() -> Vec<std::sync::Arc<dyn Projector>> {
    vec![std::sync::Arc::new(SubjectIndex), std::sync::Arc::new(ActorIndex)]
}

/// The net effect of a sequence of operations: for each (collection, key) only the last
/// operation matters, so a batch writes each document at most once.
#[derive(Debug, Default, PartialEq)]
pub struct NetChanges {
    /// Final documents: (seq of the event that wrote it, collection, key, document).
    pub puts: Vec<(u64, String, String, Value)>,
    /// Documents removed: (collection, key).
    pub deletes: Vec<(String, String)>,
}

/// Reduces ordered operations to their net effect, keeping first-seen key order.
pub fn coalesce(ops: &[(u64, ProjectionOp)]) -> NetChanges {
    use std::collections::HashMap;
    let mut last: HashMap<(&str, &str), usize> = HashMap::new();
    let mut order: Vec<(&str, &str)> = Vec::new();
    for (i, (_, op)) in ops.iter().enumerate() {
        let k = match op {
            ProjectionOp::Put { collection, key, .. } | ProjectionOp::Delete { collection, key } => {
                (collection.as_str(), key.as_str())
            }
        };
        if last.insert(k, i).is_none() {
            order.push(k);
        }
    }
    let mut net = NetChanges::default();
    for k in order {
        match &ops[last[&k]] {
            (seq, ProjectionOp::Put { collection, key, doc }) => {
                net.puts.push((*seq, collection.clone(), key.clone(), doc.clone()))
            }
            (_, ProjectionOp::Delete { collection, key }) => net.deletes.push((collection.clone(), key.clone())),
        }
    }
    net
}

/// How stored state differs from what the log explains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// A stored row the log does not produce (e.g. a row inserted directly into the table).
    Extra,
    /// A row the log produces that is not stored (or a referenced blob that is absent).
    Missing,
    /// Stored and derived differ (document, its sequence number, or bytes against their digest).
    Different,
}

impl DiffKind {
    fn as_str(self) -> &'static str {
        match self {
            DiffKind::Extra => "extra",
            DiffKind::Missing => "missing",
            DiffKind::Different => "different",
        }
    }
}

/// One difference between stored state and the log. Documents and blobs are named by their
/// SHA-256 digests, never by their contents (which may hold secrets or PHI).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StateDiff {
    /// Projection collection, or the table `evidence_blobs` / `ledger_blobs` / `documents`.
    pub collection: String,
    /// Document key, or the blob's digest.
    pub key: String,
    /// What is wrong.
    pub kind: DiffKind,
    /// Digest of what is stored (`sha256:<hex>`; for a projection, of its canonical JSON and
    /// `@seq`), if anything is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<String>,
    /// Digest of what the log (or the blob's own key) says should be there, if anything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
}

impl std::fmt::Display for StateDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}: {}", self.collection, self.key, self.kind.as_str())?;
        match (&self.stored, &self.expected) {
            (Some(s), Some(e)) => write!(f, " (stored {s}, log gives {e})"),
            (Some(s), None) => write!(f, " (stored {s}, not derived from the log)"),
            (None, Some(e)) => write!(f, " (log gives {e}, nothing stored)"),
            (None, None) => Ok(()),
        }
    }
}

/// Result of checking stored state against the log ([`crate::Store::check_state`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct StateReport {
    /// Entries replayed through the projectors.
    pub entries: u64,
    /// Stored projection documents compared.
    pub documents: u64,
    /// Stored blobs (evidence and out-of-line payloads) checked against their digests.
    pub blobs: u64,
    /// Differences found, in all.
    pub difference_count: u64,
    /// The first [`MAX_DIFFS`] differences.
    pub differences: Vec<StateDiff>,
}

/// Most differences a [`StateReport`] lists.
pub const MAX_DIFFS: usize = 100;

/// How many bytes of out-of-line payloads a rebuild holds before it writes what it projected
/// (a chunk of 2,000 entries could otherwise hold 2,000 payloads of up to 4 MiB each).
pub const REBUILD_HELD_BYTES: usize = 32 << 20;

/// Entry `seq` as a rebuild projects it: with its whole payload (`stored`, read back by its
/// digest). An out-of-line payload that is missing, or is not the bytes its digest names, fails
/// the rebuild: projected as `{"digest": …}` in its place, a change or a key's check would
/// silently be missing from the tables the rebuild leaves behind.
pub fn rebuilt_entry(seq: i64, leaf: &[u8], stored: Option<&[u8]>) -> Result<EventEnvelope, crate::StoreError> {
    let env = EventEnvelope::from_leaf(leaf).map_err(|e| crate::StoreError::Corrupt(format!("entry {seq}: {e}")))?;
    let whole = env.with_payload(stored);
    if let ward_ledger::Payload::Digest { sha256, .. } = &whole.payload {
        return Err(crate::StoreError::Corrupt(format!(
            "entry {seq}: its out-of-line payload {sha256} is missing or damaged, so the tables cannot be derived (`ward log fsck` lists every such entry); restore the store from a backup"
        )));
    }
    Ok(whole)
}

impl StateReport {
    /// Whether stored state is exactly what the log explains.
    pub fn ok(&self) -> bool {
        self.difference_count == 0
    }

    /// Records a difference.
    pub fn push(&mut self, d: StateDiff) {
        self.difference_count += 1;
        if self.differences.len() < MAX_DIFFS {
            self.differences.push(d);
        }
    }
}

/// Digest of a projection document as stored: its RFC 8785 canonical JSON, then `@seq` (so the
/// digest does not depend on how a database re-encodes JSON, e.g. PostgreSQL `jsonb`).
pub fn doc_digest(doc: &Value, seq: u64) -> ward_ledger::Hash {
    let mut bytes = ward_ledger::envelope::canonical_json(doc).unwrap_or_else(|_| doc.to_string().into_bytes());
    bytes.extend_from_slice(format!("@{seq}").as_bytes());
    ward_ledger::hash::sha256(&bytes)
}

fn sha(h: &ward_ledger::Hash) -> String {
    format!("sha256:{}", h.to_hex())
}

/// Whether `data` is what `digest` (`sha256:<lowercase hex>`) names.
pub fn blob_matches(digest: &str, data: &[u8]) -> bool {
    digest == sha(&ward_ledger::hash::sha256(data))
}

/// Checks one stored blob of `table` against its digest key.
pub fn check_blob(report: &mut StateReport, table: &str, digest: &str, data: &[u8]) {
    report.blobs += 1;
    if !blob_matches(digest, data) {
        report.push(StateDiff {
            collection: table.into(),
            key: digest.into(),
            kind: DiffKind::Different,
            stored: Some(sha(&ward_ledger::hash::sha256(data))),
            expected: Some(digest.into()),
        });
    }
}

/// The projections the log explains, folded event by event (pure; no store access). Only
/// digests of documents are kept, so memory grows with the number of keys, not their size.
#[derive(Default)]
pub struct DerivedState {
    docs: std::collections::HashMap<(String, String), ward_ledger::Hash>,
    payloads: std::collections::BTreeSet<String>,
    entries: u64,
    /// Documents referenced by the log (digest → first entry), and those purged.
    doc_refs: std::collections::BTreeMap<String, u64>,
    purged: std::collections::BTreeSet<String>,
    /// Raw evidence purged.
    purged_evidence: std::collections::BTreeSet<String>,
    /// Raw files the log references (an attestation's file, and what Ward keeps as its own
    /// record: a gate decision's input and policy, a configuration, an output, a large
    /// observation; `ward_ledger::bundle::stored_references`: digest → first entry), and those
    /// stored.
    evidence_refs: std::collections::BTreeMap<String, u64>,
    evidence_present: std::collections::BTreeSet<String>,
    /// Out-of-line payloads of kinds that reference raw files: digest → (kind, entry).
    evidence_payloads: std::collections::HashMap<String, (String, u64)>,
    /// Documents stored.
    doc_present: std::collections::BTreeSet<String>,
}

impl DerivedState {
    /// Applies the stored entry `seq` (its leaf bytes), which must be entry `self.entries` of
    /// the log: the one check both stores make while replaying for the state check.
    pub fn apply_entry(
        &mut self,
        seq: u64,
        leaf: &[u8],
        stored_payload: Option<&[u8]>,
        projectors: &[std::sync::Arc<dyn Projector>],
    ) -> Result<(), crate::StoreError> {
        if seq != self.entries {
            return Err(crate::StoreError::Corrupt(format!("entry {} is missing", self.entries)));
        }
        let env =
            EventEnvelope::from_leaf(leaf).map_err(|e| crate::StoreError::Corrupt(format!("entry {seq}: {e}")))?;
        let (refs, purged) = ward_ledger::documents::scan(leaf);
        for d in refs {
            self.doc_refs.entry(d).or_insert(seq);
        }
        if let Some(p) = purged {
            if p.evidence {
                self.purged_evidence.insert(p.digest.clone());
            }
            if p.document {
                self.purged.insert(p.digest);
            }
        }
        match &env.payload {
            ward_ledger::Payload::Inline(p) => self.reference_evidence(&env.kind, p, seq),
            // Read when its blob is checked.
            ward_ledger::Payload::Digest { sha256, .. } => {
                if ward_ledger::bundle::references_stored_bytes(&env.kind) {
                    self.evidence_payloads.insert(sha256.clone(), (env.kind.clone(), seq));
                }
            }
        }
        if let ward_ledger::Payload::Digest { sha256, .. } = &env.payload {
            self.payloads.insert(sha256.clone());
        }
        // Projected with its whole payload, as on append.
        self.apply(&env.with_payload(stored_payload), projectors);
        Ok(())
    }

    /// Applies one event through `projectors`, as an append would.
    pub fn apply(&mut self, e: &EventEnvelope, projectors: &[std::sync::Arc<dyn Projector>]) {
        self.entries += 1;
        if let ward_ledger::Payload::Digest { sha256, .. } = &e.payload {
            self.payloads.insert(sha256.clone());
        }
        for p in projectors {
            for op in p.project(e) {
                match op {
                    ProjectionOp::Put { collection, key, doc } => {
                        self.docs.insert((collection, key), doc_digest(&doc, e.seq));
                    }
                    ProjectionOp::Delete { collection, key } => {
                        self.docs.remove(&(collection, key));
                    }
                }
            }
        }
    }

    /// Notes the raw evidence an entry's payload references.
    fn reference_evidence(&mut self, kind: &str, payload: &Value, seq: u64) {
        for d in ward_ledger::bundle::stored_references(kind, payload) {
            // Ward writes these kinds itself (callers cannot); a malformed one is the bundle
            // verifier's to refuse.
            if ward_ledger::documents::is_digest(&d) {
                self.evidence_refs.entry(d).or_insert(seq);
            }
        }
    }

    /// Entries applied so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Compares one stored projection row with the derived state (call once per stored row).
    pub fn check_row(&mut self, report: &mut StateReport, collection: &str, key: &str, doc: &Value, seq: u64) {
        report.documents += 1;
        let stored = doc_digest(doc, seq);
        match self.docs.remove(&(collection.to_string(), key.to_string())) {
            Some(expected) if expected == stored => {}
            Some(expected) => report.push(StateDiff {
                collection: collection.into(),
                key: key.into(),
                kind: DiffKind::Different,
                stored: Some(sha(&stored)),
                expected: Some(sha(&expected)),
            }),
            None => report.push(StateDiff {
                collection: collection.into(),
                key: key.into(),
                kind: DiffKind::Extra,
                stored: Some(sha(&stored)),
                expected: None,
            }),
        }
    }

    /// A stored row whose document is not JSON at all.
    pub fn unreadable_row(&mut self, report: &mut StateReport, collection: &str, key: &str, raw: &[u8]) {
        report.documents += 1;
        let expected = self.docs.remove(&(collection.to_string(), key.to_string()));
        report.push(StateDiff {
            collection: collection.into(),
            key: key.into(),
            kind: if expected.is_some() {
                DiffKind::Different
            } else {
                DiffKind::Extra
            },
            stored: Some(sha(&ward_ledger::hash::sha256(raw))),
            expected: expected.as_ref().map(sha),
        });
    }

    /// Checks one stored out-of-line payload blob against its digest, and marks it present.
    pub fn check_payload_blob(&mut self, report: &mut StateReport, digest: &str, data: &[u8]) {
        self.payloads.remove(digest);
        check_blob(report, "ledger_blobs", digest, data);
        if let Some((kind, seq)) = self.evidence_payloads.remove(digest)
            && let Ok(p) = serde_json::from_slice::<Value>(data)
        {
            self.reference_evidence(&kind, &p, seq);
        }
        let (refs, _) = ward_ledger::documents::scan(data);
        for d in refs {
            self.doc_refs.entry(d).or_insert(u64::MAX);
        }
    }

    /// Checks one stored raw evidence file against its digest; one a `document.purged` entry
    /// deleted is extra (its bytes came back after the purge).
    pub fn check_evidence(&mut self, report: &mut StateReport, digest: &str, data: &[u8]) {
        check_blob(report, "evidence_blobs", digest, data);
        self.evidence_present.insert(digest.to_string());
        if self.purged_evidence.contains(digest) {
            report.push(StateDiff {
                collection: "evidence_blobs".into(),
                key: digest.into(),
                kind: DiffKind::Extra,
                stored: Some(digest.into()),
                expected: None,
            });
        }
    }

    /// Checks one stored text document against its digest, and marks it present.
    pub fn check_document(&mut self, report: &mut StateReport, digest: &str, data: &[u8]) {
        self.doc_present.insert(digest.to_string());
        check_blob(report, "documents", digest, data);
    }

    /// After every stored row and payload blob was checked: what the log explains but is not
    /// stored.
    pub fn finish(self, report: &mut StateReport) {
        report.entries = self.entries;
        let mut missing: Vec<((String, String), ward_ledger::Hash)> = self.docs.into_iter().collect();
        missing.sort_by(|a, b| a.0.cmp(&b.0));
        for ((collection, key), expected) in missing {
            report.push(StateDiff {
                collection,
                key,
                kind: DiffKind::Missing,
                stored: None,
                expected: Some(sha(&expected)),
            });
        }
        for digest in self.payloads {
            report.push(StateDiff {
                collection: "ledger_blobs".into(),
                key: digest.clone(),
                kind: DiffKind::Missing,
                stored: None,
                expected: Some(digest),
            });
        }
        // A referenced document is stored, or a `document.purged` entry deleted it; a stored one
        // is referenced and not purged.
        for digest in self.doc_refs.keys() {
            if !self.doc_present.contains(digest) && !self.purged.contains(digest) {
                report.push(StateDiff {
                    collection: "documents".into(),
                    key: digest.clone(),
                    kind: DiffKind::Missing,
                    stored: None,
                    expected: Some(digest.clone()),
                });
            }
        }
        // Raw evidence the log references is stored, or a purge of raw evidence deleted it.
        for digest in self.evidence_refs.keys() {
            if !self.evidence_present.contains(digest) && !self.purged_evidence.contains(digest) {
                report.push(StateDiff {
                    collection: "evidence_blobs".into(),
                    key: digest.clone(),
                    kind: DiffKind::Missing,
                    stored: None,
                    expected: Some(digest.clone()),
                });
            }
        }
        for digest in &self.doc_present {
            if !self.doc_refs.contains_key(digest) || self.purged.contains(digest) {
                report.push(StateDiff {
                    collection: "documents".into(),
                    key: digest.clone(),
                    kind: DiffKind::Extra,
                    stored: Some(digest.clone()),
                    expected: None,
                });
            }
        }
    }
}

/// Reads `(key, doc)` rows of the `projections` table (either store) into documents.
pub(crate) fn documents<R>(rows: &[R]) -> Result<Vec<(String, Value)>, crate::StoreError>
where
    R: sqlx::Row,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|r| {
            let doc: String = r.try_get("doc")?;
            let v = serde_json::from_str(&doc)
                .map_err(|e| crate::StoreError::Corrupt(format!("projection document: {e}")))?;
            Ok((r.try_get("key")?, v))
        })
        .collect()
}

/// The `key` and `doc` (JSON text, unparsed) of each row.
pub(crate) fn texts<R>(rows: &[R]) -> Result<Vec<(String, String)>, crate::StoreError>
where
    R: sqlx::Row,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    rows.iter()
        .map(|r| Ok((r.try_get("key")?, r.try_get("doc")?)))
        .collect()
}

/// Parses the documents of [`texts`].
pub(crate) fn parsed(texts: Vec<(String, String)>) -> Result<Vec<(String, Value)>, crate::StoreError> {
    texts
        .into_iter()
        .map(|(k, doc)| {
            let v = serde_json::from_str(&doc)
                .map_err(|e| crate::StoreError::Corrupt(format!("projection document: {e}")))?;
            Ok((k, v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(c: &str, k: &str, v: i64) -> ProjectionOp {
        ProjectionOp::Put {
            collection: c.into(),
            key: k.into(),
            doc: json!(v),
        }
    }

    #[test]
    fn doc_digest_ignores_encoding_but_not_content_or_seq() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":[1.0,"x"]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{ "a" : [1, "x"], "b" : 1 }"#).unwrap();
        assert_eq!(doc_digest(&a, 4), doc_digest(&b, 4));
        assert_ne!(doc_digest(&a, 4), doc_digest(&a, 5));
        assert_ne!(doc_digest(&a, 4), doc_digest(&json!({"b": 2, "a": [1, "x"]}), 4));
    }

    #[test]
    fn derived_state_names_extra_missing_and_different_rows() {
        let mut d = DerivedState::default();
        d.docs.insert(("c".into(), "same".into()), doc_digest(&json!(1), 1));
        d.docs.insert(("c".into(), "changed".into()), doc_digest(&json!(1), 2));
        d.docs.insert(("c".into(), "gone".into()), doc_digest(&json!(1), 3));
        let mut r = StateReport::default();
        d.check_row(&mut r, "c", "same", &json!(1), 1);
        d.check_row(&mut r, "c", "changed", &json!({"role": "admin"}), 2);
        d.check_row(&mut r, "tokens", "forged", &json!({"secret": "s3cr3t"}), 9);
        d.unreadable_row(&mut r, "c", "junk", b"{not json");
        d.finish(&mut r);
        let kinds: Vec<(&str, DiffKind)> = r.differences.iter().map(|x| (x.key.as_str(), x.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("changed", DiffKind::Different),
                ("forged", DiffKind::Extra),
                ("junk", DiffKind::Extra),
                ("gone", DiffKind::Missing)
            ]
        );
        assert_eq!((r.documents, r.difference_count), (4, 4));
        let text: String = r.differences.iter().map(ToString::to_string).collect();
        assert!(!text.contains("s3cr3t") && !text.contains("admin"), "{text}");
    }

    #[test]
    fn blobs_must_match_their_digest_exactly() {
        let digest = format!("sha256:{}", ward_ledger::hash::sha256(b"abc").to_hex());
        assert!(blob_matches(&digest, b"abc"));
        assert!(!blob_matches(&digest, b"abd"));
        assert!(!blob_matches(&digest.to_uppercase(), b"abc"));
        assert!(!blob_matches("sha256:", b""));
        let mut r = StateReport::default();
        check_blob(&mut r, "evidence_blobs", &digest, b"abd");
        assert_eq!(r.differences[0].expected.as_deref(), Some(digest.as_str()));
        assert_eq!(r.blobs, 1);
    }

    #[test]
    fn coalesce_keeps_the_last_operation_per_key() {
        let ops = vec![
            (1, put("a", "x", 1)),
            (2, put("a", "y", 2)),
            (3, put("a", "x", 3)),
            (
                4,
                ProjectionOp::Delete {
                    collection: "a".into(),
                    key: "y".into(),
                },
            ),
            (5, put("b", "x", 5)),
            (
                6,
                ProjectionOp::Delete {
                    collection: "b".into(),
                    key: "z".into(),
                },
            ),
            (7, put("b", "z", 7)),
        ];
        let net = coalesce(&ops);
        assert_eq!(
            net.puts,
            vec![
                (3, "a".into(), "x".into(), json!(3)),
                (5, "b".into(), "x".into(), json!(5)),
                (7, "b".into(), "z".into(), json!(7))
            ]
        );
        assert_eq!(net.deletes, vec![("a".into(), "y".into())]);
    }
}
