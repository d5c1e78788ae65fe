//! OIDC / JWT bearer tokens: RS256 and ES256 signatures checked against a configured JWK set
//! (file or URL), with issuer, audience, expiry and not-before; claims mapped to an identity
//! and roles by configuration.
//!
//! A GitHub Actions job presents its OIDC token (claims `repository`, `ref`, `workflow`,
//! `run_id`, …); with `identity = "ci:github/{repository}/{workflow}"` it becomes the automation
//! identity `ci:github/acme/api/release`.
//!
//! ```toml
//! [[oidc]]
//! name = "github-actions"
//! issuer = "https://token.actions.githubusercontent.com"
//! audience = "https://ward.example.org"
//! jwks_url = "https://token.actions.githubusercontent.com/.well-known/jwks"
//! kind = "automation"
//! identity = "ci:github/{repository}/{workflow}"
//! [[oidc.roles]]
//! claim = "repository"
//! equals = "acme/api"
//! roles = ["developer"]
//! ```

use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::{Duration, Instant};
use ward_core::{Identity, Role};
use ward_ledger::ActorKind;

/// Largest JWT accepted.
pub const MAX_JWT: usize = 16 * 1024;
/// Largest JWK set read from a file or URL.
pub const MAX_JWKS: usize = 256 * 1024;
/// A URL-based JWK set is fetched again at most this often when a token names an unknown key.
pub const JWKS_REFRESH: Duration = Duration::from_secs(60);

/// One trusted token issuer.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// A name for logs and errors.
    pub name: String,
    /// Required `iss` claim.
    pub issuer: String,
    /// Required `aud` claim (one of).
    pub audience: String,
    /// JWK set file.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// JWK set URL (fetched at start and when a token names an unknown key).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// Person or automation.
    #[serde(default = "automation")]
    pub kind: ActorKind,
    /// Identity template; `{claim}` is replaced by that (string or number) claim.
    pub identity: String,
    /// Role rules; an identity gets the union of the roles of every matching rule.
    #[serde(default)]
    pub roles: Vec<RoleRule>,
    /// Allowed clock skew, seconds.
    #[serde(default = "default_leeway")]
    pub leeway_secs: u64,
    /// The claim holding a person's printed name, carried by their electronic signatures
    /// (default `name`). Without it a person of this provider cannot sign.
    #[serde(default = "default_printed_name_claim")]
    pub printed_name_claim: String,
    /// Browser sign-in (the web UI's "Sign in with NAME"): Ward's client id at this provider,
    /// also the audience its ID tokens must carry. Needs `redirect_uri` and `kind = "human"`.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The client secret as a reference, `env://NAME` or `file:///path` (never the secret
    /// itself); without one Ward is a public client (PKCE only).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Where the provider sends the browser back: `https://WARD/ui/sign-in/oidc/callback`,
    /// registered at the provider.
    #[serde(default)]
    pub redirect_uri: Option<String>,
    /// The provider's authorization endpoint; with `token_endpoint` (both or neither).
    /// Without them they are discovered from `{issuer}/.well-known/openid-configuration`.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// The provider's token endpoint.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// The provider's device authorization endpoint (RFC 8628), for `ward login --oidc NAME`
    /// on a terminal. Without it, it is discovered with the other endpoints (when they are
    /// discovered); a provider without one offers no device sign-in.
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
    /// Scopes asked for at browser sign-in (`openid` is always asked for).
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}

