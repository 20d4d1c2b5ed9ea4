//! What each change is worth: the policy's verdict, the built-in detectors, moves, new hard
//! links and IOC hits, applied to a [`Diff`].
//!
//! The diff says what differs; this module says what matters. It never removes a change from
//! the diff (the rsync formats print the diff as it is); it decides which changes a person is
//! shown, how severe each is and why, and the exit code of a checked run:
//! - the policy's rule for the entry's absolute path gives a severity and the attributes
//!   that count; a change of nothing that counts, or under an `ignore` rule, is not shown
//!   (it is counted in the summary);
//! - a `growing` file (a log) that only grew, with its first old-size bytes unchanged, is not
//!   shown; a shrink or a change of what was there before is;
//! - detectors report what is suspicious whatever the rules say (a new set-id file, a
//!   world-writable file in a system directory, a regular file in /dev, a hidden entry in a
//!   binary directory, an executable given to another owner, a new hard link to a file);
//! - a removed and an added regular file with the same size and content, the only ones of
//!   that content among the removed and the added, are one move, not two changes; never
//!   for empty files (hashdeep reports every empty file as moved);
//! - an IOC hit is critical, on a changed file or an unchanged one.

use std::collections::HashMap;

use crate::attrs::{Acl, Attrs, APPEND, IMMUTABLE};
use crate::diff::{Change, ChangeKind, Diff};
use crate::exit::Bits;
use crate::fim::ioc::{HashKind, IocSet};
use crate::fim::packages::PackageDb;
use crate::fim::policy::{entry_path, Policy, Verdict};
use crate::fim::severity::{Attribute, Severity};
use crate::hash::Digest;
use crate::record::{Content, Kind, Record};

/// What happened, as a report shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// An entry in the new tree only.
    Added,
    /// An entry in the old tree only.
    Removed,
    /// A removed and an added file with the same content: see the module docs.
    Moved,
    /// The entry's type changed (a file became a symlink, a directory a file...).
    TypeChanged,
    /// The entry's content or metadata changed.
    Modified,
    /// One side could not see the entry or its content.
    Unverified,
    /// Not changed at all, but on an IOC list.
    Listed,
}

impl Event {
    /// The event's name in reports (`added`, `type_changed`...).
    pub fn name(self) -> &'static str {
        match self {
            Event::Added => "added",
            Event::Removed => "removed",
            Event::Moved => "moved",
            Event::TypeChanged => "type_changed",
            Event::Modified => "modified",
            Event::Unverified => "unverified",
            Event::Listed => "listed",
        }
    }
}

/// A suspicious change that the detectors report whatever the rules say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detector {
    /// A new file with the setuid or setgid bit.
    NewSetid,
    /// A setuid or setgid bit added to an existing file.
    SetidAdded,
    /// A world-writable entry in a system directory (sticky directories excepted).
    WorldWritable,
    /// A regular file in /dev, where only device nodes belong: a classic hiding place.
    FileInDev,
    /// A new hidden entry directly in a binary or library directory.
    HiddenInBinDir,
    /// An executable file that changed owner or group.
    ExecutableOwnerChanged,
    /// A new hard link to a file that existed: it keeps the old content alive under a name
    /// an upgrade of the original will not touch (a link to a setuid binary keeps its hole).
    NewHardLink,
    /// A new file with file capabilities: root's powers (`cap_setuid`, `cap_sys_admin`...)
    /// without a set-id bit for a set-id search to find.
    NewCaps,
    /// Capabilities given to an existing file, or widened (a capability, or a set it is in,
    /// added).
    CapsAdded,
    /// The immutable or append-only flag newly set on an entry in a system directory:
    /// cryptominers `chattr +i` their binaries and cron entries so that a clean-up, and
    /// the package manager, cannot replace them.
    ImmutableInSystemDir,
    /// An ACL that newly lets a named user or group write (through its mask): a grant the
    /// mode's bits do not show.
    AclGrantsWrite,
}

impl Detector {
    /// The detector's name in reports (`new_setid`...).
    pub fn name(self) -> &'static str {
        match self {
            Detector::NewSetid => "new_setid",
            Detector::SetidAdded => "setid_added",
            Detector::WorldWritable => "world_writable",
            Detector::FileInDev => "file_in_dev",
            Detector::HiddenInBinDir => "hidden_in_bin_dir",
            Detector::ExecutableOwnerChanged => "executable_owner_changed",
            Detector::NewHardLink => "new_hard_link",
            Detector::NewCaps => "new_caps",
            Detector::CapsAdded => "caps_added",
            Detector::ImmutableInSystemDir => "immutable_in_system_dir",
            Detector::AclGrantsWrite => "acl_grants_write",
        }
    }

    /// Set-id and capability changes are how a local root is kept: critical; the others
    /// high.
    pub fn severity(self) -> Severity {
        match self {
            Detector::NewSetid | Detector::SetidAdded | Detector::NewCaps | Detector::CapsAdded => {
                Severity::Critical
            }
            _ => Severity::High,
        }
    }
}

/// An IOC list entry that a file's digest matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IocHit {
    /// The list, as it was given.
    pub list: std::path::PathBuf,
    /// 1-based line of the digest in that file.
    pub line: u64,
    /// The kind of digest that matched.
    pub kind: HashKind,
}

