//! The rules over deployment history, as pure functions of the records: known-good releases,
//! where a change stands on its way into an environment (placement), and what a rollback goes
//! back to. The rules take no ledger: each test writes the records it reasons about. The last
//! test runs the functions around them over both stores.

use serde_json::{Value, json};
use ward_app::deployments::{
    Deployment, TargetRun, known_good, placement_of, plan_rollback, reverted, undeclared_placement,
};
use ward_app::environment::{Environment, Ring, RuntimeConfig};
use ward_core::Identity;
use ward_ledger::ActorKind;
use ward_store::Ledger;
use ward_store::testing::TestDb;

const A: &str = "sha256:aaaa";
const B: &str = "sha256:bbbb";
const C: &str = "sha256:cccc";

/// One target run: tenant (none: the environment), status, configuration digest.
fn run(tenant: Option<&str>, status: &str, config: Option<&str>) -> TargetRun {
    TargetRun {
        tenant: tenant.map(str::to_string),
        config_digest: config.map(str::to_string),
        status: status.into(),
        exit_code: None,
        output_digest: None,
        rollback_to: None,
    }
}

/// A deployment record of `change` (digest `digest`) with its runs; `succeeded` when every run
/// did, as `append_record` records it.
fn deployment(seq: u64, env: &str, change: &str, digest: &str, runs: Vec<TargetRun>) -> Deployment {
    let status = if runs.iter().all(|r| r.status == "succeeded") {
        "succeeded"
    } else {
        "failed"
    };
    Deployment {
        change: change.into(),
        environment: env.into(),
        digests: vec![digest.into()],
        ring: None,
        tenants: runs.iter().filter_map(|r| r.tenant.clone()).collect(),
        targets: runs,
        target: "command".into(),
        status: status.into(),
        gate_decision: seq * 10,
        approvals: vec![format!("approver-of-{seq}")],
        excused_by: vec![],
        executed_by: "user:rhea".into(),
        rollback_of: None,
        requested_at: None,
        drill: false,
        started: None,
        requested: None,
        after_interruption: None,
        seq,
        time: "2026-12-01T00:00:00Z".into(),
    }
}

fn whole(seq: u64, change: &str, digest: &str, status: &str) -> Deployment {
    deployment(seq, "staging", change, digest, vec![run(None, status, None)])
}

fn rollback_of(mut d: Deployment, reverts: u64) -> Deployment {
    d.rollback_of = Some(reverts);
    d
}

fn env(name: &str, after: Option<&str>) -> Environment {
    Environment {
        name: name.into(),
        after: after.map(str::to_string),
        ..Environment::default()
    }
}

/// prod after staging, with rings internal → pilot → general.
fn ringed_prod() -> Environment {
    let ring = |name: &str, tenants: &[&str]| Ring {
        name: name.into(),
        tenants: tenants.iter().map(|t| t.to_string()).collect(),
    };
    Environment {
        rings: vec![
            ring("internal", &["internal"]),
            ring("pilot", &["clinic-a", "clinic-b"]),
            ring("general", &["general-1"]),
        ],
        ..env("prod", Some("staging"))
    }
}

fn digests(list: &[&str]) -> Vec<String> {
    list.iter().map(|d| d.to_string()).collect()
}

fn placement(env: &Environment, ds: &[&str], tenants: &[&str], previous: &[Deployment], here: &[Deployment]) -> Value {
    let tenants: Vec<String> = tenants.iter().map(|t| t.to_string()).collect();
    let units = env.select(&tenants, None).expect("tenants of the environment");
    placement_of(env, &digests(ds), &units, None, previous, here)
}

// --- known-good -------------------------------------------------------------------------------

