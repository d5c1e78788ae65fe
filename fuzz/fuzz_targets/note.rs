//! `note::open`, `note::parse_verifier_key` and `Ed25519Signer::from_signer_key` on arbitrary
//! input, plus sign/open of arbitrary text.
//!
//! Invariants checked beyond "no panic":
//! - an opened note has at least one verified signature and its text is a prefix of the input;
//! - a key string that parses re-encodes to a key string that parses to the same name and key ID;
//! - any text that `sign` accepts opens again to exactly that text;
//! - a genuine note with one byte changed (position and value from the input) either fails to
//!   open or opens to exactly the original text.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use ward_ledger::note::{self, Ed25519Signer, Ed25519Verifier, NoteSigner, NoteVerifier};

/// The golang.org/x/mod note_test.go key pair (public test vectors) and a second, local key.
const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

struct Keys {
    peter: Ed25519Signer,
    peter_v: Ed25519Verifier,
    other_v: Ed25519Verifier,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let peter = Ed25519Signer::from_signer_key(PETER_SKEY).expect("test key");
        let peter_v = peter.verifier();
        let other_v = Ed25519Signer::from_seed("fuzz.example/log", [0x5a; 32]).verifier();
        Keys {
            peter,
            peter_v,
            other_v,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let k = keys();

    let _ = note::open(data, &[]);
    if let Ok(n) = note::open(data, &[&k.peter_v, &k.other_v]) {
        assert!(!n.sigs.is_empty());
        assert!(data.starts_with(n.text.as_bytes()));
        assert!(n.text.ends_with('\n'));
    }

    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(v) = note::parse_verifier_key(s) {
            let again = note::parse_verifier_key(&v.verifier_key()).expect("re-encoded verifier key parses");
            assert_eq!((again.name(), again.key_id()), (v.name(), v.key_id()));
        }
        if let Ok(sk) = Ed25519Signer::from_signer_key(s) {
            let again = Ed25519Signer::from_signer_key(&sk.signer_key()).expect("re-encoded signer key parses");
            assert_eq!(again.verifier().verifier_key(), sk.verifier().verifier_key());
            let v = note::parse_verifier_key(&sk.verifier().verifier_key()).expect("its verifier key parses");
            assert_eq!((v.name(), v.key_id()), (sk.name(), sk.key_id()));
        }
        if let Ok(signed) = note::sign(s, &[&k.peter]) {
            let n = note::open(signed.as_bytes(), &[&k.peter_v])
                .unwrap_or_else(|e| panic!("a freshly signed note does not open: {e}\n{signed:?}"));
            assert_eq!(n.text, s);
            // One byte of the signed note changed, chosen by the input.
            if data.len() >= 3 {
                let mut m = signed.into_bytes();
                let pos = usize::from(u16::from_le_bytes([data[0], data[1]])) % m.len();
                m[pos] ^= data[2] | 1;
                if let Ok(n2) = note::open(&m, &[&k.peter_v]) {
                    assert_eq!(n2.text, s, "a modified note opened to different text");
                }
            }
        }
    }
});
