//! The web UI: pages rendered on the server with maud (no JavaScript, no external resources),
//! mounted at `/` and under `/ui/`.
//!
//! Invariant: a page reads through the same ward-app services as the API route that shows the
//! same data, under the same role check ([`ward_core::Identity::may`] with the route's
//! [`Action`], a refusal recorded as `access.denied`), and shows free text resolved by
//! [`ward_app::documents::shown`]. Nothing here reads the store directly. Everything a person
//! wrote is escaped by maud (`PreEscaped` is never used on data).
//!
//! Sessions: `POST /ui/sign-in` is the API's password sign-in ([`crate::auth::password_sign_in`]:
//! the same per-source limiter and per-person lockout) and keeps the session token it returns in
//! the `ward_session` cookie (HttpOnly, SameSite=Strict, Path=/; over TLS Secure and named
//! `__Host-ward_session`, see [`wire_name`]); the OIDC
//! sign-in (`oidc`: authorization code with PKCE) keeps its session in the same cookie. The token is
//! checked on every request exactly as a bearer token ([`ward_app::identities::Directory`]): expiry,
//! revocation; and a session idle for [`IDLE_SECS`] is refused ([`Activity`]). Every form carries a CSRF token, the HMAC-SHA256 of the session secret (or of the
//! sign-in form's nonce) under a fixed label; a POST without it is refused with 403.

mod audit;
mod authorize;
mod lists;
mod metrics;
mod oidc;
mod pages;
mod release;
mod rollouts;
mod sign;

use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, Form, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Router, http::HeaderName};
use hmac::{Hmac, KeyInit, Mac};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use sha2::Sha256;
use tower_http::set_header::SetResponseHeaderLayer;
use ward_core::{Action, Identity};
use ward_ledger::ActorKind;

/// The session cookie.
pub const SESSION_COOKIE: &str = "ward_session";
/// The sign-in form's nonce cookie (the CSRF token of the sign-in form is derived from it).
pub const SIGN_IN_COOKIE: &str = "ward_sign_in";
/// Idle timeout: a session without a page view for this long is refused (by every process
/// sharing the store, see [`Activity`]; the browser also forgets the cookie, whose `Max-Age`
/// each page renews), and so is its token sent to the API as a bearer token. The server ends the
/// session [`ward_app::identities::SESSION_TTL_SECS`] after sign-in whatever happens.
pub use crate::activity::{Activity, IDLE, IDLE_SECS};
/// The form field holding the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// The Content-Security-Policy of every UI response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";
/// Largest form body.
const FORM_LIMIT: usize = 16 * 1024;
const CSRF_LABEL: &[u8] = b"ward-ui-csrf-v1";
const STYLE: &str = include_str!("style.css");
/// The one script (vendored, served from [`SCRIPT_PATH`]; pages work without it): local times,
/// and the live rollout view's server-sent events.
const SCRIPT: &str = include_str!("live.js");
/// Where the script is served.
pub const SCRIPT_PATH: &str = "/ui/live.js";

/// Who may open each page: method, path template, the action the API requires for the same data.
pub const PAGES: &[(&str, &str, Action)] = &[
    ("GET", "/", Action::ChangeRead),
    ("GET", "/ui/changes/{id}", Action::ChangeRead),
    ("GET", "/ui/inbox", Action::ChangeRead),
    ("GET", pages::EVIDENCE, Action::EvidenceRead),
    ("GET", sign::SIGN_PAGE, Action::ChangeApprove),
    ("POST", sign::SIGN_PAGE, Action::ChangeApprove),
    ("GET", metrics::METRICS_PAGE, Action::MetricsRead),
    ("GET", rollouts::LIST, Action::ChangeRead),
    ("GET", rollouts::ONE, Action::ChangeRead),
    ("GET", rollouts::EVENTS, Action::ChangeRead),
    ("POST", rollouts::COMMAND, Action::Promote),
    ("POST", release::GATE, Action::GateCheck),
    ("POST", release::PROMOTE, Action::Promote),
    ("POST", release::ROLLOUT, Action::Promote),
    ("POST", release::DRILL, Action::Promote),
    ("GET", lists::DEPLOYMENTS, Action::ChangeRead),
    ("GET", lists::WAIVERS, Action::ChangeRead),
    ("GET", lists::REVIEWS, Action::ChangeRead),
    ("GET", audit::SEARCH, Action::LogExport),
    ("GET", audit::POPULATION, Action::LogExport),
    ("GET", audit::POPULATION_FILE, Action::LogExport),
    ("GET", audit::BUNDLE, Action::LogExport),
    ("GET", audit::LOG, Action::LogRead),
];

