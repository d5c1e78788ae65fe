//! The versioned event envelope: what one leaf of the log says.
//!
//! A leaf is the RFC 8785 (JCS) canonical JSON of an [`EventEnvelope`]. Payloads up to
//! [`MAX_INLINE_PAYLOAD`] bytes (canonical form) are carried inline; larger ones are replaced by
//! their sha256 digest and size, and the bytes are stored beside the log.

use crate::hash::sha256;
use crate::jcs_check::{self, Canonicity};
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

impl SealedEvent {
    /// The event as projectors see it: its whole payload inline, wherever the leaf keeps it.
    pub fn projected(&self) -> EventEnvelope {
        let mut out = self.envelope.clone();
        // The bytes were just made from the payload: read back without hashing them again.
        if let Some(value) = self
            .blob
            .as_ref()
            .and_then(|(_, b)| serde_json::from_slice::<Value>(b).ok())
        {
            out.payload = Payload::Inline(value);
        }
        out
    }
}

impl EventEnvelope {
    /// This event with an out-of-line payload read back from `bytes` (the stored payload, whose
    /// digest the leaf holds), so that a large event is projected as a small one is: before,
    /// a projector saw only `{"digest": …}` and a change of many authors or a large scan was
    /// recorded but never projected. Bytes absent, or not the payload the digest names, leave
    /// the event as it is.
    pub fn with_payload(&self, bytes: Option<&[u8]>) -> EventEnvelope {
        let mut out = self.clone();
        if let (Payload::Digest { sha256: digest, .. }, Some(bytes)) = (&self.payload, bytes)
            && *digest == format!("sha256:{}", sha256(bytes).to_hex())
            && let Ok(value) = serde_json::from_slice::<Value>(bytes)
        {
            out.payload = Payload::Inline(value);
        }
        out
    }

    /// Parses leaf bytes, insisting on the canonical form so that one event has one encoding.
    pub fn from_leaf(leaf: &[u8]) -> Result<EventEnvelope, EnvelopeError> {
        if leaf.len() > MAX_LEAF_LEN {
            return Err(EnvelopeError::Invalid("leaf too large".into()));
        }
        let env: EventEnvelope = serde_json::from_slice(leaf)?;
        ensure_canonical(leaf, &env)?;
        Ok(env)
    }
}

/// Fails unless `leaf` is the RFC 8785 form of `parsed` (the value read from it). The byte-level
/// check decides almost every leaf without allocating; the rest are canonicalised and compared.
fn ensure_canonical<T: Serialize>(leaf: &[u8], parsed: &T) -> Result<(), EnvelopeError> {
    let canonical = match jcs_check::check(leaf) {
        Canonicity::Yes => true,
        Canonicity::No => false,
        Canonicity::Undecided => canonical_json(parsed)? == leaf,
    };
    if canonical {
        Ok(())
    } else {
        Err(EnvelopeError::NotCanonical)
    }
}

/// What the offline verifier needs from a leaf — its position and out-of-line payload — read
/// with the same strictness as [`EventEnvelope::from_leaf`] but without building the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafHeader {
    /// Position the envelope claims.
    pub seq: u64,
    /// `(sha256:<hex>, size)` when the payload is stored beside the log.
    pub payload_digest: Option<(String, u64)>,
}

impl LeafHeader {
    /// Checks that `leaf` is a canonical envelope and returns its header. Accepts exactly the
    /// leaves [`EventEnvelope::from_leaf`] accepts.
    pub fn from_leaf(leaf: &[u8]) -> Result<LeafHeader, EnvelopeError> {
        if leaf.len() > MAX_LEAF_LEN {
            return Err(EnvelopeError::Invalid("leaf too large".into()));
        }
        if let Some(header) = read_canonical_header(leaf) {
            return Ok(header);
        }
        // Anything unusual takes the full path, which also words the error.
        let env = EventEnvelope::from_leaf(leaf)?;
        let payload_digest = match env.payload {
            Payload::Digest { sha256, size } => Some((sha256, size)),
            Payload::Inline(_) => None,
        };
        Ok(LeafHeader {
            seq: env.seq,
            payload_digest,
        })
    }
}

/// Reads the header of a canonical envelope in one pass. In canonical form an envelope is one
/// fixed sequence of keys, so this is a walk over literals with checked strings and an inline
/// payload checked as canonical JSON. `None` whenever the leaf is not a decidedly canonical
/// envelope (including out-of-line digests with escapes, or payload numbers that need
/// formatting), leaving the decision and the wording of any error to the full parser.
fn read_canonical_header(leaf: &[u8]) -> Option<LeafHeader> {
    let mut r = jcs_check::Cursor::new(leaf)?;
    r.lit(br#"{"actor":{"id":"#)?;
    r.string()?;
    r.lit(br#","kind":"#)?;
    r.one_of(&[br#""automation"}"#, br#""human"}"#])?;
    r.lit(br#","kind":"#)?;
    r.string()?;
    r.lit(br#","payload":{"#)?;
    let payload_digest = if r.lit(br#""inline":"#).is_some() {
        r.value()?;
        None
    } else {
        r.lit(br#""digest":{"sha256":"#)?;
        let digest = r.string()??;
        r.lit(br#","size":"#)?;
        let size = r.uint()?;
        r.lit(b"}")?;
        Some((digest.to_string(), size))
    };
    r.lit(br#"},"seq":"#)?;
    let seq = r.uint()?;
    r.lit(br#","subject":"#)?;
    r.string()?;
    r.lit(br#","time":"#)?;
    r.string()?;
    r.lit(br#","v":"#)?;
    u32::try_from(r.uint()?).ok()?;
    r.lit(b"}")?;
    r.finished().then_some(LeafHeader { seq, payload_digest })
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
            let header = LeafHeader::from_leaf(&sealed.leaf).unwrap();
            assert_eq!(header.seq, 3);
        }
        // Integers beyond 2^53 are written the way JCS writes doubles, and still read back.
        let sealed = ev(json!({"big": 9_007_199_254_740_993u64}))
            .seal(1, jiff::Timestamp::UNIX_EPOCH)
            .unwrap();
        let text = String::from_utf8(sealed.leaf.clone()).unwrap();
        assert!(text.contains("9007199254740992"), "{text}");
        assert!(EventEnvelope::from_leaf(&sealed.leaf).is_ok());
        let odd = text.replace("9007199254740992", "9007199254740993");
        assert!(matches!(
            EventEnvelope::from_leaf(odd.as_bytes()),
            Err(EnvelopeError::NotCanonical)
        ));
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
