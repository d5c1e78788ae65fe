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

/// A pure mapping from events to projection changes.
pub trait Projector: Send + Sync {
    /// The projector's name (for diagnostics).
    fn name(&self) -> &'static str;
    /// The changes one event causes.
    fn project(&self, event: &EventEnvelope) -> Vec<ProjectionOp>;
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
