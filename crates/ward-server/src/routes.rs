//! The route table and the handlers: thin wrappers over [`crate::ops`] and
//! [`crate::identities`].
//!
//! [`ROUTES`] names every route's method, path and [`Access`]; the auth middleware refuses any
//! route missing from it, and the route × role test checks the table against the OpenAPI
//! document generated from the handlers' annotations and against [`ward_core::Role::permits`].

use crate::approvals;
use crate::auth::authorize;
use crate::changes;
use crate::error::{ApiError, ErrorBody};
use crate::evidence;
use crate::exceptions;
use crate::gate;
use crate::identities::{self, CreatedToken, TokenRecord, TokenRequest, UserRecord, UserRequest};
use crate::keys;
use crate::metrics::RouteLabels;
use crate::ops::{self, Appended, ConsistencyProof, Entries, InclusionProof, LogStatus, SignedCheckpoint};
use crate::promotion;
use crate::reauth::PresentedCredential;
use crate::rollout;
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Extension, MatchedPath, Path, Query, Request, State};
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
use ward_core::{Action, Identity};
use ward_ledger::{ActorKind, NewEvent};

/// Largest request body by default (an event payload may be up to 4 MiB of canonical JSON).
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// The request body limit: [`MAX_BODY`], or more when `[guard] max_file_bytes` allows evidence
/// files whose base64 form (plus the request's other fields) needs it.
pub fn body_limit(state: &AppState) -> usize {
    MAX_BODY.max(state.guard.max_file_bytes().div_ceil(3) * 4 + 64 * 1024)
}
/// Longest a request may take: the work budget of the heaviest request, an attestation (the
/// domain owns the number; the HTTP layer enforces it).
pub const REQUEST_TIMEOUT: Duration = evidence::WORK_BUDGET;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, unauthenticated (health, metrics, the API document, sign-in).
    Public,
    /// An authenticated identity with a role that permits the action.
    Requires(Action),
}

/// One route's rule.
#[derive(Clone, Copy, Debug)]
pub struct RouteRule {
    /// HTTP method.
    pub method: &'static str,
    /// Path template as axum and OpenAPI write it.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
}

const fn rule(method: &'static str, path: &'static str, access: Access) -> RouteRule {
    RouteRule { method, path, access }
}

use Access::{Public, Requires};

/// Every route of the server and who may call it.
pub const ROUTES: &[RouteRule] = &[
    rule("GET", "/healthz", Public),
    rule("GET", "/readyz", Public),
    rule("GET", "/metrics", Public),
    rule("GET", "/api/v1/openapi.json", Public),
    rule("POST", "/api/v1/sessions", Public),
    rule("DELETE", "/api/v1/sessions", Requires(Action::WhoAmI)),
    rule("GET", "/api/v1/whoami", Requires(Action::WhoAmI)),
    rule("GET", "/api/v1/log", Requires(Action::LogRead)),
    rule("GET", "/api/v1/log/checkpoint", Requires(Action::LogRead)),
    rule("POST", "/api/v1/log/checkpoint", Requires(Action::CheckpointCreate)),
    rule("GET", "/api/v1/log/proof", Requires(Action::LogRead)),
    rule("GET", "/api/v1/log/consistency", Requires(Action::LogRead)),
    rule("GET", "/api/v1/log/checkpoints", Requires(Action::LogRead)),
    rule("GET", "/api/v1/log/key", Requires(Action::LogRead)),
    rule("GET", "/api/v1/log/entries", Requires(Action::LogExport)),
    rule("GET", "/api/v1/log/blobs/{digest}", Requires(Action::LogExport)),
    rule("GET", "/api/v1/log/documents/{digest}", Requires(Action::LogExport)),
    rule("POST", "/api/v1/artifacts", Requires(Action::EvidenceWrite)),
    rule("GET", "/api/v1/artifacts/{digest}", Requires(Action::EvidenceRead)),
    rule("POST", "/api/v1/attestations", Requires(Action::EvidenceWrite)),
    rule("GET", "/api/v1/keys", Requires(Action::TrustRead)),
    rule("POST", "/api/v1/keys", Requires(Action::TrustManage)),
    rule("DELETE", "/api/v1/keys/{keyid}", Requires(Action::TrustManage)),
    rule("GET", "/api/v1/attestation-types", Requires(Action::TrustRead)),
    rule("POST", "/api/v1/attestation-types", Requires(Action::TrustManage)),
    rule("GET", "/api/v1/changes", Requires(Action::ChangeRead)),
    rule("POST", "/api/v1/changes", Requires(Action::ChangeOpen)),
    rule("GET", "/api/v1/changes/{id}", Requires(Action::ChangeRead)),
    rule("PATCH", "/api/v1/changes/{id}", Requires(Action::ChangeOpen)),
    rule(
        "POST",
        "/api/v1/changes/{id}/classification",
        Requires(Action::ChangeClassify),
    ),
    rule("GET", "/api/v1/changes/{id}/approvals", Requires(Action::ChangeRead)),
    rule(
        "GET",
        "/api/v1/changes/{id}/attestations",
        Requires(Action::EvidenceRead),
    ),
    rule("POST", "/api/v1/changes/{id}/gate", Requires(Action::GateCheck)),
    rule("GET", "/api/v1/changes/{id}/waivers", Requires(Action::ChangeRead)),
    rule("POST", "/api/v1/waivers", Requires(Action::WaiverGrant)),
    rule("POST", "/api/v1/breakglass", Requires(Action::BreakGlass)),
    rule("GET", "/api/v1/reviews", Requires(Action::ChangeRead)),
    rule(
        "POST",
        "/api/v1/documents/{digest}/purge",
        Requires(Action::DocumentPurge),
    ),
    rule("POST", "/api/v1/promotions", Requires(Action::Promote)),
    rule("POST", "/api/v1/environments/{env}/rollback", Requires(Action::Promote)),
    rule(
        "PUT",
        "/api/v1/environments/{env}/config",
        Requires(Action::ConfigPublish),
    ),
    rule("GET", "/api/v1/environments/{env}/config", Requires(Action::ConfigRead)),
    rule(
        "POST",
        "/api/v1/environments/{env}/observations",
        Requires(Action::Observe),
    ),
    rule("POST", "/api/v1/observations", Requires(Action::Observe)),
    rule("POST", "/api/v1/rollouts", Requires(Action::Promote)),
    rule("GET", "/api/v1/rollouts", Requires(Action::ChangeRead)),
    rule("GET", "/api/v1/rollouts/{id}", Requires(Action::ChangeRead)),
    rule("POST", "/api/v1/rollouts/{id}/{command}", Requires(Action::Promote)),
    rule("POST", "/api/v1/environments/{env}/drills", Requires(Action::Promote)),
    rule(
        "GET",
        "/api/v1/environments/{env}/release-notes",
        Requires(Action::ChangeRead),
    ),
    rule(
        "GET",
        "/api/v1/environments/{env}/deployments",
        Requires(Action::ChangeRead),
    ),
    rule("GET", "/api/v1/gate/decisions/{id}", Requires(Action::ChangeRead)),
    rule(
        "GET",
        "/api/v1/gate/decisions/{id}/replay",
        Requires(Action::ChangeRead),
    ),
    rule(
        "POST",
        "/api/v1/changes/{id}/approvals",
        Requires(Action::ChangeApprove),
    ),
    rule("GET", "/api/v1/events", Requires(Action::EventRead)),
    rule("POST", "/api/v1/events", Requires(Action::EventAppend)),
    rule("GET", "/api/v1/tokens", Requires(Action::TokenManage)),
    rule("POST", "/api/v1/tokens", Requires(Action::TokenManage)),
    rule("DELETE", "/api/v1/tokens/{id}", Requires(Action::TokenManage)),
    rule("GET", "/api/v1/users", Requires(Action::UserManage)),
    rule("POST", "/api/v1/users", Requires(Action::UserManage)),
    rule("POST", "/api/v1/users/{name}/unlock", Requires(Action::UserManage)),
    rule("POST", "/api/v1/users/{name}/activate", Requires(Action::UserManage)),
];

