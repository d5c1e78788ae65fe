//! The auditor's pages: search, a period's population with its downloads and a sample, a
//! change's (or a deployment's) bundle, and the log's latest checkpoint with the verifier key.
//!
//! Each calls the ward-app service of the API route for the same data, under its role:
//! `search::search` (`GET /api/v1/audit/search`, `LogExport`, recorded by the service as
//! `access.search`), `audit::population` (`GET /api/v1/audit/population`, `LogExport`,
//! `access.population`), `bundle::export` (`GET /api/v1/bundles`, `LogExport`, `access.bundle`),
//! `ops::latest_checkpoint` and the signer's verifier key (`GET /api/v1/log/checkpoint`,
//! `GET /api/v1/log/key`, `LogRead`). A sample is `audit::sample` (pure) over the population
//! the page computed, bound to that population's manifest digest as `ward audit sample` binds
//! it; reproducing it offline needs that population (its `population.tar`).

use super::pages::digest;
use super::{Viewer, failure, layout, message_page, page, permit, time};
use crate::state::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use ward_app::audit::{PopulationQuery, PopulationRow};
use ward_app::search::SearchQuery;

/// Search.
pub const SEARCH: &str = "/ui/audit";
/// A period's population (and a sample of it).
pub const POPULATION: &str = "/ui/audit/population";
/// A population's file: `population.csv`, `population.json` or `population.tar` (all of it,
/// with the signed manifest).
pub const POPULATION_FILE: &str = "/ui/audit/population/{file}";
/// A bundle: `?change=` or `?deployment=`.
pub const BUNDLE: &str = "/ui/audit/bundle";
/// The log's latest checkpoint and verifier key.
pub const LOG: &str = "/ui/audit/log";
/// Hits (and population rows) listed at most on a page (the API returns up to
/// `search::MAX_HITS` hits; the downloads hold every row).
const MAX_LISTED: usize = 1_000;

/// The search form's fields (empty ones are not criteria).
#[derive(Deserialize, Default)]
pub(super) struct SearchForm {
    #[serde(default)]
    digest: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    version: String,
    #[serde(default)]
    change: String,
    #[serde(default)]
    ticket: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    env: String,
    #[serde(default)]
    tenant: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

fn given(s: &str) -> Option<String> {
    Some(s.trim()).filter(|s| !s.is_empty()).map(str::to_string)
}

impl SearchForm {
    /// The API's query; `None` when no criterion is given (the page only shows the form).
    fn query(&self) -> Option<SearchQuery> {
        let q = SearchQuery {
            digest: given(&self.digest),
            service: given(&self.service),
            version: given(&self.version),
            change: given(&self.change),
            ticket: given(&self.ticket),
            person: given(&self.person),
            env: given(&self.env),
            tenant: given(&self.tenant),
            kind: given(&self.kind),
            from: given(&self.from),
            to: given(&self.to),
        };
        (q != SearchQuery::default()).then_some(q)
    }
}

fn field(id: &str, label: &str, value: &str, placeholder: &str) -> Markup {
    html! {
        div {
            label for=(id) { (label) }
            input id=(id) type="text" name=(id) value=(value) placeholder=(placeholder);
        }
    }
}

fn audit_nav() -> Markup {
    html! {
        nav.sub aria-label="Audit" {
            a href=(SEARCH) { "Search" }
            a href=(POPULATION) { "Population and sample" }
            a href=(LOG) { "Checkpoint and verifier key" }
        }
    }
}

/// `GET /ui/audit`: the search form, and its results when a criterion is given.
pub(super) async fn search(State(state): State<AppState>, viewer: Viewer, Query(f): Query<SearchForm>) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", SEARCH).await {
        return r;
    }
    let result = match f.query() {
        None => None,
        Some(q) => match ward_app::search::search(
            &state.ledger,
            state.signer.as_ref(),
            &state.origin,
            &viewer.identity,
            &q,
        )
        .await
        {
            Ok(r) => Some(r),
            Err(e) => return failure(e),
        },
    };
    let body = html! {
        h1 { "Audit search" }
        (audit_nav())
        p.muted { "Every given field must hold. The search reads the log below a fresh signed checkpoint and is itself recorded (" code { "access.search" } ")." }
        form.search method="get" action=(SEARCH) {
            (field("digest", "Artifact digest", &f.digest, "sha256:…"))
            (field("service", "Service", &f.service, "reminders"))
            (field("version", "Version", &f.version, "1.2.0"))
            (field("change", "Change", &f.change, "CHG-…"))
            (field("ticket", "Ticket URL", &f.ticket, "https://…"))
            (field("person", "Person", &f.person, "user:…"))
            (field("env", "Environment", &f.env, "prod"))
            (field("tenant", "Tenant", &f.tenant, "clinic-a"))
            (field("kind", "Event kind", &f.kind, "approval. or deployment.recorded"))
            (field("from", "From (RFC 3339)", &f.from, "2026-10-01T00:00:00Z"))
            (field("to", "To (RFC 3339)", &f.to, "2027-01-01T00:00:00Z"))
            div.actions { button type="submit" { "Search" } }
        }
        @if let Some(r) = &result {
            h2 { (r.hits.len() + r.more) " entries found below checkpoint " (r.checkpoint_size) }
            @if !r.changes.is_empty() {
                p { "Changes concerned (bundle download: every entry of its story with an inclusion proof, verifiable offline):" }
                ul.plain {
                    @for c in &r.changes {
                        li { a href=(format!("/ui/changes/{c}")) { (c) } " — "
                             a href=(format!("{BUNDLE}?change={c}")) download { "bundle-" (c) ".tar" } }
                    }
                }
            }
            @if r.hits.is_empty() { p.muted { "No entry matches." } }
            @else {
                div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
                    thead { tr { th scope="col" { "Log index" } th scope="col" { "Time" } th scope="col" { "Kind" } th scope="col" { "Subject" } th scope="col" { "Actor" } th scope="col" { "Change" } } }
                    tbody {
                        @for h in r.hits.iter().take(MAX_LISTED) {
                            tr {
                                td { code title=(format!("ward log proof --index {}", h.seq)) { (h.seq) } }
                                td { (time(&h.time)) }
                                td { code { (h.kind) } }
                                td { (h.subject) }
                                td { (h.actor) }
                                td { @if let Some(c) = &h.change { a href=(format!("/ui/changes/{c}")) { (c) } } }
                            }
                        }
                    }
                } }
                @if r.hits.len() + r.more > MAX_LISTED {
                    p.muted { (r.hits.len() + r.more - MAX_LISTED) " more: narrow the search, or use " code { "ward audit search" } " / " code { "GET /api/v1/audit/search" } "." }
                }
                p.muted { "Prove an entry is in the log: " code { "ward log proof --index INDEX" } "." }
            }
        }
    };
    page(&viewer, layout("Audit search", Some(&viewer), body))
}

