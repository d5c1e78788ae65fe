//! Electronic signatures on changes (21 CFR Part 11 §11.50, §11.70, §11.200) and separation of
//! duties, as pure rules.
//!
//! A signature binds a [`Manifest`] — the digests of the change's content, its artifacts, every
//! attestation on them, and the policy in force — so what was approved is exactly what was seen.
//! When any bound item changes, the manifest digest changes and the signature is *stale*: shown,
//! never deleted, no longer counted.
//!
//! [`check_signer`] decides, before anything else, whether an identity may sign at all.

use crate::authz::{Identity, Role};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use ward_ledger::ActorKind;

/// The `[approvals]` section of `ward.toml`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRules {
    /// Meanings a signature may carry (§11.50(a)(3)).
    #[serde(default = "default_meanings")]
    pub meanings: Vec<String>,
    /// Whether identity administrators (role `admin`) may sign approvals.
    #[serde(default)]
    pub admins_may_approve: bool,
    /// Git author e-mail → Ward identity, for authors whose e-mail's local part is not their
    /// user name (e.g. `"dana@users.noreply.github.com" = "user:dana.dev"`).
    #[serde(default)]
    pub git_authors: BTreeMap<String, String>,
    /// `[approvals.overrides]`: who may lower a change's tier.
    #[serde(default)]
    pub overrides: OverrideRules,
    /// `[approvals.meaning_roles]`: meanings only certain roles may sign, over the built-in
    /// `privacy-review = ["privacy-officer"]` ([`ApprovalRules::roles_for`]). A signer with
    /// neither `approver` nor `release-manager` (a privacy officer) signs only the meanings listed
    /// for a role of theirs. See [`check_meaning`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub meaning_roles: BTreeMap<String, Vec<Role>>,
}

/// Meanings that only some roles sign unless `[approvals.meaning_roles]` names them: the
/// privacy review is a privacy officer's.
const BUILTIN_MEANING_ROLES: [(&str, &[Role]); 1] = [("privacy-review", &[Role::PrivacyOfficer])];

fn default_meanings() -> Vec<String> {
    [
        "authored",
        "reviewed",
        "approved",
        "qa-approved",
        "release-authority",
        "privacy-review",
        "uat-signoff",
        "rollback-validated",
        "retrospective-review",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Default for ApprovalRules {
    fn default() -> Self {
        ApprovalRules {
            meanings: default_meanings(),
            admins_may_approve: false,
            git_authors: BTreeMap::new(),
            overrides: OverrideRules::default(),
            meaning_roles: BTreeMap::new(),
        }
    }
}

/// Why an identity may not sign.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// Machine-readable reason.
    pub code: &'static str,
    /// For people.
    pub reason: String,
}

impl ApprovalRules {
    /// Refuses settings that would weaken a control by accident: a downgrade out of `high`
    /// needs at least two people (`0` or `1` would let one approver lower the tier and then sign
    /// alone), and a signature needs at least one meaning.
    pub fn validate(&self) -> Result<(), String> {
        if self.overrides.high_downgrade_approvers < 2 {
            return Err(format!(
                "[approvals.overrides] high_downgrade_approvers = {}: a downgrade out of high needs at least 2 distinct approvers (the default)",
                self.overrides.high_downgrade_approvers
            ));
        }
        // A mapping names an identity as Ward writes them — `user:` and a local user's name, or
        // another issuer's `prefix:` and what follows, in ASCII without white space — and maps
        // an address (a helper's attack on the ninth session's head: `User:danasmith`,
        // `user:danasmith+x`, `user: danasmith`, a full-width letter or no prefix mapped the
        // author to nobody, who then signed; the file was reported valid). Never repeated: an
        // address is a person's.
        for (n, (address, id)) in self.git_authors.iter().enumerate() {
            // The prefix up to the first `:`, else the first `/` (a provider's template may end
            // its prefix with either, in any case: `corp/{email}`, `Staff:{email}` — a helper
            // found their people could not be mapped).
            let (prefix, name) = id
                .split_once(':')
                .filter(|(p, _)| !p.contains('@'))
                .or_else(|| id.split_once('/'))
                .unwrap_or(("", ""));
            let prefix_ok = !prefix.is_empty()
                && prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-/.".contains(&b))
                // Ward's own prefixes are written in lower case only (`User:danasmith` mapped
                // the author to nobody).
                && !(["user", "token", "local", "anonymous", "session"]
                    .iter()
                    .any(|r| prefix.eq_ignore_ascii_case(r))
                    && prefix.bytes().any(|b| b.is_ascii_uppercase()));
            let name_ok = match prefix {
                "user" => {
                    name.bytes()
                        .next()
                        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
                }
                // Ward's own identities that are no person (a token, the local operator).
                "token" | "local" | "anonymous" | "session" => false,
                _ => !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic()),
            };
            let address_ok = address.trim().contains('@') && address.is_ascii();
            if !(prefix_ok && name_ok && address_ok) {
                return Err(format!(
                    "[approvals] git_authors: mapping #{} maps an ASCII e-mail address to an identity as Ward writes it: user:NAME with NAME a local user's name (a-z, 0-9, . _ -), or another issuer's prefix and id (staff:dana@example.org), without spaces",
                    n + 1
                ));
            }
        }
        if self.meanings.is_empty() || self.meanings.iter().any(|m| m.trim().is_empty()) {
            return Err(
                "[approvals] meanings: list at least one non-empty meaning, or remove the key for the defaults".into(),
            );
        }
        for (meaning, roles) in &self.meaning_roles {
            if !self.meanings.contains(meaning) {
                return Err(format!(
                    "[approvals.meaning_roles] {meaning}: not one of the meanings ({}); list it in [approvals] meanings or remove it",
                    self.meanings.join(", ")
                ));
            }
            if roles.is_empty() {
                return Err(format!(
                    "[approvals.meaning_roles] {meaning} = []: nobody could sign it; name at least one role, or remove the key to let approvers and release managers sign it"
                ));
            }
        }
        Ok(())
    }

    /// The roles that may sign `meaning` when only some may: `[approvals.meaning_roles]`, else
    /// the built-in (`privacy-review`: privacy officers); `None` for a meaning approvers and
    /// release managers sign.
    pub fn roles_for(&self, meaning: &str) -> Option<&[Role]> {
        match self.meaning_roles.get(meaning) {
            Some(roles) => Some(roles),
            None => BUILTIN_MEANING_ROLES
                .iter()
                .find(|(m, _)| *m == meaning)
                .map(|(_, roles)| *roles),
        }
    }

    /// The Ward identity a commit author e-mail stands for: the configured mapping, else
    /// `user:<local part>` (lower-cased), without a sub-address (`jane.doe+ci@…` is
    /// `user:jane.doe`; GitHub's no-reply `12345678+login@users.noreply.github.com` is
    /// `user:login`).
    pub fn author_identity(&self, email: &str) -> String {
        // The mapping written for this address, else one written for the same mailbox
        // ([`mailbox`]: `dana.smith+ci@…`, `danasmith@…` and `dana.smith@corp.com.` are the
        // mapped `Dana.Smith@corp.com`'s — a helper's attack signed with each).
        match self.mapped_identity(email) {
            Some(id) => id.to_string(),
            None => self.local_identity(email.trim()),
        }
    }

    /// The identity a `[approvals] git_authors` mapping gives the commit author `email` (the
    /// mapping written for the address, else one written for the same [`mailbox`]); `None` when
    /// its identity is its local part's.
    pub fn mapped_identity(&self, email: &str) -> Option<&str> {
        let email = email.trim();
        let exact = self
            .git_authors
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(email));
        let same_mailbox = || {
            let m = mailbox(email);
            self.git_authors.iter().find(|(k, _)| mailbox(k) == m)
        };
        exact.or_else(same_mailbox).map(|(_, id)| id.as_str())
    }

    /// Every identity the commit author `email` may stand for, which the separation of duties
    /// holds apart from signing: each mapping written for its mailbox ([`mailbox`]) and the
    /// identity of its local part — more parties, never fewer (a mapped `danasmith@…` is Dana's,
    /// and still keeps `user:danasmith` from signing).
    pub fn author_identities(&self, email: &str) -> Vec<String> {
        let m = mailbox(email);
        let mut out: Vec<String> = self
            .git_authors
            .iter()
            .filter(|(k, _)| mailbox(k) == m || k.trim().eq_ignore_ascii_case(email.trim()))
            .map(|(_, id)| id.clone())
            .collect();
        out.push(self.local_identity(email.trim()));
        out.sort();
        out.dedup();
        out
    }

    /// `user:<local part>`, lower-cased, without a sub-address (GitHub's no-reply address as its
    /// login).
    fn local_identity(&self, email: &str) -> String {
        let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
        let mut parts = local.split('+').filter(|p| !p.is_empty());
        let name = if domain.eq_ignore_ascii_case("users.noreply.github.com") {
            parts.next_back()
        } else {
            parts.next()
        };
        format!("user:{}", name.unwrap_or(local).to_ascii_lowercase())
    }
}

