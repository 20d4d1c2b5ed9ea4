//! rsync's symlink options, `-L`/`--copy-links`, `--copy-unsafe-links` and `--safe-links`:
//! which symlinks the walk follows (listing each as the file or directory it leads to, as
//! rsync's sender does), which it leaves out, and how it follows one without giving up the
//! walker's race safety. Kept apart from the walker, which only asks this module about
//! each symlink it meets.
//!
//! Why following is safe. The walker looks every name up relative to a directory fd with
//! `O_NOFOLLOW`, so a directory swapped for a symlink cannot lead it elsewhere. A symlink
//! the user asked to follow is resolved here by [`resolve`], one component at a time,
//! starting at the fd of the directory that holds the link (or at `/` for an absolute
//! target): every directory on the way is opened with `O_NOFOLLOW|O_DIRECTORY` relative to
//! the one before, and each symlink met is read (`readlinkat`) and expanded by this code,
//! at most [`MAX_LINKS`] of them, as the kernel would. What comes out is a directory fd and
//! the name in it of an entry that is not a symlink. The walker then treats that entry as
//! any other: a regular file is opened `O_NOFOLLOW` relative to that fd and its metadata is
//! the `fstat` of the very fd that is hashed (the reader's), so a swap between a stat and
//! the open cannot pair one file's metadata with another's checksum; a directory is opened
//! `O_NOFOLLOW|O_DIRECTORY` and must be the `(dev, ino)` resolved. Only the symlinks the
//! options name are expanded: a symlink met on the way is part of the path the user asked
//! to follow, as it is for rsync's `stat()`.
//!
//! Loops. rsync follows a symlink to `.` or to a directory above it again and again, until
//! its paths are too long or hold too many symlinks for the kernel: two such links make it
//! list for hours. The walk keeps the `(dev, ino)` of the directories it is inside
//! ([`Trail`]) and does not follow a symlink leading back to one of them: it reports it
//! instead (docs/listing.md names this difference).

use std::collections::VecDeque;
use std::ffi::{CStr, CString};
use std::os::fd::OwnedFd;
use std::sync::Arc;

use rustix::fs::{AtFlags, Mode, OFlags, Stat};
use rustix::io::Errno;

use super::{c_path, Child, Walker};
use crate::record::{Kind, Meta};
use crate::scan::read::describe;

/// The most symlinks one resolution expands, as Linux's `MAXSYMLINKS`: past it, `ELOOP`.
pub(crate) const MAX_LINKS: usize = 40;

/// rsync's symlink options. They do not change which kinds of entry are listed (`-l`
/// still decides whether a symlink that is not followed is listed), and `-a` does not
/// touch them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Follow {
    /// `-L`/`--copy-links`: every symlink is followed.
    pub copy_links: bool,
    /// `--copy-unsafe-links`: symlinks that [`unsafe_symlink`] calls unsafe are followed.
    pub copy_unsafe_links: bool,
    /// `--safe-links`: an unsafe symlink that is not followed is left out, silently.
    pub safe_links: bool,
}

impl Follow {
    /// None of the options: symlinks are never followed.
    pub const NONE: Follow = Follow {
        copy_links: false,
        copy_unsafe_links: false,
        safe_links: false,
    };

    /// The byte a baseline header stores: one bit per option.
    pub fn code(self) -> u8 {
        u8::from(self.copy_links)
            | u8::from(self.copy_unsafe_links) << 1
            | u8::from(self.safe_links) << 2
    }

    /// The options of a stored byte; `None` for a bit no version of fimsum writes.
    pub fn from_code(code: u8) -> Option<Follow> {
        (code < 8).then_some(Follow {
            copy_links: code & 1 != 0,
            copy_unsafe_links: code & 2 != 0,
            safe_links: code & 4 != 0,
        })
    }

    /// Whether some symlinks are followed.
    pub(crate) fn follows_any(self) -> bool {
        self.copy_links || self.copy_unsafe_links
    }
}

