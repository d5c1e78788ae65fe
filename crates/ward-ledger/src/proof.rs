//! Verification of inclusion and consistency proofs, exactly as RFC 9162 §2.1.3.2 and §2.1.4.2
//! describe them, with the edge cases of transparency-dev/merkle (empty trees, equal sizes).

use crate::hash::{Hash, node_hash};
use thiserror::Error;

/// Why a proof did not verify.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The claimed index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The second tree is smaller than the first.
    #[error("size2 ({size2}) is smaller than size1 ({size1})")]
    SizesReversed {
        /// Old size.
        size1: u64,
        /// New size.
        size2: u64,
    },
    /// The proof has a wrong number of elements for the sizes.
    #[error("proof has the wrong number of elements ({len})")]
    WrongLength {
        /// Number of elements given.
        len: usize,
    },
    /// The recomputed root differs from the expected one.
    #[error("computed root {computed} does not match expected root {expected}")]
    RootMismatch {
        /// What the proof leads to.
        computed: Hash,
        /// What it should lead to.
        expected: Hash,
    },
}

/// Recomputes the root from a leaf hash and its inclusion proof (RFC 9162 §2.1.3.2 steps 1–4).
pub fn root_from_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash]) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength { len: proof.len() });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength { len: proof.len() });
    }
    Ok(r)
}

/// Verifies that `leaf` is at `index` in the tree of `size` leaves with root `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    let computed = root_from_inclusion(leaf, index, size, proof)?;
    if &computed != root {
        return Err(ProofError::RootMismatch {
            computed,
            expected: *root,
        });
    }
    Ok(())
}

/// Verifies that the tree of `size2` leaves (root `root2`) extends the tree of `size1` leaves
/// (root `root1`), per RFC 9162 §2.1.4.2.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    if size2 < size1 {
        return Err(ProofError::SizesReversed { size1, size2 });
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { len: proof.len() });
        }
        if root1 != root2 {
            return Err(ProofError::RootMismatch {
                computed: *root1,
                expected: *root2,
            });
        }
        return Ok(());
    }
    if size1 == 0 {
        // Every tree is consistent with the empty tree; the proof must be empty.
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(ProofError::WrongLength { len: proof.len() })
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength { len: 0 });
    }
    // Step 2: if size1 is an exact power of two, the old root is the first path element.
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(*root1);
    }
    path.extend_from_slice(proof);
    let mut fn_ = size1 - 1;
    let mut sn = size2 - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::WrongLength { len: proof.len() });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength { len: proof.len() });
    }
    if &fr != root1 {
        return Err(ProofError::RootMismatch {
            computed: fr,
            expected: *root1,
        });
    }
    if &sr != root2 {
        return Err(ProofError::RootMismatch {
            computed: sr,
            expected: *root2,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::tree::MemoryTree;

    fn tree(n: u64) -> (MemoryTree, Vec<Hash>) {
        let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(format!("leaf {i}").as_bytes())).collect();
        let mut t = MemoryTree::new();
        leaves.iter().for_each(|l| t.push(*l));
        (t, leaves)
    }

    #[test]
    fn every_inclusion_proof_verifies_up_to_33_leaves() {
        let (t, leaves) = tree(33);
        for size in 1..=33u64 {
            let root = t.root_at(size).unwrap();
            for index in 0..size {
                let proof = t.inclusion_proof(index, size).unwrap();
                verify_inclusion(&leaves[index as usize], index, size, &proof, &root)
                    .unwrap_or_else(|e| panic!("index {index} size {size}: {e}"));
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_up_to_33_leaves() {
        let (t, _) = tree(33);
        for size2 in 0..=33u64 {
            for size1 in 0..=size2 {
                let proof = t.consistency_proof(size1, size2).unwrap();
                verify_consistency(
                    size1,
                    size2,
                    &proof,
                    &t.root_at(size1).unwrap(),
                    &t.root_at(size2).unwrap(),
                )
                .unwrap_or_else(|e| panic!("{size1} -> {size2}: {e}"));
            }
        }
    }

    #[test]
    fn edge_cases() {
        let (t, leaves) = tree(8);
        let root8 = t.root_at(8).unwrap();
        // Single-leaf tree: empty proof, root is the leaf hash.
        verify_inclusion(&leaves[0], 0, 1, &[], &leaves[0]).unwrap();
        // Index at or past the size.
        assert!(matches!(
            verify_inclusion(&leaves[0], 8, 8, &[], &root8),
            Err(ProofError::IndexOutOfRange { .. })
        ));
        assert!(verify_inclusion(&leaves[0], 0, 0, &[], &root8).is_err());
        // Equal sizes: empty proof, equal roots.
        verify_consistency(8, 8, &[], &root8, &root8).unwrap();
        assert!(verify_consistency(8, 8, &[root8], &root8, &root8).is_err());
        assert!(verify_consistency(7, 7, &[], &t.root_at(7).unwrap(), &root8).is_err());
        // Old size 0.
        verify_consistency(0, 8, &[], &crate::hash::empty_root(), &root8).unwrap();
        assert!(verify_consistency(0, 8, &[root8], &crate::hash::empty_root(), &root8).is_err());
        // Reversed sizes.
        assert!(verify_consistency(8, 7, &[], &root8, &root8).is_err());
        // Last leaf.
        let p = t.inclusion_proof(7, 8).unwrap();
        verify_inclusion(&leaves[7], 7, 8, &p, &root8).unwrap();
        // Empty proof where one is needed.
        assert!(verify_consistency(3, 8, &[], &t.root_at(3).unwrap(), &root8).is_err());
    }
}
