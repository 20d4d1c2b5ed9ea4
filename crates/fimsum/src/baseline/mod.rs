//! Baseline files: the only module that knows their encoding (bincode 2.0.1).
//!
//! Layout (all integers outside bincode frames are little-endian):
//!
//! ```text
//! magic      8 bytes  "FIMSUMBL"
//! version    u32      FORMAT_VERSION (4; versions 1 to 3 are still read)
//! header     u32 length + bincode(WireHeaderV4)          (at most 1 MiB)
//! count      u64      number of records
//! records    count x (u32 length + bincode(WireRecordV3)) (each at most 1 MiB), in rsync order
//! end        8 bytes  "FIMSUMEN" + SHA-256 of every byte before "FIMSUMEN"
//! signature  optional: "FIMSUMSG" + key id (32 bytes) + Ed25519 signature (64 bytes)
//! ```
//!
//! Records are written one at a time, so a million entries never sit in memory; the count
//! is patched in when the scan ends and the digest is taken over the finished file.
//!
//! The header's generation numbers the baselines written to one path: `scan -o` and
//! `import` ([`BaselineWriter::create_next`]) make it one more than the generation of the
//! baseline they replace (1 if there is none), so a verifier can refuse an older, validly
//! signed baseline played back (`--min-generation`). A signed baseline continues only the
//! numbering of a baseline signed by the same key (see `next_generation`).
//!
//! Version 3 added the extra digests (`scan --digest`): the header lists their kinds, and
//! each regular file with a checksum carries one digest of each kind, in that order, and
//! every other record none. Versions 1 and 2 are read as baselines without extra digests
//! (version 1 also as generation 0); [`BaselineWriter`] always writes version 4.
//!
//! Version 4 added the filesystem types the scan did not enter (`skip_fs`), so that a check
//! walks the tree as the baseline's scan did; its records are version 3's. Versions 1 to 3
//! are read as baselines that do not say ([`Header::skip_fs`] `None`).
//!
//! A signed baseline ends with the fixed-size block of [`crate::baseline::sign`], which covers the
//! bytes from the magic through the record count and the end marker's digest. With a verify
//! key, [`Baseline::open_with`] checks it first ([`check_signature`]): it finds the block
//! and the end marker at fixed offsets from the end of the file, hashes the bytes before
//! them and verifies the signature without decoding anything, not even the header; only
//! then are the header checked against the policy and the records decoded. Without a
//! verify key the block is accepted but not checked (there is nothing to check it with).
//!
//! A baseline is treated as hostile input. bincode 2.0.1 allocates whatever a length prefix
//! claims unless a decode has a limit (a 13-byte file can ask for terabytes), so every frame
//! is length-checked against the limit and the bytes left, decoded with a limit, and must be
//! consumed exactly; records must be in strict rsync order; the end marker, the digest, the
//! signature block (if any) and the end of file must all be where they belong.
//! [`Baseline::open`] checks all of that in a first pass before a single record is handed
//! out, so a truncated or altered file is an error (exit 65) and never a shorter baseline.
//! Both passes, and every reader of the records, read one private copy of the file in
//! memory ([`Baseline`]), so what is decoded is what was verified.
//!
//! The wire structs below mirror the public types on purpose: the file format changes only
//! when this module says so, never by a refactor elsewhere, and decoding validates on the
//! way in (kinds, digest lengths, names).

pub mod sign;

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bincode::{Decode, Encode};
use sha2::{Digest as _, Sha256};

use crate::baseline::sign::{KeyId, PublicKey, SecretKey, SignatureBlock, BLOCK_LEN};
use crate::error::{Error, Result};
use crate::hash::{extra_kinds, Algorithm, Digest, HashKind};
use crate::record::{check_name, Content, Kind, Meta, Record, Timestamp};
use crate::rsync::order::cmp_entries;
use crate::scan::walk::FilterArg;

const MAGIC: &[u8; 8] = b"FIMSUMBL";
const END_MAGIC: &[u8; 8] = b"FIMSUMEN";
/// Version 4: the layout above. Version 3 had no `skip_fs` in the header; version 2 had no
/// extra digests either; version 1 had no generation in the header either and was never
/// signed. All are still read.
pub const FORMAT_VERSION: u32 = 4;
const FRAME_LIMIT: usize = 1 << 20;
const DIGEST_LEN: usize = 32;
/// The end marker and its digest.
const END_LEN: usize = 8 + DIGEST_LEN;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<FRAME_LIMIT>()
}

/// Where a baseline's records came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A fimsum scan: full metadata.
    Scan,
    /// An imported rsync `%n %C` log: names, directory-or-not, checksums; no metadata.
    RsyncLog,
}

/// Everything a baseline says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub algorithm: Algorithm,
    pub origin: Origin,
    /// The source arguments as given.
    pub sources: Vec<Vec<u8>>,
    /// The same sources made absolute (with trailing slashes kept), for `check`.
    pub roots: Vec<Vec<u8>>,
    /// How many times `-x` was given (see [`crate::scan::walk::WalkOptions`]).
    pub one_file_system: u8,
    pub filters: Vec<FilterArg>,
    pub host: String,
    pub created: Timestamp,
    /// Numbers the baselines written to one path (0 for a version-1 baseline); see
    /// [`BaselineWriter::create_next`].
    pub generation: u64,
    pub fimsum_version: String,
    /// The kinds of extra digest every hashed file carries (`scan --digest`), in the
    /// canonical form of [`extra_kinds`]; empty for versions 1 and 2.
    pub extra_digests: Vec<HashKind>,
    /// The filesystem types (`statfs` magic numbers, sorted) whose mount points the scan
    /// listed but did not enter ([`crate::scan::walk::WalkOptions::skip_fs`]), so that `check`
    /// walks the same tree; `None` where the baseline does not say (versions 1 to 3, and a
    /// log's import, which no walk made).
    pub skip_fs: Option<Vec<i64>>,
}

/// Version 1's header, and the first part of the later ones.
#[derive(Encode, Decode)]
struct WireHeader {
    algorithm: u8,
    origin: u8,
    sources: Vec<Vec<u8>>,
    roots: Vec<Vec<u8>>,
    one_file_system: u8,
    filters: Vec<(u8, Vec<u8>)>,
    host: String,
    created_sec: i64,
    created_nsec: u32,
    fimsum_version: String,
}

/// Version 2's header: version 1's, then the generation.
#[derive(Encode, Decode)]
struct WireHeaderV2 {
    v1: WireHeader,
    generation: u64,
}

/// Version 3's header: version 2's, then the extra digests' kinds ([`HashKind::code`]).
#[derive(Encode, Decode)]
struct WireHeaderV3 {
    v2: WireHeaderV2,
    extra_digests: Vec<u8>,
}

/// Version 4's header: version 3's, then the filesystem types not entered.
#[derive(Encode, Decode)]
struct WireHeaderV4 {
    v3: WireHeaderV3,
    skip_fs: Option<Vec<i64>>,
}

#[derive(Encode, Decode)]
struct WireMeta {
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    mtime: (i64, u32),
    ctime: (i64, u32),
    ino: u64,
    dev: u64,
    nlink: u64,
    rdev: u64,
}

#[derive(Encode, Decode)]
enum WireContent {
    None,
    Digest(Vec<u8>),
    Unreadable(String),
    ChangedDuringScan(String),
}

/// A record of versions 1 and 2, and the first part of version 3's.
#[derive(Encode, Decode)]
struct WireRecord {
    name: Vec<u8>,
    kind: u8,
    meta: Option<WireMeta>,
    link_target: Option<Vec<u8>>,
    content: WireContent,
}

/// Version 3's record: version 2's, then the extra digests (raw bytes) in the order of the
/// header's list, for a regular file with a checksum; none for any other record. The kinds
/// are not repeated here: the header says them once.
#[derive(Encode, Decode)]
struct WireRecordV3 {
    v2: WireRecord,
    extra: Vec<Vec<u8>>,
}

/// What decoding a record needs to know from the header.
#[derive(Clone, Debug)]
struct RecordFormat {
    version: u32,
    algorithm: Algorithm,
    extra: Vec<HashKind>,
}

impl RecordFormat {
    fn new(version: u32, header: &Header) -> RecordFormat {
        RecordFormat {
            version,
            algorithm: header.algorithm,
            extra: header.extra_digests.clone(),
        }
    }
}

fn kind_code(kind: Kind) -> u8 {
    Kind::ALL.iter().position(|&k| k == kind).unwrap_or(7) as u8
}

impl WireHeader {
    fn from_header(h: &Header) -> WireHeader {
        WireHeader {
            algorithm: h.algorithm.code(),
            origin: match h.origin {
                Origin::Scan => 0,
                Origin::RsyncLog => 1,
            },
            sources: h.sources.clone(),
            roots: h.roots.clone(),
            one_file_system: h.one_file_system,
            filters: h.filters.iter().map(FilterArg::to_code).collect(),
            host: h.host.clone(),
            created_sec: h.created.sec,
            created_nsec: h.created.nsec,
            fimsum_version: h.fimsum_version.clone(),
        }
    }

