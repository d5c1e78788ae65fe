//! Artifacts by digest: an executable, or a tar archive holding `service` (or `bin/service`),
//! installed under `<root>/artifacts/<hex>/` once its sha256 matches the digest it is deployed as.
//!
//! Installation is atomic: the source is copied into a private file while it is hashed (so the
//! bytes installed are the bytes hashed, even if the source changes meanwhile), unpacked into a
//! temporary directory, and that directory is renamed into place, so a crash never leaves a
//! half-installed artifact behind.
//!
//! Nothing an artifact holds may reach outside it ([`Layout`], pure, judges every archive
//! entry before it is written):
//! - entry paths are relative and have no `..` component; no entry is written beneath a symlink
//!   or a file, and no path is given twice (except a directory);
//! - only directories, regular files, symlinks and hard links are accepted (no devices, FIFOs,
//!   sparse files or unknown types);
//! - a symlink's target is relative and, resolved through the archive's own symlinks (chains
//!   included, at most [`MAX_LINK_HOPS`] hops), stays inside the artifact; a hard link names a
//!   regular file the archive already holds;
//! - installed directories are owner-only (`0700`); files keep at most `0755` (no
//!   setuid/setgid/sticky bits, no group or world write);
//! - the entry point, resolved on disk, is a regular file inside the artifact — checked again
//!   each time an installed artifact is used, so an installation made before these rules is
//!   refused rather than run.

use crate::RuntimeError;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Largest artifact accepted.
pub const MAX_ARTIFACT: u64 = 1024 * 1024 * 1024;
/// Most entries an archive may hold.
pub const MAX_ENTRIES: usize = 100_000;
/// Most symlinks followed while resolving one symlink (Linux's own limit).
pub const MAX_LINK_HOPS: u32 = 40;
/// Longest entry path or link target, in bytes (`PATH_MAX`).
pub const MAX_PATH: usize = 4096;
/// Path components stepped through while resolving all of an archive's symlinks.
const RESOLVE_BUDGET: u64 = 10_000_000;
/// Mode bits an installed file may keep: no setuid/setgid/sticky, no group or world write.
pub const FILE_MODE_MASK: u32 = 0o755;
/// Mode of every installed directory.
pub const DIR_MODE: u32 = 0o700;
const MARKER: &str = ".ward-installed";

/// An installed artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// Its directory (the working directory of its instances).
    pub dir: PathBuf,
    /// The program to run.
    pub program: PathBuf,
}

/// Why an artifact was refused as unsafe to install.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnsafeKind {
    /// An entry path is absolute.
    AbsolutePath,
    /// An entry path has a `..` component.
    ParentComponent,
    /// A device, FIFO, sparse file or unknown entry type.
    EntryType,
    /// The same path is given twice (other than a directory), or the artifact directory itself
    /// is given as a file.
    Duplicate,
    /// An entry would be written beneath a symlink or a file.
    BeneathNonDirectory,
    /// A symlink with an absolute (or empty) target.
    LinkAbsolute,
    /// A symlink whose resolved target leaves the artifact.
    LinkEscapes,
    /// A symlink chain longer than [`MAX_LINK_HOPS`] (a loop).
    LinkLoop,
    /// A hard link that does not name a regular file already in the archive.
    HardlinkTarget,
    /// The entry point resolves outside the artifact (or is not a regular file inside it).
    EntryPointEscapes,
    /// More than [`MAX_ENTRIES`] entries, a path longer than [`MAX_PATH`], or links too costly
    /// to resolve.
    TooComplex,
}

