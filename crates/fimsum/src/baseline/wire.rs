//! The on-disk format of a baseline: the magic, the version constants, the wire structs
//! that bincode encodes, the frames, and the conversions between the wire structs and
//! [`Header`] and [`Record`] (which validate on the way in). The writer and the reader
//! share everything here, so the two cannot disagree about a byte.

use std::io::{self, Write};

use bincode::{Decode, Encode};
use sha2::{Digest as _, Sha256};

use crate::attrs::{Acl, AclEntry, Attrs, Caps, Extended, Flags, Xattr, XattrValue};
use crate::error::{Error, Result};
use crate::hash::{extra_kinds, Algorithm, Digest, HashKind};
use crate::record::{check_name, Content, Kind, Meta, Record, Timestamp};
use crate::scan::walk::{FilterArg, Follow, Listing, OneFileSystem};
use crate::text::compress::Compressed;
use crate::text::lines::LineDigests;
use crate::text::{Snapshot, LINES_MAX};

pub(super) const MAGIC: &[u8; 8] = b"FIMSUMBL";
pub(super) const END_MAGIC: &[u8; 8] = b"FIMSUMEN";
/// Version 5: the layout above. Version 4 had no listing options in its header and no
/// security attributes and no snapshots in its records; version 3 had no `skip_fs` in the header; version 2 had no extra digests
/// either; version 1 had no generation in the header either and was never signed. All are
/// still read.
pub const FORMAT_VERSION: u32 = 5;
pub(super) const FRAME_LIMIT: usize = 1 << 20;
pub(super) const DIGEST_LEN: usize = 32;
/// The end marker and its digest.
pub(super) const END_LEN: usize = 8 + DIGEST_LEN;

pub(super) fn config() -> impl bincode::config::Config {
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
    /// The checksum algorithm of every record.
    pub algorithm: Algorithm,
    /// What the records came from.
    pub origin: Origin,
    /// The source arguments as given.
    pub sources: Vec<Vec<u8>>,
    /// The same sources made absolute (with trailing slashes kept), for `check`.
    pub roots: Vec<Vec<u8>>,
    /// How many times `-x` was given.
    pub one_file_system: OneFileSystem,
    /// The filter arguments the walk honoured, in order.
    pub filters: Vec<FilterArg>,
    /// The host the baseline was made on.
    pub host: String,
    /// When the baseline was made.
    pub created: Timestamp,
    /// Numbers the baselines written to one path (0 for a version-1 baseline); see
    /// [`super::BaselineWriter::create_next`].
    pub generation: u64,
    /// The version of fimsum that wrote it.
    pub fimsum_version: String,
    /// The kinds of extra digest every hashed file carries (`scan --digest`), in the
    /// canonical form of [`extra_kinds`]; empty for versions 1 and 2.
    pub extra_digests: Vec<HashKind>,
    /// The filesystem types (`statfs` magic numbers, sorted) whose mount points the scan
    /// listed but did not enter ([`crate::scan::walk::WalkOptions::skip_fs`]), so that `check`
    /// walks the same tree; `None` where the baseline does not say (versions 1 to 3, and a
    /// log's import, which no walk made).
    pub skip_fs: Option<Vec<i64>>,
    /// rsync's listing options beyond filters and `-x` that the scan followed, so that
    /// `check` lists the same entries; `None` where the baseline does not say (versions 1
    /// to 4, which always listed as rsync's `-a` does, and a log's import).
    pub listing: Option<Listing>,
}

/// Version 1's header, and the first part of the later ones.
#[derive(Encode, Decode)]
pub(super) struct WireHeader {
    pub(super) algorithm: u8,
    pub(super) origin: u8,
    pub(super) sources: Vec<Vec<u8>>,
    pub(super) roots: Vec<Vec<u8>>,
    pub(super) one_file_system: u8,
    pub(super) filters: Vec<(u8, Vec<u8>)>,
    pub(super) host: String,
    pub(super) created_sec: i64,
    pub(super) created_nsec: u32,
    pub(super) fimsum_version: String,
}

/// Version 2's header: version 1's, then the generation.
#[derive(Encode, Decode)]
pub(super) struct WireHeaderV2 {
    pub(super) v1: WireHeader,
    pub(super) generation: u64,
}

