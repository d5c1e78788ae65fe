//! The API over real HTTP on loopback, against a real SQLite store (and PostgreSQL for the
//! storage-independent checks): the route × role matrix, authentication failures and their
//! rate limit, sessions, errors, metrics and the OpenAPI document.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::Arc;
use ward_app::identities::{self, TokenRequest, UserRequest};
use ward_core::{Identity, Role};
use ward_ledger::{ActorKind, Ed25519Signer};
use ward_server::routes::{Access, ROUTES};
use ward_server::{AppState, serve};
use ward_store::Ledger;
use ward_store::testing::TestDb;

struct Server {
    base: String,
    ledger: Ledger,
    client: reqwest::Client,
    _db: TestDb,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn operator() -> Identity {
    Identity {
        id: "local:test".into(),
        kind: ActorKind::Human,
        roles: vec![Role::Admin],
    }
}

async fn start(db: TestDb) -> Server {
    start_with(db, ward_server::auth::FAILURE_LIMIT).await
}

async fn start_with(db: TestDb, failure_limit: u32) -> Server {
    let store = ward_store::open(&db.url).await.expect("store");
    let ledger = Ledger::new(store, ward_app::projectors());
    let signer = Arc::new(Ed25519Signer::from_seed("test.ward/log", [3u8; 32]));
    let mut state = AppState::new(ledger.clone(), signer, "test.ward/log".into());
    state.limiter = Arc::new(ward_server::auth::FailureLimiter::new(failure_limit));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, state, async {
        let _ = rx.await;
    }));
    Server {
        base,
        ledger,
        client: reqwest::Client::new(),
        _db: db,
        _stop: tx,
    }
}

