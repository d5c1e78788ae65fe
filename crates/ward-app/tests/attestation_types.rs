//! Custom attestation types as the log records them.

use serde_json::{Map, Value, json};
use ward_core::{Identity, Role};
use ward_ledger::ActorKind;
use ward_store::Ledger;

/// An attacker helper registered a schema of about 8 KB or more: `attest type add` said
/// "registered" and the log holds the entry, but its payload went out of line, the projection
/// never saw it, and every later use said "no attestation type". Such a schema is refused now,
/// before anything is written; one that fits is registered and found.
#[tokio::test]
async fn a_schema_too_large_to_record_inline_is_refused_not_registered_and_unknown() {
    let db = ward_store::testing::TestDb::sqlite();
    let ledger = Ledger::new(ward_store::open(&db.url).await.expect("store"), ward_app::projectors());
    let admin = Identity {
        id: "user:ada".into(),
        kind: ActorKind::Human,
        roles: vec![Role::Admin],
    };
    let properties: Map<String, Value> = (0..400)
        .map(|i| {
            (
                format!("field_{i:03}"),
                json!({"type": "integer", "description": "a field of the review"}),
            )
        })
        .collect();
    let big = ward_app::keys::TypeRequest {
        name: "big-review".into(),
        schema: json!({"type": "object", "properties": properties}),
    };
    let size = ledger.store().head().await.expect("head").size();
    let e = ward_app::keys::register_type(&ledger, &admin, &big)
        .await
        .expect_err("too large");
    assert_eq!(e.code, "schema_too_large", "{e:?}");
    assert_eq!(
        ledger.store().head().await.expect("head").size(),
        size,
        "nothing recorded"
    );
    assert!(
        ward_app::keys::type_record(&ledger, "big-review")
            .await
            .expect("read")
            .is_none()
    );
    let small = ward_app::keys::TypeRequest {
        name: "review".into(),
        schema: json!({"type": "object", "properties": {"passed": {"type": "boolean"}}}),
    };
    ward_app::keys::register_type(&ledger, &admin, &small)
        .await
        .expect("registered");
    assert!(
        ward_app::keys::type_record(&ledger, "review")
            .await
            .expect("read")
            .is_some()
    );
    db.cleanup().await;
}