/// The rule for a method and route template.
pub fn rule_for(method: &str, path: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .map(|r| r.access)
}

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
        .routes(routes!(whoami))
        .routes(routes!(log_status))
        .routes(routes!(get_checkpoint, create_checkpoint))
        .routes(routes!(inclusion_proof))
        .routes(routes!(consistency_proof))
        .routes(routes!(list_checkpoints))
        .routes(routes!(verifier_key))
        .routes(routes!(raw_entries))
        .routes(routes!(get_blob))
        .routes(routes!(get_document_bytes))
        .routes(routes!(list_events, append_events))
        .routes(routes!(register_artifact))
        .routes(routes!(show_artifact))
        .routes(routes!(add_attestation))
        .routes(routes!(list_keys, trust_key))
        .routes(routes!(revoke_key))
        .routes(routes!(list_types, register_type))
        .routes(routes!(list_changes, open_change))
        .routes(routes!(show_change, update_change))
        .routes(routes!(reclassify_change))
        .routes(routes!(list_approvals, sign_change))
        .routes(routes!(purge_document))
        .routes(routes!(change_attestations))
        .routes(routes!(check_gate))
        .routes(routes!(list_waivers))
        .routes(routes!(grant_waiver))
        .routes(routes!(break_glass))
        .routes(routes!(list_reviews))
        .routes(routes!(promote))
        .routes(routes!(list_deployments))
        .routes(routes!(rollback))
        .routes(routes!(observe))
        .routes(routes!(observe_runtime))
        .routes(routes!(start_rollout, list_rollouts))
        .routes(routes!(get_rollout))
        .routes(routes!(command_rollout))
        .routes(routes!(drill))
        .routes(routes!(publish_config, show_config))
        .routes(routes!(release_notes))
        .routes(routes!(explain_decision))
        .routes(routes!(replay_decision))
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
    app
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
        text.chars().take(300).collect()
    };
    ApiError::new(status, code, message, hint).into_response()
}

async fn timeout(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long",
            "retry later; if it persists, check the server's store",
        )
        .into_response(),
    }
}

/// Counts requests and latency by route template and status.
async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let resp = next.run(req).await;
    let labels = RouteLabels {
        method,
        route,
        status: resp.status().as_u16(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .latency
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    resp
}

/// Liveness: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "up")))]
async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// Readiness: the store answers and its migrations are applied.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "store unreachable", body = ErrorBody)))]
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    match state.ledger.head().await {
        Ok(head) => Ok(Json(
            json!({ "status": "ready", "backend": state.ledger.store().backend(), "size": head.size() }),
        )),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_ready",
                "the store is not reachable",
                "check the database the server was started with",
            ))
        }
    }
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> Response {
    if let Ok(head) = state.ledger.head().await {
        state
            .metrics
            .ledger_size
            .set(i64::try_from(head.size()).unwrap_or(i64::MAX));
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

/// This OpenAPI document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI 3 document")))]
async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(api().1)
}

/// Credentials of a local user.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct SignIn {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

/// Signs a local user in: returns a session token (a human identity) valid for 12 hours.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "identities", request_body = SignIn, responses(
    (status = 201, body = CreatedToken), (status = 401, body = ErrorBody)))]
async fn sign_in(
    State(state): State<AppState>,
    crate::auth::SourceIp(ip): crate::auth::SourceIp,
    Json(req): Json<SignIn>,
) -> Result<Response, ApiError> {
    if let Some(refused) = crate::auth::refuse_if_limited(&state, ip) {
        return Ok(refused);
    }
    if identities::check_name("user", &req.user).is_ok()
        && crate::reauth::lockout(
            &state.ledger,
            &format!("user:{}", req.user),
            jiff::Timestamp::now().as_second(),
        )
        .await?
        .is_some()
    {
        return Err(ApiError::new(
            StatusCode::LOCKED,
            "signing_locked",
            "this user is locked out after repeated failed attempts",
            "wait for the lockout to lapse, or ask an administrator to lift it (ward user unlock)",
        ));
    }
    match identities::check_password(&state.ledger, &req.user, &req.password).await? {
        Some(user) => Ok((
            StatusCode::CREATED,
            Json(identities::start_session(&state.ledger, &user).await?),
        )
            .into_response()),
        None => {
            // Only a well-formed user name is recorded: whatever an unauthenticated caller types
            // (a password in the wrong field, free text) never reaches the log.
            let user = identities::check_name("user", &req.user)
                .is_ok()
                .then_some(req.user.as_str());
            crate::auth::record_failure(
                &state,
                ip,
                "POST /api/v1/sessions",
                "bad_password",
                json!({ "user": user }),
            )
            .await;
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "unknown user or wrong password",
                "check the user name and password",
            ))
        }
    }
}

/// Ends the caller's session: revokes the Ward token the request was sent with (a session
/// from sign-in, or any token ending itself). Recorded as `token.revoked` by its holder. An
/// OIDC token is the provider's: it ends at its expiry (sign out at the provider).
#[utoipa::path(delete, path = "/api/v1/sessions", tag = "identities", security(("bearer" = [])), responses(
    (status = 200, description = "the token was revoked", body = Value), (status = 400, body = ErrorBody)))]
