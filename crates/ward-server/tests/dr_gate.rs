//! Issue 18 part 4 — DR readiness at the gate, on SQLite and PostgreSQL, through `gate::check`
//! over a real ledger: a service whose pgBackRest backup is older than its RPO, or whose last
//! restore test is too old, is blocked with `dr.readiness` naming the store and the age; an
//! emergency change passes, marked; the decision replays from its recorded input.

use ward_app::gate::{self, CheckRequest, GateDecision, GatePolicy};
use ward_app::{changes, evidence};
use ward_core::approval::ApprovalRules;
use ward_core::risk::RiskRules;
use ward_core::{Identity, Role};
use ward_ledger::ActorKind;
use ward_server::config::ServerConfig;
use ward_store::Ledger;
use ward_store::testing::TestDb;

const H: i64 = 3_600;
const PASSWORD: &str = "correct horse battery staple";
const D: i64 = 86_400;

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

fn policy() -> GatePolicy {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("ward.toml");
    std::fs::write(
        &path,
        "[[services]]\nname = \"orders\"\ntier = \"high\"\nrpo = \"24h\"\nrto = \"1h\"\nstores = [\"orders-db\"]\n",
    )
    .expect("write");
    ServerConfig::load(&path)
        .expect("config")
        .gate_policy()
        .expect("policy")
}

fn pgbackrest_info(stop: i64) -> Vec<u8> {
    format!(
        r#"[{{"backup":[{{"error":false,"info":{{"size":1000}},"label":"F1","timestamp":{{"start":{},"stop":{stop}}},"type":"full"}}],"name":"orders-db","status":{{"code":0,"message":"ok"}}}}]"#,
        stop - 60
    )
    .into_bytes()
}

async fn setup(ledger: &Ledger, backup_age: i64, restore_test_age: i64, kind: &str) -> String {
    setup_at(ledger, backup_age, restore_test_age, kind, "src/orders.py").await
}

/// `path`: `app/phi/…` makes the change high-risk (the default `[risk]` rules).
async fn setup_at(ledger: &Ledger, backup_age: i64, restore_test_age: i64, kind: &str, path: &str) -> String {
    let now = jiff::Timestamp::now().as_second();
    let digest = format!("sha256:{}", "0d".repeat(32));
    evidence::register(
        ledger,
        &ci(),
        &evidence::ArtifactRequest {
            digest: digest.clone(),
            service: "orders".into(),
            version: "1".into(),
            commit: None,
            branch: None,
            build_id: None,
            build_url: None,
        },
    )
    .await
    .expect("register");
    let req = evidence::AttestationRequest::from_bytes(
        evidence::DR_TARGET,
        "dr:pgbackrest",
        "info.json",
        &pgbackrest_info(now - backup_age),
        false,
    );
    evidence::attest(ledger, &ci(), &req, &Default::default())
        .await
        .expect("attest");
    // The restore test is a signature: a local user re-authenticating with their password.
    ward_app::identities::add_user(
        ledger,
        &person("local:admin", vec![Role::Admin]),
        &ward_app::identities::UserRequest {
            name: "dana".into(),
            display_name: "Dana Example".into(),
            roles: vec![Role::ReleaseManager],
            password: PASSWORD.into(),
        },
    )
    .await
    .expect("user");
    let rec = ward_app::dr::record_restore_test(
        ledger,
        &policy().dr,
        &person("user:dana", vec![Role::ReleaseManager]),
        &ward_app::dr::RestoreTestRequest {
            store: "orders-db".into(),
            finished: jiff::Timestamp::from_second(now - restore_test_age)
                .unwrap()
                .to_string(),
            duration_secs: 20 * 60,
            checked: "row counts match".into(),
            password: Some(PASSWORD.into()),
            reauth_token: None,
        },
        &Default::default(),
        now,
    )
    .await
    .expect("restore test");
    assert_eq!(
        (rec.printed_name.as_str(), rec.reauth.as_str()),
        ("Dana Example", "password")
    );
    changes::open(
        ledger,
        &person("user:dana", vec![Role::ReleaseManager]),
        &RiskRules::default(),
        &ward_core::approval::ApprovalRules::default(),
        &changes::ChangeRequest {
            title: "t".into(),
            kind: kind.into(),
            artifacts: vec![digest],
            paths: vec![path.into()],
            ..Default::default()
        },
        false,
    )
    .await
    .expect("open")
    .id
}

async fn check(ledger: &Ledger, change: &str) -> GateDecision {
    let d = gate::check(
        ledger,
        &person("user:rhea", vec![Role::ReleaseManager]),
        change,
        &CheckRequest::env("prod"),
        &policy(),
        &RiskRules::default(),
        &ApprovalRules::default(),
    )
    .await
    .expect("gate check");
    let replay = gate::replay(ledger, d.id).await.expect("replay");
    assert!(replay.identical, "{replay:?}");
    d
}

