//! Artifact install hardening with real tarballs built here: nothing an artifact holds may reach
//! outside its directory (entry paths, symlinks and their chains, hard links, entry points), no
//! setuid/setgid/sticky or group/world-write bit survives, and directories are owner-only. Every
//! refused archive leaves nothing behind and writes nothing outside the artifact.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use tar::{EntryType, Header};
use ward_runtime::RuntimeError;
use ward_runtime::artifact::{self, Installed};

/// One entry of a test archive.
enum E<'a> {
    File(&'a str, u32, &'a [u8]),
    Dir(&'a str, u32),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    /// A header with a raw name written verbatim (the builder refuses absolute and `..` paths).
    Raw(&'a [u8], EntryType),
}

fn tarball(dir: &Path, name: &str, entries: &[E]) -> PathBuf {
    let path = dir.join(name);
    let mut b = tar::Builder::new(std::fs::File::create(&path).unwrap());
    for e in entries {
        let mut h = match e {
            E::Raw(_, EntryType::GNUSparse) => Header::new_gnu(),
            _ => Header::new_ustar(),
        };
        match e {
            E::File(p, mode, data) => {
                h.set_size(data.len() as u64);
                h.set_mode(*mode);
                h.set_entry_type(EntryType::Regular);
                h.set_path(p).unwrap();
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
            E::Dir(p, mode) => {
                h.set_size(0);
                h.set_mode(*mode);
                h.set_entry_type(EntryType::Directory);
                h.set_path(p).unwrap();
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
            E::Symlink(p, target) | E::Hardlink(p, target) => {
                h.set_size(0);
                h.set_mode(0o777);
                h.set_entry_type(if matches!(e, E::Symlink(..)) {
                    EntryType::Symlink
                } else {
                    EntryType::Link
                });
                h.set_path(p).unwrap();
                h.set_link_name(target).unwrap();
                h.set_cksum();
                b.append(&h, &[][..]).unwrap();
            }
            E::Raw(name, ty) => {
                h.set_size(4);
                h.set_mode(0o755);
                h.set_entry_type(*ty);
                h.as_old_mut().name[..name.len()].copy_from_slice(name);
                if let Some(gnu) = h.as_gnu_mut() {
                    gnu.set_real_size(4);
                    gnu.sparse[0].set_offset(0);
                    gnu.sparse[0].set_length(4);
                }
                h.set_cksum();
                b.append(&h, &b"evil"[..]).unwrap();
            }
        }
    }
    b.finish().unwrap();
    path
}

/// Installs `tarball` under `root` by its own digest.
fn install(root: &Path, tarball: &Path) -> Result<Installed, RuntimeError> {
    let d = artifact::file_digest(tarball).unwrap();
    artifact::install(root, tarball, &d)
}

/// Asserts a refusal with `code`, and that nothing was left behind in the artifacts directory
/// (no installation, no temporary directory, no private copy).
fn assert_refused(root: &Path, r: Result<Installed, RuntimeError>, code: &str) {
    match r {
        Err(RuntimeError::Unsafe(u)) => {
            assert_eq!(u.code(), code, "{u}");
            let msg = RuntimeError::Unsafe(u).to_string();
            assert!(msg.contains(code) && msg.contains("; "), "a code and a hint: {msg}");
        }
        other => panic!("expected a refusal `{code}`, got {other:?}"),
    }
    let left: Vec<_> = std::fs::read_dir(root.join("artifacts"))
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left behind: {left:?}");
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

const RUN: &[u8] = b"#!/bin/sh\necho hi\n";

#[test]
fn entry_point_symlink_to_a_host_file_is_refused() {
    // The reproduced attack: `service` is a symlink to a program on the host, which then ran as
    // the deployed version although the digest covers none of its bytes.
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    let tb = tarball(t.path(), "a.tar", &[E::Symlink("service", "/bin/sh")]);
    assert_refused(&root, install(&root, &tb), "link_absolute");
    let tb = tarball(
        t.path(),
        "b.tar",
        &[E::Symlink("bin/service", "../../../../../../bin/sh")],
    );
    assert_refused(&root, install(&root, &tb), "link_escapes");
}

#[test]
fn symlink_escaping_the_artifact_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    let ok = E::File("service", 0o755, RUN);
    for (i, (link, target, code)) in [
        ("data-link", "/etc/passwd", "link_absolute"),
        ("data-link", "..", "link_escapes"),
        ("lib/up", "../../x", "link_escapes"),
        ("deep/er/link", "../../../etc/passwd", "link_escapes"),
        // Inside, out and back in still passes through the host's directory: refused.
        ("peek", "../artifacts/x", "link_escapes"),
    ]
    .into_iter()
    .enumerate()
    {
        let tb = tarball(
            t.path(),
            &format!("{i}.tar"),
            &[E::File("service", 0o755, RUN), E::Symlink(link, target)],
        );
        assert_refused(&root, install(&root, &tb), code);
    }
    // The same archive without the escaping link installs.
    let tb = tarball(t.path(), "fine.tar", &[ok]);
    assert!(install(&root, &tb).is_ok());
}

#[test]
fn symlink_chain_escaping_the_artifact_is_refused() {
    // Each link alone looks inside (`x/s -> ..` is the root; `evil -> x/s/../../etc` lexically
    // is `etc`), but the kernel resolves `x/s/..` above the root: the chain leaves the artifact.
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    let tb = tarball(
        t.path(),
        "chain.tar",
        &[
            E::File("service", 0o755, RUN),
            E::Dir("x", 0o755),
            E::Symlink("x/s", ".."),
            E::Symlink("evil", "x/s/../../etc/passwd"),
        ],
    );
    assert_refused(&root, install(&root, &tb), "link_escapes");
    // A chain of links ending outside: a -> b -> c -> ../..
    let tb = tarball(
        t.path(),
        "chain2.tar",
        &[
            E::File("service", 0o755, RUN),
            E::Symlink("a", "b"),
            E::Symlink("b", "sub/c"),
            E::Dir("sub", 0o755),
            E::Symlink("sub/c", "../.."),
        ],
    );
    assert_refused(&root, install(&root, &tb), "link_escapes");
}

#[test]
fn symlink_loop_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    let tb = tarball(
        t.path(),
        "loop.tar",
        &[
            E::File("service", 0o755, RUN),
            E::Symlink("a", "b"),
            E::Symlink("b", "a"),
        ],
    );
    assert_refused(&root, install(&root, &tb), "link_loop");
}

#[test]
fn entry_written_through_a_symlink_is_refused_and_nothing_lands_outside() {
    // `d -> <outside>` then `d/planted`: unpacking in order would write through the link.
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    let outside = t.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let rel = "../../../outside";
    let tb = tarball(
        t.path(),
        "through.tar",
        &[
            E::File("service", 0o755, RUN),
            E::Symlink("d", rel),
            E::File("d/planted", 0o644, b"x"),
        ],
    );
    assert_refused(&root, install(&root, &tb), "beneath_non_directory");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    // Beneath a regular file too.
    let tb = tarball(
        t.path(),
        "file.tar",
        &[E::File("service", 0o755, RUN), E::File("service/x", 0o644, b"x")],
    );
    assert_refused(&root, install(&root, &tb), "beneath_non_directory");
}

#[test]
fn hardlink_to_a_host_file_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    for (i, target) in ["/etc/passwd", "../../etc/passwd", "missing", "lnk"].iter().enumerate() {
        let tb = tarball(
            t.path(),
            &format!("h{i}.tar"),
            &[
                E::File("service", 0o755, RUN),
                E::Symlink("lnk", "service"),
                E::Hardlink("copy", target),
            ],
        );
        assert_refused(&root, install(&root, &tb), "hardlink_target");
    }
    // A hard link to a file the archive holds is fine.
    let tb = tarball(
        t.path(),
        "fine.tar",
        &[E::File("app/run", 0o755, RUN), E::Hardlink("service", "app/run")],
    );
    let got = install(&root, &tb).unwrap();
    assert_eq!(std::fs::read(&got.program).unwrap(), RUN);
}

#[test]
fn absolute_entry_path_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    let planted = t.path().join("planted-abs");
    let name = planted.to_str().unwrap().as_bytes().to_vec();
    assert!(name.len() < 100, "fits a ustar name");
    let tb = tarball(
        t.path(),
        "abs.tar",
        &[E::File("service", 0o755, RUN), E::Raw(&name, EntryType::Regular)],
    );
    assert_refused(&root, install(&root, &tb), "absolute_path");
    assert!(!planted.exists());
}