/// What a browser sign-in at one provider needs, resolved at start.
#[derive(Clone)]
pub struct BrowserClient {
    /// The provider's name (`[[oidc]] name`).
    pub provider: String,
    /// Ward's client id (the ID token's audience).
    pub client_id: String,
    secret: Option<String>,
    /// The registered redirect URI (Ward's callback).
    pub redirect_uri: String,
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: String,
    token_endpoint: String,
    /// Where a terminal asks for a device code (RFC 8628), when the provider has one.
    pub device_endpoint: Option<String>,
    /// Scopes asked for, `openid` first.
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for BrowserClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserClient")
            .field("provider", &self.provider)
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Largest token endpoint or discovery response read.
pub const MAX_OIDC_RESPONSE: usize = 64 * 1024;
/// Clock difference allowed between Ward and a provider when a re-authentication's `auth_time`
/// is compared with the moment the signature was asked for (seconds).
pub const REAUTH_LEEWAY_SECS: i64 = 5;

/// Resolves a secret reference: `env://NAME` from Ward's environment, `file:///path` from a
/// file (trimmed). Anything else is refused, so no secret is written in `ward.toml`.
pub fn resolve_secret(reference: &str) -> Result<String, String> {
    let value = if let Some(name) = reference.strip_prefix("env://") {
        std::env::var(name).map_err(|_| format!("client_secret: environment variable {name} is not set"))?
    } else if let Some(path) = reference.strip_prefix("file://") {
        std::fs::read_to_string(path).map_err(|e| format!("client_secret: {path}: {e}"))?
    } else {
        return Err("client_secret must be a reference, env://NAME or file:///path, not the secret itself".into());
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        return Err("client_secret: the referenced secret is empty".into());
    }
    Ok(value)
}

fn http_url(what: &str, url: &str) -> Result<(), String> {
    match url.starts_with("https://") || url.starts_with("http://") {
        true if !url.contains(['\'', '"', '<', '>', ' ', '\n', '\r']) => Ok(()),
        _ => Err(format!("{what} {url:?} must be an http(s) URL")),
    }
}

/// Checks the browser fields of `c` and resolves its secret; `None` when it declares none.
fn browser_fields(c: &ProviderConfig, resolve: bool) -> Result<Option<(String, Option<String>, String)>, String> {
    let declared = c.client_id.is_some()
        || c.device_authorization_endpoint.is_some()
        || c.redirect_uri.is_some()
        || c.client_secret.is_some()
        || c.authorization_endpoint.is_some()
        || c.token_endpoint.is_some();
    if !declared {
        return Ok(None);
    }
    let (Some(client_id), Some(redirect_uri)) = (&c.client_id, &c.redirect_uri) else {
        return Err("browser sign-in needs both client_id and redirect_uri".into());
    };
    if client_id.is_empty() || client_id.len() > 256 || client_id.chars().any(char::is_control) {
        return Err("client_id must be 1 to 256 printable characters".into());
    }
    if c.kind != ActorKind::Human {
        return Err("browser sign-in (client_id) is for people: set kind = \"human\"".into());
    }
    http_url("redirect_uri", redirect_uri)?;
    if c.authorization_endpoint.is_some() != c.token_endpoint.is_some() {
        return Err(
            "set both authorization_endpoint and token_endpoint, or neither (discovered from the issuer)".into(),
        );
    }
    for u in [
        &c.authorization_endpoint,
        &c.token_endpoint,
        &c.device_authorization_endpoint,
    ]
    .into_iter()
    .flatten()
    {
        http_url("endpoint", u)?;
    }
    if c.name == "callback" {
        return Err("the name \"callback\" is taken by the sign-in route; choose another".into());
    }
    let secret = match (&c.client_secret, resolve) {
        (Some(r), true) => Some(resolve_secret(r)?),
        (Some(r), false) if !(r.starts_with("env://") || r.starts_with("file://")) => {
            return Err(resolve_secret(r).err().unwrap_or_default());
        }
        _ => None,
    };
    Ok(Some((client_id.clone(), secret, redirect_uri.clone())))
}

/// Checks every provider's browser sign-in fields (at configuration load: the secret must be a
/// reference; it is resolved when `ward serve` starts).
pub fn check_browser_fields(configs: &[ProviderConfig]) -> Result<(), ConfigError> {
    for c in configs {
        browser_fields(c, false).map_err(|reason| ConfigError {
            provider: c.name.clone(),
            reason,
        })?;
    }
    Ok(())
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    let resp = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("{url} answered {}", resp.status()));
    }
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    if bytes.len() > MAX_OIDC_RESPONSE {
        return Err(format!("{url}: larger than {MAX_OIDC_RESPONSE} bytes"));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{url}: not JSON: {e}"))
}

fn default_printed_name_claim() -> String {
    "name".into()
}

/// Identity prefixes that belong to Ward's own directory and tokens; no provider may mint them,
/// so identities from different issuers never merge.
pub const RESERVED_PREFIXES: [&str; 3] = ["user:", "token:", "local:"];

/// The literal text of an identity template before its first `{`: each provider's identities
/// live under their own prefix, which must end in `:` or `/`.
pub(crate) fn template_prefix(template: &str) -> &str {
    template.split('{').next().unwrap_or("")
}

/// Checks that providers' identity templates keep their identities apart from Ward's own and
/// from each other.
pub fn check_namespaces(configs: &[ProviderConfig]) -> Result<(), ConfigError> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for c in configs {
        let err = |reason: String| ConfigError {
            provider: c.name.clone(),
            reason,
        };
        let prefix = template_prefix(&c.identity);
        if !(prefix.ends_with(':') || prefix.ends_with('/')) || prefix.len() < 2 {
            return Err(err(format!(
                "identity template {:?} must start with a literal prefix ending in ':' or '/' (e.g. \"staff:{{email}}\"), so its identities stay apart from every other issuer's",
                c.identity
            )));
        }
        if let Some(r) = RESERVED_PREFIXES.iter().find(|r| prefix.starts_with(**r)) {
            return Err(err(format!(
                "identity template {:?} uses the prefix {r:?}, which belongs to Ward's own users and tokens; identities from different issuers never merge (use e.g. \"staff:{{email}}\")",
                c.identity
            )));
        }
        if let Some((other, _)) = seen
            .iter()
            .find(|(_, p)| p.starts_with(prefix) || prefix.starts_with(*p))
        {
            return Err(err(format!(
                "identity prefix {prefix:?} overlaps provider {other:?}'s; give each provider its own prefix"
            )));
        }
        seen.push((&c.name, prefix));
    }
    Ok(())
}

/// The literal prefixes of the identities the providers of people (`kind = "human"`) issue
/// (`staff:` of `staff:{sub}`): an id under one names a person, whatever kind it claims.
pub fn person_prefixes(configs: &[ProviderConfig]) -> Vec<&str> {
    configs
        .iter()
        .filter(|c| c.kind == ActorKind::Human)
        .map(|c| template_prefix(&c.identity))
        .collect()
}

