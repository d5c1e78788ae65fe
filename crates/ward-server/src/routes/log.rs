//! The log: status, checkpoints, proofs, entries, documents, blobs, events and purges.

use super::*;
use ward_app::ops;

/// Size, root and latest checkpoint of the log.
#[utoipa::path(get, path = "/api/v1/log", tag = "log", security(("bearer" = [])), responses((status = 200, body = LogStatus)))]
pub(super) async fn log_status(State(state): State<AppState>) -> Result<Json<LogStatus>, ApiError> {
    Ok(Json(ops::status(&state.ledger, &state.origin).await?))
}

/// The latest signed checkpoint.
#[utoipa::path(get, path = "/api/v1/log/checkpoint", tag = "log", security(("bearer" = [])), responses(
    (status = 200, body = SignedCheckpoint), (status = 404, body = ErrorBody)))]
pub(super) async fn get_checkpoint(State(state): State<AppState>) -> Result<Json<SignedCheckpoint>, ApiError> {
    Ok(Json(ops::latest_checkpoint(&state.ledger).await?))
}

/// Signs a checkpoint of the current head.
#[utoipa::path(post, path = "/api/v1/log/checkpoint", tag = "log", security(("bearer" = [])), responses((status = 200, body = SignedCheckpoint)))]
pub(super) async fn create_checkpoint(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
) -> Result<Json<SignedCheckpoint>, ApiError> {
    let cp = ops::checkpoint(&state.ledger, state.signer.as_ref(), &state.origin, &me.actor()).await?;
    tracing::info!(actor = %me.id, size = cp.size, "checkpoint signed");
    Ok(Json(cp))
}

/// Parameters of an inclusion proof.
#[derive(Deserialize, IntoParams)]
pub struct ProofQuery {
    /// Leaf index.
    pub index: u64,
    /// Tree size (default: the latest checkpoint's).
    pub size: Option<u64>,
}

/// Inclusion proof of one entry.
#[utoipa::path(get, path = "/api/v1/log/proof", tag = "log", params(ProofQuery), security(("bearer" = [])), responses(
    (status = 200, body = InclusionProof), (status = 400, body = ErrorBody)))]
pub(super) async fn inclusion_proof(
    State(state): State<AppState>,
    Query(q): Query<ProofQuery>,
) -> Result<Json<InclusionProof>, ApiError> {
    Ok(Json(ops::inclusion(&state.ledger, q.index, q.size).await?))
}

/// Parameters of a consistency proof.
#[derive(Deserialize, IntoParams)]
pub struct ConsistencyQuery {
    /// Older size.
    pub from: u64,
    /// Newer size.
    pub to: u64,
}

/// Consistency proof between two sizes.
#[utoipa::path(get, path = "/api/v1/log/consistency", tag = "log", params(ConsistencyQuery), security(("bearer" = [])), responses(
    (status = 200, body = ConsistencyProof), (status = 400, body = ErrorBody)))]
pub(super) async fn consistency_proof(
    State(state): State<AppState>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    Ok(Json(ops::consistency(&state.ledger, q.from, q.to).await?))
}

/// Every signed checkpoint with its note, ascending.
#[utoipa::path(get, path = "/api/v1/log/checkpoints", tag = "log", security(("bearer" = [])), responses((status = 200, body = ops::Checkpoints)))]
pub(super) async fn list_checkpoints(State(state): State<AppState>) -> Result<Json<ops::Checkpoints>, ApiError> {
    Ok(Json(ops::checkpoints(&state.ledger).await?))
}

/// The log's verifier key (`name+hex8+base64`). Auditors should still obtain it out of band.
#[utoipa::path(get, path = "/api/v1/log/key", tag = "log", security(("bearer" = [])), responses((status = 200, body = ops::VerifierKey)))]
pub(super) async fn verifier_key(State(state): State<AppState>) -> Result<Json<ops::VerifierKey>, ApiError> {
    let key = state.signer.verifier_key().ok_or_else(|| {
        ApiError::not_found(
            "this log's signature algorithm has no verifier key string",
            "ask the operator for the verifier key",
        )
    })?;
    Ok(Json(ops::VerifierKey { verifier_key: key }))
}

