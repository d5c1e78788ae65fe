//! Summaries of output written by the real tools (`tests/fixtures/make-fixtures.sh` made these
//! files with pytest, semgrep 1.182 and cargo-nextest; see the script for the inputs).

use ward_evidence::detect::{Format, detect};
use ward_evidence::{MAX_EVIDENCE, junit, sarif};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .expect("fixture")
}

#[test]
fn pytest_junitxml() {
    let bytes = fixture("pytest.xml");
    assert_eq!(detect(&bytes).unwrap(), Format::Junit);
    let s = junit::summarise(&bytes, MAX_EVIDENCE).unwrap();
    // 8 cases: 3 passed, 2 failed, 1 error (a broken fixture), 2 skipped (skip and xfail).
    assert_eq!((s.tests, s.passed, s.failed, s.errored, s.skipped), (8, 3, 2, 1, 2));
    assert_eq!(
        s.failing,
        vec![
            "test_sample::test_divides",
            "test_sample::test_strings",
            "test_sample::test_uses_broken"
        ]
    );
    assert_eq!(s.suites, 1);
}

#[test]
fn nextest_junit() {
    let bytes = fixture("nextest.xml");
    assert_eq!(detect(&bytes).unwrap(), Format::Junit);
    let s = junit::summarise(&bytes, MAX_EVIDENCE).unwrap();
    // nextest leaves ignored tests out of its JUnit report: 2 passed, 1 failed.
    assert_eq!((s.tests, s.passed, s.failed, s.errored, s.skipped), (3, 2, 1, 0, 0));
    assert_eq!(s.failing, vec!["nextest-fixture::tests::subtracts"]);
    assert!(s.duration_secs > 0.0);
}

#[test]
fn semgrep_sarif() {
    let bytes = fixture("semgrep.sarif");
    assert_eq!(detect(&bytes).unwrap(), Format::Sarif);
    let s = sarif::summarise(&bytes, MAX_EVIDENCE).unwrap();
    assert_eq!(s.tools[0].name, "Semgrep OSS");
    assert_eq!(s.tools[0].version.as_deref(), Some("1.182.0"));
    // eval() (ERROR, security-severity 9.1) once, print() (INFO) twice; the /tmp rule did not fire.
    assert_eq!(s.results, 3);
    assert_eq!(s.by_level.get("error"), Some(&1));
    assert_eq!(s.by_level.get("note"), Some(&2));
    assert_eq!(s.by_severity.get("critical"), Some(&1));
    assert_eq!(s.by_severity.get("unscored"), Some(&2));
    assert_eq!(s.rule_ids, vec!["print-call", "python-eval"]);
}

#[test]
fn a_tampered_report_is_refused() {
    // Drop one failing test case but keep the suite's claimed counts: the numbers disagree.
    let text = String::from_utf8(fixture("nextest.xml")).unwrap();
    let start = text.find("<testcase name=\"tests::subtracts\"").unwrap();
    let end = text[start..].find("</testcase>").unwrap() + start + "</testcase>".len();
    let cut = format!("{}{}", &text[..start], &text[end..]);
    assert!(matches!(
        junit::summarise(cut.as_bytes(), MAX_EVIDENCE),
        Err(ward_evidence::EvidenceError::Inconsistent { .. })
    ));
}

#[test]
fn real_reports_pass_the_guard() {
    use ward_evidence::guard::{GuardConfig, scan};
    for f in [
        "pytest.xml",
        "nextest.xml",
        "semgrep.sarif",
        "cyclonedx-py-1.6.json",
        "cyclonedx-py-1.4.json",
    ] {
        let text = String::from_utf8(fixture(f)).unwrap();
        let found = scan(&text, &GuardConfig::default());
        assert!(found.is_empty(), "{f}: {found:?}");
    }
}

