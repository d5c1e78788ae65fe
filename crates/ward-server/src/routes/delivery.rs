//! Delivery metrics: DORA's five figures read off the log.

use super::*;
use ward_app::metrics as delivery;

/// `?env=&service=&from=&to=&explain=`.
#[derive(Deserialize, IntoParams)]
pub(super) struct DoraQuery {
    /// Environment (declared in `[[environments]]`).
    env: String,
    /// Only this service (as its artifacts were registered).
    service: Option<String>,
    /// Period start: RFC 3339 time or date (midnight UTC); default 30 days before `to`.
    from: Option<String>,
    /// Period end (exclusive): RFC 3339 time or date; default now.
    to: Option<String>,
    /// Name the log entries (seq, kind, time) behind each figure.
    #[serde(default)]
    explain: bool,
}

/// DORA's five metrics for an environment (and service) over a period, each with its value,
/// sample size and DORA 2024 band; `explain=true` lists the log entries each figure rests on.
#[utoipa::path(get, path = "/api/v1/metrics/dora", tag = "metrics", params(DoraQuery), security(("bearer" = [])), responses(
    (status = 200, body = delivery::DoraReport), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody, description = "environment not declared")))]
pub(super) async fn dora_metrics(
    State(state): State<AppState>,
    Query(q): Query<DoraQuery>,
) -> Result<Json<delivery::DoraReport>, ApiError> {
    let req = delivery::request(
        &q.env,
        q.service.as_deref(),
        q.from.as_deref(),
        q.to.as_deref(),
        q.explain,
        jiff::Timestamp::now().as_second(),
    )?;
    Ok(Json(state.ward.dora(&req).await?))
}

/// `?env=&from=&to=&explain=`.
#[derive(Deserialize, IntoParams)]
pub(super) struct GovernanceQuery {
    /// Environment (declared in `[[environments]]`).
    env: String,
    /// Period start: RFC 3339 time or date (midnight UTC); default 30 days before `to`.
    from: Option<String>,
    /// Period end (exclusive): RFC 3339 time or date; default now.
    to: Option<String>,
    /// Name the log entries (seq, kind, time) behind each figure.
    #[serde(default)]
    explain: bool,
}

/// Governance metrics of an environment over a period: approval latency (open → quorum),
/// deployments under a waiver or break-glass, overdue retrospective reviews and the age of the
/// latest rollback drill; `explain=true` lists the entries behind each figure.
#[utoipa::path(get, path = "/api/v1/metrics/governance", tag = "metrics", params(GovernanceQuery), security(("bearer" = [])), responses(
    (status = 200, body = delivery::GovernanceReport), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody, description = "environment not declared")))]
pub(super) async fn governance_metrics(
    State(state): State<AppState>,
    Query(q): Query<GovernanceQuery>,
) -> Result<Json<delivery::GovernanceReport>, ApiError> {
    let req = delivery::request(
        &q.env,
        None,
        q.from.as_deref(),
        q.to.as_deref(),
        q.explain,
        jiff::Timestamp::now().as_second(),
    )?;
    Ok(Json(state.ward.governance(&req).await?))
}

/// `?service=&env=`.
#[derive(Deserialize, IntoParams)]
pub(super) struct DrStatusQuery {
    /// Only this service (a `[[services]]` name).
    service: Option<String>,
    /// The environment whose rollback drills count (default: the first of `[dr] environments`).
    env: Option<String>,
}

/// Disaster-recovery readiness of the `[[services]]` inventory now, as the gate judges it (the
/// rollback-drill rule included, as before a high-risk change): per store the last backup and
/// restore test, and each gap naming the store and the age.
#[utoipa::path(get, path = "/api/v1/dr/status", tag = "metrics", params(DrStatusQuery), security(("bearer" = [])), responses(
    (status = 200, body = ward_app::dr::DrStatus), (status = 404, body = ErrorBody, description = "no inventory, or no such service")))]
pub(super) async fn dr_status(
    State(state): State<AppState>,
    Query(q): Query<DrStatusQuery>,
) -> Result<Json<ward_app::dr::DrStatus>, ApiError> {
    Ok(Json(
        state
            .ward
            .dr_status(
                q.service.as_deref(),
                q.env.as_deref(),
                jiff::Timestamp::now().as_second(),
            )
            .await?,
    ))
}

/// Records a restore test signed by the caller, who must be a person and re-authenticates
/// (`password` or `reauth_token`): the store, when the restore finished, how long it took, what
/// was checked.
#[utoipa::path(post, path = "/api/v1/dr/restore-tests", tag = "metrics", request_body = ward_app::dr::RestoreTestRequest, security(("bearer" = [])), responses(
    (status = 201, body = ward_app::dr::RestoreTestRecord), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody, description = "automation cannot sign a restore test")))]
pub(super) async fn record_restore_test(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Extension(presented): Extension<PresentedCredential>,
    Json(req): Json<ward_app::dr::RestoreTestRequest>,
) -> Result<(StatusCode, Json<ward_app::dr::RestoreTestRecord>), ApiError> {
    let cx = state.reauth(&presented);
    let now = jiff::Timestamp::now().as_second();
    let rec = state.ward.record_restore_test(&me, &req, &cx, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(ward_app::documents::shown(&state.ledger, rec).await?),
    ))
}

/// How long the DORA gauges are kept before a scrape of `/metrics` computes them again.
pub const DORA_REFRESH: Duration = Duration::from_secs(60);
/// Most services with gauges of their own per environment (the environment's total counts
/// them all).
pub const MAX_GAUGE_SERVICES: usize = 100;

/// Computes the DORA gauges again when they are older than [`DORA_REFRESH`]: for each
/// production environment (the end of each chain) over `[metrics] gauge_window_days`, as a
/// whole and per service. One scrape at a time computes; the others serve the last values. A
/// store error keeps the last values (and is logged).
pub(super) async fn refresh_dora_gauges(state: &AppState) {
    let Ok(mut last) = state.metrics.dora_refreshed.try_lock() else {
        return;
    };
    if last.is_some_and(|t| t.elapsed() < DORA_REFRESH) {
        return;
    }
    // The window ends with the current second (the period's end is exclusive).
    let to = jiff::Timestamp::now().as_second() + 1;
    let from = to - i64::from(state.delivery.gauge_window_days) * delivery::DAY;
    let cfg = state.delivery.dora();
    let mut rows = Vec::new();
    for env in delivery::production(&state.gate.environments) {
        let view = match delivery::read(&state.ledger, &env).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(environment = %env, error = %e.message, "DORA gauges not refreshed");
                return;
            }
        };
        for (service, r) in delivery::by_service(&view, from, to, &cfg, MAX_GAUGE_SERVICES) {
            rows.push(crate::metrics::DoraRow {
                labels: crate::metrics::DoraLabels {
                    env: env.clone(),
                    service: service.unwrap_or_default(),
                },
                values: [
                    r.deployment_frequency.value,
                    r.change_lead_time.value,
                    r.change_fail_rate.value,
                    r.failed_deployment_recovery_time.value,
                    r.deployment_rework_rate.value,
                ],
            });
        }
    }
    state.metrics.set_dora(&rows);
    *last = Some(std::time::Instant::now());
}