impl UnsafeKind {
    /// A stable code for the refusal.
    pub fn code(self) -> &'static str {
        match self {
            UnsafeKind::AbsolutePath => "absolute_path",
            UnsafeKind::ParentComponent => "parent_component",
            UnsafeKind::EntryType => "entry_type",
            UnsafeKind::Duplicate => "duplicate_entry",
            UnsafeKind::BeneathNonDirectory => "beneath_non_directory",
            UnsafeKind::LinkAbsolute => "link_absolute",
            UnsafeKind::LinkEscapes => "link_escapes",
            UnsafeKind::LinkLoop => "link_loop",
            UnsafeKind::HardlinkTarget => "hardlink_target",
            UnsafeKind::EntryPointEscapes => "entry_point_escapes",
            UnsafeKind::TooComplex => "too_complex",
        }
    }

    fn what(self) -> &'static str {
        match self {
            UnsafeKind::AbsolutePath => "has an absolute path",
            UnsafeKind::ParentComponent => "has a `..` component",
            UnsafeKind::EntryType => "is a device, FIFO, sparse file or unknown type",
            UnsafeKind::Duplicate => "is given twice",
            UnsafeKind::BeneathNonDirectory => "would be written beneath a symlink or a file",
            UnsafeKind::LinkAbsolute => "is a symlink with an absolute or empty target",
            UnsafeKind::LinkEscapes => "is a link whose target leaves the artifact",
            UnsafeKind::LinkLoop => "is a symlink chain that does not end (a loop)",
            UnsafeKind::HardlinkTarget => "is a hard link that does not name a regular file earlier in the archive",
            UnsafeKind::EntryPointEscapes => "is an entry point that resolves outside the artifact",
            UnsafeKind::TooComplex => "exceeds the archive limits (entries, path length or link resolution)",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            UnsafeKind::AbsolutePath | UnsafeKind::ParentComponent => {
                "build the archive from inside its directory (tar -C DIR -cf app.tar .)"
            }
            UnsafeKind::EntryType => "package only directories, regular files and links",
            UnsafeKind::Duplicate | UnsafeKind::BeneathNonDirectory => {
                "rebuild the archive so that each path appears once, under real directories"
            }
            UnsafeKind::LinkAbsolute
            | UnsafeKind::LinkEscapes
            | UnsafeKind::LinkLoop
            | UnsafeKind::HardlinkTarget
            | UnsafeKind::EntryPointEscapes => {
                "package the file itself, or link with a relative target inside the archive: \
                 everything that runs must be covered by the digest"
            }
            UnsafeKind::TooComplex => "simplify the archive",
        }
    }
}

/// An artifact refused as unsafe: which entry, and why (never what it points to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsafe {
    /// Why.
    pub kind: UnsafeKind,
    /// The entry's path in the archive.
    pub entry: String,
}

impl Unsafe {
    fn new(kind: UnsafeKind, entry: &Path) -> Unsafe {
        Unsafe {
            kind,
            entry: entry.display().to_string(),
        }
    }

    /// The refusal's stable code.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl fmt::Display for Unsafe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "entry {:?} {} ({}); {}",
            self.entry,
            self.kind.what(),
            self.kind.code(),
            self.kind.hint()
        )
    }
}

impl std::error::Error for Unsafe {}

impl From<Unsafe> for RuntimeError {
    fn from(u: Unsafe) -> RuntimeError {
        RuntimeError::Unsafe(u)
    }
}

/// What an archive entry is, as [`Layout::add`] judges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// A symlink to this target (relative to the symlink's directory).
    Symlink(PathBuf),
    /// A hard link to this path (relative to the archive's root).
    Hardlink(PathBuf),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Node {
    Dir,
    File,
    Symlink(PathBuf),
}

/// The tree an archive describes, built entry by entry before each is written (pure: no I/O).
#[derive(Debug, Default)]
pub struct Layout {
    nodes: BTreeMap<Vec<OsString>, Node>,
    entries: usize,
}

/// The components of an entry path, or why it is refused (absolute, `..`).
fn normalize(path: &Path) -> Result<Vec<OsString>, UnsafeKind> {
    if path.as_os_str().len() > MAX_PATH {
        return Err(UnsafeKind::TooComplex);
    }
    let mut out = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n.to_os_string()),
            Component::CurDir => {}
            Component::ParentDir => return Err(UnsafeKind::ParentComponent),
            Component::RootDir | Component::Prefix(_) => return Err(UnsafeKind::AbsolutePath),
        }
    }
    Ok(out)
}

