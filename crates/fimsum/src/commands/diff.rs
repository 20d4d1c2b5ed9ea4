//! `diff` as a library call: compare two baselines, or a baseline and an rsync log, or two
//! logs, and judge the changes with the policy.

use std::fs::File;
use std::io::BufReader;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::baseline::{self, Baseline};
use crate::commands::{host_name, load_iocs, now, signature_note, Listed, Observer, NOT_IN_A_LOG};
use crate::diff::{self, Diff, DiffOptions};
use crate::error::{Error, Result};
use crate::exit::Bits;
use crate::fim::assess::{self, Assessment, Inputs};
use crate::fim::policy::Policy;
use crate::hash::Algorithm;
use crate::record::{Content, Kind, Record, Timestamp};
use crate::rsync::choice::{self, candidates};
use crate::rsync::log::{LogError, LogReader};
use crate::rsync::order::ensure_ordered;

/// A diff, resolved from the command line and the config.
pub struct DiffPlan {
    pub old: PathBuf,
    pub new: PathBuf,
    /// The checksum algorithm of the logs (`--checksum-choice`), if given; otherwise it is
    /// decided by hashing a listed file under `source` or `dest` (see [`choice`]), or the
    /// diff is refused.
    pub checksum: Option<Algorithm>,
    /// The rsync source argument the logs' names are relative to (`/etc/` or `/etc`, as
    /// the job gave it): names are judged as the absolute paths under it, and its files
    /// can decide the algorithm.
    pub source: Option<PathBuf>,
    /// The destination the logs were written for (the backup copy), whose files can decide
    /// the algorithm.
    pub dest: Option<PathBuf>,
    /// IOC lists, matched against the newer side's checksums (and extra digests).
    pub iocs: Vec<PathBuf>,
    /// Verify both baselines' signatures with this.
    pub verify: Option<baseline::Policy>,
    pub policy: Policy,
    /// Compare the identity fields too (the rsync formats compare only what rsync does).
    pub identity: bool,
}

/// What a diff found.
pub struct Compared {
    pub diff: Diff,
    pub assessment: Assessment,
    pub notes: Vec<String>,
    /// The algorithm of the checksums shown.
    pub algorithm: Algorithm,
    /// The host and time of the newer baseline (of this run for two logs).
    pub host: String,
    pub time: Timestamp,
}

impl Compared {
    /// The exit bits of the diff as reported (see [`super::report_bits`]).
    pub fn exit_bits(&self, every_change: bool) -> Bits {
        super::report_bits(&self.diff, &self.assessment, every_change)
    }
}

