//! The physical floor of a checksum scan of one tree on this machine: the least CPU time that
//! listing the tree, reading every regular file and hashing its bytes can take, measured part
//! by part, so that a performance target against rsync can be checked against what the
//! machine allows at all.
//!
//! The tree is listed once (`walk`: `getdents64` and one `fstatat` per entry relative to
//! its directory, the metadata any scan needs), and walked again by descriptors alone, once
//! with `fstatat` and once with `statx` asking only for the fields a record holds. Then
//! each way of getting the files' bytes runs, with no hashing, on `--threads` threads
//! taking files from one shared index, over the files under 1 MiB and over the bigger ones
//! apart (fimsum reads the first and maps the second): `syscalls` makes the calls fimsum
//! makes for a small file (`openat`, `fstat`, `read`s of at most 128 KiB up to the size,
//! `fstat`, `close`); `mmap` maps a big file and touches every page instead of copying it;
//! `uring` makes the same per-file calls as `syscalls` through one io_uring per thread with
//! many files in flight, the two `fstat`s as linked `statx` entries (`uring statx`), as
//! plain `fstat` calls (`uring+fstat`) or left out (`uring-nostat`, which does less than a
//! scan must and so is no candidate for the floor). Each counts the cheapest of `--repeat`
//! runs: the other core's load only ever adds. Hashing is measured apart, on one thread, on
//! in-memory sets of messages whose sizes are drawn from the tree's, and scaled to the
//! tree's bytes. The floor of a scan is the cheapest walk, plus the cheapest way in for
//! each of the two kinds of files, plus the hash, in CPU seconds; divided by the cores, the
//! least wall time a perfectly parallel scan could take.
//!
//! `cargo run --release --example floor -- [--threads N] [--repeat N] [--batch N] [--json] TREE`

use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use fimsum::hash::md5::{md5_many, Kernel};
use fimsum::hash::Algorithm;
use fimsum::testing::SplitMix;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, StatxFlags, CWD};

/// The largest read, as in fimsum's scan.
const PIECE: usize = 128 * 1024;
/// Files this big or bigger are mapped by the `mmap` way in, as in fimsum's scan.
const MAP_MIN: u64 = 1 << 20;
/// The page size whose every page a mapping's reader touches.
const PAGE: usize = 4096;
/// Files in flight on each thread's io_uring, unless `--batch` says otherwise.
const URING_BATCH: usize = 64;
/// The size of the in-memory message set that the hash kernels run on.
const HASH_SET_BYTES: u64 = 256 << 20;
/// The largest messages of that set, one set each: a few huge files would otherwise make up
/// all of it. How big files are cut changes only how evenly the SIMD lanes are loaded, which
/// differs by kernel, so each kernel counts on the set it hashes fastest.
const HASH_MESSAGE_MAX: [u64; 2] = [2 << 20, 32 << 20];
/// Hashing repeats over the set until it has taken this much CPU time.
const HASH_MIN_CPU: f64 = 0.5;

/// One regular file of the tree.
struct File {
    /// The directory's descriptor, if it could be kept open; else `path` is opened.
    dir: Option<usize>,
    /// The name within that directory.
    leaf: CString,
    /// The whole path.
    path: CString,
    /// The size the listing saw.
    size: u64,
}

/// The tree's regular files and the directories kept open for opening them.
struct Tree {
    dirs: Vec<OwnedFd>,
    files: Vec<File>,
    /// The cost of listing it.
    walk: Usage,
}

impl Tree {
    fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// Where `openat` starts and what name it gets for a file.
    fn at<'f>(&self, file: &'f File) -> (RawFd, &'f CString) {
        match file.dir {
            Some(d) => (self.dirs[d].as_raw_fd(), &file.leaf),
            None => (libc::AT_FDCWD, &file.path),
        }
    }
}

/// CPU time (user + system, all threads) and wall time of one measured step.
#[derive(Clone, Copy, Default)]
struct Usage {
    cpu: f64,
    wall: f64,
}

/// One row of the table: what was measured, over how many bytes.
struct Row {
    name: String,
    /// The files a way in got, or `None` for the walk and the hashes.
    class: Option<Class>,
    usage: Usage,
    bytes: u64,
}

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Runs `f` `repeat` times, keeping the run of least CPU time: the floor is a lower bound,
/// and the other core's load only ever adds to a run.
fn best_of<R>(repeat: usize, mut f: impl FnMut() -> R) -> (R, Usage) {
    let mut best = measure(&mut f);
    for _ in 1..repeat {
        let run = measure(&mut f);
        if run.1.cpu < best.1.cpu {
            best = run;
        }
    }
    best
}

/// Runs `f`, measuring it.
fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let (cpu, wall) = (cpu_seconds(), Instant::now());
    let r = f();
    let usage = Usage {
        cpu: cpu_seconds() - cpu,
        wall: wall.elapsed().as_secs_f64(),
    };
    (r, usage)
}

