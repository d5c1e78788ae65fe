//! Evidence bundles (issue 19): one tar file per change holding every log entry concerned, each
//! with its inclusion proof to one signed checkpoint, the documents and raw evidence they
//! reference, and a report — verifiable offline with the log's verifier key alone
//! (docs/BUNDLE.md). The format pieces and the file-level verification are in
//! `ward_ledger::bundle`; here: which entries a bundle holds (`Scope`, pure), building it
//! over the ledger (`export`, recorded as an `access.bundle` event), the archive (`to_tar`,
//! `read_tar`) and the whole verification (`verify`: files, proofs, signature, then every gate
//! decision replayed with the bundled policy and input, every approval's manifest checked
//! against the entries, and the report rendered again).

pub mod report;

use crate::error::{AppError, Kind};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use ward_core::Identity;
use ward_ledger::bundle::{
    self as fmt, BundleError, BundleManifest, CheckpointRef, EntryRef, Purged, TlogProof, VerifiedBundle,
};
use ward_ledger::{EventEnvelope, NewEvent, NoteSigner, NoteVerifier, Payload};
use ward_store::Ledger;

/// Entries read per store round trip while scanning the log.
const SCAN_CHUNK: u64 = 5000;
/// Most files a bundle archive may hold.
pub const MAX_FILES: usize = 1_000_000;

/// What a bundle is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// One change, all of its story.
    Change(String),
    /// One deployment (the seq of its `deployment.recorded` entry): its change's story up to
    /// and including it, and what later rolled it back.
    Deployment(u64),
    /// Every change deployed to an environment (to a tenant of it) in a period, each with its
    /// story.
    Period(Period),
}

impl Query {
    /// Refuses a malformed query before anything is read or recorded: a change id is
    /// letters, digits, `-` and `_`, at most 64 of them.
    pub fn check(&self) -> Result<(), AppError> {
        if let Query::Period(p) = self {
            let name_ok = |n: &str| {
                !n.is_empty()
                    && n.len() <= 64
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            };
            if !name_ok(&p.env) || p.tenant.as_deref().is_some_and(|t| !name_ok(t)) {
                return Err(AppError::invalid(
                    "an environment or tenant name is letters, digits, '-', '_' and '.'",
                    "name a declared environment (and tenant), e.g. prod and clinic-a",
                ));
            }
            if p.from >= p.to {
                return Err(AppError::invalid(
                    "the period is empty: its start must be before its end",
                    "give the period as RFC 3339 times, e.g. from 2026-10-01T00:00:00Z to 2027-01-01T00:00:00Z",
                ));
            }
        }
        if let Query::Change(id) = self
            && (id.is_empty()
                || id.len() > 64
                || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(AppError::invalid(
                "a change id is letters, digits, '-' and '_'",
                "name the change by its id, e.g. CHG-1a2b3c4d",
            ));
        }
        Ok(())
    }

    /// The query as the manifest and `access.bundle`'s leaf record it: a period to the second
    /// (digits after the second are the caller's to choose: nine of them reached the leaf and
    /// every export, a helper's attack on the fifteenth session's head; `audit::recorded_query`
    /// does the same for a population).
    pub fn to_json(&self) -> Value {
        match self {
            Query::Change(c) => json!({ "change": c }),
            Query::Deployment(d) => json!({ "deployment": d }),
            Query::Period(p) => {
                let second = |t: jiff::Timestamp| crate::identifier::to_the_second(t).to_string();
                let mut q = json!({ "env": p.env, "from": second(p.from), "to": second(p.to) });
                if let Some(t) = &p.tenant {
                    q["tenant"] = json!(t);
                }
                q
            }
        }
    }

    /// A name for the bundle's file (`bundle-CHG-….tar`, `bundle-deployment-12.tar`).
    pub fn file_name(&self) -> String {
        match self {
            Query::Change(c) => format!("bundle-{c}.tar"),
            Query::Deployment(d) => format!("bundle-deployment-{d}.tar"),
            Query::Period(p) => format!("bundle-{}-{}.tar", p.env, p.from.as_second()),
        }
    }
}

