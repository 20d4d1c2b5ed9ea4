//! Reading one regular file's content for its checksum, safely on a live system.
//!
//! The rules (see docs/failure-modes.md): open relative to the directory the walker
//! holds, never following a symlink and never blocking on a FIFO swapped in for the file;
//! hash only a regular file with the device and inode the walk saw; compare `fstat` before
//! and after reading and the bytes read with the size; read a file changed within seconds
//! of its read a second time and compare (`settle`: the `fstat`s cannot see a write that
//! was already under way); and retry once when the file changed under us. A checksum is
//! recorded only for content that was read whole while the file stood still: never a
//! checksum of mixed, truncated or zero-filled content.
//!
//! Every way in also computes the extra digests asked for (`--digest`, [`HashKind`]) from
//! the same bytes in the same pass: each piece or window is handed to them when it becomes
//! the current one, so a file is read (or mapped) once whatever the number of digests.
//!
//! Two ways in, one set of checks:
//! - `checksum_stream`, the scan's path, hashes a stream of files many at a time
//!   (multi-buffer MD5 keeps one file in each SIMD lane, refilling lanes as files end): files
//!   under `MAP_MIN` are read in pieces of up to 128 KiB into reused buffers, larger ones are
//!   mapped through `GuardedMap`, whose SIGBUS handler turns a truncation under the mapping
//!   into a flag instead of a dead process (rsync and AIDE dropped mmap for that crash).
//!   Mapping pays for large files: copying out of the page cache is slower than
//!   multi-buffer MD5 and XXH3 hash. A file's checks run when its digest is done.
//! - [`checksum`] streams one file through a 256 KiB buffer; it is the retry path for any file
//!   that changed, could not be opened, or failed in the stream; [`md5()`] is it for callers
//!   that check one file at a time (`verify-packages`).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::ffi::CStr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::attrs::Attrs;
use crate::hash::{
    digest_stream, Algorithm, Digest, Feed, HashKind, Hasher, Kernel, Message, Next,
};
use crate::record::{Content, Kind, Meta};
use crate::scan::cache;
use crate::scan::hook::HookRef;
use crate::scan::mapped::GuardedMap;
use crate::text::capture::{self, Want};
use crate::text::Snapshot;

/// Size of the per-thread read buffer: 256 KiB reads are within a few percent of the best
/// read size measured on this kind of machine.
const BUF_SIZE: usize = 256 * 1024;

/// Where a regular file is: the directory the walker opened, and the file's name in it.
#[derive(Clone, Debug)]
pub struct FileRef {
    /// The directory the walker opened.
    pub dir: Arc<OwnedFd>,
    /// The file's name in it.
    pub leaf: std::ffi::CString,
}

/// The outcome of hashing one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hashed {
    /// The metadata of the file that was read (from `fstat`, fresher than the walk's
    /// `lstat`).
    pub meta: Meta,
    /// What is known of its content.
    pub content: Content,
    /// The extra digests of the very bytes `content` is the digest of, in the order they
    /// were asked for; empty unless `content` is a digest.
    pub extra: Vec<(HashKind, Digest)>,
    /// The checksum (main algorithm) of the first `Job::prefix` bytes of those very bytes,
    /// when one was asked for and `content` is a digest of at least that many bytes.
    pub prefix: Option<Digest>,
    /// The file's security attributes, read from the descriptor it was hashed through, when
    /// they were asked for ([`Job::attrs`]) and the file could be opened.
    pub attrs: Option<Attrs>,
    /// The snapshot of those very bytes (see [`crate::text`]), when one was asked for
    /// and `content` is a digest.
    pub snapshot: Option<Snapshot>,
}

impl Hashed {
    fn failed(meta: Meta, content: Content) -> Hashed {
        Hashed {
            meta,
            content,
            extra: Vec::new(),
            prefix: None,
            attrs: None,
            snapshot: None,
        }
    }
}

/// Hash one file with `algorithm` and the `extras`, reading it once. `name` is the entry's
/// `%n` name, for the hooks.
pub fn checksum(
    file: &FileRef,
    name: &[u8],
    seen: &Meta,
    algorithm: Algorithm,
    extras: &[HashKind],
    hooks: &HookRef,
) -> Hashed {
    checksum_with_prefix(file, name, seen, algorithm, extras, Asked::default(), hooks)
}

/// What a read takes from the file besides the checksum and the extra digests.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Asked<'a> {
    /// The length of a growing file's prefix to checksum ([`Job::prefix`]).
    pub prefix: Option<u64>,
    /// The security attributes, from the descriptor read ([`Job::attrs`]).
    pub attrs: bool,
    /// The snapshot to keep ([`Job::snapshot`]).
    pub snapshot: Option<&'a Want>,
}

