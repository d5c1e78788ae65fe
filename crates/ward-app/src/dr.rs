//! Disaster-recovery readiness at gate time: the I/O around [`ward_core::dr::judge`].
//!
//! The evidence comes from the log: backup and restore jobs attached with
//! `ward attest add --type dr:pgbackrest|dr:velero|dr:aws-backup` (attestations on the
//! [`DR_TARGET`]), restore tests signed by the person who ran them (`dr.restore_tested`), and
//! the environment's rollback drills (deployment records marked `drill`). The judged states go
//! into the gate input (`input.dr`), so a decision replays without reading the log again.

use crate::evidence::{self, DR_TARGET};
use crate::{AppError, Kind};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use ward_core::Identity;
use ward_core::dr::{DrRules, Evidence, Job, Readiness, RestoreTest, Service, judge};
use ward_core::slo::same_service;
use ward_ledger::{ActorKind, EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

/// Projection of signed restore tests (key: the log entry, zero-padded).
pub const RESTORE_TESTS: &str = "dr_restore_tests";

/// The inventory and the rules: `[[services]]` and `[dr]` in `ward.toml`.
#[derive(Clone, Debug, Default)]
pub struct DrPolicy {
    /// `[[services]]`.
    pub services: Vec<Service>,
    /// `[dr]`.
    pub rules: DrRules,
}

/// A restore test, as the person who ran it reports it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RestoreTestRequest {
    /// The store restored (as `[[services]] stores` names it).
    pub store: String,
    /// When the restore finished (RFC 3339).
    pub finished: String,
    /// How long the restore took, seconds (from the start of the restore to the data being
    /// usable).
    pub duration_secs: u64,
    /// What was checked after the restore (row counts, checksums, an application smoke test).
    pub checked: String,
    /// The signer's password (a local user), for the re-authentication a signature needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Or a fresh OIDC token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reauth_token: Option<String>,
}

/// A recorded restore test.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RestoreTestRecord {
    /// The store restored.
    pub store: String,
    /// When the restore finished (RFC 3339).
    pub finished: String,
    /// The same, Unix seconds.
    pub finished_secs: i64,
    /// How long it took, seconds.
    pub duration_secs: u64,
    /// What was checked (a reference to the text beside the log until shown).
    pub checked: String,
    /// The person who signed it.
    pub signer: String,
    /// The printed name the signature carries.
    pub printed_name: String,
    /// How the signer re-authenticated (`password` or `oidc`).
    pub reauth: String,
    /// Log entry.
    pub seq: u64,
    /// When it was recorded.
    pub time: String,
}

/// Longest restore a record may report: 30 days.
const MAX_RESTORE_SECS: u64 = 30 * 86_400;

