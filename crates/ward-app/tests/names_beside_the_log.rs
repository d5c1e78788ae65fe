//! The names and versions a tool reports live beside the log (issue 15). A scan's packages and
//! versions, SARIF rule ids and tools, an SBOM's purls and licenses, and an in-toto statement's
//! subject names are strings anyone with write access can craft; rules refuse the shapes they
//! know, but a shape no rule knows (`smith-j-2015-04-12` as a package: a child's birth date
//! beside a name, read as a release's date; `1.0.219451100` as a version: an SSN as a version's
//! part) reached the leaf, which cannot be purged. Each is now a salted document beside the log,
//! shown to people as written, compared by the gate through a keyed fingerprint, and purgeable.

use serde_json::{Value, json};
use ward_core::Identity;
use ward_ledger::ActorKind;
use ward_store::Ledger;

/// Every leaf of the log, as bytes.
async fn leaves(ledger: &Ledger) -> Vec<Vec<u8>> {
    let size = ledger.store().head().await.expect("head").size();
    let entries = ledger.store().entries(0, size).await.expect("entries");
    entries.into_iter().map(|e| e.leaf).collect()
}

fn in_any(leaves: &[Vec<u8>], needle: &str) -> bool {
    leaves
        .iter()
        .any(|l| l.windows(needle.len()).any(|w| w == needle.as_bytes()))
}

fn grype(findings: &[(&str, &str, &str, &str)]) -> Vec<u8> {
    let matches: Vec<Value> = findings
        .iter()
        .map(|(id, package, version, fixed)| {
            json!({
                "vulnerability": {"id": id, "severity": "Critical", "fix": {"versions": [fixed], "state": "fixed"}},
                "artifact": {"name": package, "version": version},
            })
        })
        .collect();
    serde_json::to_vec(&json!({"matches": matches, "descriptor": {"name": "grype", "version": "0.80.0"}})).unwrap()
}

/// A fresh SQLite log and the CI token that writes to it. The database lives as long as the
/// returned guard.
async fn fresh() -> (ward_store::testing::TestDb, Ledger, Identity) {
    let db = ward_store::testing::TestDb::sqlite();
    let ledger = Ledger::new(ward_store::open(&db.url).await.expect("store"), ward_app::projectors());
    let ci = Identity {
        id: "token:ci".into(),
        kind: ActorKind::Automation,
        roles: vec![ward_core::Role::Developer],
    };
    (db, ledger, ci)
}

/// Service `api`'s `version` as artifact `digest`, no CI metadata.
fn api_artifact(digest: &str, version: &str) -> ward_app::evidence::ArtifactRequest {
    ward_app::evidence::ArtifactRequest {
        digest: digest.into(),
        service: "api".into(),
        version: version.into(),
        commit: None,
        branch: None,
        build_id: None,
        build_url: None,
    }
}

/// Records `digest` as service `api`'s `version` the way Ward recorded it before the version
/// lived beside the log: inline in the leaf.
async fn older_inline_registration(ledger: &Ledger, ci: &Identity, digest: &str, version: &str) {
    ledger
        .append(ward_ledger::NewEvent {
            actor: ci.actor(),
            kind: "artifact.registered".into(),
            subject: format!("artifact:{digest}"),
            payload: json!({ "digest": digest, "service": "api", "version": version, "builder": ci.id }),
        })
        .await
        .expect("older registration");
}

/// A fresh SQLite log with artifact `sha256:<byte repeated>` of service `api` registered by a
/// CI token, which attaches the evidence. The database lives as long as the returned guard.
async fn registered(byte: &str) -> (ward_store::testing::TestDb, Ledger, Identity, String) {
    let (db, ledger, ci) = fresh().await;
    let digest = format!("sha256:{}", byte.repeat(32));
    ward_app::evidence::register(&ledger, &ci, &api_artifact(&digest, "1.0.0"))
        .await
        .expect("register");
    (db, ledger, ci, digest)
}

