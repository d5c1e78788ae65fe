//! Changes: change requests, classification, signatures and change attestations.

use super::*;
use ward_app::{approvals, changes, evidence};

/// Every change request, newest first.
#[utoipa::path(get, path = "/api/v1/changes", tag = "changes", security(("bearer" = [])), responses((status = 200, body = Vec<changes::Change>)))]
pub(super) async fn list_changes(State(state): State<AppState>) -> Result<Json<Vec<changes::Change>>, ApiError> {
    let list = changes::list(&state.ledger).await?;
    Ok(Json(ward_app::documents::shown(&state.ledger, list).await?))
}

/// Opens a change request; it is classified by the `[risk]` rules at once.
#[utoipa::path(post, path = "/api/v1/changes", tag = "changes", request_body = changes::ChangeRequest, security(("bearer" = [])), responses(
    (status = 201, body = changes::Change), (status = 400, body = ErrorBody)))]
pub(super) async fn open_change(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<changes::ChangeRequest>,
) -> Result<(StatusCode, Json<changes::Change>), ApiError> {
    // Its paths are references in the classification's reasons: shown as text.
    let c = state.ward.open_change(&me, &req, false).await?;
    Ok((StatusCode::CREATED, Json(state.ward.shown(c).await?)))
}

/// A change request with its classification and any tier override.
#[utoipa::path(get, path = "/api/v1/changes/{id}", tag = "changes", params(("id" = String, Path, description = "CHG-…")), security(("bearer" = [])), responses(
    (status = 200, body = changes::Change), (status = 404, body = ErrorBody)))]
pub(super) async fn show_change(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<changes::Change>, ApiError> {
    let change = changes::get(&state.ledger, &id).await?.ok_or_else(|| {
        ApiError::not_found(
            format!("no change {}", ward_app::identifier::shown(&id)),
            "list changes with `ward change list`",
        )
    })?;
    Ok(Json(ward_app::documents::shown(&state.ledger, change).await?))
}

/// The whole picture of a change: the change, evidence per artifact, signatures (current and
/// stale), the latest gate decision per environment, waivers, break-glass and deployments.
#[utoipa::path(get, path = "/api/v1/changes/{id}/overview", tag = "changes", params(("id" = String, Path, description = "CHG-…")), security(("bearer" = [])), responses(
    (status = 200, body = ward_app::overview::ChangeOverview), (status = 404, body = ErrorBody)))]
pub(super) async fn change_overview(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<ward_app::overview::ChangeOverview>, ApiError> {
    let o = state
        .ward
        .change_overview(&id, jiff::Timestamp::now().as_second())
        .await?
        .for_reader(&me);
    Ok(Json(state.ward.shown(o).await?))
}

/// Updates a change's commits, paths or artifacts: classified again; signatures over the old
/// content become stale.
#[utoipa::path(patch, path = "/api/v1/changes/{id}", tag = "changes", params(("id" = String, Path, description = "CHG-…")), request_body = changes::ChangeUpdate, security(("bearer" = [])), responses(
    (status = 200, body = changes::Change), (status = 404, body = ErrorBody)))]
pub(super) async fn update_change(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
    Json(req): Json<changes::ChangeUpdate>,
) -> Result<Json<changes::Change>, ApiError> {
    let c = state.ward.update_change(&me, &id, &req, false).await?;
    Ok(Json(state.ward.shown(c).await?))
}

/// Overrides a change's risk tier (approvers; never the opener; a reason is recorded).
#[utoipa::path(post, path = "/api/v1/changes/{id}/classification", tag = "changes", params(("id" = String, Path, description = "CHG-…")), request_body = changes::ReclassifyRequest, security(("bearer" = [])), responses(
    (status = 200, body = changes::Change), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn reclassify_change(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
    Json(req): Json<changes::ReclassifyRequest>,
) -> Result<Json<changes::Change>, ApiError> {
    let c = state.ward.reclassify(&me, &id, &req).await?;
    Ok(Json(state.ward.shown(c).await?))
}

/// A change's signatures (approvals and rejections), each marked stale or current.
#[utoipa::path(get, path = "/api/v1/changes/{id}/approvals", tag = "changes", params(("id" = String, Path, description = "CHG-…")), security(("bearer" = [])), responses(
    (status = 200, body = approvals::ApprovalsView), (status = 404, body = ErrorBody)))]
pub(super) async fn list_approvals(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<approvals::ApprovalsView>, ApiError> {
    let view = state.ward.approvals_view(&id).await?;
    Ok(Json(state.ward.shown(view).await?))
}

/// Signs a change: approve or reject, with a meaning, after re-authentication (password or a
/// fresh OIDC token) and separation of duties; refused attempts are recorded.
#[utoipa::path(post, path = "/api/v1/changes/{id}/approvals", tag = "changes", params(("id" = String, Path, description = "CHG-…")), request_body = approvals::SignRequest, security(("bearer" = [])), responses(
    (status = 201, body = approvals::Approval), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn sign_change(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Extension(presented): Extension<PresentedCredential>,
    Path(id): Path<String>,
    Json(req): Json<approvals::SignRequest>,
) -> Result<(StatusCode, Json<approvals::Approval>), ApiError> {
    let a = state.ward.sign(&me, &id, &req, &state.reauth(&presented)).await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// Attestations attached to a change itself (not to its artifacts), oldest first.
#[utoipa::path(get, path = "/api/v1/changes/{id}/attestations", tag = "changes", params(("id" = String, Path, description = "CHG-…")), security(("bearer" = [])), responses(
    (status = 200, body = Vec<evidence::Attestation>)))]
pub(super) async fn change_attestations(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<evidence::Attestation>>, ApiError> {
    let list = evidence::attestations(&state.ledger, &id).await?;
    Ok(Json(ward_app::documents::shown(&state.ledger, list).await?))
}
