//! rsync's `-R`/`--relative`: each source is listed under the path it was given, with
//! the directories above it (rsync's implied directories), and a `/./` in a source says
//! where that path starts (`a/./b/c` lists `b/c` from `a`).
//!
//! rsync takes `-R` sources and `--files-from` names through the same code
//! (`send_file_list` in its flist.c), so this module only turns the sources into the
//! directory they are relative to and a list of names in `--files-from`'s terms, which
//! the walker's `--files-from` machinery then lists (implied directories, `./`,
//! `--no-implied-dirs`, filters, missing names). What differs is said here: without `-r`
//! a directory source is rsync's `skipping directory NAME`, not listed (rsync's
//! `--files-from` implies `--dirs`, `-R` does not), and a `..` after the anchor is a
//! usage error, as in rsync.
//!
//! Like every name the walker lists, the path of a source is looked up one component at
//! a time below the base directory without following a symlink: rsync follows a symlink
//! among the implied directories (its `send_implied_dirs` sets `copy_links`), fimsum
//! reports the source instead (docs/listing.md).

use std::fmt;

use std::os::fd::OwnedFd;

use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::record::Kind;
use crate::rsync::path::clean_fname;

use super::{
    c_path, describe, trim_leading_slashes, Event, Selection, SkipReason, Skipped, Walker,
};

/// The sources of a `-R` walk, in `--files-from`'s terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The directories the names are relative to, each once, in the order of the sources:
    /// the part before a source's `/./`, `/` for a source starting with `/./` or with
    /// `/`, else `.`. rsync merges what it lists from each into one listing.
    pub bases: Vec<Vec<u8>>,
    /// Each source's name and the index of its base, in the order of the sources; the
    /// names cleaned as rsync cleans them (`clean_fname`): `.` components, repeated and
    /// trailing slashes dropped; a leading `./` kept, as it lists the base itself.
    pub names: Vec<(usize, Vec<u8>)>,
    /// The sources are absolute paths without an anchor: rsync names their entries by
    /// their full path, leading `/` included (`/./` would drop it).
    pub rooted: bool,
}

/// A `-R` source fimsum cannot list as rsync does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelativeError {
    /// A `..` component after the anchor: rsync refuses it (`found ".." dir in relative
    /// path`, its exit 1).
    DotDot(Vec<u8>),
    /// `/` itself as a source (rsync lists the whole system under `/`): not emulated.
    Absolute(Vec<u8>),
    /// An absolute source without an anchor beside one that is not: their names would
    /// start from `/` and from elsewhere; not emulated.
    Bases(Vec<u8>, Vec<u8>),
}

impl fmt::Display for RelativeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RelativeError::DotDot(name) => write!(
                f,
                "found \"..\" dir in relative path: {}",
                String::from_utf8_lossy(name)
            ),
            RelativeError::Absolute(source) => write!(
                f,
                "-R with {} as a source is not implemented: anchor it (/./)",
                String::from_utf8_lossy(source)
            ),
            RelativeError::Bases(a, b) => write!(
                f,
                "-R with an absolute source beside a relative or anchored one ({} and {}) \
                 is not implemented",
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b)
            ),
        }
    }
}

impl std::error::Error for RelativeError {}

/// The base directory and names of `-R` sources, or why rsync would not take them (or
/// fimsum cannot list them).
pub fn plan(sources: &[Vec<u8>]) -> Result<Plan, RelativeError> {
    let mut plan = Plan {
        bases: Vec::new(),
        names: Vec::new(),
        rooted: false,
    };
    let mut first: Option<&[u8]> = None;
    for src in sources {
        let (base, name, rooted) = split(src)?;
        match first {
            None => {
                first = Some(src);
                plan.rooted = rooted;
            }
            Some(other) if plan.rooted != rooted => {
                return Err(RelativeError::Bases(other.to_vec(), src.to_vec()))
            }
            Some(_) => {}
        }
        let of = match plan.bases.iter().position(|b| *b == base) {
            Some(of) => of,
            None => {
                plan.bases.push(base);
                plan.bases.len() - 1
            }
        };
        plan.names.push((of, name));
    }
    Ok(plan)
}

