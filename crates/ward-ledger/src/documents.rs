//! Text documents beside the log (pure).
//!
//! A leaf holds structure — ids, digests, counts, enums, times. Free text written by people or
//! tools lives in a **document** stored beside the log: the canonical JSON
//! `{"salt":"<32 hex, 128 random bits>","text":"…"}`, named by the SHA-256 of those bytes. In a
//! payload the text's place holds the **reference** `"doc:sha256:<hex>"`; the salt makes the
//! digest reveal nothing about a short text (no dictionary attack on a title).
//!
//! A document can be purged: the store deletes it and the log gains a `document.purged` entry
//! whose payload names it (`{"digest":"sha256:<hex>", …}`, not a reference). Every hash still
//! verifies; the verifier reports the document as purged by that entry.

use crate::hash::sha256;
use serde_json::Value;

/// What a reference string starts with.
pub const REF_PREFIX: &str = "doc:sha256:";
/// The event kind recording that a document was deleted from the store.
pub const PURGED_KIND: &str = "document.purged";
/// The event kind recording the first half of a two-person purge.
pub const PURGE_REQUESTED_KIND: &str = "document.purge_requested";
/// Largest document accepted (bytes).
pub const MAX_DOCUMENT: usize = 1 << 20;

/// A document's digest (`sha256:<hex>`) when `s` is a well-formed reference.
pub fn parse_reference(s: &str) -> Option<String> {
    let hex = s.strip_prefix(REF_PREFIX)?;
    is_hex64(hex).then(|| format!("sha256:{hex}"))
}

/// Whether `digest` is `sha256:` and 64 lowercase hex digits.
pub fn is_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(is_hex64)
}

fn is_hex64(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The reference to a document of digest `sha256:<hex>`.
pub fn reference(digest: &str) -> String {
    format!("doc:{digest}")
}

/// The document bytes for `text` under `salt` (canonical JSON) and their digest.
pub fn make(text: &str, salt: [u8; 16]) -> (String, Vec<u8>) {
    let doc = serde_json::json!({ "salt": hex::encode(salt), "text": text });
    let bytes = crate::envelope::canonical_json(&doc).unwrap_or_else(|_| doc.to_string().into_bytes());
    (digest_of(&bytes), bytes)
}

/// `sha256:<hex>` of `bytes`.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256(bytes).to_hex())
}

/// The text of a stored document, when its bytes are one.
pub fn text_of(bytes: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(bytes).ok()?;
    v.get("text")?.as_str().map(str::to_owned)
}

/// Every document digest referenced by a string value or an object key of `v` (depth-first,
/// in order; a key before its value). A key is a reference where a summary counts under a name
/// that lives beside the log (an SBOM's license names).
pub fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.extend(parse_reference(s)),
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.extend(parse_reference(k));
            references(x, out)
        }),
        _ => {}
    }
}

/// What one JSON text (a leaf, or an out-of-line payload) says about documents: the digests it
/// references, and the digest it purges when it is a `document.purged` envelope. Bytes that
/// mention neither are not parsed (the common case costs two substring searches).
pub fn scan(bytes: &[u8]) -> (Vec<String>, Option<Purge>) {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    // Both markers start with "doc"; most leaves hold neither, and one search rules both out.
    static DOC: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"doc"));
    static REF: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(REF_PREFIX.as_bytes()));
    static PURGE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(PURGED_KIND.as_bytes()));
    let Some(first) = DOC.find(bytes) else {
        return (vec![], None);
    };
    let rest = &bytes[first..];
    let has_ref = REF.find(rest).is_some();
    let has_purge = PURGE.find(rest).is_some();
    if !has_ref && !has_purge {
        return (vec![], None);
    }
    let Ok(v) = serde_json::from_slice::<Value>(bytes) else {
        return (vec![], None);
    };
    let mut refs = Vec::new();
    if has_ref {
        references(&v, &mut refs);
    }
    let purged = if has_purge { purge_of(&v) } else { None };
    (refs, purged)
}

