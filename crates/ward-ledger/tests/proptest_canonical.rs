//! Property tests for the byte-level RFC 8785 check and the verifier's leaf header parser.
//!
//! The reference is the full canonicaliser (`serde_json_canonicalizer`): the fast check may say
//! "undecided", but whenever it says "yes" the canonicaliser must reproduce the bytes, and
//! whenever it says "no" it must not. The header parser must accept exactly the leaves the full
//! envelope parser accepts.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use ward_ledger::envelope::{Actor, ActorKind, EventEnvelope, LeafHeader, NewEvent, Payload};
use ward_ledger::jcs_check::{Canonicity, check};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (-1_000_000i64..1_000_000).prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        "[a-z\"\\\\\u{0}-\u{1f}é😀]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-zA-Z0-9é😀\u{fb01}\u{1}]{0,6}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// What the full canonicaliser says about bytes: canonical iff parse + canonicalise reproduces them.
fn reference(bytes: &[u8]) -> bool {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v) => serde_json_canonicalizer::to_vec(&v).is_ok_and(|c| c == bytes),
        Err(_) => false,
    }
}

fn sealed_leaf(payload: Value, seq: u64) -> Vec<u8> {
    NewEvent {
        actor: Actor {
            id: "user:alice".into(),
            kind: ActorKind::Human,
        },
        kind: "prop.event".into(),
        subject: "change:1".into(),
        payload,
    }
    .seal(seq, jiff::Timestamp::UNIX_EPOCH)
    .expect("seal")
    .leaf
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn canonical_output_is_never_refused(v in json_value()) {
        let bytes = serde_json_canonicalizer::to_vec(&v).expect("canonicalise");
        prop_assert_ne!(check(&bytes), Canonicity::No, "{}", String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn fast_answers_agree_with_the_canonicaliser(v in json_value(), pretty in any::<bool>()) {
        // serde_json's own output (sorted by bytes, different escapes and numbers) or pretty output.
        let bytes = if pretty { serde_json::to_vec_pretty(&v) } else { serde_json::to_vec(&v) }.expect("json");
        match check(&bytes) {
            Canonicity::Yes => prop_assert!(reference(&bytes), "{}", String::from_utf8_lossy(&bytes)),
            Canonicity::No => prop_assert!(!reference(&bytes), "{}", String::from_utf8_lossy(&bytes)),
            Canonicity::Undecided => {}
        }
    }

    #[test]
    fn mutated_bytes_are_judged_like_the_canonicaliser(
        v in json_value(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        delete in any::<bool>(),
    ) {
        let mut bytes = serde_json_canonicalizer::to_vec(&v).expect("canonicalise");
        if bytes.is_empty() { return Ok(()); }
        let i = at.index(bytes.len());
        if delete { bytes.remove(i); } else { bytes[i] = byte; }
        match check(&bytes) {
            Canonicity::Yes => prop_assert!(reference(&bytes), "{}", String::from_utf8_lossy(&bytes)),
            Canonicity::No => prop_assert!(!reference(&bytes), "{}", String::from_utf8_lossy(&bytes)),
            Canonicity::Undecided => {}
        }
    }

    #[test]
    fn header_parser_accepts_exactly_what_the_envelope_parser_accepts(
        v in json_value(),
        seq in 0u64..1 << 40,
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        mutate in any::<bool>(),
        out_of_line in any::<bool>(),
    ) {
        // Payloads over the inline limit are carried by digest; cover both shapes.
        let v = if out_of_line { json!({"blob": "x".repeat(9000), "v": v}) } else { v };
        let mut leaf = sealed_leaf(v, seq);
        if mutate {
            let i = at.index(leaf.len());
            leaf[i] = byte;
        }
        let full = EventEnvelope::from_leaf(&leaf);
        let header = LeafHeader::from_leaf(&leaf);
        prop_assert_eq!(full.is_ok(), header.is_ok(), "{}", String::from_utf8_lossy(&leaf));
        if let (Ok(full), Ok(header)) = (full, header) {
            prop_assert_eq!(full.seq, header.seq);
            let digest = match full.payload {
                Payload::Digest { sha256, size } => Some((sha256, size)),
                Payload::Inline(_) => None,
            };
            if !mutate { prop_assert_eq!(digest.is_some(), out_of_line); }
            prop_assert_eq!(digest, header.payload_digest);
            if !mutate { prop_assert_eq!(header.seq, seq); }
        }
    }
}
