//! Rows as a Parquet file: typed columns (unsigned integers, UTC nanosecond timestamps,
//! UTF-8 text), zstd-compressed, written with the `parquet` crate's column writers, without
//! Arrow (which would triple the build for nothing this needs).
//!
//! Rows are buffered per column and written as a row group every [`ROW_GROUP`] rows, so
//! memory stays bounded by one row group whatever the number of baselines. The file is
//! written under a temporary name beside its destination and renamed into place only when
//! complete: a failed export leaves no file a query could take for a whole one.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int32Type, Int64Type};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::{SerializedColumnWriter, SerializedFileWriter};
use parquet::schema::parser::parse_message_type;

use super::{BaselineInfo, Row};
use crate::error::{Error, Result};
use crate::record::Timestamp;

/// Rows per row group: large enough for good compression and few footers, small enough that
/// the buffered columns of one group stay a few tens of MB.
pub const ROW_GROUP: usize = 64 * 1024;

/// The version of the table's columns, in the file's key-value metadata
/// (`fimsum.export_schema`); docs/siem.md lists the columns.
pub const EXPORT_SCHEMA_VERSION: u32 = 1;

/// The columns, in order. Unsigned integers are INTEGER(n, false) so that engines read them
/// as such; times are UTC nanoseconds, null outside what 64 bits of nanoseconds can hold
/// (the years 1677 to 2262).
const SCHEMA: &str = "
message fimsum_entry {
  required binary host (STRING);
  required group roots (LIST) {
    repeated group list {
      required binary element (STRING);
    }
  }
  required binary baseline (STRING);
  optional int64 created (TIMESTAMP(NANOS,true));
  required int64 generation (INTEGER(64,false));
  required binary name (STRING);
  required binary path (STRING);
  required binary kind (STRING);
  optional int32 mode (INTEGER(32,false));
  optional int32 uid (INTEGER(32,false));
  optional int32 gid (INTEGER(32,false));
  optional int64 size (INTEGER(64,false));
  optional int64 mtime (TIMESTAMP(NANOS,true));
  optional int64 ctime (TIMESTAMP(NANOS,true));
  optional int64 inode (INTEGER(64,false));
  optional int64 nlink (INTEGER(64,false));
  optional binary link_target (STRING);
  required binary algorithm (STRING);
  optional binary checksum (STRING);
  optional binary md5 (STRING);
  optional binary sha1 (STRING);
  optional binary sha256 (STRING);
  optional binary unreadable (STRING);
  required boolean attrs_recorded;
  optional binary caps (STRING);
  optional binary flags (STRING);
  optional binary acl (STRING);
  optional binary selinux (STRING);
  optional binary xattrs (STRING);
}
";

/// A nullable column's buffer: the values present, and a definition level per row.
#[derive(Default)]
struct Opt<T> {
    values: Vec<T>,
    defs: Vec<i16>,
}

impl<T> Opt<T> {
    fn push(&mut self, value: Option<T>) {
        match value {
            Some(v) => {
                self.values.push(v);
                self.defs.push(1);
            }
            None => self.defs.push(0),
        }
    }
}

/// The columns of the rows not yet written.
#[derive(Default)]
struct Columns {
    rows: usize,
    host: Vec<ByteArray>,
    roots: Vec<ByteArray>,
    roots_def: Vec<i16>,
    roots_rep: Vec<i16>,
    baseline: Vec<ByteArray>,
    created: Opt<i64>,
    generation: Vec<i64>,
    name: Vec<ByteArray>,
    path: Vec<ByteArray>,
    kind: Vec<ByteArray>,
    mode: Opt<i32>,
    uid: Opt<i32>,
    gid: Opt<i32>,
    size: Opt<i64>,
    mtime: Opt<i64>,
    ctime: Opt<i64>,
    inode: Opt<i64>,
    nlink: Opt<i64>,
    link_target: Opt<ByteArray>,
    algorithm: Vec<ByteArray>,
    checksum: Opt<ByteArray>,
    md5: Opt<ByteArray>,
    sha1: Opt<ByteArray>,
    sha256: Opt<ByteArray>,
    unreadable: Opt<ByteArray>,
    attrs_recorded: Vec<bool>,
    caps: Opt<ByteArray>,
    flags: Opt<ByteArray>,
    acl: Opt<ByteArray>,
    selinux: Opt<ByteArray>,
    xattrs: Opt<ByteArray>,
}

fn bytes(s: &str) -> ByteArray {
    ByteArray::from(s.as_bytes().to_vec())
}

fn opt_bytes(s: Option<String>) -> Option<ByteArray> {
    s.map(|s| ByteArray::from(s.into_bytes()))
}

