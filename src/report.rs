//! How changes are written: for people (`human`), for programs (`json`, one object a line).
//!
//! Names are always written escaped as rsync escapes them (see [`crate::escape`]), so a
//! hostile name cannot put control characters on a terminal or forge a report line, and
//! the original bytes can be recovered with [`crate::escape::unescape`].

use std::io::{self, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::diff::{differing_extra, Change, ChangeKind, Diff, Field};
use crate::escape::{escape_name, Charset};
use crate::record::{Content, Kind, Record, Timestamp};

/// Version of the JSON lines schema (README "JSON output").
pub const JSON_SCHEMA_VERSION: u32 = 1;

/// What a report says besides the changes.
pub struct Context<'a> {
    pub charset: Charset,
    /// Entries on the new side that could not be read (scan problems), for the summary.
    pub problems: u64,
    /// Notes to print with the summary (e.g. "checksums not compared").
    pub notes: &'a [String],
}

/// One line per change, after a summary.
pub fn write_human(out: &mut dyn Write, diff: &Diff, ctx: &Context) -> io::Result<()> {
    let s = diff.summary();
    writeln!(
        out,
        "{} added, {} removed, {} changed, {} unverified ({} entries compared{})",
        s.added,
        s.removed,
        s.changed,
        s.unverified,
        diff.compared,
        if ctx.problems > 0 {
            format!(", {} could not be read", ctx.problems)
        } else {
            String::new()
        }
    )?;
    for note in ctx.notes {
        writeln!(out, "note: {note}")?;
    }
    for change in &diff.changes {
        let name = escape_name(&display_name(change), ctx.charset);
        match &change.kind {
            ChangeKind::Added => writeln!(out, "added      {name}")?,
            ChangeKind::Removed => writeln!(out, "removed    {name}")?,
            ChangeKind::TypeChanged => writeln!(
                out,
                "type       {name}: {} -> {}",
                kind_of(&change.old),
                kind_of(&change.new)
            )?,
            ChangeKind::Modified(fields) => {
                let (o, n) = (change.old.as_ref(), change.new.as_ref());
                let details: Vec<String> = fields
                    .iter()
                    .map(|&f| {
                        if let Some(text) = collision_text(change, f) {
                            return text;
                        }
                        let (a, b) = (
                            o.map(|r| field_text(r, f, ctx.charset)),
                            n.map(|r| field_text(r, f, ctx.charset)),
                        );
                        format!(
                            "{} {} -> {}",
                            f.name(),
                            a.unwrap_or_default(),
                            b.unwrap_or_default()
                        )
                    })
                    .collect();
                writeln!(out, "changed    {name}: {}", details.join("; "))?
            }
            ChangeKind::Unverified(why) => writeln!(out, "unverified {name}: {why}")?,
        }
    }
    Ok(())
}

/// One JSON object per change, then one summary object.
pub fn write_json(out: &mut dyn Write, diff: &Diff, ctx: &Context) -> io::Result<()> {
    for change in &diff.changes {
        let (kind, fields, reason) = match &change.kind {
            ChangeKind::Added => ("added", vec![], None),
            ChangeKind::Removed => ("removed", vec![], None),
            ChangeKind::TypeChanged => ("type_changed", vec![], None),
            ChangeKind::Modified(f) => ("modified", f.iter().map(|f| f.name()).collect(), None),
            ChangeKind::Unverified(why) => ("unverified", vec![], Some(why.as_str())),
        };
        let mut obj = json!({
            "type": "change",
            "path": escape_name(&display_name(change), ctx.charset),
            "change": kind,
            "fields": fields,
            "old": change.old.as_ref().map(|r| record_json(r, ctx.charset)),
            "new": change.new.as_ref().map(|r| record_json(r, ctx.charset)),
        });
        if let Some(reason) = reason {
            obj["reason"] = Value::from(reason);
        }
        writeln!(out, "{obj}")?;
    }
    let s = diff.summary();
    let summary = json!({
        "type": "summary",
        "schema": JSON_SCHEMA_VERSION,
        "added": s.added,
        "removed": s.removed,
        "changed": s.changed,
        "unverified": s.unverified,
        "compared": diff.compared,
        "unreadable": ctx.problems,
        "notes": ctx.notes,
    });
    writeln!(out, "{summary}")
}

