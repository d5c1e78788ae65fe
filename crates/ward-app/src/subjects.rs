//! Whether a change exists, for the modules below [`crate::changes`] that take a change id
//! (evidence about a change itself): one read of the projection the change projector keeps,
//! without importing changes.

use crate::error::AppError;
use ward_store::Ledger;

/// The projection of changes, by id (kept by `changes::ChangeProjector`).
pub(crate) const CHANGES: &str = "changes";

/// Whether change `id` was opened.
pub async fn change_exists(ledger: &Ledger, id: &str) -> Result<bool, AppError> {
    Ok(ledger.store().projection(CHANGES, id).await?.is_some())
}
