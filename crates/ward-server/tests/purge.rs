//! Issue 15 items 2 and 3: people's free text lives beside the log, and a text that should
//! never have been recorded is purged by two people without breaking the chain. Through the
//! real HTTP API on loopback, against SQLite and PostgreSQL.
//!
//! The planted marker `PLANTED-7f3a9c` stands in for PHI that slipped past the guard (it is not
//! PHI-shaped, so the guard lets it in).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use ward_app::identities::{self, TokenRequest, UserRequest};
use ward_core::{Identity, Role};
use ward_ledger::{ActorKind, Ed25519Signer, EventEnvelope, Payload};
use ward_server::{AppState, serve};
use ward_store::Ledger;
use ward_store::testing::TestDb;

const ORIGIN: &str = "test.ward/log";
const MARKER: &str = "PLANTED-7f3a9c";

struct Server {
    base: String,
    ledger: Ledger,
    client: reqwest::Client,
    _stop: tokio::sync::oneshot::Sender<()>,
}

fn signer() -> Ed25519Signer {
    Ed25519Signer::from_seed(ORIGIN, [3u8; 32])
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
    let state = AppState::new(ledger.clone(), Arc::new(signer()), ORIGIN.into());
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
    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status();
        let text = resp.text().await.expect("body");
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        match v.get("error") {
            Some(e) if !status.is_success() => (status, e.clone()),
            _ => (status, v),
        }
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    /// A person with `roles`, signed in with their password.
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

    async fn envelopes(&self) -> Vec<(Vec<u8>, EventEnvelope)> {
        let size = self.ledger.store().head().await.expect("head").size();
        self.ledger
            .store()
            .entries(0, size)
            .await
            .expect("entries")
            .into_iter()
            .map(|e| {
                let env = EventEnvelope::from_leaf(&e.leaf).expect("envelope");
                (e.leaf, env)
            })
            .collect()
    }

    /// The chain is whole: fsck is clean, and a new export (in the returned directory's
    /// `export`) passes the offline verifier, whose report is returned.
    async fn fsck_and_verified_export(&self) -> (tempfile::TempDir, ward_ledger::export::VerifyReport) {
        let sg = signer();
        let fsck = self
            .ledger
            .fsck(Some(&sg.verifier()), ORIGIN, &|_, _| {})
            .await
            .expect("fsck");
        assert!(fsck.ok(), "{:?}", fsck.problems);
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("export");
        self.ledger.export(&dir, &sg, ORIGIN, &|_, _| {}).await.expect("export");
        let report = ward_ledger::export::verify_export(&dir, &sg.verifier()).expect("verifies");
        (tmp, report)
    }

    async fn purge(&self, digest: &str, token: &str, pw: Option<&str>) -> (StatusCode, Value) {
        let mut body = json!({ "reason": "a patient identifier was typed into a change title" });
        if let Some(p) = pw {
            body["password"] = json!(p);
        }
        self.post(&format!("/api/v1/documents/{digest}/purge"), token, body)
            .await
    }
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

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Files under `dir` (recursively) that contain `needle`.
fn grep_dir(dir: &std::path::Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    for e in std::fs::read_dir(dir).expect("read dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            hits.extend(grep_dir(&p, needle));
        } else if std::fs::read(&p).is_ok_and(|d| contains(&d, needle)) {
            hits.push(p.display().to_string());
        }
    }
    hits
}

