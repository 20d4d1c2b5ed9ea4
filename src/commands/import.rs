//! `fimsum import`: an rsync log written as a baseline.

use fimsum::commands::import::{import, ImportPlan};
use fimsum::commands::scan::BaselineTarget;
use fimsum::error::Result;
use fimsum::exit::{Bits, Status};
use fimsum::rsync::escape::Charset;

use super::{load_secret_key, load_verify_policy};
use crate::cli::ImportArgs;
use crate::progress::{Progress, Verbosity};

pub fn run(args: ImportArgs, charset: Charset) -> Result<Status> {
    if args.verify.verify_key.is_some() && args.base.is_none() {
        return Err(fimsum::error::Error::Usage(
            "--verify-key checks the baseline of --base: a log cannot be signed".into(),
        ));
    }
    let plan = ImportPlan {
        output: BaselineTarget {
            path: args.output,
            signer: load_secret_key(args.sign_key.as_deref())?,
            generation: args.generation.generation,
        },
        logs: args.logs,
        verify: load_verify_policy(args.verify)?,
        base: args.base,
        options: args.log.options(),
    };
    import(plan, &mut Progress::new(Verbosity::Normal, charset))?;
    Ok(Bits::NONE.into())
}
