//! One function per subcommand: wires the library's parts together and returns the exit
//! code of a completed run (see `fimsum::error::exit`).

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, IsTerminal, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use crate::progress::Progress;
use fimsum::baseline::sign::{self, PublicKey, SecretKey};
use fimsum::baseline::{self, Baseline, BaselineWriter, Header, Origin, SignatureStatus};
use fimsum::diff::{self, Diff, DiffOptions, Kept};
use fimsum::error::{exit, Error, Problem, Result};
use fimsum::fim::assess::{self, Assessment, Inputs, IocHit};
use fimsum::fim::config::Config;
use fimsum::fim::ioc::IocSet;
use fimsum::fim::packages::{self, PackageDb};
use fimsum::fim::policy::Policy;
use fimsum::hash::{extra_kinds, Algorithm, HashKind};
use fimsum::record::{Content, Record, Timestamp};
use fimsum::report::itemize::write_itemize;
use fimsum::report::rsync::write_rsync;
use fimsum::report::syslog::{Priority, Syslog};
use fimsum::report::{self, Context};
use fimsum::rsync::escape::{escape_name, Charset};
use fimsum::rsync::log::{format_line, LogReader};
use fimsum::rsync::order::ensure_ordered;
use fimsum::scan::fs_types;
use fimsum::scan::quick::{QuickCheck, Reuse};
use fimsum::scan::read;
use fimsum::scan::walk::{FilterArg, WalkOptions};
use fimsum::scan::{self, Item, Prefixes, ScanError, ScanOptions, Stats};

use clap::CommandFactory;

use crate::cli::{
    CheckArgs, Cli, Command, ConfigArgs, DiffArgs, Format, ImportArgs, InitArgs, KeyArgs,
    KeyCommand, ReportFormat, RunArgs, ScanArgs, ShowArgs, VerifyArgs, VerifyPackagesArgs,
};

pub fn run(command: Command, filters: Vec<FilterArg>) -> Result<i32> {
    let charset = Charset::from_environment();
    match command {
        Command::Scan(args) => scan(args, filters, charset),
        Command::Init(args) => init(args, charset),
        Command::Check(args) => check(args, charset, None),
        Command::Update(args) => check(
            args.check,
            charset,
            Some(UpdateKey {
                sign_key: args.sign_key,
                generation: args.generation.generation,
            }),
        ),
        Command::Config(args) => config(args),
        Command::Diff(args) => diff(args, charset),
        Command::Show(args) => show(args, charset),
        Command::Import(args) => import(args),
        Command::Key(args) => key(args),
        Command::VerifyPackages(args) => verify_packages(args, charset),
        Command::Man { command } => man(command.as_deref()),
        Command::Completions { shell } => print_generated(|out| {
            clap_complete::generate(shell, &mut Cli::command(), "fimsum", out);
            Ok(())
        }),
    }
}

fn man(command: Option<&str>) -> Result<i32> {
    let mut found = false;
    print_generated(|out| {
        found = crate::man::render(command, out)?;
        Ok(())
    })?;
    if !found {
        let name = command.unwrap_or_default();
        return Err(Error::Usage(format!("man: no command {name:?}")));
    }
    Ok(0)
}

/// Write generated documentation (man page, completions) to stdout.
fn print_generated(render: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<i32> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    render(&mut out)
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write to standard output", e))?;
    Ok(0)
}

fn scan(args: ScanArgs, filters: Vec<FilterArg>, charset: Charset) -> Result<i32> {
    let sources: Vec<Vec<u8>> = args.paths.into_iter().map(OsStringExt::into_vec).collect();
    let walk = WalkOptions::new(args.walk.one_file_system, filters)
        .map_err(|e| Error::Usage(e.to_string()))?;
    // Before the scan, not after an hour of it.
    let signer = load_secret_key(args.sign_key.as_deref())?;
    let extras = extra_kinds(args.checksum, args.digests.iter().copied());
    let iocs = load_iocs(&args.ioc.ioc, args.checksum, &extras)?;
    let mut listed = Listed::new(&iocs, args.checksum, charset);
    let stats = match args.output {
        None if args.generation.generation.is_some() => {
            return Err(Error::Usage(
                "--generation numbers a baseline: it needs -o FILE".into(),
            ))
        }
        None if !args.digests.is_empty() => {
            return Err(Error::Usage(
                "--digest needs -o FILE: rsync's `%n %C` lines have no place for more digests"
                    .into(),
            ))
        }
        None => {
            let options = scan_options(args.checksum, Vec::new(), &args.run, walk)?;
            let stdout = io::stdout();
            let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
            let mut line = Vec::with_capacity(256);
            let progress = Progress::new(args.run.verbosity(), None, charset);
            let stats = run_scan(&sources, &options, charset, progress, |record| {
                listed.check(&record);
                line.clear();
                if format_line(&record, options.algorithm, charset, &mut line) {
                    out.write_all(&line)
                        .map_err(|e| Error::io("cannot write to standard output", e))?;
                }
                Ok(())
            })?;
            out.flush()
                .map_err(|e| Error::io("cannot write to standard output", e))?;
            stats
        }
        Some(path) => {
            let header = new_header(args.checksum, &sources, &walk, extras.clone())?;
            let mut writer = BaselineWriter::create_numbered(
                &path,
                &header,
                signer,
                args.generation.generation,
            )?;
            let options = scan_options(
                args.checksum,
                extras,
                &args.run,
                skip_own(walk, &writer, &path),
            )?;
            let progress = Progress::new(args.run.verbosity(), None, charset);
            let stats = run_scan(&sources, &options, charset, progress, |record| {
                listed.check(&record);
                writer.append(&record)
            })?;
            writer.finish()?;
            stats
        }
    };
    Ok(incomplete_bit(&stats) | listed.exit_bit())
}

