//! Reading a baseline as hostile input: the private copy in memory, the verifying pass,
//! the signature pass that comes before any decoding, and the records handed out.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use super::sign::{self, KeyId, PublicKey, SignatureBlock, BLOCK_LEN};
use super::wire::{
    decode_exact, decode_extra, decode_header, HashWriter, Header, RawPrefix, RecordFormat,
    WireAttrs, WireRecord, WireRecordV3, WireRecordV5, DIGEST_LEN, END_LEN, END_MAGIC,
    FORMAT_VERSION, FRAME_LIMIT, MAGIC,
};
use crate::error::{Error, Result};
use crate::record::Record;
use crate::rsync::order::cmp_entries;

/// Does this file start like a baseline? (Anything else is taken for an rsync log.)
pub(crate) fn is_baseline(path: &Path) -> Result<bool> {
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
    /// Not signed.
    Unsigned,
    /// Signed by this key; not checked, as no verify key was given.
    Unchecked(KeyId),
    /// Signed by this key, and the signature verified.
    Verified(KeyId),
}

/// A verified baseline, ready to hand out its records in order.
///
/// The file is read once, into memory of this process, and everything after that (the
/// signature check, the verifying pass, the records handed out, `Baseline::records_again`
/// for `check --quick`) reads that private copy: the records used are exactly the bytes
/// that were verified, whatever is done to the file meanwhile. Reading the file twice
/// would let whoever can write it (and sees the first pass end) put other records under a
/// valid signature. The copy costs the baseline's size in memory, about 50 bytes an entry
/// (16 MB for a /usr of 300,000); a file too large for the memory there is refused
/// (exit 74) rather than aborting the run.
pub struct Baseline {
    /// What the baseline says about itself.
    pub header: Header,
    /// How many records it holds.
    pub count: u64,
    /// Whether it is signed, and whether the signature was checked.
    pub signature: SignatureStatus,
    path: PathBuf,
    data: Arc<Vec<u8>>,
    records_offset: u64,
    format: RecordFormat,
}

/// Read all of `file` (`path`, for messages) into memory, its length taken from `fstat`
/// (bytes written past it meanwhile are not read; a file cut short is then found
/// truncated by the checks).
pub(super) fn read_private(file: &File, path: &Path) -> Result<Vec<u8>> {
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
        Baseline::open_checked(path, policy, Depth::Records)
    }

    /// [`Baseline::open_with`], with the records checked as they are read rather than
    /// before: the signature, the digest, the frames and the end marker are checked now,
    /// each record is decoded and its order checked when it is handed out, and the first
    /// that fails is an error of the run reading it. For `check`, which reports nothing
    /// before its diff has read every record: a check of a large tree does not wait for a
    /// pass over the whole baseline before its walk starts.
    pub fn open_streaming(path: &Path, policy: Option<&Policy>) -> Result<Baseline> {
        Baseline::open_checked(path, policy, Depth::Frames)
    }

    fn open_checked(path: &Path, policy: Option<&Policy>, depth: Depth) -> Result<Baseline> {
        let file = crate::input::open_input(path)?;
        Baseline::from_bytes(path, read_private(&file, path)?, policy, depth)
    }

    /// [`Baseline::open_checked`] of these bytes, read from `path`.
    fn from_bytes(
        path: &Path,
        data: Vec<u8>,
        policy: Option<&Policy>,
        depth: Depth,
    ) -> Result<Baseline> {
        let bad = |reason| Error::bad_data(path, reason);
        let signed = match policy {
            Some(policy) => Some(check_signature(io::Cursor::new(&data[..]), policy).map_err(bad)?),
            None => None,
        };
        let verified = match depth {
            Depth::Records => check_integrity(&data[..]),
            Depth::Frames => check_frames(&data[..]),
        }
        .map_err(bad)?;
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
    pub(crate) fn records_again(&self) -> Result<Records> {
        Ok(self.reader())
    }

    /// The format version the file was written in.
    pub(crate) fn version(&self) -> u32 {
        self.format.version
    }

    fn reader(&self) -> Records {
        Records {
            data: Arc::clone(&self.data),
            cursor: Cursor::new(self.records_offset, self.format.clone(), self.count),
            path: self.path.clone(),
        }
    }

    /// The records in order, decoded from the bytes [`Baseline::open`] verified.
    pub fn records(self) -> Records {
        self.reader()
    }
}

