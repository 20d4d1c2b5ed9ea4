//! The `%n %C` text form, both ways: writing the lines rsync prints, and reading them back
//! from an rsync log (`--out-format="%n %C"`) or from fimsum's own output.

use std::io::{BufRead, Read, Seek, SeekFrom};

use crate::hash::{Algorithm, Digest};
use crate::record::{check_name, Content, Kind, Record};
use crate::rsync::escape::{escape_line, unescape, Charset};

/// Append the `%n %C` line of `record`, newline included, to `out`. Returns false (and
/// writes nothing) for a regular file without a checksum: rsync prints no line for a file
/// it could not read.
pub fn format_line(
    record: &Record,
    algorithm: Algorithm,
    charset: Charset,
    out: &mut Vec<u8>,
) -> bool {
    let mut line = Vec::with_capacity(record.name.len() + 42);
    if !push_name_and_checksum(record, algorithm, &mut line) {
        return false;
    }
    escape_line(&line, charset, out);
    out.push(b'\n');
    true
}

/// Append `%n %C` of `record` unescaped (rsync escapes whole lines, so a format with more
/// in front, such as `%i %n %C`, escapes after adding it). Returns false, having appended
/// nothing, for a regular file without a checksum.
pub fn push_name_and_checksum(record: &Record, algorithm: Algorithm, line: &mut Vec<u8>) -> bool {
    let digest = record.content.digest();
    if (digest.is_none() && record.kind == Kind::File) || record.is_unseen() {
        return false;
    }
    line.extend_from_slice(&record.display_name());
    match digest {
        Some(d) => {
            line.push(b' ');
            line.extend_from_slice(d.to_hex().as_bytes());
        }
        None => push_blank_checksum(algorithm, line),
    }
    true
}

/// Append ` ` and the blank `%C` rsync prints where there is no checksum to show.
pub fn push_blank_checksum(algorithm: Algorithm, line: &mut Vec<u8>) {
    line.push(b' ');
    line.resize(line.len() + algorithm.hex_width(), b' ');
}

/// An error in a log, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogError {
    pub line: u64,
    pub reason: String,
}

/// Reads `%n %C` lines back into records (name, kind as far as the text tells, checksum).
///
/// The checksum width tells the algorithm only up to a family (32 hex digits are md5, md4
/// or xxh128), so the caller names the algorithm or takes [`LogReader::width`] as a hint.
/// The width is found from the first line that shows it: a checksum, or a directory's
/// blank `%C` (a name cannot end in `/` otherwise).
///
/// Memory stays at one line, however the log is made: a line longer than [`MAX_LINE`] is an
/// error, and the lines read while looking for the width are not kept but read again (the
/// input is rewound), since a log of symlinks alone may show no width for millions of lines.
pub struct LogReader<R> {
    input: R,
    width: Option<usize>,
    /// The width was looked for (once, from the start).
    searched: bool,
    line_no: u64,
    done: bool,
}

/// The longest line read, newline excluded. rsync never prints a longer one: its names are
/// shorter than `MAXPATHLEN` (4096 bytes), each byte escaped in at most five (`\#ooo`), then
/// come a `/`, a space and at most 40 checksum digits, 20,517 bytes in all. The bound leaves
/// three times that for fimsum's own output of deeper trees, and keeps a file that is no
/// log (one without newlines, gigabytes long) from being buffered whole.
pub const MAX_LINE: usize = 64 * 1024;

impl<R: BufRead + Seek> LogReader<R> {
    pub fn new(input: R, algorithm: Option<Algorithm>) -> LogReader<R> {
        LogReader {
            input,
            width: algorithm.map(Algorithm::hex_width),
            searched: false,
            line_no: 0,
            done: false,
        }
    }