#[tokio::test]
async fn a_crafted_package_version_rule_id_purl_or_subject_name_never_reaches_a_leaf() {
    let (_db, ledger, ci, digest) = registered("ab").await;
    let policy = ward_evidence::guard::GuardConfig::default();
    let attach = |kind: &str, name: &str, bytes: Vec<u8>| {
        let req = ward_app::evidence::AttestationRequest::from_bytes(&digest, kind, name, &bytes, false);
        let (ledger, ci, policy) = (&ledger, &ci, &policy);
        async move { ward_app::evidence::attest(ledger, ci, &req, policy).await }
    };

    // A scan: the package a child's birth date beside a name, the version an SSN's digits.
    let (first, _) = attach(
        "vulns",
        "grype.json",
        grype(&[("CVE-2024-3094", "smith-j-2015-04-12", "1.0.219451100", "1.0.219451101")]),
    )
    .await
    .expect("attached");
    // People see what the tool wrote: the attestation as attached and as read back.
    assert_eq!(first.summary["list"][0]["package"], "smith-j-2015-04-12");
    let read = ward_app::evidence::attestations(&ledger, &digest).await.expect("read");
    let shown = ward_app::documents::shown(&ledger, read).await.expect("shown");
    assert_eq!(shown[0].summary["list"][0]["package"], "smith-j-2015-04-12");
    assert_eq!(shown[0].summary["list"][0]["version"], "1.0.219451100");
    assert_eq!(shown[0].summary["list"][0]["id"], "CVE-2024-3094");
    let first_seen = shown[0].summary["list"][0]["first_seen"].clone();
    assert!(first_seen.is_string(), "{first_seen}");

    // A second scan of the same package keeps the first-seen time: findings are compared by the
    // keyed fingerprint of their package, equal for equal names.
    let (second, _) = attach(
        "vulns",
        "grype-2.json",
        grype(&[
            ("CVE-2024-3094", "smith-j-2015-04-12", "1.0.219451100", "1.0.219451101"),
            ("CVE-2023-4863", "libwebp", "1.2.4", "1.3.2"),
        ]),
    )
    .await
    .expect("attached");
    assert_eq!(second.summary["list"][0]["first_seen"], first_seen);
    let keys: Vec<Value> = ward_app::evidence::attestations(&ledger, &digest)
        .await
        .expect("read")
        .iter()
        .map(|a| a.summary["list"][0]["package_key"].clone())
        .collect();
    assert!(
        keys[0].as_str().is_some_and(|k| k.starts_with("hmac-sha256:")),
        "{keys:?}"
    );
    assert_eq!(keys[0], keys[1], "equal packages, equal keys");

    // SARIF: a rule id and a tool name no rule refuses.
    let sarif = json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "smith-j-2015-04-12", "version": "1.0.219451100",
        "rules": [{"id": "jones-k-2016-05-13"}]}}, "results": [{"ruleId": "jones-k-2016-05-13", "level": "error", "message": {"text": "m"}}]}]});
    attach("sarif", "scan.sarif", serde_json::to_vec(&sarif).unwrap())
        .await
        .expect("attached");
    // An SBOM: a purl and a license name, and a spec version no standard defines.
    let bom = json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library", "name": "lee-m-2017-06-14",
        "version": "2.0.219451100", "purl": "pkg:npm/lee-m-2017-06-14@2.0.219451100", "licenses": [{"license": {"name": "LicenseRef-lee-m-2017-06-14"}}]}]});
    attach("cyclonedx", "bom.json", serde_json::to_vec(&bom).unwrap())
        .await
        .expect("attached");

    let all = leaves(&ledger).await;
    for needle in ["2015-04-12", "2016-05-13", "2017-06-14", "219451100"] {
        assert!(!in_any(&all, needle), "{needle} reached a leaf");
    }
    // What the gate compares stays: ids, severities, counts.
    assert!(in_any(&all, "CVE-2024-3094") && in_any(&all, "\"critical\""));
    let shown = ward_app::documents::shown(
        &ledger,
        ward_app::evidence::attestations(&ledger, &digest).await.expect("read"),
    )
    .await
    .expect("shown");
    let sarif = shown.iter().find(|a| a.r#type == "sarif").expect("sarif");
    assert_eq!(sarif.summary["rule_ids"][0], "jones-k-2016-05-13");
    assert_eq!(sarif.summary["tools"][0]["name"], "smith-j-2015-04-12");
    let bom = shown.iter().find(|a| a.r#type == "cyclonedx").expect("bom");
    assert_eq!(bom.summary["purls"][0], "pkg:npm/lee-m-2017-06-14@2.0.219451100");
    assert_eq!(bom.summary["licenses"]["LicenseRef-lee-m-2017-06-14"], 1);
    assert_eq!(bom.summary["spec_version"], "1.6");
}

/// A finding first seen before packages moved beside the log (its entry keys the first-seen
/// time by the package's name) keeps that time when a scan attached after the upgrade reports
/// it again: an upgrade must not restart an open finding's SLA clock.
#[tokio::test]
async fn an_upgrade_keeps_the_first_seen_time_of_a_finding_recorded_with_its_package_inline() {
    let (_db, ledger, ci, digest) = registered("cd").await;
    // The entry an earlier Ward wrote: the package inline, no `package_key`.
    let earlier = ledger
        .append(ward_ledger::NewEvent {
            actor: ward_ledger::Actor {
                id: ci.id.clone(),
                kind: ActorKind::Automation,
            },
            kind: "attestation.added".into(),
            subject: format!("artifact:{digest}"),
            payload: json!({
                "id": format!("sha256:{}", "01".repeat(32)),
                "artifact": digest,
                "type": "vulns",
                "file_name": "old-grype.json",
                "size": 10,
                "service": "api",
                "added_by": ci.id,
                "redactions": [],
                "summary": {"list": [{"id": "CVE-2023-4863", "package": "libwebp", "severity": "critical", "open": true}]},
            }),
        })
        .await
        .expect("earlier entry");
    let req = ward_app::evidence::AttestationRequest::from_bytes(
        &digest,
        "vulns",
        "grype.json",
        &grype(&[("CVE-2023-4863", "libwebp", "1.2.4", "1.3.2")]),
        false,
    );
    let policy = ward_evidence::guard::GuardConfig::default();
    let (now, _) = ward_app::evidence::attest(&ledger, &ci, &req, &policy)
        .await
        .expect("attached");
    assert_eq!(now.summary["list"][0]["first_seen"], json!(earlier.time));
    // And the gate's input reads that time from the new entry.
    let read = ward_app::evidence::attestations(&ledger, &digest).await.expect("read");
    let new = read.iter().find(|a| a.file_name != "old-grype.json").expect("new");
    assert_eq!(new.summary["list"][0]["first_seen"], json!(earlier.time));
}

/// A JUnit report's duration is a number anyone can write: the leaf keeps it to three
/// significant digits (`time="219451100"`, an SSN's digits as seconds, reached the leaf: a
/// helper's attack on `22597c7`), and the stored report keeps the figure.
#[tokio::test]
async fn a_measurement_holding_a_persons_number_reaches_the_leaf_rounded() {
    let (_db, ledger, ci, digest) = registered("ef").await;
    let junit = r#"<testsuite name="api" tests="2" failures="0" errors="0" time="219451100"><testcase classname="a" name="b" time="219451000"/><testcase classname="a" name="c" time="100"/></testsuite>"#;
    let req =
        ward_app::evidence::AttestationRequest::from_bytes(&digest, "junit", "junit.xml", junit.as_bytes(), false);
    ward_app::evidence::attest(&ledger, &ci, &req, &ward_evidence::guard::GuardConfig::default())
        .await
        .expect("attached");
    let all = leaves(&ledger).await;
    assert!(!in_any(&all, "219451"), "the duration's digits reached a leaf");
    let read = ward_app::evidence::attestations(&ledger, &digest).await.expect("read");
    assert_eq!(read[0].summary["duration_secs"].as_f64(), Some(219_000_000.0));
    assert_eq!(read[0].summary["tests"], 2);
}

/// One release names one digest, however its version is spelled: a `v` before it and semver
/// build metadata after it are the same release (the eighth session's gap: `2.0.0`, `v2.0.0`
/// and `2.0.0+build.2` could each name a digest).
#[tokio::test]
async fn a_release_names_one_digest_whatever_its_v_prefix_or_build_metadata() {
    let (db, ledger, ci) = fresh().await;
    let digest = |b: &str| format!("sha256:{}", b.repeat(32));
    // A registration an older Ward recorded, its version inline in the leaf.
    older_inline_registration(&ledger, &ci, &digest("0a"), "2.0.0").await;
    let register = |d: String, v: &'static str| {
        let (ledger, ci) = (&ledger, &ci);
        async move { ward_app::evidence::register(ledger, ci, &api_artifact(&d, v)).await }
    };
    // The attack: `v3.0.0` or `3.0.0+build.2` named another build of release 3.0.0, which
    // release notes, the environment's state and a reviewer read as 3.0.0.
    register(digest("31"), "3.0.0").await.expect("3.0.0");
    for (d, v) in [
        ("32", "v3.0.0"),
        ("33", "3.0.0+build.2"),
        ("34", "V3.0.0+rebuild"),
        // A second helper: leading zeros, fewer or more zero parts, a trailing separator, npm's
        // `=`, a version of one number.
        ("35", "03.0.0"),
        ("36", "3.0"),
        ("37", "3.0.0.0"),
        ("38", "3.0.0-"),
        ("39", "=3.0.0"),
        ("3a", "v3"),
        // A helper's attack on the ninth session's head: odd separators.
        ("3b", "v.3.0.0"),
        ("3c", "v-3.0.0"),
        ("3d", "3.0.0_"),
    ] {
        let e = register(digest(d), v).await.expect_err(v);
        assert_eq!(e.code, "version_conflict", "{v}: {e:?}");
        assert!(e.message.contains(&digest("31")), "{e:?}");
        assert!(
            e.message.contains("(release 3.0.0)"),
            "the release it was read as: {e:?}"
        );
    }
    // And the other way round, and against a version recorded inline by an older Ward.
    register(digest("41"), "v4.0.0+build.1").await.expect("v4.0.0+build.1");
    for (d, v) in [("42", "4.0.0"), ("43", "4.0.0+build.2")] {
        let e = register(digest(d), v).await.expect_err(v);
        assert_eq!(e.code, "version_conflict", "{v}: {e:?}");
    }
    let e = register(digest("0b"), "v2.0.0").await.expect_err("v2.0.0");
    assert_eq!(e.code, "version_conflict", "{e:?}");
    // The same build under another spelling of its release is no conflict of versions (a
    // digest keeps the metadata it was registered with); other releases are other versions.
    for (d, v) in [
        ("51", "3.0.1"),
        ("52", "3.0.0-rc.1"),
        ("53", "release-3.0.0"),
        ("55", "3.0.0.1"),
    ] {
        register(digest(d), v).await.expect(v);
    }
    // A service's name in another case is the same service (a helper's attack on the ninth
    // session's head: `SVC 2.0.0` and `svc 2.0.0` named two digests).
    let mut upper = api_artifact(&digest("71"), "3.0.0");
    upper.service = "API".into();
    let e = ward_app::evidence::register(&ledger, &ci, &upper)
        .await
        .expect_err("API 3.0.0");
    assert_eq!(e.code, "version_conflict", "{e:?}");
    upper.service = "Api".into();
    upper.version = "7.0.0".into();
    ward_app::evidence::register(&ledger, &ci, &upper)
        .await
        .expect("Api 7.0.0");
    let e = ward_app::evidence::register(&ledger, &ci, &api_artifact(&digest("72"), "7.0.0"))
        .await
        .expect_err("api 7.0.0");
    assert_eq!(e.code, "version_conflict", "{e:?}");
    // A pre-release written with a `v` may move where the rules allow it.
    let rules = ward_app::evidence::ArtifactRules {
        mutable_prerelease: true,
    };
    for d in ["61", "62"] {
        ward_app::evidence::register_with(&ledger, &ci, &api_artifact(&digest(d), "v5.0.0-rc.1"), &rules)
            .await
            .expect("a pre-release moves");
    }
    db.cleanup().await;
}

