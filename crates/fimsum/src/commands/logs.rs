//! A backup job's logs as states of a tree: each log read run by run, each run proved a full
//! listing or one night's changes (or said to be by the user, never guessed), and applied in
//! order to the state before it: a full listing replaces the state, a night is replayed onto
//! it ([`crate::rsync::log::replay`]). Used by `import` (with `--base`) and by `diff`, whose
//! newer side may be a night.

use std::cell::RefCell;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::commands::Observer;
use crate::error::{Error, Result};
use crate::hash::Algorithm;
use crate::record::{Content, Kind, Record};
use crate::rsync::choice::{self, candidates, under_dest};
use crate::rsync::log::records::entry_record;
use crate::rsync::log::replay::Replay;
use crate::rsync::log::LogFormat;
use crate::rsync::log::{
    replay, Classification, EventReader, Evidence, LogEvent, LogKind, LogLine,
};
use crate::rsync::order::ensure_ordered;

/// What the logs do not say, said by the user.
#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    /// The algorithm of the checksums (`--checksum-choice`); `None` decides it by hashing
    /// a listed file under `source` or `dest` (see `crate::rsync::choice`), or refuses.
    pub checksum: Option<Algorithm>,
    /// The job's source argument (`/etc/` or `/etc`, as the job gave it): the live tree,
    /// whose files can tell the algorithm, and under which the names are judged.
    pub source: Option<PathBuf>,
    /// The job's destination (the backup copy), whose files can tell the algorithm, and
    /// give the checksums of files a log without `%C` lists.
    pub dest: Option<PathBuf>,
    /// What a run is when its lines do not prove it (`--full`, `--incremental`).
    pub unproved: Option<LogKind>,
    /// The `--log-file-format` (or `--out-format`) the job wrote, when its lines have more
    /// fields than the reader knows by shape.
    pub format: Option<LogFormat>,
}

/// One run of a log: where it is, and what it is.
pub(crate) struct Run {
    /// The line of its first event, and of the next run's (none for the last run).
    lines: (u64, Option<u64>),
    kind: LogKind,
    /// What its lines prove, to tell that the log was not changed between two reads.
    proved: Classification,
}

/// A log's runs, and the algorithm of its checksums (`None` for a log without `%C`). The
/// events are not held: a run is read again when it is applied, a full listing as its
/// records are written.
pub(crate) struct Log {
    pub(crate) path: PathBuf,
    pub(crate) algorithm: Option<Algorithm>,
    options: LogOptions,
    runs: Vec<Run>,
}

/// Read the log at `path` whole: its algorithm decided ([`algorithm_of`]), each run
/// classified ([`read`]). A log whose lines show no `%C` width is read as one of names
/// alone, unless `--checksum-choice` was given and its lines read with that width (a
/// listing of blank `%C`s only: symlinks and devices).
pub(crate) fn open(path: &Path, options: &LogOptions, observer: &mut dyn Observer) -> Result<Log> {
    match (width(path, None, options)?, options.checksum) {
        (Some(width), _) => {
            let algorithm = algorithm_of(path, width, options, observer)?;
            read(path, Some(algorithm), options)
        }
        (None, Some(given)) => {
            read(path, Some(given), options).or_else(|_| read(path, None, options))
        }
        (None, None) => read(path, None, options),
    }
}

fn events(
    path: &Path,
    algorithm: Option<Algorithm>,
    options: &LogOptions,
) -> Result<EventReader<BufReader<File>>> {
    let file = crate::input::open_input(path)?;
    let reader = EventReader::new(BufReader::with_capacity(1 << 16, file), algorithm);
    Ok(match &options.format {
        Some(format) => reader.with_format(format.clone()),
        None => reader,
    })
}

fn log_error(path: &Path, e: crate::rsync::log::LogError) -> Error {
    Error::bad_data(path, format!("line {}: {}", e.line, e.reason))
}

/// The `%C` width a log shows, if any.
fn width(path: &Path, algorithm: Option<Algorithm>, options: &LogOptions) -> Result<Option<usize>> {
    events(path, algorithm, options)?
        .width()
        .map_err(|e| log_error(path, e))
}

