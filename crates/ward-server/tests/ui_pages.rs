//! The web UI's rollout, audit and list pages against a real server over loopback: each shows
//! its data, refuses (and records) a role the API route for the same data refuses, refuses a
//! form without its CSRF token, and the live rollout stream sends the rollout as it is recorded.

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use ward_app::changes::{self, ChangeRequest};
use ward_app::environment::Environment;
use ward_app::evidence;
use ward_app::identities::{self, UserRequest};
use ward_core::{Identity, Role};
use ward_ledger::{ActorKind, Ed25519Signer, NewEvent};
use ward_server::ui::{Activity, IDLE_SECS};
use ward_server::{AppState, serve};
use ward_store::Ledger;
use ward_store::testing::TestDb;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const STABLE: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn person(id: &str, roles: Vec<Role>) -> Identity {
    Identity {
        id: id.into(),
        kind: ActorKind::Human,
        roles,
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Reads the stream into `seen` until it holds `needle` (20 s at most).
async fn read_until(r: &mut reqwest::Response, seen: &mut String, needle: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, r.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} in: {seen}"))
            .expect("read");
        let Some(chunk) = chunk else {
            panic!("the stream ended before {needle:?}: {seen}")
        };
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
}

fn pw(name: &str) -> String {
    format!("a-long-enough-password-for-{name}")
}

/// A served store: a change (opened by dana) with a failed canary rollout in prod (analyses of
/// the canary and of one tenant, then an automated rollback), a rollout still running, a
/// deployment record, a waiver; people with one role each. Sessions by name.
struct Site {
    db: TestDb,
    ledger: Ledger,
    base: String,
    change: String,
    failed: String,
    running: String,
    key: String,
    sessions: std::collections::HashMap<&'static str, String>,
    /// Seconds the server's idle clock runs ahead of the wall clock (moved by a test).
    ahead: Arc<AtomicI64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Site {
    fn cookie(&self, who: &str) -> String {
        format!("ward_session={}", self.sessions[who])
    }

    fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    async fn get(&self, who: &str, path: &str) -> (u16, String) {
        let r = self
            .client()
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie(who))
            .send()
            .await
            .expect("GET");
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    }

    async fn post(&self, who: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let r = self
            .client()
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie(who))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                form.iter()
                    .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
                    .collect::<Vec<_>>()
                    .join("&"),
            )
            .send()
            .await
            .expect("POST");
        let status = r.status().as_u16();
        (status, r.text().await.expect("body"))
    }

    /// The CSRF token of `who`'s forms (from the sign-out form every page carries).
    async fn csrf(&self, who: &str) -> String {
        let (_, page) = self.get(who, "/ui/rollouts").await;
        let at = page.find("name=\"csrf\" value=\"").expect("a form with a CSRF token") + 19;
        page[at..].split('"').next().expect("token").to_string()
    }

    async fn kinds(&self) -> Vec<(String, Value)> {
        self.ledger
            .store()
            .entries(0, 100_000)
            .await
            .expect("entries")
            .into_iter()
            .map(|e| {
                let v: Value = serde_json::from_slice(&e.leaf).expect("leaf");
                (v["kind"].as_str().unwrap_or_default().to_string(), v)
            })
            .collect()
    }

    async fn denied(&self, route: &str) -> usize {
        self.kinds()
            .await
            .iter()
            .filter(|(k, v)| k == "access.denied" && v.to_string().contains(route))
            .count()
    }

    async fn finish(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        self.db.cleanup().await;
    }
}

async fn rollout_event(ledger: &Ledger, kind: &str, id: &str, payload: Value) -> u64 {
    let mut p = payload;
    p["id"] = json!(id);
    ledger
        .append(NewEvent {
            actor: ward_rollout::engine_identity().actor(),
            kind: kind.into(),
            subject: format!("rollout:{id}"),
            payload: p,
        })
        .await
        .expect("append")
        .seq
}

fn started(id: &str, change: &str) -> Value {
    json!({"id": id, "change": change, "environment": "prod", "digest": DIGEST, "stable_digest": STABLE,
        "strategy": {"kind": "canary", "steps": [10, 50, 100]},
        "plan": [{"label": "10%", "percent": 10}, {"label": "50%", "percent": 50}, {"label": "100%", "percent": 100}],
        "gate_decision": 3, "approvals": ["user:vera"], "started_by": "user:rita", "tier": "medium"})
}

