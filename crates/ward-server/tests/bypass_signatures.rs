//! Issue 14's bypass suite, signature half: every attack on who may decide, through the real
//! HTTP API on loopback, against SQLite and PostgreSQL. Each test asserts the refusal, its code,
//! and that nothing but the refusal was recorded.
//!
//! People sign in with their password (`POST /api/v1/sessions`), so their tokens are what a
//! person really holds; automation tokens are minted by the operator.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use ward_app::identities::{self, TokenRequest, UserRequest};
use ward_core::{Identity, Role};
use ward_ledger::{ActorKind, Ed25519Signer, EventEnvelope};
use ward_server::{AppState, serve};
use ward_store::Ledger;
use ward_store::testing::TestDb;

struct Server {
    base: String,
    ledger: Ledger,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn operator() -> Identity {
    Identity {
        id: "local:test".into(),
        kind: ActorKind::Human,
        roles: vec![Role::Admin],
    }
}

fn password(name: &str) -> String {
    format!("{name}-correct-horse-battery")
}

async fn start(db: &TestDb) -> Server {
    let store = ward_store::open(&db.url).await.expect("store");
    let ledger = Ledger::new(store, ward_app::projectors());
    // The owner the tests' waivers name: a waiver's owner is a person Ward knows.
    identities::add_user(
        &ledger,
        &operator(),
        &UserRequest {
            name: "sam".into(),
            display_name: "Sam Example".into(),
            roles: vec![Role::Developer],
            password: password("sam"),
        },
    )
    .await
    .expect("owner");
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
        _stop: tx,
    }
}

