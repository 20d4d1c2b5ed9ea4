//! The comparison of two record streams in rsync order: a merge, never a whole-tree map.
//!
//! Both sides come in the same order (a scan, a baseline and an rsync log all list entries
//! in rsync's file-list order), so one pass pairs them up. Memory holds the changes found,
//! not the trees.
//!
//! Content is the checksum and, where both sides have them, the extra digests of the same
//! kind (`scan --digest`): a file whose extra digest changed while its checksum did not
//! has changed content (the checksum collided, as an MD5 or an xxhash can be made to).
//!
//! Never invent a change: where one side could not see (a directory it could not list, a
//! file it could not read or that changed while it was read), the entries involved are
//! reported as unverified, not as removed, added or modified.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::error::Result;
use crate::exit::Bits;
use crate::hash::{Digest, HashKind};
use crate::record::{Attribute, Content, Kind, Meta, Record};
use crate::rsync::order::cmp_entries;
use crate::text::ContentDiff;

/// What happened to one name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// In the new stream only.
    Added,
    /// In the old stream only.
    Removed,
    /// The name now holds another type of entry (file, directory, symlink, ...).
    TypeChanged,
    /// Same type; these attributes differ.
    Modified(Vec<Attribute>),
    /// This side could not see the entry (or its contents); the reason.
    Unverified(String),
}

/// A change, with the records of both sides where they exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// What changed.
    pub kind: ChangeKind,
    /// The entry in the old stream (none when added).
    pub old: Option<Record>,
    /// The entry in the new stream (none when removed).
    pub new: Option<Record>,
}

impl Change {
    /// The entry's name (raw bytes), from whichever side has it.
    pub fn name(&self) -> &[u8] {
        match (&self.new, &self.old) {
            (Some(r), _) | (None, Some(r)) => &r.name,
            (None, None) => b"",
        }
    }

    /// What changed inside the file, for a content change of a file whose snapshots a
    /// rule's `diff` kept ([`crate::text`]): a unified diff, the changed lines of a secret
    /// file, "binary", or why nothing more can be said. `None` for any other change, and
    /// where neither side has a snapshot. Computed when asked, from the two records.
    pub fn content_diff(&self) -> Option<ContentDiff> {
        match &self.kind {
            ChangeKind::Modified(fields) if fields.contains(&Attribute::Content) => {
                ContentDiff::between(
                    self.old.as_ref()?.snapshot.as_ref(),
                    self.new.as_ref()?.snapshot.as_ref(),
                )
            }
            _ => None,
        }
    }

    /// Whether the entry is a directory (in the new stream, or the old when removed).
    pub fn is_dir(&self) -> bool {
        self.new
            .as_ref()
            .or(self.old.as_ref())
            .is_some_and(Record::is_dir)
    }
}

/// How to compare.
#[derive(Clone, Copy, Debug, Default)]
pub struct DiffOptions {
    /// Compare checksums: false when the two sides used different algorithms.
    pub compare_content: bool,
    /// Also compare what rsync does not (ctime, inode, link count, and the security
    /// attributes that rsync -a without -A and -X does not copy), and index the old side's
    /// hard links ([`Diff::old_links`]): what a policy can ask for. Off for the rsync
    /// formats, which show what rsync would do.
    pub identity: bool,
}

/// The result of a comparison.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diff {
    /// The changes in rsync order.
    pub changes: Vec<Change>,
    /// Entries present on both sides and compared.
    pub compared: u64,
    /// With [`DiffOptions::identity`]: the old side's regular files with more than one link,
    /// by (device, inode), each with its first name; to tell a new hard link to an existing
    /// file.
    pub old_links: HashMap<(u64, u64), Vec<u8>>,
    /// With [`DiffOptions::identity`]: entries compared whose security attributes only one
    /// side recorded (a baseline of format 4 or earlier, a scan with `--no-attrs`), so that
    /// they were not compared: "not recorded", never a change.
    pub attrs_not_recorded: u64,
}

/// Counts by kind of change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Entries added.
    pub added: u64,
    /// Entries removed.
    pub removed: u64,
    /// Entries changed.
    pub changed: u64,
    /// Entries whose content could not be compared.
    pub unverified: u64,
}

