//! The walker: lists the entries of rsync sources in rsync's order, the way
//! `rsync -a` sees them, without following a symlink below a source (unless `-L` or
//! `--copy-unsafe-links` asks it to: [`follow`]).
//!
//! It holds an open directory fd for each level it is inside and looks up every name
//! relative to it (`openat`/`fstatat`), never by a path string: a directory swapped for a
//! symlink during the scan cannot lead it outside the tree (rsync's CVE-2026-53797 was
//! exactly that race), and paths longer than PATH_MAX work. walkdir, which works on path
//! strings, could not give this guarantee; this is why the walker is our own.
//!
//! Each directory is read whole and sorted before any of it is returned, as rsync does;
//! memory is bounded by the largest directory and the depth, not by the tree. A walk that
//! reads few files (`check --quick`) has a second thread open and read the directories it
//! is about to enter ([`crate::scan::prefetch`]), at most a few dozen ahead; what they
//! list is still the walker's to decide.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::attrs::Attrs;
use crate::error::Problem;
use crate::record::{Content, Kind, Meta, Record};
use crate::rsync::filter::{parse_filter_rule, Filter, FilterRule, PatternError};
use crate::rsync::order::cmp_entries;
use crate::scan::dirmerge::DirRules;
use crate::scan::hook::HookRef;
use crate::scan::prefetch::{open_dir, read_entries, Prefetch, RawEntry, Request};
use crate::scan::read::{describe, open_regular, FileRef, OpenedFile};

pub mod follow;
pub mod relative;
pub use follow::Follow;

/// rsync's `-x`, counted as rsync counts it: how far a walk keeps to each source's
/// filesystem. Kept as the count that was given (a baseline stores that byte, and rsync
/// treats `-xxx` as `-xx`), and read through [`OneFileSystem::stays`] and
/// `OneFileSystem::omits_mount_points` rather than compared as a number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OneFileSystem(u8);

impl OneFileSystem {
    /// No `-x`: the walk crosses into other filesystems.
    pub const OFF: OneFileSystem = OneFileSystem(0);
    /// `-x`: a directory on another filesystem than its source is listed but not entered.
    pub const LIST_MOUNT_POINTS: OneFileSystem = OneFileSystem(1);
    /// `-xx`: such a directory is left out.
    pub const OMIT_MOUNT_POINTS: OneFileSystem = OneFileSystem(2);

    /// How many times `-x` was given.
    pub(crate) const fn from_count(count: u8) -> OneFileSystem {
        OneFileSystem(count)
    }

    /// How many times `-x` was given: the byte a baseline header stores.
    pub const fn count(self) -> u8 {
        self.0
    }

    /// Whether the walk stays on each source's filesystem (`-x` or more).
    pub const fn stays(self) -> bool {
        self.0 >= 1
    }

    /// Whether a directory on another filesystem is left out rather than listed (`-xx`).
    pub(crate) const fn omits_mount_points(self) -> bool {
        self.0 >= 2
    }
}

impl From<u8> for OneFileSystem {
    fn from(count: u8) -> OneFileSystem {
        OneFileSystem::from_count(count)
    }
}

/// rsync's listing options beyond filters and `-x`: which kinds of entry are listed, how
/// deep, which regular files by size, and whether the root's `./` line is printed. The
/// default is `-a` (`-rlptgoD`), what `fimsum scan` has always emulated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    /// `-r`: directories are entered. Without it a directory source prints rsync's
    /// `skipping directory NAME` and nothing below it (with `--files-from`, a listed
    /// directory is itself listed but not entered).
    pub recursive: bool,
    /// `-l`: symlinks are listed; without it they are `skipping non-regular file` lines.
    pub links: bool,
    /// `--devices`: character and block devices are listed.
    pub devices: bool,
    /// `--specials`: FIFOs and sockets are listed.
    pub specials: bool,
    /// `-t`, `-p`, `-o`, `-g`: the attributes rsync would set on the destination's root.
    /// They change no entry of the listing; they decide whether rsync prints the root's
    /// `./` line, which it does only when the new (empty) destination's root differs in
    /// one of them.
    pub times: bool,
    /// `-p` (see [`Listing::times`]).
    pub perms: bool,
    /// `-o` (see [`Listing::times`]).
    pub owner: bool,
    /// `-g` (see [`Listing::times`]).
    pub group: bool,
    /// `--max-size`: a regular file larger than this many bytes is left out.
    pub max_size: Option<u64>,
    /// `--min-size`: a regular file smaller than this many bytes is left out.
    pub min_size: Option<u64>,
    /// `--files-from`: the names to list, relative to the one source directory (rsync's
    /// implied `-R`: each name's parent directories are listed too). `None` lists the
    /// sources themselves.
    pub files_from: Option<Vec<Vec<u8>>>,
    /// With `--files-from`: the directories above the listed names are listed too (and
    /// the root, for a name starting with `./`). rsync's `--no-implied-dirs` turns it
    /// off.
    pub implied_dirs: bool,
    /// `-L`, `--copy-unsafe-links`, `--safe-links` (see [`Follow`]).
    pub follow: Follow,
    /// `-R`: each source is listed under the path it was given, from its `/./` if it has
    /// one, with the directories above it ([`relative`]). Ignored with `--files-from`,
    /// which implies it.
    pub relative: bool,
    /// `-H`: the names of one inode are printed in rsync's `-H` order
    /// ([`crate::rsync::hlink`]). It changes no entry, only where lines are printed.
    pub hard_links: bool,
}

impl Default for Listing {
    fn default() -> Listing {
        Listing::ARCHIVE
    }
}

impl Listing {
    /// rsync's `-a`: `-rlptgoD`.
    pub const ARCHIVE: Listing = Listing {
        recursive: true,
        links: true,
        devices: true,
        specials: true,
        times: true,
        perms: true,
        owner: true,
        group: true,
        max_size: None,
        min_size: None,
        files_from: None,
        implied_dirs: true,
        follow: Follow::NONE,
        relative: false,
        hard_links: false,
    };

    /// Nothing but the options themselves: what `rsync` lists with none of `-a`, `-r`, `-l`,
    /// `-D`, `-t`, `-p`, `-o`, `-g`.
    pub const NONE: Listing = Listing {
        recursive: false,
        links: false,
        devices: false,
        specials: false,
        times: false,
        perms: false,
        owner: false,
        group: false,
        max_size: None,
        min_size: None,
        files_from: None,
        implied_dirs: true,
        follow: Follow::NONE,
        relative: false,
        hard_links: false,
    };

    /// Is this entry kind listed at all? `false` makes it a `skipping non-regular file`
    /// line (rsync's generator, `recv_generator`).
    fn lists_kind(&self, kind: Kind) -> bool {
        match kind {
            Kind::File | Kind::Dir => true,
            Kind::Symlink => self.links,
            Kind::CharDevice | Kind::BlockDevice => self.devices,
            Kind::Fifo | Kind::Socket => self.specials,
            _ => true,
        }
    }