/// An address as the separation of duties compares mailboxes: lower case, the domain without a
/// trailing dot, the local part without its sub-address (`+…`) and folded as names are
/// ([`same_person`]: no dots, apostrophes, `_`, `-`) — GitHub's no-reply
/// address (`12345678+login@users.noreply.github.com`) as its login. Two addresses of one
/// mailbox are one person's; two people whose addresses differ only in dots count as one, which
/// only ever adds parties.
pub fn mailbox(email: &str) -> String {
    let email = email.trim().to_ascii_lowercase();
    let (local, domain) = email.rsplit_once('@').unwrap_or((email.as_str(), ""));
    let domain = domain.trim_end_matches('.');
    let mut parts = local.split('+').filter(|p| !p.is_empty());
    let name = match domain == "users.noreply.github.com" {
        true => parts.next_back(),
        false => parts.next(),
    }
    .unwrap_or(local);
    format!("{}@{domain}", folded_name(name))
}

/// Whether two identities are one person's: equal, or two local users whose names differ only
/// in dots and case (`user:j.ane` and `user:jane`: a mailbox that ignores dots is one mailbox; a
/// helper's attack on the head signed with `j.ane@…` as the author). Only ever counts more
/// people as parties, never fewer.
pub fn same_person(a: &str, b: &str) -> bool {
    // Without case (`staff:Dana` and `staff:dana`: a helper's attack on the tenth session's
    // head; only ever more parties).
    if a.eq_ignore_ascii_case(b) {
        return true;
    }
    let name = |id: &str| id.strip_prefix("user:").map(folded_name);
    if matches!((name(a), name(b)), (Some(x), Some(y)) if !x.is_empty() && x == y) {
        return true;
    }
    // Two identities of one issuer naming one mailbox (`staff:Gina.Smith@Hospital.org` is
    // `staff:gina.smith@hospital.org`'s, a mapping's target and a signer alike: a helper's
    // attack on the ninth session's head signed under each spelling).
    match (a.split_once(':'), b.split_once(':')) {
        (Some((pa, ra)), Some((pb, rb))) if pa.eq_ignore_ascii_case(pb) => {
            let addresses =
                |r: &'_ str| -> Vec<String> { r.split('/').filter(|s| s.contains('@')).map(mailbox).collect() };
            let (x, y) = (addresses(ra), addresses(rb));
            x.iter().any(|m| y.contains(m))
        }
        _ => false,
    }
}

/// Who identity `id` is, as one key: what the gate counts distinct approvers by. Two identities
/// [`same_person`] reads as one person's have one key — a local user's name folded (`user:bob.`
/// and `user:b_ob` are `user:bob`), an identity without case, an identity naming an address by
/// its prefix and mailbox (`staff:Gina.Smith@Hospital.org` is `staff:ginasmith@hospital.org`).
pub fn person_key(id: &str) -> String {
    if let Some(name) = id.strip_prefix("user:") {
        let folded = folded_name(name);
        if !folded.is_empty() {
            return format!("user:{folded}");
        }
    }
    if let Some((prefix, rest)) = id.split_once(':')
        && let Some(address) = rest.split('/').find(|s| s.contains('@'))
    {
        return format!("{}:{}", prefix.to_ascii_lowercase(), mailbox(address));
    }
    id.to_ascii_lowercase()
}

/// The text of identity `id` as authorship compares it, what a keyed fingerprint of an author's
/// identity is made of ([`AuthorKeys`]): a local user's name folded ([`same_person`]:
/// `user:J.Ane` and `user:jane` are one text), any other identity in lower case.
pub fn compared_identity(id: &str) -> String {
    match id.strip_prefix("user:") {
        Some(name) => format!("user:{}", folded_name(name)),
        None => id.to_ascii_lowercase(),
    }
}

/// The text a mailbox's keyed fingerprint is made of (apart from every identity's).
fn mailbox_text(address: &str) -> String {
    format!("mailbox\0{}", mailbox(address))
}

/// Each address inside identity `id` after its prefix (`staff:{email}`, `es:{email}/{sub}`).
fn addresses_in(id: &str) -> impl Iterator<Item = &str> {
    id.split([':', '/']).skip(1).filter(|s| s.contains('@'))
}

