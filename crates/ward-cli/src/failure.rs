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
    /// and hint — in the CLI's words where the service's say what a flag or command gives
    /// ([`cli_hint`], [`cli_message`]). A server's error and a local one print the same.
    pub fn remote(code: String, message: String, hint: String) -> Failure {
        // The server tells an HTTP client to send a bearer token; a CLI user signs in.
        let hint = match hint.starts_with("send `Authorization: Bearer") {
            true => "sign in: ward --server URL login --user NAME (or pass an API token with --token / WARD_TOKEN)"
                .to_string(),
            false => cli_hint(&hint),
        };
        Failure {
            message: cli_message(&message),
            hint: (!hint.is_empty()).then_some(hint),
            code: EXIT_ERROR,
            kind: code.into(),
        }
    }
}

/// The services' hints that say what to do in words (ward-app names no CLI flag or command, and
/// no HTTP detail), and the CLI's advice for them: the flag or command that does it. A hint
/// written as the first text is written as the second instead (see [`in_cli_words`] for the
/// values, `{}`); every other hint is printed as the service wrote it.
const CLI_HINTS: &[(&str, &str)] = &[
    // The gate's fixes for the promotion order (the policy's words; see `crate::actions`).
    (
        "promote {} to {} ring {} first",
        "promote that ring first: ward promote --change {} --to {} --ring {}",
    ),
    (
        "promote {} to {} first",
        "promote it there first: ward promote --change {} --to {}",
    ),
    ("list the rollouts", "list them: ward rollout status"),
    (
        "ask {}'s runtime what runs there, then run this again",
        "run this again once you know what runs there: ward env observe --env {} --from-runtime",
    ),
    (
        "see its record, deployment {}; to run it again on purpose, run this again",
        "to run it again on purpose, run this again; its record: ward deployments show {}",
    ),
    (
        "ask {}'s runtime what runs instead",
        "ask its runtime instead: ward env observe --env {} --from-runtime",
    ),
    (
        "{} declares no tenants: observe the environment as a whole, naming no tenant",
        "{} declares no tenants: observe the environment as a whole (no --tenant)",
    ),
    ("restart the server to resume it", "restart `ward serve` to resume it"),
    (
        "open a change naming configuration version {} and have it approved",
        "open a change naming it and have it approved: ward change open … --config-version {}",
    ),
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
        "a user without a printed name (a purged one is not restored) signs nothing: an administrator adds the person again under a new login name with a new printed name",
        "a user without a printed name (a purged one is not restored) signs nothing: an administrator adds the person again under a new login name with a new printed name (ward user add --name NEW --display-name \"PRINTED NAME\" --role ROLE)",
    ),
    (
        "re-authenticate with a fresh token of your identity provider",
        "re-authenticate with your identity provider (--reauth-token)",
    ),
    (
        "give your password (local users) or a fresh token of your identity provider (OIDC)",
        "give your password (local users: --password-stdin or WARD_PASSWORD) or a fresh OIDC token (--reauth-token)",
    ),
    // Queries: bundles, search, the audit population, metrics.
    (
        "name a declared environment (and tenant), e.g. prod and clinic-a",
        "pass a declared environment (and tenant), e.g. --env prod --tenant clinic-a",
    ),
    (
        "give the period as RFC 3339 times, e.g. from 2026-10-01T00:00:00Z to 2027-01-01T00:00:00Z",
        "pass RFC 3339 times, e.g. --from 2026-10-01T00:00:00Z --to 2027-01-01T00:00:00Z",
    ),
    (
        "name the change by its id, e.g. CHG-1a2b3c4d",
        "pass the id `ward change list` prints, e.g. --change CHG-1a2b3c4d",
    ),
    (
        "a deployment is the log entry of its record: see the environment's deployment history",
        "a deployment is the log entry of its record: see `ward deployments --env ENV`",
    ),
    (
        "check the environment, tenant and times against the environment's deployment history",
        "check the environment, tenant and times (`ward deployments --env ENV`)",
    ),
    (
        "deployment ids are the seq of an environment's deployment history",
        "deployment ids are the entry numbers `ward deployments --env ENV` lists",
    ),
    (
        "name e.g. a change, a digest (sha256:…), a person (user:NAME), an environment or a period (from, to)",
        "give e.g. --change ID, --digest sha256:…, --person user:NAME, --env prod or --from/--to",
    ),
    (
        "give the {} as it appears in the log",
        "give --{} as it appears in the log (ward log show)",
    ),
    (
        "give both the service and the version",
        "give both: --service NAME --version V",
    ),
    ("give the period's start as RFC 3339, e.g. ", "give e.g. --from "),
    ("give the period's end as RFC 3339, e.g. ", "give e.g. --to "),
    (
        "give the period's start earlier than its end",
        "give --from earlier than --to",
    ),
    (
        "give a start earlier than the end",
        "give a start (--from) earlier than the end (--to)",
    ),
    (
        "declare [[environments]] in ward.toml, or name the environment",
        "declare [[environments]] in ward.toml, or name one with --env",
    ),
    (
        "name the service as its artifacts were registered",
        "name the service as its artifacts were registered (ward artifact show DIGEST)",
    ),
    ("name no tenant", "drop --tenant"),
    (
        "name no tenants and no ring: it is deployed as a whole",
        "drop --tenants and --ring: it is deployed as a whole",
    ),
    ("{}: see deployment {}'s record", "{}: ward deployments show {}"),
    (
        "{} declares no tenants: name no tenant",
        "{} declares no tenants: drop --tenant",
    ),
    // Signatures: who signs instead, and what the change asks for.
    (
        "separation of duties: another person signs change {} with meaning {}",
        "separation of duties: another person signs it: ward approve --change {} --meaning {}",
    ),
    (
        "a person with the role it needs signs change {} with meaning {}",
        "a person with the role it needs signs it: ward approve --change {} --meaning {}",
    ),
    (
        "sign change {} with meaning {} instead",
        "sign it with a meaning it asks for: ward approve --change {} --meaning {}",
    ),
    // What to run, or which command lists what to name.
    ("list the changes", "list changes with `ward change list`"),
    ("list the tokens", "list tokens with `ward token list`"),
    ("list the users", "list users with: ward user list"),
    ("list the trusted keys", "list keys with `ward key list`"),
    (
        "add the user first",
        "add them: ward user add --name NAME --display-name TEXT --role ROLE",
    ),
    (
        "register the artifact first",
        "register it first: ward artifact register --service NAME --version V --digest DIGEST",
    ),
    (
        "register the type with its JSON schema",
        "register it: ward attest type add NAME --schema FILE",
    ),
    (
        "attach the envelope exactly as the builder signed it, and trust the builder's public key",
        "attach the envelope exactly as the builder signed it, and trust the builder's public key with `ward key trust --builder NAME KEYFILE`",
    ),
    (
        "attach it as backup evidence (type dr:TOOL) naming no artifact and no change",
        "attach it with `ward attest add --type dr:TOOL FILE` (no --artifact, no --change)",
    ),
    (
        "record it as yourself, signed in as a person, or attach the tool's restore job as backup evidence (type dr:TOOL)",
        "record it as yourself (`ward login`), or attach the tool's restore job with `ward attest add --type dr:TOOL`",
    ),
    (
        "remove it at the source, or ask for a redacted copy to be stored",
        "remove it at the source, or pass --redact to store a redacted copy",
    ),
    (
        "give each commit's time as RFC 3339 (git's committer date, %cI), or leave it out",
        "give each commit's time as RFC 3339 (git log --format=%cI), or leave it out",
    ),
    (
        "correct the change's attributes or paths (update the change), or remove the tag from [approvals.overrides] protected_tags",
        "correct the change's attributes or paths (ward change update), or remove the tag from [approvals.overrides] protected_tags",
    ),
    (
        "another approver proposes the same: {} to tier {}, with a reason",
        "another approver runs: ward change classify {} --tier {} --reason …",
    ),
    (
        "roll back one tenant at a time: name the environment and the tenant",
        "roll back one tenant at a time: ward rollback --env ENV --tenant TENANT",
    ),
    (
        "a privacy officer requests or completes the purge as themselves",
        "a privacy officer runs `ward purge DIGEST --reason TEXT` as themselves",
    ),
    ("check the store's integrity", "check the store with `ward log fsck`"),
    (
        "check the store's integrity; a bundle is never written incomplete",
        "check the store with `ward log fsck`; a bundle is never written incomplete",
    ),
    (
        "name rules like sla.critical, or a prefix like evidence.",
        "e.g. --rule sla.critical or --rule evidence.",
    ),
    (
        "rule ids look like sla.critical or evidence.sbom (a gate decision's explanation names them)",
        "rule ids look like sla.critical or evidence.sbom (see `ward gate explain`)",
    ),
    (
        "fix the policy (test it against its examples)",
        "fix the policy (run `ward policy test`)",
    ),
    (
        "decision ids are those a gate check returns",
        "decision ids are the entries listed by `ward audit search --kind gate.evaluated`",
    ),
    (
        "the policy document is the one a gate check stored",
        "the policy document is the one `ward gate check` stored",
    ),
    (
        "see what is missing: the explanation of gate decision ",
        "see what is missing: ward gate explain ",
    ),
    (
        "the person creates their own token (with their password) or signs in",
        "the person creates their own token with their password on the Ward host (`ward --data-dir DIR token create --user NAME --name LABEL --role ROLE`), or signs in (`ward login --user NAME`)",
    ),
    (
        "sign in as an administrator and add them in your own session, or add users on the data directory",
        "sign in as an administrator (ward user add --server … with your own session), or add users on the data directory",
    ),
    (
        "another administrator activates ",
        "another administrator runs: ward user activate ",
    ),
    (
        "wait for the lockout to lapse, or ask an administrator to lift it",
        "wait for the lockout to lapse, or ask an administrator to lift it: ward user unlock NAME",
    ),
    (
        "sign a checkpoint, or give a size",
        "sign one with `ward log checkpoint`, or pass a size",
    ),
    (
        "use the operation for it (artifacts, attestations, keys, changes, approvals …), or another kind",
        "use the command for it (ward artifact, ward attest, ward key, ward change, ward approve …), or another kind",
    ),
    // Rollouts, the runtime, drift.
    (
        "give a reason, e.g. \"hotfix for the failing lab-results feed\"",
        "explain why, e.g. --reason \"hotfix for the failing lab-results feed\"",
    ),
    (
        "give a reason of at least {} characters",
        "give one: ward rollout promote ID --reason \"...\" (at least {} characters)",
    ),
    (
        "wait for it to finish, or abort rollout ",
        "wait for it to finish, or: ward rollout abort ",
    ),
    (
        "expose it ring by ring with a rollout (strategy rings), or promote or roll back the whole environment",
        "expose it ring by ring with `ward rollout start --change ID --env ENV` (strategy rings: the environment's, or --strategy rings), or promote or roll back the whole environment",
    ),
    (
        "run it through the server, where the local runtime lives",
        "start `ward serve` and run this command with --server (WARD_SERVER)",
    ),
    (
        "check the environment's observe_command, or give what runs as a file",
        "check the environment's observe_command, or observe --from FILE",
    ),
];

