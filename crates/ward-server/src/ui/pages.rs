//! The pages: the release board, a change, the approvals inbox. Each reads through ward-app
//! (the same services as the API's routes for the same data) and renders with maud.

use super::{Viewer, failure, layout, page, permit, time, time_secs};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use ward_app::board::{Board, Release, Waiting};
use ward_app::overview::{self, ChangeOverview};
use ward_app::promotion::drift::DriftSeen;

pub(super) fn short(digest: &str) -> &str {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    hex.get(..12).unwrap_or(hex)
}

pub(super) fn digest(d: &str) -> Markup {
    html! { code.digest title=(d) { (short(d)) } }
}

fn release(r: &Release) -> Markup {
    html! {
        @if r.service.is_empty() { (digest(&r.digest)) }
        @else { strong { (r.service) } " " (r.version) " " span.muted { (digest(&r.digest)) } }
    }
}

/// A board cell's drift, in words (never colour alone) and short (the board stays under
/// 100 kB with every tenant observed): `in sync`, `DRIFT: 1 shadow, config differs (entry N)`,
/// either followed by `(reported by user:x)` when a person or script reported it by hand —
/// counts, the observation's entry linked to the audit search for a viewer who may search the
/// log — or `—` when never observed. When is in the environment's summary line; which digests,
/// in the observation (`ward audit search --kind drift.observed`).
fn drift_cell(env: &str, cell: &ward_app::board::Cell, may_search: bool) -> Markup {
    let tenant = cell.tenant.as_deref();
    let Some(d) = current_observation(cell) else {
        return match &cell.drift {
            // Observed before the release it runs now was recorded: that verdict was about the
            // release before, not this one.
            Some(_) => html! { "not observed since its deployment" },
            None => html! { "—" },
        };
    };
    // A verdict reported by hand (not asked of the runtime by Ward) names who reported it.
    let reported = (d.origin != "runtime").then(|| {
        let who = if d.by.is_empty() { "unknown" } else { d.by.as_str() };
        html! { " " span.muted { "(reported by " (who) ")" } }
    });
    if !d.drifted {
        return html! { "in sync" (reported.unwrap_or_default()) };
    }
    let mut differs: Vec<String> = Vec::new();
    for (n, what) in [(d.shadow, "shadow"), (d.stale, "stale"), (d.missing, "missing")] {
        if n > 0 {
            differs.push(format!("{n} {what}"));
        }
    }
    match d.config.as_str() {
        "differs" => differs.push("config differs".into()),
        "shadow" => differs.push("config never deployed here".into()),
        _ => {}
    }
    html! {
        strong.bad { "DRIFT:" } " " (differs.join(", ")) " ("
        @if may_search {
            a href=(format!("/ui/audit?kind=drift.observed&env={env}&tenant={}", tenant.unwrap_or(""))) { "entry " (d.seq) }
        } @else { "entry " (d.seq) }
        ")" (reported.unwrap_or_default())
    }
}

/// The cell's latest drift observation when it was made after the deployment the cell runs
/// (an older one judged the release before).
fn current_observation(cell: &ward_app::board::Cell) -> Option<&DriftSeen> {
    cell.drift
        .as_ref()
        .filter(|d| cell.deployment.is_none_or(|dep| d.seq > dep))
}

/// An environment's drift in one line: when it was last observed, and how many of its units are
/// in sync, drifted or never observed.
fn drift_summary(env: &ward_app::board::EnvironmentRow) -> Markup {
    let seen: Vec<&DriftSeen> = env.cells.iter().filter_map(current_observation).collect();
    let drifted = seen.iter().filter(|d| d.drifted).count();
    let last = seen.iter().map(|d| d.time.as_str()).max();
    html! {
        p.muted {
            "Drift: "
            @match last {
                None => { "never observed (record what runs with " code { "ward env observe --env " (env.name) " --from FILE" } ")" }
                Some(t) => {
                    (seen.len() - drifted) " in sync, " strong { (drifted) " drifted" }
                    @if seen.len() < env.cells.len() { ", " (env.cells.len() - seen.len()) " not observed since their deployment" }
                    "; last observed " (time(t))
                }
            }
            "."
        }
    }
}

