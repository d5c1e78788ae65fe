//! Rollouts: the list, one rollout live, and the operator's actions.
//!
//! The pages read through `rollout::history` and `rollout::get` with `documents::shown`, as
//! `GET /api/v1/rollouts` and `GET /api/v1/rollouts/{id}` do, under the same role
//! (`ChangeRead`). A rollout's page shows its steps with the traffic split of each, every
//! analysis with the subject it measured (the canary, or one tenant) and its sample count, and
//! the moment of an automated rollback with its time to stable. Without JavaScript it is the
//! state when loaded, with a refresh link; with the vendored script (`live.js`) the region
//! marked `data-live` follows `GET /ui/rollouts/{id}/events`, server-sent events each carrying
//! the region re-rendered (by the same function, escaped by maud) after a new log entry of the
//! rollout. The stream reads the log (no second source of truth) and ends when the rollout
//! finishes, when the browser goes, or after [`STREAM_LIFETIME`] with `event: again`: the page
//! reconnects if the person used it since (a key, the pointer, scrolling), so an unattended page
//! does not renew its session's idle clock once a minute for ever. Every [`RECHECK`] the stream
//! checks its session again the way a page does (`super::session`: expiry, revocation, the idle
//! clock) but without renewing the idle clock, and ends with `event: signed-out` once the
//! session is signed out, revoked, expired or idle: an open stream outlives no session.
//!
//! The operator's actions (pause, resume, promote, abort) are POST forms with the CSRF token,
//! shown to and accepted from roles that permit `Promote` — the API's rule for
//! `POST /api/v1/rollouts/{id}/{command}` — and carried out by the same `Engine::command`.

use super::pages::digest;
use super::{CSRF_FIELD, Viewer, failure, layout, message_page, page, permit, refused, time};
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use ward_core::Action;

/// The list of rollouts.
pub const LIST: &str = "/ui/rollouts";
/// One rollout.
pub const ONE: &str = "/ui/rollouts/{id}";
/// Its live stream (server-sent events).
pub const EVENTS: &str = "/ui/rollouts/{id}/events";
/// An operator's command (`pause`, `resume`, `promote`, `abort`).
pub const COMMAND: &str = "/ui/rollouts/{id}/{command}";
/// How often the stream looks for new entries of the rollout.
const POLL: Duration = Duration::from_millis(400);
/// How long one stream lasts before the page is asked to reconnect (bounds what a forgotten tab
/// holds, how long a shutdown waits for it, and how often a watched page renews its session).
const STREAM_LIFETIME: Duration = Duration::from_secs(60);
/// A comment line this often keeps proxies from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often an open stream checks that its session is still valid (not renewing it).
const RECHECK: Duration = Duration::from_secs(5);

/// `?env=`.
#[derive(Deserialize)]
pub(super) struct EnvQuery {
    #[serde(default)]
    env: Option<String>,
}

fn status_class(status: &str) -> &'static str {
    match status {
        "completed" => "ok",
        "failed" | "aborted" | "halted" => "bad",
        _ => "pending",
    }
}

fn status(status: &str) -> Markup {
    html! { span class=(status_class(status)) { (status) } }
}

fn started_at(r: &ward_app::rollout::Rollout) -> Markup {
    match r.events.first() {
        Some(e) => time(&e.time),
        None => html! {},
    }
}

