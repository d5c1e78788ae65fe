//! Events given on stdin (`ward log append`): JSON, a JSON array or JSON lines, and whose they
//! may claim to be. A leaf: the log command and the backend both read events through it.

use crate::failure::Failure;
use anyhow::Result;
use ward_ledger::NewEvent;

/// Whether an actor id reads as a person's, whatever kind it claims: a local user (`user:`), an
/// operator (`local:`), a token (`token:`, which may act as a person), an identity a provider
/// of people issues (`people`: their prefixes, `staff:` of `staff:{sub}` — a helper's attack on
/// `5fa06be` recorded `staff:dana` as automation) or an e-mail address (how identity providers
/// name people) — or a local user's login, bare or as any part of the id (`bob`, `ci:bob`,
/// `svc/bob`: a helper's attack on `93961e6` recorded Bob's login as an automation's actor).
fn names_a_person(id: &str, people: &[&str], logins: &[String]) -> bool {
    // As written and as it reads decoded (percent-encoding, character references, escapes,
    // folded look-alikes), up to three levels (`user%3Abob`, `bob&#64;example.com`,
    // `bob%2540example.com`: a helper's attack on `93961e6`).
    let mut forms = vec![id.to_string()];
    while forms.len() < 4 {
        let last = &forms[forms.len() - 1];
        match ward_evidence::guard::decode::decoded(last) {
            Some(v) if v.text != *last => forms.push(v.text),
            _ => break,
        }
    }
    forms.iter().any(|f| reads_as_a_person(f, people, logins))
}

fn reads_as_a_person(id: &str, people: &[&str], logins: &[String]) -> bool {
    let id = id.trim().to_ascii_lowercase();
    // Split wherever a login cannot go (a login is `[a-z0-9._-]`: `ci|bob`, `ci;bob`, `ci+bob`
    // hold Bob's login too — a reviewer's find).
    let a_login = id
        .split(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
        .any(|part| logins.iter().any(|l| l.eq_ignore_ascii_case(part)));
    // An address's `@` however it is spelled (`dana%40corp.com`, `dana(at)corp.com`: a
    // helper's sweep on `5fa06be`).
    let address = ["@", "%40", "(at)", "[at]", "{at}"].iter().any(|at| id.contains(at));
    ["user:", "local:", "token:"].iter().any(|p| id.starts_with(p))
        || people.iter().any(|p| id.starts_with(&p.to_ascii_lowercase()))
        || address
        || a_login
}

/// Parses stdin as events: one JSON object, a JSON array of objects, or one object per line.
///
/// Appended on the data directory, an event is the operator's: `actor` may be omitted (it is
/// then the local operator), name the operator, or name an automation identity the operator's
/// scripts run as; it never names a person other than the operator (`actor_is_a_person`), so
/// no one's action is fabricated in the log.
///
/// `people`: the identity prefixes of the configured providers of people
/// (`oidc::person_prefixes`); `logins`: the local users' logins.
pub fn parse_events(
    input: &str,
    operator: &ward_core::Identity,
    people: &[&str],
    logins: &[String],
) -> Result<Vec<NewEvent>> {
    let requests: Vec<ward_app::ops::EventRequest> = parse_json_input(
        input,
        "an event has kind, subject, an optional payload and an optional actor {id, kind: automation}",
    )?;
    requests
        .into_iter()
        .map(|e| {
            let actor = match e.actor {
                // The operator is recorded as the operator, of the kind it is, whatever kind
                // the event claims (a helper's sweep on `5fa06be`).
                None => operator.actor(),
                Some(a) if a.id == operator.id => operator.actor(),
                Some(a) if a.kind == ward_ledger::ActorKind::Automation && !names_a_person(&a.id, people, logins) => a,
                Some(a) => {
                    return Err(Failure::new(
                        "actor_is_a_person",
                        format!(
                            "the event names a person {}; locally appended events are the operator's ({})",
                            ward_app::identifier::shown(&a.id),
                            operator.id
                        ),
                        "omit `actor` (the operator is recorded), or name the automation identity your script runs as",
                    )
                    .into());
                }
            };
            Ok(NewEvent {
                actor,
                kind: e.kind,
                subject: e.subject,
                payload: e.payload,
            })
        })
        .collect()
}

/// Parses stdin as one JSON value, a JSON array, or JSON lines, into `T`s; errors name the line.
pub fn parse_json_input<T: serde::de::DeserializeOwned>(input: &str, shape: &str) -> Result<Vec<T>> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(Failure::new(
            "empty_input",
            "no event on stdin",
            r#"pipe a JSON event, e.g. {"kind":"note.added","subject":"change:1","payload":{}}"#,
        )
        .into());
    }
    // Never serde's own words: they quote the field or the value that did not fit, which may be
    // what the guard would refuse (attack round 8).
    let bad = |e: serde_json::Error, what: &str| -> anyhow::Error {
        let why = match e.classify() {
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => {
                "JSON of another shape (a field unknown or missing, or a value of the wrong type)"
            }
            serde_json::error::Category::Eof => "JSON cut short",
            serde_json::error::Category::Io => "unreadable",
        };
        Failure::new(
            "bad_event",
            format!(
                "{what} is not a valid event: {why}, at line {} column {}",
                e.line(),
                e.column()
            ),
            shape,
        )
        .into()
    };
    if trimmed.starts_with('[') {
        return serde_json::from_str(trimmed).map_err(|e| bad(e, "stdin"));
    }
    match serde_json::from_str::<T>(trimmed) {
        Ok(e) => Ok(vec![e]),
        Err(_) if trimmed.lines().count() > 1 => trimmed
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| serde_json::from_str(l).map_err(|e| bad(e, &format!("line {}", i + 1))))
            .collect(),
        Err(e) => Err(bad(e, "stdin")),
    }
}