#[test]
fn cyclonedx_py_sboms() {
    use ward_evidence::cyclonedx;
    for (file, spec) in [("cyclonedx-py-1.6.json", "1.6"), ("cyclonedx-py-1.4.json", "1.4")] {
        let bytes = fixture(file);
        assert_eq!(detect(&bytes).unwrap(), Format::Cyclonedx, "{file}");
        let s = cyclonedx::summarise(&bytes, MAX_EVIDENCE).unwrap();
        assert_eq!(s.spec_version, spec);
        // requests 2.32.3 and what its venv holds: certifi, charset-normalizer, idna, pip,
        // setuptools, urllib3 — every one with a purl, a license and a dependency entry.
        assert_eq!((s.components, s.with_purl, s.without_license), (7, 7, 0), "{file}");
        assert!(s.purls.contains(&"pkg:pypi/requests@2.32.3".to_string()));
        assert_eq!(s.licenses.get("MIT"), Some(&4), "{file}: {:?}", s.licenses);
        assert_eq!(s.licenses.get("Apache-2.0"), Some(&1));
        assert_eq!(
            (s.with_ref, s.with_dependency_entry, s.dependencies_complete),
            (7, 7, true)
        );
    }
}

#[test]
fn sbom4python_spdx_json_and_tag_value_agree() {
    use ward_evidence::spdx;
    let json = fixture("sbom4python-2.3.spdx.json");
    let tv = fixture("sbom4python-2.3.spdx");
    assert_eq!(detect(&json).unwrap(), Format::Spdx);
    assert_eq!(detect(&tv).unwrap(), Format::Spdx);
    let a = spdx::summarise(&json, MAX_EVIDENCE).unwrap();
    let b = spdx::summarise(&tv, MAX_EVIDENCE).unwrap();
    assert_eq!(a, b, "the two encodings of one SBOM summarise the same");
    // requests and its four dependencies; idna and urllib3 carry NOASSERTION licenses.
    assert_eq!(a.spec_version, "SPDX-2.3");
    assert_eq!((a.components, a.with_purl, a.without_license), (5, 5, 2));
    assert_eq!(a.licenses.get("Apache-2.0"), Some(&1));
    assert_eq!(a.licenses.get("MPL-2.0"), Some(&1));
    assert_eq!(a.licenses.get("MIT"), Some(&1));
    assert!(a.dependencies_complete);
    assert!(a.purls.contains(&"pkg:pypi/urllib3@2.8.0".to_string()));
}

#[test]
fn cyclonedx_py_xml_summarises_like_its_json() {
    use ward_evidence::cyclonedx;
    for (xml, json) in [
        ("cyclonedx-py-1.6.xml", "cyclonedx-py-1.6.json"),
        ("cyclonedx-py-1.4.xml", "cyclonedx-py-1.4.json"),
    ] {
        let x = fixture(xml);
        assert_eq!(detect(&x).unwrap(), Format::Cyclonedx, "{xml}");
        let from_xml = cyclonedx::summarise(&x, MAX_EVIDENCE).unwrap();
        let from_json = cyclonedx::summarise(&fixture(json), MAX_EVIDENCE).unwrap();
        // Same venv, same cyclonedx-py run: the two encodings say the same (the 1.6 file's two
        // tool components under metadata/tools are not SBOM components).
        assert_eq!(from_xml, from_json, "{xml}");
        assert_eq!(from_xml.components, 7);
    }
}

#[test]
fn more_junit_writers() {
    // jest-junit: 2 passed, 1 failed, 1 skipped; its <testsuites> states no `skipped`.
    let s = junit::summarise(&fixture("jest-junit.xml"), MAX_EVIDENCE).unwrap();
    assert_eq!((s.tests, s.passed, s.failed, s.errored, s.skipped), (4, 2, 1, 0, 1));
    assert_eq!(s.failing.len(), 1);
    assert!(s.failing[0].ends_with("divides"), "{:?}", s.failing);
    // Maven Surefire (public/PROVENANCE.md): 5 tests, 2 failures, 1 skipped.
    let bytes = fixture("public/surefire.xml");
    assert_eq!(detect(&bytes).unwrap(), Format::Junit);
    let s = junit::summarise(&bytes, MAX_EVIDENCE).unwrap();
    assert_eq!((s.tests, s.passed, s.failed, s.errored, s.skipped), (5, 2, 2, 0, 1));
    assert!(s.failing.iter().any(|f| f.ends_with("require_fail")), "{:?}", s.failing);
}

