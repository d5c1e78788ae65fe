//! Audit search: the log entries that concern an artifact (by digest, or by service and
//! version), a change (by id, or by its ticket), a person, an environment, a tenant, an event
//! kind, within a time range — each with its log index, so an auditor can fetch its inclusion
//! proof (`ward log proof`) or export the changes found as bundles (`ward bundle export`).
//!
//! The search reads the log itself, below a fresh signed checkpoint (not the state tables, which
//! the log explains): one pass over the entries, the criteria combined with AND. It is an
//! auditor's read and is recorded first (`access.search`; the query, which may name a person or a
//! tenant, is a salted document beside the log — purgeable — that the payload references).
//! [`Criteria::matches`] is pure.

use crate::error::AppError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use ward_core::Identity;
use ward_ledger::{EventEnvelope, NewEvent, NoteSigner, Payload};
use ward_store::Ledger;

/// Most hits returned (the rest counted: narrow the query).
pub const MAX_HITS: usize = 10_000;

/// What an auditor searches for; every given criterion must hold.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// An artifact digest (`sha256:…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// A service (with `version`: the digests registered under both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// A version of `service`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// A change id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
    /// A ticket URL (the changes that name it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// A person or automation (`user:…`, `token:…`, `oidc:…`): the entry's actor, or named in
    /// it as signer, approver, opener, editor, owner or the one who broke the glass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// An environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// A tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// An event kind, or a prefix ending in `.` (`approval.`, `deployment.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// From (inclusive), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// To (exclusive), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// One entry found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Hit {
    /// Log index.
    pub seq: u64,
    /// When it was appended.
    pub time: String,
    /// Event kind.
    pub kind: String,
    /// Subject (`change:…`, `artifact:…`, `environment:…`).
    pub subject: String,
    /// Who appended it.
    pub actor: String,
    /// The change it concerns, if it names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
}

/// The answer: the entries found below a signed checkpoint, and the changes they concern (each
/// can be exported as a bundle).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SearchResult {
    /// The query.
    pub query: SearchQuery,
    /// The size of the signed checkpoint searched below (entries `0..size`).
    pub checkpoint_size: u64,
    /// The entries found, in log order (at most [`MAX_HITS`]).
    pub hits: Vec<Hit>,
    /// How many more matched beyond [`MAX_HITS`].
    pub more: usize,
    /// The changes the hits concern (`ward bundle export --change ID`).
    pub changes: Vec<String>,
}

/// The query resolved to what an entry is compared with (pure matching).
#[derive(Clone, Debug, Default)]
pub struct Criteria {
    /// Any of these digests (from `digest`, or `service` + `version`); `None`: any.
    pub digests: Option<BTreeSet<String>>,
    /// Any of these change ids (from `change`, or `ticket`); `None`: any.
    pub changes: Option<BTreeSet<String>>,
    /// The person.
    pub person: Option<String>,
    /// The person as the leaf of a caller's event holds an actor it named
    /// (`ops::actor_in_leaf`).
    pub person_in_leaf: Option<String>,
    /// The environment.
    pub env: Option<String>,
    /// The tenant.
    pub tenant: Option<String>,
    /// The kind, or a prefix ending in `.`.
    pub kind: Option<String>,
    /// The kind as the leaf of a caller's event holds it (`ops::kind_in_leaf`), for a kind
    /// that is not a prefix.
    pub kind_in_leaf: Option<String>,
    /// Seconds since the epoch, inclusive.
    pub from: Option<i64>,
    /// Seconds since the epoch, exclusive.
    pub to: Option<i64>,
}

/// Keys under which a payload names a person.
const PERSON_KEYS: &[&str] = &[
    "signer",
    "approver",
    "opener",
    "editors",
    "owner",
    "by",
    "checked_by",
    "started_by",
    "requested_by",
    "added_by",
    "deployer",
    "reviewer",
];
/// Keys under which a payload names an environment.
const ENV_KEYS: &[&str] = &["environment", "env", "environments", "to", "from_environment"];
/// Keys under which a payload names a tenant.
const TENANT_KEYS: &[&str] = &["tenant", "tenants"];

