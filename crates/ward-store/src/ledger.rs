//! The ledger service over a [`Store`]: group commit, checkpoints, proofs, export and fsck.

use crate::batch::Receipt;
use crate::projection::{Projector, StateReport};
use crate::{Store, StoreError, StoredCheckpoint};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use tokio::sync::{mpsc, oneshot};
use ward_ledger::export::{ConsistencyFile, ExportWriter, Manifest};
use ward_ledger::{
    Checkpoint, EventEnvelope, Frontier, Hash, NewEvent, NodeId, NoteSigner, NoteVerifier, Payload, ProofPlan,
    leaf_hash,
};

/// Most events committed in one group-commit transaction.
pub const MAX_BATCH: usize = 2048;
/// Complete subtree hashes at this level and above are kept in memory once read: they never
/// change, a proof needs about half of its nodes from there, and there are only `2n / 2^8`.
const CACHED_LEVEL: u8 = 8;
/// Most cached subtree hashes (about 80 MB); beyond it proofs read those nodes from the store.
const CACHE_CAPACITY: usize = 1 << 20;
const SCAN_CHUNK: u64 = 5000;

struct Job {
    event: NewEvent,
    /// Text documents the event references, `(digest, bytes)`, stored in the same transaction.
    documents: Vec<(String, Vec<u8>)>,
    reply: oneshot::Sender<Result<Receipt, StoreError>>,
}

/// The log as the rest of Ward sees it.
#[derive(Clone)]
pub struct Ledger {
    store: Arc<dyn Store>,
    projectors: Arc<Vec<Arc<dyn Projector>>>,
    queue: mpsc::Sender<Job>,
    upper_nodes: Arc<RwLock<HashMap<NodeId, Hash>>>,
}

/// Where an export reads the log from: a [`Ledger`] on a store, or a Ward server.
#[async_trait::async_trait]
pub trait ExportSource: Send + Sync {
    /// Every signed checkpoint, ascending by size.
    async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError>;
    /// Up to `limit` entries from `start`, in order.
    async fn entries(&self, start: u64, limit: u64) -> Result<Vec<crate::StoredEntry>, StoreError>;
    /// An out-of-line payload by digest.
    async fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// A text document by digest (absent once purged).
    async fn document(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Consistency proof between two sizes.
    async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError>;
}

#[async_trait::async_trait]
impl ExportSource for Ledger {
    async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        self.store.checkpoints().await
    }
    async fn entries(&self, start: u64, limit: u64) -> Result<Vec<crate::StoredEntry>, StoreError> {
        self.store.entries(start, limit).await
    }
    async fn blob(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.blob(digest).await
    }
    async fn document(&self, digest: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.document(digest).await
    }
    async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        Ledger::consistency_proof(self, from, to).await
    }
}

/// Writes the export of the first `size` entries (a checkpointed size) of `source` into a new
/// directory: entry bundles and hash tiles, every checkpoint up to `size`, the consistency proofs
/// between them, and out-of-line payloads. Leaf hashes are written as the source holds them, so
/// a stored hash that no longer matches its entry shows up in `ward verify`.
pub async fn write_export(
    source: &dyn ExportSource,
    dir: &Path,
    origin: &str,
    size: u64,
    progress: &(dyn Fn(u64, u64) + Send + Sync),
) -> Result<Manifest, StoreError> {
    let checkpoints: Vec<StoredCheckpoint> = source
        .checkpoints()
        .await?
        .into_iter()
        .filter(|c| c.size <= size)
        .collect();
    if checkpoints.last().map(|c| c.size) != Some(size) {
        return Err(StoreError::Invalid(format!("no signed checkpoint at size {size}")));
    }
    let ioe = |e: ward_ledger::export::ExportError| StoreError::Invalid(e.to_string());
    let mut w = ExportWriter::create(dir).map_err(ioe)?;
    let mut next = 0u64;
    while next < size {
        let chunk = source.entries(next, SCAN_CHUNK.min(size - next)).await?;
        if chunk.is_empty() {
            return Err(StoreError::Corrupt(format!(
                "entries stop at {next}, the checkpoint says {size}"
            )));
        }
        for e in chunk {
            if e.seq != next {
                return Err(StoreError::Corrupt(format!("entry {next} is missing")));
            }
            let (mut refs, _) = ward_ledger::documents::scan(&e.leaf);
            if let Ok(header) = ward_ledger::envelope::LeafHeader::from_leaf(&e.leaf)
                && let Some((digest, _)) = &header.payload_digest
                && let Some(data) = source.blob(digest).await?
            {
                w.add_blob(digest, &data).map_err(ioe)?;
                refs.extend(ward_ledger::documents::scan(&data).0);
            }
            // Referenced documents travel with the export; a purged one is no longer stored.
            for digest in refs {
                if let Some(data) = source.document(&digest).await? {
                    w.add_document(&digest, &data).map_err(ioe)?;
                }
            }
            w.push(&e.leaf, e.leaf_hash).map_err(ioe)?;
            next += 1;
            if next == size {
                break;
            }
        }
        progress(next, size);
    }
    let mut proofs = Vec::new();
    for pair in checkpoints.windows(2) {
        let p = source.consistency_proof(pair[0].size, pair[1].size).await?;
        proofs.push(ConsistencyFile {
            from: pair[0].size,
            to: pair[1].size,
            proof: p.iter().map(Hash::to_hex).collect(),
        });
    }
    let notes: Vec<(u64, String)> = checkpoints.into_iter().map(|c| (c.size, c.note)).collect();
    w.finish(origin, &notes, &proofs).map_err(ioe)
}

