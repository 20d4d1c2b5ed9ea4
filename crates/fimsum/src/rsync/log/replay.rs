//! The state after a night: the records of the state before (a baseline, in rsync order)
//! with one incremental run's events applied, in rsync order.
//!
//! - An entry the night lists is added, or replaces the record of that name: its content
//!   from the log's checksum; what the log does not carry (metadata, a symlink's target, a
//!   file's content where the log has no `%C` and the itemize code shows it unchanged)
//!   kept from the base record when it is of the same type. Such a record is marked
//!   [`Source::Night`] with `meta_from_base`: its metadata was not verified since the base.
//! - A file the night lists without a checksum whose content may have changed gets
//!   [`Content::Unreadable`] with the reason: nothing known of it can be trusted. An entry
//!   whose type the log does not show (a name alone) takes the base record's type, or is
//!   taken to be a file.
//! - `deleting X` removes X; rsync lists each deleted entry, a directory's contents before
//!   the directory. An entry below a deleted directory (or below a directory that became a
//!   file or a symlink) that the night did not list is removed as well, with a note.
//! - A deletion of a name the base does not hold is a note, not an error: rsync deletes
//!   what the destination holds, which may be more than the base knew (files put there by
//!   hand, a base older than the previous night).
//! - Everything else is kept unchanged ([`Source::Base`]).
//!
//! The base is streamed; the night is held in memory (it lists what changed, not the
//! tree), since its `deleting` lines come in no fixed place.

use std::collections::{HashMap, HashSet};

use super::events::{LogEntry, LogEvent, LogLine};
use crate::error::Result;
use crate::record::{Content, Kind, Record};
use crate::rsync::order::cmp_entries;

/// Where a replayed record comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Unchanged from the base.
    Base,
    /// Listed by the night, at this line. `meta_from_base`: the metadata (and what else
    /// the log does not carry) is the base record's, not verified since.
    Night {
        /// The night's line that lists the entry.
        line: u64,
        /// The metadata is the base record's.
        meta_from_base: bool,
    },
}

/// One record of the state after the night.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// The record after the night.
    pub record: Record,
    /// Where it comes from.
    pub source: Source,
}

/// A note on the night: something to tell the user that does not stop the replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub line: u64,
    pub text: String,
}

/// The state after the night, as an iterator over [`Replayed`] records in rsync order;
/// [`Replay::notes`] holds what there is to say once it is drained.
pub struct Replay<B: Iterator> {
    base: std::iter::Peekable<B>,
    entries: std::iter::Peekable<std::vec::IntoIter<(u64, LogEntry)>>,
    /// The names the night lists, with their kinds (a base record of such a name, of any
    /// type, is replaced).
    listed: HashSet<Vec<u8>>,
    /// Base records replaced by an entry of the same name and type, awaiting it.
    replaced: HashMap<Vec<u8>, Record>,
    /// Deleted names, and whether each was found in the base.
    deleted: HashMap<Vec<u8>, (u64, bool)>,
    /// Directories whose contents are gone: deleted, or replaced by a non-directory.
    gone_dirs: HashSet<Vec<u8>>,
    notes: Vec<Note>,
    finished: bool,
}

/// Apply one run's events (`night`, from [`super::EventReader`], errors already handled)
/// to `base`. Fails if the night holds more than one run: replay them one at a time.
pub fn replay<B>(base: B, night: impl IntoIterator<Item = LogLine>) -> Result<Replay<B>>
where
    B: Iterator<Item = Result<Record>>,
{
    let mut entries = Vec::new();
    let mut deleted = HashMap::new();
    let mut notes = Vec::new();
    let mut runs = 0;
    for event in night {
        let line = event.line;
        match event.event {
            LogEvent::RunStart(_) => {
                runs += 1;
                if runs > 1 {
                    return Err(crate::error::Error::Usage(format!(
                        "line {line}: a second run begins here: replay one run at a time"
                    )));
                }
            }
            LogEvent::Entry(entry) => entries.push((line, entry)),
            LogEvent::Deleted { name, .. } => {
                deleted.insert(name, (line, false));
            }
            LogEvent::Uptodate { .. } => {}
            // A full listing replayed onto nothing: the classification speaks of it.
            LogEvent::CreatedDestination { .. } => {}
            LogEvent::Message { text } => notes.push(Note {
                line,
                text: format!(
                    "rsync reported: {} (the night may have missed entries)",
                    String::from_utf8_lossy(&text)
                ),
            }),
        }
    }
    let listed = entries.iter().map(|(_, e)| e.name.clone()).collect();
    Ok(Replay {
        base: base.peekable(),
        entries: entries.into_iter().peekable(),
        listed,
        replaced: HashMap::new(),
        deleted,
        gone_dirs: HashSet::new(),
        notes,
        finished: false,
    })
}

impl<B: Iterator> Replay<B> {
    /// What there is to say of the night; complete once the iterator is drained.
    pub fn notes(&self) -> &[Note] {
        &self.notes
    }
}

