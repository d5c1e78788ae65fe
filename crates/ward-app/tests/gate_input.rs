//! The gate input as a pure function: `input_document(&facts, calendar, rules, now)`. Each test
//! writes the facts it reasons about (what `gate::facts` would have read from the log) and
//! passes the clock, so the rules of the input — when a waiver or a break-glass is in force,
//! whose signature counts, when a vulnerability was first seen, which freeze applies — are
//! checked without a store. The last test reads the facts from both stores and checks that the
//! document built from them is the one `gate::input` returns.

use serde_json::{Value, json};
use ward_app::approvals::Approval;
use ward_app::changes::Change;
use ward_app::evidence::Attestation;
use ward_app::exceptions::{Breakglass, Waiver};
use ward_app::gate::{GateFacts, Rebound, facts, input_document};
use ward_core::approval::ApprovalRules;
use ward_core::calendar::{Calendar, Freeze};

const A: &str = "sha256:aaaa";
const T: i64 = 1_800_000_000;

fn at(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(secs).expect("time")
}

fn change(opener: &str, editors: &[&str]) -> Change {
    serde_json::from_value(json!({
        "id": "CHG-1", "title": "Export fix", "kind": "normal", "artifacts": [A],
        "environments": ["prod"], "opener": opener, "editors": editors,
        "classification": {"tier": "high", "tags": ["phi"], "matched": ["phi"]},
        "tier": "high", "seq": 1, "time": "2027-01-01T00:00:00Z",
    }))
    .expect("change")
}

/// A waiver of the change granted on `on` (the change as it was then).
fn waiver(id: &str, approver: &str, expires_secs: i64, on: &Change) -> Waiver {
    serde_json::from_value(json!({
        "id": id, "change": "CHG-1", "rules": ["evidence.sast"], "justification": "vendor fix due",
        "expires_secs": expires_secs, "approver": approver, "seq": 5, "time": "2027-01-01T00:00:00Z",
        "compensating_control": "WAF rule", "owner": "user:sec", "expires_in_secs": 86400,
        "covers": ward_app::approvals::content_digest(on),
    }))
    .expect("waiver")
}

/// A break-glass invoked on `on` (the change as it was then).
fn breakglass(until_secs: i64, on: &Change) -> Breakglass {
    serde_json::from_value(json!({
        "id": "BG-1", "change": "CHG-1", "rules": ["approvals."], "justification": "outage",
        "duration_secs": 3600, "by": "user:oncall", "until_secs": until_secs,
        "review_due_secs": until_secs + 86400, "seq": 6, "time": "2027-01-01T00:00:00Z",
        "covers": ward_app::approvals::content_digest(on),
    }))
    .expect("breakglass")
}

fn approval(signer: &str, stale: bool) -> Approval {
    serde_json::from_value(json!({
        "change": "CHG-1", "signer": signer, "printed_name": "Q. Lead", "meaning": "qa-signoff",
        "decision": "approved", "comment": "", "reauth": "password", "signer_roles": ["approver"],
        "manifest": {"change": "CHG-1", "artifacts": [A], "attestations": [], "policy": "p"},
        "manifest_digest": "sha256:m", "stale": stale, "seq": 7, "time": "2027-01-01T00:00:00Z",
    }))
    .expect("approval")
}

fn vulns(list: Value) -> Attestation {
    serde_json::from_value(json!({
        "id": "ATT-1", "artifact": A, "type": "vulns", "file_name": "trivy.json", "size": 10,
        "summary": {"list": list}, "added_by": "token:ci", "seq": 3, "time": "2027-01-01T00:00:00Z",
    }))
    .expect("attestation")
}

fn facts_of(change: Change) -> GateFacts {
    GateFacts {
        change,
        requested_by: "user:rm".into(),
        environment: "prod".into(),
        attestations: vec![],
        rebound: vec![],
        services: vec![],
        manifest_digest: "sha256:m".into(),
        signatures: vec![],
        waivers: vec![],
        breakglass: vec![],
        promotion: Value::Null,
        accepts_rebound: false,
    }
}

fn doc(facts: &GateFacts, now: i64) -> Value {
    input_document(facts, &Calendar::default(), &ApprovalRules::default(), at(now)).expect("input")
}

#[test]
fn a_waiver_is_in_force_until_its_expiry_and_not_at_it() {
    let mut f = facts_of(change("user:dev", &[]));
    f.waivers = vec![waiver("WVR-1", "user:sec", T, &f.change)];
    assert_eq!(doc(&f, T - 1)["waivers"][0]["active"], true);
    assert_eq!(doc(&f, T)["waivers"][0]["active"], false);
}

#[test]
fn a_waiver_granted_by_a_party_of_the_change_is_never_in_force() {
    // The opener, and an editor who joined after the waiver was granted.
    for (opener, editors) in [("user:sec", vec![]), ("user:dev", vec!["user:sec"])] {
        let mut f = facts_of(change(opener, &editors));
        f.waivers = vec![waiver("WVR-1", "user:sec", T, &f.change)];
        assert_eq!(doc(&f, T - 100)["waivers"][0]["active"], false, "{opener} {editors:?}");
    }
}

