//! Bypass tests for evidence semantics, risk defaults and artifact versions (issue 14, items
//! 11b, 11e, 13 and 15a), each named after the attack it stops, run against SQLite and
//! PostgreSQL through the same service functions the HTTP handlers and local mode call. Each
//! refusal is asserted with its status and error code, and with the log unchanged (nothing but
//! the refusal: a refused registration or attestation records nothing).

use serde_json::Value;
use ward_app::{changes, evidence, keys};
use ward_core::risk::{RiskRules, Tier};
use ward_core::{Identity, Role};
use ward_ledger::ActorKind;
use ward_server::error::ApiError;
use ward_store::Ledger;
use ward_store::testing::TestDb;

/// sha256 of `intoto-app.tar`, the artifact of the in-toto fixtures.
const APP: &str = "sha256:44aa65cce0bb601a204bbd016592ece3580a7dd416e15cbdb5346eefe1bb11f0";

fn fixture(name: &str) -> Vec<u8> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ward-evidence/tests/fixtures");
    std::fs::read(dir.join(name)).expect("fixture")
}

fn ci() -> Identity {
    Identity {
        id: "token:ci".into(),
        kind: ActorKind::Automation,
        roles: vec![Role::Developer],
    }
}

fn dana() -> Identity {
    Identity {
        id: "user:dana".into(),
        kind: ActorKind::Human,
        roles: vec![Role::Developer],
    }
}

/// SQLite, and PostgreSQL when it is reachable.
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

/// The kinds of the log's entries from `from` on.
async fn kinds_since(ledger: &Ledger, from: u64) -> Vec<String> {
    ledger
        .store()
        .entries(from, 1000)
        .await
        .expect("entries")
        .into_iter()
        .map(|e| {
            ward_ledger::EventEnvelope::from_leaf(&e.leaf)
                .expect("leaf")
                .kind
                .clone()
        })
        .collect()
}

fn artifact(digest: &str, service: &str, version: &str) -> evidence::ArtifactRequest {
    evidence::ArtifactRequest {
        digest: digest.into(),
        service: service.into(),
        version: version.into(),
        commit: None,
        branch: None,
        build_id: None,
        build_url: None,
    }
}

fn digest(byte: &str) -> String {
    format!("sha256:{}", byte.repeat(32))
}

fn assert_refused(
    r: Result<impl std::fmt::Debug, impl Into<ApiError> + std::fmt::Debug>,
    status: u16,
    code: &str,
) -> ApiError {
    let e: ApiError = r.expect_err("refused").into();
    assert_eq!((e.status.as_u16(), e.detail.code.as_str()), (status, code), "{e:?}");
    e
}

/// pip-audit 2.10.1, unable to reach PyPI's vulnerability data, skipped every package, printed
/// "No known vulnerabilities found" and exited 0. Its report is recorded as an incomplete scan
/// (the summary the gate reads says so, and why), never as a clean one.
#[tokio::test]
async fn all_skipped_pip_audit_is_not_a_clean_scan() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        let d = digest("ab");
        evidence::register(&ledger, &ci(), &artifact(&d, "patient-api", "3.1.0"))
            .await
            .expect("register");
        let bytes = fixture("pip-audit-all-skipped.json");
        let req = evidence::AttestationRequest::from_bytes(&d, "auto", "pip-audit.json", &bytes, false);
        let (att, new) = evidence::attest(&ledger, &ci(), &req, &Default::default())
            .await
            .expect("attest");
        assert!(new);
        assert_eq!(att.r#type, "vulns");
        let s = &att.summary;
        assert_eq!(s["incomplete"], Value::Bool(true), "{s}");
        assert_eq!((s["audited"].as_u64(), s["skipped"].as_u64()), (Some(0), Some(3)));
        assert_eq!(s["findings"].as_u64(), Some(0));
        assert!(
            s["incomplete_reason"]
                .as_str()
                .unwrap()
                .starts_with("pip-audit could not audit 3 of 3 packages")
        );
        // What the projection (and so the gate input) holds says the same.
        let stored = evidence::attestations(&ledger, &d).await.expect("list");
        assert_eq!(stored[0].summary["incomplete"], Value::Bool(true));
        db.cleanup().await;
    }
}

