//! One function per subcommand: wires the library's parts together and returns the exit
//! code of a completed run (see `fimsum::error::exit`).

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use fimsum::baseline::{self, Baseline, BaselineWriter, Header, Origin, SignatureStatus};
use fimsum::diff::{self, Diff, DiffOptions};
use fimsum::error::{exit, Error, Problem, Result};
use fimsum::escape::{escape_name, Charset};
use fimsum::hash::{extra_kinds, Algorithm, HashKind};
use fimsum::itemize::write_itemize;
use fimsum::order::ensure_ordered;
use fimsum::quick::{QuickCheck, Reuse};
use fimsum::record::{Record, Timestamp};
use fimsum::report::{self, Context};
use fimsum::rsync_log::{format_line, LogReader};
use fimsum::rsync_report::write_rsync;
use fimsum::scan::{self, Item, ScanError, ScanOptions, Stats};
use fimsum::sign::{self, Policy, PublicKey, SecretKey};
use fimsum::walk::{FilterArg, WalkOptions};

use clap::CommandFactory;

use crate::cli::{
    CheckArgs, Cli, Command, DiffArgs, Format, ImportArgs, KeyArgs, KeyCommand, RunArgs, ScanArgs,
    ShowArgs, VerifyArgs,
};

pub fn run(command: Command, filters: Vec<FilterArg>) -> Result<i32> {
    let charset = Charset::from_environment();
    match command {
        Command::Scan(args) => scan(args, filters, charset),
        Command::Check(args) => check(args, charset),
        Command::Diff(args) => diff(args, charset),
        Command::Show(args) => show(args, charset),
        Command::Import(args) => import(args),
        Command::Key(args) => key(args),
        Command::Man { command } => man(command.as_deref()),
        Command::Completions { shell } => print_generated(|out| {
            clap_complete::generate(shell, &mut Cli::command(), "fimsum", out);
            Ok(())
        }),
    }
}

fn man(command: Option<&str>) -> Result<i32> {
    let top = Cli::command();
    let page = match command {
        None => top,
        Some(name) => {
            let sub = top
                .find_subcommand(name)
                .ok_or_else(|| Error::Usage(format!("man: no command {name:?}")))?;
            sub.clone().name(format!("fimsum-{name}"))
        }
    };
    print_generated(|out| clap_mangen::Man::new(page).render(out))
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
    let mut walk = WalkOptions::new(args.walk.one_file_system, filters)
        .map_err(|e| Error::Usage(e.to_string()))?;
    // Before the scan, not after an hour of it.
    let signer = load_secret_key(args.sign_key.as_deref())?;
    let extras = extra_kinds(args.checksum, args.digests.iter().copied());
    let stats = match args.output {
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
            let stats = run_scan(&sources, &options, charset, |record| {
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
            let header = Header {
                algorithm: args.checksum,
                origin: Origin::Scan,
                roots: sources.iter().map(|s| absolute(s)).collect::<Result<_>>()?,
                sources: sources.clone(),
                one_file_system: walk.one_file_system,
                filters: walk.filters().to_vec(),
                host: host_name(),
                created: now(),
                generation: 0,
                fimsum_version: env!("CARGO_PKG_VERSION").to_string(),
                extra_digests: extras.clone(),
            };
            let mut writer = BaselineWriter::create_next(&path, &header)?;
            if let Some(key) = signer {
                writer.sign_with(key);
            }
            // Neither the new baseline nor the one it replaces is part of the tree it lists.
            walk.skip.extend(writer.identities());
            walk.skip.extend(file_identity(&path));
            let options = scan_options(args.checksum, extras, &args.run, walk)?;
            let stats = run_scan(&sources, &options, charset, |record| writer.append(&record))?;
            writer.finish()?;
            stats
        }
    };
    Ok(if stats.problems > 0 {
        exit::INCOMPLETE
    } else {
        0
    })
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
    })
}

/// Run a scan, reporting problems on stderr as they come and handing records to `sink`.
fn run_scan(
    sources: &[Vec<u8>],
    options: &ScanOptions,
    charset: Charset,
    sink: impl FnMut(Record) -> Result<()>,
) -> Result<Stats> {
    run_scan_reusing(sources, options, None, charset, sink)
}