/// Version 3's header: version 2's, then the extra digests' kinds ([`HashKind::code`]).
#[derive(Encode, Decode)]
pub(super) struct WireHeaderV3 {
    pub(super) v2: WireHeaderV2,
    pub(super) extra_digests: Vec<u8>,
}

/// Version 4's header: version 3's, then the filesystem types not entered.
#[derive(Encode, Decode)]
pub(super) struct WireHeaderV4 {
    pub(super) v3: WireHeaderV3,
    pub(super) skip_fs: Option<Vec<i64>>,
}

#[derive(Encode, Decode)]
pub(super) struct WireMeta {
    pub(super) mode: u32,
    pub(super) uid: u32,
    pub(super) gid: u32,
    pub(super) size: u64,
    pub(super) mtime: (i64, u32),
    pub(super) ctime: (i64, u32),
    pub(super) ino: u64,
    pub(super) dev: u64,
    pub(super) nlink: u64,
    pub(super) rdev: u64,
}

#[derive(Encode, Decode)]
pub(super) enum WireContent {
    /// [`Content::NotAFile`] and [`Content::NotHashed`] alike, told apart by the record's
    /// kind when read. First, so its code is 0, as in every version.
    NoChecksum,
    Digest(Vec<u8>),
    Unreadable(String),
    ChangedDuringScan(String),
}

/// A record of versions 1 and 2, and the first part of version 3's.
#[derive(Encode, Decode)]
pub(super) struct WireRecord {
    pub(super) name: Vec<u8>,
    pub(super) kind: u8,
    pub(super) meta: Option<WireMeta>,
    pub(super) link_target: Option<Vec<u8>>,
    pub(super) content: WireContent,
}

/// Version 3's record: version 2's, then the extra digests (raw bytes) in the order of the
/// header's list, for a regular file with a checksum; none for any other record. The kinds
/// are not repeated here: the header says them once.
#[derive(Encode, Decode)]
pub(super) struct WireRecordV3 {
    pub(super) v2: WireRecord,
    pub(super) extra: Vec<Vec<u8>>,
}

// --- Version 5's record: security attributes -------------------------------------------

/// Version 5's record: version 3's, then the security attributes (`None`: not recorded),
/// then the snapshot of a regular file that a rule's `diff` asked for (`None` for every
/// other record; see the block on snapshots below).
#[derive(Encode, Decode)]
pub(super) struct WireRecordV5 {
    pub(super) v3: WireRecordV3,
    pub(super) attrs: Option<WireAttrs>,
    pub(super) snapshot: Option<WireSnapshot>,
}

/// [`Attrs`] on disk: the decoded forms, not the raw xattrs, so that a reader needs no
/// decoder of the kernel's layouts and a diff compares what reports show.
#[derive(Encode, Decode)]
pub(super) struct WireAttrs {
    /// The recorded inode flags; `None`: not read.
    pub(super) flags: Option<u32>,
    /// Version, effective flag, permitted, inheritable, root id (version 3 only).
    pub(super) caps: Option<(u8, bool, u64, u64, Option<u32>)>,
    /// Entries of tag, permissions, id.
    pub(super) acl: Option<Vec<(u16, u16, u32)>>,
    pub(super) default_acl: Option<Vec<(u16, u16, u32)>>,
    pub(super) selinux: Option<Vec<u8>>,
    /// By name, sorted, each once.
    pub(super) xattrs: Vec<(Vec<u8>, WireXattrValue)>,
}

#[derive(Encode, Decode)]
pub(super) enum WireXattrValue {
    Text(Vec<u8>),
    Digest(u64, [u8; 32]),
    Unreadable(String),
}

impl WireAttrs {
    pub(super) fn from_attrs(a: &Attrs) -> WireAttrs {
        let acl = |acl: &Option<Acl>| {
            acl.as_ref()
                .map(|acl| acl.0.iter().map(|e| (e.tag, e.perm, e.id)).collect())
        };
        let flags = a.flags.map(|f| f.0);
        let a = a.ext();
        WireAttrs {
            flags,
            caps: a
                .caps
                .map(|c| (c.version, c.effective, c.permitted, c.inheritable, c.rootid)),
            acl: acl(&a.acl),
            default_acl: acl(&a.default_acl),
            selinux: a.selinux.clone(),
            xattrs: a
                .xattrs
                .iter()
                .map(|x| {
                    let value = match &x.value {
                        XattrValue::Text(v) => WireXattrValue::Text(v.clone()),
                        XattrValue::Digest { len, sha256 } => WireXattrValue::Digest(*len, *sha256),
                        XattrValue::Unreadable(why) => WireXattrValue::Unreadable(why.clone()),
                    };
                    (x.name.clone(), value)
                })
                .collect(),
        }
    }

