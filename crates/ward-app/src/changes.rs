//! Change requests: what is about to change, classified by risk when it is opened.
//!
//! `change.opened` (subject `change:<id>`) records the change, its opener and its
//! [`Classification`] under the `[risk]` rules in force; `change.reclassified` records an
//! override of the tier, which needs an approver (never the opener) and a reason.

use crate::error::AppError;
use crate::error::Kind;
use crate::evidence;
use crate::subjects::CHANGES;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ward_core::Identity;
use ward_core::risk::{ChangeFacts, Classification, RiskRules, Tier};
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

const OVERRIDES: &str = "change_overrides";
const PROPOSALS: &str = "change_override_proposals";
/// Attributes a change may carry.
pub const ATTRIBUTES: [&str; 5] = [
    "phi",
    "clinical_workflow",
    "schema_migration",
    "infrastructure",
    "internet_facing",
];
const KINDS: [&str; 3] = ["normal", "standard", "emergency"];
const MAX_ITEMS: usize = 10_000;

/// A commit in the change's range.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Commit {
    /// Commit id.
    pub sha: String,
    /// Author e-mail (or name) as git records it.
    pub author: String,
    /// When git recorded the commit (committer date, RFC 3339): read from git when the change is
    /// opened from a range; the earliest starts the change's lead time (docs/METRICS.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// A commit author of a change, as its leaf records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Author {
    /// The Ward identity the address stood for when it was recorded, in entries before
    /// 2026-12-07's tenth session (a `[approvals] git_authors` mapping's, else
    /// `user:<local part>`); later entries keep every identity in [`Author::keys`] only, and an
    /// older author whose address is held is kept so once the change is updated.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identity: String,
    /// Keyed fingerprints under the installation key of everything the separation of duties
    /// reads the address for ([`ward_core::approval::author_key_texts`]: every identity it
    /// stands for — its local part's, `user:<name>`, and each mapping's —, its mailbox and each
    /// mapped identity's address): the local part may spell anything (a birth date in Roman
    /// numerals, a month inside a word), so it never reaches a leaf, and the separation of
    /// duties holds on these after the address is purged (tenth session).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// The fingerprint of [`ward_core::approval::KEY_CHECK`] under the key `keys` were made
    /// with: keys made under a lost installation key are told from keys naming nobody.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_check: String,
    /// The address as git wrote it: a document reference beside the log (purgeable); shown as
    /// its text.
    pub address: String,
}

/// A change to open.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangeRequest {
    /// One-line title.
    pub title: String,
    /// What and why.
    #[serde(default)]
    pub description: String,
    /// Ticket URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_url: Option<String>,
    /// `normal`, `standard` or `emergency`.
    #[serde(default = "normal")]
    pub kind: String,
    /// The incident ticket this change answers (URL): its deployments are unplanned (rework,
    /// docs/METRICS.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_url: Option<String>,
    /// Registered artifact digests the change ships.
    #[serde(default)]
    pub artifacts: Vec<String>,
    /// Configuration versions (bundle digests or names) the change ships.
    #[serde(default)]
    pub config_versions: Vec<String>,
    /// Git range, e.g. `a1b2c3..d4e5f6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_range: Option<String>,
    /// Commits in the range, with their authors.
    #[serde(default)]
    pub commits: Vec<Commit>,
    /// Paths touched.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Attributes: any of phi, clinical_workflow, schema_migration, infrastructure,
    /// internet_facing.
    #[serde(default)]
    pub attributes: Vec<String>,
    /// Integrations touched: ehr, fhir, hl7, billing, …
    #[serde(default)]
    pub integrations: Vec<String>,
    /// Target environments.
    #[serde(default)]
    pub environments: Vec<String>,
}

fn normal() -> String {
    "normal".into()
}

/// A tier override.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TierOverride {
    /// The tier set.
    pub tier: Tier,
    /// Why.
    pub reason: String,
    /// The approver who set it (who proposed it, when it needed concurrence).
    pub by: String,
    /// The approvers who concurred (a lowering out of `high`).
    #[serde(default)]
    pub concurred_by: Vec<String>,
    /// Everyone who has overridden this change's tier so far, this override included.
    #[serde(default)]
    pub classifiers: Vec<String>,
    /// Log entry.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// An opened change.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    /// `CHG-<8 hex>`.
    pub id: String,
    /// What was asked.
    #[serde(flatten)]
    pub request: ChangeRequest,
    /// Who opened it.
    pub opener: String,
    /// The classification when opened.
    pub classification: Classification,
    /// The tier in force: the override's, else the classification's.
    #[serde(default = "low")]
    pub tier: Tier,
    /// The override, when an approver changed the tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_override: Option<TierOverride>,
    /// A proposed lowering of the tier waiting for more approvers' concurrence
    /// (`[approvals.overrides] high_downgrade_approvers`); the tier in force is unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_override: Option<PendingOverride>,
    /// Identities that changed the content after it was opened. Accumulates: separation of
    /// duties treats every one of them as an author for the rest of the change's life.
    #[serde(default)]
    pub editors: Vec<String>,
    /// Every commit author e-mail ever listed on the change (a later update that drops a commit
    /// does not drop its author), as entries before 2026-12-07 recorded them; later entries
    /// list every author in `authors`.
    #[serde(default)]
    pub past_authors: Vec<String>,
    /// Every commit author ever listed on the change, current and past (a later update that
    /// drops a commit does not drop its author), each with the identity it stood for.
    #[serde(default)]
    pub authors: Vec<Author>,
    /// What each reference to an author's address or a commit's id reads as, where its
    /// document is held ([`get`] and [`list`] read them); not part of the record.
    #[serde(skip)]
    pub addresses: std::collections::HashMap<String, String>,
    /// The installation key, read where an author is kept as [`Author::keys`] ([`get`]
    /// and [`list`] read it); not part of the record. Without it the separation of duties
    /// refuses every decision on such a change (fail closed).
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub author_key: Option<ward_evidence::redact::FingerprintKey>,
    /// Everyone who overrode, proposed or concurred in overriding the tier (accumulates).
    #[serde(default)]
    pub classifiers: Vec<String>,
    /// Where the commit list came from: `git` (read from the repository by the `ward` process
    /// that recorded it) or `asserted` (supplied by the caller, `commits_asserted_by`).
    #[serde(default = "asserted")]
    pub commits_source: String,
    /// Who supplied the commit list.
    #[serde(default)]
    pub commits_asserted_by: String,
    /// Log entry that opened it.
    pub seq: u64,
    /// When.
    pub time: String,
}

fn low() -> Tier {
    Tier::Low
}

fn asserted() -> String {
    "asserted".into()
}

/// A proposed tier override that needs more approvers before it takes effect.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PendingOverride {
    /// The tier proposed.
    pub tier: Tier,
    /// Why.
    pub reason: String,
    /// The approvers who agree so far (the proposer first).
    pub approvers: Vec<String>,
    /// How many distinct approvers it needs.
    pub needed: u32,
    /// Everyone who has overridden or proposed overriding the tier so far (a newer proposal
    /// replaces an older one, never its proposers' duties).
    #[serde(default)]
    pub classifiers: Vec<String>,
    /// Log entry of the latest proposal or concurrence.
    pub seq: u64,
}