impl Layout {
    /// Judges the next entry: `Ok(Some(components))` is where to write it, `Ok(None)` an entry
    /// naming the artifact directory itself (nothing to write).
    pub fn add(&mut self, path: &Path, kind: &EntryKind) -> Result<Option<Vec<OsString>>, Unsafe> {
        let refuse = |k| Unsafe::new(k, path);
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            return Err(refuse(UnsafeKind::TooComplex));
        }
        let comps = normalize(path).map_err(refuse)?;
        if comps.is_empty() {
            return match kind {
                EntryKind::Dir => Ok(None),
                _ => Err(refuse(UnsafeKind::Duplicate)),
            };
        }
        for i in 1..comps.len() {
            match self.nodes.get(&comps[..i]) {
                None => {
                    self.nodes.insert(comps[..i].to_vec(), Node::Dir);
                }
                Some(Node::Dir) => {}
                Some(_) => return Err(refuse(UnsafeKind::BeneathNonDirectory)),
            }
        }
        let node = match kind {
            EntryKind::Dir => Node::Dir,
            EntryKind::File => Node::File,
            EntryKind::Symlink(target) => {
                if target.as_os_str().len() > MAX_PATH {
                    return Err(refuse(UnsafeKind::TooComplex));
                }
                if target.as_os_str().is_empty() || target.has_root() {
                    return Err(refuse(UnsafeKind::LinkAbsolute));
                }
                Node::Symlink(target.clone())
            }
            EntryKind::Hardlink(target) => {
                let t = normalize(target).map_err(|_| refuse(UnsafeKind::HardlinkTarget))?;
                if self.nodes.get(&t) != Some(&Node::File) {
                    return Err(refuse(UnsafeKind::HardlinkTarget));
                }
                Node::File
            }
        };
        match (self.nodes.get(&comps), &node) {
            (None, _) => {
                self.nodes.insert(comps.clone(), node);
            }
            (Some(Node::Dir), Node::Dir) => {}
            (Some(_), _) => return Err(refuse(UnsafeKind::Duplicate)),
        }
        Ok(Some(comps))
    }

    /// Checks that every symlink, resolved through the archive's own symlinks, stays inside the
    /// artifact (a `..` above its root, an absolute target or a chain longer than
    /// [`MAX_LINK_HOPS`] is refused).
    pub fn check_links(&self) -> Result<(), Unsafe> {
        let mut budget = RESOLVE_BUDGET;
        for (path, node) in &self.nodes {
            if let Node::Symlink(target) = node {
                let mut hops = 0;
                self.resolve(&path[..path.len() - 1], target, &mut hops, &mut budget)
                    .map_err(|k| Unsafe::new(k, &path.iter().collect::<PathBuf>()))?;
            }
        }
        Ok(())
    }

    /// Where `target`, read from directory `from`, leads (as the kernel resolves it, following
    /// the archive's symlinks); `..` above the root escapes.
    fn resolve(
        &self,
        from: &[OsString],
        target: &Path,
        hops: &mut u32,
        budget: &mut u64,
    ) -> Result<Vec<OsString>, UnsafeKind> {
        let mut at = from.to_vec();
        for c in target.components() {
            *budget = budget.checked_sub(1).ok_or(UnsafeKind::TooComplex)?;
            match c {
                Component::CurDir => {}
                Component::ParentDir => {
                    at.pop().ok_or(UnsafeKind::LinkEscapes)?;
                }
                Component::RootDir | Component::Prefix(_) => return Err(UnsafeKind::LinkAbsolute),
                Component::Normal(n) => {
                    at.push(n.to_os_string());
                    if let Some(Node::Symlink(next)) = self.nodes.get(&at) {
                        *hops += 1;
                        if *hops > MAX_LINK_HOPS {
                            return Err(UnsafeKind::LinkLoop);
                        }
                        at.pop();
                        at = self.resolve(&at, next, hops, budget)?;
                    }
                }
            }
        }
        Ok(at)
    }
}