/// Refuses a `[approvals] git_authors` mapping to an identity no issuer of this server writes
/// for a person: `user:` (a local user) or the literal prefix of a `[[oidc]]` provider of
/// people. A typo (`stafff:dana`) mapped the author to nobody while her real identity signed
/// (a helper's attack on the tenth session's head). Names the mapping by its place only.
pub fn check_author_mapping_issuers(
    configs: &[ProviderConfig],
    git_authors: &std::collections::BTreeMap<String, String>,
) -> Result<(), String> {
    let people = person_prefixes(configs);
    for (n, (_, id)) in git_authors.iter().enumerate() {
        let issued = id.starts_with("user:") || people.iter().any(|p| id.starts_with(p));
        if !issued {
            return Err(format!(
                "mapping #{} maps to an identity no issuer here writes for a person; use user:NAME{}",
                n + 1,
                people.iter().map(|p| format!(" or {p}…")).collect::<String>()
            ));
        }
    }
    Ok(())
}

fn automation() -> ActorKind {
    ActorKind::Automation
}

fn default_leeway() -> u64 {
    30
}

/// Grants roles when a claim matches.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRule {
    /// Claim name.
    pub claim: String,
    /// The claim equals this string (or, for an array claim, contains it).
    #[serde(default)]
    pub equals: Option<String>,
    /// The claim starts with this string.
    #[serde(default)]
    pub prefix: Option<String>,
    /// Roles granted.
    pub roles: Vec<Role>,
}

impl RoleRule {
    fn matches(&self, claims: &Map<String, Value>) -> bool {
        let Some(v) = claims.get(&self.claim) else {
            return false;
        };
        let test = |s: &str| {
            self.equals.as_deref().is_none_or(|e| e == s) && self.prefix.as_deref().is_none_or(|p| s.starts_with(p))
        };
        match v {
            Value::String(s) => test(s),
            Value::Array(items) => items.iter().filter_map(Value::as_str).any(test),
            Value::Bool(b) => test(if *b { "true" } else { "false" }),
            Value::Number(n) => test(&n.to_string()),
            _ => false,
        }
    }
}

/// Why a JWT was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    /// Not a JWT, or too large.
    #[error("not a valid JWT")]
    Malformed,
    /// No configured provider has this issuer.
    #[error("untrusted issuer")]
    UnknownIssuer,
    /// The algorithm is not RS256 or ES256.
    #[error("algorithm not allowed")]
    Algorithm,
    /// No key with that id.
    #[error("unknown signing key")]
    UnknownKey,
    /// Signature, audience, expiry or not-before failed.
    #[error("token refused: {0}")]
    Invalid(String),
    /// Past its expiry.
    #[error("token expired")]
    Expired,
    /// A claim the identity template needs is missing or unusable.
    #[error("claim {0} needed for the identity is missing")]
    MissingClaim(String),
}

impl JwtError {
    /// Label for metrics and events.
    pub fn reason(&self) -> &'static str {
        match self {
            JwtError::Expired => "expired",
            JwtError::UnknownIssuer => "jwt_issuer",
            JwtError::Algorithm => "jwt_algorithm",
            JwtError::UnknownKey => "jwt_key",
            _ => "jwt_invalid",
        }
    }
}

/// Why the OIDC configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("OIDC provider {provider}: {reason}")]
pub struct ConfigError {
    /// Provider name.
    pub provider: String,
    /// Problem.
    pub reason: String,
}

struct Provider {
    config: ProviderConfig,
    keys: RwLock<(JwkSet, Option<Instant>)>,
    browser: Option<BrowserClient>,
}

/// Verifies JWTs from the configured providers.
pub struct Verifier {
    providers: Vec<Provider>,
    http: reqwest::Client,
}

async fn fetch_jwks(http: &reqwest::Client, url: &str) -> Result<JwkSet, String> {
    let resp = http.get(url).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("{url} answered {}", resp.status()));
    }
    let bytes = resp.bytes().await.map_err(|e| e.to_string())?;
    if bytes.len() > MAX_JWKS {
        return Err(format!("JWK set larger than {MAX_JWKS} bytes"));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("not a JWK set: {e}"))
}

/// The authorization, token and (when it has one) device authorization endpoints from
/// `{issuer}/.well-known/openid-configuration`, whose `issuer` must be the configured one.
async fn discover(http: &reqwest::Client, issuer: &str) -> Result<(String, String, Option<String>), String> {
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let doc = get_json(http, &url).await?;
    let field = |name: &str| doc.get(name).and_then(Value::as_str).map(str::to_string);
    if field("issuer").as_deref() != Some(issuer) {
        return Err(format!("{url}: its issuer is not {issuer:?}"));
    }
    match (field("authorization_endpoint"), field("token_endpoint")) {
        (Some(a), Some(t)) => {
            http_url("authorization_endpoint", &a)?;
            http_url("token_endpoint", &t)?;
            let device = field("device_authorization_endpoint");
            if let Some(d) = &device {
                http_url("device_authorization_endpoint", d)?;
            }
            Ok((a, t, device))
        }
        _ => Err(format!("{url} names no authorization_endpoint and token_endpoint")),
    }
}

/// Why a browser sign-in's code exchange failed (its reason code for `auth.failed`).
#[derive(Debug)]
pub struct ExchangeError {
    /// `oidc_code` (the provider refused the code) or `oidc_token_endpoint` (unreachable, or
    /// an unusable answer).
    pub reason: &'static str,
    /// The provider's OAuth error code (`invalid_grant`, …), when it gave a well-formed one.
    pub error: Option<String>,
}