impl Server {
    async fn call(&self, method: Method, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        let resp = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        // Refusals carry `{"error": {code, message, hint}}`: return the error itself.
        match v.get("error") {
            Some(e) if !status.is_success() => (status, e.clone()),
            _ => (status, v),
        }
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, body).await
    }

    /// A person: a local user with `roles`, signed in with their password.
    async fn person(&self, name: &str, roles: &[Role]) -> String {
        identities::add_user(
            &self.ledger,
            &operator(),
            &UserRequest {
                name: name.into(),
                display_name: format!("{} Example", name.to_uppercase()),
                roles: roles.to_vec(),
                password: password(name),
            },
        )
        .await
        .expect("user");
        let resp = self
            .client
            .post(format!("{}/api/v1/sessions", self.base))
            .json(&json!({ "user": name, "password": password(name) }))
            .send()
            .await
            .expect("sign in");
        assert_eq!(resp.status(), StatusCode::CREATED, "sign-in of {name}");
        let v: Value = resp.json().await.expect("session");
        v["token"].as_str().expect("token").to_string()
    }

    /// An automation token.
    async fn automation(&self, name: &str, roles: &[Role]) -> String {
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

    /// The kinds of the entries appended since `from`.
    async fn kinds_since(&self, from: u64) -> Vec<String> {
        let size = self.size().await;
        self.ledger
            .store()
            .entries(from, size - from)
            .await
            .expect("entries")
            .iter()
            .map(|e| EventEnvelope::from_leaf(&e.leaf).expect("envelope").kind)
            .collect()
    }

    async fn size(&self) -> u64 {
        self.ledger.store().head().await.expect("head").size()
    }

    /// Registers an artifact as `ci` and opens a change with `body` (plus the artifact).
    async fn change(&self, opener: &str, ci: &str, body: Value) -> String {
        let digest = format!("sha256:{}", hex(body.to_string().len() as u8));
        let (s, v) = self
            .post(
                "/api/v1/artifacts",
                ci,
                json!({ "digest": digest, "service": "patient-api", "version": format!("1.0.{}", body.to_string().len()) }),
            )
            .await;
        assert!(s.is_success(), "{v}");
        let mut body = body;
        body["artifacts"] = json!([digest]);
        let (s, v) = self.post("/api/v1/changes", opener, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().expect("id").to_string()
    }
}

fn hex(b: u8) -> String {
    format!("{b:02x}").repeat(32)
}

fn waiver(change: &str, rules: &[&str], pw: Option<&str>) -> Value {
    let mut w = json!({
        "change": change, "rules": rules,
        "justification": "the scanner is down for maintenance today",
        "compensating_control": "manual review of the dependency diff",
        "owner": "user:sam", "expires_in_secs": 86400,
    });
    if let Some(p) = pw {
        w["password"] = json!(p);
    }
    w
}

async fn both(test: impl AsyncFn(&TestDb)) {
    let db = TestDb::sqlite();
    test(&db).await;
    db.cleanup().await;
    if let Some(db) = TestDb::postgres().await {
        test(&db).await;
        db.cleanup().await;
    }
}

/// Item 1: the opener of a PHI change grants herself a waiver of approvals, evidence and the
/// checklist — refused; and nobody waives approvals.* or checklist.*, and every waiver needs
/// re-authentication.
#[tokio::test]
async fn opener_cannot_waive_her_own_change_and_nobody_waives_signatures() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let ci = s.automation("ci", &[Role::Developer]).await;
        let dana = s.person("dana", &[Role::Developer, Role::Approver]).await;
        let quinn = s.person("quinn", &[Role::Approver]).await;
        let id = s
            .change(&dana, &ci, json!({ "title": "Patient export", "attributes": ["phi"] }))
            .await;

        let before = s.size().await;
        let (st, e) = s
            .post(
                "/api/v1/waivers",
                &dana,
                waiver(&id, &["evidence."], Some(&password("dana"))),
            )
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("opener_cannot_sign")),
            "{e}"
        );
        assert_eq!(s.kinds_since(before).await, vec!["waiver.refused"]);

        let before = s.size().await;
        for rules in [
            &["approvals."][..],
            &["checklist.privacy-review"],
            &["approvals.quorum"],
        ] {
            let (st, e) = s
                .post("/api/v1/waivers", &quinn, waiver(&id, rules, Some(&password("quinn"))))
                .await;
            assert_eq!(
                (st, e["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("unwaivable_rule")),
                "{e}"
            );
        }
        assert_eq!(s.kinds_since(before).await, vec!["waiver.refused"; 3]);

        // Without re-authentication: refused, and nothing recorded (a usage error, not an attempt).
        let before = s.size().await;
        let (st, e) = s
            .post("/api/v1/waivers", &quinn, waiver(&id, &["evidence."], None))
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("reauthentication_required")),
            "{e}"
        );
        assert!(s.kinds_since(before).await.is_empty());

        // An automation token with the approver role cannot grant one either.
        let bot = s.automation("bot", &[Role::Approver]).await;
        let (st, e) = s
            .post(
                "/api/v1/waivers",
                &bot,
                waiver(&id, &["evidence."], Some("whatever-password")),
            )
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("automation_cannot_sign")),
            "{e}"
        );

        // An independent approver, re-authenticated, may waive evidence; the password is never
        // recorded and the printed name is.
        let before = s.size().await;
        let (st, w) = s
            .post(
                "/api/v1/waivers",
                &quinn,
                waiver(&id, &["evidence."], Some(&password("quinn"))),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{w}");
        assert_eq!(
            (w["printed_name"].as_str(), w["reauth"].as_str()),
            (Some("QUINN Example"), Some("password"))
        );
        assert_eq!(s.kinds_since(before).await, vec!["waiver.granted"]);
        let leaf = s.ledger.store().entries(before, 1).await.unwrap().remove(0).leaf;
        assert!(!String::from_utf8_lossy(&leaf).contains(&password("quinn")));
    })
    .await;
}

