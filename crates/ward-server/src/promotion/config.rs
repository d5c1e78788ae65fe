//! Configuration bundles: per environment and per tenant, versioned apart from artifacts and
//! addressed by content.
//!
//! A bundle is a JSON object (the CLI also reads TOML). Secrets are references —
//! `env://NAME`, `file:///path`, `vault://path#key` — that the deployment tooling resolves;
//! Ward never stores a secret value: a value under a secret-like key that is not a reference,
//! or any value the PHI/secret guard flags, refuses the whole bundle (nothing is written).
//!
//! What a deployment to tenant `T` receives is the *effective* configuration: the environment's
//! bundle with `T`'s own bundle merged over it — never another tenant's. It is stored under its
//! digest and that digest goes into the deployment record.

use crate::error::ApiError;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use ward_core::Identity;
use ward_evidence::guard::{self, GuardConfig};
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

use super::Environment;

const CONFIGS: &str = "configs";
/// Largest bundle accepted (serialised).
pub const MAX_BUNDLE: usize = 256 * 1024;
/// Schemes of secret references.
pub const REFERENCE_SCHEMES: [&str; 3] = ["env://", "file://", "vault://"];
/// Key names (lower-case, `-`/`_` removed) whose values must be references.
const SECRET_KEYS: [&str; 10] = [
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "privatekey",
    "credential",
    "accesskey",
    "clientsecret",
    "passphrase",
];

/// A bundle to publish.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigRequest {
    /// The tenant it is for; none for the whole environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The configuration: a JSON object.
    #[schema(value_type = Object)]
    pub values: Value,
}

/// A published bundle (without its values).
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConfigBundle {
    /// Environment.
    pub environment: String,
    /// Tenant, for a tenant bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// `sha256:` of the bundle's canonical JSON.
    pub digest: String,
    /// Dotted paths of every value.
    pub keys: Vec<String>,
    /// Paths whose values are secret references.
    pub references: Vec<String>,
    /// Who published it.
    pub published_by: String,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// The configuration a deployment to one tenant (or the whole environment) receives.
#[derive(Clone, Debug)]
pub struct Effective {
    /// `sha256:` of `bytes`.
    pub digest: String,
    /// Canonical JSON: `{"environment", "tenant", "bundles", "values"}`.
    pub bytes: Vec<u8>,
}

/// Projects `config.published` (key `<env>/@/<seq>` or `<env>/t/<tenant>/<seq>`).
pub struct ConfigProjector;

fn key_prefix(env: &str, tenant: Option<&str>) -> String {
    match tenant {
        Some(t) => format!("{env}/t/{t}/"),
        None => format!("{env}/@/"),
    }
}

impl Projector for ConfigProjector {
    fn name(&self) -> &'static str {
        "configs"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        match (e.kind.as_str(), p.get("environment").and_then(Value::as_str)) {
            ("config.published", Some(env)) => {
                let tenant = p.get("tenant").and_then(Value::as_str);
                let key = format!("{}{:020}", key_prefix(env, tenant), e.seq);
                vec![ProjectionOp::put_stamped(CONFIGS, key, e, p)]
            }
            _ => vec![],
        }
    }
}

fn refused(code: &str, message: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code,
        message,
        "keep the secret in your secret manager and reference it: env://NAME, file:///path or vault://path#key",
    )
}

fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_KEYS.iter().any(|s| k.contains(s))
}

/// Whether `s` is a well-formed secret reference.
pub fn is_reference(s: &str) -> Option<bool> {
    let scheme = REFERENCE_SCHEMES.iter().find(|p| s.starts_with(*p))?;
    let rest = &s[scheme.len()..];
    let ok = match *scheme {
        "env://" => {
            rest.bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
                && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }
        "file://" => rest.starts_with('/') && rest.len() > 1 && !rest.contains(['\0', '\n']),
        _ => {
            let (path, key) = rest.split_once('#').unwrap_or((rest, "x"));
            let good = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-./".contains(&b));
            good(path) && good(key)
        }
    };
    Some(ok && rest.len() <= 512)
}

