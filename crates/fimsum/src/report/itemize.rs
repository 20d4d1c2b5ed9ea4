//! `--format itemize`: the lines `rsync -a --delete --checksum --out-format="%i %n %C" NEW/ BACKUP/`
//! prints when BACKUP is a copy of the tree as the baseline recorded it.
//!
//! [`item`] computes, for one change, the flags rsync's generator gives the entry
//! (`itemize()` and `recv_generator()` in rsync's generator.c, rendered by `%i` in log.c).
//! Both rsync formats are derived from them, because whether rsync prints a line at all
//! depends on them:
//! - with `%i` in the format, rsync prints a line for every entry with a significant flag:
//!   created (`+++++++++`), transferred (`>`), re-created (`c`), or any attribute letter,
//!   so attribute-only changes of files, symlinks and special files get lines
//!   (`.f...p.....`, `.L..t......`, `.S....og...`);
//! - without it (`--format rsync`, [`crate::report::rsync`]) only transfers, entries created
//!   or re-created on the receiver, and directories with any flag get a line
//!   (`maybe_log_item()` in log.c).
//!
//! The letters, for `rsync -a` run by root on Linux (as the recordings in
//! baselines/rsync-incremental were; owners are compared only then):
//! - `>f` a file whose checksum differs (with `c`, as `--checksum` found it), `s` size, `t`
//!   mtime, `p` permissions, `o` owner, `g` group; `.` nothing to send, attributes fixed;
//! - `cL`, `cD`, `cS`: a symlink whose target differs, a device whose number differs, a
//!   FIFO that became a socket (or back) is re-created (`c` in the third place too); the
//!   attribute letters then compare the old entry with the new one. Symlinks never get `p`
//!   (Linux cannot chmod them) nor `s`;
//! - a new entry, or one that replaces another type, is `+++++++++`; no `*deleting` line is
//!   printed for what it replaces (only for the contents of a replaced directory);
//! - rsync treats a character and a block device as one type and compares only their
//!   device numbers: a character device become a block device with the same number gets
//!   its attribute letters only, and is left as it was (checked against rsync 3.5.0 by
//!   `tests/rsync_incremental.rs`).
//!
//! `*deleting` lines (`*deleting   NAME` and a blank `%C`) come first, in the order of
//! [`crate::report::deletions`]: rsync interleaves them with the others in an order
//! that varies between identical runs, so fimsum prints the one order the recordings are
//! normalised to (docs/rsync-behaviour.md, "Incremental runs").
//!
//! Where a side carries no metadata (an rsync `%n %C` log, or a baseline imported from
//! one), what a log cannot tell is not guessed: no lines for attribute-only changes or
//! directories (nothing is known to differ), the size, time, permission, owner and group
//! letters of a changed file are `?`, and so is the type letter of a non-file, non-directory
//! entry from a log (`c?+++++++++`: symlink, device and special file look alike there).
//! The same goes for a file whose checksums were not compared (two baselines of different
//! algorithms): unless its size changed, whether it would be sent is `?` (`?f?.t......`).

use std::io::{self, Write};

use crate::diff::{meta_fields, Change, ChangeKind, Diff};
use crate::hash::Algorithm;
use crate::record::{Attribute, Kind, Record};
use crate::report::deletions::deletions;
use crate::rsync::escape::{escape_line, Charset};
use crate::rsync::log::{push_blank_checksum, push_name_and_checksum};
use crate::rsync::order::cmp_entries;

/// How rsync updates an entry: the first letter of `%i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Update {
    /// `.`: nothing is sent or created; attributes may be fixed.
    None,
    /// `>`: the file's content is sent.
    Transfer,
    /// `c`: the entry is created, or deleted and created again, on the receiver.
    Local,
    /// `?`: fimsum cannot tell whether the file would be sent (checksums not compared).
    Unknown,
}

/// The attribute letters of `%i` after the type letter (rsync's `ITEM_REPORT_*` bits),
/// as a small bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Flags(u8);

impl Flags {
    pub(crate) const CHANGE: Flags = Flags(1);
    pub(crate) const SIZE: Flags = Flags(2);
    pub(crate) const TIME: Flags = Flags(4);
    pub(crate) const PERMS: Flags = Flags(8);
    pub(crate) const OWNER: Flags = Flags(16);
    pub(crate) const GROUP: Flags = Flags(32);