/// Item 3: an approver lowers a high change and would then sign alone; authors and automation
/// reclassify; a PHI change is lowered.
#[tokio::test]
async fn downgrade_then_sign_alone_is_refused() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let ci = s.automation("ci", &[Role::Developer]).await;
        let quinn = s.person("quinn", &[Role::Approver]).await;
        let rhea = s.person("rhea", &[Role::Approver]).await;
        let bob = s.person("bob", &[Role::Approver]).await;
        let id = s
            .change(
                &ci,
                &ci,
                json!({ "title": "Migrate schema", "attributes": ["schema_migration"],
                        "commits": [{"sha": "abc1234", "author": "bob@example.org"}] }),
            )
            .await;
        let classify = |tier: &str, reason: &str| json!({ "tier": tier, "reason": reason });
        let path = format!("/api/v1/changes/{id}/classification");

        // The commit author and an automation token with the approver role cannot reclassify.
        let bot = s.automation("bot", &[Role::Approver]).await;
        let before = s.size().await;
        let (st, e) = s
            .post(&path, &bob, classify("low", "it is only an index, reversible"))
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("author_cannot_sign")),
            "{e}"
        );
        let (st, e) = s
            .post(&path, &bot, classify("low", "it is only an index, reversible"))
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("automation_cannot_sign")),
            "{e}"
        );
        assert_eq!(s.kinds_since(before).await, vec!["classification.refused"; 2]);

        // Quinn proposes low: the tier stays high until a second approver concurs.
        let (st, c) = s
            .post(&path, &quinn, classify("low", "it is only an index, reversible"))
            .await;
        assert_eq!(st, StatusCode::OK, "{c}");
        assert_eq!(c["tier"], "high", "{c}");
        // Quinn then cannot count toward its approvals.
        let before = s.size().await;
        let (st, e) = s
            .post(
                &format!("/api/v1/changes/{id}/approvals"),
                &quinn,
                json!({ "meaning": "approved", "password": password("quinn") }),
            )
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("classifier_cannot_sign")),
            "{e}"
        );
        assert_eq!(s.kinds_since(before).await, vec!["approval.refused"]);
        // Rhea concurs: now low, and neither of them may sign.
        let (st, c) = s
            .post(&path, &rhea, classify("low", "agreed, reversible online index"))
            .await;
        assert_eq!((st, c["tier"].as_str()), (StatusCode::OK, Some("low")), "{c}");
        for (who, tok) in [("quinn", &quinn), ("rhea", &rhea)] {
            let (st, e) = s
                .post(
                    &format!("/api/v1/changes/{id}/approvals"),
                    tok,
                    json!({ "meaning": "approved", "password": password(who) }),
                )
                .await;
            assert_eq!(
                (st, e["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("classifier_cannot_sign")),
                "{e}"
            );
        }

        // A PHI change cannot be lowered below its classification at all.
        let phi = s
            .change(&ci, &ci, json!({ "title": "Patient search", "attributes": ["phi"] }))
            .await;
        let (st, e) = s
            .post(
                &format!("/api/v1/changes/{phi}/classification"),
                &quinn,
                classify("low", "search is read only, low risk"),
            )
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("protected_tier")),
            "{e}"
        );
    })
    .await;
}

