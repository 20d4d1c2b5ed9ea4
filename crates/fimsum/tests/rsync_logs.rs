//! The log reader against real rsync: every log `scripts/record-rsync-logs.sh` recorded in
//! `baselines/rsync-logs/` (a day-0 listing into an empty destination, then two nights, in
//! each form) is read; its entries, deletions and checksums, its full/incremental
//! classification, and the replay of day 0 and both nights against rsync's own fresh
//! listing of the final tree.

use std::io::Cursor;
use std::path::PathBuf;

use fimsum::hash::Algorithm;
use fimsum::record::{Kind, Record};
use fimsum::rsync::escape::Charset;
use fimsum::rsync::log::{
    format_line, replay, EventReader, Evidence, LogEvent, LogFormat, LogKind, LogLine, RunCause,
};

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../baselines/rsync-logs")
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(corpus().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn events(file: &str) -> Vec<LogLine> {
    let mut reader = EventReader::new(Cursor::new(read(file)), None);
    // The one form with fields the reader does not know by shape: it is told the format.
    if file.starts_with("logfile-fields.") {
        let format = LogFormat::parse(b"%o %i %B %n%L %C").unwrap();
        reader = reader.with_format(format);
    }
    reader
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{file}: {e:?}"))
}

/// The logs of each form holding its entries, and the algorithm of their `%C` (`None`:
/// the form has no `%C`).
const LOGS: [(&str, &str, Option<Algorithm>); 17] = [
    ("nC-md5", "log", Some(Algorithm::Md5)),
    ("nC-xxh128", "log", Some(Algorithm::Xxh128)),
    ("inC", "log", Some(Algorithm::Md5)),
    ("nLC", "log", Some(Algorithm::Md5)),
    ("inL", "log", None),
    ("n", "log", None),
    ("v", "log", None),
    ("vv", "log", None),
    ("stats", "log", Some(Algorithm::Md5)),
    ("itemize-stats-logfile", "log", None),
    ("itemize-stats-logfile", "logfile", None),
    ("backintime", "log", None),
    ("name2", "log", None),
    ("logfile", "logfile", Some(Algorithm::Md5)),
    ("logfile", "log", None),
    ("logfile-fields", "logfile", Some(Algorithm::Md5)),
    ("logfile-fields", "log", None),
];

/// Forms whose day-0 log proves a full listing (`created directory`, or the root itemized
/// as new); the others' is only consistent with one.
fn proves_full(form: &str) -> bool {
    !matches!(form, "nC-md5" | "nC-xxh128" | "nLC" | "n")
}

fn names(run: &[LogLine]) -> (Vec<String>, Vec<String>) {
    let shown = |n: &[u8], dir: bool| {
        let mut s = String::from_utf8_lossy(n).into_owned();
        if dir {
            s.push('/');
        }
        s
    };
    let mut entries = Vec::new();
    let mut deleted = Vec::new();
    for e in run {
        match &e.event {
            LogEvent::Entry(entry) => entries.push(shown(&entry.name, entry.is_dir())),
            LogEvent::Deleted { name, dir } => deleted.push(shown(name, *dir)),
            _ => {}
        }
    }
    (entries, deleted)
}

const DAY0: [&str; 16] = [
    "./",
    "a.txt",
    "b.txt",
    "hi\u{FFFD}byte",
    "lnk",
    "nl\nname",
    "dir/",
    "dir/f.txt",
    "dir/sub/",
    "dir/sub/g.txt",
    "gone/",
    "gone/h.txt",
    "gone/deep/",
    "gone/deep/i.txt",
    "sp ace/",
    "sp ace/c d.txt",
];
const NIGHT1: [&str; 7] = [
    "./",
    "a.txt",
    "j.txt",
    "lnk",
    "new/",
    "new/inner/",
    "new/inner/k.txt",
];
const NIGHT1_DELETED: [&str; 5] = [
    "gone/deep/i.txt",
    "gone/deep/",
    "gone/h.txt",
    "gone/",
    "b.txt",
];
const NIGHT2: [&str; 7] = [
    "./",
    "lnk",
    "dir/",
    "dir/sub/",
    "dir/sub/g.txt",
    "sp ace/",
    "sp ace/l.txt",
];
const NIGHT2_DELETED: [&str; 5] = [
    "new/inner/k.txt",
    "new/inner/",
    "new/",
    "nl\nname",
    "dir/f.txt",
];

#[test]
fn every_log_yields_the_entries_and_deletions_of_its_run() {
    for (form, ext, algorithm) in LOGS {
        let expected: [(&[&str], &[&str]); 3] = [
            (&DAY0, &[]),
            (&NIGHT1, &NIGHT1_DELETED),
            (&NIGHT2, &NIGHT2_DELETED),
        ];
        for (n, (entries, deleted)) in expected.into_iter().enumerate() {
            let file = format!("{form}.{n}.{ext}");
            let run = events(&file);
            if ext == "log" && form.starts_with("logfile") {
                assert!(run.is_empty(), "{file}: only the --log-file lists");
                continue;
            }
            assert_eq!(
                run[0].event,
                LogEvent::RunStart(RunCause::LogStart),
                "{file}"
            );
            let starts = run
                .iter()
                .filter(|e| matches!(e.event, LogEvent::RunStart(_)))
                .count();
            assert_eq!(starts, 1, "{file}: one run");
            let (got_entries, got_deleted) = names(&run);
            assert_eq!(got_entries, entries, "{file}");
            assert_eq!(got_deleted, deleted, "{file}");
            for e in &run {
                let LogEvent::Entry(entry) = &e.event else {
                    continue;
                };
                if algorithm.is_some() && !entry.is_dir() && entry.name != b"lnk" {
                    assert!(entry.checksum.is_some(), "{file}: {entry:?}");
                }
                if entry.name == b"a.txt" {
                    let body: &[u8] = if n == 0 {
                        b"alpha\n"
                    } else {
                        b"alpha, longer now\n"
                    };
                    assert_eq!(entry.checksum, algorithm.map(|a| a.digest(body)), "{file}");
                }
                if entry.name == b"lnk" {
                    // A blank `%C` says "not a file", ` -> ` or an `L` says symlink; a name
                    // alone says nothing.
                    let kind = match form {
                        "n" => None,
                        "nC-md5" | "nC-xxh128" | "stats" => Some(Kind::Special),
                        _ => Some(Kind::Symlink),
                    };
                    assert_eq!(entry.kind, kind, "{file}: {entry:?}");
                    let shows_target =
                        !matches!(form, "nC-md5" | "nC-xxh128" | "inC" | "n" | "stats")
                            && (form, ext) != ("logfile", "logfile");
                    let target: &[u8] = [&b"a.txt"[..], b"dir", b"sp ace"][n];
                    assert_eq!(
                        entry.link_target.as_deref(),
                        shows_target.then_some(target),
                        "{file}: {entry:?}"
                    );
                }
            }
        }
    }
}

fn classify(run: &[LogLine]) -> (LogKind, String) {
    let mut evidence = Evidence::new();
    for e in run {
        evidence.observe(e);
    }
    let c = evidence.classify();
    (c.kind, c.reason)
}

#[test]
fn day_0_is_full_or_consistent_with_full_and_each_night_incremental() {
    for (form, ext, _) in LOGS {
        if ext == "log" && form.starts_with("logfile") {
            continue;
        }
        let (kind, reason) = classify(&events(&format!("{form}.0.{ext}")));
        if proves_full(form) {
            assert_eq!(kind, LogKind::Full, "{form}.0.{ext}: {reason}");
        } else {
            assert_eq!(kind, LogKind::Unknown, "{form}.0.{ext}: {reason}");
            assert!(
                reason.contains("consistent with a full listing"),
                "{reason}"
            );
        }
        for n in [1, 2] {
            let (kind, reason) = classify(&events(&format!("{form}.{n}.{ext}")));
            assert_eq!(kind, LogKind::Incremental, "{form}.{n}.{ext}: {reason}");
        }
    }
}

/// Split a log's events into its runs.
fn runs(all: Vec<LogLine>) -> Vec<Vec<LogLine>> {
    let mut out: Vec<Vec<LogLine>> = Vec::new();
    for e in all {
        if matches!(e.event, LogEvent::RunStart(_)) {
            out.push(Vec::new());
        }
        out.last_mut().expect("a run starts first").push(e);
    }
    out
}

/// Day 0 replayed onto nothing, then each night onto the state before.
fn replay_all(nights: Vec<Vec<LogLine>>) -> Vec<Record> {
    let mut state: Vec<Record> = Vec::new();
    for night in nights {
        let mut replayed = replay(state.into_iter().map(Ok), night).expect("one run");
        state = replayed
            .by_ref()
            .map(|r| r.map(|r| r.record))
            .collect::<fimsum::error::Result<_>>()
            .unwrap();
        assert!(replayed.notes().is_empty(), "{:?}", replayed.notes());
    }
    state
}

fn listing(records: &[Record], algorithm: Algorithm) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        assert!(format_line(r, algorithm, Charset::Utf8, &mut out), "{r:?}");
    }
    out
}

