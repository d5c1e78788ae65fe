//! Each file named (or each line of stdin with `-`) through `guard::scan` with the built-in
//! detectors: one line per input naming the detectors that found something, or `-` — never the
//! text. For trying a form by hand before writing its test.
//!
//! `cargo run -p ward-evidence --example guard_probe -- FILE… | -`

use std::io::BufRead;
use ward_evidence::guard::{GuardConfig, detector_names, scan};

fn main() {
    let cfg = GuardConfig {
        password_assignments: true,
        ..GuardConfig::default()
    };
    let judge = |name: &str, text: &str| {
        let found = scan(text, &cfg);
        let names = if found.is_empty() {
            "-".to_string()
        } else {
            detector_names(&found)
        };
        println!("{name}\t{names}");
    };
    for arg in std::env::args().skip(1) {
        if arg == "-" {
            for (n, line) in std::io::stdin().lock().lines().map_while(Result::ok).enumerate() {
                judge(&format!("line {}", n + 1), &line);
            }
        } else {
            match std::fs::read_to_string(&arg) {
                Ok(text) => judge(&arg, &text),
                Err(e) => eprintln!("{arg}: {e}"),
            }
        }
    }
}