    fn into_header(
        self,
        generation: u64,
        extra_codes: Vec<u8>,
        skip_fs: Option<Vec<i64>>,
    ) -> std::result::Result<Header, String> {
        let filters = self
            .filters
            .into_iter()
            .map(|(code, bytes)| FilterArg::from_code(code, bytes).ok_or("unknown filter kind"))
            .collect::<std::result::Result<_, _>>()?;
        let algorithm = Algorithm::from_code(self.algorithm)
            .ok_or_else(|| format!("unknown checksum algorithm code {}", self.algorithm))?;
        let extra_digests = extra_codes
            .into_iter()
            .map(|c| HashKind::from_code(c).ok_or_else(|| format!("unknown digest code {c}")))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if extra_digests != extra_kinds(algorithm, extra_digests.iter().copied()) {
            return Err(format!(
                "extra digests {extra_digests:?} repeated, out of order or the checksum itself"
            ));
        }
        Ok(Header {
            algorithm,
            origin: match self.origin {
                0 => Origin::Scan,
                1 => Origin::RsyncLog,
                n => return Err(format!("unknown origin code {n}")),
            },
            sources: self.sources,
            roots: self.roots,
            one_file_system: self.one_file_system,
            filters,
            host: self.host,
            created: Timestamp {
                sec: self.created_sec,
                nsec: self.created_nsec,
            },
            generation,
            fimsum_version: self.fimsum_version,
            extra_digests,
            skip_fs,
        })
    }
}

impl WireRecord {
    fn from_record(r: &Record) -> WireRecord {
        WireRecord {
            name: r.name.clone(),
            kind: kind_code(r.kind),
            meta: r.meta.map(|m| WireMeta {
                mode: m.mode,
                uid: m.uid,
                gid: m.gid,
                size: m.size,
                mtime: (m.mtime.sec, m.mtime.nsec),
                ctime: (m.ctime.sec, m.ctime.nsec),
                ino: m.ino,
                dev: m.dev,
                nlink: m.nlink,
                rdev: m.rdev,
            }),
            link_target: r.link_target.clone(),
            content: match &r.content {
                Content::None => WireContent::None,
                Content::Digest(d) => WireContent::Digest(d.as_bytes().to_vec()),
                Content::Unreadable(s) => WireContent::Unreadable(s.clone()),
                Content::ChangedDuringScan(s) => WireContent::ChangedDuringScan(s.clone()),
            },
        }
    }

    fn into_record(self, algorithm: Algorithm) -> std::result::Result<Record, String> {
        let kind = *Kind::ALL
            .get(self.kind as usize)
            .ok_or_else(|| format!("unknown kind code {}", self.kind))?;
        check_name(&self.name).map_err(|why| invalid_name(&self.name, why))?;
        let content = match self.content {
            WireContent::None => Content::None,
            WireContent::Digest(bytes) => {
                if bytes.len() != algorithm.digest_len() || kind != Kind::File {
                    return Err(format!(
                        "checksum of {} bytes does not fit {algorithm}",
                        bytes.len()
                    ));
                }
                Content::Digest(Digest::from_bytes(&bytes).ok_or("invalid checksum")?)
            }
            WireContent::Unreadable(s) => Content::Unreadable(s),
            WireContent::ChangedDuringScan(s) => Content::ChangedDuringScan(s),
        };
        Ok(Record {
            name: self.name,
            kind,
            meta: self.meta.map(|m| Meta {
                mode: m.mode,
                uid: m.uid,
                gid: m.gid,
                size: m.size,
                mtime: Timestamp {
                    sec: m.mtime.0,
                    nsec: m.mtime.1,
                },
                ctime: Timestamp {
                    sec: m.ctime.0,
                    nsec: m.ctime.1,
                },
                ino: m.ino,
                dev: m.dev,
                nlink: m.nlink,
                rdev: m.rdev,
            }),
            link_target: self.link_target,
            content,
            extra: Vec::new(),
        })
    }
}

/// The message for a name that [`check_name`] refuses; the name quoted with its control
/// characters escaped, as it may hold anything.
fn invalid_name(name: &[u8], why: &str) -> String {
    format!(
        "invalid entry name {:?}: {why}",
        String::from_utf8_lossy(name)
    )
}

