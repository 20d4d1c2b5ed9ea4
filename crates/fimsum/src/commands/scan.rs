//! rsync's checksum pass as a library call: the records of a scan handed to a sink (the
//! `%n %C` lines of `fimsum scan`) or written to a new baseline (`scan -o`, `init`).

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;

use crate::baseline::sign::SecretKey;
use crate::baseline::{BaselineWriter, Header, Origin};
use crate::commands::{absolute_source, file_identity, host_name, now, Listed, Observer};
use crate::error::{Error, Result};
use crate::exit::Bits;
use crate::fim::assess::IocHit;
use crate::fim::ioc::IocSet;
use crate::fim::policy::Policy;
use crate::hash::{Algorithm, HashKind};
use crate::record::Record;
use crate::scan::quick::Reuse;
use crate::scan::walk::{Skipped, WalkOptions};
use crate::scan::{self, Item, ScanError, ScanOptions, Stats};
use crate::text::Capture;

/// What to scan and how.
pub struct ScanPlan {
    /// The source arguments, as rsync takes them (`dir/`, `dir`, `.`).
    pub sources: Vec<Vec<u8>>,
    /// How the scan walks and hashes.
    pub options: ScanOptions,
    /// Known-bad digests to look for; empty for none.
    pub iocs: IocSet,
    /// For a baseline (`init`): the rules whose `diff` keeps snapshots of files' content
    /// ([`crate::text`]); `None` keeps none (`scan -o`, which has no config).
    pub diffs: Option<Policy>,
}

/// Where a scan's baseline goes.
pub struct BaselineTarget {
    /// The baseline's path.
    pub path: PathBuf,
    /// Signs the baseline; `None` writes it unsigned.
    pub signer: Option<SecretKey>,
    /// The generation to give it; `None` numbers it after the one it replaces.
    pub generation: Option<u64>,
}

/// What a scan found.
pub struct Scanned {
    /// The counters of the scan.
    pub stats: Stats,
    /// The entries on an IOC list, by name.
    pub ioc_hits: HashMap<Vec<u8>, Vec<IocHit>>,
}

impl Scanned {
    /// Incomplete if any entry could not be fully seen; IOC if any was on a list.
    pub fn exit_bits(&self) -> Bits {
        let ioc = if self.ioc_hits.is_empty() {
            Bits::NONE
        } else {
            Bits::IOC
        };
        Bits::incomplete_if(self.stats.problems) | ioc
    }
}

/// Scan, handing each record to `sink` in rsync order.
pub fn scan_into(
    plan: &ScanPlan,
    observer: &mut dyn Observer,
    mut sink: impl FnMut(&Record) -> Result<()>,
) -> Result<Scanned> {
    scan_lines(plan, observer, |line| match line {
        Line::Record(record) => sink(record),
        Line::Skipped(_) => Ok(()),
    })
}

/// One line of rsync's output for a scan: an entry's `%n %C` line, or the line rsync prints
/// for an entry its listing options leave out.
#[derive(Clone, Copy, Debug)]
pub enum Line<'a> {
    /// An entry of the listing.
    Record(&'a Record),
    /// `skipping non-regular file "NAME"` or `skipping directory NAME`.
    Skipped(&'a Skipped),
}

/// [`scan_into`], also handing `sink` the entries the listing options leave out with a
/// line of their own, where the walk met them.
pub fn scan_lines(
    plan: &ScanPlan,
    observer: &mut dyn Observer,
    mut sink: impl FnMut(Line<'_>) -> Result<()>,
) -> Result<Scanned> {
    let mut listed = Listed::new(&plan.iocs, plan.options.algorithm);
    observer.start(None);
    let sink = std::cell::RefCell::new(&mut sink);
    let stats = run_scan(
        &plan.sources,
        &plan.options,
        None,
        observer,
        |record, observer| {
            listed.check(&record, observer);
            (sink.borrow_mut())(Line::Record(&record))
        },
        |skipped| (sink.borrow_mut())(Line::Skipped(skipped)),
    )?;
    Ok(Scanned {
        stats,
        ioc_hits: listed.hits,
    })
}

/// Scan into a new baseline at `target`, which replaces the one there only when the scan
/// has ended: an interrupted scan leaves the old one as it was.
pub fn scan_to_baseline(
    mut plan: ScanPlan,
    target: BaselineTarget,
    observer: &mut dyn Observer,
) -> Result<Scanned> {
    let header = new_header(
        plan.options.algorithm,
        &plan.sources,
        &plan.options.walk,
        plan.options.extras.clone(),
    )?;
    if let Some(policy) = plan.diffs.take() {
        let capture = Capture::new(policy, header.roots.clone());
        plan.options.capture = Some(std::sync::Arc::new(capture));
    }
    let mut writer =
        BaselineWriter::create_numbered(&target.path, &header, target.signer, target.generation)?;
    // Neither the new baseline nor the one it replaces (nor their lock) is part of the tree
    // it lists.
    plan.options.walk.skip.extend(writer.identities());
    plan.options.walk.skip.extend(file_identity(&target.path));
    let scanned = scan_into(&plan, observer, |record| writer.append(record))?;
    writer.finish()?;
    Ok(scanned)
}

/// The header of a new baseline of `sources`.
pub(crate) fn new_header(
    algorithm: Algorithm,
    sources: &[Vec<u8>],
    walk: &WalkOptions,
    extra_digests: Vec<HashKind>,
) -> Result<Header> {
    Ok(Header {
        algorithm,
        origin: Origin::Scan,
        roots: sources
            .iter()
            .map(|s| match walk.listing.relative {
                true => Ok(crate::scan::walk::relative::anchored(
                    s,
                    &absolute_source(b"")?,
                )),
                false => absolute_source(s),
            })
            .collect::<Result<_>>()?,
        sources: sources.to_vec(),
        one_file_system: walk.one_file_system,
        filters: walk.filters().to_vec(),
        host: host_name(),
        created: now(),
        generation: 0,
        fimsum_version: env!("CARGO_PKG_VERSION").to_string(),
        extra_digests,
        skip_fs: Some(fs_set(&walk.skip_fs)),
        listing: Some(walk.listing.clone()),
    })
}

/// Filesystem types as a baseline records them: sorted, each once.
pub(crate) fn fs_set(magics: &[i64]) -> Vec<i64> {
    let mut set = magics.to_vec();
    set.sort_unstable();
    set.dedup();
    set
}

/// Run a scan, telling `observer` of each record and problem, and handing records to
/// `sink` (which may tell the observer more).
pub(crate) fn run_scan(
    sources: &[Vec<u8>],
    options: &ScanOptions,
    reuse: Option<Box<dyn Reuse + '_>>,
    observer: &mut dyn Observer,
    mut sink: impl FnMut(Record, &mut dyn Observer) -> Result<()>,
    mut skipped: impl FnMut(&Skipped) -> Result<()>,
) -> Result<Stats> {
    let result = scan::scan_reusing(sources, options, reuse, |item| match item {
        Item::Record(record) => {
            observer.record(&record);
            sink(record, observer)
        }
        Item::Problem(problem) => {
            observer.problem(&problem);
            Ok(())
        }
        Item::Skipped(entry) => skipped(&entry),
    });
    observer.finish();
    match result {
        Ok(stats) => Ok(stats),
        Err(ScanError::Sink(e)) => Err(e),
        Err(ScanError::Setup(msg)) => {
            Err(Error::io("cannot start the scan", io::Error::other(msg)))
        }
    }
}
