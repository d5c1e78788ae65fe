//! `ward metrics dora` and `ward metrics governance`: figures read off the log, locally or
//! through a server.

use crate::backend::Backend;
use crate::cli::{DoraArgs, Global, GovernanceArgs};
use crate::failure::api_failure;
use crate::output::{emit, period_end, when_text};
use anyhow::Result;
use serde_json::json;
use ward_app::metrics::{self, DoraReport, GovernanceReport, Metric};

/// A duration for people: `8 h 0 min`, `10 min 5 s`, `2 d 3 h`, `12.3 s`, `850 ms`.
fn duration(secs: f64) -> String {
    let secs = secs.max(0.0);
    // Zero is what a figure measured in whole seconds (approval latency) gives within a second.
    if secs == 0.0 {
        return "0 s".into();
    }
    if secs < 0.01 {
        return format!("{:.2} ms", secs * 1000.0);
    }
    if secs < 1.0 {
        return format!("{} ms", (secs * 1000.0).round());
    }
    if secs < 10.0 {
        return format!("{secs:.1} s");
    }
    let s = secs.round() as u64;
    if s >= 2 * 86_400 {
        format!("{} d {} h", s / 86_400, s % 86_400 / 3_600)
    } else if s >= 3_600 {
        format!("{} h {} min", s / 3_600, s % 3_600 / 60)
    } else if s >= 60 {
        format!("{} min {} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

fn value(m: &Metric) -> String {
    match (m.value, m.unit.as_str()) {
        (None, _) => "no sample".into(),
        (Some(v), "per_day") => format!("{v:.2} per day"),
        (Some(v), "seconds") => duration(v),
        (Some(v), "ratio") => format!("{:.1}%", v * 100.0),
        (Some(v), "count") => format!("{v}"),
        (Some(v), _) => format!("{v}"),
    }
}

fn label(name: &str) -> &str {
    match name {
        "deployment_frequency" => "deployment frequency",
        "change_lead_time" => "change lead time",
        "change_fail_rate" => "change fail rate",
        "failed_deployment_recovery_time" => "failed deployment recovery time",
        "deployment_rework_rate" => "deployment rework rate",
        "approval_latency" => "approval latency (open → quorum)",
        "deployments_under_waiver" => "deployments under a waiver",
        "deployments_under_breakglass" => "deployments under break-glass",
        "overdue_reviews" => "overdue break-glass reviews",
        "evidence_complete_at_deployment" => "evidence complete at deployment",
        "rollback_drill_age" => "time since the last drill",
        "rollback_drill_time_to_restore" => "last drill's time to restore",
        "automated_rollback_time_to_stable" => "automated rollback to stable",
        other => other,
    }
}

/// The report as text: one line per metric, and with `--explain` the entries under each.
pub fn text(r: &DoraReport, now: i64) -> String {
    let at = |t: &str| when_text(t, now);
    let mut s = format!(
        "DORA metrics for {} ({}), from {} to {}\n",
        r.environment,
        r.service
            .as_deref()
            .map_or("all services".to_string(), |x| format!("service {x}")),
        at(&r.from),
        period_end(&r.to, now)
    );
    s.push_str(&lines(&r.metrics, now));
    s.push_str(&format!(
        "  (an emergency change within {} of a deployment fails it; definitions and bands: docs/METRICS.md)",
        duration(r.emergency_window_secs as f64)
    ));
    s
}

/// One line per metric (value, samples, band) and, explained, the entries under each.
fn lines(metrics: &[Metric], now: i64) -> String {
    let at = |t: &str| when_text(t, now);
    let mut s = String::new();
    for m in metrics {
        let band = match m.band {
            Some(b) => serde_json::to_value(b)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            None if m.name == "deployment_rework_rate" => "(DORA publishes no band)".into(),
            None => "-".into(),
        };
        s.push_str(&format!(
            "  {:<33} {:<16} {:>6} sample{}  {band}\n",
            label(&m.name),
            value(m),
            m.samples,
            if m.samples == 1 { " " } else { "s" },
        ));
        for e in m.entries.iter().flatten() {
            s.push_str(&format!(
                "      entry {:<8} {:<20} {}  {}\n",
                e.seq,
                e.kind,
                at(&e.time),
                e.what
            ));
        }
    }
    s
}

/// `ward metrics governance`.
pub async fn governance(g: &Global, a: &GovernanceArgs) -> Result<()> {
    let now = jiff::Timestamp::now().as_second();
    let req =
        metrics::request(&a.env, None, a.from.as_deref(), a.to.as_deref(), a.explain, now).map_err(api_failure)?;
    let report: GovernanceReport = Backend::from_global(g)?.governance(&req).await?;
    emit(g.output, json!(report), || {
        let at = |t: &str| when_text(t, now);
        format!(
            "Governance metrics for {}, from {} to {}\n{}  (definitions: docs/METRICS.md)",
            report.environment,
            at(&report.from),
            period_end(&report.to, now),
            lines(&report.metrics, now)
        )
    });
    Ok(())
}

/// `ward metrics dora`.
pub async fn dora(g: &Global, a: &DoraArgs) -> Result<()> {
    let now = jiff::Timestamp::now().as_second();
    let req = metrics::request(
        &a.env,
        a.service.as_deref(),
        a.from.as_deref(),
        a.to.as_deref(),
        a.explain,
        now,
    )
    .map_err(api_failure)?;
    let report: DoraReport = Backend::from_global(g)?.dora(&req).await?;
    emit(g.output, json!(report), || text(&report, now));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_in_the_largest_units() {
        assert_eq!(duration(0.4), "400 ms");
        assert_eq!(duration(0.0), "0 s");
        assert_eq!(duration(0.000_065_7), "0.07 ms");
        assert_eq!(duration(2.25), "2.2 s");
        assert_eq!(duration(12.4), "12 s");
        assert_eq!(duration(605.0), "10 min 5 s");
        assert_eq!(duration(8.0 * 3_600.0), "8 h 0 min");
        assert_eq!(duration(2.0 * 86_400.0 + 3.0 * 3_600.0), "2 d 3 h");
    }
}
