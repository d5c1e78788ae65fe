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
