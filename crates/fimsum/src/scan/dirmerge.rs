//! rsync's per-directory merge files (`dir-merge`/`:` rules, `-F`, `-C`'s `.cvsignore`),
//! read as the walk lists each directory, so that the filter decides there as rsync's
//! `push_local_filters` (exclude.c) makes it decide.
//!
//! Each dir-merge rule keeps one list of rules per directory level: a directory's file's
//! rules first, then (unless the rule has `n`) the list in force in its parent; a `!`
//! rule in a file drops everything before it, inherited rules too. Anchored patterns of a
//! file are anchored at the file's directory (rsync makes them absolute paths). The first
//! directory listed also gets the files of the directories above it, from the one the
//! rule's name points into (a name with a `/`: `/.rsync-filter` starts at `/`) down to its
//! parent (rsync's `setup_merge_file`). A merge file is opened without following a symlink
//! and without blocking on a FIFO; one that is there but is not a readable regular file
//! (a symlink, a FIFO, unreadable) is a problem naming it, and the walk goes on without
//! its rules (rsync goes on without them silently, after following a symlink it trusts).

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::sync::Arc;

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use crate::rsync::filter::{parse_merge_contents, DirMerge, Filter, MergeItem, Rule};
use crate::scan::read::describe;

/// A merge file larger than this is refused rather than read into memory.
const MERGE_FILE_LIMIT: u64 = 16 << 20;

/// The per-directory rules in force where the walk is, by directory depth.
#[derive(Debug, Default)]
pub(crate) struct DirRules {
    /// The absolute paths the walk's names are relative to (rsync's `curr_dir`, one a
    /// source), without a trailing slash; empty for `/`. The first is the first source's.
    bases: Vec<Vec<u8>>,
    /// The base of the source being added, while the walk adds its sources.
    current: usize,
    /// The top-level names of the sources whose base is not the first's, with their base.
    tops: HashMap<Vec<u8>, usize>,
    /// The walk has added all its sources: a name's base is found by its top-level name.
    walking: bool,
    /// One entry for each directory level whose files have been read, deepest last.
    layers: Vec<Layer>,
    /// The directories above the first one listed have been read.
    set_up: bool,
}

#[derive(Debug)]
struct Layer {
    depth: usize,
    /// For each dir-merge rule, its rules in force in this directory.
    lists: Vec<Arc<[Rule]>>,
}

/// A merge file that could not be used: its path relative to the walk (or absolute, above
/// it), and why.
pub(crate) type Trouble = (Vec<u8>, String);

impl DirRules {
    /// Rules for a walk whose names are relative to `base` (absolute, as rsync's
    /// `curr_dir` is: the current directory joined with the source's directory).
    pub(crate) fn new() -> DirRules {
        DirRules::default()
    }

    /// The walk adds a source whose names are relative to `base` (absolute, as rsync's
    /// `curr_dir` is: the current directory joined with the source's directory).
    pub(crate) fn source(&mut self, base: &[u8]) {
        let mut base = clean(base);
        if base == b"/" {
            base.clear();
        }
        self.current = match self.bases.iter().position(|b| *b == base) {
            Some(i) => i,
            None => {
                self.bases.push(base);
                self.bases.len() - 1
            }
        };
    }