impl Change {
    /// The earliest commit time recorded (Unix seconds): where the change's lead time starts.
    pub fn first_commit_time(&self) -> Option<i64> {
        self.request
            .commits
            .iter()
            .filter_map(|c| c.time.as_deref()?.parse::<jiff::Timestamp>().ok())
            .map(|t| t.as_second())
            .min()
    }

    /// Unplanned work: an emergency change, or one answering an incident ticket.
    pub fn unplanned(&self) -> bool {
        self.request.kind == "emergency" || self.request.incident_url.is_some()
    }

    /// An author's address as stored (a reference, or inline in older entries) read as its text;
    /// `None` when its document is not held (purged).
    pub fn address_of<'a>(&'a self, stored: &'a str) -> Option<&'a str> {
        if crate::documents::is_reference(stored) {
            self.addresses.get(stored).map(String::as_str)
        } else {
            Some(stored)
        }
    }

    /// Every author ever listed, stored form with its text (`None`: purged): the recorded list,
    /// then (entries before it) the commits' and past authors' addresses.
    fn authors_read(&self) -> Vec<(Author, Option<String>)> {
        let mut out: Vec<(Author, Option<String>)> = Vec::new();
        let older = self.request.commits.iter().map(|c| &c.author).chain(&self.past_authors);
        let all = self.authors.iter().cloned().chain(older.map(|a| Author {
            identity: String::new(),
            keys: Vec::new(),
            key_check: String::new(),
            address: a.clone(),
        }));
        for a in all {
            if a.address.is_empty() || out.iter().any(|(x, _)| x.address == a.address) {
                continue;
            }
            let text = self.address_of(&a.address).map(str::to_string);
            out.push((a, text));
        }
        out
    }

    /// The people this change's separation of duties is measured against.
    pub fn parties(&self) -> ward_core::approval::Parties {
        let read = self.authors_read();
        // As compared: folded (`jane.doe＠gmail.com` is `jane.doe@gmail.com`).
        let mut author_emails: Vec<String> = read
            .iter()
            .filter_map(|(_, t)| t.as_deref())
            .map(crate::identifier::author_address)
            .collect();
        author_emails.sort();
        author_emails.dedup();
        let mut author_identities: Vec<String> = read
            .iter()
            .map(|(a, _)| a.identity.clone())
            .filter(|i| !i.is_empty())
            .collect();
        author_identities.sort();
        author_identities.dedup();
        let mut keys: Vec<String> = read.iter().flat_map(|(a, _)| a.keys.iter().cloned()).collect();
        keys.sort();
        keys.dedup();
        let mut checks: Vec<String> = read
            .iter()
            .filter(|(a, _)| !a.keys.is_empty())
            .map(|(a, _)| a.key_check.clone())
            .collect();
        checks.sort();
        checks.dedup();
        let author_keys = ward_core::approval::AuthorKeys {
            keys,
            checks,
            key_of: self.author_key.clone().map(|key| {
                std::sync::Arc::new(move |compared: &str| author_key_of(&key, compared)) as ward_core::approval::KeyOf
            }),
        };
        let mut classifiers = self.classifiers.clone();
        if let Some(o) = &self.tier_override {
            classifiers.push(o.by.clone());
            classifiers.extend(o.concurred_by.iter().cloned());
        }
        if let Some(p) = &self.pending_override {
            classifiers.extend(p.approvers.iter().cloned());
            classifiers.extend(p.classifiers.iter().cloned());
        }
        classifiers.sort();
        classifiers.dedup();
        ward_core::approval::Parties {
            opener: self.opener.clone(),
            author_emails,
            author_identities,
            author_keys,
            editors: self.editors.clone(),
            classifiers,
        }
    }
}

/// A tier override request.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReclassifyRequest {
    /// The tier to set.
    pub tier: Tier,
    /// Why (recorded).
    pub reason: String,
}

/// Projects `change.opened`, `change.updated`, `change.reclassified` and
/// `change.reclassify_proposed`.
pub struct ChangeProjector;

impl Projector for ChangeProjector {
    fn name(&self) -> &'static str {
        "changes"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        let Some(id) = p.get("id").and_then(Value::as_str) else {
            return vec![];
        };
        let mut doc = p.clone();
        if let Some(o) = doc.as_object_mut() {
            // An update carries the opening entry's seq and time; it keeps them.
            if !o.contains_key("seq") {
                o.insert("seq".into(), json!(e.seq));
                o.insert("time".into(), json!(e.time));
            }
        }
        match e.kind.as_str() {
            "change.opened" => vec![ProjectionOp::Put {
                collection: CHANGES.into(),
                key: id.into(),
                doc,
            }],
            // New content is classified afresh; an override of the old content no longer holds.
            "change.updated" => vec![
                ProjectionOp::Put {
                    collection: CHANGES.into(),
                    key: id.into(),
                    doc,
                },
                ProjectionOp::Delete {
                    collection: OVERRIDES.into(),
                    key: id.into(),
                },
                ProjectionOp::Delete {
                    collection: PROPOSALS.into(),
                    key: id.into(),
                },
            ],
            "change.reclassified" => vec![
                ProjectionOp::Put {
                    collection: OVERRIDES.into(),
                    key: id.into(),
                    doc,
                },
                ProjectionOp::Delete {
                    collection: PROPOSALS.into(),
                    key: id.into(),
                },
            ],
            "change.reclassify_proposed" => vec![ProjectionOp::Put {
                collection: PROPOSALS.into(),
                key: id.into(),
                doc,
            }],
            _ => vec![],
        }
    }
}

fn text(name: &str, v: &str, max: usize) -> Result<(), AppError> {
    if v.len() > max || v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(AppError::invalid(
            format!("{name} must be at most {max} characters without control characters"),
            format!("shorten the {}", name.replace('_', " ")),
        ));
    }
    Ok(())
}

