//! A release manager's actions on a change page and the rollouts page: check the gate, deploy to
//! an environment, start a rollout on its local runtime, and run a rollback drill.
//!
//! Each is a POST form with the session's CSRF token, shown to and accepted from the roles the
//! API route for the same action requires (`PAGES` ties each form to its API route; the route ×
//! role test checks they agree), refused and recorded as `access.denied` otherwise, and carried
//! out by the same ward-app call the API makes (`Ward::gate_check`, `Ward::promote`,
//! `Engine::begin`, `Engine::drill`) — so the gate, the promotion order, separation of duties and
//! every other rule apply unchanged. The answer is the change's (or the rollout's) page, where the
//! new decision, deployment or rollout is shown; a refusal is the API's error as a page, whose
//! link goes back to the change's gate decisions (or to the rollouts, for a drill).

use super::{CSRF_FIELD, Viewer, failure_back, layout, message_page, page, permit, refused};
use crate::state::AppState;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use ward_app::environment::Environment;

/// `POST`: the gate's decision for the change in one environment (`POST /api/v1/changes/{id}/gate`).
pub const GATE: &str = "/ui/changes/{id}/gate";
/// `POST`: deploy the change to one environment (`POST /api/v1/promotions`).
pub const PROMOTE: &str = "/ui/changes/{id}/promote";
/// `POST`: start a rollout of the change on an environment's local runtime (`POST /api/v1/rollouts`).
pub const ROLLOUT: &str = "/ui/changes/{id}/rollout";
/// `POST`: a rollback drill in one environment (`POST /api/v1/environments/{env}/drills`).
pub const DRILL: &str = "/ui/environments/{env}/drill";

/// A form naming an environment, with the session's CSRF token.
#[derive(Deserialize)]
pub(super) struct EnvForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    environment: String,
}

/// A drill form: the CSRF token and whether to stay on the previous release.
#[derive(Deserialize)]
pub(super) struct DrillForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    stay: Option<String>,
}

/// The environments a change may go to, in the order declared: the ones it names, or every
/// declared one when it names none.
fn targets<'e>(environments: &'e [Environment], named: &[String]) -> Vec<&'e Environment> {
    environments
        .iter()
        .filter(|e| named.is_empty() || named.iter().any(|n| n == &e.name))
        .collect()
}

/// The release section of a change page, for a viewer whose roles permit promotion (`csrf`).
pub(super) fn change_actions(
    change: &str,
    environments: &[Environment],
    named: &[String],
    csrf: Option<&str>,
    may_check: bool,
) -> Markup {
    let targets = targets(environments, named);
    html! {
        @if let Some(csrf) = csrf.filter(|_| !targets.is_empty()) {
            section #release aria-labelledby="release-title" {
                h2 #release-title { "Release" }
                p.muted { "Each action runs the gate first, in the environments' order; a refusal says why." }
                form.operator method="post" action=(GATE.replace("{id}", change)) {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    label for="release-env" { "Environment" }
                    select #release-env name="environment" {
                        @for e in &targets { option value=(e.name) { (e.name) } }
                    }
                    div.actions {
                        @if may_check {
                            button type="submit" formaction=(GATE.replace("{id}", change)) { "Check the gate" }
                        }
                        button type="submit" formaction=(PROMOTE.replace("{id}", change)) { "Deploy" }
                        @if targets.iter().any(|e| e.runtime.is_some()) {
                            button type="submit" formaction=(ROLLOUT.replace("{id}", change)) { "Start a rollout (local runtime)" }
                        }
                    }
                }
            }
        }
    }
}

/// The drill forms of the rollouts page: one per environment with a local runtime, for a viewer
/// whose roles permit promotion (`csrf`).
pub(super) fn drill_actions(environments: &[Environment], csrf: Option<&str>) -> Markup {
    html! {
        @if let Some(csrf) = csrf {
            @for e in environments.iter().filter(|e| e.runtime.is_some()) {
                form.operator method="post" action=(DRILL.replace("{env}", &e.name)) {
                    input type="hidden" name=(CSRF_FIELD) value=(csrf);
                    div.actions {
                        button type="submit" { "Rollback drill in " (e.name) }
                        label { input type="checkbox" name="stay" value="1"; " stay on the previous release afterwards" }
                    }
                }
            }
        }
    }
}