/// A device code a provider issued for a person on a terminal (RFC 8628 §3.2): the person opens
/// `verification_uri` and enters `user_code`; the terminal polls with `device_code` every
/// `interval` seconds until they did, for at most `expires_in` seconds.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct DeviceStart {
    /// The provider (`[[oidc]] name`).
    pub provider: String,
    /// What the terminal polls with (never shown to the person).
    pub device_code: String,
    /// What the person enters at the provider.
    pub user_code: String,
    /// Where the person signs in.
    pub verification_uri: String,
    /// The same with the code filled in, when the provider gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    /// Seconds between polls.
    pub interval: u64,
    /// Seconds the code lives.
    pub expires_in: u64,
}

/// The ID token of a token endpoint's answer.
fn id_token_of(body: &Value) -> Result<String, ExchangeError> {
    body.get("id_token")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or(ExchangeError {
            reason: "oidc_token_endpoint",
            error: None,
        })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `url` with `pairs` added to its query (form-encoded).
pub fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{}", form_encode(pairs))
}

impl Verifier {
    /// The providers that declare browser sign-in, in configuration order.
    pub fn browser_clients(&self) -> impl Iterator<Item = &BrowserClient> {
        self.providers.iter().filter_map(|p| p.browser.as_ref())
    }

    /// The browser sign-in of provider `name`.
    pub fn browser_client(&self, name: &str) -> Option<&BrowserClient> {
        self.browser_clients().find(|b| b.provider == name)
    }

