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

impl DrPolicy {
    /// Whether an artifact of `service` may be registered: any, when `[[services]]` declares
    /// none; else only one it declares (case aside). A service's name is written into the log
    /// as it is given, so an installation that declares its services keeps every other name
    /// out (a name holding a person's birth date was judged by heuristics only).
    pub fn admits_service(&self, service: &str) -> bool {
        self.services.is_empty() || self.services.iter().any(|s| same_service(&s.name, service))
    }
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
    policy: &DrPolicy,
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
            "record it as yourself, signed in as a person, or attach the tool's restore job as backup evidence (type dr:TOOL)",
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
    // The store's name stays in the leaf: judged as an identifier (attack on `e1f21bd`:
    // `--store smith-j-1961-04-12` and a personal mail address were recorded).
    crate::identifier::judge("store", store)?;
    crate::identifier::check_labelled("store", store)?;
    // A restore test is of a store the inventory declares, named as it names it: readiness
    // reads no other, and a name nobody declared is a caller's text in the leaf (a helper's
    // attack on `1d87e6e`: `--store 219451100`, an address or a child's name and birth date
    // were recorded, and with a `ward.toml` that did not parse).
    if !policy.services.iter().any(|s| s.stores.iter().any(|x| x == store)) {
        return Err(AppError::new(
            Kind::Unprocessable,
            "unknown_store",
            format!(
                "the store ({} characters) is not one the stores of [[services]] in ward.toml name; nothing was recorded",
                store.chars().count()
            ),
            "name the store exactly as a service's stores list names it (the dr status lists them), or declare it there first",
        ));
    }
    let finished = req
        .finished
        .parse::<jiff::Timestamp>()
        .map(crate::identifier::to_the_second)
        .map_err(|_| {
            AppError::invalid(
                format!(
                    "finished {} is not an RFC 3339 time",
                    crate::identifier::shown(&req.finished)
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
    // No tier counts a restore test older than a year (the low tier's 365 days): an older
    // finish proves nothing now, and is a date a person typed beside their printed name (a
    // helper's attack on `afa6612`: `--finished 1980-04-12T00:00:00Z`).
    if finished_secs < now - 366 * 86_400 {
        return Err(AppError::invalid(
            "the restore finished more than a year ago: no tier counts it",
            "record a restore test you ran within the tier's restore_test_days",
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
    let proof = match cx
        .reauthenticate(ledger, by, req.password.as_deref(), req.reauth_token.as_deref(), now)
        .await?
    {
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
        "printed_name": proof.printed_name_in(&mut texts)?,
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

/// Projection of the DR evidence per store, for the gate's narrow read: each successful backup
/// job of a `dr:` attestation (key `<hex store>/b/<finished>/<seq>/<record>`, doc `finished`,
/// `tool`, `id`) and each signed restore test (key `<hex store>/r/<finished>/<seq>`, doc
/// `finished`, `duration_secs`, `signer`). Keys sort by time within a store, so the latest job
/// or test up to a moment is one seek ([`ward_store::Store::projection_last_before`]); among
/// equal times the later entry, as [`judge`] picks.
pub const DR_BY_STORE: &str = "dr_by_store";

/// A time as a key part that sorts as the time does (sign bit flipped, 16 hex digits).
fn time_key(secs: i64) -> String {
    format!("{:016x}", (secs as u64) ^ (1 << 63))
}

/// Projects `attestation.added` on the [`DR_TARGET`] and `dr.restore_tested` into
/// [`DR_BY_STORE`].
pub struct DrStoreProjector;

impl Projector for DrStoreProjector {
    fn name(&self) -> &'static str {
        "dr_by_store"
    }

    fn project(&self, e: &EventEnvelope) -> Vec<ProjectionOp> {
        let Payload::Inline(p) = &e.payload else {
            return vec![];
        };
        match e.kind.as_str() {
            "attestation.added" if p.get("artifact").and_then(Value::as_str) == Some(DR_TARGET) => {
                let summary = p.get("summary").cloned().unwrap_or(Value::Null);
                jobs_of(std::slice::from_ref(&summary))
                    .into_iter()
                    .enumerate()
                    .filter(|(_, j)| j.kind == "backup" && j.succeeded)
                    .filter_map(|(i, j)| {
                        let f = j.finished?;
                        Some(ProjectionOp::Put {
                            collection: DR_BY_STORE.into(),
                            key: format!("{}/b/{}/{:020}/{i:06}", hex::encode(&j.store), time_key(f), e.seq),
                            doc: json!({ "finished": f, "tool": j.tool, "id": j.id }),
                        })
                    })
                    .collect()
            }
            "dr.restore_tested" => {
                let (Some(store), Some(f), Some(d), Some(signer)) = (
                    p.get("store").and_then(Value::as_str),
                    p.get("finished_secs").and_then(Value::as_i64),
                    p.get("duration_secs").and_then(Value::as_u64),
                    p.get("signer").and_then(Value::as_str),
                ) else {
                    return vec![];
                };
                vec![ProjectionOp::Put {
                    collection: DR_BY_STORE.into(),
                    key: format!("{}/r/{}/{:020}", hex::encode(store), time_key(f), e.seq),
                    doc: json!({ "finished": f, "duration_secs": d, "signer": signer }),
                }]
            }
            _ => vec![],
        }
    }
}

/// What the gate needs of the DR evidence of `stores` at `now`, read narrowly from
/// [`DR_BY_STORE`]: per store the latest successful backup finished by `now` (or, when there is
/// none, one stamped later, so the reason can say so) and the latest restore test finished by
/// `now` — two seeks a store, whatever the number of reports kept. [`judge`] reaches the same
/// verdicts from it as from [`evidence`].
pub async fn evidence_of_stores(
    ledger: &Ledger,
    stores: &[&str],
    environment: &str,
    with_drill: bool,
    now: i64,
) -> Result<Evidence, AppError> {
    let store = ledger.store();
    let corrupt = |what: &str| AppError::internal(format!("{DR_BY_STORE}: {what} without its fields"));
    let mut jobs = Vec::new();
    let mut restore_tests = Vec::new();
    let mut done = std::collections::HashSet::new();
    for name in stores.iter().filter(|s| done.insert(**s)) {
        let h = hex::encode(name);
        let upto = |part: &str| match now.checked_add(1) {
            Some(n) => format!("{h}/{part}/{}", time_key(n)),
            None => format!("{h}/{part}0"),
        };
        let mut backup = store
            .projection_last_before(DR_BY_STORE, &format!("{h}/b/"), &upto("b"))
            .await?;
        if backup.is_none() {
            // None by now: one stamped later is named in the reason.
            backup = store
                .projection_last_before(DR_BY_STORE, &format!("{h}/b/"), &format!("{h}/b0"))
                .await?;
        }
        if let Some((_, doc)) = backup {
            jobs.push(Job {
                store: name.to_string(),
                kind: "backup".into(),
                succeeded: true,
                started: None,
                finished: Some(
                    doc.get("finished")
                        .and_then(Value::as_i64)
                        .ok_or_else(|| corrupt("a backup"))?,
                ),
                tool: doc.get("tool").and_then(Value::as_str).unwrap_or_default().to_string(),
                id: doc.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
            });
        }
        if let Some((_, doc)) = store
            .projection_last_before(DR_BY_STORE, &format!("{h}/r/"), &upto("r"))
            .await?
        {
            restore_tests.push(RestoreTest {
                store: name.to_string(),
                finished: doc
                    .get("finished")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| corrupt("a restore test"))?,
                duration_secs: doc
                    .get("duration_secs")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| corrupt("a restore test"))?,
                signer: doc
                    .get("signer")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            });
        }
    }
    Ok(Evidence {
        jobs,
        restore_tests,
        last_drill: if with_drill {
            last_drill(ledger, environment).await?
        } else {
            None
        },
    })
}

/// The time of the environment's last successful rollback drill.
async fn last_drill(ledger: &Ledger, environment: &str) -> Result<Option<i64>, AppError> {
    Ok(crate::deployments::deployments(ledger, environment)
        .await?
        .iter()
        .filter(|d| d.drill && d.status == "succeeded")
        .filter_map(|d| d.time.parse::<jiff::Timestamp>().ok().map(|t| t.as_second()))
        .max())
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
        last_drill(ledger, environment).await?
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
    let stores: Vec<&str> = chosen
        .iter()
        .flat_map(|s| s.stores.iter().map(String::as_str))
        .collect();
    let ev = evidence_of_stores(ledger, &stores, environment, with_drill, now).await?;
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
    // Judged as a name a leaf would keep: the answer repeats it (a helper's attack on the
    // thirteenth session's head: `env=john-smith-1961-04-12` came back in a 200).
    crate::users::check_new_name("environment", &env)?;
    let mut here = policy.clone();
    here.rules.environments = vec![env.clone()];
    let only = service.map(|s| vec![s.to_string()]);
    let services = states(ledger, &here, only.as_deref(), &env, true, now).await?;
    if services.is_empty() {
        return Err(AppError::new(
            Kind::NotFound,
            "no_service",
            format!(
                "no [[services]] entry named {}",
                crate::identifier::named(service.unwrap_or_default())
            ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use ward_ledger::{Actor, ActorKind};

    fn actor() -> Actor {
        Actor {
            id: "user:ops".into(),
            kind: ActorKind::Human,
        }
    }

    fn report(tool: &str, records: Value) -> NewEvent {
        NewEvent {
            actor: actor(),
            kind: "attestation.added".into(),
            subject: "dr".into(),
            payload: json!({"id": format!("sha256:{}", hex::encode(records.to_string())), "artifact": DR_TARGET,
                "type": format!("dr:{tool}"), "file_name": "sha256:00", "size": 1, "added_by": "user:ops",
                "summary": {"tool": tool, "records": records}}),
        }
    }

    fn job(store: &str, kind: &str, ok: bool, finished: i64, id: &str) -> Value {
        json!({"store": store, "kind": kind, "succeeded": ok, "started": finished - 60, "finished": finished, "id": id})
    }

    fn restore_test(store: &str, finished: i64, duration: u64) -> NewEvent {
        NewEvent {
            actor: actor(),
            kind: "dr.restore_tested".into(),
            subject: "dr".into(),
            payload: json!({"store": store, "finished": rfc3339(finished), "finished_secs": finished,
                "duration_secs": duration, "checked": "sha256:00", "signer": "user:ops", "printed_name": "Ops",
                "reauth": "password", "meaning": "restore-tested"}),
        }
    }

    fn rfc3339(secs: i64) -> String {
        jiff::Timestamp::from_second(secs).unwrap().to_string()
    }

    /// The gate's narrow read (two seeks a store) must judge exactly as reading every report and
    /// restore test: the latest by the clock, the later entry among equal times, a backup
    /// stamped in the future named as such, failed jobs and restore jobs ignored, a store whose
    /// name is a prefix of another's kept apart.
    #[tokio::test]
    async fn the_narrow_dr_read_judges_as_reading_every_report() {
        let db = ward_store::testing::TestDb::sqlite();
        let ledger = Ledger::new(ward_store::open(&db.url).await.unwrap(), crate::projectors());
        let t = 1_800_000_000;
        ledger
            .append_batch(vec![
                report(
                    "pgbackrest",
                    json!([
                        job("main", "backup", true, t - 7_200, "F1"),
                        job("main", "backup", false, t - 60, "F2"),
                        job("main/replica", "backup", true, t - 30, "R1"),
                        job("main", "restore", true, t - 20, "X1")
                    ]),
                ),
                report(
                    "velero",
                    json!([
                        job("main", "backup", true, t - 3_600, "V1"),
                        job("main", "backup", true, t - 3_600, "V2"),
                        job("future", "backup", true, t + 3_600, "Z1"),
                        job("main", "backup", true, t + 600, "V3")
                    ]),
                ),
                report("aws-backup", json!([job("main", "backup", true, t - 3_600, "A1")])),
                restore_test("main", t - 86_400, 600),
                restore_test("main", t - 86_400, 9_000),
                restore_test("main", t + 100, 60),
                restore_test("main/replica", t - 10, 60),
            ])
            .await
            .unwrap();
        let service = |name: &str, stores: &[&str]| Service {
            name: name.into(),
            tier: "high".into(),
            rpo: "30m".into(),
            rto: "1h".into(),
            stores: stores.iter().map(|s| s.to_string()).collect(),
        };
        let services = [
            service("api", &["main"]),
            service("replica", &["main/replica"]),
            service("later", &["future"]),
            service("none", &["absent", "main"]),
        ];
        let rules = DrRules::default();
        let full = evidence(&ledger, "prod", false).await.unwrap();
        for now in [
            t - 100_000,
            t - 86_400,
            t - 3_600,
            t - 1_000,
            t,
            t + 100,
            t + 700,
            t + 4_000,
        ] {
            let stores: Vec<&str> = services
                .iter()
                .flat_map(|s| s.stores.iter().map(String::as_str))
                .collect();
            let narrow = evidence_of_stores(&ledger, &stores, "prod", false, now).await.unwrap();
            for s in &services {
                assert_eq!(
                    judge(s, &rules, &narrow, false, now),
                    judge(s, &rules, &full, false, now),
                    "{} at {now}",
                    s.name
                );
            }
        }
        // At t: the later of three backups finished at the same time, the later of two restore
        // tests finished at the same time; the backup stamped in the future is named as such.
        let narrow = evidence_of_stores(&ledger, &["main", "future"], "prod", false, t)
            .await
            .unwrap();
        let api = judge(&services[0], &rules, &narrow, false, t);
        assert_eq!(api.stores[0].last_backup, Some(t - 3_600));
        assert_eq!(api.stores[0].last_backup_job.as_deref(), Some("aws-backup A1"));
        assert_eq!(api.stores[0].restore_secs, Some(9_000));
        let later = judge(&services[2], &rules, &narrow, false, t);
        assert!(
            later.gaps.iter().any(|g| g.reason.contains("stamped in the future")),
            "{:?}",
            later.gaps
        );
        // The per-store projection is derived from the log like every other: fsck and rebuild.
        assert!(ledger.check_state().await.unwrap().ok());
        ledger.rebuild_projections().await.unwrap();
        assert!(ledger.check_state().await.unwrap().ok());
        db.cleanup().await;
    }
}
