//! Who may call each route: [`ROUTES`] names every route's method, path and [`Access`]. The
//! auth middleware refuses any route missing from it, and the route × role test checks the table
//! against the OpenAPI document generated from the handlers' annotations and against
//! [`ward_core::Role::permits`].

use ward_core::Action;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, unauthenticated (health, metrics, the API document, sign-in).
    Public,
    /// An authenticated identity with a role that permits the action.
    Requires(Action),
}

/// One route's rule.
#[derive(Clone, Copy, Debug)]
pub struct RouteRule {
    /// HTTP method.
    pub method: &'static str,
    /// Path template as axum and OpenAPI write it.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
}

const fn rule(method: &'static str, path: &'static str, access: Access) -> RouteRule {
    RouteRule { method, path, access }
}

use Access::{Public, Requires};

/// Every route of the server and who may call it.
pub const ROUTES: &[RouteRule] = &[
    rule("GET", "/healthz", Public),
    rule("GET", "/readyz", Public),
    rule("GET", "/metrics", Public),
    rule("GET", "/api/v1/openapi.json", Public),
    rule("POST", "/api/v1/sessions", Public),
    rule("POST", "/api/v1/sessions/device", Public),
    rule("POST", "/api/v1/sessions/device/token", Public),
    rule("DELETE", "/api/v1/sessions", Requires(Action::WhoAmI)),
    rule("GET", "/api/v1/whoami", Requires(Action::WhoAmI)),
    rule("GET", "/api/v1/server/config", Requires(Action::WhoAmI)),
    rule("GET", "/api/v1/log", Requires(Action::LogRead)),
    rule("GET", "/api/v1/log/checkpoint", Requires(Action::LogRead)),
    rule("POST", "/api/v1/log/checkpoint", Requires(Action::CheckpointCreate)),
    rule("GET", "/api/v1/log/proof", Requires(Action::LogRead)),
    rule("GET", "/api/v1/log/consistency", Requires(Action::LogRead)),
    rule("GET", "/api/v1/log/checkpoints", Requires(Action::LogRead)),
    rule("GET", "/api/v1/log/key", Requires(Action::LogRead)),
    rule("GET", "/api/v1/log/entries", Requires(Action::LogExport)),
    rule("GET", "/api/v1/log/blobs/{digest}", Requires(Action::LogExport)),
    rule("GET", "/api/v1/log/documents/{digest}", Requires(Action::LogExport)),
    rule("GET", "/api/v1/bundles", Requires(Action::LogExport)),
    rule("GET", "/api/v1/audit/population", Requires(Action::LogExport)),
    rule("GET", "/api/v1/audit/search", Requires(Action::LogExport)),
    rule("POST", "/api/v1/artifacts", Requires(Action::EvidenceWrite)),
    rule("GET", "/api/v1/artifacts/{digest}", Requires(Action::EvidenceRead)),
    rule("GET", "/api/v1/evidence/{subject}/{id}", Requires(Action::EvidenceRead)),
    rule("POST", "/api/v1/attestations", Requires(Action::EvidenceWrite)),
    rule("GET", "/api/v1/keys", Requires(Action::TrustRead)),
    rule("POST", "/api/v1/keys", Requires(Action::TrustManage)),
    rule("DELETE", "/api/v1/keys/{keyid}", Requires(Action::TrustManage)),
    rule("GET", "/api/v1/attestation-types", Requires(Action::TrustRead)),
    rule("POST", "/api/v1/attestation-types", Requires(Action::TrustManage)),
    rule("GET", "/api/v1/changes", Requires(Action::ChangeRead)),
    rule("POST", "/api/v1/changes", Requires(Action::ChangeOpen)),
    rule("GET", "/api/v1/changes/{id}", Requires(Action::ChangeRead)),
    rule("GET", "/api/v1/changes/{id}/overview", Requires(Action::ChangeRead)),
    rule("PATCH", "/api/v1/changes/{id}", Requires(Action::ChangeOpen)),
    rule(
        "POST",
        "/api/v1/changes/{id}/classification",
        Requires(Action::ChangeClassify),
    ),
    rule("GET", "/api/v1/changes/{id}/approvals", Requires(Action::ChangeRead)),
    rule(
        "GET",
        "/api/v1/changes/{id}/attestations",
        Requires(Action::EvidenceRead),
    ),
    rule("POST", "/api/v1/changes/{id}/gate", Requires(Action::GateCheck)),
    rule("GET", "/api/v1/changes/{id}/waivers", Requires(Action::ChangeRead)),
    rule("POST", "/api/v1/waivers", Requires(Action::WaiverGrant)),
    rule("POST", "/api/v1/breakglass", Requires(Action::BreakGlass)),
    rule("GET", "/api/v1/reviews", Requires(Action::ChangeRead)),
    rule(
        "POST",
        "/api/v1/documents/{digest}/purge",
        Requires(Action::DocumentPurge),
    ),
    rule("POST", "/api/v1/documents/find", Requires(Action::DocumentPurge)),
    rule("POST", "/api/v1/promotions", Requires(Action::Promote)),
    rule("POST", "/api/v1/environments/{env}/rollback", Requires(Action::Promote)),
    rule(
        "PUT",
        "/api/v1/environments/{env}/config",
        Requires(Action::ConfigPublish),
    ),
    rule("GET", "/api/v1/environments/{env}/config", Requires(Action::ConfigRead)),
    rule(
        "POST",
        "/api/v1/environments/{env}/observations",
        Requires(Action::Observe),
    ),
    rule("POST", "/api/v1/observations", Requires(Action::Observe)),
    rule("POST", "/api/v1/rollouts", Requires(Action::Promote)),
    rule("GET", "/api/v1/rollouts", Requires(Action::ChangeRead)),
    rule("GET", "/api/v1/rollouts/{id}", Requires(Action::ChangeRead)),
    rule("POST", "/api/v1/rollouts/{id}/{command}", Requires(Action::Promote)),
    rule("POST", "/api/v1/environments/{env}/drills", Requires(Action::Promote)),
    rule(
        "GET",
        "/api/v1/environments/{env}/release-notes",
        Requires(Action::ChangeRead),
    ),
    rule(
        "GET",
        "/api/v1/environments/{env}/deployments",
        Requires(Action::ChangeRead),
    ),
    rule(
        "GET",
        "/api/v1/environments/{env}/deployments/in-flight",
        Requires(Action::ChangeRead),
    ),
    rule("GET", "/api/v1/deployments/{seq}", Requires(Action::ChangeRead)),
    rule(
        "GET",
        "/api/v1/deployments/{seq}/output",
        Requires(Action::DeploymentOutputRead),
    ),
    rule("GET", "/api/v1/metrics/dora", Requires(Action::MetricsRead)),
    rule("GET", "/api/v1/metrics/governance", Requires(Action::MetricsRead)),
    rule("GET", "/api/v1/dr/status", Requires(Action::EvidenceRead)),
    rule("POST", "/api/v1/dr/restore-tests", Requires(Action::Promote)),
    rule("GET", "/api/v1/gate/decisions/{id}", Requires(Action::ChangeRead)),
    rule(
        "GET",
        "/api/v1/gate/decisions/{id}/replay",
        Requires(Action::ChangeRead),
    ),
    rule(
        "GET",
        "/api/v1/gate/decisions/{id}/input",
        Requires(Action::EvidenceRead),
    ),
    rule(
        "POST",
        "/api/v1/changes/{id}/approvals",
        Requires(Action::ChangeApprove),
    ),
    rule("GET", "/api/v1/events", Requires(Action::EventRead)),
    rule("POST", "/api/v1/events", Requires(Action::EventAppend)),
    rule("GET", "/api/v1/tokens", Requires(Action::TokenManage)),
    rule("POST", "/api/v1/tokens", Requires(Action::TokenManage)),
    rule("DELETE", "/api/v1/tokens/{id}", Requires(Action::TokenManage)),
    rule("GET", "/api/v1/users", Requires(Action::UserManage)),
    rule("POST", "/api/v1/users", Requires(Action::UserManage)),
    rule("POST", "/api/v1/users/{name}/unlock", Requires(Action::UserManage)),
    rule("POST", "/api/v1/users/{name}/activate", Requires(Action::UserManage)),
];

/// The rule for a method and route template.
pub fn rule_for(method: &str, path: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .map(|r| r.access)
}

/// The methods `path` has a rule for (none: a route without any, a server bug).
pub fn methods_for(path: &str) -> Vec<&'static str> {
    ROUTES.iter().filter(|r| r.path == path).map(|r| r.method).collect()
}
