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
        let generic = crate::kinds::check_generic_kind(&e.kind).is_ok();
        let cfg = if generic { detectors() } else { structural_detectors() };
        let mut text = String::with_capacity(e.kind.len() + e.subject.len() + e.actor.id.len() + 256);
        for part in [&e.kind, &e.subject, &e.actor.id] {
            text.push_str(part);
            text.push('\n');
        }
        as_lines(&e.payload, &mut text);
        let mut found = scan(&text, cfg);
        // A submitted payload is judged as JSON too, where the guard's views read what the
        // lines take apart — a table written as JSON arrays (`{"values": [["ssn", …], […]]}`,
        // its header after its rows: `{"rows": […], "schema": …}`), values split across items.
        // (Ward's own events are built from values judged where they entered.)
        if found.is_empty() && generic && !e.payload.is_null() {
            found = scan(&e.payload.to_string(), cfg);
        }
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
/// Every key is written — one holding an object, an array, `null` or nothing is a line of its
/// own — and a value is written after each of its nearest keys (up to [`LABELS_ABOVE`]), so
/// that a key is never left unread and a label above the value (`{"ssn": {"a": {"v": …}}}`)
/// still labels it.
/// Whether `s` is a document reference whose digest's bytes are not text: fewer than three
/// in four of its 32 bytes printable ASCII (a SHA-256's bytes are about 37% printable).
fn digest_reference(s: &str) -> bool {
    let Some(digest) = ward_ledger::documents::parse_reference(s) else {
        return false;
    };
    let hex = digest.trim_start_matches("sha256:");
    hex::decode(hex).is_ok_and(|bytes| bytes.iter().filter(|b| b.is_ascii_graphic() || **b == b' ').count() < 24)
}

fn as_lines(v: &serde_json::Value, out: &mut String) {
    fn walk<'v>(v: &'v serde_json::Value, keys: &mut Vec<&'v str>, out: &mut String) {
        use serde_json::Value;
        let lines = |out: &mut String, keys: &[&str], value: &str| {
            if keys.is_empty() {
                out.push_str(": ");
                out.push_str(value);
                out.push('\n');
            }
            for key in keys.iter().rev().take(LABELS_ABOVE) {
                out.push_str(key);
                out.push_str(": ");
                out.push_str(value);
                out.push('\n');
            }
            // And under its nearest keys as a path (`ssn.219.45 1100`): a value split into
            // the keys above it.
            if keys.len() >= 2 {
                let nearest = &keys[keys.len().saturating_sub(LABELS_ABOVE + 1)..];
                out.push_str(&nearest.join("."));
                out.push(' ');
                out.push_str(value);
                out.push('\n');
            }
        };
        match v {
            Value::Object(m) => {
                if m.is_empty() {
                    lines(out, keys, "");
                }
                for (k, x) in m {
                    keys.push(k);
                    walk(x, keys, out);
                    keys.pop();
                }
            }
            Value::Array(a) => {
                if a.is_empty() {
                    lines(out, keys, "");
                }
                for x in a {
                    walk(x, keys, out);
                }
            }
            // A reference names a document judged when it was stored: its 64 hex digits are read
            // by no detector but cost every decoder a pass (a scan's 5,000 findings hold 15,000:
            // the attach took twice the CPU). One whose digits decode to text is read as any
            // value is: a digest's bytes are random, text hidden in a reference's shape is not.
            Value::String(s) if digest_reference(s) => lines(out, keys, "doc"),
            Value::String(s) => lines(out, keys, s),
            Value::Null => lines(out, keys, ""),
            other => lines(out, keys, &other.to_string()),
        }
    }
    walk(v, &mut Vec::new(), out);
}

/// How many of a value's nearest keys label it in [`as_lines`] (bounded, so the text stays
/// linear in the document).
const LABELS_ABOVE: usize = 4;