    /// Is a regular file of `size` bytes outside `--max-size`/`--min-size`? rsync's
    /// generator compares the length with `>` and `<`: the limits themselves are kept.
    fn size_excluded(&self, size: u64) -> bool {
        self.max_size.is_some_and(|max| size > max) || self.min_size.is_some_and(|min| size < min)
    }

    /// Does rsync print the root's `./` line when copying a directory with these
    /// attributes into a destination it has just made (`mkdir` with umask 022, owned by
    /// this process)? Only an attribute it preserves and that differs makes it do so.
    fn prints_root(&self, meta: &Meta) -> bool {
        let euid = rustix::process::geteuid().as_raw();
        let egid = rustix::process::getegid().as_raw();
        self.times
            || (self.perms && meta.mode & 0o7777 != 0o755)
            || (self.owner && euid == 0 && meta.uid != euid)
            || (self.group && meta.gid != egid)
    }
}

/// An entry rsync names in a line of its own instead of listing it: the lines
/// `skipping non-regular file "NAME"` and `skipping directory NAME` of its stdout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The name, as `%n` would print it (without a trailing slash).
    pub name: Vec<u8>,
    /// Which line rsync prints for it.
    pub why: SkipReason,
}

/// Why an entry is [`Skipped`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// A symlink without `-l`, a device without `--devices`, a FIFO or socket without
    /// `--specials`.
    NonRegular,
    /// A directory source without `-r`.
    Directory,
}

impl Skipped {
    /// rsync's line for it, escaped as rsync escapes its messages (as `%n` is), with its
    /// newline.
    pub fn line(&self, charset: crate::rsync::escape::Charset, out: &mut Vec<u8>) {
        let name = if self.name.is_empty() {
            &b"."[..]
        } else {
            &self.name
        };
        let mut raw = Vec::with_capacity(name.len() + 28);
        match self.why {
            SkipReason::NonRegular => {
                raw.extend_from_slice(b"skipping non-regular file \"");
                raw.extend_from_slice(name);
                raw.push(b'"');
            }
            SkipReason::Directory => {
                raw.extend_from_slice(b"skipping directory ");
                raw.extend_from_slice(name);
            }
        }
        crate::rsync::escape::escape_line(&raw, charset, out);
        out.push(b'\n');
    }
}

/// What a walk is told besides its sources.
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// rsync's `-x` (see [`OneFileSystem`]).
    pub one_file_system: OneFileSystem,
    /// rsync's other listing options (see [`Listing`]).
    pub listing: Listing,
    /// The filter options as given, kept so a baseline can record them and a check can
    /// apply them again.
    filters: Vec<FilterArg>,
    filter: Filter,
    /// Regular files to leave out, by (device, inode): fimsum's own baseline files, which
    /// must never show up as changes of the tree they describe.
    pub skip: Vec<(u64, u64)>,
    /// Filesystem types (`statfs` `f_type`) whose mount points are listed but not entered:
    /// the config's `skip_fs`, so that /proc, /sys and other kernel-made trees are left
    /// out wherever they are mounted, not only where a path rule expects them.
    pub skip_fs: Vec<i64>,
    /// Open each regular file when the walk reaches it and hand the fd on in
    /// `Entry::opened`, its `fstat` being the entry's metadata: one path lookup per file
    /// instead of two (a stat here, an open by the reader). At most this many such fds wait for their readers at a time
    /// (past it, files are stat'ed and the reader opens them), so that a low limit on open
    /// files is never reached; 0 when most files will not be read (`check --quick`), where a
    /// stat is cheaper than an open and a close.
    pub open_files: usize,
    /// Files opened by the walk whose readers have not taken them yet.
    waiting: Arc<AtomicUsize>,
    /// List directories ahead of the walk in a thread of their own
    /// ([`crate::scan::prefetch`]), for a walk that opens no files (`open_files` 0) and so
    /// waits on its own system calls; not with test hooks.
    pub prefetch: bool,
    /// Fault-injection points for tests (see [`crate::scan::Hooks`]).
    pub hooks: HookRef,
    /// Record each entry's security attributes ([`crate::attrs`]): a directory's from the
    /// descriptor the walk lists it through, a regular file's by its reader from the
    /// descriptor it hashes, any other entry's by name relative to its directory.
    pub attrs: bool,
    /// Regular files the walk left out for `--max-size`/`--min-size` so far: rsync's file
    /// lists still hold them (its generator skips them), and `-H` counts rsync's entries
    /// ([`crate::rsync::hlink`]).
    pub left_out_by_size: Arc<AtomicU64>,
}

impl WalkOptions {
    /// Options for rsync's `-x` given this many times and these filter arguments, in command-line
    /// order; an error for a bad pattern.
    pub fn new(
        one_file_system: impl Into<OneFileSystem>,
        filters: Vec<FilterArg>,
    ) -> Result<WalkOptions, PatternError> {
        let mut filter = Filter::new();
        for arg in &filters {
            match arg {
                FilterArg::Exclude(p) => filter.exclude(p)?,
                FilterArg::Include(p) => filter.include(p)?,
                FilterArg::ExcludeFrom(contents) => filter.exclude_from(contents)?,
                FilterArg::IncludeFrom(contents) => filter.include_from(contents)?,
                FilterArg::ExcludeFrom0(contents) => filter.exclude_from0(contents)?,
                FilterArg::IncludeFrom0(contents) => filter.include_from0(contents)?,
                FilterArg::Rule(rule) => filter.filter_rule(rule)?,
                FilterArg::Merge { rule, contents } => match parse_filter_rule(rule)? {
                    FilterRule::Merge { .. } => filter.merge_rule(rule, contents)?,
                    _ => filter.filter_rule(rule)?,
                },
                FilterArg::CvsEnvironment(words) => filter.cvs_environment(words),
            }
        }
        Ok(WalkOptions {
            one_file_system: one_file_system.into(),
            listing: Listing::default(),
            filters,
            filter,
            skip: Vec::new(),
            skip_fs: Vec::new(),
            open_files: 0,
            waiting: Arc::default(),
            prefetch: false,
            hooks: HookRef::default(),
            attrs: false,
            left_out_by_size: Arc::default(),
        })
    }

    /// The filter arguments, as given.
    pub fn filters(&self) -> &[FilterArg] {
        &self.filters
    }

    /// Whether the walk reads per-directory merge files (dir-merge rules, `-F`, `-C`).
    pub fn reads_merge_files(&self) -> bool {
        !self.filter.dir_merges().is_empty()
    }
}

