//! Property tests for proofs, the frontier, entry bundles, checkpoints and notes.
//!
//! Proofs are checked against an independent transcription of RFC 9162 §2.1 (`MTH`, `PATH`,
//! `SUBPROOF`) written here, not against the library's own planning code.
//!
//! Tampering properties are exact, not one-sided: for every altered (index, size) or
//! (size1, size2) the test computes from the RFC definitions whether the verifier *must* accept —
//! an RFC 9162 proof does not commit to the tree size beyond the shape of the path, so e.g. the
//! inclusion proof of leaf 0 in a tree of 3 also verifies, against the same root, as a proof for
//! a tree of 4 — and asserts `is_ok()` equals that. The argument that every other alteration must
//! fail needs all subtree hashes of the tree to be distinct, so the tampering properties append
//! the leaf index to the random leaf bytes (with duplicate leaves, equal sibling subtrees make
//! `H(a, a)` symmetric and a wrong index can legitimately verify; see
//! `duplicate_leaves_can_verify_at_the_wrong_index`). A separate property uses raw, duplicate-prone
//! leaves for the alterations that must fail regardless.

use proptest::prelude::*;
use proptest::sample::Index;
use std::collections::HashMap;
use std::sync::OnceLock;
use ward_ledger::checkpoint::Checkpoint;
use ward_ledger::hash::empty_root;
use ward_ledger::note::{self, Ed25519Signer, NoteSigner, NoteVerifier};
use ward_ledger::proof::{verify_consistency, verify_inclusion};
use ward_ledger::tiles::{BundleError, decode_bundle, encode_bundle};
use ward_ledger::{Frontier, Hash, MemoryTree, leaf_hash, node_hash};

// ------------------------------------------------------------------------------------------------
// Reference: RFC 9162 §2.1, directly.

/// Largest power of two strictly smaller than `n` (n ≥ 2).
fn k_of(n: u64) -> u64 {
    let mut k = 1u64;
    while k < n - k {
        k <<= 1;
    }
    k
}

/// `MTH` over leaf hashes, with a cache keyed by leaf range.
struct Reference {
    leaves: Vec<Hash>,
    cache: HashMap<(u64, u64), Hash>,
}

impl Reference {
    fn new(leaves: Vec<Hash>) -> Reference {
        Reference {
            leaves,
            cache: HashMap::new(),
        }
    }

    fn mth(&mut self, lo: u64, hi: u64) -> Hash {
        match hi - lo {
            0 => empty_root(),
            1 => self.leaves[lo as usize],
            n => {
                if let Some(h) = self.cache.get(&(lo, hi)) {
                    return *h;
                }
                let k = k_of(n);
                let h = node_hash(&self.mth(lo, lo + k), &self.mth(lo + k, hi));
                self.cache.insert((lo, hi), h);
                h
            }
        }
    }

    fn hashes(&mut self, ranges: &[(u64, u64)]) -> Vec<Hash> {
        ranges.iter().map(|&(lo, hi)| self.mth(lo, hi)).collect()
    }
}

/// `PATH(m, D[lo:hi])` as leaf ranges, bottom-up (RFC 9162 §2.1.3.1).
fn ref_path(m: u64, lo: u64, hi: u64, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if n <= 1 {
        return;
    }
    let k = k_of(n);
    if m < k {
        ref_path(m, lo, lo + k, out);
        out.push((lo + k, hi));
    } else {
        ref_path(m - k, lo + k, hi, out);
        out.push((lo, lo + k));
    }
}

fn path_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    ref_path(index, 0, size, &mut out);
    out
}

/// `SUBPROOF(m, D[lo:hi], whole)` as leaf ranges, bottom-up (RFC 9162 §2.1.4.1).
fn ref_subproof(m: u64, lo: u64, hi: u64, whole: bool, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if m == n {
        if !whole {
            out.push((lo, hi));
        }
        return;
    }
    let k = k_of(n);
    if m <= k {
        ref_subproof(m, lo, lo + k, whole, out);
        out.push((lo + k, hi));
    } else {
        ref_subproof(m - k, lo + k, hi, false, out);
        out.push((lo, lo + k));
    }
}

