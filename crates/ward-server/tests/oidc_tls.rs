//! OIDC/JWT bearer tokens (RS256 and ES256 against a JWK set from a file and from a URL served
//! over loopback) and TLS termination with rustls, end to end over real HTTP(S).
//!
//! Keys in `tests/fixtures/` were generated once with Python `cryptography` (see its README).

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use ward_core::Role;
use ward_ledger::Ed25519Signer;
use ward_server::oidc::{JwtError, ProviderConfig, RoleRule, Verifier};
use ward_server::{AppState, serve};
use ward_store::Ledger;
use ward_store::testing::TestDb;

const GITHUB: &str = "https://token.actions.githubusercontent.com";
const IDP: &str = "https://idp.example.org";
const AUD: &str = "https://ward.example.org";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The signing rules of these tests: the given risk and approval rules, the built-in controls.
fn signing<'a>(
    risk: &'a ward_core::risk::RiskRules,
    rules: &'a ward_core::approval::ApprovalRules,
) -> ward_app::approvals::SigningRules<'a> {
    static CONTROLS: std::sync::LazyLock<ward_app::gate::Controls> = std::sync::LazyLock::new(Default::default);
    ward_app::approvals::SigningRules {
        risk,
        approvals: rules,
        checklist: &CONTROLS.checklist,
    }
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn sign(alg: Algorithm, key_file: &str, kid: &str, claims: &Value) -> String {
    let pem = std::fs::read(fixture(key_file)).expect("key");
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem).expect("rsa key"),
        _ => EncodingKey::from_ec_pem(&pem).expect("ec key"),
    };
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &key).expect("sign")
}

fn github_claims() -> Value {
    json!({
        "iss": GITHUB, "aud": AUD, "exp": now() + 300, "nbf": now() - 5, "iat": now() - 5,
        "sub": "repo:acme/api:ref:refs/heads/main", "repository": "acme/api",
        "ref": "refs/heads/main", "workflow": "release", "run_id": "4242", "actor": "octocat"
    })
}

fn providers(jwks_url: Option<String>) -> Vec<ProviderConfig> {
    vec![
        ProviderConfig {
            name: "github-actions".into(),
            issuer: GITHUB.into(),
            audience: AUD.into(),
            jwks_file: jwks_url.is_none().then(|| fixture("jwks.json")),
            jwks_url,
            kind: ward_ledger::ActorKind::Automation,
            identity: "ci:github/{repository}/{workflow}".into(),
            roles: vec![RoleRule {
                claim: "repository".into(),
                equals: Some("acme/api".into()),
                prefix: None,
                roles: vec![Role::Developer],
            }],
            leeway_secs: 0,
            printed_name_claim: "name".into(),
            client_id: None,
            client_secret: None,
            redirect_uri: None,
            authorization_endpoint: None,
            token_endpoint: None,
            device_authorization_endpoint: None,
            scopes: vec![],
        },
        ProviderConfig {
            name: "staff".into(),
            issuer: IDP.into(),
            audience: AUD.into(),
            jwks_file: Some(fixture("jwks.json")),
            jwks_url: None,
            kind: ward_ledger::ActorKind::Human,
            identity: "staff:{email}".into(),
            roles: vec![RoleRule {
                claim: "groups".into(),
                equals: Some("release-approvers".into()),
                prefix: None,
                roles: vec![Role::Approver, Role::Viewer],
            }],
            leeway_secs: 0,
            printed_name_claim: "name".into(),
            client_id: None,
            client_secret: None,
            redirect_uri: None,
            authorization_endpoint: None,
            token_endpoint: None,
            device_authorization_endpoint: None,
            scopes: vec![],
        },
    ]
}

#[tokio::test]
async fn github_actions_and_staff_tokens_map_to_identities() {
    let v = Verifier::new(providers(None)).await.expect("verifier");
    let id = v
        .verify(&sign(Algorithm::RS256, "rsa-1.pem", "rsa-1", &github_claims()))
        .await
        .expect("valid RS256");
    assert_eq!(id.id, "ci:github/acme/api/release");
    assert_eq!(id.kind, ward_ledger::ActorKind::Automation);
    assert_eq!(id.roles, vec![Role::Developer]);

    let staff = json!({"iss": IDP, "aud": AUD, "exp": now() + 300, "email": "alice@example.org", "groups": ["release-approvers"]});
    let id = v
        .verify(&sign(Algorithm::ES256, "ec-1.pem", "ec-1", &staff))
        .await
        .expect("valid ES256");
    assert_eq!(id.id, "staff:alice@example.org");
    assert_eq!(id.kind, ward_ledger::ActorKind::Human);
    assert_eq!(id.roles, vec![Role::Viewer, Role::Approver]);

    // Another repository authenticates but gets no role.
    let mut other = github_claims();
    other["repository"] = json!("acme/web");
    let id = v
        .verify(&sign(Algorithm::RS256, "rsa-1.pem", "rsa-1", &other))
        .await
        .expect("valid");
    assert!(id.roles.is_empty());
}