    /// The `%C` width, once known (after the first record, or from the algorithm given).
    pub fn width(&mut self) -> Result<Option<usize>, LogError> {
        if self.width.is_none() && !self.searched {
            self.find_width()?;
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
                format!("longer than {MAX_LINE} bytes: not a `%n %C` line")
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

    /// Read ahead until a line shows the width, then rewind to where reading began. A
    /// checksum shows it for sure; a directory's blank `%C` only nearly (an entry whose name
    /// is all spaces, inside a directory, looks like a directory line of another width), so
    /// after one, look a little further for a checksum before settling for it.
    fn find_width(&mut self) -> Result<(), LogError> {
        self.searched = true;
        let rewind_error = |e: std::io::Error| LogError {
            line: 0,
            reason: format!("cannot read the log again from its start: {e}"),
        };
        let start = self.input.stream_position().map_err(rewind_error)?;
        let start_line = self.line_no;
        let mut from_directory: Option<(usize, u64)> = None; // (width, its line)
        while self.width.is_none() {
            match self.read_line()? {
                Some((no, line)) => {
                    match width_shown_by(&line) {
                        Some(Shown::Checksum(w)) => self.width = Some(w),
                        Some(Shown::Directory(w)) if from_directory.is_none() => {
                            from_directory = Some((w, no))
                        }
                        _ => {}
                    }
                    if let Some((w, at)) = from_directory {
                        if no >= at + LOOKAHEAD {
                            self.width = Some(w);
                        }
                    }
                }
                None => {
                    self.width = from_directory.map(|(w, _)| w);
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

    fn parse(&self, no: u64, line: &[u8]) -> Result<Record, LogError> {
        let err = |reason: String| LogError { line: no, reason };
        let width = self.width.ok_or_else(|| {
            err(
                "no line shows the checksum width (no checksum, no directory): \
                 give --checksum-choice"
                    .into(),
            )
        })?;
        if line.len() < width + 2 || line[line.len() - width - 1] != b' ' {
            return Err(err(format!(
                "not a `%n %C` line with a {width}-character checksum"
            )));
        }
        let (name, sum) = line.split_at(line.len() - width - 1);
        let sum = &sum[1..];
        let mut name = unescape(name);
        let (kind, content) = if sum.iter().all(|&c| c == b' ') {
            if name.last() == Some(&b'/') {
                name.pop();
                (Kind::Dir, Content::NotAFile)
            } else {
                (Kind::Special, Content::NotAFile)
            }
        } else {
            let digest =
                Digest::from_hex(sum).ok_or_else(|| err("checksum is not hexadecimal".into()))?;
            (Kind::File, Content::Digest(digest))
        };
        // As the baseline reader demands, so that `import` never writes a baseline that
        // fimsum then refuses, and `diff` never reports a name outside the tree.
        check_name(&name).map_err(|why| {
            err(format!(
                "invalid entry name {:?}: {why}",
                String::from_utf8_lossy(&name)
            ))
        })?;
        Ok(Record {
            name,
            kind,
            meta: None,
            link_target: None,
            content,
            extra: Vec::new(),
        })
    }
}

impl<R: BufRead + Seek> Iterator for LogReader<R> {
    type Item = Result<Record, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Err(e) = self.width() {
            return Some(Err(e));
        }
        let (no, line) = match self.read_line() {
            Ok(Some(line)) => line,
            Ok(None) => return None,
            Err(e) => return Some(Err(e)),
        };
        Some(self.parse(no, &line))
    }
}

/// The `%C` width a single line proves: a trailing run of 16, 32 or 40 hex digits after a
/// space, or the blank `%C` after a directory name (which ends in `/`).
/// How far past a directory line to look for a checksum line that settles the width.
const LOOKAHEAD: u64 = 256;

/// What a line says of the `%C` width.
enum Shown {
    /// A checksum of this width: certain.
    Checksum(usize),
    /// A directory's blank `%C`: almost certain.
    Directory(usize),
}

fn width_shown_by(line: &[u8]) -> Option<Shown> {
    let hex = line
        .iter()
        .rev()
        .take_while(|c| c.is_ascii_hexdigit())
        .count();
    if [16, 32, 40].contains(&hex) && line.len() > hex && line[line.len() - hex - 1] == b' ' {
        return Some(Shown::Checksum(hex));
    }
    let spaces = line.iter().rev().take_while(|&&c| c == b' ').count();
    if spaces > 1
        && line.len() > spaces
        && line[line.len() - spaces - 1] == b'/'
        && [17, 33, 41].contains(&spaces)
    {
        return Some(Shown::Directory(spaces - 1));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn rec(name: &[u8], kind: Kind, content: Content) -> Record {
        Record {
            name: name.to_vec(),
            kind,
            meta: None,
            link_target: None,
            content,
            extra: Vec::new(),
        }
    }

    #[test]
    fn lines_round_trip_through_the_reader() {
        let algo = Algorithm::Md5;
        let records = vec![
            rec(b".", Kind::Dir, Content::NotAFile),
            rec(b"sp ace ", Kind::Special, Content::NotAFile),
            rec(b"new\nline", Kind::File, Content::Digest(algo.digest(b"x"))),
            rec(b"\\#123", Kind::File, Content::Digest(algo.digest(b"y"))),
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
        all.extend_from_slice(b"\nf 900150983cd24fb0d6963f7d28e17f72\n");
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

    #[test]
    fn a_line_without_end_is_refused_after_max_line_bytes() {
        for given in [None, Some(Algorithm::Md5)] {
            let mut input = std::io::BufReader::with_capacity(1 << 12, Endless { read: 0 });
            let got: Vec<_> = LogReader::new(&mut input, given).collect();
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