/// The texts whose keyed fingerprints stand for the commit author `email` in the leaf
/// ([`AuthorKeys`]): every identity it may stand for ([`ApprovalRules::author_identities`]:
/// each mapping written for its mailbox and its local part's), its mailbox, and the mailbox of
/// every address a mapped identity names — everything [`Parties::includes`] reads the address
/// for, so a purge of the address frees nobody (a helper's attack on the tenth session's head:
/// after a purge, `staff:jane.doe@corp.com` signed Jane's change, and a mapped author's local
/// user signed).
pub fn author_key_texts(email: &str, rules: &ApprovalRules) -> Vec<String> {
    let identities = rules.author_identities(email);
    let mut out: Vec<String> = identities.iter().map(|i| compared_identity(i)).collect();
    out.push(mailbox_text(email));
    out.extend(identities.iter().flat_map(|i| addresses_in(i)).map(mailbox_text));
    out.sort();
    out.dedup();
    out
}

/// The texts whose keyed fingerprints would name the signer `id` as an author: its identity
/// as compared, and the mailbox of every address inside it.
pub fn signer_key_texts(id: &str) -> Vec<String> {
    let mut out = vec![compared_identity(id)];
    out.extend(addresses_in(id).map(mailbox_text));
    out
}

/// What the fingerprint of [`KEY_CHECK`] is recorded beside an author's keys for: keys made
/// under another installation key (one lost, and a new one made) are told from keys that name
/// nobody (a helper's attack on the tenth session's head: once the key was lost and remade, an
/// author whose address was purged signed).
pub const KEY_CHECK: &str = "\0ward.author-keys.check";

/// The installation's keyed fingerprint of a text ([`author_key_texts`], [`KEY_CHECK`]).
pub type KeyOf = std::sync::Arc<dyn Fn(&str) -> String + Send + Sync>;

/// The commit authors a change's leaves keep only as keyed fingerprints (an unmapped author's
/// identity is its address's local part, which may spell anything: kept in a leaf it could not
/// be purged; a mailbox is an address), and the installation's fingerprint function that tells
/// whether a signer is one of them. Without the function, or when a key was recorded under
/// another installation key, nobody is known to be independent of the change: fail closed.
#[derive(Clone, Default)]
pub struct AuthorKeys {
    /// The fingerprints recorded ([`author_key_texts`] of every author).
    pub keys: Vec<String>,
    /// The fingerprint of [`KEY_CHECK`] recorded with each author's keys (one per key used).
    pub checks: Vec<String>,
    /// The installation's fingerprint function; `None` when its key cannot be read.
    pub key_of: Option<KeyOf>,
}

impl AuthorKeys {
    /// Whether an author kept as fingerprints cannot be compared: no key, or keys made under
    /// another key than the installation's.
    pub fn undecidable(&self) -> bool {
        if self.keys.is_empty() {
            return false;
        }
        match &self.key_of {
            None => true,
            Some(f) => {
                let check = f(KEY_CHECK);
                self.checks.is_empty() || self.checks.iter().any(|c| *c != check)
            }
        }
    }

    /// Whether `id` is one of the authors kept as fingerprints (or, when that cannot be
    /// decided, may be): by its own identity and addresses, or by a `rules` mapping to it of an
    /// address whose mailbox is an author's (a mapping written after the change was recorded
    /// still counts once the address is purged: a helper's attack on the tenth session's head).
    pub fn holds(&self, id: &str, rules: &ApprovalRules) -> bool {
        if self.keys.is_empty() {
            return false;
        }
        if self.undecidable() {
            return true;
        }
        let Some(f) = &self.key_of else {
            return true;
        };
        let held = |t: &str| self.keys.contains(&f(t));
        if signer_key_texts(id).iter().any(|t| held(t)) {
            return true;
        }
        let signer_mailboxes: Vec<String> = addresses_in(id).map(mailbox).collect();
        rules.git_authors.iter().any(|(address, target)| {
            let names_signer =
                same_person(target, id) || addresses_in(target).any(|a| signer_mailboxes.contains(&mailbox(a)));
            names_signer && held(&mailbox_text(address))
        })
    }
}

impl std::fmt::Debug for AuthorKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorKeys")
            .field("keys", &self.keys)
            .field("checks", &self.checks)
            .field("key_of", &self.key_of.as_ref().map(|_| "…"))
            .finish()
    }
}

impl PartialEq for AuthorKeys {
    fn eq(&self, other: &AuthorKeys) -> bool {
        self.keys == other.keys && self.checks == other.checks && self.key_of.is_some() == other.key_of.is_some()
    }
}

impl Eq for AuthorKeys {}

/// A person's name as authorship compares it: lower case, without `.`, `'`, `_`, `-`, quotes
/// and a bracketed suffix (`o'brien` and `obrien`, `mary-ann` and `maryann`, `jane_doe` and
/// `janedoe[bot]` are one name: a helper's attack on the ninth session's head signed with each).
fn folded_name(name: &str) -> String {
    let name = match name.find('[') {
        Some(i) if i > 0 => &name[..i],
        _ => name,
    };
    name.chars()
        .filter(|c| !matches!(c, '.' | '\'' | '_' | '-' | '"'))
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The people a change's separation of duties is measured against.
///
/// Authorship accumulates for the life of the change: whoever opened it, every commit author ever
/// listed (even when a later update dropped the commit), every person who changed its content
/// (commits, paths, artifacts, attributes) and every person who overrode its tier. None of them
/// may sign for it, waive its rules or review its break-glass.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parties {
    /// The identity that opened the change.
    pub opener: String,
    /// Commit author e-mails (as git records them), current and past, where they can be read
    /// (each is stored beside the log; a purged one is no longer known).
    pub author_emails: Vec<String>,
    /// The Ward identities those authors stood for when they were recorded
    /// ([`ApprovalRules::author_identity`] then): still there when an address was purged.
    #[serde(default)]
    pub author_identities: Vec<String>,
    /// The identities unmapped authors stood for, as keyed fingerprints (recorded so since
    /// 2026-12-07's tenth session): still there when an address was purged.
    #[serde(skip)]
    pub author_keys: AuthorKeys,
    /// Identities that changed the change's content after it was opened.
    pub editors: Vec<String>,
    /// Identities that overrode (or concurred in overriding) its tier.
    pub classifiers: Vec<String>,
}

impl Parties {
    /// Whether `id` is a party of the change (opener, author, editor or classifier).
    pub fn includes(&self, id: &str, rules: &ApprovalRules) -> bool {
        same_person(&self.opener, id)
            || self.editors.iter().any(|e| same_person(e, id))
            || self.classifiers.iter().any(|c| same_person(c, id))
            || self.author_identities.iter().any(|a| same_person(a, id))
            || self.author_keys.holds(id, rules)
            || self.author_emails.iter().any(|a| is_author(a, id, rules))
    }
}

