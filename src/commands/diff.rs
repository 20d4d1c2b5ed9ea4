//! `fimsum diff`: compare two baselines, or a baseline and an rsync log, or two logs.

use fimsum::commands::diff::{diff, DiffPlan};
use fimsum::commands::{connect_syslog, send_to_syslog};
use fimsum::error::Result;
use fimsum::exit::Status;
use fimsum::rsync::escape::Charset;

use super::{load_config, load_rules, load_verify_policy, report_written};
use crate::cli::DiffArgs;
use crate::progress::{Progress, Verbosity};
use crate::report::Report;

pub fn run(args: DiffArgs, charset: Charset) -> Result<Status> {
    let config = load_config(args.config.config.as_deref())?;
    let every_change = args.format.shows_every_change();
    let syslog = args
        .syslog
        .socket()
        .as_deref()
        .map(connect_syslog)
        .transpose()?;
    let (old, new) = (args.old.clone(), args.new.clone());
    let plan = DiffPlan {
        old: args.old,
        new: args.new,
        logs: args.log.options(),
        iocs: config.ioc.iter().chain(&args.ioc.ioc).cloned().collect(),
        policy: load_rules(&config)?,
        verify: load_verify_policy(args.verify)?,
        identity: !every_change,
    };
    let compared = diff(plan, &mut Progress::new(Verbosity::Normal, charset))?;
    let report = Report {
        copy: false,
        format: args.format,
        diff: &compared.diff,
        assessment: &compared.assessment,
        algorithm: compared.algorithm,
        charset,
        problems: 0,
        notes: &compared.notes,
        host: compared.host.clone(),
        time: compared.time,
        config: &config,
    };
    report_written(report.write())?;
    if let Some(syslog) = &syslog {
        let subject = format!("diff of {} and {}", old.display(), new.display());
        send_to_syslog(
            syslog,
            &subject,
            &compared.diff,
            &compared.assessment,
            0,
            charset,
        )?;
    }
    Ok(compared.exit_bits(every_change).into())
}
