//! `diff` as a library call: compare two baselines, or a baseline and an rsync log, or two
//! logs, and judge the changes with the policy.

use std::cell::Cell;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::baseline::{self, Baseline};
use crate::commands::logs::{self, LogOptions};
use crate::commands::{host_name, load_iocs, now, signature_note, Listed, Observer, NOT_IN_A_LOG};
use crate::diff::{self, Diff, DiffOptions};
use crate::error::{Error, Result};
use crate::exit::Bits;
use crate::fim::assess::{self, Assessment, Inputs};
use crate::fim::policy::Policy;
use crate::hash::Algorithm;
use crate::record::Timestamp;

/// A diff, resolved from the command line and the config.
pub struct DiffPlan {
    /// The older baseline or log.
    pub old: PathBuf,
    /// The newer baseline or log.
    pub new: PathBuf,
    /// What the logs do not say, and the source their names are judged under.
    pub logs: LogOptions,
    /// IOC lists, matched against the newer side's checksums (and extra digests).
    pub iocs: Vec<PathBuf>,
    /// Verify both baselines' signatures with this.
    pub verify: Option<baseline::Policy>,
    /// The rules each change is judged by.
    pub policy: Policy,
    /// Compare the identity fields too (the rsync formats compare only what rsync does).
    pub identity: bool,
}

/// What a diff found.
pub struct Compared {
    /// What changed from the older to the newer.
    pub diff: Diff,
    /// What each change is worth under the policy.
    pub assessment: Assessment,
    /// What the report should say about how the diff was done.
    pub notes: Vec<String>,
    /// The algorithm of the checksums shown.
    pub algorithm: Algorithm,
    /// The host and time of the newer baseline (of this run for two logs).
    pub host: String,
    /// When the newer baseline was made (this run, for two logs).
    pub time: Timestamp,
}

impl Compared {
    /// The exit bits of the diff as reported (see `super::report_bits`).
    pub fn exit_bits(&self, every_change: bool) -> Bits {
        super::report_bits(&self.diff, &self.assessment, every_change)
    }
}

