//! Reading one regular file's content for its checksum, safely on a live system.
//!
//! The rules (see docs in README "Failure modes"): open relative to the directory the walker
//! holds, never following a symlink and never blocking on a FIFO swapped in for the file;
//! hash only a regular file with the device and inode the walk saw; compare `fstat` before
//! and after reading and the bytes read with the size, and retry once when the file changed
//! under us. A checksum is recorded only for content that was read whole while the file
//! stood still: never a checksum of mixed, truncated or zero-filled content.
//!
//! Files are read with `read()` into a reused per-thread buffer. mmap is not used: a file
//! truncated under a mapping raises SIGBUS and kills the process (rsync and AIDE dropped
//! mmap for that reason), and for scalar MD5 it gains under 10% (README "Performance").

use std::cell::RefCell;
use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::hash::{Algorithm, Digest};
use crate::hook::HookRef;
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

fn read_once(
    file: &FileRef,
    name: &[u8],
    expected: &Meta,
    algorithm: Algorithm,
    hooks: &HookRef,
) -> Result<(Meta, Digest), Failure> {
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
    let mut hasher = algorithm.hasher();
    let read = BUFFER.with(|buf| -> Result<u64, Errno> {
        let mut buf = buf.borrow_mut();
        let mut total = 0u64;
        loop {
            match rustix::io::read(&fd, &mut buf[..]) {
                Ok(0) => return Ok(total),
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    if total == 0 && n == buf.len() {
                        hooks.call(|h| h.after_first_read(name));
                    }
                    total += n as u64;
                }
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e),
            }
        }
    })?;
    let after = Meta::from_stat(&rustix::fs::fstat(&fd)?);
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
    Ok((after, hasher.finish()))
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
