//! C2SP tlog-checkpoint (<https://c2sp.org/tlog-checkpoint>): origin, tree size, root hash and
//! optional extension lines, carried as the text of a signed note.

use crate::hash::Hash;
use crate::note::{self, NoteError, NoteSigner, NoteVerifier};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use thiserror::Error;

/// Errors parsing or opening a checkpoint.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum CheckpointError {
    /// The text does not follow the checkpoint grammar.
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// The checkpoint's origin is not the expected log.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// Origin line found.
        found: String,
        /// Origin expected.
        expected: String,
    },
    /// The signed note failed to open.
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A checkpoint: a commitment to the log's state at `size` leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique identity of the log (schema-less URL, e.g. `ward.example.org/log`).
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// Root hash of the tree of `size` leaves.
    pub root: Hash,
    /// Extension lines, kept verbatim (without newlines).
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The checkpoint body, one line per field, ending in a newline.
    pub fn to_text(&self) -> String {
        let mut s = format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64());
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a checkpoint body (the text of a note).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed("must end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(CheckpointError::Malformed("empty origin line"));
        }
        let size_line = lines.next().ok_or(CheckpointError::Malformed("missing tree size"))?;
        let size = parse_decimal(size_line).ok_or(CheckpointError::Malformed(
            "tree size must be a decimal number without leading zeros",
        ))?;
        let root_line = lines.next().ok_or(CheckpointError::Malformed("missing root hash"))?;
        let root_bytes = B64
            .decode(root_line)
            .map_err(|_| CheckpointError::Malformed("root hash is not base64"))?;
        let root = Hash::from_slice(&root_bytes).ok_or(CheckpointError::Malformed("root hash must be 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_string).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::Malformed("empty extension line"));
        }
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            extensions,
        })
    }

    /// Signs the checkpoint, returning the whole signed note.
    pub fn sign(&self, signer: &dyn NoteSigner) -> Result<String, CheckpointError> {
        Ok(note::sign(&self.to_text(), &[signer])?)
    }

    /// Opens a signed checkpoint: verifies the note signature with `verifier`, parses the body
    /// and checks the origin. This is the only way a verifier should learn a size and root.
    pub fn open(signed: &[u8], origin: &str, verifier: &dyn NoteVerifier) -> Result<Checkpoint, CheckpointError> {
        let n = note::open(signed, &[verifier])?;
        let cp = Checkpoint::parse(&n.text)?;
        if cp.origin != origin {
            return Err(CheckpointError::WrongOrigin {
                found: cp.origin,
                expected: origin.to_string(),
            });
        }
        Ok(cp)
    }
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Ed25519Signer;

    #[test]
    fn text_round_trip() {
        let cp = Checkpoint {
            origin: "example.com/log".into(),
            size: 42,
            root: crate::hash::sha256(b"x"),
            extensions: vec!["ext one".into()],
        };
        assert_eq!(Checkpoint::parse(&cp.to_text()).unwrap(), cp);
    }

    #[test]
    fn c2sp_example_body_parses() {
        // The example body from the C2SP tlog-checkpoint specification.
        let text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse(text).unwrap();
        assert_eq!(cp.size, 20852163);
        assert_eq!(cp.to_text(), text);
    }

    #[test]
    fn rejects_malformed_bodies() {
        let root = crate::hash::sha256(b"x").to_base64();
        for bad in [
            String::new(),
            "origin\n".into(),
            format!("origin\n01\n{root}\n"),
            format!("origin\n-1\n{root}\n"),
            format!("origin\n1\n{root}"),
            format!("\n1\n{root}\n"),
            "origin\n1\nAAAA\n".into(),
            format!("origin\n1\n{root}\n\n"),
            format!("origin\n18446744073709551616\n{root}\n"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn open_checks_signature_and_origin() {
        let s = Ed25519Signer::from_seed("log", [9u8; 32]);
        let cp = Checkpoint {
            origin: "o".into(),
            size: 1,
            root: crate::hash::sha256(b""),
            extensions: vec![],
        };
        let signed = cp.sign(&s).unwrap();
        assert_eq!(Checkpoint::open(signed.as_bytes(), "o", &s.verifier()).unwrap(), cp);
        assert!(matches!(
            Checkpoint::open(signed.as_bytes(), "p", &s.verifier()),
            Err(CheckpointError::WrongOrigin { .. })
        ));
        let forged = signed.replacen("\n1\n", "\n2\n", 1);
        assert!(Checkpoint::open(forged.as_bytes(), "o", &s.verifier()).is_err());
    }
}
