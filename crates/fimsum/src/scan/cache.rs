//! Page-cache courtesy: a scan of a production server must not push the server's working set
//! out of memory by filling the page cache with every file it reads.
//!
//! A file none of whose pages were cached when fimsum opened it is dropped from the cache
//! (`POSIX_FADV_DONTNEED`) once it is hashed; a file that was cached, wholly or in part, is
//! left alone, so whatever the server was using stays where it was. Plain `DONTNEED` after
//! every file (as AIDE and Tripwire do) would instead evict the server's hot files too.
//! Residency is asked of `cachestat(2)` (Linux 6.5+); where it is missing, nothing is dropped.
//! Files under [`COURTESY_MIN`] are not asked about.

use std::os::fd::{AsFd, AsRawFd};

/// Files smaller than this are left in the cache without asking: they are most of the files
/// but little of the bytes, and the question costs a system call per file.
pub(super) const COURTESY_MIN: u64 = 64 << 10;

/// `cachestat(2)`: the same number on every Linux architecture (one of the unified numbers).
#[cfg(target_os = "linux")]
const SYS_CACHESTAT: libc::c_long = 451;

#[repr(C)]
struct CachestatRange {
    off: u64,
    len: u64,
}

#[repr(C)]
#[derive(Default)]
struct Cachestat {
    nr_cache: u64,
    nr_dirty: u64,
    nr_writeback: u64,
    nr_evicted: u64,
    nr_recently_evicted: u64,
}

/// True if no page of the file is in the page cache (and the kernel can tell us so): fimsum
/// will be the one that brings it in, and should take it out again with [`release`].
pub(super) fn uncached(fd: impl AsFd) -> bool {
    #[cfg(target_os = "linux")]
    {
        let range = CachestatRange { off: 0, len: 0 }; // len 0: to the end of the file
        let mut stat = Cachestat::default();
        // SAFETY: cachestat reads `range` and writes one `struct cachestat` into `stat`, both
        // live, properly aligned #[repr(C)] structs of the kernel's layout; the fd is open for
        // the duration of the call. An unknown syscall fails with ENOSYS and writes nothing.
        let rc = unsafe {
            libc::syscall(
                SYS_CACHESTAT,
                fd.as_fd().as_raw_fd(),
                &range as *const CachestatRange,
                &mut stat as *mut Cachestat,
                0u32,
            )
        };
        rc == 0 && stat.nr_cache == 0
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = fd;
        false
    }
}

/// Drop the file's pages from the cache (advice only: dirty or mapped pages stay).
pub(super) fn release(fd: impl AsFd) {
    let _ = rustix::fs::fadvise(fd, 0, None, rustix::fs::Advice::DontNeed);
}