/// The UI's routes with their security headers, metrics, time budget and body limit.
pub fn router(state: AppState) -> Router {
    let headers: [(HeaderName, &'static str); 6] = [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
    ];
    let mut app = Router::new()
        .route("/", get(pages::board))
        .route("/ui/style.css", get(style))
        .route("/ui/sign-in", get(sign_in_page).post(sign_in))
        .route(oidc::CALLBACK, get(oidc::callback))
        .route("/ui/sign-in/oidc/{provider}", get(oidc::start))
        .route("/ui/sign-out", post(sign_out))
        .route("/ui/changes/{id}", get(pages::change))
        .route("/ui/inbox", get(pages::inbox))
        .route(pages::EVIDENCE, get(pages::evidence_document))
        .route(sign::SIGN_PAGE, get(sign::sign_page).post(sign::sign))
        .route(metrics::METRICS_PAGE, get(metrics::metrics_page))
        .route(SCRIPT_PATH, get(script))
        .route(rollouts::LIST, get(rollouts::list))
        .route(rollouts::ONE, get(rollouts::one))
        .route(rollouts::EVENTS, get(rollouts::events))
        .route(rollouts::COMMAND, post(rollouts::command))
        .route(release::GATE, post(release::gate))
        .route(release::PROMOTE, post(release::promote))
        .route(release::ROLLOUT, post(release::rollout))
        .route(release::DRILL, post(release::drill))
        .route(lists::DEPLOYMENTS, get(lists::deployments))
        .route(lists::WAIVERS, get(lists::waivers))
        .route(lists::REVIEWS, get(lists::reviews))
        .route(audit::SEARCH, get(audit::search))
        .route(audit::POPULATION, get(audit::population))
        .route(audit::POPULATION_FILE, get(audit::population_file))
        .route(audit::BUNDLE, get(audit::bundle))
        .route(audit::LOG, get(audit::log))
        .layer(middleware::from_fn(crate::layers::timeout))
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .layer(middleware::from_fn(plain_errors))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                message_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server log has the details.",
                )
            },
        ))
        .layer(middleware::from_fn_with_state(state.clone(), crate::layers::track))
        .with_state(state);
    for (name, value) in headers {
        app = app.layer(SetResponseHeaderLayer::overriding(
            name,
            HeaderValue::from_static(value),
        ));
    }
    app
}

async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

async fn script() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], SCRIPT).into_response()
}

/// A time as `<time>`: RFC 3339 UTC in `datetime`, the UTC time as text and on hover (the
/// script rewrites the text to the viewer's zone); the text as recorded when it does not parse.
pub(super) fn time(s: &str) -> Markup {
    match s.parse::<jiff::Timestamp>() {
        Ok(t) => time_of(t),
        Err(_) => html! { (s) },
    }
}

/// A time given in Unix seconds, as [`time`].
pub(super) fn time_secs(secs: i64) -> Markup {
    match jiff::Timestamp::from_second(secs) {
        Ok(t) => time_of(t),
        Err(_) => html! { (secs) },
    }
}

fn time_of(t: jiff::Timestamp) -> Markup {
    let t = t.round(jiff::Unit::Second).unwrap_or(t);
    let utc = t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string();
    html! { time datetime=(t.to_string()) title=(utc) { (utc) } }
}

