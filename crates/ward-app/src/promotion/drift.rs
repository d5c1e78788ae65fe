//! Drift: what actually runs, compared with what Ward deployed.
//!
//! An observation names the digests (and, when known, the configuration digest) running in an
//! environment or one of its tenants. Against the tenant's deployment history it finds *shadow*
//! digests (never promoted there through Ward), *stale* ones (promoted once, not the current
//! release), *missing* ones, and a configuration that differs from the one deployed.

use super::target_for;
use crate::deployments::{deployments, history, unit_key};
use crate::environment::{Environment, find};
use crate::error::AppError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use ward_core::Identity;
use ward_ledger::{EventEnvelope, NewEvent, Payload};
use ward_store::{Ledger, ProjectionOp, Projector};

/// What is running in an environment (or one tenant), as observed (e.g. from
/// `kubectl get pods -o json` reduced to image digests, or from a deploy tool's status).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// Environment.
    pub environment: String,
    /// Tenant observed, for an environment with tenants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Digests seen running.
    pub digests: Vec<String>,
    /// Digest of the effective configuration seen running, when the runtime reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
    /// Where the observation came from (free text, e.g. `kubectl context prod-eu`).
    #[serde(default)]
    pub source: String,
}

/// The drift found by an observation.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Drift {
    /// Environment.
    pub environment: String,
    /// Tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// What Ward's last successful deployment put there.
    pub expected: Vec<String>,
    /// Digests running that were never promoted to this environment through Ward.
    pub shadow: Vec<String>,
    /// Digests running that were promoted here once, but are not the current release.
    pub stale: Vec<String>,
    /// Expected digests that are not running.
    pub missing: Vec<String>,
    /// The configuration Ward deployed there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_expected: Option<String>,
    /// `matches`, `differs` (deployed here once, not the current one), `shadow` (never deployed
    /// through Ward) or `unreported`.
    pub config: String,
    /// Anything of the above.
    pub drifted: bool,
    /// Log entry of the observation.
    pub seq: u64,
    /// When.
    pub time: String,
}

/// Where an observation came from: Ward asked the environment's runtime (`runtime`), or a
/// person or script reported it (`reported`). The board names who reported a hand observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    Runtime,
    Reported,
}

impl Origin {
    fn label(self) -> &'static str {
        match self {
            Origin::Runtime => "runtime",
            Origin::Reported => "reported",
        }
    }
}

/// The tenant an observation names must be one `env` declares (none: the environment as a
/// whole). `what` names who reported it, for the refusal.
fn check_tenant(env: &Environment, tenant: Option<&str>, what: &str) -> Result<(), AppError> {
    let Some(t) = tenant else { return Ok(()) };
    crate::identities::check_name("tenant", t)?;
    let all = env.all_tenants();
    if all.iter().any(|x| x == t) {
        return Ok(());
    }
    Err(AppError::new(
        crate::error::Kind::NotFound,
        "unknown_tenant",
        format!(
            "{what} tenant {}, which {} does not declare",
            crate::identifier::shown(t),
            env.name
        ),
        if all.is_empty() {
            format!(
                "{} declares no tenants: observe the environment as a whole, naming no tenant",
                env.name
            )
        } else {
            format!(
                "{}'s tenants: {} (in [[environments]] of ward.toml)",
                env.name,
                all.join(", ")
            )
        },
    ))
}

/// Records what is running in a declared environment (or one of its declared tenants), as
/// reported by `by`, and compares it with what Ward deployed there. An environment Ward observes
/// itself (a local `runtime` or an `observe_command`) refuses a hand report: its verdict comes
/// from the runtime, so nobody can paint it "in sync" by hand.
pub async fn observe(
    ledger: &Ledger,
    by: &Identity,
    envs: &[Environment],
    obs: &Observation,
) -> Result<Drift, AppError> {
    crate::identities::check_name("environment", &obs.environment)?;
    let env = find(envs, &obs.environment)?;
    check_tenant(env, obs.tenant.as_deref(), "the observation names")?;
    if env.runtime.is_some() || !env.observe_command.is_empty() {
        return Err(AppError::new(
            crate::error::Kind::Conflict,
            "observed_by_ward",
            format!(
                "{} is observed by Ward from its runtime; a hand report is not taken",
                env.name
            ),
            format!("ask {}'s runtime what runs instead", env.name),
        ));
    }
    record(ledger, by, obs, Origin::Reported).await
}

