//! Issue 14 — attacks on the gate's policy and controls, each on SQLite and PostgreSQL, through
//! `gate::check` over a real ledger: a partial `[controls]`, waivers reaching past their finding
//! or artifact, a waiver of who must sign, a passing report hiding a failing one, and one
//! artifact's evidence standing in for another's. Each asserts the refusal (the blocking reason
//! and its rule id) and that the check recorded nothing but its decision.
//!
//! Waivers are appended as `waiver.granted` events directly (the granting path and its checks
//! are tested with `exceptions`), so these tests exercise only what the gate makes of them.

use serde_json::json;
use ward_app::gate::{self, CheckRequest, GateDecision, GatePolicy};
use ward_app::{changes, evidence};
use ward_core::approval::ApprovalRules;
use ward_core::risk::RiskRules;
use ward_core::{Identity, Role};
use ward_ledger::{ActorKind, NewEvent};
use ward_server::config::ServerConfig;
use ward_store::Ledger;
use ward_store::testing::TestDb;

fn person(id: &str, roles: Vec<Role>) -> Identity {
    Identity {
        id: id.into(),
        kind: ActorKind::Human,
        roles,
    }
}

fn ci() -> Identity {
    Identity {
        id: "token:ci".into(),
        kind: ActorKind::Automation,
        roles: vec![Role::Developer],
    }
}

fn digest(byte: &str) -> String {
    format!("sha256:{}", byte.repeat(32))
}

/// Runs `scenario` on a fresh SQLite store and, when PostgreSQL is reachable, a fresh database.
async fn on_both_stores<F, Fut>(scenario: F)
where
    F: Fn(Ledger) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for db in [Some(TestDb::sqlite()), TestDb::postgres().await].into_iter().flatten() {
        let ledger = Ledger::new(ward_store::open(&db.url).await.expect("store"), ward_app::projectors());
        scenario(ledger).await;
        db.cleanup().await;
    }
}

async fn register(ledger: &Ledger, d: &str) {
    evidence::register(
        ledger,
        &ci(),
        &evidence::ArtifactRequest {
            digest: d.into(),
            service: format!("svc-{}", &d[7..11]),
            version: "1".into(),
            commit: None,
            branch: None,
            build_id: None,
            build_url: None,
        },
    )
    .await
    .expect("register");
}

async fn attach(ledger: &Ledger, target: &str, name: &str, bytes: &[u8]) -> evidence::Attestation {
    let req = evidence::AttestationRequest::from_bytes(target, "auto", name, bytes, false);
    evidence::attest(ledger, &ci(), &req, &Default::default())
        .await
        .expect("attest")
        .0
}

fn junit(suite: &str, failures: u32) -> Vec<u8> {
    let cases: String = (0..3)
        .map(|i| {
            if i < failures {
                format!("<testcase name=\"t{i}\" classname=\"{suite}\"><failure message=\"boom\"/></testcase>")
            } else {
                format!("<testcase name=\"t{i}\" classname=\"{suite}\"/>")
            }
        })
        .collect();
    format!("<testsuite name=\"{suite}\" tests=\"3\" failures=\"{failures}\" errors=\"0\">{cases}</testsuite>")
        .into_bytes()
}

fn trivy(cves: &[(&str, &str)]) -> Vec<u8> {
    let vulns: Vec<_> = cves
        .iter()
        .map(|(id, sev)| {
            json!({"VulnerabilityID": id, "PkgName": format!("pkg-{id}"), "InstalledVersion": "1.0",
                   "FixedVersion": "1.1", "Severity": sev})
        })
        .collect();
    serde_json::to_vec(
        &json!({"SchemaVersion": 2, "ArtifactName": "app", "ArtifactType": "container_image",
        "Results": [{"Target": "app", "Class": "lang-pkgs", "Type": "pip", "Vulnerabilities": vulns}]}),
    )
    .expect("json")
}

async fn open(ledger: &Ledger, artifacts: &[&str], path: &str, ticket: bool) -> changes::Change {
    changes::open(
        ledger,
        &person("user:dana", vec![Role::Developer]),
        &RiskRules::default(),
        &ward_core::approval::ApprovalRules::default(),
        &changes::ChangeRequest {
            title: "t".into(),
            kind: "normal".into(),
            artifacts: artifacts.iter().map(|a| a.to_string()).collect(),
            paths: vec![path.into()],
            ticket_url: ticket.then(|| "https://tickets.example.org/T-1".into()),
            ..Default::default()
        },
        false,
    )
    .await
    .expect("open")
}

