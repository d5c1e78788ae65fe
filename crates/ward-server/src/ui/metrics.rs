//! `GET /ui/metrics`: DORA's five figures and the governance figures of an environment over a
//! period, read through the same ward-app services and role (`MetricsRead`) as
//! `GET /api/v1/metrics/dora` and `/governance`. Every figure shows its sample size, its DORA band
//! where one is published, a bar drawn as inline SVG (no script), and — folded under it — the
//! log entries it was computed from (seq, kind, time, what), so a number can be traced to the
//! log (`ward log proof SEQ`).

use super::{Viewer, failure, layout, page, permit};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use ward_app::metrics::{self as delivery, Metric};

/// The page's route.
pub const METRICS_PAGE: &str = "/ui/metrics";
/// Entries listed under one figure (the rest counted).
const MAX_LISTED: usize = 200;

/// `?env=&from=&to=&service=`.
#[derive(Deserialize)]
pub(super) struct MetricsQuery {
    #[serde(default)]
    env: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    service: Option<String>,
}

fn value_text(m: &Metric) -> String {
    match (m.value, m.unit.as_str()) {
        (None, _) => "no sample".into(),
        (Some(v), "per_day") => format!("{v:.2} per day"),
        (Some(v), "ratio") => format!("{:.1}%", v * 100.0),
        (Some(v), "seconds") if v >= 86_400.0 => format!("{:.1} days", v / 86_400.0),
        (Some(v), "seconds") if v >= 3_600.0 => format!("{:.1} h", v / 3_600.0),
        (Some(v), "seconds") if v >= 60.0 => format!("{:.1} min", v / 60.0),
        (Some(v), "seconds") if v >= 1.0 => format!("{v:.1} s"),
        (Some(v), "seconds") => format!("{:.2} ms", v * 1000.0),
        (Some(v), _) => format!("{v}"),
    }
}

/// A ratio as a horizontal bar (0–100%); other units have no common scale and get none.
fn bar(m: &Metric) -> Markup {
    let Some(v) = m.value.filter(|_| m.unit == "ratio") else {
        return html! {};
    };
    let width = (v.clamp(0.0, 1.0) * 200.0).round();
    html! {
        svg width="204" height="14" viewBox="0 0 204 14" role="img" aria-label=(format!("{:.1}%", v * 100.0)) {
            rect x="0" y="1" width="204" height="12" fill="none" stroke="currentColor" {}
            rect x="2" y="3" width=(width) height="8" fill="currentColor" {}
        }
    }
}

/// `explain`: the `ward metrics … --explain` command that lists every entry.
fn figures(title: &str, explain: &str, metrics: &[Metric]) -> Markup {
    html! {
        h2 { (title) }
        div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
            thead { tr { th scope="col" { "Figure" } th scope="col" { "Value" } th scope="col" { "Chart" } th scope="col" { "Samples" } th scope="col" { "DORA band" } th scope="col" { "Log entries" } } }
            tbody {
                @for m in metrics {
                    tr {
                        td { code { (m.name) } }
                        td { strong { (value_text(m)) } }
                        td { (bar(m)) }
                        td { (m.samples) }
                        td { @match &m.band { Some(b) => { (serde_json::to_value(b).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) }, None => { span.muted { "—" } } } }
                        td {
                            @let entries = m.entries.as_deref().unwrap_or_default();
                            @if entries.is_empty() { span.muted { "none" } }
                            @else {
                                details {
                                    summary { (entries.len()) @if entries.len() == 1 { " entry" } @else { " entries" } }
                                    ul.plain {
                                        @for e in entries.iter().take(MAX_LISTED) {
                                            li { code { (e.seq) } " " (e.kind) " " (e.time) " — " (e.what) }
                                        }
                                        @if entries.len() > MAX_LISTED { li.muted { "… and " (entries.len() - MAX_LISTED) " more (" code { (explain) } ")" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        } }
    }
}

/// `GET /ui/metrics`.
pub(super) async fn metrics_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<MetricsQuery>,
) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", METRICS_PAGE).await {
        return r;
    }
    let envs: Vec<String> = state.ward.environments().iter().map(|e| e.name.clone()).collect();
    let Some(env) = q.env.clone().or_else(|| envs.last().cloned()) else {
        let body = html! {
            h1 { "Delivery metrics" }
            p { "No environment is declared in ward.toml ([[environments]]): metrics are per environment." }
        };
        return page(&viewer, layout("Delivery metrics", Some(&viewer), body));
    };
    let now = jiff::Timestamp::now().as_second();
    let built = async {
        let dora_req = delivery::request(
            &env,
            q.service.as_deref().filter(|s| !s.is_empty()),
            q.from.as_deref().filter(|s| !s.is_empty()),
            q.to.as_deref().filter(|s| !s.is_empty()),
            true,
            now,
        )?;
        let dora = state.ward.dora(&dora_req).await?;
        let gov_req = delivery::request(
            &env,
            None,
            q.from.as_deref().filter(|s| !s.is_empty()),
            q.to.as_deref().filter(|s| !s.is_empty()),
            true,
            now,
        )?;
        let governance = state.ward.governance(&gov_req).await?;
        Ok::<_, ward_app::AppError>((dora, governance))
    }
    .await;
    let (dora, governance) = match built {
        Ok(r) => r,
        Err(e) => return failure(e),
    };
    // The command that lists every entry of this page's figures, runnable as printed.
    let explain = |family: &str, service: Option<&str>| {
        let service = service
            .map(|s| format!(" --service {}", ward_core::shell::word(s)))
            .unwrap_or_default();
        format!(
            "ward metrics {family} --env {}{service} --from {} --to {} --explain",
            ward_core::shell::word(&dora.environment),
            ward_core::shell::word(&dora.from),
            ward_core::shell::word(&dora.to)
        )
    };
    let (dora_explain, governance_explain) = (explain("dora", dora.service.as_deref()), explain("governance", None));
    let body = html! {
        h1 { "Delivery metrics" }
        form.filters method="get" action=(METRICS_PAGE) {
            label for="env" { "Environment" }
            select #env name="env" {
                @for e in &envs { option value=(e) selected[*e == env] { (e) } }
            }
            label for="service" { "Service" }
            input #service type="text" name="service" value=(q.service.as_deref().unwrap_or_default());
            label for="from" { "From" }
            input #from type="text" name="from" value=(q.from.as_deref().unwrap_or_default()) placeholder="2026-11-01";
            label for="to" { "To" }
            input #to type="text" name="to" value=(q.to.as_deref().unwrap_or_default()) placeholder="now";
            button type="submit" { "Show" }
        }
        p.muted { (dora.environment) @if let Some(s) = &dora.service { ", service " (s) } ", from " (dora.from) " to " (dora.to)
            ". Definitions and bands: docs/METRICS.md. Each figure lists the log entries it was computed from (" code { "ward log proof --index SEQ" } " proves one; " code { (dora_explain) } " lists them all)." }
        (figures("DORA", &dora_explain, &dora.metrics))
        (figures("Governance", &governance_explain, &governance.metrics))
    };
    page(&viewer, layout("Delivery metrics", Some(&viewer), body))
}