/// One include/exclude option, in command-line order. `--exclude-from` is kept with the
/// file's contents, so a later check applies the same rules even if the file has changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FilterArg {
    /// `--exclude PATTERN`.
    Exclude(Vec<u8>),
    /// `--include PATTERN`.
    Include(Vec<u8>),
    /// `--exclude-from FILE`, with the file's contents.
    ExcludeFrom(Vec<u8>),
    /// `--include-from FILE`, with the file's contents.
    IncludeFrom(Vec<u8>),
    /// `--exclude-from FILE --from0`: rules end at NUL bytes.
    ExcludeFrom0(Vec<u8>),
    /// `--include-from FILE --from0`.
    IncludeFrom0(Vec<u8>),
    /// `--filter RULE` other than a merge rule.
    Rule(Vec<u8>),
    /// `--filter '. FILE'` (a merge rule), with the file's contents.
    Merge {
        /// The rule as given.
        rule: Vec<u8>,
        /// The file's contents.
        contents: Vec<u8>,
    },
    /// What `-C`'s CVS ignore list takes from the environment when the scan was asked
    /// for: `$HOME/.cvsignore`'s contents, a newline, `$CVSIGNORE` (whitespace-separated
    /// names). Comes before the rules that use the list.
    CvsEnvironment(Vec<u8>),
}

impl FilterArg {
    pub(crate) fn to_code(&self) -> (u8, Vec<u8>) {
        match self {
            FilterArg::Exclude(p) => (0, p.clone()),
            FilterArg::Include(p) => (1, p.clone()),
            FilterArg::ExcludeFrom(c) => (2, c.clone()),
            FilterArg::IncludeFrom(c) => (3, c.clone()),
            FilterArg::ExcludeFrom0(c) => (4, c.clone()),
            FilterArg::IncludeFrom0(c) => (5, c.clone()),
            FilterArg::Rule(r) => (6, r.clone()),
            // The rule holds no NUL (no command line can carry one): it ends at the first.
            FilterArg::Merge { rule, contents } => {
                let mut bytes = rule.clone();
                bytes.push(0);
                bytes.extend_from_slice(contents);
                (7, bytes)
            }
            FilterArg::CvsEnvironment(words) => (8, words.clone()),
        }
    }

    pub(crate) fn from_code(code: u8, bytes: Vec<u8>) -> Option<FilterArg> {
        match code {
            0 => Some(FilterArg::Exclude(bytes)),
            1 => Some(FilterArg::Include(bytes)),
            2 => Some(FilterArg::ExcludeFrom(bytes)),
            3 => Some(FilterArg::IncludeFrom(bytes)),
            4 => Some(FilterArg::ExcludeFrom0(bytes)),
            5 => Some(FilterArg::IncludeFrom0(bytes)),
            6 => Some(FilterArg::Rule(bytes)),
            7 => {
                let end = bytes.iter().position(|&b| b == 0)?;
                Some(FilterArg::Merge {
                    rule: bytes[..end].to_vec(),
                    contents: bytes[end + 1..].to_vec(),
                })
            }
            8 => Some(FilterArg::CvsEnvironment(bytes)),
            _ => None,
        }
    }
}

/// One item the walker yields, in rsync order.
// Events are handed on at once, never stored: boxing entries would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Event {
    Entry(Entry),
    Problem(Problem),
    Skipped(Skipped),
}

/// An entry with what is needed to read it later: the record (content not yet known for
/// regular files) and, for a regular file, where to open it.
#[derive(Debug)]
pub(crate) struct Entry {
    pub record: Record,
    pub file: Option<FileRef>,
    /// The regular file, opened by the walk ([`WalkOptions::open_files`]) when it took the
    /// metadata in `record`; whoever takes the entry must take or drop it soon, as a batch of
    /// entries holding fds would run out of them.
    pub opened: Option<OpenedFile>,
}

/// An entry waiting in a sorted directory listing.
struct Child {
    parent: Arc<OwnedFd>,
    leaf: CString,
    name: Vec<u8>,
    kind: Kind,
    /// `None` for a regular file (by its directory entry's type) not looked at yet: it is
    /// opened or stat'ed when the walk reaches it (see [`Walker::look_at_file`]).
    meta: Option<Meta>,
    /// The device of the source this entry came from, for `-x`.
    source_dev: u64,
    /// Directories of the same name from later sources, whose contents rsync merges into
    /// this one's.
    merged: Vec<Child>,
    /// Listed, but `lstat` failed (not because it is gone): why. Such an entry becomes a
    /// record without metadata ([`Record::is_unseen`]), so that a check reports it
    /// unverified instead of removed.
    unseen: Option<String>,
    /// What of this directory's entries is listed.
    scope: Scope,
    /// A symlink to follow (`-L`, `--copy-unsafe-links`): `kind` and `meta` are those of
    /// what it led to when listed; [`Walker::follow_entry`] resolves it when it is reached.
    followed: bool,
}

/// The rsync-ordered walk, as an iterator of [`Event`]s.
pub(crate) struct Walker {
    options: WalkOptions,
    /// What `--files-from` lists, if it is given; with `-R`, one for each directory the
    /// sources are relative to, in the order of the sources (a [`Scope`] says which).
    selections: Vec<Selection>,
    /// One listing per directory level being walked; the top is the deepest.
    stack: Vec<std::vec::IntoIter<Child>>,
    pending: VecDeque<Event>,
    /// The thread listing directories ahead, if [`WalkOptions::prefetch`] asks for it.
    prefetch: Option<Prefetch>,
    /// The directories the walk is inside, when symlinks are followed.
    trail: follow::Trail,
    /// `-R` with absolute sources: the names are shown from `/` ([`relative::rooted`]).
    rooted: bool,
    /// The per-directory merge files' rules where the walk is.
    dir_rules: DirRules,
}

impl Walker {
    /// Start a walk over rsync source arguments: `dir/` (or `.`, `dir/.`) lists the contents
    /// of `dir` under `./`; anything else lists the item itself under its last component.
    /// Several sources merge into one sorted top level, as in rsync: of two entries with the
    /// same name a directory beats a non-directory, two directories merge their contents
    /// (recursively), and otherwise the first source's entry wins.
    pub(crate) fn new(sources: &[Vec<u8>], options: WalkOptions) -> Walker {
        let selections = options
            .listing
            .files_from
            .iter()
            .map(|n| Selection::new(n))
            .collect();
        // Not with hooks: a test's fault injection comes at the walker's own calls.
        let prefetch = (options.prefetch && options.open_files == 0 && !options.hooks.is_set())
            .then(|| Prefetch::start(options.attrs))
            .flatten();
        let mut walker = Walker {
            options,
            selections,
            stack: Vec::new(),
            pending: VecDeque::new(),
            prefetch,
            trail: follow::Trail::default(),
            rooted: false,
            dir_rules: DirRules::new(),
        };
        // `-R`: the sources become names relative to one directory, as `--files-from`'s
        // (whose names may move that directory with a `/./`).
        let relative_base;
        let sources = match walker.relative_sources(sources) {
            Some(base) => {
                relative_base = base;
                &relative_base[..]
            }
            None => sources,
        };
        let mut top = Vec::new();
        let mut root: Option<Entry> = None;
        let mut first_contents = true;
        // Why a `dir/` source could not be opened, if one could not (and is not gone).
        let mut root_unseen = None;
        let recursive = walker.options.listing.recursive;
        for (of, src) in sources.iter().enumerate() {
            let added = top.len();
            walker
                .dir_rules
                .source(&transfer_base(src, !walker.selections.is_empty()));
            if !walker.selections.is_empty() {
                // `--files-from`: the source is the directory the names are relative to,
                // with or without a trailing slash.
                let mut dir = src.clone();
                dir.push(b'/');
                let found = walker.add_contents_source(
                    &dir,
                    (&mut root, &mut first_contents),
                    &mut top,
                    of.min(walker.selections.len() - 1),
                );
                if let Some(reason) = found {
                    root_unseen.get_or_insert(reason);
                }
            } else if is_contents_source(src) {
                if !recursive {
                    walker.skip_directory_source(src);
                    continue;
                }
                let found =
                    walker.add_contents_source(src, (&mut root, &mut first_contents), &mut top, 0);
                if let Some(reason) = found {
                    root_unseen.get_or_insert(reason);
                }
            } else {
                walker.add_item_source(src, &mut top);
            }
            let names = top[added..].iter().map(|c| c.name.as_slice());
            walker.dir_rules.tops(names);
        }
        // The walk below the top level finds each name's base by its top-level name.
        walker.dir_rules.walking();
        // What a source that could not be opened holds was not seen: the root says so, as
        // a directory that could not be read, so that a check finds it unverified, not
        // removed.
        match (&mut root, root_unseen) {
            (Some(entry), Some(reason)) => entry.record.content = Content::Unreadable(reason),
            (None, Some(reason)) => root = Some(unseen(b".".to_vec(), Kind::Dir, reason)),
            _ => {}
        }
        let top = merge_and_sort(top);
        walker.prefetch(&top);
        walker.stack.push(top.into_iter());
        if let Some(root) = root {
            // The root's own line comes before everything, including problems found so far.
            walker.pending.push_front(Event::Entry(root));
        }
        walker
    }

