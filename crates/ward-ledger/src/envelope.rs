//! The versioned event envelope: what one leaf of the log says.
//!
//! A leaf is the RFC 8785 (JCS) canonical JSON of an [`EventEnvelope`]. Payloads up to
//! [`MAX_INLINE_PAYLOAD`] bytes (canonical form) are carried inline; larger ones are replaced by
//! their sha256 digest and size, and the bytes are stored beside the log.

use crate::hash::sha256;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

/// Current envelope format version.
pub const ENVELOPE_VERSION: u32 = 1;
/// Largest payload (canonical JSON bytes) carried inside the leaf.
pub const MAX_INLINE_PAYLOAD: usize = 8 * 1024;
/// Largest leaf accepted (it must fit a tlog-tiles entry bundle record).
pub const MAX_LEAF_LEN: usize = 65_535;
/// Largest payload accepted at all, inline or by digest.
pub const MAX_PAYLOAD: usize = 4 * 1024 * 1024;

/// Errors building or reading envelopes.
#[derive(Debug, Error)]
pub enum EnvelopeError {
    /// A field does not satisfy its rule.
    #[error("invalid event: {0}")]
    Invalid(String),
    /// The bytes are not JSON of the envelope's shape.
    #[error("entry is not a valid event envelope: {0}")]
    Json(#[from] serde_json::Error),
    /// The bytes are valid JSON but not in RFC 8785 canonical form.
    #[error("entry is not in RFC 8785 canonical form")]
    NotCanonical,
    /// Canonicalisation failed.
    #[error("cannot canonicalise: {0}")]
    Canonical(String),
}

/// Whether an identity is a person or a machine; recorded on every event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActorKind {
    /// A person.
    Human,
    /// A CI job, service or other automation.
    Automation,
}

/// Who caused an event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// Stable identity id (e.g. `user:alice`, `ci:github/org/repo/release.yml`).
    pub id: String,
    /// Person or automation.
    pub kind: ActorKind,
}

/// The event's payload: inline JSON, or a reference to stored bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Payload {
    /// Canonical JSON carried in the leaf.
    Inline(Value),
    /// A payload too large to inline, identified by digest.
    Digest {
        /// `sha256:<hex>` of the canonical JSON bytes.
        sha256: String,
        /// Length of those bytes.
        size: u64,
    },
}

/// One sealed event, as it stands in the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventEnvelope {
    // Fields are declared in RFC 8785 key order, so plain serialisation is usually canonical.
    /// Who caused the event.
    pub actor: Actor,
    /// Event kind, dotted lower case (e.g. `artifact.registered`).
    pub kind: String,
    /// Event data.
    pub payload: Payload,
    /// Position in the log (0-based leaf index).
    pub seq: u64,
    /// What the event is about (e.g. `artifact:sha256:…`, `change:42`).
    pub subject: String,
    /// UTC time the event was sequenced, RFC 3339 with microseconds and `Z`.
    pub time: String,
    /// Envelope format version.
    pub v: u32,
}

/// An event before it is sequenced: what a caller submits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEvent {
    /// Who causes the event.
    pub actor: Actor,
    /// Event kind.
    pub kind: String,
    /// What the event is about.
    pub subject: String,
    /// Event data (any JSON; `null` when absent).
    #[serde(default)]
    pub payload: Value,
}

/// A sealed event ready to append: the leaf bytes, and the payload bytes when not inline.
#[derive(Clone, Debug)]
pub struct SealedEvent {
    /// The envelope.
    pub envelope: EventEnvelope,
    /// Canonical leaf bytes.
    pub leaf: Vec<u8>,
    /// `(digest, bytes)` of an out-of-line payload.
    pub blob: Option<(String, Vec<u8>)>,
}

/// RFC 8785 canonical JSON of any serialisable value.
pub fn canonical_json<T: Serialize>(value: &T) -> Result<Vec<u8>, EnvelopeError> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| EnvelopeError::Canonical(e.to_string()))
}

/// Formats a timestamp as the envelope's time field.
pub fn format_time(ts: jiff::Timestamp) -> String {
    let secs = ts.strftime("%Y-%m-%dT%H:%M:%S");
    format!("{secs}.{:06}Z", ts.subsec_microsecond())
}

