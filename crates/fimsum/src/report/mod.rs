//! How changes are written: for people (`human`), for programs (`json`, one object a line).
//!
//! Names are always written escaped as rsync escapes them (see [`crate::rsync::escape`]), so a
//! hostile name cannot put control characters on a terminal or forge a report line, and
//! the original bytes can be recovered with [`crate::rsync::escape::unescape`].

pub(crate) mod deletions;
pub mod ecs;
pub(crate) mod itemize;
pub mod ocsf;
pub mod packages;
pub(crate) mod rsync;
pub mod syslog;

use std::io::{self, Write};

use serde_json::{json, Value};

use crate::attrs::{Acl, Attrs};
use crate::diff::{differing_extra, Change, ChangeKind, Diff};
use crate::fim::assess::{Assessment, Detector, Event, Finding};
use crate::fim::config::RuleConfig;
use crate::fim::severity::Severity;
use crate::record::{Attribute, Content, Kind, Meta, Record, Timestamp};
use crate::rsync::escape::{escape_name, Charset};
use crate::text::ContentDiff;

pub use crate::report::ecs::write_ecs;
pub use crate::report::itemize::write_itemize;
pub use crate::report::ocsf::write_ocsf;
pub use crate::report::rsync::write_rsync;

/// Version of the JSON lines schema (docs/json.md).
pub const JSON_SCHEMA_VERSION: u32 = 2;

/// What a report says besides the changes.
pub struct Context<'a> {
    /// How names are escaped.
    pub charset: Charset,
    /// Entries on the new side that could not be read (scan problems), for the summary.
    pub problems: u64,
    /// Notes to print with the summary (e.g. "checksums not compared").
    pub notes: &'a [String],
    /// The host the new side describes, and when it was taken: every JSON event carries them,
    /// so that events from many hosts can be told apart in a SIEM.
    pub host: &'a str,
    /// When the new side was taken.
    pub time: Timestamp,
    /// The config's rules, to name the rule behind a severity.
    pub rules: &'a [RuleConfig],
    /// Colour the severities (a terminal that has not asked for `NO_COLOR`).
    pub colour: bool,
    /// The new side is a copy (`check --copy`): only what a copy keeps was compared.
    pub copy: bool,
}

/// The summary, then one line per finding, most severe first.
pub fn write_human(
    out: &mut dyn Write,
    diff: &Diff,
    assessment: &Assessment,
    ctx: &Context,
) -> io::Result<()> {
    writeln!(out, "{}", summary_text(diff, assessment, ctx.problems))?;
    if let Some(by) = severity_text(assessment) {
        writeln!(out, "{by}")?;
    }
    if assessment.not_counted > 0 || assessment.grew > 0 {
        writeln!(
            out,
            "not shown: {} changes the policy does not count, {} growing files that only grew",
            assessment.not_counted, assessment.grew
        )?;
    }
    for note in ctx.notes {
        writeln!(out, "note: {note}")?;
    }
    for finding in &assessment.findings {
        let severity = paint(finding.severity, ctx.colour);
        let change = finding.change.map(|i| &diff.changes[i]);
        let name = escape_name(&finding_name(finding, change), ctx.charset);
        writeln!(
            out,
            "{severity} {}",
            finding_text(finding, diff, &name, ctx.charset)
        )?;
        if let Some(content) = finding_content_diff(finding, change) {
            for line in content.report_lines() {
                writeln!(out, "    {line}")?;
            }
        }
    }
    Ok(())
}

/// What changed inside a file whose content change the finding reports (see
/// [`Change::content_diff`]); `None` when the content is not among its counted fields.
pub(crate) fn finding_content_diff(
    finding: &Finding,
    change: Option<&Change>,
) -> Option<ContentDiff> {
    if finding.event != Event::Modified || !finding.fields.contains(&Attribute::Content) {
        return None;
    }
    change?.content_diff()
}