impl<B: Iterator<Item = Result<Record>>> Replay<B> {
    /// Whether a base record is gone with a directory above it.
    fn under_gone_dir(&self, name: &[u8]) -> bool {
        name.iter()
            .enumerate()
            .filter(|(_, &c)| c == b'/')
            .any(|(i, _)| self.gone_dirs.contains(&name[..i]))
    }

    /// Take one base record: kept, or dropped (deleted, replaced, or gone with its
    /// directory). Returns it if kept.
    fn take_base(&mut self, record: Record) -> Option<Replayed> {
        let name = record.name.clone();
        if let Some((_, found)) = self.deleted.get_mut(&name) {
            *found = true;
            if record.is_dir() {
                self.gone_dirs.insert(name.clone());
            }
            if !self.listed.contains(&name) {
                return None;
            }
        }
        if self.under_gone_dir(&name) {
            if !self.deleted.contains_key(&name) && !self.listed.contains(&name) {
                self.notes.push(Note {
                    line: 0,
                    text: format!(
                        "{} is removed with its directory, though the night did not list it",
                        String::from_utf8_lossy(&name)
                    ),
                });
            }
            if record.is_dir() {
                self.gone_dirs.insert(name);
            }
            return None;
        }
        if self.listed.contains(&name) {
            if record.is_dir() {
                // Its contents stay only if the entry replacing it is a directory too, which
                // comes at the same place and is looked at then.
                self.gone_dirs.insert(name.clone());
            }
            self.replaced.insert(name, record);
            return None;
        }
        Some(Replayed {
            record,
            source: Source::Base,
        })
    }

    fn take_entry(&mut self, line: u64, entry: LogEntry) -> Replayed {
        let base = self.replaced.remove(&entry.name);
        let kind = entry
            .kind
            .or_else(|| base.as_ref().map(|b| b.kind).filter(|&k| k != Kind::Dir))
            .unwrap_or(Kind::File);
        if kind == Kind::Dir {
            // A directory that stays a directory keeps its contents.
            self.gone_dirs.remove(&entry.name);
        }
        let same = base.as_ref().filter(|b| b.kind.same_type(kind));
        let code = entry.itemize;
        // The itemize code says the content (or a symlink's target) is unchanged.
        let unchanged = code.is_some_and(|c| {
            !b"<>".contains(&c[0]) && !c[2..4].iter().any(|x| b"cs+?".contains(x))
        });
        let content = match (&entry.checksum, kind) {
            (Some(d), _) => Content::Digest(*d),
            (None, Kind::File) => match same {
                Some(b) if unchanged && b.content.digest().is_some() => b.content.clone(),
                _ => Content::Unreadable(
                    "listed by an rsync log that shows no checksum: its content is not known"
                        .into(),
                ),
            },
            (None, _) => Content::NotAFile,
        };
        let link_target = entry.link_target.clone().or_else(|| {
            same.filter(|_| unchanged)
                .and_then(|b| b.link_target.clone())
        });
        let keeps_content = matches!((&content, same), (Content::Digest(d), Some(b)) if b.content.digest() == Some(d));
        let record = Record {
            name: entry.name,
            kind,
            meta: same.and_then(|b| b.meta),
            link_target,
            content,
            extra: match same {
                Some(b) if keeps_content => b.extra.clone(),
                _ => Vec::new(),
            },
            // A log says nothing of security attributes: a listed entry's are not known.
            attrs: None,
            snapshot: None,
        };
        Replayed {
            source: Source::Night {
                line,
                meta_from_base: record.meta.is_some(),
            },
            record,
        }
    }

    fn finish(&mut self) {
        self.finished = true;
        let mut missing: Vec<_> = self
            .deleted
            .iter()
            .filter(|(_, (_, found))| !found)
            .map(|(name, (line, _))| (*line, name.clone()))
            .collect();
        missing.sort();
        for (line, name) in missing {
            self.notes.push(Note {
                line,
                text: format!(
                    "the night deletes {}, which the base does not hold",
                    String::from_utf8_lossy(&name)
                ),
            });
        }
    }
}

