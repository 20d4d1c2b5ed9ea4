//! Timestamps a file system can hold but that lie before 1970 or after year 9999: every
//! report format prints them, none panics.

use std::path::Path;
use std::process::Command;

use crate::util::{code, run_in, stderr, stdout, write};

/// Set a file's mtime to `sec` seconds after the epoch (negative: before it); `false` if
/// the file system cannot store it exactly.
fn set_mtime(path: &Path, sec: i64) -> bool {
    let ok = Command::new("touch")
        .arg("-m")
        .arg("-d")
        .arg(format!("@{sec}"))
        .arg(path)
        .status()
        .expect("touch runs")
        .success();
    ok && std::fs::symlink_metadata(path)
        .map(|m| std::os::unix::fs::MetadataExt::mtime(&m) == sec)
        .unwrap_or(false)
}

/// A scratch directory on tmpfs where there is one (it stores any 64-bit time; ext4 stops
/// at year 2446), else in the default temporary directory.
fn wide_scratch() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").unwrap_or_else(|_| tempfile::tempdir().expect("temp dir"))
}

fn assert_no_panic(out: &std::process::Output) {
    let err = stderr(out);
    assert_ne!(code(out), 101, "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn times_before_1970_do_not_crash_check_in_any_format() {
    let dir = wide_scratch();
    let tree = dir.path().join("t");
    write(&tree.join("f"), b"same");
    assert!(set_mtime(&tree.join("f"), -315_619_200)); // 1960-01-01
    let out = run_in(dir.path(), ["scan", "-o", "B.fimsum", "t/"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(set_mtime(&tree.join("f"), -283_996_800)); // 1961-01-01
    write(&tree.join("added"), b"new");
    assert!(set_mtime(&tree.join("added"), -1)); // 1969-12-31T23:59:59
    let mut extremes = vec![-1i64];
    for sec in [253_402_300_800, i64::MAX, i64::MIN + 1, -62_167_219_201] {
        let name = format!("far{}", extremes.len());
        write(&tree.join(&name), b"far");
        if set_mtime(&tree.join(&name), sec) {
            extremes.push(sec);
        }
    }
    for format in ["human", "json", "rsync", "itemize"] {
        let out = run_in(dir.path(), ["check", "--format", format, "B.fimsum", "t/"]);
        assert_no_panic(&out);
        if format == "json" {
            let text = stdout(&out);
            let mut seen = Vec::new();
            for line in text.lines() {
                let e: serde_json::Value = serde_json::from_str(line).expect("json line");
                let time = e["time"].as_str().expect("time");
                assert!(fimsum::civil::parse(time).is_some(), "{time}");
                if let Some(m) = e["new"]["mtime"].as_str() {
                    let (sec, nsec) = fimsum::civil::parse(m).expect("mtime parses");
                    assert_eq!(nsec, 0);
                    seen.push(i64::try_from(sec).expect("in range"));
                }
            }
            for sec in &extremes {
                assert!(seen.contains(sec), "{sec} not in {text}");
            }
        }
    }
    let out = run_in(dir.path(), ["show", "B.fimsum"]);
    assert_no_panic(&out);
    let out = run_in(dir.path(), ["update", "B.fimsum", "t/"]);
    assert_no_panic(&out);
    let out = run_in(dir.path(), ["diff", "B.fimsum", "B.fimsum"]);
    assert_no_panic(&out);
}

#[test]
fn negative_times_survive_a_baseline_round_trip() {
    let dir = wide_scratch();
    let tree = dir.path().join("t");
    write(&tree.join("f"), b"x");
    assert!(set_mtime(&tree.join("f"), -315_619_200));
    // 1969-12-31T23:59:59.5: a negative second with nanoseconds.
    let status = Command::new("touch")
        .args(["-m", "-d", "1969-12-31T23:59:59.5Z"])
        .arg(tree.join("f"))
        .status()
        .expect("touch");
    assert!(status.success());
    let out = run_in(dir.path(), ["scan", "-o", "B.fimsum", "t/"]);
    assert_eq!(code(&out), 0);
    let out = run_in(dir.path(), ["check", "--format", "json", "B.fimsum", "t/"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    let records: Vec<_> = fimsum::baseline::Baseline::open(&dir.path().join("B.fimsum"))
        .expect("opens")
        .records()
        .map(|r| r.expect("record"))
        .collect();
    let f = records.iter().find(|r| r.name == b"f").expect("f");
    let m = f.meta.expect("meta").mtime;
    assert_eq!((m.sec, m.nsec), (-1, 500_000_000));
}
