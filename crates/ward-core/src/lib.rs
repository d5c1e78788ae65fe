//! `ward-core`: Ward's domain types and pure rules — no I/O, no clock, no database.
//!
//! - [`authz`]: roles, the actions they permit (one matrix, in one place), identities.
//! - [`token`]: the API token format: generation, parsing, and the stored hash.
//! - [`approval`]: electronic signatures' manifest and separation of duties.
//! - [`calendar`]: change windows (cron over local time, DST-correct) and freezes.
//! - [`dora`]: DORA's five delivery metrics from recorded facts, with bands and the entries
//!   behind every figure.
//! - [`dr`]: disaster-recovery readiness: backups within the RPO, restore tests within the RTO
//!   and the tier's age, rollback drills before high-risk changes.
//! - [`governance`]: governance metrics (approval latency, exceptions, overdue reviews, drill
//!   age) from recorded facts, with the entries behind every figure.
//! - [`gate`]: the Rego gate (regorus): bundle, evaluation, policy tests.
//! - [`slo`]: error-budget freezes: objectives judged by multi-window burn-rate alerts.
//! - [`risk`]: risk tiers and the classification rules of `[risk]`; [`glob`]: path globs.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod approval;
pub mod authz;
pub mod calendar;
pub mod canary;
pub mod dora;
pub mod dr;
pub mod gate;
pub mod glob;
pub mod governance;
pub mod risk;
pub mod shell;
pub mod slo;
pub mod token;

pub use authz::{Action, Identity, Role};
