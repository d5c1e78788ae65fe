//! Lists: an environment's deployments, the waivers (those expiring first), the break-glass
//! reviews (overdue first). Each reads through the ward-app service of the API route for the
//! same data, under its role (`ChangeRead`): `deployments::deployment_history`
//! (`GET /api/v1/environments/{env}/deployments`), `exceptions::waivers` per change and per
//! artifact (`GET /api/v1/changes/{id}/waivers`), `exceptions::breakglass`
//! (`GET /api/v1/reviews`); free text through `documents::shown`. Every row links to its change.

use super::pages::digest;
use super::{Viewer, failure, layout, page, permit, time, time_secs};
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::BTreeMap;
use ward_app::exceptions::{Breakglass, Waiver};

/// Deployments of an environment.
pub const DEPLOYMENTS: &str = "/ui/deployments";
/// Waivers, expiring first.
pub const WAIVERS: &str = "/ui/waivers";
/// Break-glass reviews, overdue first.
pub const REVIEWS: &str = "/ui/reviews";
/// Rows shown at most (the newest); the API has them all.
const MAX_ROWS: usize = 500;
/// A waiver expiring within this many days is flagged.
const SOON_DAYS: i64 = 14;

fn change_link(id: &str) -> Markup {
    html! { a href=(format!("/ui/changes/{id}")) { (id) } }
}

/// `?env=`.
#[derive(Deserialize)]
pub(super) struct EnvQuery {
    #[serde(default)]
    env: Option<String>,
}

/// `GET /ui/deployments?env=`: an environment's deployment records, newest first.
pub(super) async fn deployments(State(state): State<AppState>, viewer: Viewer, Query(q): Query<EnvQuery>) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", DEPLOYMENTS).await {
        return r;
    }
    let envs: Vec<String> = state.ward.environments().iter().map(|e| e.name.clone()).collect();
    let Some(env) = q.env.clone().filter(|e| !e.is_empty()).or_else(|| envs.last().cloned()) else {
        let body = html! {
            h1 { "Deployments" }
            p { "No environment is declared in ward.toml ([[environments]]): deployments are per environment." }
        };
        return page(&viewer, layout("Deployments", Some(&viewer), body));
    };
    let list = match state.ward.deployment_history(&env).await {
        Ok(l) => l,
        Err(e) => return failure(e),
    };
    let body = html! {
        h1 { "Deployments" }
        form.filters method="get" action=(DEPLOYMENTS) {
            label for="env" { "Environment" }
            select #env name="env" {
                @for e in &envs { option value=(e) selected[*e == env] { (e) } }
            }
            button type="submit" { "Show" }
        }
        p.muted { (list.len()) " deployment records in " (env) ", newest first"
            @if list.len() > MAX_ROWS { " (the " (MAX_ROWS) " newest shown; all of them: " code { "GET /api/v1/environments/" (env) "/deployments" } ")" } "." }
        @if list.is_empty() { p.muted { "Nothing deployed to " (env) " yet." } }
        @else {
            div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
                thead { tr {
                    th scope="col" { "Entry" } th scope="col" { "Time" } th scope="col" { "Change" } th scope="col" { "Artifacts" }
                    th scope="col" { "Tenants" } th scope="col" { "Status" } th scope="col" { "By" } th scope="col" { "Relied on" }
                } }
                tbody {
                    @for d in list.iter().rev().take(MAX_ROWS) {
                        tr {
                            td { (d.seq)
                                @if let Some(r) = d.rollback_of { div.muted { "rollback of " (r) } }
                                @if d.drill { div.muted { "drill" } } }
                            td { (time(&d.time)) }
                            td { (change_link(&d.change)) }
                            td { @for a in &d.digests { div { (digest(a)) } } }
                            td { @if d.tenants.is_empty() { span.muted { "—" } } @else { (d.tenants.join(", ")) }
                                 @if let Some(r) = &d.ring { div.muted { "ring " (r) } } }
                            td { @if d.status == "succeeded" { span.ok { (d.status) } } @else { span.bad { (d.status) } } }
                            td { (d.executed_by) }
                            td { "gate decision " (d.gate_decision)
                                 @if !d.approvals.is_empty() { div.muted { "approved by " (d.approvals.join(", ")) } }
                                 @if !d.excused_by.is_empty() { div.muted { "excused by " (d.excused_by.join(", ")) } } }
                        }
                    }
                }
            } }
        }
    };
    page(&viewer, layout("Deployments", Some(&viewer), body))
}

/// Every waiver, of every change and of every artifact a change ships (read as
/// `GET /api/v1/changes/{id}/waivers` reads them), each once.
async fn all_waivers(state: &AppState, now: i64) -> Result<Vec<(Waiver, Vec<String>)>, ward_app::AppError> {
    let changes = ward_app::changes::list(&state.ledger).await?;
    let mut by_id: BTreeMap<String, (Waiver, Vec<String>)> = BTreeMap::new();
    let mut scopes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &changes {
        scopes.entry(c.id.clone()).or_default().push(c.id.clone());
        for a in &c.request.artifacts {
            scopes.entry(a.clone()).or_default().push(c.id.clone());
        }
    }
    for (scope, changes) in scopes {
        for w in ward_app::exceptions::waivers(&state.ledger, &scope, now).await? {
            by_id.entry(w.id.clone()).or_insert_with(|| (w, changes.clone()));
        }
    }
    let (waivers, changes): (Vec<Waiver>, Vec<Vec<String>>) = by_id.into_values().unzip();
    let waivers: Vec<Waiver> = ward_app::documents::shown(&state.ledger, waivers).await?;
    Ok(waivers.into_iter().zip(changes).collect())
}