/// Names (with a directory's `/`) of rsync's fresh listing of the final tree.
fn final_names() -> Vec<(Vec<u8>, bool)> {
    events("final.md5.out")
        .into_iter()
        .filter_map(|e| match e.event {
            LogEvent::Entry(entry) => Some((entry.name.clone(), entry.is_dir())),
            _ => None,
        })
        .collect()
}

#[test]
fn day_0_and_two_nights_replay_to_rsync_s_listing_of_the_final_tree() {
    for (form, ext, algorithm) in LOGS {
        if ext == "log" && form.starts_with("logfile") {
            continue;
        }
        let nights = (0..3)
            .map(|n| events(&format!("{form}.{n}.{ext}")))
            .collect();
        let state = replay_all(nights);
        match algorithm {
            Some(a) => {
                let want = read(&format!("final.{}.out", a.name()));
                assert_eq!(
                    String::from_utf8_lossy(&listing(&state, a)),
                    String::from_utf8_lossy(&want),
                    "{form}.{ext}"
                );
            }
            None => {
                let got: Vec<_> = state.iter().map(|r| (r.name.clone(), r.is_dir())).collect();
                assert_eq!(got, final_names(), "{form}.{ext}");
            }
        }
    }
}

#[test]
fn appended_runs_are_told_apart_and_replay_in_turn() {
    for (file, causes, algorithm) in [
        (
            "v.all.log",
            vec![RunCause::LogStart, RunCause::Header, RunCause::Header],
            None,
        ),
        (
            "logfile.all.logfile",
            vec![
                RunCause::LogStart,
                RunCause::NewPid(201),
                RunCause::NewPid(301),
            ],
            Some(Algorithm::Md5),
        ),
    ] {
        let all = runs(events(file));
        let got: Vec<_> = all
            .iter()
            .map(|run| match &run[0].event {
                LogEvent::RunStart(cause) => cause.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got, causes, "{file}");
        let kinds: Vec<_> = all.iter().map(|run| classify(run).0).collect();
        assert_eq!(
            kinds,
            [LogKind::Full, LogKind::Incremental, LogKind::Incremental],
            "{file}"
        );
        let state = replay_all(all);
        match algorithm {
            Some(a) => assert_eq!(listing(&state, a), read("final.md5.out"), "{file}"),
            None => {
                let got: Vec<_> = state.iter().map(|r| (r.name.clone(), r.is_dir())).collect();
                assert_eq!(got, final_names(), "{file}");
            }
        }
    }
}