/// PHI that slipped into a change title is purged by two people: one privacy officer alone
/// only requests it, the same person cannot complete it, a second person does; the document
/// is gone from the store (no byte left in the SQLite files after the scrub), `ward verify` of
/// a new export passes and names the purging entry, fsck is clean, and the change still reads
/// with its title marked purged. Developers and approvers get 403; automation cannot purge.
#[tokio::test]
async fn planted_text_is_purged_by_two_people_and_no_byte_remains() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let ci = s.automation("ci", &[Role::Developer]).await;
        let dana = s.person("dana", &[Role::Developer]).await;
        let quinn = s.person("quinn", &[Role::Approver]).await;
        let priya = s.person("priya", &[Role::PrivacyOfficer]).await;
        let olga = s.person("olga", &[Role::PrivacyOfficer]).await;
        let robot = s.automation("purger", &[Role::PrivacyOfficer]).await;
        let art = format!("sha256:{}", "ab".repeat(32));
        let (st, v) = s
            .post(
                "/api/v1/artifacts",
                &ci,
                json!({ "digest": art, "service": "patient-api", "version": "1.0.0" }),
            )
            .await;
        assert!(st.is_success(), "{v}");
        let (st, v) = s
            .post(
                "/api/v1/changes",
                &dana,
                json!({ "title": format!("Fix {MARKER} lookup"), "description": "Index the clinic table",
                    "artifacts": [art] }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().expect("id").to_string();
        let (_, shown) = s.get(&format!("/api/v1/changes/{id}"), &dana).await;
        assert_eq!(shown["title"], format!("Fix {MARKER} lookup"), "the API shows the text");
        assert_eq!(shown["description"], "Index the clinic table");

        // The leaf holds a reference, never the text.
        let envs = s.envelopes().await;
        let (leaf, opened) = envs
            .iter()
            .find(|(_, e)| e.kind == "change.opened")
            .expect("change.opened");
        assert!(!contains(leaf, MARKER), "the title is not in the log");
        let Payload::Inline(p) = &opened.payload else {
            panic!("inline payload")
        };
        let reference = p["title"].as_str().expect("title").to_string();
        let digest = ward_ledger::documents::parse_reference(&reference).expect("a reference");
        assert!(s.ledger.store().document(&digest).await.expect("doc").is_some());

        // A tool's file name lives beside the log too; the API shows it.
        use base64::Engine;
        let junit = r#"<testsuite name="s" tests="1" failures="0"><testcase name="t"/></testsuite>"#;
        let (st, v) = s
            .post(
                "/api/v1/attestations",
                &ci,
                json!({ "artifact": art, "file_name": "report-FN-4c1d.xml",
                    "content_base64": base64::engine::general_purpose::STANDARD.encode(junit) }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let (_, view) = s.get(&format!("/api/v1/artifacts/{art}"), &dana).await;
        assert_eq!(view["attestations"][0]["file_name"], "report-FN-4c1d.xml", "{view}");
        let envs = s.envelopes().await;
        let (leaf, _) = envs
            .iter()
            .find(|(_, e)| e.kind == "attestation.added")
            .expect("attestation.added");
        assert!(!contains(leaf, "FN-4c1d"), "the file name is not in the log");

        // Attacks: roles without the purge action, automation, forged events, unknown digests.
        for token in [&dana, &quinn] {
            let (st, e) = s.purge(&digest, token, None).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
            assert_eq!(e["code"], "forbidden");
        }
        let (st, e) = s.purge(&digest, &robot, None).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("person_required"))
        );
        // A privacy officer finds every copy first; the text sought is never answered back,
        // and nobody else may look (a developer by the route, automation by the rule).
        let sought = json!({ "text": MARKER.to_lowercase() });
        let (st, found) = s.post("/api/v1/documents/find", &priya, sought.clone()).await;
        assert_eq!(st, StatusCode::OK, "{found}");
        assert_eq!(found["holding"][0]["digest"], digest, "{found}");
        assert_eq!(found["holding"][0]["of"], "document", "{found}");
        assert!(
            !found.to_string().to_lowercase().contains(&MARKER.to_lowercase()),
            "{found}"
        );
        let (st, e) = s.post("/api/v1/documents/find", &dana, sought.clone()).await;
        assert_eq!((st, e["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
        let (st, e) = s.post("/api/v1/documents/find", &robot, sought).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("person_required"))
        );
        for body in [
            json!({ "kind": "document.purged", "subject": "x", "payload": { "digest": digest } }),
            json!({ "kind": "test.note", "subject": "x", "payload": { "see": reference } }),
        ] {
            let (st, e) = s.post("/api/v1/events", &ci, body).await;
            assert_eq!(st, StatusCode::FORBIDDEN, "{e}");
            assert!(e["code"] == "reserved_kind" || e["code"] == "reserved_reference", "{e}");
        }
        let unknown = format!("sha256:{}", "0".repeat(64));
        // A title that is a reference would point the log at a document never stored.
        let (st, e) = s
            .post(
                "/api/v1/changes",
                &dana,
                json!({ "title": format!("doc:{unknown}"), "artifacts": [art] }),
            )
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("reserved_reference"))
        );
        let (st, _) = s.purge(&unknown, &priya, Some(&password("priya"))).await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        let (st, _) = s.purge("sha256:XYZ", &priya, Some(&password("priya"))).await;
        assert_eq!(st, StatusCode::BAD_REQUEST);

        if let Some(path) = db.url.strip_prefix("sqlite://") {
            let data_dir = std::path::Path::new(path).parent().expect("dir");
            assert!(
                !grep_dir(data_dir, MARKER).is_empty(),
                "the search can see the text before"
            );
        }

        // One privacy officer: a request, nothing deleted; the same person again: refused.
        let (st, e) = s.purge(&digest, &priya, None).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("reauthentication_required"))
        );
        let (st, req) = s.purge(&digest, &priya, Some(&password("priya"))).await;
        assert_eq!(st, StatusCode::CREATED, "{req}");
        assert_eq!(req["status"], "requested");
        assert!(s.ledger.store().document(&digest).await.expect("doc").is_some());
        let (st, e) = s.purge(&digest, &priya, Some(&password("priya"))).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("second_person_required"))
        );
        assert!(s.ledger.store().document(&digest).await.expect("doc").is_some());
        let (st, e) = s.purge(&digest, &olga, Some("wrong password")).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{e}");
        assert!(s.ledger.store().document(&digest).await.expect("doc").is_some());

        // A second person completes it.
        let (st, done) = s.purge(&digest, &olga, Some(&password("olga"))).await;
        assert_eq!(st, StatusCode::CREATED, "{done}");
        assert_eq!(done["status"], "purged");
        assert_eq!(done["request_seq"], req["seq"]);
        assert_eq!(done["requested_by"], "user:priya");
        assert_eq!(done["purged_by"], "user:olga");
        let purged_seq = done["seq"].as_u64().expect("seq");
        assert_eq!(s.ledger.store().document(&digest).await.expect("doc"), None);
        let (st, e) = s.purge(&digest, &olga, Some(&password("olga"))).await;
        assert_eq!((st, e["code"].as_str()), (StatusCode::CONFLICT, Some("already_purged")));

        // The change still reads; its title is marked purged, its description is intact.
        let (st, shown) = s.get(&format!("/api/v1/changes/{id}"), &dana).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(shown["title"], format!("[purged by entry {purged_seq}]"));
        assert_eq!(shown["description"], "Index the clinic table");

        // The chain is whole: fsck, a new export and the offline verifier.
        let (tmp, report) = s.fsck_and_verified_export().await;
        let dir = tmp.path().join("export");
        assert_eq!(
            report.purged,
            vec![ward_ledger::export::PurgedDocument {
                digest: digest.clone(),
                purged_by: purged_seq
            }]
        );
        assert!(report.documents >= 2, "description and reasons travel with the export");
        assert_eq!(grep_dir(&dir, MARKER), Vec::<String>::new(), "marker in the export");
        // No byte of it in the database.
        for (leaf, _) in s.envelopes().await {
            assert!(!contains(&leaf, MARKER));
        }
        if let Some(path) = db.url.strip_prefix("sqlite://") {
            let data_dir = std::path::Path::new(path).parent().expect("dir");
            assert_eq!(
                grep_dir(data_dir, MARKER),
                Vec::<String>::new(),
                "marker in the database files"
            );
        }
    })
    .await;
}

