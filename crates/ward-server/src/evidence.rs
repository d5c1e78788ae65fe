//! Artifacts and attestations: registration by digest, attestations parsed into summaries.
//!
//! `artifact.registered` (subject `artifact:<digest>`) records an artifact's metadata and who
//! built it; registering the same digest again with the same metadata is a no-op, with other
//! metadata a conflict. `attestation.added` records a parsed summary and the digest of the raw
//! document, which is stored content-addressed beside the log (never in it).

use crate::error::ApiError;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use ward_core::Identity;
use ward_evidence::detect::{Format, detect};
use ward_evidence::digest::{of_bytes, parse_digest};
use ward_evidence::{MAX_EVIDENCE, cyclonedx, junit, sarif, spdx};
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

const ARTIFACTS: &str = "artifacts";
const ATTESTATIONS: &str = "attestations";
/// Largest attestation accepted (raw bytes).
pub const MAX_ATTESTATION: usize = 16 * 1024 * 1024;

/// An artifact's metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArtifactRequest {
    /// `sha256:<hex>` of the file, tree (`ward-tree-v1`) or OCI image.
    pub digest: String,
    /// Service name.
    pub service: String,
    /// Version.
    pub version: String,
    /// Source commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// CI build or run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// CI build URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_url: Option<String>,
}

/// A registered artifact.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Artifact {
    /// Metadata.
    #[serde(flatten)]
    pub meta: ArtifactRequest,
    /// Identity that registered it.
    pub builder: String,
    /// Log entry of the registration.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// An attestation to attach.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttestationRequest {
    /// Artifact digest.
    pub artifact: String,
    /// `auto`, `junit`, `sarif`, `cyclonedx` or `spdx`.
    #[serde(default = "auto")]
    pub r#type: String,
    /// File name, for people.
    pub file_name: String,
    /// The document, base64.
    pub content_base64: String,
    /// Store a redacted copy when the PHI/secret guard finds something, instead of refusing.
    #[serde(default)]
    pub redact: bool,
}

fn auto() -> String {
    "auto".into()
}

/// An attached attestation.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Attestation {
    /// `sha256:` of the raw document.
    pub id: String,
    /// Artifact digest.
    pub artifact: String,
    /// Format.
    pub r#type: String,
    /// File name.
    pub file_name: String,
    /// Raw size in bytes.
    pub size: u64,
    /// The parsed summary.
    #[schema(value_type = Object)]
    pub summary: Value,
    /// What the guard removed (detector, line, column, digest of the span); empty when nothing.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub redactions: Vec<ward_evidence::guard::Finding>,
    /// Identity that attached it.
    pub added_by: String,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// Projects `artifact.registered` and `attestation.added`.
pub struct EvidenceProjector;

impl Projector for EvidenceProjector {
    fn name(&self) -> &'static str {
        "evidence"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        let with_entry = |mut v: Value| {
            if let Some(o) = v.as_object_mut() {
                o.insert("seq".into(), json!(e.seq));
                o.insert("time".into(), json!(e.time));
            }
            v
        };
        match e.kind.as_str() {
            "artifact.registered" => match p.get("digest").and_then(Value::as_str) {
                Some(d) => vec![ProjectionOp::Put {
                    collection: ARTIFACTS.into(),
                    key: d.into(),
                    doc: with_entry(p.clone()),
                }],
                None => vec![],
            },
            "attestation.added" => match (
                p.get("artifact").and_then(Value::as_str),
                p.get("id").and_then(Value::as_str),
            ) {
                (Some(a), Some(id)) => vec![ProjectionOp::Put {
                    collection: ATTESTATIONS.into(),
                    key: format!("{a}/{id}"),
                    doc: with_entry(p.clone()),
                }],
                _ => vec![],
            },
            _ => vec![],
        }
    }
}

fn check_field(name: &str, v: &str, max: usize) -> Result<(), ApiError> {
    if v.trim().is_empty() || v.len() > max || v.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            format!("{name} must be 1 to {max} characters without control characters"),
            format!("pass --{}", name.replace('_', "-")),
        ));
    }
    Ok(())
}