/// One thing a report shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What happened.
    pub event: Event,
    /// The entry's `%n` name (raw bytes); for a move, the new name.
    pub name: Vec<u8>,
    /// The absolute path the policy judged.
    pub path: Vec<u8>,
    /// Index of the change in [`Diff::changes`] (`None` for [`Event::Listed`]).
    pub change: Option<usize>,
    /// For a move: the index of the removal and the old name.
    pub moved_from: Option<(usize, Vec<u8>)>,
    /// How much it matters: the rule's severity (low when the changed attributes do not count
    /// under it), raised by any detector, critical on an IOC hit.
    pub severity: Severity,
    /// Index of the deciding rule in the config (`None`: no rule matched).
    pub rule: Option<usize>,
    /// The changed fields that count under the rule (modifications only).
    pub fields: Vec<Attribute>,
    /// The detectors that fired on this entry.
    pub detectors: Vec<Detector>,
    /// The known-bad lists that hold one of the entry's new digests.
    pub ioc: Vec<IocHit>,
    /// For a new hard link: the existing name it links to.
    pub link_to: Option<Vec<u8>>,
    /// The package whose digest the new content matches: an expected package update.
    pub package: Option<String>,
}

/// Findings by severity, most severe first, and what was left out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Assessment {
    /// Most severe first; in rsync order within a severity.
    pub findings: Vec<Finding>,
    /// Changes not shown: under an `ignore` rule, or changing only attributes that do not count.
    pub not_counted: u64,
    /// Growing files that only grew.
    pub grew: u64,
}

impl Assessment {
    /// The exit-code bits of what is shown: a move counts as added and removed, as the raw
    /// diff would.
    pub fn exit_bits(&self) -> Bits {
        let mut bits = Bits::NONE;
        for f in &self.findings {
            bits |= match f.event {
                Event::Added => Bits::ADDED,
                Event::Removed => Bits::REMOVED,
                Event::Moved => Bits::ADDED | Bits::REMOVED,
                Event::TypeChanged | Event::Modified => Bits::CHANGED,
                Event::Unverified => Bits::INCOMPLETE,
                Event::Listed => Bits::NONE,
            };
            if !f.ioc.is_empty() {
                bits |= Bits::IOC;
            }
        }
        bits
    }

    /// How many findings are of this kind.
    pub fn count(&self, event: Event) -> usize {
        self.findings.iter().filter(|f| f.event == event).count()
    }

    /// How many findings of each severity, most severe first.
    pub fn counts(&self) -> Vec<(Severity, usize)> {
        let mut counts: Vec<(Severity, usize)> = Vec::new();
        for f in &self.findings {
            match counts.last_mut() {
                Some((s, n)) if *s == f.severity => *n += 1,
                _ => counts.push((f.severity, 1)),
            }
        }
        counts
    }
}

/// What the assessment needs besides the diff.
pub struct Inputs<'a> {
    /// The rules the changes are judged by.
    pub policy: &'a Policy,
    /// The rsync sources the new side was scanned from, absolute: entry names are resolved
    /// against them. Empty (an rsync log): names are taken as relative to `/`.
    pub roots: &'a [Vec<u8>],
    /// IOC hits of the scan by `%n` name, for files changed or not.
    pub ioc_hits: &'a HashMap<Vec<u8>, Vec<IocHit>>,
    /// For a growing file, by `%n` name: the checksum of its first `len` bytes (with the old
    /// side's algorithm) as the scan read them ([`crate::scan::Prefixes`]), if it took one.
    pub prefix_digest: &'a dyn Fn(&[u8], u64) -> Option<Digest>,
    /// The dpkg database (`--packages`), when the checksums are MD5 as dpkg's are: a file
    /// whose new content is its package's is an expected update, of low severity.
    pub packages: Option<&'a PackageDb>,
}

/// Assess every change of `diff`; see the module docs.
pub fn assess(diff: &Diff, inputs: &Inputs) -> Assessment {
    let mut out = Assessment::default();
    let moves = find_moves(&diff.changes);
    // The removal halves of the moves, shown with their additions.
    let moved_away: std::collections::HashSet<usize> = moves.values().copied().collect();
    let links = known_links(diff);
    let mut path = Vec::new();
    for (i, change) in diff.changes.iter().enumerate() {
        if moved_away.contains(&i) {
            continue;
        }
        let event = event_of(change, &moves, i);
        resolve_path(inputs.roots, change.name(), &mut path);
        let mut verdict = inputs.policy.classify(&path, change.is_dir());
        let mut moved_from = None;
        if let Some(&from) = moves.get(&i) {
            let old = &diff.changes[from];
            let mut old_path = Vec::new();
            resolve_path(inputs.roots, old.name(), &mut old_path);
            let old_verdict = inputs.policy.classify(&old_path, false);
            if old_verdict.severity > verdict.severity {
                verdict = old_verdict;
            }
            moved_from = Some((from, old.name().to_vec()));
        }
        let detectors = detect(change, &path, &links);
        let ioc = inputs
            .ioc_hits
            .get(change.name())
            .cloned()
            .unwrap_or_default();
        let fields = match &change.kind {
            ChangeKind::Modified(fields) => counted_fields(fields, verdict),
            _ => Vec::new(),
        };
        let counts = !verdict.is_ignored()
            && match &change.kind {
                ChangeKind::Modified(_) => !fields.is_empty(),
                ChangeKind::TypeChanged => verdict.counts(Attribute::Type),
                _ => true,
            };
        if counts && verdict.growing && only_grew(change, inputs) {
            out.grew += 1;
            continue;
        }
        if !counts && detectors.is_empty() && ioc.is_empty() {
            out.not_counted += 1;
            continue;
        }
        let package = package_update(change, &path, inputs.packages);
        if package.is_some() {
            verdict.severity = verdict.severity.min(Severity::Low);
        }
        let severity = severity(verdict, counts, &detectors, &ioc);
        let link_to = detectors
            .contains(&Detector::NewHardLink)
            .then(|| link_target(change, &links))
            .flatten();
        out.findings.push(Finding {
            event,
            name: change.name().to_vec(),
            path: path.clone(),
            change: Some(i),
            moved_from,
            severity,
            rule: verdict.rule,
            fields,
            detectors,
            ioc,
            link_to,
            package,
        });
    }
    listed_unchanged(diff, inputs, &mut out.findings);
    // Stable: rsync order within each severity.
    out.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out
}

