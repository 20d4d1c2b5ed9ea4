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
//! thread of their own ([`read_ahead`]): the cursor moves in the walker's thread, which is
//! what a quick check waits for.

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

/// The items of `iter`, produced in a thread of their own, a few thousand ahead of the
/// consumer: for [`QuickCheck`], the baseline's records, whose decoding took 0.2 s of the
/// walker thread's 0.85 s in a quick check of /usr. The thread stops when the consumer is
/// dropped. Where no thread can be started, the items come from `iter` directly.
pub(crate) fn read_ahead<I>(iter: I) -> Box<dyn Iterator<Item = I::Item> + Send>
where
    I: Iterator + Send + 'static,
    I::Item: Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel::<Vec<I::Item>>(4);
    // Shared so that it can be taken back if the thread does not start.
    let ours = Arc::new(Mutex::new(Some(iter)));
    let theirs = Arc::clone(&ours);
    let started = std::thread::Builder::new()
        .name("fimsum-read-ahead".into())
        .spawn(move || {
            let Some(iter) = take(&theirs) else { return };
            let mut chunk = Vec::with_capacity(AHEAD_CHUNK);
            for item in iter {
                chunk.push(item);
                if chunk.len() == AHEAD_CHUNK {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(AHEAD_CHUNK));
                    if tx.send(full).is_err() {
                        return;
                    }
                }
            }
            let _ = tx.send(chunk);
        });
    if started.is_ok() {
        return Box::new(rx.into_iter().flatten());
    }
    match take(&ours) {
        Some(iter) => Box::new(iter),
        None => Box::new(std::iter::empty()), // not reached: the closure was never run
    }
}

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

/// Where a scan may get checksums without reading files.
pub trait Reuse: Send {
    /// The known checksum and extra digests of this regular file, if it can be trusted
    /// unchanged.
    fn known(&mut self, record: &Record) -> Option<Known>;
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

impl<I: Iterator<Item = Result<Record>> + Send> Reuse for QuickCheck<I> {
    fn known(&mut self, new: &Record) -> Option<Known> {
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
                Ordering::Equal => break,
            }
        }
        let old = self.old.next()?.ok()?;
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

    #[test]
    fn read_ahead_hands_on_every_item_in_order() {
        for n in [0, 1, AHEAD_CHUNK - 1, AHEAD_CHUNK, 5 * AHEAD_CHUNK + 7] {
            let got: Vec<usize> = read_ahead(0..n).collect();
            assert_eq!(got, (0..n).collect::<Vec<_>>());
        }
        // A consumer that stops early does not hang on the thread.
        assert_eq!(read_ahead(0..1_000_000).nth(3), Some(3));
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