    /// Whether a thread lists directories ahead of this walk.
    #[cfg(test)]
    pub(crate) fn prefetching(&self) -> bool {
        self.prefetch.is_some()
    }

    /// A `dir/` source without `-r`: rsync prints `skipping directory .` for it and lists
    /// nothing of it (or says why it could not look at it).
    fn skip_directory_source(&mut self, src: &[u8]) {
        let st = c_path(src).and_then(|path| rustix::fs::stat(path.as_c_str()));
        match st {
            Ok(st) if Kind::from_stat(&st) == Kind::Dir => {
                self.pending.push_back(Event::Skipped(Skipped {
                    name: b".".to_vec(),
                    why: SkipReason::Directory,
                }))
            }
            Ok(_) => self.problem(src.to_vec(), "cannot open source: not a directory".into()),
            Err(e) => self.problem(src.to_vec(), format!("cannot stat source: {}", describe(e))),
        }
    }

    /// Returns why the source was not seen when it could not be opened, unless it is gone.
    /// The first such source gives the root its metadata (and decides whether it is
    /// printed at all, see [`Listing::prints_root`]).
    fn add_contents_source(
        &mut self,
        src: &[u8],
        (root, first): (&mut Option<Entry>, &mut bool),
        top: &mut Vec<Child>,
        of: usize,
    ) -> Option<String> {
        let opened = c_path(src).and_then(|path| {
            let fd = rustix::fs::open(
                path.as_c_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            let st = rustix::fs::fstat(&fd)?;
            Ok((Arc::new(fd), Meta::from_stat(&st)))
        });
        let (fd, meta) = match opened {
            Ok(x) => x,
            Err(e) => {
                let reason = format!("cannot open source: {}", describe(e));
                self.problem(src.to_vec(), reason.clone());
                return (e != Errno::NOENT).then_some(reason);
            }
        };
        let root_listed = self
            .selections
            .get(of)
            .is_none_or(|s| s.root && self.options.listing.implied_dirs);
        // The first source that lists the root gives it (`-R` has one for each base).
        if root_listed && std::mem::take(first) && self.options.listing.prints_root(&meta) {
            *root = Some(Entry {
                opened: None,
                record: Record {
                    name: b".".to_vec(),
                    kind: Kind::Dir,
                    meta: Some(meta),
                    link_target: None,
                    content: Content::NotAFile,
                    extra: Vec::new(),
                    attrs: self
                        .options
                        .attrs
                        .then(|| crate::attrs::read::of_fd(fd.as_fd(), Kind::Dir))
                        .flatten(),
                    snapshot: None,
                },
                file: None,
            });
        }
        self.note_root(&fd);
        if !self.selections.is_empty() {
            self.check_listed_names(&fd, of);
        }
        let scope = match self.selections.is_empty() {
            true => Scope::All,
            false => Scope::Chosen {
                inside: false,
                of: of as u16,
            },
        };
        match self.read_dir(&fd, b"", meta.dev, scope) {
            Ok((children, incomplete)) => {
                top.extend(children);
                if let (Some(reason), Some(Entry { record, .. })) = (incomplete, root.as_mut()) {
                    record.content = Content::Unreadable(reason);
                }
            }
            Err(e) => {
                let reason = describe(e);
                self.problem(src.to_vec(), format!("cannot read directory: {reason}"));
                if let Some(Entry { record, .. }) = root {
                    record.content = Content::Unreadable(reason);
                }
            }
        }
        None
    }

    fn add_item_source(&mut self, src: &[u8], top: &mut Vec<Child>) {
        let (parent, leaf) = match src.iter().rposition(|&c| c == b'/') {
            Some(i) => (&src[..=i], &src[i + 1..]),
            None => (&b"."[..], src),
        };
        let found = c_path(parent).and_then(|parent| {
            let fd = rustix::fs::open(
                parent.as_c_str(),
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )?;
            let leaf = c_path(leaf)?;
            let st = rustix::fs::statat(&fd, leaf.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)?;
            Ok((Arc::new(fd), leaf, st))
        });
        match found {
            Ok((parent, leaf, st)) => {
                self.note_root(&parent);
                let looked = (Kind::from_stat(&st), Meta::from_stat(&st));
                let Some(((kind, meta), followed)) =
                    self.as_listed(&parent, &leaf, leaf.as_bytes(), looked)
                else {
                    return;
                };
                let child = Child {
                    parent,
                    name: leaf.as_bytes().to_vec(),
                    leaf,
                    kind,
                    meta: Some(meta),
                    source_dev: meta.dev,
                    merged: Vec::new(),
                    unseen: None,
                    scope: Scope::All,
                    followed,
                };
                if child.kind == Kind::Dir && !self.options.listing.recursive {
                    // rsync says so while it builds the list, in the order of the sources.
                    self.pending.push_back(Event::Skipped(Skipped {
                        name: child.name,
                        why: SkipReason::Directory,
                    }));
                } else if !self.excluded(&child.name, child.kind == Kind::Dir) {
                    top.push(child);
                }
            }
            Err(e) => self.problem(src.to_vec(), format!("cannot stat source: {}", describe(e))),
        }
    }

    fn problem(&mut self, name: Vec<u8>, message: String) {
        self.pending
            .push_back(Event::Problem(Problem { name, message }));
    }

    /// Read a directory through an fd the walker holds, `lstat` every entry relative to it
    /// and drop what the filter excludes; the caller sorts. Also returns why the listing is
    /// incomplete, if it is: reading it failed part-way, or an entry of unknown type could not
    /// be looked at. The directory's record then carries that reason as its content, and
    /// what a baseline has below it that this listing lacks is unverified, not removed. An
    /// entry whose type the listing gave but that could not be looked at is listed as
    /// [`Child::unseen`].
    /// The children of a directory from its entries as they were read ([`read_entries`]):
    /// each named, chosen by `--files-from` and the filter, its metadata taken where it
    /// was looked at; a failed read (`error`) is reported and makes the listing incomplete.
    fn list_dir(
        &mut self,
        dir: &Arc<OwnedFd>,
        entries: Vec<RawEntry>,
        error: Option<Errno>,
        prefix: &[u8],
        source_dev: u64,
        scope: Scope,
    ) -> (Vec<Child>, Option<String>) {
        let depth = self.stack.len();
        let troubles = self
            .dir_rules
            .enter(&self.options.filter, dir, prefix, depth);
        for (name, why) in troubles {
            self.problem(name, why);
        }
        let mut children = Vec::new();
        let mut incomplete = None;
        for RawEntry {
            leaf,
            file_type,
            stat,
        } in entries
        {
            // Sized exactly: the scan's window holds a hundred thousand of these names.
            let mut name = Vec::with_capacity(prefix.len() + 1 + leaf.to_bytes().len());
            name.extend_from_slice(prefix);
            if !name.is_empty() {
                name.push(b'/');
            }
            name.extend_from_slice(leaf.to_bytes());
            // `--files-from`: only the names it lists and the directories above them.
            let wanted = match scope
                .of()
                .and_then(|of| Some((of, self.selections.get(of)?)))
            {
                Some((of, selection)) => {
                    let inside = matches!(scope, Scope::Chosen { inside: true, .. });
                    match selection.wants(&name, inside) {
                        Some(wanted) => Wanted { of, ..wanted },
                        None => continue,
                    }
                }
                None => Wanted::LISTED,
            };
            let (kind, meta) = match stat {
                // Looked at when the walk reaches it: sorting and filtering need only the type.
                None => {
                    if let Some(scope) = self.keeps(wanted, &name, false) {
                        children.push(Child {
                            parent: Arc::clone(dir),
                            leaf,
                            name,
                            kind: Kind::File,
                            meta: None,
                            source_dev,
                            merged: Vec::new(),
                            unseen: None,
                            scope,
                            followed: false,
                        });
                    }
                    continue;
                }
                Some(Ok(looked)) => looked,
                Some(Err(e)) => {
                    let kind = listed_kind(file_type);
                    self.cannot_stat(name.clone(), e);
                    match (e, kind) {
                        // Gone: it is not there to be seen.
                        (Errno::NOENT, _) => {}
                        (_, Some(kind)) => {
                            if let Some(scope) = self.keeps(wanted, &name, kind == Kind::Dir) {
                                children.push(Child {
                                    parent: Arc::clone(dir),
                                    leaf,
                                    name,
                                    kind,
                                    meta: None,
                                    source_dev,
                                    merged: Vec::new(),
                                    unseen: Some(format!("cannot stat: {}", describe(e))),
                                    scope,
                                    followed: false,
                                });
                            }
                        }
                        // Not even its type is known, so not where it sorts: the directory's
                        // listing as a whole is incomplete.
                        (_, None) => {
                            incomplete =
                                Some(format!("an entry could not be looked at: {}", describe(e)))
                        }
                    }
                    continue;
                }
            };
            let Some(((kind, meta), followed)) = self.as_listed(dir, &leaf, &name, (kind, meta))
            else {
                continue;
            };
            let Some(scope) = self.keeps(wanted, &name, kind == Kind::Dir) else {
                continue;
            };
            if (kind == Kind::File && self.options.skip.contains(&(meta.dev, meta.ino)))
                || (kind == Kind::Dir
                    && self.options.one_file_system.omits_mount_points()
                    && meta.dev != source_dev)
            {
                continue;
            }
            children.push(Child {
                parent: Arc::clone(dir),
                leaf,
                name,
                kind,
                meta: Some(meta),
                source_dev,
                merged: Vec::new(),
                unseen: None,
                scope,
                followed,
            });
        }
        if let Some(e) = error {
            let reason = format!("error while reading directory: {}", describe(e));
            self.problem(name_or_dot(prefix).to_vec(), reason.clone());
            incomplete = Some(reason);
        }
        (children, incomplete)
    }

    /// Does the filter exclude this name where the walk is (with the per-directory rules in
    /// force)?
    fn excluded(&self, name: &[u8], is_dir: bool) -> bool {
        let rules = &self.dir_rules;
        self.options
            .filter
            .is_excluded_in(name, is_dir, rules.current(), rules.base(name))
    }

    /// Whether a directory's entry is listed, given what `--files-from` wants of it and the
    /// filter, and if so what of its own entries is (its [`Scope`]). A listed name is
    /// filtered as any entry is; a directory above listed names is listed whatever the
    /// filter says, as rsync's implied directories are.
    fn keeps(&self, wanted: Wanted, name: &[u8], is_dir: bool) -> Option<Scope> {
        let Some(selection) = self.selections.get(wanted.of) else {
            return (!self.excluded(name, is_dir)).then_some(Scope::All);
        };
        let recursive = self.options.listing.recursive;
        let of = wanted.of as u16;
        if wanted.listed && !self.excluded(name, is_dir) {
            Some(match (recursive, selection.implied.contains(name)) {
                (true, false) => Scope::All,
                (inside, _) => Scope::Chosen { inside, of },
            })
        } else if wanted.implied && is_dir {
            Some(Scope::Implied { of })
        } else {
            None
        }
    }

    /// Turn a listed child into an entry; for a directory, also open and list it so that its
    /// contents come next. `None` when it is gone or left out after all.
    fn enter(&mut self, child: Child) -> Option<Entry> {
        let child = match self.options.listing.follow.follows_any() {
            true => self.follow_entry(child)?,
            false => child,
        };
        if let Some(reason) = child.unseen {
            return Some(unseen(child.name, child.kind, reason));
        }
        let mut opened = None;
        let mut content = if child.kind == Kind::File {
            Content::NotHashed
        } else {
            Content::NotAFile
        };
        let meta = match child.meta {
            Some(meta) => meta,
            None => {
                let (meta, fd, problem) = match self.look_at_file(&child)? {
                    Ok(looked) => looked,
                    Err(reason) => return Some(unseen(child.name, Kind::File, reason)),
                };
                opened = fd.map(|fd| OpenedFile::new(fd, &self.options.waiting));
                content = problem.map_or(Content::NotHashed, Content::ChangedDuringScan);
                meta
            }
        };
        let listing = &self.options.listing;
        if !listing.lists_kind(child.kind) {
            self.pending.push_back(Event::Skipped(Skipped {
                name: child.name,
                why: SkipReason::NonRegular,
            }));
            return None;
        }
        if child.kind == Kind::File && listing.size_excluded(meta.size) {
            self.options
                .left_out_by_size
                .fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let mut record = Record {
            name: child.name,
            kind: child.kind,
            meta: Some(meta),
            link_target: None,
            content,
            extra: Vec::new(),
            attrs: None,
            snapshot: None,
        };
        // Never opened: a symlink is not followed, a device or FIFO not touched.
        if self.options.attrs && !matches!(child.kind, Kind::File | Kind::Dir) {
            record.attrs = crate::attrs::read::at(&child.parent, &child.leaf, child.kind);
        }
        let mut file = None;
        match child.kind {
            Kind::File if record.content == Content::NotHashed => {
                file = Some(FileRef {
                    dir: child.parent,
                    leaf: child.leaf,
                })
            }
            Kind::Symlink => {
                match rustix::fs::readlinkat(&*child.parent, child.leaf.as_c_str(), Vec::new()) {
                    Ok(target) if self.leaves_out_link(target.as_bytes(), &record.name) => {
                        return None
                    }
                    Ok(target) => record.link_target = Some(target.into_bytes()),
                    Err(e) => {
                        let reason = describe(e);
                        self.problem(
                            record.name.clone(),
                            format!("cannot read symlink: {reason}"),
                        );
                        record.content = Content::Unreadable(reason);
                    }
                }
            }
            Kind::Dir => {
                let mut children = Vec::new();
                let merged = child.merged.len();
                let first = (
                    &child.parent,
                    &child.leaf,
                    meta,
                    child.source_dev,
                    child.scope,
                );
                // Each merged directory lists what its own source wants of it (`-R`).
                let dirs =
                    std::iter::once(first).chain(child.merged.iter().filter_map(|m| {
                        Some((&m.parent, &m.leaf, m.meta?, m.source_dev, m.scope))
                    }));
                let dirs: Vec<_> = dirs.enumerate().filter(|(_, d)| self.enters(d.4)).collect();
                for (i, (parent, leaf, seen, source_dev, scope)) in dirs {
                    match self.descend(parent, leaf, &record.name, &seen, source_dev, scope) {
                        Ok((listed, incomplete, attrs)) => {
                            // The first source's directory is the one the record describes.
                            if i == 0 {
                                record.attrs = attrs;
                            }
                            children.extend(listed);
                            if let Some(reason) = incomplete {
                                record.content = Content::Unreadable(reason);
                            }
                        }
                        Err(reason) => {
                            self.problem(
                                record.name.clone(),
                                format!("cannot read directory: {reason}"),
                            );
                            record.content = Content::Unreadable(reason);
                        }
                    }
                }
                let children = if merged > 0 {
                    merge_and_sort(children)
                } else {
                    sort(children)
                };
                self.prefetch(&children);
                self.stack.push(children.into_iter());
                self.note_entered(&meta);
                if matches!(child.scope, Scope::Implied { .. })
                    && !self.options.listing.implied_dirs
                {
                    // Walked through for the names below it, not listed itself.
                    return None;
                }
            }
            _ => {}
        }
        Some(Entry {
            record,
            file,
            opened,
        })
    }

    /// The metadata of a regular file listed without it, and the file opened for reading
    /// (see [`WalkOptions::open_files`]), or why it cannot be hashed: it is no longer a
    /// regular file, and it keeps the type it was listed and sorted with. `None` when it is
    /// gone or is a file the walk skips; `Some(Err(why))` when it could not be looked at (a
    /// problem says so).
    #[allow(clippy::type_complexity)]
    fn look_at_file(
        &mut self,
        child: &Child,
    ) -> Option<Result<(Meta, Option<OwnedFd>, Option<String>), String>> {
        let stat = || rustix::fs::statat(&*child.parent, &child.leaf, AtFlags::SYMLINK_NOFOLLOW);
        let looked = if self.options.waiting.load(Ordering::Relaxed) >= self.options.open_files {
            // Enough fds wait for their readers: this one opens the file itself.
            stat().map(|st| (st, None))
        } else {
            self.options.hooks.call(|h| h.before_open(&child.name));
            match open_regular(&child.parent, &child.leaf)
                .and_then(|fd| Ok((rustix::fs::fstat(&fd)?, Some(fd))))
            {
                Err(Errno::NOENT) => Err(Errno::NOENT),
                // Unreadable, or a symlink now (O_NOFOLLOW): the reader will say why it cannot
                // read it; its metadata is still worth recording.
                Err(_) => stat().map(|st| (st, None)),
                ok => ok,
            }
        };
        let (st, fd) = match looked {
            Ok(x) => x,
            Err(e) => {
                self.cannot_stat(child.name.clone(), e);
                return (e != Errno::NOENT).then(|| Err(format!("cannot stat: {}", describe(e))));
            }
        };
        let meta = Meta::from_stat(&st);
        if self.options.skip.contains(&(meta.dev, meta.ino)) {
            return None;
        }
        if Kind::from_stat(&st) != Kind::File {
            return Some(Ok((
                meta,
                None,
                Some("replaced by a non-regular file".into()),
            )));
        }
        Some(Ok((meta, fd, None)))
    }

    /// An entry listed a moment ago that cannot be looked at now.
    fn cannot_stat(&mut self, name: Vec<u8>, e: Errno) {
        let message = match e {
            Errno::NOENT => "vanished during the scan".to_string(),
            e => format!("cannot stat: {}", describe(e)),
        };
        self.problem(name, message);
    }

    /// Open one directory of a listed entry, check it is the one the listing saw, and list it;
    /// with its attributes, read from the descriptor it is listed through.
    #[allow(clippy::type_complexity)]
    fn descend(
        &mut self,
        parent: &Arc<OwnedFd>,
        leaf: &CString,
        name: &[u8],
        seen: &Meta,
        source_dev: u64,
        scope: Scope,
    ) -> Result<(Vec<Child>, Option<String>, Option<Attrs>), String> {
        if self.options.one_file_system.stays() && seen.dev != source_dev {
            // Not entered, so not opened: its xattrs by name, its flags unread.
            let attrs = self
                .options
                .attrs
                .then(|| crate::attrs::read::at(parent, leaf, Kind::Dir))
                .flatten();
            return Ok((Vec::new(), None, attrs));
        }
        self.options.hooks.call(|h| h.before_descend(name));
        // Opened and read ahead by the prefetch thread, with the calls made below.
        if let Some(opened) = self.prefetch.as_ref().and_then(|p| p.take(parent, leaf)) {
            let opened = opened?;
            let (children, incomplete) = self.list_dir(
                &opened.fd,
                opened.entries,
                opened.error,
                name,
                source_dev,
                scope,
            );
            return Ok((children, incomplete, opened.attrs));
        }
        let (fd, st) = open_dir(parent, leaf, seen)?;
        let attrs = self
            .options
            .attrs
            .then(|| crate::attrs::read::of_fd(fd.as_fd(), Kind::Dir))
            .flatten();
        if st.dev != source_dev && self.skips_fs(&fd) {
            return Ok((Vec::new(), None, attrs));
        }
        let (children, incomplete) = self
            .read_dir(&Arc::new(fd), name, source_dev, scope)
            .map_err(describe)?;
        Ok((children, incomplete, attrs))
    }

    /// Read the open directory `dir` ([`read_entries`]) and list it ([`Walker::list_dir`]).
    fn read_dir(
        &mut self,
        dir: &Arc<OwnedFd>,
        prefix: &[u8],
        source_dev: u64,
        scope: Scope,
    ) -> Result<(Vec<Child>, Option<String>), Errno> {
        let hooks = &self.options.hooks;
        let stat_files = self.options.open_files == 0;
        let (entries, error) = read_entries(dir, stat_files, |read| {
            hooks.listing_error(name_or_dot(prefix), read)
        })?;
        Ok(self.list_dir(dir, entries, error, prefix, source_dev, scope))
    }

    /// Whether the walk enters a listed directory of this scope: without -r only
    /// `--files-from` does, for the names it lists.
    fn enters(&self, scope: Scope) -> bool {
        self.options.listing.recursive || scope != Scope::All
    }

    /// Hand the directories among `children` that the walk will enter to the prefetch
    /// thread, if there is one: those of the source's file system, not merged with others.
    /// What it guessed below the directories they were listed in and is not among them is
    /// dropped.
    fn prefetch(&self, children: &[Child]) {
        let Some(prefetch) = &self.prefetch else {
            return;
        };
        // One directory, or the few a merged `-R` name came from.
        let mut listed: Vec<usize> = Vec::new();
        for parent in children.iter().map(|c| Arc::as_ptr(&c.parent) as usize) {
            if !listed.contains(&parent) {
                listed.push(parent);
            }
        }
        let requests = children
            .iter()
            .filter(|c| c.kind == Kind::Dir && c.unseen.is_none() && c.merged.is_empty())
            // A followed symlink is resolved when it is reached (`follow`).
            .filter(|c| !c.followed && self.enters(c.scope))
            .filter_map(|c| {
                let seen = c.meta.filter(|m| m.dev == c.source_dev)?;
                Some(Request {
                    parent: Arc::clone(&c.parent),
                    leaf: c.leaf.clone(),
                    seen,
                })
            })
            .collect();
        prefetch.submit(&listed, requests);
    }
}

/// A directory's name for messages: the root's is `.`.
fn name_or_dot(name: &[u8]) -> &[u8] {
    if name.is_empty() {
        b"."
    } else {
        name
    }
}

impl Walker {
    /// Is the filesystem of this directory one that [`WalkOptions::skip_fs`] leaves out?
    #[allow(clippy::unnecessary_cast)] // f_type's type differs between architectures
    fn skips_fs(&self, dir: &OwnedFd) -> bool {
        !self.options.skip_fs.is_empty()
            && rustix::fs::fstatfs(dir)
                .is_ok_and(|st| self.options.skip_fs.contains(&(st.f_type as i64)))
    }
}

impl Iterator for Walker {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let event = self.next_event()?;
        Some(match self.rooted {
            true => relative::rooted(event),
            false => event,
        })
    }
}

impl Walker {
    fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            let child = match self.stack.last_mut()?.next() {
                Some(child) => child,
                None => {
                    self.stack.pop();
                    continue;
                }
            };
            // Problems met while entering come right after the entry they belong to.
            if let Some(entry) = self.enter(child) {
                if self.pending.is_empty() {
                    return Some(Event::Entry(entry));
                }
                self.pending.push_front(Event::Entry(entry));
            }
        }
    }
}