    /// Exchanges an authorization code at provider `name`'s token endpoint (with the PKCE
    /// verifier; the client secret by HTTP Basic when there is one); returns the ID token.
    pub async fn exchange_code(&self, name: &str, code: &str, verifier: &str) -> Result<String, ExchangeError> {
        let redirect_uri = self
            .browser_client(name)
            .map(|b| b.redirect_uri.clone())
            .unwrap_or_default();
        self.id_token_grant(
            name,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri.as_str()),
                ("code_verifier", verifier),
            ],
        )
        .await
    }

    /// Asks provider `name` for a device code (RFC 8628 §3.1) for a person on a terminal, with
    /// the browser sign-in's client and scopes. `None` when the provider has no device sign-in.
    pub async fn start_device(&self, name: &str) -> Result<Option<DeviceStart>, ExchangeError> {
        let Some(b) = self.browser_client(name) else {
            return Ok(None);
        };
        let Some(endpoint) = &b.device_endpoint else {
            return Ok(None);
        };
        let scope = b.scopes.join(" ");
        let body = self.client_post(b, endpoint, &[("scope", scope.as_str())]).await?;
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty() && v.len() <= 1024 && !v.chars().any(char::is_control))
                .map(str::to_string)
        };
        let secs = |k: &str, default: u64| body.get(k).and_then(Value::as_u64).unwrap_or(default);
        let (Some(device_code), Some(user_code), Some(verification_uri)) =
            (text("device_code"), text("user_code"), text("verification_uri"))
        else {
            return Err(ExchangeError {
                reason: "oidc_token_endpoint",
                error: None,
            });
        };
        Ok(Some(DeviceStart {
            provider: name.to_string(),
            device_code,
            user_code,
            verification_uri,
            verification_uri_complete: text("verification_uri_complete"),
            interval: secs("interval", 5).clamp(1, 60),
            expires_in: secs("expires_in", 600).min(3600),
        }))
    }

    /// Asks provider `name`'s token endpoint whether the person approved device code
    /// `device_code` (RFC 8628 §3.4); returns the ID token once they have. While they have
    /// not, the error is the provider's `authorization_pending` or `slow_down`.
    pub async fn poll_device(&self, name: &str, device_code: &str) -> Result<String, ExchangeError> {
        self.id_token_grant(
            name,
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", device_code),
            ],
        )
        .await
    }

    /// A grant at provider `name`'s token endpoint as its browser client; the ID token it gives.
    async fn id_token_grant(&self, name: &str, pairs: &[(&str, &str)]) -> Result<String, ExchangeError> {
        let Some(b) = self.browser_client(name) else {
            return Err(ExchangeError {
                reason: "oidc_provider",
                error: None,
            });
        };
        let body = self.client_post(b, &b.token_endpoint, pairs).await?;
        id_token_of(&body)
    }

    /// POSTs `pairs` (form-encoded) to `endpoint` as Ward's client at `b`'s provider: the client
    /// secret by HTTP Basic when there is one, else `client_id` in the form (RFC 6749 §2.3).
    /// The JSON answer of a 2xx; else the provider's OAuth error code, when well-formed.
    async fn client_post(
        &self,
        b: &BrowserClient,
        endpoint: &str,
        pairs: &[(&str, &str)],
    ) -> Result<Value, ExchangeError> {
        let fail = |reason, error| ExchangeError { reason, error };
        let mut pairs = pairs.to_vec();
        if b.secret.is_none() {
            pairs.push(("client_id", b.client_id.as_str()));
        }
        let mut req = self
            .http
            .post(endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(form_encode(&pairs));
        if let Some(secret) = &b.secret {
            // RFC 6749 §2.3.1: both parts form-encoded, then Basic.
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                percent_encode(&b.client_id),
                percent_encode(secret)
            ));
            req = req.header(reqwest::header::AUTHORIZATION, format!("Basic {basic}"));
        }
        let resp = req.send().await.map_err(|e| {
            tracing::warn!(provider = %b.provider, error = %e, "provider endpoint unreachable");
            fail("oidc_token_endpoint", None)
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|_| fail("oidc_token_endpoint", None))?;
        if bytes.len() > MAX_OIDC_RESPONSE {
            return Err(fail("oidc_token_endpoint", None));
        }
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            let error = body
                .get("error")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty() && e.len() <= 64 && e.bytes().all(|c| c.is_ascii_lowercase() || c == b'_'))
                .map(str::to_string);
            return Err(fail("oidc_code", error));
        }
        Ok(body)
    }

    /// Verifies an ID token from provider `name`'s browser sign-in: signature (its JWK set),
    /// issuer, audience = the client id (and `azp` when there are several), expiry, and the
    /// `nonce` this sign-in sent; maps it to an identity.
    /// Also returns the token's [`subject_of`] (issuer and subject), which the session keeps.
    pub async fn verify_id_token(&self, name: &str, token: &str, nonce: &str) -> Result<(Identity, String), JwtError> {
        let (identity, claims, _) = self.verify_client_claims(name, token, Some(nonce)).await?;
        Ok((identity, subject_of(&claims)?))
    }

    /// Verifies an ID token from provider `name`'s device sign-in as [`Verifier::verify_id_token`]
    /// does, without a nonce (RFC 8628 sends none; the device code, held by the terminal that
    /// asked for it, binds the sign-in to it).
    pub async fn verify_device_id_token(&self, name: &str, token: &str) -> Result<(Identity, String), JwtError> {
        let (identity, claims, _) = self.verify_client_claims(name, token, None).await?;
        Ok((identity, subject_of(&claims)?))
    }

    /// Verifies the ID token of a browser re-authentication before a signature (the web UI's
    /// sign page, `prompt=login` and `max_age=0`): everything [`Verifier::verify_id_token`]
    /// checks (signature, issuer, audience = the client id, expiry, this attempt's `nonce`),
    /// plus `iat` and `auth_time` at most `max_age_secs` old, as [`Verifier::verify_reauth`]
    /// requires, and `auth_time` not before `asked_at` (the form's submission, less
    /// [`REAUTH_LEEWAY_SECS`]); returns the identity, the printed name (`printed_name_claim`) and
    /// the token's [`subject_of`].
    pub async fn verify_browser_reauth(
        &self,
        name: &str,
        token: &str,
        nonce: &str,
        max_age_secs: i64,
        asked_at: i64,
    ) -> Result<(Identity, Option<String>, String), JwtError> {
        let (identity, claims, printed_name_claim) = self.verify_client_claims(name, token, Some(nonce)).await?;
        within("iat", &claims, max_age_secs)?;
        within("auth_time", &claims, max_age_secs)?;
        // The sign-in must follow the request to sign (`prompt=login`/`max_age=0` are requests
        // a provider may ignore, reusing its single-sign-on session): a login from before the
        // person pressed "sign" is not this signature's re-authentication.
        signed_in_after(&claims, asked_at)?;
        let printed = claims
            .get(&printed_name_claim)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty() && n.len() <= 200 && !n.chars().any(char::is_control))
            .map(str::to_string);
        Ok((identity, printed, subject_of(&claims)?))
    }

    /// The browser provider whose identities `identity` is one of (its identity template's
    /// literal prefix, which no two providers share).
    pub fn browser_client_of(&self, identity: &str) -> Option<&BrowserClient> {
        self.providers
            .iter()
            .filter(|p| p.browser.is_some())
            .find(|p| {
                let prefix = template_prefix(&p.config.identity);
                !prefix.is_empty() && identity.starts_with(prefix)
            })
            .and_then(|p| p.browser.as_ref())
    }

    async fn verify_client_claims(
        &self,
        name: &str,
        token: &str,
        nonce: Option<&str>,
    ) -> Result<(Identity, Map<String, Value>, String), JwtError> {
        let provider = self
            .providers
            .iter()
            .find(|p| p.config.name == name && p.browser.is_some())
            .ok_or(JwtError::UnknownIssuer)?;
        let client_id = provider
            .browser
            .as_ref()
            .map(|b| b.client_id.as_str())
            .unwrap_or_default();
        let (identity, claims) = self.verify_with(provider, token, client_id).await?;
        if let Some(nonce) = nonce
            && claims.get("nonce").and_then(Value::as_str) != Some(nonce)
        {
            return Err(JwtError::Invalid("nonce".into()));
        }
        if let Some(Value::Array(aud)) = claims.get("aud")
            && aud.len() > 1
            && claims.get("azp").and_then(Value::as_str) != Some(client_id)
        {
            return Err(JwtError::Invalid("azp".into()));
        }
        Ok((identity, claims, provider.config.printed_name_claim.clone()))
    }

    /// Loads every provider's keys (files now, URLs fetched now).
    pub async fn new(configs: Vec<ProviderConfig>) -> Result<Verifier, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ConfigError {
                provider: "-".into(),
                reason: e.to_string(),
            })?;
        check_namespaces(&configs)?;
        let mut providers = Vec::new();
        for config in configs {
            let err = |reason: String| ConfigError {
                provider: config.name.clone(),
                reason,
            };
            if !config.identity.contains('{') && config.identity.is_empty() {
                return Err(err("identity template is empty".into()));
            }
            let keys = match (&config.jwks_file, &config.jwks_url) {
                (Some(path), None) => {
                    let bytes = std::fs::read(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
                    if bytes.len() > MAX_JWKS {
                        return Err(err(format!("{}: larger than {MAX_JWKS} bytes", path.display())));
                    }
                    serde_json::from_slice::<JwkSet>(&bytes)
                        .map_err(|e| err(format!("{}: not a JWK set: {e}", path.display())))?
                }
                (None, Some(url)) => fetch_jwks(&http, url).await.map_err(err)?,
                _ => return Err(err("set exactly one of jwks_file and jwks_url".into())),
            };
            let browser = match browser_fields(&config, true).map_err(err)? {
                None => None,
                Some((client_id, secret, redirect_uri)) => {
                    let (authorization_endpoint, token_endpoint, discovered_device) =
                        match (&config.authorization_endpoint, &config.token_endpoint) {
                            (Some(a), Some(t)) => (a.clone(), t.clone(), None),
                            _ => discover(&http, &config.issuer).await.map_err(err)?,
                        };
                    let device_endpoint = config.device_authorization_endpoint.clone().or(discovered_device);
                    let mut scopes = vec!["openid".to_string()];
                    scopes.extend(config.scopes.iter().filter(|s| *s != "openid").cloned());
                    Some(BrowserClient {
                        provider: config.name.clone(),
                        client_id,
                        secret,
                        redirect_uri,
                        authorization_endpoint,
                        token_endpoint,
                        device_endpoint,
                        scopes,
                    })
                }
            };
            providers.push(Provider {
                keys: RwLock::new((keys, Some(Instant::now()))),
                config,
                browser,
            });
        }
        Ok(Verifier { providers, http })
    }

    /// Verifies a JWT and maps it to an identity.
    pub async fn verify(&self, token: &str) -> Result<Identity, JwtError> {
        Ok(self.verify_claims(token).await?.0)
    }

    /// Verifies a token issued at most `max_age_secs` ago (its `iat`), for re-authentication
    /// before an electronic signature.
    pub async fn verify_fresh(&self, token: &str, max_age_secs: i64) -> Result<Identity, JwtError> {
        let (identity, claims) = self.verify_claims(token).await?;
        within("iat", &claims, max_age_secs)?;
        Ok(identity)
    }

    /// Verifies a re-authentication token (see [`Verifier::verify_fresh`]) and returns the
    /// identity with the printed name from the provider's `printed_name_claim`, when present.
    /// The person must have authenticated at the provider within the window too: the token's
    /// `auth_time` (OIDC Core §2; ask the provider with `max_age` or `prompt=login`) is
    /// required, so a silently refreshed token does not count as a re-authentication. The
    /// token's signature is verified once.
    pub async fn verify_reauth(&self, token: &str, max_age_secs: i64) -> Result<(Identity, Option<String>), JwtError> {
        let (identity, claims) = self.verify_claims(token).await?;
        within("iat", &claims, max_age_secs)?;
        within("auth_time", &claims, max_age_secs)?;
        let issuer = unverified_issuer(token)?;
        let name = self
            .providers
            .iter()
            .find(|p| p.config.issuer == issuer)
            .and_then(|p| claims.get(&p.config.printed_name_claim))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|n| !n.is_empty() && n.len() <= 200 && !n.chars().any(char::is_control))
            .map(str::to_string);
        Ok((identity, name))
    }

    async fn verify_claims(&self, token: &str) -> Result<(Identity, Map<String, Value>), JwtError> {
        if token.len() > MAX_JWT {
            return Err(JwtError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(JwtError::Algorithm);
        }
        // The issuer picks the provider; nothing from the payload is trusted before the
        // signature is checked against that provider's keys.
        let issuer = unverified_issuer(token)?;
        let provider = self
            .providers
            .iter()
            .find(|p| p.config.issuer == issuer)
            .ok_or(JwtError::UnknownIssuer)?;
        self.verify_with(provider, token, &provider.config.audience).await
    }

    async fn verify_with(
        &self,
        provider: &Provider,
        token: &str,
        audience: &str,
    ) -> Result<(Identity, Map<String, Value>), JwtError> {
        if token.len() > MAX_JWT {
            return Err(JwtError::Malformed);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(JwtError::Algorithm);
        }
        let key = self.key(provider, header.kid.as_deref(), header.alg).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&provider.config.issuer]);
        validation.set_audience(&[audience]);
        validation.validate_nbf = true;
        validation.leeway = provider.config.leeway_secs;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data =
            jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => JwtError::Expired,
                other => JwtError::Invalid(format!("{other:?}")),
            })?;
        let claims = data.claims;
        let id = render_identity(&provider.config.identity, &claims)?;
        // A person's identity holding an address is compared with commit authors and kept in
        // the log as a signer: one plain address, no number or birth date in it.
        if provider.config.kind == ActorKind::Human {
            let checked = template_claims(&provider.config.identity)
                .into_iter()
                .try_for_each(|name| {
                    let value = match claims.get(name) {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Number(n)) => n.to_string(),
                        _ => String::new(),
                    };
                    ward_app::identifier::check_person_claim(name, &value)
                });
            if let Err(e) = checked.and_then(|()| ward_app::identifier::check_person_identity(&id)) {
                return Err(JwtError::Invalid(e.message));
            }
        }
        let mut roles: Vec<Role> = provider
            .config
            .roles
            .iter()
            .filter(|r| r.matches(&claims))
            .flat_map(|r| r.roles.iter().copied())
            .collect();
        roles.sort();
        roles.dedup();
        Ok((
            Identity {
                id,
                kind: provider.config.kind,
                roles,
            },
            claims,
        ))
    }

    async fn key(&self, provider: &Provider, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, JwtError> {
        let find = |set: &JwkSet| -> Option<DecodingKey> {
            let jwk = match kid {
                Some(k) => set.find(k),
                None if set.keys.len() == 1 => set.keys.first(),
                None => None,
            }?;
            let alg_ok = match alg {
                Algorithm::RS256 => matches!(jwk.algorithm, jsonwebtoken::jwk::AlgorithmParameters::RSA(_)),
                Algorithm::ES256 => matches!(jwk.algorithm, jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_)),
                _ => false,
            };
            if !alg_ok {
                return None;
            }
            DecodingKey::from_jwk(jwk).ok()
        };
        if let Some(k) = find(
            &provider
                .keys
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0,
        ) {
            return Ok(k);
        }
        // Key rotation: fetch the set again, at most once per JWKS_REFRESH.
        let Some(url) = &provider.config.jwks_url else {
            return Err(JwtError::UnknownKey);
        };
        let due = provider
            .keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1
            .is_none_or(|t| t.elapsed() >= JWKS_REFRESH);
        if !due {
            return Err(JwtError::UnknownKey);
        }
        provider
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1 = Some(Instant::now());
        match fetch_jwks(&self.http, url).await {
            Ok(set) => {
                let key = find(&set);
                provider
                    .keys
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0 = set;
                key.ok_or(JwtError::UnknownKey)
            }
            Err(e) => {
                tracing::warn!(provider = %provider.config.name, error = %e, "JWK set refresh failed");
                Err(JwtError::UnknownKey)
            }
        }
    }
}