#[test]
fn known_good_is_the_latest_earlier_release_that_differs_from_what_runs() {
    let list = [
        whole(1, "CHG-1", A, "succeeded"),
        whole(2, "CHG-2", B, "succeeded"),
        whole(3, "CHG-3", C, "succeeded"),
    ];
    let runs = ward_app::deployments::history(&list, None);
    let good = known_good(&runs, &reverted(&list), &digests(&[C]), None).expect("an earlier release");
    assert_eq!((good.deployment, good.change.as_str()), (2, "CHG-2"));
    // Only the current release: nothing to go back to.
    let only = &list[..1];
    let runs = ward_app::deployments::history(only, None);
    assert_eq!(known_good(&runs, &reverted(only), &digests(&[A]), None), None);
}

#[test]
fn a_configuration_change_alone_is_a_release_to_go_back_from() {
    let list = [
        deployment(1, "prod", "CHG-1", A, vec![run(None, "succeeded", Some("sha256:cf1"))]),
        deployment(2, "prod", "CHG-1", A, vec![run(None, "succeeded", Some("sha256:cf2"))]),
    ];
    let runs = ward_app::deployments::history(&list, None);
    let good =
        known_good(&runs, &reverted(&list), &digests(&[A]), Some("sha256:cf2")).expect("the older configuration");
    assert_eq!(good.deployment, 1);
    assert_eq!(good.config_digest.as_deref(), Some("sha256:cf1"));
}

#[test]
fn a_release_a_rollback_reverted_is_never_known_good_again() {
    // 1 (A) → 2 (B) → rollback of 2 back to A (3) → 4 (C): going back from C must not pick B.
    let list = [
        whole(1, "CHG-1", A, "succeeded"),
        whole(2, "CHG-2", B, "succeeded"),
        rollback_of(whole(3, "CHG-1", A, "succeeded"), 2),
        whole(4, "CHG-3", C, "succeeded"),
    ];
    let runs = ward_app::deployments::history(&list, None);
    let good = known_good(&runs, &reverted(&list), &digests(&[C]), None).expect("a release before C");
    assert_eq!((good.deployment, good.change.as_str()), (3, "CHG-1"));
}

#[test]
fn only_a_successful_rollback_reverts_a_deployment() {
    let list = [
        whole(1, "CHG-1", A, "succeeded"),
        whole(2, "CHG-2", B, "succeeded"),
        rollback_of(whole(3, "CHG-1", A, "failed"), 2),
    ];
    assert!(reverted(&list).is_empty(), "a failed rollback reverted nothing");
    let list = [
        list[0].clone(),
        list[1].clone(),
        rollback_of(whole(3, "CHG-1", A, "succeeded"), 2),
    ];
    assert_eq!(reverted(&list).into_iter().collect::<Vec<_>>(), vec![2]);
}

// --- placement --------------------------------------------------------------------------------

#[test]
fn placement_lists_the_digests_the_previous_environment_has_not_verified() {
    let prod = env("prod", Some("staging"));
    let p = placement(&prod, &[A, B], &[], &[whole(1, "CHG-1", A, "succeeded")], &[]);
    assert_eq!(p["declared"], json!(true));
    assert_eq!(p["previous"], json!("staging"));
    assert_eq!(p["not_in_previous"], json!([B]));
    // A failed deployment there verifies nothing.
    let p = placement(&prod, &[A], &[], &[whole(1, "CHG-1", A, "failed")], &[]);
    assert_eq!(p["not_in_previous"], json!([A]));
    // The first environment of a chain has no previous one to verify in.
    let p = placement(&env("staging", None), &[A], &[], &[], &[]);
    assert_eq!(p["previous"], Value::Null);
    assert_eq!(p["not_in_previous"], json!([]));
}

#[test]
fn placement_does_not_count_a_release_a_successful_rollback_reverted_in_the_previous_environment() {
    // The fix of "Gate placement uses the one reverted() rule": B reached staging, then a
    // successful rollback took staging back to A, so B is no longer verified there.
    let prod = env("prod", Some("staging"));
    let staging = [
        whole(1, "CHG-1", A, "succeeded"),
        whole(2, "CHG-2", B, "succeeded"),
        rollback_of(whole(3, "CHG-1", A, "succeeded"), 2),
    ];
    assert_eq!(
        placement(&prod, &[B], &[], &staging, &[])["not_in_previous"],
        json!([B])
    );
    // A rollback that failed reverted nothing: B stays verified.
    let failed_rollback = [
        staging[0].clone(),
        staging[1].clone(),
        rollback_of(whole(3, "CHG-1", A, "failed"), 2),
    ];
    assert_eq!(
        placement(&prod, &[B], &[], &failed_rollback, &[])["not_in_previous"],
        json!([])
    );
}

