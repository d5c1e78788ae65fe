//! Identities: sessions, the caller, API tokens and local users.

use super::*;
use ward_app::identities;

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
pub(super) async fn sign_in(
    State(state): State<AppState>,
    crate::auth::SourceIp(ip): crate::auth::SourceIp,
    Json(req): Json<SignIn>,
) -> Result<Response, ApiError> {
    match crate::auth::password_sign_in(&state, ip, "POST /api/v1/sessions", &req.user, &req.password).await {
        Ok(session) => Ok((StatusCode::CREATED, Json(session)).into_response()),
        Err(refused) => Ok(refused),
    }
}

/// A person on a terminal asks to sign in through an identity provider (`ward login --oidc`).
#[derive(Deserialize, Serialize, ToSchema)]
pub struct DeviceSignIn {
    /// The provider (`[[oidc]] name`, one with browser sign-in).
    pub provider: String,
}

/// The terminal asks whether the person approved its device code.
#[derive(Deserialize, Serialize, ToSchema)]
pub struct DeviceToken {
    /// The provider.
    pub provider: String,
    /// The device code `POST /api/v1/sessions/device` returned.
    pub device_code: String,
}

const DEVICE_ROUTE: &str = "POST /api/v1/sessions/device/token";

/// Starts a device sign-in (RFC 8628) at an OIDC provider for a person on a terminal: the
/// provider's device code, the code the person enters and where. The terminal then polls
/// `POST /api/v1/sessions/device/token`. Each start counts against the address's limit of
/// unauthenticated attempts (a poll does not).
#[utoipa::path(post, path = "/api/v1/sessions/device", tag = "identities", request_body = DeviceSignIn, responses(
    (status = 200, body = crate::oidc::DeviceStart), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
    (status = 429, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub(super) async fn device_start(
    State(state): State<AppState>,
    crate::auth::SourceIp(ip): crate::auth::SourceIp,
    Json(req): Json<DeviceSignIn>,
) -> Result<Response, ApiError> {
    if let Some(refused) = crate::auth::refuse_if_limited(&state, ip) {
        return Ok(refused);
    }
    // Every start is charged to the address (polls are not): each one makes the provider issue
    // a code, and an unauthenticated caller must not make Ward ask it without end.
    state.limiter.record(ip);
    let verifier = device_provider(&state, &req.provider)?;
    match verifier.start_device(&req.provider).await {
        Ok(Some(start)) => Ok(Json(start).into_response()),
        Ok(None) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "device_sign_in_unavailable",
            format!(
                "{} offers no device sign-in (its configuration names no device authorization endpoint)",
                req.provider
            ),
            "sign in with a password or in the web UI; an administrator may set device_authorization_endpoint for the provider",
        )),
        Err(e) => Err(upstream(&req.provider, e)),
    }
}

/// Finishes a device sign-in: once the person approved the code at the provider, the ID token
/// is verified as a browser sign-in's (signature, issuer, audience = the client id, expiry),
/// mapped to an identity, and a Ward session starts for that person (`session.started`).
/// Until then `409 authorization_pending` (or `slow_down`: poll less often). A refusal is
/// recorded as `auth.failed` (`oidc_denied`, `oidc_code`, `oidc_id_token`, `oidc_not_person`).
#[utoipa::path(post, path = "/api/v1/sessions/device/token", tag = "identities", request_body = DeviceToken, responses(
    (status = 201, body = CreatedToken), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 410, body = ErrorBody),
    (status = 429, body = ErrorBody), (status = 502, body = ErrorBody)))]
pub(super) async fn device_token(
    State(state): State<AppState>,
    crate::auth::SourceIp(ip): crate::auth::SourceIp,
    Json(req): Json<DeviceToken>,
) -> Result<Response, ApiError> {
    if let Some(refused) = crate::auth::refuse_if_limited(&state, ip) {
        return Ok(refused);
    }
    let verifier = device_provider(&state, &req.provider)?;
    if req.device_code.is_empty() || req.device_code.len() > 1024 || req.device_code.chars().any(char::is_control) {
        return Err(ApiError::invalid(
            "the device code is empty, too long or not text",
            "send the device_code the device sign-in returned",
        ));
    }
    let provider = req.provider.as_str();
    let refuse = |reason: &'static str, status: StatusCode, message: &str| {
        let state = state.clone();
        let message = message.to_string();
        async move {
            crate::auth::record_failure(&state, ip, DEVICE_ROUTE, reason, json!({ "provider": provider })).await;
            ApiError::new(status, reason, message, "start the sign-in again")
        }
    };
    let id_token = match verifier.poll_device(provider, &req.device_code).await {
        Ok(t) => t,
        Err(e) => {
            return Err(match e.error.as_deref() {
                Some("authorization_pending") => ApiError::new(
                    StatusCode::CONFLICT,
                    "authorization_pending",
                    "the person has not approved the sign-in at the provider yet",
                    "ask again after the interval",
                ),
                Some("slow_down") => ApiError::new(
                    StatusCode::CONFLICT,
                    "slow_down",
                    "the provider asks to be polled less often",
                    "wait 5 seconds longer between polls",
                ),
                Some("expired_token") => ApiError::new(
                    StatusCode::GONE,
                    "device_code_expired",
                    "the device code expired before the person approved it",
                    "start the sign-in again",
                ),
                Some("access_denied") => {
                    refuse(
                        "oidc_denied",
                        StatusCode::FORBIDDEN,
                        "the person declined the sign-in at the provider",
                    )
                    .await
                }
                _ if e.reason == "oidc_code" => {
                    refuse(
                        "oidc_code",
                        StatusCode::UNAUTHORIZED,
                        "the provider refused the device code",
                    )
                    .await
                }
                _ => upstream(provider, e),
            });
        }
    };
    let (identity, subject) = match verifier.verify_device_id_token(provider, &id_token).await {
        Ok(verified) => verified,
        Err(_) => {
            return Err(refuse(
                "oidc_id_token",
                StatusCode::UNAUTHORIZED,
                "the identity provider's ID token was refused",
            )
            .await);
        }
    };
    if identity.kind != ActorKind::Human {
        return Err(refuse(
            "oidc_not_person",
            StatusCode::FORBIDDEN,
            "only people sign in on a terminal",
        )
        .await);
    }
    let session = identities::start_oidc_session(&state.ledger, &identity, provider, &subject).await?;
    Ok((StatusCode::CREATED, Json(session)).into_response())
}

