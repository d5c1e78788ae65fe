//! `Checkpoint::parse` on arbitrary UTF-8 and `Checkpoint::open` with a fixed verifier on
//! arbitrary bytes.
//!
//! Invariants checked beyond "no panic":
//! - a body that parses is canonical: `to_text()` gives back exactly the input;
//! - a parsed body signs, and the signed note opens to the same checkpoint;
//! - whatever `open` accepts has the expected origin and a body that parses to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use ward_ledger::note::{Ed25519Signer, Ed25519Verifier};
use ward_ledger::{Checkpoint, NoteSigner};

/// Origin and key name of the fixed test key (seed `[0x5a; 32]`; see README.md).
const ORIGIN: &str = "fuzz.example/log";

fn keys() -> &'static (Ed25519Signer, Ed25519Verifier) {
    static KEYS: OnceLock<(Ed25519Signer, Ed25519Verifier)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let s = Ed25519Signer::from_seed(ORIGIN, [0x5a; 32]);
        let v = s.verifier();
        (s, v)
    })
}

fuzz_target!(|data: &[u8]| {
    let (signer, verifier) = keys();

    if let Ok(cp) = Checkpoint::open(data, ORIGIN, verifier) {
        assert_eq!(cp.origin, ORIGIN);
        assert_eq!(Checkpoint::parse(&cp.to_text()).as_ref(), Ok(&cp));
    }

    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(cp) = Checkpoint::parse(text) else { return };
    assert_eq!(cp.to_text(), text, "checkpoint bodies are canonical");
    // Signing refuses control characters; anything it accepts must open again.
    if let Ok(signed) = cp.sign(signer as &dyn NoteSigner) {
        let opened = Checkpoint::open(signed.as_bytes(), &cp.origin, verifier)
            .unwrap_or_else(|e| panic!("a freshly signed checkpoint does not open: {e}\n{signed:?}"));
        assert_eq!(opened, cp);
    }
});
