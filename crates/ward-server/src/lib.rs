//! `ward-server`: the HTTP adapter over Ward's application services (`ward-app`).
//!
//! - [`config`]: `ward.toml` (listen, TLS, OIDC providers, and the sections the services read).
//! - [`error`]: the JSON error body `{code, message, hint}`; [`ApiError`] maps each
//!   [`ward_app::Kind`] to its status in one `match`.
//! - [`routes`]: the route table (method, path, action) and the axum router built from it.
//! - [`auth`]: bearer authentication, the role check, and rate-limiting of failures.
//! - [`state`]: what every handler can reach.
//! - [`metrics`]: Prometheus metrics.
//! - [`oidc`]: OIDC/JWT bearer tokens (RS256, ES256) mapped to identities by configuration; the
//!   [`ward_app::reauth::ReauthVerifier`] port over OIDC.
//! - [`tls`]: rustls termination for `ward serve --tls-cert/--tls-key`.
//!
//! Transition (issue 16): the application modules moved to `ward-app` and are re-exported here
//! (`ward_server::changes`, …) so the CLI, the demo, the benchmarks and the tests keep their
//! paths; new code should name `ward_app` directly.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod auth;
pub mod config;
pub mod error;
pub mod limiter;
pub mod metrics;
pub mod oidc;
pub mod routes;
pub mod state;
pub mod tls;

pub use error::ApiError;
pub use routes::{ROUTES, router};
pub use state::AppState;
pub use ward_app::{
    approvals, changes, deployments, documents, dr, environment, evidence, exceptions, freetext, gate, identities,
    keys, ops, projectors, promotion, reauth, redaction, rollout, users,
};

use std::net::SocketAddr;
use tokio::net::TcpListener;

/// Serves `state` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
}
