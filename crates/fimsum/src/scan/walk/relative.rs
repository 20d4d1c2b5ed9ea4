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

use crate::record::Kind;

use super::{c_path, Event, Selection, SkipReason, Skipped, Walker};

/// The sources of a `-R` walk, in `--files-from`'s terms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The directory the names are relative to: the part before a source's `/./`, `/`
    /// for a source starting with `/./`, else `.`.
    pub base: Vec<u8>,
    /// The names, cleaned as rsync cleans them (`clean_fname`): `.` components, repeated
    /// and trailing slashes dropped; a leading `./` kept, as it lists the base itself.
    pub names: Vec<Vec<u8>>,
}

/// A `-R` source fimsum cannot list as rsync does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RelativeError {
    /// A `..` component after the anchor: rsync refuses it (`found ".." dir in relative
    /// path`, its exit 1).
    DotDot(Vec<u8>),
    /// An absolute source without a `/./`: rsync lists it under its full path from `/`;
    /// not emulated.
    Absolute(Vec<u8>),
    /// Sources relative to different directories (two anchors, or an anchor and none):
    /// rsync merges their listings; not emulated.
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
                "-R with an absolute source without /./ ({}) is not implemented: anchor it \
                 (/./path)",
                String::from_utf8_lossy(source)
            ),
            RelativeError::Bases(a, b) => write!(
                f,
                "-R sources relative to different directories ({} and {}) are not \
                 implemented",
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
    let mut plan: Option<Plan> = None;
    for src in sources {
        let (base, name) = split(src)?;
        match &mut plan {
            None => {
                plan = Some(Plan {
                    base,
                    names: vec![name],
                })
            }
            Some(p) if p.base == base => p.names.push(name),
            Some(p) => return Err(RelativeError::Bases(p.base.clone(), base)),
        }
    }
    Ok(plan.unwrap_or(Plan {
        base: b".".to_vec(),
        names: Vec::new(),
    }))
}

/// One source's base directory and name (rsync's `send_file_list`, relative branch).
fn split(src: &[u8]) -> Result<(Vec<u8>, Vec<u8>), RelativeError> {
    let (base, rest) = match src.windows(3).position(|w| w == b"/./") {
        Some(0) => (b"/".to_vec(), &src[3..]),
        Some(at) => (clean(&src[..at]), &src[at + 3..]),
        None => (b".".to_vec(), src),
    };
    let rest = &rest[rest.iter().position(|&b| b != b'/').unwrap_or(rest.len())..];
    if base == b"." && rest.first() == Some(&b'/') {
        return Err(RelativeError::Absolute(src.to_vec()));
    }
    // A leading `./` (with something after it) lists the base directory itself.
    let dot = rest.len() > 2 && rest.starts_with(b"./");
    let name = clean(rest);
    let dotdot = name.split(|&b| b == b'/').any(|part| part == b"..");
    if dotdot {
        return Err(RelativeError::DotDot(name));
    }
    Ok(match (dot, name.as_slice()) {
        (true, b".") | (false, _) => (base, name),
        (true, _) => (base, [&b"./"[..], &name].concat()),
    })
}

/// A path as rsync's `clean_fname` leaves it: empty and `.` components and the trailing
/// slash dropped, `..` kept; `.` for nothing left. A leading `/` stays.
fn clean(path: &[u8]) -> Vec<u8> {
    let parts: Vec<&[u8]> = path
        .split(|&b| b == b'/')
        .filter(|part| !matches!(*part, b"" | b"."))
        .collect();
    match (path.first() == Some(&b'/'), parts.is_empty()) {
        (true, _) => [&b"/"[..], &parts.join(&b'/')].concat(),
        (false, true) => b".".to_vec(),
        (false, false) => parts.join(&b'/'),
    }
}

impl Walker {
    /// Set up the walk of `-R` sources: the selection of their names, and the one source
    /// it is relative to (none when rsync would refuse them: the problem says why).
    pub(super) fn relative_selection(&mut self, sources: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let Plan { base, names } = match plan(sources) {
            Ok(plan) => plan,
            Err(e) => {
                let name = sources.first().cloned().unwrap_or_default();
                self.problem(name, e.to_string());
                return Vec::new();
            }
        };
        let names = match self.options.listing.recursive {
            true => names,
            false => self.skip_relative_dirs(&base, names),
        };
        self.selection = Some(Selection::new(&names));
        vec![base]
    }

    /// `-R` without `-r`: what rsync says of the sources as it takes them, in their
    /// order: `skipping directory .` for a `.` source and for the first `./name`, and
    /// `skipping directory NAME` for a directory the filter keeps. Returns the names left
    /// to list, without their `./` (the base is not listed either).
    pub(super) fn skip_relative_dirs(&mut self, base: &[u8], names: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let base_fd =
            c_path(base).and_then(|path| rustix::fs::open(path.as_c_str(), flags, Mode::empty()));
        let mut kept = Vec::with_capacity(names.len());
        let mut dot_skipped = false;
        for name in names {
            let body = if name == b"." {
                self.skip_dir(b".".to_vec());
                continue;
            } else if let Some(body) = name.strip_prefix(b"./") {
                if !std::mem::replace(&mut dot_skipped, true) {
                    self.skip_dir(b".".to_vec());
                }
                body.to_vec()
            } else {
                name
            };
            let is_dir = base_fd
                .as_ref()
                .is_ok_and(|fd| kind_below(fd, &body) == Some(Kind::Dir));
            if !is_dir {
                kept.push(body);
            } else if !self.options.filter.is_excluded(&body, true) {
                self.skip_dir(body);
            }
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

/// The kind of `name` below `base`, looked up one component at a time without following
/// a symlink; `None` when it cannot be reached that way (the walk says why).
fn kind_below(base: &OwnedFd, name: &[u8]) -> Option<Kind> {
    let parts: Vec<&[u8]> = name.split(|&b| b == b'/').collect();
    let (last, dirs) = parts.split_last()?;
    let mut held: Option<OwnedFd> = None;
    for part in dirs {
        let leaf = c_path(part).ok()?;
        let dir = held.as_ref().unwrap_or(base);
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        held = Some(rustix::fs::openat(dir, leaf.as_c_str(), flags, Mode::empty()).ok()?);
    }
    let leaf = c_path(last).ok()?;
    let dir = held.as_ref().unwrap_or(base);
    rustix::fs::statat(dir, leaf.as_c_str(), AtFlags::SYMLINK_NOFOLLOW)
        .ok()
        .map(|st| Kind::from_stat(&st))
}