/// `PROOF(m, D[n])` ranges; empty outside 0 < m < n.
fn proof_ranges(m: u64, n: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if 0 < m && m < n {
        ref_subproof(m, 0, n, true, &mut out);
    }
    out
}

/// What the inclusion verifier does with each proof element: `true` when the element is a right
/// sibling (hashed as `H(r, p)`). Two (index, size) claims with the same shape make the verifier
/// compute the same root from the same proof.
fn inclusion_shape(index: u64, size: u64) -> Option<Vec<bool>> {
    (index < size).then(|| path_ranges(index, size).iter().map(|&(lo, _)| lo > index).collect())
}

/// What the consistency verifier does for 0 < m < n: whether the old root seeds the fold (m a
/// power of two), and for each element whether it covers old leaves (a left sibling, folded into
/// both roots) or new ones (a right sibling, folded into the new root only).
fn consistency_shape(m: u64, n: u64) -> (bool, Vec<bool>) {
    (
        m.is_power_of_two(),
        proof_ranges(m, n).iter().map(|&(_, hi)| hi <= m).collect(),
    )
}

/// Whether `verify_consistency(a, b, proof, r1, r2)` must accept, for a `proof` that is the
/// genuine proof for `orig` with genuine roots (`roots_equal` = whether `r1 == r2`).
fn consistency_must_accept(orig: (u64, u64), a: u64, b: u64, proof_len: usize, roots_equal: bool) -> bool {
    if a > b {
        false
    } else if a == b {
        proof_len == 0 && roots_equal
    } else if a == 0 {
        // Ward's policy (transparency-dev 2022): every tree extends the empty tree.
        proof_len == 0
    } else if proof_len == 0 {
        false
    } else {
        let (a0, b0) = orig;
        0 < a0 && a0 < b0 && consistency_shape(a, b) == consistency_shape(a0, b0)
    }
}

// ------------------------------------------------------------------------------------------------
// Helpers.

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut x = *h;
    x.0[bit / 8] ^= 1 << (bit % 8);
    x
}

/// Random leaf bytes with the index appended, so that all leaves (hence all subtrees) differ.
fn distinct_leaves(raw: &[Vec<u8>]) -> Vec<Hash> {
    raw.iter()
        .enumerate()
        .map(|(i, r)| {
            let mut b = r.clone();
            b.extend_from_slice(&(i as u32).to_be_bytes());
            leaf_hash(&b)
        })
        .collect()
}

fn tree_of(leaves: &[Hash]) -> MemoryTree {
    let mut t = MemoryTree::new();
    leaves.iter().for_each(|l| t.push(*l));
    t
}

fn raw_leaves(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 1..=max)
}

