//! C2SP signed notes (<https://c2sp.org/signed-note>), compatible with Go's
//! `golang.org/x/mod/sumdb/note`.
//!
//! The signature algorithm is pluggable through [`NoteSigner`] and [`NoteVerifier`]; Ed25519
//! (algorithm byte 0x01) is provided. Key strings follow the same encoding:
//! verifier `name+hex8+base64(alg‖public key)`, signer `PRIVATE+KEY+name+hex8+base64(alg‖seed)`,
//! where `hex8` is the key ID: the first four bytes of SHA-256(name ‖ "\n" ‖ alg ‖ public key).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Algorithm byte of Ed25519 keys in C2SP signed notes.
pub const ALG_ED25519: u8 = 0x01;
/// Largest signed note accepted by [`open`], in bytes.
pub const MAX_NOTE_LEN: usize = 1 << 20;
/// Most signature lines accepted by [`open`] (as Go's implementation).
pub const MAX_SIGNATURES: usize = 100;
const SIG_PREFIX: &str = "\u{2014} ";

/// Errors from key parsing, signing and opening notes.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum NoteError {
    /// The note does not follow the signed-note grammar.
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    /// A key string could not be parsed.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// The key uses an algorithm this build does not know.
    #[error("unknown key algorithm 0x{0:02x}")]
    UnknownAlgorithm(u8),
    /// The key ID in the key string does not match the key.
    #[error("key ID does not match the key")]
    KeyIdMismatch,
    /// A known key's signature did not verify.
    #[error("invalid signature for key {name}+{id:08x}")]
    InvalidSignature {
        /// Key name.
        name: String,
        /// Key ID.
        id: u32,
    },
    /// No signature from a known key is present.
    #[error("note has no signature from a known key")]
    Unverified,
    /// Two known keys share a name and key ID.
    #[error("ambiguous key {name}+{id:08x}")]
    Ambiguous {
        /// Key name.
        name: String,
        /// Key ID.
        id: u32,
    },
}

/// A key name is non-empty, has no white space and no `+`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(char::is_whitespace) && !name.contains('+')
}

/// Key ID: first 4 bytes (big-endian) of SHA-256(name ‖ "\n" ‖ alg ‖ key).
pub fn key_id(name: &str, alg_and_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(alg_and_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Something that signs note texts under a name and key ID.
pub trait NoteSigner: Send + Sync {
    /// Key name (must satisfy [`is_valid_name`]).
    fn name(&self) -> &str;
    /// Key ID.
    fn key_id(&self) -> u32;
    /// Signs the message bytes.
    fn sign(&self, msg: &[u8]) -> Vec<u8>;
    /// The verifier key string for this signer's public key, when the algorithm has one.
    fn verifier_key(&self) -> Option<String> {
        None
    }
}

/// Something that verifies signatures made under a name and key ID.
pub trait NoteVerifier: Send + Sync {
    /// Key name.
    fn name(&self) -> &str;
    /// Key ID.
    fn key_id(&self) -> u32;
    /// Whether `sig` is a valid signature of `msg`.
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool;
    /// The encoded verifier key string.
    fn verifier_key(&self) -> String;
}

/// An Ed25519 note signer.
pub struct Ed25519Signer {
    name: String,
    id: u32,
    key: SigningKey,
}

impl Ed25519Signer {
    /// Generates a fresh key pair from the operating system's randomness.
    pub fn generate(name: &str) -> Result<Ed25519Signer, NoteError> {
        if !is_valid_name(name) {
            return Err(NoteError::MalformedKey("invalid key name"));
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| NoteError::MalformedKey("no randomness available"))?;
        Ok(Ed25519Signer::from_seed(name, seed))
    }

    /// Builds a signer from a 32-byte seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Ed25519Signer {
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, &alg_key(key.verifying_key().as_bytes()));
        Ed25519Signer {
            name: name.to_string(),
            id,
            key,
        }
    }

    /// Parses a `PRIVATE+KEY+name+hex8+base64` signer key string.
    pub fn from_signer_key(skey: &str) -> Result<Ed25519Signer, NoteError> {
        let rest = skey
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::MalformedKey("missing PRIVATE+KEY+ prefix"))?;
        let (name, id, key) = split_key(rest.trim_end())?;
        let (&alg, seed) = key.split_first().ok_or(NoteError::MalformedKey("empty key"))?;
        if alg != ALG_ED25519 {
            return Err(NoteError::UnknownAlgorithm(alg));
        }
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| NoteError::MalformedKey("Ed25519 seed must be 32 bytes"))?;
        let signer = Ed25519Signer::from_seed(name, seed);
        if signer.id != id {
            return Err(NoteError::KeyIdMismatch);
        }
        Ok(signer)
    }

    /// The encoded signer key string (secret).
    pub fn signer_key(&self) -> String {
        let mut k = vec![ALG_ED25519];
        k.extend_from_slice(self.key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.name, self.id, B64.encode(k))
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Ed25519Verifier {
        Ed25519Verifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }
}

