//! The scan pipeline: walk in rsync order, hash regular files in parallel, hand the records
//! on in the walk's order.
//!
//! Three stages, each on its own thread, joined by bounded channels: the walker cuts its
//! events into batches; the hasher splits each batch's files into chunks (one multi-buffer
//! call each, see `plan_chunks`) for the rayon pool, which writes each result into its own
//! entry; the caller's thread hands the batch's records to the sink in walk order. Order is
//! a property of the walk, never of the thread pool, so the output is the same at any
//! `--threads`; walking, hashing and output of consecutive batches overlap.

use std::sync::mpsc;

use rayon::prelude::*;

use crate::error::Problem;
use crate::hash::{Algorithm, Kernel};
use crate::hook::HookRef;
use crate::quick::Reuse;
use crate::read;
use crate::record::{Content, Record};
use crate::walk::{Entry, Event, WalkOptions, Walker};

/// A batch closes at this many entries...
const BATCH_ENTRIES: usize = 4096;
/// ...or this many bytes of regular-file content...
const BATCH_BYTES: u64 = 512 << 20;
/// ...or this many large (mapped) files: they are all mapped at once while the batch is
/// hashed, and the SIGBUS guard has room for 256 mappings.
const BATCH_LARGE: usize = 240;
/// Batches walked ahead of the hashing.
const BATCHES_AHEAD: usize = 2;

#[derive(Clone, Debug)]
pub struct ScanOptions {
    pub algorithm: Algorithm,
    /// Hashing threads; 0 means one per core.
    pub threads: usize,
    pub walk: WalkOptions,
    /// The MD5 kernel ([`Kernel::detect`] for the best this CPU has).
    pub kernel: Kernel,
}

/// What a scan hands to its sink, in rsync order.
#[derive(Debug)]
pub enum Item {
    Record(Record),
    Problem(Problem),
}

/// Counts of one scan.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub entries: u64,
    pub files: u64,
    pub bytes: u64,
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

