//! Promotion: promotions, rollbacks, configuration bundles, observations, deployments and release notes.

use super::*;
use ward_app::deployments;
use ward_app::promotion;

/// Promotes a change into an environment: the preceding environment must have deployed its
/// digests, the environment's gate must allow it; the deployment target runs and a deployment
/// record is kept (also when the target fails).
#[utoipa::path(post, path = "/api/v1/promotions", tag = "promotion", request_body = promotion::PromoteRequest, security(("bearer" = [])), responses(
    (status = 201, body = deployments::Deployment), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "chain order or gate")))]
pub(super) async fn promote(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<promotion::PromoteRequest>,
) -> Result<(StatusCode, Json<deployments::Deployment>), ApiError> {
    let ward = state.ward.clone();
    let deployment = crate::layers::to_completion(async move { ward.promote(&me, &req).await }).await?;
    Ok((StatusCode::CREATED, Json(deployment)))
}

/// `?tenant=`.
#[derive(Deserialize, IntoParams)]
pub(super) struct TenantQuery {
    /// One tenant of the environment.
    tenant: Option<String>,
}

/// Rolls an environment (or one tenant) back to its previous known-good release and
/// configuration through the same target; the record links the deployment it reverts.
#[utoipa::path(post, path = "/api/v1/environments/{env}/rollback", tag = "promotion", params(("env" = String, Path, description = "environment"), TenantQuery), security(("bearer" = [])), responses(
    (status = 201, body = deployments::Deployment), (status = 409, body = ErrorBody)))]
pub(super) async fn rollback(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(env): Path<String>,
    Query(q): Query<TenantQuery>,
) -> Result<(StatusCode, Json<deployments::Deployment>), ApiError> {
    let ward = state.ward.clone();
    let deployment =
        crate::layers::to_completion(async move { ward.rollback(&me, &env, q.tenant.as_deref()).await }).await?;
    Ok((StatusCode::CREATED, Json(deployment)))
}

/// Publishes a configuration bundle for an environment or one tenant. Secrets must be references
/// (`env://`, `file://`, `vault://`); a bundle holding a secret value is refused whole.
#[utoipa::path(put, path = "/api/v1/environments/{env}/config", tag = "promotion", params(("env" = String, Path, description = "environment")), request_body = promotion::config::ConfigRequest, security(("bearer" = [])), responses(
    (status = 201, body = promotion::config::ConfigBundle), (status = 422, body = ErrorBody, description = "a secret value")))]
pub(super) async fn publish_config(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(env): Path<String>,
    Json(req): Json<promotion::config::ConfigRequest>,
) -> Result<(StatusCode, Json<promotion::config::ConfigBundle>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(state.ward.publish_config(&me, &env, &req).await?),
    ))
}

/// `?tenant=&effective=`.
#[derive(Deserialize, IntoParams)]
pub(super) struct ConfigQuery {
    /// One tenant of the environment.
    tenant: Option<String>,
    /// The merged configuration a deployment receives, instead of the latest bundle.
    #[serde(default)]
    effective: bool,
}

/// The configuration of an environment or tenant: the latest bundle's values (or the effective,
/// merged configuration) and the bundle history.
#[utoipa::path(get, path = "/api/v1/environments/{env}/config", tag = "promotion", params(("env" = String, Path, description = "environment"), ConfigQuery), security(("bearer" = [])), responses(
    (status = 200, body = promotion::config::ConfigView)))]
pub(super) async fn show_config(
    State(state): State<AppState>,
    Path(env): Path<String>,
    Query(q): Query<ConfigQuery>,
) -> Result<Json<promotion::config::ConfigView>, ApiError> {
    Ok(Json(
        state.ward.config_view(&env, q.tenant.as_deref(), q.effective).await?,
    ))
}

/// Asks the environment's runtime what runs (its `observe_command`) and records one observation
/// per tenant reported, with drift.
#[utoipa::path(post, path = "/api/v1/environments/{env}/observations", tag = "promotion", params(("env" = String, Path, description = "environment")), security(("bearer" = [])), responses(
    (status = 201, body = Vec<promotion::Drift>), (status = 502, body = ErrorBody, description = "the runtime did not answer")))]
pub(super) async fn observe_runtime(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(env): Path<String>,
) -> Result<(StatusCode, Json<Vec<promotion::Drift>>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.ward.observe_runtime(&me, &env).await?)))
}

