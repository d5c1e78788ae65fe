//! `ward serve`: the HTTP API on the data directory's store.

use crate::cli::{Global, ServeArgs};
use crate::context::Context;
use crate::failure::Failure;
use anyhow::Result;
use std::sync::Arc;
use ward_server::AppState;

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(g: &Global, a: &ServeArgs) -> Result<()> {
    let ctx = Context::open(g).await?;
    let signer = Arc::new(ctx.signer()?);
    let state = AppState::new(ctx.ledger.clone(), signer, ctx.origin.clone());
    let listener = tokio::net::TcpListener::bind(&a.listen).await.map_err(|e| {
        Failure::new(
            "cannot_listen",
            format!("cannot listen on {}: {e}", a.listen),
            "pick a free address with --listen (WARD_LISTEN)",
        )
    })?;
    let addr = listener.local_addr()?;
    // One line on stdout that scripts (and tests) can wait for.
    println!(
        "ward serving log {} on http://{addr} ({})",
        ctx.origin,
        ctx.ledger.store().backend()
    );
    ward_server::serve(listener, state, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