/// Which entries a bundle holds (pure). Two passes over the log: `learn` sees every entry first
/// (every change's artifacts and rollouts, every purge, and for a period the changes deployed
/// in it), `settle` fixes what the chosen changes are made of, then `select` decides, in order,
/// entry by entry:
/// - entries about a chosen change (`change:<id>`) or naming it (`payload.change`): opened,
///   updated, reclassified, its own evidence, approvals, refusals, gate decisions, waivers and
///   break-glass on it, deployments of it;
/// - entries about its artifacts (`artifact:<digest>`): registration, evidence, waivers;
/// - its rollouts' steps (`rollout:<id>`), and deployments that roll one of its deployments back;
/// - `document.purged` entries of documents the selected entries reference (`purges`).
#[derive(Debug, Default)]
pub struct Scope {
    changes: BTreeSet<String>,
    period: Option<Period>,
    artifacts_of: BTreeMap<String, BTreeSet<String>>,
    rollouts_of: BTreeMap<String, String>,
    artifacts: BTreeSet<String>,
    rollouts: BTreeSet<String>,
    deployments: BTreeSet<u64>,
    purges: BTreeMap<String, u64>,
    /// `document.purged` entries of raw evidence, by digest.
    evidence_purges: BTreeMap<String, u64>,
    until: Option<u64>,
}

/// A period of an environment's deployments (and of one tenant's, when named).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Period {
    /// Environment.
    pub env: String,
    /// From (inclusive).
    pub from: jiff::Timestamp,
    /// To (exclusive).
    pub to: jiff::Timestamp,
    /// Only deployments that reached this tenant.
    pub tenant: Option<String>,
}

impl Period {
    /// Whether a deployment record falls in the period.
    fn holds(&self, e: &EventEnvelope) -> bool {
        let Payload::Inline(v) = &e.payload else {
            return false;
        };
        e.kind == "deployment.recorded"
            && v.get("environment").and_then(Value::as_str) == Some(self.env.as_str())
            && e.time
                .parse::<jiff::Timestamp>()
                .is_ok_and(|t| self.from <= t && t < self.to)
            && self.tenant.as_ref().is_none_or(|t| {
                v.get("tenants")
                    .and_then(Value::as_array)
                    .is_some_and(|ts| ts.iter().any(|x| x.as_str() == Some(t.as_str())))
            })
    }
}

fn payload_str<'a>(p: &'a Payload, key: &str) -> Option<&'a str> {
    match p {
        Payload::Inline(v) => v.get(key).and_then(Value::as_str),
        Payload::Digest { .. } => None,
    }
}

/// The change an entry is about or names.
fn change_of(e: &EventEnvelope) -> Option<&str> {
    e.subject
        .strip_prefix("change:")
        .or_else(|| payload_str(&e.payload, "change"))
}

impl Scope {
    /// The scope of one change.
    pub fn change(id: &str) -> Scope {
        Scope {
            changes: BTreeSet::from([id.to_string()]),
            ..Scope::default()
        }
    }

    /// The scope of one deployment of a change: the change's entries up to the deployment,
    /// then only what rolls it back.
    pub fn deployment(change: &str, seq: u64) -> Scope {
        Scope {
            until: Some(seq),
            ..Scope::change(change)
        }
    }

    /// The scope of a period: every change deployed to the environment (tenant) in it.
    pub fn period(period: Period) -> Scope {
        Scope {
            period: Some(period),
            ..Scope::default()
        }
    }

    fn about_change(&self, e: &EventEnvelope) -> bool {
        e.subject
            .strip_prefix("change:")
            .is_some_and(|c| self.changes.contains(c))
            || payload_str(&e.payload, "change").is_some_and(|c| self.changes.contains(c))
    }

    /// First pass: what every change is made of, and which changes the bundle is about.
    pub fn learn(&mut self, e: &EventEnvelope) {
        let Payload::Inline(v) = &e.payload else {
            return;
        };
        if matches!(e.kind.as_str(), "change.opened" | "change.updated")
            && let Some(c) = change_of(e)
        {
            let set = self.artifacts_of.entry(c.to_string()).or_default();
            for a in v.get("artifacts").and_then(Value::as_array).into_iter().flatten() {
                if let Some(a) = a.as_str() {
                    set.insert(a.to_string());
                }
            }
        }
        if e.kind == "rollout.started"
            && let (Some(id), Some(c)) = (v.get("id").and_then(Value::as_str), change_of(e))
        {
            self.rollouts_of.insert(id.to_string(), c.to_string());
        }
        if e.kind == ward_ledger::documents::PURGED_KIND
            && let Some(p) = ward_ledger::documents::Purge::of_payload(v)
        {
            if p.document {
                self.purges.entry(p.digest.clone()).or_insert(e.seq);
            }
            if p.evidence {
                self.evidence_purges.entry(p.digest).or_insert(e.seq);
            }
        }
        if let Some(p) = &self.period
            && p.holds(e)
            && let Some(c) = v.get("change").and_then(Value::as_str)
        {
            self.changes.insert(c.to_string());
        }
    }