/// rsync's rule (util1.c, `unsafe_symlink`) for whether a symlink with this `target`, listed
/// as `name` (the `%n` name, relative to the transfer root), leads outside the transfer: an
/// absolute or empty target; a `..` anywhere but in a leading run of `../`; a target ending
/// in `/..`; or a target whose leading `..` climb above the root, counting the directories
/// `name` is in (a `..` in the name starts the count over, a `.` counts nothing).
pub fn unsafe_symlink(target: &[u8], name: &[u8]) -> bool {
    if target.first().is_none_or(|&b| b == b'/') {
        return true;
    }
    let mut rest = target;
    while let Some(after) = rest.strip_prefix(b"../") {
        rest = &after[after.iter().take_while(|&&b| b == b'/').count()..];
    }
    if rest.windows(4).any(|w| w == b"/../") || (target.len() > 3 && target.ends_with(b"/..")) {
        return true;
    }
    let mut depth: i64 = 0;
    let (dirs, last) = segments(name);
    for segment in dirs {
        match segment {
            b".." => depth = 0,
            b"." => {}
            _ => depth += 1,
        }
    }
    if last == b".." {
        depth = 0;
    }
    let (dirs, last) = segments(target);
    for segment in dirs {
        match segment {
            b".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            b"." => {}
            _ => depth += 1,
        }
    }
    if last == b".." {
        depth -= 1;
    }
    depth < 0
}

/// A path's segments that a slash ends, repeated slashes counting as one (a leading slash
/// ends an empty first segment), and what follows the last slash.
fn segments(path: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let mut parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    let last = parts.pop().unwrap_or_default();
    let mut dirs = Vec::with_capacity(parts.len());
    for (i, part) in parts.into_iter().enumerate() {
        if i == 0 || !part.is_empty() {
            dirs.push(part);
        }
    }
    (dirs, last)
}

/// An entry that a symlink leads to: the directory it is in, opened by [`resolve`], and
/// its name there (never a symlink), with its `lstat`.
pub(crate) struct Resolved {
    pub dir: OwnedFd,
    pub leaf: CString,
    pub st: Stat,
}

/// Resolve the symlink `leaf` of `dir` to the entry it leads to, expanding each symlink on
/// the way and opening each directory with `O_NOFOLLOW` relative to the one before (see
/// the module's documentation for why this is safe).
pub(crate) fn resolve(dir: &OwnedFd, leaf: &CStr) -> Result<Resolved, Errno> {
    let path_dir = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut cur = rustix::fs::openat(dir, c".", path_dir, Mode::empty())?;
    let mut pending: VecDeque<Vec<u8>> = VecDeque::from([leaf.to_bytes().to_vec()]);
    let mut links = 0;
    while let Some(part) = pending.pop_front() {
        let last = pending.is_empty();
        if part.is_empty() || part == b"." || part == b".." {
            if part == b".." {
                cur = rustix::fs::openat(&cur, c"..", path_dir, Mode::empty())?;
            }
            if last {
                // The target names a directory by its path (`.`, `..`, `sub/`): the
                // directory itself, as its own `.`.
                let st = rustix::fs::statat(&cur, c".", AtFlags::SYMLINK_NOFOLLOW)?;
                return Ok(Resolved {
                    dir: cur,
                    leaf: c".".to_owned(),
                    st,
                });
            }
            continue;
        }
        let name = c_path(&part)?;
        let st = rustix::fs::statat(&cur, name.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)?;
        match Kind::from_stat(&st) {
            Kind::Symlink => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Errno::LOOP);
                }
                let target = rustix::fs::readlinkat(&cur, name.as_c_str(), Vec::new())?;
                let target = target.into_bytes();
                if target.is_empty() {
                    return Err(Errno::NOENT);
                }
                if target.starts_with(b"/") {
                    cur = rustix::fs::open(c"/", path_dir, Mode::empty())?;
                }
                for piece in target.split(|&b| b == b'/').rev() {
                    pending.push_front(piece.to_vec());
                }
            }
            _ if last => {
                return Ok(Resolved {
                    dir: cur,
                    leaf: name,
                    st,
                })
            }
            Kind::Dir => cur = rustix::fs::openat(&cur, name.as_c_str(), path_dir, Mode::empty())?,
            _ => return Err(Errno::NOTDIR),
        }
    }
    // Not reached: the last part returns. An empty leaf names nothing.
    Err(Errno::NOENT)
}

/// The directories the walk is inside, by `(dev, ino)`, each with the depth of the listing
/// it holds (0 for the sources' own directories), so that a symlink leading back to one of
/// them is seen ([`Walker::follow_entry`]). Kept only when symlinks are followed.
///
/// It also keeps the last directory a symlink led into, so that links into one directory
/// share one fd while they wait for their readers, as a directory's own entries do.
#[derive(Debug, Default)]
pub(super) struct Trail {
    inside: Vec<(usize, u64, u64)>,
    last_dir: Option<(u64, u64, Arc<OwnedFd>)>,
}