/// A `waiver.granted` event as the granting path records it.
async fn waive(ledger: &Ledger, approver: &str, scope: (&str, &str), rules: &[&str], finding: Option<&str>) -> String {
    let id = format!("WVR-{:08x}", rand_id(approver, scope.1, rules));
    let subject = if scope.0 == "change" {
        format!("change:{}", scope.1)
    } else {
        format!("artifact:{}", scope.1)
    };
    let mut payload = json!({
        "rules": rules, "justification": "vendor patch is due next sprint",
        "compensating_control": "WAF rule blocks the vector", "owner": "user:owen",
        "expires_in_secs": 86_400, "id": id, "approver": approver,
        "expires_secs": jiff::Timestamp::now().as_second() + 86_400,
    });
    payload[scope.0] = json!(scope.1);
    // A change's waiver names the content it was granted on, as `ward waiver grant` records it
    // (without it, it excuses nothing).
    if scope.0 == "change" {
        let change = ward_app::changes::get(ledger, scope.1)
            .await
            .expect("read")
            .expect("change");
        payload["covers"] = json!(ward_app::approvals::content_digest(&change));
    }
    if let Some(f) = finding {
        payload["finding"] = json!(f);
    }
    ledger
        .append(NewEvent {
            actor: ward_ledger::Actor {
                id: approver.into(),
                kind: ActorKind::Human,
            },
            kind: "waiver.granted".into(),
            subject,
            payload,
        })
        .await
        .expect("waiver");
    id
}

fn rand_id(a: &str, b: &str, rules: &[&str]) -> u32 {
    let d = ward_evidence::digest::of_bytes(format!("{a}{b}{rules:?}").as_bytes());
    u32::from_str_radix(&d[7..15], 16).unwrap_or(0)
}

/// Checks the gate for prod and asserts that the check recorded exactly one event: its decision.
async fn check(ledger: &Ledger, policy: &GatePolicy, change: &str) -> GateDecision {
    let before = ledger.head().await.expect("head").size();
    let d = gate::check(
        ledger,
        &person("user:rhea", vec![Role::ReleaseManager]),
        change,
        &CheckRequest::env("prod"),
        policy,
        &RiskRules::default(),
        &ApprovalRules::default(),
    )
    .await
    .expect("gate check");
    assert_eq!(
        ledger.head().await.expect("head").size(),
        before + 1,
        "only the decision is recorded"
    );
    let entry = ledger
        .store()
        .entries(d.id, 1)
        .await
        .expect("entry")
        .pop()
        .expect("entry");
    let env = ward_ledger::EventEnvelope::from_leaf(&entry.leaf).expect("leaf");
    assert_eq!(env.kind, "gate.evaluated");
    let replay = gate::replay(ledger, d.id).await.expect("replay");
    assert!(replay.identical, "{replay:?}");
    // The record names reports by reference; people read the text.
    ward_app::documents::shown(ledger, d).await.expect("shown")
}

fn rules(d: &GateDecision) -> Vec<&str> {
    d.reasons.iter().map(|r| r.rule.as_str()).collect()
}

fn default_policy() -> GatePolicy {
    GatePolicy::load(None, gate::Controls::default()).expect("policy")
}

