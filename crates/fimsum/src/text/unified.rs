//! What changed inside a file, from the snapshots of its two versions: a unified diff of a
//! text file, the changed line numbers of a file that holds secrets, or why neither can be
//! shown.
//!
//! The line matching trims the common start and end, then takes a longest common
//! subsequence of what is left; where that middle is too large to match
//! ([`MATCH_CELLS`]) it is shown replaced whole, which is still a correct diff, only a
//! longer one. A diff shows at most [`SHOWN_LINES`] lines. Every line is escaped
//! ([`escape_line`]): a changed file cannot put control characters on a terminal or
//! forge report lines.

use crate::text::lines;
use crate::text::Snapshot;
#[cfg(test)]
use crate::text::{FILE_MAX, TOTAL_MAX};

/// Lines of context around each change, as `diff -u` shows.
const CONTEXT: usize = 3;

/// The largest middle (old lines times new lines, after the common start and end) that is
/// matched line by line: 4 MiB of table at most.
const MATCH_CELLS: usize = 1 << 20;

/// The most lines of diff shown for one file; the rest is counted, not shown.
pub const SHOWN_LINES: usize = 400;

/// One run of changed lines: where it starts (1-based) and how many lines it has on each
/// side. A side with no lines starts after the line before the change, as in `diff -u`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hunk {
    /// First old line (1-based).
    pub old_start: usize,
    /// Old lines in it.
    pub old_len: usize,
    /// First new line (1-based).
    pub new_start: usize,
    /// New lines in it.
    pub new_len: usize,
}

/// What a report can say about a content change beyond the checksums.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentDiff {
    /// A text file: the unified diff (escaped, without `---`/`+++` lines; at most
    /// [`SHOWN_LINES`] of it, then a line saying how many more), and the lines added and
    /// removed.
    Text {
        /// The diff's lines.
        lines: Vec<String>,
        /// Lines added (`+`).
        added: usize,
        /// Lines removed (`-`).
        removed: usize,
    },
    /// A file that holds secrets: which lines changed, never their text.
    Secret {
        /// The runs of changed lines, without context.
        hunks: Vec<Hunk>,
    },
    /// Either version is binary.
    Binary,
    /// Why nothing more can be said (over a limit, no snapshot on one side, ...).
    Unavailable(String),
}

impl ContentDiff {
    /// The change between two versions' snapshots; `None` when neither has one (no rule
    /// asked for it).
    pub fn between(old: Option<&Snapshot>, new: Option<&Snapshot>) -> Option<ContentDiff> {
        use Snapshot::*;
        let unavailable = |why: &str| Some(ContentDiff::Unavailable(why.to_string()));
        let Some(old) = old else {
            return new.and_then(|_| unavailable("the baseline kept no snapshot of it: no diff"));
        };
        match (old, new) {
            (_, None) => unavailable("this scan kept no snapshot of it: no diff"),
            (TooLarge { limit }, _) | (_, Some(TooLarge { limit })) => Some(
                ContentDiff::Unavailable(format!("over the limit of {} for a diff", size(*limit))),
            ),
            (OverBudget { limit }, _) | (_, Some(OverBudget { limit })) => {
                Some(ContentDiff::Unavailable(format!(
                    "over the limit of {} of snapshots in one baseline: no diff",
                    size(*limit)
                )))
            }
            (Secret(a), Some(Secret(b))) if a.salt() == b.salt() => Some(ContentDiff::Secret {
                hunks: hunks(&match_lines(a.digests(), b.digests()), 0),
            }),
            (Secret(_), Some(Secret(_))) => {
                unavailable("holds secrets, and its two snapshots' line digests are not comparable")
            }
            (Secret(_), _) | (_, Some(Secret(_))) => {
                unavailable("holds secrets in one version: no diff")
            }
            (Binary, _) | (_, Some(Binary)) => Some(ContentDiff::Binary),
            (Text(a), Some(Text(b))) => Some(match (a.content(), b.content()) {
                (Ok(a), Ok(b)) => text_diff(&a, &b),
                (Err(e), _) | (_, Err(e)) => ContentDiff::Unavailable(e),
            }),
        }
    }

    /// One line for places that take no diff text (syslog): counts and line numbers only.
    pub fn summary(&self) -> String {
        match self {
            ContentDiff::Text { added, removed, .. } => format!("diff +{added} -{removed} lines"),
            ContentDiff::Secret { hunks } => format!("secret: {}", secret_text(hunks)),
            ContentDiff::Binary => "binary content changed".to_string(),
            ContentDiff::Unavailable(why) => why.clone(),
        }
    }

