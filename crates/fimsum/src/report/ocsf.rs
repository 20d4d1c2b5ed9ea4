//! Changes as OCSF File System Activity events (`--format ocsf`, class 1001 of category 1,
//! System Activity), one JSON object a line: the schema Amazon Security Lake, Splunk's OCSF
//! add-on and most SIEMs' OCSF pipelines take.
//!
//! Every event carries the class's required attributes (activity, actor, category, class,
//! device, file, metadata, severity, time, type), and each object the attributes its own
//! schema requires. Two of them a baseline comparison cannot know for what they mean: who
//! changed the file (the actor) and the device's type. The actor names the application that
//! observed the change (`app_name: fimsum`), which OCSF allows, rather than a user or process
//! fimsum did not see; the device type is Unknown (0). What OCSF has no attribute for
//! (fimsum's severity words, rule, detectors, mode, owner) goes in `unmapped.fimsum`. The
//! attributes are listed in docs/siem.md.

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::diff::{ChangeKind, Diff};
use crate::fim::assess::{Assessment, Event, Finding};
use crate::fim::severity::Severity;
use crate::hash::{Algorithm, HashKind};
use crate::record::{Attribute, Kind, Record, Timestamp};
use crate::rsync::escape::escape_name;
use crate::text::ContentDiff;

use super::ecs::{known_hashes, split_path};
use super::{
    finding_content_diff, finding_details, finding_name, finding_text, moved_path, Context,
};

/// The OCSF schema version the events follow (`metadata.version`).
pub const OCSF_VERSION: &str = "1.3.0";

/// File System Activity.
pub const CLASS_UID: u32 = 1001;
/// System Activity.
pub const CATEGORY_UID: u32 = 1;

/// One event per finding (docs/siem.md). OCSF has no summary event for a scan: the
/// summary's counts stay in the other formats.
pub fn write_ocsf(
    out: &mut dyn Write,
    diff: &Diff,
    assessment: &Assessment,
    ctx: &Context,
    algorithm: Algorithm,
) -> io::Result<()> {
    for finding in &assessment.findings {
        writeln!(out, "{}", ocsf_event(finding, diff, ctx, algorithm))?;
    }
    Ok(())
}

/// The activity of a finding: its id and caption.
fn activity(finding: &Finding, kind: Option<&ChangeKind>) -> (u32, &'static str) {
    match finding.event {
        Event::Added => (1, "Create"),
        Event::Removed => (4, "Delete"),
        Event::Moved => (5, "Rename"),
        Event::TypeChanged => (3, "Update"),
        Event::Modified => {
            let changed: &[Attribute] = match kind {
                Some(ChangeKind::Modified(attrs)) => attrs,
                _ => &finding.fields,
            };
            if changed
                .iter()
                .any(|a| matches!(a, Attribute::Content | Attribute::Size))
                || changed.is_empty()
            {
                (3, "Update")
            } else {
                (6, "Set Attributes")
            }
        }
        Event::Unverified | Event::Listed => (99, "Other"),
    }
}

/// The OCSF event of one finding.
pub fn ocsf_event(finding: &Finding, diff: &Diff, ctx: &Context, algorithm: Algorithm) -> Value {
    let change = finding.change.map(|i| &diff.changes[i]);
    let old = change.and_then(|c| c.old.as_ref());
    let new = change.and_then(|c| c.new.as_ref());
    let (activity_id, activity_name) = activity(finding, change.map(|c| &c.kind));
    let activity_name = match finding.event {
        Event::Unverified => "Unverified",
        Event::Listed => "Listed",
        _ => activity_name,
    };
    let name = escape_name(&finding_name(finding, change), ctx.charset);
    let path = escape_name(&finding.path, ctx.charset);
    let moved_old = finding
        .moved_from
        .as_ref()
        .and_then(|(i, _)| diff.changes.get(*i))
        .and_then(|c| c.old.as_ref());

    // A rename's `file` is the file as it was, its `file_result` the file as it is.
    let (file, file_result) = match &finding.moved_from {
        Some((_, from)) => {
            let old_path =
                escape_name(&moved_path(&finding.path, &finding.name, from), ctx.charset);
            (
                ocsf_file(moved_old, &old_path, algorithm, ctx),
                Some(ocsf_file(new, &path, algorithm, ctx)),
            )
        }
        None => (ocsf_file(new.or(old), &path, algorithm, ctx), None),
    };

    let mut fimsum = finding_details(finding, change, ctx);
    if let Some(r) = old.filter(|_| new.is_some()).or(moved_old) {
        fimsum["old"] = super::record_json(r, ctx.charset);
    }
    let (severity_id, severity) = severity(finding.severity);
    let mut event = json!({
        "activity_id": activity_id,
        "activity_name": activity_name,
        "category_uid": CATEGORY_UID,
        "category_name": "System Activity",
        "class_uid": CLASS_UID,
        "class_name": "File System Activity",
        "type_uid": CLASS_UID * 100 + activity_id,
        "type_name": format!("File System Activity: {activity_name}"),
        "severity_id": severity_id,
        "severity": severity,
        "time": millis(ctx.time),
        "message": finding_text(finding, diff, &name, ctx.charset),
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "name": "fimsum",
                "vendor_name": "fimsum",
                "version": env!("CARGO_PKG_VERSION"),
            },
        },
        "actor": {"app_name": "fimsum"},
        "device": {
            "type_id": 0,
            "type": "Unknown",
            "hostname": ctx.host,
            "name": ctx.host,
        },
        "file": file,
        "unmapped": {"fimsum": fimsum},
    });
    if let Some(result) = file_result {
        event["file_result"] = result;
    }
    // What changed inside the file: the unified diff, or for a file that holds secrets only
    // which lines (never their text); binary files and files over a limit say so.
    if let Some(content) = finding_content_diff(finding, change) {
        event["file_diff"] = Value::from(match &content {
            ContentDiff::Text { lines, .. } => lines.join("\n"),
            _ => content.summary(),
        });
    }
    event
}

