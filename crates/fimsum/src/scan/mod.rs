//! The scan pipeline: walk in rsync order, hash regular files in parallel, hand the records
//! on in the walk's order.
//!
//! The walker thread cuts its events into batches (`batch.rs`) for the output and sends each
//! file that needs hashing to a shared queue as a job. Each hashing thread runs one lane
//! scheduler (`read::checksum_stream`) that takes jobs from the queue whenever a lane is
//! free, so the lanes stay full across batches and a big file holds up one lane, not the
//! scan. The hashed outcome goes back to its slot in the batch; the caller's thread waits for
//! each batch to be complete, in order, and hands its records to the sink. Order is a property of
//! the walk, never of the threads, so the output is the same at any `--threads`.
//!
//! Why not rayon: a lane scheduler is a long-lived loop that must never block on other work
//! while it holds files in its lanes; a work-stealing pool of short tasks does not fit that,
//! and plain scoped threads joined by bounded channels do.

mod batch;
mod cache;
pub(crate) mod dirmerge;
pub(crate) mod fs_types;
pub(crate) mod hook;
pub(crate) mod mapped;
pub(crate) mod prefetch;
mod queue;
pub(crate) mod quick;
pub mod read;
pub mod walk;

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use crate::attrs::Attrs;
use crate::error::Problem;
use crate::hash::{Algorithm, Digest, HashKind, Kernel};
use crate::record::{Content, Kind, Record};
pub use crate::scan::batch::Item;
use crate::scan::batch::{Batch, Closed, Slot, BATCH_ENTRIES};
pub use crate::scan::fs_types::fs_type_magics;
pub use crate::scan::hook::{HookRef, Hooks};
use crate::scan::queue::{CloseOnDrop, JobQueue};
pub use crate::scan::quick::{QuickCheck, Reuse};
use crate::scan::read::{Hashed, Job};
use crate::scan::walk::{Entry, Event, WalkOptions, Walker};
use crate::text::{Capture, Snapshot, TOTAL_MAX};

/// Batches walked ahead of the output. Within this window files are hashed in whatever order
/// the lanes take them; a batch with a big file waits for it while later ones are hashed, so
/// the window must hold enough other work to keep the other threads busy meanwhile
/// (measured on /usr with the scalar kernel of the time, where one thread hashed a big file
/// alone: 11.0 s with 8 batches, 6.1 s with 32, 6.0 s with 64; peak RSS 18 MB with 32).
pub const BATCHES_AHEAD: usize = 32;
/// Jobs queued for the hashing threads.
const JOBS_AHEAD: usize = 1024;
/// Jobs the walker gathers before it hands them over (see [`JobQueue::push_all`]).
const HAND_OFF: usize = 16;

#[derive(Clone, Debug)]
/// How a scan walks and hashes.
pub struct ScanOptions {
    /// The checksum algorithm of every regular file.
    pub algorithm: Algorithm,
    /// Extra digests of every regular file, computed in the same read pass (`--digest`;
    /// see [`crate::hash::extra_kinds`]).
    pub extras: Vec<HashKind>,
    /// Hashing threads; 0 means one per core.
    pub threads: usize,
    /// What the walk lists and skips.
    pub walk: WalkOptions,
    /// The MD5 kernel ([`Kernel::detect`] for the best this CPU has).
    pub kernel: Kernel,
    /// Batches of 4,096 entries the walk may run ahead of the output: [`BATCHES_AHEAD`];
    /// tests make it small, so that a few thousand files fill it.
    pub batches_ahead: usize,
    /// Growing files (`check`): the checksums of their old parts, taken while they are read.
    pub growing: Option<Arc<Prefixes>>,
    /// Which files keep a snapshot of their content for a diff (a rule's `diff`), taken
    /// from the bytes hashed; `None` keeps none.
    pub capture: Option<Arc<Capture>>,
}

