//! fimsum: a file-integrity scanner that reimplements rsync's checksum pass.
//!
//! The modules, in the order data flows through them:
//! - [`walk`]: lists sources in rsync order ([`order`]), honouring [`filter`] rules;
//! - [`read`] and [`hash`]: read (or [`mapped`]: map) each regular file safely and checksum
//!   it, MD5 through the multi-buffer kernels of [`md5_mb`];
//! - [`scan`]: the ordered parallel pipeline that joins the two, holding what waits for the
//!   output in compact batches (`batch.rs`);
//! - [`rsync_log`] and [`escape`]: the `%n %C` text rsync prints, both ways;
//! - [`baseline`]: the baseline file codec;
//! - [`diff`]: the merge of two ordered record streams into changes;
//! - [`config`] and [`policy`]: the config file and its rules; [`ioc`]: known-bad hash
//!   lists; [`assess`]: what each change is worth under them;
//! - [`report`], [`rsync_report`] and [`itemize`]: how changes are written (human, json;
//!   rsync's `%n %C` and `%i %n %C`);
//! - [`packages`]: the dpkg database as known-good digests, and `verify-packages`.

pub mod assess;
pub mod baseline;
mod batch;
mod cache;
pub mod civil;
pub mod config;
pub mod diff;
pub mod error;
pub mod escape;
pub mod filter;
pub mod hash;
pub mod hook;
pub mod input;
pub mod ioc;
pub mod itemize;
mod locale;
pub mod mapped;
pub mod md5_mb;
pub mod order;
pub mod packages;
pub mod policy;
pub mod quick;
pub mod read;
pub mod record;
pub mod report;
pub mod rsync_log;
pub mod rsync_report;
pub mod scan;
pub mod sign;
pub mod syslog;
pub mod walk;
