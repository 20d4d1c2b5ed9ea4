//! A batch of walked entries on its way to the output, held compactly while its files are
//! hashed.
//!
//! With multi-buffer MD5 a file spends 32 times longer in its lane than it would alone, so
//! the walk runs up to [`crate::scan::BATCHES_AHEAD`] batches ahead of the output: for /usr,
//! every one of its 133k entries is held at once. As plain [`Record`]s, with the hashing
//! threads' outcomes in a list beside them, an entry took about 500 bytes (measured: 55 MB of
//! a scan's 85 MB peak RSS). Here a batch keeps the rare fields of a record in a box, writes
//! each outcome straight into its entry's slot, and keeps its names in one buffer, each as
//! the bytes that differ from the name before (walk order puts siblings side by side: the
//! names of /usr take 9.3 MB whole and 2.4 MB so), so an entry takes 128 bytes and a little.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::attrs::Attrs;
use crate::error::Problem;
use crate::hash::{Digest, HashKind};
use crate::record::{Content, Kind, Meta, Record, Timestamp};
use crate::rsync::order::common_prefix;
use crate::scan::read::Hashed;
use crate::scan::walk::Skipped;
use crate::text::Snapshot;

/// What a scan hands to its sink, in rsync order: what a batch holds and gives back.
#[derive(Debug)]
pub enum Item {
    /// An entry, in rsync order.
    Record(Record),
    /// An entry that could not be fully seen; the scan goes on.
    Problem(Problem),
    /// An entry rsync's listing options leave out with a line of its own (see
    /// [`Skipped`]): not a record, but a line of rsync's output.
    Skipped(Skipped),
}

/// Entries of a batch: the unit in which the walk reaches the output.
pub(super) const BATCH_ENTRIES: usize = 4096;

/// The walker's side of a batch: it adds entries and says which of them wait for a file's
/// outcome.
pub(super) struct Batch {
    held: Arc<Held>,
    /// Jobs sent for this batch so far.
    jobs: usize,
    /// Entries pushed so far: counted here too, so that the walker need not take the lock
    /// to know when the batch is full.
    len: usize,
    /// The name of the last record, which the next is stored against.
    previous: Vec<u8>,
}