fn verdict(result: &str, subject: &str, requests: u64, errors: u64) -> Value {
    let mut v = json!({"verdict": result, "measurement": {"subject": subject, "requests": requests, "errors": errors,
        "error_rate": errors as f64 / requests as f64, "p95_ms": 12.0, "p99_ms": 20.0, "stable_p95_ms": 10.0}});
    if result == "fail" {
        v["reason"] = json!(format!("{subject}: error rate above 2%"));
    }
    v
}

async fn site() -> Site {
    let db = TestDb::sqlite();
    let ledger = Ledger::new(ward_store::open(&db.url).await.expect("store"), ward_app::projectors());
    let admin = person("user:ada", vec![Role::Admin]);
    let lee = person("user:lee", vec![Role::Admin]);
    let mut sessions = std::collections::HashMap::new();
    for (name, role) in [
        ("val", Role::Viewer),
        ("rita", Role::ReleaseManager),
        ("audrey", Role::Auditor),
        ("vera", Role::Approver),
        ("adam", Role::Admin),
    ] {
        identities::add_user(
            &ledger,
            &admin,
            &UserRequest {
                name: name.into(),
                display_name: format!("{name} (test)"),
                roles: vec![role],
                password: pw(name),
            },
        )
        .await
        .expect("user");
        let user = identities::activate_user(&ledger, &lee, name).await.expect("activate");
        let s = identities::start_session(&ledger, &user).await.expect("session");
        sessions.insert(name, s.token);
    }
    let ci = person("token:ci", vec![Role::Developer]);
    evidence::register(
        &ledger,
        &ci,
        &evidence::ArtifactRequest {
            digest: DIGEST.into(),
            service: "reminders".into(),
            version: "1.3.0".into(),
            commit: None,
            branch: None,
            build_id: None,
            build_url: None,
        },
    )
    .await
    .expect("register");
    let dana = person("user:dana", vec![Role::Developer]);
    let change = changes::open(
        &ledger,
        &dana,
        &Default::default(),
        &ward_core::approval::ApprovalRules::default(),
        &ChangeRequest {
            title: "Reminder window for clinics".into(),
            kind: "normal".into(),
            ticket_url: Some("https://tickets.example/T-7".into()),
            artifacts: vec![DIGEST.into()],
            ..Default::default()
        },
        false,
    )
    .await
    .expect("open")
    .id;
    // A canary that failed on one tenant and was rolled back automatically.
    let failed = "RO-0000aaaa".to_string();
    rollout_event(&ledger, "rollout.started", &failed, started(&failed, &change)).await;
    rollout_event(
        &ledger,
        "rollout.step",
        &failed,
        json!({"step": 0, "label": "10%", "percent": 10, "tenants": []}),
    )
    .await;
    rollout_event(
        &ledger,
        "rollout.analysis",
        &failed,
        json!({"step": 0, "verdict": verdict("pass", "canary", 120, 0)}),
    )
    .await;
    rollout_event(
        &ledger,
        "rollout.step",
        &failed,
        json!({"step": 1, "label": "50%", "percent": 50, "tenants": []}),
    )
    .await;
    rollout_event(&ledger, "rollout.rolled_back", &failed, json!({"step": 1, "reason": "canary tenant clinic-b: error rate above 2%",
        "verdict": verdict("fail", "canary tenant clinic-b", 64, 9), "time_to_stable_ms": 42.4, "aborted": false, "stable_digest": STABLE}))
    .await;
    // One still running.
    let running = "RO-0000bbbb".to_string();
    rollout_event(&ledger, "rollout.started", &running, started(&running, &change)).await;
    rollout_event(
        &ledger,
        "rollout.step",
        &running,
        json!({"step": 0, "label": "10%", "percent": 10, "tenants": []}),
    )
    .await;
    // A deployment record in prod.
    let rita = person("user:rita", vec![Role::ReleaseManager]);
    ledger
        .append(NewEvent {
            actor: rita.actor(),
            kind: "deployment.recorded".into(),
            subject: "env:prod".into(),
            payload: json!({"change": change, "environment": "prod", "digests": [DIGEST], "ring": null,
                "tenants": ["clinic-a", "clinic-b"],
                "targets": [{"tenant": "clinic-a", "status": "succeeded"}, {"tenant": "clinic-b", "status": "succeeded"}],
                "target": "command", "status": "succeeded", "gate_decision": 3, "approvals": ["user:vera"],
                "excused_by": [], "executed_by": "user:rita", "rollback_of": null}),
        })
        .await
        .expect("deployment");
    // A waiver, granted by an approver who re-authenticates.
    let vera = person("user:vera", vec![Role::Approver]);
    ward_app::exceptions::grant_waiver(
        &ledger,
        &vera,
        &ward_app::exceptions::WaiverRequest {
            change: Some(change.clone()),
            artifact: None,
            rules: vec!["sla.critical".into()],
            finding: None,
            justification: "vendor fix lands next sprint".into(),
            compensating_control: "the endpoint is behind the VPN".into(),
            owner: "user:rita".into(),
            expires_in_secs: 3 * 86_400,
            password: Some(pw("vera")),
            reauth_token: None,
        },
        &Default::default(),
        &ward_app::rule_names::RuleNames::of([&ward_core::gate::PolicyBundle::defaults()]),
        &ward_app::reauth::Context {
            oidc: None,
            bearer_sha256: None,
            subject: None,
        },
    )
    .await
    .expect("waiver");
    let signer = Arc::new(Ed25519Signer::from_seed("test.ward/log", [5u8; 32]));
    let key = ward_ledger::NoteSigner::verifier_key(signer.as_ref()).expect("verifier key");
    let envs = vec![
        Environment {
            name: "staging".into(),
            ..Default::default()
        },
        Environment {
            name: "prod".into(),
            after: Some("staging".into()),
            tenants: vec!["clinic-a".into(), "clinic-b".into()],
            ..Default::default()
        },
    ];
    let mut state = AppState::new(ledger.clone(), signer, "test.ward/log".into());
    state.gate = Arc::new(ward_app::gate::GatePolicy {
        bundle: ward_core::gate::PolicyBundle::defaults(),
        environments: envs,
        ..Default::default()
    });
    // An engine without local runtimes: a command reaches it and is answered as the API's is.
    let dir = tempfile::tempdir().expect("tmp").keep();
    let engine = ward_rollout::Engine::new(
        ledger.clone(),
        state.gate.clone(),
        state.risk.clone(),
        state.approvals.clone(),
        state.promotion_locks.clone(),
        dir,
    );
    let mut state = state.with_rollouts(engine);
    let ahead = Arc::new(AtomicI64::new(0));
    state.ui_activity = Arc::new(ahead_clock(ahead.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, state, async {
        let _ = rx.await;
    }));
    Site {
        db,
        ledger,
        base,
        change,
        failed,
        running,
        key,
        sessions,
        ahead,
        stop: Some(tx),
    }
}