impl Trail {
    /// A source's directory, or the directory an item source is in.
    pub(super) fn root(&mut self, dev: u64, ino: u64) {
        self.inside.push((0, dev, ino));
    }

    /// A directory whose listing is now at `level` of the walker's stack.
    pub(super) fn entered(&mut self, level: usize, dev: u64, ino: u64) {
        self.inside.retain(|&(l, ..)| l < level || l == 0);
        self.inside.push((level, dev, ino));
    }

    /// Is `(dev, ino)` a directory the walk is inside, while `level` listings are open?
    pub(super) fn holds(&mut self, level: usize, dev: u64, ino: u64) -> bool {
        self.inside.retain(|&(l, ..)| l <= level);
        self.inside.iter().any(|&(_, d, i)| (d, i) == (dev, ino))
    }

    /// The fd to keep for `dir`, a directory a symlink in `parent` led into: `parent`'s
    /// or the last one's when it is the same directory (a lookup relative to either is
    /// the same lookup), else `dir` itself.
    fn share(&mut self, parent: &Arc<OwnedFd>, dir: OwnedFd) -> Arc<OwnedFd> {
        let Ok(st) = rustix::fs::fstat(&dir) else {
            return Arc::new(dir);
        };
        let id = (st.st_dev, st.st_ino);
        if rustix::fs::fstat(&**parent).is_ok_and(|p| (p.st_dev, p.st_ino) == id) {
            return Arc::clone(parent);
        }
        if let Some((dev, ino, fd)) = &self.last_dir {
            if (*dev, *ino) == id {
                return Arc::clone(fd);
            }
        }
        let fd = Arc::new(dir);
        self.last_dir = Some((id.0, id.1, Arc::clone(&fd)));
        fd
    }
}

/// What a listing does with a symlink it meets.
enum Listed {
    /// Listed as the symlink it is (or as rsync's `skipping` line without `-l`).
    AsLink,
    /// Followed: sorted, filtered and listed as what it leads to (this `stat`).
    Followed(Stat),
    /// Left out: a problem says why, unless the filter excludes it.
    Dropped,
}

impl Walker {
    /// The kind and metadata an entry `name` (`leaf` of `dir`, `lstat`ed as `looked`) is
    /// listed with, and whether it is a symlink to follow; `None` when it is left out (a
    /// problem says why).
    pub(super) fn as_listed(
        &mut self,
        dir: &OwnedFd,
        leaf: &CStr,
        name: &[u8],
        looked: (Kind, Meta),
    ) -> Option<((Kind, Meta), bool)> {
        if looked.0 != Kind::Symlink {
            return Some((looked, false));
        }
        match self.listed_link(dir, leaf, name) {
            Listed::AsLink => Some((looked, false)),
            Listed::Followed(target) => {
                Some(((Kind::from_stat(&target), Meta::from_stat(&target)), true))
            }
            Listed::Dropped => None,
        }
    }

    /// `--safe-links`: rsync's generator leaves an unsafe symlink out, silently (its `-v`
    /// says `ignoring unsafe symlink`).
    pub(super) fn leaves_out_link(&self, target: &[u8], name: &[u8]) -> bool {
        self.options.listing.follow.safe_links && unsafe_symlink(target, name)
    }

    /// Whether the symlink `leaf` of `dir`, listed as `name`, is followed, as rsync's
    /// sender decides (`readlink_stat`): with `-L` always, with `--copy-unsafe-links` when it
    /// is unsafe. A followed symlink that leads nowhere is rsync's "symlink has no
    /// referent" (exit 23 there, bit 8 here), unless the filter excludes the name as a
    /// file or as a directory.
    fn listed_link(&mut self, dir: &OwnedFd, leaf: &CStr, name: &[u8]) -> Listed {
        let follow = self.options.listing.follow;
        if !follow.follows_any() {
            return Listed::AsLink;
        }
        if !follow.copy_links {
            match rustix::fs::readlinkat(dir, leaf, Vec::new()) {
                Ok(target) if !unsafe_symlink(target.as_bytes(), name) => return Listed::AsLink,
                Ok(_) => {}
                Err(e) => {
                    self.problem(
                        name.to_vec(),
                        format!("cannot read symlink: {}", describe(e)),
                    );
                    return Listed::Dropped;
                }
            }
        }
        match rustix::fs::statat(dir, leaf, AtFlags::empty()) {
            Ok(st) => Listed::Followed(st),
            Err(e) => {
                let filter = &self.options.filter;
                if !(filter.is_excluded(name, false) || filter.is_excluded(name, true)) {
                    self.cannot_follow(name.to_vec(), e);
                }
                Listed::Dropped
            }
        }
    }

