//! OIDC sign-in in the browser: the authorization-code flow with PKCE (S256), for the `[[oidc]]`
//! providers that declare `client_id` and `redirect_uri` (a "Sign in with NAME" link each).
//!
//! `GET /ui/sign-in/oidc/{provider}` draws a random `state`, `nonce` and PKCE verifier (256 bits
//! each), keeps them server-side under the state ([`crate::activity::Pending`], ten minutes, used once) bound to
//! the browser by a random secret in the `ward_oidc` cookie (HttpOnly, `SameSite=Lax` so that the
//! provider's redirect back carries it, `Path=/ui/sign-in/oidc`), and sends the browser (303) to
//! the provider's authorization endpoint. `GET /ui/sign-in/oidc/callback` takes the attempt named
//! by `state` (gone afterwards, whatever happens: a replayed callback is refused), checks the
//! cookie, exchanges the code with the verifier at the token endpoint, verifies the ID token
//! ([`crate::oidc::Verifier::verify_id_token`]: signature by the provider's JWK set, issuer,
//! audience = client id, expiry, the nonce), maps it to an identity by the provider's claim
//! mapping, and starts a Ward session for that person ([`ward_app::identities::start_oidc_session`],
//! `session.started`) kept in the same `ward_session` cookie as a password sign-in. Every refusal
//! is recorded as `auth.failed` with a reason code (`oidc_state`, `oidc_code`, `oidc_nonce`,
//! `oidc_id_token`, `oidc_denied`, `oidc_not_person`, `oidc_token_endpoint`) — never a code or a
//! token — and shown as a plain page.
//!
//! The sign page re-authenticates OIDC people through the same client and callback
//! ([`begin`] with a pending signature: `prompt=login`, `max_age=0`, five minutes): the callback
//! hands that attempt's ID token to [`super::sign::finish`] instead of starting a session.

use super::{IDLE_SECS, SESSION_COOKIE, clear_cookie, cookie, failure, html_response, layout, message_page};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use serde_json::json;
use std::net::IpAddr;
/// The route the provider sends the browser back to.
pub const CALLBACK: &str = "/ui/sign-in/oidc/callback";
const ROUTE: &str = "GET /ui/sign-in/oidc/callback";
use super::authorize::{OIDC_COOKIE, OIDC_PATH, begin, sha256};