/// Keep the baseline `target` is about to be replaced with as `target.1`, after shifting
/// `target.1` .. `target.{keep-1}` up by one (`target.{keep}` is the one dropped).
///
/// Every step either gives an existing file a second name (`linkat` to a staging name) or
/// moves a staging name over its destination in one `renameat`, which replaces the old file
/// atomically. So, for a reader and for a run killed at any point, each of `target`,
/// `target.1` .. `target.{keep}` that existed before the rotation names a complete baseline
/// at every moment: never missing, never half-written (`target.n` and `target.n+1` are
/// briefly the same file). What a kill can leave is one staging name,
/// `.NAME.{n}.tmp.PID`, which the next run removes ([`remove_stale_temporaries`]). Runs
/// under the lock, relative to the directory the writer holds open.
fn rotate(dir: &File, name: &OsStr, keep: usize) -> io::Result<()> {
    use rustix::fs::{linkat, renameat, statat, AtFlags};
    if keep == 0 {
        return Ok(());
    }
    match statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(rustix::io::Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e.into()),
        Ok(_) => {}
    }
    let numbered = |n: usize| {
        let mut p = name.to_owned();
        p.push(format!(".{n}"));
        p
    };
    let pid = std::process::id();
    // Give `from` the name `to` too, by way of a staging name; `to` is replaced atomically.
    let copy_name = |from: &OsStr, n: usize| -> io::Result<()> {
        let stage = staging_name(name, Some(n), pid);
        match rustix::fs::unlinkat(dir, &stage, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => {}
            Err(e) => return Err(e.into()),
        }
        linkat(dir, from, dir, &stage, AtFlags::empty())?;
        renameat(dir, &stage, dir, numbered(n))?;
        // A rename between two names of one file does nothing (after a run killed between
        // two steps, `to` may already be `from`): the staging name is then still there.
        match rustix::fs::unlinkat(dir, &stage, AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    };
    for n in (1..keep).rev() {
        match copy_name(&numbered(n), n + 1) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    copy_name(name, 1)
}

/// The name of one of a writer's temporary files beside the baseline `NAME`: the new
/// baseline while it is being named and moved into place (`.NAME.tmp.PID`), or a rotation
/// step's staging name (`.NAME.{n}.tmp.PID`).
fn staging_name(name: &OsStr, n: Option<usize>, pid: u32) -> OsString {
    let mut s = OsString::from(".");
    s.push(name);
    if let Some(n) = n {
        s.push(format!(".{n}"));
    }
    s.push(format!(".tmp.{pid}"));
    s
}

/// The PID in `entry` if it is the name of a temporary file of a writer of the baseline
/// `name`: `.NAME.tmp.PID` or `.NAME.{n}.tmp.PID` ([`staging_name`]), or `NAME.tmp.PID`,
/// the name earlier versions of fimsum gave it.
fn temporary_pid(name: &[u8], entry: &[u8]) -> Option<u32> {
    let digits = |s: &[u8]| !s.is_empty() && s.len() <= 10 && s.iter().all(u8::is_ascii_digit);
    let rest = match entry.strip_prefix(b".") {
        Some(hidden) => {
            let rest = hidden.strip_prefix(name)?;
            match rest.strip_prefix(b".") {
                Some(numbered) if !numbered.starts_with(b"tmp.") => {
                    let dot = numbered.iter().position(|&b| b == b'.')?;
                    if !digits(&numbered[..dot]) {
                        return None;
                    }
                    &numbered[dot..]
                }
                _ => rest,
            }
        }
        None => entry.strip_prefix(name)?,
    };
    let pid = rest.strip_prefix(b".tmp.")?;
    if !digits(pid) {
        return None;
    }
    std::str::from_utf8(pid).ok()?.parse().ok()
}

/// Remove what runs killed before they were done left beside the baseline `name` in `dir`:
/// its temporary files ([`temporary_pid`]) that are regular files owned by this user,
/// whose process is gone (or is this one, which has made none yet). Called under the lock,
/// so no live run of fimsum is writing them; nothing is followed through a symlink and
/// nothing else is touched. Failing to remove one is not an error: it is only clutter.
fn remove_stale_temporaries(dir: &File, name: &OsStr) {
    use rustix::fs::{statat, unlinkat, AtFlags, FileType};
    let Ok(entries) = rustix::fs::Dir::read_from(dir) else {
        return;
    };
    let euid = rustix::process::geteuid().as_raw();
    let me = std::process::id();
    for entry in entries.flatten() {
        let entry_name = entry.file_name();
        let Some(pid) = temporary_pid(name.as_bytes(), entry_name.to_bytes()) else {
            continue;
        };
        let alive = pid != me
            && rustix::process::Pid::from_raw(pid as i32).is_some_and(|p| {
                !matches!(
                    rustix::process::test_kill_process(p),
                    Err(rustix::io::Errno::SRCH)
                )
            });
        if alive {
            continue;
        }
        let Ok(st) = statat(dir, entry_name, AtFlags::SYMLINK_NOFOLLOW) else {
            continue;
        };
        if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile && st.st_uid == euid {
            let _ = unlinkat(dir, entry_name, AtFlags::empty());
        }
    }
}

/// The extra digests of a decoded record: exactly one of each kind of the header's list for
/// a regular file with a checksum, each of its kind's length; none for any other record.
fn decode_extra(
    record: &Record,
    raw: Vec<Vec<u8>>,
    kinds: &[HashKind],
) -> std::result::Result<Vec<(HashKind, Digest)>, String> {
    let kinds = if record.content.digest().is_some() {
        kinds
    } else {
        &[]
    };
    if raw.len() != kinds.len() {
        return Err(format!(
            "{} extra digests where {} belong",
            raw.len(),
            kinds.len()
        ));
    }
    raw.into_iter()
        .zip(kinds)
        .map(|(bytes, &kind)| {
            if bytes.len() != kind.digest_len() {
                return Err(format!("{kind} digest of {} bytes", bytes.len()));
            }
            let digest = Digest::from_bytes(&bytes).ok_or("invalid extra digest")?;
            Ok((kind, digest))
        })
        .collect()
}

/// Writes a baseline record by record into a temporary file beside the target; only
/// [`BaselineWriter::finish`] puts it in place (fsync, rename, fsync of the directory), so
/// the previous baseline at that path is never damaged.
///
/// The temporary file is created with `O_TMPFILE`: it has no name until it is complete, so
/// a run killed while writing it (SIGINT, `kill -9`, power loss) leaves nothing behind.
/// Where the filesystem lacks `O_TMPFILE`, a named `.NAME.tmp.PID` is used and removed when
/// the writer is dropped unfinished. A lock (`flock` on `.NAME.lock` beside the baseline,
/// never removed) keeps two runs from writing the same baseline at once: the second fails
/// at once with a clear message (exit 75) rather than queueing behind a long scan. A run
/// killed in the moment between naming the finished file and moving it into place leaves
/// `.NAME.tmp.PID`; the next writer removes it (`remove_stale_temporaries`).
///
/// The output path is refused before anything is created beside it if it exists and is
/// not a regular file (`-o /dev/null` would otherwise replace the device node with a
/// file). A symlink there is replaced itself, never written through: the rename swaps the
/// name in the directory, so a link planted there by another user can point nowhere that
/// matters. The lock file is opened relative to the directory held open, never through a
/// symlink, and must be a regular file of this user with one link; anything else there is
/// refused (exit 74) rather than created or locked, since another user can plant it in a
/// shared directory.
pub struct BaselineWriter {
    out: BufWriter<File>,
    dir: File,
    /// The target's name in `dir`.
    name: OsString,
    /// The name in `dir` of the temporary file, once it has one.
    named_tmp: Option<OsString>,
    target: PathBuf,
    lock: File,
    algorithm: Algorithm,
    /// The header's extra digests: what each record with a checksum must carry.
    extra: Vec<HashKind>,
    generation: u64,
    /// The bytes from the magic through the record count (patched in by `finish`): what a
    /// signature covers besides the digest.
    prefix: Vec<u8>,
    signer: Option<SecretKey>,
    count: u64,
    frame: Vec<u8>,
    last: Option<(Vec<u8>, bool)>,
    finished: bool,
    /// Earlier baselines to keep beside the new one (`NAME.1` the newest).
    keep: usize,
}

/// Where a new baseline's generation comes from.
enum Numbering {
    /// The header's, as given.
    AsGiven,
    /// One more than the baseline it replaces ([`next_generation`]).
    Next,
}

impl BaselineWriter {
    /// Start a baseline at `target` with exactly this header.
    pub fn create(target: &Path, header: &Header) -> Result<BaselineWriter> {
        BaselineWriter::start(target, header, Numbering::AsGiven, None)
    }

    /// [`BaselineWriter::create`], signed with `key` when finished: the caller vouches for
    /// the header's generation.
    pub fn create_signed(target: &Path, header: &Header, key: SecretKey) -> Result<BaselineWriter> {
        BaselineWriter::start(target, header, Numbering::AsGiven, Some(key))
    }

    /// [`BaselineWriter::create`], numbering the baseline: its generation is one more than
    /// that of the baseline it replaces at `target` (read from its header under the lock),
    /// or 1 if there is none or it cannot be read as one; `header.generation` is ignored.
    pub fn create_next(target: &Path, header: &Header) -> Result<BaselineWriter> {
        BaselineWriter::start(target, header, Numbering::Next, None)
    }

    /// A numbered baseline, signed with `signer` if there is one (docs/signing.md);
    /// `generation` given, it is the new baseline's generation, else as
    /// `next_generation` says (which, for a signed baseline, trusts only a previous
    /// baseline that this very key signed).
    pub fn create_numbered(
        target: &Path,
        header: &Header,
        signer: Option<SecretKey>,
        generation: Option<u64>,
    ) -> Result<BaselineWriter> {
        match generation {
            Some(generation) => {
                let header = Header {
                    generation,
                    ..header.clone()
                };
                BaselineWriter::start(target, &header, Numbering::AsGiven, signer)
            }
            None => BaselineWriter::start(target, header, Numbering::Next, signer),
        }
    }

    fn start(
        target: &Path,
        header: &Header,
        numbering: Numbering,
        signer: Option<SecretKey>,
    ) -> Result<BaselineWriter> {
        let dir_path = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = target
            .file_name()
            .ok_or_else(|| Error::Usage(format!("{}: not a file name", target.display())))?;
        let dir = File::open(&dir_path)
            .map_err(|e| Error::io(format!("cannot open directory {}", dir_path.display()), e))?;
        if header.extra_digests != extra_kinds(header.algorithm, header.extra_digests.clone()) {
            return Err(Error::Usage(format!(
                "extra digests {:?} are not in the form a baseline stores (see hash::extra_kinds)",
                header.extra_digests
            )));
        }
        refuse_special_output(&dir, file_name, target)?;
        let lock = lock_beside(&dir, &lock_path(target), target)?;
        remove_stale_temporaries(&dir, file_name);
        let mut header = header.clone();
        if let Numbering::Next = numbering {
            header.generation = next_generation(&dir, file_name, target, signer.as_ref())?;
        }
        let prefix = signed_prefix(&header, 0)?;
        let tmp_name = staging_name(file_name, None, std::process::id());
        let (file, named_tmp) = create_temp(&dir, &tmp_name, &dir_path)?;
        let mut writer = BaselineWriter {
            out: BufWriter::with_capacity(1 << 20, file),
            dir,
            name: file_name.to_owned(),
            named_tmp,
            target: target.to_path_buf(),
            lock,
            algorithm: header.algorithm,
            extra: header.extra_digests.clone(),
            generation: header.generation,
            prefix: Vec::new(),
            signer,
            count: 0,
            frame: Vec::new(),
            last: None,
            finished: false,
            keep: 0,
        };
        writer.write(&prefix)?;
        writer.prefix = prefix;
        Ok(writer)
    }

    /// The generation this baseline gets.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Keep the baseline this one replaces as `NAME.1`, the one before as `NAME.2`, and so
    /// on up to `generations` (`update`); older ones are removed.
    pub fn keep_previous(&mut self, generations: usize) {
        self.keep = generations;
    }

    /// Device and inode of the files this writer owns (the file being written, which keeps
    /// them when moved into place, and the lock file), so a scan can leave them out of the
    /// tree it lists.
    pub fn identities(&self) -> Vec<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        [self.out.get_ref(), &self.lock]
            .iter()
            .filter_map(|f| f.metadata().ok())
            .map(|m| (m.dev(), m.ino()))
            .collect()
    }

    /// Append one record; records must come in rsync order, as a scan yields them.
    pub fn append(&mut self, record: &Record) -> Result<()> {
        // What the reader demands: refuse here rather than write a baseline that could not
        // be read back.
        check_name(&record.name).map_err(|why| {
            Error::io(
                "baseline record refused",
                io::Error::other(invalid_name(&record.name, why)),
            )
        })?;
        if let Some((name, is_dir)) = &self.last {
            if cmp_entries(name, *is_dir, &record.name, record.is_dir()) != std::cmp::Ordering::Less
            {
                return Err(Error::io(
                    "baseline records out of order",
                    io::Error::other(String::from_utf8_lossy(&record.name).into_owned()),
                ));
            }
        }
        if let Some(d) = record.content.digest() {
            debug_assert_eq!(d.as_bytes().len(), self.algorithm.digest_len());
        }
        // What the reader demands (see `decode_extra`): refuse here rather than write a
        // baseline that could not be read back.
        let want: &[HashKind] = match record.content.digest() {
            Some(_) => &self.extra,
            None => &[],
        };
        if !record
            .extra
            .iter()
            .map(|(k, _)| *k)
            .eq(want.iter().copied())
        {
            return Err(Error::io(
                "baseline record does not match the header",
                io::Error::other(format!(
                    "{}: extra digests {:?}, the baseline records {want:?}",
                    String::from_utf8_lossy(&record.name),
                    record.extra
                )),
            ));
        }
        let wire = WireRecordV3 {
            v2: WireRecord::from_record(record),
            extra: record
                .extra
                .iter()
                .map(|(_, d)| d.as_bytes().to_vec())
                .collect(),
        };
        self.frame.clear();
        bincode::encode_into_std_write(wire, &mut self.frame, config())
            .map_err(|e| Error::io("cannot encode a baseline record", io::Error::other(e)))?;
        let len = frame_len(&self.frame)?;
        let frame = std::mem::take(&mut self.frame);
        self.write(&len.to_le_bytes())?;
        self.write(&frame)?;
        self.frame = frame;
        self.count += 1;
        self.last = Some((record.name.clone(), record.is_dir()));
        Ok(())
    }

    /// Patch the count in, append the end marker and digest, and move the file into place.
    pub fn finish(mut self) -> Result<u64> {
        let target = self.target.clone();
        let ctx = |what: &str| format!("cannot {what} the new baseline {}", target.display());
        self.out.flush().map_err(|e| Error::io(ctx("write"), e))?;
        let count_offset = self.prefix.len() - 8;
        self.prefix[count_offset..].copy_from_slice(&self.count.to_le_bytes());
        let file = self.out.get_mut();
        (|| -> io::Result<()> {
            file.seek(SeekFrom::Start(count_offset as u64))?;
            file.write_all(&self.count.to_le_bytes())?;
            file.seek(SeekFrom::Start(0))?;
            let mut hasher = Sha256::new();
            io::copy(
                &mut BufReader::with_capacity(1 << 20, &mut *file),
                &mut HashWriter(&mut hasher),
            )?;
            let digest: [u8; DIGEST_LEN] = hasher.finalize().into();
            file.seek(SeekFrom::End(0))?;
            file.write_all(END_MAGIC)?;
            file.write_all(&digest)?;
            if let Some(key) = &self.signer {
                let block = key.sign(&sign::message(&self.prefix, &digest));
                file.write_all(&block.to_bytes())?;
            }
            file.sync_all()
        })()
        .map_err(|e| Error::io(ctx("finish"), e))?;
        let tmp = match &self.named_tmp {
            Some(tmp) => tmp.clone(),
            None => {
                // Give the anonymous O_TMPFILE a name, then rename it over the target.
                let tmp = staging_name(&self.name, None, std::process::id());
                name_anonymous(self.out.get_mut(), &self.dir, &tmp)
                    .map_err(|e| Error::io(ctx("name"), e))?;
                self.named_tmp = Some(tmp.clone());
                tmp
            }
        };
        rotate(&self.dir, &self.name, self.keep)
            .map_err(|e| Error::io(ctx("keep the baseline replaced by"), e))?;
        rustix::fs::renameat(&self.dir, &tmp, &self.dir, &self.name)
            .map_err(|e| Error::io(ctx("move into place"), e.into()))?;
        self.finished = true;
        self.dir
            .sync_all()
            .map_err(|e| Error::io(ctx("sync the directory of"), e))?;
        Ok(self.count)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(|e| {
            Error::io(
                format!("cannot write the new baseline {}", self.target.display()),
                e,
            )
        })
    }
}

