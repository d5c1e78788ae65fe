//! Roles, actions and the one authorisation matrix.
//!
//! Every API route names the [`Action`] it performs; [`Role::permits`] is the only place that
//! decides which roles may perform it. The server's route × role test enumerates every route and
//! every role against [`Role::permits`], so a route without a rule cannot pass the tests.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use ward_ledger::{Actor, ActorKind};

/// What an identity may do, by job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Reads the log and its state.
    Viewer,
    /// Reads everything, including evidence content, and exports the log.
    Auditor,
    /// Registers artifacts and attestations, opens changes.
    Developer,
    /// Signs approvals.
    Approver,
    /// Promotes releases and controls rollouts.
    ReleaseManager,
    /// Manages identities, tokens, policies and configuration.
    Admin,
    /// Requests and completes the purge of a text document that should never have been
    /// recorded (PHI that slipped past the guard); always two people.
    PrivacyOfficer,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 7] = [
        Role::Viewer,
        Role::Auditor,
        Role::Developer,
        Role::Approver,
        Role::ReleaseManager,
        Role::Admin,
        Role::PrivacyOfficer,
    ];

    /// The role's name as written in configuration, tokens and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Auditor => "auditor",
            Role::Developer => "developer",
            Role::Approver => "approver",
            Role::ReleaseManager => "release-manager",
            Role::Admin => "admin",
            Role::PrivacyOfficer => "privacy-officer",
        }
    }

    /// Whether this role may perform `action`. The whole authorisation policy is this match.
    pub fn permits(self, action: Action) -> bool {
        use Action::*;
        use Role::*;
        match action {
            // Anyone authenticated may read the log's metadata and ask who they are.
            WhoAmI | LogRead => true,
            // Event content may hold evidence: everyone but pure identity administrators.
            // A privacy officer reads what they are asked to purge (events, changes) first.
            EventRead => matches!(
                self,
                Viewer | Auditor | Developer | Approver | ReleaseManager | PrivacyOfficer
            ),
            EventAppend | EvidenceWrite => matches!(self, Developer | ReleaseManager),
            EvidenceRead => matches!(self, Viewer | Auditor | Developer | Approver | ReleaseManager),
            CheckpointCreate => matches!(self, ReleaseManager | Admin),
            LogExport => matches!(self, Auditor),
            TokenManage | UserManage | TrustManage => matches!(self, Admin),
            // Which keys and schemas Ward trusts is public to every role.
            TrustRead => true,
            ChangeOpen => matches!(self, Developer | ReleaseManager),
            ChangeRead => matches!(
                self,
                Viewer | Auditor | Developer | Approver | ReleaseManager | PrivacyOfficer
            ),
            ChangeClassify => matches!(self, Approver),
            // A privacy officer signs the privacy review, and only it (approval::check_meaning).
            ChangeApprove => matches!(self, Approver | ReleaseManager | PrivacyOfficer),
            GateCheck => matches!(self, Developer | Approver | ReleaseManager),
            WaiverGrant => matches!(self, Approver),
            BreakGlass => matches!(self, Approver | ReleaseManager),
            Promote => matches!(self, ReleaseManager),
            Observe => matches!(self, Developer | ReleaseManager),
            ConfigPublish => matches!(self, ReleaseManager),
            ConfigRead => matches!(self, Viewer | Auditor | Developer | Approver | ReleaseManager),
            // Delivery and governance figures: whoever reads changes, except a privacy officer
            // (who reads only to find what to purge).
            MetricsRead => matches!(self, Viewer | Auditor | Developer | Approver | ReleaseManager),
            // What a deployment target printed may hold what its scripts echoed: the people who
            // run releases and the auditors who examine them, nobody else.
            DeploymentOutputRead => matches!(self, ReleaseManager | Auditor),
            // A privacy officer requests a purge; another privacy officer or an admin completes
            // it (the two-person rule and who may request are checked by the purge itself).
            DocumentPurge => matches!(self, PrivacyOfficer | Admin),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`Role::ALL`].
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown role `{0}` (expected one of: viewer, auditor, developer, approver, release-manager, admin, privacy-officer)"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// Something an API call does; each route performs exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Ask which identity and roles the caller has.
    WhoAmI,
    /// Read log size, checkpoints and proofs (hashes only).
    LogRead,
    /// Read events, including their payloads.
    EventRead,
    /// Append events.
    EventAppend,
    /// Sign a checkpoint of the current head.
    CheckpointCreate,
    /// Register artifacts and attach attestations.
    EvidenceWrite,
    /// Read artifacts and attestation summaries.
    EvidenceRead,
    /// Export the log (tiles, checkpoints, proofs).
    LogExport,
    /// Create, list and revoke API tokens.
    TokenManage,
    /// Add and list local users.
    UserManage,
    /// List keys trusted for builders and custom attestation types.
    TrustRead,
    /// Trust or revoke builder keys; register custom attestation types.
    TrustManage,
    /// Open a change request.
    ChangeOpen,
    /// Read change requests and their classification.
    ChangeRead,
    /// Override a change's risk tier (with a reason).
    ChangeClassify,
    /// Sign (approve or reject) a change.
    ChangeApprove,
    /// Evaluate the gate for a change and record the decision.
    GateCheck,
    /// Grant a waiver of gate rules.
    WaiverGrant,
    /// Break glass on an emergency change.
    BreakGlass,
    /// Promote a change into an environment (runs its deployment target).
    Promote,
    /// Record what is running in an environment (drift detection).
    Observe,
    /// Publish an environment's or tenant's configuration bundle.
    ConfigPublish,
    /// Read configuration bundles (values are references, never secrets).
    ConfigRead,
    /// Request or complete the purge of a text document kept beside the log.
    DocumentPurge,
    /// Read delivery (DORA) and governance metrics and the entries behind them.
    MetricsRead,
    /// Read a deployment target's stored output (guard-redacted; every read recorded).
    DeploymentOutputRead,
}