/// `payload.of` of a purge that deleted raw evidence (an attested file) only.
pub const OF_EVIDENCE: &str = "evidence";
/// `payload.of` of a purge that deleted the same bytes stored as a document and as raw evidence.
pub const OF_BOTH: &str = "both";

/// What a `document.purged` entry deleted: a text document (no `of`: every purge before raw
/// evidence could be purged), raw evidence (`of: "evidence"`), or both (`of: "both"`). A
/// verifier excuses a missing file only by a purge of its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purge {
    /// `sha256:<hex>`.
    pub digest: String,
    /// A text document (`documents/`) was deleted.
    pub document: bool,
    /// Raw evidence (`evidence/`) was deleted.
    pub evidence: bool,
}

impl Purge {
    /// What the purge `payload` (of a `document.purged` entry) deleted.
    pub fn of_payload(payload: &Value) -> Option<Purge> {
        let d = payload.get("digest")?.as_str()?;
        if !is_digest(d) {
            return None;
        }
        let (document, evidence) = match payload.get("of").map(Value::as_str) {
            None => (true, false),
            Some(Some(OF_EVIDENCE)) => (false, true),
            Some(Some(OF_BOTH)) => (true, true),
            Some(_) => (false, false),
        };
        Some(Purge {
            digest: d.to_owned(),
            document,
            evidence,
        })
    }
}

/// What an envelope (as JSON) purges, when it is a `document.purged` event with an inline
/// payload naming a digest.
pub fn purge_of(envelope: &Value) -> Option<Purge> {
    if envelope.get("kind")?.as_str()? != PURGED_KIND {
        return None;
    }
    Purge::of_payload(envelope.get("payload")?.get("inline")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_salted_and_referenced_by_its_digest() {
        let (d1, b1) = make("Fix login", [1; 16]);
        let (d2, _) = make("Fix login", [2; 16]);
        assert_ne!(d1, d2, "the salt changes the digest");
        assert_eq!(digest_of(&b1), d1);
        assert_eq!(text_of(&b1).as_deref(), Some("Fix login"));
        assert_eq!(parse_reference(&reference(&d1)), Some(d1.clone()));
        assert_eq!(parse_reference("doc:sha256:ABC"), None);
        assert_eq!(parse_reference("Fix login"), None);
    }

    #[test]
    fn scan_finds_references_not_escaped_look_alikes() {
        let (d, _) = make("x", [3; 16]);
        let leaf = serde_json::json!({"kind":"change.opened","payload":{"inline":{"title": reference(&d),
            "description": format!("see \"{}\"", reference(&d))}}});
        let bytes = crate::envelope::canonical_json(&leaf).unwrap();
        let (refs, purged) = scan(&bytes);
        assert_eq!(refs, vec![d.clone()]);
        assert_eq!(purged, None);
        let p = serde_json::json!({"kind": PURGED_KIND, "payload": {"inline": {"digest": d}}});
        let (refs, purged) = scan(&crate::envelope::canonical_json(&p).unwrap());
        assert!(refs.is_empty());
        assert_eq!(
            purged,
            Some(Purge {
                digest: d.clone(),
                document: true,
                evidence: false
            })
        );
        let p = serde_json::json!({"kind": PURGED_KIND, "payload": {"inline": {"digest": d, "of": OF_EVIDENCE}}});
        let (_, purged) = scan(&crate::envelope::canonical_json(&p).unwrap());
        assert_eq!(purged.map(|p| (p.document, p.evidence)), Some((false, true)));
        let p = serde_json::json!({"kind": PURGED_KIND, "payload": {"inline": {"digest": d, "of": "other"}}});
        let (_, purged) = scan(&crate::envelope::canonical_json(&p).unwrap());
        assert_eq!(
            purged.map(|p| (p.document, p.evidence)),
            Some((false, false)),
            "an unknown kind excuses nothing"
        );
        assert_eq!(scan(b"{\"kind\":\"x\"}"), (vec![], None));
    }
}