impl Batch {
    pub(super) fn new() -> Batch {
        Batch {
            held: Arc::new(Held {
                state: Mutex::new(Entries {
                    names: Vec::new(),
                    entries: Vec::with_capacity(BATCH_ENTRIES),
                    missing: 0,
                }),
                complete: Condvar::new(),
            }),
            jobs: 0,
            len: 0,
            previous: Vec::new(),
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Add an entry; returns its index in the batch.
    pub(super) fn push(&mut self, item: Item) -> usize {
        let mut state = self.held.lock();
        let entry = match item {
            Item::Problem(problem) => Entry::Problem(Box::new(problem)),
            Item::Skipped(skipped) => Entry::Skipped(Box::new(skipped)),
            Item::Record(record) => {
                // At most u32::MAX: sharing less is still right, and the field stays small.
                let shared = common_prefix(&self.previous, &record.name).min(u32::MAX as usize);
                state.names.extend_from_slice(&record.name[shared..]);
                self.previous.clear();
                self.previous.extend_from_slice(&record.name);
                Entry::Record(Compact::new(record, shared, state.names.len()))
            }
        };
        state.entries.push(entry);
        self.len += 1;
        self.len - 1
    }

    /// The entry at `index` (a record) waits for a job's outcome, which the returned slot
    /// will deliver.
    pub(super) fn expect_outcome(&mut self, index: usize) -> Slot {
        self.jobs += 1;
        Slot {
            held: Some(Arc::clone(&self.held)),
            index,
        }
    }

    /// No more entries or jobs: the batch goes to the output.
    pub(super) fn close(self) -> Closed {
        let mut state = self.held.lock();
        state.missing += self.jobs as isize;
        // The buffer may have doubled past what the names need; a full window of batches
        // would hold that slack too.
        state.names.shrink_to_fit();
        drop(state);
        Closed(self.held)
    }
}

/// Where a job's outcome goes: an entry of a batch. A slot dropped unfilled (its hashing
/// thread panicked) marks its file unreadable, so that the output reports it instead of
/// waiting for it forever.
pub(super) struct Slot {
    held: Option<Arc<Held>>,
    index: usize,
}

impl Slot {
    /// Complete the entry with what hashing its file found.
    pub(super) fn fill(mut self, hashed: Hashed) {
        self.deliver(Ok(hashed));
    }

    fn deliver(&mut self, outcome: Result<Hashed, &str>) {
        let Some(held) = self.held.take() else {
            return;
        };
        let mut state = held.lock();
        if let Some(Entry::Record(compact)) = state.entries.get_mut(self.index) {
            match outcome {
                Ok(hashed) => {
                    compact.set_meta(Some(hashed.meta));
                    compact.content = hashed.content;
                    compact.set_extra(hashed.extra);
                    compact.set_attrs(hashed.attrs);
                    if hashed.snapshot.is_some() {
                        compact.rare().snapshot = hashed.snapshot;
                    }
                }
                Err(why) => compact.content = Content::Unreadable(why.into()),
            }
        }
        state.missing -= 1;
        if state.missing == 0 {
            held.complete.notify_all();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.deliver(Err("not hashed: its hashing thread stopped"));
    }
}

/// The output's side of a batch: closed, its outcomes still coming in.
pub(super) struct Closed(Arc<Held>);

impl Closed {
    /// Wait until every job of the batch has delivered its outcome, and take its entries in
    /// order.
    pub(super) fn wait(self) -> impl Iterator<Item = Item> {
        let mut state = self.0.lock();
        while state.missing != 0 {
            state = self
                .0
                .complete
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        let names = std::mem::take(&mut state.names);
        let entries = std::mem::take(&mut state.entries);
        let (mut start, mut previous) = (0, Vec::new());
        entries.into_iter().map(move |entry| match entry {
            Entry::Problem(problem) => Item::Problem(*problem),
            Entry::Skipped(skipped) => Item::Skipped(*skipped),
            Entry::Record(compact) => {
                previous.truncate(compact.shared as usize);
                previous.extend_from_slice(names.get(start..compact.name_end).unwrap_or_default());
                start = compact.name_end;
                Item::Record(compact.into_record(previous.clone()))
            }
        })
    }
}

/// What the walker, the hashing threads and the output share of a batch.
struct Held {
    state: Mutex<Entries>,
    /// Signalled when the last missing outcome arrives.
    complete: Condvar,
}

impl Held {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Entries {
    /// Every record's name, back to back.
    names: Vec<u8>,
    entries: Vec<Entry>,
    /// Jobs announced minus outcomes delivered: below zero while the batch is still open and
    /// its first files are already done; zero once it is closed and complete.
    missing: isize,
}

enum Entry {
    Record(Compact),
    /// Rare: boxed so that it does not make every entry larger.
    Problem(Box<Problem>),
    /// Boxed for the same reason.
    Skipped(Box<Skipped>),
}

/// A [`Record`] without its name: that is the first `shared` bytes of the record before,
/// then the batch's buffer up to `name_end`. 128 bytes.
struct Compact {
    name_end: usize,
    shared: u32,
    kind: Kind,
    meta: Packed,
    content: Content,
    /// The attributes were recorded and are empty ([`Attrs::is_empty`]), the usual case,
    /// kept without a box; any others are in [`Rare::attrs`].
    no_attrs: bool,
    /// A symlink's target, a file's extra digests or metadata that does not pack, when there
    /// are any.
    rare: Option<Box<Rare>>,
}

#[derive(Default)]
struct Rare {
    link_target: Option<Vec<u8>>,
    extra: Vec<(HashKind, Digest)>,
    /// The metadata, when it is absent or does not pack: then `Compact::meta` means nothing.
    meta: Option<Option<Meta>>,
    attrs: Option<Attrs>,
    snapshot: Option<Snapshot>,
}

/// [`Meta`] in 64 bytes instead of 96 (as an `Option`): no padding after the nanoseconds,
/// the link count in 32 bits, and no device number; what does not fit that stays whole in
/// [`Rare`].
#[derive(Clone, Copy, Default)]
struct Packed {
    size: u64,
    ino: u64,
    dev: u64,
    mtime: i64,
    ctime: i64,
    mode: u32,
    uid: u32,
    gid: u32,
    mtime_nsec: u32,
    ctime_nsec: u32,
    nlink: u32,
}

impl Packed {
    /// `None` if `meta` does not fit (a device's number, or 2^32 links or more).
    fn new(meta: &Meta) -> Option<Packed> {
        if meta.rdev != 0 {
            return None;
        }
        Some(Packed {
            size: meta.size,
            ino: meta.ino,
            dev: meta.dev,
            mtime: meta.mtime.sec,
            ctime: meta.ctime.sec,
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
            mtime_nsec: meta.mtime.nsec,
            ctime_nsec: meta.ctime.nsec,
            nlink: u32::try_from(meta.nlink).ok()?,
        })
    }

    fn unpack(&self) -> Meta {
        Meta {
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            size: self.size,
            mtime: Timestamp {
                sec: self.mtime,
                nsec: self.mtime_nsec,
            },
            ctime: Timestamp {
                sec: self.ctime,
                nsec: self.ctime_nsec,
            },
            ino: self.ino,
            dev: self.dev,
            nlink: u64::from(self.nlink),
            rdev: 0,
        }
    }
}

impl Compact {
    fn new(record: Record, shared: usize, name_end: usize) -> Compact {
        let Record {
            name: _,
            kind,
            meta,
            link_target,
            content,
            extra,
            attrs,
            snapshot,
        } = record;
        let mut compact = Compact {
            name_end,
            shared: shared as u32,
            kind,
            meta: Packed::default(),
            content,
            no_attrs: false,
            rare: None,
        };
        compact.set_meta(meta);
        if link_target.is_some() {
            compact.rare().link_target = link_target;
        }
        compact.set_extra(extra);
        compact.set_attrs(attrs);
        if snapshot.is_some() {
            compact.rare().snapshot = snapshot;
        }
        compact
    }

    /// Record the attributes: empty ones without a box.
    fn set_attrs(&mut self, attrs: Option<Attrs>) {
        self.no_attrs = attrs.as_ref().is_some_and(Attrs::is_empty);
        match attrs.filter(|a| !a.is_empty()) {
            Some(attrs) => self.rare().attrs = Some(attrs),
            None => {
                if let Some(rare) = &mut self.rare {
                    rare.attrs = None;
                }
            }
        }
    }

    /// The rare fields, boxed now if they were not yet.
    fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    fn set_meta(&mut self, meta: Option<Meta>) {
        match meta.as_ref().and_then(Packed::new) {
            Some(packed) => {
                self.meta = packed;
                if let Some(rare) = &mut self.rare {
                    rare.meta = None;
                }
            }
            None => self.rare().meta = Some(meta),
        }
    }

    fn set_extra(&mut self, extra: Vec<(HashKind, Digest)>) {
        if !extra.is_empty() || self.rare.is_some() {
            self.rare().extra = extra;
        }
    }

    fn into_record(self, name: Vec<u8>) -> Record {
        let packed = self.meta;
        let Rare {
            link_target,
            extra,
            meta,
            attrs,
            snapshot,
        } = self.rare.map(|rare| *rare).unwrap_or_default();
        Record {
            name,
            kind: self.kind,
            meta: meta.unwrap_or_else(|| Some(packed.unpack())),
            link_target,
            content: self.content,
            extra,
            attrs: attrs.or_else(|| self.no_attrs.then(Attrs::default)),
            snapshot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Algorithm;
    use crate::test_records::entry;

    fn record(name: &str, kind: Kind) -> Record {
        entry(name, kind).size(name.len() as u64).mtime(7, 9)
    }

    fn digest(data: &[u8]) -> Digest {
        let mut hasher = Algorithm::Md5.hasher();
        hasher.update(data);
        hasher.finish()
    }

    #[test]
    fn entries_come_back_whole_and_in_order_with_their_outcomes() {
        let mut batch = Batch::new();
        let dir = record("etc", Kind::Dir);
        let mut link = record("etc/localtime", Kind::Symlink);
        link.link_target = Some(b"/usr/share/zoneinfo/UTC".to_vec());
        let problem = Problem {
            name: b"etc/secret".to_vec(),
            message: "cannot list: Permission denied".into(),
        };
        let passwd = record("etc/passwd", Kind::File);
        let empty = record("", Kind::File);
        let lost = record("etc/shadow", Kind::File);
        // Metadata that does not pack, and none at all.
        let mut null = record("dev/null", Kind::CharDevice);
        null.meta = null.meta.map(|m| Meta { rdev: 0x103, ..m });
        let mut linked = record("etc/linked", Kind::File);
        linked.meta = linked.meta.map(|m| Meta {
            nlink: 1 << 33,
            ..m
        });
        let mut bare = record("from-a-log", Kind::Special);
        bare.meta = None;
        let mut known = record("etc/hosts", Kind::File);
        known.content = Content::Digest(digest(b"hosts"));
        known.extra = vec![(HashKind::Sha1, digest(b"sha1"))];

        batch.push(Item::Record(dir.clone()));
        batch.push(Item::Record(null.clone()));
        batch.push(Item::Record(bare.clone()));
        let i = batch.push(Item::Record(linked.clone()));
        let linked_slot = batch.expect_outcome(i);
        batch.push(Item::Record(link.clone()));
        batch.push(Item::Problem(problem.clone()));
        let i = batch.push(Item::Record(passwd.clone()));
        let passwd_slot = batch.expect_outcome(i);
        let i = batch.push(Item::Record(empty.clone()));
        let empty_slot = batch.expect_outcome(i);
        batch.push(Item::Record(known.clone()));
        let i = batch.push(Item::Record(lost.clone()));
        let lost_slot = batch.expect_outcome(i);
        assert_eq!(batch.len(), 10);

        // One outcome before the batch is closed, one after, with other metadata.
        let hashed = |content: Content, extra| Hashed {
            meta: Meta {
                size: 11,
                ..Meta::default()
            },
            content,
            extra,
            prefix: None,
            attrs: None,
            snapshot: None,
        };
        let extra = vec![(HashKind::Sha256, digest(b"passwd"))];
        passwd_slot.fill(hashed(Content::Digest(digest(b"passwd")), extra.clone()));
        // An outcome whose metadata packs replaces metadata that did not.
        linked_slot.fill(hashed(Content::Digest(digest(b"linked")), Vec::new()));
        let closed = batch.close();
        let output = std::thread::scope(|scope| {
            let waiting = scope.spawn(|| closed.wait().collect::<Vec<_>>());
            empty_slot.fill(hashed(Content::Unreadable("gone".into()), Vec::new()));
            drop(lost_slot);
            waiting.join().expect("the output thread")
        });

        let mut hashed_passwd = passwd;
        hashed_passwd.meta = Some(hashed(Content::NotHashed, Vec::new()).meta);
        hashed_passwd.content = Content::Digest(digest(b"passwd"));
        hashed_passwd.extra = extra;
        let mut unreadable = empty;
        unreadable.meta = hashed_passwd.meta;
        unreadable.content = Content::Unreadable("gone".into());
        let mut hashed_linked = linked;
        hashed_linked.meta = hashed_passwd.meta;
        hashed_linked.content = Content::Digest(digest(b"linked"));
        let mut lost = lost;
        lost.content = Content::Unreadable("not hashed: its hashing thread stopped".into());
        let names = |items: &[Item]| -> Vec<String> {
            items
                .iter()
                .map(|item| match item {
                    Item::Record(r) => String::from_utf8_lossy(&r.name).into_owned(),
                    Item::Problem(p) => format!("problem {}", String::from_utf8_lossy(&p.name)),
                    Item::Skipped(s) => format!("skipped {}", String::from_utf8_lossy(&s.name)),
                })
                .collect()
        };
        assert_eq!(
            names(&output),
            [
                "etc",
                "dev/null",
                "from-a-log",
                "etc/linked",
                "etc/localtime",
                "problem etc/secret",
                "etc/passwd",
                "",
                "etc/hosts",
                "etc/shadow",
            ]
        );
        let records: Vec<&Record> = output
            .iter()
            .filter_map(|item| match item {
                Item::Record(r) => Some(r),
                Item::Problem(_) | Item::Skipped(_) => None,
            })
            .collect();
        assert_eq!(
            records,
            [
                &dir,
                &null,
                &bare,
                &hashed_linked,
                &link,
                &hashed_passwd,
                &unreadable,
                &known,
                &lost
            ],
            "every field survives the compact form"
        );
        match &output[5] {
            Item::Problem(p) => assert_eq!(p.message, problem.message),
            other => panic!("not the problem in the problem's place: {other:?}"),
        }
    }

    /// Recorded attributes come back as they went in; the empty ones, nearly every entry's,
    /// take no box and no byte more.
    #[test]
    fn attributes_survive_and_the_empty_ones_cost_nothing() {
        assert_eq!(std::mem::size_of::<Compact>(), 128);
        let mut batch = Batch::new();
        let mut empty = record("usr/bin/ls", Kind::File);
        empty.attrs = Some(Attrs::default());
        let mut full = record("usr/bin/ping", Kind::File);
        let mut attrs = Attrs::default();
        attrs.add_xattr(b"user.x", Ok(b"y".to_vec()));
        full.attrs = Some(attrs);
        let none = record("usr/bin/vi", Kind::File);
        for r in [&empty, &full, &none] {
            batch.push(Item::Record(r.clone()));
        }
        {
            let state = batch.held.lock();
            let boxed: Vec<bool> = state
                .entries
                .iter()
                .map(|e| matches!(e, Entry::Record(c) if c.rare.is_some()))
                .collect();
            assert_eq!(boxed, [false, true, false]);
        }
        let out: Vec<Record> = batch
            .close()
            .wait()
            .filter_map(|item| match item {
                Item::Record(r) => Some(r),
                Item::Problem(_) | Item::Skipped(_) => None,
            })
            .collect();
        assert_eq!(out, [empty, full, none]);
    }
}
