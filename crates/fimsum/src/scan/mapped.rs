//! Read-only file mappings that survive the file being truncated under them.
//!
//! Why this exists: hashing through a mapping avoids the page-cache copy that
//! `read()` makes, but a page of a file-backed mapping that lies wholly past the
//! file's current end raises SIGBUS when touched, and the default action kills
//! the whole process (research F1). fimsum scans live trees where logrotate
//! `copytruncate`, `> file` or any local user can shrink a file while we hash it.
//!
//! How: the same technique as systemd's `src/basic/sigbus.c` and Sapling's
//! `indexedlog/src/sigbus.rs`, written for many hashing threads at once.
//! - Every live [`GuardedMap`] registers its address range in a fixed table of
//!   atomics ([`SLOT_COUNT`] slots). The table never allocates or locks, so the
//!   signal handler can read it.
//! - A process-wide SIGBUS handler (`SA_SIGINFO | SA_ONSTACK`) is installed on
//!   first use. For a fault with `si_code == BUS_ADRERR` whose address lies in
//!   a registered range, it sets that range's fault flag and maps anonymous
//!   zero pages (`MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS`, read-only) from the
//!   faulting page to the end of the mapping, then returns: the faulting load
//!   re-executes and reads zeros. Every page after a faulting one is also past
//!   the new end of file, so covering them all at once costs one signal per
//!   mapping instead of one per page, and a load that straddles two pages
//!   cannot fault again whichever of the two the kernel reports.
//! - Any other SIGBUS is passed on to the action that was installed before
//!   ours; if that was `SIG_DFL` (or `SIG_IGN`, which the kernel overrides for
//!   a real fault) the default action is restored and the signal re-delivered,
//!   so the process dies of SIGBUS exactly as it would have without us.
//!
//! What the caller must still do: the content read after a fault is zeros,
//! not the file's, so a digest computed while [`GuardedMap::faulted`] became
//! true must be discarded. The flag is page-granular: the kernel zero-fills the
//! tail of the page that holds the new end of file without any fault, so a
//! truncation that stays inside the last touched page (for example to
//! `len - 1`) is NOT flagged. The `fstat` before/after comparison (research F2)
//! is therefore still required; this module only makes mmap survivable.
//!
//! Only loads made by the CPU in user space are protected. Passing
//! [`GuardedMap::bytes`] to a system call (`write`, `send`, ...) that touches a
//! truncated page makes that call fail with `EFAULT` and does not set the flag.
//!
//! A fault is not always a truncation: an I/O error (or a btrfs checksum
//! failure) while paging in also raises SIGBUS with `BUS_ADRERR`, and is
//! absorbed and flagged the same way. Re-reading a flagged file with `read()`
//! tells the two apart (short read vs `EIO`).
//!
//! Integration rules:
//! - Call [`GuardedMap::install_handler`] early in `main`, before the thread
//!   pool starts and before other libraries install SIGBUS handlers. We chain
//!   to whatever was there; in a Rust binary that is std's stack-overflow
//!   handler, which for a SIGBUS that is not a guard-page hit restores
//!   `SIG_DFL` and returns, so a foreign fault still kills the process.
//! - If any code replaces our handler later, [`GuardedMap::map`] refuses
//!   (`ErrorKind::Other`) instead of mapping unprotected. That also happens
//!   after a SIGBUS sent with `kill`, because std's handler then resets the
//!   action to `SIG_DFL` (and the process survives that signal).
//! - No thread may block SIGBUS: the kernel kills a process whose thread
//!   faults with the signal blocked, handler or not.
//!
//! Linux only: elsewhere [`GuardedMap::map`] returns `ErrorKind::Unsupported`
//! and the caller uses `read()`.

use std::fmt;
use std::io;
use std::os::fd::BorrowedFd;

/// How many mappings can be live at once. More than any sane thread count:
/// each hashing thread holds one mapping at a time. When the table is full
/// [`GuardedMap::map`] fails with `ErrorKind::WouldBlock` and the caller reads.
pub(crate) const SLOT_COUNT: usize = 256;

/// A read-only mapping of a file that survives the file being truncated under it.
///
/// `GuardedMap` is `Send + Sync`: several threads may read one mapping, and a
/// fault in any of them is recorded in the same flag.
pub(crate) struct GuardedMap {
    inner: imp::Inner,
}

impl GuardedMap {
    /// Map `len` bytes of `fd` (a regular file the caller has fstat'ed; len > 0). Installs the process-wide SIGBUS handler on first use (chaining to any previous handler for faults outside our mappings, restoring SIG_DFL semantics if there was none).
    ///
    /// Errors, all of which mean "use `read()` for this file":
    /// - `InvalidInput` when `len == 0` (there is nothing to map);
    /// - `WouldBlock` when [`SLOT_COUNT`] mappings are already live;
    /// - `Other` when some other code replaced our SIGBUS handler since it was
    ///   installed (a mapping would no longer be protected, so we refuse);
    /// - `Unsupported` on targets other than Linux;
    /// - the OS error from `sigaction`, `sysconf` or `mmap`.
    ///
    /// The whole file from offset 0 is mapped `PROT_READ`, `MAP_SHARED`, with
    /// `MADV_SEQUENTIAL` so the kernel reads ahead aggressively.
    pub(crate) fn map(fd: BorrowedFd<'_>, len: usize) -> io::Result<GuardedMap> {
        imp::Inner::map(fd, len).map(|inner| GuardedMap { inner })
    }

    /// The mapped bytes. After a truncation, pages past the new end of file
    /// read as zeros and [`faulted`](Self::faulted) turns true.
    pub(crate) fn bytes(&self) -> &[u8] {
        self.inner.bytes()
    }

    /// Drop the pages of `range` (bytes of the mapping) from this process's page tables; the
    /// page cache keeps them. A big file read front to back would otherwise count in full in
    /// our resident memory until it is unmapped. Reading the range again is still correct (the
    /// pages fault back in), only slower; whole pages inside the range are dropped.
    pub(crate) fn release(&self, range: std::ops::Range<usize>) {
        self.inner.release(range)
    }

    /// True if any page of this mapping faulted (file shrank under us): the content read is NOT the file's; the caller must discard its digest.
    ///
    /// Check it after the last read of [`bytes`](Self::bytes): the flag is
    /// set by the signal handler on the thread that touched the missing page.
    /// A `false` only says no page past the end of file was touched; it does
    /// not prove the file is unchanged (see the module docs).
    pub(crate) fn faulted(&self) -> bool {
        self.inner.faulted()
    }

