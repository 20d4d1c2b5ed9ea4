//! `fimsum man` and `fimsum completions`: documentation generated from the clap tree.

use clap::CommandFactory;

use fimsum::error::{Error, Result};
use fimsum::exit::{Bits, Status};

use super::write_stdout;
use crate::cli::Cli;

pub fn man(command: Option<&str>) -> Result<Status> {
    let mut found = false;
    write_stdout(|out| {
        found = crate::man::render(command, out)?;
        Ok(())
    })?;
    if !found {
        let name = command.unwrap_or_default();
        return Err(Error::Usage(format!("man: no command {name:?}")));
    }
    Ok(Bits::NONE.into())
}

pub fn completions(shell: clap_complete::Shell) -> Result<Status> {
    write_stdout(|out| {
        clap_complete::generate(shell, &mut Cli::command(), "fimsum", out);
        Ok(())
    })?;
    Ok(Bits::NONE.into())
}
