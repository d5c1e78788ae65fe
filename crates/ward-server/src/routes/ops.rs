//! Operations: liveness, readiness, metrics and the OpenAPI document.

use super::*;

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "up")))]
pub(super) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the store answers and its migrations are applied.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "store unreachable", body = ErrorBody)))]
pub(super) async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match state.ledger.head().await {
        Ok(head) => Ok(Json(
            json!({ "status": "ready", "backend": state.ledger.store().backend(), "size": head.size() }),
        )),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the store is not reachable",
                "check the database the server was started with",
            ))
        }
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain")))]
pub(super) async fn metrics(State(state): State<AppState>) -> Response {
    refresh_dora_gauges(&state).await;
    if let Ok(head) = state.ledger.head().await {
        state
            .metrics
            .ledger_size
            .set(i64::try_from(head.size()).unwrap_or(i64::MAX));
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3 document")))]
pub(super) async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(api().1)
}

/// The `ward.toml` this server runs: its digest and the `config.loaded` entry.
#[utoipa::path(get, path = "/api/v1/server/config", tag = "operations", security(("bearer" = [])), responses(
    (status = 200, body = ward_app::ops::LoadedConfig)))]
pub(super) async fn loaded_config(State(state): State<AppState>) -> Json<ward_app::ops::LoadedConfig> {
    Json((*state.loaded_config).clone())
}