/// The `file` object: name, path and type always (name and type_id are required); size,
/// times, inode and hashes where the record has them.
pub fn ocsf_file(r: Option<&Record>, path: &str, algorithm: Algorithm, ctx: &Context) -> Value {
    let (directory, name) = split_path(path);
    let mut file = json!({
        "name": name,
        "path": path,
        "parent_folder": directory,
    });
    let (type_id, type_name) = r.map_or((0, "Unknown"), |r| file_type(r.kind));
    file["type_id"] = Value::from(type_id);
    file["type"] = Value::from(type_name);
    let Some(r) = r else {
        return file;
    };
    if let Some(m) = r.meta {
        file["size"] = Value::from(m.size);
        file["modified_time"] = Value::from(millis(m.mtime));
        file["uid"] = Value::from(m.ino.to_string());
        file["owner"] = json!({"uid": m.uid.to_string()});
    }
    if let Some(t) = &r.link_target {
        file["xattributes"] = json!({"link_target": escape_name(t, ctx.charset)});
    }
    let mut hashes: Vec<Value> = known_hashes(r, algorithm)
        .into_iter()
        .map(|(kind, hex)| {
            let (id, caption) = match kind {
                HashKind::Md5 => (1, "MD5"),
                HashKind::Sha1 => (2, "SHA-1"),
                HashKind::Sha256 => (3, "SHA-256"),
            };
            json!({"algorithm_id": id, "algorithm": caption, "value": hex})
        })
        .collect();
    if let Some(digest) = r.content.digest() {
        let other = match algorithm {
            Algorithm::Xxh3 => Some((16, "XXH3 64-bit")),
            Algorithm::Xxh128 => Some((17, "XXH3 128-bit")),
            Algorithm::Md4 => Some((99, "MD4")),
            Algorithm::Xxh64 => Some((99, "XXH64")),
            Algorithm::Md5 | Algorithm::Sha1 => None,
        };
        if let Some((id, caption)) = other {
            hashes
                .push(json!({"algorithm_id": id, "algorithm": caption, "value": digest.to_hex()}));
        }
    }
    if !hashes.is_empty() {
        file["hashes"] = Value::Array(hashes);
    }
    file
}

/// OCSF's file type ids.
fn file_type(kind: Kind) -> (u32, &'static str) {
    match kind {
        Kind::File => (1, "Regular File"),
        Kind::Dir => (2, "Folder"),
        Kind::CharDevice => (3, "Character Device"),
        Kind::BlockDevice => (4, "Block Device"),
        Kind::Socket => (5, "Local Socket"),
        Kind::Fifo => (6, "Named Pipe"),
        Kind::Symlink => (7, "Symbolic Link"),
        Kind::Special => (0, "Unknown"),
    }
}

/// `severity_id` and its caption.
fn severity(severity: Severity) -> (u32, &'static str) {
    match severity {
        Severity::Ignore => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// OCSF's `timestamp_t`: milliseconds since the epoch (before 1970 negative, rounded down).
fn millis(t: Timestamp) -> i64 {
    t.sec
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nsec / 1_000_000))
}
