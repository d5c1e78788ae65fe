//! Portable log export and its offline verifier.
//!
//! Layout (C2SP tlog-tiles, plus a `ward/` folder of Ward extensions):
//!
//! ```text
//! checkpoint                       latest signed checkpoint (C2SP signed note)
//! tile/<L>/<N>[.p/<W>]             hash tiles, height 8
//! tile/entries/<N>[.p/<W>]         entry bundles (uint16 length ‖ canonical JSON envelope)
//! ward/export.json                 manifest: format, origin, size, checkpoint sizes
//! ward/checkpoints/<size>          every signed checkpoint of the log, oldest first
//! ward/consistency/<a>-<b>         RFC 9162 consistency proof between successive checkpoints
//! ward/blobs/sha256-<hex>          out-of-line payloads referenced by entries
//! ward/documents/sha256-<hex>      text documents referenced by entries (`doc:sha256:<hex>`),
//!                                  except those a `document.purged` entry deleted
//! ```
//!
//! The verifier trusts nothing in the directory but what the verifier key signs: it takes size
//! and root only from verified checkpoints, recomputes every leaf hash and every root, compares
//! the tiles with what it computed, and names the first entry that does not match.

use crate::checkpoint::Checkpoint;
use crate::envelope::{LeafHeader, MAX_PAYLOAD};
use crate::hash::{Hash, leaf_hash, node_hash, sha256};
use crate::note::NoteVerifier;
use crate::proof::verify_consistency;
use crate::tiles::{TILE_WIDTH, TileId, decode_bundle, encode_bundle, tiles_for_size};
use crate::tree::Frontier;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Format identifier written in `ward/export.json`.
pub const EXPORT_FORMAT: &str = "ward-export/1";
const MAX_SMALL_FILE: u64 = 1 << 20;

/// The manifest `ward/export.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// Log origin (also the checkpoint key name).
    pub origin: String,
    /// Number of entries exported.
    pub size: u64,
    /// Sizes of the checkpoints in `ward/checkpoints/`, ascending.
    pub checkpoints: Vec<u64>,
}

/// A consistency proof file `ward/consistency/<a>-<b>`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ConsistencyFile {
    /// Older size.
    pub from: u64,
    /// Newer size.
    pub to: u64,
    /// Proof hashes, hex.
    pub proof: Vec<String>,
}

/// Errors writing an export.
#[derive(Debug, Error)]
pub enum ExportError {
    /// File system failure.
    #[error("{path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The destination already exists and is not empty.
    #[error("{0} already exists; choose a new directory")]
    Exists(PathBuf),
    /// The data handed to the writer is inconsistent.
    #[error("{0}")]
    Invalid(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes an export into a temporary sibling directory and renames it into place on success,
/// so a failed export leaves nothing behind.
pub struct ExportWriter {
    tmp: PathBuf,
    dest: PathBuf,
    frontier: Frontier,
    bundle: Vec<Vec<u8>>,
    levels: Vec<Vec<Hash>>,
    tiles_written: Vec<u64>,
}

impl ExportWriter {
    /// Starts an export to `dest`, which must not exist (or be an empty directory).
    pub fn create(dest: &Path) -> Result<ExportWriter, ExportError> {
        if dest.exists() {
            let empty = fs::read_dir(dest).map_err(io_err(dest))?.next().is_none();
            if !empty {
                return Err(ExportError::Exists(dest.to_path_buf()));
            }
            fs::remove_dir(dest).map_err(io_err(dest))?;
        }
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".into());
        let parent = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(io_err(parent))?;
        let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
        }
        fs::create_dir_all(tmp.join("ward/checkpoints")).map_err(io_err(&tmp))?;
        fs::create_dir_all(tmp.join("ward/consistency")).map_err(io_err(&tmp))?;
        fs::create_dir_all(tmp.join("ward/blobs")).map_err(io_err(&tmp))?;
        fs::create_dir_all(tmp.join("ward/documents")).map_err(io_err(&tmp))?;
        Ok(ExportWriter {
            tmp,
            dest: dest.to_path_buf(),
            frontier: Frontier::new(),
            bundle: Vec::new(),
            levels: Vec::new(),
            tiles_written: Vec::new(),
        })
    }

    fn write(&self, rel: &str, data: &[u8]) -> Result<(), ExportError> {
        let path = self.tmp.join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(io_err(dir))?;
        }
        fs::write(&path, data).map_err(io_err(&path))
    }

