//! The shape of one line, told from its text alone: the prefixes a `--log-file` or a
//! wrapper puts in front, rsync's own chatter, `deleting` lines, and entry lines with or
//! without an itemize code. Nothing here knows the checksum width or what came before;
//! the reader ([`super::events`]) adds both.

/// The length of an itemize code (`%i`), such as `>f+++++++++`.
pub(crate) const ITEMIZE_LEN: usize = 11;

/// What `%i` prints for a deletion, padded to the itemize width (rsync's log.c).
const DELETING_CODE: &[u8] = b"*deleting  ";

/// The prefix Back In Time gives its `--out-format` (`BACKINTIME: %i %n%L`).
const BACKINTIME: &[u8] = b"BACKINTIME: ";

/// A line with what a `--log-file` put in front taken off.
pub(crate) struct Stripped<'a> {
    /// The pid of a `--log-file` prefix (`YYYY/MM/DD HH:MM:SS [PID] `).
    pub pid: Option<u64>,
    /// Whether the line had Back In Time's `BACKINTIME: ` prefix.
    pub backintime: bool,
    pub body: &'a [u8],
}

/// Take off the `--log-file` prefix and Back In Time's prefix, where present.
pub(crate) fn strip(line: &[u8]) -> Stripped<'_> {
    let (pid, body) = match log_file_prefix(line) {
        Some((pid, len)) => (Some(pid), &line[len..]),
        None => (None, line),
    };
    match body.strip_prefix(BACKINTIME) {
        Some(rest) => Stripped {
            pid,
            backintime: true,
            body: rest,
        },
        None => Stripped {
            pid,
            backintime: false,
            body,
        },
    }
}

/// `YYYY/MM/DD HH:MM:SS [PID] `: the pid and the prefix's length.
fn log_file_prefix(line: &[u8]) -> Option<(u64, usize)> {
    const DATE: &[u8] = b"dddd/dd/dd dd:dd:dd [";
    if line.len() < DATE.len() + 3 {
        return None;
    }
    for (&c, &p) in line.iter().zip(DATE) {
        let fits = if p == b'd' {
            c.is_ascii_digit()
        } else {
            c == p
        };
        if !fits {
            return None;
        }
    }
    let rest = &line[DATE.len()..];
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 19 || !rest[digits..].starts_with(b"] ") {
        return None;
    }
    let pid = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    Some((pid, DATE.len() + digits + 2))
}

