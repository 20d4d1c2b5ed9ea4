//! The event reader: every line of a log, of any form rsync writes, read by its shape into
//! a typed event, with its line number; rsync's chatter skipped; what cannot be read
//! refused with the line and the reason.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::io::{BufRead, Read, Seek, SeekFrom};

use super::format::{LogFormat, Matched};
use super::shape::{self, Shape, Shown, Sum};
use super::{LogError, MAX_LINE};
use crate::hash::{Algorithm, Digest};
use crate::record::{check_name, Kind};
use crate::rsync::escape::unescape;
use crate::rsync::order::cmp_entries;

/// One entry line, as far as its text tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The name as rsync's file list has it, unescaped, without a directory's trailing `/`;
    /// the root of a `src/` transfer is `.`.
    pub name: Vec<u8>,
    /// `Dir` for a trailing `/`, `Symlink` for ` -> ` (or an itemized `L`), `File` for a
    /// checksum (or an itemized `f`), `Special` for a blank `%C` on anything else (or an
    /// itemized `D`/`S`); `None` where the line does not say (a name alone).
    pub kind: Option<Kind>,
    /// The `%C` checksum; `None` when blank or absent.
    pub checksum: Option<Digest>,
    /// The 11-character `%i` code, if the format has `%i`.
    pub itemize: Option<[u8; shape::ITEMIZE_LEN]>,
    /// The target `%L` shows (` -> TARGET`), unescaped.
    pub link_target: Option<Vec<u8>>,
}

impl LogEntry {
    /// Whether the entry is a directory, as far as the line tells.
    pub fn is_dir(&self) -> bool {
        self.kind == Some(Kind::Dir)
    }
}

/// Why a new run begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunCause {
    /// The first line of the log that is not chatter.
    LogStart,
    /// A header line (`sending incremental file list`, `building file list`) after a run
    /// that had lines of its own.
    Header,
    /// A `--log-file` line with another pid than the line before.
    NewPid(u64),
    /// Entries after the summary that ends a run.
    AfterSummary,
    /// A `./` entry after other entries: the transfer root is always listed first.
    RootAgain,
}

/// What one line of a log says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvent {
    /// A run begins (every log's first event is one).
    RunStart(RunCause),
    /// An entry line.
    Entry(LogEntry),
    /// `deleting NAME` or `*deleting   NAME`. rsync lists each entry it deletes, a
    /// directory's contents before the directory.
    Deleted {
        /// The name, unescaped, without a trailing `/`.
        name: Vec<u8>,
        /// Whether the line named a directory.
        dir: bool,
    },
    /// `NAME is uptodate`: the entry was there already and did not change.
    Uptodate {
        /// The name, unescaped.
        name: Vec<u8>,
    },
    /// `created directory DEST`: the destination did not exist, so the run lists everything.
    CreatedDestination {
        /// The destination, unescaped.
        name: Vec<u8>,
    },
    /// A warning or error of rsync's, as written: the run may be incomplete.
    Message {
        /// The line's text.
        text: Vec<u8>,
    },
}

/// An event and the 1-based number of the line it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// 1-based line number.
    pub line: u64,
    /// What the line says.
    pub event: LogEvent,
}

/// How far past a directory line to look for a checksum line that settles the width.
const LOOKAHEAD: u64 = 256;

/// Reads a log into [`LogLine`]s. See the module [`super`] for the forms.
///
/// The `%C` width is found from the first line that shows it (reading ahead, then
/// rewinding: nothing read ahead is kept). A log that never shows one is read as one
/// without `%C`: its entry lines are names alone, accepted only when something in the log
/// shows it is rsync's (a header or summary, an itemize code, a `--log-file` prefix, a
/// `deleting` line, a `./` entry), since any line of any text file is a name.
///
/// Within a run, entries must come in rsync's file-list order, each once: the order is
/// checked against the previous entry alone, so memory stays at one line whatever the
/// input. `deleting` and `is uptodate` lines travel on another channel inside rsync and
/// fall anywhere, so their order is not checked.
pub struct EventReader<R> {
    input: R,
    width: Option<usize>,
    searched: bool,
    /// Bare names may be entries: the log shows it is rsync's.
    bare_names: bool,
    line_no: u64,
    done: bool,
    /// Events (and an error) of a line read but not yet returned.
    pending: VecDeque<Result<LogLine, LogError>>,
    run: Run,
    /// Check the order of entries (and begin a run at a `./` after other entries).
    ordered: bool,
    format: Option<LogFormat>,
}

