//! Keys trusted to sign evidence for a builder (`ward key trust --builder NAME KEYFILE`), and
//! custom attestation types (`ward attest type add NAME --schema FILE`).
//!
//! Both are ledger events with projections: `key.trusted` / `key.revoked` (subject
//! `key:<keyid>`), and `attestation_type.registered` (subject `attestation-type:<name>`). A key
//! names one builder; a type's schema never changes (register a new name for a new schema), so
//! a summary's `schema_digest` always means one schema.

use crate::error::AppError;
use crate::error::Kind;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ward_core::Identity;
use ward_evidence::intoto::TrustedKey;
use ward_evidence::keys::PublicKey;
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

const KEYS: &str = "trusted_keys";
const REVOKED: &str = "revoked_keys";
const TYPES: &str = "attestation_types";

/// A public key to trust for a builder.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrustRequest {
    /// Builder name (1–64 of `[a-z0-9._-]`), e.g. `github-actions` or `release-pipeline`.
    pub builder: String,
    /// The public key, PEM (`-----BEGIN PUBLIC KEY-----`): Ed25519, ECDSA P-256 or RSA.
    pub public_key_pem: String,
}

/// A trusted key.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyRecord {
    /// `sha256:` of the key's SubjectPublicKeyInfo.
    pub keyid: String,
    /// Builder it signs for.
    pub builder: String,
    /// `ed25519`, `ecdsa-p256` or `rsa`.
    pub algorithm: String,
    /// The public key, PEM.
    pub public_key_pem: String,
    /// Who trusted it.
    pub added_by: String,
    /// Revoked: signatures by it no longer count for new attestations.
    #[serde(default)]
    pub revoked: bool,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// A custom attestation type to register.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TypeRequest {
    /// Type name (1–64 of `[a-z0-9._-]`); attach with `--type custom:<name>`.
    pub name: String,
    /// The JSON Schema.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub schema: Value,
}

/// A registered custom attestation type.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypeRecord {
    /// Name.
    pub name: String,
    /// The JSON Schema.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub schema: Value,
    /// `sha256:` of the schema.
    pub schema_digest: String,
    /// Who registered it.
    pub added_by: String,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// Projects trusted keys and attestation types.
pub struct KeysProjector;

impl Projector for KeysProjector {
    fn name(&self) -> &'static str {
        "keys"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        let mut doc = p.clone();
        if let Some(o) = doc.as_object_mut() {
            o.insert("seq".into(), json!(e.seq));
            o.insert("time".into(), json!(e.time));
        }
        let key = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
        match (e.kind.as_str(), key("keyid"), key("name")) {
            ("key.trusted", Some(id), _) => vec![ProjectionOp::Put {
                collection: KEYS.into(),
                key: id,
                doc,
            }],
            ("key.revoked", Some(id), _) => vec![ProjectionOp::Put {
                collection: REVOKED.into(),
                key: id,
                doc,
            }],
            ("attestation_type.registered", _, Some(name)) => vec![ProjectionOp::Put {
                collection: TYPES.into(),
                key: name,
                doc,
            }],
            _ => vec![],
        }
    }
}

fn bad_key(e: ward_evidence::keys::KeyError) -> AppError {
    AppError::invalid(
        e.to_string(),
        "pass the builder's public key as PEM (`openssl pkey -in KEY -pubout` prints it)",
    )
}

/// Trusts a key for a builder (idempotent; a key already trusted for another builder is a
/// conflict).
pub async fn trust(ledger: &Ledger, by: &Identity, req: &TrustRequest) -> Result<(KeyRecord, bool), AppError> {
    crate::users::check_new_name("builder", &req.builder)?;
    let key = PublicKey::from_pem(&req.public_key_pem).map_err(bad_key)?;
    let keyid = key.keyid();
    if let Some(existing) = key_record(ledger, &keyid).await? {
        if existing.builder == req.builder && !existing.revoked {
            return Ok((existing, false));
        }
        return Err(AppError::new(
            Kind::Conflict,
            "conflict",
            if existing.revoked {
                format!(
                    "key {keyid} was revoked (entry {}); a revoked key is not trusted again",
                    existing.seq
                )
            } else {
                format!("key {keyid} is already trusted for builder {:?}", existing.builder)
            },
            "a key signs for one builder: give each builder its own key pair",
        ));
    }
    let payload = json!({
        "keyid": keyid,
        "builder": req.builder,
        "algorithm": key.algorithm().as_str(),
        "public_key_pem": key.to_pem(),
        "added_by": by.id,
    });
    let receipt = ledger
        .append(NewEvent {
            actor: by.actor(),
            kind: "key.trusted".into(),
            subject: format!("key:{keyid}"),
            payload: payload.clone(),
        })
        .await?;
    let mut doc = payload;
    doc["seq"] = json!(receipt.seq);
    doc["time"] = json!(receipt.time);
    Ok((serde_json::from_value(doc).map_err(AppError::internal)?, true))
}