/// How the ways in run.
#[derive(Clone, Copy)]
struct Plan {
    /// Threads sharing the files.
    threads: usize,
    /// Runs of each, of which the cheapest counts.
    repeat: usize,
    /// Files in flight on each io_uring.
    batch: usize,
}

struct Args {
    plan: Plan,
    json: bool,
    tree: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let usage = "usage: floor [--threads N] [--repeat N] [--batch N] [--json] TREE";
    let mut plan = Plan {
        threads: 2,
        repeat: 3,
        batch: URING_BATCH,
    };
    let mut json = false;
    let mut tree = None;
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--json") => json = true,
            Some(flag @ ("--threads" | "--repeat" | "--batch")) => {
                let n = args.next().ok_or(usage)?;
                let n = n
                    .to_str()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n: &usize| n > 0)
                    .ok_or_else(|| format!("{flag}: not a positive number: {n:?}"))?;
                match flag {
                    "--threads" => plan.threads = n,
                    "--repeat" => plan.repeat = n,
                    _ => plan.batch = n.min(1 << 12),
                }
            }
            Some("-h" | "--help") => return Err(usage.to_owned()),
            _ if tree.is_none() => tree = Some(PathBuf::from(arg)),
            _ => return Err(usage.to_owned()),
        }
    }
    let tree = tree.ok_or(usage)?;
    Ok(Args { plan, json, tree })
}

fn cstring(path: &Path) -> Option<CString> {
    CString::new(path.as_os_str().as_bytes()).ok()
}

/// Lists the regular files under `root` (not following symlinks), keeping directories open
/// while fewer than `keep_dirs` are.
fn list_tree(root: &Path, keep_dirs: usize) -> Tree {
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    let ((), walk) = measure(|| {
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            list_dir(&dir, keep_dirs, &mut dirs, &mut files, &mut stack);
        }
    });
    Tree { dirs, files, walk }
}

fn list_dir(
    dir: &Path,
    keep_dirs: usize,
    dirs: &mut Vec<OwnedFd>,
    files: &mut Vec<File>,
    stack: &mut Vec<PathBuf>,
) {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let listed = rustix::fs::open(dir, flags, Mode::empty())
        .and_then(|fd| rustix::fs::Dir::read_from(&fd).map(|entries| (fd, entries)));
    let (fd, entries) = match listed {
        Ok(listed) => listed,
        Err(e) => return eprintln!("floor: {}: {e}", dir.display()),
    };
    let mut index = None;
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                eprintln!("floor: {}: {e}", dir.display());
                break;
            }
        };
        let name = entry.file_name();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        let path = dir.join(OsStr::from_bytes(name.to_bytes()));
        let stat = match rustix::fs::statat(&fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(stat) => stat,
            Err(e) => {
                eprintln!("floor: {}: {e}", path.display());
                continue;
            }
        };
        match FileType::from_raw_mode(stat.st_mode) {
            FileType::Directory => stack.push(path),
            FileType::RegularFile => {
                let Some(cpath) = cstring(&path) else {
                    continue;
                };
                if index.is_none() && dirs.len() < keep_dirs {
                    index = Some(dirs.len());
                }
                files.push(File {
                    dir: index,
                    leaf: name.to_owned(),
                    path: cpath,
                    size: stat.st_size as u64,
                });
            }
            _ => {}
        }
    }
    if index.is_some() {
        dirs.push(fd);
    }
}

/// The walk again by descriptors alone, as fimsum's walker makes it (each directory opened
/// relative to its parent, each entry looked at relative to its directory by `look`),
/// keeping nothing: to set `fstatat` beside `statx` asking only for what a scan records.
/// What cannot be opened or listed is left out here; the listing reported it.
fn walk_by(
    root: &Path,
    repeat: usize,
    look: impl Fn(&OwnedFd, &CStr) -> Option<FileType>,
) -> Usage {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let walk = || {
        let Ok(top) = rustix::fs::open(root, flags, Mode::empty()) else {
            return;
        };
        let mut stack = vec![top];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = rustix::fs::Dir::read_from(&dir) else {
                continue;
            };
            for entry in entries.map_while(Result::ok) {
                let name = entry.file_name();
                if matches!(name.to_bytes(), b"." | b"..") {
                    continue;
                }
                if look(&dir, name) == Some(FileType::Directory) {
                    if let Ok(sub) = rustix::fs::openat(&dir, name, flags, Mode::empty()) {
                        stack.push(sub);
                    }
                }
            }
        }
    };
    best_of(repeat, walk).1
}