    /// After the first pass: the chosen changes' artifacts and rollouts. Returns how many
    /// changes the bundle is about.
    pub fn settle(&mut self) -> usize {
        self.artifacts = self
            .changes
            .iter()
            .filter_map(|c| self.artifacts_of.get(c))
            .flatten()
            .cloned()
            .collect();
        self.rollouts = self
            .rollouts_of
            .iter()
            .filter(|(_, c)| self.changes.contains(*c))
            .map(|(r, _)| r.clone())
            .collect();
        self.changes.len()
    }

    /// Second pass, in log order: whether the bundle holds `e`.
    pub fn select(&mut self, e: &EventEnvelope) -> bool {
        let rollback_of_mine = e.kind == "deployment.recorded"
            && matches!(&e.payload, Payload::Inline(v)
                if v.get("rollback_of").and_then(Value::as_u64).is_some_and(|s| self.deployments.contains(&s)));
        if let Some(until) = self.until
            && e.seq > until
        {
            return rollback_of_mine
                && matches!(&e.payload, Payload::Inline(v)
                if v.get("rollback_of").and_then(Value::as_u64) == Some(until));
        }
        let mine = self.about_change(e)
            || e.subject
                .strip_prefix("artifact:")
                .is_some_and(|a| self.artifacts.contains(a))
            || e.subject
                .strip_prefix("rollout:")
                .is_some_and(|r| self.rollouts.contains(r))
            || rollback_of_mine;
        if mine && e.kind == "deployment.recorded" && self.about_change(e) {
            self.deployments.insert(e.seq);
        }
        mine
    }

    /// The `document.purged` entry of a document, when the log holds one.
    pub fn purged_by(&self, digest: &str) -> Option<u64> {
        self.purges.get(digest).copied()
    }

    /// The `document.purged` entry that deleted raw evidence, when the log holds one.
    pub fn evidence_purged_by(&self, digest: &str) -> Option<u64> {
        self.evidence_purges.get(digest).copied()
    }
}

/// A built bundle: the archive's bytes and its manifest.
pub struct Built {
    /// The tar archive.
    pub bytes: Vec<u8>,
    /// Its manifest.
    pub manifest: BundleManifest,
}

/// Every entry below `size`, in log order, as its envelope and leaf bytes (the one log scan the
/// bundle, the population and the compliance report share); an entry missing below `size` is an
/// error, never a shorter scan.
pub(crate) async fn scan(
    ledger: &Ledger,
    size: u64,
    mut each: impl FnMut(EventEnvelope, Vec<u8>),
) -> Result<(), AppError> {
    let mut next = 0u64;
    while next < size {
        let chunk = ledger.store().entries(next, SCAN_CHUNK.min(size - next)).await?;
        if chunk.is_empty() {
            return Err(AppError::internal(format!("entries stop at {next} below {size}")));
        }
        for e in chunk {
            if e.seq >= size {
                break;
            }
            let env = EventEnvelope::from_leaf(&e.leaf).map_err(AppError::internal)?;
            next = e.seq + 1;
            each(env, e.leaf);
        }
    }
    Ok(())
}