#[test]
fn checkov_and_bandit_sarif() {
    let bytes = fixture("checkov.sarif");
    assert_eq!(detect(&bytes).unwrap(), Format::Sarif);
    let s = sarif::summarise(&bytes, MAX_EVIDENCE).unwrap();
    assert_eq!(s.tools[0].name, "Checkov");
    // An S3 bucket without encryption, versioning, logging…, and SSH open to the world.
    assert_eq!((s.results, s.by_level.get("error")), (10, Some(&10)));
    assert_eq!(s.rule_ids.len(), 10);
    assert!(s.rule_ids.contains(&"CKV_AWS_24".to_string()));

    let s = sarif::summarise(&fixture("bandit.sarif"), MAX_EVIDENCE).unwrap();
    assert_eq!(s.tools[0].name, "Bandit");
    // B602 (shell=True) is an error; B506 (yaml.load) has no level, so SARIF's default warning.
    assert_eq!(s.results, 5);
    assert_eq!(
        (
            s.by_level.get("error"),
            s.by_level.get("warning"),
            s.by_level.get("note")
        ),
        (Some(&1), Some(&1), Some(&3))
    );
    assert_eq!(s.rule_ids, vec!["B101", "B105", "B404", "B506", "B602"]);
}

mod intoto_fixtures {
    use super::fixture;
    use ward_evidence::detect::{Format, detect};
    use ward_evidence::intoto::{TrustedKey, summarise};
    use ward_evidence::keys::{KeyAlgorithm, PublicKey};
    use ward_evidence::{EvidenceError, MAX_EVIDENCE};

    /// sha256 of intoto-app.tar, the product and subject of every in-toto fixture.
    const APP: &str = "sha256:44aa65cce0bb601a204bbd016592ece3580a7dd416e15cbdb5346eefe1bb11f0";

    fn key(name: &str, builder: &str) -> TrustedKey {
        let pem = String::from_utf8(fixture(&format!("intoto-{name}.pub"))).unwrap();
        TrustedKey {
            builder: builder.into(),
            key: PublicKey::from_pem(&pem).unwrap(),
        }
    }

    fn all_keys() -> Vec<TrustedKey> {
        vec![key("ed25519", "ed"), key("ecdsa", "ec"), key("rsa", "rs")]
    }

    #[test]
    fn the_artifact_digest_is_the_tar() {
        assert_eq!(ward_evidence::digest::of_bytes(&fixture("intoto-app.tar")), APP);
        let algs: Vec<KeyAlgorithm> = all_keys().iter().map(|k| k.key.algorithm()).collect();
        assert_eq!(
            algs,
            vec![KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa]
        );
    }

    #[test]
    fn in_toto_run_links_verify_with_each_algorithm() {
        for (file, builder, envelope) in [
            ("intoto-link-ed25519.link", "ed", "metablock"),
            ("intoto-link-ecdsa.link", "ec", "metablock"),
            ("intoto-link-rsa.link", "rs", "metablock"),
            ("intoto-link-ed25519.dsse.json", "ed", "dsse"),
        ] {
            let bytes = fixture(file);
            assert_eq!(detect(&bytes).unwrap(), Format::Intoto, "{file}");
            let s = summarise(&bytes, MAX_EVIDENCE, &all_keys(), APP).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(s.envelope, envelope, "{file}");
            assert_eq!(s.statement_type, "link");
            assert_eq!(s.verified_by.len(), 1, "{file}");
            assert_eq!(s.verified_by[0].builder, builder, "{file}");
            assert_eq!(s.matched_subject, "app.tar");
            assert_eq!(
                (s.artifact_role.as_str(), s.step.as_deref()),
                ("product", Some("build"))
            );
            let link = s.link.unwrap();
            assert_eq!(link.step, "build");
            assert_eq!(link.command, vec!["sh", "-c", "cat src.txt > /dev/null"]);
            assert_eq!((link.materials, link.products, link.return_value), (1, 1, Some(0)));
            // Only the signer's key verifies it.
            let others: Vec<TrustedKey> = all_keys().into_iter().filter(|k| k.builder != builder).collect();
            assert!(
                matches!(
                    summarise(&bytes, MAX_EVIDENCE, &others, APP),
                    Err(EvidenceError::Unverified(_))
                ),
                "{file}"
            );
        }
    }

