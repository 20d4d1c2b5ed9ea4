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

pub mod baseline;
pub mod civil;
pub mod diff;
pub mod error;
pub mod fim;
pub mod hash;
pub mod input;
pub mod record;
pub mod report;
pub mod rsync;
pub mod scan;