    /// These top-level names came from the source last given to [`DirRules::source`].
    pub(crate) fn tops<'a>(&mut self, names: impl Iterator<Item = &'a [u8]>) {
        if self.current != 0 {
            for name in names {
                self.tops.entry(name.to_vec()).or_insert(self.current);
            }
        }
    }

    /// All sources are added: from now on the walk is below their top level.
    pub(crate) fn walking(&mut self) {
        self.walking = true;
    }

    /// The absolute path `name` is relative to: its source's base.
    fn base_abs(&self, name: &[u8]) -> &[u8] {
        let index = match self.walking {
            false => self.current,
            // One source, or all in one directory: no lookup per name.
            true if self.tops.is_empty() => 0,
            true => {
                let top = name.split(|&b| b == b'/').next().unwrap_or_default();
                self.tops.get(top).copied().unwrap_or(0)
            }
        };
        self.bases.get(index).map_or(&[], |b| b.as_slice())
    }

    /// The base of `name` without its leading slash, as [`Filter::is_excluded_in`] wants it.
    pub(crate) fn base(&self, name: &[u8]) -> &[u8] {
        self.base_abs(name).get(1..).unwrap_or_default()
    }

    /// The rules in force for each dir-merge rule where the walk is.
    pub(crate) fn current(&self) -> &[Arc<[Rule]>] {
        self.layers.last().map_or(&[], |l| &l.lists)
    }

    /// The walk lists the directory `dir`, named `rel` (relative to the base, empty for
    /// the base itself), at this depth: what deeper levels read is dropped and its own
    /// files are read. Returns the files that could not be used.
    pub(crate) fn enter(
        &mut self,
        filter: &Filter,
        dir: &OwnedFd,
        rel: &[u8],
        depth: usize,
    ) -> Vec<Trouble> {
        let mut troubles = Vec::new();
        // rsync's send_file_list pushes the filters of the first `dir/` source only: the
        // top level of a later one is listed with the first one's rules (and so are the
        // directories below it, which inherit them).
        if depth == 0 && self.layers.first().is_some_and(|l| l.depth == 0) {
            return troubles;
        }
        self.layers.retain(|l| l.depth < depth);
        let merges = filter.dir_merges();
        if merges.is_empty() {
            return troubles;
        }
        let mut dir_abs = self.base_abs(rel).to_vec();
        if !rel.is_empty() {
            dir_abs.push(b'/');
            dir_abs.extend_from_slice(rel);
        }
        let parent = self.layers.last().map(|l| l.lists.clone());
        let mut lists = Vec::with_capacity(merges.len());
        for (i, merge) in merges.iter().enumerate() {
            let mut inherited = match (&parent, merge.no_inherit) {
                (Some(lists), false) => lists.get(i).map(|l| l.to_vec()).unwrap_or_default(),
                _ => Vec::new(),
            };
            if !self.set_up {
                for above in scanned_dirs(merge, &dir_abs) {
                    let mut path = above.clone();
                    path.push(b'/');
                    path.extend_from_slice(merge.name());
                    let contents = read_at_path(&path);
                    let rules = stack(merge, contents, &above, inherited, &path, &mut troubles);
                    inherited = if merge.no_inherit { Vec::new() } else { rules };
                }
            }
            let contents = read_in(dir, merge.name());
            let mut shown = rel.to_vec();
            if !shown.is_empty() {
                shown.push(b'/');
            }
            shown.extend_from_slice(merge.name());
            lists.push(Arc::from(stack(
                merge,
                contents,
                &dir_abs,
                inherited,
                &shown,
                &mut troubles,
            )));
        }
        self.set_up = true;
        self.layers.push(Layer { depth, lists });
        troubles
    }
}

/// One directory's file on top of the rules it inherits: its own rules first.
fn stack(
    merge: &DirMerge,
    contents: Result<Option<Vec<u8>>, String>,
    dir_abs: &[u8],
    mut inherited: Vec<Rule>,
    shown: &[u8],
    troubles: &mut Vec<Trouble>,
) -> Vec<Rule> {
    let contents = match contents {
        Ok(Some(contents)) => contents,
        Ok(None) => return inherited,
        Err(why) => {
            troubles.push((shown.to_vec(), why));
            return inherited;
        }
    };
    let items = match parse_merge_contents(&contents, merge.template) {
        Ok(items) => items,
        Err(e) => {
            troubles.push((shown.to_vec(), format!("merge file: {e}")));
            return inherited;
        }
    };
    let mut own = Vec::new();
    for item in items {
        match item {
            MergeItem::Clear => {
                own.clear();
                inherited.clear();
            }
            MergeItem::Add(rule) => own.push(rule.anchored_at(dir_abs)),
            MergeItem::DirMerge(text) => troubles.push((
                shown.to_vec(),
                format!(
                    "a dir-merge rule inside a per-directory merge file is not emulated by \
                     fimsum: {:?}",
                    String::from_utf8_lossy(&text)
                ),
            )),
        }
    }
    own.extend(inherited);
    own
}