/// Reads `iss` from the payload without trusting it (only to choose the provider).
/// The [`subject_of`] a JWT's payload names, read without verifying it: only for a token this
/// process has just verified (the request's bearer, a re-authentication token).
pub fn unverified_subject(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    match serde_json::from_slice::<Value>(&bytes).ok()? {
        Value::Object(claims) => subject_of(&claims).ok(),
        _ => None,
    }
}

/// The `exp` claim of a provider token the caller has verified (read without checking again).
pub fn unverified_expiry(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Value>(&bytes).ok()?.get("exp")?.as_i64()
}

fn unverified_issuer(token: &str) -> Result<String, JwtError> {
    let payload = token.split('.').nth(1).ok_or(JwtError::Malformed)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| JwtError::Malformed)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
    v.get("iss")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or(JwtError::Malformed)
}

/// Fills `{claim}` placeholders; the result must be a usable actor id.
/// Checks that the sign-in `claims` record (`auth_time`) happened after `asked_at` (Unix
/// seconds, less [`REAUTH_LEEWAY_SECS`]): a provider that ignored `prompt=login`/`max_age=0` and
/// reused an earlier single-sign-on session gives an `auth_time` from before the request.
/// Who an ID token is about at its provider, `<iss> <sub>`: the pair OpenID Connect Core
/// (section 5.7) names as the only stable identifier of an end-user. An identity template built
/// from a claim such as `email` can map two accounts to one Ward identity (an address reassigned
/// to someone new); a session keeps this pair, and a re-authentication must present the same.
pub fn subject_of(claims: &Map<String, Value>) -> Result<String, JwtError> {
    let text = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty() && v.len() <= 255 && !v.chars().any(char::is_control))
    };
    match (text("iss"), text("sub")) {
        (Some(iss), Some(sub)) => Ok(format!("{iss} {sub}")),
        _ => Err(JwtError::Invalid("sub".into())),
    }
}