/// `--files-from` names that all have a `/./` with the same part before it: that part
/// (below the source directory) and the names after it, in `--files-from`'s terms (a
/// `dir/` still lists its entries). rsync takes each name as it takes a `-R` source once
/// it has dropped its leading slashes and `..` components (`sanitize_path`). `None` when
/// no name has one, or not all of them the same (the walk then reports those names).
fn anchored_names(names: &[Vec<u8>]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let mut base: Option<Vec<u8>> = None;
    let mut out = Vec::with_capacity(names.len());
    for raw in names {
        let name = sanitize(raw);
        let at = name.windows(3).position(|w| w == b"/./")?;
        let dir = clean_fname(&name[..at]);
        if base.get_or_insert_with(|| dir.clone()) != &dir {
            return None;
        }
        let rest = trim_leading_slashes(&name[at + 3..]);
        let contents = rest.is_empty() || rest.ends_with(b"/") || rest.ends_with(b"/.");
        let dotted = rest.len() > 2 && rest.starts_with(b"./");
        let mut cleaned = clean_fname(rest);
        if contents && cleaned != b"." {
            cleaned.push(b'/');
        }
        if dotted && cleaned != b"." {
            cleaned.splice(0..0, *b"./");
        }
        out.push(cleaned);
    }
    Some((base?, out))
}

/// A `--files-from` name as rsync's `sanitize_path` leaves it: no leading slash, `..`
/// components climbing no higher than the source directory, `.` components and a
/// trailing slash kept.
fn sanitize(name: &[u8]) -> Vec<u8> {
    let mut out = crate::rsync::path::components(name, true).join(&b'/');
    if name.ends_with(b"/") && !out.is_empty() {
        out.push(b'/');
    }
    out
}

/// A `-R` source as a baseline's root, which a check walks from wherever it runs: a
/// relative one anchored at `cwd` (`cwd/./src`, or `cwd/a/./b` for `a/./b`), so that
/// its names stay those the scan gave; an absolute one as it is.
pub fn anchored(source: &[u8], cwd: &[u8]) -> Vec<u8> {
    if source.first() == Some(&b'/') {
        return source.to_vec();
    }
    let mut root = cwd.to_vec();
    if !root.ends_with(b"/") {
        root.push(b'/');
    }
    if !source.windows(3).any(|w| w == b"/./") {
        root.extend_from_slice(b"./");
    }
    root.extend_from_slice(source);
    root
}

/// One source's base directory and name (rsync's `send_file_list`, relative branch), and
/// whether it is an absolute path without an anchor.
fn split(src: &[u8]) -> Result<(Vec<u8>, Vec<u8>, bool), RelativeError> {
    // The slashes after an anchor are dropped with it.
    let (base, rest) = match src.windows(3).position(|w| w == b"/./") {
        Some(0) => (b"/".to_vec(), trim_leading_slashes(&src[3..])),
        Some(at) => (
            clean_fname(&src[..at]),
            trim_leading_slashes(&src[at + 3..]),
        ),
        None => (b".".to_vec(), src),
    };
    if rest.first() == Some(&b'/') {
        // Named from `/`, leading slash included: the walk lists it below `/` and
        // `rooted` puts the slash back.
        let name = clean_fname(rest);
        if name == b"/" {
            return Err(RelativeError::Absolute(src.to_vec()));
        }
        if name.split(|&b| b == b'/').any(|part| part == b"..") {
            return Err(RelativeError::DotDot(name));
        }
        return Ok((b"/".to_vec(), name[1..].to_vec(), true));
    }
    // A leading `./` (with something after it) lists the base directory itself.
    let dot = rest.len() > 2 && rest.starts_with(b"./");
    let name = clean_fname(rest);
    let dotdot = name.split(|&b| b == b'/').any(|part| part == b"..");
    if dotdot {
        return Err(RelativeError::DotDot(name));
    }
    Ok(match (dot, name.as_slice()) {
        (true, b".") | (false, _) => (base, name, false),
        (true, _) => (base, [&b"./"[..], &name].concat(), false),
    })
}