/// An idle clock `ahead` seconds past the wall clock.
fn ahead_clock(ahead: Arc<AtomicI64>) -> Activity {
    Activity::with_clock(Arc::new(move || {
        ward_server::activity::system_now() + ahead.load(Ordering::SeqCst)
    }))
}

#[tokio::test]
async fn the_rollout_page_shows_steps_traffic_analyses_per_tenant_and_the_rollback_with_its_time_to_stable() {
    let s = site().await;
    let (status, list) = s.get("val", "/ui/rollouts").await;
    assert_eq!(status, 200, "{list}");
    assert!(list.contains(&format!("/ui/rollouts/{}", s.failed)) && list.contains(&s.running));
    assert!(list.contains("42 ms"), "time to stable in the list: {list}");
    let (status, page) = s.get("val", &format!("/ui/rollouts/{}", s.failed)).await;
    assert_eq!(status, 200, "{page}");
    for shown in [
        "Automated rollback",
        "canary tenant clinic-b: error rate above 2%",
        "42 ms",
        "new <strong>50%</strong> · stable 50%",
        "rolled back",
        "not reached",
        ">64<",
        ">120<",
        "canary tenant clinic-b",
        &format!("/ui/changes/{}", s.change),
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    assert!(
        page.contains("title=\"") && page.contains(" UTC\">") && page.contains("<time datetime=\""),
        "times carry UTC on hover: {page}"
    );
    assert!(
        !page.contains("<form method=\"post\" action=\"/ui/rollouts"),
        "no operator form for a viewer"
    );
    // A release manager sees the actions of a running rollout, not of a finished one.
    let (_, running) = s.get("rita", &format!("/ui/rollouts/{}", s.running)).await;
    assert!(
        running.contains(&format!("/ui/rollouts/{}/abort", s.running)),
        "{running}"
    );
    assert!(
        running.contains(&format!("data-live=\"/ui/rollouts/{}/events\"", s.running)),
        "a running rollout is followed live: {running}"
    );
    let (_, finished) = s.get("rita", &format!("/ui/rollouts/{}", s.failed)).await;
    assert!(!finished.contains("/abort\""), "{finished}");
    assert!(!finished.contains("data-live="), "a finished one is not: {finished}");
    let (status, _) = s.get("val", "/ui/rollouts/RO-ffffffff").await;
    assert_eq!(status, 404);
    s.finish().await;
}

#[tokio::test]
async fn the_live_stream_sends_the_rollout_then_each_new_entry_as_it_is_recorded() {
    let s = site().await;
    let mut r = s
        .client()
        .get(format!("{}/ui/rollouts/{}/events", s.base, s.running))
        .header("cookie", s.cookie("val"))
        .send()
        .await
        .expect("GET events");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut seen = String::new();
    read_until(&mut r, &mut seen, "event: rollout\n").await;
    assert!(seen.contains("data: ") && seen.contains("10%"), "{seen}");
    // A new entry of the rollout is streamed, re-rendered.
    let seq = rollout_event(
        &s.ledger,
        "rollout.analysis",
        &s.running,
        json!({"step": 0, "verdict": verdict("pass", "canary tenant clinic-a", 777, 0)}),
    )
    .await;
    read_until(&mut r, &mut seen, &format!("id: {seq}\n")).await;
    assert!(seen.contains(">777<"), "{seen}");
    // Once it finishes, the stream says so and ends.
    rollout_event(&s.ledger, "rollout.completed", &s.running, json!({"deployment": 1})).await;
    read_until(&mut r, &mut seen, "event: end\ndata: completed").await;
    s.finish().await;
}

/// Opens `who`'s live stream of the running rollout and reads its first rendering.
async fn open_stream(s: &Site, who: &str) -> (reqwest::Response, String) {
    let mut r = s
        .client()
        .get(format!("{}/ui/rollouts/{}/events", s.base, s.running))
        .header("cookie", s.cookie(who))
        .send()
        .await
        .expect("GET events");
    assert_eq!(r.status().as_u16(), 200);
    let mut seen = String::new();
    read_until(&mut r, &mut seen, "event: rollout\n").await;
    (r, seen)
}

/// Reads the stream to its end, which must come within `secs` seconds.
async fn ends_within(r: &mut reqwest::Response, seen: &mut String, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, r.chunk()).await {
            Err(_) => panic!("the stream was still open after {secs} s: {seen}"),
            Ok(Ok(Some(chunk))) => seen.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None)) => return,
            Ok(Err(e)) => panic!("read: {e}"),
        }
    }
}