    /// Adds the next entry: its leaf bytes and the leaf hash the log has stored for it.
    pub fn push(&mut self, leaf: &[u8], stored_leaf_hash: Hash) -> Result<(), ExportError> {
        for (id, h) in self.frontier.push(stored_leaf_hash) {
            if id.level % 8 == 0 {
                let tl = usize::from(id.level / 8);
                if self.levels.len() <= tl {
                    self.levels.push(Vec::new());
                    self.tiles_written.push(0);
                }
                self.levels[tl].push(h);
                if self.levels[tl].len() as u64 == TILE_WIDTH {
                    let tile = TileId {
                        level: tl as u8,
                        index: self.tiles_written[tl],
                        width: TILE_WIDTH,
                    };
                    let data: Vec<u8> = self.levels[tl].iter().flat_map(|h| h.0).collect();
                    self.write(&tile.hash_path(), &data)?;
                    self.levels[tl].clear();
                    self.tiles_written[tl] += 1;
                }
            }
        }
        self.bundle.push(leaf.to_vec());
        if self.bundle.len() as u64 == TILE_WIDTH {
            self.flush_bundle()?;
        }
        Ok(())
    }

    fn flush_bundle(&mut self) -> Result<(), ExportError> {
        if self.bundle.is_empty() {
            return Ok(());
        }
        let width = self.bundle.len() as u64;
        let index = (self.frontier.size() - width) / TILE_WIDTH;
        let tile = TileId { level: 0, index, width };
        let data =
            encode_bundle(self.bundle.iter().map(Vec::as_slice)).map_err(|e| ExportError::Invalid(e.to_string()))?;
        self.write(&tile.entries_path(), &data)?;
        self.bundle.clear();
        Ok(())
    }

    /// Adds an out-of-line payload.
    pub fn add_blob(&self, digest: &str, data: &[u8]) -> Result<(), ExportError> {
        self.write(&blob_path(digest), data)
    }

    /// Writes a text document referenced by an entry (see [`crate::documents`]).
    pub fn add_document(&self, digest: &str, data: &[u8]) -> Result<(), ExportError> {
        if !crate::documents::is_digest(digest) {
            return Err(ExportError::Invalid("a document digest is malformed".into()));
        }
        self.write(&document_path(digest), data)
    }

    /// Number of entries pushed so far.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// Writes checkpoints, proofs and manifest, then moves the export into place.
    /// `checkpoints` are `(size, signed note)` ascending, the last one at the exported size;
    /// `proofs` are the consistency proofs between successive checkpoints.
    pub fn finish(
        mut self,
        origin: &str,
        checkpoints: &[(u64, String)],
        proofs: &[ConsistencyFile],
    ) -> Result<Manifest, ExportError> {
        self.flush_bundle()?;
        for (tl, hashes) in self.levels.iter().enumerate() {
            if !hashes.is_empty() {
                let tile = TileId {
                    level: tl as u8,
                    index: self.tiles_written[tl],
                    width: hashes.len() as u64,
                };
                let data: Vec<u8> = hashes.iter().flat_map(|h| h.0).collect();
                self.write(&tile.hash_path(), &data)?;
            }
        }
        let (last_size, last_note) = checkpoints
            .last()
            .ok_or_else(|| ExportError::Invalid("an export needs at least one checkpoint".into()))?;
        if *last_size != self.frontier.size() {
            return Err(ExportError::Invalid(format!(
                "latest checkpoint is at size {last_size} but {} entries were exported",
                self.frontier.size()
            )));
        }
        self.write("checkpoint", last_note.as_bytes())?;
        for (size, note) in checkpoints {
            self.write(&format!("ward/checkpoints/{size}"), note.as_bytes())?;
        }
        for p in proofs {
            let json = serde_json::to_vec_pretty(p).map_err(|e| ExportError::Invalid(e.to_string()))?;
            self.write(&format!("ward/consistency/{}-{}", p.from, p.to), &json)?;
        }
        let manifest = Manifest {
            format: EXPORT_FORMAT.into(),
            origin: origin.into(),
            size: self.frontier.size(),
            checkpoints: checkpoints.iter().map(|(s, _)| *s).collect(),
        };
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| ExportError::Invalid(e.to_string()))?;
        self.write("ward/export.json", &json)?;
        fs::rename(&self.tmp, &self.dest).map_err(io_err(&self.dest))?;
        Ok(manifest)
    }
}