/// One line's shape, its text still escaped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Shape<'a> {
    /// An empty line, or one of rsync's messages that says nothing of an entry.
    Chatter,
    /// A line rsync prints once at the start of a run (`sending incremental file list`,
    /// `building file list ... done`, a `--log-file`'s `building file list`).
    Header,
    /// `created directory DEST`: rsync made the destination, so it was empty.
    CreatedDirectory(&'a [u8]),
    /// The summary that ends a run (`sent N bytes  received N bytes ...`, `total size is`).
    Summary,
    /// The first line of the block of heap statistics `-vv --stats` prints; the block's
    /// indented lines follow until an empty line.
    HeapStatistics,
    /// A warning or error of rsync's (`rsync: ...`, `rsync error: ...`,
    /// `file has vanished: ...`): the run may have missed entries.
    Message(&'a [u8]),
    /// `NAME is uptodate` (`-vv`, `--info=name2`).
    Uptodate(&'a [u8]),
    /// `deleting NAME`, or `*deleting   NAME` and what the format adds after the name when
    /// the format has `%i` (`itemized`).
    Deleted { rest: &'a [u8], itemized: bool },
    /// An entry: the itemize code if the format has `%i`, then the name, and what the
    /// format adds after it (`%L`, ` %C`).
    Entry {
        itemize: Option<&'a [u8]>,
        rest: &'a [u8],
    },
}

/// The shape of a line's body (after [`strip`]).
pub(crate) fn shape(body: &[u8]) -> Shape<'_> {
    if let Some(shape) = chatter(body) {
        return shape;
    }
    if let Some(rest) = body.strip_prefix(DELETING_CODE) {
        if let Some(rest) = rest.strip_prefix(b" ") {
            if !rest.is_empty() {
                return Shape::Deleted {
                    rest,
                    itemized: true,
                };
            }
        }
    }
    if let Some(rest) = body.strip_prefix(b"deleting ") {
        if !rest.is_empty() {
            return Shape::Deleted {
                rest,
                itemized: false,
            };
        }
    }
    if let Some(name) = body.strip_suffix(b" is uptodate") {
        if !name.is_empty() {
            return Shape::Uptodate(name);
        }
    }
    if body.len() > ITEMIZE_LEN + 1 && body[ITEMIZE_LEN] == b' ' && is_itemize(&body[..ITEMIZE_LEN])
    {
        return Shape::Entry {
            itemize: Some(&body[..ITEMIZE_LEN]),
            rest: &body[ITEMIZE_LEN + 1..],
        };
    }
    Shape::Entry {
        itemize: None,
        rest: body,
    }
}

/// rsync's messages, each matched by its whole shape so that an entry's name is taken for
/// chatter only if the entry line as a whole reads as the message.
fn chatter(body: &[u8]) -> Option<Shape<'_>> {
    if body.is_empty() {
        return Some(Shape::Chatter);
    }
    const HEADERS: [&[u8]; 4] = [
        b"sending incremental file list",
        b"receiving incremental file list",
        b"sending file list",
        b"receiving file list",
    ];
    if HEADERS.contains(&body)
        || body.starts_with(b"building file list")
        || body.starts_with(b"receiving file list ...")
    {
        return Some(Shape::Header);
    }
    if let Some(dest) = body.strip_prefix(b"created directory ") {
        return Some(Shape::CreatedDirectory(dest));
    }
    if is_summary(body) {
        return Some(Shape::Summary);
    }
    const INFO: [&[u8]; 2] = [
        b"delta-transmission disabled for local transfer or --whole-file",
        b"delta-transmission enabled",
    ];
    if INFO.contains(&body)
        || body == b"(DRY RUN)"
        || body.starts_with(b"total: matches=")
        || (body.starts_with(b"skipping non-regular file \"") && body.ends_with(b"\""))
        || (body.starts_with(b"skipping directory ") && !body.ends_with(b" "))
        || is_stats(body)
    {
        return Some(Shape::Chatter);
    }
    if body.starts_with(b"rsync[") && body.ends_with(b" heap statistics:") {
        return Some(Shape::HeapStatistics);
    }
    if is_progress(body) {
        return Some(Shape::Chatter);
    }
    // A daemon's --log-file: who connected, to which module.
    for start in [
        &b"connect from "[..],
        b"rsync on ",
        b"rsync to ",
        b"rsync allowed access on module ",
        b"name lookup failed for ",
    ] {
        if body.starts_with(start) {
            return Some(Shape::Chatter);
        }
    }
    for start in [
        &b"rsync: "[..],
        b"rsync error: ",
        b"rsync warning: ",
        b"file has vanished: ",
        b"IO error encountered",
        b"cannot delete non-empty directory: ",
        b"symlink has no referent: ",
        b"*** Skipping any contents from this failed directory ***",
        b"WARNING: ",
        b"ERROR: ",
    ] {
        if body.starts_with(start) {
            return Some(Shape::Message(body));
        }
    }
    None
}

/// `sent N bytes  received N bytes  N bytes/sec` (stdout), `sent N bytes  received N bytes
/// total size N` (a `--log-file`), `total size is N  speedup is N` with ` (DRY RUN)` or
/// ` (BATCH ONLY)` after it.
fn is_summary(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    let number = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit() || c == b',');
    let figure = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_digit() || c == b',' || c == b'.')
    };
    if let Some(rest) = text.strip_prefix("sent ") {
        let mut parts = rest.split("  ");
        let bytes = |p: Option<&str>, lead: &str| {
            p.and_then(|p| p.strip_prefix(lead))
                .and_then(|p| p.strip_suffix(" bytes"))
                .is_some_and(number)
        };
        if !bytes(parts.next(), "") || !bytes(parts.next(), "received ") {
            return false;
        }
        let last = parts.next();
        return parts.next().is_none()
            && (last
                .and_then(|p| p.strip_suffix(" bytes/sec"))
                .is_some_and(figure)
                || last
                    .and_then(|p| p.strip_prefix("total size "))
                    .is_some_and(number));
    }
    if let Some(rest) = text.strip_prefix("total size is ") {
        let rest = rest
            .strip_suffix(" (DRY RUN)")
            .or_else(|| rest.strip_suffix(" (BATCH ONLY)"))
            .unwrap_or(rest);
        return rest
            .split_once("  speedup is ")
            .is_some_and(|(size, speedup)| number(size) && figure(speedup));
    }
    false
}

/// A `--progress` line: the figures of one file's transfer, its updates joined by `\r`
/// (`      6 100%    0.00kB/s    0:00:00 (xfr#1, to-chk=14/16)`).
fn is_progress(body: &[u8]) -> bool {
    let last = body.rsplit(|&c| c == b'\r').next().unwrap_or(body);
    let text = last.trim_ascii_start();
    last.first() == Some(&b' ')
        && text.first().is_some_and(u8::is_ascii_digit)
        && memchr::memmem::find(text, b"% ").is_some()
        && memchr::memmem::find(text, b"/s ").is_some()
}