    /// Installs the SIGBUS handler now instead of at the first [`map`](Self::map).
    ///
    /// Useful at startup, before other libraries install their own handlers,
    /// so that the order of installation (and so of chaining) is deterministic.
    /// Idempotent.
    pub(crate) fn install_handler() -> io::Result<()> {
        imp::install()
    }
}

impl Drop for GuardedMap {
    /// Unregisters the range, then unmaps it (the `memmap2::Mmap` field drops
    /// after this body). In that order the handler can never match a range
    /// that the kernel may already have handed to someone else.
    fn drop(&mut self) {
        self.inner.unregister();
    }
}

impl fmt::Debug for GuardedMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedMap")
            .field("len", &self.bytes().len())
            .field("faulted", &self.faulted())
            .finish()
    }
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io;
    use std::os::fd::{AsRawFd, BorrowedFd};
    use std::ptr;
    use std::sync::atomic::{compiler_fence, fence, AtomicBool, AtomicI32, AtomicUsize, Ordering};
    use std::sync::OnceLock;

    use libc::{c_int, c_void, siginfo_t};
    use memmap2::{Advice, Mmap, MmapOptions, UncheckedAdvice};

    use super::SLOT_COUNT;

    /// One registered mapping. `start`/`len` are published with a sequence
    /// lock (`seq` odd while the owner writes) so that the handler never acts
    /// on a torn pair; `len == 0` means "no range".
    struct Slot {
        /// Taken by [`claim_slot`] with a CAS; only the claimer writes the rest.
        claimed: AtomicBool,
        seq: AtomicUsize,
        start: AtomicUsize,
        len: AtomicUsize,
        /// Number of SIGBUS faults absorbed for this mapping.
        faults: AtomicUsize,
    }

    impl Slot {
        const fn new() -> Slot {
            Slot {
                claimed: AtomicBool::new(false),
                seq: AtomicUsize::new(0),
                start: AtomicUsize::new(0),
                len: AtomicUsize::new(0),
                faults: AtomicUsize::new(0),
            }
        }

        /// Writes `start`/`len` under the sequence lock. Only the slot's owner
        /// calls this, so the sequence number is never contended.
        fn publish(&self, start: usize, len: usize) {
            let seq = self.seq.load(Ordering::Relaxed);
            self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
            fence(Ordering::Release);
            self.start.store(start, Ordering::Relaxed);
            self.len.store(len, Ordering::Relaxed);
            self.seq.store(seq.wrapping_add(2), Ordering::Release);
        }

        /// A consistent `(start, len)` snapshot, or `None` while the owner is
        /// writing. Async-signal-safe: loads only, no retry loop.
        fn snapshot(&self) -> Option<(usize, usize)> {
            let before = self.seq.load(Ordering::Acquire);
            if before & 1 != 0 {
                return None;
            }
            let start = self.start.load(Ordering::Relaxed);
            let len = self.len.load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            let after = self.seq.load(Ordering::Relaxed);
            (before == after && len != 0).then_some((start, len))
        }
    }

    static SLOTS: [Slot; SLOT_COUNT] = [const { Slot::new() }; SLOT_COUNT];
    /// Where the next slot search starts, so threads do not all contend on slot 0.
    static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
    /// `sysconf(_SC_PAGESIZE)`, read before the handler is installed because
    /// `sysconf` is not async-signal-safe.
    static PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);
    /// The SIGBUS action found when we installed ours: its handler (or
    /// `SIG_DFL`/`SIG_IGN`) and its `sa_flags`.
    static PREV_HANDLER: AtomicUsize = AtomicUsize::new(libc::SIG_DFL);
    static PREV_FLAGS: AtomicI32 = AtomicI32::new(0);
    /// The handler value we installed, to notice if someone replaced it.
    static OUR_HANDLER: AtomicUsize = AtomicUsize::new(0);

    /// The type of an `SA_SIGINFO` handler.
    type InfoHandler = extern "C" fn(c_int, *mut siginfo_t, *mut c_void);
    /// The type of a plain handler.
    type PlainHandler = extern "C" fn(c_int);

    pub(super) struct Inner {
        /// Dropped (unmapped) after [`Inner::unregister`] has run.
        mmap: Mmap,
        slot: usize,
        registered: bool,
    }

    impl Inner {
        pub(super) fn map(fd: BorrowedFd<'_>, len: usize) -> io::Result<Inner> {
            if len == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "cannot map an empty range",
                ));
            }
            install()?;
            if !handler_still_ours()? {
                return Err(io::Error::other(
                    "the SIGBUS handler was replaced by other code; mapping would be unsafe",
                ));
            }
            let slot = claim_slot().ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "all guarded mapping slots are in use",
                )
            })?;
            // SAFETY: memmap2 marks file mappings unsafe because the file can
            // change underneath them. Both ways it can change are handled or
            // harmless here: (1) shrinking makes touched pages raise SIGBUS,
            // which our handler (checked installed just above) turns into
            // zero pages plus the fault flag, before any byte is handed out
            // (the range is registered below, before `bytes()` can be called);
            // (2) in-place writes change bytes we only ever read as opaque
            // data to hash, and the caller's fstat comparison (F2) discards
            // such digests. The mapping is read-only and private to `Inner`.
            let mapped = unsafe { MmapOptions::new().len(len).map(fd.as_raw_fd()) };
            let mmap = match mapped {
                Ok(mmap) => mmap,
                Err(err) => {
                    release_slot(slot);
                    return Err(err);
                }
            };
            SLOTS[slot].faults.store(0, Ordering::Relaxed);
            SLOTS[slot].publish(mmap.as_ptr() as usize, len);
            // Only a hint: failure changes speed, not correctness.
            let _ = mmap.advise(Advice::Sequential);
            // Without it the kernel maps the file's large folios whole (2 MiB at a time), and
            // every lane's mapping counts 2 MiB in our resident memory however little of it
            // the lane has left to hash (measured on /usr: peak RSS 110 MB, 88 MB with it).
            let _ = mmap.advise(Advice::NoHugePage);
            Ok(Inner {
                mmap,
                slot,
                registered: true,
            })
        }

        pub(super) fn bytes(&self) -> &[u8] {
            &self.mmap
        }

        pub(super) fn release(&self, range: std::ops::Range<usize>) {
            let page = PAGE_SIZE.load(Ordering::Relaxed).max(1);
            let start = range.start.next_multiple_of(page);
            let end = range.end.min(self.mmap.len()) / page * page;
            if start >= end {
                return;
            }
            // SAFETY: MADV_DONTNEED on this shared, read-only file mapping only drops page
            // table entries: a later read faults the pages back in from the file (or, where
            // the fault handler put anonymous zero pages, reads zeros again), so no memory
            // that Rust code may read changes meaning. The range lies within the mapping.
            // Only a hint: failure changes memory use, not correctness.
            let _ = unsafe {
                self.mmap
                    .unchecked_advise_range(UncheckedAdvice::DontNeed, start, end - start)
            };
        }

        pub(super) fn faulted(&self) -> bool {
            // The flag is written by a signal handler on the thread that read
            // the bytes. This fence keeps the compiler from moving this load
            // above the caller's earlier reads of `bytes()` (the C++
            // `atomic_signal_fence` idiom); the SeqCst load orders it against
            // the handler's increment when another thread did the reading.
            compiler_fence(Ordering::SeqCst);
            SLOTS[self.slot].faults.load(Ordering::SeqCst) != 0
        }

        pub(super) fn unregister(&mut self) {
            if self.registered {
                self.registered = false;
                SLOTS[self.slot].publish(0, 0);
                release_slot(self.slot);
            }
        }
    }

    /// Finds a free slot and claims it, or `None` when all are taken.
    fn claim_slot() -> Option<usize> {
        let first = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
        (0..SLOT_COUNT)
            .map(|i| first.wrapping_add(i) % SLOT_COUNT)
            .find(|&i| {
                SLOTS[i]
                    .claimed
                    .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
            })
    }

    fn release_slot(slot: usize) {
        SLOTS[slot].claimed.store(false, Ordering::Release);
    }

    /// Installs the handler once per process; later calls return the first result.
    pub(super) fn install() -> io::Result<()> {
        static RESULT: OnceLock<Result<(), i32>> = OnceLock::new();
        match *RESULT.get_or_init(install_once) {
            Ok(()) => Ok(()),
            Err(errno) => Err(io::Error::from_raw_os_error(errno)),
        }
    }

    fn install_once() -> Result<(), i32> {
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let page = usize::try_from(page).map_err(|_| libc::EINVAL)?;
        if !page.is_power_of_two() {
            return Err(libc::EINVAL);
        }
        PAGE_SIZE.store(page, Ordering::SeqCst);
        if test_hooks::without_handler() {
            return Ok(());
        }
        // Record the previous action BEFORE ours can run, so the handler never
        // sees a half-written one. A third party changing the action between
        // these two calls is caught by the comparison below.
        let previous = current_action()?;
        store_previous(&previous);
        // SAFETY: an all-zero sigaction is a valid value (empty mask, no flags).
        let mut ours: libc::sigaction = unsafe { std::mem::zeroed() };
        let handler: InfoHandler = on_sigbus;
        ours.sa_sigaction = handler as usize;
        ours.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        // SAFETY: `ours.sa_mask` is a valid, writable sigset_t.
        unsafe { libc::sigemptyset(&mut ours.sa_mask) };
        // SAFETY: a zeroed sigaction is valid; the kernel overwrites it.
        let mut replaced: libc::sigaction = unsafe { std::mem::zeroed() };
        OUR_HANDLER.store(ours.sa_sigaction, Ordering::SeqCst);
        // SAFETY: both pointers are valid for the call; `on_sigbus` is an
        // `extern "C"` SA_SIGINFO handler that only does async-signal-safe work.
        if unsafe { libc::sigaction(libc::SIGBUS, &ours, &mut replaced) } != 0 {
            return Err(io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL));
        }
        if replaced.sa_sigaction != previous.sa_sigaction || replaced.sa_flags != previous.sa_flags
        {
            store_previous(&replaced);
        }
        Ok(())
    }

    fn store_previous(action: &libc::sigaction) {
        PREV_FLAGS.store(action.sa_flags, Ordering::SeqCst);
        PREV_HANDLER.store(action.sa_sigaction, Ordering::SeqCst);
    }

    fn current_action() -> Result<libc::sigaction, i32> {
        // SAFETY: a zeroed sigaction is valid; the kernel overwrites it.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: a null new action only queries; `action` is writable.
        if unsafe { libc::sigaction(libc::SIGBUS, ptr::null(), &mut action) } != 0 {
            return Err(io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EINVAL));
        }
        Ok(action)
    }

    /// One `sigaction` query per mapping (well under a microsecond): refuse to
    /// map when someone has replaced our handler, since a truncation would
    /// then kill the process.
    fn handler_still_ours() -> io::Result<bool> {
        if test_hooks::without_handler() {
            return Ok(true);
        }
        let action = current_action().map_err(io::Error::from_raw_os_error)?;
        Ok(action.sa_sigaction == OUR_HANDLER.load(Ordering::SeqCst))
    }

    /// The SIGBUS handler. Async-signal-safe: atomics, `mmap`, `sigaction`,
    /// `raise` and a call to the previous handler; no allocation, no locks,
    /// no unbounded loop (one pass over the table), errno preserved.
    extern "C" fn on_sigbus(sig: c_int, info: *mut siginfo_t, ctx: *mut c_void) {
        // SAFETY: __errno_location returns this thread's errno, always valid.
        let errno = unsafe { libc::__errno_location() };
        // SAFETY: `errno` points to this thread's errno (see above).
        let saved_errno = unsafe { *errno };
        if !absorb(info) {
            chain(sig, info, ctx);
        }
        // SAFETY: as above; restoring errno keeps the interrupted code's value.
        unsafe { *errno = saved_errno };
    }

    /// Handles a truncation fault in one of our mappings. Returns false if the
    /// fault is not ours (or zero pages could not be mapped).
    fn absorb(info: *const siginfo_t) -> bool {
        if info.is_null() {
            return false;
        }
        // SAFETY: with SA_SIGINFO the kernel passes a valid siginfo_t.
        if unsafe { (*info).si_code } != libc::BUS_ADRERR {
            return false;
        }
        // SAFETY: as above; for a BUS_ADRERR fault si_addr is the union
        // member in use (the address whose page could not be read).
        let addr = unsafe { (*info).si_addr() } as usize;
        let page = PAGE_SIZE.load(Ordering::Relaxed);
        if page == 0 {
            return false;
        }
        // The faulting address is in a live mapping of ours (its bytes are
        // borrowed by the faulting thread, so it cannot be unregistered now).
        // Any consistent snapshot of another slot was a live mapping too at
        // the moment it was read, so it cannot overlap this address: the
        // match is unique.
        let Some((slot, start, len)) = SLOTS.iter().find_map(|slot| {
            let (start, len) = slot.snapshot()?;
            let end = start.checked_add(len)?.checked_next_multiple_of(page)?;
            (start <= addr && addr < end).then_some((slot, start, end - start))
        }) else {
            return false;
        };
        slot.faults.fetch_add(1, Ordering::SeqCst);
        let first = addr & !(page - 1);
        let span = start + len - first;
        // SAFETY: [first, first + span) is page-aligned and lies inside the
        // mapping registered in `slot`, which is live (see above) and owned
        // by a GuardedMap; replacing its pages with read-only zero pages
        // cannot affect any other allocation. POSIX does not list mmap as
        // async-signal-safe, but on Linux (glibc and musl) it is a bare
        // system call wrapper that takes no lock, which is what systemd's
        // sigbus.c and Sapling rely on too.
        let got = unsafe {
            libc::mmap(
                first as *mut c_void,
                span,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        got as usize == first
    }

    /// Passes a SIGBUS that is not ours to the action installed before ours.
    fn chain(sig: c_int, info: *mut siginfo_t, ctx: *mut c_void) {
        let previous = PREV_HANDLER.load(Ordering::SeqCst);
        if previous != libc::SIG_DFL && previous != libc::SIG_IGN {
            if PREV_FLAGS.load(Ordering::SeqCst) & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous action was installed with SA_SIGINFO,
                // so its handler has the three-argument signature.
                let handler: InfoHandler = unsafe { std::mem::transmute(previous) };
                handler(sig, info, ctx);
            } else {
                // SAFETY: without SA_SIGINFO the handler takes only the signal.
                let handler: PlainHandler = unsafe { std::mem::transmute(previous) };
                handler(sig);
            }
            return;
        }
        let code = if info.is_null() {
            libc::SI_USER
        } else {
            // SAFETY: the kernel passes a valid siginfo_t with SA_SIGINFO.
            unsafe { (*info).si_code }
        };
        // si_code <= 0 means kill/sigqueue/tgkill from a process; those are
        // not re-raised by returning. BUS_MCEERR_AO is an asynchronous
        // machine-check notice, likewise not re-raised.
        let not_refaulting = code <= 0 || code == libc::BUS_MCEERR_AO;
        if previous == libc::SIG_IGN && code <= 0 {
            // An ignored signal sent by a process stays ignored.
            return;
        }
        // SIG_DFL, or SIG_IGN for a hardware fault (which the kernel would
        // not let us ignore): restore the default action. On return the
        // faulting instruction re-executes, faults again, and the kernel
        // kills the process with SIGBUS. For a signal that does not re-fault
        // we re-send it; it stays pending (SIGBUS is blocked while its
        // handler runs) and kills the process when the handler returns.
        // SAFETY: a zeroed sigaction is valid; SIG_DFL is 0.
        let mut default: libc::sigaction = unsafe { std::mem::zeroed() };
        default.sa_sigaction = libc::SIG_DFL;
        // SAFETY: valid pointers; sigaction is async-signal-safe.
        unsafe { libc::sigaction(sig, &default, ptr::null_mut()) };
        if not_refaulting {
            // SAFETY: raise is async-signal-safe and takes no pointers.
            unsafe { libc::raise(sig) };
        }
    }

    #[cfg(test)]
    pub(super) fn active_slots() -> usize {
        SLOTS
            .iter()
            .filter(|slot| slot.claimed.load(Ordering::SeqCst))
            .count()
    }

    /// Test-only switch to run the very same code with no handler installed,
    /// so the tests can show they fail (the process dies) without the fix.
    mod test_hooks {
        #[cfg(test)]
        pub(crate) const WITHOUT_HANDLER_ENV: &str = "FIMSUM_MAPPED_TEST_WITHOUT_HANDLER";

        #[cfg(test)]
        pub(crate) fn without_handler() -> bool {
            std::env::var_os(WITHOUT_HANDLER_ENV).is_some()
        }

        #[cfg(not(test))]
        pub(crate) const fn without_handler() -> bool {
            false
        }
    }

    #[cfg(test)]
    pub(super) use test_hooks::WITHOUT_HANDLER_ENV;
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;
    use std::os::fd::BorrowedFd;

    /// Uninhabited: no mapping can be made on this target.
    pub(super) enum Inner {}

    impl Inner {
        pub(super) fn map(_fd: BorrowedFd<'_>, _len: usize) -> io::Result<Inner> {
            Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "guarded mappings are implemented for Linux only",
            ))
        }

        pub(super) fn bytes(&self) -> &[u8] {
            match *self {}
        }

        pub(super) fn release(&self, _range: std::ops::Range<usize>) {
            match *self {}
        }

        pub(super) fn faulted(&self) -> bool {
            match *self {}
        }

        pub(super) fn unregister(&mut self) {
            match *self {}
        }
    }

    pub(super) fn install() -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "guarded mappings are implemented for Linux only",
        ))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    use std::fs::{File, OpenOptions};
    use std::io::Read;
    use std::os::fd::{AsFd, AsRawFd};
    use std::os::unix::fs::FileExt;
    use std::os::unix::process::ExitStatusExt;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::sync::{Arc, Barrier, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
    use std::thread;
    use std::time::{Duration, Instant};

    const PAGE: usize = 4096;

    /// Tests that count or fill the slot table take this exclusively; all
    /// others share it, so they still run concurrently with each other.
    static TABLE: RwLock<()> = RwLock::new(());

    fn shared_table() -> RwLockReadGuard<'static, ()> {
        TABLE.read().unwrap_or_else(|e| e.into_inner())
    }

    fn exclusive_table() -> RwLockWriteGuard<'static, ()> {
        TABLE.write().unwrap_or_else(|e| e.into_inner())
    }

    fn page_size() -> usize {
        // SAFETY: sysconf has no memory-safety preconditions.
        usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap()
    }

    /// Content byte at offset `o`: never zero, so a zero read means "not the file".
    fn pattern(o: usize) -> u8 {
        (((o ^ (o >> 12)) % 251) as u8) | 1
    }

    /// The first 64 MiB of the pattern, computed once (debug builds are slow
    /// per byte); files are written and checked with slices of it.
    fn pattern_prefix(len: usize) -> &'static [u8] {
        static PREFIX: OnceLock<Vec<u8>> = OnceLock::new();
        &PREFIX.get_or_init(|| (0..64 << 20).map(pattern).collect())[..len]
    }

    fn write_pattern(file: &File, from: usize, to: usize) {
        // Small files (the child processes' ones) skip building the cache.
        let cached = if to > 1 << 20 { to.min(64 << 20) } else { 0 };
        if from < cached {
            file.write_all_at(&pattern_prefix(cached)[from..], from as u64)
                .unwrap();
        }
        let mut buf = Vec::with_capacity(1 << 20);
        let mut o = from.max(cached);
        while o < to {
            let end = to.min(o + (1 << 20));
            buf.clear();
            buf.extend((o..end).map(pattern));
            file.write_all_at(&buf, o as u64).unwrap();
            o = end;
        }
    }

    fn make_file(dir: &Path, name: &str, len: usize) -> (PathBuf, File) {
        let path = dir.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        write_pattern(&file, 0, len);
        (path, file)
    }

    fn truncate(path: &Path, size: usize) {
        OpenOptions::new()
            .write(true)
            .open(path)
            .unwrap()
            .set_len(size as u64)
            .unwrap();
    }

    /// The scenario of test (1), shared with the child process that runs it
    /// without the handler. Hashes one byte per 4 KiB; after half the pages
    /// another thread truncates the file to 0 and the hash goes on.
    fn truncate_to_zero_mid_hash() -> (bool, u64, u64) {
        const LEN: usize = 64 << 20;
        let dir = tempfile::tempdir().unwrap();
        let (path, file) = make_file(dir.path(), "big", LEN);
        let map = GuardedMap::map(file.as_fd(), LEN).unwrap();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let truncator = thread::spawn(move || {
            go_rx.recv().unwrap();
            truncate(&path, 0);
            done_tx.send(()).unwrap();
        });
        let bytes = map.bytes();
        let pages = LEN / PAGE;
        let (mut sum, mut expected) = (0u64, 0u64);
        for i in 0..pages {
            if i == pages / 2 {
                go_tx.send(()).unwrap();
                done_rx.recv().unwrap();
            }
            let byte = bytes[i * PAGE];
            if i < pages / 2 {
                assert_eq!(byte, pattern(i * PAGE), "page {i} before truncation");
            } else {
                assert_eq!(byte, 0, "page {i} after truncation must read zero");
            }
            sum += u64::from(byte);
            expected += u64::from(pattern(i * PAGE));
        }
        truncator.join().unwrap();
        (map.faulted(), sum, expected)
    }

    /// (1) A 64 MiB file truncated to 0 from another thread mid-hash: the
    /// process survives and the mapping reports the fault.
    #[test]
    fn truncate_to_zero_during_hash_survives_and_flags() {
        let _table = shared_table();
        let (faulted, sum, expected) = truncate_to_zero_mid_hash();
        assert!(faulted, "a truncated mapping must report the fault");
        assert_ne!(sum, expected);
    }

    /// (1b) The same scenario without our handler kills the process with
    /// SIGBUS: test (1) fails without the fix.
    #[test]
    fn without_handler_truncation_kills_the_process() {
        let child = run_child("truncate-mid-hash", true);
        assert_eq!(child.signal, Some(libc::SIGBUS), "{child:?}");
    }

    /// (1c) And in a fresh process with the handler, the same scenario exits 0.
    #[test]
    fn with_handler_in_fresh_process_survives() {
        let child = run_child("truncate-mid-hash", false);
        assert!(child.survived(), "{child:?}");
    }

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Moment {
        /// Truncated after mapping, before any byte is touched.
        Before,
        /// Truncated after half the pages were touched.
        Mid,
        /// Truncated after every page was touched.
        After,
    }

    /// Hashes every byte of `map` page by page, checking each byte against
    /// what the file holds at the moment of the read, and lets `truncate_at`
    /// (a page index) run the truncation through the other thread.
    fn hash_and_check(
        map: &GuardedMap,
        expected: &[u8],
        new_size: usize,
        truncate_at: Option<usize>,
        go: &mpsc::Sender<()>,
        done: &mpsc::Receiver<()>,
    ) {
        let bytes = map.bytes();
        let len = expected.len();
        let pages = len.div_ceil(PAGE);
        let mut truncated = false;
        for i in 0..=pages {
            if truncate_at == Some(i) {
                go.send(()).unwrap();
                done.recv().unwrap();
                truncated = true;
            }
            if i == pages {
                break;
            }
            let (start, end) = (i * PAGE, len.min((i + 1) * PAGE));
            // Below the current end of file: the file's bytes; above: zeros.
            let eof = if truncated {
                new_size.clamp(start, end)
            } else {
                end
            };
            assert!(
                bytes[start..eof] == expected[start..eof],
                "page {i} of {len} differs from the file (new size {new_size})"
            );
            assert!(
                bytes[eof..end] == [0u8; PAGE][..end - eof],
                "page {i} of {len} past the new end {new_size} is not zero"
            );
        }
    }

    /// (2) Eight threads, each hashing its own mapped file; half of them are
    /// truncated by a separate thread to len-1, len/2, 4096 or 0, before,
    /// during or after the hash. `faulted()` must be exactly "a page wholly
    /// past the new end of file was touched after the truncation", and false
    /// for every untouched file.
    #[test]
    fn eight_threads_half_truncated_flags_exactly() {
        let _table = shared_table();
        assert_eq!(page_size(), PAGE, "test assumes 4 KiB pages");
        const THREADS: usize = 8;
        let dir = tempfile::tempdir().unwrap();
        let sizes: [fn(usize) -> usize; 4] = [|l| l - 1, |l| l / 2, |_| 4096, |_| 0];
        let mut round = 0;
        for moment in [Moment::Before, Moment::Mid, Moment::After] {
            for size in sizes {
                round += 1;
                let barrier = Barrier::new(THREADS);
                thread::scope(|scope| {
                    for t in 0..THREADS {
                        // Alternate page-aligned and unaligned lengths, and
                        // which half is truncated, from round to round.
                        let len = (2 << 20) + if t % 4 < 2 { 0 } else { 123 };
                        let victim = (t + round) % 2 == 0;
                        let new_size = size(len);
                        let (path, file) = make_file(dir.path(), &format!("f{t}"), len);
                        let expected_bytes = pattern_prefix(len);
                        let barrier = &barrier;
                        scope.spawn(move || {
                            let map = GuardedMap::map(file.as_fd(), len).unwrap();
                            let (go_tx, go_rx) = mpsc::channel::<()>();
                            let (done_tx, done_rx) = mpsc::channel::<()>();
                            let truncator = thread::spawn(move || {
                                if go_rx.recv().is_ok() {
                                    truncate(&path, new_size);
                                    done_tx.send(()).unwrap();
                                }
                            });
                            let pages = len.div_ceil(PAGE);
                            let truncate_at = victim.then_some(match moment {
                                Moment::Before => 0,
                                Moment::Mid => pages / 2,
                                Moment::After => pages,
                            });
                            barrier.wait();
                            hash_and_check(&map, expected_bytes, new_size, truncate_at, &go_tx, &done_rx);
                            drop(go_tx);
                            truncator.join().unwrap();
                            let beyond = new_size.next_multiple_of(PAGE) < len.next_multiple_of(PAGE);
                            let expected = victim && moment != Moment::After && beyond;
                            assert_eq!(
                                map.faulted(),
                                expected,
                                "thread {t} len {len} new size {new_size} {moment:?} victim {victim}"
                            );
                        });
                    }
                });
            }
        }
    }

    /// (2b) Sapling's sweep: for bases {len-1, len/2, 4096} minus 0..4096,
    /// map, truncate, read every byte. No crash, content below the new end
    /// is intact, above it zero, and the flag is set exactly when a page
    /// wholly past the new end exists.
    #[test]
    fn sapling_style_truncation_sweep() {
        let _table = shared_table();
        assert_eq!(page_size(), PAGE, "test assumes 4 KiB pages");
        let len = 4 * PAGE + 100;
        let dir = tempfile::tempdir().unwrap();
        let (_path, file) = make_file(dir.path(), "sweep", len);
        let content = pattern_prefix(len);
        let zeros = vec![0u8; len];
        let mut flagged = 0;
        for base in [len - 1, len / 2, 4096] {
            for delta in 0..4096 {
                let new_size = base - delta;
                let map = GuardedMap::map(file.as_fd(), len).unwrap();
                file.set_len(new_size as u64).unwrap();
                let bytes = map.bytes();
                assert!(
                    bytes[..new_size] == content[..new_size],
                    "new size {new_size}"
                );
                assert!(
                    bytes[new_size..] == zeros[new_size..],
                    "new size {new_size}"
                );
                let expected = new_size.next_multiple_of(PAGE) < len.next_multiple_of(PAGE);
                assert_eq!(map.faulted(), expected, "new size {new_size}");
                flagged += usize::from(expected);
                drop(map);
                file.write_all_at(&content[new_size..], new_size as u64)
                    .unwrap();
            }
        }
        assert!(flagged > 4096, "the sweep must exercise the fault path");
    }

    /// Writes the file back and evicts it from the page cache, so the next
    /// read faults pages in from disk (truncation then races the I/O).
    fn drop_page_cache(file: &File) {
        file.sync_all().unwrap();
        // SAFETY: posix_fadvise only takes an fd and a range; no memory.
        let rc = unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        assert_eq!(rc, 0);
    }

    /// (2c) Truncation to 0 at an arbitrary moment while 8 threads hash one
    /// byte per page (with about 1 us of work per page, so the hash spans a
    /// few milliseconds whatever the build profile). A page read after the
    /// truncation reads 0 instead of a non-zero pattern byte, so the sum is
    /// wrong exactly when the mapping is flagged, whatever the interleaving.
    /// Odd rounds start with the files evicted from the page cache.
    #[test]
    fn racy_truncation_to_zero_is_always_flagged() {
        let _table = shared_table();
        let dir = tempfile::tempdir().unwrap();
        let len = 16 << 20;
        let mut seen = [0usize; 2];
        for round in 0..6u64 {
            let results: Vec<(bool, bool)> = thread::scope(|scope| {
                let handles: Vec<_> = (0..8u64)
                    .map(|t| {
                        let (path, file) = make_file(dir.path(), &format!("r{t}"), len);
                        if round % 2 == 1 {
                            drop_page_cache(&file);
                        }
                        scope.spawn(move || {
                            let map = GuardedMap::map(file.as_fd(), len).unwrap();
                            let started = Arc::new(Barrier::new(2));
                            let delay = Duration::from_micros((round * 8 + t) * 397 % 6000);
                            let truncator = thread::spawn({
                                let started = Arc::clone(&started);
                                move || {
                                    started.wait();
                                    thread::sleep(delay);
                                    truncate(&path, 0);
                                }
                            });
                            started.wait();
                            let bytes = map.bytes();
                            let (mut sum, mut expected) = (0u64, 0u64);
                            for o in (0..len).step_by(PAGE) {
                                sum += u64::from(bytes[o]);
                                expected += u64::from(pattern(o));
                                let work = Instant::now();
                                while work.elapsed() < Duration::from_micros(1) {}
                            }
                            truncator.join().unwrap();
                            (map.faulted(), sum != expected)
                        })
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            for (faulted, wrong) in results {
                assert_eq!(faulted, wrong, "flag must match corrupted content");
                seen[usize::from(faulted)] += 1;
            }
        }
        eprintln!("racy truncation: {} clean, {} flagged", seen[0], seen[1]);
        assert!(seen[1] > 0, "no truncation landed during a hash");
    }

    /// (3) Mapping and dropping 10,000 times leaves no slot taken; a full
    /// table refuses with WouldBlock and recovers when a mapping drops.
    #[test]
    fn map_drop_does_not_leak_slots() {
        let _table = exclusive_table();
        let dir = tempfile::tempdir().unwrap();
        let (_path, file) = make_file(dir.path(), "small", 3 * PAGE);
        assert_eq!(imp::active_slots(), 0);
        for _ in 0..10_000 {
            let map = GuardedMap::map(file.as_fd(), 3 * PAGE).unwrap();
            assert_eq!(map.bytes()[PAGE], pattern(PAGE));
        }
        assert_eq!(imp::active_slots(), 0);

        let mut maps: Vec<GuardedMap> = (0..SLOT_COUNT)
            .map(|_| GuardedMap::map(file.as_fd(), 3 * PAGE).unwrap())
            .collect();
        let err = GuardedMap::map(file.as_fd(), 3 * PAGE).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        maps.pop();
        maps.push(GuardedMap::map(file.as_fd(), 3 * PAGE).unwrap());
        drop(maps);
        assert_eq!(imp::active_slots(), 0);
        let err = GuardedMap::map(file.as_fd(), 0).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    /// A mapping shared by several threads: each thread's fault is absorbed
    /// and lands in the one flag.
    #[test]
    fn one_mapping_read_by_many_threads() {
        let _table = shared_table();
        let dir = tempfile::tempdir().unwrap();
        let len = 8 << 20;
        let (path, file) = make_file(dir.path(), "shared", len);
        let map = GuardedMap::map(file.as_fd(), len).unwrap();
        truncate(&path, PAGE);
        let quarter = len / 4;
        let sums: Vec<u64> = thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|q| {
                    let bytes = &map.bytes()[q * quarter..(q + 1) * quarter];
                    scope.spawn(move || bytes.iter().map(|&b| u64::from(b)).sum::<u64>())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(sums[1..], [0, 0, 0]);
        assert!(map.faulted());
    }

    // ---- (4) child processes: foreign SIGBUS still kills ----

    const CHILD_ENV: &str = "FIMSUM_MAPPED_TEST_CHILD";
    const SURVIVED: &str = "FIMSUM-MAPPED-CHILD-SURVIVED";

    #[derive(Debug)]
    struct ChildOutcome {
        code: Option<i32>,
        signal: Option<i32>,
        /// The child's stdout then stderr.
        output: String,
    }

    impl ChildOutcome {
        fn survived(&self) -> bool {
            self.code == Some(0) && self.output.contains(SURVIVED)
        }
    }

    /// Re-runs this test binary, running only `child_entry` in `mode`. A
    /// child that loops on a fault (a broken handler re-faulting forever) is
    /// killed after a minute and reported as a failure, not a hang.
    fn run_child(mode: &str, without_handler: bool) -> ChildOutcome {
        // module_path!() is "crate::...::tests"; the harness names tests
        // without the crate segment.
        let module = module_path!().split_once("::").unwrap().1;
        let log_dir = tempfile::tempdir().unwrap();
        let log_path = log_dir.path().join("output");
        let log = File::create(&log_path).unwrap();
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", &format!("{module}::child_entry")])
            .args(["--test-threads=1", "--nocapture"])
            .env(CHILD_ENV, mode)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if without_handler {
            command.env(imp::WITHOUT_HANDLER_ENV, "1");
        } else {
            command.env_remove(imp::WITHOUT_HANDLER_ENV);
        }
        let mut child = command.spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("child {mode} did not finish within 60 s");
            }
            thread::sleep(Duration::from_millis(20));
        };
        ChildOutcome {
            code: status.code(),
            signal: status.signal(),
            output: std::fs::read_to_string(&log_path).unwrap(),
        }
    }

    fn set_sigbus(handler: libc::sighandler_t, flags: libc::c_int) {
        // SAFETY: zeroed sigaction is valid; the handler value is SIG_DFL,
        // SIG_IGN or a valid extern "C" handler matching `flags`.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler;
            action.sa_flags = flags;
            assert_eq!(
                libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut()),
                0
            );
        }
    }

    extern "C" fn custom_handler(_: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
        // SAFETY: the kernel passes a valid siginfo_t; _exit is async-signal-safe.
        unsafe {
            let code = if (*info).si_code == libc::BUS_ADRERR {
                42
            } else {
                43
            };
            libc::_exit(code);
        }
    }

    /// Touches a truncated page of a plain memmap2 mapping (not ours).
    fn foreign_fault(dir: &Path) {
        let (path, file) = make_file(dir, "foreign", 4 * PAGE);
        // SAFETY: test code; the point is that this mapping is unprotected.
        let foreign = unsafe { memmap2::Mmap::map(&file) }.unwrap();
        truncate(&path, 0);
        // SAFETY: the pointer is inside the mapping; the read faults.
        let byte = unsafe { std::ptr::read_volatile(foreign.as_ptr().add(2 * PAGE)) };
        println!("foreign read returned {byte}");
    }

    /// Lines of /proc/self/maps overlapping `[start, end)`.
    fn regions_overlapping(start: usize, end: usize) -> Vec<String> {
        std::fs::read_to_string("/proc/self/maps")
            .unwrap()
            .lines()
            .filter(|line| {
                let range = line.split_whitespace().next().unwrap();
                let (lo, hi) = range.split_once('-').unwrap();
                let lo = usize::from_str_radix(lo, 16).unwrap();
                let hi = usize::from_str_radix(hi, 16).unwrap();
                lo < end && start < hi
            })
            .map(str::to_owned)
            .collect()
    }

    /// After a fault the range is two VMAs (file pages, then zero pages);
    /// dropping the map must unmap both. Run in a child process so no other
    /// thread can map something at the freed address in between.
    fn unmap_check(dir: &Path) {
        let len = 4 * PAGE;
        let (path, file) = make_file(dir, "split", len);
        let map = GuardedMap::map(file.as_fd(), len).unwrap();
        let start = map.bytes().as_ptr() as usize;
        assert_eq!(map.bytes()[PAGE], pattern(PAGE));
        truncate(&path, PAGE + 1);
        assert_eq!(map.bytes()[2 * PAGE + 7], 0);
        assert!(map.faulted());
        let before = regions_overlapping(start, start + len);
        assert_eq!(before.len(), 2, "{before:?}");
        assert!(before[1].contains(" 00000000 00:00 0"), "{before:?}");
        drop(map);
        let after = regions_overlapping(start, start + len);
        assert!(after.is_empty(), "{after:?}");
    }

    /// Entry point of the child processes; does nothing in a normal run.
    #[test]
    fn child_entry() {
        let Ok(mode) = std::env::var(CHILD_ENV) else {
            return;
        };
        // SAFETY: prctl(PR_SET_DUMPABLE, 0) only disables core dumps for
        // this child, which is meant to die.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
        let dir = tempfile::tempdir().unwrap();
        match mode.as_str() {
            "truncate-mid-hash" => {
                let (faulted, _, _) = truncate_to_zero_mid_hash();
                assert!(faulted);
            }
            _ => {
                // The previous action our handler will chain to.
                match mode.as_str() {
                    "foreign-dfl" | "raise-dfl" => set_sigbus(libc::SIG_DFL, 0),
                    "foreign-ign" | "raise-ign" => set_sigbus(libc::SIG_IGN, 0),
                    "foreign-custom" => set_sigbus(
                        custom_handler as *const () as libc::sighandler_t,
                        libc::SA_SIGINFO,
                    ),
                    _ => {} // "foreign-std", "replaced": Rust std's handler
                }
                // A live mapping of ours, so the table is not empty.
                let (_path, file) = make_file(dir.path(), "ours", 4 * PAGE);
                let ours = GuardedMap::map(file.as_fd(), 4 * PAGE).unwrap();
                match mode.as_str() {
                    "raise-dfl" | "raise-ign" => {
                        // SAFETY: raise has no memory-safety preconditions.
                        unsafe { libc::raise(libc::SIGBUS) };
                    }
                    "raise-std" => {
                        // SAFETY: raise has no memory-safety preconditions.
                        unsafe { libc::raise(libc::SIGBUS) };
                        // std's handler reset the action to SIG_DFL: we
                        // survive, and map() now refuses instead of mapping
                        // unprotected.
                        let err = GuardedMap::map(file.as_fd(), PAGE).unwrap_err();
                        assert_eq!(err.kind(), io::ErrorKind::Other);
                    }
                    "unmap-check" => unmap_check(dir.path()),
                    "replaced" => {
                        set_sigbus(libc::SIG_DFL, 0);
                        let err = GuardedMap::map(file.as_fd(), PAGE).unwrap_err();
                        assert_eq!(err.kind(), io::ErrorKind::Other);
                    }
                    _ => foreign_fault(dir.path()),
                }
                assert!(!ours.faulted());
            }
        }
        println!("{SURVIVED}");
    }

    /// (4) A SIGBUS from a mapping that is not ours still kills the process,
    /// whatever the previous action was (Rust std's handler, SIG_DFL, or
    /// SIG_IGN, which the kernel overrides for faults).
    #[test]
    fn foreign_sigbus_still_kills() {
        for mode in ["foreign-std", "foreign-dfl", "foreign-ign", "raise-dfl"] {
            let child = run_child(mode, false);
            assert_eq!(child.signal, Some(libc::SIGBUS), "{mode}: {child:?}");
        }
    }

    /// (4b) A previous custom handler is called for faults that are not ours,
    /// a process-sent SIGBUS stays ignored under SIG_IGN, and a replaced
    /// handler makes map() refuse (also when std's handler, chained to for a
    /// `kill -BUS`, resets the action to SIG_DFL).
    #[test]
    fn chaining_to_previous_actions() {
        let child = run_child("foreign-custom", false);
        assert_eq!(child.code, Some(42), "{child:?}");
        let child = run_child("raise-ign", false);
        assert!(child.survived(), "{child:?}");
        let child = run_child("replaced", false);
        assert!(child.survived(), "{child:?}");
        let child = run_child("raise-std", false);
        assert!(child.survived(), "{child:?}");
    }

    /// Dropping a faulted mapping unmaps both the file pages and the zero pages.
    #[test]
    fn drop_unmaps_file_and_zero_pages() {
        let child = run_child("unmap-check", false);
        assert!(child.survived(), "{child:?}");
    }

    // ---- throughput: read() vs GuardedMap ----

    fn xor_fold(data: &[u8]) -> u64 {
        let mut chunks = data.chunks_exact(8);
        let mut acc = 0u64;
        for chunk in &mut chunks {
            acc ^= u64::from_ne_bytes(chunk.try_into().unwrap());
        }
        for &byte in chunks.remainder() {
            acc ^= u64::from(byte);
        }
        acc
    }

    fn fold_by_read(path: &Path, buf: &mut [u8]) -> u64 {
        let mut file = File::open(path).unwrap();
        let mut acc = 0u64;
        let mut carry = 0; // bytes of a partial 8-byte word kept for alignment
        loop {
            let n = file.read(&mut buf[carry..]).unwrap();
            if n == 0 {
                break;
            }
            let have = carry + n;
            let whole = have / 8 * 8;
            acc ^= xor_fold(&buf[..whole]);
            buf.copy_within(whole..have, 0);
            carry = have - whole;
        }
        acc ^ xor_fold(&buf[..carry])
    }

    fn fold_by_map(path: &Path) -> (u64, bool) {
        let file = File::open(path).unwrap();
        let len = usize::try_from(file.metadata().unwrap().len()).unwrap();
        let map = GuardedMap::map(file.as_fd(), len).unwrap();
        let acc = xor_fold(map.bytes());
        (acc, map.faulted())
    }

    /// Prints GB/s for read() into a 256 KiB buffer vs GuardedMap, on warm
    /// files, touching every byte. Run with
    /// `cargo test --release -- --ignored --nocapture throughput`.
    /// Set FIMSUM_BENCH_DIR to choose where the files go.
    #[test]
    #[ignore = "benchmark; run explicitly in release mode"]
    fn throughput_read_vs_guarded_map() {
        let _table = shared_table();
        let dir = match std::env::var_os("FIMSUM_BENCH_DIR") {
            Some(d) => tempfile::tempdir_in(d).unwrap(),
            None => tempfile::tempdir().unwrap(),
        };
        let gbps = |len: usize, secs: f64| len as f64 / secs / 1e9;
        let summary = |len: usize, times: &mut Vec<f64>| {
            times.sort_by(f64::total_cmp);
            format!(
                "best {:5.2} median {:5.2} GB/s",
                gbps(len, times[0]),
                gbps(len, times[times.len() / 2])
            )
        };
        for (name, len, reps) in [
            ("1 MiB", 1usize << 20, 301),
            ("4 MiB", 4 << 20, 101),
            ("64 MiB", 64 << 20, 31),
            ("1 GiB", 1 << 30, 9),
        ] {
            let (path, file) = make_file(dir.path(), name, len);
            file.sync_all().unwrap();
            let mut buf = vec![0u8; 256 << 10];
            let want = fold_by_read(&path, &mut buf); // warms the page cache
            let (mut by_read, mut by_map) = (Vec::new(), Vec::new());
            for _ in 0..reps {
                let t = Instant::now();
                assert_eq!(fold_by_read(&path, &mut buf), want);
                by_read.push(t.elapsed().as_secs_f64());
                let t = Instant::now();
                assert_eq!(fold_by_map(&path), (want, false));
                by_map.push(t.elapsed().as_secs_f64());
            }
            println!(
                "{name:>6} warm file, {reps} runs: read(256 KiB): {}   GuardedMap: {}",
                summary(len, &mut by_read),
                summary(len, &mut by_map)
            );
        }
        // Ceilings: the fold alone over data already in memory (DRAM-bound)
        // and over a buffer that stays in cache (compute-bound).
        for (name, len, reps) in [
            ("in cache (256 KiB)", 256usize << 10, 2001),
            ("in RAM (1 GiB)", 1 << 30, 9),
        ] {
            let data: Vec<u8> = (0..len).map(|i| pattern(i & 0xffff)).collect();
            let mut times = Vec::new();
            for _ in 0..reps {
                let t = Instant::now();
                std::hint::black_box(xor_fold(std::hint::black_box(&data)));
                times.push(t.elapsed().as_secs_f64());
            }
            println!("xor-fold alone, {name}: {}", summary(len, &mut times));
        }
    }
}
