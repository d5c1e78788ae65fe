//! RFC 6962 / RFC 9162 hashing: SHA-256 with domain separation between leaves and nodes.

use sha2::{Digest, Sha256};
use std::fmt;

/// Length in bytes of every hash in the log.
pub const HASH_LEN: usize = 32;

/// A SHA-256 hash value: a leaf hash, an interior node hash or a tree root.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; HASH_LEN]);

impl Hash {
    /// Builds a hash from a slice, or `None` when it is not exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        let arr: [u8; HASH_LEN] = bytes.try_into().ok()?;
        Some(Hash(arr))
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(s: &str) -> Option<Hash> {
        let bytes = hex::decode(s).ok()?;
        Hash::from_slice(&bytes)
    }

    /// Lower-case hexadecimal form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Standard base64 form, as used in checkpoints.
    pub fn to_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(self.0)
    }

    /// The bytes of the hash.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Plain SHA-256 of `data` (no domain separation), e.g. for content digests.
pub fn sha256(data: &[u8]) -> Hash {
    Hash(Sha256::digest(data).into())
}

/// The root of the empty tree: SHA-256 of the empty string (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// Hash of a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    Hash(h.finalize().into())
}

/// Hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_and_node_are_domain_separated() {
        let a = leaf_hash(b"x");
        let b = leaf_hash(b"y");
        let mut concat = vec![0x01];
        concat.extend_from_slice(&a.0);
        concat.extend_from_slice(&b.0);
        assert_eq!(node_hash(&a, &b), sha256(&concat));
        assert_ne!(leaf_hash(&concat[1..]), node_hash(&a, &b));
    }

    #[test]
    fn from_slice_rejects_wrong_lengths() {
        assert!(Hash::from_slice(&[0u8; 31]).is_none());
        assert!(Hash::from_slice(&[0u8; 33]).is_none());
        assert!(Hash::from_hex("zz").is_none());
    }
}