async fn sign_out(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    headers: axum::http::HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let Ok(token) = ward_core::token::ApiToken::parse(bearer.trim()) else {
        return Err(ApiError::invalid(
            "this request was not sent with a Ward token: an OIDC token ends at its expiry",
            "sign out at your identity provider; Ward keeps no session for OIDC tokens",
        ));
    };
    identities::revoke_token(&state.ledger, &me, &token.id, &state.directory).await?;
    Ok(Json(json!({ "revoked": token.id })))
}

/// The caller's identity and roles.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "identities", security(("bearer" = [])), responses((status = 200, body = Identity)))]
async fn whoami(Extension(me): Extension<Identity>) -> Json<Identity> {
    Json(me)
}

/// Size, root and latest checkpoint of the log.
#[utoipa::path(get, path = "/api/v1/log", tag = "log", security(("bearer" = [])), responses((status = 200, body = LogStatus)))]
async fn log_status(State(state): State<AppState>) -> Result<Json<LogStatus>, ApiError> {
    Ok(Json(ops::status(&state.ledger, &state.origin).await?))
}

/// The latest signed checkpoint.
#[utoipa::path(get, path = "/api/v1/log/checkpoint", tag = "log", security(("bearer" = [])), responses(
    (status = 200, body = SignedCheckpoint), (status = 404, body = ErrorBody)))]
async fn get_checkpoint(State(state): State<AppState>) -> Result<Json<SignedCheckpoint>, ApiError> {
    Ok(Json(ops::latest_checkpoint(&state.ledger).await?))
}

/// Signs a checkpoint of the current head.
#[utoipa::path(post, path = "/api/v1/log/checkpoint", tag = "log", security(("bearer" = [])), responses((status = 200, body = SignedCheckpoint)))]
async fn create_checkpoint(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
) -> Result<Json<SignedCheckpoint>, ApiError> {
    let cp = ops::checkpoint(&state.ledger, state.signer.as_ref(), &state.origin, &me.actor()).await?;
    tracing::info!(actor = %me.id, size = cp.size, "checkpoint signed");
    Ok(Json(cp))
}

/// Parameters of an inclusion proof.
#[derive(Deserialize, IntoParams)]
pub struct ProofQuery {
    /// Leaf index.
    pub index: u64,
    /// Tree size (default: the latest checkpoint's).
    pub size: Option<u64>,
}

/// Inclusion proof of one entry.
#[utoipa::path(get, path = "/api/v1/log/proof", tag = "log", params(ProofQuery), security(("bearer" = [])), responses(
    (status = 200, body = InclusionProof), (status = 400, body = ErrorBody)))]
async fn inclusion_proof(
    State(state): State<AppState>,
    Query(q): Query<ProofQuery>,
) -> Result<Json<InclusionProof>, ApiError> {
    Ok(Json(ops::inclusion(&state.ledger, q.index, q.size).await?))
}

/// Parameters of a consistency proof.
#[derive(Deserialize, IntoParams)]
pub struct ConsistencyQuery {
    /// Older size.
    pub from: u64,
    /// Newer size.
    pub to: u64,
}

/// Consistency proof between two sizes.
#[utoipa::path(get, path = "/api/v1/log/consistency", tag = "log", params(ConsistencyQuery), security(("bearer" = [])), responses(
    (status = 200, body = ConsistencyProof), (status = 400, body = ErrorBody)))]
async fn consistency_proof(
    State(state): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    Ok(Json(ops::consistency(&state.ledger, q.from, q.to).await?))
}

/// Every signed checkpoint with its note, ascending.
#[utoipa::path(get, path = "/api/v1/log/checkpoints", tag = "log", security(("bearer" = [])), responses((status = 200, body = ops::Checkpoints)))]
async fn list_checkpoints(State(state): State<AppState>) -> Result<Json<ops::Checkpoints>, ApiError> {
    Ok(Json(ops::checkpoints(&state.ledger).await?))
}

/// The log's verifier key (`name+hex8+base64`). Auditors should still obtain it out of band.
#[utoipa::path(get, path = "/api/v1/log/key", tag = "log", security(("bearer" = [])), responses((status = 200, body = ops::VerifierKey)))]
async fn verifier_key(State(state): State<AppState>) -> Result<Json<ops::VerifierKey>, ApiError> {
    let key = state.signer.verifier_key().ok_or_else(|| {
        ApiError::not_found(
            "this log's signature algorithm has no verifier key string",
            "ask the operator for the verifier key",
        )
    })?;
    Ok(Json(ops::VerifierKey { verifier_key: key }))
}

/// Raw leaves, for `ward log export --server`. A person's export is recorded as an access event.
#[utoipa::path(get, path = "/api/v1/log/entries", tag = "log", params(ListQuery), security(("bearer" = [])), responses((status = 200, body = ops::RawEntries)))]
async fn raw_entries(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Query(q): Query<ListQuery>,
) -> Result<Json<ops::RawEntries>, ApiError> {
    let page = ops::raw_entries(&state.ledger, q.from, q.limit).await?;
    if me.kind == ActorKind::Human
        && let (Some(first), Some(last)) = (page.entries.first(), page.entries.last())
    {
        record_access(
            &state,
            &me,
            "access.export",
            json!({ "from": first.seq, "to": last.seq }),
        )
        .await?;
    }
    Ok(Json(page))
}

/// A text document's stored bytes, for an export (`data` is null once purged).
#[utoipa::path(get, path = "/api/v1/log/documents/{digest}", tag = "log", params(("digest" = String, Path, description = "sha256:<hex>")), security(("bearer" = [])), responses(
    (status = 200, body = ops::DocumentBytes), (status = 400, body = ErrorBody)))]
async fn get_document_bytes(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(digest): Path<String>,
) -> Result<Json<ops::DocumentBytes>, ApiError> {
    let doc = ops::document_bytes(&state.ledger, &digest).await?;
    if me.kind == ActorKind::Human {
        record_access(&state, &me, "access.export", json!({ "document": digest })).await?;
    }
    Ok(Json(doc))
}

/// An out-of-line payload.
#[utoipa::path(get, path = "/api/v1/log/blobs/{digest}", tag = "log", params(("digest" = String, Path, description = "sha256:<hex>")), security(("bearer" = [])), responses(
    (status = 200, body = ops::Blob), (status = 404, body = ErrorBody)))]
async fn get_blob(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(digest): Path<String>,
) -> Result<Json<ops::Blob>, ApiError> {
    let blob = ops::blob(&state.ledger, &digest).await?;
    if me.kind == ActorKind::Human {
        record_access(&state, &me, "access.export", json!({ "blob": digest })).await?;
    }
    Ok(Json(blob))
}

