//! Bypass tests for issue 15 items 8 and 4: secrets smuggled into configuration bundles, and
//! redaction fingerprints reversed by brute force. Each runs against SQLite and PostgreSQL through
//! the service functions the HTTP handlers and local mode call. A refused bundle is asserted with
//! its status and code, a message naming the key path but never the value, and nothing recorded:
//! the log unchanged and no bundle stored beside it.

use serde_json::{Value, json};
use ward_app::environment::Environment;
use ward_app::evidence;
use ward_app::promotion::config::{self, ConfigRequest};
use ward_core::{Identity, Role};
use ward_ledger::ActorKind;
use ward_server::error::ApiError;
use ward_store::Ledger;
use ward_store::testing::TestDb;

fn ops() -> Identity {
    Identity {
        id: "user:olga".into(),
        kind: ActorKind::Human,
        roles: vec![Role::Admin],
    }
}

fn ci() -> Identity {
    Identity {
        id: "token:ci".into(),
        kind: ActorKind::Automation,
        roles: vec![Role::Developer],
    }
}

/// SQLite, and PostgreSQL when it is reachable.
async fn stores() -> Vec<TestDb> {
    let mut out = vec![TestDb::sqlite()];
    out.extend(TestDb::postgres().await);
    out
}

/// Two installations of the same kind: two SQLite files, and two PostgreSQL databases when
/// PostgreSQL is reachable.
async fn installation_pairs() -> Vec<(TestDb, TestDb)> {
    let mut out = vec![(TestDb::sqlite(), TestDb::sqlite())];
    if let (Some(a), Some(b)) = (TestDb::postgres().await, TestDb::postgres().await) {
        out.push((a, b));
    }
    out
}

async fn ledger_on(db: &TestDb) -> Ledger {
    Ledger::new(ward_store::open(&db.url).await.expect("store"), ward_app::projectors())
}

async fn size(ledger: &Ledger) -> u64 {
    ledger.head().await.expect("head").size()
}