/// Records what is running in an environment and reports drift: shadow digests (never promoted
/// there through Ward), stale ones (not the current release) and missing ones.
#[utoipa::path(post, path = "/api/v1/observations", tag = "promotion", request_body = promotion::Observation, security(("bearer" = [])), responses(
    (status = 201, body = promotion::Drift)))]
pub(super) async fn observe(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<promotion::Observation>,
) -> Result<(StatusCode, Json<promotion::Drift>), ApiError> {
    Ok((StatusCode::CREATED, Json(state.ward.observe(&me, &req).await?)))
}

/// `?since=` for release notes.
#[derive(Deserialize, IntoParams)]
pub(super) struct SinceQuery {
    /// RFC 3339 time; releases deployed at or after it.
    since: Option<String>,
}

/// Release notes of an environment: every successful deployment with its change, tier,
/// approvals, evidence, waivers and commits.
#[utoipa::path(get, path = "/api/v1/environments/{env}/release-notes", tag = "promotion", params(("env" = String, Path, description = "environment"), SinceQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<promotion::ReleaseEntry>)))]
pub(super) async fn release_notes(
    State(state): State<AppState>,
    Path(env): Path<String>,
    Query(q): Query<SinceQuery>,
) -> Result<Json<Vec<promotion::ReleaseEntry>>, ApiError> {
    Ok(Json(state.ward.release_notes(&env, q.since.as_deref()).await?))
}

/// Deployment records of an environment, oldest first.
#[utoipa::path(get, path = "/api/v1/environments/{env}/deployments", tag = "promotion", params(("env" = String, Path, description = "environment")), security(("bearer" = [])), responses(
    (status = 200, body = Vec<deployments::Deployment>), (status = 404, body = ErrorBody)))]
pub(super) async fn list_deployments(
    State(state): State<AppState>,
    Path(env): Path<String>,
) -> Result<Json<Vec<deployments::Deployment>>, ApiError> {
    Ok(Json(state.ward.deployment_history(&env).await?))
}

/// Deployments announced in an environment (`deployment.started`) and not recorded yet, oldest
/// first: running now, or left unanswered by a process that stopped (the next deployment there
/// records it as interrupted).
#[utoipa::path(get, path = "/api/v1/environments/{env}/deployments/in-flight", tag = "promotion", params(("env" = String, Path, description = "environment")), security(("bearer" = [])), responses(
    (status = 200, body = Vec<deployments::Started>), (status = 404, body = ErrorBody)))]
pub(super) async fn list_in_flight(
    State(state): State<AppState>,
    Path(env): Path<String>,
) -> Result<Json<Vec<deployments::Started>>, ApiError> {
    Ok(Json(state.ward.deployments_in_flight(&env).await?))
}

/// One deployment record, by its log entry.
#[utoipa::path(get, path = "/api/v1/deployments/{seq}", tag = "promotion", params(("seq" = u64, Path, description = "deployment (log entry)")), security(("bearer" = [])), responses(
    (status = 200, body = deployments::Deployment), (status = 404, body = ErrorBody)))]
pub(super) async fn show_deployment(
    State(state): State<AppState>,
    Path(seq): Path<u64>,
) -> Result<Json<deployments::Deployment>, ApiError> {
    Ok(Json(deployments::deployment(&state.ledger, seq).await?))
}

/// `?tenant=`.
#[derive(Deserialize, IntoParams)]
pub(super) struct OutputQuery {
    /// The tenant whose run (required when the deployment ran for several).
    tenant: Option<String>,
}

/// What a deployment's target run printed (stored beside the log, checked against the digest
/// the log records), with what the guard finds redacted. Every read is recorded as
/// `access.read` about the deployment (tokens too: a script reading outputs is an access).
#[utoipa::path(get, path = "/api/v1/deployments/{seq}/output", tag = "promotion", params(("seq" = u64, Path, description = "deployment (log entry)"), OutputQuery), security(("bearer" = [])), responses(
    (status = 200, body = promotion::TargetOutput), (status = 403, body = ErrorBody, description = "release managers and auditors only"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "several tenants: name one")))]
pub(super) async fn deployment_output(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(seq): Path<u64>,
    Query(q): Query<OutputQuery>,
) -> Result<Json<promotion::TargetOutput>, ApiError> {
    let out = state.ward.target_output(seq, q.tenant.as_deref()).await?;
    state
        .ledger
        .append(NewEvent {
            actor: me.actor(),
            kind: "access.read".into(),
            subject: format!("deployment:{seq}"),
            payload: json!({ "deployment": seq, "tenant": out.tenant, "output": out.output_digest }),
        })
        .await?;
    Ok(Json(out))
}