impl Walker {
    /// The one source a `-R` walk lists from, or a `--files-from` walk whose names all
    /// start from the same `/./`, with the selection set up for it; `None` for any other
    /// walk, which lists its sources as given.
    pub(super) fn relative_sources(&mut self, sources: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
        let listing = &self.options.listing;
        match &listing.files_from {
            None if listing.relative => Some(self.relative_selection(sources)),
            None => None,
            Some(names) => {
                let (base, names) = anchored_names(names)?;
                let mut source = sources.first()?.clone();
                source.push(b'/');
                source.extend_from_slice(&base);
                self.selections = vec![Selection::new(&names)];
                Some(vec![source])
            }
        }
    }

    /// Set up the walk of `-R` sources: the selection of their names for each directory
    /// they are relative to, and those directories, the walk's sources (none when rsync
    /// would refuse them: the problem says why).
    pub(super) fn relative_selection(&mut self, sources: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let Plan {
            bases,
            names,
            rooted,
        } = match plan(sources) {
            Ok(plan) => plan,
            Err(e) => {
                let name = sources.first().cloned().unwrap_or_default();
                self.problem(name, e.to_string());
                return Vec::new();
            }
        };
        let mut roots = vec![false; bases.len()];
        let names = self.take_relative_names(&bases, names, &mut roots);
        self.selections = names
            .iter()
            .zip(roots)
            .map(|(names, root)| {
                let mut selection = Selection::new(names);
                selection.root |= root;
                selection
            })
            .collect();
        self.rooted = rooted;
        bases
    }

    /// What rsync says of the sources as it takes them, in their order, and the names
    /// left to list from each base. A name that is not there is reported and dropped, its
    /// directories with it (rsync sends no implied directory for it); `roots` says of
    /// each base whether it is listed all the same. Without `-r`: `skipping directory .`
    /// for a `.` source and for the first `./name`, `skipping directory NAME` for a
    /// directory the filter keeps, and the `./` dropped (the base is not listed).
    pub(super) fn take_relative_names(
        &mut self,
        bases: &[Vec<u8>],
        names: Vec<(usize, Vec<u8>)>,
        roots: &mut [bool],
    ) -> Vec<Vec<Vec<u8>>> {
        let recursive = self.options.listing.recursive;
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let base_fds: Vec<Result<OwnedFd, Errno>> = bases
            .iter()
            .map(|base| {
                c_path(base)
                    .and_then(|path| rustix::fs::open(path.as_c_str(), flags, Mode::empty()))
            })
            .collect();
        let mut kept = vec![Vec::new(); bases.len()];
        let mut dot_skipped = false;
        for (of, name) in names {
            if name == b"." {
                match recursive {
                    true => kept[of].push(name),
                    false => self.skip_dir(b".".to_vec()),
                }
                continue;
            }
            let (dotted, body) = match name.strip_prefix(b"./") {
                Some(body) => (true, body.to_vec()),
                None => (false, name.clone()),
            };
            if dotted && !recursive && !std::mem::replace(&mut dot_skipped, true) {
                self.skip_dir(b".".to_vec());
            }
            // With -L a symlink source is what it leads to (rsync's `readlink_stat`).
            let follow = self.options.listing.follow.copy_links;
            let kind = match &base_fds[of] {
                Ok(fd) => kind_below(fd, &body, follow),
                Err(e) => Err((*e, false)),
            };
            match kind {
                // Not there, or (-L) leading nowhere: rsync's `link_stat` fails.
                Err((e, itself)) if e == Errno::NOENT || (itself && follow) => {
                    self.problem(body, format!("cannot stat: {}", describe(e)));
                    // rsync has sent the base for a `./name` before it looks for the name.
                    roots[of] |= dotted && recursive;
                    continue;
                }
                Ok(Kind::Dir) if !recursive => {
                    if !self.options.filter.is_excluded(&body, true) {
                        self.skip_dir(body);
                    }
                    continue;
                }
                _ => {}
            }
            kept[of].push(if recursive { name } else { body });
        }
        kept
    }

