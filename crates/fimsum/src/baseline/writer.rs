//! Writing a baseline safely: the lock beside it, the temporary file it is written into,
//! the rotation of older generations, the generation number, and the move into place.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::reader::{check_signature, read_prefix, read_private, Input, Policy, NOT_SIGNED};
use super::sign::{self, SecretKey};
use super::wire::{
    config, frame_len, invalid_name, signed_prefix, HashWriter, Header, WireAttrs, WireRecord,
    WireRecordV3, WireRecordV5, WireSnapshot, DIGEST_LEN, END_MAGIC,
};
use crate::error::{Error, Result};
use crate::hash::{extra_kinds, Algorithm, HashKind};
use crate::record::{check_name, Record};
use crate::rsync::order::cmp_entries;

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
pub(super) fn temporary_pid(name: &[u8], entry: &[u8]) -> Option<u32> {
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
    pub(crate) fn create_numbered(
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
    pub(crate) fn keep_previous(&mut self, generations: usize) {
        self.keep = generations;
    }

    /// Device and inode of the files this writer owns (the file being written, which keeps
    /// them when moved into place, and the lock file), so a scan can leave them out of the
    /// tree it lists.
    pub(crate) fn identities(&self) -> Vec<(u64, u64)> {
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
        let v3 = WireRecordV3 {
            v2: WireRecord::from_record(record),
            extra: record
                .extra
                .iter()
                .map(|(_, d)| d.as_bytes().to_vec())
                .collect(),
        };
        // A snapshot belongs to a checksum; any other record keeps none.
        let snapshot = match (&record.snapshot, record.content.digest()) {
            (Some(s), Some(_)) if record.kind == crate::record::Kind::File => {
                Some(WireSnapshot::from_snapshot(s))
            }
            _ => None,
        };
        let wire = WireRecordV5 {
            v3,
            attrs: record.attrs.as_ref().map(WireAttrs::from_attrs),
            snapshot,
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
pub(crate) fn lock_path(target: &Path) -> PathBuf {
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
    pub(super) static NO_LINKAT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
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