impl Drop for ExportWriter {
    fn drop(&mut self) {
        // Only a finished export is renamed; anything else is removed.
        if self.tmp.exists() {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

/// `(size, signed note)` checkpoints and the consistency proofs between successive ones.
pub type SignedHistory = (Vec<(u64, String)>, Vec<ConsistencyFile>);

/// Signed checkpoints at `sizes` (ascending) of an in-memory tree, and the consistency proofs
/// between successive ones: what [`ExportWriter::finish`] takes. For tests, benches and tools
/// that build a log in memory.
pub fn checkpoints_from_tree(
    tree: &crate::tree::MemoryTree,
    sizes: &[u64],
    signer: &dyn crate::note::NoteSigner,
    origin: &str,
) -> Result<SignedHistory, ExportError> {
    let bad = |what: String| ExportError::Invalid(what);
    let mut notes = Vec::with_capacity(sizes.len());
    for &size in sizes {
        let root = tree
            .root_at(size)
            .ok_or_else(|| bad(format!("no tree of size {size}")))?;
        let cp = Checkpoint {
            origin: origin.into(),
            size,
            root,
            extensions: vec![],
        };
        notes.push((size, cp.sign(signer).map_err(|e| bad(e.to_string()))?));
    }
    let mut proofs = Vec::new();
    for pair in sizes.windows(2) {
        let proof = tree
            .consistency_proof(pair[0], pair[1])
            .ok_or_else(|| bad(format!("no consistency proof {} -> {}", pair[0], pair[1])))?;
        proofs.push(ConsistencyFile {
            from: pair[0],
            to: pair[1],
            proof: proof.iter().map(Hash::to_hex).collect(),
        });
    }
    Ok((notes, proofs))
}

fn blob_path(digest: &str) -> String {
    format!("ward/blobs/{}", digest.replace(':', "-"))
}

fn document_path(digest: &str) -> String {
    format!("ward/documents/{}", digest.replace(':', "-"))
}

/// A document an entry references that the export does not carry because a later
/// `document.purged` entry deleted it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PurgedDocument {
    /// `sha256:<hex>` of the document.
    pub digest: String,
    /// The `document.purged` entry.
    pub purged_by: u64,
}

/// What a successful verification established.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct VerifyReport {
    /// Log origin.
    pub origin: String,
    /// Entries verified.
    pub size: u64,
    /// Root hash (hex) of the latest checkpoint, recomputed.
    pub root: String,
    /// Checkpoints whose signatures and roots were verified.
    pub checkpoints: usize,
    /// Consistency proofs verified.
    pub consistency_proofs: usize,
    /// Out-of-line payloads verified.
    pub blobs: usize,
    /// Text documents verified against their digests.
    pub documents: usize,
    /// Referenced documents absent because a `document.purged` entry deleted them.
    pub purged: Vec<PurgedDocument>,
}

/// Why an export failed verification.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum VerifyError {
    /// A specific entry is wrong; `index` is the first bad one.
    #[error("entry {index}: {reason}")]
    BadEntry {
        /// Leaf index of the first bad entry.
        index: u64,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint is missing, unsigned, forged or does not match the entries.
    #[error("checkpoint: {0}")]
    BadCheckpoint(String),
    /// Tiles or other structure are wrong.
    #[error("{0}")]
    Structure(String),
}

fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, VerifyError> {
    let meta = fs::metadata(path).map_err(|e| VerifyError::Structure(format!("{}: {e}", path.display())))?;
    if meta.len() > limit {
        return Err(VerifyError::Structure(format!(
            "{}: larger than {limit} bytes",
            path.display()
        )));
    }
    fs::read(path).map_err(|e| VerifyError::Structure(format!("{}: {e}", path.display())))
}

fn bad_cp(msg: impl Into<String>) -> VerifyError {
    VerifyError::BadCheckpoint(msg.into())
}

/// Verifies an export directory offline against a verifier key. The log's origin is the key's
/// name. Returns the first problem found, naming the entry index where one is to blame.
pub fn verify_export(dir: &Path, verifier: &dyn NoteVerifier) -> Result<VerifyReport, VerifyError> {
    let origin = verifier.name().to_string();
    let latest_bytes = read_limited(&dir.join("checkpoint"), MAX_SMALL_FILE)?;
    let latest = Checkpoint::open(&latest_bytes, &origin, verifier).map_err(|e| bad_cp(format!("latest: {e}")))?;

    // Every historical checkpoint: signature first, size and root only from verified ones.
    let mut history: Vec<Checkpoint> = Vec::new();
    let cp_dir = dir.join("ward/checkpoints");
    if cp_dir.exists() {
        let mut names: Vec<u64> = Vec::new();
        for e in fs::read_dir(&cp_dir).map_err(|e| VerifyError::Structure(format!("{}: {e}", cp_dir.display())))? {
            let e = e.map_err(|e| VerifyError::Structure(e.to_string()))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let size = name
                .parse::<u64>()
                .map_err(|_| VerifyError::Structure(format!("unexpected file ward/checkpoints/{name}")))?;
            names.push(size);
        }
        names.sort_unstable();
        for size in names {
            let bytes = read_limited(&cp_dir.join(size.to_string()), MAX_SMALL_FILE)?;
            let cp = Checkpoint::open(&bytes, &origin, verifier)
                .map_err(|e| bad_cp(format!("ward/checkpoints/{size}: {e}")))?;
            if cp.size != size {
                return Err(bad_cp(format!("ward/checkpoints/{size} signs size {}", cp.size)));
            }
            history.push(cp);
        }
    }
    match history.last() {
        Some(last) if last.size > latest.size => {
            return Err(bad_cp("a historical checkpoint is newer than the latest"));
        }
        Some(last) if last.size == latest.size && last.root != latest.root => {
            return Err(bad_cp(format!(
                "two signed checkpoints at size {} disagree on the root (fork)",
                latest.size
            )));
        }
        Some(last) if last.size == latest.size => {}
        _ => history.push(latest.clone()),
    }

    // Consistency proofs between successive checkpoints, against the signed roots.
    let mut proofs = 0usize;
    for pair in history.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        let path = dir.join(format!("ward/consistency/{}-{}", a.size, b.size));
        if !path.exists() {
            return Err(bad_cp(format!("missing consistency proof {} -> {}", a.size, b.size)));
        }
        let file: ConsistencyFile = serde_json::from_slice(&read_limited(&path, MAX_SMALL_FILE)?)
            .map_err(|e| VerifyError::Structure(format!("{}: {e}", path.display())))?;
        let hashes: Option<Vec<Hash>> = file.proof.iter().map(|h| Hash::from_hex(h)).collect();
        let hashes = hashes.ok_or_else(|| VerifyError::Structure(format!("{}: bad hash", path.display())))?;
        verify_consistency(a.size, b.size, &hashes, &a.root, &b.root)
            .map_err(|e| bad_cp(format!("checkpoints {} and {} are not consistent: {e}", a.size, b.size)))?;
        proofs += 1;
    }