/// A test step's in-toto link names the artifact among its materials (it reads the artifact and
/// makes nothing). It is accepted as evidence about that artifact with its step recorded; the
/// same link attached to another artifact is still refused, and nothing is recorded.
#[tokio::test]
async fn test_step_link_with_the_artifact_as_material_is_not_refused() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        let admin = Identity {
            id: "user:root".into(),
            kind: ActorKind::Human,
            roles: vec![Role::Admin],
        };
        keys::trust(
            &ledger,
            &admin,
            &keys::TrustRequest {
                builder: "ci".into(),
                public_key_pem: String::from_utf8(fixture("intoto-ed25519.pub")).unwrap(),
            },
        )
        .await
        .expect("trust");
        evidence::register(&ledger, &ci(), &artifact(APP, "patient-api", "3.1.0"))
            .await
            .expect("register");
        let other = digest("cd");
        evidence::register(&ledger, &ci(), &artifact(&other, "patient-api", "3.1.1"))
            .await
            .expect("register");
        let bytes = fixture("intoto-link-test-material.link");
        let req = evidence::AttestationRequest::from_bytes(APP, "auto", "test.link", &bytes, false);
        let (att, _) = evidence::attest(&ledger, &ci(), &req, &Default::default())
            .await
            .expect("a test step's link is evidence about the artifact it read");
        assert_eq!(att.r#type, "intoto");
        assert_eq!(
            (att.summary["step"].as_str(), att.summary["artifact_role"].as_str()),
            (Some("test"), Some("material"))
        );
        // About another artifact: named in neither materials nor products.
        let before = size(&ledger).await;
        let req = evidence::AttestationRequest::from_bytes(&other, "auto", "test.link", &bytes, false);
        let e = assert_refused(
            evidence::attest(&ledger, &ci(), &req, &Default::default()).await,
            422,
            "digest_mismatch",
        );
        assert!(
            e.detail.message.contains("no product or material"),
            "{}",
            e.detail.message
        );
        assert_eq!(size(&ledger).await, before, "nothing recorded");
        db.cleanup().await;
    }
}

/// `patient-api 3.1.0` registered a second time under another digest: refused with
/// `version_conflict` naming the first digest, nothing recorded; the same registration again is
/// still a no-op.
#[tokio::test]
async fn second_digest_for_a_released_version_is_refused() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        let (first, second) = (digest("ab"), digest("cd"));
        evidence::register(&ledger, &ci(), &artifact(&first, "patient-api", "3.1.0"))
            .await
            .expect("register");
        let before = size(&ledger).await;
        let e = assert_refused(
            evidence::register(&ledger, &ci(), &artifact(&second, "patient-api", "3.1.0")).await,
            409,
            "version_conflict",
        );
        assert!(e.detail.message.contains(&first), "{}", e.detail.message);
        assert!(e.detail.hint.contains("own version"), "{}", e.detail.hint);
        // Even where pre-releases may move, a release version may not.
        let open = evidence::ArtifactRules {
            mutable_prerelease: true,
        };
        assert_refused(
            evidence::register_with(&ledger, &ci(), &artifact(&second, "patient-api", "3.1.0"), &open).await,
            409,
            "version_conflict",
        );
        assert_eq!(size(&ledger).await, before, "nothing recorded");
        // Idempotent for the same digest; another service's 3.1.0 is its own version.
        let (_, new) = evidence::register(&ledger, &ci(), &artifact(&first, "patient-api", "3.1.0"))
            .await
            .expect("again");
        assert!(!new);
        evidence::register(&ledger, &ci(), &artifact(&second, "billing-api", "3.1.0"))
            .await
            .expect("another service");
        db.cleanup().await;
    }
}