#[tokio::test]
async fn partial_controls_naming_only_high_still_block_a_medium_change() {
    on_both_stores(|ledger| async move {
        // The pattern the docs show: [controls] names only `high`.
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("ward.toml");
        std::fs::write(&path, "[controls.tiers.high]\napprovals = 3\n").expect("write");
        let policy = ServerConfig::load(&path)
            .expect("config")
            .gate_policy()
            .expect("policy");
        let a = digest("a1");
        register(&ledger, &a).await;
        attach(&ledger, &a, "unit.xml", &junit("unit", 0)).await;
        attach(&ledger, &a, "trivy.json", &trivy(&[("CVE-2026-0001", "CRITICAL")])).await;
        // A billing change is medium; 0 approvals, a critical finding, no ticket.
        let c = open(&ledger, &[&a], "src/billing/invoice.py", false).await;
        assert_eq!(c.tier.as_str(), "medium");
        let d = check(&ledger, &policy, &c.id).await;
        assert!(!d.allow);
        let got = rules(&d);
        for want in [
            "approvals.quorum",
            "vulnerabilities.critical_open",
            "evidence.no_critical_sast",
            "evidence.sbom",
            "change.ticket_missing",
        ] {
            assert!(got.contains(&want), "{want} missing from {got:?}");
        }
        // Data without the tier at all (a hand-made policy document) fails closed too.
        let mut bare = default_policy();
        bare.controls.tiers.remove("medium");
        let d = check(&ledger, &bare, &c.id).await;
        assert!(!d.allow);
        assert!(rules(&d).contains(&"controls.missing"), "{:?}", d.reasons);
    })
    .await;
}

#[tokio::test]
async fn finding_waiver_does_not_excuse_other_findings() {
    on_both_stores(|ledger| async move {
        let a = digest("b1");
        register(&ledger, &a).await;
        attach(&ledger, &a, "unit.xml", &junit("unit", 0)).await;
        attach(
            &ledger,
            &a,
            "trivy.json",
            &trivy(&[("CVE-2026-0001", "CRITICAL"), ("CVE-2026-0002", "CRITICAL")]),
        )
        .await;
        let c = open(&ledger, &[&a], "README.md", false).await;
        let w = waive(
            &ledger,
            "user:quinn",
            ("change", &c.id),
            &["vulnerabilities.critical_open"],
            Some("CVE-2026-0001"),
        )
        .await;
        // A change-wide waiver of the rule (no finding) does not excuse critical findings either.
        waive(&ledger, "user:quinn", ("change", &c.id), &["vulnerabilities."], None).await;
        let d = check(&ledger, &default_policy(), &c.id).await;
        assert!(!d.allow);
        let open_criticals: Vec<&str> = d
            .reasons
            .iter()
            .filter(|r| r.rule == "vulnerabilities.critical_open")
            .map(|r| r.message.as_str())
            .collect();
        assert_eq!(open_criticals.len(), 1, "{:?}", d.reasons);
        assert!(open_criticals[0].contains("CVE-2026-0002"), "{open_criticals:?}");
        assert_eq!(d.waived.len(), 1, "{:?}", d.waived);
        assert_eq!(d.waived[0].waiver, w);
        assert!(d.waived[0].message.contains("CVE-2026-0001"));
    })
    .await;
}

#[tokio::test]
async fn artifact_waiver_excuses_only_that_artifacts_reason() {
    on_both_stores(|ledger| async move {
        let (a, b) = (digest("c1"), digest("c2"));
        register(&ledger, &a).await;
        register(&ledger, &b).await;
        attach(&ledger, &a, "trivy.json", &trivy(&[("CVE-2026-0003", "CRITICAL")])).await;
        attach(&ledger, &b, "trivy.json", &trivy(&[("CVE-2026-0003", "CRITICAL")])).await;
        let c = open(&ledger, &[&a, &b], "README.md", false).await;
        // Scoped to artifact A (keyed by its digest): loaded into the input, excuses A's only.
        let w = waive(
            &ledger,
            "user:quinn",
            ("artifact", &a),
            &["vulnerabilities."],
            Some("CVE-2026-0003"),
        )
        .await;
        // (A waiver naming a finding excuses only reasons about that finding: tests need their own.)
        let w2 = waive(
            &ledger,
            "user:quinn",
            ("artifact", &a),
            &["evidence.tests_passed"],
            None,
        )
        .await;
        let d = check(&ledger, &default_policy(), &c.id).await;
        assert!(!d.allow);
        let crit: Vec<&str> = d
            .reasons
            .iter()
            .filter(|r| r.rule == "vulnerabilities.critical_open")
            .map(|r| r.message.as_str())
            .collect();
        assert_eq!(crit.len(), 1, "{:?}", d.reasons);
        assert!(crit[0].contains(&b), "{crit:?}");
        // tests_passed is missing on both; the waiver excuses A's reason, B's still blocks.
        let tests: Vec<&str> = d
            .reasons
            .iter()
            .filter(|r| r.rule == "evidence.tests_passed")
            .map(|r| r.message.as_str())
            .collect();
        assert_eq!(tests.len(), 1, "{:?}", d.reasons);
        assert!(tests[0].contains(&b), "{tests:?}");
        assert!(
            d.waived
                .iter()
                .all(|x| (x.waiver == w || x.waiver == w2) && x.message.contains(&a)),
            "{:?}",
            d.waived
        );
        assert_eq!(d.waived.len(), 2, "{:?}", d.waived);
    })
    .await;
}