    /// Back to [`Attrs`], refusing what no scan records: flags that are not recorded ones,
    /// capabilities or ACL entries the kernel would not hold, xattrs out of order or twice,
    /// a text value that would have been a digest.
    pub(super) fn into_attrs(self) -> std::result::Result<Attrs, String> {
        if let Some(raw) = self.flags {
            if Flags::recorded(raw).0 != raw {
                return Err(format!("inode flags {raw:#x} not recorded ones"));
            }
        }
        let caps = match self.caps {
            Some((version, effective, permitted, inheritable, rootid)) => {
                let fits = match version {
                    1 => (permitted | inheritable) >> 32 == 0 && rootid.is_none(),
                    2 => rootid.is_none(),
                    3 => rootid.is_some(),
                    _ => false,
                };
                if !fits {
                    return Err(format!("capabilities of version {version} do not fit it"));
                }
                Some(Caps {
                    version,
                    effective,
                    permitted,
                    inheritable,
                    rootid,
                })
            }
            None => None,
        };
        let acl = |entries: Option<Vec<(u16, u16, u32)>>| match entries {
            None => Ok(None),
            Some(entries) => {
                // The xattr's layout, checked by its own decoder.
                let mut raw = 2u32.to_le_bytes().to_vec();
                for (tag, perm, id) in &entries {
                    raw.extend_from_slice(&tag.to_le_bytes());
                    raw.extend_from_slice(&perm.to_le_bytes());
                    raw.extend_from_slice(&id.to_le_bytes());
                }
                Acl::decode(&raw).map(|_| {
                    Some(Acl(entries
                        .into_iter()
                        .map(|(tag, perm, id)| AclEntry { tag, perm, id })
                        .collect()))
                })
            }
        };
        let mut xattrs: Vec<Xattr> = Vec::with_capacity(self.xattrs.len());
        for (name, value) in self.xattrs {
            if name.is_empty() || name.contains(&0) {
                return Err("xattr with an empty name or a NUL in it".into());
            }
            if xattrs.last().is_some_and(|x| x.name >= name) {
                return Err("xattrs out of order or repeated".into());
            }
            let value = match value {
                WireXattrValue::Text(v) => {
                    if XattrValue::of(&v) != XattrValue::Text(v.clone()) {
                        return Err("xattr value kept as text that is not short text".into());
                    }
                    XattrValue::Text(v)
                }
                WireXattrValue::Digest(len, sha256) => XattrValue::Digest { len, sha256 },
                WireXattrValue::Unreadable(why) => XattrValue::Unreadable(why),
            };
            xattrs.push(Xattr { name, value });
        }
        let extended = Extended {
            caps,
            acl: acl(self.acl)?,
            default_acl: acl(self.default_acl)?,
            selinux: self.selinux,
            xattrs,
        };
        Ok(Attrs::new(self.flags.map(Flags), extended))
    }
}

// --- end of version 5's record ----------------------------------------------------------

/// What decoding a record needs to know from the header.
#[derive(Clone, Debug)]
pub(super) struct RecordFormat {
    pub(super) version: u32,
    pub(super) algorithm: Algorithm,
    pub(super) extra: Vec<HashKind>,
}

impl RecordFormat {
    pub(super) fn new(version: u32, header: &Header) -> RecordFormat {
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
    pub(super) fn from_header(h: &Header) -> WireHeader {
        WireHeader {
            algorithm: h.algorithm.code(),
            origin: match h.origin {
                Origin::Scan => 0,
                Origin::RsyncLog => 1,
            },
            sources: h.sources.clone(),
            roots: h.roots.clone(),
            one_file_system: h.one_file_system.count(),
            filters: h.filters.iter().map(FilterArg::to_code).collect(),
            host: h.host.clone(),
            created_sec: h.created.sec,
            created_nsec: h.created.nsec,
            fimsum_version: h.fimsum_version.clone(),
        }
    }

    pub(super) fn into_header(
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
            one_file_system: OneFileSystem::from_count(self.one_file_system),
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
            listing: None,
        })
    }
}

