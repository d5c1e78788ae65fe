//! Evidence bundles, the format pieces (pure): the file layout, the manifest, the C2SP
//! tlog-proof text format (<https://c2sp.org/tlog-proof>) and the offline verification of a
//! bundle's files against the log's verifier key. docs/BUNDLE.md is the specification; this
//! module and `tools/verify_bundle.py` implement it.
//!
//! A bundle is a set of named files: `manifest.json`, `checkpoint` (one signed C2SP
//! checkpoint), `entries/<seq>.json` (the leaf bytes of every entry concerned),
//! `proofs/<seq>.tlog-proof` (each entry's inclusion proof to that checkpoint),
//! `documents/sha256-<hex>`, `evidence/sha256-<hex>` and `blobs/sha256-<hex>` (content-addressed
//! bytes the entries reference) and `report.html` / `report.md` (what a person reads).
//! Everything the report states rests on the entries, which rest on the signed checkpoint;
//! everything else is bound to an entry by its digest.

use crate::checkpoint::Checkpoint;
use crate::documents;
use crate::envelope::{EventEnvelope, Payload};
use crate::hash::{Hash, leaf_hash, sha256};
use crate::note::NoteVerifier;
use crate::proof::verify_inclusion;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The bundle format this code writes and verifies.
pub const FORMAT: &str = "ward.bundle/v1";
/// First line of a C2SP tlog-proof.
pub const PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// The manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The signed checkpoint's file name.
pub const CHECKPOINT: &str = "checkpoint";
/// The report a person reads (HTML, self-contained).
pub const REPORT_HTML: &str = "report.html";
/// The same report in Markdown.
pub const REPORT_MD: &str = "report.md";
/// Most hashes a proof may hold (a tree of 2^64 leaves needs 64).
const MAX_PROOF_HASHES: usize = 64;

/// Path of an entry's leaf bytes.
pub fn entry_path(seq: u64) -> String {
    format!("entries/{seq}.json")
}

/// Path of an entry's inclusion proof.
pub fn proof_path(seq: u64) -> String {
    format!("proofs/{seq}.tlog-proof")
}

/// Path of a text document (`sha256:<hex>`).
pub fn document_path(digest: &str) -> String {
    format!("documents/{}", digest.replace(':', "-"))
}

/// Path of a raw evidence document: an attestation's bytes, a gate decision's input or policy.
pub fn evidence_path(digest: &str) -> String {
    format!("evidence/{}", digest.replace(':', "-"))
}

/// Path of an out-of-line payload.
pub fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replace(':', "-"))
}

/// One entry as the manifest lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EntryRef {
    /// Leaf index.
    pub seq: u64,
    /// Event kind (informative; checked against the entry).
    pub kind: String,
}

/// The checkpoint as the manifest describes it (informative; a verifier learns size and root
/// only from the signed checkpoint).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRef {
    /// Tree size.
    pub size: u64,
    /// Root hash, base64.
    pub root: String,
}

/// `manifest.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    /// [`FORMAT`].
    pub format: String,
    /// The query that defined the bundle, e.g. `{"change":"CHG-1a2b3c4d"}`.
    pub query: Value,
    /// When the bundle was made (RFC 3339 UTC).
    pub created: String,
    /// The log's origin, which is also the name of its verifier key.
    pub key_name: String,
    /// The checkpoint every proof leads to.
    pub checkpoint: CheckpointRef,
    /// The renderer that wrote `report.html` and `report.md` (e.g. `ward.report/1`): a verifier
    /// with the same renderer renders them again and compares; another says it did not.
    pub report_renderer: String,
    /// How many of each thing the bundle holds.
    pub counts: BTreeMap<String, u64>,
    /// Every entry concerned, ascending by `seq`.
    pub entries: Vec<EntryRef>,
    /// `sha256:<hex>` of every file of the bundle but the manifest, by path.
    pub files: BTreeMap<String, String>,
}

/// A C2SP tlog-proof: an entry's index, its inclusion proof and the signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Optional opaque data (Ward writes none).
    pub extra: Option<Vec<u8>>,
    /// Leaf index.
    pub index: u64,
    /// Inclusion proof, leaf to root.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, verbatim.
    pub checkpoint: String,
}

