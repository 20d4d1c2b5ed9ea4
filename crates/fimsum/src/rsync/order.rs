//! rsync's file-list order: the one comparator that the walker sorts by and the diff merges by.
//!
//! See rsync `flist.c`, `f_name_cmp()` (protocol >= 29): names are compared component by
//! component; within one directory every non-directory comes before every directory, files
//! compare bytewise, directories compare as `name + "/"` (so `a.d/` < `a/`), and a
//! directory comes right before its own contents. The transfer root `.` comes first.

use std::cmp::Ordering;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::record::Record;

/// Compare two entries by rsync order. Names are `%n` without a trailing slash.
///
/// This runs for every pair the walker sorts and every step of a diff, so it works on the
/// bytes directly: only the component where the names first differ decides.
pub fn cmp_entries(a: &[u8], a_is_dir: bool, b: &[u8], b_is_dir: bool) -> Ordering {
    match (a == b".", b == b".") {
        (true, true) => return a_is_dir.cmp(&b_is_dir).reverse(),
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        (false, false) => {}
    }
    let common = common_prefix(a, b);
    // The component in which the names first differ starts after the last common '/'.
    // (memchr: the common part is the whole directory path, scanned for every comparison.)
    let start = memchr::memrchr(b'/', &a[..common]).map_or(0, |i| i + 1);
    let end = |s: &[u8]| memchr::memchr(b'/', &s[start..]).map_or(s.len(), |i| start + i);
    let (a_end, b_end) = (end(a), end(b));
    let (ca, cb) = (&a[start..a_end], &b[start..b_end]);
    // A component is a directory if more components follow, or if it is a directory entry.
    let a_dir = a_is_dir || a_end < a.len();
    let b_dir = b_is_dir || b_end < b.len();
    let ord = match (a_dir, b_dir) {
        (false, true) => Ordering::Less,
        (true, false) => Ordering::Greater,
        (false, false) => ca.cmp(cb),
        (true, true) => cmp_with_slash(ca, cb),
    };
    if ord != Ordering::Equal {
        return ord;
    }
    // Same component: one name is a directory holding the other, which comes first; or the
    // names are the same.
    (a.len() - a_end).cmp(&(b.len() - b_end))
}

/// The length of the longest common prefix, eight bytes at a time: names in one directory
/// share long prefixes, and the sort and the merge compare them millions of times.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + 8 <= n {
        let x = u64::from_le_bytes(a[i..i + 8].try_into().unwrap_or_default());
        let y = u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        if x != y {
            return i + ((x ^ y).trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + a[i..n]
        .iter()
        .zip(&b[i..n])
        .take_while(|(x, y)| x == y)
        .count()
}

/// Pass records through, failing on the first one that is not strictly after the one before:
/// a merge over unsorted input would report phantom changes, so input that is out of rsync
/// order (a concatenated log, an incremental run's log) is refused instead.
pub(crate) fn ensure_ordered<'a>(
    records: impl Iterator<Item = Result<Record>> + 'a,
    source: PathBuf,
) -> impl Iterator<Item = Result<Record>> + 'a {
    let mut last: Option<(Vec<u8>, bool)> = None;
    let mut index = 0u64;
    records.map(move |r| {
        let r = r?;
        index += 1;
        if let Some((name, is_dir)) = &last {
            if cmp_entries(name, *is_dir, &r.name, r.is_dir()) != Ordering::Less {
                return Err(Error::bad_data(
                    &source,
                    format!(
                        "entry {index} ({}) is not in rsync order after {}",
                        String::from_utf8_lossy(&r.name),
                        String::from_utf8_lossy(name)
                    ),
                ));
            }
        }
        last = Some((r.name.clone(), r.is_dir()));
        Ok(r)
    })
}