/// Every leaf of the log, as text.
async fn leaves(ledger: &Ledger) -> String {
    ledger
        .store()
        .entries(0, 10_000)
        .await
        .expect("entries")
        .into_iter()
        .map(|e| String::from_utf8(e.leaf.to_vec()).expect("utf-8 leaf"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn prod() -> Environment {
    serde_json::from_value(json!({"name": "prod", "tenants": ["north", "south"]})).expect("environment")
}

fn bundle(values: Value) -> ConfigRequest {
    ConfigRequest { tenant: None, values }
}

/// Publishing `values` is refused with `secret_value`, naming `path` and never `secret`, and
/// records nothing: no log entry, no stored bundle.
async fn refused_whole(ledger: &Ledger, values: Value, path: &str, secret: &str) {
    let before = size(ledger).await;
    let r = config::publish(ledger, &ops(), &prod(), &bundle(values.clone()), &Default::default()).await;
    let e: ApiError = r.expect_err(&format!("{values} was accepted")).into();
    assert_eq!(
        (e.status.as_u16(), e.detail.code.as_str()),
        (422, "secret_value"),
        "{e:?}"
    );
    assert!(e.detail.message.contains(path), "the refusal names the path: {e:?}");
    let shown = format!("{} {}", e.detail.message, e.detail.hint);
    assert!(!shown.contains(secret), "the refusal echoes the value: {shown}");
    assert_eq!(size(ledger).await, before, "a refused bundle records nothing");
    let bytes = ward_ledger::envelope::canonical_json(&values).expect("canonical");
    let digest = ward_evidence::digest::of_bytes(&bytes);
    assert_eq!(
        ledger.store().evidence(&digest).await.expect("evidence"),
        None,
        "a refused bundle is not stored"
    );
    assert!(!leaves(ledger).await.contains(secret));
}

#[tokio::test]
async fn plain_pwd_and_pass_values_are_refused() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        refused_whole(&ledger, json!({"db": {"pwd": "Hunter2024"}}), "db.pwd", "Hunter2024").await;
        refused_whole(&ledger, json!({"db": {"pass": "Hunter2024"}}), "db.pass", "Hunter2024").await;
        refused_whole(&ledger, json!({"DB_PASS": "Hunter2024"}), "DB_PASS", "Hunter2024").await;
        refused_whole(
            &ledger,
            json!({"ldap": {"bind_pw": 20242024}}),
            "ldap.bind_pw",
            "20242024",
        )
        .await;
        // A Cyrillic "а" in the key name, or the secret one level down, changes nothing.
        refused_whole(&ledger, json!({"db": {"pаss": "Hunter2024"}}), "db.*", "Hunter2024").await;
        refused_whole(
            &ledger,
            json!({"db": {"password": {"value": "Hunter2024"}}}),
            "db.password.value",
            "Hunter2024",
        )
        .await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn signing_key_holding_key_material_is_refused() {
    let b64 = "q83vEjRWeJq8dTyHf+Nz0w==";
    let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        refused_whole(
            &ledger,
            json!({"release": {"signing_key": "sesame"}}),
            "release.signing_key",
            "sesame",
        )
        .await;
        refused_whole(&ledger, json!({"webhookKey": b64}), "webhookKey", b64).await;
        refused_whole(&ledger, json!({"storage": {"data_key": hex}}), "storage.data_key", hex).await;
        refused_whole(
            &ledger,
            json!({"tls": {"server_key": "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI\n-----END PRIVATE KEY-----"}}),
            "tls.server_key",
            "MC4CAQAwBQYDK2VwBCIEI",
        )
        .await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn basic_auth_header_value_is_refused() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        // "app:Hunter2024", base64.
        refused_whole(
            &ledger,
            json!({"auth": "Basic YXBwOkh1bnRlcjIwMjQ="}),
            "auth",
            "YXBwOkh1bnRlcjIwMjQ",
        )
        .await;
        refused_whole(
            &ledger,
            json!({"proxy": {"headers": ["Authorization: Basic YXBwOkh1bnRlcjIwMjQ="]}}),
            "proxy.headers[0]",
            "YXBwOkh1bnRlcjIwMjQ",
        )
        .await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bearer_token_value_is_refused() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        refused_whole(
            &ledger,
            json!({"upstream": "Bearer 5f1c9a.7be2d4.19c0"}),
            "upstream",
            "5f1c9a",
        )
        .await;
        refused_whole(
            &ledger,
            json!({"notify": {"header": "authorization=bearer Zm9vYmFyYmF6cXV4"}}),
            "notify.header",
            "Zm9vYmFyYmF6cXV4",
        )
        .await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn libpq_dsn_with_password_is_refused() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        refused_whole(
            &ledger,
            json!({"db": {"dsn": "host=db.internal port=5432 dbname=app user=app password=Hunter2024"}}),
            "db.dsn",
            "Hunter2024",
        )
        .await;
        refused_whole(
            &ledger,
            json!({"reporting": "Server=sql;Database=r;Uid=r;Pwd={Hunter2024};"}),
            "reporting",
            "Hunter2024",
        )
        .await;
        refused_whole(
            &ledger,
            json!({"jdbc": "jdbc:postgresql://db/app?user=app&password=Hunter2024"}),
            "jdbc",
            "Hunter2024",
        )
        .await;
        db.cleanup().await;
    }
}

#[tokio::test]
async fn url_with_password_is_refused() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        refused_whole(
            &ledger,
            json!({"db": {"url": "postgresql://app:Hunter2024@db.internal:5432/app"}}),
            "db.url",
            "Hunter2024",
        )
        .await;
        // A password with a `/` in it, which the generic guard pattern does not follow.
        refused_whole(
            &ledger,
            json!({"queue": "amqp://svc:Hun/ter2024@mq.internal/vh"}),
            "queue",
            "ter2024",
        )
        .await;
        db.cleanup().await;
    }
}

/// `env://`, `file://` and `vault://` references are accepted under every key and in every
/// place the detectors look; the bundle is recorded with those paths as references.
#[tokio::test]
async fn every_reference_form_is_accepted_under_secret_keys() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        for (i, reference) in [
            "env://DB_PASSWORD",
            "file:///run/secrets/db",
            "vault://kv/app/db#password",
        ]
        .into_iter()
        .enumerate()
        {
            let values = json!({
                "db": {"pwd": reference, "pass": reference, "password": {"value": reference},
                       "dsn": format!("host=db user=app password={reference}")},
                "release": {"signing_key": reference},
                "auth": format!("Bearer {reference}"),
                "basic": format!("Basic {reference}"),
                "api_token": reference,
                "round": i,
            });
            let before = size(&ledger).await;
            let b = config::publish(&ledger, &ops(), &prod(), &bundle(values), &Default::default())
                .await
                .unwrap_or_else(|e| panic!("{reference}: {e:?}"));
            assert_eq!(
                b.references,
                vec![
                    "api_token",
                    "db.pass",
                    "db.password.value",
                    "db.pwd",
                    "release.signing_key"
                ]
            );
            assert_eq!(size(&ledger).await, before + 1, "one config.published");
            assert!(config::load(&ledger, &b.digest).await.is_ok());
        }
        db.cleanup().await;
    }
}