/// A pre-release version moves to another digest only when `[artifacts] mutable_prerelease` is
/// on; by default it names one digest like any version.
#[tokio::test]
async fn second_digest_for_a_pre_release_needs_mutable_prerelease() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        let (first, second) = (digest("ab"), digest("cd"));
        evidence::register(&ledger, &ci(), &artifact(&first, "patient-api", "3.2.0-rc.1"))
            .await
            .expect("register");
        let before = size(&ledger).await;
        let e = assert_refused(
            evidence::register(&ledger, &ci(), &artifact(&second, "patient-api", "3.2.0-rc.1")).await,
            409,
            "version_conflict",
        );
        assert!(e.detail.hint.contains("mutable_prerelease"), "{}", e.detail.hint);
        assert_eq!(size(&ledger).await, before);
        let open = evidence::ArtifactRules {
            mutable_prerelease: true,
        };
        let (a, new) = evidence::register_with(&ledger, &ci(), &artifact(&second, "patient-api", "3.2.0-rc.1"), &open)
            .await
            .expect("a pre-release may move when configured");
        assert!(new);
        assert_eq!(a.meta.digest, second);
        assert_eq!(kinds_since(&ledger, before).await, vec!["artifact.registered"]);

        // Which environments take a version that moved is per environment, never production:
        // staging declares mutable_prerelease, prod (the end of the chain) cannot.
        let env = |name: &str, after: Option<&str>, mutable: bool| ward_app::environment::Environment {
            name: name.into(),
            after: after.map(Into::into),
            mutable_prerelease: mutable,
            ..Default::default()
        };
        let e = ward_app::environment::validate(&[env("staging", None, false), env("prod", Some("staging"), true)])
            .unwrap_err();
        assert!(e.contains("prod") && e.contains("mutable_prerelease"), "{e}");
        let envs = [env("staging", None, true), env("prod", Some("staging"), false)];
        ward_app::environment::validate(&envs).expect("an earlier environment may accept it");
        let policy = ward_app::gate::GatePolicy::load(None, Default::default())
            .and_then(|p| p.with_environments(&envs))
            .expect("policy");
        let c = changes::open(
            &ledger,
            &dana(),
            &RiskRules::default(),
            &ward_core::approval::ApprovalRules::default(),
            &changes::ChangeRequest {
                title: "patient-api release candidate".into(),
                kind: "normal".into(),
                artifacts: vec![second.clone()],
                ..Default::default()
            },
            false,
        )
        .await
        .expect("open");
        let rules = ward_core::approval::ApprovalRules::default();
        let rebound =
            |d: &ward_app::gate::GateDecision| d.reasons.iter().any(|r| r.rule == "artifacts.version_rebound");
        for (environment, refused) in [("staging", false), ("prod", true)] {
            let d = ward_app::gate::check(
                &ledger,
                &dana(),
                &c.id,
                &ward_app::gate::CheckRequest::env(environment),
                &policy,
                &RiskRules::default(),
                &rules,
            )
            .await
            .expect("gate");
            assert_eq!(rebound(&d), refused, "{environment}: {:?}", d.reasons);
        }
        db.cleanup().await;
    }
}

/// With the default rules, a change touching `app/phi/patient.py` was low risk. It is high, and
/// the classification records the digest of the rules it used.
#[tokio::test]
async fn phi_path_is_not_low_risk_by_default() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        let rules = RiskRules::default();
        for path in [
            "app/phi/patient.py",
            "src/fhir/r4/observation.rs",
            "app/patients/views.py",
        ] {
            let c = changes::open(
                &ledger,
                &dana(),
                &rules,
                &ward_core::approval::ApprovalRules::default(),
                &changes::ChangeRequest {
                    title: format!("touch {path}"),
                    kind: "normal".into(),
                    paths: vec![path.into()],
                    ..Default::default()
                },
                false,
            )
            .await
            .expect("open");
            assert_eq!(c.tier, Tier::High, "{path}");
            assert!(c.classification.tags.contains(&"phi".to_string()), "{path}");
            assert_eq!(c.classification.rules_digest, rules.digest());
            let stored = changes::get(&ledger, &c.id).await.expect("get").expect("change");
            assert_eq!(stored.classification.rules_digest, rules.digest());
        }
        db.cleanup().await;
    }
}

