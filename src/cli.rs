//! The command line: clap types only. Validation that needs more than clap lives in
//! `commands.rs`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use fimsum::hash::{Algorithm, HashKind, Kernel};

#[derive(Parser, Debug)]
#[command(
    name = "fimsum",
    version,
    about = "File-integrity scanner: rsync's `%n %C` checksum listing, baselines and diffs",
    long_about = "fimsum prints exactly what `rsync -a --checksum --out-format=\"%n %C\"` prints, \
                  writes compact baselines of a tree and tells what was added, removed and \
                  changed since.\n\nExit codes: 0 nothing changed; otherwise a bitmask of 1 added, \
                  2 removed, 4 changed, 8 incomplete (something could not be read), 16 a file \
                  is on an IOC list. 64 usage error, 65 bad baseline or log data (including a \
                  baseline whose signature does not verify), 66 missing input, 74 I/O error, 75 \
                  the baseline is being written by another run, 78 bad key or config file \
                  (malformed or unsafe permissions)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print `%n %C` lines for the sources, byte for byte as rsync does, or write a baseline.
    Scan(ScanArgs),
    /// Scan the roots of the config file and write its baseline (the first run on a host).
    Init(InitArgs),
    /// Rescan a baseline's sources (or PATHs) and report what changed since, by severity;
    /// without BASELINE, the config file's.
    Check(CheckArgs),
    /// `check`, then make the new scan the baseline (keeping the previous ones).
    Update(UpdateArgs),
    /// Print the built-in default config, or check a config file.
    Config(ConfigArgs),
    /// Compare two baselines; either may be an rsync `%n %C` log instead.
    Diff(DiffArgs),
    /// Print a baseline as `%n %C` lines.
    Show(ShowArgs),
    /// Turn an rsync `%n %C` log into a baseline.
    Import(ImportArgs),
    /// Manage the Ed25519 keys that sign baselines.
    Key(KeyArgs),
    /// Write stored baselines as one Parquet table (a row per entry per baseline) for
    /// fleet-wide queries in DuckDB, Spark or Athena (docs/siem.md).
    Export(ExportArgs),
    /// Search stored baselines for files on IOC lists, without rescanning: every entry whose
    /// recorded digest is listed, with its host, path and baseline time. Exit 16 on a hit, 8
    /// when a baseline could not be searched (unreadable, not verified, or without a digest
    /// of the lists' kinds).
    Hunt(HuntArgs),
    /// Check every package file offline like debsums, plus what debsums misses (type, mode,
    /// owner).
    ///
    /// Reads dpkg's database (md5sums, conffiles in status, diversions, statoverride,
    /// path-exclude); runs no dpkg. Besides content, reports a symlink or other non-file in
    /// place of a package file (debsums follows the link), world-writable files, files not
    /// owned by root, and owners and modes that differ from dpkg-statoverride. One line per
    /// finding, sorted by path; the summary goes to stderr. Exit bits: 4 changed (content,
    /// type, mode or owner), 2 missing, 8 unreadable; set-id files are listed for review but
    /// set no bit.
    VerifyPackages(VerifyPackagesArgs),
    /// Print the man page (roff), generated from these very options: fimsum(1), or
    /// fimsum-COMMAND(1) for one command.
    Man {
        #[arg(value_name = "COMMAND")]
        command: Option<String>,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Sources, as rsync takes them: `dir/` lists the contents of dir, `dir` lists dir itself.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<OsString>,
    /// Checksum algorithm, as rsync's --checksum-choice.
    #[arg(
        long = "checksum-choice",
        visible_alias = "cc",
        value_name = "ALGO",
        default_value = "md5"
    )]
    pub checksum: Algorithm,
    /// Write a baseline to FILE instead of printing lines.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also compute these digests of every file, from the same read: md5, sha1, sha256
    /// (comma-separated or repeated). With -o the baseline records them and `check`
    /// compares them too; without, they serve only to match --ioc lists, and stdout stays
    /// rsync's lines.
    #[arg(long = "digest", value_name = "ALGOS", value_delimiter = ',')]
    pub digests: Vec<HashKind>,
    /// Sign the baseline with this secret key (NAME.key of `fimsum key generate`).
    #[arg(long, value_name = "FILE", requires = "output")]
    pub sign_key: Option<PathBuf>,
    #[command(flatten)]
    pub generation: GenerationArg,
    #[command(flatten)]
    pub ioc: IocArgs,
    #[command(flatten)]
    pub walk: WalkArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// The listing options, resolved in command-line order (see `ordered_listing`).
    #[arg(skip)]
    pub listing: Option<fimsum::scan::walk::Listing>,
}