/// The checks every form here makes before anything happens: the CSRF token, then the role of
/// the API route (a refusal recorded).
async fn admitted(state: &AppState, viewer: &Viewer, csrf: &str, route: &str) -> Result<(), Response> {
    if !viewer.csrf_ok(csrf) {
        return Err(refused(
            "This form's CSRF token is missing or wrong: reload the page and try again.",
        ));
    }
    permit(state, viewer, "POST", route).await
}

/// [`admitted`], then the environment the form names (refused when it names none).
async fn admitted_to_environment(
    state: &AppState,
    viewer: &Viewer,
    form: EnvForm,
    route: &str,
) -> Result<String, Response> {
    admitted(state, viewer, &form.csrf, route).await?;
    if form.environment.is_empty() {
        return Err(message_page(
            StatusCode::BAD_REQUEST,
            "No environment chosen",
            "Choose the environment in the change's Release section.",
        ));
    }
    Ok(form.environment)
}

fn no_runtime() -> Response {
    message_page(
        StatusCode::CONFLICT,
        "This server runs no local runtime",
        "Declare [environments.runtime] in ward.toml (ward config check shows it), then restart `ward serve`.",
    )
}

fn back_to(change: &str, anchor: &str) -> Response {
    Redirect::to(&format!("/ui/changes/{change}#{anchor}")).into_response()
}

/// A refused action as a page whose way back is the change's gate decisions (a refusal by the
/// gate is recorded there, with each reason's fix).
fn refused_on(change: &str, e: ward_app::AppError) -> Response {
    failure_back(
        e,
        &format!("/ui/changes/{change}#decisions"),
        &format!("Back to {change}: its gate decisions and what fixes them"),
    )
}

/// `POST /ui/changes/{id}/gate`: `Ward::gate_check`, back to the change's decisions.
pub(super) async fn gate(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<EnvForm>,
) -> Response {
    let environment = match admitted_to_environment(&state, &viewer, form, GATE).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let req = ward_app::gate::CheckRequest::env(&environment);
    match state.ward.gate_check(&viewer.identity, &id, &req).await {
        Ok(_) => back_to(&id, "decisions"),
        Err(e) => refused_on(&id, e),
    }
}

/// `POST /ui/changes/{id}/promote`: `Ward::promote` (the gate, the environments' order, the
/// deployment target), back to the change's deployments.
pub(super) async fn promote(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<EnvForm>,
) -> Response {
    let environment = match admitted_to_environment(&state, &viewer, form, PROMOTE).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let req = ward_app::promotion::PromoteRequest {
        change: id.clone(),
        environment,
        tenants: vec![],
        ring: None,
    };
    let (ward, who) = (state.ward.clone(), viewer.identity.clone());
    match crate::layers::to_completion(async move { ward.promote(&who, &req).await }).await {
        Ok(_) => back_to(&id, "deployments"),
        Err(e) => refused_on(&id, e),
    }
}

/// `POST /ui/changes/{id}/rollout`: `Engine::begin` with the environment's strategy, on to the
/// rollout's live page.
pub(super) async fn rollout(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<EnvForm>,
) -> Response {
    let environment = match admitted_to_environment(&state, &viewer, form, ROLLOUT).await {
        Ok(e) => e,
        Err(r) => return r,
    };
    let Some(engine) = state.rollouts.as_ref() else {
        return no_runtime();
    };
    let req = ward_app::rollout::RolloutRequest {
        change: id.clone(),
        environment,
        strategy: None,
        kind: None,
        steps: None,
        pause_ms: None,
    };
    match engine.begin(&viewer.identity, &req).await {
        Ok(r) => Redirect::to(&format!("/ui/rollouts/{}", r.id)).into_response(),
        Err(e) => refused_on(&id, e),
    }
}

