//! `custom::summarise` on arbitrary documents against a fixed schema, and `parse_schema` on
//! arbitrary schemas: never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_evidence::custom;

fuzz_target!(|data: &[u8]| {
    let schema = serde_json::json!({"type":"object","required":["a"],"properties":{"a":{"type":"integer","minimum":0},"b":{"type":"array","items":{"type":"string","maxLength":8}}}});
    if let Ok(s) = custom::summarise(data, 1 << 20, "t", &schema) {
        assert!(s.keys.contains(&"a".to_string()));
    }
    let _ = custom::parse_schema(data);
});
