//! Custom attestation types: JSON documents checked against a JSON Schema that a team registers
//! under a name (`ward attest type add NAME --schema FILE`).
//!
//! Schemas are compiled by the `jsonschema` crate (drafts 4, 6, 7, 2019-09 and 2020-12, chosen
//! by `$schema`) with every remote resolver disabled: a `$ref` must point inside the schema.
//! Errors name the failing location and rule but never echo the document's values.

use crate::{EvidenceError, check_size};
use serde::{Deserialize, Serialize};
use serde_json::Value;

const FORMAT: &str = "custom JSON";
/// Largest schema accepted.
pub const MAX_SCHEMA: usize = 1024 * 1024;
/// Documents up to this size are kept whole in the summary, so gates can read their fields.
pub const MAX_INLINE: usize = 64 * 1024;
const MAX_ERRORS: usize = 5;

/// What a custom attestation says.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CustomSummary {
    /// The registered type's name.
    pub type_name: String,
    /// `sha256:` of the schema (compact JSON, sorted keys), so a summary names the exact schema.
    pub schema_digest: String,
    /// Top-level keys of the document (objects only), sorted.
    pub keys: Vec<String>,
    /// The document itself when it is at most [`MAX_INLINE`] bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<Value>,
}

/// Compiles `schema`, refusing one that is not a valid JSON Schema or that refers outside itself.
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, EvidenceError> {
    jsonschema::validator_for(schema).map_err(|e| EvidenceError::Malformed {
        format: "JSON Schema",
        reason: e.to_string(),
    })
}

/// `sha256:` of the schema's compact JSON with sorted keys.
pub fn schema_digest(schema: &Value) -> String {
    let bytes = serde_json::to_vec(schema).unwrap_or_default();
    crate::digest::of_bytes(&bytes)
}

/// Checks a document of at most `limit` bytes against the type `name`'s schema.
pub fn summarise(bytes: &[u8], limit: usize, name: &str, schema: &Value) -> Result<CustomSummary, EvidenceError> {
    check_size(bytes, limit)?;
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| EvidenceError::Malformed {
        format: FORMAT,
        reason: e.to_string(),
    })?;
    let validator = compile(schema)?;
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .take(MAX_ERRORS + 1)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {}", if at.is_empty() { "/".into() } else { at }, e.masked())
        })
        .collect();
    if !errors.is_empty() {
        let more = if errors.len() > MAX_ERRORS { " (and more)" } else { "" };
        return Err(EvidenceError::Schema(format!(
            "{name}: {}{more}",
            errors.iter().take(MAX_ERRORS).cloned().collect::<Vec<_>>().join("; ")
        )));
    }
    let mut keys: Vec<String> = doc.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
    keys.sort();
    Ok(CustomSummary {
        type_name: name.into(),
        schema_digest: schema_digest(schema),
        keys,
        document: (bytes.len() <= MAX_INLINE).then_some(doc),
    })
}

/// Checks a schema given as bytes: JSON, within [`MAX_SCHEMA`], and compiles.
pub fn parse_schema(bytes: &[u8]) -> Result<Value, EvidenceError> {
    check_size(bytes, MAX_SCHEMA)?;
    let schema: Value = serde_json::from_slice(bytes).map_err(|e| EvidenceError::Malformed {
        format: "JSON Schema",
        reason: e.to_string(),
    })?;
    if !schema.is_object() {
        return Err(EvidenceError::Malformed {
            format: "JSON Schema",
            reason: "a schema must be a JSON object".into(),
        });
    }
    compile(&schema)?;
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validates_and_never_echoes_values() {
        let schema = json!({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object",
            "required":["reviewer","passed"],"properties":{"reviewer":{"type":"string"},"passed":{"type":"boolean"}}});
        let ok = summarise(br#"{"reviewer":"dr-who","passed":true}"#, 1 << 20, "pen-test", &schema).unwrap();
        assert_eq!(ok.keys, vec!["passed", "reviewer"]);
        assert!(ok.document.is_some());
        let err = summarise(
            br#"{"reviewer":"123-45-6789","passed":"SECRETVALUE"}"#,
            1 << 20,
            "pen-test",
            &schema,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("/passed"), "{err}");
        assert!(!err.contains("SECRETVALUE"), "{err}");
        assert!(matches!(
            summarise(b"{", 1 << 20, "t", &schema),
            Err(EvidenceError::Malformed { .. })
        ));
    }

    #[test]
    fn schemas_must_compile_and_stay_local() {
        assert!(parse_schema(br#"{"type":"object"}"#).is_ok());
        assert!(parse_schema(br#"{"type":12}"#).is_err());
        assert!(parse_schema(b"[]").is_err());
        assert!(parse_schema(br#"{"$ref":"https://example.com/remote.json"}"#).is_err());
    }
}