impl TlogProof {
    /// The text form.
    pub fn to_text(&self) -> String {
        let mut s = format!("{PROOF_HEADER}\n");
        if let Some(e) = &self.extra {
            s.push_str(&format!("extra {}\n", B64.encode(e)));
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.hashes {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Parses the text form strictly (the checkpoint is returned unopened).
    pub fn parse(bytes: &[u8]) -> Result<TlogProof, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())?;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| "no blank line before the checkpoint".to_string())?;
        let mut lines = head.split('\n');
        if lines.next() != Some(PROOF_HEADER) {
            return Err(format!("first line is not {PROOF_HEADER}"));
        }
        let mut line = lines.next().ok_or("missing index line")?;
        let mut extra = None;
        if let Some(b) = line.strip_prefix("extra ") {
            extra = Some(B64.decode(b).map_err(|_| "extra is not base64".to_string())?);
            line = lines.next().ok_or("missing index line")?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or("the index line must be `index <decimal>`")?;
        let mut hashes = Vec::new();
        for l in lines {
            let h = B64
                .decode(l)
                .ok()
                .and_then(|b| Hash::from_slice(&b))
                .ok_or("a proof line is not a base64 32-byte hash")?;
            hashes.push(h);
            if hashes.len() > MAX_PROOF_HASHES {
                return Err("too many proof hashes".into());
            }
        }
        if checkpoint.is_empty() {
            return Err("no checkpoint after the blank line".into());
        }
        Ok(TlogProof {
            extra,
            index,
            hashes,
            checkpoint: checkpoint.to_string(),
        })
    }
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

/// `sha256:<hex>` of a file.
pub fn file_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256(bytes).to_hex())
}

/// Why a bundle failed verification: the file (and entry, when one is to blame) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleError {
    /// The file to blame (`entries/12.json`, `checkpoint`, …).
    pub file: String,
    /// The entry to blame, when there is one.
    pub entry: Option<u64>,
    /// What is wrong.
    pub reason: String,
}

