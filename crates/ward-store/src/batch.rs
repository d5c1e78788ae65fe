//! Pure preparation of an append batch: sequence numbers, sealing, new subtree hashes,
//! projection operations and the new frontier. Both stores write what this computes.

use crate::projection::{ProjectionOp, Projector};
use std::sync::Arc;
use ward_ledger::envelope::EnvelopeError;
use ward_ledger::{Frontier, Hash, NewEvent, NodeId, leaf_hash};

/// One row of `ledger_entries`.
#[derive(Clone, Debug)]
pub struct EntryRow {
    /// Leaf index.
    pub seq: u64,
    /// Canonical envelope bytes.
    pub leaf: Vec<u8>,
    /// RFC 6962 leaf hash.
    pub leaf_hash: Hash,
    /// Event kind (indexed copy).
    pub kind: String,
    /// Subject (indexed copy).
    pub subject: String,
    /// Actor id (indexed copy).
    pub actor: String,
    /// Sequencing time.
    pub time: String,
}

/// Acknowledgement of one appended event.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Receipt {
    /// Leaf index assigned.
    pub seq: u64,
    /// Leaf hash, hex.
    pub leaf_hash: String,
    /// Sequencing time.
    pub time: String,
}

/// Everything one transaction writes.
#[derive(Debug, Default)]
pub struct PreparedBatch {
    /// New entries.
    pub entries: Vec<EntryRow>,
    /// New complete subtrees above the leaves (level ≥ 1).
    pub nodes: Vec<(NodeId, Hash)>,
    /// Out-of-line payloads.
    pub blobs: Vec<(String, Vec<u8>)>,
    /// Projection changes with the sequence number of their event, in event order.
    pub ops: Vec<(u64, ProjectionOp)>,
    /// Frontier after the batch.
    pub frontier: Frontier,
}

impl PreparedBatch {
    /// Receipts for the batch's events, in order.
    pub fn receipts(&self) -> Vec<Receipt> {
        self.entries
            .iter()
            .map(|e| Receipt {
                seq: e.seq,
                leaf_hash: e.leaf_hash.to_hex(),
                time: e.time.clone(),
            })
            .collect()
    }
}

/// Seals `events` after `head` at `time` and computes everything to write.
pub fn prepare(
    head: &Frontier,
    events: Vec<NewEvent>,
    time: jiff::Timestamp,
    projectors: &[Arc<dyn Projector>],
) -> Result<PreparedBatch, EnvelopeError> {
    let mut frontier = head.clone();
    let mut out = PreparedBatch::default();
    for ev in events {
        let seq = frontier.size();
        let sealed = ev.seal(seq, time)?;
        let h = leaf_hash(&sealed.leaf);
        for (id, nh) in frontier.push(h) {
            if id.level > 0 {
                out.nodes.push((id, nh));
            }
        }
        // Projectors see the whole payload, also one kept out of line.
        let projected = sealed.projected();
        for p in projectors {
            out.ops.extend(p.project(&projected).into_iter().map(|op| (seq, op)));
        }
        if let Some(blob) = sealed.blob {
            out.blobs.push(blob);
        }
        let env = sealed.envelope;
        out.entries.push(EntryRow {
            seq,
            leaf: sealed.leaf,
            leaf_hash: h,
            kind: env.kind,
            subject: env.subject,
            actor: env.actor.id,
            time: env.time,
        });
    }
    out.frontier = frontier;
    Ok(out)
}