/// [`checksum`], also taking the checksum of the first `prefix` bytes from the same read
/// (see [`Job::prefix`]) and whatever else `asked` names.
pub(crate) fn checksum_with_prefix(
    file: &FileRef,
    name: &[u8],
    seen: &Meta,
    algorithm: Algorithm,
    extras: &[HashKind],
    asked: Asked,
    hooks: &HookRef,
) -> Hashed {
    let mut expected = *seen;
    let mut last_change = String::new();
    for attempt in 0..2 {
        if attempt > 0 {
            // The name may now hold a new file (renamed over): look again before the retry.
            match rustix::fs::statat(&*file.dir, &file.leaf, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if Kind::from_stat(&st) == Kind::File => expected = Meta::from_stat(&st),
                Ok(_) => break,
                Err(Errno::NOENT) => {
                    return Hashed::failed(
                        expected,
                        Content::Unreadable("vanished during the scan".into()),
                    )
                }
                Err(e) => return Hashed::failed(expected, Content::Unreadable(describe(e))),
            }
        }
        match read_once(file, name, &expected, algorithm, extras, asked, hooks) {
            Ok(hashed) => return hashed,
            Err(Failure::Io(e)) => {
                return Hashed::failed(expected, Content::Unreadable(describe(e)))
            }
            Err(Failure::Changed(why)) => last_change = why,
        }
    }
    if last_change.is_empty() {
        last_change = "replaced by a non-regular file".to_string();
    }
    Hashed::failed(expected, Content::ChangedDuringScan(last_change))
}

/// The hashers of the extra digests of one file, and of its prefix (see [`Job::prefix`]):
/// the prefix hasher takes the same pieces as the extras, up to the prefix length. And the
/// copy of the bytes for a snapshot ([`Job::snapshot`]), taken from the same pieces.
struct Extras {
    extra: Vec<(HashKind, Hasher)>,
    /// The hasher of the prefix and how many of its bytes it still has to see.
    prefix: Option<(Hasher, u64)>,
    /// The snapshot asked for and the bytes so far; `None` once they pass the limit.
    capture: Option<(Want, Option<Vec<u8>>)>,
}