fn placeholder(what: &str, command: &str) -> Markup {
    html! { p.placeholder { (what) " — not in the web UI yet: use " code { (command) } "." } }
}

/// `?service=`.
#[derive(Deserialize)]
pub(super) struct BoardQuery {
    #[serde(default)]
    service: Option<String>,
}

/// `GET /`: the release board.
pub(super) async fn board(State(state): State<AppState>, viewer: Viewer, Query(q): Query<BoardQuery>) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", "/").await {
        return r;
    }
    let service = q.service.as_deref().filter(|s| !s.is_empty());
    let built = async {
        let b = state.ward.board(service).await?;
        let b: Board = ward_app::documents::shown(&state.ledger, b).await?;
        let recent = ward_app::changes::list(&state.ledger).await?;
        let recent: Vec<_> = recent.into_iter().take(25).collect();
        let recent = ward_app::documents::shown(&state.ledger, recent).await?;
        Ok::<_, ward_app::AppError>((b, recent))
    }
    .await;
    let (b, recent) = match built {
        Ok(x) => x,
        Err(e) => return failure(e),
    };
    let may_search = viewer.identity.may(ward_core::Action::LogExport);
    let body = html! {
        h1 { "Release board" }
        form method="get" action="/" {
            label for="service" { "Service " }
            select #service name="service" {
                option value="" { "all services" }
                @for s in &b.services {
                    option value=(s) selected[service == Some(s.as_str())] { (s) }
                }
            }
            " "
            button type="submit" { "Filter" }
        }
        @if b.environments.is_empty() {
            p { "No environments are declared in " code { "ward.toml" } " ([[environments]])." }
        }
        @for env in &b.environments {
            // The ring column only where the environment has rings.
            @let rings = env.cells.iter().any(|c| c.ring.is_some());
            h2 {
                (env.name)
                @if let Some(after) = &env.after { span.muted { " after " (after) } }
            }
            div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" {
                table {
                    thead { tr { th scope="col" { "Tenant" } @if rings { th scope="col" { "Ring" } } th scope="col" { "Runs" } th scope="col" { "Change" } th scope="col" { "Since" } th scope="col" { "Drift" } } }
                    tbody {
                        @for c in &env.cells {
                            tr {
                                td { @if let Some(t) = &c.tenant { (t) } @else { span.muted { "(whole environment)" } } }
                                @if rings { td { @if let Some(r) = &c.ring { (r) } } }
                                td {
                                    @if c.releases.is_empty() { span.muted { "—" } }
                                    @for r in &c.releases { div { (release(r)) } }
                                }
                                td { @if let Some(ch) = &c.change { a href=(format!("/ui/changes/{ch}")) { (ch) } } }
                                td { @if let Some(t) = &c.since { (time(t)) } }
                                td { (drift_cell(&env.name, c, may_search)) }
                            }
                        }
                    }
                }
            }
            (drift_summary(env))
            @if !env.pending.is_empty() {
                p { strong { "Waiting to be promoted" } " from " (env.after.as_deref().unwrap_or("")) }
                ul.plain {
                    @for p in &env.pending {
                        li {
                            a href=(format!("/ui/changes/{}#release", p.change)) { (p.change) } ": "
                            @for (i, r) in p.releases.iter().enumerate() {
                                @if i > 0 { ", " }
                                (release(r))
                            }
                        }
                    }
                }
            }
            @if !env.rollouts.is_empty() {
                p { strong { "Rollouts in progress" } }
                ul.plain {
                    @for r in &env.rollouts {
                        li {
                            a href=(format!("/ui/rollouts/{}", r.id)) { code { (r.id) } } " of "
                            a href=(format!("/ui/changes/{}", r.change)) { (r.change) }
                            " (" (digest(&r.digest)) "): "
                            span.pending { (r.status) } ", step " (r.step.min(r.plan.len())) " of " (r.plan.len())
                            @if let Some(reason) = &r.reason { " — " (reason) }
                        }
                    }
                }
            }
        }
        h2 { "Recent changes" }
        @if recent.is_empty() { p.muted { "No changes yet." } }
        @else {
            div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
                thead { tr { th scope="col" { "Change" } th scope="col" { "Title" } th scope="col" { "Tier" } th scope="col" { "Opened" } } }
                tbody {
                    @for c in &recent {
                        tr {
                            td { a href=(format!("/ui/changes/{}", c.id)) { (c.id) } }
                            td { (c.request.title) }
                            td { (c.tier.as_str()) }
                            td { (time(&c.time)) }
                        }
                    }
                }
            } }
        }
        h2 { "More" }
        ul.plain {
            li { a href="/ui/rollouts" { "Rollouts" } " — live steps, traffic split, analyses and automated rollbacks, with the operator actions." }
            li { a href="/ui/deployments" { "Deployments" } " — every deployment record per environment." }
            li { a href="/ui/waivers" { "Waivers" } " — active waivers, those expiring first." }
            li { a href="/ui/reviews" { "Break-glass reviews" } " — open and overdue retrospective reviews." }
            li { a href="/ui/metrics" { "Delivery metrics" } " — DORA's five figures and the governance figures per environment, each traced to its log entries." }
            @if viewer.identity.may(ward_core::Action::LogExport) {
                li { a href="/ui/audit" { "Audit" } " — search, a period's population and sample, bundles, the log's checkpoint and verifier key." }
            }
        }
        (placeholder("Recording what runs (drift)", "ward env observe --env ENV --from FILE"))
    };
    page(&viewer, layout("Release board", Some(&viewer), body))
}