/// Records that a person read log content (HIPAA §164.312(b) audit controls).
async fn record_access(state: &AppState, me: &Identity, kind: &str, payload: Value) -> Result<(), ApiError> {
    state
        .ledger
        .append(NewEvent {
            actor: me.actor(),
            kind: kind.into(),
            subject: "log:entries".into(),
            payload,
        })
        .await?;
    Ok(())
}

/// Parameters of a listing.
#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// First entry.
    #[serde(default)]
    pub from: u64,
    /// Most entries (≤ 1000).
    #[serde(default = "default_limit")]
    pub limit: u64,
}

fn default_limit() -> u64 {
    100
}

/// Log entries with their events. A person's read is recorded as an access event.
#[utoipa::path(get, path = "/api/v1/events", tag = "log", params(ListQuery), security(("bearer" = [])), responses((status = 200, body = Entries)))]
async fn list_events(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Entries>, ApiError> {
    let entries = ops::entries(&state.ledger, q.from, q.limit).await?;
    if me.kind == ActorKind::Human
        && let (Some(first), Some(last)) = (entries.entries.first(), entries.entries.last())
    {
        record_access(&state, &me, "access.read", json!({ "from": first.seq, "to": last.seq })).await?;
    }
    Ok(Json(entries))
}

/// An event as a client submits it; the actor is the caller.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventRequest {
    /// Event kind, dotted lower case.
    pub kind: String,
    /// What it is about.
    pub subject: String,
    /// Event data.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub payload: Value,
    /// Optional; if present it must equal the caller's identity.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub actor: Option<ward_ledger::Actor>,
}

/// One event or several.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EventsRequest {
    /// One event (committed with concurrent appends: group commit).
    One(EventRequest),
    /// Several events, committed together in one transaction.
    Many(Vec<EventRequest>),
}

/// Appends events as the caller. Returns once they are durable.
#[utoipa::path(post, path = "/api/v1/events", tag = "log", request_body = EventsRequest, security(("bearer" = [])), responses(
    (status = 201, body = Appended), (status = 400, body = ErrorBody)))]
async fn append_events(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<EventsRequest>,
) -> Result<(StatusCode, Json<Appended>), ApiError> {
    let started = Instant::now();
    let to_event = |e: EventRequest| -> Result<NewEvent, ApiError> {
        if let Some(a) = &e.actor
            && (a.id != me.id || a.kind != me.kind)
        {
            return Err(ApiError::invalid(
                format!("the event names actor {:?} but the caller is {:?}", a.id, me.id),
                "omit `actor`: the server records the authenticated caller",
            ));
        }
        ops::check_generic_kind(&e.kind)?;
        ops::check_generic_payload(&e.payload)?;
        Ok(NewEvent {
            actor: me.actor(),
            kind: e.kind,
            subject: e.subject,
            payload: e.payload,
        })
    };
    let appended = match req {
        EventsRequest::One(e) => Appended {
            appended: vec![state.ledger.append(to_event(e)?).await?],
        },
        EventsRequest::Many(list) => {
            if list.is_empty() {
                return Err(ApiError::invalid("no events", "send one event or a non-empty array"));
            }
            let events = list.into_iter().map(to_event).collect::<Result<Vec<_>, _>>()?;
            ops::append_batch(&state.ledger, events).await?
        }
    };
    state.metrics.append_latency.observe(started.elapsed().as_secs_f64());
    if let Some(last) = appended.appended.last() {
        state
            .metrics
            .ledger_size
            .set(i64::try_from(last.seq + 1).unwrap_or(i64::MAX));
    }
    Ok((StatusCode::CREATED, Json(appended)))
}

/// Registers an artifact by digest (idempotent for identical metadata; 409 for a conflict, and
/// `version_conflict` for a service version already registered under another digest).
#[utoipa::path(post, path = "/api/v1/artifacts", tag = "evidence", request_body = evidence::ArtifactRequest, security(("bearer" = [])), responses(
    (status = 201, body = evidence::Artifact), (status = 200, body = evidence::Artifact, description = "already registered"), (status = 409, body = ErrorBody)))]
async fn register_artifact(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<evidence::ArtifactRequest>,
) -> Result<(StatusCode, Json<evidence::Artifact>), ApiError> {
    let (a, new) = evidence::register_with(&state.ledger, &me, &req, &state.artifacts).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(a)))
}

/// An artifact and its attestations.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ArtifactView {
    /// The artifact.
    pub artifact: evidence::Artifact,
    /// Its attestations, oldest first.
    pub attestations: Vec<evidence::Attestation>,
}

/// An artifact with its attestation summaries.
#[utoipa::path(get, path = "/api/v1/artifacts/{digest}", tag = "evidence", params(("digest" = String, Path, description = "sha256:<hex>")), security(("bearer" = [])), responses(
    (status = 200, body = ArtifactView), (status = 404, body = ErrorBody)))]
async fn show_artifact(
    State(state): State<AppState>,
    Path(digest): Path<String>,
) -> Result<Json<ArtifactView>, ApiError> {
    let artifact = evidence::artifact(&state.ledger, &digest).await?.ok_or_else(|| {
        ApiError::not_found(
            format!("artifact {digest} is not registered"),
            "list what was registered with `ward log show`",
        )
    })?;
    let attestations = evidence::attestations(&state.ledger, &digest).await?;
    let attestations = crate::documents::shown(&state.ledger, attestations).await?;
    Ok(Json(ArtifactView { artifact, attestations }))
}

/// Attaches an attestation (JUnit, SARIF, CycloneDX, SPDX, vulnerability report, in-toto or a
/// custom type) to a registered artifact.
#[utoipa::path(post, path = "/api/v1/attestations", tag = "evidence", request_body = evidence::AttestationRequest, security(("bearer" = [])), responses(
    (status = 201, body = evidence::Attestation), (status = 200, body = evidence::Attestation, description = "already attached"), (status = 400, body = ErrorBody)))]
async fn add_attestation(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<evidence::AttestationRequest>,
) -> Result<(StatusCode, Json<evidence::Attestation>), ApiError> {
    let (a, new) = evidence::attest(&state.ledger, &me, &req, &state.guard).await?;
    let a = crate::documents::shown(&state.ledger, a).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(a)))
}

/// Every key trusted for a builder, revoked ones included.
#[utoipa::path(get, path = "/api/v1/keys", tag = "evidence", security(("bearer" = [])), responses((status = 200, body = Vec<keys::KeyRecord>)))]
async fn list_keys(State(state): State<AppState>) -> Result<Json<Vec<keys::KeyRecord>>, ApiError> {
    Ok(Json(keys::list(&state.ledger).await?))
}

