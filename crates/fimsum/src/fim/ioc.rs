//! Known-bad hash lists (`--ioc FILE`): loading them and looking digests up in them.
//!
//! Lists come in the shapes people actually download or paste, and one reader takes them
//! all, so that nobody has to massage a feed before using it:
//! - one hex hash per line;
//! - `md5sum`/`sha256sum` output (`<hex>  name`, `<hex> *name`, a leading `\` for escaped
//!   names) and BSD/`--tag`/`openssl dgst` output (`SHA256 (name) = <hex>`);
//! - CSV with a header row that names its `md5`/`sha1`/`sha256` columns, quoted or not,
//!   fields separated by `,` or `, `: the MalwareBazaar export, whose header row sits in a
//!   `# "first_seen_utc","sha256_hash",...` comment, or `Get-FileHash | Export-Csv`;
//! - `#` comments, blank lines, CRLF line endings and a UTF-8 byte order mark anywhere.
//!
//! The kind of every hash comes from its length (32 hex digits = md5, 40 = sha1, 64 =
//! sha256), never from the file name or a `--type` option: a list that mixes kinds is
//! therefore fine, and MalwareBazaar rows, which carry all three, put each in its own table.
//!
//! Scale: feeds hold millions of hashes, and every scanned file costs one lookup per
//! digest, so the file is read in buffered chunks with one reused line buffer (no
//! allocation per line, and the text is never held whole), each hash is stored
//! as raw bytes in a sorted `Vec` (no per-entry allocation, half the size of hex), and a
//! lookup goes straight to a small bucket through an index on the leading bits of the
//! digest. Digests are uniformly random, so those bits spread entries evenly without any
//! hashing, and a crafted list that crowds one bucket only degrades to a binary search.

use std::cmp::Ordering;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use crate::hex::{decode, is_hex};

/// A line longer than this is not a hash list line; the cap keeps a wrong file (a binary
/// or one huge JSON line) from being buffered whole before it is rejected.
const MAX_LINE: usize = 1 << 20;

pub use crate::hash::HashKind;

/// A failure to use one list. Every variant carries the list's path because a run takes
/// several `--ioc` options and the user must know which file to fix.
#[derive(Debug)]
pub enum IocError {
    /// The list cannot be opened or read.
    Io {
        /// The list.
        path: PathBuf,
        /// Why it could not be read.
        source: io::Error,
    },
    /// A line is neither blank, a comment, nor a hash in a known format. `line` is 1-based;
    /// 0 means the file as a whole (too many hashes).
    Parse {
        /// The list.
        path: PathBuf,
        /// The line, 1-based; 0 for the file as a whole.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// None of the list's hash kinds is computed by this run, so it could never match.
    NotCovered {
        /// The list.
        path: PathBuf,
        /// The kinds the list holds.
        held: Vec<HashKind>,
        /// The kinds the run computes.
        available: Vec<HashKind>,
        /// The kind to add: the one most of the list's hashes are.
        suggest: HashKind,
    },
}

impl fmt::Display for IocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IocError::Io { path, source } => write!(f, "{}: {}", path.display(), source),
            IocError::Parse {
                path,
                line: 0,
                reason,
            } => write!(f, "{}: {}", path.display(), reason),
            IocError::Parse { path, line, reason } => {
                write!(f, "{}:{}: {}", path.display(), line, reason)
            }
            IocError::NotCovered {
                path,
                held,
                available,
                suggest,
            } => {
                let records = if available.is_empty() {
                    "no md5, sha1 or sha256 digest".to_string()
                } else {
                    format!("only {}", join_kinds(available))
                };
                write!(
                    f,
                    "{}: holds {} hashes but the scan records {}; add --digest {}",
                    path.display(),
                    join_kinds(held),
                    records,
                    suggest
                )
            }
        }
    }
}

impl std::error::Error for IocError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IocError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// "md5", "md5 and sha1", "md5, sha1 and sha256".
fn join_kinds(kinds: &[HashKind]) -> String {
    let mut out = String::new();
    for (i, kind) in kinds.iter().enumerate() {
        if i > 0 {
            out.push_str(if i + 1 == kinds.len() { " and " } else { ", " });
        }
        out.push_str(kind.name());
    }
    out
}

/// One loaded `--ioc` file: what a report needs to name it and what `IocSet::require`
/// needs to check it.
#[derive(Clone, Debug)]
pub struct IocList {
    path: PathBuf,
    /// Distinct hashes of each kind in this file, indexed by [`HashKind::slot`].
    counts: [u64; 3],
}

impl IocList {
    /// The file, as it was given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Distinct hashes of `kind` in this file (counted before duplicates with earlier lists
    /// are dropped, so it describes the file, not what it adds to the set).
    pub fn count(&self, kind: HashKind) -> u64 {
        self.counts[kind.slot()]
    }

    /// Distinct hashes of every kind in this file.
    pub fn len(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Whether the file holds no hash.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The kinds of hash the file holds.
    pub fn kinds(&self) -> impl Iterator<Item = HashKind> + '_ {
        HashKind::ALL.into_iter().filter(|k| self.count(*k) > 0)
    }
}

/// A digest found in a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Hit<'a> {
    /// The list as it was given to [`IocSet::load`].
    pub list: &'a Path,
    /// 1-based line number in that file, counting blank and comment lines, so that an
    /// editor's "go to line" lands on it.
    pub line: u64,
    pub kind: HashKind,
}

/// Every `--ioc` list of a run, merged for lookup.
///
/// A hash that occurs more than once (within one list or across lists) keeps its first
/// occurrence: lists are loaded in command-line order, so a hit names the first list and
/// the first line that holds it, which is stable from run to run and what a user who
/// greps for the hash finds first.
#[derive(Debug, Default)]
pub struct IocSet {
    lists: Vec<IocList>,
    md5: Table<16>,
    sha1: Table<20>,
    sha256: Table<32>,
}

