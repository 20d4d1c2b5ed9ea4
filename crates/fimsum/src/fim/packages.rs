//! Package digests as known-good: the MD5 sums dpkg keeps for every installed file.
//!
//! On Debian-like hosts dpkg records, for each installed package, the MD5 of every file it
//! shipped. [`PackageDb::load`] reads that record offline (no `dpkg` process is run), so
//! that a scan can tell "this file changed because its package was upgraded" (its new MD5
//! is its package's digest) from any other change, and [`verify`] can check every package
//! file like `debsums` does, plus what `debsums` cannot see (type, owner, mode).
//!
//! Where the digests come from, all read under `root` (`/`, or a mounted image):
//! - `var/lib/dpkg/status`: which packages are installed, and the ` Conffiles:` field,
//!   the only place conffile digests are kept (they are not in `.md5sums`);
//! - `var/lib/dpkg/info/PKG.md5sums` or `PKG:ARCH.md5sums` (Multi-Arch: same packages):
//!   `<32 hex>  <path without leading slash>` lines; paths may contain spaces;
//! - `var/lib/dpkg/diversions`: triples of lines "original, diverted-to, package or `:`";
//! - `var/lib/dpkg/statoverride`: `owner group mode path` lines, the only modes and owners
//!   dpkg's database holds (the others live only in the `.deb`);
//! - `etc/dpkg/dpkg.cfg.d/*` and `etc/dpkg/dpkg.cfg`: `path-exclude`/`path-include`
//!   filters, so that files dpkg was told not to install (docs in container images) are
//!   not reported missing.
//!
//! Error policy: the database as a whole must be readable, so failing to read the status
//! file or to list the info directory is an [`Error::NoInput`] naming the path. Everything
//! smaller is skipped with a warning the caller can print ([`PackageDb::warnings`]), each
//! naming the file and, for a malformed line, the line number (`path:line: reason`): a
//! malformed line, an unreadable `.md5sums` file, a `.md5sums` file of a package the status
//! file does not know. A corrupt database thus loses only the entries it cannot vouch for,
//! and never panics; at most `MAX_WARNINGS_PER_FILE` line warnings are kept per file.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::ffi::{CString, OsStr};
use std::fmt;
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::{Error, Result};
use crate::exit::Bits;
use crate::hex;
use crate::record::{Kind, Meta};
use crate::scan::read::{describe, FileRef};
use crate::scan::worker_threads;

/// dpkg's administrative directory, relative to the root.
const ADMIN_DIR: &str = "var/lib/dpkg";

/// How many malformed-line warnings are kept per file; the rest are counted in one line,
/// so that a file of garbage yields a readable report rather than thousands of lines.
pub(crate) const MAX_WARNINGS_PER_FILE: usize = 5;

/// One file as an installed package shipped it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageFile {
    /// Where the file is, as an absolute path relative to the root (`b"/usr/bin/ls"`):
    /// diversions applied and merged-/usr aliases resolved (see [`PackageDb`]).
    pub path: Vec<u8>,
    /// The path dpkg's database names, when it differs from `path` (`b"/bin/ls"` on a
    /// merged-/usr host, or the original path of a diverted file).
    pub listed_as: Option<Vec<u8>>,
    /// The owning package as dpkg names its info files: `coreutils`, `libc6:amd64`.
    pub package: Arc<str>,
    /// The MD5 of the file as shipped.
    pub md5: [u8; 16],
    /// A conffile: the admin may legitimately have edited it, so callers may give a
    /// mismatch a lower severity (`debsums` skips these without `-a`).
    pub conffile: bool,
}

/// An owner, group and mode set with `dpkg-statoverride`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatOverride {
    /// `None` when the user name could not be resolved in the root's `etc/passwd`.
    pub uid: Option<u32>,
    /// `None` when the group name could not be resolved in the root's `etc/group`.
    pub gid: Option<u32>,
    /// Permission bits, including set-id and sticky (`mode & 0o7777`).
    pub mode: u32,
}

/// Every file of every installed package, looked up by path.
///
/// Decisions, each because of how dpkg really behaves:
/// - A package counts when its status is `unpacked`, `half-configured`,
///   `triggers-awaited`, `triggers-pending` or `installed` with the `ok` flag, whatever the
///   selection (`hold` and `deinstall` packages still have their files on disk); other
///   states' `.md5sums` are skipped silently. A `.md5sums` file of a package the status
///   file does not mention at all is skipped with a warning: the database is inconsistent.
/// - Conffiles marked `obsolete` (no longer shipped) or `remove-on-upgrade` are left out,
///   as are conffiles whose digest is still `newconffile` (never configured). When a path
///   is both in a package's `.md5sums` and its conffiles, the conffile digest wins, as in
///   `debsums`.
/// - Diversions: a file that package P ships at `orig` is on disk at the diverted-to path
///   unless P is the diverting package; such entries get `path` = diverted-to and
///   `listed_as` = `orig` (so the package digest follows the file, as `debsums` does).
/// - Merged /usr: a top-level directory of the root that is a symlink to another directory
///   inside the root (`/bin -> usr/bin`) is an alias; `path` uses the target and
///   [`get`](PackageDb::get) resolves aliases in the path it is given, so `/bin/ls` and
///   `/usr/bin/ls` find the same entry. Only top-level aliases are resolved.
/// - A path may be claimed by several packages (Multi-Arch: same copies, files taken over
///   with Replaces); all claims are kept, `get_all` returns them.
///   The `.list` files (which say which package owns a path now) are not read: [`verify`]
///   passes a file whose digest is any claim's, which is what `debsums` ends up accepting
///   (it calls such files REPLACED) at a fraction of the cost.
#[derive(Debug, Default)]
pub struct PackageDb {
    /// Sorted by path, then package.
    files: Vec<PackageFile>,
    /// Top-level aliases, `(b"/bin", b"/usr/bin")`.
    aliases: Vec<(Vec<u8>, Vec<u8>)>,
    /// Keyed by canonical path.
    overrides: HashMap<Vec<u8>, StatOverride>,
    /// dpkg's path filters in order; the last one matching a path decides.
    filters: Vec<PathFilter>,
    packages: usize,
    warnings: Vec<String>,
}

impl PackageDb {
    /// Reads the dpkg database under `root` (`/` normally, or a mounted image).
    pub fn load(root: &Path) -> Result<PackageDb> {
        let admin = root.join(ADMIN_DIR);
        let mut warnings = Vec::new();

        let status_path = admin.join("status");
        let status = read_database_file(&status_path).map_err(|source| Error::NoInput {
            path: status_path.clone(),
            source,
        })?;
        let status = parse_status(&status, &status_path, &mut warnings);

        let info_dir = admin.join("info");
        let stems = list_md5sums(&info_dir)?;

        // Entries as dpkg lists them, before diversions and aliases.
        let mut files: Vec<PackageFile> = Vec::new();
        let mut orphans = Vec::new();
        let mut with_md5sums = HashSet::new();
        for stem in &stems {
            let file = info_dir.join(format!("{stem}.md5sums"));
            let Some(&index) = status.by_name.get(stem.as_str()) else {
                if !status.known.contains(stem.as_str()) {
                    orphans.push(stem.as_str());
                }
                continue;
            };
            let Some(package) = status.installed.get(index) else {
                continue;
            };
            if !with_md5sums.insert(index) {
                // `pkg.md5sums` and `pkg:arch.md5sums` both present: the first wins.
                warnings.push(format!(
                    "{}: second md5sums file for package {}, skipped",
                    file.display(),
                    package.name
                ));
                continue;
            }
            let text = match read_database_file(&file) {
                Ok(text) => text,
                Err(err) => {
                    warnings.push(format!("{}: {}", file.display(), err));
                    continue;
                }
            };
            let conffiles: HashSet<&[u8]> = package
                .conffiles
                .iter()
                .map(|c| c.path.as_slice())
                .collect();
            let mut lines = LineWarnings::new(&file);
            for (number, line) in numbered_lines(&text) {
                match parse_md5sums_line(line) {
                    Ok(None) => {}
                    Ok(Some(Sum { path, md5 })) => {
                        if !conffiles.contains(path.as_slice()) {
                            files.push(PackageFile {
                                path,
                                listed_as: None,
                                package: package.name.clone(),
                                md5,
                                conffile: false,
                            });
                        }
                    }
                    Err(reason) => lines.skip(number, &reason),
                }
            }
            lines.finish(&mut warnings);
        }
        if !orphans.is_empty() {
            warnings.push(format!(
                "{}: {} md5sums file(s) of packages not in the status file skipped: {}",
                info_dir.display(),
                orphans.len(),
                summarize(&orphans)
            ));
        }
        for package in &status.installed {
            for conffile in &package.conffiles {
                files.push(PackageFile {
                    path: conffile.path.clone(),
                    listed_as: None,
                    package: package.name.clone(),
                    md5: conffile.md5,
                    conffile: true,
                });
            }
        }

        let aliases = find_aliases(root, files.iter().map(|f| f.path.as_slice()));
        let canon = |path: &[u8]| canonical(&aliases, path).into_owned();
        let diversions: HashMap<Vec<u8>, Diversion> =
            read_diversions(&admin.join("diversions"), &mut warnings)
                .into_iter()
                .map(|(from, d)| (canon(&from), d))
                .collect();
        for file in &mut files {
            let mut path = canonical(&aliases, &file.path);
            if let Some(d) = diversions.get(&*path) {
                if d.by.as_deref() != Some(base_name(&file.package)) {
                    path = Cow::Owned(canon(&d.to));
                }
            }
            if let Cow::Owned(path) = path {
                if path != file.path {
                    file.listed_as = Some(std::mem::replace(&mut file.path, path));
                }
            }
        }
        // Conffiles sort first so that dedup keeps them over a stray .md5sums duplicate.
        files.sort_unstable_by(|a, b| {
            (&a.path, &a.package, !a.conffile).cmp(&(&b.path, &b.package, !b.conffile))
        });
        files.dedup_by(|b, a| a.path == b.path && a.package == b.package);

        let users = read_ids(&root.join("etc/passwd"));
        let groups = read_ids(&root.join("etc/group"));
        let overrides =
            read_statoverride(&admin.join("statoverride"), &users, &groups, &mut warnings)
                .into_iter()
                .map(|(path, o)| (canon(&path), o))
                .collect();
        let filters = read_filters(root, &mut warnings);

        Ok(PackageDb {
            files,
            aliases,
            overrides,
            filters,
            packages: status.installed.len(),
            warnings,
        })
    }

