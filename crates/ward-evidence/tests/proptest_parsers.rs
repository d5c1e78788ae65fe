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
        let spans: std::collections::HashSet<_> = found.iter().map(|f| f.span_sha256.clone()).collect();
        for f in scan(&cleaned, &GuardConfig::default()) {
            prop_assert!(!spans.contains(&f.span_sha256), "{f:?} survived redaction");
        }
    }
}