impl Extras {
    fn new(kinds: &[HashKind], algorithm: Algorithm, asked: Asked) -> Extras {
        Extras {
            extra: kinds.iter().map(|&k| (k, k.hasher())).collect(),
            prefix: asked.prefix.map(|len| (algorithm.hasher(), len)),
            capture: asked.snapshot.map(|want| (want.clone(), Some(Vec::new()))),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        for (_, hasher) in &mut self.extra {
            hasher.update(bytes);
        }
        if let Some((hasher, left)) = &mut self.prefix {
            let n = usize::try_from(*left).map_or(bytes.len(), |left| left.min(bytes.len()));
            if n > 0 {
                hasher.update(&bytes[..n]);
                *left -= n as u64;
            }
        }
        if let Some((Want::Take { .. }, kept)) = &mut self.capture {
            match kept {
                Some(buf) if buf.len() + bytes.len() <= crate::text::FILE_MAX as usize => {
                    buf.extend_from_slice(bytes)
                }
                _ => *kept = None,
            }
        }
    }

    /// The extra digests, the prefix's if the content had all of its bytes, and the
    /// snapshot; for content that was read whole and unchanged.
    fn finish(self) -> (Vec<(HashKind, Digest)>, Option<Digest>, Option<Snapshot>) {
        let extra = self
            .extra
            .into_iter()
            .map(|(k, h)| (k, h.finish()))
            .collect();
        let prefix = match self.prefix {
            Some((hasher, 0)) => Some(hasher.finish()),
            _ => None,
        };
        let snapshot = match &self.capture {
            Some((want, Some(bytes))) => capture::take(want, bytes),
            // Past the limit: the file grew after the walk saw it.
            Some((_, None)) => capture::take(&Want::TooLarge, &[]),
            None => None,
        };
        (extra, prefix, snapshot)
    }
}

/// The MD5 of one regular file, read with every check of [`checksum`]: never through a
/// symlink, only while it is still the file `seen` describes, whole and unchanged. For
/// callers that check files one at a time against digests they already know
/// (`verify-packages`); the error says why there is no digest.
pub fn md5(file: &FileRef, seen: &Meta) -> Result<[u8; 16], String> {
    let name = file.leaf.to_bytes();
    match checksum(file, name, seen, Algorithm::Md5, &[], &HookRef::default()).content {
        Content::Digest(d) => d
            .as_bytes()
            .try_into()
            .map_err(|_| "not a 16-byte digest".to_string()),
        Content::Unreadable(why) | Content::ChangedDuringScan(why) => Err(why),
        Content::NotAFile => Err("not a regular file".to_string()),
        Content::NotHashed => Err("not read".to_string()),
    }
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

/// Open a file the walk listed and check it is still that regular file, unless the walk
/// `opened` it already (and `expected` is its `fstat`). Also says whether none of it was in
/// the page cache (see [`crate::scan::cache`]), and with `attrs`, the file's security
/// attributes, read from this descriptor.
fn open_checked(
    file: &FileRef,
    opened: Option<OwnedFd>,
    name: &[u8],
    expected: &Meta,
    attrs: bool,
    hooks: &HookRef,
) -> Result<(OwnedFd, Meta, bool, Option<Attrs>), Failure> {
    let (fd, before) = match opened {
        Some(fd) => (fd, *expected),
        None => {
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
            (fd, before)
        }
    };
    hooks.call(|h| h.after_open(name));
    let uncached = before.size >= cache::COURTESY_MIN && cache::uncached(&fd);
    let attrs = attrs
        .then(|| crate::attrs::read::of_fd(fd.as_fd(), Kind::File))
        .flatten();
    Ok((fd, before, uncached, attrs))
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
    extras: &[HashKind],
    asked: Asked,
    hooks: &HookRef,
) -> Result<Hashed, Failure> {
    let started = now_nanos();
    let (fd, before, uncached, attrs) =
        open_checked(file, None, name, expected, asked.attrs, hooks)?;
    let mut hasher = algorithm.hasher();
    let mut extra = Extras::new(extras, algorithm, asked);
    let read = BUFFER.with(|buf| -> Result<u64, Errno> {
        let mut buf = buf.borrow_mut();
        let mut total = 0u64;
        loop {
            match rustix::io::read(&fd, &mut buf[..]) {
                Ok(0) => return Ok(total),
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    extra.update(&buf[..n]);
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
    let hashed = read.map_err(Failure::from).and_then(|read| {
        let meta = confirm(&fd, &before, read)?;
        let (extra, prefix, snapshot) = extra.finish();
        settle(
            &fd,
            started,
            algorithm,
            Hashed {
                meta,
                content: Content::Digest(hasher.finish()),
                extra,
                prefix,
                attrs,
                snapshot,
            },
        )
    });
    // Whether or not the read went through, leave the cache as it was.
    if uncached {
        cache::release(&fd);
    }
    hashed
}

/// A file changed this close (in nanoseconds) to the start of its read may have had a write
/// in progress while it was read. Three seconds: the coarsest timestamps of a common file
/// system (FAT's two seconds), plus one of margin for the coarse clock the kernel stamps
/// with and a writer descheduled in the middle of a write.
const RECENT: i128 = 3_000_000_000;

/// How long a recently changed file is left alone before it is read a second time: longer
/// than a writer is descheduled in the middle of a write on a busy machine (a fifth of it
/// let mixed reads through on an overloaded one), and than one tick of the clock the kernel
/// stamps writes with (10 ms at HZ=100), so that a write during the
/// pause also shows in the ctime [`reread`] compares. The scan's path does not sleep for it
/// but hashes other files meanwhile ([`FileFeed::pending`]).
const SETTLE: Duration = Duration::from_millis(100);

/// Files a hashing thread holds back for their second read at once; beyond it, it waits for
/// the oldest one's [`SETTLE`] to pass. A tree written just before it is scanned (a fresh
/// copy) has every file recent: this bounds that case to about ten thousand files a second
/// per thread, not one file per [`SETTLE`]. Held-back files keep no descriptor of their
/// own (only their directory's, shared with the walk).
const PENDING_MAX: usize = 1024;

/// The time now, in nanoseconds since the epoch.
fn now_nanos() -> i128 {
    let now = std::time::SystemTime::now();
    match now.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    }
}

/// Must the content just hashed be read again before its checksum is trusted?
///
/// The `fstat` before and after a read cannot see every write: the kernel sets a file's
/// times when a write *begins*, at the granularity of its timestamps, so a write already
/// under way when the read started (or one begun within the same timestamp tick as the last
/// change) leaves them as they were, and the bytes read are part old, part new: a checksum
/// of content the file never held. So a file whose ctime lies within [`RECENT`] of the
/// moment its read `started` (or is that close ahead of now: a clock set back) is read a
/// second time after [`SETTLE`] ([`reread`]) and must give the same checksum with the same
/// metadata; otherwise it "changed while reading" and goes the retry way like any other
/// change. Files changed seconds before they are read are rare, so the second read costs
/// little (a scalar read, whatever the kernel of the first). What this cannot see is left
/// in docs/failure-modes.md: writes through a shared mapping, which set no times, and a
/// writer stalled in the middle of one write for longer than the margins.
fn is_recent(meta: &Meta, started: i128) -> bool {
    let ctime = i128::from(meta.ctime.sec) * 1_000_000_000 + i128::from(meta.ctime.nsec);
    ctime > started - RECENT && ctime < now_nanos() + RECENT
}

/// [`is_recent`]'s check on the fallback path: sleep [`SETTLE`], then [`reread`].
fn settle(
    fd: &OwnedFd,
    started: i128,
    algorithm: Algorithm,
    hashed: Hashed,
) -> Result<Hashed, Failure> {
    if !is_recent(&hashed.meta, started) {
        return Ok(hashed);
    }
    std::thread::sleep(SETTLE);
    reread(fd, algorithm, hashed)
}

/// Read the file of `fd` again from its start; `hashed` stands only if the content hashes
/// the same and the file still has the metadata it had.
fn reread(fd: &OwnedFd, algorithm: Algorithm, hashed: Hashed) -> Result<Hashed, Failure> {
    let mut hasher = algorithm.hasher();
    let read = BUFFER.with(|buf| -> Result<u64, Errno> {
        let mut buf = buf.borrow_mut();
        let mut total = 0u64;
        loop {
            match rustix::io::pread(fd, &mut buf[..], total) {
                Ok(0) => return Ok(total),
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    total += n as u64;
                }
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e),
            }
        }
    })?;
    confirm(fd, &hashed.meta, read)?;
    if hashed.content != Content::Digest(hasher.finish()) {
        return Err(Failure::Changed(
            "modified while reading (a second read differs)".into(),
        ));
    }
    Ok(hashed)
}

/// A file hashed in the stream whose checksum waits for its second read ([`is_recent`]).
struct Pending<T> {
    job: Job<T>,
    hashed: Hashed,
    /// None of it was in the page cache before the first read: drop it after the second.
    uncached: bool,
    /// When [`SETTLE`] has passed.
    due: Instant,
}

/// Files of this size and up are mapped rather than read: below it the cost of mapping and
/// unmapping outweighs the copy it saves (docs/performance.md, "Tuning constants").
pub(crate) const MAP_MIN: u64 = 1 << 20;

/// Smaller files are read in pieces of this size into a lane's buffer, so a lane never holds
/// more than this (a multiple of the 64-byte MD5 block, as every piece but the last must be).
/// Each of the 64 lanes of two AVX-512 threads has a buffer, so the size is a trade of speed
/// against resident memory: this is the smallest that costs no time.
const PIECE: usize = 128 * 1024;

/// A mapped file is hashed this much at a time; the pages of a window are dropped from our
/// page tables once it is hashed, so a big file does not count in full in our resident memory;
/// smaller windows cost no speed.
const WINDOW: usize = 256 << 10;

/// Files a hashing thread keeps mapped at once; the next big ones are read in pieces until
/// one is done. The kernel may map a file's page cache 2 MiB at a time, whatever we ask,
/// and pages dropped behind the hash do not bring that below one large folio per mapping, so
/// every mapping costs resident memory; copying the big files that find no mapping costs CPU
/// time. This is where the two balance (docs/performance.md, "Tuning constants").
const MAPPED_MAX: usize = 16;

/// One file to hash: where it is, its `%n` name (for the hooks; it may be left empty
/// without them), what the walk saw, and a token of the caller's that comes back with the
/// outcome.
pub(crate) struct Job<T> {
    pub file: FileRef,
    /// The file, already opened by the walk; `seen` is its `fstat`.
    pub opened: Option<OpenedFile>,
    pub name: Vec<u8>,
    pub seen: Meta,
    /// For a growing file (a log), the size the baseline recorded: the checksum of its first
    /// this many bytes comes back in [`Hashed::prefix`], taken from the very bytes hashed, so
    /// that "the old part is unchanged" is a fact about the file this scan read, not about
    /// whatever a path names later.
    pub prefix: Option<u64>,
    /// Read the file's security attributes too, from the descriptor it is hashed through.
    pub attrs: bool,
    /// The snapshot to keep of the bytes hashed (a rule's `diff`), decided by the walk.
    pub snapshot: Option<Want>,
    pub token: T,
}

/// Checksum every job `next` hands out (see [`crate::hash::Feed::next`] for what `wait`
/// means) with `algorithm` and the `extras`, many files at once for multi-buffer MD5, and
/// give each token with its outcome to `done`, in the order the files finish. Same
/// guarantees as [`checksum`]: a file that fails any check here is hashed again the
/// streaming way, which retries and reports.
pub(crate) fn checksum_stream<T>(
    algorithm: Algorithm,
    extras: &[HashKind],
    kernel: Kernel,
    hooks: &HookRef,
    next: impl FnMut(bool) -> Next<Job<T>>,
    done: impl FnMut(T, Hashed),
) {
    let mut feed = FileFeed {
        algorithm,
        extras,
        hooks,
        next,
        done,
        buffers: Vec::new(),
        mapped: 0,
        pending: VecDeque::new(),
    };
    digest_stream(algorithm, kernel, &mut feed);
    // Files finished after the feed ran dry may still wait for their second read.
    feed.recheck(true);
}

/// Opens and loads the jobs for [`digest_stream`], and checks each file once it is hashed.
struct FileFeed<'h, T, N, D> {
    algorithm: Algorithm,
    extras: &'h [HashKind],
    hooks: &'h HookRef,
    next: N,
    done: D,
    /// Read buffers of finished files, for the next ones (each [`PIECE`] bytes long, so each
    /// is zeroed once).
    buffers: Vec<Vec<u8>>,
    /// Files of this thread mapped right now (see [`MAPPED_MAX`]).
    mapped: usize,
    /// Recently changed files waiting for their second read, oldest first: held back rather
    /// than slept on, so that their pauses overlap with the hashing of other files.
    pending: VecDeque<Pending<T>>,
}

/// A file being hashed.
struct Loaded<T> {
    job: Job<T>,
    fd: OwnedFd,
    /// `fstat` at open.
    before: Meta,
    /// None of it was in the page cache (drop it from the cache when done).
    uncached: bool,
    body: Body,
    /// The extra digests: they have seen every piece up to and including the current one.
    extras: Extras,
    /// A read failed: the digest is not the file's.
    failed: bool,
    /// When the read started, for [`settle`].
    started: i128,
    /// The security attributes read at open, if asked for.
    attrs: Option<Attrs>,
}

/// How a file's content reaches the hash.
enum Body {
    /// Read piece by piece into a buffer: the current piece is `buf[..len]`, `total` bytes have
    /// been read so far, and `more` says the last read filled the whole piece.
    Read {
        buf: Vec<u8>,
        len: usize,
        total: u64,
        more: bool,
    },
    /// Mapped; the current window is `map[start..end]`.
    Mapped {
        map: GuardedMap,
        start: usize,
        end: usize,
    },
}

impl Body {
    /// The current piece or window.
    fn current(&self) -> &[u8] {
        match self {
            Body::Read { buf, len, .. } => &buf[..*len],
            Body::Mapped { map, start, end } => &map.bytes()[*start..*end],
        }
    }
}

impl<T> Message for Loaded<T> {
    fn piece(&self) -> &[u8] {
        self.body.current()
    }

    /// Moving on is the one place every piece passes through exactly once, in order, however
    /// the main hash consumes it (the MD5 lanes take a piece in many small steps and may ask
    /// for it again): so the extra digests take each new piece here, and the first in
    /// [`FileFeed::load`].
    fn next_piece(&mut self) -> bool {
        let moved = match &mut self.body {
            Body::Read { more: false, .. } => false,
            Body::Read { .. } => match self.read_piece() {
                Ok(()) => true,
                Err(_) => {
                    self.failed = true;
                    false
                }
            },
            Body::Mapped { map, start, end } => {
                let len = map.bytes().len();
                if *end == len {
                    return false;
                }
                map.release(*start..*end);
                *start = *end;
                *end = len.min(*end + WINDOW);
                true
            }
        };
        if moved {
            self.extras.update(self.body.current());
        }
        moved
    }
}

impl<T> Loaded<T> {
    /// Read the next piece into the buffer; it is shorter than [`PIECE`] only at the end of
    /// the file. No more than the size at open is asked for, and no read to see the end: a
    /// file that grew or shrank meanwhile fails [`confirm`], which compares the size read
    /// and the size after (one read call per small file instead of two).
    fn read_piece(&mut self) -> Result<(), Errno> {
        let Body::Read {
            buf,
            len,
            total,
            more,
        } = &mut self.body
        else {
            return Ok(());
        };
        let left = self.before.size.saturating_sub(*total);
        let want = usize::try_from(left).map_or(PIECE, |left| left.min(PIECE));
        let mut n = 0;
        while n < want {
            match rustix::io::read(&self.fd, &mut buf[n..want]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(Errno::INTR) => continue,
                Err(e) => return Err(e),
            }
        }
        *len = n;
        *total += n as u64;
        *more = n == PIECE && *total < self.before.size;
        Ok(())
    }
}

impl<T, N, D> FileFeed<'_, T, N, D>
where
    N: FnMut(bool) -> Next<Job<T>>,
    D: FnMut(T, Hashed),
{
    /// Open a job's file and load its first piece or map it; a file that fails the checks
    /// at open goes the streaming way at once (`None`).
    fn load(&mut self, mut job: Job<T>) -> Option<Loaded<T>> {
        let loaded_prefix = job.prefix;
        let loaded_snapshot = job.snapshot.clone();
        // For a file the walk opened, its `fstat` is older; a write begun since then either
        // moved its ctime (which `confirm` sees) or is within [`RECENT`] of now, or else it
        // has been under way for longer than that: the case [`is_recent`] leaves.
        let started = now_nanos();
        let opened = job.opened.take().and_then(OpenedFile::take);
        let Ok((fd, before, uncached, attrs)) = open_checked(
            &job.file, opened, &job.name, &job.seen, job.attrs, self.hooks,
        ) else {
            self.fall_back(job);
            return None;
        };
        let mapped = (before.size >= MAP_MIN && self.mapped < MAPPED_MAX)
            .then(|| usize::try_from(before.size).ok())
            .flatten()
            .and_then(|len| GuardedMap::map(fd.as_fd(), len).ok());
        let body = match mapped {
            Some(map) => {
                self.mapped += 1;
                let end = map.bytes().len().min(WINDOW);
                Body::Mapped { map, start: 0, end }
            }
            None => Body::Read {
                buf: self.buffers.pop().unwrap_or_else(|| vec![0; PIECE]),
                len: 0,
                total: 0,
                more: false,
            },
        };
        let mut loaded = Loaded {
            job,
            fd,
            before,
            uncached,
            body,
            extras: Extras::new(
                self.extras,
                self.algorithm,
                // The attributes are this lane's own business (`attrs` below).
                Asked {
                    prefix: loaded_prefix,
                    attrs: false,
                    snapshot: loaded_snapshot.as_ref(),
                },
            ),
            failed: false,
            started,
            attrs,
        };
        match loaded.read_piece() {
            Ok(()) => loaded.extras.update(loaded.body.current()),
            Err(_) => loaded.failed = true,
        }
        if !loaded.piece().is_empty() {
            self.hooks.call(|h| h.after_first_read(&loaded.job.name));
        }
        Some(loaded)
    }

    /// Read again the held-back files whose pause is over, or with `all`, every one of
    /// them (sleeping out what is left of their pauses).
    fn recheck(&mut self, all: bool) {
        while let Some(first) = self.pending.front() {
            if !all && first.due > Instant::now() {
                return;
            }
            self.recheck_one();
        }
    }

    /// The oldest held-back file's second read, once its pause is over. It is opened again
    /// by name (holding every such file open could take too many descriptors): it must be
    /// the same regular file, dev and inode, for [`reread`]'s comparison to stand.
    fn recheck_one(&mut self) {
        let Some(Pending {
            job,
            hashed,
            uncached,
            due,
        }) = self.pending.pop_front()
        else {
            return;
        };
        if let Some(left) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(left);
        }
        let again = open_regular(&job.file.dir, &job.file.leaf)
            .map_err(Failure::Io)
            .and_then(|fd| {
                let st = rustix::fs::fstat(&fd)?;
                let meta = Meta::from_stat(&st);
                if Kind::from_stat(&st) != Kind::File
                    || (meta.dev, meta.ino) != (hashed.meta.dev, hashed.meta.ino)
                {
                    return Err(Failure::Changed("replaced by another file".into()));
                }
                let again = reread(&fd, self.algorithm, hashed);
                if uncached {
                    cache::release(&fd);
                }
                again
            });
        match again {
            Ok(hashed) => (self.done)(job.token, hashed),
            Err(_) => self.fall_back(job),
        }
    }

    /// The streaming path for a job the fast path could not finish.
    fn fall_back(&mut self, job: Job<T>) {
        let hashed = checksum_with_prefix(
            &job.file,
            &job.name,
            &job.seen,
            self.algorithm,
            self.extras,
            Asked {
                prefix: job.prefix,
                attrs: job.attrs,
                snapshot: job.snapshot.as_ref(),
            },
            self.hooks,
        );
        (self.done)(job.token, hashed);
    }
}

impl<T, N, D> Feed for FileFeed<'_, T, N, D>
where
    N: FnMut(bool) -> Next<Job<T>>,
    D: FnMut(T, Hashed),
{
    type Msg = Loaded<T>;

    /// Held-back files whose pause is over are read again first. With files held back, it
    /// never blocks for a job: the output may be waiting for one of them, and the walker
    /// for the output; when there is nothing to do but wait (the walker stalled, or done),
    /// it finishes them all.
    fn next(&mut self, wait: bool) -> Next<Loaded<T>> {
        loop {
            self.recheck(false);
            match (self.next)(wait && self.pending.is_empty()) {
                Next::Msg(job) => {
                    if let Some(loaded) = self.load(job) {
                        return Next::Msg(loaded);
                    }
                }
                Next::Later if wait && !self.pending.is_empty() => self.recheck(true),
                Next::Later => {
                    self.recheck(true);
                    return Next::Later;
                }
                Next::End => {
                    self.recheck(true);
                    return Next::End;
                }
            }
        }
    }

    fn done(&mut self, loaded: Loaded<T>, digest: Digest) {
        let Loaded {
            job,
            fd,
            before,
            uncached,
            body,
            extras,
            failed,
            started,
            attrs,
        } = loaded;
        // A fault zero-filled what lay past the new end; fstat catches a truncation within
        // the last page, and any other change.
        let (read, trusted) = match body {
            Body::Read { buf, total, .. } => {
                self.buffers.push(buf);
                (total, !failed)
            }
            Body::Mapped { map, .. } => {
                self.mapped -= 1;
                (before.size, !map.faulted())
            }
        };
        let meta = confirm(&fd, &before, read).ok().filter(|_| trusted);
        let hashed = meta.map(|meta| {
            let (extra, prefix, snapshot) = extras.finish();
            Hashed {
                meta,
                content: Content::Digest(digest),
                extra,
                prefix,
                attrs,
                snapshot,
            }
        });
        let recent = hashed.as_ref().is_some_and(|h| is_recent(&h.meta, started));
        // Whether or not the read went through, leave the cache as it was (after the second
        // read, for a file that needs one).
        if uncached && !recent {
            cache::release(&fd);
        }
        match hashed {
            Some(hashed) if recent => {
                if self.pending.len() >= PENDING_MAX {
                    self.recheck_one();
                }
                self.pending.push_back(Pending {
                    job,
                    hashed,
                    uncached,
                    due: Instant::now() + SETTLE,
                });
                self.recheck(false);
            }
            Some(hashed) => (self.done)(job.token, hashed),
            None => self.fall_back(job),
        }
    }
}

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0u8; BUF_SIZE]);
}