/// Compare `plan.old` with `plan.new`.
pub fn diff(plan: DiffPlan, observer: &mut dyn Observer) -> Result<Compared> {
    let mut old = Side::open(&plan.old, plan.checksum, plan.verify.as_ref())?;
    let mut new = Side::open(&plan.new, plan.checksum, plan.verify.as_ref())?;
    let log_algorithm = log_algorithm(&plan, &mut old, &mut new, observer)?;
    let mut notes = Vec::new();
    for (path, side) in [(&plan.old, &old), (&plan.new, &new)] {
        if let Side::Baseline(base) = side {
            notes.extend(signature_note(path, base));
        }
    }
    let logs = [&old, &new]
        .iter()
        .filter(|s| matches!(s, Side::Log(..)))
        .count();
    if logs > 0 {
        notes.push(format!(
            "an rsync log carries no metadata: only presence and checksums are compared; \
             {NOT_IN_A_LOG} could not be"
        ));
    }
    let (old_algorithm, new_algorithm) = (
        old.algorithm().or(log_algorithm),
        new.algorithm().or(log_algorithm),
    );
    let compare_content = match (old_algorithm, new_algorithm) {
        (Some(a), Some(b)) if a != b => {
            notes.push(format!("checksums not compared: {a} against {b}"));
            false
        }
        _ => match (old.width()?, new.width()?) {
            (Some(a), Some(b)) if a != b => {
                notes.push(format!(
                    "checksums not compared: {a}-digit against {b}-digit checksums"
                ));
                false
            }
            _ => true,
        },
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
    let source = plan
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
    let new_records = new.records().inspect(|record| {
        if let Ok(record) = record {
            listed.check(record, observer);
        }
    });
    let diff = diff::diff(
        old.records(),
        new_records,
        DiffOptions {
            compare_content,
            identity: plan.identity,
        },
    )?;
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

/// The algorithm of the logs' checksums: the one given, the only one of their width, or
/// the one a listed file under the source or destination hashes to. Never guessed: a log
/// whose checksums could be several is refused when nothing decides.
fn log_algorithm(
    plan: &DiffPlan,
    old: &mut Side,
    new: &mut Side,
    observer: &mut dyn Observer,
) -> Result<Option<Algorithm>> {
    if plan.checksum.is_some() {
        return Ok(plan.checksum);
    }
    let mut decided = None;
    for side in [old, new] {
        let Side::Log(path, _) = side else {
            continue;
        };
        let path = path.clone();
        let Some(width) = side.width()? else {
            continue;
        };
        let trees = Trees {
            source: plan.source.as_deref(),
            dest: plan.dest.as_deref(),
        };
        let algorithm = decide_for_log(&path, width, trees, observer)?;
        match decided {
            Some(earlier) if earlier != algorithm => {
                return Err(Error::Usage(format!(
                    "{}: its checksums are {algorithm}, the other log's {earlier}: compare \
                     logs of one algorithm, or give --checksum-choice to say which both are",
                    path.display()
                )))
            }
            _ => decided = Some(algorithm),
        }
    }
    Ok(decided)
}

/// The trees a log's listed files can be read from.
#[derive(Clone, Copy)]
pub(crate) struct Trees<'a> {
    /// The job's source argument (the live tree).
    pub source: Option<&'a Path>,
    /// The job's destination (the backup copy).
    pub dest: Option<&'a Path>,
}

/// The algorithm of one log's checksums, `width` digits wide.
pub(crate) fn decide_for_log(
    log: &Path,
    width: usize,
    trees: Trees,
    observer: &mut dyn Observer,
) -> Result<Algorithm> {
    let names = candidates(width);
    if let [only] = names[..] {
        return Ok(only);
    }
    type Place = fn(&Path, &[u8]) -> PathBuf;
    let trees: Vec<(&Path, Place)> = [
        trees.dest.map(|d| (d, choice::under_dest as Place)),
        trees.source.map(|s| (s, choice::under_source as Place)),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (tree, place) in &trees {
        let file = crate::input::open_input(log)?;
        let reader = LogReader::new(BufReader::with_capacity(1 << 16, file), None);
        let samples = reader.filter_map(|r| match r {
            Ok(Record {
                kind: Kind::File,
                content: Content::Digest(d),
                name,
                ..
            }) => Some((place(tree, &name), d)),
            _ => None,
        });
        if let Some(decided) = choice::decide(width, samples) {
            if let Some(by) = &decided.by {
                observer.note(&format!(
                    "{}: the checksums are {}: {} hashes to its logged checksum that way",
                    log.display(),
                    decided.algorithm,
                    by.display()
                ));
            }
            return Ok(decided.algorithm);
        }
    }
    let listed: Vec<&str> = names.iter().map(|a| a.name()).collect();
    Err(Error::Usage(format!(
        "{}: {width}-digit checksums may be {}, and {}: say which with --checksum-choice \
         (md5 for a job run with --checksum-choice=md5 or by rsync 3.1.x, xxh128 for plain \
         `rsync -c` of rsync 3.2.2 and later)",
        log.display(),
        listed.join(", "),
        if trees.is_empty() {
            "nothing here tells which (--source or --dest names a tree whose files can)"
        } else {
            "no listed file in the tree given hashes to its logged checksum"
        }
    )))
}

/// One side of a `diff`: a baseline or an rsync log.
// Two of these exist in a run: boxing the larger would save nothing worth an indirection.
#[allow(clippy::large_enum_variant)]
enum Side {
    /// Boxed: a baseline's reader is three times the size of a log's.
    Baseline(Box<Baseline>),
    Log(PathBuf, LogReader<BufReader<File>>),
}

impl Side {
    fn open(
        path: &Path,
        algorithm: Option<Algorithm>,
        policy: Option<&baseline::Policy>,
    ) -> Result<Side> {
        if baseline::is_baseline(path)? {
            return Ok(Side::Baseline(Box::new(Baseline::open_with(path, policy)?)));
        }
        if policy.is_some() {
            return Err(Error::bad_data(
                path,
                "an rsync log, which cannot be signed: --verify-key needs baselines",
            ));
        }
        let file = crate::input::open_input(path)?;
        Ok(Side::Log(
            path.to_path_buf(),
            LogReader::new(BufReader::with_capacity(1 << 16, file), algorithm),
        ))
    }

    /// The checksum algorithm, if this side says (a baseline).
    fn algorithm(&self) -> Option<Algorithm> {
        match self {
            Side::Baseline(b) => Some(b.header.algorithm),
            Side::Log(..) => None,
        }
    }

    /// The `%C` width: the algorithm's for a baseline, the one the log shows otherwise.
    fn width(&mut self) -> Result<Option<usize>> {
        match self {
            Side::Baseline(b) => Ok(Some(b.header.algorithm.hex_width())),
            Side::Log(path, reader) => reader.width().map_err(|e| log_error(path, e)),
        }
    }

    fn records<'a>(self) -> Box<dyn Iterator<Item = Result<Record>> + 'a>
    where
        Self: 'a,
    {
        match self {
            Side::Baseline(b) => Box::new(b.records()),
            Side::Log(path, reader) => {
                let for_errors = path.clone();
                let records = reader.map(move |r| r.map_err(|e| log_error(&for_errors, e)));
                Box::new(ensure_ordered(records, path))
            }
        }
    }
}

/// A log's error as the run's: bad data at the log's path and line.
pub(crate) fn log_error(path: &Path, e: LogError) -> Error {
    Error::bad_data(path, format!("line {}: {}", e.line, e.reason))
}