/// The names of a `--files-from` file as rsync reads them: lines ending at LF or CR (at NUL
/// with `--from0`), empty ones and those starting with `#` or `;` skipped.
pub fn files_from_names(contents: &[u8], from0: bool) -> Vec<Vec<u8>> {
    let is_end = |b: &u8| {
        if from0 {
            *b == 0
        } else {
            *b == b'\n' || *b == b'\r'
        }
    };
    contents
        .split(is_end)
        .filter(|line| !matches!(line.first(), None | Some(b'#' | b';')))
        .map(<[u8]>::to_vec)
        .collect()
}

/// The names `--files-from` lists, and the directories above them (rsync's implied
/// directories, listed with them as `-R` does).
struct Selection {
    listed: HashSet<Vec<u8>>,
    implied: HashSet<Vec<u8>>,
    /// Directories listed as `dir/` or `dir/.`: their entries are listed too.
    contents: HashSet<Vec<u8>>,
    /// A name starts with `./` or is `.`: rsync sends the source directory itself, and
    /// prints its `./` line.
    root: bool,
    /// The names as given, in order, for checking that each is there.
    names: Vec<Vec<u8>>,
    /// Names with a `/./` inside, which rsync lists under the part after it: not emulated.
    anchored: Vec<Vec<u8>>,
}

