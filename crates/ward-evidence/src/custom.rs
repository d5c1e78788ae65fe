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
    // The document is reduced only when it is kept inline; a larger one gives its declared
    // top-level keys alone (the reduction is linear, but there is no need to pay it).
    let small = bytes.len() <= MAX_INLINE;
    let top = |v: &Value| -> Value {
        match v {
            Value::Object(m) => Value::Object(m.keys().map(|k| (k.clone(), Value::Null)).collect()),
            _ => Value::Null,
        }
    };
    let shown = if small {
        declared(&doc, schema)
    } else {
        declared(&top(&doc), schema)
    };
    let mut keys: Vec<String> = shown
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    Ok(CustomSummary {
        type_name: name.into(),
        schema_digest: schema_digest(schema),
        keys,
        document: small.then_some(shown),
    })
}

/// Most schema nodes gathered for one value (through `$ref`s and combinators, each node once);
/// a schema that needs more declares nothing there (its values are left out).
const MAX_GATHERED: usize = 256;

/// `doc` reduced to what `schema` declares: an object keeps only the keys named in its
/// schema's `properties` (gathered through `$ref` inside the schema, `allOf`, `anyOf`,
/// `oneOf`, `then` and `else`), each value reduced by that property's schema; an array keeps
/// the elements `prefixItems` or `items` describe; a number, boolean or null is kept only where
/// its schema states a `type`, `enum` or `const` (a schema of `{}` declares nothing). Anything
/// else — keys under `additionalProperties` or `patternProperties`, elements no item schema
/// covers, a scalar whose schema says nothing of it — is left out: the summary recorded in the
/// log carries the shape the team declared, never a name or a number it did not (Ward's strings
/// are put aside after this). Linear in the document: each schema node's gathered declaration
/// is computed once (memoised, each node visited once, at most [`MAX_GATHERED`]).
pub fn declared(doc: &Value, schema: &Value) -> Value {
    let mut r = Reducer {
        root: schema,
        cache: std::collections::HashMap::new(),
    };
    r.reduce(doc, schema).unwrap_or(Value::Null)
}

/// What the schema nodes gathered at one place declare.
#[derive(Default)]
struct Gathered<'s> {
    properties: std::collections::HashMap<&'s str, &'s Value>,
    prefix: Vec<&'s Value>,
    items: Option<&'s Value>,
    typed: bool,
}

struct Reducer<'s> {
    root: &'s Value,
    cache: std::collections::HashMap<*const Value, std::rc::Rc<Gathered<'s>>>,
}

