//! `import` as a library call: a backup job's rsync logs written as a baseline. A full
//! listing alone gives the state of the tree it lists; nights (incremental logs) are
//! replayed in order onto a base baseline (`--base`), giving the state after the last of
//! them, which later logs, baselines or a scan can be compared with.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::baseline::{Baseline, BaselineWriter, Header, Origin};
use crate::commands::logs::{self, LogOptions, Notes, Records};
use crate::commands::scan::BaselineTarget;
use crate::commands::{host_name, now, Observer};
use crate::error::{Error, Result};
use crate::hash::Algorithm;

/// An import, resolved from the command line.
pub struct ImportPlan {
    /// The logs, oldest first.
    pub logs: Vec<PathBuf>,
    /// The state before the first log; `None`: the first log must be a full listing.
    pub base: Option<PathBuf>,
    /// What `base` must satisfy to be read: its signature, host and generation.
    pub verify: Option<crate::baseline::Policy>,
    /// What the logs do not say.
    pub options: LogOptions,
    /// Where the baseline goes.
    pub output: BaselineTarget,
}

/// Write the state after the logs as a baseline. Nothing is written unless every log reads.
pub fn import(plan: ImportPlan, observer: &mut dyn Observer) -> Result<()> {
    let options = &plan.options;
    let base = plan
        .base
        .as_deref()
        .map(|path| Baseline::open_with(path, plan.verify.as_ref()))
        .transpose()?;
    let mut algorithm = base.as_ref().map(|b| b.header.algorithm);
    // The logs, read through once; the state below borrows them.
    let mut read = Vec::new();
    // The base is read as the replay needs it, never held as records.
    let mut state: Option<Records> = match &base {
        Some(b) => Some(Box::new(b.records_again()?)),
        None => None,
    };
    let notes = Notes::default();
    let mut without_checksums = false;
    for path in &plan.logs {
        let log = logs::open(path, options, observer)?;
        let log_algorithm = log.algorithm;
        without_checksums |= log_algorithm.is_none();
        if let (Some(known), Some(this)) = (algorithm, log_algorithm) {
            if known != this {
                return Err(Error::Usage(format!(
                    "{}: its checksums are {this}, those before it {known}: a baseline holds \
                     one algorithm (import a full listing of {this} instead)",
                    path.display()
                )));
            }
        }
        algorithm = algorithm.or(log_algorithm);
        read.push(log);
    }
    for log in &read {
        state = Some(logs::apply(state, log, &notes)?);
    }
    let algorithm = algorithm.or(options.checksum).unwrap_or(Algorithm::Md5);
    // The checksums a log without `%C` could not give come from the copy it was written for.
    let copy = options.dest.as_deref().filter(|_| without_checksums);
    if without_checksums && copy.is_none() {
        observer.warning(&format!(
            "{}: the logs show no checksums: the files they list have none in the \
             baseline (--dest DIR checksums them in the backup copy)",
            plan.logs.first().map_or(Path::new(""), |p| p).display()
        ));
    }
    // A baseline's records all carry its extra digests, and a log gives none for what a
    // night changed: the base's are dropped, and the user told.
    let extra_kinds = base
        .as_ref()
        .map_or(&[][..], |b| &b.header.extra_digests[..]);
    let drop_extras = !extra_kinds.is_empty() && !plan.logs.is_empty();
    if drop_extras {
        let names: Vec<&str> = extra_kinds.iter().map(|k| k.name()).collect();
        observer.note(&format!(
            "the base's extra digests ({}) are not kept: an rsync log carries none for what \
             it lists (a scan with --digest records them again)",
            names.join(", ")
        ));
    }
    let header = header(&plan, base.as_ref().map(|b| &b.header), algorithm);
    let target = plan.output;
    let mut writer =
        BaselineWriter::create_numbered(&target.path, &header, target.signer, target.generation)?;
    let mut filled = 0u64;
    for record in state.into_iter().flatten() {
        let mut record = record?;
        if drop_extras {
            record.extra.clear();
        }
        if let Some(dest) = copy {
            filled += u64::from(logs::fill_from_copy(&mut record, dest, algorithm));
        }
        writer.append(&record)?;
    }
    for note in notes.borrow().iter() {
        observer.note(note);
    }
    if let Some(dest) = copy {
        observer.note(&format!(
            "{filled} checksums ({algorithm}) are of the files in {} as they are now, not as \
             the job copied them",
            dest.display()
        ));
    }
    writer.finish()?;
    Ok(())
}

/// The new baseline's header: the base's (its roots, so that `check` rescans them), marked
/// as from logs, or a log's own.
fn header(plan: &ImportPlan, base: Option<&Header>, algorithm: Algorithm) -> Header {
    match base {
        Some(base) => Header {
            origin: Origin::RsyncLog,
            host: host_name(),
            created: now(),
            fimsum_version: env!("CARGO_PKG_VERSION").to_string(),
            extra_digests: Vec::new(),
            ..base.clone()
        },
        None => Header {
            algorithm,
            origin: Origin::RsyncLog,
            sources: plan
                .logs
                .iter()
                .map(|p| p.as_os_str().as_bytes().to_vec())
                .collect(),
            roots: Vec::new(),
            one_file_system: crate::scan::walk::OneFileSystem::OFF,
            filters: Vec::new(),
            host: host_name(),
            created: now(),
            generation: 0,
            fimsum_version: env!("CARGO_PKG_VERSION").to_string(),
            extra_digests: Vec::new(),
            skip_fs: None,
            listing: None,
        },
    }
}
