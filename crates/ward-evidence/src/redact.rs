//! Irreversible fingerprints of redacted spans.
//!
//! When `--redact` stores a cleaned copy of a document, the log records what was removed: the
//! detector, line and column, and a fingerprint of the removed span, so that the same value
//! redacted twice can be correlated. A plain hash of a span is no fingerprint: an SSN, a date of
//! birth or an MRN has so few possible values that its SHA-256 is reversed by enumeration in
//! seconds. The fingerprint is therefore an HMAC-SHA256 under a per-installation key that is
//! kept outside the log (the server keeps it in `ward_meta`, never in an event or an export):
//! equal within one installation, unrelated across installations, and useless to anyone who holds
//! the log or an export but not the key. Without a key there is no fingerprint at all.
//!
//! Pure: the key's random bytes come from the caller.

use crate::guard::Finding;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Prefix of a stored key and of every fingerprint (the algorithm, versioned).
pub const SCHEME: &str = "hmac-sha256";
/// Domain separation: a fingerprint key is never used for anything else.
const CONTEXT: &[u8] = b"ward.redaction.v1\0";

/// A per-installation fingerprint key (32 random bytes). Its `Debug` never shows the key.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerprintKey([u8; 32]);

impl std::fmt::Debug for FingerprintKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FingerprintKey(…)")
    }
}

/// A stored key that cannot be read (the message never carries the stored text).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the stored redaction fingerprint key is malformed")]
pub struct MalformedKey;

impl FingerprintKey {
    /// A key from 32 random bytes (the caller draws them from the operating system).
    pub fn from_random(bytes: [u8; 32]) -> FingerprintKey {
        FingerprintKey(bytes)
    }

    /// The form kept in the store: `hmac-sha256:v1:<64 hex digits>`.
    pub fn encode(&self) -> String {
        format!("{SCHEME}:v1:{}", hex::encode(self.0))
    }

    /// Reads [`FingerprintKey::encode`]'s form back.
    pub fn decode(stored: &str) -> Result<FingerprintKey, MalformedKey> {
        let hex_part = stored
            .strip_prefix(SCHEME)
            .and_then(|r| r.strip_prefix(":v1:"))
            .ok_or(MalformedKey)?;
        let bytes = hex::decode(hex_part).map_err(|_| MalformedKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| MalformedKey)?;
        if key == [0u8; 32] {
            return Err(MalformedKey);
        }
        Ok(FingerprintKey(key))
    }

    /// The fingerprint of `span`: `hmac-sha256:<hex>` of the span's bytes under this key.
    pub fn fingerprint(&self, span: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(CONTEXT);
        mac.update(span.as_bytes());
        format!("{SCHEME}:{}", hex::encode(mac.finalize().into_bytes()))
    }
}

/// What the log records about one redacted span: where, which detector, and (with a key) the
/// keyed fingerprint — never the span or a plain hash of it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Redaction {
    /// Detector name.
    pub detector: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (bytes).
    pub column: usize,
    /// `hmac-sha256:` of the removed span under the installation's key; absent without a key
    /// (and in entries written before keyed fingerprints, whose plain `span_sha256` is not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Which decoding revealed the span (`xml`, `escape`, `unicode`, `base64`, …; see
    /// [`Finding::decoded`]); the encoded span was removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<String>,
}

/// The redactions to record for `findings` made in `text`. A finding whose span cannot be read
/// back from `text` gets no fingerprint (never a guess).
pub fn redactions(text: &str, findings: &[Finding], key: Option<&FingerprintKey>) -> Vec<Redaction> {
    findings
        .iter()
        .map(|f| Redaction {
            detector: f.detector.clone(),
            line: f.line,
            column: f.column,
            fingerprint: key.and_then(|k| f.span(text).map(|span| k.fingerprint(span))),
            decoded: f.decoded.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::{GuardConfig, scan};
    use sha2::Digest;

    fn key(b: u8) -> FingerprintKey {
        FingerprintKey::from_random([b; 32])
    }

    #[test]
    fn ssn_fingerprint_is_not_its_plain_sha256() {
        let text = "patient ssn 123-45-6789\n";
        let r = redactions(text, &scan(text, &GuardConfig::default()), Some(&key(7)));
        assert_eq!(r.len(), 1);
        let plain = hex::encode(sha2::Sha256::digest(b"123-45-6789"));
        let fp = r[0].fingerprint.as_deref().unwrap();
        assert!(fp.starts_with("hmac-sha256:") && !fp.contains(&plain), "{fp}");
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("123-45-6789") && !json.contains(&plain), "{json}");
    }

    #[test]
    fn same_span_correlates_within_an_installation_only() {
        let (a, b) = ("ssn 123-45-6789 here", "other file\nagain: 123-45-6789");
        let cfg = GuardConfig::default();
        let fp = |text: &str, k: &FingerprintKey| redactions(text, &scan(text, &cfg), Some(k))[0].fingerprint.clone();
        assert_eq!(fp(a, &key(1)), fp(b, &key(1)));
        assert_ne!(fp(a, &key(1)), fp(a, &key(2)));
        assert_ne!(fp(a, &key(1)), fp("ssn 123-45-6780", &key(1)));
    }

    #[test]
    fn without_a_key_there_is_no_fingerprint() {
        let text = "key AKIAIOSFODNN7EXAMPLE";
        let r = redactions(text, &scan(text, &GuardConfig::default()), None);
        assert_eq!(r[0].fingerprint, None);
        assert!(!serde_json::to_string(&r).unwrap().contains("fingerprint"));
        // A span that does not lie in the text given gets none either.
        let r = redactions("short", &scan(text, &GuardConfig::default()), Some(&key(1)));
        assert_eq!(r[0].fingerprint, None);
    }

    #[test]
    fn stored_keys_round_trip_and_bad_ones_are_refused_without_echo() {
        let k = key(9);
        assert_eq!(FingerprintKey::decode(&k.encode()), Ok(k.clone()));
        assert!(!format!("{k:?}").contains("0909"));
        for bad in [
            "",
            "hmac-sha256:v1:",
            "hmac-sha256:v2:0909",
            "hmac-sha256:v1:zz",
            &format!("hmac-sha256:v1:{}", "00".repeat(32)),
            &format!("hmac-sha256:v1:{}", "09".repeat(31)),
        ] {
            let e = FingerprintKey::decode(bad).unwrap_err();
            assert!(!bad.is_empty() || e == MalformedKey);
            assert!(!e.to_string().contains("0909"));
        }
    }

    #[test]
    fn old_entries_with_a_plain_hash_still_read() {
        let r: Redaction =
            serde_json::from_str(r#"{"detector":"us-ssn","line":1,"column":5,"span_sha256":"sha256:00"}"#).unwrap();
        assert_eq!((r.detector.as_str(), r.fingerprint), ("us-ssn", None));
    }
}
