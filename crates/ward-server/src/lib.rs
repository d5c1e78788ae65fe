//! `ward-server`: the HTTP API over the ledger.
//!
//! - [`config`]: the server's part of `ward.toml` (listen, TLS, OIDC providers).
//! - [`ops`]: plain functions over a [`ward_store::Ledger`] that both the handlers and the CLI's
//!   local mode call, returning the serialisable shapes the API sends.
//! - [`identities`]: API tokens, local users and sessions, kept as ledger events with their
//!   projections; the in-memory token cache.
//! - [`evidence`]: artifacts and attestations (registration, parsed summaries, raw storage).
//! - [`keys`]: keys trusted to sign evidence for a builder; custom attestation types.
//! - [`approvals`]: electronic signatures on changes, re-authenticated, under separation of
//!   duties; stale when what they bound changes.
//! - [`changes`]: change requests, classified by risk when opened; tier overrides.
//! - [`gate`]: the gate input document, decisions recorded with policy and input digests,
//!   replay.
//! - [`users`]: the local user directory, read-only (records, names, password checks).
//! - [`redaction`]: the installation's key for fingerprints of redacted spans (outside the log).
//! - [`reauth`]: re-authentication before every signature (password or a fresh OIDC token,
//!   never the request's own bearer), printed names, lockout after repeated failures.
//! - [`documents`]: free text beside the log (salted documents referenced by digest), shown
//!   resolved; purge projections.
//! - [`freetext`]: people's free text (titles, comments, reasons) through the PHI/secret guard.
//! - [`exceptions`]: waivers, break-glass and the retrospective reviews it opens.
//! - [`promotion`]: environments, promotion through the gate, deployment records.
//! - [`rollout`]: progressive delivery on the local runtime, automated rollback, drills.
//! - [`error`]: the JSON error body `{code, message, hint}`.
//! - [`routes`]: the route table (method, path, action) and the axum router built from it.
//! - [`auth`]: bearer authentication, the role check, and rate-limiting of failures.
//! - [`metrics`]: Prometheus metrics.
//! - [`oidc`]: OIDC/JWT bearer tokens (RS256, ES256) mapped to identities by configuration.
//! - [`tls`]: rustls termination for `ward serve --tls-cert/--tls-key`.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod approvals;
pub mod auth;
pub mod changes;
pub mod config;
pub mod documents;
pub mod error;
pub mod evidence;
pub mod exceptions;
pub mod freetext;
pub mod gate;
pub mod identities;
pub mod keys;
pub mod metrics;
pub mod oidc;
pub mod ops;
pub mod promotion;
pub mod reauth;
pub mod redaction;
pub mod rollout;
pub mod routes;
pub mod state;
pub mod tls;
pub mod users;

pub use error::ApiError;
pub use routes::{ROUTES, router};
pub use state::AppState;

use std::net::SocketAddr;
use std::sync::Arc;

/// Every projection Ward maintains: the store's defaults, identities and evidence. Whoever opens
/// a [`ward_store::Ledger`] for Ward (server, CLI, tests) passes these.
pub fn projectors() -> Vec<Arc<dyn ward_store::Projector>> {
    let mut p = ward_store::projection::default_projectors();
    p.push(Arc::new(identities::IdentityProjector));
    p.push(Arc::new(evidence::EvidenceProjector));
    p.push(Arc::new(keys::KeysProjector));
    p.push(Arc::new(changes::ChangeProjector));
    p.push(Arc::new(approvals::ApprovalProjector));
    p.push(Arc::new(exceptions::ExceptionProjector));
    p.push(Arc::new(promotion::DeploymentProjector));
    p.push(Arc::new(promotion::config::ConfigProjector));
    p.push(Arc::new(rollout::RolloutProjector));
    p.push(Arc::new(reauth::ReauthProjector));
    p.push(Arc::new(documents::DocumentProjector));
    p.push(Arc::new(freetext::LogGuard));
    p
}
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