/// Whether the commit author `email` is the identity `id`: the mapped or derived local identity
/// (see [`ApprovalRules::author_identity`]), or an identity of another issuer that names the same
/// e-mail after its prefix (`staff:dana@example.org`, `oidc/dana@example.org`), compared without
/// case — identities from different issuers never merge, but one person's e-mail is theirs in
/// every namespace.
pub fn is_author(email: &str, id: &str, rules: &ApprovalRules) -> bool {
    if rules.author_identities(email).iter().any(|a| same_person(a, id)) {
        return true;
    }
    // Another issuer's identity naming the address anywhere in it (`staff:{email}`,
    // `es:{email}/{sub}`: a helper's attack on the ninth session's head signed through the
    // second): the same mailbox.
    let email = email.trim();
    let m = mailbox(email);
    email.contains('@') && id.split([':', '/']).skip(1).any(|n| n.contains('@') && mailbox(n) == m)
}

/// Separation of duties: whether `signer` may make a decision (sign, waive, review, override the
/// tier) on a change with these `parties`. Automation never decides; neither do the opener, any
/// commit author, any editor, anyone who overrode the tier, nor (unless configured) an identity
/// administrator.
pub fn check_signer(signer: &Identity, parties: &Parties, rules: &ApprovalRules) -> Result<(), Refusal> {
    if signer.kind != ActorKind::Human {
        return Err(Refusal {
            code: "automation_cannot_sign",
            reason: format!("{} is an automation identity; only people sign approvals", signer.id),
        });
    }
    // Compared as one person's (`staff:Dana@corp.com` opened what `staff:dana@corp.com` would
    // sign: a reviewer's note on the tenth session's head; only ever more parties).
    if same_person(&signer.id, &parties.opener) {
        return Err(Refusal {
            code: "opener_cannot_sign",
            reason: format!("{} opened this change", signer.id),
        });
    }
    // Fail closed: an author kept as a fingerprint cannot be told from the signer without the
    // installation's key.
    if parties.author_keys.undecidable() {
        return Err(Refusal {
            code: "authorship_unknown",
            reason: "this change's authors are kept as fingerprints under the installation's key, which cannot be read: nobody is known to be independent of it".into(),
        });
    }
    // The address is not repeated: a refusal is recorded in the log, and the address lives
    // beside it (purgeable).
    if parties.author_identities.iter().any(|a| same_person(a, &signer.id))
        || parties.author_keys.holds(&signer.id, rules)
        || parties.author_emails.iter().any(|a| is_author(a, &signer.id, rules))
    {
        return Err(Refusal {
            code: "author_cannot_sign",
            reason: format!("{} authored a commit of this change", signer.id),
        });
    }
    if parties.editors.iter().any(|e| same_person(e, &signer.id)) {
        return Err(Refusal {
            code: "editor_cannot_sign",
            reason: format!("{} changed this change's content and counts as its author", signer.id),
        });
    }
    if parties.classifiers.iter().any(|c| same_person(c, &signer.id)) {
        return Err(Refusal {
            code: "classifier_cannot_sign",
            reason: format!(
                "{} overrode this change's risk tier and cannot also count toward its approvals",
                signer.id
            ),
        });
    }
    if signer.roles.contains(&Role::Admin) && !rules.admins_may_approve {
        return Err(Refusal {
            code: "admin_cannot_sign",
            reason: format!(
                "{} administers identities and cannot also approve ([approvals] admins_may_approve)",
                signer.id
            ),
        });
    }
    Ok(())
}

/// The checklist items (signature meanings) `[controls.checklist]` (tag → items) asks of a change
/// with `tags`, in checklist order, each once.
pub fn checklist_for(checklist: &BTreeMap<String, Vec<String>>, tags: &[String]) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for (tag, wanted) in checklist {
        if tags.contains(tag) {
            for item in wanted {
                if !items.contains(item) {
                    items.push(item.clone());
                }
            }
        }
    }
    items
}

/// Whether `signer` may sign with `meaning` a change whose checklist asks for `asked` (the
/// items of `[controls.checklist]` its tags call for). A meaning listed in
/// `[approvals.meaning_roles]` needs one of its roles (by default a `privacy-review` is a
/// privacy officer's), and is given — approved or rejected — only where the checklist asks for
/// it: a privacy officer signs the privacy review of a PHI change, and cannot veto other
/// changes. Any other meaning needs `approver` or `release-manager`: a privacy officer, whose
/// role exists for the privacy review, cannot count toward a change's quorum. Judged with the
/// roles of the credential presented (never widened by the directory's), after
/// [`check_signer`].
pub fn check_meaning(signer: &Identity, meaning: &str, asked: &[String], rules: &ApprovalRules) -> Result<(), Refusal> {
    let names = |roles: &[Role]| roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    let restricted = rules.roles_for(meaning);
    let allowed: &[Role] = restricted.unwrap_or(&[Role::Approver, Role::ReleaseManager]);
    if !allowed.iter().any(|r| signer.roles.contains(r)) {
        return Err(Refusal {
            code: "meaning_needs_role",
            reason: format!(
                "a signature meaning {meaning} needs the role {}; {} has {}",
                allowed.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or "),
                signer.id,
                match signer.roles.is_empty() {
                    true => "no role".to_string(),
                    false => names(&signer.roles),
                }
            ),
        });
    }
    if restricted.is_some() && !asked.iter().any(|a| a == meaning) {
        return Err(Refusal {
            code: "meaning_not_asked",
            reason: format!(
                "this change's checklist does not ask for {meaning} (it asks for {}): a {meaning} is signed only where the checklist calls for it",
                match asked.is_empty() {
                    true => "nothing".to_string(),
                    false => asked.join(", "),
                }
            ),
        });
    }
    Ok(())
}

/// The meanings `signer` may sign with on a change whose checklist asks for `asked` (see
/// [`check_meaning`]), in the order configured.
pub fn meanings_for<'a>(signer: &Identity, asked: &[String], rules: &'a ApprovalRules) -> Vec<&'a str> {
    rules
        .meanings
        .iter()
        .filter(|m| check_meaning(signer, m, asked, rules).is_ok())
        .map(String::as_str)
        .collect()
}

/// Gate rule families that say who must sign: no waiver can excuse them (only a bounded,
/// reviewed break-glass on an emergency change bypasses them).
pub const UNWAIVABLE_RULE_FAMILIES: [&str; 2] = ["approvals.", "checklist."];

