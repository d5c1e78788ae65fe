//! `ward key …` (keys trusted to sign for a builder) and `ward attest type …` (custom attestation
//! types), locally or through a server.

use crate::backend::Backend;
use crate::cli::{AttestTypeCommand, Global, KeyCommand};
use crate::failure::Failure;
use crate::output::emit;
use anyhow::Result;
use serde_json::json;
use std::path::Path;
use ward_app::keys::{KeyRecord, TrustRequest, TypeRecord, TypeRequest};

/// Largest key or schema file read.
const MAX_FILE: u64 = 1024 * 1024;

fn read_small(path: &Path, what: &str) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| {
        Failure::new(
            "bad_file",
            format!("{}: {e}", path.display()),
            format!("pass the {what} file"),
        )
    })?;
    if meta.len() > MAX_FILE {
        return Err(Failure::new(
            "too_large",
            format!(
                "{} is {} bytes; a {what} is at most {MAX_FILE}",
                path.display(),
                meta.len()
            ),
            format!("pass the {what} file itself"),
        )
        .into());
    }
    Ok(std::fs::read(path)?)
}

/// Dispatches `ward key`.
pub async fn key(g: &Global, cmd: &KeyCommand) -> Result<()> {
    let backend = Backend::from_global(g)?;
    match cmd {
        KeyCommand::Trust { builder, keyfile } => {
            let pem = String::from_utf8(read_small(keyfile, "public key")?).map_err(|_| {
                Failure::new(
                    "bad_key",
                    format!("{} is not PEM text", keyfile.display()),
                    "export the public key as PEM: `openssl pkey -in KEY -pubout`",
                )
            })?;
            let req = TrustRequest {
                builder: builder.clone(),
                public_key_pem: pem,
            };
            let rec: KeyRecord = backend.trust_key(&req).await?;
            emit(g.output, json!(rec), || {
                format!(
                    "trusted {} key {} for builder {} (entry {})",
                    rec.algorithm, rec.keyid, rec.builder, rec.seq
                )
            });
        }
        KeyCommand::List => {
            let list: Vec<KeyRecord> = backend.keys().await?;
            emit(g.output, json!({ "keys": list }), || {
                if list.is_empty() {
                    return "no trusted keys (add one with `ward key trust --builder NAME KEYFILE`)".into();
                }
                list.iter()
                    .map(|k| {
                        format!(
                            "{}  {:<10} {:<24} {}",
                            k.keyid,
                            k.algorithm,
                            k.builder,
                            if k.revoked { "revoked" } else { "trusted" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        KeyCommand::Revoke { keyid } => {
            let rec: KeyRecord = backend.revoke_key(keyid).await?;
            emit(g.output, json!(rec), || {
                format!("revoked {} ({})", rec.keyid, rec.builder)
            });
        }
    }
    Ok(())
}

/// Dispatches `ward attest type`.
pub async fn attest_type(g: &Global, backend: &Backend<'_>, cmd: &AttestTypeCommand) -> Result<()> {
    match cmd {
        AttestTypeCommand::Add { name, schema } => {
            let bytes = read_small(schema, "JSON Schema")?;
            let schema = serde_json::from_slice(&bytes).map_err(|e| {
                Failure::new(
                    "bad_schema",
                    format!("{} is not JSON: {e}", schema.display()),
                    "pass a JSON Schema document",
                )
            })?;
            let req = TypeRequest {
                name: name.clone(),
                schema,
            };
            let rec: TypeRecord = backend.register_type(&req).await?;
            emit(g.output, json!(rec), || {
                format!(
                    "registered attestation type {} ({}); attach with --type custom:{}",
                    rec.name, rec.schema_digest, rec.name
                )
            });
        }
        AttestTypeCommand::List => {
            let list: Vec<TypeRecord> = backend.types().await?;
            emit(g.output, json!({ "types": list }), || {
                if list.is_empty() {
                    return "no custom attestation types".into();
                }
                list.iter()
                    .map(|t| format!("{:<24} {}  (entry {})", t.name, t.schema_digest, t.seq))
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
    }
    Ok(())
}
