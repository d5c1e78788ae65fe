//! Authentication and authorisation of every request, in one middleware.
//!
//! The route's rule comes from [`crate::access::ROUTES`] (a route without a rule is refused:
//! fail closed). Public routes pass; others need `Authorization: Bearer <token>`, and the
//! token's identity must hold a role that [`ward_core::Role::permits`] the route's action.
//! Authentication failures are counted by reason, limited per source address, and the first
//! [`FAILURE_LIMIT`] (by default) per source and window are recorded in the log as `auth.failed`.
//!
//! The limiter counts and throttles only unauthenticated attempts: a request whose token is
//! valid is never refused with 429 because of failures from its address (someone else behind
//! the same NAT or proxy); a missing or invalid token from a limited address gets 429, and so
//! does every sign-in attempt (`POST /api/v1/sessions`, valid password or not) — passwords are
//! also limited per person by the signing lockout (`ward_app::reauth`).

use crate::access::{Access, rule_for};
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use ward_core::Identity;
use ward_ledger::{Actor, ActorKind, NewEvent};

pub use crate::limiter::{FAILURE_LIMIT, FAILURE_WINDOW, FailureLimiter};

/// The caller's source address (unspecified when the server was not started with connect info).
#[derive(Clone, Copy, Debug)]
pub struct SourceIp(pub IpAddr);

/// When the bearer credential the request presented ends (Unix seconds): a token's expiry, a
/// provider token's `exp`; `None` for a token that does not expire. `GET /api/v1/whoami` says it.
#[derive(Clone, Copy, Debug)]
pub struct CredentialExpiry(pub Option<i64>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for SourceIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<SourceIp, Self::Rejection> {
        Ok(SourceIp(source_ip(&parts.extensions)))
    }
}

fn source_ip(ext: &axum::http::Extensions) -> IpAddr {
    ext.get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        message,
        "send `Authorization: Bearer <token>` (an administrator creates API tokens; people sign in with POST /api/v1/sessions)",
    )
}

/// `429` (with `Retry-After`) when `ip` has used up its failures, counted as `rate_limited`.
pub fn refuse_if_limited(state: &AppState, ip: IpAddr) -> Option<Response> {
    if !state.limiter.blocked(ip) {
        return None;
    }
    state.metrics.auth_failure("rate_limited");
    let mut resp = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many failed authentication attempts from this address",
        format!("wait {} seconds and use valid credentials", FAILURE_WINDOW.as_secs()),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(FAILURE_WINDOW.as_secs()));
    Some(resp)
}

/// Counts a failed authentication by `reason`, charges it to `ip`, and records it in the log
/// as `auth.failed` while `ip` is within its limit (so a flood cannot flood the log).
/// `extra` is merged into the event's payload.
pub async fn record_failure(state: &AppState, ip: IpAddr, route: &str, reason: &str, extra: serde_json::Value) {
    state.metrics.auth_failure(reason);
    let n = state.limiter.record(ip);
    if n > state.limiter.limit() {
        return;
    }
    let base = json!({ "reason": reason, "source": ip.to_string(), "attempt_in_window": n });
    let mut payload = base.clone();
    if let (Some(p), serde_json::Value::Object(more)) = (payload.as_object_mut(), extra) {
        p.extend(more);
    }
    let event = |payload| NewEvent {
        actor: Actor {
            id: format!("anonymous:{ip}"),
            kind: ActorKind::Automation,
        },
        kind: "auth.failed".into(),
        subject: format!("route:{route}"),
        payload,
    };
    match state.ledger.append(event(payload)).await {
        Ok(_) => {}
        // What the caller typed (a user name) looked like PHI or a secret: the attempt is still
        // recorded, without it — an audit trail never loses a failure to the guard.
        Err(ward_store::StoreError::Refused(_)) => {
            let mut withheld = base;
            withheld["withheld"] = json!(true);
            if let Err(e) = state.ledger.append(event(withheld)).await {
                tracing::warn!(error = %e, "could not record an authentication failure");
            }
        }
        Err(e) => tracing::warn!(error = %e, "could not record an authentication failure"),
    }
}

/// Records `access.denied`: `identity` asked for `route` ("METHOD /path") whose `action` its
/// roles do not permit (the API's middleware and the web UI's pages alike).
pub async fn record_denied(state: &AppState, identity: &Identity, route: &str, action: ward_core::Action) {
    let roles: Vec<&str> = identity.roles.iter().map(|r| r.as_str()).collect();
    let event = NewEvent {
        actor: identity.actor(),
        kind: "access.denied".into(),
        subject: format!("route:{route}"),
        payload: json!({ "action": action, "roles": roles }),
    };
    if let Err(e) = state.ledger.append(event).await {
        tracing::warn!(error = %e, "could not record a denied access");
    }
}