/// Nanoseconds since the epoch, if they fit in 64 bits.
fn nanos(t: Timestamp) -> Option<i64> {
    t.sec
        .checked_mul(1_000_000_000)?
        .checked_add(i64::from(t.nsec))
}

/// The two's-complement bits of an unsigned value, as Parquet stores UINT columns.
fn u64_bits(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

fn u32_bits(v: u32) -> i32 {
    i32::from_ne_bytes(v.to_ne_bytes())
}

impl Columns {
    fn push(&mut self, info: &BaselineInfo, row: Row) {
        self.rows += 1;
        self.host.push(bytes(&info.host));
        if info.roots.is_empty() {
            self.roots_def.push(0);
            self.roots_rep.push(0);
        }
        for (i, root) in info.roots.iter().enumerate() {
            self.roots.push(bytes(root));
            self.roots_def.push(1);
            self.roots_rep.push(i16::from(i > 0));
        }
        self.baseline.push(bytes(&info.baseline));
        self.created.push(nanos(info.created));
        self.generation.push(u64_bits(info.generation));
        self.name.push(bytes(&row.name));
        self.path.push(bytes(&row.path));
        self.kind.push(bytes(row.kind));
        self.mode.push(row.mode.map(u32_bits));
        self.uid.push(row.uid.map(u32_bits));
        self.gid.push(row.gid.map(u32_bits));
        self.size.push(row.size.map(u64_bits));
        self.mtime.push(row.mtime.and_then(nanos));
        self.ctime.push(row.ctime.and_then(nanos));
        self.inode.push(row.inode.map(u64_bits));
        self.nlink.push(row.nlink.map(u64_bits));
        self.link_target.push(opt_bytes(row.link_target));
        self.algorithm.push(bytes(info.algorithm.name()));
        self.checksum.push(opt_bytes(row.checksum));
        self.md5.push(opt_bytes(row.md5));
        self.sha1.push(opt_bytes(row.sha1));
        self.sha256.push(opt_bytes(row.sha256));
        self.unreadable.push(opt_bytes(row.unreadable));
        self.attrs_recorded.push(row.attrs_recorded);
        self.caps.push(opt_bytes(row.caps));
        self.flags.push(opt_bytes(row.flags));
        self.acl.push(opt_bytes(row.acl));
        self.selinux.push(opt_bytes(row.selinux));
        self.xattrs.push(opt_bytes(row.xattrs));
    }

    /// Write column `i` of the schema.
    fn write(&self, i: usize, col: &mut SerializedColumnWriter<'_>) -> parquet::errors::Result<()> {
        fn req(
            col: &mut SerializedColumnWriter<'_>,
            v: &[ByteArray],
        ) -> parquet::errors::Result<()> {
            col.typed::<ByteArrayType>()
                .write_batch(v, None, None)
                .map(drop)
        }
        fn opt_b(
            col: &mut SerializedColumnWriter<'_>,
            c: &Opt<ByteArray>,
        ) -> parquet::errors::Result<()> {
            col.typed::<ByteArrayType>()
                .write_batch(&c.values, Some(&c.defs), None)
                .map(drop)
        }
        fn opt32(
            col: &mut SerializedColumnWriter<'_>,
            c: &Opt<i32>,
        ) -> parquet::errors::Result<()> {
            col.typed::<Int32Type>()
                .write_batch(&c.values, Some(&c.defs), None)
                .map(drop)
        }
        fn opt64(
            col: &mut SerializedColumnWriter<'_>,
            c: &Opt<i64>,
        ) -> parquet::errors::Result<()> {
            col.typed::<Int64Type>()
                .write_batch(&c.values, Some(&c.defs), None)
                .map(drop)
        }
        match i {
            0 => req(col, &self.host),
            1 => col
                .typed::<ByteArrayType>()
                .write_batch(&self.roots, Some(&self.roots_def), Some(&self.roots_rep))
                .map(drop),
            2 => req(col, &self.baseline),
            3 => opt64(col, &self.created),
            4 => col
                .typed::<Int64Type>()
                .write_batch(&self.generation, None, None)
                .map(drop),
            5 => req(col, &self.name),
            6 => req(col, &self.path),
            7 => req(col, &self.kind),
            8 => opt32(col, &self.mode),
            9 => opt32(col, &self.uid),
            10 => opt32(col, &self.gid),
            11 => opt64(col, &self.size),
            12 => opt64(col, &self.mtime),
            13 => opt64(col, &self.ctime),
            14 => opt64(col, &self.inode),
            15 => opt64(col, &self.nlink),
            16 => opt_b(col, &self.link_target),
            17 => req(col, &self.algorithm),
            18 => opt_b(col, &self.checksum),
            19 => opt_b(col, &self.md5),
            20 => opt_b(col, &self.sha1),
            21 => opt_b(col, &self.sha256),
            22 => opt_b(col, &self.unreadable),
            23 => col
                .typed::<BoolType>()
                .write_batch(&self.attrs_recorded, None, None)
                .map(drop),
            24 => opt_b(col, &self.caps),
            25 => opt_b(col, &self.flags),
            26 => opt_b(col, &self.acl),
            27 => opt_b(col, &self.selinux),
            28 => opt_b(col, &self.xattrs),
            _ => Err(parquet::errors::ParquetError::General(format!(
                "no column {i}"
            ))),
        }
    }

    fn clear(&mut self) {
        *self = Columns::default();
    }
}

/// A Parquet file being written; [`ParquetWriter::finish`] puts it in place.
pub struct ParquetWriter {
    path: PathBuf,
    partial: PathBuf,
    writer: Option<SerializedFileWriter<BufWriter<File>>>,
    columns: Columns,
    rows: u64,
    done: bool,
}

impl ParquetWriter {
    /// Start writing `path`; an existing file there is replaced only by a complete export.
    pub fn create(path: &Path) -> Result<ParquetWriter> {
        let partial = partial_name(path);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&partial)
            .map_err(|e| Error::io(format!("cannot create {}", partial.display()), e))?;
        let fail = |e: parquet::errors::ParquetError| parquet_error(&partial, e);
        let schema = Arc::new(parse_message_type(SCHEMA).map_err(fail)?);
        let level = ZstdLevel::try_new(3).map_err(fail)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_created_by(format!("fimsum {}", env!("CARGO_PKG_VERSION")))
            .set_key_value_metadata(Some(vec![KeyValue::new(
                "fimsum.export_schema".to_string(),
                EXPORT_SCHEMA_VERSION.to_string(),
            )]))
            .build();
        let writer = SerializedFileWriter::new(BufWriter::new(file), schema, Arc::new(props));
        match writer {
            Ok(writer) => Ok(ParquetWriter {
                path: path.to_path_buf(),
                partial,
                writer: Some(writer),
                columns: Columns::default(),
                rows: 0,
                done: false,
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(parquet_error(&partial, e))
            }
        }
    }

    /// Add one row of the baseline `info` describes.
    pub fn push(&mut self, info: &BaselineInfo, row: Row) -> Result<()> {
        self.columns.push(info, row);
        self.rows += 1;
        if self.columns.rows >= ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    /// The rows added so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn flush(&mut self) -> Result<()> {
        if self.columns.rows == 0 {
            return Ok(());
        }
        let fail = |e| parquet_error(&self.partial, e);
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| fail(parquet::errors::ParquetError::General("closed".into())))?;
        let mut group = writer.next_row_group().map_err(fail)?;
        let mut i = 0;
        while let Some(mut col) = group.next_column().map_err(fail)? {
            self.columns.write(i, &mut col).map_err(fail)?;
            col.close().map_err(fail)?;
            i += 1;
        }
        group.close().map_err(fail)?;
        self.columns.clear();
        Ok(())
    }

    /// Write the last row group and the footer, and rename the file into place.
    pub fn finish(mut self) -> Result<u64> {
        self.flush()?;
        let fail = |e| parquet_error(&self.partial, e);
        if let Some(writer) = self.writer.take() {
            let mut out = writer.into_inner().map_err(fail)?;
            io::Write::flush(&mut out)
                .map_err(|e| Error::io(format!("cannot write {}", self.partial.display()), e))?;
            let file = out.into_inner().map_err(|e| {
                Error::io(
                    format!("cannot write {}", self.partial.display()),
                    e.into_error(),
                )
            })?;
            file.sync_all()
                .map_err(|e| Error::io(format!("cannot write {}", self.partial.display()), e))?;
        }
        std::fs::rename(&self.partial, &self.path).map_err(|e| {
            Error::io(
                format!(
                    "cannot rename {} to {}",
                    self.partial.display(),
                    self.path.display()
                ),
                e,
            )
        })?;
        self.done = true;
        Ok(self.rows)
    }
}

