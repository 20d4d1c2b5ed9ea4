//! A comparison's report on stdout in the format asked for (`--format`), from what `check`
//! or `diff` returned.

use std::io::{self, BufWriter, IsTerminal, Write};

use fimsum::diff::Diff;
use fimsum::error::{Error, Result};
use fimsum::fim::assess::Assessment;
use fimsum::fim::config::Config;
use fimsum::hash::Algorithm;
use fimsum::record::Timestamp;
use fimsum::report::write_itemize;
use fimsum::report::write_rsync;
use fimsum::report::{self, Context};
use fimsum::rsync::escape::Charset;

use crate::cli::Format;

/// Everything a report is written from.
pub struct Report<'a> {
    /// `check --copy`.
    pub copy: bool,
    pub format: Format,
    pub diff: &'a Diff,
    pub assessment: &'a Assessment,
    pub algorithm: Algorithm,
    pub charset: Charset,
    pub problems: u64,
    pub notes: &'a [String],
    pub host: String,
    pub time: Timestamp,
    pub config: &'a Config,
}

impl Report<'_> {
    pub fn write(&self) -> Result<()> {
        let ctx = Context {
            charset: self.charset,
            problems: self.problems,
            notes: self.notes,
            host: &self.host,
            time: self.time,
            rules: &self.config.rules,
            colour: std::env::var_os("NO_COLOR").is_none() && io::stdout().is_terminal(),
            copy: self.copy,
        };
        let stdout = io::stdout();
        let mut out = BufWriter::new(stdout.lock());
        match self.format {
            Format::Human => report::write_human(&mut out, self.diff, self.assessment, &ctx),
            Format::Json => report::write_json(&mut out, self.diff, self.assessment, &ctx),
            Format::Ecs => {
                report::write_ecs(&mut out, self.diff, self.assessment, &ctx, self.algorithm)
            }
            Format::Ocsf => {
                report::write_ocsf(&mut out, self.diff, self.assessment, &ctx, self.algorithm)
            }
            Format::Rsync | Format::Itemize => {
                // rsync prints nothing but its lines: the notes go to stderr.
                for note in self.notes {
                    eprintln!("fimsum: note: {note}");
                }
                if self.format == Format::Rsync {
                    write_rsync(&mut out, self.diff, self.charset, self.algorithm)
                } else {
                    write_itemize(&mut out, self.diff, self.charset, self.algorithm)
                }
            }
        }
        .and_then(|()| out.flush())
        .map_err(|e| Error::io("cannot write the report", e))
    }
}

impl Format {
    /// The rsync forms show every change rsync would make, and compare only what rsync
    /// compares; the others show what the policy counts, and compare identity too.
    pub fn shows_every_change(self) -> bool {
        matches!(self, Format::Rsync | Format::Itemize)
    }
}