/// `sha256:<hex>` of a file, streaming.
pub fn file_digest(path: &Path) -> Result<String, RuntimeError> {
    copy_hashing(path, None)
}

/// Hashes `path` (at most [`MAX_ARTIFACT`] bytes), writing the same bytes to `copy` if given.
fn copy_hashing(path: &Path, mut copy: Option<&mut std::fs::File>) -> Result<String, RuntimeError> {
    let mut f = std::fs::File::open(path).map_err(RuntimeError::io(format!("open {}", path.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(RuntimeError::io(format!("read {}", path.display())))?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_ARTIFACT {
            return Err(RuntimeError::Artifact(format!(
                "{} is larger than {MAX_ARTIFACT} bytes",
                path.display()
            )));
        }
        h.update(&buf[..n]);
        if let Some(out) = copy.as_mut() {
            out.write_all(&buf[..n])
                .map_err(RuntimeError::io("copy the artifact"))?;
        }
    }
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

fn hex_of(digest: &str) -> Result<&str, RuntimeError> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .ok_or_else(|| RuntimeError::Artifact(format!("{digest:?} is not a sha256:<64 hex> digest")))
}

fn is_tar(path: &Path) -> bool {
    let mut head = [0u8; 262];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .map(|()| &head[257..262] == b"ustar")
        .unwrap_or(false)
}

fn private_dir_all(dir: &Path) -> Result<(), RuntimeError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(RuntimeError::io(format!("create {}", dir.display())))
}

fn chmod(p: &Path, mode: u32) -> Result<(), RuntimeError> {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .map_err(RuntimeError::io(format!("chmod {}", p.display())))
}

/// Installs `source` as `digest` under `root`, or returns the existing installation.
pub fn install(root: &Path, source: &Path, digest: &str) -> Result<Installed, RuntimeError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let hex = hex_of(digest)?;
    // Absolute: instances run with the artifact directory as their working directory.
    let root = &std::path::absolute(root).map_err(RuntimeError::io(format!("resolve {}", root.display())))?;
    let dest = root.join("artifacts").join(hex);
    if dest.join(MARKER).exists() {
        harden(&dest)?;
        return entry_point(&dest);
    }
    let parent = root.join("artifacts");
    private_dir_all(&parent)?;
    chmod(&parent, DIR_MODE)?;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let tag = format!("{hex}-{}-{n}", std::process::id());
    let tmp = parent.join(format!(".tmp-{tag}"));
    let copy = parent.join(format!(".src-{tag}"));
    let _ = std::fs::remove_dir_all(&tmp);
    let _ = std::fs::remove_file(&copy);
    let result = (|| {
        // The private copy is what gets installed: the bytes hashed are the bytes unpacked.
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&copy)
            .map_err(RuntimeError::io(format!("create {}", copy.display())))?;
        let found = copy_hashing(source, Some(&mut out))?;
        out.sync_all().map_err(RuntimeError::io("copy the artifact"))?;
        drop(out);
        if found != digest {
            return Err(RuntimeError::DigestMismatch {
                expected: digest.into(),
                found,
            });
        }
        std::fs::DirBuilder::new()
            .mode(DIR_MODE)
            .create(&tmp)
            .map_err(RuntimeError::io(format!("create {}", tmp.display())))?;
        if is_tar(&copy) {
            unpack(&copy, &tmp).map_err(|e| match e {
                RuntimeError::Io { context, source: io } => {
                    RuntimeError::Artifact(format!("cannot unpack {}: {context}: {io}", source.display()))
                }
                other => other,
            })?;
        } else {
            let target = tmp.join("service");
            std::fs::rename(&copy, &target).map_err(RuntimeError::io(format!("move {}", target.display())))?;
            chmod(&target, 0o755)?;
        }
        harden(&tmp)?;
        entry_point(&tmp)?;
        let mut marker = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(tmp.join(MARKER))
            .map_err(RuntimeError::io("write install marker"))?;
        marker
            .write_all(digest.as_bytes())
            .map_err(RuntimeError::io("write install marker"))?;
        Ok(())
    })();
    let _ = std::fs::remove_file(&copy);
    if let Err(e) = result {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    match std::fs::rename(&tmp, &dest) {
        Ok(()) => {}
        // Installed concurrently by someone else: theirs is as good as ours.
        Err(_) if dest.join(MARKER).exists() => {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Err(e) => return Err(RuntimeError::io(format!("install {}", dest.display()))(e)),
    }
    harden(&dest)?;
    entry_point(&dest)
}

/// Unpacks the archive at `archive` into the empty directory `dir`, judging every entry with a
/// [`Layout`] before writing it, then every symlink once all are known.
fn unpack(archive: &Path, dir: &Path) -> Result<(), RuntimeError> {
    use tar::EntryType;
    let bad = |e: std::io::Error| RuntimeError::Artifact(format!("not a readable tar archive: {e}"));
    let f = std::fs::File::open(archive).map_err(RuntimeError::io(format!("open {}", archive.display())))?;
    let mut archive = tar::Archive::new(f);
    let mut layout = Layout::default();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.into_owned();
        let link = || -> Result<PathBuf, RuntimeError> {
            Ok(entry
                .link_name()
                .map_err(bad)?
                .map(|l| l.into_owned())
                .unwrap_or_default())
        };
        let kind = match entry.header().entry_type() {
            EntryType::Regular | EntryType::Continuous
                if entry.header().as_ustar().is_none() && entry.path_bytes().ends_with(b"/") =>
            {
                EntryKind::Dir
            }
            EntryType::Regular | EntryType::Continuous => EntryKind::File,
            EntryType::Directory => EntryKind::Dir,
            EntryType::Symlink => EntryKind::Symlink(link()?),
            EntryType::Link => EntryKind::Hardlink(link()?),
            EntryType::XGlobalHeader | EntryType::XHeader | EntryType::GNULongName | EntryType::GNULongLink => continue,
            _ => return Err(Unsafe::new(UnsafeKind::EntryType, &path).into()),
        };
        let Some(comps) = layout.add(&path, &kind)? else {
            continue;
        };
        let dst: PathBuf = dir.join(comps.iter().collect::<PathBuf>());
        if let Some(p) = dst.parent() {
            private_dir_all(p)?;
        }
        let ctx = |what: &str| format!("{what} {}", dst.display());
        match &kind {
            EntryKind::Dir => {
                if !dst.is_dir() {
                    std::fs::DirBuilder::new()
                        .mode(DIR_MODE)
                        .create(&dst)
                        .map_err(RuntimeError::io(ctx("create")))?;
                }
            }
            EntryKind::File => {
                let mode = entry.header().mode().map_err(bad)? & FILE_MODE_MASK;
                // `create_new`: never through an existing path (the layout already refused any).
                let mut out = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(mode)
                    .open(&dst)
                    .map_err(RuntimeError::io(ctx("create")))?;
                std::io::copy(&mut entry, &mut out).map_err(RuntimeError::io(ctx("write")))?;
                out.set_permissions(std::fs::Permissions::from_mode(mode))
                    .map_err(RuntimeError::io(ctx("chmod")))?;
            }
            EntryKind::Symlink(target) => {
                std::os::unix::fs::symlink(target, &dst).map_err(RuntimeError::io(ctx("symlink")))?;
            }
            EntryKind::Hardlink(target) => {
                let t = normalize(target).map_err(|k| Unsafe::new(k, &path))?;
                std::fs::hard_link(dir.join(t.iter().collect::<PathBuf>()), &dst)
                    .map_err(RuntimeError::io(ctx("link")))?;
            }
        }
    }
    layout.check_links()?;
    Ok(())
}

