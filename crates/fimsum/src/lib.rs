//! fimsum: a file-integrity scanner that reimplements rsync's checksum pass.
//!
//! The commands are library calls ([`commands`]): each takes a plan, plain data resolved
//! before any work starts, runs it, and returns what it found for the caller to report;
//! what a run has to say while it runs goes to an [`Observer`]. The main ones are
//! re-exported here: [`scan_to_baseline`] (and [`scan_into`]) with a [`ScanPlan`],
//! [`check()`] with a [`CheckPlan`], [`diff()`] with a [`DiffPlan`] and [`import()`] with an
//! [`ImportPlan`]. They return a [`Result`]; what a run found, or the [`Error`] that
//! stopped it, comes down to an exit [`Status`]. [`Record`], [`Algorithm`] and [`Baseline`]
//! are the words they speak.
//!
//! Data flows one way: plan -> walk -> record -> diff -> assessment -> report. The modules,
//! in that order:
//! - [`commands`]: the plans and the calls that run them;
//! - [`scan`]: the ordered parallel pipeline: [`scan::walk`] lists sources in rsync order
//!   ([`rsync::order`]), honouring [`rsync::filter`] rules; [`scan::read`] reads each
//!   regular file safely and [`hash`] checksums it;
//! - [`rsync`]: rsync's order, filters, escaping and logs, both ways;
//! - [`record`]: one entry of a scan, as rsync would list it;
//! - [`baseline`]: the baseline file codec, and its signatures ([`baseline::sign`]);
//! - [`diff`](mod@diff): the merge of two ordered record streams into changes;
//! - [`fim`]: the config file and its rules, known-bad hash lists, the dpkg database as
//!   known-good digests, and the assessment of what each change is worth under them;
//! - [`report`]: how changes are written (human, json; rsync's `%n %C` and `%i %n %C`;
//!   syslog).
//!
//! Beside them: [`error`] and [`exit`] (failures and exit codes), [`civil`] (timestamps as
//! RFC 3339 text) and [`input`] (bounded reads of input files).
//!
//! # Example
//!
//! Scan a directory as `rsync -a --checksum SRC/` would list it, change a file, scan again
//! and diff the two record streams:
//!
//! ```
//! use fimsum::diff::{diff, ChangeKind, DiffOptions};
//! use fimsum::hash::Kernel;
//! use fimsum::scan::walk::WalkOptions;
//! use fimsum::scan::{scan, Item, ScanOptions, BATCHES_AHEAD};
//! use fimsum::{Algorithm, Record};
//!
//! fn records(source: &[u8]) -> Result<Vec<Record>, Box<dyn std::error::Error>> {
//!     let options = ScanOptions {
//!         algorithm: Algorithm::Md5,
//!         extras: Vec::new(),
//!         threads: 1,
//!         walk: WalkOptions::new(0, Vec::new())?,
//!         kernel: Kernel::detect(),
//!         batches_ahead: BATCHES_AHEAD,
//!         growing: None,
//!         capture: None,
//!     };
//!     let mut out = Vec::new();
//!     scan(&[source.to_vec()], &options, |item| -> Result<(), ()> {
//!         if let Item::Record(record) = item {
//!             out.push(record);
//!         }
//!         Ok(())
//!     })
//!     .map_err(|_| "the scan failed")?;
//!     Ok(out)
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("motd"), "hello\n")?;
//! let source = format!("{}/", dir.path().display()).into_bytes();
//!
//! let before = records(&source)?;
//! std::fs::write(dir.path().join("motd"), "HELLO\n")?;
//! let after = records(&source)?;
//!
//! let options = DiffOptions { compare_content: true, identity: false };
//! let changes = diff(before.into_iter().map(Ok), after.into_iter().map(Ok), options)?;
//! assert_eq!(changes.changes.len(), 1);
//! assert_eq!(changes.changes[0].name(), b"motd");
//! assert!(matches!(changes.changes[0].kind, ChangeKind::Modified(_)));
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]
#![warn(unreachable_pub)]

pub mod attrs;
pub mod baseline;
pub mod civil;
pub mod commands;
pub mod diff;
pub mod error;
pub mod exit;
pub mod export;
pub mod fim;
pub mod hash;
pub(crate) mod hex;
pub mod input;
pub mod record;
pub mod report;
pub mod rsync;
pub mod scan;
#[cfg(test)]
pub(crate) mod test_records;
#[doc(hidden)]
pub mod testing;
pub mod text;

pub use crate::baseline::Baseline;
pub use crate::commands::check::{check, CheckPlan, Checked, UpdatePlan, Updated};
pub use crate::commands::diff::{diff, Compared, DiffPlan};
pub use crate::commands::import::{import, ImportPlan};
pub use crate::commands::scan::{scan_into, scan_to_baseline, BaselineTarget, ScanPlan, Scanned};
pub use crate::commands::{Observer, Silent};
pub use crate::error::{Error, Problem, Result};
pub use crate::exit::Status;
pub use crate::hash::Algorithm;
pub use crate::record::Record;
