//! The gate input document matches its published JSON Schema (docs/gate-input.schema.json),
//! for a change with evidence, vulnerabilities, approvals and a calendar.

use serde_json::json;
use ward_app::{changes, deployments, environment, evidence, gate};
use ward_core::Identity;
use ward_core::approval::ApprovalRules;
use ward_core::calendar::{Calendar, Freeze};
use ward_core::risk::RiskRules;
use ward_ledger::ActorKind;

#[derive(serde::Deserialize)]
struct Envs {
    environments: Vec<environment::Environment>,
}
use ward_store::Ledger;
use ward_store::testing::TestDb;

/// Paths of `value`'s object keys that `schema` (where it lists `properties`) does not describe.
fn undescribed(schema: &serde_json::Value, value: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(m) => {
            let Some(props) = schema.get("properties").and_then(serde_json::Value::as_object) else {
                return;
            };
            for (k, v) in m {
                match props.get(k) {
                    Some(s) => undescribed(s, v, &format!("{path}/{k}"), out),
                    None => out.push(format!("{path}/{k}")),
                }
            }
        }
        serde_json::Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for (i, v) in items.iter().enumerate() {
                    undescribed(s, v, &format!("{path}/{i}"), out);
                }
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn input_documents_match_the_published_schema() {
    let db = TestDb::sqlite();
    let ledger = Ledger::new(ward_store::open(&db.url).await.expect("store"), ward_app::projectors());
    let ci = Identity {
        id: "token:ci".into(),
        kind: ActorKind::Automation,
        roles: vec![ward_core::Role::Developer],
    };
    let digest = format!("sha256:{}", "ab".repeat(32));
    evidence::register(
        &ledger,
        &ci,
        &evidence::ArtifactRequest {
            digest: digest.clone(),
            service: "api".into(),
            version: "1".into(),
            commit: None,
            branch: None,
            build_id: None,
            build_url: None,
        },
    )
    .await
    .expect("register");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ward-evidence/tests/fixtures");
    for f in ["pytest.xml", "semgrep.sarif", "public/trivy.json"] {
        let bytes = std::fs::read(fixtures.join(f)).expect("fixture");
        let name = f.rsplit('/').next().unwrap_or(f);
        let req = evidence::AttestationRequest::from_bytes(&digest, "auto", name, &bytes, false);
        evidence::attest(&ledger, &ci, &req, &Default::default())
            .await
            .expect("attest");
    }
    let change = changes::open(
        &ledger,
        &ci,
        &RiskRules::default(),
        &ward_core::approval::ApprovalRules::default(),
        &changes::ChangeRequest {
            title: "t".into(),
            kind: "normal".into(),
            artifacts: vec![digest.clone()],
            attributes: vec!["phi".into()],
            environments: vec!["prod".into()],
            ..Default::default()
        },
        false,
    )
    .await
    .expect("open");
    let calendar = Calendar {
        windows: vec![],
        freezes: vec![Freeze {
            name: "always".into(),
            from: "2000-01-01".into(),
            to: "2999-12-31".into(),
            tz: "UTC".into(),
            environments: vec![],
        }],
    };
    // prod comes after staging, where nothing was deployed yet.
    let envs: Vec<environment::Environment> = toml::from_str::<Envs>(
        "[[environments]]\nname = \"staging\"\n[[environments]]\nname = \"prod\"\nafter = \"staging\"\n",
    )
    .expect("environments")
    .environments;
    let placement = deployments::placement(&ledger, &envs, &change.request.artifacts, "prod", &[], None)
        .await
        .expect("placement");
    let input = gate::input(
        &ledger,
        &change,
        "user:rhea",
        "prod",
        &calendar,
        placement,
        &RiskRules::default(),
        &ApprovalRules::default(),
        false,
    )
    .await
    .expect("input");
    // `slo` is added by gate::check from Prometheus; one judged objective stands in for it here.
    let mut input = input;
    let objective: ward_core::slo::Objective = toml::from_str(
        "service = \"reminders\"\nenvironments = [\"prod\"]\nprometheus = \"http://127.0.0.1:9\"\nquery = \"x[{{window}}]\"\nobjective = 0.999\n",
    )
    .expect("objective");
    input["slo"] = json!([ward_core::slo::judge(
        &objective,
        "prod",
        &[(Ok(0.02), Ok(0.05)), (Ok(0.0), Err("no series".into()))]
    )]);
    // `dr` too: one service judged with a stale backup, no restore test and no drill.
    let service: ward_core::dr::Service = toml::from_str(
        "name = \"reminders\"\ntier = \"high\"\nrpo = \"24h\"\nrto = \"1h\"\nstores = [\"reminders-db\"]\n",
    )
    .expect("service");
    let evidence = ward_core::dr::Evidence {
        jobs: vec![ward_core::dr::Job {
            store: "reminders-db".into(),
            kind: "backup".into(),
            succeeded: true,
            started: Some(0),
            finished: Some(60),
            tool: "pgbackrest".into(),
            id: "F1".into(),
        }],
        ..Default::default()
    };
    input["dr"] = json!([ward_core::dr::judge(
        &service,
        &Default::default(),
        &evidence,
        true,
        200_000
    )]);
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../docs/gate-input.schema.json")).expect("schema");
    let validator = ward_evidence::custom::compile(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&input)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{input:#}");
    // Every field the server writes is described (a new field without a schema entry fails here,
    // so docs/POLICY.md and the schema cannot fall behind the input).
    let mut missing = Vec::new();
    undescribed(&schema, &input, "", &mut missing);
    assert!(missing.is_empty(), "not in docs/gate-input.schema.json: {missing:?}");
    assert_eq!(input["vulnerabilities"].as_array().map(Vec::len), Some(2));
    assert_eq!(input["evidence"].as_array().map(Vec::len), Some(3));
    assert_eq!(input["calendar"]["freezes"], json!(["always"]));
    // And the bundled policy blocks it for the freeze, the failing tests, the missing approvals
    // and the privacy review a PHI change needs.
    let policy = gate::GatePolicy {
        calendar,
        ..gate::GatePolicy::load(None, gate::Controls::default()).expect("policy")
    };
    let d = ward_core::gate::evaluate(&policy.bundle, &input, &policy.data()).expect("evaluates");
    let rules: Vec<&str> = d.reasons.iter().map(|r| r.rule.as_str()).collect();
    // The freeze says when it ends, in UTC and in its zone.
    let freeze = d.reasons.iter().find(|r| r.rule == "calendar.freeze").expect("frozen");
    assert!(
        freeze.message.contains(" until ") && input["calendar"]["freeze_ends"][0]["name"] == "always",
        "{} {:#}",
        freeze.message,
        input["calendar"]
    );
    for want in [
        "calendar.freeze",
        "evidence.tests_passed",
        "approvals.quorum",
        "checklist.privacy-review",
        "evidence.provenance",
        "promotion.previous_environment",
    ] {
        assert!(rules.contains(&want), "{want} missing from {rules:?}");
    }
    db.cleanup().await;
}