    // Recompute every leaf, compare with tiles, and check every signed root on the way.
    let tiles = tiles_for_size(latest.size);
    let tile_data = |t: &TileId| -> Result<Vec<u8>, VerifyError> {
        let data = read_limited(&dir.join(t.hash_path()), TILE_WIDTH * 32)?;
        if data.len() as u64 != t.width * 32 {
            return Err(VerifyError::Structure(format!("{}: wrong length", t.hash_path())));
        }
        Ok(data)
    };
    let mut frontier = Frontier::new();
    let mut pending_cp = history.iter().peekable();
    while pending_cp.peek().is_some_and(|c| c.size == 0) {
        let cp = pending_cp.next().expect("peeked");
        if cp.root != crate::hash::empty_root() {
            return Err(bad_cp("checkpoint at size 0 has a non-empty root"));
        }
    }
    let mut upper: Vec<Vec<Hash>> = Vec::new();
    let mut blobs = 0usize;
    let mut doc_refs: Vec<(u64, String)> = Vec::new();
    let mut purges: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    // Entries are checked in parallel, tile by tile; the tree is then grown in order.
    let level0: Vec<TileId> = tiles.iter().filter(|t| t.level == 0).copied().collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    for window in level0.chunks(threads * 64) {
        for result in parallel_map(window, threads, |t| check_entry_tile(dir, t)) {
            let checked = result?;
            blobs += checked.blobs;
            doc_refs.extend(checked.doc_refs);
            for (index, digest) in checked.purges {
                purges.entry(digest).or_insert(index);
            }
            let end = frontier.size() + checked.leaves.len() as u64;
            // A whole tile joins the tree as one subtree, unless a checkpoint falls inside it.
            let whole = checked
                .root
                .filter(|_| pending_cp.peek().is_none_or(|cp| cp.size >= end))
                .map(|root| vec![root]);
            let (level, hashes) = match &whole {
                Some(root) => (8u8, root.as_slice()),
                None => (0u8, checked.leaves.as_slice()),
            };
            for h in hashes {
                let created = frontier
                    .push_subtree(level, *h)
                    .expect("tiles start at multiples of 256 leaves");
                for (id, nh) in created {
                    if id.level % 8 == 0 && id.level > 0 {
                        let tl = usize::from(id.level / 8);
                        while upper.len() < tl {
                            upper.push(Vec::new());
                        }
                        upper[tl - 1].push(nh);
                    }
                }
                while let Some(cp) = pending_cp.peek() {
                    if cp.size != frontier.size() {
                        break;
                    }
                    if frontier.root() != cp.root {
                        let from = history.iter().rev().find(|c| c.size < cp.size).map_or(0, |c| c.size);
                        return Err(VerifyError::BadEntry {
                            index: from,
                            reason: format!(
                                "entries {from}..{} do not hash to the root signed at size {} (an entry in that range and its tile hash were altered together)",
                                cp.size, cp.size
                            ),
                        });
                    }
                    pending_cp.next();
                }
            }
        }
    }
    if frontier.size() != latest.size {
        return Err(VerifyError::Structure(format!(
            "found {} entries, checkpoint says {}",
            frontier.size(),
            latest.size
        )));
    }
    // Higher tiles must hold exactly the subtree hashes recomputed from the entries.
    for tile in tiles.iter().filter(|t| t.level > 0) {
        let data = tile_data(tile)?;
        let computed = &upper[usize::from(tile.level) - 1];
        for i in 0..tile.width as usize {
            let pos = (tile.index * TILE_WIDTH) as usize + i;
            if computed.get(pos).map(|h| &h.0[..]) != Some(&data[i * 32..i * 32 + 32]) {
                let first = (pos as u64) << (8 * u32::from(tile.level));
                return Err(VerifyError::Structure(format!(
                    "{} slot {i} (entries from {first}) differs from the recomputed subtree hash",
                    tile.hash_path()
                )));
            }
        }
    }
    let (documents, purged) = check_documents(dir, &doc_refs, &purges)?;
    Ok(VerifyReport {
        origin,
        size: latest.size,
        root: frontier.root().to_hex(),
        checkpoints: history.len(),
        consistency_proofs: proofs,
        blobs,
        documents,
        purged,
    })
}