/// Extractor rejections (a malformed form, a body too large) become a short page, not JSON.
async fn plain_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/"));
    let status = resp.status();
    if is_html || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    message_page(
        status,
        status.canonical_reason().unwrap_or("Refused"),
        "The request could not be handled.",
    )
}

/// The signed-in person of a page.
pub struct Viewer {
    /// Who.
    pub identity: Identity,
    /// The CSRF token of their forms.
    pub csrf: String,
    secret: String,
    secure: bool,
}

impl Viewer {
    /// The session's token (for the re-authentication context of a signature).
    fn secret(&self) -> &str {
        &self.secret
    }

    /// Whether `presented` is this session's CSRF token.
    fn csrf_ok(&self, presented: &str) -> bool {
        csrf_matches(&self.secret, presented)
    }
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        let secure = parts.extensions.get::<crate::tls::ServedOverTls>().is_some();
        let unauthenticated = || match parts.method {
            Method::GET | Method::HEAD => Redirect::to("/ui/sign-in").into_response(),
            _ => refused("Sign in first: this form needs a signed-in session."),
        };
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE, "/", secure) else {
            return Err(unauthenticated());
        };
        let token_id = ward_core::token::ApiToken::parse(&secret)
            .map(|t| t.id)
            .unwrap_or_default();
        match session(state, &secret, &token_id, Use::View).await {
            Ok(Some(identity)) => Ok(Viewer {
                identity,
                csrf: csrf_token(&secret),
                secret,
                secure,
            }),
            Ok(None) => {
                let mut resp = unauthenticated();
                resp.headers_mut()
                    .append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE, "/", secure));
                Err(resp)
            }
            Err(e) => Err(failure(e)),
        }
    }
}

/// What a session is checked for.
#[derive(Clone, Copy)]
pub(crate) enum Use {
    /// A page view or form: renews the idle clock.
    View,
    /// An open live stream's periodic check: renews nothing, so watching a page does not keep
    /// an unattended session alive.
    Recheck,
}

/// The one check of a web session: the token as the API checks a bearer (expiry, revocation),
/// a person's, and within the idle timeout ([`Activity`]). `None` when refused.
pub(crate) async fn session(
    state: &AppState,
    secret: &str,
    token_id: &str,
    how: Use,
) -> Result<Option<Identity>, ward_app::AppError> {
    let identity = match state.directory.authenticate(&state.ledger, secret).await? {
        Ok(identity) if identity.kind == ActorKind::Human => identity,
        Ok(_) | Err(_) => return Ok(None),
    };
    let (activity, store) = (&state.ui_activity, state.ledger.store().as_ref());
    let now = activity.now();
    let active = match how {
        Use::View => activity.touch(store, token_id, now, IDLE_SECS).await?,
        Use::Recheck => activity.still_active(store, token_id, now, IDLE_SECS).await?,
    };
    Ok(active.then_some(identity))
}

/// Starts the idle clock of a session just signed in, so its token is a web session's from the
/// first request, for the API too ([`Activity::bearer_allowed`]) and for every process sharing
/// the store.
pub(crate) async fn start_clock(state: &AppState, token: &str) -> Result<(), ward_app::AppError> {
    if let Ok(t) = ward_core::token::ApiToken::parse(token) {
        let now = state.ui_activity.now();
        state
            .ui_activity
            .touch(state.ledger.store().as_ref(), &t.id, now, IDLE_SECS)
            .await?;
    }
    Ok(())
}

/// Whether the request arrived over TLS (cookies are then `Secure`).
struct OverTls(bool);

impl<S: Send + Sync> FromRequestParts<S> for OverTls {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<OverTls, Self::Rejection> {
        Ok(OverTls(parts.extensions.get::<crate::tls::ServedOverTls>().is_some()))
    }
}