/// Whether a waiver naming `pattern` (a rule id, or a prefix ending in `.`) would reach a rule
/// about who must sign (see [`UNWAIVABLE_RULE_FAMILIES`]).
pub fn waives_signatures(pattern: &str) -> bool {
    UNWAIVABLE_RULE_FAMILIES
        .iter()
        .any(|family| pattern.starts_with(family) || (pattern.ends_with('.') && family.starts_with(pattern)))
}

/// `[approvals.overrides]`: who may lower a change's risk tier, and how.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideRules {
    /// Distinct approvers who must agree to lower a change out of `high` (default 2: the
    /// proposer and a second approver's concurrence).
    #[serde(default = "two")]
    pub high_downgrade_approvers: u32,
    /// Tags whose classification no override may lower (default `phi`, `clinical_workflow`);
    /// remove a tag here to allow it.
    #[serde(default = "protected_tags")]
    pub protected_tags: Vec<String>,
}

fn two() -> u32 {
    2
}

fn protected_tags() -> Vec<String> {
    vec!["phi".into(), "clinical_workflow".into()]
}

impl Default for OverrideRules {
    fn default() -> Self {
        OverrideRules {
            high_downgrade_approvers: two(),
            protected_tags: protected_tags(),
        }
    }
}

/// Failed signing attempts (wrong password, stale or foreign re-authentication token) that lock
/// a person out of signing (21 CFR Part 11 §11.300(d)).
pub const LOCKOUT_FAILURES: usize = 5;
/// The window in which [`LOCKOUT_FAILURES`] count, seconds.
pub const LOCKOUT_WINDOW_SECS: i64 = 15 * 60;
/// How long a lockout lasts after the last failure, seconds (or until an administrator lifts it).
pub const LOCKOUT_SECS: i64 = 15 * 60;

/// Until when (seconds since the epoch) a person is locked out of signing at `now`, given the
/// times of their failed attempts since the last lift: [`LOCKOUT_FAILURES`] failures within
/// [`LOCKOUT_WINDOW_SECS`] lock them until [`LOCKOUT_SECS`] after the last of those failures.
pub fn locked_until(failures: &[i64], now: i64) -> Option<i64> {
    let mut times: Vec<i64> = failures.iter().copied().filter(|t| *t <= now).collect();
    times.sort_unstable();
    let last = *times.last()?;
    let recent = times.iter().filter(|t| **t > last - LOCKOUT_WINDOW_SECS).count();
    let until = last + LOCKOUT_SECS;
    (recent >= LOCKOUT_FAILURES && now < until).then_some(until)
}

/// What a signature covers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Manifest {
    /// `sha256:` of the change's content (request, id and tier in force).
    pub change: String,
    /// Artifact digests, sorted.
    pub artifacts: Vec<String>,
    /// Attestation ids (`sha256:` of each raw document) on those artifacts and on the change
    /// itself, sorted.
    pub attestations: Vec<String>,
    /// `sha256:` of the policy in force (risk and approval rules).
    pub policy: String,
}

impl Manifest {
    /// `sha256:` of the manifest's JSON (fields in declaration order, lists sorted).
    pub fn digest(&self) -> String {
        let mut m = self.clone();
        m.artifacts.sort();
        m.attestations.sort();
        let bytes = serde_json::to_vec(&m).unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
    }
}