/// `?from=&to=&env=&n=&seed=`.
#[derive(Deserialize, Default)]
pub(super) struct PopulationForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    env: String,
    #[serde(default)]
    n: String,
    #[serde(default)]
    seed: String,
}

impl PopulationForm {
    fn query(&self) -> Option<PopulationQuery> {
        Some(PopulationQuery {
            control: ward_app::audit::CHANGE_MANAGEMENT.into(),
            from: given(&self.from)?,
            to: given(&self.to)?,
            env: given(&self.env),
        })
    }

    /// The same period, as a query string (for the download links).
    fn period(&self) -> String {
        let enc = |s: &str| {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        let mut q = format!("from={}&to={}", enc(self.from.trim()), enc(self.to.trim()));
        if let Some(e) = given(&self.env) {
            q.push_str(&format!("&env={}", enc(&e)));
        }
        q
    }
}

fn yes_no(b: bool) -> Markup {
    html! { @if b { span.ok { "yes" } } @else { span.bad { "no" } } }
}

fn rows_table(rows: &[PopulationRow]) -> Markup {
    html! {
        div.scroll tabindex="0" role="region" aria-label="Table (scrolls sideways on a narrow screen)" { table {
            thead { tr {
                th scope="col" { "Deployment" } th scope="col" { "Time" } th scope="col" { "Environment" } th scope="col" { "Change" }
                th scope="col" { "Action" } th scope="col" { "Tier" } th scope="col" { "Approved first" } th scope="col" { "Separation of duties" }
                th scope="col" { "Evidence complete" } th scope="col" { "Exceptions" } th scope="col" { "Bundle" }
            } }
            tbody {
                @for r in rows {
                    tr {
                        td { (r.deployment) }
                        td { (time(&r.time)) }
                        td { (r.environment) @if !r.tenants.is_empty() { div.muted { (r.tenants.join(", ")) } } }
                        td { a href=(format!("/ui/changes/{}", r.change)) { (r.change) } }
                        td { (r.action) " " @if r.status == "succeeded" { span.ok { (r.status) } } @else { span.bad { (r.status) } } }
                        td { (r.tier) }
                        td { (yes_no(r.approval_preceded_deployment)) }
                        td { (yes_no(r.separation_of_duties_held)) }
                        td { (yes_no(r.evidence_complete)) }
                        td { @for e in &r.exceptions { div { (e) } } }
                        td { a href=(format!("{BUNDLE}?deployment={}", r.deployment)) download { "bundle" } }
                    }
                }
            }
        } }
    }
}

/// `GET /ui/audit/population`: the form; with a period, the population (recorded as
/// `access.population`), its downloads, and — with `n` and `seed` — a sample of it.
pub(super) async fn population(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(f): Query<PopulationForm>,
) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", POPULATION).await {
        return r;
    }
    let computed = match f.query() {
        None => None,
        Some(q) => match ward_app::audit::population(
            &state.ledger,
            state.signer.as_ref(),
            &state.origin,
            state.ward.environments(),
            &viewer.identity,
            &q,
        )
        .await
        {
            Ok(p) => Some(p),
            Err(e) => return failure(e),
        },
    };
    let n: Option<usize> = f.n.trim().parse().ok().filter(|n| *n > 0);
    let seed = f.seed.trim();
    let body = html! {
        h1 { "Population and sample" }
        (audit_nav())
        p.muted { "The change-management population: every production deployment of a period with what the gate relied on, computed at a fresh signed checkpoint and recorded (" code { "access.population" } "). Times are RFC 3339; " code { "to" } " is exclusive." }
        form.search method="get" action=(POPULATION) {
            (field("from", "From", &f.from, "2026-10-01T00:00:00Z"))
            (field("to", "To", &f.to, "2027-01-01T00:00:00Z"))
            div {
                label for="env" { "Environment" }
                select #env name="env" {
                    option value="" { "every production environment" }
                    @for e in state.ward.environments() { option value=(e.name) selected[f.env == e.name] { (e.name) } }
                }
            }
            (field("n", "Sample size (optional)", &f.n, "25"))
            (field("seed", "Sample seed (optional)", &f.seed, "FY2026-Q4 change sample"))
            div.actions { button type="submit" { "Compute" } }
        }
        @if let Some(p) = &computed {
            @let manifest = p.files.get("manifest.json").map(|m| format!("sha256:{}", hex::encode(Sha256::digest(m)))).unwrap_or_default();
            h2 { (p.rows.len()) " deployments in " (p.manifest.environments.join(", ")) }
            p {
                "Manifest " code { (manifest) } " at checkpoint " (p.manifest.checkpoint_size) ". Download: "
                a href=(format!("/ui/audit/population/population.csv?{}", f.period())) download { "population.csv" } ", "
                a href=(format!("/ui/audit/population/population.json?{}", f.period())) download { "population.json" } ", "
                a href=(format!("/ui/audit/population/population.tar?{}", f.period())) download { "population.tar" }
                " (with the signed manifest; check it with " code { "ward verify population DIR --key KEY" } "). Each download computes the population again at the checkpoint of that moment."
            }
            @if let (Some(n), false) = (n, seed.is_empty()) {
                @let picked = ward_app::audit::sample(&p.rows, n, &manifest, seed);
                h2 { "Sample: " (picked.len()) " of " (p.rows.len()) }
                p.muted { "Each row ranked by sha256(manifest + \"\\n\" + seed + \"\\n\" + deployment), the " (n) " lowest taken, in population order — the draw of "
                    code { "ward audit sample --n " (n) " --seed …" } " over this population (manifest " (digest(&manifest)) ")." }
                (rows_table(&picked))
            } @else if n.is_some() || !seed.is_empty() {
                p.error { "A sample needs a size above 0 and a seed." }
            }
            h2 { "Population" }
            @if p.rows.is_empty() { p.muted { "No production deployment in this period." } }
            @else {
                (rows_table(&p.rows[..p.rows.len().min(MAX_LISTED)]))
                @if p.rows.len() > MAX_LISTED { p.muted { "The first " (MAX_LISTED) " rows are shown; every row is in the downloads." } }
            }
        }
    };
    page(&viewer, layout("Population and sample", Some(&viewer), body))
}