/// Walks the values: dotted paths of all leaves, and of references; refuses secret values.
fn inspect(values: &Value, guard_cfg: &GuardConfig) -> Result<(Vec<String>, Vec<String>), ApiError> {
    fn walk(path: &str, key: &str, v: &Value, out: &mut Vec<(String, String, Value)>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(&p, k, x, out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(&format!("{path}[{i}]"), key, x, out);
                }
            }
            leaf => out.push((path.to_string(), key.to_string(), leaf.clone())),
        }
    }
    let mut leaves = Vec::new();
    walk("", "", values, &mut leaves);
    let (mut keys, mut references) = (Vec::new(), Vec::new());
    for (path, key, v) in leaves {
        let text = match &v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        match is_reference(&text) {
            Some(true) => references.push(path.clone()),
            Some(false) => {
                return Err(refused(
                    "bad_secret_reference",
                    format!("{path}: not a valid secret reference"),
                ));
            }
            None if is_secret_key(&key) && !matches!(v, Value::Null | Value::Bool(_)) && !text.is_empty() => {
                return Err(refused(
                    "secret_value",
                    format!("{path} holds a secret value; a bundle may only reference secrets"),
                ));
            }
            None => {}
        }
        let line = format!("{path}: {text}");
        if let Some(f) = guard::scan(&line, guard_cfg).first() {
            return Err(refused(
                "secret_value",
                format!(
                    "{path}: the guard found {} (span {}); the value is not stored",
                    f.detector, f.span_sha256
                ),
            ));
        }
        keys.push(path);
    }
    Ok((keys, references))
}

/// Publishes a bundle for an environment or one of its tenants.
pub async fn publish(
    ledger: &Ledger,
    by: &Identity,
    env: &Environment,
    req: &ConfigRequest,
    guard_cfg: &GuardConfig,
) -> Result<ConfigBundle, ApiError> {
    if let Some(t) = &req.tenant
        && !env.all_tenants().contains(t)
    {
        return Err(ApiError::invalid(
            format!("{} has no tenant {t:?}", env.name),
            "declare the tenant in [[environments]] tenants or rings",
        ));
    }
    if !req.values.is_object() {
        return Err(ApiError::invalid(
            "a config bundle is a JSON object",
            "give key/value pairs, e.g. {\"db\": {\"url\": \"env://DB_URL\"}}",
        ));
    }
    let bytes = ward_ledger::envelope::canonical_json(&req.values).map_err(|e| {
        ApiError::invalid(
            format!("the bundle cannot be canonicalised: {e}"),
            "use JSON numbers within ±2^53",
        )
    })?;
    if bytes.len() > MAX_BUNDLE {
        return Err(ApiError::invalid(
            format!("the bundle is {} bytes; at most {MAX_BUNDLE}", bytes.len()),
            "split configuration per tenant, or reference large files",
        ));
    }
    let (keys, references) = inspect(&req.values, guard_cfg)?;
    let digest = ward_evidence::digest::of_bytes(&bytes);
    ledger.store().put_evidence(&digest, &bytes).await?;
    let payload = json!({
        "environment": env.name, "tenant": req.tenant, "digest": digest,
        "keys": keys, "references": references, "published_by": by.id,
    });
    let receipt = ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "config.published".into(),
            subject: format!("env:{}", env.name),
            payload: payload.clone(),
        })
        .await?;
    let mut doc = payload;
    doc["seq"] = json!(receipt.seq);
    doc["time"] = json!(receipt.time);
    serde_json::from_value(doc).map_err(ApiError::internal)
}

/// Bundles published for an environment (or one tenant), oldest first.
pub async fn history(ledger: &Ledger, env: &str, tenant: Option<&str>) -> Result<Vec<ConfigBundle>, ApiError> {
    ledger
        .store()
        .projection_prefix(CONFIGS, &key_prefix(env, tenant))
        .await?
        .into_iter()
        .map(|(_, doc)| serde_json::from_value(doc).map_err(ApiError::internal))
        .collect()
}

/// A stored document by digest, checked against it.
pub async fn load(ledger: &Ledger, digest: &str) -> Result<Vec<u8>, ApiError> {
    let bytes = ledger.store().evidence(digest).await?.ok_or_else(|| {
        ApiError::not_found(
            format!("stored configuration {digest} is missing"),
            "it was stored when published; check the store with `ward log fsck`",
        )
    })?;
    if ward_evidence::digest::of_bytes(&bytes) != digest {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "tampered",
            format!("stored configuration {digest} does not match its digest"),
            "the evidence store was altered; restore it from backup",
        ));
    }
    Ok(bytes)
}

async fn current_values(ledger: &Ledger, env: &str, tenant: Option<&str>) -> Result<Option<(String, Value)>, ApiError> {
    let Some(b) = history(ledger, env, tenant).await?.pop() else {
        return Ok(None);
    };
    let v = serde_json::from_slice(&load(ledger, &b.digest).await?).map_err(ApiError::internal)?;
    Ok(Some((b.digest, v)))
}

fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// The effective configuration for a deployment to `tenant` (or the whole environment): the
/// environment bundle with that tenant's bundle over it. `None` when neither exists.
pub async fn effective(ledger: &Ledger, env: &str, tenant: Option<&str>) -> Result<Option<Effective>, ApiError> {
    let base = current_values(ledger, env, None).await?;
    let own = match tenant {
        Some(t) => current_values(ledger, env, Some(t)).await?,
        None => None,
    };
    if base.is_none() && own.is_none() {
        return Ok(None);
    }
    let mut values = Value::Object(Map::new());
    let mut bundles = Vec::new();
    for (digest, v) in base.iter().chain(own.iter()) {
        merge(&mut values, v);
        bundles.push(digest.clone());
    }
    let doc = json!({"environment": env, "tenant": tenant, "bundles": bundles, "values": values});
    let bytes = ward_ledger::envelope::canonical_json(&doc).map_err(ApiError::internal)?;
    let digest = ward_evidence::digest::of_bytes(&bytes);
    ledger.store().put_evidence(&digest, &bytes).await?;
    Ok(Some(Effective { digest, bytes }))
}

/// An effective configuration recorded by digest, loaded back (`None` for no digest).
pub async fn load_effective(ledger: &Ledger, digest: Option<&str>) -> Result<Option<Effective>, ApiError> {
    match digest {
        Some(d) => Ok(Some(Effective {
            digest: d.to_string(),
            bytes: load(ledger, d).await?,
        })),
        None => Ok(None),
    }
}

/// The configuration of an environment or tenant, for reading.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct ConfigView {
    /// Environment.
    pub environment: String,
    /// Tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Digest of what `values` shows (the latest bundle, or the effective configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The values (secrets only as references).
    #[schema(value_type = Object)]
    pub values: Value,
    /// Every bundle published here, oldest first.
    pub history: Vec<ConfigBundle>,
}

/// The latest bundle (or, with `effective`, the merged configuration a deployment receives).
pub async fn view(
    ledger: &Ledger,
    env: &Environment,
    tenant: Option<&str>,
    effective_view: bool,
) -> Result<ConfigView, ApiError> {
    if let Some(t) = tenant
        && !env.all_tenants().iter().any(|x| x == t)
    {
        return Err(ApiError::not_found(
            format!("{} has no tenant {t:?}", env.name),
            "see the environment's tenants in ward.toml",
        ));
    }
    let history = history(ledger, &env.name, tenant).await?;
    let (digest, values) = if effective_view {
        match effective(ledger, &env.name, tenant).await? {
            Some(e) => {
                let doc: Value = serde_json::from_slice(&e.bytes).map_err(ApiError::internal)?;
                (Some(e.digest), doc.get("values").cloned().unwrap_or(Value::Null))
            }
            None => (None, json!({})),
        }
    } else {
        match current_values(ledger, &env.name, tenant).await? {
            Some((d, v)) => (Some(d), v),
            None => (None, json!({})),
        }
    };
    Ok(ConfigView {
        environment: env.name.clone(),
        tenant: tenant.map(str::to_string),
        digest,
        values,
        history,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: Value) -> Result<(Vec<String>, Vec<String>), String> {
        inspect(&v, &GuardConfig::default()).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn references_pass_and_secret_values_are_refused() {
        let (keys, refs) = check(json!({
            "db": {"url": "postgres://db.internal:5432/app", "password": "env://DB_PASSWORD"},
            "tls": {"key_file": "file:///run/secrets/tls.key"},
            "api_token": "vault://kv/portal#token",
            "replicas": 3, "features": ["a", "b"], "password_policy_enabled": true,
        }))
        .unwrap();
        assert_eq!(refs, vec!["api_token", "db.password", "tls.key_file"]);
        assert!(keys.contains(&"features[1]".to_string()) && keys.len() == 8, "{keys:?}");
        let e = check(json!({"db": {"password": "hunter2"}})).unwrap_err();
        assert!(
            e.contains("secret_value") && e.contains("db.password") && !e.contains("hunter2"),
            "{e}"
        );
        let e = check(json!({"smtp": {"url": "smtp://mailer:s3cretPass@mail.example.org"}})).unwrap_err();
        assert!(e.contains("password-in-url"), "{e}");
        let e = check(json!({"github": "ghp_0123456789abcdefghijABCDEFGHIJ0123456789"})).unwrap_err();
        assert!(e.contains("github-token"), "{e}");
        assert!(
            check(json!({"x": "env://1BAD"}))
                .unwrap_err()
                .contains("bad_secret_reference")
        );
        assert!(
            check(json!({"x": "file://relative"}))
                .unwrap_err()
                .contains("bad_secret_reference")
        );
        assert!(check(json!({"ApiKey": 12345})).unwrap_err().contains("secret_value"));
    }

    #[test]
    fn tenant_values_override_the_environment_only_for_that_tenant() {
        let mut v = json!({"db": {"url": "env://DB", "pool": 5}, "flag": false});
        merge(&mut v, &json!({"db": {"pool": 9}, "flag": true}));
        assert_eq!(v, json!({"db": {"url": "env://DB", "pool": 9}, "flag": true}));
    }
}
