//! `ward slo status`: each `[[slo]]` objective of ward.toml judged now, as the gate judges it —
//! the same Prometheus queries and the same burn-rate rule — so a release manager sees a freeze
//! before the gate reports it, and why.

use crate::cli::{Global, SloStatusArgs};
use crate::output::emit;
use anyhow::Result;
use serde_json::json;

/// Prints every objective's state (filtered by service and environment); exits 1 with
/// `unknown_environment` or `no_objective` when the filter names nothing declared.
pub async fn status(g: &Global, a: &SloStatusArgs) -> Result<()> {
    let cfg = crate::backend::load_config(g, None)?;
    if let Some(env) = &a.env
        && !cfg.environments.iter().any(|e| &e.name == env)
    {
        return Err(crate::failure::Failure::new(
            "unknown_environment",
            format!("{} is not a declared environment", ward_app::identifier::named(env)),
            ward_app::environment::undeclared_hint(&cfg.environments, env),
        )
        .into());
    }
    let mut states = Vec::new();
    for o in &cfg.slo {
        if a.service.as_ref().is_some_and(|s| s != &o.service) {
            continue;
        }
        for env in o.environments.iter().filter(|e| a.env.as_ref().is_none_or(|x| x == *e)) {
            states.extend(
                ward_app::slo::states(
                    &ward_rollout::samples(),
                    std::slice::from_ref(o),
                    std::slice::from_ref(&o.service),
                    env,
                )
                .await,
            );
        }
    }
    if states.is_empty() {
        return Err(crate::failure::Failure::new(
            "no_objective",
            "no [[slo]] objective matches",
            "declare one in ward.toml: [[slo]] service, environments, prometheus, query (with [{{window}}]), objective",
        )
        .into());
    }
    let frozen = states.iter().filter(|s| s.state != "ok").count();
    emit(g.output, json!({ "objectives": states, "frozen": frozen }), || {
        let mut s = String::new();
        for st in &states {
            s.push_str(&format!("{:<8} {}\n", st.state.to_uppercase(), st.reason));
            for al in &st.alerts {
                let rate = |x: Option<f64>| x.map_or_else(|| "?".to_string(), |x| format!("{x:.1}×"));
                s.push_str(&format!(
                    "         {} over {} and {} over {} (fires at {}×){}\n",
                    rate(al.long_burn),
                    al.long,
                    rate(al.short_burn),
                    al.short,
                    al.burn_rate,
                    if al.firing { " FIRING" } else { "" }
                ));
            }
        }
        if frozen > 0 {
            s.push_str(&format!(
                "{frozen} objective(s) freeze deployments: the gate blocks normal changes of the service there (slo.error_budget / slo.unknown); emergency changes pass, marked\n"
            ));
        }
        s
    });
    Ok(())
}