fn display_name(change: &Change) -> Vec<u8> {
    change
        .new
        .as_ref()
        .or(change.old.as_ref())
        .map(Record::display_name)
        .unwrap_or_default()
}

fn kind_of(r: &Option<Record>) -> &'static str {
    r.as_ref().map_or("none", |r| r.kind.name())
}

/// The detail of a content change that only an extra digest saw: the checksum is the same
/// on both sides, so it collided (an MD5 collision can be made in seconds; an xxhash one
/// needs no effort at all), and printing "content X -> X" would hide why it is reported.
fn collision_text(change: &Change, field: Field) -> Option<String> {
    let (o, n) = (change.old.as_ref()?, change.new.as_ref()?);
    let checksum = o.content.digest()?;
    if field != Field::Content || n.content.digest() != Some(checksum) {
        return None;
    }
    let (kind, old, new) = differing_extra(o, n)?;
    Some(format!(
        "content {kind} {old} -> {new}, checksum unchanged ({checksum}): a checksum collision"
    ))
}

/// The value of one field of a record, as the human report shows it.
fn field_text(r: &Record, field: Field, charset: Charset) -> String {
    let meta = r.meta.unwrap_or_default();
    match field {
        Field::Content => match &r.content {
            Content::Digest(d) => d.to_hex(),
            _ => "-".into(),
        },
        Field::Mode => format!("{:04o}", meta.mode),
        Field::Uid => meta.uid.to_string(),
        Field::Gid => meta.gid.to_string(),
        Field::Size => meta.size.to_string(),
        Field::Mtime => rfc3339(meta.mtime),
        Field::LinkTarget => r
            .link_target
            .as_deref()
            .map_or("-".into(), |t| escape_name(t, charset)),
        Field::Device => format!("{}:{}", major(meta.rdev), minor(meta.rdev)),
    }
}

fn record_json(r: &Record, charset: Charset) -> Value {
    let mut obj = json!({ "kind": r.kind.name() });
    if let Some(m) = r.meta {
        obj["mode"] = Value::from(format!("{:04o}", m.mode));
        obj["uid"] = Value::from(m.uid);
        obj["gid"] = Value::from(m.gid);
        obj["size"] = Value::from(m.size);
        obj["mtime"] = Value::from(rfc3339(m.mtime));
        obj["ctime"] = Value::from(rfc3339(m.ctime));
        obj["inode"] = Value::from(m.ino);
        obj["nlink"] = Value::from(m.nlink);
        if matches!(r.kind, Kind::CharDevice | Kind::BlockDevice) {
            obj["device"] = Value::from(format!("{}:{}", major(m.rdev), minor(m.rdev)));
        }
    }
    match &r.content {
        Content::Digest(d) => {
            obj["checksum"] = Value::from(d.to_hex());
            if !r.extra.is_empty() {
                let digests: serde_json::Map<String, Value> = r
                    .extra
                    .iter()
                    .map(|(k, d)| (k.name().to_string(), Value::from(d.to_hex())))
                    .collect();
                obj["digests"] = Value::Object(digests);
            }
        }
        Content::Unreadable(why) => obj["unreadable"] = Value::from(why.as_str()),
        Content::ChangedDuringScan(why) => obj["changed_during_scan"] = Value::from(why.as_str()),
        Content::None => {}
    }
    if let Some(t) = &r.link_target {
        obj["target"] = Value::from(escape_name(t, charset));
    }
    obj
}

/// RFC 3339 time in UTC with nanoseconds, e.g. `2026-11-26T12:00:00.123456789Z`.
pub fn rfc3339(t: Timestamp) -> String {
    let nanos = Duration::new(t.sec.unsigned_abs(), t.nsec.min(999_999_999));
    let time: SystemTime = if t.sec >= 0 {
        UNIX_EPOCH + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(t.sec.unsigned_abs())
            + Duration::from_nanos(u64::from(t.nsec))
    };
    humantime::format_rfc3339_nanos(time).to_string()
}

fn major(rdev: u64) -> u64 {
    ((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0xfff)
}

fn minor(rdev: u64) -> u64 {
    ((rdev >> 12) & 0xffff_ff00) | (rdev & 0xff)
}
