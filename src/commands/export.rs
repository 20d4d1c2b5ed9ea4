//! `fimsum export`: stored baselines as a Parquet table.

use fimsum::commands::export::{export, ExportPlan};
use fimsum::error::Result;
use fimsum::exit::{Bits, Status};

use super::load_verify_policy;
use crate::cli::{ExportArgs, ExportFormat};

pub fn run(args: ExportArgs) -> Result<Status> {
    let ExportFormat::Parquet = args.format;
    let plan = ExportPlan {
        baselines: args.baselines,
        output: args.output,
        partition: args.partition,
        verify: load_verify_policy(args.verify)?,
    };
    let exported = export(&plan)?;
    eprintln!(
        "fimsum: exported {} entries of {} baselines to {} file{} under {}",
        exported.rows,
        plan.baselines.len(),
        exported.files.len(),
        if exported.files.len() == 1 { "" } else { "s" },
        plan.output.display()
    );
    Ok(Bits::NONE.into())
}
