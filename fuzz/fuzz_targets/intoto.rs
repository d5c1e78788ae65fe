//! `intoto::summarise` on arbitrary bytes with a fixed trusted key: never panics, and nothing is
//! accepted without a verified signature and a subject carrying the artifact's digest.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use ward_evidence::intoto::{self, TrustedKey};
use ward_evidence::keys::PublicKey;

const ART: &str = "sha256:44aa65cce0bb601a204bbd016592ece3580a7dd416e15cbdb5346eefe1bb11f0";

fn keys() -> &'static [TrustedKey] {
    static K: OnceLock<Vec<TrustedKey>> = OnceLock::new();
    K.get_or_init(|| {
        let pem = include_str!("../../crates/ward-evidence/tests/fixtures/intoto-ed25519.pub");
        vec![TrustedKey {
            builder: "fuzz".into(),
            key: PublicKey::from_pem(pem).expect("fixture key"),
        }]
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = intoto::dsse_guard_views(data);
    if let Ok(s) = intoto::summarise(data, 1 << 20, keys(), ART) {
        assert!(!s.verified_by.is_empty());
        assert!(s.subjects.iter().any(|x| x.name == s.matched_subject));
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PublicKey::from_pem(text);
    }
});