/// The growing files of a baseline (logs, under a `growing` rule) and their recorded sizes;
/// the scan fills in the checksum of the first that many bytes of each as it reads it, from
/// the same descriptor and the same bytes as its full checksum. "It only grew" is then
/// decided on the file the scan read, under the root it scanned: never by opening a path
/// again afterwards, which a swapped-in decoy or, offline, a file of the same name on the
/// checking host would answer instead.
#[derive(Debug, Default)]
pub struct Prefixes {
    sizes: HashMap<Vec<u8>, u64>,
    digests: Mutex<HashMap<Vec<u8>, Digest>>,
}

impl Prefixes {
    /// For these `%n` names and old sizes.
    pub fn new(sizes: HashMap<Vec<u8>, u64>) -> Prefixes {
        Prefixes {
            sizes,
            digests: Mutex::default(),
        }
    }

    /// The checksum of the first `len` bytes of the file `name` as this scan read it; `None`
    /// if it was not asked for at that length, not read, or shorter.
    pub fn digest(&self, name: &[u8], len: u64) -> Option<Digest> {
        if self.sizes.get(name) != Some(&len) {
            return None;
        }
        let digests = self.digests.lock().unwrap_or_else(|e| e.into_inner());
        digests.get(name).cloned()
    }

    fn found(&self, name: Vec<u8>, digest: Digest) {
        let mut digests = self.digests.lock().unwrap_or_else(|e| e.into_inner());
        digests.insert(name, digest);
    }
}

/// Counts of one scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Entries recorded.
    pub entries: u64,
    /// Regular files recorded.
    pub files: u64,
    /// Their sizes, summed.
    pub bytes: u64,
    /// Problems reported: entries that could not be fully seen or read.
    pub problems: u64,
}

/// Scan `sources` (rsync source arguments) and call `sink` for every record and problem,
/// in rsync order. A sink error stops the scan and is returned.
pub fn scan<E>(
    sources: &[Vec<u8>],
    options: &ScanOptions,
    sink: impl FnMut(Item) -> Result<(), E>,
) -> Result<Stats, ScanError<E>> {
    scan_reusing(sources, options, None, sink)
}