fn validate(req: &ChangeRequest) -> Result<(), AppError> {
    if req.title.trim().is_empty() || req.title.contains('\n') {
        return Err(AppError::invalid(
            "a change needs a one-line title",
            "give the change a one-line title",
        ));
    }
    // A reference is text stored earlier (an update carries it forward): checked then.
    for (field, v, max) in [("title", &req.title, 200), ("description", &req.description, 20_000)] {
        if !crate::documents::is_reference(v) {
            text(field, v, max)?;
            crate::freetext::check(field, v)?;
        }
    }
    for (name, url) in [("ticket", &req.ticket_url), ("incident", &req.incident_url)] {
        let Some(u) = url else { continue };
        // A reference is a URL stored earlier (an update carries it forward): judged then.
        if crate::documents::is_reference(u) {
            continue;
        }
        text(name, u, 2048)?;
        // Not repeated: a refused value may hold anything (a token pasted in its place).
        if !(u.starts_with("https://") || u.starts_with("http://")) || u.chars().any(char::is_whitespace) {
            return Err(AppError::invalid(
                format!("the {name} is not an http(s) URL"),
                format!("pass the {name}'s http(s) URL"),
            ));
        }
        // Stored beside the log (its reference in the leaf, since 2026-12-06: a number of any
        // length in a URL is read by no rule) and still judged by every detector, a signed
        // URL's token too, and read as the words it joins.
        crate::identifier::judge_url(name, u)?;
        // No SSN's or phone number's shape and no e-mail address in a ticket's URL
        // (`?p=555.123.4567`, `?c=j.smith@hospital.org`: a helper's attack on `22597c7`).
        crate::identifier::refuse_person_shaped(name, u)?;
        crate::identifier::refuse_mail(name, u)?;
    }
    if !KINDS.contains(&req.kind.as_str()) {
        return Err(AppError::invalid(
            format!("unknown change kind ({} characters)", req.kind.chars().count()),
            "use normal, standard or emergency",
        ));
    }
    for a in &req.attributes {
        if !ATTRIBUTES.contains(&a.as_str()) {
            return Err(AppError::invalid(
                format!("unknown attribute ({} characters)", a.chars().count()),
                format!("use any of: {}", ATTRIBUTES.join(", ")),
            ));
        }
    }
    for (what, list) in [
        ("artifacts", &req.artifacts),
        ("config_versions", &req.config_versions),
        ("paths", &req.paths),
        ("integrations", &req.integrations),
        ("environments", &req.environments),
    ] {
        if list.len() > MAX_ITEMS {
            return Err(AppError::invalid(
                format!("more than {MAX_ITEMS} {what}"),
                "split the change",
            ));
        }
        for v in list {
            if v.is_empty() {
                return Err(AppError::invalid(format!("an empty entry in {what}"), "remove it"));
            }
            // A path or a configuration version stored earlier is a reference (an update
            // carries it forward): judged then.
            if matches!(what, "paths" | "config_versions") && crate::documents::is_reference(v) {
                continue;
            }
            text(what, v, 1024)?;
            // Paths are stored beside the log (since 2026-12-06) and judged first as the words
            // they join, as file names are (`data/smith_john_19610412.pdf`).
            if what == "paths" {
                crate::identifier::judge_plain("path", v)?;
                // `patients/00123456.json`, `contacts/jane.doe@gmail.com.vcf` (attack round 9);
                // an SSN's or a phone number's shape (`exports/555.123.4567.csv`: on `22597c7`).
                crate::identifier::check_labelled("path", v)?;
                crate::identifier::refuse_person_shaped("path", v)?;
            }
        }
    }
    // Written into the leaf (attack round 10: only their characters were checked).
    for i in &req.integrations {
        crate::users::check_new_name("integration", i)?;
    }
    for e in &req.environments {
        crate::users::check_new_name("environment", e)?;
    }
    for v in &req.config_versions {
        // A name is stored beside the log (an update carries its reference forward: judged then).
        if !ward_ledger::documents::is_digest(v) && !crate::documents::is_reference(v) {
            crate::identifier::check_token("configuration version", v)?;
            // A number of 7 digits or more, as in a branch (a helper's attack on `1d87e6e`:
            // `--config-version 219451100`); dotted versions are not counted.
            crate::identifier::check_number_in_ref("configuration version", v)?;
        }
    }
    // Stored beside the log since 2026-12-07 (a side of digits only, `219451100..HEAD`, reads as
    // an abbreviated commit: no rule can tell); an update carries the reference forward, judged
    // then.
    if let Some(r) = req.commit_range.as_ref().filter(|r| !crate::documents::is_reference(r)) {
        // Abbreviated commits: digits in a row are not counted, a label's number is; a side
        // that is no commit id is a ref, read as a branch is (`fix/219451100..HEAD`: a helper's
        // attack on `1d87e6e`).
        crate::identifier::check_token("commit range", r)?;
        crate::identifier::check_labelled("commit range", r)?;
        for side in r
            .split("..")
            .map(|s| s.trim_start_matches('.'))
            .filter(|s| !s.is_empty())
        {
            // A commit with a revision suffix is a commit (`2331275~1`, `d191276^2`: a helper
            // found a range copied from `git log --oneline` refused as a 7-digit number).
            let (base, suffix) = side.split_at(side.find(['~', '^']).unwrap_or(side.len()));
            let suffix_ok = suffix.bytes().all(|b| b.is_ascii_digit() || b == b'~' || b == b'^');
            let commit = suffix_ok && (4..=64).contains(&base.len()) && base.bytes().all(|b| b.is_ascii_hexdigit());
            if !commit {
                crate::identifier::check_number_in_ref("commit range", side)?;
            }
        }
    }
    if req.commits.len() > MAX_ITEMS {
        return Err(AppError::invalid(
            format!("more than {MAX_ITEMS} commits"),
            "split the change",
        ));
    }
    for c in &req.commits {
        // A git object id, nothing else (a helper's attack on `06acc0a`: `Patient Jane Q Doe dx
        // HIV positive` was stored as a commit's id); stored beside the log since the tenth
        // session (an update carries its reference forward: judged then).
        if !crate::documents::is_reference(&c.sha) {
            crate::identifier::check_commit_id("commit", &c.sha)?;
        }
        // An author's address is stored beside the log (an update carries its reference
        // forward: judged then); the identity derived from it stays in the leaf, so the address
        // is judged as an identifier (`mary-jones-19610412@…` is a name and a birth date,
        // attack round 7). A GitHub no-reply address starts with the account's number
        // (`12345678+login@…`): no date of anyone's birth.
        if !crate::documents::is_reference(&c.author) {
            if c.author.len() > 320 || c.author.chars().any(char::is_control) {
                return Err(AppError::invalid(
                    "an author must be at most 320 characters without control characters",
                    "give each author's address as git records it (%ae)",
                ));
            }
            crate::identifier::check_author(&c.author)?;
        }
        // To the second, as git writes it (`%cI`): digits after the second are the caller's to
        // choose (nine of them hold a person's number: a helper's attack on the thirteenth
        // session's head, through another time a leaf keeps), and the time is stored as given
        // (an update resending git's times must compare equal: a reviewer's find).
        if let Some(t) = &c.time
            && (t.parse::<jiff::Timestamp>().is_err() || t.contains(['.', ',']))
        {
            return Err(AppError::invalid(
                format!(
                    "commit {} has a time that is not RFC 3339",
                    crate::identifier::shown(&c.sha)
                ),
                "give each commit's time as RFC 3339 to the second (git's committer date, %cI), or leave it out",
            ));
        }
    }
    Ok(())
}