impl<'s> Reducer<'s> {
    /// The reduced value, or `None` when nothing of it is declared.
    fn reduce(&mut self, doc: &Value, node: &'s Value) -> Option<Value> {
        let g = self.gathered(node);
        match doc {
            Value::Object(map) => {
                let mut kept = serde_json::Map::new();
                for (k, v) in map {
                    if let Some(s) = g.properties.get(k.as_str()).copied()
                        && let Some(v) = self.reduce(v, s)
                    {
                        kept.insert(k.clone(), v);
                    }
                }
                Some(Value::Object(kept))
            }
            Value::Array(items) => {
                let kept = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| {
                        let s = g.prefix.get(i).copied().or(g.items)?;
                        self.reduce(v, s)
                    })
                    .collect();
                Some(Value::Array(kept))
            }
            // Strings are put aside by the caller (never inline), whatever the schema says.
            Value::String(_) => Some(doc.clone()),
            scalar => g.typed.then(|| scalar.clone()),
        }
    }

    fn gathered(&mut self, node: &'s Value) -> std::rc::Rc<Gathered<'s>> {
        let key = node as *const Value;
        if let Some(g) = self.cache.get(&key) {
            return g.clone();
        }
        let mut g = Gathered::default();
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if !n.is_object() || !seen.insert(n as *const Value) {
                continue;
            }
            if seen.len() > MAX_GATHERED {
                // Too tangled to say what it declares: it declares nothing.
                g = Gathered::default();
                break;
            }
            if let Some(p) = n.get("properties").and_then(Value::as_object) {
                for (k, v) in p {
                    g.properties.entry(k.as_str()).or_insert(v);
                }
            }
            if let Some(p) = n.get("prefixItems").and_then(Value::as_array) {
                g.prefix = p.iter().collect();
            }
            match n.get("items") {
                Some(Value::Array(p)) => g.prefix = p.iter().collect(),
                Some(i @ Value::Object(_)) => g.items = Some(i),
                _ => {}
            }
            g.typed |= n.get("type").is_some() || n.get("enum").is_some() || n.get("const").is_some();
            if let Some(target) = n
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
                .and_then(|pointer| self.root.pointer(pointer))
            {
                stack.push(target);
            }
            for combinator in ["allOf", "anyOf", "oneOf"] {
                stack.extend(n.get(combinator).and_then(Value::as_array).into_iter().flatten());
            }
            for branch in ["then", "else"] {
                stack.extend(n.get(branch));
            }
        }
        let g = std::rc::Rc::new(g);
        self.cache.insert(key, g.clone());
        g
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

    /// The second attack: numbers in arrays no item schema covers, beyond `prefixItems`, at the
    /// top level, or under a schema that states no type, stayed in the summary.
    #[test]
    fn numbers_no_schema_declares_are_left_out_wherever_they_are() {
        let reduce = |schema: Value, doc: Value| declared(&doc, &schema);
        assert_eq!(
            reduce(
                json!({"type":"object","properties":{"results":{"type":"array"},"passed":{"type":"boolean"}}}),
                json!({"passed":true,"results":[73519284,88123456,{"patient":55512345}]})
            ),
            json!({"passed":true,"results":[]})
        );
        assert_eq!(reduce(json!({}), json!(73519284)), Value::Null);
        assert_eq!(reduce(json!({"type":"array"}), json!([73519284, 66612345])), json!([]));
        assert_eq!(
            reduce(
                json!({"type":"object","properties":{"o":{"prefixItems":[{"type":"number"}]}}}),
                json!({"o":[66666666, 77777777]})
            ),
            json!({"o":[66666666]})
        );
        assert_eq!(
            reduce(json!({"type":"object","properties":{"n":{}}}), json!({"n": 123456789})),
            json!({}),
            "a property whose schema states nothing keeps nothing"
        );
    }

    /// The second attack: `anyOf` chains of `$ref`s (3.6 KB of schema) made the reduction
    /// exponential, and a wide item schema made it cost properties × objects.
    #[test]
    fn tangled_or_wide_schemas_reduce_in_linear_time() {
        let mut defs = serde_json::Map::new();
        for i in 0..30 {
            let next = format!("#/$defs/d{}", i + 1);
            defs.insert(
                format!("d{i}"),
                json!({"anyOf": [{"$ref": next}, {"$ref": next}, {"$ref": next}, {"$ref": next}]}),
            );
        }
        defs.insert(
            "d30".into(),
            json!({"type":"object","properties":{"x":{"type":"integer"}}}),
        );
        let chain = json!({"$ref": "#/$defs/d0", "$defs": defs});
        assert_eq!(declared(&json!({"x": 2}), &chain), json!({"x": 2}));
        let wide: serde_json::Map<String, Value> =
            (0..650).map(|i| (format!("p{i}"), json!({"type":"integer"}))).collect();
        let schema =
            json!({"type":"array","items":{"$ref":"#/$defs/o"},"$defs":{"o":{"type":"object","properties":wide}}});
        let doc = Value::Array((0..30_000).map(|_| json!({})).collect());
        let t = std::time::Instant::now();
        let out = declared(&doc, &schema);
        assert_eq!(out.as_array().map(Vec::len), Some(30_000));
        // Not a timing assertion of the bench kind: the exponential or quadratic versions took
        // tens of seconds; linear work is far below this bound even in a debug build.
        assert!(t.elapsed() < std::time::Duration::from_secs(10), "{:?}", t.elapsed());
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