fn check_token(field: &str, value: &str, max: usize) -> Result<(), EnvelopeError> {
    if value.is_empty() || value.len() > max {
        return Err(EnvelopeError::Invalid(format!("{field} must be 1 to {max} bytes long")));
    }
    if value.chars().any(char::is_control) {
        return Err(EnvelopeError::Invalid(format!(
            "{field} must not contain control characters"
        )));
    }
    Ok(())
}

impl NewEvent {
    /// Checks the fields a caller controls.
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        check_token("actor.id", &self.actor.id, 256)?;
        check_token("subject", &self.subject, 512)?;
        check_token("kind", &self.kind, 128)?;
        let kind_ok = self
            .kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !kind_ok {
            return Err(EnvelopeError::Invalid(
                "kind must be lower-case letters, digits, '.', '_' or '-'".into(),
            ));
        }
        Ok(())
    }

    /// Assigns position and time, canonicalises, and moves a large payload out of line.
    pub fn seal(self, seq: u64, time: jiff::Timestamp) -> Result<SealedEvent, EnvelopeError> {
        self.validate()?;
        let payload_bytes = canonical_json(&self.payload)?;
        if payload_bytes.len() > MAX_PAYLOAD {
            return Err(EnvelopeError::Invalid(format!("payload exceeds {MAX_PAYLOAD} bytes")));
        }
        let (payload, blob) = if payload_bytes.len() <= MAX_INLINE_PAYLOAD {
            (Payload::Inline(self.payload), None)
        } else {
            let digest = format!("sha256:{}", sha256(&payload_bytes).to_hex());
            let size = payload_bytes.len() as u64;
            (
                Payload::Digest {
                    sha256: digest.clone(),
                    size,
                },
                Some((digest, payload_bytes)),
            )
        };
        let envelope = EventEnvelope {
            v: ENVELOPE_VERSION,
            seq,
            time: format_time(time),
            actor: self.actor,
            kind: self.kind,
            subject: self.subject,
            payload,
        };
        let leaf = canonical_json(&envelope)?;
        if leaf.len() > MAX_LEAF_LEN {
            return Err(EnvelopeError::Invalid(format!(
                "event is {} bytes, above the {MAX_LEAF_LEN}-byte leaf limit (shorten subject or actor)",
                leaf.len()
            )));
        }
        Ok(SealedEvent { envelope, leaf, blob })
    }
}

impl EventEnvelope {
    /// Parses leaf bytes, insisting on the canonical form so that one event has one encoding.
    pub fn from_leaf(leaf: &[u8]) -> Result<EventEnvelope, EnvelopeError> {
        if leaf.len() > MAX_LEAF_LEN {
            return Err(EnvelopeError::Invalid("leaf too large".into()));
        }
        let env: EventEnvelope = serde_json::from_slice(leaf)?;
        // Fast path: where plain serde_json output provably equals RFC 8785 (sorted struct
        // fields, integer numbers only, ASCII object keys), compare with it; otherwise run the
        // full canonicaliser.
        let canonical = if plain_is_canonical(&env) {
            serde_json::to_vec(&env)? == leaf
        } else {
            canonical_json(&env)? == leaf
        };
        if !canonical {
            return Err(EnvelopeError::NotCanonical);
        }
        Ok(env)
    }
}

