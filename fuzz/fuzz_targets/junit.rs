//! `junit::summarise` on arbitrary bytes: never panics, and whatever it accepts adds up.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_evidence::junit;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = junit::summarise(data, 1 << 20) {
        assert_eq!(s.passed + s.failed + s.errored + s.skipped, s.tests);
        assert!(s.failing.len() as u64 <= s.failed + s.errored);
        assert!(s.duration_secs >= 0.0);
    }
});