/// A tool's text inside a parsed summary (failing test names, suite names) lives beside the
/// log like a file name: the leaf holds references and a keyed `suite_key`, the API shows the
/// names, and two reports of the same suites share a key (so a rerun still supersedes a
/// failing report) while another suite's key differs and no key is a plain hash of the names.
#[tokio::test]
async fn a_tools_text_in_a_summary_never_reaches_the_log() {
    both(async |db: &TestDb| {
        use base64::Engine;
        let s = start(db).await;
        let ci = s.automation("ci", &[Role::Developer]).await;
        let dana = s.person("dana", &[Role::Developer]).await;
        let art = format!("sha256:{}", "cd".repeat(32));
        let (st, v) = s
            .post(
                "/api/v1/artifacts",
                &ci,
                json!({ "digest": art, "service": "patient-api", "version": "1.0.0" }),
            )
            .await;
        assert!(st.is_success(), "{v}");
        let report = |suite: &str, failing: bool| {
            let case = if failing {
                format!(r#"<testcase classname="c" name="{MARKER}-case"><failure message="x"/></testcase>"#)
            } else {
                format!(r#"<testcase classname="c" name="{MARKER}-case"/>"#)
            };
            let xml = format!(
                r#"<testsuite name="{suite}" tests="1" failures="{}">{case}</testsuite>"#,
                u8::from(failing)
            );
            base64::engine::general_purpose::STANDARD.encode(xml)
        };
        let mut keys = Vec::new();
        for (n, (suite, failing)) in [("SUITE-9e2b", true), ("SUITE-9e2b", false), ("SUITE-other", false)]
            .into_iter()
            .enumerate()
        {
            let (st, v) = s
                .post(
                    "/api/v1/attestations",
                    &ci,
                    json!({ "artifact": art, "file_name": format!("r{n}.xml"), "content_base64": report(suite, failing) }),
                )
                .await;
            assert_eq!(st, StatusCode::CREATED, "{v}");
            assert_eq!(v["summary"]["suite_names"][0], suite, "the answer shows the names: {v}");
        }
        let (_, view) = s.get(&format!("/api/v1/artifacts/{art}"), &dana).await;
        let shown = view["attestations"].as_array().expect("attestations");
        assert!(
            shown.iter().any(|a| a["summary"]["failing"][0] == format!("c::{MARKER}-case")),
            "the API shows the failing test: {view}"
        );
        for (leaf, env) in s.envelopes().await {
            if env.kind != "attestation.added" {
                continue;
            }
            assert!(!contains(&leaf, MARKER), "no test name in the log");
            assert!(!contains(&leaf, "SUITE-"), "no suite name in the log");
            let Payload::Inline(p) = &env.payload else {
                panic!("inline payload")
            };
            for name in p["summary"]["suite_names"].as_array().expect("names") {
                assert!(ward_ledger::documents::parse_reference(name.as_str().expect("str")).is_some());
            }
            keys.push(p["summary"]["suite_key"].as_str().expect("suite_key").to_string());
        }
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[0], keys[1], "a rerun of the same suites has the same key");
        assert_ne!(keys[0], keys[2], "another suite has another key");
        let plain = ward_evidence::digest::of_bytes(br#"["SUITE-9e2b"]"#);
        let plain = plain.trim_start_matches("sha256:");
        assert!(!keys[0].contains(plain), "the key is not a plain hash of the names");

        // The raw document holds the same test name. Readable until that text is purged; once
        // it is, the document is withheld too (the purge reaches what the text was copied from).
        let first = shown
            .iter()
            .find(|a| a["file_name"] == "r0.xml")
            .expect("the first report");
        let raw = format!("/api/v1/evidence/{art}/{}", first["id"].as_str().expect("id"));
        let (st, doc) = s.get(&raw, &dana).await;
        assert_eq!(st, StatusCode::OK, "{doc}");
        let (_, env) = s
            .envelopes()
            .await
            .into_iter()
            .find(|(_, e)| e.kind == "attestation.added")
            .expect("the first attestation");
        let Payload::Inline(p) = &env.payload else {
            panic!("inline payload")
        };
        let name_ref = p["summary"]["suite_names"][0].as_str().expect("a reference");
        let digest = ward_ledger::documents::parse_reference(name_ref).expect("reference");
        let priya = s.person("priya", &[Role::PrivacyOfficer]).await;
        let olga = s.person("olga", &[Role::PrivacyOfficer]).await;
        let (st, e) = s.purge(&digest, &priya, Some(&password("priya"))).await;
        assert!(st.is_success(), "{e}");
        let (st, e) = s.purge(&digest, &olga, Some(&password("olga"))).await;
        assert!(st.is_success(), "{e}");
        let (st, e) = s.get(&raw, &dana).await;
        assert_eq!(st, StatusCode::CONFLICT, "{e}");
        assert_eq!(e["code"], "document_purged", "{e}");
        assert!(!e.to_string().contains(MARKER), "{e}");
    })
    .await;
}

/// A caller's event (`POST /api/v1/events`, one or a batch) is text Ward cannot tell from
/// structure: its whole payload (keys, strings, numbers) and its subject are stored beside the
/// log, the leaf holds their references and the subject's keyed fingerprint (the kind stays), so
/// text that slipped past the guard — in the payload, or a name and a birth date of this century
/// in the subject, which the identifier rules cannot tell from a release — is purged by two
/// people; afterwards no byte of it is in the log, the database files or a new export, and the
/// export still verifies.
#[tokio::test]
async fn text_slipped_into_a_submitted_event_is_purged_and_the_export_verifies() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let ci = s.automation("ci", &[Role::Developer]).await;
        let priya = s.person("priya", &[Role::PrivacyOfficer]).await;
        let olga = s.person("olga", &[Role::PrivacyOfficer]).await;
        let one = json!({ "kind": "ticket.noted", "subject": "ticket:7",
            "payload": { "note": format!("call {MARKER} back"), "count": 3, "urgent": true } });
        let (st, v) = s.post("/api/v1/events", &ci, one).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let batch = json!([
            { "kind": "ticket.noted", "subject": "ticket:8", "payload": { "lines": ["ok", { "text": format!("{MARKER}-2") }] } },
            { "kind": "ticket.closed", "subject": "ticket:8" },
        ]);
        let (st, v) = s.post("/api/v1/events", &ci, batch).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        assert_eq!(v["appended"].as_array().map(Vec::len), Some(2), "{v}");
        // A child's surname, initial and birth date as a subject: a release's name and date to
        // the identifier rules (Known gaps), stored beside the log.
        let planted_subject = format!("patient:roe-j-2015-04-12-{MARKER}");
        let (st, v) = s
            .post("/api/v1/events", &ci, json!({ "kind": "ticket.noted", "subject": planted_subject }))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        // A subject naming a record by Ward's id holds no caller's text: it stays (a bundle or
        // a search by the artifact finds the event); one naming no record is a text.
        let art = format!("sha256:{}", "e7".repeat(32));
        let (st, v) = s
            .post("/api/v1/artifacts", &ci, json!({ "digest": art, "service": "patient-api", "version": "1.0.0" }))
            .await;
        assert!(st.is_success(), "{v}");
        let unknown = format!("artifact:sha256:{}", "e8".repeat(32));
        for subject in [format!("artifact:{art}"), unknown.clone()] {
            let (st, v) = s.post("/api/v1/events", &ci, json!({ "kind": "scan.noted", "subject": subject })).await;
            assert_eq!(st, StatusCode::CREATED, "{v}");
        }
        // A caller's kind is in the leaf as its fingerprint under the installation's key.
        let key = ward_app::redaction::installation_key(s.ledger.store().as_ref())
            .await
            .expect("key");
        let leaf_kind = |kind: &str| ward_app::ops::kind_in_leaf(&key, kind);
        let noted: Vec<String> = s
            .envelopes()
            .await
            .into_iter()
            .filter(|(_, e)| e.kind == leaf_kind("scan.noted"))
            .map(|(_, e)| e.subject)
            .collect();
        assert_eq!(noted.len(), 2, "{noted:?}");
        assert_eq!(noted[0], format!("artifact:{art}"));
        assert!(noted[1].starts_with("submitted:hmac-sha256:"), "{noted:?}");

        // A name as a key or a birth date as numbers would be text in the leaf: the whole
        // payload is stored beside it. A subject holding text and a payload longer than a
        // document are refused.
        let (st, v) = s
            .post(
                "/api/v1/events",
                &ci,
                json!({ "kind": "ticket.noted", "subject": "ticket:10",
                    "payload": { format!("{MARKER}_as_a_key"): { "born": [1961, 4, 12] } } }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let huge = "a".repeat(1 << 20);
        for (attack, body) in [
            ("text as a subject", json!({ "kind": "ticket.noted", "subject": "Jane Roe follow-up", "payload": {} })),
            ("a payload longer than a document", json!({ "kind": "ticket.noted", "subject": "ticket:9", "payload": { "v": huge } })),
        ] {
            let (st, e) = s.post("/api/v1/events", &ci, body).await;
            assert_eq!((st, e["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{attack}: {e}");
        }
        // A kind is a caller's text too (a helper's attack on `1d87e6e`: a patient's name in
        // words, a number): stored beside the log, the leaf holds its fingerprint.
        for kind in ["ticket.5551234567", "patient.jane.roe.admitted"] {
            let (st, v) = s.post("/api/v1/events", &ci, json!({ "kind": kind, "subject": "ticket:11" })).await;
            assert_eq!(st, StatusCode::CREATED, "{v}");
        }
        // Attack round 6: an SSN, MRN or phone number in a subject or a kind after its label or
        // in its shape (an unlabelled number is stored beside the log, like a build number).
        for (attack, body) in [
            ("a labelled SSN as a subject", json!({ "kind": "ticket.noted", "subject": "ssn:219451100", "payload": {} })),
            ("an SSN's shape as a subject", json!({ "kind": "ticket.noted", "subject": "s:219-45-1100", "payload": {} })),
            ("an MRN as a subject", json!({ "kind": "ticket.noted", "subject": "chart:00123456", "payload": {} })),
            ("a phone number as a subject", json!({ "kind": "ticket.noted", "subject": "cb:(555)123-4567", "payload": {} })),
            ("a phone number's shape in a kind", json!({ "kind": "ticket.555-123-4567", "subject": "ticket:9", "payload": {} })),
            ("a labelled SSN in a kind", json!({ "kind": "ssn.219451100", "subject": "ticket:9", "payload": {} })),
        ] {
            let (st, e) = s.post("/api/v1/events", &ci, body).await;
            assert!(
                [StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY].contains(&st),
                "{attack}: {st} {e}"
            );
            assert!(!e.to_string().contains("1100") && !e.to_string().contains("4567"), "{attack}: {e}");
        }
        // A name and a birth date joined into one token are judged with its separators read as
        // spaces (attack round 5), before the subject is stored.
        let (st, e) = s
            .post(
                "/api/v1/events",
                &ci,
                json!({ "kind": "ticket.noted", "subject": "John.Smith/1961-04-12", "payload": {} }),
            )
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("sensitive_content")),
            "{e}"
        );
        assert!(!e.to_string().contains("Smith"), "{e}");
        let envs = s.envelopes().await;
        assert!(!envs.iter().any(|(l, _)| contains(l, "ticket:")), "no caller's subject is in the log");
        assert!(!envs.iter().any(|(l, _)| contains(l, "Smith") || contains(l, "roe-j") || contains(l, "jane.roe")));
        assert!(!envs.iter().any(|(l, _)| contains(l, "ticket.")), "no caller's kind is in the log");
        assert!(!envs.iter().any(|(l, _)| contains(l, "219451100") || contains(l, "00123456") || contains(l, "5551234567") || contains(l, "123-4567")));
        let callers: Vec<_> = envs
            .iter()
            .filter(|(_, e)| e.kind == leaf_kind("ticket.noted") || e.kind == leaf_kind("ticket.closed"))
            .collect();
        assert_eq!(callers.len(), 5, "nothing refused was written");
        let mut digests = Vec::new();
        for (leaf, env) in &callers {
            assert!(!contains(leaf, MARKER), "a caller's text is not in the log");
            // Not `1961` anywhere: a random salt's digest may hold those four digits.
            assert!(!contains(leaf, "born") && !contains(leaf, "[1961"), "nor its keys and numbers");
            assert!(env.subject.starts_with("submitted:hmac-sha256:"), "{}", env.subject);
            let Payload::Inline(p) = &env.payload else {
                panic!("inline payload")
            };
            let mut refs = Vec::new();
            ward_ledger::documents::references(p, &mut refs);
            assert!(p["sent"].as_str().is_some_and(|r| r.starts_with("doc:sha256:")), "{p}");
            // Beside the reference, the check of the key its fingerprints were made under.
            let members: Vec<&str> = p.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
            assert_eq!(members, ["key_check", "sent"], "{p}");
            assert_eq!(refs.len(), 1, "{p}");
            digests.extend(refs);
        }
        assert_eq!(digests.len(), 5, "one document an event: its kind, subject and payload: {digests:?}");
        // The same subject, the same fingerprint: a subject's events are still grouped.
        let subjects: Vec<&str> = callers.iter().map(|(_, e)| e.subject.as_str()).collect();
        assert_eq!(subjects[1], subjects[2], "ticket:8 twice");
        assert_ne!(subjects[0], subjects[1], "ticket:7 and ticket:8");
        let entry = |v: &Value, subject: &str| {
            v["entries"]
                .as_array()
                .and_then(|l| l.iter().find(|e| e["event"]["subject"] == subject))
                .cloned()
        };
        let payload = |v: &Value, subject: &str| entry(v, subject).map(|e| e["event"]["payload"]["inline"].clone());
        let (_, shown) = s.get("/api/v1/events?from=0&limit=1000&texts=true", &priya).await;
        assert_eq!(
            payload(&shown, "ticket:7"),
            Some(json!({ "note": format!("call {MARKER} back"), "count": 3, "urgent": true })),
            "the payload as it was sent"
        );
        assert_eq!(payload(&shown, "ticket:8").as_ref().map(|p| p["lines"][0].clone()), Some(json!("ok")));
        assert_eq!(payload(&shown, &planted_subject), Some(Value::Null), "the subject as it was sent");
        assert_eq!(entry(&shown, "ticket:7").map(|e| e["event"]["kind"].clone()), Some(json!("ticket.noted")));
        let kinds: Vec<Value> = shown["entries"]
            .as_array()
            .map(|l| l.iter().filter(|e| e["event"]["subject"] == "ticket:11").map(|e| e["event"]["kind"].clone()).collect())
            .unwrap_or_default();
        assert_eq!(kinds, vec![json!("ticket.5551234567"), json!("patient.jane.roe.admitted")], "the kinds as they were sent");
        // A search by a caller's kind finds its events by the fingerprint.
        let auditor = s.person("avery", &[Role::Auditor]).await;
        let (st, found) = s.get("/api/v1/audit/search?kind=ticket.closed", &auditor).await;
        assert_eq!(st, StatusCode::OK, "{found}");
        assert_eq!(found["hits"].as_array().map(Vec::len), Some(1), "{found}");
        let seq = entry(&shown, "ticket:7").expect("ticket:7")["seq"].clone();
        let (_, raw) = s.get("/api/v1/events?from=0&limit=1000", &priya).await;
        let stored = raw["entries"]
            .as_array()
            .and_then(|l| l.iter().find(|e| e["seq"] == seq))
            .map(|e| e["event"].clone())
            .expect("ticket:7 as the log holds it");
        assert!(stored["payload"]["inline"]["sent"].as_str().is_some_and(|r| r.starts_with("doc:sha256:")), "{raw}");
        assert!(!raw.to_string().contains("ticket:"), "{raw}");
        let mut purged = Vec::new();
        for d in &digests {
            let text = s.ledger.store().document(d).await.expect("doc").expect("stored");
            let text = ward_ledger::documents::text_of(&text).expect("text");
            if !text.contains(MARKER) {
                continue;
            }
            let (st, v) = s.purge(d, &priya, Some(&password("priya"))).await;
            assert_eq!(st, StatusCode::CREATED, "{v}");
            let (st, v) = s.purge(d, &olga, Some(&password("olga"))).await;
            assert_eq!((st, v["status"].as_str()), (StatusCode::CREATED, Some("purged")), "{v}");
            purged.push(d.clone());
        }
        assert_eq!(purged.len(), 4, "three payloads and a subject");
        let (_, shown) = s.get("/api/v1/events?from=0&limit=1000&texts=true", &priya).await;
        let gone = shown["entries"]
            .as_array()
            .and_then(|l| l.iter().find(|e| e["seq"] == seq))
            .map(|e| e["event"].clone())
            .expect("ticket:7");
        assert!(gone["payload"]["inline"]["sent"].as_str().is_some_and(|t| t.starts_with("[purged by entry ")), "{gone}");
        assert!(gone["subject"].as_str().is_some_and(|t| t.starts_with("submitted:hmac-sha256:")), "{gone}");

        let (tmp, report) = s.fsck_and_verified_export().await;
        let dir = tmp.path().join("export");
        let mut reported: Vec<String> = report.purged.iter().map(|p| p.digest.clone()).collect();
        reported.sort();
        purged.sort();
        assert_eq!(reported, purged);
        assert_eq!(grep_dir(&dir, MARKER), Vec::<String>::new(), "marker in the export");
        if let Some(path) = db.url.strip_prefix("sqlite://") {
            let data_dir = std::path::Path::new(path).parent().expect("dir");
            assert_eq!(
                grep_dir(data_dir, MARKER),
                Vec::<String>::new(),
                "marker in the database files"
            );
        }
    })
    .await;
}

/// What the guard missed inside a tool's raw file (here a JUnit report's captured output, which
/// no summary copies) is purged by two people like a text: the raw file is deleted with no byte
/// left in the database files, reading it answers 409 `document_purged`, the same bytes are
/// refused when attached again, fsck and a new export stay clean, and a bundle of the change
/// still verifies (in Rust and with the independent Python verifier), naming the raw evidence
/// purged by its entry.
#[tokio::test]
async fn raw_evidence_the_guard_missed_is_purged_and_the_bundle_still_verifies() {
    both(async |db: &TestDb| {
        use base64::Engine;
        let s = start(db).await;
        let ci = s.automation("ci", &[Role::Developer]).await;
        let dana = s.person("dana", &[Role::Developer]).await;
        let priya = s.person("priya", &[Role::PrivacyOfficer]).await;
        let olga = s.person("olga", &[Role::PrivacyOfficer]).await;
        let mut arts = Vec::new();
        for (n, d) in ["e1", "e2", "e3"].iter().enumerate() {
            let art = format!("sha256:{}", d.repeat(32));
            let (st, v) = s
                .post(
                    "/api/v1/artifacts",
                    &ci,
                    json!({ "digest": art, "service": "patient-api", "version": format!("1.0.{n}") }),
                )
                .await;
            assert!(st.is_success(), "{v}");
            arts.push(art);
        }
        let (st, v) = s
            .post(
                "/api/v1/changes",
                &dana,
                json!({ "title": "Index the clinic table", "artifacts": [arts[0], arts[1]] }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let change = v["id"].as_str().expect("id").to_string();
        let junit = format!(
            r#"<testsuite name="s" tests="1" failures="0"><testcase name="t"/><system-out>{MARKER} raw</system-out></testsuite>"#
        );
        let attach = |art: &str| {
            json!({ "artifact": art, "file_name": "report.xml",
                "content_base64": base64::engine::general_purpose::STANDARD.encode(&junit) })
        };
        // The same file on both artifacts of the change: one purge removes it for both.
        let (st, v) = s.post("/api/v1/attestations", &ci, attach(&arts[0])).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().expect("id").to_string();
        let (st, v) = s.post("/api/v1/attestations", &ci, attach(&arts[1])).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");

        // Only an attested file is purged as raw evidence: bytes Ward keeps as its own record
        // (here an attested file that is also a gate decision's input) and bytes nobody
        // attested are refused, and stay.
        let twin = r#"<testsuite name="twin" tests="1" failures="0"><testcase name="t"/></testsuite>"#;
        let (st, v) = s
            .post(
                "/api/v1/attestations",
                &ci,
                json!({ "artifact": arts[0], "file_name": "twin.xml",
                    "content_base64": base64::engine::general_purpose::STANDARD.encode(twin) }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let twin_id = v["id"].as_str().expect("id").to_string();
        // Written straight into the ledger (callers cannot write gate.* kinds): a decision
        // whose input has the same bytes.
        s.ledger
            .append(ward_ledger::NewEvent {
                actor: operator().actor(),
                kind: "gate.evaluated".into(),
                subject: format!("change:{}", "CHG-00000000"),
                payload: json!({ "input_digest": twin_id, "policy_digest": twin_id }),
            })
            .await
            .expect("append");
        // The same through a payload stored out of line (over 8 KiB), and for a kind Ward
        // writes that the rule classifies nowhere (here `local.*`, standing for a kind added
        // later: any value equal to the digest keeps it, failing closed): it names a second
        // attested file, whose bytes stay; a caller's own event naming the first (callers store
        // no bytes beside the log) is no obstacle to its purge.
        let output = r#"<testsuite name="output" tests="1" failures="0"><testcase name="t"/></testsuite>"#;
        let (st, v) = s
            .post(
                "/api/v1/attestations",
                &ci,
                json!({ "artifact": arts[0], "file_name": "output.xml",
                    "content_base64": base64::engine::general_purpose::STANDARD.encode(output) }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let output_id = v["id"].as_str().expect("id").to_string();
        let padding = "ok ".repeat(ward_ledger::envelope::MAX_INLINE_PAYLOAD / 2);
        for (kind, named) in [("local.recorded", &output_id), ("build.finished", &id)] {
            let receipt = s
                .ledger
                .append(ward_ledger::NewEvent {
                    actor: operator().actor(),
                    kind: kind.into(),
                    subject: format!("artifact:{}", arts[0]),
                    payload: json!({ "output_digest": named, "log": padding }),
                })
                .await
                .expect("append");
            let (leaf, _) = s.envelopes().await.into_iter().nth(receipt.seq as usize).expect("entry");
            assert!(!contains(&leaf, named), "{kind}: the payload is stored out of line");
        }
        // Entries Ward writes that only cite the file keep no bytes of it (attack on
        // `e1f21bd`: a failing report cited in a gate reason, or anyone's registration, restore
        // test or observation naming its id, made it unpurgeable for good).
        for (kind, payload) in [
            (
                "gate.evaluated",
                json!({ "input_digest": twin_id, "policy_digest": twin_id, "allow": false,
                    "reasons": [{ "rule": "evidence.tests_failed",
                        "message": format!("test report report.xml ({id}) on {} has 2 failed tests", arts[0]) }] }),
            ),
            ("artifact.registered", json!({ "digest": id, "service": "blocker", "version": "0.0.1" })),
            ("dr.restore_tested", json!({ "store": id, "service": "patient-api" })),
            ("drift.observed", json!({ "environment": "staging", "config_digest": id, "observed": [id] })),
        ] {
            s.ledger
                .append(ward_ledger::NewEvent {
                    actor: operator().actor(),
                    kind: kind.into(),
                    subject: "change:CHG-00000000".into(),
                    payload,
                })
                .await
                .expect("append");
        }
        let loose = b"bytes nobody attested".to_vec();
        let loose_id = ward_evidence::digest::of_bytes(&loose);
        s.ledger.store().put_evidence(&loose_id, &loose).await.expect("put");
        for (attack, digest) in [
            ("a gate input", &twin_id),
            ("bytes a later kind names out of line", &output_id),
            ("bytes nobody attested", &loose_id),
        ] {
            let (st, e) = s.purge(digest, &priya, Some(&password("priya"))).await;
            assert_eq!(
                (st, e["code"].as_str()),
                (StatusCode::CONFLICT, Some("not_purgeable")),
                "{attack}: {e}"
            );
            assert!(s.ledger.store().evidence(digest).await.expect("evidence").is_some(), "{attack}");
        }
        assert_eq!(id, ward_evidence::digest::of_bytes(junit.as_bytes()), "the id is the file's digest");
        let raw = format!("/api/v1/evidence/{}/{id}", arts[0]);
        let (st, _) = s.get(&raw, &dana).await;
        assert_eq!(st, StatusCode::OK);
        for (leaf, _) in s.envelopes().await {
            assert!(!contains(&leaf, MARKER), "the raw file is beside the log, not in it");
        }
        if let Some(path) = db.url.strip_prefix("sqlite://") {
            let data_dir = std::path::Path::new(path).parent().expect("dir");
            assert!(!grep_dir(data_dir, MARKER).is_empty(), "the search can see the file before");
        }

        // Two people: a request deletes nothing, the requester cannot complete it.
        let (st, req) = s.purge(&id, &priya, Some(&password("priya"))).await;
        assert_eq!((st, req["status"].as_str()), (StatusCode::CREATED, Some("requested")), "{req}");
        assert_eq!(req["raw_evidence"], true, "{req}");
        assert!(s.ledger.store().evidence(&id).await.expect("evidence").is_some());
        let (st, e) = s.purge(&id, &priya, Some(&password("priya"))).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("second_person_required"))
        );
        let (st, e) = s.purge(&id, &dana, Some(&password("dana"))).await;
        assert_eq!(st, StatusCode::FORBIDDEN, "a developer completes no purge: {e}");
        assert!(s.ledger.store().evidence(&id).await.expect("evidence").is_some());
        let (st, done) = s.purge(&id, &olga, Some(&password("olga"))).await;
        assert_eq!((st, done["status"].as_str()), (StatusCode::CREATED, Some("purged")), "{done}");
        let purged_seq = done["seq"].as_u64().expect("seq");
        assert_eq!(s.ledger.store().evidence(&id).await.expect("evidence"), None);
        let (_, purge_entry) = s
            .envelopes()
            .await
            .into_iter()
            .find(|(_, e)| e.seq == purged_seq)
            .expect("the purge entry");
        let Payload::Inline(p) = &purge_entry.payload else {
            panic!("inline payload")
        };
        assert_eq!((p["digest"].as_str(), p["of"].as_str()), (Some(id.as_str()), Some("evidence")));

        // Reading it: 409, its record stays; attaching the same bytes again: refused.
        let (st, e) = s.get(&raw, &dana).await;
        assert_eq!((st, e["code"].as_str()), (StatusCode::CONFLICT, Some("document_purged")), "{e}");
        assert!(!e.to_string().contains(MARKER), "{e}");
        let (_, view) = s.get(&format!("/api/v1/artifacts/{}", arts[0]), &dana).await;
        assert_eq!(view["attestations"][0]["id"], id.as_str(), "the record stays: {view}");
        // Elsewhere, or again where it was attached (no quiet no-op reporting success).
        for art in [&arts[2], &arts[0]] {
            let (st, e) = s.post("/api/v1/attestations", &ci, attach(art)).await;
            assert_eq!((st, e["code"].as_str()), (StatusCode::CONFLICT, Some("evidence_purged")), "{e}");
        }
        assert_eq!(s.ledger.store().evidence(&id).await.expect("evidence"), None, "nothing stored again");
        let (st, e) = s.purge(&id, &olga, Some(&password("olga"))).await;
        assert_eq!((st, e["code"].as_str()), (StatusCode::CONFLICT, Some("already_purged")));

        // The chain is whole: fsck, a new export, and a bundle of the change in both verifiers.
        let (tmp, _) = s.fsck_and_verified_export().await;
        assert_eq!(grep_dir(&tmp.path().join("export"), MARKER), Vec::<String>::new());
        let auditor = Identity {
            id: "user:audrey".into(),
            kind: ActorKind::Human,
            roles: vec![Role::Auditor],
        };
        let built = ward_app::bundle::export(
            &s.ledger,
            &signer(),
            ORIGIN,
            &auditor,
            &ward_app::bundle::Query::Change(change.clone()),
        )
        .await
        .expect("bundle");
        assert!(!contains(&built.bytes, MARKER), "no byte of the file in the bundle");
        let verified = ward_app::bundle::verify(&built.bytes, &signer().verifier()).expect("the bundle verifies");
        assert_eq!(
            verified.purged,
            vec![ward_ledger::bundle::Purged {
                digest: id.clone(),
                purged_by: purged_seq,
                evidence: true
            }],
            "once, though two attestations name it"
        );
        assert!(verified.report_checked, "the report was rendered again and compared");
        let file = tmp.path().join("change.bundle");
        std::fs::write(&file, &built.bytes).expect("write");
        let py = std::process::Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/verify_bundle.py"))
            .arg(&file)
            .arg("--key")
            .arg(ward_ledger::NoteVerifier::verifier_key(&signer().verifier()))
            .output()
            .expect("python3");
        let out = String::from_utf8_lossy(&py.stdout);
        assert!(py.status.success(), "{out}{}", String::from_utf8_lossy(&py.stderr));
        assert!(out.contains(&format!("raw evidence {id} purged by entry {purged_seq}")), "{out}");
        if let Some(path) = db.url.strip_prefix("sqlite://") {
            let data_dir = std::path::Path::new(path).parent().expect("dir");
            assert_eq!(grep_dir(data_dir, MARKER), Vec::<String>::new(), "marker in the database files");
        }
    })
    .await;
}

/// A commit author's address lives beside the log (issue 15: `jane.doe@gmail.com` stayed in
/// the leaf for good); the leaf keeps the Ward identity it stood for as a keyed fingerprint
/// (the local part may spell anything: no part of it is in a leaf). The author cannot sign,
/// read through the address (another issuer's identity naming it too) and, once a privacy
/// officer and a second person purged the address, through the identity; no refusal repeats
/// the address; the same commits given again are no new content; the export still verifies
/// and holds no byte of the address.
#[tokio::test]
async fn a_commit_authors_address_is_purged_and_the_author_still_cannot_sign() {
    const ADDRESS: &str = "jane.doe@gmail.com";
    both(async |db: &TestDb| {
        let s = start(db).await;
        let dana = s.person("dana", &[Role::Developer]).await;
        let jane = s.person("jane.doe", &[Role::Approver]).await;
        let quinn = s.person("quinn", &[Role::Approver]).await;
        let priya = s.person("priya", &[Role::PrivacyOfficer]).await;
        let olga = s.person("olga", &[Role::PrivacyOfficer]).await;
        let commits = json!([
            { "sha": "a1b2c3d4e5f6", "author": ADDRESS },
            { "sha": "b2c3d4e5f6a1", "author": ADDRESS },
            { "sha": "c3d4e5f6a1b2", "author": "quinn@example.org" },
        ]);
        let (st, v) = s
            .post(
                "/api/v1/changes",
                &dana,
                // A side of digits only reads as an abbreviated commit to every rule (an SSN's
                // nine digits here): the range lives beside the log too.
                json!({ "title": "Index the clinic table", "commits": commits,
                    "commit_range": "a1b2c3d..219451100" }),
            )
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().expect("id").to_string();
        // The API shows the address as git wrote it; no leaf holds it.
        let (_, shown) = s.get(&format!("/api/v1/changes/{id}"), &dana).await;
        assert_eq!(shown["commits"][0]["author"], ADDRESS, "{shown}");
        assert_eq!(shown["authors"][0]["address"], ADDRESS, "{shown}");
        assert_eq!(shown["authors"][0].get("identity"), None, "{shown}");
        let keys = shown["authors"][0]["keys"].clone();
        let key = keys[0].as_str().expect("keys");
        assert!(key.starts_with("hmac-sha256:"), "{shown}");
        assert_eq!(shown["commit_range"], "a1b2c3d..219451100", "{shown}");
        let envs = s.envelopes().await;
        let (leaf, opened) = envs.iter().find(|(_, e)| e.kind == "change.opened").expect("opened");
        assert!(!contains(leaf, "gmail.com"), "the address is in the leaf");
        assert!(!contains(leaf, "219451100"), "the range is in the leaf");
        assert!(!contains(leaf, "jane.doe"), "the identity is in the leaf");
        assert!(contains(leaf, key), "the identity's fingerprint is in the leaf");
        let Payload::Inline(p) = &opened.payload else {
            panic!("inline payload")
        };
        // One document per address: both of Jane's commits name it.
        let reference = p["commits"][0]["author"].as_str().expect("ref").to_string();
        assert_eq!(p["commits"][1]["author"], reference.as_str());
        assert_eq!(p["authors"].as_array().map(Vec::len), Some(2), "{p}");
        let digest = ward_ledger::documents::parse_reference(&reference).expect("a reference");

        // Attacks: the author signs, and a caller points an author at a stored document.
        let sign = |who: &str| json!({ "meaning": "approved", "password": password(who) });
        let approvals = format!("/api/v1/changes/{id}/approvals");
        let (st, e) = s.post(&approvals, &jane, sign("jane.doe")).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("author_cannot_sign")),
            "{e}"
        );
        assert!(!e.to_string().contains("gmail"), "{e}");
        let (st, e) = s
            .post(
                "/api/v1/changes",
                &dana,
                json!({ "title": "Another", "commits": [{ "sha": "d4e5f6a1b2c3", "author": reference }] }),
            )
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("reserved_reference")),
            "{e}"
        );
        // A helper's attack on `d734697`: an upper-case reference (lower-cased into a real one
        // by the identity), and no author at all.
        for author in [
            reference.to_uppercase(),
            String::new(),
            "Jane Doe <jane.doe@gmail.com>".into(),
        ] {
            let (st, e) = s
                .post(
                    "/api/v1/changes",
                    &dana,
                    json!({ "title": "Another", "commits": [{ "sha": "d4e5f6a1b2c3", "author": author }] }),
                )
                .await;
            assert!(st.is_client_error(), "{author}: {st} {e}");
            assert!(!e.to_string().contains("gmail"), "{e}");
        }
        // A commit's id is a git object id (a helper's attack on `06acc0a`: free text was stored
        // in the leaf as one), never repeated.
        for sha in ["Patient Jane Q Doe dx HIV positive", "219451100"] {
            let (st, e) = s
                .post(
                    "/api/v1/changes",
                    &dana,
                    json!({ "title": "Another", "commits": [{ "sha": sha, "author": "sam@example.org" }] }),
                )
                .await;
            assert!(st.is_client_error(), "{sha}: {st} {e}");
            assert!(!e.to_string().contains(sha), "{e}");
        }
        // Her address written in full-width letters, with a zero-width space or a sub-address
        // is still hers: she cannot sign such a change either.
        for author in [
            "ｊａｎｅ.doe＠gmail.com",
            "jane\u{200b}.doe@gmail.com",
            "jane.doe+x@gmail.com",
        ] {
            let (st, v) = s
                .post(
                    "/api/v1/changes",
                    &dana,
                    json!({ "title": "Hers", "commits": [{ "sha": "f6a1b2c3d4e5", "author": author }] }),
                )
                .await;
            assert_eq!(st, StatusCode::CREATED, "{v}");
            let other = v["id"].as_str().expect("id");
            let (st, e) = s
                .post(&format!("/api/v1/changes/{other}/approvals"), &jane, sign("jane.doe"))
                .await;
            assert_eq!(
                (st, e["code"].as_str()),
                (StatusCode::FORBIDDEN, Some("author_cannot_sign")),
                "{author}: {e}"
            );
        }
        // The same commits given again are no new content: nothing is appended.
        let before = s.envelopes().await.len();
        let (st, v) = s
            .call(
                Method::PATCH,
                &format!("/api/v1/changes/{id}"),
                &dana,
                Some(json!({ "commits": commits, "commit_range": "a1b2c3d..219451100" })),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(s.envelopes().await.len(), before, "an update changed nothing");
        // A new range without Jane's commits: she stays an author for the change's life.
        let (st, v) = s
            .call(
                Method::PATCH,
                &format!("/api/v1/changes/{id}"),
                &dana,
                Some(json!({ "commits": [{ "sha": "e5f6a1b2c3d4", "author": "sam@example.org" }] })),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
        let (st, e) = s.post(&approvals, &jane, sign("jane.doe")).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("author_cannot_sign")),
            "{e}"
        );

        // The address is purged by two people: the identity recorded with it still holds.
        let (st, v) = s.purge(&digest, &priya, Some(&password("priya"))).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let (st, done) = s.purge(&digest, &olga, Some(&password("olga"))).await;
        assert_eq!(
            (st, done["status"].as_str()),
            (StatusCode::CREATED, Some("purged")),
            "{done}"
        );
        let purged_seq = done["seq"].as_u64().expect("seq");
        let (_, shown) = s.get(&format!("/api/v1/changes/{id}"), &dana).await;
        let purged = format!("[purged by entry {purged_seq}]");
        assert!(
            shown["authors"]
                .as_array()
                .expect("authors")
                .iter()
                .any(|a| a["address"] == purged.as_str() && a["keys"] == keys),
            "{shown}"
        );
        let (st, e) = s.post(&approvals, &jane, sign("jane.doe")).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("author_cannot_sign")),
            "{e}"
        );
        // Quinn's commit left the range too; Quinn stays an author. Nobody else is refused.
        let (st, e) = s.post(&approvals, &quinn, sign("quinn")).await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("author_cannot_sign")),
            "{e}"
        );
        let (st, v) = s.post(&approvals, &priya, sign("priya")).await;
        assert_ne!(v["code"], "author_cannot_sign", "{st} {v}");

        let (tmp, report) = s.fsck_and_verified_export().await;
        assert!(report.purged.iter().any(|p| p.digest == digest));
        assert_eq!(grep_dir(&tmp.path().join("export"), ADDRESS), Vec::<String>::new());
        for (leaf, _) in s.envelopes().await {
            assert!(!contains(&leaf, ADDRESS));
        }
        if let Some(path) = db.url.strip_prefix("sqlite://") {
            let data_dir = std::path::Path::new(path).parent().expect("dir");
            assert_eq!(
                grep_dir(data_dir, ADDRESS),
                Vec::<String>::new(),
                "address in the database files"
            );
        }
    })
    .await;
}