/// Top-level scalars of an evidence summary, `key: value`.
fn summary(v: &Value) -> Markup {
    let items: Vec<(String, String)> = match v {
        Value::Object(m) => m
            .iter()
            .filter_map(|(k, v)| match v {
                Value::String(s) => Some((k.clone(), s.clone())),
                Value::Number(n) => Some((k.clone(), n.to_string())),
                Value::Bool(b) => Some((k.clone(), b.to_string())),
                Value::Object(o) if o.values().all(Value::is_number) => Some((
                    k.clone(),
                    o.iter().map(|(a, b)| format!("{a} {b}")).collect::<Vec<_>>().join(", "),
                )),
                _ => None,
            })
            .take(8)
            .collect(),
        _ => Vec::new(),
    };
    html! {
        @for (k, v) in &items { div { span.muted { (k) ": " } (v) } }
    }
}

/// An attestation's raw document.
pub const EVIDENCE: &str = "/ui/evidence/{subject}/{id}";

/// `GET /ui/evidence/{subject}/{id}`: an attestation's raw document as a download — never
/// rendered (`attachment`, `application/octet-stream`, `nosniff`) — read through
/// `evidence::read_document`, which records the read.
pub(super) async fn evidence_document(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((subject, id)): Path<(String, String)>,
) -> Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    if let Err(r) = permit(&state, &viewer, "GET", EVIDENCE).await {
        return r;
    }
    match ward_app::evidence::read_document(&state.ledger, &viewer.identity, &subject, &id, "ui").await {
        Ok((a, bytes)) => {
            let name: String = a
                .file_name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                        c
                    } else {
                        '_'
                    }
                })
                .take(100)
                .collect();
            (
                [
                    (header::CONTENT_TYPE, "application/octet-stream".to_string()),
                    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
                ],
                bytes,
            )
                .into_response()
        }
        Err(e) => failure(e),
    }
}