/// Builds the bundle of `query`: records the read (`access.bundle`, the caller as actor —
/// bundles are an auditor's export), signs a checkpoint of the head, gathers every entry
/// concerned with its inclusion proof, the documents, evidence and out-of-line payloads they
/// reference, renders the report, and writes the archive in memory. A store missing something
/// an entry references is refused (fsck names it) rather than bundled incomplete.
pub async fn export(
    ledger: &Ledger,
    signer: &dyn NoteSigner,
    origin: &str,
    by: &Identity,
    query: &Query,
) -> Result<Built, AppError> {
    query.check()?;
    let mut scope = match query {
        Query::Change(id) => {
            if !crate::changes::exists(ledger, id).await? {
                return Err(AppError::not_found(
                    format!("no change {}", crate::identifier::shown(id)),
                    "list the changes",
                ));
            }
            Scope::change(id)
        }
        Query::Deployment(seq) => {
            let size = ledger.head().await?.size();
            let not_found = || {
                AppError::not_found(
                    format!("no deployment at {}", crate::identifier::entry_shown(*seq, size)),
                    "a deployment is the log entry of its record: see the environment's deployment history",
                )
            };
            let entry = ledger.store().entries(*seq, 1).await?.pop().ok_or_else(not_found)?;
            let env = EventEnvelope::from_leaf(&entry.leaf).map_err(AppError::internal)?;
            let change = match (&env.kind[..], payload_str(&env.payload, "change")) {
                ("deployment.recorded", Some(c)) => c.to_string(),
                _ => return Err(not_found()),
            };
            Scope::deployment(&change, *seq)
        }
        Query::Period(p) => {
            // Nothing recorded for a period without deployments: looked for first.
            let mut probe = Scope::period(p.clone());
            let size = ledger.head().await?.size();
            scan(ledger, size, |env, _| probe.learn(&env)).await?;
            if probe.settle() == 0 {
                return Err(no_deployment());
            }
            Scope::period(p.clone())
        }
    };
    ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "access.bundle".into(),
            subject: "log:entries".into(),
            payload: json!({ "query": query.to_json() }),
        })
        .await?;
    let cp = ledger.checkpoint(signer, origin).await?;
    scan(ledger, cp.size, |env, _| scope.learn(&env)).await?;
    if scope.settle() == 0 {
        return Err(no_deployment());
    }
    let mut picked: Vec<(EventEnvelope, Vec<u8>)> = Vec::new();
    scan(ledger, cp.size, |env, leaf| {
        if scope.select(&env) {
            picked.push((env, leaf));
        }
    })
    .await?;

    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut payloads = BTreeMap::new();
    let mut documents = BTreeMap::new();
    let mut doc_refs: BTreeSet<String> = BTreeSet::new();
    // By digest: one file attested on two artifacts is one purge.
    let mut purged_evidence: BTreeMap<String, u64> = BTreeMap::new();
    for (env, leaf) in &picked {
        let payload = match &env.payload {
            Payload::Inline(v) => v.clone(),
            Payload::Digest { sha256, .. } => {
                let data = ledger
                    .store()
                    .blob(sha256)
                    .await?
                    .ok_or_else(|| missing(env.seq, "out-of-line payload", sha256))?;
                let v = serde_json::from_slice(&data).map_err(AppError::internal)?;
                files.insert(fmt::blob_path(sha256), data);
                v
            }
        };
        let mut refs = Vec::new();
        ward_ledger::documents::references(&payload, &mut refs);
        doc_refs.extend(refs);
        for d in fmt::evidence_references(&env.kind, &payload) {
            match ledger.store().evidence(&d).await? {
                Some(data) => {
                    files.insert(fmt::evidence_path(&d), data);
                }
                // Raw evidence two people purged: its purge entry joins the bundle instead.
                None => match scope.evidence_purged_by(&d) {
                    Some(seq) => {
                        purged_evidence.insert(d, seq);
                    }
                    None => return Err(missing(env.seq, "evidence", &d)),
                },
            }
        }
        files.insert(fmt::entry_path(env.seq), leaf.clone());
        payloads.insert(env.seq, payload);
    }
    // Documents, to a fixed point: a purge entry that explains an absent document or raw
    // evidence joins the bundle, and what it references is resolved in turn.
    let mut purged = Vec::new();
    let mut purge_entries: Vec<u64> = Vec::new();
    for (d, seq) in purged_evidence {
        purged.push(Purged {
            digest: d,
            purged_by: seq,
            evidence: true,
        });
        purge_entries.push(seq);
    }
    let mut resolved: BTreeSet<String> = BTreeSet::new();
    loop {
        let seq = if let Some(seq) = purge_entries.pop() {
            seq
        } else if let Some(d) = doc_refs.iter().find(|d| !resolved.contains(*d)).cloned() {
            resolved.insert(d.clone());
            if let Some(data) = ledger.store().document(&d).await? {
                documents.insert(d.clone(), data.clone());
                files.insert(fmt::document_path(&d), data);
                continue;
            }
            let seq = scope.purged_by(&d).ok_or_else(|| missing(0, "document", &d))?;
            purged.push(Purged {
                digest: d.clone(),
                purged_by: seq,
                evidence: false,
            });
            seq
        } else {
            break;
        };
        if picked.iter().any(|(e, _)| e.seq == seq) {
            continue;
        }
        let entry = ledger
            .store()
            .entries(seq, 1)
            .await?
            .pop()
            .ok_or_else(|| AppError::internal("purge entry vanished"))?;
        let env = EventEnvelope::from_leaf(&entry.leaf).map_err(AppError::internal)?;
        if let Payload::Inline(v) = &env.payload {
            let mut refs = Vec::new();
            ward_ledger::documents::references(v, &mut refs);
            doc_refs.extend(refs);
            payloads.insert(seq, v.clone());
        }
        files.insert(fmt::entry_path(seq), entry.leaf.clone());
        picked.push((env, entry.leaf));
    }
    picked.sort_by_key(|(e, _)| e.seq);
    // In the order the verifier finds them (documents, then raw evidence, each by digest): the
    // report it renders again must be the same.
    purged.sort_by(|a, b| (a.evidence, &a.digest).cmp(&(b.evidence, &b.digest)));
    for (env, _) in &picked {
        let hashes = ledger.inclusion_proof(env.seq, cp.size).await?;
        let proof = TlogProof {
            extra: None,
            index: env.seq,
            hashes,
            checkpoint: cp.note.clone(),
        };
        files.insert(fmt::proof_path(env.seq), proof.to_text().into_bytes());
    }
    files.insert(fmt::CHECKPOINT.into(), cp.note.clone().into_bytes());
    let created = ward_ledger::envelope::format_time(jiff::Timestamp::now());
    let entries: Vec<EventEnvelope> = picked.iter().map(|(e, _)| e.clone()).collect();
    let root = cp.root.to_base64();
    let query_json = query.to_json();
    let (html, md) = report::render(&report::Facts {
        query: &query_json,
        created: &created,
        origin,
        size: cp.size,
        root: &root,
        entries: &entries,
        payloads: &payloads,
        documents: &documents,
        purged: &purged,
    });
    files.insert(fmt::REPORT_HTML.into(), html.into_bytes());
    files.insert(fmt::REPORT_MD.into(), md.into_bytes());
    let count = |prefix: &str| files.keys().filter(|k| k.starts_with(prefix)).count() as u64;
    let counts = BTreeMap::from([
        ("entries".to_string(), entries.len() as u64),
        ("documents".to_string(), count("documents/")),
        ("evidence".to_string(), count("evidence/")),
        ("blobs".to_string(), count("blobs/")),
        (
            "purged_documents".to_string(),
            purged.iter().filter(|p| !p.evidence).count() as u64,
        ),
        (
            "purged_evidence".to_string(),
            purged.iter().filter(|p| p.evidence).count() as u64,
        ),
        (
            "gate_decisions".to_string(),
            entries.iter().filter(|e| e.kind == "gate.evaluated").count() as u64,
        ),
        (
            "approvals".to_string(),
            entries.iter().filter(|e| e.kind == "approval.signed").count() as u64,
        ),
        (
            "deployments".to_string(),
            entries.iter().filter(|e| e.kind == "deployment.recorded").count() as u64,
        ),
    ]);
    let manifest = BundleManifest {
        format: fmt::FORMAT.into(),
        query: query_json,
        created,
        key_name: signer.name().to_string(),
        checkpoint: CheckpointRef { size: cp.size, root },
        report_renderer: report::RENDERER.into(),
        counts,
        entries: entries
            .iter()
            .map(|e| EntryRef {
                seq: e.seq,
                kind: e.kind.clone(),
            })
            .collect(),
        files: files.iter().map(|(k, v)| (k.clone(), fmt::file_digest(v))).collect(),
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(AppError::internal)?;
    let bytes = to_tar(&manifest_bytes, &files)?;
    Ok(Built { bytes, manifest })
}