/// An artifact's version lives beside the log (issue 15: `1.0.0+5558675309`, a phone number as
/// build metadata, and `1.0.0-roe.j.2015.04.12`, a child's name and birth date, read as a
/// version to every rule and stayed in the leaf). The leaf and the index hold its keyed
/// fingerprint: one version still names one digest, across registrations recorded before the
/// move (inline) and after, a retry is still a no-op, and people read the version as written.
#[tokio::test]
async fn an_artifacts_version_lives_beside_the_log_and_still_names_one_digest() {
    let (db, ledger, ci) = fresh().await;
    let digest = |b: &str| format!("sha256:{}", b.repeat(32));
    let request = api_artifact;
    // A registration an older Ward recorded, its version inline in the leaf.
    older_inline_registration(&ledger, &ci, &digest("0a"), "2.0.0").await;

    for (i, version) in ["1.0.0+5558675309", "1.0.0-roe.j.2015.04.12"].into_iter().enumerate() {
        let first = digest(&format!("{}1", i + 1));
        let (art, new) = ward_app::evidence::register(&ledger, &ci, &request(&first, version))
            .await
            .expect(version);
        assert!(new);
        assert_eq!(art.meta.version, version, "the caller reads back what it sent");
        let l = leaves(&ledger).await;
        for part in ["5558675309", "roe.j", "2015.04.12"] {
            assert!(!in_any(&l, part), "{part} of {version} is in a leaf");
        }
        // As recorded: a reference and a fingerprint; as shown: the version.
        let recorded = ward_app::evidence::artifact(&ledger, &first)
            .await
            .expect("read")
            .expect("some");
        assert!(
            ward_app::documents::is_reference(&recorded.meta.version),
            "{recorded:?}"
        );
        assert!(
            recorded
                .version_key
                .as_deref()
                .is_some_and(|k| k.starts_with("hmac-sha256:"))
        );
        let shown = ward_app::evidence::artifact_shown(&ledger, &first)
            .await
            .expect("read")
            .expect("some");
        assert_eq!(shown.meta.version, version);
        // A retry is a no-op; another build under the same version is refused.
        let (_, new) = ward_app::evidence::register(&ledger, &ci, &request(&first, version))
            .await
            .expect("retry");
        assert!(!new, "a retry records nothing");
        let other = digest(&format!("{}2", i + 1));
        let e = ward_app::evidence::register(&ledger, &ci, &request(&other, version))
            .await
            .expect_err("a second digest");
        assert_eq!(e.code, "version_conflict", "{e:?}");
    }
    // The version recorded inline before still names its one digest.
    let e = ward_app::evidence::register(&ledger, &ci, &request(&digest("0b"), "2.0.0"))
        .await
        .expect_err("the older registration's version");
    assert_eq!(e.code, "version_conflict", "{e:?}");
    assert!(e.message.contains(&digest("0a")), "{e:?}");
    // Another version is fine, and the fingerprints differ per version.
    ward_app::evidence::register(&ledger, &ci, &request(&digest("0c"), "2.0.1"))
        .await
        .expect("another version");
    let a = ward_app::evidence::artifact(&ledger, &digest("11"))
        .await
        .unwrap()
        .unwrap();
    let b = ward_app::evidence::artifact(&ledger, &digest("0c"))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(a.version_key, b.version_key);
    // A version shaped as a fingerprint is refused: it would find what the fingerprint's
    // version names (a helper's attack).
    let fingerprint = a.version_key.clone().expect("key");
    ward_app::evidence::register(&ledger, &ci, &request(&digest("0d"), &fingerprint))
        .await
        .expect_err("a fingerprint as a version");
    db.cleanup().await;
}