/// Enforces the modes of an installed tree (directories `0700`, files at most `0755`) and
/// checks, on disk, that no symlink in it leads outside it; anything but directories, regular
/// files and symlinks is refused.
fn harden(dir: &Path) -> Result<(), RuntimeError> {
    let canon = std::fs::canonicalize(dir).map_err(RuntimeError::io(format!("resolve {}", dir.display())))?;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        chmod(&d, DIR_MODE)?;
        let entries = std::fs::read_dir(&d).map_err(RuntimeError::io(format!("read {}", d.display())))?;
        for entry in entries {
            let entry = entry.map_err(RuntimeError::io(format!("read {}", d.display())))?;
            let path = entry.path();
            let meta =
                std::fs::symlink_metadata(&path).map_err(RuntimeError::io(format!("stat {}", path.display())))?;
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
            let ft = meta.file_type();
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                let mode = meta.permissions().mode() & 0o7777;
                if mode & !FILE_MODE_MASK != 0 {
                    chmod(&path, mode & FILE_MODE_MASK)?;
                }
            } else if ft.is_symlink() {
                check_link_on_disk(dir, &canon, &path, &rel)?;
            } else {
                return Err(Unsafe::new(UnsafeKind::EntryType, &rel).into());
            }
        }
    }
    Ok(())
}

