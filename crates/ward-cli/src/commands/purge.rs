//! `ward purge`: one step of the two-person purge of a text document or raw evidence kept
//! beside the log.

use crate::backend::Backend;
use crate::cli::{Global, PurgeArgs};
use crate::output::emit;
use anyhow::Result;
use serde_json::json;
use ward_app::documents::{PurgeOutcome, PurgeRequest};

/// Requests (first privacy officer) or completes (a second person) the purge of a document.
pub async fn run(g: &Global, a: &PurgeArgs) -> Result<()> {
    let digest = a.digest.strip_prefix("doc:").unwrap_or(&a.digest);
    let req = PurgeRequest {
        reason: a.reason.clone(),
        password: crate::context::password(g)?,
        reauth_token: a.reauth_token.clone(),
    };
    let out: PurgeOutcome = Backend::from_global(g)?.purge(digest, &req).await?;
    let what = if out.raw_evidence { "raw evidence " } else { "" };
    emit(g.output, json!(out), || match &out.purged_by {
        Some(by) => format!(
            "purged {what}{}: deleted from the store, entry {} (requested by {} in entry {}, completed by {by})",
            out.digest, out.seq, out.requested_by, out.request_seq
        ),
        None => format!(
            "purge of {what}{} requested by {} (entry {}); another privacy officer or an admin completes it with the same command",
            out.digest, out.requested_by, out.seq
        ),
    });
    Ok(())
}
