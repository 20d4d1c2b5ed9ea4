//! `import` as a library call: an rsync `%n %C` log written as a baseline, which can then be
//! compared with later logs, baselines or a scan.

use std::io::BufReader;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::baseline::{BaselineWriter, Header, Origin};
use crate::commands::diff::{decide_for_log, log_error, Trees};
use crate::commands::scan::BaselineTarget;
use crate::commands::{host_name, now, Observer};
use crate::error::Result;
use crate::hash::Algorithm;
use crate::rsync::log::LogReader;
use crate::rsync::order::ensure_ordered;

/// An import, resolved from the command line.
pub struct ImportPlan {
    pub log: PathBuf,
    /// The log's checksum algorithm; `None` decides it by hashing a listed file under
    /// `source` or `dest`, or refuses the import (see [`crate::rsync::choice`]).
    pub checksum: Option<Algorithm>,
    /// The backup job's source argument, whose files can tell the algorithm.
    pub source: Option<PathBuf>,
    /// The destination the log was written for, whose files can tell the algorithm.
    pub dest: Option<PathBuf>,
    pub output: BaselineTarget,
}

/// Write the log's entries as a baseline.
pub fn import(plan: ImportPlan, observer: &mut dyn Observer) -> Result<()> {
    let file = crate::input::open_input(&plan.log)?;
    let mut reader = LogReader::new(BufReader::with_capacity(1 << 16, file), plan.checksum);
    let algorithm = match plan.checksum {
        Some(a) => a,
        None => {
            let width = reader.width().map_err(|e| log_error(&plan.log, e))?;
            let Some(width) = width else {
                return Err(crate::error::Error::Usage(format!(
                    "{}: no line shows the checksum width: say the algorithm with \
                     --checksum-choice",
                    plan.log.display()
                )));
            };
            let trees = Trees {
                source: plan.source.as_deref(),
                dest: plan.dest.as_deref(),
            };
            decide_for_log(&plan.log, width, trees, observer)?
        }
    };
    let header = Header {
        algorithm,
        origin: Origin::RsyncLog,
        sources: vec![plan.log.as_os_str().as_bytes().to_vec()],
        roots: Vec::new(),
        one_file_system: 0,
        filters: Vec::new(),
        host: host_name(),
        created: now(),
        generation: 0,
        fimsum_version: env!("CARGO_PKG_VERSION").to_string(),
        extra_digests: Vec::new(),
        skip_fs: None,
    };
    let target = plan.output;
    let mut writer =
        BaselineWriter::create_numbered(&target.path, &header, target.signer, target.generation)?;
    let records = reader.map(|r| r.map_err(|e| log_error(&plan.log, e)));
    for record in ensure_ordered(records, plan.log.clone()) {
        writer.append(&record?)?;
    }
    writer.finish()?;
    Ok(())
}