fn dr_reasons(d: &GateDecision) -> Vec<String> {
    d.reasons
        .iter()
        .filter(|r| r.rule == "dr.readiness")
        .map(|r| r.message.clone())
        .collect()
}

#[tokio::test]
async fn a_backup_older_than_the_rpo_blocks_a_normal_change_naming_the_store_and_age() {
    on_both_stores(|ledger| async move {
        let c = setup(&ledger, 30 * H, 10 * D, "normal").await;
        let d = check(&ledger, &c).await;
        assert!(!d.allow);
        let got = dr_reasons(&d);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].starts_with("orders: store orders-db: last successful backup 30h")
                && got[0].ends_with("ago, RPO 24h"),
            "{got:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_restore_test_older_than_the_tier_allows_blocks_a_normal_change() {
    on_both_stores(|ledger| async move {
        let c = setup(&ledger, 2 * H, 91 * D, "normal").await;
        let d = check(&ledger, &c).await;
        let got = dr_reasons(&d);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].starts_with("orders: store orders-db: last restore test 91d")
                && got[0].ends_with("the high tier needs one within 90 days"),
            "{got:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn fresh_dr_evidence_adds_no_reason_and_a_low_risk_change_needs_no_drill() {
    on_both_stores(|ledger| async move {
        let c = setup(&ledger, 2 * H, 10 * D, "normal").await;
        let d = check(&ledger, &c).await;
        assert!(dr_reasons(&d).is_empty(), "{:?}", d.reasons);
    })
    .await;
}

#[tokio::test]
async fn an_emergency_change_passes_dr_readiness_and_is_marked() {
    on_both_stores(|ledger| async move {
        let c = setup(&ledger, 30 * H, 10 * D, "emergency").await;
        let d = check(&ledger, &c).await;
        assert!(dr_reasons(&d).is_empty(), "{:?}", d.reasons);
        assert!(
            d.waived
                .iter()
                .any(|w| w.rule == "dr.readiness" && w.waiver == "emergency"),
            "{:?}",
            d.waived
        );
    })
    .await;
}

/// Records a successful rollback drill in prod as `ward drill rollback` does.
async fn drill(ledger: &Ledger, change: &str) {
    let env = ward_app::environment::Environment {
        name: "prod".into(),
        ..Default::default()
    };
    let digests = vec![format!("sha256:{}", "0d".repeat(32))];
    let rel = ward_app::deployments::Release {
        env: &env,
        change,
        digests: &digests,
        ring: None,
        gate_decision: 1,
        approvals: vec![],
        excused_by: vec![],
        rollback_of: None,
        requested_at: None,
        drill: true,
    };
    let run = ward_app::deployments::TargetRun {
        tenant: None,
        config_digest: None,
        status: "succeeded".into(),
        exit_code: Some(0),
        output_digest: None,
        rollback_to: None,
    };
    ward_app::deployments::append_record(
        ledger,
        &person("user:rita", vec![Role::ReleaseManager]),
        &rel,
        vec![run],
        "command",
    )
    .await
    .expect("drill record");
}

#[tokio::test]
async fn a_high_risk_change_needs_a_rollback_drill_on_record() {
    on_both_stores(|ledger| async move {
        let high = setup_at(&ledger, 2 * H, 10 * D, "normal", "app/phi/orders.py").await;
        let d = check(&ledger, &high).await;
        assert_eq!(
            dr_reasons(&d),
            ["orders: no rollback drill; a high-risk change of a high tier service needs one within 30 days"]
        );
        drill(&ledger, &high).await;
        let d = check(&ledger, &high).await;
        assert!(dr_reasons(&d).is_empty(), "{:?}", d.reasons);
    })
    .await;
}

/// A restore test of `store` finished now, signed by `user:dana` holding `role` with
/// `password`: what the refusal tests send.
async fn restore_test_now(
    ledger: &Ledger,
    role: Role,
    store: &str,
    password: &str,
) -> Result<ward_app::dr::RestoreTestRecord, ward_app::error::AppError> {
    ward_app::dr::record_restore_test(
        ledger,
        &policy().dr,
        &person("user:dana", vec![role]),
        &ward_app::dr::RestoreTestRequest {
            store: store.into(),
            finished: jiff::Timestamp::now().to_string(),
            duration_secs: 60,
            checked: "row counts match".into(),
            password: Some(password.into()),
            reauth_token: None,
        },
        &Default::default(),
        jiff::Timestamp::now().as_second(),
    )
    .await
}

#[tokio::test]
async fn a_restore_test_with_a_wrong_password_is_refused_and_recorded() {
    on_both_stores(|ledger| async move {
        setup(&ledger, 2 * H, 10 * D, "normal").await;
        let before = ward_app::dr::restore_tests(&ledger).await.expect("tests").len();
        let e = restore_test_now(&ledger, Role::ReleaseManager, "orders-db", "wrong")
            .await
            .expect_err("a wrong password signs nothing");
        assert_eq!(e.code, "reauthentication_failed", "{e:?}");
        assert_eq!(ward_app::dr::restore_tests(&ledger).await.expect("tests").len(), before);
        let size = ledger.head().await.expect("head").size();
        let last = ledger
            .store()
            .entries(size - 1, 1)
            .await
            .expect("entry")
            .pop()
            .expect("entry");
        let env = ward_ledger::EventEnvelope::from_leaf(&last.leaf).expect("leaf");
        assert_eq!(env.kind, "dr.restore_test_refused");
    })
    .await;
}

/// A restore test names a store the inventory declares: any other name is a caller's text in
/// the leaf (a helper's attack on `1d87e6e`: `--store 219451100`, a mail address, a child's
/// name and birth date were recorded). Refused, not repeated, nothing recorded.
#[tokio::test]
async fn a_restore_test_of_a_store_no_service_declares_is_refused() {
    on_both_stores(|ledger| async move {
        setup(&ledger, 2 * H, 10 * D, "normal").await;
        let before = ledger.head().await.expect("head").size();
        for store in ["219451100", "jane.doe.gmail.com", "roe-j-2015-04-12", "orders-db2"] {
            let e = restore_test_now(&ledger, Role::ReleaseManager, store, PASSWORD)
                .await
                .expect_err(store);
            assert!(
                ["unknown_store", "invalid_request", "sensitive_content"].contains(&e.code.as_str()),
                "{store}: {e:?}"
            );
            assert!(!e.message.contains(store) && !e.hint.contains(store), "{store}: {e:?}");
        }
        assert_eq!(ledger.head().await.expect("head").size(), before, "nothing recorded");
    })
    .await;
}

/// A developer attaches a backup report (any developer may) and would sign the restore test
/// too: one person alone would satisfy the DR gate of their own change. The restore test is a
/// release manager's signature; the developer's, password and all, is refused and records
/// nothing.
#[tokio::test]
async fn a_developer_alone_cannot_sign_the_restore_test_that_unblocks_their_change() {
    on_both_stores(|ledger| async move {
        setup(&ledger, 2 * H, 10 * D, "normal").await;
        let before = ward_app::dr::restore_tests(&ledger).await.expect("tests").len();
        let e = restore_test_now(&ledger, Role::Developer, "orders-db", PASSWORD)
            .await
            .expect_err("a developer signs no restore test");
        assert_eq!(e.code, "role_required", "{e:?}");
        assert_eq!(ward_app::dr::restore_tests(&ledger).await.expect("tests").len(), before);
    })
    .await;
}

/// With `[[services]]` declared, an artifact of a service the inventory does not name is
/// refused before its name reaches the log (a service's name stays in the leaf: a name holding
/// a person's birth date was judged by heuristics only — the twelfth session), and the refusal
/// does not repeat it; a declared one registers, case aside.
#[tokio::test]
async fn an_artifact_of_a_service_no_inventory_declares_is_refused_unrepeated() {
    on_both_stores(|ledger| async move {
        let mut ward = ward_app::Ward::new(ledger.clone());
        ward.gate = std::sync::Arc::new(policy());
        let req = |service: &str, byte: &str| evidence::ArtifactRequest {
            digest: format!("sha256:{}", byte.repeat(32)),
            service: service.into(),
            version: "1.0.0".into(),
            commit: None,
            branch: None,
            build_id: None,
            build_url: None,
        };
        let before = ledger.store().head().await.expect("head").size();
        let e = ward
            .register_artifact(&ci(), &req("mary-jones-zwoelfter-april", "1a"))
            .await
            .expect_err("undeclared");
        assert_eq!(e.code, "unknown_service", "{e:?}");
        assert!(!e.message.contains("mary") && !e.hint.contains("mary"), "{e:?}");
        assert_eq!(
            ledger.store().head().await.expect("head").size(),
            before,
            "nothing recorded"
        );
        ward.register_artifact(&ci(), &req("Orders", "1b"))
            .await
            .expect("declared, case aside");
        // Without an inventory, any name the identifier rules pass registers.
        let open = ward_app::Ward::new(ledger.clone());
        open.register_artifact(&ci(), &req("billing", "1c"))
            .await
            .expect("no inventory");
    })
    .await;
}