impl Diff {
    /// The counts of each kind of change.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.kind {
                ChangeKind::Added => s.added += 1,
                ChangeKind::Removed => s.removed += 1,
                ChangeKind::TypeChanged | ChangeKind::Modified(_) => s.changed += 1,
                ChangeKind::Unverified(_) => s.unverified += 1,
            }
        }
        s
    }

    /// The exit-code bits this diff stands for.
    pub fn exit_bits(&self) -> Bits {
        let s = self.summary();
        let mut bits = Bits::NONE;
        for (count, bit) in [
            (s.added, Bits::ADDED),
            (s.removed, Bits::REMOVED),
            (s.changed, Bits::CHANGED),
            (s.unverified, Bits::INCOMPLETE),
        ] {
            if count > 0 {
                bits |= bit;
            }
        }
        bits
    }
}

/// Merge two record streams in rsync order into their differences.
pub fn diff(
    old: impl Iterator<Item = Result<Record>>,
    new: impl Iterator<Item = Result<Record>>,
    options: DiffOptions,
) -> Result<Diff> {
    diff_keeping(old, new, options, |_, _| Ok(()))
}

/// Which side's record a baseline written from a comparison keeps for a name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kept {
    /// The new side's: it saw the entry (or saw it gone).
    New,
    /// The old side's: the new side could not see the entry, or could not hash the file, so
    /// the last record of what was verified stands.
    Old,
    /// The old side's, because the new side saw the file change while it was read (a busy
    /// log): it was seen, so the scan is not incomplete, and the next comparison is made
    /// with the last verified record, so the change is not lost either.
    Unsettled,
}

/// [`diff`], also handing `keep` the record of each name that a baseline written from this
/// comparison (`update`) holds, in rsync order: the new side's, except where the new side
/// could not see what the old side recorded (an entry below a directory whose listing did
/// not complete, a name it could not look at, a file it could not hash), where the old
/// record is kept. What the new side saw removed is not kept.
///
/// Where one side could not list a directory completely, what the other side has below it
/// and this side lacks is unverified, not removed or added; entries both sides have are
/// compared as usual.
pub fn diff_keeping(
    old: impl Iterator<Item = Result<Record>>,
    new: impl Iterator<Item = Result<Record>>,
    options: DiffOptions,
    mut keep: impl FnMut(&Record, Kept) -> Result<()>,
) -> Result<Diff> {
    let mut old = old.peekable();
    let mut new = new.peekable();
    let mut out = Diff::default();
    // The directories being inside of that one side could not list completely, outermost
    // first: their name, why, and whether it is the new side that could not.
    let mut blind: Vec<(Vec<u8>, String, bool)> = Vec::new();
    loop {
        let ord = match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(Err(_)), _) => {
                return Err(old.next().and_then(|r| r.err()).expect("peeked an error"))
            }
            (_, Some(Err(_))) => {
                return Err(new.next().and_then(|r| r.err()).expect("peeked an error"))
            }
            (Some(Ok(_)), None) => Ordering::Less,
            (None, Some(Ok(_))) => Ordering::Greater,
            (Some(Ok(o)), Some(Ok(n))) => cmp_entries(&o.name, o.is_dir(), &n.name, n.is_dir()),
        };
        let (o, n) = match ord {
            Ordering::Less => (next_ok(&mut old), None),
            Ordering::Greater => (None, next_ok(&mut new)),
            Ordering::Equal => (next_ok(&mut old), next_ok(&mut new)),
        };
        if let Some(o) = o.as_ref().filter(|_| options.identity) {
            if let (Kind::File, Some(m)) = (o.kind, o.meta) {
                if m.nlink > 1 {
                    out.old_links
                        .entry((m.dev, m.ino))
                        .or_insert_with(|| o.name.clone());
                }
            }
        }
        let name = o.as_ref().or(n.as_ref()).map_or(&[][..], |r| &r.name[..]);
        while blind.last().is_some_and(|(dir, ..)| !is_below(name, dir)) {
            blind.pop();
        }
        let blind_on = |new_side: bool| {
            blind
                .iter()
                .rev()
                .find(|b| b.2 == new_side)
                .map(|b| b.1.clone())
        };
        let (new_blind, old_blind) = (blind_on(true), blind_on(false));
        for (r, new_side) in [(&o, false), (&n, true)] {
            if let Some(r) = r {
                if let (Kind::Dir, Content::Unreadable(why)) = (r.kind, &r.content) {
                    let why = format!("directory could not be read: {why}");
                    blind.push((r.name.clone(), why, new_side));
                }
            }
        }
        match (o, n) {
            (Some(o), None) => match new_blind {
                Some(why) => {
                    keep(&o, Kept::Old)?;
                    out.changes.push(Change {
                        kind: ChangeKind::Unverified(why),
                        old: Some(o),
                        new: None,
                    })
                }
                None => out.changes.push(Change {
                    kind: ChangeKind::Removed,
                    old: Some(o),
                    new: None,
                }),
            },
            (None, Some(n)) => {
                keep(&n, Kept::New)?;
                let kind = match old_blind {
                    Some(why) => ChangeKind::Unverified(format!("not seen in the baseline: {why}")),
                    None => ChangeKind::Added,
                };
                out.changes.push(Change {
                    kind,
                    old: None,
                    new: Some(n),
                })
            }
            (Some(o), Some(n)) => {
                out.compared += 1;
                let kept_old = n.is_unseen()
                    || (n.kind == Kind::File
                        && o.kind == Kind::File
                        && n.not_seen().is_some()
                        && o.content.digest().is_some());
                match kept_old {
                    true if matches!(n.content, Content::ChangedDuringScan(_)) => {
                        keep(&o, Kept::Unsettled)?
                    }
                    true => keep(&o, Kept::Old)?,
                    false => keep(&n, Kept::New)?,
                }
                if options.identity && o.attrs.is_some() != n.attrs.is_some() {
                    out.attrs_not_recorded += 1;
                }
                if let Some(kind) = compare(&o, &n, options) {
                    out.changes.push(Change {
                        kind,
                        old: Some(o),
                        new: Some(n),
                    });
                }
            }
            (None, None) => unreachable!("one side always advances"),
        }
    }
    pair_type_changes(&mut out.changes);
    Ok(out)
}