fn event_of(change: &Change, moves: &HashMap<usize, usize>, i: usize) -> Event {
    if moves.contains_key(&i) {
        return Event::Moved;
    }
    match change.kind {
        ChangeKind::Added => Event::Added,
        ChangeKind::Removed => Event::Removed,
        ChangeKind::TypeChanged => Event::TypeChanged,
        ChangeKind::Modified(_) => Event::Modified,
        ChangeKind::Unverified(_) => Event::Unverified,
    }
}

fn severity(verdict: Verdict, counts: bool, detectors: &[Detector], ioc: &[IocHit]) -> Severity {
    let mut severity = if counts {
        verdict.severity
    } else {
        Severity::Low
    };
    for d in detectors {
        severity = severity.max(d.severity());
    }
    if !ioc.is_empty() {
        severity = Severity::Critical;
    }
    severity
}

/// The absolute path of `name`, resolved against the sources (see [`Inputs::roots`]). With
/// several sources, a name belongs to the `dir` source (no trailing slash) named like its
/// first component, or else to the first `dir/` source: where rsync merges several `dir/`
/// sources, the first one is the one that listed the name, most often.
pub(crate) fn resolve_path(roots: &[Vec<u8>], name: &[u8], out: &mut Vec<u8>) {
    let first = name.split(|&b| b == b'/').next().unwrap_or(name);
    let source = roots
        .iter()
        .find(|r| !r.ends_with(b"/") && r.rsplit(|&b| b == b'/').next() == Some(first))
        .or_else(|| roots.iter().find(|r| r.ends_with(b"/")))
        .or(roots.first());
    match source {
        Some(source) => entry_path(source, name, out),
        None => entry_path(b"/", name, out),
    }
}

/// The changed fields that the rule counts.
fn counted_fields(fields: &[Attribute], verdict: Verdict) -> Vec<Attribute> {
    fields
        .iter()
        .copied()
        .filter(|&f| verdict.counts(f))
        .collect()
}

/// A growing file's change is expected when the file only grew: nothing but its size,
/// content and times changed, it is not smaller, and its first old-size bytes, as the scan
/// read them, still hash to the old checksum.
fn only_grew(change: &Change, inputs: &Inputs) -> bool {
    let (ChangeKind::Modified(fields), Some(old), Some(new)) =
        (&change.kind, &change.old, &change.new)
    else {
        return false;
    };
    let growth = [
        Attribute::Content,
        Attribute::Size,
        Attribute::Mtime,
        Attribute::Ctime,
    ];
    if !fields.iter().all(|f| growth.contains(f)) {
        return false;
    }
    let (Some(o), Some(n)) = (old.meta, new.meta) else {
        return false;
    };
    if n.size < o.size {
        return false;
    }
    match (&old.content, fields.contains(&Attribute::Content)) {
        (_, false) => true,
        (Content::Digest(d), true) => {
            (inputs.prefix_digest)(change.name(), o.size).as_ref() == Some(d)
        }
        _ => false,
    }
}

/// Does `may` hold for the directory some root's names hang from (an item source's parent,
/// since its own last component is the first component of its names)? True without roots,
/// where names are absolute.
pub(crate) fn under_roots(roots: &[Vec<u8>], may: impl Fn(&[u8]) -> bool) -> bool {
    roots.is_empty()
        || roots.iter().any(|root| {
            let dir = match root.iter().rposition(|&b| b == b'/') {
                Some(i) if !root.ends_with(b"/") => &root[..=i],
                _ => &root[..],
            };
            may(dir)
        })
}

