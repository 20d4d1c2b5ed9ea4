//! `check --quick`: take a file's checksum from the baseline instead of reading the file,
//! when its identity and times show it has not changed.
//!
//! A file is trusted when device, inode, size, mtime and ctime (both to the nanosecond) are
//! all what the baseline recorded. mtime alone is not enough: anyone who can write a file
//! can set its mtime back (`touch -d`), but not its ctime, which the kernel sets on every
//! change of content or metadata and which cannot be set from user space short of changing
//! the clock. `--quick-sample N` still rehashes about N% of the trusted files, chosen at
//! random, as a spot check of the assumption.
//!
//! A baseline with extra digests (`scan --digest`) hands them out with the checksum, so a
//! trusted file keeps every digest the baseline has for it; a file whose baseline record
//! lacks one of the extras the scan computes is read.
//!
//! The baseline and the scan come in the same rsync order, so the lookup is a cursor that
//! only moves forward: no map of the tree is built. The records are decoded ahead in a
//! thread of their own, once for both of a check's readers ([`split`]): the cursor moves in
//! the walker's thread, which is what a quick check waits for, and the comparison follows
//! the scan's output behind it.

use std::cmp::Ordering;
use std::iter::Peekable;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};

use crate::attrs::Attrs;
use crate::error::Result;
use crate::hash::{Digest, HashKind};
use crate::record::{Kind, Record};
use crate::rsync::order::cmp_entries;
use crate::text::Snapshot;

/// Records handed over from the decoding thread at a time.
const AHEAD_CHUNK: usize = 1024;

/// Chunks of files the decoding thread may be ahead of the walker.
const AHEAD_CHUNKS: usize = 4;

/// The baseline's records decoded once, in a thread of their own, for a quick check's two
/// readers: the first iterator has the regular files with a checksum, for [`QuickCheck`]
/// in the walker's thread, the second has every record (and the first error, which ends
/// both), for the comparison.
///
/// The thread is held back only by the walker: at most [`AHEAD_CHUNKS`] chunks of files
/// ahead of it. The comparison's side is not bounded, because the comparison waits for the
/// scan's output, which waits for the walker: were the thread held back by the comparison
/// too, a walker waiting for a file's record could wait for a comparison that waits for
/// the walker. The walker moves the cursor at every entry ([`Reuse::pass`]), so what the
/// comparison needs has always been decoded, and what is queued for it is about what the
/// scan has in flight. When the walker is done the thread goes on for the comparison alone;
/// when the comparison is gone it stops. Where no thread can be started, the walker's side
/// is empty (every file is read) and the comparison decodes the records itself.
pub(crate) fn split<I>(records: I) -> (Ahead, Ahead)
where
    I: Iterator<Item = Result<Record>> + Send + 'static,
{
    let (files_tx, files_rx) = mpsc::sync_channel::<Vec<Result<Record>>>(AHEAD_CHUNKS);
    let (all_tx, all_rx) = mpsc::channel::<Vec<Result<Record>>>();
    // Shared so that it can be taken back if the thread does not start.
    let ours = Arc::new(Mutex::new(Some(records)));
    let theirs = Arc::clone(&ours);
    let started = std::thread::Builder::new()
        .name("fimsum-read-ahead".into())
        .spawn(move || {
            let Some(records) = take(&theirs) else { return };
            let mut files_tx = Some(files_tx);
            let mut files = Vec::with_capacity(AHEAD_CHUNK);
            let mut all = Vec::with_capacity(AHEAD_CHUNK);
            for record in records {
                let failed = record.is_err();
                if let Ok(r) = &record {
                    if r.kind == Kind::File && r.content.digest().is_some() && files_tx.is_some() {
                        files.push(Ok(r.clone()));
                    }
                }
                all.push(record);
                if all.len() == AHEAD_CHUNK || files.len() == AHEAD_CHUNK || failed {
                    // The comparison's first: the send to the walker may wait.
                    if all_tx.send(std::mem::take(&mut all)).is_err() {
                        return;
                    }
                    all.reserve(AHEAD_CHUNK);
                }
                if files.len() == AHEAD_CHUNK || failed {
                    let full = std::mem::replace(&mut files, Vec::with_capacity(AHEAD_CHUNK));
                    if files_tx.as_ref().is_some_and(|tx| tx.send(full).is_err()) {
                        files_tx = None; // the walk is done
                    }
                }
                if failed {
                    return;
                }
            }
            let _ = all_tx.send(all);
            if let Some(tx) = files_tx {
                let _ = tx.send(files);
            }
        });
    if started.is_ok() {
        return (
            Box::new(files_rx.into_iter().flatten()),
            Box::new(all_rx.into_iter().flatten()),
        );
    }
    match take(&ours) {
        Some(records) => (Box::new(std::iter::empty()), Box::new(records)),
        // Not reached: the closure was never run.
        None => (Box::new(std::iter::empty()), Box::new(std::iter::empty())),
    }
}