fn next_ok<I: Iterator<Item = Result<Record>>>(it: &mut std::iter::Peekable<I>) -> Option<Record> {
    it.next().and_then(|r| r.ok())
}

fn is_below(name: &[u8], dir: &[u8]) -> bool {
    dir == b"." || (name.len() > dir.len() && name.starts_with(dir) && name[dir.len()] == b'/')
}

/// Compare the two records of one name.
fn compare(o: &Record, n: &Record, options: DiffOptions) -> Option<ChangeKind> {
    // A name one side listed but could not look at: nothing is known to compare.
    if let (true, Content::Unreadable(why)) = (n.is_unseen(), &n.content) {
        return Some(ChangeKind::Unverified(why.clone()));
    }
    if let (true, Content::Unreadable(why)) = (o.is_unseen(), &o.content) {
        return Some(ChangeKind::Unverified(format!(
            "not seen in the baseline: {why}"
        )));
    }
    if !o.kind.same_type(n.kind) {
        return Some(ChangeKind::TypeChanged);
    }
    let mut fields = Vec::new();
    if o.kind == Kind::File && options.compare_content {
        match (&o.content, &n.content) {
            (Content::Digest(a), Content::Digest(b))
                if a != b || differing_extra(o, n).is_some() =>
            {
                fields.push(Attribute::Content)
            }
            (_, Content::Unreadable(why) | Content::ChangedDuringScan(why)) => {
                return Some(ChangeKind::Unverified(why.clone()));
            }
            (Content::Unreadable(why) | Content::ChangedDuringScan(why), _) => {
                return Some(ChangeKind::Unverified(format!(
                    "not hashed in the baseline: {why}"
                )));
            }
            _ => {}
        }
    }
    if let (Some(a), Some(b)) = (&o.meta, &n.meta) {
        meta_fields(o.kind, a, b, &mut fields);
        if options.identity {
            identity_fields(o.kind, a, b, &mut fields);
        }
    }
    if o.kind == Kind::Symlink
        && o.link_target.is_some()
        && n.link_target.is_some()
        && o.link_target != n.link_target
    {
        fields.push(Attribute::Link);
    }
    // Only where both sides recorded them: one that did not knows nothing to compare.
    if let (true, Some(a), Some(b)) = (options.identity, &o.attrs, &n.attrs) {
        fields.extend(b.changed(a));
    }
    (!fields.is_empty()).then_some(ChangeKind::Modified(fields))
}