/// The walks by [`walk_by`]: `fstatat`, and `statx` with the fields a record holds.
fn measure_walks(root: &Path, repeat: usize) -> Vec<Row> {
    let fstatat = |dir: &OwnedFd, name: &CStr| {
        let st = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).ok()?;
        Some(FileType::from_raw_mode(st.st_mode))
    };
    let needed = StatxFlags::TYPE
        | StatxFlags::MODE
        | StatxFlags::NLINK
        | StatxFlags::UID
        | StatxFlags::GID
        | StatxFlags::MTIME
        | StatxFlags::CTIME
        | StatxFlags::INO
        | StatxFlags::SIZE;
    let statx = |dir: &OwnedFd, name: &CStr| {
        let st = rustix::fs::statx(dir, name, AtFlags::SYMLINK_NOFOLLOW, needed).ok()?;
        Some(FileType::from_raw_mode(u32::from(st.stx_mode)))
    };
    let row = |name: &str, usage| Row {
        name: name.into(),
        class: None,
        usage,
        bytes: 0,
    };
    vec![
        row("walk by fd, fstatat", walk_by(root, repeat, fstatat)),
        row("walk by fd, statx needed", walk_by(root, repeat, statx)),
    ]
}

/// Drops the files that cannot be opened for reading, each with a message.
fn keep_readable(tree: &mut Tree) {
    let dirs = &tree.dirs;
    tree.files.retain(|file| {
        let opened = match file.dir {
            Some(d) => rustix::fs::openat(&dirs[d], &file.leaf, open_flags(), Mode::empty()),
            None => rustix::fs::openat(CWD, &file.path, open_flags(), Mode::empty()),
        };
        match opened {
            Ok(_) => true,
            Err(e) => {
                eprintln!(
                    "floor: {}: {e}",
                    OsStr::from_bytes(file.path.as_bytes()).display()
                );
                false
            }
        }
    });
}

fn open_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC
}

fn open_file(tree: &Tree, file: &File) -> Result<OwnedFd, rustix::io::Errno> {
    match file.dir {
        Some(d) => rustix::fs::openat(&tree.dirs[d], &file.leaf, open_flags(), Mode::empty()),
        None => rustix::fs::openat(CWD, &file.path, open_flags(), Mode::empty()),
    }
}

/// Runs `per_file` over every file on `threads` threads sharing one index; `per_file` gets
/// its thread's state (made by `init`) and returns the bytes it got from the file, or an
/// error. Returns the bytes of all files.
fn run_parallel<S>(
    files: &[&File],
    threads: usize,
    init: impl Fn() -> S + Sync,
    per_file: impl Fn(&mut S, &File) -> Result<u64, rustix::io::Errno> + Sync,
) -> u64 {
    let next = AtomicUsize::new(0);
    let total = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut state = init();
                let mut bytes = 0u64;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&file) = files.get(i) else { break };
                    match per_file(&mut state, file) {
                        Ok(n) => bytes += n,
                        Err(e) => report(file, e),
                    }
                }
                total.fetch_add(bytes as usize, Ordering::Relaxed);
            });
        }
    });
    total.into_inner() as u64
}

fn report(file: &File, e: impl std::fmt::Display) {
    eprintln!(
        "floor: {}: {e}",
        OsStr::from_bytes(file.path.as_bytes()).display()
    );
}

/// Reads `fd` in pieces of at most [`PIECE`] up to `size` (no read to see the end, as in
/// fimsum's scan), returning the bytes read.
fn read_up_to(fd: &OwnedFd, size: u64, buf: &mut [u8]) -> Result<u64, rustix::io::Errno> {
    let mut total = 0u64;
    while total < size {
        let want = (size - total).min(buf.len() as u64) as usize;
        match rustix::io::read(fd, &mut buf[..want]) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(total)
}

/// `openat`, `fstat`, `read`s, `fstat`, `close`: one file the way fimsum reads a small file.
fn read_with_syscalls(tree: &Tree, file: &File, buf: &mut [u8]) -> Result<u64, rustix::io::Errno> {
    let fd = open_file(tree, file)?;
    let size = rustix::fs::fstat(&fd)?.st_size as u64;
    let n = read_up_to(&fd, size, buf)?;
    rustix::fs::fstat(&fd)?;
    drop(fd);
    Ok(n)
}

/// How a big file's mapping gets its pages.
#[derive(Clone, Copy)]
enum MapMode {
    Populate,
    Sequential,
}

impl MapMode {
    fn name(self) -> &'static str {
        match self {
            MapMode::Populate => "mmap MAP_POPULATE",
            MapMode::Sequential => "mmap MADV_SEQUENTIAL",
        }
    }
}

/// A big file mapped and every page touched, between the two `fstat`s; smaller files as in
/// [`read_with_syscalls`].
fn read_mapped(
    tree: &Tree,
    file: &File,
    mode: MapMode,
    buf: &mut [u8],
) -> Result<u64, rustix::io::Errno> {
    if file.size < MAP_MIN {
        return read_with_syscalls(tree, file, buf);
    }
    let fd = open_file(tree, file)?;
    let size = rustix::fs::fstat(&fd)?.st_size as u64;
    let touched = touch_mapped(&fd, size as usize, mode)?;
    rustix::fs::fstat(&fd)?;
    Ok(touched)
}

