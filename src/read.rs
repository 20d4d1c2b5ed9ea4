//! Reading one regular file's content for its checksum, safely on a live system.
//!
//! The rules (see docs in README "Failure modes"): open relative to the directory the walker
//! holds, never following a symlink and never blocking on a FIFO swapped in for the file;
//! hash only a regular file with the device and inode the walk saw; compare `fstat` before
//! and after reading and the bytes read with the size, and retry once when the file changed
//! under us. A checksum is recorded only for content that was read whole while the file
//! stood still: never a checksum of mixed, truncated or zero-filled content.
//!
//! Two ways in, one set of checks:
//! - [`checksum_many`], the scan's path, loads a batch of files and hashes them together
//!   (multi-buffer MD5 needs many files at once): files under [`MAP_MIN`] are read whole into
//!   a reused per-thread arena, larger ones are mapped through [`GuardedMap`], whose SIGBUS
//!   handler turns a truncation under the mapping into a flag instead of a dead process
//!   (rsync and AIDE dropped mmap for that crash). Mapping pays for large files: copying out
//!   of the page cache runs at only 6-8 GB/s here, below multi-buffer MD5 and XXH3.
//! - [`checksum`] streams one file through a 256 KiB buffer; it is the retry path for any file
//!   that changed, could not be mapped, or failed in the batch.

use std::cell::RefCell;
use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::cache;
use crate::hash::{digest_many, Algorithm, Digest, Kernel};
use crate::hook::HookRef;
use crate::mapped::GuardedMap;
use crate::record::{Content, Kind, Meta};

/// Size of the per-thread read buffer: 256 KiB reads are within a few percent of the best
/// read size measured on this kind of machine.
const BUF_SIZE: usize = 256 * 1024;

/// Where a regular file is: the directory the walker opened, and the file's name in it.
#[derive(Clone, Debug)]
pub struct FileRef {
    pub dir: Arc<OwnedFd>,
    pub leaf: std::ffi::CString,
}

/// The outcome of hashing one file: the metadata of the file that was read (from `fstat`,
/// fresher than the walk's `lstat`) and what is known of its content. `name` is the entry's
/// `%n` name, for the hooks.
pub fn checksum(
    file: &FileRef,
    name: &[u8],
    seen: &Meta,
    algorithm: Algorithm,
    hooks: &HookRef,
) -> (Meta, Content) {
    let mut expected = *seen;
    let mut last_change = String::new();
    for attempt in 0..2 {
        if attempt > 0 {
            // The name may now hold a new file (renamed over): look again before the retry.
            match rustix::fs::statat(&*file.dir, &file.leaf, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if Kind::from_stat(&st) == Kind::File => expected = Meta::from_stat(&st),
                Ok(_) => break,
                Err(Errno::NOENT) => {
                    return (
                        expected,
                        Content::Unreadable("vanished during the scan".into()),
                    )
                }
                Err(e) => return (expected, Content::Unreadable(describe(e))),
            }
        }
        match read_once(file, name, &expected, algorithm, hooks) {
            Ok((meta, digest)) => return (meta, Content::Digest(digest)),
            Err(Failure::Io(e)) => return (expected, Content::Unreadable(describe(e))),
            Err(Failure::Changed(why)) => last_change = why,
        }
    }
    if last_change.is_empty() {
        last_change = "replaced by a non-regular file".to_string();
    }
    (expected, Content::ChangedDuringScan(last_change))
}

/// Why a read did not produce a checksum.
enum Failure {
    Io(Errno),
    Changed(String),
}

impl From<Errno> for Failure {
    fn from(e: Errno) -> Failure {
        Failure::Io(e)
    }
}

