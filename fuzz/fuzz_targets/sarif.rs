//! `sarif::summarise` on arbitrary bytes: never panics, and the counts of what it accepts agree.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ward_evidence::sarif;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = sarif::summarise(data, 1 << 20) {
        assert_eq!(s.by_level.values().sum::<u64>(), s.results);
        assert_eq!(s.by_severity.values().sum::<u64>(), s.results);
    }
});
