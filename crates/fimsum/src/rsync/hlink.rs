//! rsync's `-H` order: where the names of one inode are printed.
//!
//! With `-H`, rsync's generator (generator.c `recv_generator`) sends a new hard-linked
//! file only when it reaches the last name of its group that it knows of; every earlier
//! name is held back (`F_HLINK_NOT_LAST` with no destination file: `in_progress++`,
//! `goto cleanup`). When that last name is done, `finish_hard_link` (hlink.c) walks the
//! group's `F_HL_PREV` chain, which `match_gnums` built from the first name to the last,
//! backwards and links each held-back name to it, printing its line then. So a group is
//! printed at the place of its last name: the last name, then the others latest first;
//! every other line keeps its place.
//!
//! "Known" is rsync's generator lookahead. With `-r`, rsync sends one file list a
//! directory (its incremental recursion), and `match_hard_links` links only the names of
//! the lists received so far; its generator (generator.c `generate_files`) waits for lists
//! only while it has fewer than `MIN_FILECNT_LOOKAHEAD/2` = 500 entries, then goes on
//! with what has come. So within a listing of at most [`LOOKAHEAD`] entries, as rsync
//! counts them (every entry of its lists: the root `.`, directories, skipped non-regular
//! files, files `--max-size` leaves out), every name is known; as is, in any listing, a
//! group within one directory (one list), and every group without `-r` (one list, sent
//! whole first; with `--files-from` or several sources and `-r` a directory's names may be
//! in two lists, see
//! [`Lists::Mixed`]). Beyond that, for a group across lists, the answer depends on how
//! far the lists had come, which is a matter of timing: [`Reorder::finish`] refuses that
//! listing rather than print an order rsync may not.
//!
//! Which entries join a group is decided on the walk's own `lstat` of each name, as rsync's
//! sender decides on its (flist.c `make_file`: not a directory, `st_nlink > 1`), keyed by
//! device and inode. A link added or removed by someone else between two names' stats (or
//! between stat and hash) changes at most which group a name joins and so where its line
//! is printed; it changes no checksum: a name takes the outcome of the read of the inode
//! its own stat found (the scan reads an inode once, through its first name, and a later
//! name of the same device and inode takes that outcome: `share_links` in
//! `crate::scan`), and a read during which the inode changed (a new link changes its
//! ctime) is reported by name, not given a checksum. A name whose other links are outside
//! the scan or filtered out is a group of one: printed in place, as rsync does.

use std::collections::HashMap;

/// The listing size, in rsync's entries, up to which rsync's generator has every file
/// list before it starts (`MIN_FILECNT_LOOKAHEAD/2`; recorded: a group across directories
/// in a listing of 500 entries is joined, in one of 511 it is not).
pub const LOOKAHEAD: usize = 500;

/// What makes names one group: the inode, and the directory of the name (one rsync file
/// list), kept to tell a group within one directory from a group across several.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// `st_dev`.
    pub dev: u64,
    /// `st_ino`.
    pub ino: u64,
    /// The directory part of the `%n` name (empty at the top).
    pub dir: Vec<u8>,
}

impl Link {
    /// The link of a `%n` name of a regular file with more than one link; `None` for what
    /// rsync does not treat as hard-linked.
    pub fn of(name: &[u8], dev: u64, ino: u64, nlink: u64) -> Option<Link> {
        (nlink > 1).then(|| Link {
            dev,
            ino,
            dir: match name.iter().rposition(|&b| b == b'/') {
                Some(slash) => name[..slash].to_vec(),
                None => Vec::new(),
            },
        })
    }
}

/// The listing has a group across directories beyond what rsync's lookahead is known to
/// hold (see the module doc).
#[derive(Debug, PartialEq, Eq)]
pub struct Unmodelled {
    /// Entries of the listing.
    pub entries: usize,
}

impl std::fmt::Display for Unmodelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "-H/--hard-links over {} entries with names of one inode in several directories \
             is not implemented: rsync's order then depends on how far its generator has \
             read ahead (more than {LOOKAHEAD} entries; see docs/listing.md)",
            self.entries
        )
    }
}

/// The names of one inode in a listing.
struct Group {
    /// Names not yet met on the way through the listing (at first: all of them).
    names: usize,
    /// The directory of the first name.
    dir: Vec<u8>,
    /// Some name is in another directory (another rsync file list).
    across: bool,
}

/// How rsync cuts a listing into file lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lists {
    /// One list, sent whole before its generator starts (no `-r`): every group is known
    /// however large the listing.
    One,
    /// One list a directory (`-r`, rsync's incremental recursion).
    PerDirectory,
    /// With `-r` and `--files-from`, the listed names are in the first list, whatever
    /// their directory, and what is below a listed directory in lists of their own; with
    /// `-r` and several sources, two sources' directories of one name are two lists. A
    /// directory's names may be in two lists, so every group counts as across lists.
    Mixed,
}

/// The lines of a listing in walk order, handed back in rsync's `-H` order.
#[derive(Debug)]
pub struct Reorder<T> {
    items: Vec<(T, Option<Link>)>,
    lists: Lists,
}

impl<T> Reorder<T> {
    /// For a listing that rsync sends in these lists.
    pub fn new(lists: Lists) -> Reorder<T> {
        Reorder {
            items: Vec::new(),
            lists,
        }
    }