impl<B: Iterator<Item = Result<Record>>> Iterator for Replay<B> {
    type Item = Result<Replayed>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let order = match (self.base.peek(), self.entries.peek()) {
                (Some(Err(_)), _) => {
                    return self.base.next().map(|r| {
                        r.map(|record| Replayed {
                            record,
                            source: Source::Base,
                        })
                    });
                }
                (Some(Ok(b)), Some((_, e))) => {
                    cmp_entries(&b.name, b.is_dir(), &e.name, e.is_dir())
                }
                (Some(Ok(_)), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => {
                    if !self.finished {
                        self.finish();
                    }
                    return None;
                }
            };
            if order.is_gt() {
                let (line, entry) = self.entries.next()?;
                return Some(Ok(self.take_entry(line, entry)));
            }
            // Equal: the base record goes first, to be replaced by the entry next.
            let Some(Ok(record)) = self.base.next() else {
                continue;
            };
            if let Some(kept) = self.take_base(record) {
                return Some(Ok(kept));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Algorithm;
    use crate::record::Meta;
    use crate::rsync::log::EventReader;
    use std::io::Cursor;

    fn rec(name: &str, kind: Kind, body: Option<&[u8]>) -> Record {
        Record {
            name: name.as_bytes().to_vec(),
            kind,
            meta: Some(Meta {
                mode: 0o644,
                ..Meta::default()
            }),
            link_target: None,
            content: match body {
                Some(b) => Content::Digest(Algorithm::Md5.digest(b)),
                None => Content::NotAFile,
            },
            extra: Vec::new(),
            attrs: None,
            snapshot: None,
        }
    }

    fn events(text: &str) -> Vec<LogLine> {
        EventReader::new(Cursor::new(text.as_bytes().to_vec()), None)
            .collect::<std::result::Result<_, _>>()
            .unwrap()
    }

    fn names(out: &[Replayed]) -> Vec<String> {
        out.iter()
            .map(|r| String::from_utf8_lossy(&r.record.display_name()).into_owned())
            .collect()
    }

    fn base() -> Vec<Record> {
        vec![
            rec(".", Kind::Dir, None),
            rec("a", Kind::File, Some(b"a")),
            rec("b", Kind::File, Some(b"b")),
            rec("d", Kind::Dir, None),
            rec("d/x", Kind::File, Some(b"x")),
            rec("d/s", Kind::Dir, None),
            rec("d/s/y", Kind::File, Some(b"y")),
            rec("e", Kind::Dir, None),
            rec("e/z", Kind::File, Some(b"z")),
        ]
    }

    fn run(text: &str) -> (Vec<Replayed>, Vec<Note>) {
        let mut replay = replay(base().into_iter().map(Ok), events(text)).unwrap();
        let out: Vec<Replayed> = replay.by_ref().collect::<Result<_>>().unwrap();
        (out, replay.notes().to_vec())
    }

    #[test]
    fn entries_replace_and_add_deletions_remove_the_rest_is_kept() {
        let new_a = Algorithm::Md5.digest(b"A").to_hex();
        let c = Algorithm::Md5.digest(b"c").to_hex();
        let blank = " ".repeat(32);
        let text = format!(
            "deleting d/s/y\ndeleting d/s/\ndeleting b\n./ {blank}\na {new_a}\nc {c}\nd/ {blank}\n"
        );
        let (out, notes) = run(&text);
        assert_eq!(names(&out), ["./", "a", "c", "d/", "d/x", "e/", "e/z"]);
        assert!(notes.is_empty(), "{notes:?}");
        let a = &out[1];
        assert_eq!(
            a.record.content,
            Content::Digest(Algorithm::Md5.digest(b"A"))
        );
        assert_eq!(
            a.source,
            Source::Night {
                line: 5,
                meta_from_base: true
            }
        );
        assert_eq!(
            out[2].source,
            Source::Night {
                line: 6,
                meta_from_base: false
            }
        );
        assert_eq!(out[4].source, Source::Base);
    }

    #[test]
    fn a_deleted_directory_takes_what_the_night_did_not_list_with_a_note() {
        let (out, notes) = run("deleting d/\n");
        assert_eq!(names(&out), ["./", "a", "b", "e/", "e/z"]);
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].text.contains("d/x is removed with its directory"));
    }

    #[test]
    fn a_deletion_of_what_the_base_lacks_is_a_note() {
        let (out, notes) = run("deleting nothing-here\n");
        assert_eq!(out.len(), base().len());
        assert_eq!(notes.len(), 1);
        assert!(notes[0].text.contains("does not hold"), "{notes:?}");
        assert_eq!(notes[0].line, 1);
    }

    #[test]
    fn a_directory_that_becomes_a_file_loses_its_contents() {
        let sum = Algorithm::Md5.digest(b"now a file").to_hex();
        let (out, _) = run(&format!(
            "deleting d/s/y\ndeleting d/s/\ndeleting d/x\nd {sum}\n"
        ));
        assert_eq!(names(&out), ["./", "a", "b", "d", "e/", "e/z"]);
        assert_eq!(out[3].record.kind, Kind::File);
        assert_eq!(
            out[3].record.meta, None,
            "a directory's metadata is no file's"
        );
    }

    #[test]
    fn without_a_checksum_content_is_kept_only_when_the_code_says_unchanged() {
        let (out, _) = run("sending incremental file list\n.f..t...... a\n>fcst...... b\n");
        assert_eq!(out[1].record.content, base()[1].content);
        assert!(matches!(out[2].record.content, Content::Unreadable(_)));
        let (out, _) = run("sending incremental file list\nb\n");
        assert!(matches!(out[2].record.content, Content::Unreadable(_)));
        assert_eq!(out[2].record.kind, Kind::File);
    }

    #[test]
    fn two_runs_are_refused() {
        let night =
            events("sending incremental file list\na\n\nsending incremental file list\nb\n");
        assert!(replay(base().into_iter().map(Ok), night).is_err());
    }
}