/// A stolen or shared screen keeps a rollout's live stream open; signing out there (or an
/// administrator revoking the token, through another process) must end the stream within
/// seconds, not when the stream's minute is up.
#[tokio::test]
async fn a_revoked_session_loses_its_open_live_stream() {
    let s = site().await;
    let (mut signed_out, mut seen) = open_stream(&s, "val").await;
    let (mut revoked, mut seen_revoked) = open_stream(&s, "rita").await;
    let started = tokio::time::Instant::now();
    let csrf = s.csrf("val").await;
    let (status, _) = s.post("val", "/ui/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(status, 303, "signed out");
    // Rita's token is revoked by an administrator through another process (its own directory):
    // this server learns it when its token cache expires.
    let rita = ward_core::token::ApiToken::parse(&s.sessions["rita"])
        .expect("token")
        .id;
    identities::revoke_token(
        &s.ledger,
        &person("user:adam", vec![Role::Admin]),
        &rita,
        &identities::Directory::default(),
    )
    .await
    .expect("revoke");
    ends_within(&mut signed_out, &mut seen, 20).await;
    ends_within(&mut revoked, &mut seen_revoked, 30).await;
    for seen in [&seen, &seen_revoked] {
        assert!(seen.contains("event: signed-out\n"), "{seen}");
        assert!(
            !seen.contains("event: again"),
            "ended by the session, not by its lifetime: {seen}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "well before the stream's minute"
    );
    s.finish().await;
}

/// A page left open on an unattended screen must not keep its session alive through its live
/// stream: the stream's checks renew nothing, and the stream ends once the session idles out.
#[tokio::test]
async fn an_unattended_live_stream_ends_when_its_session_idles_out_and_renews_nothing() {
    let s = site().await;
    let (mut r, mut seen) = open_stream(&s, "vera").await;
    s.ahead.store(IDLE_SECS + 60, Ordering::SeqCst);
    ends_within(&mut r, &mut seen, 20).await;
    assert!(seen.contains("event: signed-out\n"), "{seen}");
    let (status, _) = s.get("vera", "/").await;
    assert_eq!(
        status, 303,
        "the next page is refused: the stream did not renew the session"
    );
    s.finish().await;
}

#[tokio::test]
async fn an_operator_action_by_a_viewer_is_refused_and_recorded_as_the_api_refuses_it() {
    let s = site().await;
    let csrf = s.csrf("val").await;
    let path = format!("/ui/rollouts/{}/abort", s.running);
    let (status, body) = s.post("val", &path, &[("csrf", &csrf), ("reason", "")]).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(s.denied("POST /ui/rollouts/{id}/{command}").await, 1);
    // The API refuses the same person the same way.
    let api = s
        .client()
        .post(format!("{}/api/v1/rollouts/{}/abort", s.base, s.running))
        .bearer_auth(&s.sessions["val"])
        .send()
        .await
        .expect("POST");
    assert_eq!(api.status().as_u16(), 403);
    s.finish().await;
}

#[tokio::test]
async fn an_operator_action_without_its_csrf_token_is_refused_before_anything_happens() {
    let s = site().await;
    let before = s.kinds().await.len();
    for form in [vec![], vec![("csrf", "00")], vec![("csrf", "not hex")]] {
        let (status, body) = s
            .post("rita", &format!("/ui/rollouts/{}/pause", s.running), &form)
            .await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("CSRF"), "{body}");
    }
    assert_eq!(
        s.kinds().await.len(),
        before,
        "nothing recorded, nothing sent to the engine"
    );
    s.finish().await;
}

#[tokio::test]
async fn a_release_managers_action_goes_to_the_engine_and_gets_the_apis_answer() {
    let s = site().await;
    let csrf = s.csrf("rita").await;
    let (status, body) = s
        .post(
            "rita",
            &format!("/ui/rollouts/{}/pause", s.running),
            &[("csrf", &csrf), ("reason", "")],
        )
        .await;
    // The engine in this server drives no rollout: the API says the same, with the same words.
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("has no driver in this server"), "{body}");
    let api = s
        .client()
        .post(format!("{}/api/v1/rollouts/{}/pause", s.base, s.running))
        .bearer_auth(&s.sessions["rita"])
        .send()
        .await
        .expect("POST");
    assert_eq!(api.status().as_u16(), 409);
    assert!(api.text().await.expect("body").contains("has no driver in this server"));
    // A finished rollout, and an unknown command, are refused as such.
    let (status, body) = s
        .post("rita", &format!("/ui/rollouts/{}/resume", s.failed), &[("csrf", &csrf)])
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("is failed"), "{body}");
    let (status, _) = s
        .post(
            "rita",
            &format!("/ui/rollouts/{}/explode", s.running),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(status, 400);
    s.finish().await;
}