/// What the reader keeps of the run it is in.
#[derive(Default)]
struct Run {
    started: bool,
    /// Entries, deletions or other lines of its own have been read.
    has_lines: bool,
    has_entries: bool,
    /// Its summary was read.
    ended: bool,
    pid: Option<u64>,
    in_heap_block: bool,
    /// The last entry's name and whether it is a directory, for the order check.
    last: Option<(Vec<u8>, bool)>,
}

impl<R: BufRead + Seek> EventReader<R> {
    /// `algorithm`, if given, fixes the `%C` width instead of reading it from the log.
    pub fn new(input: R, algorithm: Option<Algorithm>) -> EventReader<R> {
        EventReader {
            input,
            width: algorithm.map(Algorithm::hex_width),
            searched: false,
            bare_names: false,
            line_no: 0,
            done: false,
            pending: VecDeque::new(),
            run: Run::default(),
            ordered: true,
            format: None,
        }
    }

    /// Read entry and deletion lines by this format (the `--log-file-format` or
    /// `--out-format` the log was written with) instead of by the shapes known. The user who
    /// names the format says the lines are rsync's: names alone (`%n`) are then entries.
    pub fn with_format(mut self, format: LogFormat) -> EventReader<R> {
        self.format = Some(format);
        self.bare_names = true;
        self
    }

    /// Leave the order of entries unchecked, for a caller that checks it itself with its
    /// own message ([`crate::rsync::order::ensure_ordered`]); a `./` entry after others then
    /// begins no run either.
    pub(crate) fn unordered(mut self) -> EventReader<R> {
        self.ordered = false;
        self
    }

    /// The `%C` width, once known: the algorithm's, or the one the log shows; `None` for a
    /// log without `%C`.
    pub fn width(&mut self) -> Result<Option<usize>, LogError> {
        if !self.searched {
            self.search()?;
        }
        Ok(self.width)
    }