impl Drop for BaselineWriter {
    fn drop(&mut self) {
        if let (false, Some(tmp)) = (self.finished, &self.named_tmp) {
            let _ = rustix::fs::unlinkat(&self.dir, tmp, rustix::fs::AtFlags::empty());
        }
    }
}

/// A baseline's first bytes for this header and record count: magic, version, header frame,
/// count. Besides the payload digest, they are what a signature covers ([`sign::message`]).
pub fn signed_prefix(header: &Header, count: u64) -> Result<Vec<u8>> {
    let wire = WireHeaderV4 {
        v3: WireHeaderV3 {
            v2: WireHeaderV2 {
                v1: WireHeader::from_header(header),
                generation: header.generation,
            },
            extra_digests: header.extra_digests.iter().map(|k| k.code()).collect(),
        },
        skip_fs: header.skip_fs.clone(),
    };
    let head = bincode::encode_to_vec(wire, config())
        .map_err(|e| Error::io("cannot encode the baseline header", io::Error::other(e)))?;
    let mut prefix = Vec::with_capacity(24 + head.len());
    prefix.extend_from_slice(MAGIC);
    prefix.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    prefix.extend_from_slice(&frame_len(&head)?.to_le_bytes());
    prefix.extend_from_slice(&head);
    prefix.extend_from_slice(&count.to_le_bytes());
    Ok(prefix)
}

/// The generation of a new baseline written over the file `name` in `dir` (`target`).
///
/// Unsigned, it is only a counter: one more than the generation in the header of the
/// baseline there, or 1 if there is none or it is not a baseline.
///
/// Signed with `signer`, the number is part of what the signature vouches for, so it may
/// continue only a baseline this same key signed: the file there must verify with the
/// key's public half (the whole file, as `check --verify-key` would). Otherwise whoever
/// could put an unsigned file claiming a huge generation at the output path would raise
/// every later signed baseline to it, and an old one could be played back past
/// `--min-generation`. A file there that does not verify is refused (exit 65, naming it);
/// `--generation N` says where to start instead. No file (or not a regular file: it is
/// replaced, never read) starts at 1.
///
/// Only a regular file is opened, never through a symlink and without blocking, so a FIFO
/// or device put at the output path cannot hang the run. A previous generation of
/// `u64::MAX` cannot be followed and is refused rather than repeated.
fn next_generation(
    dir: &File,
    name: &OsStr,
    target: &Path,
    signer: Option<&SecretKey>,
) -> Result<u64> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY;
    let opened = rustix::fs::openat(dir, name, flags | OFlags::CLOEXEC, Mode::empty())
        .ok()
        .map(File::from)
        .filter(|f| f.metadata().is_ok_and(|m| m.is_file()));
    let previous = match (opened, signer) {
        (None, _) => return Ok(1),
        (Some(file), None) => match read_prefix(&mut Input::new(BufReader::new(file))) {
            Ok((header, _, _)) => header.generation,
            Err(_) => return Ok(1),
        },
        (Some(file), Some(key)) => {
            let refuse = |reason: String| {
                Error::bad_data(
                    target,
                    format!(
                        "{reason}: a signed baseline continues the generation only of a \
                         baseline signed by the same key; give --generation N to start at N \
                         (above any generation a verifier has accepted)"
                    ),
                )
            };
            let data = read_private(&file, target)?;
            let policy = Policy {
                key: key.public_key(),
                expect_host: None,
                min_generation: None,
            };
            check_signature(io::Cursor::new(&data[..]), &policy)
                .map_err(|reason| {
                    let reason = if reason == NOT_SIGNED {
                        "it is not signed".to_string()
                    } else {
                        reason
                    };
                    refuse(format!("not a baseline this key signed ({reason})"))
                })?
                .header
                .generation
        }
    };
    previous.checked_add(1).ok_or_else(|| {
        Error::bad_data(
            target,
            format!("generation {previous} is the last there is; give --generation N"),
        )
    })
}

/// The lock file of a baseline: `.NAME.lock` beside it.
pub fn lock_path(target: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(".lock");
    target.with_file_name(name)
}

/// Refuse an output path that exists and is neither a regular file nor a symlink (which
/// is replaced, not followed: see [`BaselineWriter`]).
fn refuse_special_output(dir: &File, name: &OsStr, target: &Path) -> Result<()> {
    use rustix::fs::{AtFlags, FileType};
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Err(rustix::io::Errno::NOENT) => Ok(()),
        Err(e) => Err(Error::io(
            format!("cannot stat {}", target.display()),
            e.into(),
        )),
        Ok(st) => match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile | FileType::Symlink => Ok(()),
            other => Err(Error::Usage(format!(
                "{}: is {}, not a regular file: a baseline is written only over a regular \
                 file or to a new name",
                target.display(),
                file_type_name(other)
            ))),
        },
    }
}

fn file_type_name(kind: rustix::fs::FileType) -> &'static str {
    use rustix::fs::FileType;
    match kind {
        FileType::RegularFile => "a regular file",
        FileType::Directory => "a directory",
        FileType::Symlink => "a symbolic link",
        FileType::Fifo => "a FIFO",
        FileType::Socket => "a socket",
        FileType::CharacterDevice => "a character device",
        FileType::BlockDevice => "a block device",
        FileType::Unknown => "not a file",
    }
}

/// Take the writer's lock at `path` (in `dir`), or fail at once if another run holds it.
/// The lock file is created if missing, opened relative to `dir` and never through a
/// symlink; an existing one must be a regular file owned by this user with a single link
/// (see [`BaselineWriter`]).
fn lock_beside(dir: &File, path: &Path, target: &Path) -> Result<File> {
    use rustix::fs::{Mode, OFlags};
    let refuse = |why: String| {
        Error::io(
            format!("cannot use lock file {}", path.display()),
            io::Error::other(format!(
                "{why}; fimsum makes it itself: remove it if it is not what it should be"
            )),
        )
    };
    let name = path.file_name().unwrap_or_default();
    let flags = OFlags::RDWR
        | OFlags::CREATE
        | OFlags::NOFOLLOW
        | OFlags::NONBLOCK
        | OFlags::NOCTTY
        | OFlags::CLOEXEC;
    let lock = match rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => File::from(fd),
        Err(rustix::io::Errno::LOOP) => return Err(refuse("it is a symbolic link".into())),
        Err(e) => {
            return Err(Error::io(
                format!("cannot create lock file {}", path.display()),
                e.into(),
            ))
        }
    };
    let st = rustix::fs::fstat(&lock)
        .map_err(|e| Error::io(format!("cannot stat {}", path.display()), e.into()))?;
    let kind = rustix::fs::FileType::from_raw_mode(st.st_mode);
    let euid = rustix::process::geteuid().as_raw();
    if kind != rustix::fs::FileType::RegularFile {
        return Err(refuse(format!("it is {}", file_type_name(kind))));
    }
    if st.st_uid != euid {
        return Err(refuse(format!(
            "it is owned by uid {}, not by the user running fimsum (uid {euid})",
            st.st_uid
        )));
    }
    if st.st_nlink > 1 {
        return Err(refuse(format!("it has {} hard links", st.st_nlink)));
    }
    match rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(lock),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(Error::Locked {
            path: target.to_path_buf(),
        }),
        Err(e) => Err(Error::io(
            format!("cannot lock {}", path.display()),
            e.into(),
        )),
    }
}