#[tokio::test]
async fn audit_pages_need_what_the_audit_api_needs_and_a_refusal_is_recorded() {
    let s = site().await;
    for path in [
        "/ui/audit",
        "/ui/audit/population",
        "/ui/audit/population/population.csv",
        "/ui/audit/bundle",
    ] {
        let (status, body) = s.get("val", path).await;
        assert_eq!(status, 403, "{path}: {body}");
        let (status, _) = s.get("rita", path).await;
        assert_eq!(status, 403, "{path}: a release manager is no auditor");
    }
    assert_eq!(s.denied("GET /ui/audit").await, 8);
    let api = s
        .client()
        .get(format!("{}/api/v1/audit/search?change={}", s.base, s.change))
        .bearer_auth(&s.sessions["val"])
        .send()
        .await
        .expect("GET");
    assert_eq!(api.status().as_u16(), 403, "the API refuses the viewer too");
    // Lists need what the API's lists need: an administrator reads no changes.
    for path in ["/ui/rollouts", "/ui/deployments", "/ui/waivers", "/ui/reviews"] {
        let (status, _) = s.get("adam", path).await;
        assert_eq!(status, 403, "{path}");
    }
    s.finish().await;
}

#[tokio::test]
async fn an_auditor_searches_by_change_and_downloads_its_bundle_each_read_recorded() {
    let s = site().await;
    let (status, page) = s.get("audrey", "/ui/audit").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("name=\"tenant\"") && page.contains("name=\"person\""));
    assert!(
        !s.kinds().await.iter().any(|(k, _)| k == "access.search"),
        "the empty form searches nothing"
    );
    let (status, page) = s.get("audrey", &format!("/ui/audit?change={}", s.change)).await;
    assert_eq!(status, 200, "{page}");
    for shown in [
        format!("/ui/changes/{}", s.change),
        format!("/ui/audit/bundle?change={}", s.change),
        "change.opened".to_string(),
        "ward log proof".to_string(),
    ] {
        assert!(page.contains(&shown), "{shown}: {page}");
    }
    assert!(s.kinds().await.iter().any(|(k, _)| k == "access.search"));
    let r = s
        .client()
        .get(format!("{}/ui/audit/bundle?change={}", s.base, s.change))
        .header("cookie", s.cookie("audrey"))
        .send()
        .await
        .expect("bundle");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers().get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/x-tar")
    );
    assert!(
        r.headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains(&format!("bundle-{}.tar", s.change)))
    );
    assert!(r.bytes().await.expect("bytes").len() > 1024);
    assert!(s.kinds().await.iter().any(|(k, _)| k == "access.bundle"));
    s.finish().await;
}