fn no_deployment() -> AppError {
    AppError::not_found(
        "no deployment in that period: there is nothing to bundle",
        "check the environment, tenant and times against the environment's deployment history",
    )
}

fn missing(seq: u64, what: &str, digest: &str) -> AppError {
    AppError::new(
        Kind::Conflict,
        "store_incomplete",
        format!("the {what} {digest} an entry references (entry {seq}) is not in the store"),
        "check the store's integrity; a bundle is never written incomplete",
    )
}

/// Writes the archive: `manifest.json` first, then every file by path; plain ustar members,
/// mode 0644, time 0, so the same content gives the same bytes.
pub fn to_tar(manifest: &[u8], files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>, AppError> {
    let mut b = tar::Builder::new(Vec::new());
    b.mode(tar::HeaderMode::Deterministic);
    let mut add = |path: &str, data: &[u8]| -> Result<(), AppError> {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, data).map_err(AppError::internal)
    };
    add(fmt::MANIFEST, manifest)?;
    for (p, d) in files {
        add(p, d)?;
    }
    b.into_inner().map_err(AppError::internal)
}

/// Reads a bundle archive into its files. Fails closed: only regular files with plain relative
/// names (no `..`, no absolute path, no duplicate), at most [`MAX_FILES`].
pub fn read_tar(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, BundleError> {
    let bad = |r: String| BundleError::new("(archive)", r);
    let mut a = tar::Archive::new(bytes);
    let mut files = BTreeMap::new();
    for entry in a.entries().map_err(|e| bad(format!("not a tar archive: {e}")))? {
        let mut entry = entry.map_err(|e| bad(format!("not a tar archive: {e}")))?;
        let path = entry
            .path()
            .map_err(|e| bad(format!("a member name is not valid: {e}")))?
            .to_str()
            .ok_or_else(|| bad("a member name is not UTF-8".into()))?
            .to_string();
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(BundleError::new(&path, "not a regular file"));
        }
        if path.starts_with('/') || path.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            return Err(BundleError::new(&path, "not a plain relative name"));
        }
        let mut data = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0).min(bytes.len()));
        std::io::Read::read_to_end(&mut entry, &mut data)
            .map_err(|e| BundleError::new(&path, format!("unreadable: {e}")))?;
        if files.insert(path.clone(), data).is_some() {
            return Err(BundleError::new(&path, "appears twice in the archive"));
        }
        if files.len() > MAX_FILES {
            return Err(bad(format!("more than {MAX_FILES} files")));
        }
    }
    Ok(files)
}