/// The algorithm of a log's checksums, `width` digits wide: the one given, the only one of
/// that width, or the one a listed file under the source or destination hashes to; refused
/// when nothing decides.
fn algorithm_of(
    log: &Path,
    width: usize,
    options: &LogOptions,
    observer: &mut dyn Observer,
) -> Result<Algorithm> {
    if let Some(given) = options.checksum {
        if given.hex_width() != width {
            return Err(Error::bad_data(
                log,
                format!(
                    "its checksums are {width} digits wide, and {given}'s are {}",
                    given.hex_width()
                ),
            ));
        }
        return Ok(given);
    }
    let names = candidates(width);
    if let [only] = names[..] {
        return Ok(only);
    }
    type Place = fn(&Path, &[u8]) -> PathBuf;
    let trees: Vec<(&Path, Place)> = [
        options
            .dest
            .as_deref()
            .map(|d| (d, choice::under_dest as Place)),
        options
            .source
            .as_deref()
            .map(|s| (s, choice::under_source as Place)),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (tree, place) in &trees {
        let samples = events(log, None, options)?
            .map_while(Result::ok)
            .filter_map(|l| match l.event {
                LogEvent::Entry(entry) if entry.kind == Some(Kind::File) => {
                    let digest = entry.checksum?;
                    Some((place(tree, &entry.name), digest))
                }
                _ => None,
            });
        if let Some(decided) = choice::decide(width, samples) {
            if let Some(by) = &decided.by {
                observer.note(&format!(
                    "{}: the checksums are {}: {} hashes to its logged checksum that way",
                    log.display(),
                    decided.algorithm,
                    by.display()
                ));
            }
            return Ok(decided.algorithm);
        }
    }
    let listed: Vec<&str> = names.iter().map(|a| a.name()).collect();
    Err(Error::Usage(format!(
        "{}: {width}-digit checksums may be {}, and {}: say which with --checksum-choice \
         (md5 for a job run with --checksum-choice=md5 or by rsync 3.1.x, xxh128 for plain \
         `rsync -c` of rsync 3.2.2 and later)",
        log.display(),
        listed.join(", "),
        if trees.is_empty() {
            "nothing here tells which (--source or --dest names a tree whose files can)"
        } else {
            "no listed file in the tree given hashes to its logged checksum"
        }
    )))
}

/// The most events of one log held in memory (a few hundred bytes each): far more entries
/// than a host's tree has, and a bound on what a file that only looks like a log can cost.
const MAX_HELD: usize = 20_000_000;

/// Read `path` through, run by run, each run classified (see [`crate::rsync::log::kind`]).
/// A run whose lines prove nothing takes `options.unproved`, or the log is refused with a
/// message naming both flags; what a run's lines prove wins over the flag, which speaks of
/// the logs that prove nothing (`diff --full DAY0.log NIGHT.log`). Memory holds one line.
fn read(path: &Path, algorithm: Option<Algorithm>, options: &LogOptions) -> Result<Log> {
    let mut runs: Vec<(u64, Evidence)> = Vec::new();
    for event in events(path, algorithm, options)? {
        let event = event.map_err(|e| log_error(path, e))?;
        if matches!(event.event, LogEvent::RunStart(_)) || runs.is_empty() {
            runs.push((event.line, Evidence::new()));
        }
        if let Some((_, evidence)) = runs.last_mut() {
            evidence.observe(&event);
        }
    }
    let several = runs.len() > 1;
    let starts: Vec<u64> = runs.iter().map(|(start, _)| *start).collect();
    let runs = runs
        .into_iter()
        .enumerate()
        .map(|(i, (start, evidence))| {
            let proved = evidence.classify();
            let kind = kind_of(path, &proved, options.unproved, several.then_some(i + 1))?;
            Ok(Run {
                lines: (start, starts.get(i + 1).copied()),
                kind,
                proved,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Log {
        path: path.to_path_buf(),
        algorithm,
        options: options.clone(),
        runs,
    })
}

impl Log {
    /// The events of `run`, read again, with what they prove checked against the first
    /// read: a log rewritten in between is refused, not applied half old, half new.
    fn run_events(&self, run: &Run) -> Result<impl Iterator<Item = Result<LogLine>> + '_> {
        let (start, end) = run.lines;
        let path = &self.path;
        let mut evidence = Evidence::new();
        let mut checked = false;
        let expected = run.proved.clone();
        let events = events(path, self.algorithm, &self.options)?
            .map(move |e| e.map_err(|e| log_error(path, e)))
            .skip_while(move |e| matches!(e, Ok(l) if l.line < start))
            .take_while(move |e| !matches!((e, end), (Ok(l), Some(end)) if l.line >= end))
            .map(Some)
            .chain(std::iter::once(None))
            .filter_map(move |e| match e {
                Some(Ok(line)) => {
                    evidence.observe(&line);
                    Some(Ok(line))
                }
                Some(Err(e)) => Some(Err(e)),
                None if !checked && evidence.classify() != expected => {
                    checked = true;
                    Some(Err(Error::bad_data(
                        path,
                        "the log changed while it was read: read it again",
                    )))
                }
                None => None,
            });
        Ok(events)
    }
}

fn kind_of(
    path: &Path,
    proved: &Classification,
    said: Option<LogKind>,
    run: Option<usize>,
) -> Result<LogKind> {
    let which = run.map_or(String::new(), |n| format!("run {n}: "));
    let at = proved.line.map_or(String::new(), |l| format!("line {l}: "));
    match (proved.kind, said) {
        (LogKind::Unknown, Some(said)) => Ok(said),
        (LogKind::Unknown, None) => Err(Error::Usage(format!(
            "{}: {which}cannot tell whether this is a full listing or one night's changes: \
             {at}{}; say which with --full (a copy into an empty destination) or \
             --incremental (an update of an earlier copy)",
            path.display(),
            proved.reason
        ))),
        (proved_kind, _) => Ok(proved_kind),
    }
}

/// The records of a full run, in rsync order, as they are read; an error if rsync reported
/// a problem in it (the listing may be incomplete, and what it lacks would read as removed).
fn full_records<'a>(log: &'a Log, run: &Run) -> Result<Records<'a>> {
    let path = &log.path;
    let records = log.run_events(run)?.filter_map(move |event| match event {
        Err(e) => Some(Err(e)),
        Ok(LogLine {
            event: LogEvent::Entry(entry),
            ..
        }) => Some(Ok(entry_record(entry))),
        Ok(LogLine {
            line,
            event: LogEvent::Message { text },
        }) => Some(Err(Error::bad_data(
            path,
            format!(
                "line {line}: rsync reported a problem, so the listing may be incomplete: {}",
                String::from_utf8_lossy(&text)
            ),
        ))),
        Ok(_) => None,
    });
    Ok(Box::new(ensure_ordered(records, path.to_path_buf())))
}

/// The events of a night, held: its `deleting` lines come in no fixed place. At most
/// [`MAX_HELD`], so that a file that only looks like a night cannot exhaust memory.
fn night_events(log: &Log, run: &Run) -> Result<Vec<LogLine>> {
    let mut held = Vec::new();
    for event in log.run_events(run)? {
        let event = event?;
        if held.len() >= MAX_HELD {
            return Err(Error::bad_data(
                &log.path,
                format!(
                    "line {}: more than {MAX_HELD} lines in one night: more than fimsum holds \
                     in memory to replay it",
                    event.line
                ),
            ));
        }
        held.push(event);
    }
    Ok(held)
}

/// A state of the tree as records in rsync order, read as they are needed.
pub(crate) type Records<'a> = Box<dyn Iterator<Item = Result<Record>> + 'a>;

/// What a replay had to say, gathered as the replayed records are read.
pub(crate) type Notes = Rc<RefCell<Vec<String>>>;

/// Apply every run of `log` in order to `state` (`None`: no state yet, so the first run must
/// be a full listing). A night is replayed as its result is read, so the state before it is
/// never held whole: only the night is. The replay's notes land in `notes` once its records
/// have all been read.
pub(crate) fn apply<'a>(
    mut state: Option<Records<'a>>,
    log: &'a Log,
    notes: &Notes,
) -> Result<Records<'a>> {
    for run in &log.runs {
        state = Some(match run.kind {
            LogKind::Incremental => {
                let Some(before) = state.take() else {
                    return Err(Error::Usage(format!(
                        "{}: one night's changes, with nothing to apply them to: give the \
                         baseline of the state before it (`--base`), or the full listing",
                        log.path.display()
                    )));
                };
                let replayed = replay(before, night_events(log, run)?)
                    .map_err(|e| Error::bad_data(&log.path, e.to_string()))?;
                Box::new(Replaying {
                    replay: replayed,
                    path: log.path.clone(),
                    notes: Rc::clone(notes),
                })
            }
            LogKind::Full | LogKind::Unknown => full_records(log, run)?,
        });
    }
    state.ok_or_else(|| Error::bad_data(&log.path, "the log lists nothing"))
}

