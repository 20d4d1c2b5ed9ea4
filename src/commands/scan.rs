//! `fimsum scan`: rsync's `%n %C` lines on stdout, or a baseline with `-o`.

use std::os::unix::ffi::OsStringExt;

use fimsum::commands::load_iocs;
use fimsum::commands::scan::{scan_into, scan_to_baseline, BaselineTarget, ScanPlan};
use fimsum::error::{Error, Result};
use fimsum::exit::Status;
use fimsum::hash::extra_kinds;
use fimsum::rsync::escape::Charset;
use fimsum::scan::walk::{FilterArg, WalkOptions};

use super::{load_secret_key, progress, scan_options, Lines};
use crate::cli::ScanArgs;

pub fn run(args: ScanArgs, filters: Vec<FilterArg>, charset: Charset) -> Result<Status> {
    let sources: Vec<Vec<u8>> = args.paths.into_iter().map(OsStringExt::into_vec).collect();
    let mut walk = WalkOptions::new(args.walk.one_file_system, filters)
        .map_err(|e| Error::Usage(e.to_string()))?;
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
            let scanned = scan_into(&plan, &mut observer, |record| lines.write(record))?;
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
