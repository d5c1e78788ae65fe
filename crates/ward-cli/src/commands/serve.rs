//! `ward serve`: the HTTP API on the data directory's store.

use crate::backend::{configure, load_config};
use crate::cli::{Global, ServeArgs};
use crate::context::Context;
use crate::failure::Failure;
use anyhow::Result;
use std::sync::Arc;
use ward_server::AppState;
use ward_server::config::ServerConfig;

/// Origin of a log created by a first `ward serve` (the same default as `ward init`).
pub const DEFAULT_ORIGIN: &str = "ward.local/log";

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The configuration file `load_config` reads (none: the built-in defaults) and its bytes.
pub fn config_source(g: &Global, explicit: Option<&std::path::Path>) -> Result<(Option<String>, Option<Vec<u8>>)> {
    let path = explicit.map_or_else(|| g.data_dir.join("ward.toml"), std::path::Path::to_path_buf);
    if explicit.is_none() && !path.exists() {
        return Ok((None, None));
    }
    let bytes = std::fs::read(&path).map_err(|e| {
        Failure::new(
            "bad_config",
            format!("{}: {e}", path.display()),
            "pass the path of ward.toml with --config",
        )
    })?;
    Ok((Some(path.display().to_string()), Some(bytes)))
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn run(g: &Global, a: &ServeArgs) -> Result<()> {
    let cfg = load_config(g, a.config.as_deref())?;
    if !g.data_dir.join(crate::context::KEY_FILE).exists() {
        // First start: set up the embedded default so that `ward serve` needs nothing else.
        let signer = crate::context::write_new_key(&g.data_dir, DEFAULT_ORIGIN)?;
        let store = crate::context::open_store(&crate::context::database_url(g)).await?;
        store.set_meta("origin", DEFAULT_ORIGIN).await?;
        eprintln!(
            "initialised {} (log {DEFAULT_ORIGIN}); verifier key: {}",
            g.data_dir.display(),
            ward_ledger::NoteVerifier::verifier_key(&signer.verifier())
        );
    }
    let ctx = Context::open(g).await?;
    let signer = Arc::new(ctx.signer()?);
    let mut state = AppState::new(ctx.ledger.clone(), signer, ctx.origin.clone());
    // Before anything reads or writes state (the rollout engine, the first request): the state
    // tables and blobs must be exactly what the log explains, or nothing starts.
    let checked = check_state(&ctx.ledger, &state.metrics).await?;
    eprintln!(
        "state matches the log: {} entries, {} documents, {} blobs checked in {:.1} s",
        checked.entries, checked.documents, checked.blobs, checked.seconds
    );
    if a.state_check_interval > 0 {
        tokio::spawn(recheck_state(
            ctx.ledger.clone(),
            state.metrics.clone(),
            std::time::Duration::from_secs(a.state_check_interval),
        ));
    }
    let (config_path, config_bytes) = config_source(g, a.config.as_deref())?;
    state = configured(state, &cfg)?;
    // What it runs, recorded: `ward config check --server` compares it with the file on disk.
    state.loaded_config = std::sync::Arc::new(
        ward_app::ops::record_config_loaded(
            &ctx.ledger,
            &crate::context::local_operator(),
            &ward_app::ops::config_digest(config_bytes.as_deref()),
            config_path.as_deref(),
        )
        .await
        .map_err(crate::failure::api_failure)?,
    );
    // The local runtime: routers bound, current releases started, unfinished rollouts resumed.
    let engine = crate::backend::rollout_engine(&state.ward, g.data_dir.clone());
    engine.start().await.map_err(|e| {
        Failure::new(
            "runtime_failed",
            e,
            "check [environments.runtime] in ward.toml (free ports, the artifact directory)",
        )
    })?;
    state = state.with_rollouts(engine.clone());
    if !cfg.oidc.is_empty() {
        let verifier = ward_server::oidc::Verifier::new(cfg.oidc.clone()).await.map_err(|e| {
            Failure::new(
                "bad_config",
                e.to_string(),
                "check the [[oidc]] section of the configuration",
            )
        })?;
        state = state.with_oidc(verifier);
    }
    let tls_files = match (&a.tls_cert, &a.tls_key) {
        (Some(c), Some(k)) => Some((c.clone(), k.clone())),
        _ => cfg.server.tls_cert.clone().zip(cfg.server.tls_key.clone()),
    };
    let tls = match &tls_files {
        Some((c, k)) => Some(ward_server::tls::load(c, k).map_err(|e| {
            Failure::new(
                "bad_tls",
                e.to_string(),
                "pass a PEM certificate chain and its private key",
            )
        })?),
        None => None,
    };
    let listen = a
        .listen
        .clone()
        .or(cfg.server.listen.clone())
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listener = tokio::net::TcpListener::bind(&listen).await.map_err(|e| {
        Failure::new(
            "cannot_listen",
            format!("cannot listen on {listen}: {e}"),
            "pick a free address with --listen (WARD_LISTEN)",
        )
    })?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    // One line on stdout that scripts (and tests) can wait for.
    println!(
        "ward serving log {} on {scheme}://{addr} ({}{})",
        ctx.origin,
        ctx.ledger.store().backend(),
        if cfg.oidc.is_empty() {
            String::new()
        } else {
            format!(", {} OIDC provider(s)", cfg.oidc.len())
        }
    );
    let live = ward_server::LiveRouter::new(state.clone());
    tokio::spawn(watch_config(
        g.clone(),
        a.config.clone(),
        Reloadable {
            live: live.clone(),
            state,
            engine,
            config: cfg,
        },
    ));
    match tls {
        Some(config) => ward_server::tls::serve_live(listener, live, config, shutdown_signal()).await?,
        None => ward_server::serve_live(listener, live, shutdown_signal()).await?,
    }
    Ok(())
}

/// `state` with the parts `ward.toml` decides set from `cfg` (what a reload replaces): its
/// Ward configured as local mode configures one ([`configure`]).
fn configured(mut state: AppState, cfg: &ServerConfig) -> Result<AppState> {
    state.ward = configure(&state.ward, cfg)?;
    Ok(state)
}

/// What a running server reloads: the router it serves, the state and configuration it runs,
/// and the rollout engine that decides by the same rules.
struct Reloadable {
    live: ward_server::LiveRouter,
    state: AppState,
    engine: Arc<ward_rollout::Engine>,
    config: ServerConfig,
}

/// How often `ward serve` looks at `ward.toml` for a change (besides SIGHUP).
const CONFIG_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Reloads `ward.toml` on SIGHUP and when its bytes change (polled every [`CONFIG_POLL`]).
/// Each new file is validated as at start; an invalid one is refused and logged (stderr and the
/// log's tracing) and the running configuration kept; one that changes `[server]`, `[[oidc]]` or
/// `[[environments]]` is refused too (they are bound at start: restart `ward serve`). An
/// accepted one is recorded as `config.loaded` with its digest and serves every later request.
async fn watch_config(g: Global, explicit: Option<std::path::PathBuf>, mut running: Reloadable) {
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + CONFIG_POLL, CONFIG_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The digest last judged (running or refused): a refused file is reported once, not every poll.
    let mut judged = running.state.loaded_config.digest.clone();
    loop {
        #[cfg(unix)]
        let signalled = match hup.as_mut() {
            Some(hup) => tokio::select! {
                _ = hup.recv() => true,
                _ = tick.tick() => false,
            },
            None => {
                tick.tick().await;
                false
            }
        };
        #[cfg(not(unix))]
        let signalled = {
            tick.tick().await;
            false
        };
        let digest = match config_source(&g, explicit.as_deref()) {
            Ok((_, bytes)) => ward_app::ops::config_digest(bytes.as_deref()),
            Err(e) => {
                if signalled || judged != "unreadable" {
                    eprintln!(
                        "config reload refused: {e}; still running {}",
                        running.state.loaded_config.digest
                    );
                }
                judged = "unreadable".into();
                continue;
            }
        };
        if digest == running.state.loaded_config.digest {
            if signalled {
                eprintln!("config unchanged ({digest})");
            }
            judged = digest;
            continue;
        }
        if digest == judged && !signalled {
            continue;
        }
        judged = digest.clone();
        match reload(&g, explicit.as_deref(), &running, &digest).await {
            Ok(next) => {
                running.live.replace(next.state.clone());
                eprintln!(
                    "config reloaded: {} (entry {})",
                    next.state.loaded_config.digest, next.state.loaded_config.seq
                );
                running = next;
            }
            Err(e) => {
                eprintln!(
                    "config reload refused: {e:#}; still running {}",
                    running.state.loaded_config.digest
                );
            }
        }
    }
}

/// Validates the configuration file as at start and builds the state it gives; records
/// `config.loaded`. `digest` is what the poll read: the file is read once more, and parsed only
/// when those bytes have that digest (a file that changed in between is refused until the next
/// poll), so the digest recorded is the digest of what runs.
async fn reload(
    g: &Global,
    explicit: Option<&std::path::Path>,
    running: &Reloadable,
    digest: &str,
) -> Result<Reloadable> {
    // The bytes whose digest is recorded are the bytes parsed (one read).
    let (path, bytes) = config_source(g, explicit)?;
    if ward_app::ops::config_digest(bytes.as_deref()) != digest {
        anyhow::bail!("the file changed while it was read");
    }
    let cfg = match (&path, &bytes) {
        (Some(p), Some(b)) => ServerConfig::parse(std::path::Path::new(p), b).map_err(|e| {
            anyhow::Error::from(Failure::new(
                "bad_config",
                e.to_string(),
                "fix the file where the message points (its format: docs/CLI.md), then check it again: ward config check",
            ))
        })?,
        _ => ServerConfig::default(),
    };
    let bound = |c: &ServerConfig| format!("{:?}{:?}{:?}", c.server, c.oidc, c.environments);
    if bound(&cfg) != bound(&running.config) {
        anyhow::bail!(
            "[server], [[oidc]] or [[environments]] changed: they are bound at start, restart ward serve to apply them"
        );
    }
    let mut state = configured(running.state.clone(), &cfg)?;
    state.loaded_config = Arc::new(
        ward_app::ops::record_config_loaded(
            &state.ledger,
            &crate::context::local_operator(),
            digest,
            path.as_deref(),
        )
        .await
        .map_err(crate::failure::api_failure)?,
    );
    // The environments are the same (above), so the engine takes the new rules.
    running
        .engine
        .reconfigure(state.gate.clone(), state.risk.clone(), state.approvals.clone())
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(Reloadable {
        live: running.live.clone(),
        state,
        engine: running.engine.clone(),
        config: cfg,
    })
}

/// What a passing state check covered.
pub struct Checked {
    /// Entries replayed.
    pub entries: u64,
    /// Projection documents compared.
    pub documents: u64,
    /// Blobs checked against their digests.
    pub blobs: u64,
    /// Time taken.
    pub seconds: f64,
}

/// Checks stored state against the log (`Ledger::check_state`: one read-only snapshot), records
/// the outcome in the metrics, and refuses (exit 3) when they differ.
pub async fn check_state(ledger: &ward_store::Ledger, metrics: &ward_server::metrics::Metrics) -> Result<Checked> {
    let started = std::time::Instant::now();
    let outcome = ledger.check_state().await;
    let seconds = started.elapsed().as_secs_f64();
    let now = jiff::Timestamp::now().as_second();
    let hint = "run `ward log fsck` on this store to list every difference; once you know who changed \
                the rows, `ward log rebuild-projections` derives the state tables again from the log \
                (altered evidence blobs cannot be derived: restore them from a backup)";
    let refuse = |message: String| -> anyhow::Error {
        Failure {
            hint: Some(hint.into()),
            kind: "state_mismatch".into(),
            ..Failure::verify(message)
        }
        .into()
    };
    match outcome {
        Ok(r) if r.ok() => {
            metrics.state_checked(true, now, seconds);
            Ok(Checked {
                entries: r.entries,
                documents: r.documents,
                blobs: r.blobs,
                seconds,
            })
        }
        Ok(r) => {
            metrics.state_checked(false, now, seconds);
            let first = r.differences.first().map(ToString::to_string).unwrap_or_default();
            Err(refuse(format!(
                "refusing to serve: stored state does not match the log ({} difference(s); first: {first})",
                r.difference_count
            )))
        }
        Err(ward_store::StoreError::Corrupt(m)) => {
            metrics.state_checked(false, now, seconds);
            Err(refuse(format!("refusing to serve: the log cannot be replayed: {m}")))
        }
        Err(e) => Err(e.into()),
    }
}

/// Checks state again every `every` while serving; a mismatch sets `ward_state_consistent` to 0
/// and is logged (the server keeps running: the metric is the alert).
async fn recheck_state(
    ledger: ward_store::Ledger,
    metrics: Arc<ward_server::metrics::Metrics>,
    every: std::time::Duration,
) {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = check_state(&ledger, &metrics).await {
            tracing::error!(error = %e, "stored state no longer matches the log; run `ward log fsck`");
            eprintln!("error: {e}");
        }
    }
}

/// Resolves at the first SIGINT or SIGTERM: the server stops taking requests and finishes the
/// ones in progress — a deployment runs its targets to its record, up to their time limit. A
/// second signal stops the process at once: a deployment still running is cut off (its targets
/// stop with this process, `promotion::target`'s watchdog), and the next deployment in its
/// environment records it as interrupted (CONTROLS rule 25).
async fn shutdown_signal() {
    signalled().await;
    eprintln!(
        "stopping: requests in progress finish first (a deployment runs its targets to its record); signal again to stop now"
    );
    tokio::spawn(async {
        signalled().await;
        eprintln!(
            "stopping now: a deployment still running is cut off (its targets stop with this process) and the next deployment in its environment records it as interrupted"
        );
        std::process::exit(1);
    });
}

/// The next SIGINT or SIGTERM.
async fn signalled() {
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