/// A cookie's name on the wire. Under TLS it carries the prefix browsers enforce: `__Host-`
/// for a cookie of the whole site (Secure, `Path=/`, no `Domain`: a sibling subdomain or a
/// plain-HTTP page cannot set or shadow it), `__Secure-` for one scoped to a narrower path.
/// Over plain HTTP (loopback) the bare name, which browsers would otherwise refuse.
fn wire_name(name: &str, path: &str, secure: bool) -> String {
    match (secure, path) {
        (false, _) => name.to_string(),
        (true, "/") => format!("__Host-{name}"),
        (true, _) => format!("__Secure-{name}"),
    }
}

/// The value of cookie `name` (set for `path`), if the request sent it under its wire name
/// ([`wire_name`]): under TLS an unprefixed cookie of the same name is not read.
fn cookie(headers: &HeaderMap, name: &str, path: &str, secure: bool) -> Option<String> {
    let name = wire_name(name, path, secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name.as_str())
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn csrf_mac(secret: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(CSRF_LABEL);
    mac
}

/// The CSRF token bound to `secret` (a session token, or the sign-in form's nonce).
pub fn csrf_token(secret: &str) -> String {
    hex::encode(csrf_mac(secret).finalize().into_bytes())
}

/// Whether `presented` is the CSRF token bound to `secret` (compared in constant time).
pub fn csrf_matches(secret: &str, presented: &str) -> bool {
    match hex::decode(presented.trim()) {
        Ok(bytes) => csrf_mac(secret).verify_slice(&bytes).is_ok(),
        Err(_) => false,
    }
}

fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    set_cookie_with(name, value, path, max_age, secure, "Strict")
}

fn set_cookie_with(name: &str, value: &str, path: &str, max_age: i64, secure: bool, same_site: &str) -> HeaderValue {
    let name = wire_name(name, path, secure);
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; SameSite={same_site}; Path={path}; Max-Age={max_age}{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn clear_cookie(name: &str, path: &str, secure: bool) -> HeaderValue {
    set_cookie(name, "", path, 0, secure)
}

/// 403 with a plain message (a refused form: CSRF, no session).
fn refused(message: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// An application error as a page with its status; a message quoting PHI or a secret is
/// withheld (as the API's errors are).
fn failure(e: ward_app::AppError) -> Response {
    failure_back(e, "/", "Back to the release board")
}

/// [`failure`] with the way back to where the person acted (`href`, named `back`).
fn failure_back(e: ward_app::AppError, href: &str, back: &str) -> Response {
    let e = crate::error::ApiError::from(e);
    let message = ward_app::identifier::withheld(&e.detail.message).unwrap_or(e.detail.message);
    let hint = ward_app::identifier::withheld(&e.detail.hint).unwrap_or(e.detail.hint);
    message_page_back(e.status, &message, &hint, href, back)
}

fn message_page(status: StatusCode, message: &str, hint: &str) -> Response {
    message_page_back(status, message, hint, "/", "Back to the release board")
}

fn message_page_back(status: StatusCode, message: &str, hint: &str, href: &str, back: &str) -> Response {
    let body = layout(
        "Ward",
        None,
        html! {
            h1 { (message) }
            p { (hint) }
            p { a href=(href) { (back) } }
        },
    );
    (status, html_response(body)).into_response()
}

fn html_response(markup: Markup) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
}

/// A page for `viewer`, renewing the session cookie's idle lifetime.
fn page(viewer: &Viewer, markup: Markup) -> Response {
    let mut resp = html_response(markup).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &viewer.secret, "/", IDLE_SECS, viewer.secure),
    );
    resp
}

/// The role check of a page: the action the API requires for the same data; a refusal is
/// recorded as `access.denied` and shown as 403.
async fn permit(state: &AppState, viewer: &Viewer, method: &str, route: &str) -> Result<(), Response> {
    let Some(&(method, path, action)) = PAGES.iter().find(|(m, p, _)| *m == method && *p == route) else {
        return Err(refused("This page has no authorisation rule (a server bug)."));
    };
    if viewer.identity.may(action) {
        return Ok(());
    }
    crate::auth::record_denied(state, &viewer.identity, &format!("{method} {path}"), action).await;
    Err(message_page(
        StatusCode::FORBIDDEN,
        "Your roles do not allow this page",
        &format!("It needs a role that permits {action:?}; ask an administrator."),
    ))
}

