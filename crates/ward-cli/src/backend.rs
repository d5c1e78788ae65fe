//! Where a command runs: [`Backend::Local`] (the data directory's store, through a [`Ward`]
//! built from `ward.toml` by [`configure`], the same code `ward serve` runs) or
//! [`Backend::Remote`] (a Ward server over HTTP). One method per operation, so each command
//! body is written once: `let d = backend.gate_check(change, env).await?;`.
//!
//! The local side opens the data directory (and reads `ward.toml`) on first use, in the order
//! the checks always ran: the data directory, then the configuration, then the person
//! (`--as`, re-authenticated) — so refusals are the same as before. What it returns is shown as
//! the server shows it (free text resolved with `documents::shown` where the route does).

use crate::cli::Global;
use crate::context::{Context, local_identity, local_operator, local_person};
use crate::failure::{Failure, api_failure};
use crate::remote::Remote;
use anyhow::Result;
use std::path::Path;
use tokio::sync::OnceCell;
use ward_app::Ward;
use ward_app::approvals::{Approval, ApprovalsView, SignRequest};
use ward_app::audit::{Population, PopulationManifest, PopulationQuery, PopulationRow};
use ward_app::bundle::Query;
use ward_app::changes::{Change, ChangeRequest, ChangeUpdate, ReclassifyRequest};
use ward_app::deployments::Deployment;
use ward_app::dr::{DrStatus, RestoreTestRecord, RestoreTestRequest};
use ward_app::evidence::{Artifact, ArtifactRequest, ArtifactView, Attestation, AttestationRequest};
use ward_app::exceptions::{Breakglass, BreakglassRequest, Waiver, WaiverRequest};
use ward_app::gate::{CheckRequest, Explanation, GateDecision, Replay};
use ward_app::identities::{self, CreatedToken, TokenRecord, TokenRequest, UserRecord, UserRequest};
use ward_app::keys::{self, KeyRecord, TrustRequest, TypeRecord, TypeRequest};
use ward_app::metrics::{DoraReport, DoraRequest, GovernanceReport};
use ward_app::ops::{self, Appended, ConsistencyProof, Entries, InclusionProof, LogStatus, SignedCheckpoint};
use ward_app::overview::ChangeOverview;
use ward_app::promotion::config::{ConfigBundle, ConfigRequest, ConfigView};
use ward_app::promotion::{Drift, Observation, PromoteRequest, ReleaseEntry, TargetOutput};
use ward_app::purge::{PurgeOutcome, PurgeRequest};
use ward_app::search::{SearchQuery, SearchResult};
use ward_core::Action;
use ward_ledger::bundle::BundleManifest;
use ward_server::config::ServerConfig;

/// `ward.toml`: the given file, else the data directory's if present, else defaults. Every
/// mode reads it here (local commands, `ward serve`, `ward config check`).
pub fn load_config(g: &Global, explicit: Option<&Path>) -> Result<ServerConfig> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let p = g.data_dir.join("ward.toml");
            if !p.exists() {
                return Ok(ServerConfig::default());
            }
            p
        }
    };
    ServerConfig::load(&path).map_err(|e| {
        Failure::new(
            "bad_config",
            e.to_string(),
            "fix the file where the message points (its format: docs/CLI.md), then check it again: ward config check",
        )
        .into()
    })
}

/// The gate policy of a configuration, or an error naming the policy directory.
pub fn gate_policy(cfg: &ward_app::config::Config) -> Result<ward_app::gate::GatePolicy> {
    cfg.gate_policy()
        .map_err(|e| Failure::new("bad_config", e, "fix [gate] policy_dir in ward.toml").into())
}

/// `ward` with the rules of `cfg`: the one place a configuration becomes the rules a Ward
/// runs, for local mode, `ward serve` and its reloads.
pub fn configure(ward: &Ward, cfg: &ward_app::config::Config) -> Result<Ward> {
    ward.configured(cfg)
        .map_err(|e| Failure::new("bad_config", e, "fix [gate] policy_dir in ward.toml").into())
}

/// The rollout engine (the local runtime) over `ward`'s ledger, rules and promotion locks, with
/// its files under `dir`; not yet started. The one place the CLI builds it (`ward serve`, the
/// demo); the Ward then reaches it as its `Runtimes` port.
pub fn rollout_engine(ward: &Ward, dir: std::path::PathBuf) -> std::sync::Arc<ward_rollout::Engine> {
    ward_rollout::Engine::new(
        ward.ledger.clone(),
        ward.gate.clone(),
        ward.risk.clone(),
        ward.approvals.clone(),
        ward.promotion_locks.clone(),
        dir,
    )
}

/// The local side: the data directory and the Ward over it, opened on first use.
pub struct Local<'g> {
    g: &'g Global,
    ctx: OnceCell<Context>,
    ward: OnceCell<Ward>,
}

impl<'g> Local<'g> {
    /// The opened data directory.
    pub async fn context(&self) -> Result<&Context> {
        self.ctx.get_or_try_init(|| Context::open(self.g)).await
    }

    /// The Ward over the data directory, with the rules of its `ward.toml`.
    pub async fn ward(&self) -> Result<&Ward> {
        let ctx = self.context().await?;
        self.ward
            .get_or_try_init(|| async {
                let cfg = load_config(self.g, None)?;
                configure(
                    &Ward::new(ctx.ledger.clone()).with_samples(ward_rollout::samples()),
                    &cfg,
                )
            })
            .await
    }