/// The JSON fields of a content diff: `diff`, the unified diff as one string (lines joined
/// by `\n`), or `null` with `diff_note` saying why (binary, over a limit, no snapshot), or
/// for a file that holds secrets `null` with `secret: true` and the changed line numbers of
/// each version (`lines_changed` of the new, `old_lines_changed` of the old).
fn content_diff_json(obj: &mut Value, content: &ContentDiff) {
    match content {
        ContentDiff::Text {
            lines,
            added,
            removed,
        } => {
            obj["diff"] = Value::from(lines.join("\n"));
            obj["diff_added"] = Value::from(*added);
            obj["diff_removed"] = Value::from(*removed);
        }
        ContentDiff::Secret { .. } => {
            let (new, old) = content.lines_changed();
            obj["diff"] = Value::Null;
            obj["secret"] = Value::from(true);
            obj["lines_changed"] = Value::from(new);
            obj["old_lines_changed"] = Value::from(old);
        }
        ContentDiff::Binary | ContentDiff::Unavailable(_) => {
            obj["diff"] = Value::Null;
            obj["diff_note"] = Value::from(content.summary());
        }
    }
}

/// What the SIEM formats say of a finding in a namespace of their own (`fimsum` in ECS,
/// `unmapped.fimsum` in OCSF): what their schemas have no field for. Its change, severity,
/// name, changed fields, detectors, rule, the reason it is unverified, a hard link's other
/// name, its package, IOC hits, the security attributes of the entry as it is now, and
/// what changed inside it (a content diff, never a secret's text).
pub(crate) fn finding_details(finding: &Finding, change: Option<&Change>, ctx: &Context) -> Value {
    let mut fimsum = json!({
        "change": finding.event.name(),
        "severity": finding.severity.name(),
        "name": escape_name(&finding_name(finding, change), ctx.charset),
        "fields": finding.fields.iter().map(|f| f.report_name()).collect::<Vec<_>>(),
        "detectors": finding.detectors.iter().map(|d| d.name()).collect::<Vec<_>>(),
    });
    finding_keys(&mut fimsum, finding, change, ctx);
    if let Some(attrs) = change
        .and_then(|c| c.new.as_ref())
        .and_then(|r| r.attrs.as_ref())
    {
        fimsum["attrs"] = attrs_json(attrs);
    }
    fimsum
}

/// The keys a finding adds where it has them, the same in the JSON lines and in the SIEM
/// formats' namespace: the deciding rule, why it is unverified, a hard link's other name, its
/// package, what changed inside it, and the IOC lists its digest is on.
fn finding_keys(obj: &mut Value, finding: &Finding, change: Option<&Change>, ctx: &Context) {
    if let Some(i) = finding.rule {
        let rule = ctx.rules.get(i);
        obj["rule"] = json!({
            "index": i,
            "line": rule.and_then(|r| r.line),
            "patterns": rule.map(|r| r.patterns.clone()),
        });
    }
    if let Some(ChangeKind::Unverified(why)) = change.map(|c| &c.kind) {
        obj["reason"] = Value::from(why.as_str());
    }
    if let Some(to) = &finding.link_to {
        obj["link_to"] = Value::from(escape_name(to, ctx.charset));
    }
    if let Some(package) = &finding.package {
        obj["package"] = Value::from(package.as_str());
    }
    if let Some(content) = finding_content_diff(finding, change) {
        content_diff_json(obj, &content);
    }
    if !finding.ioc.is_empty() {
        obj["ioc"] = finding
            .ioc
            .iter()
            .map(|h| json!({"list": h.list.display().to_string(), "line": h.line, "hash": h.kind.name()}))
            .collect();
    }
}

/// The counts of a comparison, as the JSON summary gives them and the ECS summary carries
/// them.
pub(crate) fn summary_counts(diff: &Diff, assessment: &Assessment, ctx: &Context) -> Value {
    let n = |event: Event| assessment.count(event);
    let by_severity: serde_json::Map<String, Value> = assessment
        .counts()
        .into_iter()
        .map(|(s, n)| (s.name().to_string(), Value::from(n)))
        .collect();
    json!({
        "added": n(Event::Added),
        "removed": n(Event::Removed),
        "changed": n(Event::Modified) + n(Event::TypeChanged),
        "moved": n(Event::Moved),
        "unverified": n(Event::Unverified),
        "listed": n(Event::Listed),
        "by_severity": by_severity,
        "not_counted": assessment.not_counted,
        "grew": assessment.grew,
        "compared": diff.compared,
        "unreadable": ctx.problems,
        "copy": ctx.copy,
        "notes": ctx.notes,
    })
}

