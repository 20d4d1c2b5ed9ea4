//! `check` and `update` as a library call: rescan what a baseline recorded, compare, judge;
//! for `update`, also write the rescan as the baseline's next generation, which is
//! committed only once the caller has reported the changes ([`PendingUpdate::commit`]):
//! changes nobody could see are never accepted.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use crate::baseline::sign::SecretKey;
use crate::baseline::{self, Baseline, BaselineWriter, Header, Origin, SignatureStatus};
use crate::commands::scan::{fs_set, run_scan};
use crate::commands::{
    absolute_source, connect_syslog, file_identity, host_name, load_iocs, now, signature_note,
    Listed, Observer, NOT_IN_A_LOG,
};
use crate::diff::{self, Diff, DiffOptions, Kept};
use crate::error::{Error, Result};
use crate::exit::Bits;
use crate::fim::assess::{self, Assessment, Inputs};
use crate::fim::packages::PackageDb;
use crate::fim::policy::Policy;
use crate::hash::{Algorithm, Kernel};
use crate::record::{Content, Record};
use crate::report::syslog::Syslog;
use crate::scan::fs_types;
use crate::scan::quick::{self, QuickCheck, Reuse};
use crate::scan::walk::WalkOptions;
use crate::scan::{Prefixes, ScanOptions, Stats, BATCHES_AHEAD};
use crate::text::{self, Capture};

/// Records the scan hands the diff at a time.
const CHUNK: usize = 256;
/// Chunks on their way to the diff at most: as many records as were before chunks.
const CHUNKS_AHEAD: usize = 16;

/// A check, resolved from the command line and the config.
pub struct CheckPlan {
    /// The baseline checked against.
    pub baseline: PathBuf,
    /// Verify the baseline's signature with this; `None` reads it unverified.
    pub verify: Option<baseline::Policy>,
    /// The config's `skip_fs` when the config has a say (a check of the config's baseline,
    /// or one given with `--config`); see `skip_fs`.
    pub config_skip_fs: Option<Vec<i64>>,
    /// The baseline is the config's, made by `init` with the config's walk.
    pub from_config: bool,
    /// The rules each change is judged by.
    pub policy: Policy,
    /// IOC lists (the config's and the command line's).
    pub iocs: Vec<PathBuf>,
    /// Sources to scan instead of the baseline's roots; empty for the roots.
    pub paths: Vec<Vec<u8>>,
    /// Hashing threads; 0 means one per core.
    pub threads: usize,
    /// The MD5 kernel the scan hashes with.
    pub kernel: Kernel,
    /// `--quick`: trust files whose metadata is unchanged, reading this percentage of them
    /// anyway.
    pub quick: Option<f64>,
    /// `--copy`: the tree is a copy, whose identity fields (ctime, inode, links) are new.
    pub copy: bool,
    /// Compare the identity fields too (the rsync formats compare only what rsync does).
    pub identity: bool,
    /// Compare changed files with the dpkg database's MD5 sums.
    pub packages: bool,
    /// Send the findings to the syslog socket at this path.
    pub syslog: Option<PathBuf>,
    /// Write a new baseline from this scan afterwards.
    pub update: Option<UpdatePlan>,
    /// Record the security attributes of what the scan sees (and so compare them).
    pub attrs: bool,
    /// The report is rsync's lines (`--format rsync` or `itemize`), whose order under `-H`
    /// is not emulated: such a check of a `-H` baseline is refused before the scan.
    pub rsync_lines: bool,
}

/// How `update` writes the next generation.
pub struct UpdatePlan {
    /// Required for a signed baseline: a signed one is never replaced by an unsigned one,
    /// which the next `check --verify-key` would refuse.
    pub signer: Option<SecretKey>,
    /// The generation to give it; `None` for the next one.
    pub generation: Option<u64>,
    /// Earlier generations kept beside it.
    pub keep: usize,
    /// Write it even when the scan could not see everything, keeping the old records of
    /// what it could not see.
    pub allow_incomplete: bool,
}

/// What a check found.
pub struct Checked {
    /// What changed between the baseline and the tree.
    pub diff: Diff,
    /// What each change is worth under the policy.
    pub assessment: Assessment,
    /// The counters of the scan.
    pub stats: Stats,
    /// What the report should say about how the check was done.
    pub notes: Vec<String>,
    /// The checksum algorithm of the baseline and the scan.
    pub algorithm: Algorithm,
    /// Connected before the scan, so that an unreachable socket fails the run early.
    pub syslog: Option<Syslog>,
    /// The new baseline, written and waiting to replace the old one.
    pub update: Option<PendingUpdate>,
}