fn check_inclusion(t: &MemoryTree, r: &mut Reference, index: u64, size: u64, bit: usize, other: &Index) {
    let leaf = r.leaves[index as usize];
    let root = t.root_at(size).unwrap();
    assert_eq!(root, r.mth(0, size), "root_at({size})");
    let proof = t.inclusion_proof(index, size).unwrap();
    assert_eq!(
        proof,
        r.hashes(&path_ranges(index, size)),
        "inclusion_proof({index}, {size}) vs RFC PATH"
    );
    verify_inclusion(&leaf, index, size, &proof, &root).unwrap_or_else(|e| panic!("({index}, {size}): {e}"));

    // Any single flipped bit in a proof element, the leaf or the root must fail.
    for i in 0..proof.len() {
        let mut p = proof.clone();
        p[i] = flip(&p[i], bit);
        assert!(
            verify_inclusion(&leaf, index, size, &p, &root).is_err(),
            "element {i} flipped, ({index}, {size})"
        );
    }
    assert!(verify_inclusion(&flip(&leaf, bit), index, size, &proof, &root).is_err());
    assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root, bit)).is_err());
    // Missing or extra elements.
    if !proof.is_empty() {
        assert!(verify_inclusion(&leaf, index, size, &proof[..proof.len() - 1], &root).is_err());
        assert!(verify_inclusion(&leaf, index, size, &proof[1..], &root).is_err());
    }
    let mut longer = proof.clone();
    longer.push(root);
    assert!(verify_inclusion(&leaf, index, size, &longer, &root).is_err());

    // Other claimed positions: must verify exactly when the RFC path has the same shape.
    let n = t.size();
    let mut claims = vec![
        (index.wrapping_add(1), size),
        (index.wrapping_sub(1), size),
        (other.index(size as usize) as u64, size),
        (index, size + 1),
        (index, size - 1),
        (index, other.index(2 * n as usize) as u64 + 1),
        (index, size.wrapping_mul(2)),
        (index, u64::MAX),
        (index ^ 1, size),
        (size, size),
    ];
    claims.retain(|c| *c != (index, size));
    let want = inclusion_shape(index, size);
    for (i2, s2) in claims {
        let must = inclusion_shape(i2, s2) == want;
        let got = verify_inclusion(&leaf, i2, s2, &proof, &root);
        assert_eq!(
            got.is_ok(),
            must,
            "proof for ({index}, {size}) claimed as ({i2}, {s2}): {got:?}"
        );
        if i2 != index && i2 < size {
            // Same tree, another leaf: never acceptable (all leaves distinct).
            assert!(!must);
        }
    }
}