/// Records a restore test signed by `by`, who must be a person (automation reports jobs through
/// `dr:` attestations; a restore *test* is a person's statement of what they checked) and
/// re-authenticates like any signature (password or fresh OIDC token; a failure is recorded as
/// `dr.restore_test_refused` and counts toward the signing lockout).
pub async fn record_restore_test(
    ledger: &Ledger,
    by: &Identity,
    req: &RestoreTestRequest,
    cx: &crate::reauth::Context<'_>,
    now: i64,
) -> Result<RestoreTestRecord, AppError> {
    if by.kind != ActorKind::Human {
        return Err(AppError::new(
            Kind::Forbidden,
            "person_required",
            "a restore test is signed by the person who ran it, not by automation",
            "record it as yourself (`ward login`), or attach the tool's restore job with `ward attest add --type dr:TOOL`",
        ));
    }
    // A developer could otherwise satisfy the DR gate of their own change alone, with a backup
    // report any developer may attach: the restore test is the release manager's statement.
    if !by.roles.iter().any(|r| r.permits(ward_core::Action::Promote)) {
        return Err(AppError::new(
            Kind::Forbidden,
            "role_required",
            "a restore test is signed by a release manager (who ran or witnessed the restore)",
            "ask a release-manager to sign it",
        ));
    }
    let store = req.store.trim();
    if store.is_empty() || store.len() > 512 || store.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "store must be 1 to 512 characters without control characters",
            "name the store as [[services]] stores names it",
        ));
    }
    let finished = req.finished.parse::<jiff::Timestamp>().map_err(|_| {
        AppError::invalid(
            format!(
                "finished {:?} is not an RFC 3339 time",
                req.finished.chars().take(64).collect::<String>()
            ),
            "give the finish time like 2026-12-02T10:15:00Z",
        )
    })?;
    let finished_secs = finished.as_second();
    if finished_secs > now + 300 {
        return Err(AppError::invalid(
            "the restore finished in the future",
            "pass the time the restore finished (UTC, RFC 3339)",
        ));
    }
    if req.duration_secs == 0 || req.duration_secs > MAX_RESTORE_SECS {
        return Err(AppError::invalid(
            "duration must be between 1 second and 30 days",
            "give the duration like 25m or 2h",
        ));
    }
    let checked = req.checked.trim();
    if checked.is_empty() || checked.len() > 4_000 {
        return Err(AppError::invalid(
            "say what was checked after the restore (1 to 4000 characters)",
            "say what was checked, e.g. \"row counts match production; the app's smoke test passed\"",
        ));
    }
    let creds = crate::reauth::Credentials {
        password: req.password.as_deref(),
        reauth_token: req.reauth_token.as_deref(),
        bearer_sha256: cx.bearer_sha256,
    };
    let proof = match crate::reauth::reauthenticate(ledger, by, &creds, cx.oidc, now).await? {
        Ok(p) => p,
        Err(r) => {
            return Err(crate::reauth::record_refusal(
                ledger,
                by,
                "dr.restore_test_refused",
                "dr".into(),
                json!({ "store": store }),
                r,
            )
            .await);
        }
    };
    let mut texts = crate::documents::Texts::new();
    let checked_ref = texts.put(checked)?;
    let mut payload = json!({
        "store": store,
        "finished": finished.to_string(),
        "finished_secs": finished_secs,
        "duration_secs": req.duration_secs,
        "checked": checked_ref,
        "signer": by.id,
        "printed_name": proof.printed_name,
        "reauth": proof.method,
        "meaning": "restore-tested",
    });
    proof.record_in(&mut payload);
    let event = NewEvent {
        actor: by.actor(),
        kind: "dr.restore_tested".into(),
        subject: "dr".into(),
        payload,
    };
    ledger.admit(&event)?;
    let receipt = crate::documents::append(ledger, event, texts).await?;
    Ok(RestoreTestRecord {
        store: store.into(),
        finished: finished.to_string(),
        finished_secs,
        duration_secs: req.duration_secs,
        checked: checked_ref,
        signer: by.id.clone(),
        printed_name: proof.printed_name,
        reauth: proof.method.into(),
        seq: receipt.seq,
        time: receipt.time,
    })
}

/// Projects `dr.restore_tested`.
pub struct RestoreTestProjector;

impl Projector for RestoreTestProjector {
    fn name(&self) -> &'static str {
        "dr"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        match e.kind.as_str() {
            "dr.restore_tested" => vec![ProjectionOp::put_stamped(RESTORE_TESTS, format!("{:020}", e.seq), e, p)],
            _ => vec![],
        }
    }
}

/// Every signed restore test, oldest first.
pub async fn restore_tests(ledger: &Ledger) -> Result<Vec<RestoreTestRecord>, AppError> {
    ledger
        .store()
        .projection_prefix(RESTORE_TESTS, "")
        .await?
        .into_iter()
        .map(|(_, doc)| serde_json::from_value(doc).map_err(AppError::internal))
        .collect()
}

/// The jobs of every `dr:` attestation (each summary's records, with its tool).
pub fn jobs_of(summaries: &[Value]) -> Vec<Job> {
    let mut out = Vec::new();
    for s in summaries {
        let tool = s.get("tool").and_then(Value::as_str).unwrap_or_default();
        for r in s.get("records").and_then(Value::as_array).into_iter().flatten() {
            let text = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
            out.push(Job {
                store: text("store"),
                kind: text("kind"),
                succeeded: r.get("succeeded").and_then(Value::as_bool) == Some(true),
                started: r.get("started").and_then(Value::as_i64),
                finished: r.get("finished").and_then(Value::as_i64),
                tool: tool.to_string(),
                id: text("id"),
            });
        }
    }
    out
}