/// Maps `len` bytes of `fd` privately and read-only, reads one byte of every page, unmaps.
fn touch_mapped(fd: &OwnedFd, len: usize, mode: MapMode) -> Result<u64, rustix::io::Errno> {
    if len == 0 {
        return Ok(0);
    }
    let flags = match mode {
        MapMode::Populate => libc::MAP_PRIVATE | libc::MAP_POPULATE,
        MapMode::Sequential => libc::MAP_PRIVATE,
    };
    // SAFETY: a fresh read-only mapping of a file descriptor we own; no Rust reference to it
    // outlives this function, and it is only read through raw pointers below.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            flags,
            fd.as_raw_fd(),
            0,
        )
    };
    if addr == libc::MAP_FAILED {
        let errno = std::io::Error::last_os_error().raw_os_error();
        return Err(rustix::io::Errno::from_raw_os_error(
            errno.unwrap_or(libc::EIO),
        ));
    }
    if let MapMode::Sequential = mode {
        // SAFETY: advice on the mapping made above, of exactly that length.
        unsafe { libc::madvise(addr, len, libc::MADV_SEQUENTIAL) };
    }
    let base = addr as *const u8;
    let mut sum = 0u8;
    for offset in (0..len).step_by(PAGE) {
        // SAFETY: offset < len, within the mapping. A file truncated meanwhile would raise
        // SIGBUS; the tree is assumed still while it is measured.
        sum = sum.wrapping_add(unsafe { std::ptr::read_volatile(base.add(offset)) });
    }
    std::hint::black_box(sum);
    // SAFETY: unmaps exactly the mapping made above, no longer used.
    unsafe { libc::munmap(addr, len) };
    Ok(len as u64)
}

mod uring {
    //! The per-file calls of `syscalls` through io_uring: each thread keeps a batch of
    //! files in flight on its own ring, each file a slot going through open, reads and close,
    //! with the two `fstat`s as [`Stat`] says (`Stat::Ring`: a `statx` linked before the
    //! first read and one before the close). Reads go into buffers
    //! registered with the ring, one per slot, with `RWF_NOWAIT`: a read the ring cannot finish
    //! at once is made by a plain `pread` instead of by a worker thread of the ring. (A read
    //! linked after a `statx` still runs on a worker: the ring hands every `statx` to one.) One
    //! `io_uring_enter` submits every queued entry and waits for a completion.

    use super::{File, Tree, PIECE};
    use io_uring::{opcode, squeue, types, IoUring};
    use std::io;

    const OPEN: u64 = 0;
    const STAT: u64 = 1;
    const READ: u64 = 2;
    const CLOSE: u64 = 3;

    fn tag(slot: usize, op: u64) -> u64 {
        (slot as u64) << 2 | op
    }

