//! `cyclonedx::summarise` on arbitrary bytes: never panics, and what it accepts is coherent.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_evidence::cyclonedx;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = cyclonedx::summarise(data, 1 << 20) {
        assert!(s.with_purl <= s.components);
        assert!(s.without_license <= s.components);
        assert!(s.with_dependency_entry <= s.with_ref);
    }
});
