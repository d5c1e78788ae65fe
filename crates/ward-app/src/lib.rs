//! `ward-app`: Ward's application services, free of HTTP.
//!
//! Every service takes the [`ward_store::Ledger`] and the rules it needs and returns documents
//! or an [`AppError`]; the HTTP server (ward-server) and the CLI's local mode are adapters over
//! them. Nothing here knows about HTTP: no axum, tower, hyper server of its own, jsonwebtoken,
//! rustls, prometheus-client or reqwest (`scripts/test` checks the dependency tree). What needs
//! the outside world that HTTP reaches is a port: [`reauth::ReauthVerifier`] (a fresh OIDC
//! token), [`promotion::DeploymentTarget`] (a deployment target), [`promotion::Runtimes`] (the
//! runtimes Ward runs itself: the local runtime of [`rollout`]).
//!
//! - [`config`]: the sections of `ward.toml` the services read, loaded and validated once for
//!   every adapter.
//! - [`Ward`]: the façade the adapters hold (ledger, rules, locks, ports), one method per
//!   operation.
//! - [`error`]: [`AppError`], the one error type (kind, code, message, hint).
//! - [`ops`]: plain functions over a [`ward_store::Ledger`] that both the handlers and the CLI's
//!   local mode call, returning the serialisable shapes the API sends.
//! - [`identities`]: API tokens, local users and sessions, kept as ledger events with their
//!   projections; the in-memory token cache.
//! - [`evidence`]: artifacts and attestations (registration, parsed summaries, raw storage).
//! - [`advisory`]: the vulnerability id shapes a scan's leaf may keep (`CVE-…`, `GHSA-…`, …).
//! - [`keys`]: keys trusted to sign evidence for a builder; custom attestation types.
//! - [`approvals`]: electronic signatures on changes, re-authenticated, under separation of
//!   duties; stale when what they bound changes.
//! - [`subjects`]: whether a change exists, for modules below [`changes`].
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
//! - [`environment`]: `[[environments]]` — chains, tenants, rings, and the runtime and strategy
//!   each declares (data and validation only).
//! - [`deployments`]: deployment records and the rules over them (history, reverted,
//!   known-good, placement, the rollback choice).
//! - [`promotion`]: promotion through the gate by a deployment target, rollback, drift, release
//!   notes.
//! - [`rollout`]: progressive delivery on the local runtime, automated rollback, drills.
//! - [`dr`]: disaster-recovery readiness from backup jobs, signed restore tests and drills
//!   (`[[services]]`, `input.dr`).
//! - [`slo`]: error-budget state read from Prometheus for the gate (`[[slo]]`).
//! - [`bundle`]: evidence bundles for auditors (entries, proofs, documents, report) and their
//!   offline verification.
//! - [`audit`]: the auditor's population of production deployments (signed manifest) and its
//!   reproducible sample.
//! - [`compliance`]: the compliance evidence report (HIPAA, Part 11, SOC 2, NIST) of a period.
//! - [`board`]: the release board (what runs where, rollouts in progress) and the approvals
//!   inbox (what waits for a person's signature, after separation of duties).
//! - [`metrics`]: delivery metrics (DORA) and governance metrics read off the log.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod advisory;
pub mod approvals;
pub mod audit;
pub mod board;
pub mod bundle;
pub mod changes;
pub mod compliance;
pub mod config;
pub mod deployments;
pub mod documents;
pub mod dr;
pub mod environment;
pub mod error;
pub mod evidence;
pub mod exceptions;
pub mod freetext;
pub mod gate;
pub mod identifier;
pub mod identities;
pub mod keys;
pub mod kinds;
pub mod metrics;
pub mod ops;
pub mod overview;
pub mod promotion;
pub mod purge;
pub mod reauth;
pub mod redaction;
pub mod rollout;
pub mod rule_names;
pub mod search;
pub mod slo;
pub mod subjects;
pub mod users;
mod ward;

pub use error::{AppError, Kind};
pub use ward::Ward;

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
    p.push(Arc::new(deployments::DeploymentProjector));
    p.push(Arc::new(metrics::DoraProjector));
    p.push(Arc::new(deployments::CurrentRunProjector));
    p.push(Arc::new(promotion::drift::DriftProjector));
    p.push(Arc::new(dr::RestoreTestProjector));
    p.push(Arc::new(dr::DrStoreProjector));
    p.push(Arc::new(promotion::config::ConfigProjector));
    p.push(Arc::new(rollout::RolloutProjector));
    p.push(Arc::new(reauth::ReauthProjector));
    p.push(Arc::new(documents::DocumentProjector));
    p.push(Arc::new(redaction::InstallationKeyProjector));
    p.push(Arc::new(freetext::LogGuard));
    p
}