    /// Each flag with its letter and its place in the `%i` string.
    const LETTERS: [(Flags, u8, usize); 6] = [
        (Flags::CHANGE, b'c', 2),
        (Flags::SIZE, b's', 3),
        (Flags::TIME, b't', 4),
        (Flags::PERMS, b'p', 5),
        (Flags::OWNER, b'o', 6),
        (Flags::GROUP, b'g', 7),
    ];

    pub(crate) fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }
}

/// What rsync's generator decides for one entry of the new tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Itemized {
    pub update: Update,
    /// The entry's type in the new tree.
    pub kind: Kind,
    /// Created: the receiver had nothing of this type at the name.
    pub is_new: bool,
    /// The attribute letters known to be set.
    pub flags: Flags,
    /// The attribute letters fimsum cannot know (a side without metadata).
    pub unknown: Flags,
}

impl Itemized {
    /// Record whether the content (a file's bytes, a symlink's target, a device's number)
    /// differs, and so whether rsync updates the entry as `how`; `None`: fimsum cannot tell.
    fn content(&mut self, differs: Option<bool>, how: Update) {
        match differs {
            Some(true) => {
                self.update = how;
                self.flags.insert(Flags::CHANGE);
            }
            Some(false) => {}
            None => {
                self.update = Update::Unknown;
                self.unknown.insert(Flags::CHANGE);
            }
        }
    }

    /// An entry the receiver does not have (or has as another type): created.
    fn created(kind: Kind) -> Itemized {
        Itemized {
            update: if kind == Kind::File {
                Update::Transfer
            } else {
                Update::Local
            },
            kind,
            is_new: true,
            flags: Flags::default(),
            unknown: Flags::default(),
        }
    }

    /// rsync prints a line for this entry when the format has `%i`: it has a significant
    /// flag. An entry whose only flags are unknown gets no line: nothing is known to differ.
    pub(crate) fn printed_with_i(&self) -> bool {
        self.is_new
            || matches!(self.update, Update::Transfer | Update::Local)
            || !self.flags.is_empty()
    }

    /// rsync prints a line for this entry with a format without `%i` (`%n %C`): a transfer,
    /// a local change, or a directory with any significant flag.
    pub(crate) fn printed_without_i(&self) -> bool {
        matches!(self.update, Update::Transfer | Update::Local)
            || (self.kind == Kind::Dir && self.printed_with_i())
    }

    /// The `%i` string, 11 bytes.
    pub(crate) fn code(&self) -> [u8; 11] {
        let mut c = [b'.'; 11];
        c[0] = match self.update {
            Update::None => b'.',
            Update::Transfer => b'>',
            Update::Local => b'c',
            Update::Unknown => b'?',
        };
        c[1] = match self.kind {
            Kind::File => b'f',
            Kind::Dir => b'd',
            Kind::Symlink => b'L',
            Kind::Fifo | Kind::Socket => b'S',
            Kind::CharDevice | Kind::BlockDevice => b'D',
            Kind::Special => b'?',
        };
        if self.is_new {
            c[2..].fill(b'+');
            return c;
        }
        for (flag, letter, at) in Flags::LETTERS {
            if self.flags.contains(flag) {
                c[at] = letter;
            } else if self.unknown.contains(flag) {
                c[at] = b'?';
            }
        }
        // rsync turns an all-dots tail into spaces, for lines of unchanged entries that
        // only `-ii` prints; every line printed here has a letter or `+`.
        c
    }
}

/// rsync's verdict on one change, or `None` for a change that concerns no entry of the new
/// tree (removed: a `*deleting` line instead) or that could not be verified (no line: rsync
/// prints none for a file it cannot read).
pub(crate) fn item(change: &Change) -> Option<Itemized> {
    let new = change.new.as_ref()?;
    match &change.kind {
        ChangeKind::Removed | ChangeKind::Unverified(_) => None,
        ChangeKind::Added => Some(Itemized::created(new.kind)),
        ChangeKind::TypeChanged => {
            let old = change.old.as_ref()?;
            // recv_generator() keeps an entry of the same rsync file type (FT_SPECIAL:
            // FIFO and socket; FT_DEVICE: character and block device) and compares it as
            // usual; anything else is deleted and created.
            let same_ftype = matches!(
                (old.kind, new.kind),
                (Kind::Fifo | Kind::Socket, Kind::Fifo | Kind::Socket)
                    | (
                        Kind::CharDevice | Kind::BlockDevice,
                        Kind::CharDevice | Kind::BlockDevice
                    )
            );
            if !same_ftype {
                return Some(Itemized::created(new.kind));
            }
            let mut fields = Vec::new();
            if let (Some(a), Some(b)) = (&old.meta, &new.meta) {
                meta_fields(new.kind, a, b, &mut fields);
            }
            Some(updated(old, new, &fields, true))
        }
        ChangeKind::Modified(fields) => Some(updated(change.old.as_ref()?, new, fields, false)),
    }
}