impl NoteSigner for Ed25519Signer {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Vec<u8> {
        self.key.sign(msg).to_bytes().to_vec()
    }
    fn verifier_key(&self) -> Option<String> {
        Some(NoteVerifier::verifier_key(&self.verifier()))
    }
}

/// An Ed25519 note verifier.
#[derive(Clone, Debug)]
pub struct Ed25519Verifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier for Ed25519Verifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
            return false;
        };
        self.key.verify_strict(msg, &sig).is_ok()
    }
    fn verifier_key(&self) -> String {
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.id,
            B64.encode(alg_key(self.key.as_bytes()))
        )
    }
}

fn alg_key(pubkey: &[u8; 32]) -> Vec<u8> {
    let mut k = Vec::with_capacity(33);
    k.push(ALG_ED25519);
    k.extend_from_slice(pubkey);
    k
}

fn split_key(s: &str) -> Result<(&str, u32, Vec<u8>), NoteError> {
    let mut parts = s.splitn(3, '+');
    let name = parts.next().unwrap_or_default();
    let hex8 = parts.next().ok_or(NoteError::MalformedKey("missing key ID"))?;
    let b64 = parts.next().ok_or(NoteError::MalformedKey("missing key"))?;
    if !is_valid_name(name) {
        return Err(NoteError::MalformedKey("invalid key name"));
    }
    if hex8.len() != 8 || !hex8.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NoteError::MalformedKey("key ID must be 8 hex digits"));
    }
    let id = u32::from_str_radix(hex8, 16).map_err(|_| NoteError::MalformedKey("key ID must be 8 hex digits"))?;
    let key = B64
        .decode(b64)
        .map_err(|_| NoteError::MalformedKey("key is not base64"))?;
    if key.is_empty() {
        return Err(NoteError::MalformedKey("empty key"));
    }
    Ok((name, id, key))
}

/// Parses a verifier key string `name+hex8+base64(alg‖key)`.
pub fn parse_verifier_key(vkey: &str) -> Result<Box<dyn NoteVerifier>, NoteError> {
    let (name, id, key) = split_key(vkey.trim())?;
    if key_id(name, &key) != id {
        return Err(NoteError::KeyIdMismatch);
    }
    match key[0] {
        ALG_ED25519 => {
            let pk: [u8; 32] = key[1..]
                .try_into()
                .map_err(|_| NoteError::MalformedKey("Ed25519 key must be 32 bytes"))?;
            let key = VerifyingKey::from_bytes(&pk).map_err(|_| NoteError::MalformedKey("not an Ed25519 point"))?;
            Ok(Box::new(Ed25519Verifier {
                name: name.to_string(),
                id,
                key,
            }))
        }
        other => Err(NoteError::UnknownAlgorithm(other)),
    }
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: u32,
    /// Base64 of key ID ‖ signature, as written in the note.
    pub base64: String,
}

/// A parsed note whose signatures were checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending in a newline.
    pub text: String,
    /// Signatures by known keys, all verified.
    pub sigs: Vec<NoteSignature>,
    /// Signatures by keys not in the verifier list.
    pub unverified: Vec<NoteSignature>,
}

/// Signs `text` (which must end in a newline) with each signer, returning the full note.
pub fn sign(text: &str, signers: &[&dyn NoteSigner]) -> Result<String, NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("text must end with a newline"));
    }
    check_text(text.as_bytes())?;
    let mut out = String::with_capacity(text.len() + 128 * signers.len());
    out.push_str(text);
    out.push('\n');
    for s in signers {
        if !is_valid_name(s.name()) {
            return Err(NoteError::MalformedKey("invalid key name"));
        }
        let mut raw = s.key_id().to_be_bytes().to_vec();
        raw.extend(s.sign(text.as_bytes()));
        out.push_str(SIG_PREFIX);
        out.push_str(s.name());
        out.push(' ');
        out.push_str(&B64.encode(raw));
        out.push('\n');
    }
    Ok(out)
}

fn check_text(msg: &[u8]) -> Result<(), NoteError> {
    let s = std::str::from_utf8(msg).map_err(|_| NoteError::Malformed("not valid UTF-8"))?;
    if s.chars().any(|c| (c as u32) < 0x20 && c != '\n') {
        return Err(NoteError::Malformed("control character"));
    }
    Ok(())
}