#[tokio::test]
async fn a_periods_population_downloads_as_csv_and_json_and_a_sample_is_drawn_from_it() {
    let s = site().await;
    let period = "from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&env=prod";
    let (status, page) = s
        .get("audrey", &format!("/ui/audit/population?{period}&n=1&seed=FY26"))
        .await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("1 deployments in prod"), "{page}");
    assert!(page.contains("Sample: 1 of 1"), "{page}");
    assert!(page.contains(&format!("/ui/changes/{}", s.change)));
    assert!(page.contains("/ui/audit/population/population.csv?from=2020-01-01T00:00:00Z"));
    assert!(s.kinds().await.iter().any(|(k, _)| k == "access.population"));
    let (status, csv) = s
        .get("audrey", &format!("/ui/audit/population/population.csv?{period}"))
        .await;
    assert_eq!(status, 200);
    assert!(csv.starts_with("deployment,") && csv.contains(&s.change), "{csv}");
    let (status, json) = s
        .get("audrey", &format!("/ui/audit/population/population.json?{period}"))
        .await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&json).expect("json");
    assert!(v.to_string().contains(&s.change), "{v}");
    let (status, _) = s
        .get("audrey", &format!("/ui/audit/population/passwords.txt?{period}"))
        .await;
    assert_eq!(status, 404);
    s.finish().await;
}

#[tokio::test]
async fn the_log_page_shows_the_latest_checkpoint_the_verifier_key_and_how_to_verify_offline() {
    let s = site().await;
    let (status, page) = s.get("audrey", "/ui/audit/log").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("no checkpoint yet"), "{page}");
    // A search signs one.
    s.get("audrey", &format!("/ui/audit?change={}", s.change)).await;
    let (_, page) = s.get("audrey", "/ui/audit/log").await;
    for shown in [
        s.key.as_str(),
        "Tree size",
        "test.ward/log",
        "ward verify bundle",
        "tools/verify_bundle.py",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    // Anyone may read the log's checkpoint (LogRead), as from the API.
    let (status, _) = s.get("val", "/ui/audit/log").await;
    assert_eq!(status, 200);
    s.finish().await;
}

