//! Rollouts on the local runtime: start, list, show, operators' commands and drills.

use super::*;
use ward_app::rollout;

pub(super) fn engine(state: &AppState) -> Result<&std::sync::Arc<ward_rollout::Engine>, ApiError> {
    state.rollouts.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "runtime_unavailable",
            "this server runs no local runtime",
            "declare [environments.runtime] in ward.toml (ward config check shows it), then restart `ward serve`",
        )
    })
}

/// Starts a rollout of a change on an environment's local runtime: the gate (as for a
/// promotion), then the strategy's steps with analysis and automated rollback.
#[utoipa::path(post, path = "/api/v1/rollouts", tag = "rollout", request_body = rollout::RolloutRequest, security(("bearer" = [])), responses(
    (status = 201, body = rollout::Rollout), (status = 409, body = ErrorBody)))]
pub(super) async fn start_rollout(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<rollout::RolloutRequest>,
) -> Result<(StatusCode, Json<rollout::Rollout>), ApiError> {
    Ok((StatusCode::CREATED, Json(engine(&state)?.begin(&me, &req).await?)))
}

/// `?env=`.
#[derive(Deserialize, IntoParams)]
pub(super) struct EnvQuery {
    /// Only this environment.
    env: Option<String>,
}

/// Rollouts, oldest first.
#[utoipa::path(get, path = "/api/v1/rollouts", tag = "rollout", params(EnvQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<rollout::Rollout>), (status = 404, body = ErrorBody)))]
pub(super) async fn list_rollouts(
    State(state): State<AppState>,
    Query(q): Query<EnvQuery>,
) -> Result<Json<Vec<rollout::Rollout>>, ApiError> {
    let list = state.ward.rollouts(q.env.as_deref()).await?;
    Ok(Json(ward_app::documents::shown(&state.ledger, list).await?))
}

/// One rollout: plan, status, analyses and events.
#[utoipa::path(get, path = "/api/v1/rollouts/{id}", tag = "rollout", params(("id" = String, Path, description = "RO-…")), security(("bearer" = [])), responses(
    (status = 200, body = rollout::Rollout), (status = 404, body = ErrorBody)))]
pub(super) async fn get_rollout(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<rollout::Rollout>, ApiError> {
    let r = rollout::get(&state.ledger, &id).await?.ok_or_else(|| {
        ApiError::not_found(
            format!("no rollout {}", ward_app::identifier::shown(&id)),
            "list rollouts with `ward rollout status`",
        )
    })?;
    Ok(Json(ward_app::documents::shown(&state.ledger, r).await?))
}

/// Pauses, resumes, promotes (skips the remaining steps) or aborts (rolls back) a rollout. The
/// events it causes are recorded with the caller as their actor; the steps a promote skips are
/// recorded as skipped by the caller. Promoting a high-tier change needs a `reason`.
#[utoipa::path(post, path = "/api/v1/rollouts/{id}/{command}", tag = "rollout", params(("id" = String, Path, description = "RO-…"), ("command" = String, Path, description = "pause, resume, promote or abort")), request_body(content = rollout::CommandRequest, description = "optional: the reason (required to promote a high-tier change)"), security(("bearer" = [])), responses(
    (status = 202, body = rollout::Rollout), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub(super) async fn command_rollout(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path((id, command)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<rollout::Rollout>), ApiError> {
    let cmd: rollout::Command = serde_json::from_value(serde_json::json!(command)).map_err(|_| {
        ApiError::invalid(
            format!("unknown command {command:?}"),
            "use pause, resume, promote or abort",
        )
    })?;
    let req: rollout::CommandRequest = if body.iter().all(u8::is_ascii_whitespace) {
        rollout::CommandRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            ApiError::invalid(
                "the body of a rollout command is {\"reason\": \"...\"} or empty",
                "send only a reason",
            )
        })?
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(
            ward_app::documents::shown(
                &state.ledger,
                engine(&state)?.command(&me, &id, cmd, req.reason.as_deref()).await?,
            )
            .await?,
        ),
    ))
}

/// `{stay?}` of a drill.
#[derive(Deserialize, ToSchema, Default)]
pub(super) struct DrillRequest {
    /// Stay on the previous release after the drill (default: return to the release it started on).
    #[serde(default)]
    stay: bool,
}

/// A rollback drill: the environment goes back to its previous known-good release on purpose,
/// the measured time to restore is recorded as evidence, and (unless `stay`) it returns to the
/// release it started on.
#[utoipa::path(post, path = "/api/v1/environments/{env}/drills", tag = "rollout", params(("env" = String, Path, description = "environment")), request_body = DrillRequest, security(("bearer" = [])), responses(
    (status = 201, body = Object), (status = 409, body = ErrorBody)))]
pub(super) async fn drill(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(env): Path<String>,
    body: Option<Json<DrillRequest>>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let stay = body.map(|Json(b)| b.stay).unwrap_or_default();
    let engine = engine(&state)?.clone();
    let drill = crate::layers::to_completion(async move { engine.drill(&me, &env, stay).await }).await?;
    Ok((StatusCode::CREATED, Json(drill)))
}
