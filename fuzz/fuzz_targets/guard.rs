//! `guard::scan` on arbitrary text: never panics, findings are in order and located inside the
//! text, and a redacted copy holds none of the spans found. It also fails on slow inputs: one
//! input in sixteen (first byte `0x?0`) is repeated to 64 KiB — the shape of the issue-15 attack,
//! a short unit repeated on one giant line — and scanned under a 2 s budget; a scan that does not
//! finish in it panics ("slow input"), so a super-linear detector is a crash. Run it with
//! libFuzzer's per-input limit as well (`-timeout=10`, see README.md).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};
use ward_evidence::guard::{GuardConfig, redact, scan, scan_until};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cfg = GuardConfig::default();
    let found = scan(&text, &cfg);
    let lines: Vec<&str> = text.split('\n').collect();
    for f in &found {
        assert!(f.line >= 1 && f.line <= lines.len(), "{f:?}");
        assert!(f.column >= 1 && f.column <= lines[f.line - 1].len(), "{f:?}");
    }
    assert!(
        found.windows(2).all(|w| (w[0].line, w[0].column) <= (w[1].line, w[1].column)),
        "findings out of order"
    );
    let cleaned = redact(&text, &found);
    let spans: std::collections::HashSet<&str> = found.iter().filter_map(|f| f.span(&text)).collect();
    for f in scan(&cleaned, &cfg) {
        assert!(!f.span(&cleaned).is_some_and(|s| spans.contains(s)), "{f:?} survived redaction");
    }
    if data.first().is_some_and(|b| b & 0x0f == 0) && data.len() > 1 && data.len() <= 256 {
        let unit = String::from_utf8_lossy(&data[1..]);
        let big = unit.repeat(64 * 1024 / unit.len().max(1) + 1);
        let deadline = Instant::now() + Duration::from_secs(2);
        if scan_until(&big, &cfg, &mut || Instant::now() >= deadline).is_err() {
            panic!("slow input: {} bytes of a {}-byte unit took over 2 s", big.len(), unit.len());
        }
    }
});
