//! A gate reason's action ([`Action`]: what satisfies it, in no interface's words) as the
//! `ward` command that takes it. The policy's fix says in words what to do; the CLI prints the
//! command beside it, the web UI a link, the API the action itself.

use ward_core::gate::{Action, Reason};

/// The command that takes `action`; what a person supplies stays a placeholder in capitals
/// (`FILE`, `URL`, `dr:TOOL`).
pub fn command(action: &Action) -> String {
    let mut words: Vec<String> = vec!["ward".into()];
    let mut push = |parts: &[&str]| words.extend(parts.iter().map(|p| ward_core::shell::word(p)));
    match action {
        Action::CheckConfig => push(&["config", "check"]),
        Action::Attest {
            change,
            artifact,
            kind,
            file,
        } => {
            push(&["attest", "add"]);
            if let Some(c) = change {
                push(&["--change", c]);
            }
            if let Some(a) = artifact {
                push(&["--artifact", a]);
            }
            if let Some(k) = kind {
                push(&["--type", k]);
            }
            push(&[file]);
        }
        Action::SetTicket { change } => push(&["change", "update", change, "--ticket", "URL"]),
        Action::Approve { change, meaning } => push(&["approve", "--change", change, "--meaning", meaning]),
        Action::WaiveFinding { change, rule, finding } => push(&[
            "waiver",
            "grant",
            "--change",
            change,
            "--rule",
            rule,
            "--finding",
            finding,
            "--justification",
            "TEXT",
            "--compensating-control",
            "TEXT",
            "--owner",
            "IDENTITY",
            "--expires",
            "14d",
        ]),
        Action::ShowSlo => push(&["slo", "status"]),
        Action::ShowDr => push(&["dr", "status"]),
        Action::RecordRestoreTest { store } => push(&[
            "dr",
            "restore-test",
            "--store",
            store,
            "--finished",
            "TIME",
            "--duration",
            "DURATION",
            "--checked",
            "TEXT",
        ]),
        Action::DrillRollback { environment } => push(&["drill", "rollback", "--env", environment]),
        Action::Retarget { change, environments } => {
            push(&["change", "update", change]);
            for e in environments {
                push(&["--env", e]);
            }
        }
        Action::Promote {
            change,
            environment,
            ring,
        } => {
            push(&["promote", "--change", change, "--to", environment]);
            if let Some(r) = ring {
                push(&["--ring", r]);
            }
        }
    }
    words.join(" ")
}

/// A reason's fix as the CLI prints it: the words, then the command when there is one.
pub fn fix(reason: &Reason) -> String {
    match &reason.action {
        Some(a) => format!("{}: {}", reason.fix, command(a)),
        None => reason.fix.clone(),
    }
}

/// The commands that act as a person: locally they run as a named local user who
/// re-authenticates (`--as USER`, `crate::context::local_identity`), through a server as the
/// token's identity.
const PERSON_COMMANDS: &[&str] = &[
    "approve",
    "break-glass",
    "change classify",
    "change open",
    "change update",
    "config set",
    "dr restore-test",
    "promote",
    "purge",
    "rollback",
    "waiver grant",
];

/// `text` (a hint, a fix, a line of output) as it works in local mode: every person's command
/// it prints (`ward approve …`) names the local user it runs as, `ward --as USER approve …`,
/// `USER` a placeholder the person fills with their name. Commands that already name one, and
/// every other command, are left as they are.
pub fn locally(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(at) = rest.find("ward ") {
        let starts_word = at == 0 || rest[..at].ends_with([' ', '`', '(', '\'', '"']);
        let after = &rest[at + "ward ".len()..];
        let person = PERSON_COMMANDS.iter().any(|c| {
            after
                .strip_prefix(c)
                .is_some_and(|tail| tail.is_empty() || tail.starts_with([' ', '`', ')', ',', ';', '.']))
        });
        out.push_str(&rest[..at + "ward ".len()]);
        if starts_word && person {
            out.push_str("--as USER ");
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// Commands that never talk to a server (they read the data directory, a file or nothing):
/// printed as they are in server mode.
const LOCAL_ONLY: &[&str] = &[
    "bench",
    "debug",
    "demo",
    "init",
    "log fsck",
    "log rebuild-projections",
    "policy",
    "report compliance",
    "serve",
    "verify",
];

/// `text` (a hint, a fix, a line of output) as it works in this run's mode: locally, every
/// person's command names the local user ([`locally`]); through a server named with `--server`,
/// every command that talks to a server names it ([`through`]) — unless `WARD_SERVER` names it,
/// which the printed command reads too.
pub fn as_run(text: &str, g: &crate::cli::Global) -> String {
    match &g.server {
        None => locally(text),
        Some(url) if std::env::var("WARD_SERVER").ok().as_deref() == Some(url.as_str()) => text.to_string(),
        Some(url) => through(text, url),
    }
}

/// The names of `ward`'s subcommands (`approve`, `gate`, …).
fn subcommands() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        use clap::CommandFactory;
        crate::cli::Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_string())
            .collect()
    })
}