impl WireRecord {
    pub(super) fn from_record(r: &Record) -> WireRecord {
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
                Content::NotAFile | Content::NotHashed => WireContent::NoChecksum,
                Content::Digest(d) => WireContent::Digest(d.as_bytes().to_vec()),
                Content::Unreadable(s) => WireContent::Unreadable(s.clone()),
                Content::ChangedDuringScan(s) => WireContent::ChangedDuringScan(s.clone()),
            },
        }
    }

    pub(super) fn into_record(self, algorithm: Algorithm) -> std::result::Result<Record, String> {
        let kind = *Kind::ALL
            .get(self.kind as usize)
            .ok_or_else(|| format!("unknown kind code {}", self.kind))?;
        check_name(&self.name).map_err(|why| invalid_name(&self.name, why))?;
        let content = match self.content {
            WireContent::NoChecksum if kind == Kind::File => Content::NotHashed,
            WireContent::NoChecksum => Content::NotAFile,
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
            attrs: None,
            snapshot: None,
        })
    }
}

/// The message for a name that [`check_name`] refuses; the name quoted with its control
/// characters escaped, as it may hold anything.
pub(super) fn invalid_name(name: &[u8], why: &str) -> String {
    format!(
        "invalid entry name {:?}: {why}",
        String::from_utf8_lossy(name)
    )
}

/// The extra digests of a decoded record: exactly one of each kind of the header's list for
/// a regular file with a checksum, each of its kind's length; none for any other record.
pub(super) fn decode_extra(
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

/// A baseline's first bytes for this header and record count: magic, version, header frame,
/// count. Besides the payload digest, they are what a signature covers ([`super::sign::message`]).
pub(crate) fn signed_prefix(header: &Header, count: u64) -> Result<Vec<u8>> {
    let wire = WireHeaderV5 {
        v4: WireHeaderV4 {
            v3: WireHeaderV3 {
                v2: WireHeaderV2 {
                    v1: WireHeader::from_header(header),
                    generation: header.generation,
                },
                extra_digests: header.extra_digests.iter().map(|k| k.code()).collect(),
            },
            skip_fs: header.skip_fs.clone(),
        },
        listing: header.listing.as_ref().map(WireListing::from_listing),
    };
    let mut head = bincode::encode_to_vec(wire, config())
        .map_err(|e| Error::io("cannot encode the baseline header", io::Error::other(e)))?;
    if let Some(options) = header.listing.as_ref().map(listing_options) {
        if !options.is_empty() {
            bincode::encode_into_std_write(options, &mut head, config())
                .map_err(|e| Error::io("cannot encode the baseline header", io::Error::other(e)))?;
        }
    }
    let mut prefix = Vec::with_capacity(24 + head.len());
    prefix.extend_from_slice(MAGIC);
    prefix.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    prefix.extend_from_slice(&frame_len(&head)?.to_le_bytes());
    prefix.extend_from_slice(&head);
    prefix.extend_from_slice(&count.to_le_bytes());
    Ok(prefix)
}

pub(super) fn frame_len(frame: &[u8]) -> Result<u32> {
    if frame.len() > FRAME_LIMIT {
        return Err(Error::io(
            "baseline record too large",
            io::Error::other(format!("{} bytes", frame.len())),
        ));
    }
    Ok(frame.len() as u32)
}

pub(super) struct HashWriter<'a>(pub(super) &'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(super) fn decode_exact<T: Decode<()>>(frame: &[u8]) -> std::result::Result<T, String> {
    let (value, used) =
        bincode::decode_from_slice::<T, _>(frame, config()).map_err(|e| e.to_string())?;
    if used != frame.len() {
        return Err(format!("{} stray bytes inside a frame", frame.len() - used));
    }
    Ok(value)
}

/// A baseline's first fields as read: the header frame not yet decoded.
pub(super) struct RawPrefix {
    pub(super) version: u32,
    pub(super) header: Vec<u8>,
    pub(super) count: u64,
}

impl RawPrefix {
    /// The bytes they were read from.
    pub(super) fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(24 + self.header.len());
        b.extend_from_slice(MAGIC);
        b.extend_from_slice(&self.version.to_le_bytes());
        b.extend_from_slice(&(self.header.len() as u32).to_le_bytes());
        b.extend_from_slice(&self.header);
        b.extend_from_slice(&self.count.to_le_bytes());
        b
    }
}

