//! Baseline files: the only module that knows their encoding (bincode 2.0.1).
//!
//! Layout (all integers outside bincode frames are little-endian):
//!
//! ```text
//! magic      8 bytes  "FIMSUMBL"
//! version    u32      FORMAT_VERSION (3; versions 1 and 2 are still read)
//! header     u32 length + bincode(WireHeaderV3)          (at most 1 MiB)
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
//! signed baseline played back (`--min-generation`).
//!
//! Version 3 added the extra digests (`scan --digest`): the header lists their kinds, and
//! each regular file with a checksum carries one digest of each kind, in that order, and
//! every other record none. Versions 1 and 2 are read as baselines without extra digests
//! (version 1 also as generation 0); [`BaselineWriter`] always writes version 3.
//!
//! A signed baseline ends with the fixed-size block of [`crate::sign`], which covers the
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
//!
//! The wire structs below mirror the public types on purpose: the file format changes only
//! when this module says so, never by a refactor elsewhere, and decoding validates on the
//! way in (kinds, digest lengths, names).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use bincode::{Decode, Encode};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};
use crate::hash::{extra_kinds, Algorithm, Digest, HashKind};
use crate::order::cmp_entries;
use crate::record::{check_name, Content, Kind, Meta, Record, Timestamp};
use crate::sign::{self, KeyId, Policy, SecretKey, SignatureBlock, BLOCK_LEN};
use crate::walk::FilterArg;

const MAGIC: &[u8; 8] = b"FIMSUMBL";
const END_MAGIC: &[u8; 8] = b"FIMSUMEN";
/// Version 3: the layout above. Version 2 had no extra digests; version 1 had no generation
/// in the header either and was never signed. Both are still read.
pub const FORMAT_VERSION: u32 = 3;
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
    /// How many times `-x` was given (see [`crate::walk::WalkOptions`]).
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