/// The "Sign in with NAME" links of the sign-in page: (name, path).
pub fn links(state: &AppState) -> Vec<(String, String)> {
    state
        .oidc
        .as_deref()
        .map(|v| {
            v.browser_clients()
                .map(|b| {
                    (
                        b.provider.clone(),
                        format!("{OIDC_PATH}/{}", crate::oidc::percent_encode(&b.provider)),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /ui/sign-in/oidc/{provider}`: starts a sign-in at the provider.
pub async fn start(
    State(state): State<AppState>,
    super::OverTls(secure): super::OverTls,
    Path(provider): Path<String>,
) -> Response {
    let Some(client) = state.oidc.as_deref().and_then(|v| v.browser_client(&provider)) else {
        return message_page(
            StatusCode::NOT_FOUND,
            "No such sign-in provider",
            "Sign in from the sign-in page's links.",
        );
    };
    begin(&state, client, None, secure)
}

/// What the provider sends back.
#[derive(Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// A refused callback: recorded as `auth.failed` (`reason`, the provider), shown as a page, the
/// attempt's cookie cleared.
struct Refuser<'a> {
    state: &'a AppState,
    ip: IpAddr,
    secure: bool,
}

impl Refuser<'_> {
    async fn refuse(
        &self,
        reason: &str,
        provider: Option<&str>,
        extra: serde_json::Value,
        status: StatusCode,
        message: &str,
    ) -> Response {
        let mut payload = json!({ "provider": provider });
        if let (Some(p), serde_json::Value::Object(more)) = (payload.as_object_mut(), extra) {
            p.extend(more);
        }
        crate::auth::record_failure(self.state, self.ip, ROUTE, reason, payload).await;
        let mut resp = message_page(status, message, "Start again from the sign-in page.");
        resp.headers_mut()
            .append(header::SET_COOKIE, clear_cookie(OIDC_COOKIE, OIDC_PATH, self.secure));
        resp
    }
}

/// An OAuth error code as the provider gave it, when well-formed (nothing else is recorded).
fn error_code(e: &str) -> Option<&str> {
    (!e.is_empty() && e.len() <= 64 && e.bytes().all(|c| c.is_ascii_lowercase() || c == b'_')).then_some(e)
}

/// `GET /ui/sign-in/oidc/callback`: finishes a sign-in (see the module documentation).
pub async fn callback(
    State(state): State<AppState>,
    crate::auth::SourceIp(ip): crate::auth::SourceIp,
    super::OverTls(secure): super::OverTls,
    headers: HeaderMap,
    Query(cb): Query<Callback>,
) -> Response {
    if let Some(limited) = crate::auth::refuse_if_limited(&state, ip) {
        let mut resp = message_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed attempts from this address",
            "Wait a minute.",
        );
        if let Some(retry) = limited.headers().get(header::RETRY_AFTER) {
            resp.headers_mut().insert(header::RETRY_AFTER, retry.clone());
        }
        return resp;
    }
    let forbidden = StatusCode::FORBIDDEN;
    let r = Refuser {
        state: &state,
        ip,
        secure,
    };
    // The browser that calls back must be the one that started the attempt; only then is the
    // attempt used up (a `state` learnt elsewhere cancels nothing).
    let browser = cookie(&headers, OIDC_COOKIE, OIDC_PATH, secure).map(|b| sha256(&b));
    let taken = match cb.state.as_deref() {
        Some(s) => state.ui_oidc.take_if(s, |a| {
            use subtle_eq::ConstantTimeEq;
            browser.is_some_and(|b| b.ct_eq(&a.browser_sha256))
        }),
        None => crate::activity::Taken::Unknown,
    };
    let attempt = match taken {
        crate::activity::Taken::Attempt(a) => a,
        crate::activity::Taken::Unknown => {
            return r
                .refuse(
                    "oidc_state",
                    None,
                    json!({}),
                    forbidden,
                    "This sign-in or re-authentication is unknown, expired or already used",
                )
                .await;
        }
        crate::activity::Taken::OtherBrowser(provider) => {
            return r
                .refuse(
                    "oidc_state",
                    Some(&provider),
                    json!({ "browser": "mismatch" }),
                    forbidden,
                    "This sign-in was started in another browser",
                )
                .await;
        }
    };
    let provider = attempt.provider.as_str();
    if let Some(e) = cb.error.as_deref() {
        return r
            .refuse(
                "oidc_denied",
                Some(provider),
                json!({ "error": error_code(e) }),
                forbidden,
                "The identity provider did not sign you in",
            )
            .await;
    }
    let Some(code) = cb.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 4096) else {
        return r
            .refuse(
                "oidc_code",
                Some(provider),
                json!({}),
                StatusCode::BAD_REQUEST,
                "The identity provider sent no authorization code",
            )
            .await;
    };
    let Some(verifier_svc) = state.oidc.clone() else {
        return message_page(StatusCode::NOT_FOUND, "No such sign-in provider", "");
    };
    let id_token = match verifier_svc.exchange_code(provider, code, &attempt.verifier).await {
        Ok(t) => t,
        Err(e) => {
            let (status, message) = match e.reason {
                "oidc_code" => (forbidden, "The identity provider refused this sign-in's code"),
                _ => (
                    StatusCode::BAD_GATEWAY,
                    "The identity provider's token endpoint could not be used",
                ),
            };
            return r
                .refuse(e.reason, Some(provider), json!({ "error": e.error }), status, message)
                .await;
        }
    };
    if let Some(pending) = attempt.sign {
        let mut resp = super::sign::finish(&state, &verifier_svc, provider, &id_token, &attempt.nonce, *pending).await;
        resp.headers_mut()
            .append(header::SET_COOKIE, clear_cookie(OIDC_COOKIE, OIDC_PATH, secure));
        return resp;
    }
    let (identity, subject) = match verifier_svc.verify_id_token(provider, &id_token, &attempt.nonce).await {
        Ok(verified) => verified,
        Err(e) => {
            let reason = match &e {
                crate::oidc::JwtError::Invalid(what) if what == "nonce" => "oidc_nonce",
                _ => "oidc_id_token",
            };
            return r
                .refuse(
                    reason,
                    Some(provider),
                    json!({ "detail": e.reason() }),
                    forbidden,
                    "The identity provider's ID token was refused",
                )
                .await;
        }
    };
    if identity.kind != ward_ledger::ActorKind::Human {
        return r
            .refuse(
                "oidc_not_person",
                Some(provider),
                json!({}),
                forbidden,
                "Only people sign in to the web UI",
            )
            .await;
    }
    let session = match ward_app::identities::start_oidc_session(&state.ledger, &identity, provider, &subject).await {
        Ok(s) => s,
        Err(e) => return failure(e),
    };
    // The idle clock starts now, as for a password sign-in.
    if let Err(e) = super::start_clock(&state, &session.token).await {
        return failure(e);
    }
    // A page, not a redirect: the browser arrived here from the provider's site, and a
    // SameSite=Strict cookie set now is not sent on a redirect in that same navigation; the
    // refresh below is this site's own navigation, which sends it.
    let body = layout(
        "Signed in",
        None,
        html! {
            meta http-equiv="refresh" content="0;url=/";
            h1 { "Signed in" }
            p { "Signed in as " (identity.id) ". " a href="/" { "Continue to the release board" } }
        },
    );
    let mut resp = html_response(body).into_response();
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        super::set_cookie(SESSION_COOKIE, &session.token, "/", IDLE_SECS, secure),
    );
    h.append(header::SET_COOKIE, clear_cookie(OIDC_COOKIE, OIDC_PATH, secure));
    resp
}

mod subtle_eq {
    /// Constant-time equality of two digests.
    pub trait ConstantTimeEq {
        fn ct_eq(&self, other: &Self) -> bool;
    }

    impl ConstantTimeEq for [u8; 32] {
        fn ct_eq(&self, other: &Self) -> bool {
            self.iter().zip(other).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::authorize::{b64, random};
    use super::*;
    use crate::activity::{Attempt, PENDING, Pending, PendingSignature};
    use std::time::{Duration, Instant};

    fn attempt(started: Instant) -> Attempt {
        Attempt {
            provider: "p".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            browser_sha256: sha256("b"),
            started,
            sign: None,
        }
    }

    #[test]
    fn an_attempt_is_taken_once_and_not_after_it_expired() {
        let p = Pending::default();
        assert!(p.insert("s1".into(), attempt(Instant::now())));
        assert!(
            matches!(p.take_if("s1", |_| true), crate::activity::Taken::Attempt(_)),
            "the first callback"
        );
        assert!(
            matches!(p.take_if("s1", |_| true), crate::activity::Taken::Unknown),
            "a replayed callback"
        );
        assert!(matches!(
            p.take_if("unknown", |_| true),
            crate::activity::Taken::Unknown
        ));
        if let Some(old) = Instant::now().checked_sub(PENDING + Duration::from_secs(1)) {
            assert!(p.insert("s2".into(), attempt(old)));
            assert!(
                matches!(p.take_if("s2", |_| true), crate::activity::Taken::Unknown),
                "expired"
            );
        }
    }

    #[test]
    fn a_pending_signature_expires_with_the_re_authentication_window() {
        let p = Pending::default();
        let Some(old) = Instant::now().checked_sub(crate::activity::SIGN_PENDING + Duration::from_secs(1)) else {
            return;
        };
        let signing = |started| Attempt {
            sign: Some(Box::new(PendingSignature {
                session: "s".into(),
                identity: "staff:bob@example.org".into(),
                change: "CHG-1".into(),
                meaning: "approved".into(),
                reject: false,
                comment: String::new(),
                manifest: "sha256:00".into(),
                asked_at: 0,
            })),
            ..attempt(started)
        };
        assert!(p.insert("sign-old".into(), signing(old)));
        assert!(
            matches!(p.take_if("sign-old", |_| true), crate::activity::Taken::Unknown),
            "an expired pending signature"
        );
        assert!(p.insert("sign-in-old".into(), attempt(old)));
        assert!(
            matches!(p.take_if("sign-in-old", |_| true), crate::activity::Taken::Attempt(_)),
            "a sign-in of that age still waits"
        );
        assert!(p.insert("sign-new".into(), signing(Instant::now())));
        assert!(matches!(
            p.take_if("sign-new", |_| true),
            crate::activity::Taken::Attempt(_)
        ));
        assert!(
            matches!(p.take_if("sign-new", |_| true), crate::activity::Taken::Unknown),
            "used once"
        );
    }

    #[test]
    fn random_values_are_256_bits_and_differ() {
        let (a, b) = (random().map(|r| b64(&r)), random().map(|r| b64(&r)));
        assert_eq!(a.as_deref().map(str::len), Some(43));
        assert_ne!(a, b);
    }
}