/// `GET /ui/rollouts`: every rollout, newest first.
pub(super) async fn list(State(state): State<AppState>, viewer: Viewer, Query(q): Query<EnvQuery>) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", LIST).await {
        return r;
    }
    let env = q.env.as_deref().filter(|e| !e.is_empty());
    let built = async {
        let list = state.ward.rollouts(env).await?;
        let list: Vec<ward_app::rollout::Rollout> = ward_app::documents::shown(&state.ledger, list).await?;
        Ok::<_, ward_app::AppError>(list)
    }
    .await;
    let list = match built {
        Ok(l) => l,
        Err(e) => return failure(e),
    };
    let body = html! {
        h1 { "Rollouts" }
        form.filters method="get" action=(LIST) {
            label for="env" { "Environment" }
            select #env name="env" {
                option value="" { "all environments" }
                @for e in state.ward.environments() {
                    option value=(e.name) selected[env == Some(e.name.as_str())] { (e.name) }
                }
            }
            button type="submit" { "Show" }
        }
        (super::release::drill_actions(
            state.ward.environments(),
            viewer.identity.may(ward_core::Action::Promote).then_some(viewer.csrf.as_str()),
        ))
        @if list.is_empty() { p.muted { "No rollouts yet: start one from a change's page (Release), or " code { "ward rollout start --change ID --env ENV" } "." } }
        @else {
            div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
                thead { tr {
                    th scope="col" { "Rollout" } th scope="col" { "Change" } th scope="col" { "Environment" }
                    th scope="col" { "Strategy" } th scope="col" { "Status" } th scope="col" { "Step" }
                    th scope="col" { "Started" } th scope="col" { "Time to stable" }
                } }
                tbody {
                    @for r in list.iter().rev() {
                        tr {
                            td { a href=(format!("/ui/rollouts/{}", r.id)) { (r.id) } }
                            td { a href=(format!("/ui/changes/{}", r.change)) { (r.change) } }
                            td { (r.environment) }
                            td { (strategy_kind(r)) }
                            td { (status(&r.status)) }
                            td { @if r.step >= r.plan.len() { "all " (r.plan.len()) } @else { (r.step + 1) " of " (r.plan.len()) } }
                            td { (started_at(r)) }
                            td { @if let Some(ms) = r.time_to_stable_ms { (ms_text(ms)) } @else { span.muted { "—" } } }
                        }
                    }
                }
            } }
        }
    };
    page(&viewer, layout("Rollouts", Some(&viewer), body))
}

/// Milliseconds, with a decimal below 10 (a route swap takes well under one).
fn ms_text(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

fn strategy_kind(r: &ward_app::rollout::Rollout) -> String {
    serde_json::to_value(r.strategy.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A rollout as the API shows it, or 404.
async fn load(state: &AppState, id: &str) -> Result<ward_app::rollout::Rollout, ward_app::AppError> {
    let r = ward_app::rollout::get(&state.ledger, id).await?.ok_or_else(|| {
        ward_app::AppError::not_found(
            format!("no rollout {}", ward_app::identifier::shown(id)),
            "see the list of rollouts at /ui/rollouts",
        )
    })?;
    ward_app::documents::shown(&state.ledger, r).await
}

/// `GET /ui/rollouts/{id}`: the rollout now, and (with the script) live.
pub(super) async fn one(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", ONE).await {
        return r;
    }
    let r = match load(&state, &id).await {
        Ok(r) => r,
        Err(e) => return failure(e),
    };
    let csrf = viewer.identity.may(Action::Promote).then_some(viewer.csrf.as_str());
    let body = html! {
        h1 { "Rollout " (r.id) }
        dl.facts {
            dt { "Change" } dd { a href=(format!("/ui/changes/{}", r.change)) { (r.change) } }
            dt { "Environment" } dd { (r.environment) }
            dt { "New version" } dd { (digest(&r.digest)) }
            dt { "Stable version" } dd { @if let Some(s) = &r.stable_digest { (digest(s)) } @else { span.muted { "none (first release)" } } }
            dt { "Strategy" } dd { (strategy_kind(&r)) }
            dt { "Started" } dd { (started_at(&r)) " by " (r.started_by) }
            dt { "Gate decision" } dd { (r.gate_decision) @if !r.approvals.is_empty() { " — approved by " (r.approvals.join(", ")) } }
            @if let Some(t) = r.tier { dt { "Tier" } dd { (t.as_str()) } }
        }
        p #live-state.muted role="status" {
            @if r.finished() { "Finished: this is its final state." }
            @else { "The state when this page was loaded. " a href=(format!("/ui/rollouts/{}", r.id)) { "Refresh" } }
        }
        // A finished rollout is not followed: nothing more will be recorded.
        div #live data-live=[(!r.finished()).then(|| format!("/ui/rollouts/{}/events", r.id))] {
            (live(&r))
        }
        (operator_form(&r, csrf))
    };
    page(&viewer, layout(&format!("Rollout {}", r.id), Some(&viewer), body))
}