/// Stores each commit's author address beside the log and lists every author of the change:
/// `earlier` (the change's authors so far, each with its text: `None` when purged) carried with
/// their references, then each new address, stored once (a commit by an earlier author reuses
/// its reference) with the identity it stands for under `rules` now. Writes the commits' author
/// references and the list into `payload`; returns the list and what each new reference reads
/// as.
fn record_authors(
    payload: &mut Value,
    commits: &[Commit],
    earlier: &[(Author, Option<String>)],
    rules: &ward_core::approval::ApprovalRules,
    key: &ward_evidence::redact::FingerprintKey,
    texts: &mut crate::documents::Texts,
) -> Result<(Vec<Author>, std::collections::HashMap<String, String>), AppError> {
    // Everything the separation of duties reads the address for, as fingerprints (never in
    // the leaf).
    let recorded = |folded: &str, address: String| {
        let mut keys: Vec<String> = ward_core::approval::author_key_texts(folded, rules)
            .iter()
            .map(|t| author_key_of(key, t))
            .collect();
        keys.sort();
        Author {
            // A mapping's identity is kept as its fingerprint too: written plainly it kept an
            // address (`staff:jane.doe@corp.com`) in the leaf for good, its purge beside the
            // log notwithstanding (a helper's attack on the tenth session's head).
            identity: String::new(),
            keys,
            key_check: crate::redaction::key_check(key),
            address,
        }
    };
    let mut by_text: std::collections::HashMap<String, String> = Default::default();
    let mut authors: Vec<Author> = Vec::new();
    let add = |authors: &mut Vec<Author>, a: Author| {
        if !authors.iter().any(|x| x.address == a.address) {
            authors.push(a);
        }
    };
    for (a, text) in earlier {
        // An older entry's inline address is stored now; its identity is derived now.
        let address = if crate::documents::is_reference(&a.address) {
            a.address.clone()
        } else {
            texts.put_judged(&a.address)?
        };
        let author = match (a.keys.is_empty(), text) {
            (false, _) => Author {
                address: address.clone(),
                ..a.clone()
            },
            // An older entry's author, its address held: kept as fingerprints now, its
            // recorded identity among them (a plain identity was carried into every later leaf:
            // a reviewer's note on the tenth session's head).
            (true, Some(t)) => {
                let mut author = recorded(&crate::identifier::author_address(t), address.clone());
                if !a.identity.is_empty() {
                    author
                        .keys
                        .push(author_key_of(key, &ward_core::approval::compared_identity(&a.identity)));
                    author.keys.sort();
                    author.keys.dedup();
                }
                author
            }
            // Its address purged: the identity the older leaf holds is all there is.
            (true, None) if !a.identity.is_empty() => Author {
                address: address.clone(),
                ..a.clone()
            },
            (true, None) => continue,
        };
        if let Some(t) = text {
            by_text.entry(t.clone()).or_insert_with(|| address.clone());
        }
        add(&mut authors, author);
    }
    let mut refs = Vec::with_capacity(commits.len());
    for c in commits {
        let r = if c.author.is_empty() || crate::documents::is_reference(&c.author) {
            // Carried from the stored request (its author is among `earlier`).
            c.author.clone()
        } else if let Some(r) = by_text.get(&c.author) {
            r.clone()
        } else {
            // Judged by `validate` as an identifier, more closely than the guard reads prose;
            // the identity it stands for reaches the leaf only as a mapping's name or a
            // fingerprint.
            let folded = crate::identifier::author_address(&c.author);
            let r = texts.put_judged(&c.author)?;
            by_text.insert(c.author.clone(), r.clone());
            add(&mut authors, recorded(&folded, r.clone()));
            r
        };
        refs.push(r);
    }
    if let Some(list) = payload.get_mut("commits").and_then(Value::as_array_mut) {
        for (c, r) in list.iter_mut().zip(refs) {
            c["author"] = json!(r);
        }
    }
    payload["authors"] = serde_json::to_value(&authors).map_err(AppError::internal)?;
    let read = by_text.into_iter().map(|(t, r)| (r, t)).collect();
    Ok((authors, read))
}

/// The keyed fingerprint of a [`ward_core::approval::compared_identity`] an author stood for
/// (domain-separated from every other fingerprint under the key).
fn author_key_of(key: &ward_evidence::redact::FingerprintKey, compared: &str) -> String {
    key.fingerprint(&format!("author-identity\0{compared}"))
}

/// Stores each commit's id beside the log (since 2026-12-07's tenth session): a caller who
/// asserts the commits writes any hex digits, and hex letters between decimal digits spell a
/// number no rule tells from an id git made (`123a45b6789`). An id carried from the stored
/// request keeps its reference; one id given twice is stored once, in lower case. Writes the references into
/// `payload`; returns what each new reference reads as.
fn record_commit_ids(
    payload: &mut Value,
    commits: &[Commit],
    texts: &mut crate::documents::Texts,
) -> Result<std::collections::HashMap<String, String>, AppError> {
    let mut by_text: std::collections::HashMap<String, String> = Default::default();
    let mut refs = Vec::with_capacity(commits.len());
    for c in commits {
        let r = if crate::documents::is_reference(&c.sha) {
            c.sha.clone()
        } else if let Some(r) = by_text.get(&c.sha) {
            r.clone()
        } else {
            // Judged by `validate` (`check_commit_id`); in git's lower case (`ABCDEF…` and
            // `abcdef…` are one commit).
            let r = texts.put_judged(&c.sha.to_ascii_lowercase())?;
            by_text.insert(c.sha.clone(), r.clone());
            r
        };
        refs.push(r);
    }
    if let Some(list) = payload.get_mut("commits").and_then(Value::as_array_mut) {
        for (c, r) in list.iter_mut().zip(refs) {
            c["sha"] = json!(r);
        }
    }
    Ok(by_text.into_iter().map(|(t, r)| (r, t)).collect())
}

/// Reads each author's address reference of `change` (the documents held; a purged one stays
/// unread and the identity recorded with it stands); [`get`] and [`list`] read the key
/// ([`key_for`]).
async fn read_addresses(ledger: &Ledger, change: &mut Change) -> Result<(), AppError> {
    let stored = change
        .authors
        .iter()
        .map(|a| &a.address)
        .chain(change.request.commits.iter().map(|c| &c.author))
        .chain(change.request.commits.iter().map(|c| &c.sha))
        .chain(&change.past_authors);
    let mut refs: Vec<String> = stored.filter(|a| crate::documents::is_reference(a)).cloned().collect();
    refs.sort_unstable();
    refs.dedup();
    for r in refs {
        if let Some(digest) = ward_ledger::documents::parse_reference(&r)
            && let Some(bytes) = ledger.store().document(&digest).await?
            && let Some(text) = ward_ledger::documents::text_of(&bytes)
        {
            change.addresses.insert(r, text);
        }
    }
    Ok(())
}

/// Whether the stored `commits` read as `given`, commit for commit: commits given again (the
/// same range read again) change nothing.
fn commits_read_as(change: &Change, given: &[Commit]) -> bool {
    change.request.commits.len() == given.len()
        && change.request.commits.iter().zip(given).all(|(s, g)| {
            change
                .address_of(&s.sha)
                .is_some_and(|t| t.eq_ignore_ascii_case(&g.sha))
                && s.time == g.time
                && change.address_of(&s.author) == Some(g.author.as_str())
        })
}

fn new_id() -> Result<String, AppError> {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).map_err(AppError::internal)?;
    Ok(format!("CHG-{}", hex::encode(b)))
}