/// Open a file the walk listed and check it is still that regular file. Also says whether
/// none of it was in the page cache (see [`crate::cache`]).
fn open_checked(
    file: &FileRef,
    name: &[u8],
    expected: &Meta,
    hooks: &HookRef,
) -> Result<(OwnedFd, Meta, bool), Failure> {
    hooks.call(|h| h.before_open(name));
    let fd = open_regular(&file.dir, &file.leaf)?;
    let before = rustix::fs::fstat(&fd)?;
    if Kind::from_stat(&before) != Kind::File {
        return Err(Failure::Changed("replaced by a non-regular file".into()));
    }
    let before = Meta::from_stat(&before);
    if (before.dev, before.ino) != (expected.dev, expected.ino) {
        return Err(Failure::Changed("replaced by another file".into()));
    }
    hooks.call(|h| h.after_open(name));
    let uncached = cache::uncached(&fd);
    Ok((fd, before, uncached))
}

/// After the content was read (`read` bytes of it): the file must not have changed since
/// `before`. Returns the metadata to record.
fn confirm(fd: &OwnedFd, before: &Meta, read: u64) -> Result<Meta, Failure> {
    let after = Meta::from_stat(&rustix::fs::fstat(fd)?);
    if read != before.size || after.size != before.size {
        return Err(Failure::Changed(format!(
            "size changed while reading ({} bytes expected, {read} read)",
            before.size
        )));
    }
    if (after.mtime, after.ctime, after.ino) != (before.mtime, before.ctime, before.ino) {
        return Err(Failure::Changed("modified while reading".into()));
    }
    if after.nlink == 0 {
        // Unlinked or renamed over while we read it: this content has no name any more.
        return Err(Failure::Changed("removed or replaced while reading".into()));
    }
    Ok(after)
}

fn read_once(
    file: &FileRef,
    name: &[u8],
    expected: &Meta,
    algorithm: Algorithm,
    hooks: &HookRef,
) -> Result<(Meta, Digest), Failure> {
    let (fd, before, uncached) = open_checked(file, name, expected, hooks)?;
    let mut hasher = algorithm.hasher();
    let read = BUFFER.with(|buf| -> Result<u64, Errno> {
        let mut buf = buf.borrow_mut();
        let mut total = 0u64;
        loop {
            match rustix::io::read(&fd, &mut buf[..]) {
                Ok(0) => return Ok(total),
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    if total == 0 {
                        hooks.call(|h| h.after_first_read(name));
                    }
                    total += n as u64;
                }
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e),
            }
        }
    });
    // Whether or not the read went through, leave the cache as it was.
    if uncached {
        cache::release(&fd);
    }
    Ok((confirm(&fd, &before, read?)?, hasher.finish()))
}

/// Files of this size and up are mapped rather than read in the batch path: below it the
/// cost of mapping and unmapping outweighs the copy it saves (measured: even at 1 MiB, 1.2-3x
/// faster above it for XXH3 and multi-buffer MD5).
pub const MAP_MIN: u64 = 1 << 20;

/// One file of a batch: where it is, its `%n` name (for hooks) and what the walk saw.
pub struct Job<'a> {
    pub file: &'a FileRef,
    pub name: &'a [u8],
    pub seen: Meta,
}

/// A file's content as loaded for hashing.
enum Loaded {
    /// Read whole into the arena, already confirmed unchanged: the range and the metadata.
    Read(std::ops::Range<usize>, Meta),
    /// Mapped; to be confirmed after hashing, since the hash is what reads it. The flag:
    /// nothing of it was cached before (drop it from the cache when done).
    Mapped(GuardedMap, OwnedFd, Meta, bool),
    /// Not loaded here: hash it the streaming way, which retries and reports.
    Stream,
}