#[tokio::test]
async fn deployments_waivers_and_reviews_list_what_is_recorded_and_link_to_the_change() {
    let s = site().await;
    let link = format!("/ui/changes/{}", s.change);
    let (status, page) = s.get("val", "/ui/deployments?env=prod").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&link) && page.contains("clinic-a, clinic-b") && page.contains("succeeded"));
    let (status, page) = s.get("val", "/ui/deployments").await;
    assert_eq!(status, 200, "the last environment by default");
    assert!(page.contains(&link), "{page}");
    let (status, page) = s.get("val", "/ui/deployments?env=prdo").await;
    assert_eq!(status, 404, "an unknown environment, as the API: {page}");
    let (status, page) = s.get("val", "/ui/waivers").await;
    assert_eq!(status, 200, "{page}");
    for shown in [
        link.as_str(),
        "WVR-",
        "sla.critical",
        "vendor fix lands next sprint",
        "1 expiring within 14 days",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    let (status, page) = s.get("val", "/ui/reviews").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("No break-glass recorded"), "{page}");
    s.finish().await;
}

#[tokio::test]
async fn a_release_manager_checks_the_gate_and_deploys_from_the_change_page_under_the_apis_rules() {
    let s = site().await;
    let page = format!("/ui/changes/{}", s.change);
    // The release form is a release manager's; a viewer sees none.
    let (_, viewed) = s.get("val", &page).await;
    assert!(!viewed.contains("/promote"), "{viewed}");
    let (_, managed) = s.get("rita", &page).await;
    for expected in ["id=\"release\"", "/promote", "value=\"staging\"", "value=\"prod\""] {
        assert!(managed.contains(expected), "{expected}");
    }
    let csrf = s.csrf("rita").await;
    let promote = format!("/ui/changes/{}/promote", s.change);

    // No CSRF token: refused before anything is recorded.
    let before = s.kinds().await.len();
    let (status, body) = s.post("rita", &promote, &[("environment", "staging")]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("CSRF"), "{body}");
    assert_eq!(s.kinds().await.len(), before, "nothing recorded");

    // A viewer with a valid token: refused as the API refuses, and recorded.
    let val_csrf = s.csrf("val").await;
    let (status, _) = s
        .post("val", &promote, &[("csrf", &val_csrf), ("environment", "staging")])
        .await;
    assert_eq!(status, 403);
    assert_eq!(s.denied("POST /ui/changes/{id}/promote").await, 1);

    // Skipping staging: the API's refusal, word for word.
    let (ui_status, ui_body) = s
        .post("rita", &promote, &[("csrf", &csrf), ("environment", "prod")])
        .await;
    let api = s
        .client()
        .post(format!("{}/api/v1/promotions", s.base))
        .bearer_auth(&s.sessions["rita"])
        .json(&json!({"change": s.change, "environment": "prod"}))
        .send()
        .await
        .expect("POST");
    let api_status = api.status().as_u16();
    let api_body: Value = api.json().await.expect("json");
    assert_eq!(ui_status, api_status, "{ui_body}");
    assert_eq!(ui_status, 409, "{ui_body}");
    // The same words (each attempt records its own gate decision, so the number differs).
    let message = api_body["error"]["message"].as_str().expect("message");
    let message = message.split(" (gate decision").next().expect("message");
    assert!(
        ui_body.contains(&maud::html! { (message) }.into_string()),
        "{message} in {ui_body}"
    );

    // Staging: the gate blocks the unsigned change, as the API says.
    let (status, body) = s
        .post("rita", &promote, &[("csrf", &csrf), ("environment", "staging")])
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("approvals.quorum") || body.contains("gate"), "{body}");

    // Checking the gate records a decision and returns to the change's decisions.
    let gate = format!("/ui/changes/{}/gate", s.change);
    let decisions = |k: &[(String, Value)]| k.iter().filter(|(kind, _)| kind == "gate.evaluated").count();
    let before = decisions(&s.kinds().await);
    let r = s
        .client()
        .post(format!("{}{gate}", s.base))
        .header("cookie", s.cookie("rita"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("csrf={}&environment=staging", urlencode(&csrf)))
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(
        r.headers()["location"].to_str().expect("location"),
        format!("/ui/changes/{}#decisions", s.change)
    );
    assert_eq!(decisions(&s.kinds().await), before + 1);
    // The decision's fixes are in words (no command line on a web page), and the step this
    // site can take is a link to where it is taken: the quorum's signature, on the signing page.
    let (_, decided) = s.get("rita", &page).await;
    assert!(
        decided.contains(&format!("<a href=\"/ui/changes/{}/sign\">do it here</a>", s.change)),
        "{decided}"
    );
    assert!(!decided.contains("ward approve"), "{decided}");

    // A drill where no local runtime runs: the API's answer.
    let (status, body) = s.post("rita", "/ui/environments/prod/drill", &[("csrf", &csrf)]).await;
    let api = s
        .client()
        .post(format!("{}/api/v1/environments/prod/drills", s.base))
        .bearer_auth(&s.sessions["rita"])
        .json(&json!({}))
        .send()
        .await
        .expect("POST");
    assert_eq!(status, api.status().as_u16(), "{body}");
    s.finish().await;
}