#[test]
fn parent_dir_entry_path_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    for (i, name) in [&b"../../../planted-dotdot"[..], b"bin/../../x", b"./.."]
        .iter()
        .enumerate()
    {
        let tb = tarball(
            t.path(),
            &format!("p{i}.tar"),
            &[E::File("service", 0o755, RUN), E::Raw(name, EntryType::Regular)],
        );
        assert_refused(&root, install(&root, &tb), "parent_component");
    }
    assert!(!t.path().join("planted-dotdot").exists());
}

#[test]
fn device_and_fifo_entries_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    for (i, ty) in [
        EntryType::Fifo,
        EntryType::Char,
        EntryType::Block,
        EntryType::GNUSparse,
        EntryType::new(b'Z'),
    ]
    .into_iter()
    .enumerate()
    {
        let tb = tarball(
            t.path(),
            &format!("d{i}.tar"),
            &[E::File("service", 0o755, RUN), E::Raw(b"dev", ty)],
        );
        assert_refused(&root, install(&root, &tb), "entry_type");
    }
}

#[test]
fn replacing_an_entry_later_in_the_archive_is_refused() {
    // A second `service` (here a symlink to the host) must not replace the first.
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    let tb = tarball(
        t.path(),
        "dup.tar",
        &[E::File("service", 0o755, RUN), E::Symlink("service", "bin/sh")],
    );
    assert_refused(&root, install(&root, &tb), "duplicate_entry");
    let tb = tarball(
        t.path(),
        "dup2.tar",
        &[E::File("service", 0o755, RUN), E::Dir("service", 0o755)],
    );
    assert_refused(&root, install(&root, &tb), "duplicate_entry");
}

