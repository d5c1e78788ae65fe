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
}

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
    /// The Ward identity a commit author e-mail stands for: the configured mapping, else
    /// `user:<local part>` (lower-cased).
    pub fn author_identity(&self, email: &str) -> String {
        if let Some(id) = self.git_authors.get(email) {
            return id.clone();
        }
        let local = email.split('@').next().unwrap_or(email);
        format!("user:{}", local.to_ascii_lowercase())
    }
}

/// Separation of duties: whether `signer` may sign on a change opened by `opener` whose commits
/// were written by `authors` (e-mails). Automation never signs; neither do the opener, any
/// author, nor (unless configured) an identity administrator.
pub fn check_signer(signer: &Identity, opener: &str, authors: &[String], rules: &ApprovalRules) -> Result<(), Refusal> {
    if signer.kind != ActorKind::Human {
        return Err(Refusal {
            code: "automation_cannot_sign",
            reason: format!("{} is an automation identity; only people sign approvals", signer.id),
        });
    }
    if signer.id == opener {
        return Err(Refusal {
            code: "opener_cannot_sign",
            reason: format!("{} opened this change", signer.id),
        });
    }
    if let Some(a) = authors.iter().find(|a| rules.author_identity(a) == signer.id) {
        return Err(Refusal {
            code: "author_cannot_sign",
            reason: format!("{} authored a commit of this change ({a})", signer.id),
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

/// What a signature covers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

    #[test]
    fn separation_of_duties() {
        let rules = ApprovalRules::default();
        let authors = vec!["Bob@example.org".to_string(), "x@users.noreply.github.com".to_string()];
        let ok = |s: &Identity| check_signer(s, "token:ci", &authors, &rules);
        assert!(ok(&person("user:quinn", &[Role::Approver])).is_ok());
        assert_eq!(
            ok(&person("user:bob", &[Role::Approver])).unwrap_err().code,
            "author_cannot_sign"
        );
        assert_eq!(
            check_signer(&person("token:ci", &[Role::Approver]), "token:ci", &[], &rules)
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
        assert!(check_signer(&ada, "token:ci", &authors, &lenient).is_ok());
        let xena = person("user:xena", &[Role::Approver]);
        assert_eq!(
            check_signer(&xena, "token:ci", &authors, &lenient).unwrap_err().code,
            "author_cannot_sign"
        );
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
