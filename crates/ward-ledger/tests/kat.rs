//! Known-answer tests against the upstream vectors in `tests/vectors/`.
//!
//! - `merkle_roots.json`: transparency-dev/merkle `testonly/constants.go` (leaves, leaf hashes,
//!   complete-subtree hashes and roots of the first 0..=8 leaves).
//! - `inclusion.json`, `consistency.json`: transparency-dev/merkle `testdata/{inclusion,consistency}`
//!   probes. Expectation: the probe verifies iff `want_ok` (= `!wantErr`).
//! - `signed_note.json`: golang.org/x/mod `sumdb/note/note_test.go` and the C2SP signed-note and
//!   tlog-checkpoint specification examples.
//!
//! Every case is asserted; the few that cannot be expressed literally in Ward's typed API are
//! listed by file name in [`ADAPTED_CONSISTENCY`] and printed when the tests run, together with the
//! assertion used in their place. Nothing is skipped silently.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::sync::Mutex;
use ward_ledger::checkpoint::Checkpoint;
use ward_ledger::hash::{empty_root, sha256};
use ward_ledger::note::{self, Ed25519Signer, NoteError, NoteSignature, NoteSigner, NoteVerifier};
use ward_ledger::proof::{ProofError, verify_consistency, verify_inclusion};
use ward_ledger::tree::NodeId;
use ward_ledger::{Frontier, Hash, MemoryTree, leaf_hash, node_hash};