impl IocSet {
    /// An empty set, matching nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one list and adds its hashes. On error the set is unchanged, so a caller that
    /// reports the error and goes on never works with half a list.
    ///
    /// An empty list (or one of comments only) is not an error: a daily feed can be empty,
    /// and failing a scheduled scan over that would be worse than scanning without it. The
    /// caller can warn about it through [`IocSet::lists`].
    pub fn load(&mut self, path: &Path) -> Result<(), IocError> {
        let io_error = |source| IocError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = crate::input::open_file(path).map_err(io_error)?;
        let list = u32::try_from(self.lists.len()).map_err(|_| IocError::Parse {
            path: path.to_path_buf(),
            line: 0,
            reason: "too many lists".to_string(),
        })?;
        let mut parsed = Parsed::new(list);
        if let Err(err) = parse(BufReader::with_capacity(1 << 20, file), &mut parsed) {
            return Err(match err {
                ParseError::Io(source) => io_error(source),
                ParseError::Line(line, reason) => IocError::Parse {
                    path: path.to_path_buf(),
                    line,
                    reason,
                },
            });
        }
        // Entry positions are stored as u32 in the bucket index.
        let too_many = |table_len: usize, new_len: usize| table_len + new_len > u32::MAX as usize;
        if too_many(self.md5.entries.len(), parsed.md5.len())
            || too_many(self.sha1.entries.len(), parsed.sha1.len())
            || too_many(self.sha256.entries.len(), parsed.sha256.len())
        {
            return Err(IocError::Parse {
                path: path.to_path_buf(),
                line: 0,
                reason: "more than 4294967295 hashes of one kind over all lists".to_string(),
            });
        }
        let counts = [
            self.md5.add(parsed.md5),
            self.sha1.add(parsed.sha1),
            self.sha256.add(parsed.sha256),
        ];
        self.lists.push(IocList {
            path: path.to_path_buf(),
            counts,
        });
        Ok(())
    }

    /// The lists loaded so far, in load order.
    pub fn lists(&self) -> &[IocList] {
        &self.lists
    }

    /// The kinds present in at least one list, which are the digests worth computing.
    pub fn kinds(&self) -> impl Iterator<Item = HashKind> + '_ {
        HashKind::ALL.into_iter().filter(|k| self.kind_len(*k) > 0)
    }

    /// Checks that every non-empty list can match something given the digests the run
    /// computes (`available`).
    ///
    /// A list needs only one of its kinds covered, not all: a MalwareBazaar export lists
    /// each sample's md5, sha1 and sha256, and any one of them identifies the sample, so
    /// demanding all three would force useless work. A list none of whose kinds is covered
    /// would silently never match, which looks exactly like a clean scan; that is the error.
    pub(crate) fn require(&self, available: &[HashKind]) -> Result<(), IocError> {
        for list in &self.lists {
            if list.is_empty() || list.kinds().any(|k| available.contains(&k)) {
                continue;
            }
            // Suggest the kind that covers most of the list; on a tie the stronger one.
            let suggest = list
                .kinds()
                .max_by_key(|k| (list.count(*k), *k))
                .unwrap_or(HashKind::Sha256);
            let mut available = available.to_vec();
            available.sort();
            available.dedup();
            return Err(IocError::NotCovered {
                path: list.path.clone(),
                held: list.kinds().collect(),
                available,
                suggest,
            });
        }
        Ok(())
    }

    /// Looks up a raw digest (16, 20 or 32 bytes for md5, sha1, sha256). A digest of the
    /// wrong length for `kind` is simply not found.
    pub(crate) fn lookup(&self, kind: HashKind, digest: &[u8]) -> Option<Hit<'_>> {
        let at = match kind {
            HashKind::Md5 => self.md5.get(digest),
            HashKind::Sha1 => self.sha1.get(digest),
            HashKind::Sha256 => self.sha256.get(digest),
        }?;
        let list = self.lists.get(at.list as usize)?;
        Some(Hit {
            list: &list.path,
            line: u64::from(at.line),
            kind,
        })
    }

    /// Distinct hashes over all lists and kinds.
    pub fn len(&self) -> usize {
        HashKind::ALL.into_iter().map(|k| self.kind_len(k)).sum()
    }

    /// Whether no list holds a hash.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn kind_len(&self, kind: HashKind) -> usize {
        match kind {
            HashKind::Md5 => self.md5.entries.len(),
            HashKind::Sha1 => self.sha1.entries.len(),
            HashKind::Sha256 => self.sha256.entries.len(),
        }
    }
}

/// Where a hash was found. Both numbers fit `u32` (a list with 4 billion lines would be
/// over 100 GB), which keeps an sha256 entry at 40 bytes instead of 48.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct At {
    list: u32,
    line: u32,
}

#[derive(Clone, Copy, Debug)]
struct Entry<const N: usize> {
    digest: [u8; N],
    at: At,
}

/// Orders by digest, then by load order, so that after sorting the first of equal
/// digests is the one to keep. The leading 8 bytes are compared as one integer first: for
/// random digests they almost always decide, which spares a `memcmp` call per comparison.
fn cmp_by_digest<const N: usize>(a: &Entry<N>, b: &Entry<N>) -> Ordering {
    lead(&a.digest)
        .cmp(&lead(&b.digest))
        .then_with(|| a.digest.cmp(&b.digest))
        .then(a.at.list.cmp(&b.at.list))
        .then(a.at.line.cmp(&b.at.line))
}

/// The leading 8 bytes of a digest as a big-endian integer, which orders like the bytes.
fn lead<const N: usize>(digest: &[u8; N]) -> u64 {
    let mut top = [0u8; 8];
    for (dst, src) in top.iter_mut().zip(digest) {
        *dst = *src;
    }
    u64::from_be_bytes(top)
}

/// Sorted digests of one length plus a bucket index on their leading bits.
///
/// Why not a `HashSet`: with its power-of-two capacity at most 7/8 full, a hash table
/// takes 1.15 to 2.3 times the entries' memory, a sorted `Vec` exactly that plus a few MiB
/// of index. A lookup is one probe into the index and a binary search over a handful of
/// neighbouring entries: two cache misses on a big list, where a hash probe has one, but
/// a lookup follows the hashing of a whole file, so memory is the scarcer resource.
#[derive(Debug)]
struct Table<const N: usize> {
    entries: Vec<Entry<N>>,
    /// `index[b]..index[b + 1]` are the entries whose top `bits` bits equal `b`.
    index: Vec<u32>,
    bits: u32,
}

impl<const N: usize> Default for Table<N> {
    fn default() -> Self {
        Table {
            entries: Vec::new(),
            index: Vec::new(),
            bits: 0,
        }
    }
}

impl<const N: usize> Table<N> {
    /// Adds one list's entries; returns how many distinct digests that list holds.
    fn add(&mut self, mut new: Vec<Entry<N>>) -> u64 {
        if new.is_empty() {
            return 0;
        }
        sort_dedup(&mut new);
        let distinct = new.len() as u64;
        if self.entries.is_empty() {
            self.entries = new;
        } else {
            self.entries.append(&mut new);
            sort_dedup(&mut self.entries);
        }
        self.entries.shrink_to_fit();
        self.reindex();
        distinct
    }