/// Trusts a public key (PEM: Ed25519, ECDSA P-256 or RSA) to sign evidence for a builder.
#[utoipa::path(post, path = "/api/v1/keys", tag = "evidence", request_body = keys::TrustRequest, security(("bearer" = [])), responses(
    (status = 201, body = keys::KeyRecord), (status = 200, body = keys::KeyRecord, description = "already trusted"), (status = 409, body = ErrorBody)))]
async fn trust_key(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<keys::TrustRequest>,
) -> Result<(StatusCode, Json<keys::KeyRecord>), ApiError> {
    let (k, new) = keys::trust(&state.ledger, &me, &req).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(k)))
}

/// Revokes a trusted key: its signatures no longer verify new attestations.
#[utoipa::path(delete, path = "/api/v1/keys/{keyid}", tag = "evidence", params(("keyid" = String, Path, description = "sha256:<hex> key id")), security(("bearer" = [])), responses(
    (status = 200, body = keys::KeyRecord), (status = 404, body = ErrorBody)))]
async fn revoke_key(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(keyid): Path<String>,
) -> Result<Json<keys::KeyRecord>, ApiError> {
    Ok(Json(keys::revoke(&state.ledger, &me, &keyid).await?))
}

/// Every custom attestation type with its JSON Schema.
#[utoipa::path(get, path = "/api/v1/attestation-types", tag = "evidence", security(("bearer" = [])), responses((status = 200, body = Vec<keys::TypeRecord>)))]
async fn list_types(State(state): State<AppState>) -> Result<Json<Vec<keys::TypeRecord>>, ApiError> {
    Ok(Json(keys::list_types(&state.ledger).await?))
}

/// Registers a custom attestation type: a name and the JSON Schema its documents must match.
#[utoipa::path(post, path = "/api/v1/attestation-types", tag = "evidence", request_body = keys::TypeRequest, security(("bearer" = [])), responses(
    (status = 201, body = keys::TypeRecord), (status = 200, body = keys::TypeRecord, description = "already registered"), (status = 409, body = ErrorBody)))]
async fn register_type(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<keys::TypeRequest>,
) -> Result<(StatusCode, Json<keys::TypeRecord>), ApiError> {
    let (t, new) = keys::register_type(&state.ledger, &me, &req).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(t)))
}

/// Every change request, newest first.
#[utoipa::path(get, path = "/api/v1/changes", tag = "changes", security(("bearer" = [])), responses((status = 200, body = Vec<changes::Change>)))]
async fn list_changes(State(state): State<AppState>) -> Result<Json<Vec<changes::Change>>, ApiError> {
    let list = changes::list(&state.ledger).await?;
    Ok(Json(crate::documents::shown(&state.ledger, list).await?))
}

/// Opens a change request; it is classified by the `[risk]` rules at once.
#[utoipa::path(post, path = "/api/v1/changes", tag = "changes", request_body = changes::ChangeRequest, security(("bearer" = [])), responses(
    (status = 201, body = changes::Change), (status = 400, body = ErrorBody)))]
async fn open_change(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<changes::ChangeRequest>,
) -> Result<(StatusCode, Json<changes::Change>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(changes::open(&state.ledger, &me, &state.risk, &req, false).await?),
    ))
}

/// A change request with its classification and any tier override.
#[utoipa::path(get, path = "/api/v1/changes/{id}", tag = "changes", params(("id" = String, Path, description = "CHG-…")), security(("bearer" = [])), responses(
    (status = 200, body = changes::Change), (status = 404, body = ErrorBody)))]
async fn show_change(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<changes::Change>, ApiError> {
    let change = changes::get(&state.ledger, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no change {id:?}"), "list changes with `ward change list`"))?;
    Ok(Json(crate::documents::shown(&state.ledger, change).await?))
}

/// Updates a change's commits, paths or artifacts: classified again; signatures over the old
/// content become stale.
#[utoipa::path(patch, path = "/api/v1/changes/{id}", tag = "changes", params(("id" = String, Path, description = "CHG-…")), request_body = changes::ChangeUpdate, security(("bearer" = [])), responses(
    (status = 200, body = changes::Change), (status = 404, body = ErrorBody)))]
async fn update_change(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
    Json(req): Json<changes::ChangeUpdate>,
) -> Result<Json<changes::Change>, ApiError> {
    Ok(Json(
        crate::documents::shown(
            &state.ledger,
            changes::update(&state.ledger, &me, &state.risk, &id, &req, false).await?,
        )
        .await?,
    ))
}

/// Overrides a change's risk tier (approvers; never the opener; a reason is recorded).
#[utoipa::path(post, path = "/api/v1/changes/{id}/classification", tag = "changes", params(("id" = String, Path, description = "CHG-…")), request_body = changes::ReclassifyRequest, security(("bearer" = [])), responses(
    (status = 200, body = changes::Change), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reclassify_change(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
    Json(req): Json<changes::ReclassifyRequest>,
) -> Result<Json<changes::Change>, ApiError> {
    Ok(Json(
        crate::documents::shown(
            &state.ledger,
            changes::reclassify(&state.ledger, &me, &id, &req, &state.approvals).await?,
        )
        .await?,
    ))
}

/// A change's signatures (approvals and rejections), each marked stale or current.
#[utoipa::path(get, path = "/api/v1/changes/{id}/approvals", tag = "changes", params(("id" = String, Path, description = "CHG-…")), security(("bearer" = [])), responses(
    (status = 200, body = approvals::ApprovalsView), (status = 404, body = ErrorBody)))]