fn signed_in_after(claims: &Map<String, Value>, asked_at: i64) -> Result<(), JwtError> {
    let auth_time = claims.get("auth_time").and_then(Value::as_i64).unwrap_or(i64::MIN);
    if auth_time < asked_at.saturating_sub(REAUTH_LEEWAY_SECS) {
        return Err(JwtError::Invalid(
            "auth_time before the signature was asked for: sign in again at the provider".into(),
        ));
    }
    Ok(())
}

/// Checks that the time claim `name` (`iat`, `auth_time`) is present and at most `max_age_secs`
/// old (and not more than a minute in the future).
fn within(name: &str, claims: &Map<String, Value>, max_age_secs: i64) -> Result<(), JwtError> {
    let at = claims
        .get(name)
        .and_then(Value::as_i64)
        .ok_or_else(|| JwtError::Invalid(format!("no {name} claim: sign in again (max_age or prompt=login)")))?;
    let now = jiff::Timestamp::now().as_second();
    if now - at > max_age_secs || at > now + 60 {
        return Err(JwtError::Invalid(format!(
            "{name} is {}s old; re-authentication needs one at most {max_age_secs}s old",
            now - at
        )));
    }
    Ok(())
}

/// The claims an identity template names (`staff:{email}` names `email`).
fn template_claims(template: &str) -> Vec<&str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').map(|(name, _)| name))
        .collect()
}

fn render_identity(template: &str, claims: &Map<String, Value>) -> Result<String, JwtError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| JwtError::MissingClaim(rest.to_string()))?;
        let name = &rest[start + 1..start + end];
        let value = match claims.get(name) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(JwtError::MissingClaim(name.to_string())),
        };
        out.push_str(&value);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    if out.is_empty() || out.len() > 256 || out.chars().any(char::is_control) {
        return Err(JwtError::MissingClaim(template.to_string()));
    }
    Ok(out)
}