/// A bundle's keys are its text: an on-call list keyed by people's addresses and numbers, an
/// allowlist of record numbers, a child's name and birth date as a flag (a helper's attack on
/// `1d87e6e`: each reached the leaf's `keys`). The leaf holds how many values there are; the
/// paths are read back from the stored bundle, beside the log; a refusal of a value under such
/// a key names it by its place, not by the key.
#[tokio::test]
async fn a_bundles_keys_holding_a_persons_address_or_number_never_reach_the_leaf() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        let planted = ["jane.doe@gmail.com", "5551234567", "219451100", "roe-j-2015-04-12"];
        let values = json!({
            "oncall": {"jane.doe@gmail.com": "primary", "5551234567": "sms"},
            "allowlist": {"219451100": true},
            "flags": {"roe-j-2015-04-12": true},
            "db": {"password": "env://DB_PASSWORD"},
        });
        let b = config::publish(&ledger, &ops(), &prod(), &bundle(values), &Default::default())
            .await
            .expect("published");
        assert_eq!(b.keys.len(), 5, "{:?}", b.keys);
        assert_eq!(b.references, vec!["db.password"]);
        let log = leaves(&ledger).await;
        for p in planted {
            assert!(!log.contains(p), "{p} in the leaf");
        }
        assert!(log.contains("\"key_count\":5"), "{log}");
        let view = config::view(&ledger, &prod(), None, false).await.expect("view");
        let shown = view.history.last().expect("published");
        assert_eq!(
            (shown.keys.len(), shown.references.clone()),
            (5, vec!["db.password".to_string()])
        );
        // A secret value under a key that is a person's address, name or number: the refusal
        // names its place (a helper's attack on `afa6612` too: look-alike digits, a label, a
        // name with a space, an address written out).
        // The outer key is one no rule reads as a person's (`rota`), so that each rule is tried
        // on its own; then words naming a person after a word that labels people (the eighth
        // session's gap: `patient_john_smith.password` was repeated).
        for (outer, key) in [
            ("rota", "jane.doe@gmail.com"),
            ("rota", "2l9o451loo"),
            ("rota", "mrn:12345"),
            ("rota", "John Smith"),
            ("rota", "jane_doe_gmail_com"),
            ("rota", "patient_john_smith"),
            ("rota", "patientJohnSmith"),
            ("oncall", "jane"),
            ("users", "alice"),
        ] {
            let values = json!({outer: {key: {"password": "hunter2hunter2"}}});
            let before = size(&ledger).await;
            let r = config::publish(&ledger, &ops(), &prod(), &bundle(values), &Default::default()).await;
            let e: ApiError = r.expect_err("a secret value").into();
            assert_eq!(e.detail.code, "secret_value", "{e:?}");
            let said = format!("{} {}", e.detail.message, e.detail.hint);
            assert!(!said.contains(key) && !said.contains("hunter2"), "{said}");
            assert!(said.contains("value #1 of the bundle"), "{said}");
            assert_eq!(size(&ledger).await, before);
        }
        db.cleanup().await;
    }
}

fn pytest_with(line: &str) -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ward-evidence/tests/fixtures/pytest.xml"
    );
    String::from_utf8(std::fs::read(path).expect("fixture"))
        .expect("utf-8")
        .replacen("database unavailable", line, 1)
        .into_bytes()
}

/// Attaches `bytes` with `--redact`; the recorded fingerprints.
async fn redacted(ledger: &Ledger, artifact: &str, name: &str, bytes: &[u8]) -> Vec<String> {
    let req = evidence::AttestationRequest::from_bytes(artifact, "auto", name, bytes, true);
    let (att, new) = evidence::attest(ledger, &ci(), &req, &Default::default())
        .await
        .expect("attest --redact");
    assert!(new);
    att.redactions
        .iter()
        .map(|r| r.fingerprint.clone().expect("a fingerprint"))
        .collect()
}