    fn skip_dir(&mut self, name: Vec<u8>) {
        self.pending.push_back(Event::Skipped(Skipped {
            name,
            why: SkipReason::Directory,
        }));
    }
}

/// An event of a walk of absolute `-R` sources, named from `/` as rsync's sender names
/// it (the walk lists their names relative to `/`). rsync's generator drops the slash:
/// its `skipping non-regular file` lines name the entry without it.
pub(super) fn rooted(event: Event) -> Event {
    let from_root = |name: &mut Vec<u8>| name.insert(0, b'/');
    match event {
        Event::Entry(mut entry) => {
            from_root(&mut entry.record.name);
            Event::Entry(entry)
        }
        Event::Problem(mut problem) => {
            from_root(&mut problem.name);
            Event::Problem(problem)
        }
        Event::Skipped(mut skipped) => {
            if skipped.why == SkipReason::Directory {
                from_root(&mut skipped.name);
            }
            Event::Skipped(skipped)
        }
    }
}

/// The kind of `name` below `base`, looked up one component at a time without following
/// a symlink (a symlinked directory above it is `ELOOP` or `ENOTDIR`: the walk says why),
/// but the name itself when `follow` says so (`-L`). An error says whether it was the
/// name itself that could not be looked at.
fn kind_below(base: &OwnedFd, name: &[u8], follow: bool) -> Result<Kind, (Errno, bool)> {
    let above = |e| (e, false);
    let parts: Vec<&[u8]> = name.split(|&b| b == b'/').collect();
    let (last, dirs) = parts.split_last().ok_or((Errno::INVAL, false))?;
    let mut held: Option<OwnedFd> = None;
    for part in dirs {
        let leaf = c_path(part).map_err(above)?;
        let dir = held.as_ref().unwrap_or(base);
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(dir, leaf.as_c_str(), flags, Mode::empty()).map_err(above)?;
        held = Some(fd);
    }
    let itself = |e| (e, true);
    let leaf = c_path(last).map_err(itself)?;
    let dir = held.as_ref().unwrap_or(base);
    let st = rustix::fs::statat(dir, leaf.as_c_str(), AtFlags::SYMLINK_NOFOLLOW).map_err(itself)?;
    if follow && Kind::from_stat(&st) == Kind::Symlink {
        // Only for its type: the walk follows it component by component when it lists it.
        return rustix::fs::statat(dir, leaf.as_c_str(), AtFlags::empty())
            .map(|st| Kind::from_stat(&st))
            .map_err(itself);
    }
    Ok(Kind::from_stat(&st))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(src: &str) -> Result<(String, String), RelativeError> {
        split(src.as_bytes()).map(|(base, name, _)| {
            (
                String::from_utf8(base).unwrap(),
                String::from_utf8(name).unwrap(),
            )
        })
    }

    #[test]
    fn a_source_splits_at_its_first_anchor() {
        let pair = |b: &str, n: &str| Ok((b.to_string(), n.to_string()));
        assert_eq!(one("a/b/c"), pair(".", "a/b/c"));
        assert_eq!(one("a/b/c/"), pair(".", "a/b/c"));
        assert_eq!(one("a//b/./c/."), pair("a/b", "c"));
        assert_eq!(one("a/./b/./c"), pair("a", "b/c"));
        assert_eq!(one("/./a/b"), pair("/", "a/b"));
        assert_eq!(one("/x/y/./a"), pair("/x/y", "a"));
        assert_eq!(one("a/./"), pair("a", "."));
        assert_eq!(one("a/.//"), pair("a", "."));
        assert_eq!(one("."), pair(".", "."));
        assert_eq!(one("./"), pair(".", "."));
        assert_eq!(one("./a/b"), pair(".", "./a/b"));
        assert_eq!(one(".//a"), pair(".", "./a"));
        assert_eq!(one("a/.././b"), pair("a/..", "b"));
        assert_eq!(one("//abs//path/"), pair("/", "abs/path"));
        assert!(split(b"/abs").unwrap().2);
    }

    #[test]
    fn a_dotdot_after_the_anchor_is_refused_as_rsync_refuses_it() {
        for src in ["../a", "a/../b", "x/./a/..", ".."] {
            assert!(matches!(one(src), Err(RelativeError::DotDot(_))), "{src}");
        }
        assert!(matches!(one("/"), Err(RelativeError::Absolute(_))));
        assert!(matches!(one("//."), Err(RelativeError::Absolute(_))));
        assert!(matches!(one("/a/../b"), Err(RelativeError::DotDot(_))));
    }

    #[test]
    fn a_baseline_root_keeps_the_names_of_the_scan() {
        let root = |src: &str| String::from_utf8(anchored(src.as_bytes(), b"/w/")).unwrap();
        assert_eq!(root("a/b"), "/w/./a/b");
        assert_eq!(root("./a"), "/w/././a");
        assert_eq!(root("a/./b"), "/w/a/./b");
        assert_eq!(root("/abs/x"), "/abs/x");
        for src in ["a/b", "./a", "a/./b", ".", "a//b/", "x/./"] {
            let scanned = split(src.as_bytes()).unwrap();
            let rooted = split(&anchored(src.as_bytes(), b"/w")).unwrap();
            assert_eq!(rooted.1, scanned.1, "{src}");
        }
    }

    #[test]
    fn files_from_names_move_to_their_common_anchor() {
        let names = |s: &[&str]| s.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        let (base, listed) =
            anchored_names(&names(&["one/./dup", "/one/../one/./nested/x/", "one/./."])).unwrap();
        assert_eq!(base, b"one");
        assert_eq!(listed, names(&["dup", "nested/x/", "."]));
        let (_, listed) = anchored_names(&names(&["a/././b", "a/./"])).unwrap();
        assert_eq!(listed, names(&["./b", "."]));
        assert_eq!(anchored_names(&names(&["one/./dup", "two/./dup"])), None);
        assert_eq!(anchored_names(&names(&["one/./dup", "one/dup"])), None);
        assert_eq!(anchored_names(&names(&["/./dup"])), None);
    }

    #[test]
    fn sources_are_grouped_by_base() {
        let srcs = |s: &[&str]| s.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        let of = |p: &Plan| p.names.iter().map(|(of, _)| *of).collect::<Vec<_>>();
        let named = |p: &Plan| p.names.iter().map(|(_, n)| n.clone()).collect::<Vec<_>>();
        let p = plan(&srcs(&["s/./a", "s/./b/c/", "s//./d"])).unwrap();
        assert_eq!(p.bases, srcs(&["s"]));
        assert_eq!(named(&p), srcs(&["a", "b/c", "d"]));
        let p = plan(&srcs(&["s/./a", "t/./b", "c", "s/./e"])).unwrap();
        assert_eq!(p.bases, srcs(&["s", "t", "."]));
        assert_eq!(of(&p), [0, 1, 2, 0]);
        assert!(matches!(
            plan(&srcs(&["a", "/b"])),
            Err(RelativeError::Bases(..))
        ));
        assert!(matches!(
            plan(&srcs(&["/a", "/./b"])),
            Err(RelativeError::Bases(..))
        ));
        let p = plan(&srcs(&["/a/b", "/c"])).unwrap();
        assert!(p.rooted && p.bases == srcs(&["/"]) && named(&p) == srcs(&["a/b", "c"]));
    }
}