/// Compare `a + "/"` with `b + "/"` without building either.
fn cmp_with_slash(a: &[u8], b: &[u8]) -> Ordering {
    let n = a.len().min(b.len());
    match a[..n].cmp(&b[..n]) {
        Ordering::Equal => {
            let next = |s: &[u8]| s.get(n).copied().unwrap_or(b'/');
            next(a).cmp(&next(b))
        }
        ord => ord,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first, plainly component-by-component version, kept as the reference the fast one
    /// is checked against.
    fn reference(a: &[u8], a_is_dir: bool, b: &[u8], b_is_dir: bool) -> Ordering {
        match (a == b".", b == b".") {
            (true, true) => return a_is_dir.cmp(&b_is_dir).reverse(),
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        let mut ai = a.split(|&c| c == b'/').peekable();
        let mut bi = b.split(|&c| c == b'/').peekable();
        loop {
            match (ai.next(), bi.next()) {
                (None, None) => return Ordering::Equal,
                (None, Some(_)) => return Ordering::Less,
                (Some(_), None) => return Ordering::Greater,
                (Some(ca), Some(cb)) => {
                    let a_dir = a_is_dir || ai.peek().is_some();
                    let b_dir = b_is_dir || bi.peek().is_some();
                    let ord = match (a_dir, b_dir) {
                        (false, true) => Ordering::Less,
                        (true, false) => Ordering::Greater,
                        (false, false) => ca.cmp(cb),
                        (true, true) => cmp_with_slash(ca, cb),
                    };
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
            }
        }
    }

    #[test]
    fn fast_comparison_agrees_with_the_reference() {
        // Every pair of names built from a small alphabet that hits the edge cases: '/',
        // bytes below and above '/', prefixes of each other.
        // Long shared prefixes, so that differences fall inside and across the eight-byte
        // words the fast path compares.
        let parts: [&[u8]; 11] = [
            b"a",
            b"a.d",
            b"a/b",
            b"ab",
            b"a-",
            b"a/b/c",
            b"b",
            b"0123456789abcdef",
            b"0123456789abcdeg",
            b"0123456789abcdef/x",
            b"0123456.89abcdef",
        ];
        let mut names: Vec<Vec<u8>> = vec![b".".to_vec()];
        for p in parts {
            for q in parts {
                names.push(p.to_vec());
                let mut n = p.to_vec();
                n.push(b'/');
                n.extend_from_slice(q);
                names.push(n);
            }
        }
        for a in &names {
            for b in &names {
                for (ad, bd) in [(false, false), (false, true), (true, false), (true, true)] {
                    assert_eq!(
                        cmp_entries(a, ad, b, bd),
                        reference(a, ad, b, bd),
                        "{:?} {ad} vs {:?} {bd}",
                        String::from_utf8_lossy(a),
                        String::from_utf8_lossy(b)
                    );
                }
            }
        }
    }

    fn sorted(mut v: Vec<(&'static str, bool)>) -> Vec<String> {
        v.sort_by(|a, b| cmp_entries(a.0.as_bytes(), a.1, b.0.as_bytes(), b.1));
        v.into_iter()
            .map(|(n, d)| if d { format!("{n}/") } else { n.to_string() })
            .collect()
    }

    #[test]
    fn files_before_dirs_and_dirs_with_slash() {
        let got = sorted(vec![
            ("a", true),
            ("a.d", true),
            ("a.txt", false),
            ("z", false),
            ("a/x", false),
            (".", true),
            ("b", true),
            ("b/c", true),
            ("b/c.d", true),
            ("b/c.txt", false),
            ("a.d/y", false),
        ]);
        assert_eq!(
            got,
            ["./", "a.txt", "z", "a.d/", "a.d/y", "a/", "a/x", "b/", "b/c.txt", "b/c.d/", "b/c/"]
        );
    }

    #[test]
    fn bytes_compare_unsigned() {
        let got = sorted(vec![
            ("\u{e9}", false),
            ("z", false),
            ("A", false),
            ("-rf", false),
        ]);
        assert_eq!(got, ["-rf", "A", "z", "\u{e9}"]);
    }

    #[test]
    fn file_and_dir_of_one_name_are_distinct_keys() {
        assert_eq!(cmp_entries(b"x", false, b"x", true), Ordering::Less);
        assert_eq!(cmp_entries(b"x", true, b"x/y", false), Ordering::Less);
        assert_eq!(cmp_entries(b"x", false, b"x", false), Ordering::Equal);
    }
}
