//! Errors at the edge: a one-line message, a hint naming the fix, and an exit code.

use std::fmt;

/// Exit code for a failed verification or a detected tampering.
pub const EXIT_VERIFY_FAILED: i32 = 3;
/// Exit code for any other error.
pub const EXIT_ERROR: i32 = 1;
/// Exit code when what runs differs from what Ward expects: drift in an environment, or a
/// server running another `ward.toml` than the file on disk.
pub const EXIT_DRIFT: i32 = 6;

/// An error the user can act on.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong (one line).
    pub message: String,
    /// How to fix it.
    pub hint: Option<String>,
    /// Process exit code.
    pub code: i32,
    /// Machine-readable code.
    pub kind: std::borrow::Cow<'static, str>,
}

impl Failure {
    /// A general error with a hint.
    pub fn new(kind: &'static str, message: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            hint: Some(hint.into()),
            code: EXIT_ERROR,
            kind: kind.into(),
        }
    }

    /// A verification failure (exit code 3).
    pub fn verify(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            hint: None,
            code: EXIT_VERIFY_FAILED,
            kind: "verification_failed".into(),
        }
    }

    /// An error the server returned, with its own code, message and hint.
    pub fn remote(code: String, message: String, hint: String) -> Failure {
        Failure {
            message,
            hint: (!hint.is_empty()).then_some(hint),
            code: EXIT_ERROR,
            kind: code.into(),
        }
    }
}

/// An error of an application service (local mode) or of the HTTP layer, as the CLI reports it:
/// its code, message and hint, exit code [`EXIT_ERROR`] whatever its kind.
pub trait Reported {
    /// Code, message and hint.
    fn parts(self) -> (String, String, String);
}

impl Reported for ward_app::AppError {
    fn parts(self) -> (String, String, String) {
        (self.code, self.message, self.hint)
    }
}

impl Reported for ward_server::ApiError {
    fn parts(self) -> (String, String, String) {
        (self.detail.code, self.detail.message, self.detail.hint)
    }
}

/// An application or API error (from a local operation or a server) as the CLI reports it: same
/// code, message and hint.
pub fn api_failure(e: impl Reported) -> anyhow::Error {
    let (code, message, hint) = e.parts();
    Failure::remote(code, message, hint).into()
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}