fn download(content_type: &'static str, name: &str, bytes: Vec<u8>) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// `GET /ui/audit/population/{file}?from=&to=&env=`: one file of the population, or all of it
/// as the API's tar archive.
pub(super) async fn population_file(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(file): Path<String>,
    Query(f): Query<PopulationForm>,
) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", POPULATION_FILE).await {
        return r;
    }
    let content_type = match file.as_str() {
        "population.csv" => "text/csv; charset=utf-8",
        "population.json" => "application/json",
        "population.tar" => "application/x-tar",
        _ => {
            return message_page(
                StatusCode::NOT_FOUND,
                "No such file",
                "A population is population.csv, population.json or population.tar.",
            );
        }
    };
    let Some(q) = f.query() else {
        return message_page(StatusCode::BAD_REQUEST, "Name a period", "Give from and to (RFC 3339).");
    };
    let p = match ward_app::audit::population(
        &state.ledger,
        state.signer.as_ref(),
        &state.origin,
        state.ward.environments(),
        &viewer.identity,
        &q,
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return failure(e),
    };
    let mut files = p.files;
    if file == "population.tar" {
        let manifest = files.remove("manifest.json").unwrap_or_default();
        return match ward_app::bundle::to_tar(&manifest, &files) {
            Ok(bytes) => download(content_type, &file, bytes),
            Err(e) => failure(e),
        };
    }
    match files.remove(&file) {
        Some(bytes) => download(content_type, &file, bytes),
        None => message_page(
            StatusCode::NOT_FOUND,
            "No such file",
            "The population has no such file.",
        ),
    }
}