/// Options that choose which entries a walk lists, as rsync's.
#[derive(Args, Debug)]
pub struct WalkArgs {
    /// Don't cross filesystem boundaries: a mount point is listed, not entered; given twice
    /// (-xx), mount points are left out too.
    #[arg(short = 'x', long, action = clap::ArgAction::Count)]
    pub one_file_system: u8,
    /// Exclude entries matching PATTERN (rsync pattern rules).
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<OsString>,
    /// Don't exclude entries matching PATTERN (rules apply in command-line order).
    #[arg(long, value_name = "PATTERN")]
    pub include: Vec<OsString>,
    /// Read exclude patterns from FILE.
    #[arg(long, value_name = "FILE")]
    pub exclude_from: Vec<PathBuf>,
    /// A filter RULE in rsync's syntax: `- PATTERN`, `+ PATTERN`, `hide`, `show`, `!`, and
    /// `. FILE` (merge FILE's rules here); protect and risk rules change no listing.
    /// `:`/`dir-merge FILE` reads FILE in every directory (docs/listing.md).
    #[arg(short = 'f', long, value_name = "RULE", allow_hyphen_values = true)]
    pub filter: Vec<OsString>,
    /// Read per-directory .rsync-filter files (--filter='dir-merge /.rsync-filter'); given
    /// twice, also leave them out (--filter='- .rsync-filter').
    #[arg(short = 'F', action = clap::ArgAction::Count)]
    pub rsync_filter: u8,
    /// Leave out what CVS ignores: rsync's default list, $HOME/.cvsignore, $CVSIGNORE and
    /// each directory's .cvsignore, after all other rules.
    #[arg(short = 'C', long)]
    pub cvs_exclude: bool,
    /// Read include patterns from FILE (rules apply in command-line order).
    #[arg(long, value_name = "FILE")]
    pub include_from: Vec<PathBuf>,
    /// The --exclude-from, --include-from and --files-from files are NUL-separated.
    #[arg(short = '0', long)]
    pub from0: bool,
    /// List exactly the names in FILE, relative to the one source directory, with the
    /// directories above them (rsync's implied -R); a listed directory is entered only with
    /// -r, which -a does not imply here.
    #[arg(long, value_name = "FILE")]
    pub files_from: Option<PathBuf>,
    /// Name each entry by its path as given (rsync's -R): the directories above a source
    /// are listed too, and a `/./` in a source says where that path starts (`a/./b/c`
    /// lists `b/c` from `a`).
    #[arg(short = 'R', long)]
    pub relative: bool,
    /// With --files-from or -R: list only the names, not the directories above them.
    #[arg(long)]
    pub no_implied_dirs: bool,
    #[command(flatten)]
    pub listing: ListingArgs,
    /// Leave out regular files larger than SIZE (rsync's units: 100, 10k, 1.5M, 1MB, 1G-1).
    #[arg(long, value_name = "SIZE", value_parser = max_size)]
    pub max_size: Option<u64>,
    /// Leave out regular files smaller than SIZE.
    #[arg(long, value_name = "SIZE", value_parser = min_size)]
    pub min_size: Option<u64>,
    /// Follow every symlink: list it as the file or directory it leads to (rsync's -L).
    #[arg(short = 'L', long)]
    pub copy_links: bool,
    /// Follow the symlinks that lead outside the transfer (absolute, or climbing above
    /// the source root), as rsync counts them.
    #[arg(long)]
    pub copy_unsafe_links: bool,
    /// Leave out symlinks that lead outside the transfer.
    #[arg(long)]
    pub safe_links: bool,
    #[command(flatten)]
    pub hard_links: HardLinkArgs,
    #[command(flatten)]
    pub refused: RefusedArgs,
}

/// rsync's -H, and the -n that rsync needs to print its -H order the same on every run.
#[derive(Args, Debug)]
pub struct HardLinkArgs {
    /// Print the names of one inode where rsync's -H prints them: each group at its last
    /// name, the others after it latest first (docs/listing.md). -a does not imply it.
    #[arg(short = 'H', long, action = clap::ArgAction::Count)]
    pub hard_links: u8,
    /// Undo an earlier -H (the last of -H and --no-H counts).
    #[arg(long = "no-hard-links", visible_alias = "no-H", action = clap::ArgAction::Count)]
    pub no_hard_links: u8,
    /// rsync's -n: accepted and changes nothing, since fimsum never copies anything.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// -H/--no-H resolved in command-line order (see `main.rs`).
    #[arg(skip)]
    pub resolved: bool,
}