/// A signer who edits the change after signing becomes a party: the signature is shown as not
/// counted for that reason — not as a stale one to renew, since signing again is refused (the
/// tenth session's gap: the view said `STALE: signed another manifest`, or `current` when the
/// manifest did not change, while the gate did not count it).
#[tokio::test]
async fn a_signer_who_became_a_party_is_shown_as_not_counted() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let ci = s.automation("ci", &[Role::Developer]).await;
        let bob = s.person("bob", &[Role::Developer, Role::Approver]).await;
        let id = s.change(&ci, &ci, json!({ "title": "Reminder tweak" })).await;
        let approvals = format!("/api/v1/changes/{id}/approvals");
        let (st, v) = s
            .post(
                &approvals,
                &bob,
                json!({ "meaning": "approved", "password": password("bob") }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let (_, view) = s.call(Method::GET, &approvals, &bob, Value::Null).await;
        assert_eq!(view["approvals"][0].get("by_party"), None, "{view}");
        let (st, c) = s
            .call(
                Method::PATCH,
                &format!("/api/v1/changes/{id}"),
                &bob,
                json!({ "commits": [{ "sha": "abc1234", "author": "dana@example.org" }] }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{c}");
        assert_eq!(c["editors"], json!(["user:bob"]), "{c}");
        let (_, view) = s.call(Method::GET, &approvals, &bob, Value::Null).await;
        assert_eq!(view["approvals"][0]["by_party"], true, "{view}");
    })
    .await;
}

/// Item 4: a commit author empties the commit list, then signs; another person swaps the
/// artifact, then signs. Authorship accumulates.
#[tokio::test]
async fn editing_the_change_then_signing_is_refused() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let ci = s.automation("ci", &[Role::Developer]).await;
        let bob = s.person("bob", &[Role::Developer, Role::Approver]).await;
        let eve = s.person("eve", &[Role::Developer, Role::Approver]).await;
        let id = s
            .change(
                &ci,
                &ci,
                json!({ "title": "Reminder tweak", "commits": [{"sha": "abc1234", "author": "bob@example.org"}] }),
            )
            .await;
        let (st, c) = s
            .call(
                Method::PATCH,
                &format!("/api/v1/changes/{id}"),
                &bob,
                json!({ "commits": [] }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{c}");
        assert_eq!(c["commits_source"], "asserted");
        assert_eq!(c["commits_asserted_by"], "user:bob");
        let sign = |who: &str| json!({ "meaning": "approved", "password": password(who) });
        let before = s.size().await;
        let (st, e) = s
            .post(&format!("/api/v1/changes/{id}/approvals"), &bob, sign("bob"))
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("author_cannot_sign")),
            "{e}"
        );
        assert_eq!(s.kinds_since(before).await, vec!["approval.refused"]);

        // Eve swaps the artifact for another build, then tries to be its approver.
        let other = format!("sha256:{}", hex(0xee));
        let (st, v) = s
            .post(
                "/api/v1/artifacts",
                &ci,
                json!({ "digest": other, "service": "patient-api", "version": "9.9.9" }),
            )
            .await;
        assert!(st.is_success(), "{v}");
        let (st, c) = s
            .call(
                Method::PATCH,
                &format!("/api/v1/changes/{id}"),
                &eve,
                json!({ "artifacts": [other] }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{c}");
        assert_eq!(c["editors"], json!(["user:bob", "user:eve"]));
        let (st, e) = s
            .post(&format!("/api/v1/changes/{id}/approvals"), &eve, sign("eve"))
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("editor_cannot_sign")),
            "{e}"
        );
    })
    .await;
}

/// Item 5: an admin mints a token that acts as bob — refused; bob mints his own with his
/// password; tokens record who created them.
#[tokio::test]
async fn admin_cannot_mint_a_token_that_acts_as_someone_else() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let ada = s.person("ada", &[Role::Admin]).await;
        s.person("bob", &[Role::Approver]).await;
        let before = s.size().await;
        let (st, e) = s
            .post(
                "/api/v1/tokens",
                &ada,
                json!({ "name": "bob-laptop", "roles": ["approver"], "user": "bob", "password": password("ada") }),
            )
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("cannot_act_as_another")),
            "{e}"
        );
        assert_eq!(s.kinds_since(before).await, vec!["token.refused"]);

        // Automation tokens record their creator.
        let (st, t) = s
            .post(
                "/api/v1/tokens",
                &ada,
                json!({ "name": "deploy-bot", "roles": ["developer"] }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{t}");
        assert_eq!(t["record"]["created_by"], "user:ada");

        // Locally (the service as the CLI calls it): only bob, with his password.
        let bob = Identity {
            id: "user:bob".into(),
            kind: ActorKind::Human,
            roles: vec![Role::Approver],
        };
        let req = |pw: Option<String>| TokenRequest {
            name: "bob-laptop".into(),
            roles: vec![Role::Approver],
            expires_in_secs: None,
            user: Some("bob".into()),
            password: pw,
        };
        let e = identities::create_token(&s.ledger, &operator(), &req(Some(password("bob"))))
            .await
            .expect_err("the operator is not bob");
        assert_eq!(e.code, "cannot_act_as_another");
        let e = identities::create_token(&s.ledger, &bob, &req(Some("not-bobs-password".into())))
            .await
            .expect_err("wrong password");
        assert_eq!(e.code, "reauthentication_failed");
        let t = identities::create_token(&s.ledger, &bob, &req(Some(password("bob"))))
            .await
            .expect("bob's own token");
        assert_eq!(
            (t.record.identity.as_str(), t.record.created_by.as_str()),
            ("user:bob", "user:bob")
        );
    })
    .await;
}