/// An entry the receiver has with the same rsync file type. `fields`: what differs;
/// `retyped`: a FIFO and a socket, which always differ (rsync re-creates the entry).
fn updated(old: &Record, new: &Record, fields: &[Attribute], retyped: bool) -> Itemized {
    let has = |f: Attribute| fields.contains(&f);
    let mut item = Itemized {
        update: Update::None,
        kind: new.kind,
        is_new: false,
        flags: Flags::default(),
        unknown: Flags::default(),
    };
    match new.kind {
        Kind::File => {
            // A different size means different content even where checksums were not
            // compared; equal checksums mean the file is not sent.
            let differs = if has(Attribute::Content) || has(Attribute::Size) {
                Some(true)
            } else {
                match (old.content.digest(), new.content.digest()) {
                    (Some(a), Some(b)) if a == b => Some(false),
                    _ => None,
                }
            };
            item.content(differs, Update::Transfer);
        }
        Kind::Symlink => {
            let differs = if old.link_target.is_some() && new.link_target.is_some() {
                Some(has(Attribute::Link))
            } else {
                None
            };
            item.content(differs, Update::Local);
        }
        Kind::CharDevice | Kind::BlockDevice => {
            let differs =
                (old.meta.is_some() && new.meta.is_some()).then(|| has(Attribute::Device));
            item.content(differs, Update::Local);
        }
        Kind::Fifo | Kind::Socket => item.content(Some(retyped), Update::Local),
        // A directory has no content of its own; a log's special entry shows none.
        Kind::Dir | Kind::Special => {}
    }
    let letters = [
        (Attribute::Size, Flags::SIZE),
        (Attribute::Mtime, Flags::TIME),
        (Attribute::Mode, Flags::PERMS),
        (Attribute::Owner, Flags::OWNER),
        (Attribute::Group, Flags::GROUP),
    ];
    let known = old.meta.is_some() && new.meta.is_some();
    for (field, flag) in letters {
        // rsync reports a size for regular files only, and no permissions for symlinks
        // (built for Linux without CAN_CHMOD_SYMLINK: a symlink's mode cannot be set).
        let reported = match field {
            Attribute::Size => new.kind == Kind::File,
            Attribute::Mode => new.kind != Kind::Symlink,
            _ => true,
        };
        if !reported {
            continue;
        }
        if !known {
            item.unknown.insert(flag);
        } else if has(field) && (field != Attribute::Mtime || whole_seconds_differ(old, new)) {
            item.flags.insert(flag);
        }
    }
    item
}

/// rsync's `same_time()` (util1.c) with its default `--modify-window` of 0 compares whole
/// seconds: an mtime that moved within its second is the same time to rsync, which then
/// prints nothing for it and sets no time (nanoseconds count only with
/// `--modify-window=-1`).
fn whole_seconds_differ(old: &Record, new: &Record) -> bool {
    match (old.meta, new.meta) {
        (Some(a), Some(b)) => a.mtime.sec != b.mtime.sec,
        _ => true,
    }
}

/// The entries rsync itemizes, with their verdicts, in the new tree's order (rsync's
/// file-list order, in which it prints them).
pub(crate) fn items(diff: &Diff) -> Vec<(&Record, Itemized)> {
    let mut items: Vec<(&Record, Itemized)> = diff
        .changes
        .iter()
        .filter_map(|c| Some((c.new.as_ref()?, item(c)?)))
        .collect();
    // A file that became a directory is paired at the file's place; rsync lists it where
    // the directory sorts.
    items.sort_by(|(a, _), (b, _)| cmp_entries(&a.name, a.is_dir(), &b.name, b.is_dir()));
    items
}

