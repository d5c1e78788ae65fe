//! `spdx::summarise_json` and `spdx::summarise_tag_value` on arbitrary bytes: never panic, and
//! what they accept is coherent.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_evidence::spdx;

fuzz_target!(|data: &[u8]| {
    for s in [spdx::summarise_json(data, 1 << 20), spdx::summarise_tag_value(data, 1 << 20)]
        .into_iter()
        .flatten()
    {
        assert!(s.with_purl <= s.components);
        assert!(s.without_license <= s.components);
        assert!(s.with_dependency_entry <= s.with_ref);
    }
});
