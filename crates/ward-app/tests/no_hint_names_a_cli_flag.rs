//! ward-app knows nothing of the CLI or HTTP: no string it returns names a command-line flag
//! (`--env`, `--from`, …), a `ward …` command or an HTTP path (`/api/…`). Its errors say what to
//! do in words; the CLI maps them back to its own flags and commands (`ward-cli/src/failure.rs`,
//! `cli_hint`), and the server passes them to HTTP clients as they are.
//!
//! This scans every string literal of `src/` (comments and the `#[cfg(test)]` module at a file's
//! end are not returned to anyone) and fails naming file:line.

use std::path::{Path, PathBuf};

/// Documents for people at a terminal, not errors: the compliance report names the commands an
/// auditor runs to check each figure, and a bundle's report names how to verify it offline.
const DOCUMENTS: &[&str] = &["compliance.rs", "bundle/report.rs"];

/// The CLI's top-level commands (`ward-cli/src/cli.rs`).
const COMMANDS: &[&str] = &[
    "approve",
    "artifact",
    "attest",
    "audit",
    "bench",
    "break-glass",
    "bundle",
    "change",
    "config",
    "debug",
    "demo",
    "deployments",
    "dr",
    "drill",
    "env",
    "gate",
    "init",
    "key",
    "log",
    "login",
    "logout",
    "metrics",
    "observe",
    "policy",
    "promote",
    "purge",
    "release",
    "report",
    "review",
    "rollback",
    "rollout",
    "search",
    "serve",
    "slo",
    "token",
    "user",
    "verify",
    "waiver",
    "whoami",
];

/// A string literal: its first line and its text (escapes left as written).
struct Literal {
    line: usize,
    text: String,
}

/// The string literals of Rust source `src`, up to a `#[cfg(test)]` at the start of a line.
fn literals(src: &str) -> Vec<Literal> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < b.len() {
        if b[i..].starts_with(b"\n#[cfg(test)]") {
            break;
        }
        match b[i] {
            b'\n' => line += 1,
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    line += usize::from(b[i] == b'\n');
                    i += 1;
                }
                i += 2;
                continue;
            }
            // A raw string: r"…", r#"…"#, … (an identifier ending in r is not one).
            b'r' if !b[..i].last().is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                && matches!(b.get(i + 1), Some(b'"' | b'#')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + 1 + hashes) == Some(&b'"') {
                    let start = i + 2 + hashes;
                    let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
                    let end = (start..b.len())
                        .find(|&j| b[j..].starts_with(&close))
                        .unwrap_or(b.len());
                    out.push(Literal {
                        line,
                        text: src[start..end].to_string(),
                    });
                    line += src[start..end].matches('\n').count();
                    i = end + close.len();
                    continue;
                }
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(b.len());
                out.push(Literal {
                    line,
                    text: src[start..end].to_string(),
                });
                line += src[start..end].matches('\n').count();
                i = end + 1;
                continue;
            }
            // A char literal ('"', '\'', 'x') or a lifetime ('a).
            b'\'' => {
                if b.get(i + 1) == Some(&b'\\') {
                    let close = b[i + 3..]
                        .iter()
                        .position(|c| *c == b'\'')
                        .map_or(b.len(), |p| i + 4 + p);
                    i = close;
                    continue;
                }
                let width = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                if b.get(i + 1 + width) == Some(&b'\'') {
                    i += 2 + width;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// What in `text` names the CLI or HTTP: a flag (`--name`, `--{name}`), a `ward COMMAND` or an
/// API path.
fn names_the_cli(text: &str) -> Option<String> {
    let b = text.as_bytes();
    if let Some(at) = text.find("/api/") {
        let end = text[at..].find([' ', '`', ')', '"']).map_or(text.len(), |e| at + e);
        return Some(format!("the HTTP path {}", &text[at..end]));
    }
    for (at, _) in text.match_indices("--") {
        let before = at.checked_sub(1).map(|p| b[p]);
        let after = b.get(at + 2);
        if !before.is_some_and(|c| c == b'-' || c.is_ascii_alphanumeric())
            && after.is_some_and(|c| c.is_ascii_lowercase() || *c == b'{')
        {
            let end = text[at..]
                .find([' ', ',', ')', '`', '"', '\\'])
                .map_or(text.len(), |e| at + e);
            return Some(format!("the flag {}", &text[at..end]));
        }
    }
    for (at, _) in text.match_indices("ward ") {
        if at > 0 && (b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_') {
            continue;
        }
        let word: String = text[at + 5..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '-')
            .collect();
        if COMMANDS.contains(&word.as_str()) {
            return Some(format!("the command `ward {word}`"));
        }
    }
    None
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_string_of_ward_app_names_a_cli_flag_or_command() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    assert!(files.len() > 20, "{files:?}");
    let mut found = Vec::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
        if DOCUMENTS.contains(&rel.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for l in literals(&text) {
            if let Some(what) = names_the_cli(&l.text) {
                found.push(format!("src/{rel}:{}: {what} in {:?}", l.line, l.text));
            }
        }
    }
    assert!(
        found.is_empty(),
        "ward-app names the CLI or HTTP (say what to do in words; map it in ward-cli's failure::cli_hint):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_scan_finds_flags_and_commands_in_literals_only() {
    let src = r####"
/// `ward change list --env prod` in a doc comment is fine.
fn f() -> (&'static str, char, char) {
    // so is "ward rollback --env ENV" in a comment
    let _ = r#"raw: pass --redact"#;
    let _ = '"';
    let _ = '\'';
    let _ = "toward serve; -----BEGIN KEY; a--b; ward.toml";
    let _ = "list with `ward change list`"; let _ = "see `GET /api/v1/log`";
    ("one\
      two --from", '"', 'x')
}
#[cfg(test)]
mod tests { const X: &str = "--tier"; }
"####;
    let found: Vec<(usize, Option<String>)> = literals(src)
        .iter()
        .map(|l| (l.line, names_the_cli(&l.text)))
        .filter(|(_, w)| w.is_some())
        .collect();
    assert_eq!(
        found,
        vec![
            (5, Some("the flag --redact".to_string())),
            (9, Some("the command `ward change`".to_string())),
            (9, Some("the HTTP path /api/v1/log".to_string())),
            (10, Some("the flag --from".to_string())),
        ]
    );
}
