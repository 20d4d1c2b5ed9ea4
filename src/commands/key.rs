//! `fimsum key generate`: a signing key pair.

use std::io::{self, Write};

use fimsum::baseline::sign;
use fimsum::error::{Error, Result};
use fimsum::exit::{Bits, Status};

use crate::cli::{KeyArgs, KeyCommand};

pub fn run(args: KeyArgs) -> Result<Status> {
    match args.command {
        KeyCommand::Generate { name } => {
            let generated = sign::generate(&name)?;
            let mut out = io::stdout().lock();
            writeln!(
                out,
                "{}: secret key: keep it off the scanned host\n{}: public key, id {}",
                generated.secret.display(),
                generated.public.display(),
                generated.id
            )
            .map_err(|e| Error::io("cannot write to standard output", e))?;
            Ok(Bits::NONE.into())
        }
    }
}