/// The identity an unmapped commit author's address stands for (its local part,
/// `user:<name>`) is kept in the leaf as a keyed fingerprint only: a local part may spell a
/// person's number or birth date in forms no rule reads (Roman day and month, a month inside a
/// word: a helper's attack on the ninth session's head), and a leaf cannot be purged. Whatever
/// the address, no part of its local part is in a leaf, and the separation of duties still
/// holds on the fingerprint: the author cannot sign, someone else can. An address
/// `[approvals] git_authors` maps is kept the same way, its mapped identity fingerprinted too.
#[tokio::test]
async fn an_authors_local_part_never_reaches_a_leaf_and_the_author_still_cannot_sign() {
    let (db, ledger, ci) = fresh().await;
    let open = |author: &'static str, rules: ward_core::approval::ApprovalRules| {
        let (ledger, ci) = (&ledger, &ci);
        async move {
            let req = ward_app::changes::ChangeRequest {
                title: "Reminders".into(),
                kind: "normal".into(),
                commits: vec![ward_app::changes::Commit {
                    sha: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b".into(),
                    author: author.into(),
                    time: None,
                }],
                ..Default::default()
            };
            ward_app::changes::open(ledger, ci, &Default::default(), &rules, &req, false).await
        }
    };
    let approver = |id: &str| Identity {
        id: id.into(),
        kind: ActorKind::Human,
        roles: vec![ward_core::Role::Approver],
    };
    let mut accepted = 0;
    for author in [
        "555.867.5309@vtext.com",
        "jane.555.123.4567@corp.com",
        "roe-j-2015-04-12@corp.com",
        "jsmith610412@corp.com",
        "jane.doe.xii.iv.1961@corp.com",
        "jane.doe.xiiapr1961@corp.com",
        "jane.twelveapril1961@corp.com",
        "Mary.OBrien.MCMLXI@corp.com",
    ] {
        let local = author.split('@').next().unwrap_or_default();
        let before = leaves(&ledger).await.len();
        match open(author, Default::default()).await {
            Err(e) => {
                // Refused as an identifier (or by the guard: a dotted phone number, since the
                // fifteenth session): never repeated, nothing recorded.
                assert!(
                    ["invalid_request", "sensitive_content"].contains(&e.code.as_str()),
                    "{author}: {e:?}"
                );
                assert!(!e.message.contains(local) && !e.hint.contains(local), "{e:?}");
                assert_eq!(leaves(&ledger).await.len(), before, "nothing recorded for {author}");
            }
            Ok(change) => {
                accepted += 1;
                let l = leaves(&ledger).await;
                // The whole local part, and each word of it (digits alone occur in the leaf's hex
                // by chance).
                let words = local
                    .split(['.', '-'])
                    .filter(|p| p.len() > 2 && !p.bytes().all(|b| b.is_ascii_hexdigit()));
                for part in words.chain([local]) {
                    assert!(!in_any(&l, &part.to_ascii_lowercase()), "{part} of {author} in a leaf");
                    assert!(!in_any(&l, part), "{part} of {author} in a leaf");
                }
                assert!(change.authors[0].identity.is_empty(), "{author}");
                let keys = &change.authors[0].keys;
                assert!(
                    !keys.is_empty() && keys.iter().all(|k| k.starts_with("hmac-sha256:")),
                    "{author}"
                );
                // Read back as any decision reads it: the author (any spelling of the name) is
                // refused, another person is not.
                let read = ward_app::changes::get(&ledger, &change.id)
                    .await
                    .expect("get")
                    .expect("held");
                let rules = Default::default();
                for as_signed in [
                    format!("user:{local}"),
                    format!("user:{}", local.to_ascii_lowercase().replace('.', "")),
                ] {
                    let r =
                        ward_app::changes::check_decider(&approver(&as_signed), &read, &rules).expect_err(&as_signed);
                    assert_eq!(r.code, "author_cannot_sign", "{as_signed}");
                }
                ward_app::changes::check_decider(&approver("user:quinn"), &read, &rules).expect("another person signs");
                // The address unread (purged): the author, and another issuer's identity naming
                // the address, still cannot sign (a helper's attack on the tenth session's head:
                // `staff:jane.doe@corp.com` signed once the address was purged).
                let mut purged = read.clone();
                purged.addresses.clear();
                for as_signed in [
                    format!("user:{local}"),
                    format!("staff:{author}"),
                    format!("es:{}/42", author.to_ascii_uppercase()),
                ] {
                    let r =
                        ward_app::changes::check_decider(&approver(&as_signed), &purged, &rules).expect_err(&as_signed);
                    assert_eq!(r.code, "author_cannot_sign", "{as_signed}");
                }
                ward_app::changes::check_decider(&approver("user:quinn"), &purged, &rules)
                    .expect("another person signs");
                // Without the installation's key, or with another (a lost key remade), nobody
                // is known to be independent: refused.
                for key in [None, Some(ward_evidence::redact::FingerprintKey::from_random([7; 32]))] {
                    let mut keyless = purged.clone();
                    keyless.author_key = key;
                    let r = ward_app::changes::check_decider(&approver("user:quinn"), &keyless, &rules)
                        .expect_err("no key");
                    assert_eq!(r.code, "authorship_unknown");
                }
            }
        }
    }
    assert!(
        accepted >= 2,
        "the forms no rule reads are kept beside the log, not refused"
    );
    // Mapped, the address records the identity it is mapped to, under any spelling of its
    // mailbox.
    let rules = ward_core::approval::ApprovalRules {
        git_authors: [("E123456@corp.com".to_string(), "user:erin".to_string())].into(),
        ..Default::default()
    };
    let change = open("e123456+ci@corp.com", rules.clone())
        .await
        .expect("a mapped address");
    // The mapped identity is kept as its fingerprint (written plainly, a mapping's address
    // stayed in the leaf for good).
    assert_eq!(change.authors[0].identity, "");
    assert!(
        !in_any(&leaves(&ledger).await, "erin"),
        "the mapped identity is in a leaf"
    );
    // Its address unread (purged), the mapped identity and its local part's still cannot sign
    // (more parties, never fewer: a helper's attack on the tenth session's head).
    let mut purged = ward_app::changes::get(&ledger, &change.id)
        .await
        .expect("get")
        .expect("held");
    purged.addresses.clear();
    for as_signed in ["user:erin", "user:e123456"] {
        let r = ward_app::changes::check_decider(&approver(as_signed), &purged, &rules).expect_err(as_signed);
        assert_eq!(r.code, "author_cannot_sign", "{as_signed}");
    }
    let l = leaves(&ledger).await;
    assert!(!in_any(&l, "123456"), "the address's number is not in a leaf");
    db.cleanup().await;
}

