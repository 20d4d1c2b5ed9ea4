//! Whether a run listed the whole tree (a full listing: a first copy into an empty
//! destination) or only what changed (incremental: a night's update of an earlier copy),
//! proved from the log's own lines, never guessed.
//!
//! Incremental is proved by any of: a `deleting` line; a `NAME is uptodate` line; an
//! itemize code that is not all-new (`.d..t......`, `>fcst......`: anything but `+` in the
//! attribute columns); an entry below the top whose parent directory was not listed before
//! it (a full listing of `src/` lists `./` and every directory before its contents, and a
//! full listing of `src` lists `src/` first).
//!
//! Full is proved only by rsync saying the destination was empty: `created directory
//! DEST` (printed with `-v`, `-i`, `--info=name2`), or the transfer root itemized as new
//! (`cd+++++++++ ./`). A log without either and without incremental evidence, such as a
//! plain `%n %C` listing, is [`LogKind::Unknown`], even when it begins with `./` and lists
//! every directory: the log of a night that changed every file and touched every directory
//! reads the same. The caller then asks (`--full`/`--incremental`).

use super::events::{LogEvent, LogLine};
use super::shape::itemize_is_new;

/// What a run's log proves it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// Listed the whole tree.
    Full,
    /// Listed only what changed.
    Incremental,
    /// The log does not say.
    Unknown,
}

/// A [`LogKind`], the line that proves it (if one does), and why, in words for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// What the log proves.
    pub kind: LogKind,
    /// The line that proves it, if one does.
    pub line: Option<u64>,
    /// Why, in words for a user.
    pub reason: String,
}

/// What the events of one run show so far. Feed it every event of the run
/// ([`Evidence::observe`]; a `RunStart` begins afresh), then [`Evidence::classify`].
///
/// Memory stays at one name: the entries come in rsync's order, so the directories listed
/// above the current entry are all prefixes of the last entry's name, kept as lengths.
#[derive(Debug, Default, Clone)]
pub struct Evidence {
    incremental: Option<(u64, String)>,
    full: Option<(u64, String)>,
    entries: u64,
    root_listed: bool,
    /// The last entry's name.
    last: Vec<u8>,
    /// The lengths of the names of the directories listed that hold `last` (or are it).
    listed: Vec<usize>,
}

