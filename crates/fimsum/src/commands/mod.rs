//! The commands as library calls: each takes a plan, plain data resolved from the command
//! line and the config before any work starts, runs it, and returns what it found for the
//! caller to report. Nothing here writes to stdout: what a run has to say while it runs
//! (progress, a problem with one entry, an IOC hit, a note) goes to an [`Observer`].
//!
//! - [`scan`]: rsync's checksum pass, into a sink or a new baseline (`scan`, `init`);
//! - [`check`]: a rescan compared with a baseline, judged, and for `update` the new
//!   baseline, committed only after the report is out;
//! - [`diff`]: two baselines or rsync logs compared and judged;
//! - [`import`]: an rsync log turned into a baseline;
//! - [`export`]: baselines as a Parquet table for fleet-wide queries;
//! - [`hunt`]: an IOC retro-hunt over stored baselines.

pub mod check;
pub mod diff;
pub mod export;
pub mod hunt;
pub mod import;
pub(crate) mod logs;
pub mod scan;

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::baseline::{Baseline, SignatureStatus};
use crate::error::{Error, Problem, Result};
use crate::exit::Bits;
use crate::fim::assess::{self, IocHit};
use crate::fim::ioc::{IocError, IocSet};
use crate::hash::{Algorithm, HashKind};
use crate::record::{Record, Timestamp};
use crate::report::syslog::{send_findings, Syslog};
use crate::rsync::escape::Charset;

pub use crate::commands::logs::LogOptions;

/// What an rsync log does not record, named in every report that compares with one.
pub(crate) const NOT_IN_A_LOG: &str =
    "mode, owner, group, size, times, links, symlink targets and device numbers";

/// What a run tells as it goes. Every method has a default that says nothing.
pub trait Observer: Send {
    /// The scan is about to start; `total` is the number of entries expected, if known.
    fn start(&mut self, _total: Option<u64>) {}
    /// One entry is done.
    fn record(&mut self, _record: &Record) {}
    /// An entry could not be fully seen; the run goes on and ends incomplete.
    fn problem(&mut self, _problem: &Problem) {}
    /// An entry's digest is on an IOC list.
    fn ioc_hit(&mut self, _name: &[u8], _hit: &IocHit) {}
    /// Something the user should know about how the run was done.
    fn note(&mut self, _note: &str) {}
    /// An assumption the run made that the user may have to correct.
    fn warning(&mut self, _message: &str) {}
    /// The scan has ended (a progress display clears itself).
    fn finish(&mut self) {}
}

/// An observer that says nothing.
pub struct Silent;

impl Observer for Silent {}

/// The IOC lists of `paths`, checked against the digests a scan with `algorithm` and the
/// `extras` records: a list whose hash kind the run does not compute is refused.
pub fn load_iocs(paths: &[PathBuf], algorithm: Algorithm, extras: &[HashKind]) -> Result<IocSet> {
    let mut iocs = IocSet::new();
    for path in paths {
        iocs.load(path).map_err(ioc_error)?;
    }
    let mut available: Vec<HashKind> = ioc_kind(algorithm).into_iter().collect();
    available.extend_from_slice(extras);
    if !iocs.is_empty() {
        iocs.require(&available).map_err(ioc_error)?;
    }
    Ok(iocs)
}

/// A list that cannot be read is missing input (66), one that is not a hash list is bad
/// data (65); a list the run's digests cannot match is a usage error (64: add `--digest`).
fn ioc_error(e: IocError) -> Error {
    match e {
        IocError::Io { path, source } => Error::NoInput { path, source },
        IocError::Parse {
            path,
            line: 0,
            reason,
        } => Error::BadData { path, reason },
        IocError::Parse { path, line, reason } => Error::BadData {
            path,
            reason: format!("line {line}: {reason}"),
        },
        IocError::NotCovered { .. } => Error::Usage(e.to_string()),
    }
}

/// The IOC hash kind of a checksum algorithm, if lists carry it.
fn ioc_kind(algorithm: Algorithm) -> Option<HashKind> {
    match algorithm {
        Algorithm::Md5 => Some(HashKind::Md5),
        Algorithm::Sha1 => Some(HashKind::Sha1),
        _ => None,
    }
}

