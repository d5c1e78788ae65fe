//! [`Ward`], the façade the adapters hold: the ledger, the rules the services read (from one
//! [`crate::config::Config`]), the promotion locks and the ports to the outside (the runtimes
//! Ward runs itself, re-authentication by an identity provider).
//!
//! ward-server's `AppState` holds one beside what only HTTP needs; the CLI's local mode builds
//! one from the same configuration code. Each method is one operation of the application with
//! the rules it needs filled in from the façade, so callers pass only what the request says
//! (who asks, which change, which environment). Free text in what a method returns is as
//! stored (references); [`Ward::shown`] resolves it for people, as the API and the CLI print.

use crate::approvals::{self, Approval, ApprovalsView, SignRequest};
use crate::changes::{self, Change, ChangeRequest, ChangeUpdate, ReclassifyRequest};
use crate::deployments::{self, Deployment};
use crate::error::AppError;
use crate::exceptions::{self, Breakglass, BreakglassRequest, Waiver, WaiverRequest};
use crate::gate::{self, CheckRequest, GateDecision, GatePolicy};
use crate::promotion::{self, Locks, PromoteRequest, PromotionContext, Runtimes};
use crate::reauth::ReauthVerifier;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use ward_core::Identity;
use ward_store::Ledger;

/// The application: the ledger, the rules in force, the locks and the ports. Cheap to clone
/// (every part is shared); a reloaded configuration is a new `Ward` over the same ledger, locks
/// and ports ([`Ward::configured`]).
#[derive(Clone)]
pub struct Ward {
    /// The log.
    pub ledger: Ledger,
    /// The PHI/secret guard's configuration (`[guard]`, compiled).
    pub guard: Arc<ward_evidence::guard::GuardConfig>,
    /// Risk classification rules (`[risk]`).
    pub risk: Arc<ward_core::risk::RiskRules>,
    /// Artifact registration rules (`[artifacts]`).
    pub artifacts: Arc<crate::evidence::ArtifactRules>,
    /// Approval meanings and separation-of-duties options (`[approvals]`).
    pub approvals: Arc<ward_core::approval::ApprovalRules>,
    /// The gate's policy bundle and controls, the calendar, the DR and SLO rules and the declared
    /// environments.
    pub gate: Arc<GatePolicy>,
    /// Break-glass review deadlines (`[breakglass]`).
    pub breakglass: Arc<crate::exceptions::BreakglassRules>,
    /// `[metrics]`: the emergency window and the gauges' trailing window.
    pub delivery: Arc<crate::metrics::MetricsRules>,
    /// The `ward.toml` in force, as recorded (`config.loaded`; empty when none was recorded).
    pub loaded_config: Arc<crate::ops::LoadedConfig>,
    /// One lock per environment for promotions, rollbacks and rollouts.
    pub promotion_locks: Locks,
    /// The runtimes Ward runs itself (the local runtime inside `ward serve`; none in the CLI's
    /// local mode).
    pub runtimes: Option<Arc<dyn Runtimes>>,
    /// Re-authentication by an identity provider (OIDC), when one is configured.
    pub reauthenticator: Option<Arc<dyn ReauthVerifier>>,
    /// Where error budgets are read (Prometheus, through an adapter); none: every budget is
    /// unknown and a gate that depends on one blocks. Kept across reloads, handed to the gate.
    pub samples: crate::slo::Samples,
}

impl Ward {
    /// A Ward over `ledger` with the built-in rules (no configuration file), no runtime and no
    /// identity provider.
    pub fn new(ledger: Ledger) -> Ward {
        Ward {
            ledger,
            guard: Arc::default(),
            risk: Arc::default(),
            artifacts: Arc::default(),
            approvals: Arc::default(),
            gate: Arc::new(GatePolicy {
                bundle: ward_core::gate::PolicyBundle::defaults(),
                controls: gate::Controls::default(),
                ..GatePolicy::default()
            }),
            breakglass: Arc::default(),
            delivery: Arc::default(),
            loaded_config: Arc::default(),
            promotion_locks: Locks::default(),
            runtimes: None,
            reauthenticator: None,
            samples: crate::slo::Samples::default(),
        }
    }