/// The directories above `dir_abs` whose files rsync reads for this rule before the first
/// directory's: from the directory its name points into, when that is `dir_abs` or above,
/// down to `dir_abs`'s parent. A name without `/` points nowhere.
fn scanned_dirs(merge: &DirMerge, dir_abs: &[u8]) -> Vec<Vec<u8>> {
    if !merge.file.contains(&b'/') {
        return Vec::new();
    }
    let named = if merge.file.first() == Some(&b'/') {
        clean(&merge.file)
    } else {
        let mut joined = dir_abs.to_vec();
        joined.push(b'/');
        joined.extend_from_slice(&merge.file);
        clean(&joined)
    };
    let start = match named.iter().rposition(|&b| b == b'/') {
        Some(0) | None => Vec::new(),
        Some(i) => named[..i].to_vec(),
    };
    let mut prefix = start.clone();
    prefix.push(b'/');
    let mut dir_slash = dir_abs.to_vec();
    dir_slash.push(b'/');
    if !dir_slash.starts_with(&prefix) {
        return Vec::new();
    }
    let mut dirs = Vec::new();
    let mut at = start;
    let rest = &dir_slash[prefix.len()..];
    for component in rest.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
        dirs.push(at.clone());
        at.push(b'/');
        at.extend_from_slice(component);
    }
    dirs
}

/// `path` with `.` components, empty components and `..` (with the component before it)
/// taken out, as rsync's `clean_fname` does; always absolute here.
fn clean(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len() + 1);
    for part in crate::rsync::path::components(path, false) {
        out.push(b'/');
        out.extend_from_slice(part);
    }
    if out.is_empty() {
        out.push(b'/');
    }
    out
}

const OPEN_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::NOFOLLOW)
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOCTTY)
    .union(OFlags::CLOEXEC);

/// The merge file `name` of the directory open as `dir`: `None` when there is none; an
/// error for one that is there but cannot be read as a regular file.
fn read_in(dir: &OwnedFd, name: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let Ok(leaf) = std::ffi::CString::new(name) else {
        return Ok(None);
    };
    read_opened(rustix::fs::openat(
        dir,
        leaf.as_c_str(),
        OPEN_FLAGS,
        Mode::empty(),
    ))
}

/// The merge file at the absolute `path`, above the walk, read as [`read_in`] reads.
fn read_at_path(path: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let Ok(path) = std::ffi::CString::new(path) else {
        return Ok(None);
    };
    read_opened(rustix::fs::open(path.as_c_str(), OPEN_FLAGS, Mode::empty()))
}

fn read_opened(opened: Result<OwnedFd, Errno>) -> Result<Option<Vec<u8>>, String> {
    let fd = match opened {
        Ok(fd) => fd,
        Err(Errno::NOENT | Errno::NOTDIR) => return Ok(None),
        // O_NOFOLLOW met a symlink: rsync 3.5.0 follows one owned by root or by itself
        // and passes over any other; fimsum follows none, and says so.
        Err(Errno::LOOP) => return Err("merge file is a symlink: not followed".into()),
        Err(e) => return Err(format!("cannot open merge file: {}", describe(e))),
    };
    match rustix::fs::fstat(&fd) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => {}
        Ok(_) => return Err("merge file is not a regular file: not read".into()),
        Err(e) => return Err(format!("cannot stat merge file: {}", describe(e))),
    }
    // Reads may block now: a regular file never waits.
    let _ = rustix::fs::fcntl_setfl(&fd, OFlags::empty());
    crate::input::read_bounded(File::from(fd), MERGE_FILE_LIMIT, "merge file")
        .map(Some)
        .map_err(|e| format!("cannot read merge file: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rsync::filter::Template;

    fn merge(file: &str) -> DirMerge {
        DirMerge {
            file: file.as_bytes().to_vec(),
            template: Template::default(),
            no_inherit: false,
        }
    }

    #[test]
    fn names_are_cleaned_as_rsync_cleans_them() {
        assert_eq!(clean(b"/a/./b//c/../d"), b"/a/b/d");
        assert_eq!(clean(b"/.."), b"/");
    }

    #[test]
    fn the_scan_runs_from_the_named_directory_to_the_parent() {
        let dirs = |file: &str, at: &str| -> Vec<String> {
            scanned_dirs(&merge(file), at.as_bytes())
                .into_iter()
                .map(|d| String::from_utf8_lossy(&d).into_owned())
                .collect()
        };
        assert_eq!(dirs("/.rsync-filter", "/r/m/s"), ["", "/r", "/r/m"]);
        assert_eq!(dirs("../.f", "/r/m/s"), ["/r/m"]);
        assert_eq!(dirs("../../.f", "/r/m/s"), ["/r", "/r/m"]);
        assert!(dirs(".f", "/r/m/s").is_empty());
        assert!(dirs("sub/.f", "/r/m/s").is_empty());
        assert!(dirs("/elsewhere/.f", "/r/m/s").is_empty());
    }
}