/// A line of the `--stats` block: a known label, then figures.
fn is_stats(body: &[u8]) -> bool {
    const LABELS: [&[u8]; 14] = [
        b"Number of files: ",
        b"Number of created files: ",
        b"Number of deleted files: ",
        b"Number of regular files transferred: ",
        b"Number of files transferred: ",
        b"Total file size: ",
        b"Total transferred file size: ",
        b"Literal data: ",
        b"Matched data: ",
        b"File list size: ",
        b"File list generation time: ",
        b"File list transfer time: ",
        b"Total bytes sent: ",
        b"Total bytes received: ",
    ];
    LABELS.iter().any(|label| {
        body.strip_prefix(*label).is_some_and(|rest| {
            rest.first().is_some_and(u8::is_ascii_digit)
                && rest
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || b" ,.:()".contains(&c))
        })
    })
}

/// Whether a heap-statistics line (inside the block [`Shape::HeapStatistics`] opens):
/// two spaces, a field name, a colon, a number.
pub(crate) fn is_heap_line(body: &[u8]) -> bool {
    let Some(rest) = body.strip_prefix(b"  ") else {
        return false;
    };
    let field = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    field > 0
        && rest[field..].first() == Some(&b':')
        && rest[field + 1..]
            .iter()
            .find(|&&c| c != b' ')
            .is_some_and(u8::is_ascii_digit)
}

/// An itemize code as rsync's log.c renders `%i` for an entry (not a deletion): the update
/// type (`<>ch.`), the file type (`fdLDS`), then nine attribute columns, each a letter,
/// `.`, `+` (new), `?` (missing data) or a space (nothing changed, with `-vv`).
pub(crate) fn is_itemize(code: &[u8]) -> bool {
    code.len() == ITEMIZE_LEN
        && b"<>ch.".contains(&code[0])
        && b"fdLDS".contains(&code[1])
        && code[2..].iter().all(|c| b".+? cstTpoguabnx".contains(c))
}

/// Whether an itemize code says the entry is new (every attribute column `+`).
pub(crate) fn itemize_is_new(code: &[u8]) -> bool {
    code.len() == ITEMIZE_LEN && code[2..].iter().all(|&c| c == b'+')
}

/// The `%C` width a line's tail shows, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shown {
    /// A checksum of this width after a space: certain.
    Checksum(usize),
    /// A directory's blank `%C` (a `/`, then a space and the blanks): almost certain, as a
    /// name that is all spaces inside a directory looks the same.
    Directory(usize),
}

/// The widths rsync's `%C` has: 16 (xxh64, xxh3), 32 (md4, md5, xxh128), 40 (sha1).
pub(crate) const WIDTHS: [usize; 3] = [16, 32, 40];

/// What the tail of `rest` (an entry's or an itemized deletion's text after the code)
/// shows of the `%C` width.
pub(crate) fn width_shown_by(rest: &[u8]) -> Option<Shown> {
    let hex = trailing_hex(rest);
    if WIDTHS.contains(&hex) && rest.len() > hex && rest[rest.len() - hex - 1] == b' ' {
        return Some(Shown::Checksum(hex));
    }
    let spaces = rest.iter().rev().take_while(|&&c| c == b' ').count();
    if rest.len() > spaces
        && rest[rest.len() - spaces - 1] == b'/'
        && WIDTHS.contains(&(spaces.wrapping_sub(1)))
    {
        return Some(Shown::Directory(spaces - 1));
    }
    None
}

fn trailing_hex(s: &[u8]) -> usize {
    s.iter().rev().take_while(|c| c.is_ascii_hexdigit()).count()
}

/// The checksum field rsync's ` %C` put at the end of `rest`, given its width.
pub(crate) enum Sum<'a> {
    /// Hex digits.
    Hex(&'a [u8]),
    /// Blanks: not a regular file, or nothing to show.
    Blank,
}

/// Split ` %C` of `width` off the end of `rest`: the text before it and the field.
pub(crate) fn split_sum(rest: &[u8], width: usize) -> Option<(&[u8], Sum<'_>)> {
    if rest.len() < width + 2 || rest[rest.len() - width - 1] != b' ' {
        return None;
    }
    let (head, sum) = rest.split_at(rest.len() - width - 1);
    let sum = &sum[1..];
    if sum.iter().all(|&c| c == b' ') {
        Some((head, Sum::Blank))
    } else if sum.iter().all(u8::is_ascii_hexdigit) {
        Some((head, Sum::Hex(sum)))
    } else {
        None
    }
}