    fn read_line(&mut self) -> Result<Option<(u64, Vec<u8>)>, LogError> {
        if self.done {
            return Ok(None);
        }
        let mut line = Vec::new();
        self.line_no += 1;
        let n = (&mut self.input)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| {
                self.done = true;
                LogError {
                    line: self.line_no,
                    reason: e.to_string(),
                }
            })?;
        if n == 0 {
            self.done = true;
            return Ok(None);
        }
        if line.pop() != Some(b'\n') {
            // Nothing after this is read: the rest of the line is no line either.
            self.done = true;
            let reason = if n > MAX_LINE {
                format!("longer than {MAX_LINE} bytes: not a line of an rsync log")
            } else {
                "last line has no newline (truncated log?)".into()
            };
            return Err(LogError {
                line: self.line_no,
                reason,
            });
        }
        Ok(Some((self.line_no, line)))
    }

    /// Read ahead for the width (if not given) and for signs that the log is rsync's, then
    /// rewind to where reading began. A checksum shows the width for sure; a directory's
    /// blank `%C` only nearly, so after one, look a little further for a checksum.
    fn search(&mut self) -> Result<(), LogError> {
        self.searched = true;
        if self.width.is_some() {
            // Entries then need their `%C`: bare names are never taken.
            return Ok(());
        }
        let rewind_error = |e: std::io::Error| LogError {
            line: 0,
            reason: format!("cannot read the log again from its start: {e}"),
        };
        let start = self.input.stream_position().map_err(rewind_error)?;
        let start_line = self.line_no;
        let mut from_directory: Option<(usize, u64)> = None;
        loop {
            let Some((no, line)) = self.read_line()? else {
                self.width = from_directory.map(|(w, _)| w);
                break;
            };
            let stripped = shape::strip(&line);
            let mut matched = None;
            let Ok(shaped) = shape_of(self.format.as_ref(), stripped.body, &mut matched) else {
                continue;
            };
            if stripped.pid.is_some() || stripped.backintime {
                self.bare_names = true;
            }
            let rest = match shaped {
                Shape::Header
                | Shape::Summary
                | Shape::CreatedDirectory(_)
                | Shape::Uptodate(_)
                | Shape::HeapStatistics => {
                    self.bare_names = true;
                    continue;
                }
                Shape::Deleted { rest, .. } => {
                    self.bare_names = true;
                    rest
                }
                Shape::Entry { itemize, rest } => {
                    if itemize.is_some() || rest == b"./" {
                        self.bare_names = true;
                    }
                    rest
                }
                Shape::Chatter | Shape::Message(_) => continue,
            };
            match shape::width_shown_by(rest) {
                Some(Shown::Checksum(w)) => {
                    self.width = Some(w);
                    // A log with checksums never needs bare names.
                    break;
                }
                Some(Shown::Directory(w)) if from_directory.is_none() => {
                    from_directory = Some((w, no))
                }
                _ => {}
            }
            if let Some((w, at)) = from_directory {
                if no >= at + LOOKAHEAD {
                    self.width = Some(w);
                    break;
                }
            }
        }
        self.input
            .seek(SeekFrom::Start(start))
            .map_err(rewind_error)?;
        self.line_no = start_line;
        self.done = false;
        Ok(())
    }

    /// Begin a run at `line`, returning its `RunStart`.
    fn start_run(&mut self, line: u64, cause: RunCause, pid: Option<u64>) -> LogLine {
        self.run = Run {
            started: true,
            pid,
            ..Run::default()
        };
        LogLine {
            line,
            event: LogEvent::RunStart(cause),
        }
    }

    /// The events of one line into `out`: a `RunStart` first if the line begins a run.
    fn read_event(&mut self, no: u64, line: &[u8], out: &mut Vec<LogLine>) -> Result<(), LogError> {
        let err = |reason: String| LogError { line: no, reason };
        let stripped = shape::strip(line);
        if let Some(pid) = stripped.pid {
            match self.run.pid {
                Some(p) if p != pid => {
                    out.push(self.start_run(no, RunCause::NewPid(pid), Some(pid)))
                }
                Some(_) => {}
                None => self.run.pid = Some(pid),
            }
        }
        let body = stripped.body;
        if self.run.in_heap_block {
            if shape::is_heap_line(body) {
                return Ok(());
            }
            self.run.in_heap_block = false;
        }
        let mut matched = None;
        let mut shaped = shape_of(self.format.as_ref(), body, &mut matched).map_err(|()| {
            err("does not fit the log format given, nor is it a line of rsync's own".into())
        })?;
        if let (
            Shape::Deleted {
                rest,
                itemized: false,
            },
            Some(w),
        ) = (&shaped, self.width)
        {
            // `deleting %n` never carries a `%C`: with one, it is a file named `deleting …`.
            if shape::split_sum(rest, w).is_some() {
                shaped = Shape::Entry {
                    itemize: None,
                    rest: body,
                };
            }
        }
        let event = match shaped {
            Shape::Chatter => return Ok(()),
            Shape::HeapStatistics => {
                self.run.in_heap_block = true;
                return Ok(());
            }
            Shape::Header => {
                if !self.run.started || self.run.has_lines {
                    let pid = self.run.pid;
                    let cause = if self.run.started {
                        RunCause::Header
                    } else {
                        RunCause::LogStart
                    };
                    out.push(self.start_run(no, cause, pid));
                }
                return Ok(());
            }
            Shape::Summary => {
                self.run.ended = true;
                self.run.has_lines = true;
                return Ok(());
            }
            Shape::CreatedDirectory(dest) => LogEvent::CreatedDestination {
                name: unescape(dest),
            },
            Shape::Message(text) => LogEvent::Message {
                text: unescape(text),
            },
            Shape::Uptodate(name) => {
                let name = unescape(name);
                check(&name).map_err(err)?;
                LogEvent::Uptodate { name }
            }
            Shape::Deleted { rest, itemized } => {
                let mut text = rest;
                if itemized {
                    if let Some(w) = self.width {
                        if let Some((head, Sum::Blank)) = shape::split_sum(rest, w) {
                            text = head;
                        }
                    }
                }
                let mut name = unescape(text);
                let dir = name.last() == Some(&b'/');
                if dir {
                    name.pop();
                }
                check(&name).map_err(err)?;
                LogEvent::Deleted { name, dir }
            }
            Shape::Entry { itemize, rest } => match (itemize, self.entry(no, itemize, rest)) {
                // A name of an update letter and a type letter (`hd`, `cf`) before a blank
                // `%C` looks like an itemize code whose columns are blank: when it reads as
                // no entry that way, it is a name.
                (Some(code), Err(e)) if code[2..].iter().all(|&c| c == b' ') => {
                    LogEvent::Entry(self.entry(no, None, body).map_err(|_| e)?)
                }
                (_, entry) => LogEvent::Entry(entry?),
            },
        };
        if !self.run.started || (self.run.ended && !matches!(event, LogEvent::Message { .. })) {
            let pid = self.run.pid;
            let cause = if self.run.started {
                RunCause::AfterSummary
            } else {
                RunCause::LogStart
            };
            out.push(self.start_run(no, cause, pid));
        }
        if let LogEvent::Entry(entry) = &event {
            if self.ordered {
                if entry.name == b"." && entry.is_dir() && self.run.has_entries {
                    let pid = self.run.pid;
                    out.push(self.start_run(no, RunCause::RootAgain, pid));
                }
                self.check_order(no, entry)?;
            }
            self.run.has_entries = true;
        }
        self.run.has_lines = true;
        out.push(LogLine { line: no, event });
        Ok(())
    }

    fn check_order(&mut self, no: u64, entry: &LogEntry) -> Result<(), LogError> {
        let dir = entry.is_dir();
        if let Some((last, last_dir)) = &self.run.last {
            let shown = |n: &[u8]| String::from_utf8_lossy(n).into_owned();
            match cmp_entries(last, *last_dir, &entry.name, dir) {
                Ordering::Less => {}
                Ordering::Equal => {
                    return Err(LogError {
                        line: no,
                        reason: format!("{} is listed twice in one run", shown(&entry.name)),
                    })
                }
                Ordering::Greater => {
                    return Err(LogError {
                        line: no,
                        reason: format!(
                            "{} is not in rsync's order after {} (two logs joined without \
                             a header between them?)",
                            shown(&entry.name),
                            shown(last)
                        ),
                    })
                }
            }
        }
        self.run.last = Some((entry.name.clone(), dir));
        Ok(())
    }

    /// Read an entry line's text after the itemize code.
    fn entry(&self, no: u64, itemize: Option<&[u8]>, rest: &[u8]) -> Result<LogEntry, LogError> {
        let err = |reason: String| LogError { line: no, reason };
        let (text, sum) = match self.width {
            Some(w) => match shape::split_sum(rest, w) {
                Some((head, sum)) => (head, Some(sum)),
                None => {
                    if let Some(other) = shape::other_width(rest, w) {
                        return Err(err(format!(
                            "a {other}-digit checksum after {w}-digit ones: two checksum \
                             algorithms in one log"
                        )));
                    }
                    return Err(err(format!(
                        "not a line of any rsync log form (an entry would end in a \
                         {w}-character checksum)"
                    )));
                }
            },
            None => {
                if itemize.is_none() && !self.bare_names {
                    return Err(err(
                        "not a line of any rsync log form (no checksum, no itemize code, and \
                         nothing in the log shows it is rsync's)"
                            .into(),
                    ));
                }
                (rest, None)
            }
        };
        let type_char = itemize.map(|c| c[1]);
        let mut kind = match type_char {
            Some(b'f') => Some(Kind::File),
            Some(b'd') => Some(Kind::Dir),
            Some(b'L') => Some(Kind::Symlink),
            Some(_) => Some(Kind::Special),
            None => None,
        };
        let mut name_part = text;
        let mut link_target = None;
        let blank = matches!(sum, Some(Sum::Blank) | None);
        if type_char == Some(b'h') || itemize.is_some_and(|c| c[0] == b'h') {
            // A hard link's `%L` is ` => TARGET`: the target is another entry's name.
            if let Some(at) = find(name_part, b" => ") {
                name_part = &name_part[..at];
            }
        }
        if (type_char == Some(b'L') || (type_char.is_none() && blank)) && !name_part.ends_with(b"/")
        {
            if let Some(at) = find(name_part, b" -> ") {
                link_target = Some(unescape(&name_part[at + 4..]));
                name_part = &name_part[..at];
                kind = Some(Kind::Symlink);
            }
        }
        let mut name = unescape(name_part);
        // A name with a checksum is a file's, whatever it ends in (and `a/` is then refused
        // as a name).
        let hex = matches!(sum, Some(Sum::Hex(_)));
        if name.last() == Some(&b'/') && !hex && (kind.is_none() || kind == Some(Kind::Dir)) {
            name.pop();
            kind = Some(Kind::Dir);
        }
        let checksum = match sum {
            Some(Sum::Hex(hex)) => {
                if kind.is_some_and(|k| k != Kind::File) {
                    return Err(err("a checksum on an entry that is not a file".into()));
                }
                kind = Some(Kind::File);
                Some(
                    Digest::from_hex(hex)
                        .ok_or_else(|| err("checksum is not hexadecimal".into()))?,
                )
            }
            Some(Sum::Blank) => {
                if kind.is_none() {
                    kind = Some(Kind::Special);
                }
                None
            }
            None => None,
        };
        check(&name).map_err(err)?;
        let itemize = itemize.map(|c| {
            let mut code = [0u8; shape::ITEMIZE_LEN];
            code.copy_from_slice(c);
            code
        });
        Ok(LogEntry {
            name,
            kind,
            checksum,
            itemize,
            link_target,
        })
    }
}

