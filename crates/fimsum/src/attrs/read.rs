//! The system calls that read an entry's attributes, as few as the scan can make: on a
//! descriptor it holds (a regular file its reader opened, a directory the walk entered),
//! one `FS_IOC_GETFLAGS` and one `flistxattr`, and a `fgetxattr` per listed name only when
//! the list is not empty. An entry with no descriptor (a symlink, a device, a FIFO: never
//! opened) takes one `llistxattr` through `/proc/self/fd`, relative to its directory's
//! descriptor, so that no path string walks the tree again.

use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use rustix::io::Errno;

use crate::attrs::{Attrs, Flags};
use crate::record::Kind;

/// Room for a listing or a value without asking for its size first: most are far shorter.
const LIST_BUF: usize = 1024;
const VALUE_BUF: usize = 256;

/// The attributes of an entry of kind `kind` through a descriptor of it; `None` when its
/// xattrs could not be listed.
pub(crate) fn of_fd(fd: BorrowedFd<'_>, kind: Kind) -> Option<Attrs> {
    let flags = match kind {
        Kind::File | Kind::Dir => flags_of(fd),
        _ => Some(Flags::default()),
    };
    collect(
        flags,
        |buf| rustix::fs::flistxattr(fd, buf),
        |name, buf| rustix::fs::fgetxattr(fd, name, buf),
    )
}

/// The attributes of the entry `leaf` of the directory `dir`, which is not opened: its
/// xattrs by its name under `/proc/self/fd`, without following a symlink. A regular file or
/// a directory read so has its flags unread (`None`): they need a descriptor.
pub(crate) fn at(dir: &OwnedFd, leaf: &CStr, kind: Kind) -> Option<Attrs> {
    let mut path = format!("/proc/self/fd/{}/", dir.as_raw_fd()).into_bytes();
    path.extend_from_slice(leaf.to_bytes());
    let path = CString::new(path).ok()?;
    let flags = match kind {
        Kind::File | Kind::Dir => None,
        _ => Some(Flags::default()),
    };
    collect(
        flags,
        |buf| rustix::fs::llistxattr(path.as_c_str(), buf),
        |name, buf| rustix::fs::lgetxattr(path.as_c_str(), name, buf),
    )
}

/// The attributes of the regular file `leaf` of `dir`, opening it for its flags (a file the
/// scan does not read: its checksum was reused); by name alone if it cannot be opened.
pub(crate) fn of_file_at(dir: &OwnedFd, leaf: &CStr) -> Option<Attrs> {
    match crate::scan::read::open_regular(dir, leaf) {
        Ok(fd) => of_fd(fd.as_fd(), Kind::File),
        Err(_) => at(dir, leaf, Kind::File),
    }
}

/// The recorded inode flags; none set where the file system has no flags at all.
fn flags_of(fd: BorrowedFd<'_>) -> Option<Flags> {
    match rustix::fs::ioctl_getflags(fd) {
        Ok(raw) => Some(Flags::recorded(raw.bits())),
        Err(Errno::NOTTY | Errno::NOTSUP | Errno::INVAL | Errno::NOSYS) => Some(Flags::default()),
        Err(_) => None,
    }
}

fn collect(
    flags: Option<Flags>,
    list: impl Fn(&mut [u8]) -> Result<usize, Errno>,
    get: impl Fn(&CStr, &mut [u8]) -> Result<usize, Errno>,
) -> Option<Attrs> {
    let mut attrs = Attrs {
        flags,
        ..Attrs::default()
    };
    let names = match sized(LIST_BUF, &list) {
        Ok(names) => names,
        // No xattrs on this file system.
        Err(Errno::NOTSUP) => return Some(attrs),
        Err(_) => return None,
    };
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let Ok(cname) = CString::new(name) else {
            continue;
        };
        let value = sized(VALUE_BUF, |buf| get(cname.as_c_str(), buf)).map_err(|e| match e {
            // Removed between the listing and now: as if never listed.
            Errno::NODATA => String::new(),
            e => crate::scan::read::describe(e),
        });
        if value.as_ref().is_err_and(String::is_empty) {
            continue;
        }
        attrs.add_xattr(name, value);
    }
    Some(attrs)
}

/// Call `call` with a buffer of `first` bytes (on the stack: nothing is allocated for the
/// usual empty or short answer), then of twice as many each time it says that is too small,
/// up to past the kernel's limit for a listing or a value (64 KiB).
fn sized(first: usize, call: impl Fn(&mut [u8]) -> Result<usize, Errno>) -> Result<Vec<u8>, Errno> {
    let mut stack = [0u8; LIST_BUF];
    let buf = &mut stack[..first.min(LIST_BUF)];
    match call(buf) {
        Ok(n) => return Ok(buf[..n].to_vec()),
        Err(Errno::RANGE) => {}
        Err(e) => return Err(e),
    }
    let mut len = buf.len() * 2;
    while len <= 1 << 17 {
        let mut buf = vec![0u8; len];
        match call(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(Errno::RANGE) => len *= 2,
            Err(e) => return Err(e),
        }
    }
    Err(Errno::RANGE)
}