/// The frame of every page: navigation, the signed-in person and the sign-out form.
fn layout(title: &str, viewer: Option<&Viewer>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Ward" }
                link rel="stylesheet" href="/ui/style.css";
                script src=(SCRIPT_PATH) defer {}
            }
            body {
                a.skip href="#main" { "Skip to the content" }
                header.top {
                    span.brand { "Ward" }
                    @if let Some(v) = viewer {
                        nav aria-label="Main" {
                            a href="/" { "Release board" }
                            a href="/ui/inbox" { "Approvals inbox" }
                            a href="/ui/rollouts" { "Rollouts" }
                            a href="/ui/deployments" { "Deployments" }
                            a href="/ui/waivers" { "Waivers" }
                            a href="/ui/reviews" { "Reviews" }
                            a href="/ui/metrics" { "Delivery metrics" }
                            @if v.identity.may(Action::LogExport) { a href="/ui/audit" { "Audit" } }
                        }
                        form method="post" action="/ui/sign-out" {
                            span.muted { "Signed in as " (v.identity.id) " " }
                            input type="hidden" name=(CSRF_FIELD) value=(v.csrf);
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    }
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn sign_in_markup(nonce: &str, user: &str, error: Option<&str>, providers: &[(String, String)]) -> Markup {
    layout(
        "Sign in",
        None,
        html! {
            h1 { "Sign in" }
            @if let Some(e) = error {
                p.error role="alert" { (e) }
            }
            form.signin method="post" action="/ui/sign-in" {
                input type="hidden" name=(CSRF_FIELD) value=(csrf_token(nonce));
                label for="user" { "User name" }
                input #user type="text" name="user" value=(user) autocomplete="username" required;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
            @if !providers.is_empty() {
                ul.providers {
                    @for (name, href) in providers {
                        li { a href=(href) { "Sign in with " (name) } }
                    }
                }
            }
        },
    )
}

/// `GET /ui/sign-in`: the form, with a fresh nonce cookie its CSRF token is bound to.
async fn sign_in_page(State(state): State<AppState>, req: Request) -> Response {
    let (mut parts, _) = req.into_parts();
    if Viewer::from_request_parts(&mut parts, &state).await.is_ok() {
        return Redirect::to("/").into_response();
    }
    let secure = parts.extensions.get::<crate::tls::ServedOverTls>().is_some();
    let mut bytes = [0u8; 32];
    if getrandom::fill(&mut bytes).is_err() {
        return message_page(StatusCode::SERVICE_UNAVAILABLE, "No randomness", "Retry in a moment.");
    }
    let nonce = hex::encode(bytes);
    let mut resp = html_response(sign_in_markup(&nonce, "", None, &oidc::links(&state))).into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SIGN_IN_COOKIE, &nonce, "/ui/sign-in", 3600, secure),
    );
    resp
}

/// `POST /ui/sign-in`: the API's password sign-in; the session token goes into the cookie.
async fn sign_in(
    State(state): State<AppState>,
    crate::auth::SourceIp(ip): crate::auth::SourceIp,
    OverTls(secure): OverTls,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let Some(nonce) = cookie(&headers, SIGN_IN_COOKIE, "/ui/sign-in", secure) else {
        return refused("The sign-in form was not sent from this site, or it expired: reload /ui/sign-in.");
    };
    if !csrf_matches(&nonce, &form.csrf) {
        return refused("The sign-in form's CSRF token is missing or wrong: reload /ui/sign-in.");
    }
    match crate::auth::password_sign_in(&state, ip, "POST /ui/sign-in", &form.user, &form.password).await {
        Ok(session) => {
            if let Err(e) = start_clock(&state, &session.token).await {
                return failure(e);
            }
            let mut resp = Redirect::to("/").into_response();
            let h = resp.headers_mut();
            h.append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, &session.token, "/", IDLE_SECS, secure),
            );
            h.append(header::SET_COOKIE, clear_cookie(SIGN_IN_COOKIE, "/ui/sign-in", secure));
            resp
        }
        Err(refusal) => {
            let status = refusal.status();
            let message = match status {
                StatusCode::UNAUTHORIZED => "Unknown user or wrong password.",
                StatusCode::LOCKED => {
                    "This user is locked out after repeated failed attempts: wait, or ask an administrator (ward user unlock)."
                }
                StatusCode::TOO_MANY_REQUESTS => "Too many failed attempts from this address: wait a minute.",
                _ => "Sign-in failed; the server log has the details.",
            };
            // Only a well-formed user name is shown back (never what else was typed).
            let user = match ward_app::identities::check_name("user", &form.user) {
                Ok(()) => form.user.as_str(),
                Err(_) => "",
            };
            let links = oidc::links(&state);
            let mut resp = (
                status,
                html_response(sign_in_markup(&nonce, user, Some(message), &links)),
            )
                .into_response();
            if let Some(retry) = refusal.headers().get(header::RETRY_AFTER) {
                resp.headers_mut().insert(header::RETRY_AFTER, retry.clone());
            }
            resp
        }
    }
}

