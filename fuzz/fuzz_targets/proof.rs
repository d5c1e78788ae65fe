//! Proof verification on arbitrary sizes, indices and hashes; entry bundles; event envelopes;
//! consistency-proof files.
//!
//! Invariants checked beyond "no panic":
//! - against a real tree (1024 leaves, built once) with genuine leaf, index, size and roots, a
//!   proof verifies only if it is exactly the genuine proof (the input mutates the genuine one);
//! - a bundle that decodes re-encodes to the same bytes;
//! - a leaf that parses as an envelope is its own canonical form;
//! - a consistency file that parses serialises and parses back to the same value.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use ward_ledger::export::ConsistencyFile;
use ward_ledger::proof::{verify_consistency, verify_inclusion};
use ward_ledger::tiles::{decode_bundle, encode_bundle};
use ward_ledger::{EventEnvelope, Hash, MemoryTree, leaf_hash};

const LEAVES: u64 = 1024;

fn tree() -> &'static MemoryTree {
    static TREE: OnceLock<MemoryTree> = OnceLock::new();
    TREE.get_or_init(|| {
        let mut t = MemoryTree::new();
        for i in 0..LEAVES {
            t.push(leaf_hash(&i.to_be_bytes()));
        }
        t
    })
}

/// Reads fixed-width fields from the front of the input, padding with zeros when it runs out.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.bytes())
    }
    fn hash(&mut self) -> Hash {
        Hash(self.bytes())
    }
    /// The rest of the input as 32-byte hashes (a short tail is dropped).
    fn hashes(&self) -> Vec<Hash> {
        self.0.chunks_exact(32).filter_map(Hash::from_slice).collect()
    }
}

/// Applies the input to a genuine proof: drop/duplicate elements and XOR masks.
fn mutate(genuine: &[Hash], r: &mut Reader) -> Vec<Hash> {
    let [op, at, bit] = r.bytes::<3>();
    let mut p = genuine.to_vec();
    match op % 4 {
        0 if !p.is_empty() => {
            let i = usize::from(at) % p.len();
            p[i].0[usize::from(bit) % 32] ^= 1 << (bit % 8);
        }
        1 if !p.is_empty() => {
            p.remove(usize::from(at) % p.len());
        }
        2 => {
            let h = r.hash();
            p.insert(usize::from(at) % (p.len() + 1), h);
        }
        _ => {
            for h in r.hashes() {
                if let Some(x) = p.get_mut(usize::from(at) % genuine.len().max(1)) {
                    x.0.iter_mut().zip(h.0).for_each(|(a, b)| *a ^= b);
                }
            }
        }
    }
    p
}

fuzz_target!(|data: &[u8]| {
    // 1. Raw: everything from the input.
    let mut r = Reader(data);
    let (a, b, c) = (r.u64(), r.u64(), r.u64());
    let (h1, h2) = (r.hash(), r.hash());
    let proof = r.hashes();
    let _ = verify_inclusion(&h1, a, b, &proof, &h2);
    let _ = verify_consistency(a, c, &proof, &h1, &h2);
    // Small sizes make the path logic reachable with few proof elements.
    let _ = verify_inclusion(&h1, a % 64, b % 64, &proof, &h2);
    let _ = verify_consistency(a % 64, c % 64, &proof, &h1, &h2);

    // 2. Genuine proofs from a real tree, mutated by the input: only the genuine proof verifies.
    let t = tree();
    let mut r = Reader(data);
    let [s1, s2, s3, s4] = r.bytes::<4>();
    let size = 1 + u64::from(u16::from_le_bytes([s1, s2])) % LEAVES;
    let index = u64::from(u16::from_le_bytes([s3, s4])) % size;
    let genuine = t.inclusion_proof(index, size).unwrap();
    let root = t.root_at(size).unwrap();
    let leaf = t.level(0)[index as usize];
    let p = mutate(&genuine, &mut r);
    if verify_inclusion(&leaf, index, size, &p, &root).is_ok() {
        assert_eq!(
            p, genuine,
            "a non-genuine inclusion proof verified for ({index}, {size})"
        );
    }
    let size1 = index; // 0 <= size1 < size
    let genuine = t.consistency_proof(size1, size).unwrap();
    let root1 = t.root_at(size1).unwrap();
    let p = mutate(&genuine, &mut r);
    if verify_consistency(size1, size, &p, &root1, &root).is_ok() {
        assert_eq!(
            p, genuine,
            "a non-genuine consistency proof verified for ({size1}, {size})"
        );
    }

    // 3. Entry bundles. Mostly realistic counts (a tile holds at most 256 entries); with the low
    //    bit of the first byte set, any 32-bit count, which must fail cleanly rather than allocate.
    if let Some((&mode, rest)) = data.split_first() {
        let (expected, bundle) = if mode & 1 == 0 {
            (usize::from(mode >> 1), rest)
        } else {
            let mut r = Reader(rest);
            (u32::from_le_bytes(r.bytes()) as usize, r.0)
        };
        if let Ok(entries) = decode_bundle(bundle, expected) {
            assert_eq!(entries.len(), expected);
            assert_eq!(encode_bundle(entries).unwrap(), bundle);
        }
    }

    // 4. Event envelopes: only canonical JSON of the envelope's shape is accepted.
    if let Ok(env) = EventEnvelope::from_leaf(data) {
        assert_eq!(ward_ledger::envelope::canonical_json(&env).unwrap(), data);
    }

    // 5. Consistency files of an export.
    if let Ok(f) = serde_json::from_slice::<ConsistencyFile>(data) {
        let back: ConsistencyFile = serde_json::from_slice(&serde_json::to_vec(&f).unwrap()).unwrap();
        assert_eq!(back, f);
    }
});