/// A person's address from the provider is compared with commit authors and kept in the log as
/// a signer: one plain address, as written (a helper's attack on the ninth session's head: a
/// full-width letter, a zero-width space, `Name <…>`, a comment, `%`-routing or a domain label
/// edged with `-` let an author sign her own change; a birth date or a phone number in the
/// address was kept in leaves). The refusal repeats none of it.
#[tokio::test]
async fn a_persons_address_ward_cannot_compare_or_keep_is_refused_at_sign_in() {
    let v = Verifier::new(providers(None)).await.expect("verifier");
    let staff = |email: &str| json!({"iss": IDP, "aud": AUD, "exp": now() + 300, "email": email, "groups": ["release-approvers"]});
    for email in [
        "\u{ff44}ana.smith@corp.com",
        "dana.smith\u{200b}@corp.com",
        "dana.smith@corp.com\u{ad}",
        "dana.smith\u{ff20}corp.com",
        "dana.sm\u{131}th@corp.com",
        "dana.smith(x)@corp.com",
        "Dana Smith <dana.smith@corp.com>",
        "dana.smith%corp.com@relay.corp.com",
        "dana.smith@xn--corp-.com",
        "jane.doe.1961-04-12@corp.com",
        "555.867.5309@vtext.com",
        // A second helper: the local part read as an author's is (one number, no month, no
        // Roman year), and an address spelled out.
        "jane.doe.1961.04@example.org",
        "jane.doe.dob.1961@example.org",
        "jane.doe.mcmlxi@example.org",
        "dana%40example.org",
        "dana at example.org",
    ] {
        let r = v
            .verify(&sign(Algorithm::ES256, "ec-1.pem", "ec-1", &staff(email)))
            .await;
        match r {
            Err(JwtError::Invalid(m)) => {
                assert!(!m.contains("dana") && !m.contains("1961") && !m.contains("5309"), "{m}")
            }
            other => panic!("{email:?}: {other:?}"),
        }
    }
    for email in ["dana.smith@corp.com", "Dana.Smith+ci@corp.com", "o'brien@corp.com"] {
        let id = v
            .verify(&sign(Algorithm::ES256, "ec-1.pem", "ec-1", &staff(email)))
            .await
            .expect(email);
        assert_eq!(id.id, format!("staff:{email}"));
    }
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let v = Verifier::new(providers(None)).await.expect("verifier");
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = github_claims();
        f(&mut c);
        sign(Algorithm::RS256, "rsa-1.pem", "rsa-1", &c)
    };
    assert_eq!(
        v.verify(&with(&|c| c["exp"] = json!(now() - 10))).await,
        Err(JwtError::Expired)
    );
    assert!(matches!(
        v.verify(&with(&|c| c["nbf"] = json!(now() + 600))).await,
        Err(JwtError::Invalid(_))
    ));
    assert!(matches!(
        v.verify(&with(&|c| c["aud"] = json!("someone-else"))).await,
        Err(JwtError::Invalid(_))
    ));
    assert_eq!(
        v.verify(&with(&|c| c["iss"] = json!("https://evil.example"))).await,
        Err(JwtError::UnknownIssuer)
    );
    assert!(matches!(
        v.verify(&with(&|c| {
            c.as_object_mut().expect("obj").remove("workflow");
        }))
        .await,
        Err(JwtError::MissingClaim(_))
    ));
    // Forged: signed by a key that is not in the set, under a trusted kid.
    let forged = sign(Algorithm::RS256, "rsa-attacker.pem", "rsa-1", &github_claims());
    assert!(matches!(v.verify(&forged).await, Err(JwtError::Invalid(_))));
    // Unknown kid; a key of the wrong type for the algorithm.
    assert_eq!(
        v.verify(&sign(Algorithm::RS256, "rsa-1.pem", "rsa-9", &github_claims()))
            .await,
        Err(JwtError::UnknownKey)
    );
    assert_eq!(
        v.verify(&sign(Algorithm::ES256, "ec-1.pem", "rsa-1", &github_claims()))
            .await,
        Err(JwtError::UnknownKey)
    );
    // HS256 with the public key as secret (algorithm confusion), and alg=none.
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &github_claims(),
        &EncodingKey::from_secret(&std::fs::read(fixture("jwks.json")).expect("jwks")),
    )
    .expect("hs");
    assert_eq!(v.verify(&hs).await, Err(JwtError::Algorithm));
    let none = format!(
        "{}.{}.",
        base64_url(br#"{"alg":"none","typ":"JWT"}"#),
        base64_url(github_claims().to_string().as_bytes())
    );
    assert!(v.verify(&none).await.is_err());
    assert_eq!(v.verify("not-a-jwt").await, Err(JwtError::Malformed));
    assert_eq!(v.verify(&"a".repeat(20_000)).await, Err(JwtError::Malformed));
}