/// A change's configuration versions named otherwise than by a bundle's digest live beside the
/// log (a helper's attack on the eighth session's head: `jane.roe.555.123.4567` was kept in the
/// leaf); people read them as given, and an update carries them.
#[tokio::test]
async fn a_changes_configuration_version_names_live_beside_the_log() {
    let (db, ledger, ci) = fresh().await;
    // A bundle Ward holds (as `config set` stores one: by the digest of its bytes).
    let bundle = br#"{"db":{"password":"env://DB_PASSWORD"}}"#;
    let digest = ward_evidence::digest::of_bytes(bundle);
    ledger.store().put_evidence(&digest, bundle).await.expect("bundle");
    // A digest Ward holds nothing under is refused, unrepeated: 64 hex digits spell any text
    // (a helper's attack: the hex of `admin:<password>@10.0.0.5`).
    let spelled = format!("sha256:{}", hex::encode("admin:Hunter2Secret!@10.0.0.5:54"));
    let refused = ward_app::changes::ChangeRequest {
        title: "Reminders".into(),
        kind: "normal".into(),
        config_versions: vec![spelled.clone()],
        ..Default::default()
    };
    let before = leaves(&ledger).await.len();
    let e = ward_app::changes::open(&ledger, &ci, &Default::default(), &Default::default(), &refused, false)
        .await
        .expect_err("a digest of nothing");
    assert!(
        !e.message.contains(&spelled[7..]) && !e.hint.contains(&spelled[7..]),
        "{e:?}"
    );
    assert_eq!(leaves(&ledger).await.len(), before);
    let req = ward_app::changes::ChangeRequest {
        title: "Reminders".into(),
        kind: "normal".into(),
        config_versions: vec!["jane.roe.555.123.4567".into(), digest.clone()],
        ..Default::default()
    };
    let change = ward_app::changes::open(&ledger, &ci, &Default::default(), &Default::default(), &req, false)
        .await
        .expect("open");
    let l = leaves(&ledger).await;
    assert!(
        !in_any(&l, "555.123.4567") && !in_any(&l, "jane.roe"),
        "a name in a leaf"
    );
    assert!(in_any(&l, &digest), "a bundle's digest is structure and stays");
    let shown = ward_app::documents::shown(&ledger, change.clone())
        .await
        .expect("shown");
    assert_eq!(shown.request.config_versions, req.config_versions);
    // An update that does not name them carries them forward.
    let upd = ward_app::changes::ChangeUpdate {
        paths: Some(vec!["src/reminders.rs".into()]),
        ..Default::default()
    };
    let updated = ward_app::changes::update(
        &ledger,
        &ci,
        &Default::default(),
        &Default::default(),
        &change.id,
        &upd,
        false,
    )
    .await
    .expect("update");
    let shown = ward_app::documents::shown(&ledger, updated).await.expect("shown");
    assert_eq!(shown.request.config_versions, req.config_versions);
    db.cleanup().await;
}

