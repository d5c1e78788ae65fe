//! Parsers never panic, whatever the bytes; summaries of generated reports add up.

use proptest::prelude::*;
use ward_evidence::{junit, sarif};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn junit_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = junit::summarise(&bytes, 1 << 20);
    }

    #[test]
    fn sarif_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = sarif::summarise(&bytes, 1 << 20);
    }

    #[test]
    fn cyclonedx_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = ward_evidence::cyclonedx::summarise(&bytes, 1 << 20);
        let _ = ward_evidence::spdx::summarise_json(&bytes, 1 << 20);
        let _ = ward_evidence::spdx::summarise_tag_value(&bytes, 1 << 20);
        let _ = ward_evidence::detect::detect(&bytes);
    }

    #[test]
    fn dr_parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        for tool in ["pgbackrest", "velero", "aws-backup"] {
            let _ = ward_evidence::dr::summarise(tool, &bytes, 1 << 20);
        }
    }

    #[test]
    fn mutated_dr_fixtures_never_panic(at in any::<prop::sample::Index>(), byte in any::<u8>(), which in 0usize..3) {
        let (tool, name) = [("pgbackrest", "pgbackrest-info.json"), ("velero", "velero-backups-list.json"), ("aws-backup", "aws-restore-jobs.json")][which];
        let mut bytes = std::fs::read(format!("{}/tests/fixtures/dr/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = ward_evidence::dr::summarise(tool, &bytes, 1 << 20);
    }

    #[test]
    fn generated_junit_adds_up(outcomes in prop::collection::vec(0u8..4, 0..60), claim in any::<bool>()) {
        let mut cases = String::new();
        let (mut f, mut e, mut s) = (0, 0, 0);
        for (i, o) in outcomes.iter().enumerate() {
            let body = match o {
                1 => { f += 1; "<failure/>" }
                2 => { e += 1; "<error/>" }
                3 => { s += 1; "<skipped/>" }
                _ => "",
            };
            cases.push_str(&format!("<testcase name=\"t{i}\" time=\"0.5\">{body}</testcase>"));
        }
        let n = outcomes.len();
        let attrs = if claim { format!(" tests=\"{n}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{s}\"") } else { String::new() };
        let xml = format!("<testsuites><testsuite name=\"g\"{attrs}>{cases}</testsuite></testsuites>");
        let sum = junit::summarise(xml.as_bytes(), 1 << 20).unwrap();
        prop_assert_eq!(sum.tests as usize, n);
        prop_assert_eq!(sum.passed + sum.failed + sum.errored + sum.skipped, sum.tests);
        prop_assert_eq!((sum.failed, sum.errored, sum.skipped), (f, e, s));
        prop_assert_eq!(sum.failing.len() as u64, f + e);
        prop_assert!((sum.duration_secs - 0.5 * n as f64).abs() < 1e-6);
        // Claiming one more test than there is must be refused.
        if claim {
            let lying = xml.replacen(&format!("tests=\"{n}\""), &format!("tests=\"{}\"", n + 1), 1);
            prop_assert!(junit::summarise(lying.as_bytes(), 1 << 20).is_err());
        }
    }

    #[test]
    fn mutated_fixture_never_panics(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/semgrep.sarif")).unwrap();
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = sarif::summarise(&bytes, 1 << 20);
        let mut x = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/pytest.xml")).unwrap();
        let j = at.index(x.len());
        x[j] = byte;
        let _ = junit::summarise(&x, 1 << 20);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Whatever the text, scanning never panics, and a redacted copy holds none of the spans
    /// found (the guard finds nothing in it that it found before).
    #[test]
    fn redaction_removes_every_finding(
        noise in "[ -~\n]{0,200}",
        secret in prop::sample::select(vec![
            "123-45-6789", "AKIAIOSFODNN7EXAMPLE", "-----BEGIN RSA PRIVATE KEY-----",
            "postgres://app:s3cr3t@db:5432/x", "MRN 00123456",
        ]),
        at in any::<prop::sample::Index>(),
    ) {
        use ward_evidence::guard::{GuardConfig, redact, scan};
        let cut = {
            let i = at.index(noise.len() + 1);
            let mut i = i.min(noise.len());
            while !noise.is_char_boundary(i) { i -= 1; }
            i
        };
        let text = format!("{} {secret} {}", &noise[..cut], &noise[cut..]);
        let found = scan(&text, &GuardConfig::default());
        prop_assert!(!found.is_empty(), "{text:?}");
        let cleaned = redact(&text, &found);
        prop_assert!(!cleaned.contains(secret));
        let spans: std::collections::HashSet<_> = found.iter().filter_map(|f| f.span(&text)).collect();
        for f in scan(&cleaned, &GuardConfig::default()) {
            prop_assert!(!f.span(&cleaned).is_some_and(|s| spans.contains(s)), "{f:?} survived redaction");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn new_parsers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = ward_evidence::vulns::summarise(&bytes, 1 << 20);
        let _ = ward_evidence::intoto::summarise(&bytes, 1 << 20, &[], "sha256:0000000000000000000000000000000000000000000000000000000000000000");
        let _ = ward_evidence::intoto::dsse_guard_views(&bytes);
        let _ = ward_evidence::custom::parse_schema(&bytes);
        if let Ok(t) = std::str::from_utf8(&bytes) {
            let _ = ward_evidence::keys::PublicKey::from_pem(t);
        }
    }

    /// Generated Trivy reports: every finding counted once, open ones by severity, fixes counted.
    #[test]
    fn generated_trivy_adds_up(vulns in prop::collection::vec((0usize..5, any::<bool>(), 0u8..20), 0..80)) {
        const SEV: [&str; 5] = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"];
        let list: Vec<serde_json::Value> = vulns.iter().enumerate().map(|(i, (sev, fixed, pkg))| {
            let mut v = serde_json::json!({"VulnerabilityID": format!("CVE-2024-{i}"), "PkgName": format!("p{pkg}"),
                "InstalledVersion": "1.0", "Severity": SEV[*sev]});
            if *fixed { v["FixedVersion"] = "1.1".into(); }
            v
        }).collect();
        let doc = serde_json::json!({"SchemaVersion": 2, "ArtifactName": "img", "Results": [{"Target": "t", "Vulnerabilities": list}]});
        let s = ward_evidence::vulns::summarise(&serde_json::to_vec(&doc).unwrap(), 1 << 20).unwrap();
        prop_assert_eq!(s.findings as usize, vulns.len());
        prop_assert_eq!(s.open, s.findings);
        prop_assert_eq!(s.by_severity.values().sum::<u64>(), s.open);
        prop_assert_eq!(s.fix_available as usize, vulns.iter().filter(|v| v.1).count());
        let critical = vulns.iter().filter(|v| v.0 == 0).count() as u64;
        prop_assert_eq!(s.by_severity.get("critical").copied().unwrap_or(0), critical);
    }

    /// Every valid CVSS v3.1 vector scores within 0–10 with one decimal, and raising
    /// confidentiality impact never lowers the score.
    #[test]
    fn cvss_scores_are_bounded_and_monotone(av in 0usize..4, ac in 0usize..2, pr in 0usize..3, ui in 0usize..2,
                                            s in 0usize..2, i in 0usize..3, a in 0usize..3) {
        let v = |c: &str| format!("CVSS:3.1/AV:{}/AC:{}/PR:{}/UI:{}/S:{}/C:{c}/I:{}/A:{}",
            ["N","A","L","P"][av], ["L","H"][ac], ["N","L","H"][pr], ["N","R"][ui], ["U","C"][s], ["N","L","H"][i], ["N","L","H"][a]);
        let scores: Vec<f64> = ["N", "L", "H"].iter().map(|c| ward_evidence::vulns::cvss3_base_score(&v(c)).unwrap()).collect();
        for w in scores.windows(2) { prop_assert!(w[0] <= w[1]); }
        for sc in scores {
            prop_assert!((0.0..=10.0).contains(&sc));
            prop_assert!(((sc * 10.0).round() - sc * 10.0).abs() < 1e-9);
        }
    }
}