/// Result of [`Ledger::fsck`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct FsckReport {
    /// Entries checked.
    pub size: u64,
    /// Recomputed root (hex).
    pub root: String,
    /// Checkpoints whose signature and root were checked.
    pub checkpoints: usize,
    /// First entry found to be wrong, if any.
    pub first_bad_entry: Option<u64>,
    /// Problems found (at most 100).
    pub problems: Vec<String>,
    /// Stored state (projections, evidence and payload blobs) against the log, when it could
    /// be checked (the log's entries must all be readable).
    pub state: Option<StateReport>,
}

impl FsckReport {
    /// Whether the store is intact.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Ledger {
    /// Starts a ledger over `store`; spawns the group-commit writer on the current runtime.
    pub fn new(store: Arc<dyn Store>, projectors: Vec<Arc<dyn Projector>>) -> Ledger {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let projectors = Arc::new(projectors);
        tokio::spawn(writer(store.clone(), projectors.clone(), rx));
        Ledger {
            store,
            projectors,
            queue: tx,
            upper_nodes: Arc::default(),
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Appends one event. Concurrent calls are committed together in one transaction (group
    /// commit); the receipt is returned only after that transaction is durable.
    pub async fn append(&self, event: NewEvent) -> Result<Receipt, StoreError> {
        self.append_documented(event, Vec::new()).await
    }

    /// Appends one event with the text documents it references (`(digest, bytes)`), committed
    /// together with concurrent appends (group commit) like [`Ledger::append`].
    pub async fn append_documented(
        &self,
        event: NewEvent,
        documents: Vec<(String, Vec<u8>)>,
    ) -> Result<Receipt, StoreError> {
        // Refuse bad events here, so that one bad event never fails a whole batch.
        self.admit(&event)?;
        let (reply, rx) = oneshot::channel();
        self.queue
            .send(Job {
                event,
                documents,
                reply,
            })
            .await
            .map_err(|_| StoreError::Append("ledger writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Append("ledger writer has stopped".into()))?
    }

    /// Appends events with the text documents they reference (and any purge), all in one
    /// transaction of their own.
    pub async fn append_with_documents(
        &self,
        events: Vec<NewEvent>,
        documents: &crate::DocumentChanges,
    ) -> Result<Vec<Receipt>, StoreError> {
        for e in &events {
            self.admit(e)?;
        }
        self.store
            .append_with_documents(events, documents, &self.projectors)
            .await
    }

    /// Appends several events in one transaction of their own.
    pub async fn append_batch(&self, events: Vec<NewEvent>) -> Result<Vec<Receipt>, StoreError> {
        for e in &events {
            self.admit(e)?;
        }
        self.store.append(events, &self.projectors).await
    }

    /// Asks every projector whether `event` may be appended ([`Projector::admit`]), once the
    /// event is known to be one the log takes (its shape and size: a payload over
    /// `MAX_PAYLOAD` is refused before any projector — the guard — reads a byte of it). Appends
    /// ask it themselves; a caller that writes something beside the event first (a blob, a
    /// password hash) asks it before that write, so a refused event leaves nothing behind.
    pub fn admit(&self, event: &NewEvent) -> Result<(), StoreError> {
        event.clone().seal(u64::MAX, jiff::Timestamp::UNIX_EPOCH)?;
        for p in self.projectors.iter() {
            p.admit(event).map_err(StoreError::Refused)?;
        }
        Ok(())
    }

    /// Current size and frontier.
    pub async fn head(&self) -> Result<Frontier, StoreError> {
        self.store.head().await
    }

    /// Runs a plan over the tree of `size` entries in one store round trip. The last leaf of
    /// that tree is fetched too: if it exists, so does every node the plan needs (the log is
    /// append-only and written transactionally), so a missing node means `size` is too large.
    async fn run_plan(&self, plan: &ProofPlan, size: u64) -> Result<Vec<Hash>, StoreError> {
        let last = NodeId::new(0, size - 1);
        let mut nodes = HashMap::new();
        let mut ids = vec![last];
        {
            let cache = self.upper_nodes.read().unwrap_or_else(PoisonError::into_inner);
            for id in plan.node_ids() {
                match cache.get(&id) {
                    Some(h) => {
                        nodes.insert(id, *h);
                    }
                    None => ids.push(id),
                }
            }
        }
        let fetched = self.store.nodes(&ids).await?;
        {
            let mut cache = self.upper_nodes.write().unwrap_or_else(PoisonError::into_inner);
            for (id, h) in &fetched {
                if id.level >= CACHED_LEVEL && cache.len() < CACHE_CAPACITY {
                    cache.insert(*id, *h);
                }
            }
        }
        nodes.extend(fetched);
        if !nodes.contains_key(&last) {
            let head = self.store.head().await?.size();
            // The size typed is not repeated: past the log it is nobody's (a record number
            // typed where a size goes).
            return Err(StoreError::Invalid(format!(
                "the size asked for is beyond the log's {head} entries"
            )));
        }
        plan.assemble(&nodes)
            .ok_or_else(|| StoreError::Corrupt("a subtree hash needed for the proof is missing".into()))
    }

    /// Root of the tree of the first `size` entries.
    pub async fn root_at(&self, size: u64) -> Result<Hash, StoreError> {
        if size == 0 {
            return Ok(ward_ledger::hash::empty_root());
        }
        Ok(self.run_plan(&ProofPlan::root(size), size).await?.remove(0))
    }

    /// Inclusion proof of entry `index` in the tree of `size` entries.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        if index >= size {
            let head = self.store.head().await?.size();
            return Err(StoreError::Invalid(format!(
                "the index is not below the size (the log has {head} entries; the numbers typed are not repeated)"
            )));
        }
        self.run_plan(&ProofPlan::inclusion(index, size), size).await
    }

    /// Consistency proof between sizes `from` and `to`.
    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        if from > to {
            return Err(StoreError::Invalid(
                "the older size is larger than the newer one".into(),
            ));
        }
        if to == 0 {
            return Ok(vec![]);
        }
        self.run_plan(&ProofPlan::consistency(from, to), to).await
    }

    /// Signs and stores a checkpoint of the current head (or returns the latest if the head has
    /// not moved since).
    pub async fn checkpoint(&self, signer: &dyn NoteSigner, origin: &str) -> Result<StoredCheckpoint, StoreError> {
        let head = self.store.head().await?;
        if let Some(last) = self.store.latest_checkpoint().await?
            && last.size == head.size()
        {
            return Ok(last);
        }
        let cp = Checkpoint {
            origin: origin.to_string(),
            size: head.size(),
            root: head.root(),
            extensions: vec![],
        };
        let note = cp.sign(signer).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let stored = StoredCheckpoint {
            size: cp.size,
            root: cp.root,
            note,
            created_at: jiff::Timestamp::now().to_string(),
        };
        self.store.add_checkpoint(&stored).await?;
        Ok(stored)
    }

    /// Checkpoints the head and writes the portable export of the log into a new directory.
    pub async fn export(
        &self,
        dir: &Path,
        signer: &dyn NoteSigner,
        origin: &str,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<Manifest, StoreError> {
        let latest = self.checkpoint(signer, origin).await?;
        write_export(self, dir, origin, latest.size, progress).await
    }

    /// Recomputes the whole tree from the stored entries and compares it with every stored
    /// hash, the head, and every checkpoint (whose signature is checked with `verifier`).
    pub async fn fsck(
        &self,
        verifier: Option<&dyn NoteVerifier>,
        origin: &str,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<FsckReport, StoreError> {
        let head = self.store.head().await?;
        let size = head.size();
        let checkpoints = self.store.checkpoints().await?;
        let mut report = FsckReport {
            size,
            root: String::new(),
            checkpoints: 0,
            first_bad_entry: None,
            problems: vec![],
            state: None,
        };
        let problem = |r: &mut FsckReport, entry: Option<u64>, msg: String| {
            if r.first_bad_entry.is_none() {
                r.first_bad_entry = entry;
            }
            if r.problems.len() < 100 {
                r.problems.push(msg);
            }
        };
        let mut cps = checkpoints.iter().peekable();
        for cp in &checkpoints {
            if let Some(v) = verifier {
                match Checkpoint::open(cp.note.as_bytes(), origin, v) {
                    Ok(c) if c.size == cp.size && c.root == cp.root => {}
                    Ok(_) => problem(
                        &mut report,
                        None,
                        format!("checkpoint {}: stored size/root differ from the signed note", cp.size),
                    ),
                    Err(e) => problem(&mut report, None, format!("checkpoint {}: {e}", cp.size)),
                }
            }
        }
        let mut frontier = Frontier::new();
        let mut next = 0u64;
        while next < size {
            let chunk = self.store.entries(next, SCAN_CHUNK.min(size - next)).await?;
            if chunk.is_empty() {
                problem(
                    &mut report,
                    Some(next),
                    format!("entries stop at {next}, head says {size}"),
                );
                break;
            }
            let mut created: Vec<(NodeId, Hash)> = Vec::new();
            for e in chunk {
                if e.seq != next {
                    problem(&mut report, Some(next), format!("entry {next} is missing"));
                    next = size;
                    break;
                }
                match EventEnvelope::from_leaf(&e.leaf) {
                    Ok(env) if env.seq == next => {
                        if let Payload::Digest { sha256, size } = &env.payload {
                            let intact = self.store.blob(sha256).await?.is_some_and(|data| {
                                data.len() as u64 == *size
                                    && format!("sha256:{}", ward_ledger::hash::sha256(&data).to_hex()) == *sha256
                            });
                            if !intact {
                                problem(
                                    &mut report,
                                    Some(next),
                                    format!("entry {next}: payload {sha256} is missing or altered"),
                                );
                            }
                        }
                    }
                    Ok(env) => problem(
                        &mut report,
                        Some(next),
                        format!("entry {next}: envelope says seq {}", env.seq),
                    ),
                    Err(err) => problem(&mut report, Some(next), format!("entry {next}: {err}")),
                }
                let h = leaf_hash(&e.leaf);
                if h != e.leaf_hash {
                    problem(
                        &mut report,
                        Some(next),
                        format!("entry {next}: stored leaf hash does not match its bytes"),
                    );
                }
                created.extend(frontier.push(h).into_iter().filter(|(id, _)| id.level > 0));
                while let Some(cp) = cps.peek() {
                    if cp.size > frontier.size() {
                        break;
                    }
                    if cp.size == frontier.size() && cp.root != frontier.root() {
                        problem(
                            &mut report,
                            Some(next),
                            format!("checkpoint {}: root differs from the entries", cp.size),
                        );
                    }
                    report.checkpoints += 1;
                    cps.next();
                }
                next += 1;
            }
            let ids: Vec<NodeId> = created.iter().map(|(id, _)| *id).collect();
            let stored = self.store.nodes(&ids).await?;
            for (id, h) in created {
                if stored.get(&id) != Some(&h) {
                    problem(
                        &mut report,
                        Some(id.begin()),
                        format!(
                            "subtree level {} index {} (entries from {}) is wrong or missing",
                            id.level,
                            id.index,
                            id.begin()
                        ),
                    );
                }
            }
            progress(next.min(size), size);
        }
        if frontier.size() == size && frontier != head {
            problem(&mut report, None, "head frontier differs from the entries".into());
        }
        // Checkpoint at size 0 (empty log).
        for cp in cps {
            if cp.size == 0 && cp.root == ward_ledger::hash::empty_root() {
                report.checkpoints += 1;
            } else {
                problem(&mut report, None, format!("checkpoint {} is beyond the log", cp.size));
            }
        }
        report.root = frontier.root().to_hex();
        match self.check_state().await {
            Ok(state) => {
                for d in &state.differences {
                    problem(&mut report, None, format!("state: {d}"));
                }
                let listed = state.differences.len() as u64;
                if state.difference_count > listed {
                    problem(
                        &mut report,
                        None,
                        format!("state: {} more differences", state.difference_count - listed),
                    );
                }
                report.state = Some(state);
            }
            Err(StoreError::Corrupt(m)) => problem(&mut report, None, format!("state could not be checked: {m}")),
            Err(e) => return Err(e),
        }
        Ok(report)
    }

    /// Checks stored state against the log in one read-only snapshot: every projection rebuilt
    /// in memory and compared with the stored rows, every stored blob against its digest, every
    /// referenced payload present (see [`Store::check_state`]). Mutates nothing.
    pub async fn check_state(&self) -> Result<StateReport, StoreError> {
        self.store.check_state(&self.projectors).await
    }

    /// Drops and rebuilds every projection from the log.
    pub async fn rebuild_projections(&self) -> Result<u64, StoreError> {
        self.store.rebuild_projections(&self.projectors).await
    }
}

async fn writer(store: Arc<dyn Store>, projectors: Arc<Vec<Arc<dyn Projector>>>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let events: Vec<NewEvent> = jobs.iter().map(|j| j.event.clone()).collect();
        let documents = crate::DocumentChanges {
            put: jobs.iter_mut().flat_map(|j| std::mem::take(&mut j.documents)).collect(),
            ..Default::default()
        };
        match store.append_with_documents(events, &documents, &projectors).await {
            Ok(receipts) => {
                for (job, r) in jobs.into_iter().zip(receipts) {
                    let _ = job.reply.send(Ok(r));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "group commit failed");
                let msg = e.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(StoreError::Append(msg.clone())));
                }
            }
        }
    }
}