/// A server over `url` whose idle clock runs `ahead` seconds past the wall clock, as a restarted
/// process or another replica sharing the store: its own `Activity`, its own token cache.
async fn replica(url: &str, ahead: i64) -> (String, tokio::sync::oneshot::Sender<()>) {
    let ledger = Ledger::new(ward_store::open(url).await.expect("store"), ward_app::projectors());
    let signer = Arc::new(Ed25519Signer::from_seed("test.ward/log", [5u8; 32]));
    let mut state = AppState::new(ledger, signer, "test.ward/log".into());
    state.ui_activity = Arc::new(ahead_clock(Arc::new(AtomicI64::new(ahead))));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, state, async {
        let _ = rx.await;
    }));
    (base, tx)
}

/// Status of a page (`cookie`) or an API read (`bearer`) with `token` on the server at `base`.
async fn status_with(base: &str, token: &str, bearer: bool) -> u16 {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let request = if bearer {
        client
            .get(format!("{base}/api/v1/changes"))
            .header("authorization", format!("Bearer {token}"))
    } else {
        client
            .get(format!("{base}/"))
            .header("cookie", format!("ward_session={token}"))
    };
    request.send().await.expect("GET").status().as_u16()
}

/// Before the idle clock was kept in the store, a restart or another replica took an idle web
/// session for a new one and gave it back its whole 12-hour token lifetime. Now a server that
/// never saw the session refuses it (page and bearer) once the store's clock says it is idle;
/// one within the timeout accepts it.
async fn a_session_idle_past_the_timeout_is_refused_by_another_server_on_the_same_store(db: TestDb) {
    let ledger = Ledger::new(ward_store::open(&db.url).await.expect("store"), ward_app::projectors());
    let (ada, lee) = (
        person("user:ada", vec![Role::Admin]),
        person("user:lee", vec![Role::Admin]),
    );
    identities::add_user(
        &ledger,
        &ada,
        &UserRequest {
            name: "val".into(),
            display_name: "val (test)".into(),
            roles: vec![Role::Viewer],
            password: pw("val"),
        },
    )
    .await
    .expect("user");
    let val = identities::activate_user(&ledger, &lee, "val").await.expect("activate");
    let token = identities::start_session(&ledger, &val).await.expect("session").token;
    let (first, stop_first) = replica(&db.url, 0).await;
    assert_eq!(
        status_with(&first, &token, false).await,
        200,
        "a page: the clock starts"
    );
    let (late, stop_late) = replica(&db.url, IDLE_SECS + 120).await;
    assert_eq!(status_with(&late, &token, false).await, 303, "idle: a page is refused");
    assert_eq!(
        status_with(&late, &token, true).await,
        401,
        "and so is the token as a bearer"
    );
    let (soon, stop_soon) = replica(&db.url, IDLE_SECS - 120).await;
    assert_eq!(
        status_with(&soon, &token, false).await,
        200,
        "within the timeout another server accepts it"
    );
    for stop in [stop_first, stop_late, stop_soon] {
        let _ = stop.send(());
    }
    db.cleanup().await;
}

mod a_session_idle_past_the_timeout_is_refused_by_another_server {
    use ward_store::testing::TestDb;

    #[tokio::test]
    async fn sqlite() {
        super::a_session_idle_past_the_timeout_is_refused_by_another_server_on_the_same_store(TestDb::sqlite()).await;
    }

    #[tokio::test]
    async fn postgres() {
        if let Some(db) = TestDb::postgres().await {
            super::a_session_idle_past_the_timeout_is_refused_by_another_server_on_the_same_store(db).await;
        }
    }
}