/// What [`check_integrity`] found in a sound baseline.
pub struct Verified {
    /// The format version the file was written in.
    pub version: u32,
    /// What the baseline says about itself.
    pub header: Header,
    /// How many records it holds.
    pub count: u64,
    /// Where the first record starts.
    pub records_offset: u64,
    /// The SHA-256 of every byte before the end marker.
    pub digest: [u8; DIGEST_LEN],
    /// The signature block after the end marker, if there is one (not checked here).
    pub signature: Option<SignatureBlock>,
}

/// How much of a baseline is checked when it is opened.
#[derive(Clone, Copy)]
enum Depth {
    /// Everything, every record decoded ([`check_integrity`]).
    Records,
    /// All but the records' contents ([`check_frames`]); [`Records`] checks those.
    Frames,
}

/// Check a whole baseline: magic and version, every frame against the limits and the bytes
/// left, every record decoded exactly and in strict rsync order, then the end marker, the
/// digest and the end of input. Nothing is kept but the header, so memory stays flat.
pub fn check_integrity(data: &[u8]) -> std::result::Result<Verified, String> {
    let verified = check_frames(data)?;
    let format = RecordFormat::new(verified.version, &verified.header);
    let mut cursor = Cursor::new(verified.records_offset, format, verified.count);
    while let Some(record) = cursor.next(data) {
        record?;
    }
    Ok(verified)
}

