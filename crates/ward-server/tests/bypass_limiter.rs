//! Issue 15 item 10, over real HTTP on loopback: the failure limiter counts and throttles only
//! unauthenticated attempts. After an address has used up its failures, a valid token from it
//! (someone else behind the same NAT or proxy) still works, while a missing or invalid token —
//! and every sign-in attempt, right password or not — gets 429; refusals of authenticated
//! callers are never charged to their address; and nothing but the first `FAILURE_LIMIT`
//! failures is recorded.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use ward_app::identities::{self, TokenRequest, UserRequest};
use ward_core::{Identity, Role};
use ward_ledger::{ActorKind, Ed25519Signer};
use ward_server::auth::FAILURE_LIMIT;
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

const PASSWORD: &str = "correct horse battery staple";

fn operator() -> Identity {
    Identity {
        id: "local:test".into(),
        kind: ActorKind::Human,
        roles: vec![Role::Admin],
    }
}

async fn start(db: TestDb) -> Server {
    let store = ward_store::open(&db.url).await.expect("store");
    let ledger = Ledger::new(store, ward_app::projectors());
    let signer = Arc::new(Ed25519Signer::from_seed("test.ward/log", [3u8; 32]));
    let state = AppState::new(ledger.clone(), signer, "test.ward/log".into());
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

    async fn user(&self, name: &str) {
        identities::add_user(
            &self.ledger,
            &operator(),
            &UserRequest {
                name: name.into(),
                display_name: "Alice Smith".into(),
                roles: vec![Role::Viewer],
                password: PASSWORD.into(),
            },
        )
        .await
        .expect("user");
    }

    /// (status, body, Retry-After).
    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value, Option<String>) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let retry = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
            retry,
        )
    }

    async fn sign_in(&self, user: &str, password: &str) -> (StatusCode, Value, Option<String>) {
        self.call(
            Method::POST,
            "/api/v1/sessions",
            None,
            Some(json!({ "user": user, "password": password })),
        )
        .await
    }

    /// Uses up the address's failures with tokens that are not valid.
    async fn exhaust(&self) {
        for _ in 0..FAILURE_LIMIT {
            let (st, _, _) = self.call(Method::GET, "/api/v1/log", Some("ward_nonsense"), None).await;
            assert_eq!(st, StatusCode::UNAUTHORIZED);
        }
    }

    async fn size(&self) -> u64 {
        self.ledger.store().entries(0, 100_000).await.expect("entries").len() as u64
    }

    async fn kinds(&self) -> Vec<String> {
        self.ledger
            .store()
            .entries(0, 100_000)
            .await
            .expect("entries")
            .iter()
            .map(|e| {
                let v: Value = serde_json::from_slice(&e.leaf).expect("leaf");
                v["kind"].as_str().unwrap_or_default().to_string()
            })
            .collect()
    }
}

fn assert_limited(st: StatusCode, body: &Value, retry: Option<&str>) {
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    assert!(
        body["error"]["hint"].as_str().is_some_and(|h| h.contains("wait")),
        "{body}"
    );
    assert_eq!(retry, Some("60"));
}

async fn valid_token_is_not_throttled_by_someone_elses_failures(db: TestDb) {
    let s = start(db).await;
    s.user("alice").await;
    let viewer = s.token("viewer", &[Role::Viewer]).await;
    // Alice signed in before the flood; her session token is as valid as an API token.
    let (st, created, _) = s.sign_in("alice", PASSWORD).await;
    assert_eq!(st, StatusCode::CREATED, "{created}");
    let session = created["token"].as_str().expect("token").to_string();

    s.exhaust().await;
    let before = s.size().await;

    // Valid tokens from the exhausted address still work.
    for t in [&viewer, &session] {
        let (st, body, _) = s.call(Method::GET, "/api/v1/log", Some(t), None).await;
        assert_eq!(st, StatusCode::OK, "{body}");
    }
    let (_, me, _) = s.call(Method::GET, "/api/v1/whoami", Some(&session), None).await;
    assert_eq!(me["id"], "user:alice");

    // Missing, malformed, forged and unknown tokens are still throttled.
    let forged = format!(
        "{}{}",
        &viewer[..viewer.len() - 1],
        if viewer.ends_with('0') { '1' } else { '0' }
    );
    let unknown = format!("ward_{}_{}", "0".repeat(12), "0".repeat(64));
    for t in [
        None,
        Some("ward_nonsense"),
        Some(forged.as_str()),
        Some(unknown.as_str()),
    ] {
        let (st, body, retry) = s.call(Method::GET, "/api/v1/log", t, None).await;
        assert_limited(st, &body, retry.as_deref());
    }
    // Nothing was recorded for the throttled attempts (the limit keeps a flood out of the
    // log); the valid requests recorded only what they would have anyway.
    let kinds = s.kinds().await;
    let failed = kinds.iter().filter(|k| *k == "auth.failed").count();
    assert_eq!(failed as u32, FAILURE_LIMIT);
    assert!(
        kinds[before as usize..].iter().all(|k| k != "auth.failed"),
        "{:?}",
        &kinds[before as usize..]
    );
}