fn max_size(text: &str) -> Result<u64, String> {
    fimsum::rsync::size::parse_size(text, "max-size")
}

fn min_size(text: &str) -> Result<u64, String> {
    fimsum::rsync::size::parse_size(text, "min-size")
}

/// rsync's options that choose which kinds of entry are listed, as rsync spells them, in
/// the order given (a later one overrides an earlier). With none of them, the listing is
/// rsync's -a. rsync's -o (--owner) is --owner only: -o is fimsum's --output.
#[derive(Args, Debug)]
pub struct ListingArgs {
    /// rsync's -a: -rlptgoD (the default when none of these options is given).
    #[arg(short = 'a', long, action = clap::ArgAction::Count)]
    pub archive: u8,
    /// Enter directories (rsync's -r).
    #[arg(short = 'r', long, action = clap::ArgAction::Count)]
    pub recursive: u8,
    /// Do not enter directories.
    #[arg(long = "no-recursive", visible_alias = "no-r", action = clap::ArgAction::Count)]
    pub no_recursive: u8,
    /// List symlinks (rsync's -l); without it they are `skipping non-regular file` lines.
    #[arg(short = 'l', long, action = clap::ArgAction::Count)]
    pub links: u8,
    /// Do not list symlinks.
    #[arg(long = "no-links", visible_alias = "no-l", action = clap::ArgAction::Count)]
    pub no_links: u8,
    /// --devices --specials.
    #[arg(short = 'D', action = clap::ArgAction::Count)]
    pub devices_specials: u8,
    /// --no-devices --no-specials.
    #[arg(long = "no-D", action = clap::ArgAction::Count)]
    pub no_devices_specials: u8,
    /// List character and block devices.
    #[arg(long, action = clap::ArgAction::Count)]
    pub devices: u8,
    /// Do not list devices.
    #[arg(long, action = clap::ArgAction::Count)]
    pub no_devices: u8,
    /// List FIFOs and sockets.
    #[arg(long, action = clap::ArgAction::Count)]
    pub specials: u8,
    /// Do not list FIFOs and sockets.
    #[arg(long, action = clap::ArgAction::Count)]
    pub no_specials: u8,
    /// rsync's -t: changes no entry; rsync then prints the root's `./` line.
    #[arg(short = 't', long, action = clap::ArgAction::Count)]
    pub times: u8,
    /// rsync's -p: changes no entry; rsync then prints `./` for a root not of mode 755.
    #[arg(short = 'p', long, action = clap::ArgAction::Count)]
    pub perms: u8,
    /// rsync's -g: changes no entry; rsync then prints `./` for a root of another group.
    #[arg(short = 'g', long, action = clap::ArgAction::Count)]
    pub group: u8,
    /// rsync's -o: changes no entry; rsync (as root) then prints `./` for a root of
    /// another owner.
    #[arg(long, action = clap::ArgAction::Count)]
    pub owner: u8,
}

/// rsync listing options fimsum does not emulate: accepted by the parser so that the
/// refusal names them (exit 64) instead of calling them unknown. README lists why.
#[derive(Args, Debug)]
pub struct RefusedArgs {
    /// Not implemented (rsync's -k, --copy-dirlinks).
    #[arg(short = 'k', long, hide = true, action = clap::ArgAction::Count)]
    pub copy_dirlinks: u8,
    /// Not implemented (rsync's -m, --prune-empty-dirs).
    #[arg(short = 'm', long, hide = true, action = clap::ArgAction::Count)]
    pub prune_empty_dirs: u8,
}