/// Raw leaves, for `ward log export --server`. A person's export is recorded as an access event.
#[utoipa::path(get, path = "/api/v1/log/entries", tag = "log", params(ListQuery), security(("bearer" = [])), responses((status = 200, body = ops::RawEntries)))]
pub(super) async fn raw_entries(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Query(q): Query<ListQuery>,
) -> Result<Json<ops::RawEntries>, ApiError> {
    let page = ops::raw_entries(&state.ledger, q.from, q.limit).await?;
    if me.kind == ActorKind::Human
        && let (Some(first), Some(last)) = (page.entries.first(), page.entries.last())
    {
        record_access(
            &state,
            &me,
            "access.export",
            json!({ "from": first.seq, "to": last.seq }),
        )
        .await?;
    }
    Ok(Json(page))
}

/// A text document's stored bytes, for an export (`data` is null once purged).
#[utoipa::path(get, path = "/api/v1/log/documents/{digest}", tag = "log", params(("digest" = String, Path, description = "sha256:<hex>")), security(("bearer" = [])), responses(
    (status = 200, body = ops::DocumentBytes), (status = 400, body = ErrorBody)))]
pub(super) async fn get_document_bytes(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(digest): Path<String>,
) -> Result<Json<ops::DocumentBytes>, ApiError> {
    let doc = ops::document_bytes(&state.ledger, &digest).await?;
    if me.kind == ActorKind::Human {
        record_access(&state, &me, "access.export", json!({ "document": digest })).await?;
    }
    Ok(Json(doc))
}

/// An out-of-line payload.
#[utoipa::path(get, path = "/api/v1/log/blobs/{digest}", tag = "log", params(("digest" = String, Path, description = "sha256:<hex>")), security(("bearer" = [])), responses(
    (status = 200, body = ops::Blob), (status = 404, body = ErrorBody)))]
pub(super) async fn get_blob(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Path(digest): Path<String>,
) -> Result<Json<ops::Blob>, ApiError> {
    let blob = ops::blob(&state.ledger, &digest).await?;
    if me.kind == ActorKind::Human {
        record_access(&state, &me, "access.export", json!({ "blob": digest })).await?;
    }
    Ok(Json(blob))
}

/// Records that a person read log content (HIPAA §164.312(b) audit controls).
pub(super) async fn record_access(state: &AppState, me: &Identity, kind: &str, payload: Value) -> Result<(), ApiError> {
    state
        .ledger
        .append(NewEvent {
            actor: me.actor(),
            kind: kind.into(),
            subject: "log:entries".into(),
            payload,
        })
        .await?;
    Ok(())
}

/// Parameters of a listing.
#[derive(Deserialize, IntoParams)]
pub struct ListQuery {
    /// First entry.
    #[serde(default)]
    pub from: u64,
    /// Most entries (≤ 1000).
    #[serde(default = "default_limit")]
    pub limit: u64,
}

pub(super) fn default_limit() -> u64 {
    100
}

/// Parameters of `GET /api/v1/events`.
#[derive(Deserialize, IntoParams)]
pub struct EventsQuery {
    /// First entry.
    #[serde(default)]
    pub from: u64,
    /// Most entries (≤ 1000).
    #[serde(default = "default_limit")]
    pub limit: u64,
    /// Show the text of each document a payload references in its place (or `[purged by
    /// entry N]`); the events then no longer hash to their `leaf_hash`.
    #[serde(default)]
    pub texts: bool,
}

/// Log entries with their events. A person's read is recorded as an access event.
#[utoipa::path(get, path = "/api/v1/events", tag = "log", params(EventsQuery), security(("bearer" = [])), responses((status = 200, body = Entries)))]
pub(super) async fn list_events(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Query(q): Query<EventsQuery>,
) -> Result<Json<Entries>, ApiError> {
    let entries = ops::entries(&state.ledger, q.from, q.limit, q.texts).await?;
    if me.kind == ActorKind::Human
        && let (Some(first), Some(last)) = (entries.entries.first(), entries.entries.last())
    {
        record_access(&state, &me, "access.read", json!({ "from": first.seq, "to": last.seq })).await?;
    }
    Ok(Json(entries))
}