    fn cannot_follow(&mut self, name: Vec<u8>, e: Errno) {
        let message = match e {
            Errno::NOENT => "symlink has no referent".to_string(),
            e => format!("cannot follow symlink: {}", describe(e)),
        };
        self.problem(name, message);
    }

    /// A listed symlink to follow, turned into the entry it leads to: its directory and
    /// name (see [`resolve`]), its kind, and its metadata (`None` for a regular file the
    /// walk opens, whose metadata is then the `fstat` of that fd). `None` when it cannot be
    /// followed now, leads somewhere else than it did when listed, or leads back to a
    /// directory the walk is inside: a problem says which.
    pub(super) fn follow_entry(&mut self, mut child: Child) -> Option<Child> {
        child = self.follow_one(child)?;
        let merged = std::mem::take(&mut child.merged);
        for m in merged {
            if let Some(m) = self.follow_one(m) {
                child.merged.push(m);
            }
        }
        Some(child)
    }

    fn follow_one(&mut self, mut child: Child) -> Option<Child> {
        if !child.followed {
            return Some(child);
        }
        let resolved = match resolve(&child.parent, &child.leaf) {
            Ok(resolved) => resolved,
            Err(e) => {
                self.cannot_follow(child.name, e);
                return None;
            }
        };
        let kind = Kind::from_stat(&resolved.st);
        let meta = Meta::from_stat(&resolved.st);
        if (kind == Kind::Dir) != (child.kind == Kind::Dir) {
            self.problem(child.name, "replaced during the scan".into());
            return None;
        }
        if kind == Kind::Dir && self.trail.holds(self.stack.len(), meta.dev, meta.ino) {
            self.problem(
                child.name,
                "symlink leads back to a directory the walk is inside: not followed \
                 (rsync would list it again and again)"
                    .into(),
            );
            return None;
        }
        child.parent = self.trail.share(&child.parent, resolved.dir);
        child.leaf = resolved.leaf;
        child.kind = kind;
        child.meta = (kind != Kind::File || self.options.open_files == 0).then_some(meta);
        child.followed = false;
        Some(child)
    }

    /// Note a directory the walk has entered (its listing now on top of the stack), when
    /// symlinks are followed.
    pub(super) fn note_entered(&mut self, meta: &Meta) {
        if self.options.listing.follow.follows_any() {
            self.trail.entered(self.stack.len(), meta.dev, meta.ino);
        }
    }

