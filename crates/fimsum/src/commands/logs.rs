//! A backup job's logs as states of a tree: each log read run by run, each run proved a full
//! listing or one night's changes (or said to be by the user, never guessed), and applied in
//! order to the state before it: a full listing replaces the state, a night is replayed onto
//! it ([`crate::rsync::log::replay`]). Used by `import` (with `--base`) and by `diff`, whose
//! newer side may be a night.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::commands::Observer;
use crate::error::{Error, Result};
use crate::hash::Algorithm;
use crate::record::{Content, Kind, Record};
use crate::rsync::choice::{self, candidates, under_dest};
use crate::rsync::log::records::entry_record;
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

/// One run of a log, read whole, and what it is.
pub(crate) struct Run {
    pub(crate) events: Vec<LogLine>,
    pub(crate) kind: LogKind,
}

/// A log's runs, and the algorithm of its checksums (`None` for a log without `%C`).
pub(crate) struct Log {
    pub(crate) path: PathBuf,
    pub(crate) algorithm: Option<Algorithm>,
    pub(crate) runs: Vec<Run>,
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

/// Read `path` whole, run by run, each run classified (see [`crate::rsync::log::kind`]).
/// A run whose lines prove nothing takes `options.unproved`, or the log is refused with a
/// message naming both flags; what a run's lines prove wins over the flag, which speaks of
/// the logs that prove nothing (`diff --full DAY0.log NIGHT.log`).
pub(crate) fn read(path: &Path, algorithm: Option<Algorithm>, options: &LogOptions) -> Result<Log> {
    let mut runs: Vec<(Vec<LogLine>, Evidence)> = Vec::new();
    for (held, event) in events(path, algorithm, options)?.enumerate() {
        let event = event.map_err(|e| log_error(path, e))?;
        if held >= MAX_HELD {
            return Err(Error::bad_data(
                path,
                format!(
                    "line {}: more than {MAX_HELD} lines of entries: more than fimsum holds in \
                     memory to apply a log (give the runs one file each)",
                    event.line
                ),
            ));
        }
        if matches!(event.event, LogEvent::RunStart(_)) || runs.is_empty() {
            runs.push((Vec::new(), Evidence::new()));
        }
        if let Some((events, evidence)) = runs.last_mut() {
            evidence.observe(&event);
            events.push(event);
        }
    }
    let several = runs.len() > 1;
    let runs = runs
        .into_iter()
        .enumerate()
        .map(|(i, (events, evidence))| {
            let classification = evidence.classify();
            let kind = kind_of(
                path,
                &classification,
                options.unproved,
                several.then_some(i + 1),
            )?;
            Ok(Run { events, kind })
        })
        .collect::<Result<_>>()?;
    Ok(Log {
        path: path.to_path_buf(),
        algorithm,
        runs,
    })
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

/// The records of a full run, in rsync order; refused if rsync reported a problem in it
/// (the listing may be incomplete, and what it lacks would read as removed).
fn full_records(log: &Path, run: Run) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    for event in run.events {
        match event.event {
            LogEvent::Entry(entry) => out.push(Ok(entry_record(entry))),
            LogEvent::Message { text } => {
                return Err(Error::bad_data(
                    log,
                    format!(
                        "line {}: rsync reported a problem, so the listing may be incomplete: {}",
                        event.line,
                        String::from_utf8_lossy(&text)
                    ),
                ))
            }
            _ => {}
        }
    }
    ensure_ordered(out.into_iter(), log.to_path_buf()).collect()
}

/// Apply every run of `log` in order to `state` (`None`: no state yet, so the first run must
/// be a full listing). Notes of the replay go to `observer`.
pub(crate) fn apply(
    mut state: Option<Vec<Record>>,
    log: Log,
    observer: &mut dyn Observer,
) -> Result<Vec<Record>> {
    for run in log.runs {
        state = Some(match run.kind {
            LogKind::Incremental => {
                let Some(before) = state.take() else {
                    return Err(Error::Usage(format!(
                        "{}: one night's changes, with nothing to apply them to: give the \
                         baseline of the state before it (`--base`), or the full listing",
                        log.path.display()
                    )));
                };
                let mut replayed = replay(before.into_iter().map(Ok), run.events)
                    .map_err(|e| Error::bad_data(&log.path, e.to_string()))?;
                let after = replayed
                    .by_ref()
                    .map(|r| r.map(|r| r.record))
                    .collect::<Result<Vec<_>>>()?;
                for note in replayed.notes() {
                    let at = if note.line > 0 {
                        format!("line {}: ", note.line)
                    } else {
                        String::new()
                    };
                    observer.note(&format!("{}: {at}{}", log.path.display(), note.text));
                }
                after
            }
            LogKind::Full | LogKind::Unknown => full_records(&log.path, run)?,
        });
    }
    state.ok_or_else(|| Error::bad_data(&log.path, "the log lists nothing"))
}

/// Fill in what a log without `%C` could not give from the copy under `dest`: the checksum
/// of every listed file, and the type of every entry whose line does not show it (a `%n`
/// line shows a directory's trailing `/` and nothing else). Returns how many checksums were
/// filled; a copy that cannot be read leaves the record saying why.
pub(crate) fn checksum_copy(records: &mut [Record], dest: &Path, algorithm: Algorithm) -> u64 {
    let mut filled = 0;
    for record in records.iter_mut() {
        if record.content.digest().is_some() || !matches!(record.kind, Kind::File | Kind::Special) {
            continue;
        }
        let path = under_dest(dest, &record.name);
        let kind = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_file() => Kind::File,
            Ok(m) if m.file_type().is_symlink() => Kind::Symlink,
            _ => record.kind,
        };
        record.kind = kind;
        if kind != Kind::File {
            continue;
        }
        record.content = match hash_file(&path, algorithm) {
            Ok(digest) => {
                filled += 1;
                Content::Digest(digest)
            }
            Err(why) => Content::Unreadable(format!("{}: {why}", path.display())),
        };
    }
    filled
}

fn hash_file(path: &Path, algorithm: Algorithm) -> std::io::Result<crate::hash::Digest> {
    let file = crate::input::open_file(path)?;
    let digests = crate::hash::digest_reader(file, &[algorithm])?;
    digests
        .into_iter()
        .next()
        .ok_or_else(|| std::io::Error::other("no digest"))
}