    /// Who exports for an auditor locally: a named local user (`--as`) holding the export
    /// right, or else the operator, who can read the store's files anyway.
    pub async fn auditor(&self) -> Result<ward_core::Identity> {
        Ok(match &self.g.as_user {
            Some(_) => local_identity(self.g, self.context().await?, Action::LogExport).await?,
            None => local_operator(),
        })
    }

    /// The ledger (no configuration read).
    async fn ledger(&self) -> Result<&ward_store::Ledger> {
        Ok(&self.context().await?.ledger)
    }
}

/// Where commands run.
pub enum Backend<'g> {
    /// The data directory's store.
    Local(Box<Local<'g>>),
    /// A Ward server.
    Remote(Remote),
}

/// A fresh OIDC token for re-authentication (`WARD_REAUTH_TOKEN`).
pub fn reauth_token() -> Option<String> {
    std::env::var("WARD_REAUTH_TOKEN").ok().filter(|t| !t.is_empty())
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

impl<'g> Backend<'g> {
    /// `--server` (or `WARD_SERVER`) when given, else the data directory.
    pub fn from_global(g: &'g Global) -> Result<Backend<'g>> {
        Ok(match Remote::from_global(g)? {
            Some(r) => Backend::Remote(r),
            None => Backend::Local(Box::new(Local {
                g,
                ctx: OnceCell::new(),
                ward: OnceCell::new(),
            })),
        })
    }

    /// Evaluates the gate for `change` entering `env` (locally as the operator).
    pub async fn gate_check(&self, change: &str, env: &str) -> Result<GateDecision> {
        match self {
            Backend::Remote(r) => {
                r.post(&format!("/api/v1/changes/{change}/gate"), &CheckRequest::env(env))
                    .await
            }
            Backend::Local(l) => {
                let w = l.ward().await?;
                // Checked by the named person (`--as`, re-authenticated) when one is named, so
                // the decision records who asked; else by the operator.
                let by = match &l.g.as_user {
                    Some(_) => local_person(l.g, l.context().await?, Action::GateCheck).await?,
                    None => local_operator(),
                };
                let d = w
                    .gate_check(&by, change, &CheckRequest::env(env))
                    .await
                    .map_err(api_failure)?;
                Ok(w.shown(d).await.map_err(api_failure)?)
            }
        }
    }

    /// A recorded decision and what met each control.
    pub async fn gate_explain(&self, id: u64) -> Result<Explanation> {
        match self {
            Backend::Remote(r) => r.get(&format!("/api/v1/gate/decisions/{id}"), &[]).await,
            Backend::Local(l) => {
                let ledger = l.ledger().await?;
                let x = ward_app::gate::explain(ledger, id).await.map_err(api_failure)?;
                Ok(ward_app::documents::shown(ledger, x).await.map_err(api_failure)?)
            }
        }
    }

    /// The input document a decision was evaluated on.
    pub async fn gate_input(&self, id: u64) -> Result<serde_json::Value> {
        match self {
            Backend::Remote(r) => r.get(&format!("/api/v1/gate/decisions/{id}/input"), &[]).await,
            Backend::Local(l) => {
                let ledger = l.ledger().await?;
                let input = ward_app::gate::stored_input(ledger, id).await.map_err(api_failure)?;
                Ok(ward_app::documents::shown(ledger, input).await.map_err(api_failure)?)
            }
        }
    }

    /// A recorded decision evaluated again from its stored input and policy.
    pub async fn gate_replay(&self, id: u64) -> Result<Replay> {
        match self {
            Backend::Remote(r) => r.get(&format!("/api/v1/gate/decisions/{id}/replay"), &[]).await,
            Backend::Local(l) => {
                let ledger = l.ledger().await?;
                let r = ward_app::gate::replay(ledger, id).await.map_err(api_failure)?;
                Ok(ward_app::documents::shown(ledger, r).await.map_err(api_failure)?)
            }
        }
    }

    /// Grants a waiver (locally as `--as`, a person holding the role, re-authenticated by the
    /// service with the password in the request).
    pub async fn grant_waiver(&self, req: &WaiverRequest) -> Result<Waiver> {
        match self {
            Backend::Remote(r) => r.post("/api/v1/waivers", req).await,
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let w = l.ward().await?;
                let who = local_identity(l.g, ctx, Action::WaiverGrant).await?;
                Ok(w.grant_waiver(&who, req, &Default::default())
                    .await
                    .map_err(api_failure)?)
            }
        }
    }

    /// A change's waivers, active and expired.
    pub async fn waivers(&self, change: &str) -> Result<Vec<Waiver>> {
        match self {
            Backend::Remote(r) => r.get(&format!("/api/v1/changes/{change}/waivers"), &[]).await,
            Backend::Local(l) => {
                let ledger = l.ledger().await?;
                let list = ward_app::exceptions::waivers(ledger, change, now())
                    .await
                    .map_err(api_failure)?;
                Ok(ward_app::documents::shown(ledger, list).await.map_err(api_failure)?)
            }
        }
    }

    /// Breaks glass (locally as `--as`, re-authenticated by the service).
    pub async fn break_glass(&self, req: &BreakglassRequest) -> Result<Breakglass> {
        match self {
            Backend::Remote(r) => r.post("/api/v1/breakglass", req).await,
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let w = l.ward().await?;
                let who = local_identity(l.g, ctx, Action::BreakGlass).await?;
                Ok(w.invoke_breakglass(&who, req, &Default::default())
                    .await
                    .map_err(api_failure)?)
            }
        }
    }

    /// Every break-glass with its retrospective review.
    pub async fn reviews(&self) -> Result<Vec<Breakglass>> {
        match self {
            Backend::Remote(r) => r.get("/api/v1/reviews", &[]).await,
            Backend::Local(l) => {
                let w = l.ward().await?;
                let list = w.reviews(now()).await.map_err(api_failure)?;
                Ok(w.shown(list).await.map_err(api_failure)?)
            }
        }
    }

    /// Asks an environment's runtime what runs (locally: no runtime of Ward's own, the
    /// environment's `observe_command`), as the operator.
    pub async fn observe_runtime(&self, env: &str) -> Result<Vec<Drift>> {
        match self {
            Backend::Remote(r) => {
                r.post(
                    &format!("/api/v1/environments/{env}/observations"),
                    &serde_json::json!({}),
                )
                .await
            }
            Backend::Local(l) => Ok(l
                .ward()
                .await?
                .observe_runtime(&local_operator(), env)
                .await
                .map_err(api_failure)?),
        }
    }

    /// Records what runs in an environment, with drift (locally as the operator).
    pub async fn observe(&self, obs: &Observation) -> Result<Drift> {
        match self {
            Backend::Remote(r) => r.post("/api/v1/observations", obs).await,
            Backend::Local(l) => Ok(l
                .ward()
                .await?
                .observe(&local_operator(), obs)
                .await
                .map_err(api_failure)?),
        }
    }

    /// Promotes a change (locally as `--as`, re-authenticated).
    pub async fn promote(&self, req: &PromoteRequest) -> Result<Deployment> {
        match self {
            Backend::Remote(r) => r.post_deployment("/api/v1/promotions", req).await,
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let w = l.ward().await?;
                let who = local_person(l.g, ctx, Action::Promote).await?;
                Ok(w.promote(&who, req).await.map_err(api_failure)?)
            }
        }
    }

    /// Release notes of an environment.
    pub async fn release_notes(&self, env: &str, since: Option<&str>) -> Result<Vec<ReleaseEntry>> {
        match self {
            Backend::Remote(r) => {
                let q: Vec<(&str, String)> = since.map(|s| ("since", s.to_string())).into_iter().collect();
                r.get(&format!("/api/v1/environments/{env}/release-notes"), &q).await
            }
            Backend::Local(l) => Ok(l.ward().await?.release_notes(env, since).await.map_err(api_failure)?),
        }
    }

    /// Rolls an environment (or one tenant) back (locally as `--as`, re-authenticated).
    pub async fn rollback(&self, env: &str, tenant: Option<&str>) -> Result<Deployment> {
        match self {
            Backend::Remote(r) => {
                let q = tenant.map(|t| format!("?tenant={t}")).unwrap_or_default();
                r.post_deployment(
                    &format!("/api/v1/environments/{env}/rollback{q}"),
                    &serde_json::json!({}),
                )
                .await
            }
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let w = l.ward().await?;
                let who = local_person(l.g, ctx, Action::Promote).await?;
                Ok(w.rollback(&who, env, tenant).await.map_err(api_failure)?)
            }
        }
    }

    /// Deployment records of an environment, oldest first.
    pub async fn deployments(&self, env: &str) -> Result<Vec<Deployment>> {
        match self {
            Backend::Remote(r) => r.get(&format!("/api/v1/environments/{env}/deployments"), &[]).await,
            Backend::Local(l) => Ok(l.ward().await?.deployment_history(env).await.map_err(api_failure)?),
        }
    }

    /// Deployments announced in `env` and not recorded yet.
    pub async fn in_flight(&self, env: &str) -> Result<Vec<ward_app::deployments::Started>> {
        match self {
            Backend::Remote(r) => {
                r.get(&format!("/api/v1/environments/{env}/deployments/in-flight"), &[])
                    .await
            }
            Backend::Local(l) => Ok(l.ward().await?.deployments_in_flight(env).await.map_err(api_failure)?),
        }
    }

    /// One deployment record.
    pub async fn deployment(&self, seq: u64) -> Result<Deployment> {
        match self {
            Backend::Remote(r) => r.get(&format!("/api/v1/deployments/{seq}"), &[]).await,
            Backend::Local(l) => Ok(ward_app::deployments::deployment(l.ledger().await?, seq)
                .await
                .map_err(api_failure)?),
        }
    }

    /// What a deployment's target run printed.
    pub async fn deployment_output(&self, seq: u64, tenant: Option<&str>) -> Result<TargetOutput> {
        match self {
            Backend::Remote(r) => {
                let q: Vec<(&str, String)> = tenant.iter().map(|t| ("tenant", t.to_string())).collect();
                r.get(&format!("/api/v1/deployments/{seq}/output"), &q).await
            }
            Backend::Local(l) => Ok(l.ward().await?.target_output(seq, tenant).await.map_err(api_failure)?),
        }
    }

    /// Publishes a configuration bundle (locally as `--as`, re-authenticated, once the
    /// environment is found declared).
    pub async fn config_set(&self, env: &str, req: &ConfigRequest) -> Result<ConfigBundle> {
        match self {
            Backend::Remote(r) => r.put(&format!("/api/v1/environments/{env}/config"), req).await,
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let w = l.ward().await?;
                ward_app::environment::find(w.environments(), env).map_err(api_failure)?;
                let who = local_person(l.g, ctx, Action::ConfigPublish).await?;
                Ok(w.publish_config(&who, env, req).await.map_err(api_failure)?)
            }
        }
    }

    /// The configuration of an environment or tenant.
    pub async fn config_show(&self, env: &str, tenant: Option<&str>, effective: bool) -> Result<ConfigView> {
        match self {
            Backend::Remote(r) => {
                let mut q = vec![("effective", effective.to_string())];
                if let Some(t) = tenant {
                    q.push(("tenant", t.to_string()));
                }
                r.get(&format!("/api/v1/environments/{env}/config"), &q).await
            }
            Backend::Local(l) => Ok(l
                .ward()
                .await?
                .config_view(env, tenant, effective)
                .await
                .map_err(api_failure)?),
        }
    }

    /// Opens a change (locally as `--as`, re-authenticated); `from_git` when the commits and
    /// paths were read from a git range.
    pub async fn open_change(&self, req: &ChangeRequest) -> Result<Change> {
        match self {
            Backend::Remote(r) => r.post("/api/v1/changes", req).await,
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let w = l.ward().await?;
                let who = local_person(l.g, ctx, Action::ChangeOpen).await?;
                let c = w
                    .open_change(&who, req, req.commit_range.is_some())
                    .await
                    .map_err(api_failure)?;
                Ok(w.shown(c).await.map_err(api_failure)?)
            }
        }
    }

    /// Updates a change (locally as `--as`, re-authenticated); `from_git` as for opening.
    pub async fn update_change(&self, id: &str, upd: &ChangeUpdate, from_git: bool) -> Result<Change> {
        match self {
            Backend::Remote(r) => r.patch(&format!("/api/v1/changes/{id}"), upd).await,
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let w = l.ward().await?;
                let who = local_person(l.g, ctx, Action::ChangeOpen).await?;
                let c = w.update_change(&who, id, upd, from_git).await.map_err(api_failure)?;
                Ok(w.shown(c).await.map_err(api_failure)?)
            }
        }
    }

    /// Everything recorded about one change.
    pub async fn change_overview(&self, id: &str) -> Result<ChangeOverview> {
        match self {
            Backend::Remote(r) => r.get(&format!("/api/v1/changes/{id}/overview"), &[]).await,
            Backend::Local(l) => {
                let w = l.ward().await?;
                let o = w.change_overview(id, now()).await.map_err(api_failure)?;
                Ok(w.shown(o).await.map_err(api_failure)?)
            }
        }
    }

    /// Every change.
    pub async fn changes(&self) -> Result<Vec<Change>> {
        match self {
            Backend::Remote(r) => r.get("/api/v1/changes", &[]).await,
            Backend::Local(l) => {
                let ledger = l.ledger().await?;
                let list = ward_app::changes::list(ledger).await.map_err(api_failure)?;
                Ok(ward_app::documents::shown(ledger, list).await.map_err(api_failure)?)
            }
        }
    }

    /// A change's approvals against its current manifest.
    pub async fn approvals(&self, id: &str) -> Result<ApprovalsView> {
        match self {
            Backend::Remote(r) => r.get(&format!("/api/v1/changes/{id}/approvals"), &[]).await,
            Backend::Local(l) => {
                let w = l.ward().await?;
                let view = w.approvals_view(id).await.map_err(api_failure)?;
                Ok(w.shown(view).await.map_err(api_failure)?)
            }
        }
    }

    /// Overrides a change's tier (locally as `--as`, re-authenticated).
    pub async fn classify(&self, id: &str, req: &ReclassifyRequest) -> Result<Change> {
        match self {
            Backend::Remote(r) => r.post(&format!("/api/v1/changes/{id}/classification"), req).await,
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let w = l.ward().await?;
                let who = local_person(l.g, ctx, Action::ChangeClassify).await?;
                let c = w.reclassify(&who, id, req).await.map_err(api_failure)?;
                Ok(w.shown(c).await.map_err(api_failure)?)
            }
        }
    }

    /// Signs a change (locally as `--as`, holding the role; the service re-authenticates with
    /// the password in the request).
    pub async fn approve(&self, change: &str, req: &SignRequest) -> Result<Approval> {
        match self {
            Backend::Remote(r) => r.post(&format!("/api/v1/changes/{change}/approvals"), req).await,
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let w = l.ward().await?;
                let who = local_identity(l.g, ctx, Action::ChangeApprove).await?;
                Ok(w.sign(&who, change, req, &Default::default())
                    .await
                    .map_err(api_failure)?)
            }
        }
    }

    /// Registers an artifact (locally as the operator, under `[artifacts]`).
    pub async fn register_artifact(&self, req: &ArtifactRequest) -> Result<Artifact> {
        match self {
            Backend::Remote(r) => r.post("/api/v1/artifacts", req).await,
            Backend::Local(l) => Ok(l
                .ward()
                .await?
                .register_artifact(&local_operator(), req)
                .await
                .map_err(api_failure)?
                .0),
        }
    }

    /// An artifact and its attestations.
    pub async fn artifact(&self, digest: &str) -> Result<ArtifactView> {
        match self {
            Backend::Remote(r) => r.get(&format!("/api/v1/artifacts/{digest}"), &[]).await,
            Backend::Local(l) => {
                let ledger = l.ledger().await?;
                let artifact = ward_app::evidence::artifact_shown(ledger, digest)
                    .await
                    .map_err(api_failure)?
                    .ok_or_else(|| {
                        Failure::new(
                            "not_found",
                            format!("artifact {} is not registered", ward_app::identifier::shown(digest)),
                            format!(
                                "register it: ward artifact register --service NAME --version V --digest {}",
                                if ward_app::identifier::shown(digest).starts_with('"') {
                                    digest
                                } else {
                                    "DIGEST"
                                }
                            ),
                        )
                    })?;
                let attestations = ward_app::evidence::attestations(ledger, digest)
                    .await
                    .map_err(api_failure)?;
                let attestations = ward_app::documents::shown(ledger, attestations)
                    .await
                    .map_err(api_failure)?;
                Ok(ArtifactView { artifact, attestations })
            }
        }
    }

    /// The attestations about an artifact, or (`change`) about a change.
    pub async fn attestations(&self, target: &str, change: bool) -> Result<Vec<Attestation>> {
        match self {
            Backend::Remote(r) if change => r.get(&format!("/api/v1/changes/{target}/attestations"), &[]).await,
            Backend::Remote(r) => Ok(r
                .get::<ArtifactView>(&format!("/api/v1/artifacts/{target}"), &[])
                .await?
                .attestations),
            Backend::Local(l) => {
                let ledger = l.ledger().await?;
                let list = ward_app::evidence::attestations(ledger, target)
                    .await
                    .map_err(api_failure)?;
                Ok(ward_app::documents::shown(ledger, list).await.map_err(api_failure)?)
            }
        }
    }

    /// Attaches an attestation (locally as the operator, through the guard in force).
    pub async fn attest(&self, req: &AttestationRequest) -> Result<Attestation> {
        match self {
            Backend::Remote(r) => r.post("/api/v1/attestations", req).await,
            Backend::Local(l) => {
                let w = l.ward().await?;
                let att = w.attest(&local_operator(), req).await.map_err(api_failure)?.0;
                Ok(w.shown(att).await.map_err(api_failure)?)
            }
        }
    }

    /// Trusts a builder's key (locally as the operator).
    pub async fn trust_key(&self, req: &TrustRequest) -> Result<KeyRecord> {
        match self {
            Backend::Remote(r) => r.post("/api/v1/keys", req).await,
            Backend::Local(l) => Ok(keys::trust(l.ledger().await?, &local_operator(), req)
                .await
                .map_err(api_failure)?
                .0),
        }
    }

    /// Trusted and revoked keys.
    pub async fn keys(&self) -> Result<Vec<KeyRecord>> {
        match self {
            Backend::Remote(r) => r.get("/api/v1/keys", &[]).await,
            Backend::Local(l) => Ok(keys::list(l.ledger().await?).await.map_err(api_failure)?),
        }
    }

    /// Revokes a key (locally as the operator).
    pub async fn revoke_key(&self, keyid: &str) -> Result<KeyRecord> {
        match self {
            Backend::Remote(r) => r.delete(&format!("/api/v1/keys/{keyid}")).await,
            Backend::Local(l) => Ok(keys::revoke(l.ledger().await?, &local_operator(), keyid)
                .await
                .map_err(api_failure)?),
        }
    }

    /// Registers a custom attestation type (locally as the operator).
    pub async fn register_type(&self, req: &TypeRequest) -> Result<TypeRecord> {
        match self {
            Backend::Remote(r) => r.post("/api/v1/attestation-types", req).await,
            Backend::Local(l) => Ok(keys::register_type(l.ledger().await?, &local_operator(), req)
                .await
                .map_err(api_failure)?
                .0),
        }
    }

    /// Custom attestation types.
    pub async fn types(&self) -> Result<Vec<TypeRecord>> {
        match self {
            Backend::Remote(r) => r.get("/api/v1/attestation-types", &[]).await,
            Backend::Local(l) => Ok(keys::list_types(l.ledger().await?).await.map_err(api_failure)?),
        }
    }

    /// API tokens.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>> {
        match self {
            Backend::Remote(r) => r.get("/api/v1/tokens", &[]).await,
            Backend::Local(l) => Ok(identities::list_tokens(l.ledger().await?).await.map_err(api_failure)?),
        }
    }

    /// Revokes a token (locally as the operator).
    pub async fn revoke_token(&self, id: &str) -> Result<()> {
        match self {
            Backend::Remote(r) => {
                r.delete::<serde_json::Value>(&format!("/api/v1/tokens/{id}")).await?;
            }
            Backend::Local(l) => {
                let dir = identities::Directory::default();
                identities::revoke_token(l.ledger().await?, &local_operator(), id, &dir)
                    .await
                    .map_err(api_failure)?;
            }
        }
        Ok(())
    }

    /// Creates a token. Locally, a person's token (`user`) is created by that person (the
    /// service re-authenticates them with the password in the request); the operator creates
    /// automation tokens only.
    pub async fn create_token(&self, req: &TokenRequest) -> Result<CreatedToken> {
        match self {
            Backend::Remote(r) => r.post("/api/v1/tokens", req).await,
            Backend::Local(l) => {
                let ledger = l.ledger().await?;
                let by = match &req.user {
                    Some(name) => {
                        let user = identities::user_record(ledger, name)
                            .await
                            .map_err(api_failure)?
                            .ok_or_else(|| crate::context::no_local_user(name))?;
                        ward_core::Identity {
                            id: format!("user:{}", user.name),
                            kind: ward_ledger::ActorKind::Human,
                            roles: user.roles,
                        }
                    }
                    None => local_operator(),
                };
                Ok(identities::create_token(ledger, &by, req).await.map_err(api_failure)?)
            }
        }
    }

    /// Lifts a person's signing lockout (locally as the operator).
    pub async fn unlock_user(&self, name: &str) -> Result<()> {
        match self {
            Backend::Remote(r) => {
                r.post::<_, serde_json::Value>(&format!("/api/v1/users/{name}/unlock"), &serde_json::json!({}))
                    .await?;
            }
            Backend::Local(l) => {
                ward_app::reauth::unlock(l.ledger().await?, &local_operator(), name)
                    .await
                    .map_err(api_failure)?;
            }
        }
        Ok(())
    }

    /// Activates a pending user (locally as the operator).
    pub async fn activate_user(&self, name: &str) -> Result<UserRecord> {
        match self {
            Backend::Remote(r) => {
                r.post(&format!("/api/v1/users/{name}/activate"), &serde_json::json!({}))
                    .await
            }
            Backend::Local(l) => Ok(identities::activate_user(l.ledger().await?, &local_operator(), name)
                .await
                .map_err(api_failure)?),
        }
    }

    /// Local users.
    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        match self {
            Backend::Remote(r) => r.get("/api/v1/users", &[]).await,
            Backend::Local(l) => Ok(identities::list_users(l.ledger().await?).await.map_err(api_failure)?),
        }
    }

    /// Adds a local user (locally as the operator).
    pub async fn add_user(&self, req: &UserRequest) -> Result<UserRecord> {
        match self {
            Backend::Remote(r) => r.post("/api/v1/users", req).await,
            Backend::Local(l) => Ok(identities::add_user(l.ledger().await?, &local_operator(), req)
                .await
                .map_err(api_failure)?),
        }
    }

    /// Requests or completes the purge of a document (locally as `--as`, holding the role;
    /// the service re-authenticates with the password in the request).
    pub async fn purge(&self, digest: &str, req: &PurgeRequest) -> Result<PurgeOutcome> {
        match self {
            Backend::Remote(r) => r.post(&format!("/api/v1/documents/{digest}/purge"), req).await,
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let who = local_identity(l.g, ctx, Action::DocumentPurge).await?;
                Ok(
                    ward_app::purge::purge(&ctx.ledger, &who, digest, req, &Default::default())
                        .await
                        .map_err(api_failure)?,
                )
            }
        }
    }

    /// Every stored copy of a text (what a purge must take); locally as a person who
    /// re-authenticates first, so `text` is read after the password (both may come on stdin).
    pub async fn find_holding(&self, text: impl FnOnce() -> Result<String>) -> Result<ward_app::purge::Found> {
        match self {
            Backend::Remote(r) => {
                let req = ward_app::purge::FindRequest { text: text()? };
                r.post("/api/v1/documents/find", &req).await
            }
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let who = local_person(l.g, ctx, Action::DocumentPurge).await?;
                let req = ward_app::purge::FindRequest { text: text()? };
                Ok(ward_app::purge::find_holding(&ctx.ledger, &who, &req)
                    .await
                    .map_err(api_failure)?)
            }
        }
    }

    /// DR readiness of the inventory (one service, one environment) at `now`.
    pub async fn dr_status(&self, service: Option<&str>, env: Option<&str>, now: i64) -> Result<DrStatus> {
        match self {
            Backend::Remote(r) => {
                let mut q = Vec::new();
                if let Some(s) = service {
                    q.push(("service", s.to_string()));
                }
                if let Some(e) = env {
                    q.push(("env", e.to_string()));
                }
                r.get("/api/v1/dr/status", &q).await
            }
            Backend::Local(l) => Ok(l
                .ward()
                .await?
                .dr_status(service, env, now)
                .await
                .map_err(api_failure)?),
        }
    }

    /// Records a restore test signed by a person (locally as `--as`, holding the role; the
    /// service re-authenticates with the password in the request).
    pub async fn restore_test(&self, req: &RestoreTestRequest) -> Result<RestoreTestRecord> {
        match self {
            Backend::Remote(r) => r.post("/api/v1/dr/restore-tests", req).await,
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let who = local_identity(l.g, ctx, Action::Promote).await?;
                let rec = l
                    .ward()
                    .await?
                    .record_restore_test(&who, req, &Default::default(), now())
                    .await
                    .map_err(api_failure)?;
                Ok(ward_app::documents::shown(&ctx.ledger, rec)
                    .await
                    .map_err(api_failure)?)
            }
        }
    }

    /// Governance metrics of an environment.
    pub async fn governance(&self, req: &DoraRequest) -> Result<GovernanceReport> {
        match self {
            Backend::Remote(r) => {
                let mut q = vec![
                    ("env", req.environment.clone()),
                    ("from", ward_app::metrics::rfc3339(req.from)),
                    ("to", ward_app::metrics::rfc3339(req.to)),
                ];
                if req.explain {
                    q.push(("explain", "true".into()));
                }
                r.get("/api/v1/metrics/governance", &q).await
            }
            Backend::Local(l) => Ok(l.ward().await?.governance(req).await.map_err(api_failure)?),
        }
    }

    /// DORA's metrics of an environment.
    pub async fn dora(&self, req: &DoraRequest) -> Result<DoraReport> {
        match self {
            Backend::Remote(r) => {
                let mut q = vec![
                    ("env", req.environment.clone()),
                    ("from", ward_app::metrics::rfc3339(req.from)),
                    ("to", ward_app::metrics::rfc3339(req.to)),
                ];
                if let Some(s) = &req.service {
                    q.push(("service", s.clone()));
                }
                if req.explain {
                    q.push(("explain", "true".into()));
                }
                r.get("/api/v1/metrics/dora", &q).await
            }
            Backend::Local(l) => Ok(l.ward().await?.dora(req).await.map_err(api_failure)?),
        }
    }

    /// An evidence bundle (the tar archive; locally also its manifest), exported by the auditor
    /// (locally: `--as`, holding the export right, or else the operator; recorded either way).
    pub async fn bundle(&self, query: &Query) -> Result<(Vec<u8>, Option<BundleManifest>)> {
        match self {
            Backend::Remote(r) => {
                let params: Vec<(&str, String)> = match query {
                    Query::Change(c) => vec![("change", c.clone())],
                    Query::Deployment(d) => vec![("deployment", d.to_string())],
                    // Checked names and RFC 3339 UTC times (`Z`, digits, '-', ':', '.'): plain tokens.
                    Query::Period(p) => {
                        let mut v = vec![
                            ("env", p.env.clone()),
                            ("from", p.from.to_string()),
                            ("to", p.to.to_string()),
                        ];
                        if let Some(t) = &p.tenant {
                            v.push(("tenant", t.clone()));
                        }
                        v
                    }
                };
                Ok((r.get_bytes("/api/v1/bundles", &params).await?, None))
            }
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let by = l.auditor().await?;
                let built = ward_app::bundle::export(&ctx.ledger, &ctx.signer()?, &ctx.origin, &by, query)
                    .await
                    .map_err(api_failure)?;
                Ok((built.bytes, Some(built.manifest)))
            }
        }
    }

    /// An auditor's search (locally recorded as the auditor's read).
    pub async fn search(&self, q: &SearchQuery) -> Result<SearchResult> {
        match self {
            Backend::Remote(r) => {
                let v = serde_json::to_value(q)?;
                let params: Vec<(&str, String)> = v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?.to_string())))
                    .collect();
                r.get("/api/v1/audit/search", &params).await
            }
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let by = l.auditor().await?;
                let signer = ctx.signer()?;
                Ok(ward_app::search::search(&ctx.ledger, &signer, &ctx.origin, &by, q)
                    .await
                    .map_err(api_failure)?)
            }
        }
    }

    /// The auditor's population of production deployments with its signed manifest; from a
    /// server, the archive it sent, read back (a malformed one fails as a verification).
    pub async fn population(&self, q: &PopulationQuery) -> Result<Population> {
        match self {
            Backend::Remote(r) => {
                let mut params = vec![
                    ("control", q.control.clone()),
                    ("from", q.from.clone()),
                    ("to", q.to.clone()),
                ];
                if let Some(e) = &q.env {
                    params.push(("env", e.clone()));
                }
                let bytes = r.get_bytes("/api/v1/audit/population", &params).await?;
                let files = ward_app::bundle::read_tar(&bytes)
                    .map_err(|e| Failure::verify(format!("the server's population archive: {e}")))?;
                let rows: Vec<PopulationRow> =
                    serde_json::from_slice(files.get("population.json").map_or(&[][..], Vec::as_slice))
                        .map_err(|e| Failure::verify(format!("population.json: {e}")))?;
                let manifest: PopulationManifest =
                    serde_json::from_slice(files.get("manifest.json").map_or(&[][..], Vec::as_slice))
                        .map_err(|e| Failure::verify(format!("manifest.json: {e}")))?;
                Ok(Population { rows, manifest, files })
            }
            Backend::Local(l) => {
                let ctx = l.context().await?;
                let w = l.ward().await?;
                let by = l.auditor().await?;
                Ok(
                    ward_app::audit::population(&ctx.ledger, &ctx.signer()?, &ctx.origin, w.environments(), &by, q)
                        .await
                        .map_err(api_failure)?,
                )
            }
        }
    }

    /// The log's verifier key (locally from the data directory's key file, without opening the
    /// store).
    pub async fn verifier_key(&self) -> Result<String> {
        match self {
            Backend::Remote(r) => Ok(r.get::<ops::VerifierKey>("/api/v1/log/key", &[]).await?.verifier_key),
            Backend::Local(l) => {
                let signer = crate::context::load_signer(&l.g.data_dir).map_err(|_| {
                    Failure::new(
                        "not_initialised",
                        format!("no log key in {}", l.g.data_dir.display()),
                        "run `ward init` first",
                    )
                })?;
                Ok(ward_ledger::NoteVerifier::verifier_key(&signer.verifier()))
            }
        }
    }

    /// Appends the events of `input` (one JSON object, an array, or JSON lines). Locally they
    /// are the operator's (`events_input::parse_events`) and pass the generic checks first;
    /// a server records the caller as their actor.
    pub async fn append_events(&self, input: &str) -> Result<Appended> {
        match self {
            Backend::Local(l) => {
                let ledger = l.ledger().await?;
                let operator = local_operator();
                let cfg = load_config(l.g, None)?;
                let people = ward_server::oidc::person_prefixes(&cfg.oidc);
                let logins = ward_app::identities::logins(ledger).await.map_err(api_failure)?;
                let events = crate::events_input::parse_events(input, &operator, &people, &logins)?;
                for e in &events {
                    ops::check_generic_kind(&e.kind).map_err(api_failure)?;
                    ops::check_generic_payload(&e.payload).map_err(api_failure)?;
                    // An automation identity the input names is a caller's text in the leaf, not
                    // one Ward issued (a server records its caller): judged as a new name is
                    // (a helper's attack on `1d87e6e`: `ci:219451100`, `ci:roe-j-2015-04-12`).
                    if e.actor.id != operator.id {
                        ops::check_named_actor(&e.actor.id).map_err(api_failure)?;
                    }
                }
                Ok(ops::append_submitted(ledger, events, Some(&operator.id))
                    .await
                    .map_err(|e| match e.kind {
                        // What is wrong with the events: fix them. Anything else (a lost
                        // installation key, a conflict, the store unavailable) keeps its own hint.
                        ward_app::Kind::Invalid
                        | ward_app::Kind::Unprocessable
                        | ward_app::Kind::Forbidden
                        | ward_app::Kind::TooLarge => anyhow::Error::from(Failure::new(
                            "append_refused",
                            e.message,
                            "fix the event and retry; nothing was written",
                        )),
                        _ => api_failure(e),
                    })?)
            }
            Backend::Remote(r) => {
                let events: Vec<serde_json::Value> =
                    crate::events_input::parse_json_input(input, "an event has kind, subject and an optional payload")?;
                r.post::<_, Appended>("/api/v1/events", &events).await
            }
        }
    }

    /// Signs a checkpoint of the log as it is now (locally as the operator).
    pub async fn checkpoint(&self) -> Result<SignedCheckpoint> {
        match self {
            Backend::Local(l) => {
                let ctx = l.context().await?;
                Ok(
                    ops::checkpoint(&ctx.ledger, &ctx.signer()?, &ctx.origin, &local_operator().actor())
                        .await
                        .map_err(api_failure)?,
                )
            }
            Backend::Remote(r) => r.post("/api/v1/log/checkpoint", &serde_json::json!({})).await,
        }
    }

    /// The log's size, root and latest checkpoint.
    pub async fn log_status(&self) -> Result<LogStatus> {
        match self {
            Backend::Local(l) => {
                let ctx = l.context().await?;
                Ok(ops::status(&ctx.ledger, &ctx.origin).await.map_err(api_failure)?)
            }
            Backend::Remote(r) => r.get("/api/v1/log", &[]).await,
        }
    }

    /// One page of entries from `from` (at most `limit`); with `texts`, referenced documents
    /// shown as their text.
    pub async fn entries(&self, from: u64, limit: u64, texts: bool) -> Result<Entries> {
        match self {
            Backend::Local(l) => Ok(ops::entries(l.ledger().await?, from, limit, texts)
                .await
                .map_err(api_failure)?),
            Backend::Remote(r) => {
                r.get(
                    "/api/v1/events",
                    &[
                        ("from", from.to_string()),
                        ("limit", limit.to_string()),
                        ("texts", texts.to_string()),
                    ],
                )
                .await
            }
        }
    }

    /// An inclusion proof of entry `index` (in the tree of `size`, else the latest).
    pub async fn inclusion(&self, index: u64, size: Option<u64>) -> Result<InclusionProof> {
        match self {
            Backend::Local(l) => Ok(ops::inclusion(l.ledger().await?, index, size)
                .await
                .map_err(api_failure)?),
            Backend::Remote(r) => {
                let mut q = vec![("index", index.to_string())];
                if let Some(s) = size {
                    q.push(("size", s.to_string()));
                }
                r.get("/api/v1/log/proof", &q).await
            }
        }
    }

    /// A consistency proof between two tree sizes.
    pub async fn consistency(&self, from: u64, to: u64) -> Result<ConsistencyProof> {
        match self {
            Backend::Local(l) => Ok(ops::consistency(l.ledger().await?, from, to)
                .await
                .map_err(api_failure)?),
            Backend::Remote(r) => {
                r.get(
                    "/api/v1/log/consistency",
                    &[("from", from.to_string()), ("to", to.to_string())],
                )
                .await
            }
        }
    }

    /// The `ward.toml` a server runs (`config.loaded`); none locally, where the file on disk is
    /// what runs.
    pub async fn served_config(&self) -> Result<Option<ward_app::ops::LoadedConfig>> {
        match self {
            Backend::Remote(r) => Ok(Some(r.get("/api/v1/server/config", &[]).await?)),
            Backend::Local(_) => Ok(None),
        }
    }
}