fn base64_url(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

async fn start(state: AppState) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve(listener, state, async {
        let _ = rx.await;
    }));
    (base, tx)
}

async fn ledger(db: &TestDb) -> Ledger {
    let store = ward_store::open(&db.url).await.expect("store");
    Ledger::new(store, ward_app::projectors())
}

#[tokio::test]
async fn a_ci_job_appends_with_its_oidc_token_and_keys_come_from_a_url() {
    // The JWK set is served over loopback HTTP, as an IdP would.
    let jwks = std::fs::read_to_string(fixture("jwks.json")).expect("jwks");
    let idp = axum::Router::new().route(
        "/.well-known/jwks",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move { ([("content-type", "application/json")], jwks) }
        }),
    );
    let idp_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let idp_url = format!("http://{}/.well-known/jwks", idp_listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(idp_listener, idp).await });

    let db = TestDb::sqlite();
    let ledger = ledger(&db).await;
    let signer = Arc::new(Ed25519Signer::from_seed("test.ward/log", [4u8; 32]));
    let verifier = Verifier::new(providers(Some(idp_url))).await.expect("verifier");
    let state = AppState::new(ledger.clone(), signer, "test.ward/log".into()).with_oidc(verifier);
    let (base, _stop) = start(state).await;
    let client = reqwest::Client::new();
    let jwt = sign(Algorithm::RS256, "rsa-1.pem", "rsa-1", &github_claims());
    let resp = client
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(&jwt)
        .json(&json!({"kind": "build.finished", "subject": "build:4242", "payload": {"run_id": "4242"}}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let leaf = ledger.store().entries(0, 1).await.expect("entries").remove(0).leaf;
    assert!(
        String::from_utf8_lossy(&leaf).contains(r#""actor":{"id":"ci:github/acme/api/release","kind":"automation"}"#)
    );
    // A token from another repository authenticates but may not append.
    let mut other = github_claims();
    other["repository"] = json!("acme/web");
    let resp = client
        .post(format!("{base}/api/v1/events"))
        .bearer_auth(sign(Algorithm::RS256, "rsa-1.pem", "rsa-1", &other))
        .json(&json!({"kind": "a.b", "subject": "s"}))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    // An expired one is a 401 with the reason.
    let mut old = github_claims();
    old["exp"] = json!(now() - 60);
    let resp = client
        .get(format!("{base}/api/v1/whoami"))
        .bearer_auth(sign(Algorithm::RS256, "rsa-1.pem", "rsa-1", &old))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.expect("json");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("expired")));
}

#[tokio::test]
async fn tls_termination_with_rustls() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).expect("cert");
    let (cert_path, key_path) = (tmp.path().join("cert.pem"), tmp.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("write key");
    let config = ward_server::tls::load(&cert_path, &key_path).expect("tls config");

    let db = TestDb::sqlite();
    let signer = Arc::new(Ed25519Signer::from_seed("test.ward/log", [4u8; 32]));
    let state = AppState::new(ledger(&db).await, signer, "test.ward/log".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(ward_server::tls::serve(listener, state, config, async {
        let _ = rx.await;
    }));

    let ca = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).expect("ca");
    let client = reqwest::Client::builder().tls_certs_only([ca]).build().expect("client");
    let resp = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await
        .expect("https");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    // Auth still applies over TLS.
    let resp = client
        .get(format!("https://localhost:{port}/api/v1/log"))
        .send()
        .await
        .expect("https");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    // Plain HTTP to the TLS port gets no HTTP answer; a client that does not trust the
    // certificate refuses it.
    assert!(reqwest::get(format!("http://localhost:{port}/healthz")).await.is_err());
    assert!(reqwest::get(format!("https://localhost:{port}/healthz")).await.is_err());
    // Mismatched or missing files are clear errors.
    assert!(ward_server::tls::load(&cert_path, &cert_path).is_err());
    assert!(ward_server::tls::load(&tmp.path().join("nope.pem"), &key_path).is_err());
    let _ = tx.send(());
}