/// The first line of a report: the findings by kind of change.
pub(crate) fn summary_text(diff: &Diff, assessment: &Assessment, problems: u64) -> String {
    let n = |event: Event| assessment.count(event);
    format!(
        "{} added, {} removed, {} changed, {} moved, {} unverified ({} entries compared{})",
        n(Event::Added),
        n(Event::Removed),
        n(Event::Modified) + n(Event::TypeChanged),
        n(Event::Moved),
        n(Event::Unverified),
        diff.compared,
        if problems > 0 {
            format!(", {problems} could not be read")
        } else {
            String::new()
        }
    )
}

/// The findings by severity, `by severity: 1 critical, 4 medium`; `None` without findings.
pub(crate) fn severity_text(assessment: &Assessment) -> Option<String> {
    let counts = assessment.counts();
    let by: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    (!by.is_empty()).then(|| format!("by severity: {}", by.join(", ")))
}

/// A finding as a line of text without its severity: what changed, under `name`, and the
/// detectors, IOC hits and package that explain its severity.
pub(crate) fn finding_text(finding: &Finding, diff: &Diff, name: &str, charset: Charset) -> String {
    let change = finding.change.map(|i| &diff.changes[i]);
    let text = match (finding.event, change) {
        (Event::Modified, Some(change)) => {
            let details: Vec<String> = finding
                .fields
                .iter()
                .map(|&f| {
                    if let Some(text) = collision_text(change, f) {
                        return text;
                    }
                    if let Some(text) = other_filesystem_text(change, f) {
                        return text;
                    }
                    let value = |r: &Option<Record>| {
                        r.as_ref()
                            .map(|r| field_text(r, f, charset))
                            .unwrap_or_default()
                    };
                    format!(
                        "{} {} -> {}",
                        f.report_name(),
                        value(&change.old),
                        value(&change.new)
                    )
                })
                .collect();
            format!("changed    {name}: {}", details.join("; "))
        }
        (Event::TypeChanged, Some(change)) => format!(
            "type       {name}: {} -> {}",
            kind_of(&change.old),
            kind_of(&change.new)
        ),
        (Event::Unverified, Some(change)) => match &change.kind {
            ChangeKind::Unverified(why) => format!("unverified {name}: {why}"),
            _ => format!("unverified {name}"),
        },
        (Event::Moved, _) => {
            let from = finding.moved_from.as_ref().map(|(_, n)| n.as_slice());
            format!(
                "moved      {name} <- {}",
                escape_name(from.unwrap_or_default(), charset)
            )
        }
        (event, _) => format!("{:<10} {name}", event.name()),
    };
    let mut tags: Vec<String> = finding
        .detectors
        .iter()
        .map(|&d| match (d, &finding.link_to) {
            (Detector::NewHardLink, Some(to)) => {
                format!("{} to {}", d.name(), escape_name(to, charset))
            }
            _ => match change
                .and_then(|c| c.new.as_ref())
                .and_then(|r| r.attrs.as_ref())
            {
                Some(attrs) => detector_detail(d, attrs),
                None => d.name().to_string(),
            },
        })
        .collect();
    if let Some(package) = &finding.package {
        tags.push(format!("package update: {package}"));
    }
    for hit in &finding.ioc {
        tags.push(format!(
            "IOC {} hash on {}:{}",
            hit.kind,
            hit.list.display(),
            hit.line
        ));
    }
    if tags.is_empty() {
        text
    } else {
        format!("{text}  [{}]", tags.join("; "))
    }
}