/// After the risk rules changed, `ward change update` kept the old tier (an update that changed
/// no content returned early). It reclassifies under the current rules, recording one
/// `change.updated` (content unchanged), and records nothing when neither content nor
/// classification changes.
#[tokio::test]
async fn update_after_the_rules_changed_does_not_keep_the_old_tier() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        // Rules without the PHI paths: the change is low.
        let old_rules = RiskRules {
            default_tier: Tier::Low,
            path_tags: vec![],
            tiers: vec![],
        };
        let c = changes::open(
            &ledger,
            &dana(),
            &old_rules,
            &ward_core::approval::ApprovalRules::default(),
            &changes::ChangeRequest {
                title: "patient export".into(),
                kind: "normal".into(),
                paths: vec!["app/phi/patient.py".into()],
                ..Default::default()
            },
            false,
        )
        .await
        .expect("open");
        assert_eq!(c.tier, Tier::Low);
        // The same rules, nothing new: nothing recorded.
        let before = size(&ledger).await;
        let same = changes::update(
            &ledger,
            &dana(),
            &old_rules,
            &ward_core::approval::ApprovalRules::default(),
            &c.id,
            &changes::ChangeUpdate::default(),
            false,
        )
        .await
        .expect("update");
        assert_eq!(same.tier, Tier::Low);
        assert_eq!(size(&ledger).await, before);
        // The rules changed: an explicit update reclassifies.
        let rules = RiskRules::default();
        let upd = changes::update(
            &ledger,
            &dana(),
            &rules,
            &ward_core::approval::ApprovalRules::default(),
            &c.id,
            &changes::ChangeUpdate::default(),
            false,
        )
        .await
        .expect("update");
        assert_eq!(upd.tier, Tier::High);
        assert_eq!(upd.classification.rules_digest, rules.digest());
        assert_eq!(kinds_since(&ledger, before).await, vec!["change.updated"]);
        let entry = ledger.store().entries(before, 1).await.expect("entry");
        let env = ward_ledger::EventEnvelope::from_leaf(&entry[0].leaf).expect("leaf");
        let ward_ledger::Payload::Inline(p) = &env.payload else {
            panic!("inline payload")
        };
        assert_eq!(p["content_changed"], Value::Bool(false));
        // Its paths live beside the log: classified again from their text, stored as references
        // whose text is the same.
        let stored = changes::get(&ledger, &c.id).await.expect("get").expect("change");
        assert!(
            stored
                .request
                .paths
                .iter()
                .all(|p| ward_app::documents::is_reference(p))
        );
        let stored = ward_app::documents::shown(&ledger, stored).await.expect("shown");
        assert_eq!(
            (stored.tier, stored.request.paths.clone()),
            (Tier::High, c.request.paths.clone())
        );
        // Again under the same rules: nothing new.
        let after = size(&ledger).await;
        changes::update(
            &ledger,
            &dana(),
            &rules,
            &ward_core::approval::ApprovalRules::default(),
            &c.id,
            &changes::ChangeUpdate::default(),
            false,
        )
        .await
        .expect("update");
        assert_eq!(size(&ledger).await, after);
        db.cleanup().await;
    }
}

/// The same attack over HTTP, against a server configured with `[artifacts]
/// mutable_prerelease = true`: the release version is still refused with 409
/// `version_conflict` naming the first digest, and nothing is recorded; the pre-release moves.
#[tokio::test]
async fn second_digest_for_a_released_version_is_refused_over_http() {
    use std::sync::Arc;
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        let signer = Arc::new(ward_ledger::Ed25519Signer::from_seed("test.ward/log", [3u8; 32]));
        let mut state = ward_server::AppState::new(ledger.clone(), signer, "test.ward/log".into());
        state.artifacts = Arc::new(evidence::ArtifactRules {
            mutable_prerelease: true,
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}/api/v1/artifacts", listener.local_addr().expect("addr"));
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(ward_server::serve(listener, state, async {
            let _ = rx.await;
        }));
        let admin = Identity {
            id: "local:test".into(),
            kind: ActorKind::Human,
            roles: vec![Role::Admin],
        };
        let token = ward_app::identities::create_token(
            &ledger,
            &admin,
            &ward_app::identities::TokenRequest {
                name: "ci".into(),
                roles: vec![Role::Developer],
                expires_in_secs: None,
                user: None,
                password: None,
            },
        )
        .await
        .expect("token")
        .token;
        let client = reqwest::Client::new();
        let post = |body: Value| {
            let req = client.post(&base).bearer_auth(&token).json(&body);
            async move {
                let resp = req.send().await.expect("send");
                let status = resp.status().as_u16();
                (status, resp.json::<Value>().await.expect("json"))
            }
        };
        let (first, second) = (digest("ab"), digest("cd"));
        let body = |d: &str, v: &str| serde_json::json!({"digest": d, "service": "patient-api", "version": v});
        assert_eq!(post(body(&first, "3.1.0")).await.0, 201);
        let before = size(&ledger).await;
        let (status, e) = post(body(&second, "3.1.0")).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (409, Some("version_conflict")),
            "{e}"
        );
        assert!(e["error"]["message"].as_str().unwrap().contains(&first), "{e}");
        assert_eq!(size(&ledger).await, before, "nothing recorded");
        assert_eq!(post(body(&first, "3.1.0")).await.0, 200);
        // The configured exception: a pre-release may move.
        assert_eq!(post(body(&digest("e1"), "3.2.0-rc.1")).await.0, 201);
        assert_eq!(post(body(&digest("e2"), "3.2.0-rc.1")).await.0, 201);
        drop(stop);
        db.cleanup().await;
    }
}
