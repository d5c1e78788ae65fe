//! Public keys that sign evidence: Ed25519, ECDSA P-256 and RSA, read from PEM
//! (`-----BEGIN PUBLIC KEY-----`, X.509 SubjectPublicKeyInfo — what `openssl pkey -pubout`,
//! `cosign generate-key-pair` and Python's `cryptography` write).
//!
//! A key's id is `sha256:<hex>` of its SubjectPublicKeyInfo DER, so the same key has the same id
//! whichever tool wrote its PEM. Signatures are checked with aws-lc-rs:
//!
//! - Ed25519: RFC 8032.
//! - ECDSA P-256 with SHA-256: ASN.1 DER signatures (securesystemslib, cosign), or the fixed
//!   64-byte `r‖s` form (JOSE).
//! - RSA (2048–8192 bits) with SHA-256: RSASSA-PSS with a digest-length salt (securesystemslib's
//!   `rsassa-pss-sha256`), with the maximal salt (Python `cryptography`'s `PSS.MAX_LENGTH`), or
//!   RSASSA-PKCS1-v1_5.

use aws_lc_rs::signature::{
    self, ECDSA_P256_SHA256_ASN1, ECDSA_P256_SHA256_FIXED, ED25519, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RSA_PSS_2048_8192_SHA256, RsaPssSaltLength, VerificationAlgorithm,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Largest PEM text read.
pub const MAX_PEM: usize = 16 * 1024;

const RSA_PSS_MAX_SALT: signature::RsaParameters = RSA_PSS_2048_8192_SHA256.with_pss_salt_length(RsaPssSaltLength::Max);

/// A signature algorithm family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyAlgorithm {
    /// Ed25519.
    Ed25519,
    /// ECDSA on NIST P-256 with SHA-256.
    EcdsaP256,
    /// RSA with SHA-256 (PSS or PKCS#1 v1.5).
    Rsa,
}

impl KeyAlgorithm {
    /// Name used in records and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAlgorithm::Ed25519 => "ed25519",
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::Rsa => "rsa",
        }
    }

    fn verifiers(self) -> &'static [&'static dyn VerificationAlgorithm] {
        match self {
            KeyAlgorithm::Ed25519 => &[&ED25519],
            KeyAlgorithm::EcdsaP256 => &[&ECDSA_P256_SHA256_ASN1, &ECDSA_P256_SHA256_FIXED],
            KeyAlgorithm::Rsa => &[
                &RSA_PSS_2048_8192_SHA256,
                &RSA_PSS_MAX_SALT,
                &RSA_PKCS1_2048_8192_SHA256,
            ],
        }
    }
}

/// Why a key was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// Not PEM, or PEM of something else.
    #[error("not a PEM public key: {0}")]
    NotPem(String),
    /// A private key was given where a public key belongs.
    #[error("this is a private key; Ward only needs (and must only ever see) the public key")]
    PrivateKey,
    /// A public key of an algorithm Ward does not verify.
    #[error("unsupported public key: {0}")]
    Unsupported(String),
}

/// A public key that verifies signatures.
#[derive(Clone)]
pub struct PublicKey {
    algorithm: KeyAlgorithm,
    spki_der: Vec<u8>,
    parsed: Vec<std::sync::Arc<ParsedPublicKey>>,
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKey")
            .field("algorithm", &self.algorithm)
            .field("keyid", &self.keyid())
            .finish()
    }
}

impl PublicKey {
    /// Reads a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn from_pem(text: &str) -> Result<Self, KeyError> {
        if text.len() > MAX_PEM {
            return Err(KeyError::NotPem(format!("larger than {MAX_PEM} bytes")));
        }
        let block = pem::parse(text).map_err(|e| KeyError::NotPem(e.to_string()))?;
        match block.tag() {
            "PUBLIC KEY" => Self::from_spki_der(block.contents()),
            t if t.contains("PRIVATE KEY") => Err(KeyError::PrivateKey),
            t => Err(KeyError::NotPem(format!(
                "a PEM {t:?} block; expected \"PUBLIC KEY\" (export it with `openssl pkey -pubout`)"
            ))),
        }
    }

    /// Reads a DER SubjectPublicKeyInfo. Only the one canonical encoding of each key is
    /// accepted (Ed25519: 44 bytes; P-256: the uncompressed point; RSA: `rsaEncryption` with
    /// NULL parameters and nothing after the structure), so one key always has one key id.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let algorithm = spki_algorithm(der).ok_or_else(|| {
            KeyError::Unsupported("not a canonical SubjectPublicKeyInfo of an Ed25519, ECDSA P-256 or RSA key".into())
        })?;
        let parsed = algorithm
            .verifiers()
            .iter()
            .map(|v| ParsedPublicKey::new(*v, der).map(std::sync::Arc::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| KeyError::Unsupported(format!("{} key rejected: {e}", algorithm.as_str())))?;
        Ok(PublicKey {
            algorithm,
            spki_der: der.to_vec(),
            parsed,
        })
    }

    /// The algorithm family.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// `sha256:<hex>` of the SubjectPublicKeyInfo DER.
    pub fn keyid(&self) -> String {
        format!("sha256:{}", hex::encode(Sha256::digest(&self.spki_der)))
    }

    /// The key as PEM.
    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PUBLIC KEY", self.spki_der.clone()))
    }

    /// Whether `sig` is a valid signature of `message` under this key (any of the encodings
    /// listed in the module documentation).
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        self.parsed.iter().any(|k| k.verify_sig(message, sig).is_ok())
    }
}

