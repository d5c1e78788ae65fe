//! `ward-evidence`: turning what tools write into verified, normalised facts.
//!
//! - [`digest`]: artifact digests — of a file, of a directory tree (deterministic, documented),
//!   or an OCI image digest given as `sha256:<hex>`.
//! - [`dr`]: backup and restore jobs as pgBackRest, Velero and AWS Backup report them.
//! - [`junit`]: JUnit XML as pytest, cargo-nextest, Maven Surefire and jest-junit write it.
//! - [`sarif`]: SARIF 2.1.0 as semgrep, CodeQL, checkov and bandit write it.
//! - [`cyclonedx`]: CycloneDX 1.4–1.6 SBOMs (JSON and XML), as cyclonedx-py, cdxgen, syft and
//!   trivy write them.
//! - [`vulns`]: vulnerability reports (Trivy, Grype, osv-scanner, OSV, pip-audit, CycloneDX
//!   vulnerabilities/VEX) as one summary.
//! - [`custom`]: JSON documents checked against a registered JSON Schema.
//! - [`spdx`]: SPDX 2.2/2.3 SBOMs in JSON and tag-value.
//! - [`sbom`]: the summary both SBOM formats produce.
//! - [`detect`]: which format some bytes are.
//! - [`keys`]: public keys (Ed25519, ECDSA P-256, RSA) and signature checks.
//! - [`intoto`]: in-toto Statements and links, DSSE, SLSA provenance — verified before believed.
//! - [`guard`]: the PHI and secret guard that runs before anything is stored.
//! - [`redact`]: keyed, irreversible fingerprints of what a redaction removed.
//!
//! Every parser takes bytes with a size limit, returns a summary or a [`EvidenceError`], and
//! never panics (fuzz targets in `fuzz/`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod custom;
pub mod cyclonedx;
pub mod detect;
pub mod digest;
pub mod dr;
pub mod guard;
pub mod intoto;
pub mod junit;
pub mod keys;
mod probe;
pub mod redact;
pub mod sarif;
pub mod sbom;
pub mod spdx;
pub mod vulns;
mod xmltree;

/// Largest evidence document accepted by default.
pub const MAX_EVIDENCE: usize = 64 * 1024 * 1024;

/// Why a document was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EvidenceError {
    /// Larger than the limit.
    #[error("the file is {size} bytes, above the {limit}-byte limit")]
    TooLarge {
        /// Size.
        size: usize,
        /// Limit.
        limit: usize,
    },
    /// Not well-formed in its format.
    #[error("malformed {format}: {reason}")]
    Malformed {
        /// Format.
        format: &'static str,
        /// What is wrong (with a position where known).
        reason: String,
    },
    /// Well-formed, but its own numbers disagree.
    #[error("the {format} document contradicts itself: {reason}")]
    Inconsistent {
        /// Format.
        format: &'static str,
        /// Which numbers disagree.
        reason: String,
    },
    /// A signature is missing, forged, or made by a key that is not trusted.
    #[error("signature not verified: {0}")]
    Unverified(String),
    /// Signed and well-formed, but about something else than the artifact.
    #[error("digest mismatch: {0}")]
    Mismatch(String),
    /// Valid JSON that a registered JSON Schema refuses.
    #[error("does not match the schema: {0}")]
    Schema(String),
    /// Not a format Ward knows.
    #[error("unrecognised evidence format: {0}")]
    Unknown(String),
}

pub(crate) fn check_size(bytes: &[u8], limit: usize) -> Result<(), EvidenceError> {
    if bytes.len() > limit {
        return Err(EvidenceError::TooLarge {
            size: bytes.len(),
            limit,
        });
    }
    Ok(())
}