/// Compares an observation with what Ward deployed and records it (`drift.observed`).
async fn record(ledger: &Ledger, by: &Identity, obs: &Observation, origin: Origin) -> Result<Drift, AppError> {
    if obs.digests.len() > 10_000 || obs.source.len() > 1000 {
        return Err(AppError::invalid(
            "too many digests or too long a source",
            "observe one environment at a time",
        ));
    }
    check_digests(&obs.digests, obs.config_digest.as_ref())?;
    // The source is a short label of what reported (`kubectl prod-eu`): words of identifier
    // characters judged as identifiers are, and by every detector; stored beside the log.
    if !obs
        .source
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" .,_:/()-".contains(&b))
    {
        return Err(AppError::invalid(
            "the source names what reported the observation: letters, digits, spaces and . , _ : / ( ) - only",
            "name the tool or host (`kubectl prod-eu`, `argocd`)",
        ));
    }
    crate::freetext::check("source", &obs.source)?;
    crate::identifier::judge("source", &obs.source)?;
    // No number a person could be found by (`kubectl 219451100`), as in an event's subject;
    // spaces join digit groups as other marks do (`kubectl 219 451 100`, `555 867 5309`:
    // attack on `6fd710a`).
    crate::identifier::check_number("source", &obs.source.replace(' ', "-"))?;
    let list = deployments(ledger, &obs.environment).await?;
    let runs = history(&list, obs.tenant.as_deref());
    let current = runs.last();
    let expected: Vec<String> = current.map(|r| r.digests.clone()).unwrap_or_default();
    let config_expected = current.and_then(|r| r.config_digest.clone());
    let ever: std::collections::HashSet<&String> = runs.iter().flat_map(|r| &r.digests).collect();
    let shadow: Vec<String> = obs.digests.iter().filter(|d| !ever.contains(d)).cloned().collect();
    let stale: Vec<String> = obs
        .digests
        .iter()
        .filter(|d| ever.contains(d) && !expected.contains(d))
        .cloned()
        .collect();
    let missing: Vec<String> = expected.iter().filter(|d| !obs.digests.contains(d)).cloned().collect();
    let config = match &obs.config_digest {
        None => "unreported",
        Some(c) if Some(c) == config_expected.as_ref() => "matches",
        Some(c) if runs.iter().any(|r| r.config_digest.as_ref() == Some(c)) => "differs",
        Some(_) => "shadow",
    };
    let drifted =
        !(shadow.is_empty() && stale.is_empty() && missing.is_empty()) || matches!(config, "differs" | "shadow");
    let payload = json!({
        "environment": obs.environment, "tenant": obs.tenant, "observed": obs.digests,
        "config_observed": obs.config_digest, "source": obs.source,
        "expected": expected, "shadow": shadow, "stale": stale, "missing": missing,
        "config_expected": config_expected, "config": config, "drifted": drifted,
        "origin": origin.label(),
    });
    let mut event = NewEvent {
        actor: by.actor(),
        kind: "drift.observed".into(),
        subject: format!("env:{}", obs.environment),
        payload,
    };
    // The whole observation is judged before any of it is stored beside the log: a refusal
    // leaves nothing behind (not even a large observation's full copy).
    ledger.admit(&event)?;
    // The source then lives beside the log, its reference in the leaf: it is words a reporter
    // chooses, which no rule reads completely (a helper's attack on `28763b1`: `db password
    // s3cr3tP4ss`, a password named without `:` or `=`, and `John Smith 61.04.12` stayed in the
    // leaf for good).
    let mut texts = crate::documents::Texts::new();
    event.payload["source"] = json!(texts.put_judged(&obs.source)?);
    event.payload = kept_inline(ledger, event.payload).await?;
    let receipt = crate::documents::append(ledger, event, texts).await?;
    Ok(Drift {
        environment: obs.environment.clone(),
        tenant: obs.tenant.clone(),
        expected,
        shadow,
        stale,
        missing,
        config_expected,
        config: config.into(),
        drifted,
        seq: receipt.seq,
        time: receipt.time,
    })
}