impl RefusedArgs {
    /// The first option given that fimsum does not emulate, as rsync spells it.
    pub fn first(&self) -> Option<&'static str> {
        [
            (self.copy_dirlinks > 0, "-k/--copy-dirlinks"),
            (self.prune_empty_dirs > 0, "-m/--prune-empty-dirs"),
        ]
        .into_iter()
        .find_map(|(given, name)| given.then_some(name))
    }
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Hashing threads, at most 1024 (default, or 0: one per core).
    #[arg(long, value_name = "N", value_parser = threads)]
    pub threads: Option<usize>,
    /// MD5 implementation: auto (the best this CPU has), scalar, avx2 or avx512 (a kernel
    /// the CPU lacks is an error). The digests are the same with every kernel.
    #[arg(long, value_name = "KERNEL", default_value = "auto")]
    pub kernel: Kernel,
    /// No progress display (it is shown only when stderr is a terminal anyway).
    #[arg(short, long, conflicts_with = "verbose")]
    pub quiet: bool,
    /// List every entry on stderr as it is done.
    #[arg(short, long)]
    pub verbose: bool,
    /// Do not record security attributes (capabilities, inode flags, ACLs, SELinux label,
    /// xattrs): two system calls fewer per file; a check reports them "not recorded".
    #[arg(long)]
    pub no_attrs: bool,
}

impl RunArgs {
    pub fn verbosity(&self) -> crate::progress::Verbosity {
        use crate::progress::Verbosity;
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (_, true) => Verbosity::Verbose,
            _ => Verbosity::Normal,
        }
    }
}

/// Where the config comes from.
#[derive(Args, Debug)]
pub struct ConfigFile {
    /// The config file (default /etc/fimsum.toml if it exists, else the built-in policy:
    /// `fimsum config --default` prints it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    pub config: ConfigFile,
    /// Replace an existing baseline (`update` is the way to accept changes after a check).
    #[arg(long)]
    pub force: bool,
    /// Sign the baseline with this secret key (default: the config file's `sign_key`).
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
    #[command(flatten)]
    pub generation: GenerationArg,
    #[command(flatten)]
    pub run: RunArgs,
}

/// The generation of a baseline being written.
#[derive(Args, Debug)]
pub struct GenerationArg {
    /// Give the new baseline generation N instead of one more than the baseline it
    /// replaces. A signed baseline continues only a baseline that its key signed: over
    /// anything else, say where to start (above any generation a verifier accepted).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub generation: Option<u64>,
}

#[derive(Args, Debug)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub check: CheckArgs,
    /// Sign the new baseline with this secret key (default: the config file's
    /// `sign_key`). Needed to update a signed baseline: it is never replaced by an
    /// unsigned one.
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
    #[command(flatten)]
    pub generation: GenerationArg,
}

