//! `fimsum scan`: rsync's `%n %C` lines on stdout, or a baseline with `-o`.

use std::os::unix::ffi::OsStringExt;

use fimsum::commands::load_iocs;
use fimsum::commands::scan::{scan_lines, scan_to_baseline, BaselineTarget, Line, ScanPlan};
use fimsum::error::{Error, Result};
use fimsum::exit::Status;
use fimsum::hash::extra_kinds;
use fimsum::rsync::escape::Charset;
use fimsum::scan::walk::{files_from_names, FilterArg, WalkOptions};

use super::{load_secret_key, progress, scan_options, Lines};
use crate::cli::ScanArgs;

pub fn run(args: ScanArgs, filters: Vec<FilterArg>, charset: Charset) -> Result<Status> {
    if let Some(option) = args.walk.refused.first() {
        return Err(not_implemented(option));
    }
    let sources: Vec<Vec<u8>> = args.paths.into_iter().map(OsStringExt::into_vec).collect();
    let mut walk = WalkOptions::new(args.walk.one_file_system, filters)
        .map_err(|e| Error::Usage(e.to_string()))?;
    walk.listing = args.listing.unwrap_or_default();
    walk.listing.max_size = args.walk.max_size;
    walk.listing.min_size = args.walk.min_size;
    walk.listing.implied_dirs = !args.walk.no_implied_dirs;
    walk.listing.hard_links = args.walk.hard_links.resolved;
    walk.listing.follow = fimsum::scan::walk::Follow {
        copy_links: args.walk.copy_links,
        copy_unsafe_links: args.walk.copy_unsafe_links,
        safe_links: args.walk.safe_links,
    };
    if args.walk.no_implied_dirs && args.walk.files_from.is_none() && !args.walk.relative {
        return Err(Error::Usage(
            "--no-implied-dirs is for --files-from and -R/--relative".into(),
        ));
    }
    // --files-from implies -R: the flag is kept only where it changes the walk.
    walk.listing.relative = args.walk.relative && args.walk.files_from.is_none();
    if walk.listing.relative {
        if walk.listing.follow.copy_unsafe_links {
            return Err(not_implemented("--copy-unsafe-links with -R"));
        }
        if walk.reads_merge_files() {
            return Err(not_implemented(
                "-R with per-directory merge files (-F, -C, dir-merge)",
            ));
        }
        let plan = fimsum::scan::walk::relative::plan(&sources)
            .map_err(|e| Error::Usage(e.to_string()))?;
        if plan.rooted && args.output.is_some() {
            return Err(Error::Usage(
                "-R with an absolute source names its entries from / (rsync's /etc/passwd), \
                 which a baseline cannot hold: its names are relative; anchor the source \
                 (/./etc names etc/passwd)"
                    .into(),
            ));
        }
    }
    if let Some(path) = &args.walk.files_from {
        if walk.listing.follow.copy_unsafe_links {
            return Err(not_implemented("--copy-unsafe-links with --files-from"));
        }
        if walk.reads_merge_files() {
            return Err(not_implemented(
                "--files-from with per-directory merge files (-F, -C, dir-merge)",
            ));
        }
        if sources.len() != 1 {
            return Err(Error::Usage(
                "--files-from takes one source: the directory its names are relative to".into(),
            ));
        }
        walk.listing.files_from = Some(files_from_names(&read_names_file(path)?, args.walk.from0));
    }
    // Before the scan, not after an hour of it.
    let signer = load_secret_key(args.sign_key.as_deref())?;
    let extras = extra_kinds(args.checksum, args.digests.iter().copied());
    let iocs = load_iocs(&args.ioc.ioc, args.checksum, &extras)?;
    let mut observer = progress(&args.run, charset);
    let scanned = match args.output {
        None if args.generation.generation.is_some() => {
            return Err(Error::Usage(
                "--generation numbers a baseline: it needs -o FILE".into(),
            ))
        }
        // Without -o, extra digests are only for matching IOC lists.
        None if !args.digests.is_empty() && iocs.is_empty() => {
            return Err(Error::Usage(
                "--digest needs -o FILE or --ioc LIST: rsync's `%n %C` lines have no place \
                 for more digests"
                    .into(),
            ))
        }
        None => {
            let plan = ScanPlan {
                sources,
                options: scan_options(args.checksum, extras, &args.run, walk)?,
                iocs,
                diffs: None,
            };
            let mut lines = Lines::new(args.checksum, charset);
            let scanned = if plan.options.walk.listing.hard_links {
                super::hard_links::scan_lines(&plan, &mut observer, &mut lines)?
            } else {
                scan_lines(&plan, &mut observer, |line| match line {
                    Line::Record(record) => lines.write(record),
                    Line::Skipped(skipped) => lines.skipped(skipped),
                })?
            };
            lines.finish()?;
            scanned
        }
        Some(path) => {
            // Only a baseline keeps them: rsync's lines have no place for them.
            walk.attrs = true;
            let plan = ScanPlan {
                sources,
                options: scan_options(args.checksum, extras, &args.run, walk)?,
                iocs,
                diffs: None,
            };
            let target = BaselineTarget {
                path,
                signer,
                generation: args.generation.generation,
            };
            scan_to_baseline(plan, target, &mut observer)?
        }
    };
    Ok(scanned.exit_bits().into())
}

/// The largest `--files-from` list read: tens of millions of names.
const NAMES_LIMIT: u64 = 1 << 30;

/// The contents of a `--files-from` file; `-` is standard input, as in rsync (an old
/// rsync's list of names piped in).
pub(super) fn read_names_file(path: &std::path::Path) -> Result<Vec<u8>> {
    let no_input = |source| Error::NoInput {
        path: path.to_path_buf(),
        source,
    };
    if path.as_os_str() == "-" {
        use std::io::Read;
        let mut names = Vec::new();
        std::io::stdin()
            .lock()
            .take(NAMES_LIMIT + 1)
            .read_to_end(&mut names)
            .map_err(no_input)?;
        if names.len() as u64 > NAMES_LIMIT {
            return Err(no_input(std::io::Error::other(format!(
                "the file list is larger than {NAMES_LIMIT} bytes"
            ))));
        }
        return Ok(names);
    }
    fimsum::input::open_file(path)
        .and_then(|file| fimsum::input::read_bounded(file, NAMES_LIMIT, "file list"))
        .map_err(no_input)
}

/// The refusal of an rsync option, or a combination of options, that fimsum does not
/// emulate (exit 64).
fn not_implemented(what: &str) -> Error {
    Error::Usage(format!(
        "{what} is not implemented: fimsum would not list what rsync lists with it \
         (see docs/listing.md)"
    ))
}
