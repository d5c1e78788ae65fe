//! `ward-server`: the HTTP adapter over Ward's application services (`ward-app`).
//!
//! - [`config`]: `[server]` and `[[oidc]]` of `ward.toml`, beside the services' sections
//!   ([`ward_app::config`]).
//! - [`error`]: the JSON error body `{code, message, hint}`; [`ApiError`] maps each
//!   [`ward_app::Kind`] to its status in one `match`.
//! - [`routes`]: the route table (method, path, action) and the axum router built from it.
//! - [`auth`]: bearer authentication, the role check, and rate-limiting of failures.
//! - [`state`]: what every handler can reach.
//! - [`metrics`]: Prometheus metrics.
//! - [`oidc`]: OIDC/JWT bearer tokens (RS256, ES256) mapped to identities by configuration; the
//!   [`ward_app::reauth::ReauthVerifier`] port over OIDC.
//! - [`tls`]: rustls termination for `ward serve --tls-cert/--tls-key`.
//! - [`ui`]: the web UI (server-rendered pages at `/` and `/ui/…`) over the same services and
//!   role checks as the API.
//!
//! The application is `ward-app`'s: [`AppState`] holds a [`ward_app::Ward`]; handlers call its
//! services and map their [`ward_app::AppError`]s. Nothing here re-exports ward-app: callers
//! (the CLI, the demo, the benchmarks, the tests) name `ward_app` themselves.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod activity;
pub mod auth;
pub mod config;
pub mod error;
pub mod layers;
pub mod limiter;
pub mod metrics;
pub mod oidc;
pub mod routes;
pub mod state;
pub mod tls;
pub mod ui;

pub use error::ApiError;
pub use routes::{ROUTES, router};
pub use state::AppState;

use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Serves `state` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_live(listener, LiveRouter::new(state), shutdown).await
}

/// Serves the router `live` holds (replaced when the configuration is reloaded) on `listener`
/// until `shutdown` resolves.
pub async fn serve_live(
    listener: TcpListener,
    live: LiveRouter,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        live.service().into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    // A promotion, rollback or drill whose client went away still runs to its record.
    layers::work_finished().await;
    Ok(())
}

/// The router a server runs, replaceable while it serves (`ward serve` reloading `ward.toml`):
/// each request is routed by the router current when it arrives; a request in flight finishes
/// on the one it started on.
#[derive(Clone)]
pub struct LiveRouter(std::sync::Arc<std::sync::RwLock<axum::Router>>);

impl LiveRouter {
    /// A live router over `state`.
    pub fn new(state: AppState) -> LiveRouter {
        LiveRouter(std::sync::Arc::new(std::sync::RwLock::new(router(state))))
    }

    /// From now on, requests are routed over `state`.
    pub fn replace(&self, state: AppState) {
        let next = router(state);
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = next;
    }

    /// The router current now.
    pub fn current(&self) -> axum::Router {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// A router that hands every request to the current one (connection information and all
    /// other extensions kept).
    pub fn service(&self) -> axum::Router {
        use tower::ServiceExt as _;
        let live = self.clone();
        axum::Router::new().fallback(move |req: axum::extract::Request| {
            let app = live.current();
            async move { app.oneshot(req).await }
        })
    }
}
