//! Custom attestation types as the log records them.

use serde_json::{Map, Value, json};
use ward_core::{Identity, Role};
use ward_ledger::ActorKind;
use ward_store::Ledger;

/// An attacker helper registered a schema of about 8 KB or more: `attest type add` said
/// "registered" and the log holds the entry, but its payload went out of line, the projection
/// never saw it, and every later use said "no attestation type". Since the tenth session the
/// schema lives beside the log (the leaf holds its reference): such a schema is registered and
/// found; one larger than a document beside the log may be is refused, before anything is
/// written, and stays unknown.
#[tokio::test]
async fn a_schema_too_large_to_record_inline_is_registered_beside_the_log_and_found() {
    let db = ward_store::testing::TestDb::sqlite();
    let ledger = Ledger::new(ward_store::open(&db.url).await.expect("store"), ward_app::projectors());
    let admin = Identity {
        id: "user:ada".into(),
        kind: ActorKind::Human,
        roles: vec![Role::Admin],
    };
    let schema_of = |fields: usize| -> Value {
        let properties: Map<String, Value> = (0..fields)
            .map(|i| {
                (
                    format!("field_{i:05}"),
                    json!({"type": "integer", "description": "a field of the review"}),
                )
            })
            .collect();
        json!({"type": "object", "properties": properties})
    };
    let big = ward_app::keys::TypeRequest {
        name: "big-review".into(),
        schema: schema_of(400),
    };
    ward_app::keys::register_type(&ledger, &admin, &big)
        .await
        .expect("registered");
    let found = ward_app::keys::type_record(&ledger, "big-review")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(found.schema, big.schema);
    let huge = ward_app::keys::TypeRequest {
        name: "huge-review".into(),
        schema: schema_of(25_000),
    };
    let size = ledger.store().head().await.expect("head").size();
    let e = ward_app::keys::register_type(&ledger, &admin, &huge)
        .await
        .expect_err("larger than a document");
    assert_eq!(e.code, "invalid_request", "{e:?}");
    assert_eq!(
        ledger.store().head().await.expect("head").size(),
        size,
        "nothing recorded"
    );
    assert!(
        ward_app::keys::type_record(&ledger, "huge-review")
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