/// The next generation of the baseline, written but not yet in place.
pub struct PendingUpdate {
    writer: BaselineWriter,
    path: PathBuf,
    allow_incomplete: bool,
    /// Records kept from the old baseline for entries the scan could not see.
    kept_old: u64,
    /// Entries the scan saw but could not fully read, with no old record to keep.
    unseen: u64,
    /// Files that changed while they were read.
    unsettled: u64,
}

/// What became of an update.
pub enum Updated {
    /// The new baseline replaced the old one.
    Written {
        /// The new baseline's generation.
        generation: u64,
        /// Records kept from the previous generation for entries the scan could not see.
        kept_old: u64,
        /// Files that changed while they were read.
        unsettled: u64,
    },
    /// Not written: the scan could not fully see this many entries, and a baseline written
    /// from it would lose what is known of them (`allow_incomplete` writes it).
    Refused {
        /// The entries the scan could not fully see.
        unseen: u64,
    },
}

impl PendingUpdate {
    /// Put the new generation in place, unless the scan left entries unseen and that was
    /// not allowed; then the baseline stays as it was.
    pub fn commit(self) -> Result<Updated> {
        let unseen = self.kept_old + self.unseen;
        if unseen > 0 && !self.allow_incomplete {
            // Dropped unfinished: the baseline stays as it was.
            drop(self.writer);
            return Ok(Updated::Refused { unseen });
        }
        let generation = self.writer.generation();
        self.writer.finish()?;
        Ok(Updated::Written {
            generation,
            kept_old: self.kept_old,
            unsettled: self.unsettled,
        })
    }

    /// The baseline being updated.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Updated {
    /// The bits the update adds to the check's: incomplete when it was refused.
    pub fn exit_bits(&self) -> Bits {
        match self {
            Updated::Written { .. } => Bits::NONE,
            Updated::Refused { .. } => Bits::INCOMPLETE,
        }
    }
}

