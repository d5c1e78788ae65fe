//! Merkle tree math of RFC 9162 §2.1: complete subtrees, the frontier (compact range) of a growing
//! log, root computation, and proof *plans*.
//!
//! A store keeps the hash of every complete, aligned subtree (a [`NodeId`]). Every node of the
//! RFC 6962 tree of any size is either such a complete subtree or a right-edge node whose hash
//! folds from O(log n) complete subtrees, so a proof or a historical root needs O(log n) stored
//! hashes. The planning functions here are pure: they name the nodes to fetch, and
//! [`ProofPlan::assemble`] turns the fetched hashes into the proof.

use crate::hash::{Hash, node_hash};
use std::collections::HashMap;

/// A complete, aligned subtree: the `2^level` leaves starting at `index << level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves (0 = a leaf).
    pub level: u8,
    /// Position among the nodes of that level.
    pub index: u64,
}

impl NodeId {
    /// Builds a node id.
    pub const fn new(level: u8, index: u64) -> NodeId {
        NodeId { level, index }
    }

    /// First leaf covered by this node.
    pub fn begin(&self) -> u64 {
        self.index << self.level
    }

    /// One past the last leaf covered by this node.
    pub fn end(&self) -> u64 {
        (self.index + 1) << self.level
    }
}

/// Largest power of two strictly smaller than `n` (n ≥ 2), the split point of RFC 9162 §2.1.1.
pub fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Decomposes the tree node covering leaves `[begin, end)` into complete subtrees, left to right.
///
/// `begin` must be a multiple of a power of two not smaller than `end - begin` (true of every
/// node of an RFC 6962 tree). The node's hash is the right-to-left fold of the subtrees' hashes.
pub fn decompose(begin: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut b = begin;
    while b < end {
        let size = end - b;
        let mut level = 63 - size.leading_zeros();
        if b != 0 {
            level = level.min(b.trailing_zeros());
        }
        out.push(NodeId::new(level as u8, b >> level));
        b += 1u64 << level;
    }
    out
}

/// Folds the hashes of a decomposition (left to right) into the hash of the whole node.
pub fn fold_right(hashes: &[Hash]) -> Option<Hash> {
    let (last, rest) = hashes.split_last()?;
    Some(rest.iter().rev().fold(*last, |acc, h| node_hash(h, &acc)))
}

/// The leaf ranges whose hashes form the inclusion proof of `index` in a tree of `size`
/// (RFC 9162 §2.1.3.1 `PATH`), ordered from the leaf up. Empty when `index >= size`.
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if index >= size {
        return out;
    }
    let (mut b, mut e) = (0u64, size);
    while e - b > 1 {
        let k = split_point(e - b);
        if index < b + k {
            out.push((b + k, e));
            e = b + k;
        } else {
            out.push((b, b + k));
            b += k;
        }
    }
    out.reverse();
    out
}

/// The leaf ranges whose hashes form the consistency proof from `size1` to `size2`
/// (RFC 9162 §2.1.4.1 `PROOF`/`SUBPROOF`). Empty when `size1 == 0` or `size1 >= size2`.
pub fn consistency_ranges(size1: u64, size2: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    if size1 == 0 || size1 >= size2 {
        return out;
    }
    let (mut b, mut e) = (0u64, size2);
    let mut m = size1;
    let mut whole_old_tree = true;
    loop {
        if m == e - b {
            if !whole_old_tree {
                out.push((b, e));
            }
            break;
        }
        let k = split_point(e - b);
        if m <= k {
            out.push((b + k, e));
            e = b + k;
        } else {
            out.push((b, b + k));
            b += k;
            m -= k;
            whole_old_tree = false;
        }
    }
    out.reverse();
    out
}

/// Which stored subtree hashes make up a proof (or a root), and how to combine them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    /// One entry per proof element: the complete subtrees whose fold is that element.
    pub elements: Vec<Vec<NodeId>>,
}

impl ProofPlan {
    fn from_ranges(ranges: Vec<(u64, u64)>) -> ProofPlan {
        ProofPlan {
            elements: ranges.into_iter().map(|(b, e)| decompose(b, e)).collect(),
        }
    }

    /// Plan for the inclusion proof of leaf `index` in the tree of `size` leaves.
    pub fn inclusion(index: u64, size: u64) -> ProofPlan {
        ProofPlan::from_ranges(inclusion_ranges(index, size))
    }