    fn reindex(&mut self) {
        let n = self.entries.len();
        // About one entry per bucket, at most 2^20 buckets (4 MiB of index): a
        // 10-million-hash list then has about ten entries per bucket.
        self.bits = n.checked_ilog2().unwrap_or(0).min(20);
        let buckets = 1usize << self.bits;
        let mut index = vec![0u32; buckets + 1];
        // Entries are sorted, so bucket numbers only grow: one pass sets every boundary.
        let mut bucket = 0usize;
        for (i, entry) in self.entries.iter().enumerate() {
            let b = self.bucket(&entry.digest);
            while bucket < b {
                bucket += 1;
                if let Some(slot) = index.get_mut(bucket) {
                    *slot = i as u32;
                }
            }
        }
        for slot in index.iter_mut().skip(bucket + 1) {
            *slot = n as u32;
        }
        self.index = index;
    }

    fn bucket(&self, digest: &[u8; N]) -> usize {
        // With 0 bits the shift would be 64, which `>>` rejects; every digest is in bucket 0.
        lead(digest).checked_shr(64 - self.bits).unwrap_or(0) as usize
    }

    fn get(&self, digest: &[u8]) -> Option<At> {
        let digest: &[u8; N] = digest.try_into().ok()?;
        let b = self.bucket(digest);
        let start = *self.index.get(b)? as usize;
        let end = *self.index.get(b + 1)? as usize;
        let bucket = self.entries.get(start..end)?;
        // Leading 8 bytes first, as in `cmp_by_digest`: a `memcmp` call per probe was a
        // visible part of a lookup.
        let key = lead(digest);
        let i = bucket
            .binary_search_by(|e| lead(&e.digest).cmp(&key).then_with(|| e.digest.cmp(digest)))
            .ok()?;
        bucket.get(i).map(|e| e.at)
    }
}

fn sort_dedup<const N: usize>(entries: &mut Vec<Entry<N>>) {
    entries.sort_unstable_by(cmp_by_digest);
    // `dedup_by` keeps the first of each run, which the sort made the earliest occurrence.
    entries.dedup_by(|later, first| later.digest == first.digest);
}

/// One list's hashes before they are merged into the set.
struct Parsed {
    list: u32,
    md5: Vec<Entry<16>>,
    sha1: Vec<Entry<20>>,
    sha256: Vec<Entry<32>>,
}

impl Parsed {
    fn new(list: u32) -> Self {
        Parsed {
            list,
            md5: Vec::new(),
            sha1: Vec::new(),
            sha256: Vec::new(),
        }
    }

    /// Decodes and stores one hash; false if `hex` is not a hash of a valid length.
    fn try_push(&mut self, hex: &[u8], line: u32) -> bool {
        let at = At {
            list: self.list,
            line,
        };
        match HashKind::from_hex_len(hex.len()) {
            Some(HashKind::Md5) => decode(hex).map(|digest| self.md5.push(Entry { digest, at })),
            Some(HashKind::Sha1) => decode(hex).map(|digest| self.sha1.push(Entry { digest, at })),
            Some(HashKind::Sha256) => {
                decode(hex).map(|digest| self.sha256.push(Entry { digest, at }))
            }
            None => None,
        }
        .is_some()
    }

    fn push(&mut self, hex: &[u8], line: u32) -> Result<(), String> {
        if self.try_push(hex, line) {
            Ok(())
        } else {
            Err(not_a_hash(hex))
        }
    }

    /// Stores the hash of a plain-list line (see [`plain_hash`]).
    ///
    /// Fast path first: nearly every line is a hash at the start of the line, alone or
    /// followed by a blank, so try the three lengths directly and decode, which also
    /// validates, in one pass. It accepts exactly the lines where [`plain_hash`] would
    /// find the same token: a decoded token has no blank in it, so the blank after it is
    /// the first one. Everything else (and every error message) goes the general way.
    fn push_plain(&mut self, line: &[u8], number: u32) -> Result<(), String> {
        for len in [64, 40, 32] {
            if line.len() == len || matches!(line.get(len), Some(b' ' | b'\t')) {
                if let Some(token) = line.get(..len) {
                    if self.try_push(token, number) {
                        return Ok(());
                    }
                }
            }
        }
        let hex = plain_hash(line)?;
        self.push(hex, number)
    }
}

/// The message for a token that should have been a hash.
fn not_a_hash(token: &[u8]) -> String {
    if is_hex(token) && !token.is_empty() {
        format!(
            "{} has {} hex digits; a hash has 32 (md5), 40 (sha1) or 64 (sha256)",
            quote(token),
            token.len()
        )
    } else {
        format!(
            "expected a hex md5, sha1 or sha256 hash, found {}",
            quote(token)
        )
    }
}

/// Shows user bytes in a message: escaped, and cut short so a huge line stays readable.
fn quote(bytes: &[u8]) -> String {
    const SHOWN: usize = 72;
    let cut = bytes.get(..SHOWN).unwrap_or(bytes);
    let text = format!("{:?}", String::from_utf8_lossy(cut));
    if cut.len() < bytes.len() {
        format!("{text}...")
    } else {
        text
    }
}

enum ParseError {
    Io(io::Error),
    Line(u64, String),
}

/// What the lines seen so far say about the file's format.
enum Mode {
    /// No data line yet. Holds the columns of the last header-like comment, because
    /// MalwareBazaar writes its header row as a comment: `# "first_seen_utc","sha256_hash"`.
    Start(Option<Vec<Column>>),
    /// One hash per line, optionally followed by a file name.
    Plain,
    /// Rows of a CSV file whose header named these hash columns.
    Csv(Vec<Column>),
}

/// A hash column of a CSV header.
struct Column {
    /// 0-based field number.
    field: usize,
    name: String,
    /// The kind the header names, if it names exactly one; then a value of another length
    /// is an error, since it means the columns are not what the header says.
    kind: Option<HashKind>,
}