/// [`scan`], taking the checksums `reuse` knows instead of reading those files
/// (`check --quick`).
pub fn scan_reusing<E>(
    sources: &[Vec<u8>],
    options: &ScanOptions,
    mut reuse: Option<Box<dyn Reuse + '_>>,
    mut sink: impl FnMut(Item) -> Result<(), E>,
) -> Result<Stats, ScanError<E>> {
    // Before any mapping: a file truncated under one must raise a flag, not kill us.
    let _ = crate::mapped::GuardedMap::install_handler();
    raise_open_file_limit();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .thread_name(|i| format!("fimsum-hash-{i}"))
        .build()
        .map_err(|e| ScanError::Setup(e.to_string()))?;
    let algorithm = options.algorithm;
    let hooks = &options.walk.hooks;
    let mut stats = Stats::default();
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Vec<Event>>(BATCHES_AHEAD);
        let walk_options = options.walk.clone();
        scope.spawn(move || {
            let mut batch = Vec::with_capacity(BATCH_ENTRIES);
            let (mut bytes, mut large) = (0u64, 0usize);
            for mut event in Walker::new(sources, walk_options) {
                if let Event::Entry(entry) = &mut event {
                    if entry.file.is_some() {
                        let known = reuse.as_mut().and_then(|r| r.known(&entry.record));
                        match known {
                            Some(digest) => entry.record.content = Content::Digest(digest),
                            None => {
                                let size = entry.record.meta.map_or(0, |m| m.size);
                                bytes += size;
                                large += usize::from(size >= read::MAP_MIN);
                            }
                        }
                    }
                }
                batch.push(event);
                if batch.len() >= BATCH_ENTRIES || bytes >= BATCH_BYTES || large >= BATCH_LARGE {
                    if tx.send(std::mem::take(&mut batch)).is_err() {
                        return; // the sink failed; stop walking
                    }
                    (bytes, large) = (0, 0);
                }
            }
            let _ = tx.send(batch);
        });
        // Hashing runs on its own thread, so the sink works on one batch while the pool
        // hashes the next.
        let (hashed_tx, hashed_rx) = mpsc::sync_channel::<Vec<Event>>(1);
        let (pool, kernel) = (&pool, options.kernel);
        scope.spawn(move || {
            for mut batch in rx {
                let files: Vec<&mut Entry> = batch
                    .iter_mut()
                    .filter_map(|event| match event {
                        // Files whose checksum was taken from the baseline are not read.
                        Event::Entry(entry)
                            if entry.file.is_some() && entry.record.content == Content::None =>
                        {
                            Some(entry)
                        }
                        _ => None,
                    })
                    .collect();
                let chunks = plan_chunks(files, pool.current_num_threads());
                pool.install(|| {
                    chunks
                        .into_par_iter()
                        .for_each(|mut chunk| hash_chunk(&mut chunk, algorithm, kernel, hooks))
                });
                if hashed_tx.send(batch).is_err() {
                    return; // the sink failed; stop hashing
                }
            }
        });
        for batch in hashed_rx {
            for event in batch {
                let item = match event {
                    Event::Problem(p) => Item::Problem(p),
                    Event::Entry(entry) => {
                        let record = entry.record;
                        stats.entries += 1;
                        if entry.file.is_some() {
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

/// A chunk of small files (the unit of parallel work) closes at this many files...
const CHUNK_FILES: usize = 512;
/// ...or this many bytes (read into the thread's arena).
const CHUNK_READ_BYTES: u64 = 16 << 20;

/// Plan the parallel work of a batch. Small files go in chunks of consecutive files; large
/// files (mapped) are dealt out to one chunk per thread, balanced by size. Each chunk is one
/// multi-buffer call, whose lanes are kept busy only when it holds many files and none of
/// them dwarfs the rest: so large files are hashed together, biggest first, where the lane
/// scheduler can balance them.
fn plan_chunks(files: Vec<&mut Entry>, threads: usize) -> Vec<Vec<&mut Entry>> {
    let size = |e: &Entry| e.record.meta.map_or(0, |m| m.size);
    let (mut large, small): (Vec<_>, Vec<_>) =
        files.into_iter().partition(|e| size(e) >= read::MAP_MIN);
    let mut chunks = Vec::new();
    let (mut current, mut bytes) = (Vec::new(), 0u64);
    for entry in small {
        bytes += size(entry);
        current.push(entry);
        if current.len() >= CHUNK_FILES || bytes >= CHUNK_READ_BYTES {
            chunks.push(std::mem::take(&mut current));
            bytes = 0;
        }
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    large.sort_by_key(|e| std::cmp::Reverse(size(e)));
    let mut groups: Vec<(u64, Vec<&mut Entry>)> =
        (0..threads.max(1)).map(|_| (0, Vec::new())).collect();
    for entry in large {
        if let Some(group) = groups.iter_mut().min_by_key(|g| g.0) {
            group.0 += size(entry);
            group.1.push(entry);
        }
    }
    chunks.extend(groups.into_iter().map(|g| g.1).filter(|g| !g.is_empty()));
    chunks
}

fn hash_chunk(chunk: &mut [&mut Entry], algorithm: Algorithm, kernel: Kernel, hooks: &HookRef) {
    let outcomes = {
        let jobs: Vec<read::Job> = chunk
            .iter()
            .filter_map(|entry| {
                Some(read::Job {
                    file: entry.file.as_ref()?,
                    name: &entry.record.name,
                    seen: entry.record.meta?,
                })
            })
            .collect();
        read::checksum_many(&jobs, algorithm, kernel, hooks)
    };
    for (entry, (meta, content)) in chunk.iter_mut().zip(outcomes) {
        entry.record.meta = Some(meta);
        entry.record.content = content;
    }
}

/// A file whose content could not be hashed is reported; directories and symlinks whose
/// problem the walker already reported are not reported twice.
fn content_problem(record: &Record) -> Option<String> {
    if record.kind != crate::record::Kind::File {
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

/// The walker holds a directory fd per level and a chunk holds its large files open: lift
/// the soft limit on open files to the hard one (1024 is a common soft default).
fn raise_open_file_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}
