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

/// The caller's identity and roles.
#[utoipa::path(get, path = "/api/v1/whoami", tag = "identities", security(("bearer" = [])), responses((status = 200, body = Identity)))]
pub(super) async fn whoami(Extension(me): Extension<Identity>) -> Json<Identity> {
    Json(me)
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