/// `GET /ui/changes/{id}`: a change and everything recorded about it; recorded as an access read.
pub(super) async fn change(State(state): State<AppState>, viewer: Viewer, Path(id): Path<String>) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", "/ui/changes/{id}").await {
        return r;
    }
    let built = async {
        let o = state
            .ward
            .change_overview(&id, jiff::Timestamp::now().as_second())
            .await?
            .for_reader(&viewer.identity);
        let o: ChangeOverview = ward_app::documents::shown(&state.ledger, o).await?;
        overview::record_read(&state.ledger, &viewer.identity, &o, "ui").await?;
        Ok::<_, ward_app::AppError>(o)
    }
    .await;
    let o = match built {
        Ok(o) => o,
        Err(e) => return failure(e),
    };
    let c = &o.change;
    let ticket = c.request.ticket_url.as_deref().unwrap_or_default();
    let ticket_is_link = ticket.starts_with("https://") || ticket.starts_with("http://");
    let body = html! {
        h1 { (c.id) ": " (c.request.title) }
        dl.facts {
            dt { "Ticket" }
            dd {
                @if ticket.is_empty() { span.muted { "none" } }
                @else if ticket_is_link { a href=(ticket) rel="noreferrer" { (ticket) } }
                @else { (ticket) }
            }
            dt { "Kind" } dd { (c.request.kind) }
            dt { "Tier" } dd {
                strong { (c.tier.as_str()) }
                @if let Some(ov) = &c.tier_override { span.muted { " (overridden: " (serde_json::to_string(ov).unwrap_or_default()) ")" } }
            }
            dt { "Why this tier" } dd {
                @if c.classification.matched.is_empty() { span.muted { "no rule matched (the default tier)" } }
                ul.plain { @for m in &c.classification.matched { li { code { (m) } } } }
                @if !c.classification.tags.is_empty() { div { "Tags: " (c.classification.tags.join(", ")) } }
            }
            dt { "Opened by" } dd { (c.opener) " at " (time(&c.time)) }
            dt { "Artifacts" } dd { @for a in &c.request.artifacts { div { (digest(a)) } } }
            @if !c.request.description.is_empty() { dt { "Description" } dd { (c.request.description) } }
        }

        h2 { "Evidence" }
        @if o.evidence_withheld { p.muted { "Your roles may not read evidence; it is not shown." } }
        @else if o.evidence.is_empty() { p.muted { "No evidence attached." } }
        @else {
            div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
                thead { tr { th scope="col" { "Subject" } th scope="col" { "Type" } th scope="col" { "File" } th scope="col" { "Summary" } th scope="col" { "Added" } } }
                tbody {
                    @for a in &o.evidence {
                        tr {
                            td { @if a.artifact == c.id { "the change" } @else { (digest(&a.artifact)) } }
                            td { (a.r#type) }
                            td {
                                a href=(format!("/ui/evidence/{}/{}", a.artifact, a.id)) download { (a.file_name) }
                                div { (digest(&a.id)) }
                            }
                            td { (summary(&a.summary)) }
                            td { (a.added_by) br; (time(&a.time)) }
                        }
                    }
                }
            } }
            p.muted { "Verdicts on this evidence are the gate's: see the decisions below. Each file links to its raw document as stored (downloading it is recorded)." }
        }

        (super::release::change_actions(
            &c.id,
            state.ward.environments(),
            &c.request.environments,
            viewer.identity.may(ward_core::Action::Promote).then_some(viewer.csrf.as_str()),
            viewer.identity.may(ward_core::Action::GateCheck),
        ))

        h2 #decisions { "Gate decisions" }
        @if o.decisions.is_empty() { p.muted { "No gate check yet (" code { "ward gate check --change " (c.id) " --env " (c.request.environments.first().map_or("ENV", String::as_str)) } ")." } }
        @for d in &o.decisions {
            div {
                p {
                    strong { (d.environment) } ": "
                    @if d.allow { span.allow { "allowed" } } @else { span.block { "blocked" } }
                    " — decision " (d.id) " by " (d.checked_by) " at " (time(&d.time))
                    " — policy " (digest(&d.policy_digest))
                }
                @if !d.reasons.is_empty() {
                    ul.plain {
                        @for r in &d.reasons {
                            li {
                                code { (r.rule) } ": " (r.message) @if !r.fix.is_empty() { " — fix: " (r.fix) }
                                @if let Some(href) = r.action.as_ref().and_then(|a| action_link(&o.change.id, a)) {
                                    " (" a href=(href) { "do it here" } ")"
                                }
                            }
                        }
                    }
                }
                @if !d.waived.is_empty() {
                    p.muted { "Excused: " @for w in &d.waived { code { (w.rule) } " " } }
                }
            }
        }

        h2 { "Approvals" }
        p.muted { "A new signature would cover manifest " (digest(&o.approvals.manifest_digest)) "." }
        @if o.approvals.approvals.is_empty() { p.muted { "No signatures yet." } }
        @else {
            div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
                thead { tr { th scope="col" { "Printed name" } th scope="col" { "Signer" } th scope="col" { "Meaning" } th scope="col" { "Decision" } th scope="col" { "Time (UTC)" } th scope="col" { "State" } th scope="col" { "Comment" } } }
                tbody {
                    @for a in &o.approvals.approvals {
                        tr {
                            td { (a.printed_name) }
                            td { (a.signer) }
                            td { (a.meaning) }
                            td { (a.decision) }
                            td { (time(&a.time)) }
                            td {
                                @if a.by_party { span.stale { "not counted: the signer is now a party" } }
                                @else if a.stale { span.stale { "stale" } }
                                @else { span.current { "current" } }
                            }
                            td { (a.comment) }
                        }
                    }
                }
            } }
        }
        @if viewer.identity.may(ward_core::Action::ChangeApprove) {
            p { a.button href=(format!("/ui/changes/{}/sign", c.id)) { "Review and sign" } }
        }

        h2 { "Waivers" }
        @if o.waivers.is_empty() { p.muted { "None." } }
        @for w in &o.waivers {
            p {
                code { (w.id) } " waives " (w.request.rules.join(", ")) " — " (w.request.justification)
                " — granted by " (w.printed_name) " at " (time(&w.time)) ", "
                @if w.active { span.current { "active" } " until " }
                @else if w.stale { span.stale { "void" } " (the change was edited since it was granted: it excuses nothing), until " }
                @else { span.stale { "expired" } " at " }
                (time_secs(w.expires_secs))
            }
        }

        h2 { "Break-glass" }
        @if o.breakglass.is_empty() { p.muted { "None." } }
        @for b in &o.breakglass {
            p {
                code { (b.id) } " by " (b.printed_name) " (" (b.by) ") at " (time(&b.time)) " for "
                (b.request.rules.join(", ")) " — " (b.request.justification)
                " — review: " (b.review) ", due " (time_secs(b.review_due_secs))
                @if b.stale { " — " span.stale { "void: the change was edited since the glass was broken" } }
            }
        }

        h2 #deployments { "Deployments" }
        @if o.deployments.is_empty() { p.muted { "Not deployed." } }
        @else {
            div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
                thead { tr { th scope="col" { "Record" } th scope="col" { "Environment" } th scope="col" { "Tenants" } th scope="col" { "Status" } th scope="col" { "By" } th scope="col" { "Time" } } }
                tbody {
                    @for d in &o.deployments {
                        tr {
                            td { (d.seq) @if let Some(r) = d.rollback_of { " (rollback of " (r) ")" } @if d.drill { " (drill)" } }
                            td { (d.environment) }
                            td { (d.tenants.join(", ")) }
                            td { @if d.status == "succeeded" { span.ok { (d.status) } } @else { span.bad { (d.status) } } }
                            td { (d.executed_by) }
                            td { (time(&d.time)) }
                        }
                    }
                }
            } }
        }
    };
    page(&viewer, layout(&c.id, Some(&viewer), body))
}