/// The SSN was recovered from the unsalted SHA-256 that `--redact` recorded. Now the recorded
/// fingerprint is an HMAC under a key kept in `ward_meta` (outside the log): not SHA-256 of the
/// span, equal for the same span within one installation, different in another installation,
/// and neither the span, its plain hash nor the key reaches the log.
#[tokio::test]
async fn redacted_ssn_cannot_be_recovered_from_its_fingerprint() {
    let span = "123-45-6789";
    let plain = ward_evidence::digest::of_bytes(span.as_bytes());
    let plain = plain.trim_start_matches("sha256:");
    for (one, other) in installation_pairs().await {
        let mut seen = Vec::new();
        for db in [&one, &other] {
            let ledger = ledger_on(db).await;
            let d = format!("sha256:{}", "ab".repeat(32));
            evidence::register(
                &ledger,
                &ci(),
                &evidence::ArtifactRequest {
                    digest: d.clone(),
                    service: "patient-api".into(),
                    version: "1.0.0".into(),
                    commit: None,
                    branch: None,
                    build_id: None,
                    build_url: None,
                },
            )
            .await
            .expect("register");
            let first = redacted(
                &ledger,
                &d,
                "a.xml",
                &pytest_with(&format!("patient ssn {span} unavailable")),
            )
            .await;
            let second = redacted(&ledger, &d, "b.xml", &pytest_with(&format!("seen again: {span}"))).await;
            assert_eq!(first.len(), 1);
            assert!(first[0].starts_with("hmac-sha256:"), "{first:?}");
            assert!(!first[0].contains(plain), "the fingerprint is the span's plain SHA-256");
            assert_eq!(first, second, "the same span correlates within one installation");
            let log = leaves(&ledger).await;
            let key = ledger
                .store()
                .get_meta(ward_app::redaction::META_KEY)
                .await
                .expect("meta")
                .expect("a key was created");
            assert!(log.contains(&first[0]));
            assert!(!log.contains(span) && !log.contains(plain));
            assert!(!log.contains(key.rsplit(':').next().unwrap()), "the key is in the log");
            seen.push(first[0].clone());
        }
        assert_ne!(seen[0], seen[1], "another installation, another fingerprint");
        one.cleanup().await;
        other.cleanup().await;
    }
}

/// A stored key that cannot be read refuses the redaction (nothing recorded) instead of quietly
/// starting a new key, and the refusal does not show the stored text.
#[tokio::test]
async fn unreadable_redaction_key_refuses_instead_of_replacing_it() {
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        let d = format!("sha256:{}", "cd".repeat(32));
        evidence::register(
            &ledger,
            &ci(),
            &evidence::ArtifactRequest {
                digest: d.clone(),
                service: "patient-api".into(),
                version: "1.0.0".into(),
                commit: None,
                branch: None,
                build_id: None,
                build_url: None,
            },
        )
        .await
        .expect("register");
        ledger
            .store()
            .set_meta(ward_app::redaction::META_KEY, "hmac-sha256:v1:c0ffee")
            .await
            .expect("meta");
        let before = size(&ledger).await;
        let req = evidence::AttestationRequest::from_bytes(
            &d,
            "auto",
            "a.xml",
            &pytest_with("patient ssn 123-45-6789 unavailable"),
            true,
        );
        let e = evidence::attest(&ledger, &ci(), &req, &Default::default())
            .await
            .expect_err("refused");
        let e = ApiError::from(e);
        assert_eq!(
            (e.status.as_u16(), e.detail.code.as_str()),
            (500, "redaction_key"),
            "{e:?}"
        );
        assert!(!format!("{e:?}").contains("c0ffee") && !format!("{e:?}").contains("6789"));
        assert_eq!(size(&ledger).await, before);
        assert_eq!(
            ledger
                .store()
                .get_meta(ward_app::redaction::META_KEY)
                .await
                .expect("meta")
                .as_deref(),
            Some("hmac-sha256:v1:c0ffee"),
            "the stored key is left for the operator to restore"
        );
        db.cleanup().await;
    }
}