/// One side of [`split`].
pub(crate) type Ahead = Box<dyn Iterator<Item = Result<Record>> + Send>;

fn take<T>(shared: &Mutex<Option<T>>) -> Option<T> {
    shared.lock().unwrap_or_else(PoisonError::into_inner).take()
}

/// What a scan takes over for a file it does not read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Known {
    pub digest: Digest,
    /// The extra digests the scan computes, in its order.
    pub extra: Vec<(HashKind, Digest)>,
    /// The baseline's snapshot of the same content ([`crate::text`]), if it has one.
    pub snapshot: Option<Snapshot>,
    /// The baseline's security attributes of the file, if it recorded them: setting an
    /// xattr, an ACL, a capability or an inode flag changes the ctime, which a trusted file
    /// kept, so they are the file's attributes now too.
    pub attrs: Option<Attrs>,
}

/// Where a scan may get checksums without reading files. The scan hands it every entry it
/// lists, in its order, through one of the two methods.
pub trait Reuse: Send {
    /// The known checksum and extra digests of this regular file, if it can be trusted
    /// unchanged.
    fn known(&mut self, record: &Record) -> Option<Known>;

    /// An entry listed without the question: for a cursor, what comes before it is behind.
    fn pass(&mut self, record: &Record);
}

/// The baseline side of `check --quick`.
pub struct QuickCheck<I: Iterator<Item = Result<Record>>> {
    old: Peekable<I>,
    /// The extra digests the scan computes: a file is trusted only if its baseline record
    /// has exactly these.
    extras: Vec<HashKind>,
    /// Rehash this many of every 2^32 trusted files anyway.
    sample: u64,
    rng: u64,
    trusted: Arc<AtomicU64>,
}

impl<I: Iterator<Item = Result<Record>>> QuickCheck<I> {
    /// `old`: the baseline's records; `extras`: the extra digests the scan computes;
    /// `sample_percent` (0 to 100) of the trusted files are rehashed anyway; `trusted`
    /// counts the files taken on trust.
    pub fn new(
        old: I,
        extras: &[HashKind],
        sample_percent: f64,
        seed: u64,
        trusted: Arc<AtomicU64>,
    ) -> QuickCheck<I> {
        let fraction = (sample_percent / 100.0).clamp(0.0, 1.0);
        QuickCheck {
            old: old.peekable(),
            extras: extras.to_vec(),
            sample: (fraction * f64::from(u32::MAX)) as u64,
            rng: seed | 1,
            trusted,
        }
    }

    /// xorshift64*: enough to spread a spot check, no more.
    fn next_random(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32
    }
}

impl<I: Iterator<Item = Result<Record>>> QuickCheck<I> {
    /// The baseline's record of `new`, the cursor moved past it and all before it.
    fn advance(&mut self, new: &Record) -> Option<Record> {
        loop {
            let old = match self.old.peek() {
                Some(Ok(old)) => old,
                _ => return None,
            };
            match cmp_entries(&old.name, old.is_dir(), &new.name, new.is_dir()) {
                Ordering::Less => {
                    self.old.next();
                }
                Ordering::Greater => return None,
                Ordering::Equal => return self.old.next()?.ok(),
            }
        }
    }
}

impl<I: Iterator<Item = Result<Record>> + Send> Reuse for QuickCheck<I> {
    fn pass(&mut self, new: &Record) {
        self.advance(new);
    }