async fn list_approvals(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<approvals::ApprovalsView>, ApiError> {
    Ok(Json(
        crate::documents::shown(
            &state.ledger,
            approvals::view(&state.ledger, &id, &state.risk, &state.approvals).await?,
        )
        .await?,
    ))
}

/// Signs a change: approve or reject, with a meaning, after re-authentication (password or a
/// fresh OIDC token) and separation of duties; refused attempts are recorded.
#[utoipa::path(post, path = "/api/v1/changes/{id}/approvals", tag = "changes", params(("id" = String, Path, description = "CHG-…")), request_body = approvals::SignRequest, security(("bearer" = [])), responses(
    (status = 201, body = approvals::Approval), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn sign_change(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Extension(presented): Extension<PresentedCredential>,
    Path(id): Path<String>,
    Json(req): Json<approvals::SignRequest>,
) -> Result<(StatusCode, Json<approvals::Approval>), ApiError> {
    let a = approvals::sign(
        &state.ledger,
        &me,
        &id,
        &req,
        &state.risk,
        &state.approvals,
        &state.reauth(&presented),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

/// One step of a two-person purge of a text document: the first privacy officer's call records
/// the request, a second person's (privacy officer or admin) deletes the document and records
/// `document.purged`. Both re-authenticate.
#[utoipa::path(post, path = "/api/v1/documents/{digest}/purge", tag = "log", params(("digest" = String, Path, description = "sha256:<hex>")), request_body = crate::documents::PurgeRequest, security(("bearer" = [])), responses(
    (status = 201, body = crate::documents::PurgeOutcome), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn purge_document(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Extension(presented): Extension<PresentedCredential>,
    Path(digest): Path<String>,
    Json(req): Json<crate::documents::PurgeRequest>,
) -> Result<(StatusCode, Json<crate::documents::PurgeOutcome>), ApiError> {
    let out = crate::documents::purge(&state.ledger, &me, &digest, &req, &state.reauth(&presented)).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Evaluates the gate for a change entering an environment and records the decision (200 with
/// `allow: false` and every reason when blocked).
#[utoipa::path(post, path = "/api/v1/changes/{id}/gate", tag = "gate", params(("id" = String, Path, description = "CHG-…")), request_body = gate::CheckRequest, security(("bearer" = [])), responses(
    (status = 200, body = gate::GateDecision), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "the policy does not evaluate")))]
async fn check_gate(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
    Json(req): Json<gate::CheckRequest>,
) -> Result<Json<gate::GateDecision>, ApiError> {
    let d = gate::check(
        &state.ledger,
        &me,
        &id,
        &req,
        &state.gate,
        &state.risk,
        &state.approvals,
    )
    .await?;
    // Reasons name reports by their file names' references: shown as text.
    Ok(Json(crate::documents::shown(&state.ledger, d).await?))
}

/// A recorded gate decision: verdict, reasons, policy and input digests.
#[utoipa::path(get, path = "/api/v1/gate/decisions/{id}", tag = "gate", params(("id" = u64, Path, description = "decision id (log entry)")), security(("bearer" = [])), responses(
    (status = 200, body = gate::GateDecision), (status = 404, body = ErrorBody)))]
async fn explain_decision(
    State(state): State<AppState>,
    Path(id): Path<u64>,
) -> Result<Json<gate::GateDecision>, ApiError> {
    let d = gate::decision(&state.ledger, id).await?;
    Ok(Json(crate::documents::shown(&state.ledger, d).await?))
}

/// Re-evaluates a recorded decision from its stored input and policy; `identical` must be true.
#[utoipa::path(get, path = "/api/v1/gate/decisions/{id}/replay", tag = "gate", params(("id" = u64, Path, description = "decision id (log entry)")), security(("bearer" = [])), responses(
    (status = 200, body = gate::Replay), (status = 404, body = ErrorBody)))]
async fn replay_decision(State(state): State<AppState>, Path(id): Path<u64>) -> Result<Json<gate::Replay>, ApiError> {
    let r = gate::replay(&state.ledger, id).await?;
    Ok(Json(crate::documents::shown(&state.ledger, r).await?))
}

/// A change's waivers, active and expired.
#[utoipa::path(get, path = "/api/v1/changes/{id}/waivers", tag = "gate", params(("id" = String, Path, description = "CHG-…")), security(("bearer" = [])), responses(
    (status = 200, body = Vec<exceptions::Waiver>)))]
async fn list_waivers(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<exceptions::Waiver>>, ApiError> {
    Ok(Json(
        crate::documents::shown(
            &state.ledger,
            exceptions::waivers(&state.ledger, &id, jiff::Timestamp::now().as_second()).await?,
        )
        .await?,
    ))
}

/// Grants a waiver of gate rules for a change (approvers; never the waiver's owner).
#[utoipa::path(post, path = "/api/v1/waivers", tag = "gate", request_body = exceptions::WaiverRequest, security(("bearer" = [])), responses(
    (status = 201, body = exceptions::Waiver), (status = 403, body = ErrorBody)))]
async fn grant_waiver(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Extension(presented): Extension<PresentedCredential>,
    Json(req): Json<exceptions::WaiverRequest>,
) -> Result<(StatusCode, Json<exceptions::Waiver>), ApiError> {
    let cx = state.reauth(&presented);
    Ok((
        StatusCode::CREATED,
        Json(exceptions::grant_waiver(&state.ledger, &me, &req, &state.approvals, &cx).await?),
    ))
}

/// Breaks glass on an emergency change: bypasses named rules for a bounded time and opens a
/// retrospective review.
#[utoipa::path(post, path = "/api/v1/breakglass", tag = "gate", request_body = exceptions::BreakglassRequest, security(("bearer" = [])), responses(
    (status = 201, body = exceptions::Breakglass), (status = 403, body = ErrorBody)))]
async fn break_glass(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Extension(presented): Extension<PresentedCredential>,
    Json(req): Json<exceptions::BreakglassRequest>,
) -> Result<(StatusCode, Json<exceptions::Breakglass>), ApiError> {
    let cx = state.reauth(&presented);
    Ok((
        StatusCode::CREATED,
        Json(exceptions::invoke_breakglass(&state.ledger, &me, &req, &state.breakglass, &cx).await?),
    ))
}

/// Every break-glass with its retrospective review: open, overdue or closed.
#[utoipa::path(get, path = "/api/v1/reviews", tag = "gate", security(("bearer" = [])), responses(
    (status = 200, body = Vec<exceptions::Breakglass>)))]
async fn list_reviews(State(state): State<AppState>) -> Result<Json<Vec<exceptions::Breakglass>>, ApiError> {
    let list = exceptions::breakglass(
        &state.ledger,
        None,
        jiff::Timestamp::now().as_second(),
        &state.risk,
        &state.approvals,
    )
    .await?;
    Ok(Json(crate::documents::shown(&state.ledger, list).await?))
}

/// Promotes a change into an environment: the preceding environment must have deployed its
/// digests, the environment's gate must allow it; the deployment target runs and a deployment
/// record is kept (also when the target fails).
#[utoipa::path(post, path = "/api/v1/promotions", tag = "promotion", request_body = promotion::PromoteRequest, security(("bearer" = [])), responses(
    (status = 201, body = promotion::Deployment), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "chain order or gate")))]
async fn promote(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<promotion::PromoteRequest>,
) -> Result<(StatusCode, Json<promotion::Deployment>), ApiError> {
    let cx = promotion::PromotionContext {
        policy: &state.gate,
        risk: &state.risk,
        approvals: &state.approvals,
        locks: &state.promotion_locks,
        runtime: state.rollouts.as_ref(),
    };
    Ok((
        StatusCode::CREATED,
        Json(promotion::promote(&state.ledger, &me, &req, &cx).await?),
    ))
}

