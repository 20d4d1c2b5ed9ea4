//! `fimsum hunt`: an IOC retro-hunt over stored baselines; one line (or JSON object) per
//! entry on a list, the summary and what could not be searched on stderr.

use fimsum::commands::hunt::{hunt, HuntPlan};
use fimsum::error::Result;
use fimsum::exit::Status;
use fimsum::rsync::escape::Charset;

use super::{load_verify_policy, report_written, write_stdout};
use crate::cli::{HuntArgs, ReportFormat};

pub fn run(args: HuntArgs, _charset: Charset) -> Result<Status> {
    let plan = HuntPlan {
        baselines: args.baselines,
        iocs: args.ioc,
        verify: load_verify_policy(args.verify)?,
    };
    let hunted = hunt(&plan)?;
    report_written(write_stdout(|out| {
        for hit in &hunted.hits {
            match args.format {
                ReportFormat::Human => writeln!(out, "{}", hit.text())?,
                ReportFormat::Json => writeln!(out, "{}", hit.json())?,
            }
        }
        Ok(())
    }))?;
    for problem in &hunted.problems {
        eprintln!("fimsum: {problem}");
    }
    eprintln!(
        "fimsum: {} entries on the lists, in {} of {} baselines searched ({} entries)",
        hunted.hits.len(),
        hunted.searched,
        plan.baselines.len(),
        hunted.entries
    );
    Ok(hunted.exit_bits().into())
}
