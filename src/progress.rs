//! What a run tells on stderr as it goes: the problems with single entries, IOC hits and
//! notes, and the progress of a long scan: entries, bytes, rate and, when the total is known
//! (a check knows its baseline's entry count), a bar and an ETA.
//!
//! The progress display only on a terminal: a log file or a pipe gets nothing of it (the bar is drawn with
//! carriage returns and would only litter it), and `--quiet` turns it off on a terminal too.
//! `--verbose` lists every entry as it is done, above the bar. This is the one module that
//! knows indicatif.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use fimsum::commands::Observer;
use fimsum::error::Problem;
use fimsum::fim::assess::IocHit;
use fimsum::record::{Kind, Record};
use fimsum::rsync::escape::{escape_name, Charset};

/// How much to say while a scan runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose,
}

/// The [`Observer`] of a run on the command line.
pub struct Progress {
    bar: Option<ProgressBar>,
    verbosity: Verbosity,
    charset: Charset,
    bytes: u64,
    entries: u64,
}

impl Progress {
    pub fn new(verbosity: Verbosity, charset: Charset) -> Progress {
        Progress {
            bar: None,
            verbosity,
            charset,
            bytes: 0,
            entries: 0,
        }
    }

    /// Print `line` on stderr, keeping it clear of the bar.
    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }
}

impl Observer for Progress {
    /// A progress display for a scan of `total` entries, if known.
    fn start(&mut self, total: Option<u64>) {
        let on_terminal = std::io::stderr().is_terminal();
        if self.verbosity == Verbosity::Quiet || !on_terminal {
            return;
        }
        let bar = match total {
            Some(n) => ProgressBar::new(n).with_style(style(
                "{bar:30} {pos}/{len} entries, {msg} [{elapsed}, ETA {eta}]",
            )),
            None => ProgressBar::new_spinner()
                .with_style(style("{spinner} {pos} entries, {msg} [{elapsed}]")),
        };
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    fn record(&mut self, record: &Record) {
        if self.verbosity == Verbosity::Verbose {
            let line = format!("fimsum: {}", escape_name(&record.name, self.charset));
            match &self.bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
        let Some(bar) = &self.bar else {
            return;
        };
        if record.kind == Kind::File {
            self.bytes += record.meta.map_or(0, |m| m.size);
        }
        bar.inc(1);
        self.entries += 1;
        if !self.entries.is_multiple_of(256) {
            return;
        }
        // The rate of bytes, not of entries, is what tells how fast files are read.
        let secs = bar.elapsed().as_secs_f64().max(0.001);
        bar.set_message(format!(
            "{} ({}/s)",
            HumanBytes(self.bytes),
            HumanBytes((self.bytes as f64 / secs) as u64)
        ));
    }

    fn problem(&mut self, problem: &Problem) {
        self.say(&format!(
            "fimsum: {}: {}",
            escape_name(&problem.name, self.charset),
            problem.message
        ));
    }

    fn ioc_hit(&mut self, name: &[u8], hit: &IocHit) {
        self.say(&format!(
            "fimsum: {}: on an IOC list: {} hash at {}:{}",
            escape_name(name, self.charset),
            hit.kind,
            hit.list.display(),
            hit.line
        ));
    }

    fn note(&mut self, note: &str) {
        self.say(&format!("fimsum: note: {note}"));
    }

    fn warning(&mut self, message: &str) {
        self.say(&format!("fimsum: {message}"));
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    // The templates are constants of this module: a bad one is a bug, shown as a plain bar.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