/// A change's waiver excuses the change as it was granted on: swapped for another artifact,
/// the change keeps none of it (a helper's note on the thirteenth session's head: a waiver of
/// every SLA finding, given for the first artifact, excused the second's). An artifact's waiver
/// is scoped to a digest and holds; a change's waiver recorded without its content holds over
/// none (fail closed).
#[test]
fn a_changes_waiver_excuses_nothing_once_the_change_is_edited_after_it() {
    let mut f = facts_of(change("user:dev", &[]));
    f.waivers = vec![waiver("WVR-1", "user:sec", T, &f.change)];
    assert_eq!(doc(&f, T - 1)["waivers"][0]["active"], true);
    assert_eq!(doc(&f, T - 1)["waivers"][0]["stale"], false);
    f.change.request.artifacts = vec![format!("sha256:{}", "b".repeat(64))];
    let edited = doc(&f, T - 1);
    assert_eq!(edited["waivers"][0]["active"], false, "{}", edited["waivers"]);
    assert_eq!(edited["waivers"][0]["stale"], true);
    // Reclassified is edited too.
    let mut f = facts_of(change("user:dev", &[]));
    f.waivers = vec![waiver("WVR-1", "user:sec", T, &f.change)];
    f.change.tier = ward_core::risk::Tier::Medium;
    assert_eq!(doc(&f, T - 1)["waivers"][0]["active"], false);
    // Recorded without the content it covers.
    let mut f = facts_of(change("user:dev", &[]));
    let mut old = waiver("WVR-1", "user:sec", T, &f.change);
    old.covers = None;
    f.waivers = vec![old.clone()];
    assert_eq!(doc(&f, T - 1)["waivers"][0]["active"], false);
    // An artifact's waiver names no content and holds whatever the change holds.
    let mut of_artifact = old;
    of_artifact.request.change = None;
    of_artifact.request.artifact = Some(A.into());
    f.waivers = vec![of_artifact];
    f.change.request.title = "edited".into();
    assert_eq!(doc(&f, T - 1)["waivers"][0]["active"], true);
}

#[test]
fn a_signature_by_an_editor_is_stale_whatever_the_state_tables_say() {
    let mut f = facts_of(change("user:dev", &["user:qa"]));
    f.signatures = vec![approval("user:qa", false), approval("user:lead", false)];
    let d = doc(&f, T);
    assert_eq!(d["approvals"][0]["stale"], true);
    assert_eq!(d["approvals"][0]["by_party"], true);
    assert_eq!(d["approvals"][1]["stale"], false);
    assert_eq!(d["approvals"][1]["by_party"], false);
    // A signature the tables already judged stale stays stale.
    f.signatures = vec![approval("user:lead", true)];
    assert_eq!(doc(&f, T)["approvals"][0]["stale"], true);
}

#[test]
fn a_break_glass_is_in_force_until_its_end() {
    let mut f = facts_of(change("user:dev", &[]));
    f.breakglass = vec![breakglass(T, &f.change)];
    assert_eq!(doc(&f, T - 1)["breakglass"][0]["active"], true);
    assert_eq!(doc(&f, T)["breakglass"][0]["active"], false);
}

#[test]
fn a_break_glass_bypasses_nothing_once_the_change_is_edited_after_it() {
    // A helper's attack on the twelfth session's head: the glass broken, a developer swapped
    // the change's artifact and a token deployed the new one under the bypass, unsigned.
    let before = change("user:dev", &[]);
    let mut f = facts_of(before.clone());
    f.change.request.artifacts = vec!["sha256:bbbb".into()];
    f.breakglass = vec![breakglass(T, &before)];
    let d = doc(&f, T - 100);
    assert_eq!(d["breakglass"][0]["active"], false);
    assert_eq!(d["breakglass"][0]["stale"], true);
    // Reclassified since (another tier in force): stale too.
    let mut f = facts_of(before.clone());
    f.change.tier = ward_core::risk::Tier::Low;
    f.breakglass = vec![breakglass(T, &before)];
    assert_eq!(doc(&f, T - 100)["breakglass"][0]["active"], false);
    // A record naming no content (made before the binding) bypasses nothing: fail closed.
    let mut f = facts_of(before.clone());
    let mut old = breakglass(T, &before);
    old.covers = None;
    f.breakglass = vec![old];
    assert_eq!(doc(&f, T - 100)["breakglass"][0]["active"], false);
    // Unchanged, it holds.
    let mut f = facts_of(before.clone());
    f.breakglass = vec![breakglass(T, &before)];
    assert_eq!(doc(&f, T - 100)["breakglass"][0]["active"], true);
    assert_eq!(doc(&f, T - 100)["breakglass"][0]["stale"], false);
}