/// A checksum of another width at the end of `rest`: the sign of a second algorithm.
pub(crate) fn other_width(rest: &[u8], width: usize) -> Option<usize> {
    match width_shown_by(rest) {
        Some(Shown::Checksum(w)) if w != width => Some(w),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_file_prefixes_are_taken_off_with_their_pid() {
        let s = strip(b"2026/12/01 23:11:53 [18496] >f+++++++++ a");
        assert_eq!((s.pid, s.body), (Some(18496), &b">f+++++++++ a"[..]));
        let s = strip(b"2026/12/01 23:11:53 [18496] ");
        assert_eq!((s.pid, s.body), (Some(18496), &b""[..]));
        let s = strip(b"2026/12/01 23:11:53 18496 a");
        assert_eq!((s.pid, s.body.len()), (None, 27));
        let s = strip(b"BACKINTIME: cd+++++++++ d/");
        assert!(s.backintime);
        assert_eq!(s.body, b"cd+++++++++ d/");
    }

    #[test]
    fn chatter_is_recognised_by_its_whole_shape() {
        for line in [
            &b""[..],
            b"delta-transmission disabled for local transfer or --whole-file",
            b"total: matches=0  hash_hits=0  false_alarms=0 data=63",
            b"Number of files: 15 (reg: 8, dir: 6, link: 1)",
            b"File list generation time: 0.001 seconds",
            b"Total bytes received: 1,183",
            b"skipping non-regular file \"pipe\"",
            b"(DRY RUN)",
            b"      6 100%    0.00kB/s    0:00:00 (xfr#1, to-chk=14/16)",
            b"          0   0%    0.00kB/s    0:00:00\r      6 100%    5.86kB/s    0:00:00 (xfr#1, ir-chk=1013/1016)",
            b"connect from host.example (192.0.2.1)",
            b"\r              3 100%    0.00kB/s    0:00:00  \r              3 100%    0.00kB/s    0:00:00 (xfr#1, to-chk=8/10)",
        ] {
            assert_eq!(
                shape(line),
                Shape::Chatter,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        for line in [
            &b"sent 440 bytes  received 183 bytes  1,246.00 bytes/sec"[..],
            b"sent 672 bytes  received 167 bytes  total size 73",
            b"total size is 10  speedup is 0.02",
            b"total size is 10  speedup is 0.02 (DRY RUN)",
        ] {
            assert_eq!(
                shape(line),
                Shape::Summary,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        assert_eq!(shape(b"sending incremental file list"), Shape::Header);
        assert_eq!(shape(b"building file list ... done"), Shape::Header);
        assert_eq!(
            shape(b"created directory dst"),
            Shape::CreatedDirectory(b"dst")
        );
        // An entry that only starts like a message stays an entry.
        for line in [
            &b"sent 5 bytes 900150983cd24fb0d6963f7d28e17f72"[..],
            b"Total file size: x 900150983cd24fb0d6963f7d28e17f72",
        ] {
            assert!(matches!(shape(line), Shape::Entry { itemize: None, .. }));
        }
    }

    #[test]
    fn deletions_and_itemized_entries() {
        assert_eq!(
            shape(b"*deleting   gone/"),
            Shape::Deleted {
                rest: b"gone/",
                itemized: true
            }
        );
        assert_eq!(
            shape(b"deleting b.txt"),
            Shape::Deleted {
                rest: b"b.txt",
                itemized: false
            }
        );
        assert_eq!(
            shape(b".d..t...... ./"),
            Shape::Entry {
                itemize: Some(b".d..t......"),
                rest: b"./"
            }
        );
        assert_eq!(
            shape(b".f          a"),
            Shape::Entry {
                itemize: Some(b".f         "),
                rest: b"a"
            }
        );
        assert!(itemize_is_new(b"cL+++++++++"));
        assert!(!itemize_is_new(b">fcst......"));
        assert!(!is_itemize(b"xf+++++++++"));
        assert_eq!(shape(b"a is uptodate"), Shape::Uptodate(b"a"));
    }

    #[test]
    fn widths_shown_by_tails() {
        assert_eq!(
            width_shown_by(b"a 900150983cd24fb0d6963f7d28e17f72"),
            Some(Shown::Checksum(32))
        );
        let mut dir = b"d/ ".to_vec();
        dir.extend_from_slice(&[b' '; 32]);
        assert_eq!(width_shown_by(&dir), Some(Shown::Directory(32)));
        assert_eq!(width_shown_by(b"a"), None);
        assert_eq!(other_width(b"a 0123456789abcdef", 32), Some(16));
    }
}