/// Which entries of a directory the walk lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scope {
    /// All of them (that the filter keeps).
    All,
    /// Those `--files-from` wants: names it lists, directories above them, and, `inside` a
    /// directory it lists when `-r` is given, everything; `of` is the selection's index
    /// (`-R` has one for each directory its sources are relative to).
    Chosen { inside: bool, of: u16 },
    /// As `Chosen { inside: false }`, for a directory that is there only because names
    /// below it are listed (rsync's implied directory), which `--no-implied-dirs` does not
    /// list.
    Implied { of: u16 },
}

impl Scope {
    /// The selection this scope lists by, if it lists by one.
    fn of(self) -> Option<usize> {
        match self {
            Scope::All => None,
            Scope::Chosen { of, .. } | Scope::Implied { of } => Some(usize::from(of)),
        }
    }
}

/// What `--files-from` wants of an entry.
#[derive(Clone, Copy)]
struct Wanted {
    /// It is listed (or is in a directory listed as `dir/`).
    listed: bool,
    /// It is a directory above a listed name.
    implied: bool,
    /// The selection that wants it (see [`Scope::Chosen`]); past the last for a walk
    /// without `--files-from`.
    of: usize,
}

impl Wanted {
    const LISTED: Wanted = Wanted {
        listed: true,
        implied: false,
        of: usize::MAX,
    };
}