/// `?tenant=`.
#[derive(Deserialize, IntoParams)]
struct TenantQuery {
    /// One tenant of the environment.
    tenant: Option<String>,
}

/// Rolls an environment (or one tenant) back to its previous known-good release and
/// configuration through the same target; the record links the deployment it reverts.
#[utoipa::path(post, path = "/api/v1/environments/{env}/rollback", tag = "promotion", params(("env" = String, Path, description = "environment"), TenantQuery), security(("bearer" = [])), responses(
    (status = 201, body = promotion::Deployment), (status = 409, body = ErrorBody)))]
async fn rollback(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(env): Path<String>,
    Query(q): Query<TenantQuery>,
) -> Result<(StatusCode, Json<promotion::Deployment>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            promotion::rollback(
                &state.ledger,
                &me,
                &env,
                q.tenant.as_deref(),
                &state.gate.environments,
                &state.promotion_locks,
                state.rollouts.as_ref(),
            )
            .await?,
        ),
    ))
}

/// Publishes a configuration bundle for an environment or one tenant. Secrets must be references
/// (`env://`, `file://`, `vault://`); a bundle holding a secret value is refused whole.
#[utoipa::path(put, path = "/api/v1/environments/{env}/config", tag = "promotion", params(("env" = String, Path, description = "environment")), request_body = promotion::config::ConfigRequest, security(("bearer" = [])), responses(
    (status = 201, body = promotion::config::ConfigBundle), (status = 422, body = ErrorBody, description = "a secret value")))]
async fn publish_config(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(env): Path<String>,
    Json(req): Json<promotion::config::ConfigRequest>,
) -> Result<(StatusCode, Json<promotion::config::ConfigBundle>), ApiError> {
    let e = promotion::find(&state.gate.environments, &env)?;
    Ok((
        StatusCode::CREATED,
        Json(promotion::config::publish(&state.ledger, &me, e, &req, &state.guard).await?),
    ))
}

/// `?tenant=&effective=`.
#[derive(Deserialize, IntoParams)]
struct ConfigQuery {
    /// One tenant of the environment.
    tenant: Option<String>,
    /// The merged configuration a deployment receives, instead of the latest bundle.
    #[serde(default)]
    effective: bool,
}

/// The configuration of an environment or tenant: the latest bundle's values (or the effective,
/// merged configuration) and the bundle history.
#[utoipa::path(get, path = "/api/v1/environments/{env}/config", tag = "promotion", params(("env" = String, Path, description = "environment"), ConfigQuery), security(("bearer" = [])), responses(
    (status = 200, body = promotion::config::ConfigView)))]
async fn show_config(
    State(state): State<AppState>,
    Path(env): Path<String>,
    Query(q): Query<ConfigQuery>,
) -> Result<Json<promotion::config::ConfigView>, ApiError> {
    let e = promotion::find(&state.gate.environments, &env)?;
    Ok(Json(
        promotion::config::view(&state.ledger, e, q.tenant.as_deref(), q.effective).await?,
    ))
}

/// Asks the environment's runtime what runs (its `observe_command`) and records one observation
/// per tenant reported, with drift.
#[utoipa::path(post, path = "/api/v1/environments/{env}/observations", tag = "promotion", params(("env" = String, Path, description = "environment")), security(("bearer" = [])), responses(
    (status = 201, body = Vec<promotion::Drift>), (status = 502, body = ErrorBody, description = "the runtime did not answer")))]
async fn observe_runtime(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(env): Path<String>,
) -> Result<(StatusCode, Json<Vec<promotion::Drift>>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            promotion::observe_runtime(
                &state.ledger,
                &me,
                &env,
                &state.gate.environments,
                state.rollouts.as_ref(),
            )
            .await?,
        ),
    ))
}

/// Records what is running in an environment and reports drift: shadow digests (never promoted
/// there through Ward), stale ones (not the current release) and missing ones.
#[utoipa::path(post, path = "/api/v1/observations", tag = "promotion", request_body = promotion::Observation, security(("bearer" = [])), responses(
    (status = 201, body = promotion::Drift)))]
async fn observe(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<promotion::Observation>,
) -> Result<(StatusCode, Json<promotion::Drift>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(promotion::observe(&state.ledger, &me, &req).await?),
    ))
}

fn engine(state: &AppState) -> Result<&std::sync::Arc<crate::rollout::Engine>, ApiError> {
    state.rollouts.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::CONFLICT,
            "runtime_unavailable",
            "this server runs no local runtime",
            "declare [environments.runtime] in ward.toml and restart ward serve",
        )
    })
}

/// Starts a rollout of a change on an environment's local runtime: the gate (as for a
/// promotion), then the strategy's steps with analysis and automated rollback.
#[utoipa::path(post, path = "/api/v1/rollouts", tag = "rollout", request_body = rollout::RolloutRequest, security(("bearer" = [])), responses(
    (status = 201, body = rollout::Rollout), (status = 409, body = ErrorBody)))]
async fn start_rollout(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<rollout::RolloutRequest>,
) -> Result<(StatusCode, Json<rollout::Rollout>), ApiError> {
    Ok((StatusCode::CREATED, Json(engine(&state)?.begin(&me, &req).await?)))
}

/// `?env=`.
#[derive(Deserialize, IntoParams)]
struct EnvQuery {
    /// Only this environment.
    env: Option<String>,
}

/// Rollouts, oldest first.
#[utoipa::path(get, path = "/api/v1/rollouts", tag = "rollout", params(EnvQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<rollout::Rollout>)))]
async fn list_rollouts(
    State(state): State<AppState>,
    Query(q): Query<EnvQuery>,
) -> Result<Json<Vec<rollout::Rollout>>, ApiError> {
    let list = rollout::list(&state.ledger, q.env.as_deref()).await?;
    Ok(Json(crate::documents::shown(&state.ledger, list).await?))
}

/// One rollout: plan, status, analyses and events.
#[utoipa::path(get, path = "/api/v1/rollouts/{id}", tag = "rollout", params(("id" = String, Path, description = "RO-…")), security(("bearer" = [])), responses(
    (status = 200, body = rollout::Rollout), (status = 404, body = ErrorBody)))]