/// Asks the environment's deployment target what runs (its `observe_command` for the `command`
/// target) and records one observation per tenant it reports.
pub async fn observe_runtime(
    ledger: &Ledger,
    by: &Identity,
    environment: &str,
    envs: &[Environment],
    runtime: Option<&dyn super::Runtimes>,
) -> Result<Vec<Drift>, AppError> {
    let env = find(envs, environment)?;
    let target = target_for(env, runtime)?;
    let running = target.observe(&env.name).await.map_err(|e| {
        AppError::new(
            crate::error::Kind::Upstream,
            "runtime_unavailable",
            e,
            "check the environment's observe_command, or give what runs as a file",
        )
    })?;
    // What the runtime reports is checked like a hand report: a tenant the environment does not
    // declare, or a digest that is not one, is refused, naming the command that reported it,
    // before anything is recorded.
    for r in &running {
        check_tenant(env, r.tenant.as_deref(), "the runtime reported")?;
        check_digests(&r.digests, r.config_digest.as_ref())?;
    }
    // One observation a unit: a runtime reporting a unit several times (one line a pod) is one
    // report of everything that runs there, never a later line quietly replacing an earlier
    // drifted one on the board.
    let list = deployments(ledger, &env.name).await?;
    // Each unit with every configuration its entries reported (`None`: an entry reported none).
    let mut units: Vec<(Observation, Vec<Option<String>>)> = Vec::new();
    for r in running {
        let at = match units.iter().position(|(u, _)| u.tenant == r.tenant) {
            Some(i) => i,
            None => {
                units.push((
                    Observation {
                        environment: env.name.clone(),
                        tenant: r.tenant.clone(),
                        digests: Vec::new(),
                        config_digest: None,
                        source: format!("runtime ({})", target.kind()),
                    },
                    Vec::new(),
                ));
                units.len() - 1
            }
        };
        let (unit, configs) = &mut units[at];
        for d in r.digests {
            if !unit.digests.contains(&d) {
                unit.digests.push(d);
            }
        }
        configs.push(r.config_digest);
    }
    // A declared unit Ward deployed to that the runtime no longer reports runs nothing it knows
    // of: recorded as such ("missing"), never left showing its last "in sync".
    let declared: Vec<Option<String>> = match env.all_tenants() {
        t if t.is_empty() => vec![None],
        t => t.into_iter().map(Some).collect(),
    };
    for unit in declared {
        if !units.iter().any(|(u, _)| u.tenant == unit) && !history(&list, unit.as_deref()).is_empty() {
            units.push((
                Observation {
                    environment: env.name.clone(),
                    tenant: unit,
                    digests: Vec::new(),
                    config_digest: None,
                    source: format!("runtime ({}): not reported", target.kind()),
                },
                vec![None],
            ));
        }
    }
    // A unit's configuration: one that is not what Ward deployed there, if any entry ran one
    // (its drift is what the board must show); else unreported if any entry reported none (the
    // board claims no more than was seen); else the one reported.
    let units: Vec<Observation> = units
        .into_iter()
        .map(|(mut unit, configs)| {
            let expected = history(&list, unit.tenant.as_deref())
                .last()
                .and_then(|x| x.config_digest.clone());
            unit.config_digest = match configs.iter().flatten().find(|c| Some(*c) != expected.as_ref()) {
                Some(differs) => Some(differs.clone()),
                None if configs.iter().any(Option::is_none) => None,
                None => expected,
            };
            unit
        })
        .collect();
    let mut out = Vec::new();
    for obs in units {
        out.push(record(ledger, by, &obs, Origin::Runtime).await?);
    }
    Ok(out)
}

/// Every digest of an observation is a `sha256:` digest.
fn check_digests(digests: &[String], config: Option<&String>) -> Result<(), AppError> {
    for d in digests.iter().chain(config) {
        ward_evidence::digest::parse_digest(d)
            .map_err(|e| AppError::invalid(e.to_string(), "list sha256:<hex> digests"))?;
    }
    Ok(())
}