/// The services' messages that name in words what the CLI gives with a flag, and the CLI's
/// wording (as [`CLI_HINTS`]).
const CLI_MESSAGES: &[(&str, &str)] = &[
    (
        "the period's start is neither an RFC 3339 time nor a date",
        "the period's start (--from) is neither an RFC 3339 time nor a date",
    ),
    (
        "the period's end is neither an RFC 3339 time nor a date",
        "the period's end (--to) is neither an RFC 3339 time nor a date",
    ),
    (
        "the period's start {} is not an RFC 3339 time",
        "--from {} is not an RFC 3339 time",
    ),
    (
        "the period's end {} is not an RFC 3339 time",
        "--to {} is not an RFC 3339 time",
    ),
    (
        "the period is empty: its start must be before its end",
        "the period is empty: --from must be before --to",
    ),
    (
        "the period is empty: its start is not before its end",
        "the period is empty: --from is not before --to",
    ),
    (
        "the search criterion {} must be 1 to 512 characters without control characters",
        "--{} must be 1 to 512 characters without control characters",
    ),
    (
        "the service must be 1 to 128 characters without control characters",
        "--service must be 1 to 128 characters without control characters",
    ),
    ("a version needs its service", "--version needs --service"),
    (
        "the older size is larger than the newer one",
        "--from is larger than --to",
    ),
    (
        "the start of the notes {} is not an RFC 3339 time: {}",
        "--since {}: {}",
    ),
    (
        "traffic steps apply to canary rollouts; a {} rollout has none",
        "--steps applies to canary rollouts; a {} rollout has no traffic steps",
    ),
    (
        "a pause between steps applies to canary and ring steps; a blue-green rollout is watched for the environment's keep_warm_ms",
        "--pause-ms applies to canary and ring steps; a blue-green rollout is watched for the environment's keep_warm_ms",
    ),
    (
        "{} runs on the local runtime, which lives inside the server",
        "{} runs on the local runtime, which lives inside `ward serve`",
    ),
    (
        "{} has no observe_command; set one in [[environments]] or give what runs as a file",
        "{} has no observe_command; set one in [[environments]] or observe --from FILE",
    ),
];