/// An attribute detector's name with what it saw: the capabilities, the flags, the named
/// users and groups an ACL lets write.
fn detector_detail(d: Detector, attrs: &Attrs) -> String {
    let detail = match d {
        Detector::NewCaps | Detector::CapsAdded => attrs.text(Attribute::Caps),
        Detector::ImmutableInSystemDir => attrs.text(Attribute::Flags),
        Detector::AclGrantsWrite => {
            let writers = attrs
                .ext()
                .acl
                .as_ref()
                .map(Acl::writers)
                .unwrap_or_default();
            writers.join(",")
        }
        _ => return d.name().to_string(),
    };
    format!("{} {detail}", d.name())
}

/// The severity, padded to one width, in colour on a terminal.
fn paint(severity: Severity, colour: bool) -> String {
    let text = format!("{:<8}", severity.name());
    if !colour {
        return text;
    }
    let code = match severity {
        Severity::Critical => "1;31",
        Severity::High => "31",
        Severity::Medium => "33",
        Severity::Low | Severity::Ignore => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// One JSON object per finding, then one summary object (docs/json.md).
pub fn write_json(
    out: &mut dyn Write,
    diff: &Diff,
    assessment: &Assessment,
    ctx: &Context,
) -> io::Result<()> {
    let time = rfc3339(ctx.time);
    for finding in &assessment.findings {
        let change = finding.change.map(|i| &diff.changes[i]);
        let mut obj = json!({
            "type": "change",
            "schema": JSON_SCHEMA_VERSION,
            "host": ctx.host,
            "time": time,
            "path": escape_name(&finding_name(finding, change), ctx.charset),
            "abs_path": escape_name(&finding.path, ctx.charset),
            "change": finding.event.name(),
            "severity": finding.severity.name(),
            "fields": finding.fields.iter().map(|f| f.report_name()).collect::<Vec<_>>(),
            "detectors": finding.detectors.iter().map(|d| d.name()).collect::<Vec<_>>(),
            "old": change.and_then(|c| c.old.as_ref()).map(|r| record_json(r, ctx.charset)),
            "new": change.and_then(|c| c.new.as_ref()).map(|r| record_json(r, ctx.charset)),
        });
        finding_keys(&mut obj, finding, change, ctx);
        if let Some((i, from)) = &finding.moved_from {
            obj["moved_from"] = Value::from(escape_name(from, ctx.charset));
            if let Some(old) = diff.changes[*i].old.as_ref() {
                obj["old"] = record_json(old, ctx.charset);
            }
        }
        writeln!(out, "{obj}")?;
    }
    let mut summary = json!({
        "type": "summary",
        "schema": JSON_SCHEMA_VERSION,
        "host": ctx.host,
        "time": time,
    });
    if let (Some(obj), Value::Object(counts)) = (
        summary.as_object_mut(),
        summary_counts(diff, assessment, ctx),
    ) {
        obj.extend(counts);
    }
    writeln!(out, "{summary}")
}

/// The name a finding is shown under: the change's `%n` name (with a directory's slash).
fn finding_name(finding: &Finding, change: Option<&Change>) -> Vec<u8> {
    match change {
        Some(change) => display_name(change),
        None => finding.name.clone(),
    }
}

/// The absolute path a moved entry had: `path` (of the new name `name`) with the old name
/// `from` in place of the new one, under the same source.
pub(crate) fn moved_path(path: &[u8], name: &[u8], from: &[u8]) -> Vec<u8> {
    match path.strip_suffix(name) {
        Some(base) => [base, from].concat(),
        None => from.to_vec(),
    }
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
fn collision_text(change: &Change, field: Attribute) -> Option<String> {
    let (o, n) = (change.old.as_ref()?, change.new.as_ref()?);
    let checksum = o.content.digest()?;
    if field != Attribute::Content || n.content.digest() != Some(checksum) {
        return None;
    }
    let (kind, old, new) = differing_extra(o, n)?;
    Some(format!(
        "content {kind} {old} -> {new}, checksum unchanged ({checksum}): a checksum collision"
    ))
}

/// The detail of an inode change across filesystems: the inode number may well be the same
/// (every ext4 root is inode 2), and "inode 2 -> 2" would hide what changed, so the
/// filesystems' device numbers are shown with it.
fn other_filesystem_text(change: &Change, field: Attribute) -> Option<String> {
    let (o, n) = (change.old.as_ref()?.meta?, change.new.as_ref()?.meta?);
    if field != Attribute::Inode || o.dev == n.dev {
        return None;
    }
    let on = |m: Meta| format!("{} (filesystem {}:{})", m.ino, major(m.dev), minor(m.dev));
    Some(format!("inode {} -> {}", on(o), on(n)))
}

/// The value of one attribute of a record, as the human report shows it.
fn field_text(r: &Record, field: Attribute, charset: Charset) -> String {
    let meta = r.meta.unwrap_or_default();
    match field {
        // Never among a modification's fields (a new type is its own kind of change).
        Attribute::Type => r.kind.name().into(),
        Attribute::Content => match &r.content {
            Content::Digest(d) => d.to_hex(),
            _ => "-".into(),
        },
        Attribute::Mode => format!("{:04o}", meta.mode),
        Attribute::Owner => meta.uid.to_string(),
        Attribute::Group => meta.gid.to_string(),
        Attribute::Size => meta.size.to_string(),
        Attribute::Mtime => rfc3339(meta.mtime),
        Attribute::Link => r
            .link_target
            .as_deref()
            .map_or("-".into(), |t| escape_name(t, charset)),
        Attribute::Device => format!("{}:{}", major(meta.rdev), minor(meta.rdev)),
        Attribute::Ctime => rfc3339(meta.ctime),
        Attribute::Inode => meta.ino.to_string(),
        Attribute::Nlink => meta.nlink.to_string(),
        Attribute::Caps
        | Attribute::Flags
        | Attribute::Acl
        | Attribute::Selinux
        | Attribute::Xattrs => attr_text(r, field),
    }
}

/// A security attribute's value as a report shows it; "not recorded" where the record has
/// none (a baseline of format 4 or earlier, a scan with `--no-attrs`).
fn attr_text(r: &Record, field: Attribute) -> String {
    r.attrs
        .as_ref()
        .map_or_else(|| "not recorded".into(), |a| a.text(field))
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
        obj["filesystem"] = Value::from(format!("{}:{}", major(m.dev), minor(m.dev)));
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
        Content::NotAFile | Content::NotHashed => {}
    }
    if let Some(t) = &r.link_target {
        obj["target"] = Value::from(escape_name(t, charset));
    }
    if let Some(attrs) = &r.attrs {
        obj["attrs"] = attrs_json(attrs);
    }
    obj
}

/// The security attributes of a record (docs/json.md): each in the text its tool shows,
/// `null` where the entry has none; absent from the record where they were not recorded.
fn attrs_json(a: &Attrs) -> Value {
    let acl = |acl: &Option<Acl>| {
        acl.as_ref().map_or(Value::Null, |acl| {
            acl.0.iter().map(|e| Value::from(e.to_string())).collect()
        })
    };
    let flags = a.flags;
    let text = |field| a.text(field);
    let a = a.ext();
    let mut obj = json!({
        "caps": a.caps.map(|c| c.text()),
        "flags": flags.map(|f| f.letters()),
        "flag_names": flags.map(|f| f.names()),
        "acl": acl(&a.acl),
        "default_acl": acl(&a.default_acl),
        "selinux": a.selinux.as_deref().map(|_| text(Attribute::Selinux)),
    });
    let xattrs: serde_json::Map<String, Value> = a
        .xattrs
        .iter()
        .map(|x| (x.name_text(), Value::from(x.value_text())))
        .collect();
    obj["xattrs"] = Value::Object(xattrs);
    obj
}

/// RFC 3339 time in UTC with nanoseconds, e.g. `2026-11-26T12:00:00.123456789Z`; every
/// timestamp prints, years outside 0000 to 9999 in ISO 8601 expanded form ([`crate::civil`]).
pub(crate) fn rfc3339(t: Timestamp) -> String {
    crate::civil::format(t.sec, t.nsec)
}

fn major(rdev: u64) -> u64 {
    ((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0xfff)
}

fn minor(rdev: u64) -> u64 {
    ((rdev >> 12) & 0xffff_ff00) | (rdev & 0xff)
}