/// Every document an entry references is in `ward/documents/` and matches its name, or a
/// `document.purged` entry deleted it. Returns the documents checked and the purged ones.
fn check_documents(
    dir: &Path,
    refs: &[(u64, String)],
    purges: &std::collections::HashMap<String, u64>,
) -> Result<(usize, Vec<PurgedDocument>), VerifyError> {
    let mut seen = std::collections::HashSet::new();
    let mut checked = 0usize;
    let mut purged = Vec::new();
    for (index, digest) in refs {
        if !seen.insert(digest.as_str()) {
            continue;
        }
        let bad = |reason: String| VerifyError::BadEntry { index: *index, reason };
        let path = dir.join(document_path(digest));
        if path.exists() {
            let data = read_limited(&path, crate::documents::MAX_DOCUMENT as u64)
                .map_err(|e| bad(format!("document: {e}")))?;
            if crate::documents::digest_of(&data) != *digest {
                return Err(bad(format!("document {digest} altered")));
            }
            checked += 1;
        } else if let Some(by) = purges.get(digest) {
            purged.push(PurgedDocument {
                digest: digest.clone(),
                purged_by: *by,
            });
        } else {
            return Err(bad(format!(
                "document {digest} is missing and no document.purged entry explains it"
            )));
        }
    }
    Ok((checked, purged))
}

