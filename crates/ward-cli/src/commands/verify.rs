//! `ward verify`: offline verification of an export, trusting only the verifier key.

use crate::cli::{Global, VerifyArgs};
use crate::failure::Failure;
use crate::output::emit;
use anyhow::Result;
use serde_json::json;
use std::path::Path;
use ward_ledger::export::verify_export;
use ward_ledger::note::parse_verifier_key;

/// Reads a verifier key given inline or as a file path.
pub fn read_key(key: &str) -> Result<String> {
    let path = Path::new(key);
    if !key.contains('+') && path.is_file() {
        return Ok(std::fs::read_to_string(path)?.trim().to_string());
    }
    Ok(key.trim().to_string())
}

/// The verifier of a key given inline or as a file.
pub fn verifier(key: &str) -> Result<Box<dyn ward_ledger::NoteVerifier>> {
    let key = read_key(key)?;
    Ok(parse_verifier_key(&key).map_err(|e| {
        Failure::new(
            "bad_verifier_key",
            format!("invalid verifier key: {e}"),
            "pass the output of `ward log key` (name+hex8+base64)",
        )
    })?)
}

/// Runs the verification; a failure exits with code 3 and names the first bad entry.
pub fn run(g: &Global, args: &VerifyArgs) -> Result<()> {
    // `ward verify bundle` is dispatched to `commands::bundle` by main.
    let (dir, key) = match (&args.what, &args.dir, &args.key) {
        (None, Some(dir), Some(key)) => (dir, key),
        _ => {
            return Err(Failure::new(
                "bad_arguments",
                "ward verify needs an export directory and --key",
                "ward verify DIR --key KEY, or ward verify bundle FILE --key KEY",
            )
            .into());
        }
    };
    let verifier = verifier(key)?;
    if !dir.is_dir() {
        return Err(Failure::new(
            "not_found",
            format!("{} is not a directory", dir.display()),
            "pass the directory written by `ward log export --out DIR`",
        )
        .into());
    }
    let started = std::time::Instant::now();
    match verify_export(dir, verifier.as_ref()) {
        Ok(r) => {
            let secs = started.elapsed().as_secs_f64();
            emit(g.output, json!({ "ok": true, "report": r, "seconds": secs }), || {
                let mut out = format!(
                    "OK: {} entries of log {} verified\n  root {}\n  {} signed checkpoints, {} consistency proofs, {} payload blobs, {} text documents checked ({secs:.2}s)",
                    r.size, r.origin, r.root, r.checkpoints, r.consistency_proofs, r.blobs, r.documents
                );
                for p in &r.purged {
                    out.push_str(&format!("\n  document {} purged by entry {}", p.digest, p.purged_by));
                }
                out
            });
            Ok(())
        }
        Err(e) => Err(Failure::verify(format!("verification failed: {e}")).into()),
    }
}