/// Item 5, continued: an administrator who can create people could act through them (open with
/// one, approve with another). A user an administrator adds over the API cannot sign in or sign
/// until a second administrator activates it; printed names are unique.
#[tokio::test]
async fn an_admin_cannot_create_the_people_who_approve_her_changes_alone() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let ada = s.person("ada", &[Role::Admin]).await;
        let lee = s.person("lee", &[Role::Admin]).await;
        let bot = s.automation("user-bot", &[Role::Admin]).await;
        let new_user = |name: &str, display: &str| {
            json!({ "name": name, "display_name": display, "roles": ["approver"], "password": password(name) })
        };
        let (st, u) = s.post("/api/v1/users", &ada, new_user("puppet", "Pat Puppet")).await;
        assert_eq!(st, StatusCode::CREATED, "{u}");
        assert_eq!((u["pending"].as_bool(), u["added_by"].as_str()), (Some(true), Some("user:ada")));

        // The right password of a pending account signs nothing in.
        let before = s.size().await;
        let resp = s
            .client
            .post(format!("{}/api/v1/sessions", s.base))
            .json(&json!({ "user": "puppet", "password": password("puppet") }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "account_pending", "{body}");
        assert_eq!(s.kinds_since(before).await, Vec::<String>::new());

        // A token she mints is not a second person: automation adds nobody.
        let (st, e) = s.post("/api/v1/users", &bot, new_user("sock", "Sock Puppet")).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("automation_cannot_add_people")),
            "{e}"
        );
        // Her own activation is refused; so is automation's.
        let (st, e) = s.post("/api/v1/users/puppet/activate", &ada, json!({})).await;
        assert_eq!((st, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("second_admin_required")), "{e}");
        let (st, e) = s.post("/api/v1/users/puppet/activate", &bot, json!({})).await;
        assert_eq!((st, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("automation_cannot_sign")), "{e}");
        assert_eq!(s.kinds_since(before).await, Vec::<String>::new());

        // A second administrator activates; then the user signs in.
        let (st, u) = s.post("/api/v1/users/puppet/activate", &lee, json!({})).await;
        assert_eq!(st, StatusCode::OK, "{u}");
        assert_eq!((u["pending"].as_bool(), u["activated_by"].as_str()), (None, Some("user:lee")));
        assert_eq!(s.kinds_since(before).await, vec!["user.activated"]);
        let resp = s
            .client
            .post(format!("{}/api/v1/sessions", s.base))
            .json(&json!({ "user": "puppet", "password": password("puppet") }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);

        // Two people never share a printed name (case and spacing ignored).
        let (st, e) = s.post("/api/v1/users", &ada, new_user("puppet2", "pat   PUPPET")).await;
        assert_eq!((st, e["code"].as_str()), (StatusCode::CONFLICT, Some("printed_name_taken")), "{e}");
    })
    .await;
}