    /// This Ward with the rules of `cfg` (what a reloaded `ward.toml` replaces); the ledger,
    /// locks and ports are kept. The error is the gate policy's (a `policy_dir` that does not
    /// load).
    pub fn configured(&self, cfg: &crate::config::Config) -> Result<Ward, String> {
        Ok(Ward {
            guard: Arc::new(cfg.guard()),
            risk: Arc::new(cfg.risk.clone()),
            artifacts: Arc::new(cfg.artifacts.clone()),
            approvals: Arc::new(cfg.approvals.clone()),
            gate: Arc::new(crate::gate::GatePolicy {
                samples: self.samples.clone(),
                ..cfg.gate_policy()?
            }),
            breakglass: Arc::new(cfg.breakglass.clone()),
            delivery: Arc::new(cfg.metrics.clone()),
            ..self.clone()
        })
    }

    /// This Ward reading error budgets through `samples` (its gate policy included).
    pub fn with_samples(mut self, samples: crate::slo::Samples) -> Ward {
        let mut gate = (*self.gate).clone();
        gate.samples = samples.clone();
        self.gate = Arc::new(gate);
        self.samples = samples;
        self
    }

    /// The declared environments.
    pub fn environments(&self) -> &[crate::environment::Environment] {
        &self.gate.environments
    }

    /// `value` with the free text it references shown as text (purged text as its reference),
    /// as people read it.
    pub async fn shown<T: Serialize + DeserializeOwned>(&self, value: T) -> Result<T, AppError> {
        crate::documents::shown(&self.ledger, value).await
    }