async fn key_record(ledger: &Ledger, keyid: &str) -> Result<Option<KeyRecord>, AppError> {
    let Some(doc) = ledger.store().projection(KEYS, keyid).await? else {
        return Ok(None);
    };
    let mut rec: KeyRecord = serde_json::from_value(doc).map_err(AppError::internal)?;
    rec.revoked = ledger.store().projection(REVOKED, keyid).await?.is_some();
    Ok(Some(rec))
}

/// Revokes a trusted key.
pub async fn revoke(ledger: &Ledger, by: &Identity, keyid: &str) -> Result<KeyRecord, AppError> {
    let Some(mut rec) = key_record(ledger, keyid).await? else {
        return Err(AppError::not_found(
            format!("no trusted key {}", crate::identifier::shown(keyid)),
            "list the trusted keys",
        ));
    };
    if !rec.revoked {
        ledger
            .append(NewEvent {
                actor: by.actor(),
                kind: "key.revoked".into(),
                subject: format!("key:{keyid}"),
                payload: json!({ "keyid": keyid }),
            })
            .await?;
        rec.revoked = true;
    }
    Ok(rec)
}

/// Every trusted key, revoked ones included, in the order they were trusted.
pub async fn list(ledger: &Ledger) -> Result<Vec<KeyRecord>, AppError> {
    let revoked: std::collections::HashSet<String> = ledger
        .store()
        .projection_list(REVOKED)
        .await?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let mut out: Vec<KeyRecord> = ledger
        .store()
        .projection_list(KEYS)
        .await?
        .into_iter()
        .map(|(id, doc)| {
            let mut r: KeyRecord = serde_json::from_value(doc).map_err(AppError::internal)?;
            r.revoked = revoked.contains(&id);
            Ok(r)
        })
        .collect::<Result<_, AppError>>()?;
    out.sort_by_key(|k| k.seq);
    Ok(out)
}

/// The keys signatures are checked against: every trusted, unrevoked key.
pub async fn trusted(ledger: &Ledger) -> Result<Vec<TrustedKey>, AppError> {
    list(ledger)
        .await?
        .into_iter()
        .filter(|k| !k.revoked)
        .map(|k| {
            Ok(TrustedKey {
                key: PublicKey::from_pem(&k.public_key_pem).map_err(AppError::internal)?,
                builder: k.builder,
            })
        })
        .collect()
}

