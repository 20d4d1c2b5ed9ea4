//! The scan pipeline: walk in rsync order, hash regular files in parallel, hand the records
//! on in the walk's order.
//!
//! The walker runs on its own thread and cuts its events into batches; each batch is hashed
//! by a rayon pool with an order-preserving parallel map and then handed to the sink in
//! order. Order is a property of the walk, never of the thread pool, so the output is the
//! same at any `--threads`. Walking the next batch overlaps hashing the current one.

use std::sync::mpsc;

use rayon::prelude::*;

use crate::error::Problem;
use crate::hash::Algorithm;
use crate::read;
use crate::record::{Content, Record};
use crate::walk::{Event, WalkOptions, Walker};

/// A batch closes at this many entries...
const BATCH_ENTRIES: usize = 1024;
/// ...or this many bytes of regular-file content, whichever comes first.
const BATCH_BYTES: u64 = 128 << 20;
/// Batches walked ahead of the hashing.
const BATCHES_AHEAD: usize = 2;

#[derive(Clone, Debug)]
pub struct ScanOptions {
    pub algorithm: Algorithm,
    /// Hashing threads; 0 means one per core.
    pub threads: usize,
    pub walk: WalkOptions,
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
    mut sink: impl FnMut(Item) -> Result<(), E>,
) -> Result<Stats, ScanError<E>> {
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
            let mut bytes = 0u64;
            for event in Walker::new(sources, walk_options) {
                if let Event::Entry(entry) = &event {
                    if entry.file.is_some() {
                        bytes += entry.record.meta.map_or(0, |m| m.size);
                    }
                }
                batch.push(event);
                if batch.len() >= BATCH_ENTRIES || bytes >= BATCH_BYTES {
                    if tx.send(std::mem::take(&mut batch)).is_err() {
                        return; // the sink failed; stop walking
                    }
                    bytes = 0;
                }
            }
            let _ = tx.send(batch);
        });
        for mut batch in rx {
            pool.install(|| {
                batch.par_iter_mut().for_each(|event| {
                    if let Event::Entry(entry) = event {
                        if let (Some(file), Some(seen)) = (&entry.file, entry.record.meta) {
                            let name = &entry.record.name;
                            let (meta, content) =
                                read::checksum(file, name, &seen, algorithm, hooks);
                            entry.record.meta = Some(meta);
                            entry.record.content = content;
                        }
                    }
                })
            });
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