    /// The first package claim on `path` (absolute, relative to the root: `b"/usr/bin/ls"`).
    pub fn get(&self, path: &[u8]) -> Option<&PackageFile> {
        self.get_all(path).first()
    }

    /// Every package claim on `path`, sorted by package name.
    pub(crate) fn get_all(&self, path: &[u8]) -> &[PackageFile] {
        let path = canonical(&self.aliases, path);
        let start = self.files.partition_point(|f| f.path.as_slice() < &*path);
        let end = start
            + self.files[start..]
                .iter()
                .take_while(|f| f.path.as_slice() == &*path)
                .count();
        &self.files[start..end]
    }

    /// The claim on `path` whose digest is `md5`, if any: the file is exactly as a package
    /// shipped it (for a scan: a change that is an expected package update).
    pub fn matching(&self, path: &[u8], md5: &[u8; 16]) -> Option<&PackageFile> {
        self.get_all(path).iter().find(|f| &f.md5 == md5)
    }

    /// All package files, sorted by path then package.
    pub fn iter(&self) -> impl Iterator<Item = &PackageFile> {
        self.files.iter()
    }

    /// The number of (path, package) entries.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the database names no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The number of installed packages found in the status file.
    pub(crate) fn package_count(&self) -> usize {
        self.packages
    }

    /// What was skipped while loading, one line each, `path[:line]: reason`.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The `dpkg-statoverride` entry for `path`, if any.
    pub fn stat_override(&self, path: &[u8]) -> Option<&StatOverride> {
        self.overrides.get(&*canonical(&self.aliases, path))
    }

    /// True when dpkg's `path-exclude` filters told it not to install `path`, as the
    /// package names it ([`PackageFile::listed_as`] if set, else [`PackageFile::path`]).
    pub fn excluded_by_dpkg(&self, path: &[u8]) -> bool {
        excluded(&self.filters, path)
    }
}

/// One thing wrong with a package file on disk.
///
/// dpkg's database holds no modes or owners except `dpkg-statoverride` entries, so beyond
/// the digest the checks are what holds for every Debian package file:
/// - type: a package file is a regular file; `debsums` follows a symlink put in its place
///   and passes it if the target's content matches, this reports [`NotRegular`];
/// - when a statoverride exists for the path, owner, group and mode must equal it
///   ([`OverrideMismatch`]); otherwise:
/// - owner: dpkg installs every file as root unless overridden ([`NotRootOwned`]); the
///   group is not checked, since packages ship set-gid files with other groups;
/// - mode: no package ships a world-writable file ([`WorldWritable`]); set-uid and set-gid
///   files are listed for review ([`SetId`]) because the database cannot say which are
///   legitimate (`passwd` is, a set-uid `find` is a backdoor), so they set no exit bit.
///
/// [`NotRegular`]: Deviation::NotRegular
/// [`OverrideMismatch`]: Deviation::OverrideMismatch
/// [`NotRootOwned`]: Deviation::NotRootOwned
/// [`WorldWritable`]: Deviation::WorldWritable
/// [`SetId`]: Deviation::SetId
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deviation {
    /// Nothing at the path (and dpkg was not told to exclude it).
    Missing,
    /// Something other than a regular file at the path.
    NotRegular {
        /// What is there.
        kind: Kind,
    },
    /// Reported only when no package claiming the path has the file's digest.
    Md5Mismatch {
        /// The digest the package lists.
        expected: [u8; 16],
        /// The file's digest.
        actual: [u8; 16],
    },
    /// The file or a directory on its way could not be examined or read.
    Unreadable {
        /// The system's reason.
        reason: String,
    },
    /// The file is writable by anyone.
    WorldWritable {
        /// Its mode bits.
        mode: u32,
    },
    /// The file is not owned by root.
    NotRootOwned {
        /// Its owner.
        uid: u32,
    },
    /// A set-uid or set-gid file without a stat override, listed for review (it sets no exit bit).
    SetId {
        /// Its mode bits.
        mode: u32,
    },
    /// The owner, group or mode differ from what `dpkg-statoverride` says.
    OverrideMismatch {
        /// What the override says.
        expected: StatOverride,
        /// The file's owner.
        uid: u32,
        /// The file's group.
        gid: u32,
        /// The file's mode bits.
        mode: u32,
    },
}

impl Deviation {
    /// One word for the kind of problem, as reports show it (`problem` in JSON).
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Deviation::Missing => "missing",
            Deviation::NotRegular { .. } => "type",
            Deviation::Md5Mismatch { .. } => "changed",
            Deviation::Unreadable { .. } => "unreadable",
            Deviation::WorldWritable { .. } => "mode",
            Deviation::NotRootOwned { .. } => "owner",
            Deviation::SetId { .. } => "setid",
            Deviation::OverrideMismatch { .. } => "override",
        }
    }

    /// The bits of fimsum's exit code this problem sets.
    pub fn exit_bits(&self) -> Bits {
        match self {
            Deviation::Missing => Bits::REMOVED,
            Deviation::Unreadable { .. } => Bits::INCOMPLETE,
            // For review only: see the type's documentation.
            Deviation::SetId { .. } => Bits::NONE,
            _ => Bits::CHANGED,
        }
    }
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Deviation::Missing => write!(f, "missing"),
            Deviation::NotRegular { kind } => {
                write!(f, "a {} instead of a regular file", kind.name())
            }
            Deviation::Md5Mismatch { expected, actual } => {
                write!(
                    f,
                    "md5 expected {}, found {}",
                    hex::encode(expected),
                    hex::encode(actual)
                )
            }
            Deviation::Unreadable { reason } => write!(f, "{reason}"),
            Deviation::WorldWritable { mode } => write!(f, "world-writable, mode {mode:04o}"),
            Deviation::NotRootOwned { uid } => write!(f, "owned by uid {uid}, not root"),
            Deviation::SetId { mode } => write!(f, "set-id, mode {mode:04o}"),
            Deviation::OverrideMismatch {
                expected,
                uid,
                gid,
                mode,
            } => {
                let id = |v: Option<u32>| v.map_or_else(|| "?".to_string(), |v| v.to_string());
                write!(
                    f,
                    "{uid}:{gid} mode {mode:04o}, statoverride says {}:{} mode {:04o}",
                    id(expected.uid),
                    id(expected.gid),
                    expected.mode
                )
            }
        }
    }
}

/// One package file and how it deviates from what its package ships.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviatingFile<'a> {
    /// The claim the problem is reported against: for a digest mismatch, each claim on the
    /// path; for everything else, the path's first claim.
    pub file: &'a PackageFile,
    /// How the file deviates.
    pub deviation: Deviation,
}

/// The outcome of [`verify`].
#[derive(Debug, Default)]
pub struct Verification<'a> {
    /// Sorted by path.
    pub findings: Vec<DeviatingFile<'a>>,
    /// Distinct paths examined.
    pub checked: usize,
    /// Missing paths not reported because dpkg's `path-exclude` filters match them.
    pub excluded: usize,
}

impl Verification<'_> {
    /// fimsum's exit code for this outcome: the union of the findings' bits.
    pub fn exit_bits(&self) -> Bits {
        self.findings
            .iter()
            .fold(Bits::NONE, |bits, f| bits | f.deviation.exit_bits())
    }

    /// How many findings have this `Deviation::label`.
    pub fn count(&self, label: &str) -> usize {
        self.findings
            .iter()
            .filter(|f| f.deviation.label() == label)
            .count()
    }
}

/// How many paths a thread takes at a time: consecutive paths mostly share a directory,
/// which the thread then opens once.
const BATCH: usize = 64;

