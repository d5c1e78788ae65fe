//! The rollout plan as a pure function of the strategy and the environment: with few tenants
//! and sticky assignment, a canary step that no tenant hashes into goes by request, so the
//! canary still gets traffic to judge (issue 17: five clinics, a 10% canary, zero requests).

use ward_app::environment::{Environment, Strategy};
use ward_app::rollout::plan;
use ward_core::canary::bucket_of;

fn canary(steps: &[u8]) -> Strategy {
    serde_json::from_value(serde_json::json!({"kind": "canary", "steps": steps})).expect("strategy")
}

fn clinics(tenants: &[&str]) -> Environment {
    Environment {
        name: "prod".into(),
        tenants: tenants.iter().map(|t| t.to_string()).collect(),
        ..Environment::default()
    }
}

#[test]
fn a_canary_step_no_tenant_hashes_into_goes_by_request() {
    let five = ["clinic-a", "clinic-b", "clinic-c", "clinic-d", "clinic-e"];
    // clinic-a's bucket is 19: below 10% no clinic is on the canary, from 20% one is.
    assert_eq!(five.iter().map(|c| bucket_of(c)).min(), Some(19));
    let steps = plan(&canary(&[10, 20, 50, 100]), &clinics(&five)).expect("plan");
    let by_request: Vec<bool> = steps.iter().map(|s| s.by_request).collect();
    assert_eq!(by_request, vec![true, false, false, false]);
    assert_eq!(steps[0].label, "10% by request");
    assert_eq!(steps[1].label, "20%");
}

#[test]
fn without_declared_tenants_or_at_full_share_steps_stay_sticky() {
    let none = plan(&canary(&[10, 100]), &clinics(&[])).expect("plan");
    assert!(none.iter().all(|s| !s.by_request), "{none:?}");
    // `north` hashes into bucket 0: even a 1% step has a tenant on the canary.
    assert_eq!(bucket_of("north"), 0);
    let sticky = plan(&canary(&[1, 100]), &clinics(&["north", "south"])).expect("plan");
    assert!(sticky.iter().all(|s| !s.by_request), "{sticky:?}");
}
