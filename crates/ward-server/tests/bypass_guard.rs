//! Bypass tests for the guard's bounded work and its messages (issue 15 items 5 and 6), run
//! against SQLite and PostgreSQL through the service function the HTTP handler and local mode
//! call. Each refusal is asserted with its status and error code, with the log unchanged, and
//! with the value in which a finding was made absent from the message.

use std::time::{Duration, Instant};
use ward_app::{evidence, keys};
use ward_core::{Identity, Role};
use ward_ledger::ActorKind;
use ward_server::error::ApiError;
use ward_store::Ledger;
use ward_store::testing::TestDb;

fn ci() -> Identity {
    Identity {
        id: "token:ci".into(),
        kind: ActorKind::Automation,
        roles: vec![Role::Developer, Role::Admin],
    }
}

async fn stores() -> Vec<TestDb> {
    let mut out = vec![TestDb::sqlite()];
    out.extend(TestDb::postgres().await);
    out
}

async fn ledger_on(db: &TestDb) -> Ledger {
    Ledger::new(ward_store::open(&db.url).await.expect("store"), ward_app::projectors())
}

async fn size(ledger: &Ledger) -> u64 {
    ledger.head().await.expect("head").size()
}

/// A ledger with one registered artifact, and its digest.
async fn with_artifact(db: &TestDb) -> (Ledger, String) {
    let ledger = ledger_on(db).await;
    let d = format!("sha256:{}", "ab".repeat(32));
    evidence::register(
        &ledger,
        &ci(),
        &evidence::ArtifactRequest {
            digest: d.clone(),
            service: "patient-api".into(),
            version: "3.1.0".into(),
            commit: None,
            branch: None,
            build_id: None,
            build_url: None,
        },
    )
    .await
    .expect("register");
    (ledger, d)
}

fn refused<T: std::fmt::Debug>(
    r: Result<T, impl Into<ApiError> + std::fmt::Debug>,
    status: u16,
    code: &str,
) -> ApiError {
    let e: ApiError = r.expect_err("refused").into();
    assert_eq!((e.status.as_u16(), e.detail.code.as_str()), (status, code), "{e:?}");
    e
}

fn shown(e: &ApiError) -> String {
    format!("{} {}", e.detail.message, e.detail.hint)
}

/// The reported attack: a custom JSON document holding one long line of `dob 1980-01-02 `
/// repeated held a core for 18 s per MiB (575 s for 5 MiB) and ended in a 503. A 1 MiB line,
/// naming the patient, is now refused for what it holds, well inside the request timeout, and
/// nothing is recorded.
#[tokio::test]
async fn a_one_mib_birth_date_line_is_refused_inside_the_request_timeout() {
    for db in stores().await {
        let (ledger, d) = with_artifact(&db).await;
        let before = size(&ledger).await;
        let line = "dob 1980-01-02 ".repeat(1024 * 1024 / 15);
        let doc = format!(r#"{{"patient_name": "x", "note": "{line}"}}"#);
        let req = evidence::AttestationRequest::from_bytes(&d, "auto", "notes.json", doc.as_bytes(), false);
        let t = Instant::now();
        let e = refused(
            evidence::attest(&ledger, &ci(), &req, &Default::default()).await,
            422,
            "sensitive_content",
        );
        assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
        assert!(e.detail.message.contains("(dob-with-name)"), "{e:?}");
        assert!(!shown(&e).contains("1980"), "{e:?}");
        assert_eq!(size(&ledger).await, before, "nothing but the refusal");
    }
}

/// Parsing and scanning run under a work budget: when it runs out (here: a budget of zero)
/// the work stops, the request is refused as a timeout, and nothing is stored or recorded.
#[tokio::test]
async fn an_attestation_past_its_work_budget_is_stopped_and_records_nothing() {
    for db in stores().await {
        let (ledger, d) = with_artifact(&db).await;
        let before = size(&ledger).await;
        let junit = br#"<testsuite name="unit" tests="1" failures="0" errors="0"><testcase name="adds"/></testsuite>"#;
        let req = evidence::AttestationRequest::from_bytes(&d, "auto", "junit.xml", junit, false);
        refused(
            evidence::attest_within(&ledger, &ci(), &req, &Default::default(), Duration::ZERO).await,
            503,
            "timeout",
        );
        assert_eq!(size(&ledger).await, before, "nothing but the refusal");
        assert!(evidence::attestations(&ledger, &d).await.expect("list").is_empty());
        // With the ordinary budget the same document is accepted.
        evidence::attest(&ledger, &ci(), &req, &Default::default())
            .await
            .expect("attest");
    }
}

/// A file name is stored and repeated in every message about the file: PHI in it is refused
/// before anything else, and the refusal names the detectors only, never the name.
#[tokio::test]
async fn a_file_name_holding_phi_is_refused_without_repeating_it() {
    for db in stores().await {
        let (ledger, d) = with_artifact(&db).await;
        let before = size(&ledger).await;
        let name = "Jane Roe SSN 123-45-6789.json";
        let req = evidence::AttestationRequest::from_bytes(&d, "auto", name, br#"{"a": 1}"#, false);
        let e = refused(
            evidence::attest(&ledger, &ci(), &req, &Default::default()).await,
            422,
            "sensitive_content",
        );
        let text = shown(&e);
        assert!(text.contains("us-ssn"), "{e:?}");
        assert!(!text.contains("123-45-6789") && !text.contains("Jane"), "{e:?}");
        assert_eq!(size(&ledger).await, before, "nothing but the refusal");
    }
}

/// A parser may quote what it decoded: a JSON key written with `\u` escapes passed the raw
/// scan, and the schema's refusal named the key's path (its message is withheld then, detectors
/// only). The guard now reads the escapes decoded, so the document is refused before the parser
/// runs, naming the decoding and never the value.
#[tokio::test]
async fn a_decoded_ssn_in_a_json_key_is_refused_before_a_parser_can_quote_it() {
    for db in stores().await {
        let (ledger, d) = with_artifact(&db).await;
        keys::register_type(
            &ledger,
            &ci(),
            &keys::TypeRequest {
                name: "notes".into(),
                schema: serde_json::json!({
                    "type": "object",
                    "properties": {"p": {"type": "object", "additionalProperties": {"type": "integer"}}}
                }),
            },
        )
        .await
        .expect("type");
        let before = size(&ledger).await;
        let doc = br#"{"p": {"123\u002d45\u002d6789": "x"}}"#;
        let req = evidence::AttestationRequest::from_bytes(&d, "custom:notes", "notes.json", doc, false);
        let e = refused(
            evidence::attest(&ledger, &ci(), &req, &Default::default()).await,
            422,
            "sensitive_content",
        );
        let text = shown(&e);
        assert!(!text.contains("123-45-6789") && !text.contains("6789"), "{e:?}");
        assert!(text.contains("us-ssn, decoded: escape"), "{e:?}");
        assert_eq!(size(&ledger).await, before, "nothing but the refusal");
    }
}
