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