pub use ward_app::ops::EventRequest;

/// One event or several.
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EventsRequest {
    /// One event (committed with concurrent appends: group commit).
    One(EventRequest),
    /// Several events, committed together in one transaction.
    Many(Vec<EventRequest>),
}

/// Appends events as the caller. Returns once they are durable.
#[utoipa::path(post, path = "/api/v1/events", tag = "log", request_body = EventsRequest, security(("bearer" = [])), responses(
    (status = 201, body = Appended), (status = 400, body = ErrorBody)))]
pub(super) async fn append_events(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<EventsRequest>,
) -> Result<(StatusCode, Json<Appended>), ApiError> {
    let started = Instant::now();
    let to_event = |e: EventRequest| -> Result<NewEvent, ApiError> {
        if let Some(a) = &e.actor
            && (a.id != me.id || a.kind != me.kind)
        {
            return Err(ApiError::invalid(
                format!(
                    "the event names an actor {} but the caller is {:?}",
                    ward_app::identifier::shown(&a.id),
                    me.id
                ),
                "omit `actor`: the server records the authenticated caller",
            ));
        }
        Ok(NewEvent {
            actor: me.actor(),
            kind: e.kind,
            subject: e.subject,
            payload: e.payload,
        })
    };
    let events = match req {
        EventsRequest::One(e) => vec![to_event(e)?],
        EventsRequest::Many(list) => list.into_iter().map(to_event).collect::<Result<Vec<_>, _>>()?,
    };
    // The caller is the actor Ward authenticated: it stays in the leaf.
    let appended = ops::append_submitted(&state.ledger, events, None).await?;
    state.metrics.append_latency.observe(started.elapsed().as_secs_f64());
    if let Some(last) = appended.appended.last() {
        state
            .metrics
            .ledger_size
            .set(i64::try_from(last.seq + 1).unwrap_or(i64::MAX));
    }
    Ok((StatusCode::CREATED, Json(appended)))
}

/// One step of a two-person purge of a text document: the first privacy officer's call records
/// the request, a second person's (privacy officer or admin) deletes the document and records
/// `document.purged`. Both re-authenticate.
#[utoipa::path(post, path = "/api/v1/documents/{digest}/purge", tag = "log", params(("digest" = String, Path, description = "sha256:<hex>")), request_body = ward_app::purge::PurgeRequest, security(("bearer" = [])), responses(
    (status = 201, body = ward_app::purge::PurgeOutcome), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub(super) async fn purge_document(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Extension(presented): Extension<PresentedCredential>,
    Path(digest): Path<String>,
    Json(req): Json<ward_app::purge::PurgeRequest>,
) -> Result<(StatusCode, Json<ward_app::purge::PurgeOutcome>), ApiError> {
    let out = ward_app::purge::purge(&state.ledger, &me, &digest, &req, &state.reauth(&presented)).await?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Every stored copy of a text — each document beside the log and each stored file an entry
/// references — so a privacy officer purges them all (a ticket's URL is also in the search an
/// auditor made for it). The text is sent in the body, never recorded or repeated; the read is
/// recorded as `access.documents_found`.
#[utoipa::path(post, path = "/api/v1/documents/find", tag = "log", request_body = ward_app::purge::FindRequest, security(("bearer" = [])), responses(
    (status = 200, body = ward_app::purge::Found), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub(super) async fn find_documents(
    State(state): State<AppState>,
    Extension(me): Extension<Identity>,
    Json(req): Json<ward_app::purge::FindRequest>,
) -> Result<Json<ward_app::purge::Found>, ApiError> {
    Ok(Json(ward_app::purge::find_holding(&state.ledger, &me, &req).await?))
}