    #[test]
    fn dsse_statements_with_slsa_provenance() {
        for (file, builder, version, slsa) in [
            ("statement-v1-slsa1.ed25519.dsse.json", "ed", "v1", "v1"),
            ("statement-v1-slsa1.rsa.dsse.json", "rs", "v1", "v1"),
            ("statement-v01-slsa02.ecdsa.dsse.json", "ec", "v0.1", "v0.2"),
        ] {
            let s = summarise(&fixture(file), MAX_EVIDENCE, &all_keys(), APP).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(s.statement_type, format!("https://in-toto.io/Statement/{version}"));
            assert_eq!(s.verified_by[0].builder, builder);
            let p = s.provenance.unwrap();
            assert_eq!(p.slsa_version, slsa);
            assert_eq!(p.materials, 2);
            assert!(!p.builder_id.is_empty());
        }
        let v1 = summarise(
            &fixture("statement-v1-slsa1.ed25519.dsse.json"),
            MAX_EVIDENCE,
            &all_keys(),
            APP,
        )
        .unwrap();
        assert_eq!(v1.provenance.unwrap().builder_id, "https://github.com/actions/runner");
    }

    /// in-toto-run of a test step that reads app.tar (a material) and makes nothing: evidence
    /// about app.tar, with its step recorded.
    #[test]
    fn test_step_link_naming_the_artifact_as_material_is_accepted() {
        let bytes = fixture("intoto-link-test-material.link");
        assert_eq!(detect(&bytes).unwrap(), Format::Intoto);
        let s = summarise(&bytes, MAX_EVIDENCE, &all_keys(), APP).unwrap();
        assert_eq!((s.envelope.as_str(), s.statement_type.as_str()), ("metablock", "link"));
        assert_eq!(s.verified_by[0].builder, "ed");
        assert_eq!(s.matched_subject, "app.tar");
        assert_eq!(
            (s.artifact_role.as_str(), s.step.as_deref()),
            ("material", Some("test"))
        );
        assert!(s.subjects.is_empty());
        assert_eq!(s.materials.len(), 1);
        let link = s.link.as_ref().unwrap();
        assert_eq!((link.materials, link.products, link.return_value), (1, 0, Some(0)));
        assert_eq!(link.command, vec!["sh", "-c", "tar -tf app.tar > /dev/null"]);
        // The summary document carries the fields policy reads.
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            (v["step"].as_str(), v["artifact_role"].as_str()),
            (Some("test"), Some("material"))
        );
        // Another artifact is named in neither its materials nor its products: refused.
        let other = format!("sha256:{}", "0".repeat(64));
        match summarise(&bytes, MAX_EVIDENCE, &all_keys(), &other) {
            Err(EvidenceError::Mismatch(m)) => {
                assert!(m.contains("no product or material of step \"test\""), "{m}");
                assert!(m.contains("materials: app.tar sha256:44aa65cc"), "{m}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn forged_wrong_key_and_other_artifact_are_refused() {
        let wrong = fixture("statement-v1-slsa1.wrongkey.dsse.json");
        assert!(matches!(
            summarise(&wrong, MAX_EVIDENCE, &all_keys(), APP),
            Err(EvidenceError::Unverified(_))
        ));
        // Swap a subject digest inside a signed payload: the signature no longer holds.
        let text = String::from_utf8(fixture("intoto-link-ed25519.link")).unwrap();
        let forged = text.replacen("\"return-value\": 0", "\"return-value\": 1", 1);
        assert_ne!(forged, text);
        assert!(matches!(
            summarise(forged.as_bytes(), MAX_EVIDENCE, &all_keys(), APP),
            Err(EvidenceError::Unverified(_))
        ));
        // A genuine envelope attached to another artifact.
        let other = format!("sha256:{}", "0".repeat(64));
        assert!(matches!(
            summarise(
                &fixture("statement-v1-slsa1.ed25519.dsse.json"),
                MAX_EVIDENCE,
                &all_keys(),
                &other
            ),
            Err(EvidenceError::Mismatch(_))
        ));
    }
}

/// pip-audit 2.10.1 on a machine that cannot reach PyPI's JSON API: every dependency skipped,
/// and pip-audit itself prints "No known vulnerabilities found" and exits 0.
#[test]
fn all_skipped_pip_audit_is_not_a_clean_scan() {
    use ward_evidence::vulns;
    let bytes = fixture("pip-audit-all-skipped.json");
    assert_eq!(detect(&bytes).unwrap(), Format::Vulns);
    let s = vulns::summarise(&bytes, MAX_EVIDENCE).unwrap();
    assert_eq!((s.report_format.as_str(), s.findings, s.open), ("pip-audit", 0, 0));
    assert_eq!((s.audited, s.skipped, s.incomplete), (Some(0), Some(3), true));
    let names: Vec<&str> = s.skipped_packages.iter().map(|p| p.package.as_str()).collect();
    assert_eq!(names, vec!["pip", "setuptools", "ward-internal-phi-lib"]);
    assert_eq!(s.skipped_packages[2].reason, "distribution marked as editable");
    let why = s.incomplete_reason.unwrap();
    assert!(
        why.starts_with("pip-audit could not audit 3 of 3 packages: pip (Dependency not found on PyPI"),
        "{why}"
    );
}

#[test]
fn scanner_reports() {
    use ward_evidence::vulns;
    // Trivy's own integration golden file (public/PROVENANCE.md): bash with no fix (LOW),
    // libidn2-0 fixed in 2.0.5-1+deb10u1 (CRITICAL).
    let bytes = fixture("public/trivy.json");
    assert_eq!(detect(&bytes).unwrap(), Format::Vulns);
    let s = vulns::summarise(&bytes, MAX_EVIDENCE).unwrap();
    assert_eq!(s.report_format, "trivy");
    assert_eq!((s.findings, s.open, s.fix_available), (2, 2, 1));
    assert_eq!(
        (s.by_severity.get("critical"), s.by_severity.get("low")),
        (Some(&1), Some(&1))
    );
    assert_eq!(s.ids, vec!["CVE-2019-18224", "CVE-2019-18276"]);
    let libidn = s.list.iter().find(|f| f.package == "libidn2-0").unwrap();
    assert_eq!(libidn.fixed_versions, vec!["2.0.5-1+deb10u1"]);

    // Grype 0.24.0: 9 matches; Medium 5, High 2, Critical 2; none with a fixed version.
    let bytes = fixture("public/grype.json");
    assert_eq!(detect(&bytes).unwrap(), Format::Vulns);
    let s = vulns::summarise(&bytes, MAX_EVIDENCE).unwrap();
    assert_eq!(
        (s.report_format.as_str(), s.tool_version.as_deref()),
        ("grype", Some("0.24.0"))
    );
    assert_eq!((s.findings, s.ids.len(), s.fix_available), (9, 9, 0));
    assert_eq!(
        (
            s.by_severity.get("medium"),
            s.by_severity.get("high"),
            s.by_severity.get("critical")
        ),
        (Some(&5), Some(&2), Some(&2))
    );

    // CycloneDX VEX (CISA use case 8): 8 statements over 11 product references. Per product:
    // 5 not_affected and 2 resolved close findings, 4 exploitable stay open.
    let bytes = fixture("public/cyclonedx-vex.json");
    assert_eq!(detect(&bytes).unwrap(), Format::Vulns);
    let s = vulns::summarise(&bytes, MAX_EVIDENCE).unwrap();
    assert_eq!(s.report_format, "cyclonedx");
    assert_eq!(s.ids, vec!["CVE-2021-44228", "CVE-2021-45105"]);
    assert_eq!((s.findings, s.open), (11, 4));
    assert_eq!(
        (s.closed_by_vex.get("not_affected"), s.closed_by_vex.get("resolved")),
        (Some(&5), Some(&2))
    );
    assert!(
        s.list
            .iter()
            .filter(|f| f.vex_state.as_deref() == Some("exploitable"))
            .all(|f| f.open)
    );
    assert!(
        s.list
            .iter()
            .filter(|f| f.vex_state.as_deref() == Some("not_affected"))
            .all(|f| !f.open)
    );
}
