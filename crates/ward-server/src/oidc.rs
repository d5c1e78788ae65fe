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
}

fn default_printed_name_claim() -> String {
    "name".into()
}

/// Identity prefixes that belong to Ward's own directory and tokens; no provider may mint them,
/// so identities from different issuers never merge.
pub const RESERVED_PREFIXES: [&str; 3] = ["user:", "token:", "local:"];

/// The literal text of an identity template before its first `{`: each provider's identities
/// live under their own prefix, which must end in `:` or `/`.
fn template_prefix(template: &str) -> &str {
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

impl Verifier {
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
            providers.push(Provider {
                keys: RwLock::new((keys, Some(Instant::now()))),
                config,
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
        let key = self.key(provider, header.kid.as_deref(), header.alg).await?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&provider.config.issuer]);
        validation.set_audience(&[&provider.config.audience]);
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
}

#[cfg(test)]
mod tests {
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