/// The regular files with a checksum among `records` (a baseline's) that a `growing` rule
/// covers, by `%n` name, with their recorded sizes: the files a scan takes prefix checksums
/// of ([`crate::scan::Prefixes`]) for [`Inputs::prefix_digest`]. Names resolve against
/// `roots` as in [`assess`].
pub fn growing_files<E>(
    records: impl Iterator<Item = Result<Record, E>>,
    roots: &[Vec<u8>],
    policy: &Policy,
) -> Result<HashMap<Vec<u8>, u64>, E> {
    let mut out = HashMap::new();
    if !under_roots(roots, |dir| policy.may_grow_under(dir)) {
        return Ok(out);
    }
    let mut path = Vec::new();
    for record in records {
        let record = record?;
        let (Kind::File, Some(meta), Content::Digest(_)) =
            (record.kind, record.meta, &record.content)
        else {
            continue;
        };
        resolve_path(roots, &record.name, &mut path);
        if policy.classify(&path, false).growing {
            out.insert(record.name, meta.size);
        }
    }
    Ok(out)
}

/// Pairs of (added index -> removed index) that are one move: one removed and one added
/// file of the same non-empty content (and the same size where both sides know it: an
/// rsync log records none).
fn find_moves(changes: &[Change]) -> HashMap<usize, usize> {
    // Content key: the checksum, with the size where known; `None` for what cannot be a
    // move.
    let key = |r: Option<&Record>| -> Option<(Digest, Option<u64>)> {
        let r = r?;
        let size = r.meta.map(|m| m.size);
        match (r.kind, size, &r.content) {
            (Kind::File, Some(size), Content::Digest(d)) if size > 0 => Some((*d, Some(size))),
            // Without a size, an empty file's digest is well known, so the digest alone
            // still rules out empty files.
            (Kind::File, None, Content::Digest(d)) if !is_empty_digest(d) => Some((*d, None)),
            _ => None,
        }
    };
    let mut removed: HashMap<Digest, Vec<(usize, Option<u64>)>> = HashMap::new();
    let mut added: HashMap<Digest, Vec<(usize, Option<u64>)>> = HashMap::new();
    for (i, c) in changes.iter().enumerate() {
        let (side, record) = match c.kind {
            ChangeKind::Removed => (&mut removed, c.old.as_ref()),
            ChangeKind::Added => (&mut added, c.new.as_ref()),
            _ => continue,
        };
        if let Some((digest, size)) = key(record) {
            side.entry(digest).or_default().push((i, size));
        }
    }
    added
        .into_iter()
        .filter_map(
            |(digest, to)| match (to.as_slice(), removed.get(&digest).map(Vec::as_slice)) {
                ([(to, a)], Some([(from, b)])) if a.zip(*b).is_none_or(|(a, b)| a == b) => {
                    Some((*to, *from))
                }
                _ => None,
            },
        )
        .collect()
}

/// The digest of empty content in every algorithm fimsum knows.
fn is_empty_digest(d: &Digest) -> bool {
    crate::hash::Algorithm::ALL
        .iter()
        .any(|a| a.digest_len() == d.as_bytes().len() && a.digest(b"") == *d)
}

/// Directories whose entries are system files: a world-writable entry there is a finding.
const SYSTEM_DIRS: [&[u8]; 9] = [
    b"/bin", b"/sbin", b"/lib", b"/lib32", b"/lib64", b"/libx32", b"/usr", b"/etc", b"/boot",
];

/// Directories whose hidden direct children are a finding: binaries and libraries are never
/// hidden, so a dot-name there is an attempt not to be seen.
const BIN_DIRS: [&[u8]; 12] = [
    b"/bin",
    b"/sbin",
    b"/usr/bin",
    b"/usr/sbin",
    b"/usr/local/bin",
    b"/usr/local/sbin",
    b"/lib",
    b"/lib64",
    b"/usr/lib",
    b"/usr/lib64",
    b"/usr/libexec",
    b"/usr/local/lib",
];

fn is_under(path: &[u8], dir: &[u8]) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
}

/// The detectors that fire for one change.
fn detect(change: &Change, path: &[u8], old_links: &HashMap<(u64, u64), Vec<u8>>) -> Vec<Detector> {
    let mut found = Vec::new();
    let (old, new) = (change.old.as_ref(), change.new.as_ref());
    let Some(new) = new else {
        return found;
    };
    let new_mode = new.meta.map_or(0, |m| m.mode);
    let old_mode = old.and_then(|o| o.meta).map_or(0, |m| m.mode);
    let appeared = matches!(change.kind, ChangeKind::Added | ChangeKind::TypeChanged);
    // What an entry was is known only where its old record has metadata: one from an
    // rsync log has none, and a detector of a change in metadata must not fire on a guess.
    let was_known = old.is_some_and(|o| o.meta.is_some());
    const SETID: u32 = 0o6000;
    if new.kind == Kind::File && new_mode & SETID != 0 {
        if appeared {
            found.push(Detector::NewSetid);
        } else if was_known && new_mode & !old_mode & SETID != 0 {
            found.push(Detector::SetidAdded);
        }
    }
    let world_writable = |mode: u32, kind: Kind| {
        mode & 0o002 != 0 && kind != Kind::Symlink && !(kind == Kind::Dir && mode & 0o1000 != 0)
    };
    if world_writable(new_mode, new.kind)
        && (appeared || (was_known && !world_writable(old_mode, new.kind)))
        && SYSTEM_DIRS.iter().any(|d| is_under(path, d))
    {
        found.push(Detector::WorldWritable);
    }
    if appeared && new.kind == Kind::File && is_under(path, b"/dev") {
        found.push(Detector::FileInDev);
    }
    if appeared {
        if let Some(slash) = path.iter().rposition(|&b| b == b'/') {
            let (parent, leaf) = (&path[..slash], &path[slash + 1..]);
            if leaf.starts_with(b".") && BIN_DIRS.contains(&parent) {
                found.push(Detector::HiddenInBinDir);
            }
        }
    }
    if let ChangeKind::Modified(fields) = &change.kind {
        let owner = fields.contains(&Attribute::Owner) || fields.contains(&Attribute::Group);
        if owner && new.kind == Kind::File && (new_mode | old_mode) & 0o111 != 0 {
            found.push(Detector::ExecutableOwnerChanged);
        }
    }
    if change.kind == ChangeKind::Added && link_target(change, old_links).is_some() {
        found.push(Detector::NewHardLink);
    }
    detect_attrs(appeared, old, new, path, &mut found);
    found
}