impl Selection {
    fn new(names: &[Vec<u8>]) -> Selection {
        let mut selection = Selection {
            listed: HashSet::new(),
            implied: HashSet::new(),
            contents: HashSet::new(),
            root: false,
            names: Vec::new(),
            anchored: Vec::new(),
        };
        for raw in names {
            let trimmed = trim_leading_slashes(raw);
            if trimmed == b"." || trimmed.starts_with(b"./") {
                selection.root = true;
            }
            let body = trimmed.strip_prefix(b"./").unwrap_or(trimmed);
            if body.windows(3).any(|w| w == b"/./") {
                selection.anchored.push(raw.clone());
                continue;
            }
            // `dir/` and `dir/.`: the directory and what is in it.
            let contents = trimmed == b"." || trimmed.ends_with(b"/") || trimmed.ends_with(b"/.");
            let Some(name) = clean_listed_name(body) else {
                if contents {
                    selection.contents.insert(Vec::new());
                }
                continue;
            };
            let mut end = 0;
            while let Some(i) = name[end..].iter().position(|&b| b == b'/') {
                selection.implied.insert(name[..end + i].to_vec());
                end += i + 1;
            }
            if contents {
                selection.contents.insert(name.clone());
            }
            selection.listed.insert(name.clone());
            selection.names.push(name);
        }
        selection
    }