    fn known(&mut self, new: &Record) -> Option<Known> {
        let old = self.advance(new)?;
        let (o, n) = (old.meta?, new.meta?);
        let same = old.kind == Kind::File
            && new.kind == Kind::File
            && (o.dev, o.ino, o.size, o.mtime, o.ctime) == (n.dev, n.ino, n.size, n.mtime, n.ctime);
        let digest = *old.content.digest()?;
        let has_extras = old
            .extra
            .iter()
            .map(|(k, _)| *k)
            .eq(self.extras.iter().copied());
        if !same || !has_extras || self.next_random() < self.sample {
            return None;
        }
        self.trusted.fetch_add(1, AtomicOrdering::Relaxed);
        Some(Known {
            digest,
            extra: old.extra,
            snapshot: old.snapshot,
            attrs: old.attrs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_records;

    fn file(name: &str, extra: &[HashKind]) -> Record {
        test_records::file(name, name.as_bytes())
            .size(1)
            .ino(7)
            .extras(extra, name.as_bytes())
    }

    /// Both sides of a split get their records in order, the walker's side the files
    /// alone; a walker gone early leaves the comparison everything, a comparison gone
    /// early stops the thread.
    #[test]
    fn split_hands_each_side_its_records_in_order() {
        let records = |n: usize| -> Vec<Record> {
            (0..n)
                .map(|i| {
                    let name = format!("{i:07}");
                    if i % 3 == 0 {
                        test_records::dir(&name)
                    } else {
                        file(&name, &[])
                    }
                })
                .collect()
        };
        let names = |it: Ahead| -> Vec<Vec<u8>> { it.map(|r| r.unwrap().name).collect() };
        for n in [0, 1, AHEAD_CHUNK - 1, AHEAD_CHUNK, 20 * AHEAD_CHUNK + 7] {
            let all = records(n);
            let files: Vec<Vec<u8>> = all
                .iter()
                .filter(|r| r.kind == Kind::File)
                .map(|r| r.name.clone())
                .collect();
            let every: Vec<Vec<u8>> = all.iter().map(|r| r.name.clone()).collect();
            // The walker's side first, as a walk runs ahead of the comparison.
            let (quick, diff) = split(all.clone().into_iter().map(Ok));
            assert_eq!(names(quick), files);
            assert_eq!(names(diff), every);
            let (quick, diff) = split(all.into_iter().map(Ok));
            drop(quick);
            assert_eq!(names(diff), every);
        }
        let (quick, mut diff) = split(records(100_000).into_iter().map(Ok));
        assert!(diff.nth(3).is_some());
        drop(diff);
        assert!(quick.count() < 100_000);
        // An error: the comparison gets it after the records before it; both end there.
        let mut input: Vec<Result<Record>> = records(10).into_iter().map(Ok).collect();
        input.insert(
            5,
            Err(crate::error::Error::bad_data("b", "broken".to_string())),
        );
        let (quick, diff) = split(input.into_iter());
        let got: Vec<bool> = diff.map(|r| r.is_ok()).collect();
        assert_eq!(got, [true, true, true, true, true, false]);
        assert_eq!(quick.count(), 3);
    }

    /// A trusted file brings its extra digests along; one whose baseline record lacks the
    /// extras the scan computes is not trusted (and so is read).
    #[test]
    fn trusted_files_keep_their_extra_digests() {
        let sha = [HashKind::Sha256];
        let old = vec![Ok(file("a", &sha)), Ok(file("b", &[]))];
        let trusted = Arc::new(AtomicU64::new(0));
        let mut quick = QuickCheck::new(old.into_iter(), &sha, 0.0, 1, Arc::clone(&trusted));
        let a = file("a", &[]);
        assert_eq!(
            quick.known(&a),
            Some(Known {
                digest: *file("a", &sha).content.digest().unwrap(),
                extra: file("a", &sha).extra,
                snapshot: None,
                attrs: None,
            })
        );
        assert_eq!(quick.known(&file("b", &[])), None);
        assert_eq!(trusted.load(AtomicOrdering::Relaxed), 1);
    }
}