/// The verifier of a provider with browser sign-in named `name`, or 404.
fn device_provider(state: &AppState, name: &str) -> Result<std::sync::Arc<crate::oidc::Verifier>, ApiError> {
    state
        .oidc
        .clone()
        .filter(|v| v.browser_client(name).is_some())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_provider",
                "no OIDC provider of that name offers sign-in here",
                "name an [[oidc]] provider that has client_id and redirect_uri",
            )
        })
}

/// The provider could not be reached or answered something unusable.
fn upstream(provider: &str, e: crate::oidc::ExchangeError) -> ApiError {
    tracing::warn!(provider = %provider, reason = e.reason, error = ?e.error, "device sign-in: provider failed");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        "oidc_upstream",
        "the identity provider could not be reached or gave an unusable answer",
        "retry; if it persists, the server log has the details",
    )
}

/// Ends the caller's session: revokes the Ward token the request was sent with (a session
/// from sign-in, or any token ending itself). Recorded as `token.revoked` by its holder. An
/// OIDC token is the provider's: it ends at its expiry (sign out at the provider).
#[utoipa::path(delete, path = "/api/v1/sessions", tag = "identities", security(("bearer" = [])), responses(
    (status = 200, description = "the token was revoked", body = Value), (status = 400, body = ErrorBody)))]
pub(super) async fn sign_out(
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

/// The caller: identity, roles, and when the credential presented ends.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct WhoAmI {
    #[serde(flatten)]
    identity: Identity,
    /// When the token presented expires (Unix seconds); absent for one that does not expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
}

/// The caller's identity and roles, and when the credential presented ends.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "identities", security(("bearer" = [])), responses((status = 200, body = WhoAmI)))]
pub(super) async fn whoami(
    Extension(me): Extension<Identity>,
    expiry: Option<Extension<crate::auth::CredentialExpiry>>,
) -> Json<WhoAmI> {
    Json(WhoAmI {
        identity: me,
        expires_at: expiry.and_then(|Extension(e)| e.0),
    })
}

/// Every API token (never the secrets).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "identities", security(("bearer" = [])), responses((status = 200, body = Vec<TokenRecord>)))]
pub(super) async fn list_tokens(State(state): State<AppState>) -> Result<Json<Vec<TokenRecord>>, ApiError> {
    Ok(Json(identities::list_tokens(&state.ledger).await?))
}

/// Creates an API token; the response is the only time the secret is shown.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "identities", request_body = TokenRequest, security(("bearer" = [])), responses(
    (status = 201, body = CreatedToken), (status = 400, body = ErrorBody)))]
pub(super) async fn create_token(
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
pub(super) async fn revoke_token(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    identities::revoke_token(&state.ledger, &me, &id, &state.directory).await?;
    Ok(Json(json!({ "revoked": id })))
}

/// Every local user.
#[utoipa::path(get, path = "/api/v1/users", tag = "identities", security(("bearer" = [])), responses((status = 200, body = Vec<UserRecord>)))]
pub(super) async fn list_users(State(state): State<AppState>) -> Result<Json<Vec<UserRecord>>, ApiError> {
    Ok(Json(identities::list_users(&state.ledger).await?))
}

/// Lifts a person's signing lockout (after repeated failed re-authentications); recorded.
#[utoipa::path(post, path = "/api/v1/users/{name}/unlock", tag = "identities", params(("name" = String, Path, description = "user name, or an identity such as staff:alice@example.org")), security(("bearer" = [])), responses(
    (status = 200, body = Value)))]
pub(super) async fn unlock_user(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    ward_app::reauth::unlock(&state.ledger, &me, &name).await?;
    Ok(Json(json!({ "unlocked": name })))
}

/// Activates a user another administrator added (the second administrator's confirmation).
#[utoipa::path(post, path = "/api/v1/users/{name}/activate", tag = "identities", params(("name" = String, Path, description = "local user name")), security(("bearer" = [])), responses(
    (status = 200, body = UserRecord), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn activate_user(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(name): Path<String>,
) -> Result<Json<UserRecord>, ApiError> {
    Ok(Json(identities::activate_user(&state.ledger, &me, &name).await?))
}

/// Adds a local user (password hashed with argon2id).
#[utoipa::path(post, path = "/api/v1/users", tag = "identities", request_body = UserRequest, security(("bearer" = [])), responses(
    (status = 201, body = UserRecord), (status = 409, body = ErrorBody)))]
pub(super) async fn add_user(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<UserRequest>,
) -> Result<(StatusCode, Json<UserRecord>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(identities::add_user(&state.ledger, &me, &req).await?),
    ))
}