/// The state of step `i` (pure).
fn step_state(r: &ward_app::rollout::Rollout, i: usize) -> (&'static str, &'static str) {
    if r.skipped.iter().any(|s| s.step == i) {
        return ("skipped", "pending");
    }
    if r.status == "completed" || i < r.step {
        return ("passed", "ok");
    }
    if i == r.step {
        return match r.status.as_str() {
            "running" => ("current", "pending"),
            "paused" => ("paused", "pending"),
            "halted" => ("halted: back on stable", "bad"),
            "failed" => ("rolled back", "bad"),
            "aborted" => ("aborted", "bad"),
            _ => ("current", "pending"),
        };
    }
    if r.finished() {
        ("not reached", "muted")
    } else {
        ("to come", "muted")
    }
}

fn traffic(step: &ward_app::rollout::Step) -> Markup {
    let canary = step.percent.min(100);
    html! {
        span.split {
            "new " strong { (canary) "%" } " · stable " (100 - canary) "%"
        }
        @if !step.tenants.is_empty() { div.muted { "pinned to the new version: " (step.tenants.join(", ")) } }
        @if step.by_request { div.muted { "split by request (no tenant hashes into the share)" } }
    }
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

/// One analysis (a verdict with its measurement), as a table row.
fn analysis_row(e: &ward_app::rollout::RolloutEvent, verdict: &Value) -> Markup {
    let m = verdict.get("measurement").cloned().unwrap_or(Value::Null);
    let result = verdict.get("verdict").and_then(Value::as_str).unwrap_or("?");
    let class = match result {
        "pass" => "ok",
        "fail" => "bad",
        _ => "pending",
    };
    let ms = |k: &str| num(&m, k).map(|v| format!("{v:.0} ms"));
    html! {
        tr {
            td { (e.seq) }
            td { (time(&e.time)) }
            td { @if let Some(s) = e.payload.get("step").and_then(Value::as_u64) { (s + 1) } }
            td { (m.get("subject").and_then(Value::as_str).unwrap_or("canary")) }
            td { span class=(class) { (result) } }
            td { (m.get("requests").and_then(Value::as_u64).unwrap_or(0)) }
            td { (m.get("errors").and_then(Value::as_u64).unwrap_or(0)) }
            td { @if let Some(r) = num(&m, "error_rate") { (format!("{:.2}%", r * 100.0)) } }
            td { (ms("p95_ms").unwrap_or_default()) @if let Some(s) = ms("stable_p95_ms") { span.muted { " (stable " (s) ")" } } }
            td { @if let Some(r) = verdict.get("reason").and_then(Value::as_str) { (r) } }
        }
    }
}

/// What an event says, in a few words.
fn event_text(e: &ward_app::rollout::RolloutEvent) -> String {
    let p = &e.payload;
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let by = p
        .get("by")
        .and_then(Value::as_str)
        .map(|b| format!(" by {b}"))
        .unwrap_or_default();
    let why = p
        .get("operator_reason")
        .and_then(Value::as_str)
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    match e.kind.as_str() {
        "rollout.started" => format!("started by {}", s("started_by")),
        "rollout.step" => format!(
            "step {} ({}): new version takes {}%",
            p.get("step").and_then(Value::as_u64).unwrap_or(0) + 1,
            s("label"),
            p.get("percent").and_then(Value::as_u64).unwrap_or(0)
        ),
        "rollout.analysis" => {
            let v = p.get("verdict").cloned().unwrap_or(Value::Null);
            format!(
                "analysis: {} ({} requests)",
                v.get("verdict").and_then(Value::as_str).unwrap_or("?"),
                v.pointer("/measurement/requests").and_then(Value::as_u64).unwrap_or(0)
            )
        }
        "rollout.paused" => format!("paused{by}: {}{why}", s("reason")),
        "rollout.resumed" => format!("resumed{by}{why}"),
        "rollout.step_skipped" => format!("remaining steps skipped (promoted){by}{why}"),
        "rollout.halted" => format!("ring halted, its tenants back on stable: {}", s("reason")),
        "rollout.rolled_back" => format!("rolled back{by}: {}{why}", s("reason")),
        "rollout.completed" => "completed: the new version is stable".into(),
        other => other.trim_start_matches("rollout.").replace('_', " "),
    }
}

/// The live region: status, steps with their traffic split, analyses, the rollback moment,
/// the events and (for operators) the actions. Rendered for the page and for every event of
/// the stream.
fn live(r: &ward_app::rollout::Rollout) -> Markup {
    let analyses: Vec<(&ward_app::rollout::RolloutEvent, &Value)> = r
        .events
        .iter()
        .filter_map(|e| e.payload.get("verdict").filter(|v| v.is_object()).map(|v| (e, v)))
        .collect();
    let rollback = r
        .events
        .iter()
        .rev()
        .find(|e| e.kind == "rollout.rolled_back" || e.kind == "rollout.halted");
    html! {
        p.rollout-status {
            "Status: " strong { (status(&r.status)) }
            @if r.step >= r.plan.len() { ", all " (r.plan.len()) " steps" } @else { ", step " (r.step + 1) " of " (r.plan.len()) }
            @if r.promoted { " — promoted by an operator" }
            @if let Some(reason) = &r.reason { " — " (reason) }
        }
        @if let Some(e) = rollback {
            div.rollback role="alert" {
                p {
                    strong { @if e.kind == "rollout.halted" { "Ring halted" } @else if r.status == "aborted" { "Aborted" } @else { "Automated rollback" } }
                    " at " (time(&e.time)) " (log entry " (e.seq) "): "
                    (e.payload.get("reason").and_then(Value::as_str).unwrap_or("no reason recorded"))
                }
                @if let Some(ms) = e.payload.get("time_to_stable_ms").and_then(Value::as_f64) {
                    p { "All traffic back on stable " strong { (ms_text(ms)) } " after the breaching measurement." }
                }
            }
        }
        h2 { "Steps" }
        div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
            thead { tr { th scope="col" { "#" } th scope="col" { "Step" } th scope="col" { "Traffic split" } th scope="col" { "State" } } }
            tbody {
                @for (i, s) in r.plan.iter().enumerate() {
                    @let (state, class) = step_state(r, i);
                    tr {
                        td { (i + 1) }
                        td { (s.label) }
                        td { (traffic(s)) }
                        td { span class=(class) { (state) } }
                    }
                }
            }
        } }
        h2 { "Analyses" }
        @if analyses.is_empty() { p.muted { "No analysis recorded yet." } }
        @else {
            div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
                thead { tr {
                    th scope="col" { "Entry" } th scope="col" { "Time" } th scope="col" { "Step" } th scope="col" { "Measured" }
                    th scope="col" { "Verdict" } th scope="col" { "Requests" } th scope="col" { "Errors" } th scope="col" { "Error rate" }
                    th scope="col" { "p95" } th scope="col" { "Reason" }
                } }
                tbody { @for (e, v) in &analyses { (analysis_row(e, v)) } }
            } }
        }
        h2 { "Events" }
        ol.events {
            @for e in &r.events {
                li { code { (e.seq) } " " (time(&e.time)) " " code { (e.kind) } " — " (event_text(e)) }
            }
        }
    }
}