impl Server {
    async fn token(&self, name: &str, roles: &[Role]) -> String {
        identities::create_token(
            &self.ledger,
            &operator(),
            &TokenRequest {
                name: name.into(),
                roles: roles.to_vec(),
                expires_in_secs: None,
                user: None,
                password: None,
            },
        )
        .await
        .expect("token")
        .token
    }

    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

/// A request for a route that is well-formed enough to get past validation for an allowed role.
fn sample(path: &str) -> (String, Option<Value>) {
    match path {
        "/api/v1/log/proof" => ("/api/v1/log/proof?index=0&size=1".into(), None),
        "/api/v1/log/consistency" => ("/api/v1/log/consistency?from=1&to=1".into(), None),
        "/api/v1/events" => (
            path.into(),
            Some(json!({ "kind": "test.event", "subject": "s:1", "payload": {} })),
        ),
        "/api/v1/tokens" => (
            path.into(),
            Some(json!({ "name": "made-in-test", "roles": ["viewer"] })),
        ),
        "/api/v1/tokens/{id}" => ("/api/v1/tokens/000000000000".into(), None),
        "/api/v1/log/blobs/{digest}" => (format!("/api/v1/log/blobs/sha256:{}", "0".repeat(64)), None),
        "/api/v1/log/documents/{digest}" => (format!("/api/v1/log/documents/sha256:{}", "0".repeat(64)), None),
        "/api/v1/bundles" => ("/api/v1/bundles?change=CHG-00000000".into(), None),
        "/api/v1/documents/{digest}/purge" => (
            format!("/api/v1/documents/sha256:{}/purge", "0".repeat(64)),
            Some(json!({ "reason": "matrix test of the purge route" })),
        ),
        "/api/v1/artifacts" => (
            path.into(),
            Some(json!({ "digest": format!("sha256:{}", "1".repeat(64)), "service": "api", "version": "1.0.0" })),
        ),
        "/api/v1/artifacts/{digest}" => (format!("/api/v1/artifacts/sha256:{}", "1".repeat(64)), None),
        "/api/v1/evidence/{subject}/{id}" => (
            format!("/api/v1/evidence/sha256:{}/sha256:{}", "1".repeat(64), "2".repeat(64)),
            None,
        ),
        "/api/v1/attestations" => (
            path.into(),
            Some(
                json!({ "artifact": format!("sha256:{}", "2".repeat(64)), "file_name": "x.xml", "content_base64": "" }),
            ),
        ),
        "/api/v1/users" => (
            path.into(),
            Some(
                json!({ "name": "u-matrix", "display_name": "U", "roles": ["viewer"], "password": "correct horse battery" }),
            ),
        ),
        "/api/v1/keys" => (
            path.into(),
            Some(json!({ "builder": "ci", "public_key_pem": "not a key" })),
        ),
        "/api/v1/keys/{keyid}" => (format!("/api/v1/keys/sha256:{}", "3".repeat(64)), None),
        "/api/v1/attestation-types" => (
            path.into(),
            Some(json!({ "name": "matrix-type", "schema": { "type": "object" } })),
        ),
        "/api/v1/changes" => (path.into(), Some(json!({ "title": "Matrix change" }))),
        "/api/v1/changes/{id}" => ("/api/v1/changes/CHG-00000000".into(), Some(json!({ "paths": ["a"] }))),
        "/api/v1/changes/{id}/classification" => (
            "/api/v1/changes/CHG-00000000/classification".into(),
            Some(json!({ "tier": "high", "reason": "matrix test reason" })),
        ),
        "/api/v1/changes/{id}/attestations" => ("/api/v1/changes/CHG-00000000/attestations".into(), None),
        "/api/v1/changes/{id}/approvals" => (
            "/api/v1/changes/CHG-00000000/approvals".into(),
            Some(json!({ "meaning": "approved" })),
        ),
        "/api/v1/changes/{id}/gate" => (
            "/api/v1/changes/CHG-00000000/gate".into(),
            Some(json!({ "environment": "prod" })),
        ),
        "/api/v1/gate/decisions/{id}" => ("/api/v1/gate/decisions/0".into(), None),
        "/api/v1/gate/decisions/{id}/replay" => ("/api/v1/gate/decisions/0/replay".into(), None),
        "/api/v1/changes/{id}/waivers" => ("/api/v1/changes/CHG-00000000/waivers".into(), None),
        "/api/v1/waivers" => (
            path.into(),
            Some(
                json!({"change": "CHG-00000000", "rules": ["sla."], "justification": "matrix test justification",
            "compensating_control": "matrix compensating control", "owner": "user:o", "expires_in_secs": 60}),
            ),
        ),
        "/api/v1/breakglass" => (
            path.into(),
            Some(json!({"change": "CHG-00000000", "rules": ["evidence."],
            "justification": "matrix test justification", "duration_secs": 600})),
        ),
        "/api/v1/promotions" => (
            path.into(),
            Some(json!({"change": "CHG-00000000", "environment": "prod"})),
        ),
        "/api/v1/environments/{env}/release-notes" => ("/api/v1/environments/prod/release-notes".into(), None),
        "/api/v1/observations" => (path.into(), Some(json!({"environment": "prod", "digests": []}))),
        "/api/v1/environments/{env}/rollback" => ("/api/v1/environments/prod/rollback".into(), None),
        "/api/v1/environments/{env}/config" => (
            "/api/v1/environments/prod/config".into(),
            Some(json!({"values": {"replicas": 2}})),
        ),
        "/api/v1/environments/{env}/observations" => ("/api/v1/environments/prod/observations".into(), None),
        "/api/v1/environments/{env}/deployments" => ("/api/v1/environments/prod/deployments".into(), None),
        "/api/v1/environments/{env}/deployments/in-flight" => {
            ("/api/v1/environments/prod/deployments/in-flight".into(), None)
        }
        "/api/v1/dr/restore-tests" => (
            path.into(),
            Some(
                json!({"store": "orders-db", "finished": "2026-12-01T10:00:00Z", "duration_secs": 600,
            "checked": "row counts match"}),
            ),
        ),
        "/api/v1/sessions" => (
            path.into(),
            Some(json!({ "user": "signin", "password": "correct horse battery" })),
        ),
        _ => (path.into(), None),
    }
}

#[tokio::test]
async fn every_route_times_every_role_matches_the_matrix() {
    // Many unauthenticated probes from one address: lift the failure limit for this test.
    let s = start_with(TestDb::sqlite(), 10_000).await;
    // The OpenAPI document (generated from the handlers) and the rule table list the same routes.
    let (status, doc) = s.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let ruled: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_string(), r.path.to_string()))
        .collect();
    assert_eq!(
        documented, ruled,
        "every route needs a rule in ROUTES and an OpenAPI entry"
    );

    identities::add_user(
        &s.ledger,
        &operator(),
        &UserRequest {
            name: "signin".into(),
            display_name: "Sign In".into(),
            roles: vec![Role::Viewer],
            password: "correct horse battery".into(),
        },
    )
    .await
    .expect("user");
    let mut tokens = Vec::new();
    for role in Role::ALL {
        tokens.push((role, s.token(&format!("matrix-{role}"), &[role]).await));
    }
    // One entry so that proofs at size 1 exist.
    let dev = &tokens.iter().find(|(r, _)| *r == Role::Developer).expect("dev").1;
    let (st, _) = s
        .call(
            Method::POST,
            "/api/v1/events",
            Some(dev),
            Some(json!({"kind": "seed.event", "subject": "s:0"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);

    let mut checked = 0;
    for rule in ROUTES {
        let method = Method::from_bytes(rule.method.as_bytes()).expect("method");
        let (path, body) = sample(rule.path);
        match rule.access {
            Access::Public => {
                let (st, _) = s.call(method.clone(), &path, None, body.clone()).await;
                assert!(
                    st != StatusCode::UNAUTHORIZED && st != StatusCode::FORBIDDEN,
                    "{} {path}: {st}",
                    rule.method
                );
            }
            Access::Requires(action) => {
                let (st, _) = s.call(method.clone(), &path, None, body.clone()).await;
                assert_eq!(st, StatusCode::UNAUTHORIZED, "{} {path} without a token", rule.method);
                for (role, token) in &tokens {
                    // Signing out revokes the token it is sent with: spend a fresh one.
                    let fresh;
                    let token = if (rule.method, rule.path) == ("DELETE", "/api/v1/sessions") {
                        fresh = s.token(&format!("ending-{role}"), &[*role]).await;
                        &fresh
                    } else {
                        token
                    };
                    let (st, resp) = s.call(method.clone(), &path, Some(token), body.clone()).await;
                    let allowed = role.permits(action);
                    // The role refusal is 403 `forbidden`; a permitted role may still meet a
                    // control's own 403 (e.g. `automation_cannot_add_people`: these tokens are
                    // automation), which is not a role decision.
                    let role_refused = st == StatusCode::FORBIDDEN && resp["error"]["code"] == "forbidden";
                    assert_eq!(
                        !role_refused, allowed,
                        "{} {path} as {role}: status {st}, body {resp}",
                        rule.method
                    );
                    assert_ne!(st, StatusCode::UNAUTHORIZED, "{} {path} as {role}", rule.method);
                    if !allowed {
                        assert_eq!(resp["error"]["code"], "forbidden");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 13 * Role::ALL.len());
    // Denials were recorded with the actor.
    let entries = s.ledger.store().entries(0, 10_000).await.expect("entries");
    let denied = entries
        .iter()
        .filter(|e| String::from_utf8_lossy(&e.leaf).contains("\"kind\":\"access.denied\""))
        .count();
    assert!(denied > 0);
    // A path served for other methods only is a 405 naming them, not a server bug (a helper's
    // `GET /api/v1/artifacts?service=…` was answered 403 `no_rule`).
    let (viewer_role, viewer) = &tokens[0];
    let (st, resp) = s
        .call(Method::GET, "/api/v1/artifacts?service=svc1", Some(viewer), None)
        .await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED, "as {viewer_role}: {resp}");
    assert_eq!(resp["error"]["code"], "method_not_allowed", "{resp}");
    assert!(
        resp["error"]["hint"].as_str().is_some_and(|h| h.contains("POST")),
        "{resp}"
    );
}

#[tokio::test]
async fn failures_are_counted_recorded_and_rate_limited() {
    let s = start(TestDb::sqlite()).await;
    let viewer = s.token("viewer", &[Role::Viewer]).await;
    let (st, body) = s.call(Method::GET, "/api/v1/log", None, None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");
    assert!(
        body["error"]["hint"]
            .as_str()
            .is_some_and(|h| h.contains("POST /api/v1/sessions") && !h.contains("ward "))
    );
    // A forged token (right id, wrong secret) fails like an unknown one.
    let forged = format!(
        "{}{}",
        &viewer[..viewer.len() - 1],
        if viewer.ends_with('0') { '1' } else { '0' }
    );
    let (st, _) = s.call(Method::GET, "/api/v1/log", Some(&forged), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    for _ in 0..30 {
        s.call(Method::GET, "/api/v1/log", Some("ward_nonsense"), None).await;
    }
    // The source is now limited for unauthenticated attempts; a valid token still works
    // (issue 15 item 10, tests/bypass_limiter.rs).
    let (st, body) = s.call(Method::GET, "/api/v1/log", Some("ward_nonsense"), None).await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let (st, body) = s.call(Method::GET, "/api/v1/log", Some(&viewer), None).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    // Recorded: at most FAILURE_LIMIT events per window, each naming the source.
    let entries = s.ledger.store().entries(0, 10_000).await.expect("entries");
    let failed = entries
        .iter()
        .filter(|e| String::from_utf8_lossy(&e.leaf).contains("\"kind\":\"auth.failed\""))
        .count();
    assert_eq!(failed as u32, ward_server::auth::FAILURE_LIMIT);
    let (_, metrics) = s.call(Method::GET, "/metrics", None, None).await;
    let text = metrics.as_str().expect("text");
    assert!(
        text.contains("ward_auth_failures_total{reason=\"rate_limited\"}"),
        "{text}"
    );
    assert!(text.contains("ward_auth_failures_total{reason=\"malformed\"}"));
}

#[tokio::test]
async fn revoked_and_expired_tokens_are_refused() {
    let s = start(TestDb::sqlite()).await;
    let admin = s.token("admin", &[Role::Admin]).await;
    let viewer = s.token("v", &[Role::Viewer]).await;
    assert_eq!(
        s.call(Method::GET, "/api/v1/log", Some(&viewer), None).await.0,
        StatusCode::OK
    );
    let id = viewer[5..17].to_string();
    let (st, _) = s
        .call(Method::DELETE, &format!("/api/v1/tokens/{id}"), Some(&admin), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let (st, body) = s.call(Method::GET, "/api/v1/log", Some(&viewer), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("revoked")));
    let (_, list) = s.call(Method::GET, "/api/v1/tokens", Some(&admin), None).await;
    let listed = list.as_array().expect("list");
    assert!(listed.iter().any(|t| t["id"] == id && t["revoked"] == true));
    assert!(
        listed.iter().all(|t| t.get("secret_sha256").is_none()),
        "secrets never listed"
    );
    // Expiry: a token whose lifetime has passed.
    let short = identities::create_token(
        &s.ledger,
        &operator(),
        &TokenRequest {
            name: "short".into(),
            roles: vec![Role::Viewer],
            expires_in_secs: Some(1),
            user: None,
            password: None,
        },
    )
    .await
    .expect("token");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (st, body) = s.call(Method::GET, "/api/v1/log", Some(&short.token), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("expired")));
}

#[tokio::test]
async fn people_sign_in_and_their_reads_are_recorded() {
    let s = start(TestDb::sqlite()).await;
    identities::add_user(
        &s.ledger,
        &operator(),
        &UserRequest {
            name: "alice".into(),
            display_name: "Alice Smith".into(),
            roles: vec![Role::Approver, Role::Viewer],
            password: "correct horse battery staple".into(),
        },
    )
    .await
    .expect("user");
    let (st, _) = s
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"user": "alice", "password": "wrong password!"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, created) = s
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"user": "alice", "password": "correct horse battery staple"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let token = created["token"].as_str().expect("token").to_string();
    let (_, me) = s.call(Method::GET, "/api/v1/whoami", Some(&token), None).await;
    assert_eq!(me["id"], "user:alice");
    assert_eq!(me["kind"], "human");
    // A person's appends name them as the actor; the body cannot claim someone else.
    let (st, _) = s
        .call(Method::GET, "/api/v1/events?from=0&limit=5", Some(&token), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    let entries = s.ledger.store().entries(0, 100).await.expect("entries");
    let access = entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.leaf).into_owned())
        .find(|l| l.contains("\"kind\":\"access.read\""))
        .expect("an access event");
    assert!(access.contains("\"id\":\"user:alice\""), "{access}");
    // The password hash is never in the log.
    assert!(
        entries
            .iter()
            .all(|e| !String::from_utf8_lossy(&e.leaf).contains("argon2"))
    );
    // Signing out ends the session on the server: the token stops working at once, and the
    // revocation names the person who ended it.
    let (st, ended) = s.call(Method::DELETE, "/api/v1/sessions", Some(&token), None).await;
    assert_eq!(st, StatusCode::OK, "{ended}");
    let (st, _) = s.call(Method::GET, "/api/v1/whoami", Some(&token), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "a signed-out session is refused");
    let entries = s.ledger.store().entries(0, 1000).await.expect("entries");
    let revoked = entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.leaf).into_owned())
        .find(|l| l.contains("\"kind\":\"token.revoked\""))
        .expect("a token.revoked event");
    assert!(revoked.contains("user:alice"), "{revoked}");
}

#[tokio::test]
async fn actors_cannot_be_spoofed_and_bad_input_is_a_json_error() {
    let s = start(TestDb::sqlite()).await;
    let dev = s.token("dev", &[Role::Developer]).await;
    let (st, body) = s
        .call(
            Method::POST,
            "/api/v1/events",
            Some(&dev),
            Some(json!({"kind": "x.y", "subject": "s", "actor": {"id": "user:bob", "kind": "human"}})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_request");
    let (st, body) = s
        .call(
            Method::POST,
            "/api/v1/events",
            Some(&dev),
            Some(json!({"kind": "Bad Kind", "subject": "s"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    // Malformed JSON: axum's rejection, still no stack trace.
    let resp = s
        .client
        .post(format!("{}/api/v1/events", s.base))
        .bearer_auth(&dev)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_client_error());
    let body: Value = resp.json().await.expect("a JSON error body");
    assert_eq!(body["error"]["code"], "invalid_request", "{body}");
    // A value the body could not be read into is not repeated (it may be a secret the guard
    // would refuse elsewhere: a random string is named by no detector but `high-entropy`).
    let (st, body) = s
        .call(
            Method::POST,
            "/api/v1/changes",
            Some(&dev),
            Some(json!({"title": "t", "kind": "9fK2mQ7xLp0aZr4Tb8Wv", "artifacts": [], "9fK2mQ7xLp0aZr4Tb8Wu": 1})),
        )
        .await;
    assert!(st.is_client_error(), "{body}");
    assert!(!body.to_string().contains("9fK2mQ7x"), "{body}");
    // Wrong field types, a missing content type, a bad query: still {code, message, hint}.
    for (ct, payload) in [
        ("application/json", r#"{"kind": 5, "subject": "s"}"#),
        ("text/plain", r#"{"kind":"a.b","subject":"s"}"#),
    ] {
        let resp = s
            .client
            .post(format!("{}/api/v1/events", s.base))
            .bearer_auth(&dev)
            .header("content-type", ct)
            .body(payload)
            .send()
            .await
            .expect("send");
        assert!(resp.status().is_client_error());
        let body: Value = resp.json().await.expect("a JSON error body");
        assert!(body["error"]["hint"].is_string(), "{body}");
    }
    let (st, body) = s
        .call(Method::GET, "/api/v1/log/proof?index=abc", Some(&dev), None)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_request");
    // Too large a body.
    let big = "x".repeat(ward_server::routes::MAX_BODY + 1);
    let resp = s
        .client
        .post(format!("{}/api/v1/events", s.base))
        .bearer_auth(&dev)
        .header("content-type", "application/json")
        .body(format!("{{\"kind\":\"a.b\",\"subject\":\"s\",\"payload\":\"{big}\"}}"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = resp.json().await.expect("a JSON error body");
    assert_eq!(body["error"]["code"], "too_large");
    // Ward's own kinds cannot be forged through the generic append: a developer posting a
    // trusted key, an attestation or an approval is refused and nothing is written.
    let before = s.ledger.store().head().await.expect("head").size();
    for kind in [
        "key.trusted",
        "attestation.added",
        "approval.signed",
        "token.created",
        // Lifting someone's signing lockout, or locking them out with forged failures.
        "reauth.unlocked",
        "local.refused",
        "classification.refused",
        // Forging a signed restore test (DR readiness) or a refusal of one.
        "dr.restore_tested",
        "dr.restore_test_refused",
    ] {
        let (st, out) = s
            .call(
                Method::POST,
                "/api/v1/events",
                Some(&dev),
                Some(
                    json!([{"kind": "a.b", "subject": "s"}, {"kind": kind, "subject": "x", "payload": {"keyid": "k"}}]),
                ),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{kind}: {out}");
        assert_eq!(out["error"]["code"], "reserved_kind");
    }
    assert_eq!(s.ledger.store().head().await.expect("head").size(), before);
    // Appends are attributed to the token's identity.
    let (st, out) = s
        .call(
            Method::POST,
            "/api/v1/events",
            Some(&dev),
            Some(json!({"kind": "a.b", "subject": "s"})),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let seq = out["appended"][0]["seq"].as_u64().expect("seq");
    let leaf = s.ledger.store().entries(seq, 1).await.expect("entry").remove(0).leaf;
    // Automation acts as its token's id; its name lives beside the log.
    let id = dev.split('_').nth(1).expect("ward_<id>_<secret>");
    let leaf = String::from_utf8_lossy(&leaf);
    assert!(
        leaf.contains(&format!("\"actor\":{{\"id\":\"token:{id}\",\"kind\":\"automation\"}}")),
        "{leaf}"
    );
}

#[tokio::test]
async fn readiness_on_both_stores() {
    for db in [Some(TestDb::sqlite()), TestDb::postgres().await].into_iter().flatten() {
        let s = start(db).await;
        let (st, body) = s.call(Method::GET, "/readyz", None, None).await;
        assert_eq!(st, StatusCode::OK, "{body}");
        let token = s.token("dev", &[Role::Developer]).await;
        let (st, _) = s
            .call(
                Method::POST,
                "/api/v1/events",
                Some(&token),
                Some(json!({"kind": "a.b", "subject": "s"})),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED);
        let (_, status) = s.call(Method::GET, "/api/v1/log", Some(&token), None).await;
        assert_eq!(status["size"], 2, "token event + one append");
    }
}

#[tokio::test]
async fn artifacts_and_attestations() {
    use base64::Engine;
    let s = start(TestDb::sqlite()).await;
    let dev = s.token("ci", &[Role::Developer]).await;
    let viewer = s.token("v", &[Role::Viewer]).await;
    let digest = format!("sha256:{}", "ab".repeat(32));
    let meta = json!({ "digest": digest, "service": "api", "version": "2.14.0", "commit": "0123abc" });
    let (st, a) = s
        .call(Method::POST, "/api/v1/artifacts", Some(&dev), Some(meta.clone()))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{a}");
    assert_eq!(a["builder"], format!("token:{}", dev.split('_').nth(1).expect("id")));
    // Idempotent; a conflict names the field.
    let (st, _) = s
        .call(Method::POST, "/api/v1/artifacts", Some(&dev), Some(meta.clone()))
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut other = meta.clone();
    other["version"] = json!("2.15.0");
    let (st, body) = s.call(Method::POST, "/api/v1/artifacts", Some(&dev), Some(other)).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains("version")),
        "{body}"
    );
    let (st, _) = s
        .call(
            Method::POST,
            "/api/v1/artifacts",
            Some(&dev),
            Some(json!({"digest": "sha256:nothex", "service": "a", "version": "1"})),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let fixture = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ward-evidence/tests/fixtures/pytest.xml"
    ))
    .unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&fixture);
    let req = json!({ "artifact": digest, "file_name": "pytest.xml", "content_base64": b64 });
    let (st, att) = s
        .call(Method::POST, "/api/v1/attestations", Some(&dev), Some(req.clone()))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{att}");
    assert_eq!(att["type"], "junit");
    assert_eq!(att["summary"]["failed"], 2);
    assert_eq!(att["summary"]["tests"], 8);
    let (st, _) = s
        .call(Method::POST, "/api/v1/attestations", Some(&dev), Some(req))
        .await;
    assert_eq!(st, StatusCode::OK, "attaching the same document again is a no-op");
    // The raw bytes are stored content-addressed, beside the log.
    let id = att["id"].as_str().unwrap();
    assert_eq!(s.ledger.store().evidence(id).await.unwrap(), Some(fixture.clone()));

    // A report whose numbers were edited is refused and nothing is stored.
    let edited = String::from_utf8(fixture)
        .unwrap()
        .replace("failures=\"2\"", "failures=\"0\"");
    let size_before = s.ledger.head().await.unwrap().size();
    let (st, body) = s
        .call(
            Method::POST,
            "/api/v1/attestations",
            Some(&dev),
            Some(json!({ "artifact": digest, "file_name": "edited.xml", "content_base64": base64::engine::general_purpose::STANDARD.encode(edited.as_bytes()) })),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("edited.xml: ") && m.contains("contradicts")),
        "{body}"
    );
    assert_eq!(s.ledger.head().await.unwrap().size(), size_before);
    assert_eq!(
        s.ledger
            .store()
            .evidence(&ward_evidence::digest::of_bytes(edited.as_bytes()))
            .await
            .unwrap(),
        None
    );
    // PHI in a report: refused with line and detector, never the value; --redact stores a copy.
    let phi = String::from_utf8(
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ward-evidence/tests/fixtures/pytest.xml"
        ))
        .unwrap(),
    )
    .unwrap()
    .replace("database unavailable", "patient ssn 123-45-6789 unavailable");
    let phi_req = |redact: bool| {
        json!({ "artifact": digest, "file_name": "phi.xml", "redact": redact,
                "content_base64": base64::engine::general_purpose::STANDARD.encode(phi.as_bytes()) })
    };
    let (st, body) = s
        .call(Method::POST, "/api/v1/attestations", Some(&dev), Some(phi_req(false)))
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "sensitive_content");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("phi.xml") && msg.contains("us-ssn") && msg.contains("line"),
        "{msg}"
    );
    assert!(!body.to_string().contains("123-45-6789"));
    assert_eq!(s.ledger.head().await.unwrap().size(), size_before);
    let (st, red) = s
        .call(Method::POST, "/api/v1/attestations", Some(&dev), Some(phi_req(true)))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{red}");
    assert_eq!(red["redactions"][0]["detector"], "us-ssn");
    let stored = s
        .ledger
        .store()
        .evidence(red["id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    let stored = String::from_utf8(stored).unwrap();
    assert!(stored.contains("[REDACTED:us-ssn]") && !stored.contains("123-45-6789"));
    assert!(!red.to_string().contains("123-45-6789"));
    // Unregistered artifact.
    let (st, _) = s
        .call(
            Method::POST,
            "/api/v1/attestations",
            Some(&dev),
            Some(json!({ "artifact": format!("sha256:{}", "cd".repeat(32)), "file_name": "x", "content_base64": "" })),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, view) = s
        .call(Method::GET, &format!("/api/v1/artifacts/{digest}"), Some(&viewer), None)
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(view["artifact"]["version"], "2.14.0");
    assert_eq!(
        view["attestations"].as_array().unwrap().len(),
        2,
        "the report and the redacted one"
    );
    // The raw document as stored (redacted), with its record; the read is recorded. A reader
    // who may not read evidence, or a document of another artifact, gets nothing.
    let id = red["id"].as_str().unwrap();
    let (st, doc) = s
        .call(
            Method::GET,
            &format!("/api/v1/evidence/{digest}/{id}"),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{doc}");
    assert_eq!(doc["attestation"]["id"], id);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(doc["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(String::from_utf8(bytes).unwrap(), stored, "the stored, redacted bytes");
    let reads = s
        .ledger
        .store()
        .entries(0, s.ledger.head().await.unwrap().size())
        .await
        .unwrap()
        .iter()
        .filter(|e| {
            let t = String::from_utf8_lossy(&e.leaf);
            t.contains("\"kind\":\"access.read\"") && t.contains(id)
        })
        .count();
    assert_eq!(reads, 1, "the read is recorded");
    let (st, _) = s
        .call(
            Method::GET,
            &format!("/api/v1/evidence/sha256:{}/{id}", "cd".repeat(32)),
            Some(&viewer),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "not an attestation of that artifact");
    let admin = s.token("adm", &[Role::Admin]).await;
    let (st, _) = s
        .call(
            Method::GET,
            &format!("/api/v1/evidence/{digest}/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "an administrator does not read evidence");
    // Projections rebuild to the same state.
    s.ledger.rebuild_projections().await.unwrap();
    let (_, again) = s
        .call(Method::GET, &format!("/api/v1/artifacts/{digest}"), Some(&viewer), None)
        .await;
    assert_eq!(again, view);
}

/// A refusal never repeats PHI it was given: a ticket that is not a URL, or an unknown
/// attribute, that holds an SSN is refused with its code, and neither message nor hint
/// quotes the value (the handler names the field only since attack round 7; the error mapping
/// would withhold it otherwise, whatever handler wrote the message).
#[tokio::test]
async fn refusals_never_repeat_phi_they_were_given() {
    let s = start(TestDb::sqlite()).await;
    let dev = s.token("dev", &[Role::Developer]).await;
    for body in [
        json!({"title": "Fix the lookup", "ticket_url": "ref 219-45-1100", "artifacts": []}),
        json!({"title": "Fix the lookup", "attributes": ["ssn 219-45-1100"], "artifacts": []}),
    ] {
        let (st, resp) = s.call(Method::POST, "/api/v1/changes", Some(&dev), Some(body)).await;
        assert!(st.is_client_error(), "{st} {resp}");
        let text = resp.to_string();
        assert!(!text.contains("219-45-1100"), "the refusal repeats the SSN: {text}");
        assert!(resp["error"]["code"].is_string(), "{resp}");
        assert!(
            resp["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("ticket") || m.contains("attribute")),
            "{resp}"
        );
    }
}

/// A failed sign-in whose user name looks like PHI is still recorded — without the name:
/// the audit trail never loses a failure to the guard, and the log never holds the value.
#[tokio::test]
async fn a_failed_sign_in_with_a_phi_shaped_name_is_recorded_without_it() {
    let s = start(TestDb::sqlite()).await;
    let (st, _) = s
        .call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({"user": "ssn219451191", "password": "wrong password!"})),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let entries = s.ledger.store().entries(0, 100).await.expect("entries");
    let leaves: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8_lossy(&e.leaf).into_owned())
        .collect();
    let failed = leaves
        .iter()
        .find(|l| l.contains("\"kind\":\"auth.failed\""))
        .expect("the failure is recorded");
    assert!(failed.contains("\"withheld\":true"), "{failed}");
    assert!(
        leaves.iter().all(|l| !l.contains("219451191")),
        "the name never reaches the log"
    );
}