/// An error message or hint as it may be shown: unchanged, or — when it holds what looks like
/// PHI or a secret (a refusal that quotes the value it was given: a ticket that is not a URL,
/// an unknown tenant, a configuration key) — a sentence that names the detectors and repeats
/// nothing. The last line of "never echo": every error the server sends and the CLI prints
/// passes here. Digests and ids in messages are not judged (no `high-entropy`).
pub fn withheld(text: &str) -> Option<String> {
    if text.trim().is_empty() {
        return None;
    }
    // A random-looking word — twelve letters and digits or more mixing upper case, lower case
    // and digits, or a password with symbols (`Summ3r!Prod#2026`) — is not repeated either: a
    // secret pasted as a key name or an environment, too short or too plain for `high-entropy`.
    // Ward's ids and digests mix at most two of the three (`CHG-3001027a`, hex digests); encoded
    // material it prints on purpose (a verifier key `name+hash+key`, a base64 signature: a `+`,
    // `/` or `=`, or over 40 characters) is not judged here, nor is a URL.
    let random_word = text
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| "()[]{},;'\"`!?.:".contains(c)))
        .filter(|w| w.len() <= 40 && !w.contains(['+', '/', '=']))
        .any(|w| {
            let random = w.split(|c: char| !c.is_ascii_alphanumeric()).any(|r| {
                let has = |f: fn(&u8) -> bool| r.as_bytes().iter().any(f);
                r.len() >= 12 && has(u8::is_ascii_lowercase) && has(u8::is_ascii_uppercase) && has(u8::is_ascii_digit)
            });
            let symbol = w.bytes().any(|c| b"!#$%^&*?~".contains(&c));
            random || (symbol && looks_like_a_password(w) && !git_revisions(w))
        });
    let found = scan(text, structural_detectors());
    if found.is_empty() && random_word {
        return Some(
            "the text of this message is withheld: it would repeat a value that looks like a secret (a random string)"
                .to_string(),
        );
    }
    if found.is_empty() {
        return None;
    }
    Some(format!(
        "the text of this message is withheld: it would repeat a value that looks like PHI or a secret ({})",
        detector_names(&found)
    ))
}