/// A symlink on disk: relative, and leading inside `dir` (resolved by the kernel when its target
/// exists, lexically when it does not).
fn check_link_on_disk(dir: &Path, canon: &Path, link: &Path, rel: &Path) -> Result<(), RuntimeError> {
    let target = std::fs::read_link(link).map_err(RuntimeError::io(format!("read link {}", link.display())))?;
    if target.as_os_str().is_empty() || target.has_root() {
        return Err(Unsafe::new(UnsafeKind::LinkAbsolute, rel).into());
    }
    match std::fs::canonicalize(link) {
        Ok(resolved) if resolved.starts_with(canon) => Ok(()),
        Ok(_) => Err(Unsafe::new(UnsafeKind::LinkEscapes, rel).into()),
        Err(_) => {
            let from = link.parent().unwrap_or(dir).strip_prefix(dir).unwrap_or(Path::new(""));
            let mut depth = from.components().count();
            for c in target.components() {
                match c {
                    Component::ParentDir => {
                        depth = depth
                            .checked_sub(1)
                            .ok_or_else(|| Unsafe::new(UnsafeKind::LinkEscapes, rel))?;
                    }
                    Component::Normal(_) => depth += 1,
                    _ => {}
                }
            }
            Ok(())
        }
    }
}

/// The entry point of an installed tree: `service` or `bin/service`, which must resolve (on
/// disk, through any symlinks) to a regular file inside `dir`.
fn entry_point(dir: &Path) -> Result<Installed, RuntimeError> {
    let canon = std::fs::canonicalize(dir).map_err(RuntimeError::io(format!("resolve {}", dir.display())))?;
    for candidate in ["service", "bin/service"] {
        let p = dir.join(candidate);
        if std::fs::symlink_metadata(&p).is_err() {
            continue;
        }
        match std::fs::canonicalize(&p) {
            Ok(resolved) if !resolved.starts_with(&canon) => {
                return Err(Unsafe::new(UnsafeKind::EntryPointEscapes, Path::new(candidate)).into());
            }
            Ok(resolved) if resolved.is_file() => {
                return Ok(Installed {
                    dir: dir.to_path_buf(),
                    program: p,
                });
            }
            // A directory, or a dangling link: not an entry point.
            _ => {}
        }
    }
    Err(RuntimeError::Artifact(
        "the archive holds neither `service` nor `bin/service`".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_and_archives_install_once_and_wrong_digests_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("app");
        std::fs::write(&exe, b"#!/bin/sh\necho hi\n").unwrap();
        let d = file_digest(&exe).unwrap();
        let root = dir.path().join("data");
        let got = install(&root, &exe, &d).unwrap();
        assert!(got.program.is_absolute());
        assert!(got.program.ends_with("service") && got.dir.ends_with(&d[7..]));
        assert_eq!(install(&root, &exe, &d).unwrap(), got);
        let wrong = format!("sha256:{}", "00".repeat(32));
        assert!(matches!(
            install(&root, &exe, &wrong),
            Err(RuntimeError::DigestMismatch { .. })
        ));
        assert!(!root.join("artifacts").join("00".repeat(32)).exists());
        assert!(install(&root, &exe, "md5:abc").is_err());

        // A tar archive with bin/service.
        let tarball = dir.path().join("app.tar");
        let mut b = tar::Builder::new(std::fs::File::create(&tarball).unwrap());
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        h.set_mode(0o755);
        h.set_cksum();
        b.append_data(&mut h, "bin/service", &b"abc"[..]).unwrap();
        b.finish().unwrap();
        drop(b);
        let td = file_digest(&tarball).unwrap();
        let got = install(&root, &tarball, &td).unwrap();
        assert!(got.program.ends_with("bin/service"));
        // An archive without an entry point leaves nothing behind.
        let empty = dir.path().join("empty.tar");
        let mut b = tar::Builder::new(std::fs::File::create(&empty).unwrap());
        let mut h = tar::Header::new_ustar();
        h.set_size(1);
        h.set_cksum();
        b.append_data(&mut h, "README", &b"x"[..]).unwrap();
        b.finish().unwrap();
        drop(b);
        let ed = file_digest(&empty).unwrap();
        assert!(install(&root, &empty, &ed).is_err());
        assert!(!root.join("artifacts").join(&ed[7..]).exists());
    }

    fn layout(entries: &[(&str, EntryKind)]) -> Result<Layout, Unsafe> {
        let mut l = Layout::default();
        for (p, k) in entries {
            l.add(Path::new(p), k)?;
        }
        Ok(l)
    }

    fn link(t: &str) -> EntryKind {
        EntryKind::Symlink(t.into())
    }

    #[test]
    fn layout_resolves_links_as_the_kernel_does() {
        // `x/s -> ..` is the root, so `x/s/..` is above it: the chain escapes.
        let l = layout(&[("x/s", link("..")), ("evil", link("x/s/../../etc"))]).unwrap();
        assert_eq!(l.check_links().unwrap_err().kind, UnsafeKind::LinkEscapes);
        // Out of a subdirectory and back in stays inside.
        let l = layout(&[("app/run", EntryKind::File), ("bin/service", link("../app/run"))]).unwrap();
        assert!(l.check_links().is_ok());
        // A loop.
        let l = layout(&[("a", link("b")), ("b", link("a"))]).unwrap();
        assert_eq!(l.check_links().unwrap_err().kind, UnsafeKind::LinkLoop);
        // A self-reference used as a directory many times stays inside but counts its hops.
        let deep = vec!["s"; MAX_LINK_HOPS as usize + 1].join("/");
        let l = layout(&[("s", link(".")), ("d", link(&deep))]).unwrap();
        assert_eq!(l.check_links().unwrap_err().kind, UnsafeKind::LinkLoop);
    }

    #[test]
    fn layout_refuses_paths_out_and_writes_through_links() {
        let mut l = Layout::default();
        let k = |p: &str, l: &mut Layout| l.add(Path::new(p), &EntryKind::File).unwrap_err().kind;
        assert_eq!(k("/etc/x", &mut l), UnsafeKind::AbsolutePath);
        assert_eq!(k("a/../../x", &mut l), UnsafeKind::ParentComponent);
        l.add(Path::new("d"), &link("sub")).unwrap();
        assert_eq!(k("d/x", &mut l), UnsafeKind::BeneathNonDirectory);
        assert_eq!(k("d", &mut l), UnsafeKind::Duplicate);
        assert_eq!(
            l.add(Path::new("e"), &link("/etc")).unwrap_err().kind,
            UnsafeKind::LinkAbsolute
        );
        assert_eq!(
            l.add(Path::new("h"), &EntryKind::Hardlink("d".into()))
                .unwrap_err()
                .kind,
            UnsafeKind::HardlinkTarget
        );
        assert_eq!(l.add(Path::new("./"), &EntryKind::Dir).unwrap(), None);
        let long = "a/".repeat(MAX_PATH);
        assert_eq!(k(&long, &mut l), UnsafeKind::TooComplex);
    }
}