fn waiver_row(w: &Waiver, changes: &[String], now: i64) -> Markup {
    let left = w.expires_secs - now;
    html! {
        tr {
            td { code { (w.id) } @if w.stale { div.stale { "void: change edited since" } } }
            td {
                @if let Some(a) = &w.request.artifact { "artifact " (digest(a)) div.muted { "shipped by " @for c in changes { (change_link(c)) " " } } }
                @else { @for c in changes { (change_link(c)) } }
            }
            td { (w.request.rules.join(", ")) @if let Some(f) = &w.request.finding { div.muted { "finding " (f) } } }
            td { (w.request.justification) div.muted { "meanwhile: " (w.request.compensating_control) } }
            td { (w.request.owner) }
            td { (w.printed_name) div.muted { (w.approver) } }
            td {
                (time_secs(w.expires_secs))
                @if w.active && left < SOON_DAYS * 86_400 { div.pending { "in " (left / 86_400) " d " (left % 86_400 / 3_600) " h" } }
            }
        }
    }
}

fn waiver_table(rows: &[&(Waiver, Vec<String>)], now: i64) -> Markup {
    html! {
        div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
            thead { tr {
                th scope="col" { "Waiver" } th scope="col" { "Scope" } th scope="col" { "Rules" } th scope="col" { "Why" }
                th scope="col" { "Owner" } th scope="col" { "Granted by" } th scope="col" { "Expires" }
            } }
            tbody { @for (w, c) in rows { (waiver_row(w, c, now)) } }
        } }
    }
}

/// `GET /ui/waivers`: active waivers, those expiring first; then the recently expired.
pub(super) async fn waivers(State(state): State<AppState>, viewer: Viewer) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", WAIVERS).await {
        return r;
    }
    let now = jiff::Timestamp::now().as_second();
    let all = match all_waivers(&state, now).await {
        Ok(a) => a,
        Err(e) => return failure(e),
    };
    let mut active: Vec<&(Waiver, Vec<String>)> = all.iter().filter(|(w, _)| w.active).collect();
    active.sort_by_key(|(w, _)| w.expires_secs);
    let mut expired: Vec<&(Waiver, Vec<String>)> = all.iter().filter(|(w, _)| !w.active).collect();
    expired.sort_by_key(|(w, _)| std::cmp::Reverse(w.expires_secs));
    expired.truncate(MAX_ROWS);
    let soon = active
        .iter()
        .filter(|(w, _)| w.expires_secs - now < SOON_DAYS * 86_400)
        .count();
    let body = html! {
        h1 { "Waivers" }
        p { (active.len()) " active, " strong { (soon) " expiring within " (SOON_DAYS) " days" } "." }
        h2 { "Active, expiring first" }
        @if active.is_empty() { p.muted { "No active waiver." } } @else { (waiver_table(&active, now)) }
        h2 { "Expired" }
        @if expired.is_empty() { p.muted { "None." } } @else { (waiver_table(&expired, now)) }
    };
    page(&viewer, layout("Waivers", Some(&viewer), body))
}

fn review_rank(b: &Breakglass) -> u8 {
    match b.review.as_str() {
        "overdue" => 0,
        "open" => 1,
        _ => 2,
    }
}

/// `GET /ui/reviews`: every break-glass with its retrospective review, overdue first.
pub(super) async fn reviews(State(state): State<AppState>, viewer: Viewer) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", REVIEWS).await {
        return r;
    }
    let built = async {
        let list = state.ward.reviews(jiff::Timestamp::now().as_second()).await?;
        let list: Vec<Breakglass> = ward_app::documents::shown(&state.ledger, list).await?;
        Ok::<_, ward_app::AppError>(list)
    }
    .await;
    let mut list = match built {
        Ok(l) => l,
        Err(e) => return failure(e),
    };
    list.sort_by_key(|b| (review_rank(b), b.review_due_secs));
    let overdue = list.iter().filter(|b| b.review == "overdue").count();
    let body = html! {
        h1 { "Break-glass reviews" }
        p { strong { (overdue) " overdue" } ", " (list.iter().filter(|b| b.review == "open").count()) " open, "
            (list.iter().filter(|b| b.review == "closed").count()) " closed. A review closes with a current "
            code { "retrospective-review" } " signature on the change by someone other than who broke the glass, its opener and its authors." }
        @if list.is_empty() { p.muted { "No break-glass recorded." } }
        @else {
            div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
                thead { tr {
                    th scope="col" { "Break-glass" } th scope="col" { "Change" } th scope="col" { "Review" } th scope="col" { "Due" }
                    th scope="col" { "By" } th scope="col" { "When" } th scope="col" { "Rules bypassed" } th scope="col" { "Why" }
                } }
                tbody {
                    @for b in &list {
                        tr {
                            td { code { (b.id) } @if b.active { div.pending { "in force" } } @if b.stale { div.stale { "void: change edited since" } } }
                            td { (change_link(&b.request.change)) }
                            td { @match b.review.as_str() { "overdue" => span.bad { "overdue" }, "closed" => span.ok { "closed" }, other => span.pending { (other) } } }
                            td { (time_secs(b.review_due_secs)) }
                            td { (b.printed_name) div.muted { (b.by) } }
                            td { (time(&b.time)) }
                            td { (b.request.rules.join(", ")) }
                            td { (b.request.justification) }
                        }
                    }
                }
            } }
        }
    };
    page(&viewer, layout("Break-glass reviews", Some(&viewer), body))
}