/// Projection of each unit's latest drift observation (key `<environment>/-` for the
/// environment as a whole, `<environment>/t:<tenant>` for a tenant, as [`crate::deployments::CURRENT_RUNS`]):
/// a summary of the last `drift.observed` entry of each, kept as observations are appended — the
/// release board reads one small row a unit instead of searching the log.
pub const DRIFT_LATEST: &str = "drift_latest";

/// Digests of each kind a [`DriftSeen`] keeps (the counts are complete; the observation's log
/// entry has every digest).
pub const DIGESTS_KEPT: usize = 3;

/// A unit's latest drift observation ([`DRIFT_LATEST`]): what the board says of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftSeen {
    /// Tenant; none for the environment as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Log entry of the observation.
    pub seq: u64,
    /// When it was recorded (RFC 3339).
    pub time: String,
    /// Whether anything differs from what Ward deployed.
    pub drifted: bool,
    /// How many digests run that were never promoted there, and the first [`DIGESTS_KEPT`].
    pub shadow: usize,
    /// The first shadow digests.
    #[serde(default)]
    pub shadow_digests: Vec<String>,
    /// How many digests run that were promoted once but are not the current release.
    pub stale: usize,
    /// The first stale digests.
    #[serde(default)]
    pub stale_digests: Vec<String>,
    /// How many expected digests do not run.
    pub missing: usize,
    /// The first missing digests.
    #[serde(default)]
    pub missing_digests: Vec<String>,
    /// The configuration: `matches`, `differs`, `shadow` or `unreported`.
    pub config: String,
    /// Where the observation came from (free text).
    #[serde(default)]
    pub source: String,
    /// `runtime` (Ward asked the runtime) or `reported` (by hand); empty in observations
    /// recorded before it was kept.
    #[serde(default)]
    pub origin: String,
    /// Who recorded it.
    #[serde(default)]
    pub by: String,
}

/// Projects `drift.observed` into [`DRIFT_LATEST`]: each observation replaces its unit's row
/// (a payload without an environment projects nothing).
pub struct DriftProjector;

fn digests(p: &Value, field: &str) -> (usize, Vec<String>) {
    let all: Vec<&str> = p
        .get(field)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // A shortened observation ([`kept_inline`]) carries each list's full count beside it.
    let count = p
        .get(format!("{field}_count"))
        .and_then(Value::as_u64)
        .map_or(all.len(), |n| n as usize);
    (count, all.iter().take(DIGESTS_KEPT).map(|d| d.to_string()).collect())
}

/// Digests of each list an observation keeps inline when the whole would not fit.
const INLINE_LIST: usize = 16;

/// An observation's payload as the log carries it inline, whatever its size: a payload over
/// [`ward_ledger::envelope::MAX_INLINE_PAYLOAD`] would be stored by digest, and the board's
/// projection (which reads inline payloads only) would keep showing the unit's previous, maybe
/// "in sync", observation. A large one keeps its verdict, each list's count and first
/// [`INLINE_LIST`] digests inline, and the whole observation content-addressed beside the log
/// (`full_observation`: its sha256, which the leaf commits to).
async fn kept_inline(ledger: &Ledger, payload: Value) -> Result<Value, AppError> {
    let whole = serde_json::to_vec(&payload).map_err(AppError::internal)?;
    // A margin under the limit for the canonical form's differences.
    if whole.len() <= ward_ledger::envelope::MAX_INLINE_PAYLOAD - 512 {
        return Ok(payload);
    }
    let digest = ward_evidence::digest::of_bytes(&whole);
    crate::documents::keep_evidence(ledger, &digest, &whole).await?;
    let mut short = payload;
    for field in ["observed", "expected", "shadow", "stale", "missing"] {
        if let Some(list) = short.get_mut(field).and_then(Value::as_array_mut) {
            let n = list.len();
            list.truncate(INLINE_LIST);
            short[format!("{field}_count")] = json!(n);
        }
    }
    short["full_observation"] = json!(digest);
    Ok(short)
}