/// A commit's id lives beside the log (a helper's attack on the ninth session's head: a caller
/// who asserts the commits writes any hex digits, and hex letters between decimal digits spell
/// a number no rule tells from an id git made, `123a45b6789`, `1961e04e12`). A change's commit
/// ids and an artifact's commit reach no leaf; people read them as given; the same commits
/// given again, or the same registration run again, record nothing; a reference given as a
/// commit's id is refused.
#[tokio::test]
async fn a_commit_id_spelling_a_number_never_reaches_a_leaf() {
    let (db, ledger, ci) = fresh().await;
    // An SSN with hex letters as separators, and one inside a whole id.
    let spelled = ["123a45b6789", "9f86d081884c7d659a2fea219451100b3bf4f1b0"];
    let commits: Vec<ward_app::changes::Commit> = spelled
        .iter()
        .map(|sha| ward_app::changes::Commit {
            sha: sha.to_string(),
            author: "quinn@example.org".into(),
            time: None,
        })
        .collect();
    let req = ward_app::changes::ChangeRequest {
        title: "Reminders".into(),
        kind: "normal".into(),
        commits: commits.clone(),
        ..Default::default()
    };
    let rules = Default::default();
    let change = ward_app::changes::open(&ledger, &ci, &Default::default(), &rules, &req, false)
        .await
        .expect("open");
    let mut artifact = api_artifact(&format!("sha256:{}", "c4".repeat(32)), "1.0.0");
    artifact.commit = Some("1961e04e12".into());
    ward_app::evidence::register(&ledger, &ci, &artifact)
        .await
        .expect("register");
    let l = leaves(&ledger).await;
    for number in ["123a45b6789", "219451100", "1961e04e12"] {
        assert!(!in_any(&l, number), "{number} in a leaf");
    }
    // Read as given.
    let read = ward_app::changes::get(&ledger, &change.id)
        .await
        .expect("get")
        .expect("held");
    let shown = ward_app::documents::shown(&ledger, read.clone()).await.expect("shown");
    let ids: Vec<&str> = shown.request.commits.iter().map(|c| c.sha.as_str()).collect();
    assert_eq!(ids, spelled);
    let registered = ward_app::evidence::artifact(&ledger, &artifact.digest)
        .await
        .expect("read")
        .expect("held");
    let registered = ward_app::documents::shown(&ledger, registered).await.expect("shown");
    assert_eq!(registered.meta.commit.as_deref(), Some("1961e04e12"));
    // Given again, in upper case too: nothing new.
    let before = l.len();
    let upper: Vec<ward_app::changes::Commit> = commits
        .iter()
        .map(|c| ward_app::changes::Commit {
            sha: c.sha.to_ascii_uppercase(),
            ..c.clone()
        })
        .collect();
    let upd = ward_app::changes::ChangeUpdate {
        commits: Some(upper),
        ..Default::default()
    };
    ward_app::changes::update(&ledger, &ci, &Default::default(), &rules, &change.id, &upd, false)
        .await
        .expect("the same commits in upper case");
    let upd = ward_app::changes::ChangeUpdate {
        commits: Some(commits),
        ..Default::default()
    };
    ward_app::changes::update(&ledger, &ci, &Default::default(), &rules, &change.id, &upd, false)
        .await
        .expect("the same commits");
    let (_, fresh_registration) = ward_app::evidence::register(&ledger, &ci, &artifact)
        .await
        .expect("again");
    assert!(!fresh_registration, "the same registration is no new one");
    assert_eq!(leaves(&ledger).await.len(), before, "nothing recorded");
    // A stored reference given as a commit's id points the log at a document Ward stored for
    // another purpose: refused.
    let reference = read.request.commits[0].sha.clone();
    assert!(ward_app::documents::is_reference(&reference), "{reference}");
    let upd = ward_app::changes::ChangeUpdate {
        commits: Some(vec![ward_app::changes::Commit {
            sha: reference.clone(),
            author: "quinn@example.org".into(),
            time: None,
        }]),
        ..Default::default()
    };
    let e = ward_app::changes::update(&ledger, &ci, &Default::default(), &rules, &change.id, &upd, false)
        .await
        .expect_err("a reference as a commit id");
    assert_eq!(e.code, "reserved_reference", "{e:?}");
    db.cleanup().await;
}