#[test]
fn placement_names_the_tenants_of_earlier_rings_that_do_not_run_the_release() {
    let prod = ringed_prod();
    let staging = [whole(1, "CHG-1", A, "succeeded")];
    // internal runs A; clinic-a ran A but a later deployment moved it to B; clinic-b never got A.
    let here = [
        deployment(2, "prod", "CHG-1", A, vec![run(Some("internal"), "succeeded", None)]),
        deployment(3, "prod", "CHG-1", A, vec![run(Some("clinic-a"), "succeeded", None)]),
        deployment(4, "prod", "CHG-0", B, vec![run(Some("clinic-a"), "succeeded", None)]),
        deployment(5, "prod", "CHG-1", A, vec![run(Some("clinic-b"), "failed", None)]),
    ];
    let p = placement(&prod, &[A], &["general-1"], &staging, &here);
    assert_eq!(p["tenants"], json!(["general-1"]));
    assert_eq!(
        p["earlier_rings_pending"],
        json!([{"ring": "pilot", "tenant": "clinic-a"}, {"ring": "pilot", "tenant": "clinic-b"}])
    );
    // The chosen tenants are not pending themselves, nor are later rings.
    let p = placement(&prod, &[A], &["clinic-a", "clinic-b"], &staging, &here);
    assert_eq!(p["earlier_rings_pending"], json!([]));
    // A ring not yet reached at all: every tenant of the earlier rings is pending.
    let p = placement(&prod, &[A], &["general-1"], &staging, &[]);
    assert_eq!(p["earlier_rings_pending"].as_array().map(Vec::len), Some(3));
}

#[test]
fn an_undeclared_environment_has_no_placement() {
    assert_eq!(
        undeclared_placement(),
        json!({"declared": false, "previous": null, "not_in_previous": [], "ring": null,
            "tenants": [], "earlier_rings_pending": []})
    );
}

// --- rollback planning ------------------------------------------------------------------------

#[test]
fn a_rollback_goes_back_to_the_previous_known_good_release_and_relies_on_its_record() {
    let list = [whole(1, "CHG-1", A, "succeeded"), whole(2, "CHG-2", B, "succeeded")];
    let plan = plan_rollback(&list, &env("staging", None), None).expect("a plan");
    assert_eq!(plan.reverts, 2);
    assert_eq!(
        (plan.restore.change.as_str(), plan.restore.digests.clone()),
        ("CHG-1", digests(&[A]))
    );
    assert_eq!(plan.relied_on.seq, 1);
    assert_eq!(plan.relied_on.gate_decision, 10);
    assert_eq!(plan.units, vec![(None, None)]);
}

#[test]
fn a_second_rollback_goes_further_back_instead_of_returning_to_the_reverted_release() {
    let list = [
        whole(1, "CHG-1", A, "succeeded"),
        whole(2, "CHG-2", B, "succeeded"),
        whole(3, "CHG-3", C, "succeeded"),
        rollback_of(whole(4, "CHG-2", B, "succeeded"), 3),
    ];
    let plan = plan_rollback(&list, &env("staging", None), None).expect("a plan");
    assert_eq!(plan.reverts, 4);
    assert_eq!(plan.restore.change, "CHG-1");
}

