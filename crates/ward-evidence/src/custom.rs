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
    /// Top-level keys of the document that its schema declares (objects only), sorted.
    pub keys: Vec<String>,
    /// The document when it is at most [`MAX_INLINE`] bytes, reduced to what its schema
    /// declares ([`declared`]): a key the schema does not name — and so its value — is left out
    /// (the whole document stays in the raw evidence beside the log).
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
    let shown = declared(&doc, schema);
    let mut keys: Vec<String> = shown
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    Ok(CustomSummary {
        type_name: name.into(),
        schema_digest: schema_digest(schema),
        keys,
        document: (bytes.len() <= MAX_INLINE).then_some(shown),
    })
}

/// Deepest schema nesting followed by [`declared`] (`$ref`s included).
const MAX_SCHEMA_DEPTH: usize = 32;

/// `doc` reduced to what `schema` declares: an object keeps only the keys named in its
/// schema's `properties` (gathered through `$ref` inside the schema, `allOf`, `anyOf`,
/// `oneOf`, `then` and `else`), each value reduced by that property's schema; an array's
/// elements by `items` (or `prefixItems`); scalars stay. Keys the schema does not name — free
/// keys under `additionalProperties` or `patternProperties`, where a tool or a person could
/// put a name or a number — are dropped: the summary recorded in the log carries the shape
/// the team declared, never text it did not (Ward's strings are put aside after this).
pub fn declared(doc: &Value, schema: &Value) -> Value {
    reduce(doc, schema, schema, 0)
}

fn reduce(doc: &Value, node: &Value, root: &Value, depth: usize) -> Value {
    if depth > MAX_SCHEMA_DEPTH {
        return Value::Null;
    }
    match doc {
        Value::Object(map) => {
            let mut properties = serde_json::Map::new();
            gather(node, root, depth, &mut |n| {
                if let Some(p) = n.get("properties").and_then(Value::as_object) {
                    for (k, v) in p {
                        properties.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            });
            let kept = map
                .iter()
                .filter_map(|(k, v)| properties.get(k).map(|s| (k.clone(), reduce(v, s, root, depth + 1))))
                .collect();
            Value::Object(kept)
        }
        Value::Array(items) => {
            let (mut prefix, mut rest) = (Vec::new(), None);
            gather(node, root, depth, &mut |n| {
                if let Some(p) = n.get("prefixItems").and_then(Value::as_array) {
                    prefix.clone_from(p);
                }
                match n.get("items") {
                    Some(Value::Array(p)) => prefix.clone_from(p),
                    Some(i @ Value::Object(_)) => rest = Some(i.clone()),
                    _ => {}
                }
            });
            let none = Value::Object(serde_json::Map::new());
            Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let s = prefix.get(i).or(rest.as_ref()).unwrap_or(&none);
                        reduce(v, s, root, depth + 1)
                    })
                    .collect(),
            )
        }
        scalar => scalar.clone(),
    }
}

/// Calls `visit` on `node` and on every schema it is combined with (`$ref` inside the
/// schema, `allOf`, `anyOf`, `oneOf`, `then`, `else`), to a bounded depth.
fn gather(node: &Value, root: &Value, depth: usize, visit: &mut dyn FnMut(&Value)) {
    if depth > MAX_SCHEMA_DEPTH || !node.is_object() {
        return;
    }
    visit(node);
    if let Some(target) = node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
    {
        gather(target, root, depth + 1, visit);
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        for sub in node.get(combinator).and_then(Value::as_array).into_iter().flatten() {
            gather(sub, root, depth + 1, visit);
        }
    }
    for branch in ["then", "else"] {
        if let Some(sub) = node.get(branch) {
            gather(sub, root, depth + 1, visit);
        }
    }
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

    /// A custom document's keys the schema does not declare — and their numbers — would
    /// otherwise reach the log inline in the summary (`{"mrn_number": 12345678}` under
    /// `additionalProperties`): only the declared shape is kept.
    #[test]
    fn keys_a_schema_does_not_declare_never_reach_the_summary() {
        let schema = json!({"type":"object","required":["passed"],
            "properties":{"passed":{"type":"boolean"},"score":{"type":"number"},
                "steps":{"type":"array","items":{"$ref":"#/$defs/step"}}},
            "$defs":{"step":{"type":"object","properties":{"minutes":{"type":"integer"}}}},
            "additionalProperties": true});
        let doc = br#"{"passed":true,"score":97.5,"mrn_number":12345678,"Jane Roe 1980-01-02":1,
            "steps":[{"minutes":5,"patient_id":4242424242}]}"#;
        let s = summarise(doc, 1 << 20, "review", &schema).unwrap();
        assert_eq!(s.keys, vec!["passed", "score", "steps"]);
        assert_eq!(
            s.document,
            Some(json!({"passed":true,"score":97.5,"steps":[{"minutes":5}]}))
        );
        let shown = serde_json::to_string(&s).unwrap();
        for leaked in ["12345678", "mrn_number", "Jane Roe", "4242424242", "patient_id"] {
            assert!(!shown.contains(leaked), "{leaked} reached the summary: {shown}");
        }
        // A schema that declares nothing keeps nothing but the empty shape.
        let open = summarise(br#"{"x": 123456789}"#, 1 << 20, "open", &json!({"type":"object"})).unwrap();
        assert_eq!(open.document, Some(json!({})));
        assert!(open.keys.is_empty());
    }

    /// A self-referencing schema cannot make the reduction loop.
    #[test]
    fn a_recursive_schema_is_followed_to_a_bounded_depth() {
        let schema = json!({"$ref":"#/$defs/node","$defs":{"node":{"type":"object",
            "properties":{"n":{"type":"integer"},"child":{"$ref":"#/$defs/node"}}}}});
        let mut doc = json!({"n": 0});
        for i in 1..100 {
            doc = json!({"n": i, "child": doc});
        }
        let bytes = serde_json::to_vec(&doc).unwrap();
        let s = summarise(&bytes, 1 << 20, "tree", &schema).unwrap();
        assert_eq!(s.keys, vec!["child", "n"]);
    }

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
