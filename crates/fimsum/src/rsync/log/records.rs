//! Records from a full listing: the entry lines of a log read as a scan's records, for
//! `diff` and `import`, which compare or store a whole tree and so refuse what shows the
//! log is not one (a `deleting` line, a second run, an error of rsync's).

use std::io::{BufRead, Seek};

use super::events::{EventReader, LogEntry, LogEvent};
use super::LogError;
use crate::hash::Algorithm;
use crate::record::{Content, Kind, Record};

/// Reads the entry lines of a full listing back into records (name, kind as far as the text
/// tells, checksum), in any form whose entries carry `%C` (`%n %C`, `%i %n %C`,
/// `%n%L %C`, with `-v` chatter or a `--log-file` prefix).
///
/// The checksum width tells the algorithm only up to a family (32 hex digits are md5, md4
/// or xxh128), so the caller names the algorithm or takes [`LogReader::width`] as a hint.
///
/// Memory stays at one line, however the log is made: see [`EventReader`].
pub struct LogReader<R> {
    events: EventReader<R>,
    runs: u64,
    done: bool,
}

impl<R: BufRead + Seek> LogReader<R> {
    /// A reader of `input`. `algorithm`, if given, fixes the `%C` width instead of reading it from
    /// the log.
    pub fn new(input: R, algorithm: Option<Algorithm>) -> LogReader<R> {
        LogReader {
            // The callers check the order with ensure_ordered, naming the file.
            events: EventReader::new(input, algorithm).unordered(),
            runs: 0,
            done: false,
        }
    }

    /// The `%C` width, once known (from the algorithm given, or the first line showing it).
    pub fn width(&mut self) -> Result<Option<usize>, LogError> {
        self.events.width()
    }

    fn fail(&mut self, line: u64, reason: impl Into<String>) -> Option<Result<Record, LogError>> {
        self.done = true;
        Some(Err(LogError {
            line,
            reason: reason.into(),
        }))
    }
}

/// The record a full listing's entry stands for.
pub(crate) fn entry_record(entry: LogEntry) -> Record {
    let kind = entry.kind.unwrap_or(Kind::Special);
    let content = match entry.checksum {
        Some(d) => Content::Digest(d),
        None if kind == Kind::File => Content::NotHashed,
        None => Content::NotAFile,
    };
    Record {
        name: entry.name,
        kind,
        meta: None,
        link_target: entry.link_target,
        content,
        extra: Vec::new(),
        attrs: None,
        snapshot: None,
    }
}

impl<R: BufRead + Seek> Iterator for LogReader<R> {
    type Item = Result<Record, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.events.width() {
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
            Ok(None) => {
                // The first line that is no chatter is where a width was wanted.
                let at = loop {
                    match self.events.next()? {
                        Ok(event) if matches!(event.event, LogEvent::RunStart(_)) => {}
                        Ok(event) => break event.line,
                        Err(e) => break e.line,
                    }
                };
                return self.fail(
                    at,
                    "no line shows the checksum width (no checksum, no directory): \
                     give --checksum-choice",
                );
            }
            Ok(Some(_)) => {}
        }
        loop {
            let event = match self.events.next()? {
                Ok(event) => event,
                Err(e) => return Some(Err(e)),
            };
            let line = event.line;
            match event.event {
                LogEvent::Entry(entry) => return Some(Ok(entry_record(entry))),
                LogEvent::RunStart(_) => {
                    self.runs += 1;
                    if self.runs > 1 {
                        return self.fail(
                            line,
                            "a second run begins here: a log of several runs is no listing \
                             of one tree",
                        );
                    }
                }
                LogEvent::Deleted { .. } | LogEvent::Uptodate { .. } => {
                    return self.fail(
                        line,
                        "the log of a run that updated an earlier copy (incremental), not a \
                         full listing",
                    );
                }
                LogEvent::Message { text } => {
                    return self.fail(
                        line,
                        format!(
                            "rsync reported a problem, so the listing may be incomplete: {}",
                            String::from_utf8_lossy(&text)
                        ),
                    );
                }
                LogEvent::CreatedDestination { .. } => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rsync::escape::Charset;
    use crate::rsync::log::format_line;
    use std::io::Cursor;

    fn rec(name: &[u8], kind: Kind, content: Content) -> Record {
        Record {
            name: name.to_vec(),
            kind,
            meta: None,
            link_target: None,
            content,
            extra: Vec::new(),
            attrs: None,
            snapshot: None,
        }
    }

    #[test]
    fn lines_round_trip_through_the_reader() {
        let algo = Algorithm::Md5;
        let records = vec![
            rec(b".", Kind::Dir, Content::NotAFile),
            rec(b"\\#123", Kind::File, Content::Digest(algo.digest(b"y"))),
            rec(b"new\nline", Kind::File, Content::Digest(algo.digest(b"x"))),
            rec(b"sp ace ", Kind::Special, Content::NotAFile),
            rec(b"d\xff", Kind::Dir, Content::NotAFile),
        ];
        let mut text = Vec::new();
        for r in &records {
            assert!(format_line(r, algo, Charset::Utf8, &mut text));
        }
        let back: Vec<Record> = LogReader::new(Cursor::new(&text[..]), None)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back, records);
    }

    #[test]
    fn width_is_found_past_ambiguous_lines() {
        let text = b"lnk  " as &[u8];
        let mut all = text.to_vec();
        all.extend_from_slice(&[b' '; 32]);
        all.extend_from_slice(b"\nz 900150983cd24fb0d6963f7d28e17f72\n");
        let back: Vec<Record> = LogReader::new(Cursor::new(&all[..]), None)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back[0].name, b"lnk ");
        assert_eq!(back[0].kind, Kind::Special);
        assert_eq!(back[1].kind, Kind::File);
    }

