//! `ward dr status` and `ward dr restore-test`: disaster-recovery readiness as the gate judges
//! it (the same evidence from the log, the same rules of `[[services]]` and `[dr]`), and the
//! signed record of a restore test.

use crate::backend::Backend;
use crate::cli::{DrRestoreTestArgs, DrStatusArgs, Global};
use crate::failure::Failure;
use crate::output::{emit, when};
use anyhow::Result;
use serde_json::json;
use ward_app::dr::DrStatus;
use ward_core::dr::fmt_span;

/// Exit code when `ward dr status` finds a service that is not ready.
pub const EXIT_NOT_READY: i32 = 10;

/// Prints each service's readiness (as before a high-risk change: the drill rule included);
/// exits [`EXIT_NOT_READY`] when any service is not ready.
pub async fn status(g: &Global, a: &DrStatusArgs) -> Result<()> {
    let now = jiff::Timestamp::now().as_second();
    let st: DrStatus = Backend::from_global(g)?
        .dr_status(a.service.as_deref(), a.env.as_deref(), now)
        .await?;
    let (env, states) = (&st.environment, &st.services);
    let not_ready = states.iter().filter(|s| !s.ready).count();
    emit(g.output, json!(st), || {
        let mut s = String::new();
        for st in states {
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
                    |b| format!("last backup {}", when(b, now)),
                );
                let test = match (store.last_restore_test, store.restore_secs) {
                    (Some(t), Some(d)) => {
                        format!("restore test {}, took {}", when(t, now), fmt_span(d as i64))
                    }
                    _ => "no restore test".to_string(),
                };
                s.push_str(&format!("          store {}: {backup}; {test}\n", store.store));
            }
            let drill = st.last_drill.map_or_else(|| "none".to_string(), |d| when(d, now));
            s.push_str(&format!("          rollback drill in {env}: {drill}\n"));
            for gap in &st.gaps {
                s.push_str(&format!("          - {} ({})\n", gap.reason, gap.rule));
            }
        }
        if not_ready > 0 {
            s.push_str(&format!(
                    "{not_ready} service(s) not ready: the gate blocks their normal changes (dr.readiness) where [dr] environments says; emergency changes pass, marked. A drill gap applies to high-risk changes only.\n"
                ));
        }
        s
    });
    if not_ready > 0 {
        std::process::exit(EXIT_NOT_READY);
    }
    Ok(())
}

/// A span like `25m`, `2h`, `90s` or `1d`, in seconds.
fn duration_secs(text: &str) -> Option<u64> {
    ward_core::slo::window_seconds(text.trim())
}

/// Records a restore test signed by a person: locally `--as USER` with their password
/// (`WARD_PASSWORD` or `--password-stdin`); through `--server`, the token's person re-authenticates.
pub async fn restore_test(g: &Global, a: &DrRestoreTestArgs) -> Result<()> {
    let duration_secs = duration_secs(&a.duration).ok_or_else(|| {
        Failure::new(
            "invalid_request",
            format!(
                "--duration {} is not a span like 25m, 2h or 90s",
                ward_app::identifier::shown(&a.duration)
            ),
            "pass how long the restore took, e.g. --duration 25m",
        )
    })?;
    let req = ward_app::dr::RestoreTestRequest {
        store: a.store.clone(),
        finished: a.finished.clone(),
        duration_secs,
        checked: a.checked.clone(),
        password: crate::context::password(g)?,
        reauth_token: std::env::var("WARD_REAUTH_TOKEN").ok().filter(|t| !t.is_empty()),
    };
    let rec: ward_app::dr::RestoreTestRecord = Backend::from_global(g)?.restore_test(&req).await?;
    emit(g.output, json!(rec), || {
        format!(
            "restore test of {} recorded (entry {}): finished {}, took {}, signed by {} ({}, {})",
            rec.store,
            rec.seq,
            rec.finished,
            fmt_span(rec.duration_secs as i64),
            rec.printed_name,
            rec.signer,
            rec.reauth
        )
    });
    Ok(())
}
