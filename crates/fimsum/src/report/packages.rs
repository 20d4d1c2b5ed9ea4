//! `verify-packages` reports: one line per finding for people, one JSON object per finding
//! and a summary object for programs, and the summary line for stderr.

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::fim::packages::{Deviation, PackageDb, Verification};
use crate::hex;
use crate::report::JSON_SCHEMA_VERSION;
use crate::rsync::escape::{escape_name, Charset};

/// One line per finding, sorted by path: `changed    /usr/bin/foo  (coreutils: md5
/// expected X, found Y)`. Names are escaped as in every fimsum report.
pub fn write_human(out: &mut dyn Write, v: &Verification, charset: Charset) -> io::Result<()> {
    for f in &v.findings {
        let detail = match f.deviation {
            Deviation::Missing => String::new(),
            ref deviation => format!(": {deviation}"),
        };
        writeln!(
            out,
            "{:<10} {}  ({}{}{})",
            f.deviation.label(),
            escape_name(&f.file.path, charset),
            escape_name(f.file.package.as_bytes(), charset),
            if f.file.conffile { ", conffile" } else { "" },
            escape_escaped(&detail, charset),
        )?;
    }
    Ok(())
}

/// The summary: `checked N files of M packages: ...`.
pub fn summary_line(db: &PackageDb, v: &Verification) -> String {
    let mut line = format!(
        "checked {} files of {} packages: {} changed, {} missing, {} of the wrong type, \
         {} with a wrong mode or owner, {} unreadable; {} set-id files to review",
        v.checked,
        db.package_count(),
        v.count("changed"),
        v.count("missing"),
        v.count("type"),
        v.count("mode") + v.count("owner") + v.count("override"),
        v.count("unreadable"),
        v.count("setid"),
    );
    if v.excluded > 0 {
        line.push_str(&format!(
            "; {} not installed by dpkg's path-exclude",
            v.excluded
        ));
    }
    line
}

/// One JSON object per finding, then a summary object, in the style of
/// [`crate::report::write_json`] (same schema version).
pub fn write_json(
    out: &mut dyn Write,
    db: &PackageDb,
    v: &Verification,
    charset: Charset,
) -> io::Result<()> {
    for f in &v.findings {
        let mut obj = json!({
            "type": "finding",
            "path": escape_name(&f.file.path, charset),
            "problem": f.deviation.label(),
            "package": escape_name(f.file.package.as_bytes(), charset),
            "conffile": f.file.conffile,
        });
        if let Some(listed) = &f.file.listed_as {
            obj["listed_as"] = Value::from(escape_name(listed, charset));
        }
        let octal = |mode: u32| Value::from(format!("{mode:04o}"));
        match &f.deviation {
            Deviation::Missing => {}
            Deviation::NotRegular { kind } => obj["kind"] = Value::from(kind.name()),
            Deviation::Md5Mismatch { expected, actual } => {
                obj["expected_md5"] = Value::from(hex::encode(expected));
                obj["found_md5"] = Value::from(hex::encode(actual));
            }
            Deviation::Unreadable { reason } => {
                obj["reason"] = Value::from(escape_escaped(reason, charset))
            }
            Deviation::WorldWritable { mode } | Deviation::SetId { mode } => {
                obj["mode"] = octal(*mode)
            }
            Deviation::NotRootOwned { uid } => obj["uid"] = Value::from(*uid),
            Deviation::OverrideMismatch {
                expected,
                uid,
                gid,
                mode,
            } => {
                obj["mode"] = octal(*mode);
                obj["uid"] = Value::from(*uid);
                obj["gid"] = Value::from(*gid);
                obj["expected"] = json!({
                    "mode": octal(expected.mode),
                    "uid": expected.uid,
                    "gid": expected.gid,
                });
            }
        }
        writeln!(out, "{obj}")?;
    }
    let mut summary = json!({
        "type": "summary",
        "schema": JSON_SCHEMA_VERSION,
        "checked": v.checked,
        "packages": db.package_count(),
    });
    let mut counts = serde_json::Map::new();
    for label in [
        "changed",
        "missing",
        "type",
        "mode",
        "owner",
        "override",
        "setid",
        "unreadable",
    ] {
        counts.insert(label.into(), Value::from(v.count(label)));
    }
    summary["findings"] = Value::from(counts);
    summary["excluded"] = Value::from(v.excluded);
    let warnings: Vec<String> = db
        .warnings()
        .iter()
        .map(|w| escape_escaped(w, charset))
        .collect();
    summary["warnings"] = Value::from(warnings);
    writeln!(out, "{summary}")
}

/// Text that may carry bytes from the database or the disk (a reason naming a path),
/// escaped like a name so it cannot put control characters on a terminal.
fn escape_escaped(text: &str, charset: Charset) -> String {
    escape_name(text.as_bytes(), charset)
}