/// The operator's actions, for a viewer whose roles permit them (`csrf`) while the rollout runs.
/// Outside the live region, so a reason being typed survives the region's updates (the script
/// hides the form once the stream says the rollout has finished).
fn operator_form(r: &ward_app::rollout::Rollout, csrf: Option<&str>) -> Markup {
    let id = &r.id;
    html! {
        @if let (Some(csrf), false) = (csrf, r.finished()) {
            section #operator aria-labelledby="operator-title" {
                h2 #operator-title { "Operator actions" }
                form.operator method="post" action=(format!("/ui/rollouts/{id}/pause")) {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    label for="reason" { "Reason (recorded; required to promote a high-tier change)" }
                    input #reason type="text" name="reason" maxlength="4000";
                    div.actions {
                        button type="submit" formaction=(format!("/ui/rollouts/{id}/pause")) { "Pause" }
                        button type="submit" formaction=(format!("/ui/rollouts/{id}/resume")) { "Resume" }
                        button type="submit" formaction=(format!("/ui/rollouts/{id}/promote")) { "Promote (skip the remaining steps)" }
                        button.danger type="submit" formaction=(format!("/ui/rollouts/{id}/abort")) { "Abort (roll back now)" }
                    }
                }
            }
        }
    }
}

/// One server-sent event: `event`, `id`, and `data` one line per line of `data`.
fn sse(event: &str, id: Option<u64>, data: &str) -> Bytes {
    let mut out = format!("event: {event}\n");
    if let Some(id) = id {
        out.push_str(&format!("id: {id}\n"));
    }
    for line in data.split('\n') {
        out.push_str("data: ");
        out.push_str(line.trim_end_matches('\r'));
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

/// A response body fed by a channel (the stream's task sends; the body ends when it stops).
struct Channel(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for Channel {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(hyper::body::Frame::data(b))))
    }
}

