//! Which algorithm a log's checksums are. A `%C` column says only its width: 32 hex digits
//! are md5, md4 or xxh128, 16 are xxh64 or xxh3, 40 are sha1. A baseline on the other side
//! of a comparison does not settle it either (the day-0 listing may be md5 while last
//! night's job ran plain `rsync -c`, which negotiates xxh128 since rsync 3.2.2). So it is
//! never guessed: the user says it, or a file the log lists is hashed every way its width
//! allows, from a tree fimsum can read (the live source or the backup copy), and only one
//! way gives the logged checksum.

use std::path::{Path, PathBuf};

use crate::hash::{Algorithm, Digest};

/// The algorithms whose `%C` is `width` hex digits wide.
pub(crate) fn candidates(width: usize) -> Vec<Algorithm> {
    Algorithm::ALL
        .into_iter()
        .filter(|a| a.hex_width() == width)
        .collect()
}

/// A file the decision hashed, and the algorithm that gave the logged checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decided {
    pub algorithm: Algorithm,
    /// The file that decided; `None` when the width allows only one algorithm.
    pub by: Option<PathBuf>,
}

/// At most this many listed files are hashed to decide.
const TRIES: usize = 32;
/// Larger files are not hashed to decide: a few small ones settle it as surely.
const LARGEST: u64 = 64 << 20;

/// Decide the algorithm of checksums `width` digits wide from `samples` (a listed file's
/// path in a readable tree, and its logged checksum). `None` when no file tells: none could
/// be read, or each differs every way (it changed since the log was written).
pub(crate) fn decide(
    width: usize,
    samples: impl IntoIterator<Item = (PathBuf, Digest)>,
) -> Option<Decided> {
    let candidates = candidates(width);
    if let [only] = candidates[..] {
        return Some(Decided {
            algorithm: only,
            by: None,
        });
    }
    for (path, logged) in samples.into_iter().take(TRIES) {
        let Some(digests) = hash_every_way(&path, &candidates) else {
            continue;
        };
        let matching: Vec<Algorithm> = candidates
            .iter()
            .zip(&digests)
            .filter(|(_, d)| **d == logged)
            .map(|(a, _)| *a)
            .collect();
        if let [algorithm] = matching[..] {
            return Some(Decided {
                algorithm,
                by: Some(path),
            });
        }
    }
    None
}

/// The file at `path` hashed with each of `algorithms`, in one read; `None` if it is not a
/// regular file that can be read, or is larger than [`LARGEST`].
fn hash_every_way(path: &Path, algorithms: &[Algorithm]) -> Option<Vec<Digest>> {
    let file = crate::input::open_file(path).ok()?;
    if file.metadata().ok()?.len() > LARGEST {
        return None;
    }
    crate::hash::digest_reader(file, algorithms).ok()
}

/// Where a listed name is under a tree given as rsync's source argument: `SRC/` holds its
/// names directly, `SRC` (no trailing slash) is itself the first component of its names.
pub(crate) fn under_source(source: &Path, name: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    let bytes = source.as_os_str().as_bytes();
    let base = if bytes.ends_with(b"/") {
        source
    } else {
        source.parent().unwrap_or(Path::new("/"))
    };
    base.join(std::ffi::OsStr::from_bytes(name))
}

/// Where a listed name is in the destination the log was written for.
pub(crate) fn under_dest(dest: &Path, name: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    dest.join(std::ffi::OsStr::from_bytes(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_name_their_candidates() {
        assert_eq!(
            candidates(32),
            [Algorithm::Md5, Algorithm::Md4, Algorithm::Xxh128]
        );
        assert_eq!(candidates(16), [Algorithm::Xxh64, Algorithm::Xxh3]);
        assert_eq!(candidates(40), [Algorithm::Sha1]);
        assert!(candidates(7).is_empty());
    }

    #[test]
    fn a_listed_file_decides_and_a_changed_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::fs::write(&a, b"changed since").unwrap();
        std::fs::write(&b, b"hello\n").unwrap();
        let logged_a = Algorithm::Xxh128.digest(b"as logged");
        let logged_b = Algorithm::Xxh128.digest(b"hello\n");
        let decided = decide(32, [(a.clone(), logged_a), (b.clone(), logged_b)]).unwrap();
        assert_eq!(decided.algorithm, Algorithm::Xxh128);
        assert_eq!(decided.by.as_deref(), Some(b.as_path()));
        // Only the changed file: nothing decides.
        assert_eq!(decide(32, [(a.clone(), logged_a)]), None);
        // Missing files and FIFOs are passed over, not waited on.
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let md5 = Algorithm::Md5.digest(b"hello\n");
        let decided = decide(
            32,
            [
                (dir.path().join("missing"), md5),
                (fifo, md5),
                (b.clone(), md5),
            ],
        )
        .unwrap();
        assert_eq!(decided.algorithm, Algorithm::Md5);
        // sha1 is the only 40-digit algorithm: nothing to hash.
        assert_eq!(decide(40, []).map(|d| d.algorithm), Some(Algorithm::Sha1));
    }

    #[test]
    fn names_resolve_under_either_source_form() {
        assert_eq!(
            under_source(Path::new("/etc/"), b"passwd"),
            Path::new("/etc/passwd")
        );
        assert_eq!(
            under_source(Path::new("/etc"), b"etc/passwd"),
            Path::new("/etc/passwd")
        );
        assert_eq!(
            under_dest(Path::new("/backup/etc"), b"passwd"),
            Path::new("/backup/etc/passwd")
        );
    }
}