impl Drop for ParquetWriter {
    /// An export that did not finish leaves nothing behind.
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

/// `DIR/.NAME.partial`, beside the destination.
fn partial_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    path.with_file_name(format!(".{name}.partial"))
}

fn parquet_error(path: &Path, e: parquet::errors::ParquetError) -> Error {
    Error::io(
        format!("cannot write {}", path.display()),
        io::Error::other(e),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    use super::*;
    use crate::hash::Algorithm;

    fn info(roots: &[&str]) -> BaselineInfo {
        BaselineInfo {
            host: "web1".into(),
            roots: roots.iter().map(|r| r.to_string()).collect(),
            baseline: "web1.fimsum".into(),
            created: Timestamp {
                sec: 1_700_000_000,
                nsec: 5,
            },
            generation: u64::MAX,
            algorithm: Algorithm::Xxh128,
            raw_roots: Vec::new(),
        }
    }

    /// Each row's columns by name.
    fn read_back(path: &Path) -> Vec<HashMap<String, Field>> {
        let reader = SerializedFileReader::new(File::open(path).unwrap()).unwrap();
        reader
            .get_row_iter(None)
            .unwrap()
            .map(|row| {
                row.unwrap()
                    .get_column_iter()
                    .map(|(name, field)| (name.clone(), field.clone()))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn unsigned_extremes_nulls_and_lists_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut writer = ParquetWriter::create(&path).unwrap();
        let full = Row {
            name: "bin/x".into(),
            path: "/bin/x".into(),
            kind: "file",
            mode: Some(0o4755),
            uid: Some(u32::MAX),
            gid: Some(0),
            size: Some(u64::MAX),
            mtime: Some(Timestamp { sec: 0, nsec: 1 }),
            // Past 2262: more nanoseconds than 64 bits hold.
            ctime: Some(Timestamp {
                sec: 10_000_000_000,
                nsec: 0,
            }),
            inode: Some(u64::MAX - 1),
            nlink: Some(1),
            link_target: None,
            checksum: Some("ab".into()),
            md5: None,
            sha1: None,
            sha256: Some("cd".into()),
            unreadable: None,
            attrs_recorded: true,
            caps: Some("cap_setuid=ep".into()),
            flags: None,
            acl: None,
            selinux: None,
            xattrs: Some("user.note=\"hi\"".into()),
        };
        writer.push(&info(&["/etc/", "/usr/bin"]), full).unwrap();
        writer
            .push(
                &info(&[]),
                Row {
                    name: "x".into(),
                    kind: "special",
                    ..Row::default()
                },
            )
            .unwrap();
        assert_eq!(writer.finish().unwrap(), 2);
        assert!(!partial_name(&path).exists());
        let rows = read_back(&path);
        assert_eq!(rows.len(), 2);
        let (a, b) = (&rows[0], &rows[1]);
        assert_eq!(a["uid"], Field::UInt(u32::MAX));
        assert_eq!(a["mode"], Field::UInt(0o4755));
        assert_eq!(a["size"], Field::ULong(u64::MAX));
        assert_eq!(a["inode"], Field::ULong(u64::MAX - 1));
        assert_eq!(a["generation"], Field::ULong(u64::MAX));
        assert_eq!(a["sha256"], Field::Str("cd".into()));
        assert_eq!(a["md5"], Field::Null);
        assert_ne!(a["mtime"], Field::Null);
        assert_eq!(a["ctime"], Field::Null, "out of range: null, not wrapped");
        match &a["roots"] {
            Field::ListInternal(list) => {
                assert_eq!(
                    list.elements(),
                    [Field::Str("/etc/".into()), Field::Str("/usr/bin".into())]
                )
            }
            other => panic!("roots: {other:?}"),
        }
        match &b["roots"] {
            Field::ListInternal(list) => assert!(list.elements().is_empty()),
            other => panic!("roots: {other:?}"),
        }
        for column in ["mode", "uid", "size", "mtime", "checksum", "link_target"] {
            assert_eq!(b[column], Field::Null, "{column}");
        }
        assert_eq!(b["kind"], Field::Str("special".into()));
    }

    #[test]
    fn many_row_groups_keep_every_row_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut writer = ParquetWriter::create(&path).unwrap();
        let n = ROW_GROUP * 2 + 3;
        for i in 0..n {
            let row = Row {
                name: i.to_string(),
                kind: "file",
                size: Some(i as u64),
                ..Row::default()
            };
            writer.push(&info(&["/"]), row).unwrap();
        }
        writer.finish().unwrap();
        let reader = SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 3);
        let rows = read_back(&path);
        assert_eq!(rows.len(), n);
        for (i, row) in rows.iter().enumerate().step_by(4099) {
            assert_eq!(row["size"], Field::ULong(i as u64));
            assert_eq!(row["name"], Field::Str(i.to_string()));
        }
    }

    #[test]
    fn an_unfinished_export_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut writer = ParquetWriter::create(&path).unwrap();
        writer.push(&info(&["/"]), Row::default()).unwrap();
        drop(writer);
        assert!(!path.exists() && !partial_name(&path).exists());
    }
}
