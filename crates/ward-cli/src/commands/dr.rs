//! `ward dr status` and `ward dr restore-test`: disaster-recovery readiness as the gate judges
//! it (the same evidence from the log, the same rules of `[[services]]` and `[dr]`), and the
//! signed record of a restore test.

use crate::cli::{DrRestoreTestArgs, DrStatusArgs, Global};
use crate::context::{Context, local_operator};
use crate::failure::{Failure, api_failure};
use crate::output::{emit, when};
use anyhow::Result;
use serde_json::json;
use ward_core::dr::fmt_span;

/// Exit code when `ward dr status` finds a service that is not ready.
pub const EXIT_NOT_READY: i32 = 10;

fn local_only(what: &str) -> anyhow::Error {
    Failure::new(
        "local_only",
        format!("ward dr {what} reads the store, not through --server"),
        "run it on the Ward host",
    )
    .into()
}

/// Prints each service's readiness (as before a high-risk change: the drill rule included);
/// exits [`EXIT_NOT_READY`] when any service is not ready.
pub async fn status(g: &Global, a: &DrStatusArgs) -> Result<()> {
    if g.server.is_some() {
        return Err(local_only("status"));
    }
    let cfg = crate::commands::serve::load_config(g, None)?;
    let policy = cfg.dr_policy();
    if policy.services.is_empty() {
        return Err(Failure::new(
            "no_inventory",
            "ward.toml declares no [[services]]",
            "declare each service's tier, rpo, rto and stores: [[services]] name, tier, rpo, rto, stores",
        )
        .into());
    }
    let env = match &a.env {
        Some(e) => e.clone(),
        None => policy
            .rules
            .environments
            .first()
            .cloned()
            .unwrap_or_else(|| "prod".into()),
    };
    let mut rules = policy.clone();
    // Judged for `env` whatever `[dr] environments` says: status shows, the gate decides where.
    rules.rules.environments = vec![env.clone()];
    let only = a.service.clone().map(|s| vec![s]);
    let ctx = Context::open(g).await?;
    let now = jiff::Timestamp::now().as_second();
    let states = ward_app::dr::states(&ctx.ledger, &rules, only.as_deref(), &env, true, now)
        .await
        .map_err(api_failure)?;
    if states.is_empty() {
        return Err(Failure::new(
            "no_service",
            format!(
                "no [[services]] entry named {}",
                a.service.as_deref().unwrap_or_default()
            ),
            "list the inventory in ward.toml ([[services]] name)",
        )
        .into());
    }
    let not_ready = states.iter().filter(|s| !s.ready).count();
    emit(
        g.output,
        json!({ "environment": env, "services": states, "not_ready": not_ready }),
        || {
            let mut s = String::new();
            for st in &states {
                s.push_str(&format!(
                    "{:<9} {} ({} tier, RPO {}, RTO {})\n",
                    if st.ready { "READY" } else { "NOT READY" },
                    st.service,
                    st.tier,
                    st.rpo,
                    st.rto
                ));
                for store in &st.stores {
                    let backup = store.last_backup.map_or_else(
                        || "no successful backup".to_string(),
                        |b| format!("last backup {} ago ({})", fmt_span(now - b), when(b, now)),
                    );
                    let test = match (store.last_restore_test, store.restore_secs) {
                        (Some(t), Some(d)) => {
                            format!("restore test {} ago, took {}", fmt_span(now - t), fmt_span(d as i64))
                        }
                        _ => "no restore test".to_string(),
                    };
                    s.push_str(&format!("          store {}: {backup}; {test}\n", store.store));
                }
                let drill = st
                    .last_drill
                    .map_or_else(|| "none".to_string(), |d| format!("{} ago", fmt_span(now - d)));
                s.push_str(&format!("          rollback drill in {env}: {drill}\n"));
                for gap in &st.gaps {
                    s.push_str(&format!("          - {} ({})\n", gap.reason, gap.rule));
                }
            }
            if not_ready > 0 {
                s.push_str(&format!(
                    "{not_ready} service(s) not ready: the gate blocks their normal changes into {} (dr.readiness); emergency changes pass, marked. A drill gap applies to high-risk changes only.\n",
                    policy.rules.environments.join(", ")
                ));
            }
            s
        },
    );
    if not_ready > 0 {
        std::process::exit(EXIT_NOT_READY);
    }
    Ok(())
}

/// A span like `25m`, `2h`, `90s` or `1d`, in seconds.
fn duration_secs(text: &str) -> Option<u64> {
    ward_core::slo::window_seconds(text.trim())
}

/// Records a restore test signed as the local operator (a person).
pub async fn restore_test(g: &Global, a: &DrRestoreTestArgs) -> Result<()> {
    if g.server.is_some() {
        return Err(local_only("restore-test"));
    }
    let duration_secs = duration_secs(&a.duration).ok_or_else(|| {
        Failure::new(
            "invalid_request",
            format!("--duration {:?} is not a span like 25m, 2h or 90s", a.duration),
            "pass how long the restore took, e.g. --duration 25m",
        )
    })?;
    let req = ward_app::dr::RestoreTestRequest {
        store: a.store.clone(),
        finished: a.finished.clone(),
        duration_secs,
        checked: a.checked.clone(),
    };
    let ctx = Context::open(g).await?;
    let now = jiff::Timestamp::now().as_second();
    let rec = ward_app::dr::record_restore_test(&ctx.ledger, &local_operator(), &req, now)
        .await
        .map_err(api_failure)?;
    let rec = ward_server::documents::shown(&ctx.ledger, rec)
        .await
        .map_err(api_failure)?;
    emit(g.output, json!(rec), || {
        format!(
            "restore test of {} recorded (entry {}): finished {}, took {}, signed by {}",
            rec.store,
            rec.seq,
            rec.finished,
            fmt_span(rec.duration_secs as i64),
            rec.signer
        )
    });
    Ok(())
}
