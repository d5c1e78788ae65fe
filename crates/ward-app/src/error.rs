//! The one error of the application layer: a [`Kind`] the adapters map (the server to an HTTP
//! status in one `match`, the CLI to an exit code), a machine-readable code, a message for
//! people and a hint. It never carries an internal detail: [`AppError::internal`] logs it.

use ward_store::StoreError;

/// What kind of failure: the only thing an adapter needs to choose its status or exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// The request is malformed or names something that cannot be (HTTP 400).
    Invalid,
    /// What the request names does not exist (404).
    NotFound,
    /// The request conflicts with what is recorded (409).
    Conflict,
    /// The caller may not do this (403).
    Forbidden,
    /// The caller did not prove who they are, or re-authentication failed (401).
    Unauthenticated,
    /// The person is locked out of signing for a while (423).
    Locked,
    /// The input is larger than Ward accepts (413).
    TooLarge,
    /// The input is well formed but refused (422).
    Unprocessable,
    /// A system Ward relies on (a deployment target, a runtime) failed (502).
    Upstream,
    /// Ward could not finish in time or is not ready (503).
    Unavailable,
    /// Too many attempts (429).
    TooManyRequests,
    /// Ward itself failed (500); the detail is in the log only.
    Internal,
}

/// An error an application service returns.
#[derive(Clone, Debug)]
pub struct AppError {
    /// What kind of failure.
    pub kind: Kind,
    /// Machine-readable code (e.g. `invalid_request`, `not_found`, `sensitive_content`).
    pub code: String,
    /// One line for people.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl AppError {
    /// Builds an error.
    pub fn new(kind: Kind, code: &str, message: impl Into<String>, hint: impl Into<String>) -> AppError {
        AppError {
            kind,
            code: code.into(),
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// [`Kind::Invalid`], code `invalid_request`.
    pub fn invalid(message: impl Into<String>, hint: impl Into<String>) -> AppError {
        AppError::new(Kind::Invalid, "invalid_request", message, hint)
    }

    /// [`Kind::NotFound`], code `not_found`.
    pub fn not_found(message: impl Into<String>, hint: impl Into<String>) -> AppError {
        AppError::new(Kind::NotFound, "not_found", message, hint)
    }

    /// [`Kind::Internal`] without detail (the detail goes to the log only).
    pub fn internal(detail: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %detail, "internal error");
        AppError::new(
            Kind::Internal,
            "internal",
            "the server could not complete the request",
            "retry; if it persists, the server log has the details",
        )
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for AppError {}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> AppError {
        match e {
            StoreError::Invalid(m) => AppError::invalid(m, "check the request against the log's size"),
            StoreError::Event(e) => AppError::invalid(e.to_string(), "fix the event; nothing was written"),
            StoreError::Conflict(m) => AppError::new(Kind::Conflict, "conflict", m, "reload and retry"),
            StoreError::Refused(m) => AppError::new(
                Kind::Unprocessable,
                "sensitive_content",
                m,
                "remove it: Ward records facts about systems, never PHI or secrets",
            ),
            other => AppError::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_keep_their_codes_and_hints() {
        let e = AppError::from(StoreError::Conflict("taken".into()));
        assert_eq!(
            (e.kind, e.code.as_str(), e.hint.as_str()),
            (Kind::Conflict, "conflict", "reload and retry")
        );
        let e = AppError::from(StoreError::Refused("ssn".into()));
        assert_eq!((e.kind, e.code.as_str()), (Kind::Unprocessable, "sensitive_content"));
        let e = AppError::internal("secret detail");
        assert_eq!((e.kind, e.code.as_str()), (Kind::Internal, "internal"));
        assert!(!e.message.contains("secret"));
    }
}