/// `POST /ui/sign-out`: revokes the session token (`token.revoked`) and clears the cookie.
async fn sign_out(State(state): State<AppState>, viewer: Viewer, Form(form): Form<CsrfForm>) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return refused("This form's CSRF token is missing or wrong: reload the page and try again.");
    }
    let Ok(token) = ward_core::token::ApiToken::parse(&viewer.secret) else {
        return refused("This session is not a Ward session.");
    };
    if let Err(e) =
        ward_app::identities::revoke_token(&state.ledger, &viewer.identity, &token.id, &state.directory).await
    {
        return failure(e);
    }
    state.ui_activity.forget(&token.id);
    let mut resp = Redirect::to("/ui/sign-in").into_response();
    resp.headers_mut()
        .append(header::SET_COOKIE, clear_cookie(SESSION_COOKIE, "/", viewer.secure));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{Access, rule_for};

    #[test]
    fn every_page_requires_what_the_api_route_for_its_data_requires() {
        let api_route = |page: &str| match page {
            "/" => ("GET", "/api/v1/changes"),
            "/ui/changes/{id}" => ("GET", "/api/v1/changes/{id}/overview"),
            "/ui/inbox" => ("GET", "/api/v1/changes/{id}/approvals"),
            pages::EVIDENCE => ("GET", "/api/v1/evidence/{subject}/{id}"),
            // Showing the sign form is part of signing: it needs what signing needs.
            sign::SIGN_PAGE => ("POST", "/api/v1/changes/{id}/approvals"),
            metrics::METRICS_PAGE => ("GET", "/api/v1/metrics/dora"),
            rollouts::LIST => ("GET", "/api/v1/rollouts"),
            // The live stream shows what the rollout's own route shows.
            rollouts::ONE | rollouts::EVENTS => ("GET", "/api/v1/rollouts/{id}"),
            rollouts::COMMAND => ("POST", "/api/v1/rollouts/{id}/{command}"),
            release::GATE => ("POST", "/api/v1/changes/{id}/gate"),
            release::PROMOTE => ("POST", "/api/v1/promotions"),
            release::ROLLOUT => ("POST", "/api/v1/rollouts"),
            release::DRILL => ("POST", "/api/v1/environments/{env}/drills"),
            lists::DEPLOYMENTS => ("GET", "/api/v1/environments/{env}/deployments"),
            lists::WAIVERS => ("GET", "/api/v1/changes/{id}/waivers"),
            lists::REVIEWS => ("GET", "/api/v1/reviews"),
            audit::SEARCH => ("GET", "/api/v1/audit/search"),
            audit::POPULATION | audit::POPULATION_FILE => ("GET", "/api/v1/audit/population"),
            audit::BUNDLE => ("GET", "/api/v1/bundles"),
            audit::LOG => ("GET", "/api/v1/log/checkpoint"),
            other => panic!("page {other} names no API route for its data"),
        };
        for (method, page, action) in PAGES {
            let (api_method, api_path) = api_route(page);
            assert_eq!(
                rule_for(api_method, api_path),
                Some(Access::Requires(*action)),
                "{method} {page}"
            );
        }
    }

    #[test]
    fn a_csrf_token_works_only_for_its_own_session() {
        let mine = "ward_0123456789ab_secret-one";
        let theirs = "ward_0123456789ab_secret-two";
        let token = csrf_token(mine);
        assert!(csrf_matches(mine, &token));
        assert!(!csrf_matches(theirs, &token), "another session's token");
        assert!(!csrf_matches(mine, ""), "no token");
        assert!(!csrf_matches(mine, &token[..token.len() - 2]), "a truncated token");
        assert!(!csrf_matches(mine, "not hex at all"), "garbage");
        assert!(!csrf_matches(mine, mine), "the session secret itself is not the token");
        assert_ne!(token, mine, "the token does not reveal the session");
    }

    #[test]
    fn a_cookie_is_found_by_its_exact_name_only() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("xward_session=evil; ward_session_x=evil"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE, "/", false), None);
        h.append(header::COOKIE, HeaderValue::from_static("a=b; ward_session=tok; c=d"));
        assert_eq!(cookie(&h, SESSION_COOKIE, "/", false).as_deref(), Some("tok"));
        let mut empty = HeaderMap::new();
        empty.append(header::COOKIE, HeaderValue::from_static("ward_session="));
        assert_eq!(cookie(&empty, SESSION_COOKIE, "/", false), None);
    }

    /// Under TLS a cookie planted without the prefix (by a sibling subdomain, or a plain-HTTP
    /// response on the same host) is not read as the session: only `__Host-ward_session`,
    /// which a browser accepts only when Secure, `Path=/` and without `Domain`.
    #[test]
    fn under_tls_a_session_cookie_planted_without_the_host_prefix_is_not_read() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("ward_session=planted"));
        assert_eq!(cookie(&h, SESSION_COOKIE, "/", true), None);
        h.append(header::COOKIE, HeaderValue::from_static("__Host-ward_session=tok"));
        assert_eq!(cookie(&h, SESSION_COOKIE, "/", true).as_deref(), Some("tok"));
        let tls = set_cookie(SESSION_COOKIE, "tok", "/", IDLE_SECS, true);
        let tls = tls.to_str().unwrap_or_default();
        assert!(
            tls.starts_with("__Host-ward_session=tok;") && !tls.contains("Domain"),
            "{tls}"
        );
        let narrow = set_cookie(SIGN_IN_COOKIE, "n", "/ui/sign-in", 60, true);
        assert!(
            narrow
                .to_str()
                .unwrap_or_default()
                .starts_with("__Secure-ward_sign_in=n;")
        );
        let plain = set_cookie(SESSION_COOKIE, "tok", "/", IDLE_SECS, false);
        assert!(plain.to_str().unwrap_or_default().starts_with("ward_session=tok;"));
    }

    #[test]
    fn session_cookies_are_http_only_same_site_strict_and_secure_under_tls() {
        let plain = set_cookie(SESSION_COOKIE, "tok", "/", IDLE_SECS, false);
        let plain = plain.to_str().unwrap_or_default();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict") && plain.contains("Path=/"));
        assert!(!plain.contains("Secure"));
        let tls = set_cookie(SESSION_COOKIE, "tok", "/", IDLE_SECS, true);
        assert!(tls.to_str().unwrap_or_default().ends_with("; Secure"));
    }
}