/// Write the `%i %n %C` lines: `*deleting` lines first, then the itemized entries.
pub fn write_itemize(
    out: &mut dyn Write,
    diff: &Diff,
    charset: Charset,
    algorithm: Algorithm,
) -> io::Result<()> {
    let mut raw = Vec::new();
    let mut line = Vec::new();
    let mut emit = |raw: &[u8], out: &mut dyn Write| {
        line.clear();
        escape_line(raw, charset, &mut line);
        line.push(b'\n');
        out.write_all(&line)
    };
    for record in deletions(diff) {
        raw.clear();
        // `%i` of a deletion is "*deleting  "; `%C` is blank for it (ITEM_DELETED).
        raw.extend_from_slice(b"*deleting   ");
        raw.extend_from_slice(&record.display_name());
        push_blank_checksum(algorithm, &mut raw);
        emit(&raw, out)?;
    }
    for (record, item) in items(diff) {
        if !item.printed_with_i() {
            continue;
        }
        raw.clear();
        raw.extend_from_slice(&item.code());
        raw.push(b' ');
        if push_name_and_checksum(record, algorithm, &mut raw) {
            emit(&raw, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{diff, DiffOptions};
    use crate::test_records::{entry, file};

    const KINDS: [Kind; 7] = [
        Kind::File,
        Kind::Dir,
        Kind::Symlink,
        Kind::Fifo,
        Kind::Socket,
        Kind::CharDevice,
        Kind::BlockDevice,
    ];

    fn record(kind: Kind, variant: u32) -> Record {
        let data = if variant == 1 {
            b"two".as_slice()
        } else {
            b"one"
        };
        let mut r = match kind {
            Kind::File => file("x", data),
            Kind::Symlink => entry("x", kind).target(data),
            _ => entry("x", kind),
        };
        r = r
            .mode(if variant == 2 { 0o600 } else { 0o644 })
            .uid(u32::from(variant == 3))
            .gid(u32::from(variant == 4))
            .size(if kind == Kind::File && variant == 5 {
                4
            } else {
                3
            })
            .mtime(1_600_000_000 + i64::from(variant == 6), 0)
            .rdev(u64::from(variant == 7));
        r
    }

    /// As an rsync log has it: no metadata, no symlink target, no exact type.
    fn from_log(mut r: Record) -> Record {
        r.meta = None;
        r.link_target = None;
        if !matches!(r.kind, Kind::File | Kind::Dir) {
            r.kind = Kind::Special;
        }
        r
    }

    /// Every pair of kinds, each with every one-attribute variant on the new side, as
    /// `diff` pairs them; `log` strips the old, the new or both sides to log records.
    fn changes(log: (bool, bool)) -> Vec<Change> {
        let mut all = Vec::new();
        for old_kind in KINDS {
            for new_kind in KINDS {
                for variant in 0..8 {
                    let mut old = record(old_kind, 0);
                    let mut new = record(new_kind, variant);
                    if log.0 {
                        old = from_log(old);
                    }
                    if log.1 {
                        new = from_log(new);
                    }
                    let options = DiffOptions {
                        compare_content: true,
                        ..DiffOptions::default()
                    };
                    let d = diff([Ok(old)].into_iter(), [Ok(new)].into_iter(), options)
                        .expect("diff of records");
                    all.extend(d.changes);
                }
            }
        }
        assert!(all.len() > 100, "only {} changes", all.len());
        all
    }

    #[test]
    fn itemize_lines_without_i_are_a_subset_of_those_with_i() {
        for log in [(false, false), (true, false), (false, true), (true, true)] {
            for c in changes(log) {
                if let Some(item) = item(&c) {
                    assert!(
                        !item.printed_without_i() || item.printed_with_i(),
                        "{item:?}"
                    );
                    let code = item.code();
                    if item.is_new {
                        assert_eq!(&code[2..], b"+++++++++", "{item:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn itemize_says_unknown_only_where_a_side_has_no_metadata() {
        for c in changes((false, false)) {
            if let Some(item) = item(&c) {
                assert!(!item.code().contains(&b'?'), "{item:?} for {c:?}");
            }
        }
        let mut checked = 0;
        for log in [(true, false), (false, true), (true, true)] {
            for c in changes(log) {
                let Some(item) = item(&c) else { continue };
                if !item.printed_with_i() || item.is_new {
                    // Nothing is claimed of an entry without a line; a new one has no letters.
                    continue;
                }
                // A line printed for an entry seen in both trees: its attribute places are
                // never a confident `.` (unchanged) where a log could not tell.
                let code = item.code();
                let reported: &[usize] = match item.kind {
                    Kind::File => &[3, 4, 5, 6, 7],
                    Kind::Symlink => &[4, 6, 7],
                    _ => &[4, 5, 6, 7],
                };
                for &at in reported {
                    assert_eq!(code[at], b'?', "{item:?} for {c:?}");
                }
                checked += 1;
            }
        }
        assert!(checked > 0, "no line of an entry seen in both trees");
    }
}