/// Registers a custom attestation type (idempotent for the same schema; another schema under
/// the same name is a conflict).
pub async fn register_type(ledger: &Ledger, by: &Identity, req: &TypeRequest) -> Result<(TypeRecord, bool), AppError> {
    crate::users::check_new_name("attestation type", &req.name)?;
    let bytes = serde_json::to_vec(&req.schema).map_err(AppError::internal)?;
    let schema = ward_evidence::custom::parse_schema(&bytes).map_err(|e| {
        AppError::invalid(
            e.to_string(),
            "pass a JSON Schema (draft 7 or 2020-12) whose $refs stay inside it",
        )
    })?;
    // The schema's descriptions, defaults and examples are judged by every detector, its strings
    // and keys as identifiers too (attack round 7); since the tenth session the schema is stored
    // beside the log (a helper's attack on its head: `born 12 IV 1961, ssn 219a45b1100` in a
    // description passed every detector and sat in the leaf), the leaf holding its reference
    // and its digest.
    crate::freetext::check("schema", &String::from_utf8_lossy(&bytes))?;
    crate::identifier::judge_names("schema", &req.schema)?;
    let digest = ward_evidence::custom::schema_digest(&schema);
    if let Some(existing) = type_record(ledger, &req.name).await? {
        if existing.schema_digest == digest {
            return Ok((existing, false));
        }
        return Err(AppError::new(
            Kind::Conflict,
            "conflict",
            format!(
                "attestation type {:?} is already registered with another schema ({})",
                req.name, existing.schema_digest
            ),
            if existing.seq == 0 {
                "it is built into Ward (docs/POLICY.md); register your schema under another name"
            } else {
                "a type's schema never changes: register the new schema under a new name (e.g. with a -v2 suffix)"
            },
        ));
    }
    let mut texts = crate::documents::Texts::new();
    let text = serde_json::to_string(&schema).map_err(AppError::internal)?;
    let stored = texts.put_judged(&text)?;
    let payload = json!({ "name": req.name, "schema": stored, "schema_digest": digest, "added_by": by.id });
    let receipt = crate::documents::append(
        ledger,
        NewEvent {
            actor: by.actor(),
            kind: "attestation_type.registered".into(),
            subject: format!("attestation-type:{}", req.name),
            payload: payload.clone(),
        },
        texts,
    )
    .await?;
    let mut doc = payload;
    doc["seq"] = json!(receipt.seq);
    doc["time"] = json!(receipt.time);
    doc["schema"] = schema;
    Ok((serde_json::from_value(doc).map_err(AppError::internal)?, true))
}

/// The JSON Schema of the built-in `rollback-plan` type (the gate's `rollback_plan` evidence).
pub const ROLLBACK_PLAN_SCHEMA: &str = include_str!("../schemas/rollback-plan.schema.json");

/// Types Ward ships: usable without registration, never redefined with another schema.
fn built_in_type(name: &str) -> Option<TypeRecord> {
    let source = match name {
        "rollback-plan" => ROLLBACK_PLAN_SCHEMA,
        _ => return None,
    };
    let schema = ward_evidence::custom::parse_schema(source.as_bytes()).ok()?;
    Some(TypeRecord {
        name: name.into(),
        schema_digest: ward_evidence::custom::schema_digest(&schema),
        schema,
        added_by: "ward (built in)".into(),
        seq: 0,
        time: String::new(),
    })
}

/// A custom attestation type by name: a registered one, else a built-in one. (An installation
/// that registered `rollback-plan` before it was built in keeps its registered schema.)
pub async fn type_record(ledger: &Ledger, name: &str) -> Result<Option<TypeRecord>, AppError> {
    match ledger.store().projection(TYPES, name).await? {
        Some(doc) => Ok(Some(read_type(ledger, doc).await?)),
        None => Ok(built_in_type(name)),
    }
}

/// A type's record from its projection: its schema read from beside the log (registrations
/// since the tenth session) or inline (older ones). A purged schema checks no document: the
/// type is refused, never taken as one without a schema (fail closed).
async fn read_type(ledger: &Ledger, mut doc: Value) -> Result<TypeRecord, AppError> {
    if let Some(stored) = doc.get("schema").and_then(Value::as_str).map(str::to_string) {
        if crate::documents::any_purged(ledger, &json!(stored)).await? {
            return Err(AppError::invalid(
                "this attestation type's schema was purged from beside the log: it checks no document any more",
                "register the schema again under a new type name",
            ));
        }
        let text = crate::documents::read_text(ledger, &stored).await?;
        doc["schema"] = serde_json::from_str(&text).map_err(AppError::internal)?;
    }
    serde_json::from_value(doc).map_err(AppError::internal)
}

/// Every custom attestation type.
pub async fn list_types(ledger: &Ledger) -> Result<Vec<TypeRecord>, AppError> {
    let mut out: Vec<TypeRecord> = Vec::new();
    for (_, doc) in ledger.store().projection_list(TYPES).await? {
        // A purged schema's type is listed with no schema (`null`).
        match read_type(ledger, doc.clone()).await {
            Ok(t) => out.push(t),
            Err(_) => {
                let mut doc = doc;
                doc["schema"] = Value::Null;
                out.push(serde_json::from_value(doc).map_err(AppError::internal)?);
            }
        }
    }
    for name in ["rollback-plan"] {
        if !out.iter().any(|t| t.name == name)
            && let Some(t) = built_in_type(name)
        {
            out.push(t);
        }
    }
    out.sort_by_key(|t| t.seq);
    Ok(out)
}