/// Validates a change's content, checks its artifacts are registered, classifies it, and builds
/// the event payload (`change.opened` and `change.updated` share it).
async fn checked_payload(
    ledger: &Ledger,
    rules: &RiskRules,
    req: &ChangeRequest,
    id: &str,
    opener: &str,
    commits: &CommitSource<'_>,
    texts: &mut crate::documents::Texts,
) -> Result<(Classification, Value), AppError> {
    validate(req)?;
    for a in &req.artifacts {
        if evidence::artifact(ledger, a).await?.is_none() {
            return Err(AppError::invalid(
                format!("artifact {} is not registered", crate::identifier::shown(a)),
                "register the artifact first",
            ));
        }
    }
    // A configuration version given as a digest names a bundle Ward holds: a digest is kept in
    // the leaf as structure, and any 64 hex digits can spell a text (a helper's attack on the
    // ninth session's head: the hex of `admin:<password>@10.0.0.5` was stored as one).
    for v in &req.config_versions {
        if ward_ledger::documents::is_digest(v) && ledger.store().evidence(v).await?.is_none() {
            return Err(AppError::invalid(
                "a configuration version given as a sha256 digest names no configuration bundle Ward holds",
                "publish the bundle first and name the digest it was published under, or name the version otherwise (stored beside the log)",
            ));
        }
    }
    // Paths carried forward are references: classified by their text (a purged path matches
    // no rule; an update keeps the tags and the tier it had).
    let mut paths = Vec::with_capacity(req.paths.len());
    for p in &req.paths {
        paths.push(crate::documents::read_text(ledger, p).await?);
    }
    // Each path is stored beside the log (`exports/<a record's number>.csv`: no rule reads a
    // number of any length there); `validate` judged it by the identifier rules, which read
    // paths more closely than the guard reads prose, so it is stored as judged. The leaf, and
    // the classification's reasons, name it by its reference.
    let mut recorded = Vec::with_capacity(req.paths.len());
    for p in &req.paths {
        recorded.push(if crate::documents::is_reference(p) {
            p.clone()
        } else {
            texts.put_judged(p)?
        });
    }
    let classification = rules.classify(&ChangeFacts {
        kind: &req.kind,
        attributes: &req.attributes,
        integrations: &req.integrations,
        paths: &paths,
        paths_as_recorded: &recorded,
    });
    let mut payload = serde_json::to_value(req).map_err(AppError::internal)?;
    // The title and description live beside the log; the leaf holds their references.
    payload["title"] = json!(texts.carry(&req.title)?);
    payload["description"] = json!(texts.carry(&req.description)?);
    // So do the ticket's and the incident's URLs: what a person pastes there (a query string,
    // a record's number) is purgeable, and the gate sees that a ticket is given, not which.
    for (field, url) in [("ticket_url", &req.ticket_url), ("incident_url", &req.incident_url)] {
        if let Some(u) = url {
            payload[field] = json!(texts.carry(u)?);
        }
    }
    // So does the commit range: a ref's name is a person's choice (judged by `validate` as an
    // identifier, more closely than the guard reads prose).
    if let Some(r) = &req.commit_range {
        let stored = if crate::documents::is_reference(r) {
            r.clone()
        } else {
            texts.put_judged(r)?
        };
        payload["commit_range"] = json!(stored);
    }
    payload["paths"] = json!(recorded);
    // A configuration version named otherwise than by its bundle's digest lives beside the log
    // too: a name is a person's choice (`jane.roe.555.123.4567` was kept in the leaf, a
    // version's dotted shape passing a phone number: a helper's attack on the eighth session's
    // head). A digest is structure and stays.
    let mut config_versions = Vec::with_capacity(req.config_versions.len());
    for v in &req.config_versions {
        config_versions.push(
            match ward_ledger::documents::is_digest(v) || crate::documents::is_reference(v) {
                true => v.clone(),
                false => texts.put_judged(v)?,
            },
        );
    }
    payload["config_versions"] = json!(config_versions);
    payload["id"] = json!(id);
    payload["opener"] = json!(opener);
    payload["classification"] = serde_json::to_value(&classification).map_err(AppError::internal)?;
    payload["tier"] = json!(classification.tier);
    payload["commits_source"] = json!(commits.label());
    payload["commits_asserted_by"] = json!(commits.by);
    Ok((classification, payload))
}

/// Where a change's commit list came from.
#[derive(Clone, Copy, Debug)]
pub struct CommitSource<'a> {
    /// The `ward` process that records the change read the commits from git itself (local mode
    /// with a range); otherwise the caller asserted them.
    pub read_from_git: bool,
    /// Who supplied (or read) them.
    pub by: &'a str,
}

impl CommitSource<'_> {
    fn label(&self) -> &'static str {
        if self.read_from_git { "git" } else { "asserted" }
    }
}

/// Separation of duties for deciding on `change`: refused when `by` opened it, authored,
/// edited or reclassified it, or is automation (see [`ward_core::approval::check_signer`]).
pub fn check_decider(
    by: &Identity,
    change: &Change,
    rules: &ward_core::approval::ApprovalRules,
) -> Result<(), ward_core::approval::Refusal> {
    ward_core::approval::check_signer(by, &change.parties(), rules)
}

/// Refuses a caller's text holding a document reference (`doc:sha256:…`): only Ward writes
/// them, and one would point the log at any stored text (or at one never stored).
fn refuse_reference(field: &str, v: &str) -> Result<(), AppError> {
    // In any case and width (`DOC:SHA256:…` became a reference once an author's identity was
    // lower-cased: a helper's attack on `d734697`).
    let folded = crate::identifier::folded_text(v).to_ascii_lowercase();
    if folded.contains(ward_ledger::documents::REF_PREFIX) {
        return Err(AppError::new(
            Kind::Forbidden,
            "reserved_reference",
            format!("the {field} holds a document reference (doc:sha256:…), which only Ward writes"),
            format!("write the {field} itself"),
        ));
    }
    Ok(())
}

