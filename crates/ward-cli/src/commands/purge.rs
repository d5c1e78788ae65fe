//! `ward purge`: one step of the two-person purge of a text document or raw evidence kept
//! beside the log.

use crate::backend::Backend;
use crate::cli::{Global, PurgeArgs};
use crate::output::emit;
use anyhow::Result;
use serde_json::json;
use ward_app::purge::{Found, PurgeOutcome, PurgeRequest};

/// Requests (first privacy officer) or completes (a second person) the purge of a document.
pub async fn run(g: &Global, a: &PurgeArgs) -> Result<()> {
    if let Some(text) = &a.find {
        return find(g, text).await;
    }
    let (Some(digest), Some(reason)) = (&a.digest, &a.reason) else {
        anyhow::bail!("name the document's digest and give --reason (or --find TEXT to list every copy of a text)");
    };
    let digest = digest.strip_prefix("doc:").unwrap_or(digest);
    let req = PurgeRequest {
        reason: reason.clone(),
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

/// Lists every stored copy of a text, each with the command that starts its purge.
async fn find(g: &Global, text: &str) -> Result<()> {
    // Read once the password is (`--password-stdin`: the password's line comes first).
    let read = || -> Result<String> {
        if text != "-" {
            return Ok(text.to_string());
        }
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    };
    let found: Found = Backend::from_global(g)?.find_holding(read).await?;
    emit(g.output, json!(found), || {
        if found.holding.is_empty() {
            return format!("no stored copy holds the text (entries 0..{} searched)", found.size);
        }
        let mut s = format!(
            "{} stored copies hold the text (entries 0..{} searched); purge each:\n",
            found.holding.len(),
            found.size
        );
        for h in &found.holding {
            let entries: Vec<String> = h.entries.iter().map(u64::to_string).collect();
            s.push_str(&format!(
                "  {} ({}, referenced by entries {})\n    ward purge {} --reason \"…\"\n",
                h.digest,
                h.of,
                entries.join(", "),
                h.digest
            ));
        }
        s.trim_end().to_string()
    });
    Ok(())
}