    /// The re-authentication context of a request authenticated with the bearer credential of
    /// digest `bearer_sha256` standing for the provider's `subject` (none: a local action,
    /// which presents no bearer).
    pub fn reauth_context<'a>(
        &'a self,
        bearer_sha256: Option<&'a str>,
        subject: Option<&'a str>,
    ) -> crate::reauth::Context<'a> {
        crate::reauth::Context {
            oidc: self.reauthenticator.as_deref(),
            bearer_sha256,
            subject,
        }
    }

    /// What promotion needs: the rules, the locks and the runtimes.
    pub fn promotion_context(&self) -> PromotionContext<'_> {
        PromotionContext {
            policy: &self.gate,
            risk: &self.risk,
            approvals: &self.approvals,
            locks: &self.promotion_locks,
            runtime: self.runtimes.as_deref(),
        }
    }

    /// Evaluates the gate for a change entering an environment and records the decision.
    pub async fn gate_check(&self, by: &Identity, change: &str, req: &CheckRequest) -> Result<GateDecision, AppError> {
        gate::check(&self.ledger, by, change, req, &self.gate, &self.risk, &self.approvals).await
    }

    /// Opens a change request, classified under the risk rules in force.
    pub async fn open_change(&self, by: &Identity, req: &ChangeRequest, from_git: bool) -> Result<Change, AppError> {
        crate::environment::check_targets(self.environments(), &req.environments)?;
        changes::open(&self.ledger, by, &self.risk, &self.approvals, req, from_git).await
    }

    /// Updates a change (commits, paths, artifacts, ticket, environments), classified again.
    pub async fn update_change(
        &self,
        by: &Identity,
        id: &str,
        upd: &ChangeUpdate,
        from_git: bool,
    ) -> Result<Change, AppError> {
        if let Some(targets) = &upd.environments {
            crate::environment::check_targets(self.environments(), targets)?;
        }
        changes::update(&self.ledger, by, &self.risk, &self.approvals, id, upd, from_git).await
    }

    /// Overrides (or proposes to override) a change's tier.
    pub async fn reclassify(&self, by: &Identity, id: &str, req: &ReclassifyRequest) -> Result<Change, AppError> {
        changes::reclassify(&self.ledger, by, id, req, &self.approvals).await
    }

    /// Everything recorded about one change, at `now`.
    pub async fn change_overview(&self, id: &str, now: i64) -> Result<crate::overview::ChangeOverview, AppError> {
        crate::overview::change(&self.ledger, id, now, &self.risk, &self.approvals, self.environments()).await
    }

    /// A change's approvals against its current manifest.
    pub async fn approvals_view(&self, id: &str) -> Result<ApprovalsView, AppError> {
        approvals::view(&self.ledger, id, &self.risk, &self.approvals).await
    }

    /// The manifest a new signature of `change` would cover.
    pub async fn signing_manifest(&self, change: &Change) -> Result<ward_core::approval::Manifest, AppError> {
        approvals::manifest(&self.ledger, change, &self.risk, &self.approvals).await
    }

    /// The meanings `signer` may sign `change` with (`[approvals.meaning_roles]`: a privacy
    /// officer signs only the privacy review, where the change's checklist asks for one; an
    /// approver everything else).
    pub fn meanings_for(&self, signer: &Identity, change: &Change) -> Vec<&str> {
        let asked = self.gate.controls.checklist_for(&change.classification.tags);
        ward_core::approval::meanings_for(signer, &asked, &self.approvals)
    }

    /// What waits for `reader`'s signature: only what separation of duties lets them sign.
    pub async fn inbox(&self, reader: &Identity) -> Result<Vec<crate::board::Waiting>, AppError> {
        crate::board::inbox(&self.ledger, reader, &self.risk, &self.approvals, &self.gate.controls).await
    }

    /// The release board over the declared environments (only `service`'s releases when given).
    pub async fn board(&self, service: Option<&str>) -> Result<crate::board::Board, AppError> {
        crate::board::board(&self.ledger, self.environments(), service).await
    }

    /// Rollouts, oldest first (only `env`'s when given; an undeclared one is not found).
    pub async fn rollouts(&self, env: Option<&str>) -> Result<Vec<crate::rollout::Rollout>, AppError> {
        crate::rollout::history(&self.ledger, self.environments(), env).await
    }

    /// Signs a change (re-authenticated in `cx`, under separation of duties).
    pub async fn sign(
        &self,
        by: &Identity,
        change: &str,
        req: &SignRequest,
        cx: &crate::reauth::Context<'_>,
    ) -> Result<Approval, AppError> {
        let rules = approvals::SigningRules {
            risk: &self.risk,
            approvals: &self.approvals,
            checklist: &self.gate.controls.checklist,
        };
        approvals::sign(&self.ledger, by, change, req, &rules, cx).await
    }

    /// Grants a waiver (re-authenticated in `cx`).
    pub async fn grant_waiver(
        &self,
        by: &Identity,
        req: &WaiverRequest,
        cx: &crate::reauth::Context<'_>,
    ) -> Result<Waiver, AppError> {
        exceptions::grant_waiver(&self.ledger, by, req, &self.approvals, &self.gate.rule_names(), cx).await
    }

    /// Breaks glass (re-authenticated in `cx`).
    pub async fn invoke_breakglass(
        &self,
        by: &Identity,
        req: &BreakglassRequest,
        cx: &crate::reauth::Context<'_>,
    ) -> Result<Breakglass, AppError> {
        exceptions::invoke_breakglass(&self.ledger, by, req, &self.breakglass, &self.gate.rule_names(), cx).await
    }

    /// Every break-glass with its retrospective review, at `now`.
    pub async fn reviews(&self, now: i64) -> Result<Vec<Breakglass>, AppError> {
        exceptions::breakglass(&self.ledger, None, now, &self.risk, &self.approvals).await
    }

    /// Registers an artifact under the `[artifacts]` rules.
    pub async fn register_artifact(
        &self,
        by: &Identity,
        req: &crate::evidence::ArtifactRequest,
    ) -> Result<(crate::evidence::Artifact, bool), AppError> {
        if !self.gate.dr.admits_service(&req.service) {
            return Err(AppError::new(
                crate::error::Kind::Unprocessable,
                "unknown_service",
                "the artifact's service is not one [[services]] in ward.toml declares; a service's name is written into the log, so only a declared one is registered (the name is not repeated)",
                "register the artifact under the service's name as [[services]] declares it, or declare the service there (its tier, RPO, RTO and stores)",
            ));
        }
        crate::evidence::register_with(&self.ledger, by, req, &self.artifacts).await
    }

    /// Attaches an attestation, through the guard in force.
    pub async fn attest(
        &self,
        by: &Identity,
        req: &crate::evidence::AttestationRequest,
    ) -> Result<(crate::evidence::Attestation, bool), AppError> {
        crate::evidence::attest(&self.ledger, by, req, &self.guard).await
    }

    /// Promotes a change into an environment.
    pub async fn promote(&self, by: &Identity, req: &PromoteRequest) -> Result<Deployment, AppError> {
        promotion::promote(&self.ledger, by, req, &self.promotion_context()).await
    }

    /// Rolls an environment (or one tenant) back to its previous known-good release.
    pub async fn rollback(&self, by: &Identity, env: &str, tenant: Option<&str>) -> Result<Deployment, AppError> {
        promotion::rollback(
            &self.ledger,
            by,
            env,
            tenant,
            self.environments(),
            &self.promotion_locks,
            self.runtimes.as_deref(),
        )
        .await
    }

    /// Records what a person or script reports running in a declared environment, with drift
    /// (refused for an environment Ward observes itself).
    pub async fn observe(&self, by: &Identity, obs: &promotion::Observation) -> Result<promotion::Drift, AppError> {
        promotion::observe(&self.ledger, by, self.environments(), obs).await
    }

    /// Asks an environment's runtime what runs and records the observations, with drift.
    pub async fn observe_runtime(&self, by: &Identity, env: &str) -> Result<Vec<promotion::Drift>, AppError> {
        promotion::observe_runtime(&self.ledger, by, env, self.environments(), self.runtimes.as_deref()).await
    }

    /// Publishes a configuration bundle for a declared environment (or one of its tenants).
    pub async fn publish_config(
        &self,
        by: &Identity,
        env: &str,
        req: &promotion::config::ConfigRequest,
    ) -> Result<promotion::config::ConfigBundle, AppError> {
        let e = crate::environment::find(self.environments(), env)?;
        promotion::config::publish(&self.ledger, by, e, req, &self.guard).await
    }

    /// The configuration of a declared environment or tenant (latest bundle or effective).
    pub async fn config_view(
        &self,
        env: &str,
        tenant: Option<&str>,
        effective: bool,
    ) -> Result<promotion::config::ConfigView, AppError> {
        let e = crate::environment::find(self.environments(), env)?;
        promotion::config::view(&self.ledger, e, tenant, effective).await
    }

    /// Release notes of an environment.
    pub async fn release_notes(
        &self,
        env: &str,
        since: Option<&str>,
    ) -> Result<Vec<promotion::ReleaseEntry>, AppError> {
        promotion::release_notes(
            &self.ledger,
            self.environments(),
            env,
            since,
            &self.risk,
            &self.approvals,
        )
        .await
    }

    /// Deployment records of a declared environment, oldest first.
    pub async fn deployment_history(&self, env: &str) -> Result<Vec<Deployment>, AppError> {
        deployments::deployment_history(&self.ledger, self.environments(), env).await
    }

    /// Deployments announced in a declared environment and not recorded yet, oldest first.
    pub async fn deployments_in_flight(&self, env: &str) -> Result<Vec<deployments::Started>, AppError> {
        deployments::in_flight_in(&self.ledger, self.environments(), env).await
    }

    /// What a deployment's target run printed, with what the guard finds redacted.
    pub async fn target_output(&self, seq: u64, tenant: Option<&str>) -> Result<promotion::TargetOutput, AppError> {
        promotion::target_output(&self.ledger, seq, tenant, &self.guard).await
    }

    /// DORA's metrics of an environment.
    pub async fn dora(&self, req: &crate::metrics::DoraRequest) -> Result<crate::metrics::DoraReport, AppError> {
        crate::metrics::dora(&self.ledger, self.environments(), req, &self.delivery.dora()).await
    }

    /// Governance metrics of an environment.
    pub async fn governance(
        &self,
        req: &crate::metrics::DoraRequest,
    ) -> Result<crate::metrics::GovernanceReport, AppError> {
        crate::metrics::governance(&self.ledger, &self.gate, &self.risk, &self.approvals, req).await
    }

    /// Records a restore test of a store `[[services]]` declares ([`crate::dr::record_restore_test`]).
    pub async fn record_restore_test(
        &self,
        by: &ward_core::Identity,
        req: &crate::dr::RestoreTestRequest,
        cx: &crate::reauth::Context<'_>,
        now: i64,
    ) -> Result<crate::dr::RestoreTestRecord, AppError> {
        crate::dr::record_restore_test(&self.ledger, &self.gate.dr, by, req, cx, now).await
    }

    /// DR readiness of the inventory (one service, one environment), at `now`.
    pub async fn dr_status(
        &self,
        service: Option<&str>,
        environment: Option<&str>,
        now: i64,
    ) -> Result<crate::dr::DrStatus, AppError> {
        crate::dr::status(&self.ledger, &self.gate.dr, service, environment, now).await
    }
}