#[test]
fn a_vulnerability_with_no_first_seen_time_was_first_seen_at_the_clock() {
    let mut f = facts_of(change("user:dev", &[]));
    f.attestations = vec![(
        A.into(),
        vulns(json!([
            {"id": "CVE-1", "severity": "critical", "open": true, "first_seen": "2027-01-02T00:00:00Z"},
            {"id": "CVE-2", "severity": "high", "open": true},
            {"id": "CVE-3", "severity": "high", "open": true, "first_seen": "not a time"},
        ])),
    )];
    let d = doc(&f, T);
    let v = d["vulnerabilities"].as_array().expect("list");
    assert_eq!(v[0]["first_seen_secs"], at(0).as_second() + 1_798_848_000);
    assert_eq!(v[1]["first_seen_secs"], T);
    assert_eq!(v[2]["first_seen_secs"], T);
    assert_eq!(d["evidence"][0]["artifact"], A);
    assert_eq!(d["evidence"][0]["type"], "vulns");
}

#[test]
fn a_freeze_applies_only_while_the_clock_is_inside_it() {
    let f = facts_of(change("user:dev", &[]));
    let calendar = Calendar {
        windows: vec![],
        freezes: vec![Freeze {
            name: "year-end".into(),
            from: "2027-12-20".into(),
            to: "2028-01-03".into(),
            tz: "UTC".into(),
            environments: vec![],
        }],
    };
    let rules = ApprovalRules::default();
    let inside = input_document(&f, &calendar, &rules, "2027-12-24T12:00:00Z".parse().expect("t")).expect("input");
    let outside = input_document(&f, &calendar, &rules, "2027-11-24T12:00:00Z".parse().expect("t")).expect("input");
    assert_ne!(inside["calendar"], outside["calendar"]);
    assert!(
        inside["calendar"].to_string().contains("year-end"),
        "{}",
        inside["calendar"]
    );
    assert!(
        !outside["calendar"].to_string().contains("year-end"),
        "{}",
        outside["calendar"]
    );
}

#[test]
fn the_document_is_a_function_of_the_facts_and_the_clock() {
    let mut f = facts_of(change("user:dev", &[]));
    f.waivers = vec![waiver("WVR-1", "user:sec", T + 10, &f.change)];
    f.rebound = vec![Rebound {
        artifact: A.into(),
        service: "api".into(),
        version: "1.0.0".into(),
        other_digest: "sha256:bbbb".into(),
    }];
    f.promotion = json!({"environment": "prod", "missing_in_previous": []});
    f.accepts_rebound = true;
    assert_eq!(doc(&f, T), doc(&f, T));
    let (now, later) = (doc(&f, T), doc(&f, T + 20));
    assert_eq!(now["now_secs"], T);
    assert_eq!(later["now_secs"], T + 20);
    assert_ne!(now["waivers"], later["waivers"]);
    for key in [
        "change",
        "evidence",
        "approvals",
        "artifacts_rebound",
        "promotion",
        "environment_accepts_rebound",
    ] {
        assert_eq!(now[key], later[key], "{key}");
    }
    assert_eq!(now["artifacts_rebound"][0]["other_digest"], "sha256:bbbb");
    assert_eq!(now["change"]["manifest_digest"], "sha256:m");
    assert_eq!(now["requested_by"], "user:rm");
}

/// `gate::facts` over both stores, then `input_document` at a fixed clock: the document
/// `gate::input` builds (at its own clock) is the same but for the clock's fields.
#[tokio::test]
async fn facts_read_from_either_store_build_the_document_gate_input_returns() {
    use ward_core::Identity;
    use ward_core::risk::RiskRules;
    use ward_ledger::ActorKind;
    use ward_store::Ledger;
    use ward_store::testing::TestDb;
    for db in [Some(TestDb::sqlite()), TestDb::postgres().await].into_iter().flatten() {
        let ledger = Ledger::new(ward_store::open(&db.url).await.expect("store"), ward_app::projectors());
        let ci = Identity {
            id: "token:ci".into(),
            kind: ActorKind::Automation,
            roles: vec![ward_core::Role::Developer],
        };
        let digest = format!("sha256:{}", "ab".repeat(32));
        ward_app::evidence::register(
            &ledger,
            &ci,
            &ward_app::evidence::ArtifactRequest {
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
        let change = ward_app::changes::open(
            &ledger,
            &ci,
            &RiskRules::default(),
            &ward_core::approval::ApprovalRules::default(),
            &ward_app::changes::ChangeRequest {
                title: "t".into(),
                kind: "normal".into(),
                artifacts: vec![digest.clone()],
                environments: vec!["prod".into()],
                ..Default::default()
            },
            false,
        )
        .await
        .expect("open");
        let (risk, rules) = (RiskRules::default(), ApprovalRules::default());
        let read = facts(&ledger, &change, "user:rm", "prod", Value::Null, &risk, &rules, false)
            .await
            .expect("facts");
        assert_eq!(read.change.id, change.id);
        assert_eq!(read.services, vec!["api".to_string()]);
        let built = input_document(&read, &Calendar::default(), &rules, at(T)).expect("input");
        let mut live = ward_app::gate::input(
            &ledger,
            &change,
            "user:rm",
            "prod",
            &Calendar::default(),
            Value::Null,
            &risk,
            &rules,
            false,
        )
        .await
        .expect("input");
        live["now"] = built["now"].clone();
        live["now_secs"] = built["now_secs"].clone();
        assert_eq!(live, built, "{}", db.url);
        db.cleanup().await;
    }
}