/// Several processes (or replicas) redacting for the first time at once agree on one key: it is
/// created under a store-wide lock, so no fingerprint is made under a key that is then replaced.
#[tokio::test]
async fn concurrent_first_redactions_agree_on_one_key() {
    for db in stores().await {
        let handles: Vec<_> = (0..4).map(|_| ward_store::open(&db.url)).collect();
        let mut stores = Vec::new();
        for h in handles {
            stores.push(h.await.expect("store"));
        }
        let keys = futures_join(&stores).await;
        assert!(keys.windows(2).all(|w| w[0] == w[1]), "one key per installation");
        let stored = stores[0]
            .get_meta(ward_app::redaction::META_KEY)
            .await
            .expect("meta")
            .expect("stored");
        assert_eq!(
            ward_evidence::redact::FingerprintKey::decode(&stored).as_ref(),
            Ok(&keys[0])
        );
        db.cleanup().await;
    }
}

async fn futures_join(stores: &[std::sync::Arc<dyn ward_store::Store>]) -> Vec<ward_evidence::redact::FingerprintKey> {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, s) in stores.iter().enumerate() {
        let s = s.clone();
        tasks.spawn(async move { (i, ward_app::redaction::installation_key(s.as_ref()).await.expect("key")) });
    }
    let mut out = tasks.join_all().await;
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, k)| k).collect()
}

fn registration(digest: &str, version: &str) -> evidence::ArtifactRequest {
    evidence::ArtifactRequest {
        digest: digest.into(),
        service: "patient-api".into(),
        version: version.into(),
        commit: None,
        branch: None,
        build_id: None,
        build_url: None,
    }
}