fn run_scan_reusing(
    sources: &[Vec<u8>],
    options: &ScanOptions,
    reuse: Option<Box<dyn Reuse + '_>>,
    charset: Charset,
    mut sink: impl FnMut(Record) -> Result<()>,
) -> Result<Stats> {
    let result = scan::scan_reusing(sources, options, reuse, |item| match item {
        Item::Record(record) => sink(record),
        Item::Problem(problem) => {
            warn(&problem, charset);
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

fn check(args: CheckArgs, charset: Charset) -> Result<i32> {
    let policy = load_policy(args.verify)?;
    let base = Baseline::open_with(&args.baseline, policy.as_ref())?;
    let header = base.header.clone();
    let signature_note = signature_note(&args.baseline, &base);
    let sources: Vec<Vec<u8>> = if args.paths.is_empty() {
        header.roots.clone()
    } else {
        args.paths.into_iter().map(OsStringExt::into_vec).collect()
    };
    if sources.is_empty() {
        return Err(Error::Usage(format!(
            "{}: the baseline records no sources (it was imported from a log): name the PATHs to scan",
            args.baseline.display()
        )));
    }
    let mut walk = WalkOptions::new(header.one_file_system, header.filters.clone())
        .map_err(|e| Error::bad_data(&args.baseline, format!("recorded filter: {e}")))?;
    walk.skip.extend(file_identity(&args.baseline));
    walk.skip
        .extend(file_identity(&baseline::lock_path(&args.baseline)));
    // The same extra digests as the baseline, so that they are compared too.
    let options = scan_options(
        header.algorithm,
        header.extra_digests.clone(),
        &args.run,
        walk,
    )?;
    // --quick reads the baseline a second time, in step with the scan.
    let trusted = Arc::new(AtomicU64::new(0));
    let reuse: Option<Box<dyn Reuse>> = if args.quick {
        let again = base.records_again()?;
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

    let (diff, stats) = std::thread::scope(|scope| -> Result<(Diff, Stats)> {
        let (tx, rx) = mpsc::sync_channel::<Record>(4096);
        let scanner = scope.spawn(move || {
            run_scan_reusing(&sources, &options, reuse, charset, |record| {
                // The receiver is gone only if the diff failed; its error is reported.
                tx.send(record)
                    .map_err(|_| Error::io("scan", io::Error::other("diff stopped")))
            })
        });
        let diff = diff::diff(
            base.records(),
            rx.into_iter().map(Ok),
            DiffOptions {
                compare_content: true,
            },
        );
        let stats = scanner
            .join()
            .map_err(|_| Error::io("scan", io::Error::other("scan thread panicked")))?;
        Ok((diff?, stats?))
    })?;
    let mut notes: Vec<String> = signature_note.into_iter().collect();
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
    write_report(
        args.format,
        &diff,
        header.algorithm,
        charset,
        stats.problems,
        &notes,
    )?;
    let incomplete = if stats.problems > 0 {
        exit::INCOMPLETE
    } else {
        0
    };
    Ok(diff.exit_bits() | incomplete)
}

fn write_report(
    format: Format,
    diff: &Diff,
    algorithm: Algorithm,
    charset: Charset,
    problems: u64,
    notes: &[String],
) -> Result<()> {
    let ctx = Context {
        charset,
        problems,
        notes,
    };
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    match format {
        Format::Human => report::write_human(&mut out, diff, &ctx),
        Format::Json => report::write_json(&mut out, diff, &ctx),
        Format::Rsync | Format::Itemize => {
            // rsync prints nothing but its lines: the notes go to stderr.
            for note in notes {
                eprintln!("fimsum: note: {note}");
            }
            if format == Format::Rsync {
                write_rsync(&mut out, diff, charset, algorithm)
            } else {
                write_itemize(&mut out, diff, charset, algorithm)
            }
        }
    }
    .and_then(|()| out.flush())
    .map_err(|e| Error::io("cannot write the report", e))
}

/// One side of a `diff`: a baseline or an rsync log.
enum Side {
    Baseline(Baseline),
    Log(PathBuf, LogReader<BufReader<File>>),
}

impl Side {
    fn open(path: &Path, algorithm: Option<Algorithm>, policy: Option<&Policy>) -> Result<Side> {
        if baseline::is_baseline(path)? {
            return Ok(Side::Baseline(Baseline::open_with(path, policy)?));
        }
        if policy.is_some() {
            return Err(Error::bad_data(
                path,
                "an rsync log, which cannot be signed: --verify-key needs baselines",
            ));
        }
        let file = File::open(path).map_err(|source| Error::NoInput {
            path: path.to_path_buf(),
            source,
        })?;
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

fn log_error(path: &Path, e: fimsum::rsync_log::LogError) -> Error {
    Error::bad_data(path, format!("line {}: {}", e.line, e.reason))
}

fn diff(args: DiffArgs, charset: Charset) -> Result<i32> {
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
    let diff = diff::diff(
        old.records(),
        new.records(),
        DiffOptions { compare_content },
    )?;
    write_report(args.format, &diff, algorithm, charset, 0, &notes)?;
    Ok(diff.exit_bits())
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
    let file = File::open(&args.log).map_err(|source| Error::NoInput {
        path: args.log.clone(),
        source,
    })?;
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
        one_file_system: 0,
        filters: Vec::new(),
        host: host_name(),
        created: now(),
        generation: 0,
        fimsum_version: env!("CARGO_PKG_VERSION").to_string(),
        extra_digests: Vec::new(),
    };
    let mut writer = BaselineWriter::create_next(&args.output, &header)?;
    if let Some(key) = signer {
        writer.sign_with(key);
    }
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

fn load_secret_key(path: Option<&Path>) -> Result<Option<SecretKey>> {
    path.map(SecretKey::load).transpose()
}

fn load_policy(args: VerifyArgs) -> Result<Option<Policy>> {
    let Some(path) = args.verify_key else {
        return Ok(None);
    };
    Ok(Some(Policy {
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

fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        sec: d.as_secs() as i64,
        nsec: d.subsec_nanos(),
    }
}