/// The first extra digest both records carry with different values: its kind, the old and
/// the new digest. Kinds only one side has are not compared.
pub(crate) fn differing_extra(o: &Record, n: &Record) -> Option<(HashKind, Digest, Digest)> {
    o.extra.iter().find_map(|&(kind, old)| {
        n.extra_digest(kind)
            .filter(|&&new| new != old)
            .map(|&new| (kind, old, new))
    })
}

/// Push the metadata fields that differ between two entries of kind `kind`: size only
/// counts for regular files and the device number only for devices. Also used by
/// [`crate::report::itemize`] for entries rsync updates in place although their exact type changed
/// (a FIFO become a socket, a character device become a block device).
pub(crate) fn meta_fields(kind: Kind, a: &Meta, b: &Meta, fields: &mut Vec<Attribute>) {
    let mut check = |differs: bool, field: Attribute| {
        if differs {
            fields.push(field)
        }
    };
    check(a.mode != b.mode, Attribute::Mode);
    check(a.uid != b.uid, Attribute::Owner);
    check(a.gid != b.gid, Attribute::Group);
    check(kind == Kind::File && a.size != b.size, Attribute::Size);
    check(a.mtime != b.mtime, Attribute::Mtime);
    check(
        matches!(kind, Kind::CharDevice | Kind::BlockDevice) && a.rdev != b.rdev,
        Attribute::Device,
    );
}

/// Push the fields beyond rsync's that differ (see [`DiffOptions::identity`]). A directory's
/// link count follows its subdirectories, which the diff reports anyway.
fn identity_fields(kind: Kind, a: &Meta, b: &Meta, fields: &mut Vec<Attribute>) {
    if a.ctime != b.ctime {
        fields.push(Attribute::Ctime);
    }
    if (a.dev, a.ino) != (b.dev, b.ino) {
        fields.push(Attribute::Inode);
    }
    if kind != Kind::Dir && a.nlink != b.nlink {
        fields.push(Attribute::Nlink);
    }
}