/// [`check_integrity`] but for the records' contents: magic and version, the header, every
/// frame's length against the limit and the bytes left, the end marker, the digest of
/// every byte before it and what follows it. A baseline that passes is what some writer
/// wrote (or, if it is signed and the signature checks, what the key's holder wrote); its
/// records are then decoded and their order checked as [`Records`] hands them out.
fn check_frames(data: &[u8]) -> std::result::Result<Verified, String> {
    let mut input = Input::new(data);
    let (header, count, version) = read_prefix(&mut input)?;
    let records_offset = input.offset;
    let mut pos = records_offset as usize;
    for i in 0..count {
        frame_at(data, &mut pos).map_err(|e| format!("record {} of {count}: {e}", i + 1))?;
    }
    let digest: [u8; DIGEST_LEN] = Sha256::digest(&data[..pos]).into();
    let end = data
        .get(pos..pos + END_LEN)
        .ok_or_else(|| "end marker missing: the baseline is truncated".to_string())?;
    if &end[..8] != END_MAGIC {
        return Err("end marker missing: wrong record count or trailing records".into());
    }
    if end[8..] != digest[..] {
        return Err(DIGEST_MISMATCH.into());
    }
    // After the end marker: nothing, or exactly one signature block.
    let rest = &data[pos + END_LEN..];
    let signature = if rest.is_empty() {
        None
    } else {
        Some(
            SignatureBlock::from_bytes(rest)
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
pub(super) const NOT_SIGNED: &str = "not signed, and a signature is required (--verify-key)";

/// What [`check_signature`] vouches for.
pub struct Signed {
    /// The header, as signed.
    pub header: Header,
    /// The SHA-256 of every byte before the end marker, as signed.
    pub digest: [u8; DIGEST_LEN],
    /// The signature block that verified.
    pub block: SignatureBlock,
}

/// The signature pass, before anything is decoded: read the magic, the version and the
/// header frame as bytes (only fixed-size fields are looked at), find the signature block
/// and the end marker at their fixed offsets from the end, hash everything before the end
/// marker, and verify the signature over [`sign::message`]. Only then is the header
/// decoded and checked against the policy's host and generation. Records are never decoded
/// here; [`check_integrity`] does that afterwards.
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
///
/// It decodes each frame where it lies in the verified copy: nothing is copied out, and
/// nothing is hashed again (the copy is private and was hashed as it was made).
pub struct Records {
    data: Arc<Vec<u8>>,
    cursor: Cursor,
    path: PathBuf,
}

/// Where the next record is, and what each record is checked against as it is decoded.
struct Cursor {
    pos: usize,
    format: RecordFormat,
    count: u64,
    /// How many have been read; after an error, all of them.
    read: u64,
    /// The name of the last record and whether it is a directory: each must sort after it.
    last: Option<(Vec<u8>, bool)>,
}

/// The frame at `*pos` of `data`, length-checked as [`Input::frame`] checks it.
fn frame_at<'a>(data: &'a [u8], pos: &mut usize) -> std::result::Result<&'a [u8], String> {
    let truncated = |at: usize| format!("truncated at offset {at}");
    let len = data
        .get(*pos..*pos + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
        .ok_or_else(|| truncated(*pos))? as usize;
    if len > FRAME_LIMIT {
        return Err(format!(
            "frame of {len} bytes at offset {} exceeds the limit",
            *pos
        ));
    }
    let start = *pos + 4;
    let frame = data
        .get(start..start + len)
        .ok_or_else(|| truncated(start))?;
    *pos = start + len;
    Ok(frame)
}

impl Cursor {
    fn new(offset: u64, format: RecordFormat, count: u64) -> Cursor {
        Cursor {
            pos: offset as usize,
            format,
            count,
            read: 0,
            last: None,
        }
    }

    /// The next record of `data`, decoded and checked to sort after the one before; after
    /// an error, none.
    fn next(&mut self, data: &[u8]) -> Option<std::result::Result<Record, String>> {
        if self.read == self.count {
            return None;
        }
        self.read += 1;
        Some(self.decode(data).map_err(|e| {
            let n = self.read;
            self.read = self.count;
            format!("record {n} of {}: {e}", self.count)
        }))
    }

    fn decode(&mut self, data: &[u8]) -> std::result::Result<Record, String> {
        let record =
            frame_at(data, &mut self.pos).and_then(|frame| decode_record(frame, &self.format))?;
        let is_dir = record.is_dir();
        match &mut self.last {
            Some((name, was_dir)) => {
                if cmp_entries(name, *was_dir, &record.name, is_dir) != std::cmp::Ordering::Less {
                    return Err("out of order".into());
                }
                name.clear();
                name.extend_from_slice(&record.name);
                *was_dir = is_dir;
            }
            None => self.last = Some((record.name.clone(), is_dir)),
        }
        Ok(record)
    }
}

impl Iterator for Records {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        let path = &self.path;
        self.cursor
            .next(&self.data)
            .map(|record| record.map_err(|e| Error::bad_data(path, e)))
    }
}

/// A reader that hashes what it reads and knows its offset, for error messages.
pub(super) struct Input<R> {
    inner: R,
    hasher: Sha256,
    offset: u64,
}

impl<R: Read> Input<R> {
    pub(super) fn new(inner: R) -> Input<R> {
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

/// The header, the record count and the format version.
pub(super) fn read_prefix<R: Read>(
    input: &mut Input<R>,
) -> std::result::Result<(Header, u64, u32), String> {
    let raw = read_raw_prefix(input)?;
    Ok((
        decode_header(raw.version, &raw.header)?,
        raw.count,
        raw.version,
    ))
}

fn decode_record(frame: &[u8], format: &RecordFormat) -> std::result::Result<Record, String> {
    let (wire, extra, attrs, snapshot) = if format.version >= 5 {
        let v5 = decode_exact::<WireRecordV5>(frame)?;
        (v5.v3.v2, v5.v3.extra, v5.attrs, v5.snapshot)
    } else if format.version >= 3 {
        let v3 = decode_exact::<WireRecordV3>(frame)?;
        (v3.v2, v3.extra, None, None)
    } else {
        (decode_exact::<WireRecord>(frame)?, Vec::new(), None, None)
    };
    let mut record = wire.into_record(format.algorithm)?;
    record.extra = decode_extra(&record, extra, &format.extra)?;
    record.attrs = attrs.map(WireAttrs::into_attrs).transpose()?;
    record.snapshot = snapshot.map(|s| s.into_snapshot(&record)).transpose()?;
    Ok(record)
}

/// What a verifier demands of a baseline: a valid signature by `key` and, optionally, the
/// host it was made on and a lowest generation (against replaying an older baseline).
pub struct Policy {
    /// The key the signature must verify with.
    pub key: PublicKey,
    /// The host the baseline must have been made on, if any.
    pub expect_host: Option<String>,
    /// The lowest generation accepted, if any.
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
