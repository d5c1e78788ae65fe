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

/// Routes whose work changes what runs — a promotion, a rollback, a drill — and runs to its
/// record ([`to_completion`]): no request timeout (a target may run ten minutes a tenant; a
/// client told "timeout" could not know whether it ran, and trying again ran it twice: attack
/// on `b782046`).
const RUN_TO_THEIR_RECORD: [&str; 4] = [
    "/api/v1/promotions",
    "/api/v1/environments/{env}/rollback",
    "/api/v1/environments/{env}/drills",
    "/ui/changes/{id}/promote",
];

/// Ends a request that runs longer than [`REQUEST_TIMEOUT`] with 503 `timeout` (its work is
/// dropped with it), but on the routes of [`RUN_TO_THEIR_RECORD`].
pub(crate) async fn timeout(req: Request, next: Next) -> Response {
    let runs_to_its_record = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|m| RUN_TO_THEIR_RECORD.contains(&m.as_str()));
    if runs_to_its_record {
        return next.run(req).await;
    }
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long",
            "retry later; if it persists, check the server's store",
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

/// Work that changes what runs, in flight on its own task ([`to_completion`]).
static RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static FINISHED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Runs work that changes what runs (a promotion, a rollback, a drill) to its end and record on
/// its own task: a client that goes away ends the response, not the work (attack on `75015ec`:
/// a promotion cut off with its target half run and no deployment recorded, and its
/// environment's lock released while the target still ran), and a server stopping waits for it
/// ([`work_finished`]: attack on `b782046`, where SIGTERM killed the target).
pub(crate) async fn to_completion<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, ward_app::error::AppError>> + Send + 'static,
) -> Result<T, ward_app::error::AppError> {
    RUNNING.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let task = tokio::spawn(async move {
        let done = work.await;
        if RUNNING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            FINISHED.notify_waiters();
        }
        done
    });
    task.await.map_err(ward_app::error::AppError::internal)?
}

/// Waits until no work of [`to_completion`] is in flight: a server stops only then.
pub async fn work_finished() {
    loop {
        let finished = FINISHED.notified();
        if RUNNING.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            return;
        }
        finished.await;
    }
}