    /// The next line in walk order, with its link if it is a hard-linked file.
    pub fn push(&mut self, item: T, link: Option<Link>) {
        self.items.push((item, link));
    }

    /// Every line, in the order rsync prints them; `uncounted` is how many entries of
    /// rsync's lists were left out of the lines pushed (files outside `--max-size`).
    pub fn finish(self, uncounted: usize) -> Result<Vec<T>, Unmodelled> {
        let key = |l: &Link| (l.dev, l.ino);
        let mut groups: HashMap<(u64, u64), Group> = HashMap::new();
        for link in self.items.iter().filter_map(|(_, l)| l.as_ref()) {
            let g = groups.entry(key(link)).or_insert_with(|| Group {
                names: 0,
                dir: link.dir.clone(),
                across: false,
            });
            g.names += 1;
            g.across |= g.dir != link.dir || self.lists == Lists::Mixed;
        }
        let entries = self.items.len() + uncounted;
        let one = self.lists == Lists::One;
        if !one && entries > LOOKAHEAD && groups.values().any(|g| g.names > 1 && g.across) {
            return Err(Unmodelled { entries });
        }
        let mut held: HashMap<(u64, u64), Vec<T>> = HashMap::new();
        let mut out = Vec::with_capacity(self.items.len());
        for (item, link) in self.items {
            let Some(link) = link else {
                out.push(item);
                continue;
            };
            let k = key(&link);
            let Some(g) = groups.get_mut(&k) else {
                out.push(item);
                continue;
            };
            g.names -= 1;
            if g.names > 0 {
                held.entry(k).or_default().push(item);
                continue;
            }
            // The last name: it, then the names held back, latest first.
            out.push(item);
            if let Some(earlier) = held.remove(&k) {
                out.extend(earlier.into_iter().rev());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, ino: u64) -> (&str, Option<Link>) {
        (name, Link::of(name.as_bytes(), 1, ino, 2))
    }

    fn order(items: Vec<(&str, Option<Link>)>) -> Vec<&str> {
        let mut r = Reorder::new(Lists::PerDirectory);
        for (item, link) in items {
            r.push(item, link);
        }
        r.finish(0).expect("modelled")
    }

    /// The example of docs/listing.md, as rsync 3.5.0 printed it.
    #[test]
    fn a_group_is_printed_at_its_last_name_latest_first() {
        let got = order(vec![
            file("c", 7),
            ("s", None),
            ("a/", None),
            file("a/m", 8),
            ("a/sl", None),
            file("a/x", 7),
            file("a/z", 7),
            ("b/", None),
            file("b/m", 8),
            file("b/y", 7),
        ]);
        assert_eq!(
            got,
            ["s", "a/", "a/sl", "b/", "b/m", "a/m", "b/y", "a/z", "a/x", "c"]
        );
    }

    #[test]
    fn a_name_alone_in_the_listing_stays_in_place() {
        assert_eq!(
            order(vec![file("a", 1), ("b", None), file("c", 2), ("d", None)]),
            ["a", "b", "c", "d"]
        );
        assert_eq!(Link::of(b"a", 1, 1, 1), None);
    }

    #[test]
    fn a_large_listing_with_a_group_across_directories_is_refused() {
        let mut r = Reorder::new(Lists::PerDirectory);
        r.push("a/x", Link::of(b"a/x", 1, 9, 2));
        for _ in 0..LOOKAHEAD - 2 {
            r.push("f", None);
        }
        r.push("z/x", Link::of(b"z/x", 1, 9, 2));
        assert!(r.finish(1).is_err(), "one entry too many, left out by size");
        let mut r = Reorder::new(Lists::PerDirectory);
        r.push("a/x", Link::of(b"a/x", 1, 9, 2));
        for _ in 0..LOOKAHEAD - 2 {
            r.push("f", None);
        }
        r.push("z/x", Link::of(b"z/x", 1, 9, 2));
        assert_eq!(
            r.finish(0).expect("all known")[LOOKAHEAD - 2..],
            ["z/x", "a/x"]
        );
        // Within one directory it is one file list: joined however large the listing.
        let mut r = Reorder::new(Lists::PerDirectory);
        r.push("a/x", Link::of(b"a/x", 1, 9, 2));
        for _ in 0..LOOKAHEAD {
            r.push("f", None);
        }
        r.push("a/y", Link::of(b"a/y", 1, 9, 2));
        let got = r.finish(0).expect("one directory");
        assert_eq!(got[LOOKAHEAD..], ["a/y", "a/x"]);
        // Without -r, rsync's one file list is complete before its generator starts.
        let mut r = Reorder::new(Lists::One);
        r.push("a/x", Link::of(b"a/x", 1, 9, 2));
        for _ in 0..LOOKAHEAD {
            r.push("f", None);
        }
        r.push("z/x", Link::of(b"z/x", 1, 9, 2));
        let got = r.finish(0).expect("one list");
        assert_eq!(got[LOOKAHEAD..], ["z/x", "a/x"]);
        // With --files-from and -r, one directory's names may be in two lists.
        let mut r = Reorder::new(Lists::Mixed);
        r.push("a/x", Link::of(b"a/x", 1, 9, 2));
        for _ in 0..LOOKAHEAD {
            r.push("f", None);
        }
        r.push("a/y", Link::of(b"a/y", 1, 9, 2));
        assert!(r.finish(0).is_err());
    }
}