#[test]
fn each_tenant_goes_back_with_the_configuration_it_ran_then() {
    let prod = ringed_prod();
    let list = [
        deployment(
            1,
            "prod",
            "CHG-1",
            A,
            vec![
                run(Some("internal"), "succeeded", Some("cf-i1")),
                run(Some("clinic-a"), "succeeded", Some("cf-a1")),
            ],
        ),
        deployment(
            2,
            "prod",
            "CHG-2",
            B,
            vec![
                run(Some("internal"), "succeeded", Some("cf-i2")),
                run(Some("clinic-a"), "failed", Some("cf-a2")),
            ],
        ),
    ];
    // Without a tenant: the tenants the latest successful deployment reached (internal only).
    let plan = plan_rollback(&list, &prod, None).expect("a plan");
    assert_eq!(plan.reverts, 2);
    assert_eq!(
        plan.units,
        vec![(Some("internal".to_string()), Some("cf-i1".to_string()))]
    );
    // One tenant whose latest run failed still runs CHG-1: nothing older to go back to.
    let err = plan_rollback(&list, &prod, Some("clinic-a")).unwrap_err();
    assert_eq!(err.code, "no_known_good");
}

#[test]
fn tenants_that_would_go_back_to_different_releases_are_refused() {
    let prod = ringed_prod();
    let list = [
        deployment(1, "prod", "CHG-1", A, vec![run(Some("internal"), "succeeded", None)]),
        deployment(2, "prod", "CHG-2", B, vec![run(Some("clinic-a"), "succeeded", None)]),
        deployment(
            3,
            "prod",
            "CHG-3",
            C,
            vec![
                run(Some("internal"), "succeeded", None),
                run(Some("clinic-a"), "succeeded", None),
            ],
        ),
    ];
    let err = plan_rollback(&list, &prod, None).unwrap_err();
    assert_eq!(err.code, "mixed_rollback");
    assert!(
        err.message.contains("CHG-1") && err.message.contains("CHG-2"),
        "{}",
        err.message
    );
    // One tenant at a time is fine.
    assert_eq!(
        plan_rollback(&list, &prod, Some("clinic-a")).unwrap().restore.change,
        "CHG-2"
    );
}

#[test]
fn nothing_deployed_or_nothing_older_is_refused_with_its_own_code() {
    let staging = env("staging", None);
    assert_eq!(
        plan_rollback(&[], &staging, None).unwrap_err().code,
        "nothing_to_roll_back"
    );
    let failed = [whole(1, "CHG-1", A, "failed")];
    assert_eq!(
        plan_rollback(&failed, &staging, None).unwrap_err().code,
        "nothing_to_roll_back"
    );
    let once = [whole(1, "CHG-1", A, "succeeded")];
    let err = plan_rollback(&once, &staging, None).unwrap_err();
    assert_eq!(err.code, "no_known_good");
    assert_eq!(err.message, "staging has no earlier release to go back to");
}

#[test]
fn on_the_local_runtime_the_whole_environment_goes_back_with_every_tenant() {
    let local = Environment {
        runtime: Some(RuntimeConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            admin: None,
            artifacts: "dist".into(),
            health: "/healthz".into(),
            tenant_header: "x-tenant".into(),
            ready_timeout_ms: 1000,
            upstream_timeout_ms: 10_000,
        }),
        ..ringed_prod()
    };
    let runs = |with_tenant: bool| {
        let mut r = vec![run(None, "succeeded", Some("cf-env"))];
        if with_tenant {
            r.push(run(Some("internal"), "succeeded", Some("cf-i")));
        }
        r
    };
    // general-1 was never recorded: it follows the environment and is left out of the units.
    let list = [
        deployment(1, "prod", "CHG-1", A, runs(true)),
        deployment(2, "prod", "CHG-2", B, runs(true)),
    ];
    let plan = plan_rollback(&list, &local, None).expect("a plan");
    assert_eq!(plan.reverts, 2);
    assert_eq!(plan.restore.change, "CHG-1");
    assert_eq!(
        plan.units,
        vec![
            (None, Some("cf-env".to_string())),
            (Some("internal".to_string()), Some("cf-i".to_string()))
        ]
    );
}

// --- over the stores --------------------------------------------------------------------------