/// The shape of a line's body: by `format` for entries and deletions when one is given.
fn shape_of<'b>(
    format: Option<&LogFormat>,
    body: &'b [u8],
    matched: &'b mut Option<Matched>,
) -> Result<Shape<'b>, ()> {
    let plain = shape::shape(body);
    let Some(format) = format else {
        return Ok(plain);
    };
    match plain {
        Shape::Deleted { .. } if !format.itemizes() => Ok(plain),
        Shape::Entry { .. } | Shape::Deleted { .. } => match format.matches(body) {
            Some(m) => Ok(matched.insert(m).shape()),
            None => Err(()),
        },
        _ => Ok(plain),
    }
}

/// As the baseline reader demands, so that `import` never writes a baseline that fimsum then
/// refuses, and no report names a path outside the tree.
fn check(name: &[u8]) -> Result<(), String> {
    check_name(name).map_err(|why| {
        format!(
            "invalid entry name {:?}: {why}",
            String::from_utf8_lossy(name)
        )
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl<R: BufRead + Seek> Iterator for EventReader<R> {
    type Item = Result<LogLine, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(event) = self.pending.pop_front() {
            return Some(event);
        }
        if let Err(e) = self.width() {
            self.done = true;
            return Some(Err(e));
        }
        loop {
            let (no, line) = match self.read_line() {
                Ok(Some(line)) => line,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            };
            let mut out = Vec::with_capacity(2);
            let result = self.read_event(no, &line, &mut out);
            // A run that began on a line then refused still began there.
            self.pending.extend(out.into_iter().map(Ok));
            if let Err(e) = result {
                self.pending.push_back(Err(e));
            }
            if let Some(first) = self.pending.pop_front() {
                return Some(first);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    const SUM: &str = "900150983cd24fb0d6963f7d28e17f72";

    fn read(text: &[u8]) -> Vec<Result<LogLine, LogError>> {
        EventReader::new(Cursor::new(text.to_vec()), None).collect()
    }

    /// The first error, which must exist.
    fn first_error(text: &[u8]) -> LogError {
        read(text)
            .into_iter()
            .find_map(Result::err)
            .unwrap_or_else(|| panic!("no error for {:?}", String::from_utf8_lossy(text)))
    }

    fn entries(text: &[u8]) -> Vec<LogEntry> {
        read(text)
            .into_iter()
            .map(|e| e.unwrap())
            .filter_map(|e| match e.event {
                LogEvent::Entry(entry) => Some(entry),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_truncated_last_line_is_refused() {
        let e = first_error(format!("a {SUM}\nb {}", &SUM[..20]).as_bytes());
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("no newline"), "{e:?}");
    }

    #[test]
    fn two_checksum_widths_are_two_algorithms() {
        let e = first_error(format!("a {SUM}\nb 0123456789abcdef\n").as_bytes());
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("two checksum algorithms"), "{e:?}");
    }

    #[test]
    fn a_name_twice_or_out_of_order_in_one_run_is_refused() {
        let e = first_error(format!("a {SUM}\na {SUM}\n").as_bytes());
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("listed twice"), "{e:?}");
        let e = first_error(format!("b {SUM}\na {SUM}\n").as_bytes());
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("not in rsync's order"), "{e:?}");
        // A directory's files come before its subdirectories.
        let blank = " ".repeat(32);
        let e = first_error(format!("d/ {blank}\nd/s/ {blank}\nd/f {SUM}\n").as_bytes());
        assert_eq!(e.line, 3);
        // The same names in a second run are fine.
        let text = format!(
            "sending incremental file list\na {SUM}\n\nsending incremental file list\na {SUM}\n"
        );
        assert!(read(text.as_bytes()).iter().all(Result::is_ok));
    }

    #[test]
    fn names_that_leave_the_tree_are_refused() {
        for bad in [
            format!("../x {SUM}"),
            format!("d/../../etc/shadow {SUM}"),
            format!("/etc/passwd {SUM}"),
            format!("a\\#000b {SUM}"),
            "deleting ../x".to_string(),
            "*deleting   /etc/passwd".to_string(),
            format!(">f+++++++++ a/./b {SUM}"),
        ] {
            let e = first_error(format!("{bad}\n").as_bytes());
            assert_eq!(e.line, 1, "{bad}");
            assert!(e.reason.contains("invalid entry name"), "{bad}: {e:?}");
        }
        // NUL as a raw byte, too.
        let e = first_error(format!("a\0b {SUM}\n").as_bytes());
        assert!(e.reason.contains("NUL"), "{e:?}");
    }

    #[test]
    fn text_that_is_no_log_is_refused_at_its_first_line() {
        for text in [
            &b"hello world\nthis is not a log\n"[..],
            b"root:x:0:0:root:/root:/bin/bash\n",
            b"{\"json\": true}\n",
        ] {
            let e = first_error(text);
            assert_eq!(e.line, 1);
            assert!(
                e.reason.contains("not a line of any rsync log form"),
                "{e:?}"
            );
        }
        // With checksums found elsewhere, a line that fits no form is named.
        let e = first_error(format!("a {SUM}\nhello world\n").as_bytes());
        assert_eq!(e.line, 2);
        assert!(
            e.reason.contains("not a line of any rsync log form"),
            "{e:?}"
        );
    }

    #[test]
    fn bare_names_are_read_once_the_log_shows_it_is_rsync_s() {
        let got = entries(b"sending incremental file list\n./\na\nd/\nd/l -> ../a\n\nsent 1 bytes  received 2 bytes  3.00 bytes/sec\ntotal size is 4  speedup is 0.00\n");
        let kinds: Vec<_> = got.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [Some(Kind::Dir), None, Some(Kind::Dir), Some(Kind::Symlink)]
        );
        assert_eq!(got[3].link_target.as_deref(), Some(&b"../a"[..]));
        // Only the footer shows it: read ahead, then from the start.
        assert_eq!(
            entries(b"a\nb\ntotal size is 4  speedup is 0.00\n").len(),
            2
        );
    }

    #[test]
    fn an_itemized_symlink_with_a_checksum_column_and_a_hard_link() {
        let blank = " ".repeat(32);
        let got = entries(
            format!(
                ">f+++++++++ a {SUM}\ncL+++++++++ l -> t a {blank}\nhf+++++++++ m => a {blank}\n"
            )
            .as_bytes(),
        );
        assert_eq!(got[1].name, b"l");
        assert_eq!(got[1].link_target.as_deref(), Some(&b"t a"[..]));
        assert_eq!(got[2].name, b"m");
        assert_eq!(got[2].kind, Some(Kind::File));
    }

    #[test]
    fn a_file_named_like_a_deletion_is_an_entry_when_it_has_its_checksum() {
        let got = read(format!("deleting a\ndeleting b {SUM}\n").as_bytes());
        let events: Vec<_> = got.into_iter().map(|e| e.unwrap().event).collect();
        assert_eq!(
            events[1],
            LogEvent::Deleted {
                name: b"a".to_vec(),
                dir: false
            }
        );
        assert!(matches!(&events[2], LogEvent::Entry(e) if e.name == b"deleting b"));
    }

    #[test]
    fn log_file_runs_begin_with_each_new_pid() {
        let text = "2026/01/01 00:00:00 [7] building file list\n\
                    2026/01/01 00:00:00 [7] >f+++++++++ a\n\
                    2026/01/02 00:00:00 [9] >f+++++++++ a\n";
        let got: Vec<_> = read(text.as_bytes())
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| matches!(e.event, LogEvent::RunStart(_)))
            .map(|e| (e.line, e.event))
            .collect();
        assert_eq!(
            got,
            [
                (1, LogEvent::RunStart(RunCause::LogStart)),
                (3, LogEvent::RunStart(RunCause::NewPid(9)))
            ]
        );
    }

    #[test]
    fn rsync_s_errors_are_events_and_heap_statistics_chatter() {
        let text = b"sending incremental file list\na\nrsync[5] (sender) heap statistics:\n  arena:         413696   (bytes from sbrk)\n  keepcost:       85536   (bytes in releasable chunk)\n\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1338) [sender=3.5.0]\n";
        let got: Vec<_> = read(text).into_iter().map(|e| e.unwrap().event).collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(
            matches!(&got[2], LogEvent::Message { text } if text.starts_with(b"rsync error: "))
        );
    }

    /// `hd` is an update letter and a type letter: before a blank `%C` it looks like an
    /// itemize code whose columns are blank, and is a name.
    #[test]
    fn a_name_like_an_itemize_code_of_blank_columns_is_a_name() {
        let mut text = b"hd".to_vec();
        text.extend_from_slice(&[b' '; 33]);
        text.push(b'\n');
        let got: Vec<LogLine> = EventReader::new(Cursor::new(text), Some(Algorithm::Md5))
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            got.iter().any(|l| matches!(
                &l.event,
                LogEvent::Entry(e) if e.name == b"hd" && e.itemize.is_none()
            )),
            "{got:?}"
        );
    }

    /// Endless `a`s without a newline, counting what is read; seekable as a file is.
    struct Endless {
        read: u64,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            buf.fill(b'a');
            self.read += buf.len() as u64;
            Ok(buf.len())
        }
    }

    impl Seek for Endless {
        fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
            match pos {
                SeekFrom::Start(n) => self.read = n,
                SeekFrom::Current(0) => {}
                _ => return Err(std::io::Error::other("unsupported")),
            }
            Ok(self.read)
        }
    }

    /// A gigabyte line (endless, in fact) is refused after `MAX_LINE` bytes, having read
    /// little more than that.
    #[test]
    fn a_line_without_end_stays_bounded() {
        for given in [None, Some(Algorithm::Md5)] {
            let mut input = std::io::BufReader::with_capacity(1 << 12, Endless { read: 0 });
            let got: Vec<_> = EventReader::new(&mut input, given).collect();
            assert_eq!(got.len(), 1, "the reader ends after the error");
            let err = got[0].as_ref().unwrap_err();
            assert_eq!(err.line, 1);
            assert!(err.reason.contains("longer than 65536 bytes"), "{err:?}");
            let read = input.get_ref().read;
            assert!(
                read <= (MAX_LINE + 2 * (1 << 12)) as u64,
                "{read} bytes read"
            );
        }
    }
}