/// A custom attestation type's schema lives beside the log (a helper's attack on the tenth
/// session's head: a description `born 12 IV 1961, ssn 219a45b1100` passed every detector and
/// was kept whole in the leaf); the leaf holds its reference and digest, the type still reads
/// its schema, and registering it again is no new entry.
#[tokio::test]
async fn a_custom_types_schema_never_reaches_a_leaf() {
    let (db, ledger, ci) = fresh().await;
    let admin = Identity {
        id: "user:ada".into(),
        kind: ActorKind::Human,
        roles: vec![ward_core::Role::Admin],
    };
    let _ = ci;
    let schema = json!({
        "type": "object",
        "description": "load test notes by Roe Quimby born twelve IV nineteen sixty one",
        "properties": {"passed": {"type": "boolean", "description": "Quimby's sign-off"}},
        "required": ["passed"],
    });
    let req = ward_app::keys::TypeRequest {
        name: "load-test".into(),
        schema: schema.clone(),
    };
    let (t, new) = ward_app::keys::register_type(&ledger, &admin, &req)
        .await
        .expect("register");
    assert!(new);
    assert_eq!(t.schema, schema);
    let l = leaves(&ledger).await;
    assert!(
        !in_any(&l, "Quimby") && !in_any(&l, "twelve"),
        "the schema is in a leaf"
    );
    let read = ward_app::keys::type_record(&ledger, "load-test")
        .await
        .expect("read")
        .expect("held");
    assert_eq!(read.schema, schema);
    assert_eq!(read.schema_digest, t.schema_digest);
    let listed = ward_app::keys::list_types(&ledger).await.expect("list");
    assert!(listed.iter().any(|x| x.name == "load-test" && x.schema == schema));
    let (_, again) = ward_app::keys::register_type(&ledger, &admin, &req)
        .await
        .expect("again");
    assert!(!again, "the same schema again is no new type");
    assert_eq!(leaves(&ledger).await.len(), l.len());
    db.cleanup().await;
}