/// A person signed in through OIDC re-authenticates for a signature with a fresh token of their
/// own; an old token or someone else's is refused, and the refusal is recorded.
#[tokio::test]
async fn oidc_people_sign_with_a_fresh_token_of_their_own() {
    let db = TestDb::sqlite();
    let ledger = ledger(&db).await;
    let v = Verifier::new(providers(None)).await.expect("verifier");
    let staff = |email: &str, iat: i64| {
        sign(
            Algorithm::ES256,
            "ec-1.pem",
            "ec-1",
            &json!({"iss": IDP, "aud": AUD, "exp": now() + 600, "iat": iat, "auth_time": iat, "email": email, "name": "Alice Example", "groups": ["release-approvers"]}),
        )
    };
    // The same address held by two accounts at the provider (`sub`): an address reassigned.
    let account = |sub: &str| {
        sign(
            Algorithm::ES256,
            "ec-1.pem",
            "ec-1",
            &json!({"iss": IDP, "sub": sub, "aud": AUD, "exp": now() + 600, "iat": now(), "auth_time": now(), "email": "alice@example.org", "name": "Alice Example", "groups": ["release-approvers"]}),
        )
    };
    let alice = v.verify(&staff("alice@example.org", now())).await.expect("alice");
    let ci = ward_core::Identity {
        id: "token:ci".into(),
        kind: ward_ledger::ActorKind::Automation,
        roles: vec![Role::Developer],
    };
    let change = ward_app::changes::open(
        &ledger,
        &ci,
        &Default::default(),
        &ward_core::approval::ApprovalRules::default(),
        &ward_app::changes::ChangeRequest {
            title: "t".into(),
            kind: "normal".into(),
            ..Default::default()
        },
        false,
    )
    .await
    .expect("open");
    let sign_with = |token: String| ward_app::approvals::SignRequest {
        meaning: "approved".into(),
        reauth_token: Some(token),
        ..Default::default()
    };
    let (risk, rules) = (Default::default(), Default::default());
    let old = ward_app::approvals::sign(
        &ledger,
        &alice,
        &change.id,
        &sign_with(staff("alice@example.org", now() - 900)),
        &signing(&risk, &rules),
        &ward_app::reauth::Context {
            oidc: Some(&v),
            bearer_sha256: None,
            subject: None,
        },
    )
    .await
    .expect_err("an old token");
    assert_eq!(old.code, "reauthentication_failed");
    let bobs = ward_app::approvals::sign(
        &ledger,
        &alice,
        &change.id,
        &sign_with(staff("bob@example.org", now())),
        &signing(&risk, &rules),
        &ward_app::reauth::Context {
            oidc: Some(&v),
            bearer_sha256: None,
            subject: None,
        },
    )
    .await
    .expect_err("someone else's token");
    assert_eq!(bobs.code, "reauthentication_failed");
    // Alice is signed in as account alice-1 (her session or bearer says so): a fresh token of
    // account alice-2, which the template maps to the same identity, is not hers.
    let signed_in_as = format!("{IDP} alice-1");
    let other_account = ward_app::approvals::sign(
        &ledger,
        &alice,
        &change.id,
        &sign_with(account("alice-2")),
        &signing(&risk, &rules),
        &ward_app::reauth::Context {
            oidc: Some(&v),
            bearer_sha256: None,
            subject: Some(&signed_in_as),
        },
    )
    .await
    .expect_err("another account's token");
    assert_eq!(other_account.code, "reauthentication_failed");
    assert!(
        other_account.message.contains("another account"),
        "{}",
        other_account.message
    );
    let signed = ward_app::approvals::sign(
        &ledger,
        &alice,
        &change.id,
        &sign_with(account("alice-1")),
        &signing(&risk, &rules),
        &ward_app::reauth::Context {
            oidc: Some(&v),
            bearer_sha256: None,
            subject: Some(&signed_in_as),
        },
    )
    .await
    .expect("a fresh token of her own account");
    assert_eq!(
        (signed.reauth.as_str(), signed.signer.as_str()),
        ("oidc", "staff:alice@example.org")
    );
    let refusals = ledger
        .store()
        .entries(0, 100)
        .await
        .expect("entries")
        .iter()
        .filter(|e| String::from_utf8_lossy(&e.leaf).contains("\"kind\":\"approval.refused\""))
        .count();
    assert_eq!(refusals, 3);
    db.cleanup().await;
}