#[tokio::test]
async fn placement_and_rollback_read_the_records_they_decide_over_on_both_stores() {
    for db in [Some(TestDb::sqlite()), TestDb::postgres().await].into_iter().flatten() {
        let ledger = Ledger::new(ward_store::open(&db.url).await.expect("store"), ward_app::projectors());
        let by = Identity {
            id: "user:rhea".into(),
            kind: ActorKind::Human,
            roles: vec![],
        };
        let envs = [env("staging", None), env("prod", Some("staging"))];
        let record = |change: &'static str, digest: &'static str, rollback_of: Option<u64>| {
            let (ledger, by, staging) = (&ledger, &by, &envs[0]);
            async move {
                let digests = digests(&[digest]);
                let rel = ward_app::deployments::Release {
                    env: staging,
                    change,
                    digests: &digests,
                    ring: None,
                    gate_decision: 7,
                    approvals: vec!["user:alex".into()],
                    excused_by: vec![],
                    rollback_of,
                    requested_at: None,
                    drill: false,
                };
                ward_app::deployments::append_record(
                    ledger,
                    by,
                    &rel,
                    vec![run(None, "succeeded", None)],
                    "record-only",
                )
                .await
                .expect("record")
            }
        };
        record("CHG-1", A, None).await;
        let b = record("CHG-2", B, None).await;
        let verified = |p: Value| p["not_in_previous"] == json!([]);
        let only_b = digests(&[B]);
        let placement_of_b = || ward_app::deployments::placement(&ledger, &envs, &only_b, "prod", &[], None);
        assert!(verified(placement_of_b().await.expect("placement")));
        // A rollback through the record-only target: back to CHG-1, reverting B's deployment.
        let locks = ward_app::promotion::Locks::default();
        let back = ward_app::promotion::rollback(&ledger, &by, "staging", None, &envs, &locks, None)
            .await
            .expect("rollback");
        assert_eq!((back.change.as_str(), back.rollback_of), ("CHG-1", Some(b.seq)));
        assert_eq!(
            (back.gate_decision, back.approvals.clone()),
            (7, vec!["user:alex".to_string()])
        );
        // B is no longer verified in staging, and a second rollback finds nothing older than CHG-1.
        assert!(!verified(placement_of_b().await.expect("placement")));
        let again = ward_app::promotion::rollback(&ledger, &by, "staging", None, &envs, &locks, None).await;
        assert_eq!(again.unwrap_err().code, "no_known_good");
        db.cleanup().await;
    }
}

/// The board's one-pass reading of what each unit runs agrees with each unit's history: for
/// every tenant and for the environment as a whole, the last successful run.
#[test]
fn what_each_tenant_runs_now_is_the_last_entry_of_its_history() {
    let list = vec![
        deployment(
            1,
            "prod",
            "CHG-1",
            "sha256:a",
            vec![
                run(Some("t1"), "succeeded", None),
                run(Some("t2"), "succeeded", Some("c1")),
            ],
        ),
        deployment(
            2,
            "prod",
            "CHG-2",
            "sha256:b",
            vec![run(Some("t1"), "succeeded", None), run(Some("t2"), "failed", None)],
        ),
        deployment(
            3,
            "prod",
            "CHG-3",
            "sha256:c",
            vec![run(None, "succeeded", None), run(Some("t3"), "skipped", None)],
        ),
        deployment(
            4,
            "prod",
            "CHG-4",
            "sha256:d",
            vec![
                run(Some("t2"), "succeeded", Some("c2")),
                run(Some("t1"), "failed", None),
            ],
        ),
    ];
    let now = ward_app::deployments::current_runs(&list);
    for unit in [Some("t1"), Some("t2"), Some("t3"), None] {
        let last = ward_app::deployments::history(&list, unit).pop();
        assert_eq!(now.get(&unit.map(str::to_string)).cloned(), last, "{unit:?}");
    }
    let of = |t: &str| &now[&Some(t.to_string())];
    assert_eq!(of("t1").deployment, 2, "a failed later run changes nothing");
    assert_eq!(of("t2").config_digest.as_deref(), Some("c2"));
    assert!(
        !now.contains_key(&Some("t3".to_string())),
        "a skipped run is not running"
    );
}