/// The records of a scan that are on an IOC list, told to the observer as they come and
/// kept by name for the assessment.
pub(crate) struct Listed<'a> {
    iocs: &'a IocSet,
    kind: Option<HashKind>,
    pub(crate) hits: HashMap<Vec<u8>, Vec<IocHit>>,
}

impl<'a> Listed<'a> {
    pub(crate) fn new(iocs: &'a IocSet, algorithm: Algorithm) -> Listed<'a> {
        Listed {
            iocs,
            kind: ioc_kind(algorithm),
            hits: HashMap::new(),
        }
    }

    pub(crate) fn check(&mut self, record: &Record, observer: &mut dyn Observer) {
        if self.iocs.is_empty() {
            return;
        }
        let hits = assess::ioc_hits(self.iocs, record, self.kind);
        if hits.is_empty() {
            return;
        }
        for hit in &hits {
            observer.ioc_hit(&record.name, hit);
        }
        self.hits.insert(record.name.clone(), hits);
    }
}

/// What a report says about a baseline's signature: verified (and what it vouches for), or
/// present but unchecked. Nothing for an unsigned baseline read without a verify key.
pub fn signature_note(path: &Path, base: &Baseline) -> Option<String> {
    let h = &base.header;
    match base.signature {
        SignatureStatus::Unsigned => None,
        SignatureStatus::Unchecked(id) => Some(format!(
            "{}: signed by key {id}, but the signature was not checked (give --verify-key)",
            path.display()
        )),
        SignatureStatus::Verified(id) => Some(format!(
            "{}: signature verified: key {id}, host {:?}, generation {}, created {}",
            path.display(),
            h.host,
            h.generation,
            crate::report::rfc3339(h.created)
        )),
    }
}

/// A source argument made absolute against the working directory, its trailing slash kept
/// (rsync's meaning of a source depends on it).
pub(crate) fn absolute_source(source: &[u8]) -> Result<Vec<u8>> {
    if source.starts_with(b"/") {
        return Ok(source.to_vec());
    }
    let cwd =
        std::env::current_dir().map_err(|e| Error::io("cannot get the working directory", e))?;
    let mut abs = OsString::from(cwd).into_vec();
    if !abs.ends_with(b"/") {
        abs.push(b'/');
    }
    abs.extend_from_slice(source);
    Ok(abs)
}

/// The device and inode of `path`, to keep a run's own files out of its walk.
pub(crate) fn file_identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// This host's name, as a baseline records it.
pub fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The time now; a clock set before 1970 gives a negative time, not the epoch.
pub fn now() -> Timestamp {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => Timestamp {
            sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nsec: d.subsec_nanos(),
        },
        Err(e) => {
            let d = e.duration();
            let sec = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_nanos() {
                0 => Timestamp { sec, nsec: 0 },
                n => Timestamp {
                    sec: sec - 1,
                    nsec: 1_000_000_000 - n,
                },
            }
        }
    }
}

/// Connect to the syslog socket at `path`: before the run, so that an unreachable one is an
/// error now (naming the socket), not after an hour of work.
pub fn connect_syslog(path: &Path) -> Result<Syslog> {
    Syslog::connect(path)
        .map_err(|e| Error::io(format!("cannot reach syslog at {}", path.display()), e))
}

/// Send a comparison's findings to syslog ([`send_findings`]); a failure is an error
/// naming the socket (exit 74), not silence.
pub fn send_to_syslog(
    syslog: &Syslog,
    subject: &str,
    diff: &crate::diff::Diff,
    assessment: &crate::fim::assess::Assessment,
    problems: u64,
    charset: Charset,
) -> Result<()> {
    send_findings(syslog, subject, diff, assessment, problems, charset).map_err(|e| {
        Error::io(
            format!("cannot write to syslog at {}", syslog.path().display()),
            e,
        )
    })
}

/// The exit bits of a comparison's report. The rsync forms show every change
/// (`every_change`), so theirs are the whole diff's, with the IOC hits; the others show what
/// the policy counts.
pub(crate) fn report_bits(
    diff: &crate::diff::Diff,
    assessment: &crate::fim::assess::Assessment,
    every_change: bool,
) -> Bits {
    if every_change {
        diff.exit_bits() | assessment.exit_bits().only(Bits::IOC)
    } else {
        assessment.exit_bits()
    }
}