/// What the log holds for DR readiness in `environment`: jobs, restore tests and (when
/// `with_drill`: the environment's deployment records are read only then) the last drill.
pub async fn evidence(ledger: &Ledger, environment: &str, with_drill: bool) -> Result<Evidence, AppError> {
    let summaries: Vec<Value> = evidence::attestations(ledger, DR_TARGET)
        .await?
        .into_iter()
        .map(|a| a.summary)
        .collect();
    let restore_tests = restore_tests(ledger)
        .await?
        .into_iter()
        .map(|t| RestoreTest {
            store: t.store,
            finished: t.finished_secs,
            duration_secs: t.duration_secs,
            signer: t.signer,
        })
        .collect();
    let last_drill = if with_drill {
        crate::deployments::deployments(ledger, environment)
            .await?
            .iter()
            .filter(|d| d.drill && d.status == "succeeded")
            .filter_map(|d| d.time.parse::<jiff::Timestamp>().ok().map(|t| t.as_second()))
            .max()
    } else {
        None
    };
    Ok(Evidence {
        jobs: jobs_of(&summaries),
        restore_tests,
        last_drill,
    })
}

/// The inventory's services among `services` (all of them when `None`).
fn selected<'a>(policy: &'a DrPolicy, services: Option<&[String]>) -> Vec<&'a Service> {
    policy
        .services
        .iter()
        .filter(|s| services.is_none_or(|list| list.iter().any(|n| same_service(n, &s.name))))
        .collect()
}

/// Readiness of the inventory's services among `services` for a deployment into `environment`
/// at `now`; empty when `[dr] environments` does not name the environment. `high_risk`: the
/// change is high-risk, so the tier's rollback-drill rule applies.
pub async fn states(
    ledger: &Ledger,
    policy: &DrPolicy,
    services: Option<&[String]>,
    environment: &str,
    high_risk: bool,
    now: i64,
) -> Result<Vec<Readiness>, AppError> {
    let chosen = selected(policy, services);
    if chosen.is_empty() || !policy.rules.environments.iter().any(|e| e == environment) {
        return Ok(Vec::new());
    }
    // The drill rule applies only before a high-risk change of a tier that requires one: only
    // then are the environment's deployment records read.
    let with_drill = high_risk
        && chosen
            .iter()
            .any(|s| policy.rules.for_tier(&s.tier).rollback_drill_days.is_some());
    let ev = evidence(ledger, environment, with_drill).await?;
    Ok(chosen
        .into_iter()
        .map(|s| judge(s, &policy.rules, &ev, high_risk, now))
        .collect())
}

/// What `ward dr status` and `GET /api/v1/dr/status` show.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrStatus {
    /// The environment whose rollback drills were read.
    pub environment: String,
    /// Each service judged (as before a high-risk change: the drill rule included).
    pub services: Vec<Readiness>,
    /// How many are not ready.
    pub not_ready: usize,
}

/// Every inventory service's readiness now (or `service`'s), judged for `environment` (default:
/// the first of `[dr] environments`) whatever `[dr] environments` says: status shows, the gate
/// decides where it applies.
pub async fn status(
    ledger: &Ledger,
    policy: &DrPolicy,
    service: Option<&str>,
    environment: Option<&str>,
    now: i64,
) -> Result<DrStatus, AppError> {
    if policy.services.is_empty() {
        return Err(AppError::new(
            Kind::NotFound,
            "no_inventory",
            "ward.toml declares no [[services]]",
            "declare each service's tier, rpo, rto and stores: [[services]] name, tier, rpo, rto, stores",
        ));
    }
    let env = environment
        .map(str::to_string)
        .or_else(|| policy.rules.environments.first().cloned())
        .unwrap_or_else(|| "prod".into());
    crate::identities::check_name("environment", &env)?;
    let mut here = policy.clone();
    here.rules.environments = vec![env.clone()];
    let only = service.map(|s| vec![s.to_string()]);
    let services = states(ledger, &here, only.as_deref(), &env, true, now).await?;
    if services.is_empty() {
        return Err(AppError::new(
            Kind::NotFound,
            "no_service",
            format!("no [[services]] entry named {}", service.unwrap_or_default()),
            "list the inventory in ward.toml ([[services]] name)",
        ));
    }
    let not_ready = services.iter().filter(|s| !s.ready).count();
    Ok(DrStatus {
        environment: env,
        services,
        not_ready,
    })
}