/// An unnamed temporary file in `dir` (`O_TMPFILE`), or the named one `name` where the
/// filesystem has no `O_TMPFILE` (a leftover of that name was removed under the lock).
fn create_temp(dir: &File, name: &OsStr, dir_path: &Path) -> Result<(File, Option<OsString>)> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC;
    match rustix::fs::openat(dir, ".", flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => Ok((File::from(fd), None)),
        Err(rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::ISDIR | rustix::io::Errno::INVAL) => {
            let file = create_named(dir, name).map_err(|e| {
                Error::io(
                    format!("cannot create {}", dir_path.join(name).display()),
                    e,
                )
            })?;
            Ok((file, Some(name.to_owned())))
        }
        Err(e) => Err(Error::io(
            "cannot create the temporary baseline file",
            e.into(),
        )),
    }
}

/// A new file `name` in `dir`, for this user only: `O_EXCL` and `O_NOFOLLOW`, so nothing
/// that is already there (a symlink planted by another user included) is opened.
fn create_named(dir: &File, name: &OsStr) -> io::Result<File> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    Ok(File::from(rustix::fs::openat(
        dir,
        name,
        flags,
        Mode::from_raw_mode(0o600),
    )?))
}

#[cfg(test)]
thread_local! {
    /// Tests: pretend neither way of linking an `O_TMPFILE` works (a chroot without /proc,
    /// run without CAP_DAC_READ_SEARCH), to exercise the copy.
    static NO_LINKAT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Give the finished anonymous file `file` the name `name` in `dir`: `linkat` with
/// `AT_EMPTY_PATH` (which needs CAP_DAC_READ_SEARCH), else through `/proc/self/fd` (which
/// needs /proc, missing in many chroots), else by copying it into a new file of that name
/// (created as [`create_named`] does, and synced), which the rename then moves into place
/// just the same. A run killed after this leaves `name`, removed by the next one.
fn name_anonymous(file: &mut File, dir: &File, name: &OsStr) -> io::Result<()> {
    use rustix::fs::{linkat, AtFlags, CWD};
    #[cfg(test)]
    let linkable = !NO_LINKAT.with(|c| c.get());
    #[cfg(not(test))]
    let linkable = true;
    if linkable {
        if linkat(&*file, "", dir, name, AtFlags::EMPTY_PATH).is_ok() {
            return Ok(());
        }
        let fd_path = format!("/proc/self/fd/{}", file.as_raw_fd());
        if linkat(CWD, fd_path.as_str(), dir, name, AtFlags::SYMLINK_FOLLOW).is_ok() {
            return Ok(());
        }
    }
    let mut named = create_named(dir, name)?;
    let copied = (|| {
        file.seek(SeekFrom::Start(0))?;
        io::copy(&mut *file, &mut named)?;
        named.sync_all()
    })();
    if let Err(e) = copied {
        let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
        return Err(e);
    }
    Ok(())
}

fn frame_len(frame: &[u8]) -> Result<u32> {
    if frame.len() > FRAME_LIMIT {
        return Err(Error::io(
            "baseline record too large",
            io::Error::other(format!("{} bytes", frame.len())),
        ));
    }
    Ok(frame.len() as u32)
}

struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Does this file start like a baseline? (Anything else is taken for an rsync log.)
pub fn is_baseline(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 8];
    let mut file = crate::input::open_input(path)?;
    let n = file
        .read(&mut magic)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    Ok(n == magic.len() && &magic == MAGIC)
}

/// Whether a baseline is signed, and whether the signature was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureStatus {
    Unsigned,
    /// Signed by this key; not checked, as no verify key was given.
    Unchecked(KeyId),
    /// Signed by this key, and the signature verified.
    Verified(KeyId),
}

/// A verified baseline, ready to hand out its records in order.
///
/// The file is read once, into memory of this process, and everything after that (the
/// signature check, the verifying pass, the records handed out, [`Baseline::records_again`]
/// for `check --quick`) reads that private copy: the records used are exactly the bytes
/// that were verified, whatever is done to the file meanwhile. Reading the file twice
/// would let whoever can write it (and sees the first pass end) put other records under a
/// valid signature. The copy costs the baseline's size in memory, about 50 bytes an entry
/// (16 MB for a /usr of 300,000); a file too large for the memory there is refused
/// (exit 74) rather than aborting the run.
pub struct Baseline {
    pub header: Header,
    pub count: u64,
    pub signature: SignatureStatus,
    path: PathBuf,
    data: Arc<Vec<u8>>,
    records_offset: u64,
    format: RecordFormat,
}

/// Read all of `file` (`path`, for messages) into memory, its length taken from `fstat`
/// (bytes written past it meanwhile are not read; a file cut short is then found
/// truncated by the checks).
fn read_private(file: &File, path: &Path) -> Result<Vec<u8>> {
    let read_error = |e| Error::io(format!("cannot read {}", path.display()), e);
    let len = file.metadata().map_err(read_error)?.len();
    // What is not a baseline at all (a disk image, a log) is said to be that, not found too
    // large to read: the magic is looked at before any memory is set aside for the rest.
    let mut magic = [0u8; MAGIC.len()];
    match file.read_exact_at(&mut magic, 0) {
        Ok(()) if &magic != MAGIC => {
            return Err(Error::bad_data(path, "not a fimsum baseline (wrong magic)"))
        }
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            return Err(Error::bad_data(
                path,
                "not a fimsum baseline (file too short)",
            ))
        }
        Err(e) => return Err(read_error(e)),
        Ok(()) => {}
    }
    let mut data = Vec::new();
    usize::try_from(len)
        .ok()
        .and_then(|n| data.try_reserve_exact(n).ok())
        .ok_or_else(|| {
            read_error(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!("{len} bytes do not fit in memory"),
            ))
        })?;
    file.take(len).read_to_end(&mut data).map_err(read_error)?;
    Ok(data)
}

/// A reader of the shared private copy with its own position.
struct Shared {
    data: Arc<Vec<u8>>,
    pos: usize,
}

impl Read for Shared {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = self.data.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.pos += n;
        Ok(n)
    }
}

impl Baseline {
    /// Open and fully verify a baseline; the records are then read with [`Baseline::records`].
    /// A signature block is accepted but not checked.
    pub fn open(path: &Path) -> Result<Baseline> {
        Baseline::open_with(path, None)
    }

    /// [`Baseline::open`], but with a policy, first require a valid signature by its key
    /// and check its host and generation ([`check_signature`]), all before any record is
    /// decoded.
    pub fn open_with(path: &Path, policy: Option<&Policy>) -> Result<Baseline> {
        let file = crate::input::open_input(path)?;
        Baseline::from_bytes(path, read_private(&file, path)?, policy)
    }

    /// [`Baseline::open_with`] of these bytes, read from `path`.
    fn from_bytes(path: &Path, data: Vec<u8>, policy: Option<&Policy>) -> Result<Baseline> {
        let bad = |reason| Error::bad_data(path, reason);
        let signed = match policy {
            Some(policy) => Some(check_signature(io::Cursor::new(&data[..]), policy).map_err(bad)?),
            None => None,
        };
        let verified = verify(&data[..]).map_err(bad)?;
        let signature = match (signed, verified.signature) {
            (None, None) => SignatureStatus::Unsigned,
            (None, Some(block)) => SignatureStatus::Unchecked(block.key_id),
            // Both passes read the same bytes in memory; checked all the same.
            (Some(s), Some(block)) if s.block == block && s.digest == verified.digest => {
                SignatureStatus::Verified(block.key_id)
            }
            (Some(_), _) => return Err(bad("changed while it was being verified".into())),
        };
        Ok(Baseline {
            format: RecordFormat::new(verified.version, &verified.header),
            header: verified.header,
            count: verified.count,
            signature,
            path: path.to_path_buf(),
            data: Arc::new(data),
            records_offset: verified.records_offset,
        })
    }

    /// A second, independent reader of the same records (for `check --quick`, which reads
    /// them in step with the scan while the diff reads them too): the very bytes that were
    /// verified, not the file again.
    pub fn records_again(&self) -> Result<Records> {
        Ok(self.reader())
    }

    fn reader(&self) -> Records {
        Records {
            input: Input::new(Shared {
                data: Arc::clone(&self.data),
                pos: self.records_offset as usize,
            }),
            format: self.format.clone(),
            left: self.count,
            path: self.path.clone(),
        }
        .skip_hashing(self.records_offset)
    }

    /// The records in order, decoded from the bytes [`Baseline::open`] verified.
    pub fn records(self) -> Records {
        self.reader()
    }
}

/// What [`verify`] found in a sound baseline.
pub struct Verified {
    /// The format version the file was written in.
    pub version: u32,
    pub header: Header,
    pub count: u64,
    /// Where the first record starts.
    pub records_offset: u64,
    /// The SHA-256 of every byte before the end marker.
    pub digest: [u8; DIGEST_LEN],
    /// The signature block after the end marker, if there is one (not checked here).
    pub signature: Option<SignatureBlock>,
}

