//! The `%n %C` text form, both ways: writing the lines rsync prints, and reading them back
//! from an rsync log (`--out-format="%n %C"`) or from fimsum's own output.

use std::io::BufRead;

use crate::escape::{escape_line, unescape, Charset};
use crate::hash::{Algorithm, Digest};
use crate::record::{check_name, Content, Kind, Record};

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
    if digest.is_none() && record.kind == Kind::File {
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
pub struct LogReader<R> {
    input: R,
    width: Option<usize>,
    line_no: u64,
    /// Lines read before the width was known.
    held: std::collections::VecDeque<(u64, Vec<u8>)>,
    done: bool,
}

impl<R: BufRead> LogReader<R> {
    pub fn new(input: R, algorithm: Option<Algorithm>) -> LogReader<R> {
        LogReader {
            input,
            width: algorithm.map(Algorithm::hex_width),
            line_no: 0,
            held: Default::default(),
            done: false,
        }
    }

    /// The `%C` width, once known (after the first record, or from the algorithm given).
    pub fn width(&mut self) -> Result<Option<usize>, LogError> {
        if self.width.is_none() {
            self.fill_until_width()?;
        }
        Ok(self.width)
    }

    fn read_line(&mut self) -> Result<Option<(u64, Vec<u8>)>, LogError> {
        if self.done {
            return Ok(None);
        }
        let mut line = Vec::new();
        self.line_no += 1;
        let n = self
            .input
            .read_until(b'\n', &mut line)
            .map_err(|e| LogError {
                line: self.line_no,
                reason: e.to_string(),
            })?;
        if n == 0 {
            self.done = true;
            return Ok(None);
        }
        if line.pop() != Some(b'\n') {
            return Err(LogError {
                line: self.line_no,
                reason: "last line has no newline (truncated log?)".into(),
            });
        }
        Ok(Some((self.line_no, line)))
    }

    /// Read ahead until a line shows the width. A checksum shows it for sure; a directory's
    /// blank `%C` only nearly (an entry whose name is all spaces, inside a directory, looks
    /// like a directory line of another width), so after one, look a little further for a
    /// checksum before settling for it.
    fn fill_until_width(&mut self) -> Result<(), LogError> {
        let mut from_directory: Option<(usize, usize)> = None; // (width, lines held then)
        while self.width.is_none() {
            match self.read_line()? {
                Some((no, line)) => {
                    let shown = width_shown_by(&line);
                    self.held.push_back((no, line));
                    match shown {
                        Some(Shown::Checksum(w)) => self.width = Some(w),
                        Some(Shown::Directory(w)) if from_directory.is_none() => {
                            from_directory = Some((w, self.held.len()))
                        }
                        _ => {}
                    }
                    if let Some((w, at)) = from_directory {
                        if self.held.len() >= at + LOOKAHEAD {
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
        Ok(())
    }

    fn parse(&self, no: u64, line: &[u8]) -> Result<Record, LogError> {
        let err = |reason: String| LogError { line: no, reason };
        let width = self
            .width
            .ok_or_else(|| err("cannot tell the checksum width".into()))?;
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
                (Kind::Dir, Content::None)
            } else {
                (Kind::Special, Content::None)
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

impl<R: BufRead> Iterator for LogReader<R> {
    type Item = Result<Record, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.width.is_none() {
            if let Err(e) = self.fill_until_width() {
                return Some(Err(e));
            }
        }
        let (no, line) = match self.held.pop_front() {
            Some(held) => held,
            None => match self.read_line() {
                Ok(Some(line)) => line,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            },
        };
        Some(self.parse(no, &line))
    }
}

/// The `%C` width a single line proves: a trailing run of 16, 32 or 40 hex digits after a
/// space, or the blank `%C` after a directory name (which ends in `/`).
/// How far past a directory line to look for a checksum line that settles the width.
const LOOKAHEAD: usize = 256;

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
            rec(b".", Kind::Dir, Content::None),
            rec(b"sp ace ", Kind::Special, Content::None),
            rec(b"new\nline", Kind::File, Content::Digest(algo.digest(b"x"))),
            rec(b"\\#123", Kind::File, Content::Digest(algo.digest(b"y"))),
            rec(b"d\xff", Kind::Dir, Content::None),
        ];
        let mut text = Vec::new();
        for r in &records {
            assert!(format_line(r, algo, Charset::Utf8, &mut text));
        }
        let back: Vec<Record> = LogReader::new(&text[..], None)
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
        let back: Vec<Record> = LogReader::new(&all[..], None)
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
        let back: Vec<Record> = LogReader::new(&text[..], None)
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
        let got: Vec<_> = LogReader::new(&text[..], None).collect();
        assert!(got[0].is_ok());
        assert_eq!(got[1].as_ref().unwrap_err().line, 2);
        let truncated = b"f 900150983cd24fb0d6963f7d28e17f72";
        let got: Vec<_> = LogReader::new(&truncated[..], None).collect();
        assert!(got[0].is_err());
    }
}
