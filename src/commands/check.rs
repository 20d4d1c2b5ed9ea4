//! `fimsum check` and `fimsum update`: rescan, report, and for `update` write the scan as
//! the new baseline, keeping the config's number of earlier ones.
//!
//! `update` of a signed baseline needs a sign key (`--sign-key` or the config's
//! `sign_key`) and is refused without one (exit 64), before the scan: a signed baseline is
//! never silently replaced by an unsigned one, which the next `check --verify-key` would
//! refuse. The verify key is `--verify-key`, else the config's `verify_key`.

use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

use fimsum::commands::check::{check, CheckPlan, UpdatePlan, Updated};
use fimsum::commands::{host_name, now, send_to_syslog};
use fimsum::error::{Error, Result};
use fimsum::exit::Status;
use fimsum::rsync::escape::Charset;

use super::{
    config_walk, kernel, load_config, load_rules, load_secret_key, load_verify_policy, progress,
    report_written,
};
use crate::cli::{CheckArgs, UpdateArgs};
use crate::report::Report;

/// How `update` signs and numbers the new baseline.
pub struct UpdateKey {
    /// `--sign-key`, else the config's `sign_key`.
    sign_key: Option<PathBuf>,
    generation: Option<u64>,
}

pub fn run_update(args: UpdateArgs, charset: Charset) -> Result<Status> {
    let key = UpdateKey {
        sign_key: args.sign_key,
        generation: args.generation.generation,
    };
    run(args.check, charset, Some(key))
}

pub fn run(mut args: CheckArgs, charset: Charset, update: Option<UpdateKey>) -> Result<Status> {
    if args.allow_incomplete && update.is_none() {
        return Err(Error::Usage(
            "--allow-incomplete is for `update`: `check` writes no baseline".into(),
        ));
    }
    // A copy has new ctimes, which is all --quick goes by: it would trust what it must not.
    if args.copy && args.quick {
        return Err(Error::Usage(
            "--copy and --quick: a copy's ctimes are all new, and --quick relies on them".into(),
        ));
    }
    let config = load_config(args.config.config.as_deref())?;
    let policy = load_rules(&config)?;
    // Without a BASELINE this is the config's baseline, walked as `init` walked it.
    let from_config = args.baseline.is_none();
    let baseline = args.baseline.unwrap_or_else(|| config.baseline.clone());
    if args.verify.verify_key.is_none() {
        args.verify.verify_key = config.verify_key.clone();
    }
    let verify = load_verify_policy(args.verify)?;
    // Before the scan, not after an hour of it.
    let update = match update {
        Some(u) => Some(UpdatePlan {
            signer: load_secret_key(
                u.sign_key
                    .as_ref()
                    .or(config.sign_key.as_ref())
                    .map(PathBuf::as_path),
            )?,
            generation: u.generation,
            keep: config.keep,
            allow_incomplete: args.allow_incomplete,
        }),
        None => None,
    };
    let config_skip_fs = if from_config || args.config.config.is_some() {
        Some(config_walk(&config)?.skip_fs)
    } else {
        None
    };
    let mut iocs = config.ioc.clone();
    iocs.extend(args.ioc.ioc.iter().cloned());
    let every_change = args.format.shows_every_change();
    let plan = CheckPlan {
        baseline: baseline.clone(),
        verify,
        config_skip_fs,
        from_config,
        policy,
        iocs,
        paths: args.paths.into_iter().map(OsStringExt::into_vec).collect(),
        threads: args.run.threads.unwrap_or(0),
        kernel: kernel(&args.run)?,
        quick: args.quick.then(|| args.quick_sample.unwrap_or(0.0)),
        copy: args.copy,
        // A copy (`--copy`) is compared on what a faithful copy keeps, which is the set
        // the rsync formats compare.
        identity: !every_change && !args.copy,
        packages: args.packages || config.packages,
        syslog: args.syslog.socket(),
        update,
        attrs: config.attrs && !args.run.no_attrs,
        rsync_lines: every_change,
    };
    let checked = check(plan, &mut progress(&args.run, charset))?;
    let report = Report {
        copy: args.copy,
        format: args.format,
        diff: &checked.diff,
        assessment: &checked.assessment,
        algorithm: checked.algorithm,
        charset,
        problems: checked.stats.problems,
        notes: &checked.notes,
        host: host_name(),
        time: now(),
        config: &config,
    };
    report_written(report.write())?;
    if let Some(syslog) = &checked.syslog {
        let subject = format!("check of {}", baseline.display());
        send_to_syslog(
            syslog,
            &subject,
            &checked.diff,
            &checked.assessment,
            checked.stats.problems,
            charset,
        )?;
    }
    let mut bits = checked.exit_bits(every_change);
    if let Some(pending) = checked.update {
        let updated = pending.commit()?;
        bits |= updated.exit_bits();
        say_updated(&updated, &baseline);
    }
    Ok(bits.into())
}

fn say_updated(updated: &Updated, baseline: &std::path::Path) {
    let path = baseline.display();
    match *updated {
        Updated::Refused { unseen } => eprintln!(
            "fimsum: {path}: not updated: this scan could not fully see {unseen} entries, and \
             a baseline written from it would lose what is known of them \
             (--allow-incomplete writes it, keeping their old records)"
        ),
        Updated::Written {
            generation,
            kept_old,
            unsettled,
        } => {
            eprintln!(
                "fimsum: {path}: updated to generation {generation} (the previous one kept as \
                 {path}.1)"
            );
            if kept_old > 0 {
                eprintln!(
                    "fimsum: {path}: {kept_old} records kept from the previous generation for \
                     entries this scan could not see"
                );
            }
            if unsettled > 0 {
                eprintln!(
                    "fimsum: {path}: {unsettled} files changed while they were read: their \
                     records from the previous generation are kept where there was one, and \
                     the next check compares with them"
                );
            }
        }
    }
}
