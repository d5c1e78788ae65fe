//! Event kinds: which ones Ward writes itself ([`RESERVED_KINDS`]) and which a caller may
//! append (`POST /api/v1/events`, `ward log append`). A leaf module: the log guard
//! (`freetext`) and the append paths (`ops`) both ask it.

use crate::error::AppError;

/// Event kinds Ward writes itself, after checking what they claim (registrations, attestations,
/// trusted keys, identities, changes, approvals, access records). The generic append paths
/// (`POST /api/v1/events`, `ward log append`) refuse them, so no role can forge one.
pub const RESERVED_KINDS: &[&str] = &[
    "artifact.",
    "attestation.",
    "attestation_type.",
    "key.",
    "config.",
    "rollout.",
    "drill.",
    "token.",
    "session.",
    "user.",
    "change.",
    "approval.",
    "gate.",
    "waiver.",
    "breakglass.",
    "deployment.",
    "drift.",
    "access.",
    "auth.",
    "log.",
    "reauth.",
    "classification.",
    "local.",
    "document.",
    "dr.",
    // A caller's event as the leaf holds it: its kind's fingerprint (`ops::kind_in_leaf`).
    "submitted.",
];

/// Refuses an event kind that only Ward's own operations may write.
pub fn check_generic_kind(kind: &str) -> Result<(), AppError> {
    if let Some(prefix) = RESERVED_KINDS.iter().find(|p| kind.starts_with(*p)) {
        return Err(AppError::new(
            crate::error::Kind::Forbidden,
            "reserved_kind",
            format!("events of kind {prefix}* are written by Ward itself, after checking them"),
            "use the operation for it (artifacts, attestations, keys, changes, approvals …), or another kind",
        ));
    }
    Ok(())
}
