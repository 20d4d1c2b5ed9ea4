//! What a baseline keeps of a config file so that a later diff can show what changed inside
//! it: the content, compressed, or for a file that holds secrets only a digest of each line,
//! so that no secret is ever stored or printed.
//!
//! A rule's `diff = true` asks for it (see [`crate::fim::policy::Policy::content_rule`]).
//! The scan takes the snapshot from the very bytes it hashed, in the same read
//! (`scan/read.rs`), so the snapshot is the content the checksum stands for; a file that
//! changed while it was read has neither. Then:
//!
//! - a file that holds secrets ([`capture::is_secret_name`], [`capture::holds_secret`], or a
//!   rule's `secret = true`) keeps only a keyed digest of each line ([`LineDigests`]): a report
//!   can say "line 1 changed" and never show either version;
//! - a file with a NUL byte is binary: only "binary content changed";
//! - any other file keeps its content, zstd-compressed ([`Compressed`]), for a unified diff
//!   ([`ContentDiff`]);
//! - a file over [`FILE_MAX`] keeps nothing but the fact, and once the snapshots of one
//!   baseline reach [`TOTAL_MAX`] compressed bytes the later ones keep only "over the
//!   limit": a report says so instead of showing a diff, never nothing.
//!
//! `check --quick` takes an unread file's snapshot from the baseline with its checksum. A
//! later name of a hard-linked file takes the first name's checksum and no snapshot.

pub(crate) mod capture;
pub(crate) mod compress;
pub(crate) mod lines;
pub(crate) mod unified;

pub use capture::{holds_secret, is_secret_name, Capture};
pub use compress::Compressed;
pub use lines::LineDigests;
pub use unified::{ContentDiff, Hunk, SHOWN_LINES};

/// The largest file whose content a snapshot keeps: config files are small, and a file
/// larger than this is rarely one a person reads as a diff. Also the largest secret file
/// whose lines are digested.
pub const FILE_MAX: u64 = 256 * 1024;

/// The most compressed snapshot bytes one baseline holds (their sum, in the walk's order):
/// a policy that asks for diffs of too much cannot make the baseline unbounded.
pub const TOTAL_MAX: u64 = 64 * 1024 * 1024;

/// The most lines of a secret file that are digested (8 bytes each): beyond it the file
/// is treated as over the limit.
pub const LINES_MAX: usize = 32 * 1024;

/// What one scan kept of one file's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Snapshot {
    /// The content, zstd-compressed (boxed, as the other variants are small and records
    /// many).
    Text(Box<compress::Compressed>),
    /// A file that holds secrets: a keyed digest of each line, never the text.
    Secret(Box<lines::LineDigests>),
    /// The content has a NUL byte: no diff is shown.
    Binary,
    /// The file was larger than the per-file limit ([`FILE_MAX`]), this one, when it was read.
    TooLarge {
        /// The limit in force.
        limit: u64,
    },
    /// The baseline's snapshots had reached their total ([`TOTAL_MAX`]) before this file.
    OverBudget {
        /// The limit in force.
        limit: u64,
    },
}

impl Snapshot {
    /// The bytes this snapshot adds to a baseline, as counted against [`TOTAL_MAX`].
    pub fn stored_len(&self) -> u64 {
        match self {
            Snapshot::Text(c) => c.stored_len(),
            Snapshot::Secret(l) => l.stored_len(),
            _ => 0,
        }
    }

    /// The snapshot's kind as reports name it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Snapshot::Text(_) => "text",
            Snapshot::Secret(_) => "secret",
            Snapshot::Binary => "binary",
            Snapshot::TooLarge { .. } => "too-large",
            Snapshot::OverBudget { .. } => "over-limit",
        }
    }
}