/// Item 6a: 25 wrong signing passwords then the right one were accepted. Now five failures lock
/// signing (recorded), and an administrator can lift it.
#[tokio::test]
async fn repeated_wrong_signing_passwords_lock_the_signer() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let ci = s.automation("ci", &[Role::Developer]).await;
        let quinn = s.person("quinn", &[Role::Approver]).await;
        let ada = s.person("ada", &[Role::Admin]).await;
        let id = s.change(&ci, &ci, json!({ "title": "Copy fix" })).await;
        let path = format!("/api/v1/changes/{id}/approvals");
        for _ in 0..ward_core::approval::LOCKOUT_FAILURES {
            let (st, e) = s
                .post(
                    &path,
                    &quinn,
                    json!({ "meaning": "approved", "password": "guess-guess-guess" }),
                )
                .await;
            assert_eq!(
                (st, e["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("reauthentication_failed")),
                "{e}"
            );
        }
        let before = s.size().await;
        let (st, e) = s
            .post(
                &path,
                &quinn,
                json!({ "meaning": "approved", "password": password("quinn") }),
            )
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::LOCKED, Some("signing_locked")),
            "{e}"
        );
        assert_eq!(s.kinds_since(before).await, vec!["approval.refused"]);
        let kinds = s.kinds_since(0).await;
        assert_eq!(kinds.iter().filter(|k| *k == "reauth.locked").count(), 1, "{kinds:?}");

        let (st, v) = s.post("/api/v1/users/quinn/unlock", &ada, json!({})).await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let (st, a) = s
            .post(
                &path,
                &quinn,
                json!({ "meaning": "approved", "password": password("quinn") }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{a}");
        assert_eq!(a["printed_name"], "QUINN Example");

        // Guessing through sign-in counts too: five bad sign-ins lock quinn out of signing in
        // (and signing), even with the right password.
        let sign_in = |pw: String| {
            s.client
                .post(format!("{}/api/v1/sessions", s.base))
                .json(&json!({ "user": "quinn", "password": pw }))
                .send()
        };
        for _ in 0..ward_core::approval::LOCKOUT_FAILURES {
            let r = sign_in("guess-guess-guess".into()).await.expect("send");
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
        let r = sign_in(password("quinn")).await.expect("send");
        assert_eq!(r.status(), StatusCode::LOCKED);
        let other = s.change(&ci, &ci, json!({ "title": "Copy fix, take two" })).await;
        let (st, e) = s
            .post(
                &format!("/api/v1/changes/{other}/approvals"),
                &quinn,
                json!({ "meaning": "approved", "password": password("quinn") }),
            )
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::LOCKED, Some("signing_locked")),
            "{e}"
        );
    })
    .await;
}

/// Item 6c: an OIDC identity in the local directory's namespace is refused at load, so a local
/// password never signs for an OIDC person; providers' namespaces never overlap.
#[tokio::test]
async fn oidc_and_local_identities_never_merge() {
    let provider = |name: &str, identity: &str| ward_server::oidc::ProviderConfig {
        name: name.into(),
        issuer: format!("https://{name}.example"),
        audience: "ward".into(),
        jwks_file: None,
        jwks_url: None,
        kind: ActorKind::Human,
        identity: identity.into(),
        roles: vec![],
        leeway_secs: 0,
        printed_name_claim: "name".into(),
        client_id: None,
        client_secret: None,
        redirect_uri: None,
        authorization_endpoint: None,
        token_endpoint: None,
        device_authorization_endpoint: None,
        scopes: vec![],
    };
    for bad in ["user:{email}", "token:{sub}", "{email}", "local:{sub}"] {
        let e = ward_server::oidc::check_namespaces(&[provider("idp", bad)]).expect_err(bad);
        assert!(e.reason.contains("identity"), "{}", e.reason);
    }
    let e = ward_server::oidc::check_namespaces(&[provider("a", "staff:{email}"), provider("b", "staff:{sub}")])
        .expect_err("overlap");
    assert!(e.reason.contains("overlaps"), "{}", e.reason);
    ward_server::oidc::check_namespaces(&[provider("a", "staff:{email}"), provider("gh", "ci:github/{repository}")])
        .expect("apart");

    // A non-local identity cannot re-authenticate with a (local) password.
    let db = TestDb::sqlite();
    let s = start(&db).await;
    let staff = Identity {
        id: "staff:alice@example.org".into(),
        kind: ActorKind::Human,
        roles: vec![Role::Approver],
    };
    let creds = ward_app::reauth::Credentials {
        password: Some("alice-correct-horse-battery"),
        ..Default::default()
    };
    let r = ward_app::reauth::reauthenticate(&s.ledger, &staff, &creds, None, 1_800_000_000)
        .await
        .expect("no store error")
        .expect_err("refused");
    assert_eq!(r.code, "reauthentication_failed");
    db.cleanup().await;
}