impl Projector for DriftProjector {
    fn name(&self) -> &'static str {
        "drift_latest"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        if e.kind != "drift.observed" {
            return vec![];
        }
        let Some(environment) = p.get("environment").and_then(Value::as_str) else {
            return vec![];
        };
        let tenant = p.get("tenant").and_then(Value::as_str).map(str::to_string);
        let (shadow, shadow_digests) = digests(p, "shadow");
        let (stale, stale_digests) = digests(p, "stale");
        let (missing, missing_digests) = digests(p, "missing");
        let seen = DriftSeen {
            seq: e.seq,
            time: e.time.clone(),
            drifted: p.get("drifted").and_then(Value::as_bool).unwrap_or(false),
            shadow,
            shadow_digests,
            stale,
            stale_digests,
            missing,
            missing_digests,
            config: p
                .get("config")
                .and_then(Value::as_str)
                .unwrap_or("unreported")
                .to_string(),
            source: p.get("source").and_then(Value::as_str).unwrap_or_default().to_string(),
            origin: p.get("origin").and_then(Value::as_str).unwrap_or_default().to_string(),
            by: e.actor.id.clone(),
            tenant,
        };
        let Ok(doc) = serde_json::to_value(&seen) else {
            return vec![];
        };
        vec![ProjectionOp::Put {
            collection: DRIFT_LATEST.into(),
            key: unit_key(environment, seen.tenant.as_deref()),
            doc,
        }]
    }
}

