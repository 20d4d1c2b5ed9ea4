//! `fimsum init`: scan the config's roots into its baseline.

use std::os::unix::fs::DirBuilderExt;
use std::path::PathBuf;

use fimsum::commands::scan::{scan_to_baseline, BaselineTarget, ScanPlan};
use fimsum::error::{Error, Result};
use fimsum::exit::Status;
use fimsum::fim::config::Config;
use fimsum::fim::ioc::IocSet;
use fimsum::hash::{extra_kinds, HashKind};
use fimsum::rsync::escape::Charset;

use super::{config_walk, load_config, load_rules, load_secret_key, progress, scan_options};
use crate::cli::InitArgs;

pub fn run(args: InitArgs, charset: Charset) -> Result<Status> {
    let config = load_config(args.config.config.as_deref())?;
    let policy = load_rules(&config)?;
    let path = &config.baseline;
    if path.exists() && !args.force {
        return Err(Error::Usage(format!(
            "{}: a baseline exists already: `fimsum update` accepts the changes since it was \
             made, `fimsum init --force` starts over",
            path.display()
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
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
    let signer = load_secret_key(
        args.sign_key
            .as_ref()
            .or(config.sign_key.as_ref())
            .map(PathBuf::as_path),
    )?;
    let plan = ScanPlan {
        sources,
        options: scan_options(config.checksum, extras, &args.run, walk)?,
        iocs: IocSet::new(),
        diffs: Some(policy),
    };
    let target = BaselineTarget {
        path: path.clone(),
        signer,
        generation: args.generation.generation,
    };
    let scanned = scan_to_baseline(plan, target, &mut progress(&args.run, charset))?;
    let stats = &scanned.stats;
    eprintln!(
        "fimsum: {}: baseline of {} entries ({} files, {} bytes)",
        path.display(),
        stats.entries,
        stats.files,
        stats.bytes
    );
    Ok(scanned.exit_bits().into())
}

fn config_sources(config: &Config) -> Vec<Vec<u8>> {
    config.roots.iter().map(|r| r.as_bytes().to_vec()).collect()
}
