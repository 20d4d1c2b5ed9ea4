//! The entries a diff removed, in the order rsync's `--delete` reports them: shared by both
//! rsync formats (`%n %C` and `%i %n %C`).

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::diff::{ChangeKind, Diff};
use crate::record::Record;
use crate::rsync::order::cmp_entries;

/// The removed entries in the order rsync's `--delete` reports them (both rsync formats
/// print their deletions in this order).
pub(crate) fn deletions(diff: &Diff) -> Vec<&Record> {
    // Removed entries, grouped by their parent directory.
    let mut children: HashMap<&[u8], Vec<&Record>> = HashMap::new();
    for c in &diff.changes {
        if let (ChangeKind::Removed, Some(old)) = (&c.kind, &c.old) {
            children.entry(parent(&old.name)).or_default().push(old);
        }
    }
    // Directories that became something else: their old contents go after their parent's.
    let mut emptied: HashMap<&[u8], Vec<&[u8]>> = HashMap::new();
    for c in &diff.changes {
        if let (ChangeKind::TypeChanged, Some(old), Some(new)) = (&c.kind, &c.old, &c.new) {
            if old.is_dir() && !new.is_dir() {
                emptied
                    .entry(parent(&old.name))
                    .or_default()
                    .push(&old.name);
            }
        }
    }
    // The directories visited: parents of removed entries that are not removed themselves,
    // and parents of emptied directories, in transfer order.
    let removed_dirs: std::collections::HashSet<&[u8]> = children
        .values()
        .flatten()
        .filter(|r| r.is_dir())
        .map(|r| r.name.as_slice())
        .collect();
    let emptied_dirs: std::collections::HashSet<&[u8]> =
        emptied.values().flatten().copied().collect();
    let mut visited: Vec<&[u8]> = children
        .keys()
        .chain(emptied.keys())
        .copied()
        .filter(|d| !removed_dirs.contains(d) && !emptied_dirs.contains(d))
        .collect();
    visited.sort_by(|a, b| cmp_entries(a, true, b, true));
    visited.dedup();

    let mut out = Vec::new();
    for dir in visited {
        if let Some(list) = children.get(dir) {
            for record in sorted_reverse(list) {
                delete_recursively(record, &children, &mut out, true);
            }
        }
        if let Some(names) = emptied.get(dir) {
            let mut names = names.clone();
            names.sort_by(|a, b| cmp_entries(a, false, b, false));
            for name in names {
                if let Some(list) = children.get(name) {
                    for record in sorted_reverse(list) {
                        delete_recursively(record, &children, &mut out, true);
                    }
                }
            }
        }
    }
    out
}

/// A removed entry: a directory's contents first (reverse sorted, recursively), then itself.
fn delete_recursively<'a>(
    record: &'a Record,
    children: &HashMap<&[u8], Vec<&'a Record>>,
    out: &mut Vec<&'a Record>,
    with_self: bool,
) {
    if record.is_dir() {
        if let Some(list) = children.get(record.name.as_slice()) {
            for child in sorted_reverse(list) {
                delete_recursively(child, children, out, true);
            }
        }
    }
    if with_self {
        out.push(record);
    }
}

fn sorted_reverse<'a>(list: &[&'a Record]) -> Vec<&'a Record> {
    let mut v = list.to_vec();
    v.sort_by(
        |a, b| match cmp_entries(&a.name, a.is_dir(), &b.name, b.is_dir()) {
            Ordering::Less => Ordering::Greater,
            Ordering::Greater => Ordering::Less,
            Ordering::Equal => Ordering::Equal,
        },
    );
    v
}

/// The directory an entry's name lies in: `.` for a top-level name of a `dir/` source.
fn parent(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&c| c == b'/') {
        Some(i) => &name[..i],
        None => b".",
    }
}
