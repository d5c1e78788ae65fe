//! Error-budget state read from Prometheus at gate time: the I/O around
//! [`ward_core::slo::judge`]. Every window of every alert of each objective that gates one of
//! the change's services in the environment is asked once; the judged states go into the gate
//! input (`input.slo`), so a decision replays without Prometheus.
//!
//! Prometheus itself is outside: ward-app asks it through the [`SampleSource`] port, which an
//! adapter implements (`ward_rollout::Prometheus`). Without one every window is unknown, so a
//! gate that depends on an error budget blocks (fail closed).

use std::sync::Arc;
use ward_core::slo::{Objective, Reading, SloState, judge};

/// The port to a metrics backend: the first sample of one instant query.
#[async_trait::async_trait]
pub trait SampleSource: Send + Sync {
    /// The first sample of `promql`'s answer from the server at `base_url` (`None` for an empty
    /// answer; `NaN` passed on), or why it could not be read.
    async fn query_sample(&self, base_url: &str, promql: &str) -> Result<Option<f64>, String>;
}

/// The sample source the gate reads error budgets through, when one is wired in.
#[derive(Clone, Default)]
pub struct Samples(pub Option<Arc<dyn SampleSource>>);

impl Samples {
    /// Reads through `source`.
    pub fn from(source: Arc<dyn SampleSource>) -> Samples {
        Samples(Some(source))
    }
}

impl std::fmt::Debug for Samples {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "Samples(wired)"
        } else {
            "Samples(none)"
        })
    }
}

/// The states of the objectives that gate deployments of any of `services` into `environment`.
pub async fn states(
    samples: &Samples,
    objectives: &[Objective],
    services: &[String],
    environment: &str,
) -> Vec<SloState> {
    let mut out = Vec::new();
    for o in objectives
        .iter()
        .filter(|o| services.iter().any(|s| o.applies(s, environment)))
    {
        // Every window of every alert at once: an unreachable Prometheus costs one 5 s deadline
        // per objective, not one per window.
        let mut asked = tokio::task::JoinSet::new();
        for (i, a) in o.alerts.iter().enumerate() {
            for (long, window) in [(true, a.long.clone()), (false, a.short.clone())] {
                let (o, environment, samples) = (o.clone(), environment.to_string(), samples.clone());
                asked.spawn(async move { (i, long, read(&samples, &o, &environment, &window).await) });
            }
        }
        let unasked = || Err("not asked".to_string());
        let mut readings: Vec<(Reading, Reading)> = o.alerts.iter().map(|_| (unasked(), unasked())).collect();
        while let Some(done) = asked.join_next().await {
            match done {
                Ok((i, true, r)) => readings[i].0 = r,
                Ok((i, false, r)) => readings[i].1 = r,
                // A read that did not finish leaves its window "not asked": unknown, never ok.
                Err(_) => {}
            }
        }
        out.push(judge(o, environment, &readings));
    }
    out
}

/// The error ratio over `window`. `NaN` — a ratio over a window without requests — is passed
/// on for the judge (no requests); an empty answer (no series: a wrong query, or metrics not
/// scraped) cannot be judged.
async fn read(samples: &Samples, o: &Objective, environment: &str, window: &str) -> Reading {
    let Some(source) = &samples.0 else {
        return Err("no metrics reader is wired into this Ward process".into());
    };
    match source.query_sample(&o.prometheus, &o.render(environment, window)).await {
        Ok(Some(x)) => Ok(x),
        Ok(None) => Err("Prometheus returned no series for the query".into()),
        Err(e) => Err(e),
    }
}