    /// Note a directory above everything the walk lists (a source's, or an item source's
    /// parent), when symlinks are followed.
    pub(super) fn note_root(&mut self, dir: &OwnedFd) {
        if self.options.listing.follow.follows_any() {
            if let Ok(st) = rustix::fs::fstat(dir) {
                self.trail.root(st.st_dev, st.st_ino);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_as_rsync_counts() {
        // Observed with rsync 3.5.0 (`--copy-unsafe-links`, `--safe-links`).
        for (target, name, unsafe_) in [
            (&b"/etc/passwd"[..], &b"abs"[..], true),
            (b"", b"empty", true),
            (b"../../x", b"d/up", true),
            (b"../../x", b"src/d/up", false),
            (b"../a", b"d/ok", false),
            (b"../x", b"upx", true),
            (b"../x", b"src/upx", false),
            (b"a", b"sl", false),
            (b"d/../a", b"mid", true),
            (b"./../a", b"d/dotdot", true),
            (b"../../x/t", b"d/e/deep", false),
            (b"../../../x/t", b"d/e/deep", true),
            (b"..//..//x", b"a/b/c", false),
            (b"sub/..", b"a/b", true),
            (b"..", b"a/b", false),
            (b"..", b"b", true),
            (b".", b"self", false),
            (b"x/./y", b"n", false),
            (b"../x", b"../d/n", false),
            (b"../x", b"a/./n", false),
        ] {
            assert_eq!(
                unsafe_symlink(target, name),
                unsafe_,
                "{:?} as {:?}",
                String::from_utf8_lossy(target),
                String::from_utf8_lossy(name)
            );
        }
    }

    #[test]
    fn follow_codes_round_trip() {
        for code in 0..8 {
            assert_eq!(Follow::from_code(code).map(Follow::code), Some(code));
        }
        assert_eq!(Follow::from_code(8), None);
        assert_eq!(Follow::NONE.code(), 0);
    }

    #[test]
    fn trail_forgets_left_directories() {
        let mut trail = Trail::default();
        trail.root(1, 1);
        trail.entered(1, 1, 2);
        trail.entered(2, 1, 3);
        assert!(trail.holds(2, 1, 3));
        // Back at level 1: the level-2 directory was left.
        assert!(!trail.holds(1, 1, 3));
        assert!(trail.holds(1, 1, 2) && trail.holds(1, 1, 1));
        trail.entered(1, 1, 4);
        assert!(!trail.holds(1, 1, 2) && trail.holds(1, 1, 4) && trail.holds(0, 1, 1));
    }

    fn tree() -> (tempfile::TempDir, OwnedFd) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let p = tmp.path();
        std::fs::create_dir_all(p.join("d/e")).expect("mkdir");
        std::fs::write(p.join("d/e/f"), b"x").expect("write");
        let link = |target: &str, at: &str| {
            std::os::unix::fs::symlink(target, p.join(at)).expect("symlink")
        };
        link("d/e/f", "file");
        link("d", "dir");
        link("dir/e/", "chain");
        link("loop", "loop");
        link("nowhere", "dangling");
        link("d/e/f/x", "through-file");
        link("..", "d/up");
        let fd =
            rustix::fs::open(p, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).expect("open");
        (tmp, fd)
    }

    #[test]
    fn links_into_one_directory_share_its_fd() {
        let (_tmp, fd) = tree();
        let parent = Arc::new(fd);
        let mut trail = Trail::default();
        // `file` -> d/e/f: into d/e; `chain` -> dir/e/ is d/e itself, as `.` of it.
        let r = resolve(&parent, c"file").expect("file");
        let first = trail.share(&parent, r.dir);
        assert!(!Arc::ptr_eq(&first, &parent));
        let r = resolve(&parent, c"chain").expect("chain");
        assert!(Arc::ptr_eq(&trail.share(&parent, r.dir), &first));
        // `dir` -> d: in the link's own directory, whose fd is the parent's.
        let r = resolve(&parent, c"dir").expect("dir");
        assert!(Arc::ptr_eq(&trail.share(&parent, r.dir), &parent));
    }

    #[test]
    fn resolve_expands_each_link_itself() {
        let (tmp, fd) = tree();
        let r = resolve(&fd, c"file").expect("file");
        assert_eq!(r.leaf.as_bytes(), b"f");
        let f = std::fs::metadata(tmp.path().join("d/e/f")).expect("stat");
        assert_eq!(r.st.st_ino, std::os::unix::fs::MetadataExt::ino(&f));
        let r = resolve(&fd, c"dir").expect("dir");
        assert_eq!(
            (r.leaf.as_bytes(), Kind::from_stat(&r.st)),
            (&b"d"[..], Kind::Dir)
        );
        let r = resolve(&fd, c"chain").expect("chain");
        assert_eq!(
            (r.leaf.as_bytes(), Kind::from_stat(&r.st)),
            (&b"."[..], Kind::Dir)
        );
        let e = std::fs::metadata(tmp.path().join("d/e")).expect("stat");
        assert_eq!(r.st.st_ino, std::os::unix::fs::MetadataExt::ino(&e));
        assert_eq!(resolve(&fd, c"loop").err(), Some(Errno::LOOP));
        assert_eq!(resolve(&fd, c"dangling").err(), Some(Errno::NOENT));
        assert_eq!(resolve(&fd, c"through-file").err(), Some(Errno::NOTDIR));
        let d = rustix::fs::openat(&fd, c"d", OFlags::PATH | OFlags::DIRECTORY, Mode::empty())
            .expect("d");
        let r = resolve(&d, c"up").expect("up");
        let top = std::fs::metadata(tmp.path()).expect("stat");
        assert_eq!(r.st.st_ino, std::os::unix::fs::MetadataExt::ino(&top));
    }
}
