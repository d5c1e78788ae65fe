//! The route table and the handlers: thin wrappers over the application services (ward-app),
//! one file per resource (`log`, `changes`, `evidence`, `gate`, `promotion`, `rollouts`, `delivery`,
//! `identities`, `ops`); this module holds the table, the OpenAPI document and the router.
//!
//! The route table and its access rules are in [`crate::access`] (re-exported here).

pub use crate::access::{Access, ROUTES, RouteRule, rule_for};
use crate::auth::authorize;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Extension, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::{IntoParams, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use ward_app::identities::{CreatedToken, TokenRecord, TokenRequest, UserRecord, UserRequest};
use ward_app::ops::{Appended, ConsistencyProof, Entries, InclusionProof, LogStatus, SignedCheckpoint};
use ward_app::reauth::PresentedCredential;
use ward_core::Identity;
use ward_ledger::{ActorKind, NewEvent};

/// Largest request body by default (an event payload may be up to 4 MiB of canonical JSON).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// The request body limit: [`MAX_BODY`], or more when `[guard] max_file_bytes` allows evidence
/// files whose base64 form (plus the request's other fields) needs it.
pub fn body_limit(state: &AppState) -> usize {
    MAX_BODY.max(state.guard.max_file_bytes().div_ceil(3) * 4 + 64 * 1024)
}
pub use crate::layers::REQUEST_TIMEOUT;

mod bundles;
mod changes;
mod delivery;
mod evidence;
mod gate;
mod identities;
mod log;
mod ops;
mod promotion;
mod rollouts;

pub use self::bundles::*;
pub use self::changes::*;
pub use self::delivery::*;
pub use self::evidence::*;
pub use self::gate::*;
pub use self::identities::*;
pub use self::log::*;
pub use self::ops::*;
pub use self::promotion::*;
pub use self::rollouts::*;

#[derive(OpenApi)]
#[openapi(
    info(title = "Ward API", description = "Release governance for regulated software: the tamper-evident log, identities and access."),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document and the routes it describes.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
        .routes(routes!(sign_in, sign_out))
        .routes(routes!(device_start))
        .routes(routes!(device_token))
        .routes(routes!(whoami))
        .routes(routes!(loaded_config))
        .routes(routes!(log_status))
        .routes(routes!(get_checkpoint, create_checkpoint))
        .routes(routes!(inclusion_proof))
        .routes(routes!(consistency_proof))
        .routes(routes!(list_checkpoints))
        .routes(routes!(verifier_key))
        .routes(routes!(raw_entries))
        .routes(routes!(get_blob))
        .routes(routes!(get_document_bytes))
        .routes(routes!(export_bundle))
        .routes(routes!(export_population))
        .routes(routes!(audit_search))
        .routes(routes!(list_events, append_events))
        .routes(routes!(register_artifact))
        .routes(routes!(show_artifact))
        .routes(routes!(evidence_document))
        .routes(routes!(add_attestation))
        .routes(routes!(list_keys, trust_key))
        .routes(routes!(revoke_key))
        .routes(routes!(list_types, register_type))
        .routes(routes!(list_changes, open_change))
        .routes(routes!(show_change, update_change))
        .routes(routes!(change_overview))
        .routes(routes!(reclassify_change))
        .routes(routes!(list_approvals, sign_change))
        .routes(routes!(purge_document))
        .routes(routes!(find_documents))
        .routes(routes!(change_attestations))
        .routes(routes!(check_gate))
        .routes(routes!(list_waivers))
        .routes(routes!(grant_waiver))
        .routes(routes!(break_glass))
        .routes(routes!(list_reviews))
        .routes(routes!(promote))
        .routes(routes!(list_deployments))
        .routes(routes!(list_in_flight))
        .routes(routes!(show_deployment))
        .routes(routes!(deployment_output))
        .routes(routes!(rollback))
        .routes(routes!(observe))
        .routes(routes!(observe_runtime))
        .routes(routes!(start_rollout, list_rollouts))
        .routes(routes!(get_rollout))
        .routes(routes!(command_rollout))
        .routes(routes!(drill))
        .routes(routes!(publish_config, show_config))
        .routes(routes!(release_notes))
        .routes(routes!(dora_metrics))
        .routes(routes!(governance_metrics))
        .routes(routes!(dr_status))
        .routes(routes!(record_restore_test))
        .routes(routes!(explain_decision))
        .routes(routes!(replay_decision))
        .routes(routes!(decision_input))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(list_users, add_user))
        .routes(routes!(unlock_user))
        .routes(routes!(activate_user))
        .split_for_parts();
    let mut doc = doc;
    describe_responses(&mut doc);
    (router, doc)
}

/// The name of the one error schema every error response refers to (`{"error": {code, message,
/// hint}}`, [`ErrorBody`]).
pub const ERROR_SCHEMA: &str = "ErrorBody";