/// Rescan the tree `plan.baseline` records and compare it with the baseline.
pub fn check(plan: CheckPlan, observer: &mut dyn Observer) -> Result<Checked> {
    let base = Baseline::open_streaming(&plan.baseline, plan.verify.as_ref())?;
    if let Some(update) = &plan.update {
        if let (None, SignatureStatus::Unchecked(id) | SignatureStatus::Verified(id)) =
            (&update.signer, base.signature)
        {
            return Err(Error::Usage(format!(
                "{}: signed by key {id}: give --sign-key FILE (or sign_key in the config) to \
                 update it; fimsum does not replace a signed baseline by an unsigned one",
                plan.baseline.display()
            )));
        }
    }
    let header = base.header.clone();
    if plan.rsync_lines && header.listing.as_ref().is_some_and(|l| l.hard_links) {
        // What rsync prints for the next run of a -H copy (its hard links to update,
        // its groups in the -H order) was not recorded against live rsync.
        return Err(Error::Usage(format!(
            "{}: made with -H/--hard-links: check --format rsync and --format itemize are \
             not implemented for it (the human, json and siem formats are; see \
             docs/listing.md)",
            plan.baseline.display()
        )));
    }
    let sources: Vec<Vec<u8>> = if plan.paths.is_empty() {
        header.roots.clone()
    } else {
        plan.paths.clone()
    };
    if sources.is_empty() {
        return Err(Error::Usage(format!(
            "{}: the baseline records no sources (it was imported from a log): name the PATHs to scan",
            plan.baseline.display()
        )));
    }
    let algorithm = header.algorithm;
    if plan.packages && algorithm != Algorithm::Md5 {
        return Err(Error::Usage(format!(
            "--packages compares with dpkg's MD5 sums, but {} holds {algorithm} checksums",
            plan.baseline.display()
        )));
    }
    // Before the scan: a syslog that cannot be reached is an error now, not after an hour.
    let syslog = plan.syslog.as_deref().map(connect_syslog).transpose()?;
    let iocs = load_iocs(&plan.iocs, algorithm, &header.extra_digests)?;
    let mut walk = WalkOptions::new(header.one_file_system, header.filters.clone())
        .map_err(|e| Error::bad_data(&plan.baseline, format!("recorded filter: {e}")))?;
    walk.skip_fs = skip_fs(&header, &plan, observer);
    walk.attrs = plan.attrs;
    // The listing the baseline was made with; before version 5, always rsync's -a.
    walk.listing = header.listing.clone().unwrap_or_default();
    walk.skip.extend(file_identity(&plan.baseline));
    walk.skip
        .extend(file_identity(&baseline::lock_path(&plan.baseline)));
    let mut update = match plan.update {
        Some(update) => {
            let mut next = header.clone();
            next.host = host_name();
            next.created = now();
            if header.origin == Origin::RsyncLog {
                // From now on a scan's baseline, of the paths scanned: the next check
                // compares everything and needs no PATHs.
                next.origin = Origin::Scan;
                next.sources = sources.clone();
                next.roots = sources
                    .iter()
                    .map(|s| absolute_source(s))
                    .collect::<Result<_>>()?;
            }
            // What this scan did not enter, which is what the records say.
            next.skip_fs = Some(fs_set(&walk.skip_fs));
            let mut writer = BaselineWriter::create_numbered(
                &plan.baseline,
                &next,
                update.signer,
                update.generation,
            )?;
            writer.keep_previous(update.keep);
            walk.skip.extend(writer.identities());
            Some(PendingUpdate {
                writer,
                path: plan.baseline.clone(),
                allow_incomplete: update.allow_incomplete,
                kept_old: 0,
                unseen: 0,
                unsettled: 0,
            })
        }
        None => None,
    };
    let mut options = ScanOptions {
        algorithm,
        // The same extra digests as the baseline, so that they are compared too.
        extras: header.extra_digests.clone(),
        threads: plan.threads,
        walk,
        kernel: plan.kernel,
        batches_ahead: BATCHES_AHEAD,
        growing: None,
        capture: None,
    };
    // The growing files, whose old parts the scan checks as it reads them.
    let growing = Arc::new(Prefixes::new(assess::growing_files(
        base.records_again()?,
        &header.roots,
        &plan.policy,
    )?));
    options.growing = Some(Arc::clone(&growing));
    // Snapshots for the diffs the rules ask for; a secret file's line digests are taken
    // with the salt its baseline record has, so that the two versions compare.
    if assess::under_roots(&header.roots, |dir| plan.policy.may_diff_under(dir)) {
        let mut capture = Capture::new(plan.policy.clone(), header.roots.clone());
        if base.version() >= baseline::SNAPSHOT_VERSION {
            let records = base.records_again()?;
            capture = capture.with_salts(move || text::capture::salts(records));
        }
        options.capture = Some(Arc::new(capture));
    }
    // --quick reads the baseline a second time, in step with the scan.
    let trusted = Arc::new(AtomicU64::new(0));
    let reuse: Option<Box<dyn Reuse>> = match plan.quick {
        Some(sample) => {
            let again = quick::read_ahead(base.records_again()?);
            let seed = now().nsec as u64 ^ u64::from(std::process::id());
            Some(Box::new(QuickCheck::new(
                again,
                &header.extra_digests,
                sample,
                seed,
                Arc::clone(&trusted),
            )))
        }
        None => None,
    };
    let mut listed = Listed::new(&iocs, algorithm);
    observer.start(Some(base.count));
    let signature = signature_note(&plan.baseline, &base);
    let (diff, stats) = std::thread::scope(|scope| -> Result<(Diff, Stats)> {
        // Handed over a chunk at a time: record by record, the diff, which is faster than
        // the scan, slept and was woken for nearly every one.
        let (tx, rx) = mpsc::sync_channel::<Vec<Record>>(CHUNKS_AHEAD);
        let listed = &mut listed;
        let scanner = scope.spawn(move || {
            // The receiver is gone only if the diff failed; its error is reported.
            let send = |chunk| {
                tx.send(chunk)
                    .map_err(|_| Error::io("scan", io::Error::other("diff stopped")))
            };
            let mut chunk = Vec::with_capacity(CHUNK);
            let stats = run_scan(
                &sources,
                &options,
                reuse,
                observer,
                |record, observer| {
                    listed.check(&record, observer);
                    chunk.push(record);
                    if chunk.len() == CHUNK {
                        send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))?;
                    }
                    Ok(())
                },
                // Left out of the baseline as of the rescan alike: nothing to compare.
                |_| Ok(()),
            )?;
            send(chunk)?;
            Ok(stats)
        });
        // The new baseline is written from the comparison, not from the scan alone, so that
        // it can keep the old records of what the scan could not see. Files seen changing
        // while they were read (a busy log) do not make a scan incomplete: their last
        // verified records are kept, and the next check compares with those.
        let diff = diff::diff_keeping(
            base.records(),
            rx.into_iter().flatten().map(Ok),
            DiffOptions {
                compare_content: true,
                identity: plan.identity,
            },
            |record, kept| {
                let Some(update) = update.as_mut() else {
                    return Ok(());
                };
                match kept {
                    Kept::Old => update.kept_old += 1,
                    Kept::Unsettled => update.unsettled += 1,
                    // A file that changed while it was read was seen: the next check has
                    // only this record to compare with, and says it was not hashed.
                    Kept::New if matches!(record.content, Content::ChangedDuringScan(_)) => {
                        update.unsettled += 1
                    }
                    Kept::New if record.not_seen().is_some() => update.unseen += 1,
                    Kept::New => {}
                }
                update.writer.append(record)
            },
        );
        let stats = scanner
            .join()
            .map_err(|_| Error::io("scan", io::Error::other("scan thread panicked")))?;
        Ok((diff?, stats?))
    })?;
    let mut notes: Vec<String> = signature.into_iter().collect();
    if plan.copy {
        notes.push(
            "--copy: the tree is taken as a copy: compared content, type, mode, owner, group, \
             size, mtime, symlink target and device numbers; not ctime, inode or link count"
                .into(),
        );
    }
    if let Some(note) = attrs_note(&diff) {
        notes.push(note);
    }
    if plan.quick.is_some() {
        notes.push(format!(
            "--quick: {} of {} files trusted from unchanged metadata, not read",
            trusted.load(Ordering::Relaxed),
            stats.files
        ));
    }
    if header.origin == Origin::RsyncLog && !header.roots.is_empty() {
        notes.push(
            "the baseline was replayed from rsync logs onto a scan's: the metadata of what the \
             logs list is the base's, not verified since, and what only a log knows has none \
             (`fimsum update` records it)"
                .into(),
        );
    } else if header.origin == Origin::RsyncLog {
        notes.push(format!(
            "the baseline was imported from an rsync log: only presence and checksums are \
             compared; {NOT_IN_A_LOG} could not be, nor judged by the detectors of changes to \
             them (`fimsum update` records them)"
        ));
    }
    let packages = if plan.packages {
        Some(PackageDb::load(Path::new("/"))?)
    } else {
        None
    };
    let prefix_digest = |name: &[u8], len: u64| growing.digest(name, len);
    let assessment = assess::assess(
        &diff,
        &Inputs {
            policy: &plan.policy,
            roots: &header.roots,
            ioc_hits: &listed.hits,
            prefix_digest: &prefix_digest,
            packages: packages.as_ref(),
        },
    );
    Ok(Checked {
        diff,
        assessment,
        stats,
        notes,
        algorithm,
        syslog,
        update,
    })
}