fn parse<R: BufRead>(mut reader: R, parsed: &mut Parsed) -> Result<(), ParseError> {
    let mut buf = Vec::with_capacity(4096);
    let mut mode = Mode::Start(None);
    let mut number: u64 = 0;
    loop {
        buf.clear();
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(ParseError::Io)?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        let fail = |reason: String| ParseError::Line(number, reason);
        if buf.len() > MAX_LINE {
            return Err(fail(format!(
                "line is longer than {MAX_LINE} bytes; is this a hash list?"
            )));
        }
        if number == 1 && (buf.starts_with(b"\xff\xfe") || buf.starts_with(b"\xfe\xff")) {
            return Err(fail(
                "the file is UTF-16 (as Windows PowerShell writes); \
                 convert it to UTF-8, e.g. iconv -f UTF-16 -t UTF-8"
                    .to_string(),
            ));
        }
        // A BOM is stripped from any line, not just the first: lists are often made by
        // concatenating files saved by Windows tools, each with its own.
        let line = trim(buf.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&buf));
        if line.is_empty() {
            continue;
        }
        let line_u32 =
            u32::try_from(number).map_err(|_| fail("more than 4294967295 lines".to_string()))?;
        if let Some(comment) = line.strip_prefix(b"#") {
            if let Mode::Start(header) = &mut mode {
                // `# "first_seen_utc",...`, also `## md5,name` or `#md5,name`.
                let start = comment
                    .iter()
                    .position(|&b| b != b'#')
                    .unwrap_or(comment.len());
                let comment = trim(comment.get(start..).unwrap_or_default());
                if comment.contains(&b',') {
                    if let Some(columns) = header_columns(comment) {
                        *header = Some(columns);
                    }
                }
            }
            continue;
        }
        match &mut mode {
            Mode::Plain => parsed.push_plain(line, line_u32).map_err(fail)?,
            Mode::Csv(columns) => {
                if let Err(reason) = csv_row(line, columns, line_u32, parsed) {
                    // The header again: exports concatenated with `cat`. Checked only
                    // after a row fails, and a header row fails before storing anything.
                    if header_row(line).is_some_and(|again| same_columns(&again, columns)) {
                        continue;
                    }
                    return Err(fail(reason));
                }
            }
            Mode::Start(header) => {
                // The first data line decides the format. A line that parses as a hash
                // makes the file a plain list even after a header-like comment, so a
                // `sha256sum` file with a comma in a file name stays a plain list.
                match parsed.push_plain(line, line_u32) {
                    Ok(()) => mode = Mode::Plain,
                    Err(plain_reason) => {
                        if let Some(columns) = header_row(line) {
                            mode = Mode::Csv(columns);
                        } else if let Some(columns) = header.take().filter(|_| line.contains(&b','))
                        {
                            csv_row(line, &columns, line_u32, parsed).map_err(fail)?;
                            mode = Mode::Csv(columns);
                        } else if line.contains(&b',') {
                            return Err(fail(format!(
                                "{plain_reason} (a CSV list needs a header row naming its \
                                 md5, sha1 or sha256 columns)"
                            )));
                        } else {
                            return Err(fail(plain_reason));
                        }
                    }
                }
            }
        }
    }
}

/// Strips ASCII whitespace (including the `\r` of CRLF and the `\n`) from both ends.
fn trim(bytes: &[u8]) -> &[u8] {
    bytes.trim_ascii()
}

/// The hex hash of a plain-list line, `md5sum`-style line or BSD-tag line. Whatever follows
/// the hash (a file name, a comment) is ignored: the list says which content is bad, and
/// the name it had where someone found it says nothing about where it is here.
fn plain_hash(line: &[u8]) -> Result<&[u8], String> {
    // md5sum writes `\` before the hash when it escaped the file name.
    let unescaped = match line.strip_prefix(b"\\") {
        Some(rest) if rest.first().is_some_and(u8::is_ascii_hexdigit) => rest,
        _ => line,
    };
    let end = unescaped
        .iter()
        .position(|&b| b == b' ' || b == b'\t')
        .unwrap_or(unescaped.len());
    let token = unescaped.get(..end).unwrap_or(unescaped);
    let valid = |hex: &[u8]| HashKind::from_hex_len(hex.len()).is_some() && is_hex(hex);
    if valid(token) {
        return Ok(token);
    }
    match bsd_tag_hash(line) {
        Some(hex) if valid(hex) => Ok(hex),
        _ => Err(not_a_hash(token)),
    }
}

/// The hash of `SHA256 (name) = <hex>` (BSD `md5`, `sha256sum --tag`) or
/// `SHA256(name)= <hex>` (`openssl dgst`). The tag must contain a non-hex letter, so that
/// a plain hash followed by a name in parentheses is not taken for one.
fn bsd_tag_hash(line: &[u8]) -> Option<&[u8]> {
    let tag_len = line
        .iter()
        .position(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))?;
    let (tag, rest) = line.split_at(tag_len);
    if tag.is_empty() || is_hex(tag) {
        return None;
    }
    if !(rest.starts_with(b"(") || rest.starts_with(b" (")) {
        return None;
    }
    let eq = rest.iter().rposition(|&b| b == b'=')?;
    let before = trim(rest.get(..eq)?);
    if !before.ends_with(b")") {
        return None;
    }
    Some(trim(rest.get(eq + 1..)?))
}

/// Splits one CSV line into fields: `,` separated, optionally double-quoted with `""` for a
/// quote inside, blanks around fields ignored. Quoted fields may hold commas (MalwareBazaar
/// file names do), but not newlines: each line is one row.
struct Fields<'a> {
    rest: Option<&'a [u8]>,
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?.trim_ascii_start();
        if let Some(quoted) = rest.strip_prefix(b"\"") {
            // Find the closing quote, stepping over doubled ones. An unterminated quote
            // takes the rest of the line.
            let mut i = 0;
            let close = loop {
                match quoted.get(i) {
                    None => break None,
                    Some(b'"') if quoted.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => break Some(i),
                    Some(_) => i += 1,
                }
            };
            let Some(close) = close else {
                self.rest = None;
                return Some(quoted);
            };
            let (field, after) = quoted.split_at(close);
            // Anything between the closing quote and the next comma is dropped.
            self.rest = after
                .iter()
                .position(|&b| b == b',')
                .and_then(|comma| after.get(comma + 1..));
            Some(field)
        } else {
            match rest.iter().position(|&b| b == b',') {
                Some(comma) => {
                    self.rest = rest.get(comma + 1..);
                    rest.get(..comma).map(<[u8]>::trim_ascii_end)
                }
                None => {
                    self.rest = None;
                    Some(rest.trim_ascii_end())
                }
            }
        }
    }
}

fn fields(line: &[u8]) -> Fields<'_> {
    Fields { rest: Some(line) }
}

/// The hash columns of a header row, or `None` if it names none.
///
/// A column is a hash column if its name, lowercased and stripped of everything but
/// letters and digits, contains `md5`, `sha1` or `sha256` (`sha256_hash`, `MD5`, `SHA-1`),
/// or is exactly `hash` (`Get-FileHash | Export-Csv` writes `"Algorithm","Hash","Path"`;
/// its kind then comes from each value's length). Substring matching would also take
/// `imphash` for a `hash` column, hence the exact match for that one.
fn header_columns(line: &[u8]) -> Option<Vec<Column>> {
    let mut columns = Vec::new();
    for (field, name) in fields(line).enumerate() {
        let norm = normalize(name);
        let named: Vec<HashKind> = HashKind::ALL
            .into_iter()
            .filter(|k| norm.contains(k.name()))
            .collect();
        let kind = match named.as_slice() {
            [kind] => Some(*kind),
            [] if norm == "hash" => None,
            [] => continue,
            _ => None,
        };
        columns.push(Column {
            field,
            name: String::from_utf8_lossy(name).into_owned(),
            kind,
        });
    }
    (!columns.is_empty()).then_some(columns)
}

