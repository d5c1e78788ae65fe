//! Free text written by people — change titles and descriptions, signature comments, reasons and
//! justifications — passes the PHI/secret guard before anything is recorded, as evidence does.
//!
//! People's text is judged by every built-in detector: `[guard]` allowlists and `disable` are for
//! evidence files (synthetic test data, known scanner fixtures), not for what people type. A
//! finding refuses the request naming the field and the detectors, never the text.

use crate::error::ApiError;
use axum::http::StatusCode;
use std::sync::OnceLock;
use ward_evidence::guard::{GuardConfig, scan};

fn detectors() -> &'static GuardConfig {
    static CONFIG: OnceLock<GuardConfig> = OnceLock::new();
    CONFIG.get_or_init(GuardConfig::default)
}

/// Refuses `text` (the `field` of a request) when the guard finds PHI or a secret in it.
pub fn check(field: &str, text: &str) -> Result<(), ApiError> {
    if text.trim().is_empty() {
        return Ok(());
    }
    let found = scan(text, detectors());
    if found.is_empty() {
        return Ok(());
    }
    let mut names: Vec<&str> = found.iter().map(|f| f.detector.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "sensitive_content",
        format!(
            "the {field} holds what looks like PHI or a secret ({}); nothing was recorded",
            names.join(", ")
        ),
        format!("rewrite the {field} without it: Ward records facts about systems, never PHI or secrets"),
    ))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn phi_in_a_title_is_refused_without_echo() {
        let e = check("title", "Fix export for Jane Roe, SSN 123-45-6789").unwrap_err();
        assert_eq!(e.detail.code, "sensitive_content");
        assert!(!e.detail.message.contains("123-45-6789"), "{}", e.detail.message);
        assert!(!e.detail.message.contains("Jane"), "{}", e.detail.message);
        assert!(check("title", "Index appointments by clinic").is_ok());
        assert!(check("comment", "").is_ok());
    }
}
