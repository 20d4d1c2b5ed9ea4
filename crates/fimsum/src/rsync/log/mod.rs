//! rsync's logs, read and written.
//!
//! Writing ([`write`]): the `%n %C` lines rsync prints, from records. Reading: every form a
//! backup job gets from rsync, each line told by its shape (`shape`), read into typed
//! events with their line numbers (`events`); the entries of a full listing as records
//! (`records`, for `diff` and `import`); whether a run listed the whole tree or only what
//! changed (`kind`); and the state after a night, from the state before and the night's
//! incremental log ([`replay`]).
//!
//! The forms read, checked against real rsync by `baselines/rsync-logs/`:
//! - entry lines of `--out-format` `%n %C`, `%i %n %C`, `%n%L %C` (a symlink's
//!   ` -> TARGET` inside the name part), `%i %n%L` (no checksum), `%n` or `-v`'s `%n%L`
//!   alone (names only, as rsync 3.0.x, which has no `%C`, writes), and Back In Time's
//!   `BACKINTIME: %i %n%L`;
//! - `deleting NAME` (formats without `%i`) and `*deleting   NAME` (with `%i`, which rsync
//!   renders as `*deleting  `, padded to the itemize width; the `%C` after it blank);
//! - the chatter of `-v`, `-vv`, `--stats`, `--info=name2` (header, `created directory`,
//!   summary, the statistics block, `NAME is uptodate`, `delta-transmission ...`, heap
//!   statistics, empty lines), skipped, and rsync's warnings and errors, reported;
//! - `--log-file` lines: `YYYY/MM/DD HH:MM:SS [PID] ` before any of the above (the default
//!   `--log-file-format` is `%i %n%L`); a format with other fields (`%o`, `%B`, `%l`, `%t`
//!   ...) is read when the caller names it ([`LogFormat`], [`EventReader::with_format`]);
//! - several runs appended to one file, each begun by a [`LogEvent::RunStart`]: a header
//!   after lines of the run before, a new `--log-file` pid, entries after a summary, or a
//!   `./` entry after other entries.
//!
//! A name holding ` -> ` on a line whose `%C` is blank is read as a symlink and its
//! target; a name that reads as a whole line of rsync's chatter (`NAME is uptodate`) is
//! read as that line. rsync prints both the same way, so no reader can tell them apart.

pub(crate) mod events;
pub(crate) mod format;
pub(crate) mod kind;
pub(crate) mod records;
pub(crate) mod replay;
pub(crate) mod shape;
pub(crate) mod write;

pub use events::{EventReader, LogEntry, LogEvent, LogLine, RunCause};
pub use format::LogFormat;
pub use kind::{Classification, Evidence, LogKind};
pub use records::LogReader;
pub use replay::{replay, Replayed, Source};
pub use write::format_line;
pub(crate) use write::{push_blank_checksum, push_name_and_checksum};

/// An error in a log, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong with the line.
    pub reason: String,
}

/// The longest line read, newline excluded. rsync never prints a longer one: its names are
/// shorter than `MAXPATHLEN` (4096 bytes), each byte escaped in at most five (`\#ooo`), then
/// come a `/`, a space and at most 40 checksum digits, 20,517 bytes in all (a symlink's
/// target and a `--log-file` prefix add less than as much again). The bound leaves room for
/// fimsum's own output of deeper trees, and keeps a file that is no log (one without
/// newlines, gigabytes long) from being buffered whole.
pub(crate) const MAX_LINE: usize = 64 * 1024;