/// `?change=` or `?deployment=`.
#[derive(Deserialize)]
pub(super) struct BundleForm {
    #[serde(default)]
    change: Option<String>,
    #[serde(default)]
    deployment: Option<u64>,
}

/// `GET /ui/audit/bundle`: the bundle of a change or a deployment, as the API builds it
/// (recorded as `access.bundle`).
pub(super) async fn bundle(State(state): State<AppState>, viewer: Viewer, Query(f): Query<BundleForm>) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", BUNDLE).await {
        return r;
    }
    use ward_app::bundle::Query as Q;
    let query = match (f.change.filter(|c| !c.is_empty()), f.deployment) {
        (Some(c), None) => Q::Change(c),
        (None, Some(d)) => Q::Deployment(d),
        _ => {
            return message_page(
                StatusCode::BAD_REQUEST,
                "Name one change or one deployment",
                "Open a bundle from a change in the search results or a row of a population.",
            );
        }
    };
    match ward_app::bundle::export(
        &state.ledger,
        state.signer.as_ref(),
        &state.origin,
        &viewer.identity,
        &query,
    )
    .await
    {
        Ok(built) => download("application/x-tar", &query.file_name(), built.bytes),
        Err(e) => failure(e),
    }
}

/// `GET /ui/audit/log`: the latest signed checkpoint, the verifier key, and how to verify
/// offline.
pub(super) async fn log(State(state): State<AppState>, viewer: Viewer) -> Response {
    if let Err(r) = permit(&state, &viewer, "GET", LOG).await {
        return r;
    }
    let checkpoint = match ward_app::ops::latest_checkpoint(&state.ledger).await {
        Ok(c) => Some(c),
        Err(e) if e.kind == ward_app::error::Kind::NotFound => None,
        Err(e) => return failure(e),
    };
    let key = state.signer.verifier_key();
    let body = html! {
        h1 { "Checkpoint and verifier key" }
        (audit_nav())
        h2 { "Latest signed checkpoint" }
        @if let Some(cp) = &checkpoint {
            dl.facts {
                dt { "Tree size" } dd { (cp.size) " entries" }
                dt { "Root hash" } dd { code { (cp.root) } }
            }
            p { "The signed note (C2SP format):" }
            pre.note { (cp.note) }
        } @else {
            p.muted { "The log has no checkpoint yet (" code { "ward log checkpoint" } " signs one; a search or a bundle signs one too)." }
        }
        h2 { "Verifier key" }
        @if let Some(k) = &key {
            pre.note { (k) }
            p.muted { "Obtain it also out of band (from the operator, or a published copy): a key read from the server you are auditing proves nothing on its own." }
        } @else {
            p.muted { "This log's signature algorithm has no verifier key string: ask the operator." }
        }
        h2 { "Verifying offline" }
        ol {
            li { "Download a bundle (from a change found by the " a href=(SEARCH) { "search" } ", or a row of a " a href=(POPULATION) { "population" } ")." }
            li { "With Ward: " code { "ward verify bundle bundle-CHG-….tar --key 'KEY'" } "." }
            li { "Without Ward (Python 3, standard library only): " code { "python3 tools/verify_bundle.py bundle-CHG-….tar --key 'KEY'" } "." }
            li { "A population: unpack " code { "population.tar" } " into a directory, then " code { "ward verify population DIR --key 'KEY'" } "." }
        }
        p.muted { "Both verifiers check every entry's inclusion proof against the signed checkpoint in the bundle and the checkpoint's signature against the key; docs/BUNDLE.md describes the format." }
    };
    page(&viewer, layout("Checkpoint and verifier key", Some(&viewer), body))
}
