//! Artifact digests.
//!
//! - A file: `sha256:` + hex SHA-256 of its bytes.
//! - A directory tree (`ward-tree-v1`): walk the tree; for every regular file and symlink, take
//!   its path relative to the root with `/` separators (UTF-8 required), sort the paths by
//!   bytes, and hash the concatenation of one record per entry:
//!   `"f" <path> 0x00 <decimal size> 0x00 <hex sha256 of the content> "\n"` for a file
//!   (`"x"` instead of `"f"` when any execute bit is set), and
//!   `"l" <path> 0x00 <link target> "\n"` for a symlink. Directories contribute only through
//!   their entries (an empty directory does not change the digest); other file types are an
//!   error. Timestamps, owners and other permission bits are ignored, so the same tree checked
//!   out anywhere has the same digest.
//! - An OCI image: the registry's `sha256:<64 hex>` manifest digest, validated as such.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// Why a digest could not be computed or read.
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// Reading failed.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// A path that is not UTF-8, or a file type the tree digest does not cover.
    #[error("{path}: {reason}")]
    Unsupported {
        /// Path.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// Not `sha256:<64 lower-case hex>` (its length: the value itself may be anything, and is
    /// never repeated).
    #[error("a value of {0} characters is not a digest (expected sha256:<64 lower-case hex digits>)")]
    Malformed(usize),
}

/// Checks and normalises a digest string (`sha256:` followed by 64 lower-case hex digits).
pub fn parse_digest(s: &str) -> Result<String, DigestError> {
    let hex = s
        .strip_prefix("sha256:")
        .ok_or_else(|| DigestError::Malformed(s.chars().count()))?;
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        Ok(s.to_string())
    } else {
        Err(DigestError::Malformed(s.chars().count()))
    }
}

/// `sha256:<hex>` of some bytes.
pub fn of_bytes(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DigestError + '_ {
    move |source| DigestError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn hash_file(path: &Path) -> Result<(u64, String), DigestError> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Ok((size, hex::encode(h.finalize())))
}

/// Digest of a file's bytes.
pub fn of_file(path: &Path) -> Result<String, DigestError> {
    Ok(format!("sha256:{}", hash_file(path)?.1))
}

/// The `ward-tree-v1` digest of a directory (see the module documentation).
pub fn of_tree(root: &Path) -> Result<String, DigestError> {
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    walk(root, root, &mut entries)?;
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut h = Sha256::new();
    for (_, record) in &entries {
        h.update(record);
    }
    Ok(format!("sha256:{}", hex::encode(h.finalize())))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), DigestError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .ok()
            .and_then(|p| p.to_str())
            .map(|p| p.replace(std::path::MAIN_SEPARATOR, "/"))
            .ok_or_else(|| DigestError::Unsupported {
                path: path.display().to_string(),
                reason: "path is not UTF-8",
            })?;
        let meta = std::fs::symlink_metadata(&path).map_err(io(&path))?;
        let ft = meta.file_type();
        if ft.is_dir() {
            walk(root, &path, out)?;
        } else if ft.is_symlink() {
            let target = std::fs::read_link(&path).map_err(io(&path))?;
            let target = target.to_str().ok_or_else(|| DigestError::Unsupported {
                path: path.display().to_string(),
                reason: "link target is not UTF-8",
            })?;
            let mut rec = format!("l{rel}\0{target}\n").into_bytes();
            rec.shrink_to_fit();
            out.push((rel, rec));
        } else if ft.is_file() {
            let (size, sha) = hash_file(&path)?;
            let kind = if is_executable(&meta) { 'x' } else { 'f' };
            out.push((rel.clone(), format!("{kind}{rel}\0{size}\0{sha}\n").into_bytes()));
        } else {
            return Err(DigestError::Unsupported {
                path: path.display().to_string(),
                reason: "not a regular file, directory or symlink",
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_parse_strictly() {
        let good = format!("sha256:{}", "a".repeat(64));
        assert!(parse_digest(&good).is_ok());
        for bad in [
            "",
            "sha256:",
            &format!("sha256:{}", "A".repeat(64)),
            &format!("sha512:{}", "a".repeat(64)),
            &good[..70],
        ] {
            assert!(parse_digest(bad).is_err(), "{bad}");
        }
        assert_eq!(
            of_bytes(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn tree_digest_is_deterministic_and_content_sensitive() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        // Same content, created in a different order, with an extra empty directory.
        std::fs::create_dir_all(a.path().join("bin")).unwrap();
        std::fs::write(a.path().join("bin/app"), b"binary").unwrap();
        std::fs::write(a.path().join("README"), b"hello").unwrap();
        std::fs::write(b.path().join("README"), b"hello").unwrap();
        std::fs::create_dir_all(b.path().join("bin")).unwrap();
        std::fs::create_dir_all(b.path().join("empty")).unwrap();
        std::fs::write(b.path().join("bin/app"), b"binary").unwrap();
        let da = of_tree(a.path()).unwrap();
        assert_eq!(da, of_tree(b.path()).unwrap());
        // Known answer for this layout: records "fREADME\05\0<sha>\n" then "fbin/app\0…".
        let expected = of_bytes(
            format!(
                "fREADME\x005\x00{}\nfbin/app\x006\x00{}\n",
                &of_bytes(b"hello")[7..],
                &of_bytes(b"binary")[7..]
            )
            .as_bytes(),
        );
        assert_eq!(da, expected);
        std::fs::write(b.path().join("README"), b"hellO").unwrap();
        assert_ne!(da, of_tree(b.path()).unwrap());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::write(b.path().join("README"), b"hello").unwrap();
            std::fs::set_permissions(b.path().join("bin/app"), std::fs::Permissions::from_mode(0o755)).unwrap();
            assert_ne!(da, of_tree(b.path()).unwrap(), "the execute bit counts");
        }
    }
}
