//! Baselines as tables for the query engines a fleet already runs (DuckDB, Spark, Athena,
//! Security Lake): one row per entry per baseline, with the baseline's host, roots, time
//! and generation on every row, so that rows of many hosts and days can sit in one table
//! and be compared with SQL. [`Row`] is the row as plain data, [`row_of`] maps one record
//! to it, and [`parquet`] writes rows as Parquet files (the only user of the `parquet`
//! crate).
//!
//! Names are written escaped as rsync escapes them in a UTF-8 locale
//! ([`crate::rsync::escape`]): a column of text must be valid UTF-8, the escape is lossless,
//! and the same name reads the same in a report, a SIEM event and a query.

pub mod parquet;

use crate::baseline::Header;
use crate::hash::{Algorithm, HashKind};
use crate::record::{Attribute, Content, Record, Timestamp};
use crate::rsync::escape::{escape_name, Charset};

/// What every row of one baseline shares.
#[derive(Clone, Debug)]
pub struct BaselineInfo {
    /// The host the baseline was made on.
    pub host: String,
    /// Its absolute sources (escaped).
    pub roots: Vec<String>,
    /// The baseline file, as given.
    pub baseline: String,
    /// When it was made.
    pub created: Timestamp,
    /// Its generation.
    pub generation: u64,
    /// The checksum algorithm of its records.
    pub algorithm: Algorithm,
    /// The raw roots, to resolve names into absolute paths.
    raw_roots: Vec<Vec<u8>>,
}

impl BaselineInfo {
    /// The shared part of the rows of the baseline at `path` with this header.
    pub fn new(path: &std::path::Path, header: &Header) -> BaselineInfo {
        BaselineInfo {
            host: header.host.clone(),
            roots: header.roots.iter().map(|r| text(r)).collect(),
            baseline: path.display().to_string(),
            created: header.created,
            generation: header.generation,
            algorithm: header.algorithm,
            raw_roots: header.roots.clone(),
        }
    }
}

/// One entry of one baseline as a table row. `None` is a null: an imported rsync log has no
/// metadata, a directory no checksum.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// The entry's `%n` name (a directory's with its trailing slash).
    pub name: String,
    /// The absolute path, resolved against the baseline's sources as `check` judges it.
    pub path: String,
    /// `file`, `dir`, `symlink`... ([`crate::record::Kind::name`]).
    pub kind: &'static str,
    /// Permission bits with set-id and sticky (`st_mode & 07777`).
    pub mode: Option<u32>,
    /// Owner.
    pub uid: Option<u32>,
    /// Group.
    pub gid: Option<u32>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// Last modification.
    pub mtime: Option<Timestamp>,
    /// Last status change.
    pub ctime: Option<Timestamp>,
    /// Inode number.
    pub inode: Option<u64>,
    /// Hard-link count.
    pub nlink: Option<u64>,
    /// A symlink's target.
    pub link_target: Option<String>,
    /// The checksum in the baseline's algorithm, lowercase hex as rsync prints it.
    pub checksum: Option<String>,
    /// The MD5, SHA-1 and SHA-256 of the content: the checksum itself where the algorithm
    /// is that kind, else the extra digest of that kind (`scan --digest`), if recorded.
    pub md5: Option<String>,
    /// See [`Row::md5`].
    pub sha1: Option<String>,
    /// See [`Row::md5`].
    pub sha256: Option<String>,
    /// Why a file has no checksum: it could not be read, or changed while read.
    pub unreadable: Option<String>,
    /// Whether the scan recorded the security attributes (not: a baseline of format 4 or
    /// earlier, an imported log, `--no-attrs`); the five columns after it are null then,
    /// and null also where the entry has none of that attribute.
    pub attrs_recorded: bool,
    /// File capabilities as `getcap` shows them (`cap_setuid=ep`).
    pub caps: Option<String>,
    /// Inode flags as `lsattr` shows them, with their names (`----i---------- (immutable)`).
    pub flags: Option<String>,
    /// The access ACL (and a directory's default ACL) as `getfacl` shows entries.
    pub acl: Option<String>,
    /// The SELinux label.
    pub selinux: Option<String>,
    /// Every other extended attribute: `name=value` (short printable values) or
    /// `name=sha256:…/LENGTH`, space-separated.
    pub xattrs: Option<String>,
}

/// The row of one record of the baseline `info` describes.
pub fn row_of(record: &Record, info: &BaselineInfo) -> Row {
    let mut path = Vec::new();
    crate::fim::assess::resolve_path(&info.raw_roots, &record.name, &mut path);
    let meta = record.meta;
    let digest_of = |kind: HashKind| -> Option<String> {
        let main = record.content.digest()?;
        if kind.as_algorithm() == Some(info.algorithm) {
            Some(main.to_hex())
        } else {
            record.extra_digest(kind).map(|d| d.to_hex())
        }
    };
    Row {
        name: text(&record.display_name()),
        path: text(&path),
        kind: record.kind.name(),
        mode: meta.map(|m| m.mode),
        uid: meta.map(|m| m.uid),
        gid: meta.map(|m| m.gid),
        size: meta.map(|m| m.size),
        mtime: meta.map(|m| m.mtime),
        ctime: meta.map(|m| m.ctime),
        inode: meta.map(|m| m.ino),
        nlink: meta.map(|m| m.nlink),
        link_target: record.link_target.as_deref().map(text),
        checksum: record.content.digest().map(|d| d.to_hex()),
        md5: digest_of(HashKind::Md5),
        sha1: digest_of(HashKind::Sha1),
        sha256: digest_of(HashKind::Sha256),
        unreadable: match &record.content {
            Content::Unreadable(why) | Content::ChangedDuringScan(why) => Some(why.clone()),
            _ => None,
        },
        attrs_recorded: record.attrs.is_some(),
        caps: attr_text(record, Attribute::Caps),
        flags: attr_text(record, Attribute::Flags),
        acl: attr_text(record, Attribute::Acl),
        selinux: attr_text(record, Attribute::Selinux),
        xattrs: attr_text(record, Attribute::Xattrs),
    }
}

/// One security attribute as the reports show it; `None` where it was not recorded or the
/// entry has none (the reports' `-`), and for flags that could not be read.
fn attr_text(record: &Record, field: Attribute) -> Option<String> {
    let attrs = record.attrs.as_ref()?;
    let present = match field {
        Attribute::Caps => attrs.ext().caps.is_some(),
        Attribute::Flags => attrs.flags.is_some_and(|f| !f.is_empty()),
        Attribute::Acl => attrs.ext().acl.is_some() || attrs.ext().default_acl.is_some(),
        Attribute::Selinux => attrs.ext().selinux.is_some(),
        Attribute::Xattrs => !attrs.ext().xattrs.is_empty(),
        _ => false,
    };
    present.then(|| attrs.text(field))
}

/// Raw name bytes as column text.
fn text(raw: &[u8]) -> String {
    escape_name(raw, Charset::Utf8)
}