fn shown(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

impl Evidence {
    /// No evidence yet.
    pub fn new() -> Evidence {
        Evidence::default()
    }

    fn incremental(&mut self, line: u64, why: impl FnOnce() -> String) {
        if self.incremental.is_none() {
            self.incremental = Some((line, why()));
        }
    }

    /// Take one line of the log into account.
    pub fn observe(&mut self, event: &LogLine) {
        let line = event.line;
        match &event.event {
            LogEvent::RunStart(_) => *self = Evidence::default(),
            LogEvent::Deleted { name, .. } => self.incremental(line, || {
                format!(
                    "it deletes {}: the destination held what the source no longer has",
                    shown(name)
                )
            }),
            LogEvent::Uptodate { name } => self.incremental(line, || {
                format!(
                    "{} is uptodate: the destination had it already",
                    shown(name)
                )
            }),
            LogEvent::CreatedDestination { name } => {
                if self.full.is_none() {
                    self.full = Some((
                        line,
                        format!(
                            "rsync created the destination {}: it held nothing",
                            shown(name)
                        ),
                    ));
                }
            }
            LogEvent::Message { .. } => {}
            LogEvent::Entry(entry) => {
                self.entries += 1;
                let name = &entry.name[..];
                if let Some(code) = &entry.itemize {
                    if !itemize_is_new(code) {
                        self.incremental(line, || {
                            format!(
                                "{} {}: an update of an entry the destination had",
                                shown(code),
                                shown(name)
                            )
                        });
                    } else if name == b"." && self.full.is_none() {
                        self.full = Some((line, "the transfer root ./ is new".into()));
                    }
                }
                if name == b"." {
                    self.root_listed = true;
                    self.last.clear();
                    self.listed.clear();
                    return;
                }
                // Keep the listed directories that hold this entry.
                while let Some(&len) = self.listed.last() {
                    if name.len() > len && name[len] == b'/' && name[..len] == self.last[..len] {
                        break;
                    }
                    self.listed.pop();
                }
                if let Some(slash) = memchr::memrchr(b'/', name) {
                    if self.listed.last() != Some(&slash) {
                        let parent = &name[..slash];
                        self.incremental(line, || {
                            format!(
                                "{} is listed without its directory {}/: a full listing lists \
                                 every directory before its contents",
                                shown(name),
                                shown(parent)
                            )
                        });
                    }
                }
                self.last.clear();
                self.last.extend_from_slice(name);
                if entry.is_dir() {
                    self.listed.push(name.len());
                }
            }
        }
    }

    /// What the lines seen so far prove.
    pub fn classify(&self) -> Classification {
        match (&self.incremental, &self.full) {
            (Some((il, iw)), Some((fl, fw))) => Classification {
                kind: LogKind::Unknown,
                line: Some(*il),
                reason: format!(
                    "the log contradicts itself: line {fl}: {fw}, but line {il}: {iw} \
                     (several runs without a line between them?)"
                ),
            },
            (Some((line, why)), None) => Classification {
                kind: LogKind::Incremental,
                line: Some(*line),
                reason: why.clone(),
            },
            (None, Some((line, why))) => Classification {
                kind: LogKind::Full,
                line: Some(*line),
                reason: why.clone(),
            },
            (None, None) => Classification {
                kind: LogKind::Unknown,
                line: None,
                reason: if self.entries == 0 {
                    "the log lists no entries".into()
                } else if self.root_listed {
                    "consistent with a full listing (it begins with ./ and lists every \
                     directory before its contents), but so is the log of a run that changed \
                     every file and touched every directory"
                        .into()
                } else {
                    "consistent with a full listing of a source without a trailing slash, \
                     but also with a run that changed only what it lists"
                        .into()
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rsync::log::EventReader;
    use std::io::Cursor;

    fn classify(text: &str) -> Classification {
        let mut evidence = Evidence::new();
        for event in EventReader::new(Cursor::new(text.as_bytes()), None) {
            evidence.observe(&event.unwrap());
        }
        evidence.classify()
    }

    const SUM: &str = "900150983cd24fb0d6963f7d28e17f72";

    #[test]
    fn incremental_is_proved_by_each_of_its_signs() {
        let blank = " ".repeat(32);
        for (text, line) in [
            (format!("deleting b\n./ {blank}\n"), 1),
            (format!("./ {blank}\nd/e {SUM}\n"), 2),
            (format!(".d..t...... ./ {blank}\n"), 1),
            (
                "sending incremental file list\na is uptodate\n".to_string(),
                2,
            ),
        ] {
            let c = classify(&text);
            assert_eq!(
                (c.kind, c.line),
                (LogKind::Incremental, Some(line)),
                "{text}"
            );
        }
    }

    #[test]
    fn full_is_proved_only_by_an_empty_destination() {
        let blank = " ".repeat(32);
        let c = classify(&format!("cd+++++++++ ./ {blank}\n>f+++++++++ a {SUM}\n"));
        assert_eq!(c.kind, LogKind::Full);
        let c = classify("sending incremental file list\ncreated directory dst\n./\na\n");
        assert_eq!((c.kind, c.line), (LogKind::Full, Some(2)));
        let c = classify(&format!("./ {blank}\na {SUM}\nd/ {blank}\nd/e {SUM}\n"));
        assert_eq!(c.kind, LogKind::Unknown);
        assert!(c.reason.contains("consistent with a full listing"), "{c:?}");
    }

    #[test]
    fn a_parent_listed_further_up_still_counts() {
        let blank = " ".repeat(32);
        let text = format!("./ {blank}\nd/ {blank}\nd/a {SUM}\nd/s/ {blank}\nd/s/b {SUM}\nd/t {SUM}\ne/ {blank}\ne/x {SUM}\n");
        // d/t after d/s/b is out of order: rsync lists a directory's files first.
        let mut evidence = Evidence::new();
        let events: Vec<_> = EventReader::new(Cursor::new(text.as_bytes()), None).collect();
        assert!(events[6].is_err(), "{:?}", events[6]);
        for event in events.into_iter().flatten() {
            evidence.observe(&event);
        }
        assert_eq!(evidence.classify().kind, LogKind::Unknown);
    }
}