/// What `ward verify bundle` established.
#[derive(Clone, Debug, Serialize)]
pub struct Verification {
    /// Log origin.
    pub origin: String,
    /// Checkpoint size.
    pub size: u64,
    /// Checkpoint root (hex).
    pub root: String,
    /// The bundle's query.
    pub query: Value,
    /// Files checked against the manifest.
    pub files: usize,
    /// Entries whose inclusion proofs verified.
    pub entries: usize,
    /// Text documents verified.
    pub documents: usize,
    /// Raw evidence documents verified.
    pub evidence: usize,
    /// Gate decisions replayed with the bundled policy and input, same verdict.
    pub decisions_replayed: usize,
    /// Approval manifests checked against the entries.
    pub approvals_checked: usize,
    /// The report was rendered again from the verified entries and is identical; false when
    /// another renderer made it (`report_renderer`), which this verifier cannot reproduce.
    pub report_checked: bool,
    /// The renderer the manifest names.
    pub report_renderer: String,
    /// Documents purged by a bundled entry.
    pub purged: Vec<Purged>,
}

/// Verifies a bundle archive offline: [`ward_ledger::bundle::verify`] (files, checkpoint
/// signature, proofs, content-addressed files), then every gate decision replayed with the
/// bundled policy and input through the gate's own evaluator, every approval's signed manifest
/// against its digest and the entries before it, and the report rendered again from the
/// verified entries. The first failure names its file and entry.
pub fn verify(bytes: &[u8], verifier: &dyn NoteVerifier) -> Result<Verification, BundleError> {
    let files = read_tar(bytes)?;
    let v = fmt::verify(&files, verifier)?;
    let decisions_replayed = replay_decisions(&v)?;
    let approvals_checked = check_approvals(&v)?;
    let root = v.checkpoint.root.to_base64();
    let (html, md) = report::render(&report::Facts {
        query: &v.manifest.query,
        created: &v.manifest.created,
        origin: &v.checkpoint.origin,
        size: v.checkpoint.size,
        root: &root,
        entries: &v.entries,
        payloads: &v.payloads,
        documents: &v.documents,
        purged: &v.purged,
    });
    let report_checked = v.manifest.report_renderer == report::RENDERER;
    for (name, ours) in [(fmt::REPORT_HTML, html), (fmt::REPORT_MD, md)] {
        match files.get(name) {
            Some(_) if !report_checked => {}
            Some(theirs) if *theirs == ours.into_bytes() => {}
            Some(_) => {
                return Err(BundleError::new(
                    name,
                    "does not say what the verified entries say (rendered again, it differs)",
                ));
            }
            None => return Err(BundleError::new(name, "missing")),
        }
    }
    Ok(Verification {
        origin: v.checkpoint.origin.clone(),
        size: v.checkpoint.size,
        root: v.checkpoint.root.to_hex(),
        query: v.manifest.query.clone(),
        files: files.len(),
        entries: v.entries.len(),
        documents: v.documents.len(),
        evidence: v.evidence.len(),
        decisions_replayed,
        approvals_checked,
        report_checked,
        report_renderer: v.manifest.report_renderer.clone(),
        purged: v.purged.clone(),
    })
}