/// Whether serde_json's output for this envelope is byte-identical to its RFC 8785 form: true
/// when the payload holds no floating-point number (JCS uses ECMAScript number formatting) and
/// no non-ASCII object key (JCS sorts keys by UTF-16 code units, serde_json's map by bytes).
fn plain_is_canonical(env: &EventEnvelope) -> bool {
    fn ok(v: &Value) -> bool {
        match v {
            Value::Number(n) => n.is_i64() || n.is_u64(),
            Value::Array(a) => a.iter().all(ok),
            Value::Object(m) => m.iter().all(|(k, v)| k.is_ascii() && ok(v)),
            _ => true,
        }
    }
    match &env.payload {
        Payload::Inline(v) => ok(v),
        Payload::Digest { .. } => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(payload: Value) -> NewEvent {
        NewEvent {
            actor: Actor {
                id: "user:alice".into(),
                kind: ActorKind::Human,
            },
            kind: "demo.event".into(),
            subject: "change:1".into(),
            payload,
        }
    }

    #[test]
    fn leaf_is_canonical_and_round_trips() {
        let ts = jiff::Timestamp::from_microsecond(1_700_000_000_123_456).unwrap();
        let sealed = ev(json!({"z": 1, "a": [true, null, 1.5e3]})).seal(7, ts).unwrap();
        let text = String::from_utf8(sealed.leaf.clone()).unwrap();
        assert_eq!(
            text,
            r#"{"actor":{"id":"user:alice","kind":"human"},"kind":"demo.event","payload":{"inline":{"a":[true,null,1500],"z":1}},"seq":7,"subject":"change:1","time":"2023-11-14T22:13:20.123456Z","v":1}"#
        );
        // Numbers keep their canonical value (1.5e3 reads back as the integer 1500).
        let back = EventEnvelope::from_leaf(&sealed.leaf).unwrap();
        assert_eq!(canonical_json(&back).unwrap(), sealed.leaf);
        assert_eq!(back.seq, 7);
    }

    #[test]
    fn fast_path_agrees_with_the_canonicaliser() {
        for payload in [
            json!({"b": 1, "a": [1, -2, {"z": null, "y": "\u{1}\"é"}]}),
            json!({"é": 1, "z": 2}),
            json!({"f": 1.5, "g": 1e21, "h": 0.1}),
            json!("plain"),
            json!(null),
        ] {
            let sealed = ev(payload).seal(3, jiff::Timestamp::UNIX_EPOCH).unwrap();
            let back = EventEnvelope::from_leaf(&sealed.leaf).unwrap();
            assert_eq!(canonical_json(&back).unwrap(), sealed.leaf);
            if plain_is_canonical(&back) {
                assert_eq!(serde_json::to_vec(&back).unwrap(), sealed.leaf);
            }
        }
        // A float written the serde_json way, not the JCS way, is refused.
        let sealed = ev(json!({"g": 1e21})).seal(0, jiff::Timestamp::UNIX_EPOCH).unwrap();
        let text = String::from_utf8(sealed.leaf).unwrap();
        assert!(text.contains("1e+21"), "{text}");
        let odd = text.replace("1e+21", "1e21");
        assert!(matches!(
            EventEnvelope::from_leaf(odd.as_bytes()),
            Err(EnvelopeError::NotCanonical)
        ));
    }

    #[test]
    fn non_canonical_leaf_is_rejected() {
        let ts = jiff::Timestamp::UNIX_EPOCH;
        let sealed = ev(json!(null)).seal(0, ts).unwrap();
        let mut spaced = String::from_utf8(sealed.leaf).unwrap();
        spaced = spaced.replacen(':', ": ", 1);
        assert!(matches!(
            EventEnvelope::from_leaf(spaced.as_bytes()),
            Err(EnvelopeError::NotCanonical)
        ));
        assert!(EventEnvelope::from_leaf(b"{").is_err());
        assert!(EventEnvelope::from_leaf(b"{\"v\":1}").is_err());
    }

    #[test]
    fn large_payload_goes_out_of_line() {
        let big = "x".repeat(MAX_INLINE_PAYLOAD + 1);
        let sealed = ev(json!(big)).seal(0, jiff::Timestamp::UNIX_EPOCH).unwrap();
        let (digest, bytes) = sealed.blob.unwrap();
        assert_eq!(digest, format!("sha256:{}", sha256(&bytes).to_hex()));
        assert!(matches!(sealed.envelope.payload, Payload::Digest { size, .. } if size == bytes.len() as u64));
    }

    #[test]
    fn invalid_fields_are_refused() {
        let mut e = ev(json!(1));
        e.kind = "Bad Kind".into();
        assert!(e.seal(0, jiff::Timestamp::UNIX_EPOCH).is_err());
        let mut e = ev(json!(1));
        e.subject = String::new();
        assert!(e.validate().is_err());
        let mut e = ev(json!(1));
        e.actor.id = "a\nb".into();
        assert!(e.validate().is_err());
        let huge = "y".repeat(MAX_PAYLOAD + 10);
        assert!(ev(json!(huge)).seal(0, jiff::Timestamp::UNIX_EPOCH).is_err());
    }
}
