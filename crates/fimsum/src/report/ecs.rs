//! Changes as Elastic Common Schema documents (`--format ecs`), one JSON object a line, in
//! the shape Auditbeat's `file_integrity` module writes, so that the dashboards, detection
//! rules and index templates people already run for Auditbeat read fimsum's events too.
//!
//! ECS has fields for what every FIM records (path, type, mode, owner, times, inode, the
//! md5/sha1/sha256 hashes) and none for what only fimsum knows: its severity, the rule
//! behind it, the detectors that fired, an md4 or xxhash checksum, the old side of a change.
//! Those go under `fimsum.*`, a namespace of its own, as ECS asks of custom fields. The
//! fields are listed one by one in docs/siem.md.

use std::io::{self, Write};

use serde_json::{json, Map, Value};

use crate::diff::{ChangeKind, Diff};
use crate::fim::assess::{Assessment, Event, Finding};
use crate::fim::severity::Severity;
use crate::hash::{Algorithm, HashKind};
use crate::record::{Attribute, Content, Record};
use crate::rsync::escape::escape_name;

use super::{
    finding_details, finding_name, finding_text, moved_path, record_json, rfc3339, summary_counts,
    Context,
};

/// The ECS version the documents follow (`ecs.version`).
pub const ECS_VERSION: &str = "8.11.0";

/// `event.module` and `event.dataset`: Auditbeat's, so that what filters on its file
/// integrity events finds fimsum's among them (`agent.type` tells them apart).
const MODULE: &str = "file_integrity";
const DATASET: &str = "file";

/// One ECS document per finding, then one summary document (docs/siem.md). `algorithm` is
/// the checksum algorithm of the records.
pub fn write_ecs(
    out: &mut dyn Write,
    diff: &Diff,
    assessment: &Assessment,
    ctx: &Context,
    algorithm: Algorithm,
) -> io::Result<()> {
    for finding in &assessment.findings {
        writeln!(out, "{}", ecs_event(finding, diff, ctx, algorithm))?;
    }
    writeln!(out, "{}", ecs_summary(diff, assessment, ctx))
}

/// The ECS document of one finding.
pub fn ecs_event(finding: &Finding, diff: &Diff, ctx: &Context, algorithm: Algorithm) -> Value {
    let change = finding.change.map(|i| &diff.changes[i]);
    let old = change.and_then(|c| c.old.as_ref());
    let new = change.and_then(|c| c.new.as_ref());
    let path = escape_name(&finding.path, ctx.charset);
    // A removed entry is described as it was; everything else as it is now.
    let record = new.or(old);
    let mut file = match record {
        Some(r) => ecs_file(r, algorithm, ctx),
        None => json!({}),
    };
    file["path"] = Value::from(path.clone());
    let (directory, name) = split_path(&path);
    file["name"] = Value::from(name);
    file["directory"] = Value::from(directory);

    let (types, actions) = event_type_action(finding, change.map(|c| &c.kind));
    let mut fimsum = finding_details(finding, change, ctx);
    fimsum["message"] = Value::from(finding_text(
        finding,
        diff,
        &escape_name(&finding_name(finding, change), ctx.charset),
        ctx.charset,
    ));
    if let Some(r) = record {
        if let Some(other) = other_checksum(r, algorithm) {
            fimsum["hash"] = other;
        }
    }
    if let Some(old) = old.filter(|_| new.is_some()) {
        fimsum["old"] = record_json(old, ctx.charset);
    }
    if let Some((i, from)) = &finding.moved_from {
        fimsum["moved_from"] = Value::from(escape_name(from, ctx.charset));
        fimsum["moved_from_path"] = Value::from(escape_name(
            &moved_path(&finding.path, &finding.name, from),
            ctx.charset,
        ));
        if let Some(old) = diff.changes.get(*i).and_then(|c| c.old.as_ref()) {
            fimsum["old"] = record_json(old, ctx.charset);
        }
    }
    json!({
        "@timestamp": rfc3339(ctx.time),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "event",
            "category": ["file"],
            "type": types,
            "action": actions,
            "module": MODULE,
            "dataset": DATASET,
            "severity": severity_number(finding.severity),
        },
        "agent": agent(),
        "host": {"name": ctx.host},
        "file": file,
        "fimsum": fimsum,
    })
}

/// The summary document: the counts of the JSON summary under `fimsum.summary`.
fn ecs_summary(diff: &Diff, assessment: &Assessment, ctx: &Context) -> Value {
    json!({
        "@timestamp": rfc3339(ctx.time),
        "ecs": {"version": ECS_VERSION},
        "event": {
            "kind": "metric",
            "category": ["file"],
            "type": ["info"],
            "action": ["summary"],
            "module": MODULE,
            "dataset": DATASET,
        },
        "agent": agent(),
        "host": {"name": ctx.host},
        "fimsum": {"summary": summary_counts(diff, assessment, ctx)},
    })
}