/// A header row that is not a comment.
///
/// A row holding a hash in any field is data, not a header, even if a field names a hash
/// kind: a MalwareBazaar row whose file name is `sha1sum.exe` must not replace the
/// commented header. Without a comma the row must be nothing but a column name like
/// `sha256`, so that a stray first line such as `MD5 checksums:` is reported as the bad
/// line it is rather than taken for a one-column header.
fn header_row(line: &[u8]) -> Option<Vec<Column>> {
    let is_hash = |field: &[u8]| {
        let field = trim(field);
        HashKind::from_hex_len(field.len()).is_some() && is_hex(field)
    };
    if fields(line).any(is_hash) {
        return None;
    }
    let columns = header_columns(line)?;
    if line.contains(&b',') {
        return Some(columns);
    }
    let name = normalize(columns.first()?.name.as_bytes());
    [
        "md5",
        "sha1",
        "sha256",
        "hash",
        "md5hash",
        "sha1hash",
        "sha256hash",
    ]
    .contains(&name.as_str())
    .then_some(columns)
}

fn same_columns(a: &[Column], b: &[Column]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| a.field == b.field && a.name == b.name)
}

/// A column name lowercased and stripped of everything but ASCII letters and digits, so
/// that `SHA-256`, `sha_256` and `"Sha256"` compare alike.
fn normalize(name: &[u8]) -> String {
    name.iter()
        .filter(|b| b.is_ascii_alphanumeric())
        .map(|b| char::from(b.to_ascii_lowercase()))
        .collect()
}