/// `GET /ui/rollouts/{id}/events`: the live region re-rendered after each new log entry of the
/// rollout (`event: rollout`), then `event: end` once it has finished, or `event: signed-out`
/// once its session no longer holds.
pub(super) async fn events(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", EVENTS).await {
        return r;
    }
    let secret = viewer.secret().to_string();
    let token_id = ward_core::token::ApiToken::parse(&secret)
        .map(|t| t.id)
        .unwrap_or_default();
    let first = match load(&state, &id).await {
        Ok(r) => r,
        Err(e) => return failure(e),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(4);
    tokio::spawn(async move {
        let started = tokio::time::Instant::now();
        let mut quiet_since = started;
        let mut checked = started;
        let mut shown = 0usize;
        let mut r = first;
        if tx.send(Bytes::from_static(b"retry: 2000\n\n")).await.is_err() {
            return;
        }
        loop {
            if r.events.len() != shown {
                shown = r.events.len();
                let html = live(&r).into_string();
                if tx
                    .send(sse("rollout", r.events.last().map(|e| e.seq), &html))
                    .await
                    .is_err()
                {
                    return;
                }
                quiet_since = tokio::time::Instant::now();
            }
            if r.finished() {
                let _ = tx.send(sse("end", None, &r.status)).await;
                return;
            }
            if tx.is_closed() {
                return;
            }
            if started.elapsed() >= STREAM_LIFETIME {
                // The page reconnects only if the person used it meanwhile (live.js): an
                // unattended page does not keep its session from idling out.
                let _ = tx.send(sse("again", None, "")).await;
                return;
            }
            if checked.elapsed() >= RECHECK {
                checked = tokio::time::Instant::now();
                match super::session(&state, &secret, &token_id, super::Use::Recheck).await {
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        let _ = tx.send(sse("signed-out", None, "")).await;
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(rollout = %id, error = %e.message, "the live rollout stream stopped");
                        // `again`, not a dropped connection: the browser would reconnect on its
                        // own and renew the idle clock with nobody at the page.
                        let _ = tx.send(sse("again", None, "")).await;
                        return;
                    }
                }
            }
            if quiet_since.elapsed() >= KEEP_ALIVE {
                if tx.send(Bytes::from_static(b": keep-alive\n\n")).await.is_err() {
                    return;
                }
                quiet_since = tokio::time::Instant::now();
            }
            tokio::time::sleep(POLL).await;
            match load(&state, &id).await {
                Ok(now) => r = now,
                Err(e) => {
                    tracing::warn!(rollout = %id, error = %e.message, "the live rollout stream stopped");
                    let _ = tx.send(sse("again", None, "")).await;
                    return;
                }
            }
        }
    });
    let mut resp = Body::new(Channel(rx)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

/// The operator's form: CSRF token and an optional reason.
#[derive(Deserialize)]
pub(super) struct CommandForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `POST /ui/rollouts/{id}/{command}`: the API's `Engine::command`, under the API's role; back to
/// the rollout's page.
pub(super) async fn command(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, command)): Path<(String, String)>,
    Form(form): Form<CommandForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return refused("This form's CSRF token is missing or wrong: reload the page and try again.");
    }
    if let Err(r) = permit(&state, &viewer, "POST", COMMAND).await {
        return r;
    }
    let Ok(cmd) = serde_json::from_value::<ward_app::rollout::Command>(serde_json::json!(command)) else {
        return message_page(
            StatusCode::BAD_REQUEST,
            "Unknown operator action",
            "Use pause, resume, promote or abort.",
        );
    };
    let Some(engine) = state.rollouts.as_ref() else {
        return message_page(
            StatusCode::CONFLICT,
            "This server runs no local runtime",
            "Declare [environments.runtime] in ward.toml (ward config check shows it), then restart `ward serve`.",
        );
    };
    let reason = Some(form.reason.trim()).filter(|r| !r.is_empty());
    match engine.command(&viewer.identity, &id, cmd, reason).await {
        Ok(r) => Redirect::to(&format!("/ui/rollouts/{}", r.id)).into_response(),
        Err(e) => failure(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rollout(status: &str, step: usize, skipped: &[usize]) -> ward_app::rollout::Rollout {
        let mut r: ward_app::rollout::Rollout = serde_json::from_value(json!({
            "id": "RO-1", "change": "CHG-1", "environment": "prod", "digest": "sha256:aa",
            "strategy": {"kind": "canary"},
            "plan": [{"label": "10%", "percent": 10}, {"label": "50%", "percent": 50}, {"label": "100%", "percent": 100}],
            "status": status, "step": step, "gate_decision": 1, "approvals": [], "started_by": "user:rita", "events": [],
        }))
        .expect("rollout");
        r.skipped = skipped
            .iter()
            .map(|&s| ward_app::rollout::SkippedStep {
                step: s,
                label: String::new(),
                by: "user:rita".into(),
                reason: None,
            })
            .collect();
        r
    }

    #[test]
    fn each_step_shows_passed_current_rolled_back_skipped_or_not_reached() {
        let running = rollout("running", 1, &[]);
        assert_eq!(step_state(&running, 0).0, "passed");
        assert_eq!(step_state(&running, 1).0, "current");
        assert_eq!(step_state(&running, 2).0, "to come");
        let failed = rollout("failed", 1, &[]);
        assert_eq!(step_state(&failed, 1).0, "rolled back");
        assert_eq!(step_state(&failed, 2).0, "not reached");
        let promoted = rollout("completed", 3, &[1, 2]);
        assert_eq!(step_state(&promoted, 0).0, "passed");
        assert_eq!(
            step_state(&promoted, 1).0,
            "skipped",
            "a skipped step is never shown as passed"
        );
    }

    #[test]
    fn an_event_line_carries_every_line_of_its_data() {
        let e = sse("rollout", Some(7), "<p>a</p>\n<p>b</p>\r");
        assert_eq!(&e[..], b"event: rollout\nid: 7\ndata: <p>a</p>\ndata: <p>b</p>\n\n");
    }

    #[test]
    fn the_operator_forms_are_shown_only_to_operators_and_only_while_it_runs() {
        let r = rollout("running", 1, &[]);
        let with = operator_form(&r, Some("tok")).into_string();
        assert!(with.contains("/ui/rollouts/RO-1/abort") && with.contains("value=\"tok\""));
        let without = operator_form(&r, None).into_string();
        assert!(!without.contains("<form"), "{without}");
        let done = operator_form(&rollout("completed", 3, &[]), Some("tok")).into_string();
        let region = live(&r).into_string();
        assert!(!region.contains("<form"), "the live region holds no form: {region}");
        assert!(!done.contains("<form"), "{done}");
    }
}