/// Check a whole baseline: magic and version, every frame against the limits and the bytes
/// left, every record decoded exactly and in strict rsync order, then the end marker, the
/// digest and the end of input. Nothing is kept but the header, so memory stays flat.
pub fn verify(input: impl Read) -> std::result::Result<Verified, String> {
    let mut input = Input::new(input);
    let (header, count, version) = read_prefix(&mut input)?;
    let records_offset = input.offset;
    let format = RecordFormat::new(version, &header);
    let mut last: Option<(Vec<u8>, bool)> = None;
    for i in 0..count {
        let record = read_record(&mut input, &format)
            .map_err(|e| format!("record {} of {count}: {e}", i + 1))?;
        if let Some((name, is_dir)) = &last {
            if cmp_entries(name, *is_dir, &record.name, record.is_dir()) != std::cmp::Ordering::Less
            {
                return Err(format!("record {} is out of order", i + 1));
            }
        }
        last = Some((record.name, record.kind == Kind::Dir));
    }
    let digest: [u8; DIGEST_LEN] = input.hasher.clone().finalize().into();
    let mut end = [0u8; END_LEN];
    input
        .read_exact(&mut end)
        .map_err(|_| "end marker missing: the baseline is truncated".to_string())?;
    if &end[..8] != END_MAGIC {
        return Err("end marker missing: wrong record count or trailing records".into());
    }
    if end[8..] != digest[..] {
        return Err(DIGEST_MISMATCH.into());
    }
    // After the end marker: nothing, or exactly one signature block.
    let mut rest = Vec::with_capacity(BLOCK_LEN + 1);
    (&mut input.inner)
        .take(BLOCK_LEN as u64 + 1)
        .read_to_end(&mut rest)
        .map_err(|e| e.to_string())?;
    let signature = if rest.is_empty() {
        None
    } else {
        Some(
            SignatureBlock::from_bytes(&rest)
                .ok_or("trailing bytes after the end marker (not a signature block)")?,
        )
    };
    Ok(Verified {
        version,
        header,
        count,
        records_offset,
        digest,
        signature,
    })
}

const DIGEST_MISMATCH: &str = "digest mismatch: the baseline was altered or damaged";
const NOT_SIGNED: &str = "not signed, and a signature is required (--verify-key)";

/// What [`check_signature`] vouches for.
pub struct Signed {
    pub header: Header,
    pub digest: [u8; DIGEST_LEN],
    pub block: SignatureBlock,
}

/// The signature pass, before anything is decoded: read the magic, the version and the
/// header frame as bytes (only fixed-size fields are looked at), find the signature block
/// and the end marker at their fixed offsets from the end, hash everything before the end
/// marker, and verify the signature over [`sign::message`]. Only then is the header
/// decoded and checked against the policy's host and generation. Records are never decoded
/// here; [`verify`] does that afterwards.
pub fn check_signature<R: Read + Seek>(
    mut input: R,
    policy: &Policy,
) -> std::result::Result<Signed, String> {
    let io_error = |e: io::Error| e.to_string();
    let len = input.seek(SeekFrom::End(0)).map_err(io_error)?;
    input.seek(SeekFrom::Start(0)).map_err(io_error)?;
    let mut head = Input::new(&mut input);
    let prefix = read_raw_prefix(&mut head)?;
    let (prefix_end, mut hasher) = (head.offset, head.hasher);
    let payload_end = len
        .checked_sub((END_LEN + BLOCK_LEN) as u64)
        .filter(|&end| end >= prefix_end)
        .ok_or(NOT_SIGNED)?;
    let mut tail = [0u8; END_LEN + BLOCK_LEN];
    input
        .seek(SeekFrom::Start(payload_end))
        .and_then(|_| input.read_exact(&mut tail))
        .map_err(io_error)?;
    let block = SignatureBlock::from_bytes(&tail[END_LEN..]).ok_or(NOT_SIGNED)?;
    if &tail[..8] != END_MAGIC {
        return Err("end marker missing before the signature block".into());
    }
    input.seek(SeekFrom::Start(prefix_end)).map_err(io_error)?;
    let want = payload_end - prefix_end;
    let hashed =
        io::copy(&mut (&mut input).take(want), &mut HashWriter(&mut hasher)).map_err(io_error)?;
    if hashed != want {
        return Err("changed while it was being verified".into());
    }
    let digest: [u8; DIGEST_LEN] = hasher.finalize().into();
    if tail[8..END_LEN] != digest {
        return Err(DIGEST_MISMATCH.into());
    }
    policy
        .key
        .verify(&sign::message(&prefix.to_bytes(), &digest), &block)?;
    let header = decode_header(prefix.version, &prefix.header)?;
    policy.check(&header)?;
    Ok(Signed {
        header,
        digest,
        block,
    })
}

/// Iterator over a verified baseline's records.
pub struct Records {
    input: Input<Shared>,
    format: RecordFormat,
    left: u64,
    path: PathBuf,
}

impl Records {
    fn skip_hashing(mut self, offset: u64) -> Records {
        self.input.offset = offset;
        self
    }
}

impl Iterator for Records {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(
            read_record(&mut self.input, &self.format)
                .map_err(|e| Error::bad_data(&self.path, format!("changed while being read: {e}"))),
        )
    }
}

/// A reader that hashes what it reads and knows its offset, for error messages.
struct Input<R> {
    inner: R,
    hasher: Sha256,
    offset: u64,
}

impl<R: Read> Input<R> {
    fn new(inner: R) -> Input<R> {
        Input {
            inner,
            hasher: Sha256::new(),
            offset: 0,
        }
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        self.inner.read_exact(buf)?;
        self.hasher.update(&*buf);
        self.offset += buf.len() as u64;
        Ok(())
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b).map_err(|_| self.truncated())?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> std::result::Result<u64, String> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b).map_err(|_| self.truncated())?;
        Ok(u64::from_le_bytes(b))
    }

    /// One length-prefixed frame, its length checked before anything is allocated.
    fn frame(&mut self) -> std::result::Result<Vec<u8>, String> {
        let len = self.u32()? as usize;
        if len > FRAME_LIMIT {
            return Err(format!(
                "frame of {len} bytes at offset {} exceeds the limit",
                self.offset
            ));
        }
        let mut buf = vec![0u8; len];
        self.read_exact(&mut buf).map_err(|_| self.truncated())?;
        Ok(buf)
    }

    fn truncated(&self) -> String {
        format!("truncated at offset {}", self.offset)
    }
}

fn decode_exact<T: Decode<()>>(frame: &[u8]) -> std::result::Result<T, String> {
    let (value, used) =
        bincode::decode_from_slice::<T, _>(frame, config()).map_err(|e| e.to_string())?;
    if used != frame.len() {
        return Err(format!("{} stray bytes inside a frame", frame.len() - used));
    }
    Ok(value)
}

/// A baseline's first fields as read: the header frame not yet decoded.
struct RawPrefix {
    version: u32,
    header: Vec<u8>,
    count: u64,
}

impl RawPrefix {
    /// The bytes they were read from.
    fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(24 + self.header.len());
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&self.version.to_le_bytes());
        b.extend_from_slice(&(self.header.len() as u32).to_le_bytes());
        b.extend_from_slice(&self.header);
        b.extend_from_slice(&self.count.to_le_bytes());
        b
    }
}

fn read_raw_prefix<R: Read>(input: &mut Input<R>) -> std::result::Result<RawPrefix, String> {
    let mut magic = [0u8; 8];
    input
        .read_exact(&mut magic)
        .map_err(|_| "not a fimsum baseline (file too short)".to_string())?;
    if &magic != MAGIC {
        return Err("not a fimsum baseline (wrong magic)".into());
    }
    let version = input.u32()?;
    if !(1..=FORMAT_VERSION).contains(&version) {
        return Err(format!(
            "baseline format version {version} is not supported (this fimsum reads versions 1 to {FORMAT_VERSION})"
        ));
    }
    let header = input.frame()?;
    let count = input.u64()?;
    Ok(RawPrefix {
        version,
        header,
        count,
    })
}

fn decode_header(version: u32, frame: &[u8]) -> std::result::Result<Header, String> {
    let decoded = match version {
        1 => decode_exact::<WireHeader>(frame).map(|w| (w, 0, Vec::new(), None)),
        2 => decode_exact::<WireHeaderV2>(frame).map(|w| (w.v1, w.generation, Vec::new(), None)),
        3 => decode_exact::<WireHeaderV3>(frame)
            .map(|w| (w.v2.v1, w.v2.generation, w.extra_digests, None)),
        _ => decode_exact::<WireHeaderV4>(frame).map(|w| {
            let v3 = w.v3;
            (v3.v2.v1, v3.v2.generation, v3.extra_digests, w.skip_fs)
        }),
    };
    decoded
        .and_then(|(wire, generation, extra, skip_fs)| wire.into_header(generation, extra, skip_fs))
        .map_err(|e| format!("bad header: {e}"))
}

/// The header, the record count and the format version.
fn read_prefix<R: Read>(input: &mut Input<R>) -> std::result::Result<(Header, u64, u32), String> {
    let raw = read_raw_prefix(input)?;
    Ok((
        decode_header(raw.version, &raw.header)?,
        raw.count,
        raw.version,
    ))
}

fn read_record<R: Read>(
    input: &mut Input<R>,
    format: &RecordFormat,
) -> std::result::Result<Record, String> {
    let frame = input.frame()?;
    let (wire, extra) = if format.version >= 3 {
        let v3 = decode_exact::<WireRecordV3>(&frame)?;
        (v3.v2, v3.extra)
    } else {
        (decode_exact::<WireRecord>(&frame)?, Vec::new())
    };
    let mut record = wire.into_record(format.algorithm)?;
    record.extra = decode_extra(&record, extra, &format.extra)?;
    Ok(record)
}

/// What a verifier demands of a baseline: a valid signature by `key` and, optionally, the
/// host it was made on and a lowest generation (against replaying an older baseline).
pub struct Policy {
    pub key: PublicKey,
    pub expect_host: Option<String>,
    pub min_generation: Option<u64>,
}