    /// Plan for the consistency proof between tree sizes `size1` and `size2`.
    pub fn consistency(size1: u64, size2: u64) -> ProofPlan {
        ProofPlan::from_ranges(consistency_ranges(size1, size2))
    }

    /// Plan for the root of the tree of `size` leaves (a single element; none when empty).
    pub fn root(size: u64) -> ProofPlan {
        if size == 0 {
            return ProofPlan { elements: vec![] };
        }
        ProofPlan::from_ranges(vec![(0, size)])
    }

    /// Every node the plan needs, without duplicates, sorted.
    pub fn node_ids(&self) -> Vec<NodeId> {
        let mut ids: Vec<NodeId> = self.elements.iter().flatten().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Combines fetched node hashes into the proof elements; `None` if a node is missing.
    pub fn assemble(&self, nodes: &HashMap<NodeId, Hash>) -> Option<Vec<Hash>> {
        self.elements
            .iter()
            .map(|ids| {
                let hashes: Option<Vec<Hash>> = ids.iter().map(|id| nodes.get(id).copied()).collect();
                fold_right(&hashes?)
            })
            .collect()
    }
}

/// The right edge of a log: the hashes of the complete subtrees that make up `[0, size)`, from
/// the largest to the smallest. Appending needs no reads; the root is a fold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The empty log's frontier.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// Rebuilds a frontier from its size and hashes; `None` if their number does not match
    /// the number of one bits in `size`.
    pub fn from_parts(size: u64, hashes: Vec<Hash>) -> Option<Frontier> {
        (hashes.len() == size.count_ones() as usize).then_some(Frontier { size, hashes })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The subtree hashes, largest first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The ids of the frontier's subtrees, largest first (matching [`Frontier::hashes`]).
    pub fn node_ids(&self) -> Vec<NodeId> {
        decompose(0, self.size)
    }

    /// Concatenated hashes, for storage.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.hashes.iter().flat_map(|h| h.0).collect()
    }

    /// Inverse of [`Frontier::to_bytes`].
    pub fn from_bytes(size: u64, bytes: &[u8]) -> Option<Frontier> {
        if !bytes.len().is_multiple_of(32) {
            return None;
        }
        let hashes = bytes.chunks(32).filter_map(Hash::from_slice).collect();
        Frontier::from_parts(size, hashes)
    }

    /// Appends a leaf hash and returns every complete subtree that now exists for the first
    /// time (the leaf itself at level 0, then each merged parent), for storage.
    pub fn push(&mut self, leaf: Hash) -> Vec<(NodeId, Hash)> {
        self.push_subtree(0, leaf).expect("a single leaf is always aligned")
    }

    /// Appends a whole complete subtree of `2^level` leaves, given its hash, and returns every
    /// complete subtree that now exists for the first time (the pushed one first). `None`, with
    /// nothing changed, unless the size is a multiple of `2^level`.
    pub fn push_subtree(&mut self, level: u8, hash: Hash) -> Option<Vec<(NodeId, Hash)>> {
        let span = 1u64.checked_shl(u32::from(level))?;
        if !self.size.is_multiple_of(span) {
            return None;
        }
        let mut node = NodeId::new(level, self.size >> level);
        let mut created = vec![(node, hash)];
        let mut current = hash;
        // Each trailing one bit of the old size (above `level`) is a sibling that now merges.
        while node.index & 1 == 1 {
            let left = self
                .hashes
                .pop()
                .expect("frontier has one hash per one bit of the size");
            current = node_hash(&left, &current);
            node = NodeId::new(node.level + 1, node.index >> 1);
            created.push((node, current));
        }
        self.hashes.push(current);
        self.size += span;
        Some(created)
    }

    /// The root hash of the tree (the empty root for size 0).
    pub fn root(&self) -> Hash {
        fold_right(&self.hashes).unwrap_or_else(crate::hash::empty_root)
    }
}