const ED25519_SPKI_PREFIX: &[u8] = &[0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
const P256_SPKI_PREFIX: &[u8] = &[
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
    0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
];
/// `AlgorithmIdentifier { rsaEncryption, NULL }`.
const RSA_ALGORITHM: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// A DER length at `der[at..]`: (length, bytes it took). Minimal encodings only.
fn der_len(der: &[u8], at: usize) -> Option<(usize, usize)> {
    let first = *der.get(at)?;
    match first {
        0x00..=0x7f => Some((first as usize, 1)),
        0x81 => {
            let n = *der.get(at + 1)? as usize;
            (n >= 0x80).then_some((n, 2))
        }
        0x82 => {
            let n = ((*der.get(at + 1)? as usize) << 8) | *der.get(at + 2)? as usize;
            (n >= 0x100).then_some((n, 3))
        }
        _ => None,
    }
}

/// The algorithm of a canonical SubjectPublicKeyInfo, or `None`.
fn spki_algorithm(der: &[u8]) -> Option<KeyAlgorithm> {
    if der.len() == 44 && der.starts_with(ED25519_SPKI_PREFIX) {
        return Some(KeyAlgorithm::Ed25519);
    }
    if der.len() == 91 && der.starts_with(P256_SPKI_PREFIX) {
        return Some(KeyAlgorithm::EcdsaP256);
    }
    // SEQUENCE { rsaEncryption NULL, BIT STRING { 0 unused bits, RSAPublicKey } }, exactly.
    if der.first() != Some(&0x30) {
        return None;
    }
    let (outer, h) = der_len(der, 1)?;
    if 1 + h + outer != der.len() || !der[1 + h..].starts_with(RSA_ALGORITHM) {
        return None;
    }
    let bits = 1 + h + RSA_ALGORITHM.len();
    if der.get(bits) != Some(&0x03) {
        return None;
    }
    let (len, h2) = der_len(der, bits + 1)?;
    (bits + 1 + h2 + len == der.len() && der.get(bits + 1 + h2) == Some(&0x00)).then_some(KeyAlgorithm::Rsa)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair};

    fn pem_of(der: &[u8]) -> String {
        pem::encode(&pem::Pem::new("PUBLIC KEY", der.to_vec()))
    }

    #[test]
    fn ed25519_and_p256_round_trip_and_refuse_other_messages() {
        let rng = SystemRandom::new();
        let ed = Ed25519KeyPair::generate().unwrap();
        let ed_pub = PublicKey::from_pem(&pem_of(ed.public_key().as_der().unwrap().as_ref())).unwrap();
        assert_eq!(ed_pub.algorithm(), KeyAlgorithm::Ed25519);
        let sig = ed.sign(b"hello");
        assert!(ed_pub.verify(b"hello", sig.as_ref()));
        assert!(!ed_pub.verify(b"hellO", sig.as_ref()));

        let ec = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let ec_pub = PublicKey::from_pem(&pem_of(ec.public_key().as_der().unwrap().as_ref())).unwrap();
        assert_eq!(ec_pub.algorithm(), KeyAlgorithm::EcdsaP256);
        let sig = ec.sign(&rng, b"hello").unwrap();
        assert!(ec_pub.verify(b"hello", sig.as_ref()));
        assert!(!ec_pub.verify(b"other", sig.as_ref()));
        // A signature by one key never verifies under another.
        assert!(!ed_pub.verify(b"hello", sig.as_ref()));
        assert_ne!(ed_pub.keyid(), ec_pub.keyid());
        // PEM round trip keeps the id.
        assert_eq!(PublicKey::from_pem(&ec_pub.to_pem()).unwrap().keyid(), ec_pub.keyid());
    }

    #[test]
    fn one_key_one_encoding() {
        let ed = Ed25519KeyPair::generate().unwrap();
        let der = ed.public_key().as_der().unwrap().as_ref().to_vec();
        assert!(PublicKey::from_spki_der(&der).is_ok());
        // The raw key, trailing bytes, a compressed or raw P-256 point: all refused.
        assert!(PublicKey::from_spki_der(&der[12..]).is_err());
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(PublicKey::from_spki_der(&trailing).is_err());
        let ec = EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_ASN1_SIGNING).unwrap();
        let ec_der = ec.public_key().as_der().unwrap().as_ref().to_vec();
        assert!(PublicKey::from_spki_der(&ec_der).is_ok());
        assert!(PublicKey::from_spki_der(&ec_der[26..]).is_err());
        let rsa = include_str!("../tests/fixtures/intoto-rsa.pub");
        let k = PublicKey::from_pem(rsa).unwrap();
        assert_eq!(k.algorithm(), KeyAlgorithm::Rsa);
        let mut rsa_der = pem::parse(rsa).unwrap().contents().to_vec();
        rsa_der.push(0);
        assert!(PublicKey::from_spki_der(&rsa_der).is_err());
    }

    #[test]
    fn refuses_private_keys_and_garbage() {
        assert_eq!(
            PublicKey::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").unwrap_err(),
            KeyError::PrivateKey
        );
        assert!(matches!(PublicKey::from_pem("hello"), Err(KeyError::NotPem(_))));
        assert!(matches!(
            PublicKey::from_pem(&pem_of(b"\x30\x03\x02\x01\x01")),
            Err(KeyError::Unsupported(_))
        ));
    }
}