/// `GET /ui/inbox`: what waits for the signed-in person's signature.
pub(super) async fn inbox(State(state): State<AppState>, viewer: Viewer) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", "/ui/inbox").await {
        return r;
    }
    let built = async {
        let list = state.ward.inbox(&viewer.identity).await?;
        let list: Vec<Waiting> = ward_app::documents::shown(&state.ledger, list).await?;
        Ok::<_, ward_app::AppError>(list)
    }
    .await;
    let list = match built {
        Ok(l) => l,
        Err(e) => return failure(e),
    };
    let may_sign = viewer.identity.may(ward_core::Action::ChangeApprove);
    let body = html! {
        h1 { "Approvals inbox" }
        p.muted { "Changes that wait for a signature and that separation of duties lets you sign (not ones you opened, authored, edited or reclassified)." }
        @if !may_sign { p { "Your roles do not let you sign changes." } }
        @else if list.is_empty() { p { "Nothing waits for your signature." } }
        @else {
            div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
                thead { tr { th scope="col" { "Change" } th scope="col" { "Title" } th scope="col" { "Tier" } th scope="col" { "Waits for your" } th scope="col" { "Approvals" } th scope="col" { "Opened" } th scope="col" { "Sign" } } }
                tbody {
                    @for w in &list {
                        tr {
                            td { a href=(format!("/ui/changes/{}", w.change.id)) { (w.change.id) } }
                            td { (w.change.request.title) }
                            td { (w.change.tier.as_str()) }
                            td { (w.asks.join(", ")) }
                            td { (w.approved_by.len()) " of " (w.quorum) }
                            td { (time(&w.change.time)) }
                            td { a href=(format!("/ui/changes/{}/sign", w.change.id)) { "Review and sign" } }
                        }
                    }
                }
            } }
        }
    };
    page(&viewer, layout("Approvals inbox", Some(&viewer), body))
}