impl Action {
    /// What the action does, in a person's words, for refusals: "sign a change".
    pub fn in_words(self) -> &'static str {
        match self {
            Action::WhoAmI => "ask who they are",
            Action::LogRead => "read the log's size, checkpoints and proofs",
            Action::EventRead => "read events",
            Action::EventAppend => "append events",
            Action::CheckpointCreate => "sign a checkpoint",
            Action::EvidenceWrite => "register artifacts and attach evidence",
            Action::EvidenceRead => "read evidence",
            Action::LogExport => "export the log",
            Action::TokenManage => "create, list or revoke API tokens",
            Action::UserManage => "add or list local users",
            Action::TrustRead => "list trusted keys and attestation types",
            Action::TrustManage => "trust keys or register attestation types",
            Action::ChangeOpen => "open or edit a change",
            Action::ChangeRead => "read changes",
            Action::ChangeClassify => "override a change's risk tier",
            Action::ChangeApprove => "sign a change",
            Action::GateCheck => "check the gate",
            Action::WaiverGrant => "grant a waiver",
            Action::BreakGlass => "break glass",
            Action::Promote => "promote, roll back or sign a restore test",
            Action::Observe => "record what runs in an environment",
            Action::ConfigPublish => "publish a configuration bundle",
            Action::ConfigRead => "read configuration bundles",
            Action::DocumentPurge => "purge a document",
            Action::MetricsRead => "read metrics",
            Action::DeploymentOutputRead => "read a deployment's output",
        }
    }

    /// Whether the action changes state (and is therefore itself a ledger event).
    pub fn is_mutating(self) -> bool {
        matches!(
            self,
            Action::EventAppend
                | Action::CheckpointCreate
                | Action::EvidenceWrite
                | Action::TokenManage
                | Action::UserManage
                | Action::TrustManage
                | Action::ChangeOpen
                | Action::ChangeClassify
                | Action::ChangeApprove
                | Action::GateCheck
                | Action::WaiverGrant
                | Action::BreakGlass
                | Action::Promote
                | Action::Observe
                | Action::ConfigPublish
                | Action::DocumentPurge
        )
    }
}

/// An authenticated caller: who, of which kind, with which roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identity {
    /// Stable id recorded on events (`user:alice`, `token:ci-deploy`, `ci:github/org/repo/wf`).
    pub id: String,
    /// Person or automation.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "automation"))]
    pub kind: ActorKind,
    /// Roles granted.
    pub roles: Vec<Role>,
}

impl Identity {
    /// Whether any of the identity's roles permits `action`.
    pub fn may(&self, action: Action) -> bool {
        self.roles.iter().any(|r| r.permits(action))
    }

    /// The actor recorded on events this identity causes.
    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id.clone(),
            kind: self.kind,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.as_str().parse::<Role>().ok(), Some(r));
            assert_eq!(serde_json_name(r), r.as_str());
        }
        assert!("root".parse::<Role>().is_err());
    }

    fn serde_json_name(r: Role) -> String {
        // The serde name must equal the CLI name: one spelling everywhere.
        let v = format!("{r:?}");
        let mut out = String::new();
        for (i, c) in v.chars().enumerate() {
            if c.is_uppercase() && i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        }
        out
    }

    #[test]
    fn separation_of_duties_in_the_matrix() {
        // Identity administrators do not read evidence or append events; auditors cannot write.
        assert!(!Role::Admin.permits(Action::EventRead));
        assert!(!Role::Admin.permits(Action::EventAppend));
        assert!(!Role::Auditor.permits(Action::EventAppend));
        assert!(!Role::Viewer.permits(Action::LogExport));
        assert!(Role::Auditor.permits(Action::LogExport));
        assert!(Role::Developer.permits(Action::EventAppend));
        let id = Identity {
            id: "token:x".into(),
            kind: ActorKind::Automation,
            roles: vec![Role::Viewer, Role::Developer],
        };
        assert!(id.may(Action::EventAppend));
        assert!(!id.may(Action::TokenManage));
        // Only privacy officers and admins purge; developers and approvers never do.
        for r in Role::ALL {
            assert_eq!(
                r.permits(Action::DocumentPurge),
                matches!(r, Role::PrivacyOfficer | Role::Admin),
                "{r}"
            );
        }
        // They read what they purge, and nothing else of the write side.
        assert!(Role::PrivacyOfficer.permits(Action::EventRead));
        assert!(!Role::PrivacyOfficer.permits(Action::EventAppend));
        // They sign (the privacy review only: approval::check_meaning).
        assert!(Role::PrivacyOfficer.permits(Action::ChangeApprove));
    }
}
