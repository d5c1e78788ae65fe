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

    /// Reads a DER SubjectPublicKeyInfo.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        for algorithm in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa] {
            let parsed: Result<Vec<_>, _> = algorithm
                .verifiers()
                .iter()
                .map(|v| ParsedPublicKey::new(*v, der).map(std::sync::Arc::new))
                .collect();
            if let Ok(parsed) = parsed {
                return Ok(PublicKey {
                    algorithm,
                    spki_der: der.to_vec(),
                    parsed,
                });
            }
        }
        Err(KeyError::Unsupported(
            "not an Ed25519, ECDSA P-256 or RSA (2048–8192 bit) public key".into(),
        ))
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