/// Stores the hashes of one CSV row. An empty or `n/a` cell (MalwareBazaar's marker for a
/// missing value) is skipped: rows of an export need not all carry every kind.
fn csv_row(
    line: &[u8],
    columns: &[Column],
    number: u32,
    parsed: &mut Parsed,
) -> Result<(), String> {
    let mut wanted = columns.iter().peekable();
    let mut count = 0;
    for (field, value) in fields(line).enumerate() {
        count = field + 1;
        let Some(column) = wanted.next_if(|c| c.field == field) else {
            continue;
        };
        let value = trim(value);
        if value.is_empty() || value.eq_ignore_ascii_case(b"n/a") {
            continue;
        }
        // `try_push` validates while it decodes, so a valid value is read only once.
        let found = HashKind::from_hex_len(value.len());
        let fits = column.kind.is_none_or(|named| Some(named) == found);
        if !(fits && parsed.try_push(value, number)) {
            return Err(match (found, column.kind) {
                (Some(found), Some(named)) if is_hex(value) => format!(
                    "field {} ({}) holds a {}-digit {} hash, expected a {}-digit {}",
                    field + 1,
                    column.name,
                    value.len(),
                    found,
                    named.digest_len() * 2,
                    named
                ),
                _ => format!(
                    "field {} ({}): {}",
                    field + 1,
                    column.name,
                    not_a_hash(value)
                ),
            });
        }
        if wanted.peek().is_none() {
            return Ok(());
        }
    }
    match wanted.next() {
        Some(column) => Err(format!(
            "row has {} fields but the header puts {} in field {}",
            count,
            column.name,
            column.field + 1
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};

    /// A directory of test lists, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> TempDir {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let n = NEXT.fetch_add(1, AtomicOrdering::Relaxed);
            let dir = std::env::temp_dir().join(format!("fimsum-ioc-{}-{}", std::process::id(), n));
            fs::create_dir_all(&dir).expect("create temp dir");
            TempDir(dir)
        }

        fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
            let path = self.0.join(name);
            fs::write(&path, content).expect("write list");
            path
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const MD5_EMPTY: &str = "d41d8cd98f00b204e9800998ecf8427e";
    const SHA1_EMPTY: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    const SHA256_EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const MD5_ABC: &str = "900150983cd24fb0d6963f7d28e17f72";
    const SHA256_ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn bytes(hex: &str) -> Vec<u8> {
        let mut out = vec![0; hex.len() / 2];
        assert!(crate::hex::decode_into(hex.as_bytes(), &mut out));
        out
    }

    fn kind_of(hex: &str) -> HashKind {
        HashKind::from_hex_len(hex.len()).unwrap()
    }

    /// The line a hash was found on, or None.
    fn line_of(set: &IocSet, hex: &str) -> Option<u64> {
        set.lookup(kind_of(hex), &bytes(hex)).map(|hit| hit.line)
    }

    fn load(content: impl AsRef<[u8]>) -> (TempDir, PathBuf, Result<IocSet, IocError>) {
        let dir = TempDir::new();
        let path = dir.write("list.txt", content);
        let mut set = IocSet::new();
        let result = set.load(&path).map(|()| set);
        (dir, path, result)
    }

    fn load_ok(content: impl AsRef<[u8]>) -> IocSet {
        let (_dir, _path, result) = load(content);
        result.expect("list loads")
    }

    /// The line number and reason of a parse error, checking it names the file.
    fn load_err(content: impl AsRef<[u8]>) -> (u64, String) {
        let (_dir, path, result) = load(content);
        match result {
            Err(err @ IocError::Parse { .. }) => {
                let text = err.to_string();
                let IocError::Parse {
                    path: err_path,
                    line,
                    reason,
                } = err
                else {
                    unreachable!()
                };
                assert_eq!(err_path, path);
                assert_eq!(text, format!("{}:{}: {}", path.display(), line, reason));
                (line, reason)
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn hash_kind_from_length() {
        assert_eq!(HashKind::from_hex_len(32), Some(HashKind::Md5));
        assert_eq!(HashKind::from_hex_len(40), Some(HashKind::Sha1));
        assert_eq!(HashKind::from_hex_len(64), Some(HashKind::Sha256));
        assert_eq!(HashKind::from_hex_len(31), None);
        assert_eq!(HashKind::from_hex_len(128), None);
        for kind in HashKind::ALL {
            assert_eq!(HashKind::from_hex_len(kind.digest_len() * 2), Some(kind));
        }
        assert_eq!(HashKind::Sha256.to_string(), "sha256");
    }

    #[test]
    fn plain_list_one_hash_per_line() {
        let set = load_ok(format!("{MD5_EMPTY}\n{SHA1_EMPTY}\n{SHA256_EMPTY}\n"));
        assert_eq!(set.len(), 3);
        assert_eq!(line_of(&set, MD5_EMPTY), Some(1));
        assert_eq!(line_of(&set, SHA1_EMPTY), Some(2));
        assert_eq!(line_of(&set, SHA256_EMPTY), Some(3));
        assert_eq!(
            set.kinds().collect::<Vec<_>>(),
            [HashKind::Md5, HashKind::Sha1, HashKind::Sha256]
        );
    }

    #[test]
    fn last_line_without_newline() {
        let set = load_ok(format!("{MD5_EMPTY}\n{MD5_ABC}"));
        assert_eq!(line_of(&set, MD5_ABC), Some(2));
    }

    #[test]
    fn md5sum_format_both_separators() {
        let set = load_ok(format!(
            "{MD5_EMPTY}  empty file\n{MD5_ABC} *bin/abc.exe\n\\{SHA1_EMPTY}  odd\\nname\n"
        ));
        assert_eq!(set.len(), 3);
        assert_eq!(line_of(&set, MD5_EMPTY), Some(1));
        assert_eq!(line_of(&set, MD5_ABC), Some(2));
        assert_eq!(line_of(&set, SHA1_EMPTY), Some(3));
    }

    #[test]
    fn sha256sum_format() {
        let set = load_ok(format!(
            "{SHA256_EMPTY}  /tmp/empty\n{SHA256_ABC}  name with  spaces, and commas\n"
        ));
        assert_eq!(set.kinds().collect::<Vec<_>>(), [HashKind::Sha256]);
        assert_eq!(line_of(&set, SHA256_EMPTY), Some(1));
        assert_eq!(line_of(&set, SHA256_ABC), Some(2));
    }

    #[test]
    fn bsd_tag_and_openssl_formats() {
        let set = load_ok(format!(
            "MD5 (empty) = {MD5_EMPTY}\nSHA256(abc)= {SHA256_ABC}\n"
        ));
        assert_eq!(line_of(&set, MD5_EMPTY), Some(1));
        assert_eq!(line_of(&set, SHA256_ABC), Some(2));
    }

    #[test]
    fn malwarebazaar_csv() {
        let list = format!(
            "################################################################\n\
             # MalwareBazaar recent malware samples (CSV)                   #\n\
             # Last updated: 2026-05-01 10:00:00 UTC                        #\n\
             ################################################################\n\
             #\n\
             # \"first_seen_utc\",\"sha256_hash\",\"md5_hash\",\"sha1_hash\",\"reporter\",\"file_name\",\"file_type_guess\",\"mime_type\",\"signature\",\"clamav\",\"vtpercent\",\"imphash\",\"ssdeep\",\"tlsh\"\n\
             \"2026-05-01 09:59:01\", \"{SHA256_EMPTY}\", \"{MD5_EMPTY}\", \"{SHA1_EMPTY}\", \"abuse_ch\", \"a, \"\"b\"\".exe\", \"exe\", \"application/x-dosexec\", \"n/a\", \"n/a\", \"n/a\", \"f34d5f2d4577ed6d9ceec516c1f5a744\", \"96:x\", \"T1\"\n\
             \"2026-05-01 09:58:00\", \"{SHA256_ABC}\", \"\", \"n/a\", \"anonymous\", \"x.sh\", \"sh\", \"text/x-shellscript\", \"n/a\", \"n/a\", \"n/a\", \"n/a\", \"3:y\", \"T2\"\n\
             # \"first_seen_utc\",\"bogus\"\n\
             \"2026-05-01 09:57:00\",\"{}\",\"{MD5_ABC}\",\"\"\n",
            "AB".repeat(32)
        );
        let set = load_ok(list);
        assert_eq!(line_of(&set, SHA256_EMPTY), Some(7));
        assert_eq!(line_of(&set, MD5_EMPTY), Some(7));
        assert_eq!(line_of(&set, SHA1_EMPTY), Some(7));
        assert_eq!(line_of(&set, SHA256_ABC), Some(8));
        assert_eq!(line_of(&set, MD5_ABC), Some(10));
        assert_eq!(line_of(&set, &"ab".repeat(32)), Some(10));
        // The imphash column is not a hash column, even though it holds an md5-sized value.
        assert_eq!(line_of(&set, "f34d5f2d4577ed6d9ceec516c1f5a744"), None);
        assert_eq!(set.len(), 6);
        let list = &set.lists()[0];
        assert_eq!(
            (
                list.count(HashKind::Md5),
                list.count(HashKind::Sha1),
                list.count(HashKind::Sha256)
            ),
            (2, 1, 3)
        );
    }

    #[test]
    fn csv_header_row_unquoted_any_case() {
        let set = load_ok(format!(
            "name,MD5,SHA-1\r\nempty,{MD5_EMPTY},{SHA1_EMPTY}\r\nabc,{MD5_ABC},\r\n"
        ));
        assert_eq!(line_of(&set, MD5_EMPTY), Some(2));
        assert_eq!(line_of(&set, SHA1_EMPTY), Some(2));
        assert_eq!(line_of(&set, MD5_ABC), Some(3));
        assert_eq!(set.len(), 3);
    }

    #[test]
    fn csv_single_column_header() {
        for header in ["sha256", "\"SHA-256\"", "sha256_hash"] {
            let set = load_ok(format!("{header}\n{SHA256_ABC}\n\n{SHA256_EMPTY}\n"));
            assert_eq!(line_of(&set, SHA256_ABC), Some(2));
            assert_eq!(line_of(&set, SHA256_EMPTY), Some(4));
            assert_eq!(set.len(), 2);
        }
    }

    #[test]
    fn powershell_get_filehash_csv() {
        let set = load_ok(format!(
            "#TYPE Microsoft.PowerShell.Commands.FileHashInfo\r\n\
             \"Algorithm\",\"Hash\",\"Path\"\r\n\
             \"SHA256\",\"{}\",\"C:\\x\\a.exe\"\r\n\
             \"MD5\",\"{}\",\"C:\\x\\b.exe\"\r\n",
            SHA256_ABC.to_uppercase(),
            MD5_EMPTY.to_uppercase()
        ));
        assert_eq!(line_of(&set, SHA256_ABC), Some(3));
        assert_eq!(line_of(&set, MD5_EMPTY), Some(4));
    }

    #[test]
    fn csv_data_row_naming_a_hash_kind_is_not_a_header() {
        let set = load_ok(format!(
            "# \"sha256_hash\", \"file_name\"\n\"{SHA256_ABC}\", \"sha1sum.exe\"\n\"{SHA256_EMPTY}\", \"x\"\n"
        ));
        assert_eq!(line_of(&set, SHA256_ABC), Some(2));
        assert_eq!(line_of(&set, SHA256_EMPTY), Some(3));
    }

    #[test]
    fn csv_repeated_header_from_concatenation_is_skipped() {
        let set = load_ok(format!(
            "Sha256_Hash,name\n{SHA256_ABC},a\nSha256_Hash,name\n{SHA256_EMPTY},b\n"
        ));
        assert_eq!(line_of(&set, SHA256_ABC), Some(2));
        assert_eq!(line_of(&set, SHA256_EMPTY), Some(4));
        // A different header in the middle is still an error.
        let (line, _) = load_err(format!("sha256,name\n{SHA256_ABC},a\nmd5,name\n"));
        assert_eq!(line, 3);
    }

    #[test]
    fn csv_value_of_the_wrong_kind_is_an_error() {
        let (line, reason) = load_err(format!("md5_hash,file\n{MD5_ABC},a\n{SHA256_ABC},b\n"));
        assert_eq!(line, 3);
        assert_eq!(
            reason,
            "field 1 (md5_hash) holds a 64-digit sha256 hash, expected a 32-digit md5"
        );
    }

    #[test]
    fn csv_bad_cell_and_short_row_are_errors() {
        let (line, reason) = load_err(format!("file,sha1\na,{SHA1_EMPTY}\nb,nothex\n"));
        assert_eq!(line, 3);
        assert!(
            reason.starts_with("field 2 (sha1): expected a hex"),
            "{reason}"
        );
        let (line, reason) = load_err(format!("file,sha1\na,{SHA1_EMPTY}\nb\n"));
        assert_eq!(line, 3);
        assert_eq!(
            reason,
            "row has 1 fields but the header puts sha1 in field 2"
        );
    }

    #[test]
    fn csv_without_header_is_an_error_with_a_hint() {
        let (line, reason) = load_err(format!("# feed\n\"2026-01-01\",\"{SHA256_ABC}\"\n"));
        assert_eq!(line, 2);
        assert!(reason.contains("needs a header row"), "{reason}");
    }

    #[test]
    fn crlf_line_endings() {
        let set = load_ok(format!(
            "# list\r\n\r\n{MD5_EMPTY}\r\n{SHA256_ABC}  abc\r\n"
        ));
        assert_eq!(line_of(&set, MD5_EMPTY), Some(3));
        assert_eq!(line_of(&set, SHA256_ABC), Some(4));
    }

    #[test]
    fn utf8_bom() {
        let set = load_ok(format!("\u{feff}{MD5_EMPTY}\n\u{feff}{MD5_ABC}\n"));
        assert_eq!(line_of(&set, MD5_EMPTY), Some(1));
        assert_eq!(line_of(&set, MD5_ABC), Some(2));
        let set = load_ok(format!("\u{feff}# comment\nsha256\n{SHA256_ABC}\n"));
        assert_eq!(line_of(&set, SHA256_ABC), Some(3));
    }

    #[test]
    fn utf16_is_a_clear_error() {
        let mut utf16 = vec![0xff, 0xfe];
        for unit in MD5_EMPTY.encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        let (line, reason) = load_err(utf16);
        assert_eq!(line, 1);
        assert!(reason.contains("UTF-16"), "{reason}");
    }

    #[test]
    fn uppercase_and_mixed_case_hex() {
        let set = load_ok(format!(
            "{}\n{}\n",
            SHA256_ABC.to_uppercase(),
            "D41D8cd98F00b204e9800998ecf8427E"
        ));
        assert_eq!(line_of(&set, SHA256_ABC), Some(1));
        assert_eq!(line_of(&set, MD5_EMPTY), Some(2));
    }

    #[test]
    fn comments_and_blank_lines_count_as_lines() {
        let set = load_ok(format!(
            "# bad stuff\n\n   \n\t# indented comment\n  {MD5_EMPTY}  \n{MD5_ABC} # inline note\n"
        ));
        assert_eq!(set.len(), 2);
        assert_eq!(line_of(&set, MD5_EMPTY), Some(5));
        assert_eq!(line_of(&set, MD5_ABC), Some(6));
    }

    #[test]
    fn mixed_kinds_in_one_file() {
        let set = load_ok(format!("{MD5_EMPTY}\n{SHA256_EMPTY}\n{MD5_ABC}\n"));
        assert_eq!(
            set.kinds().collect::<Vec<_>>(),
            [HashKind::Md5, HashKind::Sha256]
        );
        assert_eq!(line_of(&set, MD5_ABC), Some(3));
        assert_eq!(line_of(&set, SHA256_EMPTY), Some(2));
    }

    #[test]
    fn parse_errors_name_the_line() {
        let (line, reason) = load_err(format!("# list\n{MD5_EMPTY}\n\nnot a hash\n"));
        assert_eq!(line, 4);
        assert_eq!(
            reason,
            "expected a hex md5, sha1 or sha256 hash, found \"not\""
        );
        let (line, reason) = load_err(format!("{MD5_EMPTY}\n{}\n", &MD5_ABC[1..]));
        assert_eq!(line, 2);
        assert_eq!(
            reason,
            format!(
                "\"{}\" has 31 hex digits; a hash has 32 (md5), 40 (sha1) or 64 (sha256)",
                &MD5_ABC[1..]
            )
        );
        // A stray first line is reported, not taken for a header.
        let (line, _) = load_err(format!("MD5 checksums:\n{MD5_EMPTY}\n"));
        assert_eq!(line, 1);
        // A comma after the hash is not a separator in a plain list.
        let (line, _) = load_err(format!("{MD5_EMPTY}\n{MD5_ABC},x\n"));
        assert_eq!(line, 2);
    }

    #[test]
    fn long_garbage_is_cut_short_in_messages() {
        let (line, reason) = load_err("x".repeat(10_000));
        assert_eq!(line, 1);
        assert!(reason.len() < 200, "{reason}");
        assert!(reason.ends_with("..."), "{reason}");
    }

    #[test]
    fn overlong_line_is_an_error() {
        let (line, reason) = load_err(format!("{MD5_EMPTY}\n{}\n", "a".repeat(MAX_LINE + 10)));
        assert_eq!(line, 2);
        assert!(reason.starts_with("line is longer than"), "{reason}");
    }

    #[test]
    fn binary_junk_does_not_panic() {
        let junk: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let (_dir, _path, result) = load(junk);
        assert!(matches!(result, Err(IocError::Parse { line: 1, .. })));
    }

    #[test]
    fn not_covered_error_names_the_option() {
        let (_dir, path, result) = load(format!("{SHA256_EMPTY}\n"));
        let set = result.unwrap();
        let err = set.require(&[HashKind::Md5]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: holds sha256 hashes but the scan records only md5; add --digest sha256",
                path.display()
            )
        );
        assert!(set.require(&[HashKind::Md5, HashKind::Sha256]).is_ok());
    }

    #[test]
    fn not_covered_suggests_the_most_common_kind() {
        let (_dir, path, result) = load(format!("{MD5_EMPTY}\n{MD5_ABC}\n{SHA256_EMPTY}\n"));
        let set = result.unwrap();
        let err = set.require(&[HashKind::Sha1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: holds md5 and sha256 hashes but the scan records only sha1; add --digest md5",
                path.display()
            )
        );
        // One covered kind is enough for a mixed list.
        assert!(set.require(&[HashKind::Sha256]).is_ok());
        let err = set.require(&[]).unwrap_err();
        assert!(err
            .to_string()
            .contains("records no md5, sha1 or sha256 digest"));
    }

    #[test]
    fn lookup_hit_and_miss() {
        let (_dir, path, result) = load(format!("# x\n{SHA256_ABC}  abc\n{MD5_ABC}\n"));
        let set = result.unwrap();
        let hit = set.lookup(HashKind::Sha256, &bytes(SHA256_ABC)).unwrap();
        assert_eq!(
            hit,
            Hit {
                list: &path,
                line: 2,
                kind: HashKind::Sha256
            }
        );
        assert_eq!(set.lookup(HashKind::Sha256, &bytes(SHA256_EMPTY)), None);
        // Right bytes, wrong kind or wrong length: no hit.
        assert_eq!(set.lookup(HashKind::Sha1, &bytes(MD5_ABC)), None);
        assert_eq!(set.lookup(HashKind::Md5, &bytes(SHA256_ABC)), None);
        assert_eq!(set.lookup(HashKind::Md5, &bytes(MD5_ABC)[..15]), None);
        assert_eq!(set.lookup(HashKind::Md5, &[]), None);
    }

    #[test]
    fn two_lists_and_duplicates_keep_the_first() {
        let dir = TempDir::new();
        let first = dir.write(
            "first.txt",
            format!("{MD5_EMPTY}\n{MD5_ABC}\n{MD5_EMPTY}\n"),
        );
        let second = dir.write(
            "second.csv",
            format!("md5,sha256\n{MD5_ABC},{SHA256_ABC}\n"),
        );
        let mut set = IocSet::new();
        set.load(&first).unwrap();
        set.load(&second).unwrap();
        assert_eq!(set.lists().len(), 2);
        assert_eq!(set.lists()[0].len(), 2);
        assert_eq!(set.lists()[1].len(), 2);
        assert_eq!(set.len(), 3);
        let hit = set.lookup(HashKind::Md5, &bytes(MD5_EMPTY)).unwrap();
        assert_eq!((hit.list, hit.line), (first.as_path(), 1));
        let hit = set.lookup(HashKind::Md5, &bytes(MD5_ABC)).unwrap();
        assert_eq!((hit.list, hit.line), (first.as_path(), 2));
        let hit = set.lookup(HashKind::Sha256, &bytes(SHA256_ABC)).unwrap();
        assert_eq!((hit.list, hit.line), (second.as_path(), 2));
        // Each list is checked on its own: the md5-only list is covered, the other too.
        assert!(set.require(&[HashKind::Md5]).is_ok());
        let err = set.require(&[HashKind::Sha256]).unwrap_err();
        assert!(matches!(err, IocError::NotCovered { ref path, .. } if *path == first));
    }

    #[test]
    fn empty_and_comment_only_files() {
        for content in ["", "\n\n", "# nothing today\n", "\u{feff}"] {
            let set = load_ok(content);
            assert!(set.is_empty());
            assert_eq!(set.len(), 0);
            assert_eq!(set.kinds().count(), 0);
            assert_eq!(set.lists().len(), 1);
            assert!(set.lists()[0].is_empty());
            assert!(set.require(&[HashKind::Md5]).is_ok());
            assert_eq!(set.lookup(HashKind::Md5, &bytes(MD5_EMPTY)), None);
        }
    }

    #[test]
    fn failed_load_leaves_the_set_unchanged() {
        let dir = TempDir::new();
        let good = dir.write("good", format!("{MD5_EMPTY}\n"));
        let bad = dir.write("bad", format!("{MD5_ABC}\njunk\n"));
        let mut set = IocSet::new();
        set.load(&good).unwrap();
        assert!(set.load(&bad).is_err());
        assert_eq!(set.len(), 1);
        assert_eq!(set.lists().len(), 1);
        assert_eq!(line_of(&set, MD5_ABC), None);
    }

    #[test]
    fn missing_file_is_an_io_error_with_the_path() {
        let dir = TempDir::new();
        let path = dir.0.join("absent.txt");
        let err = IocSet::new().load(&path).unwrap_err();
        assert!(matches!(err, IocError::Io { .. }));
        assert!(err
            .to_string()
            .starts_with(&format!("{}: ", path.display())));
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn directory_is_an_io_error() {
        let dir = TempDir::new();
        let err = IocSet::new().load(&dir.0).unwrap_err();
        assert!(matches!(err, IocError::Io { .. }), "{err:?}");
        assert!(err
            .to_string()
            .starts_with(&format!("{}: ", dir.0.display())));
    }

    #[test]
    fn whole_file_parse_error_has_no_line_number() {
        let err = IocError::Parse {
            path: PathBuf::from("feed.txt"),
            line: 0,
            reason: "too many".to_string(),
        };
        assert_eq!(err.to_string(), "feed.txt: too many");
    }

    /// `count` random digests of `len` bytes.
    fn random_digests(seed: u64, count: usize, len: usize) -> Vec<Vec<u8>> {
        let mut rng = crate::testing::SplitMix(seed);
        (0..count).map(|_| rng.bytes(len)).collect()
    }

    #[test]
    fn many_hashes_every_one_found_at_its_line() {
        // Enough entries for a many-bucket index, plus digests sharing a long prefix that
        // crowd one bucket.
        let mut digests = random_digests(1, 5000, 20);
        for i in 0..50u8 {
            let mut d = vec![0x42; 20];
            d[19] = i;
            digests.push(d);
        }
        let list: String = digests
            .iter()
            .map(|d| crate::hex::encode(d) + "\n")
            .collect();
        let set = load_ok(list);
        assert_eq!(set.len(), digests.len());
        for (i, d) in digests.iter().enumerate() {
            let hit = set
                .lookup(HashKind::Sha1, d)
                .expect("listed digest is found");
            assert_eq!(hit.line, i as u64 + 1);
        }
        for d in random_digests(2, 5000, 20) {
            assert_eq!(set.lookup(HashKind::Sha1, &d), None);
        }
        assert_eq!(set.lookup(HashKind::Sha1, &[0x42; 20]), None);
        assert_eq!(set.lookup(HashKind::Sha1, &[0xff; 20]), None);
        assert_eq!(set.lookup(HashKind::Sha1, &[0x00; 20]), None);
    }

    #[test]
    fn csv_field_splitting() {
        let split = |line: &str| -> Vec<String> {
            fields(line.as_bytes())
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect()
        };
        assert_eq!(split("a,b"), ["a", "b"]);
        assert_eq!(split("\"a\", \"b, c\" ,d"), ["a", "b, c", "d"]);
        assert_eq!(split("\"x\"\"y\",,"), ["x\"\"y", "", ""]);
        assert_eq!(split("\"open"), ["open"]);
        assert_eq!(split(""), [""]);
    }
}