/// Registers an artifact (idempotent for identical metadata).
pub async fn register(ledger: &Ledger, by: &Identity, req: &ArtifactRequest) -> Result<(Artifact, bool), ApiError> {
    parse_digest(&req.digest).map_err(|e| ApiError::invalid(e.to_string(), "compute it with --file or --dir"))?;
    check_field("service", &req.service, 128)?;
    check_field("version", &req.version, 128)?;
    for (name, v) in [
        ("commit", &req.commit),
        ("branch", &req.branch),
        ("build_id", &req.build_id),
        ("build_url", &req.build_url),
    ] {
        if let Some(v) = v {
            check_field(name, v, 1024)?;
        }
    }
    if let Some(existing) = artifact(ledger, &req.digest).await? {
        if existing.meta == *req {
            return Ok((existing, false));
        }
        let mut differ = Vec::new();
        let (a, b) = (
            serde_json::to_value(&existing.meta).map_err(ApiError::internal)?,
            serde_json::to_value(req).map_err(ApiError::internal)?,
        );
        for k in ["service", "version", "commit", "branch", "build_id", "build_url"] {
            if a.get(k) != b.get(k) {
                differ.push(k);
            }
        }
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "{} is already registered with different {} (entry {})",
                req.digest,
                differ.join(", "),
                existing.seq
            ),
            "a digest names one build: register the new build's own digest",
        ));
    }
    let mut payload = serde_json::to_value(req).map_err(ApiError::internal)?;
    payload["builder"] = json!(by.id);
    let receipt = ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "artifact.registered".into(),
            subject: format!("artifact:{}", req.digest),
            payload,
        })
        .await?;
    Ok((
        Artifact {
            meta: req.clone(),
            builder: by.id.clone(),
            seq: receipt.seq,
            time: receipt.time,
        },
        true,
    ))
}

/// An artifact by digest.
pub async fn artifact(ledger: &Ledger, digest: &str) -> Result<Option<Artifact>, ApiError> {
    match ledger.store().projection(ARTIFACTS, digest).await? {
        Some(doc) => Ok(Some(serde_json::from_value(doc).map_err(ApiError::internal)?)),
        None => Ok(None),
    }
}

/// Parses a document as `kind` (`auto`, `junit`, `sarif`) and returns its format and summary.
pub fn summarise(kind: &str, bytes: &[u8]) -> Result<(Format, Value), ApiError> {
    let format = match kind {
        "auto" => detect(bytes).map_err(|e| {
            ApiError::invalid(
                e.to_string(),
                "pass --type junit or --type sarif (other formats come later)",
            )
        })?,
        "junit" => Format::Junit,
        "sarif" => Format::Sarif,
        "cyclonedx" => Format::Cyclonedx,
        "spdx" => Format::Spdx,
        other => {
            return Err(ApiError::invalid(
                format!("unknown attestation type {other:?}"),
                "use auto, junit, sarif, cyclonedx or spdx",
            ));
        }
    };
    let refused =
        |e: ward_evidence::EvidenceError| ApiError::invalid(e.to_string(), "attach the tool's own, unmodified output");
    let summary = match format {
        Format::Junit => serde_json::to_value(junit::summarise(bytes, MAX_EVIDENCE).map_err(refused)?),
        Format::Sarif => serde_json::to_value(sarif::summarise(bytes, MAX_EVIDENCE).map_err(refused)?),
        Format::Cyclonedx => serde_json::to_value(cyclonedx::summarise(bytes, MAX_EVIDENCE).map_err(refused)?),
        Format::Spdx => serde_json::to_value(spdx::summarise(bytes, MAX_EVIDENCE).map_err(refused)?),
    }
    .map_err(ApiError::internal)?;
    Ok((format, summary))
}

