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
pub(crate) const RUN_TO_THEIR_RECORD: [&str; 5] = [
    "/api/v1/promotions",
    "/api/v1/environments/{env}/rollback",
    "/api/v1/environments/{env}/drills",
    "/ui/changes/{id}/promote",
    "/ui/environments/{env}/drill",
];

/// The largest body a route of [`RUN_TO_THEIR_RECORD`] reads (a promotion request, a form).
const RECORD_ROUTE_BODY: usize = 64 * 1024;

/// Ends a request that runs longer than [`REQUEST_TIMEOUT`] with 503 `timeout` (its work is
/// dropped with it). On the routes of [`RUN_TO_THEIR_RECORD`] only the reading of the request
/// (its body, within the timeout) is timed: a body sent a byte at a time held a connection,
/// and the server's stop, for good (attack on `4039005`).
pub(crate) async fn timeout(req: Request, next: Next) -> Response {
    let runs_to_its_record = req
        .extensions()
        .get::<MatchedPath>()
        .is_some_and(|m| RUN_TO_THEIR_RECORD.contains(&m.as_str()));
    if runs_to_its_record {
        let (parts, body) = req.into_parts();
        return match tokio::time::timeout(REQUEST_TIMEOUT, axum::body::to_bytes(body, RECORD_ROUTE_BODY)).await {
            Ok(Ok(bytes)) => {
                next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
                    .await
            }
            Ok(Err(_)) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body could not be read whole (at most 64 KiB here)",
                "send the request as documented",
            )
            .into_response(),
            Err(_) => timed_out(),
        };
    }
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => timed_out(),
    }
}

fn timed_out() -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "timeout",
        "the request took too long",
        "retry later; if it persists, check the server's store",
    )
    .into_response()
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
        // Counted out however the work ends, a panic included (the review of this session: a
        // panicking task left the count up, and the server's stop waited for good).
        let _counted = InFlight;
        work.await
    });
    task.await.map_err(ward_app::error::AppError::internal)?
}

/// One piece of [`to_completion`]'s work in flight, counted out when dropped.
struct InFlight;

impl Drop for InFlight {
    fn drop(&mut self) {
        if RUNNING.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
            FINISHED.notify_waiters();
        }
    }
}

/// Waits until no work of [`to_completion`] is in flight: a server stops only then (saying so:
/// a target may run ten minutes a tenant).
pub async fn work_finished() {
    let mut said = false;
    loop {
        let finished = FINISHED.notified();
        let running = RUNNING.load(std::sync::atomic::Ordering::SeqCst);
        if running == 0 {
            return;
        }
        if !said {
            tracing::warn!(
                running,
                "stopping once the promotions, rollbacks or drills in flight are recorded (a target runs at most 10 minutes a tenant)"
            );
            said = true;
        }
        finished.await;
    }
}

#[cfg(test)]
mod tests {
    /// A deployment task that panics is counted out: the server's stop does not wait for it.
    #[tokio::test]
    async fn a_panicking_deployment_task_does_not_hold_the_servers_stop() {
        let work = async {
            if std::hint::black_box(true) {
                panic!("a target adapter panicked");
            }
            Ok::<(), ward_app::error::AppError>(())
        };
        assert!(super::to_completion(work).await.is_err());
        let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), super::work_finished()).await;
        assert!(stopped.is_ok(), "the stop waited for a task that had panicked");
    }
}