/// Checks every package file on disk under `root`, offline, like `debsums -a` plus type,
/// owner and mode checks (see [`Deviation`]).
///
/// `md5` digests a regular file given its directory, name and `lstat` (fimsum passes
/// [`crate::scan::read::md5`], which never follows a symlink and hashes only that very file;
/// tests pass failures). It runs on `threads` threads (0: one per CPU).
///
/// Paths are resolved inside `root` as if chrooted: the kernel's `RESOLVE_IN_ROOT` makes
/// `..` stop at it and absolute symlinks start from it, so a mounted image cannot send a
/// lookup to the host's files. The last component is never followed. Fails only when
/// `root` cannot be opened, or cannot be confined (Linux before 5.6).
pub fn verify<'a, F>(
    db: &'a PackageDb,
    root: &Path,
    threads: usize,
    md5: F,
) -> Result<Verification<'a>>
where
    F: Fn(&FileRef, &Meta) -> Result<[u8; 16], String> + Sync,
{
    let root = Root::open(root)?;
    let paths: Vec<&[PackageFile]> = db.files.chunk_by(|a, b| a.path == b.path).collect();
    let threads = worker_threads(threads).clamp(1, paths.len().div_ceil(BATCH).max(1));
    let next = AtomicUsize::new(0);

    let worker = || {
        let mut dir = None;
        let (mut findings, mut excluded) = (Vec::new(), 0);
        loop {
            let start = next.fetch_add(BATCH, Ordering::Relaxed);
            let Some(rest) = paths.get(start..).filter(|rest| !rest.is_empty()) else {
                break;
            };
            for claims in rest.iter().take(BATCH) {
                let (found, skipped) = check_path(db, claims, &root, &mut dir, &md5);
                findings.extend(found);
                excluded += usize::from(skipped);
            }
        }
        (findings, excluded)
    };
    let parts = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..threads).map(|_| scope.spawn(worker)).collect();
        let mut parts = vec![worker()];
        for handle in handles {
            parts.push(
                handle
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p)),
            );
        }
        parts
    });

    let mut verification = Verification {
        checked: paths.len(),
        ..Verification::default()
    };
    for (findings, excluded) in parts {
        verification.findings.extend(findings);
        verification.excluded += excluded;
    }
    // Stable: a path's findings keep the order `check_path` gave them.
    verification
        .findings
        .sort_by(|a, b| a.file.path.cmp(&b.file.path));
    Ok(verification)
}

/// The root the package paths are looked up in.
struct Root {
    fd: OwnedFd,
    /// Not `/`: confine lookups to it.
    confined: bool,
}

impl Root {
    fn open(path: &Path) -> Result<Root> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::open(path, flags, Mode::empty()).map_err(|e| Error::NoInput {
            path: path.to_path_buf(),
            source: e.into(),
        })?;
        let root = Root {
            fd,
            confined: path != Path::new("/"),
        };
        if let Err(e) = root.open_dir(b"/") {
            let why = match e {
                // ENOSYS: before Linux 5.6; EPERM: a seccomp filter that predates openat2.
                Errno::NOSYS | Errno::PERM => {
                    "cannot confine lookups to it: openat2 is not available (Linux 5.6 or later)"
                        .to_string()
                }
                e => describe(e),
            };
            return Err(Error::io(path.display().to_string(), io::Error::other(why)));
        }
        Ok(root)
    }

    /// Opens directory `dir` (absolute, relative to the root) for the `*at` calls.
    fn open_dir(&self, dir: &[u8]) -> rustix::io::Result<OwnedFd> {
        let relative = match dir.iter().position(|&b| b != b'/') {
            Some(start) => &dir[start..],
            None => b".",
        };
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if !self.confined {
            return rustix::fs::openat(&self.fd, relative, flags, Mode::empty());
        }
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        let mut result = Err(Errno::AGAIN);
        // EAGAIN: a rename raced the lookup; the kernel asks for a retry.
        for _ in 0..3 {
            result = rustix::fs::openat2(&self.fd, relative, flags, Mode::empty(), resolve);
            if !matches!(result, Err(Errno::AGAIN)) {
                break;
            }
        }
        result
    }
}

/// Checks one path and all its claims; the flag is true for an excluded missing path.
/// `dir` is the last directory this thread opened, kept for the next path.
fn check_path<'a, F>(
    db: &PackageDb,
    claims: &'a [PackageFile],
    root: &Root,
    dir: &mut Option<(&'a [u8], rustix::io::Result<Arc<OwnedFd>>)>,
    md5: &F,
) -> (Vec<DeviatingFile<'a>>, bool)
where
    F: Fn(&FileRef, &Meta) -> Result<[u8; 16], String>,
{
    let Some(first) = claims.first() else {
        return (Vec::new(), false);
    };
    let one = |deviation| {
        (
            vec![DeviatingFile {
                file: first,
                deviation,
            }],
            false,
        )
    };
    let missing = || {
        // dpkg filters the names inside the package, before diversion and aliasing.
        let listed = first.listed_as.as_deref().unwrap_or(&first.path);
        if excluded(&db.filters, listed) {
            (Vec::new(), true)
        } else {
            one(Deviation::Missing)
        }
    };
    let slash = first.path.iter().rposition(|&b| b == b'/').unwrap_or(0);
    let (parent, leaf) = (&first.path[..slash], &first.path[slash..]);
    let leaf = leaf.strip_prefix(b"/").unwrap_or(leaf);
    // A name with a NUL byte, or that names a directory, cannot be a file.
    let Some(leaf) = CString::new(leaf)
        .ok()
        .filter(|l| !matches!(l.as_bytes(), b"" | b"." | b".."))
    else {
        return missing();
    };
    let opened = match dir {
        Some((name, opened)) if *name == parent => opened.clone(),
        _ => {
            let opened = root.open_dir(parent).map(Arc::new);
            *dir = Some((parent, opened.clone()));
            opened
        }
    };
    let parent = match opened {
        Ok(fd) => fd,
        Err(Errno::NOENT | Errno::NOTDIR) => return missing(),
        Err(e) => {
            return one(Deviation::Unreadable {
                reason: format!("its directory: {}", describe(e)),
            })
        }
    };
    let st = match rustix::fs::statat(&*parent, &leaf, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::NOENT | Errno::NOTDIR) => return missing(),
        Err(e) => {
            return one(Deviation::Unreadable {
                reason: describe(e),
            })
        }
    };
    let kind = Kind::from_stat(&st);
    if kind != Kind::File {
        return one(Deviation::NotRegular { kind });
    }
    let meta = Meta::from_stat(&st);

    let mut findings = Vec::new();
    let file = FileRef { dir: parent, leaf };
    match md5(&file, &meta) {
        Ok(actual) => {
            if !claims.iter().any(|c| c.md5 == actual) {
                findings.extend(claims.iter().map(|file| DeviatingFile {
                    file,
                    deviation: Deviation::Md5Mismatch {
                        expected: file.md5,
                        actual,
                    },
                }));
            }
        }
        Err(reason) => findings.push(DeviatingFile {
            file: first,
            deviation: Deviation::Unreadable { reason },
        }),
    }

    let mut metadata = |deviation| {
        findings.push(DeviatingFile {
            file: first,
            deviation,
        })
    };
    let Meta { mode, uid, gid, .. } = meta;
    if let Some(expected) = db.overrides.get(&first.path) {
        let differs = expected.uid.is_some_and(|u| u != uid)
            || expected.gid.is_some_and(|g| g != gid)
            || expected.mode != mode;
        if differs {
            metadata(Deviation::OverrideMismatch {
                expected: *expected,
                uid,
                gid,
                mode,
            });
        }
    } else {
        if uid != 0 {
            metadata(Deviation::NotRootOwned { uid });
        }
        if mode & 0o002 != 0 {
            metadata(Deviation::WorldWritable { mode });
        }
        if mode & 0o6000 != 0 {
            metadata(Deviation::SetId { mode });
        }
    }
    (findings, false)
}

/// `path` with a top-level alias replaced by its target.
fn canonical<'p>(aliases: &[(Vec<u8>, Vec<u8>)], path: &'p [u8]) -> Cow<'p, [u8]> {
    for (from, to) in aliases {
        if let Some(rest) = path.strip_prefix(from.as_slice()) {
            if rest.is_empty() || rest.starts_with(b"/") {
                return Cow::Owned([to.as_slice(), rest].concat());
            }
        }
    }
    Cow::Borrowed(path)
}

/// The components of a path, without empty and `.` ones.
fn components(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
}

/// The top-level directories of `root` (among the first components of `paths`) that are
/// symlinks to a directory inside the root: the merged-/usr aliases.
fn find_aliases<'p>(root: &Path, paths: impl Iterator<Item = &'p [u8]>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut tops: Vec<&[u8]> = paths.filter_map(|p| components(p).next()).collect();
    tops.sort_unstable();
    tops.dedup();
    let mut aliases = Vec::new();
    for top in tops {
        let Ok(target) = fs::read_link(root.join(OsStr::from_bytes(top))) else {
            continue;
        };
        let parts: Vec<&[u8]> = components(target.as_os_str().as_bytes()).collect();
        if parts.is_empty() || parts.contains(&&b".."[..]) {
            continue;
        }
        let to: Vec<u8> = parts
            .iter()
            .flat_map(|p| [&b"/"[..], p])
            .flatten()
            .copied()
            .collect();
        let relative = OsStr::from_bytes(&to[1..]);
        if fs::symlink_metadata(root.join(relative)).is_ok_and(|m| m.is_dir()) {
            aliases.push(([&b"/"[..], top].concat(), to));
        }
    }
    aliases
}

/// The names `NAME.md5sums` in the info directory, sorted.
fn list_md5sums(info_dir: &Path) -> Result<Vec<String>> {
    let no_input = |source| Error::NoInput {
        path: info_dir.to_path_buf(),
        source,
    };
    let mut stems = Vec::new();
    for entry in fs::read_dir(info_dir).map_err(no_input)? {
        let name = entry.map_err(no_input)?.file_name();
        if let Some(stem) = name.as_bytes().strip_suffix(b".md5sums") {
            // dpkg package names are ASCII; anything else is not dpkg's.
            if let Ok(stem) = std::str::from_utf8(stem) {
                if !stem.is_empty() {
                    stems.push(stem.to_string());
                }
            }
        }
    }
    stems.sort_unstable();
    Ok(stems)
}
/// One package of the status file whose files are on disk.
#[derive(Debug)]
struct Installed {
    /// As its info files are named: `pkg`, or `pkg:arch` when Multi-Arch: same.
    name: Arc<str>,
    conffiles: Vec<Sum>,
}

/// A path and its digest as one line of the database gives them.
#[derive(Debug, PartialEq, Eq)]
struct Sum {
    /// Absolute.
    path: Vec<u8>,
    md5: [u8; 16],
}