    /// The lines a human report prints under the change.
    pub fn report_lines(&self) -> Vec<String> {
        match self {
            ContentDiff::Text { lines, .. } => lines.clone(),
            ContentDiff::Secret { hunks } => {
                let mut out = vec!["holds secrets: the text is neither stored nor shown".into()];
                out.extend(hunks.iter().map(hunk_text));
                out
            }
            other => vec![other.summary()],
        }
    }

    /// The new version's lines that are new or changed, and the old version's that are gone
    /// or changed (1-based), of a secret file; empty for anything else.
    pub fn lines_changed(&self) -> (Vec<usize>, Vec<usize>) {
        let ContentDiff::Secret { hunks } = self else {
            return (Vec::new(), Vec::new());
        };
        let new = hunks
            .iter()
            .flat_map(|h| h.new_start..h.new_start + h.new_len)
            .collect();
        let old = hunks
            .iter()
            .flat_map(|h| h.old_start..h.old_start + h.old_len)
            .collect();
        (new, old)
    }
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// One step of a line matching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Same,
    Removed,
    Added,
}

/// The steps that turn `a` into `b`, in order.
fn match_lines<T: Eq>(a: &[T], b: &[T]) -> Vec<Op> {
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (ma, mb) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);
    let mut ops = vec![Op::Same; head];
    if ma.len().saturating_mul(mb.len()) > MATCH_CELLS {
        ops.extend(std::iter::repeat_n(Op::Removed, ma.len()));
        ops.extend(std::iter::repeat_n(Op::Added, mb.len()));
    } else {
        // lcs[i][j]: the longest common subsequence of ma[i..] and mb[j..].
        let w = mb.len() + 1;
        let mut lcs = vec![0u32; (ma.len() + 1) * w];
        for i in (0..ma.len()).rev() {
            for j in (0..mb.len()).rev() {
                lcs[i * w + j] = if ma[i] == mb[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < ma.len() || j < mb.len() {
            if i < ma.len() && j < mb.len() && ma[i] == mb[j] {
                ops.push(Op::Same);
                i += 1;
                j += 1;
            } else if j == mb.len() || (i < ma.len() && lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])
            {
                ops.push(Op::Removed);
                i += 1;
            } else {
                ops.push(Op::Added);
                j += 1;
            }
        }
    }
    ops.extend(std::iter::repeat_n(Op::Same, tail));
    ops
}

/// The runs of changes among `ops` with `context` lines around each, runs closer than
/// twice that merged, as `diff -u` groups them; each with the range of `ops` it covers.
fn hunk_ranges(ops: &[Op], context: usize) -> Vec<(std::ops::Range<usize>, Hunk)> {
    let changed: Vec<usize> = (0..ops.len()).filter(|&i| ops[i] != Op::Same).collect();
    let mut groups: Vec<(usize, usize)> = Vec::new();
    for &i in &changed {
        match groups.last_mut() {
            Some((_, last)) if i - *last <= 2 * context + 1 => *last = i,
            _ => groups.push((i, i)),
        }
    }
    // Old and new lines before each op.
    let mut before = Vec::with_capacity(ops.len() + 1);
    let (mut o, mut n) = (0, 0);
    for op in ops {
        before.push((o, n));
        match op {
            Op::Same => (o, n) = (o + 1, n + 1),
            Op::Removed => o += 1,
            Op::Added => n += 1,
        }
    }
    before.push((o, n));
    groups
        .into_iter()
        .map(|(first, last)| {
            let start = first.saturating_sub(context);
            let end = (last + 1 + context).min(ops.len());
            let (o0, n0) = before[start];
            let (o1, n1) = before[end];
            let hunk = Hunk {
                old_start: if o1 > o0 { o0 + 1 } else { o0 },
                old_len: o1 - o0,
                new_start: if n1 > n0 { n0 + 1 } else { n0 },
                new_len: n1 - n0,
            };
            (start..end, hunk)
        })
        .collect()
}

fn hunks(ops: &[Op], context: usize) -> Vec<Hunk> {
    hunk_ranges(ops, context)
        .into_iter()
        .map(|(_, h)| h)
        .collect()
}

/// The unified diff of two versions of a text file.
fn text_diff(old: &[u8], new: &[u8]) -> ContentDiff {
    let (a, b) = (lines::split(old), lines::split(new));
    let ops = match_lines(&a, &b);
    let added = ops.iter().filter(|&&op| op == Op::Added).count();
    let removed = ops.iter().filter(|&&op| op == Op::Removed).count();
    let mut out = Vec::new();
    for (range, h) in hunk_ranges(&ops, CONTEXT) {
        let span = |start: usize, len: usize| match len {
            1 => format!("{start}"),
            _ => format!("{start},{len}"),
        };
        out.push(format!(
            "@@ -{} +{} @@",
            span(h.old_start, h.old_len),
            span(h.new_start, h.new_len)
        ));
        let (mut i, mut j) = (h.old_start.max(1) - 1, h.new_start.max(1) - 1);
        if h.old_len == 0 {
            i = h.old_start;
        }
        if h.new_len == 0 {
            j = h.new_start;
        }
        for op in &ops[range] {
            let (mark, line) = match op {
                Op::Same => {
                    i += 1;
                    j += 1;
                    (' ', b[j - 1])
                }
                Op::Removed => {
                    i += 1;
                    ('-', a[i - 1])
                }
                Op::Added => {
                    j += 1;
                    ('+', b[j - 1])
                }
            };
            let body = line.strip_suffix(b"\n");
            out.push(format!("{mark}{}", escape_line(body.unwrap_or(line))));
            if body.is_none() {
                out.push("\\ No newline at end of file".into());
            }
        }
    }
    if out.len() > SHOWN_LINES {
        let more = out.len() - SHOWN_LINES;
        out.truncate(SHOWN_LINES);
        out.push(format!("... {more} more lines of diff not shown"));
    }
    ContentDiff::Text {
        lines: out,
        added,
        removed,
    }
}

fn range_text(start: usize, len: usize) -> String {
    match len {
        1 => format!("line {start}"),
        _ => format!("lines {start}-{}", start + len - 1),
    }
}

/// A run of changed lines of a secret file, in words.
fn hunk_text(h: &Hunk) -> String {
    match (h.old_len, h.new_len) {
        (0, n) => format!("{} added", range_text(h.new_start, n)),
        (o, 0) => format!("old {} removed", range_text(h.old_start, o)),
        (o, n) if o == n && h.old_start == h.new_start => {
            format!("{} changed", range_text(h.new_start, n))
        }
        (o, n) => format!(
            "old {} changed, now {}",
            range_text(h.old_start, o),
            range_text(h.new_start, n)
        ),
    }
}

fn secret_text(hunks: &[Hunk]) -> String {
    if hunks.is_empty() {
        return "the same lines (only their order or the file's identity changed)".into();
    }
    hunks.iter().map(hunk_text).collect::<Vec<_>>().join(", ")
}

/// A line as a report shows it: valid UTF-8 as it is, tabs kept; control characters
/// (escape, carriage return, DEL, the C1 range), the Unicode line and paragraph separators
/// and bidirectional overrides, and bytes that are not UTF-8, as `\xHH` (the character's
/// UTF-8 bytes); a backslash as `\\`, so that what is shown reads back unambiguously.
pub(crate) fn escape_line(line: &[u8]) -> String {
    let mut out = String::with_capacity(line.len());
    for chunk in line.utf8_chunks() {
        for c in chunk.valid().chars() {
            let unsafe_char = (c.is_control() && c != '\t')
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
            if c == '\\' {
                out.push_str("\\\\");
            } else if unsafe_char {
                let mut buf = [0; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::compress::Compressed;
    use crate::text::lines::{LineDigest, LineDigests};

    fn secret_hunks(a: &[LineDigest], b: &[LineDigest]) -> Vec<Hunk> {
        hunks(&match_lines(a, b), 0)
    }

    fn text(content: &[u8]) -> Snapshot {
        Snapshot::Text(Box::new(Compressed::new(content).unwrap()))
    }

    fn diff_lines(old: &[u8], new: &[u8]) -> Vec<String> {
        match ContentDiff::between(Some(&text(old)), Some(&text(new))) {
            Some(ContentDiff::Text { lines, .. }) => lines,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unified_diff_as_diff_u_prints_it() {
        let old = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/:/usr/sbin/nologin\nbin:x:2:2::/bin:/usr/sbin/nologin\n";
        let mut new = old.to_vec();
        new.extend_from_slice(b"evil:x:0:0::/root:/bin/sh\n");
        assert_eq!(
            diff_lines(old, &new),
            [
                "@@ -1,3 +1,4 @@",
                " root:x:0:0:root:/root:/bin/bash",
                " daemon:x:1:1::/:/usr/sbin/nologin",
                " bin:x:2:2::/bin:/usr/sbin/nologin",
                "+evil:x:0:0::/root:/bin/sh",
            ]
        );
        let numbered = |n: std::ops::Range<u32>| -> Vec<u8> {
            n.flat_map(|i| format!("{i}\n").into_bytes()).collect()
        };
        // Two changes far apart are two hunks; a removal's empty side starts before it.
        let old = numbered(1..21);
        let new: Vec<u8> = String::from_utf8(old.clone())
            .unwrap()
            .replace("\n2\n", "\ntwo\n")
            .replace("\n17\n", "\n")
            .into_bytes();
        assert_eq!(
            diff_lines(&old, &new),
            [
                "@@ -1,5 +1,5 @@",
                " 1",
                "-2",
                "+two",
                " 3",
                " 4",
                " 5",
                "@@ -14,7 +14,6 @@",
                " 14",
                " 15",
                " 16",
                "-17",
                " 18",
                " 19",
                " 20",
            ]
        );
        assert_eq!(
            diff_lines(b"", b"a\n"),
            ["@@ -0,0 +1 @@", "+a"],
            "an empty side starts at 0"
        );
        assert_eq!(
            diff_lines(b"a\nb\n", b"a\nb"),
            [
                "@@ -1,2 +1,2 @@",
                " a",
                "-b",
                "+b",
                "\\ No newline at end of file"
            ]
        );
    }

    #[test]
    fn long_diffs_are_cut_and_huge_middles_replaced() {
        let old: Vec<u8> = (0..2000)
            .flat_map(|i| format!("{i}\n").into_bytes())
            .collect();
        let new: Vec<u8> = (0..2000)
            .flat_map(|i| format!("x{i}\n").into_bytes())
            .collect();
        match ContentDiff::between(Some(&text(&old)), Some(&text(&new))) {
            Some(ContentDiff::Text {
                lines,
                added,
                removed,
            }) => {
                assert_eq!((added, removed), (2000, 2000));
                assert_eq!(lines.len(), SHOWN_LINES + 1);
                assert_eq!(lines[SHOWN_LINES], "... 3601 more lines of diff not shown");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lines_are_escaped() {
        assert_eq!(escape_line(b"a\tb"), "a\tb");
        assert_eq!(escape_line(b"\x1b[2Jx\r"), "\\x1b[2Jx\\x0d");
        assert_eq!(escape_line(b"\xff\xfe ok \\"), "\\xff\\xfe ok \\\\");
        assert_eq!(
            escape_line("\u{202e}abc é".as_bytes()),
            "\\xe2\\x80\\xaeabc é"
        );
    }

    #[test]
    fn secrets_binary_and_limits() {
        let salt = [9; 16];
        let a = Snapshot::Secret(Box::new(LineDigests::new(
            salt,
            b"root:$6$a:1\nbin:*:2\nx:*:3\n",
        )));
        let b = Snapshot::Secret(Box::new(LineDigests::new(
            salt,
            b"root:$6$b:1\nbin:*:2\nx:*:3\ny:*:4\n",
        )));
        let d = ContentDiff::between(Some(&a), Some(&b)).unwrap();
        assert_eq!(d.lines_changed(), (vec![1, 4], vec![1]));
        assert_eq!(d.summary(), "secret: line 1 changed, line 4 added");
        assert!(!format!("{d:?}").contains("root"));
        let c = Snapshot::Secret(Box::new(LineDigests::new([8; 16], b"root:$6$a:1\n")));
        assert!(matches!(
            ContentDiff::between(Some(&a), Some(&c)),
            Some(ContentDiff::Unavailable(_))
        ));
        assert!(matches!(
            ContentDiff::between(Some(&a), Some(&text(b"plain\n"))),
            Some(ContentDiff::Unavailable(_))
        ));
        assert_eq!(
            ContentDiff::between(Some(&Snapshot::Binary), Some(&text(b"x"))),
            Some(ContentDiff::Binary)
        );
        let big = Snapshot::TooLarge { limit: FILE_MAX };
        assert_eq!(
            ContentDiff::between(Some(&text(b"x")), Some(&big)).map(|d| d.summary()),
            Some("over the limit of 256 KiB for a diff".into())
        );
        let over = Snapshot::OverBudget { limit: TOTAL_MAX };
        assert!(ContentDiff::between(Some(&over), Some(&text(b"x")))
            .unwrap()
            .summary()
            .contains("64 MiB"));
        assert_eq!(ContentDiff::between(None, None), None);
        assert!(ContentDiff::between(None, Some(&text(b"x")))
            .unwrap()
            .summary()
            .contains("baseline kept no snapshot"));
        let old: Vec<[u8; 8]> = vec![[1; 8], [2; 8], [3; 8]];
        let new: Vec<[u8; 8]> = vec![[1; 8], [3; 8]];
        assert_eq!(
            secret_hunks(&old, &new),
            [Hunk {
                old_start: 2,
                old_len: 1,
                new_start: 1,
                new_len: 0
            }]
        );
    }
}
