//! Sending a browser to an identity provider's authorization endpoint (OpenID Connect
//! authorization code with PKCE): for a sign-in, or for the re-authentication of a pending
//! signature. A leaf of the UI's OIDC pages: the sign-in routes (`oidc`) and the sign page
//! (`sign`) both start here; the provider's callback (`oidc`) finishes either.

use super::{message_page, set_cookie_with};
use crate::activity::{Attempt, PENDING, PendingSignature};
use crate::state::AppState;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use maud::html;
use sha2::{Digest, Sha256};
use std::time::Instant;

/// The cookie binding a sign-in attempt to the browser that started it.
pub const OIDC_COOKIE: &str = "ward_oidc";
/// The path of the sign-in routes (the cookie's `Path`).
pub const OIDC_PATH: &str = "/ui/sign-in/oidc";

pub(super) fn random() -> Option<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok().map(|()| bytes)
}

pub(super) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(super) fn sha256(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

/// Sends the browser to `client`'s authorization endpoint for a sign-in, or (`sign` given) for
/// the re-authentication of a pending signature — then with `prompt=login` and `max_age=0`, so
/// the provider asks the person to sign in again and says when (`auth_time`). The attempt
/// (state, nonce, PKCE verifier, the browser binding, the pending signature) stays here.
pub(super) fn begin(
    state: &AppState,
    client: &crate::oidc::BrowserClient,
    sign: Option<Box<PendingSignature>>,
    secure: bool,
) -> Response {
    let (Some(s), Some(n), Some(v), Some(bind)) = (random(), random(), random(), random()) else {
        return message_page(StatusCode::SERVICE_UNAVAILABLE, "No randomness", "Retry in a moment.");
    };
    let (state_param, nonce, verifier, binding) = (b64(&s), b64(&n), b64(&v), b64(&bind));
    let challenge = b64(&sha256(&verifier));
    let scope = client.scopes.join(" ");
    let mut query = vec![
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("scope", scope.as_str()),
        ("state", state_param.as_str()),
        ("nonce", nonce.as_str()),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let signing = sign.is_some();
    if signing {
        query.extend([("prompt", "login"), ("max_age", "0")]);
    }
    let location = crate::oidc::with_query(&client.authorization_endpoint, &query);
    let stored = state.ui_oidc.insert(
        state_param,
        Attempt {
            provider: client.provider.clone(),
            nonce,
            verifier,
            browser_sha256: sha256(&binding),
            started: Instant::now(),
            sign,
        },
    );
    if !stored {
        return message_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Too many sign-ins in progress",
            "Retry in a few minutes.",
        );
    }
    let mut resp = match signing {
        // The sign form's answer is a page that goes on to the provider, not a redirect: a
        // browser applies the page's `form-action 'self'` to where a form submission is
        // redirected, and would stop there. The page leaves by a link and a `Refresh`.
        true => {
            let body = super::layout(
                "Confirm it is you",
                None,
                html! {
                    h1 { "Confirm it is you at " (client.provider) }
                    p { "Your signature waits here. Sign in again at " (client.provider) "; you come back to the signed record." }
                    p { a #continue href=(location) { "Continue to " (client.provider) } }
                },
            );
            let mut r = super::html_response(body).into_response();
            if let Ok(v) = header::HeaderValue::from_str(&format!("0; url={location}")) {
                r.headers_mut().insert(header::REFRESH, v);
            }
            r
        }
        false => Redirect::to(&location).into_response(),
    };
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie_with(
            OIDC_COOKIE,
            &binding,
            OIDC_PATH,
            PENDING.as_secs() as i64,
            secure,
            "Lax",
        ),
    );
    resp
}
