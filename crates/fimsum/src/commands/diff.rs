//! `diff` as a library call: compare two baselines, or a baseline and an rsync log, or two
//! logs, and judge the changes with the policy.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::baseline::{self, Baseline};
use crate::commands::{host_name, now, signature_note};
use crate::diff::{self, Diff, DiffOptions};
use crate::error::{Error, Result};
use crate::exit::Bits;
use crate::fim::assess::{self, Assessment, Inputs};
use crate::fim::policy::Policy;
use crate::hash::Algorithm;
use crate::record::{Record, Timestamp};
use crate::rsync::log::{LogError, LogReader};
use crate::rsync::order::ensure_ordered;

/// A diff, resolved from the command line and the config.
pub struct DiffPlan {
    pub old: PathBuf,
    pub new: PathBuf,
    /// The checksum algorithm of the logs (`--checksum-choice`), if given.
    pub checksum: Option<Algorithm>,
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
pub fn diff(plan: DiffPlan) -> Result<Compared> {
    let mut old = Side::open(&plan.old, plan.checksum, plan.verify.as_ref())?;
    let mut new = Side::open(&plan.new, plan.checksum, plan.verify.as_ref())?;
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
        notes.push(
            "an rsync log carries no metadata: only presence and checksums are compared"
                .to_string(),
        );
    }
    let compare_content = match (old.algorithm(), new.algorithm()) {
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
            _ => {
                if logs > 0 && plan.checksum.is_none() {
                    let known = old.algorithm().or(new.algorithm());
                    notes.push(match known {
                        Some(a) => {
                            format!("the log's checksums are taken to be {a}, like the baseline's")
                        }
                        None => {
                            "both logs are taken to use the same checksum algorithm".to_string()
                        }
                    });
                }
                true
            }
        },
    };
    let algorithm = new
        .algorithm()
        .or(old.algorithm())
        .or(plan.checksum)
        .unwrap_or(Algorithm::Md5);
    // Names are judged as absolute paths under the newer side's sources (none for a log).
    let (roots, host, time) = match (&new, &old) {
        (Side::Baseline(b), _) | (_, Side::Baseline(b)) => (
            b.header.roots.clone(),
            b.header.host.clone(),
            b.header.created,
        ),
        _ => (Vec::new(), host_name(), now()),
    };
    let diff = diff::diff(
        old.records(),
        new.records(),
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
            ioc_hits: &Default::default(),
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

    /// The checksum algorithm, if this side says (a baseline) or was told (`--cc`).
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