/// A file replaced by a directory (or the reverse) sorts at two places in rsync order and so
/// comes out of the merge as "removed" plus "added": join each such pair into one
/// `TypeChanged` at the earlier place.
fn pair_type_changes(changes: &mut Vec<Change>) {
    let mut solo: HashMap<(&[u8], bool), usize> = HashMap::new();
    let mut pairs = Vec::new();
    for (i, c) in changes.iter().enumerate() {
        let added = match c.kind {
            ChangeKind::Added => true,
            ChangeKind::Removed => false,
            _ => continue,
        };
        // The partner has the opposite presence and the opposite dir-ness.
        let key = (c.name(), added);
        let partner = (c.name(), !added);
        if let Some(&j) = solo
            .get(&partner)
            .filter(|&&j| changes[j].is_dir() != c.is_dir())
        {
            pairs.push((j, i));
            solo.remove(&partner);
        } else {
            solo.insert(key, i);
        }
    }
    if pairs.is_empty() {
        return;
    }
    let mut taken: Vec<Option<Change>> = std::mem::take(changes).into_iter().map(Some).collect();
    for (first, second) in pairs {
        let (a, b) = (taken[first].take(), taken[second].take());
        if let (Some(a), Some(b)) = (a, b) {
            let (old, new) = if a.kind == ChangeKind::Removed {
                (a.old, b.new)
            } else {
                (b.old, a.new)
            };
            taken[first] = Some(Change {
                kind: ChangeKind::TypeChanged,
                old,
                new,
            });
        }
    }
    *changes = taken.into_iter().flatten().collect();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_records::{dir, file};

    fn run(old: Vec<Record>, new: Vec<Record>) -> Vec<(String, ChangeKind)> {
        let d = diff(
            old.into_iter().map(Ok),
            new.into_iter().map(Ok),
            DiffOptions {
                compare_content: true,
                ..DiffOptions::default()
            },
        )
        .unwrap();
        d.changes
            .iter()
            .map(|c| {
                (
                    String::from_utf8_lossy(c.name()).into_owned(),
                    c.kind.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn added_removed_and_modified() {
        let old = vec![
            dir("."),
            file("a", b"1"),
            file("b", b"2"),
            dir("d"),
            file("d/x", b"3"),
        ];
        let new = vec![
            dir("."),
            file("a", b"1"),
            file("c", b"9"),
            dir("d"),
            file("d/x", b"4"),
        ];
        assert_eq!(
            run(old, new),
            vec![
                ("b".into(), ChangeKind::Removed),
                ("c".into(), ChangeKind::Added),
                ("d/x".into(), ChangeKind::Modified(vec![Attribute::Content])),
            ]
        );
    }

    #[test]
    fn file_replaced_by_directory_is_one_type_change() {
        let old = vec![dir("."), file("x", b"1"), file("z", b"")];
        let new = vec![dir("."), file("z", b""), dir("x"), file("x/y", b"2")];
        assert_eq!(
            run(old, new),
            vec![
                ("x".into(), ChangeKind::TypeChanged),
                ("x/y".into(), ChangeKind::Added)
            ]
        );
    }

    #[test]
    fn unreadable_directory_hides_nothing_and_invents_nothing() {
        let old = vec![dir("."), file("t", b""), dir("s"), file("s/a", b"1")];
        let mut blind = dir("s");
        blind.content = Content::Unreadable("Permission denied".into());
        let new = vec![dir("."), file("t", b""), blind];
        let got = run(old, new);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].0, "s/a");
        assert!(matches!(got[0].1, ChangeKind::Unverified(_)));
    }

    /// Equal checksums but a different extra digest of the same kind is a content change;
    /// a kind only one side has is not compared.
    #[test]
    fn a_changed_extra_digest_is_a_content_change() {
        let with = |name: &str, data: &[u8], kinds: &[HashKind]| {
            let mut r = file(name, data);
            r.extra = kinds.iter().map(|&k| (k, k.digest(data))).collect();
            r
        };
        let sha = [HashKind::Sha256];
        let mut forged = with("f", b"same", &sha);
        forged.extra = with("f", b"other", &sha).extra;
        let got = run(vec![with("f", b"same", &sha)], vec![forged.clone()]);
        assert_eq!(
            got,
            vec![("f".into(), ChangeKind::Modified(vec![Attribute::Content]))]
        );
        assert_eq!(
            differing_extra(&with("f", b"same", &sha), &forged),
            Some((
                HashKind::Sha256,
                HashKind::Sha256.digest(b"same"),
                HashKind::Sha256.digest(b"other")
            ))
        );
        // Same digests, or no kind in common: no change.
        assert!(run(vec![with("f", b"x", &sha)], vec![with("f", b"x", &sha)]).is_empty());
        let sha1 = [HashKind::Sha1];
        assert!(run(vec![with("f", b"x", &sha)], vec![with("f", b"x", &sha1)]).is_empty());
        assert!(run(vec![with("f", b"x", &sha)], vec![file("f", b"x")]).is_empty());
    }

    #[test]
    fn metadata_fields_are_named() {
        let old = vec![file("f", b"same")];
        let mut n = file("f", b"same");
        n.meta.as_mut().unwrap().mode = 0o4755;
        n.meta.as_mut().unwrap().uid = 1;
        assert_eq!(
            run(old, vec![n]),
            vec![(
                "f".into(),
                ChangeKind::Modified(vec![Attribute::Mode, Attribute::Owner])
            )]
        );
    }
}