#[test]
fn setuid_bits_are_stripped() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    let tb = tarball(
        t.path(),
        "modes.tar",
        &[
            E::File("service", 0o4755, RUN),
            E::File("sgid", 0o2775, b"x"),
            E::File("everyone-writes", 0o666, b"x"),
            E::File("all-bits", 0o7777, b"x"),
            E::File("private", 0o600, b"x"),
            E::Dir("sticky", 0o1777),
        ],
    );
    let got = install(&root, &tb).unwrap();
    let d = &got.dir;
    assert_eq!(mode(&d.join("service")), 0o755);
    assert_eq!(mode(&d.join("sgid")), 0o755);
    assert_eq!(mode(&d.join("everyone-writes")), 0o644);
    assert_eq!(mode(&d.join("all-bits")), 0o755);
    assert_eq!(mode(&d.join("private")), 0o600);
    assert_eq!(mode(&d.join("sticky")), 0o700);
    for f in std::fs::read_dir(d).unwrap().flatten() {
        let m = mode(&f.path());
        assert_eq!(m & 0o7022, 0, "{:?} keeps {m:o}", f.path());
    }
}

#[test]
fn install_directories_are_owner_only() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    let tb = tarball(
        t.path(),
        "dirs.tar",
        &[
            E::Dir("bin", 0o777),
            E::File("bin/service", 0o755, RUN),
            E::File("share/doc/README", 0o644, b"x"),
        ],
    );
    let got = install(&root, &tb).unwrap();
    assert_eq!(mode(&root.join("artifacts")), 0o700);
    for d in [
        got.dir.clone(),
        got.dir.join("bin"),
        got.dir.join("share"),
        got.dir.join("share/doc"),
    ] {
        assert_eq!(mode(&d), 0o700, "{}", d.display());
    }
    // A single executable too.
    let exe = t.path().join("exe");
    std::fs::write(&exe, RUN).unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o6777)).unwrap();
    let got = install(&root, &exe).unwrap();
    assert_eq!(mode(&got.dir), 0o700);
    assert_eq!(mode(&got.program), 0o755);
}