fn check_consistency(t: &MemoryTree, r: &mut Reference, a: u64, b: u64, bit: usize, other: &Index) {
    let (r1, r2) = (t.root_at(a).unwrap(), t.root_at(b).unwrap());
    assert_eq!((r1, r2), (r.mth(0, a), r.mth(0, b)));
    let proof = t.consistency_proof(a, b).unwrap();
    assert_eq!(
        proof,
        r.hashes(&proof_ranges(a, b)),
        "consistency_proof({a}, {b}) vs RFC PROOF"
    );
    verify_consistency(a, b, &proof, &r1, &r2).unwrap_or_else(|e| panic!("({a}, {b}): {e}"));

    for i in 0..proof.len() {
        let mut p = proof.clone();
        p[i] = flip(&p[i], bit);
        assert!(
            verify_consistency(a, b, &p, &r1, &r2).is_err(),
            "element {i} flipped, ({a}, {b})"
        );
    }
    // Wrong roots fail, except that any roots are consistent with size1 == 0 < size2.
    let any_roots = a == 0 && b > 0;
    assert_eq!(
        verify_consistency(a, b, &proof, &flip(&r1, bit), &r2).is_ok(),
        any_roots,
        "root1 ({a}, {b})"
    );
    assert_eq!(
        verify_consistency(a, b, &proof, &r1, &flip(&r2, bit)).is_ok(),
        any_roots,
        "root2 ({a}, {b})"
    );
    if a != b {
        assert_eq!(
            verify_consistency(a, b, &proof, &r2, &r1).is_ok(),
            any_roots,
            "swapped roots ({a}, {b})"
        );
    }
    if !proof.is_empty() {
        assert!(verify_consistency(a, b, &proof[..proof.len() - 1], &r1, &r2).is_err());
        assert!(verify_consistency(a, b, &proof[1..], &r1, &r2).is_err());
    }
    let mut longer = proof.clone();
    longer.push(r2);
    assert!(
        verify_consistency(a, b, &longer, &r1, &r2).is_err(),
        "extra element ({a}, {b})"
    );

    // Other claimed sizes: must verify exactly when the RFC proof has the same shape.
    let n = t.size();
    let rand = other.index(2 * n as usize + 1) as u64;
    let mut claims = vec![
        (a + 1, b),
        (a.wrapping_sub(1), b),
        (a, b + 1),
        (a, b.wrapping_sub(1)),
        (a + 1, b + 1),
        (b, a),
        (rand, b),
        (a, rand),
        (0, b),
        (a, a),
        (b, b),
        (a, b.wrapping_mul(2)),
        (a, u64::MAX),
    ];
    claims.retain(|c| *c != (a, b));
    for (a2, b2) in claims {
        let must = consistency_must_accept((a, b), a2, b2, proof.len(), r1 == r2);
        let got = verify_consistency(a2, b2, &proof, &r1, &r2);
        assert_eq!(
            got.is_ok(),
            must,
            "proof for ({a}, {b}) claimed as ({a2}, {b2}): {got:?}"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn inclusion_proofs_verify_and_resist_tampering(
        raw in raw_leaves(2000),
        picks in prop::collection::vec((any::<Index>(), any::<Index>(), 0usize..256, any::<Index>()), 4),
    ) {
        let leaves = distinct_leaves(&raw);
        let t = tree_of(&leaves);
        let n = t.size();
        let mut r = Reference::new(leaves);
        let mut pairs: Vec<(u64, u64, usize, Index)> = picks
            .iter()
            .map(|(s, i, bit, o)| {
                let size = s.index(n as usize) as u64 + 1;
                (i.index(size as usize) as u64, size, *bit, *o)
            })
            .collect();
        // Always include the edges: first and last leaf of the whole tree.
        pairs.push((0, n, 7, picks[0].3));
        pairs.push((n - 1, n, 200, picks[1].3));
        for (index, size, bit, other) in pairs {
            check_inclusion(&t, &mut r, index, size, bit, &other);
        }
    }

    #[test]
    fn consistency_proofs_verify_and_resist_tampering(
        raw in raw_leaves(2000),
        picks in prop::collection::vec((any::<Index>(), any::<Index>(), 0usize..256, any::<Index>()), 4),
    ) {
        let leaves = distinct_leaves(&raw);
        let t = tree_of(&leaves);
        let n = t.size();
        let mut r = Reference::new(leaves);
        let mut pairs: Vec<(u64, u64, usize, Index)> = picks
            .iter()
            .map(|(b, a, bit, o)| {
                let b = b.index(n as usize + 1) as u64;
                (a.index(b as usize + 1) as u64, b, *bit, *o)
            })
            .collect();
        let (x, y) = (picks[0].0.index(n as usize) as u64 + 1, picks[1].0.index(n as usize + 1) as u64);
        pairs.extend([(0, x), (x, x), (0, 0), (1, n), (n - 1, n), (y.min(x), x.max(y))].map(|(a, b)| (a, b, 33, picks[2].3)));
        for (a, b, bit, other) in pairs {
            check_consistency(&t, &mut r, a, b, bit, &other);
        }
    }

    /// With raw (often duplicate) leaves: generation still matches the RFC, proofs verify, and
    /// flipped bits in proof elements, leaves and roots are still always caught.
    #[test]
    fn proofs_with_duplicate_leaves(
        raw in prop::collection::vec(prop::collection::vec(0u8..3, 0..2), 1..=300),
        picks in prop::collection::vec((any::<Index>(), any::<Index>(), 0usize..256), 4),
    ) {
        let leaves: Vec<Hash> = raw.iter().map(|b| leaf_hash(b)).collect();
        let t = tree_of(&leaves);
        let n = t.size();
        let mut r = Reference::new(leaves);
        for (s, i, bit) in &picks {
            let size = s.index(n as usize) as u64 + 1;
            let index = i.index(size as usize) as u64;
            let (leaf, root) = (r.leaves[index as usize], t.root_at(size).unwrap());
            prop_assert_eq!(root, r.mth(0, size));
            let proof = t.inclusion_proof(index, size).unwrap();
            prop_assert_eq!(&proof, &r.hashes(&path_ranges(index, size)));
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
            for k in 0..proof.len() {
                let mut p = proof.clone();
                p[k] = flip(&p[k], *bit);
                prop_assert!(verify_inclusion(&leaf, index, size, &p, &root).is_err());
            }
            prop_assert!(verify_inclusion(&flip(&leaf, *bit), index, size, &proof, &root).is_err());
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &flip(&root, *bit)).is_err());

            let (a, b) = (index, size);
            let (r1, r2) = (t.root_at(a).unwrap(), root);
            let cproof = t.consistency_proof(a, b).unwrap();
            prop_assert_eq!(&cproof, &r.hashes(&proof_ranges(a, b)));
            prop_assert!(verify_consistency(a, b, &cproof, &r1, &r2).is_ok());
            for k in 0..cproof.len() {
                let mut p = cproof.clone();
                p[k] = flip(&p[k], *bit);
                prop_assert!(verify_consistency(a, b, &p, &r1, &r2).is_err());
            }
            if a > 0 {
                prop_assert!(verify_consistency(a, b, &cproof, &flip(&r1, *bit), &r2).is_err());
                prop_assert!(verify_consistency(a, b, &cproof, &r1, &flip(&r2, *bit)).is_err());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The frontier's root equals the tree's root at every prefix, the subtrees it reports as new
    /// are the tree's, and its storage form round-trips.
    #[test]
    fn frontier_matches_memory_tree_at_every_prefix(raw in raw_leaves(2000)) {
        let leaves: Vec<Hash> = raw.iter().map(|b| leaf_hash(b)).collect();
        let t = tree_of(&leaves);
        let mut f = Frontier::new();
        prop_assert_eq!(f.root(), empty_root());
        for (i, l) in leaves.iter().enumerate() {
            for (id, h) in f.push(*l) {
                prop_assert_eq!(t.node(id), Some(h), "node {:?} after {} leaves", id, i + 1);
                prop_assert_eq!(id.end(), i as u64 + 1, "a new subtree ends at the new leaf");
            }
            prop_assert_eq!(f.size(), i as u64 + 1);
            prop_assert_eq!(Some(f.root()), t.root_at(i as u64 + 1), "prefix {}", i + 1);
            prop_assert_eq!(f.hashes().len(), f.size().count_ones() as usize);
            let back = Frontier::from_bytes(f.size(), &f.to_bytes());
            prop_assert_eq!(back.as_ref(), Some(&f));
        }
        prop_assert_eq!(f.root(), Reference::new(leaves).mth(0, t.size()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn bundles_round_trip(entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..64)) {
        let data = encode_bundle(entries.iter().map(Vec::as_slice)).unwrap();
        let n = entries.len();
        let decoded = decode_bundle(&data, n).unwrap();
        prop_assert_eq!(decoded.len(), n);
        for (d, e) in decoded.iter().zip(&entries) {
            prop_assert_eq!(*d, e.as_slice());
        }
        let one_more = decode_bundle(&data, n + 1);
        prop_assert!(matches!(one_more, Err(BundleError::WrongCount { .. })), "{:?}", one_more);
        if n > 0 {
            let one_less = decode_bundle(&data, n - 1);
            prop_assert!(matches!(one_less, Err(BundleError::WrongCount { .. })), "{:?}", one_less);
            prop_assert_eq!(decode_bundle(&data[..data.len() - 1], n), Err(BundleError::Truncated(n - 1)));
        }
    }

    /// Decoding arbitrary bytes never panics, and whatever decodes re-encodes to the same bytes
    /// (the encoding is canonical).
    #[test]
    fn bundle_decoding_is_canonical(data in prop::collection::vec(any::<u8>(), 0..512), expected in 0usize..300) {
        if let Ok(entries) = decode_bundle(&data, expected) {
            prop_assert_eq!(entries.len(), expected);
            prop_assert_eq!(encode_bundle(entries).unwrap(), data);
        }
    }

    #[test]
    fn checkpoint_text_round_trips(
        origin in "[^\n]{1,40}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in prop::collection::vec("[^\n]{1,30}", 0..4),
    ) {
        let cp = Checkpoint { origin, size, root: Hash(root), extensions };
        let text = cp.to_text();
        prop_assert_eq!(Checkpoint::parse(&text), Ok(cp.clone()));
        // Every line is significant: dropping the final newline, or adding an empty line, fails.
        prop_assert!(Checkpoint::parse(&text[..text.len() - 1]).is_err());
        let with_blank_line = format!("{text}\n");
        prop_assert!(Checkpoint::parse(&with_blank_line).is_err());
    }

    #[test]
    fn checkpoint_parse_never_panics(text in "(?s).{0,200}") {
        let _ = Checkpoint::parse(&text);
    }

}

proptest! {
    // Ed25519 is slow in debug builds; these sign and verify on every case.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn signed_checkpoint_round_trips(
        origin in "[!-~]{1,40}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in prop::collection::vec("[ -~]{1,30}", 0..3),
        seed in any::<[u8; 32]>(),
    ) {
        let signer = Ed25519Signer::from_seed("log.example", seed);
        let cp = Checkpoint { origin: origin.clone(), size, root: Hash(root), extensions };
        let signed = cp.sign(&signer).unwrap();
        prop_assert_eq!(Checkpoint::open(signed.as_bytes(), &origin, &signer.verifier()), Ok(cp));
    }

    /// Any text ending in a newline without control characters signs and opens; the signers whose
    /// keys are known verify, the others are listed as unverified, in note order.
    #[test]
    fn notes_sign_and_open(text in "([ -~\u{a0}-\u{2fff}]{0,20}\n){1,5}", seeds in prop::collection::vec(any::<[u8; 32]>(), 1..4), known in any::<Index>()) {
        let signers: Vec<Ed25519Signer> =
            seeds.iter().enumerate().map(|(i, s)| Ed25519Signer::from_seed(&format!("key{i}.example"), *s)).collect();
        let refs: Vec<&dyn NoteSigner> = signers.iter().map(|s| s as &dyn NoteSigner).collect();
        let signed = note::sign(&text, &refs).unwrap();
        let k = known.index(signers.len());
        let v = signers[k].verifier();
        let n = note::open(signed.as_bytes(), &[&v]).unwrap();
        prop_assert_eq!(&n.text, &text);
        prop_assert_eq!(n.sigs.len(), 1);
        prop_assert_eq!(n.sigs[0].name.as_str(), signers[k].name());
        prop_assert_eq!(n.unverified.len(), signers.len() - 1);
    }
}

/// A genuine signed checkpoint: (text, signed note, signer).
fn signed_fixture() -> &'static (String, String, Ed25519Signer) {
    static FIXTURE: OnceLock<(String, String, Ed25519Signer)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let s = Ed25519Signer::from_seed("fixture.example/log", [42; 32]);
        let text = "fixture.example/log\n12\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n".to_string();
        let signed = note::sign(&text, &[&s]).unwrap();
        (text, signed, s)
    })
}

/// The fixture's one signature line, as `open` reports it.
fn fixture_signature() -> note::NoteSignature {
    let (_, signed, s) = signed_fixture();
    let line = signed.lines().last().unwrap();
    let b64 = line.rsplit(' ').next().unwrap();
    note::NoteSignature {
        name: s.name().to_string(),
        key_id: s.key_id(),
        base64: b64.to_string(),
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(Index, u8),
    Delete(Index),
    Insert(Index, u8),
    InsertStr(Index, &'static str),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(i, b)| Edit::Flip(i, b)),
        any::<Index>().prop_map(Edit::Delete),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        (
            any::<Index>(),
            prop::sample::select(vec!["\n", "\n\n", "\u{2014} ", " ", "+", "=", "\u{2014} x AAAAAAA=\n"])
        )
            .prop_map(|(i, s)| Edit::InsertStr(i, s)),
    ]
}

fn apply(mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        match e {
            Edit::Flip(i, bit) if !b.is_empty() => {
                let k = i.index(b.len());
                b[k] ^= 1 << bit;
            }
            Edit::Delete(i) if !b.is_empty() => {
                b.remove(i.index(b.len()));
            }
            Edit::Insert(i, x) => b.insert(i.index(b.len() + 1), *x),
            Edit::InsertStr(i, s) => {
                let k = i.index(b.len() + 1);
                b.splice(k..k, s.bytes());
            }
            _ => {}
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn note_open_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let (_, _, s) = signed_fixture();
        let v = s.verifier();
        let _ = note::open(&bytes, &[&v]);
        let _ = note::open(&bytes, &[]);
    }

    #[test]
    fn note_open_never_panics_on_arbitrary_text(text in "(?s).{0,300}") {
        let (_, _, s) = signed_fixture();
        let _ = note::open(text.as_bytes(), &[&s.verifier()]);
        let _ = note::parse_verifier_key(&text);
        let _ = Ed25519Signer::from_signer_key(&text);
    }

    /// Edits of a genuine signed checkpoint never panic, and whenever the edited note still opens
    /// under the key, its text and the key's signature are exactly the original ones.
    #[test]
    fn edited_notes_never_open_to_other_text(edits in prop::collection::vec(edit(), 1..4)) {
        let (text, signed, s) = signed_fixture();
        let v = s.verifier();
        let original = note::Note { text: text.clone(), sigs: vec![fixture_signature()], unverified: vec![] };
        prop_assert_eq!(note::open(signed.as_bytes(), &[&v]), Ok(original.clone()));
        let bytes = apply(signed.clone().into_bytes(), &edits);
        if let Ok(n) = note::open(&bytes, &[&v]) {
            prop_assert_eq!(&n.text, text);
            prop_assert_eq!(&n.sigs, &original.sigs);
        }
        if let Ok(cp) = Checkpoint::open(&bytes, "fixture.example/log", &v) {
            prop_assert_eq!(&cp.to_text(), text);
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Deterministic witnesses for the edge cases the properties above treat as "must accept".

/// An RFC 9162 inclusion proof binds the size only through the path's shape: the proof of leaf 0
/// in a tree of 3 is `[l1, l2]`, and so is the shape for a tree of 4, so it verifies as either
/// against the same root. This is why the properties compare shapes instead of always expecting
/// an altered size to fail.
#[test]
fn inclusion_size_is_bound_only_by_path_shape() {
    let leaves: Vec<Hash> = (0..4u8).map(|i| leaf_hash(&[i])).collect();
    let t = tree_of(&leaves);
    let (p, root3) = (t.inclusion_proof(0, 3).unwrap(), t.root_at(3).unwrap());
    verify_inclusion(&leaves[0], 0, 3, &p, &root3).unwrap();
    verify_inclusion(&leaves[0], 0, 4, &p, &root3).unwrap();
    assert_eq!(inclusion_shape(0, 3), inclusion_shape(0, 4));
    assert!(verify_inclusion(&leaves[0], 0, 5, &p, &root3).is_err());
    assert_ne!(inclusion_shape(0, 3), inclusion_shape(0, 5));
}

/// Likewise for consistency: the (2, 3) proof `[l2]` also verifies as a (2, 4) claim against the
/// same roots.
#[test]
fn consistency_size_is_bound_only_by_proof_shape() {
    let leaves: Vec<Hash> = (0..4u8).map(|i| leaf_hash(&[i])).collect();
    let t = tree_of(&leaves);
    let (p, r2, r3) = (
        t.consistency_proof(2, 3).unwrap(),
        t.root_at(2).unwrap(),
        t.root_at(3).unwrap(),
    );
    verify_consistency(2, 3, &p, &r2, &r3).unwrap();
    verify_consistency(2, 4, &p, &r2, &r3).unwrap();
    assert!(consistency_must_accept((2, 3), 2, 4, p.len(), false));
    assert!(verify_consistency(3, 4, &p, &r2, &r3).is_err());
    assert!(!consistency_must_accept((2, 3), 3, 4, p.len(), false));
}

/// With two equal leaves, `H(l, l)` is symmetric, so leaf 0's proof also verifies at index 1.
#[test]
fn duplicate_leaves_can_verify_at_the_wrong_index() {
    let l = leaf_hash(b"same");
    let t = tree_of(&[l, l]);
    let p = t.inclusion_proof(0, 2).unwrap();
    verify_inclusion(&l, 1, 2, &p, &t.root()).unwrap();
}

/// Ward's policy for the empty tree, checked against real trees.
#[test]
fn consistency_from_the_empty_tree() {
    let leaves: Vec<Hash> = (0..5u8).map(|i| leaf_hash(&[i])).collect();
    let t = tree_of(&leaves);
    for b in 1..=5 {
        assert!(t.consistency_proof(0, b).unwrap().is_empty());
        verify_consistency(0, b, &[], &empty_root(), &t.root_at(b).unwrap()).unwrap();
        verify_consistency(0, b, &[], &t.root_at(b).unwrap(), &empty_root()).unwrap();
        assert!(verify_consistency(0, b, &[t.root_at(b).unwrap()], &empty_root(), &t.root_at(b).unwrap()).is_err());
    }
    verify_consistency(0, 0, &[], &empty_root(), &empty_root()).unwrap();
}

/// `parse_verifier_key` trims surrounding white space (x/mod's `NewVerifier` does not); whatever
/// it accepts must still denote exactly the same key.
#[test]
fn key_strings_with_whitespace() {
    let s = Ed25519Signer::from_seed("ws.example", [3; 32]);
    let vk = s.verifier().verifier_key();
    for variant in [format!(" {vk}"), format!("{vk} "), format!("{vk}\n")] {
        if let Ok(v) = note::parse_verifier_key(&variant) {
            assert_eq!(v.verifier_key(), vk);
        }
    }
}

/// Exhaustive over small trees: every genuine proof, claimed for every other (index, size) or
/// (size1, size2) in range, verifies exactly when the RFC shape oracle says it must. This also
/// makes sure the oracle's "must accept" branch is exercised, not just its "must fail" branch.
#[test]
fn exhaustive_claims_on_small_trees() {
    const N: u64 = 16;
    const CLAIM: u64 = 2 * N + 1;
    let leaves: Vec<Hash> = (0..N).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let t = tree_of(&leaves);
    let (mut accepted, mut rejected) = (0usize, 0usize);
    for size in 1..=N {
        let root = t.root_at(size).unwrap();
        for index in 0..size {
            let proof = t.inclusion_proof(index, size).unwrap();
            let want = inclusion_shape(index, size);
            for s2 in 0..=CLAIM {
                for i2 in 0..=s2 {
                    let must = inclusion_shape(i2, s2) == want;
                    let got = verify_inclusion(&leaves[index as usize], i2, s2, &proof, &root).is_ok();
                    assert_eq!(got, must, "inclusion proof ({index}, {size}) claimed as ({i2}, {s2})");
                    if (i2, s2) != (index, size) {
                        if got { accepted += 1 } else { rejected += 1 }
                    }
                }
            }
        }
    }
    println!("inclusion: {accepted} other claims legitimately verify, {rejected} fail");
    assert!(accepted > 0);
    let (mut accepted, mut rejected) = (0usize, 0usize);
    for b in 0..=N {
        for a in 0..=b {
            let (r1, r2) = (t.root_at(a).unwrap(), t.root_at(b).unwrap());
            let proof = t.consistency_proof(a, b).unwrap();
            for b2 in 0..=CLAIM {
                for a2 in 0..=CLAIM {
                    let must = consistency_must_accept((a, b), a2, b2, proof.len(), r1 == r2);
                    let got = verify_consistency(a2, b2, &proof, &r1, &r2).is_ok();
                    assert_eq!(got, must, "consistency proof ({a}, {b}) claimed as ({a2}, {b2})");
                    if (a2, b2) != (a, b) {
                        if got { accepted += 1 } else { rejected += 1 }
                    }
                }
            }
        }
    }
    println!("consistency: {accepted} other claims legitimately verify, {rejected} fail");
    assert!(accepted > 0);
}

/// Regression: `decode_bundle` once pre-allocated `expected` entries before looking at the data,
/// so a huge `expected` panicked ("capacity overflow") instead of returning `WrongCount`.
#[test]
fn decode_bundle_with_huge_expected_count_returns_an_error() {
    assert_eq!(
        decode_bundle(b"", usize::MAX),
        Err(BundleError::WrongCount {
            found: 0,
            expected: usize::MAX
        })
    );
    assert_eq!(
        decode_bundle(b"\x00\x00", 1 << 40),
        Err(BundleError::WrongCount {
            found: 1,
            expected: 1 << 40
        })
    );
}
