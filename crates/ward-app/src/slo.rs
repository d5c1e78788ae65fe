//! Error-budget state read from Prometheus at gate time: the I/O around
//! [`ward_core::slo::judge`]. Every window of every alert of each objective that gates one of
//! the change's services in the environment is asked once; the judged states go into the gate
//! input (`input.slo`), so a decision replays without Prometheus.

use ward_core::slo::{Objective, Reading, SloState, judge};

/// The states of the objectives that gate deployments of any of `services` into `environment`.
pub async fn states(objectives: &[Objective], services: &[String], environment: &str) -> Vec<SloState> {
    let mut out = Vec::new();
    for o in objectives
        .iter()
        .filter(|o| services.iter().any(|s| o.applies(s, environment)))
    {
        let mut readings = Vec::with_capacity(o.alerts.len());
        for a in &o.alerts {
            let long = read(o, environment, &a.long).await;
            let short = read(o, environment, &a.short).await;
            readings.push((long, short));
        }
        out.push(judge(o, environment, &readings));
    }
    out
}

/// The error ratio over `window`. `NaN` — a ratio over a window without requests — is passed
/// on for the judge (no requests); an empty answer (no series: a wrong query, or metrics not
/// scraped) cannot be judged.
async fn read(o: &Objective, environment: &str, window: &str) -> Reading {
    match ward_runtime::prometheus::query_sample(&o.prometheus, &o.render(environment, window)).await {
        Ok(Some(x)) => Ok(x),
        Ok(None) => Err("Prometheus returned no series for the query".into()),
        Err(e) => Err(e),
    }
}