async fn get_rollout(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<rollout::Rollout>, ApiError> {
    let r = rollout::get(&state.ledger, &id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no rollout {id:?}"), "list rollouts with `ward rollout status`"))?;
    Ok(Json(crate::documents::shown(&state.ledger, r).await?))
}

/// Pauses, resumes, promotes (skips the remaining steps) or aborts (rolls back) a rollout. The
/// events it causes are recorded with the caller as their actor; the steps a promote skips are
/// recorded as skipped by the caller. Promoting a high-tier change needs a `reason`.
#[utoipa::path(post, path = "/api/v1/rollouts/{id}/{command}", tag = "rollout", params(("id" = String, Path, description = "RO-…"), ("command" = String, Path, description = "pause, resume, promote or abort")), request_body(content = rollout::CommandRequest, description = "optional: the reason (required to promote a high-tier change)"), security(("bearer" = [])), responses(
    (status = 202, body = rollout::Rollout), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn command_rollout(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path((id, command)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<rollout::Rollout>), ApiError> {
    let cmd: rollout::Command = serde_json::from_value(serde_json::json!(command)).map_err(|_| {
        ApiError::invalid(
            format!("unknown command {command:?}"),
            "use pause, resume, promote or abort",
        )
    })?;
    let req: rollout::CommandRequest = if body.iter().all(u8::is_ascii_whitespace) {
        rollout::CommandRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            ApiError::invalid(
                "the body of a rollout command is {\"reason\": \"...\"} or empty",
                "send only a reason",
            )
        })?
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(
            crate::documents::shown(
                &state.ledger,
                engine(&state)?.command(&me, &id, cmd, req.reason.as_deref()).await?,
            )
            .await?,
        ),
    ))
}

/// A rollback drill: the environment goes back to its previous known-good release on purpose
/// and the measured time to restore is recorded as evidence.
#[utoipa::path(post, path = "/api/v1/environments/{env}/drills", tag = "rollout", params(("env" = String, Path, description = "environment")), security(("bearer" = [])), responses(
    (status = 201, body = Object), (status = 409, body = ErrorBody)))]
async fn drill(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(env): Path<String>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    Ok((StatusCode::CREATED, Json(engine(&state)?.drill(&me, &env).await?)))
}

/// `?since=` for release notes.
#[derive(Deserialize, IntoParams)]
struct SinceQuery {
    /// RFC 3339 time; releases deployed at or after it.
    since: Option<String>,
}

/// Release notes of an environment: every successful deployment with its change, tier,
/// approvals, evidence, waivers and commits.
#[utoipa::path(get, path = "/api/v1/environments/{env}/release-notes", tag = "promotion", params(("env" = String, Path, description = "environment"), SinceQuery), security(("bearer" = [])), responses(
    (status = 200, body = Vec<promotion::ReleaseEntry>)))]
async fn release_notes(
    State(state): State<AppState>,
    Path(env): Path<String>,
    Query(q): Query<SinceQuery>,
) -> Result<Json<Vec<promotion::ReleaseEntry>>, ApiError> {
    Ok(Json(
        promotion::release_notes(&state.ledger, &env, q.since.as_deref(), &state.risk, &state.approvals).await?,
    ))
}

/// Deployment records of an environment, oldest first.
#[utoipa::path(get, path = "/api/v1/environments/{env}/deployments", tag = "promotion", params(("env" = String, Path, description = "environment")), security(("bearer" = [])), responses(
    (status = 200, body = Vec<promotion::Deployment>)))]
async fn list_deployments(
    State(state): State<AppState>,
    Path(env): Path<String>,
) -> Result<Json<Vec<promotion::Deployment>>, ApiError> {
    Ok(Json(promotion::deployments(&state.ledger, &env).await?))
}

/// Attestations attached to a change itself (not to its artifacts), oldest first.
#[utoipa::path(get, path = "/api/v1/changes/{id}/attestations", tag = "changes", params(("id" = String, Path, description = "CHG-…")), security(("bearer" = [])), responses(
    (status = 200, body = Vec<evidence::Attestation>)))]
async fn change_attestations(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Vec<evidence::Attestation>>, ApiError> {
    let list = evidence::attestations(&state.ledger, &id).await?;
    Ok(Json(crate::documents::shown(&state.ledger, list).await?))
}

/// Every API token (never the secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "identities", security(("bearer" = [])), responses((status = 200, body = Vec<TokenRecord>)))]
async fn list_tokens(State(state): State<AppState>) -> Result<Json<Vec<TokenRecord>>, ApiError> {
    Ok(Json(identities::list_tokens(&state.ledger).await?))
}

/// Creates an API token; the response is the only time the secret is shown.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "identities", request_body = TokenRequest, security(("bearer" = [])), responses(
    (status = 201, body = CreatedToken), (status = 400, body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<TokenRequest>,
) -> Result<(StatusCode, Json<CreatedToken>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(identities::create_token(&state.ledger, &me, &req).await?),
    ))
}

/// Revokes an API token.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "identities", params(("id" = String, Path, description = "token id")), security(("bearer" = [])), responses(
    (status = 200, description = "revoked"), (status = 404, body = ErrorBody)))]
async fn revoke_token(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    identities::revoke_token(&state.ledger, &me, &id, &state.directory).await?;
    Ok(Json(json!({ "revoked": id })))
}

/// Every local user.
#[utoipa::path(get, path = "/api/v1/users", tag = "identities", security(("bearer" = [])), responses((status = 200, body = Vec<UserRecord>)))]
async fn list_users(State(state): State<AppState>) -> Result<Json<Vec<UserRecord>>, ApiError> {
    Ok(Json(identities::list_users(&state.ledger).await?))
}

/// Lifts a person's signing lockout (after repeated failed re-authentications); recorded.
#[utoipa::path(post, path = "/api/v1/users/{name}/unlock", tag = "identities", params(("name" = String, Path, description = "user name, or an identity such as staff:alice@example.org")), security(("bearer" = [])), responses(
    (status = 200, body = Value)))]
async fn unlock_user(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    crate::reauth::unlock(&state.ledger, &me, &name).await?;
    Ok(Json(json!({ "unlocked": name })))
}

/// Activates a user another administrator added (the second administrator's confirmation).
#[utoipa::path(post, path = "/api/v1/users/{name}/activate", tag = "identities", params(("name" = String, Path, description = "local user name")), security(("bearer" = [])), responses(
    (status = 200, body = UserRecord), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn activate_user(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(name): Path<String>,
) -> Result<Json<UserRecord>, ApiError> {
    Ok(Json(identities::activate_user(&state.ledger, &me, &name).await?))
}

/// Adds a local user (password hashed with argon2id).
#[utoipa::path(post, path = "/api/v1/users", tag = "identities", request_body = UserRequest, security(("bearer" = [])), responses(
    (status = 201, body = UserRecord), (status = 409, body = ErrorBody)))]
async fn add_user(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<UserRequest>,
) -> Result<(StatusCode, Json<UserRecord>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(identities::add_user(&state.ledger, &me, &req).await?),
    ))
}