fn agent() -> Value {
    json!({"type": "fimsum", "version": env!("CARGO_PKG_VERSION")})
}

/// The `file` object of a record, without its path (the caller knows the absolute one).
/// ECS keeps `uid`, `gid` and `inode` as keywords (strings), `mode` as an octal string.
pub fn ecs_file(r: &Record, algorithm: Algorithm, ctx: &Context) -> Value {
    let mut file = json!({ "type": ecs_type(r) });
    if let Some(m) = r.meta {
        file["mode"] = Value::from(format!("{:04o}", m.mode));
        file["uid"] = Value::from(m.uid.to_string());
        file["gid"] = Value::from(m.gid.to_string());
        file["size"] = Value::from(m.size);
        file["mtime"] = Value::from(rfc3339(m.mtime));
        file["ctime"] = Value::from(rfc3339(m.ctime));
        file["inode"] = Value::from(m.ino.to_string());
    }
    if let Some(t) = &r.link_target {
        file["target_path"] = Value::from(escape_name(t, ctx.charset));
    }
    let hashes: Map<String, Value> = known_hashes(r, algorithm)
        .into_iter()
        .map(|(k, hex)| (k.name().to_string(), Value::from(hex)))
        .collect();
    if !hashes.is_empty() {
        file["hash"] = Value::Object(hashes);
    }
    file
}

/// The md5, sha1 and sha256 digests of a record, from its checksum or its extra digests,
/// in that order.
pub(crate) fn known_hashes(r: &Record, algorithm: Algorithm) -> Vec<(HashKind, String)> {
    let Content::Digest(main) = &r.content else {
        return Vec::new();
    };
    HashKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let digest = if kind.as_algorithm() == Some(algorithm) {
                Some(main)
            } else {
                r.extra_digest(kind)
            };
            digest.map(|d| (kind, d.to_hex()))
        })
        .collect()
}

/// A checksum that ECS has no field for (md4, xxh64, xxh3, xxh128), as `{ALGO: hex}`.
fn other_checksum(r: &Record, algorithm: Algorithm) -> Option<Value> {
    let digest = r.content.digest()?;
    if HashKind::ALL
        .iter()
        .any(|k| k.as_algorithm() == Some(algorithm))
    {
        return None;
    }
    Some(json!({ algorithm.name(): digest.to_hex() }))
}

/// Auditbeat's `file.type` words.
fn ecs_type(r: &Record) -> &'static str {
    use crate::record::Kind;
    match r.kind {
        Kind::File => "file",
        Kind::Dir => "dir",
        Kind::Symlink => "symlink",
        Kind::Fifo => "fifo",
        Kind::Socket => "socket",
        Kind::CharDevice => "char_device",
        Kind::BlockDevice => "block_device",
        Kind::Special => "unknown",
    }
}

/// `event.type` and `event.action` (both arrays, as Auditbeat writes them). A content change
/// is `updated`, a change of metadata only `attributes_modified`, both when both changed.
fn event_type_action(
    finding: &Finding,
    kind: Option<&ChangeKind>,
) -> (Vec<&'static str>, Vec<&'static str>) {
    match finding.event {
        Event::Added => (vec!["creation"], vec!["created"]),
        Event::Removed => (vec!["deletion"], vec!["deleted"]),
        Event::Moved => (vec!["change"], vec!["moved"]),
        Event::TypeChanged => (vec!["change"], vec!["updated"]),
        Event::Modified => {
            let changed: &[Attribute] = match kind {
                Some(ChangeKind::Modified(attrs)) => attrs,
                _ => &finding.fields,
            };
            let content = changed
                .iter()
                .any(|a| matches!(a, Attribute::Content | Attribute::Size));
            let other = changed
                .iter()
                .any(|a| !matches!(a, Attribute::Content | Attribute::Size));
            let mut actions = Vec::new();
            if content || !other {
                actions.push("updated");
            }
            if other {
                actions.push("attributes_modified");
            }
            (vec!["change"], actions)
        }
        Event::Unverified => (vec!["info"], vec!["unverified"]),
        Event::Listed => (vec!["info"], vec!["listed"]),
    }
}

/// `event.severity`: the severities as numbers, higher is worse.
fn severity_number(severity: Severity) -> u8 {
    match severity {
        Severity::Ignore => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

/// A path's directory and last component (`/` for an entry directly in the root).
pub(crate) fn split_path(path: &str) -> (String, String) {
    let trimmed = path.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(0) => ("/".to_string(), trimmed[1..].to_string()),
        Some(i) => (trimmed[..i].to_string(), trimmed[i + 1..].to_string()),
        None if trimmed.is_empty() => ("/".to_string(), "/".to_string()),
        None => (String::new(), trimmed.to_string()),
    }
}
