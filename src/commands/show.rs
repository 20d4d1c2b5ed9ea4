//! `fimsum show`: a baseline's records as rsync's `%n %C` lines.

use fimsum::baseline::Baseline;
use fimsum::commands::signature_note;
use fimsum::error::Result;
use fimsum::exit::{Bits, Status};
use fimsum::rsync::escape::Charset;

use super::{load_verify_policy, Lines};
use crate::cli::ShowArgs;

pub fn run(args: ShowArgs, charset: Charset) -> Result<Status> {
    let policy = load_verify_policy(args.verify)?;
    let base = Baseline::open_with(&args.baseline, policy.as_ref())?;
    // stdout carries nothing but the lines.
    if let Some(note) = signature_note(&args.baseline, &base) {
        eprintln!("fimsum: note: {note}");
    }
    let mut lines = Lines::new(base.header.algorithm, charset);
    for record in base.records() {
        lines.write(&record?)?;
    }
    lines.finish()?;
    Ok(Bits::NONE.into())
}
