//! `vulns::summarise` on arbitrary bytes (Trivy, Grype, osv-scanner, OSV, pip-audit, CycloneDX
//! JSON or XML): never panics, and its counts add up.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_evidence::vulns;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = vulns::summarise(data, 1 << 20) {
        assert!(s.open <= s.findings);
        assert_eq!(s.by_severity.values().sum::<u64>(), s.open);
        assert!(s.fix_available <= s.open);
        assert!(s.open + s.closed_by_vex.values().sum::<u64>() <= s.findings);
    }
});