/// Open a file for reading without following a symlink, blocking on a FIFO or acquiring a
/// controlling terminal; without updating its atime where the kernel allows that.
pub(crate) fn open_regular(dir: &OwnedFd, leaf: &CStr) -> Result<OwnedFd, Errno> {
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    match rustix::fs::openat(dir.as_fd(), leaf, flags | OFlags::NOATIME, Mode::empty()) {
        // O_NOATIME needs ownership of the file or CAP_FOWNER; retry without it then only.
        Err(Errno::PERM) => rustix::fs::openat(dir.as_fd(), leaf, flags, Mode::empty()),
        other => other,
    }
}

/// An errno as people read it, e.g. "Permission denied (os error 13)".
pub(crate) fn describe(e: Errno) -> String {
    std::io::Error::from(e).to_string()
}

/// A regular file the walk opened for its reader; it counts against
/// [`crate::scan::walk::WalkOptions::open_files`] until it is dropped.
#[derive(Debug)]
pub(crate) struct OpenedFile {
    fd: Option<OwnedFd>,
    waiting: Arc<AtomicUsize>,
}

impl OpenedFile {
    pub(crate) fn new(fd: OwnedFd, waiting: &Arc<AtomicUsize>) -> OpenedFile {
        waiting.fetch_add(1, Ordering::Relaxed);
        OpenedFile {
            fd: Some(fd),
            waiting: Arc::clone(waiting),
        }
    }