impl Criteria {
    /// Whether the entry `e` meets every criterion. Pure. Digests and change ids are matched
    /// anywhere in the subject or the inline payload (they are unique strings); people,
    /// environments and tenants only under the keys that name them (or as the actor, the
    /// subject `environment:E`). An out-of-line payload is matched by its subject and actor only.
    pub fn matches(&self, e: &EventEnvelope) -> bool {
        let payload = match &e.payload {
            Payload::Inline(v) => Some(v),
            Payload::Digest { .. } => None,
        };
        let anywhere = |wanted: &BTreeSet<String>| {
            subject_names(&e.subject).iter().any(|s| wanted.contains(*s))
                || payload.is_some_and(|p| any_string(p, &mut |s| wanted.contains(s)))
        };
        let under = |keys: &[&str], wanted: &str| payload.is_some_and(|p| under_keys(p, keys, wanted));
        match &self.kind {
            Some(k) => {
                let hit = if k.ends_with('.') {
                    e.kind.starts_with(k.as_str())
                } else {
                    &e.kind == k || self.kind_in_leaf.as_ref() == Some(&e.kind)
                };
                if !hit {
                    return false;
                }
            }
            // Reads (`access.*`: searches, exports, bundles) name what was read; they are the
            // audit trail of the audit, found only when asked for by kind.
            None if e.kind.starts_with("access.") => return false,
            None => {}
        }
        if self.from.is_some() || self.to.is_some() {
            let Some(t) = e.time.parse::<jiff::Timestamp>().ok().map(|t| t.as_second()) else {
                return false;
            };
            if self.from.is_some_and(|f| t < f) || self.to.is_some_and(|to| t >= to) {
                return false;
            }
        }
        if self.digests.as_ref().is_some_and(|d| !anywhere(d)) {
            return false;
        }
        if self.changes.as_ref().is_some_and(|c| !anywhere(c)) {
            return false;
        }
        if let Some(p) = &self.person
            && e.actor.id != *p
            && self.person_in_leaf.as_ref() != Some(&e.actor.id)
            && !under(PERSON_KEYS, p)
        {
            return false;
        }
        if let Some(env) = &self.env
            && e.subject != format!("environment:{env}")
            && !under(ENV_KEYS, env)
        {
            return false;
        }
        if let Some(t) = &self.tenant
            && !under(TENANT_KEYS, t)
        {
            return false;
        }
        true
    }

    /// The change the entry concerns: its subject `change:ID`, else a `change` field.
    fn change_of(e: &EventEnvelope) -> Option<String> {
        if let Some(id) = e.subject.strip_prefix("change:") {
            return Some(id.to_string());
        }
        match &e.payload {
            Payload::Inline(v) => v.get("change").and_then(Value::as_str).map(str::to_string),
            Payload::Digest { .. } => None,
        }
    }
}

/// The names a subject carries: `change:ID` → `ID`, `artifact:sha256:…` → the digest, and the
/// subject itself.
fn subject_names(subject: &str) -> Vec<&str> {
    let mut out = vec![subject];
    if let Some((_, rest)) = subject.split_once(':') {
        out.push(rest);
    }
    out
}

/// Whether any string in `v` (keys' values at any depth) satisfies `f`.
fn any_string(v: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
    match v {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().any(|x| any_string(x, f)),
        Value::Object(m) => m.values().any(|x| any_string(x, f)),
        _ => false,
    }
}

/// Whether `wanted` stands under one of `keys` (a string, or in an array) anywhere in `v`.
fn under_keys(v: &Value, keys: &[&str], wanted: &str) -> bool {
    match v {
        Value::Object(m) => m.iter().any(|(k, x)| {
            (keys.contains(&k.as_str()) && any_string(x, &mut |s| s == wanted)) || under_keys(x, keys, wanted)
        }),
        Value::Array(a) => a.iter().any(|x| under_keys(x, keys, wanted)),
        _ => false,
    }
}

fn bounded(name: &str, v: &Option<String>) -> Result<(), AppError> {
    if let Some(s) = v
        && (s.trim().is_empty() || s.len() > 512 || s.chars().any(char::is_control))
    {
        return Err(AppError::invalid(
            format!("the search criterion {name} must be 1 to 512 characters without control characters"),
            format!("give the {name} as it appears in the log"),
        ));
    }
    Ok(())
}

