//! `fimsum import`: an rsync log written as a baseline.

use fimsum::commands::import::{import, ImportPlan};
use fimsum::commands::scan::BaselineTarget;
use fimsum::error::Result;
use fimsum::exit::{Bits, Status};
use fimsum::rsync::escape::Charset;

use super::load_secret_key;
use crate::cli::ImportArgs;
use crate::progress::{Progress, Verbosity};

pub fn run(args: ImportArgs, charset: Charset) -> Result<Status> {
    let plan = ImportPlan {
        output: BaselineTarget {
            path: args.output,
            signer: load_secret_key(args.sign_key.as_deref())?,
            generation: args.generation.generation,
        },
        logs: args.logs,
        base: args.base,
        options: args.log.options(),
    };
    import(plan, &mut Progress::new(Verbosity::Normal, charset))?;
    Ok(Bits::NONE.into())
}