    /// What a slot is doing with its file.
    struct Slot<'t> {
        file: Option<&'t File>,
        fd: i32,
        done: u64,
        statx: Box<libc::statx>,
        failed: bool,
    }

    /// How the two `fstat`s of a file are made.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Stat {
        /// `IORING_OP_STATX` with `AT_EMPTY_PATH`, linked before the first read and the close.
        Ring,
        /// A plain `fstat` call after the open completes and before the close is queued.
        Syscall,
        /// None: what the rest costs.
        Skip,
    }

    /// One thread's ring, its buffers and its slots.
    pub struct Reader<'t> {
        ring: IoUring,
        bufs: Vec<Vec<u8>>,
        slots: Vec<Slot<'t>>,
        stat: Stat,
        queued: Vec<squeue::Entry>,
    }

    /// Whether io_uring works here at all (ENOSYS, or EPERM from `kernel.io_uring_disabled`
    /// or a seccomp filter, say no).
    pub fn available() -> Result<(), io::Error> {
        IoUring::new(8).map(drop)
    }

    impl<'t> Reader<'t> {
        /// A ring for `batch` files at once.
        pub fn new(stat: Stat, batch: usize) -> Result<Reader<'t>, io::Error> {
            let ring = IoUring::new((batch * 4).next_power_of_two() as u32)?;
            let mut bufs: Vec<Vec<u8>> = (0..batch).map(|_| vec![0u8; PIECE]).collect();
            let iovecs: Vec<libc::iovec> = bufs
                .iter_mut()
                .map(|b| libc::iovec {
                    iov_base: b.as_mut_ptr().cast(),
                    iov_len: b.len(),
                })
                .collect();
            // SAFETY: the buffers live in `bufs` as long as the ring (dropped together) and
            // are not moved: only their heap memory is registered.
            unsafe { ring.submitter().register_buffers(&iovecs)? };
            let slots = (0..batch)
                .map(|_| Slot {
                    file: None,
                    fd: -1,
                    done: 0,
                    // SAFETY: statx is plain old data; all zeroes is a valid value.
                    statx: Box::new(unsafe { std::mem::zeroed() }),
                    failed: false,
                })
                .collect();
            Ok(Reader {
                ring,
                bufs,
                slots,
                stat,
                queued: Vec::new(),
            })
        }

        /// Reads every file that `next` hands out, returning the bytes read.
        pub fn read_all(
            &mut self,
            tree: &'t Tree,
            mut next: impl FnMut() -> Option<&'t File>,
        ) -> Result<u64, io::Error> {
            let mut total = 0u64;
            let mut busy = 0usize;
            let mut exhausted = false;
            loop {
                for slot in 0..self.slots.len() {
                    if exhausted || self.slots[slot].file.is_some() {
                        continue;
                    }
                    match next() {
                        Some(file) => {
                            self.start(tree, slot, file);
                            busy += 1;
                        }
                        None => exhausted = true,
                    }
                }
                if busy == 0 {
                    return Ok(total);
                }
                self.submit()?;
                let completed: Vec<(u64, i32)> = self
                    .ring
                    .completion()
                    .map(|c| (c.user_data(), c.result()))
                    .collect();
                for (data, res) in completed {
                    let slot = (data >> 2) as usize;
                    if let Some(bytes) = self.complete(slot, data & 3, res) {
                        total += bytes;
                        busy -= 1;
                    }
                }
            }
        }

        /// Submits everything queued and waits for at least one completion. A slot has at
        /// most one chain of two entries queued, so the queue (four entries a slot) never
        /// fills and no link chain is split between two submissions.
        fn submit(&mut self) -> Result<(), io::Error> {
            {
                let mut sq = self.ring.submission();
                for entry in self.queued.drain(..) {
                    // SAFETY: every pointer in the entry (path, statx buffer, registered
                    // buffer) outlives its completion: the tree outlives the call, the slots
                    // and buffers outlive the ring.
                    if unsafe { sq.push(&entry) }.is_err() {
                        return Err(io::Error::other("submission queue full"));
                    }
                }
            }
            self.ring.submit_and_wait(1)?;
            Ok(())
        }

        fn start(&mut self, tree: &'t Tree, slot: usize, file: &'t File) {
            let (dir, name) = tree.at(file);
            let s = &mut self.slots[slot];
            s.file = Some(file);
            s.fd = -1;
            s.done = 0;
            s.failed = false;
            let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
            let open = opcode::OpenAt::new(types::Fd(dir), name.as_ptr())
                .flags(flags)
                .build()
                .user_data(tag(slot, OPEN));
            self.queued.push(open);
        }

        fn stat_entry(&mut self, slot: usize) -> squeue::Entry {
            let s = &mut self.slots[slot];
            let buf: *mut libc::statx = &mut *s.statx;
            opcode::Statx::new(types::Fd(s.fd), c"".as_ptr(), buf.cast())
                .flags(libc::AT_EMPTY_PATH)
                .mask(libc::STATX_BASIC_STATS)
                .build()
                .user_data(tag(slot, STAT))
        }

        fn read_entry(&mut self, slot: usize, len: u64) -> squeue::Entry {
            let s = &self.slots[slot];
            let buf = self.bufs[slot].as_mut_ptr();
            opcode::ReadFixed::new(types::Fd(s.fd), buf, len as u32, slot as u16)
                .offset(s.done)
                .rw_flags(libc::RWF_NOWAIT)
                .build()
                .user_data(tag(slot, READ))
        }

        /// Queues the next read of a slot's file, or its last `statx` and close; `first`
        /// right after the open, where the first `statx` goes before the read.
        fn read_on(&mut self, slot: usize, first: bool) {
            let s = &self.slots[slot];
            let size = s.file.map_or(0, |f| f.size);
            let left = size.saturating_sub(s.done).min(PIECE as u64);
            let failed = s.failed;
            if first && self.stat == Stat::Ring {
                let stat = self.stat_entry(slot).flags(squeue::Flags::IO_LINK);
                self.queued.push(stat);
            }
            if left > 0 && !failed {
                let read = self.read_entry(slot, left);
                self.queued.push(read);
                return;
            }
            match self.stat {
                Stat::Ring if !failed => {
                    let stat = self.stat_entry(slot).flags(squeue::Flags::IO_LINK);
                    self.queued.push(stat);
                }
                Stat::Syscall if !failed => self.fstat(slot),
                _ => {}
            }
            let close = opcode::Close::new(types::Fd(self.slots[slot].fd))
                .build()
                .user_data(tag(slot, CLOSE));
            self.queued.push(close);
        }

        /// Handles one completion; returns the file's bytes when the slot is done with it.
        fn complete(&mut self, slot: usize, op: u64, res: i32) -> Option<u64> {
            match op {
                OPEN if res < 0 => return Some(self.fail(slot, res)),
                OPEN => {
                    self.slots[slot].fd = res;
                    if self.stat == Stat::Syscall {
                        self.fstat(slot);
                    }
                    self.read_on(slot, true);
                }
                STAT if res < 0 => self.note(slot, res),
                READ if res == -libc::EAGAIN => {
                    self.read_blocking(slot);
                    self.read_on(slot, false);
                }
                READ if res < 0 => {
                    self.note(slot, res);
                    self.read_on(slot, false);
                }
                READ => {
                    let s = &mut self.slots[slot];
                    s.done += res as u64;
                    if res == 0 {
                        s.failed = true; // shorter than listed: stop reading
                    }
                    self.read_on(slot, false);
                }
                CLOSE => {
                    if res < 0 {
                        self.note(slot, res);
                    }
                    let s = &mut self.slots[slot];
                    s.file = None;
                    return Some(s.done);
                }
                _ => {}
            }
            None
        }

        /// A file that could not even be opened: reported, and its slot freed.
        fn fail(&mut self, slot: usize, res: i32) -> u64 {
            self.note(slot, res);
            self.slots[slot].file = None;
            0
        }

        /// A plain `pread` of the next piece, where the ring's non-blocking read would have
        /// waited: the ring would hand it to a worker thread, which costs more.
        fn read_blocking(&mut self, slot: usize) {
            let s = &mut self.slots[slot];
            let left = s.file.map_or(0, |f| f.size).saturating_sub(s.done);
            let len = left.min(PIECE as u64) as usize;
            // SAFETY: as in `fstat`.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(s.fd) };
            match rustix::io::pread(fd, &mut self.bufs[slot][..len], s.done) {
                Ok(0) => s.failed = true,
                Ok(n) => s.done += n as u64,
                Err(e) => self.note(slot, -e.raw_os_error()),
            }
        }

        /// A plain `fstat` of a slot's open file.
        fn fstat(&mut self, slot: usize) {
            // SAFETY: the descriptor came from the slot's open and is closed only by the
            // close queued after this call.
            let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(self.slots[slot].fd) };
            if let Err(e) = rustix::fs::fstat(fd) {
                self.note(slot, -e.raw_os_error());
            }
        }

        fn note(&mut self, slot: usize, res: i32) {
            let s = &mut self.slots[slot];
            if res == -libc::ECANCELED {
                return; // a link after a failed entry, already reported
            }
            s.failed = true;
            if let Some(file) = s.file {
                super::report(file, io::Error::from_raw_os_error(-res));
            }
        }
    }
}