/// Whether a word is git revisions as a hint repeats them (`HEAD~1..HEAD`, `main~3...HEAD^2`):
/// each side of `..` or `...` a ref — `HEAD`, `@`, or a name of lower-case letters, digits and
/// `._/-` — followed by `~N`/`^N` steps of at most three digits. A password such as
/// `Summer~2026` (capitals, or a longer number) is none.
fn git_revisions(w: &str) -> bool {
    let side = |s: &str| {
        let base_end = s.find(['~', '^']).unwrap_or(s.len());
        let (base, steps) = s.split_at(base_end);
        let base_ok = base == "HEAD"
            || base == "@"
            || (!base.is_empty()
                && base
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._/-".contains(&c)));
        let steps_ok = steps
            .split(['~', '^'])
            .skip(1)
            .all(|n| n.len() <= 3 && n.bytes().all(|c| c.is_ascii_digit()));
        base_ok && steps_ok
    };
    let sides: Vec<&str> = if w.contains("...") {
        w.split("...").collect()
    } else {
        w.split("..").collect()
    };
    sides.len() <= 2 && sides.iter().all(|s| side(s))
}

/// Whether a value looks like a password: a word of eight characters or more mixing three of
/// upper case, lower case, digits and symbols (other than `- _ . / : @`), that is no URL
/// (`Tr0ub4dor3x`, `Summ3r!Prod#2026`; not `argon2id`, `us-east-1`, `client_secret_post`).
pub(crate) fn looks_like_a_password(s: &str) -> bool {
    s.split_whitespace().any(|w| {
        let has = |f: &dyn Fn(u8) -> bool| w.bytes().any(f);
        let classes = usize::from(has(&|c| c.is_ascii_uppercase()))
            + usize::from(has(&|c| c.is_ascii_lowercase()))
            + usize::from(has(&|c| c.is_ascii_digit()))
            + usize::from(has(&|c| c.is_ascii_punctuation() && !b"-_./:@".contains(&c)));
        w.len() >= 8 && classes >= 3 && !w.contains("://")
    })
}

/// A parser's message as it may be shown: its first line only (the lines after it quote the
/// source), with every quoted or back-quoted span — where parsers repeat what they read: a
/// value, a key, a field name — written `…`. A value a detector would not name (a random
/// string: `high-entropy` is left out of [`withheld`]) is never repeated either.
pub fn quotes_withheld(message: &str) -> String {
    quotes_withheld_but(message, |_| false)
}

/// [`quotes_withheld`], repeating the quoted spans `keep` allows (the key names a section of
/// Ward's own configuration expects: `expected `environments` or `tiers``).
pub fn quotes_withheld_but(message: &str, keep: impl Fn(&str) -> bool) -> String {
    let first = message.lines().find(|l| !l.trim().is_empty()).unwrap_or_default();
    let mut out = String::with_capacity(first.len());
    let mut open: Option<(char, String)> = None;
    for c in first.chars() {
        match &mut open {
            None if matches!(c, '"' | '`' | '\'') => open = Some((c, String::new())),
            Some((q, inside)) if c == *q => {
                out.push(*q);
                out.push_str(if keep(inside) { inside } else { "…" });
                out.push(*q);
                open = None;
            }
            Some((_, inside)) => inside.push(c),
            None => out.push(c),
        }
    }
    if let Some((q, _)) = open {
        out.push(q);
        out.push('…');
        out.push(q);
    }
    out
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
    use super::{LogGuard, check, withheld};
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

    /// A reference's digits are passed over by the log guard's decoders (a scan's thousands of
    /// references doubled an attach's CPU), unless they decode to text: an SSN hidden as the hex
    /// of a reference-shaped value is still read.
    #[test]
    fn text_hidden_in_a_references_shape_is_still_read() {
        let hidden = format!("doc:sha256:{}", hex::encode("SSN 219-45-6789 of Jane Roe 1961"));
        assert_eq!(hidden.len(), "doc:sha256:".len() + 64);
        let e = LogGuard
            .admit(&event(
                serde_json::json!({ "summary": { "list": [{ "package": hidden }] } }),
            ))
            .expect_err("refused");
        assert!(!e.contains("6789") && !e.contains("Jane"), "{e}");
        let (digest, _) = ward_ledger::documents::make("libwebp", [7u8; 16]);
        let real = format!("doc:{digest}");
        assert!(super::digest_reference(&real), "{real}");
        assert!(!super::digest_reference(&hidden));
        LogGuard
            .admit(&event(
                serde_json::json!({ "summary": { "list": [{ "package": real }] } }),
            ))
            .expect("a reference passes");
    }

    /// Parsers repeat what they read; what reaches a person keeps the place and the kind of
    /// error only.
    #[test]
    fn a_random_string_in_a_message_is_not_repeated() {
        // A password pasted as a key name or an environment (round 2's last attacker).
        for message in [
            "db.password.Tr0ub4dor3xK9Lm2Q holds a secret value (a value under a secret-named key)",
            "Tr0ub4dor3xK9Lm2Q is not a declared environment",
            "password.Summ3r!Prod#2026 holds a secret value (a value under a secret-named key)",
        ] {
            let shown = withheld(message).expect(message);
            assert!(!shown.contains("Tr0ub4dor3x"), "{shown}");
        }
        // Ward's ids, digests, identities and plain words are shown as they are.
        for message in [
            "CHG-3001027a is not approved",
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 not found",
            "stagingEnvironment is not a declared environment",
            "user auth0|5f7c8ec7c33c6c004bbafe82 has no role",
            "refused (mrn, us-ssn): see https://example.org/doc?x=Ab1&y=2 for CHG-3001027a!",
            // A hint repeating a command's commit range (the eighth session's withheld hint).
            "run `ward --as USER --password-stdin change open --title Index --range HEAD~1..HEAD`",
            "run `ward change open --range main~3...HEAD^2` again",
        ] {
            assert_eq!(withheld(message), None, "{message}");
        }
        // A password with a tilde is still withheld.
        for message in ["Summer~2026x is not a declared environment", "Tr0ub~4dor3x? no"] {
            assert!(withheld(message).is_some(), "{message}");
        }
    }

    #[test]
    fn a_parsers_message_repeats_no_value() {
        use super::quotes_withheld;
        assert_eq!(
            quotes_withheld(
                "kind: unknown variant `9fK2mQ7xLp0aZ`, expected `normal` or `emergency` at line 1 column 40"
            ),
            "kind: unknown variant `…`, expected `…` or `…` at line 1 column 40"
        );
        assert_eq!(
            quotes_withheld(
                "TOML parse error at line 2, column 5\n  |\n2 | dob = 1980-03-04 Jane\n  |     ^\nexpected newline"
            ),
            "TOML parse error at line 2, column 5"
        );
        assert_eq!(quotes_withheld("unterminated \"Jane Roe"), "unterminated \"…\"");
    }

    /// A key is text too: one holding an object, `null` or an empty array, and a label one level
    /// above its value, were never read, and reached the log inline (attack of 2026-12-05).
    #[test]
    fn phi_in_a_key_or_labelled_one_level_up_is_refused() {
        for p in [
            serde_json::json!({ "Jane Roe DOB 1980-03-04 SSN 219-45-1100": { "ok": true } }),
            serde_json::json!({ "note": { "SSN 219-45-1100": null } }),
            serde_json::json!({ "SSN 219-45-1100": [] }),
            serde_json::json!({ "db": { "SSN 219-45-1100": {} } }),
            serde_json::json!({ "ssn": { "value": "219451100" } }),
            serde_json::json!({ "ssn": { "v": "219451100" } }),
            serde_json::json!({ "ssn": { "a": { "b": "219451100" } } }),
            serde_json::json!({ "mrn": { "a": { "b": "00482913" } } }),
            serde_json::json!({ "patient": { "name": "Jane Roe" }, "dob": { "value": "1980-03-04" } }),
            // Attack rounds 5 and 6 (the tenth round's mends): an SSN split into the keys above
            // it, 5 + 4 in sibling fields, under other names, in an HTML row or a definition
            // list headed by its label; an MRN under `chart`.
            serde_json::json!({ "ssn": { "219": { "45": { "1100": true } } } }),
            serde_json::json!({ "ssn": { "219": { "45": "1100" }, "seen": 2 } }),
            serde_json::json!({ "ssn": { "21945": "1100" } }),
            serde_json::json!({ "ssn_first5": 21945, "ssn_last4": 1100 }),
            serde_json::json!({ "social_area": 219, "social_group": 45, "social_serial": 1100 }),
            serde_json::json!({ "S-S-N": 219451100 }),
            serde_json::json!({ "tin": 219451100 }),
            serde_json::json!({ "chart": "00123456" }),
            serde_json::json!({ "note": "<tr><th>SSN</th><td>219451100</td></tr>" }),
            serde_json::json!({ "note": "<dl><dt>ssn</dt> <dd>219451100</dd></dl>" }),
        ] {
            let e = LogGuard.admit(&event(p.clone())).expect_err(&p.to_string());
            assert!(!e.contains("1100") && !e.contains("Jane"), "{e}");
        }
        for p in [
            serde_json::json!({ "build": { "steps": [], "cache": null, "env": {} } }),
            serde_json::json!({ "report": { "patient_count": 123456, "sites": 12 } }),
            serde_json::json!({ "note": "| site | patient_count |\n|---|---|\n| north | 123456 |" }),
            serde_json::json!({ "version": { "major": { "2": { "14": 0 } } } }),
            serde_json::json!({ "chart": "nginx-ingress", "chart_version": "4.10.1" }),
        ] {
            if let Err(e) = LogGuard.admit(&event(p.clone())) {
                panic!("{p}: {e}");
            }
        }
    }

    #[test]
    fn a_table_written_as_json_in_an_event_payload_is_refused() {
        // The attack (round 3, F-1): each stored inline in the log, its lines read one value
        // at a time.
        for p in [
            serde_json::json!({"values": [["last", "first", "ssn", "dob"], ["Roe", "Jane", "219451110", "1980-01-02"]]}),
            serde_json::json!({"columns": ["mrn", "ssn"], "index": [0], "data": [["00123411", "219451111"]]}),
            serde_json::json!({"rows": [["Patient", "DOB"], ["Jane Roe", "1980-01-03"]]}),
            serde_json::json!({"rows": [["mrn", "phone"], ["00123412", "6173921847"]]}),
            serde_json::json!({"sheet": {"range": "A1:B2", "values": [["SSN", "MRN"], ["219451100", "00123456"]]}}),
            // Round 4: a line break in a cell (F1); the header after its rows once the keys are
            // in order (F2: BigQuery's `rows` before `schema`).
            serde_json::json!({"values": [["ssn", "mrn", "note"], ["219451100", "00123456", "seen twice\nfollow-up booked"]]}),
            serde_json::json!({"rows": [{"f": [{"v": "Jane Roe"}, {"v": "2021-03-02"}]}], "schema": {"fields": [{"name": "patient_name", "type": "STRING"}, {"name": "birth_date", "type": "DATE"}]}}),
            serde_json::json!({"data": [["x1", "n/a"], ["00123456", "219451100"]], "resultSetMetaData": {"rowType": [{"name": "mrn"}, {"name": "ssn"}]}}),
            // Ninth round: an SSN in sibling fields named for its parts; table markups as a
            // string (LaTeX, MediaWiki, Jira, AsciiDoc, YAML); a Grafana frame.
            serde_json::json!({"ssn_area": "219", "ssn_group": "45", "ssn_serial": "1100"}),
            serde_json::json!({"note": "Ref & Patient & SSN \\\\\n1 & test & none \\\\\n2 & Jane Roe & 219451100 \\\\"}),
            serde_json::json!({"note": "{|\n! Ref !! Patient !! SSN\n|-\n| 1 || test || none\n|-\n| 2 || Jane Roe || 219451100\n|}"}),
            serde_json::json!({"note": "||Ref||Patient||SSN||\n|1|test|none|\n|2|Jane Roe|219451100|"}),
            serde_json::json!({"note": "|===\n|Ref |Patient |SSN\n|1 |test |none\n|2 |Jane Roe |219451100\n|==="}),
            serde_json::json!({"note": "- - Ref\n  - Patient\n  - SSN\n- - 2\n  - Jane Roe\n  - '219451100'"}),
            serde_json::json!({"frames": [{"schema": {"fields": [{"name": "patient"}, {"name": "ssn"}]}, "data": {"values": [["Jane Roe"], ["219451100"]]}}]}),
        ] {
            let e = LogGuard.admit(&event(p.clone())).expect_err(&p.to_string());
            assert!(
                !e.contains("21945") && !e.contains("Jane") && !e.contains("0012"),
                "{e}"
            );
        }
        LogGuard
            .admit(&event(
                serde_json::json!({"values": [["service", "version"], ["billing", "2.14.0"]]}),
            ))
            .expect("a table without PHI passes");
    }

    /// Ward's own events are made of random ids, digests and image references; read as base32,
    /// Ascii85 or base64 they are noise, and noise must never be refused as a credential. Each
    /// literal here was refused once (a sign-in that failed in CI: a session id glued to the next
    /// line's field name read as base32hex `token:RV4?f@Voq`; a hex file name and an image
    /// digest read as Ascii85), and the loop covers a few thousand more of the same shapes.
    /// Automation acts as `token:<its random id>` since the twelfth session: every id a token
    /// can be given, as the actor of a caller's event (every detector) and of Ward's own, is
    /// admitted — a run of digits among the hex (`token:219451100123`) included (a reviewer's
    /// question on `aa41855`).
    #[test]
    fn a_tokens_random_id_as_the_actor_is_never_refused() {
        let admit = |kind: &str, id: &str| {
            let e = ward_ledger::NewEvent {
                actor: ward_ledger::Actor {
                    id: format!("token:{id}"),
                    kind: ward_ledger::ActorKind::Automation,
                },
                kind: kind.into(),
                subject: "change:CHG-1a2b3c4d".into(),
                payload: serde_json::json!({ "status": "ok", "count": 3 }),
            };
            LogGuard.admit(&e)
        };
        let mut ids: Vec<String> = [
            "219451100123",
            "555123456789",
            "000000000000",
            "123456789012",
            "19610412abcd",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..3000 {
            ids.push(ward_core::token::ApiToken::generate().expect("id").id);
        }
        for id in &ids {
            for kind in ["deploy.note", "artifact.registered"] {
                if let Err(m) = admit(kind, id) {
                    panic!("token:{id} as the actor of {kind}: {m}");
                }
            }
        }
    }

    #[test]
    fn random_ids_and_digests_in_wards_own_events_are_not_refused_as_credentials() {
        use sha2::{Digest, Sha256};
        let admit = |kind: &str, subject: String, payload: serde_json::Value| {
            let e = ward_ledger::NewEvent {
                actor: ward_ledger::Actor {
                    id: "user:alice".into(),
                    kind: ward_ledger::ActorKind::Human,
                },
                kind: kind.into(),
                subject,
                payload,
            };
            if let Err(m) = LogGuard.admit(&e) {
                panic!("{} {}: {m}", e.subject, e.payload);
            }
        };
        let session = |id: &str, secret: &str| {
            serde_json::json!({ "id": id, "name": "session-alice", "identity": "user:alice", "kind": "human",
                "roles": ["approver"], "expires_at": 1796293296u64, "secret_sha256": secret,
                "revoked": false, "created_by": "user:alice" })
        };
        let evidence = |artifact: &str, evidence: &str, file: &str, by: &str| {
            serde_json::json!({ "artifact": format!("registry.example.org/app@sha256:{artifact}"),
                "evidence": evidence, "file": format!("{file}.xml"), "type": "junit",
                "uploaded_by": format!("token:{by}") })
        };
        for (id, secret) in [
            (
                "a9b380b681b6",
                "3d0c909712c5b67b14de161d78d8b72fc05883c046403f3065fc11e7f7c8d7a6",
            ),
            (
                "a563ed66ad04",
                "570505630cc8af993bbe675a5482d7f6b9e04e348a6c6f3723b1265afd6eb88b",
            ),
            (
                "45494eb5b106",
                "a2afa6871cfa1428874d6260a2a1856a08b16f4ce449725c03984c3da98149d2",
            ),
        ] {
            admit("session.started", format!("token:{id}"), session(id, secret));
        }
        for (a, e, f, by) in [
            (
                "78c5ba4eb7ec449bdc1c3d3a86327a938963951bb03acf581bb26254377c16d1",
                "0dd8f3f85806b33532206087ba872ffa29c9f4470a9dc91afd6d63d1629a301c",
                "88191c59fd9990c0",
                "05c1d2fe3e5d",
            ),
            (
                "6dce9e5cec6b99b9d01cf3c35d5c6ec65f48bd01e38779d68f5a7c13445e9861",
                "7bcc75a5d37759661b34067536fee35e25c11fed3f49b54959693ace2b1ede66",
                "3a0b63cc67f88ec2",
                "1fa83a2a8a64",
            ),
        ] {
            admit("evidence.attached", "change:CHG-1".into(), evidence(a, e, f, by));
        }
        // A release digest read as hex (80% printable with two-byte UTF-8), a digest glued to the
        // next line's `commit` read as base32hex, a hex file name read as Ascii85 with `ȗ`.
        admit(
            "deployment.finished",
            "change:CHG-1".into(),
            serde_json::json!({ "by": "user:alice", "deployment": "dep-56ce412594", "env": "prod", "id": "7e2fa2b89ea3",
                "release": "app@sha256:7953c5a8e74057498c412276a84c7124553367227dbe58e68ff561334a7d2f25",
                "secret_sha256": "097fbaef6baca8624e639f6f3642254dbe60b0f05fc73949fefa2bac750b5f98", "tenant": "clinic-a" }),
        );
        for (artifact, commit, file) in [
            (
                "d14d0c1b6904ef9b82047da1d3fb4dfa7184280a5132a94069c7560665a3f8a2",
                "33617dc4ce206192fae547436ce8268f300201c2",
                "7ef54c49aeaad4fc3dbd",
            ),
            (
                "5f5bea98422c8796699823ad4f165e5da10df7414247d0b91646dc62d28d23ca",
                "e364bd24f9f45353a22d8b8122a5f496e6289058",
                "b72b69943681915ff982",
            ),
        ] {
            admit(
                "evidence.attached",
                "change:CHG-1".into(),
                serde_json::json!({ "artifact": format!("registry.example.org/app@sha256:{artifact}"), "commit": commit,
                    "evidence": "2ad94f2c7f41788f50900b20fb67fc042318a7144946760548c616e401757359",
                    "file": format!("{file}.json"), "type": "junit", "uploaded_by": "token:db5dd67269ee" }),
            );
        }
        for i in 0..1500u64 {
            let h = |k: u64| hex::encode(Sha256::digest((i * 7 + k).to_le_bytes()));
            admit(
                "session.started",
                format!("token:{}", &h(1)[..12]),
                session(&h(1)[..12], &h(2)),
            );
            admit(
                "evidence.attached",
                format!("change:CHG-{}", &h(3)[..8]),
                evidence(&h(4), &h(5), &h(6)[..16], &h(7)[..12]),
            );
            oidc_session(
                &h(8)[..12],
                &h(9),
                32768 + (i * 7919) % 28000,
                i % 2 == 0,
                1796293296 + i,
            );
        }
        // A session started at an OpenID provider, as the browser sign-in test starts them (the
        // provider on a random loopback port, a namespaced address as the identity and actor):
        // one in about 2,600 was refused as `password-in-url` (`…example.org` glued to the next
        // line's `staff:bob@example.org` beside a run read as base64 in the joined view). Each
        // literal was refused; a search of 200,000 such sessions finds none now.
        for (id, secret, port, alice, expires) in [
            (
                "ddac6ea2a1c2",
                "764aca8ec7bb71288accf67f64f12b4df51a08cdf91df8f47b376e8372d5243d",
                60351,
                false,
                1796300407,
            ),
            (
                "d2c243a02127",
                "43e6b24bc93caae9b4fd77cff0bdbb41a2d768fbdbc524d8e49131cd5443d0af",
                45481,
                false,
                1796301615,
            ),
            (
                "63fcc23eeab9",
                "9466a67920510be548b103e197d3d6e67574afe6b6ec438b98e21e993fc6a015",
                57482,
                true,
                1796304330,
            ),
            (
                "ed2a88fb0336",
                "59fafbc1d629beb3b07b828999e57b9814f4b7fb61deff7c598cccac09baf7b5",
                46264,
                true,
                1796305846,
            ),
            (
                "ab06c9140717",
                "ef64779bd6f344e33502682ca10332054bad8f657005056b5c833d704691a140",
                33298,
                true,
                1796309914,
            ),
            (
                "e7e29aacef3b",
                "fca4a1f8715fd38778ac26fc2ffe3ad5c22c859f7369eb98b12b70487147972f",
                54210,
                false,
                1796324155,
            ),
        ] {
            oidc_session(id, secret, port, alice, expires);
        }
    }

    fn oidc_session(id: &str, secret: &str, port: u64, alice: bool, expires_at: u64) {
        let (login, role) = if alice {
            ("alice", "viewer")
        } else {
            ("bob", "approver")
        };
        let who = format!("staff:{login}@example.org");
        let e = ward_ledger::NewEvent {
            actor: ward_ledger::Actor {
                id: who.clone(),
                kind: ward_ledger::ActorKind::Human,
            },
            kind: "session.started".into(),
            subject: format!("token:{id}"),
            payload: serde_json::json!({ "id": id, "name": "session-oidc-staff-idp", "identity": who,
                "kind": "human", "roles": [role], "expires_at": expires_at, "secret_sha256": secret,
                "revoked": false, "created_by": who, "subject": format!("http://127.0.0.1:{port} {login}") }),
        };
        if let Err(m) = LogGuard.admit(&e) {
            panic!("{} {}: {m}", e.subject, e.payload);
        }
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