/// Resolves `q` against the state the log explains (a ticket to its changes, a service and
/// version to their digests) into [`Criteria`].
async fn criteria(ledger: &Ledger, q: &SearchQuery) -> Result<Criteria, AppError> {
    for (name, v) in [
        ("digest", &q.digest),
        ("service", &q.service),
        ("version", &q.version),
        ("change", &q.change),
        ("ticket", &q.ticket),
        ("person", &q.person),
        ("env", &q.env),
        ("tenant", &q.tenant),
        ("kind", &q.kind),
    ] {
        bounded(name, v)?;
    }
    if q == &SearchQuery::default() {
        return Err(AppError::invalid(
            "a search needs at least one criterion",
            "name e.g. a change, a digest (sha256:…), a person (user:NAME), an environment or a period (from, to)",
        ));
    }
    if q.version.is_some() && q.service.is_none() {
        return Err(AppError::invalid(
            "a version needs its service",
            "give both the service and the version",
        ));
    }
    let time = |t: &Option<String>, flag| {
        t.as_deref()
            .map(|t| crate::audit::parse_time(t, flag).map(|t| t.as_second()))
            .transpose()
    };
    let (from, to) = (time(&q.from, "start")?, time(&q.to, "end")?);
    let mut digests: Option<BTreeSet<String>> = q.digest.clone().map(|d| BTreeSet::from([d]));
    if let Some(service) = &q.service {
        let found: BTreeSet<String> = match &q.version {
            Some(v) => crate::evidence::digests_of(ledger, service, v)
                .await?
                .into_iter()
                .collect(),
            None => crate::evidence::services(ledger)
                .await?
                .into_iter()
                .filter(|(_, s)| s == service)
                .map(|(digest, _)| digest)
                .collect(),
        };
        digests = Some(match digests {
            Some(d) => d.intersection(&found).cloned().collect(),
            None => found,
        });
    }
    let mut changes: Option<BTreeSet<String>> = q.change.clone().map(|c| BTreeSet::from([c]));
    if let Some(ticket) = &q.ticket {
        // Tickets live beside the log (inline in changes recorded before 2026-12-06): each is
        // read as its text.
        let mut found = BTreeSet::new();
        for c in crate::changes::list_as_recorded(ledger).await? {
            if let Some(stored) = &c.request.ticket_url
                && &crate::documents::read_text(ledger, stored).await? == ticket
            {
                found.insert(c.id);
            }
        }
        changes = Some(match changes {
            Some(c) => c.intersection(&found).cloned().collect(),
            None => found,
        });
    }
    // A caller's kind is in the leaf as its fingerprint (a prefix of one is not searchable);
    // a search never creates the key (without one, no caller's kind was fingerprinted).
    let kind_in_leaf = match &q.kind {
        Some(k) if !k.ends_with('.') && crate::kinds::check_generic_kind(k).is_ok() => {
            crate::redaction::existing_key(ledger.store().as_ref())
                .await?
                .map(|key| crate::ops::kind_in_leaf(&key, k))
        }
        _ => None,
    };
    // So is an actor a caller named (`ward log append` on the data directory).
    let person_in_leaf = match &q.person {
        Some(p) => crate::redaction::existing_key(ledger.store().as_ref())
            .await?
            .map(|key| crate::ops::actor_in_leaf(&key, p)),
        None => None,
    };
    Ok(Criteria {
        digests,
        changes,
        person: q.person.clone(),
        person_in_leaf,
        env: q.env.clone(),
        tenant: q.tenant.clone(),
        kind: q.kind.clone(),
        kind_in_leaf,
        from,
        to,
    })
}

/// Searches the log below a fresh signed checkpoint, recording the read first
/// (`access.search`, the caller as actor, the query beside the log).
pub async fn search(
    ledger: &Ledger,
    signer: &dyn NoteSigner,
    origin: &str,
    by: &Identity,
    q: &SearchQuery,
) -> Result<SearchResult, AppError> {
    let crit = criteria(ledger, q).await?;
    // The query names what an auditor looked for (a person's id or mail address, a tenant): it
    // is kept beside the log, where a purge can reach it, not in the leaf. It is judged by the
    // guard's detectors but `high-entropy` (digests and ids are what it holds; a plain mail
    // address is no finding): a password, key or SSN typed into a search field is refused before
    // anything is stored.
    let mut texts = crate::documents::Texts::new();
    let query = serde_json::to_string(q).map_err(AppError::internal)?;
    crate::freetext::check_identifiers("search query", &query)?;
    let query = texts.put_judged(&query)?;
    crate::documents::append(
        ledger,
        NewEvent {
            actor: by.actor(),
            kind: "access.search".into(),
            subject: "log:entries".into(),
            payload: json!({ "query": query }),
        },
        texts,
    )
    .await?;
    let cp = ledger.checkpoint(signer, origin).await?;
    let (mut hits, mut more, mut changes) = (Vec::new(), 0usize, BTreeSet::new());
    crate::bundle::scan(ledger, cp.size, |e, _| {
        if !crit.matches(&e) {
            return;
        }
        let change = Criteria::change_of(&e);
        if let Some(c) = &change {
            changes.insert(c.clone());
        }
        if hits.len() >= MAX_HITS {
            more += 1;
            return;
        }
        hits.push(Hit {
            seq: e.seq,
            time: e.time,
            kind: e.kind,
            subject: e.subject,
            actor: e.actor.id,
            change,
        });
    })
    .await?;
    Ok(SearchResult {
        query: q.clone(),
        checkpoint_size: cp.size,
        hits,
        more,
        changes: changes.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A search is a read: looking for a caller's kind never creates the installation's key
    /// (without one, no kind was fingerprinted), and once there is one the kind is found by it.
    #[tokio::test]
    async fn a_search_by_kind_never_creates_the_installations_key() {
        let db = ward_store::testing::TestDb::sqlite();
        let ledger = Ledger::new(ward_store::open(&db.url).await.expect("store"), crate::projectors());
        let store = ledger.store();
        let q = SearchQuery {
            kind: Some("deploy.finished".into()),
            ..SearchQuery::default()
        };
        let crit = criteria(&ledger, &q).await.expect("criteria");
        assert_eq!(crit.kind_in_leaf, None);
        assert!(
            crate::redaction::existing_key(store.as_ref())
                .await
                .expect("read")
                .is_none()
        );
        let key = crate::redaction::installation_key(store.as_ref()).await.expect("key");
        let crit = criteria(&ledger, &q).await.expect("criteria");
        assert_eq!(
            crit.kind_in_leaf,
            Some(crate::ops::kind_in_leaf(&key, "deploy.finished"))
        );
        db.cleanup().await;
    }
}