#[tokio::test]
async fn passing_report_does_not_hide_a_failing_report_of_another_suite() {
    on_both_stores(|ledger| async move {
        let a = digest("d1");
        register(&ledger, &a).await;
        let failing = attach(&ledger, &a, "integration.xml", &junit("integration", 2)).await;
        attach(&ledger, &a, "unit.xml", &junit("unit", 0)).await;
        let c = open(&ledger, &[&a], "README.md", false).await;
        let d = check(&ledger, &default_policy(), &c.id).await;
        assert!(!d.allow);
        let r = d
            .reasons
            .iter()
            .find(|r| r.rule == "evidence.tests_failed")
            .unwrap_or_else(|| panic!("{:?}", d.reasons));
        assert!(r.message.contains("integration.xml"), "{r:?}");
        assert!(r.message.contains(&failing.id), "{r:?}");
        assert!(!r.message.contains("unit.xml"), "{r:?}");
        // A later report of the same suite from the same pipeline supersedes the failing one.
        attach(&ledger, &a, "integration-rerun.xml", &junit("integration", 0)).await;
        let d = check(&ledger, &default_policy(), &c.id).await;
        assert!(
            !rules(&d).iter().any(|r| r.starts_with("evidence.tests")),
            "{:?}",
            d.reasons
        );
    })
    .await;
}

#[tokio::test]
async fn evidence_on_one_artifact_does_not_satisfy_another() {
    on_both_stores(|ledger| async move {
        let (a, b) = (digest("e1"), digest("e2"));
        register(&ledger, &a).await;
        register(&ledger, &b).await;
        attach(&ledger, &a, "unit.xml", &junit("unit", 0)).await;
        let c = open(&ledger, &[&a, &b], "README.md", false).await;
        let d = check(&ledger, &default_policy(), &c.id).await;
        assert!(!d.allow);
        let tests: Vec<&str> = d
            .reasons
            .iter()
            .filter(|r| r.rule == "evidence.tests_passed")
            .map(|r| r.message.as_str())
            .collect();
        assert_eq!(tests.len(), 1, "{:?}", d.reasons);
        assert!(tests[0].contains(&b) && !tests[0].contains(&a), "{tests:?}");
        // Evidence attached to the change counts for every artifact.
        attach(&ledger, &c.id, "unit.xml", &junit("unit", 0)).await;
        let d = check(&ledger, &default_policy(), &c.id).await;
        assert!(!rules(&d).contains(&"evidence.tests_passed"), "{:?}", d.reasons);
    })
    .await;
}