/// `POST /ui/environments/{env}/drill`: `Engine::drill`; the outcome as a page.
pub(super) async fn drill(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(env): Path<String>,
    Form(form): Form<DrillForm>,
) -> Response {
    if let Err(r) = admitted(&state, &viewer, &form.csrf, DRILL).await {
        return r;
    }
    let Some(engine) = state.rollouts.clone() else {
        return no_runtime();
    };
    let stay = form.stay.is_some_and(|s| !s.is_empty());
    let (who, on) = (viewer.identity.clone(), env.clone());
    match crate::layers::to_completion(async move { engine.drill(&who, &on, stay).await }).await {
        Ok(d) => {
            let text = |k: &str| d[k].as_str().unwrap_or("?").to_string();
            let ms = |v: &serde_json::Value| v.as_f64().map_or_else(|| "?".into(), |ms| format!("{ms:.1} ms"));
            let body = html! {
                h1 { "Rollback drill in " (env) }
                dl.facts {
                    dt { "Rolled back to" } dd { a href=(format!("/ui/changes/{}", text("change"))) { (text("change")) } }
                    dt { "Time to restore" } dd { (ms(&d["time_to_restore_ms"])) }
                    dt { "Every probe answered by it" } dd { (d["all_restored"].as_bool().unwrap_or(false)) }
                    dt { "Recorded" } dd { "log entry " (d["seq"]) }
                    dt { "Afterwards" } dd {
                        @if stay { "stays on the previous release (as asked)" }
                        @else {
                            "returned to " (d["returned"]["change"].as_str().unwrap_or("?"))
                            " in " (ms(&d["returned"]["time_ms"]))
                        }
                    }
                }
                p { a href="/ui/rollouts" { "Back to the rollouts" } }
            };
            page(&viewer, layout("Rollback drill", Some(&viewer), body))
        }
        Err(e) => failure_back(e, "/ui/rollouts", "Back to the rollouts"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str, runtime: bool) -> Environment {
        let mut e = Environment {
            name: name.into(),
            ..Default::default()
        };
        if runtime {
            e.runtime = serde_json::from_value(
                serde_json::json!({"listen": "127.0.0.1:1", "admin": "127.0.0.1:2", "artifacts": "/tmp"}),
            )
            .ok();
        }
        e
    }

    /// Attack on `4039005`: the web UI's drill was still cut off at the request timeout, its
    /// environment left on the previous release with no drill recorded. Every form that
    /// changes what runs is one of the routes that run to their record.
    #[test]
    fn the_forms_that_change_what_runs_are_not_cut_off_by_the_request_timeout() {
        for route in [PROMOTE, DRILL] {
            assert!(crate::layers::RUN_TO_THEIR_RECORD.contains(&route), "{route}");
        }
    }

    #[test]
    fn the_release_form_offers_the_changes_environments_to_a_release_manager_only() {
        let envs = [env("staging", false), env("prod", true)];
        let none = change_actions("CHG-1", &envs, &[], None, true).into_string();
        assert!(none.is_empty(), "no form without the right to promote: {none}");
        let all = change_actions("CHG-1", &envs, &[], Some("tok"), true).into_string();
        for expected in [
            "value=\"staging\"",
            "value=\"prod\"",
            "/ui/changes/CHG-1/promote",
            "/ui/changes/CHG-1/rollout",
            "value=\"tok\"",
        ] {
            assert!(all.contains(expected), "{expected} in {all}");
        }
        let staging_only = change_actions("CHG-1", &envs, &["staging".into()], Some("tok"), false).into_string();
        assert!(!staging_only.contains("value=\"prod\""), "{staging_only}");
        assert!(
            !staging_only.contains("/rollout"),
            "no rollout where no runtime: {staging_only}"
        );
        assert!(!staging_only.contains("Check the gate"), "{staging_only}");
        let drills = drill_actions(&envs, Some("tok")).into_string();
        assert!(
            drills.contains("/ui/environments/prod/drill") && !drills.contains("staging/drill"),
            "{drills}"
        );
    }
}