/// Whether `stored` (references, or inline texts of older changes) reads as `given`, item for
/// item: an update giving them again changes nothing.
async fn reads_as(ledger: &Ledger, stored: &[String], given: &[String]) -> Result<bool, AppError> {
    if stored.len() != given.len() {
        return Ok(false);
    }
    for (s, g) in stored.iter().zip(given) {
        if &crate::documents::read_text(ledger, s).await? != g {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Opens a change: validates it, checks its artifacts are registered, classifies it; each commit
/// author's address is stored beside the log with the identity it stands for under
/// `approval_rules` in the leaf.
pub async fn open(
    ledger: &Ledger,
    by: &Identity,
    rules: &RiskRules,
    approval_rules: &ward_core::approval::ApprovalRules,
    req: &ChangeRequest,
    read_from_git: bool,
) -> Result<Change, AppError> {
    let id = new_id()?;
    let source = CommitSource {
        read_from_git,
        by: &by.id,
    };
    // A new change brings its own text: a reference (doc:sha256:…) would point the log at a
    // document Ward never stored (updates carry the stored references forward).
    let ticket = req.ticket_url.as_deref().unwrap_or_default();
    let incident = req.incident_url.as_deref().unwrap_or_default();
    let range = req.commit_range.as_deref().unwrap_or_default();
    let paths = req.paths.iter().map(|p| ("path", p.as_str()));
    for (field, v) in [
        ("title", req.title.as_str()),
        ("description", req.description.as_str()),
        ("ticket", ticket),
        ("incident", incident),
        ("commit range", range),
    ]
    .into_iter()
    .chain(paths)
    .chain(req.commits.iter().map(|c| ("commit author", c.author.as_str())))
    .chain(req.commits.iter().map(|c| ("commit", c.sha.as_str())))
    {
        refuse_reference(field, v)?;
    }
    let mut texts = crate::documents::Texts::new();
    let (classification, mut payload) = checked_payload(ledger, rules, req, &id, &by.id, &source, &mut texts).await?;
    let key = crate::redaction::installation_key(ledger.store().as_ref()).await?;
    let (authors, mut addresses) = record_authors(&mut payload, &req.commits, &[], approval_rules, &key, &mut texts)?;
    addresses.extend(record_commit_ids(&mut payload, &req.commits, &mut texts)?);
    let receipt = crate::documents::append(
        ledger,
        NewEvent {
            actor: by.actor(),
            kind: "change.opened".into(),
            subject: format!("change:{id}"),
            payload,
        },
        texts,
    )
    .await?;
    Ok(Change {
        id,
        request: req.clone(),
        opener: by.id.clone(),
        tier: classification.tier,
        classification,
        tier_override: None,
        pending_override: None,
        editors: vec![],
        past_authors: vec![],
        authors,
        addresses,
        author_key: Some(key),
        classifiers: vec![],
        commits_source: source.label().into(),
        commits_asserted_by: by.id.clone(),
        seq: receipt.seq,
        time: receipt.time,
    })
}

/// New content for an open change (fields left out stay as they were).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChangeUpdate {
    /// The artifacts it now ships.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifacts: Option<Vec<String>>,
    /// A new git range, with its commits and paths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_range: Option<String>,
    /// Commits of the new range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commits: Option<Vec<Commit>>,
    /// Paths touched now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// The change's ticket (an http(s) URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_url: Option<String>,
    /// The environments it now targets (empty: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<Vec<String>>,
}

/// Updates a change's content (new commits, paths, artifacts, ticket or target environments):
/// it is classified again, a tier override lapses, and every signature over the old content
/// becomes stale (what was approved includes where it goes and which ticket it answers).
///
/// An update is always classified under the rules in force now, even when it changes no
/// content: when the `[risk]` rules changed since the change was classified (its
/// `rules_digest` differs, or the tier would), `change.updated` is recorded with the new
/// classification and `content_changed: false`. Nothing is recorded when neither the content
/// nor the classification would change.
pub async fn update(
    ledger: &Ledger,
    by: &Identity,
    rules: &RiskRules,
    approval_rules: &ward_core::approval::ApprovalRules,
    id: &str,
    upd: &ChangeUpdate,
    read_from_git: bool,
) -> Result<Change, AppError> {
    let Some(old) = get(ledger, id).await? else {
        return Err(AppError::not_found(
            format!("no change {}", crate::identifier::shown(id)),
            "list the changes",
        ));
    };
    let mut req = old.request.clone();
    if let Some(a) = &upd.artifacts {
        req.artifacts = a.clone();
    }
    if let Some(r) = &upd.commit_range {
        // The stored range is a reference: the same range given again is no new content.
        refuse_reference("commit range", r)?;
        let stored = old.request.commit_range.as_slice();
        if !reads_as(ledger, stored, std::slice::from_ref(r)).await? {
            req.commit_range = Some(r.clone());
        }
    }
    if let Some(c) = &upd.commits {
        // Stored authors are references: the same commits given again are no new content, and
        // a reference given as an author is refused (it would point the log at any stored text).
        for x in c {
            refuse_reference("commit author", &x.author)?;
            refuse_reference("commit", &x.sha)?;
        }
        if !commits_read_as(&old, c) {
            req.commits = c.clone();
        }
    }
    if let Some(p) = &upd.paths {
        // Stored paths are references: the same paths given again are no new content, and a
        // reference given as a path is refused (it would point the log at any stored text).
        for x in p {
            refuse_reference("path", x)?;
        }
        if !reads_as(ledger, &old.request.paths, p).await? {
            req.paths = p.clone();
        }
    }
    if let Some(t) = &upd.ticket_url {
        // The stored ticket is a reference: the same URL given again is no new content (its
        // signatures stay fresh), and a reference given as the ticket is refused (it would
        // point the log at any stored text).
        refuse_reference("ticket", t)?;
        let stored = old.request.ticket_url.as_slice();
        if !reads_as(ledger, stored, std::slice::from_ref(t)).await? {
            req.ticket_url = Some(t.clone());
        }
    }
    if let Some(e) = &upd.environments {
        req.environments = e.clone();
    }
    let content_changed = req != old.request;
    // Commits supplied again keep their provenance unless new ones were given.
    let source = match &upd.commits {
        Some(_) => CommitSource {
            read_from_git,
            by: &by.id,
        },
        None => CommitSource {
            read_from_git: old.commits_source == "git",
            by: &old.commits_asserted_by,
        },
    };
    let mut texts = crate::documents::Texts::new();
    let (mut classification, mut payload) =
        checked_payload(ledger, rules, &req, id, &old.opener, &source, &mut texts).await?;
    // An update never lowers a change's tier: its editor could otherwise downgrade it alone by
    // dropping paths. Lowering is an override by independent approvers (`reclassify`).
    if classification.tier < old.classification.tier {
        classification.matched.push(format!(
            "kept {}: an update never lowers the tier (independent approvers override it by reclassifying the change)",
            old.classification.tier
        ));
        classification.tier = old.classification.tier;
        payload["classification"] = serde_json::to_value(&classification).map_err(AppError::internal)?;
        payload["tier"] = json!(classification.tier);
    }
    // Nor removes a tag: the tags ask for the checklist (a privacy review for `phi`) and feed
    // the gate's rules, so an editor dropping a PHI path would otherwise drop the privacy
    // officer's sign-off alone. Content without them is a new change.
    let dropped: Vec<String> = old
        .classification
        .tags
        .iter()
        .filter(|t| !classification.tags.contains(t))
        .cloned()
        .collect();
    if !dropped.is_empty() {
        classification.matched.push(format!(
            "kept {}: an update never removes a tag (open a new change for content without it)",
            dropped.join(", ")
        ));
        classification.tags.extend(dropped);
        classification.tags.sort();
        classification.tags.dedup();
        payload["classification"] = serde_json::to_value(&classification).map_err(AppError::internal)?;
    }
    if !content_changed
        && classification.tier == old.classification.tier
        && classification.tags == old.classification.tags
        && classification.rules_digest == old.classification.rules_digest
    {
        return Ok(old);
    }
    // Authorship accumulates: the editor (when the content changed, not for a reclassification
    // under new rules), and every author ever listed, for the change's life.
    let parties = old.parties();
    let mut editors = old.editors.clone();
    if content_changed && by.id != old.opener && !editors.contains(&by.id) {
        editors.push(by.id.clone());
    }
    let key = crate::redaction::installation_key(ledger.store().as_ref()).await?;
    let (authors, mut addresses) = record_authors(
        &mut payload,
        &req.commits,
        &old.authors_read(),
        approval_rules,
        &key,
        &mut texts,
    )?;
    addresses.extend(record_commit_ids(&mut payload, &req.commits, &mut texts)?);
    addresses.extend(old.addresses.iter().map(|(r, t)| (r.clone(), t.clone())));
    payload["updated_by"] = json!(by.id);
    payload["content_changed"] = json!(content_changed);
    payload["editors"] = json!(editors);
    payload["classifiers"] = json!(parties.classifiers);
    payload["seq"] = json!(old.seq);
    payload["time"] = json!(old.time);
    crate::documents::append(
        ledger,
        NewEvent {
            actor: by.actor(),
            kind: "change.updated".into(),
            subject: format!("change:{id}"),
            payload,
        },
        texts,
    )
    .await?;
    Ok(Change {
        id: id.into(),
        request: req,
        opener: old.opener,
        tier: classification.tier,
        classification,
        tier_override: None,
        pending_override: None,
        editors,
        past_authors: vec![],
        authors,
        addresses,
        author_key: Some(key),
        classifiers: parties.classifiers,
        commits_source: source.label().into(),
        commits_asserted_by: source.by.to_string(),
        seq: old.seq,
        time: old.time,
    })
}

/// A change from its stored document, its override and its pending proposal.
fn assemble(doc: Value, over: Option<Value>, proposal: Option<Value>) -> Result<Change, AppError> {
    let mut c: Change = serde_json::from_value(doc).map_err(AppError::internal)?;
    if let Some(o) = over {
        let o: TierOverride = serde_json::from_value(o).map_err(AppError::internal)?;
        c.tier = o.tier;
        c.classifiers.extend(o.classifiers.iter().cloned());
        c.tier_override = Some(o);
    }
    if let Some(p) = proposal {
        let p: PendingOverride = serde_json::from_value(p).map_err(AppError::internal)?;
        c.classifiers.extend(p.classifiers.iter().cloned());
        c.pending_override = Some(p);
    }
    c.classifiers.sort();
    c.classifiers.dedup();
    Ok(c)
}

/// A change by id, with its override applied.
pub async fn get(ledger: &Ledger, id: &str) -> Result<Option<Change>, AppError> {
    let Some(doc) = ledger.store().projection(CHANGES, id).await? else {
        return Ok(None);
    };
    let over = ledger.store().projection(OVERRIDES, id).await?;
    let proposal = ledger.store().projection(PROPOSALS, id).await?;
    let mut change = assemble(doc, over, proposal)?;
    read_addresses(ledger, &mut change).await?;
    change.author_key = key_for(ledger, std::slice::from_ref(&change)).await?;
    Ok(Some(change))
}

/// Whether change `id` exists (its record alone: no author's address is read).
pub async fn exists(ledger: &Ledger, id: &str) -> Result<bool, AppError> {
    Ok(ledger.store().projection(CHANGES, id).await?.is_some())
}

/// Every change, newest first, with its authors' addresses read (for the separation of duties).
pub async fn list(ledger: &Ledger) -> Result<Vec<Change>, AppError> {
    let mut out = list_as_recorded(ledger).await?;
    // The installation key is read once for the list, not once a change.
    let key = key_for(ledger, &out).await?;
    for c in &mut out {
        read_addresses(ledger, c).await?;
        if c.authors.iter().any(|a| !a.keys.is_empty()) {
            c.author_key.clone_from(&key);
        }
    }
    Ok(out)
}

/// The installation key, where an author of any of `changes` is kept as fingerprints (a read
/// never creates it).
async fn key_for(
    ledger: &Ledger,
    changes: &[Change],
) -> Result<Option<ward_evidence::redact::FingerprintKey>, AppError> {
    let keyed = changes.iter().any(|c| c.authors.iter().any(|a| !a.keys.is_empty()));
    match keyed {
        true => crate::redaction::existing_key(ledger.store().as_ref()).await,
        false => Ok(None),
    }
}

/// Every change, newest first, as recorded: its authors' addresses not read (one document read
/// per author spared: for readers that never judge who may sign, such as delivery metrics;
/// `parties` then knows the authors by their recorded identities only).
pub async fn list_as_recorded(ledger: &Ledger) -> Result<Vec<Change>, AppError> {
    let store = ledger.store();
    let mut overrides: std::collections::HashMap<String, Value> =
        store.projection_list(OVERRIDES).await?.into_iter().collect();
    let mut proposals: std::collections::HashMap<String, Value> =
        store.projection_list(PROPOSALS).await?.into_iter().collect();
    let mut out: Vec<Change> = store
        .projection_list(CHANGES)
        .await?
        .into_iter()
        .map(|(id, doc)| assemble(doc, overrides.remove(&id), proposals.remove(&id)))
        .collect::<Result<_, AppError>>()?;
    out.sort_by_key(|c| std::cmp::Reverse(c.seq));
    Ok(out)
}

/// Overrides a change's tier (`ward change classify`).
///
/// Only a person with the approver role (the route checks the role) who is not the change's
/// opener, a commit author or an editor may do it; the decision is recorded and its maker can no
/// longer count toward the change's approvals. A tier driven by a protected tag (`phi`,
/// `clinical_workflow` by default: `[approvals.overrides] protected_tags`) cannot be lowered
/// below the classification's tier. Lowering a change out of `high` needs
/// `high_downgrade_approvers` distinct approvers (default 2): the first records a
/// `change.reclassify_proposed`, the others concur with the same tier, and the last one's
/// `change.reclassified` puts it in force.
pub async fn reclassify(
    ledger: &Ledger,
    by: &Identity,
    id: &str,
    req: &ReclassifyRequest,
    approval_rules: &ward_core::approval::ApprovalRules,
) -> Result<Change, AppError> {
    let Some(mut change) = get(ledger, id).await? else {
        return Err(AppError::not_found(
            format!("no change {}", crate::identifier::shown(id)),
            "list the changes",
        ));
    };
    if req.reason.trim().len() < 10 {
        return Err(AppError::invalid(
            "an override needs a reason of at least 10 characters",
            "give a reason explaining why the rules' tier is wrong",
        ));
    }
    text("reason", &req.reason, 2000)?;
    crate::freetext::check("reason", &req.reason)?;
    // Separation of duties; an earlier classifier may override again (they are already excluded
    // from the change's approvals).
    let mut parties = change.parties();
    parties.classifiers.clear();
    let judged = crate::reauth::with_directory_roles(ledger, by).await?;
    if let Err(r) = ward_core::approval::check_signer(&judged, &parties, approval_rules) {
        return Err(crate::reauth::record_refusal(
            ledger,
            by,
            "classification.refused",
            format!("change:{id}"),
            json!({ "change": id, "tier": req.tier }),
            crate::reauth::Refused {
                kind: Kind::Forbidden,
                code: r.code,
                reason: format!("{}; they cannot override its tier", r.reason),
                hint: "another approver, who neither opened, authored nor edited the change, overrides it".into(),
            },
        )
        .await);
    }
    if req.tier == change.tier {
        return Err(AppError::invalid(
            format!("{id} is already {}", change.tier),
            "name the tier it should have",
        ));
    }
    let overrides = &approval_rules.overrides;
    if req.tier < change.classification.tier {
        let protected: Vec<&String> = change
            .classification
            .tags
            .iter()
            .filter(|t| overrides.protected_tags.contains(t))
            .collect();
        if !protected.is_empty() {
            return Err(AppError::new(
                Kind::Forbidden,
                "protected_tier",
                format!(
                    "{id} is {} because it carries {}; that classification cannot be lowered",
                    change.classification.tier,
                    protected.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", ")
                ),
                "open a new change without that content (an update never removes a tag), or remove the tag from [approvals.overrides] protected_tags",
            ));
        }
    }
    let needed = if change.tier == Tier::High && req.tier < Tier::High {
        overrides.high_downgrade_approvers.max(1)
    } else {
        1
    };
    let mut approvers: Vec<String> = match &change.pending_override {
        Some(p) if p.tier == req.tier => p.approvers.clone(),
        _ => vec![],
    };
    // One person however their identity is spelled (`user:bob` and `user:bob.`: one key).
    if approvers.iter().any(|a| ward_core::approval::same_person(a, &by.id)) {
        return Err(AppError::new(
            Kind::Forbidden,
            "concurrence_needed",
            format!(
                "{} already proposed lowering {id} to {}; {} more approver(s) must concur",
                by.id,
                req.tier,
                needed as usize - approvers.len()
            ),
            format!(
                "another approver proposes the same: {id} to tier {}, with a reason",
                req.tier
            ),
        ));
    }
    approvers.push(by.id.clone());
    let mut classifiers = change.parties().classifiers;
    classifiers.push(by.id.clone());
    classifiers.sort();
    classifiers.dedup();
    let mut texts = crate::documents::Texts::new();
    let reason = texts.put(&req.reason)?;
    if (approvers.len() as u32) < needed {
        let receipt = crate::documents::append(
            ledger,
            NewEvent {
                actor: by.actor(),
                kind: "change.reclassify_proposed".into(),
                subject: format!("change:{id}"),
                payload: json!({ "id": id, "tier": req.tier, "previous": change.tier, "reason": reason,
                    "by": by.id, "approvers": approvers, "needed": needed, "classifiers": classifiers }),
            },
            texts,
        )
        .await?;
        change.pending_override = Some(PendingOverride {
            tier: req.tier,
            reason: req.reason.clone(),
            approvers,
            needed,
            classifiers: classifiers.clone(),
            seq: receipt.seq,
        });
        change.classifiers = classifiers;
        return Ok(change);
    }
    let proposer = approvers[0].clone();
    let concurred_by: Vec<String> = approvers[1..].to_vec();
    let receipt = crate::documents::append(
        ledger,
        NewEvent {
            actor: by.actor(),
            kind: "change.reclassified".into(),
            subject: format!("change:{id}"),
            payload: json!({ "id": id, "tier": req.tier, "previous": change.tier, "reason": reason,
                "by": proposer, "concurred_by": concurred_by, "classifiers": classifiers }),
        },
        texts,
    )
    .await?;
    let o = TierOverride {
        tier: req.tier,
        reason: req.reason.clone(),
        by: proposer,
        concurred_by,
        classifiers: classifiers.clone(),
        seq: receipt.seq,
        time: receipt.time,
    };
    change.tier = o.tier;
    change.tier_override = Some(o);
    change.pending_override = None;
    change.classifiers = classifiers;
    Ok(change)
}

#[cfg(test)]
mod tests {
    use super::{ChangeRequest, validate};

    fn with(f: impl FnOnce(&mut ChangeRequest)) -> ChangeRequest {
        let mut r = ChangeRequest {
            title: "Index the clinic table".into(),
            kind: "normal".into(),
            ..ChangeRequest::default()
        };
        f(&mut r);
        r
    }

    /// A commit's time to the second, as git writes it: digits after the second are the
    /// caller's (nine hold an SSN), refused rather than changed, so an update resending git's
    /// times compares equal (a reviewer's find on rounding them).
    #[test]
    fn a_commit_time_with_digits_after_the_second_is_refused() {
        let commit = |time: &str| super::Commit {
            sha: "4b825dc642cb6eb9a060e54bf8d69288fbee4904".into(),
            author: "dana@example.org".into(),
            time: Some(time.into()),
        };
        for time in ["2026-12-07T10:00:00.219451109Z", "2026-12-07T10:00:00,219451109+02:00"] {
            let e = validate(&with(|r| r.commits = vec![commit(time)])).expect_err(time);
            assert!(!e.message.contains("2194"), "{e:?}");
        }
        for time in ["2026-12-07T10:00:00+02:00", "2026-12-07T08:00:00Z"] {
            validate(&with(|r| r.commits = vec![commit(time)])).expect(time);
        }
    }

    /// A commit range's refs and a configuration version stay in the leaf: a number of 7 digits
    /// or more is refused there, as in a branch (a helper's attack on `1d87e6e`), while commit
    /// ids — all digits too, now and then — and dotted versions are kept.
    #[test]
    fn a_persons_number_as_a_ref_in_a_range_or_a_configuration_version_is_refused() {
        for range in [
            "fix/219451100..HEAD",
            "main..hotfix-219451100",
            "v1.2.3...wip/5551234567",
        ] {
            let e = validate(&with(|r| r.commit_range = Some(range.into()))).expect_err(range);
            assert!(
                e.message.contains("commit range holds a number of 7 digits"),
                "{range}: {e:?}"
            );
            assert!(
                !e.message.contains("219451100") && !e.message.contains("5551234567"),
                "{e:?}"
            );
        }
        for version in ["219451100", "1.0+5551234567"] {
            let e = validate(&with(|r| r.config_versions = vec![version.into()])).expect_err(version);
            assert!(
                e.message.contains("configuration version holds a number"),
                "{version}: {e:?}"
            );
        }
        for range in [
            "4b825dc6..HEAD",
            "1234567..main",
            // Short ids with a revision suffix, as copied from `git log --oneline` (a helper's
            // false refusal on the tenth session's head).
            "2331275~1..2331275",
            "d191276~1..d191276",
            "d191276^2..HEAD~3",
            "v1.2.3...v1.3.0",
            "origin/main..feature/x-1",
        ] {
            validate(&with(|r| r.commit_range = Some(range.into()))).expect(range);
        }
        for version in ["v42", "2026.12.06", "1.4.0-rc.1"] {
            validate(&with(|r| r.config_versions = vec![version.into()])).expect(version);
        }
    }
}