/// Attaches an attestation to a registered artifact: parse, store the raw bytes, record the
/// summary. Attaching the same document twice is a no-op.
pub async fn attest(
    ledger: &Ledger,
    by: &Identity,
    req: &AttestationRequest,
    policy: &ward_evidence::guard::GuardConfig,
) -> Result<(Attestation, bool), ApiError> {
    use base64::Engine;
    parse_digest(&req.artifact).map_err(|e| ApiError::invalid(e.to_string(), "pass --artifact sha256:…"))?;
    check_field("file_name", &req.file_name, 255)?;
    if req.content_base64.len() > MAX_ATTESTATION / 3 * 4 + 4 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("{} is larger than {MAX_ATTESTATION} bytes", req.file_name),
            "attach a smaller report",
        ));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&req.content_base64)
        .map_err(|e| {
            ApiError::invalid(
                format!("content is not base64: {e}"),
                "send the file's bytes base64-encoded",
            )
        })?;
    if artifact(ledger, &req.artifact).await?.is_none() {
        return Err(ApiError::not_found(
            format!("artifact {} is not registered", req.artifact),
            "register it first with `ward artifact register`",
        ));
    }
    // The guard runs before anything is stored or parsed into a summary.
    let (bytes, redactions) = guard(&req.file_name, bytes, req.redact, policy)?;
    let (format, summary) = summarise(&req.r#type, &bytes).map_err(|e| {
        ApiError::new(
            e.status,
            &e.detail.code,
            format!("{}: {}", req.file_name, e.detail.message),
            e.detail.hint,
        )
    })?;
    let id = of_bytes(&bytes);
    if let Some(doc) = ledger
        .store()
        .projection(ATTESTATIONS, &format!("{}/{id}", req.artifact))
        .await?
    {
        return Ok((serde_json::from_value(doc).map_err(ApiError::internal)?, false));
    }
    ledger.store().put_evidence(&id, &bytes).await?;
    let payload = json!({
        "id": id,
        "artifact": req.artifact,
        "type": format.as_str(),
        "file_name": req.file_name,
        "size": bytes.len(),
        "summary": summary,
        "redactions": redactions,
        "added_by": by.id,
    });
    let receipt = ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "attestation.added".into(),
            subject: format!("artifact:{}", req.artifact),
            payload,
        })
        .await?;
    Ok((
        Attestation {
            id,
            artifact: req.artifact.clone(),
            r#type: format.as_str().into(),
            file_name: req.file_name.clone(),
            size: bytes.len() as u64,
            summary,
            redactions,
            added_by: by.id.clone(),
            seq: receipt.seq,
            time: receipt.time,
        },
        true,
    ))
}

/// Runs the PHI/secret guard: refuses with file, line and detector (never the value), or with
/// `redact` returns the redacted bytes and what was removed.
fn guard(
    file: &str,
    bytes: Vec<u8>,
    redact: bool,
    policy: &ward_evidence::guard::GuardConfig,
) -> Result<(Vec<u8>, Vec<ward_evidence::guard::Finding>), ApiError> {
    use ward_evidence::guard::{redact as redact_text, scan};
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Err(ApiError::invalid(
            format!("{file} is not UTF-8 text"),
            "attach the report as the tool wrote it (JUnit XML, SARIF JSON)",
        ));
    };
    if policy.skips(file) {
        return Ok((bytes, Vec::new()));
    }
    let findings = scan(text, policy);
    if findings.is_empty() {
        return Ok((bytes, findings));
    }
    if !redact {
        let listed: Vec<String> = findings
            .iter()
            .take(5)
            .map(|f| format!("line {} column {} ({})", f.line, f.column, f.detector))
            .collect();
        let more = if findings.len() > 5 {
            format!(" and {} more", findings.len() - 5)
        } else {
            String::new()
        };
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "sensitive_content",
            format!(
                "{file}: possible PHI or secret at {}{more}; nothing was stored",
                listed.join(", ")
            ),
            "remove it at the source, or pass --redact to store a redacted copy",
        ));
    }
    let cleaned = redact_text(text, &findings).into_bytes();
    Ok((cleaned, findings))
}

/// Attestations of an artifact, in the order they were added.
pub async fn attestations(ledger: &Ledger, artifact: &str) -> Result<Vec<Attestation>, ApiError> {
    let prefix = format!("{artifact}/");
    let mut out: Vec<Attestation> = ledger
        .store()
        .projection_list(ATTESTATIONS)
        .await?
        .into_iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(_, doc)| serde_json::from_value(doc).map_err(ApiError::internal))
        .collect::<Result<_, _>>()?;
    out.sort_by_key(|a| a.seq);
    Ok(out)
}