/// A change of many authors is larger than a leaf keeps inline: its payload is stored out of
/// line, and it is still a change — listed, read, and every author still unable to sign it —
/// and the check of the key its authors' fingerprints were made under is still recorded (a
/// helper's find on the eleventh session: sixty authors made a change `ward change list` did
/// not show, and a lost key was remade over it).
#[tokio::test]
async fn a_change_of_sixty_authors_is_a_change_and_records_its_key() {
    let (db, ledger, ci) = fresh().await;
    let commits: Vec<ward_app::changes::Commit> = (0..60)
        .map(|i| ward_app::changes::Commit {
            sha: format!("9f86d081884c7d659a2feaa0c55ad015a3bf{:04x}", i + 0xa1b0),
            author: format!(
                "dev.number.{}@corp.com",
                ["one", "two", "three", "four", "five", "six"][i as usize % 6]
            )
            .replace(
                "@",
                &format!(
                    ".{}@",
                    ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"][i as usize / 6]
                ),
            ),
            time: None,
        })
        .collect();
    let req = ward_app::changes::ChangeRequest {
        title: "Many hands".into(),
        kind: "normal".into(),
        commits,
        ..Default::default()
    };
    let rules = ward_core::approval::ApprovalRules::default();
    let change = ward_app::changes::open(&ledger, &ci, &Default::default(), &rules, &req, false)
        .await
        .expect("open");
    assert_eq!(change.authors.len(), 60);
    let size = ledger.store().head().await.expect("head").size();
    let last = ledger
        .store()
        .entries(size - 1, 1)
        .await
        .expect("entries")
        .remove(0)
        .leaf;
    assert!(
        String::from_utf8_lossy(&last).contains(r#""payload":{"digest""#),
        "kept out of line"
    );
    let listed = ward_app::changes::list(&ledger).await.expect("list");
    assert!(listed.iter().any(|c| c.id == change.id), "the change is listed");
    let read = ward_app::changes::get(&ledger, &change.id)
        .await
        .expect("get")
        .expect("held");
    let approver = |id: &str| Identity {
        id: id.into(),
        kind: ActorKind::Human,
        roles: vec![ward_core::Role::Approver],
    };
    ward_app::changes::check_decider(&approver("user:dev.number.three.a"), &read, &rules).expect_err("an author signs");
    ward_app::changes::check_decider(&approver("user:quinn"), &read, &rules).expect("another person signs");
    // The key its authors' fingerprints were made under is recorded: lost, it is not remade.
    db.exec_behind_the_store(&format!(
        "DELETE FROM ward_meta WHERE key = '{}'",
        ward_app::redaction::META_KEY
    ))
    .await;
    let e = ward_app::redaction::installation_key(ledger.store().as_ref())
        .await
        .expect_err("remade");
    assert_eq!(e.code, "installation_key_lost");
    db.cleanup().await;
}

/// A token's name is an administrator's free text: a name the identifier rules cannot read
/// for what it spells reached every leaf its token wrote, as the actor `token:<name>`. Since
/// the twelfth session automation acts as its token's id, and the name lives beside the log
/// with the token's record; `token list` shows it as written.
#[tokio::test]
async fn a_tokens_name_never_reaches_a_leaf_and_its_actions_name_its_id() {
    let (_db, ledger, _ci) = fresh().await;
    let operator = Identity {
        id: "local:test".into(),
        kind: ActorKind::Human,
        roles: vec![ward_core::Role::Admin],
    };
    const NAME: &str = "zyxwvq-release-bot";
    let created = ward_app::identities::create_token(
        &ledger,
        &operator,
        &ward_app::identities::TokenRequest {
            name: NAME.into(),
            roles: vec![ward_core::Role::Developer],
            expires_in_secs: None,
            user: None,
            password: None,
        },
    )
    .await
    .expect("token");
    assert_eq!(created.record.name, NAME);
    let acts_as = format!("token:{}", created.record.id);
    assert_eq!(created.record.identity, acts_as);
    // What the token writes names its id.
    let bot = Identity {
        id: created.record.identity.clone(),
        kind: ActorKind::Automation,
        roles: vec![ward_core::Role::Developer],
    };
    let digest = format!("sha256:{}", "cd".repeat(32));
    let (registered, _) = ward_app::evidence::register(&ledger, &bot, &api_artifact(&digest, "1.0.0"))
        .await
        .expect("register");
    assert_eq!(registered.builder, acts_as);
    let listed = ward_app::identities::list_tokens(&ledger).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].name.as_str(), listed[0].identity.as_str()),
        (NAME, acts_as.as_str())
    );
    let all = leaves(&ledger).await;
    assert!(!in_any(&all, "zyxwvq"), "a token's name is in a leaf");
    assert!(in_any(&all, &acts_as), "its actions name its id");
}

/// An actor a caller names when appending on the data directory (the automation identity a
/// script runs as) is the caller's text: `ci:mary-jones-bornon-12-04` reached the leaf as
/// written (a helper's attack on `dec691e`). It joins the event's document beside the log; the
/// leaf holds its keyed fingerprint; the texts view shows it as sent and a search by it finds
/// the event. The actor Ward authenticated stays in the leaf as it is.
#[tokio::test]
async fn an_actor_a_caller_names_never_reaches_a_leaf() {
    let (_db, ledger, _ci) = fresh().await;
    let operator = "local:test";
    let named = "ci:zyxwvq-nightly";
    let event = |actor: &str| ward_ledger::NewEvent {
        actor: ward_ledger::Actor {
            id: actor.into(),
            kind: ActorKind::Automation,
        },
        kind: "deploy.note".into(),
        subject: "svc:api".into(),
        payload: json!({ "status": "ok" }),
    };
    let appended = ward_app::ops::append_submitted(&ledger, vec![event(named), event(operator)], Some(operator))
        .await
        .expect("appended");
    let seq = appended.appended[0].seq;
    let all = leaves(&ledger).await;
    assert!(!in_any(&all, "zyxwvq"), "a named actor is in a leaf");
    assert!(in_any(&all, operator), "the operator stays");
    let shown = ward_app::ops::entries(&ledger, seq, 2, true).await.expect("entries");
    assert_eq!(
        shown.entries[0].event["actor"]["id"], named,
        "{:?}",
        shown.entries[0].event
    );
    let raw = ward_app::ops::entries(&ledger, seq, 1, false).await.expect("entries");
    let in_leaf = raw.entries[0].event["actor"]["id"].as_str().expect("actor").to_string();
    assert!(in_leaf.starts_with("submitted:hmac-sha256:"), "{in_leaf}");
    assert_eq!(raw.entries[0].event["actor"]["kind"], "automation");
    // A search by the actor as named finds the event.
    let signer = ward_ledger::Ed25519Signer::from_seed("test.ward/log", [7u8; 32]);
    let by = Identity {
        id: "user:auditor".into(),
        kind: ActorKind::Human,
        roles: vec![ward_core::Role::Auditor],
    };
    let q = ward_app::search::SearchQuery {
        person: Some(named.into()),
        ..Default::default()
    };
    let found = ward_app::search::search(&ledger, &signer, "test.ward/log", &by, &q)
        .await
        .expect("search");
    assert!(found.hits.iter().any(|h| h.seq == seq), "{:?}", found.hits);
}