#[derive(Debug, Default)]
struct Status {
    installed: Vec<Installed>,
    /// Both `pkg` and `pkg:arch` of each installed package, to its index.
    by_name: HashMap<String, usize>,
    /// Both names of every package the status file mentions, installed or not.
    known: HashSet<String>,
}

/// The fields of one status stanza that matter here.
#[derive(Debug, Default)]
struct Stanza<'t> {
    first_line: usize,
    package: Option<&'t [u8]>,
    status: Option<&'t [u8]>,
    architecture: Option<&'t [u8]>,
    multi_arch_same: bool,
    /// The continuation lines of `Conffiles:`, with their line numbers.
    conffiles: Vec<(usize, &'t [u8])>,
}

/// States in which all of a package's files are unpacked on disk.
const UNPACKED_STATES: [&[u8]; 5] = [
    b"installed",
    b"triggers-pending",
    b"triggers-awaited",
    b"half-configured",
    b"unpacked",
];

fn parse_status(text: &[u8], file: &Path, warnings: &mut Vec<String>) -> Status {
    let mut status = Status::default();
    let mut lines = LineWarnings::new(file);
    let mut stanza = Stanza::default();
    let mut in_conffiles = false;
    for (number, line) in numbered_lines(text) {
        if line.iter().all(u8::is_ascii_whitespace) {
            finish_stanza(std::mem::take(&mut stanza), &mut status, &mut lines);
            in_conffiles = false;
            continue;
        }
        if stanza.first_line == 0 {
            stanza.first_line = number;
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            if in_conffiles {
                stanza.conffiles.push((number, line));
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            lines.skip(number, "not a `Field: value` line");
            in_conffiles = false;
            continue;
        };
        let (name, value) = line.split_at(colon);
        let value = value.get(1..).unwrap_or_default().trim_ascii();
        in_conffiles = name.eq_ignore_ascii_case(b"Conffiles");
        if name.eq_ignore_ascii_case(b"Package") {
            stanza.package = Some(value);
        } else if name.eq_ignore_ascii_case(b"Status") {
            stanza.status = Some(value);
        } else if name.eq_ignore_ascii_case(b"Architecture") {
            stanza.architecture = Some(value);
        } else if name.eq_ignore_ascii_case(b"Multi-Arch") {
            stanza.multi_arch_same = value == b"same";
        } else if in_conffiles && !value.is_empty() {
            lines.skip(number, "Conffiles: value on the field line");
        }
    }
    finish_stanza(stanza, &mut status, &mut lines);
    lines.finish(warnings);
    status
}

fn finish_stanza(stanza: Stanza<'_>, status: &mut Status, lines: &mut LineWarnings<'_>) {
    if stanza.first_line == 0 {
        return;
    }
    let Some(package) = stanza.package else {
        lines.skip(stanza.first_line, "stanza without a Package field");
        return;
    };
    let Some(package) = std::str::from_utf8(package)
        .ok()
        .filter(|p| !p.is_empty() && !p.contains(|c: char| c.is_whitespace() || c == '/'))
    else {
        lines.skip(stanza.first_line, "invalid package name");
        return;
    };
    let arch = stanza
        .architecture
        .and_then(|a| std::str::from_utf8(a).ok())
        .filter(|a| !a.is_empty() && !a.contains(char::is_whitespace));
    let qualified = arch.map(|a| format!("{package}:{a}"));
    status.known.insert(package.to_string());
    status.known.extend(qualified.clone());

    let words: Vec<&[u8]> = stanza
        .status
        .unwrap_or_default()
        .split(u8::is_ascii_whitespace)
        .filter(|w| !w.is_empty())
        .collect();
    let [_want, flag, state] = words.as_slice() else {
        lines.skip(
            stanza.first_line,
            &format!("package {package}: Status is not `want flag state`"),
        );
        return;
    };
    if *flag != b"ok" || !UNPACKED_STATES.contains(state) {
        return;
    }

    let name: Arc<str> = match (&qualified, stanza.multi_arch_same) {
        (Some(q), true) => q.as_str().into(),
        _ => package.into(),
    };
    let mut conffiles = Vec::new();
    for (number, line) in stanza.conffiles {
        match parse_conffile(line) {
            Ok(Some(entry)) => conffiles.push(entry),
            Ok(None) => {}
            Err(reason) => lines.skip(number, &reason),
        }
    }
    let index = status.installed.len();
    status.installed.push(Installed { name, conffiles });
    for n in std::iter::once(package.to_string()).chain(qualified) {
        status.by_name.entry(n).or_insert(index);
    }
}

/// A ` /path md5 [obsolete|remove-on-upgrade]...` line. `None` for entries that are not
/// known-good digests of a current file (see [`PackageDb`]).
fn parse_conffile(line: &[u8]) -> Result<Option<Sum>, String> {
    let mut rest = line.trim_ascii();
    let mut skip = false;
    let (path, hash) = loop {
        let Some(space) = rest.iter().rposition(|&b| b == b' ') else {
            return Err("conffile line is not `/path md5`".to_string());
        };
        let (head, last) = rest.split_at(space);
        let last = last.get(1..).unwrap_or_default();
        if last == b"obsolete" || last == b"remove-on-upgrade" {
            skip = true;
            rest = head.trim_ascii();
            continue;
        }
        break (head.trim_ascii(), last);
    };
    if !path.starts_with(b"/") {
        return Err("conffile path is not absolute".to_string());
    }
    if hash == b"newconffile" || skip {
        return Ok(None);
    }
    match parse_md5(hash) {
        Some(md5) => Ok(Some(Sum {
            path: path.to_vec(),
            md5,
        })),
        None => Err("conffile digest is not 32 hex digits".to_string()),
    }
}

/// A `.md5sums` line: `<32 hex>  <path>` (also `*` for binary mode, and md5sum's `\`
/// escaping). Returns the absolute path; `None` for a blank line.
fn parse_md5sums_line(line: &[u8]) -> Result<Option<Sum>, String> {
    if line.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let (escaped, line) = match line.strip_prefix(b"\\") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let md5 = line
        .get(..32)
        .and_then(parse_md5)
        .ok_or_else(|| "does not start with 32 hex digits".to_string())?;
    let rest = line.get(32..).unwrap_or_default();
    let Some(rest) = rest.strip_prefix(b" ") else {
        return Err("no space after the digest".to_string());
    };
    let rest = rest
        .strip_prefix(b" ")
        .or_else(|| rest.strip_prefix(b"*"))
        .unwrap_or(rest);
    let rest = rest.strip_prefix(b"./").unwrap_or(rest);
    let start = rest.iter().position(|&b| b != b'/').unwrap_or(rest.len());
    let rest = rest.get(start..).unwrap_or_default();
    if rest.is_empty() {
        return Err("no path after the digest".to_string());
    }
    let mut path = Vec::with_capacity(rest.len() + 1);
    path.push(b'/');
    if escaped {
        let mut bytes = rest.iter();
        while let Some(&b) = bytes.next() {
            match (b, bytes.clone().next()) {
                (b'\\', Some(b'\\')) => {
                    path.push(b'\\');
                    bytes.next();
                }
                (b'\\', Some(b'n')) => {
                    path.push(b'\n');
                    bytes.next();
                }
                _ => path.push(b),
            }
        }
    } else {
        path.extend_from_slice(rest);
    }
    if path.contains(&0) {
        return Err("path contains a NUL byte".to_string());
    }
    Ok(Some(Sum { path, md5 }))
}

/// A diverted path: where files of other packages go, and who diverted it (`None` for a
/// local diversion, which applies to every package).
#[derive(Debug)]
struct Diversion {
    to: Vec<u8>,
    by: Option<String>,
}

/// The contents of a file of the package database. Only a regular file is read: a FIFO
/// planted in a mounted image (`--root`) would block the run, a device would never end.
fn read_database_file(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut text = Vec::new();
    crate::input::open_file(path)?.read_to_end(&mut text)?;
    Ok(text)
}

/// The contents of an optional database file: `None` when it is missing (nothing to say) or
/// unreadable (a warning).
fn read_optional(file: &Path, warnings: &mut Vec<String>) -> Option<Vec<u8>> {
    match read_database_file(file) {
        Ok(text) => Some(text),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => {
            warnings.push(format!("{}: {}", file.display(), err));
            None
        }
    }
}

/// `diversions`: triples of lines; a missing file means no diversions.
fn read_diversions(file: &Path, warnings: &mut Vec<String>) -> Vec<(Vec<u8>, Diversion)> {
    let Some(text) = read_optional(file, warnings) else {
        return Vec::new();
    };
    let mut lines = LineWarnings::new(file);
    let all: Vec<(usize, &[u8])> = numbered_lines(&text).collect();
    let mut out = Vec::new();
    for triple in all.chunks(3) {
        let [(number, from), (_, to), (_, by)] = triple else {
            if let Some((number, _)) = triple.first() {
                lines.skip(*number, "incomplete diversion (not 3 lines)");
            }
            continue;
        };
        if !from.starts_with(b"/") || !to.starts_with(b"/") {
            lines.skip(*number, "diversion paths are not absolute");
            continue;
        }
        let by = match *by {
            b":" => None,
            name => Some(String::from_utf8_lossy(name).into_owned()),
        };
        out.push((
            from.to_vec(),
            Diversion {
                to: to.to_vec(),
                by,
            },
        ));
    }
    lines.finish(warnings);
    out
}

/// `name:x:id:...` lines of `etc/passwd` or `etc/group`; unreadable means empty.
fn read_ids(file: &Path) -> HashMap<Vec<u8>, u32> {
    let Ok(text) = read_database_file(file) else {
        return HashMap::new();
    };
    numbered_lines(&text)
        .filter_map(|(_, line)| {
            let mut fields = line.split(|&b| b == b':');
            let name = fields.next()?;
            let id = std::str::from_utf8(fields.nth(1)?).ok()?.parse().ok()?;
            Some((name.to_vec(), id))
        })
        .collect()
}

/// `statoverride`: `owner group mode path` lines; a missing file means none.
fn read_statoverride(
    file: &Path,
    users: &HashMap<Vec<u8>, u32>,
    groups: &HashMap<Vec<u8>, u32>,
    warnings: &mut Vec<String>,
) -> Vec<(Vec<u8>, StatOverride)> {
    let Some(text) = read_optional(file, warnings) else {
        return Vec::new();
    };
    let mut lines = LineWarnings::new(file);
    let mut out = Vec::new();
    for (number, line) in numbered_lines(&text) {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let mut fields = line.splitn(4, |&b| b == b' ');
        let (Some(user), Some(group), Some(mode), Some(path)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            lines.skip(number, "not `owner group mode path`");
            continue;
        };
        let mode = std::str::from_utf8(mode)
            .ok()
            .and_then(|m| u32::from_str_radix(m, 8).ok())
            .filter(|m| *m <= 0o7777);
        let Some(mode) = mode else {
            lines.skip(number, "mode is not octal");
            continue;
        };
        if !path.starts_with(b"/") {
            lines.skip(number, "path is not absolute");
            continue;
        }
        let id = |name: &[u8], table: &HashMap<Vec<u8>, u32>, lines: &mut LineWarnings| {
            let found = match name.strip_prefix(b"#") {
                Some(n) => std::str::from_utf8(n).ok().and_then(|n| n.parse().ok()),
                None => table.get(name).copied(),
            };
            if found.is_none() {
                let name = String::from_utf8_lossy(name);
                lines.push(number, format!("unknown user or group {name}, not checked"));
            }
            found
        };
        let uid = id(user, users, &mut lines);
        let gid = id(group, groups, &mut lines);
        out.push((path.to_vec(), StatOverride { uid, gid, mode }));
    }
    lines.finish(warnings);
    out
}

/// One dpkg `path-exclude` (or `path-include`) option.
#[derive(Clone, Debug)]
struct PathFilter {
    include: bool,
    pattern: Vec<u8>,
}

/// The path filters of `etc/dpkg/dpkg.cfg.d/*` (names of `[0-9A-Za-z_-]`, sorted, as dpkg
/// reads them) then `etc/dpkg/dpkg.cfg`.
fn read_filters(root: &Path, warnings: &mut Vec<String>) -> Vec<PathFilter> {
    let dir = root.join("etc/dpkg/dpkg.cfg.d");
    let mut files = Vec::new();
    if let Ok(entries) = fs::read_dir(&dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let valid = name
                .as_bytes()
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if valid {
                files.push(entry.path());
            }
        }
    }
    files.sort_unstable();
    files.push(root.join("etc/dpkg/dpkg.cfg"));

    let mut filters = Vec::new();
    for file in files {
        let text = match read_database_file(&file) {
            Ok(text) => text,
            Err(err) if matches!(err.kind(), io::ErrorKind::NotFound) => continue,
            Err(err) => {
                warnings.push(format!("{}: {}", file.display(), err));
                continue;
            }
        };
        for (_, line) in numbered_lines(&text) {
            let line = line.trim_ascii();
            if line.starts_with(b"#") {
                continue;
            }
            let split = line
                .iter()
                .position(|&b| b == b'=' || b.is_ascii_whitespace())
                .unwrap_or(line.len());
            let (name, value) = line.split_at(split);
            let name = name.strip_prefix(b"--").unwrap_or(name);
            let include = match name {
                b"path-include" => true,
                b"path-exclude" => false,
                _ => continue,
            };
            let value = value.strip_prefix(b"=").unwrap_or(value);
            let value = value.trim_ascii();
            let value = unquote(value);
            if !value.is_empty() {
                filters.push(PathFilter {
                    include,
                    pattern: value.to_vec(),
                });
            }
        }
    }
    filters
}