/// The latest drift observation of each unit of `environment` (`None`: the environment as a
/// whole), read from [`DRIFT_LATEST`]; a unit never observed is absent.
pub async fn latest(ledger: &Ledger, environment: &str) -> Result<HashMap<Option<String>, DriftSeen>, AppError> {
    let text = ledger
        .store()
        .projection_prefix_array(DRIFT_LATEST, &format!("{environment}/"))
        .await?;
    let seen: Vec<DriftSeen> = serde_json::from_str(&text).map_err(AppError::internal)?;
    Ok(seen.into_iter().map(|s| (s.tenant.clone(), s)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ward_ledger::{ActorKind, NewEvent};

    fn sha(c: char) -> String {
        format!("sha256:{}", c.to_string().repeat(64))
    }

    fn rita() -> Identity {
        Identity {
            id: "user:rita".into(),
            kind: ActorKind::Human,
            roles: vec![],
        }
    }

    fn deployed(env: &str, digest: &str, tenants: &[&str]) -> NewEvent {
        let targets: Vec<Value> = tenants
            .iter()
            .map(|t| json!({"tenant": t, "status": "succeeded"}))
            .collect();
        NewEvent {
            actor: rita().actor(),
            kind: "deployment.recorded".into(),
            subject: format!("env:{env}"),
            payload: json!({"change": "CHG-1", "environment": env, "digests": [digest], "targets": targets,
                "target": "command", "status": "succeeded", "gate_decision": 1, "approvals": [],
                "executed_by": "user:rita"}),
        }
    }

    /// A ledger on a fresh SQLite store where `sha('a')` was deployed to prod's tenant acme.
    async fn deployed_to_acme() -> (ward_store::testing::TestDb, Ledger) {
        let db = ward_store::testing::TestDb::sqlite();
        let ledger = Ledger::new(ward_store::open(&db.url).await.unwrap(), crate::projectors());
        ledger
            .append_batch(vec![deployed("prod", &sha('a'), &["acme"])])
            .await
            .unwrap();
        (db, ledger)
    }

    /// prod with three tenants, prod-eu with one, stage observed by its runtime.
    fn envs() -> Vec<Environment> {
        let env = |name: &str, tenants: &[&str]| Environment {
            name: name.into(),
            tenants: tenants.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        };
        vec![
            env("prod", &["acme", "beta", "gamma"]),
            env("prod-eu", &["acme"]),
            Environment {
                observe_command: vec!["./running.sh".into()],
                ..env("stage", &[])
            },
        ]
    }

    /// Found attacking the board: anyone allowed to observe could record any environment or
    /// tenant, declared or not, and paint a runtime-observed unit "in sync" by hand. An
    /// observation names a declared environment and one of its tenants, an environment Ward
    /// observes itself takes no hand report, and nothing is recorded for a refusal.
    #[tokio::test]
    async fn a_hand_report_cannot_name_an_undeclared_unit_or_overrule_the_runtime() {
        let (db, ledger) = deployed_to_acme().await;
        let me = rita();
        let size = ledger.head().await.unwrap().size();
        let refused = |r: Result<Drift, AppError>| r.expect_err("refused");
        let e = refused(observe(&ledger, &me, &envs(), &obs("prdo", Some("acme"), &[sha('a')])).await);
        assert_eq!(e.code, "unknown_environment");
        assert!(e.hint.contains("did you mean prod?"), "{}", e.hint);
        let e = refused(observe(&ledger, &me, &envs(), &obs("prod", Some("acmee"), &[sha('a')])).await);
        assert_eq!(e.code, "unknown_tenant");
        assert!(e.hint.contains("acme, beta, gamma"), "{}", e.hint);
        let e = refused(observe(&ledger, &me, &envs(), &obs("stage", None, &[sha('a')])).await);
        assert_eq!(e.code, "observed_by_ward");
        assert_eq!(e.hint, "ask stage's runtime what runs instead");
        assert_eq!(ledger.head().await.unwrap().size(), size, "nothing recorded");
        // A hand report on a declared unit is recorded, and the board knows who made it.
        observe(&ledger, &me, &envs(), &obs("prod", Some("acme"), &[sha('a')]))
            .await
            .unwrap();
        let acme = &latest(&ledger, "prod").await.unwrap()[&Some("acme".to_string())];
        assert_eq!((acme.origin.as_str(), acme.by.as_str()), ("reported", "user:rita"));
        db.cleanup().await;
    }

    /// Found attacking the board: a runtime printing one line a pod reported clinic-a twice —
    /// once drifted, then once with nothing running — and the second line replaced the first on
    /// the board ("in sync"). A unit reported several times is one observation of everything
    /// reported for it; a bad digest anywhere records nothing.
    #[tokio::test]
    async fn a_runtime_reporting_a_tenant_twice_is_one_observation_that_keeps_its_drift() {
        let (db, ledger) = deployed_to_acme().await;
        let printing = |json: String| {
            let mut envs = envs();
            envs[0].observe_command = vec!["sh".into(), "-c".into(), format!("echo '{json}'")];
            envs
        };
        let pods = format!(
            r#"[{{"tenant":"acme","digests":["{}","{}"]}},{{"tenant":"acme","digests":["{}"]}}]"#,
            sha('a'),
            sha('f'),
            sha('a')
        );
        let seen = observe_runtime(&ledger, &rita(), "prod", &printing(pods), None)
            .await
            .unwrap();
        assert_eq!(seen.len(), 1, "one observation for the unit: {seen:?}");
        assert!(seen[0].drifted && seen[0].shadow == vec![sha('f')], "{seen:?}");
        let acme = &latest(&ledger, "prod").await.unwrap()[&Some("acme".to_string())];
        assert!(acme.drifted, "the board keeps the drift: {acme:?}");
        assert_eq!(acme.origin, "runtime");
        let size = ledger.head().await.unwrap().size();
        let bad = format!(
            r#"[{{"tenant":"acme","digests":["{}"]}},{{"tenant":"beta","digests":["not-a-digest"]}}]"#,
            sha('a')
        );
        assert!(
            observe_runtime(&ledger, &rita(), "prod", &printing(bad), None)
                .await
                .is_err()
        );
        assert_eq!(ledger.head().await.unwrap().size(), size, "nothing recorded");
        db.cleanup().await;
    }

    /// Found attacking the board: a tenant whose pods were all gone was left out of the
    /// runtime's report, and the board kept its last "in sync". A declared tenant Ward deployed
    /// to that the runtime does not report is recorded as running nothing ("missing").
    #[tokio::test]
    async fn a_deployed_tenant_the_runtime_stops_reporting_shows_missing_not_in_sync() {
        let db = ward_store::testing::TestDb::sqlite();
        let ledger = Ledger::new(ward_store::open(&db.url).await.unwrap(), crate::projectors());
        ledger
            .append_batch(vec![deployed("prod", &sha('a'), &["acme", "beta"])])
            .await
            .unwrap();
        let mut envs = envs();
        let only_acme = format!(r#"[{{"tenant":"acme","digests":["{}"]}}]"#, sha('a'));
        envs[0].observe_command = vec!["sh".into(), "-c".into(), format!("echo '{only_acme}'")];
        let seen = observe_runtime(&ledger, &rita(), "prod", &envs, None).await.unwrap();
        assert_eq!(seen.len(), 2, "acme as reported, beta as not reported: {seen:?}");
        let prod = latest(&ledger, "prod").await.unwrap();
        assert!(!prod[&Some("acme".to_string())].drifted);
        let beta = &prod[&Some("beta".to_string())];
        assert!(beta.drifted && beta.missing == 1, "{beta:?}");
        assert!(
            !prod.contains_key(&Some("gamma".to_string())),
            "never deployed: not observed"
        );
        db.cleanup().await;
    }

    /// A source naming a patient is refused like any free text, and nothing is recorded — also
    /// for an observation large enough to be kept beside the log.
    #[tokio::test]
    async fn a_source_holding_phi_is_refused_and_nothing_is_recorded() {
        let (db, ledger) = deployed_to_acme().await;
        let size = ledger.head().await.unwrap().size();
        let many: Vec<String> = (0..200).map(|i| format!("sha256:{i:064x}")).collect();
        let mut o = obs("prod", Some("acme"), &many);
        o.source = "patient John Smith SSN 123-45-6789".into();
        let e = observe(&ledger, &rita(), &envs(), &o).await.expect_err("refused");
        assert!(
            !e.message.contains("123-45-6789") && !e.hint.contains("123-45-6789"),
            "{e:?}"
        );
        assert_eq!(ledger.head().await.unwrap().size(), size, "nothing recorded");
        db.cleanup().await;
    }

    fn obs(env: &str, tenant: Option<&str>, digests: &[String]) -> Observation {
        Observation {
            environment: env.into(),
            tenant: tenant.map(str::to_string),
            digests: digests.to_vec(),
            config_digest: None,
            source: "kubectl".into(),
        }
    }

    /// The board's drift row of a unit is its latest observation, as `observe` found it: a
    /// later observation replaces an earlier one of the same unit, tenants and environments
    /// apart (`prod` never `prod-eu`); a shadow digest counts as drift and is named; a unit
    /// never observed has no row; and the rows are derived from the log like every other.
    #[tokio::test]
    async fn the_latest_observation_of_each_unit_is_what_the_board_reads() {
        let db = ward_store::testing::TestDb::sqlite();
        let ledger = Ledger::new(ward_store::open(&db.url).await.unwrap(), crate::projectors());
        ledger
            .append_batch(vec![deployed("prod", &sha('a'), &["acme", "beta", "gamma"])])
            .await
            .unwrap();
        let me = rita();
        let first = observe(&ledger, &me, &envs(), &obs("prod", Some("acme"), &[sha('a')]))
            .await
            .unwrap();
        assert!(!first.drifted);
        let shadow = observe(&ledger, &me, &envs(), &obs("prod", Some("beta"), &[sha('a'), sha('f')]))
            .await
            .unwrap();
        assert!(shadow.drifted);
        // acme drifts later, then is back in sync: the latest wins.
        observe(&ledger, &me, &envs(), &obs("prod", Some("acme"), &[]))
            .await
            .unwrap();
        let back = observe(&ledger, &me, &envs(), &obs("prod", Some("acme"), &[sha('a')]))
            .await
            .unwrap();
        observe(&ledger, &me, &envs(), &obs("prod-eu", Some("acme"), &[sha('e')]))
            .await
            .unwrap();

        let prod = latest(&ledger, "prod").await.unwrap();
        assert_eq!(prod.len(), 2, "gamma was never observed: {prod:?}");
        let acme = &prod[&Some("acme".to_string())];
        assert_eq!((acme.seq, acme.time.as_str()), (back.seq, back.time.as_str()));
        assert!(!acme.drifted);
        assert_eq!((acme.shadow, acme.stale, acme.missing), (0, 0, 0));
        let beta = &prod[&Some("beta".to_string())];
        assert!(beta.drifted);
        assert_eq!(beta.seq, shadow.seq);
        assert_eq!((beta.shadow, beta.shadow_digests.clone()), (1, vec![sha('f')]));
        assert_eq!(beta.config, "unreported");
        // The source is beside the log: the row holds its reference.
        assert!(crate::documents::is_reference(&beta.source), "{}", beta.source);
        assert_eq!(
            crate::documents::read_text(&ledger, &beta.source).await.unwrap(),
            "kubectl"
        );
        let eu = latest(&ledger, "prod-eu").await.unwrap();
        assert_eq!(eu.len(), 1);
        assert!(eu[&Some("acme".to_string())].drifted);
        assert!(latest(&ledger, "stage").await.unwrap().is_empty());
        assert!(ledger.check_state().await.unwrap().ok());
        db.cleanup().await;
    }

    /// An observation too large to be carried inline (here 300 shadow digests) still reaches the
    /// board: drifted, with its counts, never the unit's earlier "in sync"; the whole observation
    /// is kept beside the log under the digest the entry names.
    #[tokio::test]
    async fn a_large_drift_observation_is_not_lost_behind_an_earlier_in_sync_one() {
        let (db, ledger) = deployed_to_acme().await;
        let me = rita();
        observe(&ledger, &me, &envs(), &obs("prod", Some("acme"), &[sha('a')]))
            .await
            .unwrap();
        let many: Vec<String> = std::iter::once(sha('a'))
            .chain((0..300).map(|i| format!("sha256:{i:064x}")))
            .collect();
        let big = observe(&ledger, &me, &envs(), &obs("prod", Some("acme"), &many))
            .await
            .unwrap();
        assert!(big.drifted);
        let acme = &latest(&ledger, "prod").await.unwrap()[&Some("acme".to_string())];
        assert_eq!(acme.seq, big.seq, "the board reads the large observation");
        assert!(acme.drifted);
        assert_eq!(acme.shadow, 300);
        let entry = &ledger.store().entries(big.seq, 1).await.unwrap()[0];
        let env = ward_ledger::EventEnvelope::from_leaf(&entry.leaf).unwrap();
        let ward_ledger::Payload::Inline(p) = &env.payload else {
            panic!("the observation is carried inline")
        };
        let full = p["full_observation"].as_str().unwrap();
        let kept: Value = serde_json::from_slice(&ledger.store().evidence(full).await.unwrap().unwrap()).unwrap();
        assert_eq!(kept["shadow"].as_array().unwrap().len(), 300);
        assert!(ledger.check_state().await.unwrap().ok());
        db.cleanup().await;
    }

    /// A store whose observations were recorded before this projection existed lacks its rows:
    /// the state check (`ward log fsck`, `ward serve` at start) names them as missing, and
    /// `ward log rebuild-projections` derives them — on SQLite and PostgreSQL.
    #[tokio::test]
    async fn a_store_from_before_the_drift_projection_needs_one_rebuild() {
        needs_one_rebuild(ward_store::testing::TestDb::sqlite()).await;
        if let Some(db) = ward_store::testing::TestDb::postgres().await {
            needs_one_rebuild(db).await;
        }
    }

    async fn needs_one_rebuild(db: ward_store::testing::TestDb) {
        let without: Vec<_> = crate::projectors()
            .into_iter()
            .filter(|p| p.name() != "drift_latest")
            .collect();
        let old = Ledger::new(ward_store::open(&db.url).await.unwrap(), without);
        observe(&old, &rita(), &envs(), &obs("prod", None, &[sha('b')]))
            .await
            .unwrap();
        assert!(old.check_state().await.unwrap().ok());
        drop(old);
        let ledger = Ledger::new(ward_store::open(&db.url).await.unwrap(), crate::projectors());
        let report = ledger.check_state().await.unwrap();
        assert!(!report.ok());
        assert!(
            report
                .differences
                .iter()
                .all(|d| d.collection == DRIFT_LATEST && d.key == "prod/-"),
            "{:?}",
            report.differences
        );
        ledger.rebuild_projections().await.unwrap();
        assert!(ledger.check_state().await.unwrap().ok());
        assert!(latest(&ledger, "prod").await.unwrap()[&None].drifted);
        db.cleanup().await;
    }
}