/// A printed name is a person's name, free text: what a heuristic reads in it (a birth date
/// in words, `born twelve April`) could carry what the log must never hold. Every printed name
/// — the user's, and the one each signature, waiver and purge records — lives beside the log;
/// people read it as written; a purged one signs nothing more, while the signatures that
/// carried it keep their own copies, and the export still verifies.
#[tokio::test]
async fn a_printed_name_never_reaches_a_leaf_and_a_purged_one_signs_nothing() {
    both(async |db: &TestDb| {
        let s = start(db).await;
        let dana = s.person("dana", &[Role::Developer]).await;
        let quinn = s.person("quinn", &[Role::Approver]).await;
        let priya = s.person("priya", &[Role::PrivacyOfficer]).await;
        let olga = s.person("olga", &[Role::PrivacyOfficer]).await;
        let ada = s.person("ada", &[Role::Admin]).await;
        let (st, v) = s
            .post("/api/v1/changes", &dana, json!({ "title": "Index the clinic table" }))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().expect("id").to_string();
        let approvals = format!("/api/v1/changes/{id}/approvals");
        let sign = |who: &str| json!({ "meaning": "approved", "password": password(who) });
        let (st, signed) = s.post(&approvals, &quinn, sign("quinn")).await;
        assert_eq!(st, StatusCode::CREATED, "{signed}");
        assert_eq!(signed["printed_name"], "QUINN Example", "{signed}");

        // People read the names as written: the users, the signature.
        let (_, users) = s.get("/api/v1/users", &ada).await;
        let listed: Vec<&str> = users
            .as_array()
            .expect("users")
            .iter()
            .filter_map(|u| u["display_name"].as_str())
            .collect();
        assert!(listed.contains(&"QUINN Example"), "{users}");
        let (_, view) = s.get(&approvals, &dana).await;
        assert!(view.to_string().contains("QUINN Example"), "{view}");
        // No leaf holds any printed name (the login names are lower case).
        for (leaf, _) in s.envelopes().await {
            for name in ["DANA", "QUINN", "PRIYA", "OLGA", "ADA", "Example"] {
                assert!(!contains(&leaf, name), "{name} in {}", String::from_utf8_lossy(&leaf));
            }
        }

        // Quinn's printed name, as the user record holds it, is purged by two people.
        let envs = s.envelopes().await;
        let added = envs
            .iter()
            .find(|(_, e)| e.kind == "user.added" && e.subject == "user:quinn")
            .map(|(_, e)| e)
            .expect("user.added");
        let Payload::Inline(p) = &added.payload else {
            panic!("inline payload")
        };
        let reference = p["display_name"].as_str().expect("display_name");
        let digest = ward_ledger::documents::parse_reference(reference).expect("a reference");
        let (st, v) = s.purge(&digest, &priya, Some(&password("priya"))).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let (st, done) = s.purge(&digest, &olga, Some(&password("olga"))).await;
        assert_eq!(done["status"], "purged", "{st} {done}");
        let purged_seq = done["seq"].as_u64().expect("seq");

        // A purged printed name signs nothing: the signature is refused, and says why.
        let (st, v) = s
            .post("/api/v1/changes", &dana, json!({ "title": "Rotate the TLS keys" }))
            .await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
        let other = v["id"].as_str().expect("id");
        let (st, e) = s
            .post(&format!("/api/v1/changes/{other}/approvals"), &quinn, sign("quinn"))
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("printed_name_missing")),
            "{e}"
        );
        // The user reads as purged; the earlier signature keeps its own copy.
        let (_, users) = s.get("/api/v1/users", &ada).await;
        assert!(
            users.to_string().contains(&format!("[purged by entry {purged_seq}]")),
            "{users}"
        );
        let (_, view) = s.get(&approvals, &dana).await;
        assert!(view.to_string().contains("QUINN Example"), "{view}");
        // A purged name is given to nobody else (a helper's attack on `c03131e`: two people
        // then signed as one name); the user record keeps its keyed fingerprint.
        let (st, e) = s
            .post(
                "/api/v1/users",
                &ada,
                json!({ "name": "quinn2", "display_name": "Quinn  EXAMPLE", "roles": ["approver"],
                    "password": password("quinn2") }),
            )
            .await;
        assert_eq!(
            (st, e["code"].as_str()),
            (StatusCode::CONFLICT, Some("printed_name_taken")),
            "{e}"
        );
        // Without a printed name Quinn is still Quinn: confirming who acts (a local `--as`, a
        // token of their own) holds; only signing needs the name.
        let who = Identity {
            id: "user:quinn".into(),
            kind: ActorKind::Human,
            roles: vec![Role::Approver],
        };
        let pw = password("quinn");
        let creds = ward_app::reauth::Credentials {
            password: Some(&pw),
            ..Default::default()
        };
        let now = jiff::Timestamp::now().as_second();
        let confirmed = ward_app::reauth::confirm_identity(&s.ledger, &who, &creds, now)
            .await
            .expect("confirm");
        assert!(confirmed.is_ok(), "{:?}", confirmed.err());
        let signing = ward_app::reauth::reauthenticate(&s.ledger, &who, &creds, None, now)
            .await
            .expect("reauth");
        assert_eq!(signing.err().map(|r| r.code), Some("printed_name_missing"));
        let wrong = ward_app::reauth::Credentials {
            password: Some("not-quinns-password"),
            ..Default::default()
        };
        let refused = ward_app::reauth::confirm_identity(&s.ledger, &who, &wrong, now)
            .await
            .expect("confirm");
        assert!(refused.is_err(), "a wrong password still fails");

        let (_tmp, report) = s.fsck_and_verified_export().await;
        assert!(report.purged.iter().any(|p| p.digest == digest));
    })
    .await;
}
