//! One file per command. Each resolves its arguments and the config once into the plan of a
//! library call (`fimsum::commands`), runs it, and prints what it returns; what a run says
//! while it runs goes to stderr through [`Progress`].

mod check;
mod config;
mod diff;
mod export;
mod hard_links;
mod hunt;
mod import;
mod init;
mod key;
mod man;
mod scan;
mod show;
mod verify_packages;

use std::io::{self, BufWriter, Write};
use std::path::Path;

use fimsum::baseline;
use fimsum::baseline::sign::{PublicKey, SecretKey};
use fimsum::error::{Error, Result};
use fimsum::exit::Status;
use fimsum::fim::config::Config;
use fimsum::fim::policy::Policy;
use fimsum::hash::{Algorithm, HashKind, Kernel};
use fimsum::record::Record;
use fimsum::rsync::escape::Charset;
use fimsum::rsync::log::format_line;
use fimsum::scan::walk::{FilterArg, WalkOptions};
use fimsum::scan::{fs_type_magics, ScanOptions, BATCHES_AHEAD};

use crate::cli::{Command, RunArgs, VerifyArgs};
use crate::progress::Progress;

pub fn run(command: Command, filters: Vec<FilterArg>) -> Result<Status> {
    let charset = Charset::from_environment();
    match command {
        Command::Scan(args) => scan::run(args, filters, charset),
        Command::Init(args) => init::run(args, charset),
        Command::Check(args) => check::run(args, charset, None),
        Command::Update(args) => check::run_update(args, charset),
        Command::Config(args) => config::run(args),
        Command::Diff(args) => diff::run(args, charset),
        Command::Show(args) => show::run(args, charset),
        Command::Import(args) => import::run(args, charset),
        Command::Key(args) => key::run(args),
        Command::Export(args) => export::run(args),
        Command::Hunt(args) => hunt::run(args, charset),
        Command::VerifyPackages(args) => verify_packages::run(args, charset),
        Command::Man { command } => man::man(command.as_deref()),
        Command::Completions { shell } => man::completions(shell),
    }
}

/// Write `render`'s output to stdout, buffered; a closed stdout is an error the caller may
/// forgive ([`report_written`]).
fn write_stdout(render: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    render(&mut out)
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write to standard output", e))
}

/// Write records as rsync's `%n %C` lines: `sink` takes each record in turn.
struct Lines<'a> {
    out: BufWriter<io::StdoutLock<'a>>,
    line: Vec<u8>,
    algorithm: Algorithm,
    charset: Charset,
}

impl Lines<'static> {
    fn new(algorithm: Algorithm, charset: Charset) -> Lines<'static> {
        Lines {
            out: BufWriter::with_capacity(1 << 16, io::stdout().lock()),
            line: Vec::with_capacity(256),
            algorithm,
            charset,
        }
    }
}

impl Lines<'_> {
    fn write(&mut self, record: &Record) -> Result<()> {
        self.line.clear();
        if format_line(record, self.algorithm, self.charset, &mut self.line) {
            self.out
                .write_all(&self.line)
                .map_err(|e| Error::io("cannot write to standard output", e))?;
        }
        Ok(())
    }

    /// rsync's line for an entry its listing options leave out.
    fn skipped(&mut self, skipped: &fimsum::scan::walk::Skipped) -> Result<()> {
        self.line.clear();
        skipped.line(self.charset, &mut self.line);
        self.out
            .write_all(&self.line)
            .map_err(|e| Error::io("cannot write to standard output", e))
    }

    fn finish(mut self) -> Result<()> {
        self.out
            .flush()
            .map_err(|e| Error::io("cannot write to standard output", e))
    }
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

fn load_config(path: Option<&Path>) -> Result<Config> {
    Config::load_or_default(path).map_err(|e| Error::Config(e.to_string()))
}

/// The config's rules, compiled: a config whose rules do not compile is refused before any
/// work.
fn load_rules(config: &Config) -> Result<Policy> {
    Policy::new(config).map_err(|e| Error::Config(e.to_string()))
}

fn load_secret_key(path: Option<&Path>) -> Result<Option<SecretKey>> {
    path.map(SecretKey::load).transpose()
}

/// What a baseline must satisfy to be read: the signature, host and generation of
/// `--verify-key`, `--expect-host` and `--min-generation`.
fn load_verify_policy(args: VerifyArgs) -> Result<Option<baseline::Policy>> {
    let Some(path) = args.verify_key else {
        return Ok(None);
    };
    Ok(Some(baseline::Policy {
        key: PublicKey::load(&path)?,
        expect_host: args.expect_host,
        min_generation: args.min_generation,
    }))
}

/// The `--kernel` asked for, if this CPU has it.
fn kernel(run: &RunArgs) -> Result<Kernel> {
    if !run.kernel.is_supported() {
        return Err(Error::Usage(format!(
            "--kernel {}: this CPU does not support it (the best it has is {})",
            run.kernel,
            Kernel::detect()
        )));
    }
    Ok(run.kernel)
}

/// How to scan: the algorithm, the extra digests, the run's threads and kernel, the walk.
fn scan_options(
    algorithm: Algorithm,
    extras: Vec<HashKind>,
    run: &RunArgs,
    mut walk: WalkOptions,
) -> Result<ScanOptions> {
    walk.attrs &= !run.no_attrs;
    Ok(ScanOptions {
        algorithm,
        extras,
        threads: run.threads.unwrap_or(0),
        walk,
        kernel: kernel(run)?,
        batches_ahead: BATCHES_AHEAD,
        growing: None,
        capture: None,
    })
}

/// The observer of a run: its progress and problems on stderr.
fn progress(run: &RunArgs, charset: Charset) -> Progress {
    Progress::new(run.verbosity(), charset)
}

/// The walk a config asks for: its excludes, `-x`, and the filesystem types it skips.
fn config_walk(config: &Config) -> Result<WalkOptions> {
    let filters = config
        .exclude
        .iter()
        .map(|p| FilterArg::Exclude(p.as_bytes().to_vec()))
        .chain(
            config
                .filters
                .iter()
                .map(|r| FilterArg::Rule(r.as_bytes().to_vec())),
        )
        .collect();
    let mut walk = WalkOptions::new(u8::from(config.one_file_system), filters)
        .map_err(|e| Error::Config(format!("exclude: {e}")))?;
    walk.attrs = config.attrs;
    walk.listing.max_size = config.max_size;
    walk.listing.min_size = config.min_size;
    if let Some(path) = &config.files_from {
        walk.listing.files_from = Some(fimsum::scan::walk::files_from_names(
            &scan::read_names_file(path)?,
            false,
        ));
    } else if config.relative {
        let roots: Vec<Vec<u8>> = config.roots.iter().map(|r| r.as_bytes().to_vec()).collect();
        fimsum::scan::walk::relative::plan(&roots)
            .map_err(|e| Error::Config(format!("relative: {e}")))?;
        walk.listing.relative = true;
    }
    for name in &config.skip_fs {
        let magics = fs_type_magics(name).map_err(|e| Error::Config(format!("skip_fs: {e}")))?;
        walk.skip_fs.extend(magics.into_iter().map(i64::from));
    }
    Ok(walk)
}