/// The application layer's re-authentication port, over OIDC.
#[async_trait::async_trait]
impl ward_app::reauth::ReauthVerifier for Verifier {
    async fn verify_reauth(&self, token: &str, max_age_secs: i64) -> Option<(Identity, Option<String>)> {
        Verifier::verify_reauth(self, token, max_age_secs).await.ok()
    }

    /// Read from the token `verify_reauth` has just verified.
    async fn reauth_subject(&self, token: &str) -> Option<String> {
        unverified_subject(token)
    }
}

#[cfg(test)]
mod tests {

    /// A provider that ignores `prompt=login` and reuses its single-sign-on session answers
    /// with an `auth_time` from before the person asked to sign: not a re-authentication.
    #[test]
    fn a_reused_single_sign_on_login_is_not_a_re_authentication_for_the_signature() {
        let asked = 1_800_000_000;
        let claims = |t: Option<i64>| {
            let mut m = serde_json::Map::new();
            if let Some(t) = t {
                m.insert("auth_time".into(), t.into());
            }
            m
        };
        assert!(super::signed_in_after(&claims(Some(asked + 12)), asked).is_ok());
        assert!(
            super::signed_in_after(&claims(Some(asked - 3)), asked).is_ok(),
            "within the leeway"
        );
        assert!(
            super::signed_in_after(&claims(Some(asked - 120)), asked).is_err(),
            "an earlier login"
        );
        assert!(super::signed_in_after(&claims(None), asked).is_err(), "no auth_time");
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn identity_templates() {
        let claims = json!({"repository": "acme/api", "workflow": "release", "run_id": 42})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(
            render_identity("ci:github/{repository}/{workflow}", &claims).unwrap(),
            "ci:github/acme/api/release"
        );
        assert_eq!(render_identity("run:{run_id}", &claims).unwrap(), "run:42");
        assert!(matches!(
            render_identity("x:{missing}", &claims),
            Err(JwtError::MissingClaim(_))
        ));
        assert!(render_identity("x:{unclosed", &claims).is_err());
    }

    fn provider(extra: &str) -> ProviderConfig {
        toml::from_str(&format!(
            "name = \"staff\"\nissuer = \"https://idp.example.org\"\naudience = \"ward\"\njwks_file = \"j.json\"\nidentity = \"staff:{{email}}\"\n{extra}"
        ))
        .expect("provider")
    }

    #[test]
    fn browser_sign_in_needs_a_person_provider_and_a_secret_reference() {
        let person = "kind = \"human\"\nredirect_uri = \"https://ward.example.org/ui/sign-in/oidc/callback\"\n";
        assert!(
            browser_fields(&provider(""), false)
                .expect("no browser fields")
                .is_none()
        );
        let ok = provider(&format!(
            "{person}client_id = \"ward\"\nclient_secret = \"env://WARD_OIDC_SECRET\""
        ));
        assert!(browser_fields(&ok, false).expect("a reference").is_some());
        let literal = provider(&format!(
            "{person}client_id = \"ward\"\nclient_secret = \"hunter2-hunter2\""
        ));
        let e = browser_fields(&literal, false).expect_err("a literal secret");
        assert!(e.contains("reference") && !e.contains("hunter2"), "{e}");
        let machine =
            provider("client_id = \"ward\"\nredirect_uri = \"https://ward.example.org/ui/sign-in/oidc/callback\"");
        assert!(
            browser_fields(&machine, false)
                .expect_err("automation")
                .contains("human")
        );
        let half = provider(&format!(
            "{person}client_id = \"ward\"\ntoken_endpoint = \"https://idp/token\""
        ));
        assert!(browser_fields(&half, false).expect_err("one endpoint").contains("both"));
        let no_client = provider(person);
        assert!(
            browser_fields(&no_client, false)
                .expect_err("no client id")
                .contains("client_id")
        );
        let unset = provider(&format!(
            "{person}client_id = \"ward\"\nclient_secret = \"env://WARD_TEST_UNSET_SECRET_9F\""
        ));
        assert!(browser_fields(&unset, true).expect_err("unset").contains("not set"));
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            with_query(
                "https://idp/auth",
                &[("scope", "openid email"), ("redirect_uri", "https://w/cb?x=1&y")]
            ),
            "https://idp/auth?scope=openid%20email&redirect_uri=https%3A%2F%2Fw%2Fcb%3Fx%3D1%26y"
        );
        assert_eq!(
            with_query("https://idp/auth?tenant=a", &[("k", "v")]),
            "https://idp/auth?tenant=a&k=v"
        );
    }

    #[test]
    fn role_rules() {
        let claims = json!({"repository": "acme/api", "groups": ["qa", "release"], "ref": "refs/heads/main"})
            .as_object()
            .cloned()
            .unwrap();
        let rule = |claim: &str, equals: Option<&str>, prefix: Option<&str>| RoleRule {
            claim: claim.into(),
            equals: equals.map(Into::into),
            prefix: prefix.map(Into::into),
            roles: vec![Role::Developer],
        };
        assert!(rule("repository", Some("acme/api"), None).matches(&claims));
        assert!(!rule("repository", Some("acme/web"), None).matches(&claims));
        assert!(rule("groups", Some("release"), None).matches(&claims));
        assert!(rule("ref", None, Some("refs/heads/")).matches(&claims));
        assert!(!rule("nope", None, None).matches(&claims));
    }
}