/// `hint` in the CLI's words (see [`CLI_HINTS`]).
pub fn cli_hint(hint: &str) -> String {
    in_cli_words(CLI_HINTS, hint)
}

/// `message` in the CLI's words (see [`CLI_MESSAGES`]).
pub fn cli_message(message: &str) -> String {
    in_cli_words(CLI_MESSAGES, message)
}

/// `text` as the first `(service, cli)` of `table` it matches writes it in the CLI's words,
/// else as it is. Whole texts match whole; each `{}` of the service's text stands for a value
/// (at least one character, up to the text that follows it), which fills the `{}` of the CLI's
/// text in the same order; a service text ending in a space (or ": ") carries one more value
/// at its end, appended to the CLI's text.
fn in_cli_words(table: &[(&str, &str)], text: &str) -> String {
    for (service, cli) in table {
        if let Some(values) = values_of(service, text) {
            let mut out = String::new();
            let mut values = values.into_iter();
            let mut pieces = cli.split("{}").peekable();
            while let Some(piece) = pieces.next() {
                out.push_str(piece);
                if pieces.peek().is_some() {
                    out.push_str(values.next().unwrap_or_default());
                }
            }
            values.for_each(|v| out.push_str(v));
            return out;
        }
    }
    text.to_string()
}

/// The values of `text` at the `{}`s of `pattern`, if it is `pattern` with values there.
fn values_of<'t>(pattern: &str, text: &'t str) -> Option<Vec<&'t str>> {
    let mut pieces = pattern.split("{}");
    let mut rest = text.strip_prefix(pieces.next().unwrap_or_default())?;
    let mut values = Vec::new();
    for piece in pieces {
        let end = if piece.is_empty() {
            rest.len()
        } else {
            rest.find(piece)?
        };
        if end == 0 {
            return None;
        }
        values.push(&rest[..end]);
        rest = &rest[end + piece.len()..];
    }
    if pattern.ends_with(' ') {
        values.push(rest);
        rest = "";
    }
    rest.is_empty().then_some(values)
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
    use super::{CLI_HINTS, CLI_MESSAGES, cli_hint, cli_message};

    #[test]
    fn the_services_words_name_no_flag_or_command_and_each_value_has_its_place() {
        for (service, cli) in CLI_HINTS.iter().chain(CLI_MESSAGES) {
            assert!(
                !service.contains("--") && !service.contains("ward ") && !service.contains("/api/"),
                "{service}"
            );
            assert_eq!(service.matches("{}").count(), cli.matches("{}").count(), "{service}");
            assert!(!service.contains("{}{}"), "{service}");
            // Each service text maps to its CLI text (none is shadowed by an earlier one).
            let example = service.replace("{}", "X1");
            let expected = cli.replace("{}", "X1");
            let table = if CLI_HINTS.contains(&(service, cli)) {
                cli_hint(&example)
            } else {
                cli_message(&example)
            };
            assert_eq!(table, expected, "{service}");
        }
    }

    #[test]
    fn values_in_the_middle_fill_the_cli_text_in_order() {
        assert_eq!(
            cli_hint("another approver proposes the same: CHG-1a2b to tier low, with a reason"),
            "another approver runs: ward change classify CHG-1a2b --tier low --reason …"
        );
        assert_eq!(
            cli_hint("give a reason of at least 10 characters"),
            "give one: ward rollout promote ID --reason \"...\" (at least 10 characters)"
        );
        assert_eq!(
            cli_hint("give the person as it appears in the log"),
            "give --person as it appears in the log (ward log show)"
        );
        assert_eq!(
            cli_hint("see what is missing: the explanation of gate decision 42"),
            "see what is missing: ward gate explain 42"
        );
        assert_eq!(
            cli_hint("give the period's start as RFC 3339, e.g. 2026-10-01T00:00:00Z"),
            "give e.g. --from 2026-10-01T00:00:00Z"
        );
        assert_eq!(
            cli_message("the start of the notes \"x\" is not an RFC 3339 time: bad"),
            "--since \"x\": bad"
        );
        assert_eq!(
            cli_message("prod runs on the local runtime, which lives inside the server"),
            "prod runs on the local runtime, which lives inside `ward serve`"
        );
        // A value is never empty, and text after the pattern's end is not a match.
        assert_eq!(
            cli_message(" runs on the local runtime, which lives inside the server"),
            " runs on the local runtime, which lives inside the server"
        );
        assert_eq!(cli_hint("list the changes first"), "list the changes first");
        assert_eq!(cli_message("no change \"CHG-1\""), "no change \"CHG-1\"");
    }

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

    /// The `ward …` commands a CLI text names, each as the words a person would type: the words
    /// after `ward ` that `ward` would read as its own (subcommands, the flags of the command
    /// reached with their values, its positional values), up to the first that it would not (the
    /// prose around the command). A flag `ward` does not have is kept, so the parse fails on it.
    /// Placeholders (`{}`, `{name}`, `ENV`, `<verifier key>`, `…`) are filled as a person would.
    fn named_commands(text: &str) -> Vec<Vec<String>> {
        use clap::CommandFactory;
        let root = crate::cli::Cli::command();
        let mut out = Vec::new();
        for line in text.split("\\n").flat_map(|l| l.split('\n')) {
            let mut rest = line;
            while let Some(at) = rest.find("ward ") {
                let words = shell_words(&rest[at + 5..]);
                rest = &rest[at + 5..];
                let mut cmd = &root;
                let mut taken = vec!["ward".to_string()];
                let mut positionals = 0;
                let mut k = 0;
                while k < words.len() {
                    let w = words[k].as_str();
                    if let Some(sub) = cmd.find_subcommand(w) {
                        cmd = sub;
                        positionals = cmd.get_positionals().count();
                        taken.push(w.to_string());
                    } else if let Some(flag) = w.strip_prefix("--") {
                        let name = flag.split('=').next().unwrap_or_default();
                        let arg = cmd
                            .get_arguments()
                            .chain(root.get_arguments())
                            .find(|a| a.get_long() == Some(name));
                        taken.push(w.to_string());
                        let takes_value = arg.is_some_and(|a| a.get_action().takes_values());
                        if takes_value && !flag.contains('=') && k + 1 < words.len() {
                            k += 1;
                            taken.push(words[k].clone());
                        }
                    } else if positionals > 0 && taken.len() > 1 {
                        positionals -= 1;
                        taken.push(w.to_string());
                    } else {
                        break;
                    }
                    k += 1;
                }
                // Prose that mentions Ward ("the ward binary") names no command.
                if taken.len() > 1 {
                    out.push(taken);
                }
            }
        }
        out
    }

    /// `text` as shell words (single or double quotes group), placeholders filled.
    fn shell_words(text: &str) -> Vec<String> {
        let (mut words, mut word, mut quote, mut quoted) = (Vec::new(), String::new(), None, false);
        for c in text.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    quoted = true;
                }
                (None, c) if c.is_whitespace() => {
                    if !word.is_empty() || quoted {
                        words.push(std::mem::take(&mut word));
                    }
                    quoted = false;
                }
                (None, '`' | ';' | ')' | '(' | ',') => break,
                (None, c) => word.push(c),
            }
        }
        if !word.is_empty() || quoted {
            words.push(word);
        }
        words
            .into_iter()
            .filter(|w| w != "…")
            .map(|w| {
                let filled = match w.as_str() {
                    "ID" | "{}" | "INDEX" | "SEQ" => "1",
                    "ENV" => "prod",
                    "T" | "NAME" => "n1",
                    "ROLE" => "developer",
                    "FILE" | "KEYFILE" => "f.json",
                    "DIGEST" => "sha256:aa",
                    "URL" => "https://ward.example.org",
                    "dr:TOOL" => "dr:pgbackrest",
                    "--{}" => "--person",
                    "..." => "because",
                    _ if w.starts_with('{') || w.starts_with('<') => "x1",
                    // A value glued to a flag by formatting (`--output-log{}`): the flag.
                    _ if w.starts_with("--") && w.contains('{') => {
                        return w[..w.find('{').unwrap_or(w.len())].to_string();
                    }
                    _ if w.contains('{') => "x1",
                    _ => return w,
                };
                filled.to_string()
            })
            .collect()
    }

    /// Why `ward` refuses `words` as printed, if it does: an unknown subcommand or flag, or a
    /// bad value. A mention without its required values ("add it with `ward user add`") and a
    /// `--help` are not refusals.
    fn refused_as_printed(words: &[String]) -> Option<clap::Error> {
        use clap::error::ErrorKind;
        let e = <crate::cli::Cli as clap::Parser>::try_parse_from(words).err()?;
        let missing_only = matches!(
            e.kind(),
            ErrorKind::MissingRequiredArgument
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                | ErrorKind::MissingSubcommand
                | ErrorKind::DisplayHelp
        ) || (e.kind() == ErrorKind::InvalidValue && e.to_string().contains("a value is required"));
        (!missing_only).then_some(e)
    }

    /// Every command a hint or message names exists as printed: its subcommands and flags are
    /// `ward`'s (a mention without its required values, "add it with `ward user add`", may leave
    /// them out; a flag that does not exist, or a subcommand, fails here).
    #[test]
    fn every_command_a_hint_names_is_one_ward_accepts() {
        let mut checked = 0;
        let mut wrong = Vec::new();
        for (_, cli) in CLI_HINTS.iter().chain(CLI_MESSAGES) {
            for words in named_commands(cli) {
                checked += 1;
                if let Some(e) = refused_as_printed(&words) {
                    wrong.push(format!("{cli:?} names `{}`:\n{e}", words.join(" ")));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        assert!(checked >= 40, "{checked}");
    }

    /// Every `ward …` command named in a string the sources print (the CLI's hints, messages, the
    /// demo's and the commands' own lines; the web pages' and the servers' texts), checked as
    /// above: read from the sources, so a hint added anywhere is checked without being listed.
    #[test]
    fn every_command_the_cli_prints_in_a_hint_is_one_ward_accepts() {
        fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).expect("src") {
                let p = e.expect("entry").path();
                if p.is_dir() {
                    files(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let mut paths = Vec::new();
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for dir in ["ward-cli/src", "ward-server/src", "ward-app/src", "ward-rollout/src"] {
            files(&crates.join(dir), &mut paths);
        }
        let (mut checked, mut wrong) = (0, Vec::new());
        for path in paths {
            let source = std::fs::read_to_string(&path).expect("read");
            for line in source.lines().filter(|l| !l.trim_start().starts_with("//")) {
                // The string literals of the line.
                for (i, literal) in line.split('"').enumerate() {
                    if i % 2 == 0 || !literal.contains("ward ") {
                        continue;
                    }
                    for words in named_commands(literal) {
                        checked += 1;
                        if let Some(e) = refused_as_printed(&words) {
                            wrong.push(format!(
                                "{}: {literal:?} names `{}`:\n{e}",
                                path.display(),
                                words.join(" ")
                            ));
                        }
                    }
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        eprintln!("{checked} commands checked");
        assert!(checked >= 100, "{checked}");
    }
}