/// `text` with every `ward …` command that talks to a server naming `server`
/// (`ward --server URL approve …`). Commands that already name a server or a data directory,
/// and the [`LOCAL_ONLY`] ones, are left as they are.
pub fn through(text: &str, server: &str) -> String {
    let named = format!("--server {} ", ward_core::shell::word(server));
    let mut out = String::with_capacity(text.len() + named.len());
    let mut rest = text;
    while let Some(at) = rest.find("ward ") {
        let starts_word = at == 0 || rest[..at].ends_with([' ', '`', '(', '\'', '"']);
        let after = &rest[at + "ward ".len()..];
        // `--as NAME` before the command names a local user: the command is what follows.
        let command = match after.strip_prefix("--as ") {
            Some(user) => user.split_once(' ').map_or("", |(_, c)| c),
            None => after,
        };
        let local = LOCAL_ONLY.iter().any(|c| {
            command
                .strip_prefix(c)
                .is_some_and(|tail| tail.is_empty() || tail.starts_with([' ', '`', ')', ',', ';', '.']))
        });
        let names_one = command.starts_with("--server") || command.starts_with("--data-dir");
        let first = command.split([' ', '`', ')', ',', ';']).next().unwrap_or_default();
        let is_command = subcommands().iter().any(|n| n == first);
        out.push_str(&rest[..at + "ward ".len()]);
        if starts_word && is_command && !local && !names_one {
            out.push_str(&named);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::{command, fix};
    use crate::cli::Cli;
    use clap::Parser;
    use ward_core::gate::{Action, PolicyBundle, evaluate};

    /// Through a server named on the command line, a printed command names it (else it would
    /// run on the local data directory, where it fails); commands that never talk to a server,
    /// and ones that already name where they run, are left as they are.
    #[test]
    fn a_command_printed_in_server_mode_names_the_server() {
        use super::through;
        let url = "http://127.0.0.1:8080";
        assert_eq!(
            through("hint: go on from this step: ward rollout resume RO-1", url),
            "hint: go on from this step: ward --server http://127.0.0.1:8080 rollout resume RO-1"
        );
        assert_eq!(
            through(
                "sign it: ward approve --change C --meaning approved; then `ward gate check --change C --env prod`",
                url
            ),
            "sign it: ward --server http://127.0.0.1:8080 approve --change C --meaning approved; then `ward --server http://127.0.0.1:8080 gate check --change C --env prod`"
        );
        for same in [
            "ward verify DIR --key KEY",
            "ward log fsck",
            "ward --server https://other.example login --user NAME",
            "ward --data-dir /srv/ward log status",
            "ward --as NAME report compliance --from T1 --to T2 --out FILE",
            "the ward server",
            "toward ward",
        ] {
            assert_eq!(through(same, url), same);
        }
        assert_eq!(
            through("ward login --user NAME", "https://ward.example/a b"),
            "ward --server 'https://ward.example/a b' login --user NAME"
        );
    }

    /// The words of a printed command with each placeholder filled as a person would.
    fn filled(printed: &str) -> Vec<String> {
        printed
            .split_whitespace()
            .map(|w| {
                match w {
                    "FILE" => "report.xml",
                    "URL" => "https://tickets.example.org/T-1",
                    "TEXT" => "checked",
                    "TIME" => "2026-12-02T10:15:00Z",
                    "DURATION" => "25m",
                    "IDENTITY" => "user:dana",
                    "dr:TOOL" => "dr:pgbackrest",
                    other => other,
                }
                .trim_matches('\'')
                .to_string()
            })
            .collect()
    }

    /// Every reason the bundled policy gives with an action prints a command that `ward`
    /// accepts as printed (placeholders filled): a fix that fails to parse is a fix that sends
    /// the person to `--help` (issue: "hints that do not work as printed").
    #[test]
    fn every_fix_the_bundled_policy_prints_is_a_command_ward_accepts() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../ward-core/policies/testdata/every_rule.json")).unwrap();
        let d = evaluate(&PolicyBundle::defaults(), &doc["input"], &doc["data"]).unwrap();
        let mut seen = std::collections::HashSet::new();
        for r in &d.reasons {
            let Some(a) = &r.action else { continue };
            let printed = command(a);
            assert!(fix(r).ends_with(&printed) && fix(r).starts_with(&r.fix), "{r:?}");
            let words = filled(&printed);
            if let Err(e) = Cli::try_parse_from(&words) {
                panic!("{} prints `{printed}`, which ward refuses:\n{e}", r.rule);
            }
            seen.insert(std::mem::discriminant(a));
        }
        // Every kind of action the bundled policy gives was printed and parsed.
        assert_eq!(seen.len(), 10, "{:?}", d.reasons);
    }

    #[test]
    fn a_persons_command_printed_in_local_mode_names_the_user_it_runs_as() {
        use super::locally;
        assert_eq!(
            locally("sign it: ward approve --change CHG-1 --meaning approval"),
            "sign it: ward --as USER approve --change CHG-1 --meaning approval"
        );
        assert_eq!(
            locally("(close it: ward approve --change C --meaning retrospective-review)"),
            "(close it: ward --as USER approve --change C --meaning retrospective-review)"
        );
        assert_eq!(
            locally("promote it there first: ward promote --change C --to staging"),
            "promote it there first: ward --as USER promote --change C --to staging"
        );
        // Not a person's command, one that already names its user, or not a command at all.
        for same in [
            "list them: ward rollout status",
            "ward rollout promote RO-1 --reason TEXT",
            "ward --as NAME report compliance --from T1 --to T2 --out FILE",
            "ward gate check --change C --env prod",
            "the steward approves it",
            "ward rollbacks are instant",
        ] {
            assert_eq!(locally(same), same);
        }
    }

    /// In local mode every fix of the bundled policy is still a command ward accepts, naming
    /// the local user it runs as when it is a person's (filled as that person would).
    #[test]
    fn every_fix_printed_in_local_mode_is_a_command_ward_accepts() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../../ward-core/policies/testdata/every_rule.json")).unwrap();
        let d = evaluate(&PolicyBundle::defaults(), &doc["input"], &doc["data"]).unwrap();
        let mut named = 0;
        for r in &d.reasons {
            let Some(a) = &r.action else { continue };
            let printed = super::locally(&command(a));
            named += usize::from(printed.starts_with("ward --as USER "));
            let words: Vec<String> = filled(&printed)
                .into_iter()
                .map(|w| if w == "USER" { "rita".to_string() } else { w })
                .collect();
            if let Err(e) = Cli::try_parse_from(&words) {
                panic!("{} prints `{printed}` locally, which ward refuses:\n{e}", r.rule);
            }
        }
        assert!(named >= 3, "approve, waiver grant and promote name their user");
    }

    #[test]
    fn values_a_shell_would_read_are_quoted() {
        let a = Action::Approve {
            change: "CHG-1".into(),
            meaning: "privacy review; rm -rf /".into(),
        };
        assert_eq!(
            command(&a),
            r"ward approve --change CHG-1 --meaning 'privacy review; rm -rf /'"
        );
        let a = Action::Approve {
            change: "CHG-1".into(),
            meaning: "it's".into(),
        };
        assert_eq!(command(&a), r"ward approve --change CHG-1 --meaning 'it'\''s'");
    }
}
