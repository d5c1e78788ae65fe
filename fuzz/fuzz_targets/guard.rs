//! `guard::scan` on arbitrary text: never panics, findings are in order and located inside the
//! text, and a redacted copy holds none of the spans found. It also fails on slow inputs: one
//! input in sixteen (first byte `0x?0`) is repeated to 64 KiB — the shape of the issue-15 attack,
//! a short unit repeated on one giant line — and scanned under a 2 s budget; a scan that does not
//! finish in it panics ("slow input"), so a super-linear detector is a crash. Run it with
//! libFuzzer's per-input limit as well (`-timeout=10`, see README.md).
//!
//! The decoded views (`guard::decode`: decoded, joined, encoded runs) are also checked directly:
//! never longer than the text (encoded runs: the text plus a newline per run, where a compressed
//! stream inflates; three quarters otherwise), and every
//! span maps back inside it, on character boundaries.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};
use ward_evidence::guard::{GuardConfig, decode, redact, scan, scan_until};

fn check_view(text: &str, view: &decode::View, limit: usize) {
    assert!(view.text.len() <= limit, "view of {} bytes grew to {}", text.len(), view.text.len());
    let mut mid = view.text.len() / 2;
    while !view.text.is_char_boundary(mid) {
        mid -= 1;
    }
    for (a, b) in [(0, view.text.len()), (0, mid), (mid, view.text.len())] {
        let (x, y) = view.to_original(a, b);
        assert!(x <= y && y <= text.len(), "{a}..{b} -> {x}..{y}");
        assert!(text.is_char_boundary(x) && text.is_char_boundary(y), "{a}..{b} -> {x}..{y}");
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cfg = GuardConfig::default();
    if let Some(v) = decode::decoded(&text) {
        check_view(&text, &v, text.len());
    }
    if let Some(v) = decode::joined(&text) {
        check_view(&text, &v, text.len());
    }
    if let Some(v) = decode::encoded_runs(&text) {
        check_view(&text, &v, text.len() + text.len() / decode::MIN_RUN + 1);
    }
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
