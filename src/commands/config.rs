//! `fimsum config`: print the built-in config, or check one.

use std::path::Path;

use fimsum::error::Result;
use fimsum::exit::{Bits, Status};
use fimsum::fim::config::{Config, DEFAULT_PATH};

use super::{load_config, load_rules, write_stdout};
use crate::cli::ConfigArgs;

pub fn run(args: ConfigArgs) -> Result<Status> {
    if args.default {
        write_stdout(|out| out.write_all(Config::default_text().as_bytes()))?;
        return Ok(Bits::NONE.into());
    }
    let config = load_config(args.config.config.as_deref())?;
    load_rules(&config)?;
    let from = match &args.config.config {
        Some(path) => path.display().to_string(),
        None if Path::new(DEFAULT_PATH).exists() => DEFAULT_PATH.to_string(),
        None => "the built-in default (no /etc/fimsum.toml)".to_string(),
    };
    println!(
        "{from}: valid: {} roots, {} rules, checksum {}, baseline {}",
        config.roots.len(),
        config.rules.len(),
        config.checksum,
        config.baseline.display()
    );
    Ok(Bits::NONE.into())
}
