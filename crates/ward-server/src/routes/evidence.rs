//! Evidence: artifacts, attestations, trusted keys and custom attestation types.

use super::*;
use ward_app::{evidence, keys};

/// Registers an artifact by digest (idempotent for identical metadata; 409 for a conflict, and
/// `version_conflict` for a service version already registered under another digest).
#[utoipa::path(post, path = "/api/v1/artifacts", tag = "evidence", request_body = evidence::ArtifactRequest, security(("bearer" = [])), responses(
    (status = 201, body = evidence::Artifact), (status = 200, body = evidence::Artifact, description = "already registered"), (status = 409, body = ErrorBody)))]
pub(super) async fn register_artifact(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<evidence::ArtifactRequest>,
) -> Result<(StatusCode, Json<evidence::Artifact>), ApiError> {
    let (a, new) = state.ward.register_artifact(&me, &req).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(a)))
}

pub use ward_app::evidence::ArtifactView;

/// An artifact with its attestation summaries.
#[utoipa::path(get, path = "/api/v1/artifacts/{digest}", tag = "evidence", params(("digest" = String, Path, description = "sha256:<hex>")), security(("bearer" = [])), responses(
    (status = 200, body = ArtifactView), (status = 404, body = ErrorBody)))]
pub(super) async fn show_artifact(
    State(state): State<AppState>,
    Path(digest): Path<String>,
) -> Result<Json<ArtifactView>, ApiError> {
    let artifact = evidence::artifact_shown(&state.ledger, &digest).await?.ok_or_else(|| {
        ApiError::not_found(
            format!("artifact {} is not registered", ward_app::identifier::shown(&digest)),
            "list what was registered with `ward log show`",
        )
    })?;
    let attestations = evidence::attestations(&state.ledger, &digest).await?;
    let attestations = ward_app::documents::shown(&state.ledger, attestations).await?;
    Ok(Json(ArtifactView { artifact, attestations }))
}

/// An attestation's raw document (base64) as stored beside the log, with its record; the read
/// is recorded (`access.read`).
#[utoipa::path(get, path = "/api/v1/evidence/{subject}/{id}", tag = "evidence", params(
    ("subject" = String, Path, description = "the artifact's sha256:<hex>, or the change's CHG-… for its own evidence"),
    ("id" = String, Path, description = "the attestation's sha256:<hex>")), security(("bearer" = [])), responses(
    (status = 200, body = evidence::EvidenceDocument), (status = 404, body = ErrorBody)))]
pub(super) async fn evidence_document(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path((subject, id)): Path<(String, String)>,
) -> Result<Json<evidence::EvidenceDocument>, ApiError> {
    use base64::Engine;
    let (attestation, bytes) = evidence::read_document(&state.ledger, &me, &subject, &id, "api").await?;
    Ok(Json(evidence::EvidenceDocument {
        attestation,
        data: base64::engine::general_purpose::STANDARD.encode(bytes),
    }))
}

/// Attaches an attestation (JUnit, SARIF, CycloneDX, SPDX, vulnerability report, in-toto or a
/// custom type) to a registered artifact.
#[utoipa::path(post, path = "/api/v1/attestations", tag = "evidence", request_body = evidence::AttestationRequest, security(("bearer" = [])), responses(
    (status = 201, body = evidence::Attestation), (status = 200, body = evidence::Attestation, description = "already attached"), (status = 400, body = ErrorBody)))]
pub(super) async fn add_attestation(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<evidence::AttestationRequest>,
) -> Result<(StatusCode, Json<evidence::Attestation>), ApiError> {
    let (a, new) = evidence::attest(&state.ledger, &me, &req, &state.guard).await?;
    let a = ward_app::documents::shown(&state.ledger, a).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(a)))
}

/// Every key trusted for a builder, revoked ones included.
#[utoipa::path(get, path = "/api/v1/keys", tag = "evidence", security(("bearer" = [])), responses((status = 200, body = Vec<keys::KeyRecord>)))]
pub(super) async fn list_keys(State(state): State<AppState>) -> Result<Json<Vec<keys::KeyRecord>>, ApiError> {
    Ok(Json(keys::list(&state.ledger).await?))
}

/// Trusts a public key (PEM: Ed25519, ECDSA P-256 or RSA) to sign evidence for a builder.
#[utoipa::path(post, path = "/api/v1/keys", tag = "evidence", request_body = keys::TrustRequest, security(("bearer" = [])), responses(
    (status = 201, body = keys::KeyRecord), (status = 200, body = keys::KeyRecord, description = "already trusted"), (status = 409, body = ErrorBody)))]
pub(super) async fn trust_key(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<keys::TrustRequest>,
) -> Result<(StatusCode, Json<keys::KeyRecord>), ApiError> {
    let (k, new) = keys::trust(&state.ledger, &me, &req).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(k)))
}

/// Revokes a trusted key: its signatures no longer verify new attestations.
#[utoipa::path(delete, path = "/api/v1/keys/{keyid}", tag = "evidence", params(("keyid" = String, Path, description = "sha256:<hex> key id")), security(("bearer" = [])), responses(
    (status = 200, body = keys::KeyRecord), (status = 404, body = ErrorBody)))]
pub(super) async fn revoke_key(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(keyid): Path<String>,
) -> Result<Json<keys::KeyRecord>, ApiError> {
    Ok(Json(keys::revoke(&state.ledger, &me, &keyid).await?))
}

/// Every custom attestation type with its JSON Schema.
#[utoipa::path(get, path = "/api/v1/attestation-types", tag = "evidence", security(("bearer" = [])), responses((status = 200, body = Vec<keys::TypeRecord>)))]
pub(super) async fn list_types(State(state): State<AppState>) -> Result<Json<Vec<keys::TypeRecord>>, ApiError> {
    Ok(Json(keys::list_types(&state.ledger).await?))
}

/// Registers a custom attestation type: a name and the JSON Schema its documents must match.
#[utoipa::path(post, path = "/api/v1/attestation-types", tag = "evidence", request_body = keys::TypeRequest, security(("bearer" = [])), responses(
    (status = 201, body = keys::TypeRecord), (status = 200, body = keys::TypeRecord, description = "already registered"), (status = 409, body = ErrorBody)))]
pub(super) async fn register_type(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<keys::TypeRequest>,
) -> Result<(StatusCode, Json<keys::TypeRecord>), ApiError> {
    let (t, new) = keys::register_type(&state.ledger, &me, &req).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(t)))
}
