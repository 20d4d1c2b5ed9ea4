//! fimsum: a file-integrity scanner that reimplements rsync's checksum pass.
//!
//! The modules, in the order data flows through them:
//! - [`scan`]: the ordered parallel pipeline: [`scan::walk`] lists sources in rsync order
//!   ([`rsync::order`]), honouring [`rsync::filter`] rules; [`scan::read`] (or
//!   [`scan::mapped`]: map) reads each regular file safely and [`hash`] checksums it, MD5
//!   through the multi-buffer kernels of [`hash::md5`];
//! - [`record`]: one entry of a scan, as rsync would list it;
//! - [`rsync`]: rsync's order, filters, escaping and the `%n %C` text, both ways;
//! - [`baseline`]: the baseline file codec, and its signatures ([`baseline::sign`]);
//! - [`diff`]: the merge of two ordered record streams into changes;
//! - [`fim`]: the config file and its rules, known-bad hash lists, the dpkg database as
//!   known-good digests, and what each change is worth under them;
//! - [`report`]: how changes are written (human, json; rsync's `%n %C` and `%i %n %C`;
//!   syslog).
//!
//! # Example
//!
//! Scan a directory as `rsync -a --checksum SRC/` would list it, change a file, scan again
//! and diff the two record streams:
//!
//! ```
//! use fimsum::diff::{diff, ChangeKind, DiffOptions};
//! use fimsum::hash::{Algorithm, Kernel};
//! use fimsum::record::Record;
//! use fimsum::scan::walk::WalkOptions;
//! use fimsum::scan::{scan, Item, ScanOptions, BATCHES_AHEAD};
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

pub mod baseline;
pub mod civil;
pub mod commands;
pub mod diff;
pub mod error;
pub mod exit;
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