/// Shift `target.1` .. `target.{keep-1}` up by one and link `target` as `target.1`, leaving
/// `target` itself in place, so that a reader never finds no baseline at all. Under the lock.
fn rotate(target: &Path, keep: usize) -> io::Result<()> {
    if keep == 0 || !target.exists() {
        return Ok(());
    }
    let numbered = |n: usize| {
        let mut p = target.as_os_str().to_owned();
        p.push(format!(".{n}"));
        PathBuf::from(p)
    };
    for n in (1..keep).rev() {
        match std::fs::rename(numbered(n), numbered(n + 1)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
    }
    let staged = numbered(0);
    let _ = std::fs::remove_file(&staged);
    std::fs::hard_link(target, &staged)?;
    std::fs::rename(&staged, numbered(1))
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
/// a run killed at any point (SIGINT, `kill -9`, power loss) leaves nothing behind. Where the
/// filesystem lacks `O_TMPFILE`, a named `.NAME.tmp.PID` is used and removed when the writer
/// is dropped unfinished. A lock (`flock` on `.NAME.lock` beside the baseline, never
/// removed) keeps two runs from writing the same baseline at once: the second fails at once
/// with a clear message (exit 75) rather than queueing behind a long scan.
pub struct BaselineWriter {
    out: BufWriter<File>,
    dir: File,
    /// The name of the temporary file, when it has one (no `O_TMPFILE`).
    named_tmp: Option<PathBuf>,
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

impl BaselineWriter {
    /// Start a baseline at `target` with exactly this header.
    pub fn create(target: &Path, header: &Header) -> Result<BaselineWriter> {
        BaselineWriter::start(target, header, false)
    }

    /// [`BaselineWriter::create`], numbering the baseline: its generation is one more than
    /// that of the baseline it replaces at `target` (read from its header under the lock),
    /// or 1 if there is none or it cannot be read as one; `header.generation` is ignored.
    pub fn create_next(target: &Path, header: &Header) -> Result<BaselineWriter> {
        BaselineWriter::start(target, header, true)
    }

    fn start(target: &Path, header: &Header, number: bool) -> Result<BaselineWriter> {
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
        let lock = lock_beside(&lock_path(target), target)?;
        let mut header = header.clone();
        if number {
            header.generation = next_generation(target);
        }
        let prefix = signed_prefix(&header, 0)?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(file_name);
        tmp_name.push(format!(".tmp.{}", std::process::id()));
        let (file, named_tmp) = create_temp(&dir, &dir_path.join(tmp_name))?;
        let mut writer = BaselineWriter {
            out: BufWriter::with_capacity(1 << 20, file),
            dir,
            named_tmp,
            target: target.to_path_buf(),
            lock,
            algorithm: header.algorithm,
            extra: header.extra_digests.clone(),
            generation: header.generation,
            prefix: Vec::new(),
            signer: None,
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

    /// Sign the baseline with `key` when it is finished (README "Signed baselines").
    pub fn sign_with(&mut self, key: SecretKey) {
        self.signer = Some(key);
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
                let mut tmp = target.clone().into_os_string();
                tmp.push(format!(".tmp.{}", std::process::id()));
                let tmp = PathBuf::from(tmp);
                let fd_path = format!("/proc/self/fd/{}", self.out.get_ref().as_raw_fd());
                rustix::fs::linkat(
                    rustix::fs::CWD,
                    fd_path.as_str(),
                    rustix::fs::CWD,
                    &tmp,
                    rustix::fs::AtFlags::SYMLINK_FOLLOW,
                )
                .map_err(|e| Error::io(ctx("link"), e.into()))?;
                self.named_tmp = Some(tmp.clone());
                tmp
            }
        };
        rotate(&target, self.keep)
            .map_err(|e| Error::io(ctx("keep the baseline replaced by"), e))?;
        std::fs::rename(&tmp, &target).map_err(|e| Error::io(ctx("move into place"), e))?;
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
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// A baseline's first bytes for this header and record count: magic, version, header frame,
/// count. Besides the payload digest, they are what a signature covers ([`sign::message`]).
pub fn signed_prefix(header: &Header, count: u64) -> Result<Vec<u8>> {
    let wire = WireHeaderV3 {
        v2: WireHeaderV2 {
            v1: WireHeader::from_header(header),
            generation: header.generation,
        },
        extra_digests: header.extra_digests.iter().map(|k| k.code()).collect(),
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

/// One more than the generation of the baseline at `path`, going by its header alone; 1 if
/// there is none or it is not a baseline. Only a counter: the trust is in the signature of
/// the baseline that carries it. Only a regular file is opened, never through a symlink and
/// without blocking, so a FIFO or device put at the output path cannot hang the run.
fn next_generation(path: &Path) -> u64 {
    let regular = |m: &std::fs::Metadata| m.is_file();
    let previous = || -> Option<Header> {
        std::fs::symlink_metadata(path).ok().filter(regular)?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)
            .ok()?;
        file.metadata().ok().filter(regular)?;
        read_prefix(&mut Input::new(BufReader::new(file)))
            .ok()
            .map(|(header, _, _)| header)
    };
    previous().map_or(1, |h| h.generation.saturating_add(1))
}

/// The lock file of a baseline: `.NAME.lock` beside it.
pub fn lock_path(target: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(".lock");
    target.with_file_name(name)
}

/// Take the writer's lock, or fail at once if another run holds it.
fn lock_beside(path: &Path, target: &Path) -> Result<File> {
    let lock = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("cannot create lock file {}", path.display()), e))?;
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

/// An unnamed temporary file in `dir` (`O_TMPFILE`), or a named one where the filesystem
/// has no `O_TMPFILE`.
fn create_temp(dir: &File, named: &Path) -> Result<(File, Option<PathBuf>)> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::TMPFILE | OFlags::RDWR | OFlags::CLOEXEC;
    match rustix::fs::openat(dir, ".", flags, Mode::from_raw_mode(0o600)) {
        Ok(fd) => Ok((File::from(fd), None)),
        Err(rustix::io::Errno::OPNOTSUPP | rustix::io::Errno::ISDIR | rustix::io::Errno::INVAL) => {
            // A leftover of a run killed between naming and renaming: we hold the lock.
            let _ = std::fs::remove_file(named);
            let file = std::fs::OpenOptions::new()
                .write(true)
                .read(true)
                .create_new(true)
                .mode(0o600)
                .open(named)
                .map_err(|e| Error::io(format!("cannot create {}", named.display()), e))?;
            Ok((file, Some(named.to_path_buf())))
        }
        Err(e) => Err(Error::io(
            "cannot create the temporary baseline file",
            e.into(),
        )),
    }
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
    let mut file = crate::input::open_regular(path).map_err(|source| Error::NoInput {
        path: path.to_path_buf(),
        source,
    })?;
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
pub struct Baseline {
    pub header: Header,
    pub count: u64,
    pub signature: SignatureStatus,
    path: PathBuf,
    input: BufReader<File>,
    records_offset: u64,
    format: RecordFormat,
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
        let file = crate::input::open_regular(path).map_err(|source| Error::NoInput {
            path: path.to_path_buf(),
            source,
        })?;
        let mut input = BufReader::with_capacity(1 << 20, file);
        let bad = |reason| Error::bad_data(path, reason);
        let signed = match policy {
            Some(policy) => Some(check_signature(&mut input, policy).map_err(bad)?),
            None => None,
        };
        let read_error = |e| Error::io(format!("cannot read {}", path.display()), e);
        input.seek(SeekFrom::Start(0)).map_err(read_error)?;
        let verified = verify(&mut input).map_err(bad)?;
        let signature = match (signed, verified.signature) {
            (None, None) => SignatureStatus::Unsigned,
            (None, Some(block)) => SignatureStatus::Unchecked(block.key_id),
            // The same bytes both passes saw (the digest covers all but the block).
            (Some(s), Some(block)) if s.block == block && s.digest == verified.digest => {
                SignatureStatus::Verified(block.key_id)
            }
            (Some(_), _) => return Err(bad("changed while it was being verified".into())),
        };
        input
            .seek(SeekFrom::Start(verified.records_offset))
            .map_err(read_error)?;
        Ok(Baseline {
            format: RecordFormat::new(verified.version, &verified.header),
            header: verified.header,
            count: verified.count,
            signature,
            path: path.to_path_buf(),
            input,
            records_offset: verified.records_offset,
        })
    }

    /// A second, independent reader of the same records (for `check --quick`, which reads
    /// them in step with the scan while the diff reads them too). It reads the very file
    /// that was verified (reopened through this process's fd, so a file swapped in under
    /// the same name since is not read), without verifying it again.
    pub fn records_again(&self) -> Result<Records> {
        let fd_path = format!("/proc/self/fd/{}", self.input.get_ref().as_raw_fd());
        let file = File::open(&fd_path)
            .and_then(|mut f| f.seek(SeekFrom::Start(self.records_offset)).map(|_| f))
            .map_err(|e| Error::io(format!("cannot read {} again", self.path.display()), e))?;
        Ok(Records {
            input: Input::new(BufReader::with_capacity(1 << 20, file)),
            format: self.format.clone(),
            left: self.count,
            path: self.path.clone(),
        }
        .skip_hashing(self.records_offset))
    }

    /// The records in order. The file was verified by [`Baseline::open`]; an error here
    /// means it changed since.
    pub fn records(self) -> Records {
        Records {
            input: Input::new(self.input),
            format: self.format,
            left: self.count,
            path: self.path,
        }
        .skip_hashing(self.records_offset)
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
    input: Input<BufReader<File>>,
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
        1 => decode_exact::<WireHeader>(frame).map(|w| (w, 0, Vec::new())),
        2 => decode_exact::<WireHeaderV2>(frame).map(|w| (w.v1, w.generation, Vec::new())),
        _ => {
            decode_exact::<WireHeaderV3>(frame).map(|w| (w.v2.v1, w.v2.generation, w.extra_digests))
        }
    };
    decoded
        .and_then(|(wire, generation, extra)| wire.into_header(generation, extra))
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

#[cfg(test)]
mod tests {
    use super::*;

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
        Record {
            name: name.as_bytes().to_vec(),
            kind,
            meta: Some(Meta::default()),
            link_target: None,
            content,
            extra: Vec::new(),
        }
    }

    fn hashed(name: &str, algorithm: Algorithm, kinds: &[HashKind]) -> Record {
        let mut r = entry(
            name,
            Kind::File,
            Content::Digest(algorithm.digest(name.as_bytes())),
        );
        r.extra = kinds
            .iter()
            .map(|&k| (k, k.digest(name.as_bytes())))
            .collect();
        r
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
        assert_eq!(verified.version, 3);
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
}