/// Compare `plan.old` with `plan.new`. A log on the newer side may hold nights (one
/// night's changes each): they are applied to the older side's state, so that what a night
/// does not list is unchanged, never removed.
pub fn diff(plan: DiffPlan, observer: &mut dyn Observer) -> Result<Compared> {
    let options = &plan.logs;
    let old = Side::open(&plan.old, plan.verify.as_ref())?;
    let new = Side::open(&plan.new, plan.verify.as_ref())?;
    let mut notes = Vec::new();
    for (path, side) in [(&plan.old, &old), (&plan.new, &new)] {
        if let Side::Baseline(base) = side {
            notes.extend(signature_note(path, base));
        }
    }
    // Each side's algorithm: a baseline says, a log's is decided as it is read.
    let old_log = match &old {
        Side::Log(path) => Some(logs::open(path, options, observer)?),
        Side::Baseline(_) => None,
    };
    let new_log = match &new {
        Side::Log(path) => Some(logs::open(path, options, observer)?),
        Side::Baseline(_) => None,
    };
    if let (Some(a), Some(b)) = (&old_log, &new_log) {
        if let (Some(x), Some(y)) = (a.algorithm, b.algorithm) {
            if x != y {
                return Err(Error::Usage(format!(
                    "{}: its checksums are {y}, those of {} {x}: compare logs of one algorithm",
                    b.path.display(),
                    a.path.display()
                )));
            }
        }
    }
    let side_algorithm = |side: &Side, log: &Option<logs::Log>| match (side, log) {
        (Side::Baseline(b), _) => Some(b.header.algorithm),
        (Side::Log(_), log) => log.as_ref().and_then(|l| l.algorithm),
    };
    let old_algorithm = side_algorithm(&old, &old_log);
    let new_algorithm = side_algorithm(&new, &new_log);
    let logs_compared = [&old, &new]
        .iter()
        .filter(|s| matches!(s, Side::Log(..)))
        .count();
    if logs_compared > 0 {
        notes.push(format!(
            "an rsync log carries no metadata: only presence and checksums are compared; \
             {NOT_IN_A_LOG} could not be"
        ));
    }
    let compare_content = match (old_algorithm, new_algorithm) {
        (Some(a), Some(b)) if a != b => {
            notes.push(format!("checksums not compared: {a} against {b}"));
            false
        }
        _ => true,
    };
    let algorithm = new_algorithm.or(old_algorithm).unwrap_or(Algorithm::Md5);
    let extras = match &new {
        Side::Baseline(b) => b.header.extra_digests.clone(),
        Side::Log(..) => Vec::new(),
    };
    let iocs = load_iocs(&plan.iocs, algorithm, &extras)?;
    let mut listed = Listed::new(&iocs, algorithm);
    // Names are judged as absolute paths under the newer side's sources, or under the
    // source the logs were written from.
    let source = options
        .source
        .as_ref()
        .map(|s| s.as_os_str().as_bytes().to_vec());
    let (roots, host, time) = match (&new, &old) {
        (Side::Baseline(b), _) | (_, Side::Baseline(b)) => (
            b.header.roots.clone(),
            b.header.host.clone(),
            b.header.created,
        ),
        _ => (source.into_iter().collect(), host_name(), now()),
    };
    // Each side's state, read as the diff needs it: the older side's from its baseline or
    // full listing; the newer side's from its runs applied to the older side's state, read
    // a second time. A log without `%C` has its files' checksums from the copy (`--dest`).
    let replay_notes = logs::Notes::default();
    let filled = Cell::new(0u64);
    let uncounted = Cell::new(0u64);
    let dest = options.dest.as_deref();
    let old_fill = dest.filter(|_| old_algorithm.is_none());
    let new_fill = dest.filter(|_| new_algorithm.is_none());
    let old_records = with_copy(
        state_of(&old, old_log.as_ref(), None, &replay_notes)?,
        old_fill,
        algorithm,
        &filled,
    );
    let new_records = match &new {
        Side::Log(_) => {
            let before = with_copy(
                state_of(&old, old_log.as_ref(), None, &replay_notes)?,
                old_fill,
                algorithm,
                &uncounted,
            );
            state_of(&new, new_log.as_ref(), Some(before), &replay_notes)?
        }
        Side::Baseline(_) => state_of(&new, None, None, &replay_notes)?,
    };
    let new_records = with_copy(new_records, new_fill, algorithm, &filled).inspect(|record| {
        if let Ok(record) = record {
            listed.check(record, observer);
        }
    });
    let diff = diff::diff(
        old_records,
        new_records,
        DiffOptions {
            compare_content,
            identity: plan.identity,
        },
    )?;
    // A log records no attributes; its note says so already.
    if let (0, Some(note)) = (logs_compared, super::check::attrs_note(&diff)) {
        notes.push(note);
    }
    let mut said: Vec<String> = Vec::new();
    for note in replay_notes.borrow().iter() {
        if !said.contains(note) {
            observer.note(note);
            said.push(note.clone());
        }
    }
    if let Some(dest) = old_fill.or(new_fill) {
        notes.push(format!(
            "{} checksums ({algorithm}) are of the files in {} as they are now, not as the job \
             copied them",
            filled.get(),
            dest.display()
        ));
    }
    // Two baselines: nothing is on disk to read a growing file's prefix from.
    let assessment = assess::assess(
        &diff,
        &Inputs {
            policy: &plan.policy,
            roots: &roots,
            ioc_hits: &listed.hits,
            prefix_digest: &|_, _| None,
            packages: None,
        },
    );
    Ok(Compared {
        diff,
        assessment,
        notes,
        algorithm,
        host,
        time,
    })
}

/// The records of one side's state: a baseline's, or those of a log's runs applied to
/// `before`.
fn state_of<'a>(
    side: &'a Side,
    log: Option<&'a logs::Log>,
    before: Option<logs::Records<'a>>,
    notes: &logs::Notes,
) -> Result<logs::Records<'a>> {
    match (side, log) {
        (Side::Baseline(b), _) => Ok(Box::new(b.records_again()?)),
        (Side::Log(_), Some(log)) => logs::apply(before, log, notes),
        (Side::Log(_), None) => Ok(Box::new(std::iter::empty())),
    }
}

/// `records`, with the checksums a log without `%C` lacks taken from the copy at `dest`
/// (when given), counting them in `filled`.
fn with_copy<'a>(
    records: logs::Records<'a>,
    dest: Option<&'a Path>,
    algorithm: Algorithm,
    filled: &'a Cell<u64>,
) -> logs::Records<'a> {
    match dest {
        None => records,
        Some(dest) => Box::new(records.map(move |record| {
            let mut record = record?;
            if logs::fill_from_copy(&mut record, dest, algorithm) {
                filled.set(filled.get() + 1);
            }
            Ok(record)
        })),
    }
}

/// One side of a `diff`: a baseline or an rsync log.
enum Side {
    /// Boxed: a baseline's reader is large.
    Baseline(Box<Baseline>),
    Log(PathBuf),
}

impl Side {
    fn open(path: &Path, policy: Option<&baseline::Policy>) -> Result<Side> {
        if baseline::is_baseline(path)? {
            return Ok(Side::Baseline(Box::new(Baseline::open_with(path, policy)?)));
        }
        if policy.is_some() {
            return Err(Error::bad_data(
                path,
                "an rsync log, which cannot be signed: --verify-key needs baselines",
            ));
        }
        // Opened here so that a missing or unreadable log fails before any work.
        crate::input::open_input(path)?;
        Ok(Side::Log(path.to_path_buf()))
    }
}