fn replay_decisions(v: &VerifiedBundle) -> Result<usize, BundleError> {
    let mut n = 0;
    for e in v.entries.iter().filter(|e| e.kind == "gate.evaluated") {
        let p = &v.payloads[&e.seq];
        let doc = |k: &str| -> Result<Value, BundleError> {
            let d = p.get(k).and_then(Value::as_str).unwrap_or_default();
            let bytes = v
                .evidence
                .get(d)
                .ok_or_else(|| BundleError::entry(e.seq, fmt::evidence_path(d), "missing"))?;
            serde_json::from_slice(bytes)
                .map_err(|_| BundleError::entry(e.seq, fmt::evidence_path(d), "not a JSON document"))
        };
        let (input, policy) = (doc("input_digest")?, doc("policy_digest")?);
        let ipath = fmt::evidence_path(p.get("input_digest").and_then(Value::as_str).unwrap_or_default());
        let replayed = crate::gate::evaluate_recorded(&input, &policy).map_err(|err| {
            BundleError::entry(
                e.seq,
                &ipath,
                format!("the decision cannot be replayed: {}", err.message),
            )
        })?;
        let recorded: ward_core::gate::Decision = serde_json::from_value(json!({
            "allow": p.get("allow"), "reasons": p.get("reasons"), "waived": p.get("waived").cloned().unwrap_or(json!([])),
        }))
        .map_err(|_| BundleError::entry(e.seq, fmt::entry_path(e.seq), "not a gate decision"))?;
        if replayed != recorded {
            return Err(BundleError::entry(
                e.seq,
                fmt::entry_path(e.seq),
                format!(
                    "replaying the decision with the bundled policy and input gives allow={} with {} reasons; the entry records allow={} with {}",
                    replayed.allow,
                    replayed.reasons.len(),
                    recorded.allow,
                    recorded.reasons.len()
                ),
            ));
        }
        n += 1;
    }
    Ok(n)
}