/// Leaf hashes of one entry bundle, after every entry in it was checked.
struct CheckedTile {
    leaves: Vec<Hash>,
    /// Hash of the complete 256-leaf subtree, for a full tile.
    root: Option<Hash>,
    blobs: usize,
    /// `(entry, digest)` of every document reference, in order.
    doc_refs: Vec<(u64, String)>,
    /// `(entry, digest)` of every `document.purged` entry.
    purges: Vec<(u64, String)>,
}

/// Root of a complete subtree whose leaf count is a power of two.
fn perfect_root(leaves: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = leaves.to_vec();
    while level.len() > 1 {
        level = level.chunks_exact(2).map(|p| node_hash(&p[0], &p[1])).collect();
    }
    level[0]
}

/// Checks one entry bundle against its level-0 hash tile: framing, canonical envelope, position,
/// leaf hash, and out-of-line payloads. Names the first bad entry.
fn check_entry_tile(dir: &Path, tile: &TileId) -> Result<CheckedTile, VerifyError> {
    let hashes = read_limited(&dir.join(tile.hash_path()), TILE_WIDTH * 32)?;
    if hashes.len() as u64 != tile.width * 32 {
        return Err(VerifyError::Structure(format!("{}: wrong length", tile.hash_path())));
    }
    let bundle = read_limited(&dir.join(tile.entries_path()), TILE_WIDTH * 65_537)?;
    let first = tile.index * TILE_WIDTH;
    let entries = decode_bundle(&bundle, tile.width as usize).map_err(|e| VerifyError::BadEntry {
        index: first,
        reason: format!("{}: {e}", tile.entries_path()),
    })?;
    let mut out = CheckedTile {
        leaves: Vec::with_capacity(entries.len()),
        root: None,
        blobs: 0,
        doc_refs: Vec::new(),
        purges: Vec::new(),
    };
    for (i, leaf) in entries.iter().enumerate() {
        let index = first + i as u64;
        let bad = |reason: String| VerifyError::BadEntry { index, reason };
        let env = LeafHeader::from_leaf(leaf).map_err(|e| bad(e.to_string()))?;
        if env.seq != index {
            return Err(bad(format!("envelope says seq {} at position {index}", env.seq)));
        }
        let h = leaf_hash(leaf);
        if hashes[i * 32..i * 32 + 32] != h.0 {
            return Err(bad("leaf hash differs from tile/0 (entry or tile altered)".into()));
        }
        if let Some((digest, size)) = &env.payload_digest {
            let data = read_limited(&dir.join(blob_path(digest)), MAX_PAYLOAD as u64)
                .map_err(|e| bad(format!("payload: {e}")))?;
            if data.len() as u64 != *size || format!("sha256:{}", sha256(&data).to_hex()) != *digest {
                return Err(bad(format!("payload {digest} altered")));
            }
            out.blobs += 1;
            let (refs, _) = crate::documents::scan(&data);
            out.doc_refs.extend(refs.into_iter().map(|d| (index, d)));
        }
        let (refs, purge) = crate::documents::scan(leaf);
        out.doc_refs.extend(refs.into_iter().map(|d| (index, d)));
        if let Some(p) = purge.filter(|p| p.document) {
            out.purges.push((index, p.digest));
        }
        out.leaves.push(h);
    }
    if tile.width == TILE_WIDTH {
        out.root = Some(perfect_root(&out.leaves));
    }
    Ok(out)
}