/// The detectors of security attributes. What an entry had is known only where its old
/// record has them: one from a baseline of format 4, a log or a scan with `--no-attrs` has
/// none, and the detectors of what was added must not fire on a guess.
fn detect_attrs(
    appeared: bool,
    old: Option<&Record>,
    new: &Record,
    path: &[u8],
    found: &mut Vec<Detector>,
) {
    let Some(attrs) = new.attrs.as_ref() else {
        return;
    };
    let before: Option<&Attrs> = match appeared {
        true => None,
        false => match old.and_then(|o| o.attrs.as_ref()) {
            Some(before) => Some(before),
            None => return,
        },
    };
    if let (Kind::File, Some(caps)) = (new.kind, &attrs.ext().caps) {
        match before.map(|b| &b.ext().caps) {
            None => found.push(Detector::NewCaps),
            Some(None) => found.push(Detector::CapsAdded),
            Some(Some(old)) if caps.widens(old) => found.push(Detector::CapsAdded),
            Some(Some(_)) => {}
        }
    }
    const LOCKED: u32 = IMMUTABLE | APPEND;
    let locked = attrs.flags.map_or(0, |f| f.0 & LOCKED);
    // Flags the old scan could not read are not known to have been clear.
    let was_locked = match before {
        None => Some(0),
        Some(b) => b.flags.map(|f| f.0 & LOCKED),
    };
    if let Some(was) = was_locked {
        let system = SYSTEM_DIRS.iter().any(|d| path == *d || is_under(path, d));
        if locked & !was != 0 && system {
            found.push(Detector::ImmutableInSystemDir);
        }
    }
    let writers = |a: &Attrs| a.ext().acl.as_ref().map(Acl::writers).unwrap_or_default();
    let old_writers = before.map(writers).unwrap_or_default();
    if writers(attrs).iter().any(|w| !old_writers.contains(w)) {
        found.push(Detector::AclGrantsWrite);
    }
}

/// Regular files that existed before, by (device, inode), with their name: the old side's
/// files that had several links, and the files whose link count changed (a new link to a
/// file that had one gives it two). A name that was removed is not there to be linked to:
/// an added name of its inode is a rename (often a move), not a new link.
fn known_links(diff: &Diff) -> HashMap<(u64, u64), Vec<u8>> {
    let removed: std::collections::HashSet<&[u8]> = diff
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Removed)
        .map(Change::name)
        .collect();
    let mut links = diff.old_links.clone();
    links.retain(|_, name| !removed.contains(name.as_slice()));
    for change in &diff.changes {
        if let (ChangeKind::Modified(fields), Some(new)) = (&change.kind, &change.new) {
            if let (true, Kind::File, Some(m)) =
                (fields.contains(&Attribute::Nlink), new.kind, new.meta)
            {
                links
                    .entry((m.dev, m.ino))
                    .or_insert_with(|| new.name.clone());
            }
        }
    }
    links
}

/// The package that ships exactly the new content of a changed or added regular file.
fn package_update(change: &Change, path: &[u8], db: Option<&PackageDb>) -> Option<String> {
    let db = db?;
    if !matches!(change.kind, ChangeKind::Modified(_) | ChangeKind::Added) {
        return None;
    }
    let new = change.new.as_ref().filter(|r| r.kind == Kind::File)?;
    let md5: [u8; 16] = new.content.digest()?.as_bytes().try_into().ok()?;
    db.matching(path, &md5).map(|f| f.package.to_string())
}

/// For an added regular file with several links: the old name of the same inode.
fn link_target(change: &Change, old_links: &HashMap<(u64, u64), Vec<u8>>) -> Option<Vec<u8>> {
    let new = change.new.as_ref().filter(|r| r.kind == Kind::File)?;
    let m = new.meta.filter(|m| m.nlink > 1)?;
    old_links
        .get(&(m.dev, m.ino))
        .filter(|name| name.as_slice() != new.name.as_slice())
        .cloned()
}