pub(super) fn decode_header(version: u32, frame: &[u8]) -> std::result::Result<Header, String> {
    let decoded = match version {
        1 => decode_exact::<WireHeader>(frame).map(|w| (w, 0, Vec::new(), None, None)),
        2 => decode_exact::<WireHeaderV2>(frame)
            .map(|w| (w.v1, w.generation, Vec::new(), None, None)),
        3 => decode_exact::<WireHeaderV3>(frame)
            .map(|w| (w.v2.v1, w.v2.generation, w.extra_digests, None, None)),
        4 => decode_exact::<WireHeaderV4>(frame).map(|w| {
            let v3 = w.v3;
            (
                v3.v2.v1,
                v3.v2.generation,
                v3.extra_digests,
                w.skip_fs,
                None,
            )
        }),
        _ => decode_v5(frame).map(|(w, listing)| {
            let v3 = w.v4.v3;
            (
                v3.v2.v1,
                v3.v2.generation,
                v3.extra_digests,
                w.v4.skip_fs,
                listing,
            )
        }),
    };
    decoded
        .and_then(|(wire, generation, extra, skip_fs, listing)| {
            let mut header = wire.into_header(generation, extra, skip_fs)?;
            header.listing = listing;
            Ok(header)
        })
        .map_err(|e| format!("bad header: {e}"))
}

/// Version 5's header, with the listing options stored after it applied to its listing.
fn decode_v5(frame: &[u8]) -> std::result::Result<(WireHeaderV5, Option<Listing>), String> {
    let (mut wire, used) = bincode::decode_from_slice::<WireHeaderV5, _>(frame, config())
        .map_err(|e| e.to_string())?;
    let mut listing = wire.listing.take().map(WireListing::into_listing);
    match (&frame[used..], listing.as_mut()) {
        ([], _) => {}
        // What the first fimsum to know -L wrote: the symlink options' code alone.
        ([code], Some(l)) if *code != 0 => {
            l.follow = Follow::from_code(*code).ok_or("unknown symlink options")?
        }
        (rest, Some(l)) => {
            let options: Vec<(u8, Vec<u8>)> = decode_exact(rest)?;
            apply_listing_options(l, options)?;
        }
        (rest, None) => return Err(format!("{} stray bytes inside a frame", rest.len())),
    }
    Ok((wire, listing))
}

// The listing options that came after version 5: (code, value) pairs after its listing,
// in ascending code order, each code at most once, only the options that differ from
// their default. A baseline made without them keeps the bytes it always had, and a fimsum
// that does not know a code refuses the baseline by name rather than list another tree.

/// `-L`, `--copy-unsafe-links`, `--safe-links`: one byte, [`Follow::code`].
const OPTION_FOLLOW: u8 = 1;

/// `-R`: one byte, 1 (a baseline without `-R` does not carry the code).
const OPTION_RELATIVE: u8 = 2;

/// `-H`: no value (an empty one); present only when `-H` was given, so a baseline made
/// without it keeps its bytes.
const OPTION_HARD_LINKS: u8 = 3;

fn listing_options(l: &Listing) -> Vec<(u8, Vec<u8>)> {
    let mut options = Vec::new();
    if l.follow != Follow::NONE {
        options.push((OPTION_FOLLOW, vec![l.follow.code()]));
    }
    if l.relative {
        options.push((OPTION_RELATIVE, vec![1]));
    }
    if l.hard_links {
        options.push((OPTION_HARD_LINKS, Vec::new()));
    }
    options
}

fn apply_listing_options(
    l: &mut Listing,
    options: Vec<(u8, Vec<u8>)>,
) -> std::result::Result<(), String> {
    if options.is_empty() {
        return Err("an empty list of listing options".into());
    }
    let mut last = None;
    for (code, value) in options {
        if last.is_some_and(|last| code <= last) {
            return Err(format!("listing option {code} out of order"));
        }
        last = Some(code);
        match (code, value.as_slice()) {
            (OPTION_FOLLOW, [byte]) => {
                l.follow = Follow::from_code(*byte).ok_or("unknown symlink options")?
            }
            (OPTION_RELATIVE, [1]) => l.relative = true,
            (OPTION_HARD_LINKS, []) => l.hard_links = true,
            _ => return Err(format!("unknown listing option {code}")),
        }
    }
    Ok(())
}