    /// A symlink named eight spaces inside `a/`, in an md5 log, ends in `/` and 41 spaces like
    /// a sha1 directory line: the checksum line after it settles the width.
    #[test]
    fn an_all_space_name_does_not_fool_the_width() {
        let mut text = b"a/        ".to_vec();
        text.extend_from_slice(&[b' '; 33]);
        text.extend_from_slice(b"\na/f 900150983cd24fb0d6963f7d28e17f72\n");
        let back: Vec<Record> = LogReader::new(Cursor::new(&text[..]), None)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(back[0].name, b"a/        ");
        assert_eq!(back[0].kind, Kind::Special);
        assert_eq!(back[1].kind, Kind::File);
    }

    #[test]
    fn a_full_listing_in_any_form_with_checksums_reads_as_records() {
        let sum = "900150983cd24fb0d6963f7d28e17f72";
        let blank = " ".repeat(32);
        let text = format!(
            "2026/01/01 00:00:00 [7] building file list\n\
             2026/01/01 00:00:00 [7] cd+++++++++ ./ {blank}\n\
             2026/01/01 00:00:00 [7] cL+++++++++ l -> a {blank}\n\
             2026/01/01 00:00:00 [7] >f+++++++++ z {sum}\n\
             2026/01/01 00:00:00 [7] sent 1 bytes  received 2 bytes  total size 3\n"
        );
        let back: Vec<Record> = LogReader::new(Cursor::new(text.as_bytes()), None)
            .collect::<Result<_, _>>()
            .unwrap();
        let kinds: Vec<_> = back.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, [Kind::Dir, Kind::Symlink, Kind::File]);
        assert_eq!(back[1].link_target.as_deref(), Some(&b"a"[..]));
    }

    #[test]
    fn what_is_no_full_listing_is_refused() {
        let sum = "900150983cd24fb0d6963f7d28e17f72";
        for (text, line, says) in [
            (format!("deleting b\na {sum}\n"), 1, "incremental"),
            (
                format!("sending incremental file list\na {sum}\n\nsending incremental file list\na {sum}\n"),
                4,
                "a second run",
            ),
            (
                format!("a {sum}\nrsync error: some files/attrs were not transferred (code 23)\n"),
                2,
                "may be incomplete",
            ),
        ] {
            let got: Vec<_> = LogReader::new(Cursor::new(text.as_bytes()), None).collect();
            let err = got.iter().find_map(|r| r.as_ref().err()).expect("an error");
            assert_eq!(err.line, line, "{text}");
            assert!(err.reason.contains(says), "{err:?}");
        }
    }

    #[test]
    fn unreadable_files_print_nothing() {
        let r = rec(b"f", Kind::File, Content::Unreadable("denied".into()));
        let mut out = Vec::new();
        assert!(!format_line(&r, Algorithm::Md5, Charset::Utf8, &mut out));
        assert!(out.is_empty());
    }

    #[test]
    fn bad_lines_name_their_number() {
        let text = b"./                                 \nno checksum here\n";
        let got: Vec<_> = LogReader::new(Cursor::new(&text[..]), None).collect();
        assert!(got[0].is_ok());
        assert_eq!(got[1].as_ref().unwrap_err().line, 2);
        let truncated = b"f 900150983cd24fb0d6963f7d28e17f72";
        let got: Vec<_> = LogReader::new(Cursor::new(&truncated[..]), None).collect();
        assert!(got[0].is_err());
    }

    #[test]
    fn lines_before_the_width_shows_are_read_again_not_held() {
        // Symlink lines (blank `%C`, no `/`) show no width; the checksum line at the end does.
        let mut text = Vec::new();
        let blank = [b' '; 32];
        for i in 0..10_000 {
            text.extend_from_slice(format!("l{i:05} ").as_bytes());
            text.extend_from_slice(&blank);
            text.push(b'\n');
        }
        text.extend_from_slice(b"z 900150983cd24fb0d6963f7d28e17f72\nbad\n");
        let mut reader = LogReader::new(Cursor::new(&text[..]), None);
        assert_eq!(reader.width(), Ok(Some(32)));
        let got: Vec<_> = reader.collect();
        assert_eq!(got.len(), 10_002);
        let first = got[0].as_ref().unwrap();
        assert_eq!(
            (&first.name[..], first.kind),
            (&b"l00000"[..], Kind::Special)
        );
        assert_eq!(got[10_000].as_ref().unwrap().kind, Kind::File);
        assert_eq!(got[10_001].as_ref().unwrap_err().line, 10_002);
    }

    #[test]
    fn a_log_that_never_shows_its_width_says_to_give_the_algorithm() {
        let mut text = b"lnk ".to_vec();
        text.extend_from_slice(&[b' '; 32]);
        text.push(b'\n');
        let mut reader = LogReader::new(Cursor::new(&text[..]), None);
        assert_eq!(reader.width(), Ok(None));
        let got: Vec<_> = reader.collect();
        let err = got[0].as_ref().unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.reason.contains("--checksum-choice"), "{err:?}");
    }
}