/// `init`: scan the config's roots into its baseline.
fn init(args: InitArgs, charset: Charset) -> Result<i32> {
    let config = load_config(args.config.config.as_deref())?;
    Policy::new(&config).map_err(|e| Error::Config(e.to_string()))?;
    let path = &config.baseline;
    if path.exists() && !args.force {
        return Err(Error::Usage(format!(
            "{}: a baseline exists already: `fimsum update` accepts the changes since it was \
             made, `fimsum init --force` starts over",
            path.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let sources = config_sources(&config);
    let walk = config_walk(&config)?;
    let asked = config
        .digests
        .iter()
        .map(|d| d.parse::<HashKind>().map_err(Error::Config))
        .collect::<Result<Vec<_>>>()?;
    let extras = extra_kinds(config.checksum, asked);
    let header = new_header(config.checksum, &sources, &walk, extras.clone())?;
    let signer = load_secret_key(
        args.sign_key
            .as_ref()
            .or(config.sign_key.as_ref())
            .map(PathBuf::as_path),
    )?;
    let mut writer =
        BaselineWriter::create_numbered(path, &header, signer, args.generation.generation)?;
    let options = scan_options(
        config.checksum,
        extras,
        &args.run,
        skip_own(walk, &writer, path),
    )?;
    let progress = Progress::new(args.run.verbosity(), None, charset);
    let stats = run_scan(&sources, &options, charset, progress, |record| {
        writer.append(&record)
    })?;
    writer.finish()?;
    eprintln!(
        "fimsum: {}: baseline of {} entries ({} files, {} bytes)",
        path.display(),
        stats.entries,
        stats.files,
        stats.bytes
    );
    Ok(incomplete_bit(&stats))
}

/// `config`: print the built-in config, or check one.
fn config(args: ConfigArgs) -> Result<i32> {
    if args.default {
        print_generated(|out| out.write_all(Config::default_text().as_bytes()))?;
        return Ok(0);
    }
    let config = load_config(args.config.config.as_deref())?;
    Policy::new(&config).map_err(|e| Error::Config(e.to_string()))?;
    let from = match &args.config.config {
        Some(path) => path.display().to_string(),
        None if Path::new(fimsum::fim::config::DEFAULT_PATH).exists() => {
            fimsum::fim::config::DEFAULT_PATH.to_string()
        }
        None => "the built-in default (no /etc/fimsum.toml)".to_string(),
    };
    println!(
        "{from}: valid: {} roots, {} rules, checksum {}, baseline {}",
        config.roots.len(),
        config.rules.len(),
        config.checksum,
        config.baseline.display()
    );
    Ok(0)
}

fn load_config(path: Option<&Path>) -> Result<Config> {
    Config::load_or_default(path).map_err(|e| Error::Config(e.to_string()))
}

fn config_sources(config: &Config) -> Vec<Vec<u8>> {
    config.roots.iter().map(|r| r.as_bytes().to_vec()).collect()
}

/// The walk a config asks for: its excludes, `-x`, and the filesystem types it skips.
fn config_walk(config: &Config) -> Result<WalkOptions> {
    let filters = config
        .exclude
        .iter()
        .map(|p| FilterArg::Exclude(p.as_bytes().to_vec()))
        .collect();
    let mut walk = WalkOptions::new(u8::from(config.one_file_system), filters)
        .map_err(|e| Error::Config(format!("exclude: {e}")))?;
    for name in &config.skip_fs {
        let magics =
            fs_types::fs_type_magics(name).map_err(|e| Error::Config(format!("skip_fs: {e}")))?;
        walk.skip_fs.extend(magics.into_iter().map(i64::from));
    }
    Ok(walk)
}

/// The header of a new baseline of `sources`.
fn new_header(
    algorithm: Algorithm,
    sources: &[Vec<u8>],
    walk: &WalkOptions,
    extra_digests: Vec<HashKind>,
) -> Result<Header> {
    Ok(Header {
        algorithm,
        origin: Origin::Scan,
        roots: sources.iter().map(|s| absolute(s)).collect::<Result<_>>()?,
        sources: sources.to_vec(),
        one_file_system: walk.one_file_system,
        filters: walk.filters().to_vec(),
        host: host_name(),
        created: now(),
        generation: 0,
        fimsum_version: env!("CARGO_PKG_VERSION").to_string(),
        extra_digests,
        skip_fs: Some(fs_set(&walk.skip_fs)),
    })
}

/// Filesystem types as a baseline records them: sorted, each once.
fn fs_set(magics: &[i64]) -> Vec<i64> {
    let mut set = magics.to_vec();
    set.sort_unstable();
    set.dedup();
    set
}

/// The filesystem types a check does not enter. A baseline that records them
/// ([`Header::skip_fs`]) is checked with its own, so that what its scan did not enter is
/// neither added nor removed now: when the config (the one of a check without BASELINE, or
/// one given with --config) says otherwise, a note on stderr says which was used and how to
/// change it. An older baseline, which does not say, is checked with the config's when it is
/// the config's baseline, as it was made by `init`, and with none otherwise, as `scan -o`.
fn check_skip_fs(
    header: &Header,
    config: &Config,
    consult_config: bool,
    from_config: bool,
    baseline: &Path,
) -> Result<Vec<i64>> {
    let configured = if consult_config {
        Some(fs_set(&config_walk(config)?.skip_fs))
    } else {
        None
    };
    Ok(match (&header.skip_fs, configured) {
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
                eprintln!(
                    "fimsum: note: {}: not entering the filesystem types the baseline's scan did \
                     not enter ({}), not the config's skip_fs ({}); `fimsum init --force` \
                     makes a baseline with the config's",
                    baseline.display(),
                    names(recorded),
                    names(&configured)
                );
            }
            recorded.clone()
        }
        (Some(recorded), None) => recorded.clone(),
        (None, Some(configured)) if from_config => configured,
        (None, _) => Vec::new(),
    })
}

/// Neither the new baseline nor the one it replaces (nor their lock) is part of the tree it
/// lists.
fn skip_own(mut walk: WalkOptions, writer: &BaselineWriter, path: &Path) -> WalkOptions {
    walk.skip.extend(writer.identities());
    walk.skip.extend(file_identity(path));
    walk
}

fn incomplete_bit(stats: &Stats) -> i32 {
    if stats.problems > 0 {
        exit::INCOMPLETE
    } else {
        0
    }
}

/// The IOC lists of the command line and the config, checked against the digests a scan
/// with `algorithm` and the `extras` records.
fn load_iocs(paths: &[PathBuf], algorithm: Algorithm, extras: &[HashKind]) -> Result<IocSet> {
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
fn ioc_error(e: fimsum::fim::ioc::IocError) -> Error {
    use fimsum::fim::ioc::IocError;
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

/// The records of a scan that are on an IOC list, reported on stderr as they come (stdout
/// may carry rsync's lines) and kept by name for the report.
struct Listed<'a> {
    iocs: &'a IocSet,
    kind: Option<HashKind>,
    charset: Charset,
    hits: std::collections::HashMap<Vec<u8>, Vec<IocHit>>,
}

impl<'a> Listed<'a> {
    fn new(iocs: &'a IocSet, algorithm: Algorithm, charset: Charset) -> Listed<'a> {
        Listed {
            iocs,
            kind: ioc_kind(algorithm),
            charset,
            hits: Default::default(),
        }
    }

    fn check(&mut self, record: &Record) {
        if self.iocs.is_empty() {
            return;
        }
        let hits = assess::ioc_hits(self.iocs, record, self.kind);
        if hits.is_empty() {
            return;
        }
        for hit in &hits {
            eprintln!(
                "fimsum: {}: on an IOC list: {} hash at {}:{}",
                escape_name(&record.name, self.charset),
                hit.kind,
                hit.list.display(),
                hit.line
            );
        }
        self.hits.insert(record.name.clone(), hits);
    }

    fn exit_bit(&self) -> i32 {
        if self.hits.is_empty() {
            0
        } else {
            exit::IOC
        }
    }
}

fn scan_options(
    algorithm: Algorithm,
    extras: Vec<HashKind>,
    run: &RunArgs,
    walk: WalkOptions,
) -> Result<ScanOptions> {
    if !run.kernel.is_supported() {
        return Err(Error::Usage(format!(
            "--kernel {}: this CPU does not support it (the best it has is {})",
            run.kernel,
            fimsum::hash::Kernel::detect()
        )));
    }
    Ok(ScanOptions {
        algorithm,
        extras,
        threads: run.threads.unwrap_or(0),
        walk,
        kernel: run.kernel,
        batches_ahead: scan::BATCHES_AHEAD,
        growing: None,
    })
}

/// Run a scan, reporting problems on stderr as they come, showing `progress` and handing
/// records to `sink`.
fn run_scan(
    sources: &[Vec<u8>],
    options: &ScanOptions,
    charset: Charset,
    progress: Progress,
    sink: impl FnMut(Record) -> Result<()>,
) -> Result<Stats> {
    run_scan_reusing(sources, options, None, charset, progress, sink)
}

fn run_scan_reusing(
    sources: &[Vec<u8>],
    options: &ScanOptions,
    reuse: Option<Box<dyn Reuse + '_>>,
    charset: Charset,
    mut progress: Progress,
    mut sink: impl FnMut(Record) -> Result<()>,
) -> Result<Stats> {
    let result = scan::scan_reusing(sources, options, reuse, |item| match item {
        Item::Record(record) => {
            progress.record(&record);
            sink(record)
        }
        Item::Problem(problem) => {
            progress.suspend(|| warn(&problem, charset));
            Ok(())
        }
    });
    match result {
        Ok(stats) => Ok(stats),
        Err(ScanError::Sink(e)) => Err(e),
        Err(ScanError::Setup(msg)) => {
            Err(Error::io("cannot start the scan", io::Error::other(msg)))
        }
    }
}

fn warn(problem: &Problem, charset: Charset) {
    eprintln!(
        "fimsum: {}: {}",
        escape_name(&problem.name, charset),
        problem.message
    );
}

/// How `update` signs and numbers the new baseline.
struct UpdateKey {
    /// `--sign-key`, else the config's `sign_key`.
    sign_key: Option<PathBuf>,
    generation: Option<u64>,
}

/// `check`, and `update` (`update` given): rescan, report, and for `update` write the scan
/// as the new baseline, keeping the config's number of earlier ones.
///
/// `update` of a signed baseline needs a sign key (`--sign-key` or the config's
/// `sign_key`) and is refused without one (exit 64), before the scan: a signed baseline is
/// never silently replaced by an unsigned one, which the next `check --verify-key` would
/// refuse. The verify key is `--verify-key`, else the config's `verify_key`.
fn check(mut args: CheckArgs, charset: Charset, update: Option<UpdateKey>) -> Result<i32> {
    if args.allow_incomplete && update.is_none() {
        return Err(Error::Usage(
            "--allow-incomplete is for `update`: `check` writes no baseline".into(),
        ));
    }
    // A copy has new ctimes, which is all --quick goes by: it would trust what it must not.
    if args.copy && args.quick {
        return Err(Error::Usage(
            "--copy and --quick: a copy's ctimes are all new, and --quick relies on them".into(),
        ));
    }
    let config = load_config(args.config.config.as_deref())?;
    let policy = Policy::new(&config).map_err(|e| Error::Config(e.to_string()))?;
    // Without a BASELINE this is the config's baseline, walked as `init` walked it.
    let from_config = args.baseline.is_none();
    let baseline_path = args.baseline.unwrap_or_else(|| config.baseline.clone());
    if args.verify.verify_key.is_none() {
        args.verify.verify_key = config.verify_key.clone();
    }
    let verify = load_policy(args.verify)?;
    // Before the scan, not after an hour of it.
    let signer = match &update {
        Some(u) => load_secret_key(
            u.sign_key
                .as_ref()
                .or(config.sign_key.as_ref())
                .map(PathBuf::as_path),
        )?,
        None => None,
    };
    let base = Baseline::open_with(&baseline_path, verify.as_ref())?;
    if let (Some(_), None, SignatureStatus::Unchecked(id) | SignatureStatus::Verified(id)) =
        (&update, &signer, base.signature)
    {
        return Err(Error::Usage(format!(
            "{}: signed by key {id}: give --sign-key FILE (or sign_key in the config) to \
             update it; fimsum does not replace a signed baseline by an unsigned one",
            baseline_path.display()
        )));
    }
    let header = base.header.clone();
    let signature_note = signature_note(&baseline_path, &base);
    let sources: Vec<Vec<u8>> = if args.paths.is_empty() {
        header.roots.clone()
    } else {
        args.paths.into_iter().map(OsStringExt::into_vec).collect()
    };
    if sources.is_empty() {
        return Err(Error::Usage(format!(
            "{}: the baseline records no sources (it was imported from a log): name the PATHs to scan",
            baseline_path.display()
        )));
    }
    // Before the scan: a syslog that cannot be reached is an error now, not after an hour.
    let syslog = args
        .syslog
        .then(|| {
            Syslog::connect(&args.syslog_socket).map_err(|e| {
                Error::io(
                    format!("cannot reach syslog at {}", args.syslog_socket.display()),
                    e,
                )
            })
        })
        .transpose()?;
    let mut ioc_paths = config.ioc.clone();
    ioc_paths.extend(args.ioc.ioc.iter().cloned());
    let iocs = load_iocs(&ioc_paths, header.algorithm, &header.extra_digests)?;
    let mut walk = WalkOptions::new(header.one_file_system, header.filters.clone())
        .map_err(|e| Error::bad_data(&baseline_path, format!("recorded filter: {e}")))?;
    walk.skip_fs = check_skip_fs(
        &header,
        &config,
        from_config || args.config.config.is_some(),
        from_config,
        &baseline_path,
    )?;
    walk.skip.extend(file_identity(&baseline_path));
    walk.skip
        .extend(file_identity(&baseline::lock_path(&baseline_path)));
    let mut writer = if let Some(update) = update {
        let mut next = header.clone();
        next.host = host_name();
        next.created = now();
        // What this scan did not enter, which is what the records say.
        next.skip_fs = Some(fs_set(&walk.skip_fs));
        let mut writer =
            BaselineWriter::create_numbered(&baseline_path, &next, signer, update.generation)?;
        writer.keep_previous(config.keep);
        walk.skip.extend(writer.identities());
        Some(writer)
    } else {
        None
    };
    // The same extra digests as the baseline, so that they are compared too.
    let mut options = scan_options(
        header.algorithm,
        header.extra_digests.clone(),
        &args.run,
        walk,
    )?;
    // The growing files, whose old parts the scan checks as it reads them.
    let growing = Arc::new(Prefixes::new(assess::growing_files(
        base.records_again()?,
        &header.roots,
        &policy,
    )?));
    options.growing = Some(Arc::clone(&growing));
    // --quick reads the baseline a second time, in step with the scan.
    let trusted = Arc::new(AtomicU64::new(0));
    let reuse: Option<Box<dyn Reuse>> = if args.quick {
        let again = fimsum::scan::quick::read_ahead(base.records_again()?);
        let seed = now().nsec as u64 ^ u64::from(std::process::id());
        let sample = args.quick_sample.unwrap_or(0.0);
        Some(Box::new(QuickCheck::new(
            again,
            &header.extra_digests,
            sample,
            seed,
            Arc::clone(&trusted),
        )))
    } else {
        None
    };
    // The rsync formats show what rsync would do, so they compare only what rsync compares;
    // a copy (`--copy`) is compared on what a faithful copy keeps, which is the same set.
    let identity = matches!(args.format, Format::Human | Format::Json) && !args.copy;
    let mut listed = Listed::new(&iocs, header.algorithm, charset);
    let progress = Progress::new(args.run.verbosity(), Some(base.count), charset);

    // For `update`: records kept from the old baseline, and what the scan could not see.
    // Files seen changing while they were read (a busy log) do not make a scan incomplete:
    // their last verified records are kept, and the next check compares with those.
    let (mut kept_old, mut unseen, mut unsettled) = (0u64, 0u64, 0u64);
    let (diff, stats) = std::thread::scope(|scope| -> Result<(Diff, Stats)> {
        let (tx, rx) = mpsc::sync_channel::<Record>(4096);
        let listed = &mut listed;
        let scanner = scope.spawn(move || {
            run_scan_reusing(&sources, &options, reuse, charset, progress, |record| {
                listed.check(&record);
                // The receiver is gone only if the diff failed; its error is reported.
                tx.send(record)
                    .map_err(|_| Error::io("scan", io::Error::other("diff stopped")))
            })
        });
        // The new baseline is written from the comparison, not from the scan alone, so that
        // it can keep the old records of what the scan could not see.
        let diff = diff::diff_keeping(
            base.records(),
            rx.into_iter().map(Ok),
            DiffOptions {
                compare_content: true,
                identity,
            },
            |record, kept| {
                let Some(writer) = writer.as_mut() else {
                    return Ok(());
                };
                match kept {
                    Kept::Old => kept_old += 1,
                    Kept::Unsettled => unsettled += 1,
                    // A file that changed while it was read was seen: the next check has
                    // only this record to compare with, and says it was not hashed.
                    Kept::New if matches!(record.content, Content::ChangedDuringScan(_)) => {
                        unsettled += 1
                    }
                    Kept::New if record.not_seen().is_some() => unseen += 1,
                    Kept::New => {}
                }
                writer.append(record)
            },
        );
        let stats = scanner
            .join()
            .map_err(|_| Error::io("scan", io::Error::other("scan thread panicked")))?;
        Ok((diff?, stats?))
    })?;
    let mut notes: Vec<String> = signature_note.into_iter().collect();
    if args.copy {
        notes.push(
            "--copy: the tree is taken as a copy: compared content, type, mode, owner, group, \
             size, mtime, symlink target and device numbers; not ctime, inode or link count"
                .into(),
        );
    }
    if args.quick {
        notes.push(format!(
            "--quick: {} of {} files trusted from unchanged metadata, not read",
            trusted.load(Ordering::Relaxed),
            stats.files
        ));
    }
    if header.origin == Origin::RsyncLog {
        notes.push(
            "the baseline was imported from an rsync log: only presence and checksums are compared"
                .into(),
        );
    }
    let algorithm = header.algorithm;
    let packages = if args.packages || config.packages {
        if algorithm != Algorithm::Md5 {
            return Err(Error::Usage(format!(
                "--packages compares with dpkg's MD5 sums, but {} holds {algorithm} checksums",
                baseline_path.display()
            )));
        }
        Some(PackageDb::load(Path::new("/"))?)
    } else {
        None
    };
    let prefix_digest = |name: &[u8], len: u64| growing.digest(name, len);
    let assessment = assess::assess(
        &diff,
        &Inputs {
            policy: &policy,
            roots: &header.roots,
            ioc_hits: &listed.hits,
            prefix_digest: &prefix_digest,
            packages: packages.as_ref(),
        },
    );
    let report = Report {
        copy: args.copy,
        format: args.format,
        diff: &diff,
        assessment: &assessment,
        algorithm,
        charset,
        problems: stats.problems,
        notes: &notes,
        host: host_name(),
        time: now(),
        config: &config,
    };
    report_written(report.write())?;
    if let Some(syslog) = &syslog {
        report.log(syslog, &baseline_path)?;
    }
    if let Some(writer) = writer {
        let generation = writer.generation();
        if kept_old + unseen > 0 && !args.allow_incomplete {
            // Dropped unfinished: the baseline stays as it was.
            drop(writer);
            eprintln!(
                "fimsum: {}: not updated: this scan could not fully see {} entries, and a \
                 baseline written from it would lose what is known of them \
                 (--allow-incomplete writes it, keeping their old records)",
                baseline_path.display(),
                kept_old + unseen
            );
            return Ok(report.exit_bits() | incomplete_bit(&stats) | exit::INCOMPLETE);
        }
        writer.finish()?;
        eprintln!(
            "fimsum: {}: updated to generation {generation} (the previous one kept as {}.1)",
            baseline_path.display(),
            baseline_path.display()
        );
        if kept_old > 0 {
            eprintln!(
                "fimsum: {}: {kept_old} records kept from the previous generation for entries \
                 this scan could not see",
                baseline_path.display()
            );
        }
        if unsettled > 0 {
            eprintln!(
                "fimsum: {}: {unsettled} files changed while they were read: their records \
                 from the previous generation are kept where there was one, and the next check \
                 compares with them",
                baseline_path.display()
            );
        }
    }
    Ok(report.exit_bits() | incomplete_bit(&stats))
}

/// A report's outcome, a closed stdout aside: `check BASE | head -1` has shown the reader
/// what it wanted, and the run goes on (syslog, `update`'s new baseline) to exit with the
/// bits of everything it found, not 0. Any other failure to write the report is an error
/// (exit 74), before `update` writes anything: changes nobody could see are not accepted.
/// (`scan` and `show`, whose output is the listing itself, stop quietly with exit 0.)
fn report_written(written: Result<()>) -> Result<()> {
    match written {
        Err(e) if e.is_broken_pipe() => Ok(()),
        other => other,
    }
}

/// Everything a report is written from.
struct Report<'a> {
    /// `check --copy`.
    copy: bool,
    format: Format,
    diff: &'a Diff,
    assessment: &'a Assessment,
    algorithm: Algorithm,
    charset: Charset,
    problems: u64,
    notes: &'a [String],
    host: String,
    time: Timestamp,
    config: &'a Config,
}

impl Report<'_> {
    fn write(&self) -> Result<()> {
        let ctx = Context {
            charset: self.charset,
            problems: self.problems,
            notes: self.notes,
            host: &self.host,
            time: self.time,
            rules: &self.config.rules,
            colour: std::env::var_os("NO_COLOR").is_none() && io::stdout().is_terminal(),
            copy: self.copy,
        };
        let stdout = io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        match self.format {
            Format::Human => report::write_human(&mut out, self.diff, self.assessment, &ctx),
            Format::Json => report::write_json(&mut out, self.diff, self.assessment, &ctx),
            Format::Rsync | Format::Itemize => {
                // rsync prints nothing but its lines: the notes go to stderr.
                for note in self.notes {
                    eprintln!("fimsum: note: {note}");
                }
                if self.format == Format::Rsync {
                    write_rsync(&mut out, self.diff, self.charset, self.algorithm)
                } else {
                    write_itemize(&mut out, self.diff, self.charset, self.algorithm)
                }
            }
        }
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write the report", e))
    }

    /// Send the summary and each finding to syslog, under absolute paths (a log line has no
    /// context to read a relative name against).
    fn log(&self, syslog: &Syslog, baseline: &Path) -> Result<()> {
        let fail = |e| {
            Error::io(
                format!("cannot write to syslog at {}", syslog.path().display()),
                e,
            )
        };
        let by_severity = report::severity_text(self.assessment);
        let summary = format!(
            "check of {}: {}{}",
            baseline.display(),
            report::summary_text(self.diff, self.assessment, self.problems),
            by_severity.map_or(String::new(), |by| format!("; {by}"))
        );
        let priority = match self.assessment.findings.first() {
            Some(worst) => Priority::of(worst.severity),
            None => Priority::Info,
        };
        syslog.send(priority, &summary).map_err(fail)?;
        for finding in &self.assessment.findings {
            let name = escape_name(&finding.path, self.charset);
            let text = report::finding_text(finding, self.diff, &name, self.charset);
            syslog
                .send(
                    Priority::of(finding.severity),
                    &format!("{}: {text}", finding.severity),
                )
                .map_err(fail)?;
        }
        Ok(())
    }

    /// The rsync formats show every change, so their exit code is the whole diff's; the
    /// others show what the policy counts.
    fn exit_bits(&self) -> i32 {
        let ioc = self.assessment.exit_bits() & exit::IOC;
        match self.format {
            Format::Rsync | Format::Itemize => self.diff.exit_bits() | ioc,
            Format::Human | Format::Json => self.assessment.exit_bits(),
        }
    }
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
        let file = fimsum::input::open_input(path)?;
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

fn log_error(path: &Path, e: fimsum::rsync::log::LogError) -> Error {
    Error::bad_data(path, format!("line {}: {}", e.line, e.reason))
}

fn diff(args: DiffArgs, charset: Charset) -> Result<i32> {
    let config = load_config(args.config.config.as_deref())?;
    let rules = Policy::new(&config).map_err(|e| Error::Config(e.to_string()))?;
    let policy = load_policy(args.verify)?;
    let mut old = Side::open(&args.old, args.checksum, policy.as_ref())?;
    let mut new = Side::open(&args.new, args.checksum, policy.as_ref())?;
    let mut notes = Vec::new();
    for (path, side) in [(&args.old, &old), (&args.new, &new)] {
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
                if logs > 0 && args.checksum.is_none() {
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
        .or(args.checksum)
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
            identity: matches!(args.format, Format::Human | Format::Json),
        },
    )?;
    // Two baselines: nothing is on disk to read a growing file's prefix from.
    let assessment = assess::assess(
        &diff,
        &Inputs {
            policy: &rules,
            roots: &roots,
            ioc_hits: &Default::default(),
            prefix_digest: &|_, _| None,
            packages: None,
        },
    );
    let report = Report {
        copy: false,
        format: args.format,
        diff: &diff,
        assessment: &assessment,
        algorithm,
        charset,
        problems: 0,
        notes: &notes,
        host,
        time,
        config: &config,
    };
    report_written(report.write())?;
    Ok(report.exit_bits())
}

fn show(args: ShowArgs, charset: Charset) -> Result<i32> {
    let policy = load_policy(args.verify)?;
    let base = Baseline::open_with(&args.baseline, policy.as_ref())?;
    // stdout carries nothing but the lines.
    if let Some(note) = signature_note(&args.baseline, &base) {
        eprintln!("fimsum: note: {note}");
    }
    let algorithm = base.header.algorithm;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut line = Vec::with_capacity(256);
    for record in base.records() {
        line.clear();
        if format_line(&record?, algorithm, charset, &mut line) {
            out.write_all(&line)
                .map_err(|e| Error::io("cannot write to standard output", e))?;
        }
    }
    out.flush()
        .map_err(|e| Error::io("cannot write to standard output", e))?;
    Ok(0)
}

fn import(args: ImportArgs) -> Result<i32> {
    let signer = load_secret_key(args.sign_key.as_deref())?;
    let file = fimsum::input::open_input(&args.log)?;
    let mut reader = LogReader::new(BufReader::with_capacity(1 << 16, file), args.checksum);
    let algorithm = match args.checksum {
        Some(a) => a,
        None => {
            let width = reader.width().map_err(|e| log_error(&args.log, e))?;
            let a = match width {
                Some(40) => Algorithm::Sha1,
                Some(16) => Algorithm::Xxh3,
                _ => Algorithm::Md5,
            };
            eprintln!(
                "fimsum: {}: taking the checksums to be {a} (say --checksum-choice otherwise)",
                args.log.display()
            );
            a
        }
    };
    let header = Header {
        algorithm,
        origin: Origin::RsyncLog,
        sources: vec![args.log.as_os_str().as_bytes().to_vec()],
        roots: Vec::new(),
        one_file_system: fimsum::scan::walk::OneFileSystem::OFF,
        filters: Vec::new(),
        host: host_name(),
        created: now(),
        generation: 0,
        fimsum_version: env!("CARGO_PKG_VERSION").to_string(),
        extra_digests: Vec::new(),
        skip_fs: None,
    };
    let mut writer =
        BaselineWriter::create_numbered(&args.output, &header, signer, args.generation.generation)?;
    let records = reader.map(|r| r.map_err(|e| log_error(&args.log, e)));
    for record in ensure_ordered(records, args.log.clone()) {
        writer.append(&record?)?;
    }
    writer.finish()?;
    Ok(0)
}

fn key(args: KeyArgs) -> Result<i32> {
    match args.command {
        KeyCommand::Generate { name } => {
            let generated = sign::generate(&name)?;
            let mut out = io::stdout().lock();
            writeln!(
                out,
                "{}: secret key: keep it off the scanned host\n{}: public key, id {}",
                generated.secret.display(),
                generated.public.display(),
                generated.id
            )
            .map_err(|e| Error::io("cannot write to standard output", e))?;
            Ok(0)
        }
    }
}

fn verify_packages(args: VerifyPackagesArgs, charset: Charset) -> Result<i32> {
    let db = PackageDb::load(&args.root).map_err(|e| match e {
        // Say what a missing status file means, not only that it is missing.
        Error::NoInput { path, source } if source.kind() == io::ErrorKind::NotFound => {
            Error::NoInput {
                path,
                source: io::Error::new(
                    io::ErrorKind::NotFound,
                    "no dpkg database: not a Debian-like system (--root DIR checks one mounted at DIR)",
                ),
            }
        }
        e => e,
    })?;
    for warning in db.warnings() {
        eprintln!("fimsum: {}", escape_name(warning.as_bytes(), charset));
    }
    let verification = packages::verify(&db, &args.root, args.threads.unwrap_or(0), read::md5)?;
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let written = match args.format {
        ReportFormat::Human => report::packages::write_human(&mut out, &verification, charset),
        ReportFormat::Json => report::packages::write_json(&mut out, &db, &verification, charset),
    }
    .and_then(|()| out.flush())
    .map_err(|e| Error::io("cannot write the report", e));
    report_written(written)?;
    if args.format == ReportFormat::Human {
        eprintln!(
            "fimsum: {}",
            report::packages::summary_line(&db, &verification)
        );
    }
    Ok(verification.exit_bits())
}

fn load_secret_key(path: Option<&Path>) -> Result<Option<SecretKey>> {
    path.map(SecretKey::load).transpose()
}

fn load_policy(args: VerifyArgs) -> Result<Option<baseline::Policy>> {
    let Some(path) = args.verify_key else {
        return Ok(None);
    };
    Ok(Some(baseline::Policy {
        key: PublicKey::load(&path)?,
        expect_host: args.expect_host,
        min_generation: args.min_generation,
    }))
}

/// What a report says about a baseline's signature: verified (and what it vouches for), or
/// present but unchecked. Nothing for an unsigned baseline read without a verify key.
fn signature_note(path: &Path, base: &Baseline) -> Option<String> {
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
            report::rfc3339(h.created)
        )),
    }
}

/// A source made absolute against the working directory, its trailing slash kept (rsync's
/// meaning of a source depends on it).
fn absolute(source: &[u8]) -> Result<Vec<u8>> {
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

fn file_identity(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The time now; a clock set before 1970 gives a negative time, not the epoch.
fn now() -> Timestamp {
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
