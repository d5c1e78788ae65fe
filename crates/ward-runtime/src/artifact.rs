//! Artifacts by digest: an executable, or a tar archive holding `service` (or `bin/service`),
//! installed under `<root>/artifacts/<hex>/` once its sha256 matches the digest it is deployed as.
//!
//! Installation is atomic: the archive is unpacked into a temporary directory that is renamed
//! into place, so a crash never leaves a half-installed artifact behind.

use crate::RuntimeError;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Largest artifact accepted.
pub const MAX_ARTIFACT: u64 = 1024 * 1024 * 1024;
const MARKER: &str = ".ward-installed";

/// An installed artifact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// Its directory (the working directory of its instances).
    pub dir: PathBuf,
    /// The program to run.
    pub program: PathBuf,
}

/// `sha256:<hex>` of a file, streaming.
pub fn file_digest(path: &Path) -> Result<String, RuntimeError> {
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

/// Installs `source` as `digest` under `root`, or returns the existing installation.
pub fn install(root: &Path, source: &Path, digest: &str) -> Result<Installed, RuntimeError> {
    let hex = hex_of(digest)?;
    // Absolute: instances run with the artifact directory as their working directory.
    let root = &std::path::absolute(root).map_err(RuntimeError::io(format!("resolve {}", root.display())))?;
    let dest = root.join("artifacts").join(hex);
    if dest.join(MARKER).exists() {
        return entry_point(&dest);
    }
    let found = file_digest(source)?;
    if found != digest {
        return Err(RuntimeError::DigestMismatch {
            expected: digest.into(),
            found,
        });
    }
    let parent = root.join("artifacts");
    std::fs::create_dir_all(&parent).map_err(RuntimeError::io(format!("create {}", parent.display())))?;
    let tmp = parent.join(format!(".tmp-{hex}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(RuntimeError::io(format!("create {}", tmp.display())))?;
    let result = (|| {
        if is_tar(source) {
            let f = std::fs::File::open(source).map_err(RuntimeError::io(format!("open {}", source.display())))?;
            let mut archive = tar::Archive::new(f);
            archive.set_preserve_permissions(true);
            // `unpack` refuses entries that would land outside the directory.
            archive
                .unpack(&tmp)
                .map_err(|e| RuntimeError::Artifact(format!("cannot unpack {}: {e}", source.display())))?;
        } else {
            let target = tmp.join("service");
            std::fs::copy(source, &target).map_err(RuntimeError::io(format!("copy {}", source.display())))?;
            set_executable(&target)?;
        }
        entry_point(&tmp)?;
        std::fs::write(tmp.join(MARKER), digest).map_err(RuntimeError::io("write install marker"))?;
        Ok(())
    })();
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
    entry_point(&dest)
}

fn entry_point(dir: &Path) -> Result<Installed, RuntimeError> {
    for candidate in ["service", "bin/service"] {
        let p = dir.join(candidate);
        if p.is_file() {
            return Ok(Installed {
                dir: dir.to_path_buf(),
                program: p,
            });
        }
    }
    Err(RuntimeError::Artifact(
        "the archive holds neither `service` nor `bin/service`".into(),
    ))
}

#[cfg(unix)]
fn set_executable(p: &Path) -> Result<(), RuntimeError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
        .map_err(RuntimeError::io(format!("chmod {}", p.display())))
}

#[cfg(not(unix))]
fn set_executable(_: &Path) -> Result<(), RuntimeError> {
    Ok(())
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
}