/// dpkg's rule: the last filter matching the path decides; no match means included.
fn excluded(filters: &[PathFilter], path: &[u8]) -> bool {
    filters
        .iter()
        .rev()
        .find(|f| fnmatch(&f.pattern, path))
        .is_some_and(|f| !f.include)
}

/// `fnmatch(3)` with no flags, the very call dpkg makes: `*` and `?` match `/` too.
fn fnmatch(pattern: &[u8], text: &[u8]) -> bool {
    let (Ok(pattern), Ok(text)) = (CString::new(pattern), CString::new(text)) else {
        return false;
    };
    // SAFETY: both are NUL-terminated strings that live until the call returns.
    unsafe { libc::fnmatch(pattern.as_ptr(), text.as_ptr(), 0) == 0 }
}

/// The package name without `:arch`, as diversions name packages.
fn base_name(package: &str) -> &str {
    package.split_once(':').map_or(package, |(name, _)| name)
}

/// Lines without their `\n`, numbered from 1.
fn numbered_lines(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let empty = text.is_empty();
    text.split(|&b| b == b'\n')
        .filter(move |_| !empty)
        .enumerate()
        .map(|(i, line)| (i + 1, line))
}

fn unquote(value: &[u8]) -> &[u8] {
    for quote in [b'"', b'\''] {
        if value.len() >= 2 && value.starts_with(&[quote]) && value.ends_with(&[quote]) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

/// 32 hex digits, either case.
fn parse_md5(hex: &[u8]) -> Option<[u8; 16]> {
    crate::hex::decode(hex)
}

/// A few names, then how many more.
fn summarize(names: &[&str]) -> String {
    const SHOWN: usize = 5;
    let mut out = names[..names.len().min(SHOWN)].join(", ");
    if names.len() > SHOWN {
        out.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    out
}

/// Collects `file:line: reason` warnings, keeping the first [`MAX_WARNINGS_PER_FILE`].
struct LineWarnings<'f> {
    file: &'f Path,
    kept: Vec<String>,
    count: usize,
}

impl<'f> LineWarnings<'f> {
    fn new(file: &'f Path) -> LineWarnings<'f> {
        LineWarnings {
            file,
            kept: Vec::new(),
            count: 0,
        }
    }

    /// A warning about line `line`; `reason` says what was done about it.
    fn push(&mut self, line: usize, reason: String) {
        self.count += 1;
        if self.count <= MAX_WARNINGS_PER_FILE {
            self.kept
                .push(format!("{}:{}: {}", self.file.display(), line, reason));
        }
    }

    /// A malformed line, left out.
    fn skip(&mut self, line: usize, reason: &str) {
        self.push(line, format!("{reason}; line skipped"));
    }

    fn finish(self, warnings: &mut Vec<String>) {
        warnings.extend(self.kept);
        if self.count > MAX_WARNINGS_PER_FILE {
            warnings.push(format!(
                "{}: {} more warnings",
                self.file.display(),
                self.count - MAX_WARNINGS_PER_FILE
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest as _, Md5};
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    /// A fake root in a temporary directory, removed on drop.
    struct TempRoot(tempfile::TempDir);

    impl TempRoot {
        fn new() -> TempRoot {
            TempRoot(tempfile::tempdir().expect("create temp root"))
        }

        fn path(&self) -> &Path {
            self.0.path()
        }

        /// Writes `rel` under the root, creating its directories.
        fn write(&self, rel: &str, contents: &[u8]) {
            let path = self.path().join(rel);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("create dirs");
            }
            fs::write(&path, contents).expect("write file");
        }

        fn chmod(&self, rel: &str, mode: u32) {
            fs::set_permissions(self.path().join(rel), fs::Permissions::from_mode(mode))
                .expect("chmod");
        }

        fn symlink(&self, target: &str, rel: &str) {
            let path = self.path().join(rel);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).expect("create dirs");
            }
            symlink(target, path).expect("symlink");
        }

        fn load(&self) -> PackageDb {
            PackageDb::load(self.path()).expect("load fake database")
        }
    }

    fn md5_of(data: &[u8]) -> [u8; 16] {
        Md5::digest(data).into()
    }

    fn md5_hex(data: &[u8]) -> String {
        hex::encode(&md5_of(data))
    }

    /// fimsum's own safe reader, as `verify-packages` uses it.
    fn md5_file(file: &FileRef, seen: &Meta) -> Result<[u8; 16], String> {
        crate::scan::read::md5(file, seen)
    }

    /// A stanza of the status file.
    fn stanza(package: &str, status: &str, extra: &str) -> String {
        format!(
            "Package: {package}\nStatus: {status}\nPriority: optional\nVersion: 1.0\n\
             Description: test package\n long description line\n .\n{extra}\n"
        )
    }

    fn text(path: &[u8]) -> &str {
        std::str::from_utf8(path).unwrap_or("<non-utf8>")
    }

    /// The fake database most tests share: see the assertions in `loads_fake_database`.
    fn fake_db(root: &TempRoot) {
        let status = [
            stanza(
                "alpha",
                "install ok installed",
                &format!(
                    "Architecture: amd64\nConffiles:\n /etc/alpha.conf {}\n \
                     /etc/alpha old.conf {} obsolete\n /etc/alpha-rm.conf {} remove-on-upgrade\n \
                     /etc/alpha-new.conf newconffile\nHomepage: https://example.org",
                    md5_hex(b"conf\n"),
                    md5_hex(b"old\n"),
                    md5_hex(b"rm\n")
                ),
            ),
            stanza(
                "libbeta",
                "install ok installed",
                "Architecture: amd64\nMulti-Arch: same",
            ),
            stanza("gamma", "deinstall ok config-files", "Architecture: all"),
            stanza("held", "hold ok installed", "Architecture: all"),
        ]
        .join("\n");
        root.write("var/lib/dpkg/status", status.as_bytes());
        root.write(
            "var/lib/dpkg/info/alpha.md5sums",
            format!(
                "{}  usr/bin/alpha\n{}  usr/share/doc/alpha/README\n",
                md5_hex(b"alpha\n"),
                md5_hex(b"readme\n")
            )
            .as_bytes(),
        );
        root.write(
            "var/lib/dpkg/info/libbeta:amd64.md5sums",
            format!(
                "{}  usr/share/beta/file with spaces.txt\n",
                md5_hex(b"beta\n")
            )
            .as_bytes(),
        );
        root.write(
            "var/lib/dpkg/info/gamma.md5sums",
            format!("{}  usr/bin/gamma\n", md5_hex(b"gamma\n")).as_bytes(),
        );
        root.write(
            "var/lib/dpkg/info/held.md5sums",
            format!("{}  usr/bin/held\n", md5_hex(b"held\n")).as_bytes(),
        );
        root.write(
            "var/lib/dpkg/info/ghost.md5sums",
            format!("{}  usr/bin/ghost\n", md5_hex(b"ghost\n")).as_bytes(),
        );
        root.write("var/lib/dpkg/info/alpha.list", b"/usr/bin/alpha\n");
    }

    #[test]
    fn loads_fake_database() {
        let root = TempRoot::new();
        fake_db(&root);
        let db = root.load();

        let alpha = db.get(b"/usr/bin/alpha").expect("alpha's binary");
        assert_eq!(&*alpha.package, "alpha");
        assert_eq!(alpha.md5, md5_of(b"alpha\n"));
        assert!(!alpha.conffile);
        assert_eq!(alpha.listed_as, None);

        let conf = db.get(b"/etc/alpha.conf").expect("alpha's conffile");
        assert!(conf.conffile);
        assert_eq!(conf.md5, md5_of(b"conf\n"));
        // Obsolete, remove-on-upgrade and never-configured conffiles are left out.
        assert!(db.get(b"/etc/alpha old.conf").is_none());
        assert!(db.get(b"/etc/alpha-rm.conf").is_none());
        assert!(db.get(b"/etc/alpha-new.conf").is_none());

        let beta = db
            .get(b"/usr/share/beta/file with spaces.txt")
            .expect("path with spaces");
        assert_eq!(&*beta.package, "libbeta:amd64");
        assert_eq!(beta.md5, md5_of(b"beta\n"));

        // Not installed (config-files): skipped silently; held: installed.
        assert!(db.get(b"/usr/bin/gamma").is_none());
        assert_eq!(db.get(b"/usr/bin/held").map(|f| &*f.package), Some("held"));
        // Not in the status file at all: skipped with a warning naming it.
        assert!(db.get(b"/usr/bin/ghost").is_none());
        assert_eq!(db.warnings().len(), 1, "{:?}", db.warnings());
        assert!(db.warnings()[0].contains("ghost"), "{:?}", db.warnings());
        assert!(db.warnings()[0].contains("var/lib/dpkg/info"));

        assert_eq!(db.package_count(), 3);
        assert_eq!(db.len(), 5);
        let paths: Vec<&str> = db.iter().map(|f| text(&f.path)).collect();
        assert_eq!(
            paths,
            [
                "/etc/alpha.conf",
                "/usr/bin/alpha",
                "/usr/bin/held",
                "/usr/share/beta/file with spaces.txt",
                "/usr/share/doc/alpha/README",
            ]
        );
        assert!(db.get(b"usr/bin/alpha").is_none(), "paths are absolute");
        assert!(db.get(b"/usr/bin").is_none());
        assert!(db.get(b"").is_none());
    }

    #[test]
    fn malformed_lines_are_skipped_with_file_and_line() {
        let root = TempRoot::new();
        root.write(
            "var/lib/dpkg/status",
            format!(
                "Package: alpha\nStatus: install ok installed\nthis line has no colon\n\
                 Conffiles:\n /etc/good.conf {}\n /etc/bad.conf nothex\n noslash {}\n\n\
                 Status: install ok installed\n\n\
                 Package: beta\nStatus: installed\n",
                md5_hex(b"good\n"),
                md5_hex(b"x")
            )
            .as_bytes(),
        );
        root.write(
            "var/lib/dpkg/info/alpha.md5sums",
            format!(
                "{}  usr/bin/one\nzz{}  usr/bin/two\n{}\n\n{}  \n{}  usr/bin/three\n",
                md5_hex(b"1"),
                &md5_hex(b"2")[2..],
                md5_hex(b"short"),
                md5_hex(b"nopath"),
                md5_hex(b"3")
            )
            .as_bytes(),
        );
        let db = root.load();
        let status = root.path().join("var/lib/dpkg/status");
        let sums = root.path().join("var/lib/dpkg/info/alpha.md5sums");
        let expect = [
            format!("{}:3: not a `Field: value` line", status.display()),
            format!(
                "{}:6: conffile digest is not 32 hex digits",
                status.display()
            ),
            format!("{}:7: conffile path is not absolute", status.display()),
            format!("{}:9: stanza without a Package field", status.display()),
            format!("{}:11: package beta: Status", status.display()),
            format!("{}:2: does not start with 32 hex digits", sums.display()),
            format!("{}:3: no space after the digest", sums.display()),
            format!("{}:5: no path after the digest", sums.display()),
        ];
        assert_eq!(db.warnings().len(), expect.len(), "{:#?}", db.warnings());
        for (warning, expect) in db.warnings().iter().zip(&expect) {
            assert!(
                warning.starts_with(expect.as_str()),
                "{warning} vs {expect}"
            );
            assert!(warning.ends_with("line skipped"), "{warning}");
        }
        let paths: Vec<&str> = db.iter().map(|f| text(&f.path)).collect();
        assert_eq!(paths, ["/etc/good.conf", "/usr/bin/one", "/usr/bin/three"]);
    }

    #[test]
    fn warnings_are_capped_per_file() {
        let root = TempRoot::new();
        root.write(
            "var/lib/dpkg/status",
            b"Package: alpha\nStatus: install ok installed\n",
        );
        root.write("var/lib/dpkg/info/alpha.md5sums", &b"garbage\n".repeat(20));
        let db = root.load();
        assert_eq!(db.warnings().len(), MAX_WARNINGS_PER_FILE + 1);
        let last = db.warnings().last().map(String::as_str).unwrap_or_default();
        assert!(last.ends_with("alpha.md5sums: 15 more warnings"), "{last}");
        assert!(db.is_empty());
    }

    #[test]
    fn missing_status_or_info_dir_is_an_error_naming_the_path() {
        let root = TempRoot::new();
        let err = PackageDb::load(root.path()).expect_err("no database");
        assert_eq!(err.fatal(), crate::exit::Fatal::NoInput);
        let status = root.path().join("var/lib/dpkg/status");
        assert!(err
            .to_string()
            .starts_with(&format!("{}: ", status.display())));

        root.write(
            "var/lib/dpkg/status",
            b"Package: alpha\nStatus: install ok installed\n",
        );
        let err = PackageDb::load(root.path()).expect_err("no info dir");
        assert_eq!(err.fatal(), crate::exit::Fatal::NoInput);
        let info = root.path().join("var/lib/dpkg/info");
        assert!(err
            .to_string()
            .starts_with(&format!("{}: ", info.display())));

        // An unreadable .md5sums file (here: a directory) is only a warning.
        fs::create_dir_all(root.path().join("var/lib/dpkg/info/alpha.md5sums")).expect("mkdir");
        let db = root.load();
        assert!(db.is_empty());
        assert_eq!(db.warnings().len(), 1);
        assert!(db.warnings()[0].contains("alpha.md5sums: "));
    }

    #[test]
    fn diversions_move_the_digest_to_the_diverted_path() {
        let root = TempRoot::new();
        let status = [
            stanza("orig", "install ok installed", "Architecture: amd64"),
            stanza(
                "diverter",
                "install ok installed",
                "Architecture: amd64\nMulti-Arch: same",
            ),
        ]
        .join("\n");
        root.write("var/lib/dpkg/status", status.as_bytes());
        root.write(
            "var/lib/dpkg/info/orig.md5sums",
            format!(
                "{}  usr/bin/tool\n{}  usr/bin/local\n",
                md5_hex(b"orig tool"),
                md5_hex(b"orig local")
            )
            .as_bytes(),
        );
        root.write(
            "var/lib/dpkg/info/diverter:amd64.md5sums",
            format!("{}  usr/bin/tool\n", md5_hex(b"diverter tool")).as_bytes(),
        );
        root.write(
            "var/lib/dpkg/diversions",
            b"/usr/bin/tool\n/usr/bin/tool.distrib\ndiverter\n\
              /usr/bin/local\n/usr/local/bin/local\n:\n\
              /usr/bin/dangling\n",
        );
        let db = root.load();

        let diverted = db.get(b"/usr/bin/tool.distrib").expect("diverted file");
        assert_eq!(&*diverted.package, "orig");
        assert_eq!(diverted.md5, md5_of(b"orig tool"));
        assert_eq!(diverted.listed_as.as_deref(), Some(&b"/usr/bin/tool"[..]));
        // The diverting package's own file stays (its name is compared without :arch).
        let own = db.get(b"/usr/bin/tool").expect("diverter's file");
        assert_eq!(&*own.package, "diverter:amd64");
        assert_eq!(own.listed_as, None);
        // A local diversion applies to every package.
        assert_eq!(
            db.get(b"/usr/local/bin/local").map(|f| &*f.package),
            Some("orig")
        );
        assert!(db.get(b"/usr/bin/local").is_none());
        assert_eq!(db.warnings().len(), 1, "{:?}", db.warnings());
        assert!(db.warnings()[0].contains("diversions:7: incomplete diversion"));
    }

    #[test]
    fn merged_usr_aliases_resolve_both_ways() {
        let root = TempRoot::new();
        root.write(
            "var/lib/dpkg/status",
            b"Package: coreutils\nStatus: install ok installed\n",
        );
        root.write(
            "var/lib/dpkg/info/coreutils.md5sums",
            format!(
                "{}  bin/ls\n{}  usr/bin/env\n",
                md5_hex(b"ls"),
                md5_hex(b"env")
            )
            .as_bytes(),
        );
        root.write("usr/bin/ls", b"ls");
        root.symlink("usr/bin", "bin");
        let db = root.load();

        let ls = db.get(b"/usr/bin/ls").expect("by the real path");
        assert_eq!(ls.path, b"/usr/bin/ls");
        assert_eq!(ls.listed_as.as_deref(), Some(&b"/bin/ls"[..]));
        assert_eq!(db.get(b"/bin/ls"), Some(ls), "by the alias");
        assert_eq!(db.get(b"/bin/env").map(|f| &*f.package), Some("coreutils"));
        assert!(db.get(b"/binary/ls").is_none(), "a prefix is not an alias");
    }

    #[test]
    fn shared_paths_keep_every_claim() {
        let root = TempRoot::new();
        let status = [
            stanza("one", "install ok installed", ""),
            stanza("two", "install ok installed", ""),
        ]
        .join("\n");
        root.write("var/lib/dpkg/status", status.as_bytes());
        root.write(
            "var/lib/dpkg/info/one.md5sums",
            format!("{}  usr/share/shared\n", md5_hex(b"old")).as_bytes(),
        );
        root.write(
            "var/lib/dpkg/info/two.md5sums",
            format!("{}  usr/share/shared\n", md5_hex(b"new")).as_bytes(),
        );
        let db = root.load();
        let claims: Vec<&str> = db
            .get_all(b"/usr/share/shared")
            .iter()
            .map(|f| &*f.package)
            .collect();
        assert_eq!(claims, ["one", "two"]);
        assert_eq!(
            db.matching(b"/usr/share/shared", &md5_of(b"new"))
                .map(|f| &*f.package),
            Some("two")
        );
        assert!(db
            .matching(b"/usr/share/shared", &md5_of(b"other"))
            .is_none());

        // On disk as one package has it: fine (a Replaces takeover).
        root.write("usr/share/shared", b"new");
        let v = verify(&db, root.path(), 1, md5_file).expect("verify");
        assert_eq!(v.checked, 1);
        let content: Vec<_> = v.findings.iter().filter(|f| !is_owner(f)).collect();
        assert!(content.is_empty(), "{content:?}");
        // As neither has it: one mismatch per claim.
        root.write("usr/share/shared", b"other");
        let v = verify(&db, root.path(), 1, md5_file).expect("verify");
        let mismatches: Vec<&str> = v
            .findings
            .iter()
            .filter(|f| matches!(f.deviation, Deviation::Md5Mismatch { .. }))
            .map(|f| &*f.file.package)
            .collect();
        assert_eq!(mismatches, ["one", "two"]);
    }

    /// Owner findings depend on who runs the tests; `owner_is_checked` covers them.
    fn is_owner(finding: &DeviatingFile<'_>) -> bool {
        matches!(finding.deviation, Deviation::NotRootOwned { .. })
    }

    fn summary(v: &Verification<'_>) -> Vec<(String, Deviation)> {
        v.findings
            .iter()
            .filter(|f| !is_owner(f))
            .map(|f| (text(&f.file.path).to_string(), f.deviation.clone()))
            .collect()
    }

    #[test]
    fn verify_reports_what_is_wrong() {
        let root = TempRoot::new();
        let files: [(&str, &[u8]); 9] = [
            ("usr/bin/good", b"good"),
            ("usr/bin/modified", b"original"),
            ("usr/bin/missing", b"missing"),
            ("usr/bin/symlinked", b"symlinked"),
            ("usr/bin/dir", b"dir"),
            ("usr/bin/writable", b"writable"),
            ("usr/bin/suid", b"suid"),
            ("usr/share/doc/pkg/README", b"readme"),
            ("usr/share/doc/pkg/copyright", b"copyright"),
        ];
        let mut sums = String::new();
        for (path, data) in files {
            sums.push_str(&format!("{}  {path}\n", md5_hex(data)));
        }
        let status = stanza(
            "pkg",
            "install ok installed",
            &format!("Conffiles:\n /etc/pkg.conf {}", md5_hex(b"conf")),
        );
        root.write("var/lib/dpkg/status", status.as_bytes());
        root.write("var/lib/dpkg/info/pkg.md5sums", sums.as_bytes());
        root.write(
            "etc/dpkg/dpkg.cfg.d/excludes",
            b"# docs are not installed\npath-exclude=/usr/share/doc/*\n\
              path-include /usr/share/doc/*/copyright\n",
        );
        root.write("etc/dpkg/dpkg.cfg.d/ignored.conf", b"path-exclude=/usr/*\n");

        root.write("usr/bin/good", b"good");
        root.write("usr/bin/modified", b"trojan");
        // debsums follows this symlink and passes it: the content is right.
        root.write("opt/copy", b"symlinked");
        root.symlink("../../opt/copy", "usr/bin/symlinked");
        fs::create_dir_all(root.path().join("usr/bin/dir")).expect("mkdir");
        root.write("usr/bin/writable", b"writable");
        root.chmod("usr/bin/writable", 0o666);
        root.write("usr/bin/suid", b"suid");
        root.chmod("usr/bin/suid", 0o4755);
        root.write("etc/pkg.conf", b"edited by the admin");

        let db = root.load();
        assert!(db.warnings().is_empty(), "{:?}", db.warnings());
        assert!(db.excluded_by_dpkg(b"/usr/share/doc/pkg/README"));
        assert!(!db.excluded_by_dpkg(b"/usr/share/doc/pkg/copyright"));
        let v = verify(&db, root.path(), 2, md5_file).expect("verify");
        assert_eq!(v.checked, 10);
        assert_eq!(v.excluded, 1, "README is excluded by dpkg.cfg.d");
        let expect = vec![
            (
                "/etc/pkg.conf".to_string(),
                Deviation::Md5Mismatch {
                    expected: md5_of(b"conf"),
                    actual: md5_of(b"edited by the admin"),
                },
            ),
            (
                "/usr/bin/dir".to_string(),
                Deviation::NotRegular { kind: Kind::Dir },
            ),
            ("/usr/bin/missing".to_string(), Deviation::Missing),
            (
                "/usr/bin/modified".to_string(),
                Deviation::Md5Mismatch {
                    expected: md5_of(b"original"),
                    actual: md5_of(b"trojan"),
                },
            ),
            (
                "/usr/bin/suid".to_string(),
                Deviation::SetId { mode: 0o4755 },
            ),
            (
                "/usr/bin/symlinked".to_string(),
                Deviation::NotRegular {
                    kind: Kind::Symlink,
                },
            ),
            (
                "/usr/bin/writable".to_string(),
                Deviation::WorldWritable { mode: 0o666 },
            ),
            (
                "/usr/share/doc/pkg/copyright".to_string(),
                Deviation::Missing,
            ),
        ];
        assert_eq!(summary(&v), expect);
        let conffile = v.findings.first().map(|f| f.file.conffile);
        assert_eq!(
            conffile,
            Some(true),
            "callers can lower a conffile's severity"
        );
        assert_eq!(
            v.findings
                .iter()
                .find(|f| f.deviation == Deviation::Missing)
                .map(|f| f.deviation.to_string()),
            Some("missing".to_string())
        );

        // The same answer on any number of threads, in path order.
        for threads in [0, 1, 3, 64] {
            assert_eq!(
                summary(&verify(&db, root.path(), threads, md5_file).expect("verify")),
                expect
            );
        }
    }

    #[test]
    fn unreadable_files_are_reported_with_the_reason() {
        let root = TempRoot::new();
        root.write(
            "var/lib/dpkg/status",
            b"Package: pkg\nStatus: install ok installed\n",
        );
        root.write(
            "var/lib/dpkg/info/pkg.md5sums",
            format!("{}  usr/bin/x\n", md5_hex(b"x")).as_bytes(),
        );
        root.write("usr/bin/x", b"x");
        let db = root.load();
        let v = verify(&db, root.path(), 1, |_, _| Err("no access".to_string())).expect("verify");
        assert_eq!(
            summary(&v),
            [(
                "/usr/bin/x".to_string(),
                Deviation::Unreadable {
                    reason: "no access".to_string()
                }
            )]
        );
    }

    #[test]
    fn owner_and_statoverride_are_checked() {
        let root = TempRoot::new();
        root.write("usr/bin/suid", b"suid");
        root.chmod("usr/bin/suid", 0o4754);
        root.write("usr/bin/private", b"private");
        root.chmod("usr/bin/private", 0o700);
        root.write("usr/bin/plain", b"plain");
        root.chmod("usr/bin/plain", 0o755);
        let meta = fs::metadata(root.path().join("usr/bin/plain")).expect("stat");
        let (uid, gid) = (meta.uid(), meta.gid());
        let status = stanza("pkg", "install ok installed", "");
        root.write("var/lib/dpkg/status", status.as_bytes());
        let mut sums = String::new();
        for name in ["suid", "private", "plain"] {
            sums.push_str(&format!("{}  usr/bin/{name}\n", md5_hex(name.as_bytes())));
        }
        root.write("var/lib/dpkg/info/pkg.md5sums", sums.as_bytes());
        root.write(
            "etc/passwd",
            format!("me:x:{uid}:{gid}::/:/bin/sh\n").as_bytes(),
        );
        root.write("etc/group", format!("us:x:{gid}:\n").as_bytes());
        root.write(
            "var/lib/dpkg/statoverride",
            format!(
                "me us 4754 /usr/bin/suid\n#{uid} #{gid} 755 /usr/bin/private\n\
                 nobody us 755 /usr/bin/gone\nbad line\n"
            )
            .as_bytes(),
        );
        let db = root.load();
        let warnings = db.warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("statoverride:3: unknown user or group nobody"));
        assert!(warnings[1].contains("statoverride:4: not `owner group mode path`"));
        assert_eq!(
            db.stat_override(b"/usr/bin/suid"),
            Some(&StatOverride {
                uid: Some(uid),
                gid: Some(gid),
                mode: 0o4754
            })
        );

        let v = verify(&db, root.path(), 1, md5_file).expect("verify");
        let mut expect = vec![(
            "/usr/bin/plain".to_string(),
            Deviation::NotRootOwned { uid },
        )];
        if uid == 0 {
            expect.clear();
        }
        expect.push((
            "/usr/bin/private".to_string(),
            Deviation::OverrideMismatch {
                expected: StatOverride {
                    uid: Some(uid),
                    gid: Some(gid),
                    mode: 0o755,
                },
                uid,
                gid,
                mode: 0o700,
            },
        ));
        // suid: as overridden, so neither SetId nor an owner finding.
        let got: Vec<(String, Deviation)> = v
            .findings
            .iter()
            .map(|f| (text(&f.file.path).to_string(), f.deviation.clone()))
            .collect();
        assert_eq!(got, expect);

        if uid == 0 {
            // Only root can give a file away: check the owner finding for real.
            std::os::unix::fs::chown(root.path().join("usr/bin/plain"), Some(4242), None)
                .expect("chown");
            let v = verify(&db, root.path(), 1, md5_file).expect("verify");
            assert_eq!(
                v.findings.first().map(|f| &f.deviation),
                Some(&Deviation::NotRootOwned { uid: 4242 })
            );
        }
    }

    #[test]
    fn symlinks_on_the_way_stay_inside_the_root() {
        let root = TempRoot::new();
        root.write(
            "var/lib/dpkg/status",
            b"Package: pkg\nStatus: install ok installed\n",
        );
        let sums = format!(
            "{}  usr/lib/abs/file\n{}  usr/lib/up/passwd\n{}  usr/lib/loop/file\n\
             {}  usr/lib/notdir/file\n",
            md5_hex(b"abs"),
            md5_hex(b"inside"),
            md5_hex(b"loop"),
            md5_hex(b"x")
        );
        root.write("var/lib/dpkg/info/pkg.md5sums", sums.as_bytes());
        // Absolute: means <root>/opt/real, never the host's /opt/real.
        root.write("opt/real/file", b"abs");
        root.symlink("/opt/real", "usr/lib/abs");
        // `..` past the top stops at the root: <root>/etc/passwd, not the host's.
        root.write("etc/passwd", b"inside");
        root.symlink("../../../../../../../../etc", "usr/lib/up");
        root.symlink("loop2", "usr/lib/loop");
        root.symlink("loop", "usr/lib/loop2");
        root.write("usr/lib/notdir", b"a file where a directory should be");
        let db = root.load();
        let v = verify(&db, root.path(), 1, md5_file).expect("verify");
        let got = summary(&v);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].0, "/usr/lib/loop/file");
        assert!(
            matches!(&got[0].1, Deviation::Unreadable { reason } if reason.contains("Too many levels")),
            "{got:?}"
        );
        assert_eq!(
            got[1],
            ("/usr/lib/notdir/file".to_string(), Deviation::Missing)
        );
    }

    #[test]
    fn fnmatch_like_dpkg() {
        let cases: [(&str, &str, bool); 16] = [
            ("/usr/share/doc/*", "/usr/share/doc/a/b/c", true),
            ("/usr/share/doc/*", "/usr/share/docs", false),
            ("*", "", true),
            ("", "", true),
            ("", "x", false),
            ("/a?c", "/abc", true),
            ("/a?c", "/a/c", true),
            ("/a?c", "/ac", false),
            ("/[a-c]x", "/bx", true),
            ("/[!a-c]x", "/bx", false),
            ("/[^a-c]x", "/dx", true),
            ("/[]]", "/]", true),
            ("/[unclosed", "/[unclosed", true),
            ("/a\\*", "/a*", true),
            ("/a\\*", "/ab", false),
            ("*/copyright*", "/usr/share/doc/x/copyright.gz", true),
        ];
        for (pattern, text, expect) in cases {
            assert_eq!(
                fnmatch(pattern.as_bytes(), text.as_bytes()),
                expect,
                "{pattern} {text}"
            );
        }
    }

    #[test]
    fn md5sums_line_forms() {
        let sum = md5_hex(b"x");
        let parse = |line: String| parse_md5sums_line(line.as_bytes());
        let path = |line: String| parse(line).ok().flatten().map(|d| d.path);
        assert_eq!(
            path(format!("{sum}  usr/bin/x")),
            Some(b"/usr/bin/x".to_vec())
        );
        assert_eq!(
            path(format!("{sum} *usr/bin/x")),
            Some(b"/usr/bin/x".to_vec())
        );
        assert_eq!(
            path(format!("{sum}  ./usr/bin/x")),
            Some(b"/usr/bin/x".to_vec())
        );
        assert_eq!(
            path(format!("{sum}  /usr/bin/x")),
            Some(b"/usr/bin/x".to_vec())
        );
        assert_eq!(
            path(format!("{}  usr/a b  c", sum.to_uppercase())),
            Some(b"/usr/a b  c".to_vec())
        );
        assert_eq!(
            path(format!("\\{sum}  usr/back\\\\slash\\nline")),
            Some(b"/usr/back\\slash\nline".to_vec())
        );
        assert_eq!(parse(String::new()), Ok(None));
        assert!(parse(sum.clone()).is_err());
        assert!(parse(format!("{sum}usr/x")).is_err());
        assert!(parse(format!("{sum}  usr/\0x")).is_err());
        assert!(parse("é".repeat(40)).is_err());
    }

    #[test]
    fn conffile_line_forms() {
        let sum = md5_hex(b"x");
        let parsed = parse_conffile(format!(" /etc/a b.conf {sum}").as_bytes());
        let digest = parsed.ok().flatten().expect("valid");
        assert_eq!(digest.path, b"/etc/a b.conf");
        assert_eq!(digest.md5, md5_of(b"x"));
        let skipped = |line: String| matches!(parse_conffile(line.as_bytes()), Ok(None));
        assert!(skipped(format!(" /etc/a {sum} obsolete")));
        assert!(skipped(format!(" /etc/a {sum} remove-on-upgrade")));
        assert!(skipped(format!(" /etc/a {sum} obsolete remove-on-upgrade")));
        assert!(skipped(" /etc/a newconffile".to_string()));
        assert!(parse_conffile(b" /etc/a").is_err());
        assert!(parse_conffile(b" obsolete").is_err());
        assert!(parse_conffile(b"").is_err());
    }

    /// No input makes the parsers panic.
    #[test]
    fn garbage_never_panics() {
        let mut rng = crate::testing::SplitMix(0x9e37_79b9_7f4a_7c15);
        let mut next = || rng.next_u64();
        let alphabet = b"Package:Status install ok installed\n Conffiles /*?[]!^-\\.:0af9 ";
        let mut warnings = Vec::new();
        for _ in 0..3000 {
            let len = (next() % 80) as usize;
            let input: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    match alphabet.get((r % 80) as usize) {
                        Some(&b) => b,
                        None => (r >> 8) as u8,
                    }
                })
                .collect();
            let _ = parse_md5sums_line(&input);
            let _ = parse_conffile(&input);
            let _ = parse_status(&input, Path::new("status"), &mut warnings);
            let _ = fnmatch(&input, b"/usr/share/doc/x");
            let half = input.len() / 2;
            let _ = fnmatch(&input[..half], &input[half..]);
        }
    }

    /// On a Debian-like host, the real database has coreutils' `ls` with the digest
    /// `md5sum` prints for it. Skipped where there is no dpkg database.
    #[test]
    fn real_database_has_ls() {
        if !Path::new("/var/lib/dpkg/status").exists() {
            eprintln!("no /var/lib/dpkg/status: skipped");
            return;
        }
        let db = PackageDb::load(Path::new("/")).expect("load /var/lib/dpkg");
        assert!(db.len() > 100, "{} entries", db.len());
        let ls = ["/usr/bin/ls", "/bin/ls"]
            .iter()
            .find_map(|p| db.get(p.as_bytes()))
            .expect("ls is in the database");
        assert_eq!(&*ls.package, "coreutils");
        assert_eq!(db.get(b"/bin/ls"), db.get(b"/usr/bin/ls"));
        let host = Path::new(OsStr::from_bytes(&ls.path));
        let output = std::process::Command::new("md5sum").arg(host).output();
        let Ok(output) = output else {
            eprintln!("no md5sum: digest not compared");
            return;
        };
        let printed = String::from_utf8_lossy(&output.stdout);
        let printed = printed.split_whitespace().next().unwrap_or_default();
        assert_eq!(hex::encode(&ls.md5), printed);
        assert_eq!(ls.md5.len(), 16);
    }
}
