//! `ward init`.

use crate::cli::{Global, InitArgs};
use crate::context::{database_url, open_store, write_new_key};
use crate::output::emit;
use anyhow::Result;
use serde_json::json;
use ward_ledger::NoteVerifier;

/// Creates the key pair and the database, and records the log origin.
pub async fn run(g: &Global, args: &InitArgs) -> Result<()> {
    let signer = write_new_key(&g.data_dir, &args.origin)?;
    let url = database_url(g);
    let store = open_store(&url).await?;
    store.set_meta("origin", &args.origin).await?;
    let vkey = signer.verifier().verifier_key();
    emit(
        g.output,
        json!({ "data_dir": g.data_dir, "origin": args.origin, "backend": store.backend(), "verifier_key": vkey }),
        || {
            format!(
                "Initialised Ward data directory {}\n  origin:       {}\n  store:        {}\n  signing key:  {} (mode 0600; back it up)\n  verifier key: {vkey}",
                g.data_dir.display(),
                args.origin,
                store.backend(),
                g.data_dir.join(crate::context::KEY_FILE).display()
            )
        },
    );
    Ok(())
}