/// Signs a local user in with a password — the one password sign-in, behind
/// `POST /api/v1/sessions` and the web UI's `POST /ui/sign-in`: refused with 429 while `ip` is
/// limited, 423 while the person is locked out (`ward_app::reauth`), 401 for an unknown user or a
/// wrong password (counted, charged to `ip`, and recorded as `auth.failed` under `route`); a
/// session token (`session.started`) otherwise.
pub async fn password_sign_in(
    state: &AppState,
    ip: IpAddr,
    route: &str,
    user: &str,
    password: &str,
) -> Result<ward_app::identities::CreatedToken, Response> {
    if let Some(refused) = refuse_if_limited(state, ip) {
        return Err(refused);
    }
    let well_formed = ward_app::identities::check_name("user", user).is_ok();
    let locked = match well_formed {
        true => ward_app::reauth::lockout(
            &state.ledger,
            &format!("user:{user}"),
            jiff::Timestamp::now().as_second(),
        )
        .await
        .map_err(|e| ApiError::from(e).into_response())?
        .is_some(),
        false => false,
    };
    if locked {
        return Err(ApiError::new(
            StatusCode::LOCKED,
            "signing_locked",
            "this user is locked out after repeated failed attempts",
            "wait for the lockout to lapse, or ask an administrator to lift it: ward user unlock NAME",
        )
        .into_response());
    }
    let checked = ward_app::identities::check_password(&state.ledger, user, password)
        .await
        .map_err(|e| ApiError::from(e).into_response())?;
    match checked {
        Some(user) => ward_app::identities::start_session(&state.ledger, &user)
            .await
            .map_err(|e| ApiError::from(e).into_response()),
        None => {
            // Only a well-formed user name is recorded: whatever an unauthenticated caller types
            // (a password in the wrong field, free text) never reaches the log.
            let user = well_formed.then_some(user);
            record_failure(state, ip, route, "bad_password", json!({ "user": user })).await;
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "unknown user or wrong password",
                "check the user name and password",
            )
            .into_response())
        }
    }
}

/// The middleware: attaches the caller's [`Identity`] to the request or refuses it.
pub async fn authorize(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let ip = source_ip(req.extensions());
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string());
    let Some(route) = route else {
        // Unmatched paths fall through to the JSON 404.
        return next.run(req).await;
    };
    let action = match rule_for(req.method().as_str(), &route) {
        Some(Access::Public) => return next.run(req).await,
        Some(Access::Requires(action)) => action,
        // A path served for other methods only (`GET /api/v1/artifacts`: a helper's request
        // was answered as a server bug).
        None if !crate::access::methods_for(&route).is_empty() => {
            return ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("{} is not served for {}", req.method(), route),
                format!("use {}", crate::access::methods_for(&route).join(" or ")),
            )
            .into_response();
        }
        None => {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "no_rule",
                format!("{} {route} has no authorisation rule", req.method()),
                "this is a server bug: every route needs a rule in routes::ROUTES",
            )
            .into_response();
        }
    };
    // The token is checked before the limiter: failures are charged to a source only for
    // unauthenticated attempts, and only those are throttled, so a valid token keeps working
    // from an address someone else exhausted (a shared NAT or proxy). Guessing gains nothing:
    // a token's secret has 256 random bits, and passwords are tried only on the sign-in route,
    // which stays limited per source and per person (`reauth`).
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_string);
    let outcome = match &bearer {
        None => Err("missing"),
        Some(b) if b.starts_with("ward_") || state.oidc.is_none() => {
            match state.directory.authenticate(&state.ledger, b).await {
                Ok(Ok(identity)) => {
                    // A web session's token keeps the UI's idle timeout when sent as a bearer.
                    let id = ward_core::token::ApiToken::parse(b).map(|t| t.id).unwrap_or_default();
                    let now = state.ui_activity.now();
                    match state
                        .ui_activity
                        .bearer_allowed(state.ledger.store().as_ref(), &id, now, crate::activity::IDLE_SECS)
                        .await
                    {
                        Ok(true) => Ok(identity),
                        Ok(false) => Err("idle"),
                        Err(e) => return ApiError::from(e).into_response(),
                    }
                }
                Ok(Err(failure)) => Err(failure.as_str()),
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
        Some(jwt) => match state.oidc.as_ref().map(|v| v.verify(jwt)) {
            Some(check) => check.await.map_err(|e| e.reason()),
            None => Err("malformed"),
        },
    };
    let identity: Identity = match outcome {
        Ok(identity) => identity,
        Err(reason) => {
            if let Some(refused) = refuse_if_limited(&state, ip) {
                return refused;
            }
            record_failure(&state, ip, &format!("{} {route}", req.method()), reason, json!({})).await;
            let message = match reason {
                "missing" => "this route needs a bearer token",
                "expired" => "the token has expired",
                "revoked" => "the token was revoked",
                "idle" => "this web session has been idle too long; sign in again",
                _ => "the token is not valid",
            };
            return unauthenticated(message).into_response();
        }
    };
    if !identity.may(action) {
        let roles: Vec<&str> = identity.roles.iter().map(|r| r.as_str()).collect();
        record_denied(&state, &identity, &format!("{} {route}", req.method()), action).await;
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "{} (roles: {}) may not {} ({action:?}); the roles that may: {}",
                identity.id,
                roles.join(", "),
                action.in_words(),
                ward_core::authz::Role::ALL
                    .into_iter()
                    .filter(|r| r.permits(action))
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "ask an admin for a token with a role that allows it",
        )
        .into_response();
    }
    // Who the credential stands for at the provider: an OIDC session keeps it (a local user's
    // or an automation's token has none), read from the entry the directory has just cached for
    // it — no read on the request path; a provider token says it itself (verified above).
    let subject = match &bearer {
        Some(b) if identity.kind == ward_ledger::ActorKind::Human && !identity.id.starts_with("user:") => {
            match ward_core::token::ApiToken::parse(b) {
                Ok(t) => state.directory.subject(&t.id),
                Err(_) => crate::oidc::unverified_subject(b),
            }
        }
        _ => None,
    };
    let expiry = match &bearer {
        Some(b) => match ward_core::token::ApiToken::parse(b) {
            Ok(t) => state.directory.expires_at(&t.id),
            Err(_) => crate::oidc::unverified_expiry(b),
        },
        None => None,
    };
    req.extensions_mut().insert(identity);
    req.extensions_mut().insert(CredentialExpiry(expiry));
    if let Some(b) = &bearer {
        req.extensions_mut().insert(ward_app::reauth::PresentedCredential(
            ward_app::reauth::credential_digest(b),
            subject,
        ));
    }
    next.run(req).await
}
