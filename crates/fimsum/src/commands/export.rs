//! `export` as a library call: stored baselines as one Parquet table, or as a Hive-style
//! tree of tables (`host=NAME/date=YYYY-MM-DD/`), for fleet-wide queries in DuckDB and the
//! engines like it. Nothing is rescanned: the rows are the baselines' records.
//!
//! An export is all or nothing: a baseline that cannot be read (or, with a verify policy,
//! does not verify) stops it with that error, and no table is left behind, since a table
//! missing one host's rows would answer "which hosts have this file?" wrongly.

use std::path::{Path, PathBuf};

use crate::baseline::{self, Baseline};
use crate::error::{Error, Result};
use crate::export::parquet::ParquetWriter;
use crate::export::{row_of, BaselineInfo};

/// An export, resolved from the command line.
pub struct ExportPlan {
    /// The baselines, in the order their rows are written.
    pub baselines: Vec<PathBuf>,
    /// The Parquet file to write; with `partition`, the directory of the tree.
    pub output: PathBuf,
    /// Write one file per baseline under `host=NAME/date=YYYY-MM-DD/` in `output`.
    pub partition: bool,
    /// Require each baseline's signature by this key (and its host and generation rules).
    pub verify: Option<baseline::Policy>,
}

/// What an export wrote.
pub struct Exported {
    /// The rows written (entries, over all baselines).
    pub rows: u64,
    /// The files written.
    pub files: Vec<PathBuf>,
}

/// Export `plan.baselines` to `plan.output`.
pub fn export(plan: &ExportPlan) -> Result<Exported> {
    if plan.partition {
        return export_partitioned(plan);
    }
    let mut writer = ParquetWriter::create(&plan.output)?;
    for path in &plan.baselines {
        write_baseline(&mut writer, path, plan.verify.as_ref())?;
    }
    let rows = writer.finish()?;
    Ok(Exported {
        rows,
        files: vec![plan.output.clone()],
    })
}

fn export_partitioned(plan: &ExportPlan) -> Result<Exported> {
    let mut files = Vec::new();
    let mut rows = 0;
    for path in &plan.baselines {
        match export_one(plan, path) {
            Ok((file, n)) => {
                rows += n;
                files.push(file);
            }
            Err(e) => {
                // All or nothing here too: the files of the baselines before go.
                for file in &files {
                    let _ = std::fs::remove_file(file);
                }
                return Err(e);
            }
        }
    }
    Ok(Exported { rows, files })
}

/// One baseline's file of a partitioned export, and its rows.
fn export_one(plan: &ExportPlan, path: &Path) -> Result<(PathBuf, u64)> {
    {
        let base = Baseline::open_with(path, plan.verify.as_ref())?;
        let header = base.header.clone();
        let dir = plan
            .output
            .join(format!("host={}", partition_value(&header.host)))
            .join(format!("date={}", date_of(&header)));
        std::fs::create_dir_all(&dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let stem = path
            .file_stem()
            .map(|s| partition_value(&s.to_string_lossy()))
            .unwrap_or_else(|| "baseline".into());
        let file = dir.join(format!("{stem}-g{}.parquet", header.generation));
        if file.exists() {
            return Err(Error::Usage(format!(
                "{} exists: export into an empty directory, or remove it",
                file.display()
            )));
        }
        let mut writer = ParquetWriter::create(&file)?;
        write_records(&mut writer, path, base)?;
        let rows = writer.finish()?;
        Ok((file, rows))
    }
}

/// Every record of the baseline at `path` as a row.
fn write_baseline(
    writer: &mut ParquetWriter,
    path: &Path,
    verify: Option<&baseline::Policy>,
) -> Result<()> {
    write_records(writer, path, Baseline::open_with(path, verify)?)
}

/// Every record of `base`, read from `path`, as a row.
fn write_records(writer: &mut ParquetWriter, path: &Path, base: Baseline) -> Result<()> {
    let info = BaselineInfo::new(path, &base.header);
    for record in base.records() {
        writer.push(&info, row_of(&record?, &info))?;
    }
    Ok(())
}

/// The UTC day a baseline was made, `YYYY-MM-DD`.
fn date_of(header: &baseline::Header) -> String {
    let time = crate::civil::format(header.created.sec, header.created.nsec);
    time.split('T').next().unwrap_or(&time).to_string()
}

/// A value safe in a path component and a Hive partition: letters, digits, `.`, `_` and `-`
/// as they are, every other byte as `%XX` (as Hive escapes them).
fn partition_value(value: &str) -> String {
    let mut out = String::new();
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-') || (b == b'.' && !out.is_empty()) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::partition_value;

    #[test]
    fn partition_values_cannot_leave_their_directory() {
        assert_eq!(partition_value("web-1.example.com"), "web-1.example.com");
        assert_eq!(partition_value("../etc"), "%2E.%2Fetc");
        assert_eq!(partition_value("a/b=c"), "a%2Fb%3Dc");
        assert_eq!(partition_value(""), "%00");
    }
}
