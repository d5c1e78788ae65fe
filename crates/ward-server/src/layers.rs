//! The layers every router of the server shares (the API's and the web UI's): the request
//! timeout and the request metrics. A leaf below `routes` and `ui`, so neither imports the other
//! for them.

use crate::error::ApiError;
use crate::metrics::RouteLabels;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::{Duration, Instant};

/// Longest a request may take: the work budget of the heaviest request, an attestation (the
/// domain owns the number; the HTTP layer enforces it).
pub const REQUEST_TIMEOUT: Duration = ward_app::evidence::WORK_BUDGET;

/// Ends a request that runs longer than [`REQUEST_TIMEOUT`] with 503 `timeout` (its work is
/// dropped with it, but for a promotion's, a rollback's or a drill's, which runs to its record:
/// `routes::promotion::to_completion`).
pub(crate) async fn timeout(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long",
            "a promotion, rollback or drill goes on and is recorded: read the environment's deployments before trying it again; other requests did nothing, retry later (if it persists, check the server's store)",
        )
        .into_response(),
    }
}

/// Counts requests and latency by route template and status.
pub(crate) async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let resp = next.run(req).await;
    let labels = RouteLabels {
        method,
        route,
        status: resp.status().as_u16(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    resp
}