#[derive(Args, Debug)]
pub struct ConfigArgs {
    /// Print the built-in default config (a commented TOML file to start from).
    #[arg(long)]
    pub default: bool,
    #[command(flatten)]
    pub config: ConfigFile,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The baseline to check against (default: the config file's `baseline`).
    pub baseline: Option<PathBuf>,
    /// Scan these sources instead of the ones recorded in the baseline.
    #[arg(value_name = "PATH")]
    pub paths: Vec<OsString>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub verify: VerifyArgs,
    #[command(flatten)]
    pub run: RunArgs,
    /// Take a file's checksum from the baseline, without reading the file, when its device,
    /// inode, size, mtime and ctime are all unchanged (ctime cannot be set back by a user).
    #[arg(long)]
    pub quick: bool,
    /// The tree is a copy of the one the baseline describes (a forensic copy, a restored
    /// backup, `rsync -aHAX`): compare only what a faithful copy keeps (content, type, mode,
    /// owner, group, size, mtime, symlink target, device numbers), not the ctime, inode or
    /// link count, which every copy changes. Cannot be combined with --quick, which trusts
    /// the ctime.
    #[arg(long)]
    pub copy: bool,
    /// With --quick, still rehash about this percentage of the trusted files, at random.
    #[arg(long, value_name = "PERCENT", requires = "quick", value_parser = percent)]
    pub quick_sample: Option<f64>,
    #[command(flatten)]
    pub config: ConfigFile,
    #[command(flatten)]
    pub ioc: IocArgs,
    /// Mark a changed file whose new content is what its Debian package ships (dpkg's
    /// md5sums) as an expected package update, of low severity. Needs md5 checksums.
    #[arg(long)]
    pub packages: bool,
    #[command(flatten)]
    pub syslog: SyslogArgs,
    /// `update` only: write the new baseline even though this scan could not see everything
    /// (a directory not listed completely, an entry that could not be looked at, a file that
    /// could not be read), keeping the old records of what it could not see. Without it,
    /// `update` leaves the baseline as it was after such a scan.
    #[arg(long)]
    pub allow_incomplete: bool,
}

/// Where a comparison's findings also go.
#[derive(Args, Debug)]
pub struct SyslogArgs {
    /// Also send the summary and every finding to syslog (journald), facility authpriv, each
    /// finding at the priority of its severity (critical: crit, high: err, medium: warning,
    /// low: notice).
    #[arg(long)]
    pub syslog: bool,
    /// The syslog socket.
    #[arg(long, value_name = "PATH", default_value = fimsum::report::syslog::DEFAULT_SOCKET, requires = "syslog")]
    pub syslog_socket: PathBuf,
}

impl SyslogArgs {
    /// The socket to send to, if asked.
    pub fn socket(&self) -> Option<PathBuf> {
        self.syslog.then(|| self.syslog_socket.clone())
    }
}

#[derive(Args, Debug)]
pub struct IocArgs {
    /// A list of known-bad hashes (one per line, md5sum/sha256sum format, or CSV with
    /// md5/sha1/sha256 columns such as MalwareBazaar's); a file on it is critical and sets
    /// exit bit 16. Repeatable; added to the config file's `ioc` lists.
    #[arg(long, value_name = "FILE")]
    pub ioc: Vec<PathBuf>,
}

/// The most hashing threads `--threads` may ask for. The scan queues 1024 files ahead of
/// its hashing threads, so more could never all be busy; each costs a stack and buffers.
pub const MAX_THREADS: usize = 1024;

fn threads(text: &str) -> Result<usize, String> {
    let n: usize = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of threads"))?;
    if n > MAX_THREADS {
        return Err(format!(
            "{n} is more than {MAX_THREADS}, the most fimsum runs"
        ));
    }
    Ok(n)
}

fn percent(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{text:?} is not a percentage"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("{text} is not between 0 and 100"))
    }
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// The older baseline or rsync log.
    pub old: PathBuf,
    /// The newer baseline or rsync log.
    pub new: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub config: ConfigFile,
    #[command(flatten)]
    pub log: LogArgs,
    #[command(flatten)]
    pub ioc: IocArgs,
    #[command(flatten)]
    pub syslog: SyslogArgs,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// What an rsync log does not say: which algorithm its checksums are, and where its names
/// are.
#[derive(Args, Debug)]
pub struct LogArgs {
    /// The algorithm of rsync logs' checksums. Their width only narrows it down (32 digits
    /// are md5, md4 or xxh128), so without it a file under --source or --dest decides, or
    /// the run is refused.
    #[arg(long = "checksum-choice", visible_alias = "cc", value_name = "ALGO")]
    pub checksum: Option<Algorithm>,
    /// The backup job's source argument (`/etc/` or `/etc`, as the job gave it): the logs'
    /// names are judged as the absolute paths under it, and its files can tell the
    /// algorithm.
    #[arg(long, value_name = "PATH")]
    pub source: Option<PathBuf>,
    /// The destination the logs were written for (the backup copy): its files can tell the
    /// algorithm.
    #[arg(long, value_name = "DIR")]
    pub dest: Option<PathBuf>,
    /// A log whose lines do not prove what it is lists the whole tree (a copy into an
    /// empty destination).
    #[arg(long, conflicts_with = "incremental")]
    pub full: bool,
    /// A log whose lines do not prove what it is lists one night's changes (an update of an
    /// earlier copy): what it does not list is unchanged.
    #[arg(long)]
    pub incremental: bool,
    /// The `--log-file-format` (or `--out-format`) the job wrote its lines in, for formats
    /// with fields beyond `%i`, `%n`, `%L` and `%C` (such as `%o %i %B %n%L %C`).
    #[arg(long, value_name = "FORMAT", value_parser = log_format)]
    pub log_format: Option<fimsum::rsync::log::LogFormat>,
}

impl LogArgs {
    /// What the logs do not say, as the library takes it.
    pub fn options(self) -> fimsum::commands::LogOptions {
        use fimsum::rsync::log::LogKind;
        fimsum::commands::LogOptions {
            checksum: self.checksum,
            source: self.source,
            dest: self.dest,
            unproved: match (self.full, self.incremental) {
                (true, _) => Some(LogKind::Full),
                (_, true) => Some(LogKind::Incremental),
                _ => None,
            },
            format: self.log_format,
        }
    }
}

fn log_format(text: &str) -> Result<fimsum::rsync::log::LogFormat, String> {
    fimsum::rsync::log::LogFormat::parse(text.as_bytes())
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    pub baseline: PathBuf,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// Signature checks on the baselines a command reads (docs/signing.md).
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// Require a valid signature by this public key (NAME.pub), checked before any entry is
    /// read; a missing or bad signature, or one by another key, is an error (exit 65).
    /// `check` and `update` take the config file's `verify_key` when this is not given.
    #[arg(long, value_name = "FILE")]
    pub verify_key: Option<PathBuf>,
    /// With --verify-key: the baseline must have been made on host NAME.
    #[arg(long, value_name = "NAME", requires = "verify_key")]
    pub expect_host: Option<String>,
    /// With --verify-key: the baseline's generation must be at least N (refuses an older
    /// baseline played back).
    #[arg(long, value_name = "N", requires = "verify_key")]
    pub min_generation: Option<u64>,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// rsync logs, oldest first: a full listing, or nights (one run's changes each) applied
    /// in order onto --base. Any form rsync writes: `--out-format` with `%n`, `%C`, `%i`,
    /// `%L`, `-v` chatter, `--stats`, `--log-file` lines, several runs appended.
    #[arg(required = true, value_name = "LOG")]
    pub logs: Vec<PathBuf>,
    /// The baseline of the state before the first log: its nights are replayed onto it, and
    /// what they do not list is kept unchanged.
    #[arg(long, value_name = "FILE")]
    pub base: Option<PathBuf>,
    /// The baseline to write.
    #[arg(short, long, value_name = "FILE", required = true)]
    pub output: PathBuf,
    #[command(flatten)]
    pub log: LogArgs,
    /// Sign the baseline with this secret key (NAME.key of `fimsum key generate`).
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
    #[command(flatten)]
    pub generation: GenerationArg,
    /// Require --base to be signed by this key (and, with --expect-host and
    /// --min-generation, to be of that host and generation) before a night is applied to it.
    #[command(flatten)]
    pub verify: VerifyArgs,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The baselines, in the order their rows are written.
    #[arg(required = true, value_name = "BASELINE")]
    pub baselines: Vec<PathBuf>,
    /// The table format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Parquet)]
    pub format: ExportFormat,
    /// The file to write (replaced only by a complete export); with --partition, the
    /// directory of the tree.
    #[arg(short, long, value_name = "FILE", required = true)]
    pub output: PathBuf,
    /// Write one file per baseline under OUTPUT/host=NAME/date=YYYY-MM-DD/ (Hive-style
    /// partitions, which DuckDB, Spark and Athena prune by).
    #[arg(long)]
    pub partition: bool,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Apache Parquet, zstd-compressed.
    Parquet,
}

#[derive(Args, Debug)]
pub struct HuntArgs {
    /// The baselines to search.
    #[arg(required = true, value_name = "BASELINE")]
    pub baselines: Vec<PathBuf>,
    /// A list of known-bad hashes (the formats of `check --ioc`). Repeatable.
    #[arg(long, value_name = "FILE", required = true)]
    pub ioc: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    #[command(flatten)]
    pub verify: VerifyArgs,
}

#[derive(Args, Debug)]
pub struct KeyArgs {
    #[command(subcommand)]
    pub command: KeyCommand,
}

#[derive(Subcommand, Debug)]
pub enum KeyCommand {
    /// Write a new key pair: NAME.key (secret, mode 0600) and NAME.pub (public). Never
    /// overwrites either file.
    Generate {
        /// The key files' path without extension, e.g. `/media/usb/web1`.
        #[arg(value_name = "NAME")]
        name: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct VerifyPackagesArgs {
    /// Check the Debian-like system mounted at DIR: its dpkg database and its files, with
    /// every path resolved inside DIR (absolute symlinks too).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// Hashing threads, at most 1024 (default, or 0: one per core).
    #[arg(long, value_name = "N", value_parser = threads)]
    pub threads: Option<usize>,
}

/// Report formats of commands that have no rsync form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// One line per finding.
    Human,
    /// One JSON object per line (docs/json.md).
    Json,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A summary, then one line per change, most severe first (colour on a terminal).
    Human,
    /// The lines `rsync -a --delete --checksum --out-format="%n %C" NEW/ OLD-COPY/` prints.
    Rsync,
    /// The same with `--out-format="%i %n %C"`: also attribute-only changes.
    Itemize,
    /// One JSON object per line (docs/json.md).
    Json,
    /// Elastic Common Schema documents, one per line, as Auditbeat's file_integrity module
    /// writes them (docs/siem.md).
    Ecs,
    /// OCSF File System Activity events, one per line (docs/siem.md).
    Ocsf,
}