#[test]
fn links_that_stay_inside_the_artifact_are_accepted() {
    // What real archives hold: `./`-prefixed paths, a relative entry-point link, a link climbing
    // out of a subdirectory and back in, a dangling link inside.
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    let tb = tarball(
        t.path(),
        "fine.tar",
        &[
            E::Dir("./", 0o755),
            E::Dir("./app", 0o755),
            E::File("./app/run", 0o755, RUN),
            E::Symlink("./bin/service", "../app/run"),
            E::Symlink("./app/self", "."),
            E::Symlink("./app/via", "self/../app/run"),
            E::Symlink("./cache", "var/cache"),
        ],
    );
    let got = install(&root, &tb).unwrap();
    assert!(got.program.ends_with("bin/service"));
    assert_eq!(std::fs::read(&got.program).unwrap(), RUN);
}

#[test]
fn an_installed_artifact_whose_entry_point_leaves_it_is_refused_when_used() {
    // An installation made before these rules (or tampered with on disk) is refused, not run.
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    let tb = tarball(t.path(), "ok.tar", &[E::File("bin/service", 0o755, RUN)]);
    let got = install(&root, &tb).unwrap();
    std::fs::remove_file(&got.program).unwrap();
    std::os::unix::fs::symlink("/bin/sh", &got.program).unwrap();
    match install(&root, &tb) {
        Err(RuntimeError::Unsafe(u)) => assert_eq!(u.code(), "link_absolute"),
        other => panic!("{other:?}"),
    }
    // Relative, but out of the artifact: refused as well.
    std::fs::remove_file(&got.program).unwrap();
    let outside = t.path().join("host-program");
    std::fs::write(&outside, RUN).unwrap();
    let rel = pathdiff(&outside, got.program.parent().unwrap());
    std::os::unix::fs::symlink(&rel, &got.program).unwrap();
    match install(&root, &tb) {
        Err(RuntimeError::Unsafe(u)) => assert_eq!(u.code(), "link_escapes"),
        other => panic!("{other:?}"),
    }
    // Modes loosened on disk are tightened again.
    std::fs::remove_file(&got.program).unwrap();
    std::fs::write(&got.program, RUN).unwrap();
    std::fs::set_permissions(&got.program, std::fs::Permissions::from_mode(0o4777)).unwrap();
    std::fs::set_permissions(&got.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let again = install(&root, &tb).unwrap();
    assert_eq!(mode(&again.program), 0o755);
    assert_eq!(mode(&again.dir), 0o700);
}

/// `to` relative to directory `from` (both absolute, no symlinks).
fn pathdiff(to: &Path, from: &Path) -> PathBuf {
    let up = from.components().count();
    let mut p = PathBuf::new();
    for _ in 1..up {
        p.push("..");
    }
    p.push(to.strip_prefix("/").unwrap());
    p
}

#[test]
fn archives_made_by_gnu_tar_install() {
    // What `tar -C DIR -cf app.tar .` produces (GNU format, a `./` entry, links, modes).
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("data");
    let src = t.path().join("build");
    std::fs::create_dir_all(src.join("app/lib")).unwrap();
    std::fs::write(src.join("app/run"), RUN).unwrap();
    std::fs::set_permissions(src.join("app/run"), std::fs::Permissions::from_mode(0o775)).unwrap();
    std::fs::write(src.join("app/lib/data.txt"), b"x").unwrap();
    std::fs::create_dir(src.join("bin")).unwrap();
    std::os::unix::fs::symlink("../app/run", src.join("bin/service")).unwrap();
    std::fs::hard_link(src.join("app/run"), src.join("app/run2")).unwrap();
    let tb = t.path().join("gnu.tar");
    let Ok(st) = std::process::Command::new("tar")
        .arg("-C")
        .arg(&src)
        .arg("-cf")
        .arg(&tb)
        .arg(".")
        .status()
    else {
        eprintln!("no `tar` on this machine: skipped");
        return;
    };
    assert!(st.success());
    let got = install(&root, &tb).unwrap();
    assert!(got.program.ends_with("bin/service"));
    assert_eq!(std::fs::read(&got.program).unwrap(), RUN);
    assert_eq!(mode(&got.dir.join("app/run")), 0o755);
    assert_eq!(mode(&got.dir.join("app/lib")), 0o700);
    assert_eq!(std::fs::read(got.dir.join("app/run2")).unwrap(), RUN);
}
