//! `import` as a library call: an rsync `%n %C` log written as a baseline, which can then be
//! compared with later logs, baselines or a scan.

use std::io::BufReader;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::baseline::{BaselineWriter, Header, Origin};
use crate::commands::diff::log_error;
use crate::commands::scan::BaselineTarget;
use crate::commands::{host_name, now, Observer};
use crate::error::Result;
use crate::hash::Algorithm;
use crate::rsync::log::LogReader;
use crate::rsync::order::ensure_ordered;

/// An import, resolved from the command line.
pub struct ImportPlan {
    pub log: PathBuf,
    /// The log's checksum algorithm; `None` takes it from the checksum width, with a note.
    pub checksum: Option<Algorithm>,
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
            let a = match width {
                Some(40) => Algorithm::Sha1,
                Some(16) => Algorithm::Xxh3,
                _ => Algorithm::Md5,
            };
            observer.warning(&format!(
                "{}: taking the checksums to be {a} (say --checksum-choice otherwise)",
                plan.log.display()
            ));
            a
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