/// Checksum a batch of files, in the order given. Same guarantees as [`checksum`]; the
/// content of every file is hashed in one call, so multi-buffer MD5 fills its lanes.
pub fn checksum_many(
    jobs: &[Job],
    algorithm: Algorithm,
    kernel: Kernel,
    hooks: &HookRef,
) -> Vec<(Meta, Content)> {
    ARENA.with(|arena| {
        let mut arena = arena.borrow_mut();
        let mut used = 0;
        let loaded: Vec<Loaded> = jobs
            .iter()
            .map(|job| load(job, &mut arena, &mut used, hooks))
            .collect();
        let digests = {
            let slices: Vec<&[u8]> = loaded
                .iter()
                .filter_map(|l| match l {
                    Loaded::Read(range, _) => Some(&arena[range.clone()]),
                    Loaded::Mapped(map, _, _, _) => Some(map.bytes()),
                    Loaded::Stream => None,
                })
                .collect();
            digest_many(algorithm, kernel, &slices)
        };
        let mut digests = digests.into_iter();
        jobs.iter()
            .zip(loaded)
            .map(|(job, loaded)| {
                let done = match loaded {
                    Loaded::Read(_, meta) => digests.next().map(|d| (meta, d)),
                    Loaded::Mapped(map, fd, before, uncached) => {
                        let digest = digests.next();
                        // A fault zero-filled what lay past the new end; fstat catches a
                        // truncation within the last page, and any other change.
                        let faulted = map.faulted();
                        let meta = confirm(&fd, &before, before.size).ok().filter(|_| !faulted);
                        drop(map);
                        if uncached {
                            cache::release(&fd);
                        }
                        meta.zip(digest)
                    }
                    Loaded::Stream => None,
                };
                match done {
                    Some((meta, digest)) => (meta, Content::Digest(digest)),
                    None => checksum(job.file, job.name, &job.seen, algorithm, hooks),
                }
            })
            .collect()
    })
}

/// Open one file of a batch and make its content available: mapped if large, else read whole
/// into the arena after `used` (and confirmed unchanged). Anything unusual is left to the
/// streaming path, which retries and reports.
fn load(job: &Job, arena: &mut Vec<u8>, used: &mut usize, hooks: &HookRef) -> Loaded {
    let Ok((fd, before, uncached)) = open_checked(job.file, job.name, &job.seen, hooks) else {
        return Loaded::Stream;
    };
    if before.size >= MAP_MIN {
        let mapped = usize::try_from(before.size)
            .ok()
            .and_then(|len| GuardedMap::map(fd.as_fd(), len).ok());
        return match mapped {
            Some(map) => {
                hooks.call(|h| h.after_first_read(job.name));
                Loaded::Mapped(map, fd, before, uncached)
            }
            None => Loaded::Stream,
        };
    }
    // Ask for one byte more than the size, to see a file that grew.
    let want = before.size as usize + 1;
    if arena.len() < *used + want {
        // Grow only: the arena keeps its high-water length, so bytes are zeroed once per
        // thread, not once per file.
        arena.resize(*used + want, 0);
    }
    let start = *used;
    let (mut n, mut failed) = (0, false);
    while n < want {
        match rustix::io::read(&fd, &mut arena[start + n..start + want]) {
            Ok(0) => break,
            Ok(k) => {
                if n == 0 {
                    hooks.call(|h| h.after_first_read(job.name));
                }
                n += k;
            }
            Err(Errno::INTR) => continue,
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    // Whether or not the read went through, leave the cache as it was.
    if uncached {
        cache::release(&fd);
    }
    if failed {
        return Loaded::Stream;
    }
    match confirm(&fd, &before, n as u64) {
        Ok(meta) => {
            *used += n;
            Loaded::Read(start..start + n, meta)
        }
        Err(_) => Loaded::Stream,
    }
}

thread_local! {
    /// Per-thread arena for the small files of a batch.
    static ARENA: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}
thread_local! {
    static BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0u8; BUF_SIZE]);
}

/// Open a file for reading without following a symlink, blocking on a FIFO or acquiring a
/// controlling terminal; without updating its atime where the kernel allows that.
fn open_regular(dir: &OwnedFd, leaf: &CStr) -> Result<OwnedFd, Errno> {
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    match rustix::fs::openat(dir.as_fd(), leaf, flags | OFlags::NOATIME, Mode::empty()) {
        // O_NOATIME needs ownership of the file or CAP_FOWNER; retry without it then only.
        Err(Errno::PERM) => rustix::fs::openat(dir.as_fd(), leaf, flags, Mode::empty()),
        other => other,
    }
}

/// An errno as people read it, e.g. "Permission denied (os error 13)".
pub fn describe(e: Errno) -> String {
    std::io::Error::from(e).to_string()
}
