//! The gate: decisions, replay, waivers, break-glass and retrospective reviews.

use super::*;
use ward_app::{exceptions, gate};

/// Evaluates the gate for a change entering an environment and records the decision (200 with
/// `allow: false` and every reason when blocked).
#[utoipa::path(post, path = "/api/v1/changes/{id}/gate", tag = "gate", params(("id" = String, Path, description = "CHG-…")), request_body = gate::CheckRequest, security(("bearer" = [])), responses(
    (status = 200, body = gate::GateDecision), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "the policy does not evaluate")))]
pub(super) async fn check_gate(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
    Json(req): Json<gate::CheckRequest>,
) -> Result<Json<gate::GateDecision>, ApiError> {
    let d = state.ward.gate_check(&me, &id, &req).await?;
    // Reasons name reports by their file names' references: shown as text.
    Ok(Json(state.ward.shown(d).await?))
}

/// A recorded gate decision: verdict, reasons, policy and input digests, and what met each
/// control (`satisfied`, evaluated from the stored input with the recorded policy).
#[utoipa::path(get, path = "/api/v1/gate/decisions/{id}", tag = "gate", params(("id" = u64, Path, description = "decision id (log entry)")), security(("bearer" = [])), responses(
    (status = 200, body = gate::Explanation), (status = 404, body = ErrorBody)))]
pub(super) async fn explain_decision(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<Json<gate::Explanation>, ApiError> {
    let d = gate::explain(&state.ledger, id).await?;
    Ok(Json(ward_app::documents::shown(&state.ledger, d).await?))
}

/// Re-evaluates a recorded decision from its stored input and policy; `identical` must be true.
#[utoipa::path(get, path = "/api/v1/gate/decisions/{id}/replay", tag = "gate", params(("id" = u64, Path, description = "decision id (log entry)")), security(("bearer" = [])), responses(
    (status = 200, body = gate::Replay), (status = 404, body = ErrorBody)))]
pub(super) async fn replay_decision(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<Json<gate::Replay>, ApiError> {
    let r = gate::replay(&state.ledger, id).await?;
    Ok(Json(ward_app::documents::shown(&state.ledger, r).await?))
}

/// The input document a decision was evaluated on, as stored with it (checked against its
/// digest; text kept beside the log shown as text, purged text as its reference).
#[utoipa::path(get, path = "/api/v1/gate/decisions/{id}/input", tag = "gate", params(("id" = u64, Path, description = "decision id (log entry)")), security(("bearer" = [])), responses(
    (status = 200, body = Object, description = "the gate input document (docs/gate-input.schema.json)"), (status = 404, body = ErrorBody)))]
pub(super) async fn decision_input(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let input = gate::stored_input(&state.ledger, id).await?;
    Ok(Json(ward_app::documents::shown(&state.ledger, input).await?))
}

/// A change's waivers, active and expired.
#[utoipa::path(get, path = "/api/v1/changes/{id}/waivers", tag = "gate", params(("id" = String, Path, description = "CHG-…")), security(("bearer" = [])), responses(
    (status = 200, body = Vec<exceptions::Waiver>)))]
pub(super) async fn list_waivers(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<exceptions::Waiver>>, ApiError> {
    Ok(Json(
        ward_app::documents::shown(
            &state.ledger,
            exceptions::waivers(&state.ledger, &id, jiff::Timestamp::now().as_second()).await?,
        )
        .await?,
    ))
}

/// Grants a waiver of gate rules for a change (approvers; never the waiver's owner).
#[utoipa::path(post, path = "/api/v1/waivers", tag = "gate", request_body = exceptions::WaiverRequest, security(("bearer" = [])), responses(
    (status = 201, body = exceptions::Waiver), (status = 403, body = ErrorBody)))]
pub(super) async fn grant_waiver(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Extension(presented): Extension<PresentedCredential>,
    Json(req): Json<exceptions::WaiverRequest>,
) -> Result<(StatusCode, Json<exceptions::Waiver>), ApiError> {
    let cx = state.reauth(&presented);
    Ok((
        StatusCode::CREATED,
        Json(state.ward.grant_waiver(&me, &req, &cx).await?),
    ))
}

/// Breaks glass on an emergency change: bypasses named rules for a bounded time and opens a
/// retrospective review.
#[utoipa::path(post, path = "/api/v1/breakglass", tag = "gate", request_body = exceptions::BreakglassRequest, security(("bearer" = [])), responses(
    (status = 201, body = exceptions::Breakglass), (status = 403, body = ErrorBody)))]
pub(super) async fn break_glass(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Extension(presented): Extension<PresentedCredential>,
    Json(req): Json<exceptions::BreakglassRequest>,
) -> Result<(StatusCode, Json<exceptions::Breakglass>), ApiError> {
    let cx = state.reauth(&presented);
    Ok((
        StatusCode::CREATED,
        Json(state.ward.invoke_breakglass(&me, &req, &cx).await?),
    ))
}

/// Every break-glass with its retrospective review: open, overdue or closed.
#[utoipa::path(get, path = "/api/v1/reviews", tag = "gate", security(("bearer" = [])), responses(
    (status = 200, body = Vec<exceptions::Breakglass>)))]
pub(super) async fn list_reviews(State(state): State<AppState>) -> Result<Json<Vec<exceptions::Breakglass>>, ApiError> {
    let list = state.ward.reviews(jiff::Timestamp::now().as_second()).await?;
    Ok(Json(state.ward.shown(list).await?))
}