/// Reads every file through io_uring on `plan.threads` threads, one ring each.
fn read_with_uring(
    tree: &Tree,
    files: &[&File],
    plan: Plan,
    stat: uring::Stat,
) -> Result<u64, std::io::Error> {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..plan.threads)
            .map(|_| {
                s.spawn(|| {
                    let mut reader = uring::Reader::new(stat, plan.batch)?;
                    reader.read_all(tree, || {
                        files.get(next.fetch_add(1, Ordering::Relaxed)).copied()
                    })
                })
            })
            .collect();
        let mut total = 0;
        for handle in handles {
            total += handle
                .join()
                .map_err(|_| std::io::Error::other("a uring thread panicked"))??;
        }
        Ok(total)
    })
}

/// An in-memory set of messages shaped like the tree: files under and over [`MAP_MIN`] each
/// make up the share of the set's bytes that they make up of the tree's, their sizes drawn at
/// random from the tree's files of that kind (capped at `cap`).
struct MessageSet {
    buf: Vec<u8>,
    sizes: Vec<usize>,
}

impl MessageSet {
    fn shaped_like(tree: &Tree, cap: u64) -> MessageSet {
        let (small, big): (Vec<u64>, Vec<u64>) = tree
            .files
            .iter()
            .map(|f| f.size)
            .partition(|&size| size < MAP_MIN);
        let total = tree.bytes().max(1);
        let small_share = small.iter().sum::<u64>() as f64 / total as f64;
        let small_budget = (HASH_SET_BYTES as f64 * small_share) as u64;
        let mut rng = SplitMix(0xf1002);
        let mut sizes = draw_sizes(&small, small_budget, cap, &mut rng);
        sizes.extend(draw_sizes(
            &big,
            HASH_SET_BYTES - small_budget,
            cap,
            &mut rng,
        ));
        let buf = SplitMix(0x5eed).bytes(sizes.iter().sum());
        MessageSet { buf, sizes }
    }

    fn messages(&self) -> Vec<&[u8]> {
        let mut start = 0;
        self.sizes
            .iter()
            .map(|&size| {
                let m = &self.buf[start..start + size];
                start += size;
                m
            })
            .collect()
    }
}

