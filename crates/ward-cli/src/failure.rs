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

    /// An error the server (or an application service) returned, with its own code, message
    /// and hint — the hint in the CLI's words where the service's names what a flag gives
    /// ([`cli_hint`]).
    pub fn remote(code: String, message: String, hint: String) -> Failure {
        let hint = cli_hint(&hint);
        Failure {
            message,
            hint: (!hint.is_empty()).then_some(hint),
            code: EXIT_ERROR,
            kind: code.into(),
        }
    }
}

/// The services' hints that say what to give (ward-app names no CLI flag), and the CLI's advice
/// for them: the flag that gives it. A hint starting with the first text starts with the second
/// instead; every other hint is printed as the service wrote it.
const CLI_HINTS: &[(&str, &str)] = &[
    ("give the change a one-line title", "pass --title"),
    (
        "give a reason explaining why the rules' tier is wrong",
        "pass --reason explaining why the rules' tier is wrong",
    ),
    ("shorten the comment", "shorten --comment"),
    (
        "name the store as [[services]] stores names it",
        "pass --store as [[services]] stores names it",
    ),
    ("give the finish time like ", "pass --finished like "),
    ("give the duration like ", "pass --duration like "),
    ("give the service", "pass --service"),
    ("give the version", "pass --version"),
    ("give the commit", "pass --commit"),
    ("give the branch", "pass --branch"),
    ("give the build id", "pass --build-id"),
    ("give the build url", "pass --build-url"),
    ("give the file name", "pass --file-name"),
    ("shorten the commit", "shorten --commit"),
    ("shorten the author", "shorten --author"),
    ("shorten the reason", "shorten --reason"),
    (
        "say what was checked, e.g. \"row counts match production; the app's smoke test passed\"",
        "pass --checked \"row counts match production; the app's smoke test passed\"",
    ),
    ("name the type as custom:NAME", "pass --type custom:NAME"),
    (
        "attach a report to its artifact or its change",
        "attach a report to its artifact (--artifact) or change (--change)",
    ),
    (
        "name the artifact, sha256:… (or the change, CHG-…, to attach to a change)",
        "pass --artifact sha256:… (or --change CHG-… to attach to a change)",
    ),
    ("give at least one role", "pass --role ROLE"),
    ("give a lifetime, e.g. 30d", "e.g. --expires 30d"),
    ("give the display name", "pass --display-name"),
    (
        "give a reason saying why the text must go (without repeating it)",
        "pass --reason saying why the text must go (without repeating it)",
    ),
    (
        "name exactly one of a change and an artifact",
        "pass exactly one of --change and --artifact",
    ),
    ("name the owner, e.g. user:NAME", "pass --owner user:NAME"),
    ("give an expiry, e.g. 14d", "pass --expires e.g. 14d"),
    (
        "open the change as an emergency (kind emergency)",
        "open the change with --kind emergency",
    ),
    ("give how long, e.g. 4h", "pass --for e.g. 4h"),
    ("name one of its tenants: ", "name one with --tenant: "),
    (
        "open the change naming its artifacts by digest",
        "open the change with --artifact DIGEST",
    ),
    (
        "compute it from the file or the directory",
        "compute it with --file or --dir",
    ),
    ("name the report's type: ", "pass --type: "),
    (
        "attach it to the artifact, by its digest",
        "attach it with --artifact DIGEST",
    ),
    (
        "an administrator sets the user's display name",
        "an administrator sets the user's display name (ward user add --display-name)",
    ),
    (
        "re-authenticate with a fresh token of your identity provider",
        "re-authenticate with your identity provider (--reauth-token)",
    ),
    (
        "give your password (local users) or a fresh token of your identity provider (OIDC)",
        "give your password (local users: --password-stdin or WARD_PASSWORD) or a fresh OIDC token (--reauth-token)",
    ),
];

/// `hint` in the CLI's words (see [`CLI_HINTS`]).
pub fn cli_hint(hint: &str) -> String {
    for (service, cli) in CLI_HINTS {
        if let Some(rest) = hint.strip_prefix(service) {
            // Whole hints match whole; a prefix ending in a space or ": " carries a value.
            if rest.is_empty() || service.ends_with(' ') {
                return format!("{cli}{rest}");
            }
        }
    }
    hint.to_string()
}

/// An error of an application service (local mode), as the CLI reports it:
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

#[cfg(test)]
mod tests {
    use super::cli_hint;

    #[test]
    fn a_service_hint_saying_what_to_give_names_the_flag_that_gives_it() {
        assert_eq!(cli_hint("give the change a one-line title"), "pass --title");
        assert_eq!(cli_hint("give the build id"), "pass --build-id");
        assert_eq!(
            cli_hint("give the duration like 25m or 2h"),
            "pass --duration like 25m or 2h"
        );
        assert_eq!(
            cli_hint("name the report's type: junit, sarif"),
            "pass --type: junit, sarif"
        );
        // A whole hint matches only whole, and other hints pass unchanged.
        assert_eq!(cli_hint("give the service name twice"), "give the service name twice");
        assert_eq!(cli_hint("wait a minute"), "wait a minute");
        assert_eq!(cli_hint(""), "");
    }
}
