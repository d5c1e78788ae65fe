//! Free text written by people — change titles and descriptions, signature comments, reasons and
//! justifications — passes the PHI/secret guard before anything is recorded, as evidence does.
//!
//! People's text is judged by every built-in detector: `[guard]` allowlists and `disable` are for
//! evidence files (synthetic test data, known scanner fixtures), not for what people type. A
//! finding refuses the request naming the field and the detectors, never the text.

use crate::error::AppError;
use crate::error::Kind;
use std::sync::OnceLock;
use ward_evidence::guard::{Allowlist, GuardConfig, detector_names, scan};
use ward_ledger::{EventEnvelope, NewEvent};
use ward_store::{ProjectionOp, Projector};

fn detectors() -> &'static GuardConfig {
    static CONFIG: OnceLock<GuardConfig> = OnceLock::new();
    CONFIG.get_or_init(|| GuardConfig {
        password_assignments: true,
        ..GuardConfig::default()
    })
}

/// The built-in detectors without `high-entropy`, for events Ward writes itself: their
/// structured fields hold digests, keys' public parts and signatures, which look random by design.
fn structural_detectors() -> &'static GuardConfig {
    static CONFIG: OnceLock<GuardConfig> = OnceLock::new();
    CONFIG.get_or_init(|| GuardConfig {
        allow: Allowlist {
            detectors: vec!["high-entropy".into()],
            ..Allowlist::default()
        },
        password_assignments: true,
        ..GuardConfig::default()
    })
}

/// The last guard before the log: every new event's kind, subject and payload (keys and values,
/// as the JSON that is stored) are scanned, whatever path wrote it — a handler that forgot a
/// field, `POST /api/v1/events`, `ward log append`. Events of generic kinds (written by callers)
/// face every built-in detector; Ward's own kinds every detector but `high-entropy`. A finding
/// refuses the append (`sensitive_content`), naming the detectors only.
pub struct LogGuard;

impl Projector for LogGuard {
    fn name(&self) -> &'static str {
        "guard"
    }

    fn project(&self, _: &EventEnvelope) -> Vec<ProjectionOp> {
        vec![]
    }

    fn admit(&self, e: &NewEvent) -> Result<(), String> {
        let generic = crate::ops::check_generic_kind(&e.kind).is_ok();
        let cfg = if generic { detectors() } else { structural_detectors() };
        let mut text = String::with_capacity(e.kind.len() + e.subject.len() + e.actor.id.len() + 256);
        for part in [&e.kind, &e.subject, &e.actor.id] {
            text.push_str(part);
            text.push('\n');
        }
        as_lines(&e.payload, "", &mut text);
        let found = scan(&text, cfg);
        if found.is_empty() {
            return Ok(());
        }
        Err(format!(
            "the {} event holds what looks like PHI or a secret ({}); nothing was recorded",
            if generic { "submitted" } else { "recorded" },
            detector_names(&found)
        ))
    }
}

/// Writes `v` as the text the guard judges: one `key: value` line per string, number or boolean,
/// with the strings as stored after JSON decoding (an escaped newline before a value is a real
/// line break here, not the letters `\n` glued to it), keys as field names beside their values.
fn as_lines(v: &serde_json::Value, key: &str, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                as_lines(v, k, out);
            }
        }
        Value::Array(a) => {
            for v in a {
                as_lines(v, key, out);
            }
        }
        Value::String(s) => {
            out.push_str(key);
            out.push_str(": ");
            out.push_str(s);
            out.push('\n');
        }
        Value::Null => {}
        other => {
            out.push_str(key);
            out.push_str(": ");
            out.push_str(&other.to_string());
            out.push('\n');
        }
    }
}

/// An error message or hint as it may be shown: unchanged, or — when it holds what looks like
/// PHI or a secret (a refusal that quotes the value it was given: a ticket that is not a URL,
/// an unknown tenant, a configuration key) — a sentence that names the detectors and repeats
/// nothing. The last line of "never echo": every error the server sends and the CLI prints
/// passes here. Digests and ids in messages are not judged (no `high-entropy`).
pub fn withheld(text: &str) -> Option<String> {
    if text.trim().is_empty() {
        return None;
    }
    let found = scan(text, structural_detectors());
    if found.is_empty() {
        return None;
    }
    Some(format!(
        "the text of this message is withheld: it would repeat a value that looks like PHI or a secret ({})",
        detector_names(&found)
    ))
}

/// Refuses `text` (the `field` of a request) when the guard finds PHI or a secret in it.
pub fn check(field: &str, text: &str) -> Result<(), AppError> {
    refuse_found(field, text, detectors())
}

/// [`check`] without `high-entropy`, for text made of identifiers (an audit search's query:
/// digests, change ids, person ids and mail addresses, tickets), which look random by design.
pub fn check_identifiers(field: &str, text: &str) -> Result<(), AppError> {
    refuse_found(field, text, structural_detectors())
}

fn refuse_found(field: &str, text: &str, detectors: &GuardConfig) -> Result<(), AppError> {
    if text.trim().is_empty() {
        return Ok(());
    }
    let found = scan(text, detectors);
    if found.is_empty() {
        return Ok(());
    }
    let names = detector_names(&found);
    Err(AppError::new(
        Kind::Unprocessable,
        "sensitive_content",
        format!("the {field} holds what looks like PHI or a secret ({names}); nothing was recorded"),
        format!("rewrite the {field} without it: Ward records facts about systems, never PHI or secrets"),
    ))
}

#[cfg(test)]
mod tests {
    use super::{LogGuard, check};
    use ward_store::Projector;

    fn event(payload: serde_json::Value) -> ward_ledger::NewEvent {
        ward_ledger::NewEvent {
            actor: ward_ledger::Actor {
                id: "token:ci".into(),
                kind: ward_ledger::ActorKind::Automation,
            },
            kind: "build.finished".into(),
            subject: "build:1".into(),
            payload,
        }
    }

    #[test]
    fn an_escaped_line_break_or_tab_before_a_value_does_not_hide_it() {
        for p in [
            serde_json::json!({ "a": "SSN\n123-45-6789" }),
            serde_json::json!({ "a": "key\tAKIAIOSFODNN7EXAMPLE" }),
            serde_json::json!({ "patient_name": "Jane Roe", "dob": "\n1984-03-02" }),
            serde_json::json!({ "nested": [{ "ssn": "123-45-6789" }] }),
        ] {
            let e = LogGuard.admit(&event(p.clone())).expect_err("refused");
            assert!(!e.contains("6789") && !e.contains("AKIA") && !e.contains("Jane"), "{e}");
        }
        LogGuard
            .admit(&event(
                serde_json::json!({ "tests": 412, "ok": true, "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8" }),
            ))
            .expect("structure passes");
    }

    #[test]
    fn phi_in_a_title_is_refused_without_echo() {
        let e = check("title", "Fix export for Jane Roe, SSN 123-45-6789").unwrap_err();
        assert_eq!(e.code, "sensitive_content");
        assert!(!e.message.contains("123-45-6789"), "{}", e.message);
        assert!(!e.message.contains("Jane"), "{}", e.message);
        assert!(check("title", "Index appointments by clinic").is_ok());
        assert!(check("comment", "").is_ok());
    }
}