/// Parses a signed note and checks its signatures against `known`, with the rules of Go's
/// `note.Open`: unknown keys are listed as unverified, a known key with a bad signature is an
/// error, and at least one known key must have signed.
pub fn open(msg: &[u8], known: &[&dyn NoteVerifier]) -> Result<Note, NoteError> {
    if msg.len() > MAX_NOTE_LEN {
        return Err(NoteError::Malformed("note too large"));
    }
    check_text(msg)?;
    let split = find_last(msg, b"\n\n").ok_or(NoteError::Malformed("no signature block"))?;
    let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
    if sigs.last() != Some(&b'\n') {
        return Err(NoteError::Malformed("signature block must end with a newline"));
    }
    // Both halves are valid UTF-8: the split is on ASCII newlines.
    let text_str = std::str::from_utf8(text).map_err(|_| NoteError::Malformed("not valid UTF-8"))?;
    let sigs_str = std::str::from_utf8(sigs).map_err(|_| NoteError::Malformed("not valid UTF-8"))?;
    let mut note = Note {
        text: text_str.to_string(),
        sigs: vec![],
        unverified: vec![],
    };
    let mut seen: Vec<(String, u32)> = Vec::new();
    let mut seen_unverified: Vec<&str> = Vec::new();
    for (count, line) in sigs_str.split_terminator('\n').enumerate() {
        let line = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(NoteError::Malformed("signature line must start with an em dash"))?;
        let (name, b64) = line.split_once(' ').unwrap_or((line, ""));
        let raw = B64
            .decode(b64)
            .map_err(|_| NoteError::Malformed("signature is not base64"))?;
        if !is_valid_name(name) || b64.is_empty() || raw.len() < 5 {
            return Err(NoteError::Malformed("bad signature line"));
        }
        if count + 1 > MAX_SIGNATURES {
            return Err(NoteError::Malformed("too many signatures"));
        }
        let id = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]);
        let matching: Vec<&&dyn NoteVerifier> = known.iter().filter(|v| v.name() == name && v.key_id() == id).collect();
        let sig = NoteSignature {
            name: name.to_string(),
            key_id: id,
            base64: b64.to_string(),
        };
        match matching.as_slice() {
            [] => {
                if !seen_unverified.contains(&line) {
                    seen_unverified.push(line);
                    note.unverified.push(sig);
                }
            }
            [v] => {
                if seen.iter().any(|(n, i)| n == name && *i == id) {
                    continue;
                }
                seen.push((name.to_string(), id));
                if !v.verify(text, &raw[4..]) {
                    return Err(NoteError::InvalidSignature {
                        name: name.to_string(),
                        id,
                    });
                }
                note.sigs.push(sig);
            }
            _ => {
                return Err(NoteError::Ambiguous {
                    name: name.to_string(),
                    id,
                });
            }
        }
    }
    if note.sigs.is_empty() {
        return Err(NoteError::Unverified);
    }
    Ok(note)
}

fn find_last(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_open_round_trips() {
        let s = Ed25519Signer::from_seed("ward.example/log", [7u8; 32]);
        let v = s.verifier();
        let note = sign("hello\nworld\n", &[&s]).unwrap();
        let opened = open(note.as_bytes(), &[&v]).unwrap();
        assert_eq!(opened.text, "hello\nworld\n");
        assert_eq!(opened.sigs.len(), 1);
        let parsed = parse_verifier_key(&v.verifier_key()).unwrap();
        assert_eq!(parsed.key_id(), s.key_id());
        let again = Ed25519Signer::from_signer_key(&s.signer_key()).unwrap();
        assert_eq!(again.verifier().verifier_key(), v.verifier_key());
    }

    #[test]
    fn altered_text_or_signature_fails() {
        let s = Ed25519Signer::from_seed("log", [1u8; 32]);
        let v = s.verifier();
        let note = sign("a\nb\n", &[&s]).unwrap();
        let tampered = note.replacen("a\n", "c\n", 1);
        assert!(matches!(
            open(tampered.as_bytes(), &[&v]),
            Err(NoteError::InvalidSignature { .. })
        ));
        let other = Ed25519Signer::from_seed("log", [2u8; 32]).verifier();
        assert_eq!(open(note.as_bytes(), &[&other]), Err(NoteError::Unverified));
    }

    #[test]
    fn malformed_notes_are_rejected_without_panic() {
        let v = Ed25519Signer::from_seed("log", [1u8; 32]).verifier();
        for bad in [
            "",
            "\n",
            "text\n",
            "text\n\n",
            "text\n\nno dash\n",
            "text\n\n\u{2014} log\n",
            "a\tb\n\n\u{2014} log AAAA\n",
        ] {
            assert!(open(bad.as_bytes(), &[&v]).is_err(), "{bad:?}");
        }
        assert!(open(&[0xff, b'\n', b'\n'], &[&v]).is_err());
    }

    #[test]
    fn key_strings_are_validated() {
        assert!(parse_verifier_key("").is_err());
        assert!(parse_verifier_key("name+zzzzzzzz+AQ==").is_err());
        assert!(parse_verifier_key("na me+01234567+AQ==").is_err());
        let s = Ed25519Signer::from_seed("log", [3u8; 32]);
        let vk = s.verifier().verifier_key();
        let wrong_id = vk.replacen("+", "+0", 1).replacen(&vk[4..5], "", 0);
        assert!(parse_verifier_key(&wrong_id).is_err());
        assert!(Ed25519Signer::from_signer_key(&vk).is_err());
        assert!(Ed25519Signer::generate("bad name").is_err());
    }
}
