//! Progress of a long scan on stderr: entries, bytes, rate and, when the total is known (a
//! check knows its baseline's entry count), a bar and an ETA.
//!
//! Only on a terminal: a log file or a pipe gets nothing of it (the bar is drawn with
//! carriage returns and would only litter it), and `--quiet` turns it off on a terminal too.
//! `--verbose` lists every entry as it is done, above the bar. This is the one module that
//! knows indicatif.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

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

pub struct Progress {
    bar: Option<ProgressBar>,
    verbose: bool,
    charset: Charset,
    bytes: u64,
    entries: u64,
}

impl Progress {
    /// A progress display for a scan of `total` entries, if known.
    pub fn new(verbosity: Verbosity, total: Option<u64>, charset: Charset) -> Progress {
        let on_terminal = std::io::stderr().is_terminal();
        let bar = (verbosity != Verbosity::Quiet && on_terminal).then(|| {
            let bar = match total {
                Some(n) => ProgressBar::new(n).with_style(style(
                    "{bar:30} {pos}/{len} entries, {msg} [{elapsed}, ETA {eta}]",
                )),
                None => ProgressBar::new_spinner()
                    .with_style(style("{spinner} {pos} entries, {msg} [{elapsed}]")),
            };
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            verbose: verbosity == Verbosity::Verbose,
            charset,
            bytes: 0,
            entries: 0,
        }
    }

    /// One entry is done.
    pub fn record(&mut self, record: &Record) {
        if self.verbose {
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

    /// A problem is about to be printed: keep it clear of the bar.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
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