/// IOC hits on files that did not change: a finding each.
fn listed_unchanged(diff: &Diff, inputs: &Inputs, findings: &mut Vec<Finding>) {
    if inputs.ioc_hits.is_empty() {
        return;
    }
    let changed: std::collections::HashSet<&[u8]> = diff.changes.iter().map(|c| c.name()).collect();
    let mut names: Vec<&Vec<u8>> = inputs
        .ioc_hits
        .keys()
        .filter(|n| !changed.contains(n.as_slice()))
        .collect();
    names.sort_by(|a, b| crate::rsync::order::cmp_entries(a, false, b, false));
    let mut path = Vec::new();
    for name in names {
        resolve_path(inputs.roots, name, &mut path);
        findings.push(Finding {
            event: Event::Listed,
            name: name.clone(),
            path: path.clone(),
            change: None,
            moved_from: None,
            severity: Severity::Critical,
            rule: inputs.policy.classify(&path, false).rule,
            fields: Vec::new(),
            detectors: Vec::new(),
            ioc: inputs.ioc_hits.get(name).cloned().unwrap_or_default(),
            link_to: None,
            package: None,
        });
    }
}

/// The IOC hits of one record: its main checksum (`main` is its kind, if an IOC kind) and
/// its extra digests.
pub fn ioc_hits(iocs: &IocSet, record: &Record, main: Option<HashKind>) -> Vec<IocHit> {
    let Some(digest) = record.content.digest() else {
        return Vec::new();
    };
    let digests = main
        .map(|kind| (kind, digest))
        .into_iter()
        .chain(record.extra.iter().map(|(kind, d)| (*kind, d)));
    digests
        .filter_map(|(kind, d)| iocs.lookup(kind, d.as_bytes()))
        .map(|hit| IocHit {
            list: hit.list.to_path_buf(),
            line: hit.line,
            kind: hit.kind,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fim::config::Config;
    use crate::test_records;

    /// A file of one inode with one link, so that only what a test sets differs.
    fn file(name: &str, mode: u32, data: &[u8]) -> Record {
        test_records::file(name, data)
            .mode(mode)
            .ino(7)
            .dev(1)
            .nlink(1)
    }

    fn added(r: Record) -> Change {
        Change {
            kind: ChangeKind::Added,
            old: None,
            new: Some(r),
        }
    }

    fn removed(r: Record) -> Change {
        Change {
            kind: ChangeKind::Removed,
            old: Some(r),
            new: None,
        }
    }

    fn run(changes: Vec<Change>) -> Assessment {
        let policy = Policy::new(&Config::default()).unwrap();
        let diff = Diff {
            changes,
            ..Diff::default()
        };
        assess(
            &diff,
            &Inputs {
                policy: &policy,
                roots: &[b"/".to_vec()],
                ioc_hits: &HashMap::new(),
                prefix_digest: &|_, _| None,
                packages: None,
            },
        )
    }

    fn detectors_of(change: Change) -> Vec<Detector> {
        let a = run(vec![change]);
        a.findings
            .first()
            .map(|f| f.detectors.clone())
            .unwrap_or_default()
    }

    #[test]
    fn each_detector_fires_where_it_should_and_not_elsewhere() {
        use Detector::*;
        assert_eq!(
            detectors_of(added(file("usr/bin/.x", 0o755, b"x"))),
            [HiddenInBinDir]
        );
        assert_eq!(detectors_of(added(file("usr/share/.x", 0o644, b"x"))), []);
        assert_eq!(
            detectors_of(added(file("dev/shmx", 0o644, b"x"))),
            [FileInDev]
        );
        assert_eq!(
            detectors_of(added(file("etc/open", 0o666, b"x"))),
            [WorldWritable]
        );
        assert_eq!(detectors_of(added(file("srv/open", 0o666, b"x"))), []);
        assert_eq!(
            detectors_of(added(file("usr/bin/su2", 0o4755, b"x"))),
            [NewSetid]
        );
        let chmod = Change {
            kind: ChangeKind::Modified(vec![Attribute::Mode]),
            old: Some(file("usr/bin/vi", 0o755, b"x")),
            new: Some(file("usr/bin/vi", 0o2755, b"x")),
        };
        assert_eq!(detectors_of(chmod), [SetidAdded]);
        let mut theirs = file("usr/bin/vi", 0o755, b"x");
        theirs.meta.as_mut().unwrap().uid = 1000;
        let chown = Change {
            kind: ChangeKind::Modified(vec![Attribute::Owner]),
            old: Some(file("usr/bin/vi", 0o755, b"x")),
            new: Some(theirs.clone()),
        };
        assert_eq!(detectors_of(chown), [ExecutableOwnerChanged]);
        let mut doc = file("usr/share/doc/x", 0o644, b"x");
        doc.meta.as_mut().unwrap().uid = 1000;
        let chown = Change {
            kind: ChangeKind::Modified(vec![Attribute::Owner]),
            old: Some(file("usr/share/doc/x", 0o644, b"x")),
            new: Some(doc),
        };
        assert_eq!(detectors_of(chown), []);
    }

    /// `file` with these attributes recorded.
    fn with_attrs(mut r: Record, f: impl FnOnce(&mut Attrs)) -> Record {
        let mut attrs = Attrs::default();
        f(&mut attrs);
        r.attrs = Some(attrs);
        r
    }

    fn caps(permitted: u64) -> crate::attrs::Caps {
        crate::attrs::Caps {
            version: 2,
            effective: true,
            permitted,
            inheritable: 0,
            rootid: None,
        }
    }

    fn modified(old: Record, new: Record) -> Change {
        let fields = new
            .attrs
            .as_ref()
            .unwrap()
            .changed(old.attrs.as_ref().unwrap());
        Change {
            kind: ChangeKind::Modified(fields),
            old: Some(old),
            new: Some(new),
        }
    }

    #[test]
    fn attribute_detectors_fire_on_what_was_added_and_only_where_it_is_known() {
        use Detector::*;
        let plain = || with_attrs(file("usr/bin/ping", 0o755, b"x"), |_| {});
        let setuid_cap = || {
            with_attrs(file("usr/bin/ping", 0o755, b"x"), |a| {
                a.ext_mut().caps = Some(caps(1 << 7))
            })
        };
        let a = run(vec![added(setuid_cap())]);
        assert_eq!(a.findings[0].detectors, [NewCaps]);
        assert_eq!(a.findings[0].severity, Severity::Critical);
        assert_eq!(detectors_of(modified(plain(), setuid_cap())), [CapsAdded]);
        let wider = with_attrs(file("usr/bin/ping", 0o755, b"x"), |a| {
            a.ext_mut().caps = Some(caps(1 << 7 | 1 << 21))
        });
        assert_eq!(
            detectors_of(modified(setuid_cap(), wider.clone())),
            [CapsAdded]
        );
        assert_eq!(detectors_of(modified(wider, setuid_cap())), [], "narrowed");
        // An old record without attributes (format 4): nothing is known to have been added.
        let mut unknown = file("usr/bin/ping", 0o755, b"x");
        unknown.meta.as_mut().unwrap().mtime.sec = 1;
        let change = Change {
            kind: ChangeKind::Modified(vec![Attribute::Mtime]),
            old: Some(unknown),
            new: Some(setuid_cap()),
        };
        assert_eq!(detectors_of(change), []);

        let pinned = |name: &str| {
            with_attrs(file(name, 0o755, b"x"), |a| {
                a.flags = Some(crate::attrs::Flags(IMMUTABLE))
            })
        };
        let free = |name: &str| with_attrs(file(name, 0o755, b"x"), |_| {});
        assert_eq!(
            detectors_of(modified(
                free("usr/bin/kdevtmpfsi"),
                pinned("usr/bin/kdevtmpfsi")
            )),
            [ImmutableInSystemDir]
        );
        assert_eq!(
            detectors_of(added(pinned("etc/cron.d/x"))),
            [ImmutableInSystemDir]
        );
        assert_eq!(detectors_of(added(pinned("srv/data"))), []);
        let mut unread = free("usr/bin/x");
        unread.attrs.as_mut().unwrap().flags = None;
        assert_eq!(detectors_of(modified(unread, pinned("usr/bin/x"))), []);

        let acl = |entries: &[(u16, u16, u32)]| {
            crate::attrs::Acl(
                entries
                    .iter()
                    .map(|&(tag, perm, id)| crate::attrs::AclEntry { tag, perm, id })
                    .collect(),
            )
        };
        let shared = with_attrs(file("srv/x", 0o644, b"x"), |a| {
            a.ext_mut().acl = Some(acl(&[
                (1, 6, 0),
                (2, 7, 65534),
                (4, 4, 0),
                (0x10, 7, 0),
                (0x20, 4, 0),
            ]))
        });
        let read_only = with_attrs(file("srv/x", 0o644, b"x"), |a| {
            a.ext_mut().acl = Some(acl(&[
                (1, 6, 0),
                (2, 7, 65534),
                (4, 4, 0),
                (0x10, 5, 0),
                (0x20, 4, 0),
            ]))
        });
        assert_eq!(detectors_of(added(shared.clone())), [AclGrantsWrite]);
        assert_eq!(
            detectors_of(modified(read_only.clone(), shared.clone())),
            [AclGrantsWrite]
        );
        assert_eq!(detectors_of(added(read_only)), []);
        assert_eq!(detectors_of(modified(shared.clone(), shared)), []);
    }

    #[test]
    fn a_detector_is_reported_even_under_an_ignore_rule() {
        // The built-in policy ignores rotated logs; a set-id one still shows, as critical.
        let a = run(vec![added(file("var/log/x.1.gz", 0o4755, b"sh"))]);
        assert_eq!(a.findings.len(), 1);
        assert_eq!(a.findings[0].severity, Severity::Critical);
        let a = run(vec![added(file("var/log/x.2.gz", 0o644, b"x"))]);
        assert!(a.findings.is_empty());
        assert_eq!(a.not_counted, 1);
    }

    #[test]
    fn moves_need_one_removed_and_one_added_file_of_that_content() {
        let a = run(vec![
            removed(file("srv/a", 0o644, b"report")),
            added(file("srv/b", 0o644, b"report")),
        ]);
        assert_eq!(a.findings.len(), 1);
        assert_eq!(a.findings[0].event, Event::Moved);
        assert_eq!(a.findings[0].name, b"srv/b");
        assert_eq!(a.findings[0].moved_from.as_ref().unwrap().1, b"srv/a");
        assert_eq!(a.exit_bits(), Bits::ADDED | Bits::REMOVED);
        // Two copies appear: which one is the moved file is unknowable.
        let a = run(vec![
            removed(file("srv/a", 0o644, b"report")),
            added(file("srv/b", 0o644, b"report")),
            added(file("srv/c", 0o644, b"report")),
        ]);
        assert!(a.findings.iter().all(|f| f.event != Event::Moved));
        // Empty files never move.
        let a = run(vec![
            removed(file("srv/a", 0o644, b"")),
            added(file("srv/b", 0o644, b"")),
        ]);
        assert!(a.findings.iter().all(|f| f.event != Event::Moved));
    }

    #[test]
    fn a_new_link_to_an_existing_file_is_named() {
        let mut old = file("usr/bin/sudo", 0o4755, b"sudo");
        old.meta.as_mut().unwrap().nlink = 1;
        let mut now = old.clone();
        now.meta.as_mut().unwrap().nlink = 2;
        let mut link = now.clone();
        link.name = b"var/tmp/.s".to_vec();
        let a = run(vec![
            Change {
                kind: ChangeKind::Modified(vec![Attribute::Nlink]),
                old: Some(old),
                new: Some(now),
            },
            added(link),
        ]);
        let f = a
            .findings
            .iter()
            .find(|f| f.name == b"var/tmp/.s")
            .expect("link reported");
        assert!(f.detectors.contains(&Detector::NewHardLink));
        assert_eq!(f.link_to.as_deref(), Some(&b"usr/bin/sudo"[..]));
        assert_eq!(f.severity, Severity::Critical);
    }

    #[test]
    fn a_renamed_file_with_other_links_is_a_move_not_a_new_link() {
        let mut old = file("srv/a", 0o644, b"shared");
        old.meta.as_mut().unwrap().nlink = 2;
        let mut new = old.clone();
        new.name = b"srv/b".to_vec();
        let mut diff = Diff {
            changes: vec![removed(old.clone()), added(new)],
            ..Diff::default()
        };
        diff.old_links.insert((1, 7), b"srv/a".to_vec());
        let policy = Policy::new(&Config::default()).unwrap();
        let a = assess(
            &diff,
            &Inputs {
                policy: &policy,
                roots: &[b"/".to_vec()],
                ioc_hits: &HashMap::new(),
                prefix_digest: &|_, _| None,
                packages: None,
            },
        );
        assert_eq!(a.findings.len(), 1);
        assert_eq!(a.findings[0].event, Event::Moved);
        assert!(a.findings[0].detectors.is_empty(), "{:?}", a.findings[0]);
    }

    #[test]
    fn names_resolve_against_the_source_they_came_from() {
        let mut out = Vec::new();
        let roots = [b"/etc/".to_vec(), b"/usr/bin".to_vec()];
        resolve_path(&roots, b"bin/ls", &mut out);
        assert_eq!(out, b"/usr/bin/ls");
        resolve_path(&roots, b"passwd", &mut out);
        assert_eq!(out, b"/etc/passwd");
        resolve_path(&[], b"etc/passwd", &mut out);
        assert_eq!(out, b"/etc/passwd");
    }
}

#[cfg(test)]
mod package_tests {
    use super::*;
    use crate::fim::config::Config;
    use crate::hash::Algorithm;
    use crate::test_records;

    fn changed(name: &str, old: &[u8], new: &[u8]) -> Change {
        let record = |data: &[u8]| test_records::file(name, data).mode(0o755);
        Change {
            kind: ChangeKind::Modified(vec![Attribute::Content, Attribute::Size]),
            old: Some(record(old)),
            new: Some(record(new)),
        }
    }

    /// A file upgraded to what its package ships is low; one changed to anything else keeps
    /// its rule's severity.
    #[test]
    fn a_file_matching_its_package_digest_is_an_expected_update() {
        let root = tempfile::tempdir().unwrap();
        let admin = root.path().join("var/lib/dpkg");
        std::fs::create_dir_all(admin.join("info")).unwrap();
        std::fs::write(
            admin.join("status"),
            "Package: coreutils\nStatus: install ok installed\n",
        )
        .unwrap();
        let md5 = Algorithm::Md5.digest(b"ls 9.5").to_hex();
        std::fs::write(
            admin.join("info/coreutils.md5sums"),
            format!("{md5}  usr/bin/ls\n"),
        )
        .unwrap();
        let db = PackageDb::load(root.path()).unwrap();
        let policy = Policy::new(&Config::default()).unwrap();
        let diff = Diff {
            changes: vec![
                changed("usr/bin/ls", b"ls 9.4", b"ls 9.5"),
                changed("usr/bin/ls2", b"ls 9.4", b"ls 9.5"),
            ],
            ..Diff::default()
        };
        let a = assess(
            &diff,
            &Inputs {
                policy: &policy,
                roots: &[b"/".to_vec()],
                ioc_hits: &HashMap::new(),
                prefix_digest: &|_, _| None,
                packages: Some(&db),
            },
        );
        let ls = a.findings.iter().find(|f| f.name == b"usr/bin/ls").unwrap();
        assert_eq!(ls.package.as_deref(), Some("coreutils"));
        assert_eq!(ls.severity, Severity::Low);
        let other = a
            .findings
            .iter()
            .find(|f| f.name == b"usr/bin/ls2")
            .unwrap();
        assert_eq!(other.package, None);
        assert_eq!(other.severity, Severity::High);
    }
}