#[tokio::test]
async fn self_granted_waiver_of_who_must_sign_does_not_excuse() {
    on_both_stores(|ledger| async move {
        let a = digest("f1");
        register(&ledger, &a).await;
        // A PHI change (high): no approvals, no privacy review; waivers of approvals.,
        // checklist. and evidence. by one person (even two) excuse none of who must sign, and
        // one approver is not enough for evidence on high.
        let c = changes::open(
            &ledger,
            &person("user:dana", vec![Role::Developer]),
            &RiskRules::default(),
            &ward_core::approval::ApprovalRules::default(),
            &changes::ChangeRequest {
                title: "t".into(),
                kind: "normal".into(),
                artifacts: vec![a.clone()],
                attributes: vec!["phi".into()],
                ticket_url: Some("https://tickets.example.org/T-2".into()),
                ..Default::default()
            },
            false,
        )
        .await
        .expect("open");
        assert_eq!(c.tier.as_str(), "high");
        waive(
            &ledger,
            "user:dana",
            ("change", &c.id),
            &["approvals.", "checklist.", "evidence."],
            None,
        )
        .await;
        waive(
            &ledger,
            "user:quinn",
            ("change", &c.id),
            &["approvals.quorum", "checklist.privacy-review"],
            None,
        )
        .await;
        let d = check(&ledger, &default_policy(), &c.id).await;
        assert!(!d.allow);
        let got = rules(&d);
        for want in [
            "approvals.quorum",
            "approvals.role.release-manager",
            "checklist.privacy-review",
            "evidence.sbom",
        ] {
            assert!(got.contains(&want), "{want} missing from {got:?}");
        }
        assert!(d.waived.is_empty(), "{:?}", d.waived);
        // The opener's own waiver never counts (she is a party of the change): two approvers
        // independent of it waiving evidence. excuse it; the signatures still are not.
        waive(&ledger, "user:quinn", ("change", &c.id), &["evidence."], None).await;
        let d = check(&ledger, &default_policy(), &c.id).await;
        assert!(rules(&d).iter().any(|r| r.starts_with("evidence.")), "{:?}", d.reasons);
        waive(&ledger, "user:rhea", ("change", &c.id), &["evidence."], None).await;
        let d = check(&ledger, &default_policy(), &c.id).await;
        assert!(!rules(&d).iter().any(|r| r.starts_with("evidence.")), "{:?}", d.reasons);
        assert!(rules(&d).contains(&"approvals.quorum"));
        assert!(
            d.waived.iter().all(|x| x.rule.starts_with("evidence.")),
            "{:?}",
            d.waived
        );
    })
    .await;
}

/// A mistyped environment (`prdo`) was judged as "the change targets [dev], not prdo". With
/// environments declared, an undeclared one is refused by name with the closest declared one, and
/// nothing is recorded.
#[tokio::test]
async fn a_mistyped_environment_is_named_not_judged() {
    on_both_stores(|ledger| async move {
        let envs: Vec<ward_app::environment::Environment> =
            [("dev", None), ("staging", Some("dev")), ("prod", Some("staging"))]
                .into_iter()
                .map(|(n, after)| ward_app::environment::Environment {
                    name: n.into(),
                    after: after.map(Into::into),
                    ..Default::default()
                })
                .collect();
        let policy = default_policy().with_environments(&envs).expect("environments");
        let change = open(&ledger, &[], "docs/readme.md", false).await;
        let before = ledger.head().await.expect("head").size();
        let e = gate::check(
            &ledger,
            &person("user:rhea", vec![Role::ReleaseManager]),
            &change.id,
            &CheckRequest::env("prdo"),
            &policy,
            &RiskRules::default(),
            &ApprovalRules::default(),
        )
        .await
        .expect_err("prdo is not declared");
        let e = ward_server::ApiError::from(e);
        assert_eq!(
            (e.status.as_u16(), e.detail.code.as_str()),
            (422, "unknown_environment")
        );
        assert!(e.detail.hint.contains("did you mean prod?"), "{}", e.detail.hint);
        assert_eq!(ledger.head().await.expect("head").size(), before);
        // History reads: a typo is not "nothing was deployed" (it used to answer 200 []).
        for e in [
            ward_app::deployments::deployment_history(&ledger, &envs, "prdo")
                .await
                .expect_err("deployments of prdo"),
            ward_app::rollout::history(&ledger, &envs, Some("prdo"))
                .await
                .expect_err("rollouts of prdo"),
            ward_app::promotion::release_notes(
                &ledger,
                &envs,
                "prdo",
                None,
                &RiskRules::default(),
                &ApprovalRules::default(),
            )
            .await
            .expect_err("release notes of prdo"),
        ] {
            let e = ward_server::ApiError::from(e);
            assert_eq!(
                (e.status.as_u16(), e.detail.code.as_str()),
                (404, "unknown_environment")
            );
            assert!(e.detail.hint.contains("did you mean prod?"), "{}", e.detail.hint);
        }
        // A declared environment with nothing deployed yet is an empty history, not an error.
        assert!(
            ward_app::deployments::deployment_history(&ledger, &envs, "prod")
                .await
                .expect("prod")
                .is_empty()
        );
        assert!(
            ward_app::rollout::history(&ledger, &envs, Some("prod"))
                .await
                .expect("prod")
                .is_empty()
        );
    })
    .await;
}