/// The filesystem types a check does not enter. A baseline that records them
/// ([`Header::skip_fs`]) is checked with its own, so that what its scan did not enter is
/// neither added nor removed now: when the config says otherwise, a note says which was used
/// and how to change it. An older baseline, which does not say, is checked with the
/// config's when it is the config's baseline, as it was made by `init`, and with none
/// otherwise, as `scan -o`.
fn skip_fs(header: &Header, plan: &CheckPlan, observer: &mut dyn Observer) -> Vec<i64> {
    let configured = plan.config_skip_fs.as_deref().map(fs_set);
    match (&header.skip_fs, configured) {
        (Some(recorded), Some(configured)) => {
            if *recorded != configured {
                let names = |set: &[i64]| -> String {
                    let mut names: Vec<String> =
                        set.iter().map(|&m| fs_types::fs_type_name(m)).collect();
                    names.dedup();
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                };
                observer.note(&format!(
                    "{}: not entering the filesystem types the baseline's scan did not enter \
                     ({}), not the config's skip_fs ({}); `fimsum init --force` makes a \
                     baseline with the config's",
                    plan.baseline.display(),
                    names(recorded),
                    names(&configured)
                ));
            }
            recorded.clone()
        }
        (Some(recorded), None) => recorded.clone(),
        (None, Some(configured)) if plan.from_config => configured,
        (None, _) => Vec::new(),
    }
}

impl Checked {
    /// The exit bits of the check as reported (see `super::report_bits`), incomplete if
    /// any entry could not be fully seen.
    pub fn exit_bits(&self, every_change: bool) -> Bits {
        super::report_bits(&self.diff, &self.assessment, every_change)
            | Bits::incomplete_if(self.stats.problems)
    }
}

/// The note for entries whose security attributes one side did not record.
pub(crate) fn attrs_note(diff: &Diff) -> Option<String> {
    (diff.attrs_not_recorded > 0).then(|| {
        format!(
            "security attributes (caps, flags, acl, selinux, xattrs) not recorded on one side \
             for {} entries (a baseline of format 4 or earlier, or a scan with --no-attrs): \
             not compared",
            diff.attrs_not_recorded
        )
    })
}