/// A night's replay as records; its notes handed on when it ends.
struct Replaying<B: Iterator> {
    replay: Replay<B>,
    path: PathBuf,
    notes: Notes,
}

impl<B: Iterator<Item = Result<Record>>> Iterator for Replaying<B> {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Result<Record>> {
        match self.replay.next() {
            Some(replayed) => Some(replayed.map(|r| r.record)),
            None => {
                let mut notes = self.notes.borrow_mut();
                for note in self.replay.notes() {
                    let at = if note.line > 0 {
                        format!("line {}: ", note.line)
                    } else {
                        String::new()
                    };
                    notes.push(format!("{}: {at}{}", self.path.display(), note.text));
                }
                None
            }
        }
    }
}

/// Fill in what a log without `%C` could not give from the copy under `dest`: the checksum
/// of a listed file, and the type of an entry whose line does not show it (a `%n` line shows
/// a directory's trailing `/` and nothing else). Returns whether a checksum was filled; a
/// copy that cannot be read leaves the record saying why.
pub(crate) fn fill_from_copy(record: &mut Record, dest: &Path, algorithm: Algorithm) -> bool {
    if record.content.digest().is_some() || !matches!(record.kind, Kind::File | Kind::Special) {
        return false;
    }
    let path = under_dest(dest, &record.name);
    let kind = match std::fs::symlink_metadata(&path) {
        Ok(m) if m.file_type().is_file() => Kind::File,
        Ok(m) if m.file_type().is_symlink() => Kind::Symlink,
        _ => record.kind,
    };
    record.kind = kind;
    if kind != Kind::File {
        return false;
    }
    match hash_file(&path, algorithm) {
        Ok(digest) => {
            record.content = Content::Digest(digest);
            true
        }
        Err(why) => {
            record.content = Content::Unreadable(format!("{}: {why}", path.display()));
            false
        }
    }
}

fn hash_file(path: &Path, algorithm: Algorithm) -> std::io::Result<crate::hash::Digest> {
    let file = crate::input::open_file(path)?;
    let digests = crate::hash::digest_reader(file, &[algorithm])?;
    digests
        .into_iter()
        .next()
        .ok_or_else(|| std::io::Error::other("no digest"))
}
