//! `ward-ledger`: Ward's tamper-evident event log, as pure code.
//!
//! - [`hash`]: RFC 6962 leaf/node hashing.
//! - [`tree`]: tree math, frontier, proof plans over stored complete subtrees.
//! - [`proof`]: inclusion and consistency proof verification (RFC 9162 §2.1.3–2.1.4).
//! - [`note`] and [`checkpoint`]: C2SP signed notes and tlog checkpoints.
//! - [`envelope`]: the canonical (RFC 8785) event envelope that forms each leaf.
//! - [`jcs_check`]: a zero-allocation check that bytes are already RFC 8785 canonical.
//! - [`documents`]: free text beside the log, referenced by salted digest; purge markers.
//! - [`tiles`] and [`export`]: C2SP tlog-tiles export and the offline verifier.
//! - [`bundle`]: evidence bundles — layout, manifest, C2SP tlog-proofs, offline verification.
//!
//! Nothing here touches a database or the network; stores live in `ward-store`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bundle;
pub mod checkpoint;
pub mod documents;
pub mod envelope;
pub mod export;
pub mod hash;
pub mod jcs_check;
pub mod note;
pub mod proof;
pub mod tiles;
pub mod tree;

pub use checkpoint::Checkpoint;
pub use envelope::{Actor, ActorKind, EventEnvelope, NewEvent, Payload, SealedEvent};
pub use hash::{Hash, leaf_hash, node_hash};
pub use note::{Ed25519Signer, NoteSigner, NoteVerifier};
pub use tree::{Frontier, MemoryTree, NodeId, ProofPlan};