impl BundleError {
    /// A failure of `file`.
    pub fn new(file: impl Into<String>, reason: impl Into<String>) -> BundleError {
        BundleError {
            file: file.into(),
            entry: None,
            reason: reason.into(),
        }
    }
    /// A failure of an entry (its leaf file named).
    pub fn entry(seq: u64, file: impl Into<String>, reason: impl Into<String>) -> BundleError {
        BundleError {
            file: file.into(),
            entry: Some(seq),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.entry {
            Some(seq) => write!(f, "entry {seq} ({}): {}", self.file, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

impl std::error::Error for BundleError {}

/// A document or raw evidence an entry references that the bundle does not carry because a
/// `document.purged` entry of the bundle deleted it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Purged {
    /// `sha256:<hex>`.
    pub digest: String,
    /// The `document.purged` entry.
    pub purged_by: u64,
    /// Raw evidence (`evidence/`), not a text document.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub evidence: bool,
}

/// What a verified bundle holds, every part of it checked.
#[derive(Clone, Debug)]
pub struct VerifiedBundle {
    /// The manifest (its hashes checked; its other fields are informative).
    pub manifest: BundleManifest,
    /// The opened checkpoint.
    pub checkpoint: Checkpoint,
    /// Every entry, included in the checkpoint's tree, ascending by seq.
    pub entries: Vec<EventEnvelope>,
    /// Inline payload of each entry (out-of-line ones resolved from `blobs/`), by seq.
    pub payloads: BTreeMap<u64, Value>,
    /// Text documents by digest, each matching its digest and referenced by an entry.
    pub documents: BTreeMap<String, Vec<u8>>,
    /// Raw evidence by digest, each matching its digest and referenced by an entry.
    pub evidence: BTreeMap<String, Vec<u8>>,
    /// Out-of-line payloads verified.
    pub blobs: usize,
    /// Referenced documents and raw evidence absent because a bundled entry purged them.
    pub purged: Vec<Purged>,
}

/// The raw evidence an entry references: an attestation's bytes (`attestation.added`:
/// `payload.id`), a gate decision's input and policy (`gate.evaluated`: `payload.input_digest`,
/// `payload.policy_digest`).
pub fn evidence_references(kind: &str, payload: &Value) -> Vec<String> {
    evidence_fields(kind)
        .iter()
        .filter_map(|f| payload.get(*f).and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// Whether entries of `kind` reference raw evidence ([`evidence_references`]).
pub fn references_evidence(kind: &str) -> bool {
    !evidence_fields(kind).is_empty()
}

fn evidence_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "attestation.added" => &["id"],
        "gate.evaluated" => &["input_digest", "policy_digest"],
        _ => &[],
    }
}

/// Entries Ward writes that keep bytes beside the log as its own record, by kind prefix, and
/// the fields (at any depth: a deployment's runs, a rollout's tenants) that name those bytes:
/// decisions, deployments, rollbacks and restores are replayed from them. The one table for
/// the purge (which never deletes such bytes) and `ward log fsck` (which reports them
/// `missing` when they are deleted behind the log's back).
pub const OWN_RECORD_FIELDS: &[(&str, &[&str])] = &[
    ("gate.", &["input_digest", "policy_digest"]),
    ("config.published", &["digest"]),
    ("deployment.", &["config_digest", "output_digest"]),
    ("rollout.", &["config_digest", "output_digest", "tenant_configs"]),
    ("drill.", &["config_digest", "output_digest"]),
    ("drift.", &["full_observation"]),
];

/// The fields of [`OWN_RECORD_FIELDS`] for entries of `kind` (`None`: it keeps no bytes).
pub fn own_record_fields(kind: &str) -> Option<&'static [&'static str]> {
    OWN_RECORD_FIELDS
        .iter()
        .find(|(prefix, _)| kind.starts_with(prefix))
        .map(|(_, fields)| *fields)
}

/// Whether `value` holds `digest` as a whole string under one of `fields` (at any depth), or
/// anywhere when `fields` is `None`. `under` says the walk is already inside such a field.
pub fn names_digest(value: &Value, digest: &str, fields: Option<&[&str]>, under: bool) -> bool {
    let mut found = false;
    walk_named(value, fields, under, &mut |s| found |= s == digest);
    found
}

/// Calls `seen` with every string under one of `fields` (at any depth), or every string when
/// `fields` is `None`.
fn walk_named(value: &Value, fields: Option<&[&str]>, under: bool, seen: &mut dyn FnMut(&str)) {
    match value {
        Value::String(s) if under || fields.is_none() => seen(s),
        Value::Array(items) => items.iter().for_each(|v| walk_named(v, fields, under, seen)),
        Value::Object(map) => {
            for (k, v) in map {
                let listed = fields.is_some_and(|f| f.contains(&k.as_str()));
                walk_named(v, fields, under || listed, seen);
            }
        }
        _ => {}
    }
}

/// Every raw file beside the log an entry needs: its [`evidence_references`] and the digests
/// it keeps as Ward's own record ([`OWN_RECORD_FIELDS`]; strings there that are no digest, such
/// as a tenant's name, are skipped). What `ward log fsck` checks is stored or purged.
pub fn stored_references(kind: &str, payload: &Value) -> Vec<String> {
    let mut out = evidence_references(kind, payload);
    if let Some(fields) = own_record_fields(kind) {
        walk_named(payload, Some(fields), false, &mut |s| {
            if crate::documents::is_digest(s) && !out.iter().any(|d| d == s) {
                out.push(s.to_string());
            }
        });
    }
    out
}

/// Whether entries of `kind` need raw files beside the log ([`stored_references`]).
pub fn references_stored_bytes(kind: &str) -> bool {
    references_evidence(kind) || own_record_fields(kind).is_some()
}

/// Verifies a bundle's files offline against the log's verifier key (whose name is the log's
/// origin), in the order docs/BUNDLE.md gives, and returns the first failure:
/// 1. every file against the manifest, and every file listed present;
/// 2. the checkpoint's signature against the key;
/// 3. every entry's proof against the checkpoint (the proof's own checkpoint must be the
///    bundle's, byte for byte), and its position and kind against the manifest;
/// 4. every document, evidence and blob file against its name, and bound to an entry; every
///    reference of an entry present, or a document or raw evidence purged by a bundled entry.
///
/// A bundle without entries is refused: nothing would have been verified.
pub fn verify(files: &BTreeMap<String, Vec<u8>>, verifier: &dyn NoteVerifier) -> Result<VerifiedBundle, BundleError> {
    let manifest_bytes = files
        .get(MANIFEST)
        .ok_or_else(|| BundleError::new(MANIFEST, "missing: this is not a Ward bundle"))?;
    let manifest: BundleManifest = serde_json::from_slice(manifest_bytes)
        .map_err(|e| BundleError::new(MANIFEST, format!("not a bundle manifest: {e}")))?;
    if manifest.format != FORMAT {
        return Err(BundleError::new(
            MANIFEST,
            format!("format {:?} is not {FORMAT}", manifest.format),
        ));
    }
    // 1. Files against the manifest (each hashed once; later checks reuse the digest).
    let mut digests: BTreeMap<&str, String> = BTreeMap::new();
    for (path, bytes) in files {
        if path == MANIFEST {
            continue;
        }
        let digest = file_digest(bytes);
        match manifest.files.get(path) {
            None => return Err(BundleError::new(path, "not listed in manifest.json")),
            Some(d) if *d != digest => {
                return Err(BundleError::new(path, "sha256 does not match manifest.json"));
            }
            Some(_) => {}
        }
        digests.insert(path.as_str(), digest);
    }
    if let Some(missing) = manifest.files.keys().find(|p| !files.contains_key(*p)) {
        return Err(BundleError::new(missing, "listed in manifest.json but missing"));
    }
    // 2. The checkpoint.
    let cp_bytes = files
        .get(CHECKPOINT)
        .ok_or_else(|| BundleError::new(CHECKPOINT, "missing"))?;
    let checkpoint = Checkpoint::open(cp_bytes, verifier.name(), verifier)
        .map_err(|e| BundleError::new(CHECKPOINT, format!("does not verify with the key: {e}")))?;
    if manifest.key_name != verifier.name() {
        return Err(BundleError::new(
            MANIFEST,
            format!(
                "key_name {:?} is not the verifier key's {:?}",
                manifest.key_name,
                verifier.name()
            ),
        ));
    }
    if manifest.checkpoint.size != checkpoint.size || manifest.checkpoint.root != checkpoint.root.to_base64() {
        return Err(BundleError::new(
            MANIFEST,
            "its checkpoint size and root are not the signed checkpoint's",
        ));
    }
    if manifest.entries.is_empty() {
        return Err(BundleError::new(
            MANIFEST,
            "the bundle holds no log entry: nothing could be verified",
        ));
    }
    // 3. Entries and proofs.
    let mut entries = Vec::with_capacity(manifest.entries.len());
    let mut payloads = BTreeMap::new();
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    let mut last: Option<u64> = None;
    for r in &manifest.entries {
        if last.is_some_and(|l| r.seq <= l) {
            return Err(BundleError::new(
                MANIFEST,
                format!("entry {} is listed out of order or twice", r.seq),
            ));
        }
        last = Some(r.seq);
        let (epath, ppath) = (entry_path(r.seq), proof_path(r.seq));
        let leaf = files
            .get(&epath)
            .ok_or_else(|| BundleError::entry(r.seq, &epath, "missing"))?;
        let proof_bytes = files
            .get(&ppath)
            .ok_or_else(|| BundleError::entry(r.seq, &ppath, "missing"))?;
        claimed.insert(epath.clone());
        claimed.insert(ppath.clone());
        let proof =
            TlogProof::parse(proof_bytes).map_err(|e| BundleError::entry(r.seq, &ppath, format!("bad proof: {e}")))?;
        if proof.checkpoint.as_bytes() != cp_bytes.as_slice() {
            return Err(BundleError::entry(
                r.seq,
                &ppath,
                "its checkpoint is not the bundle's checkpoint",
            ));
        }
        if proof.index != r.seq {
            return Err(BundleError::entry(
                r.seq,
                &ppath,
                format!("proves index {}, not {}", proof.index, r.seq),
            ));
        }
        verify_inclusion(
            &leaf_hash(leaf),
            r.seq,
            checkpoint.size,
            &proof.hashes,
            &checkpoint.root,
        )
        .map_err(|e| {
            BundleError::entry(
                r.seq,
                &epath,
                format!("not included in the signed checkpoint ({ppath}): {e}"),
            )
        })?;
        let env = EventEnvelope::from_leaf(leaf)
            .map_err(|e| BundleError::entry(r.seq, &epath, format!("not a canonical event envelope: {e}")))?;
        if env.seq != r.seq {
            return Err(BundleError::entry(
                r.seq,
                &epath,
                format!("the envelope says seq {}", env.seq),
            ));
        }
        if env.kind != r.kind {
            return Err(BundleError::entry(
                r.seq,
                MANIFEST,
                format!("listed as {:?} but the entry is {:?}", r.kind, env.kind),
            ));
        }
        entries.push(env);
    }
    for path in files.keys() {
        if (path.starts_with("entries/") || path.starts_with("proofs/")) && !claimed.contains(path) {
            return Err(BundleError::new(path, "not an entry of manifest.json"));
        }
    }
    // 4. Content-addressed files, bound to the entries.
    let mut blobs = 0usize;
    let mut doc_refs: BTreeMap<String, u64> = BTreeMap::new();
    let mut ev_refs: BTreeMap<String, u64> = BTreeMap::new();
    let mut purges: BTreeMap<String, u64> = BTreeMap::new();
    let mut evidence_purges: BTreeMap<String, u64> = BTreeMap::new();
    let mut blob_files: BTreeSet<String> = BTreeSet::new();
    for env in &entries {
        let epath = entry_path(env.seq);
        let payload = match &env.payload {
            Payload::Inline(v) => v.clone(),
            Payload::Digest { sha256: digest, .. } => {
                let bpath = blob_path(digest);
                let bytes = files
                    .get(&bpath)
                    .ok_or_else(|| BundleError::entry(env.seq, &bpath, "its out-of-line payload is missing"))?;
                if digests.get(bpath.as_str()) != Some(digest) {
                    return Err(BundleError::entry(env.seq, &bpath, "content does not match its digest"));
                }
                blob_files.insert(bpath.clone());
                blobs += 1;
                serde_json::from_slice(bytes).map_err(|_| BundleError::entry(env.seq, &bpath, "payload is not JSON"))?
            }
        };
        let mut refs = Vec::new();
        documents::references(&payload, &mut refs);
        for d in refs {
            doc_refs.entry(d).or_insert(env.seq);
        }
        if env.kind == documents::PURGED_KIND
            && let Some(p) = documents::Purge::of_payload(&payload)
        {
            if p.document {
                purges.entry(p.digest.clone()).or_insert(env.seq);
            }
            if p.evidence {
                evidence_purges.entry(p.digest).or_insert(env.seq);
            }
        }
        for d in evidence_references(&env.kind, &payload) {
            if !documents::is_digest(&d) {
                return Err(BundleError::entry(
                    env.seq,
                    &epath,
                    format!("names evidence {d:?}, which is not sha256:<hex>"),
                ));
            }
            ev_refs.entry(d).or_insert(env.seq);
        }
        payloads.insert(env.seq, payload);
    }
    let mut docs = BTreeMap::new();
    let mut evidence = BTreeMap::new();
    for (path, bytes) in files {
        let (kind, name) = match path.split_once('/') {
            Some((k @ ("documents" | "evidence"), n)) => (k, n),
            Some(("blobs", _)) => {
                if !blob_files.contains(path) {
                    return Err(BundleError::new(path, "not the payload of any bundled entry"));
                }
                continue;
            }
            Some(("entries" | "proofs", _)) => continue,
            _ if [MANIFEST, CHECKPOINT, REPORT_HTML, REPORT_MD].contains(&path.as_str()) => continue,
            _ => return Err(BundleError::new(path, "not a file of the bundle format")),
        };
        let digest = name.replacen("sha256-", "sha256:", 1);
        if !documents::is_digest(&digest) || digests.get(path.as_str()) != Some(&digest) {
            return Err(BundleError::new(path, "content does not match its name"));
        }
        let referenced = if kind == "documents" {
            doc_refs.contains_key(&digest)
        } else {
            ev_refs.contains_key(&digest)
        };
        if !referenced {
            return Err(BundleError::new(path, "not referenced by any bundled entry"));
        }
        if kind == "documents" {
            docs.insert(digest, bytes.clone());
        } else {
            evidence.insert(digest, bytes.clone());
        }
    }
    // A referenced file the bundle does not carry is excused only by a purge of its kind.
    let mut purged = Vec::new();
    let kinds = [
        (false, &doc_refs, &docs, &purges, "document"),
        (true, &ev_refs, &evidence, &evidence_purges, "evidence"),
    ];
    for (is_evidence, refs, carried, purges_of_kind, noun) in kinds {
        for (d, seq) in refs.iter().filter(|(d, _)| !carried.contains_key(*d)) {
            let Some(by) = purges_of_kind.get(d) else {
                let path = if is_evidence {
                    evidence_path(d)
                } else {
                    document_path(d)
                };
                return Err(BundleError::entry(
                    *seq,
                    path,
                    format!("{noun} {d} it references is missing and no bundled entry purged it"),
                ));
            };
            purged.push(Purged {
                digest: d.clone(),
                purged_by: *by,
                evidence: is_evidence,
            });
        }
    }
    Ok(VerifiedBundle {
        manifest,
        checkpoint,
        entries,
        payloads,
        documents: docs,
        evidence,
        blobs,
        purged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Ed25519Signer;

    #[test]
    fn tlog_proof_text_round_trips_and_matches_the_c2sp_shape() {
        let p = TlogProof {
            extra: Some(b"x".to_vec()),
            index: 73894,
            hashes: vec![sha256(b"a"), sha256(b"b")],
            checkpoint: "example.com/log\n1\nAAAA\n\n\u{2014} example.com/log sig\n".into(),
        };
        let t = p.to_text();
        assert!(
            t.starts_with("c2sp.org/tlog-proof@v1\nextra eA==\nindex 73894\n"),
            "{t}"
        );
        assert_eq!(TlogProof::parse(t.as_bytes()).unwrap(), p);
        let bare = TlogProof { extra: None, ..p };
        assert_eq!(TlogProof::parse(bare.to_text().as_bytes()).unwrap(), bare);
    }

    #[test]
    fn malformed_tlog_proofs_are_refused() {
        let h = sha256(b"a").to_base64();
        for bad in [
            String::new(),
            format!("c2sp.org/tlog-proof@v2\nindex 1\n{h}\n\ncp\n"),
            format!("c2sp.org/tlog-proof@v1\nindex 01\n{h}\n\ncp\n"),
            "c2sp.org/tlog-proof@v1\nindex 1\nnot-base64\n\ncp\n".to_string(),
            format!("c2sp.org/tlog-proof@v1\nindex 1\n{h}\n\n"),
            format!("c2sp.org/tlog-proof@v1\n{h}\n\ncp\n"),
            "c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\ncp\n".to_string(),
        ] {
            assert!(TlogProof::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_empty_bundle_is_refused_not_passed() {
        let s = Ed25519Signer::from_seed("log", [3u8; 32]);
        let cp = Checkpoint {
            origin: "log".into(),
            size: 0,
            root: crate::hash::empty_root(),
            extensions: vec![],
        }
        .sign(&s)
        .unwrap();
        let m = BundleManifest {
            format: FORMAT.into(),
            query: serde_json::json!({"change": "CHG-1"}),
            created: "2026-12-03T00:00:00Z".into(),
            key_name: "log".into(),
            checkpoint: CheckpointRef {
                size: 0,
                root: crate::hash::empty_root().to_base64(),
            },
            report_renderer: "ward.report/1".into(),
            counts: BTreeMap::new(),
            entries: vec![],
            files: BTreeMap::from([(CHECKPOINT.to_string(), file_digest(cp.as_bytes()))]),
        };
        let files = BTreeMap::from([
            (MANIFEST.to_string(), serde_json::to_vec(&m).unwrap()),
            (CHECKPOINT.to_string(), cp.into_bytes()),
        ]);
        let e = verify(&files, &s.verifier()).unwrap_err();
        assert_eq!(e.file, MANIFEST);
        assert!(e.reason.contains("nothing could be verified"), "{e}");
    }
}
