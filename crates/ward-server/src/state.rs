//! Shared server state: the application ([`ward_app::Ward`]) and what only HTTP needs.

use crate::limiter::FailureLimiter;
use crate::metrics::Metrics;
use std::sync::Arc;
use ward_app::Ward;
use ward_app::identities::Directory;
use ward_ledger::NoteSigner;
use ward_store::Ledger;

/// What every handler can reach. The application's parts (ledger, rules, locks, ports) are the
/// [`Ward`] it holds, also reached through `Deref` (`state.ledger`, `state.gate`).
#[derive(Clone)]
pub struct AppState {
    /// The application: ledger, rules in force, promotion locks, runtimes and re-authentication.
    pub ward: Ward,
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
    /// OIDC/JWT verification, when providers are configured (bearer tokens, browser sign-in;
    /// the same verifier is the Ward's re-authentication port).
    pub oidc: Option<Arc<crate::oidc::Verifier>>,
    /// The rollout engine and local runtime (when `ward serve` runs one), for the rollout
    /// routes; the Ward holds the same engine as its `Runtimes` port.
    pub rollouts: Option<Arc<ward_rollout::Engine>>,
    /// The web UI's sessions' last page views in this process (the idle timeout).
    pub ui_activity: Arc<crate::activity::Activity>,
    /// The web UI's OIDC sign-ins waiting for the provider's answer, in this process.
    pub ui_oidc: Arc<crate::activity::Pending>,
}

impl std::ops::Deref for AppState {
    type Target = Ward;
    fn deref(&self) -> &Ward {
        &self.ward
    }
}

impl std::ops::DerefMut for AppState {
    fn deref_mut(&mut self) -> &mut Ward {
        &mut self.ward
    }
}

impl AppState {
    /// The re-authentication context of a request authenticated with `presented`.
    pub fn reauth<'a>(&'a self, presented: &'a ward_app::reauth::PresentedCredential) -> ward_app::reauth::Context<'a> {
        self.ward.reauth_context(Some(&presented.0), presented.1.as_deref())
    }

    /// State over a ledger and signer, with the built-in rules.
    pub fn new(ledger: Ledger, signer: Arc<dyn NoteSigner>, origin: String) -> AppState {
        AppState::over(Ward::new(ledger).with_samples(ward_rollout::samples()), signer, origin)
    }

    /// State over an application and signer.
    pub fn over(ward: Ward, signer: Arc<dyn NoteSigner>, origin: String) -> AppState {
        AppState {
            ward,
            signer,
            origin,
            directory: Directory::default(),
            metrics: Arc::new(Metrics::new()),
            limiter: Arc::new(FailureLimiter::default()),
            oidc: None,
            rollouts: None,
            ui_activity: Arc::default(),
            ui_oidc: Arc::default(),
        }
    }

    /// Accepts JWTs from these providers as well as API tokens, and re-authenticates with them.
    pub fn with_oidc(mut self, verifier: crate::oidc::Verifier) -> AppState {
        let v = Arc::new(verifier);
        self.ward.reauthenticator = Some(v.clone());
        self.oidc = Some(v);
        self
    }

    /// Runs `engine`: the rollout routes use it, and promotions reach the local runtime through
    /// it (the Ward's `Runtimes` port).
    pub fn with_rollouts(mut self, engine: Arc<ward_rollout::Engine>) -> AppState {
        self.ward.runtimes = Some(engine.clone() as Arc<dyn ward_app::promotion::Runtimes>);
        self.rollouts = Some(engine);
        self
    }
}