impl Policy {
    /// The checks on a header whose signature has been verified.
    pub fn check(&self, header: &Header) -> std::result::Result<(), String> {
        if let Some(host) = &self.expect_host {
            if header.host != *host {
                return Err(format!(
                    "made on host {:?}, not on the expected host {host:?}",
                    header.host
                ));
            }
        }
        if let Some(min) = self.min_generation {
            if header.generation < min {
                return Err(format!(
                    "generation {} is below --min-generation {min}: an older baseline replayed?",
                    header.generation
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_records;

    fn wire_header(algorithm: Algorithm) -> WireHeader {
        WireHeader {
            algorithm: algorithm.code(),
            origin: 0,
            sources: vec![b"src/".to_vec()],
            roots: vec![b"/src/".to_vec()],
            one_file_system: 0,
            filters: Vec::new(),
            host: "old".into(),
            created_sec: 1,
            created_nsec: 0,
            fimsum_version: "0.1.0".into(),
        }
    }

    fn encode(value: impl Encode) -> Vec<u8> {
        bincode::encode_to_vec(value, config()).unwrap()
    }

    /// A whole baseline of this version from its encoded header and records, with a right
    /// digest: what an older fimsum wrote, or a crafted file that only the decoding checks
    /// can refuse.
    fn file_of(version: u32, header: &[u8], records: &[Vec<u8>]) -> Vec<u8> {
        let mut file = MAGIC.to_vec();
        file.extend_from_slice(&version.to_le_bytes());
        file.extend_from_slice(&(header.len() as u32).to_le_bytes());
        file.extend_from_slice(header);
        file.extend_from_slice(&(records.len() as u64).to_le_bytes());
        for r in records {
            file.extend_from_slice(&(r.len() as u32).to_le_bytes());
            file.extend_from_slice(r);
        }
        let digest = Sha256::digest(&file);
        file.extend_from_slice(END_MAGIC);
        file.extend_from_slice(&digest);
        file
    }

    fn v3_header(algorithm: Algorithm, extra_codes: Vec<u8>) -> Vec<u8> {
        encode(WireHeaderV3 {
            v2: WireHeaderV2 {
                v1: wire_header(algorithm),
                generation: 3,
            },
            extra_digests: extra_codes,
        })
    }

    fn v3_record(record: &Record, extra: Vec<Vec<u8>>) -> Vec<u8> {
        encode(WireRecordV3 {
            v2: WireRecord::from_record(record),
            extra,
        })
    }

    fn entry(name: &str, kind: Kind, content: Content) -> Record {
        test_records::entry(name, kind).content(content)
    }

    fn hashed(name: &str, algorithm: Algorithm, kinds: &[HashKind]) -> Record {
        test_records::entry(name, Kind::File)
            .content(Content::Digest(algorithm.digest(name.as_bytes())))
            .extras(kinds, name.as_bytes())
    }

    /// A version-1 baseline (no generation, never signed) is still read, as generation 0,
    /// and the baseline that replaces it is generation 1.
    #[test]
    fn version_1_baselines_are_read_as_generation_0() {
        let file = file_of(1, &encode(wire_header(Algorithm::Md5)), &[]);
        let verified = verify(&file[..]).unwrap();
        assert_eq!(verified.header.host, "old");
        assert_eq!(verified.header.generation, 0);
        assert!(verified.signature.is_none());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        std::fs::write(&path, &file).unwrap();
        let mut header = verified.header;
        header.generation = 7; // ignored by create_next
        let writer = BaselineWriter::create_next(&path, &header).unwrap();
        assert_eq!(writer.generation(), 1);
        writer.finish().unwrap();
        let again = BaselineWriter::create_next(&path, &header).unwrap();
        assert_eq!(again.generation(), 2);
        drop(again);
        // create writes the header as given.
        assert_eq!(
            BaselineWriter::create(&path, &header).unwrap().generation(),
            7
        );
        let fresh = dir.path().join("new");
        assert_eq!(
            BaselineWriter::create_next(&fresh, &header)
                .unwrap()
                .generation(),
            1
        );
    }

    /// A version-2 baseline (generation, no extra digests) is still read, records and all,
    /// as a baseline without extra digests.
    #[test]
    fn version_2_baselines_are_read_without_extra_digests() {
        let records = [
            entry(".", Kind::Dir, Content::None),
            hashed("a", Algorithm::Sha1, &[]),
            entry("b", Kind::File, Content::Unreadable("EIO".into())),
        ];
        let head = encode(WireHeaderV2 {
            v1: wire_header(Algorithm::Sha1),
            generation: 4,
        });
        let frames: Vec<Vec<u8>> = records
            .iter()
            .map(|r| encode(WireRecord::from_record(r)))
            .collect();
        let file = file_of(2, &head, &frames);
        let verified = verify(&file[..]).unwrap();
        assert_eq!(verified.version, 2);
        assert_eq!(verified.header.generation, 4);
        assert_eq!(verified.header.algorithm, Algorithm::Sha1);
        assert!(verified.header.extra_digests.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2");
        std::fs::write(&path, &file).unwrap();
        let base = Baseline::open(&path).unwrap();
        let again: Vec<Record> = base.records_again().unwrap().map(Result::unwrap).collect();
        let back: Vec<Record> = base.records().map(Result::unwrap).collect();
        assert_eq!(back, records);
        assert_eq!(again, records);
        // Version-3 records (with their list of extra digests) in a version-2 file are not
        // version-2 records.
        let frames: Vec<Vec<u8>> = records.iter().map(|r| v3_record(r, vec![])).collect();
        let err = verify(&file_of(2, &head, &frames)[..]).err().unwrap();
        assert!(err.contains("stray bytes"), "{err}");
    }

    /// Extra digests go in and come back out, in the header's order, on files with a
    /// checksum only; the writer refuses what the reader would refuse.
    #[test]
    fn extra_digests_round_trip_in_version_3() {
        let kinds = vec![HashKind::Md5, HashKind::Sha256];
        let header = Header {
            algorithm: Algorithm::Xxh128,
            origin: Origin::Scan,
            sources: vec![b"src/".to_vec()],
            roots: vec![b"/src/".to_vec()],
            one_file_system: 0,
            filters: Vec::new(),
            host: "h".into(),
            created: Timestamp::default(),
            generation: 1,
            fimsum_version: "0.1.0".into(),
            extra_digests: kinds.clone(),
            skip_fs: Some(vec![0x6969]),
        };
        let mut link = entry("l", Kind::Symlink, Content::None);
        link.link_target = Some(b"a".to_vec());
        let records = [
            entry(".", Kind::Dir, Content::None),
            hashed("a", Algorithm::Xxh128, &kinds),
            entry("b", Kind::File, Content::ChangedDuringScan("grew".into())),
            link,
            entry("d", Kind::Dir, Content::None),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3");
        let mut writer = BaselineWriter::create(&path, &header).unwrap();
        for r in &records {
            writer.append(r).unwrap();
        }
        writer.finish().unwrap();
        let verified = verify(&std::fs::read(&path).unwrap()[..]).unwrap();
        assert_eq!(verified.version, FORMAT_VERSION);
        let base = Baseline::open(&path).unwrap();
        assert_eq!(base.header, header);
        let back: Vec<Record> = base.records().map(Result::unwrap).collect();
        assert_eq!(back, records);
        assert_eq!(
            back[1].extra_digest(HashKind::Sha256),
            Some(&HashKind::Sha256.digest(b"a"))
        );

        // A hashed file without (all of) the header's digests, or a directory with one.
        let mut writer = BaselineWriter::create(&path, &header).unwrap();
        let partial = hashed("a", Algorithm::Xxh128, &[HashKind::Sha256]);
        assert!(writer.append(&partial).is_err());
        let mut dir_with = entry("d", Kind::Dir, Content::None);
        dir_with.extra = hashed("d", Algorithm::Xxh128, &kinds).extra;
        assert!(writer.append(&dir_with).is_err());
        // A name the reader would refuse (`record::check_name`) is refused here too.
        for name in ["sub/../../etc/shadow", "/etc/passwd", "a//b"] {
            assert!(writer
                .append(&entry(name, Kind::Dir, Content::None))
                .is_err());
        }
        drop(writer);
        // A list that is not canonical.
        for extra_digests in [
            vec![HashKind::Sha256, HashKind::Md5],
            vec![HashKind::Sha1, HashKind::Sha1],
        ] {
            let odd = Header {
                extra_digests,
                ..header.clone()
            };
            assert!(BaselineWriter::create(&path, &odd).is_err());
        }
        let same_as_checksum = Header {
            algorithm: Algorithm::Md5,
            extra_digests: vec![HashKind::Md5],
            ..header.clone()
        };
        assert!(BaselineWriter::create(&path, &same_as_checksum).is_err());
        // The good baseline is still there.
        assert_eq!(verify(&std::fs::read(&path).unwrap()[..]).unwrap().count, 5);
    }

    /// Crafted version-3 files with a right digest: every inconsistency between the
    /// header's list and a record's extra digests is an error naming it, never a panic.
    #[test]
    fn corrupt_extra_digests_are_refused() {
        let sha = [HashKind::Sha256];
        let head = v3_header(Algorithm::Md5, vec![HashKind::Sha256.code()]);
        let good = hashed("a", Algorithm::Md5, &sha);
        let ok = v3_record(&good, vec![good.extra[0].1.as_bytes().to_vec()]);
        assert!(verify(&file_of(3, &head, std::slice::from_ref(&ok))[..]).is_ok());
        let sha256 = |data: &[u8]| HashKind::Sha256.digest(data).as_bytes().to_vec();
        let bare = hashed("a", Algorithm::Md5, &[]);
        let dir = entry("d", Kind::Dir, Content::None);
        let unreadable = entry("u", Kind::File, Content::Unreadable("EIO".into()));
        let cases: [(&str, Vec<u8>, &str); 7] = [
            (
                "missing",
                v3_record(&bare, vec![]),
                "0 extra digests where 1 belong",
            ),
            (
                "one too many",
                v3_record(&bare, vec![sha256(b"a"), sha256(b"b")]),
                "2 extra digests where 1 belong",
            ),
            (
                "short",
                v3_record(&bare, vec![sha256(b"a")[..31].to_vec()]),
                "sha256 digest of 31 bytes",
            ),
            (
                "md5-sized",
                v3_record(&bare, vec![Algorithm::Md5.digest(b"a").as_bytes().to_vec()]),
                "sha256 digest of 16 bytes",
            ),
            (
                "on a directory",
                v3_record(&dir, vec![sha256(b"d")]),
                "1 extra digests where 0 belong",
            ),
            (
                "on an unreadable file",
                v3_record(&unreadable, vec![sha256(b"u")]),
                "1 extra digests where 0 belong",
            ),
            (
                "a version-2 record",
                encode(WireRecord::from_record(&bare)),
                "record 1 of 1",
            ),
        ];
        for (what, frame, want) in cases {
            let err = verify(&file_of(3, &head, &[frame])[..]).err();
            let err = err.unwrap_or_else(|| panic!("{what}: verified"));
            assert!(err.contains(want), "{what}: {err}");
        }
        let headers: [(&str, Vec<u8>, &str); 5] = [
            ("unknown kind", vec![9], "unknown digest code 9"),
            ("repeated", vec![3, 3], "repeated, out of order"),
            ("out of order", vec![3, 1], "repeated, out of order"),
            ("the checksum itself", vec![1, 3], "the checksum itself"),
            (
                "no list",
                vec![],
                "record 1 of 1: 1 extra digests where 0 belong",
            ),
        ];
        for (what, codes, want) in headers {
            let file = file_of(
                3,
                &v3_header(Algorithm::Md5, codes),
                std::slice::from_ref(&ok),
            );
            let err = verify(&file[..]).err();
            let err = err.unwrap_or_else(|| panic!("{what}: verified"));
            assert!(err.contains(want), "{what}: {err}");
        }
        // A version-2 header in a version-3 file.
        let v2_head = encode(WireHeaderV2 {
            v1: wire_header(Algorithm::Md5),
            generation: 1,
        });
        let err = verify(&file_of(3, &v2_head, &[])[..]).err().unwrap();
        assert!(err.contains("bad header"), "{err}");
    }

    fn signed_header() -> Header {
        Header {
            algorithm: Algorithm::Md5,
            origin: Origin::Scan,
            sources: vec![b"src/".to_vec()],
            roots: vec![b"/src/".to_vec()],
            one_file_system: 0,
            filters: Vec::new(),
            host: "h".into(),
            created: Timestamp::default(),
            generation: 4,
            fimsum_version: "0.1.0".into(),
            extra_digests: Vec::new(),
            skip_fs: None,
        }
    }

    fn write_signed(path: &Path, key: SecretKey, records: &[Record]) {
        let mut writer = BaselineWriter::create_signed(path, &signed_header(), key).unwrap();
        for r in records {
            writer.append(r).unwrap();
        }
        writer.finish().unwrap();
    }

    /// The records handed out (to the diff, and to `check --quick`'s second reader) are
    /// decoded from the very bytes whose signature was verified: a file rewritten in place
    /// after the verifying pass, here with other records of the same length, changes
    /// nothing that is read.
    #[test]
    fn signed_records_are_not_read_again_after_verification() {
        let dir = tempfile::tempdir().unwrap();
        let keys = sign::generate(&dir.path().join("k")).unwrap();
        let key = || SecretKey::load(&keys.secret).unwrap();
        let good = [
            entry(".", Kind::Dir, Content::None),
            hashed("bin", Algorithm::Md5, &[]),
        ];
        let mut backdoor = good.clone();
        backdoor[1].content = Content::Digest(Algorithm::Md5.digest(b"backdoor"));
        let path = dir.path().join("b");
        let other = dir.path().join("other");
        write_signed(&path, key(), &good);
        write_signed(&other, key(), &backdoor);
        let forged = std::fs::read(&other).unwrap();
        assert_eq!(
            forged.len(),
            std::fs::metadata(&path).unwrap().len() as usize
        );

        let policy = Policy {
            key: sign::PublicKey::load(&keys.public).unwrap(),
            expect_host: None,
            min_generation: None,
        };
        let base = Baseline::open_with(&path, Some(&policy)).unwrap();
        assert!(matches!(base.signature, SignatureStatus::Verified(_)));
        // Rewritten in place between the verification and the reading of the records.
        let mut file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        file.write_all(&forged).unwrap();
        drop(file);
        let again: Vec<Record> = base.records_again().unwrap().map(Result::unwrap).collect();
        let read: Vec<Record> = base.records().map(Result::unwrap).collect();
        assert_eq!(read, good);
        assert_eq!(again, good);
    }

    /// Only the exact names of a writer's temporary files are taken for them.
    #[test]
    fn temporary_names_are_recognised_exactly() {
        let name = b"b.fimsum";
        for (entry, pid) in [
            (&b".b.fimsum.tmp.123"[..], Some(123)),
            (b".b.fimsum.2.tmp.77", Some(77)),
            (b"b.fimsum.tmp.9", Some(9)),
            (b".b.fimsum.tmp.", None),
            (b".b.fimsum.tmp.12x", None),
            (b".b.fimsum.x.tmp.12", None),
            (b".b.fimsum.lock", None),
            (b"b.fimsum", None),
            (b"b.fimsum.1", None),
            (b".c.fimsum.tmp.1", None),
            (b".b.fimsumx.tmp.1", None),
            (b".b.fimsum.tmp.99999999999", None),
        ] {
            assert_eq!(
                temporary_pid(name, entry),
                pid,
                "{}",
                String::from_utf8_lossy(entry)
            );
        }
    }

    /// What a killed run left (its temporary file of a dead process) is removed by the next
    /// writer; a live process's, another user's, a symlink and other names are left alone.
    #[test]
    fn stale_temporaries_of_dead_runs_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // A PID that is not running: a child that has been reaped.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        child.wait().unwrap();
        let dead = child.id();
        let stale = [
            format!(".b.tmp.{dead}"),
            format!(".b.1.tmp.{dead}"),
            format!("b.tmp.{dead}"),
        ];
        for name in &stale {
            std::fs::write(d.join(name), b"left over").unwrap();
        }
        let live = format!(".b.tmp.{}", std::os::unix::process::parent_id());
        std::fs::write(d.join(&live), b"in use").unwrap();
        let theirs = format!(".b.2.tmp.{dead}");
        std::fs::write(d.join(&theirs), b"not ours").unwrap();
        std::os::unix::fs::chown(d.join(&theirs), Some(65534), Some(65534)).unwrap();
        let link = format!(".b.3.tmp.{dead}");
        std::os::unix::fs::symlink("victim", d.join(&link)).unwrap();
        std::fs::write(d.join("victim"), b"keep").unwrap();
        std::fs::write(d.join("b.other"), b"keep").unwrap();

        let writer = BaselineWriter::create_next(&d.join("b"), &signed_header()).unwrap();
        writer.finish().unwrap();
        for name in &stale {
            assert!(!d.join(name).exists(), "{name} left");
        }
        for name in [&live, &theirs, "victim", "b.other"] {
            assert!(d.join(name).exists(), "{name} removed");
        }
        assert!(d.join(&link).symlink_metadata().is_ok());
    }

    /// Where neither `linkat` of the anonymous file works (no /proc in a chroot, no
    /// CAP_DAC_READ_SEARCH), the finished baseline is copied into a named temporary file and
    /// moved into place all the same, leaving nothing else behind.
    #[test]
    fn a_chroot_without_proc_still_gets_its_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        let records = [
            entry(".", Kind::Dir, Content::None),
            hashed("a", Algorithm::Md5, &[]),
        ];
        NO_LINKAT.with(|c| c.set(true));
        let mut writer = BaselineWriter::create_next(&path, &signed_header()).unwrap();
        for r in &records {
            writer.append(r).unwrap();
        }
        let finished = writer.finish();
        NO_LINKAT.with(|c| c.set(false));
        assert_eq!(finished.unwrap(), 2);
        let back: Vec<Record> = Baseline::open(&path)
            .unwrap()
            .records()
            .map(Result::unwrap)
            .collect();
        assert_eq!(back, records);
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, [".b.lock", "b"]);
    }

    /// Rotating keeps every numbered baseline in place and shifts them by one.
    #[test]
    fn rotation_shifts_every_kept_baseline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b");
        for generation in 1..=4 {
            let mut writer = BaselineWriter::create_next(&path, &signed_header()).unwrap();
            assert_eq!(writer.generation(), generation);
            writer.keep_previous(2);
            writer.finish().unwrap();
        }
        let generation = |name: &str| {
            Baseline::open(&dir.path().join(name))
                .unwrap()
                .header
                .generation
        };
        assert_eq!(
            (generation("b"), generation("b.1"), generation("b.2")),
            (4, 3, 2)
        );
        assert!(!dir.path().join("b.3").exists());
    }
}