/// Sizes drawn at random from `from` until they add up to about `budget` bytes.
fn draw_sizes(from: &[u64], budget: u64, cap: u64, rng: &mut SplitMix) -> Vec<usize> {
    let mut sizes = Vec::new();
    let mut sum = 0u64;
    if from.is_empty() {
        return sizes;
    }
    while sum < budget {
        let size = from[rng.below(from.len())].min(cap);
        sizes.push(size as usize);
        sum += size;
    }
    sizes
}

/// CPU and wall seconds one thread takes to hash `bytes` bytes shaped like the set: `hash`
/// runs over the set until [`HASH_MIN_CPU`] has passed, then is scaled.
fn hash_cost(set: &MessageSet, bytes: u64, mut hash: impl FnMut(&[&[u8]])) -> Usage {
    let messages = set.messages();
    let start = cpu_seconds();
    let mut rounds = 0u64;
    let ((), usage) = measure(|| {
        while rounds == 0 || cpu_seconds() - start < HASH_MIN_CPU {
            hash(&messages);
            rounds += 1;
        }
    });
    let scale = bytes as f64 / (rounds as f64 * set.buf.len() as f64);
    Usage {
        cpu: usage.cpu * scale,
        wall: usage.wall * scale,
    }
}

fn md5_cost(set: &MessageSet, bytes: u64, kernel: Kernel) -> Usage {
    let mut out = vec![[0u8; 16]; set.sizes.len()];
    hash_cost(set, bytes, |messages| {
        md5_many(kernel, messages, &mut out);
        std::hint::black_box(&out);
    })
}

fn xxh128_cost(set: &MessageSet, bytes: u64) -> Usage {
    hash_cost(set, bytes, |messages| {
        for m in messages {
            std::hint::black_box(Algorithm::Xxh128.digest(m));
        }
    })
}

/// Files under [`MAP_MIN`] (which fimsum reads) or not (which it maps).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Small,
    Big,
}

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Small => "<1MiB",
            Class::Big => ">=1MiB",
        }
    }

    fn of(file: &File) -> Class {
        if file.size < MAP_MIN {
            Class::Small
        } else {
            Class::Big
        }
    }
}

/// The rows of the ways in to one class of files, in order; `uring` rows are left out where
/// io_uring is missing, `mmap` rows for small files. Reports a way in that read other than
/// the listed bytes.
fn measure_ways_in(tree: &Tree, class: Class, plan: Plan) -> Vec<Row> {
    let Plan {
        threads, repeat, ..
    } = plan;
    let files: Vec<&File> = tree
        .files
        .iter()
        .filter(|f| Class::of(f) == class)
        .collect();
    let listed: u64 = files.iter().map(|f| f.size).sum();
    let files = &files[..];
    let mut rows = Vec::new();
    let mut push = |name: String, bytes: u64, usage: Usage| {
        if bytes != listed {
            eprintln!("floor: {name} read {bytes} bytes, the listing says {listed}");
        }
        rows.push(Row {
            name,
            class: Some(class),
            usage,
            bytes,
        });
    };
    let buf = || vec![0u8; PIECE];
    let (bytes, usage) = best_of(repeat, || {
        run_parallel(files, threads, buf, |b, f| read_with_syscalls(tree, f, b))
    });
    push(format!("syscalls {}", class.name()), bytes, usage);
    if class == Class::Big {
        for mode in [MapMode::Populate, MapMode::Sequential] {
            let (bytes, usage) = best_of(repeat, || {
                run_parallel(files, threads, buf, |b, f| read_mapped(tree, f, mode, b))
            });
            push(format!("{} {}", mode.name(), class.name()), bytes, usage);
        }
    }
    match uring::available() {
        Err(e) => eprintln!("floor: io_uring is unavailable here ({e}); no uring rows"),
        Ok(()) => {
            let variants = [
                ("uring statx", uring::Stat::Ring),
                ("uring+fstat", uring::Stat::Syscall),
                ("uring-nostat", uring::Stat::Skip),
            ];
            for (name, stat) in variants {
                match best_of(repeat, || read_with_uring(tree, files, plan, stat)) {
                    (Ok(bytes), usage) => push(format!("{name} {}", class.name()), bytes, usage),
                    (Err(e), _) => eprintln!("floor: {name}: {e}"),
                }
            }
        }
    }
    rows
}