fn check_approvals(v: &VerifiedBundle) -> Result<usize, BundleError> {
    let mut n = 0;
    for e in v.entries.iter().filter(|e| e.kind == "approval.signed") {
        let p = &v.payloads[&e.seq];
        let path = fmt::entry_path(e.seq);
        let Some(m) = p.get("manifest") else {
            continue;
        };
        let m: ward_core::approval::Manifest = serde_json::from_value(m.clone())
            .map_err(|_| BundleError::entry(e.seq, &path, "its signed manifest is malformed"))?;
        if Some(m.digest().as_str()) != p.get("manifest_digest").and_then(Value::as_str) {
            return Err(BundleError::entry(
                e.seq,
                &path,
                "the signed manifest does not match its manifest_digest",
            ));
        }
        let change = p.get("change").and_then(Value::as_str).unwrap_or_default();
        // The change's artifacts as its latest content before the signature listed them.
        let content = v.entries.iter().rfind(|c| {
            c.seq < e.seq
                && c.subject == format!("change:{change}")
                && matches!(c.kind.as_str(), "change.opened" | "change.updated")
        });
        if let Some(c) = content {
            let arts: BTreeSet<&str> = v.payloads[&c.seq]
                .get("artifacts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if let Some(a) = m.artifacts.iter().find(|a| !arts.contains(a.as_str())) {
                return Err(BundleError::entry(
                    e.seq,
                    &path,
                    format!(
                        "the signed manifest names artifact {a}, which the change (entry {}) does not ship",
                        c.seq
                    ),
                ));
            }
        }
        let attested: BTreeSet<&str> = v
            .entries
            .iter()
            .filter(|a| a.seq < e.seq && a.kind == "attestation.added")
            .filter_map(|a| v.payloads[&a.seq].get("id").and_then(Value::as_str))
            .collect();
        if let Some(a) = m.attestations.iter().find(|a| !attested.contains(a.as_str())) {
            return Err(BundleError::entry(
                e.seq,
                &path,
                format!("the signed manifest names attestation {a}, which no earlier bundled entry added"),
            ));
        }
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_ledger::{Actor, ActorKind};

    fn env(seq: u64, kind: &str, subject: &str, payload: Value) -> EventEnvelope {
        EventEnvelope {
            actor: Actor {
                id: "user:x".into(),
                kind: ActorKind::Human,
            },
            kind: kind.into(),
            payload: Payload::Inline(payload),
            seq,
            subject: subject.into(),
            time: "2026-12-03T00:00:00.000000Z".into(),
            v: 1,
        }
    }

    #[test]
    fn scope_takes_the_changes_story_and_nothing_of_another_change() {
        let log = [
            env(0, "artifact.registered", "artifact:sha256:aa", json!({})),
            env(1, "artifact.registered", "artifact:sha256:bb", json!({})),
            env(2, "change.opened", "change:CHG-1", json!({"artifacts": ["sha256:aa"]})),
            env(3, "change.opened", "change:CHG-2", json!({"artifacts": ["sha256:bb"]})),
            env(4, "attestation.added", "artifact:sha256:aa", json!({"id": "sha256:cc"})),
            env(5, "approval.signed", "change:CHG-1", json!({"change": "CHG-1"})),
            env(6, "deployment.recorded", "env:prod", json!({"change": "CHG-1"})),
            env(
                7,
                "rollout.started",
                "rollout:RO-1",
                json!({"id": "RO-1", "change": "CHG-1"}),
            ),
            env(8, "rollout.step", "rollout:RO-1", json!({"id": "RO-1", "step": 0})),
            env(
                9,
                "deployment.recorded",
                "env:prod",
                json!({"change": "CHG-0", "rollback_of": 6}),
            ),
            env(10, "deployment.recorded", "env:prod", json!({"change": "CHG-2"})),
            env(
                11,
                "access.bundle",
                "log:entries",
                json!({"query": {"change": "CHG-1"}}),
            ),
        ];
        let mut s = Scope::change("CHG-1");
        log.iter().for_each(|e| s.learn(e));
        s.settle();
        let picked: Vec<u64> = log.iter().filter(|e| s.select(e)).map(|e| e.seq).collect();
        assert_eq!(picked, vec![0, 2, 4, 5, 6, 7, 8, 9]);
    }

    #[test]
    fn a_periods_scope_takes_every_change_deployed_there_in_it() {
        let mut log = [
            env(0, "change.opened", "change:CHG-1", json!({"artifacts": ["sha256:aa"]})),
            env(1, "change.opened", "change:CHG-2", json!({"artifacts": []})),
            env(2, "change.opened", "change:CHG-3", json!({"artifacts": []})),
            env(3, "artifact.registered", "artifact:sha256:aa", json!({})),
            env(
                4,
                "deployment.recorded",
                "env:prod",
                json!({"change": "CHG-1", "environment": "prod", "tenants": ["a"]}),
            ),
            env(
                5,
                "deployment.recorded",
                "env:staging",
                json!({"change": "CHG-2", "environment": "staging"}),
            ),
            env(
                6,
                "deployment.recorded",
                "env:prod",
                json!({"change": "CHG-3", "environment": "prod", "tenants": ["b"]}),
            ),
        ];
        log[6].time = "2027-01-01T00:00:00.000000Z".into();
        let period = |tenant: Option<&str>| Period {
            env: "prod".into(),
            from: "2026-12-01T00:00:00Z".parse().unwrap(),
            to: "2027-01-01T00:00:00Z".parse().unwrap(),
            tenant: tenant.map(str::to_string),
        };
        let mut s = Scope::period(period(None));
        log.iter().for_each(|e| s.learn(e));
        assert_eq!(s.settle(), 1, "CHG-2 went to staging, CHG-3 after the period");
        let picked: Vec<u64> = log.iter().filter(|e| s.select(e)).map(|e| e.seq).collect();
        assert_eq!(picked, vec![0, 3, 4]);
        let mut s = Scope::period(period(Some("b")));
        log.iter().for_each(|e| s.learn(e));
        assert_eq!(s.settle(), 0, "tenant b was reached only after the period");
    }

    #[test]
    fn a_periods_record_keeps_no_digit_after_the_second() {
        let q = Query::Period(Period {
            env: "prod".into(),
            from: "2020-01-01T00:00:00.555123456Z".parse().unwrap(),
            to: "2030-01-01T00:00:00.219451234Z".parse().unwrap(),
            tenant: None,
        });
        let recorded = q.to_json().to_string();
        assert!(
            !recorded.contains("555123456") && !recorded.contains("219451234"),
            "{recorded}"
        );
        assert_eq!(q.to_json()["from"], "2020-01-01T00:00:00Z");
    }

    #[test]
    fn a_deployments_scope_stops_at_it_but_keeps_its_rollback() {
        let log = [
            env(0, "change.opened", "change:CHG-1", json!({"artifacts": []})),
            env(1, "approval.signed", "change:CHG-1", json!({"change": "CHG-1"})),
            env(2, "deployment.recorded", "env:staging", json!({"change": "CHG-1"})),
            env(3, "approval.signed", "change:CHG-1", json!({"change": "CHG-1"})),
            env(4, "deployment.recorded", "env:prod", json!({"change": "CHG-1"})),
            env(
                5,
                "deployment.recorded",
                "env:staging",
                json!({"change": "CHG-0", "rollback_of": 2}),
            ),
            env(
                6,
                "deployment.recorded",
                "env:prod",
                json!({"change": "CHG-0", "rollback_of": 4}),
            ),
        ];
        let mut s = Scope::deployment("CHG-1", 2);
        log.iter().for_each(|e| s.learn(e));
        s.settle();
        let picked: Vec<u64> = log.iter().filter(|e| s.select(e)).map(|e| e.seq).collect();
        assert_eq!(picked, vec![0, 1, 2, 5]);
    }
}