/// Issue 15 (unscanned fields): a change title and a signature comment holding PHI are refused
/// naming the detector, never the value, and nothing is recorded.
#[tokio::test]
async fn phi_in_a_change_title_or_a_comment_is_refused_and_nothing_recorded() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let ci = s.automation("ci", &[Role::Developer]).await;
        let quinn = s.person("quinn", &[Role::Approver]).await;
        let before = s.size().await;
        let (st, e) = s
            .post(
                "/api/v1/changes",
                &ci,
                json!({ "title": "Fix export for Jane Roe, SSN 123-45-6789" }),
            )
            .await;
        assert_eq!((st, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("sensitive_content")), "{e}");
        assert!(!e.to_string().contains("123-45-6789"), "{e}");
        assert_eq!(s.size().await, before);
        let id = s.change(&ci, &ci, json!({ "title": "Export fix" })).await;
        let before = s.size().await;
        let (st, e) = s
            .post(
                &format!("/api/v1/changes/{id}/approvals"),
                &quinn,
                json!({ "meaning": "approved", "comment": "checked with patient 123-45-6789", "password": password("quinn") }),
            )
            .await;
        assert_eq!((st, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("sensitive_content")), "{e}");
        assert!(!e.to_string().contains("123-45-6789"), "{e}");
        assert_eq!(s.size().await, before);
    })
    .await;
}