#[tokio::test]
async fn valid_token_is_not_throttled_by_someone_elses_failures_sqlite() {
    valid_token_is_not_throttled_by_someone_elses_failures(TestDb::sqlite()).await;
}

#[tokio::test]
async fn valid_token_is_not_throttled_by_someone_elses_failures_postgres() {
    if let Some(db) = TestDb::postgres().await {
        valid_token_is_not_throttled_by_someone_elses_failures(db).await;
    }
}

#[tokio::test]
async fn sign_in_is_still_limited_per_source_even_with_the_right_password() {
    let s = start(TestDb::sqlite()).await;
    s.user("alice").await;
    // Someone else uses up the address's failures (bad tokens: alice is not locked out)…
    s.exhaust().await;
    let before = s.size().await;
    // …and once it is used up, no sign-in from the address is tried: a password guessed right
    // is not confirmed, a wrong one not counted.
    let (st, body, retry) = s.sign_in("alice", PASSWORD).await;
    assert_limited(st, &body, retry.as_deref());
    let (st, body, retry) = s.sign_in("alice", "a wrong guess!!").await;
    assert_limited(st, &body, retry.as_deref());
    assert_eq!(s.size().await, before, "nothing recorded for refused sign-ins");
}

#[tokio::test]
async fn failed_sign_ins_are_charged_to_the_source() {
    let s = start(TestDb::sqlite()).await;
    // Unknown users, so no person's lockout is involved: only the address's limit.
    for i in 0..FAILURE_LIMIT {
        let (st, _, _) = s.sign_in(&format!("nobody{i}"), "a wrong guess!!").await;
        assert_eq!(st, StatusCode::UNAUTHORIZED);
    }
    let (st, body, retry) = s.call(Method::GET, "/api/v1/log", Some("ward_nonsense"), None).await;
    assert_limited(st, &body, retry.as_deref());
    let viewer = s.token("viewer", &[Role::Viewer]).await;
    let (st, body, _) = s.call(Method::GET, "/api/v1/log", Some(&viewer), None).await;
    assert_eq!(st, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn authenticated_refusals_are_not_charged_to_the_source() {
    // A valid token refused for its role (403) is not an authentication failure: however many,
    // the address is not limited, so they cannot be used to lock others out either.
    let s = start(TestDb::sqlite()).await;
    let viewer = s.token("viewer", &[Role::Viewer]).await;
    for _ in 0..FAILURE_LIMIT + 5 {
        let (st, body, _) = s
            .call(
                Method::POST,
                "/api/v1/events",
                Some(&viewer),
                Some(json!({ "kind": "test.event", "subject": "s:1", "payload": {} })),
            )
            .await;
        assert_eq!(st, StatusCode::FORBIDDEN, "{body}");
    }
    let (st, body, _) = s.call(Method::GET, "/api/v1/log", Some("ward_nonsense"), None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "{body}");
    let (st, _, _) = s.sign_in("nobody", "a wrong guess!!").await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
}

/// An unauthenticated caller cannot make Ward ask an identity provider for device codes without
/// end: every `POST /api/v1/sessions/device` is charged to its address, answered or not, and
/// past the limit it gets 429 before any provider is asked.
#[tokio::test]
async fn device_sign_in_starts_are_charged_to_the_address() {
    let s = start(TestDb::sqlite()).await;
    let start_device = || async {
        s.client
            .post(format!("{}/api/v1/sessions/device", s.base))
            .json(&json!({ "provider": "staff-idp" }))
            .send()
            .await
            .expect("POST")
            .status()
    };
    for _ in 0..FAILURE_LIMIT {
        // No provider is configured here: refused as unknown, and still charged.
        assert_eq!(start_device().await, StatusCode::NOT_FOUND);
    }
    assert_eq!(start_device().await, StatusCode::TOO_MANY_REQUESTS);
}