fn load<T: DeserializeOwned>(name: &str) -> T {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_slice(&data).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn hex_hash(s: &str) -> Hash {
    Hash::from_hex(s).unwrap_or_else(|| panic!("not a 32-byte hex hash: {s:?}"))
}

/// Go `encoding/json` `[]byte`: standard base64 with padding.
fn b64(s: &str) -> Vec<u8> {
    B64.decode(s).unwrap_or_else(|e| panic!("bad base64 {s:?}: {e}"))
}

/// A Go `[]byte` hash as Ward's typed [`Hash`]; `None` when it is not 32 bytes long.
fn b64_hash(s: &str) -> Option<Hash> {
    Hash::from_slice(&b64(s))
}

/// A Go `[][]byte` proof (JSON `null` is the empty proof); `None` if any element is not 32 bytes.
fn b64_proof(p: &Option<Vec<String>>) -> Option<Vec<Hash>> {
    p.as_deref().unwrap_or_default().iter().map(|s| b64_hash(s)).collect()
}

// ------------------------------------------------------------------------------------------------
// merkle_roots.json

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MerkleRoots {
    #[allow(dead_code)]
    source: String,
    #[allow(dead_code)]
    notes: String,
    leaves_hex: Vec<String>,
    roots_hex: Vec<String>,
    leaf_hashes_hex: Vec<String>,
    node_hashes_hex: Vec<Vec<String>>,
}

/// The 8 canonical leaves of transparency-dev/merkle `testonly.LeafInputs()` and their tree.
fn canonical_tree() -> (MerkleRoots, MemoryTree) {
    let v: MerkleRoots = load("merkle_roots.json");
    let mut t = MemoryTree::new();
    for l in &v.leaves_hex {
        t.push(leaf_hash(&hex::decode(l).unwrap()));
    }
    (v, t)
}

#[test]
fn merkle_roots_leaf_hashes() {
    let (v, _) = canonical_tree();
    assert_eq!(v.leaves_hex.len(), 8);
    assert_eq!(v.leaf_hashes_hex.len(), v.leaves_hex.len());
    for (i, (l, want)) in v.leaves_hex.iter().zip(&v.leaf_hashes_hex).enumerate() {
        assert_eq!(leaf_hash(&hex::decode(l).unwrap()), hex_hash(want), "leaf hash {i}");
    }
}

#[test]
fn merkle_roots_every_prefix() {
    let (v, full) = canonical_tree();
    assert_eq!(v.roots_hex.len(), 9, "roots for n = 0..=8");
    assert_eq!(hex_hash(&v.roots_hex[0]), empty_root());
    let mut frontier = Frontier::new();
    for (n, want) in v.roots_hex.iter().enumerate() {
        let want = hex_hash(want);
        // A fresh tree of exactly n leaves, a frontier grown leaf by leaf, and the historical root
        // of the full tree must all agree with upstream.
        let mut t = MemoryTree::new();
        for l in &v.leaves_hex[..n] {
            t.push(leaf_hash(&hex::decode(l).unwrap()));
        }
        assert_eq!(t.root(), want, "MemoryTree root of {n} leaves");
        assert_eq!(frontier.root(), want, "Frontier root of {n} leaves");
        assert_eq!(full.root_at(n as u64), Some(want), "root_at({n})");
        if n < v.leaves_hex.len() {
            frontier.push(leaf_hash(&hex::decode(&v.leaves_hex[n]).unwrap()));
        }
    }
    assert_eq!(full.root_at(9), None);
}

#[test]
fn merkle_roots_subtree_hashes() {
    let (v, t) = canonical_tree();
    assert_eq!(v.node_hashes_hex.len(), 4, "levels 0..=3 of an 8-leaf tree");
    for (level, hashes) in v.node_hashes_hex.iter().enumerate() {
        let want: Vec<Hash> = hashes.iter().map(|h| hex_hash(h)).collect();
        assert_eq!(want.len(), 8 >> level, "level {level} width");
        assert_eq!(t.level(level as u8), &want[..], "MemoryTree level {level}");
        for (index, h) in want.iter().enumerate() {
            assert_eq!(
                t.node(NodeId::new(level as u8, index as u64)),
                Some(*h),
                "node {level}/{index}"
            );
            if level > 0 {
                let below = &v.node_hashes_hex[level - 1];
                let (l, r) = (hex_hash(&below[2 * index]), hex_hash(&below[2 * index + 1]));
                assert_eq!(node_hash(&l, &r), *h, "node {level}/{index} from its children");
            }
        }
    }
    assert_eq!(
        v.node_hashes_hex[3][0], v.roots_hex[8],
        "the level-3 node is the root of 8"
    );
    assert!(t.level(4).is_empty());
}

// ------------------------------------------------------------------------------------------------
// inclusion.json / consistency.json

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProbeFile<C> {
    source: String,
    #[allow(dead_code)]
    notes: String,
    #[allow(dead_code)]
    file_commits: serde_json::Map<String, serde_json::Value>,
    cases: Vec<C>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct InclusionProbe {
    #[serde(rename = "leafIdx")]
    leaf_idx: u64,
    #[serde(rename = "treeSize")]
    tree_size: u64,
    root: String,
    #[serde(rename = "leafHash")]
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    #[serde(rename = "wantErr")]
    want_err: bool,
    file: String,
    want_ok: bool,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ConsistencyProbe {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    #[serde(rename = "wantErr")]
    want_err: bool,
    file: String,
    want_ok: bool,
}

/// Why a probe did not verify: rejected by the library, or not expressible as 32-byte hashes
/// (Ward's API is typed, so such a probe can never verify; upstream rejects these too, except
/// where noted in [`ADAPTED_CONSISTENCY`]).
#[derive(Debug)]
enum Outcome {
    Ok,
    NotA32ByteHash(&'static str),
    Rejected(ProofError),
}

impl Outcome {
    fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

fn run_inclusion(c: &InclusionProbe) -> Outcome {
    let Some(leaf) = b64_hash(&c.leaf_hash) else {
        return Outcome::NotA32ByteHash("leafHash");
    };
    let Some(root) = b64_hash(&c.root) else {
        return Outcome::NotA32ByteHash("root");
    };
    let Some(proof) = b64_proof(&c.proof) else {
        return Outcome::NotA32ByteHash("proof element");
    };
    match verify_inclusion(&leaf, c.leaf_idx, c.tree_size, &proof, &root) {
        Ok(()) => Outcome::Ok,
        Err(e) => Outcome::Rejected(e),
    }
}

fn run_consistency(c: &ConsistencyProbe) -> Outcome {
    let Some(root1) = b64_hash(&c.root1) else {
        return Outcome::NotA32ByteHash("root1");
    };
    let Some(root2) = b64_hash(&c.root2) else {
        return Outcome::NotA32ByteHash("root2");
    };
    let Some(proof) = b64_proof(&c.proof) else {
        return Outcome::NotA32ByteHash("proof element");
    };
    match verify_consistency(c.size1, c.size2, &proof, &root1, &root2) {
        Ok(()) => Outcome::Ok,
        Err(e) => Outcome::Rejected(e),
    }
}

#[test]
fn inclusion_probes() {
    let v: ProbeFile<InclusionProbe> = load("inclusion.json");
    assert!(v.source.contains("transparency-dev/merkle"));
    assert_eq!(v.cases.len(), 23, "inclusion.json changed: review this test");
    let mut failures = Vec::new();
    for c in &v.cases {
        assert_eq!(c.want_ok, !c.want_err, "{}: want_ok must be !wantErr", c.file);
        let got = run_inclusion(c);
        println!("inclusion {:<55} want_ok={:<5} got {:?}", c.file, c.want_ok, got);
        if got.is_ok() != c.want_ok {
            failures.push(format!("{} ({}): want_ok={} got {got:?}", c.file, c.desc, c.want_ok));
        }
        if c.leaf_idx >= c.tree_size
            && let Outcome::Rejected(e) = &got
        {
            assert!(matches!(e, ProofError::IndexOutOfRange { .. }), "{}: {e:?}", c.file);
        }
    }
    assert!(
        v.cases.iter().any(|c| c.leaf_idx == u64::MAX),
        "the u64::MAX leafIdx probe is present"
    );
    assert!(
        failures.is_empty(),
        "inclusion probes disagree with upstream:\n{}",
        failures.join("\n")
    );
}

/// Consistency probes whose literal form cannot be asserted with Ward's typed API, each with the
/// reason and the assertion made instead (see [`adapted_consistency_assertions`]).
///
/// Upstream history (transparency-dev/merkle), because it matters for all three:
/// - The 2022 rewrite of `proof/verify.go` ("Copyright 2022", read at commit 1a0a88bf) returns
///   `verifyMatch(root1, root2)` when `size1 == size2` (so 0 == 0 with equal roots verifies) and
///   `nil` when `size1 == 0 < size2` with an empty proof. Ward implements exactly this policy
///   (RFC 9162 §2.1.4 only defines consistency proofs for 0 < m < n, so m == 0 is a policy choice;
///   "every tree extends the empty tree" is the natural one).
/// - The `testdata` in `consistency.json` is from the newer `cmd/proofgen` generation (2025,
///   commit 8c666a79 for the `additional/` files), which marks every probe with `size1 == 0` as an
///   error. The older generation of `sizes-are-equal-zero-and-proof-is-empty.json` (commit
///   53bebf15) had `wantErr: false`, matching Ward.
const ADAPTED_CONSISTENCY: &[(&str, &str)] = &[
    (
        "testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
        "want_ok=true with root1 == root2 == \"don't care 2\" (12 bytes). Go compares byte strings, Ward takes \
         typed 32-byte hashes, so the literal probe cannot be expressed and counts as failing. Asserted instead: \
         (1, 1, [], R, R) verifies for 32-byte R (including SHA-256 of those 12 bytes), and (1, 1, [], R, R') \
         does not.",
    ),
    (
        "testdata/consistency/additional/size1-is-zero-and-size2-is-not-zero.json",
        "want_ok=false; literal probe agrees (root2 is 12 bytes) but only because of the length rule. \
         Generation: 2025 proofgen (8c666a79), which rejects every size1 == 0. Ward deliberately follows the \
         2022 verify.go: (0, n, [], any, any) verifies. Asserted: that policy.",
    ),
    (
        "testdata/consistency/additional/sizes-are-equal-zero-and-proof-is-empty.json",
        "want_ok=false; literal probe agrees (roots are 12 bytes) but only because of the length rule. \
         Generation: 2025 proofgen (8c666a79: wantErr=true); the older file (53bebf15) had wantErr=false, like \
         Ward and the 2022 verify.go. Asserted: (0, 0, [], R, R) verifies and (0, 0, [], R, R') does not.",
    ),
];

#[test]
fn consistency_probes() {
    let v: ProbeFile<ConsistencyProbe> = load("consistency.json");
    assert!(v.source.contains("transparency-dev/merkle"));
    assert_eq!(v.cases.len(), 21, "consistency.json changed: review this test");
    let mut failures = Vec::new();
    for c in &v.cases {
        assert_eq!(c.want_ok, !c.want_err, "{}: want_ok must be !wantErr", c.file);
        let got = run_consistency(c);
        let adapted = ADAPTED_CONSISTENCY.iter().find(|(f, _)| *f == c.file);
        println!("consistency {:<70} want_ok={:<5} got {:?}", c.file, c.want_ok, got);
        if let Some((file, why)) = adapted {
            println!("  ADAPTED {file}: {why}");
            continue;
        }
        if got.is_ok() != c.want_ok {
            failures.push(format!("{} ({}): want_ok={} got {got:?}", c.file, c.desc, c.want_ok));
        }
        if let Outcome::Rejected(e) = &got {
            assert_eq!(
                c.size2 < c.size1,
                matches!(e, ProofError::SizesReversed { .. }),
                "{}: {e:?}",
                c.file
            );
        }
        // No other probe may rely on the length rule where the library would have said otherwise.
        if c.size1 == 0 {
            assert!(
                !c.want_ok && matches!(got, Outcome::Rejected(_)),
                "{}: unlisted size1 == 0 probe",
                c.file
            );
        }
    }
    for (file, _) in ADAPTED_CONSISTENCY {
        assert!(
            v.cases.iter().any(|c| c.file == *file),
            "{file} is listed as adapted but is not in the file"
        );
    }
    assert!(
        failures.is_empty(),
        "consistency probes disagree with upstream:\n{}",
        failures.join("\n")
    );
}

/// The assertions that replace the literal probes of [`ADAPTED_CONSISTENCY`].
#[test]
fn adapted_consistency_assertions() {
    let v: ProbeFile<ConsistencyProbe> = load("consistency.json");
    let case = |file: &str| {
        v.cases
            .iter()
            .find(|c| c.file == file)
            .unwrap_or_else(|| panic!("{file}"))
    };

    // sizes-are-equal-one-and-proof-is-empty: equal sizes, empty proof, equal roots => verifies,
    // whatever the roots are; unequal roots do not.
    let c = case(ADAPTED_CONSISTENCY[0].0);
    assert_eq!((c.size1, c.size2, c.want_ok), (1, 1, true));
    assert_eq!(c.root1, c.root2);
    assert!(
        matches!(run_consistency(c), Outcome::NotA32ByteHash(_)),
        "literal probe is not expressible"
    );
    let r = sha256(&b64(&c.root1));
    verify_consistency(1, 1, &[], &r, &r).expect("(1,1,[],R,R)");
    verify_consistency(1, 1, &[], &empty_root(), &empty_root()).expect("(1,1,[],E,E)");
    assert!(verify_consistency(1, 1, &[], &r, &empty_root()).is_err());

    // size1-is-zero-and-size2-is-not-zero: Ward accepts any roots with an empty proof.
    let c = case(ADAPTED_CONSISTENCY[1].0);
    assert_eq!((c.size1, c.size2, c.want_ok), (0, 1, false));
    assert!(matches!(run_consistency(c), Outcome::NotA32ByteHash("root2")));
    let root1 = b64_hash(&c.root1).expect("root1 is the 32-byte empty root");
    assert_eq!(root1, empty_root());
    verify_consistency(0, 1, &[], &root1, &sha256(&b64(&c.root2))).expect("Ward policy: size1 == 0 verifies");
    assert!(
        verify_consistency(0, 1, &[root1], &root1, &root1).is_err(),
        "but only with an empty proof"
    );

    // sizes-are-equal-zero-and-proof-is-empty: (0, 0) behaves like any equal sizes.
    let c = case(ADAPTED_CONSISTENCY[2].0);
    assert_eq!((c.size1, c.size2, c.want_ok), (0, 0, false));
    assert!(matches!(run_consistency(c), Outcome::NotA32ByteHash(_)));
    let r = sha256(&b64(&c.root1));
    verify_consistency(0, 0, &[], &r, &r).expect("Ward policy: (0,0,[],R,R) verifies");
    assert!(verify_consistency(0, 0, &[], &r, &empty_root()).is_err());
    assert!(verify_consistency(0, 0, &[r], &r, &r).is_err());
}

/// Our proof generation over the 8 canonical leaves reproduces every upstream happy-path proof.
#[test]
fn proof_generation_matches_upstream_happy_paths() {
    let (_, t) = canonical_tree();
    let inc: ProbeFile<InclusionProbe> = load("inclusion.json");
    let mut n = 0;
    for c in inc.cases.iter().filter(|c| c.desc == "happy path") {
        let want = b64_proof(&c.proof).expect("32-byte proof");
        let got = t.inclusion_proof(c.leaf_idx, c.tree_size).expect("in range");
        assert_eq!(
            got, want,
            "{}: inclusion_proof({}, {})",
            c.file, c.leaf_idx, c.tree_size
        );
        assert_eq!(
            Some(t.level(0)[c.leaf_idx as usize]),
            b64_hash(&c.leaf_hash),
            "{}: leaf hash",
            c.file
        );
        assert_eq!(t.root_at(c.tree_size), b64_hash(&c.root), "{}: root", c.file);
        n += 1;
    }
    assert_eq!(n, 5, "five inclusion happy paths");

    let con: ProbeFile<ConsistencyProbe> = load("consistency.json");
    let mut n = 0;
    for c in con.cases.iter().filter(|c| c.desc == "happy path") {
        let want = b64_proof(&c.proof).expect("32-byte proof");
        let got = t.consistency_proof(c.size1, c.size2).expect("in range");
        assert_eq!(got, want, "{}: consistency_proof({}, {})", c.file, c.size1, c.size2);
        assert_eq!(t.root_at(c.size1), b64_hash(&c.root1), "{}: root1", c.file);
        assert_eq!(t.root_at(c.size2), b64_hash(&c.root2), "{}: root2", c.file);
        n += 1;
    }
    assert_eq!(n, 5, "five consistency happy paths");
}

// ------------------------------------------------------------------------------------------------
// signed_note.json

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct NoteVectors {
    sources: Vec<String>,
    #[allow(dead_code)]
    notes: String,
    cases: Vec<NoteCase>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct NoteCase {
    name: String,
    #[allow(dead_code)]
    source: String,
    verifier_key: Option<String>,
    signer_key: Option<String>,
    text: Option<String>,
    signed_note: Option<String>,
    #[serde(default)]
    signed_note_b64: Option<String>,
    expect: String,
    #[allow(dead_code)]
    comment: String,
    verifier_keys: Vec<String>,
    #[serde(default)]
    expect_error: Option<String>,
    #[serde(default)]
    expect_sigs: Option<Vec<ExpectSig>>,
    #[serde(default)]
    expect_unverified_sigs: Option<Vec<ExpectSig>>,
    #[serde(default)]
    expect_checkpoint: Option<ExpectCheckpoint>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ExpectSig {
    name: String,
    key_hash: String,
    sig_b64: String,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ExpectCheckpoint {
    origin: String,
    size: u64,
    root_b64: String,
}

impl ExpectSig {
    fn to_sig(&self) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: u32::from_str_radix(&self.key_hash, 16).expect("hex key hash"),
            base64: self.sig_b64.clone(),
        }
    }
}

fn sigs(v: &[ExpectSig]) -> Vec<NoteSignature> {
    v.iter().map(ExpectSig::to_sig).collect()
}

impl NoteCase {
    fn note_bytes(&self) -> Vec<u8> {
        match (&self.signed_note, &self.signed_note_b64) {
            (Some(s), None) => s.as_bytes().to_vec(),
            (None, Some(b)) => b64(b),
            other => panic!(
                "{}: expected exactly one of signed_note / signed_note_b64, got {other:?}",
                self.name
            ),
        }
    }

    fn verifiers(&self) -> Vec<Box<dyn NoteVerifier>> {
        self.verifier_keys
            .iter()
            .map(|k| note::parse_verifier_key(k).unwrap_or_else(|e| panic!("{}: verifier key {k}: {e}", self.name)))
            .collect()
    }
}

fn open_with(msg: &[u8], verifiers: &[Box<dyn NoteVerifier>]) -> Result<note::Note, NoteError> {
    let refs: Vec<&dyn NoteVerifier> = verifiers.iter().map(|v| v.as_ref()).collect();
    note::open(msg, &refs)
}

/// Every proper substring `b[i..j]`, and every string with one byte incremented, must be rejected
/// (the loops of Go's TestNewVerifier / TestNewSigner).
fn assert_manglings_rejected(what: &str, key: &str, parses: impl Fn(&str) -> bool) {
    let b = key.as_bytes();
    let mut tried = 0;
    for i in 0..=b.len() {
        for j in i..=b.len() {
            if (i, j) == (0, b.len()) {
                continue;
            }
            let s = std::str::from_utf8(&b[i..j]).expect("keys are ASCII");
            assert!(!parses(s), "{what}: substring [{i}..{j}] {s:?} was accepted");
            tried += 1;
        }
    }
    for i in 0..b.len() {
        let mut m = b.to_vec();
        m[i] += 1;
        let s = String::from_utf8(m).expect("keys are ASCII");
        assert!(!parses(&s), "{what}: byte {i} incremented {s:?} was accepted");
        tried += 1;
    }
    println!("  {what}: {tried} mangled keys rejected");
}

/// A verifier for a key whose public half is not published: matches the given name and key ID,
/// accepts any signature and records the message it was asked about. Used only to observe how
/// `open` splits a note and parses its signature lines.
struct AcceptAll {
    name: String,
    id: u32,
    seen: Mutex<Vec<Vec<u8>>>,
}

impl NoteVerifier for AcceptAll {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        assert_eq!(sig.len(), 64, "Ed25519 signature length");
        self.seen.lock().unwrap().push(msg.to_vec());
        true
    }
    fn verifier_key(&self) -> String {
        format!("{}+{:08x}+(unpublished)", self.name, self.id)
    }
}

fn check_key_valid(c: &NoteCase) {
    let vkey = c.verifier_key.as_deref().expect("key_valid has a verifier key");
    let v = note::parse_verifier_key(vkey).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    let (name, rest) = vkey.split_once('+').unwrap();
    assert_eq!(v.name(), name, "{}", c.name);
    assert_eq!(format!("{:08x}", v.key_id()), &rest[..8], "{}: key id", c.name);
    assert_eq!(v.verifier_key(), vkey, "{}: verifier key round trip", c.name);
    assert_manglings_rejected(&c.name, vkey, |s| note::parse_verifier_key(s).is_ok());
    if let Some(skey) = &c.signer_key {
        let s = Ed25519Signer::from_signer_key(skey).unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(s.verifier().verifier_key(), vkey, "{}: signer's verifier", c.name);
        assert_eq!(s.signer_key(), *skey, "{}: signer key round trip", c.name);
        assert_eq!((s.name(), s.key_id()), (v.name(), v.key_id()), "{}", c.name);
        assert_manglings_rejected(&format!("{} (signer)", c.name), skey, |k| {
            Ed25519Signer::from_signer_key(k).is_ok()
        });
    }
}

fn check_key_invalid(c: &NoteCase) {
    let vkey = c.verifier_key.as_deref().expect("key_invalid has a verifier key");
    let err = note::parse_verifier_key(vkey)
        .err()
        .unwrap_or_else(|| panic!("{}: accepted", c.name));
    // Upstream adjusted the key hash in these keys so that they fail for the stated reason only.
    match c.name.as_str() {
        "go_verifier_key_wrong_length" => {
            assert!(matches!(err, NoteError::MalformedKey(_)), "{}: {err:?}", c.name)
        }
        "go_verifier_key_unknown_algorithm" => assert_eq!(err, NoteError::UnknownAlgorithm(b'e'), "{}", c.name),
        other => assert_ne!(
            err,
            NoteError::KeyIdMismatch,
            "{other}: should fail for its stated reason"
        ),
    }
}

fn check_sign_output(c: &NoteCase) {
    let s = Ed25519Signer::from_signer_key(c.signer_key.as_deref().unwrap()).unwrap();
    let text = c.text.as_deref().unwrap();
    let signed = note::sign(text, &[&s]).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    assert_eq!(
        signed,
        *c.signed_note.as_ref().unwrap(),
        "{}: byte-exact signed note",
        c.name
    );
    let opened = open_with(signed.as_bytes(), &c.verifiers()).unwrap();
    assert_eq!(opened.text, text);
}

fn check_sign_error(c: &NoteCase) {
    let s = Ed25519Signer::from_signer_key(c.signer_key.as_deref().unwrap()).unwrap();
    let err = note::sign(c.text.as_deref().unwrap(), &[&s]).err();
    assert_eq!(c.expect_error.as_deref(), Some("malformed note"), "{}", c.name);
    assert!(matches!(err, Some(NoteError::Malformed(_))), "{}: {err:?}", c.name);
}

fn check_valid(c: &NoteCase) {
    let n = open_with(&c.note_bytes(), &c.verifiers()).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    if let Some(text) = &c.text {
        assert_eq!(n.text, *text, "{}: text", c.name);
    }
    let want = c
        .expect_sigs
        .as_deref()
        .unwrap_or_else(|| panic!("{}: valid case without expect_sigs", c.name));
    assert_eq!(n.sigs, sigs(want), "{}: verified signatures", c.name);
    if let Some(u) = &c.expect_unverified_sigs {
        assert_eq!(n.unverified, sigs(u), "{}: unverified signatures", c.name);
    }
}

fn check_invalid(c: &NoteCase) {
    let err = open_with(&c.note_bytes(), &c.verifiers())
        .err()
        .unwrap_or_else(|| panic!("{}: opened", c.name));
    let want = c.expect_error.as_deref().unwrap();
    match want {
        // x/mod's UnverifiedNoteError. Ward's error carries no note, so the expected unverified
        // list (expect_unverified_sigs) is not observable on this path; it is checked in
        // `go_note_unverified_list_is_observable_with_a_known_key` instead.
        "note has no verifiable signatures" => assert_eq!(err, NoteError::Unverified, "{}", c.name),
        // x/mod's errMismatchedVerifier needs a Verifiers lookup that returns a key with another
        // name or hash. Ward's `open` takes a list and only ever selects verifiers whose name and
        // key ID equal the signature line's, so the same note is rejected as unverified.
        w if w.starts_with("errMismatchedVerifier") => assert_eq!(err, NoteError::Unverified, "{}", c.name),
        // Ward's messages for these two match x/mod's text exactly.
        w => {
            assert_eq!(err.to_string(), w, "{}: error text", c.name);
            assert!(
                matches!(err, NoteError::InvalidSignature { .. } | NoteError::Ambiguous { .. }),
                "{err:?}"
            );
        }
    }
}

fn check_malformed(c: &NoteCase) {
    let bytes = c.note_bytes();
    assert_eq!(c.expect_error.as_deref(), Some("malformed note"), "{}", c.name);
    for verifiers in [c.verifiers(), vec![]] {
        let err = open_with(&bytes, &verifiers).err();
        assert!(
            matches!(err, Some(NoteError::Malformed(_))),
            "{} ({} keys): {err:?}",
            c.name,
            verifiers.len()
        );
    }
}

fn check_parse_only(c: &NoteCase) {
    let bytes = c.note_bytes();
    let text = c.text.as_deref().unwrap();
    let want = sigs(c.expect_sigs.as_deref().unwrap());
    assert_eq!(want.len(), 1, "{}", c.name);
    // The text is everything before the LAST blank line (the poem example has one inside its text).
    let split = c.signed_note.as_deref().unwrap().rfind("\n\n").unwrap();
    assert_eq!(
        &c.signed_note.as_deref().unwrap()[..split + 1],
        text,
        "{}: text/signature split",
        c.name
    );
    // The signature line: name, then base64 of key ID ‖ 64-byte signature.
    let raw = b64(&want[0].base64);
    assert_eq!(raw.len(), 68, "{}: key ID + Ed25519 signature", c.name);
    assert_eq!(
        u32::from_be_bytes(raw[..4].try_into().unwrap()),
        want[0].key_id,
        "{}",
        c.name
    );
    // Through the library: with no key the note is unverified; with a stand-in verifier for that
    // name and key ID, `open` parses the line, asks about exactly the text, and reports the line.
    assert_eq!(open_with(&bytes, &[]).err(), Some(NoteError::Unverified), "{}", c.name);
    let probe = AcceptAll {
        name: want[0].name.clone(),
        id: want[0].key_id,
        seen: Mutex::new(vec![]),
    };
    let n = note::open(&bytes, &[&probe]).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    assert_eq!(n.text, text, "{}", c.name);
    assert_eq!(n.sigs, want, "{}", c.name);
    assert!(n.unverified.is_empty());
    assert_eq!(
        *probe.seen.lock().unwrap(),
        vec![text.as_bytes().to_vec()],
        "{}: signed message",
        c.name
    );
    match &c.expect_checkpoint {
        Some(cp) => {
            let parsed = Checkpoint::parse(&n.text).unwrap_or_else(|e| panic!("{}: {e}", c.name));
            assert_eq!(parsed.origin, cp.origin);
            assert_eq!(parsed.size, cp.size);
            assert_eq!(parsed.root.to_base64(), cp.root_b64);
            assert!(parsed.extensions.is_empty());
            assert_eq!(parsed.to_text(), text, "{}: checkpoint text round trip", c.name);
            // Key name = origin, as the C2SP checkpoint spec recommends.
            assert_eq!(want[0].name, cp.origin);
            let opened = Checkpoint::open(&bytes, &cp.origin, &probe).unwrap();
            assert_eq!(opened, parsed);
        }
        None => {
            // Not a checkpoint (the signed-note spec's poem); only the note structure applies.
            assert!(
                Checkpoint::parse(&n.text).is_err(),
                "{}: a poem is not a checkpoint",
                c.name
            );
            println!(
                "  {}: no checkpoint in this note; Checkpoint::parse not applicable",
                c.name
            );
        }
    }
}

#[test]
fn signed_note_vectors() {
    let v: NoteVectors = load("signed_note.json");
    assert!(
        v.sources
            .iter()
            .any(|s| s.starts_with("golang/mod sumdb/note/note_test.go"))
    );
    assert_eq!(v.cases.len(), 26, "signed_note.json changed: review this test");
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for c in &v.cases {
        println!("note {:<45} expect={}", c.name, c.expect);
        match c.expect.as_str() {
            "key_valid" => check_key_valid(c),
            "key_invalid" => check_key_invalid(c),
            "sign_output" => check_sign_output(c),
            "sign_error" => check_sign_error(c),
            "valid" => check_valid(c),
            "invalid" => check_invalid(c),
            "malformed" => check_malformed(c),
            "parse_only" => check_parse_only(c),
            other => panic!("{}: unknown expectation {other:?}", c.name),
        }
        *counts.entry(c.expect.as_str()).or_default() += 1;
    }
    println!("signed_note.json: {counts:?}");
    assert_eq!(counts.values().sum::<usize>(), v.cases.len());
}

/// x/mod TestOpen: with no known key, the error's note lists both signatures as unverified.
/// Ward's `NoteError::Unverified` carries no note, so the list is checked here by knowing one of
/// the two keys instead: the other signature is then reported as unverified.
#[test]
fn go_note_unverified_list_is_observable_with_a_known_key() {
    let v: NoteVectors = load("signed_note.json");
    let c = v.cases.iter().find(|c| c.name == "go_open_no_known_keys").unwrap();
    let want = sigs(c.expect_unverified_sigs.as_deref().unwrap());
    let enoch = note::parse_verifier_key("EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop").unwrap();
    let n = open_with(&c.note_bytes(), &[enoch]).unwrap();
    assert_eq!(n.sigs, vec![want[1].clone()]);
    assert_eq!(n.unverified, vec![want[0].clone()]);
}

/// x/mod TestSign (no literal vector): a signer whose name is invalid is refused.
#[test]
fn go_sign_refuses_invalid_signer_name() {
    struct BadName(Ed25519Signer);
    impl NoteSigner for BadName {
        fn name(&self) -> &str {
            "bad name"
        }
        fn key_id(&self) -> u32 {
            self.0.key_id()
        }
        fn sign(&self, msg: &[u8]) -> Vec<u8> {
            self.0.sign(msg)
        }
    }
    let s = BadName(Ed25519Signer::from_seed("ok", [1; 32]));
    assert!(matches!(note::sign("hello\n", &[&s]), Err(NoteError::MalformedKey(_))));
}

/// x/mod allows at most 100 signature lines: 100 are fine (duplicates collapse), 101 are not.
#[test]
fn go_note_signature_limit_boundary() {
    let v: NoteVectors = load("signed_note.json");
    let c = v.cases.iter().find(|c| c.name == "go_sign_peter").unwrap();
    let signed = c.signed_note.as_deref().unwrap();
    let (text, sig_line) = signed.split_at(signed.rfind("\n\n").unwrap() + 2);
    let peter = c.verifiers();
    let hundred = format!("{text}{}", sig_line.repeat(100));
    let n = open_with(hundred.as_bytes(), &peter).unwrap();
    assert_eq!(n.sigs.len(), 1);
    let hundred_one = format!("{text}{}", sig_line.repeat(101));
    assert!(matches!(
        open_with(hundred_one.as_bytes(), &peter),
        Err(NoteError::Malformed(_))
    ));
    // The vector's 101-signature note is exactly this one.
    let vec101 = v
        .cases
        .iter()
        .find(|c| c.name == "go_open_too_many_signatures")
        .unwrap();
    assert_eq!(vec101.signed_note.as_deref(), Some(hundred_one.as_str()));
}