/// Item 6 of issue 14: the bearer JWT a request came with is not its own re-authentication, a
/// silently refreshed token is not one either, a token is good for one signature, and a provider
/// that sends no printed name cannot sign.
#[tokio::test]
async fn bearer_token_is_not_its_own_reauthentication_and_signatures_need_a_printed_name() {
    let db = TestDb::sqlite();
    let ledger = ledger(&db).await;
    let v = Verifier::new(providers(None)).await.expect("verifier");
    let token = |claims: Value| sign(Algorithm::ES256, "ec-1.pem", "ec-1", &claims);
    let bearer = token(json!({"iss": IDP, "aud": AUD, "exp": now() + 600, "iat": now(),
        "auth_time": now(), "email": "alice@example.org", "name": "Alice Example", "groups": ["release-approvers"]}));
    let alice = v.verify(&bearer).await.expect("alice");
    let ci = ward_core::Identity {
        id: "token:ci".into(),
        kind: ward_ledger::ActorKind::Automation,
        roles: vec![Role::Developer],
    };
    let change = ward_app::changes::open(
        &ledger,
        &ci,
        &Default::default(),
        &ward_core::approval::ApprovalRules::default(),
        &ward_app::changes::ChangeRequest {
            title: "t".into(),
            kind: "normal".into(),
            ..Default::default()
        },
        false,
    )
    .await
    .expect("open");
    let digest = ward_app::reauth::credential_digest(&bearer);
    let cx = ward_app::reauth::Context {
        oidc: Some(&v),
        bearer_sha256: Some(&digest),
        subject: None,
    };
    let sign_with = |t: String| ward_app::approvals::SignRequest {
        meaning: "approved".into(),
        reauth_token: Some(t),
        ..Default::default()
    };
    let (risk, rules) = (Default::default(), Default::default());
    let e = ward_app::approvals::sign(
        &ledger,
        &alice,
        &change.id,
        &sign_with(bearer.clone()),
        &signing(&risk, &rules),
        &cx,
    )
    .await
    .expect_err("the bearer itself");
    assert_eq!(e.code, "reauthentication_failed");
    assert!(e.message.contains("bearer"), "{}", e.message);
    // A fresh token without the name claim: refused, nothing signed.
    let nameless = token(json!({"iss": IDP, "aud": AUD, "exp": now() + 600, "iat": now(),
        "auth_time": now(), "email": "alice@example.org", "groups": ["release-approvers"]}));
    let e = ward_app::approvals::sign(
        &ledger,
        &alice,
        &change.id,
        &sign_with(nameless),
        &signing(&risk, &rules),
        &cx,
    )
    .await
    .expect_err("no printed name");
    assert_eq!(e.code, "printed_name_missing");
    // A silently refreshed token (fresh iat, but the person signed in long ago) is no
    // re-authentication.
    let refreshed = token(json!({"iss": IDP, "aud": AUD, "exp": now() + 602, "iat": now(),
        "auth_time": now() - 3600, "email": "alice@example.org", "name": "Alice Example", "groups": ["release-approvers"]}));
    let e = ward_app::approvals::sign(
        &ledger,
        &alice,
        &change.id,
        &sign_with(refreshed),
        &signing(&risk, &rules),
        &cx,
    )
    .await
    .expect_err("refreshed, not re-authenticated");
    assert_eq!(e.code, "reauthentication_failed");
    // A separate token from a fresh sign-in, with a name, signs, and the signature carries it.
    let fresh = token(json!({"iss": IDP, "aud": AUD, "exp": now() + 601, "iat": now(),
        "auth_time": now(), "email": "alice@example.org", "name": "Alice Example", "groups": ["release-approvers"]}));
    let a = ward_app::approvals::sign(
        &ledger,
        &alice,
        &change.id,
        &sign_with(fresh.clone()),
        &signing(&risk, &rules),
        &cx,
    )
    .await
    .expect("signed");
    assert_eq!(a.printed_name, "Alice Example");
    // The same token cannot sign twice.
    let e = ward_app::approvals::sign(
        &ledger,
        &alice,
        &change.id,
        &sign_with(fresh),
        &signing(&risk, &rules),
        &cx,
    )
    .await
    .expect_err("replayed");
    assert_eq!(e.code, "reauthentication_failed");
    assert!(e.message.contains("already used"), "{}", e.message);
    db.cleanup().await;
}