/// Issue 15: fields no handler scanned (a ticket URL, paths, a user's printed name) and payloads
/// posted to the generic events API reached the log. Every new event now passes the guard on its
/// way in, whatever wrote it: refused with `sensitive_content`, no echo, nothing recorded.
#[tokio::test]
async fn phi_in_any_field_or_a_generic_event_never_reaches_the_log() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let ci = s.automation("ci", &[Role::Developer]).await;
        let ada = s.person("ada", &[Role::Admin]).await;
        let before = s.size().await;
        let refused = |st: StatusCode, e: &Value| {
            assert_eq!((st, e["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("sensitive_content")), "{e}");
            for secret in ["123-45-6789", "Jane", "AKIA", "1980-01-02"] {
                assert!(!e.to_string().contains(secret), "echoed: {e}");
            }
        };
        for event in [
            json!({ "kind": "build.finished", "subject": "build:1", "payload": { "note": "patient SSN 123-45-6789" } }),
            json!({ "kind": "build.finished", "subject": "build:2",
                    "payload": { "patient_name": "Jane Roe", "details": { "dob": "1980-01-02" } } }),
            json!({ "kind": "deploy.note", "subject": "build:3", "payload": { "key": "AKIAIOSFODNN7EXAMPLE" } }),
            json!({ "kind": "build.finished", "subject": "ssn:123-45-6789", "payload": {} }),
        ] {
            let (st, e) = s.post("/api/v1/events", &ci, event).await;
            refused(st, &e);
        }
        // Fields of Ward's own records that no handler scanned.
        let (st, e) = s
            .post(
                "/api/v1/changes",
                &ci,
                json!({ "title": "Export fix", "ticket_url": "https://tracker.example/JR?ssn=123-45-6789" }),
            )
            .await;
        refused(st, &e);
        let (st, e) = s
            .post(
                "/api/v1/changes",
                &ci,
                json!({ "title": "Export fix", "paths": ["exports/patient Jane Roe, DOB 1980-01-02.csv"] }),
            )
            .await;
        refused(st, &e);
        let (st, e) = s
            .post(
                "/api/v1/users",
                &ada,
                json!({ "name": "pat", "display_name": "Pat 123-45-6789", "roles": ["viewer"], "password": password("pat") }),
            )
            .await;
        refused(st, &e);
        assert_eq!(s.kinds_since(before).await, Vec::<String>::new());
        // Digests, commit ids and ordinary text pass.
        let (st, e) = s
            .post(
                "/api/v1/events",
                &ci,
                json!({ "kind": "build.finished", "subject": "build:4",
                        "payload": { "commit": "9fceb02d0ae598e95dc970b74767f19372d61af8", "digest": format!("sha256:{}", hex(0xab)),
                                     "started": "2026-12-03T10:00:00Z", "tests": 412 } }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{e}");
    })
    .await;
}

/// A PHI change opened by dana (`app/phi/…`, tagged `phi`), then updated by her to touch only
/// README.md: the CI token, the change's id and the updated change.
async fn phi_change_with_its_phi_path_dropped(s: &Server) -> (String, String, Value) {
    let ci = s.automation("ci", &[Role::Developer]).await;
    let dana = s.person("dana", &[Role::Developer]).await;
    let id = s
        .change(
            &dana,
            &ci,
            json!({ "title": "Records export", "paths": ["app/phi/records.py"] }),
        )
        .await;
    let (st, before) = s
        .call(Method::GET, &format!("/api/v1/changes/{id}"), &dana, json!(null))
        .await;
    assert_eq!(st, StatusCode::OK, "{before}");
    assert!(
        before["classification"]["tags"].to_string().contains("\"phi\""),
        "{before}"
    );
    let (st, c) = s
        .call(
            Method::PATCH,
            &format!("/api/v1/changes/{id}"),
            &dana,
            json!({ "paths": ["README.md"] }),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{c}");
    (ci, id, c)
}

/// Found attacking the build: the opener of a PHI change dropped its PHI path with an update and
/// the change fell to low, with no independent approver. An update never lowers the tier.
#[tokio::test]
async fn opener_cannot_downgrade_by_editing_paths() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let (_, _, c) = phi_change_with_its_phi_path_dropped(&s).await;
        assert_eq!(c["tier"], "high", "{c}");
        assert!(
            c["classification"]["matched"].to_string().contains("never lowers"),
            "{c}"
        );
    })
    .await;
}

/// Found walking the privacy review through: an editor dropping the PHI path kept the tier but
/// removed the `phi` tag, and with it the privacy officer's sign-off the checklist asked for.
/// An update never removes a tag: the gate still asks for the privacy review.
#[tokio::test]
async fn editor_cannot_drop_the_privacy_review_by_editing_paths() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let (ci, id, c) = phi_change_with_its_phi_path_dropped(&s).await;
        assert!(c["classification"]["tags"].to_string().contains("\"phi\""), "{c}");
        assert!(
            c["classification"]["matched"]
                .to_string()
                .contains("an update never removes a tag"),
            "{c}"
        );
        // The gate still asks for the privacy review.
        let (st, d) = s
            .post(
                &format!("/api/v1/changes/{id}/gate"),
                &ci,
                json!({ "environment": "prod" }),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{d}");
        assert_eq!(d["allow"], false, "{d}");
        assert!(d.to_string().contains("checklist.privacy-review"), "{d}");
    })
    .await;
}