/// The hash rows, each kernel's cost the least over the message sets of [`HASH_MESSAGE_MAX`].
fn measure_hashes(tree: &Tree) -> Vec<(&'static str, Row)> {
    let bytes = tree.bytes();
    let best = Kernel::detect();
    let mut rows = vec![
        ("md5", format!("hash md5 ({best})")),
        ("xxh128", "hash xxh128".to_owned()),
        ("md5-scalar", "hash md5-scalar".to_owned()),
    ]
    .into_iter()
    .map(|(kind, name)| {
        let row = Row {
            name,
            class: None,
            usage: Usage {
                cpu: f64::INFINITY,
                wall: f64::INFINITY,
            },
            bytes,
        };
        (kind, row)
    })
    .collect::<Vec<_>>();
    for cap in HASH_MESSAGE_MAX {
        let set = MessageSet::shaped_like(tree, cap);
        let costs = [
            md5_cost(&set, bytes, best),
            xxh128_cost(&set, bytes),
            md5_cost(&set, bytes, Kernel::Scalar),
        ];
        for ((_, row), usage) in rows.iter_mut().zip(costs) {
            if usage.cpu < row.usage.cpu {
                row.usage = usage;
            }
        }
    }
    rows
}

/// The cheapest way in to a class of files that makes every per-file call (`uring-nostat`
/// does not).
fn best_way_in(ways: &[Row], class: Class) -> Option<&Row> {
    ways.iter()
        .filter(|r| r.class == Some(class) && !r.name.starts_with("uring-nostat"))
        .min_by(|a, b| a.usage.cpu.total_cmp(&b.usage.cpu))
}

fn per_second(bytes: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        bytes as f64 / seconds
    } else {
        0.0
    }
}

fn json_row(row: &Row) -> serde_json::Value {
    serde_json::json!({
        "cpu_s": row.usage.cpu,
        "wall_s": row.usage.wall,
        "bytes": row.bytes,
        "bytes_per_cpu_s": per_second(row.bytes, row.usage.cpu),
    })
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("floor: {e}");
            std::process::exit(2);
        }
    };
    let limit = fimsum::scan::raise_open_file_limit();
    let keep_dirs = (limit.saturating_sub(1024) / 2).min(1 << 20);
    let mut tree = list_tree(&args.tree, keep_dirs);
    keep_readable(&mut tree);
    if tree.files.is_empty() {
        eprintln!("floor: {}: no readable regular file", args.tree.display());
        std::process::exit(1);
    }
    let (files, bytes) = (tree.files.len(), tree.bytes());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut walks = vec![Row {
        name: "walk (1 thread)".into(),
        class: None,
        usage: tree.walk,
        bytes: 0,
    }];
    walks.extend(measure_walks(&args.tree, args.plan.repeat));
    let walk = walks
        .iter()
        .map(|r| r.usage.cpu)
        .fold(f64::INFINITY, f64::min);
    let mut ways = measure_ways_in(&tree, Class::Small, args.plan);
    ways.extend(measure_ways_in(&tree, Class::Big, args.plan));
    let hashes = measure_hashes(&tree);
    let best: Vec<&Row> = [Class::Small, Class::Big]
        .into_iter()
        .filter_map(|class| best_way_in(&ways, class))
        .collect();
    let ways_in: f64 = best.iter().map(|r| r.usage.cpu).sum();
    let best_names: Vec<&str> = best.iter().map(|r| r.name.as_str()).collect();
    let floor = |hash: &Row| walk + ways_in + hash.usage.cpu;

    if args.json {
        let mut rows = serde_json::Map::new();
        for row in walks
            .iter()
            .chain(&ways)
            .chain(hashes.iter().map(|(_, r)| r))
        {
            rows.insert(row.name.clone(), json_row(row));
        }
        let mut floors = serde_json::Map::new();
        for (kind, hash) in &hashes {
            let cpu = floor(hash);
            floors.insert(
                kind.to_string(),
                serde_json::json!({"cpu_s": cpu, "wall_s": cpu / cores as f64}),
            );
        }
        let out = serde_json::json!({
            "tree": args.tree.display().to_string(),
            "files": files,
            "bytes": bytes,
            "threads": args.plan.threads,
            "repeat": args.plan.repeat,
            "cores": cores,
            "uring_batch": args.plan.batch,
            "ways_in": best_names,
            "rows": rows,
            "floor": floors,
        });
        println!("{out}");
        return;
    }
    println!(
        "tree {}: {files} files, {bytes} bytes; {} threads, {cores} cores; best of {} runs",
        args.tree.display(),
        args.plan.threads,
        args.plan.repeat
    );
    println!(
        "{:<28} {:>8} {:>8} {:>12}",
        "row", "CPU s", "wall s", "MB/CPU s"
    );
    for row in walks
        .iter()
        .chain(&ways)
        .chain(hashes.iter().map(|(_, r)| r))
    {
        println!(
            "{:<28} {:>8.3} {:>8.3} {:>12.0}",
            row.name,
            row.usage.cpu,
            row.usage.wall,
            per_second(row.bytes, row.usage.cpu) / 1e6
        );
    }
    println!("floor = cheapest walk + {} + hash", best_names.join(" + "));
    for (kind, hash) in &hashes {
        let cpu = floor(hash);
        println!(
            "floor {kind:<10} CPU {cpu:.3} s, wall on {cores} cores {:.3} s",
            cpu / cores as f64
        );
    }
}
