//! Evidence bundles: an auditor's download (docs/BUNDLE.md), recorded as an access event.

use super::*;

/// Parameters of a bundle: one of `change` or `deployment`.
#[derive(Deserialize, IntoParams)]
pub struct BundleQuery {
    /// The change whose bundle to build (all of its story).
    pub change: Option<String>,
    /// Or a deployment (the log entry of its record): its change's story up to it, and what
    /// rolled it back.
    pub deployment: Option<u64>,
    /// Or every change deployed to this environment between `from` and `to`.
    pub env: Option<String>,
    /// Start of the period (RFC 3339, inclusive).
    pub from: Option<String>,
    /// End of the period (RFC 3339, exclusive).
    pub to: Option<String>,
    /// Only deployments that reached this tenant.
    pub tenant: Option<String>,
}

/// The evidence bundle of a change, a deployment or an environment's period: a tar archive of every log entry concerned
/// with its inclusion proof to one signed checkpoint, the documents and evidence they
/// reference, and a report. Verify it offline with `ward verify bundle` or
/// `tools/verify_bundle.py`. Recorded as an `access.bundle` event by the caller.
#[utoipa::path(get, path = "/api/v1/bundles", tag = "audit", params(BundleQuery), security(("bearer" = [])), responses(
    (status = 200, description = "The bundle, a tar archive (docs/BUNDLE.md)", content_type = "application/x-tar", body = Vec<u8>),
    (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn export_bundle(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Query(q): Query<BundleQuery>,
) -> Result<Response, ApiError> {
    use ward_app::bundle::Query as Q;
    let invalid = |m: &str| {
        ApiError::from(ward_app::AppError::invalid(
            m,
            "pass ?change=CHG-…, ?deployment=N, or ?env=E&from=T1&to=T2[&tenant=T] (RFC 3339)",
        ))
    };
    let query = match (q.change, q.deployment, q.env) {
        (Some(c), None, None) => Q::Change(c),
        (None, Some(d), None) => Q::Deployment(d),
        (None, None, Some(env)) => {
            let time = |t: Option<String>| {
                t.and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .ok_or_else(|| invalid("from and to must be RFC 3339 times"))
            };
            Q::Period(ward_app::bundle::Period {
                env,
                from: time(q.from)?,
                to: time(q.to)?,
                tenant: q.tenant,
            })
        }
        _ => return Err(invalid("name one change, one deployment or one period")),
    };
    let built = ward_app::bundle::export(&state.ledger, state.signer.as_ref(), &state.origin, &me, &query).await?;
    // The name holds a checked change id (letters, digits, '-', '_') or a number.
    let disposition = format!("attachment; filename=\"{}\"", query.file_name());
    let mut resp = built.bytes.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Parameters of a population (docs/AUDIT.md).
#[derive(Deserialize, IntoParams)]
pub struct PopulationParams {
    /// The control (`change-management`, the default).
    pub control: Option<String>,
    /// Start of the period (RFC 3339, inclusive).
    pub from: String,
    /// End of the period (RFC 3339, exclusive).
    pub to: String,
    /// One environment (default: every production environment, the end of each chain).
    pub env: Option<String>,
}

/// The auditor's population of production deployments for a period: a tar archive of
/// `manifest.json`, `manifest.sig` (the manifest signed by the log's key), `population.csv` and
/// `population.json` (docs/AUDIT.md). Verify it with `ward verify population`. Recorded as an
/// `access.population` event by the caller.
#[utoipa::path(get, path = "/api/v1/audit/population", tag = "audit", params(PopulationParams), security(("bearer" = [])), responses(
    (status = 200, description = "The population, a tar archive (docs/AUDIT.md)", content_type = "application/x-tar", body = Vec<u8>),
    (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(super) async fn export_population(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Query(q): Query<PopulationParams>,
) -> Result<Response, ApiError> {
    let query = ward_app::audit::PopulationQuery {
        control: q.control.unwrap_or_else(|| ward_app::audit::CHANGE_MANAGEMENT.into()),
        from: q.from,
        to: q.to,
        env: q.env,
    };
    let p = ward_app::audit::population(
        &state.ledger,
        state.signer.as_ref(),
        &state.origin,
        &state.gate.environments,
        &me,
        &query,
    )
    .await?;
    let mut files = p.files;
    let manifest = files.remove("manifest.json").unwrap_or_default();
    let bytes = ward_app::bundle::to_tar(&manifest, &files)?;
    let mut resp = bytes.into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"population.tar\""),
    );
    Ok(resp)
}

/// Audit search: the log entries that concern an artifact, a change, a person, an environment, a
/// tenant or an event kind within a period, below a fresh signed checkpoint, each with its log
/// index, and the changes they concern (each exportable as a bundle). Recorded as an
/// `access.search` event by the caller (docs/AUDIT.md).
#[utoipa::path(get, path = "/api/v1/audit/search", tag = "audit", params(ward_app::search::SearchQuery), security(("bearer" = [])), responses(
    (status = 200, description = "The entries found", body = ward_app::search::SearchResult),
    (status = 400, body = ErrorBody)))]
pub(super) async fn audit_search(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Query(q): Query<ward_app::search::SearchQuery>,
) -> Result<Json<ward_app::search::SearchResult>, ApiError> {
    Ok(Json(
        ward_app::search::search(&state.ledger, state.signer.as_ref(), &state.origin, &me, &q).await?,
    ))
}
