//! Encoded PHI and secrets through HTTP (issue 15 items 1 and 11): evidence and titles that hide
//! a value behind XML character references, JSON `\u` escapes, split CDATA sections, base64 or
//! Cyrillic look-alikes are refused with 422 `sensitive_content`, the response holds the value in
//! no form, and the log holds no new entry — on SQLite and PostgreSQL, over loopback.

use base64::Engine as _;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use ward_app::identities::{self, TokenRequest};
use ward_core::{Identity, Role};
use ward_ledger::{ActorKind, Ed25519Signer};
use ward_server::{AppState, serve};
use ward_store::Ledger;
use ward_store::testing::TestDb;

struct Server {
    base: String,
    ledger: Ledger,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(db: &TestDb) -> Server {
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
        _stop: tx,
    }
}

impl Server {
    async fn token(&self, roles: &[Role]) -> String {
        let operator = Identity {
            id: "local:test".into(),
            kind: ActorKind::Human,
            roles: vec![Role::Admin],
        };
        identities::create_token(
            &self.ledger,
            &operator,
            &TokenRequest {
                name: "ci".into(),
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

    /// Status and the raw response body.
    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, String) {
        let resp = self
            .client
            .request(Method::POST, format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("send");
        (resp.status(), resp.text().await.expect("body"))
    }

    async fn size(&self) -> u64 {
        self.ledger.head().await.expect("head").size()
    }
}

async fn stores() -> Vec<TestDb> {
    let mut out = vec![TestDb::sqlite()];
    out.extend(TestDb::postgres().await);
    out
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Each attack: what to send where, and every form of the value the response must not hold.
fn attacks(digest: &str) -> Vec<(&'static str, &'static str, Value, Vec<String>)> {
    let ssn = "123-45-6789";
    let attest = |file: &str, doc: &str| json!({ "artifact": digest, "file_name": file, "content_base64": b64(doc) });
    let junit_refs = "<testsuite name=\"api\" tests=\"1\"><testcase classname=\"t\" name=\"export 123&#x2D;45&#x2D;6789\"/></testsuite>";
    let custom = "{\n  \"run\": 7,\n  \"note\": \"record 123\\u002d45\\u002d6789\"\n}\n";
    let cdata = "<testsuite name=\"api\" tests=\"1\"><testcase classname=\"t\" name=\"x\"><system-out><![CDATA[123-45]]><![CDATA[-6789]]></system-out></testcase></testsuite>";
    let hidden = b64("SSN 123-45-6789");
    let sarif = format!(
        "{{\"version\":\"2.1.0\",\"runs\":[{{\"tool\":{{\"driver\":{{\"name\":\"semgrep\"}}}},\"results\":[{{\"ruleId\":\"r\",\"message\":{{\"text\":\"blob {hidden}\"}}}}]}}]}}"
    );
    let key = format!(
        "k={}",
        b64("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n")
    );
    let forms = |extra: &[&str]| {
        let mut v: Vec<String> = vec![ssn.into(), "6789".into()];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    vec![
        (
            "junit-char-refs",
            "/api/v1/attestations",
            attest("junit.xml", junit_refs),
            forms(&["123&#x2D;45", "&#x2D;6789"]),
        ),
        (
            "custom-json-u-escapes",
            "/api/v1/attestations",
            attest("custom.json", custom),
            forms(&["\\u002d6789", "123\\u002d45"]),
        ),
        (
            "junit-split-cdata",
            "/api/v1/attestations",
            attest("cdata.xml", cdata),
            forms(&["123-45]]", "-6789"]),
        ),
        (
            "sarif-base64",
            "/api/v1/attestations",
            attest("scan.sarif", &sarif),
            forms(&[&hidden]),
        ),
        (
            "custom-json-base64-key",
            "/api/v1/attestations",
            attest("blob.json", &format!("{{\"v\": \"{key}\"}}")),
            forms(&["PRIVATE KEY", "MIIEvQIBADAN", &key[2..]]),
        ),
        (
            "file-name-char-refs",
            "/api/v1/attestations",
            attest("ssn-123&#x2D;45&#x2D;6789.xml", "<testsuite name=\"a\" tests=\"0\"/>"),
            forms(&["&#x2D;6789"]),
        ),
        (
            "cyrillic-title",
            "/api/v1/changes",
            json!({ "title": "Fix export for ЅЅN 123 45 6789" }),
            forms(&["123 45 6789", "ЅЅN"]),
        ),
        (
            "cyrillic-dob-title",
            "/api/v1/changes",
            json!({ "title": "Export for Jane Roe, DОB 1980-01-02" }),
            vec!["1980-01-02".into(), "1980".into(), "Jane".into()],
        ),
        (
            "fullwidth-title",
            "/api/v1/changes",
            json!({ "title": "Ticket for ssn １２３-４５-６７８９" }),
            vec!["１２３".into(), "６７８９".into()],
        ),
        (
            "zero-width-title",
            "/api/v1/changes",
            json!({ "title": "Ticket for 123\u{200B}-45-6789" }),
            vec!["6789".into(), "45-67".into()],
        ),
    ]
}

#[tokio::test]
async fn encoded_phi_is_refused_over_http_without_echo_and_nothing_is_recorded() {
    for db in stores().await {
        let s = start(&db).await;
        let token = s.token(&[Role::Developer]).await;
        let digest = format!("sha256:{}", "ab".repeat(32));
        let (st, body) = s
            .post(
                "/api/v1/artifacts",
                &token,
                json!({ "digest": digest, "service": "patient-api", "version": "3.1.0" }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{body}");
        let mut failures = Vec::new();
        for (name, path, body, forms) in attacks(&digest) {
            let before = s.size().await;
            let (st, text) = s.post(path, &token, body).await;
            let code = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
                v.pointer("/error/code")
                    .or_else(|| v.pointer("/code"))
                    .and_then(Value::as_str)
                    .map(String::from)
            });
            if (st, code.as_deref()) != (StatusCode::UNPROCESSABLE_ENTITY, Some("sensitive_content")) {
                failures.push(format!("{name}: {st} {text}"));
            }
            if let Some(form) = forms.iter().find(|f| text.contains(f.as_str())) {
                failures.push(format!("{name}: the response holds {form:?}"));
            }
            if s.size().await != before {
                failures.push(format!("{name}: the log grew"));
            }
        }
        assert!(failures.is_empty(), "{}: {failures:#?}", db.url);
        db.cleanup().await;
    }
}

/// The refusal says which decoding revealed the value, so the person fixing the report knows
/// where to look — and still names no value.
#[tokio::test]
async fn a_refusal_names_the_decoding_and_redaction_removes_the_encoded_span() {
    let db = TestDb::sqlite();
    let s = start(&db).await;
    let token = s.token(&[Role::Developer]).await;
    let digest = format!("sha256:{}", "cd".repeat(32));
    let (st, _) = s
        .post(
            "/api/v1/artifacts",
            &token,
            json!({ "digest": digest, "service": "patient-api", "version": "3.1.1" }),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);
    let doc = "<testsuite name=\"api\" tests=\"1\" failures=\"0\">\n<testcase classname=\"t\" name=\"export 123&#x2D;45&#x2D;6789\"/>\n</testsuite>\n";
    let req = |redact: bool| json!({ "artifact": digest, "file_name": "junit.xml", "redact": redact, "content_base64": b64(doc) });
    let (st, text) = s.post("/api/v1/attestations", &token, req(false)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
    assert!(
        text.contains("line 2") && text.contains("us-ssn") && text.contains("decoded: xml"),
        "{text}"
    );
    let (st, text) = s.post("/api/v1/attestations", &token, req(true)).await;
    assert_eq!(st, StatusCode::CREATED, "{text}");
    let att: Value = serde_json::from_str(&text).expect("json");
    let stored = s
        .ledger
        .store()
        .evidence(att["id"].as_str().expect("id"))
        .await
        .expect("read")
        .expect("stored");
    let stored = String::from_utf8(stored).expect("utf-8");
    assert!(stored.contains("name=\"export [REDACTED:us-ssn]\""), "{stored}");
    assert!(!stored.contains("6789") && !text.contains("6789"), "{stored}");
    db.cleanup().await;
}
