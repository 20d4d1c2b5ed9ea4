//! `fimsum verify-packages`: installed files against the dpkg database's MD5 sums.

use std::io::{self, BufWriter, Write};

use fimsum::error::{Error, Result};
use fimsum::exit::Status;
use fimsum::fim::packages::{self, PackageDb};
use fimsum::report;
use fimsum::rsync::escape::{escape_name, Charset};
use fimsum::scan::read;

use super::report_written;
use crate::cli::{ReportFormat, VerifyPackagesArgs};

pub fn run(args: VerifyPackagesArgs, charset: Charset) -> Result<Status> {
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
    Ok(verification.exit_bits().into())
}