/// What an error status means in this API, for responses whose annotation gives no description.
fn error_description(status: &str) -> &'static str {
    match status {
        "400" => "Invalid request: the error names the field and how to fix it",
        "401" => {
            "Unauthenticated: no token, or one that is invalid, expired or revoked (or a failed re-authentication)"
        }
        "403" => "Forbidden: the caller's roles do not permit this action, or a control refused it",
        "404" => "Not found",
        "409" => "Conflict with what is already recorded",
        "413" => "Request body too large",
        "422" => "Refused: the request is well-formed but a rule or the guard refused it (nothing written)",
        "423" => "Locked: signing is locked for this person",
        "429" => "Too many failed attempts from this address",
        "500" => "Internal error (the details are in the server log only)",
        "502" => "The runtime or an upstream did not answer as expected",
        "503" => "Not ready, or the request ran past its time budget (nothing stored)",
        _ => "Error",
    }
}

/// Completes the generated document so that it is valid OpenAPI 3.1 and says what every
/// response is: a response without a description gets its operation's summary (success) or the
/// meaning of its status (error); every error response (4xx, 5xx) carries the one error schema
/// ([`ERROR_SCHEMA`], `application/json`); and every route that needs a token documents the
/// auth middleware's `401` and `403`.
fn describe_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            ("GET", &mut item.get),
            ("PUT", &mut item.put),
            ("POST", &mut item.post),
            ("DELETE", &mut item.delete),
            ("OPTIONS", &mut item.options),
            ("HEAD", &mut item.head),
            ("PATCH", &mut item.patch),
            ("TRACE", &mut item.trace),
        ];
        for (method, op) in operations {
            let Some(op) = op.as_mut() else { continue };
            let responses = &mut op.responses.responses;
            if matches!(rule_for(method, path), Some(Access::Requires(_))) {
                for status in ["401", "403"] {
                    responses
                        .entry(status.to_string())
                        .or_insert_with(|| RefOr::T(ResponseBuilder::new().build()));
                }
            }
            let summary = op
                .summary
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            for (status, response) in responses.iter_mut() {
                let RefOr::T(response) = response else { continue };
                let is_error = status.starts_with('4') || status.starts_with('5');
                if response.description.trim().is_empty() {
                    response.description = if is_error {
                        error_description(status).to_string()
                    } else if summary.is_empty() {
                        "Success".to_string()
                    } else {
                        summary.clone()
                    };
                }
                if is_error && response.content.is_empty() {
                    response.content.insert(
                        "application/json".into(),
                        RefOr::T(
                            ContentBuilder::new()
                                .schema(Some(Ref::from_schema_name(ERROR_SCHEMA)))
                                .build(),
                        ),
                    );
                }
            }
        }
    }
}

/// The complete application: routes, authorisation, metrics, limits and security headers.
pub fn router(state: AppState) -> Router {
    let (routes, _) = api();
    let state_for_ui = state.clone();
    let security_headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
    ];
    let mut app = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), authorize))
        .layer(middleware::from_fn(timeout))
        .layer(DefaultBodyLimit::max(body_limit(&state)))
        .layer(middleware::from_fn(json_errors))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| ApiError::internal("a handler panicked").into_response(),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), track))
        .with_state(state);
    for (name, value) in security_headers {
        app = app.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    app.merge(crate::ui::router(state_for_ui))
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route", "see GET /api/v1/openapi.json for the API")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not accept that method",
        "see GET /api/v1/openapi.json for the API",
    )
}

/// Turns any error response that is not already JSON (axum's extractor rejections, the body
/// limit) into the `{code, message, hint}` body, keeping its status.
async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let text = match axum::body::to_bytes(resp.into_body(), 4096).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let (code, hint) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("too_large", format!("send at most {MAX_BODY} bytes")),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "send `Content-Type: application/json`".into())
        }
        StatusCode::UNPROCESSABLE_ENTITY | StatusCode::BAD_REQUEST => (
            "invalid_request",
            "check the request against GET /api/v1/openapi.json".into(),
        ),
        s if s.is_server_error() => (
            "internal",
            "retry; if it persists, the server log has the details".into(),
        ),
        _ => ("request_refused", "see GET /api/v1/openapi.json".into()),
    };
    let message = if text.is_empty() || status.is_server_error() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        // An extractor's rejection repeats what it could not read (a field's path, a field, a
        // value): kept out, as every refusal keeps out what it refused. What is left says
        // which part of the request and where.
        let place = text.rfind(" at line ").map_or("", |i| &text[i..]);
        match text.split_once(": ") {
            Some((what, _)) if !what.is_empty() => format!("{what}{place}"),
            _ => ward_app::freetext::quotes_withheld(&text),
        }
        .chars()
        .take(300)
        .collect()
    };
    ApiError::new(status, code, message, hint).into_response()
}

pub(crate) use crate::layers::{timeout, track};
