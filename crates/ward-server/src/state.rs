//! Shared server state.

use crate::identities::Directory;
use crate::limiter::FailureLimiter;
use crate::metrics::Metrics;
use std::sync::Arc;
use ward_ledger::NoteSigner;
use ward_store::Ledger;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The log.
    pub ledger: Ledger,
    /// The checkpoint signer.
    pub signer: Arc<dyn NoteSigner>,
    /// Log origin.
    pub origin: String,
    /// Token lookups.
    pub directory: Directory,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Authentication-failure limiter.
    pub limiter: Arc<FailureLimiter>,
    /// OIDC/JWT verification, when providers are configured.
    pub oidc: Option<Arc<crate::oidc::Verifier>>,
    /// The PHI/secret guard's configuration.
    pub guard: Arc<ward_evidence::guard::GuardConfig>,
    /// Risk classification rules.
    pub risk: Arc<ward_core::risk::RiskRules>,
    /// Artifact registration rules (`[artifacts]`).
    pub artifacts: Arc<crate::evidence::ArtifactRules>,
    /// Approval meanings and separation-of-duties options.
    pub approvals: Arc<ward_core::approval::ApprovalRules>,
    /// The gate's policy bundle and controls, the calendar and the declared environments.
    pub gate: Arc<crate::gate::GatePolicy>,
    /// Break-glass review deadlines.
    pub breakglass: Arc<crate::exceptions::BreakglassRules>,
    /// `[metrics]`: the emergency window and the gauges' trailing window.
    pub delivery: Arc<ward_app::metrics::MetricsRules>,
    /// One lock per environment for promotions.
    pub promotion_locks: crate::promotion::Locks,
    /// The rollout engine and local runtime (when `ward serve` runs one).
    pub rollouts: Option<Arc<crate::rollout::Engine>>,
    /// The `ward.toml` this server runs (`config.loaded`).
    pub loaded_config: Arc<ward_app::ops::LoadedConfig>,
    /// The web UI's sessions' last page views in this process (the idle timeout).
    pub ui_activity: Arc<crate::activity::Activity>,
    /// The web UI's OIDC sign-ins waiting for the provider's answer, in this process.
    pub ui_oidc: Arc<crate::activity::Pending>,
}

impl AppState {
    /// The re-authentication context of a request authenticated with `presented`.
    pub fn reauth<'a>(&'a self, presented: &'a crate::reauth::PresentedCredential) -> crate::reauth::Context<'a> {
        crate::reauth::Context {
            oidc: self.oidc.as_deref().map(|v| v as &dyn ward_app::reauth::ReauthVerifier),
            bearer_sha256: Some(&presented.0),
        }
    }

    /// State over a ledger and signer.
    pub fn new(ledger: Ledger, signer: Arc<dyn NoteSigner>, origin: String) -> AppState {
        AppState {
            ledger,
            signer,
            origin,
            directory: Directory::default(),
            metrics: Arc::new(Metrics::new()),
            limiter: Arc::new(FailureLimiter::default()),
            oidc: None,
            guard: Arc::default(),
            risk: Arc::default(),
            artifacts: Arc::default(),
            approvals: Arc::default(),
            gate: Arc::new(crate::gate::GatePolicy {
                bundle: ward_core::gate::PolicyBundle::defaults(),
                controls: crate::gate::Controls::default(),
                ..crate::gate::GatePolicy::default()
            }),
            breakglass: Arc::default(),
            delivery: Arc::default(),
            promotion_locks: crate::promotion::Locks::default(),
            rollouts: None,
            loaded_config: Arc::default(),
            ui_activity: Arc::default(),
            ui_oidc: Arc::default(),
        }
    }

    /// Accepts JWTs from these providers as well as API tokens.
    pub fn with_oidc(mut self, verifier: crate::oidc::Verifier) -> AppState {
        self.oidc = Some(Arc::new(verifier));
        self
    }
}