// Version 5's snapshots (`crate::text`): a block of its own.

/// The first version whose records may carry a snapshot.
pub const SNAPSHOT_VERSION: u32 = 5;

/// [`Snapshot`] as stored.
#[derive(Encode, Decode)]
pub(super) enum WireSnapshot {
    /// The original length and the zstd frame.
    Text(u32, Vec<u8>),
    /// The salt and one digest a line.
    Secret([u8; 16], Vec<[u8; 8]>),
    Binary,
    /// The per-file limit in force.
    TooLarge(u64),
    /// The per-baseline limit in force.
    OverBudget(u64),
}

impl WireSnapshot {
    pub(super) fn from_snapshot(s: &Snapshot) -> WireSnapshot {
        match s {
            Snapshot::Text(c) => {
                let (len, data) = c.parts();
                WireSnapshot::Text(len, data.to_vec())
            }
            Snapshot::Secret(l) => WireSnapshot::Secret(l.salt(), l.digests().to_vec()),
            Snapshot::Binary => WireSnapshot::Binary,
            Snapshot::TooLarge { limit } => WireSnapshot::TooLarge(*limit),
            Snapshot::OverBudget { limit } => WireSnapshot::OverBudget(*limit),
        }
    }

    /// The snapshot of `record`, which must be a regular file with a checksum: a snapshot
    /// is of the bytes a checksum was taken of.
    pub(super) fn into_snapshot(self, record: &Record) -> std::result::Result<Snapshot, String> {
        if record.kind != Kind::File || record.content.digest().is_none() {
            return Err("a snapshot on a record without a checksum".into());
        }
        Ok(match self {
            WireSnapshot::Text(len, data) => {
                Snapshot::Text(Box::new(Compressed::from_parts(len, data)?))
            }
            WireSnapshot::Secret(_, digests) if digests.len() > LINES_MAX => {
                return Err(format!("snapshot of {} lines", digests.len()))
            }
            WireSnapshot::Secret(salt, digests) => {
                Snapshot::Secret(Box::new(LineDigests::from_parts(salt, digests)))
            }
            WireSnapshot::Binary => Snapshot::Binary,
            WireSnapshot::TooLarge(limit) => Snapshot::TooLarge { limit },
            WireSnapshot::OverBudget(limit) => Snapshot::OverBudget { limit },
        })
    }
}

// ---------------------------------------------------------------- version 5: listing
// The header's listing options (rsync's -r, -l, -D, -t/-p/-o/-g, --max-size, --min-size,
// --files-from), in a block of their own.

/// Version 5's header: version 4's, then the listing options.
#[derive(Encode, Decode)]
pub(super) struct WireHeaderV5 {
    pub(super) v4: WireHeaderV4,
    pub(super) listing: Option<WireListing>,
}

/// [`Listing`] on the wire.
#[derive(Encode, Decode)]
pub(super) struct WireListing {
    recursive: bool,
    links: bool,
    devices: bool,
    specials: bool,
    times: bool,
    perms: bool,
    owner: bool,
    group: bool,
    max_size: Option<u64>,
    min_size: Option<u64>,
    files_from: Option<Vec<Vec<u8>>>,
    implied_dirs: bool,
}

impl WireListing {
    pub(super) fn from_listing(l: &Listing) -> WireListing {
        WireListing {
            recursive: l.recursive,
            links: l.links,
            devices: l.devices,
            specials: l.specials,
            times: l.times,
            perms: l.perms,
            owner: l.owner,
            group: l.group,
            max_size: l.max_size,
            min_size: l.min_size,
            files_from: l.files_from.clone(),
            implied_dirs: l.implied_dirs,
        }
    }

    pub(super) fn into_listing(self) -> Listing {
        Listing {
            recursive: self.recursive,
            links: self.links,
            devices: self.devices,
            specials: self.specials,
            times: self.times,
            perms: self.perms,
            owner: self.owner,
            group: self.group,
            max_size: self.max_size,
            min_size: self.min_size,
            files_from: self.files_from,
            implied_dirs: self.implied_dirs,
            follow: Follow::NONE,
            relative: false,
            hard_links: false,
        }
    }
}
