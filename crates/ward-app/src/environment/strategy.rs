//! The runtime and strategy of an environment, as `ward.toml` declares them: data, defaults and
//! serde only. The local runtime and the rollout engine (`crate::rollout`) act on them; an
//! environment embeds them without depending on either.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;
pub use ward_core::canary::Thresholds;

/// `[environments.runtime]`: the local runtime.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Where the router listens.
    pub listen: SocketAddr,
    /// Where `/metrics` and `/routes` are served.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<SocketAddr>,
    /// Directory holding the builds (found by their sha256).
    pub artifacts: PathBuf,
    /// Readiness path of the service.
    #[serde(default = "default_health")]
    pub health: String,
    /// Header naming the tenant of a request.
    #[serde(default = "default_tenant_header")]
    pub tenant_header: String,
    /// How long an instance may take to become ready.
    #[serde(default = "default_ready_ms")]
    pub ready_timeout_ms: u64,
    /// How long an instance may take to send a response's headers, and the longest its body
    /// may then stay idle; past it the request fails (504, or a cut response) and counts as an
    /// error of that version, so a hung canary is judged failing.
    #[serde(default = "default_upstream_timeout_ms")]
    pub upstream_timeout_ms: u64,
}

fn default_upstream_timeout_ms() -> u64 {
    ward_core::canary::UPSTREAM_TIMEOUT.as_millis() as u64
}

fn default_health() -> String {
    "/healthz".into()
}
fn default_tenant_header() -> String {
    ward_core::canary::TENANT_HEADER.into()
}
fn default_ready_ms() -> u64 {
    15_000
}

/// How a release is exposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum StrategyKind {
    /// Traffic shares step by step.
    Canary,
    /// All at once after verification; the old version stays warm for a window.
    BlueGreen,
    /// Ring by ring of the environment's tenants.
    Rings,
}

/// `strategy` of an environment (or of one rollout).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Strategy {
    /// Canary, blue-green or rings.
    pub kind: StrategyKind,
    /// Canary traffic shares, in percent.
    #[serde(default = "default_steps")]
    pub steps: Vec<u8>,
    /// How long each step is observed before the next.
    #[serde(default = "default_pause_ms")]
    pub pause_ms: u64,
    /// How often the analysis runs during a step.
    #[serde(default = "default_tick_ms")]
    pub tick_ms: u64,
    /// Failed analyses tolerated within a step before rolling back (1: the first one).
    #[serde(default = "default_failure_limit")]
    pub failure_limit: u32,
    /// Thresholds.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub analysis: Thresholds,
    /// Synthetic calls that must succeed against the new version (at the end of each step).
    #[serde(default)]
    pub http_checks: Vec<HttpCheck>,
    /// PromQL checks (templated by `{{version}}` and `{{tenant}}`) at the end of each step.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub prometheus: Vec<ward_core::canary::PromCheck>,
    /// Blue-green: how long the old version stays warm for an instant switch back.
    #[serde(default = "default_keep_warm_ms")]
    pub keep_warm_ms: u64,
}

fn default_steps() -> Vec<u8> {
    vec![10, 50, 100]
}
fn default_pause_ms() -> u64 {
    5_000
}
fn default_tick_ms() -> u64 {
    100
}
fn default_failure_limit() -> u32 {
    1
}
fn default_keep_warm_ms() -> u64 {
    60_000
}

impl Strategy {
    /// A strategy of `kind` with the defaults.
    pub fn of(kind: StrategyKind) -> Strategy {
        Strategy {
            kind,
            steps: default_steps(),
            pause_ms: default_pause_ms(),
            tick_ms: default_tick_ms(),
            failure_limit: default_failure_limit(),
            analysis: Thresholds::default(),
            http_checks: vec![],
            prometheus: vec![],
            keep_warm_ms: default_keep_warm_ms(),
        }
    }
}

/// A synthetic call against the new version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// Path (and query) to GET.
    pub path: String,
    /// Expected status.
    #[serde(default = "default_expect")]
    pub expect_status: u16,
    /// Tenant header to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

fn default_expect() -> u16 {
    200
}