/// Maps `f` over `items` on up to `threads` scoped threads, keeping the order of results.
fn parallel_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if threads <= 1 || items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    let per = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|part| s.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Actor, ActorKind, NewEvent};
    use crate::note::Ed25519Signer;
    use crate::tree::MemoryTree;

    fn write_export(dir: &Path, n: u64, cps: &[u64]) -> Ed25519Signer {
        let signer = Ed25519Signer::from_seed("test.example/log", [5u8; 32]);
        let mut tree = MemoryTree::new();
        let mut w = ExportWriter::create(dir).unwrap();
        for i in 0..n {
            let payload = if i == 3 {
                serde_json::json!("p".repeat(9000))
            } else {
                serde_json::json!({ "i": i })
            };
            let sealed = NewEvent {
                actor: Actor {
                    id: "ci:test".into(),
                    kind: ActorKind::Automation,
                },
                kind: "test.event".into(),
                subject: format!("s:{i}"),
                payload,
            }
            .seal(i, jiff::Timestamp::UNIX_EPOCH)
            .unwrap();
            if let Some((d, b)) = &sealed.blob {
                w.add_blob(d, b).unwrap();
            }
            let h = leaf_hash(&sealed.leaf);
            tree.push(h);
            w.push(&sealed.leaf, h).unwrap();
        }
        let (notes, proofs) = checkpoints_from_tree(&tree, cps, &signer, "test.example/log").unwrap();
        w.finish("test.example/log", &notes, &proofs).unwrap();
        signer
    }

    #[test]
    fn good_export_verifies() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("exp");
        let s = write_export(&dir, 600, &[0, 10, 256, 600]);
        let r = verify_export(&dir, &s.verifier()).unwrap();
        assert_eq!(r.size, 600);
        assert_eq!(r.checkpoints, 4);
        assert_eq!(r.consistency_proofs, 3);
        assert_eq!(r.blobs, 1);
        assert!(dir.join("tile/1/000.p/2").exists());
        assert!(dir.join("tile/entries/002.p/88").exists());
    }

    #[test]
    fn checkpoints_inside_and_between_whole_tiles_verify() {
        // Whole tiles join the tree as subtrees; checkpoints inside a tile force leaf steps.
        for (n, cps) in [
            (1100u64, vec![300u64, 700, 1024, 1100]),
            (1024, vec![1, 255, 256, 257, 1024]),
            (513, vec![512, 513]),
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path().join("exp");
            let s = write_export(&dir, n, &cps);
            let r = verify_export(&dir, &s.verifier()).unwrap_or_else(|e| panic!("{n} {cps:?}: {e}"));
            assert_eq!(r.size, n);
            assert_eq!(r.checkpoints, cps.len());
        }
    }

    #[test]
    fn flipped_entry_byte_names_the_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("exp");
        let s = write_export(&dir, 300, &[300]);
        let path = dir.join("tile/entries/001.p/44");
        let mut data = fs::read(&path).unwrap();
        // Entry 256 + 5: walk the length prefixes to find its first byte, flip a payload byte.
        let mut off = 0usize;
        for _ in 0..5 {
            off += 2 + usize::from(u16::from_be_bytes([data[off], data[off + 1]]));
        }
        let len = usize::from(u16::from_be_bytes([data[off], data[off + 1]]));
        data[off + 2 + len / 2] ^= 0x01;
        fs::write(&path, data).unwrap();
        match verify_export(&dir, &s.verifier()) {
            Err(VerifyError::BadEntry { index, .. }) => assert_eq!(index, 261),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn wrong_key_and_forged_checkpoint_fail() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("exp");
        write_export(&dir, 5, &[5]);
        let other = Ed25519Signer::from_seed("test.example/log", [6u8; 32]);
        assert!(matches!(
            verify_export(&dir, &other.verifier()),
            Err(VerifyError::BadCheckpoint(_))
        ));
    }

    #[test]
    fn refuses_non_empty_destination() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("x"), b"x").unwrap();
        assert!(matches!(ExportWriter::create(tmp.path()), Err(ExportError::Exists(_))));
    }
}