/// A whole tree in memory: every complete subtree hash, by level. Used by the offline verifier,
/// tests and benchmarks; stores use the same plans against their tables.
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
    frontier: Frontier,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        for (id, h) in self.frontier.push(leaf) {
            let level = id.level as usize;
            if self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            self.levels[level].push(h);
        }
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Hash of a stored complete subtree.
    pub fn node(&self, id: NodeId) -> Option<Hash> {
        self.levels
            .get(id.level as usize)?
            .get(usize::try_from(id.index).ok()?)
            .copied()
    }

    /// All hashes of one level (level 0 = leaf hashes).
    pub fn level(&self, level: u8) -> &[Hash] {
        self.levels.get(level as usize).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Carries out a plan against this tree.
    pub fn run(&self, plan: &ProofPlan) -> Option<Vec<Hash>> {
        plan.elements
            .iter()
            .map(|ids| {
                let hashes: Option<Vec<Hash>> = ids.iter().map(|id| self.node(*id)).collect();
                fold_right(&hashes?)
            })
            .collect()
    }

    /// Root of the tree of the first `size` leaves.
    pub fn root_at(&self, size: u64) -> Option<Hash> {
        if size == 0 {
            return Some(crate::hash::empty_root());
        }
        if size > self.size() {
            return None;
        }
        self.run(&ProofPlan::root(size))?.pop()
    }

    /// Inclusion proof of `index` in the tree of `size` leaves.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        if index >= size || size > self.size() {
            return None;
        }
        self.run(&ProofPlan::inclusion(index, size))
    }

    /// Consistency proof from `size1` to `size2`.
    pub fn consistency_proof(&self, size1: u64, size2: u64) -> Option<Vec<Hash>> {
        if size1 > size2 || size2 > self.size() {
            return None;
        }
        self.run(&ProofPlan::consistency(size1, size2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    /// Direct transcription of RFC 9162 §2.1.1 MTH, the reference for everything else.
    pub(crate) fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => crate::hash::empty_root(),
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(8), 4);
        assert_eq!(split_point(9), 8);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn frontier_root_matches_reference_for_every_size() {
        let all = leaves(70);
        let mut f = Frontier::new();
        assert_eq!(f.root(), mth(&[]));
        for (i, l) in all.iter().enumerate() {
            f.push(*l);
            assert_eq!(f.root(), mth(&all[..=i]), "size {}", i + 1);
            let bytes = f.to_bytes();
            assert_eq!(Frontier::from_bytes(f.size(), &bytes), Some(f.clone()));
        }
    }

    #[test]
    fn pushing_subtrees_equals_pushing_their_leaves() {
        let all = leaves(64);
        // Mixed pushes: 4 leaves one by one, then subtrees of 4, 8, 16, 32 (all aligned).
        let mut f = Frontier::new();
        let mut by_leaf = Frontier::new();
        let mut created = Vec::new();
        let mut expected = Vec::new();
        for l in &all[..4] {
            f.push(*l);
        }
        for l in &all {
            let made = by_leaf.push(*l);
            if by_leaf.size() > 4 {
                expected.extend(made.into_iter().filter(|(id, _)| id.level >= 2));
            }
        }
        let mut at = 4usize;
        for level in [2u8, 3, 4, 5] {
            let span = 1usize << level;
            let made = f.push_subtree(level, mth(&all[at..at + span])).expect("aligned");
            created.extend(made);
            at += span;
            assert_eq!(f.root(), mth(&all[..at]), "size {at}");
        }
        assert_eq!(f, by_leaf);
        // The same created nodes (level >= 2) as leaf-by-leaf pushes report, minus the inner
        // nodes of the pushed subtrees themselves.
        for node in &created {
            assert!(expected.contains(node), "{node:?}");
        }
        // Misaligned pushes change nothing.
        let mut g = Frontier::new();
        g.push(all[0]);
        assert!(g.push_subtree(1, all[1]).is_none());
        assert_eq!(g.size(), 1);
        assert!(g.push_subtree(64, all[1]).is_none());
    }

    #[test]
    fn frontier_rejects_inconsistent_parts() {
        assert!(Frontier::from_bytes(3, &[0u8; 32]).is_none());
        assert!(Frontier::from_bytes(1, &[0u8; 31]).is_none());
    }

    #[test]
    fn memory_tree_roots_at_every_size() {
        let all = leaves(40);
        let mut t = MemoryTree::new();
        all.iter().for_each(|l| t.push(*l));
        for s in 0..=40u64 {
            assert_eq!(t.root_at(s), Some(mth(&all[..s as usize])), "size {s}");
        }
        assert_eq!(t.root_at(41), None);
    }

    #[test]
    fn decompose_covers_range_exactly() {
        for begin_pow in 0..5u32 {
            for end in 1..40u64 {
                let begin = 0u64;
                let ids = decompose(begin, end);
                let mut cursor = begin;
                for id in &ids {
                    assert_eq!(id.begin(), cursor);
                    cursor = id.end();
                }
                assert_eq!(cursor, end, "pow {begin_pow}");
            }
        }
    }
}