/// Where on these pages a gate reason's action is taken, when it is: signing on the change's
/// signing page, promoting in its Release section. Other actions are the fix's words alone.
fn action_link(change: &str, action: &ward_core::gate::Action) -> Option<String> {
    use ward_core::gate::Action;
    match action {
        Action::Approve { change: c, .. } if c == change => Some(format!("/ui/changes/{change}/sign")),
        Action::Promote { change: c, .. } if c == change => Some(format!("/ui/changes/{change}#release")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::current_observation;
    use ward_app::board::Cell;
    use ward_app::promotion::drift::DriftSeen;

    /// An "in sync" observed before the release a unit runs now was recorded is about the release
    /// before: the board does not show it as the current verdict.
    #[test]
    fn an_observation_older_than_the_units_deployment_is_not_its_verdict() {
        let seen = |seq| DriftSeen {
            tenant: Some("acme".into()),
            seq,
            time: "2026-12-04T10:00:00Z".into(),
            drifted: false,
            shadow: 0,
            shadow_digests: vec![],
            stale: 0,
            stale_digests: vec![],
            missing: 0,
            missing_digests: vec![],
            config: "matches".into(),
            source: "kubectl".into(),
            origin: "runtime".into(),
            by: "user:ops".into(),
        };
        let cell = |deployment, drift| Cell {
            tenant: Some("acme".into()),
            ring: None,
            change: Some("CHG-1".into()),
            deployment,
            since: None,
            releases: vec![],
            drift,
        };
        assert!(current_observation(&cell(Some(10), Some(seen(12)))).is_some());
        assert!(current_observation(&cell(Some(10), Some(seen(7)))).is_none());
        assert!(
            current_observation(&cell(None, Some(seen(7)))).is_some(),
            "nothing deployed yet"
        );
        assert!(current_observation(&cell(Some(10), None)).is_none());
    }
}