/// A store that lost its installation key (a restore that left `ward_meta` out, a deleted row)
/// while its log recorded one makes no new key: the fingerprints recorded under the old key
/// (authors, the one-release index, redactions) would silently stop matching, and a second
/// digest would register as the same release. Every use of the key is refused — nothing is
/// recorded and no key made — until the key is restored; a key from elsewhere is refused too.
#[tokio::test]
async fn a_lost_installation_key_is_never_remade_over_a_log_that_recorded_one() {
    use ward_app::redaction::{META_KEY, existing_key, installation_key, key_check};
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        let a = format!("sha256:{}", "a1".repeat(32));
        let b = format!("sha256:{}", "b2".repeat(32));
        evidence::register(&ledger, &ci(), &registration(&a, "1.0.0"))
            .await
            .expect("register");
        let stored = ledger
            .store()
            .get_meta(META_KEY)
            .await
            .expect("meta")
            .expect("a key was made");
        let key = installation_key(ledger.store().as_ref()).await.expect("key");
        // The registration's leaf holds the key's check beside its fingerprint, never the key.
        let log = leaves(&ledger).await;
        assert!(log.contains(&format!(r#""key_check":"{}""#, key_check(&key))), "{log}");
        assert!(
            !log.contains(stored.rsplit(':').next().unwrap()),
            "the key is in the log"
        );
        let before = size(&ledger).await;

        db.exec_behind_the_store(&format!("DELETE FROM ward_meta WHERE key = '{META_KEY}'"))
            .await;
        // Another digest as the same release: refused, for want of the key, not registered.
        let e = evidence::register(&ledger, &ci(), &registration(&b, "1.0.0"))
            .await
            .expect_err("registered under a new key");
        assert_eq!(e.code, "installation_key_lost", "{e:?}");
        assert!(e.hint.contains(META_KEY), "{e:?}");
        for _ in 0..2 {
            let e = installation_key(ledger.store().as_ref()).await.expect_err("a new key");
            assert_eq!(e.code, "installation_key_lost");
            let e = existing_key(ledger.store().as_ref()).await.expect_err("read as no key");
            assert_eq!(e.code, "installation_key_lost");
        }
        assert_eq!(
            ledger.store().get_meta(META_KEY).await.expect("meta"),
            None,
            "no key made"
        );
        assert_eq!(size(&ledger).await, before, "nothing recorded");

        // A key from another installation in its place: refused as well.
        let other = ward_evidence::redact::FingerprintKey::from_random([9; 32]);
        ledger.store().set_meta(META_KEY, &other.encode()).await.expect("meta");
        let e = evidence::register(&ledger, &ci(), &registration(&b, "1.0.0"))
            .await
            .expect_err("registered under another key");
        assert_eq!(e.code, "installation_key_mismatch", "{e:?}");
        let e = existing_key(ledger.store().as_ref()).await.expect_err("another key");
        assert_eq!(e.code, "installation_key_mismatch");
        assert_eq!(size(&ledger).await, before, "nothing recorded");

        // The state tables rebuilt from the log still know the key; restored, it is used again
        // and the one-release rule finds what was recorded under it.
        ledger.rebuild_projections().await.expect("rebuild");
        let e = installation_key(ledger.store().as_ref())
            .await
            .expect_err("another key");
        assert_eq!(e.code, "installation_key_mismatch");
        ledger.store().set_meta(META_KEY, &stored).await.expect("restore");
        assert_eq!(installation_key(ledger.store().as_ref()).await.expect("restored"), key);
        let e = evidence::register(&ledger, &ci(), &registration(&b, "1.0.0"))
            .await
            .expect_err("a second digest for one release");
        assert_ne!(e.code, "installation_key_lost", "{e:?}");
        assert_eq!(size(&ledger).await, before, "nothing recorded");

        // The key and the state tables' record of it deleted behind Ward's back (or never
        // derived: a store written before the record): the log itself is read, no key made.
        db.exec_behind_the_store(&format!("DELETE FROM ward_meta WHERE key = '{META_KEY}'"))
            .await;
        db.exec_behind_the_store("DELETE FROM projections WHERE collection = 'installation_keys'")
            .await;
        let e = evidence::register(&ledger, &ci(), &registration(&b, "1.0.0"))
            .await
            .expect_err("registered under a remade key, the tables deleted");
        assert_eq!(e.code, "installation_key_lost", "{e:?}");
        assert_eq!(
            ledger.store().get_meta(META_KEY).await.expect("meta"),
            None,
            "no key made"
        );
        // Another key written in its place as well: a second digest registers under it (the
        // tables no longer tell) — but once the tables are derived again, the log holds two
        // checks and the installation's key is the one it recorded first: the other key is
        // refused, the restored one finds the first registration (a helper's attack on the
        // eleventh session).
        ledger.store().set_meta(META_KEY, &other.encode()).await.expect("meta");
        evidence::register(&ledger, &ci(), &registration(&b, "1.0.0"))
            .await
            .expect("registered under another key, the tables deleted");
        ledger.rebuild_projections().await.expect("rebuild");
        let c = format!("sha256:{}", "c3".repeat(32));
        let e = evidence::register(&ledger, &ci(), &registration(&c, "2.0.0"))
            .await
            .expect_err("the remade key");
        assert_eq!(e.code, "installation_key_mismatch", "{e:?}");
        ledger.store().set_meta(META_KEY, &stored).await.expect("restore");
        let e = evidence::register(&ledger, &ci(), &registration(&c, "1.0.0"))
            .await
            .expect_err("a third digest for one release");
        assert_eq!(e.code, "version_conflict", "{e:?}");
        db.cleanup().await;
    }
}

/// An installation whose key predates the record (made before 2026-12-07's eleventh session)
/// has it recorded by the next entry that uses it; a refused use records nothing; from the
/// record on the key is held to it.
#[tokio::test]
async fn a_key_made_before_the_record_is_recorded_by_its_next_use() {
    use ward_app::redaction::{META_KEY, installation_key, key_check};
    for db in stores().await {
        let ledger = ledger_on(&db).await;
        let old = ward_evidence::redact::FingerprintKey::from_random([5; 32]);
        ledger.store().set_meta(META_KEY, &old.encode()).await.expect("meta");
        assert_eq!(installation_key(ledger.store().as_ref()).await.expect("key"), old);
        // A refused registration (a date of birth beside a name in the version) records nothing.
        let a = format!("sha256:{}", "a1".repeat(32));
        evidence::register(&ledger, &ci(), &registration(&a, "1.0.0-smith-j-1961-04-12"))
            .await
            .expect_err("refused");
        assert_eq!(size(&ledger).await, 0);
        evidence::register(&ledger, &ci(), &registration(&a, "1.0.0"))
            .await
            .expect("register");
        assert!(leaves(&ledger).await.contains(&key_check(&old)), "recorded");
        db.exec_behind_the_store(&format!("DELETE FROM ward_meta WHERE key = '{META_KEY}'"))
            .await;
        let e = installation_key(ledger.store().as_ref()).await.expect_err("remade");
        assert_eq!(e.code, "installation_key_lost");
        db.cleanup().await;
    }
}