    /// The fd, for the reader (always there: an `Option` only so that `Drop` can count it).
    pub(crate) fn take(mut self) -> Option<OwnedFd> {
        self.fd.take()
    }
}

impl Drop for OpenedFile {
    fn drop(&mut self) {
        self.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::hook::HookRef;

    /// The prefix checksum of a growing file is of the first bytes of the very content
    /// hashed, whether read in pieces, mapped or on the fallback path; none when the file is
    /// shorter than the prefix.
    #[test]
    fn prefix_checksums_come_from_the_bytes_hashed() {
        let dir = std::env::temp_dir().join(format!("fimsum-prefix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let size = MAP_MIN as usize + WINDOW + 100;
        let data: Vec<u8> = (0..size).map(|b| (b * 13 + b / 7) as u8).collect();
        std::fs::write(dir.join("f"), &data).unwrap();
        std::fs::write(dir.join("small"), &data[..PIECE + 5]).unwrap();
        let dir_fd = Arc::new(
            rustix::fs::open(&dir, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap(),
        );
        let lens = [
            0,
            1,
            64,
            PIECE as u64,
            PIECE as u64 + 5,
            WINDOW as u64 + 1,
            size as u64,
        ];
        for algorithm in [Algorithm::Md5, Algorithm::Xxh128] {
            for leaf in ["f", "small"] {
                let len_of = if leaf == "f" { size } else { PIECE + 5 };
                let leaf_c = std::ffi::CString::new(leaf).unwrap();
                let st = rustix::fs::statat(&*dir_fd, &leaf_c, AtFlags::empty()).unwrap();
                let file = FileRef {
                    dir: Arc::clone(&dir_fd),
                    leaf: leaf_c,
                };
                let want = |len: u64| {
                    ((len as usize) <= len_of).then(|| algorithm.digest(&data[..len as usize]))
                };
                let mut jobs = lens.iter().map(|&len| Job {
                    file: file.clone(),
                    opened: None,
                    name: leaf.into(),
                    seen: Meta::from_stat(&st),
                    prefix: Some(len),
                    attrs: false,
                    snapshot: None,
                    token: len,
                });
                let mut got = Vec::new();
                checksum_stream(
                    algorithm,
                    &[],
                    Kernel::detect(),
                    &HookRef::default(),
                    |_| jobs.next().map_or(Next::End, Next::Msg),
                    |len, hashed| got.push((len, hashed.prefix)),
                );
                got.sort_by_key(|g| g.0);
                for (len, prefix) in got {
                    assert_eq!(prefix, want(len), "{algorithm} {leaf} {len}");
                }
                for &len in &lens {
                    let meta = Meta::from_stat(&st);
                    let h = checksum_with_prefix(
                        &file,
                        b"f",
                        &meta,
                        algorithm,
                        &[],
                        Asked {
                            prefix: Some(len),
                            attrs: false,
                            snapshot: None,
                        },
                        &HookRef::default(),
                    );
                    assert_eq!(h.prefix, want(len), "fallback {algorithm} {leaf} {len}");
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Files at every boundary of the piece and window logic hash as the one-shot digest of
    /// their content, with every algorithm and kernel, and so do their extra digests (every
    /// kind but the main algorithm, so each piece reaches two or three hashers), in the
    /// stream and on the streaming fallback path alike. The extras are tested beside MD5
    /// (the multi-buffer lanes) and XXH3 (one file at a time), the two ways the stream
    /// consumes pieces; unoptimised SHA-256 would make the test slow for no more coverage.
    fn secret_want() -> Want {
        Want::Take {
            secret: true,
            salt: [5; 16],
        }
    }

    #[test]
    fn stream_digests_equal_one_shot_digests_at_every_boundary() {
        let dir = std::env::temp_dir().join(format!("fimsum-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sizes = [
            0,
            1,
            63,
            64,
            PIECE - 1,
            PIECE,
            PIECE + 1,
            3 * PIECE + 64,
            MAP_MIN as usize - 1,
            MAP_MIN as usize,
            WINDOW + 65,
        ];
        let mut contents = Vec::new();
        for (i, &size) in sizes.iter().enumerate() {
            let data: Vec<u8> = (0..size).map(|b| (b * 7 + i + b / 251) as u8).collect();
            std::fs::write(dir.join(i.to_string()), &data).unwrap();
            contents.push(data);
        }
        let dir_fd = Arc::new(
            rustix::fs::open(&dir, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty()).unwrap(),
        );
        let hooks = HookRef::default();
        let waiting: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
        // Snapshots (line digests, many hashes a line) are asked for with one algorithm: the
        // bytes they are taken from are the same code for every one.
        let job = |i: usize, snapshot: bool| {
            let leaf = std::ffi::CString::new(i.to_string()).unwrap();
            // Half the files come opened, as the walk of a full scan hands them on.
            let opened = i
                .is_multiple_of(2)
                .then(|| open_regular(&dir_fd, &leaf).unwrap());
            let st = match &opened {
                Some(fd) => rustix::fs::fstat(fd),
                None => rustix::fs::statat(&*dir_fd, &leaf, AtFlags::empty()),
            }
            .unwrap();
            let opened = opened.map(|fd| OpenedFile::new(fd, &waiting));
            Job {
                file: FileRef {
                    dir: Arc::clone(&dir_fd),
                    leaf,
                },
                opened,
                name: i.to_string().into_bytes(),
                seen: Meta::from_stat(&st),
                prefix: None,
                attrs: false,
                snapshot: snapshot.then(secret_want),
                token: i,
            }
        };
        for algorithm in Algorithm::ALL {
            let with_extras = matches!(algorithm, Algorithm::Md5 | Algorithm::Xxh3);
            let snapshots = algorithm == Algorithm::Xxh3;
            let extras = match with_extras {
                true => crate::hash::extra_kinds(algorithm, HashKind::ALL),
                false => Vec::new(),
            };
            // The snapshot is of the very bytes hashed: line digests of exactly them, or
            // over the limit.
            let want = |data: &[u8], extras: &[HashKind]| Hashed {
                meta: Meta::default(),
                content: Content::Digest(algorithm.digest(data)),
                extra: extras.iter().map(|&k| (k, k.digest(data))).collect(),
                prefix: None,
                attrs: None,
                snapshot: snapshots
                    .then(|| capture::take(&secret_want(), data))
                    .flatten(),
            };
            // Only the size of the metadata is compared.
            let sized = |mut h: Hashed| {
                let size = h.meta.size;
                h.meta = Meta::default();
                (size, h)
            };
            // The kernel matters for MD5 only; the extras are the same code for every one.
            let kernels = Kernel::ALL.into_iter().filter(|k| k.is_supported());
            for (k, kernel) in kernels
                .take(if algorithm == Algorithm::Md5 { 3 } else { 1 })
                .enumerate()
            {
                let runs = if k == 0 && with_extras { 2 } else { 1 };
                for extras in [&extras[..], &[]].into_iter().take(runs) {
                    let mut jobs = (0..sizes.len()).map(|i| job(i, snapshots));
                    let mut got = vec![None; sizes.len()];
                    checksum_stream(
                        algorithm,
                        extras,
                        kernel,
                        &hooks,
                        |_| jobs.next().map_or(Next::End, Next::Msg),
                        |i, hashed| got[i] = Some(sized(hashed)),
                    );
                    for (i, data) in contents.iter().enumerate() {
                        assert_eq!(
                            got[i],
                            Some((data.len() as u64, want(data, extras))),
                            "{algorithm} {kernel} {extras:?}: {} bytes",
                            data.len()
                        );
                    }
                    // Every fd handed over was taken and counted off.
                    assert_eq!(waiting.load(std::sync::atomic::Ordering::Relaxed), 0);
                }
            }
            // The streaming fallback computes the same extras (its loop is the same for
            // every algorithm).
            let fallback = algorithm == Algorithm::Xxh3;
            for (i, data) in contents.iter().enumerate().filter(|_| fallback) {
                let j = job(i, snapshots);
                let hashed = checksum_with_prefix(
                    &j.file,
                    &j.name,
                    &j.seen,
                    algorithm,
                    &extras,
                    Asked {
                        prefix: None,
                        attrs: false,
                        snapshot: j.snapshot.as_ref(),
                    },
                    &hooks,
                );
                assert_eq!(
                    sized(hashed),
                    (data.len() as u64, want(data, &extras)),
                    "{algorithm} fallback: {} bytes",
                    data.len()
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