/// `sha256:` of a value's JSON (for the change and policy entries of a manifest).
pub fn digest_json<T: Serialize>(v: &T) -> String {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, roles: &[Role]) -> Identity {
        Identity {
            id: id.into(),
            kind: ActorKind::Human,
            roles: roles.to_vec(),
        }
    }

    fn parties(opener: &str, authors: &[&str]) -> Parties {
        Parties {
            opener: opener.into(),
            author_emails: authors.iter().map(|a| a.to_string()).collect(),
            ..Parties::default()
        }
    }

    /// A keyed hash standing in for the installation's HMAC (ward-app's tests use the real
    /// key): SHA-256 of the key and the text.
    fn keyed(key: &'static str) -> KeyOf {
        std::sync::Arc::new(move |t: &str| hex::encode(Sha256::digest(format!("{key}\0{t}").as_bytes())))
    }

    /// The parties of a change whose authors `emails` are kept only as keyed fingerprints made
    /// under `made_with`, compared under `compared_with` (`None`: the key cannot be read).
    fn kept_as_keys(
        emails: &[&str],
        rules: &ApprovalRules,
        made_with: &KeyOf,
        compared_with: Option<KeyOf>,
    ) -> Parties {
        let mut keys: Vec<String> = emails
            .iter()
            .flat_map(|e| author_key_texts(e, rules))
            .map(|t| made_with(&t))
            .collect();
        keys.sort();
        Parties {
            opener: "user:olga".into(),
            author_keys: AuthorKeys {
                keys,
                checks: vec![made_with(KEY_CHECK)],
                key_of: compared_with,
            },
            ..Parties::default()
        }
    }

    /// Authors kept only as keyed fingerprints (their addresses purged): the author, under any
    /// spelling of the name authorship folds, or any issuer's identity naming the mailbox, is
    /// refused; a mapped author's local user and the mapping's address too (a helper's attack on
    /// the tenth session's head signed through each after a purge); someone else is not.
    /// Without the key, or with another key than the one the fingerprints were made under (a
    /// lost key remade), nobody is (fail closed, `authorship_unknown`).
    #[test]
    fn an_author_kept_as_fingerprints_cannot_sign_under_any_identity_and_without_the_key_nobody_can() {
        let rules = ApprovalRules {
            git_authors: [(
                "Dana.Smith@corp.com".to_string(),
                "staff:dana.smith@hospital.org".to_string(),
            )]
            .into(),
            ..ApprovalRules::default()
        };
        let key = keyed("installation");
        let parties = kept_as_keys(
            &["jane.doe@corp.com", "dana.smith@corp.com"],
            &rules,
            &key,
            Some(key.clone()),
        );
        assert!(!parties.author_keys.undecidable());
        for author in [
            "user:jane.doe",
            "user:Jane.Doe",
            "user:janedoe",
            "user:jane_doe",
            "staff:jane.doe@corp.com",
            "es:Jane.Doe+x@corp.com/1234",
            "user:danasmith",
            "user:dana.smith",
            "staff:dana.smith@hospital.org",
            "STAFF:Dana.Smith@hospital.org",
            "es:dana.smith@hospital.org",
        ] {
            let r = check_signer(&person(author, &[Role::Approver]), &parties, &rules).unwrap_err();
            assert_eq!(r.code, "author_cannot_sign", "{author}");
            assert!(parties.includes(author, &rules), "{author}");
        }
        for other in ["user:quinn", "staff:jane.doe", "staff:quinn@corp.com", "user:jane"] {
            assert!(
                check_signer(&person(other, &[Role::Approver]), &parties, &rules).is_ok(),
                "{other}"
            );
            assert!(!parties.includes(other, &rules), "{other}");
        }
        for compared_with in [None, Some(keyed("remade"))] {
            let lost = kept_as_keys(&["jane.doe@corp.com"], &rules, &key, compared_with);
            let r = check_signer(&person("user:quinn", &[Role::Approver]), &lost, &rules).unwrap_err();
            assert_eq!(r.code, "authorship_unknown");
            assert!(
                lost.includes("user:quinn", &rules),
                "fail closed: anyone may be the author"
            );
        }
        assert!(!Parties::default().includes("user:quinn", &rules));
        // A mapping written after the change was recorded (its keys made without it) still
        // names the author once the address is purged: by the mailbox's fingerprint (a
        // helper's attack on the tenth session's head).
        let recorded = kept_as_keys(
            &["mal.home@example.org"],
            &ApprovalRules::default(),
            &key,
            Some(key.clone()),
        );
        let later = ApprovalRules {
            git_authors: [
                ("Mal.Home@example.org".to_string(), "user:mallory".to_string()),
                (
                    "mal.home+x@example.org".to_string(),
                    "staff:mallory@corp.example".to_string(),
                ),
            ]
            .into(),
            ..ApprovalRules::default()
        };
        for author in [
            "user:mallory",
            "user:Mallory",
            "staff:mallory@corp.example",
            "es:mallory@corp.example/7",
        ] {
            assert_eq!(
                check_signer(&person(author, &[Role::Approver]), &recorded, &later)
                    .unwrap_err()
                    .code,
                "author_cannot_sign",
                "{author}"
            );
        }
        assert!(check_signer(&person("user:quinn", &[Role::Approver]), &recorded, &later).is_ok());
    }

    /// One person, one key: identities `same_person` reads as one person's count once as
    /// approvers (a helper's attack on the twelfth session's head counted `user:bob` and
    /// `user:bob.` as two), and different people keep different keys.
    #[test]
    fn identities_of_one_person_have_one_key_and_others_their_own() {
        for (a, b) in [
            ("user:bob", "user:bob."),
            ("user:bob", "user:b_ob"),
            ("user:bob", "user:B-o-b"),
            ("user:j.ane", "user:jane"),
            ("staff:Dana", "staff:dana"),
            ("staff:Gina.Smith@Hospital.org", "staff:gina.smith@hospital.org"),
            ("es:gina@corp.example/7", "ES:Gina@corp.example/7"),
        ] {
            assert!(same_person(a, b), "{a} {b}");
            assert_eq!(person_key(a), person_key(b), "{a} {b}");
        }
        for (a, b) in [
            ("user:jane.doe", "user:jane.d"),
            ("user:jane.doe", "staff:janedoe"),
            ("user:bob", "token:bob"),
            ("staff:gina@corp.example", "staff:rita@corp.example"),
        ] {
            assert!(!same_person(a, b), "{a} {b}");
            assert_ne!(person_key(a), person_key(b), "{a} {b}");
        }
    }

    #[test]
    fn an_author_whose_address_was_purged_still_cannot_sign_and_no_refusal_repeats_an_address() {
        // Never fewer people: another name, or another issuer's name, is not taken for hers.
        assert!(!same_person("user:jane.doe", "user:jane.d"));
        assert!(!same_person("user:jane.doe", "staff:janedoe"));
        assert!(!same_person("user:.", "user:.."));
        let rules = ApprovalRules::default();
        // The address purged: only the identity recorded with it is left.
        let purged = Parties {
            opener: "user:olga".into(),
            author_identities: vec!["user:jane.doe".into()],
            ..Parties::default()
        };
        let jane = person("user:jane.doe", &[Role::Approver]);
        assert_eq!(
            check_signer(&jane, &purged, &rules).unwrap_err().code,
            "author_cannot_sign"
        );
        assert!(purged.includes("user:jane.doe", &rules));
        assert!(!purged.includes("user:quinn", &rules));
        // Read through the address: the refusal names the signer, never the address.
        let read = parties("user:olga", &["jane.doe@gmail.com"]);
        let r = check_signer(&person("staff:Jane.Doe@gmail.com", &[Role::Approver]), &read, &rules).unwrap_err();
        assert_eq!(r.code, "author_cannot_sign");
        let r = check_signer(&jane, &read, &rules).unwrap_err();
        assert!(!r.reason.contains("gmail"), "{}", r.reason);
        // A sub-address is the person's (a helper's attack on `d734697`: `jane.doe+x@…` signed
        // her own change); GitHub's no-reply address is its login's.
        for author in [
            "jane.doe+x@gmail.com",
            " Jane.Doe@gmail.com ",
            "123456+jane.doe@users.noreply.github.com",
            // A leading `+` or dots a mailbox ignores (a helper's attack on the head).
            "+jane.doe@example.org",
            "j.a.n.e.doe@gmail.com",
            "janedoe@gmail.com",
        ] {
            let p = parties("user:olga", &[author]);
            assert_eq!(
                check_signer(&jane, &p, &rules).unwrap_err().code,
                "author_cannot_sign",
                "{author}"
            );
        }
        assert_eq!(
            rules.author_identity("123456+jane.doe@users.noreply.github.com"),
            "user:jane.doe"
        );
    }

    #[test]
    fn a_mapped_author_cannot_sign_under_another_spelling_of_their_mailbox() {
        // A helper's attack on the eighth session's head: the mapping was read for the address
        // as written, so a sub-address, a dot dropped, a trailing dot or the no-reply login
        // without its number let Dana sign her own change.
        let rules = ApprovalRules {
            git_authors: [
                ("Dana.Smith@corp.com".to_string(), "user:dana".to_string()),
                ("4242+dgh@users.noreply.github.com".to_string(), "user:dana".to_string()),
            ]
            .into(),
            ..ApprovalRules::default()
        };
        let dana = person("user:dana", &[Role::Approver]);
        for author in [
            "Dana.Smith@corp.com",
            "DANA.SMITH@CORP.COM",
            "dana.smith+ci@corp.com",
            "danasmith@corp.com",
            "dana.smith@corp.com.",
            "dgh@users.noreply.github.com",
            "999+dgh@users.noreply.github.com",
        ] {
            let p = parties("user:olga", &[author]);
            assert_eq!(
                check_signer(&dana, &p, &rules).unwrap_err().code,
                "author_cannot_sign",
                "{author}"
            );
            assert_eq!(rules.author_identity(author), "user:dana", "{author}");
        }
        // More parties, never fewer: the local part's own identity is still a party.
        let p = parties("user:olga", &["danasmith@corp.com"]);
        let danasmith = person("user:danasmith", &[Role::Approver]);
        assert_eq!(
            check_signer(&danasmith, &p, &rules).unwrap_err().code,
            "author_cannot_sign"
        );
        // Another issuer's identity naming the same mailbox.
        let staff = person("staff:dana.smith+x@corp.com", &[Role::Approver]);
        assert!(check_signer(&staff, &p, &rules).is_err());
        // Apostrophes, underscores, hyphens and a bracketed suffix fold as dots do (a helper's
        // attack on the ninth session's head: `O'Brien@…` was `user:o'brien`, whom the local
        // user `obrien` is, and signed).
        for (signer, author) in [
            ("user:obrien", "O'Brien@corp.com"),
            ("user:maryann", "mary-ann@corp.com"),
            ("user:maryann", "mary_ann@corp.com"),
            ("user:janedoe", "'janedoe'@corp.com"),
            ("user:janedoe", "janedoe[bot]@corp.com"),
            ("user:jane_doe", "jane.doe@corp.com"),
        ] {
            let p = parties("user:olga", &[author]);
            let who = person(signer, &[Role::Approver]);
            assert!(
                check_signer(&who, &p, &ApprovalRules::default()).is_err(),
                "{signer} / {author}"
            );
        }
        // A mapping to another issuer's identity holds for every spelling of its mailbox, and
        // an identity naming the address before more of its template is the author's.
        let mapped = ApprovalRules {
            git_authors: [("g1@corp.org".to_string(), "staff:gina.smith@hospital.org".to_string())].into(),
            ..ApprovalRules::default()
        };
        for signer in [
            "staff:gina.smith@hospital.org",
            "staff:Gina.Smith@Hospital.org",
            "staff:gina.smith@hospital.org.",
            "staff:ginasmith@hospital.org",
            "staff:gina.smith+x@hospital.org",
        ] {
            let p = parties("user:olga", &["g1@corp.org"]);
            assert!(
                check_signer(&person(signer, &[Role::Approver]), &p, &mapped).is_err(),
                "{signer}"
            );
        }
        let p = parties("user:olga", &["hal@example.org"]);
        for signer in ["es:hal@example.org/u1", "mix:u1/Hal@Example.org"] {
            assert!(
                check_signer(&person(signer, &[Role::Approver]), &p, &rules).is_err(),
                "{signer}"
            );
        }
        // Other mailboxes are other people.
        for author in [
            "dana.smyth@corp.com",
            "dana.smith@corp.co",
            "dgh2@users.noreply.github.com",
        ] {
            assert!(
                check_signer(&dana, &parties("user:olga", &[author]), &rules).is_ok(),
                "{author}"
            );
        }
        assert_eq!(mailbox(" Dana.Smith+ci@Corp.COM. "), "danasmith@corp.com");
        assert_eq!(
            mailbox("4242+dgh@users.noreply.github.com"),
            "dgh@users.noreply.github.com"
        );
    }

    #[test]
    fn a_mapping_to_an_identity_ward_never_writes_is_refused_unrepeated() {
        for id in [
            "User:danasmith",
            "user:danasmith+x",
            "user: danasmith",
            "user:\u{ff44}anasmith",
            "user:danasmith@corp.com",
            "danasmith",
            "user:dana\u{200b}smith",
            "user:",
            "user:.",
            "user:-",
            "token:ci",
            "local:operator",
            "TOKEN:ci",
            "Local:operator",
            "/dana@example.org",
        ] {
            let rules = ApprovalRules {
                git_authors: [("m2@corp.com".to_string(), id.to_string())].into(),
                ..ApprovalRules::default()
            };
            let e = rules.validate().expect_err(id);
            assert!(!e.contains("m2@corp.com") && !e.contains("danasmith"), "{e}");
        }
        for id in [
            "user:dana.smith",
            "user:dana_s-1",
            "staff:dana@example.org",
            "ci:github/acme/api",
            // A provider's prefix may end in `/` or hold capitals (a helper's false refusals on
            // the tenth session's head).
            "corp/dana@example.org",
            "Staff:dana@example.org",
            "oidc/x:dana",
        ] {
            let rules = ApprovalRules {
                git_authors: [("Dana.Smith@corp.com".to_string(), id.to_string())].into(),
                ..ApprovalRules::default()
            };
            rules.validate().expect(id);
        }
    }

    #[test]
    fn separation_of_duties() {
        let rules = ApprovalRules::default();
        let p = parties("token:ci", &["Bob@example.org", "x@users.noreply.github.com"]);
        let ok = |s: &Identity| check_signer(s, &p, &rules);
        assert!(ok(&person("user:quinn", &[Role::Approver])).is_ok());
        assert_eq!(
            ok(&person("user:bob", &[Role::Approver])).unwrap_err().code,
            "author_cannot_sign"
        );
        assert_eq!(
            check_signer(
                &person("token:ci", &[Role::Approver]),
                &parties("token:ci", &[]),
                &rules
            )
            .unwrap_err()
            .code,
            "opener_cannot_sign"
        );
        let mut bot = person("ci:github/acme/api/release", &[Role::Approver]);
        bot.kind = ActorKind::Automation;
        assert_eq!(ok(&bot).unwrap_err().code, "automation_cannot_sign");
        assert_eq!(
            ok(&person("user:ada", &[Role::Approver, Role::Admin]))
                .unwrap_err()
                .code,
            "admin_cannot_sign"
        );
        let lenient = ApprovalRules {
            admins_may_approve: true,
            git_authors: [("x@users.noreply.github.com".to_string(), "user:xena".to_string())].into(),
            ..ApprovalRules::default()
        };
        let ada = person("user:ada", &[Role::Approver, Role::Admin]);
        assert!(check_signer(&ada, &p, &lenient).is_ok());
        let xena = person("user:xena", &[Role::Approver]);
        assert_eq!(
            check_signer(&xena, &p, &lenient).unwrap_err().code,
            "author_cannot_sign"
        );
    }

    /// A privacy review is a privacy officer's sign-off: an approver cannot tick it for them,
    /// and a privacy officer (allowed to sign only for it) cannot count toward the quorum.
    #[test]
    fn an_approver_cannot_sign_the_privacy_review_nor_a_privacy_officer_the_quorum() {
        let rules = ApprovalRules::default();
        let phi = ["privacy-review".to_string()];
        let quinn = person("user:quinn", &[Role::Approver]);
        let pat = person("user:pat", &[Role::PrivacyOfficer]);
        let rhea = person("user:rhea", &[Role::ReleaseManager]);
        let e = check_meaning(&quinn, "privacy-review", &phi, &rules).unwrap_err();
        assert_eq!(e.code, "meaning_needs_role");
        assert!(
            e.reason.contains("privacy-officer") && e.reason.contains("approver"),
            "{e:?}"
        );
        assert!(check_meaning(&pat, "privacy-review", &phi, &rules).is_ok());
        for m in ["approved", "release-authority", "reviewed"] {
            assert_eq!(
                check_meaning(&pat, m, &phi, &rules).unwrap_err().code,
                "meaning_needs_role",
                "{m}"
            );
            assert!(check_meaning(&quinn, m, &phi, &rules).is_ok(), "{m}");
            assert!(check_meaning(&rhea, m, &[], &rules).is_ok(), "{m}");
        }
        assert_eq!(meanings_for(&pat, &phi, &rules), ["privacy-review"]);
        assert!(!meanings_for(&quinn, &phi, &rules).contains(&"privacy-review"));
        // Both roles: both kinds of meaning.
        let both = person("user:sam", &[Role::Approver, Role::PrivacyOfficer]);
        assert_eq!(meanings_for(&both, &phi, &rules).len(), rules.meanings.len());
        // A team may open the meaning to approvers, never to nobody.
        let open = ApprovalRules {
            meaning_roles: [("privacy-review".to_string(), vec![Role::PrivacyOfficer, Role::Approver])].into(),
            ..ApprovalRules::default()
        };
        assert!(check_meaning(&quinn, "privacy-review", &phi, &open).is_ok());
        let nobody = ApprovalRules {
            meaning_roles: [("privacy-review".to_string(), vec![])].into(),
            ..ApprovalRules::default()
        };
        assert!(nobody.validate().unwrap_err().contains("nobody could sign it"));
        let unknown = ApprovalRules {
            meaning_roles: [("privacy-reveiw".to_string(), vec![Role::PrivacyOfficer])].into(),
            ..ApprovalRules::default()
        };
        assert!(unknown.validate().unwrap_err().contains("not one of the meanings"));
    }

    /// A privacy officer cannot veto (or sign off) a change whose checklist does not ask for a
    /// privacy review: the role signs only where it is called for.
    #[test]
    fn a_privacy_officer_cannot_sign_or_veto_a_change_that_asks_for_no_privacy_review() {
        let rules = ApprovalRules::default();
        let pat = person("user:pat", &[Role::PrivacyOfficer]);
        let e = check_meaning(&pat, "privacy-review", &["uat-signoff".to_string()], &rules).unwrap_err();
        assert_eq!(e.code, "meaning_not_asked");
        assert!(e.reason.contains("uat-signoff"), "{e:?}");
        assert!(meanings_for(&pat, &[], &rules).is_empty());
        // The manifest's policy digest of the defaults is what it was before meaning roles
        // existed: upgrading does not make every signature stale.
        assert!(!serde_json::to_string(&rules).unwrap().contains("meaning_roles"));
    }

    #[test]
    fn an_author_signing_through_another_issuer_is_still_the_author() {
        let rules = ApprovalRules {
            git_authors: [("Dana.Dev@Example.org".to_string(), "user:dana".to_string())].into(),
            ..ApprovalRules::default()
        };
        assert!(
            is_author("dana.dev@example.org", "user:dana", &rules),
            "mapping ignores case"
        );
        assert!(is_author("bob@example.org", "staff:Bob@Example.org", &rules));
        assert!(is_author("bob@example.org", "oidc/bob@example.org", &rules));
        assert!(!is_author("bob@example.org", "staff:notbob@example.org", &rules));
        assert!(!is_author("bob@example.org", "staff:bob@example.org.evil", &rules));
        let p = parties("token:ci", &["bob@example.org"]);
        let bob = person("staff:bob@example.org", &[Role::Approver]);
        assert_eq!(check_signer(&bob, &p, &rules).unwrap_err().code, "author_cannot_sign");
    }

    #[test]
    fn editors_and_classifiers_count_as_authors() {
        let rules = ApprovalRules::default();
        let p = Parties {
            opener: "user:olga".into(),
            editors: vec!["user:eve".into()],
            classifiers: vec!["user:carl".into()],
            ..Parties::default()
        };
        let eve = person("user:eve", &[Role::Approver]);
        assert_eq!(check_signer(&eve, &p, &rules).unwrap_err().code, "editor_cannot_sign");
        let carl = person("user:carl", &[Role::Approver]);
        assert_eq!(
            check_signer(&carl, &p, &rules).unwrap_err().code,
            "classifier_cannot_sign"
        );
    }

    #[test]
    fn rules_about_who_signs_are_never_waivable() {
        for p in [
            "approvals.quorum",
            "approvals.",
            "approvals.role.release-manager",
            "checklist.privacy-review",
            "checklist.",
            "a.",
            "appr",
        ] {
            let expect = !matches!(p, "appr" | "a.");
            assert_eq!(waives_signatures(p), expect, "{p}");
        }
        for p in ["evidence.", "sla.critical", "evidence.sbom", "calendar.freeze"] {
            assert!(!waives_signatures(p), "{p}");
        }
    }

    #[test]
    fn lockout_after_repeated_failures_lifts_with_time() {
        let t0 = 1_000_000;
        let four: Vec<i64> = (0..4).map(|i| t0 + i).collect();
        assert_eq!(locked_until(&four, t0 + 10), None);
        let five: Vec<i64> = (0..5).map(|i| t0 + i).collect();
        assert_eq!(locked_until(&five, t0 + 10), Some(t0 + 4 + LOCKOUT_SECS));
        assert_eq!(locked_until(&five, t0 + 4 + LOCKOUT_SECS), None);
        // Spread over more than the window: no lockout.
        let spread: Vec<i64> = (0..5).map(|i| t0 + i * LOCKOUT_WINDOW_SECS).collect();
        assert_eq!(locked_until(&spread, t0 + 4 * LOCKOUT_WINDOW_SECS + 1), None);
    }

    #[test]
    fn manifest_digest_binds_every_item_and_ignores_order() {
        let m = Manifest {
            change: "sha256:c".into(),
            artifacts: vec!["sha256:b".into(), "sha256:a".into()],
            attestations: vec!["sha256:2".into(), "sha256:1".into()],
            policy: "sha256:p".into(),
        };
        let mut reordered = m.clone();
        reordered.artifacts.reverse();
        reordered.attestations.reverse();
        assert_eq!(m.digest(), reordered.digest());
        let mut more = m.clone();
        more.attestations.push("sha256:3".into());
        assert_ne!(m.digest(), more.digest());
        let mut policy = m.clone();
        policy.policy = "sha256:q".into();
        assert_ne!(m.digest(), policy.digest());
    }
}