    /// What is wanted of `name`, an entry of a directory listed with `-r` if `inside`;
    /// `None` when nothing is.
    fn wants(&self, name: &[u8], inside: bool) -> Option<Wanted> {
        let parent = name
            .iter()
            .rposition(|&b| b == b'/')
            .map_or(&b""[..], |i| &name[..i]);
        let wanted = Wanted {
            listed: inside || self.listed.contains(name) || self.contents.contains(parent),
            implied: self.implied.contains(name),
            of: 0,
        };
        (wanted.listed || wanted.implied).then_some(wanted)
    }
}

fn trim_leading_slashes(name: &[u8]) -> &[u8] {
    let start = name.iter().position(|&b| b != b'/').unwrap_or(name.len());
    &name[start..]
}

/// A `--files-from` name as rsync takes it: relative to the source directory whatever
/// its leading slashes, with `.` components and repeated slashes dropped; `None` for
/// the source directory itself (`.`, `/`), which is listed anyway.
fn clean_listed_name(name: &[u8]) -> Option<Vec<u8>> {
    // rsync's sanitize_path: a name never climbs out of the source directory.
    let parts = crate::rsync::path::components(name, false);
    (!parts.is_empty()).then(|| parts.join(&b'/'))
}

impl Walker {
    /// `--files-from`: say which listed names are not there, as rsync's sender does before
    /// it sends anything, and which cannot be reached the way the walk goes (through a
    /// symlinked directory, which rsync follows and fimsum does not emulate).
    fn check_listed_names(&mut self, base: &OwnedFd, of: usize) {
        let (names, anchored) = match self.selections.get(of) {
            Some(selection) => (selection.names.clone(), selection.anchored.clone()),
            None => return,
        };
        for name in anchored {
            self.problem(
                name,
                "a `/./` inside a --files-from name is emulated only when all names have \
                 the same one: it is left out"
                    .into(),
            );
        }
        for name in names {
            if let Err(message) = reach(base, &name) {
                self.problem(name, message);
            }
        }
    }
}

/// Look up `name` below `base` one component at a time without following a symlink.
fn reach(base: &OwnedFd, name: &[u8]) -> Result<(), String> {
    let parts: Vec<&[u8]> = name.split(|&b| b == b'/').collect();
    let (last, dirs) = parts.split_last().ok_or("empty name")?;
    let mut held: Option<OwnedFd> = None;
    for part in dirs {
        let leaf = c_path(part).map_err(describe)?;
        let dir = held.as_ref().unwrap_or(base);
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(dir, leaf.as_c_str(), flags, Mode::empty()) {
            Ok(fd) => held = Some(fd),
            Err(Errno::LOOP | Errno::NOTDIR) => {
                return Err(
                    "a directory above it is a symlink (rsync follows it; fimsum does not)".into(),
                )
            }
            Err(e) => return Err(format!("cannot stat: {}", describe(e))),
        }
    }
    let leaf = c_path(last).map_err(describe)?;
    let dir = held.as_ref().unwrap_or(base);
    rustix::fs::statat(dir, leaf.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)
        .map(drop)
        .map_err(|e| format!("cannot stat: {}", describe(e)))
}

/// The type a directory listing gives an entry (`d_type`), if it gives one.
fn listed_kind(t: FileType) -> Option<Kind> {
    match t {
        FileType::RegularFile => Some(Kind::File),
        FileType::Directory => Some(Kind::Dir),
        FileType::Symlink => Some(Kind::Symlink),
        FileType::Fifo => Some(Kind::Fifo),
        FileType::Socket => Some(Kind::Socket),
        FileType::CharacterDevice => Some(Kind::CharDevice),
        FileType::BlockDevice => Some(Kind::BlockDevice),
        _ => None,
    }
}

/// The entry of a name that was listed but could not be looked at (see [`Record::is_unseen`]).
fn unseen(name: Vec<u8>, kind: Kind, reason: String) -> Entry {
    Entry {
        record: Record {
            name,
            kind,
            meta: None,
            link_target: None,
            content: Content::Unreadable(reason),
            extra: Vec::new(),
            attrs: None,
            snapshot: None,
        },
        file: None,
        opened: None,
    }
}

/// Sort the entries of one directory. They differ only in their last component, so that is
/// all that is compared: the directory's path, which they share, would be scanned again in
/// every comparison.
fn sort(mut children: Vec<Child>) -> Vec<Child> {
    children.sort_by(|a, b| {
        let (a_leaf, b_leaf) = (a.leaf.to_bytes(), b.leaf.to_bytes());
        cmp_entries(a_leaf, a.kind == Kind::Dir, b_leaf, b.kind == Kind::Dir)
    });
    children
}

/// Resolve entries of the same name coming from several sources the way rsync does (a
/// directory beats a non-directory, directories merge, else the first wins), then sort.
fn merge_and_sort(children: Vec<Child>) -> Vec<Child> {
    let mut out: Vec<Child> = Vec::with_capacity(children.len());
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    for child in children {
        match index.get(&child.name) {
            None => {
                index.insert(child.name.clone(), out.len());
                out.push(child);
            }
            Some(&i) => {
                let kept = &mut out[i];
                match (kept.kind == Kind::Dir, child.kind == Kind::Dir) {
                    (true, true) => kept.merged.push(child),
                    (false, true) => *kept = child,
                    _ => {}
                }
            }
        }
    }
    sort(out)
}

/// `src/`, `src//`, `.` and `src/.` send a directory's contents rather than the directory;
/// so do `..` and `src/..`, as in rsync (whose names never hold a `..`).
fn is_contents_source(src: &[u8]) -> bool {
    src.ends_with(b"/")
        || src == b"."
        || src.ends_with(b"/.")
        || src == b".."
        || src.ends_with(b"/..")
}

/// rsync's `curr_dir` for a source: the current directory joined with the source's
/// directory (a `dir/` source's own, or any with `--files-from`; an item's parent), the
/// path its absolute rules and per-directory anchors are matched against.
fn transfer_base(src: &[u8], files_from: bool) -> Vec<u8> {
    let dir = if files_from || is_contents_source(src) {
        src
    } else {
        src.iter()
            .rposition(|&b| b == b'/')
            .map_or(&b""[..], |i| &src[..i])
    };
    if dir.first() == Some(&b'/') {
        return dir.to_vec();
    }
    let mut base = std::env::current_dir()
        .map(|d| d.into_os_string().into_encoded_bytes())
        .unwrap_or_default();
    base.push(b'/');
    base.extend_from_slice(dir);
    base
}

fn c_path(bytes: &[u8]) -> Result<CString, Errno> {
    CString::new(bytes).map_err(|_| Errno::INVAL)
}