/// How many workers a `--threads` of `requested` means: itself, or for 0 one per CPU
/// this process may use (1 if that cannot be told). The scan and the package verifier
/// both count this way, so one option means one thing.
pub(crate) fn worker_threads(requested: usize) -> usize {
    match requested {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// [`scan`], taking the checksums `reuse` knows instead of reading those files
/// (`check --quick`).
pub fn scan_reusing<E>(
    sources: &[Vec<u8>],
    options: &ScanOptions,
    mut reuse: Option<Box<dyn Reuse + '_>>,
    mut sink: impl FnMut(Item) -> Result<(), E>,
) -> Result<Stats, ScanError<E>> {
    // Before any mapping: a file truncated under one must raise a flag, not kill us.
    let _ = crate::scan::mapped::GuardedMap::install_handler();
    let open_files = raise_open_file_limit();
    let threads = worker_threads(options.threads);
    let (algorithm, kernel) = (options.algorithm, options.kernel);
    let extras = &options.extras[..];
    let hooks = &options.walk.hooks;
    let attrs = options.walk.attrs;
    let mut stats = Stats::default();
    let growing = options.growing.as_deref();
    let capture = options.capture.as_deref().filter(|c| c.is_active());
    // The snapshots' bytes so far, in the walk's order: which files are past the total does
    // not depend on the threads.
    let mut kept: u64 = 0;
    // The token of a growing file's job also carries its name, for its prefix checksum.
    let jobs = &JobQueue::<Job<(Slot, Vec<u8>)>>::new(JOBS_AHEAD);
    std::thread::scope(|scope| {
        let (batch_tx, batch_rx) = mpsc::sync_channel::<Closed>(options.batches_ahead.max(1));
        let mut walk_options = options.walk.clone();
        // A quarter of the limit at most: the readers' lanes and the walk's directories
        // need fds of their own.
        walk_options.open_files = match reuse {
            None => JOBS_AHEAD.min(open_files / 4),
            Some(_) => 0,
        };
        // Few files are read: the walk's own calls are what the scan waits for.
        walk_options.prefetch = reuse.is_some();
        scope.spawn(move || {
            let _close = CloseOnDrop(jobs);
            let mut pending = Vec::with_capacity(HAND_OFF);
            let mut batch = Batch::new();
            // Files with several links seen so far: each inode is read once per scan.
            let mut inodes = HashSet::new();
            // For `--quick`: does the file system of each device keep a real ctime?
            let mut ctime_kept: HashMap<u64, bool> = HashMap::new();
            for event in Walker::new(sources, walk_options) {
                let Entry {
                    mut record,
                    file,
                    opened,
                } = match event {
                    Event::Entry(entry) => entry,
                    Event::Problem(problem) => {
                        batch.push(Item::Problem(problem));
                        continue;
                    }
                    Event::Skipped(skipped) => {
                        batch.push(Item::Skipped(skipped));
                        continue;
                    }
                };
                let known = match (&file, reuse.as_mut(), record.meta) {
                    (Some(file), Some(reuse), Some(m)) => {
                        let kept = match ctime_kept.get(&m.dev) {
                            Some(&kept) => kept,
                            // Not remembered when it could not be told: the next file may.
                            None => keeps_ctime(file, &record.name, hooks).is_some_and(|kept| {
                                ctime_kept.insert(m.dev, kept);
                                kept
                            }),
                        };
                        if kept {
                            reuse.known(&record)
                        } else {
                            None
                        }
                    }
                    _ => None,
                };
                // Another name of a file this scan reads already takes its outcome (see
                // `share_links`).
                let linked = file.is_some()
                    && known.is_none()
                    && record
                        .meta
                        .is_some_and(|m| m.nlink > 1 && !inodes.insert((m.dev, m.ino)));
                let reused = known.is_some();
                if let Some(known) = known {
                    // Trusted from the baseline: not read. Its snapshot is of the same content,
                    // kept if the rules still ask for one.
                    record.content = Content::Digest(known.digest);
                    record.extra = known.extra;
                    // Its attributes too, where the baseline has them (see `Known::attrs`);
                    // else they are read, which costs no read of the content.
                    if attrs {
                        record.attrs = match (known.attrs, &file) {
                            (Some(kept), _) => Some(kept),
                            (None, Some(file)) => {
                                crate::attrs::read::of_file_at(&file.dir, &file.leaf)
                            }
                            (None, None) => None,
                        };
                    }
                    let size = record.meta.map_or(0, |m| m.size);
                    if capture.is_some_and(|c| c.want(&record.name, size).is_some()) {
                        record.snapshot = known.snapshot;
                    }
                }
                let job = match (linked || reused, file, record.meta) {
                    (false, Some(file), Some(seen)) => Some((file, seen)),
                    _ => None,
                };
                let prefix = match (&job, growing) {
                    (Some(_), Some(g)) => g.sizes.get(&record.name).copied(),
                    _ => None,
                };
                let snapshot = match (&job, capture) {
                    (Some((_, seen)), Some(c)) => c.want(&record.name, seen.size),
                    _ => None,
                };
                // The name is for the hooks and growing files; a copy per file costs.
                let name = match (&job, hooks.is_set() || prefix.is_some()) {
                    (Some(_), true) => record.name.clone(),
                    _ => Vec::new(),
                };
                // The record goes in before its job goes out, so its slot is there for the
                // outcome. Only the record waits for the output: the file and its fd (if
                // any) go with the job, or are closed now; a batch must not hold fds.
                let index = batch.push(Item::Record(record));
                if let Some((file, seen)) = job {
                    let for_prefix = match prefix {
                        Some(_) => name.clone(),
                        None => Vec::new(),
                    };
                    let job = Job {
                        file,
                        opened,
                        name,
                        seen,
                        prefix,
                        attrs,
                        snapshot,
                        token: (batch.expect_outcome(index), for_prefix),
                    };
                    pending.push(job);
                    if pending.len() >= HAND_OFF {
                        jobs.push_all(&mut pending);
                    }
                }
                if batch.len() >= BATCH_ENTRIES {
                    let full = std::mem::replace(&mut batch, Batch::new());
                    // The output will wait for these files: they must be on their way.
                    jobs.push_all(&mut pending);
                    if send_batch(&batch_tx, full, jobs).is_err() {
                        return; // the sink failed; stop walking
                    }
                }
            }
            jobs.push_all(&mut pending);
            let _ = send_batch(&batch_tx, batch, jobs);
        });
        for i in 0..threads {
            std::thread::Builder::new()
                .name(format!("fimsum-hash-{i}"))
                .spawn_scoped(scope, move || {
                    read::checksum_stream(
                        algorithm,
                        extras,
                        kernel,
                        hooks,
                        |wait| jobs.next(wait),
                        |(slot, name): (Slot, Vec<u8>), mut hashed: Hashed| {
                            if let (Some(g), Some(d)) = (growing, hashed.prefix.take()) {
                                g.found(name, d);
                            }
                            slot.fill(hashed)
                        },
                    )
                })
                .map_err(|e| ScanError::Setup(format!("cannot start a hashing thread: {e}")))?;
        }
        // The outcome of each file with several links, for its other names.
        let mut links: HashMap<(u64, u64), Shared> = HashMap::new();
        for batch in batch_rx {
            for item in batch.wait() {
                let item = match item {
                    Item::Problem(p) => Item::Problem(p),
                    Item::Skipped(s) => Item::Skipped(s),
                    Item::Record(mut record) => {
                        share_links(&mut record, &mut links);
                        if let Some(snapshot) = &mut record.snapshot {
                            kept = within_total(snapshot, kept);
                        }
                        stats.entries += 1;
                        if record.kind == Kind::File {
                            stats.files += 1;
                            stats.bytes += record.meta.map_or(0, |m| m.size);
                        }
                        if let Some(message) = content_problem(&record) {
                            stats.problems += 1;
                            sink(Item::Problem(Problem {
                                name: record.name.clone(),
                                message,
                            }))
                            .map_err(ScanError::Sink)?;
                        }
                        Item::Record(record)
                    }
                };
                if let Item::Problem(_) = item {
                    stats.problems += 1;
                }
                sink(item).map_err(ScanError::Sink)?;
            }
        }
        Ok(())
    })?;
    Ok(stats)
}

/// The snapshot as the baseline may keep it, given the `kept` bytes of the snapshots before
/// it: itself while the total stays within [`TOTAL_MAX`], else "over the limit". Returns the
/// new total.
fn within_total(snapshot: &mut Snapshot, kept: u64) -> u64 {
    let total = kept + snapshot.stored_len();
    if total > TOTAL_MAX {
        *snapshot = Snapshot::OverBudget { limit: TOTAL_MAX };
        return kept;
    }
    total
}

/// Close a batch and send it to the output; the queue is told while the output is too far
/// behind to take it (see [`JobQueue::next`]).
fn send_batch<T>(tx: &SyncSender<Closed>, batch: Batch, jobs: &JobQueue<T>) -> Result<(), ()> {
    match tx.try_send(batch.close()) {
        Ok(()) => Ok(()),
        Err(TrySendError::Disconnected(_)) => Err(()),
        Err(TrySendError::Full(batch)) => {
            jobs.set_stalled(true);
            let sent = tx.send(batch).map_err(|_| ());
            jobs.set_stalled(false);
            sent
        }
    }
}

/// A regular file with several links: the first name's outcome is kept, and a later name
/// (which the walker did not send to be read, so it has no content yet) takes it. The walk's
/// order is the output's, so the first name always comes first.
fn share_links(record: &mut Record, links: &mut HashMap<(u64, u64), Shared>) {
    let Some(m) = record
        .meta
        .filter(|m| m.nlink > 1 && record.kind == Kind::File)
    else {
        return;
    };
    match (&record.content, links.get(&(m.dev, m.ino))) {
        (Content::NotHashed, Some((content, extra, attrs))) => {
            record.content = content.clone();
            record.extra = extra.clone();
            // One inode: one set of attributes, read through the first name.
            if record.attrs.is_none() {
                record.attrs = attrs.clone();
            }
        }
        (Content::NotHashed, None) => {}
        (content, _) => {
            links
                .entry((m.dev, m.ino))
                .or_insert_with(|| (content.clone(), record.extra.clone(), record.attrs.clone()));
        }
    }
}

/// What the other names of a file take from the first: its content, extra digests and
/// security attributes.
type Shared = (Content, Vec<(HashKind, Digest)>, Option<Attrs>);

/// Does the file system of this file keep a ctime that `--quick` can trust
/// ([`crate::scan::fs_types::keeps_ctime`])? Asked of the file itself, not its directory: a file can
/// be a mount point of its own. `None` when it cannot be told (the file is then read).
#[allow(clippy::unnecessary_cast)] // f_type's type differs between architectures
fn keeps_ctime(
    file: &read::FileRef,
    name: &[u8],
    hooks: &crate::scan::hook::HookRef,
) -> Option<bool> {
    use rustix::fs::{Mode, OFlags};
    let f_type = match hooks.fs_type(name) {
        Some(f_type) => f_type,
        None => {
            let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match rustix::fs::openat(&*file.dir, file.leaf.as_c_str(), flags, Mode::empty())
                .and_then(|fd| rustix::fs::fstatfs(&fd))
            {
                Ok(st) => st.f_type as i64,
                Err(_) => return None,
            }
        }
    };
    Some(crate::scan::fs_types::keeps_ctime(f_type))
}

/// A file whose content could not be hashed is reported; directories and symlinks whose
/// problem the walker already reported are not reported twice.
fn content_problem(record: &Record) -> Option<String> {
    // The walker reported what it could not look at.
    if record.kind != crate::record::Kind::File || record.is_unseen() {
        return None;
    }
    match &record.content {
        Content::Unreadable(why) => Some(format!("cannot read: {why}")),
        Content::ChangedDuringScan(why) => {
            Some(format!("changed during the scan, not hashed: {why}"))
        }
        _ => None,
    }
}

/// Why a scan stopped early.
#[derive(Debug)]
pub enum ScanError<E> {
    /// The thread pool could not be built.
    Setup(String),
    /// The sink returned an error.
    Sink(E),
}

/// The walker holds a directory fd per level, the job queue holds files the walk opened and
/// the lanes hold theirs: lift the soft limit on open files to the hard one (1024 is a
/// common soft default). Returns the limit now in force.
pub fn raise_open_file_limit() -> usize {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            ..limit
        };
        if setrlimit(Resource::Nofile, raised).is_ok() {
            limit = raised;
        }
    }
    // No limit at all: as good as any number.
    limit
        .current
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::FILE_MAX;

    /// Past the total, a snapshot becomes "over the limit" and adds nothing; a smaller one
    /// after it may still fit.
    #[test]
    fn snapshots_past_the_total_say_so() {
        let mut binary = Snapshot::Binary;
        assert_eq!(within_total(&mut binary, TOTAL_MAX), TOTAL_MAX);
        assert_eq!(binary, Snapshot::Binary, "nothing stored, nothing counted");
        let text = |n: usize| {
            let content: Vec<u8> = (0..n).map(|i| (i * 7919 % 251) as u8 + 1).collect();
            let snapshot = crate::text::capture::take(
                &crate::text::capture::Want::Take {
                    secret: false,
                    salt: [0; 16],
                },
                &content,
            );
            snapshot.unwrap()
        };
        let mut big = text(FILE_MAX as usize);
        let len = big.stored_len();
        assert!(len > 0);
        let kept = TOTAL_MAX - len + 1;
        assert_eq!(within_total(&mut big, kept), kept);
        assert_eq!(big, Snapshot::OverBudget { limit: TOTAL_MAX });
        let mut small = text(10);
        let small_len = small.stored_len();
        assert_eq!(within_total(&mut small, kept), kept + small_len);
        assert!(matches!(small, Snapshot::Text(_)));
    }
}
